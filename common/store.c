/*
 * store.c: the SQLite policy store (see store.h and sql/README).
 *
 * Every statement is prepared once at open and used with bound parameters;
 * after each use it is reset and its bindings cleared, so that text bound
 * with SQLITE_STATIC never outlives the call that bound it.  Writes of more
 * than one statement run inside BEGIN IMMEDIATE, which takes the write
 * lock up front: in WAL mode that is the one point where a writer waits
 * (up to the busy timeout), and it cannot deadlock against a reader that
 * wants to upgrade.
 */
#include <config.h>

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "policy.h"
#include "status.h"
#include "store.h"
#include "store_schema.h"

#define POLICY_COLS \
	"domain, policy_id, mode, max_age, mx, policy_text, fetched_at, " \
	"expires_at, txt_checked_at, last_error, last_error_class, " \
	"last_error_at, next_retry_at"
#define PROBE_COLS \
	"host, addr, port, result_class, smtp_code, verify_error, " \
	"tls_version, tls_cipher, cert_names, cert_subject, cert_issuer, " \
	"cert_not_after, detail, probed_at, expires_at"
#define NEGATIVE_COLS \
	"domain, reason_class, detail, policy_id, created_at, expires_at"

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PUT_POLICY,
	ST_GET_POLICY,
	ST_TOUCH_TXT,
	ST_SET_ERROR,
	ST_DEL_POLICY,
	ST_PUT_NEGATIVE,
	ST_GET_NEGATIVE,
	ST_DEL_NEGATIVE,
	ST_LOG_FETCH,
	ST_PRUNE_NEGATIVE,
	ST_PRUNE_LOG,
	ST_PRUNE_POLICY,
	ST_ALL_POLICIES,
	ST_ALL_NEGATIVES,
	ST_FETCHES,
	ST_DUE,
	ST_STAT_POLICIES,
	ST_STAT_NEGATIVES,
	ST_STAT_FETCHES,
	ST_DEL_CONTROLS,
	ST_PUT_CONTROL,
	ST_ROUTE,
	ST_PUT_PROBE,
	ST_ALL_PROBES,
	ST_PRUNE_PROBE,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_PUT_POLICY] =
	    "INSERT INTO policies (" POLICY_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
	    "ON CONFLICT (domain) DO UPDATE SET "
	    "policy_id = excluded.policy_id, mode = excluded.mode, "
	    "max_age = excluded.max_age, mx = excluded.mx, "
	    "policy_text = excluded.policy_text, "
	    "fetched_at = excluded.fetched_at, "
	    "expires_at = excluded.expires_at, "
	    "txt_checked_at = excluded.txt_checked_at, "
	    "last_error = excluded.last_error, "
	    "last_error_class = excluded.last_error_class, "
	    "last_error_at = excluded.last_error_at, "
	    "next_retry_at = excluded.next_retry_at",
	[ST_GET_POLICY] =
	    "SELECT " POLICY_COLS " FROM policies WHERE domain = ?1",
	[ST_TOUCH_TXT] =
	    "UPDATE policies SET txt_checked_at = ?2 WHERE domain = ?1",
	[ST_SET_ERROR] =
	    "UPDATE policies SET last_error = ?2, last_error_class = ?3, "
	    "last_error_at = ?4, next_retry_at = ?5 WHERE domain = ?1",
	[ST_DEL_POLICY] = "DELETE FROM policies WHERE domain = ?1",
	[ST_PUT_NEGATIVE] =
	    "INSERT OR REPLACE INTO negative (" NEGATIVE_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_GET_NEGATIVE] =
	    "SELECT " NEGATIVE_COLS " FROM negative "
	    "WHERE domain = ?1 AND expires_at > ?2",
	[ST_DEL_NEGATIVE] = "DELETE FROM negative WHERE domain = ?1",
	[ST_LOG_FETCH] =
	    "INSERT INTO fetch_log (domain, at, policy_id, result_class, "
	    "http_status, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_PRUNE_NEGATIVE] = "DELETE FROM negative WHERE expires_at <= ?1",
	[ST_PRUNE_LOG] = "DELETE FROM fetch_log WHERE at < ?1",
	[ST_PRUNE_POLICY] = "DELETE FROM policies WHERE expires_at < ?1",
	[ST_ALL_POLICIES] =
	    "SELECT " POLICY_COLS " FROM policies ORDER BY domain",
	[ST_ALL_NEGATIVES] =
	    "SELECT " NEGATIVE_COLS " FROM negative ORDER BY domain",
	[ST_FETCHES] =
	    "SELECT id, domain, at, policy_id, result_class, http_status, "
	    "detail FROM fetch_log WHERE domain = ?1 "
	    "ORDER BY at DESC, id DESC LIMIT ?2",
	[ST_DUE] =
	    "SELECT " POLICY_COLS " FROM policies "
	    "WHERE (next_retry_at IS NULL OR next_retry_at <= ?1) "
	    "AND (expires_at <= ?1 + ?2 "
	    "OR coalesce(txt_checked_at, fetched_at) <= ?1 - ?2 "
	    "OR next_retry_at IS NOT NULL) "
	    "ORDER BY expires_at, domain",
	[ST_STAT_POLICIES] =
	    "SELECT total(mode = 'none' AND expires_at > ?1), "
	    "total(mode = 'testing' AND expires_at > ?1), "
	    "total(mode = 'enforce' AND expires_at > ?1), "
	    "total(expires_at <= ?1) FROM policies",
	[ST_STAT_NEGATIVES] =
	    "SELECT count(*) FROM negative WHERE expires_at > ?1",
	[ST_STAT_FETCHES] =
	    "SELECT count(*), total(result_class <> 'ok') FROM fetch_log "
	    "WHERE at > ?1 - 86400",
	[ST_DEL_CONTROLS] = "DELETE FROM domain_controls",
	[ST_PUT_CONTROL] =
	    "INSERT OR REPLACE INTO domain_controls (pattern, control, "
	    "source, updated_at) VALUES (?1, ?2, ?3, ?4)",
	/* MTASTS_STORE_ROUTE_QUERY, and the expiry beside the domain. */
	[ST_ROUTE] =
	    "SELECT domain, expires_at FROM enforced_domains "
	    "WHERE domain = lower(?1)",
	[ST_PUT_PROBE] =
	    "INSERT OR REPLACE INTO mx_probes (" PROBE_COLS ") VALUES (?1, "
	    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[ST_ALL_PROBES] =
	    "SELECT " PROBE_COLS " FROM mx_probes ORDER BY host",
	[ST_PRUNE_PROBE] = "DELETE FROM mx_probes WHERE expires_at < ?1"
};

