#!/bin/bash
# dns probes against a dnsmasq on loopback serving a test zone: right and
# wrong expected answers, TXT/MX/CNAME/PTR, NXDOMAIN, REFUSED, and a server
# that never answers (a bound UDP port that reads nothing); expect_rcode
# (a name that must be gone), expect_answer_regex, a server by its IPv6
# address, and TCP: a server whose UDP side answers every query truncated
# (TC) and whose TCP side forwards to dnsmasq, logging which side each
# query came in on, for protocol = tcp and for the fallback of a UDP probe.
# Checks the stored rows (status, rcode, error text), the states in the
# log, and the API's results.
. "$(dirname "$0")/lib.sh"

# Bad dns keys are config errors that name the probe.
cat >"$T/bad.conf" <<EOC
[agent]
data_dir = $T/bad
[probe "rec"]
type = dns
target = www.vantage.test
record = XX
[probe "srv"]
type = dns
target = www.vantage.test
server = resolver.example
[probe "name"]
type = dns
target = bad..name
[probe "addr"]
type = dns
target = www.vantage.test
record = AAAA
expect_answer = 10.0.0.1
[probe "proto"]
type = dns
target = www.vantage.test
protocol = quic
[probe "rcode"]
type = dns
target = www.vantage.test
expect_rcode = GONE
[probe "nxans"]
type = dns
target = www.vantage.test
expect_rcode = NXDOMAIN
expect_answer_regex = ^10
[probe "re"]
type = dns
target = www.vantage.test
expect_answer_regex = (10
EOC
out=$("$VANTAGED" -n -f "$T/bad.conf" 2>&1) && fail "bad dns config accepted"
for want in "probe 'rec': record 'XX' is not one of A AAAA" \
    "probe 'srv': server 'resolver.example' is not an IP address" \
    "probe 'name': target 'bad..name' is not a DNS name" \
    "probe 'addr': expect_answer '10.0.0.1' is not an IPv6 address" \
    "probe 'proto': protocol must be udp or tcp, not 'quic'" \
    "probe 'rcode': expect_rcode 'GONE' is not an rcode" \
    "probe 'nxans': expect_answer_regex needs expect_rcode NOERROR, not NXDOMAIN" \
    "probe 're': bad regex"; do
	[[ "$out" == *"$want"* ]] ||
	    fail "vantaged -n: expected '$want' in: $out"
done

DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || fail "dnsmasq not installed (Debian dnsmasq-base)"

dns=$(free_port)
api=$(free_port)
user=()
# dnsmasq drops to "nobody" when root unless told otherwise
[ "$(id -u)" = 0 ] && user=(--user=root)
has_v6=0
grep -q '^0\{31\}1 .* lo$' /proc/net/if_inet6 2>/dev/null && has_v6=1
[ $has_v6 = 1 ] && listen=127.0.0.1,::1 || listen=127.0.0.1
bg dnsmasq "$DNSMASQ" --no-resolv --no-hosts --keep-in-foreground \
    --port="$dns" --listen-address=$listen --bind-interfaces \
    "${user[@]}" --pid-file="$T/dnsmasq.pid" --log-facility=- --log-queries \
    --local=/vantage.test/ \
    --host-record=www.vantage.test,10.0.0.1 \
    --host-record=www.vantage.test,10.0.0.2 \
    --cname=alias.vantage.test,www.vantage.test \
    --mx-host=vantage.test,mail.vantage.test,10 \
    --txt-record=vantage.test,"v=spf1 -all"
wait_for 10 grep -q "started" "$T/dnsmasq.log" || fail "dnsmasq did not start"

# A resolver that takes the query and never answers: a timeout, not a
# refusal (a closed loopback port answers with ICMP port unreachable).
# (perl-base: starts in milliseconds, unlike a pyenv python3)
bg blackhole perl -MIO::Socket::INET -e '
$s = IO::Socket::INET->new(Proto => "udp", LocalAddr => "127.0.0.1",
    LocalPort => 0) or die "bind: $!";
$| = 1;
print $s->sockport, "\n";
sleep 3600;'
wait_for 10 test -s "$T/blackhole.log" || fail "blackhole did not start"
dead=$(head -n1 "$T/blackhole.log")

# UDP: every answer truncated (TC, no records); TCP: forwarded to dnsmasq.
# Each query is logged as "udp NAME" or "tcp NAME".
cat >"$T/tcsrv.py" <<'EOP'
import socket, struct, sys, threading
up = int(sys.argv[1])
# one port for both: a free UDP port may be taken for TCP, so try again
for attempt in range(100):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        t.bind(("127.0.0.1", port))
        break
    except OSError:
        u.close()
        t.close()
t.listen(64)
lock = threading.Lock()
def qname(q):
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    return ".".join(labels), i + 5
def log(s):
    with lock:
        print(s, flush=True)
def recvn(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b
def tcp_one(c):
    try:
        while True:
            n, = struct.unpack("!H", recvn(c, 2))
            q = recvn(c, n)
            log("tcp " + qname(q)[0])
            f = socket.create_connection(("127.0.0.1", up))
            f.sendall(struct.pack("!H", n) + q)
            m, = struct.unpack("!H", recvn(f, 2))
            c.sendall(struct.pack("!H", m) + recvn(f, m))
            f.close()
    except (EOFError, OSError):
        pass
    c.close()
def tcp_loop():
    while True:
        c, _ = t.accept()
        threading.Thread(target=tcp_one, args=(c,), daemon=True).start()
threading.Thread(target=tcp_loop, daemon=True).start()
print(port, flush=True)
while True:
    q, peer = u.recvfrom(4096)
    name, end = qname(q)
    log("udp " + name)
    # QR, TC, RD as asked, RA; the question only
    flags = 0x8000 | 0x0200 | (q[2] << 8 & 0x0100) | 0x0080
    u.sendto(q[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + q[12:end], peer)
EOP
bg tcsrv python3 "$T/tcsrv.py" "$dns"
wait_for 10 test -s "$T/tcsrv.log" || fail "tcsrv did not start"
tcs=$(head -n1 "$T/tcsrv.log")

srv="127.0.0.1:$dns"
agent_conf "$T/a.conf" "$T/data" "$api"
: >"$T/tokens"
chmod 600 "$T/tokens"
TOK=$(new_token vera viewer)
echo "tokens = $T/tokens" >>"$T/a.conf"
probe() {	# NAME TARGET RECORD EXPECT SERVER [TIMEOUT [KEY=VALUE...]]
	cat >>"$T/a.conf" <<EOC
[probe "$1"]
type = dns
target = $2
record = $3
server = $5
interval = 300ms
timeout = ${6:-250ms}
fall = 1
rise = 1
EOC
	[ -n "$4" ] && echo "expect_answer = $4" >>"$T/a.conf"
	shift 6 2>/dev/null || shift $#
	local kv
	for kv in "$@"; do
		echo "${kv%%=*} = ${kv#*=}" >>"$T/a.conf"
	done
	return 0
}
probe a-ok www.vantage.test A 10.0.0.2 "$srv"
probe a-wrong www.vantage.test A 10.0.0.9 "$srv"
probe txt vantage.test TXT "v=spf1 -all" "$srv"
probe mx vantage.test MX mail.vantage.test "$srv"
probe cname alias.vantage.test CNAME www.vantage.test "$srv"
probe ptr 10.0.0.1 PTR www.vantage.test "$srv"
probe nx missing.vantage.test A "" "$srv"
probe refused www.example.com A "" "$srv"
probe dead www.vantage.test A "" "127.0.0.1:$dead" 200ms
probe gone missing.vantage.test A "" "$srv" 250ms expect_rcode=NXDOMAIN
probe notgone www.vantage.test A "" "$srv" 250ms expect_rcode=nxdomain
probe re-ok www.vantage.test A "" "$srv" 250ms 'expect_answer_regex=^10\.0\.0\.2$'
probe re-mx vantage.test MX "" "$srv" 250ms 'expect_answer_regex=^10 mail\.'
probe re-bad www.vantage.test A "" "$srv" 250ms 'expect_answer_regex=^192\.'
probe tcp www.vantage.test A 10.0.0.1 "127.0.0.1:$tcs" 250ms protocol=tcp
probe tc vantage.test MX mail.vantage.test "127.0.0.1:$tcs" 250ms
probe tcp-dead www.vantage.test A "" "127.0.0.1:$dead" 250ms protocol=tcp
[ $has_v6 = 1 ] && probe v6 www.vantage.test A 10.0.0.1 "[::1]:$dns"
up_probes="a-ok txt mx cname ptr gone re-ok re-mx tcp tc"
[ $has_v6 = 1 ] && up_probes="$up_probes v6"
down_probes="a-wrong nx refused dead notgone re-bad tcp-dead"

start_agent agent "$T/a.conf"
for p in $up_probes; do
	wait_for 10 grep -q "probe $p: unknown -> up" "$T/agent.log" ||
	    fail "probe $p never went up"
done
for p in $down_probes; do
	wait_for 10 grep -q "probe $p: unknown -> down" "$T/agent.log" ||
	    fail "probe $p never went down"
done
sleep 0.4
# the API shows what the store has: the error text, and detail when it
# shows any
r=$(curl -sf -H "Authorization: Bearer $TOK" \
    "http://127.0.0.1:$api/v1/probes/notgone/results?limit=5000" |
    jq -c '.results[-1]') || fail "GET /v1/probes/notgone/results"
assert_eq "fail|rcode NOERROR, expected NXDOMAIN (A www.vantage.test)|0" \
    "$(jq -r '"\(.status)|\(.error)|\(.code)"' <<<"$r")" "API result of notgone"
r=$(curl -sf -H "Authorization: Bearer $TOK" \
    "http://127.0.0.1:$api/v1/probes/tc/results?limit=5000" |
    jq -c '.results[-1]') || fail "GET /v1/probes/tc/results"
assert_eq "ok|" "$(jq -r '"\(.status)|\(.error)"' <<<"$r")" "API result of tc"
if jq -e 'has("detail")' <<<"$r" >/dev/null; then
	assert_eq "tcp|true|0" "$(jq -r '.detail |
	    "\(.protocol)|\(.tcp_fallback)|\(.rcode)"' <<<"$r")" "detail of tc"
fi
stop_agent agent

db="$T/data/vantage.db"
last() {	# PROBE COLUMN: that column of the probe's latest result
	sql "$db" "SELECT $2 FROM result r JOIN probe p ON p.id = r.probe_id
	    WHERE p.name = '$1' ORDER BY r.t_ms DESC LIMIT 1"
}
statuses() {	# PROBE: its distinct result statuses
	sql "$db" "SELECT group_concat(DISTINCT r.status) FROM result r
	    JOIN probe p ON p.id = r.probe_id WHERE p.name = '$1'"
}

for p in $up_probes; do
	assert_eq 0 "$(statuses $p)" "statuses of $p"
	[ $p = gone ] && want=3 || want=0
	assert_eq $want "$(last $p code)" "rcode of $p"
	assert_eq "" "$(last $p "coalesce(error, '')")" "error of $p"
done
for p in $down_probes; do
	assert_eq 2 "$(statuses $p)" "statuses of $p"
done

assert_match '^answer 10\.0\.0\.9 not among 10\.0\.0\.[12], 10\.0\.0\.[12]$' \
    "$(last a-wrong error)" "error of a-wrong"
assert_eq 0 "$(last a-wrong code)" "rcode of a-wrong"
assert_eq "rcode NXDOMAIN, expected NOERROR (A missing.vantage.test)" \
    "$(last nx error)" "error of nx"
assert_eq 3 "$(last nx code)" "rcode of nx"
assert_eq "rcode REFUSED, expected NOERROR (A www.example.com)" \
    "$(last refused error)" "error of refused"
assert_eq 5 "$(last refused code)" "rcode of refused"
assert_match "^timeout: no answer from 127\.0\.0\.1:$dead within [0-9]+ms$" \
    "$(last dead error)" "error of dead"
assert_eq -1 "$(last dead "coalesce(code, -1)")" "rcode of dead"
lat=$(last dead latency_us)
[ "$lat" -ge 150000 ] && [ "$lat" -le 1000000 ] ||
    fail "latency of dead: expected about 200ms, got ${lat}us"
lat=$(sql "$db" "SELECT min(latency_us) FROM result")
[ "$lat" -gt 0 ] || fail "latency_us not recorded: $lat"
grep -q "probe a-wrong: unknown -> down (answer 10.0.0.9 not among" \
    "$T/agent.log" || fail "a-wrong: state change without its reason"
assert_eq "rcode NOERROR, expected NXDOMAIN (A www.vantage.test)" \
    "$(last notgone error)" "error of notgone"
assert_match '^no answer matches /\^192\\\./: got 10\.0\.0\.[12], 10\.0\.0\.[12]$' \
    "$(last re-bad error)" "error of re-bad"
assert_eq "127.0.0.1:$dead refused the query over tcp (nothing listening?)" \
    "$(last tcp-dead error)" "error of tcp-dead"
# protocol = tcp asked over TCP only; the UDP probe got a truncated
# answer and asked again over TCP
grep -q "^tcp www.vantage.test$" "$T/tcsrv.log" || fail "tcp: no TCP query"
grep -q "^udp www.vantage.test$" "$T/tcsrv.log" &&
    fail "tcp: protocol = tcp sent a UDP query"
grep -q "^udp vantage.test$" "$T/tcsrv.log" || fail "tc: no UDP query"
grep -q "^tcp vantage.test$" "$T/tcsrv.log" || fail "tc: no TCP fallback"
exit 0
