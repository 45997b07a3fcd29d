#!/usr/bin/env python3
"""filterdrv.py: drive the real filter-mta-sts over its stdin and stdout
the way smtpd 6.8 does, from protocol transcripts and from scenarios
written here, and report TAP.

  filterdrv.py FILTER SRCDIR TRANSCRIPT-DIR

Every run gets a fresh directory: a SQLite store built from
SRCDIR/sql/schema.sql and seeded with policies, libunbound local data for
the test domains (TXT and MX records under a static "test." zone; names
under slowzone.test go to a UDP socket of ours that never answers), and a
configuration.  Nothing leaves the host.

Transcript format (NAME.t), one directive per line:
  # text          comment; the first one names the test
  @handshake      send smtpd 6.8's config lines, expect the registration
  > LINE          send LINE and a newline (\\xNN, \\r, \\t, \\\\ escapes)
  >> BYTES        send BYTES without a newline
  < LINE          expect this line on stdout (any order among the '<')
  ~ TEXT          expect TEXT in the filter's stderr
  !~ TEXT         TEXT must not be in stderr
  ! sleep S       pause S seconds
  ! wait N        wait until N lines came back on stdout
After the last directive the driver waits for every expected line, closes
the filter's stdin (smtpd going away) and expects exit status 0.
"""
import os
import select
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

FILTER, SRCDIR, TDIR = sys.argv[1:4]
SESSION_TIMEOUT = 20      # seconds a run may take, bounded
N = 0
FAILED = 0

HANDSHAKE_IN = [
    "config|smtpd-version|6.8.0p2",
    "config|smtp-session-timeout|300",
    "config|subsystem|smtp-in",
    "config|admd|filter.test",
    "config|ready",
]
REGISTER = [
    "register|report|smtp-in|link-connect",
    "register|report|smtp-in|link-disconnect",
    "register|report|smtp-in|tx-begin",
    "register|report|smtp-in|tx-commit",
    "register|report|smtp-in|tx-rollback",
    "register|report|smtp-in|tx-reset",
    "register|filter|smtp-in|rcpt-to",
    "register|ready",
]


def ok(cond, what, detail=None):
    global N, FAILED
    N += 1
    if cond:
        print("ok %d - %s" % (N, what))
    else:
        FAILED += 1
        print("not ok %d - %s" % (N, what))
        for line in (detail or "").splitlines()[:40]:
            print("#   " + line)
    sys.stdout.flush()
    return cond


# ---------------------------------------------------------------- fixture

# domain, id, mode, mx patterns, seconds until expiry
POLICIES = [
    ("good.test", "g1", "enforce", "mx1.good.test", 86000),
    ("defer.test", "d1", "enforce", "mx.elsewhere.test", 86000),
    ("reject.test", "r1", "enforce", "mx.elsewhere.test", 86000),
    ("bounce.test", "b1", "enforce", "mx.elsewhere.test", 86000),
    ("testing.test", "t1", "testing", "mx.elsewhere.test", 86000),
    ("none.test", "n1", "none", "", 86000),
    ("skip.test", "s1", "enforce", "mx.elsewhere.test", 86000),
    ("forced.test", "f1", "testing", "mx1.forced.test", 86000),
    ("a.fsuffix.test", "a1", "testing", "mx1.a.fsuffix.test", 86000),
    ("expiring.test", "e1", "enforce", "mx1.expiring.test", 25),
]
CONF = """Syslog no
LogLevel debug
Database {d}/policies.db
ResolverConfig {d}/unbound.conf
DnsTimeout 2s
RcptTimeout 2s
RecheckInterval 5m
SkipDomains skip.test
EnforceDomains forced.test, forcednone.test, .fsuffix.test
DomainFailureAction reject.test:reject, bounce.test:bounce
MxProbe no
"""


