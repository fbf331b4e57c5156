#!/bin/bash
# icmp probes with loss, against a network namespace the test makes and
# reaches over two veth links (root: raw sockets, so every echo reply of
# the host reaches every probe's socket and each must pick out its own):
#  - link 1: a clean IPv4 and IPv6 address (up), and an address whose
#    echo requests are all dropped (down, "loss 100% ... no reply");
#  - link 2: every 5th echo request dropped (nft numgen in the namespace,
#    or netem loss 20% on its egress when nft lacks it): with count = 50
#    over 10 runs (500 requests) the measured loss is within 5 points of
#    20%, and over max_loss 10% the probe is degraded with the loss text;
#    with its own counter and max_loss 25% a second address stays up.
# Checked through the API: states (/v1/status), error texts and latencies
# (/v1/probes/NAME/results), and the detail members when results show it.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
for c in ip jq curl; do
	command -v $c >/dev/null || fail "$c is missing (.ci/deps installs it)"
done
ID=$$
NS=vt$ID-icmp
NET1=10.232.$((ID % 250 + 1))
NET2=10.233.$((ID % 250 + 1))
NET6=fd7e:$(printf %x $((ID % 65536)))::

ns_cleanup() {
	local p
	for p in $(ip netns pids "$NS" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	ip link del "vti$ID-1" 2>/dev/null
	ip link del "vti$ID-2" 2>/dev/null
	return 0
}
CLEANUP_HOOK=ns_cleanup

ip netns add "$NS" 2>"$T/netns.err" ||
    skip "this machine forbids network namespaces: $(cat "$T/netns.err")"
in_ns() { ip netns exec "$NS" "$@"; }
for i in 1 2; do
	ip link add "vti$ID-$i" type veth peer name "eth$i" netns "$NS" ||
	    fail "veth $i"
	ip link set "vti$ID-$i" up
	in_ns ip link set "eth$i" up
done
in_ns ip link set lo up
ip addr add "$NET1.1/24" dev "vti$ID-1"
ip addr add "$NET6"1/64 dev "vti$ID-1" nodad
ip addr add "$NET2.1/24" dev "vti$ID-2"
in_ns ip addr add "$NET1.2/24" dev eth1
in_ns ip addr add "$NET1.3/24" dev eth1
in_ns ip addr add "$NET6"2/64 dev eth1 nodad
in_ns ip addr add "$NET2.2/24" dev eth2
in_ns ip addr add "$NET2.3/24" dev eth2

# Loss: nft first (deterministic), else netem (random, about 20%).
exact=0
if command -v nft >/dev/null &&
    in_ns nft add table inet vtloss 2>"$T/nft.err" &&
    in_ns nft add chain inet vtloss in \
    '{ type filter hook input priority 0; }' 2>>"$T/nft.err" &&
    in_ns nft add rule inet vtloss in ip daddr "$NET2.2" icmp type \
    echo-request numgen inc mod 5 == 0 drop 2>>"$T/nft.err" &&
    in_ns nft add rule inet vtloss in ip daddr "$NET2.3" icmp type \
    echo-request numgen inc mod 5 == 0 drop 2>>"$T/nft.err" &&
    in_ns nft add rule inet vtloss in ip daddr "$NET1.3" icmp type \
    echo-request drop 2>>"$T/nft.err"; then
	exact=1
elif in_ns tc qdisc add dev eth2 root netem loss 20% 2>"$T/tc.err"; then
	# no nft: the down address is one nobody has (no ARP answer)
	in_ns ip addr del "$NET1.3/24" dev eth1
else
	skip "the kernel lacks both nft numgen and netem:" \
	    "$(cat "$T/nft.err" "$T/tc.err" 2>/dev/null | tr '\n' ' ')"
fi
ping -c1 -W2 "$NET1.2" >/dev/null 2>&1 || fail "the namespace does not answer ping"

: >"$T/tokens"
chmod 600 "$T/tokens"
TOK=$(new_token vera viewer)
api=$(free_port)
U="http://127.0.0.1:$api"
agent_conf "$T/a.conf" "$T/data" "$api"
echo "tokens = $T/tokens" >>"$T/a.conf"
probe() {	# NAME TARGET COUNT MAX_LOSS: a probe run 10 times in ~8 s
	cat >>"$T/a.conf" <<EOC
[probe "$1"]
type = icmp
target = $2
count = $3
packet_interval = 10ms
max_loss = $4
interval = 800ms
timeout = 700ms
fall = 1
rise = 1
EOC
}
probe clean4 "$NET1.2" 5 0
probe clean6 "$NET6"2 5 0
probe loop6 ::1 3 0
probe gone "$NET1.3" 5 0
probe lossy "$NET2.2" 50 10
[ $exact = 1 ] && probe within "$NET2.3" 10 25
start_agent agent "$T/a.conf"

get() {	# PATH: the API's answer (a viewer's)
	curl -sf -H "Authorization: Bearer $TOK" "$U$1"
}
state() {	# NAME: its state in /v1/status
	get /v1/status | jq -r --arg n "$1" '.probes[] | select(.name == $n) | .state'
}
nresults() {	# NAME: how many results it has stored
	get "/v1/probes/$1/results?limit=5000" | jq '.results | length'
}
last() {	# NAME: its latest result (JSON)
	get "/v1/probes/$1/results?limit=5000" | jq -c '.results[-1]'
}
has_results() { [ "$(nresults "$1")" -ge "$2" ]; }

wait_for 20 has_results lossy 11 || fail "lossy: fewer than 11 results"
for p in clean4 clean6 loop6 gone; do
	wait_for 5 has_results $p 3 || fail "$p: fewer than 3 results"
done

for p in clean4 clean6 loop6; do
	assert_eq up "$(state $p)" "state of $p"
	r=$(last $p)
	assert_eq ok "$(jq -r .status <<<"$r")" "status of $p: $r"
	assert_eq "" "$(jq -r .error <<<"$r")" "error of $p"
	lat=$(jq -r .latency_us <<<"$r")
	[ "$lat" -ge 1 ] && [ "$lat" -lt 100000 ] ||
	    fail "$p: latency (the average RTT) ${lat}us"
	if jq -e 'has("detail")' <<<"$r" >/dev/null; then
		n=$(jq -r '.detail.sent' <<<"$r")
		[ $p = loop6 ] && want=3 || want=5
		assert_eq "$want|$want|0" "$(jq -r '"\(.detail.sent)|\(.detail.received)|\(.detail.loss_pct)"' <<<"$r")" "detail of $p"
		jq -e --argjson l "$lat" '.detail | .rtt_min_us <= .rtt_avg_us and .rtt_avg_us <= .rtt_max_us and .rtt_avg_us == $l and .rtt_mdev_us >= 0' \
		    <<<"$r" >/dev/null || fail "rtt detail of $p: $r"
	fi
done

assert_eq down "$(state gone)" "state of gone"
r=$(last gone)
assert_eq fail "$(jq -r .status <<<"$r")" "status of gone"
assert_match "^loss 100% \(5 of 5\): ping $NET1\.3: (no reply|No route to host)$" \
    "$(jq -r .error <<<"$r")" "error of gone"

# lossy: degraded with the loss text; over the last 10 runs (500
# requests) the loss is 20% within 5 points
assert_eq degraded "$(state lossy)" "state of lossy"
get "/v1/probes/lossy/results?limit=5000" | jq -c '.results[-10:][]' >"$T/lossy.json"
lost=0
sent=0
while read -r r; do
	e=$(jq -r .error <<<"$r")
	if [ "$(jq -r .status <<<"$r")" = ok ] && [ -z "$e" ]; then
		l=0		# netem may lose nothing in a run
	else
		assert_eq degraded "$(jq -r .status <<<"$r")" "lossy: status of $r"
		[[ "$e" =~ ^loss\ ([0-9.]+)%\ \(([0-9]+)\ of\ 50\)\ over\ max_loss\ 10%$ ]] ||
		    fail "lossy: error text '$e'"
		l=${BASH_REMATCH[2]}
		[ $exact = 1 ] && assert_eq "20 10" "${BASH_REMATCH[1]} $l" \
		    "lossy: loss of one run (every 5th dropped)"
	fi
	if jq -e 'has("detail")' <<<"$r" >/dev/null; then
		assert_eq "50|$((50 - l))" "$(jq -r '"\(.detail.sent)|\(.detail.received)"' <<<"$r")" "detail of $r"
	fi
	lat=$(jq -r .latency_us <<<"$r")
	[ "$lat" -ge 1 ] && [ "$lat" -lt 100000 ] ||
	    fail "lossy: latency (the average RTT) ${lat}us in $r"
	lost=$((lost + l))
	sent=$((sent + 50))
done <"$T/lossy.json"
assert_eq 500 "$sent" "requests over 10 runs of lossy"
[ "$lost" -ge 75 ] && [ "$lost" -le 125 ] ||
    fail "lossy: lost $lost of 500, expected 20% +- 5 points (75 to 125)"

if [ $exact = 1 ]; then
	assert_eq up "$(state within)" "state of within"
	r=$(last within)
	assert_eq "ok|" "$(jq -r '"\(.status)|\(.error)"' <<<"$r")" "within: $r"
fi
stop_agent agent
exit 0
