#!/bin/bash
# main-job.sh: the README's first quick-start command.  On a fresh Debian 12
# machine, as root: install what is needed, build, and run the main job on
# the loopback lab:
#
#   1. bring up the lab (tests/lab/lab-up.sh: a network namespace with DNS on
#      port 53, HTTPS policy hosts, SMTP sinks as MX hosts on port 25) and a
#      real Postfix 3.7 configured from etc/postfix-main.cf (mta-up.sh);
#   2. start mta-sts-milter (milter + TLS policy map) with the sample
#      etc/mta-sts-milter.conf and the lab's settings (daemon-lib.sh);
#   3. send one message to each kind of lab domain through Postfix (and one
#      with Postfix's sendmail command, which passes no milter, to show the
#      policy map protecting it alone);
#   4. print, for each recipient, the daemon's verdict at RCPT time, what the
#      policy map tells Postfix at delivery time, and where the message went
#      and how (from the sinks' log: MX, TLS version, SNI), or that it was
#      refused, deferred (and is still queued) or bounced (with the DSN in
#      the sender's mailbox);
#   5. show the policy store (sqlite3, queries from sql/queries.sql);
#   6. tear the lab down.
# Exit status 0 only when every recipient had the expected outcome.
#
# Env: LAB (default /tmp/mtasts-main), LAB_NETNS (default mtasts-main),
# BUILD (default ./build; the build goes to $BUILD/default), REBUILD=0 to
# reuse an existing build, MAIN_WAIT (seconds to wait for outcomes, 90),
# MAIN_KEEP=1 to leave the lab running (stop it with tests/lab/lab-down.sh).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}/default
export LAB=${LAB:-/tmp/mtasts-main}
export LAB_NETNS=${LAB_NETNS:-mtasts-main}
WAIT=${MAIN_WAIT:-90}
lab=$top/tests/lab

die()	{ echo "main-job: $*" >&2; exit 1; }
step()	{ printf '\n== %s\n' "$*"; }

[ "$(id -u)" = 0 ] || die "run as root: the lab needs network namespaces"

step "dependencies"
"$top/tests/setup-deps.sh" || die "cannot install the Debian packages"

step "build ($build)"
if [ ! -x "$build/milter/mta-sts-milter" ] || [ "${REBUILD:-1}" = 1 ]; then
	(cd "$top" && autoreconf -fi) >/dev/null 2>&1 || die "autoreconf failed"
	mkdir -p "$build"
	(cd "$build" && "$top/configure" -q >/dev/null &&
	    make -j"$(nproc)" >make.out 2>&1) ||
	    { tail -n 30 "$build/make.out" 2>/dev/null; die "build failed"; }
fi
daemon=$build/milter/mta-sts-milter
"$daemon" -V || die "no daemon at $daemon"

# shellcheck source=lab/lab-lib.sh
. "$lab/lab-lib.sh"
# shellcheck source=lab/mta-lib.sh
. "$lab/mta-lib.sh"
# shellcheck source=lab/daemon-lib.sh
. "$lab/daemon-lib.sh"
lab_check_env

teardown() {
	rc=$?
	trap - EXIT INT TERM
	if [ "${MAIN_KEEP:-0}" = 1 ]; then
		echo "main-job: lab left running; stop it with: LAB=$LAB LAB_NETNS=$LAB_NETNS $lab/lab-down.sh"
	else
		step "tear-down"
		keep=0
		[ "$rc" = 0 ] || keep=1
		KEEP_LAB=$keep "$lab/lab-down.sh" >/dev/null 2>&1 ||
		    echo "main-job: lab-down.sh failed"
		[ $keep = 1 ] && echo "logs kept in $LAB/logs: daemon.out (the daemon), postfix.log, sink.jsonl (the sinks); remove with: rm -rf $LAB"
		echo "lab stopped: namespace $LAB_NETNS removed"
	fi
	exit "$rc"
}
trap teardown EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------- up
step "loopback lab (LAB=$LAB, network namespace $LAB_NETNS)"
if lab_netns_exists || [ -e "$LAB/pids" ]; then
	KEEP_LAB=0 "$lab/lab-down.sh" >/dev/null 2>&1 || die "cannot clear an old lab at $LAB"
fi
"$lab/lab-up.sh" >"/tmp/main-job-up.$$" 2>&1 ||
    { cat "/tmp/main-job-up.$$"; rm -f "/tmp/main-job-up.$$"; die "lab-up.sh failed"; }
rm -f "/tmp/main-job-up.$$"
"$lab/mta-up.sh" sinks postfix >"$LAB/logs/mta-up.log" 2>&1 ||
    { cat "$LAB/logs/mta-up.log"; die "mta-up.sh failed"; }
echo "DNS (nsd + unbound), HTTPS policy hosts (nginx), $(grep -vc '^#' "$LAB/sinks") SMTP sinks on port 25"
echo "Postfix $("$lab/mta-exec.sh" postfix postconf -h mail_version) on $MTA_POSTFIX_IP:25, main.cf from etc/postfix-main.cf:"
"$lab/mta-exec.sh" postfix postconf smtpd_milters milter_default_action \
    smtp_tls_policy_maps smtp_tls_security_level | sed 's/^/    /'

