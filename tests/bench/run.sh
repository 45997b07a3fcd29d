#!/bin/bash
# run.sh - the published benchmarks (BENCHMARKS.md), one command, bounded time.
#
# Five scenarios, each measured against its baseline in the same run and
# reported as ratios; every figure is the median of BENCH_RUNS runs:
#   warm       socketmap lookups of 1000 cached domains at concurrency 1, 8,
#              64 (and one hot domain at 64): our map server, the C echo
#              server (echo-sm, the limit of the machine), the resolver
#   negative   lookups of a domain without MTA-STS and of one whose policy
#              fetch fails, against our warm figure and the resolver
#   cold       discovery of 1000 distinct lab domains (DNS + HTTPS) at
#              concurrency 50, empty caches and a flushed lab resolver
#   hol        the warm load while the policy host of stall.sts-lab.test
#              stalls: p99 of the other lookups with and without it
#   milter     messages/s and RCPT latency through real Postfix with our
#              milter (warm), with a no-op milter, and with none
#   footprint  RSS and start-up time of the daemon with 1k, 10k, 100k
#              policies in SQLite
#   profile    instructions per lookup and per discovery (callgrind), which
#              do not move with the load on the machine (needs valgrind)
# Everything runs in a lab network namespace (tests/lab, LAB_BULK=1000),
# brought up and torn down here.  Output: $BENCH_OUT/report.md (what
# BENCHMARKS.md is made from), raw.jsonl (every run), meta, logs/.
#
# Servers are asked in a different order in each round, so that a trend in
# the machine's load does not always favour the same one.
# Root only.  Typical duration: 15 minutes with the defaults.
#
# Env:
#   LAB, LAB_NETNS   lab state dir and namespace (default /tmp/mtasts-bench,
#                    mtasts-bench); an existing lab of that name is replaced
#   BENCH_RESOLVER   1: install postfix-mta-sts-resolver with apt-get when it
#                    is missing; 0: leave it out; auto (default): use it when
#                    installed.  "make bench-report" passes 1.
#   BENCH_RESOLVER_CACHE  the resolver's caches to measure, each as a server
#                    of its own: "internal sqlite" (default; sqlite is what
#                    Debian's sample configuration uses), or one of them
#   BENCH_RUNS (3)   runs per figure (odd); BENCH_SECS (5) seconds per timed run
#   BENCH_SCENARIOS  subset, e.g. "warm cold" (default: all seven)
#   BENCH_PUBLISH    also copy the report there (make bench-report: BENCHMARKS.md)
#   BENCH_NOTES      analysis appended to the report (tests/bench/notes.md; "": none)
#   BENCH_OUT        output directory (default $top_builddir/bench-report)
#   BENCH_RETRY_MS   smload -R for our map server in the cold scenario (5)
#   BENCH_NOTE       a line for the report (e.g. "machine shared with builds")
#   top_builddir     where the programs are built (default build/default)
set -u
SRC=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$SRC/../.." && pwd)
top_builddir=${top_builddir:-$TOP/build/default}
export LAB=${LAB:-/tmp/mtasts-bench}
export LAB_NETNS=${LAB_NETNS:-mtasts-bench}
. "$TOP/tests/lab/lab-lib.sh"
. "$TOP/tests/lab/mta-lib.sh"
lab_check_env

RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECS:-5}
SCEN=" ${BENCH_SCENARIOS:-warm negative hol cold milter footprint profile} "
OUT=${BENCH_OUT:-$top_builddir/bench-report}
RESOLVER=${BENCH_RESOLVER:-auto}
RCACHE=${BENCH_RESOLVER_CACHE:-internal sqlite}
RETRY_MS=${BENCH_RETRY_MS:-5}
NBULK=1000
SMLOAD=$top_builddir/tests/bench/smload
ECHO_SM=$top_builddir/tests/bench/echo-sm
SMTPLOAD=$top_builddir/tests/bench/smtpload
NOOP=$top_builddir/tests/bench/noop-milter
DAEMON=$top_builddir/milter/mta-sts-milter
IP=$MTA_DAEMON_IP                       # 127.0.3.2, on lo in the namespace
OURS=inet:$IP:2600
FPMAP=inet:$IP:2610
ECHO=inet:$IP:2602
BD=$LAB/bench                           # configs, databases, sockets
T0=$(date +%s)

die() { echo "run.sh: $*" >&2; exit 1; }
kv() { echo "$1=$2" >> "$OUT/meta"; }     # a fact for the report
say() { echo "run.sh: [$(( $(date +%s) - T0 ))s] $*"; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
case $RUNS in [1-9]|[1-9][0-9]) ;; *) die "BENCH_RUNS must be 1..99" ;; esac
for p in "$SMLOAD" "$ECHO_SM" "$SMTPLOAD" "$NOOP" "$DAEMON"; do
    [ -x "$p" ] || die "$p is not built (make bench-report builds everything)"
