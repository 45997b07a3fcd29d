# mta-samples.sh - the configuration samples of etc/ as the lab's MTAs use them
# (bash; sourced by mta-up.sh after mta-lib.sh).  The lab's Postfix main.cf and
# Sendmail .mc are built from etc/postfix-main.cf and etc/sendmail-mta-sts.mc,
# and sendmail.cf is repaired by etc/sendmail-sts-san-fix.sh, so that the
# end-to-end tests prove the very files an administrator installs.

MTA_ETC=$(cd "$LAB_SRC/../../etc" && pwd)

# mta_sample FILE OLD NEW [OLD NEW]... : print etc/FILE with every OLD replaced
# by NEW (literal strings: the sample's addresses and paths become the lab's).
# Fails when an OLD does not occur, so that sample and lab cannot drift apart
# unnoticed.
mta_sample() {
    "$LAB_PYTHON" - "$MTA_ETC/$1" "${@:2}" <<'PY'
import sys
path, pairs = sys.argv[1], sys.argv[2:]
text = open(path).read()
if len(pairs) % 2:
    sys.exit("mta_sample: OLD without NEW")
for old, new in zip(pairs[0::2], pairs[1::2]):
    if old not in text:
        sys.exit("mta_sample: %s: '%s' not found (sample changed?)" % (path, old))
    text = text.replace(old, new)
sys.stdout.write(text)
PY
}

# The samples with the lab's daemon address (MTA_DAEMON_IP, ports) and CA.
mta_sample_postfix() {
    mta_sample postfix-main.cf \
        inet:127.0.0.1:2700 "inet:$MTA_DAEMON_IP:$MTA_MILTER_PORT" \
        inet:127.0.0.1:2600 "inet:$MTA_DAEMON_IP:$MTA_MAP_PORT" \
        /etc/ssl/certs/ca-certificates.crt "$LAB/pki/ca.crt"
}
mta_sample_sendmail() {   # CA-DIR (inside the Sendmail namespace)
    mta_sample sendmail-mta-sts.mc \
        "inet:2700@127.0.0.1" "inet:$MTA_MILTER_PORT@$MTA_DAEMON_IP" \
        "inet:2600@127.0.0.1" "inet:$MTA_MAP_PORT@$MTA_DAEMON_IP" \
        /etc/ssl/certs/ca-certificates.crt "$1/ca.crt" \
        "\`/etc/ssl/certs'" "\`$1'"
}
