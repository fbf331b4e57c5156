#!/bin/bash
# bench_store_full.sh - the store on a full disk, by hand or from `make
# bench`; prints figures, asserts nothing.
#
#   bash tests/bench/bench_store_full.sh      (N=2000 probes, FULL_S=20)
#
# The normal build runs N tcp probes every 200 ms on loopback (half
# against a listener, half against a closed port, so half the results
# carry an error text) with data_dir on a 64 MB tmpfs (or loop ext4).
# After a warm-up a filler file takes all free space; while the disk is
# full the queue grows and RSS with it.  Goal (issue): <= 128 bytes of RSS
# per queued result (it was 140-170).  Then the filler goes: the time
# until results are written again (goal < 5 s; metrics re-render once a
# second, so this is +-1 s) and until the queue is empty.
#
# QUEUE_MAX= (empty) leaves the key out, for a vantaged without it.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VANTAGED=${VANTAGED:-$TOP/agent/vantaged}
N=${N:-2000}
FULL_S=${FULL_S:-20}
QUEUE_MAX=${QUEUE_MAX-1000000}
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/vt-bench-full.XXXXXX")
MNT=$T/data
pids=()
mounted=
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$mounted" ] && umount "$MNT" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$MNT"
if mount -t tmpfs -o size=64m,mode=0700 tmpfs "$MNT" 2>/dev/null; then
	mounted=tmpfs
elif truncate -s 64M "$T/fs.img" && mkfs.ext4 -q "$T/fs.img" 2>/dev/null &&
    mount -o loop "$T/fs.img" "$MNT" 2>/dev/null; then
	mounted=ext4
else
	echo "bench_store_full: skipped, cannot mount a small file system"
	exit 0
fi
[ -x "$VANTAGED" ] || make -s -C "$TOP" agent/vantaged

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(port)
open=$(port)
closed=$(port)
python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $open)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()" &
pids+=($!)
{
	printf '[agent]\nname = full\ndata_dir = %s\n' "$MNT"
	[ -n "$QUEUE_MAX" ] && printf 'queue_max = %s\n' "$QUEUE_MAX"
	printf '[api]\nlisten = 127.0.0.1:%s\nmetrics_public = yes\n' "$api"
	for i in $(seq 1 "$N"); do
		p=$open
		[ $((i % 2)) -eq 0 ] && p=$closed
		printf '[probe "p%d"]\ntype = tcp\ntarget = 127.0.0.1:%s\ninterval = 200ms\n' "$i" "$p"
	done
} >"$T/a.conf"

"$VANTAGED" -d -f "$T/a.conf" 2>"$T/agent.log" &
agent=$!
pids+=($agent)

metric() {	# NAME: its value in the last scrape
	awk -v n="$1" '$1 == n { print $2 }' "$T/metrics.txt"
}
scrape() {
	curl -s "http://127.0.0.1:$api/metrics" >"$T/metrics.txt" 2>/dev/null &&
	    [ -n "$(metric vantage_store_rows_written_total)" ]
}
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$agent/status"; }
now_ms() { date +%s%3N; }

for _ in $(seq 1 100); do scrape && break; sleep 0.1; done
scrape || { echo "bench_store_full: the agent did not start:"; tail -5 "$T/agent.log"; exit 1; }
sleep 8		# warm-up: every probe running, allocator settled
scrape
rss0=$(rss_kb)
w0=$(metric vantage_store_rows_written_total)
sleep 2
scrape
rate=$((($(metric vantage_store_rows_written_total) - w0) / 2))

dd if=/dev/zero of="$MNT/filler" bs=1M 2>/dev/null
dd if=/dev/zero of="$MNT/filler2" bs=4k 2>/dev/null
# full once the queue stops emptying: a few seconds, WAL space first
stall_ms=$(now_ms)
for _ in $(seq 1 300); do
	scrape
	[ "$(metric vantage_store_queue_rows)" -gt $((rate * 2)) ] && break
	sleep 0.1
done
stall_ms=$(($(now_ms) - stall_ms))
q1=$(metric vantage_store_queue_rows)
rss1=$(rss_kb)
sleep "$FULL_S"
scrape
q2=$(metric vantage_store_queue_rows)
d2=$(metric vantage_store_rows_dropped_total)
rss2=$(rss_kb)

w2=$(metric vantage_store_rows_written_total)
rm -f "$MNT/filler" "$MNT/filler2"
t0=$(now_ms)
resume_ms=-1
for _ in $(seq 1 300); do
	scrape
	if [ "$(metric vantage_store_rows_written_total)" -gt "$w2" ]; then
		resume_ms=$(($(now_ms) - t0))
		break
	fi
	sleep 0.1
done
empty_ms=-1
for _ in $(seq 1 600); do
	scrape
	if [ "$(metric vantage_store_queue_rows)" -lt "$rate" ]; then
		empty_ms=$(($(now_ms) - t0))
		break
	fi
	sleep 0.1
done
rss3=$(rss_kb)

echo "store on a full disk: $N tcp probes every 200 ms, $(nproc) cores, data_dir on $mounted"
echo "results written before the disk filled: $rate/s"
echo "RSS before the disk filled (baseline):  $rss0 kB"
echo "queue once writing stopped:             $q1 results, RSS $rss1 kB (${stall_ms} ms after the fill)"
echo "queue after $FULL_S s more:                  $q2 results, RSS $rss2 kB, dropped $d2"
if [ $((q2 - q1)) -gt 0 ]; then
	echo "RSS per queued result, over those $FULL_S s: $(((rss2 - rss1) * 1024 / (q2 - q1))) bytes (goal <= 128)"
fi
if [ "$q2" -gt 0 ]; then
	echo "RSS per queued result, from baseline:   $(((rss2 - rss0) * 1024 / q2)) bytes"
fi
echo "writing again after space was freed:    ${resume_ms} ms (goal < 5000; -1: not within 30 s)"
echo "queue back under 1 s of results after:  ${empty_ms} ms; RSS then $rss3 kB"
echo "WAL afterwards:                         $(stat -c %s "$MNT/vantage.db-wal" 2>/dev/null || echo 0) bytes"
kill -TERM "$agent"
wait "$agent"
echo "agent exit status after SIGTERM:        $?"
