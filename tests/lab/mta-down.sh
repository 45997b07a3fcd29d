#!/bin/bash
# mta-down.sh [sinks|postfix|sendmail|opensmtpd|daemon|all]... - stop the MTA layer started by
# mta-up.sh (and the daemon started by test-e2e-mta.sh).  Default: all.
# Postfix is first asked to stop ("postfix stop" inside its namespaces); then every
# recorded process gets TERM (10 s, then KILL), together with every other process
# of its private mount namespace - so the overlays disappear with it.  Only PIDs
# recorded in $LAB/mta/pids (checked against their start time) are signalled;
# nothing is stopped by name.  lab-down.sh calls this first.
# Env: LAB, LAB_NETNS.  Exit 0 when nothing of the stopped parts is left.
set -eu
. "$(dirname "$0")/lab-lib.sh"
. "$(dirname "$0")/mta-lib.sh"
lab_check_env
[ -f "$MTA_PIDS" ] || exit 0
parts="${*:-all}"
case " $parts " in *" all "*) parts="daemon opensmtpd sendmail postfix sinks" ;; esac
if [[ " $parts " == *" postfix "* ]] && pid=$(mta_pid postfix); then
    timeout 20 nsenter -t "$pid" -m -n -- postfix stop >/dev/null 2>&1 || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do    # start-fg returns
        sleep 0.1; i=$((i + 1))
    done
fi
mta_stop $parts
bad=0
for p in $parts; do
    if mta_pid "$p" >/dev/null; then echo "${0##*/}: $p still running" >&2; bad=1; fi
done
exit $bad
