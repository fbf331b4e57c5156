#!/usr/bin/env bash
# bench_floods.sh - the hostile-client floods of make check, run long:
# 600 idle reconnecting connections on the agent-check port for 60 s
# (a real HAProxy must still see a drain within one agent-inter), and
# 40,000 refused drains from 50 addresses (audit growth, chain verified).
# Prints the figures the tests print; exits non-zero when one fails.
cd "$(dirname "$0")/../.." || exit 1
echo "-- agent-check flood, ${FLOOD_SECONDS:-60} s"
FLOOD_SECONDS=${FLOOD_SECONDS:-60} bash tests/integration/test_haproxy_flood.sh || exit 1
echo "-- refused drains, ${FLOOD_REQUESTS:-40000} from 50 addresses"
FLOOD_REQUESTS=${FLOOD_REQUESTS:-40000} bash tests/integration/test_audit_flood.sh || exit 1
