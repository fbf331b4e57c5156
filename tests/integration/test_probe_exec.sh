#!/bin/bash
# exec probes run Nagios plugins (monitoring-plugins-basic): check_tcp up
# against a listener and down on a closed port with the plugin's text;
# check_dummy 0..3 as up/degraded/down/unknown; a plugin's perfdata in the
# stored detail and on /metrics; a plugin that hangs is killed at its
# timeout with its child, one that leaves a grandchild behind loses it
# when it exits, and no zombie stays; output past 4 KiB is counted and
# dropped; a plugin removed at run time is unknown with the reason;
# vantaged -n refuses a relative command and a missing user by file:line
# and key.
. "$(dirname "$0")/lib.sh"

P=/usr/lib/nagios/plugins
[ -x $P/check_dummy ] && [ -x $P/check_tcp ] ||
    skip "monitoring-plugins-basic is not installed"
open=$(free_port)
closed=$(free_port)
api=$(free_port)
tcp_listener listener "$open"
H="Authorization: Bearer $(new_token ops viewer)"
U="http://127.0.0.1:$api"

cat >"$T/perf.sh" <<'EOS'
#!/bin/sh
echo "LOAD WARNING - load 5.2 | 'load 1'=5.2;4;8;0; time=0.25s;1;5;0;10"
echo "second line of long text"
echo "more | 'disk /'=81%;80;90;0;100 junk=="
exit 1
EOS
cat >"$T/hang.sh" <<'EOS'
#!/bin/sh
sleep 31337
EOS
cat >"$T/bg.sh" <<'EOS'
#!/bin/sh
sleep 31338 &
echo "OK - left a child behind"
exit 0
EOS
cat >"$T/big.sh" <<'EOS'
#!/bin/sh
echo "OK - big output"
head -c 10000 /dev/zero | tr '\0' x
exit 0
EOS
cat >"$T/gone.sh" <<'EOS'
#!/bin/sh
echo "OK - still here"
EOS
chmod 755 "$T"/*.sh

agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
metrics_public = yes
EOC
probe() {	# NAME COMMAND [EXTRA...]
	local name=$1 cmd=$2
	shift 2
	printf '[probe "%s"]\ntype = exec\ntarget = %s\ncommand = %s\ninterval = 200ms\ntimeout = 150ms\nfall = 1\nrise = 1\n' \
	    "$name" "$name" "$cmd" >>"$T/a.conf"
	local l
	for l in "$@"; do echo "$l" >>"$T/a.conf"; done
}
probe tcp_up "$P/check_tcp -H 127.0.0.1 -p $open"
probe tcp_down "$P/check_tcp -H 127.0.0.1 -p $closed"
probe d0 "$P/check_dummy 0 \"all good\""
probe d1 "$P/check_dummy 1 meh"
probe d2 "$P/check_dummy 2 broken"
probe d3 "$P/check_dummy 3 \"no idea\""
probe perf "$T/perf.sh"
probe hang "$T/hang.sh"
probe bg "$T/bg.sh"
probe big "$T/big.sh"
probe gone "$T/gone.sh"
# the target alone is the command
printf '[probe "plain"]\ntype = exec\ntarget = %s\ninterval = 200ms\nrise = 1\n' \
    "$P/check_dummy 0 plain" >>"$T/a.conf"

"$VANTAGED" -n -f "$T/a.conf" >/dev/null 2>&1 || fail "vantaged -n refused a good config"
start_agent agent "$T/a.conf"

status() { curl -s -H "$H" "$U/v1/status"; }
# probe_is NAME STATE ERROR-REGEX
probe_is() {
	status | python3 -c '
import json, re, sys
name, state, rx = sys.argv[1:4]
for p in json.load(sys.stdin)["probes"]:
    if p["name"] == name:
        last = p["last"] or {}
        ok = p["state"] == state and re.search(rx, last.get("error", ""))
        sys.exit(0 if ok else 1)
sys.exit(1)' "$@"
}
expect() {
	wait_for 10 probe_is "$@" || fail "probe $1: expected state $2 with error /$3/, got: $(status | python3 -c '
import json, sys
for p in json.load(sys.stdin)["probes"]:
    if p["name"] == sys.argv[1]: print(p["state"], p["last"])' "$1")"
}
expect tcp_up up '^TCP OK - .* port '"$open"
expect tcp_down down 'Connection refused'
expect d0 up '^OK: all good$'
expect d1 degraded '^WARNING: meh$'
expect d2 down '^CRITICAL: broken$'
expect d3 unknown '^UNKNOWN: no idea$'
expect plain up '^OK: plain$'
expect perf degraded '^LOAD WARNING - load 5\.2$'
expect hang down '^timeout after 150ms$'
expect bg up '^OK - left a child behind$'
expect big up '^OK - big output$'

# perfdata: first line and the later "|" line, a malformed item counted
out=$(curl -s -H "$H" "$U/v1/probes/perf/results?limit=1")
python3 - "$out" <<'EOP' || fail "perf detail: $out"
import json, sys
r = json.loads(sys.argv[1])["results"][0]
assert r["status"] == "degraded" and r["code"] == 1, r
d = r["detail"]
pd = {p["label"]: p for p in d["perfdata"]}
assert pd["load 1"] == {"label": "load 1", "value": 5.2, "uom": "", "warn": "4",
    "crit": "8", "min": 0, "max": None}, pd["load 1"]
assert pd["time"]["value"] == 0.25 and pd["time"]["uom"] == "s" and pd["time"]["max"] == 10, pd
assert pd["disk /"]["value"] == 81 and pd["disk /"]["uom"] == "%", pd
assert d["perfdata_bad"] == 1 and d["output_dropped"] == 0, d
EOP
def=$(curl -s -H "$H" "$U/v1/probes/perf")
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["last"]["detail"]["perfdata"][0]["label"]=="load 1"' "$def" ||
    fail "GET /v1/probes/perf has no last detail: $def"
metrics_has() { curl -s "$U/metrics" | grep -qF "$1"; }
wait_for 10 metrics_has 'vantage_probe_perfdata{probe="perf",label="load 1",uom=""} 5.2' ||
    fail "no perfdata on /metrics: $(curl -s "$U/metrics" | grep perfdata)"
metrics_has 'vantage_probe_perfdata{probe="perf",label="disk /",uom="%"} 81' ||
    fail "no 'disk /' perfdata on /metrics"
metrics_has 'vantage_probe_perfdata{probe="tcp_up",label="time",uom="s"} ' ||
    fail "no check_tcp time on /metrics"

# output past 4 KiB: 16 + 10000 bytes, 4096 kept
out=$(curl -s -H "$H" "$U/v1/probes/big/results?limit=1")
python3 -c 'import json,sys; d=json.loads(sys.argv[1])["results"][0]["detail"]; assert d["output_dropped"] == 16 + 10000 - 4096, d' "$out" ||
    fail "big output not capped: $out"

# the hanging plugin and the grandchild: killed; nothing left, no zombies.
# New ones start every 200 ms: those seen now must be gone a second later
# (timeout 150 ms, SIGKILL 500 ms after SIGTERM).
sleeps() { ps -eo pid=,args= | awk '$2 == "sleep" && ($3 == 31337 || $3 == 31338) { print $1 }'; }
seen_some() { seen=$(sleeps); [ -n "$seen" ]; }
wait_for 5 seen_some || fail "no plugin sleep seen running"
sleep 1.2
for p in $seen; do
	st=$(ps -o stat=,args= -p "$p") &&
	    fail "plugin process $p survived: $st"
done
# a killed child is a zombie for the moment until its sweep (20 ms):
# one still a zombie half a second later was never reaped
zombies() {
	ps -eo pid=,stat=,ppid=,comm= | awk -v a="$PID_agent" '$2 ~ /^Z/ &&
	    ($3 == a || $3 == 1) && ($4 == "sleep" || $4 ~ /\.sh$/) { print $1 }'
}
z0=$(zombies)
sleep 0.5
for p in $(zombies); do
	for q in $z0; do
		[ "$p" = "$q" ] && fail "zombie $p left: $(ps -o stat=,ppid=,comm= -p "$p")"
	done
done
n=$(ps -o pid= --ppid "$PID_agent" | wc -l)
[ "$n" -le 12 ] || fail "$n children of the agent at once"

# a plugin removed at run time
rm "$T/gone.sh"
expect gone unknown "^cannot run $T/gone\\.sh: No such file or directory\$"
stop_agent agent
left=$(ps -eo pid=,args= | grep -E 'sleep 3133[78]' | grep -v grep)
[ -z "$left" ] || fail "plugin processes survived the agent: $left"

# vantaged -n: a relative command, a missing user
agent_conf "$T/b.conf" "$T/data" "$api"
printf '[probe "rel"]\ntype = exec\ntarget = rel\ncommand = check_dummy 0\n' >>"$T/b.conf"
line=$(grep -n '^command = check_dummy' "$T/b.conf" | cut -d: -f1)
out=$("$VANTAGED" -n -f "$T/b.conf" 2>&1) && fail "a relative command was accepted"
assert_match "$T/b.conf:$line: .*command: 'check_dummy' must be an absolute path" "$out" \
    "vantaged -n on a relative command"
agent_conf "$T/c.conf" "$T/data" "$api"
printf '[probe "who"]\ntype = exec\ntarget = %s\nuser = no-such-user-vt\n' "$P/check_dummy 0" >>"$T/c.conf"
line=$(grep -n '^user = ' "$T/c.conf" | cut -d: -f1)
out=$("$VANTAGED" -n -f "$T/c.conf" 2>&1) && fail "a missing user was accepted"
assert_match "$T/c.conf:$line: .*user: no user 'no-such-user-vt'" "$out" \
    "vantaged -n on a missing user"
exit 0