class Fixture:
    def __init__(self, silent_port):
        self.dir = tempfile.mkdtemp(prefix="test_filter.")
        now = int(time.time())
        db = sqlite3.connect(os.path.join(self.dir, "policies.db"))
        with open(os.path.join(SRCDIR, "sql", "schema.sql")) as f:
            db.executescript(f.read())
        for dom, pid, mode, mx, left in POLICIES:
            db.execute("INSERT INTO policies (domain, policy_id, mode, "
                       "max_age, mx, fetched_at, expires_at, txt_checked_at)"
                       " VALUES (?, ?, ?, 86400, ?, ?, ?, ?)",
                       (dom, pid, mode, mx, now - 300, now + left, now - 30))
        db.commit()
        db.close()
        dns = ["server:", "\tverbosity: 0", "\tdo-not-query-localhost: no",
               # everything but 127.0.0.0/8, where the silent server is
               "\tdo-not-query-address: 0.0.0.0/2",
               "\tdo-not-query-address: 64.0.0.0/3",
               "\tdo-not-query-address: 96.0.0.0/4",
               "\tdo-not-query-address: 112.0.0.0/5",
               "\tdo-not-query-address: 120.0.0.0/6",
               "\tdo-not-query-address: 124.0.0.0/7",
               "\tdo-not-query-address: 126.0.0.0/8",
               "\tdo-not-query-address: 128.0.0.0/1",
               "\tdo-not-query-address: ::/0",
               '\tlocal-zone: "test." static',
               '\tlocal-zone: "slowzone.test." transparent']
        for dom, pid, _, _, _ in POLICIES:
            dns.append("\tlocal-data: '_mta-sts.%s. 300 IN TXT "
                       "\"v=STSv1; id=%s\"'" % (dom, pid))
            dns.append('\tlocal-data: "%s. 300 IN MX 10 mx1.%s."'
                       % (dom, dom))
        dns.append('\tlocal-data: "forcednone.test. 300 IN MX 10 '
                   'mx1.forcednone.test."')
        dns += ["stub-zone:", '\tname: "slowzone.test."',
                "\tstub-addr: 127.0.0.1@%d" % silent_port]
        with open(os.path.join(self.dir, "unbound.conf"), "w") as f:
            f.write("\n".join(dns) + "\n")
        self.conf = os.path.join(self.dir, "filter.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(d=self.dir))
        os.chmod(self.conf, 0o600)

    def query(self, sql, *args):
        db = sqlite3.connect(os.path.join(self.dir, "policies.db"))
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- the filter

class Filter:
    """One filter process; lines out are timestamped as they arrive."""

    def __init__(self, fixture):
        self.fx = fixture
        self.err_path = os.path.join(fixture.dir, "stderr")
        self.err = open(self.err_path, "wb")
        self.p = subprocess.Popen([FILTER, "-c", fixture.conf],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err)
        self.t0 = time.monotonic()
        self.buf = b""
        self.lines = []       # (seconds since start, line)

    def send(self, data):
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def line(self, text):
        self.send(text.encode("latin-1") + b"\n")

    def pump(self, timeout):
        """Read what is there, waiting at most timeout seconds."""
        r, _, _ = select.select([self.p.stdout], [], [], max(timeout, 0))
        if not r:
            return False
        chunk = os.read(self.p.stdout.fileno(), 65536)
        if not chunk:
            return False
        self.buf += chunk
        while b"\n" in self.buf:
            one, self.buf = self.buf.split(b"\n", 1)
            self.lines.append((time.monotonic() - self.t0,
                               one.decode("latin-1")))
        return True

    def wait_lines(self, n, timeout=SESSION_TIMEOUT):
        end = time.monotonic() + timeout
        while len(self.lines) < n and time.monotonic() < end:
            self.pump(end - time.monotonic())
        return len(self.lines) >= n

    def finish(self, timeout=15):
        """Close stdin like smtpd does; return the exit status or None."""
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.1)
            if self.p.poll() is not None:
                break
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
            rc = None
        else:
            rc = self.p.returncode
        self.pump(0)
        self.err.close()
        return rc

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("latin-1")

    def out(self):
        return [t for _, t in self.lines]

    def answer(self, sid, token):
        pre = "filter-result|%016x|%016x|" % (sid, token)
        for when, t in self.lines:
            if t.startswith(pre):
                return when, t[len(pre):]
        return None, None


def unescape(s):
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


# ---------------------------------------------------------------- transcripts

