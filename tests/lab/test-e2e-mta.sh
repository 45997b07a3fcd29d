#!/bin/bash
# test-e2e-mta.sh - mta-sts-milter end to end with real Postfix and real Sendmail.
#
# Brings up the loopback lab (lab-up.sh), the SMTP sinks and both MTAs (mta-up.sh),
# and our daemon inside the lab namespace on 127.0.3.2 (milter :2700, socketmap
# policy map :2600); sends with swaks through each MTA to catalogue domains and
# checks, from the sinks' JSON log, the MTA logs and queues:
#   enforce + good MX          delivered over verified TLS, SNI = MX host name
#   enforce + bad MX           (wrong name, self-signed, expired, no STARTTLS, TLS 1.0
#                              only): the daemon's STARTTLS probe fails every MX, so
#                              the recipient is refused at RCPT with the failure
#                              action (451 4.7.5 ... no MX host offers valid TLS);
#                              MX not in policy: refused at RCPT (no MX matches);
#                              never delivered either way
#   testing / none / no policy delivered
#   enforce + wildcard cert    *.domain covers mx1.domain (delivered; Sendmail needs
#                              etc/sendmail-sts-san-fix.sh) but not a.b.domain (never
#                              delivered); the repaired STS_SAN rule, also by sendmail -bt
#   the samples of etc/        the MTAs run with etc/postfix-main.cf and
#                              etc/sendmail-mta-sts.mc (mta-samples.sh), the daemon
#                              with etc/mta-sts-milter.conf (daemon-lib.sh)
#   MapMatchConcreteMx         mail queued without the milter (local submission) to
#                              wildcard-deep (MX two labels below "*."): Postfix
#                              delivers it with the default patterns (note only: its
#                              ".domain" looseness), defers it after a SIGHUP that
#                              turns the mode on; Sendmail defers it either way
#   map server down            deferred, not delivered; delivered once it is back
#   bounce for one domain      (DomainFailureAction enforce-bounce.sts-lab.test:bounce)
#                              accepted, original never delivered, a DSN reaches the
#                              sender's domain sink (mailbox.sts-lab.test); the daemon's
#                              SendmailPath is a wrapper that runs the lab Postfix's
#                              sendmail command (mta_dsn_wrapper in mta-lib.sh)
# TAP output (ok N - ... / not ok N - ...), exit 1 on any failure, 77 when the
# daemon is not built.  Everything is torn down on exit
# (the state dir is kept after a failure, for its logs; nothing keeps running).
#
# Env:
#   LAB, LAB_NETNS     default /tmp/mtasts-e2e, mtasts-e2e (own lab, does not touch
#                      the default one)
#   MILTER_BIN         default <top>/build/default/milter/mta-sts-milter
#   E2E_MTAS           default "postfix sendmail"
#   E2E_WAIT           seconds to wait for a delivery or deferral (default 60)
#   E2E_DAEMON_CONF    extra lines for the daemon's configuration file
#   E2E_DSN_MTA        MTA whose sendmail command carries the DSNs (default: the
#                      first of E2E_MTAS)
#   E2E_KEEP=1         leave everything running at the end (stop with lab-down.sh)
set -u
SRC=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$SRC/../.." && pwd)
export LAB=${LAB:-/tmp/mtasts-e2e}
export LAB_NETNS=${LAB_NETNS:-mtasts-e2e}
. "$SRC/lab-lib.sh"
. "$SRC/mta-lib.sh"
. "$SRC/mta-samples.sh"
. "$SRC/daemon-lib.sh"
lab_check_env
MILTER_BIN=${MILTER_BIN:-$TOP/build/default/milter/mta-sts-milter}
MTAS=${E2E_MTAS:-postfix sendmail}
WAIT=${E2E_WAIT:-60}
RUN=$(date +%H%M%S)
export MTA_DSN_MTA=${E2E_DSN_MTA:-${MTAS%% *}}     # whose sendmail command carries DSNs
T0=$(date +%s)

