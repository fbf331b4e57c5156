#!/bin/bash
# What the console's views say at a glance, on a fleet with a degraded
# probe, a probe that cannot check (unknown), an agent that died after
# answering, a frozen one (accepts, never answers), one never reached,
# read from the screen at 80x24 with NO_COLOR and at 200x50 in colour:
#  - fleet: a DEGRADED count beside UP and DOWN; the dead agents say so;
#  - probes: the degraded probe reads "100.0% (100% deg)", never "0.0%";
#    the unknown one says the check could not run; latencies in ms with
#    sub-millisecond digits (0.42ms);
#  - matrix: the short verdict (<= 20 columns) in the row, the long one
#    under the table;
#  - detail: the 1h graph comes from the raw results at once (the probe
#    is 90 s old) and a column whose results all failed is drawn as 'x',
#    under NO_COLOR too; the detail of the agent that died says
#    "unreachable since T ..., last data from T" and shows that data,
#    not "fetching...";
#  - routes: the agents never reached are rows "? unknown unknown";
#  - at 80, 100, 132 and 200 columns each view keeps its essential
#    columns (the table's priorities), and 200 shows them all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools tmux curl

VF="$TOP/tests/integration/console_fake_views.py"
TOKEN=views-token-$$
P1=$(free_port)
P2=$(free_port)
PG=$(free_port)
PF=$(free_port)
PD=$(free_port)
bg web-01 "$PY" "$VF" --port "$P1" --name web-01 --token "$TOKEN" \
    --probes api=up,db=up,dns=up --degraded db --unknown dns \
    --routes web-eu:web,web-us:web --pool web:1 --route-probes web-eu=api \
    --fail-after 60
bg web-02 "$PY" "$VF" --port "$P2" --name web-02 --token "$TOKEN" \
    --probes api=down,db=up --routes web-ap:web
bg frozen "$PY" "$VF" --port "$PF" --name frozen --token "$TOKEN" --mode hang
for n in web-01 web-02 frozen; do
	wait_for 10 grep -q '^ready' "$T/$n.log" || fail "fake $n did not start"
done
cat >"$T/v.conf" <<EOF
[console]
refresh = 1s
connect_timeout = 1s
timeout = 1500ms
[agent "web-01"]
url = http://127.0.0.1:$P1
token = $TOKEN
[agent "web-02"]
url = http://127.0.0.1:$P2
token = $TOKEN
[agent "gone"]
url = http://127.0.0.1:$PG
token = $TOKEN
[agent "frozen"]
url = http://127.0.0.1:$PF
token = $TOKEN
[agent "dead"]
url = http://127.0.0.1:$PD
token = $TOKEN
EOF
chmod 600 "$T/v.conf"

# cmd TEXT: a `:` command
cmd() { keys ':'; type_text "$1"; keys Enter; }

