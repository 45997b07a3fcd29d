#!/bin/bash
# sink-log.sh [FILTER...] [--json|--count|--events] - query the SMTP sinks' log
# ($LAB/logs/sink.jsonl).  Filters (all must match):
#   --subject S    Subject equals S          --token T   T occurs in the message
#   --to ADDR      ADDR is a recipient       --from A    envelope sender (<> = "")
#   --mx IP|NAME   delivered to that MX      --peer IP   delivered by that client
#   --tls          over STARTTLS only        --plain     without TLS only
#   --sni NAME     SNI received was NAME     --dsn       delivery status notices only
# Output: one line per delivered message:
#   time mx_ip mx_name tls=<version|no> sni=<name|-> peer from -> to subject
# --json prints the raw records, --count only the number, --events also lists
# tls-error events (STARTTLS handshakes that failed).  Exit 0 if something matched.
set -eu
. "$(dirname "$0")/lab-lib.sh"
exec "$LAB_PYTHON" - "$LAB/logs/sink.jsonl" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
flt, mode, events = {}, "text", False
i = 0
while i < len(args):
    a = args[i]
    if a in ("--json", "--count"):
        mode = a[2:]
    elif a == "--events":
        events = True
    elif a in ("--tls", "--plain", "--dsn"):
        flt[a[2:]] = True
    elif a in ("--subject", "--token", "--to", "--from", "--mx", "--peer", "--sni") and i + 1 < len(args):
        flt[a[2:]] = args[i + 1]
        i += 1
    else:
        sys.exit("sink-log.sh: bad argument %r (see the header of the script)" % a)
    i += 1
hits = []
try:
    f = open(path, encoding="utf-8")
except FileNotFoundError:
    sys.exit("sink-log.sh: %s does not exist (sinks not started?)" % path)
for line in f:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    ev = r.get("event")
    if ev != "message" and not (events and ev == "tls-error"):
        continue
    if ev == "message":
        if "subject" in flt and r.get("subject") != flt["subject"]: continue
        if "token" in flt and flt["token"] not in r.get("tokens", []): continue
        if "to" in flt and flt["to"].lower() not in [x.lower() for x in r.get("to", [])]: continue
        if "from" in flt and (r.get("from") or "").lower() != flt["from"].strip("<>").lower(): continue
        if flt.get("tls") and not r.get("starttls"): continue
        if flt.get("plain") and r.get("starttls"): continue
        if "sni" in flt and r.get("sni") != flt["sni"]: continue
        if flt.get("dsn") and not r.get("dsn"): continue
    if "mx" in flt and flt["mx"] not in (r.get("mx_ip"), r.get("mx_name")): continue
    if "peer" in flt and (r.get("peer") or "").rsplit(":", 1)[0] != flt["peer"]: continue
    hits.append(r)
if mode == "count":
    print(len(hits))
for r in hits:
    if mode == "json":
        print(json.dumps(r))
    elif mode == "text":
        if r["event"] == "tls-error":
            print("%s %s %s TLS-ERROR peer=%s %s" % (r["time"], r["mx_ip"], r["mx_name"], r["peer"], r.get("error")))
        else:
            print("%s %s %s tls=%s sni=%s peer=%s <%s> -> %s %s" % (
                r["time"], r["mx_ip"], r["mx_name"], r.get("tls_version") or "no", r.get("sni") or "-",
                (r.get("peer") or "").rsplit(":", 1)[0], r.get("from") or "", ",".join(r.get("to", [])),
                json.dumps(r.get("subject"))))
sys.exit(0 if hits else 1)
PY
