# lib.sh - shared by the integration tests (sourced, bash).
#
# Each test gets its own directory $T, its own ports and its own agent.
# Processes started with `bg NAME CMD...` are killed when the test exits.
# A failing test prints what it expected and what it got and keeps $T
# (its logs); a passing test removes it and stays quiet.
#
#   VANTAGED / VANTAGE   binaries under test (tests/run.sh sets them to the
#                        ASan+UBSan builds; default: the normal builds)

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# the system python starts in 0.1 s; a pyenv shim may take seconds
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH
VANTAGED=${VANTAGED:-$TOP/agent/vantaged}
VANTAGE=${VANTAGE:-$TOP/console/vantage}
TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/vt-$TEST_NAME.XXXXXX")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$TOP/tests/lsan.supp:print_suppressions=0}
_bg_pids=()
_failed=0

_cleanup() {
	local rc=$?
	local p
	# SIGTERM, and SIGCONT for a process the test froze with SIGSTOP
	# (a stopped process keeps SIGTERM pending); whatever is left after
	# 10 s gets SIGKILL, so a cleanup never waits forever.
	for p in "${_bg_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
		kill -CONT "$p" 2>/dev/null
	done
	local end=$((SECONDS + 10)) left
	while :; do
		left=0
		for p in "${_bg_pids[@]}"; do
			kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ] &&
			    left=1
		done
		[ $left -eq 0 ] || [ $SECONDS -ge $end ] && break
		sleep 0.1
	done
	for p in "${_bg_pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "${CLEANUP_HOOK:-}" ]; then
		$CLEANUP_HOOK || true
	fi
	if [ $rc -eq 0 ] && [ $_failed -eq 0 ]; then
		rm -rf "$T"
	else
		echo "  logs kept in $T" >&2
	fi
}
trap _cleanup EXIT
trap 'exit 1' INT TERM

# Every curl of a test is bounded: an agent the test froze (SIGSTOP)
# accepts connections and never answers.  A -m/--max-time given by the
# caller comes later on the command line and wins.
curl() { command curl --max-time "${CURL_MAX_TIME:-30}" "$@"; }

# fail MESSAGE: report and stop the test.
fail() {
	_failed=1
	echo "FAIL $TEST_NAME: $*" >&2
	local f
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "  --- last lines of $f:" >&2
		tail -n 15 "$f" | sed 's/^/  | /' >&2
	done
	exit 1
}

# skip REASON: the machine cannot run this test.
skip() {
	echo "SKIP $TEST_NAME: $*" >&2
	exit 77
}

# assert_eq EXPECTED GOT WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# assert_match REGEX GOT WHAT
assert_match() {
	[[ "$2" =~ $1 ]] || fail "$3: expected to match /$1/, got '$2'"
}

# free_port: a TCP port nothing listens on right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bg NAME CMD...: runs CMD in the background, output in $T/NAME.log.
bg() {
	local name=$1
	shift
	"$@" >"$T/$name.log" 2>&1 &
	_bg_pids+=($!)
	eval "PID_$(echo "$name" | tr -c 'A-Za-z0-9_\n' _)=$!"
}

# wait_for SECONDS CMD...: retries CMD every 0.05 s until it succeeds.
wait_for() {
	local secs=$1
	shift
	local end=$((SECONDS + secs))
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
	return 0
}

# start_agent NAME CONF [ARGS...]: runs vantaged -d -f CONF as NAME and
# waits until it logs that it is ready.  Its pid is in $PID_NAME.
start_agent() {
	local name=$1 conf=$2
	shift 2
	bg "$name" "$VANTAGED" -d -f "$conf" "$@"
	wait_for 10 grep -q "ready" "$T/$name.log" ||
	    fail "agent $name did not become ready"
}

# stop_agent NAME: SIGTERM and wait; fails the test on a bad exit status.
stop_agent() {
	local name=$1 pidvar
	pidvar="PID_$(echo "$name" | tr -c 'A-Za-z0-9_\n' _)"
	local pid=${!pidvar}
	kill -TERM "$pid" 2>/dev/null
	kill -CONT "$pid" 2>/dev/null
	# bounded: an agent still running after 30 s is killed (and fails)
	local end=$((SECONDS + 30)) rc=0
	while kill -0 "$pid" 2>/dev/null &&
	    [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ] &&
	    [ $SECONDS -lt $end ]; do
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" || rc=$?
	[ $rc -eq 0 ] || fail "agent $name exited with $rc after SIGTERM"
}