# one pass of every check at one size, NO_COLOR or not
pass() {
	local w=$1 h=$2
	shift 2
	bg gone "$PY" "$VF" --port "$PG" --name gone --token "$TOKEN" \
	    --probes api=up
	wait_for 10 grep -q '^ready' "$T/gone.log" || fail "fake gone did not start"
	tui_start "$w" "$h" "$@" -- -c "$T/v.conf"
	wait_screen 10 '^gone +ok '
	# the fleet: UP DEGRADED DOWN side by side
	wait_screen 5 'UP +DEGRADED +DOWN'
	wait_screen 5 '^web-01 +ok .* 1 +1 +0 '
	wait_screen 5 '^web-02 +ok .* 1 +0 +1 '
	wait_screen 5 '^dead +unreachable '
	{ kill -KILL "$PID_gone" && wait "$PID_gone"; } 2>/dev/null
	wait_screen 5 '^gone +unreachable '
	wait_screen 8 '^frozen +unreachable '

	# probes: degraded is not 0.0%, unknown is said, sub-ms latency
	cmd 'probes web-01'
	wait_screen 5 '^web-01 +dns +.*unknown.*0\.42ms'
	wait_screen 5 'unknown .*check not run: resolver'
	line=$(screen | grep -E '^web-01 +db ')
	assert_match 'degraded' "$line" "the degraded probe's row"
	printf '%s\n' "$line" | grep -qE '(^| )0\.0%' &&
	    fail "degraded probe shown as 0.0%: $line"
	if [ "$w" -ge 132 ]; then
		assert_match '100\.0% \(100% deg\)' "$line" "OK+DEG of a degraded probe"
	fi

	# matrix: short verdict in the row, long one under the table
	keys 2
	wait_screen 5 '^api +DOWN 1/2 \+3 unr '
	wait_screen 5 '^ api: down from 1 of 2 reachable \(3 unreachable\)'
	v=$(screen | grep -E '^api ' | sed -E 's/^api +//; s/  .*//')
	[ ${#v} -le 20 ] || fail "verdict '$v' is wider than 20"

	# detail: the 1h graph from the results, failures as x
	cmd 'detail web-01 api'
	wait_screen 3 'from each result'
	wait_screen 3 'recent errors'
	wait_screen 3 'fail +0\.01ms +connection refused'
	n=$(screen | grep -cE 'x$')
	[ "$n" -ge 3 ] || { screen >&2; fail "no failure column (x) in the graph"; }
	screen | grep -q 'fetching' && fail "the graph still says fetching"
	# an agent that died: since when, how old, and its last data
	cmd 'detail gone api'
	wait_screen 3 'agent gone unreachable since [0-9:]{8} \([^)]*\), last data from [0-9:]{8}'
	wait_screen 3 '^ state up since .*\(as last reported\)'
	wait_screen 3 'no graph: the agent does not answer'
	sleep 1.2
	screen | grep -q 'fetching' && fail "detail of a dead agent says fetching"
	# an agent never reached
	cmd 'detail dead api'
	wait_screen 3 'agent dead unreachable since .*last data from never'
	wait_screen 3 'no data from dead yet'

	# routes: the unreached agents' routes are unknown, not left out
	keys 4
	wait_screen 5 '^ +dead +\? +unknown +unknown '
	wait_screen 5 '^ +frozen +\? +unknown +unknown '
	wait_screen 5 '^ +web-01 +web-eu +active +ready +api '
	if [ "$w" -ge 132 ]; then
		wait_screen 3 'routes unknown \(agent unreachable: '
	fi
	keys Q
	wait_for 5 test -s "$T/tui.exit" || fail "the console did not quit"
	assert_eq "EXITED 0" "$(cat "$T/tui.exit")" "exit status"
}

pass 80 24 NO_COLOR=1
tmx capture-pane -e -p -t vt | grep -q $'\e\\[[0-9;]*3[1-6]m' &&
    fail "colour escapes under NO_COLOR"
pass 200 50

# --- the columns that stay, by width ------------------------------------
bg gone "$PY" "$VF" --port "$PG" --name gone --token "$TOKEN" --probes api=up
tui_start 80 24 -- -c "$T/v.conf"
wait_screen 10 '^web-02 +ok '
heading() {	# VIEW-KEY REGEX-OF-THE-HEADING
	keys "$1"
	wait_line 5 2 "$2"
}
for w in 80 100 132 200; do
	tmx resize-window -t vt -x "$w" -y 30
	heading 1 '^AGENT.* STATE .* UP +DEGRADED +DOWN .*URL / REASON'
	heading 3 '^AGENT.* PROBE .* STATE .* LAST .*ERROR / TARGET'
	heading 4 '^ +AGENT.* ROUTE .* STATE .* EFFECTIVE .*REASON'
	heading 2 '^LINK.* VERDICT +web-01 +web-02'
	[ "$(screen | sed -n 2p | wc -L)" -le "$w" ] || fail "heading wider than $w"
done
# at 200 nothing is dropped
heading 1 'PROBES .*DRAINED +LATENCY +SKEW +REFRESHED +URL'
heading 3 'TYPE .*SINCE .*AVG 1H +P95 1H +OK\+DEG 1H +CERT +ERROR'
heading 4 'EFFECTIVE +PROBE +POOL +SINCE +EXPIRES +ACTOR +REASON'
# at 80 the lowest priorities went first, the essential ones stayed
tmx resize-window -t vt -x 80 -y 24
heading 4 '^ +AGENT.* ROUTE .* STATE .* EFFECTIVE .*REASON'
screen | sed -n 2p | grep -q EXPIRES && fail "EXPIRES kept at 80 columns"
keys Q
wait_for 5 test -s "$T/tui.exit" || fail "the console did not quit"
[ -s "$T/tui.err" ] && fail "stderr of the console: $(head -5 "$T/tui.err")"
exit 0
