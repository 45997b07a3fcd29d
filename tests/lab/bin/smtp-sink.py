#!/usr/bin/python3
"""smtp-sink.py - the lab's SMTP sinks: one process, one listener per MX host address.

Usage: smtp-sink.py LAB [PORT]

Reads $LAB/sinks ("ip name kind cert-base" lines, written by lab-gen.py) and listens
on ip:PORT (default 25) for each line.  Every sink accepts any sender and any
recipient, stores each message (bounded) and appends one JSON object per event to
$LAB/logs/sink.jsonl.  What the sink does with STARTTLS depends on its kind:

    good        STARTTLS, certificate $LAB/pki/<cert-base>.crt (lab CA, SAN = MX name)
    wrongname   STARTTLS, certificate for wrong.other.test (lab CA)
    selfsigned  STARTTLS, self-signed certificate for the MX name
    expired     STARTTLS, expired certificate for the MX name (lab CA)
    tls10       STARTTLS, good certificate, but only TLS 1.0 (OpenSSL security level 0)
    notls       STARTTLS is not offered (and refused with 502 if asked for anyway)

Log events (all carry time, mx_ip, mx_name, kind, peer):
    {"event": "message", "starttls": bool, "tls_version", "cipher", "sni", "helo",
     "from", "to": [...], "message_id", "subject", "size", "truncated", "dsn": bool,
     "tokens": [...], "file"}
    {"event": "tls-error", "error": "..."}     the STARTTLS handshake failed
    {"event": "session", "starttls", "tls_version", "sni", "messages", "end": "quit|eof|timeout|..."}
"tokens" lists the strings matching MTASTS-E2E-[A-Za-z0-9._-]+ found anywhere in the
message, so a test can find a DSN that quotes its original message.

Bounds: 64 concurrent sessions (more get 421), 60 s idle timeout per command,
10 MiB per message (SIZE; more gets 552), the first 1 MiB of each message stored,
at most 5000 stored messages, 1000 recipients per message; the process exits after
$LAB_SINK_MINUTES minutes (default 180).  Python 3 standard library only.
"""
import email.parser
import email.policy
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import warnings

LIFETIME = int(os.environ.get("LAB_SINK_MINUTES", "180")) * 60
MAX_SESSIONS = 64
IDLE = 60
MAX_MSG = 10 * 1024 * 1024
KEEP = 1024 * 1024
MAX_STORED = 5000
MAX_RCPT = 1000
MAX_LINE = 4096
TOKEN_RE = re.compile(rb"MTASTS-E2E-[A-Za-z0-9._-]+")

lock = threading.Lock()
sessions = threading.BoundedSemaphore(MAX_SESSIONS)
counter = [0]


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1, encoding="utf-8")

    def __call__(self, sink, peer, event, **kw):
        rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) +
               ".%03dZ" % (int(time.time() * 1000) % 1000),
               "event": event, "mx_ip": sink["ip"], "mx_name": sink["name"],
               "kind": sink["kind"], "peer": peer}
        rec.update(kw)
        with lock:
            self.f.write(json.dumps(rec, sort_keys=False) + "\n")


class Closed(Exception):
    pass


