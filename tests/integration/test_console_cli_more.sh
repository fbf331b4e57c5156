#!/bin/bash
# The CLI as an operator meets it in a first hour: durations that need a
# unit, sub-millisecond latency, `probes AGENT`, audit filters, --csv on
# every listing (RFC 4180; remote text exact in a file, escaped on a
# terminal), `vantaged token --append` and `vantage agent add`.
#
# Agents: two real vantaged on loopback (h1, h2), a fake one whose rows
# carry control characters (--mode oddrows), a dead port.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools jq script

P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
DEAD=$(free_port)
new_token alice operator
ALICE=$TOKEN
new_token bob operator
BOB=$TOKEN
real_agent h1 "$P1" "[probe \"self\"]
type = tcp
target = 127.0.0.1:$P1
interval = 1s
[route \"web-a\"]
[route \"web-b\"]"
real_agent h2 "$P2" "[probe \"other\"]
type = tcp
target = 127.0.0.1:$P2
interval = 1s
[route \"solo\"]"
fake_agent odd "$P3" --mode oddrows --routes r1
TOKEN=$ALICE
console_conf "$T/v.conf" h1="$P1" h2="$P2"
console_conf "$T/dead.conf" h1="$P1" dead="$DEAD"
TOKEN=$BOB
console_conf "$T/bob.conf" h1="$P1"
v() { "$VANTAGE" -c "$T/v.conf" "$@"; }

expect_rc() {
	local want=$1 out=$2 rc=0
	shift 2
	"$@" >"$out" 2>"$out.err" || rc=$?
	[ "$rc" = "$want" ] || fail "'$*': expected exit $want, got $rc;" \
	    "stdout: $(head -c 400 "$out"); stderr: $(head -c 400 "$out.err")"
}

# csv_check FILE COLS: every record has COLS fields, CRLF line ends; prints
# the records as JSON lists for jq.
csv_json() {
	"$PY" - "$1" "$2" <<'EOF'
import csv, json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"\r\n"), "records end in CRLF"
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
for r in rows:
    assert len(r) == int(sys.argv[2]), "fields: %d, expected %s: %r" % (
        len(r), sys.argv[2], r)
print(json.dumps(rows))
EOF
}

# --- durations need a unit (usage: 2) ---------------------------------
expect_rc 2 "$T/o" v drain h1 web-a --reason x --ttl 10
assert_match "vantage: --ttl 10: add a unit: 10s, 10m" "$(cat "$T/o.err")" \
    "--ttl without a unit"
expect_rc 2 "$T/o" v drain h1 web-a --reason x --timeout 3
assert_match "--timeout 3: add a unit: 3s, 3m" "$(cat "$T/o.err")" "--timeout"
expect_rc 2 "$T/o" v undrain h1 web-a --reason x --settle 5
assert_match "--settle 5: add a unit" "$(cat "$T/o.err")" "--settle"
expect_rc 2 "$T/o" v audit --since 1
assert_match "--since 1: add a unit: 1s, 1m" "$(cat "$T/o.err")" "--since"
expect_rc 2 "$T/o" v drain h1 web-a --reason x --ttl 1m30
assert_match "--ttl 1m30: add a unit" "$(cat "$T/o.err")" "a bare last part"
expect_rc 2 "$T/o" v drain h1 web-a --reason x --ttl 500ms
assert_match "--ttl 500ms: expected from 1s to 30d" "$(cat "$T/o.err")" \
    "--ttl range"
expect_rc 2 "$T/o" v drain h1 web-a --reason x --ttl soon
assert_match "--ttl 'soon': expected a duration like" "$(cat "$T/o.err")" \
    "--ttl not a duration"
expect_rc 2 "$T/o" v status --json --csv
expect_rc 2 "$T/o" v audit --csv --verify
expect_rc 2 "$T/o" v routes --since 1h
expect_rc 2 "$T/o" v status --token-file x

# --- latency below a millisecond is not 0 -------------------------------
wait_for 10 sh -c "\"$VANTAGE\" -c \"$T/v.conf\" probes --json |
    jq -e '[.probes[] | select(.state == \"up\")] | length == 2' >/dev/null" ||
    fail "the probes never became up"
frac=0
for i in 1 2 3 4 5; do
	expect_rc 0 "$T/o" v status --json
	jq -e '.agents | all(.latency_ms > 0)' "$T/o" >/dev/null ||
	    fail "status --json: latency_ms not above 0: $(cat "$T/o")"
	jq -e '.agents | any(.latency_ms != (.latency_ms | floor))' "$T/o" \
	    >/dev/null && frac=1 && break
done
[ $frac = 1 ] || fail "status --json: latency_ms never had a fraction:" \
    "$(jq -c '[.agents[].latency_ms]' "$T/o")"
expect_rc 0 "$T/o" v status
assert_match "h1 +ok +1 +0 +0/2 +[0-9]+\.[0-9]+m?s " "$(cat "$T/o")" \
    "status table latency"
expect_rc 0 "$T/o" v probes h1
assert_match "self +tcp +up .* [0-9]+\.[0-9]{2,3}ms " "$(cat "$T/o")" \
    "probe latency in ms with decimals"

# --- probes [AGENT] ---------------------------------------------------
assert_eq 2 "$(wc -l <"$T/o")" "probes h1: a header and one row"
assert_match "^AGENT +PROBE" "$(head -1 "$T/o")" "probes h1 header"
[[ "$(cat "$T/o")" == *other* ]] && fail "probes h1 shows h2's probe"
expect_rc 0 "$T/o" v probes h2 --json
assert_eq "h2/other" "$(jq -r '[.probes[] | "\(.agent)/\(.name)"] |
    join(" ")' "$T/o")" "probes h2 --json"
expect_rc 2 "$T/o" v probes nosuch
assert_match "no agent 'nosuch'" "$(cat "$T/o.err")" "unknown agent"
expect_rc 2 "$T/o" v probes h1 h2
# one agent asked for: a dead other one does not fail it
expect_rc 0 "$T/o" "$VANTAGE" -c "$T/dead.conf" probes h1 --csv
expect_rc 1 "$T/o" "$VANTAGE" -c "$T/dead.conf" probes dead
assert_match "dead: unreachable" "$(cat "$T/o.err")" "the agent asked for"

# --- CSV of every listing ---------------------------------------------
expect_rc 0 "$T/o" v status --csv
j=$(csv_json "$T/o" 13) || fail "status --csv: $(cat "$T/o")"
assert_eq "agent,state,reason,url,agent_name,version,uptime_s,latency_ms,skew_ms,probes,down,routes,drained" \
    "$(jq -r '.[0] | join(",")' <<<"$j")" "status --csv header"
assert_eq "h1 ok 1 2|h2 ok 1 1" "$(jq -r '.[1:] | map("\(.[0]) \(.[1]) \(.[9]) \(.[11])") |
    join("|")' <<<"$j")" "status --csv rows"
assert_match "^[0-9]+\.[0-9]{3}$" "$(jq -r '.[1][7]' <<<"$j")" \
    "status --csv latency_ms"
expect_rc 0 "$T/o" v probes --csv
j=$(csv_json "$T/o" 14) || fail "probes --csv: $(cat "$T/o")"
assert_eq "agent probe type target state" "$(jq -r '.[0][0:5] | join(" ")' \
    <<<"$j")" "probes --csv header"
assert_eq "h1 self tcp 127.0.0.1:$P1 up ok" "$(jq -r '.[1] |
    "\(.[0]) \(.[1]) \(.[2]) \(.[3]) \(.[4]) \(.[7])"' <<<"$j")" \
    "probes --csv row"
assert_match "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$" \
    "$(jq -r '.[1][5]' <<<"$j")" "probes --csv since, RFC 3339"

# drains by two people (tokens alice and bob, operator carol)
expect_rc 0 "$T/o" env USER=carol "$VANTAGE" -c "$T/v.conf" drain h1 web-a \
    --reason "deploy, \"7\"" --ttl 10m
expect_rc 0 "$T/o" "$VANTAGE" -c "$T/bob.conf" drain h1 web-b --reason "disk"
expect_rc 0 "$T/o" v undrain h1 web-b --reason "disk ok"
expect_rc 0 "$T/o" v routes --csv
j=$(csv_json "$T/o" 13) || fail "routes --csv: $(cat "$T/o")"
assert_eq "h1 web-a draining alice deploy, \"7\"" "$(jq -r '.[] |
    select(.[1] == "web-a") | "\(.[0]) \(.[1]) \(.[2]) \(.[8]) \(.[10])"' \
    <<<"$j")" "routes --csv: a reason with a comma and quotes"
assert_match '"deploy, ""7"""' "$(cat "$T/o")" "RFC 4180 quoting"
assert_match "^carol@" "$(jq -r '.[] | select(.[1] == "web-a") | .[9]' \
    <<<"$j")" "routes --csv operator"

# --- audit filters ------------------------------------------------------
expect_rc 0 "$T/o" v audit --json --actor alice
assert_eq "undrain web-b|drain web-a" "$(jq -r '[.audit[] |
    "\(.action) \(.target)"] | join("|")' "$T/o")" "--actor alice"
expect_rc 0 "$T/o" v audit --json --actor bob --action drain
assert_eq "drain web-b bob" "$(jq -r '[.audit[] |
    "\(.action) \(.target) \(.actor)"] | join("|")' "$T/o")" "--actor --action"
