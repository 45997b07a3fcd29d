#!/bin/sh
# sendmail-sts-san-fix.sh CF... - repair the wildcard-certificate rule that
# FEATURE(`sts') of Sendmail 8.17 writes into sendmail.cf.
#
# The ruleset STS_SAN compares the MX host name ({server_name}) with the
# certificate's names ({cert_altnames}).  For a wildcard certificate it
# strips the host name's first label and then tries
#	R *.$={cert_altnames}	$@ ok
# whose left side can never match: the workspace ("example.com" for the
# host mx1.example.com) does not start with "*.".  So an MX host with a
# certificate for *.example.com is deferred with "mx1.example.com not
# listed in SANs".  This script replaces that line with two rules that
# put "*." in front of the stripped name and look that up, as RFC 6125
# wants: *.example.com then covers mx1.example.com but neither
# a.b.example.com nor example.com.
#
# Run it after every rebuild of sendmail.cf, before (re)starting Sendmail.
# Each file is rewritten in place (same owner and mode).  Exit status: 0
# when every file was repaired or already was, 1 when a file lacks the
# rule (another Sendmail version, or FEATURE(`sts') without the name
# check: look at the STS_SAN ruleset by hand), 2 for usage or I/O errors.
# Part of mta-sts-milter; see mta-sts-milter(8).
set -u

broken='^R \*\.\$={cert_altnames}	\$@ ok$'
mark='# wildcard SAN rule repaired by sendmail-sts-san-fix.sh'

[ $# -ge 1 ] || { echo "usage: sendmail-sts-san-fix.sh sendmail.cf..." >&2; exit 2; }
rc=0
for cf in "$@"; do
	if [ ! -f "$cf" ] || [ ! -r "$cf" ]; then
		echo "$cf: cannot read" >&2
		rc=2
		continue
	fi
	if grep -qxF "$mark" "$cf"; then
		echo "$cf: already repaired"
		continue
	fi
	if ! grep -q "$broken" "$cf"; then
		echo "$cf: the wildcard SAN rule of FEATURE(\`sts') was not found" >&2
		[ $rc -eq 0 ] && rc=1
		continue
	fi
	tmp="$cf.sanfix.$$"
	# cp keeps owner and mode (as root); sed then writes into the copy.
	if ! cp -p "$cf" "$tmp" || ! sed "/$broken/{
c\\
$mark\\
R\$+			\$: *.\$1\\
R\$={cert_altnames}	\$@ ok
}" "$cf" >"$tmp" || ! mv "$tmp" "$cf"; then
		echo "$cf: cannot rewrite" >&2
		rm -f "$tmp"
		rc=2
		continue
	fi
	echo "$cf: wildcard SAN rule repaired"
done
exit $rc
