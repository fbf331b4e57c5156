#!/bin/bash
# What the console tells of a route change, against the fake agent
# (console_fake_agent.py speaks contract9.md and hangs on demand):
#  - every change carries a 32-hex Idempotency-Key and X-Vantage-Deadline
#    about now + --timeout;
#  - a batch of one agent's routes is one request, all or nothing: two
#    routes of a pool with min_active 1 are refused together, exit 1;
#    a no-op says "already draining" and exits 0; needs_update is a
#    refusal, --update goes through; --json has per route outcome and
#    changed;
#  - no answer: the answer lost after the commit -> lookup says applied,
#    exit 0; a commit held past the deadline -> "not applied", exit 1, the
#    route unchanged, the fake's audit has the refusal; the agent stopped
#    (SIGSTOP) through the settle window -> "outcome unknown", exit 3;
#    stopped and continued before the deadline -> applied, exit 0; an
#    agent without the lookup -> outcome unknown, exit 3; a dead agent ->
#    not applied (not sent), exit 1;
#  - the TUI: a refused batch, per agent; Enter does not apply; while the
#    outcome is unknown until the deadline the keys answer; the form
#    starts empty; at 80x24 with NO_COLOR.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools jq curl tmux

P=$(free_port)
PN=$(free_port)
DEAD=$(free_port)
fake_agent f "$P" --routes a:web,b:web,c:other,d: --pool web:1,other:0
fake_agent old "$PN" --routes a:web --pool web:0 --no-lookup
V() { "$VANTAGE" --agent "f=http://127.0.0.1:$P" "$@"; }
routes() {
	curl -sf "http://127.0.0.1:$P/v1/routes" |
	    jq -r '[.routes[] | "\(.name)=\(.state)"] | join(" ")'
}
hang() {	# WHEN MS
	curl -sf -d "{\"when\":\"$1\",\"ms\":$2}" \
	    "http://127.0.0.1:$P/fake/hang" >/dev/null || fail "hang $*"
}
expect_rc() {
	local want=$1 out=$2 rc=0
	shift 2
	"$@" >"$out" 2>"$out.err" || rc=$?
	[ "$rc" = "$want" ] || fail "'$*': expected exit $want, got $rc;" \
	    "stdout: $(head -c 600 "$out"); stderr: $(head -c 600 "$out.err")"
}

# --- headers -----------------------------------------------------------
t0=$(now_ms)
expect_rc 0 "$T/o" V drain f d --reason "one" --timeout 4s
line=$(grep '^POST /v1/routes/d/drain' "$T/f.log" | tail -1)
assert_match "key=[0-9a-f]{32} deadline=[0-9]+ " "$line" "change headers"
dl=$(sed -n 's/.*deadline=\([0-9]*\).*/\1/p' <<<"$line")
[ $((dl - t0)) -ge 3900 ] && [ $((dl - t0)) -le 5000 ] ||
    fail "deadline $((dl - t0)) ms after the start, expected about 4000"
assert_match "^f: applied: route d is now draining" "$(cat "$T/o")" "single"
expect_rc 0 "$T/o" V undrain f d --reason "one done"

# --- batches: one request, all or nothing --------------------------------
expect_rc 1 "$T/o" V drain f a b --reason "both"
assert_eq 2 "$(grep -c 'not applied (refused: HTTP 409 pool_guard: pool web would keep 0 of 2' "$T/o.err")" \
    "a refusal for each route of the batch"
assert_eq 1 "$(grep -c '^POST /v1/routes/drain ' "$T/f.log")" "one request"
assert_eq "a=active b=active c=active d=active" "$(routes)" "nothing drained"
expect_rc 0 "$T/o" V drain f a c --reason "deploy 8" --json
assert_eq "applied a:applied:true c:applied:true" "$(jq -r '"\(.outcome) " +
    ([.routes[] | "\(.name):\(.outcome):\(.changed)"] | join(" "))' "$T/o")" \
    "--json of a batch"
assert_eq "a=draining b=active c=draining d=active" "$(routes)" "drained"
expect_rc 0 "$T/o" V drain f a c --reason "deploy 8"
assert_match "applied \(no change\): route a is already draining" \
    "$(cat "$T/o")" "no-op"
expect_rc 1 "$T/o" V drain f a --reason "other words"
assert_match "needs_update" "$(cat "$T/o.err")" "needs_update"
expect_rc 0 "$T/o" V drain f a --reason "other words" --update --no-ttl \
    --json
assert_eq "true other words" "$(jq -r '.routes[0] | "\(.changed) \(.reason)"' \
    "$T/o")" "--update"
expect_rc 0 "$T/o" V undrain f a c --reason "deploy 8 done"
assert_match "route c is now active" "$(cat "$T/o")" "batch undrain"

