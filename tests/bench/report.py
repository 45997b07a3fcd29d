#!/usr/bin/python3
"""report.py META RAW.jsonl [NOTES.md] - the markdown report of tests/bench/run.sh.

Reads the facts run.sh wrote (META: key=value lines) and every measured run
(RAW: one JSON object a line), takes the median of each figure over the
runs, computes the ratios against the baselines of the same run, and says
for each target of issue 7 whether it was met; NOTES.md (an analysis written
by hand, with its date) is appended as it is.  Standard library only.
"""
import json
import statistics
import sys

# Targets (issue 7): numbers are the bounds the text names.
WARM_VS_ECHO = 0.85      # ours >= 85% of echo-sm (within 15%)
WARM_P99_US = 1000.0     # p99 under 1 ms
COLD_VS_RESOLVER = 4.0   # cold discovery at least 4x the resolver
NEG_VS_WARM = 0.85       # negative answers at warm speed (within 15%)
HOL_MOVE = 0.15          # the stall moves others' p99 by less than 15% ...
HOL_MOVE_US = 100.0      # ... or by less than 100 us (noise floor)
MILTER_OVERHEAD = 0.15   # at most 15% fewer messages/s than the no-op milter
RSS_10K_KB = 8 * 1024
RSS_100K_KB = 32 * 1024


