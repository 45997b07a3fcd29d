/*
 * mxcheck.c: per MX host addresses, STARTTLS probes and TLSA; see
 * mxcheck.h for the contract and the threading.
 *
 * One struct host per MX host name, in a hash table, under mc->lock.
 * Askers set want flags and put the host on the todo list; the worker
 * takes the todo list in mtasts_mxcheck_work and starts what each host
 * lacks: A and AAAA (and TLSA when DANE asked), then the probe of the
 * first address.  A probe that ends transiently (connect, timeout,
 * protocol) moves on to the next address, up to MTASTS_MXCHECK_ADDRS.
 * Resolver and prober calls are made with the lock held: neither runs a
 * callback from inside a start call, and neither blocks.  Callbacks come
 * from mtasts_resolver_process/expire and mtasts_prober_process, which
 * the worker calls without the lock.
 */
#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dane.h"
#include "log.h"
#include "mxcheck.h"
#include "probe.h"
#include "resolver.h"
#include "store.h"
#include "strutil.h"

#define HOST_BUCKETS		1024
#define HOSTS_MAX_DEFAULT	8192
#define DNS_TTL_MIN		30	/* s */
#define DNS_TTL_MAX		3600	/* s */
#define DNS_TEMP_LIFETIME	30	/* s, address/TLSA trouble kept */
#define TRANSIENT_TTL_MAX	120	/* s, a transient probe failure */
#define UNSAVED_MAX		4096	/* results waiting for the store */

struct host {
	struct host		*next;		/* hash chain */
	struct host		*todo_next;
	struct mtasts_mxcheck	*mc;
	char			 name[MTASTS_DNS_NAME_BUFSZ];
	int			 in_todo;

	/* A and AAAA; the last answers stay while new ones are asked */
	int			 addr_have, addr_running, addr_reset;
	unsigned int		 qid_a, qid_aaaa;
	int			 addr_pending;
	enum mtasts_dns_rcode	 st_a, st_aaaa;
	int			 sec_a, sec_aaaa;
	int64_t			 addr_expires;
	char			 addrs[MTASTS_MXCHECK_ADDRS][MTASTS_DNS_ADDR_BUFSZ];
	size_t			 naddrs;

	/* TLSA at _25._tcp.<name> */
	int			 tlsa_want;
	int			 tlsa_have, tlsa_running;
	unsigned int		 qid_tlsa;
	enum mtasts_dns_rcode	 st_tlsa;
	int			 sec_tlsa;
	size_t			 tlsa_usable, tlsa_total;
	int64_t			 tlsa_expires;

	/* the probe */
	int			 probe_want;
	int			 probing;
	unsigned int		 pid;
	size_t			 addr_idx;
	int64_t			 last_start;
	int			 have;
	char			 cls[32];
	int64_t			 probed_at, expires_at;
	struct mtasts_probe_result res;
};

struct mtasts_mxcheck {
	struct mtasts_mxcheck_conf	 c;
	struct mtasts_prober		*pr;
	pthread_mutex_t			 lock;
	pthread_cond_t			 done;
	int				 stopping;
	struct host			*tab[HOST_BUCKETS];
	size_t				 count;
	struct host			*todo;
	struct mtasts_mxcheck_stats	 st;
	size_t				 nprobing;
	/* results to write to the store once the lock is released */
	struct mtasts_stored_probe	*unsaved;
	size_t				 nunsaved, unsaved_cap;
};

static void	host_advance(struct host *, int64_t);
static void	save_results(struct mtasts_mxcheck *);

static int64_t
now_s(const struct mtasts_mxcheck *mc)
{
	if (mc->c.now != NULL)
		return mc->c.now(mc->c.now_arg);
	return (int64_t)time(NULL);
}

static int64_t
clamp(int64_t v, int64_t lo, int64_t hi)
{
	if (v < lo)
		v = lo;
	return v > hi ? hi : v;
}

/* ---------------------------------------------------------- pure parts */

enum mtasts_mxprobe_state
mtasts_mxprobe_state_of(const char *cls)
{
	static const char *const tls[] = {
		"starttls-not-supported", "certificate-host-mismatch",
		"certificate-expired", "certificate-not-trusted",
		"validation-failure"
	};
	size_t	i;

	if (cls == NULL || cls[0] == '\0')
		return MTASTS_MXPROBE_PENDING;
	if (strcmp(cls, "ok") == 0)
		return MTASTS_MXPROBE_PASS;
	for (i = 0; i < sizeof(tls) / sizeof(tls[0]); i++)
		if (strcmp(cls, tls[i]) == 0)
			return MTASTS_MXPROBE_TLS_FAIL;
	return MTASTS_MXPROBE_INCONCLUSIVE;
}

