#!/bin/sh
# checksrc.sh: part of "make check".  Flags what STYLE.md bans in the C
# sources: unbounded string calls, atoi/strtok, functions longer than
# MAX_FUNC lines and lines wider than MAX_COL columns (tabs count 8).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
MAX_FUNC=${MAX_FUNC:-200}
MAX_COL=${MAX_COL:-100}
rc=0

files=$(cd "$top_srcdir" && ls common/*.[ch] milter/*.[ch] 2>/dev/null)
[ -n "$files" ] || { echo "not ok 1 - no sources found"; exit 1; }

cd "$top_srcdir" || exit 1

# 1. banned calls (strip comments and string literals first, crudely)
banned='(^|[^_a-z0-9])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok|strncpy|strncat)[ \t]*\('
hits=$(for f in $files; do
	sed -e 's://.*$::' -e 's:"[^"]*"::g' "$f" |
	    grep -nE "$banned" | sed "s|^|$f:|"
done)
if [ -n "$hits" ]; then
	echo "not ok 1 - banned calls:"
	echo "$hits" | sed 's/^/#   /'
	rc=1
else
	echo "ok 1 - no banned calls"
fi

# 2. function length: a body opens with "{" in column 0 and closes with "}"
long=$(for f in $files; do
	awk -v f="$f" -v max="$MAX_FUNC" '
	    /^{/ { start = NR }
	    /^}/ { if (start && NR - start > max)
		       printf "%s:%d: function body of %d lines\n", f, start, NR - start;
		   start = 0 }' "$f"
done)
if [ -n "$long" ]; then
	echo "not ok 2 - functions longer than $MAX_FUNC lines:"
	echo "$long" | sed 's/^/#   /'
	rc=1
else
	echo "ok 2 - no function longer than $MAX_FUNC lines"
fi

# 3. line width
wide=$(for f in $files; do
	expand "$f" | awk -v f="$f" -v max="$MAX_COL" \
	    'length($0) > max { printf "%s:%d: %d columns\n", f, NR, length($0) }'
done)
if [ -n "$wide" ]; then
	echo "not ok 3 - lines wider than $MAX_COL columns:"
	echo "$wide" | sed 's/^/#   /'
	rc=1
else
	echo "ok 3 - no line wider than $MAX_COL columns"
fi

echo "1..3"
exit $rc
