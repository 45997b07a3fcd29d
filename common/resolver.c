/*
 * resolver.c: asynchronous DNS over libunbound (see resolver.h).
 *
 * Each pending query is a struct query on one list, with its own deadline,
 * and is libunbound's callback argument.  That is safe because a query
 * whose ub_cancel succeeded never reaches the callback (libunbound drops
 * the answer of a cancelled query), and answers are only read by
 * ub_process on our own thread; see drop().  The list is searched
 * linearly; the engine has tens of queries in flight, not thousands.
 *
 * Callbacks run with the query already off the list, so they may start or
 * cancel queries freely.
 */
#include <config.h>

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unbound.h>

#include "log.h"
#include "resolver.h"

#define NAME_TEXT_MAX	253	/* octets of a name as text, no final dot */
#define NAME_WIRE_MAX	255	/* octets of a name in wire form */
#define LABEL_MAX	63

struct query {
	TAILQ_ENTRY(query)	 entry;
	struct mtasts_resolver	*r;
	int			 cancelled;
	unsigned int		 id;		/* ours, never 0 */
	int			 ub_id;		/* libunbound's async id */
	uint64_t		 deadline;	/* mtasts_resolver_now() ms */
	int			 rrtype;
	mtasts_dns_cb		*cb;
	void			*arg;
	char			 qname[NAME_TEXT_MAX + 1];
};

TAILQ_HEAD(query_list, query);

struct mtasts_resolver {
	struct ub_ctx		*ctx;
	struct query_list	 queries;
	struct query_list	 zombies;	/* cancel refused, see drop() */
	size_t			 npending;
	unsigned int		 next_id;
	long			 timeout_ms;
};

static const char *
rrtype_str(int rrtype, char *buf, size_t size)
{
	switch (rrtype) {
	case MTASTS_RR_A:
		return "A";
	case MTASTS_RR_CNAME:
		return "CNAME";
	case MTASTS_RR_MX:
		return "MX";
	case MTASTS_RR_TXT:
		return "TXT";
	case MTASTS_RR_AAAA:
		return "AAAA";
	case MTASTS_RR_TLSA:
		return "TLSA";
	default:
		(void)snprintf(buf, size, "TYPE%d", rrtype);
		return buf;
	}
}

const char *
mtasts_dns_rcode_str(enum mtasts_dns_rcode rc)
{
	switch (rc) {
	case MTASTS_DNS_OK:
		return "ok";
	case MTASTS_DNS_NODATA:
		return "nodata";
	case MTASTS_DNS_NXDOMAIN:
		return "nxdomain";
	case MTASTS_DNS_SERVFAIL:
		return "servfail";
	case MTASTS_DNS_TIMEOUT:
		return "timeout";
	case MTASTS_DNS_BOGUS:
		return "bogus";
	case MTASTS_DNS_ERROR:
		return "error";
	}
	return "error";
}

