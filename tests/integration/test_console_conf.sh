#!/bin/bash
# vantage.conf read from key tables, checked as an operator would:
#  - one wrong agent entry (a token file others can read, a URL that is
#    not http(s), a misspelt key) marks that agent "config error:
#    FILE:LINE ..." in `vantage status` and in the fleet view, and the
#    good agent next to them is polled as usual; a drain there is not sent;
#  - `vantage -n` reports every error with file:line and "did you mean"
#    for misspelt keys and sections, exits 1; a good config exits 0;
#  - an error outside the agent entries ([consle]) still refuses to start;
#  - vantaged -n suggests too ("intervl: did you mean interval?");
#  - `vantage --help` and `vantaged --help` print usage and exit 0;
#  - a port in use: vantaged exits non-zero with "cannot listen on
#    127.0.0.1:PORT: address already in use", for [api] and [haproxy].
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"
need_tools jq tmux
cd "$T" || exit 1

P1=$(free_port)
new_token alice viewer
real_agent h1 "$P1"
printf '%s\n' "$TOKEN" >open.tok
chmod 644 open.tok
cat >v.conf <<EOC
[console]
refresh = 1s
[agent "good"]
url = http://127.0.0.1:$P1
token = $TOKEN
[agent "opentoken"]
url = http://127.0.0.1:$P1
token_file = $T/open.tok
[agent "ftp"]
url = ftp://127.0.0.1:$P1
[agent "typo"]
url = http://127.0.0.1:$P1
toekn = x
EOC
chmod 600 v.conf

# --- status: the bad entries are marked, the good one works -----------
rc=0
"$VANTAGE" -c v.conf status --json >st.json 2>st.err || rc=$?
[ $rc = 1 ] || fail "status with wrong entries: exit $rc, not 1"
st() { jq -r --arg n "$1" '.agents[] | select(.name == $n) | .'"$2" st.json; }
assert_eq ok "$(st good state)" "the good agent beside wrong entries"
assert_eq error "$(st opentoken state)" "a readable token file: state"
assert_match "^config error: v.conf:8: token_file: $T/open.tok: token file is readable by others \(mode 644\); run chmod 600 $T/open.tok$" \
    "$(st opentoken reason)" "a readable token file: reason"
assert_match "^config error: v.conf:10: 'ftp://127.0.0.1:$P1': only http:// and https:// URLs are supported" \
    "$(st ftp reason)" "a bad URL"
assert_match "^config error: v.conf:13: unknown key 'toekn' in \[agent \"typo\"\]: did you mean token\?$" \
    "$(st typo reason)" "a misspelt key"
grep -qF -- "$TOKEN" st.json st.err && fail "the token is shown"
# a change to a marked agent is never sent
rc=0
"$VANTAGE" -c v.conf drain ftp web --reason x >dr.out 2>dr.err || rc=$?
[ $rc = 1 ] || fail "drain on a marked agent: exit $rc, not 1"
assert_match "ftp: drain not applied \(not sent: config error: v.conf:10: " \
    "$(cat dr.err)" "drain on a marked agent"

# --- the fleet view: marked, and the rest runs ------------------------
tui_start 200 50 -- -c "$T/v.conf"
wait_screen 10 "good +ok "
wait_screen 5 "opentoken +error .*config error: $T/v.conf:8: token_file: "
wait_screen 5 "ftp +error .*config error: $T/v.conf:10: "
wait_screen 5 "typo +error .*config error: $T/v.conf:13: unknown key 'toekn'"
# the marked agent's own view says why it lists nothing
keys /
type_text ftp
keys Enter
keys Enter
wait_screen 5 "agent ftp error: config error: $T/v.conf:10: "
keys Escape
keys q
wait_for 5 test -s "$T/tui.exit" || fail "the TUI did not quit"
assert_eq "EXITED 0" "$(cat "$T/tui.exit")" "TUI exit"

# --- vantage -n: every error, file:line, suggestions -----------------
rc=0
"$VANTAGE" -n -c v.conf >n.out 2>n.err || rc=$?
[ $rc = 1 ] || fail "vantage -n on wrong entries: exit $rc, not 1"
assert_match "^v.conf:8: token_file: .*run chmod 600" "$(sed -n 1p n.err)" "-n line 1"
assert_match "^v.conf:10: 'ftp://" "$(sed -n 2p n.err)" "-n line 2"
assert_match "^v.conf:13: unknown key 'toekn' in \[agent \"typo\"\]: did you mean token\?$" \
    "$(sed -n 3p n.err)" "-n line 3"
