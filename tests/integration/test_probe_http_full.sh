#!/usr/bin/env bash
# test_probe_http_full.sh - the http probe's request and assertion keys
# against real peers on loopback: a private nginx (HTTP/2 over TLS, h2c,
# a redirect chain, header checks, auth_basic, a JSON file the test
# rewrites, client-certificate TLS, a name pinned with resolve), a
# python echo server for request bodies, and tinyproxy as the proxy.
# What is checked is what an operator sees: each probe's state and
# error text in /v1/status, the definition in /v1/probes/NAME, and the
# secret of auth_file nowhere in the API, the log or any error text.
source "$(dirname "$0")/lib.sh"

for cmd in nginx openssl tinyproxy python3; do
	command -v "$cmd" >/dev/null || skip "$cmd is not installed"
done

P_H=$(free_port)	# HTTP/1.1: redirects, headers, auth, JSON
P_H2C=$(free_port)	# cleartext HTTP/2
P_S2=$(free_port)	# TLS with h2
P_S1=$(free_port)	# TLS, HTTP/1.1 only
P_M=$(free_port)	# TLS asking for a client certificate
P_PY=$(free_port)	# the echo server
P_PX=$(free_port)	# tinyproxy
P_API=$(free_port)
mkdir -p "$T/www" "$T/data"
SECRET_PW='S3cret-Pw-91x'

