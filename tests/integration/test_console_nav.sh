#!/bin/bash
# Moving around the console as a k9s user would, and a drain that cannot
# be fat-fingered, read from the screen at 80x24 with NO_COLOR and at
# 200x50 in colour:
#  - one hotkey per view (1-5), named in the header and in `?`; the help
#    wraps (nothing cut) and scrolls at 80x24;
#  - Tab completes view names, agent names and an agent's probe names;
#    `:probes bogus` says "no agent bogus";
#  - Enter on a matrix cell opens that probe as that agent sees it; Enter
#    on a route opens the probe it follows (PROBE column);
#  - `/` filters the audit view by action, route and actor;
#  - a status message goes at the next key, or by itself after 4 s;
#  - the drain form starts empty every time; the preview names the
#    route, its agent, its pool and what the pool keeps; Enter there only
#    says "press y to apply, Esc to cancel" (nothing changes on the
#    agent); y applies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools tmux curl jq

VF="$TOP/tests/integration/console_fake_views.py"
TOKEN=nav-token-$$
P1=$(free_port)
P2=$(free_port)
bg web-01 "$PY" "$VF" --port "$P1" --name web-01 --token "$TOKEN" \
    --probes api=up,db=up --routes web-eu:web,web-us:web --pool web:1 \
    --route-probes web-eu=api --audit-rows 3
bg web-02 "$PY" "$VF" --port "$P2" --name web-02 --token "$TOKEN" \
    --probes api=down,db=up --routes web-ap:web
for n in web-01 web-02; do
	wait_for 10 grep -q '^ready' "$T/$n.log" || fail "fake $n did not start"
done
console_conf "$T/v.conf" web-01="$P1" web-02="$P2"

api() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P1$1" "${@:2}"; }
route_state() { api /v1/routes | jq -r ".routes[] | select(.name == \"$1\") | .state"; }
prompt_is() { wait_line 3 "$H" "$1"; }

pass() {
	W=$1 H=$2
	shift 2
	tui_start "$W" "$H" "$@" -- -c "$T/v.conf"
	wait_screen 10 '^web-02 +ok '
	# hotkeys in the header, each opening its view
	wait_line 3 1 '1:fleet 2:matrix 3:probes 4:routes 5:audit \?:help'
	keys 3
	wait_line 3 1 'fleet > probes '
	keys 5
	wait_screen 3 'chains: 2 ok'
	keys 2
	wait_line 3 1 'fleet > matrix '
	keys 1
	wait_line 3 1 '^ vantage .* fleet  '

	# the help: the views with their hotkeys, wrapped, scrolling
	keys '?'
	wait_screen 3 'Keys: fleet'
	wait_screen 3 'lines 1-[0-9]+ of [0-9]+'
	screen | sed -n "2,$((H - 3))p" | grep -q '…' && fail "help text cut at ${W}x$H"
	keys G
	wait_screen 3 '\(end\)'
	wait_screen 3 '2  :matrix +links x agents'
	wait_screen 3 ':quit +leave vantage'
	keys x
	wait_screen 3 '^web-01 +ok '

	# Tab completion: view names, agents, an agent's probes
	keys ':'
	type_text 'pro'
	keys Tab
	prompt_is '^:probes _'
	type_text 'we'
	keys Tab
	prompt_is '^:probes web-0_ +web-01 web-02'
	type_text '1'
	keys Tab
	prompt_is '^:probes web-01 _'
	keys Enter
	wait_line 3 1 'probes @web-01'
	keys ':'
	type_text 'detail web-01 '
	keys Tab
	prompt_is '^:detail web-01 _ +api db'
	type_text 'd'
	keys Tab
	prompt_is '^:detail web-01 db _'
	keys Enter
	wait_line 3 1 'db@web-01'
	keys ':'
	type_text 'probes bogus'
	keys Enter
	prompt_is '^no agent bogus'
	wait_line 3 1 'db@web-01'	# nothing opened

	# matrix: the cell cursor opens the probe as one agent sees it
	keys 2
	wait_screen 3 '^ api: down from 1 of 2 .*Right: pick an agent'
	keys l
	wait_screen 3 '^ api: .* web-01: up \(Enter opens it\)'
	keys l
	wait_screen 3 '^ api: .* web-02: down \(Enter opens it\)'
	keys Enter
	wait_line 3 1 'matrix > api@web-02'
	wait_screen 3 '^ state down '
	keys Escape
	keys h h
	wait_screen 3 'Right: pick an agent'
	keys Enter
	wait_line 3 1 'matrix > probes api'

	# routes: Enter opens the probe the route follows
	keys 4
	wait_screen 3 '^ +web-01 +web-eu +active +ready +api '
	keys Enter
	wait_line 3 1 'routes > api@web-01'
	keys Escape
	wait_line 3 1 'fleet > routes '

	# a message goes at the next key
	keys r
	prompt_is 'polling 2 agents now'
	keys j
	wait_line 3 "$H" '<space> mark'

	# the drain: an empty form every time, a preview, only y applies
	keys g ' ' d
	wait_screen 3 'Drain 1 route'
	wait_screen 3 '^ Reason:  _ *$'
	type_text 'the previous reason'
	keys Escape
	keys d
	wait_screen 3 'Drain 1 route'
	wait_screen 3 '^ Reason:  _ *$'
	type_text 'deploy 42'
	keys Enter
	wait_screen 3 'drain 1 route on 1 agent, reason "deploy 42"'
	wait_screen 3 '^  web-01 +web-eu +web +active → draining'
	wait_screen 3 '^  web-01 +pool web would keep 1 of 2 routes taking traffic'
	keys Enter
	prompt_is 'press y to apply, Esc to cancel'
	sleep 0.5
	assert_eq active "$(route_state web-eu)" "web-eu after Enter on the preview"
	keys y
	wait_screen 5 'web-01: +applied'
	assert_eq draining "$(route_state web-eu)" "web-eu after y"
	keys x
	api /v1/routes/web-eu/undrain -X POST -d '{"reason":"back"}' >/dev/null

	# the audit view filters by action, route and actor
	keys 5
	wait_screen 5 ' undrain +web-eu '
	keys /
	type_text 'undrain'
	keys Enter
	wait_screen 3 ' undrain +web-eu '
	screen | grep -qE ' drain +r[0-9] ' && fail "filter undrain shows a drain row"
	keys Escape /
	type_text 'r2'
	keys Enter
	wait_screen 3 ' drain +r2 '
	screen | grep -qE ' (r1|r3|web-eu) ' && fail "filter r2 shows other routes"
	keys Escape /
	type_text 'somebody-else'
	keys Enter
	wait_screen 3 'no row matches the filter'
	keys Escape /
	type_text 'tester'
	keys Enter
	wait_screen 3 ' drain +r1 '
	keys Escape
	if [ "$*" = TIMER=1 ]; then
		# a message goes by itself after a few seconds
		keys r
		prompt_is 'polling 2 agents now'
		sleep 4.5
		screen | sed -n "${H}p" | grep -q 'polling' &&
		    fail "the message stayed past 4 s"
	fi
	keys Q
	wait_for 5 test -s "$T/tui.exit" || fail "the console did not quit"
	assert_eq "EXITED 0" "$(cat "$T/tui.exit")" "exit status"
	[ -s "$T/tui.err" ] && fail "stderr of the console: $(head -5 "$T/tui.err")"
	return 0
}

pass 80 24 NO_COLOR=1
tmx capture-pane -e -p -t vt | grep -q $'\e\\[[0-9;]*3[1-6]m' &&
    fail "colour escapes under NO_COLOR"
pass 200 50 TIMER=1
exit 0
