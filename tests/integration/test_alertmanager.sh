#!/bin/bash
# [alert] type = alertmanager against the real Alertmanager: a probe goes
# down and its alert is active in Alertmanager's own GET /api/v2/alerts
# with the labels; the agent is SIGKILLed while it fires and restarted,
# and there is still exactly the one alert, re-sent (its endsAt moves);
# an acknowledgement stops the re-sends and shows in /v1/status, also
# after a restart; its removal starts them again; the probe recovers and
# the alert is resolved.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH
AM=/usr/bin/prometheus-alertmanager
[ -x $AM ] || skip "prometheus-alertmanager is not installed"

api=$(free_port)
amp=$(free_port)
hook=$(free_port)
# the probe's target is down for long: outside the ephemeral ports, where
# the agent's own connect could meet itself (a TCP simultaneous open)
low_port() {
	python3 -c '
import random, socket
while True:
    p = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass'
}
open=$(low_port)

# Alertmanager's own receiver: what it notifies is logged, and answered
cat >"$T/hook.py" <<'EOP'
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOP
bg hook python3 "$T/hook.py" "$hook" "$T/notified"
cat >"$T/am.yml" <<EOC
global:
  resolve_timeout: 1m
route:
  receiver: hook
  group_by: [probe]
  group_wait: 200ms
  group_interval: 500ms
  repeat_interval: 1h
receivers:
- name: hook
  webhook_configs:
  - url: http://127.0.0.1:$hook/
    send_resolved: true
EOC
bg am $AM --config.file="$T/am.yml" --storage.path="$T/am" \
    --web.listen-address=127.0.0.1:$amp --cluster.listen-address=
wait_for 10 curl -sf "http://127.0.0.1:$amp/-/ready" ||
    fail "alertmanager did not start"

tcp_listener target "$open"

# the probe's alerts as Alertmanager lists them (active ones only)
cat >"$T/alerts.py" <<'EOP'
import json, sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/api/v2/alerts" %
        sys.argv[1], timeout=5) as r:
    alerts = [a for a in json.load(r) if a["labels"].get("probe") == "db"]
what = sys.argv[2]
if what == "n":
    print(len(alerts))
elif what == "one":
    a, = alerts
    print(a["fingerprint"], a["status"]["state"],
          json.dumps(a["labels"], sort_keys=True))
elif what == "ends":
    a, = alerts
    print(a["endsAt"])
elif what == "error":
    a, = alerts
    print(a["annotations"].get("error", ""))
EOP
alerts() { python3 "$T/alerts.py" "$amp" "$@"; }

