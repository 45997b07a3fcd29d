#!/bin/bash
# test-ctl-check.sh - end-to-end test of "mta-sts-ctl check" and "refresh" on the
# loopback lab: for every catalogue domain, "check --json" inside the namespace must
# reach the catalogue's verdict (expect column) and failure class (class column), with
# the documented exit status; then "refresh" writes two domains to a fresh store and
# "show", "list", "stats" and "forget" read it back.  TAP output ("ok N - ..."), exit 1
# on any failure.
#
# check sees the lab with an empty cache, which is what the catalogue describes.  A
# domain whose later states depend on what the engine cached (the id rotation of
# rotate.sts-lab.test) is checked in its first state only.
#
# Brings the lab up first and down at the end, unless LAB_KEEP_UP=1 (then the lab must
# already be up and is left running).  Env: LAB, LAB_NETNS, LAB_KEEP_UP, CTL (the
# mta-sts-ctl binary; default $top_builddir/milter/mta-sts-ctl, else the source tree's).
set -u
. "$(dirname "$0")/lab-lib.sh"
lab_check_env
top_srcdir=${top_srcdir:-$(cd "$LAB_SRC/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CTL=${CTL:-$top_builddir/milter/mta-sts-ctl}
n=0; fails=0
ok()    { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift
          local l; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done; }

T0=$(date +%s)
if [ ! -x "$CTL" ]; then
    echo "Bail out! $CTL is not built (set CTL or top_builddir)"; exit 1
fi
command -v python3 >/dev/null 2>&1 || { echo "Bail out! python3 not found"; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/test-ctl-check.XXXXXX") || exit 1
UP=0
finish() {
    if [ "$UP" = 1 ] && [ "${LAB_KEEP_UP:-0}" != 1 ]; then
        if "$LAB_SRC/lab-down.sh" >/dev/null 2>&1 && ! lab_netns_exists; then
            ok "lab-down.sh stopped the lab"
        else
            notok "lab-down.sh stopped the lab"
        fi
    fi
    rm -rf "$W"
    echo "1..$n"
    echo "# $fails of $n failed, $(( $(date +%s) - T0 )) s"
    [ $fails = 0 ]
}
trap 'finish; exit $?' EXIT
trap 'exit 1' INT TERM

if [ "${LAB_KEEP_UP:-0}" = 1 ]; then
    lab_is_up || { echo "Bail out! LAB_KEEP_UP=1 but the lab is not up"; exit 1; }
else
    if ! "$LAB_SRC/lab-up.sh" >"$W/up.log" 2>&1; then
        sed 's/^/# /' "$W/up.log"
        echo "Bail out! lab-up.sh failed"; exit 1
    fi
    UP=1
    sed 's/^/# /' "$W/up.log"
fi

# The catalogue the running lab was built from (a kept-up lab may predate edits).
CATALOGUE=$LAB/catalogue
[ -f "$CATALOGUE" ] || CATALOGUE=$LAB_SRC/catalogue

# The lab's resolver and CA; short timeouts so the stalling hosts cost little.
# The loader refuses a configuration file that others may write.
cat >"$W/ctl.conf" <<EOF
Database $W/policies.db
ResolverConfig $LAB/engine-unbound.conf
CAFile $LAB/pki/ca.crt
DnsTimeout 3s
HttpsConnectTimeout 3s
HttpsTimeout 5s
EOF
chmod 600 "$W/ctl.conf"

# ctl ARG...: mta-sts-ctl inside the namespace; rc, stdout in $W/out, stderr $W/err.
ctl() {
    "$LAB_SRC/lab-exec.sh" "$CTL" -c "$W/ctl.conf" "$@" >"$W/out" 2>"$W/err"
    rc=$?
}

# pycheck DESC PYTHON: $W/out is a JSON document d for which PYTHON raises nothing.
pycheck() {
    if python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
$2" "$W/out" 2>"$W/pyerr"; then
        ok "$1"
    else
        notok "$1" "$(tail -n 2 "$W/pyerr")" "stdout: $(head -c 300 "$W/out")" \
            "stderr: $(head -c 300 "$W/err")"
    fi
}

# ---- check: every catalogue domain -------------------------------------------------
ndom=0
while read -r domain expect class note; do
    case $domain in ''|'#'*) continue ;; esac
    ndom=$((ndom + 1))
    mxmatch=yes
    case " $note " in *" mxmatch=no "*) mxmatch=no ;; esac
    # What a later state may show if someone rotated the id of a kept-up lab.
    alt=
    if [ "${LAB_KEEP_UP:-0}" = 1 ]; then
        alt=$(printf '%s\n' "$note" | sed -n 's/.*mode2=\([a-z]*\).*/\1/p')
    fi
    case $expect in
    temporary) want_rc=3 ;;
    no-policy) want_rc=1 ;;
    enforce) [ "$mxmatch" = no ] && want_rc=1 || want_rc=0 ;;
    *) want_rc=0 ;;
    esac

    ctl check --json "$domain"
    if [ "$rc" = "$want_rc" ]; then
        ok "check $domain: exit $want_rc"
    else
        notok "check $domain: exit $want_rc" "got $rc" "$(head -c 300 "$W/err")"
    fi
    pycheck "check $domain: verdict $expect, class $class" "
