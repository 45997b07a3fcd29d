#!/bin/bash
# test-lab-smoke.sh - check, with standard tools only (dig, curl, openssl s_client,
# unbound-host), that the lab serves every catalogue domain the way the catalogue
# says: TXT records, policy host address, HTTPS outcome (status, media type, size,
# certificate, timeouts), MX records, the three libunbound configs, id rotation,
# and that nothing listens outside loopback.  TAP output ("ok N - ..."), exit 1 on
# any failure.
#
# Brings the lab up first and down at the end, unless LAB_KEEP_UP=1 (then the lab
# must already be up and is left running).  Env: LAB, LAB_NETNS, LAB_KEEP_UP,
# SMOKE_HTTP_TIMEOUT (curl --max-time for the timeout cases, default 4).
set -u
. "$(dirname "$0")/lab-lib.sh"
lab_check_env
TO=${SMOKE_HTTP_TIMEOUT:-4}
n=0; fails=0
ok()     { n=$((n + 1)); echo "ok $n - $1"; }
notok()  { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -z "${2:-}" ] || echo "#   $2"; }
check()  { local d=$1 w=$2; shift 2; if "$@"; then ok "$d"; else notok "$d" "$w"; fi; }

T0=$(date +%s)
if [ "${LAB_KEEP_UP:-0}" = 1 ]; then
    lab_is_up || { echo "Bail out! LAB_KEEP_UP=1 but the lab is not up"; exit 1; }
else
    if ! "$LAB_SRC/lab-up.sh" > "${TMPDIR:-/tmp}/lab-smoke-up.$$" 2>&1; then
        sed 's/^/# /' "${TMPDIR:-/tmp}/lab-smoke-up.$$"; rm -f "${TMPDIR:-/tmp}/lab-smoke-up.$$"
        echo "Bail out! lab-up.sh failed"; exit 1
    fi
    sed 's/^/# /' "${TMPDIR:-/tmp}/lab-smoke-up.$$"; rm -f "${TMPDIR:-/tmp}/lab-smoke-up.$$"
fi
W=$(mktemp -d)
finish() {
    rm -rf "$W"
    if [ "${LAB_KEEP_UP:-0}" != 1 ]; then
        if "$LAB_SRC/lab-down.sh" > /dev/null 2>&1 && ! lab_netns_exists &&
           [ ! -e "/etc/netns/$LAB_NETNS" ]; then
            ok "lab-down.sh leaves no namespace, /etc/netns entry or lab process"
        else
            notok "lab-down.sh leaves no namespace, /etc/netns entry or lab process"
        fi
    fi
    echo "1..$n"
    echo "# $fails of $n failed, $(( $(date +%s) - T0 )) s"
    [ $fails = 0 ]
}
trap 'finish; exit $?' EXIT
trap 'exit 1' INT TERM
CA=$LAB/pki/ca.crt

# ---- helpers --------------------------------------------------------------------------
dig_status() { lab_ns dig +time=2 +tries=1 "$@" 2>/dev/null | sed -n 's/.*status: \([A-Z]*\).*/\1/p'; }
# sts_txt NAME: the STS TXT records (strings joined), one a line
sts_txt() { lab_ns dig +time=2 +tries=1 +short TXT "$1" 2>/dev/null |
            sed -n 's/^"\(.*\)"$/\1/p' | sed 's/" "//g' | grep '^v=STSv1' || true; }
