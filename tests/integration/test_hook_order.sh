#!/bin/bash
# Hooks of one route run one at a time and in order: 30 quick flips of a
# route whose hooks take 300 ms never run two of its hooks at once, the
# last hook to finish matches the route's final state, and every change's
# hook is either run or audited as skipped.  Hooks of different routes
# still run side by side.
. "$(dirname "$0")/lib.sh"

api=$(free_port)
TOK=$(new_token alice operator)

# HOOK LOG WHICH: records start and end, and any overlap within a route
cat >"$T/hook.sh" <<'EOH'
#!/bin/sh
log=$1 which=$2
if ! mkdir "$log.lock" 2>/dev/null; then
	echo "OVERLAP $which" >>"$log"
fi
echo "start $which" >>"$log"
sleep 0.3
echo "end $which" >>"$log"
rmdir "$log.lock" 2>/dev/null
exit 0
EOH
chmod +x "$T/hook.sh"

agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
rate = 1000/s burst 1000
[route "flip"]
on_drain = $T/hook.sh $T/flip.log drain
on_undrain = $T/hook.sh $T/flip.log undrain
[route "other"]
on_drain = $T/hook.sh $T/other.log drain
on_undrain = $T/hook.sh $T/other.log undrain
EOC
start_agent agent "$T/a.conf"

post() {	# PATH BODY
	code=$(curl -s -m 10 -o "$T/resp" -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $TOK" -d "$2" "http://127.0.0.1:$api$1")
	[ "$code" = 200 ] || fail "POST $1: $code $(cat "$T/resp")"
}
hook_rows() {	# RESULT: hook audit rows of route flip with that result
	curl -s -H "Authorization: Bearer $TOK" \
	    "http://127.0.0.1:$api/v1/audit?action=hook&limit=1000" |
	    jq "[.audit[] | select(.target == \"flip\" and .result == \"$1\")] | length"
}

post /v1/routes/other/drain '{"reason":"side by side"}'
for i in $(seq 15); do
	post /v1/routes/flip/drain '{"reason":"flip"}'
	post /v1/routes/flip/undrain '{"reason":"flop"}'
done
post /v1/routes/flip/drain '{"reason":"final"}'

# wait until no hook of flip runs and none is queued
settled() {
	[ ! -d "$T/flip.log.lock" ] &&
	    [ $(( $(hook_rows ok) + $(hook_rows failed) + $(hook_rows skipped) )) -ge 31 ]
}
wait_for 20 settled || fail "hooks did not settle: $(hook_rows ok) ok, $(hook_rows skipped) skipped"
sleep 0.5
! grep -q OVERLAP "$T/flip.log" || fail "two hooks of one route at once: $(grep -c OVERLAP "$T/flip.log") overlaps"
assert_eq "end drain" "$(tail -n 1 "$T/flip.log")" "the last hook to finish matches the final state"
ran=$(grep -c '^start' "$T/flip.log")
[ "$ran" -lt 10 ] || fail "$ran hooks ran for 31 changes: waiting ones were not coalesced"
assert_eq 31 $(( $(hook_rows ok) + $(hook_rows skipped) )) "every change's hook run or audited as skipped"
assert_eq "$ran" "$(hook_rows ok)" "every hook that ran is audited"
assert_match 'superseded by a later change' "$(curl -s -H "Authorization: Bearer $TOK" \
    "http://127.0.0.1:$api/v1/audit?action=hook&limit=1000" |
    jq -r '[.audit[] | select(.result == "skipped")][0].detail')" "skip reason"
# the other route's hook ran while flip's were busy
assert_eq "start drain" "$(head -n 1 "$T/other.log")" "other route's hook ran"
stop_agent agent
