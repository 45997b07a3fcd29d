#!/bin/sh
# test_mapd.sh: the real mta-sts-milter daemon and its socketmap server on
# 127.0.0.1, driven by tests/mapd/nsclient.py.  DNS is libunbound with a
# local zone "test." that holds nothing, so every discovery ends at once
# in "no TXT record"; one enforce policy is put in the SQLite store before
# start.  Checks the reply forms, the per-domain controls (SkipDomains,
# RoutedDomains, EnforceDomains) at delivery time, persistent and
# pipelined connections, protocol garbage, 200 clients at once, -n,
# SIGHUP with a broken file, reloads that change the controls and the
# concrete MX mode, daemon mode and SIGTERM.  Output is TAP; a missing
# tool skips (77).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
bin=$top_builddir/milter/mta-sts-milter
for tool in python3 sqlite3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool not found (Debian package: $tool)"
		exit 77
	fi
done
[ -x "$bin" ] || { echo "test_mapd.sh: $bin not built" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_mapd.XXXXXX")
pid=
hole=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -n "$hole" ] && kill "$hole" 2>/dev/null
	[ -f "$tmp/run/d.pid" ] && kill "$(cat "$tmp/run/d.pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

. "$top_srcdir/tests/tap.sh"
nsc() {
	python3 "$top_srcdir/tests/mapd/nsclient.py" "$@" 2>&1
}

port=$(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# A name server on 127.0.0.1 that reads queries and never answers: the MX
# lookups under hang.example. hang (bounded: it exits after two minutes).
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); s.settimeout(1)
print(s.getsockname()[1]); sys.stdout.flush(); sys.stdout.close()
end = time.time() + 120
while time.time() < end:
    try:
        s.recv(4096)
    except socket.timeout:
        pass' >"$tmp/hole.port" &
hole=$!
for _ in $(seq 1 50); do
	[ -s "$tmp/hole.port" ] && break
	sleep 0.1
done
cat >"$tmp/unbound.conf" <<EOF
server:
	do-not-query-localhost: no
	local-zone: "test." static
	local-data: "enforce.test. 300 IN MX 10 mx1.enforce.test."
	local-data: "enforce.test. 300 IN MX 20 a.mx.enforce.test."
	local-data: "enforce.test. 300 IN MX 30 b.c.mx.enforce.test."
stub-zone:
	name: "hang.example."
	stub-addr: 127.0.0.1@$(cat "$tmp/hole.port")
EOF
mkdir -p "$tmp/db"
cat >"$tmp/good.conf" <<EOF
Syslog		no
LogLevel	debug
Database	$tmp/db/policies.db
ResolverConfig	$tmp/unbound.conf
MapSocket	inet:$port@127.0.0.1
MapIdleTimeout	5s
PidFile		$tmp/run/d.pid
SkipDomains	skipped.test
RoutedDomains	routed.test
EnforceDomains	forced.test, forcednone.test
EOF
cp "$tmp/good.conf" "$tmp/conf"

# An enforce policy with a wildcard pattern, fetched just now.
now=$(date +%s)
sqlite3 "$tmp/db/policies.db" <"$top_srcdir/sql/schema.sql" &&
sqlite3 "$tmp/db/policies.db" "INSERT INTO policies (domain, policy_id,
    mode, max_age, mx, policy_text, fetched_at, expires_at, txt_checked_at)
    VALUES ('enforce.test', 'id1', 'enforce', 86400,
    'mx1.enforce.test' || char(10) || '*.mx.enforce.test', '', $now,
    $now + 86400, $now);" || { echo "Bail out! cannot seed the store"; exit 99; }
# Policies for the per-domain controls: enforce policies of a skipped and
# a routed domain, a testing policy of a domain in EnforceDomains.
for row in skipped.test:enforce routed.test:enforce forced.test:testing \
    slow.hang.example:enforce; do
	sqlite3 "$tmp/db/policies.db" "INSERT INTO policies (domain,
	    policy_id, mode, max_age, mx, policy_text, fetched_at, expires_at,
	    txt_checked_at) VALUES ('${row%%:*}', 'c1', '${row#*:}', 86400,
	    'mx1.${row%%:*}' || char(10) || '*.mx.${row%%:*}', '', $now,
	    $now + 86400, $now);" ||
	    { echo "Bail out! cannot seed the store"; exit 99; }
done

# ---------------------------------------------------------------- -n
out=$("$bin" -n -c "$tmp/good.conf" 2>&1)
expect "-n accepts a good file" "0 " "$? $out"
printf 'LogLevel debug\nMapIdleTimeout forever\nNoSuchThing 1\n' \
    >"$tmp/bad.conf"
