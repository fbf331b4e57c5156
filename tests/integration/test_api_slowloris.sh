#!/bin/bash
# Slow clients cannot take the API down: a connection that has not sent
# its request headers within [api] header_timeout is closed however it
# drips, one address holds at most 1/32 of a listener, and during 1,280
# dripping connections from 20 addresses every real request (status and
# the token-free route health) is answered.  The long version with the
# figures is tests/bench/bench_slowloris.sh.
. "$(dirname "$0")/lib.sh"

SECS=${SLOWLORIS_SECONDS:-8}
port=$(free_port)
agent_conf "$T/a.conf" "$T/data" "$port"
TOKEN=$(new_token vic viewer)
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
header_timeout = 2s
rate = 1000/s burst 1000
[route "web"]
EOC
start_agent agent "$T/a.conf" -v

# one dripping connection is closed after header_timeout, not later
took=$(python3 - "$port" <<'EOP'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.5)
t0 = time.time()
s.sendall(b"GET /v1/health HTTP/1.1\r\n")
while time.time() - t0 < 10:
    try:
        if s.recv(100) == b"":
            break
    except socket.timeout:
        pass
    try:
        s.sendall(b"X-Drip: 1\r\n")
    except OSError:
        break
print("%.1f" % (time.time() - t0))
EOP
)
awk -v t="$took" 'BEGIN { exit !(t >= 1.5 && t <= 3.5) }' ||
    fail "a connection dripping headers: expected closed after ~2 s, took $took s"

out=$(python3 "$TOP/tests/integration/slowloris.py" "$port" "$SECS" 1280 20 1 "$TOKEN")
read -r _ sent _ answered _ p50 _ p99 _ max _ slow_open _ slow_closed <<<"$out"
[ "$sent" -gt 20 ] || fail "too few real requests sent: $out"
assert_eq "$sent" "$answered" "real requests answered during the flood ($out)"
awk -v p="$p99" 'BEGIN { exit !(p <= 500) }' ||
    fail "real requests p99 $p99 ms during the flood, expected <= 500 ($out)"
[ "$slow_open" -le $((20 * 31)) ] ||
    fail "slow connections held: $slow_open, expected at most 20 x 31 ($out)"
grep -q "closed .* connections without request headers" "$T/agent.log" ||
    fail "no log line for connections closed for slow headers"
stop_agent agent
