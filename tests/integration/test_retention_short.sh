#!/bin/bash
# retention = 1m: raw results go once their minute is rolled up (about two
# minutes old at most), not when their hour is; the minute and hourly
# rollups of them stay; the file, made with auto_vacuum = INCREMENTAL,
# gives back what a large deletion freed and reuses what each pass frees,
# so it does not grow over passes that delete as much as was added.
# (tests/bench/bench_retention.sh is the long form under a steady load.)
. "$(dirname "$0")/lib.sh"

api=$(free_port)
open=$(free_port)
tcp_listener listener "$open"
agent_conf "$T/a.conf" "$T/data" "$api"
sed -i "/^\[agent\]/a retention = 1m" "$T/a.conf"
for i in 1 2 3 4 5; do
	cat >>"$T/a.conf" <<EOC
[probe "p$i"]
type = tcp
target = 127.0.0.1:$open
interval = 50ms
EOC
done
DB=$T/data/vantage.db
start_agent agent "$T/a.conf"
stored() { [ "$(sql "$DB" "SELECT count(*) FROM result")" -gt 0 ]; }
wait_for 10 stored || fail "no stored results"
stop_agent agent
assert_eq 2 "$(sql "$DB" "PRAGMA auto_vacuum")" "auto_vacuum of a new file"

# 100000 rows over the hour that began 3 h ago, 6000 of 5 minutes ago
id=$(sql "$DB" "SELECT id FROM probe WHERE name = 'p1'")
now=$(($(date +%s) * 1000))
h0=$((now / 3600000 * 3600000 - 3 * 3600000))
m5=$(((now - 300000) / 60000 * 60000))
sql "$DB" "WITH RECURSIVE i(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM i
    WHERE k < 99999) INSERT INTO result (probe_id, t_ms, status, latency_us,
    error) SELECT $id, $h0 + k * 36, k % 2 * 2, 1000 + k % 100,
    'connect: Connection refused' FROM i" || fail "cannot add old rows"
sql "$DB" "WITH RECURSIVE i(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM i
    WHERE k < 5999) INSERT INTO result (probe_id, t_ms, status, latency_us)
    SELECT $id, $m5 + k * 10, 0, 2000 FROM i" || fail "cannot add rows"
size() { stat -c %s "$DB"; }
big=$(size)

start_agent agent "$T/a.conf"
old() { sql "$DB" "SELECT count(*) FROM result WHERE t_ms < $(($(date +%s) * 1000 - 150000))"; }
none_old() { [ "$(old)" -eq 0 ]; }
# the first pass comes 10 s after the start
wait_for 20 none_old || fail "retention = 1m: $(old) raw rows older than 150 s still stored"
assert_eq 100000 "$(sql "$DB" "SELECT sum(n) FROM rollup_1m WHERE t_ms >= $h0 AND t_ms < $h0 + 3600000")" \
    "minute rollups of the hour 3 h ago"
assert_eq "100000|50000|1000|1098" "$(sql "$DB" "SELECT n, ok, min_us, max_us FROM rollup_1h WHERE probe_id = $id AND t_ms = $h0")" \
    "hourly rollup of the hour 3 h ago (from the minutes)"
assert_eq 6000 "$(sql "$DB" "SELECT sum(n) FROM rollup_1m WHERE probe_id = $id AND t_ms >= $m5 AND t_ms < $m5 + 60000")" \
    "minute rollup of 5 minutes ago"
recent() { [ "$(sql "$DB" "SELECT count(*) FROM result WHERE t_ms >= $(($(date +%s) * 1000 - 30000))")" -gt 0 ]; }
recent || fail "recent results gone"

# the room of 106000 rows went back to the file system (WAL truncated)
shrunk() { [ "$(size)" -lt $((big / 2)) ]; }
wait_for 15 shrunk || fail "file not smaller after the deletion: $(size) bytes, $big before"

# two more passes, each deleting as much as was added before it
sleep 1
sizes=" $(size)"
for c in 1 2; do
	t=$(((now - 600000) + c * 1000))
	sql "$DB" "WITH RECURSIVE i(k) AS (SELECT 0 UNION ALL SELECT k + 1
	    FROM i WHERE k < 29999) INSERT INTO result (probe_id, t_ms,
	    status, latency_us, error) SELECT $id, $t + k * 7 + $c,
	    2, 1000, 'connect: Connection refused' FROM i" ||
	    fail "cannot add rows (cycle $c)"
	gone() { [ "$(sql "$DB" "SELECT count(*) FROM result WHERE t_ms < $now - 300000")" -eq 0 ]; }
	wait_for 15 gone || fail "cycle $c: rows of 10 minutes ago not deleted"
	sleep 1	# the checkpoint after the pass
	sizes="$sizes $(size)"
done
# each pass adds 30000 rows (about 1 MB) and deletes them; the probes'
# own rows add some 30 kB a pass, not old enough to go yet
read -r s0 s1 s2 <<<"$sizes"
for s in "$s1" "$s2"; do
	[ "$s" -le $((s0 + s0 / 10 + 65536)) ] ||
	    fail "file grew over passes that deleted what was added: $sizes bytes"
done
echo "sizes after each pass:$sizes bytes (was $big before the first)"
stop_agent agent
assert_eq ok "$(sql "$DB" "PRAGMA integrity_check")" "integrity_check"
exit 0