class Conn:
    """Line reader over a socket that can be swapped for its TLS wrapper."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE * 4:
                raise Closed("line too long")
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                raise Closed("timeout")
            except (OSError, ssl.SSLError) as e:
                raise Closed("recv: %s" % e)
            if not d:
                raise Closed("eof")
            self.buf += d
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def send(self, text):
        try:
            self.sock.sendall((text + "\r\n").encode())
        except (OSError, ssl.SSLError) as e:
            raise Closed("send: %s" % e)


def addr_of(arg):
    """'FROM:<a@b> SIZE=1' -> 'a@b'."""
    m = re.search(r"<([^>]*)>", arg)
    if m:
        return m.group(1)
    return arg.split(":", 1)[-1].strip().split(" ")[0]


def tls_context(lab, sink, sni):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    base = os.path.join(lab, "pki", sink["cert"])
    ctx.load_cert_chain(base + ".crt", base + ".key")
    if sink["kind"] == "tls10":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1

    def cb(sslobj, name, c):
        sni["name"] = name
        return None
    ctx.sni_callback = cb
    return ctx


def store(lab, data):
    with lock:
        counter[0] += 1
        n = counter[0]
    if n > MAX_STORED:
        return None
    path = os.path.join(lab, "sink", "msg", "%06d-%d.eml" % (n, os.getpid()))
    with open(path, "wb") as f:
        f.write(data[:KEEP])
    return path


def headers_of(data):
    hdr = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        m = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(hdr + b"\n\n")
    except Exception:
        return {}, False
    ctype = (m.get("Content-Type") or "").lower()
    dsn = "multipart/report" in ctype and "delivery-status" in ctype
    return {"message_id": (m.get("Message-ID") or "").strip() or None,
            "subject": str(m.get("Subject") or "").strip() or None}, dsn


def session(lab, log, sink, sock, peer):
    conn = Conn(sock)
    sock.settimeout(IDLE)
    st = {"starttls": False, "tls_version": None, "cipher": None, "sni": None}
    helo, mail, rcpts, nmsg, end = None, None, [], 0, "quit"
    offer_tls = sink["kind"] != "notls" and sink["cert"] != "-"
    try:
        conn.send("220 %s ESMTP lab sink (%s)" % (sink["name"], sink["kind"]))
        while True:
            raw = conn.readline()
            if len(raw) > MAX_LINE:
                conn.send("500 5.5.2 line too long")
                continue
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            if verb == "EHLO":
                helo, mail, rcpts = arg, None, []
                ext = ["PIPELINING", "SIZE %d" % MAX_MSG, "8BITMIME", "ENHANCEDSTATUSCODES"]
                if offer_tls and not st["starttls"]:
                    ext.append("STARTTLS")
                lines = [sink["name"]] + ext
                for i, t in enumerate(lines):
                    conn.send("250%s%s" % (" " if i == len(lines) - 1 else "-", t))
            elif verb == "HELO":
                helo, mail, rcpts = arg, None, []
                conn.send("250 %s" % sink["name"])
            elif verb == "STARTTLS":
                if not offer_tls or st["starttls"]:
                    conn.send("502 5.5.1 STARTTLS not available")
                    continue
                if conn.buf:
                    conn.send("501 5.5.2 no pipelining after STARTTLS")
                    continue
                sni = {}
                ctx = tls_context(lab, sink, sni)
                conn.send("220 2.0.0 ready to start TLS")
                try:
                    tsock = ctx.wrap_socket(sock, server_side=True)
                except (OSError, ssl.SSLError) as e:
                    log(sink, peer, "tls-error", error=str(e), sni=sni.get("name"))
                    end = "tls-error"
                    return
                sock = tsock
                conn = Conn(tsock)
                st.update(starttls=True, tls_version=tsock.version(),
                          cipher=(tsock.cipher() or [None])[0], sni=sni.get("name"))
                helo, mail, rcpts = None, None, []
            elif verb == "MAIL":
                if mail is not None:
                    conn.send("503 5.5.1 nested MAIL")
                    continue
                m = re.search(r"SIZE=(\d+)", arg, re.I)
                if m and int(m.group(1)) > MAX_MSG:
                    conn.send("552 5.3.4 message too big")
                    continue
                mail, rcpts = addr_of(arg), []
                conn.send("250 2.1.0 ok")
            elif verb == "RCPT":
                if mail is None:
                    conn.send("503 5.5.1 MAIL first")
                elif len(rcpts) >= MAX_RCPT:
                    conn.send("452 4.5.3 too many recipients")
                else:
                    rcpts.append(addr_of(arg))
                    conn.send("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    conn.send("503 5.5.1 RCPT first")
                    continue
                conn.send("354 end with <CRLF>.<CRLF>")
                chunks, size, over = [], 0, False
                while True:
                    l = conn.readline()
                    if l in (b".\r\n", b".\n"):
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    size += len(l)
                    if size > MAX_MSG:
                        over = True
                    elif size - len(l) < KEEP:
                        chunks.append(l)
                if over:
                    conn.send("552 5.3.4 message too big")
                    mail, rcpts = None, []
                    continue
                data = b"".join(chunks)
                hdr, dsn = headers_of(data)
                toks = []
                for t in TOKEN_RE.findall(data):
                    t = t.decode().rstrip(".")
                    if t not in toks and len(toks) < 20:
                        toks.append(t)
                path = store(lab, data)
                nmsg += 1
                log(sink, peer, "message", starttls=st["starttls"], tls_version=st["tls_version"],
                    cipher=st["cipher"], sni=st["sni"], helo=helo, **{"from": mail}, to=rcpts,
                    message_id=hdr.get("message_id"), subject=hdr.get("subject"), size=size,
                    truncated=size > KEEP, dsn=dsn, tokens=toks, file=path)
                conn.send("250 2.0.0 queued as sink-%d" % nmsg)
                mail, rcpts = None, []
            elif verb == "RSET":
                mail, rcpts = None, []
                conn.send("250 2.0.0 ok")
            elif verb == "NOOP":
                conn.send("250 2.0.0 ok")
            elif verb == "QUIT":
                conn.send("221 2.0.0 bye")
                return
            else:
                conn.send("502 5.5.2 command not recognized")
    except Closed as e:
        end = str(e)
    except Exception as e:                      # never let one session kill the sink
        end = "error: %r" % e
    finally:
        try:
            sock.close()
        except OSError:
            pass
        log(sink, peer, "session", messages=nmsg, end=end, **st)
        sessions.release()


def listener(lab, log, sink, lsock):
    while True:
        try:
            c, peer = lsock.accept()
        except OSError:
            time.sleep(0.1)
            continue
        p = "%s:%d" % peer
        if not sessions.acquire(blocking=False):
            try:
                c.sendall(b"421 4.3.2 too many sessions\r\n")
                c.close()
            except OSError:
                pass
            continue
        threading.Thread(target=session, args=(lab, log, sink, c, p), daemon=True).start()


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write("usage: smtp-sink.py LAB [PORT]\n")
        sys.exit(2)
    lab = os.path.abspath(sys.argv[1])
    port = int(sys.argv[2]) if len(sys.argv) == 3 else 25
    os.makedirs(os.path.join(lab, "sink", "msg"), exist_ok=True)
    log = Log(os.path.join(lab, "logs", "sink.jsonl"))
    sinks = []
    with open(os.path.join(lab, "sinks")) as f:
        for line in f:
            p = line.split()
            if len(p) != 4 or p[0].startswith("#"):
                continue
            sinks.append({"ip": p[0], "name": p[1], "kind": p[2], "cert": p[3]})
    for s in sinks:                             # fail early on a missing key or cert
        if s["cert"] != "-":
            tls_context(lab, s, {})
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((s["ip"], port))
        ls.listen(32)
        threading.Thread(target=listener, args=(lab, log, s, ls), daemon=True).start()
    sys.stderr.write("smtp-sink: %d sinks on port %d, lifetime %d s\n" % (len(sinks), port, LIFETIME))
    sys.stderr.flush()
    time.sleep(LIFETIME)
    sys.stderr.write("smtp-sink: lifetime over, exiting\n")


if __name__ == "__main__":
    main()
