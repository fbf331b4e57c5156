#!/usr/bin/env bash
# bench_http.sh - what an HTTP probe costs vantaged, against a bare libcurl
# loop doing the same fetches (figures, not assertions; not in make check).
#
#  1. baseline: tests/bench/curl_loop.c, a libcurl multi socket loop on
#     epoll, fresh connection per fetch, N fetches at a fixed rate:
#     CPU us per fetch (getrusage).
#  2. vantaged with 200 HTTP probes every 100 ms (2,000 probes/s) for
#     BENCH_SECONDS (20): agent CPU per stored result (utime+stime from
#     /proc/PID/stat over the window / rows stored in it), its ratio to
#     (1) (goal <= 1.5x), peak RSS (VmHWM, goal < 32 MB), and whether
#     every probe was stored on time.
#  3. the highest sustained rate: HTTP at 2k, 3k, 5k probes/s and HTTPS
#     (full handshake each time) at 400 and 800/s, BENCH_STEP_SECONDS
#     (8) each; "sustained" = >= 99% of expected rows stored, <= 1% of
#     them failed (timeouts) and < 1% of starts late (the engine's count:
#     > 10% of the interval late).  BENCH_TLS_KEY=rsa for an RSA server
#     key (default ECDSA P-256).
#
# Everything runs on loopback against a private nginx (one worker).
source "$(dirname "$0")/../integration/lib.sh"
# make bench runs every bench and stops at the first failure: a machine
# without nginx is not one.
skip() {
	echo "SKIP $TEST_NAME: $*"
	exit 0
}

SECS=${BENCH_SECONDS:-20}
STEP_SECS=${BENCH_STEP_SECONDS:-8}
WARMUP=2
for cmd in nginx openssl sqlite3 python3 pkg-config; do
	command -v "$cmd" >/dev/null || skip "$cmd is not installed"
done
[ -x "$VANTAGED" ] || skip "$VANTAGED is not built (make)"

CURL_LOOP=$TOP/build/bench/curl_loop
mkdir -p "$TOP/build/bench"
if [ ! -x "$CURL_LOOP" ] || [ "$TOP/tests/bench/curl_loop.c" -nt "$CURL_LOOP" ]; then
	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wno-unused-parameter \
	    -o "$CURL_LOOP" "$TOP/tests/bench/curl_loop.c" \
	    $(pkg-config --cflags --libs libcurl) ||
	    fail "cannot build curl_loop"
fi

P_HTTP=$(free_port)
P_HTTPS=$(free_port)
mkdir -p "$T/www" "$T/tmp"
head -c 3500 /dev/urandom | base64 -w 76 | head -c 3500 >"$T/www/small"
# ECDSA by default: an RSA-2048 signature costs nginx ~1 ms per
# handshake, and nginx shares the two cores with the agent under test.
if [ "${BENCH_TLS_KEY:-ec}" = rsa ]; then
	keyopt=(-newkey rsa:2048)
else
	keyopt=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
fi
openssl req -x509 "${keyopt[@]}" -nodes -days 30 -subj /CN=localhost \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 ||
    fail "openssl req failed"
nginx_start nginx 1 <<EOF
	server {
		listen 127.0.0.1:$P_HTTP backlog=4096;
		location / { alias $T/www/; }
	}
	server {
		listen 127.0.0.1:$P_HTTPS ssl backlog=4096;
		ssl_certificate $T/cert.pem;
		ssl_certificate_key $T/key.pem;
		ssl_session_cache off;
		ssl_session_tickets off;
		location / { alias $T/www/; }
	}
EOF
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
wait_for 5 port_open "$P_HTTP" || fail "nginx did not listen on $P_HTTP"
wait_for 5 port_open "$P_HTTPS" || fail "nginx did not listen on $P_HTTPS"
URL=http://127.0.0.1:$P_HTTP/small
SURL=https://127.0.0.1:$P_HTTPS/small

echo "machine: $(nproc) cores, $(curl-config --version 2>/dev/null)," \
    "nginx 1 worker, $(stat -c %s "$T/www/small") byte body," \
    "TLS key ${BENCH_TLS_KEY:-ec}," \
    "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# baseline URL RATE SECONDS [insecure]: sets B_CPU (us per fetch).
baseline() {
	local out
	# Failed fetches are reported in the line, not fatal: figures.
	out=$("$CURL_LOOP" "$1" $(($2 * $3)) "$2" ${4:-})
	echo "curl_loop ${1%%:*} $2/s: $out"
	B_CPU=$(sed -n 's/.*cpu_us_per_fetch=\([0-9.]*\).*/\1/p' <<<"$out")
}

