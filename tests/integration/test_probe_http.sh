#!/usr/bin/env bash
# test_probe_http.sh - HTTP/HTTPS probes against a real nginx on loopback.
#
# nginx serves 200 "ok", 503, a wrong body, a body throttled to 1 KB/s
# (the probe must time out) and HTTPS with a self-signed certificate that
# expires in 5 days; one more probe points at a closed port.  The agent
# runs every probe a few times; the results in vantage.db and the state
# changes in the agent's log are then checked row by row.
source "$(dirname "$0")/lib.sh"

for cmd in nginx openssl sqlite3 python3; do
	command -v "$cmd" >/dev/null || skip "$cmd is not installed"
done

P_HTTP=$(free_port)
P_HTTPS=$(free_port)
P_CLOSED=$(free_port)
P_API=$(free_port)
DATA_DIR=$T/data
DB=$DATA_DIR/vantage.db
mkdir -p "$DATA_DIR" "$T/www" "$T/tmp"

# A certificate that expires in 5 days, valid for localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -days 5 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$T/key.pem" -out "$T/cert.pem" >"$T/openssl.out" 2>&1 ||
    fail "openssl req failed: $(cat "$T/openssl.out")"
head -c 1048576 /dev/zero >"$T/www/big"

nginx_start nginx 1 <<EOF
	log_format probe '\$request_method \$uri \$http_user_agent';
	server {
		listen 127.0.0.1:$P_HTTP;
		location = /ok { return 200 "ok\n"; }
		location = /head {
			access_log $T/head-access.log probe;
			return 200 "ok\n";
		}
		location = /fail { return 503 "down\n"; }
		location = /wrong { return 200 "nope\n"; }
		location = /slow { alias $T/www/big; limit_rate 1k; }
	}
	server {
		listen 127.0.0.1:$P_HTTPS ssl;
		ssl_certificate $T/cert.pem;
		ssl_certificate_key $T/key.pem;
		location = /ok { return 200 "ok\n"; }
	}
EOF
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
wait_for 5 port_open "$P_HTTP" || fail "nginx did not listen on $P_HTTP"
wait_for 5 port_open "$P_HTTPS" || fail "nginx did not listen on $P_HTTPS"

agent_conf "$T/vantaged.conf" "$DATA_DIR" "$P_API"
probe() {	# NAME TARGET [KEY = VALUE]...
	local name=$1 target=$2
	shift 2
	printf '[probe "%s"]\ntype = http\ntarget = %s\n' "$name" "$target"
	printf 'fall = 2\nrise = 1\n'
	[[ " $* " == *" interval = "* ]] || printf 'interval = 250ms\n'
	[[ " $* " == *" timeout = "* ]] || printf 'timeout = 250ms\n'
	printf '%s\n' "$@"
}
# A TLS handshake under ASan on a busy 2-core machine can take 100+ ms.
TLS_TIME=("interval = 500ms" "timeout = 500ms")
H=http://127.0.0.1:$P_HTTP
S=https://localhost:$P_HTTPS
{
	probe ok "$H/ok" "expect_body = ok"
	probe head "$H/head" "method = HEAD"
	probe regex "$H/ok" "expect_body_regex = ^o+k"
	probe fail "$H/fail"
	probe want503 "$H/fail" "expect_status = 503"
	probe wrong "$H/wrong" "expect_body = ok"
	probe slow "$H/slow" "interval = 500ms" "timeout = 300ms"
	probe closed "http://127.0.0.1:$P_CLOSED/"
	probe tls "$S/ok" "${TLS_TIME[@]}" "tls_verify = no" \
	    "cert_min_days = 14"
	probe tls_untrusted "$S/ok" "${TLS_TIME[@]}"
	probe tls_ca "$S/ok" "${TLS_TIME[@]}" "ca = $T/cert.pem" \
	    "cert_min_days = 3"
} >>"$T/vantaged.conf"
PROBES="ok head regex fail want503 wrong slow closed tls tls_untrusted tls_ca"

