#!/bin/bash
# lab-set-txt-id.sh DOMAIN ID [POLICY-FILE] - change the id of DOMAIN's _mta-sts TXT
# record in the running lab and serve a different policy body for it.
#
# * The TXT record (or the TXT its _mta-sts CNAME points to) is rewritten in the zone
#   file, the SOA serial is bumped, nsd reloads the zone and the lab unbound's cache
#   for the zone is flushed.  Waits (bounded) until both servers give the new id.
# * Policy body served from then on (swapped atomically with rename):
#     POLICY-FILE if given; else $LAB/policies/DOMAIN/ID.txt if it exists (the
#     catalogue's id2=/mode2= make one); else the current body with its max_age
#     changed (604800 <-> 86400), so that the body differs.
# ID is not checked against RFC 8461 on purpose (tests may install a bad id), but
# must be [A-Za-z0-9._!-]{1,64}.  Env: LAB, LAB_NETNS.
set -eu
. "$(dirname "$0")/lab-lib.sh"
lab_check_env
[ $# -ge 2 ] && [ $# -le 3 ] || lab_die "usage: lab-set-txt-id.sh DOMAIN ID [POLICY-FILE]"
dom=$(echo "$1" | tr 'A-Z' 'a-z'); dom=${dom%.}; id=$2; pfile=${3:-}
case $dom in ''|*[!a-z0-9.-]*) lab_die "bad domain '$1'" ;; esac
case $id in ''|*[!A-Za-z0-9._!-]*) lab_die "bad id '$id'" ;; esac
[ ${#id} -le 64 ] || lab_die "id too long"
lab_is_up || lab_die "lab is not up (LAB=$LAB)"
[ -d "$LAB/www/$dom" ] || lab_die "$dom is not a lab domain"

# ---- find the TXT owner (follow one CNAME) and its zone file ----------------------------
owner="_mta-sts.$dom"
line=$(grep -h "^$owner\. [0-9]* IN CNAME " "$LAB"/dns/zones/*.zone | head -1 || true)
if [ -n "$line" ]; then
    owner=$(echo "$line" | awk '{print $5}'); owner=${owner%.}
fi
zfile=$(grep -l "^$owner\. [0-9]* IN TXT \"v=STSv1" "$LAB"/dns/zones/*.zone | head -1 || true)
[ -n "$zfile" ] || lab_die "no STS TXT record for $owner in the lab zones"
n=$(grep -c "^$owner\. [0-9]* IN TXT \"v=STSv1" "$zfile")
[ "$n" = 1 ] || lab_die "$owner has $n STS TXT records; only one can be rewritten"
zone=$(basename "$zfile" .zone)
old=$(grep "^$owner\. [0-9]* IN TXT \"v=STSv1" "$zfile" | sed 's/.*id=\([^;"]*\).*/\1/')

# ---- policy body ---------------------------------------------------------------------
www="$LAB/www/$dom/.well-known/mta-sts.txt"
mkdir -p "$LAB/policies/$dom"
if [ -n "$pfile" ]; then
    [ -f "$pfile" ] || lab_die "no such file: $pfile"
    cp "$pfile" "$LAB/policies/$dom/$id.txt.tmp"
elif [ -f "$LAB/policies/$dom/$id.txt" ]; then
    cp "$LAB/policies/$dom/$id.txt" "$LAB/policies/$dom/$id.txt.tmp"
else
    awk '{ cr = ""; if (sub(/\r$/, "")) cr = "\r"
           if ($0 ~ /^max_age:/) { v = $0; sub(/^max_age: */, "", v)
                                   $0 = "max_age: " (v == "604800" ? "86400" : "604800") }
           printf "%s%s\n", $0, cr }' "$www" > "$LAB/policies/$dom/$id.txt.tmp"
fi
chmod 644 "$LAB/policies/$dom/$id.txt.tmp"
mv -f "$LAB/policies/$dom/$id.txt.tmp" "$LAB/policies/$dom/$id.txt"
cp "$LAB/policies/$dom/$id.txt" "$www.tmp"
mv -f "$www.tmp" "$www"                          # atomic for nginx readers

# ---- zone: new TXT, serial + 1, mtime forward so nsd sees a change ---------------------
oldm=$(stat -c %Y "$zfile")
awk -v o="$owner." -v id="$id" '
    $1 == o && $4 == "TXT" && $5 ~ /^"v=STSv1/ { sub(/id=[^;"]*/, "id=" id) }
    $4 == "SOA" { $7 = $7 + 1 }
    { print }' "$zfile" > "$zfile.tmp"
chmod 644 "$zfile.tmp"
mv -f "$zfile.tmp" "$zfile"
now=$(date +%s); [ "$now" -gt "$oldm" ] || touch -d "@$((oldm + 1))" "$zfile"
nsd-control -c "$LAB/dns/nsd.conf" reload "$zone" >/dev/null
i=0
until lab_ns dig +time=1 +tries=1 +short @127.0.1.1 TXT "$owner" | grep -q "id=$id;"; do
    i=$((i + 1)); [ $i -lt 50 ] || lab_die "nsd still does not serve id=$id for $owner"; sleep 0.1
done
unbound-control -c "$LAB/dns/unbound.conf" flush_zone "$zone" >/dev/null
[ "$owner" = "_mta-sts.$dom" ] || unbound-control -c "$LAB/dns/unbound.conf" flush_zone "$dom" >/dev/null
unbound-control -c "$LAB/dns/unbound.conf" flush_requestlist >/dev/null
i=0
until lab_ns dig +time=1 +tries=1 +short @127.0.0.1 TXT "_mta-sts.$dom" | grep -q "id=$id;"; do
    i=$((i + 1)); [ $i -lt 50 ] || lab_die "unbound still does not give id=$id for _mta-sts.$dom"; sleep 0.1
done
mode=$(sed -n 's/^mode: *\([a-z]*\).*/\1/p' "$www" | head -1)
lab_log "$dom: id $old -> $id, serving policy mode ${mode:-?} ($(wc -c < "$www") bytes)"