# A test CA; the server's certificate (localhost, 127.0.0.1 and a name no
# DNS knows) and a client certificate signed by it.
ossl() { openssl "$@" >>"$T/openssl.out" 2>&1 || fail "openssl $1: $(tail -3 "$T/openssl.out")"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days 60 -subj /CN=vantage-test-ca -keyout "$T/ca.key" -out "$T/ca.pem"
for who in server client; do
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -subj "/CN=$who" -keyout "$T/$who.key" -out "$T/$who.csr"
done
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:pinned.vantage.invalid\n' >"$T/server.ext"
printf 'extendedKeyUsage=clientAuth\n' >"$T/client.ext"
for who in server client; do
	ossl x509 -req -in "$T/$who.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -CAcreateserial -days 60 -extfile "$T/$who.ext" -out "$T/$who.pem"
done
chmod 600 "$T/client.key"

# auth_basic's users; the probe's credential in a private file.
printf 'probeuser:%s\n' "$(openssl passwd -apr1 "$SECRET_PW")" >"$T/htpasswd"
printf 'Basic probeuser:%s\n' "$SECRET_PW" >"$T/auth"
printf 'Basic probeuser:wrong-password\n' >"$T/auth-bad"
chmod 600 "$T/auth" "$T/auth-bad"
SECRET_B64=$(printf 'probeuser:%s' "$SECRET_PW" | base64)

json_ok() {
	printf '{"status":"ok","checks":[{"name":"db","status":"ok"}],"items":[1,2,3]}\n' \
	    >"$T/www/health.json.new" && mv "$T/www/health.json.new" "$T/www/health.json"
}
json_fail() {
	printf '{"status":"ok","checks":[{"name":"db","status":"fail"}],"items":[1,2,3]}\n' \
	    >"$T/www/health.json.new" && mv "$T/www/health.json.new" "$T/www/health.json"
}
json_ok
echo authed >"$T/www/auth"

nginx_start nginx 1 <<EOF
	log_format probe '\$server_port \$server_protocol \$request_method \$uri';
	ssl_certificate $T/server.pem;
	ssl_certificate_key $T/server.key;
	server {
		listen 127.0.0.1:$P_H;
		access_log $T/nginx-access.log probe;
		location = /r1 { return 302 /r2; }
		location = /r2 { return 302 /r3; }
		location = /r3 { return 302 /final; }
		location = /final { return 200 "final\n"; }
		location = /viaproxy { return 200 "proxied\n"; }
		location = /hdr {
			if (\$http_x_probe != "v") { return 403 "no header\n"; }
			if (\$http_x_two != "two words") { return 403 "no two\n"; }
			add_header X-Served-By "nginx-test";
			return 200 "headers ok\n";
		}
		location = /auth {
			# a file, not return: return comes before the access phase
			auth_basic "probe";
			auth_basic_user_file $T/htpasswd;
			root $T/www;
		}
		location = /health.json {
			root $T/www;
			default_type application/json;
		}
	}
	server { listen 127.0.0.1:$P_H2C http2; access_log $T/nginx-access.log probe; location / { return 200 "h2c\n"; } }
	server { listen 127.0.0.1:$P_S2 ssl http2; access_log $T/nginx-access.log probe; location / { return 200 "h2\n"; } }
	server { listen 127.0.0.1:$P_S1 ssl; access_log $T/nginx-access.log probe; location / { return 200 "h1\n"; } }
	server {
		listen 127.0.0.1:$P_M ssl;
		ssl_client_certificate $T/ca.pem;
		ssl_verify_client on;
		location / { return 200 "client ok\n"; }
	}
EOF

# Echo server: a request passes when its method, type and body are the
# expected ones, and is answered with what was received as JSON;
# /reflect returns the Authorization header it got (a hostile server).
cat >"$T/echo.py" <<'EOP'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        if self.path == "/reflect":
            out = {"auth": self.headers.get("Authorization", "")}
            code = 200
        else:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            out = {"method": self.command, "type": self.headers.get("Content-Type"),
                   "json": parsed}
            code = 200 if parsed == {"hello": "world"} else 400
        data = json.dumps(out).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        sys.stderr.write("%s %s %s %r\n" % (self.command, self.path, code, body))
        sys.stderr.flush()
    do_GET = do_POST = do_PUT = answer
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOP
bg echo python3 "$T/echo.py" "$P_PY"

cat >"$T/tinyproxy.conf" <<EOF
Port $P_PX
Listen 127.0.0.1
Timeout 30
LogFile "$T/tinyproxy-requests.log"
LogLevel Info
MaxClients 20
Allow 127.0.0.1
EOF
bg tinyproxy tinyproxy -d -c "$T/tinyproxy.conf"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $P_H $P_H2C $P_S2 $P_S1 $P_M $P_PY $P_PX; do
	wait_for 5 port_open "$p" || fail "nothing listens on $p"
done

printf '{"hello":"world"}' >"$T/body.json"
TOKEN=$(new_token ops viewer)
H="Authorization: Bearer $TOKEN"
U=http://127.0.0.1:$P_API
agent_conf "$T/vantaged.conf" "$T/data" "$P_API"
echo "tokens = $T/tokens" >>"$T/vantaged.conf"
probe() {	# NAME TARGET [KEY = VALUE]...
	printf '[probe "%s"]\ntype = http\ntarget = %s\n' "$1" "$2"
	printf 'interval = 500ms\ntimeout = 450ms\nfall = 1\nrise = 1\n'
	shift 2
	printf '%s\n' "$@"
}
HT=http://127.0.0.1:$P_H
TLS=("ca = $T/ca.pem")
{
	probe h2 "https://localhost:$P_S2/v" "http_version = 2" "${TLS[@]}"
	probe h2need "https://localhost:$P_S1/v" "http_version = 2" "${TLS[@]}"
	probe h2c "http://127.0.0.1:$P_H2C/v" "http_version = h2c"
	probe h11 "https://localhost:$P_S2/v11" "http_version = 1.1" "${TLS[@]}"
	probe redir3 "$HT/r1" "follow_redirects = 3" "expect_body = final"
	probe redir2 "$HT/r1" "follow_redirects = 2"
	probe redir0 "$HT/r1" "expect_status = 302"
	probe hdr "$HT/hdr" "header = X-Probe: v" "header = X-Two: two words" \
	    "expect_header = x-served-by: ^nginx-test\$" \
	    "expect_header = Content-Type: ^text/plain"
	probe hdrmiss "$HT/hdr" "header = X-Two: two words"
	probe hdrwrong "$HT/hdr" "header = X-Probe: v" "header = X-Two: two words" \
	    "expect_header = X-Served-By: ^other\$"
	probe hdrabsent "$HT/final" "expect_header = X-Nope:"
	probe bodynot "$HT/final" "expect_body_not = final"
	probe auth "$HT/auth" "auth_file = $T/auth" "expect_body = authed"
	probe authbad "$HT/auth" "auth_file = $T/auth-bad"
	probe noauth "$HT/auth"
	probe json "$HT/health.json" 'expect_json = status == "ok"' \
	    'expect_json = checks[0].status == "ok"' 'expect_json = items.# >= 2'
	probe put "http://127.0.0.1:$P_PY/put" "method = PUT" \
	    'body = {"hello":"world"}' "header = Content-Type: application/json" \
	    'expect_json = method == "PUT"' 'expect_json = json.hello == "world"' \
	    'expect_json = type == "application/json"'
	probe postfile "http://127.0.0.1:$P_PY/post" "body_file = $T/body.json" \
	    'expect_json = method == "POST"'
	probe reflect "http://127.0.0.1:$P_PY/reflect" "auth_file = $T/auth" \
	    'expect_json = auth == "nothing"'
	probe pinned "https://pinned.vantage.invalid:$P_S2/pin" \
	    "resolve = pinned.vantage.invalid:$P_S2:127.0.0.1" "${TLS[@]}"
	probe unpinned "https://pinned.vantage.invalid:$P_S2/pin" "${TLS[@]}"
	probe proxy "$HT/viaproxy" "proxy = http://127.0.0.1:$P_PX" \
	    "expect_body = proxied"
	probe mtls "https://localhost:$P_M/" "client_cert = $T/client.pem" \
	    "client_key = $T/client.key" "${TLS[@]}"
	probe mtls_none "https://localhost:$P_M/" "${TLS[@]}"
	probe insecure "https://localhost:$P_S1/" "tls_insecure = yes"
	probe untrusted "https://localhost:$P_S1/"
} >>"$T/vantaged.conf"

"$VANTAGED" -n -f "$T/vantaged.conf" >"$T/check.out" 2>&1 ||
    fail "config rejected: $(cat "$T/check.out")"

# Refused at load, each naming the key's problem (and a path, never the
# content of a secret).
cp "$T/auth" "$T/auth-open"
chmod 644 "$T/auth-open"
printf 'Token %s\n' "$SECRET_PW" >"$T/auth-odd"
chmod 600 "$T/auth-odd"
agent_conf "$T/bad.conf" "$T/data" "$P_API"
{
	probe open "$HT/auth" "auth_file = $T/auth-open"
	probe odd "$HT/auth" "auth_file = $T/auth-odd"
	probe badhdr "$HT/" "header = X-Probe v"
	probe authhdr "$HT/" "header = Authorization: Basic eA=="
	probe badjson "$HT/" "expect_json = checks[0.status == 1"
	probe badop "$HT/" "expect_json = status = 1"
	probe badval "$HT/" "expect_json = status == ok"
	probe both "$HT/" "body = x" "body_file = $T/body.json"
	probe headjson "$HT/" "method = HEAD" 'expect_json = a == 1'
	probe keyonly "https://localhost:$P_M/" "client_cert = $T/client.pem"
	probe h2plain "$HT/" "http_version = 2"
	probe resolvebad "$HT/" "resolve = host:80:not-an-ip"
	probe insecureca "https://localhost:$P_S1/" "tls_insecure = yes" "${TLS[@]}"
} >>"$T/bad.conf"
rc=0
"$VANTAGED" -n -f "$T/bad.conf" >"$T/bad.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "exit status of vantaged -n on bad http probes"
for want in \
    "auth_file: $T/auth-open: group or others can access it (mode 644); it holds secrets: chmod 600 $T/auth-open" \
    "probe 'odd': auth_file $T/auth-odd: expected one line 'Basic user:password' or 'Bearer TOKEN'" \
    "probe 'badhdr': header 'X-Probe v' is not 'Name: value'" \
    "probe 'authhdr': put the Authorization header's credential in auth_file" \
    "probe 'badjson': expect_json: bad index in PATH 'checks[0.status'" \
    "probe 'badop': expect_json: '=' is not an operator" \
    "probe 'badval': expect_json: VALUE 'ok' is not a JSON literal" \
    "probe 'both': use body or body_file, not both" \
    "probe 'headjson': expect_json needs a method with a response body, not HEAD" \
    "probe 'keyonly': client_cert and client_key go together" \
    "probe 'h2plain': http_version 2 is HTTP/2 over TLS and needs an https:// target" \
    "probe 'resolvebad': resolve 'host:80:not-an-ip': 'not-an-ip' is not an IP address" \
    "probe 'insecureca': ca is never used with tls_insecure = yes"; do
	grep -qF "$want" "$T/bad.out" ||
	    fail "vantaged -n: expected '$want', got: $(cat "$T/bad.out")"
done
grep -qF "$SECRET_PW" "$T/bad.out" &&
    fail "vantaged -n printed the secret of auth_file: $(cat "$T/bad.out")"

start_agent agent "$T/vantaged.conf"

# states: "name state|error" per probe, from GET /v1/status
states() {
	curl -s -H "$H" "$U/v1/status" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["probes"]:
    last = p["last"] or {}
    print("%s %s|%s" % (p["name"], p["state"], last.get("error", "")))'
}
# expect NAME=STATE[:ERROR-PREFIX]... : all of them at once
expect() {
	local s e name want
	s=$(states) || return 1
	for e in "$@"; do
		name=${e%%=*}
		want=${e#*=}
		case $want in
		*:*) grep -qxF "$name ${want%%:*}|${want#*:}" <<<"$s" ||
		    grep -qF "$name ${want%%:*}|${want#*:}" <<<"$s" || return 1 ;;
		*) grep -q "^$name $want|" <<<"$s" || return 1 ;;
		esac
	done
}
UPS="h2 h2c h11 redir3 redir0 hdr auth json put postfile pinned proxy mtls insecure"
want=()
for p in $UPS; do want+=("$p=up"); done
want+=(
    "h2need=down:HTTP/1.1 used, expected HTTP/2 (the server did not offer h2 by ALPN)"
    "redir2=down:more than 2 redirects (follow_redirects = 2)"
    "hdrmiss=down:status 403, expected 200-399"
    'hdrwrong=down:expect_header X-Served-By: ^other$: got "nginx-test"'
    "hdrabsent=down:expect_header X-Nope:: no such header"
    "bodynot=down:body contains 'final'"
    "authbad=down:status 401, expected 200-399"
    "noauth=down:status 401, expected 200-399"
    'reflect=down:expect_json auth == "nothing": got "Basic [redacted]"'
    "unpinned=down:Could not resolve host: pinned.vantage.invalid"
    "mtls_none=down:status 400, expected 200-399"
    "untrusted=down:SSL certificate problem: unable to get local issuer certificate"
)
if ! wait_for 20 expect "${want[@]}"; then
	s=$(states)
	for e in "${want[@]}"; do
		expect "$e" || fail "probe ${e%%=*}: expected ${e#*=}, got '$(grep "^${e%%=*} " <<<"$s")'"
	done
