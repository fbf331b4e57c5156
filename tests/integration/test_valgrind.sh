#!/bin/bash
# The normal build of vantaged (-O2 -g, agent/vantaged, not the ASan one
# that $VANTAGED names under tests/run.sh) under valgrind memcheck while
# the code that reads untrusted input is driven: the API (good and bad
# tokens, a garbage JWT, bad query strings, malformed, oversized and
# wrongly typed JSON bodies, a drain and an undrain), the HAProxy
# agent-check listener (garbage and a real route name), probes of an HTTP
# server, a closed TCP port and a dnsmasq, a hook, and a SIGHUP reload.
# Passes when valgrind exits 0 after SIGTERM: no memory errors and no
# definite leaks.  Reports provably inside system libraries may be
# suppressed in tests/valgrind.supp, each with a reason.
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || skip "valgrind is not installed"
BIN=$TOP/agent/vantaged
[ -x "$BIN" ] || fail "$BIN not built (make)"
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)

# Only loopback: no proxy for curl (ours or libcurl's in the agent), and
# no debuginfod lookups by valgrind.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
    DEBUGINFOD_URLS
# valgrind is 20-50 times slower, more on a loaded machine
SLOW=${VALGRIND_TEST_SLOW:-60}

api=$(free_port)
hap=$(free_port)
www=$(free_port)
closed=$(free_port)
dns=$(free_port)
U="http://127.0.0.1:$api"

# --- peers -----------------------------------------------------------------
mkdir -p "$T/www"
echo ok >"$T/www/healthz"
bg www python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$www"
have_dns=0
if [ -x "$DNSMASQ" ]; then
	user=()
	[ "$(id -u)" = 0 ] && user=(--user=root)
	bg dnsmasq "$DNSMASQ" --no-resolv --no-hosts --keep-in-foreground \
	    --port="$dns" --listen-address=127.0.0.1 --bind-interfaces \
	    "${user[@]}" --pid-file="$T/dnsmasq.pid" --log-facility=- \
	    --local=/vantage.test/ --host-record=www.vantage.test,10.0.0.1
	have_dns=1
fi

# --- credentials -----------------------------------------------------------
: >"$T/tokens"
chmod 600 "$T/tokens"
mktoken() {	# NAME ROLE -> token on stdout, line appended to $T/tokens
	local out
	out=$("$BIN" token "$1" "$2") || fail "vantaged token $1 $2 failed"
	echo "$out" | sed -n 's/^tokens file line: //p' >>"$T/tokens"
	echo "$out" | sed -n 's/^token: //p'
}
VIEW=$(mktoken vera viewer)
OPER=$(mktoken otto operator)
ADMIN=$(mktoken ada admin)
[ -n "$VIEW" ] && [ -n "$OPER" ] && [ -n "$ADMIN" ] ||
    fail "vantaged token printed no token"
head -c 48 /dev/urandom | base64 | tr -d '\n=' >"$T/hs.key"
chmod 600 "$T/hs.key"
# jwt CLAIMS-JSON: an HS256 JWT over $T/hs.key (python3's stdlib only)
jwt() {
	python3 - "$T/hs.key" "$1" <<'EOP'
import base64, hashlib, hmac, json, sys, time
key = open(sys.argv[1], "rb").read().rstrip(b"\r\n")
claims = json.loads(sys.argv[2])
claims.setdefault("exp", int(time.time()) + 600)
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
m = b(b'{"alg":"HS256","typ":"JWT"}') + "." + b(json.dumps(claims).encode())
print(m + "." + b(hmac.new(key, m.encode(), hashlib.sha256).digest()))
EOP
}