BOUNCE=enforce-bounce.sts-lab.test
daemon_conf "DomainFailureAction $BOUNCE:bounce" \
    "SendmailPath $(mta_dsn_wrapper postfix)" "TestingHeader yes"
daemon_start "$daemon" || { tail -n 20 "$DAEMON_LOG"; die "the daemon did not start"; }
echo "mta-sts-milter $("$daemon" -V | awk '{print $2}'): milter $MTA_DAEMON_IP:$MTA_MILTER_PORT, policy map $MTA_DAEMON_IP:$MTA_MAP_PORT"
echo "    configuration: etc/mta-sts-milter.conf + $(grep -c '^[A-Z]' "$DAEMON_CONF") lab lines ($DAEMON_CONF)"
echo "    DomainFailureAction $BOUNCE:bounce, everything else the defaults (FailureAction defer)"

# ---------------------------------------------------------------- send
# how|domain|expected outcome|what the domain is; how: smtp (through
# Postfix's smtpd and so the milter) or local (Postfix's sendmail command:
# no milter, only the policy map at delivery time)
cases="smtp|enforce.sts-lab.test|delivered-tls|enforce policy, the MX hosts match it
smtp|gmail.com|delivered-tls|enforce, Google's published policy (a copy in the lab)
smtp|wildcard.sts-lab.test|delivered-tls|enforce, MX hosts under a *. pattern
smtp|testing.sts-lab.test|delivered|testing policy: reported, not enforced
smtp|none.sts-lab.test|delivered|policy in mode none (withdrawn)
smtp|no-txt.sts-lab.test|delivered|no MTA-STS policy at all
smtp|mismatch.sts-lab.test|refused|enforce, no MX host matches the policy
smtp|enforce-badcert.sts-lab.test|refused|enforce, MX certificate for another name (STARTTLS probe)
smtp|enforce-notls.sts-lab.test|refused|enforce, MX offers no STARTTLS (STARTTLS probe)
local|enforce-badcert.sts-lab.test|deferred|the same, submitted locally: only the policy map protects it
smtp|$BOUNCE|bounced|enforce, no MX matches, DomainFailureAction bounce"

run=$(date +%H%M%S)
sender=alice-$run@mailbox.sts-lab.test
step "sending one message per case through Postfix, from $sender"
declare -A RC SUBJ RCPT
while IFS='|' read -r how dom _ _; do
	k=$how-$dom
	s="MTASTS-E2E-main-$run-$k"	# a token the sinks find in DSNs too
	if [ "$how" = smtp ]; then
		r=bob@$dom
		"$lab/send.sh" postfix "$sender" "$r" "$s" >"$LAB/logs/swaks-$k.log" 2>&1
		RC[$k]=$?
		reply=$(grep '^<\*\* ' "$LAB/logs/swaks-$k.log" | head -n 1 | sed 's/^<\*\* //')
		reply=${reply:-accepted (250)}
	else
		r=carol@$dom
		printf 'From: %s\nTo: %s\nSubject: %s\n\nsubmitted with sendmail(1)\n' \
		    "$sender" "$r" "$s" |
		    "$lab/mta-exec.sh" postfix sendmail -f "$sender" "$r" >/dev/null 2>&1
		RC[$k]=$?
		reply="queued by Postfix's sendmail command (rc ${RC[$k]})"
	fi
	SUBJ[$k]=$s
	RCPT[$k]=$r
	printf '    %-34s %s\n' "$r" "$reply"
done <<<"$cases"

# ---------------------------------------------------------------- outcomes
# outcome HOW-DOMAIN -> one line: delivered|deferred|refused|bounced|pending, details
sink() { "$lab/sink-log.sh" "$@" 2>/dev/null; }
outcome() {
	local k=$1 r=${RCPT[$1]} s=${SUBJ[$1]} rec why
	if [ "${RC[$k]}" = 24 ]; then
		echo "refused $(grep '^<\*\* ' "$LAB/logs/swaks-$k.log" | head -n 1 | sed 's/^<\*\* //')"
		return
	fi
	if rec=$(sink --json --subject "$s" | head -n 1) && [ -n "$rec" ]; then
		echo "delivered $(echo "$rec" | "$LAB_PYTHON" -c '
import json, sys
r = json.loads(sys.stdin.read())
tls = r.get("tls_version") or "no TLS"
print("to %s (%s) over %s, SNI %s" % (r["mx_name"], r["mx_ip"], tls, r.get("sni") or "none"))')"
		return
	fi
	if sink --dsn --to "$sender" --token "$s" >/dev/null; then
		echo "bounced the DSN reached the sender's mailbox ($(sink --json --dsn --to "$sender" --token "$s" |
		    head -n 1 | "$LAB_PYTHON" -c 'import json,sys; print(json.loads(sys.stdin.read())["mx_name"])'))"
		return
	fi
	why=$(grep -F "to=<$r>" "$LAB/logs/postfix.log" | grep 'status=deferred' | tail -n 1 |
	    sed -n 's/.*status=deferred (\(.*\))$/\1/p')
	if [ -n "$why" ] && "$lab/mta-exec.sh" postfix postqueue -p 2>/dev/null | grep -qiF "$r"; then
		echo "deferred still queued: $why"
		return
	fi
	echo "pending nothing yet"
}
settled() {
	local how dom want got
	while IFS='|' read -r how dom want _; do
		got=$(outcome "$how-$dom")
		case $want in
		delivered*) [ "${got%% *}" = delivered ] || return 1 ;;
		bounced) [ "${got%% *}" = bounced ] || return 1 ;;
		*) [ "${got%% *}" != pending ] || return 1 ;;
		esac
	done <<<"$cases"
}
step "waiting for every message to be delivered, deferred or bounced (up to $WAIT s)"
i=0
while ! settled && [ $i -lt "$WAIT" ]; do
	sleep 1
	i=$((i + 1))
