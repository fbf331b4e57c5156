#!/bin/bash
# The store on a full file system: data_dir on an 8 MB tmpfs (or a 16 MB
# loop ext4), 200 tcp probes every 100 ms, a filler file takes the rest.
# While full: drains answer 503, probes go on, the queue grows to
# queue_max and then drops its oldest results, counted in
# vantage_store_dropped_total (= enqueued - written - queued) and said in
# one log line, and memory stays bounded.  Once the filler is gone,
# writing resumes within 5 s by itself, drains are accepted again and the
# WAL is small; a reload applies a new queue_max.  Last, a zero-length
# vantage.db is refused at start.
. "$(dirname "$0")/lib.sh"

QMAX=4000
MNT=$T/data
img=
mounted=
mkdir -p "$MNT"
unmount_data() {
	[ -n "$mounted" ] && umount "$MNT" 2>/dev/null
	[ -n "$mounted" ] && umount -l "$MNT" 2>/dev/null
	return 0
}
CLEANUP_HOOK=unmount_data
if mount -t tmpfs -o size=8m,mode=0700 tmpfs "$MNT" 2>"$T/mount.err"; then
	mounted=tmpfs
else
	img=$T/fs.img
	if truncate -s 16M "$img" && mkfs.ext4 -q "$img" 2>>"$T/mount.err" &&
	    mount -o loop "$img" "$MNT" 2>>"$T/mount.err"; then
		mounted=ext4
	else
		skip "cannot mount a small file system (tmpfs or loop): $(tr '\n' ' ' <"$T/mount.err")"
	fi
fi

api=$(free_port)
open=$(free_port)
closed=$(free_port)
tcp_listener listener "$open"

TOK=$(new_token ops operator)

agent_conf "$T/a.conf" "$MNT" "$api"
sed -i "/^\[agent\]/a queue_max = $QMAX" "$T/a.conf"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[route "web"]
EOC
# half of them fail: their error texts are queued too
for i in $(seq 1 200); do
	port=$open
	[ $((i % 2)) -eq 0 ] && port=$closed
	cat >>"$T/a.conf" <<EOC
[probe "p$i"]
type = tcp
target = 127.0.0.1:$port
interval = 100ms
EOC
done

# ASan keeps freed memory in quarantine; a small one keeps RSS honest
export ASAN_OPTIONS="${ASAN_OPTIONS}:quarantine_size_mb=16"
start_agent agent "$T/a.conf"
DB=$MNT/vantage.db

scrape() {	# the store's counters into $enq $written $queued $dropped $alias
	curl -s -H "Authorization: Bearer $TOK" \
	    "http://127.0.0.1:$api/metrics" >"$T/metrics.txt" || return 1
	enq=$(awk '$1 == "vantage_store_rows_enqueued_total" { print $2 }' "$T/metrics.txt")
	written=$(awk '$1 == "vantage_store_rows_written_total" { print $2 }' "$T/metrics.txt")
	queued=$(awk '$1 == "vantage_store_queue_rows" { print $2 }' "$T/metrics.txt")
	dropped=$(awk '$1 == "vantage_store_rows_dropped_total" { print $2 }' "$T/metrics.txt")
	alias=$(awk '$1 == "vantage_store_dropped_total" { print $2 }' "$T/metrics.txt")
	[ -n "$enq" ] && [ -n "$written" ] && [ -n "$queued" ] &&
	    [ -n "$dropped" ] && [ -n "$alias" ]
}
rss_kb() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$PID_agent/status"
}
drain() {	# -> HTTP status of a drain of route web
	curl -s -o "$T/drain.out" -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $TOK" -d '{"reason":"disk test"}' \
	    "http://127.0.0.1:$api/v1/routes/web/drain"
}
undrain() {
	curl -s -o "$T/undrain.out" -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $TOK" -d '{"reason":"disk test"}' \
	    "http://127.0.0.1:$api/v1/routes/web/undrain"
}
written_over() {	# N: rows_written > N
	scrape && [ "$written" -gt "$1" ]
}

wait_for 10 written_over 2000 || fail "expected results written before the disk fills, got ${written:-none}"
sleep 1
rss0=$(rss_kb)

# --- fill the file system
dd if=/dev/zero of="$MNT/filler" bs=1M 2>/dev/null
dd if=/dev/zero of="$MNT/filler2" bs=4k 2>/dev/null
avail=$(df -k --output=avail "$MNT" | tail -1 | tr -d ' ')
[ "$avail" -le 64 ] || fail "expected the file system full, got ${avail} kB free"

# writing stops: the queue grows
stalled() {
	scrape || return 1
	local w=$written
	sleep 1
	scrape && [ "$written" -eq "$w" ] && [ "$queued" -gt 1000 ]
}
wait_for 30 stalled || fail "expected writing to stop and the queue to grow on a full disk, got written=$written queued=$queued"
wait_for 10 grep -q "cannot write results: database or disk is full" "$T/agent.log" ||
    fail "no 'cannot write results' warning in the log"

# A drain's few pages may still fit in WAL space a failed batch left
# allocated: such a drain is committed (200).  Once that is used up too,
# drains are refused (503) and change nothing.
n_ok=0
for i in $(seq 1 300); do
	code=$(drain)
	[ "$code" = 200 ] || break
	n_ok=$((n_ok + 1))
done
assert_eq 503 "$code" "drain on a full disk (after $n_ok accepted)"
state=$(curl -s -H "Authorization: Bearer $TOK" "http://127.0.0.1:$api/v1/routes" |
    jq -r '.routes[] | select(.name == "web") | .state')
