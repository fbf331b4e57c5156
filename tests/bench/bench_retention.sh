#!/bin/bash
# Long form of tests/integration/test_retention_short.sh: retention = 1m
# under a steady load (PROBES tcp probes every INTERVAL), for DURATION
# seconds.  Every 10 s it prints the database's size (main file and WAL),
# its raw rows and the age of the oldest; it fails when a raw row gets
# older than 150 s after the first 3 minutes, or when the file keeps
# growing once old rows are being deleted (from minute 3 on, no sample
# may pass the largest of minute 3 by more than 10% + 64 kB).
#   DURATION=300 PROBES=20 INTERVAL=20ms bash tests/bench/bench_retention.sh
. "$(dirname "$0")/../integration/lib.sh"

DURATION=${DURATION:-300}
PROBES=${PROBES:-20}
INTERVAL=${INTERVAL:-20ms}
[ "$DURATION" -ge 240 ] || fail "DURATION must be at least 240 s"

api=$(free_port)
open=$(free_port)
tcp_listener listener "$open"
agent_conf "$T/a.conf" "$T/data" "$api"
sed -i "/^\[agent\]/a retention = 1m" "$T/a.conf"
for i in $(seq "$PROBES"); do
	cat >>"$T/a.conf" <<EOC
[probe "p$i"]
type = tcp
target = 127.0.0.1:$open
interval = $INTERVAL
EOC
done
DB=$T/data/vantage.db
start_agent agent "$T/a.conf"
t0=$SECONDS
ref=0
rc=0
echo "retention bench: $PROBES probes every $INTERVAL, retention = 1m, ${DURATION} s"
while [ $((SECONDS - t0)) -lt "$DURATION" ]; do
	sleep 10
	el=$((SECONDS - t0))
	now=$(($(date +%s) * 1000))
	main=$(stat -c %s "$DB")
	wal=$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)
	IFS='|' read -r rows oldest <<<"$(sql "$DB" "SELECT count(*),
	    ($now - min(t_ms)) / 1000 FROM result")"
	free=$(sql "$DB" "PRAGMA freelist_count")
	echo "t=${el}s file=$main wal=$wal raw_rows=$rows oldest=${oldest}s free_pages=$free"
	if [ "$el" -ge 180 ] && [ "$el" -lt 240 ] && [ "$main" -gt "$ref" ]; then
		ref=$main
	fi
	if [ "$el" -ge 180 ] && [ "${oldest:-0}" -gt 150 ]; then
		echo "FAIL: a raw row is ${oldest}s old under retention = 1m"
		rc=1
	fi
	if [ "$el" -ge 240 ] && [ "$main" -gt $((ref + ref / 10 + 65536)) ]; then
		echo "FAIL: the file grew to $main bytes, $ref in minute 3"
		rc=1
	fi
done
stop_agent agent
[ $rc -eq 0 ] || fail "see above"
echo "file size steady: at most $ref bytes in minute 3"
exit 0
