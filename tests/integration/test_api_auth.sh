#!/bin/bash
# The API's door: static tokens and roles, JWTs (HS256, RS256, ES256 and
# every way of forging or stretching one), the refusal of a tokens file
# others can read, request limits (413, 400, 404, 405, 429), parameter
# validation, the contract's /v1/status shape, and that a refused
# mutating request is audited.
. "$(dirname "$0")/lib.sh"

# PyJWT (Debian python3-jwt) makes the JWTs; pyenv's python may lack it.
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import jwt, cryptography' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || skip "python3 with the jwt and cryptography modules (Debian python3-jwt) not found"

port=$(free_port)
U="http://127.0.0.1:$port"
db="$T/data/vantage.db"

# --- credentials ----------------------------------------------------------
mktoken() {	# NAME ROLE -> token on stdout, line appended to $T/tokens
	local out
	out=$("$VANTAGED" token "$1" "$2") || fail "vantaged token $1 $2 failed"
	echo "$out" | sed -n 's/^tokens file line: //p' >>"$T/tokens"
	echo "$out" | sed -n 's/^token: //p'
}
: >"$T/tokens"
chmod 600 "$T/tokens"
VIEW=$(mktoken alice viewer)
OPER=$(mktoken olga operator)
ADMIN=$(mktoken adam admin)
[ -n "$VIEW" ] && [ -n "$ADMIN" ] || fail "vantaged token printed no token"

head -c 48 /dev/urandom | base64 | tr -d '\n=' >"$T/hs.key"
chmod 600 "$T/hs.key"
openssl genrsa -out "$T/rsa.pem" 2048 2>/dev/null &&
    openssl rsa -in "$T/rsa.pem" -pubout -out "$T/rsa.pub" 2>/dev/null ||
    fail "openssl could not make an RSA key"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/ec.pem" &&
    openssl ec -in "$T/ec.pem" -pubout -out "$T/ec.pub" 2>/dev/null ||
    fail "openssl could not make an EC key"
openssl genrsa -out "$T/other.pem" 2048 2>/dev/null ||
    fail "openssl could not make a second RSA key"

cat >"$T/mkjwt.py" <<'EOF'
# mkjwt.py ALG KEYFILE [claim=value ...]: prints a JWT.  Numbers are
# relative to now when they start with + or -.  ALG "none" signs nothing;
# "confuse" signs HS256 with the bytes of KEYFILE (a public key);
# "dup-alg" and "dup-role" sign HS256 with KEYFILE but repeat "alg" in the
# header or "role" in the claims (the last one says admin).
import base64, hashlib, hmac, json, sys, time
import jwt
alg, keyfile = sys.argv[1], sys.argv[2]
claims = {"sub": "jwt-user", "role": "viewer", "exp": int(time.time()) + 300}
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    if v == "DEL":
        claims.pop(k, None)
    elif v[:1] in "+-" and v[1:].isdigit():
        claims[k] = int(time.time()) + int(v)
    else:
        claims[k] = v
def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
if alg in ("dup-alg", "dup-role"):
    h = '{"alg":"HS256","typ":"JWT"}'
    p = json.dumps(claims)
    if alg == "dup-alg":
        h = '{"alg":"RS256","alg":"HS256","typ":"JWT"}'
    else:
        p = p[:-1] + ', "role": "admin"}'
    h, p = b64(h.encode()), b64(p.encode())
    key = open(keyfile, "rb").read().strip()
    sig = b64(hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest())
    print(h + "." + p + "." + sig)
elif alg in ("none", "confuse"):
    h = b64(json.dumps({"alg": "none" if alg == "none" else "HS256",
                        "typ": "JWT"}).encode())
    p = b64(json.dumps(claims).encode())
    sig = ""
    if alg == "confuse":
        key = open(keyfile, "rb").read()
        sig = b64(hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest())
    print(h + "." + p + "." + sig)
else:
    key = open(keyfile).read()
    if alg == "HS256":
        key = key.strip()
    print(jwt.encode(claims, key, algorithm=alg))
EOF
mkjwt() { "$PY" "$T/mkjwt.py" "$@" || fail "mkjwt $* failed"; }

