#!/bin/bash
# The console's CLI for scripts: every subcommand and exit status (0 done,
# 1 refused or failed, 2 usage), the --json documents, configuration
# errors with file:line and the token secrecy check.
#
# Agents: two real vantaged on loopback (h1, h2), a fake one that answers
# 403 to changes and reports a broken audit chain, and a fake one with a
# long audit trail (only its newest rows are fetched).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools jq curl

P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
DEAD=$(free_port)
new_token alice operator
real_agent h1 "$P1" "[probe \"self\"]
type = tcp
target = 127.0.0.1:$P1
interval = 1s
[route \"web-a\"]
pool = web
[route \"web-b\"]
pool = web
[pool \"web\"]
min_active = 1"
real_agent h2 "$P2" "[probe \"self\"]
type = tcp
target = 127.0.0.1:$P1
interval = 1s
[route \"solo\"]"
fake_agent fake "$P3" --probes self=up --routes r1:p --pool p:0 --viewer \
    --broken-chain
console_conf "$T/v.conf" h1="$P1" h2="$P2"
console_conf "$T/all.conf" h1="$P1" h2="$P2" fake="$P3" dead="$DEAD"
v() { "$VANTAGE" -c "$T/v.conf" "$@"; }

# expect_rc RC OUTFILE CMD...: runs CMD, checks its exit status.
expect_rc() {
	local want=$1 out=$2 rc=0
	shift 2
	"$@" >"$out" 2>"$out.err" || rc=$?
	[ "$rc" = "$want" ] || fail "'$*': expected exit $want, got $rc;" \
	    "stdout: $(head -c 400 "$out"); stderr: $(head -c 400 "$out.err")"
}

# --- usage: 2 -------------------------------------------------------
expect_rc 2 "$T/o" v frobnicate
assert_match "unknown command" "$(cat "$T/o.err")" "unknown command"
expect_rc 2 "$T/o" v drain h1
expect_rc 2 "$T/o" v drain h1 web-a
assert_match "--reason is required" "$(cat "$T/o.err")" "drain without reason"
expect_rc 2 "$T/o" v status --reason x
expect_rc 2 "$T/o" v drain h1 web-a --reason x --verify
expect_rc 2 "$T/o" v drain h1 web-a --reason x --ttl 5m --no-ttl
expect_rc 2 "$T/o" v drain h1 web-a web-a --reason x
assert_match "named twice" "$(cat "$T/o.err")" "a route twice"
expect_rc 2 "$T/o" v drain h1 web-a --reason x --timeout soon
expect_rc 2 "$T/o" v drain h1 web-a --reason x --ttl soon
expect_rc 2 "$T/o" v undrain h1 web-a --reason x --force
expect_rc 2 "$T/o" v --bogus status
expect_rc 2 "$T/o" v drain nosuch web-a --reason x
assert_match "no agent 'nosuch'" "$(cat "$T/o.err")" "unknown agent"
expect_rc 0 "$T/o" v --version
assert_match "^vantage [0-9]" "$(cat "$T/o")" "--version"

# --- configuration errors: 1, naming file:line ----------------------
printf '[agent "x"]\nurl = http://127.0.0.1:1\nbogus = 1\n' >"$T/bad.conf"
expect_rc 1 "$T/o" "$VANTAGE" -c "$T/bad.conf" status
assert_match "bad.conf:3: unknown key 'bogus'" "$(cat "$T/o.err")" "bad key"
printf '[agent "x"]\n  url = ftp://h/\n[agent "x"]\n' >"$T/bad2.conf"
expect_rc 1 "$T/o" "$VANTAGE" -c "$T/bad2.conf" status
assert_match "bad2.conf:2: .*only http" "$(cat "$T/o.err")" "indented url"
assert_match "bad2.conf:3: duplicate agent 'x'" "$(cat "$T/o.err")" "dup"
cp "$T/v.conf" "$T/open.conf"
chmod 644 "$T/open.conf"
expect_rc 1 "$T/o" "$VANTAGE" -c "$T/open.conf" status
assert_match "open.conf:[0-9]+: .*readable by others.*chmod 600" \
    "$(cat "$T/o.err")" "token in a world-readable config"
printf '%s\n' "$TOKEN" >"$T/tok"
chmod 640 "$T/tok"
printf '[agent "h1"]\nurl = http://127.0.0.1:%s\ntoken_file = %s\n' \
    "$P1" "$T/tok" >"$T/tf.conf"
expect_rc 1 "$T/o" "$VANTAGE" -c "$T/tf.conf" status
assert_match "tf.conf:3: token_file: .*chmod 600" "$(cat "$T/o.err")" \
    "readable token file"
chmod 600 "$T/tok"
expect_rc 0 "$T/o" "$VANTAGE" -c "$T/tf.conf" status
expect_rc 1 "$T/o" env HOME="$T/nohome" XDG_CONFIG_HOME= "$VANTAGE" status
assert_match "no configuration" "$(cat "$T/o.err")" "no config at all"

# --- status ---------------------------------------------------------
wait_for 10 sh -c "\"$VANTAGE\" -c \"$T/v.conf\" status --json |
    jq -e '.links[0].of == 2 and .links[0].up == 2' >/dev/null" ||
    fail "status: the link 'self' never became up from both agents"
expect_rc 0 "$T/o" v status --json
assert_eq "ok ok" "$(jq -r '[.agents[].state] | join(" ")' "$T/o")" \
    "agent states"
assert_eq "self ok ok from 2 of 2 2" "$(jq -r '.links[0] |
    "\(.probe) \(.verdict) \(.text) \(.of)"' "$T/o")" "link verdict"
assert_eq "1 2" "$(jq -r '.agents[] | select(.name == "h1") |
    "\(.probes.total) \(.routes.total)"' "$T/o")" "h1 counts"
expect_rc 0 "$T/o" v status
assert_match "h1 +ok" "$(cat "$T/o")" "status table"
assert_match "self +ok from 2 of 2" "$(cat "$T/o")" "status links"
# a dead agent: 1, still a full document, never counted as down
expect_rc 1 "$T/o" "$VANTAGE" -c "$T/all.conf" status --json
assert_eq unreachable "$(jq -r '.agents[] | select(.name == "dead") |
    .state' "$T/o")" "dead agent state"
assert_match "refused" "$(jq -r '.agents[] | select(.name == "dead") |
    .reason' "$T/o")" "dead agent reason"
assert_eq "0 1" "$(jq -r '.links[] | select(.probe == "self") |
    "\(.down) \(.unreachable)"' "$T/o")" "dead agent in the verdict"

# --- probes, routes, audit -------------------------------------------
expect_rc 0 "$T/o" v probes
assert_match "h2 +self +tcp +up" "$(cat "$T/o")" "probes table"
expect_rc 0 "$T/o" v probes --json
assert_eq 2 "$(jq '.probes | length' "$T/o")" "probes --json"
expect_rc 0 "$T/o" v routes --json
assert_eq "web-a web-b solo" "$(jq -r '[.routes[].name] | join(" ")' \
    "$T/o")" "routes --json"
assert_eq "web 2 1" "$(jq -r '.pools[0] | "\(.name) \(.active) \(.min_active)"' \
    "$T/o")" "pools"

# --- drain, undrain ---------------------------------------------------
# several routes of one agent: one request, all or nothing
expect_rc 1 "$T/o" v drain h1 web-a web-b --reason "both"
assert_match "h1: drain web-b: not applied \(refused: HTTP 409 pool_guard: pool web would keep 0 of 2" \
    "$(cat "$T/o.err")" "a refused batch, per route"
assert_eq "active active" "$(curl -sf -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$P1/v1/routes" | jq -r '[.routes[] |
    select(.pool == "web") | .state] | join(" ")')" "nothing of it applied"
expect_rc 0 "$T/o" v drain h1 web-a web-b --reason "both" --force --json
assert_eq "applied web-a:applied:true:true web-b:applied:true:true" \
    "$(jq -r '"\(.outcome) " + ([.routes[] |
    "\(.name):\(.outcome):\(.changed):\(.forced)"] | join(" "))' "$T/o")" \
    "--json of a forced batch"
expect_rc 0 "$T/o" v drain h1 web-a web-b --reason "both" --force
assert_match "applied \(no change\): route web-b is already draining" \
    "$(cat "$T/o")" "a no-op batch"
expect_rc 1 "$T/o" v drain h1 web-a --reason "other"
assert_match "409 needs_update" "$(cat "$T/o.err")" "needs_update"
expect_rc 0 "$T/o" v drain h1 web-a --update --ttl 10m
assert_match "route web-a is now draining" "$(cat "$T/o")" "--update"
expect_rc 0 "$T/o" v undrain h1 web-a web-b --reason "both done"
assert_match "route web-b is now active" "$(cat "$T/o")" "batch undrain"
expect_rc 0 "$T/o" env USER=carol "$VANTAGE" -c "$T/v.conf" drain h1 web-a \
    --reason "deploy 7" \
    --ttl 30m
assert_match "web-a is now draining" "$(cat "$T/o")" "drain output"
st=$(curl -sf -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$P1/v1/routes" | jq -r '.routes[] |
    select(.name == "web-a") | "\(.state) \(.actor) \(.operator)"')
assert_match "^draining alice carol@" "$st" "the agent's view of web-a"
# the pool guard refuses, the message is the agent's
expect_rc 1 "$T/o" v drain h1 web-b --reason "deploy 7"
assert_match "409 pool_guard: pool web" "$(cat "$T/o.err")" "409 shown"
expect_rc 0 "$T/o" v drain h1 web-b --reason "deploy 7" --force --maint
assert_match "is now maint.*forced" "$(cat "$T/o")" "forced maint"
expect_rc 1 "$T/o" v drain h1 nosuch --reason x
assert_match "404" "$(cat "$T/o.err")" "unknown route"
expect_rc 0 "$T/o" v undrain h1 web-a --reason "deploy 7 done"
expect_rc 0 "$T/o" v undrain h1 web-b --reason "deploy 7 done"
# a viewer may not: 403 from the fake agent
expect_rc 1 "$T/o" "$VANTAGE" -c "$T/all.conf" drain fake r1 --reason x
assert_match "403 forbidden" "$(cat "$T/o.err")" "403 shown"
# an unreachable agent
expect_rc 1 "$T/o" "$VANTAGE" -c "$T/all.conf" drain dead r1 --reason x
assert_match "refused" "$(cat "$T/o.err")" "drain on a dead agent"

expect_rc 0 "$T/o" v audit --json --limit 3
assert_eq 3 "$(jq '.audit | length' "$T/o")" "audit --limit"
assert_eq "undrain web-b" "$(jq -r '.audit[0] | "\(.action) \(.target)"' \
    "$T/o")" "audit newest first"
expect_rc 0 "$T/o" v audit --verify
assert_match "h1: chain ok" "$(cat "$T/o")" "verify h1"
assert_match "carol@" "$(cat "$T/o")" "operator in the audit table"
expect_rc 1 "$T/o" "$VANTAGE" -c "$T/all.conf" audit --verify --json
assert_eq false "$(jq -r '.verify[] | select(.agent == "fake") | .ok' \
    "$T/o")" "broken chain reported"

# a long trail: the newest 500 rows in one request, not the whole trail
P5=$(free_port)
fake_agent long "$P5" --audit-rows 1200
expect_rc 0 "$T/o" "$VANTAGE" --agent "long=http://127.0.0.1:$P5" audit --json
assert_eq "500 1200 701" "$(jq -r '"\(.audit | length) \(.audit[0].id) \(.audit[-1].id)"' \
    "$T/o")" "the newest 500 audit rows, newest first"
assert_eq "GET /v1/audit?before=9223372036854775807&limit=500" \
    "$(grep '/v1/audit' "$T/long.log")" "the one audit request"

# --- --agent without a file ---------------------------------------------
expect_rc 0 "$T/o" env VANTAGE_TOKEN="$TOKEN" "$VANTAGE" \
    --agent "http://127.0.0.1:$P1" status --json
assert_eq "127.0.0.1:$P1 ok" "$(jq -r '.agents[0] | "\(.name) \(.state)"' \
    "$T/o")" "--agent URL"
expect_rc 1 "$T/o" "$VANTAGE" --agent "web=http://127.0.0.1:$P1" status
assert_match "401" "$(cat "$T/o.err")" "no token: 401 shown"
exit 0
