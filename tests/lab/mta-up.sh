#!/bin/bash
# mta-up.sh [sinks|postfix|sendmail|opensmtpd|all]... - start the MTA layer of the
# loopback lab (the lab itself must be up: tests/lab/lab-up.sh).  Default: all
# (sinks, postfix, sendmail; opensmtpd only when asked for).
#
#   sinks     bin/smtp-sink.py on port 25 of every address in $LAB/sinks (the MX hosts,
#             127.0.10.x good, 127.0.12.x misbehaving); log $LAB/logs/sink.jsonl
#   postfix   Postfix 3.7 from the Debian package, 127.0.3.10:25, maillog
#             $LAB/logs/postfix.log; the MTA-STS part of main.cf is
#             etc/postfix-main.cf (smtpd_milters inet:127.0.3.2:2700,
#             smtp_tls_policy_maps socketmap:inet:127.0.3.2:2600:stspolicy)
#   sendmail  Sendmail 8.17 from the Debian packages, 127.0.3.20:25, syslog
#             $LAB/logs/sendmail.log; the MTA-STS part of the .mc is
#             etc/sendmail-mta-sts.mc (INPUT_MAIL_FILTER inet:2700@127.0.3.2,
#             FEATURE(sts) inet:2600@127.0.3.2), sendmail.cf repaired by
#             etc/sendmail-sts-san-fix.sh
#   opensmtpd OpenSMTPD 6.8 from the Debian packages (opensmtpd, opensmtpd-extras),
#             127.0.3.30:25, log $LAB/logs/opensmtpd.out; its smtpd.conf and table-sqlite
#             config are etc/smtpd.conf and etc/mta-sts-sqlite.conf of this tree, with
#             the lab's listen address, filter binary and database put in by sed; our
#             filter-mta-sts runs under it with the configuration MTA_FILTER_CONF
#             (copied to /etc/mta-sts-milter.conf in its overlay)
# (mta-samples.sh puts the lab's addresses into the samples of etc/)
# Both MTAs run inside the lab network namespace (real MX lookups through the lab
# unbound, delivery to the sinks on port 25), each in a private mount namespace where
# overlayfs lays the extracted package over /usr /etc /var /run (bin/nsroot.sh).
# Nothing is installed on the host; packages are fetched once with apt-get download
# into $MTA_DEB_CACHE (default /var/cache/mtasts-lab-debs).
# Our daemon (map server 127.0.3.2:2600, milter 127.0.3.2:2700) is not started here:
# test-e2e-mta.sh does that.  Stop with mta-down.sh (lab-down.sh calls it too).
# Env: LAB, LAB_NETNS, MTA_DEB_CACHE, MTA_QUEUE_INTERVAL (Sendmail -q, default 10s);
# for opensmtpd MTA_FILTER_BIN (default <top>/build/default/milter/filter-mta-sts) and
# MTA_FILTER_CONF (default: a generated one; its Database must lie in $MTA_FILTER_DIR).
# Exit 0 when everything asked for listens; 1 otherwise (what this run started is stopped).
set -eu
. "$(dirname "$0")/lab-lib.sh"
. "$(dirname "$0")/mta-lib.sh"
. "$(dirname "$0")/mta-samples.sh"
lab_check_env
lab_netns_exists && [ -f "$LAB/env" ] || lab_die "lab is not up (LAB=$LAB); run lab-up.sh first"
[ -f "$LAB/sinks" ] || lab_die "$LAB/sinks missing: the lab was started by an older lab-gen.py"

want=" ${*:-all} "
case $want in *" all "*) want=" sinks postfix sendmail " ;; esac
for w in $want; do
    case $w in sinks|postfix|sendmail|opensmtpd) ;; *) lab_die "unknown part '$w' (sinks|postfix|sendmail|opensmtpd|all)" ;; esac
done
for t in unshare nsenter m4 ss dpkg apt-get; do
    command -v $t >/dev/null 2>&1 || lab_die "missing tool: $t"