for t in swaks m4 unshare nsenter ss; do
    command -v $t >/dev/null 2>&1 || { echo "1..0 # SKIP missing tool: $t"; exit 77; }
done
if [ -x "$MILTER_BIN" ]; then
    DAEMON=real
else
    echo "1..0 # SKIP mta-sts-milter not built: $MILTER_BIN"
    exit 77
fi

N=0 FAILS=0
ok()   { N=$((N + 1)); echo "ok $N - $*"; }
nok()  { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
note() { echo "# $*"; }

cleanup() {
    rc=$?
    trap - EXIT INT TERM
    if [ "${E2E_KEEP:-0}" = 1 ]; then
        note "E2E_KEEP=1: lab left running (LAB=$LAB LAB_NETNS=$LAB_NETNS); stop: LAB=$LAB LAB_NETNS=$LAB_NETNS $SRC/lab-down.sh"
    else
        keep=0; [ $FAILS = 0 ] && [ $rc = 0 ] || keep=1
        KEEP_LAB=$keep "$SRC/lab-down.sh" >"$LAB.down.log" 2>&1 || echo "# lab-down.sh FAILED: $(cat "$LAB.down.log")"
        [ $keep = 1 ] && note "state and logs kept in $LAB (logs/), remove with: rm -rf $LAB"
        rm -f "$LAB.down.log"
    fi
    note "total $(( $(date +%s) - T0 )) s"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- up --------------------------------------------------------------------------------
bail() { echo "Bail out! $*"; FAILS=$((FAILS + 1)); exit 1; }
if lab_netns_exists || [ -e "$LAB/pids" ]; then
    KEEP_LAB=0 "$SRC/lab-down.sh" >/dev/null 2>&1 || bail "could not clear an old lab at $LAB"
fi
"$SRC/lab-up.sh" > /tmp/e2e-up.$$ 2>&1 || { cat /tmp/e2e-up.$$; rm -f /tmp/e2e-up.$$; bail "lab-up.sh failed"; }
rm -f /tmp/e2e-up.$$
"$SRC/mta-up.sh" sinks $MTAS > "$LAB/logs/mta-up.log" 2>&1 || { cat "$LAB/logs/mta-up.log"; bail "mta-up.sh failed"; }
note "lab + sinks + $MTAS up after $(( $(date +%s) - T0 )) s (daemon: $DAEMON)"

BOUNCE_DOMAIN=enforce-bounce.sts-lab.test
daemon_conf "FailureAction defer" "DomainFailureAction $BOUNCE_DOMAIN:bounce" \
    "SendmailPath $(mta_dsn_wrapper "$MTA_DSN_MTA")" "LogLevel debug" \
    "${E2E_DAEMON_CONF:-}"
daemon_start "$MILTER_BIN" || bail "daemon did not listen on $MTA_DAEMON_IP:$MTA_MAP_PORT and :$MTA_MILTER_PORT (see $LAB/logs/daemon.out)"
ok "daemon ($DAEMON) listens: milter $MTA_DAEMON_IP:$MTA_MILTER_PORT, map $MTA_DAEMON_IP:$MTA_MAP_PORT"

# ---- helpers ---------------------------------------------------------------------------
SENDER=s-$RUN@mailbox.sts-lab.test
mta_ip() { [ "$1" = postfix ] && echo $MTA_POSTFIX_IP || echo $MTA_SENDMAIL_IP; }
subj() { echo "MTASTS-E2E-$RUN-$1-$2"; }            # MTA CASE
facts_mx() { awk -v d="$1" '$1 == d {print $13}' "$LAB/facts"; }

# sink_rec SUBJECT -> "mx_name sni tls_version peer_ip dsn" of the first delivery, or fails
sink_rec() {
    "$SRC/sink-log.sh" --json --subject "$1" 2>/dev/null | head -n 1 | "$LAB_PYTHON" -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print(r["mx_name"], r.get("sni") or "-", r.get("tls_version") or "-", r["peer"].rsplit(":", 1)[0], r.get("dsn"))
    sys.exit(0)
sys.exit(1)'
}
delivered() { "$SRC/sink-log.sh" --count "$@" 2>/dev/null | grep -qvx 0; }

# wait_for DESC CMD... : poll CMD every second up to WAIT s
wait_for() {
    local i=0
    while [ $i -lt "$WAIT" ]; do "$@" && return 0; sleep 1; i=$((i + 1)); done
    return 1
}
mta_log() { [ "$1" = postfix ] && echo "$LAB/logs/postfix.log" || echo "$LAB/logs/sendmail.log"; }
# attempted MTA RCPT : the MTA logged a deferral or a rejection for RCPT
attempted() {
    local f; f=$(mta_log "$1")
    if [ "$1" = postfix ]; then
        grep -F "to=<$2>" "$f" | grep -qE 'status=(deferred|bounced)|milter-reject|reject:'
    else
        grep -F "$2" "$f" | grep -qE 'stat=Deferred|reject=|stat=queued.*4\.|dsn=4\.'
    fi
}
in_queue() {
    if [ "$1" = postfix ]; then
        "$SRC/mta-exec.sh" postfix postqueue -p 2>/dev/null | grep -qiF "$2"
    else
        # mailq shortens long addresses: look into the queue files (R lines)
        "$SRC/mta-exec.sh" sendmail sh -c 'cat /var/spool/mqueue/qf* 2>/dev/null' | grep -qiF "$2"
    fi
}
flush_queue() {
    if [ "$1" = postfix ]; then "$SRC/mta-exec.sh" postfix postqueue -f >/dev/null 2>&1
    else "$SRC/mta-exec.sh" sendmail sendmail -q >/dev/null 2>&1; fi
}
verified_in_log() {   # MTA MXNAME
    if [ "$1" = postfix ]; then
        grep -qF "Verified TLS connection established to $2[" "$LAB/logs/postfix.log"
    else
        grep -F "STARTTLS=client, relay=$2." "$LAB/logs/sendmail.log" | grep -q 'verify=OK'
    fi
}

# send MTA CASE RCPT [FROM] -> sets SWAKS_RC; the transcript goes to logs/swaks-*.log
send() {
    local from=${4:-$SENDER}
    "$SRC/send.sh" "$1" "$from" "$3" "$(subj "$1" "$2")" > "$LAB/logs/swaks-$1-$2.log" 2>&1
    SWAKS_RC=$?
}

# ---- 0. the MTAs run the samples of etc/ -----------------------------------------------------
for m in $MTAS; do
    if [ "$m" = postfix ]; then
        want=$(mta_sample_postfix | sed -n 's/^smtp_tls_policy_maps = //p')
        check "postfix: main.cf holds etc/postfix-main.cf (smtp_tls_policy_maps = $want)" \
            test "$("$SRC/mta-exec.sh" postfix postconf -h smtp_tls_policy_maps 2>/dev/null)" = "$want"
        check "postfix: smtpd_milters and milter_default_action = tempfail from the sample" \
            test "$("$SRC/mta-exec.sh" postfix postconf -h smtpd_milters milter_default_action 2>/dev/null | tr '\n' ' ')" = \
            "inet:$MTA_DAEMON_IP:$MTA_MILTER_PORT tempfail "
    else
        cf=$("$SRC/mta-exec.sh" sendmail cat /etc/mail/sendmail.cf 2>/dev/null)
        check "sendmail: sendmail.cf has FEATURE(sts) of etc/sendmail-mta-sts.mc" \
            eval 'echo "$cf" | grep -qxF "Ksts socket -d5 -T<TMPF> inet:$MTA_MAP_PORT@$MTA_DAEMON_IP"'
        check "sendmail: sendmail.cf has the milter with F=T" \
            eval 'echo "$cf" | grep -q "^Xmta-sts, S=inet:$MTA_MILTER_PORT@$MTA_DAEMON_IP, F=T, "'
        check "sendmail: etc/sendmail-sts-san-fix.sh repaired the wildcard SAN rule" \
            eval 'echo "$cf" | grep -qxF "# wildcard SAN rule repaired by sendmail-sts-san-fix.sh"'
        # The repaired ruleset itself, by address test mode: *.x covers one label.
        bt=$(printf '%s\n' '.C{cert_altnames}*.wild.example' '.C{cert_altnames}exact.example' \
            '.D{server_name}mx1.wild.example' 'STS_SAN x' '.D{server_name}a.b.wild.example' 'STS_SAN x' \
            '.D{server_name}wild.example' 'STS_SAN x' '.D{server_name}exact.example' 'STS_SAN x' \
            '.D{server_name}mx1.other.example' 'STS_SAN x' |
            timeout 30 "$SRC/mta-exec.sh" sendmail sendmail -bt -C /etc/mail/sendmail.cf 2>&1 |
            sed -n 's/^STS_SAN *returns: //p' | sed 's/\$# error.*not listed in SANs/refused/' | tr '\n' ' ')
        check "sendmail -bt STS_SAN: *.wild.example covers mx1.wild.example only (got: $bt)" \
            test "$bt" = "ok refused refused ok refused "
    fi
done

# ---- 1. deliveries -------------------------------------------------------------------------
GOOD="enforce wildcard gmail.com testing none no-txt testing-notls enforce-wildcert"
BAD_TLS="enforce-badcert enforce-selfsigned enforce-expired enforce-notls enforce-tls10 enforce-wildcert-deep"
BAD_MATCH="mismatch wildcard-deep"
BAD="$BAD_TLS $BAD_MATCH"
dom_of() { case $1 in *.*) echo "$1" ;; *) echo "$1.sts-lab.test" ;; esac; }
declare -A RC
for m in $MTAS; do
    for c in $GOOD $BAD; do
        send "$m" "$c" "u-$m@$(dom_of "$c")"
        RC[$m.$c]=$SWAKS_RC
    done
