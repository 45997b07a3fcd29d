/*
 * engine.c: discovery, caching and refresh of MTA-STS policies.
 *
 * Threads.  Callers (milter threads, the map server, the CLI) only read and
 * change the memory cache and the list of discoveries, under e->lock.  One
 * worker thread owns the resolver, the fetcher and the SQLite handle and
 * runs every discovery as a chain of callbacks from its event loop
 * (curl_multi_poll with libunbound's fd among the extra fds).  A caller
 * that needs a discovery appends it to the list and wakes the worker; it
 * then waits on e->done, which the worker broadcasts whenever a discovery
 * ends.
 *
 * One discovery per domain: TXT at _mta-sts.<domain>; when that names a
 * policy id we do not hold (or a refresh is forced), A and AAAA of
 * mta-sts.<domain>, then the HTTPS fetch.  What it learns lands in the
 * cache and the store:
 *
 *   policy fetched           -> policy entry, expires fetched_at + max_age
 *   same id as cached        -> txt_checked_at updated, nothing fetched
 *   no/invalid TXT record    -> cached policy kept until it expires
 *                               (RFC 8461 §3.1 note, STS-09), else a
 *                               negative entry for NegativeCacheTime
 *   fetch failed             -> cached policy kept and retry_at set
 *                               (§3.3, STS-36), else a negative entry for
 *                               FetchRetryInterval, which also spaces
 *                               retries for that id (STS-33, STS-35)
 *   DNS SERVFAIL or timeout  -> cached policy kept (STS-13), else a short
 *                               temporary entry so that a failing zone is
 *                               not queried on every lookup
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "cache.h"
#include "conf.h"
#include "domain.h"
#include "engine.h"
#include "fetch.h"
#include "ioconf.h"
#include "log.h"
#include "mxcheck.h"
#include "resolver.h"
#include "store.h"
#include "strutil.h"
#include "txt.h"

#define TEMP_LIFETIME		60	/* s, DNS trouble remembered */
#define STALE_NEGATIVE_KEEP	86400	/* s an expired negative stays in memory */
#define SCAN_INTERVAL		30	/* s, between refresh scans */
#define PRUNE_INTERVAL		3600	/* s, between store prunes */
#define HISTORY_KEEP		(30 * 86400)	/* s of fetch_log kept */
#define LOOP_MAX_WAIT_MS	1000
#define MX_BUCKETS		1024
#define MX_CACHE_MAX		16384	/* MX sets kept in memory */
#define MX_TTL_MIN		30	/* s: a TTL of 0 would cost a query */
#define MX_TTL_MAX		3600	/* s: per RCPT */
#define MX_TEMP_LIFETIME	30	/* s, MX lookup trouble remembered */

struct disc {
	struct disc		*next;
	struct mtasts_engine	*e;
	char			 domain[256];
	int			 force;		/* fetch even if id unchanged */
	int			 started;
	unsigned int		 qid_txt, qid_a, qid_aaaa, fid;
	int			 addr_pending;
	int			 addr_temp;	/* an address query failed */
	char			 id[MTASTS_ID_MAX + 1];
	char			 addrs[MTASTS_FETCH_MAX_ADDRS][MTASTS_DNS_ADDR_BUFSZ];
	size_t			 naddrs;
};

struct forget {
	struct forget		*next;
	char			 domain[256];
};

/* An MX set in memory: hosts as NUL-separated names in data[]. */
struct mx_entry {
	struct mx_entry		*next;
	int64_t			 expires_at;
	uint8_t			 status;	/* enum mtasts_status */
	uint8_t			 implicit, null_mx, secure;
	uint8_t			 n;
	uint16_t		 total;
	uint16_t		 pref[MTASTS_MX_SET_MAX];
	char			 reason[24];
	char			 data[];	/* domain\0host\0host\0... */
};

/* An MX lookup queued or running. */
struct mxq {
	struct mxq		*next;
	struct mtasts_engine	*e;
	char			 domain[256];
	int			 started;
	unsigned int		 qid;
};

struct mtasts_engine {
	const struct mtasts_config	*cfg;
	struct mtasts_engine_opts	 opts;

	pthread_mutex_t			 lock;
	pthread_cond_t			 done;
	struct mtasts_cache		*cache;
	struct disc			*discs;		/* queued and running */
	size_t				 ndiscs;
	size_t				 nrunning;
	struct forget			*forgets;
	int				 stopping;
	struct mtasts_engine_stats	 st;
	struct mx_entry			*mx_tab[MX_BUCKETS];
	size_t				 mx_count;
	struct mxq			*mxqs;

	/* worker thread only */
	pthread_t			 worker;
	int				 worker_started;
	struct mtasts_resolver		*res;
	struct mtasts_fetcher		*fet;
	struct mtasts_store		*store;
	struct mtasts_mxcheck		*mxc;
	struct curl_waitfd		*wfd;
	unsigned int			 nwfd;
	int64_t				 next_scan;
	int64_t				 next_prune;
};

static void	disc_finish(struct disc *);

static int64_t
now_s(const struct mtasts_engine *e)
{
	if (e->opts.now != NULL)
		return e->opts.now(e->opts.now_arg);
	return (int64_t)time(NULL);
}

/* ---------------------------------------------------------------- answers */

const char *
mtasts_answer_mx(const struct mtasts_answer *a, size_t i)
{
	if (a->entry == NULL)
		return NULL;
	return mtasts_cache_mx(a->entry, i);
}

void
mtasts_answer_clear(struct mtasts_answer *a)
{
	free(a->entry);
	memset(a, 0, sizeof(*a));
}

/* Fill out from a usable entry; the caller holds the lock. */
static enum mtasts_status
answer_fill(const struct mtasts_cache_entry *ent, struct mtasts_answer *out)
{
	mtasts_strcopy(out->id, sizeof(out->id), ent->id);
	out->fetched_at = ent->fetched_at;
	out->expires_at = ent->expires_at;
	switch (ent->kind) {
	case MTASTS_CACHE_POLICY:
		if ((out->entry = mtasts_cache_entry_dup(ent)) == NULL) {
			mtasts_strcopy(out->reason, sizeof(out->reason),
			    "out of memory");
			return out->status = MTASTS_INTERNAL;
		}
		out->mode = (enum mtasts_mode)ent->mode;
		out->nmx = ent->nmx;
		return out->status = MTASTS_OK;
	case MTASTS_CACHE_NEGATIVE:
		mtasts_strcopy(out->reason, sizeof(out->reason), ent->reason);
		return out->status = MTASTS_NOPOLICY;
	default:
		mtasts_strcopy(out->reason, sizeof(out->reason), ent->reason);
		return out->status = MTASTS_TEMPFAIL;
	}
}

/* ---------------------------------------------------------------- queue */

static struct disc *
disc_find(struct mtasts_engine *e, const char *domain)
{
	struct disc	*d;

	for (d = e->discs; d != NULL; d = d->next)
		if (strcmp(d->domain, domain) == 0)
			return d;
	return NULL;
}

/*
 * The discovery of domain, queued if none is under way; caller holds the
 * lock.  A forced request upgrades a queued one that has not started.
 */
