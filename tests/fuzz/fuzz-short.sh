#!/bin/sh
# fuzz-short.sh BUILDDIR: run every libFuzzer target of a --enable-fuzzing
# build for FUZZ_SECONDS (default 20) each, starting from its seed corpus.
# New inputs go to a scratch directory, never into the source tree.  Exits
# non-zero when a target crashes, leaks or times out; the reproducer is kept
# in the scratch directory and its path printed.
set -u

build=${1:?usage: fuzz-short.sh BUILDDIR}
here=$(cd "$(dirname "$0")" && pwd)
seconds=${FUZZ_SECONDS:-20}
scratch=$(mktemp -d /tmp/mtasts-fuzz.XXXXXX)
rc=0

for src in "$here"/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin="$build/tests/fuzz/$name"
	if [ ! -x "$bin" ]; then
		echo "not ok - $name: $bin was not built"
		rc=1
		continue
	fi
	mkdir -p "$scratch/$name/corpus" "$scratch/$name/artifacts"
	seeds="$here/corpus/$name"
	[ -d "$seeds" ] || seeds=""
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 \
	    -artifact_prefix="$scratch/$name/artifacts/" \
	    "$scratch/$name/corpus" $seeds >"$scratch/$name/log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$scratch/$name/log")
		echo "ok - $name: ${execs:-?} runs in ${seconds}s"
	else
		echo "not ok - $name: see $scratch/$name/log"
		tail -n 40 "$scratch/$name/log"
		rc=1
	fi
done

[ $rc -eq 0 ] && rm -rf "$scratch"
exit $rc
