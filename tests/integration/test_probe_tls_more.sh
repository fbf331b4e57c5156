#!/bin/bash
# tls probes beyond the handshake: STARTTLS against a real SMTP server
# (aiosmtpd, with and without STARTTLS) and small IMAP and POP3 fakes;
# OCSP staples from nginx (ssl_stapling_file, responses made by openssl
# ocsp for a test CA): good, revoked, none; min_version against an nginx
# that speaks only TLS 1.2; a chain whose intermediate expires before
# cert_min_days.  Checked through GET /v1/status as an operator sees it.
. "$(dirname "$0")/lib.sh"

[ -x "$VANTAGED" ] || fail "no $VANTAGED (make first)"
for cmd in nginx openssl python3; do
	command -v $cmd >/dev/null || skip "no $cmd"
done
python3 -c 'import aiosmtpd' 2>/dev/null || skip "no python3-aiosmtpd"

API=$(free_port)
U="http://127.0.0.1:$API"
H="Authorization: Bearer $(new_token ops viewer)"
P_GOOD=$(free_port); P_REVOKED=$(free_port); P_NOSTAPLE=$(free_port)
P_TLS12=$(free_port); P_CHAIN=$(free_port)
P_UNKNOWN=$(free_port); P_BADSIG=$(free_port)
P_SMTP=$(free_port); P_SMTP_PLAIN=$(free_port)
P_IMAP=$(free_port); P_IMAP_NO=$(free_port); P_POP3=$(free_port)
P_POP3_NO=$(free_port); P_INJECT=$(free_port)

# --- a test PKI: root CA, leaves it signs, an intermediate about to
# expire and a leaf under it.
P=$T/pki
mkdir -p "$P"
ossl() {
	openssl "$@" >>"$P/openssl.out" 2>&1 || fail "openssl $*: $(tail -3 "$P/openssl.out")"
}
key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$P/$1.key"; }
cat >"$P/ext.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
key root
ossl req -x509 -new -key "$P/root.key" -out "$P/root.crt" -days 3650 \
    -subj "/CN=Vantage Test Root" -config "$P/ext.cnf" -extensions ca
# sign NAME ISSUER DAYS EXT SUBJECT SERIAL
sign() {
	key "$1"
	ossl req -new -key "$P/$1.key" -out "$P/$1.csr" -subj "$5" \
	    -config "$P/ext.cnf"
	ossl x509 -req -in "$P/$1.csr" -CA "$P/$2.crt" -CAkey "$P/$2.key" \
	    -set_serial "$6" -days "$3" -extfile "$P/ext.cnf" \
	    -extensions "$4" -out "$P/$1.crt"
}
sign good root 90 leaf /CN=localhost 0x1001
sign revoked root 90 leaf /CN=localhost 0x1002
sign nostaple root 90 leaf /CN=localhost 0x1003
sign unknown root 90 leaf /CN=localhost 0x1004
sign badsig root 90 leaf /CN=localhost 0x1005
key rogue
ossl req -x509 -new -key "$P/rogue.key" -out "$P/rogue.crt" -days 30 \
    -subj "/CN=Vantage Test Root" -config "$P/ext.cnf" -extensions ca
sign inter root 3 ca "/CN=Vantage Test Intermediate" 0x2001
sign chained inter 60 leaf /CN=localhost 0x3001
cat "$P/chained.crt" "$P/inter.crt" >"$P/chained-full.crt"

# The CA's database for openssl ocsp: 1001 valid, 1002 revoked.
enddate() {
	date -u -d "$(openssl x509 -in "$P/$1.crt" -noout -enddate |
	    cut -d= -f2)" +%y%m%d%H%M%SZ
}
now=$(date -u +%y%m%d%H%M%SZ)
echo "unique_subject = no" >"$P/index.txt.attr"
printf 'V\t%s\t\t1001\tunknown\t/CN=localhost\n' "$(enddate good)" >"$P/index.txt"
printf 'R\t%s\t%s,keyCompromise\t1002\tunknown\t/CN=localhost\n' \
    "$(enddate revoked)" "$now" >>"$P/index.txt"