expect_rc 0 "$T/o" v audit --json --actor carol --route web-a --since 1h
assert_eq "drain web-a alice" "$(jq -r '[.audit[] |
    "\(.action) \(.target) \(.actor)"] | join("|")' "$T/o")" \
    "--actor (the person) --route --since"
expect_rc 0 "$T/o" v audit --csv --route web-b
j=$(csv_json "$T/o" 13) || fail "audit --csv: $(cat "$T/o")"
assert_eq "time agent id actor" "$(jq -r '.[0][0:4] | join(" ")' <<<"$j")" \
    "audit --csv header"
assert_eq "undrain alice|drain bob" "$(jq -r '[.[1:][] | "\(.[7]) \(.[3])"] |
    join("|")' <<<"$j")" "audit --csv --route, newest first"
sleep 1.2
expect_rc 0 "$T/o" v audit --json --since 1s
assert_eq 0 "$(jq '.audit | length' "$T/o")" "--since 1s after a second"

# --- remote text: exact in CSV and JSON, escaped on a terminal ----------
ODD=(--agent "odd=http://127.0.0.1:$P3")
"$VANTAGE" "${ODD[@]}" audit --csv --route evil-target >"$T/odd.csv" \
    2>"$T/odd.err" || true
"$PY" - "$T/odd.csv" <<'EOF' || fail "audit --csv to a file is not exact: $(cat -v "$T/odd.csv")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
assert rows[1][8] == "evil-target", rows
assert rows[1][10] == "evil \u202e\u009b\x1b[31m end", repr(rows[1][10])
EOF
"$VANTAGE" "${ODD[@]}" audit --json --route evil-target >"$T/odd.json" \
    2>/dev/null || true
