# console_lib.sh - helpers of the console tests (tests/integration/
# test_console_*.sh), sourced after lib.sh.
#
#  - fake_agent NAME PORT ARGS...   a python3 fake of the agent API
#                                   (console_fake_agent.py), ready on return
#  - real_agent NAME PORT [SECTIONS] a vantaged with its own data dir and a
#                                   token (operator role) in $TOKEN
#  - tui_start W H ARGS...          the console in a private tmux server
#  - screen / wait_screen / keys    read the screen, wait for text, type
#
# tmux runs on its own socket (-L), so the tests never touch the operator's
# tmux and are cleaned up with the test.

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
FAKE="$TOP/tests/integration/console_fake_agent.py"
TMUX_SOCK="vt-$$"
TOKEN=""

tmx() { tmux -L "$TMUX_SOCK" "$@"; }
_tui_gone() { ! tmx list-sessions >/dev/null 2>&1; }

_console_cleanup() {
	tmx kill-server 2>/dev/null
	return 0
}
CLEANUP_HOOK=_console_cleanup

# need_tools CMD...: skip the test when a tool is missing.
need_tools() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
	done
}

# fake_agent NAME PORT [ARGS...]: waits until it listens.
fake_agent() {
	local name=$1 port=$2
	shift 2
	bg "$name" "$PY" "$FAKE" --port "$port" --name "$name" "$@"
	wait_for 10 grep -q "^ready" "$T/$name.log" ||
	    fail "fake agent $name did not start"
}

# new_token NAME ROLE: sets TOKEN and appends the hash line to $T/tokens.
new_token() {
	local out
	out=$("$VANTAGED" token "$1" "$2") || fail "vantaged token failed"
	TOKEN=$(printf '%s\n' "$out" | sed -n 's/^token: //p')
	printf '%s\n' "$out" | sed -n 's/^tokens file line: //p' >>"$T/tokens"
	chmod 600 "$T/tokens"
	[ -n "$TOKEN" ] || fail "no token in: $out"
}

# real_agent NAME PORT [CONFIG-SECTIONS]: a vantaged named NAME on PORT
# with the tokens of $T/tokens; extra config text is appended.
real_agent() {
	local name=$1 port=$2 extra=${3:-}
	mkdir -p "$T/data-$name"
	AGENT_NAME=$name agent_conf "$T/$name.conf" "$T/data-$name" "$port"
	printf 'tokens = %s\n%s\n' "$T/tokens" "$extra" >>"$T/$name.conf"
	start_agent "$name" "$T/$name.conf"
}

# console_conf FILE NAME=PORT...: a vantage.conf for agents on loopback,
# all with $TOKEN, refreshing every second.
console_conf() {
	local f=$1 a
	shift
	printf '[console]\nrefresh = 1s\n' >"$f"
	for a in "$@"; do
		printf '[agent "%s"]\nurl = http://127.0.0.1:%s\ntoken = %s\n' \
		    "${a%%=*}" "${a#*=}" "$TOKEN" >>"$f"
	done
	chmod 600 "$f"
}

# tui_start W H [ENV=V...] -- ARGS...: the console in tmux; when it ends,
# "EXITED rc" goes to $T/tui.exit and the pane stays for inspection.
tui_start() {
	local w=$1 h=$2 envs=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	[ "${1:-}" = "--" ] && shift
	local cmd="env LANG=C.UTF-8 LC_ALL=C.UTF-8 ${envs[*]:-}"
	cmd="$cmd $(printf '%q ' "$VANTAGE" "$@")"
	# a server of an earlier start must be gone, not on its way out:
	# new-session would reach the dying one ("server exited unexpectedly")
	tmx kill-server 2>/dev/null
	wait_for 5 _tui_gone || fail "the previous tmux server did not exit"
	tmx new-session -d -s vt -x "$w" -y "$h" \
	    "$cmd 2>$T/tui.err; echo EXITED \$? >$T/tui.exit; sleep 600" ||
	    fail "tmux new-session failed"
}

# screen: the visible text of the pane.
screen() { tmx capture-pane -p -t vt; }

# wait_screen SECS REGEX: until the pane shows REGEX (extended grep).
wait_screen() {
	local end=$((SECONDS + $1))
	while ! screen | grep -Eq -- "$2"; do
		if [ $SECONDS -ge $end ]; then
			echo "--- screen:" >&2
			screen >&2
			fail "screen did not show /$2/ within $1 s"
		fi
		sleep 0.05
	done
}

# wait_line SECS N REGEX: until line N of the pane matches REGEX.
wait_line() {
	local end=$((SECONDS + $1))
	while ! screen | sed -n "$2p" | grep -Eq -- "$3"; do
		if [ $SECONDS -ge $end ]; then
			echo "--- screen:" >&2
			screen >&2
			fail "line $2 did not show /$3/ within $1 s"
		fi
		sleep 0.05
	done
}

# keys KEY...: tmux send-keys (literal strings or key names like Enter).
keys() { tmx send-keys -t vt "$@"; }

# type_text TEXT: literal text, even when it looks like a key name.
type_text() { tmx send-keys -t vt -l -- "$1"; }

# now_ms: wall clock in milliseconds.
now_ms() { date +%s%3N; }

# key_latency N KEY1 REGEX1 KEY2 REGEX2: sends KEY1, waits until the pane
# shows REGEX1, then KEY2 and REGEX2, N times; prints each answer time in
# ms.  It talks to tmux in control mode (one client, no process per
# poll), so the figures are the console's, not the cost of tmux commands.
key_latency() {
	"$PY" - "$TMUX_SOCK" "$@" <<'PYEOF'
import re, subprocess, sys, time
sock, n, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
p = subprocess.Popen(["tmux", "-L", sock, "-C", "attach", "-t", "vt"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     text=True, bufsize=1)
def cmd(c):
    p.stdin.write(c + "\n")
    p.stdin.flush()
    out, inblock = [], False
    while True:
        line = p.stdout.readline()
        if not line:
            sys.exit("tmux control client went away")
        if line.startswith("%begin"):
            out, inblock = [], True
        elif line.startswith("%end") or line.startswith("%error"):
            if inblock:
                return "".join(out)
        elif inblock:
            out.append(line)
# the attach itself answers with a first %begin/%end block
while True:
    line = p.stdout.readline()
    if not line:
        sys.exit("tmux control client went away")
    if line.startswith(("%end", "%error")):
        break
cmd("refresh-client -f no-output")
res = []
for _ in range(n):
    for i in range(0, len(pairs), 2):
        key, rx = pairs[i], re.compile(pairs[i + 1])
        t0 = time.monotonic()
        cmd("send-keys -t vt -l -- '%s'" % key)
        while not rx.search(cmd("capture-pane -p -t vt")):
            if time.monotonic() - t0 > 5:
                break
        res.append(int((time.monotonic() - t0) * 1000))
    time.sleep(0.2)
print(" ".join(map(str, res)))
p.stdin.close()
p.terminate()
PYEOF
}