# --- config ----------------------------------------------------------------
write_conf() {	# extra sections on stdin
	agent_conf "$T/a.conf" "$T/data" "$api"
	cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
jwt_key = $T/hs.key
rate = 1000/s burst 1000
[haproxy]
listen = 127.0.0.1:$hap
[probe "web"]
type = http
target = http://127.0.0.1:$www/healthz
interval = 2s
timeout = 2s
fall = 1
rise = 1
expect_status = 200
expect_body = ok
[probe "closed"]
type = tcp
target = 127.0.0.1:$closed
interval = 1s
timeout = 1s
fall = 1
rise = 1
[route "web-a"]
probe = web
pool = web
on_drain = /bin/true
[route "web-b"]
pool = web
[pool "web"]
min_active = 1
EOC
	if [ $have_dns = 1 ]; then
		cat >>"$T/a.conf" <<EOC
[probe "name"]
type = dns
target = www.vantage.test
record = A
server = 127.0.0.1:$dns
expect_answer = 10.0.0.1
interval = 1s
timeout = 1s
fall = 1
rise = 1
EOC
	fi
	cat >>"$T/a.conf"
}
write_conf <<EOC
[route "old"]
[route "odd"]
EOC
"$BIN" -n -f "$T/a.conf" >"$T/check.out" 2>&1 ||
    fail "config refused: $(cat "$T/check.out")"

wait_for 10 curl -sf "http://127.0.0.1:$www/healthz" ||
    fail "http.server did not start"
if [ $have_dns = 1 ]; then
	wait_for 10 grep -q "started" "$T/dnsmasq.log" ||
	    fail "dnsmasq did not start"
fi

# --- the agent under valgrind ----------------------------------------------
# The agent logs to $T/agent.log, valgrind to $T/valgrind.log.  Valgrind
# 3.19 does not know pidfd_open (it warns "unhandled syscall: 434" and
# returns ENOSYS), so here hooks are reaped by hook.c's waitpid polling.
bg agent valgrind --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --track-fds=no --trace-children=no \
    --suppressions="$TOP/tests/valgrind.supp" --num-callers=30 \
    --log-file="$T/valgrind.log" "$BIN" -d -f "$T/a.conf"

vg_summary() {	# the errors and leaks valgrind saw so far
	echo "  --- valgrind ($T/valgrind.log):" >&2
	# every error's first lines, then the totals
	grep -v '^==[0-9]*== *$' "$T/valgrind.log" | awk '
	    /^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|Source and|Argument|Process terminating|[0-9,]+ bytes in [0-9,]+ blocks are definitely)/ { n = 24 }
	    /(HEAP|LEAK|ERROR) SUMMARY|definitely lost:|indirectly lost:/ { n = n > 1 ? n : 1 }
	    n > 0 { print; n-- }' | head -n 250 | sed 's/^/  | /' >&2
}
vg_fail() {
	vg_summary
	fail "$@"
}
# alive: not yet exited (kill -0 would also succeed on a zombie)
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$PID_agent/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

wait_for "$SLOW" grep -q " ready: " "$T/agent.log" ||
    vg_fail "agent under valgrind not ready within ${SLOW}s"

# req METHOD PATH [CURL ARGS...]: $CODE, body in $T/body
req() {
	local m=$1 p=$2
	shift 2
	CODE=$(curl -s -m 20 -o "$T/body" -w '%{http_code}' -X "$m" "$@" \
	    "$U$p") || CODE=000
}
expect() {	# STATUS WHAT
	[ "$CODE" = "$1" ] ||
	    vg_fail "$2: expected HTTP $1, got $CODE: $(head -c 300 "$T/body")"
}
auth() { echo "Authorization: Bearer $1"; }
agentcheck() {	# PYTHON-BYTES-EXPRESSION -> the agent's answer, repr()
	python3 - "$hap" "$1" <<'EOP'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
try:
    s.sendall(eval(sys.argv[2], {}))
except OSError:
    pass
data = b""
try:
    while True:
        d = s.recv(100)
        if not d:
            break
        data += d
except OSError:
    pass
print(repr(data))
EOP
}