static const char *const mode_names[] = {
	[MTASTS_MODE_NONE] = "none",
	[MTASTS_MODE_TESTING] = "testing",
	[MTASTS_MODE_ENFORCE] = "enforce"
};
#define NMODES	(sizeof(mode_names) / sizeof(mode_names[0]))

struct mtasts_store {
	sqlite3		*db;
	int		 readonly;
	sqlite3_stmt	*st[ST_COUNT];
	char		 err[512];
};

/* ---------------------------------------------------------------- helpers */

static void __attribute__((format(printf, 2, 3)))
set_err(struct mtasts_store *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

static enum mtasts_status
rc_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return MTASTS_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return MTASTS_TEMPFAIL;
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
		return MTASTS_INVALID;
	default:
		return MTASTS_INTERNAL;
	}
}

/* Record a failed sqlite3_* call and map it to a status. */
static enum mtasts_status
fail(struct mtasts_store *s, int rc, const char *what)
{
	const char	*msg;

	msg = sqlite3_errmsg(s->db);
	if ((sqlite3_errcode(s->db) & 0xff) != (rc & 0xff))
		msg = sqlite3_errstr(rc);
	set_err(s, "%s: %s", what, msg);
	return rc_status(rc) == MTASTS_OK ? MTASTS_INTERNAL : rc_status(rc);
}

/*
 * Make a statement ready for its next use.  sqlite3_reset() repeats the
 * error of a failed step, which the caller has already handled, and
 * sqlite3_clear_bindings() cannot fail.
 */
