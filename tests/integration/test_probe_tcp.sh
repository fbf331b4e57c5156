#!/bin/bash
# tcp probes against an open and a closed loopback port: rows stored with
# the right status, and the states follow fall/rise.
. "$(dirname "$0")/lib.sh"

open=$(free_port)
closed=$(free_port)
api=$(free_port)
tcp_listener listener "$open"

agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
[probe "open"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
fall = 2
rise = 2
[probe "closed"]
type = tcp
target = 127.0.0.1:$closed
interval = 100ms
fall = 2
rise = 1
[probe "byname"]
type = tcp
target = localhost:$open
interval = 100ms
EOC
start_agent agent "$T/a.conf"
wait_for 10 grep -q "probe closed: unknown -> down" "$T/agent.log" ||
    fail "closed port never went down"
wait_for 10 grep -q "probe open: unknown -> up" "$T/agent.log" ||
    fail "open port never went up"
wait_for 10 grep -q "probe byname: unknown -> up" "$T/agent.log" ||
    fail "localhost name never went up"
sleep 0.5
stop_agent agent

db="$T/data/vantage.db"
ok=$(sql "$db" "SELECT count(*) FROM result r JOIN probe p ON p.id=r.probe_id
    WHERE p.name='open' AND r.status=0")
[ "$ok" -ge 3 ] || fail "expected >= 3 ok results for 'open', got $ok"
bad=$(sql "$db" "SELECT count(*) FROM result r JOIN probe p ON p.id=r.probe_id
    WHERE p.name='open' AND r.status<>0")
assert_eq 0 "$bad" "failed results for the open port"
err=$(sql "$db" "SELECT error FROM result r JOIN probe p ON p.id=r.probe_id
    WHERE p.name='closed' ORDER BY t_ms DESC LIMIT 1")
assert_eq "connect: Connection refused" "$err" "error of the closed port"
st=$(sql "$db" "SELECT DISTINCT status FROM result r JOIN probe p ON
    p.id=r.probe_id WHERE p.name='closed'")
assert_eq 2 "$st" "status of the closed port"
lat=$(sql "$db" "SELECT min(latency_us) FROM result")
[ "$lat" -gt 0 ] || fail "latency_us not recorded: $lat"
grep -q "stopped:" "$T/agent.log" || fail "no orderly stop"
exit 0
