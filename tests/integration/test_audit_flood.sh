#!/bin/bash
# Hostile refused requests cannot break or flood the audit log: a
# 257-byte route name is recorded bounded, with its length and hash; an
# unauthenticated X-Vantage-Operator is kept as a claim, not as the
# operator; 4,000 refused drains from 50 addresses add at most 100 KB of
# audit rows (a few full rows, then one summary per address and minute),
# while an operator's drain still goes through; the chain verifies.
# Then [api] audit_refused_retention: refused rows older than it go,
# leaving tombstones; accepted changes stay; the chain still verifies,
# and a deleted accepted row is still found.
# FLOOD_REQUESTS sets the number of refused requests.
. "$(dirname "$0")/lib.sh"

api=$(free_port)
TOK=$(new_token alice operator)
agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[route "web"]
EOC
start_agent agent "$T/a.conf"
DB=$T/data/vantage.db
audit_bytes() {
	sql "$DB" "SELECT coalesce(sum(length(actor) + length(role) +
	    length(operator) + length(source) + length(action) +
	    length(target) + length(detail) + length(result) +
	    length(prev_hash) + length(hash) + length(request_key) +
	    length(batch) + 16), 0) FROM audit"
}

# --- a long name, bounded
long=$(printf 'x%.0s' $(seq 257))
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"reason":"x"}' \
    -H "X-Vantage-Operator: mallory@evil" \
    "http://127.0.0.1:$api/v1/routes/$long/drain")
assert_eq 401 "$code" "anonymous drain of a 257-byte name"
row=$(sql "$DB" "SELECT length(target) || '|' || target || '|' || operator || '|' || detail FROM audit ORDER BY id DESC LIMIT 1")
IFS='|' read -r tlen target operator detail <<<"$row"
[ "$tlen" -le 120 ] || fail "refused target is $tlen bytes long"
assert_match '^x{64} \[257 bytes, sha256 [0-9a-f]{16}\]$' "$target" "bounded target"
assert_eq "" "$operator" "an unauthenticated operator header is not recorded as true"
assert_match 'claims operator "mallory@evil"' "$detail" "but kept as a claim"

# --- the flood
n=${FLOOD_REQUESTS:-4000}
before=$(audit_bytes)
cat >"$T/flood.py" <<'EOP'
import http.client, sys, threading
port, n, srcs = int(sys.argv[1]), int(sys.argv[2]), 50
codes = {}
lock = threading.Lock()
def worker(i):
    c = None
    for k in range(n // srcs):
        try:
            if c is None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5,
                    source_address=("127.0.0.%d" % (10 + i), 0))
            c.request("POST", "/v1/routes/web/drain", body='{"reason":"x"}',
                headers={"Authorization": "Bearer wrong-%d" % k})
            r = c.getresponse()
            r.read()
            st = r.status
            if r.getheader("Connection", "").lower() == "close":
                c.close()
                c = None
        except Exception:
            st = 0
            c = None
        with lock:
            codes[st] = codes.get(st, 0) + 1
ts = [threading.Thread(target=worker, args=(i,)) for i in range(srcs)]
for t in ts: t.start()
for t in ts: t.join()
print(" ".join("%s:%d" % kv for kv in sorted(codes.items())))
EOP
python3 "$T/flood.py" "$api" "$n" >"$T/flood.out" &
flood=$!
sleep 0.5
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" \
    -d '{"reason":"operator during the flood"}' "http://127.0.0.1:$api/v1/routes/web/drain")
assert_eq 200 "$code" "an operator's drain during the flood"
wait $flood
echo "flood answers: $(cat "$T/flood.out")"
stop_agent agent	# the last minute's summaries are written at stop
grown=$(( $(audit_bytes) - before ))
echo "audit growth for $n refused requests from 50 addresses: $grown bytes"
[ "$grown" -le 102400 ] || fail "the audit grew $grown bytes for $n refused requests"
summed=$(sql "$DB" "SELECT count(*) FROM audit WHERE action = 'refused' AND detail LIKE 'refused % x %'")
[ "$summed" -ge 1 ] || fail "no summary rows"
total=$(sql "$DB" "SELECT detail FROM audit WHERE action = 'refused' AND detail LIKE 'refused % x %'" |
    grep -o ' x [0-9]*' | awk '{ s += $2 } END { print s + 0 }')
full=$(sql "$DB" "SELECT count(*) FROM audit WHERE action = 'refused' AND detail NOT LIKE 'refused % x %' AND detail LIKE 'POST%'")
[ $((total + full)) -ge $((n * 9 / 10)) ] || fail "summaries count $total and $full rows for $n refusals"
start_agent agent "$T/a.conf"
v=$(curl -s -H "Authorization: Bearer $TOK" "http://127.0.0.1:$api/v1/audit/verify")
assert_eq true "$(echo "$v" | jq -r .ok)" "audit chain verifies: $v"
stop_agent agent

# --- retention of refused rows
sed -i "s|^tokens = .*|&\naudit_refused_retention = 2s|" "$T/a.conf"
start_agent agent "$T/a.conf"
for i in $(seq 5); do
	curl -s -o /dev/null -X POST -d '{"reason":"x"}' \
	    "http://127.0.0.1:$api/v1/routes/web/drain"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" \
    -d '{"reason":"kept"}' "http://127.0.0.1:$api/v1/routes/web/undrain")
assert_eq 200 "$code" "an accepted change after the refusals"
accepted=$(sql "$DB" "SELECT count(*) FROM audit WHERE action != 'refused'")
pruned_all() {
	[ "$(sql "$DB" "SELECT count(*) FROM audit WHERE action = 'refused'")" -eq 0 ]
}
wait_for 15 pruned_all || fail "refused rows still there: $(sql "$DB" "SELECT count(*) FROM audit WHERE action = 'refused'")"
assert_eq "$accepted" "$(sql "$DB" "SELECT count(*) FROM audit WHERE action != 'refused'")" \
    "accepted changes are kept"
v=$(curl -s -H "Authorization: Bearer $TOK" "http://127.0.0.1:$api/v1/audit/verify")
assert_eq true "$(echo "$v" | jq -r .ok)" "chain verifies across tombstones: $v"
[ "$(echo "$v" | jq -r .pruned)" -gt 0 ] || fail "verify passed no tombstone: $v"
grep -q 'pruned [0-9]* refused' "$T/agent.log" || fail "pruning not logged"
stop_agent agent
# an accepted row cannot be deleted, and one deleted behind our back shows
sql "$DB" "DELETE FROM audit WHERE action = 'drain'" 2>"$T/del.err" &&
    fail "an accepted row could be deleted"
victim=$(sql "$DB" "SELECT min(id) FROM audit WHERE action = 'drain'")
sql "$DB" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = $victim"
start_agent agent "$T/a.conf"
v=$(curl -s -H "Authorization: Bearer $TOK" "http://127.0.0.1:$api/v1/audit/verify")
assert_eq "false $victim" "$(echo "$v" | jq -r '"\(.ok) \(.bad_id)"')" "a deleted accepted row is found: $v"
stop_agent agent
