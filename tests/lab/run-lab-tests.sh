#!/bin/bash
# run-lab-tests.sh BUILDDIR: every test that needs the loopback lab (a
# network namespace with real DNS and HTTPS policy hosts).  Each test
# brings the lab up and down itself; this runs them in turn and fails when
# any fails or cannot run.  Needs root (ip netns, port 53 and 443 inside).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run-lab-tests.sh BUILDDIR}
export MTASTS_BUILD=$build top_builddir=$build
rc=0

for t in test-lab-smoke.sh test-ctl-check.sh test-e2e-mta.sh test-e2e-opensmtpd.sh \
    test-probe-dane.sh; do
	[ -e "$here/$t" ] || continue
	echo "--- $t"
	if ! bash "$here/$t" "$build"; then
		echo "FAILED: $t"
		rc=1
	fi
done
exit $rc
