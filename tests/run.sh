#!/bin/sh
# Runs every test and ends with one line "N passed, N failed".
#  - unit tests (cmocka), normal and ASan+UBSan builds
#  - integration tests (tests/integration/test_*.sh) against the
#    ASan+UBSan builds of vantaged and vantage
#  - each fuzz target briefly over its corpus
# A test script exits 0 (pass), 77 (skip, reason printed) or other (fail);
# one that runs past TEST_TIMEOUT seconds (default 300) fails.
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
pass=0 failn=0 skipn=0
failed=""
export VANTAGED="$TOP/build/asan/vantaged"
export VANTAGE="$TOP/build/asan/vantage"
export ASAN_OPTIONS="detect_leaks=1:exitcode=86"
export LSAN_OPTIONS="suppressions=$TOP/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
mkdir -p build/test-logs

run() {	# NAME CMD...
	name=$1
	shift
	log="build/test-logs/$(echo "$name" | tr '/ ' '__').log"
	start=$(date +%s)
	# bounded: a test that hangs fails after TEST_TIMEOUT seconds (SIGTERM
	# to its process group, its cleanup runs, SIGKILL 20 s later) instead
	# of holding the whole run; stdin is never a terminal or an open pipe
	timeout -k 20 "${TEST_TIMEOUT:-300}" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(( $(date +%s) - start ))
	[ $rc -eq 124 ] && echo "  (timed out after ${TEST_TIMEOUT:-300}s)" >>"$log"
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok   $name (${secs}s)"
	elif [ $rc -eq 77 ]; then
		skipn=$((skipn + 1))
		echo "skip $name: $(grep -m1 '^SKIP' "$log" | sed 's/^SKIP [^:]*: //')"
	else
		failn=$((failn + 1))
		failed="$failed $name"
		echo "FAIL $name (exit $rc, ${secs}s); output:"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
}

for t in build/unit/test_* build/asan/unit/test_*; do
	[ -x "$t" ] || continue
	run "$t" "$t"
done
for t in tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	run "$t" bash "$t"
done
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	# new inputs go to build/, the committed seeds are only read
	mkdir -p "build/corpus/$n"
	corpus=""
	[ -d "tests/fuzz/corpus/$n" ] && corpus="tests/fuzz/corpus/$n"
	dict=""
	[ -f "tests/fuzz/$n.dict" ] && dict="-dict=tests/fuzz/$n.dict"
	run "$f" "$f" -max_total_time="${FUZZ_CHECK_SECONDS:-3}" $dict \
	    "build/corpus/$n" $corpus
done
[ $skipn -gt 0 ] && echo "($skipn skipped)"
echo "$pass passed, $failn failed"
[ $failn -eq 0 ]
