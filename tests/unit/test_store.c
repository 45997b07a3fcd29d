/*
 * test_store.c: the SQLite policy store, against real database files in a
 * private temporary directory: migrations and WAL, every read and write
 * call, the views OpenSMTPD and operators use, and the bad days (corrupt
 * file, newer schema, missing directory, a lock held by someone else).
 * Also checks that the migrations compiled into the store match
 * sql/migrations/, that sql/schema.sql builds the same schema, and that
 * every query in sql/queries.sql runs.
 *
 * Needs top_srcdir in the environment (make check sets it) to find sql/.
 */
#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "policy.h"
#include "status.h"
#include "store.h"
#include "store_schema.h"

static char tmpdir[] = "/tmp/test_store.XXXXXX";

/* tmpdir/name in a static buffer (one live result per slot). */
static const char *
tpath(int slot, const char *name)
{
	static char	buf[4][512];

	(void)snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", tmpdir, name);
	return buf[slot];
}

/* Read a whole file; caller frees.  NULL when it cannot be read. */
static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*p = NULL;
	long	 n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) != NULL) {
		if (fread(p, 1, (size_t)n, fp) != (size_t)n) {
			free(p);
			p = NULL;
		} else
			p[n] = '\0';
	}
	if (fclose(fp) != 0) {
		free(p);
		p = NULL;
	}
	return p;
}

static const char *
srcfile(const char *rel)
{
	static char	 buf[1024];
	const char	*top = getenv("top_srcdir");

	(void)snprintf(buf, sizeof(buf), "%s/%s", top ? top : ".", rel);
	return buf;
}

static sqlite3 *
raw_open(const char *path)
{
	sqlite3	*db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		printf("# raw open %s: %s\n", path, sqlite3_errmsg(db));
		(void)sqlite3_close(db);
		return NULL;
	}
	return db;
}

static void
raw_close(sqlite3 *db)
{
	if (sqlite3_close(db) != SQLITE_OK)
		printf("# raw close: %s\n", sqlite3_errmsg(db));
}

static int
raw_exec(sqlite3 *db, const char *sql)
{
	char	*msg = NULL;
	int	 rc;

	if ((rc = sqlite3_exec(db, sql, NULL, NULL, &msg)) != SQLITE_OK)
		printf("# exec \"%.60s\": %s\n", sql, msg ? msg : "?");
	sqlite3_free(msg);
	return rc;
}

/* First column of the first row as text into buf ("" if none); rc. */
static int
raw_text(sqlite3 *db, const char *sql, const char *arg, char *buf,
    size_t size)
{
	sqlite3_stmt		*st;
	const unsigned char	*t;
	int			 rc;

	buf[0] = '\0';
	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	if (arg != NULL &&
	    (rc = sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC)) !=
	    SQLITE_OK) {
		(void)sqlite3_finalize(st);
		return rc;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((t = sqlite3_column_text(st, 0)) != NULL)
			(void)snprintf(buf, size, "%s", (const char *)t);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	if (sqlite3_finalize(st) != SQLITE_OK && rc == SQLITE_OK)
		rc = sqlite3_errcode(db);
	return rc;
}

static long
raw_long(sqlite3 *db, const char *sql)
{
	char	buf[64];

	if (raw_text(db, sql, NULL, buf, sizeof(buf)) != SQLITE_OK)
		return -1;
	return strtol(buf, NULL, 10);
}

static struct mtasts_store *
open_ok(const char *path, int readonly)
{
	struct mtasts_diag	 diag;
	struct mtasts_store	*s;

	mtasts_diag_init(&diag);
	if ((s = mtasts_store_open(path, readonly, &diag)) == NULL)
		printf("# open %s: %s\n", path, mtasts_diag_first(&diag));
	return s;
}

/* Open that must fail; 1 when its message contains want. */
static int
open_fails(const char *path, int readonly, const char *want)
{
	struct mtasts_diag	 diag;
	struct mtasts_store	*s;
	const char		*msg;

	mtasts_diag_init(&diag);
	if ((s = mtasts_store_open(path, readonly, &diag)) != NULL) {
		mtasts_store_close(s);
		printf("# open %s succeeded\n", path);
		return 0;
	}
	msg = mtasts_diag_first(&diag);
	printf("# open %s: %s\n", path, msg);
	return strstr(msg, want) != NULL;
}

static void
fill(struct mtasts_stored_policy *p, const char *domain, int mode,
    time_t fetched, long max_age)
{
	memset(p, 0, sizeof(*p));
	(void)snprintf(p->domain, sizeof(p->domain), "%s", domain);
	(void)snprintf(p->policy_id, sizeof(p->policy_id), "id%ld",
	    (long)fetched);
	p->mode = mode;
	p->max_age = max_age;
	p->fetched_at = fetched;
	p->mx = (char *)"mx1.example.net\n*.example.org";
	p->policy_text = (char *)"version: STSv1\nmode: enforce\n";
}

/* ---------------------------------------------------------------- sources */

/* Line number of the first difference between a and b. */
static int
first_diff_line(const char *a, const char *b)
{
	int	line = 1;

	for (; *a != '\0' && *a == *b; a++, b++)
		if (*a == '\n')
			line++;
	return line;
}

static void
test_embedded_migrations(void)
{
	const struct mtasts_store_migration	*m;
	char					 rel[256], *text;
	size_t					 i;

	CHECK(mtasts_store_nmigrations > 0 &&
	    mtasts_store_migrations[mtasts_store_nmigrations - 1].version ==
	    MTASTS_STORE_SCHEMA_VERSION,
	    "last migration reaches MTASTS_STORE_SCHEMA_VERSION");
	for (i = 0; i < mtasts_store_nmigrations; i++) {
		m = &mtasts_store_migrations[i];
		CHECK(m->version == (int)i + 1, "migration %s is number %zu",
		    m->file, i + 1);
		(void)snprintf(rel, sizeof(rel), "sql/migrations/%s", m->file);
		text = slurp(srcfile(rel));
		CHECK(text != NULL, "read %s", srcfile(rel));
		if (text == NULL)
			continue;
		CHECK(strcmp(text, m->sql) == 0, "%s matches the compiled-in "
		    "text", m->file);
		if (strcmp(text, m->sql) != 0)
			printf("#   differs from line %d: run "
			    "'sh sql/sql2c.sh > common/store_schema.c'\n",
			    first_diff_line(text, m->sql));
		free(text);
	}
}