assert_eq "vantage: configuration invalid" "$(sed -n 4p n.err)" "-n verdict"
chmod 600 open.tok
sed -i -e 's/^url = ftp:/url = http:/' -e 's/^toekn =/token =/' v.conf
out=$("$VANTAGE" -n -c v.conf 2>&1) || fail "vantage -n on a good config: $out"
assert_eq "vantage: v.conf: configuration OK (4 agents)" "$out" "-n OK"
# the command line is checked the same way
rc=0
out=$("$VANTAGE" -n --agent http://127.0.0.1:1 --token-file open.tok \
    --ca /nonexistent 2>&1) || rc=$?
[ $rc = 1 ] || fail "-n with a missing --ca: exit $rc"
assert_match "--agent 127.0.0.1:1: ca: /nonexistent: No such file" "$out" \
    "-n --ca"

# --- errors outside the agent entries refuse to start ----------------
printf '[consle]\nrefresh = 1s\n[agent "a"]\nurl = http://127.0.0.1:%s\n[console]\nrefersh = 2s\n' \
    "$P1" >bad.conf
rc=0
"$VANTAGE" -c bad.conf status >o 2>e || rc=$?
[ $rc = 1 ] || fail "unknown section: exit $rc, not 1"
assert_match "bad.conf:1: unknown section \[consle\]: did you mean \[console\]\?" \
    "$(cat e)" "section suggestion"
assert_match "bad.conf:6: unknown key 'refersh' in \[console\]: did you mean refresh\?" \
    "$(cat e)" "console key suggestion"
[ -s o ] && fail "status printed a table for a refused config"

# --- vantaged -n suggests as well -------------------------------------
printf '[agent]\nname = x\ndata_dir = %s/d\n[probe "p"]\ntype = tcp\ntarget = 127.0.0.1:1\nintervl = 5s\n[haproxxy]\n' \
    "$T" >a.conf
rc=0
out=$("$VANTAGED" -n -f a.conf 2>&1) || rc=$?
[ $rc = 1 ] || fail "vantaged -n: exit $rc"
assert_match "a.conf:7: unknown key 'intervl' in \[probe\]: did you mean interval\?" \
    "$out" "vantaged key suggestion"
assert_match "a.conf:8: unknown section \[haproxxy\]: did you mean \[haproxy\]\?" \
    "$out" "vantaged section suggestion"

# --- --help -----------------------------------------------------------
out=$("$VANTAGE" --help 2>/dev/null) || fail "vantage --help exited non-zero"
assert_match "^usage: vantage " "$out" "vantage --help"
assert_match "--ca file" "$out" "vantage --help names --ca"
out=$("$VANTAGED" --help 2>/dev/null) || fail "vantaged --help exited non-zero"
assert_match "^usage: vantaged " "$out" "vantaged --help"
assert_match "-n +check the configuration" "$out" "vantaged --help explains"
out=$("$VANTAGED" -d --help 2>/dev/null) || fail "vantaged -d --help"
rc=0
"$VANTAGED" --bogus >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "vantaged --bogus: exit $rc, not 2"

# --- a port in use ----------------------------------------------------
BUSY=$(free_port)
bg busy python3 -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', $BUSY)); s.listen(1); time.sleep(60)"
wait_for 5 python3 -c "import socket; socket.create_connection(('127.0.0.1', $BUSY))" ||
    fail "the busy port is not bound"
mkdir -p d
printf '[agent]\nname = x\ndata_dir = %s/d\n[api]\nlisten = 127.0.0.1:%s\n' \
    "$T" "$BUSY" >busy.conf
rc=0
timeout 20 "$VANTAGED" -d -f busy.conf >busy.out 2>&1 || rc=$?
[ $rc = 1 ] || fail "vantaged on a busy API port: exit $rc, not 1"
assert_match "cannot listen on 127.0.0.1:$BUSY: address already in use$" \
    "$(tail -1 busy.out)" "API port in use"
FREE=$(free_port)
printf '[agent]\nname = x\ndata_dir = %s/d\n[api]\nlisten = 127.0.0.1:%s\n[haproxy]\nlisten = 127.0.0.1:%s\n' \
    "$T" "$FREE" "$BUSY" >busy2.conf
rc=0
timeout 20 "$VANTAGED" -d -f busy2.conf >busy2.out 2>&1 || rc=$?
[ $rc = 1 ] || fail "vantaged on a busy agent-check port: exit $rc, not 1"
assert_match "cannot listen on 127.0.0.1:$BUSY: address already in use$" \
    "$(tail -1 busy2.out)" "agent-check port in use"
true
