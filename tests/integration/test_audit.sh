#!/bin/bash
# The audit log: drains, undrains and refusals recorded with actor, role,
# operator header and source; filters and pages; /v1/audit/verify passes,
# then names an edited row and a deleted row; and when the audit row cannot
# be written the change is refused (503) and nothing changes, including a
# ttl expiry that falls due meanwhile.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH

api=$(free_port)
hap=$(free_port)

token() {	# NAME ROLE -> prints the token, adds its line to the tokens file
	local out
	out=$("$VANTAGED" token "$1" "$2") || fail "vantaged token $1 $2 failed"
	echo "$out" | sed -n 's/^tokens file line: //p' >>"$T/tokens"
	chmod 600 "$T/tokens"
	echo "$out" | sed -n 's/^token: //p'
}
OP=$(token alice operator)
VIEW=$(token victor viewer)

agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[haproxy]
listen = 127.0.0.1:$hap
[route "r1"]
pool = p
[route "r2"]
pool = p
[pool "p"]
min_active = 1
EOC
start_agent agent "$T/a.conf"
DB=$T/data/vantage.db

api() {	# TOKEN METHOD PATH [BODY]: $code and $T/resp
	code=$(curl -s -o "$T/resp" -w '%{http_code}' -X "$2" \
	    -H "Authorization: Bearer $1" -H "X-Vantage-Operator: alice@bastion" \
	    ${4:+-d "$4"} "http://127.0.0.1:$api$3")
}
row() {	# JQ-FILTER over the whole log
	api "$VIEW" GET "/v1/audit?limit=5000"
	jq -r "$1" "$T/resp"
}
state() {
	api "$VIEW" GET /v1/routes
	jq -r ".routes[] | select(.name == \"$1\") | .state" "$T/resp"
}
agentcheck() {
	python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $hap), timeout=3)
s.sendall(b'$1\n'); print(s.recv(100).decode().strip())"
}

api "$OP" POST /v1/routes/r1/drain '{"reason":"kernel 6.1","ttl_s":3600}'
assert_eq 200 "$code" "drain r1"
id1=$(jq -r .audit_id "$T/resp")
api "$OP" POST /v1/routes/r2/drain '{"reason":"also"}'
assert_eq 409 "$code" "pool guard"
api "$VIEW" POST /v1/routes/r2/drain '{"reason":"viewer tries"}'
assert_eq 403 "$code" "viewer drain"
api "$OP" POST /v1/routes/r1/undrain '{"reason":"done"}'
assert_eq 200 "$code" "undrain r1"

assert_eq "alice operator alice@bastion 127.0.0.1 drain r1 ok" \
    "$(row ".audit[] | select(.id == $id1) | \"\(.actor) \(.role) \(.operator) \(.source) \(.action) \(.target) \(.result)\"")" \
    "audit row of the drain"
assert_match "kernel 6.1" "$(row ".audit[] | select(.id == $id1) | .detail")" "drain detail"
assert_eq "alice drain r2 refused" \
    "$(row '.audit[] | select(.result == "refused" and .actor == "alice") | "\(.actor) \(.action) \(.target) \(.result)"')" \
    "audit row of the 409"
assert_match "min_active" "$(row '.audit[] | select(.result == "refused" and .actor == "alice") | .detail')" \
    "409 detail"
assert_eq "victor" "$(row '[.audit[] | select(.actor == "victor")][0].actor')" "the 403 is audited"
assert_eq "alice undrain r1 ok" \
    "$(row '[.audit[] | select(.action == "undrain")][-1] | "\(.actor) \(.action) \(.target) \(.result)"')" \
    "audit row of the undrain"

# filters and pages, oldest first
api "$VIEW" GET "/v1/audit?action=undrain"
assert_eq "undrain" "$(jq -r '[.audit[].action] | unique | join(",")' "$T/resp")" "action filter"
api "$VIEW" GET "/v1/audit?actor=alice"
assert_eq "alice" "$(jq -r '[.audit[].actor] | unique | join(",")' "$T/resp")" "actor filter"
api "$VIEW" GET "/v1/audit?limit=1"
assert_eq "1 true $id1" "$(jq -r '"\(.audit | length) \(.more) \(.next)"' "$T/resp")" "first page"
api "$VIEW" GET "/v1/audit?limit=1&after=$id1"
assert_eq "$((id1 + 1))" "$(jq -r '.audit[0].id' "$T/resp")" "second page"
api "$VIEW" GET "/v1/audit?limit=0"
assert_eq 400 "$code" "limit 0"
api "$VIEW" GET "/v1/audit?after=x"
assert_eq 400 "$code" "after not a number"

# newest first below the `before` cursor; next is the smallest id sent
all=$(row '[.audit[].id] | reverse | join(" ")')
n=$(row '.audit | length')
[ "$n" -ge 4 ] || fail "expected at least 4 audit rows, got $n"
api "$VIEW" GET "/v1/audit?before=9223372036854775807&limit=5000"
assert_eq 200 "$code" "before=INT64_MAX"
assert_eq "$all" "$(jq -r '[.audit[].id] | join(" ")' "$T/resp")" \
    "every row, newest first"
