#!/usr/bin/env python3
"""nsclient.py: a socketmap (netstring) client for tests/mapd/test_mapd.sh.

Talks to loopback only: PORT is a TCP port of 127.0.0.1, ADDR:PORT with
ADDR in 127.0.0.0/8, or the path of a unix socket when it starts with
"/".  Each command prints one line that the shell test compares:

  query PORT KEY...       one connection, requests sent one by one,
                          prints each reply on its own line
  pipeline PORT KEY...    one connection, every request in one write,
                          prints each reply on its own line
  repeat PORT N KEY       N requests in turn on one connection,
                          prints "N <first reply>" when all replies agree
  raw PORT BYTES          send BYTES (Python escapes such as \\x00
                          allowed), print "closed" when the server closes
                          the connection without a reply, else the reply
  hangup PORT BYTES       send BYTES and close at once; prints "sent"
  crowd PORT N KEY        N connections at once, each asks KEY once;
                          prints the number of connections answered
  wait PORT KEY WANT SECS ask until the reply is WANT (at most SECS),
                          prints the last reply
  race PORT SLOW FAST     asks SLOW on one connection, then FAST on a
                          second one; prints "FAST-REPLY|SLOW-REPLY" in
                          the order the replies arrived
  reload PORT PID LOG KEY asks KEY, sends SIGHUP to PID, waits (10 s at
                          most) for one more "reloaded" line in LOG and
                          asks KEY again on the same connection, as a
                          Postfix process keeping its connection would;
                          prints "FIRST|SECOND"
"""
import os
import signal
import select
import socket
import sys
import time

MAP = "stspolicy"


def frame(payload):
    data = payload.encode("utf-8", "surrogateescape")
    return str(len(data)).encode() + b":" + data + b","


def connect(port):
    if port.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(port)
        return s
    host = "127.0.0.1"
    if ":" in port:
        host, port = port.rsplit(":", 1)
        if not host.startswith("127."):
            sys.exit("nsclient: %s is not a loopback address" % host)
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


class Reader:
    """Netstring reader over a socket, tolerant of split reads."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def next(self):
        while b":" not in self.buf:
            self.fill()
        head, _, _ = self.buf.partition(b":")
        n = int(head)
        need = len(head) + 1 + n + 1
        while len(self.buf) < need:
            self.fill()
        payload = self.buf[len(head) + 1:len(head) + 1 + n]
        if self.buf[need - 1:need] != b",":
            raise ValueError("reply without comma")
        self.buf = self.buf[need:]
        return payload.decode("utf-8", "replace")


def ask(port, key):
    s = connect(port)
    try:
        s.sendall(frame(MAP + " " + key))
        return Reader(s).next()
    finally:
        s.close()


def cmd_query(port, keys):
    s = connect(port)
    r = Reader(s)
    for k in keys:
        s.sendall(frame(MAP + " " + k))
        print(r.next())
    s.close()


def cmd_pipeline(port, keys):
    s = connect(port)
    s.sendall(b"".join(frame(MAP + " " + k) for k in keys))
    r = Reader(s)
    for _ in keys:
        print(r.next())
    s.close()


def cmd_repeat(port, n, key):
    s = connect(port)
    r = Reader(s)
    first = None
    for _ in range(int(n)):
        s.sendall(frame(MAP + " " + key))
        rep = r.next()
        if first is None:
            first = rep
        elif rep != first:
            print("differs: %r %r" % (first, rep))
            return
    s.close()
    print("%s %s" % (n, first))


def cmd_raw(port, text):
    data = text.encode("latin-1").decode("unicode_escape").encode("latin-1")
    s = connect(port)
    try:
        s.sendall(data)
        print(Reader(s).next())
    except (EOFError, BrokenPipeError, ConnectionResetError):
        print("closed")
    s.close()


def cmd_hangup(port, text):
    s = connect(port)
    s.sendall(text.encode("latin-1"))
    s.close()
    print("sent")


def cmd_crowd(port, n, key):
    socks = []
    for _ in range(int(n)):
        socks.append(connect(port))
    for s in socks:
        s.sendall(frame(MAP + " " + key))
    answered = 0
    for s in socks:
        try:
            if Reader(s).next():
                answered += 1
        except (EOFError, OSError):
            pass
        s.close()
    print(answered)


def cmd_wait(port, key, want, secs):
    deadline = time.time() + float(secs)
    rep = ""
    while time.time() < deadline:
        rep = ask(port, key)
        if rep == want:
            break
        time.sleep(0.1)
    print(rep)


def cmd_race(port, slow, fast):
    a, b = connect(port), connect(port)
    a.sendall(frame(MAP + " " + slow))
    time.sleep(0.2)
    b.sendall(frame(MAP + " " + fast))
    readers = {a: Reader(a), b: Reader(b)}
    got = []
    deadline = time.time() + 15
    while readers and time.time() < deadline:
        ready, _, _ = select.select(list(readers), [], [], 1)
        for s in ready:
            got.append(readers.pop(s).next())
    a.close()
    b.close()
    print("|".join(got))


def cmd_dribble(port, n, key):
    """n clients that start a request and then send one byte every 0.25 s,
    never finishing it (bounded: 8 s).  After 1.5 s a new client asks for
    key.  Prints its reply ("refused" when it got none) and how many of the
    dribbling clients the server had closed by the end."""
    socks = [connect(port) for _ in range(int(n))]
    for s in socks:
        s.sendall(b"9000:" + MAP.encode() + b" ")
    start = time.time()
    closed = set()
    reply = None
    while time.time() - start < 8 and len(closed) < len(socks):
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                s.sendall(b"a")
            except OSError:
                closed.add(i)
        if reply is None and time.time() - start >= 1.5:
            try:
                reply = ask(port, key)
            except (EOFError, OSError):
                reply = "refused"
        time.sleep(0.25)
    for s in socks:
        s.close()
    print("%s|%d/%d" % (reply, len(closed), len(socks)))


def count_reloads(log):
    with open(log, errors="replace") as f:
        return sum(1 for line in f if "info: reloaded " in line)


def cmd_reload(port, pid, log, key):
    s = connect(port)
    r = Reader(s)
    s.sendall(frame(MAP + " " + key))
    first = r.next()
    before = count_reloads(log)
    time.sleep(0.3)         # the map thread is back asleep in poll
    os.kill(int(pid), signal.SIGHUP)
    deadline = time.time() + 10
    while count_reloads(log) <= before and time.time() < deadline:
        time.sleep(0.05)
    s.sendall(frame(MAP + " " + key))
    print(first + "|" + r.next())
    s.close()


def main(argv):
    cmd, port, rest = argv[1], argv[2], argv[3:]
    if cmd == "query":
        cmd_query(port, rest)
    elif cmd == "pipeline":
        cmd_pipeline(port, rest)
    elif cmd == "repeat":
        cmd_repeat(port, rest[0], rest[1])
    elif cmd == "raw":
        cmd_raw(port, rest[0])
    elif cmd == "hangup":
        cmd_hangup(port, rest[0])
    elif cmd == "crowd":
        cmd_crowd(port, rest[0], rest[1])
    elif cmd == "reload":
        cmd_reload(port, rest[0], rest[1], rest[2])
    elif cmd == "race":
        cmd_race(port, rest[0], rest[1])
    elif cmd == "dribble":
        cmd_dribble(port, rest[0], rest[1])
    elif cmd == "wait":
        cmd_wait(port, rest[0], rest[1], rest[2])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