def run_transcript(path, silent_port):
    name = os.path.basename(path)
    title = name
    steps = []
    expect_out, expect_err, forbid_err = [], [], []
    with open(path, encoding="latin-1") as f:
        src = f.read().split("\n")
    # "@repeat N" ... "@end" repeats the directives between them
    lines, i = [], 0
    while i < len(src):
        if src[i].startswith("@repeat "):
            j = src.index("@end", i)
            lines += src[i + 1:j] * int(src[i][8:])
            i = j + 1
        else:
            lines.append(src[i])
            i += 1
    if True:
        for line in lines:
            if line.startswith("# ") and title == name:
                title = "%s: %s" % (name, line[2:])
            if line.startswith("#") or not line.strip():
                continue
            if line == "@handshake":
                steps += [("send", (l + "\n").encode()) for l in HANDSHAKE_IN]
                expect_out += REGISTER
            elif line.startswith(">> "):
                steps.append(("send", unescape(line[3:])))
            elif line.startswith("> "):
                steps.append(("send", unescape(line[2:]) + b"\n"))
            elif line == ">":
                steps.append(("send", b"\n"))
            elif line.startswith("< "):
                expect_out.append(line[2:])
            elif line.startswith("!~ "):
                forbid_err.append(line[3:])
            elif line.startswith("~ "):
                expect_err.append(line[2:])
            elif line.startswith("! sleep "):
                steps.append(("sleep", float(line[8:])))
            elif line.startswith("! wait "):
                steps.append(("wait", int(line[7:])))
            else:
                ok(False, "%s: directive understood: %r" % (name, line))
                return
    fx = Fixture(silent_port)
    flt = Filter(fx)
    for kind, arg in steps:
        if kind == "send":
            flt.send(arg)
        elif kind == "sleep":
            time.sleep(arg)
        else:
            flt.wait_lines(arg)
    flt.wait_lines(len(expect_out))
    time.sleep(0.2)           # anything unexpected comes now
    flt.pump(0.1)
    rc = flt.finish()
    got = flt.out()
    err = flt.stderr()
    ok(sorted(got) == sorted(expect_out), title,
       "expected:\n  %s\ngot:\n  %s\nstderr:\n%s" % (
           "\n  ".join(expect_out), "\n  ".join(got), err[-3000:]))
    if expect_out[:len(REGISTER)] == REGISTER:
        ok(got[:len(REGISTER)] == REGISTER,
           "%s: registration in order, register|ready last" % name)
    raw = [c for c in err if (ord(c) < 0x20 and c != "\n") or ord(c) >= 0x7f]
    ok(not raw, "%s: the log holds no raw control or non-ASCII byte" % name,
       repr(raw[:10]))
    missing = [e for e in expect_err if e not in err]
    present = [e for e in forbid_err if e in err]
    if expect_err or forbid_err:
        ok(not missing and not present, "%s: log lines" % name,
           "missing: %r\nunexpected: %r\nstderr:\n%s" % (missing, present,
                                                         err[-3000:]))
    ok(rc == 0, "%s: the filter survived and exited 0 at end of input "
       "(status %r)" % (name, rc), err[-2000:])
    if name == "decisions.t":
        check_routing_view(fx)
    fx.close()


def check_routing_view(fx):
    """What smtpd's table-sqlite would see, with the query of the etc/
    sample."""
    with open(os.path.join(SRCDIR, "etc", "mta-sts-sqlite.conf")) as f:
        q = [l.split(None, 1)[1].strip() for l in f
             if l.startswith("query_domain")]
    ok(len(q) == 1, "etc/mta-sts-sqlite.conf has one query_domain")
    if not q:
        return
    routed = sorted(d for d in ["good.test", "GOOD.test", "defer.test",
                                "testing.test", "none.test", "skip.test",
                                "forced.test", "a.fsuffix.test",
                                "fsuffix.test", "expiring.test",
                                "nopolicy.test", "good.test."]
                    if fx.query(q[0].rstrip(";"), d))
    want = ["GOOD.test", "a.fsuffix.test", "defer.test", "expiring.test",
            "forced.test", "good.test"]
    ok(routed == want, "the routing query finds enforce and forced "
       "domains only, not skipped, testing, none or unknown ones",
       "routed: %r\nwant:   %r" % (routed, want))
    rows = fx.query("SELECT pattern, control, source FROM domain_controls "
                    "ORDER BY pattern")
    want = [(".fsuffix.test", "enforce", "EnforceDomains"),
            ("forced.test", "enforce", "EnforceDomains"),
            ("forcednone.test", "enforce", "EnforceDomains"),
            ("skip.test", "skip", "SkipDomains")]
    ok(rows == want, "domain_controls holds the configuration's controls",
       "got %r" % (rows,))


# ---------------------------------------------------------------- scenarios

def handshake(flt):
    for l in HANDSHAKE_IN:
        flt.line(l)
    return flt.wait_lines(len(REGISTER))