out=$("$bin" -n -c "$tmp/bad.conf" 2>&1)
rc=$?
case "$rc $out" in
1*bad.conf:2:*bad.conf:3:*) ok "-n refuses a bad file, naming file:line" ;;
*)	not_ok "-n refuses a bad file, naming file:line" "rc $rc: $out" ;;
esac
printf 'MapSocket tcp:12@x\nMapSocketMode 999\n' >"$tmp/bad2.conf"
out=$("$bin" -n -c "$tmp/bad2.conf" 2>&1)
rc=$?
case "$rc $out" in
1*MapSocketMode*) ok "-n refuses a bad MapSocketMode" ;;
*)	not_ok "-n refuses a bad MapSocketMode" "rc $rc: $out" ;;
esac
# Socket values libmilter would bend (99999 wraps, 0 is any port, a
# relative path), a map socket without an address (every interface), and
# files or forwarders the engine would only trip over once started.
for bad in 'Socket inet:99999@127.0.0.1' 'Socket inet:0@127.0.0.1' \
    'Socket unix:relative.sock' 'Socket foo:bar' 'MapSocket inet:2600' \
    "ResolverConfig $tmp/none.conf" 'ResolverForwarders notanip' \
    "CAFile $tmp/none.pem" "TrustAnchorFile $tmp"; do
	printf '%s\nDatabase %s/db/p.db\n' "$bad" "$tmp" >"$tmp/bad3.conf"
	out=$("$bin" -n -c "$tmp/bad3.conf" 2>&1)
	rc=$?
	case "$rc $out" in
	1*"${bad#* }"*) ok "-n refuses '$bad'" ;;
	*)	not_ok "-n refuses '$bad'" "rc $rc: $out" ;;
	esac
done
out=$("$bin" -n -c "$tmp/missing.conf" 2>&1)
expect "-n on a missing file exits 1" 1 "$?"

# ---------------------------------------------------------------- start
"$bin" -f -c "$tmp/conf" 2>"$tmp/daemon.log" &
pid=$!
up=
for _ in $(seq 1 100); do
	if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" \
	    2>/dev/null; then
		up=1
		break
	fi
	sleep 0.1
done
if [ -z "$up" ]; then
	not_ok "daemon listens"
	sed 's/^/#   /' "$tmp/daemon.log"
	echo "1..$n"
	exit 1
fi
ok "daemon listens on 127.0.0.1:$port"
expect "pid file holds the daemon's pid" "$pid" "$(cat "$tmp/run/d.pid" 2>/dev/null)"

# ---------------------------------------------------------------- replies
expect "enforce policy: secure match with .parent and servername" \
    "OK secure match=mx1.enforce.test:.mx.enforce.test servername=hostname" \
    "$(nsc query "$port" enforce.test)"
expect "Sendmail's lower-cased key, trailing dot" \
    "OK secure match=mx1.enforce.test:.mx.enforce.test servername=hostname" \
    "$(nsc query "$port" ENFORCE.test.)"
expect "relay next hop [host]:port looks up host" \
    "OK secure match=mx1.enforce.test:.mx.enforce.test servername=hostname" \
    "$(nsc query "$port" '[enforce.test]:587')"
first=$(nsc query "$port" nopolicy.test)
case "$first" in
"TEMP "*|"NOTFOUND ") ok "unknown domain: TEMP or NOTFOUND at first ($first)" ;;
*)	not_ok "unknown domain: TEMP or NOTFOUND at first" "got '$first'" ;;
esac
expect "no-policy domain settles to NOTFOUND" "NOTFOUND " \
    "$(nsc wait "$port" nopolicy.test "NOTFOUND " 10)"
expect "parent key .test" "NOTFOUND " "$(nsc query "$port" .test)"
expect "parent key .enforce.test" "NOTFOUND " \
    "$(nsc query "$port" .enforce.test)"
expect "address literal" "NOTFOUND " "$(nsc query "$port" '[192.0.2.1]')"
expect "address literal with port" "NOTFOUND " \
    "$(nsc query "$port" '[192.0.2.1]:25')"
expect "IPv6 literal" "NOTFOUND " "$(nsc query "$port" '[IPv6:2001:db8::1]')"
expect "key that is no domain" "NOTFOUND " "$(nsc query "$port" 'a..b')"
long=$(python3 -c 'print("a" * 9000)')
expect "a 9000-byte key is looked up as nothing" "NOTFOUND " \
    "$(nsc query "$port" "$long")"

# A discovery that hangs (its TXT lookup goes to the silent name server):
# TEMP at once, never NOTFOUND, and nobody else waits for it.
expect "discovery under way: TEMP at once, the next client not held up" \
    "TEMP MTA-STS policy discovery in progress|OK secure match=mx1.enforce.test:.mx.enforce.test servername=hostname" \
    "$(nsc race "$port" new.hang.example enforce.test)"

