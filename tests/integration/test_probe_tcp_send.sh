#!/bin/bash
# tcp probes that talk: a banner matched by expect, a request (send, with
# escapes) and its reply, a reply that does not match (the operator sees
# it escaped), a server that closes without a word, and the same over TLS
# (tls = yes) with verification and cert days.  Checked through GET
# /v1/status as an operator sees it.
. "$(dirname "$0")/lib.sh"

[ -x "$VANTAGED" ] || fail "no $VANTAGED (make first)"
command -v openssl >/dev/null || skip "no openssl"

PLAIN=$(free_port)
MUTE=$(free_port)
TLS90=$(free_port)
TLS5=$(free_port)
API=$(free_port)
U="http://127.0.0.1:$API"
H="Authorization: Bearer $(new_token ops viewer)"

# mkcert NAME DAYS: self-signed EC certificate for localhost.
mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -keyout "$T/$1.key" -out "$T/$1.crt" -days "$2" \
	    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
	    >"$T/openssl-$1.out" 2>&1 || fail "openssl req for $1"
	rm -f "$T/openssl-$1.out"
}
mkcert c90 90
mkcert c5 5

# A line server: banner "220 vantage-test ready", then one line read:
# PING gets PONG, anything else an error with an escape sequence in it;
# then close.  One port stays mute and closes at once.  The TLS ports
# speak the same over TLS.
cat >"$T/srv.py" <<'EOP'
import socket, ssl, sys, threading
def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(64)
    return s
def talk(c):
    try:
        c.settimeout(3)
        c.sendall(b"220 vantage-test ready\r\n")
        line = b""
        while not line.endswith(b"\n"):
            d = c.recv(1)
            if not d:
                return
            line += d
        if line == b"PING\r\n":
            c.sendall(b"+PONG\r\n")
        else:
            c.sendall(b"-ERR unknown \x1b[31mcommand\r\n")
    except (OSError, ssl.SSLError):
        pass
    finally:
        c.close()
def serve(s, ctx, mute):
    while True:
        c, _ = s.accept()
        if mute:
            c.close()
            continue
        if ctx is not None:
            try:
                c.settimeout(3)
                c = ctx.wrap_socket(c, server_side=True)
            except (OSError, ssl.SSLError):
                c.close()
                continue
        threading.Thread(target=talk, args=(c,), daemon=True).start()
