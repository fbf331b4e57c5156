#!/usr/bin/env bash
# bench_slowloris.sh - slow clients against the API.  200 tcp probes
# every 100 ms run first with only real API requests (one new connection
# every 50 ms from 127.0.0.1, alternately GET /v1/status and the
# token-free GET /v1/routes/web/health, 2 s timeout each), then the same
# while SLOW connections from ADDRS addresses each drip one header line
# every DRIP seconds (default 1,280 from 20, every 10 s, for 60 s).
# Prints for both windows the share of real requests answered, their
# p50/p99/max latency, the slow connections held, and the probe start
# lateness (as bench_route_load.sh).  Figures, not assertions.
source "$(dirname "$0")/../integration/lib.sh"

SECS=${BENCH_SECONDS:-60}
SLOW=${BENCH_SLOW:-1280}
ADDRS=${BENCH_ADDRS:-20}
DRIP=${BENCH_DRIP:-10}
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
P_API=$(free_port)
P_TCP=$(free_port)
tcp_listener listener "$P_TCP"

TOKEN=$(new_token bench viewer)
agent_conf "$T/a.conf" "$T/data" "$P_API"
printf 'tokens = %s\nrate = 1000000/s burst 1000000\n[route "web"]\n' \
    "$T/tokens" >>"$T/a.conf"
for i in $(seq 1 200); do
	printf '[probe "t%d"]\ntype = tcp\ntarget = 127.0.0.1:%s\ninterval = 100ms\ntimeout = 90ms\n' \
	    "$i" "$P_TCP" >>"$T/a.conf"
done
start_agent agent "$T/a.conf"
sleep 2

window() {	# LABEL SLOW_CONNS
	local t0 t1 out
	t0=$(date +%s%3N)
	out=$(python3 "$TOP/tests/integration/slowloris.py" "$P_API" "$SECS" \
	    "$2" "$ADDRS" "$DRIP" "$TOKEN")
	t1=$(date +%s%3N)
	sleep 1.5	# the writer's last batch
	read -r _ sent _ ok _ p50 _ p99 _ max _ held _ closed <<<"$out"
	IFS='|' read -r l50 l99 lmax n <<<"$(probe_lateness "$T/data/vantage.db" "$t0" "$t1")"
	printf '%-28s real requests %d/%d answered (%s%%), p50 %s ms, p99 %s ms, max %s ms; slow connections held %s, closed %s\n' \
	    "$1" "$ok" "$sent" "$(awk -v a="$ok" -v b="$sent" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }')" \
	    "$p50" "$p99" "$max" "$held" "$closed"
	printf '%-28s probe lateness p50 %s ms, p99 %s ms, max %s ms over %s runs\n' \
	    "" "$l50" "$l99" "$lmax" "$n"
}
echo "${SECS}s windows; $SLOW slow connections from $ADDRS addresses, a header line every ${DRIP}s"
window "baseline (no slow clients)" 0
window "$SLOW slow connections" "$SLOW"
stop_agent agent
