/*
 * store.h: the SQLite policy store (sql/README describes the schema).
 *
 * The only module that speaks SQL.  It keeps valid policies, bounded
 * "no policy" results and a history of fetch attempts in one database file
 * that operators read with sqlite3(1) and OpenSMTPD reads through
 * table-sqlite.  The store makes no MTA-STS decisions: callers pass the
 * current time and decide what an expired row means.
 *
 * Threads: a struct mtasts_store is one SQLite connection with its
 * prepared statements and error text, and must be used by one thread at a
 * time.  Give each thread its own handle (the engine's worker owns the
 * writer; mta-sts-ctl opens its own); the handles share nothing in memory,
 * and SQLite's file locking keeps them consistent.  There is no mutex
 * inside.
 *
 * Locking: the database runs in WAL mode, so readers never wait for a
 * writer.  A call that must wait for a lock waits at most the busy timeout
 * (MTASTS_STORE_BUSY_MS unless changed) and then returns MTASTS_TEMPFAIL.
 *
 * Status values: MTASTS_OK; MTASTS_NOPOLICY when the row asked for does not
 * exist; MTASTS_TEMPFAIL when the database is busy or locked; MTASTS_INVALID
 * when the database refused the values (a constraint, e.g. an upper-case
 * domain); MTASTS_INTERNAL for everything else (I/O, full disk, read-only
 * handle, out of memory).  After any failure mtasts_store_errmsg() says what
 * went wrong.
 *
 * Empty values: a time of 0 and an empty string are stored as SQL NULL and
 * read back as 0 and "".
 */
#ifndef MTASTS_STORE_H
#define MTASTS_STORE_H

#include <stddef.h>
#include <time.h>

#include "status.h"

#define MTASTS_STORE_SCHEMA_VERSION	3	/* PRAGMA user_version */
#define MTASTS_STORE_BUSY_MS		2000	/* default lock wait */

struct mtasts_store;

/* One row of the policies table. */
struct mtasts_stored_policy {
	char	 domain[256];		/* A-label, lower case */
	char	 policy_id[33];		/* TXT id the policy was fetched for */
	int	 mode;			/* enum mtasts_mode (policy.h) */
	long	 max_age;		/* seconds */
	char	*mx;			/* patterns, "\n"-separated; owned */
	char	*policy_text;		/* body as served; owned */
	time_t	 fetched_at;
	time_t	 expires_at;		/* 0 on put: fetched_at + max_age */
	time_t	 txt_checked_at;
	time_t	 last_error_at;
	time_t	 next_retry_at;		/* no refresh before; 0: none */
	char	 last_error[256];
	char	 last_error_class[32];
};

/* One row of the negative table. */
struct mtasts_stored_negative {
	char	 domain[256];
	char	 reason_class[32];	/* "no-txt", "timeout", ... */
	char	 detail[256];
	char	 policy_id[33];		/* TXT id that failed, or "" */
	time_t	 created_at;
	time_t	 expires_at;
};

/* One row of the fetch_log table. */
struct mtasts_stored_fetch {
	long	 id;			/* row number, increasing */
	char	 domain[256];
	time_t	 at;
	char	 policy_id[33];		/* "" when none was known */
	char	 result_class[32];	/* "ok" or a failure class */
	int	 http_status;		/* 0 when no response arrived */
	char	 detail[256];
};

/* One row of the mx_probes table (common/mxcheck.c fills it). */
struct mtasts_stored_probe {
	char	 host[256];		/* MX host name, lower case */
	char	 addr[64];		/* address probed last, or "" */
	int	 port;
	char	 result_class[32];	/* "ok", an RFC 8460 type, ... */
	int	 smtp_code;
	long	 verify_error;		/* X509_V_ERR_*, 0 if none */
	char	 tls_version[16];
	char	 tls_cipher[64];
	char	 cert_names[512];	/* DNS SANs, comma-separated */
	char	 cert_subject[256];
	char	 cert_issuer[256];
	char	 cert_not_after[32];
	char	 detail[256];
	time_t	 probed_at;
	time_t	 expires_at;
};

