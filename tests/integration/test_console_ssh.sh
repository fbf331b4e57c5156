#!/bin/bash
# The console's SSH transport (console/tunnel.c) against a real sshd on
# loopback with a host key made here, forwarding to an HTTP server behind
# it: the right key works (small and large bodies, many connections at
# once), the tunnel reports a dropped session, a changed host key and an
# unknown host are refused with the server's fingerprint, a wrong client
# key and forwarding switched off are refused with a reason.  Last,
# `vantage status --json` with a real agent behind `ssh = ...` in
# vantage.conf.
#
# tunnel.c is driven by a small C program built here (ASan+UBSan) from
# the module's source, so this runs whatever else of the console exists.
. "$(dirname "$0")/lib.sh"

SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || skip "no $SSHD (openssh-server)"
for c in ssh-keygen ssh-keyscan curl python3 pkg-config; do
	command -v $c >/dev/null || skip "no $c"
done
if [ ! -d /run/sshd ]; then
	mkdir -p /run/sshd 2>/dev/null && chmod 755 /run/sshd ||
	    skip "/run/sshd is missing and cannot be made"
fi

ME=$(id -un)
SSH_PORT=$(free_port)
SSH2_PORT=$(free_port)
HTTP_PORT=$(free_port)
ECHO_PORT=$(free_port)
# Nothing in the environment may pick the key or known_hosts for us.
unset SSH_AUTH_SOCK VANTAGE_SSH_KEY VANTAGE_KNOWN_HOSTS