fi

# Unverified TLS is said in the status itself, not only in the options.
ins=$(curl -s -H "$H" "$U/v1/status" | jq -r '[.probes[] |
    select(.tls_insecure == true) | .name] | sort | join(" ")')
assert_eq "insecure" "$ins" "probes the status marks tls_insecure"

# The JSON endpoint changes: the assertion's exact text, then up again.
json_fail
wait_for 10 expect 'json=down:expect_json checks[0].status == "ok": got "fail"' ||
    fail "probe json after the file changed: $(states | grep '^json ')"
assert_eq 'json down|expect_json checks[0].status == "ok": got "fail"' \
    "$(states | grep '^json ')" "state and error of probe json"
json_ok
wait_for 10 expect "json=up" || fail "probe json not up again: $(states | grep '^json ')"

# auth_file is read at load: a reload after rotating it takes the new
# credential (here a wrong one) although the probe's keys are the same.
printf 'Basic probeuser:rotated-Wrong-1\n' >"$T/auth.new"
chmod 600 "$T/auth.new"
mv "$T/auth.new" "$T/auth"
kill -HUP "$PID_agent"
wait_for 10 grep -q "probe auth: changed, restarting" "$T/agent.log" ||
    fail "reload after rotating auth_file did not restart probe auth"
wait_for 10 expect "auth=down:status 401, expected 200-399" ||
    fail "probe auth after the rotation: $(states | grep '^auth ')"