done
umask 022
mkdir -p "$MTA_DIR"
chmod 755 "$MTA_DIR"
STARTED=
on_exit() {
    rc=$?
    if [ $rc != 0 ] && [ -n "$STARTED" ]; then
        echo "${0##*/}: FAILED; stopping what this run started:$STARTED (logs in $LAB/logs)" >&2
        mta_stop $STARTED >/dev/null 2>&1 || true
    fi
}
trap on_exit EXIT
T0=$(date +%s.%N)

# ---- sinks ---------------------------------------------------------------------------
if [[ $want == *" sinks "* ]]; then
    if mta_pid sinks >/dev/null; then
        lab_log "sinks already running"
    else
        : >> "$LAB/logs/sink.jsonl"
        mta_start sinks "$LAB_PYTHON" "$LAB_SRC/bin/smtp-sink.py" "$LAB"
        STARTED="$STARTED sinks"
        addrs=$(awk '!/^#/ && NF == 4 {print $1":25"}' "$LAB/sinks")
        mta_wait_listen $addrs || lab_die "sinks not listening after 15 s (see $LAB/logs/sinks.out)"
    fi
fi

# users that the packages' maintainer scripts would have created: written into the
# overlay's /etc (a copy of the host's files plus these lines)
mta_etc() {   # MTA IP HOSTNAME PASSWD-LINES GROUP-LINES
    local e=$MTA_DIR/$1/ov/etc-up
    mkdir -p "$e"
    cp /etc/passwd /etc/group "$e/"
    printf '%b' "$4" >> "$e/passwd"
    printf '%b' "$5" >> "$e/group"
    printf '127.0.0.1\tlocalhost\n%s\t%s %s %s\n' "$2" "$3" "${3%%.*}" "$(hostname)" > "$e/hosts"
    printf 'hosts: files dns\npasswd: files\ngroup: files\nshadow: files\n' > "$e/nsswitch.conf"
    # the overlay hides ip-netns-exec's bind mount of /etc/netns/<ns>/resolv.conf
    cp "/etc/netns/$LAB_NETNS/resolv.conf" "$e/resolv.conf"
    echo "$3" > "$e/mailname"
}

# ---- Postfix -------------------------------------------------------------------------
if [[ $want == *" postfix "* ]]; then
    if mta_pid postfix >/dev/null; then
        lab_log "postfix already running"
    else
        mta_debs
        root=$(mta_root postfix $mta_pkgs_postfix)
        rm -rf "$MTA_DIR/postfix"
        mta_etc postfix $MTA_POSTFIX_IP postfix.mta.sts-lab.test \
            'postfix:x:3101:3101::/var/spool/postfix:/usr/sbin/nologin\n' \
            'postfix:x:3101:\npostdrop:x:3102:\n'
        pe=$MTA_DIR/postfix/ov/etc-up/postfix
        mkdir -p "$pe"
        sample=$(mta_sample_postfix) || lab_die "etc/postfix-main.cf does not fit the lab"
        cp "$root/etc/postfix/postfix-files" "$pe/" 2>/dev/null || true
        : > "$pe/dynamicmaps.cf"
        cat > "$pe/main.cf" <<EOF
# generated by tests/lab/mta-up.sh - Postfix of the loopback lab
compatibility_level = 3.6
myhostname = postfix.mta.sts-lab.test
mydomain = mta.sts-lab.test
myorigin = \$myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = $MTA_POSTFIX_IP
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_bind_address = $MTA_POSTFIX_IP
maillog_file = $LAB/logs/postfix.log
maillog_file_prefixes = /var, /dev/stdout, $LAB/logs
# --- MTA-STS: etc/postfix-main.cf with the lab's addresses (mta-samples.sh) ---
$sample
# --- end of etc/postfix-main.cf ---
# --- lab timing: retry deferred mail quickly, give up quickly ---
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 20s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
smtp_connect_timeout = 10s
in_flow_delay = 0s
EOF
        cat > "$pe/master.cf" <<EOF
