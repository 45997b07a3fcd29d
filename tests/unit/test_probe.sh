#!/bin/sh
# test_probe.sh: run tests/unit/test_probe against real SMTP servers on
# loopback.  One python3 process listens on one port at 127.0.0.2,
# 127.0.0.3, ... with a different behaviour at each address (good
# certificate, wrong name, self-signed, expired, no STARTTLS, TLS 1.0 only,
# silent, 554 greeting, ...), like MX hosts that all use port 25; it logs
# the EHLO name, SNI, TLS version and QUIT of each connection.  The
# certificates come from a private CA made here with openssl.  Everything
# lives in a mktemp -d directory and is removed on exit.  A missing tool is
# named and the test is skipped (exit 77).
#
# Usage: test_probe.sh [path/to/test_probe]
set -eu

bin=${1:-${top_builddir:-.}/tests/unit/test_probe}
for tool in openssl python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool not found (Debian package: $tool)"
		exit 77
	fi
done
if ! [ -x "$bin" ]; then
	echo "test_probe.sh: $bin not built" >&2
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_probe.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || :
		wait "$server_pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---------------------------------------------------------------- certificates
cd "$tmp"
ossl() {
	openssl "$@" >>openssl.log 2>&1 || {
		echo "openssl $*: failed" >&2
		cat openssl.log >&2
		exit 99
	}
}
# A minimal config, so the system openssl.cnf adds no extensions, and so
# that "openssl ca" can set validity dates in the past or future.
mkdir -p ca-db
: >ca-db/index.txt
echo 1000 >ca-db/serial
cat >openssl.cnf <<'EOF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
[ ca ]
default_ca = testca
[ testca ]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
EOF
export OPENSSL_CONF="$tmp/openssl.cnf"
newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
caext="-addext basicConstraints=critical,CA:TRUE
 -addext keyUsage=critical,keyCertSign,cRLSign"
ossl req -x509 $newkey -keyout ca.key -out ca.pem -days 30 \
    -subj "/CN=mta-sts-milter probe test CA" $caext
# A second CA that the probe is not told about.
ossl req -x509 $newkey -keyout otherca.key -out otherca.pem -days 30 \
    -subj "/CN=some other CA" $caext

# leaf NAME CN SAN [START END]: a certificate from our CA ("" SAN = none).
leaf() {
	ossl req -new $newkey -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "extendedKeyUsage=serverAuth"
		[ -z "$3" ] || echo "subjectAltName=$3"
	} >"$1.ext"
	if [ $# -ge 5 ]; then
		ossl ca -batch -notext -startdate "$4" -enddate "$5" \
		    -in "$1.csr" -out "$1.pem" -extfile "$1.ext"
	else
		ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
		    -CAcreateserial -days 30 -extfile "$1.ext" -out "$1.pem"
	fi
}
leaf good mx.good.test "DNS:mx.good.test,DNS:mx2.good.test"
leaf wrongname mx.other.test "DNS:mx.other.test"
leaf cnonly mx.good.test ""
leaf wildcard "*.good.test" "DNS:*.good.test"
leaf partial mx.good.test "DNS:m*.good.test"
leaf expired mx.good.test "DNS:mx.good.test" 20200101000000Z 20200301000000Z
leaf notyet mx.good.test "DNS:mx.good.test" 20990101000000Z 20990301000000Z
ossl req -x509 $newkey -keyout selfsigned.key -out selfsigned.pem \
    -subj "/CN=mx.good.test" -days 30 -addext subjectAltName=DNS:mx.good.test
ossl req -new $newkey -keyout otherca-leaf.key -out otherca-leaf.csr \
    -subj "/CN=mx.good.test"
printf 'subjectAltName=DNS:mx.good.test\n' >otherca-leaf.ext
ossl x509 -req -in otherca-leaf.csr -CA otherca.pem -CAkey otherca.key \
    -CAcreateserial -days 30 -extfile otherca-leaf.ext -out otherca-leaf.pem
unset OPENSSL_CONF

# ---------------------------------------------------------------- servers
cat >smtpd.py <<'EOF'
# One SMTP server per loopback address, all on one port.  argv: port file,
# log file, then kind=cert pairs in address order (127.0.0.2 onwards).
import socket, ssl, sys, threading, time, warnings

warnings.simplefilter("ignore", DeprecationWarning)
portfile, logname = sys.argv[1], sys.argv[2]
kinds = [a.split("=", 1) for a in sys.argv[3:]]
lock = threading.Lock()
logf = open(logname, "a")

def log(addr, what, value=""):
    with lock:
        logf.write("%s %s %s\n" % (addr, what, value))
        logf.flush()

def context(kind, cert, addr):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert + ".pem", cert + ".key")
    if kind == "tls10":
        # Debian's OpenSSL refuses TLS 1.0 at its default security level.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    if kind == "tls12":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    def sni(sock, name, c):
        log(addr, "sni", name or "-")
    ctx.sni_callback = sni
    return ctx

def send_slowly(s, data):
    for i in range(0, len(data), 3):
        s.sendall(data[i:i + 3])
        time.sleep(0.005)