uint64_t
mtasts_resolver_now(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ creation */

static int
ub_fail(struct mtasts_diag *diag, const char *what, const char *arg, int err)
{
	if (arg != NULL)
		mtasts_diag_add(diag, 0, 0, "resolver: %s %s: %s", what, arg,
		    ub_strerror(err));
	else
		mtasts_diag_add(diag, 0, 0, "resolver: %s: %s", what,
		    ub_strerror(err));
	return -1;
}

/*
 * Feed the configuration to the context.  Forwarders, like the servers of
 * resolv.conf, are usually a local resolver on the loopback, which unbound
 * refuses to query unless told otherwise.
 */
static int
configure(struct ub_ctx *ctx, const struct mtasts_resolver_conf *conf,
    struct mtasts_diag *diag)
{
	size_t	i;
	int	err, forwarding = 0;

	if (conf->config_file != NULL &&
	    (err = ub_ctx_config(ctx, conf->config_file)) != 0)
		return ub_fail(diag, "cannot load", conf->config_file, err);
	for (i = 0; i < conf->nforwarders; i++) {
		if (conf->forwarders[i] == NULL)
			continue;
		if ((err = ub_ctx_set_fwd(ctx, conf->forwarders[i])) != 0)
			return ub_fail(diag, "bad forwarder",
			    conf->forwarders[i], err);
		forwarding = 1;
	}
	if (conf->config_file == NULL && !forwarding) {
		if ((err = ub_ctx_resolvconf(ctx, NULL)) != 0)
			return ub_fail(diag, "cannot read", "resolv.conf", err);
		forwarding = 1;
	}
	if (forwarding &&
	    (err = ub_ctx_set_option(ctx, "do-not-query-localhost:", "no"))
	    != 0)
		return ub_fail(diag, "do-not-query-localhost", NULL, err);
	if (conf->trust_anchor_file != NULL &&
	    (err = ub_ctx_add_ta_file(ctx, conf->trust_anchor_file)) != 0)
		return ub_fail(diag, "cannot load trust anchor",
		    conf->trust_anchor_file, err);
	/*
	 * Thread mode, see resolver.h.  Must be set before the first query.
	 */
	if ((err = ub_ctx_async(ctx, 1)) != 0)
		return ub_fail(diag, "cannot select thread mode", NULL, err);
	/*
	 * libunbound applies its configuration lazily, at the first query, so
	 * a bad local-data line would only show then.  Removing data under
	 * the reserved name "invalid." (RFC 6761) changes nothing but makes
	 * it finalise now, so errors are reported at start-up.
	 */
	if ((err = ub_ctx_data_remove(ctx, "mta-sts-milter.invalid.")) != 0)
		return ub_fail(diag, "bad configuration", conf->config_file,
		    err);
	return 0;
}

struct mtasts_resolver *
mtasts_resolver_new(const struct mtasts_resolver_conf *conf,
    struct mtasts_diag *diag)
{
	static const struct mtasts_resolver_conf defaults;
	struct mtasts_resolver	*r;

	if (conf == NULL)
		conf = &defaults;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		mtasts_diag_add(diag, 0, 0, "resolver: out of memory");
		return NULL;
	}
	TAILQ_INIT(&r->queries);
	TAILQ_INIT(&r->zombies);
	r->next_id = 1;
	r->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms :
	    MTASTS_RESOLVER_TIMEOUT_DEFAULT;
	if ((r->ctx = ub_ctx_create()) == NULL) {
		mtasts_diag_add(diag, 0, 0, "resolver: ub_ctx_create failed");
		free(r);
		return NULL;
	}
	if (configure(r->ctx, conf, diag) == -1) {
		ub_ctx_delete(r->ctx);
		free(r);
		return NULL;
	}
	return r;
}

static void
query_unlink(struct mtasts_resolver *r, struct query *q)
{
	TAILQ_REMOVE(&r->queries, q, entry);
	r->npending--;
}

void
mtasts_resolver_free(struct mtasts_resolver *r)
{
	struct query	*q;

	if (r == NULL)
		return;
	/* Stops and joins libunbound's thread: no callback after this. */
	ub_ctx_delete(r->ctx);
	while ((q = TAILQ_FIRST(&r->queries)) != NULL) {
		query_unlink(r, q);
		free(q);
	}
	while ((q = TAILQ_FIRST(&r->zombies)) != NULL) {
		TAILQ_REMOVE(&r->zombies, q, entry);
		free(q);
	}
	free(r);
}

/* ------------------------------------------------------------ answers */

static struct query *
query_find(struct mtasts_resolver *r, unsigned int id)
{
	struct query	*q;

	TAILQ_FOREACH(q, &r->queries, entry)
		if (q->id == id)
			return q;
	return NULL;
}

static void
answer_init(struct mtasts_dns_answer *a, const struct query *q,
    enum mtasts_dns_rcode status)
{
	memset(a, 0, sizeof(*a));
	a->status = status;
	a->qname = q->qname;
	a->rrtype = q->rrtype;
	a->canonname = q->qname;
}

/* Hand a data-less answer (timeout, error) to the query's callback. */
static void
deliver_simple(struct query *q, enum mtasts_dns_rcode status,
    const char *error)
{
	struct mtasts_dns_answer	a;
	char				tbuf[16];

	answer_init(&a, q, status);
	a.error = error;
	mtasts_log(LOG_DEBUG, NULL, "dns name=%s type=%s status=%s%s%s",
	    q->qname, rrtype_str(q->rrtype, tbuf, sizeof(tbuf)),
	    mtasts_dns_rcode_str(status), error ? " error=" : "",
	    error ? error : "");
	q->cb(q->arg, &a);
}