/* ---------------------------------------------------------------- basics */

static void
test_open_fresh(void)
{
	struct mtasts_store	*s;
	struct stat		 sb;
	sqlite3			*db;
	char			 mode[32];
	const char		*path = tpath(0, "fresh.db");

	s = open_ok(path, 0);
	CHECK(s != NULL, "open creates a new database");
	CHECK_STREQ(mtasts_store_errmsg(s), "", "no error after open");
	mtasts_store_close(s);
	CHECK(stat(tpath(1, "fresh.db-wal"), &sb) == 0 &&
	    stat(tpath(1, "fresh.db-shm"), &sb) == 0,
	    "-wal and -shm stay after close, for read-only readers");
	mtasts_store_close(NULL);
	CHECK(1, "close(NULL) is harmless");

	if ((db = raw_open(path)) == NULL)
		return;
	CHECK(raw_long(db, "PRAGMA user_version") ==
	    MTASTS_STORE_SCHEMA_VERSION, "migrations set user_version");
	CHECK(raw_text(db, "PRAGMA journal_mode", NULL, mode, sizeof(mode)) ==
	    SQLITE_OK && strcmp(mode, "wal") == 0, "database is in WAL mode");
	CHECK(raw_long(db, "SELECT count(*) FROM sqlite_master WHERE name IN "
	    "('policies', 'negative', 'fetch_log', 'enforced_domains', "
	    "'policy_status', 'failures_today')") == 6,
	    "tables and views exist");
	raw_close(db);

	s = open_ok(path, 0);
	CHECK(s != NULL, "reopening a current database works");
	mtasts_store_close(s);
}

static void
test_policy_roundtrip(void)
{
	struct mtasts_stored_policy	 p, g;
	struct mtasts_store		*s;
	enum mtasts_status		 st;

	if ((s = open_ok(tpath(0, "policy.db"), 0)) == NULL)
		return;
	fill(&p, "example.com", MTASTS_MODE_ENFORCE, 1000, 86400);
	CHECK(mtasts_store_put_policy(s, &p) == MTASTS_OK, "put policy");
	st = mtasts_store_get_policy(s, "example.com", &g);
	CHECK(st == MTASTS_OK, "get policy");
	CHECK_STREQ(g.domain, "example.com", "domain round-trips");
	CHECK_STREQ(g.policy_id, "id1000", "policy_id round-trips");
	CHECK(g.mode == MTASTS_MODE_ENFORCE, "mode round-trips");
	CHECK(g.max_age == 86400, "max_age round-trips");
	CHECK_STREQ(g.mx, "mx1.example.net\n*.example.org", "mx round-trips");
	CHECK_STREQ(g.policy_text, p.policy_text, "policy text round-trips");
	CHECK(g.fetched_at == 1000, "fetched_at round-trips");
	CHECK(g.expires_at == 1000 + 86400, "expires_at 0 means "
	    "fetched_at + max_age");
	CHECK(g.txt_checked_at == 0 && g.last_error_at == 0 &&
	    g.next_retry_at == 0, "unset times read back as 0");
	CHECK_STREQ(g.last_error, "", "unset last_error reads back empty");
	CHECK_STREQ(g.last_error_class, "", "unset class reads back empty");
	mtasts_stored_policy_clear(&g);
	CHECK(g.mx == NULL && g.policy_text == NULL && g.domain[0] == '\0',
	    "clear frees and zeroes");
	mtasts_stored_policy_clear(NULL);

	/* A new policy replaces the old one (STS-61: none under a new id). */
	fill(&p, "example.com", MTASTS_MODE_NONE, 5000, 600);
	p.expires_at = 5300;		/* a local cap below max_age */
	p.mx = NULL;
	p.policy_text = NULL;
	CHECK(mtasts_store_put_policy(s, &p) == MTASTS_OK, "update policy");
	CHECK(mtasts_store_get_policy(s, "example.com", &g) == MTASTS_OK &&
	    g.mode == MTASTS_MODE_NONE && strcmp(g.policy_id, "id5000") == 0 &&
	    g.expires_at == 5300 && g.max_age == 600,
	    "update replaced mode, id and times");
	CHECK(g.mx != NULL && g.mx[0] == '\0' && g.policy_text != NULL &&
	    g.policy_text[0] == '\0', "NULL mx and text read back as \"\"");
	mtasts_stored_policy_clear(&g);

	CHECK(mtasts_store_touch_txt(s, "example.com", 6000) == MTASTS_OK &&
	    mtasts_store_set_policy_error(s, "example.com", "timeout",
	    "no answer in 60 s", 6100, 6400) == MTASTS_OK,
	    "touch_txt and set_policy_error");
	CHECK(mtasts_store_get_policy(s, "example.com", &g) == MTASTS_OK &&
	    g.txt_checked_at == 6000 && g.last_error_at == 6100 &&
	    g.next_retry_at == 6400 && strcmp(g.last_error_class,
	    "timeout") == 0 && strcmp(g.last_error, "no answer in 60 s") == 0,
	    "error columns written");
	CHECK(g.mode == MTASTS_MODE_NONE && g.fetched_at == 5000 &&
	    g.expires_at == 5300, "a failed refresh keeps the policy (STS-36)");
	mtasts_stored_policy_clear(&g);

	CHECK(mtasts_store_get_policy(s, "absent.example", &g) ==
	    MTASTS_NOPOLICY && g.mx == NULL, "absent domain: NOPOLICY");
	CHECK(mtasts_store_touch_txt(s, "absent.example", 1) ==
	    MTASTS_NOPOLICY, "touch_txt on an absent domain: NOPOLICY");
	CHECK(mtasts_store_set_policy_error(s, "absent.example", "dns", "x",
	    1, 2) == MTASTS_NOPOLICY, "set_policy_error absent: NOPOLICY");

	fill(&p, "Upper.Example", MTASTS_MODE_ENFORCE, 1, 10);
	CHECK(mtasts_store_put_policy(s, &p) == MTASTS_INVALID,
	    "upper-case domain refused: INVALID");
	printf("#   %s\n", mtasts_store_errmsg(s));
	fill(&p, "ok.example", 7, 1, 10);
	CHECK(mtasts_store_put_policy(s, &p) == MTASTS_INVALID,
	    "mode out of range refused");
	fill(&p, "ok.example", MTASTS_MODE_TESTING, 100, 10);
	p.expires_at = 200;
	CHECK(mtasts_store_put_policy(s, &p) == MTASTS_INVALID,
	    "expires_at beyond fetched_at + max_age refused (STS-19)");
	fill(&p, "", MTASTS_MODE_TESTING, 100, 10);
	CHECK(mtasts_store_put_policy(s, &p) == MTASTS_INVALID,
	    "empty domain refused");
	CHECK(mtasts_store_get_policy(s, "ok.example", &g) == MTASTS_NOPOLICY,
	    "refused puts left nothing behind");
	mtasts_store_close(s);
}

