#!/bin/sh
# test_ctl.sh: part of "make check".  Runs the built mta-sts-ctl and checks
# exit statuses and output of every command: TXT records, each policy file
# in tests/data/policies, media type and size limits, MX matching, usage
# and I/O errors, and the documented --json layout; -c; check against
# unbound local zones and a dead forwarder (no packet leaves the host); and
# show, list, stats and forget on a store built with sqlite3(1).  Prints TAP
# lines and exits non-zero when any check fails.
#
# make exports top_srcdir and top_builddir; run by hand, both default to
# the tree this script sits in.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CTL=$top_builddir/milter/mta-sts-ctl
POLICIES=$top_srcdir/tests/data/policies

n=0
failed=0

pass() {
	n=$((n + 1))
	echo "ok $n - $1"
}

fail() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
}

# show FILE: the start of FILE, short enough for a failure report.
show() {
	sed -n '1,8p' "$1" | cut -c1-200
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

if [ ! -x "$CTL" ]; then
	echo "not ok 1 - $CTL is not built"
	echo "1..1"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_ctl.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' 0
trap 'exit 1' HUP INT TERM
OUT=$tmp/out
ERR=$tmp/err

# run ARG...: run mta-sts-ctl with stdin from $IN (default /dev/null);
# sets rc, stdout in $OUT, stderr in $ERR.
IN=/dev/null
run() {
	"$CTL" "$@" <"$IN" >"$OUT" 2>"$ERR"
	rc=$?
}

# expect WANT DESC ARG...: run and compare the exit status.
expect() {
	want=$1
	desc=$2
	shift 2
	run "$@"
	if [ "$rc" -eq "$want" ]; then
		pass "$desc (exit $want)"
	else
		fail "$desc (exit $want)" "got exit $rc for: $*" \
		    "stdout: $(show "$OUT")" "stderr: $(show "$ERR")"
	fi
}

# has FILE TEXT DESC: FILE contains the fixed string TEXT.
has() {
	if grep -F -e "$2" "$1" >/dev/null; then
		pass "$3"
	else
		fail "$3" "no \"$2\" in: $(show "$1")"
	fi
}

# hasnt FILE TEXT DESC: FILE does not contain the fixed string TEXT.
hasnt() {
	if grep -F -e "$2" "$1" >/dev/null; then
		fail "$3" "unexpected \"$2\" in: $(show "$1")"
	else
		pass "$3"
	fi
}

# equals FILE TEXT DESC: FILE holds exactly the line TEXT.
equals() {
	if [ "$(cat "$1")" = "$2" ]; then
		pass "$3"
	else
		fail "$3" "want \"$2\", got: $(show "$1")"
	fi
}

empty() {
	if [ -s "$1" ]; then
		fail "$2" "not empty: $(show "$1")"
	else
		pass "$2"
	fi
}

# json DESC PYTHON: $OUT must parse as JSON; PYTHON then runs with the
# document in d and raises on a mismatch.
have_python=no
command -v python3 >/dev/null 2>&1 && have_python=yes
json() {
	if [ "$have_python" = no ]; then
		skip "$1" "python3 not found"
		return
	fi
	if python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT" \
	    2>"$tmp/pyerr"; then
		:
	else
		fail "$1: output is not JSON" "$(cat "$tmp/pyerr")" \
		    "output: $(show "$OUT")"
		return
	fi
	if python3 -c "import json,sys
d = json.load(sys.stdin)
def keys(o, want):
    assert list(o.keys()) == want, 'keys %r, want %r' % (list(o.keys()), want)
$2" <"$OUT" 2>"$tmp/pyerr"; then
		pass "$1"
	else
		fail "$1" "$(tail -n 3 "$tmp/pyerr")" "output: $(show "$OUT")"
	fi
}

TXT_TOP="['records', 'verdict', 'id', 'reason']"
TXT_REC="['record', 'verdict', 'id', 'reason', 'warnings']"
POL_TOP="['file', 'verdict', 'content_type', 'mode', 'max_age', 'mx', \
'errors', 'warnings', 'omitted']"

# ---------------------------------------------------------------- general

expect 0 "-h" -h
has "$OUT" "usage: mta-sts-ctl" "-h prints usage on stdout"
expect 0 "--help" --help
expect 0 "-V" -V
has "$OUT" "mta-sts-ctl " "-V prints the version"
expect 2 "no command"
has "$ERR" "usage:" "no command: usage on stderr"
empty "$OUT" "no command: nothing on stdout"
expect 2 "unknown command" frobnicate
has "$ERR" "unknown command frobnicate" "unknown command is named"
expect 2 "unknown global option" -x lint-txt 'v=STSv1; id=1;'
expect 2 "unknown long option" --bogus
expect 0 "command -h" lint-policy -h
has "$OUT" "usage: mta-sts-ctl lint-policy" "command -h prints its usage"

# ---------------------------------------------------------------- lint-txt

expect 0 "lint-txt: valid record" lint-txt 'v=STSv1; id=20160831085700Z;'
has "$OUT" "valid, id 20160831085700Z" "lint-txt: record verdict shows the id"
has "$OUT" "policy id 20160831085700Z" "lint-txt: set verdict is the policy"

expect 1 "lint-txt: not an STSv1 record" lint-txt 'v=spf1 -all'
has "$OUT" "not an STSv1 record" "lint-txt: not-sts verdict"
has "$OUT" "no policy available:" "lint-txt: no policy for a non-STS set"

expect 1 "lint-txt: invalid record" lint-txt 'v=STSv1; id=bad_id;'
has "$OUT" "invalid: " "lint-txt: invalid verdict with a reason"
has "$OUT" "no policy available:" "lint-txt: no policy for an invalid record"

expect 1 "lint-txt: two valid records give no policy" \
    lint-txt 'v=STSv1; id=1;' 'v=STSv1; id=2;'
has "$OUT" "no policy available:" "lint-txt: two records: no policy"

expect 0 "lint-txt: other records are discarded" \
    lint-txt 'v=spf1 -all' 'v=STSv1; id=abc123;' 'google-site-verification=x'
has "$OUT" "policy id abc123" "lint-txt: the one STSv1 record wins"

expect 1 "lint-txt: -- ends options" lint-txt -- '--json'
expect 2 "lint-txt: no record" lint-txt
expect 2 "lint-txt: unknown option" lint-txt --frob 'v=STSv1; id=1;'

esc=$(printf '\033')
expect 1 "lint-txt: control bytes in a record" \
    lint-txt "v=STSv1; id=x${esc}[31m;"
hasnt "$OUT" "$esc" "lint-txt: no raw ESC reaches the terminal"
has "$OUT" '\x1b' "lint-txt: ESC is shown escaped"

# ---------------------------------------------------------------- lint-policy files

nfiles=0
for f in "$POLICIES"/*; do
	[ -f "$f" ] || continue
	nfiles=$((nfiles + 1))
	base=$(basename "$f")
	case $base in
	good-*|crlf*|real-*)
		expect 0 "lint-policy $base" lint-policy "$f"
		has "$OUT" "verdict: valid" "lint-policy $base: verdict valid"
		;;
	bad-*)
		expect 1 "lint-policy $base" lint-policy "$f"
		has "$OUT" "error: " "lint-policy $base: an error is shown"
		has "$OUT" "verdict: invalid" "lint-policy $base: verdict invalid"
		;;
	*)
		echo "# $base: no expectation for this name, not checked"
		;;
	esac
done
if [ "$nfiles" -gt 0 ]; then
	pass "found $nfiles policy files in tests/data/policies"
else
	fail "found policy files in tests/data/policies" "none in $POLICIES"
fi

# ---------------------------------------------------------------- lint-policy input

printf 'version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n' \
    >"$tmp/good.txt"
printf 'version: STSv1\nmode: enforce\nmax_age: 604800\n' >"$tmp/bad.txt"

expect 0 "lint-policy: valid policy" lint-policy "$tmp/good.txt"
has "$OUT" "mode: enforce" "lint-policy: mode shown"
has "$OUT" "max_age: 604800 (7d)" "lint-policy: max_age in human form"
has "$OUT" "mx: *.example.net" "lint-policy: mx patterns shown"
expect 0 "lint-policy: options after the file" lint-policy "$tmp/good.txt" --max-size 1000

IN=$tmp/good.txt
expect 0 "lint-policy: valid policy on stdin" lint-policy -
IN=$tmp/bad.txt
expect 1 "lint-policy: invalid policy on stdin" lint-policy -
has "$OUT" "<stdin>: error: " "lint-policy: stdin is named <stdin>"
IN=/dev/null
expect 1 "lint-policy: empty input" lint-policy -

expect 1 "lint-policy: text/html" \
    lint-policy --content-type text/html "$tmp/good.txt"
has "$OUT" "media type text/html is not text/plain" \
    "lint-policy: wrong media type is reported"
expect 0 "lint-policy: text/plain;charset=utf-8" \
    lint-policy --content-type 'text/plain;charset=utf-8' "$tmp/good.txt"
expect 0 "lint-policy: TEXT/PLAIN" \
    lint-policy --content-type 'TEXT/PLAIN' "$tmp/good.txt"
expect 1 "lint-policy: bad body and bad media type" \
    lint-policy --content-type text/html "$tmp/bad.txt"

# Size limits: a policy that is valid but for its size.
{
	cat "$tmp/good.txt"
	awk 'BEGIN { for (i = 0; i < 2500; i++)
	    printf "ext%d: padding-to-pass-the-size-limit\n", i }'
} >"$tmp/big.txt"
size=$(wc -c <"$tmp/big.txt")
size=$((size + 0))
expect 1 "lint-policy: $size bytes is over the default 65536" \
    lint-policy "$tmp/big.txt"
expect 0 "lint-policy: the same file with --max-size $size" \
    lint-policy --max-size "$size" "$tmp/big.txt"
expect 1 "lint-policy: --max-size one byte short" \
    lint-policy --max-size $((size - 1)) "$tmp/big.txt"
IN=$tmp/big.txt
expect 1 "lint-policy: oversize on stdin" lint-policy -
IN=/dev/null
expect 1 "lint-policy: --max-size 10" lint-policy --max-size 10 "$tmp/good.txt"

expect 2 "lint-policy: no file" lint-policy
expect 2 "lint-policy: two files" lint-policy "$tmp/good.txt" "$tmp/bad.txt"
expect 2 "lint-policy: --max-size 0" lint-policy --max-size 0 "$tmp/good.txt"
expect 2 "lint-policy: --max-size abc" lint-policy --max-size abc "$tmp/good.txt"
expect 2 "lint-policy: --max-size -1" lint-policy --max-size -1 "$tmp/good.txt"
expect 2 "lint-policy: --max-size without value" lint-policy "$tmp/good.txt" --max-size
expect 2 "lint-policy: --max-size past 1 GiB" \
    lint-policy --max-size 1073741825 "$tmp/good.txt"

expect 2 "lint-policy: missing file" lint-policy "$tmp/nonexistent"
has "$ERR" "mta-sts-ctl: $tmp/nonexistent: " "missing file: name on stderr"
empty "$OUT" "missing file: nothing on stdout"
expect 2 "lint-policy: a directory" lint-policy "$tmp"
if [ "$(id -u)" -ne 0 ]; then
	cp "$tmp/good.txt" "$tmp/unreadable.txt"
	chmod 000 "$tmp/unreadable.txt"
	expect 2 "lint-policy: unreadable file" lint-policy "$tmp/unreadable.txt"
else
	echo "# unreadable file: not checked, root may read any file"
fi

# ---------------------------------------------------------------- match-mx

expect 0 "match-mx: exact name" match-mx mail.example.com mail.example.com
equals "$OUT" "match" "match-mx: prints match"
empty "$ERR" "match-mx: valid pattern gives no warning"
expect 0 "match-mx: case and trailing dot" match-mx mail.example.com MAIL.Example.COM.
expect 0 "match-mx: wildcard, one label" match-mx '*.example.com' mx1.example.com
expect 1 "match-mx: wildcard, two labels" match-mx '*.example.com' a.b.example.com
equals "$OUT" "no match" "match-mx: prints no match"
expect 1 "match-mx: wildcard, no label" match-mx '*.example.com' example.com
expect 1 "match-mx: other name" match-mx mail.example.com mail2.example.com
expect 1 "match-mx: invalid pattern" match-mx '*.*.example.com' a.b.example.com
has "$ERR" "not a valid policy mx pattern" "match-mx: invalid pattern warns"
expect 2 "match-mx: one argument" match-mx mail.example.com
expect 2 "match-mx: three arguments" match-mx a b c

# ---------------------------------------------------------------- --json

expect 0 "lint-txt --json: valid" lint-txt --json 'v=STSv1; id=20160831085700Z;'
json "lint-txt --json: valid: documented keys" "
keys(d, $TXT_TOP)
keys(d['records'][0], $TXT_REC)
assert d['verdict'] == 'policy' and d['id'] == '20160831085700Z'
assert d['reason'] is None
r = d['records'][0]
assert r['verdict'] == 'valid' and r['id'] == '20160831085700Z'
assert r['reason'] is None and r['warnings'] == []
assert r['record'] == 'v=STSv1; id=20160831085700Z;'"

expect 1 "lint-txt --json: mixed set" \
    lint-txt --json 'v=STSv1; id=1;' 'v=spf1 -all' 'v=STSv1; id=bad_id;'
json "lint-txt --json: mixed set: verdicts" "
keys(d, $TXT_TOP)
assert [r['verdict'] for r in d['records']] == ['valid', 'not-sts', 'invalid']
for r in d['records']:
    keys(r, $TXT_REC)
assert d['records'][2]['id'] is None and d['records'][2]['reason']
assert d['verdict'] == 'no-policy' and d['id'] is None and d['reason']"

expect 1 "lint-txt --json: hostile bytes" \
    lint-txt --json "v=STSv1; id=\"x${esc}$(printf '\377')\\;"
json "lint-txt --json: hostile bytes stay valid JSON" "
assert d['records'][0]['record'] == 'v=STSv1; id=\"x\x1b\xff\\\\;'"

expect 0 "lint-policy --json: valid" \
    lint-policy --json --content-type 'text/plain; charset=utf-8' "$tmp/good.txt"
json "lint-policy --json: valid: documented keys" "
keys(d, $POL_TOP)
assert d['verdict'] == 'valid' and d['mode'] == 'enforce'
assert d['max_age'] == 604800
assert d['mx'] == ['mail.example.com', '*.example.net']
assert d['errors'] == [] and d['warnings'] == [] and d['omitted'] == 0
assert d['content_type'] == 'text/plain; charset=utf-8'
assert d['file'].endswith('good.txt')"

IN=$tmp/bad.txt
expect 1 "lint-policy --json: invalid on stdin" \
    lint-policy --json --content-type text/html -
IN=/dev/null
json "lint-policy --json: invalid: errors listed" "
keys(d, $POL_TOP)
assert d['verdict'] == 'invalid' and d['file'] == '-'
assert d['mode'] is None and d['max_age'] is None and d['mx'] is None
assert len(d['errors']) >= 2
for e in d['errors'] + d['warnings']:
    keys(e, ['line', 'text'])
assert d['errors'][0] == {'line': None,
    'text': 'media type text/html is not text/plain'}
assert d['content_type'] == 'text/html'"

expect 1 "lint-policy --json: good body, bad media type" \
    lint-policy --json --content-type text/html "$tmp/good.txt"
json "lint-policy --json: parsed fields kept when the media type fails" "
assert d['verdict'] == 'invalid' and d['mode'] == 'enforce'
assert len(d['errors']) == 1"

if [ -f "$POLICIES/bad-missing-mx.txt" ]; then
	expect 1 "lint-policy --json: bad-missing-mx.txt" \
	    lint-policy --json "$POLICIES/bad-missing-mx.txt"
	json "lint-policy --json: bad-missing-mx.txt" "
keys(d, $POL_TOP)
assert d['verdict'] == 'invalid' and d['errors']"
fi

expect 2 "lint-policy --json: missing file" lint-policy --json "$tmp/nonexistent"
empty "$OUT" "lint-policy --json: nothing on stdout on exit 2"

# ---------------------------------------------------------------- configuration

# conf FILE LINE...: a configuration file only we may write (the loader
# refuses others).
conf() {
	f=$1
	shift
	printf '%s\n' "$@" >"$f"
	chmod 600 "$f"
}

conf "$tmp/bad.conf" "NoSuchParameter yes" "DnsTimeout soon"
expect 2 "-c: a broken configuration" -c "$tmp/bad.conf" check example.com
has "$ERR" "NoSuchParameter" "-c: the unknown parameter is named"
has "$ERR" "DnsTimeout" "-c: every problem is printed"
empty "$OUT" "-c: nothing on stdout"
expect 2 "-c: a missing file" -c "$tmp/nonexistent.conf" stats
has "$ERR" "$tmp/nonexistent.conf" "-c: the missing file is named"
expect 2 "-c is checked for lint commands too" \
    -c "$tmp/bad.conf" lint-txt 'v=STSv1; id=1;'
conf "$tmp/open.conf" "DnsTimeout 5s"
chmod 666 "$tmp/open.conf"
expect 2 "-c: a file others may write" -c "$tmp/open.conf" stats
has "$ERR" "writable by group or others" "-c: the writable file is refused"
expect 2 "-c without a file" -c

# ---------------------------------------------------------------- check, offline

expect 1 "check: an address literal has no policy" check '[192.0.2.1]'
has "$OUT" "verdict: no-policy (literal)" "check: literal verdict"
expect 1 "check --json: an address literal" check --json '[192.0.2.1]'
CHECK_TOP="['domain', 'verdict', 'class', 'reason', 'txt', 'policy_host', \
'https', 'policy', 'policy_problems', 'mx', 'problems', 'omitted']"
json "check --json: literal: documented keys" "
keys(d, $CHECK_TOP)
assert d['verdict'] == 'no-policy' and d['class'] == 'literal'
assert d['txt'] is None and d['https'] is None and d['mx'] is None
assert d['policy'] is None and d['problems'] == []"
expect 2 "check: not a domain" check 'bad_name..example'
expect 2 "check: no domain" check
expect 2 "check: two domains" check a.example b.example

# A resolver that never leaves this process: unbound's local zones.  test.
# is a static zone by default (RFC 6761), so it has to be opened first.
cat >"$tmp/unbound.conf" <<'EOF'
server:
    local-zone: "test." nodefault
    local-zone: "nopolicy.test." static
    local-zone: "nohost.test." static
    local-data: '_mta-sts.nohost.test. TXT "v=STSv1; id=20240101T000000;"'
    local-data: 'nohost.test. MX 10 mx1.nohost.test.'
    local-data: 'nohost.test. MX 20 mx2.nohost.test.'
    local-zone: "multi.test." static
    local-data: '_mta-sts.multi.test. TXT "v=STSv1; id=1;"'
    local-data: '_mta-sts.multi.test. TXT "v=STSv1; id=2;"'
    local-zone: "badid.test." static
    local-data: '_mta-sts.badid.test. TXT "v=STSv1; id=123456789012345678901234567890123;"'
    local-data: '_mta-sts.badid.test. TXT "v=spf1 -all"'
EOF
conf "$tmp/local.conf" "ResolverConfig $tmp/unbound.conf" "DnsTimeout 2s" \
    "Database $tmp/none.db"

expect 1 "check: no TXT record" -c "$tmp/local.conf" check nopolicy.test
has "$OUT" "verdict: no-policy (no-txt)" "check: no TXT: verdict"
has "$OUT" "implicit MX" "check: no MX records: the implicit MX"
expect 1 "check --json: no TXT record" \
    -c "$tmp/local.conf" check --json nopolicy.test
json "check --json: no TXT record: report" "
keys(d, $CHECK_TOP)
assert d['verdict'] == 'no-policy' and d['class'] == 'no-txt'
assert d['txt']['dns']['rcode'] == 'nxdomain'
assert d['txt']['dns']['name'] == '_mta-sts.nopolicy.test'
assert d['txt']['records'] == [] and d['txt']['id'] is None
assert d['policy_host']['a']['rcode'] == 'nxdomain'
assert d['https']['fetched'] is False and d['https']['url'] is None
assert d['mx']['implicit'] is True
h = d['mx']['hosts']
assert [dict((k, x[k]) for k in ('preference', 'host', 'covered',
    'pattern')) for x in h] == [{'preference': 0, 'host': 'nopolicy.test',
    'covered': None, 'pattern': None}]
assert h[0]['probe']['result'] == 'no-address'
assert h[0]['probe']['verdict'] == 'inconclusive'
assert h[0]['probe']['starttls'] is None and h[0]['probe']['address'] is None"

expect 1 "check: valid TXT, no policy host" -c "$tmp/local.conf" \
    check --json NoHost.Test.
json "check --json: valid TXT, no address: no-policy, class dns" "
assert d['domain'] == 'nohost.test'
assert d['verdict'] == 'no-policy' and d['class'] == 'dns', d['class']
assert d['txt']['id'] == '20240101T000000'
assert d['txt']['records'][0]['verdict'] == 'valid'
assert d['https']['fetched'] is True and d['https']['class'] == 'dns'
assert [h['host'] for h in d['mx']['hosts']] == ['mx1.nohost.test',
    'mx2.nohost.test']
assert [h['preference'] for h in d['mx']['hosts']] == [10, 20]
assert any(p['severity'] == 'error' for p in d['problems'])"
expect 1 "check: two STSv1 records" -c "$tmp/local.conf" \
    check --json multi.test
json "check --json: two STSv1 records: multi-txt" "
assert d['verdict'] == 'no-policy' and d['class'] == 'multi-txt'
assert [r['verdict'] for r in d['txt']['records']] == ['valid', 'valid']"
expect 1 "check: an invalid id" -c "$tmp/local.conf" check badid.test
has "$OUT" "verdict: no-policy (bad-txt)" "check: invalid id: bad-txt"
has "$OUT" "not-sts" "check: the other TXT record is shown as not-sts"

# Nothing listens on the discard port: every query times out.
conf "$tmp/dead.conf" "ResolverForwarders 127.0.0.1@9" "DnsTimeout 1s"
expect 3 "check: DNS timeout is temporary" -c "$tmp/dead.conf" \
    check --json example.com
json "check --json: DNS timeout: temporary, class dns" "
assert d['verdict'] == 'temporary' and d['class'] == 'dns'
assert d['txt']['dns']['rcode'] == 'timeout'"

# ---------------------------------------------------------------- the store

if command -v sqlite3 >/dev/null 2>&1; then
	have_sqlite=yes
else
	have_sqlite=no
fi

# A store as the daemon would leave it, built by hand from the schema.
now=$(date +%s)
db=$tmp/policies.db
if [ "$have_sqlite" = yes ] && {
	cat "$top_srcdir/sql/schema.sql"
	cat <<EOF
INSERT INTO policies (domain, policy_id, mode, max_age, mx, policy_text,
    fetched_at, expires_at, txt_checked_at)
VALUES ('enforce.example', 'id1', 'enforce', 86400,
    'mx1.enforce.example' || char(10) || '*.mx.enforce.example', '',
    $now - 600, $now - 600 + 86400, $now - 60);
INSERT INTO policies (domain, policy_id, mode, max_age, mx, fetched_at,
    expires_at, last_error, last_error_class, last_error_at, next_retry_at)
VALUES ('testing.example', 'id2', 'testing', 604800, 'mx.testing.example',
    $now - 3600, $now - 3600 + 604800, 'HTTP status 503, not 200',
    'http-status', $now - 100, $now + 200);
INSERT INTO policies (domain, policy_id, mode, max_age, mx, fetched_at,
    expires_at)
VALUES ('old.example', 'id3', 'enforce', 86400, 'mx.old.example',
    $now - 200000, $now - 200000 + 86400);
INSERT INTO negative (domain, reason_class, detail, created_at, expires_at)
VALUES ('neg.example', 'no-txt', 'nxdomain', $now - 10, $now + 1790);
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 12)
INSERT INTO fetch_log (domain, at, policy_id, result_class, http_status)
SELECT 'enforce.example', $now - 1000 + n, 'id1', 'ok', 200 FROM i;
INSERT INTO fetch_log (domain, at, policy_id, result_class, http_status,
    detail)
VALUES ('testing.example', $now - 100, 'id2', 'http-status', 503,
    'HTTP status 503, not 200');
EOF
} | sqlite3 "$db" 2>"$tmp/sqlerr"; then
	store_ok=yes
else
	store_ok=no
	[ "$have_sqlite" = yes ] && echo "# sqlite3: $(cat "$tmp/sqlerr")"
fi
conf "$tmp/store.conf" "Database $db"
S="-c $tmp/store.conf"

SHOW_TOP="['domain', 'policy', 'negative', 'fetches']"
SHOW_POL="['id', 'mode', 'max_age', 'mx', 'fetched', 'expires', 'expired', \
'txt_checked', 'last_error_class', 'last_error', 'last_error_at', \
'next_retry']"
SHOW_NEG="['reason_class', 'detail', 'policy_id', 'created', 'expires', \
'expired']"
SHOW_FETCH="['at', 'policy_id', 'result_class', 'http_status', 'detail']"

if [ "$store_ok" = yes ]; then
	expect 0 "show: a stored policy" $S show enforce.example
	has "$OUT" "mode:          enforce" "show: the mode"
	has "$OUT" "mx:            *.mx.enforce.example" "show: each mx pattern"
	has "$OUT" "fetches (newest first)" "show: the fetch history"
	expect 0 "show --json: a stored policy" $S show --json ENFORCE.example
	json "show --json: documented keys, 10 fetches newest first" "
keys(d, $SHOW_TOP)
keys(d['policy'], $SHOW_POL)
assert d['domain'] == 'enforce.example' and d['negative'] is None
p = d['policy']
assert p['id'] == 'id1' and p['mode'] == 'enforce' and p['max_age'] == 86400
assert p['mx'] == ['mx1.enforce.example', '*.mx.enforce.example']
assert p['expired'] is False and p['last_error'] is None
assert p['fetched'].endswith('Z') and p['next_retry'] is None
assert len(d['fetches']) == 10
for f in d['fetches']:
    keys(f, $SHOW_FETCH)
ats = [f['at'] for f in d['fetches']]
assert ats == sorted(ats, reverse=True)
assert d['fetches'][0]['http_status'] == 200"
	expect 0 "show --json: the last error" $S show --json testing.example
	json "show --json: last error and retry time" "
p = d['policy']
assert p['last_error_class'] == 'http-status'
assert p['last_error'] == 'HTTP status 503, not 200'
assert p['next_retry'] is not None
assert d['fetches'][0]['http_status'] == 503"
	expect 0 "show: a negative entry" $S show neg.example
	has "$OUT" "no policy (negative entry)" "show: negative entry shown"
	expect 0 "show --json: a negative entry" $S show --json neg.example
	json "show --json: negative entry" "
keys(d, $SHOW_TOP)
keys(d['negative'], $SHOW_NEG)
assert d['policy'] is None and d['negative']['reason_class'] == 'no-txt'
assert d['negative']['expired'] is False and d['fetches'] == []"
	expect 0 "show: an expired policy" $S show old.example
	has "$OUT" "(expired)" "show: expired is flagged"
	expect 1 "show: an unknown domain" $S show unknown.example
	has "$OUT" "not in the store" "show: unknown domain"
	expect 1 "show --json: an unknown domain" $S show --json unknown.example
	json "show --json: unknown domain" "
keys(d, $SHOW_TOP)
assert d['policy'] is None and d['negative'] is None and d['fetches'] == []"
	expect 2 "show: not a domain" $S show 'bad_name..example'
	expect 2 "show: an address literal" $S show '[192.0.2.1]'

	expect 0 "list" $S list
	if [ "$(wc -l <"$OUT")" -eq 3 ]; then
		pass "list: three lines"
	else
		fail "list: three lines" "$(show "$OUT")"
	fi
	has "$OUT" "enforce.example enforce id1 " "list: domain mode id expires"
	has "$OUT" " expired" "list: the expired policy is flagged"
	expect 0 "list --mode testing" $S list --mode testing
	if [ "$(wc -l <"$OUT")" -eq 1 ] &&
	    grep -q '^testing.example testing id2 ' "$OUT"; then
		pass "list --mode testing: one line"
	else
		fail "list --mode testing: one line" "$(show "$OUT")"
	fi
	expect 2 "list --mode bogus" $S list --mode bogus
	expect 0 "list --json" $S list --json --mode enforce
	json "list --json: documented keys" "
keys(d, ['policies'])
for p in d['policies']:
    keys(p, ['domain', 'mode', 'id', 'expires', 'expired'])
assert [(p['domain'], p['expired']) for p in d['policies']] == [
    ('enforce.example', False), ('old.example', True)]"

	expect 0 "stats" $S stats
	has "$OUT" "policies: 1 enforce, 1 testing, 0 none" "stats: per mode"
	has "$OUT" "fetches in the last 24 hours: 13 (1 failed)" \
	    "stats: fetches"
	expect 0 "stats --json" $S stats --json
	json "stats --json: documented keys and counts" "
keys(d, ['policies', 'expired', 'negatives', 'fetches_24h', 'failures_24h'])
keys(d['policies'], ['enforce', 'testing', 'none'])
assert d['policies'] == {'enforce': 1, 'testing': 1, 'none': 0}
assert d['expired'] == 1 and d['negatives'] == 1
assert d['fetches_24h'] == 13 and d['failures_24h'] == 1"

	expect 0 "forget a stored policy" $S forget testing.example
	has "$OUT" "testing.example: forgotten" "forget: says so"
	expect 1 "forget it again" $S forget testing.example
	has "$OUT" "not in the store" "forget again: nothing there"
	expect 0 "forget a negative entry" $S forget neg.example
	expect 0 "list after forget" $S list
	hasnt "$OUT" "testing.example" "forget: gone from list"
	expect 2 "forget --json is not an option" $S forget --json x.example
else
	skip "store commands" "sqlite3 not found or failed"
fi

# A missing database is an error, and forget must not create one.
conf "$tmp/nodb.conf" "Database $tmp/absent.db"
for cmd in "show x.example" list stats "forget x.example"; do
	# shellcheck disable=SC2086
	expect 2 "$cmd: missing database" -c "$tmp/nodb.conf" $cmd
	has "$ERR" "$tmp/absent.db" "$cmd: missing database: the path is named"
	has "$ERR" "Database" "$cmd: missing database: the parameter is named"
	empty "$OUT" "$cmd: missing database: nothing on stdout"
done
if [ -e "$tmp/absent.db" ]; then
	fail "forget does not create a database" "$tmp/absent.db exists"
else
	pass "forget does not create a database"
fi
expect 2 "refresh: no domain" refresh
expect 2 "refresh: --all and a domain" refresh --all x.example

echo "1..$n"
if [ "$failed" -gt 0 ]; then
	echo "# $failed of $n checks failed"
	exit 1
fi
exit 0