static enum mtasts_dns_rcode
classify(const struct ub_result *res)
{
	if (res->bogus)
		return MTASTS_DNS_BOGUS;
	if (res->havedata)
		return MTASTS_DNS_OK;
	if (res->nxdomain)
		return MTASTS_DNS_NXDOMAIN;
	if (res->rcode == 0)
		return MTASTS_DNS_NODATA;
	return MTASTS_DNS_SERVFAIL;
}

static void
deliver_result(struct query *q, struct ub_result *res)
{
	struct mtasts_dns_answer	 a;
	const unsigned char		**rdata = NULL;
	size_t				*rdlen = NULL, n = 0, i, clen;
	char				 canon[NAME_WIRE_MAX + 2], tbuf[16];

	answer_init(&a, q, classify(res));
	a.rcode = res->rcode;
	a.secure = res->secure;
	a.ttl = res->ttl;
	if (res->canonname != NULL) {
		(void)snprintf(canon, sizeof(canon), "%s", res->canonname);
		clen = strlen(canon);
		if (clen > 1 && canon[clen - 1] == '.')
			canon[clen - 1] = '\0';
		a.canonname = canon;
	}
	if (a.status == MTASTS_DNS_OK && res->data != NULL) {
		while (res->data[n] != NULL)
			n++;
		rdata = calloc(n ? n : 1, sizeof(*rdata));
		rdlen = calloc(n ? n : 1, sizeof(*rdlen));
		if (rdata == NULL || rdlen == NULL) {
			free(rdata);
			free(rdlen);
			deliver_simple(q, MTASTS_DNS_ERROR, "out of memory");
			return;
		}
		for (i = 0; i < n; i++) {
			rdata[i] = (const unsigned char *)res->data[i];
			rdlen[i] = res->len[i] > 0 ? (size_t)res->len[i] : 0;
		}
		a.count = n;
		a.rdata = rdata;
		a.rdlen = rdlen;
	}
	if (a.status == MTASTS_DNS_BOGUS) {
		a.why_bogus = res->why_bogus ? res->why_bogus :
		    "validation failed";
		mtasts_log(LOG_WARNING, NULL, "dns name=%s type=%s: DNSSEC "
		    "validation failed, possible attack: %s", q->qname,
		    rrtype_str(q->rrtype, tbuf, sizeof(tbuf)), a.why_bogus);
	}
	mtasts_log(LOG_DEBUG, NULL, "dns name=%s type=%s status=%s rcode=%d "
	    "count=%zu secure=%d ttl=%d canon=%s", q->qname,
	    rrtype_str(q->rrtype, tbuf, sizeof(tbuf)),
	    mtasts_dns_rcode_str(a.status), a.rcode, a.count, a.secure, a.ttl,
	    a.canonname);
	q->cb(q->arg, &a);
	free(rdata);
	free(rdlen);
}

/*
 * libunbound's callback; mydata is the query.  A query leaves the pending
 * list before its callback runs; a cancelled one waits on the zombie list
 * only if libunbound did not accept the cancel, and is freed here.
 */
static void
ub_done(void *mydata, int err, struct ub_result *res)
{
	struct query		*q = mydata;
	struct mtasts_resolver	*r = q->r;

	if (q->cancelled) {
		TAILQ_REMOVE(&r->zombies, q, entry);
		if (res != NULL)
			ub_resolve_free(res);
		free(q);
		return;
	}
	query_unlink(r, q);
	if (err != 0 || res == NULL)
		deliver_simple(q, MTASTS_DNS_ERROR,
		    ub_strerror(err != 0 ? err : UB_NOMEM));
	else
		deliver_result(q, res);
	if (res != NULL)
		ub_resolve_free(res);
	free(q);
}

/* ------------------------------------------------------------ queries */