static void
test_negative(void)
{
	struct mtasts_stored_negative	 n;
	struct mtasts_stored_policy	 p;
	struct mtasts_store		*s;

	if ((s = open_ok(tpath(0, "negative.db"), 0)) == NULL)
		return;
	CHECK(mtasts_store_put_negative(s, "neg.example", "http-status",
	    "HTTP 404", "20240101", 1000, 1300) == MTASTS_OK, "put negative");
	CHECK(mtasts_store_get_negative(s, "neg.example", 1100, &n) ==
	    MTASTS_OK, "get negative before expiry");
	CHECK_STREQ(n.reason_class, "http-status", "class round-trips");
	CHECK_STREQ(n.detail, "HTTP 404", "detail round-trips");
	CHECK_STREQ(n.policy_id, "20240101", "policy id round-trips (STS-33)");
	CHECK(n.created_at == 1000 && n.expires_at == 1300, "times");
	CHECK(mtasts_store_get_negative(s, "neg.example", 1300, &n) ==
	    MTASTS_NOPOLICY, "expired negative reads as absent");
	CHECK(mtasts_store_put_negative(s, "notxt.example", "no-txt", NULL,
	    NULL, 1000, 5000) == MTASTS_OK &&
	    mtasts_store_get_negative(s, "notxt.example", 1000, &n) ==
	    MTASTS_OK && n.policy_id[0] == '\0' && n.detail[0] == '\0',
	    "NULL policy id and detail");
	CHECK(mtasts_store_put_negative(s, "bad.example", NULL, NULL, NULL,
	    1, 2) == MTASTS_INVALID, "negative without a class refused");

	CHECK(mtasts_store_prune(s, 1400, 86400) == MTASTS_OK, "prune");
	CHECK(mtasts_store_get_negative(s, "neg.example", 0, &n) ==
	    MTASTS_NOPOLICY && mtasts_store_get_negative(s, "notxt.example",
	    0, &n) == MTASTS_OK, "prune removed only the expired negative");

	fill(&p, "notxt.example", MTASTS_MODE_TESTING, 2000, 3600);
	CHECK(mtasts_store_put_policy(s, &p) == MTASTS_OK &&
	    mtasts_store_get_negative(s, "notxt.example", 0, &n) ==
	    MTASTS_NOPOLICY, "put_policy deletes the domain's negative row");

	CHECK(mtasts_store_put_negative(s, "notxt.example", "dns", NULL, NULL,
	    2000, 2300) == MTASTS_OK, "negative beside a policy");
	CHECK(mtasts_store_forget(s, "notxt.example") == MTASTS_OK,
	    "forget");
	CHECK(mtasts_store_get_negative(s, "notxt.example", 0, &n) ==
	    MTASTS_NOPOLICY && mtasts_store_get_policy(s, "notxt.example",
	    &p) == MTASTS_NOPOLICY, "forget cleared both tables");
	CHECK(mtasts_store_forget(s, "notxt.example") == MTASTS_NOPOLICY,
	    "forget again: NOPOLICY");
	mtasts_store_close(s);
}

/* ---------------------------------------------------------------- lists */

struct collect {
	char	names[512];
	int	rows;
	int	stop_after;
};

static int
collect_policy(void *arg, const struct mtasts_stored_policy *p)
{
	struct collect	*c = arg;
	size_t		 len = strlen(c->names);

	(void)snprintf(c->names + len, sizeof(c->names) - len, "%s%s",
	    len ? " " : "", p->domain);
	return ++c->rows == c->stop_after;
}

static int
collect_negative(void *arg, const struct mtasts_stored_negative *n)
{
	struct collect	*c = arg;
	size_t		 len = strlen(c->names);

	(void)snprintf(c->names + len, sizeof(c->names) - len, "%s%s",
	    len ? " " : "", n->domain);
	return ++c->rows == c->stop_after;
}

/* Policy ids of fetch_log rows in the order given, and the last row. */
static int
collect_fetch(void *arg, const struct mtasts_stored_fetch *f)
{
	struct collect	*c = arg;
	size_t		 len = strlen(c->names);

	(void)snprintf(c->names + len, sizeof(c->names) - len, "%s%s:%s:%d:%s",
	    len ? " " : "", f->policy_id[0] ? f->policy_id : "-",
	    f->result_class, f->http_status, f->detail);
	return ++c->rows == c->stop_after;
}

static void
put(struct mtasts_store *s, const char *domain, int mode, time_t fetched,
    long max_age, time_t checked, time_t retry)
{
	struct mtasts_stored_policy	p;

	fill(&p, domain, mode, fetched, max_age);
	p.txt_checked_at = checked;
	p.next_retry_at = retry;
	if (mtasts_store_put_policy(s, &p) != MTASTS_OK)
		printf("# put %s: %s\n", domain, mtasts_store_errmsg(s));
}