static void
release(sqlite3_stmt *st)
{
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

/*
 * Bind parameters 1.. from fmt: 's' text (NULL binds ""), 'S' text where
 * NULL or "" binds NULL, 'i' sqlite3_int64, 'I' sqlite3_int64 where 0
 * binds NULL.  Text is bound SQLITE_STATIC: release() before it goes.
 */
static int
bind_args(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	const char	*t;
	sqlite3_int64	 v;
	int		 i, rc = SQLITE_OK;

	for (i = 1; *fmt != '\0' && rc == SQLITE_OK; fmt++, i++) {
		switch (*fmt) {
		case 's':
		case 'S':
			t = va_arg(ap, const char *);
			if (*fmt == 'S' && (t == NULL || *t == '\0'))
				rc = sqlite3_bind_null(st, i);
			else
				rc = sqlite3_bind_text(st, i, t ? t : "", -1,
				    SQLITE_STATIC);
			break;
		case 'i':
		case 'I':
			v = va_arg(ap, sqlite3_int64);
			if (*fmt == 'I' && v == 0)
				rc = sqlite3_bind_null(st, i);
			else
				rc = sqlite3_bind_int64(st, i, v);
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	return rc;
}

/* Bind, then step a statement that returns no rows. */
static enum mtasts_status
run(struct mtasts_store *s, enum stmt id, int *changes, const char *what,
    const char *fmt, ...)
{
	sqlite3_stmt	*st = s->st[id];
	va_list		 ap;
	int		 rc;

	va_start(ap, fmt);
	rc = bind_args(st, fmt, ap);
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE && changes != NULL)
		*changes += sqlite3_changes(s->db);
	if (rc != SQLITE_DONE) {
		enum mtasts_status	 status = fail(s, rc, what);

		release(st);
		return status;
	}
	release(st);
	return MTASTS_OK;
}

/* Bind the parameters of a query; the caller steps and releases. */
static enum mtasts_status
query(struct mtasts_store *s, enum stmt id, const char *what,
    const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = bind_args(s->st[id], fmt, ap);
	va_end(ap);
	if (rc != SQLITE_OK) {
		release(s->st[id]);
		return fail(s, rc, what);
	}
	return MTASTS_OK;
}

static enum mtasts_status
tx_begin(struct mtasts_store *s)
{
	return run(s, ST_BEGIN, NULL, "begin transaction", "");
}

/* Commit when status is MTASTS_OK, else roll back; returns the outcome. */
static enum mtasts_status
tx_end(struct mtasts_store *s, enum mtasts_status status)
{
	char	saved[sizeof(s->err)];

	if (status == MTASTS_OK) {
		status = run(s, ST_COMMIT, NULL, "commit", "");
		if (status == MTASTS_OK)
			return MTASTS_OK;
	}
	/* Some errors end the transaction by themselves. */
	if (sqlite3_get_autocommit(s->db))
		return status;
	memcpy(saved, s->err, sizeof(saved));
	if (run(s, ST_ROLLBACK, NULL, "rollback", "") != MTASTS_OK)
		return MTASTS_INTERNAL;
	memcpy(s->err, saved, sizeof(saved));
	return status;
}

/* Copy text column i into buf, truncated to fit; NULL gives "". */
static void
col_copy(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char	*t;
	size_t			 n;

	t = sqlite3_column_text(st, i);
	if (t == NULL) {
		buf[0] = '\0';
		return;
	}
	n = (size_t)sqlite3_column_bytes(st, i);
	if (n >= size)
		n = size - 1;
	memcpy(buf, t, n);
	buf[n] = '\0';
}

/* Allocated copy of text column i ("" for NULL); NULL when out of memory. */
static char *
col_dup(struct mtasts_store *s, sqlite3_stmt *st, int i)
{
	const unsigned char	*t;
	char			*p;
	size_t			 n;

	t = sqlite3_column_text(st, i);
	if (t == NULL && sqlite3_errcode(s->db) == SQLITE_NOMEM)
		return NULL;
	n = t == NULL ? 0 : (size_t)sqlite3_column_bytes(st, i);
	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, t, n);
	p[n] = '\0';
	return p;
}

static int
mode_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < NMODES; i++)
		if (strcmp(name, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

/* Fill p from the current row of a POLICY_COLS query. */
static enum mtasts_status
row_policy(struct mtasts_store *s, sqlite3_stmt *st,
    struct mtasts_stored_policy *p)
{
	char	mode[16];

	memset(p, 0, sizeof(*p));
	col_copy(st, 0, p->domain, sizeof(p->domain));
	col_copy(st, 1, p->policy_id, sizeof(p->policy_id));
	col_copy(st, 2, mode, sizeof(mode));
	p->max_age = (long)sqlite3_column_int64(st, 3);
	p->mx = col_dup(s, st, 4);
	p->policy_text = col_dup(s, st, 5);
	p->fetched_at = (time_t)sqlite3_column_int64(st, 6);
	p->expires_at = (time_t)sqlite3_column_int64(st, 7);
	p->txt_checked_at = (time_t)sqlite3_column_int64(st, 8);
	col_copy(st, 9, p->last_error, sizeof(p->last_error));
	col_copy(st, 10, p->last_error_class, sizeof(p->last_error_class));
	p->last_error_at = (time_t)sqlite3_column_int64(st, 11);
	p->next_retry_at = (time_t)sqlite3_column_int64(st, 12);
	if (p->mx == NULL || p->policy_text == NULL) {
		mtasts_stored_policy_clear(p);
		set_err(s, "reading policy: out of memory");
		return MTASTS_INTERNAL;
	}
	if ((p->mode = mode_parse(mode)) < 0) {
		set_err(s, "reading policy of %s: unknown mode \"%s\"",
		    p->domain, mode);
		mtasts_stored_policy_clear(p);
		return MTASTS_INTERNAL;
	}
	return MTASTS_OK;
}

/* Fill n from the current row of a NEGATIVE_COLS query. */
static void
row_negative(sqlite3_stmt *st, struct mtasts_stored_negative *n)
{
	memset(n, 0, sizeof(*n));
	col_copy(st, 0, n->domain, sizeof(n->domain));
	col_copy(st, 1, n->reason_class, sizeof(n->reason_class));
	col_copy(st, 2, n->detail, sizeof(n->detail));
	col_copy(st, 3, n->policy_id, sizeof(n->policy_id));
	n->created_at = (time_t)sqlite3_column_int64(st, 4);
	n->expires_at = (time_t)sqlite3_column_int64(st, 5);
}

/* Start of every public call: a usable handle, a clean error text. */
static enum mtasts_status
enter(struct mtasts_store *s, int write)
{
	if (s == NULL)
		return MTASTS_INTERNAL;
	s->err[0] = '\0';
	if (write && s->readonly) {
		set_err(s, "the store is open read-only");
		return MTASTS_INTERNAL;
	}
	return MTASTS_OK;
}

static enum mtasts_status
need_domain(struct mtasts_store *s, const char *domain)
{
	if (domain == NULL || *domain == '\0') {
		set_err(s, "empty domain");
		return MTASTS_INVALID;
	}
	return MTASTS_OK;
}

/* ---------------------------------------------------------------- open */

/* Run a statement that yields one integer into *out; an SQLite code. */
static int
pragma_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	if (sqlite3_finalize(st) != SQLITE_OK && rc == SQLITE_OK)
		rc = sqlite3_errcode(db);
	return rc;
}

/* Why sqlite3_open_v2() could not open path. */
static void
explain_open(const char *path, int readonly, int rc, sqlite3 *db,
    struct mtasts_diag *diag)
{
	struct stat	 sb;
	char		*copy, *dir;

	if ((rc & 0xff) == SQLITE_CANTOPEN && (copy = strdup(path)) != NULL) {
		dir = dirname(copy);
		if (stat(dir, &sb) == -1 && errno == ENOENT) {
			mtasts_diag_add(diag, 0, 0, "%s: directory %s does "
			    "not exist; create it for the daemon's user", path,
			    dir);
			free(copy);
			return;
		}
		free(copy);
		if (readonly && stat(path, &sb) == -1 && errno == ENOENT) {
			mtasts_diag_add(diag, 0, 0, "%s: no such database "
			    "(the daemon creates it)", path);
			return;
		}
	}
	mtasts_diag_add(diag, 0, 0, "%s: cannot open database: %s", path,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* Per-connection settings; WAL is a property of the file. */
static int
configure_db(sqlite3 *db, int readonly, const char **what)
{
	sqlite3_stmt		*st;
	const unsigned char	*mode;
	int			 rc, wal = 0, persist = 1;

	*what = "setting up the connection";
	if ((rc = sqlite3_extended_result_codes(db, 1)) != SQLITE_OK ||
	    (rc = sqlite3_busy_timeout(db, MTASTS_STORE_BUSY_MS)) != SQLITE_OK)
		return rc;
	*what = "reading the database";
	rc = sqlite3_exec(db, "PRAGMA foreign_keys = ON; "
	    "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	if (rc != SQLITE_OK || readonly)
		return rc;
	*what = "switching to WAL";
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		mode = sqlite3_column_text(st, 0);
		wal = mode != NULL && strcmp((const char *)mode, "wal") == 0;
		rc = SQLITE_OK;
	}
	if (sqlite3_finalize(st) != SQLITE_OK && rc == SQLITE_OK)
		rc = sqlite3_errcode(db);
	if (rc != SQLITE_OK)
		return rc;
	if (!wal) {
		*what = "cannot use WAL here (no shared memory?)";
		return SQLITE_CANTOPEN;
	}
	/*
	 * Keep the -wal and -shm files when we close: a read-only reader
	 * that may not create files in the directory (OpenSMTPD's
	 * table-sqlite) can then still open the database while we are down.
	 */
	*what = "keeping the WAL files";
	return sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL,
	    &persist);
}

/* Apply migrations past the current user_version in one transaction. */
static int
migrate(sqlite3 *db, const char *path, struct mtasts_diag *diag,
    int *explained)
{
	const struct mtasts_store_migration	*m;
	char					*msg = NULL;
	size_t					 i;
	int					 rc, v = 0;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)	/* again: another process may have won */
		rc = pragma_int(db, "PRAGMA user_version", &v);
	for (i = 0; rc == SQLITE_OK && i < mtasts_store_nmigrations; i++) {
		m = &mtasts_store_migrations[i];
		if (m->version <= v)
			continue;
		rc = sqlite3_exec(db, m->sql, NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = pragma_int(db, "PRAGMA user_version", &v);
		if (rc == SQLITE_OK && v != m->version) {
			mtasts_diag_add(diag, 0, 0, "%s: migration %s left "
			    "user_version at %d", path, m->file, v);
			rc = SQLITE_INTERNAL;
			*explained = 1;
		} else if (rc != SQLITE_OK) {
			mtasts_diag_add(diag, 0, 0, "%s: migration %s: %s",
			    path, m->file, msg ? msg : sqlite3_errmsg(db));
			*explained = 1;
		}
		sqlite3_free(msg);
		msg = NULL;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(db) &&
	    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		mtasts_diag_add(diag, 0, 0, "%s: rollback failed: %s", path,
		    sqlite3_errmsg(db));
	return rc;
}

/*
 * Check the schema version and bring it up to date.  Returns an SQLite
 * code; a refusal adds its own diag entry and returns SQLITE_ERROR.
 */
static int
check_schema(sqlite3 *db, const char *path, int readonly,
    struct mtasts_diag *diag, int *explained)
{
	int	rc, v = 0, objects = 0;

	*explained = 0;
	if ((rc = pragma_int(db, "PRAGMA user_version", &v)) != SQLITE_OK)
		return rc;
	if (v == MTASTS_STORE_SCHEMA_VERSION)
		return SQLITE_OK;
	*explained = 1;
	if (v > MTASTS_STORE_SCHEMA_VERSION || v < 0) {
		mtasts_diag_add(diag, 0, 0, "%s: schema version %d is newer "
		    "than this program knows (%d); refusing to use it", path, v,
		    MTASTS_STORE_SCHEMA_VERSION);
		return SQLITE_ERROR;
	}
	if (v == 0) {
		rc = pragma_int(db, "SELECT count(*) FROM sqlite_master",
		    &objects);
		if (rc != SQLITE_OK) {
			*explained = 0;
			return rc;
		}
		if (objects > 0) {
			mtasts_diag_add(diag, 0, 0, "%s: has tables but no "
			    "schema version: not an mta-sts-milter database",
			    path);
			return SQLITE_ERROR;
		}
	}
	if (readonly) {
		mtasts_diag_add(diag, 0, 0, "%s: schema version %d, this "
		    "program needs %d; start the daemon once to set it up",
		    path, v, MTASTS_STORE_SCHEMA_VERSION);
		return SQLITE_ERROR;
	}
	*explained = 0;
	return migrate(db, path, diag, explained);
}

static int
prepare_all(struct mtasts_store *s, const char **what)
{
	int	i, rc;

	*what = "preparing statements";
	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

struct mtasts_store *
mtasts_store_open(const char *path, int readonly, struct mtasts_diag *diag)
{
	struct mtasts_store	*s;
	const char		*what = "opening";
	int			 rc, flags, explained = 0;

	if (path == NULL || *path == '\0') {
		mtasts_diag_add(diag, 0, 0, "no database path");
		return NULL;
	}
	if (sqlite3_threadsafe() == 0) {
		mtasts_diag_add(diag, 0, 0, "%s: SQLite was built without "
		    "thread support", path);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		mtasts_diag_add(diag, 0, 0, "%s: out of memory", path);
		return NULL;
	}
	s->readonly = readonly != 0;
	flags = SQLITE_OPEN_NOMUTEX | (s->readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		explain_open(path, s->readonly, rc, s->db, diag);
		mtasts_store_close(s);
		return NULL;
	}
	rc = configure_db(s->db, s->readonly, &what);
	if (rc == SQLITE_OK) {
		what = "checking the schema";
		rc = check_schema(s->db, path, s->readonly, diag, &explained);
	}
	if (rc == SQLITE_OK)
		rc = prepare_all(s, &what);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_NOTADB)
			mtasts_diag_add(diag, 0, 0, "%s: file is not a "
			    "database (corrupt or not SQLite); move it away",
			    path);
		else if (!explained && sqlite3_errcode(s->db) == SQLITE_OK)
			mtasts_diag_add(diag, 0, 0, "%s: %s", path, what);
		else if (!explained)
			mtasts_diag_add(diag, 0, 0, "%s: %s: %s", path, what,
			    sqlite3_errmsg(s->db));
		mtasts_store_close(s);
		return NULL;
	}
	return s;
}

void
mtasts_store_close(struct mtasts_store *s)
{
	int	i;

	if (s == NULL)
		return;
	/* sqlite3_finalize() repeats a statement's last error; not ours. */
	for (i = 0; i < ST_COUNT; i++)
		(void)sqlite3_finalize(s->st[i]);
	/*
	 * With every statement finalized close cannot be busy; if it were,
	 * close_v2 would finish the job once the last one goes.
	 */
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		(void)sqlite3_close_v2(s->db);
	free(s);
}

enum mtasts_status
mtasts_store_set_busy_timeout(struct mtasts_store *s, int ms)
{
	enum mtasts_status	status;
	int			rc;

	if ((status = enter(s, 0)) != MTASTS_OK)
		return status;
	if (ms < 0) {
		set_err(s, "negative busy timeout");
		return MTASTS_INVALID;
	}
	if ((rc = sqlite3_busy_timeout(s->db, ms)) != SQLITE_OK)
		return fail(s, rc, "setting the busy timeout");
	return MTASTS_OK;
}

const char *
mtasts_store_errmsg(const struct mtasts_store *s)
{
	return s == NULL ? "no store" : s->err;
}

void
mtasts_stored_policy_clear(struct mtasts_stored_policy *p)
{
	if (p == NULL)
		return;
	free(p->mx);
	free(p->policy_text);
	memset(p, 0, sizeof(*p));
}

/* ---------------------------------------------------------------- policies */

enum mtasts_status
mtasts_store_put_policy(struct mtasts_store *s,
    const struct mtasts_stored_policy *p)
{
	enum mtasts_status	status;
	time_t			expires;

	if ((status = enter(s, 1)) != MTASTS_OK)
		return status;
	if (p == NULL || (status = need_domain(s, p->domain)) != MTASTS_OK)
		return p == NULL ? MTASTS_INVALID : status;
	if (p->mode < 0 || (size_t)p->mode >= NMODES) {
		set_err(s, "%s: mode %d out of range", p->domain, p->mode);
		return MTASTS_INVALID;
	}
	expires = p->expires_at != 0 ? p->expires_at :
	    p->fetched_at + (time_t)p->max_age;
	if ((status = tx_begin(s)) != MTASTS_OK)
		return status;
	status = run(s, ST_PUT_POLICY, NULL, "storing policy",
	    "sssissiiISSII", p->domain, p->policy_id, mode_names[p->mode],
	    (sqlite3_int64)p->max_age, p->mx, p->policy_text,
	    (sqlite3_int64)p->fetched_at, (sqlite3_int64)expires,
	    (sqlite3_int64)p->txt_checked_at, p->last_error,
	    p->last_error_class, (sqlite3_int64)p->last_error_at,
	    (sqlite3_int64)p->next_retry_at);
	if (status == MTASTS_OK)
		status = run(s, ST_DEL_NEGATIVE, NULL,
		    "deleting negative entry", "s", p->domain);
	return tx_end(s, status);
}

enum mtasts_status
mtasts_store_get_policy(struct mtasts_store *s, const char *domain,
    struct mtasts_stored_policy *out)
{
	enum mtasts_status	 status;
	sqlite3_stmt		*st;
	int			 rc;

	memset(out, 0, sizeof(*out));
	if ((status = enter(s, 0)) != MTASTS_OK ||
	    (status = need_domain(s, domain)) != MTASTS_OK)
		return status;
	st = s->st[ST_GET_POLICY];
	if ((status = query(s, ST_GET_POLICY, "reading policy", "s",
	    domain)) != MTASTS_OK)
		return status;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		status = row_policy(s, st, out);
	else if (rc == SQLITE_DONE)
		status = MTASTS_NOPOLICY;
	else
		status = fail(s, rc, "reading policy");
	release(st);
	return status;
}

enum mtasts_status
mtasts_store_touch_txt(struct mtasts_store *s, const char *domain,
    time_t when)
{
	enum mtasts_status	status;
	int			changes = 0;

	if ((status = enter(s, 1)) != MTASTS_OK ||
	    (status = need_domain(s, domain)) != MTASTS_OK)
		return status;
	status = run(s, ST_TOUCH_TXT, &changes, "updating txt_checked_at",
	    "si", domain, (sqlite3_int64)when);
	if (status == MTASTS_OK && changes == 0)
		return MTASTS_NOPOLICY;
	return status;
}

enum mtasts_status
mtasts_store_set_policy_error(struct mtasts_store *s, const char *domain,
    const char *cls, const char *detail, time_t when, time_t next_retry_at)
{
	enum mtasts_status	status;
	int			changes = 0;

	if ((status = enter(s, 1)) != MTASTS_OK ||
	    (status = need_domain(s, domain)) != MTASTS_OK)
		return status;
	status = run(s, ST_SET_ERROR, &changes, "recording refresh error",
	    "sSSII", domain, detail, cls, (sqlite3_int64)when,
	    (sqlite3_int64)next_retry_at);
	if (status == MTASTS_OK && changes == 0)
		return MTASTS_NOPOLICY;
	return status;
}

/* ---------------------------------------------------------------- negative */

enum mtasts_status
mtasts_store_put_negative(struct mtasts_store *s, const char *domain,
    const char *cls, const char *detail, const char *policy_id,
    time_t created, time_t expires)
{
	enum mtasts_status	status;

	if ((status = enter(s, 1)) != MTASTS_OK ||
	    (status = need_domain(s, domain)) != MTASTS_OK)
		return status;
	return run(s, ST_PUT_NEGATIVE, NULL, "storing negative entry",
	    "ssSSii", domain, cls, detail, policy_id, (sqlite3_int64)created,
	    (sqlite3_int64)expires);
}

enum mtasts_status
mtasts_store_get_negative(struct mtasts_store *s, const char *domain,
    time_t now, struct mtasts_stored_negative *out)
{
	enum mtasts_status	 status;
	sqlite3_stmt		*st;
	int			 rc;

	memset(out, 0, sizeof(*out));
	if ((status = enter(s, 0)) != MTASTS_OK ||
	    (status = need_domain(s, domain)) != MTASTS_OK)
		return status;
	st = s->st[ST_GET_NEGATIVE];
	if ((status = query(s, ST_GET_NEGATIVE, "reading negative entry",
	    "si", domain, (sqlite3_int64)now)) != MTASTS_OK)
		return status;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_negative(st, out);
		status = MTASTS_OK;
	} else if (rc == SQLITE_DONE)
		status = MTASTS_NOPOLICY;
	else
		status = fail(s, rc, "reading negative entry");
	release(st);
	return status;
}

enum mtasts_status
mtasts_store_forget(struct mtasts_store *s, const char *domain)
{
	enum mtasts_status	status;
	int			changes = 0;

	if ((status = enter(s, 1)) != MTASTS_OK ||
	    (status = need_domain(s, domain)) != MTASTS_OK)
		return status;
	if ((status = tx_begin(s)) != MTASTS_OK)
		return status;
	status = run(s, ST_DEL_POLICY, &changes, "deleting policy", "s",
	    domain);
	if (status == MTASTS_OK)
		status = run(s, ST_DEL_NEGATIVE, &changes,
		    "deleting negative entry", "s", domain);
	status = tx_end(s, status);
	if (status == MTASTS_OK && changes == 0)
		return MTASTS_NOPOLICY;
	return status;
}

/* ---------------------------------------------------------------- probes */

/* A host name as the mx_probes table takes it. */
static enum mtasts_status
need_host(struct mtasts_store *s, const char *host)
{
	size_t	n = host != NULL ? strlen(host) : 0, i;

	for (i = 0; i < n; i++)
		if (!((host[i] >= 'a' && host[i] <= 'z') || (host[i] >= '0' &&
		    host[i] <= '9') || host[i] == '.' || host[i] == '-' ||
		    host[i] == '_'))
			break;
	if (n == 0 || n > 253 || i < n) {
		set_err(s, "not a lower-case host name");
		return MTASTS_INVALID;
	}
	return MTASTS_OK;
}

enum mtasts_status
mtasts_store_put_probe(struct mtasts_store *s,
    const struct mtasts_stored_probe *p)
{
	enum mtasts_status	status;

	if ((status = enter(s, 1)) != MTASTS_OK ||
	    (status = need_host(s, p->host)) != MTASTS_OK)
		return status;
	return run(s, ST_PUT_PROBE, NULL, "saving MX probe", "sSIsIISSSSSSSii",
	    p->host, p->addr, (sqlite3_int64)p->port, p->result_class,
	    (sqlite3_int64)p->smtp_code, (sqlite3_int64)p->verify_error,
	    p->tls_version, p->tls_cipher, p->cert_names, p->cert_subject,
	    p->cert_issuer, p->cert_not_after, p->detail,
	    (sqlite3_int64)p->probed_at, (sqlite3_int64)p->expires_at);
}

enum mtasts_status
mtasts_store_foreach_probe(struct mtasts_store *s,
    mtasts_store_probe_cb cb, void *arg)
{
	struct mtasts_stored_probe	 p;
	enum mtasts_status		 status;
	sqlite3_stmt			*st;
	int				 rc = SQLITE_DONE, stop = 0;

	if ((status = enter(s, 0)) != MTASTS_OK)
		return status;
	st = s->st[ST_ALL_PROBES];
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&p, 0, sizeof(p));
		col_copy(st, 0, p.host, sizeof(p.host));
		col_copy(st, 1, p.addr, sizeof(p.addr));
		p.port = sqlite3_column_int(st, 2);
		col_copy(st, 3, p.result_class, sizeof(p.result_class));
		p.smtp_code = sqlite3_column_int(st, 4);
		p.verify_error = (long)sqlite3_column_int64(st, 5);
		col_copy(st, 6, p.tls_version, sizeof(p.tls_version));
		col_copy(st, 7, p.tls_cipher, sizeof(p.tls_cipher));
		col_copy(st, 8, p.cert_names, sizeof(p.cert_names));
		col_copy(st, 9, p.cert_subject, sizeof(p.cert_subject));
		col_copy(st, 10, p.cert_issuer, sizeof(p.cert_issuer));
		col_copy(st, 11, p.cert_not_after, sizeof(p.cert_not_after));
		col_copy(st, 12, p.detail, sizeof(p.detail));
		p.probed_at = (time_t)sqlite3_column_int64(st, 13);
		p.expires_at = (time_t)sqlite3_column_int64(st, 14);
		stop = cb(arg, &p);
	}
	if (!stop && rc != SQLITE_DONE)
		status = fail(s, rc, "listing MX probes");
	release(st);
	return status;
}

