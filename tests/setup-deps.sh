#!/bin/sh
# setup-deps.sh: install every Debian package the build, the tests and the
# loopback lab need.  Run as root on Debian 12.  Installs only what is
# missing, so a second run costs a few dpkg queries.
set -eu

PKGS="build-essential autoconf automake pkg-config
libmilter-dev libssl-dev libcurl4-openssl-dev libunbound-dev libevent-dev
libsqlite3-dev libidn2-dev
clang libclang-rt-14-dev mandoc python3 sqlite3 openssl curl ca-certificates
iproute2 procps psmisc nginx unbound unbound-host nsd ldnsutils bind9-dnsutils
miltertest swaks systemd"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "setup-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "setup-deps: missing packages:$missing" >&2
	echo "setup-deps: run as root (or: apt-get install$missing)" >&2
	exit 1
fi

# Package scripts must not start nginx, unbound or nsd on the host: the lab
# runs its own instances inside a network namespace.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	guard=/usr/sbin/policy-rc.d
fi
trap '[ -n "$guard" ] && rm -f "$guard"' EXIT

echo "setup-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "setup-deps: done"
