#!/bin/bash
# Agents that misbehave (served by console_fake_agent.py): invalid JSON,
# a 10 MB body (with and without Content-Length), one byte per second, a
# hang, the wrong content type, wrong JSON types, a 500.  The console
# shows each agent's reason, counts none of them in the matrix verdicts,
# and keeps answering keys within 100 ms the whole time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools tmux

MODES="badjson huge hugestream slow hang ctype types http500"
args=()
for m in $MODES; do
	port=$(free_port)
	fake_agent "$m" "$port" --mode "$m"
	args+=(--agent "$m=http://127.0.0.1:$port")
done
good=$(free_port)
fake_agent good "$good" --probes api=up
args+=(--agent "good=http://127.0.0.1:$good")
printf '[console]\nrefresh = 1s\n' >"$T/v.conf"

tui_start 200 60 -- -c "$T/v.conf" "${args[@]}"
wait_screen 10 'good +ok'

# keys answered while the slow agents are in flight
lat=$(key_latency 5 '?' 'Keys: everywhere' x 'URL / REASON')
echo "key answers (ms): $lat"
for ms in $lat; do
	[ "$ms" -le 100 ] || fail "a key took $ms ms to be answered (limit 100; all: $lat)"
done

wait_screen 10 'badjson +error .*malformed JSON'
wait_screen 5 'huge +error .*response larger than 4 MiB'
wait_screen 5 'hugestream +error .*response larger than 4 MiB'
wait_screen 5 "ctype +error .*wrong content type 'text/html'"
wait_screen 5 "types +error .*'name' must be a string"
wait_screen 5 'http500 +error .*HTTP 500 internal: database is locked'
wait_screen 10 'slow +unreachable .*slow response'
wait_screen 10 'hang +unreachable .*no answer for 3 s'
wait_screen 5 '9 agents: 1 ok, 8 failing'

# and again, with every misbehaving fetch in its worst state
lat=$(key_latency 3 '?' 'Keys: everywhere' x 'URL / REASON')
echo "key answers (ms): $lat"
for ms in $lat; do
	[ "$ms" -le 100 ] || fail "a key took $ms ms to be answered (limit 100; all: $lat)"
done

# none of them is mistaken for a down target
keys ':matrix' Enter
wait_screen 5 '^api +ok 1/1 \+8 unr '
wait_screen 5 '^ api: ok from 1 of 1 reachable \(8 unreachable\)'
keys Q
wait_for 5 test -s "$T/tui.exit" || fail "the console did not quit"
assert_eq "EXITED 0" "$(cat "$T/tui.exit")" "exit status"
[ -s "$T/tui.err" ] && fail "stderr of the console: $(head -5 "$T/tui.err")"
exit 0
