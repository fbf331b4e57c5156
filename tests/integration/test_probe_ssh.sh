#!/bin/bash
# ssh probes against a real sshd on loopback: host key fingerprint right
# and wrong, handshake only, public-key auth with a command (exit status
# expected and not), a command that outlives the timeout, a closed port.
. "$(dirname "$0")/lib.sh"

[ -x "$VANTAGED" ] || fail "no $VANTAGED (make first)"

SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || skip "no $SSHD (openssh-server)"
command -v ssh-keygen >/dev/null || skip "no ssh-keygen"
command -v sqlite3 >/dev/null || skip "no sqlite3"
# sshd insists on its privilege separation directory.
if [ ! -d /run/sshd ] && ! mkdir -m 755 /run/sshd 2>/dev/null; then
	skip "/run/sshd is missing and cannot be made"
fi

ME=$(id -un)
SSH_PORT=$(free_port)
CLOSED_PORT=$(free_port)
API_PORT=$(free_port)
DATA_DIR=$T/data
mkdir -p "$DATA_DIR"

ssh-keygen -q -t ed25519 -N '' -C host -f "$T/host_key" ||
    fail "ssh-keygen (host key)"
ssh-keygen -q -t ed25519 -N '' -C other -f "$T/other_key" ||
    fail "ssh-keygen (other key)"
ssh-keygen -q -t ed25519 -N '' -C client -f "$T/client_key" ||
    fail "ssh-keygen (client key)"
cp "$T/client_key.pub" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"
FP=$(ssh-keygen -l -E sha256 -f "$T/host_key.pub" | awk '{print $2}')
WRONG_FP=$(ssh-keygen -l -E sha256 -f "$T/other_key.pub" | awk '{print $2}')
assert_match '^SHA256:[A-Za-z0-9+/]{43}$' "$FP" "host key fingerprint"
# The fingerprints as regex literals ('+' is base64).
re_escape() {
	printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'
}
FP_RE=$(re_escape "$FP")
WRONG_FP_RE=$(re_escape "$WRONG_FP")

cat >"$T/sshd_config" <<EOF
HostKey $T/host_key
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
UsePAM no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $ME
LogLevel VERBOSE
EOF
bg sshd "$SSHD" -D -e -f "$T/sshd_config" -p "$SSH_PORT" \
    -o ListenAddress=127.0.0.1
wait_for 10 grep -q "Server listening on 127.0.0.1 port $SSH_PORT" \
    "$T/sshd.log" || fail "sshd did not start"

agent_conf "$T/vantaged.conf" "$DATA_DIR" "$API_PORT"
# Every probe run costs sshd a fork and exec, a command also a session
# and a shell (seconds on a loaded sandbox): command probes run rarely,
# with a long timeout, and one result decides their state.
cat >>"$T/vantaged.conf" <<EOF
[probe "ssh-fp-ok"]
type = ssh
target = 127.0.0.1:$SSH_PORT
host_key = $FP
interval = 2s
fall = 2
rise = 2

[probe "ssh-plain"]
type = ssh
target = 127.0.0.1:$SSH_PORT
interval = 2s
fall = 2
rise = 2

[probe "ssh-fp-bad"]
type = ssh
target = 127.0.0.1:$SSH_PORT
host_key = $WRONG_FP
interval = 2s
fall = 2
rise = 2

[probe "ssh-cmd-ok"]
type = ssh
target = 127.0.0.1:$SSH_PORT
host_key = $FP
user = $ME
key = $T/client_key
command = true
interval = 10s
timeout = 10s
fall = 1
rise = 1

[probe "ssh-cmd-exit3"]
type = ssh
target = 127.0.0.1:$SSH_PORT
user = $ME
key = $T/client_key
command = echo bad thing >&2 && exit 3
interval = 10s
timeout = 10s
fall = 1
rise = 1

[probe "ssh-cmd-expect3"]
type = ssh
target = 127.0.0.1:$SSH_PORT
user = $ME
key = $T/client_key
command = exit 3
expect_exit = 3
interval = 10s
timeout = 10s
fall = 1
rise = 1

[probe "ssh-bad-user"]
type = ssh
target = 127.0.0.1:$SSH_PORT
user = $ME
key = $T/other_key
interval = 3s
fall = 2
rise = 2

[probe "ssh-slow"]
type = ssh
target = 127.0.0.1:$SSH_PORT
user = $ME
key = $T/client_key
command = sleep 5
interval = 10s
timeout = 1500ms
fall = 1
rise = 1