assert_eq "$(printf 'evil \u202e\u009b\033[31m end')" \
    "$(jq -r '.audit[0].detail' "$T/odd.json")" "JSON: exact"
grep -q $'\033' "$T/odd.json" && fail "JSON holds a raw ESC"
script -qec "$(printf '%q ' "$VANTAGE" "${ODD[@]}" audit --csv --route \
    evil-target)" /dev/null >"$T/tty.out" 2>&1 </dev/null || true
grep -q $'\033' "$T/tty.out" && fail "CSV on a terminal holds a raw ESC:" \
    "$(cat -v "$T/tty.out")"
assert_match 'evil \\u\{202e\}\\x9b\\x1b\[31m end' "$(cat "$T/tty.out")" \
    "CSV on a terminal: escaped"
script -qec "$(printf '%q ' "$VANTAGE" "${ODD[@]}" routes --csv)" \
    /dev/null >"$T/tty2.out" 2>&1 </dev/null || true
grep -q $'\033' "$T/tty2.out" && fail "routes --csv on a terminal: raw ESC"

# --- vantaged token --append ----------------------------------------------
mkdir -m 700 "$T/keys"
# the token goes to stdout: a private file here (umask 077)
K=$T/keys/out
(umask 077; : >"$K")
(umask 077; "$VANTAGED" token web01 operator --append "$T/keys/tokens" \
    >"$T/keys/web01.token" 2>"$T/tok.err") || fail "token --append:" \
    "$(cat "$T/tok.err")"
