#!/bin/bash
# A real HAProxy in front of two backends whose servers ask vantaged's
# agent-check listener about their routes.  Drains through the API must
# show up on HAProxy's stats socket (DRAIN / MAINT / UP), a client loop
# through HAProxy sees no failed request while a route drains, and ttl
# expiry, drain_timeout, the pool guard and an agent restart (SIGTERM and
# SIGKILL) behave.
. "$(dirname "$0")/lib.sh"

command -v haproxy >/dev/null || skip "haproxy is not installed (.ci/deps has it)"
# the system python starts in 0.1 s; a pyenv shim may take 2 s
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH

api=$(free_port)
hap=$(free_port)
fe=$(free_port)
b1=$(free_port)
b2=$(free_port)

# Backends: each answers its own name.
for b in web-eu:$b1 web-us:$b2; do
	mkdir -p "$T/www-${b%%:*}"
	echo "${b%%:*}" >"$T/www-${b%%:*}/index.html"
	bg "backend-${b%%:*}" python3 -m http.server --bind 127.0.0.1 \
	    --directory "$T/www-${b%%:*}" "${b##*:}"
done

TOK=$(new_token alice operator)

agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[haproxy]
listen = 127.0.0.1:$hap
[route "web-eu"]
pool = web
[route "web-us"]
pool = web
[route "web-ap"]
drain_timeout = 2s
[pool "web"]
min_active = 1
EOC

cat >"$T/haproxy.cfg" <<EOC
global
	stats socket $T/haproxy.sock level admin
defaults
	mode http
	timeout connect 1s
	timeout client 5s
	timeout server 5s
	retries 2
	option redispatch
frontend fe
	bind 127.0.0.1:$fe
	default_backend be
backend be
	balance roundrobin
	server web-eu 127.0.0.1:$b1 check inter 500ms agent-check agent-port $hap agent-inter 500ms agent-send "web-eu\n"
	server web-us 127.0.0.1:$b2 check inter 500ms agent-check agent-port $hap agent-inter 500ms agent-send "web-us\n"
backend be2
	server web-ap 127.0.0.1:$b1 check inter 500ms agent-check agent-port $hap agent-inter 500ms agent-send "web-ap\n"
EOC

for p in $b1 $b2; do
	wait_for 10 curl -sf "http://127.0.0.1:$p/" || fail "backend on $p did not start"
done
start_agent agent "$T/a.conf"
bg haproxy haproxy -f "$T/haproxy.cfg" -db
wait_for 10 test -S "$T/haproxy.sock" || fail "haproxy did not start"

# ha_status SERVER: UP, DRAIN, MAINT... ("DRAIN (agent)" is DRAIN)
ha_status() {
	haproxy_status "$T/haproxy.sock" "$1"
}
# expect_status SERVER STATUS SECONDS
expect_status() {
	local end=$((SECONDS + $3)) got
	while :; do
		got=$(ha_status "$1")
		[ "$got" = "$2" ] && return 0
		[ $SECONDS -ge $end ] && fail "haproxy: $1 expected $2, got '$got'"
		sleep 0.1
	done
}
# api METHOD PATH [BODY]: status code in $code, body in $T/resp
api() {
	code=$(curl -s -o "$T/resp" -w '%{http_code}' -X "$1" \
	    -H "Authorization: Bearer $TOK" -H "X-Vantage-Operator: alice@bastion" \
	    ${3:+-H "Content-Type: application/json" -d "$3"} \
	    "http://127.0.0.1:$api$2")
}
route_field() {	# ROUTE FIELD
	api GET /v1/routes
	jq -r ".routes[] | select(.name == \"$1\") | .$2" "$T/resp"
}

expect_status web-eu UP 10
expect_status web-us UP 10
expect_status web-ap UP 10

# --- drain under load: zero failed requests, DRAIN for it, UP for the other
cat >"$T/client.py" <<'EOP'
import sys, time, urllib.request
url, secs, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end = time.time() + secs
ok = fail = 0
with open(out, "w") as f:
    while time.time() < end:
        t = time.time()
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                body = r.read().decode().strip()
                if r.status == 200:
                    ok += 1
                    f.write("%.3f %s\n" % (t, body))
                    f.flush()
                else:
                    fail += 1
                    f.write("%.3f FAIL %d\n" % (t, r.status))
        except Exception as e:
            fail += 1
            f.write("%.3f FAIL %s\n" % (t, e))
        time.sleep(0.01)
