#!/bin/bash
# A result's detail column (schema 007) comes out of the API as an object:
# GET /v1/probes/NAME/results shows "detail":{...} or null, and GET
# /v1/probes/NAME shows the newest stored result as "last" (null for a
# probe the store has no results for).
. "$(dirname "$0")/lib.sh"

open=$(free_port)
api=$(free_port)
tcp_listener listener "$open"
H="Authorization: Bearer $(new_token ops viewer)"
U="http://127.0.0.1:$api"
agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[probe "port"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
rise = 1
[probe "idle"]
type = tcp
target = 127.0.0.1:$open
interval = 1h
rise = 1
EOC
start_agent agent "$T/a.conf"
DB="$T/data/vantage.db"
has_rows() { [ "$(sql "$DB" "SELECT count(*) FROM result r JOIN probe p
    ON p.id = r.probe_id WHERE p.name = 'port'")" -gt 2 ]; }
wait_for 10 has_rows || fail "no stored results for port"
# the newest migration applied (007 added the detail column)
newest=$(ls "$TOP/schema" | sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$/\1/p' | sort -n | tail -1)
assert_eq "$newest" "$(sql "$DB" "PRAGMA user_version")" "schema version"

out=$(curl -s -H "$H" "$U/v1/probes/port/results?limit=1")
assert_match '"error":"","detail":null\}\]' "$out" "a tcp result has no detail"

# a stored row with a detail, as a probe type would leave it, newest of all
t=$(( $(date +%s%3N) + 3600000 ))
sql "$DB" "INSERT INTO result (probe_id, t_ms, status, latency_us, error,
    detail) SELECT id, $t, 3, 5, 'no plugin', '\"perfdata\":[{\"label\":\"x\",\"value\":1}]'
    FROM probe WHERE name = 'port'"
out=$(curl -s -H "$H" "$U/v1/probes/port/results?since=$((t - 1))")
assert_match "^\\{\"probe\":\"port\",\"results\":\\[\\{\"t_ms\":$t,\"status\":\"unknown\",.*\"error\":\"no plugin\",\"detail\":\\{\"perfdata\":\\[\\{\"label\":\"x\",\"value\":1\\}\\]\\}\\}\\],\"next\":$t," \
    "$out" "results show the stored detail"
python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out" ||
    fail "results are not JSON: $out"

def=$(curl -s -H "$H" "$U/v1/probes/port")
assert_match "\"options\":\\{.*\\},\"last\":\\{\"t_ms\":$t,\"status\":\"unknown\",.*\"detail\":\\{\"perfdata\":" \
    "$def" "GET /v1/probes/port shows its newest result with detail"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["last"]["detail"]["perfdata"][0]["label"]=="x"' "$def" ||
    fail "GET /v1/probes/port: bad JSON or detail: $def"
def=$(curl -s -H "$H" "$U/v1/probes/idle")
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["name"]=="idle"' "$def" ||
    fail "GET /v1/probes/idle: bad JSON: $def"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$H" "$U/v1/probes/nope")
assert_eq 404 "$code" "GET /v1/probes/nope"
stop_agent agent
exit 0
