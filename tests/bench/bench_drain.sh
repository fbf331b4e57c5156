#!/bin/bash
# Figure: time from a drain request's reply to HAProxy showing the server
# as DRAIN on its stats socket, against agent-inter (the goal: within one
# agent-inter, since HAProxy only learns at its next agent check).
# Runs a real HAProxy and vantaged on loopback; prints one line per
# agent-inter and exits non-zero only if something does not work.
#   DRAINS=8 AGENT_INTERS="500 2000" bash tests/bench/bench_drain.sh
. "$(dirname "$0")/../integration/lib.sh"
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH
command -v haproxy >/dev/null || skip "haproxy is not installed"

DRAINS=${DRAINS:-8}
AGENT_INTERS=${AGENT_INTERS:-"500 2000"}

api=$(free_port)
hap=$(free_port)
fe=$(free_port)
b1=$(free_port)
bg backend python3 -m http.server --bind 127.0.0.1 --directory "$T" "$b1"

out=$("$VANTAGED" token bench operator) || fail "vantaged token failed"
TOK=$(echo "$out" | sed -n 's/^token: //p')
echo "$out" | sed -n 's/^tokens file line: //p' >"$T/tokens"
chmod 600 "$T/tokens"
agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[haproxy]
listen = 127.0.0.1:$hap
[route "web-eu"]
EOC
start_agent agent "$T/a.conf"

cat >"$T/measure.py" <<'EOP'
import csv, json, socket, statistics, sys, time, urllib.request
sock, api, tok, n, inter = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

def status():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(b"show stat\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    for r in csv.DictReader(data.decode().lstrip("# ").splitlines()):
        if r["svname"] == "web-eu":
            return r["status"].split()[0]
    return "?"

def post(what, body):
    req = urllib.request.Request(api + "/v1/routes/web-eu/" + what,
        data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": "Bearer " + tok})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200, r.status

def wait(want, limit):
    t0 = time.monotonic()
    while status() != want:
        if time.monotonic() - t0 > limit:
            raise SystemExit("HAProxy did not show %s within %.1fs" % (want, limit))
        time.sleep(0.002)
    return time.monotonic() - t0

wait("UP", 10)
lat = []
for i in range(n):
    post("drain", {"reason": "bench"})
    lat.append(wait("DRAIN", 3 * inter / 1000) * 1000)
    post("undrain", {"reason": "bench"})
    wait("UP", 3 * inter / 1000)
    # start the next drain at a random point of HAProxy's check cycle
    time.sleep((i * 0.37 % 1) * inter / 1000)
lat.sort()
# the stats socket is polled every ~3 ms: that much is measurement
within = sum(1 for x in lat if x <= inter + 5)
print("drain -> HAProxy DRAIN, agent-inter %5d ms: min %5.0f  median %5.0f  "
      "max %5.0f ms (%.2f agent-inter); %d/%d within one agent-inter "
      "(+5 ms polling)"
      % (inter, lat[0], statistics.median(lat), lat[-1], lat[-1] / inter,
         within, len(lat)))
sys.exit(0 if within == len(lat) else 1)
EOP

rc=0
for inter in $AGENT_INTERS; do
	cat >"$T/haproxy.cfg" <<EOC
global
	stats socket $T/haproxy.sock level admin
defaults
	mode http
	timeout connect 1s
	timeout client 5s
	timeout server 5s
frontend fe
	bind 127.0.0.1:$fe
	default_backend be
backend be
	server web-eu 127.0.0.1:$b1 check inter 1s agent-check agent-port $hap agent-inter ${inter}ms agent-send "web-eu\n"
EOC
	rm -f "$T/haproxy.sock"
	bg "haproxy-$inter" haproxy -f "$T/haproxy.cfg" -db
	wait_for 10 test -S "$T/haproxy.sock" || fail "haproxy did not start"
	python3 "$T/measure.py" "$T/haproxy.sock" "http://127.0.0.1:$api" "$TOK" \
	    "$DRAINS" "$inter" || rc=1
	pidvar="PID_haproxy_$inter"
	kill "${!pidvar}"
	wait "${!pidvar}" 2>/dev/null
done
stop_agent agent
exit $rc