print(ok, fail)
EOP
python3 "$T/client.py" "http://127.0.0.1:$fe/" 5 "$T/hits" >"$T/client.out" 2>&1 &
client=$!
hits_20() { [ -f "$T/hits" ] && [ "$(wc -l <"$T/hits")" -ge 20 ]; }
wait_for 10 hits_20 || fail "client loop through haproxy did not start"
api POST /v1/routes/web-eu/drain '{"reason":"kernel upgrade"}'
assert_eq 200 "$code" "drain web-eu"
expect_status web-eu DRAIN 3
drained_at=$(date +%s.%N)
assert_eq UP "$(ha_status web-us)" "web-us while web-eu drains"
wait "$client"
read -r okn failn <"$T/client.out"
assert_eq 0 "$failn" "failed requests through haproxy during the drain (ok $okn)"
[ "$okn" -gt 50 ] || fail "client loop made only $okn requests"
# once HAProxy shows DRAIN, new requests go to web-us only
late=$(awk -v t="$drained_at" '$1 > t + 0.2 && $2 != "web-us"' "$T/hits" | wc -l)
assert_eq 0 "$late" "requests sent to web-eu after it showed DRAIN"
grep -q " web-eu$" "$T/hits" || fail "web-eu served nothing before the drain"

api POST /v1/routes/web-eu/undrain '{"reason":"done"}'
assert_eq 200 "$code" "undrain web-eu"
expect_status web-eu UP 3

# --- maint
api POST /v1/routes/web-eu/drain '{"reason":"disk swap","mode":"maint"}'
assert_eq 200 "$code" "maint web-eu"
expect_status web-eu MAINT 3
api POST /v1/routes/web-eu/undrain '{"reason":"disk swapped"}'
expect_status web-eu UP 3

# --- ttl expiry returns it by itself, audited as system
api POST /v1/routes/web-eu/drain '{"reason":"short","ttl_s":3}'
assert_eq 200 "$code" "drain with ttl"
expect_status web-eu DRAIN 3
expect_status web-eu UP 6
assert_eq active "$(route_field web-eu state)" "state after ttl"
assert_eq system "$(route_field web-eu actor)" "actor after ttl"
api GET "/v1/audit?action=expire"
assert_eq "system web-eu ok" "$(jq -r '.audit[-1] | "\(.actor) \(.target) \(.result)"' "$T/resp")" \
    "audit row of the expiry"

# --- drain_timeout: draining becomes maint
api POST /v1/routes/web-ap/drain '{"reason":"retire"}'
assert_eq 200 "$code" "drain web-ap"
expect_status web-ap DRAIN 3
expect_status web-ap MAINT 5
assert_eq maint "$(route_field web-ap state)" "web-ap after drain_timeout"
api GET "/v1/audit?action=drain_timeout"
assert_eq "web-ap" "$(jq -r '.audit[-1].target' "$T/resp")" "drain_timeout audited"
api POST /v1/routes/web-ap/undrain '{"reason":"back"}'
expect_status web-ap UP 3

# --- pool guard: the last active route of pool web stays unless forced
api POST /v1/routes/web-eu/drain '{"reason":"one"}'
assert_eq 200 "$code" "drain web-eu (pool keeps web-us)"
api POST /v1/routes/web-us/drain '{"reason":"two"}'
assert_eq 409 "$code" "drain web-us leaving pool web empty"
assert_eq pool_guard "$(jq -r .error.code "$T/resp")" "409 code"
assert_match "pool web would keep 0 of 2 routes taking traffic \(now 1, min_active 1\)" \
    "$(jq -r .error.message "$T/resp")" "409 message"
sleep 1.2
assert_eq UP "$(ha_status web-us)" "web-us after a refused drain"
api POST /v1/routes/web-us/drain '{"reason":"two","force":true}'
assert_eq 200 "$code" "forced drain"
assert_eq true "$(jq -r .route.forced "$T/resp")" "forced flag"
expect_status web-us DRAIN 3
api GET "/v1/audit?action=drain"
assert_eq "refused forced" "$(jq -r '[.audit[-2].result, .audit[-1].result] | join(" ")' "$T/resp")" \
    "audit results of the refused and the forced drain"
api POST /v1/routes/web-us/undrain '{"reason":"ok"}'
expect_status web-us UP 3

# --- the drain survives a restart: SIGTERM, then SIGKILL
assert_eq draining "$(route_field web-eu state)" "web-eu before restart"
stop_agent agent
start_agent agent "$T/a.conf"
assert_eq draining "$(route_field web-eu state)" "web-eu after SIGTERM restart"
assert_eq "one" "$(route_field web-eu reason)" "reason after restart"
sleep 1.2
assert_eq DRAIN "$(ha_status web-eu)" "haproxy after SIGTERM restart"
kill -KILL "$PID_agent"
wait "$PID_agent" 2>/dev/null
start_agent agent "$T/a.conf"
assert_eq draining "$(route_field web-eu state)" "web-eu after SIGKILL restart"
sleep 1.2
assert_eq DRAIN "$(ha_status web-eu)" "haproxy after SIGKILL restart"
assert_eq UP "$(ha_status web-us)" "web-us after SIGKILL restart"
api GET /v1/audit/verify
assert_eq true "$(jq -r .ok "$T/resp")" "audit chain after the restarts"
stop_agent agent
exit 0
