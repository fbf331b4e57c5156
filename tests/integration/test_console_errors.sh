#!/bin/bash
# Errors that name the fix: each way of pointing the console at an agent
# wrongly, against a real peer, must say what is wrong and what to change
# (the key and its file:line), in `vantage status` (stderr and --json)
# and the fleet view:
#  - plain HTTP to the TLS API of a real vantaged, and to nginx's TLS port;
#  - TLS to a plain vantaged;
#  - TLS older than 1.2 (nginx offering TLSv1 only);
#  - a CA that did not sign the agent's certificate (ca = FILE:LINE), and
#    no ca at all (the [agent] entry's FILE:LINE);
#  - 401: the token_file used is named, the token never shown;
#  - a name under .invalid; a closed port;
#  - the command line: --agent URL --ca FILE --token-file FILE works, and
#    without --ca the message says to give it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools jq curl openssl nginx tmux
cd "$T" || exit 1

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test-ca" \
    -keyout ca.key -out ca.pem 2>/dev/null || fail "openssl: CA"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rogue" \
    -keyout rogue.key -out rogue.pem 2>/dev/null || fail "openssl: rogue CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout srv.key \
    -out srv.csr 2>/dev/null || fail "openssl: request"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
    >srv.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 2 -extfile srv.ext -out srv.pem 2>/dev/null || fail "openssl: sign"
