#!/usr/bin/python3
"""lab-gen.py - turn tests/lab/catalogue into the lab's generated files.

Usage: lab-gen.py CATALOGUE LAB POLICYDIR

Writes, under LAB (all world-readable):
  dns/zones/*.zone, dns/nsd.conf, dns/unbound.conf      DNS servers of the lab
  engine-unbound.conf                                    libunbound: forward "." to the lab unbound
  engine-localdata.conf                                  libunbound: same data as local-data (hermetic)
  engine-authzone.conf                                   libunbound: the zone files as auth-zones (hermetic)
  nginx/nginx.conf, www/<domain>/..., policies/<domain>/<id>.txt
  hostile.conf                                           what bin/hostile.py serves
  pki/want                                               certificates lab-up.sh must make
  dns/tlsa, dns/signed                                   TLSA records to add and zones to sign
                                                         (lab-dnssec.sh, after the PKI)
  addresses                                              127.x addresses to put on lo
  hosts                                                  every A record, /etc/hosts format
  mx-hosts                                               "name ip cert-base" for the SMTP sinks
  sinks                                                  "ip name kind cert-base": every SMTP sink
                                                         (mx-hosts + the special ones, sink=...)
  facts                                                  per-domain facts for test-lab-smoke.sh
  skipped                                                catalogue domains not served (reason)
  bulk-domains                                           the LAB_BULK domains, one a line (may be empty)

LAB_BULK=N (environment, default 0, at most 100000) adds N interchangeable
enforce domains d0.sts-bulk.test .. d<N-1>.sts-bulk.test for the benchmarks
(tests/bench): TXT, A of the policy host (nginx), MX to one shared host, one
policy body for all, certificates carrying BULK_SANS names each.  They are
kept out of facts, so the smoke test does not see them.
Exits non-zero on a catalogue error.  Python 3 standard library only.
"""
import os
import re
import sys
import time

# ---- address plan (keep in sync with README) --------------------------------------
RESOLVER_IP = "127.0.0.1"      # lab unbound, port 53 (resolv.conf of the namespace)
NSD_IP = "127.0.1.1"           # nsd, authoritative for every lab zone, port 53
DEAD_NS_IP = "127.0.1.99"      # never queried (do-not-query-address): instant SERVFAIL
SILENT_NS_IP = "127.0.1.98"    # nothing listens: resolvers retry, clients time out
NGINX_IP = "127.0.2.1"         # nginx, HTTPS 443, every policy host by SNI
HOSTILE = {                    # bin/hostile.py, port 443
    "stall": "127.0.2.10",     #   TLS handshake, then silence
    "notls": "127.0.2.11",     #   TCP accepted, TLS never answered
    "drip": "127.0.2.12",      #   200 text/plain, body 1 byte / 2 s
}
REFUSED_IP = "127.0.2.13"      # nothing listens on 443
MX_BASE = (127, 0, 10, 1)      # MX hosts: 127.0.10.1-254, 127.0.11.1-254, catalogue order
MX_MAX = 508
SPECIAL_BASE = (127, 0, 12, 1) # special MX hosts (catalogue sink=KIND): 127.0.12.1-254
SINK_KINDS = {"good", "wrongname", "selfsigned", "expired", "notls", "tls10", "wildcard"}
RESERVED_MTA = ["127.0.3.2", "127.0.3.10", "127.0.3.20", "127.0.3.21", "127.0.3.30"]
TTL = 60
LAB_ZONES = ["sts-lab.test", "sts-provider.test", "sts-dane.test", "sts-bulk.test"]
# Zones lab-dnssec.sh signs (ldns-signzone); their trust anchor is
# dns/<zone>.ds, given to the lab unbound and to the engine (TrustAnchorFile).
SIGNED_ZONES = ["sts-dane.test"]
BULK_ZONE = "sts-bulk.test"    # LAB_BULK domains d<i>.sts-bulk.test
BULK_MX = "mx.sts-bulk.test"   # their one MX host; no SMTP sink behind it
BULK_MX_IP = "127.0.13.1"
BULK_SANS = 100                # names per bulk certificate
BULK_MAX = 100000
NS_NAME = "ns.lab-root"        # name of the lab nameserver (in the fake root zone)

