#!/usr/bin/env bash
# bench_api.sh - GET /v1/status against nginx serving the very same bytes
# (figures, not assertions; run by hand or by `make bench`, not in make
# check).
#
#  1. vantaged with 40 tcp probes (every 500 ms, against the private
#     nginx), a viewer token, the rate limit out of the way; once every
#     probe has a result, its /v1/status body is saved into nginx's root.
#  2. wrk, keep-alive, BENCH_CONNS (50) connections, BENCH_THREADS (2)
#     threads, BENCH_SECONDS (10) s: /v1/status with the token, then the
#     static copy from nginx (BENCH_NGINX_WORKERS, default 2 = the API's
#     thread pool).  Prints both req/s and the ratio (goal >= 0.7).
#  3. While wrk hammered the API, did the probes stay on time?  The
#     agent's own account at SIGTERM ("stopped: N probe runs, N late,
#     N skipped, max start delay Nus"), and its late count before and
#     after the hammering.
source "$(dirname "$0")/../integration/lib.sh"

SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-50}
THREADS=${BENCH_THREADS:-2}
WORKERS=${BENCH_NGINX_WORKERS:-2}
NPROBES=40
for cmd in nginx wrk curl; do
	command -v "$cmd" >/dev/null || skip "$cmd is not installed"
done
[ -x "$VANTAGED" ] || skip "$VANTAGED is not built (make)"

P_NGINX=$(free_port)
P_API=$(free_port)
mkdir -p "$T/www" "$T/tmp" "$T/data"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user $(id -un) $(id -gn);"
cat >"$T/nginx.conf" <<EOF
$user_line
worker_processes $WORKERS;
pid $T/nginx.pid;
error_log $T/nginx-error.log error;
events { worker_connections 8192; }
http {
	access_log off;
	keepalive_requests 1000000;
	client_body_temp_path $T/tmp/body;
	proxy_temp_path $T/tmp/proxy;
	fastcgi_temp_path $T/tmp/fastcgi;
	uwsgi_temp_path $T/tmp/uwsgi;
	scgi_temp_path $T/tmp/scgi;
	default_type application/json;
	server {
		listen 127.0.0.1:$P_NGINX backlog=4096;
		location / { alias $T/www/; }
	}
}
EOF
bg nginx nginx -p "$T/" -e "$T/nginx-error.log" -c "$T/nginx.conf" \
    -g 'daemon off;'
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
wait_for 5 port_open "$P_NGINX" || fail "nginx did not listen on $P_NGINX"

"$VANTAGED" token bench viewer >"$T/tok" || fail "vantaged token failed"
sed -n 's/^tokens file line: //p' "$T/tok" >"$T/tokens"
chmod 600 "$T/tokens"
TOKEN=$(sed -n 's/^token: //p' "$T/tok")
agent_conf "$T/a.conf" "$T/data" "$P_API"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
rate = 1000000/s burst 1000000
EOC
for i in $(seq -w 1 $NPROBES); do
	cat >>"$T/a.conf" <<EOC
[probe "link-$i"]
type = tcp
target = 127.0.0.1:$P_NGINX
interval = 500ms
EOC
done
start_agent agent "$T/a.conf"
U="http://127.0.0.1:$P_API"
H="Authorization: Bearer $TOKEN"

all_reported() {
	[ "$(curl -s -H "$H" "$U/v1/status" | grep -o '"last":{' | wc -l)" \
	    -eq $NPROBES ]
}
wait_for 15 all_reported || fail "not every probe reported within 15 s"
curl -s -H "$H" "$U/v1/status" >"$T/www/status.json"
late() {
	curl -s -H "$H" "$U/metrics" | sed -n 's/^vantage_probe_runs_late_total //p'
}
runs() {
	curl -s -H "$H" "$U/metrics" | sed -n 's/^vantage_probe_runs_total //p'
}

echo "machine: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "body: $(stat -c %s "$T/www/status.json") bytes ($NPROBES probes);" \
    "wrk -t$THREADS -c$CONNS -d${SECS}s, keep-alive; nginx $WORKERS workers"

# rps OUTPUT: the Requests/sec figure of a wrk run
rps() {
	sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$1"
}
late0=$(late)
runs0=$(runs)
out_api=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" -H "$H" "$U/v1/status" 2>&1) ||
    fail "wrk against the API failed: $out_api"
late1=$(late)
runs1=$(runs)
out_ngx=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" \
    "http://127.0.0.1:$P_NGINX/status.json" 2>&1) ||
    fail "wrk against nginx failed: $out_ngx"
api=$(rps "$out_api")
ngx=$(rps "$out_ngx")
[ -n "$api" ] && [ -n "$ngx" ] || fail "no Requests/sec in wrk's output"
grep -q "Non-2xx" <<<"$out_api" &&
    echo "WARNING: non-2xx answers from the API: $(grep Non-2xx <<<"$out_api")"
grep -q "Socket errors" <<<"$out_api" &&
    echo "WARNING: $(grep 'Socket errors' <<<"$out_api") (API)"

printf 'GET /v1/status (vantaged): %10.0f req/s  latency %s\n' "$api" \
    "$(awk '/Latency/ {print $2 " avg, " $4 " max"}' <<<"$out_api")"
printf 'same bytes (nginx static): %10.0f req/s  latency %s\n' "$ngx" \
    "$(awk '/Latency/ {print $2 " avg, " $4 " max"}' <<<"$out_ngx")"
awk -v a="$api" -v n="$ngx" 'BEGIN { r = a / n;
    printf "ratio: %.2f (goal >= 0.70) %s\n", r, (r >= 0.7 ? "ok" : "BELOW GOAL") }'
echo "probe runs while wrk hammered the API: $((runs1 - runs0)) started," \
    "$((late1 - late0)) late (> 10% of their interval)"

stop_agent agent
grep "stopped:" "$T/agent.log" | sed 's/^vantaged: /agent at SIGTERM: /'
exit 0
