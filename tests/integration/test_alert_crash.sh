#!/bin/bash
# No alert is lost to a crash right after a state change.  With the
# webhook down, the agent is killed with SIGKILL within about a millisecond
# of a "probe db: a -> b" line, round after round: some rounds flip the
# target and kill on the change, others kill on the first state after the
# start (the change a restart re-derives from the stored state).  Then the
# webhook comes up and the agent runs until its outbox is empty.  Every
# stored event must have been delivered exactly once, every delivery must
# be a stored event, the events must chain (each one's from is the last
# one's to) and the last one must be the target's real state.  Last, with
# outbox inserts made to fail, a change leaves no event behind either.
#
#   ROUNDS=n   number of kill rounds (default 30)
#   V=1        print the figures of a passing run
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-30}
api=$(free_port)
hook=$(free_port)
target=$(free_port)
DB=$T/data/vantage.db
LOG=$T/agent.log

cat >"$T/receiver.py" <<'EOP'
import http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        rec = {"key": self.headers.get("Idempotency-Key"),
               "body": json.loads(body)}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOP

# killer.py LOG REGEX CMD...: runs CMD with its output added to LOG and
# kills it with SIGKILL as soon as a line matching REGEX appears there;
# prints the line.  Polls every 0.2 ms, so the kill lands well within a
# millisecond of the write.  (The agent is its child, not the shell's,
# which would report every kill.)
cat >"$T/killer.py" <<'EOP'
import os, re, signal, subprocess, sys, time
log, rx, cmd = sys.argv[1], re.compile(sys.argv[2]), sys.argv[3:]
f = open(log, "rb")
f.seek(0, os.SEEK_END)
out = open(log, "ab")
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
end, part = time.monotonic() + 10, b""
while time.monotonic() < end and p.poll() is None:
    d = f.read()
    if not d:
        time.sleep(0.0002)
        continue
    lines = (part + d).split(b"\n")
    part = lines.pop()
    for l in lines:
        if rx.search(l.decode(errors="replace")):
            p.send_signal(signal.SIGKILL)
            p.wait()
            print(l.decode(errors="replace"))
            sys.exit(0)
rc = p.poll()
if rc is None:
    p.kill()
    p.wait()
print("no line matching '%s' within 10 s (exit status %s)" % (rx.pattern, rc))
sys.exit(1)
EOP

agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
[probe "db"]
type = tcp
target = 127.0.0.1:$target
interval = 50ms
timeout = 50ms
fall = 1
rise = 1
[alert "ops"]
type = webhook
url = http://127.0.0.1:$hook/hook
timeout = 2s
EOC

on=1
tcp_listener target "$target"
flip() {
	if [ $on = 1 ]; then
		kill "$PID_target"
		wait "$PID_target" 2>/dev/null
		on=0
	else
		tcp_listener target "$target"
		on=1
	fi
}

# the log of the running agent since its start has this line
since_start() { tail -c +$((off + 1)) "$LOG" | grep -q "$1"; }

flips=0
touch "$LOG"
for r in $(seq 1 "$ROUNDS"); do
	echo "--- round $r" >>"$LOG"
	off=$(stat -c %s "$LOG")
	# every third round dies on its first state, the others on a flip
	if [ $((r % 3)) = 0 ]; then
		rx='probe db: unknown -> '
	else
		rx='probe db: (up|down|degraded) -> '
	fi
	python3 "$T/killer.py" "$LOG" "$rx" "$VANTAGED" -d -f "$T/a.conf" \
	    >"$T/killer.out" 2>&1 &
	kpid=$!
	if [ $((r % 3)) != 0 ]; then
		wait_for 10 since_start "probe db: unknown -> " ||
		    fail "round $r: no first state"
		flip
		flips=$((flips + 1))
	fi
	krc=0
	wait "$kpid" || krc=$?
	[ $krc = 0 ] || fail "round $r: $(cat "$T/killer.out")"
done
stored_before=$(sql "$DB" "SELECT count(*) FROM event")

# the webhook comes up; rows backed off by the rounds are made due now (the
# agent is not running) so the test need not wait out their backoff
bg receiver python3 "$T/receiver.py" "$hook" "$T/posts"
wait_for 5 python3 -c "import socket; socket.create_connection(('127.0.0.1', $hook))" ||
    fail "receiver did not start"
sql "$DB" "UPDATE outbox SET next_ms = 0"
# -v: the writer logs its verdict on the first state once committed
bg final "$VANTAGED" -d -v -f "$T/a.conf"
wait_for 10 grep -Eq "probe db: .*(from the last stored state|as last stored, no alert)" \
    "$T/final.log" || fail "final run: no verdict on the first state"
posts() { [ -f "$T/posts" ] && wc -l <"$T/posts" || echo 0; }
settled() {
	[ "$(sql "$DB" "SELECT count(*) FROM outbox")" = 0 ] &&
	    [ "$(posts)" = "$(sql "$DB" "SELECT count(*) FROM event")" ]
}
wait_for 20 settled ||
    fail "outbox not drained: $(sql "$DB" "SELECT count(*) FROM outbox") rows left, $(posts) delivered for $(sql "$DB" "SELECT count(*) FROM event") events"