done
for t in sqlite3 ip awk python3; do
    command -v $t >/dev/null 2>&1 || die "missing tool: $t"
done
RESOLVERS=
for c in $RCACHE; do
    case $c in
        internal) RESOLVERS="$RESOLVERS resolver" ;;
        sqlite) RESOLVERS="$RESOLVERS resolver_sql" ;;
        *) die "BENCH_RESOLVER_CACHE: internal and/or sqlite" ;;
    esac
done

# ---- the resolver ------------------------------------------------------------------
RES_BIN=$(command -v mta-sts-daemon || true)
if [ -z "$RES_BIN" ] && [ "$RESOLVER" = 1 ]; then
    say "installing postfix-mta-sts-resolver (BENCH_RESOLVER=1)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y postfix-mta-sts-resolver \
        >"${TMPDIR:-/tmp}/bench-apt.$$" 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y postfix-mta-sts-resolver \
              >>"${TMPDIR:-/tmp}/bench-apt.$$" 2>&1; } ||
        { cat "${TMPDIR:-/tmp}/bench-apt.$$"; rm -f "${TMPDIR:-/tmp}/bench-apt.$$";
          die "apt-get install postfix-mta-sts-resolver failed"; }
    rm -f "${TMPDIR:-/tmp}/bench-apt.$$"
    RES_BIN=$(command -v mta-sts-daemon || true)
    # The package's scripts start its service where nothing forbids it
    # (policy-rc.d): stop what this install started, leave nothing behind.
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        systemctl stop postfix-mta-sts-resolver >/dev/null 2>&1 || true
    elif [ -x /etc/init.d/postfix-mta-sts-resolver ]; then
        /etc/init.d/postfix-mta-sts-resolver stop >/dev/null 2>&1 || true
    fi
fi
HAVE_RES=0
if [ "$RESOLVER" != 0 ] && [ -n "$RES_BIN" ]; then HAVE_RES=1; fi
[ $HAVE_RES = 1 ] || RESOLVERS=
[ "$RESOLVER" = 1 ] && [ $HAVE_RES = 0 ] && die "mta-sts-daemon not found after installing"

# ---- output, cleanup ---------------------------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT/logs" || die "cannot create $OUT"
RAW=$OUT/raw.jsonl
: > "$RAW"
MINE="daemon echo resolver resolver_sql noop fpdaemon cgdaemon"
cleanup() {
    rc=$?
    trap - EXIT INT TERM
    [ -f "$MTA_PIDS" ] && mta_stop $MINE >/dev/null 2>&1
    for f in postfix.log daemon.out resolver.out resolver_sql.out echo.out noop.out \
             fpdaemon.out nginx-error.log unbound.out; do
        [ -f "$LAB/logs/$f" ] && cp "$LAB/logs/$f" "$OUT/logs/" 2>/dev/null
    done
    cp "$BD"/resolver*.log "$OUT/logs/" 2>/dev/null
    KEEP_LAB=0 "$TOP/tests/lab/lab-down.sh" >"$OUT/logs/lab-down.log" 2>&1 ||
        echo "run.sh: lab-down.sh failed, see $OUT/logs/lab-down.log" >&2
    say "done (exit $rc); report: $OUT/report.md"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- machine and versions ----------------------------------------------------------
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "ncpu=$(nproc)"
    echo "mem_kb=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)"
    echo "kernel=$(uname -srm)"
    echo "os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "daemon_version=$("$DAEMON" -V 2>/dev/null)"
    echo "resolver_version=$(dpkg-query -W -f '${Version}' postfix-mta-sts-resolver 2>/dev/null)"
    echo "uvloop_version=$(dpkg-query -W -f '${Version}' python3-uvloop 2>/dev/null)"
    echo "python_version=$(python3 -c 'import sys; print(sys.version.split()[0])')"
    echo "resolver_caches=$RCACHE"
    echo "have_resolver=$HAVE_RES"
    echo "runs=$RUNS"
    echo "secs=$SECS"
    echo "retry_ms=$RETRY_MS"
    echo "scenarios=$SCEN"
    echo "note=${BENCH_NOTE:-}"
    echo "command=${BENCH_COMMAND:-BENCH_RESOLVER=$RESOLVER BENCH_RUNS=$RUNS BENCH_SECS=$SECS tests/bench/run.sh}"
} > "$OUT/meta"