want, cls, alt = '$expect', '$class', '$alt'
assert d['domain'] == '$domain', d['domain']
got = d['verdict']
assert got == want or (alt and got == alt), 'verdict %s (%s)' % (got, d['reason'])
assert d['class'] == cls, 'class %s (%s)' % (d['class'], d['reason'])
h = d['https']
if cls == 'ok':
    assert d['policy'] is not None and d['policy']['mode'] == got
    assert h['fetched'] and h['class'] == 'ok' and h['http_status'] == 200
    assert h['tls_version'] and h['cert_issuer'], h
elif cls in ('no-txt', 'bad-txt', 'multi-txt'):
    assert d['txt']['id'] is None and d['txt']['reason'] or cls == 'no-txt'
elif want == 'temporary':
    assert d['txt']['dns']['rcode'] in ('servfail', 'timeout'), d['txt']['dns']
else:
    assert d['txt']['id'], d['txt']
    assert h['fetched'] and h['class'] == cls, h
    assert d['policy'] is None
hosts = d['mx']['hosts']
assert hosts or d['mx']['dns']['rcode'] in ('servfail', 'timeout'), d['mx']
if cls == 'ok' and got != 'none':
    covered = all(x['covered'] for x in hosts)
    assert covered == ('$mxmatch' == 'yes'), hosts
    errs = [p for p in d['problems'] if p['severity'] == 'error']
    assert bool(errs) == (got == 'enforce' and not covered), errs
"
done <"$CATALOGUE"
if [ "$ndom" -gt 0 ]; then ok "catalogue: $ndom domains"; else notok "catalogue: no domains"; fi

# The human report has every section, and a CNAME'd TXT record names its target.
ctl check cname-txt.sts-lab.test
if [ "$rc" = 0 ] && grep -q '^TXT$' "$W/out" && grep -q '^policy host$' "$W/out" &&
   grep -q '^HTTPS$' "$W/out" && grep -q '^MX$' "$W/out" &&
   grep -q 'via CNAME: _mta-sts.provider.sts-provider.test' "$W/out" &&
   grep -q '^verdict: enforce (ok)' "$W/out"; then
    ok "check (text): every section, CNAME target shown"
else
    notok "check (text): every section, CNAME target shown" "$(head -c 600 "$W/out")"
fi
ctl -v check enforce.sts-lab.test
if [ "$rc" = 0 ] && grep -q 'debug: ' "$W/err"; then
    ok "check -v: the engine's debug lines on stderr"
else
    notok "check -v: the engine's debug lines on stderr" "$(head -c 300 "$W/err")"
fi
if [ -e "$W/policies.db" ]; then
    notok "check wrote no store" "$W/policies.db exists"
else
    ok "check wrote no store"
fi

# ---- refresh, then the store commands ------------------------------------------------
ctl refresh enforce.sts-lab.test http-404.sts-lab.test
if [ "$rc" = 0 ] &&
   grep -q '^enforce.sts-lab.test: policy id 20240101T000000, mode enforce' "$W/out" &&
   grep -q '^http-404.sts-lab.test: no policy: http-status' "$W/out"; then
    ok "refresh two domains: a policy and no policy"
