# tap.sh: TAP helpers of the shell tests (sourced, POSIX sh).
#	ok WHAT			one passed check
#	not_ok WHAT [DETAIL]	one failed check, DETAIL as a "#" line
#	expect WHAT WANT GOT	ok when GOT is WANT, else not_ok showing both
#	check WHAT FILE TEXT	ok when FILE holds the fixed string TEXT
# $n counts the checks, $fail the failed ones; a test ends with
#	echo "1..$n"; [ "$fail" -eq 0 ]
n=0
fail=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	fail=$((fail + 1))
	echo "not ok $n - $1"
	if [ $# -gt 1 ]; then
		printf '#   %s\n' "$2"
	fi
}
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got '$3', want '$2'"
	fi
}
check() {
	if grep -qF -- "$3" "$2"; then
		ok "$1"
	else
		not_ok "$1" "'$3' not in $2"
	fi
}
