#!/bin/bash
# grpc probes against a python grpcio server implementing
# grpc.health.v1.Health/Check (generic handlers; the messages encoded by
# hand), in cleartext h2c and over TLS with a test CA: SERVING is up, the
# status toggled to NOT_SERVING is down with that text and back up again,
# an unknown service and a server without the health service are down
# with their grpc-status, TLS passes with the CA and fails without it or
# with another authority, tls_verify = no passes without it, cert_min_days
# degrades; cleartext to the TLS port, a port that never answers and a
# closed port fail clearly; vantaged -n names file:line and key for bad
# grpc keys.  What is
# checked is what an operator sees: GET /v1/status.
. "$(dirname "$0")/lib.sh"

[ -x "$VANTAGED" ] || fail "no $VANTAGED (make first)"
command -v openssl >/dev/null || skip "no openssl"
python3 -c 'import grpc' 2>/dev/null || skip "no python3-grpcio"

PLAIN=$(free_port)
TLS=$(free_port)
BARE=$(free_port)
SILENT=$(free_port)
CLOSED=$(free_port)
API=$(free_port)
U="http://127.0.0.1:$API"

# A test CA and a server certificate it signed, for localhost and 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.crt" -days 30 -subj "/CN=vantage test CA" \
    >"$T/openssl.out" 2>&1 || fail "openssl: CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/srv.key" -out "$T/srv.csr" -subj /CN=localhost \
    >>"$T/openssl.out" 2>&1 || fail "openssl: server key"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
    -CAcreateserial -out "$T/srv.crt" -days 30 -extfile "$T/srv.ext" \
    >>"$T/openssl.out" 2>&1 || fail "openssl: server cert"
rm -f "$T/openssl.out"

# The health server: statuses per service name from $T/state
# ("name=STATUS" lines, "" the whole server), read at every call.
cat >"$T/health.py" <<'EOP'
import socket
import sys
import threading
from concurrent import futures
import grpc

state, plain, tls, bare, silent, cert, key = sys.argv[1:8]
CODES = {"UNKNOWN": 0, "SERVING": 1, "NOT_SERVING": 2, "SERVICE_UNKNOWN": 3}

def varint(b, i):
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return n, i

def service_of(req):
    # HealthCheckRequest {string service = 1}: field 1, length-delimited
    i, svc = 0, b""
    while i < len(req):
        tag, i = varint(req, i)
        if tag & 7 == 2:
            n, i = varint(req, i)
            if tag >> 3 == 1:
                svc = req[i:i + n]
            i += n
        elif tag & 7 == 0:
            _, i = varint(req, i)
        else:
            raise ValueError("unexpected wire type")
    return svc.decode()

def check(req, ctx):
    svc = service_of(req)
    with open(state) as f:
        states = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
    if svc not in states:
        # what grpcio-health-checking's servicer answers
        ctx.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
    st = CODES[states[svc]]
    # HealthCheckResponse {ServingStatus status = 1}; 0 is left out
    return bytes([0x08, st]) if st else b""

health = grpc.method_handlers_generic_handler("grpc.health.v1.Health",
    {"Check": grpc.unary_unary_rpc_method_handler(check)})
s = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
s.add_generic_rpc_handlers((health,))
s.add_insecure_port("127.0.0.1:" + plain)
with open(cert, "rb") as c, open(key, "rb") as k:
    s.add_secure_port("127.0.0.1:" + tls,
        grpc.ssl_server_credentials([(k.read(), c.read())]))
s.start()
# a gRPC server without the health service
b = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
b.add_insecure_port("127.0.0.1:" + bare)
b.start()
# a port that accepts and never answers
ls = socket.socket()
ls.bind(("127.0.0.1", int(silent)))
ls.listen(16)
held = []
def hold():
    while True:
        held.append(ls.accept()[0])
threading.Thread(target=hold, daemon=True).start()
print("ready", flush=True)
s.wait_for_termination()
EOP

set_state() {	# lines of name=STATUS
	printf '%s\n' "$@" >"$T/state.tmp" && mv "$T/state.tmp" "$T/state"
}
set_state "=SERVING" "web=SERVING"
bg health python3 "$T/health.py" "$T/state" "$PLAIN" "$TLS" "$BARE" \
    "$SILENT" "$T/srv.crt" "$T/srv.key"
wait_for 15 grep -q ready "$T/health.log" || fail "health server did not start"