[probe "ssh-closed"]
type = ssh
target = 127.0.0.1:$CLOSED_PORT
interval = 2s
fall = 2
rise = 2
EOF

# A fingerprint in another format is a config error.
sed -e "s|^host_key = $WRONG_FP|host_key = MD5:aa:bb|" \
    "$T/vantaged.conf" >"$T/bad.conf"
"$VANTAGED" -n -f "$T/bad.conf" >"$T/check-bad.log" 2>&1 &&
    fail "vantaged -n accepted host_key = MD5:aa:bb"
grep -q "SHA256" "$T/check-bad.log" || fail "config error does not" \
    "explain the fingerprint format: $(cat "$T/check-bad.log")"
rm -f "$T/check-bad.log"
"$VANTAGED" -n -f "$T/vantaged.conf" >"$T/check.log" 2>&1 ||
    fail "vantaged -n rejected the config"
rm -f "$T/check.log"

start_agent agent "$T/vantaged.conf"
LOG=$T/agent.log
for l in "ssh-fp-ok: unknown -> up" "ssh-plain: unknown -> up" \
    "ssh-cmd-ok: unknown -> up" "ssh-cmd-expect3: unknown -> up" \
    "ssh-fp-bad: unknown -> down" "ssh-cmd-exit3: unknown -> down" \
    "ssh-bad-user: unknown -> down" "ssh-slow: unknown -> down" \
    "ssh-closed: unknown -> down"; do
	wait_for 30 grep -q "probe $l" "$LOG" ||
	    fail "agent did not log 'probe $l'"
done
stop_agent agent

DB=$DATA_DIR/vantage.db
[ -f "$DB" ] || fail "no $DB"

# rows NAME: "status|code|error" of every result, one per line, unique.
rows() {
	sql "$DB" "SELECT DISTINCT r.status || '|' || ifnull(r.code, '') ||
	    '|' || ifnull(r.error, '') FROM result r JOIN probe p
	    ON p.id = r.probe_id WHERE p.name = '$1'"
}
# assert_rows REGEX NAME: every distinct result of NAME matches REGEX.
assert_rows() {
	local r
	r=$(rows "$2")
	[ -n "$r" ] || fail "$2: no results"
	while IFS= read -r line; do
		assert_match "$1" "$line" "$2 result"
	done <<<"$r"
}
count() {
	sql "$DB" "SELECT count(*) FROM result r JOIN probe p
	    ON p.id = r.probe_id WHERE p.name = '$1'"
}

for p in ssh-fp-ok ssh-plain ssh-fp-bad ssh-bad-user ssh-closed; do
	n=$(count "$p")
	[ "$n" -ge 2 ] || fail "$p: expected at least 2 results, got $n"
done

# No command ran: no code (NULL or -1).
assert_rows '^0\|(-1)?\|$' ssh-fp-ok
assert_rows '^0\|(-1)?\|$' ssh-plain
assert_rows '^0\|0\|$' ssh-cmd-ok
assert_rows '^0\|3\|$' ssh-cmd-expect3
assert_rows '^2\|3\|command exited 3, expected 0: bad thing$' \
    ssh-cmd-exit3
assert_rows "^2\|(-1)?\|host key mismatch: got $FP_RE, expected $WRONG_FP_RE\$" \
    ssh-fp-bad
assert_rows "^2\|(-1)?\|authentication as $ME failed: .*\(host key $FP_RE\)\$" \
    ssh-bad-user
assert_rows '^2\|(-1)?\|timeout after 1500ms$' ssh-slow
assert_rows '^2\|(-1)?\|connect 127\.0\.0\.1:[0-9]+: Connection refused$' \
    ssh-closed

# Phases: a connect time whenever a connection was made, no DNS phase for
# a numeric target.
n=$(sql "$DB" "SELECT count(*) FROM result r JOIN probe p
    ON p.id = r.probe_id WHERE p.name = 'ssh-cmd-ok' AND
    (r.connect_us IS NULL OR r.connect_us < 0 OR r.dns_us IS NOT NULL OR
    r.latency_us < r.connect_us)")
assert_eq 0 "$n" "ssh-cmd-ok rows with bad phase timings"

# The agent closed its sessions: sshd saw disconnects, not resets.
grep -q "Received disconnect from 127.0.0.1.*vantaged probe done" \
    "$T/sshd.log" || fail "sshd never saw a polite disconnect"
exit 0