/* ---------------------------------------------------------------- log */

enum mtasts_status
mtasts_store_log_fetch(struct mtasts_store *s, const char *domain,
    time_t when, const char *policy_id, const char *cls, int http_status,
    const char *detail)
{
	enum mtasts_status	status;

	if ((status = enter(s, 1)) != MTASTS_OK ||
	    (status = need_domain(s, domain)) != MTASTS_OK)
		return status;
	return run(s, ST_LOG_FETCH, NULL, "logging fetch", "siSsIS", domain,
	    (sqlite3_int64)when, policy_id, cls, (sqlite3_int64)http_status,
	    detail);
}

enum mtasts_status
mtasts_store_prune(struct mtasts_store *s, time_t now, long keep_seconds)
{
	enum mtasts_status	status;
	sqlite3_int64		cutoff;

	if ((status = enter(s, 1)) != MTASTS_OK)
		return status;
	if (keep_seconds < 0) {
		set_err(s, "negative keep time");
		return MTASTS_INVALID;
	}
	cutoff = (sqlite3_int64)now - keep_seconds;
	if ((status = tx_begin(s)) != MTASTS_OK)
		return status;
	status = run(s, ST_PRUNE_NEGATIVE, NULL, "pruning negative entries",
	    "i", (sqlite3_int64)now);
	if (status == MTASTS_OK)
		status = run(s, ST_PRUNE_LOG, NULL, "pruning fetch_log", "i",
		    cutoff);
	if (status == MTASTS_OK)
		status = run(s, ST_PRUNE_POLICY, NULL,
		    "pruning expired policies", "i", cutoff);
	if (status == MTASTS_OK)
		status = run(s, ST_PRUNE_PROBE, NULL, "pruning MX probes", "i",
		    cutoff);
	return tx_end(s, status);
}

