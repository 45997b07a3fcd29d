#!/bin/bash
# send.sh postfix|sendmail|opensmtpd FROM TO [SUBJECT] - submit one message with swaks to
# a lab MTA (Postfix 127.0.3.10:25, Sendmail 127.0.3.20:25, OpenSMTPD 127.0.3.30:25),
# from inside the lab namespace.
# TO may be a comma-separated list.  The body carries the subject again, so a DSN
# that quotes the message can be found by it (sink-log.sh --token).  Prints the
# swaks transcript; exit status is swaks's (0 accepted; 23/24/25 = the MTA answered
# MAIL/RCPT/DATA with an error, see swaks(1)).
# Env: LAB, LAB_NETNS, SEND_TIMEOUT (swaks --timeout, default 30s).
set -eu
. "$(dirname "$0")/lab-lib.sh"
. "$(dirname "$0")/mta-lib.sh"
lab_check_env
[ $# -ge 3 ] || lab_die "usage: send.sh postfix|sendmail|opensmtpd FROM TO [SUBJECT]"
case $1 in
    postfix) ip=$MTA_POSTFIX_IP ;;
    sendmail) ip=$MTA_SENDMAIL_IP ;;
    opensmtpd) ip=$MTA_OPENSMTPD_IP ;;
    *) lab_die "unknown MTA '$1' (postfix|sendmail|opensmtpd)" ;;
esac
command -v swaks >/dev/null || lab_die "missing tool: swaks (apt-get install swaks)"
subject=${4:-MTASTS-E2E-$(date +%s)-$$}
exec ip netns exec "$LAB_NETNS" swaks --server "$ip" --port "$MTA_PORT" --helo client.sts-lab.test \
    --from "$2" --to "$3" --timeout "${SEND_TIMEOUT:-30s}" \
    --h-Subject "$subject" --body "test message of the loopback lab: $subject"
