#!/usr/bin/env bash
# bench_api_load.sh - does the API disturb the probe loop?  The 2,000/s
# HTTP probe load of bench_http.sh (200 HTTP probes every 100 ms against
# a private nginx) runs first alone, then while wrk hammers /v1/status
# with 50 keep-alive connections.  Prints, for both windows, the results
# stored against those expected and the engine's late starts (figures, not
# assertions; not in make check).
source "$(dirname "$0")/../integration/lib.sh"

SECS=${BENCH_SECONDS:-15}
for cmd in nginx wrk curl sqlite3 bc; do
	command -v "$cmd" >/dev/null || skip "$cmd is not installed"
done
P_NGINX=$(free_port)
P_API=$(free_port)
mkdir -p "$T/www" "$T/tmp"
head -c 3500 /dev/zero | tr '\0' x >"$T/www/index.html"
nginx_start nginx 1 <<EON
	server { listen 127.0.0.1:$P_NGINX backlog=4096; root $T/www; }
EON
wait_for 5 curl -sf "http://127.0.0.1:$P_NGINX/" || fail "nginx did not start"

"$VANTAGED" token bench viewer >"$T/tok"
sed -n 's/^tokens file line: //p' "$T/tok" >"$T/tokens"
chmod 600 "$T/tokens"
TOKEN=$(sed -n 's/^token: //p' "$T/tok")
agent_conf "$T/a.conf" "$T/data" "$P_API"
printf 'tokens = %s\nrate = 1000000/s burst 1000000\n' "$T/tokens" >>"$T/a.conf"
for i in $(seq 1 200); do
	printf '[probe "h%d"]\ntype = http\ntarget = http://127.0.0.1:%s/\ninterval = 100ms\ntimeout = 90ms\n' \
	    "$i" "$P_NGINX" >>"$T/a.conf"
done
start_agent agent "$T/a.conf"
sleep 2

late() {	# the engine's late count so far, from /metrics
	curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_API/metrics" |
	    awk '/^vantage_probe_runs_late_total/ { s += $2 } END { print s + 0 }'
}
window() {	# LABEL CMD...: runs CMD for the window, prints the figures
	local label=$1 t0 t1 l0 l1 rows fail exp
	shift
	l0=$(late)
	t0=$(date +%s%3N)
	"$@"
	t1=$(date +%s%3N)
	sleep 0.5	# the last batch commits
	l1=$(late)
	rows=$(sql "$T/data/vantage.db" "SELECT count(*) FROM result WHERE t_ms >= $t0 AND t_ms < $t1")
	fail=$(sql "$T/data/vantage.db" "SELECT count(*) FROM result WHERE t_ms >= $t0 AND t_ms < $t1 AND status = 2")
	exp=$(( (t1 - t0) * 2000 / 1000 ))
	printf '%-30s results %d of %d expected (%.1f%%), failed %d, late starts %d\n' \
	    "$label" "$rows" "$exp" "$(echo "$rows * 100 / $exp" | bc -l)" "$fail" $((l1 - l0))
}
window "probes alone ($SECS s):" sleep "$SECS"
hammer() {
	wrk -t1 -c50 -d"${SECS}s" -H "Authorization: Bearer $TOKEN" \
	    "http://127.0.0.1:$P_API/v1/status" >"$T/wrk.out"
}
window "probes + wrk on /v1/status:" hammer
echo "wrk meanwhile: $(awk '/Requests\/sec/ { print $2 }' "$T/wrk.out") req/s on /v1/status (200 probes)"
stop_agent agent
echo "agent at SIGTERM: $(grep -o 'stopped:.*' "$T/agent.log")"