/* ---------------------------------------------------------------- lists */

/* Step a bound POLICY_COLS query, handing each row to cb. */
static enum mtasts_status
each_policy(struct mtasts_store *s, enum stmt id, mtasts_store_policy_cb cb,
    void *arg, const char *what)
{
	struct mtasts_stored_policy	 p;
	enum mtasts_status		 status = MTASTS_OK;
	sqlite3_stmt			*st = s->st[id];
	int				 rc = SQLITE_DONE, stop = 0;

	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((status = row_policy(s, st, &p)) != MTASTS_OK)
			break;
		stop = cb(arg, &p);
		mtasts_stored_policy_clear(&p);
	}
	if (status == MTASTS_OK && !stop && rc != SQLITE_DONE)
		status = fail(s, rc, what);
	release(st);
	return status;
}

enum mtasts_status
mtasts_store_foreach_policy(struct mtasts_store *s,
    mtasts_store_policy_cb cb, void *arg)
{
	enum mtasts_status	status;

	if ((status = enter(s, 0)) != MTASTS_OK)
		return status;
	return each_policy(s, ST_ALL_POLICIES, cb, arg, "listing policies");
}

enum mtasts_status
mtasts_store_list_due(struct mtasts_store *s, time_t now, long horizon,
    mtasts_store_policy_cb cb, void *arg)
{
	enum mtasts_status	status;

	if ((status = enter(s, 0)) != MTASTS_OK)
		return status;
	if ((status = query(s, ST_DUE, "listing due policies", "ii",
	    (sqlite3_int64)now, (sqlite3_int64)horizon)) != MTASTS_OK)
		return status;
	return each_policy(s, ST_DUE, cb, arg, "listing due policies");
}