static void
test_lists(void)
{
	struct mtasts_store_stats	 stats;
	struct mtasts_store		*s;
	struct collect			 c;
	const time_t			 now = 1700000000;
	const long			 day = 86400;

	if ((s = open_ok(tpath(0, "lists.db"), 0)) == NULL)
		return;
	/* soon: expires within the horizon. */
	put(s, "soon.example", MTASTS_MODE_ENFORCE, now - 9 * day,
	    10 * day - 3600, now - 60, 0);
	/* fresh: far from expiry, checked a minute ago. */
	put(s, "fresh.example", MTASTS_MODE_ENFORCE, now - day, 30 * day,
	    now - 60, 0);
	/* stale: far from expiry, TXT not checked for two days. */
	put(s, "stale.example", MTASTS_MODE_TESTING, now - 2 * day, 30 * day,
	    0, 0);
	/* held: would be due, but a failed fetch set a retry time ahead. */
	put(s, "held.example", MTASTS_MODE_ENFORCE, now - 9 * day,
	    10 * day - 3600, now - 60, now + 300);
	/* retry: far from expiry, a failed refresh whose time has come. */
	put(s, "retry.example", MTASTS_MODE_NONE, now - day, 40 * day,
	    now - 60, now - 1);
	/* gone: expired a week ago. */
	put(s, "gone.example", MTASTS_MODE_ENFORCE, now - 30 * day, 23 * day,
	    now - 8 * day, 0);

	memset(&c, 0, sizeof(c));
	CHECK(mtasts_store_list_due(s, now, day, collect_policy, &c) ==
	    MTASTS_OK, "list_due");
	CHECK_STREQ(c.names, "gone.example soon.example stale.example "
	    "retry.example", "due: expired, soon, unchecked, retry; "
	    "soonest first (STS-37, STS-33)");

	memset(&c, 0, sizeof(c));
	CHECK(mtasts_store_foreach_policy(s, collect_policy, &c) ==
	    MTASTS_OK && c.rows == 6, "foreach visits every policy");
	CHECK_STREQ(c.names, "fresh.example gone.example held.example "
	    "retry.example soon.example stale.example", "ordered by domain");
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	CHECK(mtasts_store_foreach_policy(s, collect_policy, &c) ==
	    MTASTS_OK && c.rows == 2, "a non-zero callback stops foreach");
	memset(&c, 0, sizeof(c));
	CHECK(mtasts_store_foreach_policy(s, collect_policy, &c) ==
	    MTASTS_OK && c.rows == 6, "foreach works again after a stop");

	CHECK(mtasts_store_put_negative(s, "n1.example", "no-txt", NULL, NULL,
	    now - 10, now + 10) == MTASTS_OK &&
	    mtasts_store_put_negative(s, "n0.example", "dns", NULL, NULL,
	    now - 100, now - 10) == MTASTS_OK, "two negatives");
	memset(&c, 0, sizeof(c));
	CHECK(mtasts_store_foreach_negative(s, collect_negative, &c) ==
	    MTASTS_OK, "foreach_negative");
	CHECK_STREQ(c.names, "n0.example n1.example", "every negative row");

	CHECK(mtasts_store_log_fetch(s, "soon.example", now - 2 * day, "a",
	    "ok", 200, NULL) == MTASTS_OK &&
	    mtasts_store_log_fetch(s, "soon.example", now - 3600, "b", "ok",
	    200, NULL) == MTASTS_OK &&
	    mtasts_store_log_fetch(s, "held.example", now - 60, "c",
	    "http-status", 503, "HTTP 503") == MTASTS_OK &&
	    mtasts_store_log_fetch(s, "x.example", now - 30, NULL, "no-txt", 0,
	    NULL) == MTASTS_OK, "log_fetch");
	memset(&c, 0, sizeof(c));
	CHECK(mtasts_store_foreach_fetch(s, "soon.example", 10, collect_fetch,
	    &c) == MTASTS_OK && c.rows == 2,
	    "foreach_fetch: the domain's rows");
	CHECK_STREQ(c.names, "b:ok:200: a:ok:200:", "foreach_fetch: newest "
	    "first");
	memset(&c, 0, sizeof(c));
	CHECK(mtasts_store_foreach_fetch(s, "soon.example", 1, collect_fetch,
	    &c) == MTASTS_OK && strcmp(c.names, "b:ok:200:") == 0,
	    "foreach_fetch: limit");
	memset(&c, 0, sizeof(c));
	CHECK(mtasts_store_foreach_fetch(s, "held.example", 0, collect_fetch,
	    &c) == MTASTS_OK && strcmp(c.names, "c:http-status:503:HTTP 503") ==
	    0, "foreach_fetch: every column; limit 0 is all");
	memset(&c, 0, sizeof(c));
	CHECK(mtasts_store_foreach_fetch(s, "x.example", -1, collect_fetch,
	    &c) == MTASTS_OK && strcmp(c.names, "-:no-txt:0:") == 0,
	    "foreach_fetch: NULL columns read as empty");
	memset(&c, 0, sizeof(c));
	CHECK(mtasts_store_foreach_fetch(s, "none.example", 10, collect_fetch,
	    &c) == MTASTS_OK && c.rows == 0, "foreach_fetch: unknown domain");
	CHECK(mtasts_store_stats(s, now, &stats) == MTASTS_OK, "stats");
	CHECK(stats.by_mode[MTASTS_MODE_ENFORCE] == 3 &&
	    stats.by_mode[MTASTS_MODE_TESTING] == 1 &&
	    stats.by_mode[MTASTS_MODE_NONE] == 1 && stats.expired == 1,
	    "stats: per mode and expired");
	CHECK(stats.negatives == 1, "stats: unexpired negatives");
	CHECK(stats.fetches_24h == 3 && stats.failures_24h == 2,
	    "stats: fetches and failures in 24 h");

	/* Keep one day: the two-day-old log row and "gone" go. */
	CHECK(mtasts_store_prune(s, now, day) == MTASTS_OK, "prune a day");
	CHECK(mtasts_store_stats(s, now, &stats) == MTASTS_OK &&
	    stats.expired == 0 && stats.negatives == 1, "prune removed the "
	    "long-expired policy and the expired negative");
	memset(&c, 0, sizeof(c));
	CHECK(mtasts_store_foreach_negative(s, collect_negative, &c) ==
	    MTASTS_OK && strcmp(c.names, "n1.example") == 0,
	    "only the live negative is left");
	mtasts_store_close(s);

	s = open_ok(tpath(0, "lists.db"), 1);
	CHECK(s != NULL, "read-only open of a live database");
	if (s == NULL)
		return;
	CHECK(mtasts_store_stats(s, now, &stats) == MTASTS_OK &&
	    stats.fetches_24h == 3, "prune kept the last day of fetch_log");
	mtasts_store_close(s);
}

/* ---------------------------------------------------------------- views */

