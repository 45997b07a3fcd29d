/*
 * filter_route.c: the routing side of filter-mta-sts (filter_route.h).
 *
 * The safety rule: a recipient that the verdict judged under enforce and
 * let through must be routed by smtpd to its verifying "relay tls"
 * action, or it may leave in clear text.  smtpd routes by asking
 * table-sqlite the routing query (MTASTS_STORE_ROUTE_QUERY) for the
 * domain as the client wrote it, a few milliseconds after our answer.  We
 * ask the same question of the same database first, with the same key,
 * and defer the recipient when the answer would be "no".  What can make
 * it "no" although the engine knows an enforce policy: the store could
 * not be written (locked, read-only, full), the row is still being
 * written, the policy is about to expire, or the key is not the
 * normalised name (a trailing dot, a U-label, which the engine normalises
 * and smtpd does not).  In every such case deferring costs a retry, and
 * routing wrongly would cost the protection.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "filter_route.h"
#include "filter_work.h"
#include "log.h"
#include "store.h"
#include "verdict.h"

#define KEY_MAX		1024

void
route_reader_init(struct route_reader *rr)
{
	rr->st = NULL;
	rr->retry_at = 0;
}

void
route_reader_close(struct route_reader *rr)
{
	mtasts_store_close(rr->st);
	rr->st = NULL;
}

/* The thread's read-only handle; NULL while the store cannot be opened. */
static struct mtasts_store *
reader(struct route_reader *rr, const struct mtasts_config *cfg)
{
	struct mtasts_diag	diag;
	time_t			now = time(NULL);

	if (rr->st != NULL || cfg->database == NULL || now < rr->retry_at)
		return rr->st;
	mtasts_diag_init(&diag);
	if ((rr->st = mtasts_store_open(cfg->database, 1, &diag)) == NULL) {
		rr->retry_at = now + ROUTE_REOPEN_S;
		mtasts_log(LOG_WARNING, NULL, "routing check: %s; enforced "
		    "recipients are deferred until it can be read",
		    mtasts_diag_first(&diag));
	}
	return rr->st;
}

/* One look at enforced_domains: "" when routed, else why not. */
static const char *
route_once(struct route_reader *rr, const struct mtasts_config *cfg,
    const char *key)
{
	struct mtasts_store	*st;
	enum mtasts_status	 s;
	time_t			 expires;

	if ((st = reader(rr, cfg)) == NULL)
		return "store-unavailable";
	s = mtasts_store_route(st, key, &expires);
	if (s == MTASTS_OK)
		return expires > time(NULL) + ROUTE_MARGIN_S ? "" : "expiring";
	if (s == MTASTS_NOPOLICY)
		return "not-listed";
	mtasts_log(LOG_WARNING, key, "routing check failed: %s",
	    mtasts_store_errmsg(st));
	if (s == MTASTS_INTERNAL)
		route_reader_close(rr);	/* opened again next time */
	return "store-error";
}

