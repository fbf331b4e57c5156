#!/usr/bin/env bash
# bench_exec.sh - what an exec probe (a Nagios plugin run) costs vantaged,
# against a bare posix_spawn loop doing the same runs (figures, not
# assertions; not in make check).
#
#  1. baseline: tests/bench/spawn_loop.c runs check_dummy 0 RATE times a
#     second for BENCH_SECONDS (posix_spawn, stdout read from a pipe,
#     waitpid): its own CPU us per run.
#  2. vantaged with 20 exec probes of check_dummy 0 every 100 ms (200
#     runs/s) for BENCH_SECONDS (20): agent CPU per stored result (utime +
#     stime from /proc/PID/stat over the window / rows stored in it, the
#     plugins' own CPU not counted), its ratio to (1) (goal <= 1.2x), and
#     whether the rate was sustained (>= 99% of the expected rows, none
#     unknown).
source "$(dirname "$0")/../integration/lib.sh"
skip() {
	echo "SKIP $TEST_NAME: $*"
	exit 0
}

SECS=${BENCH_SECONDS:-20}
WARMUP=2
PROBES=20
PLUGIN=/usr/lib/nagios/plugins/check_dummy
[ -x $PLUGIN ] || skip "monitoring-plugins-basic is not installed"
[ -x "$VANTAGED" ] || skip "$VANTAGED is not built (make)"
RATE=$((PROBES * 10))

SPAWN_LOOP=$TOP/build/bench/spawn_loop
mkdir -p "$TOP/build/bench"
if [ ! -x "$SPAWN_LOOP" ] || [ "$TOP/tests/bench/spawn_loop.c" -nt "$SPAWN_LOOP" ]; then
	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$SPAWN_LOOP" \
	    "$TOP/tests/bench/spawn_loop.c" || fail "cannot build spawn_loop"
fi

base=$("$SPAWN_LOOP" $((RATE * SECS)) $RATE $PLUGIN 0 ok) ||
    fail "spawn_loop failed"
base_us=$(echo "$base" | sed -n 's/.*cpu_us_per_run=\([0-9.]*\).*/\1/p')
echo "baseline (posix_spawn loop, $RATE/s): $base"

api=$(free_port)
agent_conf "$T/a.conf" "$T/data" "$api"
for i in $(seq 1 $PROBES); do
	printf '[probe "d%d"]\ntype = exec\ntarget = %s 0 ok\ninterval = 100ms\ntimeout = 90ms\n' \
	    "$i" "$PLUGIN" >>"$T/a.conf"
done
start_agent agent "$T/a.conf"
sleep $WARMUP
ticks() { awk '{ print $14 + $15 }' "/proc/$PID_agent/stat"; }
hz=$(getconf CLK_TCK)
t0=$(date +%s%3N)
c0=$(ticks)
sleep "$SECS"
c1=$(ticks)
t1=$(date +%s%3N)
sleep 0.5	# the store's last batch
DB="$T/data/vantage.db"
rows=$(sql "$DB" "SELECT count(*) FROM result WHERE t_ms >= $t0 AND t_ms < $t1")
unknown=$(sql "$DB" "SELECT count(*) FROM result WHERE t_ms >= $t0 AND t_ms < $t1 AND status != 0")
expected=$(( (t1 - t0) * RATE / 1000 ))
stop_agent agent
agent_us=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v r="$rows" 'BEGIN { printf "%.1f", c * 1e6 / hz / r }')
ratio=$(awk -v a="$agent_us" -v b="$base_us" 'BEGIN { printf "%.2f", a / b }')
sustained=no
[ "$rows" -ge $((expected * 99 / 100)) ] && [ "$unknown" -eq 0 ] && sustained=yes
echo "vantaged ($PROBES exec probes, $RATE runs/s, ${SECS}s): rows=$rows expected=$expected not_ok=$unknown sustained=$sustained"
echo "agent cpu_us_per_run=$agent_us baseline=$base_us ratio=${ratio}x (goal <= 1.2x)"
exit 0