static void
test_enforced_view(void)
{
	struct mtasts_store	*s;
	sqlite3			*db;
	char			 got[256] = { 0 };
	const char		*q = "SELECT domain FROM enforced_domains "
				    "WHERE domain=?";
	time_t			 now = time(NULL);

	if ((s = open_ok(tpath(0, "view.db"), 0)) == NULL)
		return;
	put(s, "enforced.example", MTASTS_MODE_ENFORCE, now - 60, 86400, 0, 0);
	put(s, "expired.example", MTASTS_MODE_ENFORCE, now - 7200, 3600, 0, 0);
	put(s, "testing.example", MTASTS_MODE_TESTING, now - 60, 86400, 0, 0);
	put(s, "none.example", MTASTS_MODE_NONE, now - 60, 86400, 0, 0);
	mtasts_store_close(s);

	/* Read it the way OpenSMTPD's table-sqlite does. */
	if ((db = raw_open(tpath(0, "view.db"))) == NULL)
		return;
	CHECK(raw_text(db, q, "enforced.example", got, sizeof(got)) ==
	    SQLITE_OK && strcmp(got, "enforced.example") == 0,
	    "enforced_domains has the unexpired enforce domain");
	CHECK(raw_text(db, q, "expired.example", got, sizeof(got)) ==
	    SQLITE_OK && got[0] == '\0', "... not the expired one");
	CHECK(raw_text(db, q, "testing.example", got, sizeof(got)) ==
	    SQLITE_OK && got[0] == '\0', "... not the testing one");
	CHECK(raw_text(db, "SELECT group_concat(domain, ' ') FROM "
	    "enforced_domains", NULL, got, sizeof(got)) == SQLITE_OK &&
	    strcmp(got, "enforced.example") == 0, "exactly one row");
	CHECK(raw_text(db, "SELECT state || ' ' || seconds_left FROM "
	    "policy_status WHERE domain = ?", "expired.example", got,
	    sizeof(got)) == SQLITE_OK && strncmp(got, "expired -", 9) == 0,
	    "policy_status shows the expired policy");
	CHECK(raw_text(db, "SELECT expires FROM policy_status WHERE "
	    "domain = ?", "none.example", got, sizeof(got)) == SQLITE_OK &&
	    strlen(got) == 20 && got[10] == 'T' && got[19] == 'Z',
	    "policy_status times are ISO 8601 UTC");
	raw_close(db);
}

/* ---------------------------------------------------------------- files */

static void
test_persistence_readonly(void)
{
	struct mtasts_stored_policy	 p;
	struct mtasts_store		*s;
	const char			*path = tpath(0, "persist.db");

	if ((s = open_ok(path, 0)) == NULL)
		return;
	put(s, "kept.example", MTASTS_MODE_TESTING, 1000, 600, 0, 0);
	mtasts_store_close(s);

	if ((s = open_ok(path, 0)) == NULL)
		return;
	CHECK(mtasts_store_get_policy(s, "kept.example", &p) == MTASTS_OK &&
	    p.mode == MTASTS_MODE_TESTING, "policy survives close and reopen");
	mtasts_stored_policy_clear(&p);
	mtasts_store_close(s);

	if ((s = open_ok(path, 1)) == NULL)
		return;
	CHECK(mtasts_store_get_policy(s, "kept.example", &p) == MTASTS_OK,
	    "read-only handle reads");
	mtasts_stored_policy_clear(&p);
	fill(&p, "new.example", MTASTS_MODE_TESTING, 1, 10);
	CHECK(mtasts_store_put_policy(s, &p) == MTASTS_INTERNAL &&
	    strstr(mtasts_store_errmsg(s), "read-only") != NULL,
	    "read-only handle cannot write");
	CHECK(mtasts_store_log_fetch(s, "x.example", 1, NULL, "ok", 200,
	    NULL) != MTASTS_OK && mtasts_store_prune(s, 1, 1) != MTASTS_OK,
	    "nor log or prune");
	mtasts_store_close(s);
}

static void
test_bad_files(void)
{
	sqlite3		*db;
	FILE		*fp;
	struct stat	 sb;
	unsigned char	 junk[8192];
	size_t		 i;
	const char	*garbage = tpath(0, "garbage.db");

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	if ((fp = fopen(garbage, "wb")) != NULL) {
		CHECK(fwrite(junk, 1, sizeof(junk), fp) == sizeof(junk) &&
		    fclose(fp) == 0, "wrote a file of garbage");
	}
	CHECK(open_fails(garbage, 0, "not a database"),
	    "garbage file: open fails with \"not a database\"");
	CHECK(open_fails(garbage, 1, "not a database"),
	    "garbage file, read-only: the same");
	CHECK(stat(garbage, &sb) == 0 && sb.st_size == (off_t)sizeof(junk),
	    "the garbage file is left as it was");

	if ((db = raw_open(tpath(0, "future.db"))) != NULL) {
		CHECK(raw_exec(db, "CREATE TABLE policies (domain TEXT); "
		    "PRAGMA user_version = 999") == SQLITE_OK, "a future db");
		raw_close(db);
	}
	CHECK(open_fails(tpath(0, "future.db"), 0, "newer"),
	    "user_version 999 is refused");
	CHECK(open_fails(tpath(0, "future.db"), 1, "newer"),
	    "user_version 999 is refused read-only too");

	if ((db = raw_open(tpath(0, "foreign.db"))) != NULL) {
		CHECK(raw_exec(db, "CREATE TABLE t (x)") == SQLITE_OK,
		    "a foreign db");
		raw_close(db);
	}
	CHECK(open_fails(tpath(0, "foreign.db"), 0, "not an mta-sts-milter"),
	    "a database of someone else's is refused");

	CHECK(open_fails(tpath(0, "no/such/dir/x.db"), 0, "does not exist"),
	    "missing directory named");
	CHECK(open_fails(tpath(0, "absent.db"), 1, "no such database"),
	    "read-only open of a missing file");
	CHECK(stat(tpath(0, "absent.db"), &sb) == -1 && errno == ENOENT,
	    "read-only open created nothing");

	if ((db = raw_open(tpath(0, "empty.db"))) != NULL) {
		CHECK(raw_exec(db, "PRAGMA user_version = 0") == SQLITE_OK,
		    "empty db");
		raw_close(db);
	}
	CHECK(open_fails(tpath(0, "empty.db"), 1, "start the daemon"),
	    "read-only open of an uninitialised database");
}

