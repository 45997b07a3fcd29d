#!/bin/bash
# main-job.sh: the README's first quick-start command.  Sets everything up
# and runs the main job on what exists so far: mta-sts-ctl validating the
# sample TXT records and policies shipped in tests/data, as a domain owner
# or an operator would before relying on them.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}/default

"$top/tests/setup-deps.sh"
if [ ! -x "$build/milter/mta-sts-ctl" ] || [ "${REBUILD:-1}" = 1 ]; then
	(cd "$top" && autoreconf -fi) >/dev/null
	mkdir -p "$build"
	(cd "$build" && "$top/configure" -q && make -j"$(nproc)" >/dev/null)
fi
ctl="$build/milter/mta-sts-ctl"

echo
echo "== TXT records (RFC 8461 3.1)"
while IFS= read -r rec; do
	case "$rec" in ''|'#'*) continue ;; esac
	printf '%-48s -> ' "'$rec'"
	"$ctl" lint-txt "$rec" | tail -n 1 || true
done < "$top/tests/data/txt-records"

echo
echo "== Policy files (RFC 8461 3.2)"
for f in "$top"/tests/data/policies/*.txt; do
	printf '%-32s -> ' "$(basename "$f")"
	if out=$("$ctl" lint-policy "$f" 2>&1); then
		echo "$out" | sed -n 's/^mode: *//p' | head -n 1 | sed 's/^/valid, mode /'
	else
		echo "invalid: $(echo "$out" | grep -m 1 -i 'line\|error\|invalid' || echo "$out" | head -n 1)"
	fi
done

echo
echo "== MX pattern matching (RFC 8461 4.1)"
for pair in "mx1.example.com mx1.example.com" "*.example.com mx1.example.com" \
    "*.example.com a.b.example.com" "*.example.com example.com" \
    "MX1.Example.COM. mx1.example.com"; do
	set -- $pair
	printf '%-20s %-20s -> ' "$1" "$2"
	"$ctl" match-mx "$1" "$2" || true
done