# ---- the lab -----------------------------------------------------------------------
say "lab up (LAB=$LAB, netns $LAB_NETNS, LAB_BULK=$NBULK)"
LAB_BULK=$NBULK "$TOP/tests/lab/lab-up.sh" >"$OUT/logs/lab-up.log" 2>&1 ||
    { cat "$OUT/logs/lab-up.log"; die "lab-up.sh failed"; }
mkdir -p "$BD"
chmod 755 "$BD"
# Trust as on a production machine that also trusts the lab CA: the
# system's bundle plus the lab CA, one file, for both servers.
SYSCA=/etc/ssl/certs/ca-certificates.crt
[ -r "$SYSCA" ] || die "$SYSCA missing (package ca-certificates)"
cat "$SYSCA" "$LAB/pki/ca.crt" > "$BD/ca-bundle.crt" || die "cannot write the CA bundle"
kv ca_bundle "$(grep -c 'BEGIN CERTIFICATE' "$BD/ca-bundle.crt") certificates (the system's bundle + the lab CA)"
BULK=$LAB/bulk-domains
[ "$(grep -c . "$BULK")" = $NBULK ] || die "the lab serves no bulk domains"
if [[ $SCEN == *" milter "* ]]; then
    say "postfix up"
    "$TOP/tests/lab/mta-up.sh" postfix >"$OUT/logs/mta-up.log" 2>&1 ||
        { cat "$OUT/logs/mta-up.log"; die "mta-up.sh postfix failed"; }
fi

# ---- helpers -----------------------------------------------------------------------
ns() { ip netns exec "$LAB_NETNS" "$@"; }
pid_of() { case $1 in ours) mta_pid daemon ;; *) mta_pid "$1" ;; esac; }

# wait_port HOST:PORT [tries of 0.05 s]
wait_port() {
    local i=0 n=${2:-200}
    while [ $i -lt "$n" ]; do
        ss -N "$LAB_NETNS" -Hltn 2>/dev/null | awk '{print $4}' | grep -qx -- "$1" && return 0
        sleep 0.05; i=$((i + 1))
    done
    return 1
}

# CPU ticks: the machine (all CPUs, not idle) and one process
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }
HZ=$(getconf CLK_TCK)