ticks() {	# PID: utime + stime in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# run_agent NAME NPROBES URL SECONDS [insecure]: sets R_* figures.
run_agent() {
	local name=$1 n=$2 url=$3 secs=$4 insecure=${5:-} i pid t0 t1 c0 c1
	local dir=$T/$name hz
	mkdir -p "$dir"
	agent_conf "$dir/vantaged.conf" "$dir" "$(free_port)"
	for ((i = 0; i < n; i++)); do
		printf '[probe "p%04d"]\ntype = http\ntarget = %s\n' "$i" "$url"
		printf 'interval = 100ms\ntimeout = 90ms\n'
		[ -n "$insecure" ] && printf 'tls_verify = no\n'
	done >>"$dir/vantaged.conf"
	start_agent "$name" "$dir/vantaged.conf"
	pid=$(eval echo "\$PID_$name")
	sleep "$WARMUP"
	hz=$(getconf CLK_TCK)
	t0=$(date +%s%3N)
	c0=$(ticks "$pid")
	sleep "$secs"
	c1=$(ticks "$pid")
	t1=$(date +%s%3N)
	R_HWM_KB=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
	stop_agent "$name"
	local db=$dir/vantage.db
	R_ROWS=$(sql "$db" "SELECT count(*) FROM result
	    WHERE t_ms >= $t0 AND t_ms < $t1")
	R_EXPECT=$(( n * (t1 - t0) / 100 ))
	R_FAILED=$(sql "$db" "SELECT count(*) FROM result
	    WHERE t_ms >= $t0 AND t_ms < $t1 AND status != 0")
	R_TOPERR=$(sql "$db" "SELECT count(*) || 'x ' || error FROM result
	    WHERE t_ms >= $t0 AND t_ms < $t1 AND status != 0 GROUP BY error
	    ORDER BY count(*) DESC LIMIT 1")
	# Gaps over 110 ms between a probe's consecutive results.
	R_GAPS=$(sql "$db" "SELECT count(*) FROM (SELECT t_ms - lag(t_ms)
	    OVER (PARTITION BY probe_id ORDER BY t_ms) AS gap FROM result
	    WHERE t_ms >= $t0 AND t_ms < $t1) WHERE gap > 110")
	R_CPU_US=$(( (c1 - c0) * 1000000 / hz ))
	R_CPU_PER=$(awk -v c="$R_CPU_US" -v r="$R_ROWS" \
	    'BEGIN { printf "%.1f", (r > 0 ? c / r : 0) }')
	R_CPU_PCT=$(awk -v c="$R_CPU_US" -v ms=$((t1 - t0)) \
	    'BEGIN { printf "%.0f", c / (ms * 10) }')
	R_STATS=$(grep -o 'stopped: .*' "$T/$name.log" | tail -1)
	R_LATE=$(sed -n 's/.*probe runs, \([0-9]*\) late.*/\1/p' <<<"$R_STATS")
	R_RUNS=$(sed -n 's/.*stopped: \([0-9]*\) probe runs.*/\1/p' \
	    <<<"$R_STATS")
	R_SKIPPED=$(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<<"$R_STATS")
	R_ONTIME=$(awk -v r="$R_ROWS" -v e="$R_EXPECT" \
	    'BEGIN { printf "%.1f", (e > 0 ? 100 * r / e : 0) }')
	rm -f "$db" "$db-wal" "$db-shm"
}

report() {	# LABEL RATE BASELINE_US
	local ratio sustained=yes
	ratio=$(awk -v a="$R_CPU_PER" -v b="$3" \
	    'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	awk -v r="$R_ROWS" -v e="$R_EXPECT" 'BEGIN { exit !(r >= 0.99 * e) }' ||
	    sustained=no
	awk -v l="${R_LATE:-0}" -v n="${R_RUNS:-1}" \
	    'BEGIN { exit !(l < 0.01 * n) }' || sustained=no
	awk -v f="$R_FAILED" -v r="$R_ROWS" \
	    'BEGIN { exit !(f <= 0.01 * r) }' || sustained=no
	echo "$1 $2/s: ${R_CPU_PER} us CPU per result (${ratio}x curl_loop" \
	    "$3 us), agent CPU ${R_CPU_PCT}% of a core, rows ${R_ROWS}/${R_EXPECT}" \
	    "(${R_ONTIME}%), failed ${R_FAILED}${R_TOPERR:+ (top: $R_TOPERR)}," \
	    "gaps>110ms ${R_GAPS}," \
	    "engine: ${R_STATS#stopped: }; peak RSS $((R_HWM_KB / 1024)) MB;" \
	    "sustained: $sustained"
	SUSTAINED=$sustained
}

echo "== 1. baseline: bare libcurl multi loop, fresh connection per fetch"
baseline "$URL" 2000 "$SECS"
BASE=$B_CPU
echo "baseline http 2000/s: $BASE us CPU per fetch"

echo "== 2. vantaged, 200 HTTP probes every 100 ms (2000/s) for ${SECS}s"
run_agent main 200 "$URL" "$SECS"
report "vantaged http" 2000 "$BASE"
awk -v a="$R_CPU_PER" -v b="$BASE" 'BEGIN { r = a / b;
    printf "ratio agent/baseline: %.2fx (goal <= 1.5x): %s\n", r,
    (r <= 1.5 ? "met" : "NOT met") }'
echo "peak RSS (VmHWM): $((R_HWM_KB / 1024)) MB (goal < 32 MB):" \
    "$([ "$R_HWM_KB" -lt 32768 ] && echo met || echo NOT met)"
echo "stored on time: ${R_ROWS}/${R_EXPECT} rows (${R_ONTIME}%)," \
    "${R_LATE:-?} late starts, ${R_SKIPPED:-?} skipped, ${R_GAPS} gaps > 110 ms"

echo "== 3. highest sustained rate (${STEP_SECS}s each)"
best=0
for rate in 2000 3000 5000; do
	run_agent "http$rate" $((rate / 10)) "$URL" "$STEP_SECS"
	report "vantaged http" "$rate" "$BASE"
	[ "$SUSTAINED" = yes ] && best=$rate
done
echo "highest sustained http rate tried: $best/s"
baseline "$SURL" 400 "$STEP_SECS" insecure
SBASE=$B_CPU
echo "baseline https 400/s: $SBASE us CPU per fetch"
best=0
for rate in 400 800; do
	run_agent "https$rate" $((rate / 10)) "$SURL" "$STEP_SECS" insecure
	report "vantaged https" "$rate" "$SBASE"
	[ "$SUSTAINED" = yes ] && best=$rate
done
echo "highest sustained https rate tried: $best/s"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