EXPECTS = {"enforce", "testing", "none", "no-policy", "temporary"}
CLASSES = {"ok", "no-txt", "bad-txt", "multi-txt", "dns", "connect", "certificate",
           "http-status", "media-type", "size", "timeout", "parse", "-"}
KEYS = {"mode", "id", "id2", "mode2", "mx", "pmx", "mxmatch", "maxage", "eol", "txt",
        "host", "http", "cert", "dns", "policy", "sink", "tlsa"}
CHOICES = {
    "mode": {"enforce", "testing", "none"}, "mode2": {"enforce", "testing", "none"},
    "mxmatch": {"yes", "no"}, "eol": {"lf", "crlf"},
    "txt": {"ok", "none", "multi", "badid", "split", "extra", "cname"},
    "host": {"nginx", "none", "cname", "stall", "notls", "drip", "refused"},
    "http": {"ok", "404", "301", "html", "charset", "big", "parse"},
    "cert": {"good", "expired", "wrongname", "selfsigned"},
    "dns": {"ok", "servfail", "timeout"}, "policy": {"lab", "real"},
    "sink": SINK_KINDS,
    "tlsa": {"good", "mismatch", "bogus"},
}
NAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
ID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")


def die(msg):
    sys.stderr.write("lab-gen: %s\n" % msg)
    sys.exit(1)


def parse_catalogue(path):
    """Return a list of dicts: domain, expect, cls, note, d (directives), line."""
    out, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 3)
            if len(parts) < 3:
                die("%s:%d: need at least domain expect class" % (path, n))
            dom, exp, cls = parts[0].lower().rstrip("."), parts[1], parts[2]
            note = parts[3] if len(parts) > 3 else ""
            if not NAME_RE.match(dom):
                die("%s:%d: bad domain %r" % (path, n, dom))
            if dom in seen:
                die("%s:%d: duplicate domain %s" % (path, n, dom))
            seen.add(dom)
            if exp not in EXPECTS:
                die("%s:%d: bad expect %r" % (path, n, exp))
            if cls not in CLASSES:
                die("%s:%d: bad class %r" % (path, n, cls))
            d = {}
            for tok in note.split():
                m = re.match(r"^([a-z0-9]+)=(\S+)$", tok)
                if not m:
                    break
                k, v = m.group(1), m.group(2)
                if k not in KEYS:
                    die("%s:%d: unknown directive %r" % (path, n, k))
                base = v.split(":", 1)[0]
                if k in CHOICES and base not in CHOICES[k]:
                    die("%s:%d: bad value %s=%s" % (path, n, k, v))
                d[k] = v
            out.append({"domain": dom, "expect": exp, "cls": cls, "note": note, "d": d,
                        "line": n})
    return out


def zone_of(name):
    for z in LAB_ZONES:
        if name == z or name.endswith("." + z):
            return z
    labels = name.split(".")
    return ".".join(labels[-2:])


def rel(name, domain):
    """Catalogue host names: absolute if they end in '.' or in a lab zone, else
    relative to the domain (mx1 -> mx1.<domain>, *.mx -> *.mx.<domain>)."""
    if name.startswith("*."):
        return "*." + rel(name[2:], domain)
    if name.endswith("."):
        return name[:-1]
    if any(name.endswith("." + z) for z in LAB_ZONES):
        return name
    return name + "." + domain


def pattern_matches(pat, host):
    """RFC 8461 §4.1: exact, or '*.' + one label."""
    if pat.startswith("*."):
        suffix = pat[1:]
        return host.endswith(suffix) and "." not in host[: -len(suffix)] and \
            len(host) > len(suffix)
    return host == pat


