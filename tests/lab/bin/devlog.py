#!/usr/bin/python3
"""devlog.py SOCKET LOGFILE - a tiny syslog receiver for programs that log only via
syslog(3) (Sendmail).  Binds the datagram socket SOCKET (/dev/log inside the
private mount namespace of that program, where /dev is an overlay, so the host's
/dev/log is untouched) and appends "time message" lines to LOGFILE.
Exits after LAB_SINK_MINUTES minutes (default 180) or on SIGTERM."""
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
deadline = time.time() + int(os.environ.get("LAB_SINK_MINUTES", "180")) * 60
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
s.settimeout(5)
with open(out, "a", buffering=1, encoding="utf-8") as f:
    while time.time() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        msg = d.decode("utf-8", "replace").rstrip("\n\x00")
        if msg.startswith("<") and ">" in msg[:5]:
            msg = msg.split(">", 1)[1]          # drop the <priority>
        f.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + msg + "\n")
