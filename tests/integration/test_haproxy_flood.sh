#!/bin/bash
# One address cannot starve the agent-check port: 600 idle connections
# from 127.0.0.5 that reconnect as soon as they are closed, while a real
# HAProxy (from 127.0.0.1) checks a route every 500 ms: every direct check
# is answered, and a drain reaches HAProxy within about one agent-inter.
# Then [haproxy] allow: a peer outside the blocks gets no answer at all.
# FLOOD_SECONDS sets how long the flood runs (the bench runs it longer).
. "$(dirname "$0")/lib.sh"
command -v haproxy >/dev/null || skip "haproxy is not installed"

api=$(free_port)
hap=$(free_port)
fe=$(free_port)
b1=$(free_port)
bg backend python3 -m http.server --bind 127.0.0.1 --directory "$T" "$b1"
TOK=$(new_token alice operator)
write_conf() {	# [ALLOW]
	agent_conf "$T/a.conf" "$T/data" "$api"
	cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[haproxy]
listen = 127.0.0.1:$hap
${1:+allow = $1}
[route "web-eu"]
EOC
}
write_conf
cat >"$T/haproxy.cfg" <<EOC
global
	stats socket $T/haproxy.sock level admin
defaults
	mode http
	timeout connect 1s
	timeout client 5s
	timeout server 5s
backend be
	server web-eu 127.0.0.1:$b1 check inter 500ms agent-check agent-port $hap agent-inter 500ms agent-send "web-eu\n"
EOC
wait_for 10 curl -sf "http://127.0.0.1:$b1/" || fail "backend did not start"
start_agent agent "$T/a.conf"
bg haproxy haproxy -f "$T/haproxy.cfg" -db
wait_for 10 test -S "$T/haproxy.sock" || fail "haproxy did not start"
expect_status() {	# STATUS SECONDS: waited ms in $waited
	local t0 got
	t0=$(date +%s%3N)
	while :; do
		got=$(haproxy_status "$T/haproxy.sock" web-eu)
		waited=$(( $(date +%s%3N) - t0 ))
		[ "$got" = "$1" ] && return 0
		[ "$waited" -ge $(( $2 * 1000 )) ] && fail "haproxy: expected $1, got '$got' after ${waited} ms"
		sleep 0.05
	done
}
expect_status UP 10

# the flood: N idle sockets from SRC, reopened as soon as one is closed
cat >"$T/flood.py" <<'EOP'
import selectors, socket, sys, time
src, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
sel = selectors.DefaultSelector()
opened = 0
def one():
    global opened
    s = socket.socket()
    s.setblocking(False)
    s.bind((src, 0))
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    sel.register(s, selectors.EVENT_READ)
    opened += 1
for _ in range(n):
    one()
end = time.time() + secs
while time.time() < end:
    for key, _ in sel.select(0.2):
        s = key.fileobj
        try:
            d = s.recv(100)
        except OSError:
            d = b""
        if not d:
            sel.unregister(s)
            s.close()
            one()
print(opened)
EOP
# check SRC: one agent-check as HAProxy sends it; the answer or "none"
check() {
	python3 - "$1" "$hap" <<'EOP'
import socket, sys
s = socket.socket()
s.settimeout(2)
s.bind((sys.argv[1], 0))
try:
    s.connect(("127.0.0.1", int(sys.argv[2])))
    s.sendall(b"web-eu\n")
    print(s.recv(100).decode().strip() or "none")
except OSError:
    print("none")
EOP
}

secs=${FLOOD_SECONDS:-8}
bg flood python3 "$T/flood.py" 127.0.0.5 "$hap" 600 "$secs"
sleep 1.5
ok=0
for i in $(seq 12); do
	[ "$(check 127.0.0.1)" = "up ready" ] && ok=$((ok + 1))
done
assert_eq 12 "$ok" "direct checks answered during the flood"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" \
    -d '{"reason":"under flood"}' "http://127.0.0.1:$api/v1/routes/web-eu/drain")
assert_eq 200 "$code" "drain during the flood"
expect_status DRAIN 3
echo "drain seen by haproxy after ${waited} ms during the flood (agent-inter 500 ms)"
[ "$waited" -le 1500 ] || fail "drain took ${waited} ms to reach haproxy during the flood"
wait "$PID_flood" 2>/dev/null
reopened=$(cat "$T/flood.log")
[ "$reopened" -gt 600 ] || fail "the flood was never cut back (opened $reopened)"
stop_agent agent

# allow: only the balancer's address is heard
write_conf "127.0.0.1/32 ::1"
start_agent agent "$T/a.conf"
assert_eq "up drain" "$(check 127.0.0.1)" "allowed address"
assert_eq none "$(check 127.0.0.5)" "address outside [haproxy] allow"
printf '[haproxy]\nallow = 10.0.0.0/33\n' >"$T/bad.conf"
"$VANTAGED" -n -f "$T/bad.conf" >"$T/bad.out" 2>&1 && fail "bad allow accepted"
assert_match "bad.conf:2.*address block" "$(cat "$T/bad.out")" "bad allow names file:line"
stop_agent agent
