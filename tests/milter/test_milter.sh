#!/bin/sh
# test_milter.sh: drive the real daemon (milter/mta-sts-milter -f) over its
# unix socket with miltertest(8) Lua scripts.  Policies are pre-seeded in a
# temporary SQLite database (sql/schema.sql), DNS is libunbound local data
# (TXT and MX records under a static "test." zone), and SendmailPath is a
# script that stores each DSN it is given, so nothing leaves the host.
# Checks the milter replies (in the scripts), the decision log lines and
# the DSN text (here), then reloads: a change of the per-domain controls
# applies to the next message, a burst of SIGHUPs leaves the milter
# serving, and a broken file keeps the running configuration.  A missing
# tool is named and the test skipped (77).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
daemon=${1:-$top_builddir/milter/mta-sts-milter}
here=$top_srcdir/tests/milter

for tool in miltertest sqlite3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool not found (Debian package: $tool)"
		exit 77
	fi
done
[ -x "$daemon" ] || { echo "test_milter.sh: $daemon not built" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_milter.XXXXXX") || exit 99
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

. "$top_srcdir/tests/tap.sh"

# ------------------------------------------------------------ database
now=$(date +%s)
sqlite3 "$tmp/policies.db" <"$top_srcdir/sql/schema.sql" || exit 99
policy() {	# domain id mode mx
	echo "INSERT INTO policies (domain, policy_id, mode, max_age, mx,
	    fetched_at, expires_at, txt_checked_at)
	    VALUES ('$1', '$2', '$3', 86400, '$4', $((now - 600)),
	    $((now - 600 + 86400)), $((now - 30)));"
}
{
	policy good.test g1 enforce mx1.good.test
	policy defer.test d1 enforce mx.elsewhere.test
	policy reject.test r1 enforce mx.elsewhere.test
	policy bounce.test b1 enforce mx.elsewhere.test
	policy testing.test t1 testing mx.elsewhere.test
	policy skip.test s1 enforce mx.elsewhere.test
	policy routed.test o1 enforce mx.elsewhere.test
	policy forced.test f1 testing mx.elsewhere.test
} | sqlite3 "$tmp/policies.db" || exit 99

# ------------------------------------------------------------ DNS
{
	printf 'server:\n\tverbosity: 0\n'
	printf '\tdo-not-query-address: 0.0.0.0/0\n\tdo-not-query-address: ::/0\n'
	printf '\tlocal-zone: "test." static\n'
	for d in good:g1 defer:d1 reject:r1 bounce:b1 testing:t1 skip:s1 \
	    routed:o1 forced:f1; do
		printf "\tlocal-data: '_mta-sts.%s.test. 300 IN TXT \"v=STSv1; id=%s\"'\n" \
		    "${d%%:*}" "${d#*:}"
		printf '\tlocal-data: "%s.test. 300 IN MX 10 mx1.%s.test."\n' \
		    "${d%%:*}" "${d%%:*}"
	done
} >"$tmp/unbound.conf"

# ------------------------------------------------------------ fake sendmail
cat >"$tmp/sendmail" <<SH
#!/bin/sh
# Stores each DSN as dsn-<recipient>.msg with its arguments beside it.
case "\$5" in
fail@*)	echo "fake sendmail: refusing \$5" >&2; exit 75 ;;
esac
printf '%s\n' "\$@" >"$tmp/dsn-\$5.args"
cat >"$tmp/dsn-\$5.msg"
SH
chmod 755 "$tmp/sendmail"

cat >"$tmp/milter.conf" <<CONF
Syslog			no
LogLevel		debug
Socket			unix:$tmp/milter.sock
SocketMode		0660
PidFile			$tmp/milter.pid
Database		$tmp/policies.db
ResolverConfig		$tmp/unbound.conf
DnsTimeout		2s
RcptTimeout		5s
SkipDomains		skip.test
RoutedDomains		routed.test
EnforceDomains		forced.test, forcednone.test
DomainFailureAction	reject.test:reject, bounce.test:bounce
TestingHeader		yes
MxProbe			no
SendmailPath		$tmp/sendmail
CONF
chmod 600 "$tmp/milter.conf"

"$daemon" -f -c "$tmp/milter.conf" 2>"$tmp/daemon.log" &
pid=$!
i=0
while [ ! -S "$tmp/milter.sock" ] && [ $i -lt 100 ]; do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
if [ ! -S "$tmp/milter.sock" ]; then
	echo "not ok 1 - the daemon did not open its socket"
	sed 's/^/#   /' "$tmp/daemon.log"
	exit 1
fi
ok "daemon started, milter socket open"
mode=$(stat -c %a "$tmp/milter.sock")
[ "$mode" = 660 ] && ok "SocketMode applied" || not_ok "SocketMode: $mode"

for script in rcpt bounce; do
	if miltertest -D sock="$tmp/milter.sock" -D libdir="$here" \
	    -s "$here/$script.lua" >"$tmp/$script.out" 2>&1; then
		ok "miltertest $script.lua"
	else
		not_ok "miltertest $script.lua"
	fi
	sed 's/^/#   /' "$tmp/$script.out"