printf 'V\t%s\t\t1005\tunknown\t/CN=localhost\n' "$(enddate badsig)" \
    >>"$P/index.txt"
# ocsp NAME [SIGNER]: the answer about NAME's certificate, signed by
# the root (or by SIGNER, a look-alike the client does not trust).
ocsp() {
	local s=${2:-root}
	ossl ocsp -issuer "$P/root.crt" -cert "$P/$1.crt" -no_nonce \
	    -reqout "$P/$1.req"
	ossl ocsp -index "$P/index.txt" -CA "$P/root.crt" \
	    -rsigner "$P/$s.crt" -rkey "$P/$s.key" -reqin "$P/$1.req" \
	    -respout "$P/$1.ocsp" -ndays 2
}
ocsp good
ocsp revoked
ocsp unknown
ocsp badsig rogue

# --- nginx: one server per case.
nginx_start nginx 1 <<EOF
	server {
		listen 127.0.0.1:$P_GOOD ssl;
		ssl_certificate $P/good.crt;
		ssl_certificate_key $P/good.key;
		ssl_stapling on;
		ssl_stapling_file $P/good.ocsp;
		ssl_protocols TLSv1.2 TLSv1.3;
	}
	server {
		listen 127.0.0.1:$P_REVOKED ssl;
		ssl_certificate $P/revoked.crt;
		ssl_certificate_key $P/revoked.key;
		ssl_stapling on;
		ssl_stapling_file $P/revoked.ocsp;
	}
	server {
		listen 127.0.0.1:$P_UNKNOWN ssl;
		ssl_certificate $P/unknown.crt;
		ssl_certificate_key $P/unknown.key;
		ssl_stapling on;
		ssl_stapling_file $P/unknown.ocsp;
	}
	server {
		listen 127.0.0.1:$P_BADSIG ssl;
		ssl_certificate $P/badsig.crt;
		ssl_certificate_key $P/badsig.key;
		ssl_stapling on;
		ssl_stapling_file $P/badsig.ocsp;
	}
	server {
		listen 127.0.0.1:$P_NOSTAPLE ssl;
		ssl_certificate $P/nostaple.crt;
		ssl_certificate_key $P/nostaple.key;
	}
	server {
		listen 127.0.0.1:$P_TLS12 ssl;
		ssl_certificate $P/good.crt;
		ssl_certificate_key $P/good.key;
		ssl_protocols TLSv1.2;
	}
	server {
		listen 127.0.0.1:$P_CHAIN ssl;
		ssl_certificate $P/chained-full.crt;
		ssl_certificate_key $P/chained.key;
	}
EOF
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
for p in $P_GOOD $P_REVOKED $P_UNKNOWN $P_BADSIG $P_NOSTAPLE $P_TLS12 $P_CHAIN; do
	wait_for 5 port_open "$p" || fail "nginx did not listen on $p"
done

# --- SMTP: aiosmtpd with STARTTLS required, and one without TLS.
cat >"$T/smtp.py" <<'EOP'
import ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[3] + "/good.crt", sys.argv[3] + "/good.key")
tls = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]),
                 tls_context=ctx, require_starttls=True)
plain = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[2]))
tls.start()
plain.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
EOP
bg smtp python3 "$T/smtp.py" "$P_SMTP" "$P_SMTP_PLAIN" "$P"

# --- IMAP and POP3 fakes: greeting, the upgrade command, TLS.
cat >"$T/mail.py" <<'EOP'
import socket, ssl, sys, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1] + "/good.crt", sys.argv[1] + "/good.key")
def readline(c):
    line = b""
    while not line.endswith(b"\n"):
        d = c.recv(1)
        if not d:
            break
        line += d
    return line
