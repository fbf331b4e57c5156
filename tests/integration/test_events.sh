#!/bin/bash
# GET /v1/events: the stored state changes newest first with their cause,
# a probe filter, since/until, a cursor a page at a time, and incidents
# (a run away from UP: start, end, duration; one still open); bad
# parameters are 400, and a viewer token is enough.
. "$(dirname "$0")/lib.sh"

api=$(free_port)
target=$(free_port)
TOK=$(new_token vera viewer)
agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[probe "flappy"]
type = tcp
target = 127.0.0.1:$target
interval = 100ms
timeout = 100ms
fall = 1
rise = 1
[probe "steady"]
type = tcp
target = 127.0.0.1:$api
interval = 100ms
EOC
tcp_listener target "$target"
start_agent agent "$T/a.conf"
get() {	# PATH: $code, $T/resp
	code=$(curl -s -o "$T/resp" -w '%{http_code}' \
	    -H "Authorization: Bearer $TOK" "http://127.0.0.1:$api$1")
}
j() { jq -r "$1" "$T/resp"; }
events_of() {	# PROBE: how many stored events it has
	get "/v1/events?probe=$1&limit=1000"
	j '.events | length'
}
has_events() { [ "$(events_of flappy)" -ge "$1" ]; }
# a first UP is no news: nothing stored
wait_for 10 grep -q "probe flappy: unknown -> up" "$T/agent.log" || fail "flappy never came up"
sleep 0.3
assert_eq 0 "$(events_of flappy)" "a first UP is not an event"
t0=$(date +%s%3N)
kill "$PID_target"; wait "$PID_target" 2>/dev/null
wait_for 10 has_events 1 || fail "no event for going down"
sleep 0.3
tcp_listener target "$target"
wait_for 10 has_events 2 || fail "no event for coming back"
kill "$PID_target"; wait "$PID_target" 2>/dev/null
wait_for 10 has_events 3 || fail "no event for going down again"

get "/v1/events?probe=flappy"
assert_eq 200 "$code" "events of one probe"
assert_eq "down up down" "$(j '[.events[0:3][] | .to] | join(" ")')" "newest first"
assert_eq "up" "$(j '.events[0].from')" "from"
assert_match 'connect.*(refused|Connection refused)' "$(j '.events[0].cause')" "the cause is the tipping result's error"
[ "$(j '.events[0].result_t_ms')" -le "$(j '.events[0].t_ms')" ] || fail "result time after the change"
assert_eq "" "$(j '[.events[] | select(.probe != "flappy")] | .[0].probe // ""')" "the filter holds"
assert_eq "2 true false" "$(j '"\(.incidents | length) \(.incidents[0].open) \(.incidents[1].open)"')" \
    "one open incident, one closed"
d=$(j '.incidents[1].duration_ms')
[ "$d" -ge 200 ] && [ "$d" -lt 10000 ] || fail "closed incident lasted $d ms"
assert_eq "down" "$(j '.incidents[1].worst')" "worst state"
assert_eq null "$(j '.incidents[0].end_ms')" "open incident has no end"

# pages
get "/v1/events?probe=flappy&limit=1"
assert_eq "1 true" "$(j '"\(.events | length) \(.more)"')" "first page"
first=$(j '.events[0].id'); next=$(j .next)
get "/v1/events?probe=flappy&limit=1&cursor=$next"
second=$(j '.events[0].id')
[ "$second" -lt "$first" ] || fail "the second page is not older ($second after $first)"
# since/until
get "/v1/events?since=$t0"
assert_eq 0 "$(j '[.events[] | select(.t_ms < '"$t0"')] | length')" "since"
get "/v1/events?until=$((t0 - 1))&probe=flappy"
assert_eq "0 0" "$(j '"\(.events | length) \(.incidents | length)"')" "until: nothing before the first change"
# all probes: steady never changed
get "/v1/events"
assert_eq "3 0" "$(j '"\([.events[] | select(.probe == "flappy")] | length) \([.events[] | select(.probe == "steady")] | length)"')" \
    "events of every probe"
# bad input
for q in "limit=0" "limit=1001" "since=x" "cursor=0" "since=10&until=5" "probe=" "bogus=1"; do
	get "/v1/events?$q"
	assert_eq 400 "$code" "events?$q"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api/v1/events")
assert_eq 401 "$code" "events need a token"
stop_agent agent