done

log=$tmp/daemon.log
check "decision line: match" "$log" "QIDRCPT: rcpt domain=good.test mode=enforce policy_id=g1 mx=mx1.good.test verdict=accept reason=mx-match dane=- probe=-"
check "decision line: defer" "$log" "QIDRCPT: rcpt domain=defer.test mode=enforce policy_id=d1 mx=- verdict=defer reason=no-mx-match"
check "reply: 451 4.7.5 with the text" "$log" "QIDRCPT: reply 451 4.7.5 MTA-STS policy for defer.test cannot be satisfied: no MX host matches the policy"
check "decision line: reject" "$log" "domain=reject.test mode=enforce policy_id=r1 mx=- verdict=reject reason=no-mx-match"
check "reply: 550 5.7.5 with the text" "$log" "QIDRCPT: reply 550 5.7.5 MTA-STS policy for reject.test cannot be satisfied: no MX host matches the policy"
check "local mailer skipped" "$log" "rcpt <bob@defer.test>: mailer local does not use SMTP"
check "decision line: literal" "$log" "domain=[192.0.2.1] mode=- policy_id=- mx=- verdict=accept reason=address-literal"
check "decision line: no policy" "$log" "domain=nopolicy.test mode=- policy_id=- mx=- verdict=accept reason=no-policy:no-txt"
check "decision line: skipped" "$log" "domain=skip.test mode=- policy_id=- mx=- verdict=accept reason=skipped"
check "decision line: routed" "$log" "domain=routed.test mode=- policy_id=- mx=- verdict=accept reason=routed"
check "decision line: EnforceDomains enforces testing" "$log" "domain=forced.test mode=testing policy_id=f1 mx=- verdict=defer reason=no-mx-match"
check "reply: EnforceDomains names the domain and reason" "$log" "reply 451 4.7.5 MTA-STS policy for forced.test cannot be satisfied: no MX host matches the policy"
check "decision line: EnforceDomains without policy" "$log" "domain=forcednone.test mode=- policy_id=- mx=- verdict=defer reason=required:no-policy-no-txt"
check "reply: EnforceDomains without policy" "$log" "reply 451 4.7.5 MTA-STS policy for forcednone.test is required but not available (no-txt)"
check "decision line: testing would fail" "$log" "domain=testing.test mode=testing policy_id=t1 mx=- verdict=testing reason=would-fail:no-mx-match"
check "decision line: bounce" "$log" "QIDBOUNCE: rcpt domain=bounce.test mode=enforce policy_id=b1 mx=- verdict=bounce reason=no-mx-match"
check "decision line: null sender" "$log" "QIDNULL: rcpt domain=bounce.test mode=enforce policy_id=b1 mx=- verdict=reject reason=no-mx-match:null-sender"
check "DSN logged" "$log" "QIDBOUNCE: dsn to=<alice@example.org> recipients=1 status=sent"
check "all bounced: discarded" "$log" "QIDALL: every recipient bounced; message discarded"
check "DSN failure logged" "$log" "QIDFAIL: cannot send the DSN to <fail@example.org>:"
check "DSN failure names the command's error" "$log" "fake sendmail: refusing fail@example.org"

dsn=$tmp/dsn-alice@example.org.msg
args=$tmp/dsn-alice@example.org.args
if [ -f "$dsn" ]; then
	ok "DSN submitted for alice@example.org"
else
	not_ok "DSN submitted for alice@example.org"
	: >"$dsn"
	: >"$args"
fi
if [ "$(tr '\n' ' ' <"$args")" = "-f <> -oi -- alice@example.org " ]; then
	ok "sendmail -f <> -oi -- sender"
else
	not_ok "sendmail arguments: $(tr '\n' ' ' <"$args")"
fi
check "DSN: To the sender" "$dsn" "To: <alice@example.org>"
check "DSN: multipart/report" "$dsn" "Content-Type: multipart/report; report-type=delivery-status;"
check "DSN: delivery-status part" "$dsn" "Content-Type: message/delivery-status"
check "DSN: Final-Recipient" "$dsn" "Final-Recipient: rfc822; dave@bounce.test"
check "DSN: Action failed" "$dsn" "Action: failed"
check "DSN: Status 5.7.5" "$dsn" "Status: 5.7.5"
check "DSN: Diagnostic-Code" "$dsn" "Diagnostic-Code: smtp; 550 5.7.5 MTA-STS policy for bounce.test cannot be satisfied: no MX host matches the policy"
check "DSN: queue id" "$dsn" "X-Queue-ID: QIDBOUNCE"
check "DSN: original headers part" "$dsn" "Content-Type: text/rfc822-headers"
check "DSN: original header kept" "$dsn" "Message-ID: <orig-1@example.org>"
if grep -q "bob@good.test" "$dsn"; then
	not_ok "DSN names only the bounced recipient"
else
	ok "DSN names only the bounced recipient"
