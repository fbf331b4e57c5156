#!/bin/bash
# /metrics: `promtool check metrics` is clean, the documented families are
# there with the values the probes' states imply, label values are
# escaped, a token is needed unless [api] metrics_public says otherwise.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || skip "promtool not installed (Debian prometheus)"

open=$(free_port)
closed=$(free_port)
port=$(free_port)
U="http://127.0.0.1:$port"
tcp_listener listener "$open"

"$VANTAGED" token prom viewer >"$T/tok" || fail "vantaged token failed"
sed -n 's/^tokens file line: //p' "$T/tok" >"$T/tokens"
chmod 600 "$T/tokens"
H="Authorization: Bearer $(sed -n 's/^token: //p' "$T/tok")"

write_conf() {	# METRICS_PUBLIC
	agent_conf "$T/a.conf" "$T/data" "$port"
	cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
metrics_public = $1
[probe "open"]
type = tcp
target = 127.0.0.1:$open
interval = 200ms
rise = 1
[probe "closed"]
type = tcp
target = 127.0.0.1:$closed
interval = 200ms
fall = 1
[probe "quoted"]
type = http
target = http://127.0.0.1:$closed/a"b\\c
interval = 200ms
fall = 1
[route "web"]
probe = open
EOC
}
write_conf no
start_agent agent "$T/a.conf"

code=$(curl -s -o /dev/null -w '%{http_code}' "$U/metrics")
assert_eq 401 "$code" "/metrics without a token"
wait_for 10 sh -c "curl -s -H '$H' $U/metrics |
    grep -q 'vantage_probe_up{probe=\"closed\".*} 0'" ||
    fail "the closed port never showed as down in /metrics"
wait_for 10 sh -c "curl -s -H '$H' $U/metrics |
    grep -q 'vantage_probe_up{probe=\"open\".*} 1'" ||
    fail "the open port never showed as up in /metrics"
wait_for 10 sh -c "curl -s -H '$H' $U/metrics |
    grep -q 'vantage_probe_up{probe=\"quoted\".*} 0'" ||
    fail "the http probe never showed as down in /metrics"

curl -s -D "$T/hdrs" -H "$H" "$U/metrics" >"$T/metrics" || fail "no /metrics"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/hdrs" ||
    fail "Content-Type: $(grep -i content-type "$T/hdrs")"
promtool check metrics <"$T/metrics" >"$T/promtool.out" 2>&1 ||
    fail "promtool check metrics: $(cat "$T/promtool.out")"

# has REGEX: a line of the scrape matches
has() {
	grep -Eq "$1" "$T/metrics" || fail "no line matching /$1/ in /metrics"
}
num='[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?'
has '^vantage_build_info\{version="[^"]+"\} 1$'
has "^vantage_agent_uptime_seconds $num\$"
has '^vantage_probe_up\{probe="open",type="tcp",target="127\.0\.0\.1:[0-9]+"\} 1$'
has '^vantage_probe_up\{probe="closed",type="tcp",target="[^"]+"\} 0$'
has '^vantage_probe_state\{probe="open",state="up"\} 1$'
has '^vantage_probe_state\{probe="open",state="down"\} 0$'
has '^vantage_probe_state\{probe="closed",state="down"\} 1$'
has "^vantage_probe_latency_seconds\\{probe=\"open\"\\} $num\$"
has "^vantage_probe_phase_seconds\\{probe=\"open\",phase=\"connect\"\\} $num\$"
has '^vantage_probe_results_total\{probe="open",outcome="ok"\} [1-9][0-9]*$'
has '^vantage_probe_results_total\{probe="closed",outcome="fail"\} [1-9][0-9]*$'
has '^vantage_probe_results_total\{probe="open",outcome="degraded"\} 0$'
has '^vantage_probe_runs_late_total [0-9]+$'
has '^vantage_store_queue_rows [0-9]+$'
has '^vantage_store_rows_enqueued_total [1-9][0-9]*$'
has '^vantage_store_queue_max_rows 10000$'
has '^vantage_store_rows_dropped_total 0$'
has '^vantage_store_dropped_total 0$'
has '^vantage_api_requests_total\{code="200"\} [1-9][0-9]*$'
has '^vantage_api_requests_total\{code="401"\} [1-9][0-9]*$'
has '^# TYPE vantage_probe_cert_days_left gauge$'
has '^vantage_route_[a-z_]+\{route="web"'
# the http probe's target holds a quote and a backslash
has 'target="http://127\.0\.0\.1:[0-9]+/a\\"b\\\\c"'
# every family has HELP and TYPE
for f in $(grep -v '^#' "$T/metrics" | sed 's/[{ ].*//' | sort -u); do
	grep -q "^# HELP $f " "$T/metrics" || fail "no HELP for $f"
	grep -q "^# TYPE $f " "$T/metrics" || fail "no TYPE for $f"
done

# metrics_public: open to anyone after a reload
write_conf yes
kill -HUP "$PID_agent"
wait_for 10 grep -q "reloaded" "$T/agent.log" || fail "the agent did not reload"
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/metrics")
assert_eq 200 "$code" "/metrics without a token when metrics_public = yes"
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/status")
assert_eq 401 "$code" "/v1/status without a token when metrics_public = yes"

stop_agent agent
exit 0
