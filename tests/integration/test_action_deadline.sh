#!/bin/bash
# What `vantage drain` tells the operator against a real vantaged that
# does not answer in time (SIGSTOP), and whether it is true:
#  (a) stopped, continued before the deadline: "applied", exit 0, the
#      route draining;
#  (b) stopped, continued after the deadline but within the settle
#      window: "not applied", exit 1, the route unchanged, and the audit
#      has the late request refused (deadline passed);
#  (c) stopped through the whole settle window: "outcome unknown", exit 3;
#  (d) (a) and (b) through the TUI in tmux (mark, d, reason, y);
#  (e) two concurrent batch drains of two routes each of one pool
#      (min_active 1, 4 routes) for $ROUNDS rounds: each batch all or
#      nothing, exactly one accepted, the pool never below min_active; and
#      for $HA_ROUNDS of them HAProxy shows the accepted batch's servers
#      DRAIN and the others UP.  tests/bench/bench_action_race.sh runs the
#      long version (every round through HAProxy).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools jq curl tmux
ROUNDS=${ROUNDS:-100}
HA_ROUNDS=${HA_ROUNDS:-5}
[ "$HA_ROUNDS" -gt 0 ] && ! command -v haproxy >/dev/null &&
    skip "haproxy is not installed (.ci/deps has it)"

