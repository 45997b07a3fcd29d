#!/usr/bin/python3
"""sendmail-sts-san-fix.py CF - repair the wildcard-certificate rule that
FEATURE(`sts') of Sendmail 8.17.1 writes into sendmail.cf.

The generated ruleset compares the MX host name with the certificate's subject
alternative names ({cert_altnames}); for a wildcard it tries the line
    R *.$={cert_altnames}	$@ ok
which cannot match anything (the LHS pattern starts with a literal "*." token
sequence that the workspace never contains), so an MX host with a *.domain
certificate is always deferred with "... not listed in SANs".  The fix strips the
first label of the workspace, prefixes "*." and then looks the result up in the
class.  Rewrites CF in place; exit 0 when patched or already patched, 1 when the
rule is not found at all (another Sendmail version: check by hand)."""
import sys

path = sys.argv[1]
text = open(path, encoding="latin-1").read()
broken = "R *.$={cert_altnames}\t$@ ok\n"
fixed = "R$-.$+\t\t\t$: $2\nR$+\t\t\t$: *.$1\nR$={cert_altnames}\t$@ ok\n"
if fixed in text:
    print("%s: already patched" % path)
elif broken in text:
    open(path, "w", encoding="latin-1").write(text.replace(broken, fixed, 1))
    print("%s: wildcard SAN rule patched" % path)
else:
    print("%s: wildcard SAN rule not found" % path, file=sys.stderr)
    sys.exit(1)