# ---------------------------------------------------------------- controls
expect "SkipDomains: enforce policy not applied at delivery" "NOTFOUND " \
    "$(nsc query "$port" skipped.test)"
expect "RoutedDomains: its MX policy not applied at delivery" "NOTFOUND " \
    "$(nsc query "$port" routed.test)"
expect "EnforceDomains: a testing policy is enforced at delivery" \
    "OK secure match=mx1.forced.test:.mx.forced.test servername=hostname" \
    "$(nsc query "$port" forced.test)"
expect "EnforceDomains: no policy settles to TEMP, never NOTFOUND" \
    "TEMP MTA-STS required for this domain, but it has no usable policy" \
    "$(nsc wait "$port" forcednone.test \
    "TEMP MTA-STS required for this domain, but it has no usable policy" 10)"
if grep -q 'map=stspolicy key=skipped.test control=skipped reply=notfound' \
    "$tmp/daemon.log"; then
	ok "the debug line names the control"
else
	not_ok "the debug line names the control"
fi

# ---------------------------------------------------------------- connections
expect "500 requests on one connection" "500 NOTFOUND " \
    "$(nsc repeat "$port" 500 nopolicy.test)"
got=$(nsc pipeline "$port" nopolicy.test .test enforce.test '[192.0.2.1]' |
    tr '\n' '|')
expect "pipelined requests answered in order" \
    "NOTFOUND |NOTFOUND |OK secure match=mx1.enforce.test:.mx.enforce.test servername=hostname|NOTFOUND |" \
    "$got"
expect "request without a map name gets TEMP" "TEMP malformed request" \
    "$(nsc raw "$port" '9:good.test,')"

# ---------------------------------------------------------------- garbage
expect "not a netstring: connection closed" closed "$(nsc raw "$port" abc)"
expect "length 99999999: closed" closed "$(nsc raw "$port" '99999999:xx')"
expect "missing comma: closed" closed "$(nsc raw "$port" '3:abcd')"
expect "leading zero: closed" closed "$(nsc raw "$port" '03:abc,')"
big=$(python3 -c 'print("10016:stspolicy " + "a" * 10006 + ",")')
expect "request over 10000 bytes: closed" closed "$(nsc raw "$port" "$big")"
expect "client gone in the middle of a request" sent \
    "$(nsc hangup "$port" '25:stspolicy nopol')"
sleep 0.3
if grep -q 'warning: map client .*middle of a request' "$tmp/daemon.log" &&
    grep -q 'warning: map client .*length exceeds the limit' "$tmp/daemon.log"
then
	ok "garbage is logged as warnings"
else
	not_ok "garbage is logged as warnings"
fi

# ---------------------------------------------------------------- load
expect "200 connections at once all answered" 200 \
    "$(nsc crowd "$port" 200 nopolicy.test)"
expect "still answering after all that" "NOTFOUND " \
    "$(nsc query "$port" nopolicy.test)"
if grep -q 'map=stspolicy key=enforce.test reply=ok' "$tmp/daemon.log"; then
	ok "one debug line per answer"
else
	not_ok "one debug line per answer"
fi

# ---------------------------------------------------------------- signals
echo "NoSuchParameter yes" >>"$tmp/conf"
kill -HUP "$pid"
sleep 0.5
if kill -0 "$pid" 2>/dev/null &&
    grep -q 'reload of .* failed' "$tmp/daemon.log" &&
    grep -q "conf:11: unknown parameter .NoSuchParameter." "$tmp/daemon.log"; then
	ok "SIGHUP with a broken file: problems logged, still running"
else
	not_ok "SIGHUP with a broken file: problems logged, still running"
fi
expect "answers after a failed reload" "NOTFOUND " \
    "$(nsc query "$port" nopolicy.test)"
sed -e 's/^LogLevel.*/LogLevel info/' -e '/NoSuchParameter/d' \
    "$tmp/good.conf" >"$tmp/conf"
echo "MapMatchConcreteMx yes" >>"$tmp/conf"
kill -USR1 "$pid"
sleep 0.5
if grep -q 'reloaded ' "$tmp/daemon.log" &&
    grep -q 'reload: LogLevel changed' "$tmp/daemon.log" &&
    grep -q 'reload: MapMatchConcreteMx changed' "$tmp/daemon.log"; then
	ok "SIGUSR1 with a good file reloads"
else
	not_ok "SIGUSR1 with a good file reloads"
fi
# Concrete mode: the MX hosts the policy allows; b.c.mx.enforce.test is
# two labels below "*.".  Nothing looked the MX set up before, so the
# first request waits for it rather than get the loose patterns.
concrete="OK secure match=mx1.enforce.test:a.mx.enforce.test servername=hostname"
expect "concrete mode: the first answer waits for the MX hosts, no patterns" \
    "$concrete" "$(nsc query "$port" enforce.test)"