def connect(flt, sid):
    flt.line("report|0.6|1.0|smtp-in|link-connect|%016x|localhost|pass|"
             "127.0.0.1:4000|127.0.0.1:25" % sid)


def rcpt(flt, sid, token, addr):
    flt.line("filter|0.6|1.0|smtp-in|rcpt-to|%016x|%016x|%s"
             % (sid, token, addr))


def scenario_slow_does_not_block(port):
    fx = Fixture(port)
    flt = Filter(fx)
    handshake(flt)
    connect(flt, 0xa1)
    connect(flt, 0xb2)
    t = time.monotonic() - flt.t0
    rcpt(flt, 0xa1, 1, "u@a.slowzone.test")
    rcpt(flt, 0xb2, 2, "u@good.test")
    flt.wait_lines(len(REGISTER) + 2, timeout=10)
    ta, aa = flt.answer(0xa1, 1)
    tb, ab = flt.answer(0xb2, 2)
    ok(ab == "proceed" and tb is not None and tb - t < 1.0,
       "a fast domain is answered at once while a slow one is judged "
       "(%.3f s)" % ((tb or 99) - t), flt.stderr()[-2000:])
    ok(ta is not None and tb is not None and tb < ta,
       "... before the slow domain's answer")
    ok(aa is not None and aa.startswith("reject|451 4."),
       "the slow domain is deferred when its time runs out (%s after "
       "%.1f s)" % (aa, (ta or 0) - t))
    rc = flt.finish()
    ok(rc == 0, "exit 0 after the slow-domain run")
    fx.close()


def scenario_coalesce(port):
    fx = Fixture(port)
    flt = Filter(fx)
    handshake(flt)
    for i in range(20):
        connect(flt, 0x100 + i)
        rcpt(flt, 0x100 + i, 0x5000 + i, "user%d@b.slowzone.test" % i)
    flt.wait_lines(len(REGISTER) + 20, timeout=10)
    answers = [flt.answer(0x100 + i, 0x5000 + i)[1] for i in range(20)]
    rc = flt.finish()
    err = flt.stderr()
    ok(all(a is not None and a.startswith("reject|451 ") for a in answers),
       "20 sessions waiting for one slow domain all get their answer",
       repr(answers))
    ok(err.count("domain=b.slowzone.test verdict ") == 1,
       "... from one verdict shared by all of them",
       "verdict lines: %d" % err.count("domain=b.slowzone.test verdict "))
    ok(err.count(": rcpt domain=b.slowzone.test ") == 20,
       "... and one decision line per recipient")
    ok(rc == 0, "exit 0 after the shared-verdict run")
    fx.close()


def scenario_flood(port, n=3000):
    fx = Fixture(port)
    flt = Filter(fx)
    handshake(flt)
    t = time.monotonic()

    def burst(lines_of):
        chunk = []
        for i in range(n):
            chunk += lines_of(0x10000 + i, i)
            if len(chunk) >= 600:
                flt.send(("\n".join(chunk) + "\n").encode())
                chunk = []
                flt.pump(0)
        if chunk:
            flt.send(("\n".join(chunk) + "\n").encode())

    # As smtpd does it: each session waits for its answer before it goes on.
    burst(lambda sid, i: [
        "report|0.6|1.0|smtp-in|link-connect|%016x|localhost|pass|"
        "127.0.0.1:%d|127.0.0.1:25" % (sid, 1024 + i % 60000),
        "report|0.6|1.0|smtp-in|tx-begin|%016x|%08x" % (sid, i),
        "filter|0.6|1.0|smtp-in|rcpt-to|%016x|%016x|u%d@%s"
        % (sid, i + 1, i, "good.test" if i % 3 == 0 else
           "d%d.nopolicy.test" % (i % 1000))])
    flt.wait_lines(len(REGISTER) + n, timeout=60)
    took = time.monotonic() - t
    burst(lambda sid, i: [
        "report|0.6|1.0|smtp-in|tx-commit|%016x|%08x|100" % (sid, i),
        "report|0.6|1.0|smtp-in|link-disconnect|%016x" % sid])
    proceeds = sum(1 for _, l in flt.lines if l.endswith("|proceed"))
    rc = flt.finish(timeout=30)
    err = flt.stderr()
    ok(proceeds == n and rc == 0,
       "a flood of %d concurrent sessions, to 1001 domains: every request "
       "answered (%d, in %.2f s)" % (n, proceeds, took), err[-2000:])
    ok("stopping: sessions=0 requests=0 jobs=0" in err,
       "... and after their disconnects no session, request or job is left",
       "\n".join(l for l in err.splitlines() if "stopping:" in l))
    ok(err.count("ended (tx-commit)") == n and err.count("session ended") == n,
       "... each message and session ended once")
    fx.close()
    return took