# --- the world-readable tokens file is refused at start -------------------
cp "$T/tokens" "$T/tokens.open"
chmod 644 "$T/tokens.open"
agent_conf "$T/open.conf" "$T/data-open" "$(free_port)"
echo "tokens = $T/tokens.open" >>"$T/open.conf"
rc=0
timeout 20 "$VANTAGED" -d -f "$T/open.conf" >"$T/open.log" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "agent started with a world-readable tokens file"
grep -q "chmod 600" "$T/open.log" ||
    fail "refusal does not say chmod 600: $(tail -1 "$T/open.log")"
rm -f "$T/open.log"

# --- the agent under test -------------------------------------------------
write_conf() {	# JWT_KEY RATE
	agent_conf "$T/a.conf" "$T/data" "$port"
	cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
jwt_key = $1
rate = $2
[probe "self"]
type = tcp
target = 127.0.0.1:$port
interval = 200ms
EOC
}
write_conf "$T/hs.key" "1000/s burst 1000"
start_agent agent "$T/a.conf"

# req METHOD PATH [CURL ARGS...]: sets CODE; body in $T/body, headers in
# $T/hdrs.
req() {
	local m=$1 p=$2
	shift 2
	CODE=$(curl -s -o "$T/body" -D "$T/hdrs" -w '%{http_code}' -X "$m" \
	    "$@" "$U$p") || CODE=000
}
# expect STATUS ERRCODE WHAT: the last reply had this status and, unless
# ERRCODE is -, the contract's error object with this code.
expect() {
	[ "$CODE" = "$1" ] ||
	    fail "$3: expected HTTP $1, got $CODE: $(head -c 300 "$T/body")"
	[ "$2" = - ] && return 0
	# the contract's shape, checked without starting a python each time
	[[ "$(cat "$T/body")" =~ ^\{\"error\":\{\"code\":\"([a-z_]+)\",\"message\":\".+\"\}\}$ ]] ||
	    fail "$3: not an error object: $(head -c 300 "$T/body")"
	assert_eq "$2" "${BASH_REMATCH[1]}" "$3: error code"
}
hdr() {	# NAME: value of a header of the last reply
	grep -i "^$1:" "$T/hdrs" | head -1 | sed 's/^[^:]*: *//' | tr -d '\r'
}
auth() { echo "Authorization: Bearer $1"; }

wait_for 10 curl -sf "$U/v1/health" || fail "no /v1/health"

# --- static tokens and roles ----------------------------------------------
req GET /v1/status
expect 401 unauthorized "no token"
assert_match '^Bearer' "$(hdr WWW-Authenticate)" "WWW-Authenticate of a 401"
req GET /v1/status -H "$(auth vt_notavalidtokenatall)"
expect 401 unauthorized "unknown token"
req GET /v1/status -H "Authorization: Basic YWxpY2U6eA=="
expect 401 unauthorized "Basic instead of Bearer"

wait_for 10 sh -c "curl -s -H '$(auth "$VIEW")' $U/v1/status |
    grep -q '\"last\":{'" || fail "the probe never reported a result"
req GET /v1/status -H "$(auth "$VIEW")"
expect 200 - "viewer GET /v1/status"
assert_match '^application/json' "$(hdr Content-Type)" "Content-Type"
assert_eq "no-store" "$(hdr Cache-Control)" "Cache-Control"
assert_match '^[0-9]{13}$' "$(hdr X-Vantage-Time)" "X-Vantage-Time"
"$PY" - "$T/body" <<'EOF' || fail "/v1/status does not match the contract: $(head -c 600 "$T/body")"
import json, sys
d = json.load(open(sys.argv[1]))
num = (int,)
opt = (int, type(None))
a = d["agent"]
assert a["name"] == "test" and isinstance(a["version"], str)
for k in ("uptime_s", "time_ms", "started_ms"):
    assert isinstance(a[k], num), k
assert a["caller"] == {"name": "alice", "role": "viewer"}, a.get("caller")
(p,) = d["probes"]
assert p["name"] == "self" and p["type"] == "tcp"
assert p["state"] in ("up", "degraded", "down", "unknown")
assert isinstance(p["state_since_ms"], num) and p["interval_ms"] == 200
l = p["last"]
assert l["status"] in ("ok", "degraded", "fail")
for k in ("t_ms", "latency_us"):
    assert isinstance(l[k], num), k
for k in ("dns_us", "connect_us", "tls_us", "ttfb_us", "code", "cert_days"):
    assert isinstance(l[k], opt), k
assert isinstance(l["error"], str)
s = p["stats_1h"]
for k in ("runs", "ok", "degraded", "fail"):
    assert isinstance(s[k], num), k
assert s["runs"] >= 1 and s["runs"] == s["ok"] + s["degraded"] + s["fail"]
assert isinstance(s["avg_us"], opt) and isinstance(s["p95_us"], opt)
assert isinstance(d["routes"], list) and isinstance(d["pools"], list)
EOF

req POST /v1/reload -H "$(auth "$VIEW")" -H "X-Vantage-Operator: alice@bastion"
expect 403 forbidden "viewer POST /v1/reload"
req POST /v1/reload -H "$(auth "$OPER")"
expect 403 forbidden "operator POST /v1/reload"
req POST /v1/reload
expect 401 unauthorized "anonymous POST /v1/reload"
row=$(sql "$db" "SELECT actor || '|' || operator || '|' || source || '|' ||
    result FROM audit WHERE action = 'refused' AND detail LIKE '%403%'
    ORDER BY id LIMIT 1")
assert_eq "alice|alice@bastion|127.0.0.1|refused" "$row" \
    "audit row of the viewer's refused reload"
n=$(sql "$db" "SELECT count(*) FROM audit WHERE action = 'refused' AND
    detail LIKE '%401%'")
assert_eq 1 "$n" "audit rows of the anonymous reload"
req POST /v1/reload -H "$(auth "$ADMIN")"
expect 200 - "admin POST /v1/reload"
n=$(sql "$db" "SELECT count(*) FROM audit WHERE action = 'reload' AND
    actor = 'adam' AND result = 'ok'")
assert_eq 1 "$n" "audit rows of the admin's reload"

# --- limits and mistakes --------------------------------------------------
head -c 70000 /dev/zero | tr '\0' x >"$T/big"
req POST /v1/reload -H "$(auth "$ADMIN")" --data-binary @"$T/big"
expect 413 too_large "70000-byte body"
req POST /v1/reload -H "$(auth "$ADMIN")" -H "Transfer-Encoding: chunked" \
    --data-binary @"$T/big"
expect 413 too_large "70000-byte chunked body"
req POST /v1/reload -H "$(auth "$ADMIN")" -d '{"force":'
expect 400 bad_request "malformed JSON"
req POST /v1/reload -H "$(auth "$ADMIN")" -d '{"what":1}'
expect 400 bad_request "unknown field"
req GET /v1/nothing -H "$(auth "$VIEW")"
expect 404 not_found "unknown path"
req GET /v1/status/ -H "$(auth "$VIEW")"
expect 404 not_found "trailing slash"
req DELETE /v1/status -H "$(auth "$VIEW")"
expect 405 method_not_allowed "DELETE /v1/status"
assert_eq "GET" "$(hdr Allow)" "Allow of a 405"
req GET /v1/reload -H "$(auth "$ADMIN")"
expect 405 method_not_allowed "GET /v1/reload"
req GET /v1/status -H "$(auth "$VIEW")" -H "X-Vantage-Operator: $(printf 'x%.0s' $(seq 200))"
expect 400 bad_request "200-byte X-Vantage-Operator"

# --- results and series parameters ----------------------------------------
for q in "limit=0" "limit=5001" "limit=abc" "limit=1e3" "since=-1" \
    "since=12x" "limit=1&limit=2" "bogus=1" "limit=%zz" "since=%00"; do
	req GET "/v1/probes/self/results?$q" -H "$(auth "$VIEW")"
	expect 400 bad_request "results?$q"
done
for q in "step=90" "step=0" "step=59" "from=10&to=5" "from=0&to=9000000000000&step=60" \
    "to=x" "from=1.5"; do
	req GET "/v1/probes/self/series?$q" -H "$(auth "$VIEW")"
	expect 400 bad_request "series?$q"
done
req GET "/v1/probes/ghost/results" -H "$(auth "$VIEW")"
expect 404 not_found "results of an unknown probe"
wait_for 10 sh -c "curl -s -H '$(auth "$VIEW")' '$U/v1/probes/self/results?limit=2' |
    grep -q '\"more\":true'" || fail "results never had more than 2 rows"
req GET "/v1/probes/self/results?limit=2&since=0" -H "$(auth "$VIEW")"
expect 200 - "results?limit=2"
next=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]
assert d["probe"] == "self" and len(r) == 2 and d["more"] is True
assert r[0]["t_ms"] < r[1]["t_ms"] and d["next"] == r[1]["t_ms"]
print(d["next"])' "$T/body") || fail "results page: $(head -c 400 "$T/body")"
req GET "/v1/probes/self/results?limit=1&since=$next" -H "$(auth "$VIEW")"
expect 200 - "results after the cursor"
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["results"][0]["t_ms"] > int(sys.argv[2])' "$T/body" "$next" ||
    fail "the cursor did not move on: $(head -c 300 "$T/body")"
req GET "/v1/probes/self/series?step=300" -H "$(auth "$VIEW")"
expect 200 - "series?step=300"
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["probe"] == "self" and d["step_s"] == 300 and isinstance(d["points"], list)
' "$T/body" || fail "series: $(head -c 300 "$T/body")"

# --- JWT, HS256 -----------------------------------------------------------
jwt_expect() {	# STATUS WHAT TOKEN
	req GET /v1/status -H "$(auth "$3")"
	if [ "$1" = 200 ]; then
		expect 200 - "$2"
	else
		expect "$1" unauthorized "$2"
	fi
}
jwt_expect 200 "HS256 JWT" "$(mkjwt HS256 "$T/hs.key")"
jwt_expect 200 "HS256 JWT expired 30 s ago (leeway)" \
    "$(mkjwt HS256 "$T/hs.key" exp=-30)"
jwt_expect 401 "expired HS256 JWT" "$(mkjwt HS256 "$T/hs.key" exp=-300)"
jwt_expect 401 "HS256 JWT without exp" "$(mkjwt HS256 "$T/hs.key" exp=DEL)"
jwt_expect 401 "HS256 JWT with nbf in the future" \
    "$(mkjwt HS256 "$T/hs.key" nbf=+600)"
jwt_expect 200 "HS256 JWT with nbf in the past" \
    "$(mkjwt HS256 "$T/hs.key" nbf=-10)"
echo "some-other-secret-that-is-long-enough-for-hs256" >"$T/wrong.key"
jwt_expect 401 "HS256 JWT with the wrong key" "$(mkjwt HS256 "$T/wrong.key")"
jwt_expect 401 "alg none" "$(mkjwt none "$T/hs.key")"
jwt_expect 401 "HS256 JWT with an unknown role" \
    "$(mkjwt HS256 "$T/hs.key" role=root)"
jwt_expect 401 "HS256 JWT without sub" "$(mkjwt HS256 "$T/hs.key" sub=DEL)"
jwt_expect 401 "RS256 JWT against an HS256 key" "$(mkjwt RS256 "$T/rsa.pem")"
# libjwt reads the last of two equal keys, the pre-check the first
jwt_expect 401 "JWT header with alg twice" "$(mkjwt dup-alg "$T/hs.key")"
jwt_expect 401 "JWT claims with role twice" "$(mkjwt dup-role "$T/hs.key")"
assert_match 'repeat a key' "$(cat "$T/body")" "duplicate role refusal"
jwt_expect 200 "HS256 JWT valid for 23 h" "$(mkjwt HS256 "$T/hs.key" exp=+82800)"
jwt_expect 401 "HS256 JWT valid for 25 h (jwt_max_lifetime 24h)" \
    "$(mkjwt HS256 "$T/hs.key" exp=+90000)"
assert_match 'jwt_max_lifetime' "$(cat "$T/body")" "lifetime refusal"
tok=$(mkjwt HS256 "$T/hs.key")
jwt_expect 401 "HS256 JWT with a flipped signature byte" \
    "${tok%?}$(if [ "${tok: -1}" = A ]; then echo B; else echo A; fi)"
# caller: rendered per request from the credential, never from a snapshot
caller_is() {	# TOKEN JSON WHAT
	req GET /v1/status -H "$(auth "$1")"
	expect 200 - "$3"
	[[ "$(cat "$T/body")" =~ \"caller\":(\{[^}]*\}) ]] ||
	    fail "$3: no caller object: $(head -c 300 "$T/body")"
	assert_eq "$2" "${BASH_REMATCH[1]}" "$3: caller"
}
caller_is "$OPER" '{"name":"olga","role":"operator"}' "operator token caller"
caller_is "$ADMIN" '{"name":"adam","role":"admin"}' "admin token caller"
caller_is "$(mkjwt HS256 "$T/hs.key" sub=jwt-op role=operator)" \
    '{"name":"jwt-op","role":"operator"}' "operator JWT caller"
caller_is "$(mkjwt HS256 "$T/hs.key")" \
    '{"name":"jwt-user","role":"viewer"}' "viewer JWT caller"
req POST /v1/reload -H "$(auth "$(mkjwt HS256 "$T/hs.key" sub=jwt-op role=operator)")"
expect 403 forbidden "operator JWT POST /v1/reload"
n=$(sql "$db" "SELECT count(*) FROM audit WHERE action = 'refused' AND
    actor = 'jwt-op'")
assert_eq 1 "$n" "audit rows naming the JWT's sub"
req POST /v1/reload -H "$(auth "$(mkjwt HS256 "$T/hs.key" sub=jwt-admin role=admin)")"
expect 200 - "admin JWT POST /v1/reload"

# --- JWT, RS256 and ES256 (reloaded with SIGHUP) --------------------------
reload_agent() {
	local n
	n=$(grep -c "reloaded" "$T/agent.log")
	kill -HUP "$PID_agent"
	wait_for 10 sh -c "[ \$(grep -c reloaded '$T/agent.log') -gt $n ]" ||
	    fail "the agent did not reload"
}
write_conf "$T/rsa.pub" "1000/s burst 1000"
reload_agent
jwt_expect 200 "RS256 JWT" "$(mkjwt RS256 "$T/rsa.pem")"
jwt_expect 401 "RS256 JWT signed by another key" "$(mkjwt RS256 "$T/other.pem")"
jwt_expect 401 "HS256 JWT signed with the RSA public key (alg confusion)" \
    "$(mkjwt confuse "$T/rsa.pub")"
jwt_expect 401 "HS256 JWT against an RSA key" "$(mkjwt HS256 "$T/hs.key")"
jwt_expect 401 "alg none against an RSA key" "$(mkjwt none "$T/rsa.pub")"
req GET /v1/status -H "$(auth "$VIEW")"
expect 200 - "static token next to a JWT key"

write_conf "$T/ec.pub" "1000/s burst 1000"
reload_agent
jwt_expect 200 "ES256 JWT" "$(mkjwt ES256 "$T/ec.pem")"
jwt_expect 401 "RS256 JWT against an EC key" "$(mkjwt RS256 "$T/rsa.pem")"
jwt_expect 401 "HS256 JWT signed with the EC public key" \
    "$(mkjwt confuse "$T/ec.pub")"

# a reload with a world-readable tokens file is refused, the old one stays
chmod 644 "$T/tokens"
kill -HUP "$PID_agent"
wait_for 10 grep -q "chmod 600" "$T/agent.log" ||
    fail "reload with a world-readable tokens file was not refused"
chmod 600 "$T/tokens"
req GET /v1/status -H "$(auth "$VIEW")"
expect 200 - "old tokens after a refused reload"

# --- rate limit -----------------------------------------------------------
write_conf "$T/ec.pub" "2/s burst 3"
reload_agent
got429=0
for i in $(seq 12); do
	req POST /v1/reload -H "$(auth "$VIEW")"
	if [ "$CODE" = 429 ]; then
		got429=1
		expect 429 rate_limited "flood"
		assert_match '^[0-9]+$' "$(hdr Retry-After)" "Retry-After"
		break
	fi
done
[ $got429 = 1 ] || fail "12 quick requests at 2/s burst 3: no 429"
n=$(sql "$db" "SELECT count(*) FROM audit WHERE action = 'refused' AND
    detail LIKE '%429%'")
assert_eq 1 "$n" "audit rows of the rate-limited mutating request"
req GET /v1/health
expect 200 - "health check during the flood (exempt from the limit)"
sleep 1.2
req GET /v1/status -H "$(auth "$VIEW")"
expect 200 - "after the flood, once the bucket refilled"

stop_agent agent
grep -q "ERROR: AddressSanitizer\|runtime error" "$T/agent.log" &&
    fail "sanitizer report in the agent's log"
exit 0