enum mtasts_mxprobe_state
mtasts_mxprobe_summary(const enum mtasts_mxprobe_state *s, size_t n)
{
	size_t	i, fail = 0, inconclusive = 0;

	for (i = 0; i < n; i++)
		switch (s[i]) {
		case MTASTS_MXPROBE_PASS:
			return MTASTS_MXPROBE_PASS;
		case MTASTS_MXPROBE_TLS_FAIL:
			fail++;
			break;
		case MTASTS_MXPROBE_INCONCLUSIVE:
			inconclusive++;
			break;
		default:
			break;
		}
	if (inconclusive > 0)
		return MTASTS_MXPROBE_INCONCLUSIVE;
	if (n > 0 && fail == n)
		return MTASTS_MXPROBE_TLS_FAIL;
	return MTASTS_MXPROBE_PENDING;
}

long
mtasts_mxprobe_ttl(const char *cls, long ok_ttl, long fail_ttl,
    long min_interval)
{
	long	t;

	switch (mtasts_mxprobe_state_of(cls)) {
	case MTASTS_MXPROBE_PASS:
		t = ok_ttl;
		break;
	case MTASTS_MXPROBE_TLS_FAIL:
		t = fail_ttl;
		break;
	default:
		t = fail_ttl < TRANSIENT_TTL_MAX ? fail_ttl : TRANSIENT_TTL_MAX;
		break;
	}
	return t < min_interval ? min_interval : t;
}

const char *
mtasts_mxprobe_state_str(enum mtasts_mxprobe_state s)
{
	switch (s) {
	case MTASTS_MXPROBE_PENDING:
		return "pending";
	case MTASTS_MXPROBE_PASS:
		return "pass";
	case MTASTS_MXPROBE_TLS_FAIL:
		return "tls-fail";
	case MTASTS_MXPROBE_INCONCLUSIVE:
		return "inconclusive";
	}
	return "unknown";
}

/* ------------------------------------------------------------- the table */

static uint32_t
hash(const char *s)
{
	return mtasts_strhash(s) % HOST_BUCKETS;
}

