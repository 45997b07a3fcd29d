# daemon-lib.sh - mta-sts-milter (milter + TLS policy map server) in the lab (bash;
# sourced after lab-lib.sh and mta-lib.sh by test-e2e-mta.sh and tests/main-job.sh).
#
# The daemon runs inside the lab network namespace on $MTA_DAEMON_IP (milter
# :$MTA_MILTER_PORT, map :$MTA_MAP_PORT), in the host's mount namespace, in the
# foreground; its log lines (Syslog no) go to $LAB/logs/daemon.out.  Its
# configuration is the sample etc/mta-sts-milter.conf (every line of it commented
# out: the defaults) followed by the lab's settings, so the sample is read by every
# run.  Recorded in $MTA_PIDS as "daemon", stopped by mta-down.sh.

DAEMON_CONF=$MTA_DIR/daemon.conf
DAEMON_LOG=$LAB/logs/daemon.out
DAEMON_DB=$MTA_DIR/daemon/policies.db

# daemon_conf [LINE...] : write $DAEMON_CONF; each LINE is added at the end
daemon_conf() {
    local l
    mkdir -p "$MTA_DIR/daemon"
    {
        cat "$LAB_SRC/../../etc/mta-sts-milter.conf"
        cat <<EOF

## --- the loopback lab (tests/lab/daemon-lib.sh) ---
Socket			inet:$MTA_MILTER_PORT@$MTA_DAEMON_IP
MapSocket		inet:$MTA_MAP_PORT@$MTA_DAEMON_IP
Database		$DAEMON_DB
PidFile			$MTA_DIR/daemon/mta-sts-milter.pid
ResolverConfig		$LAB/engine-unbound.conf
CAFile			$LAB/pki/ca.crt
Syslog			no
EOF
        for l in "$@"; do printf '%s\n' "$l"; done
    } > "$DAEMON_CONF"
    chmod 644 "$DAEMON_CONF"
}

# daemon_start BIN : start the daemon with $DAEMON_CONF; waits up to 15 s for both
# listeners
daemon_start() {
    : >> "$DAEMON_LOG"
    mta_start daemon "$1" -f -c "$DAEMON_CONF"
    mta_wait_listen "$MTA_DAEMON_IP:$MTA_MAP_PORT" "$MTA_DAEMON_IP:$MTA_MILTER_PORT"
}

daemon_stop() {
    mta_stop daemon >/dev/null
}

# daemon_reload : SIGHUP; waits up to 10 s for the log line of a good reload
daemon_reload() {
    local pid n i=0
    pid=$(mta_pid daemon) || return 1
    n=$(grep -c 'info: reloaded ' "$DAEMON_LOG")
    kill -HUP "$pid" || return 1
    while [ "$(grep -c 'info: reloaded ' "$DAEMON_LOG")" -le "$n" ]; do
        [ $i -lt 100 ] || return 1
        sleep 0.1; i=$((i + 1))
    done
}
