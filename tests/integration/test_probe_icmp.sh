#!/bin/bash
# icmp probes of loopback (127.0.0.1, ::1, localhost; some sending more
# than one echo request a run) as the current user:
# up with an RTT when this user may ping (ping_group_range or CAP_NET_RAW),
# else unknown (the check cannot run) with the error that names both.  When root, also as an
# unprivileged user: refused (the clear error), and, with
# net.ipv4.ping_group_range widened for the test and restored after,
# through a ping socket.
. "$(dirname "$0")/lib.sh"

cat >"$T/bad.conf" <<EOC
[agent]
data_dir = $T/bad
[probe "port"]
type = icmp
target = 127.0.0.1:80
EOC
cat >>"$T/bad.conf" <<EOC
[probe "long"]
type = icmp
target = 127.0.0.1
count = 10
packet_interval = 100ms
timeout = 1s
[probe "fast"]
type = icmp
target = 127.0.0.1
count = 2
packet_interval = 5ms
[probe "many"]
type = icmp
target = 127.0.0.1
count = 1001
EOC
out=$("$VANTAGED" -n -f "$T/bad.conf" 2>&1) && fail "bad icmp probes accepted"
for want in "probe 'port': target '127.0.0.1:80': icmp takes a host" \
    "probe 'long': count 10 x packet_interval 100ms = 1000ms does not fit in timeout 1000ms" \
    "probe 'fast': packet_interval 5ms: must be 10ms to 60s" \
    "probe 'many': count 1001: at most 1000 echo requests per run"; do
	[[ "$out" == *"$want"* ]] || fail "vantaged -n: expected '$want' in: $out"
done
printf '[agent]\ndata_dir = %s\n[probe "pct"]\ntype = icmp\ntarget = ::1\nmax_loss = 120\n' \
    "$T/bad" >"$T/pct.conf"
out=$("$VANTAGED" -n -f "$T/pct.conf" 2>&1) && fail "max_loss 120 accepted"
[[ "$out" == *"pct.conf:6: max_loss: '120' is not a percentage"* ]] ||
    fail "vantaged -n: expected the max_loss error, got: $out"

range=$(cat /proc/sys/net/ipv4/ping_group_range 2>/dev/null) ||
    fail "cannot read net.ipv4.ping_group_range"
read -r lo hi <<<"$range"

# May this user ping?  A group in the range, or CAP_NET_RAW (bit 13).
allowed=0
for g in $(id -G); do
	[ "$g" -ge "$lo" ] && [ "$g" -le "$hi" ] && allowed=1