H="Authorization: Bearer $(new_token ops viewer)"
agent_conf "$T/a.conf" "$T/data" "$API"
echo "tokens = $T/tokens" >>"$T/a.conf"
probe() {	# NAME TARGET [KEY = VALUE lines...]
	local name=$1 target=$2
	shift 2
	printf '[probe "%s"]\ntype = grpc\ntarget = %s\ninterval = 500ms\n' \
	    "$name" "$target"
	printf 'timeout = 500ms\nfall = 1\nrise = 1\n'
	[ $# -gt 0 ] && printf '%s\n' "$@"
}
{
	probe server "127.0.0.1:$PLAIN"
	probe web "127.0.0.1:$PLAIN" "service = web"
	probe nope "127.0.0.1:$PLAIN" "service = no.such.Service"
	probe bare "127.0.0.1:$BARE"
	probe tls-ca "127.0.0.1:$TLS" "tls = yes" "ca = $T/ca.crt"
	probe tls-name "127.0.0.1:$TLS" "tls = yes" "ca = $T/ca.crt" \
	    "authority = localhost" "service = web"
	probe tls-other "127.0.0.1:$TLS" "tls = yes" "ca = $T/ca.crt" \
	    "authority = other.example"
	probe tls-noca "127.0.0.1:$TLS" "tls = yes"
	probe tls-noverify "127.0.0.1:$TLS" "tls = yes" "tls_verify = no"
	probe tls-days "127.0.0.1:$TLS" "tls = yes" "ca = $T/ca.crt" \
	    "cert_min_days = 60"
	probe silent "127.0.0.1:$SILENT"
	probe h2c-to-tls "127.0.0.1:$TLS"
	probe closed "127.0.0.1:$CLOSED"
} >>"$T/a.conf"

# Bad keys: vantaged -n names the file, the line and the key.
check_bad() {	# WHAT EXPECTED-REGEX SED-EXPR
	sed -e "$3" "$T/a.conf" >"$T/bad.conf"
	"$VANTAGED" -n -f "$T/bad.conf" >"$T/bad.out" 2>&1 &&
	    fail "vantaged -n accepted $1"
	assert_match "$2" "$(cat "$T/bad.out")" "vantaged -n with $1"
}
line=$(grep -n "^target = 127.0.0.1:$PLAIN$" "$T/a.conf" | head -1 | cut -d: -f1)
check_bad "a target without port" \
    "bad\.conf:$line: probe 'server': target must be HOST:PORT, '127\.0\.0\.1' has no port" \
    "${line}s/:$PLAIN\$//"
line=$(grep -n "^tls = yes$" "$T/a.conf" | head -1 | cut -d: -f1)
check_bad "tls = maybe" "bad\.conf:$line: tls: 'maybe' is not yes or no" \
    "${line}s/yes/maybe/"
line=$(grep -n "^service = web$" "$T/a.conf" | head -1 | cut -d: -f1)
check_bad "ca without tls" "bad\.conf:$((line + 1)): probe 'web': ca needs tls = yes" \
    "${line}a ca = $T/ca.crt"
check_bad "an authority with a port" \
    "bad\.conf:$((line + 1)): probe 'web': bad authority 'localhost:1'" \
    "${line}a authority = localhost:1"
rm -f "$T/bad.conf" "$T/bad.out"
"$VANTAGED" -n -f "$T/a.conf" >"$T/check.log" 2>&1 ||
    fail "vantaged -n rejected the config: $(cat "$T/check.log")"
rm -f "$T/check.log"

start_agent agent "$T/a.conf"

# seen NAME: "state|status|error|cert_days" of NAME in GET /v1/status.
seen() {
	curl -s -H "$H" "$U/v1/status" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["probes"]:
    if p["name"] == sys.argv[1]:
        l = p["last"] or {}
        print("%s|%s|%s|%s" % (p["state"], l.get("status"), l.get("error"),
            l.get("cert_days")))' "$1"
}
matches() { [[ "$(seen "$1")" =~ $2 ]]; }
# expect NAME REGEX: NAME comes to match REGEX within 10 s.
expect() {
	wait_for 10 matches "$1" "$2" ||
	    fail "probe $1: expected /$2/, got '$(seen "$1")'"
}

expect server '^up\|ok\|\|None$'
expect web '^up\|ok\|\|None$'
expect nope "^down\|fail\|service 'no\.such\.Service': grpc-status 5 NOT_FOUND: unknown service\|None$"
expect bare '^down\|fail\|grpc-status 12 UNIMPLEMENTED(: .*)?\|None$'
expect tls-ca '^up\|ok\|\|(29|30)$'
expect tls-name '^up\|ok\|\|(29|30)$'
expect tls-other "^down\|fail\|SSL: no alternative certificate subject name matches target host name 'other\.example'\|(29|30|None)$"
expect tls-noca '^down\|fail\|SSL certificate problem: unable to get local issuer certificate\|None$'
expect tls-noverify '^up\|ok\|\|(29|30)$'
expect tls-days '^(degraded|up)\|degraded\|certificate expires in (29|30) days \(cert_min_days 60\)\|(29|30)$'
expect silent '^down\|fail\|timeout after 500ms\|None$'
expect h2c-to-tls '^down\|fail\|no HTTP/2 answer to cleartext h2c \(tls = no\): .*\|None$'
expect closed "^down\|fail\|Failed to connect to 127\.0\.0\.1 port $CLOSED .*Connection refused\|None$"

# The service goes NOT_SERVING and comes back, seen over h2c and TLS.
set_state "=SERVING" "web=NOT_SERVING"
expect web "^down\|fail\|service 'web': NOT_SERVING\|None$"
expect tls-name "^down\|fail\|service 'web': NOT_SERVING\|(29|30)$"
expect server '^up\|ok\|\|None$'
set_state "=SERVING" "web=SERVING"
expect web '^up\|ok\|\|None$'
expect tls-name '^up\|ok\|\|(29|30)$'
# The whole server's UNKNOWN (an empty HealthCheckResponse) fails too.
set_state "=UNKNOWN" "web=SERVING"
expect server '^down\|fail\|UNKNOWN\|None$'

stop_agent agent
exit 0