wait_for 5 grep -q "probe redir3: changed" "$T/agent.log" &&
    fail "the reload restarted probe redir3, which did not change"

# The version used, as the servers saw it.
for p in "$P_S2 HTTP/2.0 GET /v" "$P_H2C HTTP/2.0 GET /v" \
    "$P_S2 HTTP/1.1 GET /v11" "$P_S2 HTTP/2.0 GET /pin" \
    "$P_H HTTP/1.1 GET /final" "$P_H HTTP/1.1 GET /viaproxy"; do
	grep -qxF "$p" "$T/nginx-access.log" ||
	    fail "nginx access log: expected a line '$p', got: $(sort -u "$T/nginx-access.log" | head -20)"
done
# pinned is the only probe on /pin that reached nginx
# The proxied request went through tinyproxy, to the probe's URL.
grep -qF "GET http://127.0.0.1:$P_H/viaproxy" "$T/tinyproxy-requests.log" ||
    fail "tinyproxy log has no request for /viaproxy: $(tail -5 "$T/tinyproxy-requests.log")"
# The bodies arrived as sent.
grep -qF "PUT /put 200 '{\"hello\":\"world\"}'" "$T/echo.log" ||
    fail "echo server saw no PUT with the body: $(tail -5 "$T/echo.log")"
