#!/bin/sh
# test_filter.sh: drive the real filter-mta-sts with OpenSMTPD filter
# protocol transcripts (tests/filter/transcripts/*.t) and the scenarios
# of filterdrv.py: the register handshake, rcpt-to decisions against a
# pre-seeded store and libunbound local data, session and message
# lifetimes, malformed and hostile lines, a slow domain beside fast ones,
# a flood of sessions.  TAP; a missing tool is named and the test skipped.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
filter=${1:-$top_builddir/milter/filter-mta-sts}

if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 not found (Debian package: python3)"
	exit 77
fi
[ -x "$filter" ] || { echo "test_filter.sh: $filter not built" >&2; exit 99; }
exec python3 "$top_srcdir/tests/filter/filterdrv.py" "$filter" \
    "$top_srcdir" "$top_srcdir/tests/filter/transcripts"
