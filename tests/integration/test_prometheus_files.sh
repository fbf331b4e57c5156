#!/bin/bash
# The shipped Prometheus scrape config and alert rules pass promtool.
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"
rules="$TOP/agent/prometheus/vantage-rules.yml"
out=$(promtool check rules "$rules" 2>&1) || fail "promtool check rules: $out"
assert_match "SUCCESS: 7 rules found" "$out" "rules found"
echo "dummy" >"$T/token"
sed -e "s|/etc/prometheus/vantage-rules.yml|$rules|" \
    -e "s|/etc/prometheus/vantage.token|$T/token|" \
    "$TOP/agent/prometheus/prometheus.yml" >"$T/prometheus.yml"
out=$(promtool check config "$T/prometheus.yml" 2>&1) || fail "promtool check config: $out"
exit 0