done
capeff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
(( (16#$capeff >> 13) & 1 )) && allowed=1
has_v6=0
grep -q '^0\{31\}1 .* lo$' /proc/net/if_inet6 2>/dev/null && has_v6=1
[ $has_v6 = 1 ] || echo "note: no ::1 on lo, IPv6 not probed" >&2

probes() {	# CONF: the loopback probes
	cat >>"$1" <<EOC
[probe "ping4"]
type = icmp
target = 127.0.0.1
count = 3
packet_interval = 20ms
interval = 200ms
timeout = 150ms
fall = 1
rise = 1
[probe "pingname"]
type = icmp
target = localhost
interval = 200ms
timeout = 150ms
fall = 1
rise = 1
EOC
	[ $has_v6 = 1 ] && cat >>"$1" <<EOC
[probe "ping6"]
type = icmp
target = ::1
count = 2
packet_interval = 10ms
interval = 200ms
timeout = 150ms
fall = 1
rise = 1
EOC
	return 0
}
names="ping4 pingname"
[ $has_v6 = 1 ] && names="$names ping6"

# check_up LOG DB: every loopback probe up, only OK rows with an RTT.
check_up() {
	local p n
	for p in $names; do
		wait_for 10 grep -q "probe $p: unknown -> up" "$1" ||
		    fail "probe $p never went up ($1)"
	done
	sleep 0.5
	stop_agent "$3"
	for p in $names; do
		n=$(sql "$2" "SELECT count(*) FROM result r JOIN probe p ON
		    p.id = r.probe_id WHERE p.name = '$p' AND r.status = 0 AND
		    r.latency_us BETWEEN 1 AND 150000 AND
		    coalesce(r.error, '') = ''")
		[ "$n" -ge 2 ] ||
		    fail "$p: expected >= 2 ok results with an RTT, got $n"
		n=$(sql "$2" "SELECT count(*) FROM result r JOIN probe p ON
		    p.id = r.probe_id WHERE p.name = '$p' AND r.status <> 0")
		assert_eq 0 "$n" "failed results of $p ($2)"
	done
}

has_results() {	# DB PROBE: it has stored 2 results or more
	[ "$(sql "$1" "SELECT count(*) FROM result r JOIN probe p ON
	    p.id = r.probe_id WHERE p.name = '$2'")" -ge 2 ]
}

# check_refused LOG DB NAME GID: every probe's results are UNKNOWN (the
# check could not run: no verdict on the target) with the clear error, and
# no probe left the unknown state for down.
check_refused() {
	local p msg n
	msg="ping sockets not allowed for gid $4: set net.ipv4.ping_group_range (sysctl) to include it, or grant CAP_NET_RAW"
	for p in $names; do
		wait_for 10 has_results "$2" "$p" ||
		    fail "probe $p: no results ($1)"
	done
	stop_agent "$3"
	for p in $names; do
		assert_eq "3|$msg" "$(sql "$2" "SELECT DISTINCT r.status, r.error
		    FROM result r JOIN probe p ON p.id = r.probe_id
		    WHERE p.name = '$p'")" "result of $p ($2)"
	done
	grep -q " -> down" "$1" && fail "a probe went down, not unknown ($1)"
	return 0
}

# 1. as the current user
agent_conf "$T/a.conf" "$T/data" "$(free_port)"
probes "$T/a.conf"
start_agent agent "$T/a.conf"
if [ $allowed = 1 ]; then
	check_up "$T/agent.log" "$T/data/vantage.db" agent
else
	echo "note: $(id -un) may not ping (range $lo-$hi, no" \
	    "CAP_NET_RAW): checking the error instead" >&2
	check_refused "$T/agent.log" "$T/data/vantage.db" agent "$(id -g)"
fi

[ "$(id -u)" = 0 ] || exit 0
command -v setpriv >/dev/null || fail "root but no setpriv (util-linux)"

# as uid nobody with group GID and no capabilities at all
as_nobody() {	# NAME GID CONF
	bg "$1" setpriv --reuid=65534 --regid="$2" --clear-groups \
	    --inh-caps=-all --bounding-set=-all "$VANTAGED" -d -f "$3"
	wait_for 10 grep -q "ready" "$T/$1.log" ||
	    fail "agent $1 did not become ready"
}
chmod 755 "$T"

# 2. a group outside the range, no CAP_NET_RAW: refused, clearly
gid=""
if [ "$hi" -lt 2147483647 ] && [ "$hi" -ge "$lo" ]; then
	gid=$((hi + 1))
elif [ "$lo" -gt "$hi" ]; then
	gid=65534		# empty range: "1 0" is the kernel default
elif [ "$lo" -gt 0 ]; then
	gid=$((lo - 1))
fi
if [ -n "$gid" ]; then
	mkdir -m 777 "$T/data2"
	agent_conf "$T/b.conf" "$T/data2" "$(free_port)"
	probes "$T/b.conf"
	as_nobody refused "$gid" "$T/b.conf"
	check_refused "$T/refused.log" "$T/data2/vantage.db" refused "$gid"
else
	echo "note: ping_group_range '$range' admits every group:" \
	    "the refusal is not tested" >&2
fi

# 3. a group inside the range: the ping socket path, no privilege at all
restore_range() {
	sysctl -q -w net.ipv4.ping_group_range="$lo $hi" ||
	    echo "could not restore net.ipv4.ping_group_range to '$lo $hi'" >&2
}
if ! [ 65534 -ge "$lo" ] || ! [ 65534 -le "$hi" ]; then
	sysctl -q -w net.ipv4.ping_group_range="0 2147483647" ||
	    fail "root but cannot widen net.ipv4.ping_group_range"
	CLEANUP_HOOK=restore_range
fi
mkdir -m 777 "$T/data3"
agent_conf "$T/c.conf" "$T/data3" "$(free_port)"
probes "$T/c.conf"
as_nobody pingsock 65534 "$T/c.conf"
check_up "$T/pingsock.log" "$T/data3/vantage.db" pingsock
if [ -n "${CLEANUP_HOOK:-}" ]; then
	restore_range
	CLEANUP_HOOK=
fi
exit 0