enum mtasts_status
mtasts_store_foreach_negative(struct mtasts_store *s,
    mtasts_store_negative_cb cb, void *arg)
{
	struct mtasts_stored_negative	 n;
	enum mtasts_status		 status;
	sqlite3_stmt			*st;
	int				 rc = SQLITE_DONE, stop = 0;

	if ((status = enter(s, 0)) != MTASTS_OK)
		return status;
	st = s->st[ST_ALL_NEGATIVES];
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_negative(st, &n);
		stop = cb(arg, &n);
	}
	if (!stop && rc != SQLITE_DONE)
		status = fail(s, rc, "listing negative entries");
	release(st);
	return status;
}

enum mtasts_status
mtasts_store_foreach_fetch(struct mtasts_store *s, const char *domain,
    int limit, mtasts_store_fetch_cb cb, void *arg)
{
	struct mtasts_stored_fetch	 f;
	enum mtasts_status		 status;
	sqlite3_stmt			*st;
	int				 rc = SQLITE_DONE, stop = 0;

	if ((status = enter(s, 0)) != MTASTS_OK ||
	    (status = need_domain(s, domain)) != MTASTS_OK)
		return status;
	st = s->st[ST_FETCHES];
	/* SQLite reads a negative LIMIT as "no limit". */
	if ((status = query(s, ST_FETCHES, "listing fetches", "si", domain,
	    (sqlite3_int64)(limit > 0 ? limit : -1))) != MTASTS_OK)
		return status;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&f, 0, sizeof(f));
		f.id = (long)sqlite3_column_int64(st, 0);
		col_copy(st, 1, f.domain, sizeof(f.domain));
		f.at = (time_t)sqlite3_column_int64(st, 2);
		col_copy(st, 3, f.policy_id, sizeof(f.policy_id));
		col_copy(st, 4, f.result_class, sizeof(f.result_class));
		f.http_status = sqlite3_column_int(st, 5);
		col_copy(st, 6, f.detail, sizeof(f.detail));
		stop = cb(arg, &f);
	}
	if (!stop && rc != SQLITE_DONE)
		status = fail(s, rc, "listing fetches");
	release(st);
	return status;
}

