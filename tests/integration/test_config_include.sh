#!/bin/bash
# include = GLOB and [defaults], as an operator with a probes.d directory
# uses them: the files are read in sorted order, each with its own
# sections; [defaults] applies to every probe that does not set the key,
# wherever it is written; errors name the included file and line, and
# `vantaged -n` reports all of them; a loop and a missing file are
# errors; a reload re-reads the included files (a changed one restarts
# its probe, the others keep their state).
. "$(dirname "$0")/lib.sh"

api=$(free_port)
open=$(free_port)
tcp_listener listener "$open"
TOK=$(new_token ops viewer)
H="Authorization: Bearer $TOK"
U="http://127.0.0.1:$api"

mkdir -p "$T/probes.d" "$T/data"
agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
include = probes.d/*.conf
[probe "own"]
type = tcp
target = 127.0.0.1:$open
interval = 150ms
EOC
cat >"$T/probes.d/00-defaults.conf" <<EOC
[defaults]
interval = 200ms
rise = 1
fall = 4
tls_verify = no
EOC
cat >"$T/probes.d/20-web.conf" <<EOC
[probe "web"]
type = http
target = http://127.0.0.1:$api/v1/health
expect_status = 200
EOC
cat >"$T/probes.d/10-db.conf" <<EOC
[probe "db"]
type = tcp
target = 127.0.0.1:$open
fall = 2
EOC
echo "not a config" >"$T/probes.d/README"

out=$("$VANTAGED" -n -f "$T/a.conf" 2>&1) || fail "valid config refused: $out"
assert_match "configuration OK \(3 probes, 0 routes\)" "$out" "vantaged -n"

start_agent agent "$T/a.conf"
for p in own db web; do
	wait_for 10 grep -q "probe $p: unknown -> up" "$T/agent.log" ||
	    fail "probe $p did not come up"
done
def=$(curl -s -H "$H" "$U/v1/probes/db")
assert_match '"interval_ms":200,.*"fall":2,"rise":1' "$def" \
    "db: interval and rise from [defaults], its own fall"
def=$(curl -s -H "$H" "$U/v1/probes/own")
assert_match '"interval_ms":150,.*"fall":4,"rise":1' "$def" \
    "own: its own interval, the defaults declared in a file included before it"
def=$(curl -s -H "$H" "$U/v1/probes/web")
assert_match '"tls_verify":false' "$def" "web: a type key from [defaults]"
# sorted order: db (10-) before web (20-) in the definition order
order=$(curl -s -H "$H" "$U/v1/status" | jq -r '[.probes[].name] | join(" ")')
assert_eq "db web own" "$order" "probes in the order the files were read"

# reload: a changed included file restarts its probe only
sed -i 's/^fall = 2$/fall = 3/' "$T/probes.d/10-db.conf"
kill -HUP "$PID_agent"
wait_for 10 grep -q "reloaded" "$T/agent.log" || fail "no reload logged"
wait_for 5 grep -q "probe db: changed" "$T/agent.log" ||
    fail "the probe of a changed included file was not restarted"
grep -q "probe web: changed" "$T/agent.log" &&
    fail "a probe whose file did not change was restarted"
def=$(curl -s -H "$H" "$U/v1/probes/db")
assert_match '"fall":3' "$def" "db after the reload"

# a bad included file: the reload is refused, naming that file and line
cat >"$T/probes.d/30-bad.conf" <<EOC
[probe "bad"]
type = tcp
target = 127.0.0.1:1
colour = blue
EOC
kill -HUP "$PID_agent"
wait_for 10 grep -q "30-bad.conf:4: unknown key 'colour'" "$T/agent.log" ||
    fail "the refused reload did not name the included file and line"
curl -s -H "$H" "$U/v1/probes/db" | grep -q '"fall":3' ||
    fail "the running config changed after a refused reload"
stop_agent agent

# every error, in every file, with file:line and the key
cat >"$T/probes.d/40-worse.conf" <<EOC
[probe "worse"]
type = tcp
target = 127.0.0.1:1
interval = soon
[probe "db"]
type = tcp
target = 127.0.0.1:1
include = ../a.conf
include = missing.conf
EOC
cat >>"$T/probes.d/00-defaults.conf" <<EOC
target = 127.0.0.1:1
mood = calm
EOC
rc=0
out=$("$VANTAGED" -n -f "$T/a.conf" 2>&1) || rc=$?
assert_eq 1 "$rc" "vantaged -n on the broken set"
for want in \
    "$T/probes.d/00-defaults.conf:6: 'target' cannot have a default" \
    "$T/probes.d/00-defaults.conf:7: unknown key 'mood' in [defaults]" \
    "$T/probes.d/30-bad.conf:4: unknown key 'colour'" \
    "$T/probes.d/40-worse.conf:4: interval: " \
    "$T/probes.d/40-worse.conf:8: include loop: $T/probes.d/../a.conf is already being read" \
    "$T/probes.d/40-worse.conf:9: include $T/probes.d/missing.conf: no such file" \
    "$T/probes.d/40-worse.conf:5: duplicate probe 'db' (first defined at $T/probes.d/10-db.conf:1)"; do
	[[ "$out" == *"$want"* ]] || fail "expected '$want' in: $out"
done

# a wildcard that matches nothing is no error; nesting is bounded
rm -f "$T/probes.d/30-bad.conf" "$T/probes.d/40-worse.conf"
sed -i '/^target = 127.0.0.1:1$/d; /^mood/d' "$T/probes.d/00-defaults.conf"
echo "include = none.d/*.conf" >>"$T/probes.d/10-db.conf"
out=$("$VANTAGED" -n -f "$T/a.conf" 2>&1) ||
    fail "an include matching nothing was refused: $out"
echo "include = self.conf" >"$T/self.conf"
rc=0
out=$("$VANTAGED" -n -f "$T/self.conf" 2>&1) || rc=$?
assert_eq 1 "$rc" "a file that includes itself"
assert_match "self.conf:1: include loop" "$out" "self include"

# a secret file others may read is refused with its path
printf 'not really a key\n' >"$T/id_test"
chmod 644 "$T/id_test"
cat >"$T/secret.conf" <<EOC
[probe "s"]
type = ssh
target = 127.0.0.1:22
user = probe
key = $T/id_test
EOC
rc=0
out=$("$VANTAGED" -n -f "$T/secret.conf" 2>&1) || rc=$?
assert_eq 1 "$rc" "a 0644 key file"
assert_match "secret.conf:5: key: $T/id_test: group or others can access it \(mode 644\)" \
    "$out" "the refusal names the key and the path"
chmod 600 "$T/id_test"
out=$("$VANTAGED" -n -f "$T/secret.conf" 2>&1) || fail "a 0600 key refused: $out"
exit 0
