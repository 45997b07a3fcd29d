#!/bin/sh
# test_fetch.sh: run tests/unit/test_fetch against real HTTPS servers on
# 127.0.0.1: nginx with certificates from a private CA made here with
# openssl, a python3 TLS server that accepts a request and never
# answers, and a python3 HTTP CONNECT proxy that logs what it is asked.  Everything lives in a mktemp -d directory, on unprivileged
# ports, and is removed on exit.  A missing tool is named and the test is
# skipped (exit 77).
#
# Usage: test_fetch.sh [path/to/test_fetch]
set -eu

bin=${1:-${top_builddir:-.}/tests/unit/test_fetch}
for tool in nginx openssl python3; do
	if ! command -v "$tool" >/dev/null 2>&1 &&
	    ! [ -x "/usr/sbin/$tool" ]; then
		echo "1..0 # SKIP $tool not found (Debian package: $tool)"
		exit 77
	fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if ! [ -x "$bin" ]; then
	echo "test_fetch.sh: $bin not built" >&2
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_fetch.XXXXXX")
stall_pid=
proxy_pid=
cleanup() {
	if [ -f "$tmp/nginx.pid" ]; then
		kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || :
	fi
	for pid in $stall_pid $proxy_pid; do
		kill "$pid" 2>/dev/null || :
	done
	# Give nginx a moment to remove its pid file before the directory.
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Five free ports: nginx TLS, nginx plain HTTP, the staller, a closed one,
# the proxy.
set -- $(python3 -c '
import socket
socks = []
for _ in range(5):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
')
tls_port=$1 plain_port=$2 stall_port=$3 closed_port=$4 proxy_port=$5

# ---------------------------------------------------------------- certificates
cd "$tmp"
ossl() {
	openssl "$@" >>openssl.log 2>&1 || {
		echo "openssl $*: failed" >&2
		cat openssl.log >&2
		exit 99
	}
}
newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
ossl req -x509 $newkey -keyout ca.key -out ca.pem -subj "/CN=mta-sts-milter test CA" \
    -days 30 -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign

# leaf NAME CN SAN DAYS: a certificate signed by the CA (SAN "" = none).
leaf() {
	ossl req -new $newkey -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
	if [ -n "$3" ]; then
		printf 'subjectAltName=%s\n' "$3" >"$1.ext"
	else
		printf 'basicConstraints=CA:FALSE\n' >"$1.ext"
	fi
	ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
	    -days "$4" -extfile "$1.ext" -out "$1.pem"
}
leaf good mta-sts.good.test "DNS:mta-sts.good.test,DNS:mta-sts.notfound.test,DNS:mta-sts.redirect.test,DNS:mta-sts.html.test,DNS:mta-sts.big.test,DNS:mta-sts.chunked.test,DNS:mta-sts.invalid.test,DNS:mta-sts.charset.test" 30
leaf wildcard "*.wildcard.test" "DNS:*.wildcard.test" 30
leaf partial mta-sts.partial.test "DNS:mta*.partial.test" 30
# -days -1: notAfter lies before now, so the certificate has expired.
leaf expired mta-sts.expired.test "DNS:mta-sts.expired.test" -1
leaf wrongname mta-sts.other.test "DNS:mta-sts.other.test" 30
# CN right, no subjectAltName at all: curl alone would accept it.
leaf cnonly mta-sts.cnonly.test "" 30
ossl req -x509 $newkey -keyout selfsigned.key -out selfsigned.pem \
    -subj "/CN=mta-sts.selfsigned.test" -days 30 \
    -addext subjectAltName=DNS:mta-sts.selfsigned.test

# ---------------------------------------------------------------- content
mkdir -p www/good www/invalid www/big www/charset www/html logs
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx1.good.test\r\nmax_age: 86400\r\n' \
    >www/good/mta-sts.txt
cp www/good/mta-sts.txt www/charset/mta-sts.txt
cp www/good/mta-sts.txt www/html/mta-sts.txt
printf 'this is not a policy\n' >www/invalid/mta-sts.txt
# 100 000 bytes: over the 65 536-byte limit the test sets.
python3 -c 'import sys; sys.stdout.write("version: STSv1\n" + "x" * 99985 + "\n")' \
    >www/big/mta-sts.txt

# server NAME CERT BODY: one nginx server block on the TLS port.
server() {
	cat <<EOF
	server {
		listen 127.0.0.1:$tls_port ssl;
		server_name mta-sts.$1.test;
		ssl_certificate $tmp/$2.pem;
		ssl_certificate_key $tmp/$2.key;
		location = /.well-known/mta-sts.txt {
$3
		}
	}
EOF
}
static() {
	printf '\t\t\troot %s/www/%s; try_files /mta-sts.txt =404;\n' "$tmp" "$1"
}
{
	cat <<EOF
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log info;
worker_processes 1;
events { worker_connections 64; }
http {
	access_log $tmp/logs/access.log;
	client_body_temp_path $tmp/body;
	proxy_temp_path $tmp/proxy;
	fastcgi_temp_path $tmp/fastcgi;
	uwsgi_temp_path $tmp/uwsgi;
	scgi_temp_path $tmp/scgi;
	default_type text/plain;
	types { }
	ssl_protocols TLSv1.2 TLSv1.3;
	server {
		listen 127.0.0.1:$plain_port;
		location / { return 200 "plain http\n"; }
	}
EOF
	server good good "$(static good)"
	server charset good "$(static charset)
			charset utf-8;"
	server html good "$(static html)
			default_type text/html;"
	server notfound good "			return 404;"
	server redirect good "			return 301 https://elsewhere.test/.well-known/mta-sts.txt;"
	server big good "$(static big)"
	# sub_filter changes the body, so nginx drops Content-Length and sends
	# it chunked: the limit must hold on the stream itself.
	server chunked good "$(static big)
			sub_filter_types text/plain; sub_filter 'xx' 'xy'; sub_filter_once off;"
	server invalid good "$(static invalid)"
	server wildcard wildcard "$(static good)"
	server partial partial "$(static good)"
	server expired expired "$(static good)"
	server wrongname wrongname "$(static good)"
	server cnonly cnonly "$(static good)"
	server selfsigned selfsigned "$(static good)"
	echo "}"
} >nginx.conf
# nginx's worker drops root privileges: let it read the test files.
chmod -R a+rX "$tmp"

if ! "$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon on;' 2>nginx.err; then
	echo "nginx failed to start:" >&2
	cat nginx.err "$tmp/logs/error.log" >&2 2>/dev/null || :
	exit 99
fi

# ---------------------------------------------------------------- staller
cat >stall.py <<'EOF'
import socket, ssl, sys, threading, time
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(8)
def hold(c):
    try:
        s = ctx.wrap_socket(c, server_side=True)
        s.recv(4096)          # the request; never answered
        time.sleep(30)
    except Exception:
        pass
while True:
    c, _ = ls.accept()
    threading.Thread(target=hold, args=(c,), daemon=True).start()
EOF
python3 stall.py "$stall_port" "$tmp/good.pem" "$tmp/good.key" &
stall_pid=$!

# ---------------------------------------------------------------- proxy
cat >proxy.py <<'EOF'
import socket, sys, threading
port, logname = int(sys.argv[1]), sys.argv[2]
log = open(logname, "a")
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(8)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
def handle(c):
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d:
            return
        req += d
    line = req.split(b"\r\n")[0].decode("latin-1")
    log.write(line + "\n")
    log.flush()
    host, p = line.split()[1].rsplit(":", 1)
    host = host.strip("[]")
    # Loopback only: this proxy must never reach out.
    if host not in ("127.0.0.1", "::1"):
        c.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
        c.close()
        return
    try:
        s = socket.create_connection((host, int(p)), 2)
    except OSError:
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
        c.close()
        return
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pipe, args=(c, s), daemon=True).start()
    pipe(s, c)
while True:
    c, _ = ls.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
EOF
: >proxy.log
python3 proxy.py "$proxy_port" "$tmp/proxy.log" &
proxy_pid=$!

# Wait until the servers accept connections (at most ~5 s each).
python3 - "$tls_port" "$stall_port" "$proxy_port" <<'EOF'
import socket, sys, time
for port in map(int, sys.argv[1:]):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit("port %d never opened" % port)
EOF

cd - >/dev/null
MTASTS_TEST_CA=$tmp/ca.pem \
MTASTS_TEST_TLS_PORT=$tls_port \
MTASTS_TEST_PLAIN_PORT=$plain_port \
MTASTS_TEST_STALL_PORT=$stall_port \
MTASTS_TEST_CLOSED_PORT=$closed_port \
MTASTS_TEST_PROXY_PORT=$proxy_port \
MTASTS_TEST_PROXY_LOG=$tmp/proxy.log \
    "$bin"
