#!/bin/sh
# selftest.sh: a quick check of the benchmark tools, run by "make bench".
#
# Starts echo-sm on a free loopback port, drives it with smload at
# concurrency 1, 8 and 64 for BENCH_SECONDS each (2 by default), then
# pipelined, with reconnects and threads, and over a unix socket.  Checks
# that the counts add up (sent = replies + unfinished), that every reply is
# the expected one and that nothing failed; then stops the servers and
# checks their own counts; then smload's -R and -i, and that smtpload and
# noop-milter refuse addresses off loopback.  Output is TAP.  It measures
# nothing worth publishing: run.sh and baseline.sh do that.
set -u

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
SMLOAD=${SMLOAD:-$top_builddir/tests/bench/smload}
ECHO_SM=${ECHO_SM:-$top_builddir/tests/bench/echo-sm}
SMTPLOAD=${SMTPLOAD:-$top_builddir/tests/bench/smtpload}
NOOP=${NOOP:-$top_builddir/tests/bench/noop-milter}
SECS=${BENCH_SECONDS:-2}

for prog in "$SMLOAD" "$ECHO_SM"; do
	if [ ! -x "$prog" ]; then
		echo "Bail out! $prog is not built (run: make bench)"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smbench.XXXXXX") || exit 1
pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT HUP TERM

n=0
fails=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
notok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $1"
	[ -f "$tmp/out" ] && sed 's/^/#   /' "$tmp/out"
}

# A number from smload's JSON; its key names are unique.
field() {
	sed -n "s/.*\"$1\": *\([0-9.a-z]*\).*/\1/p" "$tmp/out"
}