# let every probe run a few times (http via libcurl, tcp, dns via c-ares)
probes="web closed"
[ $have_dns = 1 ] && probes="$probes name"
for p in $probes; do
	wait_for "$SLOW" grep -q "probe $p: unknown -> " "$T/agent.log" ||
	    vg_fail "probe $p never changed state"
done
grep -q "probe web: unknown -> up" "$T/agent.log" ||
    vg_fail "http probe not up: $(grep 'probe web' "$T/agent.log")"
grep -q "probe closed: unknown -> down" "$T/agent.log" ||
    vg_fail "tcp probe of a closed port not down"
if [ $have_dns = 1 ]; then
	grep -q "probe name: unknown -> up" "$T/agent.log" ||
	    vg_fail "dns probe not up: $(grep 'probe name' "$T/agent.log")"
fi

# --- reads -----------------------------------------------------------------
req GET /v1/health
expect 200 "health"
for p in /v1/status /v1/routes /v1/audit /v1/audit/verify /metrics \
    "/v1/audit?after=0&limit=5&actor=otto&action=drain" \
    "/v1/probes/web/results?since=0&limit=3" \
    "/v1/probes/closed/results" "/v1/probes/web/series?step=60" \
    /v1/routes/web-b/health; do
	req GET "$p" -H "$(auth "$VIEW")"
	expect 200 "GET $p"
done
for q in "limit=0" "limit=abc" "limit=1e3" "since=-1" "since=12x" \
    "limit=1&limit=2" "bogus=1" "limit=%zz" "since=%00" \
    "limit=99999999999999999999999" "since=$(printf '9%.0s' $(seq 300))" \
    "%=%&=&&&" "limit"; do
	req GET "/v1/probes/web/results?$q" -H "$(auth "$VIEW")"
	expect 400 "results?$q"
done
for q in "step=0" "from=10&to=5" "to=x" "from=1.5"; do
	req GET "/v1/probes/web/series?$q" -H "$(auth "$VIEW")"
	expect 400 "series?$q"
done
for q in "after=x" "limit=-5" "actor=$(printf 'a%.0s' $(seq 2000))"; do
	req GET "/v1/audit?$q" -H "$(auth "$VIEW")"
	[ "$CODE" = 400 ] || [ "$CODE" = 200 ] ||
	    vg_fail "audit?${q:0:40}: expected 400 or 200, got $CODE"
done
req GET /v1/probes/ghost/results -H "$(auth "$VIEW")"
expect 404 "results of an unknown probe"
req GET "/v1/probes/$(printf '%%41%.0s' $(seq 400))/results" -H "$(auth "$VIEW")"
[ "$CODE" = 404 ] || [ "$CODE" = 400 ] || [ "$CODE" = 414 ] ||
    vg_fail "long percent-encoded probe name: got $CODE"

# --- the door: bad tokens, a JWT-looking garbage token, good JWTs ----------
req GET /v1/status
expect 401 "no token"
for bad in vt_notavalidtokenatall "" "$VIEW$VIEW" "${VIEW%?}" \
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA" \
    "eyJ.eyJ.eyJ" "a.b.c" "..." "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIiwiZXhwIjo5OTk5OTk5OTk5fQ." \
    "$(printf 'x%.0s' $(seq 4000)).$(printf 'y%.0s' $(seq 4000)).z"; do
	req GET /v1/status -H "$(auth "$bad")"
	expect 401 "token '${bad:0:40}'"
done
req GET /v1/status -H "Authorization: Basic YWxpY2U6eA=="
expect 401 "Basic instead of Bearer"
req GET /v1/status -H "Authorization: Bearer"
expect 401 "Bearer without a token"
req GET /v1/status -H "$(auth "$(jwt '{"sub":"jay","role":"viewer"}')")"
expect 200 "HS256 JWT"
req GET /v1/status -H "$(auth "$(jwt '{"sub":"jay","role":"viewer","exp":1}')")"
expect 401 "expired JWT"
req GET /v1/status -H "$(auth "$(jwt '{"sub":["x"],"role":{"a":1}}')")"
expect 401 "JWT with claims of the wrong types"
req GET /v1/status -H "$(auth "$VIEW")" \
    -H "X-Vantage-Operator: $(printf 'x%.0s' $(seq 200))"
