#!/bin/bash
# The console against 100 real agents on loopback (each a vantaged with a
# tiny config, its own data dir and port), then with 10 of them dead:
#  - time to the first complete fleet: `vantage status --json` wall time
#    (median of 5), and the TUI from exec until its status line counts
#    every agent (goal < 300 ms);
#  - the TUI's CPU while idle at a 2 s refresh, over 30 s (goal < 2% of a
#    core) and its RSS (goal < 32 MB).
# The TUI runs in a private tmux server read in control mode (no process
# per poll).  Prints figures; asserts nothing.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VANTAGED=${VANTAGED:-$TOP/agent/vantaged}
VANTAGE=${VANTAGE:-$TOP/console/vantage}
N=${N:-100}
DEAD=${DEAD:-10}
IDLE=${IDLE:-30}
T=$(mktemp -d /tmp/vt-bench-console.XXXXXX)
SOCK="vt-bench-$$"
pids=()
cleanup() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

out=$("$VANTAGED" token bench viewer)
token=$(printf '%s\n' "$out" | sed -n 's/^token: //p')
printf '%s\n' "$out" | sed -n 's/^tokens file line: //p' >"$T/tokens"
chmod 600 "$T/tokens"
ports=$(python3 -c "
import socket
ss = [socket.socket() for _ in range($N)]
for s in ss: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in ss))")
printf '[console]\nrefresh = 2s\n' >"$T/v.conf"
i=0
for p in $ports; do
	i=$((i + 1))
	mkdir -p "$T/d$i"
	cat >"$T/a$i.conf" <<EOC
[agent]
name = a$i
data_dir = $T/d$i
[api]
listen = 127.0.0.1:$p
tokens = $T/tokens
[probe "self"]
type = tcp
target = 127.0.0.1:$p
interval = 10s
[route "web"]
EOC
	printf '[agent "a%d"]\nurl = http://127.0.0.1:%s\ntoken = %s\n' "$i" \
	    "$p" "$token" >>"$T/v.conf"
	"$VANTAGED" -d -f "$T/a$i.conf" >"$T/a$i.log" 2>&1 &
	pids+=($!)
done
chmod 600 "$T/v.conf"
for i in $(seq 1 "$N"); do
	w=0
	until grep -q ready "$T/a$i.log"; do
		sleep 0.05
		w=$((w + 1))
		[ $w -lt 400 ] || { echo "agent a$i did not start" >&2; exit 1; }
	done
done

# status_ms: median wall time of 5 runs of `vantage status --json`
status_ms() {
	python3 - "$VANTAGE" "$T/v.conf" <<'PY'
import subprocess, sys, time
ts = []
for _ in range(5):
    t0 = time.monotonic()
    subprocess.run([sys.argv[1], "-c", sys.argv[2], "status", "--json"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ts.append((time.monotonic() - t0) * 1000)
ts.sort()
print("%.0f" % ts[2])
PY
}

# tui OK FAILING: ms to the complete first frame, then idle CPU and RSS
tui() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	tmux -L "$SOCK" new-session -d -s vt -x 200 -y $((N + 10)) "sleep 1000"
	python3 - "$SOCK" "$VANTAGE" "$T/v.conf" "$1" "$2" "$IDLE" <<'PY'
import os, re, subprocess, sys, time
sock, vantage, conf, ok, failing, idle = sys.argv[1:7]
p = subprocess.Popen(["tmux", "-L", sock, "-C", "attach", "-t", "vt"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     text=True, bufsize=1)
def cmd(c):
    p.stdin.write(c + "\n"); p.stdin.flush()
    out, inblock = [], False
    while True:
        line = p.stdout.readline()
        if line.startswith("%begin"):
            out, inblock = [], True
        elif line.startswith("%end") or line.startswith("%error"):
            if inblock:
                return "".join(out)
        elif inblock:
            out.append(line)
# the attach itself answers with a first %begin/%end block
while not p.stdout.readline().startswith(("%end", "%error")):
    pass
cmd("refresh-client -f no-output")
want = re.compile(r"agents: %s ok, %s failing" % (ok, failing))
t0 = time.monotonic()
cmd("respawn-pane -k -t vt 'exec env LANG=C.UTF-8 %s -c %s'" %
    (vantage, conf))
drawn = None
while True:
    scr = cmd("capture-pane -p -t vt")
    if drawn is None and "vantage" in scr:
        drawn = (time.monotonic() - t0) * 1000
    if want.search(scr):
        break
    if time.monotonic() - t0 > 30:
        sys.exit("no complete frame within 30 s")
first = (time.monotonic() - t0) * 1000
pid = int(cmd("display -p -t vt '#{pane_pid}'").strip())
time.sleep(3)
def cpu():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
c0, w0 = cpu(), time.monotonic()
time.sleep(float(idle))
c1, w1 = cpu(), time.monotonic()
pct = (c1 - c0) / os.sysconf("SC_CLK_TCK") / (w1 - w0) * 100
rss = hwm = 0
for line in open("/proc/%d/status" % pid):
    if line.startswith("VmRSS:"): rss = int(line.split()[1])
    if line.startswith("VmHWM:"): hwm = int(line.split()[1])
print("%.0f %.0f %.2f %.1f %.1f" % (drawn, first, pct, rss / 1024,
    hwm / 1024))
cmd("send-keys -t vt Q")
p.stdin.close(); p.terminate()
PY
}

report() {
	local label=$1 ok=$2 failing=$3 sms drawn first cpu rss hwm
	sms=$(status_ms)
	read -r drawn first cpu rss hwm < <(tui "$ok" "$failing")
	echo "== $label"
	echo "status --json, wall (median of 5):   $sms ms"
	echo "TUI exec to its first frame:         $drawn ms"
	echo "TUI exec to complete fleet frame:    $first ms (goal < 300)"
	echo "TUI CPU idle at 2 s refresh (${IDLE}s):   $cpu% of a core (goal < 2%)"
	echo "TUI RSS:                             $rss MB (peak $hwm MB; goal < 32)"
}

report "$N agents" "$N" 0
for i in $(seq 1 "$DEAD"); do
	kill -TERM "${pids[$((i - 1))]}"
	wait "${pids[$((i - 1))]}" 2>/dev/null || true
done
report "$N agents, $DEAD dead" $((N - DEAD)) "$DEAD"
