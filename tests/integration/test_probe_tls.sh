#!/bin/bash
# tls probes against openssl s_server on loopback with self-signed
# certificates: days left (OK and DEGRADED by cert_min_days), chain
# verification against the system CAs (fails) and against the cert
# itself as CA (passes with the right name, fails with another); a
# server that never answers (timeout mid-handshake), one that does not
# speak TLS, a closed port.
. "$(dirname "$0")/lib.sh"

[ -x "$VANTAGED" ] || fail "no $VANTAGED (make first)"

command -v openssl >/dev/null || skip "no openssl"
command -v sqlite3 >/dev/null || skip "no sqlite3"

P90=$(free_port)
P5=$(free_port)
CLOSED_PORT=$(free_port)
SILENT_PORT=$(free_port)
PLAIN_PORT=$(free_port)
API_PORT=$(free_port)
DATA_DIR=$T/data
mkdir -p "$DATA_DIR"

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

bg s90 openssl s_server -accept "127.0.0.1:$P90" -cert "$T/c90.crt" \
    -key "$T/c90.key" -www
bg s5 openssl s_server -accept "127.0.0.1:$P5" -cert "$T/c5.crt" \
    -key "$T/c5.key" -www
wait_for 10 grep -q ACCEPT "$T/s90.log" || fail "s_server (90 d) did not start"
wait_for 10 grep -q ACCEPT "$T/s5.log" || fail "s_server (5 d) did not start"

# One port accepts and stays silent, the other answers in plain HTTP.
bg notls python3 -c '
import socket, sys, threading
def listen(port):
    s = socket.socket()
    s.bind(("127.0.0.1", int(port)))
    s.listen(64)
    return s
def serve(s, reply):
    held = []
    while True:
        c, _ = s.accept()
        if reply is None:
            held.append(c)
            continue
        try:
            c.recv(4096)
            c.sendall(reply)
        except OSError:
            pass
        c.close()
silent, plain = listen(sys.argv[1]), listen(sys.argv[2])
print("ready", flush=True)
threading.Thread(target=serve, args=(silent, None), daemon=True).start()
serve(plain, b"HTTP/1.0 400 Bad Request\r\n\r\nnot TLS\r\n")
' "$SILENT_PORT" "$PLAIN_PORT"
wait_for 10 grep -q "ready" "$T/notls.log" || fail "plain servers did not start"

agent_conf "$T/vantaged.conf" "$DATA_DIR" "$API_PORT"
cat >>"$T/vantaged.conf" <<EOF
[probe "tls-90"]
type = tls
target = 127.0.0.1:$P90
tls_verify = no
cert_min_days = 14
interval = 1s
fall = 2
rise = 2

[probe "tls-5"]
type = tls
target = 127.0.0.1:$P5
tls_verify = no
cert_min_days = 14
interval = 1s
fall = 2
rise = 2

[probe "tls-verify"]
type = tls
target = 127.0.0.1:$P90
interval = 1s
fall = 2
rise = 2

[probe "tls-ca"]
type = tls
target = 127.0.0.1:$P90
ca = $T/c90.crt
server_name = localhost
interval = 1s
fall = 2
rise = 2

[probe "tls-ca-name"]
type = tls
target = 127.0.0.1:$P90
ca = $T/c90.crt
server_name = other.example
interval = 1s
fall = 2
rise = 2

[probe "tls-silent"]
type = tls
target = 127.0.0.1:$SILENT_PORT
interval = 1s
timeout = 300ms
fall = 2
rise = 2

[probe "tls-plain"]
type = tls
target = 127.0.0.1:$PLAIN_PORT
interval = 1s
fall = 2
rise = 2

[probe "tls-closed"]
type = tls
target = 127.0.0.1:$CLOSED_PORT
interval = 1s
fall = 2
rise = 2
EOF

# A CA file that is not one is a config error.
echo "not a certificate" >"$T/junk.pem"
sed -e "s|^ca = $T/c90.crt|ca = $T/junk.pem|" "$T/vantaged.conf" \
    >"$T/bad.conf"
"$VANTAGED" -n -f "$T/bad.conf" >"$T/check-bad.log" 2>&1 &&
    fail "vantaged -n accepted a junk ca file"
grep -q "junk.pem" "$T/check-bad.log" ||
    fail "config error does not name the ca file: $(cat "$T/check-bad.log")"
rm -f "$T/check-bad.log"
"$VANTAGED" -n -f "$T/vantaged.conf" >"$T/check.log" 2>&1 ||
    fail "vantaged -n rejected the config"
rm -f "$T/check.log"

start_agent agent "$T/vantaged.conf"
LOG=$T/agent.log
for l in "tls-90: unknown -> up" "tls-5: unknown -> degraded" \
    "tls-verify: unknown -> down" "tls-ca: unknown -> up" \
    "tls-ca-name: unknown -> down" "tls-silent: unknown -> down" \
    "tls-plain: unknown -> down" "tls-closed: unknown -> down"; do
	wait_for 20 grep -q "probe $l" "$LOG" ||
	    fail "agent did not log 'probe $l'"
done
stop_agent agent

DB=$DATA_DIR/vantage.db
[ -f "$DB" ] || fail "no $DB"

# rows NAME: distinct "status|cert_days|error" of the probe's results.
rows() {
	sql "$DB" "SELECT DISTINCT r.status || '|' ||
	    ifnull(r.cert_days, '') || '|' || ifnull(r.error, '')
	    FROM result r JOIN probe p ON p.id = r.probe_id
	    WHERE p.name = '$1'"
}
# assert_rows REGEX NAME: every distinct result of NAME matches REGEX.
assert_rows() {
	local r
	r=$(rows "$2")
	[ -n "$r" ] || fail "$2: no results"
	while IFS= read -r line; do
		assert_match "$1" "$line" "$2 result"
	done <<<"$r"
}
count() {
	sql "$DB" "SELECT count(*) FROM result r JOIN probe p
	    ON p.id = r.probe_id WHERE p.name = '$1'"
}

for p in tls-90 tls-5 tls-verify tls-ca tls-ca-name tls-silent tls-plain \
    tls-closed; do
	n=$(count "$p")
	[ "$n" -ge 2 ] || fail "$p: expected at least 2 results, got $n"
done

assert_rows '^0\|(89|90)\|$' tls-90
# A cert made less than a second ago has exactly 5 days left, else 4.
assert_rows '^1\|(4|5)\|certificate expires in (4|5) days \(cert_min_days 14\)$' \
    tls-5
assert_rows '^2\|(89|90)\|certificate verify failed: self-signed certificate$' \
    tls-verify
assert_rows '^0\|(89|90)\|$' tls-ca
assert_rows '^2\|(89|90)\|certificate verify failed: hostname mismatch '\
'\(expected other\.example\)$' tls-ca-name
assert_rows '^2\|\|timeout after 300ms$' tls-silent
assert_rows '^2\|\|TLS handshake: wrong version number$' tls-plain
assert_rows '^2\|\|connect 127\.0\.0\.1:[0-9]+: Connection refused$' \
    tls-closed

# Phases: connect and handshake measured, no DNS for a numeric target.
n=$(sql "$DB" "SELECT count(*) FROM result r JOIN probe p
    ON p.id = r.probe_id WHERE p.name IN ('tls-90', 'tls-ca') AND
    (r.connect_us IS NULL OR r.connect_us < 0 OR r.tls_us IS NULL OR
    r.tls_us <= 0 OR r.dns_us IS NOT NULL OR
    r.latency_us < r.connect_us + r.tls_us)")
assert_eq 0 "$n" "tls rows with bad phase timings"
exit 0
