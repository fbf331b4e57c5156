#!/bin/bash
# make install DESTDIR=...: every file in place, every man page lint-clean,
# the unit verifies against the installed binary and pages; make
# uninstall removes them again.
. "$(dirname "$0")/lib.sh"

root="$T/root"
make -s -C "$TOP" install DESTDIR="$root" PREFIX=/usr/local >"$T/install.log" 2>&1 ||
    fail "make install failed"
for f in usr/local/bin/vantage usr/local/sbin/vantaged \
    usr/local/share/man/man1/vantage.1 usr/local/share/man/man5/vantage.conf.5 \
    usr/local/share/man/man5/vantaged.conf.5 usr/local/share/man/man7/vantage-api.7 \
    usr/local/share/man/man8/vantaged.8 usr/local/lib/systemd/system/vantaged.service \
    usr/local/lib/sysusers.d/vantaged.conf etc/vantage/vantaged.conf.example \
    etc/vantage/vantage.conf.example \
    usr/local/share/vantage/prometheus/prometheus.yml \
    usr/local/share/vantage/prometheus/vantage-rules.yml; do
	[ -f "$root/$f" ] || fail "missing after install: /$f"
done
[ -x "$root/usr/local/sbin/vantaged" ] || fail "vantaged not executable"
for m in "$root"/usr/local/share/man/man*/*; do
	out=$(mandoc -Tlint -Wwarning "$m" 2>&1) || fail "mandoc -Tlint $m: $out"
done
unit="$root/usr/local/lib/systemd/system/vantaged.service"
grep -q "^ExecStart=/usr/local/sbin/vantaged -d" "$unit" || fail "unit ExecStart path not substituted"
# verify against the installed tree: point the unit's paths into DESTDIR
sed "s|/usr/local/sbin|$root/usr/local/sbin|g" "$unit" >"$T/vantaged.service"
out=$(MANPATH="$root/usr/local/share/man" systemd-analyze verify "$T/vantaged.service" 2>&1) ||
    fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
level=$(systemd-analyze security --offline=true "$T/vantaged.service" 2>/dev/null |
    sed -n 's/.*Overall exposure level for vantaged.service: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || fail "no exposure level from systemd-analyze security"
awk -v l="$level" 'BEGIN { exit !(l < 2.0) }' || fail "exposure level $level, expected < 2.0"
# the installed agent runs and checks the example config
out=$("$root/usr/local/sbin/vantaged" -n -f "$root/etc/vantage/vantaged.conf.example" 2>&1) ||
    fail "example config refused: $out"

# a second install keeps an operator's own config untouched
echo "; mine" >"$root/etc/vantage/vantaged.conf"
make -s -C "$TOP" install DESTDIR="$root" PREFIX=/usr/local >>"$T/install.log" 2>&1 ||
    fail "second make install failed"
assert_eq "; mine" "$(cat "$root/etc/vantage/vantaged.conf")" "operator config after reinstall"

make -s -C "$TOP" uninstall DESTDIR="$root" PREFIX=/usr/local >>"$T/install.log" 2>&1 ||
    fail "make uninstall failed"
left=$(cd "$root" && find . -type f | sort | tr '\n' ' ')
assert_eq "./etc/vantage/vantaged.conf " "$left" "files left after uninstall"
exit 0