static void
sleep_ms(long ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
append_reason(struct mtasts_verdict *v, const char *more)
{
	size_t	n = strlen(v->reason);

	(void)snprintf(v->reason + n, sizeof(v->reason) - n, "%s", more);
}

void
route_adapt(struct route_reader *rr, const struct mtasts_config *cfg,
    const char *dom, size_t len, int64_t deadline, struct mtasts_verdict *v)
{
	char		 key[KEY_MAX];
	const char	*why = "bad-key";
	int64_t		 start = fw_now_ms(), until;

	if (v->action == MTASTS_ACTION_BOUNCE) {
		v->action = MTASTS_ACTION_DEFER;
		v->smtp_code = 451;
		v->status[0] = '4';
		append_reason(v, ":bounce-unsupported");
		return;
	}
	if (v->action != MTASTS_ACTION_ACCEPT ||
	    !(v->forced || (v->has_policy && v->mode == MTASTS_MODE_ENFORCE)))
		return;
	until = deadline;
	if (until < start + ROUTE_WAIT_MIN_MS)
		until = start + ROUTE_WAIT_MIN_MS;
	if (until > start + ROUTE_WAIT_MAX_MS)
		until = start + ROUTE_WAIT_MAX_MS;
	if (len > 0 && len < sizeof(key) && memchr(dom, '\0', len) == NULL) {
		memcpy(key, dom, len);
		key[len] = '\0';
		for (;;) {
			if ((why = route_once(rr, cfg, key))[0] == '\0')
				return;
			if (fw_now_ms() + ROUTE_POLL_MS > until)
				break;
			sleep_ms(ROUTE_POLL_MS);
		}
	}
	v->action = MTASTS_ACTION_DEFER;
	v->smtp_code = 451;
	(void)snprintf(v->status, sizeof(v->status), "4.7.5");
	(void)snprintf(v->text, sizeof(v->text), "MTA-STS policy for %s "
	    "cannot be enforced yet: the domain is not routed to verified "
	    "TLS", v->domain);
	(void)snprintf(v->reason, sizeof(v->reason), "not-routed:%s", why);
}

/* ---------------------------------------------------------------- controls */

/* A lower-case copy of a list entry, or NULL when it can match nothing. */
static char *
pattern_of(const char *entry)
{
	size_t	 i, n = strlen(entry);
	char	*p;

	if (n == 0 || n > 254 || (n == 1 && entry[0] == '.'))
		return NULL;
	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i <= n; i++) {
		p[i] = entry[i] >= 'A' && entry[i] <= 'Z' ?
		    (char)(entry[i] - 'A' + 'a') : entry[i];
		if (i < n && !((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '-' ||
		    p[i] == '.')) {
			free(p);
			return NULL;
		}
	}
	return p;
}

struct controls {
	struct mtasts_store_control	*v;
	size_t				 n;
};

static int
add_list(struct controls *c, const struct mtasts_strlist *l,
    const char *control, const char *source, struct mtasts_diag *diag)
{
	size_t	i;
	char	*p;

	for (i = 0; i < l->n; i++) {
		if ((p = pattern_of(l->v[i])) == NULL) {
			mtasts_diag_add(diag, 1, 0, "%s entry '%s' can match "
			    "no domain; not written to domain_controls",
			    source, l->v[i]);
			continue;
		}
		c->v[c->n].pattern = p;
		c->v[c->n].control = control;
		c->v[c->n].source = source;
		c->n++;
	}
	return 0;
}

long
route_sync_controls(const struct mtasts_config *cfg, time_t now,
    struct mtasts_diag *diag)
{
	struct mtasts_store	*st;
	struct controls		 c;
	enum mtasts_status	 s;
	size_t			 i, total;
	long			 rc = -1;

	total = cfg->enforce_domains.n + cfg->routed_domains.n +
	    cfg->skip_domains.n;
	c.n = 0;
	if ((c.v = calloc(total + 1, sizeof(*c.v))) == NULL) {
		mtasts_diag_add(diag, 0, 0, "domain_controls: out of memory");
		return -1;
	}
	/* Skip entries last: of two for one pattern the later one stays. */
	(void)add_list(&c, &cfg->enforce_domains, "enforce", "EnforceDomains",
	    diag);
	(void)add_list(&c, &cfg->routed_domains, "skip", "RoutedDomains", diag);
	(void)add_list(&c, &cfg->skip_domains, "skip", "SkipDomains", diag);
	if (cfg->database == NULL)
		mtasts_diag_add(diag, 0, 0, "no Database: nothing can be "
		    "routed to verified TLS");
	else if ((st = mtasts_store_open(cfg->database, 0, diag)) != NULL) {
		s = mtasts_store_replace_controls(st, c.v, c.n, now);
		if (s == MTASTS_OK)
			rc = (long)c.n;
		else
			mtasts_diag_add(diag, 0, 0, "%s: cannot write "
			    "domain_controls: %s", cfg->database,
			    mtasts_store_errmsg(st));
		mtasts_store_close(st);
	}
	for (i = 0; i < c.n; i++)
		free((char *)c.v[i].pattern);
	free(c.v);
	return rc;
}
