#!/bin/bash
# A real fleet end to end: three hosts as network namespaces joined by a
# bridge, each with its own vantaged and database; nginx backends on two
# of them and HAProxy on the third asking both agents (agent-check).
#  - the same links are probed from all three agents; one link blocked
#    from one host only (nft in that namespace): the console's status
#    --json says "down from 1 of 3";
#  - `vantage drain` while a client loop runs through HAProxy: zero failed
#    requests, HAProxy shows DRAIN, the audit names the operator;
#  - one agent killed with SIGKILL and restarted: the drain holds, the
#    database passes integrity_check, the console shows it unreachable and
#    then back;
#  - a real Prometheus scrapes the three agents and returns vantage_probe_up
#    series from all three.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH

[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
for c in ip nft haproxy nginx prometheus jq curl; do
	command -v $c >/dev/null || fail "$c is missing (.ci/deps installs it)"
done
ID=$$
NET=10.231.$((ID % 250 + 1))
BR=vtbr$ID
NS=()
for i in 1 2 3; do NS[$i]=vt$ID-h$i; done

fleet_cleanup() {
	local i p
	for i in 1 2 3; do
		# whatever still runs inside the namespace goes with it
		for p in $(ip netns pids "${NS[$i]}" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
		ip netns del "${NS[$i]}" 2>/dev/null
	done
	ip link del "$BR" 2>/dev/null
	return 0
}
CLEANUP_HOOK=fleet_cleanup

ip netns add "${NS[1]}" 2>"$T/netns.err" ||
    skip "this machine forbids network namespaces: $(cat "$T/netns.err")"
ip link add "$BR" type bridge || fail "cannot create bridge $BR"
ip addr add "$NET.254/24" dev "$BR"
ip link set "$BR" up
for i in 1 2 3; do
	[ $i -eq 1 ] || ip netns add "${NS[$i]}" || fail "ip netns add ${NS[$i]}"
	ip link add "vt$ID-$i" type veth peer name eth0 netns "${NS[$i]}" ||
	    fail "veth for ${NS[$i]}"
	ip link set "vt$ID-$i" master "$BR" up
	ip -n "${NS[$i]}" addr add "$NET.$i/24" dev eth0
	ip -n "${NS[$i]}" link set eth0 up
	ip -n "${NS[$i]}" link set lo up
done
# on_host: runs a command inside host N's namespace
on_host() { local n=$1; shift; ip netns exec "${NS[$n]}" "$@"; }

# tokens: one operator for the console, shared by the three agents
tok_line=$("$VANTAGED" token alice operator) || fail "vantaged token"
TOK=$(echo "$tok_line" | sed -n 's/^token: //p')
echo "$tok_line" | sed -n 's/^tokens file line: //p' >"$T/tokens"
chmod 600 "$T/tokens"

# nginx backends on hosts 1 and 2
for i in 1 2; do
	d=$T/nginx$i
	mkdir -p "$d/www" "$d/tmp"
	echo "ok from h$i" >"$d/www/index.html"
	cat >"$d/nginx.conf" <<EOC
user root;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $d/tmp; proxy_temp_path $d/tmp;
	fastcgi_temp_path $d/tmp; uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
	server { listen $NET.$i:8080; root $d/www; }
}
EOC
	bg "nginx$i" ip netns exec "${NS[$i]}" nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;'
done

# one vantaged per host, each probing the same three links
agent_config() {	# N
	cat >"$T/h$1.conf" <<EOC
[agent]
name = h$1
data_dir = $T/data-h$1
[api]
listen = $NET.$1:7787
tokens = $T/tokens
metrics_public = yes
[haproxy]
listen = $NET.$1:7788
[probe "web1"]
type = http
target = http://$NET.1:8080/
interval = 300ms
timeout = 250ms
fall = 2
rise = 1
[probe "web2"]
type = http
target = http://$NET.2:8080/
interval = 300ms
timeout = 250ms
fall = 2
rise = 1
[probe "web1-tcp"]
type = tcp
target = $NET.1:8080
interval = 300ms
timeout = 250ms
fall = 2
rise = 1
EOC
	if [ "$1" -le 2 ]; then
		# pools guard routes of one agent; each host has one route
		printf '[route "web-h%s"]\n' "$1" >>"$T/h$1.conf"
	fi
}
start_host_agent() {	# N
	bg "agent-h$1" ip netns exec "${NS[$1]}" "$VANTAGED" -d -f "$T/h$1.conf"
	wait_for 15 curl -sf "http://$NET.$1:7787/v1/health" ||
	    fail "agent h$1 did not answer on $NET.$1:7787"
}
for i in 1 2 3; do
	agent_config $i
	start_host_agent $i
done

# HAProxy on host 3 in front of both backends, asking their agents
cat >"$T/haproxy.cfg" <<EOC
global
	stats socket $T/haproxy.sock level admin
defaults
	mode http
	timeout connect 1s
	timeout client 5s
	timeout server 5s
	retries 2
	option redispatch
frontend fe
	bind $NET.3:80
	default_backend be
backend be
	balance roundrobin
	server web-h1 $NET.1:8080 check inter 300ms agent-check agent-addr $NET.1 agent-port 7788 agent-inter 300ms agent-send "web-h1\n"
	server web-h2 $NET.2:8080 check inter 300ms agent-check agent-addr $NET.2 agent-port 7788 agent-inter 300ms agent-send "web-h2\n"
EOC
bg haproxy ip netns exec "${NS[3]}" haproxy -f "$T/haproxy.cfg" -db
wait_for 10 test -S "$T/haproxy.sock" || fail "haproxy did not start"
ha_status() { haproxy_status "$T/haproxy.sock" "$1"; }
expect_ha() {	# SERVER STATUS SECONDS
	local end=$((SECONDS + $3)) got
	while :; do
		got=$(ha_status "$1")
		[ "$got" = "$2" ] && return 0
		[ $SECONDS -ge $end ] && fail "haproxy: $1 expected $2, got '$got'"
		sleep 0.1
	done
}
expect_ha web-h1 UP 15
expect_ha web-h2 UP 15
wait_for 10 curl -sf "http://$NET.3/" || fail "no answer through haproxy"

# the console sees the whole fleet
cat >"$T/vantage.conf" <<EOC
[console]
refresh = 1s
EOC
for i in 1 2 3; do
	printf '[agent "h%s"]\nurl = http://%s.%s:7787\ntoken = %s\n' \
	    "$i" "$NET" "$i" "$TOK" >>"$T/vantage.conf"
done
chmod 600 "$T/vantage.conf"
console() { "$VANTAGE" -c "$T/vantage.conf" "$@"; }

# --- one link blocked from one host only -------------------------------
on_host 2 nft add table inet vtblock
on_host 2 nft add chain inet vtblock out '{ type filter hook output priority 0; }'
on_host 2 nft add rule inet vtblock out ip daddr "$NET.1" tcp dport 8080 reject with tcp reset ||
    fail "nft rule in ${NS[2]}"
link_verdict() {	# PROBE -> "verdict down of"
	console status --json >"$T/status.json" 2>"$T/status.err" || return 1
	jq -r ".links[] | select(.probe == \"$1\") | \"\(.verdict) \(.down) \(.of)\"" \
	    "$T/status.json"
}
want_verdict() {	# PROBE EXPECTED SECONDS
	local end=$((SECONDS + $3)) got
	while :; do
		got=$(link_verdict "$1")
		[ "$got" = "$2" ] && return 0
		[ $SECONDS -ge $end ] && fail "link $1: expected '$2', got '$got' ($(cat "$T/status.err"))"
		sleep 0.3
	done
}
want_verdict web1 "down 1 3" 15
want_verdict web1-tcp "down 1 3" 5
want_verdict web2 "ok 0 3" 5
# the blocked host's own view says down; the others say up
st=$(curl -sf -H "Authorization: Bearer $TOK" "http://$NET.2:7787/v1/status" |
    jq -r '.probes[] | select(.name == "web1") | .state')
assert_eq down "$st" "web1 as seen from h2"
st=$(curl -sf -H "Authorization: Bearer $TOK" "http://$NET.3:7787/v1/status" |
    jq -r '.probes[] | select(.name == "web1") | .state')
assert_eq up "$st" "web1 as seen from h3"

# --- drain through the console while clients run through HAProxy ------
cat >"$T/client.py" <<EOP
import sys, time, urllib.request
ok = bad = 0
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        with urllib.request.urlopen("http://$NET.3/", timeout=2) as r:
            r.read()
            ok += 1 if r.status == 200 else 0
            bad += 0 if r.status == 200 else 1
    except Exception as e:
        bad += 1
        print("error:", e, file=sys.stderr)
    time.sleep(0.01)
print(ok, bad)
EOP
python3 "$T/client.py" 6 >"$T/client.out" 2>"$T/client.err" &
client=$!
sleep 1
out=$(USER=ops console drain h1 web-h1 --reason "fleet test deploy" 2>&1) ||
    fail "vantage drain failed: $out"
expect_ha web-h1 DRAIN 5
assert_eq UP "$(ha_status web-h2)" "web-h2 while web-h1 drains"
wait $client
read -r ok bad <"$T/client.out"
assert_eq 0 "$bad" "failed requests through haproxy during the drain ($(head -3 "$T/client.err"))"
[ "$ok" -gt 50 ] || fail "client loop made only $ok requests"
audit=$(curl -sf -H "Authorization: Bearer $TOK" "http://$NET.1:7787/v1/audit?action=drain" |
    jq -r '.audit[-1] | "\(.actor) \(.operator) \(.target) \(.result)"')
assert_match "^alice ops@[^ ]+ web-h1 ok$" "$audit" "audit row of the drain on h1"

# --- SIGKILL one agent: unreachable, then back, drain still in force ---
agent_state() {	# NAME -> state of that agent in status --json
	console status --json 2>/dev/null | jq -r ".agents[] | select(.name == \"$1\") | .state"
}
agent_is() { test "$(agent_state "$1")" = "$2"; }	# NAME STATE
kill -KILL "$PID_agent_h1"
wait "$PID_agent_h1" 2>/dev/null
wait_for 10 agent_is h1 unreachable ||
    fail "console did not show h1 unreachable (got '$(agent_state h1)')"
check=$(sql "$T/data-h1/vantage.db" "PRAGMA integrity_check")
assert_eq ok "$check" "integrity_check of h1 after SIGKILL"
start_host_agent 1
wait_for 10 agent_is h1 ok ||
    fail "console did not show h1 back (got '$(agent_state h1)')"
st=$(curl -sf -H "Authorization: Bearer $TOK" "http://$NET.1:7787/v1/routes" |
    jq -r '.routes[] | select(.name == "web-h1") | .state')
assert_eq draining "$st" "web-h1 after the agent's SIGKILL and restart"
expect_ha web-h1 DRAIN 5
out=$(console undrain h1 web-h1 --reason "deploy done" 2>&1) || fail "vantage undrain: $out"
expect_ha web-h1 UP 5

# --- Prometheus scrapes the three agents ------------------------------
pport=$(free_port)
mkdir -p "$T/prom"
cat >"$T/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: vantage
    static_configs:
      - targets: ['$NET.1:7787', '$NET.2:7787', '$NET.3:7787']
EOC
bg prometheus prometheus --config.file="$T/prometheus.yml" \
    --storage.tsdb.path="$T/prom" --web.listen-address="127.0.0.1:$pport"
series() {
	curl -sf "http://127.0.0.1:$pport/api/v1/query?query=vantage_probe_up" |
	    jq -r '[.data.result[].metric.instance] | unique | length'
}
three_series() { test "$(series)" = 3; }
wait_for 40 three_series ||
    fail "prometheus: vantage_probe_up from 3 agents expected, got '$(series)'"
exit 0