done
note "sent $(( $(echo $MTAS | wc -w) * $(echo $GOOD $BAD | wc -w) )) messages"

for m in $MTAS; do
    for c in $GOOD; do
        d=$(dom_of "$c"); s=$(subj "$m" "$c")
        if [ "${RC[$m.$c]}" != 0 ]; then
            nok "$m: $d accepted by the MTA (swaks rc ${RC[$m.$c]}, see logs/swaks-$m-$c.log)"
            continue
        fi
        if ! wait_for delivered --subject "$s"; then
            nok "$m: $d delivered within $WAIT s"
            continue
        fi
        read -r mx sni ver peer dsn < <(sink_rec "$s")
        expect=$(awk -v d="$d" '$1 == d {print $2}' "$LAB/facts")
        case ",$(facts_mx "$d")," in
            *",$mx,"*) ;;
            *) nok "$m: $d delivered to one of its MX hosts (got $mx)"; continue ;;
        esac
        if [ "$expect" = enforce ]; then
            check "$m: enforce $d delivered over TLS ($ver) to $mx, SNI $sni" \
                test "$ver" != - -a "$sni" = "$mx" -a "$peer" = "$(mta_ip "$m")"
            check "$m: enforce $d: $(basename "$(mta_log "$m")") shows a verified TLS connection to $mx" \
                verified_in_log "$m" "$mx"
        else
            ok "$m: $expect $d delivered to $mx (tls=${ver}, sni=$sni)"
        fi
    done
