#!/usr/bin/env python3
"""syslog_listen.py SOCKET OUT - receive syslog(3) datagrams on the unix
socket SOCKET and append each one, as it came (priority included), as a
line of OUT.  Creates OUT.ready once listening; stops when OUT.stop
appears, or after 30 s.  For tests/milter/test_daemon.sh."""
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
open(out + ".ready", "w").close()
end = time.time() + 30
with open(out, "ab") as f:
    while time.time() < end and not os.path.exists(out + ".stop"):
        try:
            f.write(s.recv(65536).rstrip(b"\n\0") + b"\n")
            f.flush()
        except socket.timeout:
            pass
