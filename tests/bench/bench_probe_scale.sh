#!/bin/bash
# bench_probe_scale.sh - does the cost of a probe stay flat as the number
# of probes grows?  (figures and ratios from one run; asserts nothing; not
# in make check)
#
# The agent runs N tcp probes against local listeners (nginx, 16 ports,
# so loopback's port space never runs out), with no API client at all,
# for N = 200, 10,000 and 100,000, each at the same rate of runs as
# 100,000 probes every 60 s (1,667/s: intervals 120 ms, 6 s, 60 s), so
# what changes between the sets is the number of probes, not the work:
#  - agent CPU per probe run (utime+stime from /proc over the measuring
#    window / runs stored in it), after a warm-up of one interval, and
#    the ratios of the larger sets to the 200-probe one (goal <= 1.2x);
#  - p99 and max lateness of the runs' starts (from the stored results);
#  - RSS (VmRSS) at the end and its peak (VmHWM), goal <= 200 MB at 100k;
#  - last, the same 100,000 with a console-like client polling /v1/status
#    and /metrics every 2 s, to show what a reader costs.
# BENCH_SECONDS (default 60) is the measuring window; BENCH_SETS the sets
# to run (default "200 10000 100000").
source "$(dirname "$0")/../integration/lib.sh"
skip() {
	echo "SKIP $TEST_NAME: $*"
	exit 0
}
command -v nginx >/dev/null || skip "nginx is not installed"
SECS=${BENCH_SECONDS:-60}
SETS=${BENCH_SETS:-"200 10000 100000"}
NPORTS=16
HZ=$(getconf CLK_TCK)

ports=()
for i in $(seq 1 $NPORTS); do ports+=("$(free_port)"); done
mkdir -p "$T/nginx"
{
	echo "worker_processes 1; daemon off; pid $T/nginx/pid;"
	echo "error_log $T/nginx/error.log; events { worker_connections 16384; }"
	echo "http { access_log off; client_body_temp_path $T/nginx;"
	echo "  proxy_temp_path $T/nginx; fastcgi_temp_path $T/nginx;"
	echo "  uwsgi_temp_path $T/nginx; scgi_temp_path $T/nginx;"
	echo "  server {"
	for p in "${ports[@]}"; do echo "    listen 127.0.0.1:$p backlog=8192;"; done
	echo "    return 204; } }"
} >"$T/nginx.conf"
ulimit -n 65536 2>/dev/null || true
bg nginx nginx -c "$T/nginx.conf" -p "$T/nginx"
wait_for 5 python3 -c "import socket; socket.create_connection(('127.0.0.1', ${ports[0]}))" ||
    fail "nginx did not start"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