# generated by tests/lab/mta-up.sh: no chroot, smtpd on $MTA_POSTFIX_IP:$MTA_PORT only
$MTA_POSTFIX_IP:$MTA_PORT inet n - n - - smtpd
pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
local      unix  - n n -     - local
virtual    unix  - n n -     - virtual
lmtp       unix  - - n -     - lmtp
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
        mkdir -p "$MTA_DIR/postfix/ov/var-up/lib/postfix" "$MTA_DIR/postfix/ov/var-up/spool/postfix"
        : >> "$LAB/logs/postfix.log"
        mta_start postfix "$LAB_SRC/bin/nsroot.sh" "$root" "$MTA_DIR/postfix" "usr etc var run" \
            /bin/sh -c 'postfix set-permissions >/dev/null 2>&1 || true
                        chgrp postdrop /usr/sbin/postqueue /usr/sbin/postdrop
                        chmod 2555 /usr/sbin/postqueue /usr/sbin/postdrop
                        chown postfix /var/lib/postfix
                        exec postfix start-fg'
        STARTED="$STARTED postfix"
    fi
fi

# ---- Sendmail ------------------------------------------------------------------------
if [[ $want == *" sendmail "* ]]; then
    if mta_pid sendmail >/dev/null; then
        lab_log "sendmail already running"
    else
        mta_debs
        root=$(mta_root sendmail $mta_pkgs_sendmail)
        rm -rf "$MTA_DIR/sendmail"
        mta_etc sendmail $MTA_SENDMAIL_IP sendmail.mta.sts-lab.test \
            'smmta:x:3201:3201::/var/lib/sendmail:/usr/sbin/nologin\nsmmsp:x:3202:3202::/var/lib/sendmail:/usr/sbin/nologin\n' \
            'smmta:x:3201:\nsmmsp:x:3202:\n'
        m=$MTA_DIR/sendmail/ov/etc-up/mail
        mkdir -p "$m/tls"
        cp "$LAB/pki/ca.crt" "$m/tls/ca.crt"     # outside /tmp: no "unsafe" warnings
        printf 'hosts\tdns files\naliases\tfiles\n' > "$m/service.switch"
        printf 'postmaster:\troot\nMAILER-DAEMON:\troot\nroot:\tpostmaster@mailbox.sts-lab.test\n' > "$m/aliases"
        printf 'Connect:127\tRELAY\n' > "$m/access"
        sample=$(mta_sample_sendmail /etc/mail/tls) || lab_die "etc/sendmail-mta-sts.mc does not fit the lab"
        cp "$MTA_ETC/sendmail-sts-san-fix.sh" "$m/sendmail-sts-san-fix.sh"
        cat > "$m/lab.mc" <<EOF