# record SCENARIO SERVER VARIANT CONC RUN SRVPID CMD... : run CMD (prints one JSON
# object), append {"scenario":..., "result": JSON, cpu figures} to raw.jsonl
record() {
    local scen=$1 srv=$2 var=$3 conc=$4 run=$5 spid=$6 m0 m1 s0 s1 t0 t1 out rc
    shift 6
    m0=$(machine_ticks); s0=0; [ "$spid" != - ] && s0=$(proc_ticks "$spid"); t0=$(date +%s.%N)
    out=$("$@" 2>>"$OUT/logs/load.err")
    rc=$?
    t1=$(date +%s.%N); m1=$(machine_ticks); s1=0; [ "$spid" != - ] && s1=$(proc_ticks "$spid")
    [ -n "$out" ] || out='{"error": "no output"}'
    printf '{"scenario": "%s", "server": "%s", "variant": "%s", "conc": %s, "run": %s, "rc": %s, "wall_s": %s, "machine_cpu": %s, "server_cpu": %s, "result": %s}\n' \
        "$scen" "$srv" "$var" "$conc" "$run" "$rc" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')" \
        "$(awk -v d=$((m1 - m0)) -v hz="$HZ" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", 100*d/hz/(b-a)}')" \
        "$(awk -v d=$(( ${s1:-0} - ${s0:-0} )) -v hz="$HZ" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", 100*d/hz/(b-a)}')" \
        "$out" >> "$RAW"
    [ $rc = 0 ] || echo "run.sh: $scen/$srv/$var c=$conc run $run: exit $rc: $(echo "$out" | sed -n 's/.*"first_error": *"\([^"]*\)".*/\1/p')" >&2
    return 0
}


# rotate N WORD...: the words, rotated left by N (a different order per round)
rotate() {
    local n=$1 i
    shift
    for i in $(seq 1 $(( n % $# ))); do set -- "${@:2}" "$1"; done
    echo "$@"
}

# ---- the servers -------------------------------------------------------------------
# Our daemon: map server, milter on a unix socket (SocketMode 0666: Postfix's
# smtpd runs as another user), SQLite store, the lab resolver and CA.
daemon_conf() {   # FILE MAPSOCKET MILTERSOCK DB PIDFILE
    cat > "$1" <<EOF
# generated by tests/bench/run.sh
MapSocket $2
Socket $3
SocketMode 0666
Database $4
PidFile $5
ResolverConfig $LAB/engine-unbound.conf
CAFile $BD/ca-bundle.crt
Syslog no
LogLevel info
EOF
    chmod 644 "$1"
}
ours_start() {   # fresh: 1 = empty store
    [ "${1:-0}" = 1 ] && rm -f "$BD"/ours.db*
    daemon_conf "$BD/ours.conf" "inet:2600@$IP" "unix:$BD/ours-milter.sock" "$BD/ours.db" \
        "$BD/ours.pid"
    mta_start daemon "$DAEMON" -f -c "$BD/ours.conf"
    wait_port "$IP:2600" || die "our daemon does not listen (see $LAB/logs/daemon.out)"
    i=0
    while [ ! -S "$BD/ours-milter.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
ours_stop() { mta_stop daemon >/dev/null 2>&1; }

# The resolvers: NAME resolver (internal cache, port 8461) or resolver_sql
# (SQLite cache, port 8462).
res_port() { [ "$1" = resolver ] && echo 8461 || echo 8462; }
resolver_start() {   # NAME [fresh: 1 = empty cache]
    local name=$1 port
    port=$(res_port "$name")
    [ "${2:-0}" = 1 ] && rm -f "$BD/$name-cache.db"*
    {
        echo "# generated by tests/bench/run.sh"
        echo "host: $IP"
        echo "port: $port"
        echo "reuse_port: true"
        echo "shutdown_timeout: 2"
        echo "cache:"
        if [ "$name" = resolver_sql ]; then
            echo "  type: sqlite"
            echo "  options:"
            echo "    filename: \"$BD/$name-cache.db\""
        else
            echo "  type: internal"
            echo "  options:"
            echo "    cache_size: 10000"
        fi
        echo "default_zone:"
        echo "  strict_testing: false"
        echo "  timeout: 4"
    } > "$BD/$name.yml"
    # Python's default SSL context trusts SSL_CERT_FILE, the same bundle.
    mta_start "$name" env SSL_CERT_FILE="$BD/ca-bundle.crt" "$RES_BIN" \
        -c "$BD/$name.yml" -v warn -l "$BD/$name.log"
    wait_port "$IP:$port" || die "$name does not listen (see $LAB/logs/$name.out)"
}
resolver_stop() { mta_stop "$1" >/dev/null 2>&1; return 0; }

echo_start() {   # the reply ours gives for a bulk domain, byte for byte
    mta_start echo "$ECHO_SM" -T 3600 -l "$ECHO" -r "$ECHO_REPLY"
    wait_port "$IP:2602" || die "echo-sm does not listen"
}

one() {   # SERVER KEY -> the reply kind of one lookup
    ns "$SMLOAD" -j -n 1 -w 10000 -T 15 -k "hot:$2" "$1" |
        sed -n 's/.*"kinds": {\([^}]*\)}.*/\1/p' | tr -d ' "' | tr ',' '\n' | awk -F: '$2 > 0 {print $1}'
}

# warm SERVER: discover every bulk domain and the special ones; check the answers
warm_up() {   # TARGET NAME RETRYOPT EXPECT
    ns "$SMLOAD" -j -c 50 -n $NBULK -w 30000 -T 120 $3 -k "file:$BULK" -e "$4" "$1" \
        > "$OUT/logs/warm-$2.json" || die "warming $2 failed: $(cat "$OUT/logs/warm-$2.json")"
    for d in enforce.sts-lab.test no-txt.sts-lab.test http-404.sts-lab.test; do
        ns "$SMLOAD" -j -n 1 -w 30000 -T 60 $3 -k "hot:$d" "$1" >/dev/null
    done
}

# ---- start ---------------------------------------------------------------------------
expect_of() { eval "echo \"\$EXPECT_$1\""; }
target_of() {
    case $1 in
        echo) echo "$ECHO" ;; ours) echo "$OURS" ;;
        resolver|resolver_sql) echo "inet:$IP:$(res_port "$1")" ;;
    esac
}
ours_start 1
# payload TARGET-PORT DOMAIN: the reply payload (smload shows only its kind)
payload() {
    ns python3 - "$IP" "$1" "$2" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
q = b"stspolicy " + sys.argv[3].encode()
s.sendall(b"%d:%s," % (len(q), q))
buf = b""
while not buf.endswith(b",") and len(buf) < 100000:
    c = s.recv(4096)
    if not c:
        break
    buf += c
print(buf.split(b":", 1)[1][:-1].decode())
EOF
}
# discover one bulk domain (retrying while pending), then take its reply
ns "$SMLOAD" -j -n 1 -R 20 -w 30000 -T 60 -k hot:d0.sts-bulk.test "$OURS" >/dev/null
ECHO_REPLY=$(payload 2600 d0.sts-bulk.test)
case $ECHO_REPLY in OK\ secure*) ;; *) die "ours does not answer d0.sts-bulk.test with a policy: '$ECHO_REPLY'" ;; esac
EXPECT_ours=$ECHO_REPLY
EXPECT_echo=$ECHO_REPLY
kv ours_reply "$ECHO_REPLY"
echo_start
for s in $RESOLVERS; do
    resolver_start $s 1
    # It must verify against the lab CA, not skip verification.
    [ "$(one "$(target_of $s)" enforce.sts-lab.test)" = OK ] ||
        die "$s finds no policy for enforce.sts-lab.test (trust?)"
    [ "$(one "$(target_of $s)" wrong-name.sts-lab.test)" = NOTFOUND ] ||
        die "$s accepted a wrong-name certificate"
    i=0
    until grep -q CERTIFICATE_VERIFY_FAILED "$BD/$s.log" || [ $i -ge 40 ]; do
        sleep 0.05; i=$((i + 1))
    done
    grep -q CERTIFICATE_VERIFY_FAILED "$BD/$s.log" ||
        die "$s did not log a certificate failure for wrong-name.sts-lab.test"
    kv "${s}_trust" "verifies with the bundle (wrong-name.sts-lab.test: CERTIFICATE_VERIFY_FAILED)"
    eval "EXPECT_$s=\$(payload $(res_port $s) d0.sts-bulk.test)"
    kv "${s}_reply" "$(expect_of $s)"
done

say "warming up: $NBULK bulk domains on every server"
warm_up "$OURS" ours "-R 20" "$EXPECT_ours"
for s in $RESOLVERS; do warm_up "$(target_of $s)" $s "" "$(expect_of $s)"; done
SERVERS="echo ours $RESOLVERS"

# ---- 1. warm -------------------------------------------------------------------------
if [[ $SCEN == *" warm "* ]]; then
    say "warm lookups"
    for c in 1 8 64; do
        for r in $(seq 1 "$RUNS"); do
            for s in $(rotate "$r" $SERVERS); do
                record warm "$s" uniform "$c" "$r" "$(pid_of $s)" \
                    ns "$SMLOAD" -j -c "$c" -n 0 -T "$SECS" -k "uniform:$NBULK:d%d.sts-bulk.test" \
                    -e "$(expect_of $s)" "$(target_of $s)"
            done
        done
    done
    for r in $(seq 1 "$RUNS"); do
        for s in $(rotate "$r" $SERVERS); do
            record warm "$s" hot 64 "$r" "$(pid_of $s)" \
                ns "$SMLOAD" -j -c 64 -n 0 -T "$SECS" -k "hot:d0.sts-bulk.test" -e "$(expect_of $s)" \
                "$(target_of $s)"
        done
    done
    for s in ours $RESOLVERS; do
        p=$(pid_of $s) || continue
        kv "rss_after_warm_$s" "$(awk '/^VmRSS/ {print $2}' /proc/$p/status) $(awk '/^VmHWM/ {print $2}' /proc/$p/status)"
    done
fi

# ---- 2. negative ---------------------------------------------------------------------
if [[ $SCEN == *" negative "* ]]; then
    say "negative answers"
    for r in $(seq 1 "$RUNS"); do
        for s in $(rotate "$r" ours $RESOLVERS); do
            # the three in turn too: a trend within a round must not
            # always fall on the same one
            for v in $(rotate "$r" warm-reference no-txt fetch-failed); do
                case $v in
                    warm-reference) k=uniform:$NBULK:d%d.sts-bulk.test; e=$(expect_of $s) ;;
                    no-txt) k=hot:no-txt.sts-lab.test; e="NOTFOUND " ;;
                    fetch-failed) k=hot:http-404.sts-lab.test; e="NOTFOUND " ;;
                esac
                record negative "$s" $v 64 "$r" "$(pid_of $s)" \
                    ns "$SMLOAD" -j -c 64 -n 0 -T "$SECS" -w 30000 -k "$k" -e "$e" \
                    "$(target_of $s)"
            done
        done
    done