chmod 600 ./*.key

PT=$(free_port)		# vantaged, TLS API
PP=$(free_port)		# vantaged, plain API
NS=$(free_port)		# nginx, TLS
NO=$(free_port)		# nginx, TLSv1 only
CLOSED=$(free_port)
new_token alice viewer
printf '%s\n' "$TOKEN" >good.tok
"$VANTAGED" token mallory viewer | sed -n 's/^token: //p' >other.tok
OTHER=$(cat other.tok)
[ -n "$OTHER" ] || fail "no second token"
chmod 600 good.tok other.tok
real_agent tls "$PT" "tls_cert = $T/srv.pem
tls_key = $T/srv.key"
real_agent plain "$PP"

nginx_start ng 1 <<EOC
	server {
		listen 127.0.0.1:$NS ssl;
		ssl_certificate $T/srv.pem;
		ssl_certificate_key $T/srv.key;
		location / { return 200 '{}'; }
	}
	server {
		listen 127.0.0.1:$NO ssl;
		ssl_certificate $T/srv.pem;
		ssl_certificate_key $T/srv.key;
		ssl_protocols TLSv1;
		ssl_ciphers "ALL:@SECLEVEL=0";
		location / { return 200 '{}'; }
	}
EOC
wait_for 10 curl -sk "https://127.0.0.1:$NS/" || fail "nginx did not start"

cat >v.conf <<EOC
[console]
refresh = 1s
timeout = 3s
[agent "good"]
url = https://127.0.0.1:$PT
ca = $T/ca.pem
token_file = $T/good.tok
[agent "http2tls"]
url = http://127.0.0.1:$PT
token_file = $T/good.tok
[agent "http2nginx"]
url = http://127.0.0.1:$NS
[agent "tls2plain"]
url = https://127.0.0.1:$PP
[agent "oldtls"]
url = https://127.0.0.1:$NO
ca = $T/ca.pem
[agent "rogue"]
url = https://127.0.0.1:$PT
ca = $T/rogue.pem
[agent "noca"]
url = https://127.0.0.1:$PT
[agent "badtoken"]
url = https://127.0.0.1:$PT
ca = $T/ca.pem
token_file = $T/other.tok
[agent "notoken"]
url = http://127.0.0.1:$PP
[agent "nodns"]
url = http://vantage-agent.invalid:7787
[agent "refused"]
url = http://127.0.0.1:$CLOSED
EOC
chmod 600 v.conf
# line NAME KEY: the line of KEY in [agent "NAME"] (0: the header's)
line() {
	awk -v s="[agent \"$1\"]" -v k="$2" '
	    $0 == s { in_s = 1; if (k == "") { print NR; exit } next }
	    /^\[/ { in_s = 0 }
	    in_s && $1 == k { print NR; exit }' v.conf
}

start=$SECONDS
rc=0
"$VANTAGE" -c v.conf status --json >st.json 2>st.err || rc=$?
[ $rc = 1 ] || fail "status with failing agents: exit $rc, not 1"
[ $((SECONDS - start)) -le 10 ] || fail "status took $((SECONDS - start)) s"
"$VANTAGE" -c v.conf status >st.txt 2>st.txt.err || true
reason() { jq -r --arg n "$1" '.agents[] | select(.name == $n) | .reason' st.json; }
state() { jq -r --arg n "$1" '.agents[] | select(.name == $n) | .state' st.json; }
# expect NAME REGEX WHAT: in --json and on stderr of the plain status
expect() {
	assert_match "$2" "$(reason "$1")" "$3 (--json)"
	assert_match "vantage: $1: [a-z]+: .*$2" "$(cat st.txt.err)" \
	    "$3 (stderr)"
}
V=v.conf	# as given to -c

assert_eq "ok" "$(state good)" "the well configured TLS agent"
expect http2tls "connection closed without an answer: if the agent serves HTTPS on this port, use https:// in url \\($V:$(line http2tls url)\\)" \
    "plain HTTP to vantaged's TLS port"
expect http2nginx "HTTP 400.*the server speaks HTTPS on this port: use https:// in url \\($V:$(line http2nginx url)\\)" \
    "plain HTTP to nginx's TLS port"
expect tls2plain "(the agent answers without TLS on this port:|the agent closed the connection: if it serves plain HTTP on this port,) use http:// in url \\($V:$(line tls2plain url)\\)" \
    "TLS to a plain port"
expect oldtls "offers only TLS versions older than 1.2.*let it use TLS 1.2 or 1.3" \
    "TLS 1.0 only"
expect rogue "unknown CA: the agent's certificate is not signed by the CA in ca = $T/rogue.pem \\($V:$(line rogue ca)\\): set ca to the CA that signed it" \
    "the wrong CA"
expect noca "unknown CA: .*add ca = FILE \\(the CA that signed it\\) to \\[agent \"noca\"\\] at $V:$(line noca "")" \
    "no CA"
expect badtoken "HTTP 401 unauthorized: .*the agent does not accept the token in token_file $T/other.tok \\($V:$(line badtoken token_file)\\)" \
    "a token the agent does not know"
expect notoken "HTTP 401 unauthorized: .*no token is set for this agent: add token_file = FILE to \\[agent \"notoken\"\\] at $V:$(line notoken "")" \
    "no token"
# (a resolver that never answers gives the "no DNS answer" form)
expect nodns "(cannot resolve host|no DNS answer for) 'vantage-agent.invalid'(: | within [0-9]+ ms: )check the host name in url \\($V:$(line nodns url)\\)" \
    "DNS failure"
expect refused "connection refused by 127.0.0.1:$CLOSED: nothing listens there; start vantaged, or make url \\($V:$(line refused url)\\) match its \\[api\\] listen" \
    "connection refused"
for f in st.json st.txt st.txt.err; do
	grep -qF -- "$OTHER" $f && fail "the token is shown in $f"
	grep -qF -- "$TOKEN" $f && fail "the token is shown in $f"
done

# --- the command line: --ca and --token-file after their --agent ------
rc=0
"$VANTAGE" --agent "https://127.0.0.1:$PT" --ca ca.pem --token-file good.tok \
    --agent "bare=https://127.0.0.1:$PT" status --json >cl.json 2>cl.err ||
    rc=$?
[ $rc = 1 ] || fail "command line: exit $rc, not 1 (bare fails)"
assert_eq "ok" "$(jq -r '.agents[0].state' cl.json)" "--ca and --token-file"
assert_match "add|give --ca FILE \\(the CA that signed it\\) after --agent" \
    "$(jq -r '.agents[1].reason' cl.json)" "--agent without --ca"
rc=0
"$VANTAGE" --agent "https://127.0.0.1:$PT" --ca ca.pem --token-file other.tok \
    status >cl2.txt 2>cl2.err || rc=$?
assert_match "does not accept the token in token_file .*other.tok \\(--token-file\\)" \
    "$(cat cl2.err)" "401 names --token-file"
rc=0
"$VANTAGE" --ca ca.pem --agent "https://127.0.0.1:$PT" status >/dev/null \
    2>cl3.err || rc=$?
[ $rc = 2 ] || fail "--ca before any --agent: exit $rc, not 2"
assert_match "--ca goes after the --agent it is for" "$(cat cl3.err)" \
    "--ca first"

# --- the fleet view shows the same words ----------------
tui_start 200 50 -- -c "$T/v.conf"
wait_screen 10 "rogue .*not signed by the CA in ca = "
wait_screen 10 "refused .*connection refused by 127.0.0.1:$CLOSED"
# the same at 80x24 without colour: the reason starts with what is wrong
tui_start 80 24 NO_COLOR=1 -- -c "$T/v.conf"
wait_screen 10 "refused .*connection refused"
tmx kill-server 2>/dev/null
true
