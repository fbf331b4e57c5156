#!/bin/bash
# [alert] type = alertmanager over https with ca and token_file, against a
# stand-in that checks what Alertmanager's API v2 would get: the path, the
# Bearer token, a JSON array of alerts with labels, annotations, startsAt,
# endsAt (ahead while firing) and generatorURL, then the resolution.  The
# section is added while the probe is down: the start that brings it
# sends the alert of the probe found down as stored.  A token file others
# may read is refused, by its path.  A firing probe removed by a reload
# is no longer sent.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH
command -v openssl >/dev/null || skip "openssl is not installed"

api=$(free_port)
amp=$(free_port)
# outside the ephemeral ports, where a connect could meet itself
open=$(python3 -c '
import random, socket
while True:
    p = random.randint(20000, 32000)
    try:
        socket.socket().bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass')

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj /CN=am.test -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$T/am.key" -out "$T/am.crt" 2>/dev/null || fail "openssl req"

cat >"$T/am.py" <<'EOP'
import http.server, json, ssl, sys
port, crt, key, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        rec = {"path": self.path, "auth": self.headers.get("Authorization"),
               "type": self.headers.get("Content-Type"),
               "body": json.loads(body)}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOP
bg am python3 "$T/am.py" "$amp" "$T/am.crt" "$T/am.key" "$T/posts"
wait_for 5 python3 -c "import socket; socket.create_connection(('127.0.0.1', $amp))" ||
    fail "the stand-in did not start"
tcp_listener target "$open"

printf 's3cret-token\n' >"$T/am.token"
chmod 600 "$T/am.token"
AGENT_NAME=edge-2 agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
[probe "db"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
timeout = 100ms
fall = 1
rise = 1
EOC
# down with no [alert] yet; the section comes with the restart, and the
# probe found down as stored is sent to it then
start_agent agent "$T/a.conf"
wait_for 5 grep -q "probe db: unknown -> up" "$T/agent.log" || fail "probe not up"
kill "$PID_target"
wait "$PID_target" 2>/dev/null
wait_for 5 grep -q "probe db: up -> down" "$T/agent.log" || fail "probe not down"
stop_agent agent
cat >>"$T/a.conf" <<EOC
[alert "am"]
type = alertmanager
url = https://127.0.0.1:$amp
ca = $T/am.crt
token_file = $T/am.token
repeat = 1s
timeout = 1s
EOC
start_agent agent "$T/a.conf"
wait_for 5 grep -q "alert am: probe db down as stored, sending its alert" "$T/agent.log" ||
    fail "the probe down as stored was not sent to the new [alert]"
posts() { [ -f "$T/posts" ] && wc -l <"$T/posts" || echo 0; }
two() { [ "$(posts)" -ge 2 ]; }
wait_for 5 two || fail "expected a send and a re-send, got $(posts): $(grep alert "$T/agent.log")"

check='
import json, sys, datetime
recs = [json.loads(l) for l in open(sys.argv[1])]
now = datetime.datetime.now(datetime.timezone.utc)
def t(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
r = recs[int(sys.argv[2])]
a, = r["body"]
ends = (t(a["endsAt"]) - now).total_seconds()
print(r["path"], r["auth"], r["type"], a["labels"]["alertname"],
      a["labels"]["agent"], a["labels"]["probe"], a["labels"]["severity"],
      sorted(a["annotations"]), a["generatorURL"],
      "ahead" if ends > 1 else "past" if ends < 0 else "near",
      t(a["startsAt"]) <= now)'
assert_eq "/api/v2/alerts Bearer s3cret-token application/json VantageProbeDown edge-2 db critical ['error', 'summary'] http://127.0.0.1:$api/v1/probes/db ahead True" \
    "$(python3 -c "$check" "$T/posts" 0)" "the firing alert"
assert_eq "$(python3 -c "$check" "$T/posts" 0 | sed 's/ ahead / X /')" \
    "$(python3 -c "$check" "$T/posts" 1 | sed 's/ ahead / X /')" "its re-send"

tcp_listener target "$open"
wait_for 5 grep -q "probe db: down -> up" "$T/agent.log" || fail "probe not back up"
resolved() { tail -n 1 "$T/posts" | grep -q '"VantageProbeDown"' &&
    [ "$(python3 -c "$check" "$T/posts" -1 | awk '{print $(NF-1)}')" = past ]; }
wait_for 5 resolved || fail "no resolution: $(tail -n 1 "$T/posts")"
stop_agent agent

# a firing probe removed by a reload: its alert is no longer re-sent
kill "$PID_target"
wait "$PID_target" 2>/dev/null
start_agent agent "$T/a.conf"
wait_for 5 grep -q "again in 1s while probe db fires" "$T/agent.log" ||
    fail "the probe's alert does not fire"
python3 - "$T/a.conf" <<'EOP'
import re, sys
p = sys.argv[1]
s = open(p).read()
open(p, "w").write(re.sub(r'\[probe "db"\][^[]*', "", s))
EOP
kill -HUP "$PID_agent"
wait_for 5 grep -q "alert am: probe db no longer configured, dropping" "$T/agent.log" ||
    fail "the removed probe's alert was not dropped"
n=$(posts)
sleep 1.5
assert_eq "$n" "$(posts)" "sends after the probe's removal"
stop_agent agent
assert_eq 0 "$(sql "$T/data/vantage.db" "SELECT count(*) FROM outbox")" \
    "outbox rows after the probe's removal"

# a token file others may read: refused by -n and at the start, by its
# path, the token not shown; the alertmanager keys on a webhook: refused
chmod 644 "$T/am.token"
rc=0
out=$("$VANTAGED" -n -f "$T/a.conf" 2>&1) || rc=$?
assert_eq 1 "$rc" "vantaged -n with a readable token_file"
assert_match "alert 'am': token_file: $T/am.token: " "$out" "its message"
[[ "$out" == *s3cret* ]] && fail "the token is in the message"
chmod 600 "$T/am.token"
sed -i 's/^type = alertmanager/type = webhook/' "$T/a.conf"
rc=0
out=$("$VANTAGED" -n -f "$T/a.conf" 2>&1) || rc=$?
assert_eq 1 "$rc" "vantaged -n with ca on a webhook"
assert_match "token_file, ca and repeat are for type = alertmanager" "$out" \
    "its message"