fi

# ---- 3. head-of-line -----------------------------------------------------------------
if [[ $SCEN == *" hol "* ]]; then
    say "head-of-line: stall.sts-lab.test"
    # Ours first: its one stalled discovery must stay open (HttpsTimeout, 60 s)
    # through all its stalled runs.
    for s in ours $RESOLVERS; do
        for r in $(seq 1 "$RUNS"); do
            record hol "$s" without-stall 64 "$r" "$(pid_of $s)" \
                ns "$SMLOAD" -j -c 64 -n 0 -T "$SECS" -k "uniform:$NBULK:d%d.sts-bulk.test" \
                -e "$(expect_of $s)" "$(target_of $s)"
            # The stalling domain asked by 8 connections, 100 ms between an answer
            # and the next question (an MTA's pace, not a spinning loop).
            ns "$SMLOAD" -j -c 8 -i 100 -n 0 -T "$SECS" -w 70000 -k hot:stall.sts-lab.test \
                "$(target_of $s)" > "$BD/side.json" 2>>"$OUT/logs/load.err" &
            side=$!
            sleep 0.2
            record hol "$s" with-stall 64 "$r" "$(pid_of $s)" \
                ns "$SMLOAD" -j -c 64 -n 0 -T "$SECS" -k "uniform:$NBULK:d%d.sts-bulk.test" \
                -e "$(expect_of $s)" "$(target_of $s)"
            wait $side
            printf '{"scenario": "hol", "server": "%s", "variant": "stall-side", "conc": 8, "run": %s, "rc": 0, "result": %s}\n' \
                "$s" "$r" "$(cat "$BD/side.json")" >> "$RAW"
        done
    done
