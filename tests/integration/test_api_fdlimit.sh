#!/bin/bash
# With a low open-file limit, API connections cannot starve the probes:
# under RLIMIT_NOFILE 256 the agent keeps a reserve for its probes and
# caps the API listener below it, so 300 API connections from 10
# addresses leave every tcp probe UP and nothing logs "Too many open
# files".
. "$(dirname "$0")/lib.sh"

command -v prlimit >/dev/null || skip "prlimit (util-linux) not installed"
port=$(free_port)
ptcp=$(free_port)
tcp_listener listener "$ptcp"
agent_conf "$T/a.conf" "$T/data" "$port"
TOKEN=$(new_token vic viewer)
printf 'tokens = %s\nrate = 1000/s burst 1000\n' "$T/tokens" >>"$T/a.conf"
for i in $(seq 1 10); do
	printf '[probe "t%d"]\ntype = tcp\ntarget = 127.0.0.1:%s\ninterval = 200ms\ntimeout = 150ms\nfall = 1\n' \
	    "$i" "$ptcp" >>"$T/a.conf"
done
bg agent prlimit --nofile=256:256 "$VANTAGED" -d -v -f "$T/a.conf"
wait_for 10 grep -q "ready" "$T/agent.log" || fail "agent did not become ready"
grep -q "file descriptors: limit 256" "$T/agent.log" ||
    fail "no fd budget line for limit 256 at -v"

probes_up() {
	curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/v1/status" |
	    python3 -c '
import json, sys
d = json.load(sys.stdin)
st = [p["state"] for p in d["probes"]]
print(sum(s == "up" for s in st), len(st))'
}
wait_for 10 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$port/v1/status | grep -o '\"state\":\"up\"' | wc -l)\" -ge 10 ]" ||
    fail "probes not UP before the flood: $(probes_up)"

# 300 connections that send half a request and hold on, for 4 s
python3 - "$port" >"$T/flood.out" <<'EOP'
import socket, sys, time
port, socks = int(sys.argv[1]), []
for i in range(300):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i % 10), 0))
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /v1/health HTTP/1.1\r\n")
        socks.append(s)
    except OSError:
        pass
time.sleep(4)
print(len(socks))
EOP
read -r up total <<<"$(probes_up)"
assert_eq "10 10" "$up $total" "tcp probes UP after 300 API connections"
if grep -qi "too many open files" "$T/agent.log" "$T/data"/*.log 2>/dev/null; then
	fail "'Too many open files' logged: $(grep -i -m1 'too many open files' "$T/agent.log")"
fi
body=$(curl -s -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$port/v1/probes/t1/results?limit=1000")
[[ "$body" =~ [Tt]oo\ many\ open\ files ]] &&
    fail "a probe result says 'Too many open files'"
stop_agent agent