"$VANTAGED" -n -f "$T/vantaged.conf" >"$T/check.out" 2>&1 ||
    fail "config rejected: $(cat "$T/check.out")"

# Bad http probe definitions are refused by vantaged -n, each named.
agent_conf "$T/bad.conf" "$DATA_DIR" "$P_API"
{
	probe ftp "ftp://127.0.0.1:$P_HTTP/"
	probe post "$H/ok" "method = GE T"
	probe headbody "$H/ok" "method = HEAD" "expect_body = ok"
	probe space "http://exa mple/"
} >>"$T/bad.conf"
rc=0
"$VANTAGED" -n -f "$T/bad.conf" >"$T/bad.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "exit status of vantaged -n on bad http probes"
for want in "probe 'ftp': target must be an http:// or https:// URL" \
    "probe 'post': method 'GE T' is not an HTTP method" \
    "probe 'headbody': expect_body needs a method with a response body, not HEAD" \
    "probe 'space': bad URL 'http://exa mple/'"; do
	grep -qF "$want" "$T/bad.out" ||
	    fail "vantaged -n: expected '$want', got: $(cat "$T/bad.out")"
done

start_agent agent "$T/vantaged.conf"

# Rows that timed out are left out of the checks below except for the
# probe that must time out: a stalled test machine (ASan, a loaded CI
# box) may time out any probe now and then.  They must stay a minority.
NOT_TIMEOUT="ifnull(error, '') NOT LIKE 'timeout after%'"
# q PROBE EXPR [WHERE]: EXPR over the probe's result rows.
q() {
	local f=$NOT_TIMEOUT
	[ "$1" = slow ] && f=1
	sql "$DB" "SELECT $2 FROM result r JOIN probe p ON p.id = r.probe_id
	    WHERE p.name = '$1' AND $f ${3:+AND ($3)}"
}
# distinct PROBE COLUMN: the column's distinct values, sorted, comma-joined.
distinct() {
	local f=$NOT_TIMEOUT
	[ "$1" = slow ] && f=1
	sql "$DB" "SELECT group_concat(v, ',') FROM (SELECT DISTINCT $2 AS v
	    FROM result r JOIN probe p ON p.id = r.probe_id
	    WHERE p.name = '$1' AND $f ORDER BY v)"
}
# all PROBE EXPR: over every row, timeouts included.
all() {
	sql "$DB" "SELECT $2 FROM result r JOIN probe p ON p.id = r.probe_id
	    WHERE p.name = '$1'"
}
enough_rows() {
	local p n
	[ -f "$DB" ] || return 1
	for p in $PROBES; do
		n=$(q "$p" "count(*)") || return 1
		[ "${n:-0}" -ge 3 ] || return 1
	done
}
wait_for 20 enough_rows ||
    fail "expected >= 3 results for every probe within 20 s, got: $(
    for p in $PROBES; do printf '%s=%s ' "$p" "$(q "$p" 'count(*)')"; done)"
stop_agent agent

for p in $PROBES; do
	[ $(($(all "$p" "count(*)") / 2)) -ge "$(q "$p" "count(*)")" ] &&
	    fail "probe $p: expected most rows without a timeout, got" \
	    "$(all "$p" "count(*)") rows, $(q "$p" "count(*)") without"
done

LOG=$T/agent.log

# Rows, codes and status (0 ok, 1 degraded, 2 fail) per probe.
for p in ok head regex want503; do
	assert_eq 0 "$(distinct "$p" status)" "status of probe $p"
done
assert_eq 200 "$(distinct ok code)" "code of probe ok"
assert_eq 200 "$(distinct head code)" "code of probe head"
assert_eq 503 "$(distinct want503 code)" "code of probe want503"
assert_eq 2 "$(distinct fail status)" "status of probe fail"
assert_eq 503 "$(distinct fail code)" "code of probe fail"
assert_eq "status 503, expected 200-399" "$(distinct fail error)" \
    "error of probe fail"
