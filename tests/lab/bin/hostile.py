#!/usr/bin/python3
"""hostile.py - the HTTPS misbehaviours nginx cannot produce, for the lab.

Usage: hostile.py CONF LOGFILE

CONF lines: "ip port mode cert-base domain", mode one of
  stall  complete the TLS handshake, read the request, then say nothing
  notls  accept TCP, read whatever comes, never answer (no TLS ServerHello)
  drip   TLS, then "200 OK", Content-Type text/plain and a valid policy body
         sent one byte every 2 seconds

Bounded on purpose: exits after LAB_HOSTILE_MINUTES (default 180) minutes, holds a
connection at most LAB_HOSTILE_HOLD seconds (default 300), and serves at most 64
connections at once (more are closed at once).  Standard library only.
"""
import os
import socket
import ssl
import sys
import threading
import time

LIFETIME = float(os.environ.get("LAB_HOSTILE_MINUTES", "180")) * 60
HOLD = float(os.environ.get("LAB_HOSTILE_HOLD", "300"))
MAXCONN = 64
START = time.monotonic()
slots = threading.BoundedSemaphore(MAXCONN)
logf = None
loglock = threading.Lock()


def log(msg):
    with loglock:
        logf.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), msg))
        logf.flush()


def remaining():
    return min(HOLD, max(0.0, LIFETIME - (time.monotonic() - START)))


def hold(sock, deadline):
    """Read and discard until the peer closes or the deadline passes."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, min(1.0, deadline - time.monotonic())))
        try:
            if not sock.recv(4096):
                return "peer closed"
        except socket.timeout:
            continue
        except (OSError, ssl.SSLError) as e:
            return "error %s" % e.__class__.__name__
    return "hold time over"


def read_request(sock, deadline):
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < 16384 and time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def serve(conn, peer, mode, ctx, domain):
    deadline = time.monotonic() + remaining()
    why = "?"
    try:
        if mode == "notls":
            why = hold(conn, deadline)
            return
        conn.settimeout(10)
        tls = ctx.wrap_socket(conn, server_side=True)
        conn = tls
        req = read_request(tls, deadline)
        first = req.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        log("%s %s request %r sni-host %s" % (mode, peer, first, domain))
        if mode == "stall":
            why = hold(tls, deadline)
        elif mode == "drip":
            body = ("version: STSv1\nmode: enforce\nmx: mx1.%s\nmax_age: 86400\n"
                    % domain).encode()
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
            why = "body sent"
            for i in range(len(body)):
                if time.monotonic() >= deadline:
                    why = "hold time over"
                    break
                tls.sendall(body[i:i + 1])
                time.sleep(2)
    except (OSError, ssl.SSLError) as e:
        why = "error %s" % e
    finally:
        try:
            conn.close()
        except OSError:
            pass
        slots.release()
        log("%s %s closed: %s" % (mode, peer, why))


def listener(ip, port, mode, certbase, domain):
    ctx = None
    if mode != "notls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certbase + ".crt", certbase + ".key")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    s.listen(16)
    s.settimeout(1.0)
    log("listening %s:%d mode %s" % (ip, port, mode))
    while remaining() > 0:
        try:
            conn, addr = s.accept()
        except socket.timeout:
            continue
        peer = "%s:%d" % addr
        if not slots.acquire(blocking=False):
            log("%s %s refused: too many connections" % (mode, peer))
            conn.close()
            continue
        threading.Thread(target=serve, args=(conn, peer, mode, ctx, domain),
                         daemon=True).start()
    s.close()


def main():
    global logf
    if len(sys.argv) != 3:
        sys.stderr.write("usage: hostile.py CONF LOGFILE\n")
        return 2
    logf = open(sys.argv[2], "a", encoding="utf-8")
    threads = []
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            p = line.split()
            if len(p) != 5 or p[0].startswith("#"):
                continue
            t = threading.Thread(target=listener,
                                 args=(p[0], int(p[1]), p[2], p[3], p[4]), daemon=True)
            t.start()
            threads.append(t)
    log("started pid %d, lifetime %.0f s" % (os.getpid(), LIFETIME))
    while remaining() > 0 and any(t.is_alive() for t in threads):
        time.sleep(1)
    log("exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