struct mtasts_store_stats {
	long	 by_mode[3];	/* unexpired policies per enum mtasts_mode */
	long	 expired;	/* policies at or past expires_at */
	long	 negatives;	/* unexpired negative rows */
	long	 fetches_24h;	/* fetch_log rows in the last 24 hours */
	long	 failures_24h;	/* of those, result_class other than "ok" */
};

/*
 * Called once per row; the row is borrowed for the duration of the call
 * only (copy what you keep).  Return 0 to go on, anything else to stop.
 * The callback must not use the same store handle.
 */
typedef int (*mtasts_store_policy_cb)(void *arg,
    const struct mtasts_stored_policy *);
typedef int (*mtasts_store_negative_cb)(void *arg,
    const struct mtasts_stored_negative *);
typedef int (*mtasts_store_fetch_cb)(void *arg,
    const struct mtasts_stored_fetch *);
typedef int (*mtasts_store_probe_cb)(void *arg,
    const struct mtasts_stored_probe *);

/*
 * Open the database at path, creating it unless readonly (the directory
 * must exist), switch it to WAL, apply missing migrations in one
 * transaction, and prepare every statement.  Returns NULL, with the reason
 * in diag, for a missing directory or file, a file that is not a database,
 * a schema newer than this program knows (or, read-only, older), or a lock
 * held for longer than the busy timeout during migration.  Caller frees
 * with mtasts_store_close().
 */
struct mtasts_store	*mtasts_store_open(const char *path, int readonly,
			    struct mtasts_diag *diag);

/* Finalize everything and close.  NULL is accepted. */
void			 mtasts_store_close(struct mtasts_store *);

/* Change the lock wait (milliseconds, >= 0). */
enum mtasts_status	 mtasts_store_set_busy_timeout(struct mtasts_store *,
			    int ms);

/*
 * Text of the last failure on this handle ("" when none); borrowed, valid
 * until the next call on the handle.  NULL gives a fixed string.
 */
const char		*mtasts_store_errmsg(const struct mtasts_store *);

/* Free what a row owns and zero it.  NULL is accepted. */
void			 mtasts_stored_policy_clear(
			    struct mtasts_stored_policy *);

/*
 * Insert or replace the policy of p->domain, every column as given, and
 * delete the domain's negative row, in one transaction.  NULL mx or
 * policy_text store "".
 */
enum mtasts_status	 mtasts_store_put_policy(struct mtasts_store *,
			    const struct mtasts_stored_policy *p);

/*
 * Read the policy of domain into out, expired or not; on MTASTS_OK the
 * caller releases it with mtasts_stored_policy_clear() (mx and policy_text
 * are never NULL).  MTASTS_NOPOLICY when there is no row.  On failure out
 * is zeroed.
 */
enum mtasts_status	 mtasts_store_get_policy(struct mtasts_store *,
			    const char *domain,
			    struct mtasts_stored_policy *out);

/* Record that the TXT record still names this policy.  NOPOLICY: no row. */
enum mtasts_status	 mtasts_store_touch_txt(struct mtasts_store *,
			    const char *domain, time_t when);

/*
 * Record a failed refresh of a cached policy and when to try again; the
 * policy itself is kept (RFC 8461 section 3.3).  NOPOLICY: no row.
 */
enum mtasts_status	 mtasts_store_set_policy_error(struct mtasts_store *,
			    const char *domain, const char *cls,
			    const char *detail, time_t when,
			    time_t next_retry_at);

/* Insert or replace the negative row of domain; policy_id may be NULL. */
enum mtasts_status	 mtasts_store_put_negative(struct mtasts_store *,
			    const char *domain, const char *cls,
			    const char *detail, const char *policy_id,
			    time_t created, time_t expires);

/*
 * Read the negative row of domain into out.  MTASTS_NOPOLICY when there
 * is none or it has expired (expires_at <= now).
 */
enum mtasts_status	 mtasts_store_get_negative(struct mtasts_store *,
			    const char *domain, time_t now,
			    struct mtasts_stored_negative *out);

/* Delete domain from policies and negative.  NOPOLICY: it was in neither. */
enum mtasts_status	 mtasts_store_forget(struct mtasts_store *,
			    const char *domain);