assert_eq 600 "$(stat -c %a "$T/keys/tokens")" "a new tokens file is 0600"
assert_match "^vt_[A-Za-z0-9_-]+$" "$(cat "$T/keys/web01.token")" \
    "the token alone on stdout"
assert_match "^web01 operator [0-9a-f]{64}$" "$(cat "$T/keys/tokens")" \
    "the hashed line"
grep -qF "$(cat "$T/keys/web01.token")" "$T/tok.err" "$T/keys/tokens" &&
    fail "the token is repeated on stderr or in the tokens file"
assert_match "token_file = $T/keys/web01.token" "$(cat "$T/tok.err")" \
    "the snippet names where the token went"
assert_match "\[agent \"[^\"]+\"\]" "$(cat "$T/tok.err")" "the snippet"
printf '# ops tokens\nold viewer %064d' 0 >"$T/keys/t2"
chmod 640 "$T/keys/t2"
expect_rc 1 "$K" "$VANTAGED" token x viewer --append "$T/keys/t2"
assert_match "group or others can access it \(mode 640\).*chmod 600" \
    "$(cat "$K.err")" "an open tokens file is refused"
chmod 400 "$T/keys/t2"
cp "$T/keys/t2" "$T/keys/t2.before"
expect_rc 1 "$K" "$VANTAGED" token old viewer --append "$T/keys/t2"
assert_match "t2:2: token name 'old' is already there" "$(cat "$K.err")" \
    "a name already there"
cmp -s "$T/keys/t2" "$T/keys/t2.before" || fail "a refusal changed the file"
expect_rc 0 "$K" "$VANTAGED" token new admin --append "$T/keys/t2"
assert_eq 400 "$(stat -c %a "$T/keys/t2")" "a private file keeps its mode"
assert_eq "# ops|old viewer|new admin" "$(awk '{ print $1, $2 }' \
    "$T/keys/t2" | paste -sd'|')" \
    "old lines kept, a newline added, the new line"
assert_match "^new admin [0-9a-f]{64}$" "$(tail -n 1 "$T/keys/t2")" \
    "the new line"
[ -z "$(ls -A "$T/keys" | grep '^\.t')" ] || fail "a temporary file is left"
expect_rc 1 "$T/o" "$VANTAGED" token w viewer --append "$T/keys/t3"
assert_match "standard output is a file group or others can access" \
    "$(cat "$T/o.err")" "the token is never written to an open file"
[ -e "$T/keys/t3" ] && fail "refused, yet the tokens file was written"

# --- vantage agent add ------------------------------------------------------
# a tokens file --append wrote, read by a real agent: the token works
P4=$(free_port)
mkdir -p "$T/data-h4"
AGENT_NAME=h4 agent_conf "$T/h4.conf" "$T/data-h4" "$P4"
printf 'tokens = %s\n[probe "p4"]\ntype = tcp\ntarget = 127.0.0.1:%s\n' \
    "$T/keys/tokens" "$P4" >>"$T/h4.conf"
