/*
 * check.c: the one-shot diagnosis behind "mta-sts-ctl check" (check.h).
 *
 * The four DNS questions (TXT, A, AAAA, MX) are asked at once, so that a
 * zone whose servers never answer costs one DnsTimeout rather than four;
 * the fetch follows once the addresses are in.  Nothing here touches the
 * engine's cache or the store: a diagnosis must not change what the daemon
 * will decide, and it must show what a sender with nothing cached would
 * see (RFC 8461 §3.3).
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "domain.h"
#include "fetch.h"
#include "ioconf.h"
#include "log.h"
#include "mxcheck.h"
#include "mxmatch.h"
#include "policy.h"
#include "resolver.h"
#include "strutil.h"
#include "txt.h"

/* The fetch gets this long beyond HttpsTimeout before it is abandoned. */
#define FETCH_SLACK_MS		5000
/* The DNS wait likewise, beyond DnsTimeout (libunbound's own slack). */
#define DNS_SLACK_MS		2000
#define POLL_STEP_MS		200
/* RFC 8461 §3.2: max_age values "in the range of weeks or greater". */
#define MAX_AGE_SHORT		86400UL
/* A certificate this close to its end deserves a warning. */
#define CERT_SOON		(14L * 86400)

struct run {
	struct mtasts_check_report	*r;
	const struct mtasts_config	*cfg;
	struct mtasts_resolver		*res;
	struct mtasts_fetcher		*fet;
	int				 dns_pending;
	int				 fetch_done;
	int				 nomem;
	/* STSv1 candidates among the TXT records, for the failure class */
	size_t				 txt_candidates;
	size_t				 txt_bad;
	enum mtasts_status		 txt_status;
	/* MX host addresses: one context per host for the callbacks */
	struct mx_addr {
		struct run	*run;
		size_t		 i;
		int		 pending;
		int		 temp;
		int		 bogus;
	}				 mxa[MTASTS_CHECK_MAX_MX];
	size_t				 probes_left;
};

static const char *const verdict_names[] = {
	[MTASTS_CHECK_ENFORCE] = "enforce",
	[MTASTS_CHECK_TESTING] = "testing",
	[MTASTS_CHECK_NONE] = "none",
	[MTASTS_CHECK_NOPOLICY] = "no-policy",
	[MTASTS_CHECK_TEMPORARY] = "temporary"
};

static const char *const txt_verdict_names[] = {
	[MTASTS_CHECK_TXT_VALID] = "valid",
	[MTASTS_CHECK_TXT_NOT_STS] = "not-sts",
	[MTASTS_CHECK_TXT_INVALID] = "invalid"
};

const char *
mtasts_check_verdict_str(enum mtasts_check_verdict v)
{
	if ((size_t)v >= sizeof(verdict_names) / sizeof(verdict_names[0]))
		return "unknown";
	return verdict_names[v];
}

const char *
mtasts_check_txt_verdict_str(enum mtasts_check_txt_verdict v)
{
	if ((size_t)v >= sizeof(txt_verdict_names) /
	    sizeof(txt_verdict_names[0]))
		return "unknown";
	return txt_verdict_names[v];
}
/* ---------------------------------------------------------------- helpers */