/* One row of integers from a statement bound to now. */
static enum mtasts_status
count_row(struct mtasts_store *s, enum stmt id, time_t now, long *out,
    int ncols)
{
	enum mtasts_status	 status;
	sqlite3_stmt		*st = s->st[id];
	int			 i, rc;

	if ((status = query(s, id, "counting", "i",
	    (sqlite3_int64)now)) != MTASTS_OK)
		return status;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < ncols; i++)
			out[i] = (long)sqlite3_column_int64(st, i);
	} else
		status = fail(s, rc, "counting");
	release(st);
	return status;
}

enum mtasts_status
mtasts_store_stats(struct mtasts_store *s, time_t now,
    struct mtasts_store_stats *out)
{
	enum mtasts_status	status;
	long			v[4];

	memset(out, 0, sizeof(*out));
	if ((status = enter(s, 0)) != MTASTS_OK)
		return status;
	if ((status = count_row(s, ST_STAT_POLICIES, now, v, 4)) != MTASTS_OK)
		return status;
	out->by_mode[MTASTS_MODE_NONE] = v[0];
	out->by_mode[MTASTS_MODE_TESTING] = v[1];
	out->by_mode[MTASTS_MODE_ENFORCE] = v[2];
	out->expired = v[3];
	if ((status = count_row(s, ST_STAT_NEGATIVES, now, v, 1)) != MTASTS_OK)
		return status;
	out->negatives = v[0];
	if ((status = count_row(s, ST_STAT_FETCHES, now, v, 2)) != MTASTS_OK)
		return status;
	out->fetches_24h = v[0];
	out->failures_24h = v[1];
	return MTASTS_OK;
}