static double
now_sec(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_locked(void)
{
	struct mtasts_stored_policy	 p;
	struct mtasts_store		*s, *s2;
	sqlite3				*db;
	double				 t0, dt;
	const char			*path = tpath(0, "locked.db");

	if ((s = open_ok(path, 0)) == NULL)
		return;
	put(s, "a.example", MTASTS_MODE_ENFORCE, 1000, 600, 0, 0);
	CHECK(mtasts_store_set_busy_timeout(s, 300) == MTASTS_OK,
	    "busy timeout 300 ms");
	if ((db = raw_open(path)) == NULL) {
		mtasts_store_close(s);
		return;
	}
	CHECK(raw_exec(db, "BEGIN EXCLUSIVE; INSERT INTO fetch_log (domain, "
	    "at, result_class) VALUES ('lock.example', 1, 'ok')") ==
	    SQLITE_OK, "another connection holds the write lock");

	fill(&p, "b.example", MTASTS_MODE_ENFORCE, 1000, 600);
	t0 = now_sec();
	CHECK(mtasts_store_put_policy(s, &p) == MTASTS_TEMPFAIL,
	    "put_policy while locked: TEMPFAIL");
	dt = now_sec() - t0;
	printf("#   %s (after %.2f s)\n", mtasts_store_errmsg(s), dt);
	CHECK(dt >= 0.2 && dt < 10, "it waited about the busy timeout, "
	    "not forever");
	CHECK(mtasts_store_log_fetch(s, "a.example", 1, NULL, "ok", 0, NULL) ==
	    MTASTS_TEMPFAIL, "log_fetch while locked: TEMPFAIL");
	CHECK(mtasts_store_touch_txt(s, "a.example", 5) == MTASTS_TEMPFAIL,
	    "touch_txt while locked: TEMPFAIL");
	CHECK(mtasts_store_get_policy(s, "a.example", &p) == MTASTS_OK,
	    "reads go on during the lock (WAL)");
	mtasts_stored_policy_clear(&p);
	s2 = open_ok(path, 0);
	CHECK(s2 != NULL, "opening a current database while locked works");
	mtasts_store_close(s2);

	CHECK(raw_exec(db, "COMMIT") == SQLITE_OK, "lock released");
	fill(&p, "b.example", MTASTS_MODE_ENFORCE, 1000, 600);
	CHECK(mtasts_store_put_policy(s, &p) == MTASTS_OK,
	    "writes work again");
	raw_close(db);
	mtasts_store_close(s);

	/* A lock on a database still to be created: open gives up. */
	if ((db = raw_open(tpath(0, "locked-new.db"))) == NULL)
		return;
	CHECK(raw_exec(db, "BEGIN EXCLUSIVE; CREATE TABLE x (y)") == SQLITE_OK,
	    "a new database locked by someone else");
	t0 = now_sec();
	CHECK(open_fails(tpath(0, "locked-new.db"), 0, "locked"),
	    "open fails with \"locked\"");
	dt = now_sec() - t0;
	CHECK(dt < 2.0 * MTASTS_STORE_BUSY_MS / 1000 + 5,
	    "open gave up after the busy timeout (%.2f s)", dt);
	CHECK(raw_exec(db, "ROLLBACK") == SQLITE_OK, "lock released");
	raw_close(db);
}

/* ---------------------------------------------------------------- sql/ */

/*
 * Canonical form of an SQL text for comparison: comments removed,
 * whitespace kept only where it separates two words, quoted text as is.
 */
static void
sql_canon(const char *in, char *out, size_t size)
{
	size_t	o = 0;
	char	q, prev = ' ';
	int	space = 0;

	while (*in != '\0' && o + 2 < size) {
		if (in[0] == '-' && in[1] == '-') {
			while (*in != '\0' && *in != '\n')
				in++;
			space = 1;
		} else if (in[0] == '/' && in[1] == '*') {
			in = strstr(in + 2, "*/");
			in = in ? in + 2 : "";
			space = 1;
		} else if (isspace((unsigned char)*in)) {
			in++;
			space = 1;
		} else if (*in == '\'' || *in == '"') {
			q = *in;
			do
				out[o++] = *in++;
			while (*in != '\0' && *in != q && o + 2 < size);
			if (*in == q)
				out[o++] = *in++;
			prev = q;
			space = 0;
		} else {
			if (space && (isalnum((unsigned char)prev) ||
			    prev == '_') && (isalnum((unsigned char)*in) ||
			    *in == '_'))
				out[o++] = ' ';
			prev = out[o++] = *in++;
			space = 0;
		}
	}
	out[o] = '\0';
}

/*
 * The routing view with the operator's controls, through the API that
 * filter-mta-sts uses and through the exact query of table-sqlite.
 */
static void
test_route(void)
{
	static const struct mtasts_store_control ctl[] = {
		{ "forced.example", "enforce", "EnforceDomains" },
		{ ".sub.example", "enforce", "EnforceDomains" },
		{ "skipped.example", "skip", "SkipDomains" },
		{ "both.example", "enforce", "EnforceDomains" },
		{ "both.example", "skip", "SkipDomains" },
	};
	static const struct mtasts_store_control bad[] = {
		{ "ok.example", "enforce", "EnforceDomains" },
		{ "Upper.Example", "enforce", "EnforceDomains" },
	};
	struct mtasts_store	*s, *ro;
	sqlite3			*db;
	char			 got[512] = { 0 };
	time_t			 now = time(NULL), exp = 0;
	char			 q[256];

	if ((s = open_ok(tpath(0, "route.db"), 0)) == NULL)
		return;
	put(s, "enforced.example", MTASTS_MODE_ENFORCE, now - 60, 86400, 0, 0);
	put(s, "forced.example", MTASTS_MODE_TESTING, now - 60, 86400, 0, 0);
	put(s, "a.sub.example", MTASTS_MODE_TESTING, now - 60, 86400, 0, 0);
	put(s, "sub.example", MTASTS_MODE_TESTING, now - 60, 86400, 0, 0);
	put(s, "skipped.example", MTASTS_MODE_ENFORCE, now - 60, 86400, 0, 0);
	put(s, "both.example", MTASTS_MODE_ENFORCE, now - 60, 86400, 0, 0);
	put(s, "testing.example", MTASTS_MODE_TESTING, now - 60, 86400, 0, 0);
	put(s, "gone.example", MTASTS_MODE_ENFORCE, now - 7200, 3600, 0, 0);
	CHECK(mtasts_store_replace_controls(s, ctl, 5, now) == MTASTS_OK,
	    "replace_controls stores the controls");
	CHECK(mtasts_store_replace_controls(s, bad, 2, now) == MTASTS_INVALID,
	    "an upper-case pattern is refused ...");
	mtasts_store_close(s);
	if ((ro = open_ok(tpath(0, "route.db"), 1)) == NULL)
		return;
	CHECK(mtasts_store_route(ro, "enforced.example", &exp) == MTASTS_OK &&
	    exp == now - 60 + 86400, "an enforce policy is routed, with its "
	    "expiry");
	CHECK(mtasts_store_route(ro, "ENFORCED.Example", NULL) == MTASTS_OK,
	    "the key is compared in lower case, as smtpd may send it");
	CHECK(mtasts_store_route(ro, "enforced.example.", NULL) ==
	    MTASTS_NOPOLICY, "... but a trailing dot is another key");
	CHECK(mtasts_store_route(ro, "forced.example", NULL) == MTASTS_OK,
	    "EnforceDomains routes a testing policy");
	CHECK(mtasts_store_route(ro, "a.sub.example", NULL) == MTASTS_OK &&
	    mtasts_store_route(ro, "sub.example", NULL) == MTASTS_NOPOLICY,
	    "a .suffix control covers names below it, not itself");
	CHECK(mtasts_store_route(ro, "skipped.example", NULL) ==
	    MTASTS_NOPOLICY && mtasts_store_route(ro, "both.example", NULL) ==
	    MTASTS_NOPOLICY, "SkipDomains takes a domain out, also over an "
	    "EnforceDomains entry");
	CHECK(mtasts_store_route(ro, "testing.example", NULL) ==
	    MTASTS_NOPOLICY && mtasts_store_route(ro, "gone.example", NULL) ==
	    MTASTS_NOPOLICY && mtasts_store_route(ro, "nothing.example", NULL) ==
	    MTASTS_NOPOLICY, "testing, expired and unknown domains are not "
	    "routed");
	CHECK(mtasts_store_route(ro, "", NULL) == MTASTS_INVALID,
	    "an empty key is refused");
	mtasts_store_close(ro);

	/* What table-sqlite runs: MTASTS_STORE_ROUTE_QUERY, one parameter. */
	(void)snprintf(q, sizeof(q), "%s", MTASTS_STORE_ROUTE_QUERY);
	if ((db = raw_open(tpath(0, "route.db"))) == NULL)
		return;
	CHECK(raw_text(db, q, "Forced.Example", got, sizeof(got)) ==
	    SQLITE_OK && strcmp(got, "forced.example") == 0,
	    "the table-sqlite query answers with the domain");
	CHECK(raw_text(db, "SELECT group_concat(pattern || '=' || control, "
	    "' ') FROM (SELECT * FROM domain_controls ORDER BY pattern)",
	    NULL, got, sizeof(got)) == SQLITE_OK && strcmp(got,
	    ".sub.example=enforce both.example=skip forced.example=enforce "
	    "skipped.example=skip") == 0, "... the refused replacement "
	    "changed nothing, and the later of two entries stayed");
	raw_close(db);
}

/* Every schema object of db, canonical, one per line, into buf. */
static int
schema_dump(sqlite3 *db, char *buf, size_t size)
{
	sqlite3_stmt	*st;
	char		 canon[8192];
	size_t		 len = 0;
	int		 rc;

	buf[0] = '\0';
	rc = sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, "
	    "coalesce(sql, '') FROM sqlite_master ORDER BY type, name", -1,
	    &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && len < size) {
		sql_canon((const char *)sqlite3_column_text(st, 3), canon,
		    sizeof(canon));
		len += (size_t)snprintf(buf + len, size - len, "%s %s %s: %s\n",
		    sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
		    sqlite3_column_text(st, 2), canon);
	}
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = SQLITE_OK;
	if (sqlite3_finalize(st) != SQLITE_OK && rc == SQLITE_OK)
		rc = sqlite3_errcode(db);
	return rc;
}

