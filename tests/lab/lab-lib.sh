# lab-lib.sh - shared by the tests/lab scripts (bash; sourced, not run).
#
# Env: LAB (state dir, default /tmp/mtasts-lab), LAB_NETNS (network namespace name,
# default mtasts-lab), LAB_PYTHON (default /usr/bin/python3).
# $LAB/pids holds one "name pid starttime" line per process the lab started;
# starttime (field 22 of /proc/PID/stat) guards against a recycled PID.

LAB=${LAB:-/tmp/mtasts-lab}
LAB_NETNS=${LAB_NETNS:-mtasts-lab}
LAB_PYTHON=${LAB_PYTHON:-/usr/bin/python3}
LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_MARK=.mtasts-lab-state     # marker file: only a dir holding it is ever rm -rf'ed

lab_die() { echo "${0##*/}: $*" >&2; exit 1; }
lab_log() { echo "${0##*/}: $*"; }

lab_check_env() {
    [ "$(id -u)" = 0 ] || lab_die "must run as root (network namespaces)"
    case $LAB in
        /?*/?*) ;;
        *) lab_die "LAB must be an absolute path at least two levels deep (got '$LAB')" ;;
    esac
    case $LAB in *[!A-Za-z0-9._/-]*) lab_die "LAB has odd characters: '$LAB'" ;; esac
    case $LAB_NETNS in
        ''|*[!A-Za-z0-9_-]*) lab_die "LAB_NETNS must be [A-Za-z0-9_-]+ (got '$LAB_NETNS')" ;;
    esac
}

# lab_starttime PID -> prints the start time (clock ticks since boot) or nothing
lab_starttime() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }            # drop "pid (comm) ", comm may hold spaces
    set -- $stat
    echo "${20}"                 # field 22 overall = 20th after pid and comm
}

# lab_alive PID START -> true if that very process still runs
lab_alive() {
    local now
    now=$(lab_starttime "$1") || return 1
    [ "$now" = "$2" ]
}

lab_record() {   # NAME PID
    local st
    st=$(lab_starttime "$2") || lab_die "$1 (pid $2) exited at once; see $LAB/logs/$1.out"
    echo "$1 $2 $st" >> "$LAB/pids"
}

lab_netns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$LAB_NETNS"; }

# lab_is_up: namespace present and every recorded process alive
lab_is_up() {
    lab_netns_exists || return 1
    [ -s "$LAB/pids" ] || return 1
    local name pid st
    while read -r name pid st; do
        lab_alive "$pid" "$st" || return 1
    done < "$LAB/pids"
    return 0
}

# lab_stop_recorded: TERM every recorded process, wait up to 10 s, then KILL
lab_stop_recorded() {
    [ -f "$LAB/pids" ] || return 0
    local name pid st i left
    while read -r name pid st; do
        if lab_alive "$pid" "$st"; then
            kill -TERM "$pid" 2>/dev/null && lab_log "TERM $name ($pid)"
        fi
    done < "$LAB/pids"
    i=0
    while [ $i -lt 100 ]; do                       # 100 x 0.1 s = 10 s
        left=0
        while read -r name pid st; do
            lab_alive "$pid" "$st" && left=1
        done < "$LAB/pids"
        [ $left = 0 ] && break
        sleep 0.1; i=$((i + 1))
    done
    while read -r name pid st; do
        if lab_alive "$pid" "$st"; then
            kill -KILL "$pid" 2>/dev/null && lab_log "KILL $name ($pid) after 10 s"
        fi
    done < "$LAB/pids"
    rm -f "$LAB/pids"
}

# lab_stop_netns_leftovers: processes still inside the lab namespace that were not
# recorded (e.g. started by a test through lab-exec.sh): TERM, 5 s, KILL, by PID.
lab_stop_netns_leftovers() {
    lab_netns_exists || return 0
    local pids p i
    pids=$(ip netns pids "$LAB_NETNS" 2>/dev/null | tr '\n' ' ')
    [ -n "${pids// /}" ] || return 0
    lab_log "processes left in namespace $LAB_NETNS: $pids- stopping them"
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    i=0
    while [ $i -lt 50 ] && [ -n "$(ip netns pids "$LAB_NETNS" 2>/dev/null)" ]; do
        sleep 0.1; i=$((i + 1))
    done
    for p in $(ip netns pids "$LAB_NETNS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    sleep 0.2
}

# run a command inside the namespace
lab_ns() { ip netns exec "$LAB_NETNS" "$@"; }
