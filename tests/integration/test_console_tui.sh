#!/bin/bash
# The TUI against three real agents on loopback, driven through tmux and
# checked on the captured screen text:
#  - the fleet view shows every agent;
#  - the matrix: link "link" fails from one agent only (each agent probes
#    its own API port, h3 a closed one): "DOWN 1/3", and under the
#    table for the link under the cursor "down from 1 of 3";
#  - resize from 200x60 to 80x24 keeps it readable;
#  - a route drained with keystrokes (filter, mark, d, reason, confirm):
#    the agent's API then reports it draining by our operator, and the
#    audit view shows the row;
#  - an agent killed: unreachable within two refresh periods, while the UI
#    keeps answering keys;
#  - the status line names us as the agents know us (token name and
#    role), with a mark when one agent knows us by another name;
#  - NO_COLOR: no colour escapes; a C locale: ASCII only; quitting and
#    SIGTERM restore the terminal (tmux leaves the alternate screen).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools tmux jq curl

P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
CLOSED=$(free_port)
new_token alice operator
probes() {	# PORT-FOR-link
	printf '[probe "api"]\ntype = http\ntarget = http://127.0.0.1:%s/v1/health\ninterval = 1s\n' "$2"
	printf '[probe "link"]\ntype = tcp\ntarget = 127.0.0.1:%s\ninterval = 1s\nfall = 2\n' "$1"
}
real_agent h1 "$P1" "$(probes "$P1" "$P1")
[route \"web\"]
pool = front
[route \"web2\"]
pool = front
[pool \"front\"]
min_active = 1"
real_agent h2 "$P2" "$(probes "$P2" "$P2")"
real_agent h3 "$P3" "$(probes "$CLOSED" "$P3")"
console_conf "$T/v.conf" h1="$P1" h2="$P2" h3="$P3"

# --- fleet, matrix -----------------------------------------------------
tui_start 200 60 USER=tester -- -c "$T/v.conf"
wait_screen 10 'h1 +ok'
wait_screen 5 'h2 +ok'
wait_screen 5 'h3 +ok'
wait_screen 5 '3 agents: 3 ok, 0 failing'
# who the agents take us for (the token's name and role), then who we say
wait_screen 5 '0 failing [^ ]+ alice \(operator\) as tester@[^ ]+ [^ ]+ every 1s'
keys ':matrix' Enter
# the VERDICT column is short; the line under the table has the long
# form of the link under the cursor
wait_screen 15 '^link +DOWN 1/3 '
wait_screen 5 '^api +ok 3/3 '
wait_screen 5 '^ api: ok from 3 of 3 '
keys j
wait_screen 5 '^ link: down from 1 of 3 '
line=$(screen | grep -E '^link ')
assert_match 'up +up +DOWN' "$line" "matrix cells of link"

# colours are on by default (tmux reports them as SGR escapes)
tmx capture-pane -e -p -t vt | grep -q $'\e\\[[0-9;]*3[1-6]m' ||
    fail "no colour escapes without NO_COLOR"

# --- resize to 80x24 ---------------------------------------------------
tmx resize-window -t vt -x 80 -y 24
# (tmux reflows the old screen at once: wait for the console's redraw)
wait_line 5 23 '^ refreshed .* 3 agents: 3 ok, 0 failing [^ ]+ alice \(operator\)'
wait_line 5 1 '^ vantage .* matrix .*\?:help *$'
wait_screen 5 '^link +DOWN 1/3'
assert_eq 24 "$(screen | wc -l)" "rows at 80x24"
keys q
wait_screen 5 '^h3 +ok'
wait_screen 5 'REFRESHED|URL'

# --- drain through keystrokes ------------------------------------------
tmx resize-window -t vt -x 200 -y 60
keys ':routes' Enter
wait_screen 5 'h1 +web +active'
keys /
type_text 'web2'
keys Enter
wait_screen 5 'h1 +web2 +active'
screen | grep -Eq 'h1 +web +active' && fail "filter left 'web' shown"
keys Space d
wait_screen 5 'Drain 1 route'
type_text 'tui test deploy'
keys Tab
type_text '45m'
keys Enter
wait_screen 5 'drain 1 route on 1 agent, for 45m'
wait_screen 5 "applied per agent: each agent's routes all or none"
wait_screen 5 'h1 +pool front would keep 1 of 2 routes taking traffic \(now 2, min_active 1\)'
# Enter applies nothing: only y does
keys Enter
wait_screen 5 'press y to apply, Esc to cancel'
screen | grep -q 'drain 1 route on 1 agent' || fail "Enter left the confirmation"
keys y
wait_screen 10 'h1: +applied'
wait_screen 5 'h1 +web2 +applied: now draining'
st=$(curl -sf -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$P1/v1/routes" | jq -r '.routes[] |
    select(.name == "web2") | "\(.state) \(.actor) \(.operator) \(.reason)"')
assert_match "^draining alice tester@[^ ]+ tui test deploy$" "$st" \
    "the agent's view of the drained route"
keys x
wait_screen 5 'web2 +draining'
keys Escape ':audit' Enter
wait_screen 10 'h1 +[0-9]+ +alice +tester@[^ ]+ +drain +web2 +ok +.*tui test deploy'
wait_screen 10 'chains: 3 ok'

# a second drain would break the pool: the confirmation says so, and the
# refusal is shown in the agent's words
keys ':routes' Enter
wait_screen 5 'h1 +web +active'
keys /
type_text 'h1'
keys Enter
wait_screen 5 'h1 +web2 +draining'
keys g Space d
type_text 'one too many'
keys Enter
wait_screen 5 'pool front would keep 0 of 2 routes taking traffic .*REFUSED \(409\) unless forced'
keys y
wait_screen 10 'h1: +not applied \(refused: HTTP 409 pool_guard'
wait_screen 5 'h1 +web +not applied'
keys x

# --- a dead agent, while keys keep working ------------------------------
keys ':fleet' Enter
wait_screen 5 'h2 +ok'
t0=$(now_ms)
{ kill -KILL "$PID_h2" && wait "$PID_h2"; } 2>/dev/null
keys '?'
wait_screen 2 'Keys: everywhere'
answered=$(( $(now_ms) - t0 ))
keys x
wait_screen 5 'h2 +unreachable'
took=$(( $(now_ms) - t0 ))
[ "$took" -le 2500 ] || fail "h2 unreachable after $took ms (refresh 1s)"
[ "$answered" -le 1000 ] || fail "help key answered after $answered ms"
wait_screen 5 '1 failing'
keys ':matrix' Enter
wait_screen 5 '^link +DOWN 1/2 \+1 unr '
keys j
wait_screen 5 '^ link: down from 1 of 2 reachable \(1 unreachable\)'
keys Q
wait_for 5 test -s "$T/tui.exit" || fail "the console did not quit on Q"
assert_eq "EXITED 0" "$(cat "$T/tui.exit")" "exit status after Q"
assert_eq 0 "$(tmx display -p -t vt '#{alternate_on}')" \
    "alternate screen after Q"
tmx kill-server

# --- NO_COLOR and a C locale (ASCII), then SIGTERM ----------------------
rm -f "$T/tui.exit"
# a fourth agent knows us by another name: the first agent's is shown,
# marked
P4=$(free_port)
fake_agent h4 "$P4" --caller bob
console_conf "$T/v4.conf" h1="$P1" h2="$P2" h3="$P3" h4="$P4"
tui_start 100 30 NO_COLOR=1 LC_ALL=C -- -c "$T/v4.conf"
wait_screen 10 'h1 +ok'
wait_screen 5 'h4 +ok'
wait_line 5 29 ' alice\+ \(operator\)'
tmx capture-pane -e -p -t vt | grep -q $'\e\\[[0-9;]*3[0-7]m' &&
    fail "colour escapes under NO_COLOR"
wait_screen 5 '^ vantage \| fleet '
screen | LC_ALL=C grep -q $'\xe2' && fail "UTF-8 glyphs in a C locale"
wait_screen 5 'h2 +unreachable'
pane=$(tmx display -p -t vt '#{pane_pid}')
cpid=$(pgrep -P "$pane" | head -1)
[ -n "$cpid" ] || fail "no console process under the pane"
kill -TERM "$cpid"
wait_for 5 test -s "$T/tui.exit" || fail "the console ignored SIGTERM"
assert_eq "EXITED 0" "$(cat "$T/tui.exit")" "exit status after SIGTERM"
assert_eq 0 "$(tmx display -p -t vt '#{alternate_on}')" \
    "alternate screen after SIGTERM"
[ -s "$T/tui.err" ] && fail "stderr of the console: $(head -5 "$T/tui.err")"
exit 0