/* Copy name into q->qname without its trailing dot, checking its form. */
static int
name_ok(const char *name, char *out, size_t size)
{
	size_t	len, i, label = 0;

	if (name == NULL)
		return 0;
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > NAME_TEXT_MAX || len >= size)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return 0;
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (++label > LABEL_MAX)
			return 0;
	}
	if (label == 0)
		return 0;
	memcpy(out, name, len);
	out[len] = '\0';
	return 1;
}

enum mtasts_status
mtasts_resolver_query(struct mtasts_resolver *r, const char *name,
    int rrtype, mtasts_dns_cb *cb, void *arg, unsigned int *qid)
{
	struct query	*q;
	int		 err;

	if (qid != NULL)
		*qid = 0;
	if (r == NULL || cb == NULL || rrtype <= 0 || rrtype > 65535)
		return MTASTS_INVALID;
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		mtasts_log(LOG_ERR, NULL, "dns: out of memory");
		return MTASTS_INTERNAL;
	}
	if (!name_ok(name, q->qname, sizeof(q->qname))) {
		free(q);
		return MTASTS_INVALID;
	}
	q->id = r->next_id++;
	if (r->next_id == 0)
		r->next_id = 1;
	q->rrtype = rrtype;
	q->cb = cb;
	q->arg = arg;
	q->deadline = mtasts_resolver_now() + (uint64_t)r->timeout_ms;
	q->r = r;
	err = ub_resolve_async(r->ctx, q->qname, rrtype, 1 /* IN */, q,
	    ub_done, &q->ub_id);
	if (err != 0) {
		mtasts_log(LOG_ERR, NULL, "dns name=%s: cannot start query: %s",
		    q->qname, ub_strerror(err));
		free(q);
		return MTASTS_INTERNAL;
	}
	TAILQ_INSERT_TAIL(&r->queries, q, entry);
	r->npending++;
	if (qid != NULL)
		*qid = q->id;
	return MTASTS_OK;
}

/*
 * Take a pending query off the list and out of libunbound.  In thread mode
 * (and in fork mode too) a query that ub_cancel accepted never reaches
 * ub_done, so it can be freed at once; answers are only read by
 * ub_process, on this same thread, so no answer can be in the middle of
 * delivery.  Should libunbound refuse the cancel, the query waits on the
 * zombie list, flagged, for an answer that ub_done will drop.
 */
static void
drop(struct mtasts_resolver *r, struct query *q)
{
	query_unlink(r, q);
	if (ub_cancel(r->ctx, q->ub_id) == 0) {
		free(q);
		return;
	}
	q->cancelled = 1;
	TAILQ_INSERT_TAIL(&r->zombies, q, entry);
}

void
mtasts_resolver_cancel(struct mtasts_resolver *r, unsigned int qid)
{
	struct query	*q;

	if (r == NULL || qid == 0 || (q = query_find(r, qid)) == NULL)
		return;
	drop(r, q);
}

int
mtasts_resolver_fd(struct mtasts_resolver *r)
{
	return ub_fd(r->ctx);
}

int
mtasts_resolver_process(struct mtasts_resolver *r)
{
	int	err;

	if ((err = ub_process(r->ctx)) != 0) {
		mtasts_log(LOG_ERR, NULL, "dns: ub_process: %s",
		    ub_strerror(err));
		return -1;
	}
	return 0;
}

long
mtasts_resolver_next_timeout_ms(struct mtasts_resolver *r, uint64_t now)
{
	struct query	*q;
	uint64_t	 first = UINT64_MAX;

	TAILQ_FOREACH(q, &r->queries, entry)
		if (q->deadline < first)
			first = q->deadline;
	if (first == UINT64_MAX)
		return -1;
	if (first <= now)
		return 0;
	if (first - now > (uint64_t)r->timeout_ms)
		return r->timeout_ms;
	return (long)(first - now);
}

void
mtasts_resolver_expire(struct mtasts_resolver *r, uint64_t now)
{
	struct query	*q;
	int		 found;

	/* Restart the scan after each callback: it may change the list. */
	do {
		found = 0;
		TAILQ_FOREACH(q, &r->queries, entry)
			if (q->deadline <= now) {
				found = 1;
				break;
			}
		if (found) {
			/* drop() may free q: answer from a copy. */
			struct query	copy = *q;

			drop(r, q);
			deliver_simple(&copy, MTASTS_DNS_TIMEOUT, NULL);
		}
	} while (found);
}