assert_eq "false" "$(jq -r .more "$T/resp")" "before: all rows, no more"
set -- $all
api "$VIEW" GET "/v1/audit?before=9223372036854775807&limit=2"
assert_eq "$1 $2 true $2" \
    "$(jq -r '"\([.audit[].id] | join(" ")) \(.more) \(.next)"' "$T/resp")" \
    "newest page"
api "$VIEW" GET "/v1/audit?before=$2&limit=2"
assert_eq "$3 $4" "$(jq -r '[.audit[].id] | join(" ")' "$T/resp")" \
    "next newest page from the cursor"
api "$VIEW" GET "/v1/audit?before=$id1"
assert_eq "$((id1 - 1)) false" \
    "$(jq -r '"\(.audit | length) \(.more)"' "$T/resp")" "rows below the first drain"
api "$VIEW" GET "/v1/audit?before=1"
assert_eq "0 null false" \
    "$(jq -r '"\(.audit | length) \(.next) \(.more)"' "$T/resp")" "before=1: nothing"
api "$VIEW" GET "/v1/audit?before=9223372036854775807&action=undrain"
assert_eq "undrain" "$(jq -r '[.audit[].action] | unique | join(",")' "$T/resp")" \
    "action filter, newest first"
for bad in "before=0" "before=-1" "before=x" "before=" \
    "before=9223372036854775808" "before=10&after=1" "after=0&before=5"; do
	api "$VIEW" GET "/v1/audit?$bad"
	assert_eq 400 "$code" "$bad"
	assert_eq bad_request "$(jq -r .error.code "$T/resp")" "$bad: code"
done

# verify: ok, head is the last row's hash
api "$VIEW" GET /v1/audit/verify
assert_eq true "$(jq -r .ok "$T/resp")" "verify on an untouched log"
n=$(jq -r .rows "$T/resp")
head=$(jq -r .head "$T/resp")
assert_eq "$(row '.audit[-1].hash')" "$head" "verify head"
assert_eq "$n" "$(row '.audit | length')" "verify rows"

# tamper: an edited row is named, then a deleted one
sql "$DB" "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;" ||
    fail "cannot drop the append-only triggers"
orig=$(sql "$DB" "SELECT detail FROM audit WHERE id = $id1")
sql "$DB" "UPDATE audit SET detail = 'nothing happened' WHERE id = $id1"
api "$VIEW" GET /v1/audit/verify
assert_eq "false $id1" "$(jq -r '"\(.ok) \(.bad_id)"' "$T/resp")" "verify after an edit"
assert_match "row $id1" "$(jq -r .message "$T/resp")" "edit message"
sql "$DB" "UPDATE audit SET detail = '$orig' WHERE id = $id1"
api "$VIEW" GET /v1/audit/verify
assert_eq true "$(jq -r .ok "$T/resp")" "verify after undoing the edit"
del=$((id1 + 1))
sql "$DB" "DELETE FROM audit WHERE id = $del"
api "$VIEW" GET /v1/audit/verify
assert_eq "false $del" "$(jq -r '"\(.ok) \(.bad_id)"' "$T/resp")" "verify after a delete"
assert_match "missing" "$(jq -r .message "$T/resp")" "delete message"

# an audit log that refuses writes: 503, and nothing changes
sql "$DB" "CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END;"
api "$OP" POST /v1/routes/r1/drain '{"reason":"must not happen"}'
assert_eq 503 "$code" "drain while the audit log refuses writes"
assert_eq unavailable "$(jq -r .error.code "$T/resp")" "503 code"
assert_match "disk full" "$(jq -r .error.message "$T/resp")" "503 message"
assert_eq active "$(state r1)" "r1 after a refused drain"
assert_eq "up ready" "$(agentcheck r1)" "agent-check after a refused drain"
assert_eq "" "$(sql "$DB" "SELECT state FROM route_state WHERE name = 'r1' AND state != 'active'")" \
    "route_state after a refused drain"
sql "$DB" "DROP TRIGGER refuse"

# an expiry that falls due while the log refuses waits for it
api "$OP" POST /v1/routes/r1/drain '{"reason":"short","ttl_s":1}'
assert_eq 200 "$code" "drain with ttl"
sql "$DB" "CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END;"
sleep 2
assert_eq draining "$(state r1)" "r1 past its ttl while the log refuses"
assert_eq "up drain" "$(agentcheck r1)" "agent-check while the expiry cannot be audited"
sql "$DB" "DROP TRIGGER refuse"
r1_active() { [ "$(state r1)" = active ]; }
wait_for 8 r1_active || fail "r1 did not expire once the log took writes"
assert_eq "system expire r1" "$(row '.audit[-1] | "\(.actor) \(.action) \(.target)"')" \
    "the late expiry is audited"
stop_agent agent
exit 0
