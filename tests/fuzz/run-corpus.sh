#!/bin/sh
# run-corpus.sh: part of "make check".  Runs every fuzz target over its seed
# corpus once, so the inputs that found bugs before keep being replayed in
# the plain and the sanitizer builds.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
rc=0
n=0

for src in "$top_srcdir"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	n=$((n + 1))
	bin="$top_builddir/tests/fuzz/$name"
	corpus="$top_srcdir/tests/fuzz/corpus/$name"
	if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
		echo "not ok $n - $name: no seed corpus in $corpus"
		rc=1
	elif "$bin" "$corpus" >/dev/null; then
		echo "ok $n - $name replays $(ls "$corpus" | wc -l) seeds"
	else
		echo "not ok $n - $name failed on its corpus"
		rc=1
	fi
done
echo "1..$n"
exit $rc