valid_id() { echo "$1" | grep -Eq '^[A-Za-z0-9]{1,32}$'; }
txt_id() { echo "$1" | sed -n 's/.*id=\([^;]*\).*/\1/p'; }
# policy_check FILE -> prints "valid" or the reason (a small RFC 8461 §3.2 checker)
policy_check() {
    awk 'BEGIN { ok = 1 }
        { sub(/\r$/, "") }
        /^$/ && NR > 1 { next }
        !/^[A-Za-z0-9_-]+:[ \t]*[^ \t]/ { if (ok) why = "line " NR " is not key: value"; ok = 0; next }
        { k = $0; sub(/:.*/, "", k); v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v) }
        NR == 1 && !(k == "version" && v == "STSv1") { if (ok) why = "first line is not version: STSv1"; ok = 0 }
        k == "mode" { mode = v; nmode++ }
        k == "mx" { nmx++ }
        k == "max_age" { if (v !~ /^[0-9]+$/ || length(v) > 10) { if (ok) why = "bad max_age"; ok = 0 } nage++ }
        END {
            if (ok && !(mode == "enforce" || mode == "testing" || mode == "none")) { why = "bad or missing mode"; ok = 0 }
            if (ok && nage != 1) { why = "max_age missing"; ok = 0 }
            if (ok && mode != "none" && nmx < 1) { why = "no mx"; ok = 0 }
            print (ok ? "valid" : why) }' "$1"
}
# match PATTERN HOST (RFC 8461 §4.1)
match() { case $1 in "*."*) local s=${1#\*}; [ "${2%"$s"}" != "$2" ] && [ -n "${2%"$s"}" ] &&
                                  case ${2%"$s"} in *.*) false ;; *) true ;; esac ;;
                     *) [ "$1" = "$2" ] ;; esac; }
