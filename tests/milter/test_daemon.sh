#!/bin/sh
# test_daemon.sh: the daemon as a system service starts it, as root.
# Started without -f and with UserID nobody, the real mta-sts-milter must:
# detach once it serves, write its pid file (creating the pid directory for
# nobody), open its unix milter and map sockets as root with SocketMode and
# MapSocketMode, hand them to nobody, then run as nobody with no way back
# to root, and still answer on both sockets; reload its configuration on
# SIGHUP as nobody; stop on SIGTERM and remove its pid file.  UserID is
# also refused when it names nobody known, or when the daemon is not root.
# Last, a detached daemon with Syslog yes logs through /dev/log (a
# listener in a private mount namespace, over an overlay of /dev) with
# its name, pid and the SyslogFacility asked for.
# Needs root (77 otherwise); miltertest, python3, sqlite3, setpriv.  TAP.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
daemon=${1:-$top_builddir/milter/mta-sts-milter}
here=$top_srcdir/tests/milter
user=nobody

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (privilege drop to UserID $user)"
	exit 77
fi
for tool in miltertest python3 sqlite3 setpriv; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool not found"
		exit 77
	fi
done
if ! uid=$(id -u "$user" 2>/dev/null) || ! gid=$(id -g "$user"); then
	echo "1..0 # SKIP no user $user"
	exit 77
fi
[ -x "$daemon" ] || { echo "test_daemon.sh: $daemon not built" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_daemon.XXXXXX") || exit 99
# nobody must reach the database, the resolver file and the pid directory
chmod 755 "$tmp"
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

. "$top_srcdir/tests/tap.sh"
nsc() {
	python3 "$top_srcdir/tests/mapd/nsclient.py" "$@" 2>&1
}

# An enforce policy in a database that belongs to the user, as one left by
# an earlier run would.
now=$(date +%s)
mkdir "$tmp/db" "$tmp/run"
sqlite3 "$tmp/db/policies.db" <"$top_srcdir/sql/schema.sql" &&
sqlite3 "$tmp/db/policies.db" "INSERT INTO policies (domain, policy_id,
    mode, max_age, mx, policy_text, fetched_at, expires_at, txt_checked_at)
    VALUES ('enforce.test', 'id1', 'enforce', 86400, 'mx1.enforce.test', '',
    $now, $now + 86400, $now);" || { echo "Bail out! cannot seed the store"; exit 99; }
chown -R "$uid:$gid" "$tmp/db"
printf 'server:\n\tlocal-zone: "test." static\n' >"$tmp/unbound.conf"
chmod 644 "$tmp/unbound.conf"

cat >"$tmp/milter.conf" <<CONF
Syslog		no
Socket		unix:$tmp/run/milter.sock
SocketMode	0660
MapSocket	unix:$tmp/run/map.sock
MapSocketMode	0600
UserID		$user
PidFile		$tmp/pid/mta-sts-milter.pid
Database	$tmp/db/policies.db
ResolverConfig	$tmp/unbound.conf
CONF
# root's file, readable by all: the user reads it again on a reload
chmod 644 "$tmp/milter.conf"

# ---------------------------------------------------------------- refusals
sed "s/^UserID.*/UserID no-such-user-here/" "$tmp/milter.conf" >"$tmp/nouser.conf"
chmod 644 "$tmp/nouser.conf"
out=$("$daemon" -n -c "$tmp/nouser.conf" 2>&1)
rc=$?
case "$rc $out" in
"1 "*"no user named 'no-such-user-here'"*) ok "-n: an unknown UserID is an error" ;;
*)	not_ok "-n: an unknown UserID is an error" "rc $rc: $out" ;;
esac
out=$("$daemon" -f -c "$tmp/nouser.conf" 2>&1)
rc=$?
case "$rc $out" in
"1 "*"no user named 'no-such-user-here'"*) ok "start: an unknown UserID stops the daemon" ;;
*)	not_ok "start: an unknown UserID stops the daemon" "rc $rc: $out" ;;
esac
sed -e "s/^UserID.*/UserID root/" -e "s|$tmp/run/|$tmp/urun/|" \
    -e "s|$tmp/pid/|$tmp/urun/|" "$tmp/milter.conf" >"$tmp/unpriv.conf"
mkdir "$tmp/urun"
chown "$uid:$gid" "$tmp/urun" "$tmp/unpriv.conf"
out=$(setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    "$daemon" -f -c "$tmp/unpriv.conf" 2>&1)
rc=$?
case "$rc $out" in
"1 "*"only root can change user"*) ok "not root: UserID root is refused, not ignored" ;;
*)	not_ok "not root: UserID root is refused, not ignored" "rc $rc: $out" ;;
esac

# ---------------------------------------------------------------- start
"$daemon" -c "$tmp/milter.conf" >"$tmp/start.out" 2>&1
expect "without -f: the parent returns 0 once the daemon serves" 0 "$?"
dpid=$(cat "$tmp/pid/mta-sts-milter.pid" 2>/dev/null)
if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
	ok "the pid file names the running daemon ($dpid)"
else
	not_ok "the pid file names the running daemon" "pid '$dpid'"
	sed 's/^/#   /' "$tmp/start.out"
	echo "1..$n"
	exit 1