def talk(c, greeting, cmd, answer, tls):
    try:
        c.settimeout(3)
        c.sendall(greeting)
        if readline(c) != cmd:
            c.sendall(b"-ERR what\r\n")
            return
        c.sendall(answer)
        if tls:
            s = ctx.wrap_socket(c, server_side=True)
            s.recv(1)
    except (OSError, ssl.SSLError):
        pass
    finally:
        c.close()
def serve(port, *how):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=talk, args=(c,) + how, daemon=True).start()
imap, imap_no, pop3, pop3_no, inject = sys.argv[2:7]
G_IMAP = b"* OK [CAPABILITY IMAP4rev1 STARTTLS] fake ready\r\n"
G_POP3 = b"+OK fake POP3 ready\r\n"
for args in ((imap, G_IMAP, b"a1 STARTTLS\r\n",
              b"* NOTE untagged first\r\na1 OK begin TLS now\r\n", True),
             (imap_no, b"* OK fake ready\r\n", b"a1 STARTTLS\r\n",
              b"a1 BAD unknown command \x1b[7m\r\n", False),
             (pop3, G_POP3, b"STLS\r\n", b"+OK begin TLS\r\n", True),
             (pop3_no, G_POP3, b"STLS\r\n", b"-ERR no TLS here\r\n", False),
             (inject, G_POP3, b"STLS\r\n", b"+OK begin TLS\r\n\x16\x03\x01", False)):
    threading.Thread(target=serve, args=args, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
EOP
bg mail python3 "$T/mail.py" "$P" "$P_IMAP" "$P_IMAP_NO" "$P_POP3" \
    "$P_POP3_NO" "$P_INJECT"
wait_for 10 grep -q ready "$T/smtp.log" || fail "aiosmtpd did not start"
wait_for 10 grep -q ready "$T/mail.log" || fail "IMAP/POP3 fakes did not start"

# --- the agent
agent_conf "$T/a.conf" "$T/data" "$API"
echo "tokens = $T/tokens" >>"$T/a.conf"
# probe NAME PORT KEY=VALUE...: a tls probe on 127.0.0.1:PORT checked
# against the test root as localhost.
add_probe() {
	local name=$1 port=$2
	shift 2
	printf '[probe "%s"]\ntype = tls\ntarget = 127.0.0.1:%s\n' "$name" "$port"
	printf 'ca = %s\nsni = localhost\ninterval = 300ms\nrise = 1\nfall = 1\n' "$P/root.crt"
	printf '%s\n' "$@"
	echo
} >>"$T/a.conf"
add_probe ocsp-good "$P_GOOD" "expect_ocsp = good"
add_probe ocsp-revoked "$P_REVOKED" "expect_ocsp = good"
add_probe ocsp-none "$P_NOSTAPLE" "expect_ocsp = good"
add_probe ocsp-unknown "$P_UNKNOWN" "expect_ocsp = good"
add_probe ocsp-badsig "$P_BADSIG" "expect_ocsp = good"
add_probe no-ocsp-asked "$P_REVOKED"
add_probe tls12-min13 "$P_TLS12" "min_version = 1.3"
add_probe tls12-min12 "$P_TLS12" "min_version = 1.2"
add_probe good-min13 "$P_GOOD" "min_version = 1.3"
add_probe chain "$P_CHAIN" "cert_min_days = 14"
add_probe chain-7 "$P_CHAIN" "cert_min_days = 2"
add_probe smtp "$P_SMTP" "starttls = smtp" "expect_ocsp = good"
add_probe smtp-ok "$P_SMTP" "starttls = smtp" "min_version = 1.3"
add_probe smtp-plain "$P_SMTP_PLAIN" "starttls = smtp"
add_probe imap "$P_IMAP" "starttls = imap"
add_probe imap-no "$P_IMAP_NO" "starttls = imap"
add_probe pop3 "$P_POP3" "starttls = pop3"
add_probe pop3-no "$P_POP3_NO" "starttls = pop3"
add_probe inject "$P_INJECT" "starttls = pop3"
add_probe old-name "$P_GOOD" "server_name = localhost"

check_refused() {	# PATTERN LINE...
	local pat=$1
	shift
	agent_conf "$T/bad.conf" "$T/data" "$API"
	{ echo '[probe "x"]'; echo "type = tls"; echo "target = 127.0.0.1:1"
	  printf '%s\n' "$@"; } >>"$T/bad.conf"
	"$VANTAGED" -n -f "$T/bad.conf" >"$T/check.out" 2>&1 &&
	    fail "vantaged -n accepted: $*"
	grep -Eq "$pat" "$T/check.out" ||
	    fail "refusal of '$*' does not say /$pat/: $(cat "$T/check.out")"
	rm -f "$T/check.out"
}
check_refused "starttls must be smtp, imap or pop3, not 'ftp'" "starttls = ftp"
check_refused "min_version must be 1.2 or 1.3, not '1.1'" "min_version = 1.1"
check_refused "expect_ocsp must be good, not 'yes'" "expect_ocsp = yes"
check_refused "sni and server_name" "sni = a.example" "server_name = b.example"
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
expect_probe() {	# NAME REGEX: waits until NAME's line matches
	local got end=$((SECONDS + 15))
	while :; do
		got=$(probe "$1")
		[[ "$got" =~ $2 ]] && return 0
		[ $SECONDS -ge $end ] && fail "$1: expected /$2/, got '$got'"
		sleep 0.2
	done
}

expect_probe ocsp-good '^up\|(89|90)\|$'
expect_probe ocsp-revoked '^down\|(89|90)\|OCSP: certificate revoked at [0-9-]+ [0-9:]+Z \(keyCompromise\)$'
expect_probe ocsp-none '^degraded\|(89|90)\|OCSP: the server stapled no response \(expect_ocsp good\)$'
expect_probe ocsp-unknown '^degraded\|(89|90)\|OCSP: the responder does not know the certificate \(status unknown\)$'
expect_probe ocsp-badsig '^degraded\|(89|90)\|OCSP: the stapled response.s signature does not verify: '
# without expect_ocsp no staple is asked for: the revoked leaf passes
expect_probe no-ocsp-asked '^up\|(89|90)\|$'
expect_probe tls12-min13 '^down\|\|TLS handshake: the server offers no TLS 1\.3 or later \(min_version 1\.3\): tlsv1 alert protocol version$'
expect_probe tls12-min12 '^up\|(89|90)\|$'
expect_probe good-min13 '^up\|(89|90)\|$'
expect_probe chain '^degraded\|(1|2)\|intermediate CN=Vantage Test Intermediate expires in (1|2) days \(cert_min_days 14\)$'
expect_probe chain-7 '^up\|(1|2)\|$'
# aiosmtpd staples nothing: STARTTLS worked, the OCSP check ran after it
expect_probe smtp '^degraded\|(89|90)\|OCSP: the server stapled no response'
expect_probe smtp-ok '^up\|(89|90)\|$'
expect_probe smtp-plain '^down\|\|SMTP server does not offer STARTTLS \(not in its EHLO reply\)$'
expect_probe imap '^up\|(89|90)\|$'
expect_probe imap-no '^down\|\|IMAP server does not offer STARTTLS: "a1 BAD unknown command \\x1b\[7m"$'
expect_probe pop3 '^up\|(89|90)\|$'
expect_probe pop3-no '^down\|\|POP3 server does not offer STLS: "-ERR no TLS here"$'
expect_probe inject '^down\|\|POP3 server sent 3 bytes after its STARTTLS answer'
expect_probe old-name '^up\|(89|90)\|$'
for p in ocsp-good ocsp-revoked ocsp-none ocsp-unknown ocsp-badsig \
    tls12-min13 chain smtp smtp-plain imap-no pop3-no inject; do
	[ -n "${VERBOSE:-}" ] && echo "$p: $(probe $p)"
done
stop_agent agent
exit 0