fi
check "DSN for the all-bounced message" "$tmp/dsn-erin@example.org.msg" "Final-Recipient: rfc822; frank@bounce.test"
[ ! -e "$tmp/dsn-fail@example.org.msg" ] && ok "failed DSN left nothing" ||
    not_ok "failed DSN left a file"

# ------------------------------------------------------------ reloads
# reload_mt WANT WHAT: one message to bob@defer.test; WANT is the reply
reload_mt() {
	if miltertest -D sock="$tmp/milter.sock" -D libdir="$here" \
	    -D want="$1" -s "$here/reload.lua" >"$tmp/reload.out" 2>&1; then
		ok "$2"
	else
		not_ok "$2"
		sed 's/^/#   /' "$tmp/reload.out"
	fi
}
# wait_log PATTERN N: until PATTERN occurs N times in the log (5 s at most)
wait_log() {
	i=0
	while [ "$(grep -c -- "$1" "$log")" -lt "$2" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(grep -c -- "$1" "$log")" -ge "$2" ]
}
cp "$tmp/milter.conf" "$tmp/milter.conf.orig"
reload_mt tempfail "before a reload: defer.test is deferred"
echo "SkipDomains defer.test" >>"$tmp/milter.conf"
kill -HUP "$pid"
wait_log "reloaded $tmp/milter.conf: 1 change applied" 1 &&
    ok "SIGHUP: the reload is logged with one change applied" ||
    not_ok "SIGHUP: the reload is logged with one change applied"
reload_mt continue "SIGHUP: SkipDomains defer.test applies to the next message"
check "decision line after the reload: skipped" "$log" "QIDRELOAD: rcpt domain=defer.test mode=- policy_id=- mx=- verdict=accept reason=skipped"
# A burst: libmilter's own signal thread stops the milter on SIGHUP if
# it ever gets one; the daemon must take every one of them itself.
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	kill -HUP "$pid"
done
sleep 1
kill -0 "$pid" 2>/dev/null && ok "20 SIGHUPs in a row: still running" ||
    not_ok "20 SIGHUPs in a row: still running"
reload_mt continue "20 SIGHUPs in a row: the milter still answers"
echo "NoSuchParameter 1" >>"$tmp/milter.conf"
kill -HUP "$pid"
wait_log "reload of $tmp/milter.conf failed" 1 &&
    ok "SIGHUP with a broken file: the failure is logged" ||
    not_ok "SIGHUP with a broken file: the failure is logged"
check "SIGHUP with a broken file: the problem names file:line" "$log" "milter.conf:$(wc -l <"$tmp/milter.conf" | tr -d ' '): unknown parameter 'NoSuchParameter'"
reload_mt continue "SIGHUP with a broken file: the running configuration stays"
cp "$tmp/milter.conf.orig" "$tmp/milter.conf"
n_rel=$(grep -c "reloaded $tmp/milter.conf" "$log")
kill -USR1 "$pid"
wait_log "reloaded $tmp/milter.conf" $((n_rel + 1)) &&
    ok "SIGUSR1 reloads too" || not_ok "SIGUSR1 reloads too"
reload_mt tempfail "SkipDomains entry removed: defer.test deferred again"

# ------------------------------------------------------------ SIGTERM
# A message in progress when SIGTERM comes is served to its end, a new
# one is refused for now, and the daemon exits 0 once the first is done.
rm -f "$tmp/drain.ready"
miltertest -D sock="$tmp/milter.sock" -D libdir="$here" \
    -D ready="$tmp/drain.ready" -s "$here/drain.lua" >"$tmp/drain.out" 2>&1 &
mtpid=$!
i=0
while [ ! -e "$tmp/drain.ready" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill "$pid"
sleep 0.3
if miltertest -D sock="$tmp/milter.sock" -D libdir="$here" \
    -s "$here/stopping.lua" >"$tmp/stopping.out" 2>&1; then
	ok "SIGTERM: a new message meanwhile is refused with 451"
else
	not_ok "SIGTERM: a new message meanwhile is refused with 451"
	sed 's/^/#   /' "$tmp/stopping.out"
fi
if wait "$mtpid"; then
	ok "SIGTERM: the session in progress was served to its end"
else
	not_ok "SIGTERM: the session in progress was served to its end"
	sed 's/^/#   /' "$tmp/drain.out"
fi
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] && ok "daemon stopped cleanly on SIGTERM" ||
    not_ok "daemon exit status $rc on SIGTERM"
if awk '/signal 15: stopping/ {s = NR} /QIDDRAIN: rcpt domain=defer.test/ {d = NR}
    /info: stopped$/ {e = NR} END {exit !(s && d > s && e > d)}' "$log"; then
	ok "log: stop signal, then the session's last decision, then stopped"
else
	not_ok "log: stop signal, then the session's last decision, then stopped"
fi
if [ $fail -ne 0 ] || [ -n "${VERBOSE_LOG:-}" ]; then
	echo "# daemon log:"
	sed 's/^/#   /' "$log"
fi
echo "1..$n"
[ $fail -eq 0 ]