vm() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# run_set N INTERVAL_MS [READER [TYPE]]: prints "us_per_run p99_ms max_ms
# rss_mb hwm_mb runs"
run_set() {
	local n=$1 ivl=$2 reader=${3:-} type=${4:-tcp} api conf data t0 t1 c0 c1 runs lat
	api=$(free_port)
	data="$T/data-$n-$reader"
	conf="$T/a-$n.conf"
	mkdir -p "$data"
	python3 - "$conf" "$data" "$api" "$n" "$ivl" "$type" "${ports[@]}" <<'PY'
import sys
conf, data, api, n, ivl, typ = sys.argv[1:7]
ports = sys.argv[7:]
pre = "http://" if typ == "http" else ""
post = "/" if typ == "http" else ""
with open(conf, "w") as f:
    f.write(f"[agent]\nname = scale\ndata_dir = {data}\n"
            f"[api]\nlisten = 127.0.0.1:{api}\ntokens = {data}/../tokens\n"
            f"[defaults]\ntype = {typ}\ninterval = {ivl}ms\ntimeout = {min(int(ivl), 900)}ms\n")
    for i in range(int(n)):
        f.write(f"[probe \"p{i}\"]\ntarget = {pre}127.0.0.1:"
                f"{ports[i % len(ports)]}{post}\n")
PY
	bg "agent-$n$reader" "$VANTAGED" -d -f "$conf"
	local pid
	pid=$(eval echo "\$PID_agent_$n$reader")
	wait_for 60 grep -q "ready" "$T/agent-$n$reader.log" || fail "agent ($n) not ready"
	local tr
	tr=$(date +%s%3N)
	if [ "$reader" = r ]; then
		bg "reader-$n" python3 - "$api" "$TOK" <<'PY'
import sys, time, urllib.request
api, tok = sys.argv[1:3]
while True:
    for path in ("/v1/status", "/metrics"):
        req = urllib.request.Request(f"http://127.0.0.1:{api}{path}",
                                     headers={"Authorization": "Bearer " + tok})
        try:
            urllib.request.urlopen(req, timeout=30).read()
        except Exception as e:
            print("reader:", e, flush=True)
    time.sleep(2)
PY
	fi
	# warm-up: one interval, so every probe has started once
	sleep "$(python3 -c "print($ivl / 1000)")"
	t0=$(date +%s%3N)
	c0=$(cpu_ticks "$pid")
	sleep "$SECS"
	c1=$(cpu_ticks "$pid")
	t1=$(date +%s%3N)
	local rss hwm
	rss=$(vm "$pid" VmRSS)
	hwm=$(vm "$pid" VmHWM)
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	[ "$reader" = r ] && kill "$(eval echo "\$PID_reader_$n")" 2>/dev/null
	runs=$(sql "$data/vantage.db" "SELECT count(*) FROM result WHERE t_ms >= $t0 AND t_ms < $t1")
	# lateness from the first runs on: each probe's gap between starts
	lat=$(probe_lateness "$data/vantage.db" "$tr" "$t1" "$ivl")
	IFS='|' read -r _ p99 max _ <<<"$lat"
	p99=${p99:--}
	max=${max:--}
	python3 -c "
ticks, hz, runs = $((c1 - c0)), $HZ, max($runs, 1)
print(f'{ticks / hz * 1e6 / runs:.1f} $p99 $max {$rss // 1024} {$hwm // 1024} $runs')"
}

TOK=$(new_token bench viewer)
cp "$T/tokens" "$T/tokens.keep"
declare -A US
printf '%-22s %12s %9s %9s %8s %8s %9s\n' "probes" "CPU/run(us)" "p99(ms)" "max(ms)" "RSS(MB)" "peak" "runs"
for n in $SETS; do
	ivl=$((n * 60000 / 100000))
	read -r us p99 max rss hwm runs < <(run_set "$n" "$ivl")
	US[$n]=$us
	printf '%-22s %12s %9s %9s %8s %8s %9s\n' "$n @ ${ivl}ms" "$us" "$p99" "$max" "$rss" "$hwm" "$runs"
done
base=${US[200]:-}
if [ -n "$base" ]; then
	for n in $SETS; do
		[ "$n" = 200 ] && continue
		python3 -c "print(f'ratio $n / 200 probes:   {${US[$n]} / $base:.2f}x (goal <= 1.2x)')"
	done
fi
if [ -z "${BENCH_NO_HTTP:-}" ]; then
	read -r us p99 max rss hwm runs < <(run_set 10000 60000 h http)
	printf '%-22s %12s %9s %9s %8s %8s %9s\n' "10000 http @ 60s" "$us" "$p99" "$max" "$rss" "$hwm" "$runs"
	echo "(goal: 10,000 http probes in <= 40 MB)"
fi
last=${SETS##* }
read -r us p99 max rss hwm runs < <(run_set "$last" $((last * 60000 / 100000)) r)
printf '%-22s %12s %9s %9s %8s %8s %9s\n' "$last + reader/2s" "$us" "$p99" "$max" "$rss" "$hwm" "$runs"