# curl_get HOST OUTBASE [extra curl args] -> sets rc code ctype size
curl_get() {
    local h=$1 out=$2; shift 2
    local res
    res=$(lab_ns curl -sS -o "$out.body" -D "$out.hdr" --cacert "$CA" --connect-timeout 3 \
          --max-time "$TO" --max-redirs 0 --proto =https \
          -w '%{http_code}|%{content_type}|%{size_download}' "$@" \
          "https://$h/.well-known/mta-sts.txt" 2>"$out.err")
    rc=$?
    code=${res%%|*}; res=${res#*|}; ctype=${res%%|*}; size=${res#*|}
}
verify_code() {   # HOSTIP NAME -> openssl verify result code
    echo | lab_ns timeout 5 openssl s_client -connect "$1:443" -servername "$2" -CAfile "$CA" \
        -verify_hostname "$2" 2>/dev/null | sed -n 's/.*Verify return code: \([0-9]*\).*/\1/p' | head -1
}

# ---- 1. the namespace itself ------------------------------------------------------------
links=$(ip -n "$LAB_NETNS" -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
check "namespace has only the loopback interface" "links: $links" [ "$links" = "lo " ]
routes=$(ip -n "$LAB_NETNS" route show; ip -n "$LAB_NETNS" route show table local | grep -v ' dev lo ')
check "namespace has no route off loopback" "routes: $routes" [ -z "$routes" ]
nonlo=$(ss -N "$LAB_NETNS" -Hlnut | awk '{print $5}' | grep -v '^127\.' || true)
check "every listener in the namespace is on 127.0.0.0/8" "$nonlo" [ -z "$nonlo" ]
hostside=$(ss -Hlnutp 2>/dev/null | grep -E "pid=($(awk '{print $2}' "$LAB/pids" | paste -sd'|')),") || true
check "no lab daemon listens in the host namespace" "$hostside" [ -z "$hostside" ]
check "resolv.conf inside points at the lab unbound" "" \
    sh -c "ip netns exec '$LAB_NETNS' cat /etc/resolv.conf | grep -qx 'nameserver 127.0.0.1'"

# ---- 2. every catalogue domain ------------------------------------------------------------
ndom=0
while read -r dom expect cls src mode ids txt host hostip http cert dns mx mxips pmx mxmatch certbase; do
    case $dom in ''|'#'*) continue ;; esac
    ndom=$((ndom + 1))
    id1=${ids%%,*}
    p="$dom:"
    # -- TXT
    if [ "$expect" = temporary ]; then
        if [ "$dns" = timeout ]; then
            # the first lookup hangs; once the lab unbound gave up on the silent
            # server it answers SERVFAIL for a while (infra cache): both are temporary
            out=$(lab_ns dig +time=2 +tries=1 TXT "_mta-sts.$dom" 2>&1); r=$?
            check "$p TXT lookup times out or SERVFAILs (dig rc $r)" "$(echo "$out" | tail -2)" \
                sh -c "[ $r = 9 ] || echo '$out' | grep -q 'status: SERVFAIL'"
        else
            s=$(dig_status TXT "_mta-sts.$dom")
            check "$p TXT lookup gives SERVFAIL" "status '$s'" [ "$s" = SERVFAIL ]
        fi
        continue
    fi
    recs=$(sts_txt "_mta-sts.$dom"); nrec=$(printf '%s' "$recs" | grep -c '^v=STSv1' || true)
    case $cls in
        no-txt)    check "$p no STS TXT record" "got: $recs" [ "$nrec" = 0 ] ;;
        multi-txt) check "$p two valid STS TXT records" "got: $recs" \
                       sh -c "[ $nrec -ge 2 ] && ! printf '%s\n' \"$recs\" | sed -n 's/.*id=\([^;]*\).*/\1/p' | grep -Evq '^[A-Za-z0-9]{1,32}$'" ;;
        bad-txt)   check "$p one STS TXT record with an invalid id" "got: $recs" \
                       sh -c "[ $nrec = 1 ] && ! echo \"$(txt_id "$recs")\" | grep -Eq '^[A-Za-z0-9]{1,32}$'" ;;
        *)         got=$(txt_id "$recs")
                   check "$p one valid STS TXT record, id $id1" "got: $recs" \
                       sh -c "[ $nrec = 1 ] && [ '$got' = '$id1' ]" ;;
    esac
    raw=$(lab_ns dig +time=2 +tries=1 +short TXT "_mta-sts.$dom" 2>/dev/null)
    case $txt in
        cname:*) check "$p _mta-sts is a CNAME to ${txt#cname:}" "$raw" \
                     sh -c "echo '$raw' | grep -qx '${txt#cname:}\.'" ;;
        split)   check "$p TXT is two character-strings" "$raw" sh -c "echo '$raw' | grep -q '\" \"'" ;;
        extra)   check "$p an unrelated TXT sits beside it" "$raw" sh -c "echo '$raw' | grep -q 'v=spf1'" ;;
    esac
    # -- policy host address
    pa=$(lab_ns dig +time=2 +tries=1 +short A "mta-sts.$dom" 2>/dev/null | grep -E '^[0-9.]+$' | tr '\n' ' ')
    if [ "$hostip" = - ]; then
        check "$p mta-sts.$dom has no address" "got: $pa" [ -z "$pa" ]
    else
        check "$p mta-sts.$dom -> $hostip" "got: $pa" [ "$pa" = "$hostip " ]
    fi
    case $host in cname:*)
        cn=$(lab_ns dig +time=2 +tries=1 +short A "mta-sts.$dom" 2>/dev/null | head -1)
        check "$p mta-sts.$dom is a CNAME to ${host#cname:}" "got: $cn" [ "$cn" = "${host#cname:}." ] ;;
    esac
    # -- HTTPS, by class
    o=$W/$dom
    curl_get "mta-sts.$dom" "$o"
    err=$(head -c 200 "$o.err" 2>/dev/null)
    case $cls in
        ok|no-txt|multi-txt|bad-txt)
            check "$p HTTPS 200 text/plain (rc $rc, $code, $ctype, $size bytes)" "$err" \
                sh -c "[ $rc = 0 ] && [ '$code' = 200 ] && case '$ctype' in text/plain|text/plain\;*) true;; *) false;; esac && [ $size -le 65536 ]"
            v=$(policy_check "$o.body")
            check "$p body is a valid policy" "$v" [ "$v" = valid ]
            bm=$(sed -n 's/^mode: *\([a-z]*\).*/\1/p' "$o.body" | head -1)
            if [ "$cls" = ok ]; then
                check "$p policy mode is '$expect'" "body mode '$bm'" [ "$bm" = "$expect" ]
            fi
            if [ "$src" = real ]; then
                check "$p body is byte-identical to tests/data/policies/real-$dom.txt" "" \
                    cmp -s "$o.body" "${LAB_POLICY_DIR:-$LAB_SRC/../data/policies}/real-$dom.txt"
            fi
            # MX hosts from DNS against the served patterns
            dmx=$(lab_ns dig +time=2 +tries=1 +short MX "$dom" 2>/dev/null | sort -n | awk '{sub(/\.$/, "", $2); print $2}')
            pats=$(sed -n 's/^mx: *\([^ \r]*\).*/\1/p' "$o.body")
            allm=yes
            for h in $dmx; do
                hm=no; for pt in $pats; do match "$pt" "$h" && hm=yes; done
                [ $hm = yes ] || allm=no
            done
            [ -n "$dmx" ] || allm=no
            check "$p MX hosts vs policy patterns: match=$mxmatch" "MX: $(echo $dmx) patterns: $(echo $pats)" [ "$allm" = "$mxmatch" ]
            ;;
        certificate)
            case $rc in 60|51) r=0 ;; *) r=1 ;; esac
            check "$p curl refuses the certificate (rc $rc)" "$err" [ $r = 0 ]
            curl_get "mta-sts.$dom" "$o.k" -k
            check "$p with -k the server would give 200 (only the certificate is wrong)" "rc $rc code $code" \
                sh -c "[ $rc = 0 ] && [ '$code' = 200 ]"
            vc=$(verify_code "$hostip" "mta-sts.$dom")
            case $cert in expired) want=10 ;; selfsigned) want=18 ;; wrongname) want=62 ;; *) want=0 ;; esac
            check "$p openssl verify code $want ($cert)" "got '$vc'" [ "$vc" = "$want" ]
            ;;
        http-status)
            check "$p HTTPS answers $http, not 2xx" "rc $rc code $code" sh -c "[ $rc = 0 ] && [ '$code' = '$http' ]"
            if [ "$http" = 301 ]; then
                check "$p redirect has a Location" "" grep -qi '^location: https://' "$o.hdr"
            fi ;;
        media-type)
            check "$p HTTPS 200 with a media type other than text/plain ($ctype)" "rc $rc code $code" \
                sh -c "[ $rc = 0 ] && [ '$code' = 200 ] && case '$ctype' in text/plain*) false;; *) true;; esac" ;;
        size)
            check "$p HTTPS 200 text/plain with more than 64 KiB ($size bytes)" "rc $rc code $code" \
                sh -c "[ $rc = 0 ] && [ '$code' = 200 ] && [ $size -gt 65536 ]"
            v=$(policy_check "$o.body")
            check "$p oversized body would otherwise be a valid policy" "$v" [ "$v" = valid ] ;;
        parse)
            check "$p HTTPS 200 text/plain" "rc $rc code $code $ctype" \
                sh -c "[ $rc = 0 ] && [ '$code' = 200 ] && case '$ctype' in text/plain*) true;; *) false;; esac"
            v=$(policy_check "$o.body")
            check "$p body is NOT a valid policy ($v)" "" [ "$v" != valid ] ;;
        timeout)
            check "$p HTTPS times out after ${TO}s (curl rc 28)" "rc $rc $err" [ $rc = 28 ] ;;
        connect)
            check "$p HTTPS connection refused (curl rc 7)" "rc $rc $err" [ $rc = 7 ] ;;
        dns)
            check "$p HTTPS host does not resolve (curl rc 6)" "rc $rc $err" [ $rc = 6 ] ;;
        *)  notok "$p no HTTPS check for class $cls" ;;
    esac
    # -- MX records and their addresses
    gm=$(lab_ns dig +time=2 +tries=1 +short MX "$dom" 2>/dev/null | sort -n | awk '{sub(/\.$/, "", $2); print $2}' | paste -sd,)
    ga=
    for h in $(echo "$gm" | tr ',' ' '); do
        ga="$ga,$(lab_ns dig +time=2 +tries=1 +short A "$h" 2>/dev/null | head -1)"
    done
    check "$p MX $mx -> $mxips" "got MX $gm A ${ga#,}" sh -c "[ '$gm' = '$mx' ] && [ '${ga#,}' = '$mxips' ]"