class Lab:
    def __init__(self, lab, policydir):
        self.lab = lab
        self.policydir = policydir
        self.rr = {}          # zone -> list of (owner, type, rdata)
        self.a = {}           # name -> ip (A records, for hosts file)
        self.mxhosts = {}     # name -> ip
        self.special = {}     # name -> (ip, kind, certbase): sink=KIND MX hosts (127.0.12.x)
        self.certs = []       # (base, kind, [names])
        self.nginx = []       # server blocks
        self.facts = []
        self.skipped = []
        self.addresses = set([NSD_IP, NGINX_IP] + list(HOSTILE.values()) + RESERVED_MTA)
        self.hostile = []
        self.cnames = set()
        self.servfail = []
        self.tlsa = []        # (owner, certbase, kind, zone): lab-dnssec.sh adds them
        self.serial = int(time.time())
        self.bulk_domains = []

    def add(self, owner, rtype, rdata):
        z = zone_of(owner)
        self.rr.setdefault(z, []).append((owner, rtype, rdata))
        if rtype == "A":
            self.a[owner] = rdata

    def mx_ip(self, host, sink="good", dom=None):
        if sink != "good":
            return self.special_ip(host, sink, dom)
        if host in self.special:
            die("MX host %s is used both as a special sink and a good one" % host)
        if host not in self.mxhosts:
            i = len(self.mxhosts)
            if i >= MX_MAX:
                die("too many MX hosts")
            ip = "127.0.%d.%d" % (MX_BASE[2] + i // 254, 1 + i % 254)   # .1-.254 of each /24
            self.mxhosts[host] = ip
            self.addresses.add(ip)
            self.add(host, "A", ip)
            self.certs.append(("mx/" + host, "good", [host]))
        return self.mxhosts[host]

    def special_ip(self, host, kind, dom=None):
        """MX host served by a special SMTP sink (catalogue sink=KIND); wildcard: a
        certificate for *.DOM (the catalogue domain), from the lab CA."""
        if host in self.mxhosts or (host in self.special and self.special[host][1] != kind):
            die("MX host %s is used with two different sink kinds" % host)
        if host not in self.special:
            i = len(self.special)
            if i >= 254:
                die("too many special MX hosts")
            ip = "127.0.%d.%d" % (SPECIAL_BASE[2], SPECIAL_BASE[3] + i)
            if kind in ("good", "tls10"):        # right name, right CA; tls10: TLS 1.0 only
                cb = "mx/" + host
                self.certs.append((cb, "good", [host]))
            elif kind == "wrongname":
                cb = "bad/wrongname-mx"             # made in rest(): only wrong.other.test
            elif kind in ("selfsigned", "expired"):
                cb = "bad/%s-%s" % (kind, host)
                self.certs.append((cb, kind, [host]))
            elif kind == "wildcard":
                if not dom:
                    die("MX host %s: sink=wildcard needs its domain" % host)
                cb = "mx/star." + dom
                self.certs.append((cb, "good", ["*." + dom]))
            else:                                   # notls: no STARTTLS offered
                cb = "-"
            self.special[host] = (ip, kind, cb)
            self.addresses.add(ip)
            self.add(host, "A", ip)
        return self.special[host][0]

    def policy_text(self, mode, pmx, maxage, eol, pad_domain=None):
        lines = ["version: STSv1", "mode: " + mode] + ["mx: " + p for p in pmx]
        if pad_domain:
            i = 0
            while sum(len(x) + len(eol) for x in lines) < 70 * 1024 and i < 100000:
                lines.append("mx: pad%05d.%s" % (i, pad_domain))
                i += 1
        lines.append("max_age: %d" % maxage)
        return eol.join(lines) + eol

    def write(self, path, text, mode=0o644):
        full = os.path.join(self.lab, path)
        os.makedirs(os.path.dirname(full), mode=0o755, exist_ok=True)
        tmp = full + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.rename(tmp, full)

    def domain(self, e):
        dom, d = e["domain"], e["d"]
        exp = e["expect"]
        real = d.get("policy", "lab") == "real"
        tid = d.get("id", "20240101T000000")
        if not ID_RE.match(tid):
            die("line %d: id %r is not 1-32 alphanumerics" % (e["line"], tid))
        txt = d.get("txt", "ok")
        host = d.get("host", "nginx")
        http = d.get("http", "ok")
        cert = d.get("cert", "good")
        dns = d.get("dns", "ok")
        eol = "\r\n" if d.get("eol") == "crlf" else "\n"
        maxage = int(d.get("maxage", "86400"))

        # ---- policy body ------------------------------------------------------------
        if real:
            src = os.path.join(self.policydir, "real-%s.txt" % dom)
            if not os.path.isfile(src):
                self.skipped.append((dom, "missing " + src))
                return
            with open(src, "rb") as f:
                body = f.read().decode("utf-8", "replace")
            mode, pmx = None, []
            for ln in body.replace("\r\n", "\n").split("\n"):
                k, _, v = ln.partition(":")
                if k.strip() == "mode":
                    mode = v.strip()
                elif k.strip() == "mx":
                    pmx.append(v.strip().lower())
            if mode != exp:
                die("line %d: %s: catalogue expects %s but %s says mode %s"
                    % (e["line"], dom, exp, src, mode))
            mx = []
            for p in pmx:
                h = "mx1." + p[2:] if p.startswith("*.") else p
                if h not in mx:
                    mx.append(h)
        else:
            mode = d.get("mode", exp if exp in ("enforce", "testing", "none") else "enforce")
            mx = [rel(h, dom) for h in d.get("mx", "mx1").split(",")]
            pmx = [rel(p, dom) for p in d.get("pmx", d.get("mx", "mx1")).split(",")]
            body = self.policy_text(mode, pmx, maxage, eol,
                                    pad_domain=dom if http == "big" else None)
            if http == "parse":
                body = body.replace("mode: " + mode, "mode " + mode)
        mxmatch = all(any(pattern_matches(p, h) for p in pmx) for h in mx)
        want = d.get("mxmatch", "yes") == "yes"
        if not real and mxmatch != want:
            die("line %d: %s: mxmatch=%s but patterns %s vs MX %s say %s"
                % (e["line"], dom, d.get("mxmatch", "yes"), pmx, mx, mxmatch))

        # ---- DNS ----------------------------------------------------------------------
        if dns in ("servfail", "timeout"):
            ns = "ns." + dom
            self.add(dom, "NS", ns + ".")
            self.add(ns, "A", DEAD_NS_IP if dns == "servfail" else SILENT_NS_IP)
            self.servfail.append((dom, dns))
            hostip = "-"
            mx_out = []
        else:
            tname = "_mta-sts." + dom
            rec = 'v=STSv1; id=%s;' % tid
            if txt == "ok":
                self.add(tname, "TXT", '"%s"' % rec)
            elif txt == "multi":
                self.add(tname, "TXT", '"v=STSv1; id=%sa;"' % tid[:31])
                self.add(tname, "TXT", '"v=STSv1; id=%sb;"' % tid[:31])
            elif txt == "badid":
                self.add(tname, "TXT", '"v=STSv1; id=bad_id!;"')
            elif txt == "split":
                self.add(tname, "TXT", '"v=STSv1; " "id=%s;"' % tid)
            elif txt == "extra":
                self.add(tname, "TXT", '"%s"' % rec)
                self.add(tname, "TXT", '"v=spf1 -all"')
            elif txt.startswith("cname:"):
                target = txt.split(":", 1)[1].lower()
                self.add(tname, "CNAME", target + ".")
                self.add(target, "TXT", '"%s"' % rec)
            # txt == none: nothing
            pname = "mta-sts." + dom
            if host in ("nginx",):
                hostip = NGINX_IP
                self.add(pname, "A", hostip)
            elif host.startswith("cname:"):
                target = host.split(":", 1)[1].lower()
                hostip = NGINX_IP
                self.add(pname, "CNAME", target + ".")
                if target not in self.cnames:
                    self.cnames.add(target)
                    self.add(target, "A", NGINX_IP)
            elif host in HOSTILE:
                hostip = HOSTILE[host]
                self.add(pname, "A", hostip)
            elif host == "refused":
                hostip = REFUSED_IP
                self.add(pname, "A", hostip)
            else:
                hostip = "-"
            for i, h in enumerate(mx):
                self.add(dom, "MX", "%d %s." % (10 * (i + 1) if not real else 5 * (i + 1), h))
                self.mx_ip(h, d.get("sink", "good"), dom)
                if d.get("tlsa"):
                    if d.get("sink", "good") != "good":
                        die("line %d: tlsa= needs a good sink" % e["line"])
                    if d["tlsa"] == "bogus" and zone_of(h) not in SIGNED_ZONES:
                        die("line %d: tlsa=bogus needs a signed zone" % e["line"])
                    self.tlsa.append(("_25._tcp." + h, "mx/" + h, d["tlsa"], zone_of(h)))
            mx_out = mx

        # ---- HTTPS --------------------------------------------------------------------
        pname = "mta-sts." + dom
        ids = [tid]
        self.write("policies/%s/%s.txt" % (dom, tid), body)
        if d.get("id2"):
            if not ID_RE.match(d["id2"]):
                die("line %d: bad id2" % e["line"])
            body2 = self.policy_text(d.get("mode2", mode), pmx, maxage, eol)
            self.write("policies/%s/%s.txt" % (dom, d["id2"]), body2)
            ids.append(d["id2"])
        self.write("www/%s/.well-known/mta-sts.txt" % dom, body)
        certbase = "-"
        if host in ("nginx",) or host.startswith("cname:"):
            if cert == "good":
                certbase = "hosts/" + pname
                self.certs.append((certbase, "good", [pname]))
            elif cert == "expired":
                certbase = "bad/expired-" + pname
                self.certs.append((certbase, "expired", [pname]))
            elif cert == "wrongname":
                certbase = "bad/wrongname-" + dom
                self.certs.append((certbase, "good", ["wrong.other.test"]))
            elif cert == "selfsigned":
                certbase = "bad/selfsigned-" + pname
                self.certs.append((certbase, "selfsigned", [pname]))
            loc = ["default_type text/plain;"]
            if http == "404":
                loc = ["return 404;"]
            elif http == "301":
                loc = ["return 301 https://mta-sts.enforce.sts-lab.test/.well-known/mta-sts.txt;"]
            elif http == "html":
                loc = ["default_type text/html;"]
            elif http == "charset":
                loc = ["default_type text/plain;", "charset utf-8;"]
            self.nginx.append(
                "    server {\n"
                "        listen %s:443 ssl;\n"
                "        server_name %s;\n"
                "        ssl_certificate %s/pki/%s.crt;\n"
                "        ssl_certificate_key %s/pki/%s.key;\n"
                "        root %s/www/%s;\n"
                "        location = /.well-known/mta-sts.txt {\n            %s\n        }\n"
                "        location / { return 404; }\n"
                "    }\n" % (NGINX_IP, pname, self.lab, certbase, self.lab, certbase,
                             self.lab, dom, "\n            ".join(loc)))
        elif host in HOSTILE:
            certbase = "hosts/" + pname
            self.certs.append((certbase, "good", [pname]))
            self.hostile.append((HOSTILE[host], host, certbase, dom))
        self.facts.append([dom, e["expect"], e["cls"], "real" if real else "lab", mode,
                           ",".join(ids), txt, host, hostip, http, cert, dns,
                           ",".join(mx_out) or "-",
                           ",".join(self.mxhosts[h] if h in self.mxhosts else self.special[h][0]
                                    for h in mx_out) or "-",
                           ",".join(pmx) or "-", "yes" if mxmatch else "no", certbase])

    def bulk(self, n):
        """n benchmark domains served like the enforce domain, sharing one
        policy body, one MX host and certificates of BULK_SANS names each."""
        if n <= 0:
            return
        tid = "20240101T000000"
        self.addresses.add(BULK_MX_IP)
        self.add(BULK_MX, "A", BULK_MX_IP)
        self.write("www-bulk/.well-known/mta-sts.txt",
                   self.policy_text("enforce", [BULK_MX], 86400, "\n"))
        names = []
        for i in range(n):
            dom = "d%d.%s" % (i, BULK_ZONE)
            self.add("_mta-sts." + dom, "TXT", '"v=STSv1; id=%s;"' % tid)
            self.add("mta-sts." + dom, "A", NGINX_IP)
            self.add(dom, "MX", "10 %s." % BULK_MX)
            self.bulk_domains.append(dom)
            names.append("mta-sts." + dom)
        for k in range(0, n, BULK_SANS):
            base = "bulk/bulk-%04d" % (k // BULK_SANS)
            chunk = names[k:k + BULK_SANS]
            self.certs.append((base, "good", chunk))
            self.nginx.append(
                "    server {\n"
                "        listen %s:443 ssl;\n"
                "        server_name %s;\n"
                "        ssl_certificate %s/pki/%s.crt;\n"
                "        ssl_certificate_key %s/pki/%s.key;\n"
                "        root %s/www-bulk;\n"
                "        location = /.well-known/mta-sts.txt {\n"
                "            default_type text/plain;\n        }\n"
                "        location / { return 404; }\n"
                "    }\n" % (NGINX_IP, "\n            ".join(chunk), self.lab, base,
                             self.lab, base, self.lab))

    # ---- writers ----------------------------------------------------------------------
    def zones(self):
        zones = sorted(self.rr)
        for z in zones:
            out = ["; generated by lab-gen.py from tests/lab/catalogue - do not edit",
                   "$TTL %d" % TTL,
                   "%s. %d IN SOA %s. hostmaster.sts-lab.test. %d 3600 600 86400 5"
                   % (z, TTL, NS_NAME, self.serial),
                   "%s. %d IN NS %s." % (z, TTL, NS_NAME)]
            for owner, t, rdata in self.rr[z]:
                out.append("%s. %d IN %s %s" % (owner, TTL, t, rdata))
            self.write("dns/zones/%s.zone" % z, "\n".join(out) + "\n")
        root = ["; fake root zone: everything outside the lab zones is NXDOMAIN",
                "$TTL %d" % TTL,
                ". %d IN SOA %s. hostmaster.sts-lab.test. %d 3600 600 86400 5"
                % (TTL, NS_NAME, self.serial),
                ". %d IN NS %s." % (TTL, NS_NAME),
                "%s. %d IN A %s" % (NS_NAME, TTL, NSD_IP)]
        self.write("dns/zones/root.zone", "\n".join(root) + "\n")
        lab = self.lab
        common_server = ["    do-ip6: no",
                         "    do-not-query-localhost: no",
                         "    # the servfail domains' nameserver: never asked, so SERVFAIL at once",
                         "    do-not-query-address: %s/32" % DEAD_NS_IP,
                         "    # unbound blocks test./invalid. by default (RFC 6761); the lab lives there",
                         '    local-zone: "test." nodefault',
                         '    local-zone: "invalid." nodefault']
        nsd = ["# generated by lab-gen.py",
               "server:",
               "    ip-address: %s" % NSD_IP,
               "    port: 53",
               "    do-ip6: no",
               "    server-count: 1",
               "    username: nsd",
               '    chroot: ""',
               '    database: ""',
               "    zonesdir: %s/dns/zones" % lab,
               "    zonelistfile: %s/dns/nsd-state/zone.list" % lab,
               "    xfrdfile: %s/dns/nsd-state/xfrd.state" % lab,
               "    xfrdir: %s/dns/nsd-state" % lab,
               "    pidfile: %s/run/nsd.pid" % lab,
               "    logfile: %s/logs/nsd.log" % lab,
               "    hide-version: yes",
               "    verbosity: 1",
               "    zonefiles-check: yes",
               "    # Response rate limiting protects public servers from floods;",
               "    # here every query comes from the lab resolver, and its default",
               "    # of 200 answers/s per kind (e.g. AAAA nodata) would throttle",
               "    # the benchmarks' bulk discovery.",
               "    rrl-ratelimit: 0",
               "    rrl-whitelist-ratelimit: 0",
               "remote-control:",
               "    control-enable: yes",
               "    control-interface: %s/run/nsd.ctl" % lab,
               "zone:",
               '    name: "."',
               "    zonefile: root.zone"]
        for z in zones:
            nsd += ["zone:", '    name: "%s"' % z, "    zonefile: %s.zone%s"
                    % (z, ".signed" if z in SIGNED_ZONES else "")]
        self.write("dns/nsd.conf", "\n".join(nsd) + "\n")
        ub = ["# generated by lab-gen.py: the lab's recursive resolver",
              "server:",
              "    interface: %s" % RESOLVER_IP,
              "    port: 53",
              "    do-ip6: no",
              "    do-daemonize: no",
              "    num-threads: 1",
              "    so-reuseport: no",
              '    username: "unbound"',
              '    chroot: ""',
              '    directory: "%s/dns"' % lab,
              '    pidfile: "%s/run/unbound.pid"' % lab,
              '    logfile: ""',
              "    use-syslog: no",
              "    log-time-ascii: yes",
              "    verbosity: 1",
              "    access-control: 127.0.0.0/8 allow",
              "    do-not-query-address: %s/32" % DEAD_NS_IP,
              "    do-not-query-localhost: no",
              "    qname-minimisation: no",
              "    cache-max-ttl: %d" % TTL,
              "    cache-max-negative-ttl: 5",
              "    infra-host-ttl: 30",
              "    # unbound blocks test./invalid. by default (RFC 6761); the lab lives there",
              '    local-zone: "test." nodefault',
              '    local-zone: "invalid." nodefault']
        for z in zones:
            if z in SIGNED_ZONES:
                ub.append('    trust-anchor-file: "%s/dns/%s.ds"' % (lab, z))
            else:
                ub.append('    domain-insecure: "%s"' % z)
        ub += ["remote-control:",
               "    control-enable: yes",
               '    control-interface: "%s/run/unbound.ctl"' % lab,
               "    control-use-cert: no",
               "stub-zone:", '    name: "."', "    stub-addr: %s" % NSD_IP]
        for z in zones:
            ub += ["stub-zone:", '    name: "%s"' % z, "    stub-addr: %s" % NSD_IP]
        self.write("dns/unbound.conf", "\n".join(ub) + "\n")

        eng = ["# generated by lab-gen.py: libunbound config (ResolverConfig) that forwards",
               "# everything to the lab resolver; use inside the lab namespace.",
               "# The signed zones are validated with TrustAnchorFile dns/<zone>.ds.",
               "server:"] + common_server
        for z in zones:
            if z not in SIGNED_ZONES:
                eng.append('    domain-insecure: "%s"' % z)
        eng += ["forward-zone:", '    name: "."', "    forward-addr: %s" % RESOLVER_IP]
        self.write("engine-unbound.conf", "\n".join(eng) + "\n")

        loc = ["# generated by lab-gen.py: libunbound config with the lab's DNS data as",
               "# local-data, for hermetic tests without any DNS server.  Only the",
               "# dns=timeout domains send packets: to a loopback address where nothing",
               "# listens (port 1), so lookups time out.  CNAMEs are NOT followed by",
               "# local-data: use engine-authzone.conf for the cname-* domains.",
               "server:"] + common_server + ['    local-zone: "." static']
        for z in zones:
            loc.append('    local-zone: "%s." static' % z)
            loc.append("    local-data: '%s. %d IN SOA %s. hostmaster.sts-lab.test. %d 3600 600 86400 5'"
                       % (z, TTL, NS_NAME, self.serial))
        for z in zones:
            for owner, t, rdata in self.rr[z]:
                if any(owner == s or owner.endswith("." + s) for s, _ in self.servfail):
                    continue
                loc.append("    local-data: '%s. %d IN %s %s'" % (owner, TTL, t, rdata))
        for s, _ in self.servfail:
            loc.append('    local-zone: "%s." transparent' % s)
        for s, kind in self.servfail:
            loc += ["forward-zone:", '    name: "%s."' % s, "    forward-addr: %s@1"
                    % (DEAD_NS_IP if kind == "servfail" else SILENT_NS_IP)]
        self.write("engine-localdata.conf", "\n".join(loc) + "\n")

        az = ["# generated by lab-gen.py: libunbound config that loads the lab zone files",
              "# as auth-zones (hermetic like engine-localdata.conf, but CNAMEs are",
              "# followed and answers look like real upstream answers).",
              "server:"] + common_server
        for z in ["."] + zones:
            az += ["auth-zone:", '    name: "%s"' % z,
                   '    zonefile: "%s/dns/zones/%s.zone"' % (lab, "root" if z == "." else z),
                   "    for-upstream: yes", "    for-downstream: no", "    fallback-enabled: no"]
        self.write("engine-authzone.conf", "\n".join(az) + "\n")

    def nginx_conf(self):
        lab = self.lab
        # bulk discoveries open many connections at once (LAB_BULK)
        wc = 256 if not self.bulk_domains else 2048
        conf = ("# generated by lab-gen.py\n"
                "user nobody nogroup;\n"
                "worker_processes 1;\n"
                "pid %s/run/nginx.pid;\n"
                "error_log %s/logs/nginx-error.log notice;\n"
                "worker_rlimit_nofile %d;\n"
                "events { worker_connections %d; }\n"
                "http {\n"
                "    access_log %s/logs/nginx-access.log;\n"
                "    client_body_temp_path %s/nginx/tmp/body;\n"
                "    proxy_temp_path %s/nginx/tmp/proxy;\n"
                "    fastcgi_temp_path %s/nginx/tmp/fastcgi;\n"
                "    uwsgi_temp_path %s/nginx/tmp/uwsgi;\n"
                "    scgi_temp_path %s/nginx/tmp/scgi;\n"
                "    types { }\n"
                "    default_type application/octet-stream;\n"
                "    server_tokens off;\n"
                "    keepalive_timeout 5;\n"
                "    ssl_protocols TLSv1.2 TLSv1.3;\n"
                "    server_names_hash_bucket_size 128;\n"
                "    server_names_hash_max_size %d;\n"
                "    # unknown SNI: refuse the handshake\n"
                "    server {\n"
                "        listen %s:443 ssl default_server;\n"
                "        ssl_reject_handshake on;\n"
                "    }\n" % ((lab, lab, 2 * wc + 64, wc) + (lab,) * 6 +
                                       (max(512, 4 * len(self.bulk_domains)), NGINX_IP)))
        conf += "".join(self.nginx) + "}\n"
        self.write("nginx/nginx.conf", conf)

    def rest(self):
        self.write("hostile.conf", "".join("%s 443 %s %s/pki/%s %s\n" % (ip, mode, self.lab, cb, dom)
                                           for ip, mode, cb, dom in self.hostile))
        # extra certificates for the SMTP sinks of later tests
        self.certs.append(("mx/wildcard.mx.sts-lab.test", "good", ["*.mx.sts-lab.test"]))
        self.certs.append(("bad/wrongname-mx", "good", ["wrong.other.test"]))
        self.certs.append(("bad/selfsigned-mx1.enforce.sts-lab.test", "selfsigned",
                           ["mx1.enforce.sts-lab.test"]))
        self.certs.append(("bad/expired-mx1.enforce.sts-lab.test", "expired",
                           ["mx1.enforce.sts-lab.test"]))
        seen, want = set(), []
        for base, kind, names in self.certs:
            if base in seen:
                continue
            seen.add(base)
            want.append("%s %s %s\n" % (base, kind, ",".join(names)))
        self.write("pki/want", "".join(want))
        self.write("addresses", "".join(ip + "\n" for ip in sorted(
            self.addresses, key=lambda s: tuple(int(x) for x in s.split(".")))))
        self.write("hosts", "# generated by lab-gen.py: every A record of the lab\n" +
                   "".join("%s\t%s\n" % (ip, n) for n, ip in sorted(self.a.items())))
        self.write("mx-hosts", "# name ip cert-base (under $LAB/pki, .crt/.key)\n" +
                   "".join("%s %s mx/%s\n" % (n, ip, n) for n, ip in self.mxhosts.items()))
        self.write("sinks", "# ip name kind cert-base (under $LAB/pki; - = no STARTTLS); kind: "
                   "good wrongname selfsigned expired notls tls10 wildcard\n" +
                   "".join("%s %s good mx/%s\n" % (ip, n, n) for n, ip in self.mxhosts.items()) +
                   "".join("%s %s %s %s\n" % (ip, n, k, cb)
                           for n, (ip, k, cb) in self.special.items()))
        self.write("facts", "# domain expect class source mode ids txt host hostip http cert "
                   "dns mx mxips pmx mxmatch certbase\n" +
                   "".join(" ".join(f) + "\n" for f in self.facts))
        self.write("skipped", "".join("%s %s\n" % s for s in self.skipped))
        self.write("dns/tlsa", "# owner cert-base kind zone: lab-dnssec.sh writes the TLSA RRs\n" +
                   "".join("%s %s %s %s\n" % t for t in self.tlsa))
        self.write("dns/signed", "".join(z + "\n" for z in SIGNED_ZONES if z in self.rr))
        self.write("bulk-domains", "".join(d + "\n" for d in self.bulk_domains))


def main():
    if len(sys.argv) != 4:
        die("usage: lab-gen.py CATALOGUE LAB POLICYDIR")
    cat, lab, policydir = sys.argv[1:]
    entries = parse_catalogue(cat)
    L = Lab(os.path.abspath(lab), policydir)
    for e in entries:
        L.domain(e)
    try:
        nbulk = int(os.environ.get("LAB_BULK", "0") or "0")
    except ValueError:
        die("LAB_BULK must be a number")
    if not 0 <= nbulk <= BULK_MAX:
        die("LAB_BULK must be 0..%d" % BULK_MAX)
    L.bulk(nbulk)
    L.zones()
    L.nginx_conf()
    L.rest()
    for dom, why in L.skipped:
        sys.stderr.write("lab-gen: warning: %s not served: %s\n" % (dom, why))
    print("lab-gen: %d domains, %d bulk domains, %d zones, %d MX hosts, %d certificates, "
          "%d skipped" % (len(L.facts), len(L.bulk_domains), len(L.rr), len(L.mxhosts),
                          len(L.certs), len(L.skipped)))


if __name__ == "__main__":
    main()