else
    notok "refresh two domains: a policy and no policy" "exit $rc" "$(cat "$W/out")" \
        "$(head -c 300 "$W/err")"
fi
ctl show --json enforce.sts-lab.test
[ "$rc" = 0 ] && ok "show enforce.sts-lab.test: exit 0" || notok "show enforce: exit 0" "got $rc"
pycheck "show: the refreshed policy and its fetch" "
p = d['policy']
assert p['id'] == '20240101T000000' and p['mode'] == 'enforce', p
assert p['mx'] == ['mx1.enforce.sts-lab.test', 'mx2.enforce.sts-lab.test'], p['mx']
assert p['expired'] is False and d['negative'] is None
assert d['fetches'][0]['result_class'] == 'ok'
assert d['fetches'][0]['http_status'] == 200"
ctl show --json http-404.sts-lab.test
[ "$rc" = 0 ] && ok "show http-404.sts-lab.test: exit 0" || notok "show http-404: exit 0" "got $rc"
pycheck "show: the negative entry of a failed fetch" "
assert d['policy'] is None
n = d['negative']
assert n['reason_class'] == 'http-status' and n['policy_id'] == '20240101T000000', n
assert d['fetches'][0]['http_status'] == 404"
ctl refresh servfail.sts-lab.test
if [ "$rc" = 3 ] && grep -q '^servfail.sts-lab.test: temporary failure' "$W/out"; then
    ok "refresh: a SERVFAIL domain is temporary (exit 3)"
else
    notok "refresh: a SERVFAIL domain is temporary (exit 3)" "exit $rc: $(cat "$W/out")"
fi
ctl list --json
pycheck "list: the refreshed policy" "
assert [p['domain'] for p in d['policies']] == ['enforce.sts-lab.test'], d"
ctl stats --json
pycheck "stats: one enforced policy, one negative entry, two fetches" "
assert d['policies']['enforce'] == 1 and d['negatives'] == 1, d
assert d['fetches_24h'] >= 2 and d['failures_24h'] >= 1, d"
ctl refresh --all
if [ "$rc" = 0 ] && [ "$(wc -l <"$W/out")" -eq 1 ] &&
   grep -q '^enforce.sts-lab.test: policy id' "$W/out"; then
    ok "refresh --all: every stored policy"
else
    notok "refresh --all: every stored policy" "exit $rc: $(cat "$W/out")"
fi
ctl forget enforce.sts-lab.test
[ "$rc" = 0 ] && ok "forget: exit 0" || notok "forget: exit 0" "got $rc"
ctl show enforce.sts-lab.test
[ "$rc" = 1 ] && ok "show after forget: exit 1" || notok "show after forget: exit 1" "got $rc"

# ---- the engine against every catalogue domain -------------------------------------
# "refresh" runs the real engine (discovery, fetch, cache rules, SQLite) for each
# domain in turn; its one-line outcome must be what the catalogue expects.
sed "s|^Database .*|Database $W/engine.db|" "$W/ctl.conf" >"$W/engine.conf"
chmod 600 "$W/engine.conf"
while read -r domain expect class note; do
    case $domain in ''|'#'*) continue ;; esac
    "$LAB_SRC/lab-exec.sh" "$CTL" -c "$W/engine.conf" refresh "$domain" \
        >"$W/out" 2>"$W/err"
    rc=$?
    line=$(head -n 1 "$W/out")
    case $expect in
    enforce|testing|none)
        want="$domain: policy id * mode $expect*"; want_rc=0 ;;
    no-policy)
        want="$domain: no policy: $class*"; want_rc=0 ;;
    temporary)
        want="$domain: temporary failure*"; want_rc=3 ;;
    esac
    # shellcheck disable=SC2254
    case $line in
    $want)
        if [ "$rc" = "$want_rc" ]; then
            ok "engine: $domain -> $expect ($class)"
        else
            notok "engine: $domain -> $expect ($class)" "exit $rc, want $want_rc"
        fi ;;
    *)
        notok "engine: $domain -> $expect ($class)" "got: $line" \
            "stderr: $(head -c 300 "$W/err")" ;;
    esac
done <"$CATALOGUE"