P=$(free_port)
HAP=$(free_port)
new_token alice operator
real_agent h1 "$P" "rate = 1000/s burst 1000
[haproxy]
listen = 127.0.0.1:$HAP
[route \"x1\"]
[route \"x2\"]
[route \"x3\"]
[route \"x4\"]
[route \"p1\"]
pool = p
[route \"p2\"]
pool = p
[route \"p3\"]
pool = p
[route \"p4\"]
pool = p
[pool \"p\"]
min_active = 1"
console_conf "$T/v.conf" h1="$P"
v() { "$VANTAGE" -c "$T/v.conf" "$@"; }
state() {	# ROUTE
	curl -sf -m 5 -H "Authorization: Bearer $TOKEN" \
	    "http://127.0.0.1:$P/v1/routes" |
	    jq -r ".routes[] | select(.name == \"$1\") | .state"
}
states() {
	curl -sf -m 5 -H "Authorization: Bearer $TOKEN" \
	    "http://127.0.0.1:$P/v1/routes" |
	    jq -r '[.routes[] | select(.pool == "p") | "\(.name)=\(.state)"] |
	    join(" ")'
}
# bg_cli OUT CMD...: the CLI in the background; its exit status goes to
# OUT.rc.
bg_cli() {
	local out=$1
	shift
	( rc=0; "$@" >"$out" 2>"$out.err" || rc=$?; echo "$rc" >"$out.rc" ) &
}
wait_rc() {	# OUT SECS
	wait_for "$2" test -s "$1.rc" || fail "the CLI did not end: $(cat "$1.err")"
}
cont_agent() { kill -CONT "$PID_h1"; }
CLEANUP_HOOK=_action_cleanup
_action_cleanup() {
	kill -CONT "$PID_h1" 2>/dev/null
	_console_cleanup
}

# --- (a) stopped, continued before the deadline: applied ------------------
kill -STOP "$PID_h1"
bg_cli "$T/a" v drain h1 x1 --reason "frozen a"
sleep 1
cont_agent
wait_rc "$T/a" 15
assert_eq 0 "$(cat "$T/a.rc")" "exit status of (a); stderr: $(cat "$T/a.err")"
assert_match "^h1: applied: route x1 is now draining" "$(cat "$T/a")" \
    "what (a) says"
assert_eq draining "$(state x1)" "x1 after (a)"

# --- (b) continued after the deadline, within the settle window ----------
kill -STOP "$PID_h1"
t0=$(now_ms)
bg_cli "$T/b" v drain h1 x2 --reason "frozen b" --timeout 2s
sleep 4
cont_agent
wait_rc "$T/b" 15
assert_eq 1 "$(cat "$T/b.rc")" "exit status of (b); stdout: $(cat "$T/b"); stderr: $(cat "$T/b.err")"
assert_match "h1: drain x2: not applied" "$(cat "$T/b.err")" "what (b) says"
assert_match "outcome unknown until the deadline|outcome unknown: asking" \
    "$(cat "$T/b.err")" "(b) said it did not know yet"
assert_eq active "$(state x2)" "x2 after (b)"
row=$(curl -sf -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$P/v1/audit?after=0&limit=1000" |
    jq -r '[.audit[] | select(.target == "x2")][-1] | "\(.result) \(.detail)"')
assert_match "^refused .*deadline passed" "$row" "the late request's audit row"

# --- (c) stopped through the whole settle window: unknown -----------------
kill -STOP "$PID_h1"
rc=0
v drain h1 x3 --reason "frozen c" --timeout 1s --settle 2s >"$T/c" \
    2>"$T/c.err" || rc=$?
cont_agent
assert_eq 3 "$rc" "exit status of (c); stderr: $(cat "$T/c.err")"
assert_match "h1: drain x3: outcome unknown: h1 unreachable since [0-9:]+" \
    "$(cat "$T/c.err")" "what (c) says"
# however late the request reaches the agent, it changes nothing
sleep 1
assert_eq active "$(state x3)" "x3 after (c)"

# --- (d) the same through the TUI -----------------------------------------
printf '[console]\nrefresh = 1s\naction_timeout = 2s\nsettle = 10s\n' \
    >"$T/tui.conf"
printf '[agent "h1"]\nurl = http://127.0.0.1:%s\ntoken = %s\n' "$P" "$TOKEN" \
    >>"$T/tui.conf"
chmod 600 "$T/tui.conf"
tui_start 80 24 USER=tester -- -c "$T/tui.conf"
wait_screen 10 'h1 +ok'
keys ':routes' Enter
wait_screen 5 'h1 +x4 +active'
keys /
type_text 'x4'
keys Enter
wait_screen 5 'h1 +x4 +active'
kill -STOP "$PID_h1"
keys Space d
wait_screen 5 'Drain 1 route'
type_text 'tui frozen a'
keys Enter
wait_screen 5 'drain 1 route on 1 agent'
keys y
wait_screen 5 'outcome unknown until the deadline'
sleep 1
cont_agent
wait_screen 10 'h1: applied'
wait_screen 5 'h1 +x4 +applied: now draining'
assert_eq draining "$(state x4)" "x4 after the TUI's (a)"
keys x Escape
wait_screen 5 'h1 +x3 +active'
keys /
type_text 'x3'
keys Enter
wait_screen 5 'h1 +x3 +active'
kill -STOP "$PID_h1"
keys Space d
type_text 'tui frozen b'
keys Enter
wait_screen 5 'drain 1 route on 1 agent'
keys y
wait_screen 5 'outcome unknown until the deadline'
# the keys answer while the outcome is unknown
keys '?'
wait_screen 2 'Keys: everywhere'
keys x
wait_screen 8 'outcome unknown: asking h1'
sleep 1
cont_agent
wait_screen 10 'h1: not applied \(the agent did not apply it before its deadline|h1: not applied \(refused: HTTP 412'
assert_eq active "$(state x3)" "x3 after the TUI's (b)"
keys x Q
wait_for 5 test -s "$T/tui.exit" || fail "the console did not quit"
assert_eq "EXITED 0" "$(cat "$T/tui.exit")" "the TUI's exit status"
[ -s "$T/tui.err" ] && fail "stderr of the console: $(head -5 "$T/tui.err")"

# --- (e) two batches at once, all or nothing -------------------------------
if [ "$HA_ROUNDS" -gt 0 ]; then
	b1=$(free_port)
	tcp_listener backend "$b1"
	cat >"$T/haproxy.cfg" <<EOC
global
	stats socket $T/haproxy.sock level admin
defaults
	mode tcp
	timeout connect 1s
	timeout client 5s
	timeout server 5s
backend be
	server p1 127.0.0.1:$b1 check inter 200ms agent-check agent-port $HAP agent-inter 200ms agent-send "p1\n"
	server p2 127.0.0.1:$b1 check inter 200ms agent-check agent-port $HAP agent-inter 200ms agent-send "p2\n"
	server p3 127.0.0.1:$b1 check inter 200ms agent-check agent-port $HAP agent-inter 200ms agent-send "p3\n"
	server p4 127.0.0.1:$b1 check inter 200ms agent-check agent-port $HAP agent-inter 200ms agent-send "p4\n"
EOC
	bg haproxy haproxy -f "$T/haproxy.cfg" -db
	wait_for 10 test -S "$T/haproxy.sock" || fail "haproxy did not start"
fi
# ha_expect SERVER STATUS: within 5 s
ha_expect() {
	local end=$((SECONDS + 5)) got
	while :; do
		got=$(haproxy_status "$T/haproxy.sock" "$1")
		[ "$got" = "$2" ] && return 0
		[ $SECONDS -ge $end ] &&
		    fail "round $r: haproxy: $1 expected $2, got '$got'"
		sleep 0.1
	done
}
for r in $(seq "$ROUNDS"); do
	rm -f "$T"/e1* "$T"/e2*
	bg_cli "$T/e1" v drain h1 p1 p2 --reason "race $r a"
	bg_cli "$T/e2" v drain h1 p3 p4 --reason "race $r b"
	wait_rc "$T/e1" 20
	wait_rc "$T/e2" 20
	rc1=$(cat "$T/e1.rc")
	rc2=$(cat "$T/e2.rc")
	st=$(states)
	case "$rc1 $rc2" in
	"0 1")
		assert_eq "p1=draining p2=draining p3=active p4=active" "$st" \
		    "round $r: batch a accepted"
		won="p1 p2" lost="p3 p4";;
	"1 0")
		assert_eq "p1=active p2=active p3=draining p4=draining" "$st" \
		    "round $r: batch b accepted"
		won="p3 p4" lost="p1 p2";;
	*)
		fail "round $r: exit statuses $rc1 $rc2 (one 0 and one 1" \
		    "expected), routes $st; $(cat "$T/e1.err" "$T/e2.err")";;
	esac
	grep -q "409 pool_guard" "$T/e1.err" "$T/e2.err" ||
	    fail "round $r: the refusal is not the pool guard's:" \
	    "$(cat "$T/e1.err" "$T/e2.err")"
	if [ "$r" -le "$HA_ROUNDS" ]; then
		for s in $won; do ha_expect "$s" DRAIN; done
		for s in $lost; do ha_expect "$s" UP; done
	fi
	# shellcheck disable=SC2086
	v undrain h1 $won --reason "race $r done" >"$T/u" 2>&1 ||
	    fail "round $r: undrain: $(cat "$T/u")"
	[ "$r" -le "$HA_ROUNDS" ] && for s in $won; do ha_expect "$s" UP; done
done
exit 0