done < "$LAB/facts"
ncat=$(awk '!/^#/ && NF {c++} END {print c+0}' "$LAB_SRC/catalogue")
check "all $ncat catalogue domains are served ($ndom)" "skipped: $(cat "$LAB/skipped")" [ "$ndom" = "$ncat" ]

# ---- 3. the libunbound configs agree with the lab DNS ----------------------------------------
# (run inside the namespace; unbound-host uses libunbound like the engine)
uh() { lab_ns timeout "${UH_TO:-5}" unbound-host -C "$1" -t TXT "$2" 2>&1; }
uh_txt() { echo "$1" | sed -n 's/.* has TXT record //p' | sed 's/^"\(.*\)"$/\1/; s/" "//g' | grep '^v=STSv1' | sort; }
for conf in engine-unbound engine-authzone engine-localdata; do
    bad=
    while read -r dom expect cls src mode ids txt host hostip http cert dns rest; do
        case $dom in ''|'#'*) continue ;; esac
        if [ "$dns" = timeout ]; then
            out=$(UH_TO=3 uh "$LAB/$conf.conf" "_mta-sts.$dom"); r=$?
            [ $r = 124 ] || echo "$out" | grep -q SERVFAIL || bad="$bad $dom(rc=$r $out)"
            continue
        fi
        out=$(uh "$LAB/$conf.conf" "_mta-sts.$dom")
        if [ "$dns" = servfail ]; then
            echo "$out" | grep -q SERVFAIL || bad="$bad $dom($out)"; continue
        fi
        if [ "$conf" = engine-localdata ] && [ "${txt#cname:}" != "$txt" ]; then
            echo "$out" | grep -q 'is an alias for' || bad="$bad $dom"; continue   # local-data: no chase
        fi
        [ "$(uh_txt "$out")" = "$(sts_txt "_mta-sts.$dom" | sort)" ] || bad="$bad $dom"
    done < "$LAB/facts"
    check "$conf.conf (libunbound) gives the same _mta-sts answers as the lab DNS" "differ:$bad" [ -z "$bad" ]