done

# the RCPT reply for a bad-MX domain, as the MTA logged it
refused_with() {   # MTA RCPT TEXT
    local f; f=$(mta_log "$1")
    if [ "$1" = postfix ]; then
        grep -F "milter-reject: RCPT" "$f" | grep -F "to=<$2>" | grep -qF "$3"
    else
        grep -F "$2" "$f" | grep -F "reject=" | grep -qF "$3"
    fi
}
for m in $MTAS; do
    for c in $BAD_TLS; do
        d=$(dom_of "$c"); s=$(subj "$m" "$c"); r=u-$m@$d
        check "$m: $d (every MX fails its STARTTLS probe) refused at RCPT with 451 4.7.5, never delivered" \
            eval "test ${RC[$m.$c]} = 24 && refused_with $m $r '451 4.7.5 MTA-STS policy for $d cannot be satisfied: no MX host offers valid TLS' && ! delivered --subject $s"
    done
    for c in $BAD_MATCH; do
        d=$(dom_of "$c"); s=$(subj "$m" "$c"); r=u-$m@$d
        case ${RC[$m.$c]} in
            0)  if wait_for attempted "$m" "$r"; then
                    check "$m: $d (bad MX) deferred and still queued, never delivered" \
                        eval "in_queue $m $r && ! delivered --subject $s"
                else
                    nok "$m: $d: no deferral logged within $WAIT s"
                fi ;;
            24) check "$m: $d (bad MX) rejected at RCPT, never delivered" \
                    eval "attempted $m $r && ! delivered --subject $s" ;;
            *)  nok "$m: $d: unexpected swaks rc ${RC[$m.$c]} (logs/swaks-$m-$c.log)" ;;
        esac
    done