expect 400 "200-byte X-Vantage-Operator"
req POST /v1/routes/web-b/drain -H "$(auth "$VIEW")" -d '{"reason":"x"}'
expect 403 "viewer drain"
req DELETE /v1/status -H "$(auth "$VIEW")"
expect 405 "DELETE /v1/status"
req GET /v1/nothing -H "$(auth "$VIEW")"
expect 404 "unknown path"

# --- request bodies ----------------------------------------------------------
O=(-H "$(auth "$OPER")" -H "X-Vantage-Operator: otto@bastion" \
    -H "Content-Type: application/json")
bad_body() {	# BODY WHAT: a 400
	req POST /v1/routes/web-b/drain "${O[@]}" --data-binary "$1"
	expect 400 "$2"
}
odd_body() {	# BODY WHAT: any answer but a 5xx or none (route "odd")
	req POST /v1/routes/odd/drain "${O[@]}" --data-binary "$1"
	[[ "$CODE" =~ ^[24][0-9][0-9]$ ]] ||
	    vg_fail "$2: expected a 2xx or 4xx answer, got $CODE"
}
bad_body '{"reason":' "malformed JSON"
bad_body '{"reason":"x"' "unterminated object"
bad_body '' "empty body"
bad_body 'null' "null"
bad_body '["reason"]' "not an object"
bad_body '{"reason":5}' "reason a number"
bad_body '{"reason":"x","ttl_s":"5"}' "ttl_s a string"
bad_body '{"reason":"x","ttl_s":1.5}' "ttl_s not whole"
bad_body '{"reason":"x","ttl_s":1e400}' "ttl_s huge"
bad_body '{"reason":"x","ttl_s":-1}' "ttl_s negative"
bad_body '{"reason":"x","mode":7}' "mode a number"
bad_body '{"reason":"x","mode":"off"}' "bad mode"
bad_body '{"reason":"x","force":"yes"}' "force a string"
bad_body '{"reason":"x","extra":{"a":[1,2,{}]}}' "unknown field"
bad_body "{\"reason\":\"$(printf 'x%.0s' $(seq 501))\"}" "reason over 500 bytes"
bad_body "$(printf '[%.0s' $(seq 5000))" "deep nesting"
# what these should answer is test_routes' business; here only memory
odd_body '{"reason":"\ud800"}' "lone surrogate"
odd_body '{"reason":"\udc00\ud800\u"}' "broken escapes"
odd_body '{"reason":"x\u0000y"}' "NUL in reason"
odd_body "$(printf '\xff\xfe{"reason":"x"}')" "not UTF-8"
odd_body "$(printf '{"reason":"\xc3\x28\xed\xa0\x80"}')" "bad UTF-8 in reason"
odd_body '{"reason":"x","reason":"y"}' "duplicate key"
odd_body '{"reason":"x","ttl_s":9223372036854775808}' "ttl_s over int64"
odd_body "{\"reason\":\"$(printf '\\u00e9%.0s' $(seq 400))\"}" "many escapes"
head -c 70000 /dev/zero | tr '\0' x >"$T/big"
req POST /v1/routes/web-b/drain "${O[@]}" --data-binary @"$T/big"
expect 413 "70000-byte body"
req POST /v1/routes/web-b/drain "${O[@]}" -H "Transfer-Encoding: chunked" \
    --data-binary @"$T/big"
expect 413 "70000-byte chunked body"
req POST /v1/routes/nope/drain "${O[@]}" -d '{"reason":"x"}'
expect 404 "drain of an unknown route"
req POST /v1/routes/web-a/undrain "${O[@]}" -d '{"reason":"x","force":true}'
expect 400 "undrain with force"

