#!/bin/bash
# Remote text never acts on a terminal or a log: the agent refuses C0, C1
# and bidi controls in the text it accepts (400 naming the field), and
# escapes remote bytes in every log line (a URL with %1b and %0a cannot
# colour the log or forge a line of its own), in the audit rows too.
. "$(dirname "$0")/lib.sh"

api=$(free_port)
TOK=$(new_token alice operator)
agent_conf "$T/a.conf" "$T/data" "$api"
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[route "web"]
EOC
start_agent agent "$T/a.conf" -v

drain() {	# BODY: $code, $T/resp
	code=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $TOK" --data-binary "$1" \
	    "http://127.0.0.1:$api/v1/routes/web/drain")
}
for bad in 'csi \u009b31m' 'rlo \u202e evil' 'isolate \u2066x\u2069' 'lre \u202a' \
    'esc \u001b[2J' 'del \u007f' 'nel \u0085'; do
	drain "{\"reason\":\"$bad\"}"
	assert_eq 400 "$code" "reason with '$bad'"
	assert_match "'reason'" "$(jq -r .error.message "$T/resp")" "the 400 names the field"
done
# the same characters raw in UTF-8, not as JSON escapes
drain "$(printf '{"reason":"raw \xc2\x9b31m"}')"
assert_eq 400 "$code" "raw C1 in a reason"
drain "$(printf '{"reason":"raw \xe2\x80\xae"}')"
assert_eq 400 "$code" "raw U+202E in a reason"
drain '{"reason":"caf\u00e9 \u05e9\u05dc\u05d5\u05dd ok"}'
assert_eq 200 "$code" "plain non-ASCII text is fine"

# log injection through a refused request's path (no token)
curl -s -o /dev/null -X POST \
    "http://127.0.0.1:$api/v1/routes/%1b%5b31mX%0avantaged:%20FORGED%20line/drain"
curl -s -o /dev/null -X POST -H "X-Vantage-Operator: ok" \
    "http://127.0.0.1:$api/v1/routes/%c2%9b31m%e2%80%ae/drain"
sleep 0.5
stop_agent agent
if LC_ALL=C grep -q $'\x1b' "$T/agent.log"; then
	fail "a raw ESC reached the log: $(LC_ALL=C grep -n $'\x1b' "$T/agent.log" | cat -v)"
fi
if grep -q '^vantaged: FORGED' "$T/agent.log"; then
	fail "a remote newline forged a log line"
fi
if LC_ALL=C grep -q $'\xc2\x9b\|\xe2\x80\xae' "$T/agent.log"; then
	fail "a C1 or bidi control reached the log"
fi
grep -q 'x1b' "$T/agent.log" || fail "the escaped path is not in the log at -v"
# the audit rows hold no control character either
n=$(sql "$T/data/vantage.db" "SELECT count(*) FROM audit WHERE target GLOB '*'||char(27)||'*' OR target GLOB '*'||char(10)||'*' OR target GLOB '*'||char(155)||'*' OR target GLOB '*'||char(8238)||'*'")
assert_eq 0 "$n" "audit targets without control characters"
exit 0
