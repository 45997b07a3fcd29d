#!/bin/bash
# lab-down.sh - stop the lab started by lab-up.sh and leave nothing behind.
#
# Stops every process recorded in $LAB/pids (TERM, up to 10 s, then KILL; a PID is
# only signalled while its start time still matches the record), then any process
# still inside the lab namespace, deletes the namespace and /etc/netns/$LAB_NETNS,
# and removes $LAB unless KEEP_LAB=1.  Never stops anything by name.
# Env: LAB, LAB_NETNS, KEEP_LAB=1.  Exit 0 if nothing is left, 1 otherwise.
set -eu
. "$(dirname "$0")/lab-lib.sh"
lab_check_env

# the MTA layer of mta-up.sh first (orderly Postfix stop; whole mount namespaces)
if [ -f "$LAB/mta/pids" ] && [ -x "$LAB_SRC/mta-down.sh" ]; then
    "$LAB_SRC/mta-down.sh" all || true
fi
lab_stop_recorded
lab_stop_netns_leftovers
if lab_netns_exists; then
    ip netns delete "$LAB_NETNS" && lab_log "deleted namespace $LAB_NETNS"
fi
if [ -e "/etc/netns/$LAB_NETNS" ]; then
    rm -rf "/etc/netns/$LAB_NETNS"
    rmdir /etc/netns 2>/dev/null || true        # only if no other namespace uses it
fi
if [ "${KEEP_LAB:-0}" != 1 ] && [ -e "$LAB/$LAB_MARK" ]; then
    rm -rf "$LAB" && lab_log "removed $LAB"
fi

# verify
bad=0
if lab_netns_exists; then echo "${0##*/}: namespace $LAB_NETNS still listed" >&2; bad=1; fi
if [ -e "/run/netns/$LAB_NETNS" ]; then echo "${0##*/}: /run/netns/$LAB_NETNS still there" >&2; bad=1; fi
if [ -e "/etc/netns/$LAB_NETNS" ]; then echo "${0##*/}: /etc/netns/$LAB_NETNS still there" >&2; bad=1; fi
# any process whose command line mentions this lab's state dir
for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
    case " $cmd" in
        *" $LAB/"*|*" $LAB "*|*"=$LAB/"*|*"=$LAB "*)
            echo "${0##*/}: process ${p#/proc/} still running: $cmd" >&2; bad=1 ;;
    esac
done
kept=; [ "${KEEP_LAB:-0}" = 1 ] && kept=", state dir kept"
[ $bad = 0 ] && lab_log "lab is down (netns $LAB_NETNS, LAB=$LAB$kept)"
exit $bad