divert(-1)
# generated by tests/lab/mta-up.sh - Sendmail of the loopback lab (test only)
divert(0)dnl
include(\`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(\`mta-sts-milter loopback lab')dnl
OSTYPE(\`linux')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDOMAIN_NAME', \`sendmail.mta.sts-lab.test')dnl
define(\`confSERVICE_SWITCH_FILE', \`/etc/mail/service.switch')dnl
define(\`ALIAS_FILE', \`/etc/mail/aliases')dnl
define(\`confLOG_LEVEL', \`14')dnl
define(\`confTO_QUEUERETURN', \`1h')dnl
define(\`confTO_CONNECT', \`10s')dnl
CLIENT_OPTIONS(\`Family=inet, Addr=$MTA_SENDMAIL_IP')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`access_db', \`hash -T<TMPF> -o /etc/mail/access')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Addr=$MTA_SENDMAIL_IP, Port=$MTA_PORT')dnl
dnl --- MTA-STS: etc/sendmail-mta-sts.mc with the lab's addresses (mta-samples.sh) ---
$sample
dnl --- end of etc/sendmail-mta-sts.mc ---
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
        mkdir -p "$MTA_DIR/sendmail/ov/var-up/spool/mqueue" "$MTA_DIR/sendmail/ov/var-up/spool/mqueue-client" \
            "$MTA_DIR/sendmail/ov/var-up/lib/sendmail" "$MTA_DIR/sendmail/ov/run-up/sendmail/mta"
        chmod 700 "$MTA_DIR/sendmail/ov/var-up/spool/mqueue"
        : >> "$LAB/logs/sendmail.log"
        q=${MTA_QUEUE_INTERVAL:-10s}
        mta_start sendmail "$LAB_SRC/bin/nsroot.sh" "$root" "$MTA_DIR/sendmail" "usr etc var run dev" \
            /bin/sh -c "set -e
                cd /etc/mail
                m4 lab.mc > sendmail.cf
                sh sendmail-sts-san-fix.sh sendmail.cf
                makemap hash access < access
                chmod 644 sendmail.cf access.db
                $LAB_PYTHON $LAB_SRC/bin/devlog.py /dev/log $LAB/logs/sendmail.log &
                i=0; while [ ! -S /dev/log ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done
                /usr/libexec/sendmail/sendmail -bi
                exec /usr/libexec/sendmail/sendmail -bD -q$q"
        STARTED="$STARTED sendmail"
    fi
fi

# ---- OpenSMTPD -----------------------------------------------------------------------
if [[ $want == *" opensmtpd "* ]]; then
    if mta_pid opensmtpd >/dev/null; then
        lab_log "opensmtpd already running"
    else
        top=$(cd "$LAB_SRC/../.." && pwd)
        fbin=${MTA_FILTER_BIN:-$top/build/default/milter/filter-mta-sts}
        [ -x "$fbin" ] || lab_die "filter-mta-sts not built: $fbin (MTA_FILTER_BIN)"
        mkdir -p "$MTA_FILTER_DIR"
        fconf=${MTA_FILTER_CONF:-$MTA_FILTER_DIR/filter.conf}
        if [ -z "${MTA_FILTER_CONF:-}" ]; then
            printf 'Syslog no\nDatabase %s\nResolverConfig %s\nCAFile %s\n' \
                "$MTA_FILTER_DIR/policies.db" "$LAB/engine-unbound.conf" "$LAB/pki/ca.crt" > "$fconf"
        fi
        db=$(awk 'tolower($1) == "database" {print $2}' "$fconf")
        case $db in "$MTA_FILTER_DIR"/*) ;; *) lab_die "$fconf: Database must lie in $MTA_FILTER_DIR" ;; esac
        # the filter runs as smtpd's user and writes the database there
        chown "$MTA_OPENSMTPD_UID:$MTA_OPENSMTPD_UID" "$MTA_FILTER_DIR"
        chmod 755 "$MTA_FILTER_DIR"
        # table-sqlite needs the schema when smtpd starts (filter-mta-sts(8), -I)
        setpriv --reuid="$MTA_OPENSMTPD_UID" --regid="$MTA_OPENSMTPD_UID" --clear-groups \
            "$fbin" -I -c "$fconf" >> "$LAB/logs/opensmtpd.out" 2>&1 ||
            lab_die "filter-mta-sts -I failed (see $LAB/logs/opensmtpd.out)"
        mta_debs $mta_pkgs_opensmtpd
        root=$(mta_root opensmtpd $mta_pkgs_opensmtpd)
        rm -rf "$MTA_DIR/opensmtpd"
        mta_etc opensmtpd $MTA_OPENSMTPD_IP opensmtpd.mta.sts-lab.test \
            "opensmtpd:x:$MTA_OPENSMTPD_UID:$MTA_OPENSMTPD_UID::/var/lib/opensmtpd/empty:/usr/sbin/nologin\nopensmtpq:x:3302:3302::/var/lib/opensmtpd/empty:/usr/sbin/nologin\n" \
            "opensmtpd:x:$MTA_OPENSMTPD_UID:\nopensmtpq:x:3302:\n"
        oe=$MTA_DIR/opensmtpd/ov/etc-up
        mkdir -p "$oe/ssl/certs" "$oe/mail" "$MTA_DIR/opensmtpd/ov/var-up/lib/opensmtpd/empty"
        # smtpd has no client CA setting: the lab CA joins the bundle, in the overlay only
        cat /etc/ssl/certs/ca-certificates.crt "$LAB/pki/ca.crt" > "$oe/ssl/certs/ca-certificates.crt"
        install -m 644 "$fconf" "$oe/mta-sts-milter.conf"
        sed -e "s|^dbpath .*|dbpath $db|" "$top/etc/mta-sts-sqlite.conf" > "$oe/mail/mta-sts-sqlite.conf"
        sed -e "s|/usr/local/sbin/filter-mta-sts |$fbin |" \
            -e "s|^listen on localhost |listen on $MTA_OPENSMTPD_IP |" \
            "$top/etc/smtpd.conf" > "$oe/smtpd.conf"
        grep -q "proc-exec \"$fbin -c /etc/mta-sts-milter.conf\"" "$oe/smtpd.conf" &&
            grep -q "^listen on $MTA_OPENSMTPD_IP " "$oe/smtpd.conf" &&
            grep -q "^dbpath $db\$" "$oe/mail/mta-sts-sqlite.conf" ||
            lab_die "etc/smtpd.conf or etc/mta-sts-sqlite.conf changed: the lab's substitutions no longer apply"
        : >> "$LAB/logs/opensmtpd.out"
        mta_start opensmtpd "$LAB_SRC/bin/nsroot.sh" "$root" "$MTA_DIR/opensmtpd" "usr etc var run" \
            /bin/sh -c 'chgrp opensmtpq /usr/sbin/smtpctl && chmod 2555 /usr/sbin/smtpctl
                        /usr/sbin/smtpd -n -f /etc/smtpd.conf || exit 1
                        exec /usr/sbin/smtpd -d -v -T lookup -f /etc/smtpd.conf'
        STARTED="$STARTED opensmtpd"
    fi
fi

# ---- wait ----------------------------------------------------------------------------
addrs=
[[ $want == *" postfix "* ]] && addrs="$addrs $MTA_POSTFIX_IP:$MTA_PORT"
[[ $want == *" sendmail "* ]] && addrs="$addrs $MTA_SENDMAIL_IP:$MTA_PORT"
[[ $want == *" opensmtpd "* ]] && addrs="$addrs $MTA_OPENSMTPD_IP:$MTA_PORT"
if [ -n "$addrs" ]; then
    mta_wait_listen $addrs || lab_die "not listening after 15 s:$addrs (see $LAB/logs/{postfix,sendmail,opensmtpd}.*)"
fi
for w in $want; do
    mta_pid "$w" >/dev/null || lab_die "$w died; see $LAB/logs/$w.out"
done
STARTED=
T1=$(date +%s.%N)
lab_log "up in $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}') s:$want"
for w in $want; do
    case $w in
        sinks)    echo "  sinks     $(grep -vc '^#' "$LAB/sinks") addresses, port 25, log $LAB/logs/sink.jsonl" ;;
        postfix)  echo "  postfix   $MTA_POSTFIX_IP:25, log $LAB/logs/postfix.log, pid $(mta_pid postfix)" ;;
        sendmail) echo "  sendmail  $MTA_SENDMAIL_IP:25, log $LAB/logs/sendmail.log, pid $(mta_pid sendmail)" ;;
        opensmtpd) echo "  opensmtpd $MTA_OPENSMTPD_IP:25, log $LAB/logs/opensmtpd.out, pid $(mta_pid opensmtpd), filter database $MTA_FILTER_DIR" ;;
    esac
done
echo "  daemon expected at $MTA_DAEMON_IP: map :$MTA_MAP_PORT, milter :$MTA_MILTER_PORT"