def tls(crt, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx
plain, mute, t90, t5 = (listen(p) for p in sys.argv[1:5])
t = sys.argv[5]
for s, ctx, m in ((mute, None, True), (t90, tls(t + "/c90.crt", t + "/c90.key"), False),
                  (t5, tls(t + "/c5.crt", t + "/c5.key"), False)):
    threading.Thread(target=serve, args=(s, ctx, m), daemon=True).start()
print("ready", flush=True)
serve(plain, None, False)
EOP
bg srv python3 "$T/srv.py" "$PLAIN" "$MUTE" "$TLS90" "$TLS5" "$T"
wait_for 10 grep -q ready "$T/srv.log" || fail "line servers did not start"

agent_conf "$T/a.conf" "$T/data" "$API"
echo "tokens = $T/tokens" >>"$T/a.conf"
cat >>"$T/a.conf" <<EOF
[probe "banner"]
type = tcp
target = 127.0.0.1:$PLAIN
expect = ^220 vantage-test
interval = 200ms
rise = 1
fall = 1

[probe "ping"]
type = tcp
target = 127.0.0.1:$PLAIN
send = PING\r\n
expect = \+PONG
interval = 200ms
rise = 1
fall = 1

[probe "wrong"]
type = tcp
target = 127.0.0.1:$PLAIN
send = \x50ONG\r\n
expect = \+PONG
interval = 200ms
rise = 1
fall = 1

[probe "mute"]
type = tcp
target = 127.0.0.1:$MUTE
expect = ^220
interval = 200ms
rise = 1
fall = 1

[probe "tls-ping"]
type = tcp
target = 127.0.0.1:$TLS90
tls = yes
ca = $T/c90.crt
sni = localhost
send = PING\r\n
expect = \+PONG
interval = 200ms
rise = 1
fall = 1

[probe "tls-days"]
type = tcp
target = 127.0.0.1:$TLS5
tls = yes
tls_verify = no
expect = ^220
cert_min_days = 14
interval = 200ms
rise = 1
fall = 1

[probe "tls-unverified"]
type = tcp
target = 127.0.0.1:$TLS90
tls = yes
expect = ^220
interval = 200ms
rise = 1
fall = 1

[probe "tls-wrong"]
type = tcp
target = 127.0.0.1:$TLS90
tls = yes
tls_verify = no
send = HELO\r\n
expect = \+PONG
interval = 200ms
rise = 1
fall = 1
EOF

# Config errors name the key and what is wrong with it.
# check_refused PATTERN LINE...: a config with the lines is refused with
# a message matching PATTERN.
check_refused() {
	local pat=$1
	shift
	agent_conf "$T/bad.conf" "$T/data" "$API"
	{ echo '[probe "x"]'; echo "type = tcp"; echo "target = 127.0.0.1:1"
	  printf '%s\n' "$@"; } >>"$T/bad.conf"
	"$VANTAGED" -n -f "$T/bad.conf" >"$T/check.out" 2>&1 &&
	    fail "vantaged -n accepted: $*"
	grep -Eq "$pat" "$T/check.out" ||
	    fail "refusal of '$*' does not say /$pat/: $(cat "$T/check.out")"
	rm -f "$T/check.out"
}
check_refused "send: unknown escape \\\\q" 'send = a\qb'
check_refused "send: \\\\x needs two hex digits" 'send = \x4'
check_refused "bad regex" 'expect = (unclosed'
check_refused "sni needs tls = yes" 'sni = localhost'
"$VANTAGED" -n -f "$T/a.conf" >"$T/check.out" 2>&1 ||
    fail "vantaged -n rejected the config: $(cat "$T/check.out")"
rm -f "$T/check.out"

start_agent agent "$T/a.conf"

# probe NAME: "state|cert_days|error" of NAME in GET /v1/status.
probe() {
	curl -s -H "$H" "$U/v1/status" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["probes"]:
    if p["name"] == sys.argv[1]:
        l = p["last"] or {}
        cd = l.get("cert_days")
        print("%s|%s|%s" % (p["state"], "" if cd is None else cd,
            l.get("error", "")))' "$1"
}
# expect_probe NAME REGEX: waits until NAME's line matches REGEX.
expect_probe() {
	local got end=$((SECONDS + 15))
	while :; do
		got=$(probe "$1")
		[[ "$got" =~ $2 ]] && return 0
		[ $SECONDS -ge $end ] && fail "$1: expected /$2/, got '$got'"
		sleep 0.2
	done
}

expect_probe banner '^up\|\|$'
expect_probe ping '^up\|\|$'
expect_probe wrong '^down\|\|expect did not match \(connection closed\): got "220 vantage-test ready\\x0d\\x0a-ERR unknown \\x1b\[31mcommand\\x0d\\x0a"$'
expect_probe mute '^down\|\|expect: connection closed with nothing received$'
expect_probe tls-ping '^up\|(89|90)\|$'
expect_probe tls-days '^degraded\|(4|5)\|certificate expires in (4|5) days \(cert_min_days 14\)$'
expect_probe tls-unverified '^down\|(89|90)\|certificate verify failed: self-signed certificate$'
expect_probe tls-wrong '^down\|(89|90)\|expect did not match \(connection closed\): got "220 vantage-test ready\\x0d\\x0a-ERR unknown'

# The reply's first byte is timed; a plain probe has no TLS phase.
db="$T/data/vantage.db"
stop_agent agent
n=$(sql "$db" "SELECT count(*) FROM result r JOIN probe p ON p.id=r.probe_id
    WHERE p.name='ping' AND r.status=0 AND r.ttfb_us > 0 AND r.tls_us IS NULL")
[ "$n" -ge 1 ] || fail "ping: no OK rows with ttfb_us and without tls_us"
n=$(sql "$db" "SELECT count(*) FROM result r JOIN probe p ON p.id=r.probe_id
    WHERE p.name='tls-ping' AND r.status=0 AND r.tls_us > 0")
[ "$n" -ge 1 ] || fail "tls-ping: no OK rows with tls_us"
exit 0