fi

# ---- 4. cold ---------------------------------------------------------------------------
flush_lab_dns() {
    unbound-control -c "$LAB/dns/unbound.conf" flush_zone sts-bulk.test >/dev/null 2>&1 ||
        die "cannot flush the lab resolver"
    unbound-control -c "$LAB/dns/unbound.conf" flush_requestlist >/dev/null 2>&1 || true
}
if [[ $SCEN == *" cold "* ]]; then
    say "cold discovery of $NBULK domains"
    for r in $(seq 1 "$RUNS"); do
        ours_stop
        flush_lab_dns
        ours_start 1
        record cold ours discover 50 "$r" "$(pid_of daemon)" \
            ns "$SMLOAD" -j -c 50 -n $NBULK -T 120 -w 30000 -R "$RETRY_MS" -k "file:$BULK" \
            -e "$ECHO_REPLY" "$OURS"
        for s in $RESOLVERS; do
            resolver_stop $s
            flush_lab_dns
            resolver_start $s 1
            record cold $s discover 50 "$r" "$(pid_of $s)" \
                ns "$SMLOAD" -j -c 50 -n $NBULK -T 120 -w 30000 -k "file:$BULK" \
                -e "$(expect_of $s)" "$(target_of $s)"
        done
        record cold echo discover 50 "$r" "$(pid_of echo)" \
            ns "$SMLOAD" -j -c 50 -n $NBULK -T 120 -k "file:$BULK" -e "$ECHO_REPLY" "$ECHO"
    done
    # leave both warm for what follows
    warm_up "$OURS" ours-after-cold "-R 20" "$EXPECT_ours"
    for s in $RESOLVERS; do
        warm_up "$(target_of $s)" $s-after-cold "" "$(expect_of $s)"
    done
fi

# ---- 5. milter -------------------------------------------------------------------------
postfix_milter() {   # VALUE of smtpd_milters
    mta_nsenter postfix postconf -e "smtpd_milters = $1" "default_transport = discard:benchmark" \
        >>"$OUT/logs/postconf.log" 2>&1 || die "postconf failed"
    mta_nsenter postfix postfix reload >>"$OUT/logs/postconf.log" 2>&1 || die "postfix reload failed"
    sleep 1
}
if [[ $SCEN == *" milter "* ]]; then
    say "milter overhead through Postfix"
    (umask 0; mta_start noop "$NOOP" -T 3600 -p "unix:$BD/noop.sock")
    i=0; while [ ! -S "$BD/noop.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    [ -S "$BD/noop.sock" ] || die "noop-milter did not start"
    RCPTS="a@d%d.sts-bulk.test,b@d%d.sts-bulk.test,c@no-txt.sts-lab.test"
    for r in $(seq 1 "$RUNS"); do
        for v in $(rotate "$r" none noop ours); do
            case $v in
                none) postfix_milter "" ; vp=- ;;
                noop) postfix_milter "unix:$BD/noop.sock"; vp=$(pid_of noop) ;;
                ours) postfix_milter "unix:$BD/ours-milter.sock"; vp=$(pid_of daemon) ;;
            esac
            # warm-up: Postfix processes, and every recipient domain once
            ns "$SMTPLOAD" -j -c 8 -n 700 -T 60 -r "$RCPTS" -N $NBULK \
                "inet:$MTA_POSTFIX_IP:25" > "$OUT/logs/smtp-warm-$v.json" 2>&1 ||
                die "milter warm-up ($v) failed: $(cat "$OUT/logs/smtp-warm-$v.json")"
            record milter postfix "$v" 8 "$r" "$vp" \
                ns "$SMTPLOAD" -j -c 8 -n 0 -T $((SECS * 2)) -r "$RCPTS" -N $NBULK \
                "inet:$MTA_POSTFIX_IP:25"
        done
    done
    postfix_milter ""
    mta_stop noop >/dev/null 2>&1