# start_echo NAME ARGS...: start echo-sm with a lifetime cap, set
# $server_pid, wait up to 5 s for its address and put it in $addr.
start_echo() {
	name=$1
	shift
	"$ECHO_SM" -T 120 -P "$tmp/$name.addr" "$@" \
	    >/dev/null 2>"$tmp/$name.err" &
	server_pid=$!
	pids="$pids $server_pid"
	i=0
	while [ ! -s "$tmp/$name.addr" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	addr=$(cat "$tmp/$name.addr" 2>/dev/null)
	[ -n "$addr" ]
}

# run DESCRIPTION KIND REQUESTS SMLOAD-ARGS...: one smload run, checked.
# REQUESTS 0 means a timed run: at most one request per connection may
# then be left unfinished.
run() {
	desc=$1 kind=$2 want=$3
	shift 3
	"$SMLOAD" --json "$@" >"$tmp/out" 2>&1
	rc=$?
	sent=$(field sent)
	replies=$(field replies)
	unfinished=$(field unfinished)
	errors=$(field errors_total)
	lost=$(field lost)
	unexpected=$(field unexpected)
	count=$(field "$kind")
	why=
	[ "$rc" -eq 0 ] || why="$why exit $rc;"
	[ -n "$replies" ] || { notok "$desc: no report"; return; }
	[ "$errors" = 0 ] && [ "$lost" = 0 ] && [ "$unexpected" = 0 ] ||
	    why="$why errors;"
	[ "$sent" -eq $((replies + unfinished)) ] || why="$why counts;"
	[ "$count" = "$replies" ] || why="$why not all $kind;"
	[ "$replies" -gt 0 ] || why="$why no replies;"
	if [ "$want" -gt 0 ]; then
		[ "$replies" -eq "$want" ] || why="$why $replies != $want;"
	fi
	if [ -z "$why" ]; then
		ok "$desc: $replies replies, $(field requests_per_s)/s"
		total=$((total + replies))
		total_sent=$((total_sent + sent))
	else
		notok "$desc:$why"
	fi
}

total=0
total_sent=0
if ! start_echo echo -l inet:127.0.0.1:0 -t 1; then
	echo "Bail out! echo-sm did not start: $(cat "$tmp/echo.err")"
	exit 1
fi
ok "echo-sm listening on $addr"

for c in 1 8 64; do
	run "concurrency $c for ${SECS}s" NOTFOUND 0 \
	    -c "$c" -n 0 -T "$SECS" -e "NOTFOUND " "$addr"
done
run "pipelined, 8 connections x 16" NOTFOUND 100000 \
    -c 8 -d 16 -n 100000 -T 30 "$addr"
run "2 threads, cold keys, reconnect every 100" NOTFOUND 50000 \
    -c 64 -t 2 -n 50000 -T 30 -r 100 -k "cold:d%d.bench.test" "$addr"
if [ "$(field reconnects)" -ge 436 ] 2>/dev/null; then
	ok "planned reconnects counted ($(field reconnects))"
else
	notok "planned reconnects: $(field reconnects), want >= 436"
fi
run "uniform keys, custom map" NOTFOUND 20000 \
    -c 4 -n 20000 -T 30 -m other -k "uniform:1000:u%d.bench.test" "$addr"

# The server's own tally must match what smload saw: it answered every
# reply smload read, and at most every request smload sent.
rm -f "$tmp/out"
kill -TERM "$server_pid"
wait "$server_pid"
served=$(sed -n 's/.*requests \([0-9]*\).*/\1/p' "$tmp/echo.err")
if grep -q 'malformed 0$' "$tmp/echo.err" && [ "$served" -ge "$total" ] &&
    [ "$served" -le "$total_sent" ]; then
	ok "echo-sm answered $served requests, none malformed"
else
	notok "echo-sm tally: $(cat "$tmp/echo.err"); smload read $total" \
	    "replies of $total_sent requests"
fi

if start_echo unix -l "unix:$tmp/sock" -r "OK secure match=.test"; then
	run "unix socket, OK replies" OK 10000 -c 8 -n 10000 -T 30 \
	    -e "OK secure match=.test" "$addr"
	kill -TERM "$server_pid"
	wait "$server_pid"
else
	notok "echo-sm on a unix socket did not start"
fi

# -R: a TEMP reply is asked again; nothing is final, so nothing is timed.
if start_echo temp -l inet:127.0.0.1:0 -r "TEMP pending"; then
	"$SMLOAD" --json -c 2 -n 2 -T 0.5 -R 10 "$addr" >"$tmp/out" 2>&1
	retries=$(field retries)
	if [ "$(field answered)" = 0 ] && [ "${retries:-0}" -ge 20 ] &&
	    [ "$(field sent)" -eq "$(( $(field replies) + $(field unfinished) ))" ]; then
		ok "-R: TEMP asked again ($retries retries), never final"
	else
		notok "-R: answered $(field answered), retries $retries"
	fi
	kill -TERM "$server_pid"
	wait "$server_pid"
else
	notok "echo-sm for TEMP replies did not start"
fi
# -i: 10 lock-step requests with 20 ms between them take at least 180 ms.
if start_echo pause -l inet:127.0.0.1:0; then
	"$SMLOAD" --json -c 1 -n 10 -T 5 -i 20 "$addr" >"$tmp/out" 2>&1
	if [ "$(field replies)" = 10 ] && awk -v e="$(field elapsed_s)" \
	    'BEGIN { exit !(e >= 0.18 && e < 3) }'; then
		ok "-i: 10 requests 20 ms apart in $(field elapsed_s) s"
	else
		notok "-i: $(field replies) replies in $(field elapsed_s) s"
	fi
	kill -TERM "$server_pid"
	wait "$server_pid"
else
	notok "echo-sm for -i did not start"
fi
if "$SMLOAD" -d 2 -R 5 -n 1 "inet:127.0.0.1:1" >"$tmp/out" 2>&1; then
	notok "-R with -d 2 accepted"
else
	ok "-R needs lock-step (-d 1)"
fi
if [ -x "$SMTPLOAD" ] && ! "$SMTPLOAD" -n 1 -T 1 -r a@b.test \
    inet:192.0.2.1:25 >"$tmp/out" 2>&1 && grep -q 'not a loopback' "$tmp/out"; then
	ok "smtpload refuses a non-loopback target"
else
	notok "smtpload and a non-loopback target"
fi
if [ -x "$NOOP" ] && ! "$NOOP" -T 1 -p inet:2999@192.0.2.1 >"$tmp/out" 2>&1 &&
    grep -q 'only inet:PORT@127.x' "$tmp/out"; then
	ok "noop-milter refuses a non-loopback address"
else
	notok "noop-milter and a non-loopback address"
fi

if "$SMLOAD" -n 1 -T 1 inet:192.0.2.1:2600 >"$tmp/out" 2>&1; then
	notok "non-loopback target accepted"
elif grep -q 'not a loopback address' "$tmp/out"; then
	ok "non-loopback target refused"
else
	notok "non-loopback target: unexpected failure"
fi

if "$SMLOAD" --json -n 5 -T 1 "inet:127.0.0.1:1" >"$tmp/out" 2>&1; then
	notok "a closed port gave no error"
elif [ "$(field connect)" -gt 0 ] 2>/dev/null; then
	ok "a closed port is counted ($(field connect) connect failures)"
else
	notok "a closed port: connect failures not counted"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
