#!/bin/sh
# baseline.sh: measure the echo-sm baseline, the figures to publish next
# to any real map server.  For each concurrency in CONCURRENCY, RUNS timed
# runs of SECS seconds each against one echo-sm on loopback; prints every
# run and the median of each column: requests/s, p50 and p99 latency, and
# the CPU used by the generator (smload), by the server (echo-sm) and by
# everything else on the machine, where 100% is one core.  A run with much
# "other" CPU measured the neighbours as much as the server: rerun it.
#
# Environment: CONCURRENCY ("1 8 64"), RUNS (3, odd), SECS (5),
# SMLOAD_ARGS (extra smload options, e.g. "-t 2" or "-d 16"), ECHO_ARGS
# (extra echo-sm options, e.g. "-t 2"), LISTEN (inet:127.0.0.1:0).
set -u

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
SMLOAD=${SMLOAD:-$top_builddir/tests/bench/smload}
ECHO_SM=${ECHO_SM:-$top_builddir/tests/bench/echo-sm}
CONCURRENCY=${CONCURRENCY:-1 8 64}
RUNS=${RUNS:-3}
SECS=${SECS:-5}
SMLOAD_ARGS=${SMLOAD_ARGS:-}
ECHO_ARGS=${ECHO_ARGS:-}
LISTEN=${LISTEN:-inet:127.0.0.1:0}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smbase.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT HUP TERM

# Lifetime cap: every run plus slack, so the server cannot be forgotten.
life=$(( $(echo "$CONCURRENCY" | wc -w) * RUNS * (SECS + 2) + 30 ))
# shellcheck disable=SC2086
"$ECHO_SM" -T "$life" -l "$LISTEN" -P "$tmp/addr" $ECHO_ARGS \
    >/dev/null 2>"$tmp/echo.err" &
pid=$!
i=0
while [ ! -s "$tmp/addr" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
addr=$(cat "$tmp/addr" 2>/dev/null) || {
	echo "baseline: echo-sm did not start: $(cat "$tmp/echo.err")" >&2
	exit 1
}
hz=$(getconf CLK_TCK)

# CPU ticks (user + system) used so far by the server.
srv_ticks() {
	sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'
}
# CPU ticks used so far by the whole machine, all CPUs, idle excluded.
all_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}
field() {
	sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p" "$tmp/out"
}
median() {
	sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

echo "echo-sm $ECHO_ARGS on $addr; smload $SMLOAD_ARGS, ${SECS}s x $RUNS" \
    "runs; $(nproc) CPUs, $(uname -sr)"
fmt='%5s %6s %10s %9s %9s %6s %6s %7s\n'
# shellcheck disable=SC2059
printf "$fmt" conc run 'req/s' 'p50 us' 'p99 us' 'gen %' 'srv %' 'other %'
rc=0
for c in $CONCURRENCY; do
	: >"$tmp/rows"
	r=1
	while [ $r -le "$RUNS" ]; do
		t0=$(srv_ticks)
		a0=$(all_ticks)
		# shellcheck disable=SC2086
		"$SMLOAD" --json -c "$c" -n 0 -T "$SECS" $SMLOAD_ARGS \
		    "$addr" >"$tmp/out" || {
			echo "baseline: smload failed: $(cat "$tmp/out")" >&2
			rc=1
		}
		t1=$(srv_ticks)
		a1=$(all_ticks)
		row=$(awk -v t="$((t1 - t0))" -v a="$((a1 - a0))" \
		    -v hz="$hz" -v s="$(field elapsed_s)" \
		    -v rate="$(field requests_per_s)" -v p50="$(field p50)" \
		    -v p99="$(field p99)" -v gen="$(field percent)" 'BEGIN {
			srv = 100 * t / hz / s
			other = 100 * a / hz / s - srv - gen
			printf "%.0f %.1f %.1f %.0f %.0f %.0f", rate, p50,
			    p99, gen, srv, other < 0 ? 0 : other
		    }')
		echo "$row" >>"$tmp/rows"
		# shellcheck disable=SC2059,SC2086
		printf "$fmt" "$c" "$r" $row
		r=$((r + 1))
	done
	med=
	for col in 1 2 3 4 5 6; do
		med="$med $(cut -d' ' -f$col "$tmp/rows" | median)"
	done
	# shellcheck disable=SC2059,SC2086
	printf "$fmt" "$c" median $med
done
exit $rc