assert_eq 2 "$(distinct wrong status)" "status of probe wrong"
assert_eq 200 "$(distinct wrong code)" "code of probe wrong"
assert_eq "body does not contain 'ok'" "$(distinct wrong error)" \
    "error of probe wrong"
assert_eq 2 "$(distinct slow status)" "status of probe slow"
assert_eq "timeout after 300ms" "$(distinct slow error)" "error of probe slow"
# A timed-out run keeps what it got to: the headers came, the body did not.
assert_eq 200 "$(distinct slow code)" "code of timed-out probe slow"
assert_eq 0 "$(q slow "count(*)" "NOT (ifnull(connect_us, -1) > 0 AND
    ifnull(ttfb_us, -1) > 0)")" \
    "rows of timed-out probe slow without connect and first-byte phases"
assert_eq 2 "$(distinct closed status)" "status of probe closed"
assert_match "^Failed to connect to 127\.0\.0\.1 port $P_CLOSED .*: Connection refused$" \
    "$(distinct closed error)" "error of probe closed"

# HTTPS: certificate facts even without verification; 5 days < 14.
assert_eq 1 "$(distinct tls status)" "status of probe tls"
assert_eq 200 "$(distinct tls code)" "code of probe tls"
# (notAfter is now + 5 days to the second: 5 at first, then 4.)
for p in tls tls_ca; do
	assert_eq 0 "$(q "$p" "count(*)" "cert_days IS NULL OR
	    cert_days NOT BETWEEN 3 AND 5")" \
	    "rows of probe $p with cert_days not in 3..5 (values: $(
	    distinct "$p" cert_days))"
done
assert_match "^certificate expires in [345] days" "$(distinct tls error)" \
    "error of probe tls"
assert_eq 2 "$(distinct tls_untrusted status)" "status of probe tls_untrusted"
assert_match "^SSL certificate problem: self.signed certificate" \
    "$(distinct tls_untrusted error)" "error of probe tls_untrusted"
assert_eq 0 "$(distinct tls_ca status)" "status of probe tls_ca"

# Timings: every row has a latency; phases where they apply.
for p in $PROBES; do
	assert_eq 0 "$(q "$p" "count(*)" "latency_us <= 0")" \
	    "rows of probe $p with latency_us <= 0"
done
# (NULL, a missing phase, must count as wrong: hence ifnull.)
assert_eq 0 "$(q ok "count(*)" "NOT (ifnull(dns_us, -1) >= 0 AND
    ifnull(connect_us, -1) > 0 AND ifnull(ttfb_us, -1) > 0 AND
    latency_us >= dns_us + connect_us + ttfb_us)")" \
    "rows of probe ok without dns/connect/ttfb phases adding up"
assert_eq 0 "$(q ok "count(*)" "ifnull(tls_us, -1) >= 0")" \
    "rows of plain-HTTP probe ok with a TLS phase"
assert_eq 0 "$(q tls "count(*)" "NOT (ifnull(tls_us, -1) > 0 AND
    ifnull(ttfb_us, -1) > 0 AND latency_us >= dns_us + connect_us +
    tls_us + ttfb_us)")" \
    "rows of probe tls without TLS and first-byte phases adding up"

# What the server saw: the method and our User-Agent.
assert_eq "HEAD /head vantaged/" \
    "$(sed 's/[0-9.]*$//' "$T/head-access.log" | sort -u)" \
    "requests of probe head in nginx's log (version stripped)"

# States follow fall/rise, as logged by the engine.
for want in "probe ok: unknown -> up" "probe tls_ca: unknown -> up" \
    "probe fail: unknown -> down (status 503" \
    "probe wrong: unknown -> down (body does not contain 'ok')" \
    "probe slow: unknown -> down (timeout" \
    "probe closed: unknown -> down (Failed to connect" \
    "probe tls: unknown -> degraded (certificate expires"; do
	name=${want#probe }
	name=${name%%:*}
	grep -qF "$want" "$LOG" ||
	    fail "agent log: expected a line with '$want', got: '$(
	    grep -F "probe $name:" "$LOG" | head -3)'"
done
exit 0