AGENT_NAME=edge-1 agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[probe "db"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
timeout = 100ms
fall = 1
rise = 1
[alert "am"]
type = alertmanager
url = http://127.0.0.1:$amp/
repeat = 1s
timeout = 1s
EOC
OP=$(new_token ops operator)
VIEW=$(new_token watcher viewer)
start_agent agent "$T/a.conf"
wait_for 5 grep -q "probe db: unknown -> up" "$T/agent.log" || fail "probe not up"
assert_eq 0 "$(alerts n)" "alerts while the probe is up"

kill "$PID_target"
wait "$PID_target" 2>/dev/null
wait_for 5 grep -q "probe db: up -> down" "$T/agent.log" || fail "probe not down"
one() { [ "$(alerts n)" = 1 ]; }
wait_for 5 one || fail "no active alert in Alertmanager: $(alerts n)"
first=$(alerts one)
labels='{"agent": "edge-1", "alertname": "VantageProbeDown", "probe": "db", "severity": "critical", "target": "127.0.0.1:'$open'"}'
assert_match "^[0-9a-f]+ active " "$first" "the alert's state"
assert_eq "$labels" "${first#* active }" "the alert's labels"
assert_match "refused" "$(alerts error)" "the error annotation"
wait_for 5 grep -q "again in 1s while probe db fires" "$T/agent.log" ||
    fail "the firing alert is not kept for re-sending"

# killed while it fires, restarted: the one alert, sent again
kill -KILL "$PID_agent"
wait "$PID_agent" 2>/dev/null
assert_eq 1 "$(sql "$T/data/vantage.db" "SELECT count(*) FROM outbox WHERE probe = 'db'")" \
    "the firing row kept in the outbox"
ends=$(alerts ends)
start_agent agent "$T/a.conf"
moved() { [ "$(alerts ends)" != "$ends" ]; }
wait_for 5 moved || fail "the alert was not sent again after the restart"
grep -q "alert: 1 pending from before the start" "$T/agent.log" ||
    fail "the firing row was not loaded at the start"
assert_eq "$first" "$(alerts one)" "the one alert after the restart"
sleep 1.2
assert_eq "$first" "$(alerts one)" "the one alert after its re-sends"

# an acknowledgement: operators only, audited, shown in /v1/status
U="http://127.0.0.1:$api"
ackit() {
	curl -s -o "$T/ack.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $2" \
	    -H 'Content-Type: application/json' ${3:+--data "$3"} "$U/v1/probes/$4/ack"
}
status_ack() {
	curl -s -H "Authorization: Bearer $VIEW" "$U/v1/status" | python3 -c '
import json, sys
p, = [p for p in json.load(sys.stdin)["probes"] if p["name"] == "db"]
a = p.get("ack")
print(json.dumps([a["by"], a["reason"], a["until_ms"] > 0]) if a else "none")'
}
assert_eq 403 "$(ackit POST "$VIEW" '{"reason":"x"}' db)" "a viewer's ack"
assert_eq 400 "$(ackit POST "$OP" '{"reason":"","ttl_s":60}' db)" "an empty reason"
assert_eq 404 "$(ackit POST "$OP" '{"reason":"x"}' nosuch)" "an unknown probe's ack"
assert_eq 200 "$(ackit POST "$OP" '{"reason":"db migration, INC-42","ttl_s":600}' db)" \
    "the operator's ack: $(cat "$T/ack.out")"
assert_eq '["ops", "db migration, INC-42", true]' "$(status_ack)" "the ack in /v1/status"
assert_eq "ack|db|ok" "$(sql "$T/data/vantage.db" "SELECT action, target, result FROM audit WHERE action = 'ack' AND result = 'ok'")" \
    "the ack's audit row"
sent() { grep -c "while probe db fires" "$T/agent.log"; }
sleep 0.3	# a send that was in flight
n=$(sent)
ends=$(alerts ends)
sleep 2.5
assert_eq "$n" "$(sent)" "re-sends while acknowledged"
assert_eq "$ends" "$(alerts ends)" "the alert's endsAt while acknowledged"

# the ack holds across a restart
stop_agent agent
start_agent agent "$T/a.conf"
grep -q "alert: 1 acknowledged probe from before the start" "$T/agent.log" ||
    fail "the ack was not loaded at the start"
wait_for 5 grep -q "probe db: unknown -> down" "$T/agent.log" ||
    fail "probe not down after the restart"
assert_eq '["ops", "db migration, INC-42", true]' "$(status_ack)" "the ack after the restart"
sleep 1.5
assert_eq 0 "$(sent)" "re-sends after the restart while acknowledged"

# removed: sent again, the same one alert
assert_eq 200 "$(ackit DELETE "$OP" "" db)" "the ack's removal: $(cat "$T/ack.out")"
assert_eq 404 "$(ackit DELETE "$OP" "" db)" "removing it twice"
assert_eq none "$(status_ack)" "the ack in /v1/status after its removal"
wait_for 5 grep -q "while probe db fires" "$T/agent.log" ||
    fail "no re-send after the ack's removal"
wait_for 5 one || fail "no active alert after the ack's removal"
assert_eq "$first" "$(alerts one)" "the one alert after the ack's removal"

# the probe recovers: resolved, no longer active
tcp_listener target "$open"
wait_for 5 grep -q "probe db: down -> up" "$T/agent.log" || fail "probe not back up"
none() { [ "$(alerts n)" = 0 ]; }
wait_for 5 none || fail "the alert is still active after the recovery"
assert_eq 409 "$(ackit POST "$OP" '{"reason":"x"}' db)" "an up probe's ack"
assert_match '"code":"not_firing"' "$(cat "$T/ack.out")" "its error"
resolved() { grep -q '"status":"resolved"' "$T/notified"; }
wait_for 5 resolved || fail "Alertmanager did not notify the resolution"
wait_for 5 grep -q "alert am: delivered" "$T/agent.log"
assert_eq 0 "$(sql "$T/data/vantage.db" "SELECT count(*) FROM outbox")" \
    "outbox rows once the resolution is delivered"
stop_agent agent
