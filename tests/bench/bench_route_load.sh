#!/usr/bin/env bash
# bench_route_load.sh - do route changes make the probe loop wait?  200
# tcp probes every 100 ms (2,000 runs/s) run first alone, then while 20
# keep-alive clients drain and undrain 20 routes as fast as the agent
# answers (every request commits: a change or an audited no-op).  Prints
# for both windows the p50/p99/max start lateness of the probe runs (the
# gap between a probe's consecutive starts minus its interval, from the
# stored results) and the engine's late starts, then the drains per
# second meanwhile.  Figures, not assertions; not in make check.
source "$(dirname "$0")/../integration/lib.sh"

SECS=${BENCH_SECONDS:-15}
for cmd in wrk curl sqlite3; do
	command -v "$cmd" >/dev/null || skip "$cmd is not installed"
done
P_API=$(free_port)
P_TCP=$(free_port)
tcp_listener listener "$P_TCP"

TOKEN=$(new_token bench operator)
agent_conf "$T/a.conf" "$T/data" "$P_API"
printf 'tokens = %s\nrate = 1000000/s burst 1000000\n' "$T/tokens" >>"$T/a.conf"
for i in $(seq 1 200); do
	printf '[probe "t%d"]\ntype = tcp\ntarget = 127.0.0.1:%s\ninterval = 100ms\ntimeout = 90ms\n' \
	    "$i" "$P_TCP" >>"$T/a.conf"
done
for i in $(seq 1 20); do
	printf '[route "r%d"]\n' "$i" >>"$T/a.conf"
done
start_agent agent "$T/a.conf"
sleep 2

late() {
	curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_API/metrics" |
	    awk '/^vantage_probe_runs_late_total/ { s += $2 } END { print s + 0 }'
}
window() {	# LABEL CMD...
	local label=$1 t0 t1 l0 l1 f
	shift
	l0=$(late)
	t0=$(date +%s%3N)
	"$@"
	t1=$(date +%s%3N)
	sleep 0.5
	l1=$(late)
	IFS='|' read -r p50 p99 max n <<<"$(probe_lateness "$T/data/vantage.db" "$t0" "$t1")"
	printf '%-34s lateness p50 %s ms, p99 %s ms, max %s ms over %s runs; late starts %d\n' \
	    "$label" "$p50" "$p99" "$max" "$n" $((l1 - l0))
}
cat >"$T/drain.lua" <<'EOL'
local n = 0
request = function()
	n = n + 1
	local r = "r" .. (n % 20 + 1)
	local op = (math.floor(n / 20) % 2 == 0) and "drain" or "undrain"
	return wrk.format("POST", "/v1/routes/" .. r .. "/" .. op,
	    { ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
	      ["Content-Type"] = "application/json" },
	    '{"reason":"bench"}')
end
EOL
window "probes alone ($SECS s):" sleep "$SECS"
hammer() {
	TOKEN=$TOKEN wrk -t2 -c20 -d"${SECS}s" -s "$T/drain.lua" \
	    "http://127.0.0.1:$P_API" >"$T/wrk.out"
}
window "probes + 20 clients draining:" hammer
echo "route changes meanwhile: $(awk '/Requests\/sec/ { print $2 }' "$T/wrk.out") req/s" \
    "($(sql "$T/data/vantage.db" "SELECT count(*) FROM audit") audit rows)"
stop_agent agent