static struct host *
host_get(struct mtasts_mxcheck *mc, const char *name)
{
	struct host	*h;

	for (h = mc->tab[hash(name)]; h != NULL; h = h->next)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

static int
host_busy(const struct host *h)
{
	return h->in_todo || h->addr_running || h->tlsa_running ||
	    h->probing;
}

/* Drop the idle host that expires first, to stay within max_hosts. */
static void
make_room(struct mtasts_mxcheck *mc)
{
	struct host	**pp, *h, **victim = NULL;
	size_t		  i;

	if (mc->count < mc->c.max_hosts)
		return;
	for (i = 0; i < HOST_BUCKETS; i++)
		for (pp = &mc->tab[i]; (h = *pp) != NULL; pp = &h->next)
			if (!host_busy(h) && (victim == NULL ||
			    h->expires_at < (*victim)->expires_at))
				victim = pp;
	if (victim != NULL) {
		h = *victim;
		*victim = h->next;
		free(h);
		mc->count--;
	}
}

/* The host of name, created when missing; lock held.  NULL: no room. */
static struct host *
host_want(struct mtasts_mxcheck *mc, const char *name)
{
	struct host	*h;
	uint32_t	 b;

	if ((h = host_get(mc, name)) != NULL)
		return h;
	if (strlen(name) >= sizeof(h->name))
		return NULL;
	make_room(mc);
	if (mc->count >= mc->c.max_hosts ||
	    (h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->mc = mc;
	mtasts_strcopy(h->name, sizeof(h->name), name);
	b = hash(name);
	h->next = mc->tab[b];
	mc->tab[b] = h;
	mc->count++;
	return h;
}

static void
todo_push(struct mtasts_mxcheck *mc, struct host *h)
{
	if (h->in_todo)
		return;
	h->in_todo = 1;
	h->todo_next = mc->todo;
	mc->todo = h;
}

/* ------------------------------------------------------------ lifecycle */

struct mtasts_mxcheck *
mtasts_mxcheck_new(const struct mtasts_mxcheck_conf *conf,
    struct mtasts_diag *diag)
{
	struct mtasts_mxcheck	*mc;
	pthread_condattr_t	 ca;

	if ((mc = calloc(1, sizeof(*mc))) == NULL) {
		mtasts_diag_add(diag, 0, 0, "out of memory");
		return NULL;
	}
	mc->c = *conf;
	if (mc->c.max_hosts == 0)
		mc->c.max_hosts = HOSTS_MAX_DEFAULT;
	if ((mc->pr = mtasts_prober_new(&mc->c.probe, diag)) == NULL) {
		free(mc);
		return NULL;
	}
	pthread_mutex_init(&mc->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mc->done, &ca);
	pthread_condattr_destroy(&ca);
	return mc;
}

void
mtasts_mxcheck_free(struct mtasts_mxcheck *mc)
{
	struct host	*h;
	size_t		 i;

	if (mc == NULL)
		return;
	mtasts_prober_free(mc->pr);
	free(mc->unsaved);
	for (i = 0; i < HOST_BUCKETS; i++)
		while ((h = mc->tab[i]) != NULL) {
			mc->tab[i] = h->next;
			free(h);
		}
	pthread_cond_destroy(&mc->done);
	pthread_mutex_destroy(&mc->lock);
	free(mc);
}

void
mtasts_mxcheck_set_ttls(struct mtasts_mxcheck *mc, long ok_ttl,
    long fail_ttl, long min_interval)
{
	pthread_mutex_lock(&mc->lock);
	mc->c.ok_ttl = ok_ttl;
	mc->c.fail_ttl = fail_ttl;
	mc->c.min_interval = min_interval;
	pthread_mutex_unlock(&mc->lock);
}

void
mtasts_mxcheck_stop(struct mtasts_mxcheck *mc)
{
	struct host	*h;
	size_t		 i;

	pthread_mutex_lock(&mc->lock);
	mc->stopping = 1;
	for (i = 0; i < HOST_BUCKETS; i++)
		for (h = mc->tab[i]; h != NULL; h = h->next) {
			if (h->qid_a)
				mtasts_resolver_cancel(mc->c.res, h->qid_a);
			if (h->qid_aaaa)
				mtasts_resolver_cancel(mc->c.res, h->qid_aaaa);
			if (h->qid_tlsa)
				mtasts_resolver_cancel(mc->c.res, h->qid_tlsa);
			if (h->pid)
				mtasts_probe_cancel(mc->pr, h->pid);
			h->qid_a = h->qid_aaaa = h->qid_tlsa = h->pid = 0;
			h->probing = 0;
			h->in_todo = 0;
			h->addr_running = h->tlsa_running = 0;
		}
	mc->todo = NULL;
	mc->nprobing = 0;
	pthread_cond_broadcast(&mc->done);
	pthread_mutex_unlock(&mc->lock);
	save_results(mc);
}

/* --------------------------------------------------------- the results */

/* Record the outcome of a host's probe and wake the askers; lock held. */
static void
probe_done(struct host *h, const char *cls,
    const struct mtasts_probe_result *r, int64_t now)
{
	struct mtasts_mxcheck		*mc = h->mc;
	struct mtasts_stored_probe	*sp;
	long				 ttl;

	if (h->probing)
		mc->nprobing--;
	h->probing = 0;
	h->pid = 0;
	h->probe_want = 0;
	h->have = 1;
	mtasts_strcopy(h->cls, sizeof(h->cls), cls);
	if (r != NULL)
		h->res = *r;
	else {
		memset(&h->res, 0, sizeof(h->res));
		mtasts_strcopy(h->res.host, sizeof(h->res.host), h->name);
		mtasts_strcopy(h->res.detail, sizeof(h->res.detail), cls);
	}
	h->probed_at = now;
	ttl = mtasts_mxprobe_ttl(cls, mc->c.ok_ttl, mc->c.fail_ttl,
	    mc->c.min_interval);
	h->expires_at = now + ttl;
	pthread_cond_broadcast(&mc->done);
	mtasts_log(mtasts_mxprobe_state_of(cls) == MTASTS_MXPROBE_PASS ?
	    LOG_DEBUG : LOG_INFO, NULL, "probe mx=%s addr=%s result=%s "
	    "tls=%s cipher=%s ms=%ld%s%s", h->name, h->res.addr[0] != '\0' ?
	    h->res.addr : "-", cls, h->res.tls_version[0] != '\0' ?
	    h->res.tls_version : "-", h->res.tls_cipher[0] != '\0' ?
	    h->res.tls_cipher : "-", h->res.elapsed_ms,
	    h->res.detail[0] != '\0' ? " detail=" : "", h->res.detail);
	if (mc->c.store == NULL)
		return;
	if (mc->nunsaved == mc->unsaved_cap) {
		struct mtasts_stored_probe	*n;
		size_t				 cap = mc->unsaved_cap ?
						     mc->unsaved_cap * 2 : 8;

		if (cap > UNSAVED_MAX || (n = reallocarray(mc->unsaved, cap,
		    sizeof(*n))) == NULL) {
			mtasts_log(LOG_WARNING, NULL, "store: the probe of %s "
			    "is kept in memory only", h->name);
			return;
		}
		mc->unsaved = n;
		mc->unsaved_cap = cap;
	}
	sp = &mc->unsaved[mc->nunsaved++];
	memset(sp, 0, sizeof(*sp));
	mtasts_strcopy(sp->host, sizeof(sp->host), h->name);
	mtasts_strcopy(sp->addr, sizeof(sp->addr), h->res.addr);
	sp->port = h->res.port;
	mtasts_strcopy(sp->result_class, sizeof(sp->result_class), cls);
	sp->smtp_code = h->res.smtp_code;
	sp->verify_error = h->res.verify_error;
	mtasts_strcopy(sp->tls_version, sizeof(sp->tls_version), h->res.tls_version);
	mtasts_strcopy(sp->tls_cipher, sizeof(sp->tls_cipher), h->res.tls_cipher);
	mtasts_strcopy(sp->cert_names, sizeof(sp->cert_names), h->res.cert_names);
	mtasts_strcopy(sp->cert_subject, sizeof(sp->cert_subject),
	    h->res.cert_subject);
	mtasts_strcopy(sp->cert_issuer, sizeof(sp->cert_issuer), h->res.cert_issuer);
	mtasts_strcopy(sp->cert_not_after, sizeof(sp->cert_not_after),
	    h->res.cert_not_after);
	mtasts_strcopy(sp->detail, sizeof(sp->detail), h->res.detail);
	sp->probed_at = (time_t)h->probed_at;
	sp->expires_at = (time_t)h->expires_at;
}

/*
 * Worker, without the lock: write the results probe_done queued, so that
 * a slow or locked database never holds up an asker.
 */
static void
save_results(struct mtasts_mxcheck *mc)
{
	struct mtasts_stored_probe	*rows;
	size_t				 n, i;

	if (mc->c.store == NULL)
		return;
	pthread_mutex_lock(&mc->lock);
	rows = mc->unsaved;
	n = mc->nunsaved;
	mc->unsaved = NULL;
	mc->nunsaved = mc->unsaved_cap = 0;
	pthread_mutex_unlock(&mc->lock);
	for (i = 0; i < n; i++)
		if (mtasts_store_put_probe(mc->c.store, &rows[i]) != MTASTS_OK)
			mtasts_log(LOG_WARNING, NULL, "store: cannot save the "
			    "probe of %s: %s", rows[i].host,
			    mtasts_store_errmsg(mc->c.store));
	free(rows);
}

static void
on_probe(void *arg, const struct mtasts_probe_result *r)
{
	struct host		*h = arg;
	struct mtasts_mxcheck	*mc = h->mc;
	const char		*cls = mtasts_probe_class_str(r->cls);
	int64_t			 now = now_s(mc);

	pthread_mutex_lock(&mc->lock);
	h->pid = 0;
	if (mtasts_mxprobe_state_of(cls) == MTASTS_MXPROBE_INCONCLUSIVE &&
	    h->addr_idx + 1 < h->naddrs && !mc->stopping) {
		/* That address is down: try the next one. */
		h->addr_idx++;
		if (mtasts_probe_start(mc->pr, h->name,
		    h->addrs[h->addr_idx], on_probe, h, &h->pid) ==
		    MTASTS_OK) {
			mc->st.probes++;
			pthread_mutex_unlock(&mc->lock);
			return;
		}
	}
	probe_done(h, cls, r, now);
	pthread_mutex_unlock(&mc->lock);
}

/* The address answers are complete: the best status of the two. */
static enum mtasts_dns_rcode
addr_status(const struct host *h)
{
	if (h->st_a == MTASTS_DNS_OK || h->st_aaaa == MTASTS_DNS_OK)
		return MTASTS_DNS_OK;
	if (h->st_a == MTASTS_DNS_BOGUS || h->st_aaaa == MTASTS_DNS_BOGUS)
		return MTASTS_DNS_BOGUS;
	if (h->st_a == MTASTS_DNS_NXDOMAIN || h->st_aaaa == MTASTS_DNS_NXDOMAIN)
		return MTASTS_DNS_NXDOMAIN;
	if (h->st_a == MTASTS_DNS_NODATA && h->st_aaaa == MTASTS_DNS_NODATA)
		return MTASTS_DNS_NODATA;
	return h->st_a != MTASTS_DNS_NODATA ? h->st_a : h->st_aaaa;
}

/* Every answered address query was validated. */
static int
addr_secure(const struct host *h)
{
	return (h->st_a == MTASTS_DNS_OK || h->st_a == MTASTS_DNS_NODATA ||
	    h->st_a == MTASTS_DNS_NXDOMAIN ? h->sec_a : 1) &&
	    (h->st_aaaa == MTASTS_DNS_OK || h->st_aaaa == MTASTS_DNS_NODATA ||
	    h->st_aaaa == MTASTS_DNS_NXDOMAIN ? h->sec_aaaa : 1) &&
	    addr_status(h) == MTASTS_DNS_OK;
}

static void
on_addr(void *arg, const struct mtasts_dns_answer *a)
{
	struct host		*h = arg;
	struct mtasts_mxcheck	*mc = h->mc;
	int64_t			 now = now_s(mc), life;
	size_t			 i;

	pthread_mutex_lock(&mc->lock);
	if (h->addr_reset) {
		/* The first answer of a new round replaces the old ones. */
		h->addr_reset = 0;
		h->naddrs = 0;
		h->addr_expires = 0;
	}
	if (a->rrtype == MTASTS_RR_A) {
		h->qid_a = 0;
		h->st_a = a->status;
		h->sec_a = a->secure;
	} else {
		h->qid_aaaa = 0;
		h->st_aaaa = a->status;
		h->sec_aaaa = a->secure;
	}
	for (i = 0; a->status == MTASTS_DNS_OK && i < a->count &&
	    h->naddrs < MTASTS_MXCHECK_ADDRS; i++)
		if (mtasts_dns_addr_str(a->rrtype, a->rdata[i], a->rdlen[i],
		    h->addrs[h->naddrs], sizeof(h->addrs[0])) == 0)
			h->naddrs++;
	life = a->status == MTASTS_DNS_OK || a->status == MTASTS_DNS_NODATA ||
	    a->status == MTASTS_DNS_NXDOMAIN ? clamp(a->ttl, DNS_TTL_MIN,
	    DNS_TTL_MAX) : DNS_TEMP_LIFETIME;
	if (h->addr_expires == 0 || now + life < h->addr_expires)
		h->addr_expires = now + life;
	mtasts_log(LOG_DEBUG, NULL, "probe mx=%s %s: %s (%zu records%s)",
	    h->name, a->rrtype == MTASTS_RR_A ? "A" : "AAAA",
	    mtasts_dns_rcode_str(a->status), a->count,
	    a->secure ? ", secure" : "");
	if (--h->addr_pending == 0) {
		h->addr_running = 0;
		h->addr_have = 1;
		host_advance(h, now);
		pthread_cond_broadcast(&mc->done);
	}
	pthread_mutex_unlock(&mc->lock);
}

static void
on_tlsa(void *arg, const struct mtasts_dns_answer *a)
{
	struct host		*h = arg;
	struct mtasts_mxcheck	*mc = h->mc;
	struct mtasts_tlsa	 t;
	int64_t			 now = now_s(mc), life;
	size_t			 i;

	pthread_mutex_lock(&mc->lock);
	h->qid_tlsa = 0;
	h->st_tlsa = a->status;
	h->sec_tlsa = a->secure;
	h->tlsa_usable = h->tlsa_total = 0;
	for (i = 0; a->status == MTASTS_DNS_OK && i < a->count; i++) {
		h->tlsa_total++;
		if (mtasts_tlsa_parse(a->rdata[i], a->rdlen[i], &t) == 0 &&
		    mtasts_tlsa_usable(&t))
			h->tlsa_usable++;
	}
	life = a->status == MTASTS_DNS_OK || a->status == MTASTS_DNS_NODATA ||
	    a->status == MTASTS_DNS_NXDOMAIN ? clamp(a->ttl, DNS_TTL_MIN,
	    DNS_TTL_MAX) : DNS_TEMP_LIFETIME;
	h->tlsa_expires = now + life;
	h->tlsa_running = 0;
	h->tlsa_have = 1;
	h->tlsa_want = 0;
	mtasts_log(LOG_DEBUG, NULL, "dane mx=%s TLSA: %s (%zu records, %zu "
	    "usable%s)%s%s", h->name, mtasts_dns_rcode_str(a->status),
	    h->tlsa_total, h->tlsa_usable, a->secure ? ", secure" : "",
	    a->why_bogus != NULL ? " " : "", a->why_bogus != NULL ?
	    a->why_bogus : "");
	pthread_cond_broadcast(&mc->done);
	pthread_mutex_unlock(&mc->lock);
}

/* ------------------------------------------------------------ the worker */

static void
start_addr(struct host *h, int64_t now)
{
	struct mtasts_mxcheck	*mc = h->mc;

	h->addr_reset = 1;
	h->addr_pending = 0;
	h->addr_running = 1;
	if (mtasts_resolver_query(mc->c.res, h->name, MTASTS_RR_A, on_addr, h,
	    &h->qid_a) == MTASTS_OK)
		h->addr_pending++;
	if (mtasts_resolver_query(mc->c.res, h->name, MTASTS_RR_AAAA, on_addr,
	    h, &h->qid_aaaa) == MTASTS_OK)
		h->addr_pending++;
	if (h->addr_pending == 0) {
		h->addr_running = 0;
		h->addr_have = 1;
		h->addr_reset = 0;
		h->naddrs = 0;
		h->st_a = h->st_aaaa = MTASTS_DNS_ERROR;
		h->addr_expires = now + DNS_TEMP_LIFETIME;
	}
}

static void
start_tlsa(struct host *h, int64_t now)
{
	struct mtasts_mxcheck	*mc = h->mc;
	char			 name[MTASTS_DNS_NAME_BUFSZ + 16];

	(void)snprintf(name, sizeof(name), "_25._tcp.%s", h->name);
	h->tlsa_running = 1;
	if (mtasts_resolver_query(mc->c.res, name, MTASTS_RR_TLSA, on_tlsa, h,
	    &h->qid_tlsa) != MTASTS_OK) {
		h->tlsa_running = 0;
		h->tlsa_have = 1;
		h->st_tlsa = MTASTS_DNS_ERROR;
		h->tlsa_expires = now + DNS_TEMP_LIFETIME;
		h->tlsa_want = 0;
	}
}

/* Start what h lacks; lock held, worker only. */
static void
host_advance(struct host *h, int64_t now)
{
	struct mtasts_mxcheck	*mc = h->mc;
	enum mtasts_dns_rcode	 st;
	char			 cls[32];

	if (mc->stopping)
		return;
	if ((h->probe_want || h->tlsa_want) && !h->addr_running &&
	    (!h->addr_have || now >= h->addr_expires))
		start_addr(h, now);
	if (h->tlsa_want && !h->tlsa_running &&
	    (!h->tlsa_have || now >= h->tlsa_expires))
		start_tlsa(h, now);
	else if (h->tlsa_have && now < h->tlsa_expires)
		h->tlsa_want = 0;
	if (!h->probe_want || h->probing || h->addr_running || !h->addr_have)
		return;
	if (h->naddrs == 0) {
		st = addr_status(h);
		(void)snprintf(cls, sizeof(cls), "%s", st == MTASTS_DNS_NODATA ||
		    st == MTASTS_DNS_NXDOMAIN ? "no-address" : st ==
		    MTASTS_DNS_BOGUS ? "dns-bogus" : st == MTASTS_DNS_TIMEOUT ?
		    "dns-timeout" : st == MTASTS_DNS_SERVFAIL ? "dns-servfail" :
		    "dns-error");
		probe_done(h, cls, NULL, now);
		return;
	}
	h->addr_idx = 0;
	h->last_start = now;
	if (mtasts_probe_start(mc->pr, h->name, h->addrs[0], on_probe, h,
	    &h->pid) != MTASTS_OK) {
		probe_done(h, "internal", NULL, now);
		return;
	}
	h->probing = 1;
	mc->nprobing++;
	mc->st.probes++;
}

void
mtasts_mxcheck_work(struct mtasts_mxcheck *mc)
{
	struct host	*h;
	int64_t		 now = now_s(mc);

	pthread_mutex_lock(&mc->lock);
	while ((h = mc->todo) != NULL) {
		mc->todo = h->todo_next;
		h->in_todo = 0;
		host_advance(h, now);
	}
	pthread_mutex_unlock(&mc->lock);
	save_results(mc);
}

unsigned int
mtasts_mxcheck_waitfds(struct mtasts_mxcheck *mc, struct curl_waitfd *wfd,
    unsigned int max)
{
	return mtasts_prober_waitfds(mc->pr, wfd, max);
}

long
mtasts_mxcheck_timeout_ms(struct mtasts_mxcheck *mc)
{
	return mtasts_prober_timeout_ms(mc->pr);
}

void
mtasts_mxcheck_process(struct mtasts_mxcheck *mc, const struct curl_waitfd *wfd,
    unsigned int n)
{
	mtasts_prober_process(mc->pr, wfd, n);
	save_results(mc);
}

void
mtasts_mxcheck_load(struct mtasts_mxcheck *mc,
    const struct mtasts_stored_probe *sp)
{
	struct host	*h;

	pthread_mutex_lock(&mc->lock);
	if ((h = host_want(mc, sp->host)) != NULL && !h->have) {
		h->have = 1;
		mtasts_strcopy(h->cls, sizeof(h->cls), sp->result_class);
		h->probed_at = (int64_t)sp->probed_at;
		h->expires_at = (int64_t)sp->expires_at;
		h->last_start = h->probed_at;
		mtasts_strcopy(h->res.host, sizeof(h->res.host), sp->host);
		mtasts_strcopy(h->res.addr, sizeof(h->res.addr), sp->addr);
		h->res.port = sp->port;
		h->res.smtp_code = sp->smtp_code;
		h->res.verify_error = sp->verify_error;
		mtasts_strcopy(h->res.tls_version, sizeof(h->res.tls_version),
		    sp->tls_version);
		mtasts_strcopy(h->res.tls_cipher, sizeof(h->res.tls_cipher),
		    sp->tls_cipher);
		mtasts_strcopy(h->res.cert_names, sizeof(h->res.cert_names),
		    sp->cert_names);
		mtasts_strcopy(h->res.cert_subject, sizeof(h->res.cert_subject),
		    sp->cert_subject);
		mtasts_strcopy(h->res.cert_issuer, sizeof(h->res.cert_issuer),
		    sp->cert_issuer);
		mtasts_strcopy(h->res.cert_not_after, sizeof(h->res.cert_not_after),
		    sp->cert_not_after);
		mtasts_strcopy(h->res.detail, sizeof(h->res.detail), sp->detail);
	}
	pthread_mutex_unlock(&mc->lock);
}

/* ------------------------------------------------------------ the askers */

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

/* Ask for a probe of h when it has none or its result is due; lock held. */
static int
want_probe(struct mtasts_mxcheck *mc, struct host *h, int64_t now)
{
	if (h->probe_want || h->probing) {
		mc->st.shared++;
		return 1;
	}
	if (h->have && (now < h->expires_at ||
	    now < h->last_start + mc->c.min_interval))
		return 0;
	h->probe_want = 1;
	todo_push(mc, h);
	return 1;
}

static void
fill_probe(const struct host *h, int64_t now, struct mtasts_mxprobe *out)
{
	memset(out, 0, sizeof(*out));
	if (h == NULL || !h->have) {
		out->state = MTASTS_MXPROBE_PENDING;
		if (h != NULL)
			mtasts_strcopy(out->res.host, sizeof(out->res.host), h->name);
		return;
	}
	mtasts_strcopy(out->cls, sizeof(out->cls), h->cls);
	out->state = mtasts_mxprobe_state_of(h->cls);
	out->probed_at = h->probed_at;
	out->expires_at = h->expires_at;
	out->stale = now >= h->expires_at;
	out->res = h->res;
}

/* A probe asked for is in, or nothing is being done for the host. */
static int
probe_settled(const struct host *h)
{
	return h == NULL || h->have || !(h->probe_want || h->probing);
}

/*
 * Ask for hosts[0..n) with want (lock held), wake the worker when
 * something was asked, and wait up to budget_ms until settled(h) holds
 * for each.  Returns with the lock held; 1 when the worker is stopping.
 */
static int
ask_and_wait(struct mtasts_mxcheck *mc, const char *const *hosts, size_t n,
    long budget_ms, int (*want)(struct mtasts_mxcheck *, struct host *,
    int64_t), int (*settled)(const struct host *))
{
	struct timespec	 deadline;
	struct host	*h;
	int64_t		 now = now_s(mc);
	size_t		 i, missing;
	int		 wake = 0, rc = 0;

	deadline_after(&deadline, budget_ms > 0 ? budget_ms : 0);
	pthread_mutex_lock(&mc->lock);
	for (i = 0; i < n && !mc->stopping; i++)
		if ((h = host_want(mc, hosts[i])) != NULL)
			wake |= want(mc, h, now);
	pthread_mutex_unlock(&mc->lock);
	if (wake && mc->c.wakeup != NULL)
		mc->c.wakeup(mc->c.wakeup_arg);

	pthread_mutex_lock(&mc->lock);
	for (;;) {
		for (missing = 0, i = 0; i < n; i++)
			if (!settled(host_get(mc, hosts[i])))
				missing++;
		if (missing == 0 || mc->stopping || rc != 0 || budget_ms <= 0)
			break;
		rc = pthread_cond_timedwait(&mc->done, &mc->lock, &deadline);
	}
	return mc->stopping;
}

enum mtasts_status
mtasts_mxcheck_probe(struct mtasts_mxcheck *mc, const char *const *hosts,
    size_t n, long budget_ms, struct mtasts_mxprobe *out)
{
	int64_t	now = now_s(mc);
	size_t	i;
	int	stopping;

	stopping = ask_and_wait(mc, hosts, n, budget_ms, want_probe,
	    probe_settled);
	for (i = 0; i < n; i++)
		fill_probe(host_get(mc, hosts[i]), now, &out[i]);
	pthread_mutex_unlock(&mc->lock);
	return stopping ? MTASTS_INTERNAL : MTASTS_OK;
}

/* Ask for the DNSSEC answers of h when not known or stale; lock held. */
static int
want_dane(struct mtasts_mxcheck *mc, struct host *h, int64_t now)
{
	int	need;

	need = (!h->addr_have || now >= h->addr_expires) && !h->addr_running;
	need |= (!h->tlsa_have || now >= h->tlsa_expires) && !h->tlsa_running;
	if (!need)
		return 0;
	h->tlsa_want = 1;
	todo_push(mc, h);
	return 1;
}

static int
dane_known(const struct host *h)
{
	return h != NULL && h->addr_have && h->tlsa_have;
}

static void
fill_dane(const struct host *h, struct mtasts_mxdane *out)
{
	memset(out, 0, sizeof(*out));
	if (!dane_known(h)) {
		out->state = MTASTS_DANE_HOST_PENDING;
		return;
	}
	out->addr_secure = addr_secure(h);
	out->tlsa_secure = h->sec_tlsa;
	out->tlsa_usable = h->tlsa_usable;
	out->tlsa_total = h->tlsa_total;
	out->state = mtasts_dane_host_state(addr_status(h), out->addr_secure,
	    h->st_tlsa, h->sec_tlsa, h->tlsa_usable);
}

/* The DNSSEC answers are in, or the host could not be kept. */
static int
dane_settled(const struct host *h)
{
	return h == NULL || dane_known(h);
}

enum mtasts_status
mtasts_mxcheck_dane(struct mtasts_mxcheck *mc, const char *const *hosts,
    size_t n, long budget_ms, struct mtasts_mxdane *out)
{
	size_t	i;
	int	stopping;

	stopping = ask_and_wait(mc, hosts, n, budget_ms, want_dane,
	    dane_settled);
	for (i = 0; i < n; i++)
		fill_dane(host_get(mc, hosts[i]), &out[i]);
	pthread_mutex_unlock(&mc->lock);
	return stopping ? MTASTS_INTERNAL : MTASTS_OK;
}

void
mtasts_mxcheck_stats(struct mtasts_mxcheck *mc,
    struct mtasts_mxcheck_stats *out)
{
	pthread_mutex_lock(&mc->lock);
	*out = mc->st;
	out->hosts = mc->count;
	out->running = mc->nprobing;
	pthread_mutex_unlock(&mc->lock);
}
