#!/bin/bash
# 10,000 configured probes: RSS, and time from exec to READY=1 (sd_notify)
# with a 1-million-row database.  Store: rows/s and bytes per result are in
# bench_store.sh.  Prints figures; asserts nothing.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VANTAGED=${VANTAGED:-$TOP/agent/vantaged}
T=$(mktemp -d /tmp/vt-bench-scale.XXXXXX)
trap 'rm -rf "$T"' EXIT
N=${N:-10000}

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(port)
closed=$(port)
{
	printf '[agent]\nname = scale\ndata_dir = %s/data\n[api]\nlisten = 127.0.0.1:%s\n' "$T" "$api"
	for i in $(seq 1 "$N"); do
		printf '[probe "p%d"]\ntype = tcp\ntarget = 127.0.0.1:%s\ninterval = 60s\n' "$i" "$closed"
	done
} >"$T/a.conf"

# time_to_ready: runs the agent with NOTIFY_SOCKET, prints ms to READY=1
# and the RSS 5 s later, then stops it.
time_to_ready() {
	python3 - "$VANTAGED" "$T/a.conf" "$T" <<'PY'
import os, socket, subprocess, sys, time
vantaged, conf, t = sys.argv[1:4]
path = os.path.join(t, "notify.sock")
if os.path.exists(path): os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(path)
env = dict(os.environ, NOTIFY_SOCKET=path)
t0 = time.monotonic()
p = subprocess.Popen([vantaged, "-d", "-f", conf], env=env,
    stderr=open(os.path.join(t, "agent.log"), "a"))
s.settimeout(30)
while True:
    msg = s.recv(4096).decode()
    if "READY=1" in msg.split("\n"):
        break
ready = (time.monotonic() - t0) * 1000
time.sleep(5)
rss = hwm = 0
for line in open(f"/proc/{p.pid}/status"):
    if line.startswith("VmRSS:"): rss = int(line.split()[1])
    if line.startswith("VmHWM:"): hwm = int(line.split()[1])
p.terminate(); p.wait()
print(f"{ready:.1f} {rss} {hwm}")
PY
}

read -r ms rss hwm < <(time_to_ready)
echo "probes configured:            $N"
echo "start to READY (empty db):    ${ms} ms"
echo "RSS after 5 s:                $((rss / 1024)) MB (peak $((hwm / 1024)) MB; goal < 64 MB)"

# grow the database to 1M result rows, then start again
sqlite3 "$T/data/vantage.db" <<SQL
PRAGMA journal_mode=WAL;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99)
INSERT OR IGNORE INTO result (probe_id, t_ms, status, latency_us, connect_us, error)
SELECT p.id, 1700000000000 + n.i * 60000, 2, 150 + n.i, 120, 'connect: Connection refused'
FROM probe p, n;
SQL
rows=$(sqlite3 "$T/data/vantage.db" "SELECT count(*) FROM result")
size=$(stat -c %s "$T/data/vantage.db")
read -r ms rss hwm < <(time_to_ready)
echo "result rows in database:      $rows ($((size / rows)) bytes/row on disk)"
echo "start to READY (1M rows):     ${ms} ms (goal < 100 ms)"
echo "RSS after 5 s:                $((rss / 1024)) MB (peak $((hwm / 1024)) MB)"
wal=$(stat -c %s "$T/data/vantage.db-wal" 2>/dev/null || echo 0)
echo "WAL after stop:               $((wal / 1024)) KB"
