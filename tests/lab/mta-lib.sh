# mta-lib.sh - shared by the MTA scripts of the lab (mta-up.sh, mta-down.sh,
# mta-exec.sh, send.sh, test-e2e-mta.sh); bash, sourced after lab-lib.sh.
#
# Layout under $LAB/mta (state of the MTA layer; removed with $LAB by lab-down.sh):
#   pids                  "name pid starttime mntns" of every process mta-up.sh started
#                         (sinks, postfix, sendmail, daemon); mntns = /proc/PID/ns/mnt
#   postfix/ov/<d>-up     overlay upper dirs: everything Postfix writes under /etc /var /run
#   sendmail/ov/<d>-up    the same for Sendmail (+ /dev, for its /dev/log listener)
#   root-<mta>/           dpkg -x of the .debs of one MTA: the read-only lower layer
#                         (not in the cache under /var: overlayfs refuses a lower
#                         dir inside another lower dir, and /var is one of them)
# Packages: $MTA_DEB_CACHE/*.deb, apt-get download once, reused by later labs.
# Logs in $LAB/logs: postfix.log (maillog_file), sendmail.log (its syslog),
# sink.jsonl (the SMTP sinks), <name>.out (stdout/stderr of each process).

MTA_DIR=$LAB/mta
MTA_PIDS=$MTA_DIR/pids
MTA_DEB_CACHE=${MTA_DEB_CACHE:-/var/cache/mtasts-lab-debs}
MTA_POSTFIX_IP=127.0.3.10
MTA_SENDMAIL_IP=127.0.3.20
MTA_DAEMON_IP=127.0.3.2
MTA_MAP_PORT=2600
MTA_MILTER_PORT=2700
MTA_PORT=25

mta_pkgs_postfix="postfix"
mta_pkgs_sendmail="sendmail-bin sendmail-base sendmail-cf libwrap0"

# mta_debs [PKG...]: download every package (default: Postfix's and Sendmail's) once
# into the cache (apt-get download).
mta_debs() {
    local p missing=
    mkdir -p "$MTA_DEB_CACHE"
    for p in ${*:-$mta_pkgs_postfix $mta_pkgs_sendmail}; do
        ls "$MTA_DEB_CACHE/${p}_"*.deb >/dev/null 2>&1 || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    lab_log "apt-get download$missing -> $MTA_DEB_CACHE"
    # A machine whose package lists were never fetched cannot download:
    # fetch them once and try again.
    (cd "$MTA_DEB_CACHE" && apt-get download $missing >"$MTA_DEB_CACHE/download.log" 2>&1) ||
        (apt-get update -qq >>"$MTA_DEB_CACHE/download.log" 2>&1 &&
         cd "$MTA_DEB_CACHE" && apt-get download $missing >>"$MTA_DEB_CACHE/download.log" 2>&1) ||
        lab_die "apt-get download$missing failed (see $MTA_DEB_CACHE/download.log; apt-get update?)"
}

# mta_root NAME PKG... -> prints the extracted root of these packages (dpkg -x once
# per lab).
mta_root() {
    local name=$1 p debs= root
    shift
    for p in "$@"; do debs="$debs $(ls "$MTA_DEB_CACHE/${p}_"*.deb | tail -n 1)"; done
    root=$MTA_DIR/root-$name
    if [ ! -e "$root/.complete" ]; then
        rm -rf "$root.tmp"
        mkdir -p "$root.tmp"
        for p in $debs; do dpkg -x "$p" "$root.tmp" || lab_die "dpkg -x $p failed"; done
        rm -rf "$root"
        mv "$root.tmp" "$root"
        touch "$root/.complete"
    fi
    echo "$root"
}

mta_mntns() { readlink "/proc/$1/ns/mnt" 2>/dev/null | tr -dc '0-9'; }

mta_record() {   # NAME PID
    local st
    st=$(lab_starttime "$2") || lab_die "$1 (pid $2) exited at once; see $LAB/logs/$1.out"
    echo "$1 $2 $st $(mta_mntns "$2")" >> "$MTA_PIDS"
}

# mta_pid NAME -> PID of a live recorded process, or fails
mta_pid() {
    local name pid st ns
    [ -f "$MTA_PIDS" ] || return 1
    while read -r name pid st ns; do
        if [ "$name" = "$1" ] && lab_alive "$pid" "$st"; then echo "$pid"; return 0; fi
    done < "$MTA_PIDS"
    return 1
}

# mta_start NAME CMD... : CMD in the lab network namespace, own session, recorded.
mta_start() {
    local name=$1 pid; shift
    mkdir -p "$MTA_DIR"
    ip netns exec "$LAB_NETNS" setsid "$@" </dev/null >>"$LAB/logs/$name.out" 2>&1 &
    pid=$!
    sleep 0.1
    mta_record "$name" "$pid"
}