static void
test_schema_file(void)
{
	struct mtasts_store	*s;
	sqlite3			*a, *b;
	static char		 da[65536], db_[65536];
	char			*text;

	text = slurp(srcfile("sql/schema.sql"));
	CHECK(text != NULL, "read sql/schema.sql");
	if (text == NULL)
		return;
	if ((a = raw_open(tpath(0, "from-schema.db"))) != NULL) {
		CHECK(raw_exec(a, text) == SQLITE_OK,
		    "schema.sql applies to an empty database");
		CHECK(raw_long(a, "PRAGMA user_version") ==
		    MTASTS_STORE_SCHEMA_VERSION,
		    "schema.sql sets user_version");
		CHECK(schema_dump(a, da, sizeof(da)) == SQLITE_OK, "dump A");
		raw_close(a);
	}
	free(text);
	s = open_ok(tpath(0, "from-migrations.db"), 0);
	mtasts_store_close(s);
	if ((b = raw_open(tpath(0, "from-migrations.db"))) != NULL) {
		CHECK(schema_dump(b, db_, sizeof(db_)) == SQLITE_OK, "dump B");
		raw_close(b);
	}
	CHECK(da[0] != '\0' && strcmp(da, db_) == 0,
	    "schema.sql and the migrations build the same schema");
	if (strcmp(da, db_) != 0)
		printf("# schema.sql:\n%s# migrations:\n%s", da, db_);
}

/* Prepare and run every statement of text against db; count them. */
static int
run_all(sqlite3 *db, const char *text, int *count)
{
	sqlite3_stmt	*st;
	const char	*tail = text;
	int		 rc = SQLITE_OK, i;

	*count = 0;
	while (*tail != '\0') {
		rc = sqlite3_prepare_v2(db, tail, -1, &st, &tail);
		if (rc != SQLITE_OK) {
			printf("# prepare: %s\n", sqlite3_errmsg(db));
			return rc;
		}
		if (st == NULL)		/* only comments or space left */
			break;
		(*count)++;
		if ((i = sqlite3_bind_parameter_index(st, ":domain")) > 0)
			rc = sqlite3_bind_text(st, i, "soon.example", -1,
			    SQLITE_STATIC);
		while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
			rc = SQLITE_OK;
		if (rc != SQLITE_DONE)
			printf("# query %d: %s\n", *count, sqlite3_errmsg(db));
		if (sqlite3_finalize(st) != SQLITE_OK || rc != SQLITE_DONE)
			return rc == SQLITE_DONE ? sqlite3_errcode(db) : rc;
		rc = SQLITE_OK;
	}
	return rc;
}

