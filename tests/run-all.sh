#!/bin/bash
# run-all.sh: set everything up and run every test.  This is the README's
# test command and what .ci/run calls.
#
#   1. install the Debian packages (tests/setup-deps.sh)
#   2. build with warnings as errors and run "make check"
#   3. build again with ASan+UBSan and run the unit tests a second time
#   4. build the libFuzzer targets with clang and fuzz each for a bounded time
#   5. make distcheck
#   6. the loopback lab tests (real DNS, real HTTPS), when tests/lab exists
#
# Environment: FUZZ_SECONDS (default 20 per target), BUILD (default
# ./build), SKIP_DISTCHECK=1 to skip step 5 while developing.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
failures=""

note()	{ printf '\n=== %s\n' "$*"; }
count()	{
	# Add the counts of an automake test-suite.log to the totals.
	local log=$1 p f
	p=$(sed -n 's/^# PASS: *\([0-9]*\).*/\1/p' "$log" | head -n 1)
	# A skipped test is a failure here: the full run must run everything.
	f=$(sed -n 's/^# \(FAIL\|ERROR\|XPASS\|SKIP\): *\([0-9]*\).*/\2/p' "$log" |
	    awk '{s += $1} END {print s + 0}')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}
stage()	{
	# stage NAME CMD...: run one step; a failing step counts as one failure.
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $name"
		echo "FAILED: $name"
	fi
}

note "dependencies"
"$top/tests/setup-deps.sh" || { echo "cannot install dependencies"; exit 1; }

note "autoreconf"
(cd "$top" && autoreconf -fi) >/dev/null || { echo "autoreconf failed"; exit 1; }

configure_in() {
	local dir=$1
	shift
	rm -rf "$dir"
	mkdir -p "$dir" && (cd "$dir" && "$top/configure" -q "$@")
}

check_in() {
	# make check in a build dir, counting its tests even when one fails.
	local dir=$1 rc
	(cd "$dir" && make -j"$jobs" check >make-check.out 2>&1)
	rc=$?
	if [ -f "$dir/test-suite.log" ]; then
		count "$dir/test-suite.log"
		sed -n '/^# TOTAL/,/^# ERROR/p' "$dir/test-suite.log"
	fi
	if [ $rc -ne 0 ]; then
		tail -n 60 "$dir/make-check.out"
		[ -f "$dir/test-suite.log" ] && grep -A30 '^FAIL\|^ERROR' \
		    "$dir/test-suite.log" | head -n 120
		return 1
	fi
}

note "build (warnings are errors) and make check"
if configure_in "$build/default" --enable-werror &&
    (cd "$build/default" && make -j"$jobs" >make.out 2>&1 ||
    { tail -n 40 make.out; false; }); then
	check_in "$build/default" || { failed=$((failed + 1)); failures="$failures make-check"; }
else
	failed=$((failed + 1)); failures="$failures build"
fi

note "sanitizer build (ASan + UBSan) and the unit tests again"
if configure_in "$build/sanitize" --enable-sanitizers --enable-werror &&
    (cd "$build/sanitize" && make -j"$jobs" >make.out 2>&1 ||
    { tail -n 40 make.out; false; }); then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	check_in "$build/sanitize" || { failed=$((failed + 1)); failures="$failures sanitize-check"; }
	unset ASAN_OPTIONS UBSAN_OPTIONS
else
	failed=$((failed + 1)); failures="$failures sanitize-build"
fi

note "fuzzing (clang + libFuzzer, ${FUZZ_SECONDS:-20} s per target)"
if command -v clang >/dev/null 2>&1; then
	if configure_in "$build/fuzz" CC=clang --enable-fuzzing &&
	    (cd "$build/fuzz" && make -j"$jobs" \
	    $(cd "$top" && ls tests/fuzz/fuzz_*.c | sed 's/\.c$//') >make.out 2>&1 ||
	    { tail -n 40 make.out; false; }); then
		stage fuzz "$top/tests/fuzz/fuzz-short.sh" "$build/fuzz"
	else
		failed=$((failed + 1)); failures="$failures fuzz-build"
	fi
else
	echo "clang is not installed: fuzzing cannot run"
	failed=$((failed + 1)); failures="$failures fuzz-no-clang"
fi

if [ "${SKIP_DISTCHECK:-0}" != 1 ]; then
	note "make distcheck"
	stage distcheck sh -c "cd '$build/default' && make -j$jobs distcheck >distcheck.out 2>&1 || { tail -n 60 distcheck.out; false; }"
fi

if [ -x "$top/tests/lab/run-lab-tests.sh" ]; then
	note "loopback lab tests"
	stage lab "$top/tests/lab/run-lab-tests.sh" "$build/default"
fi

note "summary"
[ -n "$failures" ] && echo "failed steps:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
