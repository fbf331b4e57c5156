#!/bin/bash
# vantaged -n: a valid config exits 0; every kind of mistake exits 1 and
# names file:line; the built-in config is valid.
. "$(dirname "$0")/lib.sh"

cat >"$T/good.conf" <<EOC
[agent]
name = web-01
data_dir = $T/data
[probe "web"]
type = http
target = http://127.0.0.1:1/
interval = 10s
[probe "db"]
type = tcp
target = 127.0.0.1:5432
[route "web-eu"]
probe = web
EOC
out=$("$VANTAGED" -n -f "$T/good.conf" 2>&1) || fail "valid config refused: $out"
assert_match "configuration OK \(2 probes, 1 routes\)" "$out" "vantaged -n output"

check_bad() {	# LINE EXPECTED-TEXT (config on stdin)
	cat >"$T/bad.conf"
	local out rc=0
	out=$("$VANTAGED" -n -f "$T/bad.conf" 2>&1) || rc=$?
	[ $rc -eq 1 ] || fail "bad config (line $1, $2) exited $rc, expected 1: $out"
	[[ "$out" == *"$T/bad.conf:$1: "*"$2"* ]] ||
	    fail "expected '$T/bad.conf:$1: ...$2' in: $out"
}

check_bad 3 "unknown key 'colour'" <<EOC
[probe "a"]
type = tcp
colour = blue
target = 127.0.0.1:1
EOC
check_bad 4 "is not a duration" <<EOC
[probe "a"]
type = tcp
target = 127.0.0.1:1
interval = soon
EOC
check_bad 4 "duplicate probe 'a'" <<EOC
[probe "a"]
type = tcp
target = 127.0.0.1:1
[probe "a"]
type = tcp
target = 127.0.0.1:2
EOC
check_bad 2 "target 'nohost' needs a port" <<EOC
[probe "a"]
target = nohost
type = tcp
EOC
check_bad 1 "has no target" <<EOC
[probe "a"]
type = http
EOC

# -n also loads the files [api] names: a tokens file others can read is
# refused before any restart
"$VANTAGED" token ops viewer | sed -n 's/^tokens file line: //p' >"$T/tokens"
chmod 644 "$T/tokens"
printf '[api]\ntokens = %s\n' "$T/tokens" >"$T/tok.conf"
out=$("$VANTAGED" -n -f "$T/tok.conf" 2>&1) && fail "world-readable tokens accepted by -n"
assert_match "chmod 600" "$out" "tokens secrecy message"
chmod 600 "$T/tokens"
out=$("$VANTAGED" -n -f "$T/tok.conf" 2>&1) || fail "private tokens refused: $out"

# the running config is untouched by a check
out=$("$VANTAGED" -n -f "$T/missing.conf" 2>&1) && fail "missing file accepted"
assert_match "missing.conf: No such file" "$out" "missing file message"

# an empty file is a valid config (no probes)
out=$(HOME=$T XDG_STATE_HOME=$T/state "$VANTAGED" -n -f /dev/null 2>&1) ||
    fail "empty config refused: $out"
# with no file at all, the built-in demo config is used and valid
if [ ! -e /etc/vantage/vantaged.conf ]; then
	out=$(HOME=$T XDG_STATE_HOME=$T/state "$VANTAGED" -n 2>&1) ||
	    fail "built-in config refused: $out"
	assert_match "built-in config: configuration OK" "$out" "built-in"
fi
exit 0