fi
expect "the pid directory was created for $user" "$user 750" \
    "$(stat -c '%U %a' "$tmp/pid")"
expect "the pid file belongs to $user" "$user" \
    "$(stat -c %U "$tmp/pid/mta-sts-milter.pid")"
ids=$(awk '/^Uid:/ {u = $2 " " $3 " " $4 " " $5}
    /^Gid:/ {g = $2 " " $3 " " $4 " " $5}
    /^Groups:/ {$1 = ""; s = $0}
    END {print u "/" g "/" s}' "/proc/$dpid/status")
expect "real, effective, saved and fs uid and gid are $user's" \
    "$uid $uid $uid $uid/$gid $gid $gid $gid/ $(id -G "$user")" \
    "$(echo "$ids" | sed 's/ *$//')"
expect "milter socket: $user's, mode 660" "$user 660" \
    "$(stat -c '%U %a' "$tmp/run/milter.sock")"
expect "map socket: $user's, mode 600" "$user 600" \
    "$(stat -c '%U %a' "$tmp/run/map.sock")"
if miltertest -D sock="$tmp/run/milter.sock" -D libdir="$here" \
    -s "$here/ping.lua" >"$tmp/ping.out" 2>&1; then
	ok "the milter answers on its socket after the change of user"
else
	not_ok "the milter answers on its socket after the change of user"
	sed 's/^/#   /' "$tmp/ping.out"
fi
expect "the map server answers from the user's database" \
    "OK secure match=mx1.enforce.test servername=hostname" \
    "$(nsc query "$tmp/run/map.sock" enforce.test)"
expect "the database still belongs to $user" "$user" \
    "$(stat -c %U "$tmp/db/policies.db")"
owners=$(find "$tmp/db" ! -user "$user" | wc -l)
expect "every file the engine made in the database directory is $user's" 0 \
    "$owners"

# ---------------------------------------------------------------- reload
echo "SkipDomains enforce.test" >>"$tmp/milter.conf"
kill -HUP "$dpid"
expect "SIGHUP as $user: the new configuration applies" "NOTFOUND " \
    "$(nsc wait "$tmp/run/map.sock" enforce.test "NOTFOUND " 10)"
kill -0 "$dpid" 2>/dev/null && ok "still running after the reload" ||
    not_ok "still running after the reload"

# ---------------------------------------------------------------- stop
kill -TERM "$dpid"
i=0
while kill -0 "$dpid" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$dpid" 2>/dev/null; then
	not_ok "SIGTERM: the daemon stops within 10 s"
else
	ok "SIGTERM: the daemon stops within 10 s"
	dpid=
fi
[ ! -e "$tmp/pid/mta-sts-milter.pid" ] &&
    ok "SIGTERM: $user removed the pid file" ||
    not_ok "SIGTERM: $user removed the pid file"

# ---------------------------------------------------------------- syslog
# daemon.info is <30>; the receiver keeps each datagram as it came.
sed -e 's/^Syslog.*/Syslog yes/' -e '/^UserID/d' -e '/^Socket/d' \
    -e '/^SocketMode/d' -e "s|$tmp/run/map.sock|$tmp/run/map2.sock|" \
    "$tmp/milter.conf" >"$tmp/syslog.conf"
echo "SyslogFacility daemon" >>"$tmp/syslog.conf"
chmod 644 "$tmp/syslog.conf"
mkdir "$tmp/devup" "$tmp/devwork"
# One private mount namespace: /dev/log there is the listener's socket.
timeout 60 unshare -m --propagation private sh -c '
set -e
tmp=$1 daemon=$2 listen=$3
mount -t overlay devlog -o "lowerdir=/dev,upperdir=$tmp/devup,workdir=$tmp/devwork" /dev
python3 "$listen" /dev/log "$tmp/syslog.txt" &
i=0
while [ ! -e "$tmp/syslog.txt.ready" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
"$daemon" -c "$tmp/syslog.conf"
kill -TERM "$(cat "$tmp/pid/mta-sts-milter.pid")"
i=0
while [ -e "$tmp/pid/mta-sts-milter.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.3
touch "$tmp/syslog.txt.stop"
wait' sh "$tmp" "$daemon" "$here/syslog_listen.py" >"$tmp/syslog.out" 2>&1
dpid2=$(sed -n 's/^<30>.*mta-sts-milter\[\([0-9]*\)\]: mta-sts-milter .* started$/\1/p' \
    "$tmp/syslog.txt" 2>/dev/null | head -n 1)
if [ -n "$dpid2" ]; then
	ok "Syslog yes: \"started\" at daemon.info as mta-sts-milter[$dpid2]"
else
	not_ok "Syslog yes: \"started\" at daemon.info with name and pid" \
	    "$(cat "$tmp/syslog.out" "$tmp/syslog.txt" 2>/dev/null | head -n 5)"
fi
grep -q "^<30>.*mta-sts-milter\[$dpid2\]: stopped\$" "$tmp/syslog.txt" 2>/dev/null &&
    ok "Syslog yes: \"stopped\" logged after SIGTERM" ||
    not_ok "Syslog yes: \"stopped\" logged after SIGTERM"

echo "1..$n"
[ $fail -eq 0 ]