static struct disc *
disc_want(struct mtasts_engine *e, const char *domain, int force)
{
	struct disc	*d, **pp;

	if ((d = disc_find(e, domain)) != NULL) {
		if (force && !d->started)
			d->force = 1;
		return d;
	}
	if (e->stopping || strlen(domain) >= sizeof(d->domain))
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->e = e;
	mtasts_strcopy(d->domain, sizeof(d->domain), domain);
	d->force = force;
	/* FIFO: append, so that a burst is served in arrival order. */
	for (pp = &e->discs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = d;
	e->ndiscs++;
	if (e->fet != NULL)
		mtasts_fetcher_wakeup(e->fet);
	return d;
}

/* ------------------------------------------------------- cache decisions */

/*
 * Seconds after a fetch when a policy is refetched in the background:
 * RefreshInterval, but never later than half its lifetime, so a short
 * max_age still gets refreshed before it runs out (RFC 8461 §10.2).
 */
static int64_t
refresh_after(const struct mtasts_engine *e,
    const struct mtasts_cache_entry *ent)
{
	int64_t	r = e->cfg->refresh_interval;

	if ((int64_t)ent->max_age / 2 < r)
		r = (int64_t)ent->max_age / 2;
	return r;
}

/* Queue a background check of a cached policy when one is due. */
static void
maybe_refresh(struct mtasts_engine *e, const struct mtasts_cache_entry *ent,
    int64_t now)
{
	int	txt_due, fetch_due;

	if (ent->kind != MTASTS_CACHE_POLICY)
		return;
	fetch_due = now >= ent->fetched_at + refresh_after(e, ent) &&
	    now >= ent->retry_at;
	txt_due = now >= ent->txt_checked_at + e->cfg->txt_recheck_interval;
	if ((fetch_due || txt_due) &&
	    disc_find(e, mtasts_cache_domain(ent)) == NULL &&
	    e->ndiscs < (size_t)e->cfg->max_discoveries * 4)
		(void)disc_want(e, mtasts_cache_domain(ent), fetch_due);
}

/* ---------------------------------------------------------------- store */

static void
store_warn(struct mtasts_engine *e, const char *domain, const char *what,
    enum mtasts_status st)
{
	mtasts_log(LOG_WARNING, domain, "store: cannot %s: %s (%s)", what,
	    mtasts_store_errmsg(e->store), mtasts_status_str(st));
}

static void
store_policy(struct mtasts_engine *e, const char *domain, const char *id,
    const struct mtasts_policy *p, const char *body, int64_t now)
{
	struct mtasts_stored_policy	 sp;
	struct mtasts_buf		 mx;
	enum mtasts_status		 st;
	size_t				 i;

	if (e->store == NULL)
		return;
	memset(&sp, 0, sizeof(sp));
	mtasts_buf_init(&mx, 1024 * 1024);
	for (i = 0; i < p->nmx; i++)
		(void)mtasts_buf_printf(&mx, "%s%s", i ? "\n" : "", p->mx[i]);
	mtasts_strcopy(sp.domain, sizeof(sp.domain), domain);
	mtasts_strcopy(sp.policy_id, sizeof(sp.policy_id), id);
	sp.mode = p->mode;
	sp.max_age = (long)p->max_age;
	sp.mx = mx.data != NULL ? mx.data : (char *)"";
	sp.policy_text = (char *)(body != NULL ? body : "");
	sp.fetched_at = (time_t)now;
	sp.txt_checked_at = (time_t)now;
	if ((st = mtasts_store_put_policy(e->store, &sp)) != MTASTS_OK)
		store_warn(e, domain, "save policy", st);
	mtasts_buf_free(&mx);
}

static void
store_negative(struct mtasts_engine *e, const char *domain, const char *cls,
    const char *detail, const char *id, int64_t now, int64_t expires)
{
	enum mtasts_status	st;

	if (e->store == NULL)
		return;
	st = mtasts_store_put_negative(e->store, domain, cls, detail,
	    id != NULL && *id != '\0' ? id : NULL, (time_t)now,
	    (time_t)expires);
	if (st != MTASTS_OK)
		store_warn(e, domain, "save negative result", st);
}

static void
store_fetch_log(struct mtasts_engine *e, const char *domain, int64_t now,
    const char *id, const char *cls, long http_status, const char *detail)
{
	enum mtasts_status	st;

	if (e->store == NULL)
		return;
	st = mtasts_store_log_fetch(e->store, domain, (time_t)now, id, cls,
	    (int)http_status, detail);
	if (st != MTASTS_OK)
		store_warn(e, domain, "log fetch", st);
}

/* Load what the store holds, so a restart costs no lookups (STS-36). */
struct load_ctx {
	struct mtasts_engine	*e;
	int64_t			 now;
	size_t			 policies, negatives;
};

static int
load_policy(void *arg, const struct mtasts_stored_policy *sp)
{
	struct load_ctx			*lc = arg;
	struct mtasts_cache_entry	*ent;
	const char			*mx[1024];
	char				*copy, *p, *nl;
	size_t				 nmx = 0;

	if ((int64_t)sp->expires_at <= lc->now)
		return 0;
	if ((copy = strdup(sp->mx != NULL ? sp->mx : "")) == NULL)
		return 0;
	for (p = copy; *p != '\0' && nmx < 1024; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		else
			nl = p + strlen(p);
		if (*p != '\0')
			mx[nmx++] = p;
	}
	ent = mtasts_cache_put_policy(lc->e->cache, sp->domain, sp->policy_id,
	    (enum mtasts_mode)sp->mode, (unsigned long)sp->max_age, mx, nmx,
	    (int64_t)sp->fetched_at, (int64_t)sp->txt_checked_at);
	if (ent != NULL) {
		/* A stored expiry may be earlier than fetched_at + max_age. */
		ent->expires_at = (int64_t)sp->expires_at;
		ent->retry_at = (int64_t)sp->next_retry_at;
		lc->policies++;
	}
	free(copy);
	return 0;
}

static int
load_negative(void *arg, const struct mtasts_stored_negative *sn)
{
	struct load_ctx	*lc = arg;

	if ((int64_t)sn->expires_at <= lc->now)
		return 0;
	if (mtasts_cache_put_negative(lc->e->cache, MTASTS_CACHE_NEGATIVE,
	    sn->domain, sn->reason_class, sn->policy_id,
	    (int64_t)sn->created_at, (int64_t)sn->expires_at,
	    (int64_t)sn->expires_at) != NULL)
		lc->negatives++;
	return 0;
}

static void
store_load(struct mtasts_engine *e)
{
	struct load_ctx	lc;

	memset(&lc, 0, sizeof(lc));
	lc.e = e;
	lc.now = now_s(e);
	pthread_mutex_lock(&e->lock);
	if (mtasts_store_foreach_policy(e->store, load_policy, &lc) !=
	    MTASTS_OK || mtasts_store_foreach_negative(e->store,
	    load_negative, &lc) != MTASTS_OK)
		mtasts_log(LOG_WARNING, NULL, "store: cannot load: %s",
		    mtasts_store_errmsg(e->store));
	pthread_mutex_unlock(&e->lock);
	mtasts_log(LOG_INFO, NULL, "loaded %zu policies and %zu negative "
	    "results from %s", lc.policies, lc.negatives, e->cfg->database);
}

/* -------------------------------------------------------------- discovery */

static void
on_fetch(void *arg, const struct mtasts_fetch_result *r)
{
	struct disc			*d = arg;
	struct mtasts_engine		*e = d->e;
	struct mtasts_cache_entry	*ent;
	const char			*cls = mtasts_fetch_class_str(r->cls);
	int64_t				 now = now_s(e);
	int				 cached = 0, cached_mode = 0;
	size_t				 i;

	d->fid = 0;
	store_fetch_log(e, d->domain, now, d->id, cls, r->http_status,
	    r->cls == MTASTS_FETCH_OK ? NULL : r->error);
	pthread_mutex_lock(&e->lock);
	e->st.fetches++;
	if (r->cls == MTASTS_FETCH_OK && r->policy != NULL) {
		const struct mtasts_policy	*p = r->policy;

		ent = mtasts_cache_put_policy(e->cache, d->domain, d->id,
		    p->mode, p->max_age, (const char *const *)p->mx, p->nmx,
		    now, now);
		pthread_mutex_unlock(&e->lock);
		if (ent == NULL)
			mtasts_log(LOG_ERR, d->domain, "out of memory caching "
			    "the policy");
		mtasts_log(LOG_INFO, d->domain, "policy fetched: id=%s "
		    "mode=%s max_age=%lu mx=%zu", d->id,
		    mtasts_mode_str(p->mode), p->max_age, p->nmx);
		for (i = 0; i < p->nmx && mtasts_log_enabled(LOG_DEBUG); i++)
			mtasts_log(LOG_DEBUG, d->domain, "policy mx: %s",
			    p->mx[i]);
		store_policy(e, d->domain, d->id, p, r->body, now);
		disc_finish(d);
		return;
	}
	e->st.fetch_failures++;
	ent = mtasts_cache_get(e->cache, d->domain);
	if (ent != NULL && ent->kind == MTASTS_CACHE_POLICY &&
	    mtasts_cache_usable(ent, now)) {
		/* A failed refresh keeps the cached policy (STS-36). */
		cached = 1;
		cached_mode = ent->mode;
		ent->retry_at = now + e->cfg->fetch_retry_interval;
	} else
		(void)mtasts_cache_put_negative(e->cache,
		    MTASTS_CACHE_NEGATIVE, d->domain, cls, d->id, now,
		    now + e->cfg->fetch_retry_interval,
		    now + e->cfg->fetch_retry_interval);
	pthread_mutex_unlock(&e->lock);

	if (cached) {
		/* Operators must hear of it, unless the policy is none. */
		mtasts_log(cached_mode == MTASTS_MODE_NONE ? LOG_INFO :
		    LOG_WARNING, d->domain, "policy refresh failed "
		    "(id=%s class=%s): %s; keeping the cached policy", d->id,
		    cls, r->error);
		if (e->store != NULL) {
			enum mtasts_status st;

			st = mtasts_store_set_policy_error(e->store,
			    d->domain, cls, r->error, (time_t)now,
			    (time_t)(now + e->cfg->fetch_retry_interval));
			if (st != MTASTS_OK && st != MTASTS_NOPOLICY)
				store_warn(e, d->domain, "record error", st);
		}
	} else {
		mtasts_log(LOG_INFO, d->domain, "policy fetch failed (id=%s "
		    "class=%s): %s; no policy applies", d->id, cls, r->error);
		store_negative(e, d->domain, cls, r->error, d->id, now,
		    now + e->cfg->fetch_retry_interval);
	}
	disc_finish(d);
}

static void
start_fetch(struct disc *d)
{
	struct mtasts_engine	*e = d->e;
	const char		*addrs[MTASTS_FETCH_MAX_ADDRS];
	size_t			 i;

	for (i = 0; i < d->naddrs; i++)
		addrs[i] = d->addrs[i];
	mtasts_log(LOG_DEBUG, d->domain, "fetching policy id=%s from %zu "
	    "address(es)", d->id, d->naddrs);
	if (mtasts_fetch_start(e->fet, d->domain, addrs, d->naddrs, 0,
	    on_fetch, d, &d->fid) != MTASTS_OK) {
		mtasts_log(LOG_ERR, d->domain, "cannot start the policy fetch");
		disc_finish(d);
	}
}

static void
on_addr(void *arg, const struct mtasts_dns_answer *a)
{
	struct disc	*d = arg;
	size_t		 i;

	if (a->rrtype == MTASTS_RR_A)
		d->qid_a = 0;
	else
		d->qid_aaaa = 0;
	if (a->status == MTASTS_DNS_OK) {
		for (i = 0; i < a->count &&
		    d->naddrs < MTASTS_FETCH_MAX_ADDRS; i++)
			if (mtasts_dns_addr_str(a->rrtype, a->rdata[i],
			    a->rdlen[i], d->addrs[d->naddrs],
			    sizeof(d->addrs[0])) == 0)
				d->naddrs++;
	} else if (a->status != MTASTS_DNS_NXDOMAIN &&
	    a->status != MTASTS_DNS_NODATA)
		d->addr_temp = 1;
	mtasts_log(LOG_DEBUG, d->domain, "%s %s: %s (%zu records)",
	    a->rrtype == MTASTS_RR_A ? "A" : "AAAA", a->qname,
	    mtasts_dns_rcode_str(a->status), a->count);
	if (--d->addr_pending > 0)
		return;
	/* No address: the fetcher reports it as class "dns". */
	start_fetch(d);
}

static void
start_addr_lookup(struct disc *d)
{
	struct mtasts_engine	*e = d->e;
	char			 host[300];

	(void)snprintf(host, sizeof(host), "mta-sts.%s", d->domain);
	d->addr_pending = 0;
	if (mtasts_resolver_query(e->res, host, MTASTS_RR_A, on_addr, d,
	    &d->qid_a) == MTASTS_OK)
		d->addr_pending++;
	if (mtasts_resolver_query(e->res, host, MTASTS_RR_AAAA, on_addr, d,
	    &d->qid_aaaa) == MTASTS_OK)
		d->addr_pending++;
	if (d->addr_pending == 0)
		start_fetch(d);
}

/* The TXT answer says there is no policy (or DNS failed): apply it. */
static void
txt_without_policy(struct disc *d, int temporary, const char *cls,
    const char *why)
{
	struct mtasts_engine		*e = d->e;
	struct mtasts_cache_entry	*ent;
	int64_t				 now = now_s(e);
	int				 kept = 0;

	pthread_mutex_lock(&e->lock);
	ent = mtasts_cache_get(e->cache, d->domain);
	if (ent != NULL && ent->kind == MTASTS_CACHE_POLICY &&
	    mtasts_cache_usable(ent, now)) {
		/*
		 * A cached policy outlives a TXT record that vanished or a
		 * DNS failure until it expires (STS-09, STS-13).  Count it as
		 * checked so the TXT is not re-queried on every lookup.
		 */
		ent->txt_checked_at = now;
		/* Not answered: no re-check in the sense of RFC 8461 §5.1. */
		mtasts_strcopy(ent->reason, sizeof(ent->reason), temporary ? cls :
		    "");
		kept = 1;
	} else if (temporary)
		(void)mtasts_cache_put_negative(e->cache,
		    MTASTS_CACHE_TEMPORARY, d->domain, cls, "", now,
		    now + (e->cfg->negative_cache_time < TEMP_LIFETIME ?
		    e->cfg->negative_cache_time : TEMP_LIFETIME), now);
	else
		(void)mtasts_cache_put_negative(e->cache,
		    MTASTS_CACHE_NEGATIVE, d->domain, cls, "", now,
		    now + e->cfg->negative_cache_time, now);
	pthread_mutex_unlock(&e->lock);

	if (kept) {
		mtasts_log(LOG_INFO, d->domain, "TXT lookup: %s (%s); keeping "
		    "the cached policy until it expires", cls, why);
		if (e->store != NULL)
			(void)mtasts_store_touch_txt(e->store, d->domain,
			    (time_t)now);
	} else {
		mtasts_log(temporary ? LOG_INFO : LOG_DEBUG, d->domain,
		    "no MTA-STS policy: %s (%s)", cls, why);
		if (!temporary)
			store_negative(e, d->domain, cls, why, NULL, now,
			    now + e->cfg->negative_cache_time);
	}
	disc_finish(d);
}

static void
on_txt(void *arg, const struct mtasts_dns_answer *a)
{
	struct disc			*d = arg;
	struct mtasts_engine		*e = d->e;
	struct mtasts_cache_entry	*ent;
	struct mtasts_diag		 diag;
	struct mtasts_txt		 txt;
	int64_t				 now = now_s(e);
	int				 same = 0, hold = 0;
	char				 cls[24];

	d->qid_txt = 0;
	mtasts_log(LOG_DEBUG, d->domain, "TXT %s: %s (%zu records)", a->qname,
	    mtasts_dns_rcode_str(a->status), a->count);
	switch (a->status) {
	case MTASTS_DNS_OK:
		break;
	case MTASTS_DNS_NXDOMAIN:
	case MTASTS_DNS_NODATA:
		txt_without_policy(d, 0, "no-txt",
		    mtasts_dns_rcode_str(a->status));
		return;
	default:
		(void)snprintf(cls, sizeof(cls), "dns-%s",
		    mtasts_dns_rcode_str(a->status));
		txt_without_policy(d, 1, cls, a->why_bogus != NULL ?
		    a->why_bogus : mtasts_dns_rcode_str(a->status));
		return;
	}
	mtasts_diag_init(&diag);
	switch (mtasts_txt_select_wire(a->rdata, a->rdlen, a->count, &txt,
	    &diag)) {
	case MTASTS_OK:
		break;
	case MTASTS_NOPOLICY:
		txt_without_policy(d, 0, mtasts_txt_result_str(txt.result),
		    mtasts_diag_first(&diag));
		return;
	default:
		txt_without_policy(d, 1, "internal", mtasts_diag_first(&diag));
		return;
	}
	mtasts_strcopy(d->id, sizeof(d->id), txt.id);

	pthread_mutex_lock(&e->lock);
	ent = mtasts_cache_get(e->cache, d->domain);
	if (ent != NULL && ent->kind == MTASTS_CACHE_POLICY &&
	    mtasts_cache_usable(ent, now) && strcmp(ent->id, d->id) == 0) {
		ent->txt_checked_at = now;
		ent->reason[0] = '\0';
		same = 1;
		/* Unchanged id: fetch only for a due or forced refresh. */
		if (!d->force)
			hold = 1;
	} else if (ent != NULL && ent->kind == MTASTS_CACHE_NEGATIVE &&
	    strcmp(ent->id, d->id) == 0 && now < ent->retry_at && !d->force)
		hold = 1;	/* this id failed lately: space retries */
	pthread_mutex_unlock(&e->lock);

	if (same && e->store != NULL) {
		enum mtasts_status st;

		st = mtasts_store_touch_txt(e->store, d->domain, (time_t)now);
		if (st != MTASTS_OK && st != MTASTS_NOPOLICY)
			store_warn(e, d->domain, "record TXT check", st);
	}
	if (hold) {
		mtasts_log(LOG_DEBUG, d->domain, "TXT id %s: %s", d->id, same ?
		    "unchanged" : "fetch failed recently; not retrying yet");
		disc_finish(d);
		return;
	}
	mtasts_log(LOG_DEBUG, d->domain, "TXT id %s: %s", d->id,
	    same ? "refreshing" : "new policy id");
	start_addr_lookup(d);
}

/* Worker: start one queued discovery. */
static void
disc_start(struct disc *d)
{
	struct mtasts_engine	*e = d->e;
	char			 name[300];

	/*
	 * A legal domain of up to 253 octets can make "_mta-sts.<domain>"
	 * longer than DNS allows.  Such a record cannot exist: the domain
	 * has no policy, which is not an engine error.
	 */
	if (snprintf(name, sizeof(name), "_mta-sts.%s", d->domain) >
	    MTASTS_DOMAIN_MAX) {
		txt_without_policy(d, 0, "no-txt",
		    "_mta-sts name longer than 253 octets");
		return;
	}
	if (mtasts_resolver_query(e->res, name, MTASTS_RR_TXT, on_txt, d,
	    &d->qid_txt) != MTASTS_OK) {
		mtasts_log(LOG_ERR, d->domain, "cannot start the TXT lookup");
		disc_finish(d);
	}
}

/* Worker: unlink a discovery, wake its waiters and free it. */
static void
disc_finish(struct disc *d)
{
	struct mtasts_engine	*e = d->e;
	struct disc		**pp;

	pthread_mutex_lock(&e->lock);
	for (pp = &e->discs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	e->ndiscs--;
	if (d->started)
		e->nrunning--;
	pthread_cond_broadcast(&e->done);
	pthread_mutex_unlock(&e->lock);
	free(d);
}

/* Worker: abandon every discovery (engine stopping). */
static void
disc_abandon_all(struct mtasts_engine *e)
{
	struct disc	*d;

	pthread_mutex_lock(&e->lock);
	while ((d = e->discs) != NULL) {
		e->discs = d->next;
		if (d->qid_txt)
			mtasts_resolver_cancel(e->res, d->qid_txt);
		if (d->qid_a)
			mtasts_resolver_cancel(e->res, d->qid_a);
		if (d->qid_aaaa)
			mtasts_resolver_cancel(e->res, d->qid_aaaa);
		if (d->fid)
			mtasts_fetch_cancel(e->fet, d->fid);
		free(d);
	}
	e->ndiscs = 0;
	e->nrunning = 0;
	pthread_cond_broadcast(&e->done);
	pthread_mutex_unlock(&e->lock);
}

/* ------------------------------------------------------------ MX sets */

static uint32_t
mx_hash(const char *domain)
{
	return mtasts_strhash(domain) % MX_BUCKETS;
}

/* The entry of domain, or NULL; lock held. */
static struct mx_entry *
mx_get(struct mtasts_engine *e, const char *domain)
{
	struct mx_entry	*m;

	for (m = e->mx_tab[mx_hash(domain)]; m != NULL; m = m->next)
		if (strcmp(m->data, domain) == 0)
			return m;
	return NULL;
}

/* Unlink and free the entry of domain, if any; lock held. */
static void
mx_remove(struct mtasts_engine *e, const char *domain)
{
	struct mx_entry	**pp, *m;

	for (pp = &e->mx_tab[mx_hash(domain)]; (m = *pp) != NULL;
	    pp = &m->next)
		if (strcmp(m->data, domain) == 0) {
			*pp = m->next;
			free(m);
			e->mx_count--;
			return;
		}
}

/*
 * Make room for one more entry; lock held.  Expired entries go first; if
 * the table is still full, the one closest to expiry goes, so memory stays
 * bounded whatever the mail mix.
 */
static void
mx_make_room(struct mtasts_engine *e, int64_t now)
{
	struct mx_entry	**pp, *m, **victim = NULL;
	size_t		  i;

	if (e->mx_count < MX_CACHE_MAX)
		return;
	for (i = 0; i < MX_BUCKETS; i++)
		for (pp = &e->mx_tab[i]; (m = *pp) != NULL;) {
			if (m->expires_at <= now) {
				*pp = m->next;
				free(m);
				e->mx_count--;
				continue;
			}
			if (victim == NULL || m->expires_at <
			    (*victim)->expires_at)
				victim = pp;
			pp = &m->next;
		}
	if (e->mx_count >= MX_CACHE_MAX && victim != NULL) {
		m = *victim;
		*victim = m->next;
		free(m);
		e->mx_count--;
	}
}

static void
mx_cache_free(struct mtasts_engine *e)
{
	struct mx_entry	*m;
	struct mxq	*q;
	size_t		 i;

	for (i = 0; i < MX_BUCKETS; i++)
		while ((m = e->mx_tab[i]) != NULL) {
			e->mx_tab[i] = m->next;
			free(m);
		}
	e->mx_count = 0;
	while ((q = e->mxqs) != NULL) {
		e->mxqs = q->next;
		free(q);
	}
}

static void
mx_fill(const struct mx_entry *m, struct mtasts_mx_set *out)
{
	const char	*p;
	size_t		 i;

	out->status = (enum mtasts_status)m->status;
	out->implicit = m->implicit;
	out->null_mx = m->null_mx;
	out->secure = m->secure;
	out->total = m->total;
	out->expires_at = m->expires_at;
	mtasts_strcopy(out->reason, sizeof(out->reason), m->reason);
	p = m->data + strlen(m->data) + 1;
	for (i = 0; i < m->n; i++) {
		mtasts_strcopy(out->host[i], sizeof(out->host[i]), p);
		out->pref[i] = m->pref[i];
		p += strlen(p) + 1;
	}
	out->n = m->n;
}

static struct mxq *
mxq_find(struct mtasts_engine *e, const char *domain)
{
	struct mxq	*q;

	for (q = e->mxqs; q != NULL; q = q->next)
		if (strcmp(q->domain, domain) == 0)
			return q;
	return NULL;
}

/* The lookup of domain, queued if none is under way; lock held. */
static struct mxq *
mxq_want(struct mtasts_engine *e, const char *domain)
{
	struct mxq	*q;

	if ((q = mxq_find(e, domain)) != NULL)
		return q;
	if (e->stopping || strlen(domain) >= sizeof(q->domain))
		return NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->e = e;
	mtasts_strcopy(q->domain, sizeof(q->domain), domain);
	q->next = e->mxqs;
	e->mxqs = q;
	if (e->fet != NULL)
		mtasts_fetcher_wakeup(e->fet);
	return q;
}

/* Worker: record what a lookup learnt, wake its waiters, free it. */
static void
mxq_finish(struct mxq *q, struct mx_entry *m)
{
	struct mtasts_engine	*e = q->e;
	struct mxq		**pp;
	uint32_t		 h;

	pthread_mutex_lock(&e->lock);
	for (pp = &e->mxqs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	if (m != NULL) {
		mx_remove(e, q->domain);
		mx_make_room(e, now_s(e));
		h = mx_hash(q->domain);
		m->next = e->mx_tab[h];
		e->mx_tab[h] = m;
		e->mx_count++;
	}
	pthread_cond_broadcast(&e->done);
	pthread_mutex_unlock(&e->lock);
	free(q);
}

/* An entry with room for the domain and nhosts names from hosts[]. */
static struct mx_entry *
mx_entry_new(const char *domain, char (*hosts)[MTASTS_MX_NAME_BUFSZ],
    size_t nhosts)
{
	struct mx_entry	*m;
	size_t		 len = strlen(domain) + 1, i, off;

	for (i = 0; i < nhosts; i++)
		len += strlen(hosts[i]) + 1;
	if ((m = calloc(1, sizeof(*m) + len)) == NULL)
		return NULL;
	off = strlen(domain) + 1;
	memcpy(m->data, domain, off);
	for (i = 0; i < nhosts; i++) {
		size_t	l = strlen(hosts[i]) + 1;

		memcpy(m->data + off, hosts[i], l);
		off += l;
	}
	m->n = (uint8_t)nhosts;
	return m;
}

static int64_t
clamp_ttl(int64_t ttl, int64_t lo, int64_t hi)
{
	if (ttl < lo)
		ttl = lo;
	return ttl > hi ? hi : ttl;
}

/*
 * The records of an answer in preference order, without duplicates and
 * without a null MX; *nullmx is set when a null MX was among them.
 * Returns how many were readable.
 */
static size_t
mx_collect(const struct mtasts_dns_answer *a,
    char (*hosts)[MTASTS_MX_NAME_BUFSZ], unsigned int *pref, size_t max,
    int *nullmx, size_t *readable)
{
	char		 name[MTASTS_MX_NAME_BUFSZ];
	unsigned int	 p;
	size_t		 i, j, k, n = 0;

	*nullmx = 0;
	*readable = 0;
	for (i = 0; i < a->count; i++) {
		if (mtasts_dns_mx_parse(a->rdata[i], a->rdlen[i], &p, name,
		    sizeof(name)) == -1)
			continue;
		(*readable)++;
		if (name[0] == '\0') {
			*nullmx = 1;
			continue;
		}
		for (j = 0; j < n && strcmp(hosts[j], name) != 0; j++)
			;
		if (j < n)
			continue;	/* listed twice: the first one counts */
		/* Insertion sort; equal preferences keep the DNS order. */
		for (j = n; j > 0 && pref[j - 1] > p; j--)
			;
		if (j >= max)
			continue;
		k = n < max ? n : max - 1;
		for (; k > j; k--) {
			memcpy(hosts[k], hosts[k - 1], sizeof(hosts[k]));
			pref[k] = pref[k - 1];
		}
		mtasts_strcopy(hosts[j], sizeof(hosts[j]), name);
		pref[j] = p;
		if (n < max)
			n++;
	}
	return n;
}

/* Worker: an MX answer arrived. */
static void
on_mx(void *arg, const struct mtasts_dns_answer *a)
{
	struct mxq		*q = arg;
	struct mtasts_engine	*e = q->e;
	struct mx_entry		*m;
	char			 hosts[MTASTS_MX_SET_MAX][MTASTS_MX_NAME_BUFSZ];
	unsigned int		 pref[MTASTS_MX_SET_MAX];
	enum mtasts_status	 st = MTASTS_OK;
	const char		*reason = "";
	int64_t			 now = now_s(e), life;
	size_t			 n = 0, readable = 0, i;
	int			 nullmx = 0, implicit = 0;

	q->qid = 0;
	life = clamp_ttl(a->ttl, MX_TTL_MIN, MX_TTL_MAX);
	switch (a->status) {
	case MTASTS_DNS_OK:
		n = mx_collect(a, hosts, pref, MTASTS_MX_SET_MAX, &nullmx,
		    &readable);
		if (readable == 0) {
			st = MTASTS_TEMPFAIL;
			reason = "bad-mx";
			life = MX_TEMP_LIFETIME;
		} else if (n == 0)
			implicit = 1;	/* only a null MX */
		else
			nullmx = 0;	/* RFC 7505 §3: ignored beside others */
		break;
	case MTASTS_DNS_NODATA:
		implicit = 1;
		life = clamp_ttl(a->ttl, MX_TTL_MIN, e->cfg->negative_cache_time);
		break;
	case MTASTS_DNS_NXDOMAIN:
		st = MTASTS_NOPOLICY;
		reason = "nxdomain";
		life = clamp_ttl(a->ttl, MX_TTL_MIN, e->cfg->negative_cache_time);
		break;
	default:
		st = MTASTS_TEMPFAIL;
		reason = a->status == MTASTS_DNS_TIMEOUT ? "dns-timeout" :
		    a->status == MTASTS_DNS_BOGUS ? "dns-bogus" :
		    a->status == MTASTS_DNS_SERVFAIL ? "dns-servfail" :
		    "dns-error";
		life = MX_TEMP_LIFETIME;
		break;
	}
	if (implicit) {
		/* RFC 8461 §4.1: the implicit MX is the domain itself. */
		mtasts_strcopy(hosts[0], sizeof(hosts[0]), q->domain);
		pref[0] = 0;
		n = 1;
	}
	if (life > e->cfg->negative_cache_time && st != MTASTS_OK)
		life = e->cfg->negative_cache_time;
	mtasts_log(LOG_DEBUG, q->domain, "MX %s: %s (%zu records, %zu used%s)",
	    a->qname, mtasts_dns_rcode_str(a->status), a->count, n,
	    implicit ? (nullmx ? ", null MX" : ", implicit") : "");
	if ((m = mx_entry_new(q->domain, hosts, n)) != NULL) {
		m->status = (uint8_t)st;
		m->implicit = (uint8_t)implicit;
		m->null_mx = (uint8_t)nullmx;
		m->secure = (uint8_t)(a->secure != 0);
		m->total = (uint16_t)(a->count > UINT16_MAX ? UINT16_MAX :
		    a->count);
		for (i = 0; i < n; i++)
			m->pref[i] = (uint16_t)pref[i];
		m->expires_at = now + life;
		mtasts_strcopy(m->reason, sizeof(m->reason), reason);
	} else
		mtasts_log(LOG_ERR, q->domain, "out of memory caching MX");
	mxq_finish(q, m);
}

/* Worker: start every queued MX lookup. */
static void
mx_start_queued(struct mtasts_engine *e)
{
	struct mxq	*q, *todo[64];
	struct mx_entry	*m;
	size_t		 n, i;

	do {
		n = 0;
		pthread_mutex_lock(&e->lock);
		for (q = e->mxqs; q != NULL && n < 64; q = q->next)
			if (!q->started) {
				q->started = 1;
				todo[n++] = q;
			}
		pthread_mutex_unlock(&e->lock);
		for (i = 0; i < n; i++) {
			q = todo[i];
			if (mtasts_resolver_query(e->res, q->domain,
			    MTASTS_RR_MX, on_mx, q, &q->qid) == MTASTS_OK)
				continue;
			mtasts_log(LOG_ERR, q->domain, "cannot start the MX "
			    "lookup");
			if ((m = mx_entry_new(q->domain, NULL, 0)) != NULL) {
				m->status = MTASTS_TEMPFAIL;
				m->expires_at = now_s(e) + MX_TEMP_LIFETIME;
				mtasts_strcopy(m->reason, sizeof(m->reason),
				    "dns-error");
			}
			mxq_finish(q, m);
		}
	} while (n == 64);
}

/* Worker: abandon every MX lookup (engine stopping). */
static void
mx_abandon_all(struct mtasts_engine *e)
{
	struct mxq	*q;

	pthread_mutex_lock(&e->lock);
	while ((q = e->mxqs) != NULL) {
		e->mxqs = q->next;
		if (q->qid)
			mtasts_resolver_cancel(e->res, q->qid);
		free(q);
	}
	pthread_cond_broadcast(&e->done);
	pthread_mutex_unlock(&e->lock);
}

/* ------------------------------------------------------------- the loop */

struct scan_ctx {
	struct mtasts_engine	*e;
	int64_t			 now;
	size_t			 stale;
	char			 (*drop)[256];
	size_t			 ndrop, maxdrop;
};

static int
scan_one(void *arg, struct mtasts_cache_entry *ent)
{
	struct scan_ctx	*sc = arg;

	if (!mtasts_cache_usable(ent, sc->now) &&
	    (ent->kind != MTASTS_CACHE_NEGATIVE ||
	    sc->now >= ent->expires_at + STALE_NEGATIVE_KEEP)) {
		/* Gone stale: free the memory; the store keeps history. */
		if (sc->ndrop < sc->maxdrop)
			mtasts_strcopy(sc->drop[sc->ndrop++], 256,
			    mtasts_cache_domain(ent));
		return 0;
	}
	maybe_refresh(sc->e, ent, sc->now);
	return 0;
}

/* Worker: background refresh and housekeeping (RFC 8461 §10.2). */
static void
housekeeping(struct mtasts_engine *e, int64_t now)
{
	struct scan_ctx	 sc;
	struct forget	*f;
	size_t		 i;

	pthread_mutex_lock(&e->lock);
	f = e->forgets;
	e->forgets = NULL;
	pthread_mutex_unlock(&e->lock);
	while (f != NULL) {
		struct forget	*next = f->next;

		if (e->store != NULL)
			(void)mtasts_store_forget(e->store, f->domain);
		free(f);
		f = next;
	}

	if (now >= e->next_scan && !e->opts.no_refresher) {
		memset(&sc, 0, sizeof(sc));
		sc.e = e;
		sc.now = now;
		sc.maxdrop = 1024;
		sc.drop = calloc(sc.maxdrop, sizeof(*sc.drop));
		if (sc.drop == NULL)
			sc.maxdrop = 0;
		pthread_mutex_lock(&e->lock);
		(void)mtasts_cache_foreach(e->cache, scan_one, &sc);
		for (i = 0; i < sc.ndrop; i++)
			(void)mtasts_cache_remove(e->cache, sc.drop[i]);
		pthread_mutex_unlock(&e->lock);
		free(sc.drop);
		e->next_scan = now + SCAN_INTERVAL;
	}
	if (e->store != NULL && now >= e->next_prune) {
		if (mtasts_store_prune(e->store, (time_t)now, HISTORY_KEEP) !=
		    MTASTS_OK)
			mtasts_log(LOG_WARNING, NULL, "store: prune failed: %s",
			    mtasts_store_errmsg(e->store));
		e->next_prune = now + PRUNE_INTERVAL;
	}
}

/* Worker: start queued discoveries within the MaxDiscoveries bound. */
static void
start_queued(struct mtasts_engine *e)
{
	struct disc	*d, *todo[64];
	size_t		 n, i;

	do {
		n = 0;
		pthread_mutex_lock(&e->lock);
		for (d = e->discs; d != NULL && n < 64 &&
		    e->nrunning < (size_t)e->cfg->max_discoveries; d = d->next)
			if (!d->started) {
				d->started = 1;
				e->nrunning++;
				todo[n++] = d;
			}
		pthread_mutex_unlock(&e->lock);
		for (i = 0; i < n; i++)
			disc_start(todo[i]);
	} while (n == 64);
}

static void *
worker_main(void *arg)
{
	struct mtasts_engine	*e = arg;
	long			 t;
	unsigned int		 n;
	int			 timeout, stop;

	for (;;) {
		pthread_mutex_lock(&e->lock);
		stop = e->stopping;
		pthread_mutex_unlock(&e->lock);
		if (stop)
			break;
		start_queued(e);
		mx_start_queued(e);
		mtasts_mxcheck_work(e->mxc);
		timeout = LOOP_MAX_WAIT_MS;
		t = mtasts_resolver_next_timeout_ms(e->res,
		    mtasts_resolver_now());
		if (t >= 0 && t < timeout)
			timeout = (int)t;
		t = mtasts_mxcheck_timeout_ms(e->mxc);
		if (t >= 0 && t < timeout)
			timeout = (int)t;
		memset(&e->wfd[0], 0, sizeof(e->wfd[0]));
		e->wfd[0].fd = mtasts_resolver_fd(e->res);
		e->wfd[0].events = CURL_WAIT_POLLIN;
		n = 1 + mtasts_mxcheck_waitfds(e->mxc, e->wfd + 1,
		    e->nwfd - 1);
		if (mtasts_fetcher_poll(e->fet, e->wfd, n, timeout, NULL) != 0)
			mtasts_log(LOG_WARNING, NULL, "event loop: poll failed");
		if (e->wfd[0].revents & CURL_WAIT_POLLIN)
			(void)mtasts_resolver_process(e->res);
		mtasts_resolver_expire(e->res, mtasts_resolver_now());
		mtasts_mxcheck_process(e->mxc, e->wfd, n);
		(void)mtasts_fetcher_perform(e->fet);
		housekeeping(e, now_s(e));
	}
	disc_abandon_all(e);
	mx_abandon_all(e);
	mtasts_mxcheck_stop(e->mxc);
	return NULL;
}

/* ------------------------------------------------------- MX host checks */

static void
wake_worker(void *arg)
{
	struct mtasts_engine	*e = arg;

	mtasts_fetcher_wakeup(e->fet);
}

static int
load_probe(void *arg, const struct mtasts_stored_probe *sp)
{
	struct load_ctx	*lc = arg;

	if ((int64_t)sp->expires_at <= lc->now - HISTORY_KEEP)
		return 0;
	mtasts_mxcheck_load(lc->e->mxc, sp);
	lc->policies++;
	return 0;
}

/* The MX host checker and the worker's poll array. */
static int
mxcheck_setup(struct mtasts_engine *e, struct mtasts_diag *diag)
{
	const struct mtasts_config	*cfg = e->cfg;
	struct mtasts_mxcheck_conf	 mc;
	struct load_ctx			 lc;

	memset(&mc, 0, sizeof(mc));
	mc.probe.helo_name = cfg->mx_probe_helo_name;
	mc.probe.ca_file = cfg->ca_file;
	mc.probe.ca_path = cfg->ca_path;
	mc.probe.timeout_ms = cfg->mx_probe_timeout * 1000;
	mc.probe.port = (int)cfg->mx_probe_port;
	mc.probe.max_running = (size_t)cfg->mx_probe_max_parallel;
	mc.ok_ttl = cfg->mx_probe_cache_time;
	mc.fail_ttl = cfg->mx_probe_failure_cache_time;
	mc.min_interval = cfg->mx_probe_min_interval;
	mc.now = e->opts.now;
	mc.now_arg = e->opts.now_arg;
	mc.wakeup = wake_worker;
	mc.wakeup_arg = e;
	mc.res = e->res;
	mc.store = e->store;
	if ((e->mxc = mtasts_mxcheck_new(&mc, diag)) == NULL)
		return -1;
	/* The resolver's fd, then every socket the prober may hold. */
	e->nwfd = 1 + (unsigned int)mc.probe.max_running;
	if ((e->wfd = calloc(e->nwfd, sizeof(*e->wfd))) == NULL) {
		mtasts_diag_add(diag, 0, 0, "out of memory");
		return -1;
	}
	if (e->store != NULL) {
		memset(&lc, 0, sizeof(lc));
		lc.e = e;
		lc.now = now_s(e);
		if (mtasts_store_foreach_probe(e->store, load_probe, &lc) !=
		    MTASTS_OK)
			mtasts_log(LOG_WARNING, NULL, "store: cannot load the "
			    "MX probes: %s", mtasts_store_errmsg(e->store));
		else if (lc.policies > 0)
			mtasts_log(LOG_INFO, NULL, "loaded %zu MX probe "
			    "results", lc.policies);
	}
	return 0;
}

/* ------------------------------------------------------------ the API */

struct mtasts_engine *
mtasts_engine_new(const struct mtasts_config *cfg,
    const struct mtasts_engine_opts *opts, struct mtasts_diag *diag)
{
	struct mtasts_engine		*e;
	struct mtasts_resolver_conf	 rc;
	struct mtasts_fetch_conf	 fc;
	struct mtasts_diag		 sd;
	pthread_condattr_t		 ca;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		mtasts_diag_add(diag, 0, 0, "out of memory");
		return NULL;
	}
	e->cfg = cfg;
	if (opts != NULL)
		e->opts = *opts;
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->done, &ca);
	pthread_condattr_destroy(&ca);
	if ((e->cache = mtasts_cache_new(1024)) == NULL) {
		mtasts_diag_add(diag, 0, 0, "out of memory");
		goto fail;
	}

	mtasts_resolver_conf_from_config(cfg, &rc);
	if ((e->res = mtasts_resolver_new(&rc, diag)) == NULL)
		goto fail;

	mtasts_fetch_conf_from_config(cfg, e->opts.https_port, &fc);
	if ((e->fet = mtasts_fetcher_new(&fc, diag)) == NULL)
		goto fail;

	if (!e->opts.no_store && cfg->database != NULL) {
		mtasts_diag_init(&sd);
		if ((e->store = mtasts_store_open(cfg->database, 0, &sd)) ==
		    NULL)
			mtasts_log(LOG_ERR, NULL, "store %s unusable, running "
			    "from memory only: %s", cfg->database,
			    mtasts_diag_first(&sd));
		else
			store_load(e);
	}
	e->st.store_ok = e->store != NULL;
	if (mxcheck_setup(e, diag) == -1)
		goto fail;
	e->next_scan = now_s(e) + SCAN_INTERVAL;
	e->next_prune = now_s(e) + 60;

	if (pthread_create(&e->worker, NULL, worker_main, e) != 0) {
		mtasts_diag_add(diag, 0, 0, "cannot start the worker thread: "
		    "%s", strerror(errno));
		goto fail;
	}
	e->worker_started = 1;
	return e;
fail:
	mtasts_engine_free(e);
	return NULL;
}

void
mtasts_engine_free(struct mtasts_engine *e)
{
	struct forget	*f;

	if (e == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	e->stopping = 1;
	pthread_cond_broadcast(&e->done);
	pthread_mutex_unlock(&e->lock);
	if (e->worker_started) {
		mtasts_fetcher_wakeup(e->fet);
		pthread_join(e->worker, NULL);
	}
	while ((f = e->forgets) != NULL) {
		e->forgets = f->next;
		free(f);
	}
	mtasts_mxcheck_free(e->mxc);
	free(e->wfd);
	mtasts_fetcher_free(e->fet);
	mtasts_resolver_free(e->res);
	mtasts_store_close(e->store);
	mtasts_cache_free(e->cache);
	mx_cache_free(e);
	pthread_cond_destroy(&e->done);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

static void
deadline_after(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Wait (lock held) until no discovery of domain is under way or the
 * deadline passes; then answer from the cache.
 */
static enum mtasts_status
wait_and_answer(struct mtasts_engine *e, const char *domain,
    const struct timespec *deadline, struct mtasts_answer *out)
{
	struct mtasts_cache_entry	*ent;
	int				 rc = 0;

	/*
	 * No deadline: no wait at all.  Even a timed wait that has already
	 * expired gives up the lock, and a discovery may finish meanwhile;
	 * a caller with no budget must get "pending" at once.
	 */
	while (deadline != NULL && disc_find(e, domain) != NULL &&
	    !e->stopping && rc == 0)
		rc = pthread_cond_timedwait(&e->done, &e->lock, deadline);
	ent = mtasts_cache_get(e->cache, domain);
	if (ent != NULL && mtasts_cache_usable(ent, now_s(e)))
		return answer_fill(ent, out);
	if (e->stopping) {
		mtasts_strcopy(out->reason, sizeof(out->reason), "engine stopped");
		return out->status = MTASTS_INTERNAL;
	}
	out->pending = disc_find(e, domain) != NULL;
	mtasts_strcopy(out->reason, sizeof(out->reason), out->pending ? "pending" :
	    "unknown");
	return out->status = MTASTS_TEMPFAIL;
}

enum mtasts_status
mtasts_engine_lookup(struct mtasts_engine *e, const char *domain,
    long budget_ms, struct mtasts_answer *out)
{
	struct mtasts_cache_entry	*ent;
	struct timespec			 deadline;
	enum mtasts_status		 st;
	int64_t				 now = now_s(e);

	memset(out, 0, sizeof(*out));
	deadline_after(&deadline, budget_ms > 0 ? budget_ms : 0);
	pthread_mutex_lock(&e->lock);
	e->st.lookups++;
	ent = mtasts_cache_get(e->cache, domain);
	if (ent != NULL && mtasts_cache_usable(ent, now)) {
		e->st.hits++;
		st = answer_fill(ent, out);
		maybe_refresh(e, ent, now);
		pthread_mutex_unlock(&e->lock);
		return st;
	}
	if (disc_want(e, domain, 0) == NULL) {
		pthread_mutex_unlock(&e->lock);
		mtasts_strcopy(out->reason, sizeof(out->reason), e->stopping ?
		    "engine stopped" : "out of memory");
		return out->status = MTASTS_INTERNAL;
	}
	if (budget_ms <= 0 && ent != NULL && ent->kind == MTASTS_CACHE_NEGATIVE) {
		/*
		 * A caller that cannot wait (the map server) keeps the last
		 * "no policy" while it is checked again, rather than a TEMP
		 * that would make the MTA defer mail it sends today.
		 */
		st = answer_fill(ent, out);
		out->pending = 1;
		pthread_mutex_unlock(&e->lock);
		return st;
	}
	st = wait_and_answer(e, domain, budget_ms > 0 ? &deadline : NULL,
	    out);
	pthread_mutex_unlock(&e->lock);
	return st;
}

enum mtasts_status
mtasts_engine_refresh(struct mtasts_engine *e, const char *domain, int force,
    long budget_ms, struct mtasts_answer *out)
{
	struct timespec		 deadline;
	struct disc		*d;
	enum mtasts_status	 st;
	int			 rc = budget_ms > 0 ? 0 : ETIMEDOUT;

	memset(out, 0, sizeof(*out));
	deadline_after(&deadline, budget_ms > 0 ? budget_ms : 0);
	pthread_mutex_lock(&e->lock);
	/* A discovery already running answers an older question: wait. */
	while ((d = disc_find(e, domain)) != NULL && d->started &&
	    !e->stopping && rc == 0)
		rc = pthread_cond_timedwait(&e->done, &e->lock, &deadline);
	if (disc_want(e, domain, force) == NULL) {
		pthread_mutex_unlock(&e->lock);
		mtasts_strcopy(out->reason, sizeof(out->reason), "not started");
		return out->status = MTASTS_INTERNAL;
	}
	st = wait_and_answer(e, domain, budget_ms > 0 ? &deadline : NULL,
	    out);
	pthread_mutex_unlock(&e->lock);
	return st;
}

void
mtasts_engine_forget(struct mtasts_engine *e, const char *domain)
{
	struct forget	*f;

	pthread_mutex_lock(&e->lock);
	(void)mtasts_cache_remove(e->cache, domain);
	if ((f = calloc(1, sizeof(*f))) != NULL) {
		mtasts_strcopy(f->domain, sizeof(f->domain), domain);
		f->next = e->forgets;
		e->forgets = f;
	}
	pthread_mutex_unlock(&e->lock);
	mtasts_fetcher_wakeup(e->fet);
}

struct count_ctx {
	struct mtasts_engine_stats	*st;
	int64_t				 now;
};

static int
count_one(void *arg, struct mtasts_cache_entry *ent)
{
	struct count_ctx	*cc = arg;

	if (!mtasts_cache_usable(ent, cc->now))
		return 0;
	if (ent->kind == MTASTS_CACHE_POLICY && ent->mode <= 2)
		cc->st->policies[ent->mode]++;
	else
		cc->st->negatives++;
	return 0;
}

void
mtasts_engine_stats(struct mtasts_engine *e, struct mtasts_engine_stats *out)
{
	struct mtasts_mxcheck_stats	ms;
	struct count_ctx		cc;

	pthread_mutex_lock(&e->lock);
	*out = e->st;
	out->policies[0] = out->policies[1] = out->policies[2] = 0;
	out->negatives = 0;
	cc.st = out;
	cc.now = now_s(e);
	(void)mtasts_cache_foreach(e->cache, count_one, &cc);
	out->domains = mtasts_cache_count(e->cache);
	out->discoveries = e->ndiscs;
	pthread_mutex_unlock(&e->lock);
	mtasts_mxcheck_stats(e->mxc, &ms);
	out->probe_hosts = ms.hosts;
	out->probes_running = ms.running;
	out->probes = ms.probes;
	out->probes_shared = ms.shared;
}

int64_t
mtasts_answer_txt_checked(const struct mtasts_answer *a, const char **trouble)
{
	if (trouble != NULL)
		*trouble = a->entry != NULL ? a->entry->reason : "";
	return a->entry != NULL ? a->entry->txt_checked_at : 0;
}

enum mtasts_status
mtasts_engine_mx(struct mtasts_engine *e, const char *domain, long budget_ms,
    struct mtasts_mx_set *out)
{
	struct timespec	 deadline;
	struct mx_entry	*m;
	int		 rc = budget_ms > 0 ? 0 : ETIMEDOUT;	/* 0: no wait */

	memset(out, 0, sizeof(*out));
	deadline_after(&deadline, budget_ms > 0 ? budget_ms : 0);
	pthread_mutex_lock(&e->lock);
	if ((m = mx_get(e, domain)) != NULL && now_s(e) < m->expires_at) {
		mx_fill(m, out);
		pthread_mutex_unlock(&e->lock);
		return out->status;
	}
	if (mxq_want(e, domain) == NULL) {
		pthread_mutex_unlock(&e->lock);
		mtasts_strcopy(out->reason, sizeof(out->reason), e->stopping ?
		    "engine stopped" : "out of memory");
		return out->status = MTASTS_INTERNAL;
	}
	while (mxq_find(e, domain) != NULL && !e->stopping && rc == 0)
		rc = pthread_cond_timedwait(&e->done, &e->lock, &deadline);
	if ((m = mx_get(e, domain)) != NULL && now_s(e) < m->expires_at)
		mx_fill(m, out);
	else if (e->stopping) {
		mtasts_strcopy(out->reason, sizeof(out->reason), "engine stopped");
		out->status = MTASTS_INTERNAL;
	} else {
		out->pending = mxq_find(e, domain) != NULL;
		mtasts_strcopy(out->reason, sizeof(out->reason), out->pending ?
		    "pending" : "unknown");
		out->status = MTASTS_TEMPFAIL;
	}
	pthread_mutex_unlock(&e->lock);
	return out->status;
}

int64_t
mtasts_engine_now(const struct mtasts_engine *e)
{
	return now_s(e);
}

/* ------------------------------------------------------------ MX checks */

enum mtasts_status
mtasts_engine_probe(struct mtasts_engine *e, const char *const *hosts,
    size_t n, long budget_ms, struct mtasts_mxprobe *out)
{
	return mtasts_mxcheck_probe(e->mxc, hosts, n, budget_ms, out);
}

/* The DNS outcome of an MX set, for mtasts_dane_decide. */
static enum mtasts_dns_rcode
mx_rcode(const struct mtasts_mx_set *mx)
{
	switch (mx->status) {
	case MTASTS_OK:
		return mx->implicit ? MTASTS_DNS_NODATA : MTASTS_DNS_OK;
	case MTASTS_NOPOLICY:
		return MTASTS_DNS_NXDOMAIN;
	default:
		if (strcmp(mx->reason, "dns-bogus") == 0)
			return MTASTS_DNS_BOGUS;
		if (strcmp(mx->reason, "dns-timeout") == 0)
			return MTASTS_DNS_TIMEOUT;
		return strcmp(mx->reason, "dns-servfail") == 0 ?
		    MTASTS_DNS_SERVFAIL : MTASTS_DNS_ERROR;
	}
}

enum mtasts_status
mtasts_engine_dane(struct mtasts_engine *e, const char *domain,
    long budget_ms, struct mtasts_dane_answer *out)
{
	struct mtasts_mx_set	 mx;
	struct mtasts_mxdane	 hd[MTASTS_MX_SET_MAX];
	enum mtasts_dane_host	 hs[MTASTS_MX_SET_MAX];
	const char		*hosts[MTASTS_MX_SET_MAX];
	struct timespec		 t0, t1;
	enum mtasts_status	 st;
	long			 spent;
	size_t			 i;

	memset(out, 0, sizeof(*out));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = mtasts_engine_mx(e, domain, budget_ms, &mx);
	if (st == MTASTS_INTERNAL) {
		mtasts_strcopy(out->reason, sizeof(out->reason), mx.reason);
		return MTASTS_INTERNAL;
	}
	if (st == MTASTS_TEMPFAIL && mx.pending) {
		out->outcome = MTASTS_DANE_PENDING;
		mtasts_strcopy(out->reason, sizeof(out->reason), "mx-pending");
		return MTASTS_OK;
	}
	out->mx_secure = mx.secure;
	/* RFC 7672 §2.2.1: no TLSA look-ups below an insecure MX RRset. */
	if (st == MTASTS_OK && !mx.null_mx && mx.secure) {
		for (i = 0; i < mx.n; i++)
			hosts[i] = mx.host[i];
		clock_gettime(CLOCK_MONOTONIC, &t1);
		spent = (long)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (mtasts_mxcheck_dane(e->mxc, hosts, mx.n, budget_ms > spent ?
		    budget_ms - spent : 0, hd) != MTASTS_OK) {
			mtasts_strcopy(out->reason, sizeof(out->reason),
			    "engine stopped");
			return MTASTS_INTERNAL;
		}
		for (i = 0; i < mx.n; i++) {
			hs[i] = hd[i].state;
			mtasts_strcopy(out->host[i], sizeof(out->host[i]),
			    mx.host[i]);
			out->host_state[i] = hd[i].state;
			out->tlsa_usable[i] = hd[i].tlsa_usable;
		}
		out->n = mx.n;
	}
	out->outcome = mtasts_dane_decide(mx_rcode(&mx), mx.secure &&
	    !mx.null_mx, hs, out->n, out->reason, sizeof(out->reason));
	return MTASTS_OK;
}
