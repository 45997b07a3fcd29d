#!/bin/sh
# test_engine.sh: run tests/unit/test_engine against a real HTTPS server:
# nginx on 127.0.0.1 with a certificate from a private CA made here, and a
# python3 TLS server on 127.0.0.2 (same port) that takes a request and
# never answers.  DNS is libunbound local data that the test writes itself.
# Everything lives in a mktemp -d directory and is removed on exit; a
# missing tool is named and the test skipped (77).
set -eu

bin=${1:-${top_builddir:-.}/tests/unit/test_engine}
for tool in nginx openssl python3; do
	if ! command -v "$tool" >/dev/null 2>&1 &&
	    ! [ -x "/usr/sbin/$tool" ]; then
		echo "1..0 # SKIP $tool not found (Debian package: $tool)"
		exit 77
	fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$bin" ] || { echo "test_engine.sh: $bin not built" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_engine.XXXXXX")
stall_pid=
cleanup() {
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
	[ -n "$stall_pid" ] && kill "$stall_pid" 2>/dev/null
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# A port free on both 127.0.0.1 and 127.0.0.2.
port=$(python3 -c '
import socket
for _ in range(50):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.2", p)); print(p); break
    except OSError:
        pass
')
[ -n "$port" ] || { echo "no free port" >&2; exit 99; }

cd "$tmp"
ossl() { openssl "$@" >>openssl.log 2>&1 || { cat openssl.log >&2; exit 99; }; }
newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
ossl req -x509 $newkey -keyout ca.key -out ca.pem -subj "/CN=engine test CA" \
    -days 30 -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
names="enforce none testing notfound stall crowd"
san=$(for n in $names; do printf 'DNS:mta-sts.%s.test,' "$n"; done)
ossl req -new $newkey -keyout leaf.key -out leaf.csr -subj "/CN=mta-sts.enforce.test"
printf 'subjectAltName=%s\n' "${san%,}" >leaf.ext
ossl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 30 -extfile leaf.ext -out leaf.pem

mkdir -p logs
{
	printf 'pid %s/nginx.pid;\nerror_log %s/logs/error.log;\n' "$tmp" "$tmp"
	printf 'worker_processes 1;\nevents { worker_connections 64; }\nhttp {\n'
	printf '\taccess_log %s/logs/access.log;\n' "$tmp"
	for t in client_body proxy fastcgi uwsgi scgi; do
		printf '\t%s_temp_path %s/%s;\n' "$t" "$tmp" "$t"
	done
	printf '\tdefault_type text/plain;\n\ttypes { }\n'
	printf '\tssl_protocols TLSv1.2 TLSv1.3;\n'
	printf '\tssl_certificate %s/leaf.pem;\n' "$tmp"
	printf '\tssl_certificate_key %s/leaf.key;\n' "$tmp"
	for n in $names; do
		mkdir -p "www/$n"
		printf '\tserver {\n\t\tlisten 127.0.0.1:%s ssl;\n' "$port"
		printf '\t\tserver_name mta-sts.%s.test;\n' "$n"
		printf '\t\tlocation = /.well-known/mta-sts.txt {\n'
		printf '\t\t\troot %s/www/%s; try_files /mta-sts.txt =404;\n' \
		    "$tmp" "$n"
		printf '\t\t}\n\t}\n'
	done
	printf '}\n'
} >nginx.conf
chmod -R a+rwX "$tmp"
"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon on;' 2>nginx.err ||
    { cat nginx.err >&2; exit 99; }

cat >stall.py <<'PY'
import socket, ssl, sys, threading, time
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.2", port))
ls.listen(8)
ls.settimeout(1)
end = time.time() + 300          # bounded: gone after five minutes
def hold(c):
    try:
        s = ctx.wrap_socket(c, server_side=True)
        s.recv(4096)
        time.sleep(30)
    except Exception:
        pass
while time.time() < end:
    try:
        c, _ = ls.accept()
    except socket.timeout:
        continue
    threading.Thread(target=hold, args=(c,), daemon=True).start()
PY
python3 stall.py "$port" leaf.pem leaf.key &
stall_pid=$!
python3 - "$port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
for host in ("127.0.0.1", "127.0.0.2"):
    for _ in range(100):
        try:
            socket.create_connection((host, port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit("%s:%d never opened" % (host, port))
PY
cd - >/dev/null
MTASTS_TEST_DIR=$tmp MTASTS_TEST_PORT=$port "$bin"