def scenario_session_limit(port):
    fx = Fixture(port)
    flt = Filter(fx)
    handshake(flt)
    connect(flt, 0xc3)
    for i in range(20):
        rcpt(flt, 0xc3, 0x900 + i, "u%d@c.slowzone.test" % i)
    flt.wait_lines(len(REGISTER) + 4, timeout=5)
    early = [t for _, t in flt.lines[len(REGISTER):]]
    flt.wait_lines(len(REGISTER) + 20, timeout=10)
    rc = flt.finish()
    busy = [t for t in early if "filter busy" in t]
    ok(len(busy) == 4, "a session with 20 requests waiting: 16 wait, 4 are "
       "refused at once (451 4.3.0 filter busy)", "\n".join(early))
    ok(len(flt.lines) == len(REGISTER) + 20, "... and all 20 are answered")
    ok(rc == 0, "exit 0 after the per-session limit run")
    fx.close()


def scenario_disconnect_pending(port):
    fx = Fixture(port)
    flt = Filter(fx)
    handshake(flt)
    connect(flt, 0xd4)
    rcpt(flt, 0xd4, 0x77, "u@d.slowzone.test")
    flt.line("report|0.6|1.0|smtp-in|link-disconnect|%016x" % 0xd4)
    connect(flt, 0xe5)
    rcpt(flt, 0xe5, 0x78, "u@good.test")
    flt.wait_lines(len(REGISTER) + 1, timeout=5)
    time.sleep(4)             # RcptTimeout 2s: the slow verdict is done
    flt.pump(0.2)
    ta, aa = flt.answer(0xd4, 0x77)
    tb, ab = flt.answer(0xe5, 0x78)
    rc = flt.finish()
    err = flt.stderr()
    ok(aa is None and "session gone before its verdict" in err,
       "a session that disconnects while judged gets no answer, and the "
       "filter carries on", err[-1500:])
    ok(ab == "proceed", "... the next session is answered")
    ok(rc == 0 and "stopping: sessions=1 requests=0 jobs=0" in err,
       "... and its state was freed at link-disconnect",
       "\n".join(l for l in err.splitlines() if "stopping:" in l))
    fx.close()


def scenario_eof_pending(port):
    fx = Fixture(port)
    flt = Filter(fx)
    handshake(flt)
    connect(flt, 0xf6)
    rcpt(flt, 0xf6, 1, "u@e.slowzone.test")
    time.sleep(0.2)
    t = time.monotonic()
    rc = flt.finish(timeout=15)
    ok(rc == 0 and time.monotonic() - t < 10,
       "end of input while a verdict runs: exit 0 within the verdict's "
       "budget (%.1f s)" % (time.monotonic() - t), flt.stderr()[-1500:])
    fx.close()


def scenario_startup(port):
    fx = Fixture(port)
    p = subprocess.run([FILTER, "-n", "-c", fx.conf], capture_output=True)
    ok(p.returncode == 0, "-n accepts the test configuration",
       p.stderr.decode("latin-1"))
    with open(fx.conf, "a") as f:
        f.write("NoSuchParameter 1\n")
    p = subprocess.run([FILTER, "-c", fx.conf], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=10)
    e = p.stderr.decode("latin-1")
    ok(p.returncode == 1 and "NoSuchParameter" in e and not p.stdout,
       "a broken configuration stops the filter at start-up, before it "
       "registers, with the reason on stderr", e)
    fx.close()


def main():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    for name in sorted(os.listdir(TDIR)):
        if name.endswith(".t"):
            run_transcript(os.path.join(TDIR, name), port)
    scenario_startup(port)
    scenario_slow_does_not_block(port)
    scenario_coalesce(port)
    scenario_session_limit(port)
    scenario_disconnect_pending(port)
    scenario_eof_pending(port)
    took = scenario_flood(port)
    print("# flood of 3000 sessions took %.2f s" % took)
    silent.close()
    print("1..%d" % N)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