expect "concrete mode: then from memory" "$concrete" \
    "$(nsc query "$port" enforce.test)"
# An MX lookup that hangs: that request gets TEMP after its wait, and a
# client asking meanwhile is answered first; requests pipelined behind
# the waiting one keep their order.
notyet="TEMP MTA-STS: the MX hosts of the domain are not known yet"
expect "concrete mode: a hanging MX lookup holds up no other client" \
    "$concrete|$notyet" "$(nsc race "$port" slow.hang.example enforce.test)"
expect "concrete mode: pipelined requests wait behind, in order" \
    "$notyet|NOTFOUND |" \
    "$(nsc pipeline "$port" slow.hang.example nopolicy.test | tr '\n' '|')"
# A reload changes the per-domain controls for the very next request,
# also when the map thread was asleep in poll(2) during the reload.
echo "SkipDomains enforce.test" >>"$tmp/conf"
expect "SIGHUP: SkipDomains added by a reload applies to the next request" \
    "$concrete|NOTFOUND " \
    "$(nsc reload "$port" "$pid" "$tmp/daemon.log" enforce.test)"
grep -q 'reload: SkipDomains changed$' "$tmp/daemon.log" &&
    ok "the reload names the applied change" ||
    not_ok "the reload names the applied change"
echo "DnsTimeout 3s" >>"$tmp/conf"
kill -HUP "$pid"
sleep 0.5
grep -q 'reload: DnsTimeout changed; a restart is needed' "$tmp/daemon.log" &&
    ok "an engine parameter waits for a restart, with a warning" ||
    not_ok "an engine parameter waits for a restart, with a warning"
# Clients that keep a request open by sending a byte at a time: each
# byte restarts the idle clock, so the request itself has a deadline, and
# at MapMaxClients a stalled request gives way to a new connection.
echo "MapMaxClients 4" >>"$tmp/conf"
kill -HUP "$pid"
sleep 0.5
expect "4 clients dribbling requests at MapMaxClients 4: a new client is answered, each dribbler closed" \
    "NOTFOUND |4/4" "$(nsc dribble "$port" 4 nopolicy.test)"
grep -q 'request still incomplete, given up to make room' "$tmp/daemon.log" &&
    grep -q 'request not completed in time' "$tmp/daemon.log" &&
    ok "the stalled requests are logged" ||
    not_ok "the stalled requests are logged"
kill -TERM "$pid"
wait "$pid"
expect "SIGTERM: exit status 0" 0 "$?"
pid=
[ ! -e "$tmp/run/d.pid" ] && ok "SIGTERM removes the pid file" ||
    not_ok "SIGTERM removes the pid file"
expect "map socket closed" closed "$(nsc raw "$port" '' 2>&1 |
    grep -q 'Connection refused' && echo closed)"

# ---------------------------------------------------------------- daemon mode
"$bin" -c "$tmp/conf" 2>"$tmp/daemon2.log"
expect "without -f: the parent returns 0 once serving" 0 "$?"
dpid=$(cat "$tmp/run/d.pid" 2>/dev/null)
expect "detached daemon answers" "NOTFOUND " \
    "$(nsc query "$port" nopolicy.test)"
[ -n "$dpid" ] && kill -TERM "$dpid"
for _ in $(seq 1 50); do
	[ -e "$tmp/run/d.pid" ] || break
	sleep 0.1
done
[ ! -e "$tmp/run/d.pid" ] && ok "detached daemon stops on SIGTERM" ||
    not_ok "detached daemon stops on SIGTERM"
printf 'MapSocket inet:%s@127.0.0.1\nPidFile %s/run/x.pid\nDatabase %s/db/p.db\nSyslog no\n' \
    "$port" "$tmp" "$tmp" >"$tmp/busy.conf"
python3 -c "
import socket, subprocess, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(1)
r = subprocess.run(['$bin', '-c', '$tmp/busy.conf'], capture_output=True)
print(r.returncode, r.stderr.decode().strip().splitlines()[-1:])
" >"$tmp/busy.out" 2>&1
case "$(cat "$tmp/busy.out")" in
"1 "*cannot*) ok "a busy port: exit 1 with the reason on stderr" ;;
*)	not_ok "a busy port: exit 1 with the reason on stderr" "$(cat "$tmp/busy.out")" ;;
esac

if [ "$fail" -gt 0 ]; then
	echo "# daemon log:"
	sed 's/^/#   /' "$tmp/daemon.log" | tail -40
fi
echo "1..$n"
[ "$fail" -eq 0 ]