start_agent h4 "$T/h4.conf"
C=$T/cfg/vantage.conf
mkdir -p "$T/cfg"
printf '; my agents\n[console]\nrefresh = 2s   ; slow\n\n# old one\n[agent "h1"]\nurl = http://127.0.0.1:%s\ntoken_file = %s' \
    "$P1" "$T/keys/web01.token" >"$C"
chmod 640 "$C"
cp "$C" "$T/before.conf"
expect_rc 0 "$T/o" "$VANTAGE" -c "$C" agent add h4 "http://127.0.0.1:$P4" \
    --token-file "$T/keys/web01.token"
assert_match "added agent 'h4'" "$(cat "$T/o")" "agent add says so"
assert_eq 640 "$(stat -c %a "$C")" "the config keeps its mode"
head -c "$(stat -c %s "$T/before.conf")" "$C" | cmp -s - "$T/before.conf" ||
    fail "agent add changed existing lines: $(cat "$C")"
assert_eq "[agent \"h4\"]|url = http://127.0.0.1:$P4|token_file = $T/keys/web01.token" \
    "$(tail -n 3 "$C" | paste -sd'|')" "the new section"
expect_rc 0 "$T/o" "$VANTAGE" -c "$C" probes h4 --json
assert_eq "h4/p4" "$(jq -r '.probes[0] | "\(.agent)/\(.name)"' "$T/o")" \
    "the added agent answers with the --append token"
cp "$C" "$T/before2.conf"
expect_rc 1 "$T/o" "$VANTAGE" -c "$C" agent add h4 "http://127.0.0.1:1" \
    --token-file "$T/keys/web01.token"
assert_match "agent 'h4' is already there \(line 10\)" "$(cat "$T/o.err")" \
    "a duplicate name"
expect_rc 1 "$T/o" "$VANTAGE" -c "$C" agent add h5 "ftp://127.0.0.1:1" \
    --token-file "$T/keys/web01.token"
assert_match "only http:// and https://" "$(cat "$T/o.err")" "a bad URL"
expect_rc 1 "$T/o" "$VANTAGE" -c "$C" agent add "h 5" "http://127.0.0.1:1" \
    --token-file "$T/keys/web01.token"
assert_match "bad name" "$(cat "$T/o.err")" "a bad name"
expect_rc 1 "$T/o" "$VANTAGE" -c "$C" agent add h5 "http://127.0.0.1:1" \
    --token-file "$T/keys/nosuch"
assert_match "--token-file .*nosuch: No such file" "$(cat "$T/o.err")" \
    "a missing token file"
chmod 644 "$T/keys/t2"
expect_rc 1 "$T/o" "$VANTAGE" -c "$C" agent add h5 "http://127.0.0.1:1" \
    --token-file "$T/keys/t2"
assert_match "token_file: .*chmod 600" "$(cat "$T/o.err")" \
    "an open token file: the loader's own refusal"
expect_rc 2 "$T/o" "$VANTAGE" -c "$C" agent add h5 "http://127.0.0.1:1"
assert_match "--token-file is required" "$(cat "$T/o.err")" "no token file"
cmp -s "$C" "$T/before2.conf" || fail "a refused agent add changed the file"
[ -z "$(ls -A "$T/cfg" | grep '^\.')" ] || fail "a temporary file is left"
# no file yet: the per-user one is created, private (unless the system
# one exists: that is the file `vantage` would read)
[ -e /etc/vantage/vantage.conf ] && exit 0
expect_rc 0 "$T/o" env HOME="$T/home" XDG_CONFIG_HOME= "$VANTAGE" agent add \
    h1 "http://127.0.0.1:$P1" --token-file "$T/keys/web01.token"
assert_eq "700 600" "$(stat -c %a "$T/home/.config/vantage") $(stat -c %a \
    "$T/home/.config/vantage/vantage.conf")" "a new config, private"
exit 0