# sql DB QUERY: one query through the sqlite3 shell.
sql() {
	sqlite3 -cmd ".timeout 5000" "$1" "$2"
}

# agent_conf FILE DATA_DIR API_PORT: writes the [agent]/[api] head of a
# config; the test appends its own sections.
agent_conf() {
	cat >"$1" <<EOC
[agent]
name = ${AGENT_NAME:-test}
data_dir = $2
[api]
listen = 127.0.0.1:$3
EOC
}

# probe_lateness DB T0 T1 [INTERVAL_MS]: "p50|p99|max|runs" of how late
# probe runs started between T0 and T1 (ms): each probe's gap between
# consecutive starts minus its interval (default 100), from the stored
# results.  For the benchmarks' "the loop does not wait" figures.
probe_lateness() {
	sql "$1" "
	WITH g AS (SELECT t_ms - lag(t_ms) OVER (PARTITION BY probe_id
	    ORDER BY t_ms) - ${4:-100} AS d FROM result WHERE t_ms >= $2 AND
	    t_ms < $3),
	v AS (SELECT max(d, 0) AS d FROM g WHERE d IS NOT NULL),
	n AS (SELECT count(*) AS c FROM v)
	SELECT (SELECT d FROM v ORDER BY d LIMIT 1 OFFSET (SELECT c / 2 FROM n)),
	    (SELECT d FROM v ORDER BY d LIMIT 1 OFFSET (SELECT c * 99 / 100 FROM n)),
	    (SELECT max(d) FROM v), (SELECT c FROM n)"
}

# new_token NAME ROLE: a fresh token for NAME, its line added to
# $T/tokens (kept private); the token is printed for the caller to keep.
new_token() {
	local out
	out=$("$VANTAGED" token "$1" "$2") || fail "vantaged token $1 $2 failed"
	echo "$out" | sed -n 's/^tokens file line: //p' >>"$T/tokens"
	chmod 600 "$T/tokens"
	echo "$out" | sed -n 's/^token: //p'
}

# tcp_listener NAME PORT: a loopback server that accepts every connection
# and closes it (a target for tcp probes); waits until it listens.
tcp_listener() {
	bg "$1" python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $2)); s.listen(512)
while True:
    c, _ = s.accept(); c.close()"
	wait_for 5 python3 -c "import socket; socket.create_connection(('127.0.0.1', $2))" ||
	    fail "listener $1 on port $2 did not start"
}

# haproxy_status SOCKET SERVER: the first word of SERVER's status in
# HAProxy's `show stat` (UP, DOWN, DRAIN, MAINT, ...).
haproxy_status() {
	python3 - "$1" "$2" <<'EOP'
import csv, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
for r in csv.DictReader(data.decode().lstrip("# ").splitlines()):
    if r["svname"] == sys.argv[2]:
        print(r["status"].split()[0])
        break
EOP
}

# nginx_start NAME WORKERS: a private nginx (config $T/NAME.conf, logs
# $T/NAME-error.log) whose http-level directives and server blocks come on
# stdin; pid, logs, temp paths and the worker user are set here.  The
# caller waits for its port.
nginx_start() {
	local name=$1 workers=$2 t
	mkdir -p "$T/$name-tmp"
	{
		# workers of a root master would run as nobody and not read $T
		[ "$(id -u)" -eq 0 ] && echo "user $(id -un) $(id -gn);"
		echo "worker_processes $workers;"
		echo "pid $T/$name.pid;"
		echo "error_log $T/$name-error.log warn;"
		echo "events { worker_connections 8192; }"
		echo "http {"
		echo "	access_log off;"
		echo "	default_type text/plain;"
		echo "	client_body_temp_path $T/$name-tmp/body;"
		for t in proxy fastcgi uwsgi scgi; do
			echo "	${t}_temp_path $T/$name-tmp/$t;"
		done
		cat
		echo "}"
	} >"$T/$name.conf"
	bg "$name" nginx -p "$T/" -e "$T/$name-error.log" -c "$T/$name.conf" \
	    -g 'daemon off;'
}
