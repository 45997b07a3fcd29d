#!/bin/sh
# check-docs.sh: every configuration parameter declared in the table of
# common/conf.c must be documented in mta-sts-milter.conf(5) (as
# ".It Cm Name") and listed in the sample etc/mta-sts-milter.conf (as a
# commented-out "#Name value" line); and every man page template in milter/
# must pass "mandoc -Tlint -W warning".  Exit 0 when all is well, 1 with the
# list of what is missing otherwise.

if [ -n "$top_srcdir" ]; then
	top=$top_srcdir
else
	top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
fi

table=$top/common/conf.c
manpage=$top/milter/mta-sts-milter.conf.5.in
sample=$top/etc/mta-sts-milter.conf
fail=0

for f in "$table" "$manpage" "$sample"; do
	if [ ! -r "$f" ]; then
		echo "FAIL cannot read $f"
		exit 1
	fi
done

# Rows of mtasts_conf_defs[] start with { "Name", on a line of their own.
names=$(sed -n '/^const struct mtasts_conf_def mtasts_conf_defs\[\]/,/^};/p' \
    "$table" | sed -n 's/^[[:space:]]*{ *"\([A-Za-z][A-Za-z0-9]*\)".*/\1/p')
if [ -z "$names" ]; then
	echo "FAIL no parameters found in the table of $table"
	exit 1
fi

# One line, blank-separated, for the membership test below; the names are
# split on purpose.
# shellcheck disable=SC2086
names_flat=" $(printf '%s ' $names)"
count=0
for name in $names; do
	count=$((count + 1))
	if ! grep -q "^\.It Cm $name\( \|$\)" "$manpage"; then
		echo "FAIL $name is not documented in milter/mta-sts-milter.conf.5.in"
		fail=1
	fi
	if ! grep -q "^#${name}[[:space:]]" "$sample"; then
		echo "FAIL $name is not listed in etc/mta-sts-milter.conf"
		fail=1
	fi
done

# The other way round: a documented parameter that the table lacks.
extra=$(sed -n '/^\.Sh PARAMETERS/,/^\.Sh /s/^\.It Cm \([A-Za-z0-9]*\).*/\1/p' \
    "$manpage" | while read -r name; do
	case "$names_flat" in
	*" $name "*) ;;
	*)	echo "$name" ;;
	esac
done)
for name in $extra; do
	echo "FAIL $name is documented but not in the table"
	fail=1
done
echo "checked $count parameters against the man page and the sample"

if command -v mandoc >/dev/null 2>&1; then
	# mandoc takes the section from the file name, so the copy keeps the
	# page's own name (without .in) inside a private directory.
	tmpdir=$(mktemp -d) || exit 1
	trap 'rm -rf "$tmpdir"' EXIT INT TERM
	for page in "$top"/milter/*.in; do
		[ -e "$page" ] || continue
		tmp=$tmpdir/$(basename "$page" .in)
		# Lint what make installs: the paths substituted.
		sed -e 's|@SYSCONFDIR@|/etc|g' -e 's|@LOCALSTATEDIR@|/var|g' \
		    -e 's|@SBINDIR@|/usr/sbin|g' -e 's|@DATADIR@|/usr/share|g' \
		    -e 's|@VERSION@|0|g' "$page" > "$tmp"
		if [ ! -s "$tmp" ]; then
			echo "FAIL ${page#"$top"/} is empty"
			fail=1
			continue
		fi
		out=$(mandoc -Tlint -W warning "$tmp" 2>&1)
		rc=$?
		if [ $rc -ne 0 ] || [ -n "$out" ]; then
			echo "FAIL mandoc -Tlint -W warning ${page#"$top"/}:"
			echo "$out" | sed "s|$tmp|${page#"$top"/}|g"
			fail=1
		else
			echo "ok mandoc ${page#"$top"/}"
		fi
	done
else
	echo "SKIP mandoc not installed"
fi

if [ $fail -ne 0 ]; then
	echo "check-docs: FAIL"
	exit 1
fi
echo "check-docs: ok"
exit 0