# mta_stop NAME... : TERM the recorded process(es) and every other process in their
# private mount namespace (an MTA's children, sendmail's syslog listener), wait up
# to 10 s, then KILL; drop their records.  A PID is only signalled while its start
# time (or, for the namespace sweep, its mount namespace) still matches.
mta_stop() {
    [ -f "$MTA_PIDS" ] || return 0
    local want=" $* " name pid st ns p i victims= keep left=
    keep=$(mktemp)
    local all hostns
    hostns=$(mta_mntns 1)
    all=$(find /proc -maxdepth 3 -path '/proc/[0-9]*/ns/mnt' -printf '%h %l\n' 2>/dev/null |
          sed 's|^/proc/\([0-9]*\)/ns mnt:\[\([0-9]*\)\]$|\1 \2|')
    while read -r name pid st ns; do
        case $want in
            *" $name "*|"  ") ;;
            *) echo "$name $pid $st $ns" >> "$keep"; continue ;;
        esac
        if lab_alive "$pid" "$st"; then
            victims="$victims $pid"
            kill -TERM "$pid" 2>/dev/null && lab_log "TERM $name ($pid)"
        fi
        # everything else that lives in the same private mount namespace
        if [ -n "$ns" ] && [ "$ns" != "$hostns" ]; then
            for p in $(echo "$all" | awk -v ns="$ns" -v me="$pid" '$2 == ns && $1 != me {print $1}'); do
                victims="$victims $p"
                kill -TERM "$p" 2>/dev/null || true
            done
        fi
    done < "$MTA_PIDS"
    i=0
    while [ $i -lt 100 ]; do
        left=
        for p in $victims; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
        [ -z "$left" ] && break
        sleep 0.1; i=$((i + 1))
    done
    for p in $left; do kill -KILL "$p" 2>/dev/null && lab_log "KILL $p after 10 s"; done
    mv "$keep" "$MTA_PIDS"
    [ -s "$MTA_PIDS" ] || rm -f "$MTA_PIDS"
}

# mta_nsenter MTA CMD... : run CMD inside the network and mount namespaces of a
# running MTA (sees its /etc, /var/spool, queue commands)
mta_nsenter() {
    local mta=$1 pid; shift
    pid=$(mta_pid "$mta") || lab_die "$mta is not running (mta-up.sh $mta)"
    nsenter -t "$pid" -m -n -- "$@"
}

# mta_wait_listen ADDR:PORT... : up to 15 s
mta_wait_listen() {
    local i=0 w missing=x socks
    while [ $i -lt 150 ] && [ -n "$missing" ]; do
        missing=
        socks=$(ss -N "$LAB_NETNS" -Hltn 2>/dev/null | awk '{print $4}')
        for w in "$@"; do echo "$socks" | grep -qx -- "$w" || missing="$missing $w"; done
        [ -n "$missing" ] && { sleep 0.1; i=$((i + 1)); }
    done
    [ -z "$missing" ]
}

# mta_dsn_wrapper [postfix|sendmail] -> path of a generated sendmail(8) stand-in for
# the daemon's SendmailPath: the daemon runs in the lab network namespace but in
# the host's mount namespace, where no MTA is installed, so the wrapper enters the
# namespaces of a lab MTA and runs that MTA's own sendmail command there.
mta_dsn_wrapper() {
    local mta=${1:-${MTA_DSN_MTA:-postfix}} w=$MTA_DIR/dsn-sendmail cmd=/usr/sbin/sendmail
    [ "$mta" = sendmail ] && cmd=/usr/libexec/sendmail/sendmail
    cat > "$w" <<EOF
#!/bin/sh
# generated by mta-lib.sh: SendmailPath of the daemon under test -> $mta of the lab
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
exec env LAB=$LAB LAB_NETNS=$LAB_NETNS /bin/bash $LAB_SRC/mta-exec.sh $mta $cmd "\$@"
EOF
    chmod 755 "$w"
    echo "$w"
}


# ---- OpenSMTPD ---------------------------------------------------------------------
# OpenSMTPD 6.8 (opensmtpd) with table-sqlite (opensmtpd-extras) on $MTA_OPENSMTPD_IP:25,
# our filter-mta-sts started by smtpd (proc-exec) inside smtpd's mount namespace, as
# smtpd's unprivileged user (uid $MTA_OPENSMTPD_UID); its database lives outside the
# overlays in $MTA_FILTER_DIR, owned by that user.
MTA_OPENSMTPD_IP=127.0.3.30
MTA_OPENSMTPD_UID=3301
MTA_FILTER_DIR=$MTA_DIR/filter
mta_pkgs_opensmtpd="opensmtpd opensmtpd-extras"
