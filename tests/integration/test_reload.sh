#!/bin/bash
# SIGHUP: a probe added, one removed, one changed, one unchanged keeps its
# state, one whose type key alone changed restarts and keeps its results;
# an invalid file is refused and the old config keeps running.  GET
# /v1/probes/NAME shows the definition in force, options and all.
. "$(dirname "$0")/lib.sh"

open=$(free_port)
api=$(free_port)
tcp_listener listener "$open"
H="Authorization: Bearer $(new_token ops viewer)"
U="http://127.0.0.1:$api"

write_conf() {	# extra sections on stdin
	agent_conf "$T/a.conf" "$T/data" "$api"
	echo "tokens = $T/tokens" >>"$T/a.conf"
	cat >>"$T/a.conf"
}
write_conf <<EOC
[probe "keep"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
rise = 1
[probe "change"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
rise = 1
[probe "drop"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
rise = 1
[probe "web"]
type = http
target = http://127.0.0.1:$api/v1/health
interval = 100ms
rise = 1
EOC
start_agent agent "$T/a.conf"
wait_for 10 grep -q "probe keep: unknown -> up" "$T/agent.log" || fail "keep not up"
wait_for 10 grep -q "probe change: unknown -> up" "$T/agent.log" || fail "change not up"
wait_for 10 grep -q "probe web: unknown -> up" "$T/agent.log" || fail "web not up"
web_results() {
	sql "$T/data/vantage.db" "SELECT count(*) FROM result r JOIN probe p
	    ON p.id=r.probe_id WHERE p.name='web'"
}
web_stored() { [ "$(web_results)" -gt 0 ]; }
wait_for 10 web_stored || fail "no stored results for web"
def=$(curl -s -H "$H" "$U/v1/probes/web") || fail "GET /v1/probes/web failed"
assert_match '"type":"http".*"interval_ms":100,.*"options":\{"expect_status":"200-399","expect_body":null,.*"tls_verify":true,.*"cert_min_days":14\}' \
    "$def" "web's definition before the reload"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$H" "$U/v1/probes/nope")
assert_eq 404 "$code" "GET /v1/probes/nope"
web_before=$(web_results)

write_conf <<EOC
[probe "keep"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
rise = 1
[probe "change"]
type = tcp
target = 127.0.0.1:$open
interval = 150ms
rise = 1
[probe "new"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
rise = 1
[probe "web"]
type = http
target = http://127.0.0.1:$api/v1/health
interval = 100ms
rise = 1
expect_status = 200
EOC
kill -HUP "$PID_agent"
wait_for 10 grep -q "reloaded" "$T/agent.log" || fail "no reload logged"
wait_for 10 grep -q "probe new: unknown -> up" "$T/agent.log" || fail "new probe not started"
grep -q "probe drop: removed" "$T/agent.log" || fail "dropped probe not removed"
grep -q "probe change: changed" "$T/agent.log" || fail "changed probe not restarted"
grep -q "probe web: changed" "$T/agent.log" ||
    fail "a probe whose expect_status alone changed was not restarted"
def=$(curl -s -H "$H" "$U/v1/probes/web") || fail "GET /v1/probes/web failed"
assert_match '"options":\{"expect_status":"200",' "$def" \
    "web's definition after the reload"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$H" "$U/v1/probes/drop")
assert_eq 404 "$code" "GET /v1/probes/drop after it was removed"
web_after=$(web_results)
[ "$web_after" -ge "$web_before" ] ||
    fail "web's stored results went from $web_before to $web_after on reload"
n=$(grep -c "probe keep: unknown -> up" "$T/agent.log")
assert_eq 1 "$n" "unchanged probe kept its state (times it went up)"

# an invalid config is refused and the old one keeps running
cp "$T/a.conf" "$T/a.conf.good"
printf '[probe "broken"]\ntype = tcp\ninterval = fast\n' >>"$T/a.conf"
kill -HUP "$PID_agent"
wait_for 10 grep -q "reload refused" "$T/agent.log" || fail "invalid config not refused"
grep -q "a.conf:[0-9]*: interval:" "$T/agent.log" || fail "refusal does not name file:line"
kill -0 "$PID_agent" || fail "agent died on an invalid config"
before=$(sql "$T/data/vantage.db" "SELECT count(*) FROM result r JOIN probe p
    ON p.id=r.probe_id WHERE p.name='new'")
sleep 0.6
stop_agent agent
after=$(sql "$T/data/vantage.db" "SELECT count(*) FROM result r JOIN probe p
    ON p.id=r.probe_id WHERE p.name='new'")
[ "$after" -gt "$before" ] || fail "probes stopped after the refused reload ($before -> $after)"
# history of the changed probe is kept under the same id
ids=$(sql "$T/data/vantage.db" "SELECT count(*) FROM probe WHERE name='change'")
assert_eq 1 "$ids" "probe rows for 'change'"
ids=$(sql "$T/data/vantage.db" "SELECT count(*) FROM probe WHERE name='web'")
assert_eq 1 "$ids" "probe rows for 'web'"
exit 0
