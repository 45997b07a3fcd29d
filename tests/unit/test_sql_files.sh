#!/bin/sh
# test_sql_files.sh: the sql/ files work in the operator's tool, sqlite3(1):
# the migrations and schema.sql load with -bail, and queries.sql runs the
# way its header says (-readonly on a live WAL database, :domain set).
# test_store checks the same files through the library and compares the
# schemas; this adds the command line.  Exit 77 (skip) without sqlite3.
set -u

top=${top_srcdir:-.}
sql=$top/sql
if ! command -v sqlite3 >/dev/null 2>&1; then
	echo "1..0 # SKIP sqlite3 not found: install the Debian package sqlite3"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_sql_files.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		[ -s "$tmp/err" ] && sed 's/^/#   /' "$tmp/err"
	fi
}

last=0
for f in "$sql"/migrations/[0-9][0-9][0-9]-*.sql; do
	sqlite3 -bail "$tmp/m.db" <"$f" >/dev/null 2>"$tmp/err"
	result $? "sqlite3 applies ${f##*/}"
	last=$(printf '%s\n' "${f##*/}" | sed 's/^0*\([0-9][0-9]*\)-.*/\1/')
done
v=$(sqlite3 "$tmp/m.db" 'PRAGMA user_version' 2>"$tmp/err")
[ "$v" = "$last" ]
result $? "migrations leave user_version $last (got $v)"

sqlite3 -bail "$tmp/s.db" <"$sql/schema.sql" >/dev/null 2>"$tmp/err"
result $? "sqlite3 applies schema.sql"
v=$(sqlite3 "$tmp/s.db" 'PRAGMA user_version' 2>"$tmp/err")
[ "$v" = "$last" ]
result $? "schema.sql sets user_version $last (got $v)"

# A database as the daemon leaves it: WAL, a few rows.
sqlite3 -bail "$tmp/m.db" >/dev/null 2>"$tmp/err" <<'SQL'
PRAGMA journal_mode = WAL;
INSERT INTO policies (domain, policy_id, mode, max_age, mx, fetched_at,
    expires_at) VALUES ('example.com', 'a1', 'enforce', 86400,
    'mx.example.com', strftime('%s', 'now'), strftime('%s', 'now') + 86400);
INSERT INTO fetch_log (domain, at, policy_id, result_class, http_status)
    VALUES ('example.com', strftime('%s', 'now') - 60, 'a0', 'ok', 200),
    ('example.com', strftime('%s', 'now'), 'a1', 'ok', 200),
    ('bad.example', strftime('%s', 'now'), NULL, 'timeout', NULL);
SQL
result $? "seed a WAL database"

sqlite3 -readonly -bail -box -cmd '.parameter set :domain example.com' \
    "$tmp/m.db" <"$sql/queries.sql" >"$tmp/out" 2>"$tmp/err"
result $? "queries.sql runs read-only with :domain set"
grep -q 'a0' "$tmp/out" && grep -q 'timeout' "$tmp/out"
result $? "the output shows the id change and today's failure"
v=$(sqlite3 -readonly "$tmp/m.db" \
    "SELECT domain FROM enforced_domains WHERE domain='example.com'")
[ "$v" = example.com ]
result $? "enforced_domains answers table-sqlite's query"

# The routing query exactly as etc/mta-sts-sqlite.conf gives it to
# table-sqlite, its one parameter bound the way table-sqlite binds it.
q=$(sed -n 's/^query_domain[[:space:]]*//p' "$top/etc/mta-sts-sqlite.conf")
v=$(printf '.parameter init\n.parameter set ?1 EXAMPLE.com\n%s\n' "$q" |
    sqlite3 -readonly "$tmp/m.db" 2>"$tmp/err")
[ "$v" = example.com ]
result $? "the query_domain of etc/mta-sts-sqlite.conf finds the enforced domain (got '$v')"

echo "1..$n"
[ "$failed" -eq 0 ]
