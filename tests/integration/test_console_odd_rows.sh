#!/bin/bash
# One odd row never hides the others, and remote text never reaches the
# terminal raw.  A fake agent (--mode oddrows) keeps every envelope right
# but serves an audit page with a 300-byte target between good rows and a
# detail holding U+202E, U+009B and ESC, a probe whose latency is a string
# among good probes, and routes with an unknown state and a repeated name.
#  - vantage audit, probes, routes (plain and --json): the good rows, the
#    odd ones marked ("! malformed row: ..." or "malformed" in JSON), a
#    warning on stderr, exit 1; no raw ESC, C1 or bidi byte in the output;
#  - the TUI at 80x24 and 200x50, with and without NO_COLOR: the audit
#    view shows the rows after the odd one and the odd one marked, the
#    probes view the good probes; the controls appear as escapes only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools tmux jq

P=$(free_port)
fake_agent odd "$P" --mode oddrows --probes api=up,db=down \
    --routes web-eu:web,web-us:web --pool web:1
AG=(--agent "odd=http://127.0.0.1:$P")

# raw_controls FILE: fails when FILE holds ESC, U+009B or U+202E as bytes.
raw_controls() {
	if LC_ALL=C grep -q $'\x1b' "$1" || LC_ALL=C grep -q $'\xc2\x9b' "$1" ||
	    LC_ALL=C grep -q $'\xe2\x80\xae' "$1"; then
		echo "--- $1:" >&2
		od -c "$1" | grep -E '033|302 233|342 200 256' | head -5 >&2
		fail "$2: expected no raw ESC, C1 or bidi byte, got some"
	fi
}

# cli CMD ARGS...: runs vantage, keeps stdout, stderr and the exit status.
cli() {
	local out=$T/$1${2:+-json}
	"$VANTAGE" "${AG[@]}" "$@" >"$out.out" 2>"$out.err"
	echo $? >"$out.rc"
	raw_controls "$out.out" "vantage $*: stdout"
	raw_controls "$out.err" "vantage $*: stderr"
}

# --- CLI, plain -----------------------------------------------------------
cli audit
assert_eq 1 "$(cat "$T/audit.rc")" "vantage audit exit status with an odd row"
for t in later-2 later-1 evil-target before-odd; do
	grep -q " $t " "$T/audit.out" ||
	    fail "vantage audit: expected the row of $t, got: $(cat "$T/audit.out")"
done
assert_match "odd +2 .*! malformed row: 'target' is longer than 256 bytes" \
    "$(cat "$T/audit.out")" "vantage audit: the odd row, marked"
assert_match 'evil \\u\{202e\}\\x9b\\x1b\[31m end' "$(cat "$T/audit.out")" \
    "vantage audit: the controls, escaped"
assert_match "vantage: odd: audit row 2: malformed row: 'target' is longer" \
    "$(cat "$T/audit.err")" "vantage audit: the warning"

cli probes
assert_eq 1 "$(cat "$T/probes.rc")" "vantage probes exit status"
assert_match 'odd +api +http +up' "$(cat "$T/probes.out")" "probes: api"
assert_match 'odd +db +http +down' "$(cat "$T/probes.out")" "probes: db"
assert_match "odd +odd-probe .*! malformed row: last: 'latency_us' must be a number" \
    "$(cat "$T/probes.out")" "probes: the odd probe, marked"
assert_match "vantage: odd: probes\[1\]: malformed row" "$(cat "$T/probes.err")" \
    "probes: the warning"

cli routes
assert_eq 1 "$(cat "$T/routes.rc")" "vantage routes exit status"
assert_match 'odd +web-eu +active +ready +web' "$(cat "$T/routes.out")" "routes: web-eu"
assert_match 'odd +web-us +active +ready +web' "$(cat "$T/routes.out")" "routes: web-us"
assert_match "odd +odd-route .*! malformed row: 'effective' has an unknown value" \
    "$(cat "$T/routes.out")" "routes: the odd route, marked"