# ---- the driver -------------------------------------------------------
cat >"$T/driver.c" <<'EOF'
/*
 * driver SSH_SPEC HOST PORT: opens a tunnel, prints "PORT n" or "ERR msg"
 * (exit 1), then answers stdin lines: "error" -> "HEALTHY" or "DEAD msg";
 * "wait-dead SECS" -> the same after waiting up to SECS for a death.
 * EOF closes the tunnel and exits 0 (ASan checks for leaks then).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vantage.h"

static void
report(struct tunnel *t)
{
	const char *e = tunnel_error(t);

	if (e == NULL)
		printf("HEALTHY\n");
	else
		printf("DEAD %s\n", e);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct tunnel	*t;
	char		 err[1024], line[256];
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };
	int		 i, secs;

	if (argc != 4)
		return 2;
	if ((t = tunnel_open(argv[1], argv[2], atoi(argv[3]), err,
	    sizeof(err))) == NULL) {
		printf("ERR %s\n", err);
		return 1;
	}
	printf("PORT %d\n", tunnel_local_port(t));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strncmp(line, "wait-dead ", 10) == 0) {
			secs = atoi(line + 10);
			for (i = 0; i < secs * 50 && tunnel_error(t) == NULL;
			    i++)
				nanosleep(&ts, NULL);
		}
		report(t);
	}
	tunnel_close(t);
	return 0;
}
EOF
CFLAGS_T="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined
    -I$TOP/shared -I$TOP/console
    $(pkg-config --cflags libcurl libcjson libssh2 inih openssl ncursesw)"
# shellcheck disable=SC2086,SC2046
cc $CFLAGS_T -o "$T/driver" "$T/driver.c" "$TOP/console/tunnel.c" \
    "$TOP/shared/buf.c" "$TOP/shared/log.c" "$TOP/shared/text.c" "$TOP/shared/parse.c" \
    $(pkg-config --libs libssh2 openssl) -lpthread >"$T/cc.log" 2>&1 ||
    fail "cannot build the tunnel driver: $(head -5 "$T/cc.log")"

# ---- keys, sshd, HTTP server -----------------------------------------
ssh-keygen -q -t ed25519 -N '' -C host -f "$T/host_key" || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C other-host -f "$T/other_host_key" ||
    fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C client -f "$T/client_key" ||
    fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/stranger_key" ||
    fail "ssh-keygen"
cp "$T/client_key.pub" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"
FP=$(ssh-keygen -l -E sha256 -f "$T/host_key.pub" | awk '{print $2}')
assert_match '^SHA256:[A-Za-z0-9+/]{43}$' "$FP" "host key fingerprint"

sshd_conf() {	# FILE PORT FORWARDING
	cat >"$1" <<EOC
Port $2
ListenAddress 127.0.0.1
HostKey $T/host_key
PidFile $T/sshd-$2.pid
AuthorizedKeysFile $T/authorized_keys
UsePAM no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $ME
AllowTcpForwarding $3
LogLevel VERBOSE
EOC
}
sshd_conf "$T/sshd_config" "$SSH_PORT" yes
sshd_conf "$T/sshd2_config" "$SSH2_PORT" no
bg sshd "$SSHD" -D -e -f "$T/sshd_config"
bg sshd2 "$SSHD" -D -e -f "$T/sshd2_config"
wait_for 10 grep -q "Server listening on 127.0.0.1 port $SSH_PORT" \
    "$T/sshd.log" || fail "sshd did not start"
wait_for 10 grep -q "Server listening on 127.0.0.1 port $SSH2_PORT" \
    "$T/sshd2.log" || fail "second sshd did not start"

mkdir -p "$T/www"
echo "hello through the tunnel" >"$T/www/small.txt"
head -c 4000000 /dev/urandom >"$T/www/big.bin"
BIG_SUM=$(sha256sum <"$T/www/big.bin" | cut -d' ' -f1)
bg http python3 -m http.server --bind 127.0.0.1 --directory "$T/www" \
    "$HTTP_PORT"
wait_for 10 curl -sf "http://127.0.0.1:$HTTP_PORT/small.txt" ||
    fail "HTTP server did not start"

# An echo server: uploads and downloads at once, and half-closes.
cat >"$T/echo.py" <<'EOF'
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.shutdown(socket.SHUT_WR)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
# echo_client PORT CONNS BYTES: that many connections at once, each sends
# BYTES random bytes, half-closes and must get exactly them back.
cat >"$T/echo_client.py" <<'EOF'
import os, socket, sys, threading
port, n, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
good = []
def one():
    data = os.urandom(size)
    c = socket.create_connection(("127.0.0.1", port), timeout=60)
    def send():
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=send)
    t.start()
    got = bytearray()
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += d
    t.join()
    c.close()
    if bytes(got) == data:
        good.append(1)
    else:
        print("got %d bytes of %d back" % (len(got), size))
ts = [threading.Thread(target=one) for _ in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("%d of %d" % (len(good), n))
EOF
bg echo python3 "$T/echo.py" "$ECHO_PORT"

ssh-keyscan -p "$SSH_PORT" 127.0.0.1 >"$T/known_hosts" 2>"$T/keyscan.txt"
grep -q "^\[127.0.0.1\]:$SSH_PORT ssh-ed25519 " "$T/known_hosts" ||
    fail "ssh-keyscan found no key: $(cat "$T/known_hosts" "$T/keyscan.txt")"
ssh-keyscan -p "$SSH2_PORT" 127.0.0.1 >>"$T/known_hosts" 2>/dev/null

export VANTAGE_KNOWN_HOSTS=$T/known_hosts
export VANTAGE_SSH_KEY=$T/client_key

# open_tunnel SPEC [HOST PORT]: runs the driver as a coprocess and sets
# TUN_PORT, or TUN_ERR when it refused.
open_tunnel() {
	TUN_PORT=''
	TUN_ERR=''
	coproc DRV { "$T/driver" "$1" "${2:-127.0.0.1}" "${3:-$HTTP_PORT}" \
	    2>>"$T/driver.log"; }
	local line=
	read -r -t 30 -u "${DRV[0]}" line || true
	case $line in
	"PORT "*) TUN_PORT=${line#PORT } ;;
	"ERR "*) TUN_ERR=${line#ERR } ;;
	*) fail "driver said '$line'" ;;
	esac
}
# ask LINE: one request to the driver, the answer in REPLY_LINE.
ask() {
	echo "$1" >&"${DRV[1]}"
	REPLY_LINE=
	read -r -t 30 -u "${DRV[0]}" REPLY_LINE ||
	    fail "driver did not answer '$1'"
}
# close_tunnel: EOF to the driver; it must close cleanly (no leaks).
close_tunnel() {
	local rc=0 pid=$DRV_PID
	if [ -n "${DRV[1]:-}" ]; then
		eval "exec ${DRV[1]}>&-"
	fi
	wait "$pid" || rc=$?
	[ $rc -eq 0 ] || fail "driver exited with $rc (see driver.log)"
}
# refused SPEC WHAT: the tunnel must not open; TUN_ERR says why.
refused() {
	open_tunnel "$1"
	[ -n "$TUN_ERR" ] || fail "$2: tunnel opened (port $TUN_PORT)"
	local rc=0
	wait "$DRV_PID" || rc=$?
	[ $rc -eq 1 ] || fail "$2: driver exited with $rc"
}
re_escape() {
	printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'
}
FP_RE=$(re_escape "$FP")
SPEC="$ME@127.0.0.1:$SSH_PORT"

# ---- 1. the right key: data flows, many connections at once -----------
open_tunnel "$SPEC"
[ -n "$TUN_PORT" ] || fail "right key refused: $TUN_ERR"
got=$(curl -sS --max-time 10 "http://127.0.0.1:$TUN_PORT/small.txt" 2>&1)
assert_eq "hello through the tunnel" "$got" "small body through the tunnel"
sum=$(curl -sS --max-time 30 "http://127.0.0.1:$TUN_PORT/big.bin" |
    sha256sum | cut -d' ' -f1)
assert_eq "$BIG_SUM" "$sum" "4 MB body through the tunnel"
urls=()
for i in 1 2 3 4 5 6 7 8; do
	urls+=(-o "$T/par$i.bin" "http://127.0.0.1:$TUN_PORT/big.bin")
done
curl -sS --max-time 60 --parallel --parallel-immediate --parallel-max 8 \
    "${urls[@]}" 2>"$T/curl-par.log" || fail "parallel fetches failed: \
$(cat "$T/curl-par.log")"
for i in 1 2 3 4 5 6 7 8; do
	sum=$(sha256sum <"$T/par$i.bin" | cut -d' ' -f1)
	assert_eq "$BIG_SUM" "$sum" "parallel fetch $i of 8"
done
# A request while the others are idle, then the tunnel is still healthy.
got=$(curl -sS --max-time 10 "http://127.0.0.1:$TUN_PORT/small.txt" 2>&1)
assert_eq "hello through the tunnel" "$got" "fetch after the parallel ones"
ask error
assert_eq "HEALTHY" "$REPLY_LINE" "tunnel_error() of a working tunnel"
close_tunnel

# ---- 1b. both directions at once, beyond the tunnel's 64 connections ----
open_tunnel "$SPEC" 127.0.0.1 "$ECHO_PORT"
[ -n "$TUN_PORT" ] || fail "echo tunnel refused: $TUN_ERR"
got=$(timeout 60 python3 "$T/echo_client.py" "$TUN_PORT" 8 1000000 2>&1 |
    tail -1)
assert_eq "8 of 8" "$got" "8 x 1 MB echoed through the tunnel"
got=$(timeout 60 python3 "$T/echo_client.py" "$TUN_PORT" 100 20000 2>&1 |
    tail -1)
assert_eq "100 of 100" "$got" "100 connections at once echoed"
ask error
assert_eq "HEALTHY" "$REPLY_LINE" "tunnel_error() after the echoes"
close_tunnel

# ---- 2. the session drops: tunnel_error() says so ----------------------
open_tunnel "$SPEC"
[ -n "$TUN_PORT" ] || fail "second tunnel refused: $TUN_ERR"
curl -sS --max-time 10 -o /dev/null "http://127.0.0.1:$TUN_PORT/small.txt" ||
    fail "fetch before the drop"
# The per-connection sshds are the listener's children (all started by
# this test; one may still be leaving from the tunnel before).
children=$(ps -o pid= --ppid "${PID_sshd:?}")
[ -n "$children" ] || fail "no per-connection sshd under $PID_sshd"
for child in $children; do
	kill "$child" 2>/dev/null
done
ask "wait-dead 10"
assert_match "^DEAD (connection closed by the server|connection lost: )" \
    "$REPLY_LINE" "tunnel_error() after the server dropped the session"
curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$TUN_PORT/small.txt" &&
    fail "a dead tunnel still accepted a fetch"
close_tunnel

# ---- 3. hashed known_hosts entries are honoured ------------------------
ssh-keyscan -H -p "$SSH_PORT" 127.0.0.1 >"$T/known_hosts_hashed" 2>/dev/null
grep -q '^|1|' "$T/known_hosts_hashed" || fail "ssh-keyscan -H: no hashes"
VANTAGE_KNOWN_HOSTS=$T/known_hosts_hashed open_tunnel "$SPEC"
[ -n "$TUN_PORT" ] || fail "hashed known_hosts refused: $TUN_ERR"
got=$(curl -sS --max-time 10 "http://127.0.0.1:$TUN_PORT/small.txt" 2>&1)
assert_eq "hello through the tunnel" "$got" "fetch with hashed known_hosts"
close_tunnel

# ---- 4. a changed host key is refused ----------------------------------
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$T/other_host_key.pub")" \
    >"$T/known_hosts_changed"
VANTAGE_KNOWN_HOSTS=$T/known_hosts_changed refused "$SPEC" "changed key"
assert_match "host key for \[127\.0\.0\.1\]:$SSH_PORT CHANGED: got ED25519 $FP_RE, known_hosts has another key - possible man-in-the-middle" \
    "$TUN_ERR" "changed host key"

# ---- 5. an unknown host is refused -------------------------------------
# The right key, but recorded for another port: it vouches for nothing.
sed "s/^\[127.0.0.1\]:$SSH_PORT /[127.0.0.1]:1 /" "$T/known_hosts" \
    >"$T/known_hosts_other_port"
VANTAGE_KNOWN_HOSTS=$T/known_hosts_other_port refused "$SPEC" "unknown host"
assert_match "host key for \[127\.0\.0\.1\]:$SSH_PORT is not in known_hosts \(ED25519 $FP_RE; " \
    "$TUN_ERR" "unknown host"
VANTAGE_KNOWN_HOSTS=$T/no_such_file refused "$SPEC" "no known_hosts"
assert_match "is not in known_hosts \(ED25519 $FP_RE; .*no_such_file does not exist\)" \
    "$TUN_ERR" "missing known_hosts"

# A revoked key is refused even though known_hosts also lists it.
{ echo "@revoked * $(cut -d' ' -f1,2 "$T/host_key.pub")"
  cat "$T/known_hosts"; } >"$T/known_hosts_revoked"
VANTAGE_KNOWN_HOSTS=$T/known_hosts_revoked refused "$SPEC" "revoked key"
assert_match "host key for \[127\.0\.0\.1\]:$SSH_PORT is REVOKED in .*known_hosts_revoked \(ED25519 $FP_RE\)" \
    "$TUN_ERR" "revoked host key"
# An over-long line (libssh2's own reader would drop the file) is skipped.
{ printf 'h%.0s' $(seq 1 5000); echo " $(cut -d' ' -f1,2 "$T/other_host_key.pub")"
  cat "$T/known_hosts"; } >"$T/known_hosts_long"
VANTAGE_KNOWN_HOSTS=$T/known_hosts_long open_tunnel "$SPEC"
[ -n "$TUN_PORT" ] || fail "known_hosts with a 5000-byte line: $TUN_ERR"
close_tunnel

# ---- 6. a key the server does not know is refused ----------------------
VANTAGE_SSH_KEY=$T/stranger_key refused "$SPEC" "unauthorized key"
assert_match "^no key accepted for user $ME \(.*stranger_key: " "$TUN_ERR" \
    "unauthorized client key"
cp "$T/client_key" "$T/open_key"
chmod 644 "$T/open_key"
VANTAGE_SSH_KEY=$T/open_key refused "$SPEC" "world-readable key"
assert_match "open_key: permissions 0644 are too open" "$TUN_ERR" \
    "world-readable client key"

# ---- 7. forwarding switched off: the tunnel dies with the reason -------
open_tunnel "$ME@127.0.0.1:$SSH2_PORT"
[ -n "$TUN_PORT" ] || fail "tunnel to the no-forwarding sshd: $TUN_ERR"
curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$TUN_PORT/small.txt" &&
    fail "fetch through a server that forbids forwarding succeeded"
ask "wait-dead 10"
assert_match "^DEAD .*forwarding to 127\.0\.0\.1:$HTTP_PORT refused" \
    "$REPLY_LINE" "forwarding prohibited"
close_tunnel

# ---- 8. bad destinations ----------------------------------------------
refused "$ME@127.0.0.1:0" "port 0"
assert_match "^bad port '0' in " "$TUN_ERR" "port 0"
CLOSED=$(free_port)
refused "$ME@127.0.0.1:$CLOSED" "closed port"
assert_match "^cannot connect to 127\.0\.0\.1 port $CLOSED: Connection refused" \
    "$TUN_ERR" "closed port"

# ---- 9. the console itself: `ssh =` in vantage.conf ---------------------
[ -x "$VANTAGE" ] || fail "no $VANTAGE (make first)"
[ -x "$VANTAGED" ] || fail "no $VANTAGED (make first)"
API_PORT=$(free_port)
tok_line=$("$VANTAGED" token alice viewer) || fail "vantaged token"
TOK=$(echo "$tok_line" | sed -n 's/^token: //p')
echo "$tok_line" | sed -n 's/^tokens file line: //p' >"$T/tokens"
chmod 600 "$T/tokens"
mkdir -p "$T/data"
AGENT_NAME=behind agent_conf "$T/vantaged.conf" "$T/data" "$API_PORT"
echo "tokens = $T/tokens" >>"$T/vantaged.conf"
start_agent agent "$T/vantaged.conf"
cat >"$T/vantage.conf" <<EOC
[agent "behind"]
url = http://127.0.0.1:$API_PORT
token = $TOK
ssh = $SPEC
EOC
chmod 600 "$T/vantage.conf"
out=$("$VANTAGE" -c "$T/vantage.conf" status --json 2>"$T/cli.log") ||
    fail "vantage status --json through ssh: $(cat "$T/cli.log")"
assert_match '"agent_name":[[:space:]]*"behind"' "$out" \
    "vantage status --json through the tunnel"
assert_match '"state":[[:space:]]*"ok"' "$out" \
    "agent state through the tunnel"
rc=0
out=$(VANTAGE_KNOWN_HOSTS=$T/known_hosts_changed "$VANTAGE" \
    -c "$T/vantage.conf" status --json 2>&1) || rc=$?
assert_eq 1 "$rc" "vantage status exit code with a changed host key"
assert_match "host key for \[127\.0\.0\.1\]:$SSH_PORT CHANGED: got ED25519 $FP_RE" \
    "$out" "vantage status with a changed host key"
exit 0
