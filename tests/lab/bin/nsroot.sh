#!/bin/sh
# nsroot.sh PKGROOT STATEDIR "DIRS" CMD [ARG...]
# Run CMD in a new private mount namespace in which each of DIRS (e.g. "usr etc var
# run") is an overlayfs: PKGROOT/<dir> (an extracted .deb tree, if it has that dir)
# over the host's /<dir>, writes going to STATEDIR/ov/<dir>-up.  The host's own
# directories are never written.  The mounts vanish with the last process of the
# namespace.  Started by mta-up.sh inside the lab network namespace; needs root.
set -eu
[ $# -ge 4 ] || { echo "usage: nsroot.sh PKGROOT STATEDIR DIRS CMD..." >&2; exit 2; }
exec unshare -m --propagation private -- /bin/sh -c '
set -eu
pkg=$1 st=$2 dirs=$3; shift 3
for d in $dirs; do
    mkdir -p "$st/ov/$d-up" "$st/ov/$d-work"
    lower=/$d
    [ -d "$pkg/$d" ] && lower="$pkg/$d:/$d"
    mount -t overlay "mtasts-$d" -o "lowerdir=$lower,upperdir=$st/ov/$d-up,workdir=$st/ov/$d-work" "/$d"
done
exec "$@"' nsroot "$@"