assert_match "odd +web-eu .*! malformed row: repeats the name 'web-eu'" \
    "$(cat "$T/routes.out")" "routes: the repeated name, marked"
n=$(grep -c 'odd  *web-eu  *active' "$T/routes.out")
assert_eq 1 "$n" "routes: real rows named web-eu"

# --- CLI, --json ----------------------------------------------------------
cli audit --json
assert_eq 1 "$(cat "$T/audit-json.rc")" "vantage audit --json exit status"
assert_eq "5 4 3 1" "$(jq -r '[.audit[] | select(.malformed == null) | .id] | join(" ")' \
    "$T/audit-json.out")" "audit --json: the good rows"
assert_eq "2:'target' is longer than 256 bytes" \
    "$(jq -r '.audit[] | select(.malformed != null) | "\(.id):\(.malformed)"' \
    "$T/audit-json.out")" "audit --json: the odd row"
assert_eq "$(printf 'evil \u202e\u009b\033[31m end')" \
    "$(jq -r '.audit[] | select(.id == 3) | .detail' "$T/audit-json.out")" \
    "audit --json: the detail, the same string to a JSON reader"
cli probes --json
assert_eq "api db" "$(jq -r '[.probes[] | select(.malformed == null) | .name] | join(" ")' \
    "$T/probes-json.out")" "probes --json: the good probes"
assert_eq "odd-probe" "$(jq -r '.probes[] | select(.malformed != null) | .name' \
    "$T/probes-json.out")" "probes --json: the odd probe"
cli routes --json
assert_eq "web-eu web-us" "$(jq -r '[.routes[] | select(.malformed == null) | .name] | join(" ")' \
    "$T/routes-json.out")" "routes --json: the good routes"
assert_eq "odd-route web-eu" "$(jq -r '[.routes[] | select(.malformed != null) | .name] | join(" ")' \
    "$T/routes-json.out")" "routes --json: the odd routes"

# --- TUI ------------------------------------------------------------------
tui_round() {	# W H [ENV=V...]
	local w=$1 h=$2
	shift 2
	tui_start "$w" "$h" "$@" -- "${AG[@]}"
	wait_screen 10 '1 agents?: 1 ok'
	keys ':audit' Enter
	wait_screen 10 'later-2'
	wait_screen 5 'later-1'
	wait_screen 5 'odd +(2 +)?! malformed row'
	# the whole row, whatever the width: the detail with its controls
	keys '/' ; type_text 'evil'; keys Enter
	wait_screen 5 'evil-target'
	keys Enter
	wait_screen 5 'detail +evil \\u\{202e\}\\x9b\\x1b\[31m end'
	tmx capture-pane -p -e -t vt >"$T/tui-audit-$w.txt"
	# the escapes of the screen itself are tmux's; the agent's are not
	LC_ALL=C grep -q $'\xc2\x9b' "$T/tui-audit-$w.txt" &&
	    fail "TUI ${w}x$h: expected no raw U+009B on the screen, got one"
	LC_ALL=C grep -q $'\xe2\x80\xae' "$T/tui-audit-$w.txt" &&
	    fail "TUI ${w}x$h: expected no raw U+202E on the screen, got one"
	LC_ALL=C grep -q $'\x1b\[31m end' "$T/tui-audit-$w.txt" &&
	    fail "TUI ${w}x$h: expected the agent's ESC escaped, got it raw"
	keys x
	keys Escape
	keys ':probes' Enter
	wait_screen 5 'odd +api '
	wait_screen 5 'odd +db '
	wait_screen 5 'odd +odd-probe +! malformed'
	keys Q
	wait_for 5 test -s "$T/tui.exit" || fail "the console did not quit"
	assert_eq "EXITED 0" "$(cat "$T/tui.exit")" "TUI ${w}x$h exit status"
	tmx kill-server 2>/dev/null
	rm -f "$T/tui.exit"
}
tui_round 200 50
tui_round 80 24
tui_round 200 50 NO_COLOR=1
tui_round 80 24 NO_COLOR=1
exit 0
