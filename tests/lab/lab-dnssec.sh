#!/bin/bash
# lab-dnssec.sh - the lab's DNSSEC part, run by lab-up.sh after the PKI exists.
#
# 1. TLSA records (RFC 6698, RFC 7672): for each line "owner cert-base kind zone" of
#    $LAB/dns/tlsa (written by lab-gen.py from the catalogue's tlsa= directives) append
#      owner TLSA 3 1 1 <SHA-256 of the SubjectPublicKeyInfo>      (DANE-EE, SPKI)
#    to the zone file: of the certificate's key for kind good and bogus, of the lab
#    CA's key (a well-formed record that matches no MX certificate) for mismatch.
# 2. Every zone of $LAB/dns/signed is signed with ldns-signzone (one ECDSA P-256 key,
#    KSK and ZSK in one) into dns/zones/<zone>.zone.signed, which nsd serves; its DS
#    record goes to dns/<zone>.ds, the trust anchor of the lab unbound
#    (trust-anchor-file) and of the engine (TrustAnchorFile).
# 3. kind bogus: after signing, the TLSA data of that owner is changed in the signed
#    file, so its RRSIG no longer verifies: validating resolvers answer SERVFAIL and
#    libunbound reports it bogus.
# Env: LAB.  Needs ldnsutils (ldns-keygen, ldns-signzone) and openssl.
set -eu
. "$(dirname "$0")/lab-lib.sh"
lab_check_env
for t in ldns-keygen ldns-signzone openssl sha256sum; do
    command -v $t >/dev/null 2>&1 || lab_die "missing tool: $t (Debian package: ldnsutils / openssl / coreutils)"
done
cd "$LAB/dns"
[ -f tlsa ] && [ -f signed ] || lab_die "$LAB/dns/tlsa or signed missing: lab-gen.py is older than this script"

spki_sha256() {   # CERT -> hex digest of its SubjectPublicKeyInfo (DER)
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}
ca_digest=$(spki_sha256 "$LAB/pki/ca.crt")
n=0
while read -r owner certbase kind zone; do
    case $owner in ''|'#'*) continue ;; esac
    if [ "$kind" = mismatch ]; then
        digest=$ca_digest
    else
        digest=$(spki_sha256 "$LAB/pki/$certbase.crt")
    fi
    printf '%s. 60 IN TLSA 3 1 1 %s\n' "$owner" "$digest" >> "zones/$zone.zone"
    n=$((n + 1))
done < tlsa

while read -r zone; do
    [ -n "$zone" ] || continue
    rm -f K"$zone".+*
    key=$(ldns-keygen -a ECDSAP256SHA256 -k "$zone" 2>>"$LAB/logs/dnssec.log")
    # plain NSEC (no -n): the signed zone stays readable
    ldns-signzone -f "zones/$zone.zone.signed" "zones/$zone.zone" "$key" \
        2>>"$LAB/logs/dnssec.log" || lab_die "ldns-signzone $zone failed (see logs/dnssec.log)"
    cp "$key.ds" "$zone.ds"
    # break the signature of every bogus owner: new data, old RRSIG
    while read -r owner certbase kind z; do
        [ "$kind" = bogus ] && [ "$z" = "$zone" ] || continue
        awk -v o="$owner." '$1 == o && $4 == "TLSA" { $NF = (substr($NF, 1, 2) == "00" ? "ff" : "00") substr($NF, 3) } { print }' \
            "zones/$zone.zone.signed" > "zones/$zone.zone.signed.tmp"
        mv "zones/$zone.zone.signed.tmp" "zones/$zone.zone.signed"
    done < tlsa
    chmod 644 "zones/$zone.zone.signed" "$zone.ds"
done < signed
lab_log "dnssec: $n TLSA records, signed: $(tr '\n' ' ' < signed)"