done
echo "settled after $i s"

verdict() {	# the daemon's first decision line for the domain
	grep -F ": rcpt domain=$1 " "$DAEMON_LOG" | head -n 1 |
	    sed 's/^mta-sts-milter: info: \([^:]*\): rcpt /\1: /'
}
mapreply() {	# what Postfix is told at delivery time
	local r
	r=$(ip netns exec "$LAB_NETNS" "$LAB_PYTHON" "$top/tests/mapd/nsclient.py" \
	    query "$MTA_DAEMON_IP:$MTA_MAP_PORT" "$1" 2>&1)
	case $r in
	"NOTFOUND ") echo "NOTFOUND (Postfix applies smtp_tls_security_level = may)" ;;
	*) echo "$r" ;;
	esac
}

step "per recipient: the verdict, the policy map's answer, the outcome"
good=0
bad=0
while IFS='|' read -r how dom want what; do
	k=$how-$dom
	got=$(outcome "$k")
	kind=${got%% *}
	detail=${got#* }
	ok=no
	case $want in
	delivered-tls)
		[ "$kind" = delivered ] && ! echo "$detail" | grep -q 'no TLS' &&
		    echo "$detail" | grep -q 'SNI [a-z]' && ok=yes ;;
	delivered) [ "$kind" = delivered ] && ok=yes ;;
	refused) [ "$kind" = refused ] && ok=yes ;;
	deferred) [ "$kind" = deferred ] && ok=yes ;;
	bounced)
		[ "$kind" = bounced ] && ! sink --subject "${SUBJ[$k]}" --to "${RCPT[$k]}" >/dev/null &&
		    ok=yes ;;
	esac
	printf '\n%s  (%s)\n' "${RCPT[$k]}" "$what"
	if [ "$how" = smtp ]; then
		printf '    verdict   %s\n' "$(verdict "$dom" | sed 's/^[^:]*: //')"
	else
		printf '    verdict   none: the sendmail command passes no milter\n'
	fi
	printf '    map       %s\n' "$(mapreply "$dom")"
	printf '    outcome   %s: %s\n' "$kind" "$detail"
	if [ $ok = yes ]; then
		printf '    expected  %s: yes\n' "$want"
		good=$((good + 1))
	else
		printf '    expected  %s: NO\n' "$want"
		bad=$((bad + 1))
	fi
done <<<"$cases"
plain=$(sink --plain --json | "$LAB_PYTHON" -c '
import json, sys
enf = {"enforce.sts-lab.test", "gmail.com", "wildcard.sts-lab.test",
       "enforce-badcert.sts-lab.test", "enforce-notls.sts-lab.test"}
print(sum(1 for l in sys.stdin for t in json.loads(l)["to"] if t.rpartition("@")[2].lower() in enf))')
printf '\nnothing reached an enforce domain without TLS: '
if [ "$plain" = 0 ]; then echo yes; else echo "NO ($plain messages)"; bad=$((bad + 1)); fi

# ---------------------------------------------------------------- store
step "the policy store ($DAEMON_DB, sqlite3 -readonly)"
sql() { sqlite3 -readonly -box "$DAEMON_DB" "$@" 2>&1 | sed 's/^/    /'; }
query() {	# the query of sql/queries.sql under the comment that starts with $1
	awk -v t="-- $1" 'index($0, t) == 1 {on = 1; next}
	    on && /^$/ {exit} on && !/^--/ {print}' "$top/sql/queries.sql"
}
echo "policies (SELECT domain, mode, policy_id, fetched, expires FROM policy_status):"
sql "SELECT domain, mode, policy_id, fetched, expires FROM policy_status ORDER BY domain;"
for q in "Which domains are enforced right now" \
    "How many policies are there per mode" \
    "Which domains are remembered as having no usable policy"; do
	echo "$q? (sql/queries.sql)"
	sql "$(query "$q")"
done

step "summary"
total=$(echo "$cases" | wc -l)
echo "$good of $total recipients had the expected outcome"
[ $bad -eq 0 ] || echo "$bad problem(s): see the lines marked NO above"
[ $bad -eq 0 ]
