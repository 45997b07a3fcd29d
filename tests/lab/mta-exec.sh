#!/bin/bash
# mta-exec.sh postfix|sendmail|opensmtpd CMD [ARG...] - run CMD inside the network and mount
# namespaces of a running lab MTA, i.e. with its /etc, queue and tools:
#   tests/lab/mta-exec.sh postfix postqueue -p
#   tests/lab/mta-exec.sh postfix postconf -n
#   tests/lab/mta-exec.sh sendmail mailq
#   tests/lab/mta-exec.sh sendmail sendmail -q      (one queue run now)
#   tests/lab/mta-exec.sh opensmtpd smtpctl show queue
# (the lab's environment from $LAB/env is exported).  Exit status is CMD's.
set -eu
. "$(dirname "$0")/lab-lib.sh"
. "$(dirname "$0")/mta-lib.sh"
lab_check_env
[ $# -ge 2 ] || lab_die "usage: mta-exec.sh postfix|sendmail|opensmtpd CMD [ARG...]"
mta=$1; shift
case $mta in postfix|sendmail|opensmtpd) ;; *) lab_die "unknown MTA '$mta' (postfix|sendmail|opensmtpd)" ;; esac
[ -f "$LAB/env" ] && . "$LAB/env"
PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/libexec/sendmail
export PATH
pid=$(mta_pid "$mta") || lab_die "$mta is not running (tests/lab/mta-up.sh $mta)"
exec nsenter -t "$pid" -m -n -- "$@"