grep -qF "POST /post 200 '{\"hello\":\"world\"}'" "$T/echo.log" ||
    fail "echo server saw no POST with body_file's body: $(tail -5 "$T/echo.log")"

# The definition shows the options and the auth_file's path, never its
# content; nothing the agent says or logs holds the secret.
def=$(curl -s -H "$H" "$U/v1/probes/auth") || fail "GET /v1/probes/auth failed"
assert_match "\"auth_file\":\"$T/auth\"" "$def" "auth_file in /v1/probes/auth"
assert_match '"follow_redirects":0,.*"ip_family":"any"' "$def" "defaults in /v1/probes/auth"
def2=$(curl -s -H "$H" "$U/v1/probes/hdr")
assert_match '"header":\["X-Probe: v","X-Two: two words"\]' "$def2" "header in /v1/probes/hdr"
assert_match '"expect_header":\["x-served-by: \^nginx-test\$","Content-Type: \^text/plain"\]' \
    "$def2" "expect_header in /v1/probes/hdr"
for secret in "$SECRET_PW" "$SECRET_B64"; do
	for what in "/v1/probes/auth" "/v1/probes/reflect" "/v1/status" \
	    "/v1/probes/reflect/results" "/metrics"; do
		out=$(curl -s -H "$H" "$U$what")
		[[ "$out" == *"$secret"* ]] && fail "GET $what shows the secret: $out"
	done
	grep -qF "$secret" "$T/agent.log" && fail "the agent log holds the secret"
done
[ -n "${SHOW:-}" ] && { echo "$def"; states; }
stop_agent agent
grep -qF "$SECRET_PW" "$T/data/vantage.db" && fail "the store holds the secret"
exit 0
