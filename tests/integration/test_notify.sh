#!/bin/bash
# systemd's notify protocol, as a Type=notify unit with WatchdogSec= sees
# it: READY=1 once probing, STATUS= with probe counts, WATCHDOG=1 pings
# from the loop, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 on
# SIGTERM; and the stop itself is quick and flushes every result.
. "$(dirname "$0")/lib.sh"

api=$(free_port)
open=$(free_port)
tcp_listener listener "$open"
agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
[probe "up"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
rise = 1
EOC

# a notify socket that logs every datagram, one line per field
cat >"$T/notify.py" <<'EOP'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1)
while True:
    for field in s.recv(4096).decode().split("\n"):
        if field:
            out.write(field + "\n")
EOP
bg notifier python3 "$T/notify.py" "$T/notify.sock" "$T/notify.txt"
wait_for 5 test -S "$T/notify.sock" || fail "notify socket not created"

NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 \
    bg agent "$VANTAGED" -d -f "$T/a.conf"
wait_for 10 grep -qx "READY=1" "$T/notify.txt" || fail "no READY=1"
wait_for 10 grep -q "^STATUS=1 probes: 1 up, 0 degraded, 0 down, 0 unknown" \
    "$T/notify.txt" || fail "no STATUS= with the probe up ($(grep STATUS "$T/notify.txt" | tail -1))"
sleep 1
n=$(grep -cx "WATCHDOG=1" "$T/notify.txt")
[ "$n" -ge 3 ] || fail "expected WATCHDOG=1 every 200 ms, got $n in over a second"

kill -HUP "$PID_agent"
wait_for 10 grep -qx "RELOADING=1" "$T/notify.txt" || fail "no RELOADING=1 on SIGHUP"
ready_twice() { [ "$(grep -cx "READY=1" "$T/notify.txt")" -ge 2 ]; }
wait_for 10 ready_twice || fail "no READY=1 after the reload"

before=$(date +%s%N)
kill -TERM "$PID_agent"
rc=0
wait "$PID_agent" || rc=$?
ms=$(( ($(date +%s%N) - before) / 1000000 ))
assert_eq 0 "$rc" "exit status after SIGTERM"
grep -qx "STOPPING=1" "$T/notify.txt" || fail "no STOPPING=1 on SIGTERM"
# generous for sanitizer builds on a busy machine; the goal is < 1 s
[ "$ms" -lt 3000 ] || fail "SIGTERM took ${ms} ms to exit"
# every result the engine finished was committed before exit
runs=$(sed -n 's/.*stopped: \([0-9]*\) probe runs.*/\1/p' "$T/agent.log")
rows=$(sql "$T/data/vantage.db" "SELECT count(*) FROM result")
[ "$rows" -ge $((runs - 1)) ] || fail "stored $rows results of $runs runs"
exit 0