def serve(c, addr, kind, ctx):
    send = c.sendall
    if kind == "slow":
        send = lambda d: send_slowly(c, d)
    if kind == "silent":
        time.sleep(60)
        return
    if kind == "greet554":
        send(b"554 5.3.2 not accepting mail here\r\n")
    elif kind == "garbage":
        send(b"HTTP/1.0 400 Bad Request\r\n")
    elif kind == "slow":
        send(b"220-mx.good.test ESMTP\r\n220-this greeting\r\n"
             b"220 comes in pieces\r\n")
    else:
        send(b"220 mx.test ESMTP\r\n")
    f = c.makefile("rb")
    tls = None
    while True:
        line = f.readline(2048)
        if not line:
            return
        cmd = line.strip().decode("latin-1")
        verb = cmd.split(" ")[0].upper()
        if verb == "EHLO":
            log(addr, "ehlo", cmd[5:])
            if kind == "ehlo502":
                send(b"502 5.5.1 no EHLO here\r\n")
                continue
            ext = [b"mx.test", b"PIPELINING", b"SIZE 10240000"]
            if kind != "notls" and tls is None:
                ext.append(b"STARTTLS")
            ext.append(b"8BITMIME")
            send(b"".join(b"250-" + e + b"\r\n" for e in ext[:-1]) +
                 b"250 " + ext[-1] + b"\r\n")
        elif verb == "STARTTLS":
            log(addr, "starttls")
            if kind == "refuse454":
                send(b"454 4.7.0 TLS not available\r\n")
                continue
            if kind == "inject":
                send(b"220 go ahead\r\nQUIT\r\n")
            else:
                send(b"220 2.0.0 go ahead\r\n")
            try:
                tls = ctx.wrap_socket(c, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log(addr, "tlsfail", str(e).replace("\n", " "))
                return
            log(addr, "tls", tls.version())
            c = tls
            send = c.sendall
            f = c.makefile("rb")
        elif verb == "QUIT":
            log(addr, "quit")
            send(b"221 2.0.0 bye\r\n")
            return
        else:
            send(b"500 5.5.2 what\r\n")

def handle(c, addr, kind, ctx):
    try:
        serve(c, addr, kind, ctx)
    except OSError:
        pass
    finally:
        c.close()

def listen(port):
    socks = []
    for i, (kind, cert) in enumerate(kinds):
        addr = "127.0.0.%d" % (i + 2)
        if kind == "closed":
            continue
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(16)
        socks.append((s, addr, kind, cert))
    return socks

# A port free on every address: ask the kernel for one, retry on a clash.
for _ in range(50):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    try:
        socks = listen(port)
        break
    except OSError:
        continue
else:
    sys.exit("no port free on every loopback address")

def accept_loop(s, addr, kind, cert):
    ctx = context(kind, cert, addr) if cert != "-" else None
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c, addr, kind, ctx),
                         daemon=True).start()

for args in socks:
    threading.Thread(target=accept_loop, args=args, daemon=True).start()
with open(portfile + ".tmp", "w") as pf:
    pf.write("%d\n" % port)
import os
os.rename(portfile + ".tmp", portfile)
while True:
    time.sleep(3600)
EOF

# kind=certificate, one per address from 127.0.0.2 on; test_probe.c uses the
# same order (MTASTS_TEST_KINDS).
kinds="good=good wrongname=wrongname selfsigned=selfsigned expired=expired
 cnonly=cnonly wildcard=wildcard notls=good tls10=good silent=-
 closed=- greet554=- slow=good tls12=good refuse454=good inject=good
 otherca=otherca-leaf notyet=notyet garbage=- partial=partial ehlo502=good"
: >server.log
# shellcheck disable=SC2086
python3 smtpd.py "$tmp/port" "$tmp/server.log" $kinds 2>server.err &
server_pid=$!
i=0
while ! [ -s port ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
		echo "test_probe.sh: the SMTP servers did not start:" >&2
		cat server.err >&2
		exit 99
	fi
	sleep 0.05
done

# The TLS 1.0 case proves something only if that server really speaks TLS
# 1.0 on this system: check with a TLS 1.0 client first.  If it cannot,
# test_probe reports that case as skipped, naming the reason.
tls10_addr=127.0.0.$(( $(echo $kinds | tr ' ' '\n' | grep -n '^tls10=' |
    cut -d: -f1) + 1 ))
cat >tls10check.py <<'EOF'
import socket, ssl, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
try:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO check\r\n")
    while f.readline()[3:4] == b"-":
        pass
    s.sendall(b"STARTTLS\r\n")
    f.readline()
    t = ctx.wrap_socket(s)
    print(t.version())
except Exception as e:
    print("no TLS 1.0 here: %s" % e)
EOF
tls10=$(python3 tls10check.py "$tls10_addr" "$(cat port)" 2>&1)
echo "# TLS 1.0 server at $tls10_addr, checked with a TLS 1.0 client: $tls10"

cd - >/dev/null
export MTASTS_TEST_TLS10="$tls10" MTASTS_TEST_CA="$tmp/ca.pem" \
    MTASTS_TEST_PORT="$(cat "$tmp/port")" \
    MTASTS_TEST_KINDS="$(echo $kinds | sed 's/=[^ ]*//g')" \
    MTASTS_TEST_SERVER_LOG="$tmp/server.log"
rc=0
"$bin" || rc=$?
# The same servers behind the engine and the RCPT verdict (test_mxcheck).
mxbin=${bin%/*}/test_mxcheck
echo "# $mxbin"
"$mxbin" || rc=$?
exit $rc