done
out=$(lab_ns timeout 5 unbound-host -C "$LAB/engine-authzone.conf" -t A mta-sts.cname-host.sts-lab.test 2>&1)
check "engine-authzone.conf follows the policy-host CNAME" "$out" sh -c "echo '$out' | grep -q 'has address 127.0.2.1'"
t0=$(date +%s%N)
out=$(lab_ns timeout 5 unbound-host -C "$LAB/engine-localdata.conf" -t TXT _mta-sts.servfail.sts-lab.test 2>&1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "engine-localdata.conf: servfail domain gives SERVFAIL at once (${ms} ms)" "$out" [ $ms -lt 2000 ]
out=$(lab_ns timeout 5 unbound-host -C "$LAB/engine-localdata.conf" -t A example.org 2>&1)
check "engine-localdata.conf: names outside the lab are NXDOMAIN locally" "$out" sh -c "echo '$out' | grep -q NXDOMAIN"

# ---- 4. id rotation ----------------------------------------------------------------------------
R=rotate.sts-lab.test
if grep -q "^$R " "$LAB/facts"; then
    b0=$W/rot0; curl_get "mta-sts.$R" "$b0"
    "$LAB_SRC/lab-set-txt-id.sh" $R rot2 >/dev/null 2>"$W/rot.err"
    check "lab-set-txt-id.sh $R rot2 succeeds" "$(cat "$W/rot.err")" [ $? = 0 ]
    check "$R: TXT id is now rot2" "" sh -c "[ '$(txt_id "$(sts_txt _mta-sts.$R)")' = rot2 ]"
    curl_get "mta-sts.$R" "$W/rot2"
    check "$R: policy for rot2 is mode testing" "" grep -q '^mode: testing' "$W/rot2.body"
    "$LAB_SRC/lab-set-txt-id.sh" $R rot3 >/dev/null 2>"$W/rot.err"
    curl_get "mta-sts.$R" "$W/rot3"
    check "$R: rot3 (no prepared body) serves a different body" "" \
        sh -c "[ '$(txt_id "$(sts_txt _mta-sts.$R)")' = rot3 ] && ! cmp -s '$W/rot2.body' '$W/rot3.body'"
    "$LAB_SRC/lab-set-txt-id.sh" $R rot1 >/dev/null 2>"$W/rot.err"
    curl_get "mta-sts.$R" "$W/rot1"
    check "$R: back to rot1, original body" "" \
        sh -c "[ '$(txt_id "$(sts_txt _mta-sts.$R)")' = rot1 ] && cmp -s '$b0.body' '$W/rot1.body'"
fi

# ---- 5. the lab is still whole ---------------------------------------------------------------
check "every lab process still runs" "" lab_is_up