static void __attribute__((format(printf, 3, 4)))
problem(struct mtasts_check_report *r, int warning, const char *fmt, ...)
{
	struct mtasts_check_problem	*p;
	va_list				 ap;

	if (!warning)
		r->errors++;
	if (r->nproblems >= MTASTS_CHECK_MAX_PROBLEMS) {
		r->problems_dropped++;
		return;
	}
	p = &r->problems[r->nproblems++];
	p->warning = warning;
	va_start(ap, fmt);
	(void)vsnprintf(p->text, sizeof(p->text), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
set_reason(struct mtasts_check_report *r, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

static void
dns_note(struct mtasts_check_dns *d, const struct mtasts_dns_answer *a)
{
	d->rcode = a->status;
	d->secure = a->secure;
	mtasts_strcopy(d->canonname, sizeof(d->canonname), a->canonname);
	if (a->why_bogus != NULL)
		mtasts_strcopy(d->why, sizeof(d->why), a->why_bogus);
	else if (a->error != NULL)
		mtasts_strcopy(d->why, sizeof(d->why), a->error);
}

static int
dns_failed(enum mtasts_dns_rcode rc)
{
	return rc != MTASTS_DNS_OK && rc != MTASTS_DNS_NODATA &&
	    rc != MTASTS_DNS_NXDOMAIN;
}

/* ---------------------------------------------------------------- TXT */

/*
 * Join the <length><bytes> strings of one TXT rdata into an allocated
 * buffer.  Returns 0, 1 when the wire form is broken (t->text is then an
 * empty string), or -1 when out of memory.
 */
static int
txt_join(const unsigned char *rd, size_t len, struct mtasts_check_txt *t)
{
	size_t	 i = 0, n, out = 0;

	if ((t->text = malloc(len + 1)) == NULL)
		return -1;
	while (i < len) {
		n = rd[i++];
		if (n > len - i) {
			t->text[0] = '\0';
			t->len = 0;
			return 1;
		}
		memcpy(t->text + out, rd + i, n);
		out += n;
		i += n;
	}
	t->text[out] = '\0';
	t->len = out;
	return 0;
}

static void
txt_one(struct run *run, const unsigned char *rd, size_t len,
    struct mtasts_check_txt *t)
{
	struct mtasts_diag	 diag;
	struct mtasts_txt	 txt;
	enum mtasts_status	 st;
	size_t			 i;
	int			 rc;

	if ((rc = txt_join(rd, len, t)) == -1) {
		run->nomem = 1;
		return;
	}
	if (rc == 1) {
		/* mtasts_txt_select counts it as a broken candidate too. */
		t->verdict = MTASTS_CHECK_TXT_INVALID;
		mtasts_strcopy(t->reason, sizeof(t->reason),
		    "malformed TXT wire data");
		run->txt_candidates++;
		run->txt_bad++;
		return;
	}
	mtasts_diag_init(&diag);
	st = mtasts_txt_parse(t->text, t->len, &txt, &diag);
	if (st == MTASTS_OK) {
		t->verdict = MTASTS_CHECK_TXT_VALID;
		mtasts_strcopy(t->id, sizeof(t->id), txt.id);
		run->txt_candidates++;
	} else if (st == MTASTS_NOPOLICY) {
		t->verdict = MTASTS_CHECK_TXT_NOT_STS;
		return;
	} else {
		t->verdict = MTASTS_CHECK_TXT_INVALID;
		mtasts_strcopy(t->reason, sizeof(t->reason), *mtasts_diag_first(&diag)
		    != '\0' ? mtasts_diag_first(&diag) : mtasts_status_str(st));
		run->txt_candidates++;
		run->txt_bad++;
	}
	for (i = 0; i < diag.count; i++)
		if (diag.item[i].warning)
			problem(run->r, 1, "TXT record: %s", diag.item[i].text);
}

static void
on_txt(void *arg, const struct mtasts_dns_answer *a)
{
	struct run			*run = arg;
	struct mtasts_check_report	*r = run->r;
	struct mtasts_diag		 diag;
	struct mtasts_txt		 txt;
	size_t				 i;

	run->dns_pending--;
	dns_note(&r->txt_dns, a);
	mtasts_log(LOG_DEBUG, r->domain, "check: TXT %s: %s (%zu records)",
	    a->qname, mtasts_dns_rcode_str(a->status), a->count);
	if (a->status != MTASTS_DNS_OK) {
		run->txt_status = dns_failed(a->status) ? MTASTS_TEMPFAIL :
		    MTASTS_NOPOLICY;
		return;
	}
	for (i = 0; i < a->count; i++) {
		if (r->ntxt >= MTASTS_CHECK_MAX_TXT) {
			r->txt_dropped++;
			continue;
		}
		txt_one(run, a->rdata[i], a->rdlen[i], &r->txt[r->ntxt++]);
	}
	mtasts_diag_init(&diag);
	run->txt_status = mtasts_txt_select_wire(a->rdata, a->rdlen, a->count,
	    &txt, &diag);
	if (run->txt_status == MTASTS_OK)
		mtasts_strcopy(r->txt_id, sizeof(r->txt_id), txt.id);
	else {
		mtasts_strcopy(r->txt_reason, sizeof(r->txt_reason),
		    mtasts_diag_first(&diag));
		if (run->txt_status == MTASTS_INTERNAL)
			run->nomem = 1;
	}
}

/* ---------------------------------------------------------------- A, AAAA */

static void
on_addr(void *arg, const struct mtasts_dns_answer *a)
{
	struct run			*run = arg;
	struct mtasts_check_report	*r = run->r;
	size_t				 i;

	run->dns_pending--;
	dns_note(a->rrtype == MTASTS_RR_A ? &r->a_dns : &r->aaaa_dns, a);
	mtasts_log(LOG_DEBUG, r->domain, "check: %s %s: %s (%zu records)",
	    a->rrtype == MTASTS_RR_A ? "A" : "AAAA", a->qname,
	    mtasts_dns_rcode_str(a->status), a->count);
	if (a->status != MTASTS_DNS_OK)
		return;
	for (i = 0; i < a->count && r->naddrs < MTASTS_FETCH_MAX_ADDRS; i++)
		if (mtasts_dns_addr_str(a->rrtype, a->rdata[i], a->rdlen[i],
		    r->addrs[r->naddrs], sizeof(r->addrs[0])) == 0)
			r->naddrs++;
}

/* ---------------------------------------------------------------- MX */

static int
mx_cmp(const void *va, const void *vb)
{
	const struct mtasts_check_mx	*a = va, *b = vb;

	if (a->preference != b->preference)
		return a->preference < b->preference ? -1 : 1;
	return strcmp(a->host, b->host);
}

static void
on_mx(void *arg, const struct mtasts_dns_answer *a)
{
	struct run			*run = arg;
	struct mtasts_check_report	*r = run->r;
	struct mtasts_check_mx		*m;
	size_t				 i;
	int				 nulls = 0;

	run->dns_pending--;
	dns_note(&r->mx_dns, a);
	mtasts_log(LOG_DEBUG, r->domain, "check: MX %s: %s (%zu records)",
	    a->qname, mtasts_dns_rcode_str(a->status), a->count);
	for (i = 0; a->status == MTASTS_DNS_OK && i < a->count; i++) {
		if (r->nmx >= MTASTS_CHECK_MAX_MX) {
			r->mx_dropped++;
			continue;
		}
		m = &r->mx[r->nmx];
		if (mtasts_dns_mx_parse(a->rdata[i], a->rdlen[i],
		    &m->preference, m->host, sizeof(m->host)) == -1) {
			problem(r, 1, "an MX record of %s is malformed and "
			    "was skipped", r->domain);
			continue;
		}
		if (m->host[0] == '\0') {
			nulls++;
			continue;
		}
		r->nmx++;
	}
	if (nulls > 0 && (r->nmx > 0 || a->count > 1))
		problem(r, 1, "a null MX (RFC 7505) beside other MX records "
		    "is meaningless and was ignored");
	else if (nulls > 0) {
		r->null_mx = 1;
		problem(r, 1, "%s has a null MX (RFC 7505): it accepts no "
		    "mail; checked as if the domain itself were the MX",
		    r->domain);
	}
	if (r->nmx == 0 && (a->status == MTASTS_DNS_NXDOMAIN ||
	    a->status == MTASTS_DNS_NODATA || r->null_mx)) {
		/* RFC 5321 §5.1: no MX means the domain is its own MX. */
		r->implicit_mx = 1;
		r->mx[0].preference = 0;
		mtasts_strcopy(r->mx[0].host, sizeof(r->mx[0].host), r->domain);
		r->nmx = 1;
	}
	qsort(r->mx, r->nmx, sizeof(r->mx[0]), mx_cmp);
}

/* ---------------------------------------------------------------- DNS loop */

static void
dns_ask(struct run *run, struct mtasts_check_dns *d, const char *name,
    int rrtype, mtasts_dns_cb *cb)
{
	mtasts_strcopy(d->qname, sizeof(d->qname), name);
	if (mtasts_resolver_query(run->res, name, rrtype, cb, run, NULL) !=
	    MTASTS_OK) {
		d->rcode = MTASTS_DNS_ERROR;
		mtasts_strcopy(d->why, sizeof(d->why), "the query could not be "
		    "started");
		return;
	}
	d->asked = 1;
	/* What an answer that never comes amounts to. */
	d->rcode = MTASTS_DNS_TIMEOUT;
	run->dns_pending++;
}

/*
 * Wait for every answer.  Each query has its own deadline in the
 * resolver; the outer limit only guards against a resolver that never
 * reports.
 */
static void
dns_wait(struct run *run)
{
	struct pollfd	 pfd;
	uint64_t	 end;
	long		 wait;

	end = mtasts_resolver_now() + (uint64_t)run->cfg->dns_timeout * 1000 +
	    DNS_SLACK_MS;
	while (run->dns_pending > 0 && mtasts_resolver_now() < end) {
		pfd.fd = mtasts_resolver_fd(run->res);
		pfd.events = POLLIN;
		pfd.revents = 0;
		wait = mtasts_resolver_next_timeout_ms(run->res,
		    mtasts_resolver_now());
		if (wait < 0 || wait > POLL_STEP_MS)
			wait = POLL_STEP_MS;
		if (poll(&pfd, 1, (int)wait) == -1 && errno != EINTR) {
			mtasts_log(LOG_ERR, NULL, "check: poll: %s",
			    strerror(errno));
			break;
		}
		if (pfd.revents != 0)
			(void)mtasts_resolver_process(run->res);
		mtasts_resolver_expire(run->res, mtasts_resolver_now());
	}
}

/* ---------------------------------------------------------------- fetch */

static void
on_fetch(void *arg, const struct mtasts_fetch_result *res)
{
	struct run			*run = arg;
	struct mtasts_check_report	*r = run->r;
	struct mtasts_policy		 tmp;

	run->fetch_done = 1;
	r->fetch_class = res->cls;
	r->http_status = res->http_status;
	mtasts_strcopy(r->url, sizeof(r->url), res->url);
	mtasts_strcopy(r->content_type, sizeof(r->content_type), res->content_type);
	mtasts_strcopy(r->location, sizeof(r->location), res->location);
	mtasts_strcopy(r->primary_ip, sizeof(r->primary_ip), res->primary_ip);
	mtasts_strcopy(r->tls_version, sizeof(r->tls_version), res->tls_version);
	mtasts_strcopy(r->cert_subject, sizeof(r->cert_subject), res->cert_subject);
	mtasts_strcopy(r->cert_issuer, sizeof(r->cert_issuer), res->cert_issuer);
	mtasts_strcopy(r->cert_expire, sizeof(r->cert_expire), res->cert_expire);
	mtasts_strcopy(r->fetch_error, sizeof(r->fetch_error), res->error);
	mtasts_log(LOG_DEBUG, r->domain, "check: fetch %s: %s %s",
	    res->url != NULL ? res->url : "", mtasts_fetch_class_str(res->cls),
	    res->error);

	/*
	 * The fetcher keeps only the first problem; parse the body again to
	 * list every one, warnings included.
	 */
	if ((res->cls == MTASTS_FETCH_OK || res->cls == MTASTS_FETCH_PARSE) &&
	    res->body != NULL) {
		memset(&tmp, 0, sizeof(tmp));
		(void)mtasts_policy_parse(res->body, res->body_len,
		    run->cfg->policy_max_size, &tmp, &r->policy_diag);
		mtasts_policy_clear(&tmp);
		r->body_parsed = 1;
	}
	if (res->cls == MTASTS_FETCH_OK && res->policy != NULL) {
		r->policy = *res->policy;
		memset(res->policy, 0, sizeof(*res->policy));
		r->have_policy = 1;
	}
}

static void
fetch_run(struct run *run)
{
	struct mtasts_check_report	*r = run->r;
	const char			*addrs[MTASTS_FETCH_MAX_ADDRS];
	unsigned int			 fid;
	uint64_t			 end;
	size_t				 i;

	for (i = 0; i < r->naddrs; i++)
		addrs[i] = r->addrs[i];
	if (mtasts_fetch_start(run->fet, r->domain, addrs, r->naddrs, 1,
	    on_fetch, run, &fid) != MTASTS_OK) {
		r->fetched = 1;
		r->fetch_class = MTASTS_FETCH_INTERNAL;
		mtasts_strcopy(r->fetch_error, sizeof(r->fetch_error),
		    "the fetch could not be started");
		return;
	}
	r->fetched = 1;
	end = mtasts_resolver_now() + (uint64_t)run->cfg->https_timeout * 1000 +
	    FETCH_SLACK_MS;
	while (!run->fetch_done && mtasts_resolver_now() < end) {
		(void)mtasts_fetcher_poll(run->fet, NULL, 0, POLL_STEP_MS,
		    NULL);
		(void)mtasts_fetcher_perform(run->fet);
	}
	if (!run->fetch_done) {
		mtasts_fetch_cancel(run->fet, fid);
		r->fetch_class = MTASTS_FETCH_TIMEOUT;
		(void)snprintf(r->fetch_error, sizeof(r->fetch_error),
		    "no result within %ld s", run->cfg->https_timeout +
		    FETCH_SLACK_MS / 1000);
	}
}

/* ---------------------------------------------------------------- verdict */

/* Which pattern covers each MX host (RFC 8461 §4.1). */
static void
mx_cover(struct mtasts_check_report *r)
{
	struct mtasts_check_mx	*m;
	size_t			 i, j;

	for (i = 0; i < r->nmx; i++) {
		m = &r->mx[i];
		for (j = 0; j < r->policy.nmx; j++) {
			if (mtasts_mx_match(r->policy.mx[j], m->host)) {
				m->covered = 1;
				mtasts_strcopy(m->pattern, sizeof(m->pattern),
				    r->policy.mx[j]);
				break;
			}
		}
	}
}

/* Problems with the MX hosts, as grave as the mode makes them. */
static void
mx_problems(struct mtasts_check_report *r)
{
	size_t	i;
	int	enforce = r->verdict == MTASTS_CHECK_ENFORCE;

	if (r->verdict != MTASTS_CHECK_ENFORCE &&
	    r->verdict != MTASTS_CHECK_TESTING)
		return;
	if (dns_failed(r->mx_dns.rcode)) {
		problem(r, !enforce, "MX lookup of %s failed (%s): cannot tell "
		    "whether the MX hosts are covered", r->domain,
		    mtasts_dns_rcode_str(r->mx_dns.rcode));
		return;
	}
	for (i = 0; i < r->nmx; i++) {
		if (r->mx[i].covered)
			continue;
		if (enforce)
			problem(r, 0, "MX %s is not covered by the policy: "
			    "enforce mode will refuse it", r->mx[i].host);
		else
			problem(r, 1, "MX %s is not covered by the policy: "
			    "testing mode reports it but still delivers",
			    r->mx[i].host);
	}
}

/* Parse the certificate's end ("Jan  2 03:04:05 2030 GMT") and warn. */
static void
cert_expiry(struct mtasts_check_report *r)
{
	static const char *const formats[] = {
		"%b %d %H:%M:%S %Y GMT", "%Y-%m-%d %H:%M:%S GMT"
	};
	struct tm	 tm;
	const char	*end;
	time_t		 t, now = time(NULL);
	size_t		 i;

	if (r->cert_expire[0] == '\0')
		return;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(r->cert_expire, formats[i], &tm);
		if (end == NULL || *end != '\0')
			continue;
		if ((t = timegm(&tm)) == (time_t)-1)
			return;
		if (t > now && t - now < CERT_SOON)
			problem(r, 1, "the certificate of mta-sts.%s expires "
			    "in %ld days (%s)", r->domain,
			    (long)((t - now) / 86400), r->cert_expire);
		return;
	}
}

static void
policy_problems(struct mtasts_check_report *r)
{
	const struct mtasts_diag_item	*it;
	size_t				 i;

	for (i = 0; i < r->policy_diag.count; i++) {
		it = &r->policy_diag.item[i];
		if (it->line > 0)
			problem(r, it->warning, "policy line %u: %s", it->line,
			    it->text);
		else
			problem(r, it->warning, "policy: %s", it->text);
	}
	if (r->have_policy && r->policy.max_age < MAX_AGE_SHORT &&
	    r->policy.mode != MTASTS_MODE_NONE)
		problem(r, 1, "max_age %lu is less than a day; RFC 8461 "
		    "recommends weeks", r->policy.max_age);
	if (r->fetched && r->fetch_class == MTASTS_FETCH_OK)
		cert_expiry(r);
}

/* The class of a TXT answer that yields no policy. */
static const char *
txt_class(const struct run *run)
{
	if (run->txt_candidates == 0)
		return "no-txt";
	if (run->txt_candidates > 1)
		return "multi-txt";
	return "bad-txt";
}

static void
conclude_txt_failed(struct run *run)
{
	struct mtasts_check_report	*r = run->r;
	const char			*rc;

	rc = mtasts_dns_rcode_str(r->txt_dns.rcode);
	if (run->txt_status == MTASTS_TEMPFAIL) {
		r->verdict = MTASTS_CHECK_TEMPORARY;
		mtasts_strcopy(r->cls, sizeof(r->cls), "dns");
		set_reason(r, "TXT lookup of %s failed (%s%s%s): a sender "
		    "keeps a cached policy, or tries again later",
		    r->txt_dns.qname, rc, r->txt_dns.why[0] ? ": " : "",
		    r->txt_dns.why);
		problem(r, 0, "TXT lookup of %s failed: %s", r->txt_dns.qname,
		    rc);
		return;
	}
	r->verdict = MTASTS_CHECK_NOPOLICY;
	if (r->txt_dns.rcode != MTASTS_DNS_OK) {
		mtasts_strcopy(r->cls, sizeof(r->cls), "no-txt");
		set_reason(r, "no _mta-sts TXT record (%s)", rc);
	} else {
		mtasts_strcopy(r->cls, sizeof(r->cls), txt_class(run));
		set_reason(r, "%s", r->txt_reason);
		/* A broken record is a mistake; no record is a choice. */
		if (run->txt_candidates > 0)
			problem(r, 0, "%s", r->txt_reason);
	}
	if (r->fetched && r->fetch_class == MTASTS_FETCH_OK)
		problem(r, 1, "a valid policy is served at %s, but without "
		    "a valid TXT record senders do not use it", r->url);
}

static void
conclude(struct run *run)
{
	struct mtasts_check_report	*r = run->r;
	size_t				 i, covered = 0;

	if (dns_failed(r->a_dns.rcode) || dns_failed(r->aaaa_dns.rcode))
		problem(r, 1, "address lookup of mta-sts.%s failed (A %s, "
		    "AAAA %s)", r->domain, mtasts_dns_rcode_str(r->a_dns.rcode),
		    mtasts_dns_rcode_str(r->aaaa_dns.rcode));
	if (r->have_policy)
		mx_cover(r);
	if (run->txt_status != MTASTS_OK) {
		conclude_txt_failed(run);
		policy_problems(r);
		return;
	}
	if (!r->have_policy) {
		r->verdict = MTASTS_CHECK_NOPOLICY;
		mtasts_strcopy(r->cls, sizeof(r->cls),
		    mtasts_fetch_class_str(r->fetch_class));
		set_reason(r, "TXT id %s is valid, but the policy fetch failed "
		    "(%s: %s); with nothing cached a sender treats the domain "
		    "as having no policy", r->txt_id, r->cls, r->fetch_error);
		/* For "parse", the body's own problems follow. */
		if (r->fetch_class != MTASTS_FETCH_PARSE || !r->body_parsed)
			problem(r, 0, "policy fetch failed: %s: %s", r->cls,
			    r->fetch_error);
		policy_problems(r);
		return;
	}
	mtasts_strcopy(r->cls, sizeof(r->cls), "ok");
	switch (r->policy.mode) {
	case MTASTS_MODE_ENFORCE:
		r->verdict = MTASTS_CHECK_ENFORCE;
		break;
	case MTASTS_MODE_TESTING:
		r->verdict = MTASTS_CHECK_TESTING;
		break;
	default:
		r->verdict = MTASTS_CHECK_NONE;
		break;
	}
	for (i = 0; i < r->nmx; i++)
		covered += r->mx[i].covered != 0;
	if (r->verdict == MTASTS_CHECK_NONE)
		set_reason(r, "policy id %s is in mode none: senders treat "
		    "the domain as having no policy", r->txt_id);
	else if (dns_failed(r->mx_dns.rcode))
		set_reason(r, "policy id %s, mode %s; MX lookup failed",
		    r->txt_id, mtasts_mode_str(r->policy.mode));
	else
		set_reason(r, "policy id %s, mode %s; %zu of %zu MX hosts "
		    "covered", r->txt_id, mtasts_mode_str(r->policy.mode),
		    covered, r->nmx);
	policy_problems(r);
	mx_problems(r);
}

/* ------------------------------------------------------------ MX probes */

static void
on_mx_addr(void *arg, const struct mtasts_dns_answer *a)
{
	struct mx_addr		*x = arg;
	struct mtasts_check_mx	*m = &x->run->r->mx[x->i];
	size_t			 i;

	x->run->dns_pending--;
	x->pending--;
	if (a->status == MTASTS_DNS_BOGUS)
		x->bogus = 1;
	else if (dns_failed(a->status))
		x->temp = 1;
	for (i = 0; a->status == MTASTS_DNS_OK && i < a->count; i++) {
		if (m->naddrs == 0 && mtasts_dns_addr_str(a->rrtype,
		    a->rdata[i], a->rdlen[i], m->addr, sizeof(m->addr)) == -1)
			continue;
		m->naddrs++;
	}
}

static void
on_mx_probe(void *arg, const struct mtasts_probe_result *res)
{
	struct mx_addr		*x = arg;
	struct mtasts_check_mx	*m = &x->run->r->mx[x->i];

	m->probe = *res;
	m->probed = 1;
	mtasts_strcopy(m->probe_cls, sizeof(m->probe_cls),
	    mtasts_probe_class_str(res->cls));
	m->probe_verdict = mtasts_mxprobe_state_str(
	    mtasts_mxprobe_state_of(m->probe_cls));
	x->run->probes_left--;
}

/* Drive the prober until every probe reported or the deadline passed. */
static void
probe_wait(struct run *run, struct mtasts_prober *pr, long limit_ms)
{
	struct curl_waitfd	 wfd[MTASTS_CHECK_MAX_MX];
	struct pollfd		 pfd[MTASTS_CHECK_MAX_MX];
	uint64_t		 end = mtasts_resolver_now() + (uint64_t)limit_ms;
	unsigned int		 n, i;
	long			 t;

	while (run->probes_left > 0 && mtasts_resolver_now() < end) {
		n = mtasts_prober_waitfds(pr, wfd, MTASTS_CHECK_MAX_MX);
		for (i = 0; i < n; i++) {
			pfd[i].fd = wfd[i].fd;
			pfd[i].events = (wfd[i].events & CURL_WAIT_POLLIN ?
			    POLLIN : 0) | (wfd[i].events & CURL_WAIT_POLLOUT ?
			    POLLOUT : 0);
			pfd[i].revents = 0;
		}
		t = mtasts_prober_timeout_ms(pr);
		if (t < 0 || t > POLL_STEP_MS)
			t = POLL_STEP_MS;
		if (poll(pfd, n, (int)t) == -1 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			wfd[i].revents = (pfd[i].revents & POLLIN ?
			    CURL_WAIT_POLLIN : 0) | (pfd[i].revents &
			    (POLLOUT | POLLERR | POLLHUP) ? CURL_WAIT_POLLOUT :
			    0) | (pfd[i].revents & (POLLERR | POLLHUP) ?
			    CURL_WAIT_POLLIN : 0);
		mtasts_prober_process(pr, wfd, n);
	}
}

/*
 * Look up the MX hosts' addresses and probe each host's first address,
 * all at once (RFC 8461 §4; RFC 8460 result types).
 */
static void
mx_probe(struct run *run)
{
	struct mtasts_check_report	*r = run->r;
	struct mtasts_probe_conf	 pc;
	struct mtasts_prober		*pr;
	struct mtasts_diag		 diag;
	struct mx_addr			*x;
	size_t				 i;

	for (i = 0; i < r->nmx; i++) {
		x = &run->mxa[i];
		x->run = run;
		x->i = i;
		if (mtasts_resolver_query(run->res, r->mx[i].host, MTASTS_RR_A,
		    on_mx_addr, x, NULL) == MTASTS_OK) {
			x->pending++;
			run->dns_pending++;
		}
		if (mtasts_resolver_query(run->res, r->mx[i].host,
		    MTASTS_RR_AAAA, on_mx_addr, x, NULL) == MTASTS_OK) {
			x->pending++;
			run->dns_pending++;
		}
	}
	dns_wait(run);
	memset(&pc, 0, sizeof(pc));
	pc.helo_name = run->cfg->mx_probe_helo_name;
	pc.ca_file = run->cfg->ca_file;
	pc.ca_path = run->cfg->ca_path;
	pc.timeout_ms = run->cfg->mx_probe_timeout * 1000;
	pc.port = (int)run->cfg->mx_probe_port;
	pc.max_running = MTASTS_CHECK_MAX_MX;
	mtasts_diag_init(&diag);
	if ((pr = mtasts_prober_new(&pc, &diag)) == NULL) {
		problem(r, 1, "MX probes not possible: %s",
		    mtasts_diag_first(&diag));
		return;
	}
	for (i = 0; i < r->nmx; i++) {
		x = &run->mxa[i];
		if (r->mx[i].naddrs == 0) {
			mtasts_strcopy(r->mx[i].probe_cls, sizeof(r->mx[i].probe_cls),
			    x->bogus ? "dns-bogus" : x->temp || x->pending ?
			    "dns-servfail" : "no-address");
			r->mx[i].probe_verdict = mtasts_mxprobe_state_str(
			    MTASTS_MXPROBE_INCONCLUSIVE);
			continue;
		}
		if (mtasts_probe_start(pr, r->mx[i].host, r->mx[i].addr,
		    on_mx_probe, x, NULL) == MTASTS_OK)
			run->probes_left++;
	}
	probe_wait(run, pr, pc.timeout_ms + DNS_SLACK_MS);
	mtasts_prober_free(pr);
}

/* Problems the probes show: the RCPT verdict's view (mxcheck.h). */
static void
probe_problems(struct mtasts_check_report *r)
{
	enum mtasts_mxprobe_state	 st[MTASTS_CHECK_MAX_MX];
	size_t				 i, n = 0;

	for (i = 0; i < r->nmx; i++) {
		if (r->mx[i].probe_cls[0] == '\0')
			continue;
		if (mtasts_mxprobe_state_of(r->mx[i].probe_cls) ==
		    MTASTS_MXPROBE_TLS_FAIL)
			problem(r, !r->mx[i].covered || r->verdict !=
			    MTASTS_CHECK_ENFORCE, "MX %s fails TLS: %s (%s)",
			    r->mx[i].host, r->mx[i].probe_cls,
			    r->mx[i].probe.detail);
		if (r->mx[i].covered)
			st[n++] = mtasts_mxprobe_state_of(r->mx[i].probe_cls);
	}
	if (n > 0 && mtasts_mxprobe_summary(st, n) == MTASTS_MXPROBE_TLS_FAIL)
		problem(r, r->verdict != MTASTS_CHECK_ENFORCE, "every MX host "
		    "the policy allows fails TLS: %s", r->verdict ==
		    MTASTS_CHECK_ENFORCE ? "mail is refused at RCPT time "
		    "(the failure action)" : "enforce mode would refuse mail");
}

/* ---------------------------------------------------------------- entry */

static enum mtasts_status
setup(struct run *run, const struct mtasts_check_opts *opts)
{
	struct mtasts_check_report	*r = run->r;
	struct mtasts_resolver_conf	 rc;
	struct mtasts_fetch_conf	 fc;
	struct mtasts_diag		 diag;

	mtasts_diag_init(&diag);
	mtasts_resolver_conf_from_config(run->cfg, &rc);
	if ((run->res = mtasts_resolver_new(&rc, &diag)) == NULL) {
		set_reason(r, "resolver: %s", mtasts_diag_first(&diag));
		return MTASTS_INTERNAL;
	}
	mtasts_fetch_conf_from_config(run->cfg, opts != NULL ?
	    opts->https_port : 0, &fc);
	if ((run->fet = mtasts_fetcher_new(&fc, &diag)) == NULL) {
		set_reason(r, "fetcher: %s", mtasts_diag_first(&diag));
		return MTASTS_INTERNAL;
	}
	return MTASTS_OK;
}

enum mtasts_status
mtasts_check_run(const struct mtasts_config *cfg, const char *domain,
    const struct mtasts_check_opts *opts, struct mtasts_check_report *r)
{
	struct mtasts_diag	 diag;
	struct run		 run;
	enum mtasts_domain_kind	 kind;
	enum mtasts_status	 st;
	char			 name[MTASTS_DNS_NAME_BUFSZ + 16];

	memset(r, 0, sizeof(*r));
	mtasts_diag_init(&r->policy_diag);
	mtasts_diag_init(&diag);
	kind = mtasts_domain_normalize(domain, strlen(domain), r->domain,
	    &diag);
	if (kind == MTASTS_DOMAIN_INVALID) {
		set_reason(r, "not a usable domain name: %s",
		    mtasts_diag_first(&diag));
		return MTASTS_INVALID;
	}
	if (kind == MTASTS_DOMAIN_LITERAL) {
		r->literal = 1;
		r->verdict = MTASTS_CHECK_NOPOLICY;
		mtasts_strcopy(r->cls, sizeof(r->cls), "literal");
		set_reason(r, "address literal: MTA-STS applies to domain "
		    "names only");
		return MTASTS_OK;
	}

	memset(&run, 0, sizeof(run));
	run.r = r;
	run.cfg = cfg;
	run.txt_status = MTASTS_TEMPFAIL;
	if ((st = setup(&run, opts)) != MTASTS_OK)
		goto done;

	(void)snprintf(name, sizeof(name), "_mta-sts.%s", r->domain);
	dns_ask(&run, &r->txt_dns, name, MTASTS_RR_TXT, on_txt);
	if (!r->txt_dns.asked)
		run.txt_status = MTASTS_NOPOLICY;	/* name too long */
	(void)snprintf(name, sizeof(name), "mta-sts.%s", r->domain);
	dns_ask(&run, &r->a_dns, name, MTASTS_RR_A, on_addr);
	dns_ask(&run, &r->aaaa_dns, name, MTASTS_RR_AAAA, on_addr);
	dns_ask(&run, &r->mx_dns, r->domain, MTASTS_RR_MX, on_mx);
	dns_wait(&run);
	/*
	 * Fetch when TXT names a policy, and also when it does not but the
	 * host has an address: an operator wants to know whether the policy
	 * itself would work.
	 */
	if (run.txt_status == MTASTS_OK || r->naddrs > 0)
		fetch_run(&run);
	if (run.nomem) {
		set_reason(r, "out of memory");
		st = MTASTS_INTERNAL;
		goto done;
	}
	conclude(&run);
	if (r->nmx > 0 &&
	    !dns_failed(r->mx_dns.rcode)) {
		mx_probe(&run);
		probe_problems(r);
	}
	st = MTASTS_OK;
done:
	mtasts_fetcher_free(run.fet);
	mtasts_resolver_free(run.res);
	return st;
}

void
mtasts_check_report_free(struct mtasts_check_report *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ntxt; i++)
		free(r->txt[i].text);
	mtasts_policy_clear(&r->policy);
	memset(r, 0, sizeof(*r));
}
