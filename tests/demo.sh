#!/bin/sh
# demo.sh - `make demo`: a vantaged on loopback with the built-in demo
# config and the console on it; quitting the console stops the agent.
#
# The built-in config has no secrets of its own; it takes the tokens in
# DATA_DIR/tokens when present.  The demo points XDG_STATE_HOME at a
# temporary directory, puts a token made by `vantaged token` there, and
# removes everything afterwards.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
VANTAGED=${VANTAGED:-$TOP/agent/vantaged}
VANTAGE=${VANTAGE:-$TOP/console/vantage}
D=$(mktemp -d "${TMPDIR:-/tmp}/vantage-demo.XXXXXX")
agent=""

cleanup() {
	if [ -n "$agent" ]; then
		kill -TERM "$agent" 2>/dev/null || true
		wait "$agent" 2>/dev/null || true
	fi
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for b in "$VANTAGED" "$VANTAGE"; do
	[ -x "$b" ] || { echo "demo: $b is not built (run make)" >&2; exit 1; }
done

if [ -e /etc/vantage/vantaged.conf ]; then
	echo "demo: /etc/vantage/vantaged.conf exists, so vantaged would run" \
	    "it instead of the built-in demo config; stop that agent and" \
	    "move the file away to run the demo" >&2
	exit 1
fi
mkdir -p "$D/state/vantage"
chmod 700 "$D/state/vantage"
out=$("$VANTAGED" token demo operator)
token=$(printf '%s\n' "$out" | sed -n 's/^token: //p')
printf '%s\n' "$out" | sed -n 's/^tokens file line: //p' >"$D/state/vantage/tokens"
chmod 600 "$D/state/vantage/tokens"

XDG_STATE_HOME="$D/state" "$VANTAGED" -d >"$D/agent.log" 2>&1 &
agent=$!
i=0
while ! grep -q ready "$D/agent.log" 2>/dev/null; do
	if ! kill -0 "$agent" 2>/dev/null || [ $i -ge 100 ]; then
		echo "demo: the agent did not start:" >&2
		cat "$D/agent.log" >&2
		agent=""
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
listen=$(sed -n 's/.*api: listening on \([^ ]*\).*/\1/p' "$D/agent.log" | head -1)
umask 077
printf '[agent "demo"]\nurl = http://%s\ntoken = %s\n' "$listen" "$token" \
    >"$D/vantage.conf"
echo "demo: agent on $listen (log in $D/agent.log); starting the console"
"$VANTAGE" -c "$D/vantage.conf"
