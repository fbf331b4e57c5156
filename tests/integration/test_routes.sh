#!/bin/bash
# Routes through the API without a load balancer: request validation, the
# health endpoint, a linked probe turning a route DOWN, the agent-check
# words, hooks (argv, environment, descriptors, exit status audited, a
# hook that never ends killed at hook_timeout), and a reload that forgets
# a removed route.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH

api=$(free_port)
hap=$(free_port)
open=$(free_port)

tcp_listener listener "$open"

TOK=$(new_token alice operator)

# The hook records what it was given; exit status from its first word.
cat >"$T/hook.sh" <<'EOH'
#!/bin/sh
out=$1
shift
# before any redirection or substitution of our own opens one
ls -l /proc/$$/fd >"$out.fds"
{
	echo "argv=$*"
	env | sort | sed 's/^/env /'
	echo "stdin=$(readlink /proc/$$/fd/0)"
	sed -n 's/.* \([0-9][0-9]*\) -> /fd \1 /p' "$out.fds"
} >"$out.tmp"
mv "$out.tmp" "$out"
exit "${HOOK_EXIT:-0}"
EOH
chmod +x "$T/hook.sh"
cat >"$T/fail.sh" <<'EOH'
#!/bin/sh
exit 3
EOH
chmod +x "$T/fail.sh"

write_conf() {
	agent_conf "$T/a.conf" "$T/data" "$api"
	cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[haproxy]
listen = 127.0.0.1:${hap_listen:-$hap}
[probe "backend"]
type = tcp
target = 127.0.0.1:$open
interval = 100ms
timeout = 100ms
fall = 1
rise = 1
[route "linked"]
probe = backend
[route "hooked"]
on_drain = $T/hook.sh $T/drain.out "two words"
on_undrain = $T/fail.sh
[route "stuck"]
on_drain = /bin/sleep 987654
hook_timeout = 1s
EOC
	cat >>"$T/a.conf"
}
write_conf <<EOC
[route "gone"]
EOC
# an agent variable the hooks must not see
SECRET_IN_AGENT_ENV=leak start_agent agent "$T/a.conf"

api() {	# METHOD PATH [BODY]: $code and $T/resp
	code=$(curl -s -o "$T/resp" -w '%{http_code}' -X "$1" \
	    -H "Authorization: Bearer $TOK" -H "X-Vantage-Operator: alice@bastion" \
	    ${3:+-d "$3"} "http://127.0.0.1:$api$2")
}
route_field() {	# ROUTE FIELD
	api GET /v1/routes
	jq -r ".routes[] | select(.name == \"$1\") | .$2" "$T/resp"
}
agentcheck() {	# LINE -> the agent's answer
	python3 - "$hap" "$1" <<'EOP'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while True:
    d = s.recv(100)
    if not d:
        break
    data += d
print(repr(data.decode()))
EOP
}
health() {	# ROUTE -> "CODE EFFECTIVE"
	local c
	c=$(curl -s -o "$T/health" -w '%{http_code}' "http://127.0.0.1:$api/v1/routes/$1/health")
	echo "$c $(jq -r .effective "$T/health" 2>/dev/null)"
}

# --- validation: every field checked, a clear 400
bad() {	# BODY WHAT
	api POST /v1/routes/hooked/drain "$1"
	assert_eq 400 "$code" "$2"
	assert_eq bad_request "$(jq -r .error.code "$T/resp")" "$2: code"
}
bad '{}' "no reason"
bad '{"reason":""}' "empty reason"
bad '{"reason":"x","ttl":5}' "unknown field"
bad '{"reason":"x","ttl_s":-1}' "ttl_s negative"
bad '{"reason":"x","ttl_s":2592001}' "ttl_s too large"
bad '{"reason":"x","ttl_s":1.5}' "ttl_s not whole"
bad '{"reason":"x","mode":"off"}' "bad mode"
bad '{"reason":"x","force":"yes"}' "force not bool"
bad '{"reason":"x\u001b[31m"}' "control character in reason"
bad "{\"reason\":\"$(printf 'x%.0s' $(seq 501))\"}" "reason over 500 bytes"
bad '{"reason":' "malformed JSON"
bad '["reason"]' "not an object"
api POST /v1/routes/hooked/undrain '{"reason":"x","force":true}'
assert_eq 400 "$code" "undrain takes only reason"
api POST /v1/routes/nope/drain '{"reason":"x"}'
assert_eq 404 "$code" "unknown route"
assert_match "route 'nope' is not defined" "$(jq -r .error.message "$T/resp")" "404 message"
assert_eq "active" "$(route_field hooked state)" "hooked untouched by bad requests"

# --- the linked probe: down makes the route down everywhere
wait_for 5 grep -q "probe backend: unknown -> up" "$T/agent.log" || fail "probe not up"
assert_eq "200 ready" "$(health linked)" "health of a ready route"
assert_eq "'up ready\n'" "$(agentcheck 'linked\n')" "agent-check ready"
kill "$PID_listener"
wait_for 5 grep -q "probe backend: up -> down" "$T/agent.log" || fail "probe not down"
linked_down() { [ "$(route_field linked effective)" = down ]; }
wait_for 2 linked_down || fail "linked not down"
assert_eq "503 down" "$(health linked)" "health of a down route"
assert_eq "'down ready\n'" "$(agentcheck 'linked\n')" "agent-check down"
api POST /v1/routes/linked/drain '{"reason":"x","mode":"maint"}'
assert_eq "'maint\n'" "$(agentcheck 'linked\n')" "maint wins over down"
assert_eq "503 maint" "$(health linked)" "health of a maint route"
assert_eq "'down\n'" "$(agentcheck 'nosuch\n')" "agent-check unknown route"
assert_eq "'down\n'" "$(agentcheck 'bad name\n')" "agent-check bad name"
assert_eq "'up ready\n'" "$(agentcheck '  hooked \r\n')" "agent-check blanks, CRLF"
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api/v1/routes/nope/health" |
    grep -qx 404 || fail "health of an unknown route is not 404"