done

# ---- 2. bounce for one domain (DomainFailureAction) -------------------------------------------
for m in $MTAS; do
    from=b-$RUN-$m@mailbox.sts-lab.test
    send "$m" bounce "u-$m@enforce-bounce.sts-lab.test" "$from"
    if [ "$SWAKS_RC" != 0 ]; then
        nok "$m: bounce mode: message accepted (swaks rc $SWAKS_RC)"
        continue
    fi
    if wait_for delivered --dsn --to "$from"; then
        ok "$m: bounce mode: a DSN reached the sender $from"
    else
        nok "$m: bounce mode: DSN to $from within $WAIT s"
    fi
    check "$m: bounce mode: original never delivered to enforce-bounce" \
        eval "! delivered --subject $(subj "$m" bounce)"
done

# ---- 3. MapMatchConcreteMx: mail queued without the milter -------------------------------------
# local submission (no milter on that path) to wildcard-deep: its MX a.b.mx.<domain> is
# two labels below the policy's *.mx.<domain>, and its certificate is good for that name
submit_local() {   # MTA RCPT SUBJECT
    printf 'From: %s\nTo: %s\nSubject: %s\n\nqueued without the milter\n' "$SENDER" "$2" "$3" |
        "$SRC/mta-exec.sh" "$1" sendmail -f "$SENDER" "$2" >/dev/null 2>&1
}
deep_outcome() {   # MTA RCPT SUBJECT -> delivered | deferred | none
    local i=0
    while [ $i -lt "$WAIT" ]; do
        delivered --subject "$3" && { echo delivered; return; }
        attempted "$1" "$2" && { echo deferred; return; }
        sleep 1; i=$((i + 1))
    done
    echo none
}
for m in $MTAS; do
    r=u-$m-pat@wildcard-deep.sts-lab.test; s=$(subj "$m" deep-patterns)
    submit_local "$m" "$r" "$s"
    o=$(deep_outcome "$m" "$r" "$s")
    if [ "$m" = postfix ]; then
        note "postfix, default patterns (match=.mx.wildcard-deep...): the queued message was $o (Postfix 3.7 reads .domain at any depth)"
    else
        check "sendmail, default patterns: two labels below *. deferred ($o), one label only" test "$o" = deferred
    fi
