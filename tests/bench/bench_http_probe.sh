#!/usr/bin/env bash
# bench_http_probe.sh - what a full-featured http probe (3 request
# headers, one expect_json) costs vantaged, against two references
# (figures and ratios from one run, not assertions; not in make check):
#
#  a. a bare libcurl multi loop doing the same fetches
#     (tests/bench/curl_loop.c built with -DCURL_LOOP_CJSON: the same 3
#     headers, the body parsed with cJSON and one member compared), at
#     BENCH_RATE fetches/s (1000) for BENCH_SECONDS (10); vantaged with
#     BENCH_RATE/10 such probes every 100 ms.  CPU us per fetch and per
#     stored result (getrusage; utime+stime from /proc/PID/stat), the
#     ratio (goal <= 1.1x).
#  b. prometheus-blackbox-exporter's http_2xx module with the same
#     headers probing the same nginx at BENCH_BB_RATE probes/s (200),
#     driven by a paced local scraper hitting /probe?target=...; its CPU
#     per probe against vantaged's at the same rate (only the probers'
#     own CPU is counted, not the scraper's or nginx's).  Its 0.23 has
#     no JSON body assertion: its probes do less than vantaged's.
#
# Everything runs on loopback against a private nginx (one worker).
source "$(dirname "$0")/../integration/lib.sh"
skip() {
	echo "SKIP $TEST_NAME: $*"
	exit 0
}

SECS=${BENCH_SECONDS:-10}
RATE=${BENCH_RATE:-1000}
BB_RATE=${BENCH_BB_RATE:-200}
BLACKBOX=${BLACKBOX:-/usr/bin/prometheus-blackbox-exporter}
WARMUP=2
for cmd in nginx sqlite3 python3 pkg-config; do
	command -v "$cmd" >/dev/null || skip "$cmd is not installed"
done
[ -x "$VANTAGED" ] || skip "$VANTAGED is not built (make)"

CURL_LOOP=$TOP/build/bench/curl_loop_json
mkdir -p "$TOP/build/bench"
if [ ! -x "$CURL_LOOP" ] || [ "$TOP/tests/bench/curl_loop.c" -nt "$CURL_LOOP" ]; then
	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wno-unused-parameter \
	    -DCURL_LOOP_CJSON -o "$CURL_LOOP" "$TOP/tests/bench/curl_loop.c" \
	    $(pkg-config --cflags --libs libcurl libcjson) ||
	    fail "cannot build curl_loop with cJSON"
fi

P_HTTP=$(free_port)
mkdir -p "$T/www"
# A small health document, as a service's /healthz would answer.
python3 -c '
import json
print(json.dumps({"status": "ok", "version": "1.4.2", "uptime_s": 86400,
    "checks": [{"name": n, "status": "ok", "latency_ms": 3}
    for n in ("db", "cache", "queue")]}))' >"$T/www/health.json"
nginx_start nginx 1 <<EOF
	server {
		listen 127.0.0.1:$P_HTTP backlog=4096;
		location / { root $T/www; default_type application/json; }
	}
EOF
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 5 port_open "$P_HTTP" || fail "nginx did not listen on $P_HTTP"
URL=http://127.0.0.1:$P_HTTP/health.json
HDRS=("X-Probe-Id: bench" "Accept: application/json" "X-Request-Source: vantaged-bench")

echo "machine: $(nproc) cores, $(curl-config --version 2>/dev/null)," \
    "nginx 1 worker, $(stat -c %s "$T/www/health.json") byte JSON body," \
    "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run_agent NAME NPROBES SECONDS [plain]: sets R_CPU_PER (us per stored