size_t
mtasts_resolver_pending(struct mtasts_resolver *r)
{
	return r->npending;
}

struct sync_state {
	mtasts_dns_cb	*cb;
	void		*arg;
	int		 done;
};

static void
sync_cb(void *arg, const struct mtasts_dns_answer *a)
{
	struct sync_state *st = arg;

	st->cb(st->arg, a);
	st->done = 1;
}

enum mtasts_status
mtasts_resolver_query_sync(struct mtasts_resolver *r, const char *name,
    int rrtype, mtasts_dns_cb *cb, void *arg)
{
	struct sync_state	 st;
	struct pollfd		 pfd;
	enum mtasts_status	 status;
	unsigned int		 qid;
	long			 wait;

	st.cb = cb;
	st.arg = arg;
	st.done = 0;
	status = mtasts_resolver_query(r, name, rrtype, sync_cb, &st, &qid);
	if (status != MTASTS_OK)
		return status;
	while (!st.done) {
		pfd.fd = mtasts_resolver_fd(r);
		pfd.events = POLLIN;
		pfd.revents = 0;
		wait = mtasts_resolver_next_timeout_ms(r,
		    mtasts_resolver_now());
		if (wait > INT32_MAX || wait < 0)
			wait = 1000;
		if (poll(&pfd, 1, (int)wait) == -1 && errno != EINTR) {
			mtasts_log(LOG_ERR, NULL, "dns: poll: %s",
			    strerror(errno));
			mtasts_resolver_cancel(r, qid);
			return MTASTS_INTERNAL;
		}
		if (pfd.revents != 0 && mtasts_resolver_process(r) == -1 &&
		    !st.done) {
			mtasts_resolver_cancel(r, qid);
			return MTASTS_INTERNAL;
		}
		mtasts_resolver_expire(r, mtasts_resolver_now());
	}
	return MTASTS_OK;
}

/* ------------------------------------------------------------ rdata */

static int
name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
mtasts_dns_mx_parse(const unsigned char *rdata, size_t len,
    unsigned int *pref, char *name, size_t size)
{
	size_t	pos = 2, out = 0, wire = 1, l, i;

	if (name == NULL || size == 0)
		return -1;
	name[0] = '\0';
	if (rdata == NULL || len < 3)
		return -1;
	if (pref != NULL)
		*pref = (unsigned int)rdata[0] << 8 | rdata[1];
	for (;;) {
		if (pos >= len)
			goto bad;
		l = rdata[pos++];
		if (l == 0)
			break;
		/* 0xc0 compression, 0x40/0x80 extended types: refused. */
		if (l > LABEL_MAX || l > len - pos)
			goto bad;
		wire += l + 1;
		if (wire > NAME_WIRE_MAX)
			goto bad;
		/* The label, a dot before it, and the NUL must fit. */
		if (out + (out > 0) + l >= size || out + (out > 0) + l >
		    NAME_TEXT_MAX)
			goto bad;
		if (out > 0)
			name[out++] = '.';
		for (i = 0; i < l; i++) {
			unsigned char c = rdata[pos + i];

			if (!name_char_ok(c))
				goto bad;
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			name[out++] = (char)c;
		}
		pos += l;
	}
	if (pos != len)
		goto bad;
	name[out] = '\0';
	return 0;
bad:
	name[0] = '\0';
	return -1;
}

int
mtasts_dns_addr_str(int rrtype, const unsigned char *rdata, size_t len,
    char *out, size_t size)
{
	int	af;

	if (out == NULL || size == 0)
		return -1;
	out[0] = '\0';
	if (rdata == NULL)
		return -1;
	if (rrtype == MTASTS_RR_A && len == 4)
		af = AF_INET;
	else if (rrtype == MTASTS_RR_AAAA && len == 16)
		af = AF_INET6;
	else
		return -1;
	if (size > (socklen_t)-1 ||
	    inet_ntop(af, rdata, out, (socklen_t)size) == NULL) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