/* ---------------------------------------------------------------- routing */

enum mtasts_status
mtasts_store_replace_controls(struct mtasts_store *s,
    const struct mtasts_store_control *v, size_t n, time_t now)
{
	enum mtasts_status	status;
	size_t			i;

	if ((status = enter(s, 1)) != MTASTS_OK)
		return status;
	if (n > 0 && v == NULL)
		return MTASTS_INVALID;
	if ((status = tx_begin(s)) != MTASTS_OK)
		return status;
	status = run(s, ST_DEL_CONTROLS, NULL, "clearing domain_controls", "");
	for (i = 0; i < n && status == MTASTS_OK; i++)
		status = run(s, ST_PUT_CONTROL, NULL, "storing a domain control",
		    "sssi", v[i].pattern, v[i].control, v[i].source,
		    (sqlite3_int64)now);
	return tx_end(s, status);
}

enum mtasts_status
mtasts_store_route(struct mtasts_store *s, const char *key,
    time_t *expires_at)
{
	enum mtasts_status	 status;
	sqlite3_stmt		*st;
	int			 rc;

	if (expires_at != NULL)
		*expires_at = 0;
	if ((status = enter(s, 0)) != MTASTS_OK ||
	    (status = need_domain(s, key)) != MTASTS_OK)
		return status;
	st = s->st[ST_ROUTE];
	if ((status = query(s, ST_ROUTE, "asking enforced_domains", "s",
	    key)) != MTASTS_OK)
		return status;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (expires_at != NULL)
			*expires_at = (time_t)sqlite3_column_int64(st, 1);
		status = MTASTS_OK;
	} else if (rc == SQLITE_DONE)
		status = MTASTS_NOPOLICY;
	else
		status = fail(s, rc, "asking enforced_domains");
	release(st);
	return status;
}