# result), R_ROWS, R_EXPECT, R_FAILED; plain: no headers, no expect_json.
run_agent() {
	local name=$1 n=$2 secs=$3 plain=${4:-} i pid t0 t1 c0 c1 h dir=$T/$1
	mkdir -p "$dir"
	agent_conf "$dir/vantaged.conf" "$dir" "$(free_port)"
	for ((i = 0; i < n; i++)); do
		printf '[probe "p%04d"]\ntype = http\ntarget = %s\n' "$i" "$URL"
		printf 'interval = 100ms\ntimeout = 90ms\n'
		[ -n "$plain" ] && continue
		for h in "${HDRS[@]}"; do printf 'header = %s\n' "$h"; done
		printf 'expect_json = status == "ok"\n'
	done >>"$dir/vantaged.conf"
	start_agent "$name" "$dir/vantaged.conf"
	pid=$(eval echo "\$PID_$name")
	sleep "$WARMUP"
	t0=$(date +%s%3N)
	c0=$(ticks "$pid")
	sleep "$secs"
	c1=$(ticks "$pid")
	t1=$(date +%s%3N)
	stop_agent "$name"
	R_ROWS=$(sql "$dir/vantage.db" "SELECT count(*) FROM result
	    WHERE t_ms >= $t0 AND t_ms < $t1")
	R_FAILED=$(sql "$dir/vantage.db" "SELECT count(*) FROM result
	    WHERE t_ms >= $t0 AND t_ms < $t1 AND status != 0")
	R_TOPERR=$(sql "$dir/vantage.db" "SELECT count(*) || 'x ' || error
	    FROM result WHERE t_ms >= $t0 AND t_ms < $t1 AND status != 0
	    GROUP BY error ORDER BY count(*) DESC LIMIT 1")
	R_EXPECT=$((n * (t1 - t0) / 100))
	R_CPU_PER=$(awk -v c=$(((c1 - c0) * 1000000 / HZ)) -v r="$R_ROWS" \
	    'BEGIN { printf "%.1f", (r > 0 ? c / r : 0) }')
	rm -f "$dir"/vantage.db*
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo "== a. ${RATE}/s, 3 headers + expect_json: vantaged vs a bare libcurl loop (${SECS}s)"
hargs=()
for h in "${HDRS[@]}"; do hargs+=(-H "$h"); done
out=$("$CURL_LOOP" "$URL" $((RATE * SECS)) "$RATE" "${hargs[@]}" -j status ok)
echo "curl_loop: $out"
BASE=$(sed -n 's/.*cpu_us_per_fetch=\([0-9.]*\).*/\1/p' <<<"$out")
run_agent a $((RATE / 10)) "$SECS"
echo "vantaged: ${R_CPU_PER} us CPU per result, rows ${R_ROWS}/${R_EXPECT}," \
    "failed ${R_FAILED}${R_TOPERR:+ (top: $R_TOPERR)}"
r=$(ratio "$R_CPU_PER" "$BASE")
echo "ratio vantaged/curl_loop: ${r}x (goal <= 1.1x): $(awk -v r="$r" \
    'BEGIN { print (r <= 1.1 ? "met" : "NOT met") }')"

echo "== a0. the same without headers and expect_json, for what they add"
out=$("$CURL_LOOP" "$URL" $((RATE * SECS)) "$RATE")
PBASE=$(sed -n 's/.*cpu_us_per_fetch=\([0-9.]*\).*/\1/p' <<<"$out")
A_CPU=$R_CPU_PER
run_agent a0 $((RATE / 10)) "$SECS" plain
echo "plain: curl_loop ${PBASE} us, vantaged ${R_CPU_PER} us per fetch" \
    "(ratio $(ratio "$R_CPU_PER" "$PBASE")x)"
echo "added by 3 headers + expect_json: curl_loop $(awk -v a="$BASE" \
    -v b="$PBASE" 'BEGIN { printf "%.1f", a - b }') us, vantaged $(awk \
    -v a="$A_CPU" -v b="$R_CPU_PER" 'BEGIN { printf "%.1f", a - b }') us"

echo "== b. ${BB_RATE}/s: vantaged vs prometheus-blackbox-exporter (${SECS}s)"
if [ ! -x "$BLACKBOX" ]; then
	echo "SKIP part b: $BLACKBOX is not installed"
	exit 0
fi
run_agent b $((BB_RATE / 10)) "$SECS"
V_CPU=$R_CPU_PER
echo "vantaged: ${V_CPU} us CPU per result, rows ${R_ROWS}/${R_EXPECT}," \
    "failed ${R_FAILED}"
P_BB=$(free_port)
{
	echo "modules:"
	echo "  http_2xx:"
	echo "    prober: http"
	echo "    timeout: 1s"
	echo "    http:"
	echo "      preferred_ip_protocol: ip4"
	echo "      headers:"
	for h in "${HDRS[@]}"; do echo "        ${h%%:*}: \"${h#*: }\""; done
	echo "      fail_if_body_not_matches_regexp: ['\"status\": *\"ok\"']"
} >"$T/blackbox.yml"
bg blackbox "$BLACKBOX" --config.file="$T/blackbox.yml" \
    --web.listen-address="127.0.0.1:$P_BB" --log.level=warn
wait_for 5 port_open "$P_BB" || fail "blackbox exporter did not listen"
# The scraper: BB_RATE probes/s over keep-alive connections from a few
# threads, each paced; prints how many probes succeeded.
cat >"$T/scrape.py" <<'EOP'
import http.client, sys, threading, time, urllib.parse
port, rate, secs, target = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
path = "/probe?module=http_2xx&target=" + urllib.parse.quote(target, safe="")
nthreads = 8
ok = [0] * nthreads
done = [0] * nthreads
def run(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    t0 = time.monotonic()
    n = int(rate * secs / nthreads)
    for i in range(n):
        due = t0 + (i + k / nthreads) * nthreads / rate
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        c.request("GET", path)
        body = c.getresponse().read()
        done[k] += 1
        if b"\nprobe_success 1" in body:
            ok[k] += 1
ts = [threading.Thread(target=run, args=(k,)) for k in range(nthreads)]
for t in ts: t.start()
for t in ts: t.join()
print(sum(done), sum(ok))
EOP
# warm up, then measure the exporter's own CPU over the paced window
python3 "$T/scrape.py" "$P_BB" "$BB_RATE" 1 "$URL" >/dev/null
c0=$(ticks "$PID_blackbox")
read -r bb_done bb_ok < <(python3 "$T/scrape.py" "$P_BB" "$BB_RATE" "$SECS" "$URL")
c1=$(ticks "$PID_blackbox")
B_CPU=$(awk -v c=$(((c1 - c0) * 1000000 / HZ)) -v r="$bb_done" \
    'BEGIN { printf "%.1f", (r > 0 ? c / r : 0) }')
echo "blackbox_exporter: ${B_CPU} us CPU per probe, probes ${bb_done}" \
    "(expected $((BB_RATE * SECS))), succeeded ${bb_ok}"
echo "ratio vantaged/blackbox_exporter: $(ratio "$V_CPU" "$B_CPU")x" \
    "(blackbox's figure includes answering the scrape, its design)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
