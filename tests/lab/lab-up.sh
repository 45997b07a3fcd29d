#!/bin/bash
# lab-up.sh - start the loopback MTA-STS lab in its own network namespace.
#
# Inside namespace $LAB_NETNS (only "lo", so nothing can leave it):
#   unbound  127.0.0.1:53    recursive resolver (the namespace's resolv.conf)
#   nsd      127.0.1.1:53    authoritative for every lab zone (+ a fake root)
#   nginx    127.0.2.1:443   every policy host mta-sts.<domain>, by SNI
#   hostile  127.0.2.10-12   bin/hostile.py: stall / no TLS / drip
# State in $LAB (default /tmp/mtasts-lab): pki/, dns/, www/, nginx/, logs/, pids, env.
# Everything is generated from tests/lab/catalogue by lab-gen.py.  See README.
#
# Env: LAB, LAB_NETNS (default mtasts-lab), LAB_APT=1 (apt-get install missing
# packages), LAB_KEEP_ON_FAIL=1 (leave a half-started lab for debugging),
# LAB_POLICY_DIR (default tests/data/policies), LAB_HOSTILE_MINUTES (default 180),
# LAB_BULK=N (N extra enforce domains d<i>.sts-bulk.test for tests/bench; default 0).
# Exit: 0 up, 1 failure (everything started is stopped again), 3 already up.
set -eu
. "$(dirname "$0")/lab-lib.sh"
lab_check_env
T0=$(date +%s.%N)
LAB_POLICY_DIR=${LAB_POLICY_DIR:-$LAB_SRC/../data/policies}

# ---- 0. tools -----------------------------------------------------------------------
need="ldns-signzone:ldnsutils ldns-keygen:ldnsutils ip:iproute2 nsd:nsd nsd-control:nsd nsd-checkzone:nsd unbound:unbound
unbound-control:unbound unbound-checkconf:unbound nginx:nginx openssl:openssl
curl:curl dig:bind9-dnsutils unbound-host:unbound-host ss:iproute2 setsid:util-linux"
missing=
for nc in $need; do
    command -v "${nc%%:*}" >/dev/null 2>&1 || missing="$missing ${nc#*:}"
done
[ -x "$LAB_PYTHON" ] || missing="$missing python3"
if [ -n "$missing" ]; then
    missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
    if [ "${LAB_APT:-0}" = 1 ]; then
        lab_log "installing: $missing"
        apt-get install -y $missing >/dev/null
    else
        lab_die "missing packages: $missing(apt-get install -y $missing, or LAB_APT=1)"
    fi
fi

# ---- 1. already up?  stale? ------------------------------------------------------------
if lab_is_up; then
    echo "${0##*/}: lab already up (LAB=$LAB, netns $LAB_NETNS); run lab-down.sh first" >&2
    exit 3
fi
if lab_netns_exists || [ -e "$LAB/pids" ] || [ -e "/etc/netns/$LAB_NETNS" ]; then
    lab_log "stale lab state found, cleaning up first"
    KEEP_LAB=0 "$LAB_SRC/lab-down.sh" || lab_die "could not clean the stale lab"
fi
if [ -e "$LAB" ]; then
    [ -e "$LAB/$LAB_MARK" ] || [ -z "$(ls -A "$LAB" 2>/dev/null)" ] ||
        lab_die "$LAB exists and is not a lab state dir; refusing to touch it"
    rm -rf "$LAB"
fi

STARTED=0
cleanup_on_fail() {
    rc=$?
    if [ $STARTED = 0 ] && [ $rc != 0 ] && [ $rc != 3 ]; then
        if [ "${LAB_KEEP_ON_FAIL:-0}" = 1 ]; then
            echo "${0##*/}: FAILED (rc $rc); lab left as is (LAB_KEEP_ON_FAIL=1)" >&2
        else
            echo "${0##*/}: FAILED (rc $rc); stopping what was started (logs kept in $LAB/logs)" >&2
            KEEP_LAB=1 "$LAB_SRC/lab-down.sh" >/dev/null 2>&1 || true
        fi
    fi
}
trap cleanup_on_fail EXIT