fi

# ---- 6. footprint ----------------------------------------------------------------------
seed_db() {   # FILE N: N enforce policies, fresh, as the daemon writes them
    local now
    now=$(date +%s)
    rm -f "$1"*
    sqlite3 "$1" < "$TOP/sql/schema.sql" || die "schema.sql failed"
    sqlite3 "$1" >/dev/null <<EOF || die "seeding $1 failed"
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $2 - 1)
INSERT INTO policies (domain, policy_id, mode, max_age, mx, policy_text, fetched_at,
    expires_at, txt_checked_at, next_retry_at)
SELECT 'f' || i || '.sts-seed.test', '20240101T000000', 'enforce', 604800,
    'mx1.f' || i || '.sts-seed.test' || char(10) || '*.mx.f' || i || '.sts-seed.test',
    'version: STSv1' || char(10) || 'mode: enforce' || char(10) ||
    'mx: mx1.f' || i || '.sts-seed.test' || char(10) || 'mx: *.mx.f' || i ||
    '.sts-seed.test' || char(10) || 'max_age: 604800' || char(10),
    $now, $now + 604800, $now, 0 FROM n;
COMMIT;
EOF
}
if [[ $SCEN == *" footprint "* ]]; then
    say "footprint: 1k, 10k, 100k policies"
    for n in 1000 10000 100000; do
        seed_db "$BD/fp.db" $n
        kv "fp_db_bytes_$n" "$(stat -c %s "$BD/fp.db")"
        for r in $(seq 1 "$RUNS"); do
            daemon_conf "$BD/fp.conf" "inet:2610@$IP" "unix:$BD/fp-milter.sock" "$BD/fp.db" \
                "$BD/fp.pid"
            # start-up: from the exec to the first correct answer for a seeded domain
            t0=$(date +%s%N)
            mta_start fpdaemon "$DAEMON" -f -c "$BD/fp.conf"
            got=
            for i in $(seq 1 400); do
                got=$(one "$FPMAP" "f$((n - 1)).sts-seed.test" 2>/dev/null)
                [ "$got" = OK ] && break
                sleep 0.01
            done
            t1=$(date +%s%N)
            [ "$got" = OK ] || die "the daemon with $n policies did not answer (see $LAB/logs/fpdaemon.out)"
            p=$(pid_of fpdaemon)
            rss0=$(awk '/^VmRSS/ {print $2}' /proc/$p/status)
            hwm0=$(awk '/^VmHWM/ {print $2}' /proc/$p/status)
            # every policy asked once, as a day of mail would
            ns "$SMLOAD" -j -c 8 -n $n -T 120 -k "uniform:$n:f%d.sts-seed.test" "$FPMAP" \
                > "$BD/fp-load.json" 2>>"$OUT/logs/load.err"
            rss1=$(awk '/^VmRSS/ {print $2}' /proc/$p/status)
            hwm1=$(awk '/^VmHWM/ {print $2}' /proc/$p/status)
            anon1=$(awk '/^RssAnon/ {print $2}' /proc/$p/status)
            file1=$(awk '/^RssFile/ {print $2}' /proc/$p/status)
            printf '{"scenario": "footprint", "server": "ours", "variant": "%s", "conc": 0, "run": %s, "rc": 0, "result": {"startup_ms": %s, "rss_kb_start": %s, "hwm_kb_start": %s, "rss_kb_used": %s, "hwm_kb_used": %s, "anon_kb_used": %s, "file_kb_used": %s, "load": %s}}\n' \
                "$n" "$r" "$(( (t1 - t0) / 1000000 ))" "$rss0" "$hwm0" "$rss1" "$hwm1" \
                "$anon1" "$file1" "$(cat "$BD/fp-load.json")" >> "$RAW"
            mta_stop fpdaemon >/dev/null 2>&1
        done
    done
    rm -f "$BD"/fp.db*
fi

