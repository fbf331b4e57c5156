#!/bin/bash
# vantage audit --action asks the agent for that action: a drain older
# than the newest 500 rows of the trail is still found, and the other
# filters combine with it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"

P=$(free_port)
new_token ops operator
real_agent h1 "$P" '[route "web"]'
console_conf "$T/vantage.conf" "h1=$P"
curl -sf -H "Authorization: Bearer $TOKEN" -H "X-Vantage-Operator: carol@bastion" \
    -d '{"reason":"old drain"}' "http://127.0.0.1:$P/v1/routes/web/drain" >/dev/null ||
    fail "the drain was refused"
# 600 newer rows of another action, written straight into the trail (a
# busy agent's reloads): the drain is then outside the newest 500
sql "$T/data-h1/vantage.db" "
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
INSERT INTO audit (t_ms, actor, role, operator, source, action, target,
    detail, result, prev_hash, hash)
SELECT $(date +%s%3N), 'admin', 'admin', '', 'sighup', 'reload', '', '',
    'ok', '', '' FROM n" || fail "could not add the rows"

out=$("$VANTAGE" -c "$T/vantage.conf" audit --action drain --csv) ||
    fail "vantage audit --action drain failed: $out"
rows=$(printf '%s\n' "$out" | tail -n +2 | grep -c ',drain,')
assert_eq 1 "$rows" "drain rows found behind 600 newer ones"
assert_match "old drain" "$out" "the drain's reason"
out=$("$VANTAGE" -c "$T/vantage.conf" audit --action drain --actor nobody --csv)
assert_eq 0 "$(printf '%s\n' "$out" | tail -n +2 | grep -c ',drain,')" \
    "--actor combines with --action"
# without --action only the newest 500 are read: the drain is not among them
out=$("$VANTAGE" -c "$T/vantage.conf" audit --csv)
assert_eq 0 "$(printf '%s\n' "$out" | tail -n +2 | grep -c ',drain,')" \
    "the unfiltered listing reads the newest 500"
exit 0
