#!/bin/sh
# check-unit.sh: the systemd unit etc/mta-sts-milter.service (made from
# etc/mta-sts-milter.service.in by make) against the daemon it starts:
#   - ExecStart runs $sbindir/mta-sts-milter with options the daemon has,
#     its configuration file is the daemon's default, and without -f, since
#     Type=forking waits for the daemon to detach; the built daemon accepts
#     that command line (checked with -n on a test configuration);
#   - PIDFile is the daemon's default PidFile ($localstatedir/run/...);
#   - ExecReload sends SIGHUP, which reloads;
#   - systemd-analyze verify finds nothing to say about the unit (on a copy
#     whose commands point into the build tree, since nothing is installed).
# Output is TAP.  Without systemd-analyze (Debian package systemd) the
# other checks still run and the test ends with 77 (skipped).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
unit=$top_builddir/etc/mta-sts-milter.service
bin=$top_builddir/milter/mta-sts-milter
: "${sbindir:?sbindir not set (run through make check)}"
: "${sysconfdir:?sysconfdir not set}"
: "${localstatedir:?localstatedir not set}"

[ -r "$unit" ] || { echo "Bail out! $unit not built"; exit 99; }
[ -x "$bin" ] || { echo "Bail out! $bin not built"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-unit.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

. "$top_srcdir/tests/tap.sh"
key() {		# the value of KEY= in the unit (the last one wins)
	sed -n "s/^$1=//p" "$unit" | tail -n 1
}

# ---------------------------------------------------------------- ExecStart
exec_start=$(key ExecStart)
# shellcheck disable=SC2086
set -- $exec_start
expect "ExecStart runs the installed daemon" "$sbindir/mta-sts-milter" "$1"
shift
args="$*"
# The option letters of the daemon, from its own usage line.
letters=$("$bin" -h | sed -n 's/^usage: [^ ]* \[-\([A-Za-z]*\)\].*/\1/p')
withargs=$("$bin" -h | sed -n 's/.*\[-\([A-Za-z]\) [a-z]*\].*/\1/p')
bad=
conf=
while [ $# -gt 0 ]; do
	case $1 in
	-?)	o=${1#-}
		case "$letters$withargs" in
		*"$o"*) ;;
		*)	bad="$bad $1" ;;
		esac
		if [ "$o" = c ]; then
			conf=${2:-}
			shift
		fi
		;;
	*)	bad="$bad $1" ;;
	esac
	shift
done
expect "ExecStart uses only options of mta-sts-milter -h ($letters, $withargs)" "" "$bad"
expect "ExecStart names the daemon's default configuration file" \
    "$sysconfdir/mta-sts-milter.conf" "$conf"
case " $args " in
*" -f "*) not_ok "no -f: Type=forking waits for the daemon to detach" ;;
*)	ok "no -f: Type=forking waits for the daemon to detach" ;;
esac
expect "Type=forking" forking "$(key Type)"
# The same command line with a test configuration, checked with -n.
printf 'Syslog no\nMapSocket inet:2600@127.0.0.1\nDatabase %s/p.db\n' \
    "$tmp" >"$tmp/test.conf"
chmod 600 "$tmp/test.conf"
# shellcheck disable=SC2086
out=$("$bin" $(echo "$args" | sed "s|$conf|$tmp/test.conf|") -n 2>&1)
expect "the daemon accepts the unit's command line (with -n)" "0 " "$? $out"

# ---------------------------------------------------------------- PIDFile
want=$localstatedir/run/mta-sts-milter/mta-sts-milter.pid
case $want in /var/run/*) want=/run/${want#/var/run/} ;; esac
expect "PIDFile is the daemon's default PidFile" "$want" "$(key PIDFile)"

# ---------------------------------------------------------------- reload
expect "ExecReload sends SIGHUP to the daemon" '/bin/kill -HUP $MAINPID' \
    "$(key ExecReload)"
[ -x /bin/kill ] && ok "/bin/kill exists" || not_ok "/bin/kill exists"
grep -q 'SIGHUP' "$top_srcdir/milter/mta-sts-milter.8.in" &&
    ok "mta-sts-milter(8) documents SIGHUP" ||
    not_ok "mta-sts-milter(8) documents SIGHUP"

# ---------------------------------------------------------------- systemd
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "# systemd-analyze not found (Debian package systemd): verify skipped"
	echo "1..$n"
	[ $fail -eq 0 ] || exit 1
	exit 77
fi
sed -e "s|^ExecStart=$sbindir/mta-sts-milter|ExecStart=$(cd "$(dirname "$bin")" && pwd)/mta-sts-milter|" \
    "$unit" >"$tmp/mta-sts-milter.service"
out=$(systemd-analyze verify --man=no "$tmp/mta-sts-milter.service" 2>&1)
rc=$?
expect "systemd-analyze verify: no complaint" "0 " "$rc $out"
# For the record, not a test: what systemd thinks of the sandbox.
score=$(systemd-analyze security --offline=yes "$tmp/mta-sts-milter.service" \
    2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: *//p')
[ -n "$score" ] && echo "# systemd-analyze security: exposure $score"

echo "1..$n"
[ $fail -eq 0 ]