# --- no answer ------------------------------------------------------------
# the answer lost after the commit: the lookup finds it applied
hang after 6000
expect_rc 0 "$T/o" V drain f c --reason "lost answer" --timeout 1s
assert_match "no answer" "$(cat "$T/o.err")" "no answer said"
assert_match "applied: route c is now draining" "$(cat "$T/o")" \
    "applied by lookup"
grep -q 'GET /v1/requests/[0-9a-f]\{32\}?deadline=' "$T/f.log" ||
    fail "no outcome lookup"
# a commit held past its deadline: not applied, and the agent says why
hang before 2500
expect_rc 1 "$T/o" V drain f b --reason "too late" --timeout 1s
assert_match "not applied \(the agent did not apply it before its deadline" \
    "$(cat "$T/o.err")" "not applied after the deadline"
sleep 1
assert_eq "a=active b=active c=draining d=active" "$(routes)" "b unchanged"
assert_eq "refused" "$(curl -sf "http://127.0.0.1:$P/v1/audit?after=0" |
    jq -r '[.audit[] | select(.detail == "too late")][0].result')" \
    "the late request's audit row"
# stopped through the whole settle window: unknown, exit 3
kill -STOP "$PID_f"
expect_rc 3 "$T/o" V drain f d --reason "stopped" --timeout 1s --settle 2s
kill -CONT "$PID_f"
assert_match "outcome unknown: f unreachable since [0-9:]+" \
    "$(cat "$T/o.err")" "outcome unknown"
# stopped, continued before the deadline: applied
kill -STOP "$PID_f"
( sleep 1; kill -CONT "$PID_f" ) &
cont=$!
expect_rc 0 "$T/o" V drain f d --reason "stopped a while" --timeout 3s \
    --force
wait "$cont"
assert_match "route d is now draining" "$(cat "$T/o")" "applied after CONT"
# an agent that cannot look outcomes up, and a dead one
curl -sf -d '{"when":"after","ms":4000}' "http://127.0.0.1:$PN/fake/hang" \
    >/dev/null
expect_rc 3 "$T/o" "$VANTAGE" --agent "old=http://127.0.0.1:$PN" drain old a \
    --reason x --timeout 1s --json
assert_eq "unknown null" "$(jq -r '"\(.outcome) \(.routes[0].changed)"' \
    "$T/o")" "--json of an unknown outcome"
assert_match "cannot tell" "$(jq -r .message "$T/o")" "no lookup"
expect_rc 1 "$T/o" "$VANTAGE" --agent "dead=http://127.0.0.1:$DEAD" drain \
    dead a --reason x
assert_match "not applied \(not sent: connect" "$(cat "$T/o.err")" "dead"
V undrain f c d --reason reset >/dev/null 2>&1 || fail "reset"

# --- the TUI ------------------------------------------------------------
printf '[console]\nrefresh = 1s\naction_timeout = 2s\nsettle = 5s\n' \
    >"$T/v.conf"
printf '[agent "f"]\nurl = http://127.0.0.1:%s\n' "$P" >>"$T/v.conf"
tui_start 80 24 NO_COLOR=1 USER=tester -- -c "$T/v.conf"
wait_screen 10 'f +ok'
keys ':routes' Enter
wait_screen 5 'f +a +active'
keys Space Space d
wait_screen 5 'Drain 2 routes'
type_text 'both at once'
keys Enter
wait_screen 5 "applied per agent: each agent's routes all or none"
wait_screen 5 'f +pool web would keep 0 of 2 routes taking traffic'
wait_screen 5 'REFUSED \(409\) unless forced'
keys Enter
wait_screen 5 'press y to apply, Esc to cancel'
keys y
wait_screen 10 'f: not applied \(refused: HTTP 409 pool_guard'
wait_screen 5 'f +b +not applied'
assert_eq "a=active b=active c=active d=active" "$(routes)" "TUI refusal"
keys x
# an answer lost: unknown until the deadline, the keys still answer
hang after 6000
keys d
wait_screen 5 'Drain 2 routes'
screen | grep -q 'both at once' && fail "the form kept the last reason"
keys Escape a a g
keys d
wait_screen 5 'Drain 1 route'
type_text 'lost in the tui'
keys Enter y
wait_screen 5 'outcome unknown until the deadline'
lat=$(key_latency 3 '?' 'Keys: everywhere' x 'outcome unknown')
for ms in $lat; do
	[ "$ms" -le 200 ] || fail "a key took $ms ms while the outcome was unknown ($lat)"
done
wait_screen 10 'f: applied'
wait_screen 5 'f +a +applied: now draining'
assert_eq "a=draining b=active c=active d=active" "$(routes)" "TUI applied"
keys x
wait_screen 5 'f +a +draining'
keys Q
wait_for 5 test -s "$T/tui.exit" || fail "the console did not quit"
assert_eq "EXITED 0" "$(cat "$T/tui.exit")" "exit status"
[ -s "$T/tui.err" ] && fail "stderr of the console: $(head -5 "$T/tui.err")"
exit 0
