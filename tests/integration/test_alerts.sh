#!/bin/bash
# Webhook alerts through the durable outbox: a probe goes DOWN, the
# receiver fails the first two POSTs (500), the agent is restarted between
# attempts, and the alert still arrives, accepted exactly once, with the
# same Idempotency-Key on every attempt.  The probe is back by the restart:
# the new agent finds it UP against the stored DOWN and alerts down -> up.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH

api=$(free_port)
hook=$(free_port)
open=$(free_port)

cat >"$T/receiver.py" <<'EOP'
import http.server, json, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
seen = {"n": 0}
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen["n"] += 1
        code = 500 if seen["n"] <= 2 else 200
        rec = {"t": time.time(), "code": code,
               "key": self.headers.get("Idempotency-Key"),
               "type": self.headers.get("Content-Type"),
               "body": json.loads(body)}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOP
bg receiver python3 "$T/receiver.py" "$hook" "$T/posts"

start_listener() {
	bg listener python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $open)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()"
	wait_for 5 python3 -c "import socket; socket.create_connection(('127.0.0.1', $open))" ||
	    fail "listener did not start"
}
start_listener

agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
[probe "db"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
timeout = 100ms
fall = 1
rise = 1
[alert "ops"]
type = webhook
url = http://127.0.0.1:$hook/hook
timeout = 2s
EOC
start_agent agent "$T/a.conf"
DB=$T/data/vantage.db
wait_for 5 grep -q "probe db: unknown -> up" "$T/agent.log" || fail "probe not up"

kill "$PID_listener"
wait "$PID_listener" 2>/dev/null
wait_for 5 grep -q "probe db: up -> down" "$T/agent.log" || fail "probe not down"
posts() { [ -f "$T/posts" ] && wc -l <"$T/posts" || echo 0; }
two_posts() { [ "$(posts)" -ge 2 ]; }
wait_for 5 two_posts || fail "expected 2 attempts, receiver saw $(posts)"

# restart between attempts; the probe is back meanwhile, and the
# restarted agent compares its first state with the last stored one
stop_agent agent
assert_eq 1 "$(sql "$DB" "SELECT count(*) FROM outbox")" "outbox rows after the stop"
assert_eq 2 "$(sql "$DB" "SELECT attempts FROM outbox")" "attempts recorded"
assert_eq "up|down" "$(sql "$DB" "SELECT from_state, to_state FROM event")" \
    "events stored before the restart"
start_listener
start_agent agent "$T/a.conf"
four_posts() { [ "$(posts)" -ge 4 ]; }
wait_for 10 four_posts || fail "expected the resent down and a new up alert, receiver saw $(posts) posts"
outbox_empty() { [ "$(sql "$DB" "SELECT count(*) FROM outbox")" = 0 ]; }
wait_for 5 outbox_empty || fail "outbox row not removed after a 2xx"
grep -q "alert ops: delivered" "$T/agent.log" || fail "delivery not by the restarted agent"
sleep 1.5	# no further attempt after the 2xx

assert_eq 4 "$(posts)" "attempts seen by the receiver"
assert_eq 2 "$(jq -r .key "$T/posts" | sort -u | wc -l)" "distinct idempotency keys"
down=$(jq -r 'select(.body.to == "down") | .key' "$T/posts" | sort -u)
up=$(jq -r 'select(.body.to == "up") | .key' "$T/posts" | sort -u)
assert_match '^[0-9a-f]{32}$' "$down" "idempotency key of the down alert"
assert_match '^[0-9a-f]{32}$' "$up" "idempotency key of the up alert"
assert_eq "500 500 200" "$(jq -r "select(.key == \"$down\") | .code" "$T/posts" |
    tr '\n' ' ' | sed 's/ $//')" "answers to the down alert"
assert_eq "200" "$(jq -r "select(.key == \"$up\") | .code" "$T/posts")" \
    "answers to the up alert"
last=$(jq -c "select(.key == \"$down\")" "$T/posts" | tail -1)
assert_eq "test db up down $down application/json" \
    "$(echo "$last" | jq -r '"\(.body.agent) \(.body.probe) \(.body.from) \(.body.to) \(.body.idempotency_key) \(.type)"')" \
    "alert body"
assert_match '^[0-9]{13}$' "$(echo "$last" | jq -r .body.t_ms)" "t_ms"
assert_match 'refused' "$(echo "$last" | jq -r .body.error)" "error text"
upb=$(jq -c "select(.key == \"$up\")" "$T/posts")
assert_eq "test db down up " \
    "$(echo "$upb" | jq -r '"\(.body.agent) \(.body.probe) \(.body.from) \(.body.to) \(.body.error)"')" \
    "body of the up alert"
assert_eq "up|down down|up" \
    "$(sql "$DB" "SELECT from_state || '|' || to_state FROM event ORDER BY id" | tr '\n' ' ' | sed 's/ $//')" \
    "stored events"
assert_eq "$(echo "$last" | jq -r .body.t_ms)" \
    "$(sql "$DB" "SELECT t_ms FROM event WHERE to_state = 'down'")" \
    "time of the down event and of its alert"
stop_agent agent
exit 0