# a drain (its hook runs), the pool guard, an undrain
req POST /v1/routes/web-a/drain "${O[@]}" \
    -d '{"reason":"kernel \u00e9 upgrade","ttl_s":600,"mode":"drain"}'
expect 200 "drain web-a"
req POST /v1/routes/web-b/drain "${O[@]}" -d '{"reason":"too many"}'
expect 409 "drain leaving pool web empty"
req POST /v1/routes/old/drain "${O[@]}" -d '{"reason":"bye","mode":"maint"}'
expect 200 "maint old"

# --- the agent-check listener ------------------------------------------------
for garbage in "b''" "b'\\n'" "b'\\x00\\xff\\xfe garbage\\r\\n'" \
    "b'web-a'" "b'web-a\\x00b\\n'" "b'A' * 5000" "b'../../etc/passwd\\n'" \
    "b'%s%s%n\\n'" "b'nosuch\\n'" "b'x' * 64 + b'\\n'" \
    "b'web-a\\nweb-b\\n' * 50"; do
	out=$(agentcheck "$garbage")
	alive || vg_fail "agent died on agent-check input $garbage"
	[[ "$out" =~ ^b\'(down\\n)?\'$ ]] ||
	    [ "$garbage" = "b'web-a\\nweb-b\\n' * 50" ] ||
	    vg_fail "agent-check $garbage: expected b'down\\n' or nothing, got $out"
done
assert_eq "b'up drain\\n'" "$(agentcheck "b'web-a\\n'")" "agent-check web-a"
assert_eq "b'up ready\\n'" "$(agentcheck "b'  web-b \\r\\n'")" "agent-check web-b"
assert_eq "b'maint\\n'" "$(agentcheck "b'old\\n'")" "agent-check old"

req POST /v1/routes/web-a/undrain "${O[@]}" -d '{"reason":"done"}'
expect 200 "undrain web-a"
wait_for "$SLOW" sh -c "curl -s -H '$(auth "$VIEW")' \
    '$U/v1/audit?action=hook' | grep -q 'on_drain exited 0'" ||
    vg_fail "the on_drain hook was not audited"

# --- reloads: SIGHUP that forgets a route, and POST /v1/reload ---------------
write_conf </dev/null
n=$(grep -c "reloaded" "$T/agent.log")
kill -HUP "$PID_agent"
reloaded() { [ "$(grep -c reloaded "$T/agent.log")" -gt "$1" ]; }
wait_for "$SLOW" reloaded "$n" || vg_fail "no reload after SIGHUP"
req GET /v1/routes/old/health
expect 404 "route removed by the reload"
req POST /v1/reload -H "$(auth "$ADMIN")" -d '{"what":1}'
expect 400 "reload with an unknown field"
req POST /v1/reload -H "$(auth "$ADMIN")"
expect 200 "admin POST /v1/reload"
req GET /v1/audit/verify -H "$(auth "$VIEW")"
expect 200 "audit verify after the reloads"
[[ "$(cat "$T/body")" == *'"ok":true'* ]] ||
    vg_fail "audit chain broken: $(head -c 300 "$T/body")"
req GET /v1/status -H "$(auth "$ADMIN")"
expect 200 "status after the reloads"

# --- stop, and valgrind's verdict ---------------------------------------------
alive || vg_fail "the agent died under valgrind"
kill -TERM "$PID_agent"
gone() { ! alive; }
wait_for "$SLOW" gone ||
    vg_fail "the agent did not exit within ${SLOW}s of SIGTERM"
rc=0
wait "$PID_agent" || rc=$?
[ $rc -eq 99 ] && vg_fail "valgrind found errors or definite leaks (exit 99)"
[ $rc -eq 0 ] || vg_fail "vantaged under valgrind exited with $rc"
grep -q "ERROR SUMMARY: 0 errors" "$T/valgrind.log" ||
    vg_fail "valgrind's summary is not clean"
grep -q "stopped:" "$T/agent.log" || vg_fail "no orderly stop"
exit 0
