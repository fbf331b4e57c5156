#!/bin/sh
# demo.sh - `make demo`: a vantaged on loopback with the built-in demo
# config and the console on it; quitting the console stops the agent.
#
# The built-in config has no tokens file, and the API answers nothing
# without a credential, so the demo runs the built-in config's text (taken
# from agent/defconf.c, so the two never drift apart) plus `tokens =` and
# a token made by `vantaged token`.  Everything lives in a temporary
# directory (XDG_STATE_HOME points there too) that is removed afterwards.
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

# the C string literal of defconf_text, back to text, plus the tokens file
sed -n '/defconf_text\[\] =/,/;$/p' "$TOP/agent/defconf.c" |
    sed -n 's/^ *"\(.*\)\\n";\{0,1\}$/\1/p' | sed 's/\\"/"/g; s/\\\\/\\/g' |
    sed "/^\[api\]\$/a tokens = $D/tokens" >"$D/vantaged.conf"
grep -q '^\[api\]' "$D/vantaged.conf" || {
	echo "demo: could not read the built-in config from agent/defconf.c" >&2
	exit 1
}
out=$("$VANTAGED" token demo operator)
token=$(printf '%s\n' "$out" | sed -n 's/^token: //p')
printf '%s\n' "$out" | sed -n 's/^tokens file line: //p' >"$D/tokens"
chmod 600 "$D/tokens"
"$VANTAGED" -n -f "$D/vantaged.conf" >/dev/null

XDG_STATE_HOME="$D/state" "$VANTAGED" -d -f "$D/vantaged.conf" \
    >"$D/agent.log" 2>&1 &
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
listen=$(sed -n '/^\[api\]$/,/^\[/s/^listen = //p' "$D/vantaged.conf" |
    head -1)
umask 077
printf '[agent "demo"]\nurl = http://%s\ntoken = %s\n' "$listen" "$token" \
    >"$D/vantage.conf"
echo "demo: agent on $listen (log in $D/agent.log); starting the console"
"$VANTAGE" -c "$D/vantage.conf"