def load(meta_path, raw_path):
    meta = {}
    with open(meta_path, encoding="utf-8") as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            if k:
                meta[k] = v
    rows = []
    with open(raw_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                sys.stderr.write("report.py: %s:%d: %s\n" % (raw_path, n, e))
    return meta, rows


RESOLVERS = (("resolver", "resolver (internal cache)"),
             ("resolver_sql", "resolver (SQLite cache)"))


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pick(rows, scen, server=None, variant=None, conc=None):
    return [r for r in rows if r.get("scenario") == scen and
            (server is None or r.get("server") == server) and
            (variant is None or r.get("variant") == variant) and
            (conc is None or r.get("conc") == conc)]


def res(r, *path):
    v = r.get("result", {})
    for p in path:
        if not isinstance(v, dict) or p not in v:
            return None
        v = v[p]
    return v


def mres(rows, *path):
    return med([res(r, *path) for r in rows])


def rratio(a_rows, b_rows, *path):
    """Median over rounds of a/b, each pair from the same round (run)."""
    b_by = dict((r.get("run"), res(r, *path)) for r in b_rows)
    qs = []
    for r in a_rows:
        a, b = res(r, *path), b_by.get(r.get("run"))
        if a is not None and b:
            qs.append(a / b)
    return med(qs)


def fratio(v, fmt="%.2f×"):
    return "-" if v is None else fmt % v


def mrow(rows, key):
    return med([r.get(key) for r in rows])


def fnum(v, fmt="%.0f"):
    return "-" if v is None else fmt % v


def fus(v):
    if v is None:
        return "-"
    return "%.0f µs" % v if v < 10000 else "%.1f ms" % (v / 1000)


def ratio(a, b, fmt="%.2f×"):
    if a is None or b is None or b == 0:
        return "-"
    return fmt % (a / b)


def verdict(ok):
    return "**met**" if ok else "**missed**"


def errors_of(rows):
    bad = 0
    for r in rows:
        e = res(r, "errors_total") or 0
        u = res(r, "unexpected") or 0
        bad += e + u
        if r.get("rc", 0) not in (0, None):
            bad += 1
    return bad


class Report:
    def __init__(self, meta, rows):
        self.m = meta
        self.rows = rows
        self.out = []
        self.targets = []   # (name, measured, target, ok or None)

    def w(self, s=""):
        self.out.append(s)

    def target(self, name, measured, bound, ok):
        self.targets.append((name, measured, bound, ok))

    # ------------------------------------------------------------- sections
    def header(self):
        m = self.m
        self.w("# Benchmarks")
        self.w()
        self.w("Figures of `tests/bench/run.sh` (issue 7): every figure is the median of "
               "%s runs; every ratio is against a baseline measured in the same run. "
               "How to reproduce: see the end." % m.get("runs", "?"))
        self.w()
        if m.get("note"):
            self.w("> %s" % m["note"])
            self.w()
        self.w("| | |")
        self.w("|---|---|")
        self.w("| date (UTC) | %s |" % m.get("date", "?"))
        self.w("| machine | %s CPUs: %s; %.1f GiB RAM |" % (
            m.get("ncpu", "?"), m.get("cpu", "?"), int(m.get("mem_kb", "0") or 0) / 1048576))
        self.w("| system | %s; %s |" % (m.get("os", "?"), m.get("kernel", "?")))
        self.w("| load average at start / end | %s / %s |" % (m.get("load_start", "?"),
                                                             m.get("load_end", "?")))
        self.w("| mta-sts-milter | %s (commit %s) |" % (m.get("daemon_version", "?"),
                                                       m.get("commit", "?")))
        if m.get("have_resolver") == "1":
            self.w("| postfix-mta-sts-resolver | %s (Debian), python %s, uvloop %s; "
                   "measured with its caches: %s |" % (
                       m.get("resolver_version", "?"), m.get("python_version", "?"),
                       m.get("uvloop_version") or "not installed",
                       m.get("resolver_caches", "?")))
        else:
            self.w("| postfix-mta-sts-resolver | not measured (BENCH_RESOLVER=1 installs it) |")
        if m.get("ca_bundle"):
            self.w("| trust (both) | %s |" % m["ca_bundle"])
        self.w("| command | `%s` |" % m.get("command", "?"))
        self.w("| duration | %s s |" % m.get("duration_s", "?"))
        self.w()

    def summary(self):
        self.w("## Targets")
        self.w()
        self.w("| target | measured | bound | |")
        self.w("|---|---|---|---|")
        for name, measured, bound, ok in self.targets:
            self.w("| %s | %s | %s | %s |" % (name, measured, bound,
                                            "not measured" if ok is None else verdict(ok)))
        self.w()

    def warm(self):
        rows = pick(self.rows, "warm")
        if not rows:
            return
        self.w("## 1. Warm map lookups")
        self.w()
        self.w("smload against each socketmap server in the lab namespace, lock-step "
               "connections (one Postfix smtp process each), %s s per run. Keys: `uniform` "
               "picks among the 1000 bulk domains, all cached; `hot` asks one domain. "
               "echo-sm answers every request with the same bytes as our server, doing no "
               "work: the limit of this machine. Rates and latencies are medians over the "
               "runs; each ratio is the median of the ratios taken within one round "
               "(the servers of a round ran one after the other), which a change in the "
               "machine's load between rounds does not bias." % self.m.get("secs", "?"))
        self.w()
        present = [(k, n) for k, n in RESOLVERS if pick(rows, "warm", k)]
        head = "| keys | conc | echo-sm req/s | ours req/s | ours / echo |"
        sep = "|---|---|---|---|---|"
        for k, n in present:
            head += " %s req/s | ours / it |" % n
            sep += "---|---|"
        head += " p50 ours | p99 ours | p99 echo |"
        sep += "---|---|---|"
        for k, n in present:
            head += " p99 %s |" % k.replace("_sql", " (SQLite)")
            sep += "---|"
        self.w(head)
        self.w(sep)
        ratios = {}
        for var, conc in (("uniform", 1), ("uniform", 8), ("uniform", 64), ("hot", 64)):
            e = pick(rows, "warm", "echo", var, conc)
            o = pick(rows, "warm", "ours", var, conc)
            if not o:
                continue
            er, orr = mres(e, "requests_per_s"), mres(o, "requests_per_s")
            op99 = mres(o, "latency_us", "p99")
            vs_echo = rratio(o, e, "requests_per_s")
            vs_best = None
            line = "| %s | %d | %s | %s | %s |" % (var, conc, fnum(er), fnum(orr),
                                                fratio(vs_echo))
            p99s = ""
            for k, n in present:
                rr = pick(rows, "warm", k, var, conc)
                rate = mres(rr, "requests_per_s")
                q = rratio(o, rr, "requests_per_s")
                if q is not None and (vs_best is None or q < vs_best):
                    vs_best = q
                line += " %s | %s |" % (fnum(rate), fratio(q))
                p99s += " %s |" % fus(mres(rr, "latency_us", "p99"))
            line += " %s | %s | %s |" % (fus(mres(o, "latency_us", "p50")), fus(op99),
                                         fus(mres(e, "latency_us", "p99")))
            self.w(line + p99s)
            ratios[(var, conc)] = (vs_echo, vs_best)
        self.w()
        self.cpu_note(rows)
        bad = errors_of(rows)
        self.w("Errors or unexpected replies over all warm runs: %d." % bad)
        self.w()
        for conc in (8, 64):
            v = ratios.get(("uniform", conc), (None, None))[0]
            self.target("warm lookups within 15%% of echo-sm, c=%d" % conc,
                        "%.0f%% of echo" % (100 * v) if v else "-", ">= 85%",
                        None if v is None else v >= WARM_VS_ECHO)
        # At c=64 lock-step, p99 is mostly queueing (Little's law: 64 requests in
        # flight at ~70k/s is ~0.9 ms each on average): echo-sm, which does no
        # work, is the bound there.
        low = [mres(pick(rows, "warm", "ours", "uniform", c), "latency_us", "p99")
               for c in (1, 8)]
        low = [x for x in low if x is not None]
        lw = max(low) if low else None
        self.target("warm p99 at c=1 and c=8 (worst)", fus(lw), "< 1 ms",
                    None if lw is None else lw < WARM_P99_US)
        o = pick(rows, "warm", "ours", "uniform", 64)
        e = pick(rows, "warm", "echo", "uniform", 64)
        o64, e64 = mres(o, "latency_us", "p99"), mres(e, "latency_us", "p99")
        q = rratio(o, e, "latency_us", "p99")
        self.target("warm p99 at c=64 vs echo-sm's p99 of the same round",
                    "%s vs %s (%s)" % (fus(o64), fus(e64), fratio(q)),
                    "< 1 ms, or within 15% of echo-sm",
                    None if o64 is None or q is None else
                    o64 < WARM_P99_US or q <= 1.15)
        v = ratios.get(("uniform", 64), (None, None))[1]
        self.target("warm lookups vs the faster resolver, c=64", "%.1f×" % v if v else "-",
                    ">= 3.5×", None if v is None else v >= 3.5)

    def cpu_note(self, rows):
        """Where the CPU went: median server and machine CPU per server."""
        parts = []
        for s in ("echo", "ours", "resolver", "resolver_sql", "none", "noop"):
            rr = [r for r in rows if r.get("server") == s]
            if not rr:
                continue
            parts.append("%s: server %s%%, generator %s%%, machine %s%%" % (
                s, fnum(mrow(rr, "server_cpu")), fnum(mres(rr, "cpu", "percent")),
                fnum(mrow(rr, "machine_cpu"))))
        if parts:
            self.w("CPU (median over these runs, 100%% = one core of %s): %s. "
                   "\"machine\" includes everything else running on it." % (
                       self.m.get("ncpu", "?"), "; ".join(parts)))
            self.w()

    def negative(self):
        rows = pick(self.rows, "negative")
        if not rows:
            return
        self.w("## 2. Negative answers")
        self.w()
        self.w("One domain without an `_mta-sts` record (`no-txt.sts-lab.test`) and one whose "
               "policy fetch fails (`http-404.sts-lab.test`), 64 connections, each against "
               "the same server's warm figure (uniform keys) of the same round.")
        self.w()
        present = [(k, n) for k, n in RESOLVERS if pick(rows, "negative", k)]
        head = "| domain | ours req/s | ours / ours warm | p99 ours |"
        sep = "|---|---|---|---|"
        for k, n in present:
            head += " %s req/s | it / its warm | its p99 |" % n
            sep += "---|---|---|"
        self.w(head)
        self.w(sep)
        ours_w = mres(pick(rows, "negative", "ours", "warm-reference"), "requests_per_s")
        refs = dict((k, mres(pick(rows, "negative", k, "warm-reference"), "requests_per_s"))
                    for k, n in present)
        worst = None
        for var, label in (("no-txt", "no MTA-STS (no-txt)"),
                           ("fetch-failed", "fetch failed (http-404)")):
            o = pick(rows, "negative", "ours", var)
            orr = mres(o, "requests_per_s")
            v = rratio(o, pick(rows, "negative", "ours", "warm-reference"), "requests_per_s")
            if v is not None:
                worst = v if worst is None else min(worst, v)
            line = "| %s | %s | %s | %s |" % (label, fnum(orr), fratio(v),
                                             fus(mres(o, "latency_us", "p99")))
            for k, n in present:
                rr = pick(rows, "negative", k, var)
                rate = mres(rr, "requests_per_s")
                q = rratio(rr, pick(rows, "negative", k, "warm-reference"), "requests_per_s")
                line += " %s | %s | %s |" % (fnum(rate), fratio(q),
                                             fus(mres(rr, "latency_us", "p99")))
            self.w(line)
        self.w()
        self.w("Warm reference (uniform keys, same round): ours %s req/s%s. Errors or "
               "unexpected replies: %d." % (fnum(ours_w), "".join(
                   ", %s %s req/s" % (n, fnum(refs.get(k))) for k, n in present),
                   errors_of(rows)))
        self.w()
        self.target("negative answers at warm speed (worst of the two)",
                    "%.0f%% of warm" % (100 * worst) if worst else "-", ">= 85%",
                    None if worst is None else worst >= NEG_VS_WARM)

    def cold(self):
        rows = pick(self.rows, "cold")
        if not rows:
            return
        self.w("## 3. Cold discovery")
        self.w()
        self.w("1000 distinct lab domains (`d0..d999.sts-bulk.test`: TXT, A of the policy "
               "host, HTTPS fetch with a certificate check against the lab CA), 50 "
               "connections, each domain asked once; empty caches, daemons restarted and "
               "the bulk zone flushed from the lab resolver before each run. Our map server "
               "answers a domain it is still discovering with `TEMP` at once (Postfix "
               "defers, the milter has usually discovered it at RCPT time already); smload "
               "asks such a domain again every %s ms on the same connection "
               "and times each domain from its first request to its policy. The resolver "
               "holds each reply until it has fetched the policy." % self.m.get("retry_ms"))
        self.w()
        self.w("| server | time for 1000 | domains/s | p50 per domain | p99 per domain | "
               "answered | retries | errors |")
        self.w("|---|---|---|---|---|---|---|---|")
        t = {}
        names = dict(RESOLVERS, ours="ours", echo="echo-sm (no work)")
        for s in ("ours", "resolver", "resolver_sql", "echo"):
            rr = pick(rows, "cold", s)
            if not rr:
                continue
            el = mres(rr, "elapsed_s")
            t[s] = el
            self.w("| %s | %s s | %s | %s | %s | %s | %s | %d |" % (
                names[s], fnum(el, "%.3f"),
                fnum(mres(rr, "answers_per_s")), fus(mres(rr, "latency_us", "p50")),
                fus(mres(rr, "latency_us", "p99")), fnum(mres(rr, "answered")),
                fnum(mres(rr, "retries")), errors_of(rr)))
        self.w()
        qs = []
        for r in pick(rows, "cold", "ours"):
            times = [res(x, "elapsed_s") for k, n in RESOLVERS
                     for x in pick(rows, "cold", k) if x.get("run") == r.get("run")]
            times = [x for x in times if x]
            if times and res(r, "elapsed_s"):
                qs.append(min(times) / res(r, "elapsed_s"))
        v = med(qs)
        self.w("Time of the faster resolver / our time, median of the rounds: %s." % (
            "%.2f×" % v if v else "-"))
        self.w()
        self.cpu_note(rows)
        self.target("cold discovery vs the faster resolver", "%.1f×" % v if v else "-",
                    ">= 4×",
                    None if v is None else v >= COLD_VS_RESOLVER)

    def hol(self):
        rows = pick(self.rows, "hol")
        if not rows:
            return
        self.w("## 4. Head-of-line isolation")
        self.w()
        self.w("The warm load (64 connections, uniform keys) alone, then again while 8 more "
               "connections ask for `stall.sts-lab.test`, whose policy host completes the "
               "TLS handshake and then never answers (100 ms between an answer and the next "
               "question on each of them).")
        self.w()
        self.w("Each pair ran one after the other in a round; \"change\" is the median of "
               "the rounds' ratios.")
        self.w()
        self.w("| server | p99 without | p99 with stall | change | req/s without | "
               "req/s with | stall lookups: replies | their p50 |")
        self.w("|---|---|---|---|---|---|---|---|")
        names = dict(RESOLVERS, ours="ours")
        for s in ("ours", "resolver", "resolver_sql"):
            a = pick(rows, "hol", s, "without-stall")
            b = pick(rows, "hol", s, "with-stall")
            side = pick(rows, "hol", s, "stall-side")
            if not a:
                continue
            pa, pb = mres(a, "latency_us", "p99"), mres(b, "latency_us", "p99")
            kinds = {}
            for r in side:
                for k, n in (res(r, "kinds") or {}).items():
                    kinds[k] = kinds.get(k, 0) + n
            kind_s = ", ".join("%s %d" % (k, n) for k, n in sorted(kinds.items()) if n) or "-"
            self.w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                names[s], fus(pa), fus(pb), fratio(rratio(b, a, "latency_us", "p99")),
                fnum(mres(a, "requests_per_s")),
                fnum(mres(b, "requests_per_s")), kind_s,
                fus(mres(side, "latency_us", "p50"))))
            if s == "ours" and pa and pb:
                q = rratio(b, a, "latency_us", "p99")
                d_by = dict((x.get("run"), res(x, "latency_us", "p99")) for x in a)
                dd = med([res(x, "latency_us", "p99") - d_by[x.get("run")] for x in b
                          if d_by.get(x.get("run")) is not None and
                          res(x, "latency_us", "p99") is not None])
                ok = (q is not None and q <= 1 + HOL_MOVE) or \
                    (dd is not None and dd <= HOL_MOVE_US)
                self.target("the stall does not move others' p99 (median of the rounds)",
                            "%s → %s (%s)" % (fus(pa), fus(pb), fratio(q)),
                            "< +15% or < +100 µs", ok)
        self.w()

    def milter(self):
        rows = pick(self.rows, "milter")
        if not rows:
            return
        self.w("## 5. Milter overhead")
        self.w()
        self.w("Real Postfix 3.7 (the lab's, from the Debian package) on 127.0.3.10:25, "
               "8 SMTP sessions (smtpload: lock-step, up to 100 messages a session), 3 "
               "recipients per message (two enforce domains spread over the 1000 bulk "
               "domains, one domain without MTA-STS), 1 KB body, %d s per run. Delivery is "
               "`discard` so that only the SMTP side is measured. The milters listen on unix "
               "sockets; both have seen every recipient domain before the timed run." % (
                   2 * int(self.m.get("secs", "5") or 5)))
        self.w()
        self.w("| milter | messages/s | vs no-op | RCPT p50 | RCPT p99 | message p50 | "
               "message p99 | RCPT 2xx / 4xx / 5xx | errors |")
        self.w("|---|---|---|---|---|---|---|---|---|")
        rate = {}
        for v, label in (("none", "none"), ("noop", "no-op (tests/bench/noop-milter)"),
                         ("ours", "mta-sts-milter")):
            rr = pick(rows, "milter", "postfix", v)
            if not rr:
                continue
            rate[v] = mres(rr, "messages_per_s")
            self.w("| %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %d |" % (
                label, fnum(rate[v]), fratio(rratio(rr, pick(rows, "milter", "postfix", "noop"),
                                                    "messages_per_s")),
                fus(mres(rr, "rcpt_latency_us", "p50")), fus(mres(rr, "rcpt_latency_us", "p99")),
                fus(mres(rr, "message_latency_us", "p50")),
                fus(mres(rr, "message_latency_us", "p99")),
                fnum(mres(rr, "rcpt", "ok")), fnum(mres(rr, "rcpt", "temp")),
                fnum(mres(rr, "rcpt", "perm")), errors_of(rr)))
        self.w()
        self.cpu_note([dict(r, server=r.get("variant")) for r in rows])
        q = rratio(pick(rows, "milter", "postfix", "noop"),
                   pick(rows, "milter", "postfix", "ours"), "messages_per_s")
        if q is not None:
            over = q - 1
            self.target("milter overhead vs the no-op milter (messages/s)",
                        "%+.0f%%" % (100 * over), "<= 15%", over <= MILTER_OVERHEAD)

    def footprint(self):
        rows = pick(self.rows, "footprint")
        if not rows:
            return
        self.w("## 6. Footprint")
        self.w()
        self.w("The daemon (map server and milter) started on a SQLite database seeded with "
               "N fresh enforce policies (sql/schema.sql). Start-up: from the exec to the "
               "first correct answer for a seeded domain. RSS and peak RSS (VmRSS, VmHWM "
               "from /proc) once it answers, and again after every policy was asked once. "
               "RssFile is the pages of the shared libraries (libcrypto, libc, SQLite, "
               "libunbound, libcurl and what libcurl links) that the daemon touched, which "
               "every process using them shares; RssAnon is the daemon's own memory.")
        self.w()
        self.w("| policies | start-up | RSS at start | peak at start | RSS after lookups | "
               "peak after lookups | of it private (RssAnon) | of it files (RssFile) |")
        self.w("|---|---|---|---|---|---|---|---|")
        peak = {}
        for n in ("1000", "10000", "100000"):
            rr = pick(rows, "footprint", "ours", n)
            if not rr:
                continue
            peak[n] = mres(rr, "hwm_kb_used")
            self.w("| %s | %s ms | %s | %s | %s | %s | %s | %s |" % (
                n, fnum(mres(rr, "startup_ms")), kb(mres(rr, "rss_kb_start")),
                kb(mres(rr, "hwm_kb_start")), kb(mres(rr, "rss_kb_used")), kb(peak[n]),
                kb(mres(rr, "anon_kb_used")), kb(mres(rr, "file_kb_used"))))
        self.w()
        ref = []
        for s, n in (("ours", "ours"),) + RESOLVERS:
            v = self.m.get("rss_after_warm_" + s)
            if v:
                rss, hwm = (v.split() + ["", ""])[:2]
                ref.append("%s %s (peak %s)" % (n, kb(float(rss)), kb(float(hwm))))
        if ref:
            self.w("For comparison, after the warm scenario (1000 bulk domains cached, "
                   "milter idle): %s." % "; ".join(ref))
            self.w()
        if "10000" in peak:
            self.target("peak RSS with 10k policies", kb(peak["10000"]), "< 8 MB",
                        peak["10000"] < RSS_10K_KB)
        if "100000" in peak:
            self.target("peak RSS with 100k policies", kb(peak["100000"]), "< 32 MB",
                        peak["100000"] < RSS_100K_KB)

    def profile(self):
        rows = pick(self.rows, "profile")
        if not rows:
            if self.m.get("profile_skipped"):
                self.w("## 7. Instruction counts")
                self.w()
                self.w("Not measured: %s." % self.m["profile_skipped"])
                self.w()
            return
        self.w("## 7. Instruction counts (callgrind)")
        self.w()
        self.w("Instructions executed do not depend on the load of the machine, so they "
               "back the timings above where those are noisy. Our daemon ran under "
               "valgrind --tool=callgrind; each figure is one counting window.")
        self.w()
        self.w("| window | instructions per item | map server part |")
        self.w("|---|---|---|")
        per = {}
        for v, label in (("warm", "warm lookup (policy)"),
                         ("no-txt", "lookup, no MTA-STS (negative cache)"),
                         ("fetch-failed", "lookup, fetch failed (negative cache)")):
            rr = pick(rows, "profile", "ours", v)
            if not rr:
                continue
            n = res(rr[0], "lookups") or 1
            per[v] = (res(rr[0], "total") or 0) / n
            self.w("| %s | %s | %s |" % (label, fnum(per[v]),
                                         fnum((res(rr[0], "mapd") or 0) / n)))
        self.w()
        if per.get("warm"):
            self.w("Negative answers cost %s of a warm policy answer in instructions." % (
                " and ".join("%.0f%%" % (100 * per[v] / per["warm"])
                             for v in ("no-txt", "fetch-failed") if per.get(v))))
            self.w()
        rr = pick(rows, "profile", "ours", "cold")
        if rr:
            c = rr[0]["result"]
            n = c.get("discoveries") or 1
            self.w("Cold discovery, %d domains (%s answered): %s instructions per "
                   "discovery in the whole process, of which:" % (
                       n, c.get("answered", "?"), fnum((c.get("total") or 0) / n)))
            self.w()
            self.w("| part | instructions per discovery | share |")
            self.w("|---|---|---|")
            tot = c.get("total") or 1
            for k, label in (("handshake", "TLS handshake (SSL_do_handshake)"),
                             ("cert_decode", "  of it: certificate decoding (d2i_X509)"),
                             ("ecdsa_verify", "  of it: ECDSA signature checks"),
                             ("ssl_ctx_new", "SSL_CTX_new (libcurl makes one per connection)"),
                             ("ca_load", "CA file parsing (X509_STORE_load_file)"),
                             ("unbound", "DNS answers (libunbound)"),
                             ("sqlite", "SQLite statements")):
                v = c.get(k) or 0
                self.w("| %s | %s | %.0f%% |" % (label, fnum(v / n), 100.0 * v / tot))
            self.w()

    def tail(self):
        self.w("## How to reproduce")
        self.w()
        self.w("As root on Debian 12, from a build directory configured as in the README:")
        self.w()
        self.w("    make bench-report        # BENCH_RESOLVER=1: installs the resolver if missing")
        self.w()
        self.w("or `tests/bench/run.sh` with the environment named in its header "
               "(BENCH_RUNS, BENCH_SECS, BENCH_SCENARIOS, LAB, LAB_NETNS). It brings the "
               "lab up in its own network namespace (LAB_BULK=1000), runs every scenario, "
               "tears everything down, and writes this file as report.md next to the raw "
               "figures of every run (raw.jsonl). Other load on the machine moves these "
               "figures: compare ratios, which are taken within one round, rather than "
               "absolute rates across machines.")
        self.w()

    def render(self):
        self.header()
        body_start = len(self.out)
        self.warm()
        self.negative()
        self.cold()
        self.hol()
        self.milter()
        self.footprint()
        self.profile()
        body = self.out[body_start:]
        self.out = self.out[:body_start]
        self.summary()
        self.out += body
        self.tail()
        return "\n".join(self.out) + "\n"


def kb(v):
    if v is None:
        return "-"
    return "%.1f MB" % (v / 1024.0)


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write("usage: report.py META RAW.jsonl [NOTES.md]\n")
        sys.exit(2)
    meta, rows = load(sys.argv[1], sys.argv[2])
    sys.stdout.write(Report(meta, rows).render())
    if len(sys.argv) == 4:
        # The analysis a person wrote about a run: appended as it is.
        with open(sys.argv[3], encoding="utf-8") as f:
            sys.stdout.write("\n" + f.read())


if __name__ == "__main__":
    main()