static void
test_queries_file(void)
{
	sqlite3	*db;
	char	*text;
	int	 n = 0;

	text = slurp(srcfile("sql/queries.sql"));
	CHECK(text != NULL, "read sql/queries.sql");
	if (text == NULL)
		return;
	/* lists.db holds policies, negatives and fetch_log rows. */
	if ((db = raw_open(tpath(0, "lists.db"))) != NULL) {
		CHECK(run_all(db, text, &n) == SQLITE_OK,
		    "every query in queries.sql runs");
		CHECK(n >= 10, "queries.sql has %d statements", n);
		raw_close(db);
	}
	free(text);
}

/* ---------------------------------------------------------------- probes */

struct probe_seen {
	int	n;
	char	hosts[4][256];
	char	cls[4][32];
	long	verify[4];
	time_t	expires[4];
	int	port[4];
	char	names[4][512];
};

static int
probe_row(void *arg, const struct mtasts_stored_probe *p)
{
	struct probe_seen	*ps = arg;

	if (ps->n < 4) {
		(void)snprintf(ps->hosts[ps->n], sizeof(ps->hosts[0]), "%s",
		    p->host);
		(void)snprintf(ps->cls[ps->n], sizeof(ps->cls[0]), "%s",
		    p->result_class);
		(void)snprintf(ps->names[ps->n], sizeof(ps->names[0]), "%s",
		    p->cert_names);
		ps->verify[ps->n] = p->verify_error;
		ps->expires[ps->n] = p->expires_at;
		ps->port[ps->n] = p->port;
	}
	ps->n++;
	return 0;
}

static void
test_probes(void)
{
	struct mtasts_stored_probe	 p;
	struct mtasts_store		*s;
	struct probe_seen		 ps;

	if ((s = open_ok(tpath(0, "probes.db"), 0)) == NULL)
		return;
	memset(&p, 0, sizeof(p));
	(void)snprintf(p.host, sizeof(p.host), "mx2.example.com");
	(void)snprintf(p.addr, sizeof(p.addr), "192.0.2.2");
	p.port = 25;
	(void)snprintf(p.result_class, sizeof(p.result_class),
	    "certificate-host-mismatch");
	p.verify_error = 62;
	(void)snprintf(p.cert_names, sizeof(p.cert_names), "other.example");
	p.probed_at = 1000;
	p.expires_at = 1300;
	CHECK(mtasts_store_put_probe(s, &p) == MTASTS_OK, "put a probe");
	(void)snprintf(p.host, sizeof(p.host), "mx1.example.com");
	(void)snprintf(p.result_class, sizeof(p.result_class), "ok");
	p.verify_error = 0;
	p.port = 0;
	p.cert_names[0] = '\0';
	p.expires_at = 4600;
	CHECK(mtasts_store_put_probe(s, &p) == MTASTS_OK, "put a second one");
	p.expires_at = 5000;
	CHECK(mtasts_store_put_probe(s, &p) == MTASTS_OK,
	    "put again replaces the row");
	memset(&ps, 0, sizeof(ps));
	CHECK(mtasts_store_foreach_probe(s, probe_row, &ps) == MTASTS_OK &&
	    ps.n == 2 && strcmp(ps.hosts[0], "mx1.example.com") == 0 &&
	    ps.expires[0] == 5000 && ps.port[0] == 0 && ps.verify[0] == 0 &&
	    strcmp(ps.hosts[1], "mx2.example.com") == 0 &&
	    strcmp(ps.cls[1], "certificate-host-mismatch") == 0 &&
	    ps.verify[1] == 62 && ps.port[1] == 25 &&
	    strcmp(ps.names[1], "other.example") == 0,
	    "foreach_probe: rows by host, fields back, zero as NULL");
	(void)snprintf(p.host, sizeof(p.host), "MX.Example.com");
	CHECK(mtasts_store_put_probe(s, &p) == MTASTS_INVALID,
	    "an upper-case host name is refused");
	(void)snprintf(p.host, sizeof(p.host), "mx3.example.com");
	p.result_class[0] = '\0';
	CHECK(mtasts_store_put_probe(s, &p) != MTASTS_OK,
	    "an empty result class is refused (result_class_set)");
	(void)snprintf(p.result_class, sizeof(p.result_class), "ok");
	p.expires_at = p.probed_at - 1;
	CHECK(mtasts_store_put_probe(s, &p) == MTASTS_INVALID,
	    "expiry before the probe is refused (expires_after_probe)");
	CHECK(mtasts_store_prune(s, 2000, 600) == MTASTS_OK,
	    "prune at 2000 keeping 600 s");
	memset(&ps, 0, sizeof(ps));
	CHECK(mtasts_store_foreach_probe(s, probe_row, &ps) == MTASTS_OK &&
	    ps.n == 1 && strcmp(ps.hosts[0], "mx1.example.com") == 0,
	    "prune drops probes expired longer than the window");
	mtasts_store_close(s);
}

/* ---------------------------------------------------------------- main */

static void
cleanup(void)
{
	DIR		*d;
	struct dirent	*e;

	if ((d = opendir(tmpdir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && unlink(tpath(1, e->d_name)) == -1)
			printf("# unlink %s: %s\n", e->d_name, strerror(errno));
	if (closedir(d) == -1 || rmdir(tmpdir) == -1)
		printf("# rmdir %s: %s\n", tmpdir, strerror(errno));
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_embedded_migrations();
	test_open_fresh();
	test_policy_roundtrip();
	test_negative();
	test_lists();
	test_enforced_view();
	test_route();
	test_probes();
	test_persistence_readonly();
	test_bad_files();
	test_locked();
	test_schema_file();
	test_queries_file();
	cleanup();
	return check_done();
}