done
if daemon_conf "FailureAction defer" "DomainFailureAction $BOUNCE_DOMAIN:bounce" \
    "SendmailPath $(mta_dsn_wrapper "$MTA_DSN_MTA")" "LogLevel debug" "MapMatchConcreteMx yes" \
    "${E2E_DAEMON_CONF:-}" && daemon_reload; then
    ok "SIGHUP: MapMatchConcreteMx yes applied by a reload ($(grep -c 'reload: MapMatchConcreteMx changed' "$DAEMON_LOG") log line)"
else
    nok "SIGHUP: MapMatchConcreteMx yes applied by a reload"
fi
for m in $MTAS; do
    r=u-$m-con@wildcard-deep.sts-lab.test; s=$(subj "$m" deep-concrete)
    submit_local "$m" "$r" "$s"
    o=$(deep_outcome "$m" "$r" "$s")
    check "$m, MapMatchConcreteMx: wildcard-deep queued without the milter is deferred ($o), still queued" \
        eval "test $o = deferred && in_queue $m $r"
done

# ---- 4. map server down ------------------------------------------------------------------------
daemon_stop
map_listening() { ss -N "$LAB_NETNS" -Hltn 2>/dev/null | awk '{print $4}' | grep -qx "$MTA_DAEMON_IP:$MTA_MAP_PORT"; }
check "daemon stopped: nothing listens on $MTA_DAEMON_IP:$MTA_MAP_PORT" eval '! map_listening'
for m in $MTAS; do
    s=$(subj "$m" mapdown); r=u-$m-down@enforce.sts-lab.test
    # local submission: no milter on this path, so the message reaches the queue
    printf 'From: %s\nTo: %s\nSubject: %s\n\nmap server down\n' "$SENDER" "$r" "$s" |
        "$SRC/mta-exec.sh" "$m" sendmail -f "$SENDER" "$r" >/dev/null 2>&1
    if wait_for attempted "$m" "$r"; then
        check "$m: map server down: enforce mail deferred, not delivered" eval "in_queue $m $r && ! delivered --subject $s"
    else
        nok "$m: map server down: no deferral logged within $WAIT s"
    fi
    send "$m" milterdown "u-$m-md@enforce.sts-lab.test"
    check "$m: milter down: SMTP submission refused with a temporary error (swaks rc $SWAKS_RC)" \
        test "$SWAKS_RC" != 0 -a "$(grep -c '^<\*\* *4' "$LAB/logs/swaks-$m-milterdown.log")" -gt 0
done
daemon_start "$MILTER_BIN" || bail "daemon did not come back"
for m in $MTAS; do
    flush_queue "$m"
    s=$(subj "$m" mapdown)
    if wait_for delivered --subject "$s" --tls; then
        read -r mx sni ver peer dsn < <(sink_rec "$s")
        check "$m: map server back: the deferred message is delivered over TLS, SNI $sni" test "$sni" = "$mx"
    else
        nok "$m: map server back: deferred message delivered within $WAIT s"
    fi
done

# ---- 5. final sweep: nothing that must not be delivered was, after retries --------------------
for m in $MTAS; do flush_queue "$m"; done
sleep 5
leaked=
for m in $MTAS; do
    for c in $BAD deep-concrete; do delivered --subject "$(subj "$m" "$c")" && leaked="$leaked $m/$c"; done
done
check "no bad-MX message delivered after queue flushes${leaked:+ (leaked:$leaked)}" test -z "$leaked"
plain=$("$SRC/sink-log.sh" --plain --json 2>/dev/null | "$LAB_PYTHON" -c '
import json, sys
enf = {l.split()[0] for l in open(sys.argv[1]) if l.split() and l.split()[1] == "enforce"}
print(sum(1 for l in sys.stdin for t in json.loads(l)["to"] if t.rpartition("@")[2].lower() in enf))
' "$LAB/facts")
check "no plaintext delivery to an enforce domain's MX" test "$plain" = 0

echo "1..$N"
[ $FAILS = 0 ] || { note "$FAILS failed"; exit 1; }
exit 0