# a client that sends nothing does not hold up the others
python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $hap)); time.sleep(3)" &
slow=$!
sleep 0.2
assert_eq "'up ready\n'" "$(agentcheck 'hooked\n')" "answer beside a silent client"
wait "$slow"

# --- hooks
api POST /v1/routes/hooked/drain '{"reason":"patch tuesday","ttl_s":600}'
assert_eq 200 "$code" "drain hooked"
wait_for 5 test -f "$T/drain.out" || fail "on_drain did not run"
grep -qx 'argv=two words' "$T/drain.out" || fail "hook argv: $(grep argv "$T/drain.out")"
for kv in VANTAGE_ROUTE=hooked VANTAGE_STATE=draining VANTAGE_ACTOR=alice \
    "VANTAGE_REASON=patch tuesday"; do
	grep -qx "env $kv" "$T/drain.out" || fail "hook environment lacks $kv"
done
grep -q '^env PATH=' "$T/drain.out" || fail "hook has no PATH"
grep -q SECRET_IN_AGENT_ENV "$T/drain.out" && fail "hook inherited the agent's environment"
assert_eq /dev/null "$(sed -n 's/^stdin=//p' "$T/drain.out")" "hook stdin"
# the agent's sockets, epoll, eventfds, pidfds and database stay behind
grep -E '^fd [0-9]+ (socket:|anon_inode:|pipe:|.*vantage\.db)' "$T/drain.out" &&
    fail "hook inherited descriptors: $(grep '^fd' "$T/drain.out" | tr '\n' ' ')"
wait_for 5 sh -c "curl -s -H 'Authorization: Bearer $TOK' \
    'http://127.0.0.1:$api/v1/audit?action=hook' | grep -q 'on_drain exited 0'" ||
    fail "hook result not audited: $(cat "$T/resp")"
api POST /v1/routes/hooked/undrain '{"reason":"patched"}'
wait_for 5 sh -c "curl -s -H 'Authorization: Bearer $TOK' \
    'http://127.0.0.1:$api/v1/audit?action=hook' | grep -q 'on_undrain exited 3'" ||
    fail "failing hook not audited"
api GET "/v1/audit?action=hook"
assert_eq "failed" "$(jq -r '.audit[] | select(.detail == "on_undrain exited 3") | .result' "$T/resp")" \
    "result of a failing hook"

api POST /v1/routes/stuck/drain '{"reason":"x"}'
assert_eq 200 "$code" "drain stuck"
wait_for 5 pgrep -f "sleep 987654" || fail "stuck hook did not start"
wait_for 5 sh -c "curl -s -H 'Authorization: Bearer $TOK' \
    'http://127.0.0.1:$api/v1/audit?action=hook' | grep -q 'on_drain killed after 1s'" ||
    fail "stuck hook not killed and audited"
pgrep -f "sleep 987654" && fail "stuck hook still running"

# --- reload: a removed route is forgotten (audited), a re-added one is new
api POST /v1/routes/gone/drain '{"reason":"bye"}'
assert_eq 200 "$code" "drain gone"
# ... but not when the reload is refused, here by the agent-check listener
busy=$(free_port)
bg busy python3 -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', $busy)); s.listen(1); time.sleep(60)"
wait_for 5 python3 -c "import socket; socket.create_connection(('127.0.0.1', $busy))" ||
    fail "busy port not bound"
hap_listen=$busy write_conf </dev/null
kill -HUP "$PID_agent"
wait_for 5 grep -q "reload refused by haproxy" "$T/agent.log" ||
    fail "a reload with a busy [haproxy] listen was not refused"
sleep 0.3
assert_eq draining "$(route_field gone state)" "route of a refused reload"
assert_eq "'up ready\n'" "$(agentcheck 'hooked\n')" "agent-check after a refused reload"
write_conf </dev/null
kill -HUP "$PID_agent"
wait_for 5 grep -q "reloaded" "$T/agent.log" || fail "no reload"
api GET /v1/routes/gone/health
assert_eq 404 "$code" "removed route"
api GET "/v1/audit?action=forget"
assert_eq gone "$(jq -r '.audit[-1].target' "$T/resp")" "forget audited"
write_conf <<EOC
[route "gone"]
EOC
kill -HUP "$PID_agent"
two_reloads() { [ "$(grep -c reloaded "$T/agent.log")" -ge 2 ]; }
wait_for 5 two_reloads || fail "no second reload"
assert_eq active "$(route_field gone state)" "re-added route starts active"
assert_eq maint "$(route_field linked state)" "linked kept its state across reloads"

api GET /v1/audit/verify
assert_eq true "$(jq -r .ok "$T/resp")" "audit chain"
stop_agent agent
exit 0