want=active
[ "$n_ok" -gt 0 ] && want=draining
assert_eq "$want" "$state" "route web after $n_ok accepted drains and a refused one"

# the queue fills up to queue_max, then the oldest go
dropping() { scrape && [ "$dropped" -gt 2000 ]; }
wait_for 20 dropping || fail "expected results dropped beyond queue_max $QMAX, got dropped=$dropped queued=$queued"
scrape || fail "no /metrics"
assert_eq "$QMAX" "$queued" "queue length when full"
assert_eq "$dropped" "$alias" "vantage_store_dropped_total vs vantage_store_rows_dropped_total"
assert_eq "$((enq - written - queued))" "$dropped" "dropped vs enqueued - written - queued (enqueued $enq, written $written, queued $queued)"
wait_for 5 grep -q "database $DB: queue full ($QMAX results), dropped [0-9]* oldest results in the last minute" "$T/agent.log" ||
    fail "expected the line 'database $DB: queue full ($QMAX results), dropped N oldest results in the last minute' in the log"
# probes go on while the disk is full
runs1=$(awk '$1 == "vantage_probe_runs_total" { print $2 }' "$T/metrics.txt")
sleep 3
scrape || fail "no /metrics"
runs2=$(awk '$1 == "vantage_probe_runs_total" { print $2 }' "$T/metrics.txt")
[ $((runs2 - runs1)) -ge 2000 ] || fail "expected >= 2000 probe runs in 3 s on a full disk, got $((runs2 - runs1))"
assert_eq "$QMAX" "$queued" "queue length after 3 s more of dropping"
assert_eq "$((enq - written - queued))" "$dropped" "dropped vs enqueued - written - queued, later"
# memory: bounded by queue_max, not by how long the disk stays full
# (generous: the sanitizer build, its quarantine, allocator slack)
rss1=$(rss_kb)
growth=$((rss1 - rss0))
[ "$growth" -le $((QMAX * 1 + 24 * 1024)) ] ||
    fail "expected RSS growth <= $((QMAX + 24 * 1024)) kB on a full disk, got $growth kB ($rss0 -> $rss1 kB)"
lines=$(grep -c "queue full" "$T/agent.log")
[ "$lines" -le 1 ] || fail "expected one 'queue full' line in the first minute, got $lines"

# --- space back: writing resumes by itself within 5 s
w0=$written
rm -f "$MNT/filler" "$MNT/filler2"
t0=$(date +%s%N)
wait_for 5 written_over "$w0" || fail "expected writing to resume within 5 s after space was freed, rows_written stayed $written"
resume_ms=$((($(date +%s%N) - t0) / 1000000))
wait_for 10 grep -q "writing again after" "$T/agent.log" || fail "no 'writing again' line"
code=$(undrain)
assert_eq 200 "$code" "undrain once space is back ($(cat "$T/undrain.out"))"
code=$(drain)
assert_eq 200 "$code" "drain once space is back ($(cat "$T/drain.out"))"
# the WAL is checkpointed and truncated: no more than its size limit
wal_small() {
	local sz
	sz=$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)
	[ "$sz" -le $((1536 * 1024)) ]
}
wait_for 15 wal_small || fail "expected the WAL <= 1.5 MB after recovery, got $(stat -c %s "$DB-wal") bytes"
# a reload applies a new queue_max
scrape && assert_eq "$QMAX" "$(awk '$1 == "vantage_store_queue_max_rows" { print $2 }' "$T/metrics.txt")" "queue_max before the reload"
sed -i "s/^queue_max = $QMAX\$/queue_max = 3000/" "$T/a.conf"
kill -HUP "$PID_agent"
qmax_is() {
	scrape && [ "$(awk '$1 == "vantage_store_queue_max_rows" { print $2 }' "$T/metrics.txt")" = "$1" ]
}
wait_for 10 qmax_is 3000 || fail "expected queue_max 3000 after SIGHUP, got $(awk '$1 == "vantage_store_queue_max_rows" { print $2 }' "$T/metrics.txt")"
stop_agent agent
check=$(sql "$DB" "PRAGMA integrity_check")
assert_eq ok "$check" "integrity_check after the full disk"
audited=$(sql "$DB" "SELECT count(*) FROM audit WHERE action = 'drain'")
[ "$audited" -ge 1 ] || fail "expected the accepted drain audited, got $audited rows"
echo "resume after space freed: ${resume_ms} ms; RSS ${rss0} -> ${rss1} kB" >"$T/figures.log"

# --- a zero-length vantage.db is refused, not taken for a new one
mkdir -p "$T/empty"
: >"$T/empty/vantage.db"
api2=$(free_port)
agent_conf "$T/b.conf" "$T/empty" "$api2"
cat >>"$T/b.conf" <<EOC
[route "web"]
EOC
rc=0
LSAN_OPTIONS="${LSAN_OPTIONS}:detect_leaks=0" timeout 20 "$VANTAGED" -d -f "$T/b.conf" >"$T/empty.log" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "expected vantaged to exit non-zero on an empty vantage.db, got exit $rc"
grep -qF "database $T/empty/vantage.db is empty (0 bytes), not a vantage database: move it away to start with a new one (routes would come back active)" "$T/empty.log" ||
    fail "expected the empty-database message, got: $(tail -3 "$T/empty.log")"
assert_eq 0 "$(stat -c %s "$T/empty/vantage.db")" "the empty vantage.db left as it was"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api2/v1/routes/web/health")
assert_eq 000 "$code" "nothing answers for the refused agent"
exit 0
