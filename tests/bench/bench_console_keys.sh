#!/bin/bash
# Key press to redrawn frame in the console with N agents x P probes
# (default 1,000 x 20, simulated: one python asyncio process listens on N
# loopback ports and answers /v1/status from a template, the clock
# stamped per answer), against a baseline measured the same way in the
# same run: tests/bench/ncurses_redraw.c, a bare ncurses program that
# redraws the same kind of screen.
#
# Both run in a private tmux server read in control mode (one client):
# each of KEYS presses of `s` (the next sort key: the whole fleet is
# sorted again and redrawn) is timed from send-keys until capture-pane
# shows the new sort key.  Prints p50, p99 and max of both and the
# ratio of the p99s; the goal is a console p99 <= 20 ms.  Not part of
# make check; asserts nothing.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VANTAGE=${VANTAGE:-$TOP/console/vantage}
N=${N:-1000}
P=${P:-20}
KEYS=${KEYS:-200}
W=${W:-200}
H=${H:-50}
T=$(mktemp -d /tmp/vt-bench-keys.XXXXXX)
SOCK="vt-bkeys-$$"
fake=
cleanup() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	[ -n "$fake" ] && kill "$fake" 2>/dev/null && wait "$fake" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

cc -O2 -o "$T/ncurses_redraw" "$TOP/tests/bench/ncurses_redraw.c" \
    $(pkg-config --cflags --libs ncursesw)

# --- the simulated fleet --------------------------------------------------
python3 - "$N" "$P" "$T/v.conf" >"$T/fake.log" 2>&1 <<'PY' &
import asyncio, json, sys, time
n, np, conf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
start = int(time.time() * 1000)

def status(i):
    probes = []
    for k in range(np):
        st = "down" if (i + k) % 97 == 0 else "up"
        probes.append({
            "name": "p%02d" % k, "type": "tcp",
            "target": "10.0.%d.%d:443" % (i % 250, k), "state": st,
            "state_since_ms": start, "interval_ms": 10000,
            "last": {"t_ms": start, "status": "ok" if st == "up" else "fail",
                     "latency_us": 420 + 13 * k, "dns_us": None,
                     "connect_us": 400, "tls_us": None, "ttfb_us": None,
                     "code": None, "cert_days": None,
                     "error": "" if st == "up" else "connection refused"},
            "stats_1h": {"runs": 360, "ok": 360, "degraded": 0, "fail": 0,
                         "avg_us": 450, "p95_us": 900}})
    body = {"agent": {"name": "a%d" % i, "version": "0.1.0", "uptime_s": 1,
                      "time_ms": 1111111111111, "started_ms": start,
                      "caller": {"name": "bench", "role": "viewer"}},
            "probes": probes,
            "routes": [{"name": "web", "state": "active",
                        "effective": "ready", "reason": "", "actor": "",
                        "operator": "", "since_ms": start,
                        "expires_ms": None, "pool": None, "probe": "p00",
                        "forced": False}],
            "pools": []}
    return json.dumps(body).encode().split(b"1111111111111")

bodies = {}

async def serve(i, reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1]
            now = str(int(time.time() * 1000)).encode()
            if path.startswith(b"/v1/status"):
                a, b = bodies[i]
                body = a + now + b
                code = b"200 OK"
            else:
                body = b'{"error":{"code":"not_found","message":"no"}}'
                code = b"404 Not Found"
            writer.write(b"HTTP/1.1 " + code + b"\r\nContent-Type: "
                         b"application/json\r\nX-Vantage-Time: " + now +
                         b"\r\nContent-Length: " + str(len(body)).encode() +
                         b"\r\n\r\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    with open(conf, "w") as f:
        f.write("[console]\nrefresh = 2s\n")
        for i in range(n):
            bodies[i] = status(i)
            srv = await asyncio.start_server(
                lambda r, w, i=i: serve(i, r, w), "127.0.0.1", 0)
            port = srv.sockets[0].getsockname()[1]
            f.write('[agent "a%d"]\nurl = http://127.0.0.1:%d\n'
                    'token = bench-token\n' % (i, port))
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
PY
fake=$!
for _ in $(seq 1 400); do
	grep -q ready "$T/fake.log" && break
	sleep 0.05
done
grep -q ready "$T/fake.log" || { cat "$T/fake.log" >&2; exit 1; }
chmod 600 "$T/v.conf"

# measure LABEL CMD WANT: times KEYS presses of `s` in CMD under tmux;
# WANT is a regex the screen must show before the first press
measure() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	sleep 0.2
	tmux -L "$SOCK" new-session -d -s vt -x "$W" -y "$H" "sleep 1000"
	python3 - "$SOCK" "$2" "$3" "$KEYS" <<'PY'
import re, subprocess, sys, time
sock, command, want, keys = sys.argv[1], sys.argv[2], sys.argv[3], \
    int(sys.argv[4])
p = subprocess.Popen(["tmux", "-L", sock, "-C", "attach", "-t", "vt"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     text=True, bufsize=1)
def cmd(c):
    p.stdin.write(c + "\n"); p.stdin.flush()
    out, inblock = [], False
    while True:
        line = p.stdout.readline()
        if not line:
            sys.exit("tmux control client went away")
        if line.startswith("%begin"):
            out, inblock = [], True
        elif line.startswith(("%end", "%error")):
            if inblock:
                return "".join(out)
        elif inblock:
            out.append(line)
while not p.stdout.readline().startswith(("%end", "%error")):
    pass
cmd("refresh-client -f no-output")
cmd("respawn-pane -k -t vt 'exec env LANG=C.UTF-8 NO_COLOR=1 %s'" % command)
t0 = time.monotonic()
rx = re.compile(want)
while not rx.search(cmd("capture-pane -p -t vt")):
    if time.monotonic() - t0 > 60:
        sys.exit("the screen never showed /%s/" % want)
    time.sleep(0.05)
time.sleep(1)
sorts = ["name", "state", "down", "latency"]
cur, res = 0, []
for k in range(keys):
    cur = (cur + 1) % 4
    rx = re.compile(r"sort:%s\b" % sorts[cur])
    t0 = time.monotonic()
    cmd("send-keys -t vt s")
    while not rx.search(cmd("capture-pane -p -t vt")):
        if time.monotonic() - t0 > 5:
            break
    res.append((time.monotonic() - t0) * 1000)
    time.sleep(0.02)
cmd("send-keys -t vt Q")
p.stdin.close(); p.terminate()
res.sort()
q = lambda f: res[min(len(res) - 1, int(f * len(res)))]
print("%.2f %.2f %.2f" % (q(0.5), q(0.99), res[-1]))
PY
}

read -r b50 b99 bmax < <(measure baseline "$T/ncurses_redraw $N" 'sort:name')
read -r v50 v99 vmax < <(measure vantage "$VANTAGE -c $T/v.conf" \
    "agents: $N ok, 0 failing")
echo "== key press to redrawn frame, $N agents x $P probes, ${W}x$H, $KEYS presses of s"
printf 'baseline (bare ncurses):  p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms\n' \
    "$b50" "$b99" "$bmax"
printf 'vantage console:          p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms (goal p99 <= 20)\n' \
    "$v50" "$v99" "$vmax"
python3 -c "import sys; b, v = float(sys.argv[1]), float(sys.argv[2]); print('ratio of the p99s:        %.2f' % (v / b if b > 0 else float('inf')))" "$b99" "$v99"