# fault injection: an outbox row that cannot be written takes its event
# with it (no event without its alert), and the next change is judged
# against the state that was stored
n_ev=$(sql "$DB" "SELECT count(*) FROM event")
n_posts=$(posts)
sql "$DB" "CREATE TRIGGER outbox_fail BEFORE INSERT ON outbox BEGIN
    SELECT RAISE(ABORT, 'injected outbox failure'); END"
flip
wait_for 10 grep -q "not stored, no alert: injected outbox failure" "$T/final.log" ||
    fail "expected 'not stored, no alert: injected outbox failure' in the log"
assert_eq "$n_ev 0" "$(sql "$DB" "SELECT count(*) FROM event") $(sql "$DB" "SELECT count(*) FROM outbox")" \
    "events and outbox rows after a failed outbox insert"
sql "$DB" "DROP TRIGGER outbox_fail"
verdicts() { grep -c "probe db: .* as last stored, no alert" "$T/final.log"; }
v0=$(verdicts)
flip	# back to the stored state: no news
more_verdicts() { [ "$(verdicts)" -gt "$v0" ]; }
wait_for 10 more_verdicts ||
    fail "expected 'as last stored, no alert' after returning to the stored state"
flip
one_more() { [ "$(posts)" = $((n_posts + 1)) ] && settled; }
wait_for 10 one_more ||
    fail "after the fault: expected $((n_ev + 1)) events and $((n_posts + 1)) alerts, got $(sql "$DB" "SELECT count(*) FROM event") and $(posts)"
sleep 0.5	# nothing further once settled
stop_agent final
{ echo "--- final run"; cat "$T/final.log"; } >>"$LOG"

[ $on = 1 ] && want=up || want=down
python3 - "$DB" "$T/posts" "$want" >"$T/compare.out" 2>&1 <<'EOP' ||
import json, sqlite3, sys
db, posts, want = sys.argv[1:4]
ev = sqlite3.connect(db).execute("SELECT id, probe, t_ms, from_state, "
    "to_state, cause, result_t_ms FROM event ORDER BY id").fetchall()
ob = sqlite3.connect(db).execute("SELECT count(*) FROM outbox").fetchone()[0]
dl = [json.loads(l) for l in open(posts)]
bad = []
keys = {}
for d in dl:
    keys.setdefault(d["key"], []).append(d)
for k, ds in keys.items():
    if len(ds) != 1:
        bad.append("key %s: expected 1 delivery, got %d" % (k, len(ds)))
    if ds[0]["body"]["idempotency_key"] != k:
        bad.append("key %s: body says %s" % (k, ds[0]["body"]["idempotency_key"]))
def sig(p, t, f, to):
    return "%s %s %s->%s" % (p, t, f, to)
got = {}
for d in dl:
    b = d["body"]
    got.setdefault(sig(b["probe"], b["t_ms"], b["from"], b["to"]), []).append(d)
stored = {}
for (i, p, t, f, to, cause, rt) in ev:
    s = sig(p, t, f, to)
    stored[s] = 1
    n = len(got.get(s, []))
    if n != 1:
        bad.append("event %d (%s): expected 1 delivered alert, got %d" % (i, s, n))
    elif got[s][0]["body"]["error"] != cause:
        bad.append("event %d: expected error '%s' in the alert, got '%s'" %
            (i, cause, got[s][0]["body"]["error"]))
    if to == "down" and "refused" not in cause:
        bad.append("event %d (%s): expected a 'refused' cause, got '%s'" % (i, s, cause))
    if to == "up" and cause != "":
        bad.append("event %d (%s): expected no cause, got '%s'" % (i, s, cause))
    if rt is None or rt > t:
        bad.append("event %d: result time %s not at or before %d" % (i, rt, t))
for s in got:
    if s not in stored:
        bad.append("delivered alert %s: expected a stored event, none" % s)
for a, b in zip(ev, ev[1:]):
    if b[3] != a[4]:
        bad.append("event %d: expected from '%s' (event %d's to), got '%s'" %
            (b[0], a[4], a[0], b[3]))
if not ev or ev[-1][4] != want:
    bad.append("last event: expected to '%s', got %s" % (want, ev[-1:]))
if ob != 0:
    bad.append("outbox: expected 0 rows, got %d" % ob)
print("%d events stored, %d alerts delivered, %d keys" % (len(ev), len(dl), len(keys)))
for l in bad:
    print(l)
sys.exit(1 if bad else 0)
EOP
    fail "alerts against stored events: $(cat "$T/compare.out")"

events=$(sql "$DB" "SELECT count(*) FROM event")
[ "$events" -ge "$flips" ] ||
    fail "expected at least $flips events (one per flip), got $events"
rederived=$(grep -c "from the last stored state" "$LOG")
if [ "${V:-0}" = 1 ]; then
	echo "$ROUNDS rounds, $flips flips, $stored_before events stored by the" \
	    "killed agents, $rederived re-derived at a start;" \
	    "$(head -1 "$T/compare.out")"
fi
exit 0
