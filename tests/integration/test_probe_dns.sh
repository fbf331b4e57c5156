#!/bin/bash
# dns probes against a dnsmasq on loopback serving a test zone: right and
# wrong expected answers, TXT/MX/CNAME/PTR, NXDOMAIN, REFUSED, and a server
# that never answers (a bound UDP port that reads nothing).  Checks the
# stored rows (status, rcode, error text) and the states in the log.
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
EOC
out=$("$VANTAGED" -n -f "$T/bad.conf" 2>&1) && fail "bad dns config accepted"
for want in "probe 'rec': record 'XX' is not one of A AAAA" \
    "probe 'srv': server 'resolver.example' is not an IP address" \
    "probe 'name': target 'bad..name' is not a DNS name" \
    "probe 'addr': expect_answer '10.0.0.1' is not an IPv6 address"; do
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
bg dnsmasq "$DNSMASQ" --no-resolv --no-hosts --keep-in-foreground \
    --port="$dns" --listen-address=127.0.0.1 --bind-interfaces \
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

srv="127.0.0.1:$dns"
agent_conf "$T/a.conf" "$T/data" "$api"
probe() {	# NAME TARGET RECORD EXPECT SERVER [TIMEOUT]
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

start_agent agent "$T/a.conf"
for p in a-ok txt mx cname ptr; do
	wait_for 10 grep -q "probe $p: unknown -> up" "$T/agent.log" ||
	    fail "probe $p never went up"
done
for p in a-wrong nx refused dead; do
	wait_for 10 grep -q "probe $p: unknown -> down" "$T/agent.log" ||
	    fail "probe $p never went down"
done
sleep 0.4
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

for p in a-ok txt mx cname ptr; do
	assert_eq 0 "$(statuses $p)" "statuses of $p"
	assert_eq 0 "$(last $p code)" "rcode of $p"
	assert_eq "" "$(last $p "coalesce(error, '')")" "error of $p"
done
for p in a-wrong nx refused dead; do
	assert_eq 2 "$(statuses $p)" "statuses of $p"
done

assert_match '^answer 10\.0\.0\.9 not among 10\.0\.0\.[12], 10\.0\.0\.[12]$' \
    "$(last a-wrong error)" "error of a-wrong"
assert_eq 0 "$(last a-wrong code)" "rcode of a-wrong"
assert_eq "NXDOMAIN for missing.vantage.test" "$(last nx error)" "error of nx"
assert_eq 3 "$(last nx code)" "rcode of nx"
assert_eq "REFUSED for www.example.com" "$(last refused error)" \
    "error of refused"
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
exit 0
