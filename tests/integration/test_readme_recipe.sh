#!/bin/bash
# README.md's "three agents and a console on one machine": its commands
# are taken from between the recipe markers and run as written, in a
# private directory, with the binaries under test first on PATH; only
# the port prefix 779 is replaced by free ports.  The last command (the
# console) runs in tmux and must show the three agents, all ok.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools jq tmux

# the fenced block between the markers
sed -n '/<!-- recipe:begin -->/,/<!-- recipe:end -->/p' "$TOP/README.md" |
    sed '1,/^```sh$/d; /^```$/,$d' >"$T/recipe.sh"
[ -s "$T/recipe.sh" ] || fail "no recipe between the markers in README.md"
grep -q '779' "$T/recipe.sh" || fail "the recipe's ports are not 779N"

# a prefix whose ports 1..3 are all free
for try in $(seq 1 50); do
	PFX=$(( (RANDOM % 5000) + 2000 ))
	python3 -c "
import socket, sys
for n in (1, 2, 3):
    s = socket.socket(); s.bind(('127.0.0.1', int('$PFX%d' % n))); s.close()
" 2>/dev/null && break
	PFX=""
done
[ -n "$PFX" ] || skip "no three free ports"
sed "s/779/$PFX/g" "$T/recipe.sh" >"$T/run.sh"
# all but the last command (the console) in this shell, so that the
# agents it starts in the background are this test's to stop
last=$(grep . "$T/run.sh" | tail -n 1)
[ "$last" = "vantage -c vt/console.conf" ] ||
    fail "the recipe does not end by opening the console: '$last'"
head -n "$(( $(grep -n . "$T/run.sh" | tail -n 1 | cut -d: -f1) - 1 ))" \
    "$T/run.sh" >"$T/setup.sh"
mkdir "$T/work"
BIN=$T/bin
mkdir "$BIN"
ln -s "$VANTAGED" "$BIN/vantaged"
ln -s "$VANTAGE" "$BIN/vantage"
(
	cd "$T/work" || exit 1
	PATH=$BIN:$PATH
	set -e
	. "$T/setup.sh"
	jobs -p >"$T/agent.pids"
	wait
) >"$T/setup.out" 2>"$T/setup.err" &
_bg_pids+=($!)
wait_for 15 sh -c "[ \$(wc -l <'$T/agent.pids' 2>/dev/null || echo 0) -ge 3 ]" ||
    fail "the recipe did not start three agents: $(cat "$T/setup.err")"
for p in $(cat "$T/agent.pids"); do
	_bg_pids+=("$p")
done
W=$T/work/vt
assert_eq 600 "$(stat -c %a "$W/tokens")" "tokens file mode"
assert_eq 600 "$(stat -c %a "$W/console.conf")" "console.conf mode"
assert_eq 3 "$(grep -c '^\[agent "host[123]"\]' "$W/console.conf")" \
    "three agents in console.conf: $(cat "$W/console.conf")"
for i in 1 2 3; do
	wait_for 10 grep -q ready "$W/host$i.log" ||
	    fail "agent host$i not ready: $(cat "$W/host$i.log")"
done

# what the console shows, as the operator opens it
tmx kill-server 2>/dev/null
tmx new-session -d -s vt -x 120 -y 30 "cd $T/work && env PATH=$BIN:\$PATH \
    LANG=C.UTF-8 LC_ALL=C.UTF-8 $last 2>$T/tui.err; echo EXITED \$? \
    >$T/tui.exit; sleep 600" || fail "tmux new-session failed"
wait_screen 20 "host1"
wait_screen 20 "host3"
for i in 1 2 3; do
	wait_screen 20 "host$i .*ok"
done
keys q
wait_for 5 test -s "$T/tui.exit" || fail "q did not quit the console"
assert_eq "EXITED 0" "$(cat "$T/tui.exit")" "console exit"

# and the CLI on the same config: every agent ok, every probe up
cd "$T/work" || fail "cd"
wait_for 15 sh -c "'$VANTAGE' -c vt/console.conf probes --json | jq -e \
    '[.probes[] | select(.state == \"up\")] | length == 3' >/dev/null" ||
    fail "the three probes never became up: $("$VANTAGE" -c vt/console.conf \
    probes 2>&1)"
"$VANTAGE" -c vt/console.conf status --json >"$T/st.json" ||
    fail "status: $(cat "$T/st.json")"
assert_eq "host1:ok host2:ok host3:ok" "$(jq -r '[.agents[] |
    "\(.name):\(.state)"] | join(" ")' "$T/st.json")" "agents"
exit 0