# ---- 7. profile ------------------------------------------------------------------------
# Instruction counts (callgrind) do not move with the load on the machine:
# per warm and negative lookup, and per cold discovery with where it goes.
cg_total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}'; }
cg_incl() {   # FILE FUNCTION -> inclusive instructions of FUNCTION (0 if absent)
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
        awk -v f="$2" '{ n = $NF; sub(/ \[.*/, "", n) } $0 ~ ("[:]" f " ") || $0 ~ ("[:]" f "$") {
            gsub(",", "", $1); print $1; found = 1; exit } END { if (!found) print 0 }'
}
if [[ $SCEN == *" profile "* ]]; then
    if ! command -v valgrind >/dev/null 2>&1 || ! command -v callgrind_annotate >/dev/null 2>&1 ||
       ! command -v callgrind_control >/dev/null 2>&1; then
        kv profile_skipped "valgrind (callgrind) is not installed"
    else
        say "profile: instruction counts with callgrind"
        rm -f "$BD"/cg.* "$BD"/cgp.db*
        head -200 "$BULK" > "$BD/bulk200"
        daemon_conf "$BD/cgp.conf" "inet:2620@$IP" "unix:$BD/cgp-milter.sock" "$BD/cgp.db" \
            "$BD/cgp.pid"
        flush_lab_dns
        (cd "$BD" && mta_start cgdaemon valgrind --tool=callgrind \
            --callgrind-out-file="$BD/cg.out" "$DAEMON" -f -c "$BD/cgp.conf")
        wait_port "$IP:2620" 600 || die "the daemon under callgrind does not listen"
        cgp=$(pid_of cgdaemon)
        CG="inet:$IP:2620"
        callgrind_control -z "$cgp" >/dev/null 2>&1
        ns "$SMLOAD" -j -c 50 -n 200 -T 300 -w 120000 -R 5 -k "file:$BD/bulk200" "$CG" \
            > "$BD/cg-cold.json" 2>>"$OUT/logs/load.err"
        callgrind_control -d "$cgp" >/dev/null 2>&1          # cg.out.1: 200 discoveries
        for d in no-txt.sts-lab.test http-404.sts-lab.test; do
            ns "$SMLOAD" -j -n 1 -T 120 -w 120000 -R 20 -k "hot:$d" "$CG" >/dev/null 2>&1
        done
        sleep 1
        for k in "uniform:200:d%d.sts-bulk.test" hot:no-txt.sts-lab.test hot:http-404.sts-lab.test; do
            callgrind_control -z "$cgp" >/dev/null 2>&1
            ns "$SMLOAD" -j -c 8 -n 20000 -T 300 -k "$k" "$CG" > "$BD/cg-load.json" 2>>"$OUT/logs/load.err"
            callgrind_control -d "$cgp" >/dev/null 2>&1      # cg.out.2, .3, .4
        done
        mta_stop cgdaemon >/dev/null 2>&1
        c1=$BD/cg.out.1
        if [ -s "$c1" ] && [ -s "$BD/cg.out.4" ]; then
            printf '{"scenario": "profile", "server": "ours", "variant": "cold", "conc": 50, "run": 1, "rc": 0, "result": {"discoveries": 200, "total": %s, "worker": %s, "handshake": %s, "ssl_ctx_new": %s, "ca_load": %s, "cert_decode": %s, "ecdsa_verify": %s, "unbound": %s, "sqlite": %s, "answered": %s}}\n' \
                "$(cg_total "$c1")" "$(cg_incl "$c1" worker_main)" "$(cg_incl "$c1" SSL_do_handshake)" \
                "$(cg_incl "$c1" SSL_CTX_new_ex)" "$(cg_incl "$c1" X509_STORE_load_file_ex)" \
                "$(cg_incl "$c1" d2i_X509)" "$(cg_incl "$c1" ECDSA_verify)" \
                "$(cg_incl "$c1" mtasts_resolver_process)" "$(cg_incl "$c1" sqlite3_step)" \
                "$(sed -n 's/.*"answered": *\([0-9]*\).*/\1/p' "$BD/cg-cold.json")" >> "$RAW"
            i=2
            for v in warm no-txt fetch-failed; do
                printf '{"scenario": "profile", "server": "ours", "variant": "%s", "conc": 8, "run": 1, "rc": 0, "result": {"lookups": 20000, "total": %s, "mapd": %s}}\n' \
                    "$v" "$(cg_total "$BD/cg.out.$i")" "$(cg_incl "$BD/cg.out.$i" mapd_loop)" >> "$RAW"
                i=$((i + 1))
            done
        else
            kv profile_skipped "callgrind left no dumps (see $LAB/logs/cgdaemon.out)"
        fi
    fi
fi

# ---- report --------------------------------------------------------------------------
kv load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
kv duration_s "$(( $(date +%s) - T0 ))"
# BENCH_NOTES: a hand-written analysis appended to the report (default
# tests/bench/notes.md; say which run it analyses), "" for none.
NOTES=${BENCH_NOTES-$SRC/notes.md}
[ -n "$NOTES" ] && [ ! -r "$NOTES" ] && NOTES=
python3 "$SRC/report.py" "$OUT/meta" "$RAW" $NOTES > "$OUT/report.md" || die "report.py failed"
say "report written: $OUT/report.md"
if [ -n "${BENCH_PUBLISH:-}" ]; then
    cp "$OUT/report.md" "$BENCH_PUBLISH" || die "cannot write $BENCH_PUBLISH"
    say "published: $BENCH_PUBLISH"
fi
