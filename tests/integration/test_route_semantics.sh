#!/bin/bash
# Operator actions exactly right at the edges (vantage-api(7), "Route
# state machine"): every row of the drain/undrain table (no-op, update,
# ttl kept / removed, forced), atomic batches under the pool guard,
# Idempotency-Key replays and mismatches, X-Vantage-Deadline against a
# frozen agent (SIGSTOP), GET /v1/requests/KEY, SIGKILL in the middle of
# batches (all or none after restart), and every SIGHUP audited.
. "$(dirname "$0")/lib.sh"

api=$(free_port)
TOK=$(new_token alice operator)
TOKB=$(new_token bob operator)

agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
rate = 1000/s burst 1000
[route "r1"]
pool = p
[route "r2"]
pool = p
[route "r3"]
pool = q
[route "r4"]
pool = q
[route "r5"]
pool = q
[route "r6"]
pool = q
[pool "p"]
min_active = 1
[pool "q"]
min_active = 1
EOC
start_agent agent "$T/a.conf"
DB=$T/data/vantage.db

post() {	# PATH BODY [HEADER...]: $code, $T/resp
	local path=$1 body=$2
	shift 2
	local h=() x
	for x in "$@"; do h+=(-H "$x"); done
	code=$(curl -s -m 10 -o "$T/resp" -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer ${AS:-$TOK}" "${h[@]}" -d "$body" \
	    "http://127.0.0.1:$api$path")
}
get() {	# PATH: $code, $T/resp
	code=$(curl -s -m 10 -o "$T/resp" -w '%{http_code}' \
	    -H "Authorization: Bearer ${AS:-$TOK}" "http://127.0.0.1:$api$1")
}
j() { jq -r "$1" "$T/resp"; }
route() {	# NAME FIELD
	curl -s -m 5 -H "Authorization: Bearer $TOK" \
	    "http://127.0.0.1:$api/v1/routes" |
	    jq -r ".routes[] | select(.name == \"$1\") | .$2"
}
audit_rows() {	# jq filter over the whole audit log
	curl -s -m 5 -H "Authorization: Bearer $TOK" \
	    "http://127.0.0.1:$api/v1/audit?limit=1000" | jq -r "$1"
}
now_ms() { date +%s%3N; }

# --- the state table
post /v1/routes/r1/drain '{"reason":"disk","ttl_s":600}'
assert_eq 200 "$code" "drain active r1"
assert_eq "true draining false" "$(j '"\(.changed) \(.route.state) \(.route.forced)"')" "drain reply"
exp1=$(route r1 expires_ms)
[ "$exp1" != null ] || fail "ttl not kept: expires_ms null"
since1=$(route r1 since_ms)
n_before=$(audit_rows '[.audit[] | select(.result == "ok")] | length')

post /v1/routes/r1/drain '{"reason":"disk"}'
assert_eq 200 "$code" "same drain again"
assert_eq "false" "$(j .changed)" "same drain is a no-op"
assert_eq "$exp1" "$(route r1 expires_ms)" "no-op keeps the ttl"
assert_eq "$since1" "$(route r1 since_ms)" "no-op keeps since"
assert_eq unchanged "$(audit_rows '.audit[-1].result')" "no-op audited as unchanged"
assert_eq "$n_before" "$(audit_rows '[.audit[] | select(.result == "ok")] | length')" \
    "a no-op is not audited as a change"

post /v1/routes/r1/drain '{"reason":"other"}'
assert_eq 409 "$code" "new reason without update"
assert_eq needs_update "$(j .error.code)" "409 code"
assert_match 'already draining' "$(j .error.message)" "409 message"
assert_eq disk "$(route r1 reason)" "refused update changes nothing"

post /v1/routes/r1/drain '{"ttl_s":60}'
assert_eq 400 "$code" "reason still required without update"

post /v1/routes/r1/drain '{"update":true,"reason":"disk swap"}'
assert_eq 200 "$code" "update reason"
assert_eq "true disk swap" "$(j '"\(.changed) \(.route.reason)"')" "update reply"
assert_eq "$exp1" "$(route r1 expires_ms)" "update without ttl keeps the ttl"
assert_eq "$since1" "$(route r1 since_ms)" "update keeps since"

post /v1/routes/r1/drain '{"update":true,"ttl_s":0}'
assert_eq 200 "$code" "update: no ttl (--no-ttl)"
assert_eq "null disk swap" "$(route r1 expires_ms) $(route r1 reason)" \
    "ttl removed, reason kept"
post /v1/routes/r1/drain '{"update":true}'
assert_eq "200 false" "$code $(j .changed)" "empty update is a no-op"

post /v1/routes/r1/drain '{"reason":"deeper","mode":"maint"}'
assert_eq 200 "$code" "draining -> maint"
assert_eq "maint false" "$(route r1 state) $(route r1 forced)" "maint, not forced"

post /v1/routes/r2/drain '{"reason":"last one"}'
assert_eq "409 pool_guard" "$code $(j .error.code)" "r2 is the last route taking traffic"
post /v1/routes/r1/drain '{"reason":"back to draining"}'
assert_eq "200 draining" "$code $(j .route.state)" \
    "maint -> draining takes no traffic away: no guard"
post /v1/routes/r1/undrain '{"reason":"back"}'
assert_eq 200 "$code" "undrain r1"
post /v1/routes/r1/undrain '{"reason":"back again"}'
assert_eq "200 false" "$code $(j .changed)" "undrain of an active route is a no-op"
assert_eq "already active, unchanged: back again" "$(audit_rows '.audit[-1].detail')" \
    "undrain no-op said as such"
assert_eq unchanged "$(audit_rows '.audit[-1].result')" "undrain no-op result"

post /v1/routes/r1/drain '{"reason":"one"}'
post /v1/routes/r2/drain '{"reason":"two"}'
assert_eq "409 pool_guard" "$code $(j .error.code)" "guard"
post /v1/routes/r2/drain '{"reason":"two","force":true}'
assert_eq "200 true" "$code $(j .route.forced)" "forced drain"
post /v1/routes/r2/drain '{"reason":"two","mode":"maint"}'
assert_eq "200 false" "$code $(j .route.forced)" \
    "forced reflects the request that set the current state"
post /v1/routes/undrain '{"routes":["r1","r2"],"reason":"done"}'
assert_eq 200 "$code" "batch undrain"

# --- atomic batches
post /v1/routes/drain '{"routes":["r3","r4","r5","r6"],"reason":"all of q"}'
assert_eq "409 pool_guard" "$code $(j .error.code)" "batch leaving q empty"
for r in r3 r4 r5 r6; do
	assert_eq active "$(route $r state)" "refused batch changed nothing ($r)"
done
post /v1/routes/drain '{"routes":["r3","r4","r5"],"reason":"three of q"}'
assert_eq 200 "$code" "batch keeping one"
assert_eq "true 3" "$(j '"\(.changed) \(.routes | length)"')" "batch reply"
b=$(j .batch)
for r in r3 r4 r5; do
	assert_eq "draining $b" "$(route $r state) $(route $r batch)" "batch route $r"
done
assert_eq 3 "$(audit_rows "[.audit[] | select(.batch == \"$b\")] | length")" \
    "one audit row per route of the batch"
post /v1/routes/drain '{"routes":["r3","nosuch"],"reason":"x"}'
assert_eq 404 "$code" "unknown route in a batch"
post /v1/routes/drain '{"routes":["r3","r3"],"reason":"x"}'
assert_eq 400 "$code" "route named twice"
post /v1/routes/drain '{"routes":[],"reason":"x"}'
assert_eq 400 "$code" "empty batch"
post /v1/routes/undrain '{"routes":["r3","r4","r5"],"reason":"back"}'
assert_eq 200 "$code" "batch undrain"

# --- Idempotency-Key
post /v1/routes/r3/drain '{"reason":"once"}' "Idempotency-Key: key-1"
assert_eq "200 true false" "$code $(j .changed) $(j .replayed)" "first with a key"
assert_eq key-1 "$(route r3 key)" "the route carries the key"
aid=$(j .audit_id)
post /v1/routes/r3/drain '{"reason":"once"}' "Idempotency-Key: key-1"
assert_eq "200 true true $aid" "$code $(j .changed) $(j .replayed) $(j .audit_id)" \
    "repeat replays the first outcome"
assert_eq 1 "$(audit_rows '[.audit[] | select(.key == "key-1")] | length')" \
    "a replay is not applied or audited again"
post /v1/routes/r3/drain '{"reason":"twice"}' "Idempotency-Key: key-1"
assert_eq "422 idempotency_mismatch" "$code $(j .error.code)" "same key, other request"
AS=$TOKB post /v1/routes/r3/drain '{"reason":"once"}' "Idempotency-Key: key-1"
assert_eq "200 false false" "$code $(j .changed) $(j .replayed)" \
    "another actor's key is its own"
post /v1/routes/r3/drain '{"reason":"x"}' "Idempotency-Key: has space"
assert_eq 400 "$code" "bad key"
post /v1/routes/r3/drain '{"reason":"x"}' "Idempotency-Key: $(printf 'k%.0s' $(seq 65))"
assert_eq 400 "$code" "key too long"
get /v1/requests/key-1
assert_eq "200 200 key-1" "$code $(j .status) $(j .outcome.route.key)" "requests: decided"
post /v1/routes/r4/drain '{"reason":"all"}' "Idempotency-Key: key-2"
post /v1/routes/r5/drain '{"reason":"all"}' "Idempotency-Key: key-3"
post /v1/routes/r6/drain '{"reason":"all"}' "Idempotency-Key: key-4"
assert_eq 409 "$code" "refused with a key"
post /v1/routes/r6/drain '{"reason":"all"}' "Idempotency-Key: key-4"
assert_eq "409 true" "$code $(j .replayed)" "a refusal is replayed too"
get /v1/requests/key-4
assert_eq "200 409" "$code $(j .status)" "requests: refused"
AS=$TOKB get /v1/requests/key-4
assert_eq 425 "$code" "keys are per actor"
get "/v1/requests/never?deadline=$(( $(now_ms) - 1000 ))"
assert_eq "404 not_applied" "$code $(j .error.code)" "requests: past deadline"
get "/v1/requests/never?deadline=$(( $(now_ms) + 60000 ))"
assert_eq "425 deadline_pending" "$code $(j .error.code)" "requests: deadline ahead"
post /v1/routes/undrain '{"routes":["r3","r4","r5"],"reason":"back"}'

# --- deadlines
post /v1/routes/r3/drain '{"reason":"late"}' "X-Vantage-Deadline: $(( $(now_ms) - 1 ))"
assert_eq "412 deadline_passed" "$code $(j .error.code)" "past deadline"
assert_eq active "$(route r3 state)" "nothing applied after the deadline"
assert_match 'deadline passed' "$(audit_rows '.audit[-1].detail')" "late request audited"
assert_eq refused "$(audit_rows '.audit[-1].result')" "late request refused"
post /v1/routes/r3/drain '{"reason":"x"}' "X-Vantage-Deadline: soon"
assert_eq 400 "$code" "bad deadline"

# frozen agent, SIGCONT before the deadline: applied
kill -STOP "$PID_agent"
dl=$(( $(now_ms) + 3000 ))
curl -s -m 10 -o "$T/late1" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" \
    -H "Idempotency-Key: frozen-1" -H "X-Vantage-Deadline: $dl" \
    -d '{"reason":"frozen"}' "http://127.0.0.1:$api/v1/routes/r3/drain" >"$T/late1.code" &
cpid=$!
sleep 1
kill -CONT "$PID_agent"
wait $cpid
assert_eq 200 "$(cat "$T/late1.code")" "frozen, woken before the deadline: applied"
assert_eq "draining frozen-1" "$(route r3 state) $(route r3 key)" "applied before the deadline"
get "/v1/requests/frozen-1?deadline=$dl"
assert_eq "200 200" "$code $(j .status)" "the key says applied"

# frozen agent, SIGCONT after the deadline: not applied, and final
kill -STOP "$PID_agent"
dl=$(( $(now_ms) + 1000 ))
curl -s -m 10 -o "$T/late2" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" \
    -H "Idempotency-Key: frozen-2" -H "X-Vantage-Deadline: $dl" \
    -d '{"reason":"frozen too"}' "http://127.0.0.1:$api/v1/routes/r4/drain" >"$T/late2.code" &
cpid=$!
sleep 2
kill -CONT "$PID_agent"
wait $cpid
assert_eq 412 "$(cat "$T/late2.code")" "woken after the deadline: refused"
assert_eq active "$(route r4 state)" "not applied after the deadline"
get "/v1/requests/frozen-2?deadline=$dl"
assert_eq "404 not_applied" "$code $(j .error.code)" "the key says not applied"
assert_match 'deadline passed' "$(audit_rows '[.audit[] | select(.target == "r4")][-1].detail')" \
    "the late request is in the audit"
post /v1/routes/undrain '{"routes":["r3"],"reason":"back"}'

# --- every reload by SIGHUP audited (signals that arrive together are one
# reload, so the rows are counted against the reloads the agent logged)
before=$(audit_rows '[.audit[] | select(.action == "reload")] | length')
logged_before=$(grep -c 'SIGHUP from pid' "$T/agent.log")
for i in $(seq 20); do
	kill -HUP "$PID_agent"
	sleep 0.05
done
reloads_audited() {
	local logged rows
	logged=$(( $(grep -c 'SIGHUP from pid' "$T/agent.log") - logged_before ))
	rows=$(( $(audit_rows '[.audit[] | select(.action == "reload")] | length') - before ))
	[ "$logged" -ge 10 ] && [ "$rows" -eq "$logged" ]
}
wait_for 10 reloads_audited || fail "reloads logged: $(( $(grep -c 'SIGHUP from pid' "$T/agent.log") - logged_before )), audited: $(( $(audit_rows '[.audit[] | select(.action == "reload")] | length') - before ))"
assert_match 'SIGHUP from pid [0-9]+' "$(audit_rows '[.audit[] | select(.action == "reload")][-1].detail')" \
    "reload row names the sender"
get /v1/audit/verify
assert_eq "200 true" "$code $(j .ok)" "audit chain after all of it"
stop_agent agent

# --- SIGKILL in the middle of batches: all or none after restart
for round in $(seq 8); do
	start_agent agent "$T/a.conf"
	(
		for i in $(seq 200); do
			curl -s -o /dev/null -m 5 -X POST -H "Authorization: Bearer $TOK" \
			    -d '{"routes":["r3","r4","r5"],"reason":"kill test"}' \
			    "http://127.0.0.1:$api/v1/routes/drain"
			curl -s -o /dev/null -m 5 -X POST -H "Authorization: Bearer $TOK" \
			    -d '{"routes":["r3","r4","r5"],"reason":"kill test"}' \
			    "http://127.0.0.1:$api/v1/routes/undrain"
		done
	) &
	load=$!
	sleep "0.$(( RANDOM % 8 + 2 ))"
	kill -9 "$PID_agent"
	wait "$PID_agent" 2>/dev/null
	kill "$load" 2>/dev/null
	wait "$load" 2>/dev/null
	states=$(sql "$DB" "SELECT count(DISTINCT state || '/' || batch) FROM route_state WHERE name IN ('r3','r4','r5')")
	rows=$(sql "$DB" "SELECT count(*) FROM route_state WHERE name IN ('r3','r4','r5')")
	[ "$rows" -eq 0 ] || [ "$rows" -eq 3 ] || fail "round $round: $rows of 3 routes have a state row"
	[ "$states" -le 1 ] || fail "round $round: routes of one batch differ: $(sql "$DB" "SELECT name, state, batch FROM route_state")"
	bad=$(sql "$DB" "SELECT batch FROM audit WHERE batch != '' AND detail LIKE '%: kill test' GROUP BY batch HAVING count(*) != 3")
	[ -z "$bad" ] || fail "round $round: batch $bad has a partial audit"
done
start_agent agent "$T/a.conf"
get /v1/audit/verify
assert_eq "200 true" "$code $(j .ok)" "audit chain after the kills"
stop_agent agent
exit 0