/*
 * Append to fetch_log.  cls is "ok" or a failure class; policy_id and
 * detail may be NULL, http_status 0 means none.
 */
enum mtasts_status	 mtasts_store_log_fetch(struct mtasts_store *,
			    const char *domain, time_t when,
			    const char *policy_id, const char *cls,
			    int http_status, const char *detail);

/*
 * Insert or replace the probe row of p->host (lower case; else
 * MTASTS_INVALID).  Empty strings and a port, code or error of 0 store
 * NULL.
 */
enum mtasts_status	 mtasts_store_put_probe(struct mtasts_store *,
			    const struct mtasts_stored_probe *p);

/* Every probe row (expired ones too), ordered by host. */
enum mtasts_status	 mtasts_store_foreach_probe(struct mtasts_store *,
			    mtasts_store_probe_cb cb, void *arg);

/*
 * Housekeeping, in one transaction: delete negative rows with
 * expires_at <= now, fetch_log rows older than now - keep_seconds, and
 * policies and MX probes that expired more than keep_seconds ago.
 */
enum mtasts_status	 mtasts_store_prune(struct mtasts_store *, time_t now,
			    long keep_seconds);

/* Every policy (expired ones too), ordered by domain. */
enum mtasts_status	 mtasts_store_foreach_policy(struct mtasts_store *,
			    mtasts_store_policy_cb cb, void *arg);

/* Every negative row (expired ones too), ordered by domain. */
enum mtasts_status	 mtasts_store_foreach_negative(struct mtasts_store *,
			    mtasts_store_negative_cb cb, void *arg);

/*
 * The fetch_log rows of domain, newest first, at most limit of them
 * (limit <= 0: all).
 */
enum mtasts_status	 mtasts_store_foreach_fetch(struct mtasts_store *,
			    const char *domain, int limit,
			    mtasts_store_fetch_cb cb, void *arg);

/* Counts for mta-sts-ctl and the periodic status line. */
enum mtasts_status	 mtasts_store_stats(struct mtasts_store *, time_t now,
			    struct mtasts_store_stats *out);

/*
 * Policies the background refresh should look at, soonest expiry first:
 * those not held back by next_retry_at (NULL or <= now) that expire
 * within horizon seconds (expired ones included), have not been checked
 * in DNS for horizon seconds (txt_checked_at, else fetched_at), or have a
 * failed refresh whose retry time has come.
 */
enum mtasts_status	 mtasts_store_list_due(struct mtasts_store *,
			    time_t now, long horizon,
			    mtasts_store_policy_cb cb, void *arg);

/*
 * Routing for OpenSMTPD (sql/README, "enforced_domains").  smtpd routes a
 * recipient to its verifying "relay tls" action when table-sqlite finds
 * the recipient domain with this query (etc/mta-sts-sqlite.conf carries
 * it verbatim); mtasts_store_route() asks the same question.
 */
#define MTASTS_STORE_ROUTE_QUERY \
	"SELECT domain FROM enforced_domains WHERE domain = lower(?);"

/* One row of domain_controls. */
struct mtasts_store_control {
	const char	*pattern;	/* lower case; ".x": names below x */
	const char	*control;	/* "enforce" or "skip" */
	const char	*source;	/* the configuration parameter */
};

/*
 * Replace every row of domain_controls with v[0..n) in one transaction;
 * of two entries with the same pattern the later one stays.
 * MTASTS_INVALID, nothing changed, when an entry does not fit the table
 * (a pattern with upper case or other characters than LDH and dots).
 */
enum mtasts_status	 mtasts_store_replace_controls(struct mtasts_store *,
			    const struct mtasts_store_control *v, size_t n,
			    time_t now);

/*
 * The routing question for key exactly as smtpd hands it to table-sqlite
 * (the recipient domain as written, lower-cased by the query only):
 * MTASTS_OK when enforced_domains has it at this moment, with the expiry
 * of its policy in *expires_at (may be NULL); MTASTS_NOPOLICY when not.
 */
enum mtasts_status	 mtasts_store_route(struct mtasts_store *,
			    const char *key, time_t *expires_at);

#endif /* MTASTS_STORE_H */
