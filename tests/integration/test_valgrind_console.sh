#!/bin/bash
# The console's parsers of what agents send, under valgrind memcheck: the
# normal build of `vantage` (-O2 -g; $VANTAGE names the ASan build under
# tests/run.sh) runs its CLI against a real agent (status, probes, routes,
# audit with verification, a drain and an undrain) and against fake agents
# that send invalid JSON, wrong types, a huge body, a wrong content type
# and HTTP 500.  Every run must end with no memory error and no definite
# leak (valgrind exits 99 otherwise); the console's own exit status may be
# 1 where an agent misbehaves.
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || skip "valgrind is not installed"
CON=$TOP/console/vantage
AGENTD=$TOP/agent/vantaged
[ -x "$CON" ] && [ -x "$AGENTD" ] || fail "build first: make"

tok_line=$("$AGENTD" token alice operator) || fail "vantaged token"
TOK=$(echo "$tok_line" | sed -n 's/^token: //p')
echo "$tok_line" | sed -n 's/^tokens file line: //p' >"$T/tokens"
chmod 600 "$T/tokens"
api=$(free_port)
open=$(free_port)
tcp_listener listener "$open"
agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[probe "link"]
type = tcp
target = 127.0.0.1:$open
interval = 200ms
rise = 1
[route "web"]
probe = link
EOC
VANTAGED=$AGENTD start_agent agent "$T/a.conf"
wait_for 10 grep -q "probe link: unknown -> up" "$T/agent.log" || fail "probe not up"

vg() {	# LABEL ARGS...: the console under valgrind; fails on its errors
	local label=$1 rc=0
	shift
	VANTAGE_TOKEN=$TOK USER=ops timeout 120 valgrind --error-exitcode=99 \
	    --leak-check=full --errors-for-leak-kinds=definite \
	    --suppressions="$TOP/tests/valgrind.supp" --log-file="$T/vg-$label.log" \
	    "$CON" "$@" >"$T/out-$label.txt" 2>&1 || rc=$?
	if [ $rc -eq 99 ] || ! grep -q "ERROR SUMMARY: 0 errors" "$T/vg-$label.log"; then
		sed -n '/Invalid\|uninitialised\|definitely lost/,/^==[0-9]*== $/p' \
		    "$T/vg-$label.log" | head -40 >&2
		fail "valgrind: errors in vantage $* ($label)"
	fi
	return $rc
}
U="http://127.0.0.1:$api"
cat >"$T/c.conf" <<EOC
[agent "a"]
url = $U
token = $TOK
EOC
chmod 600 "$T/c.conf"
vg status -c "$T/c.conf" status --json || fail "status against a real agent failed"
jq -e '.links[] | select(.probe == "link")' "$T/out-status.txt" >/dev/null || fail "status --json lacks the link: $(head -c 300 "$T/out-status.txt")"
vg probes -c "$T/c.conf" probes || fail "probes failed"
vg routes -c "$T/c.conf" routes --json || fail "routes failed"
vg drain -c "$T/c.conf" drain a web --reason "valgrind run" --ttl 5m || fail "drain failed"
vg undrain -c "$T/c.conf" undrain a web --reason "valgrind done" || fail "undrain failed"
vg audit -c "$T/c.conf" audit --verify || fail "audit --verify failed"

# agents that misbehave: the console may exit 1, but never errs in memory
for mode in badjson types huge ctype http500; do
	p=$(free_port)
	bg "fake-$mode" python3 "$TOP/tests/integration/console_fake_agent.py" \
	    --port "$p" --name "fake-$mode" --mode "$mode"
	wait_for 10 grep -q "ready" "$T/fake-$mode.log" || fail "fake agent $mode did not start"
	vg "fake-$mode" --agent "http://127.0.0.1:$p" status --json || true
done
exit 0