umask 022
mkdir -p "$LAB"/{logs,run,pki,dns/nsd-state,nginx/tmp,www,policies}
touch "$LAB/$LAB_MARK"
chmod 755 "$LAB" "$LAB"/*

# ---- 2. generate configs, zones, bodies from the catalogue ------------------------------
"$LAB_PYTHON" "$LAB_SRC/lab-gen.py" "$LAB_SRC/catalogue" "$LAB" "$LAB_POLICY_DIR"
cp "$LAB_SRC/catalogue" "$LAB/catalogue"

# ---- 3. PKI -------------------------------------------------------------------------------
cd "$LAB/pki"
mkdir -p hosts mx bad bulk ca-db
cat > openssl.cnf <<'EOF'
# minimal config so that the system openssl.cnf does not add extensions
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
[ ca ]
default_ca = labca
[ labca ]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
certificate = ca.crt
private_key = ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
EOF
: > ca-db/index.txt
echo 1000 > ca-db/serial
export OPENSSL_CONF=$LAB/pki/openssl.cnf
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.crt -days 365 -subj "/CN=mta-sts-milter lab CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -addext subjectKeyIdentifier=hash 2>>"$LAB/logs/pki.log"
leafext="-addext basicConstraints=critical,CA:FALSE -addext keyUsage=critical,digitalSignature
 -addext extendedKeyUsage=serverAuth,clientAuth"
ncerts=0
while read -r base kind names; do
    case $base in ''|'#'*) continue ;; esac
    san=$(echo "$names" | sed 's/^/DNS:/; s/,/,DNS:/g')
    cn=${names%%,*}
    case $kind in
        good)
            openssl req -x509 $ec -keyout "$base.key" -out "$base.crt" -days 30 -subj "/CN=$cn" \
                -CA ca.crt -CAkey ca.key -addext "subjectAltName=$san" $leafext 2>>"$LAB/logs/pki.log" ;;
        selfsigned)
            openssl req -x509 $ec -keyout "$base.key" -out "$base.crt" -days 30 -subj "/CN=$cn" \
                -addext "subjectAltName=$san" $leafext 2>>"$LAB/logs/pki.log" ;;
        expired)   # openssl ca can set explicit dates in the past
            openssl req -new $ec -keyout "$base.key" -out "$base.csr" -subj "/CN=$cn" 2>>"$LAB/logs/pki.log"
            printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' \
                "$san" > "$base.ext"
            openssl ca -batch -notext -startdate 20200101000000Z -enddate 20200301000000Z \
                -in "$base.csr" -out "$base.crt" -extfile "$base.ext" >>"$LAB/logs/pki.log" 2>&1 ;;
        *) lab_die "pki/want: unknown kind $kind" ;;
    esac
    ncerts=$((ncerts + 1))
done < want
unset OPENSSL_CONF
chmod -R a+rX "$LAB/pki"          # test keys: world-readable on purpose (unprivileged daemons)
openssl verify -CAfile ca.crt hosts/mta-sts.enforce.sts-lab.test.crt >/dev/null
cd "$LAB"

# ---- 3b. DNSSEC: TLSA records from the certificates, signed zones (lab-dnssec.sh) -----------
"$LAB_SRC/lab-dnssec.sh"

# ---- 4. check generated configs -------------------------------------------------------------
for z in dns/zones/*.zone; do
    zn=$(basename "$z" .zone); [ "$zn" = root ] && zn=.
    nsd-checkzone "$zn" "$z" >>"$LAB/logs/checks.log" 2>&1 || lab_die "nsd-checkzone $z failed"
done
nsd-checkconf "$LAB/dns/nsd.conf" || lab_die "nsd-checkconf failed"
unbound-checkconf "$LAB/dns/unbound.conf" >>"$LAB/logs/checks.log" 2>&1 || lab_die "unbound-checkconf failed (see logs/checks.log)"
unbound-checkconf "$LAB/engine-unbound.conf" >>"$LAB/logs/checks.log" 2>&1 || lab_die "engine-unbound.conf invalid"
unbound-checkconf "$LAB/engine-localdata.conf" >>"$LAB/logs/checks.log" 2>&1 || lab_die "engine-localdata.conf invalid"
unbound-checkconf "$LAB/engine-authzone.conf" >>"$LAB/logs/checks.log" 2>&1 || lab_die "engine-authzone.conf invalid"
nginx -t -q -e "$LAB/logs/nginx-error.log" -p "$LAB/nginx/" -c "$LAB/nginx/nginx.conf" ||
    lab_die "nginx -t failed"
chown nsd "$LAB/dns/nsd-state"
touch "$LAB/logs/nsd.log" "$LAB/logs/hostile.log"; chown nsd "$LAB/logs/nsd.log"

# ---- 5. namespace ----------------------------------------------------------------------------
ip netns add "$LAB_NETNS"
ip -n "$LAB_NETNS" link set lo up
sed 's|.*|address add &/32 dev lo|' "$LAB/addresses" > "$LAB/run/ip-batch"
ip -n "$LAB_NETNS" -batch "$LAB/run/ip-batch"
mkdir -p "/etc/netns/$LAB_NETNS"
# trust-ad: the lab unbound validates the signed zones; glibc passes its AD bit on
# only with this option (Postfix's DANE needs it: smtp_dns_support_level = dnssec)
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2 trust-ad\n' > "/etc/netns/$LAB_NETNS/resolv.conf"
chmod 644 "/etc/netns/$LAB_NETNS/resolv.conf"

# lab_start NAME CMD... : run CMD in the namespace, in its own session, and record its PID.
# ip netns exec and setsid both exec (no fork) here, so $! is the daemon itself.
lab_start() {
    local name=$1; shift
    ip netns exec "$LAB_NETNS" setsid "$@" </dev/null >>"$LAB/logs/$name.out" 2>&1 &
    local pid=$!
    sleep 0.05
    lab_record "$name" "$pid"
}
: > "$LAB/pids"
lab_start nsd nsd -d -c "$LAB/dns/nsd.conf"
lab_start unbound unbound -d -c "$LAB/dns/unbound.conf"
lab_start nginx nginx -e "$LAB/logs/nginx-error.log" -p "$LAB/nginx/" -c "$LAB/nginx/nginx.conf" -g 'daemon off;'
LAB_HOSTILE_MINUTES=${LAB_HOSTILE_MINUTES:-180} \
    lab_start hostile "$LAB_PYTHON" "$LAB_SRC/bin/hostile.py" "$LAB/hostile.conf" "$LAB/logs/hostile.log"

# ---- 6. wait for the listeners (bounded) ---------------------------------------------------------
want="udp:127.0.0.1:53 tcp:127.0.0.1:53 udp:127.0.1.1:53 tcp:127.0.1.1:53 tcp:127.0.2.1:443"
for l in $(awk '{print $1":"$2}' hostile.conf); do want="$want tcp:$l"; done
i=0; missing=x
while [ $i -lt 100 ] && [ -n "$missing" ]; do                  # 100 x 0.1 s = 10 s
    missing=
    socks=$(ss -N "$LAB_NETNS" -Hlnut 2>/dev/null | awk '{print $1":"$5}')
    for w in $want; do echo "$socks" | grep -qx -- "$w" || missing="$missing $w"; done
    [ -n "$missing" ] && { sleep 0.1; i=$((i + 1)); }
done
[ -z "$missing" ] || lab_die "not listening after 10 s:$missing (see $LAB/logs)"
while read -r name pid st; do
    lab_alive "$pid" "$st" || lab_die "$name (pid $pid) died; see $LAB/logs/$name.out"
done < "$LAB/pids"

# functional probes, each bounded
i=0
until lab_ns dig +time=1 +tries=1 +short @127.0.0.1 TXT _mta-sts.enforce.sts-lab.test | grep -q STSv1; do
    i=$((i + 1)); [ $i -lt 20 ] || lab_die "unbound does not resolve the lab zone"; sleep 0.2
done
code=$(lab_ns curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$LAB/pki/ca.crt" \
        https://mta-sts.enforce.sts-lab.test/.well-known/mta-sts.txt) || true
[ "$code" = 200 ] || lab_die "nginx probe: https://mta-sts.enforce.sts-lab.test gave '$code'"

# ---- 7. environment file + summary ------------------------------------------------------------
cat > "$LAB/env" <<EOF
# source this (lab-exec.sh does) - generated by lab-up.sh
LAB=$LAB
LAB_NETNS=$LAB_NETNS
LAB_CA=$LAB/pki/ca.crt
LAB_RESOLVER_CONF=$LAB/engine-unbound.conf
LAB_LOCALDATA_CONF=$LAB/engine-localdata.conf
LAB_AUTHZONE_CONF=$LAB/engine-authzone.conf
LAB_CATALOGUE=$LAB/catalogue
LAB_DNS=127.0.0.1
LAB_NSD=127.0.1.1
LAB_HTTPS=127.0.2.1
LAB_TRUST_ANCHOR=$LAB/dns/sts-dane.test.ds
export LAB LAB_NETNS LAB_CA LAB_RESOLVER_CONF LAB_LOCALDATA_CONF LAB_AUTHZONE_CONF LAB_CATALOGUE LAB_DNS LAB_NSD LAB_HTTPS LAB_TRUST_ANCHOR
EOF
STARTED=1
T1=$(date +%s.%N)
ndom=$(grep -vc '^#' "$LAB/facts")
cat <<EOF
lab is up in $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}') s: LAB=$LAB netns=$LAB_NETNS
  unbound  127.0.0.1:53   (resolv.conf of the namespace)   pid $(awk '$1=="unbound"{print $2}' pids)
  nsd      127.0.1.1:53   $(ls dns/zones | wc -l) zones                       pid $(awk '$1=="nsd"{print $2}' pids)
  nginx    127.0.2.1:443  $(grep -c server_name nginx/nginx.conf) policy hosts                 pid $(awk '$1=="nginx"{print $2}' pids)
  hostile  $(awk '{printf "%s(%s) ", $1, $3}' hostile.conf) pid $(awk '$1=="hostile"{print $2}' pids)
  $ndom catalogue domains + $(grep -c . bulk-domains) bulk (LAB_BULK), $ncerts certificates, $(grep -vc '^#' mx-hosts) MX hosts (127.0.10.x), CA $LAB/pki/ca.crt
  skipped: $(if [ -s skipped ]; then tr '\n' ';' < skipped; else echo none; fi)
  run inside: tests/lab/lab-exec.sh CMD...   stop: tests/lab/lab-down.sh
EOF
