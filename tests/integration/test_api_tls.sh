#!/bin/bash
# HTTPS and mTLS with certificates made here: the API over TLS verifies
# with the CA, a client without a certificate or with one from another
# CA is refused, one signed by client_ca is let in; an IPv6 [::1] listen
# address works next to an IPv4 one.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip "openssl not installed"
cd "$T" || exit 1

# ca NAME: a self-signed CA in NAME.pem / NAME.key
ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
	    -keyout "$1.key" -out "$1.pem" 2>/dev/null || fail "openssl: CA $1"
}
# cert NAME CA EXT: a certificate for NAME signed by CA
cert() {
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" \
	    -out "$1.csr" 2>/dev/null || fail "openssl: request $1"
	printf '%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
	    -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" \
	    2>/dev/null || fail "openssl: sign $1"
}
ca server-ca
ca client-ca
ca rogue-ca
cert agent server-ca "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth"
cert console client-ca "extendedKeyUsage=clientAuth"
cert intruder rogue-ca "extendedKeyUsage=clientAuth"
chmod 600 ./*.key

"$VANTAGED" token alice viewer >tok.out || fail "vantaged token failed"
sed -n 's/^tokens file line: //p' tok.out >tokens
chmod 600 tokens
TOKEN=$(sed -n 's/^token: //p' tok.out)
H="Authorization: Bearer $TOKEN"

have_v6=0
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' \
    2>/dev/null && have_v6=1

# --- HTTPS, IPv4 and IPv6 -------------------------------------------------
p4=$(free_port)
p6=$(free_port)
agent_conf "$T/https.conf" "$T/data-https" "$p4"
[ $have_v6 = 1 ] && echo "listen = [::1]:$p6" >>"$T/https.conf"
cat >>"$T/https.conf" <<EOC
tls_cert = $T/agent.pem
tls_key = $T/agent.key
tokens = $T/tokens
EOC
start_agent https "$T/https.conf"

body=$(curl -sS --cacert server-ca.pem "https://127.0.0.1:$p4/v1/health" 2>&1) ||
    fail "HTTPS with the CA failed: $body"
assert_match '"status":"ok"' "$body" "/v1/health over HTTPS"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert server-ca.pem -H "$H" \
    "https://127.0.0.1:$p4/v1/status")
assert_eq 200 "$code" "/v1/status over HTTPS with a token"
curl -s -o /dev/null "https://127.0.0.1:$p4/v1/health" &&
    fail "HTTPS without the CA was accepted by curl (certificate not checked?)"
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$p4/v1/health" &&
    fail "plain HTTP answered on the HTTPS port"
if [ $have_v6 = 1 ]; then
	body=$(curl -sS -g --cacert server-ca.pem "https://[::1]:$p6/v1/health" 2>&1) ||
	    fail "HTTPS on [::1] failed: $body"
	assert_match '"status":"ok"' "$body" "/v1/health on [::1]"
else
	echo "no IPv6 loopback on this machine: [::1] part skipped"
fi

# --- cipher suites --------------------------------------------------------
# suite PORT ARGS...: the suite the handshake settled on, or "refused"
suite() {
	local port=$1 out
	shift
	out=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" \
	    -CAfile server-ca.pem "$@" </dev/null 2>&1)
	if [[ "$out" =~ Cipher\ is\ ([A-Z0-9_-]+) ]] &&
	    [ "${BASH_REMATCH[1]}" != NONE ]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo refused
	fi
}
for c in AES128-SHA AES256-SHA256 AES128-GCM-SHA256 ECDHE-RSA-AES128-SHA \
    ECDHE-RSA-AES256-SHA384 DES-CBC3-SHA; do
	assert_eq refused "$(suite "$p4" -tls1_2 -cipher "$c@SECLEVEL=0")" \
	    "TLS 1.2 with $c only"
done
for c in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 \
    ECDHE-RSA-CHACHA20-POLY1305; do
	assert_eq "$c" "$(suite "$p4" -tls1_2 -cipher "$c")" "TLS 1.2 with $c"
done
for c in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 \
    TLS_CHACHA20_POLY1305_SHA256; do
	assert_eq "$c" "$(suite "$p4" -tls1_3 -ciphersuites "$c")" \
	    "TLS 1.3 with $c"
done
assert_eq refused "$(suite "$p4" -tls1_1)" "TLS 1.1"
stop_agent https

# [api] tls_ciphers replaces the default
pc=$(free_port)
agent_conf "$T/ciphers.conf" "$T/data-ciphers" "$pc"
cat >>"$T/ciphers.conf" <<EOC
tls_cert = $T/agent.pem
tls_key = $T/agent.key
tokens = $T/tokens
tls_ciphers = NORMAL:-VERS-ALL:+VERS-TLS1.2:+RSA:+AES-128-CBC:+SHA1
EOC
"$VANTAGED" -n -f "$T/ciphers.conf" >/dev/null 2>&1 ||
    fail "vantaged -n refused a valid tls_ciphers"
start_agent ciphers "$T/ciphers.conf"
assert_eq AES128-SHA "$(suite "$pc" -tls1_2 -cipher AES128-SHA@SECLEVEL=0)" \
    "tls_ciphers allowing AES128-SHA"
stop_agent ciphers
printf 'tls_ciphers = NORMAL:+NO-SUCH-THING\n' >>"$T/ciphers.conf"
sed -i '/^tls_ciphers = NORMAL:-VERS/d' "$T/ciphers.conf"
line=$(grep -n '^tls_ciphers' "$T/ciphers.conf" | cut -d: -f1)
rc=0
out=$("$VANTAGED" -n -f "$T/ciphers.conf" 2>&1) || rc=$?
assert_eq 1 "$rc" "vantaged -n with a bad tls_ciphers"
assert_match "ciphers.conf:$line: tls_ciphers: GnuTLS does not take '\+NO-SUCH-THING'" \
    "$out" "bad tls_ciphers error"

# --- mTLS -----------------------------------------------------------------
pm=$(free_port)
agent_conf "$T/mtls.conf" "$T/data-mtls" "$pm"
cat >>"$T/mtls.conf" <<EOC
tls_cert = $T/agent.pem
tls_key = $T/agent.key
client_ca = $T/client-ca.pem
tokens = $T/tokens
EOC
start_agent mtls "$T/mtls.conf"
U="https://127.0.0.1:$pm"

out=$(curl -s -w ' %{http_code}' --cacert server-ca.pem -H "$H" "$U/v1/status")
case "$out" in
*" 401") assert_match 'client certificate' "$out" "refusal of a client without a certificate" ;;
*" 000") ;;	# refused in the handshake: also a refusal
*) fail "client without a certificate: expected a refusal, got: $out" ;;
esac
out=$(curl -s -w ' %{http_code}' --cacert server-ca.pem --cert intruder.pem \
    --key intruder.key -H "$H" "$U/v1/status")
case "$out" in
*" 401") assert_match 'client_ca' "$out" "refusal of a certificate from another CA" ;;
*" 000") ;;
*) fail "client with a rogue certificate: expected a refusal, got: $out" ;;
esac
out=$(curl -s -w ' %{http_code}' --cacert server-ca.pem --cert console.pem \
    --key console.key "$U/v1/health")
assert_match '"status":"ok".* 200$' "$out" "/v1/health with a client certificate"
out=$(curl -s -w ' %{http_code}' --cacert server-ca.pem --cert console.pem \
    --key console.key -H "$H" "$U/v1/status")
assert_match '"probes":.* 200$' "$out" "/v1/status with a certificate and a token"
out=$(curl -s -w ' %{http_code}' --cacert server-ca.pem --cert console.pem \
    --key console.key "$U/v1/status")
assert_match ' 401$' "$out" "a certificate alone is not a token"
stop_agent mtls

# a TLS key others can read is refused, like the tokens file
chmod 644 agent.key
rc=0
timeout 20 "$VANTAGED" -d -f "$T/mtls.conf" >"$T/badkey.out" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "agent started with a world-readable TLS key"
grep -q "chmod 600" "$T/badkey.out" ||
    fail "TLS key refusal does not say chmod 600: $(tail -1 "$T/badkey.out")"
exit 0
