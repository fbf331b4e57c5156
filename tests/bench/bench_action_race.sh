#!/bin/bash
# The long version of test_action_deadline's race (e): ROUNDS (100) rounds
# of two concurrent `vantage drain` batches of two routes each of one pool
# (min_active 1, 4 routes), every round checked on /v1/routes and on
# HAProxy's stats socket (the accepted batch's servers DRAIN, the others
# UP).  Prints the time it took; exits non-zero if a batch was ever half
# applied, both or neither were accepted, or HAProxy disagreed.
#   ROUNDS=500 bash tests/bench/bench_action_race.sh
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-100}
start=$(date +%s)
ROUNDS=$ROUNDS HA_ROUNDS=$ROUNDS bash "$TOP/tests/integration/test_action_deadline.sh"
rc=$?
[ $rc -eq 0 ] && echo "bench_action_race: $ROUNDS rounds through HAProxy, all or nothing every time ($(( $(date +%s) - start )) s)"
exit $rc
