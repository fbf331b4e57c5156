#!/bin/bash
# [agent] retention and rollup_retention changed and SIGHUP: the next
# maintenance pass starts at once with the new values (not at the next
# 10 s tick), so raw results and hourly rollups older than them are gone
# within seconds while those within them stay.
. "$(dirname "$0")/lib.sh"

api=$(free_port)
open=$(free_port)
tcp_listener listener "$open"
write_conf() {	# RETENTION [ROLLUP_RETENTION]
	agent_conf "$T/a.conf" "$T/data" "$api"
	sed -i "/^\[agent\]/a retention = $1" "$T/a.conf"
	[ $# -lt 2 ] || sed -i "/^\[agent\]/a rollup_retention = $2" "$T/a.conf"
	cat >>"$T/a.conf" <<EOC
[probe "p"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
EOC
}
DB=$T/data/vantage.db
write_conf 30d
start_agent agent "$T/a.conf"
stored() { [ "$(sql "$DB" "SELECT count(*) FROM result")" -gt 0 ]; }
wait_for 10 stored || fail "no stored results"
stop_agent agent

# rows of two days ago (older than 1d) and of twelve hours ago (younger)
id=$(sql "$DB" "SELECT id FROM probe WHERE name = 'p'")
now=$(($(date +%s) * 1000))
sql "$DB" "WITH RECURSIVE i(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM i
    WHERE k < 99) INSERT INTO result (probe_id, t_ms, status, latency_us)
    SELECT $id, $now - 2 * 86400000 + k * 1000, 0, 1000 FROM i UNION ALL
    SELECT $id, $now - 43200000 + k * 1000, 0, 1000 FROM i" ||
    fail "cannot add old rows"
# hourly rollups of 20 and 5 days ago
sql "$DB" "INSERT INTO rollup_1h VALUES
    ($id, ($now - 20 * 86400000) / 3600000 * 3600000, 1, 1, 0, 1, 1, 1, 1),
    ($id, ($now - 5 * 86400000) / 3600000 * 3600000, 1, 1, 0, 1, 1, 1, 1)" ||
    fail "cannot add old rollups"
hours() { sql "$DB" "SELECT count(*) FROM rollup_1h WHERE t_ms < $now - 4 * 86400000"; }
older() { sql "$DB" "SELECT count(*) FROM result WHERE t_ms < $now - 86400000"; }
younger() { sql "$DB" "SELECT count(*) FROM result WHERE t_ms >= $now - 86400000 AND t_ms < $now - 3600000"; }

start_agent agent "$T/a.conf"
# the first pass rolls the old rows up and keeps them (30d)
rolled() { [ "$(sql "$DB" "SELECT count(*) FROM rollup_1m WHERE t_ms < $now - 86400000")" -gt 0 ]; }
wait_for 20 rolled || fail "the old rows were never rolled up"
sleep 0.5
assert_eq 100 "$(older)" "2-day-old rows kept under retention = 30d"
assert_eq 2 "$(hours)" "old hourly rollups kept under the default rollup_retention"

write_conf 1d 10d
kill -HUP "$PID_agent"
wait_for 5 grep -q "reloaded" "$T/agent.log" || fail "no reload"
gone() { [ "$(older)" -eq 0 ]; }
wait_for 15 gone || fail "retention = 1d after SIGHUP: $(older) rows older than 1 day still stored after 15 s"
assert_eq 100 "$(younger)" "12-hour-old rows kept under retention = 1d"
one_hour() { [ "$(hours)" -eq 1 ]; }
wait_for 15 one_hour || fail "rollup_retention = 10d after SIGHUP: $(hours) hourly rollups older than 4 days, expected 1"
stored || fail "recent rows gone"
stop_agent agent
exit 0
