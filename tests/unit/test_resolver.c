/*
 * test_resolver.c: the libunbound resolver module, hermetic.
 *
 * Answers come from local-data in a temporary unbound.conf, or from a tiny
 * DNS responder on 127.0.0.1 run by this test in a thread (for SERVFAIL,
 * timeouts and DNSSEC failures); nothing leaves the loopback.
 */
#include <config.h>

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolver.h"
#include "check.h"

/* ------------------------------------------------------------ fixtures */

/*
 * Two kinds of hermetic data.  local-data (the usual way for tests) is
 * answered before recursion, which does not chase a CNAME from one
 * local-data name to another; so CNAME chains live in an auth-zone, which
 * the iterator reads as if it came from upstream.  "test." is one of
 * unbound's default blocking zones, hence nodefault.  No query may leave
 * the host: do-not-query-address covers every address.  A record with
 * quotes inside goes in single quotes (unbound's lexer mangles \").  %s is
 * the zone file.
 */
static const char unbound_conf[] =
    "server:\n"
    "\tverbosity: 0\n"
    "\tdo-not-query-address: 0.0.0.0/0\n"
    "\tdo-not-query-address: ::/0\n"
    "\tlocal-zone: \"test.\" nodefault\n"
    "\tlocal-zone: \"good.test.\" static\n"
    "\tlocal-data: '_mta-sts.good.test. 300 IN TXT \"v=STSv1; \" "
    "\"id=20240101\"'\n"
    "\tlocal-data: \"good.test. 300 IN MX 10 mx1.good.test.\"\n"
    "\tlocal-data: \"good.test. 300 IN MX 20 MX2.Good.Test.\"\n"
    "\tlocal-data: \"mx1.good.test. 300 IN A 192.0.2.1\"\n"
    "\tlocal-data: \"mx1.good.test. 300 IN AAAA 2001:db8::1\"\n"
    "\tlocal-data: \"nodata.good.test. 300 IN A 192.0.2.9\"\n"
    "auth-zone:\n"
    "\tname: \"chain.test.\"\n"
    "\tzonefile: \"%s\"\n"
    "\tfor-upstream: yes\n"
    "\tfor-downstream: no\n"
    "\tfallback-enabled: no\n";

static const char chain_zone[] =
    "$ORIGIN chain.test.\n"
    "$TTL 300\n"
    "@ IN SOA ns.chain.test. host.chain.test. 1 3600 600 86400 300\n"
    "@ IN NS ns.chain.test.\n"
    "ns IN A 127.0.0.1\n"
    "alias IN CNAME alias2\n"
    "alias2 IN CNAME mx1\n"
    "mx1 IN A 192.0.2.1\n"
    "_mta-sts.cname IN CNAME _mta-sts.policy\n"
    "_mta-sts.policy IN TXT \"v=STSv1; id=1\"\n";

/* What a callback saw, copied out of the borrowed answer. */
struct seen {
	int			calls;
	enum mtasts_dns_rcode	status;
	int			secure;
	size_t			count;
	char			canon[MTASTS_DNS_NAME_BUFSZ];
	char			data[8][300];
	size_t			len[8];
	char			why_bogus[256];
};

static void
record(void *arg, const struct mtasts_dns_answer *a)
{
	struct seen	*s = arg;
	size_t		 i;

	s->calls++;
	s->status = a->status;
	s->secure = a->secure;
	s->count = a->count;
	(void)snprintf(s->canon, sizeof(s->canon), "%s", a->canonname);
	(void)snprintf(s->why_bogus, sizeof(s->why_bogus), "%s",
	    a->why_bogus ? a->why_bogus : "");
	for (i = 0; i < a->count && i < 8; i++) {
		s->len[i] = a->rdlen[i] < 300 ? a->rdlen[i] : 300;
		memcpy(s->data[i], a->rdata[i], s->len[i]);
	}
}

static struct seen
ask(struct mtasts_resolver *r, const char *name, int type)
{
	struct seen		s;
	enum mtasts_status	st;

	memset(&s, 0, sizeof(s));
	st = mtasts_resolver_query_sync(r, name, type, record, &s);
	if (st != MTASTS_OK)
		printf("# query %s type %d: %s\n", name, type,
		    mtasts_status_str(st));
	return s;
}

/* 1 when s holds an answer containing the address text want. */
static int
has_addr(const struct seen *s, int type, const char *want)
{
	char	buf[MTASTS_DNS_ADDR_BUFSZ];
	size_t	i;

	for (i = 0; i < s->count && i < 8; i++)
		if (mtasts_dns_addr_str(type, (const unsigned char *)
		    s->data[i], s->len[i], buf, sizeof(buf)) == 0 &&
		    strcmp(buf, want) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ responder */

/*
 * A minimal DNS server on 127.0.0.1: SILENT never answers, SERVFAIL
 * answers every query with rcode 2, UNSIGNED answers A queries with
 * 127.0.0.1 and everything else with an empty NOERROR, no signatures.
 */
enum fake_mode { FAKE_SILENT, FAKE_SERVFAIL, FAKE_UNSIGNED };

struct fake {
	int		fd;
	int		port;
	enum fake_mode	mode;
	int		stop[2];
	pthread_t	thread;
};

static size_t
question_end(const unsigned char *p, size_t n)
{
	size_t	pos = 12;

	while (pos < n && p[pos] != 0) {
		if (p[pos] & 0xc0)
			return 0;
		pos += (size_t)p[pos] + 1;
	}
	pos += 1 + 4;	/* root label, qtype, qclass */
	return pos <= n ? pos : 0;
}

static void *
fake_run(void *arg)
{
	struct fake		*f = arg;
	struct sockaddr_storage	 from;
	socklen_t		 flen;
	unsigned char		 q[512], a[600];
	struct pollfd		 pfd[2];
	ssize_t			 n;
	size_t			 qend, alen;
	static const unsigned char rr[] = {
	    0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1 };

	for (;;) {
		pfd[0].fd = f->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = f->stop[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		flen = sizeof(from);
		n = recvfrom(f->fd, q, sizeof(q), 0, (struct sockaddr *)&from,
		    &flen);
		if (n < 12 || f->mode == FAKE_SILENT)
			continue;
		if ((qend = question_end(q, (size_t)n)) == 0)
			continue;
		memcpy(a, q, qend);
		a[2] = 0x80 | (q[2] & 0x79);	/* QR, opcode, RD */
		a[3] = 0x80;			/* RA, rcode 0 */
		a[4] = 0; a[5] = 1;		/* QDCOUNT */
		memset(a + 6, 0, 6);		/* AN, NS, AR */
		alen = qend;
		if (f->mode == FAKE_SERVFAIL)
			a[3] |= 2;
		else if (q[qend - 4] == 0 && q[qend - 3] == 1) {
			a[7] = 1;
			memcpy(a + alen, rr, sizeof(rr));
			alen += sizeof(rr);
		}
		(void)sendto(f->fd, a, alen, 0, (struct sockaddr *)&from,
		    flen);
	}
	return NULL;
}

static int
fake_start(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	if ((f->fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(f->fd, (struct sockaddr *)&sin, &len) == -1 ||
	    pipe(f->stop) == -1)
		return -1;
	f->port = ntohs(sin.sin_port);
	return pthread_create(&f->thread, NULL, fake_run, f) == 0 ? 0 : -1;
}

static void
fake_stop(struct fake *f)
{
	(void)write(f->stop[1], "x", 1);
	(void)pthread_join(f->thread, NULL);
	(void)close(f->fd);
	(void)close(f->stop[0]);
	(void)close(f->stop[1]);
}

static struct mtasts_resolver *
forwarding_resolver(const struct fake *f, long timeout_ms, const char *ta)
{
	struct mtasts_resolver_conf	conf;
	struct mtasts_diag		diag;
	struct mtasts_resolver		*r;
	char				fwd[64];
	const char			*fwds[1];

	(void)snprintf(fwd, sizeof(fwd), "127.0.0.1@%d", f->port);
	fwds[0] = fwd;
	memset(&conf, 0, sizeof(conf));
	conf.forwarders = fwds;
	conf.nforwarders = 1;
	conf.timeout_ms = timeout_ms;
	conf.trust_anchor_file = ta;
	mtasts_diag_init(&diag);
	if ((r = mtasts_resolver_new(&conf, &diag)) == NULL)
		printf("# resolver: %s\n", mtasts_diag_first(&diag));
	return r;
}

/* ------------------------------------------------------------ cases */

static void
test_local_data(struct mtasts_resolver *r)
{
	struct seen	s;
	unsigned int	pref;
	char		name[MTASTS_DNS_NAME_BUFSZ];
	size_t		i;
	int		saw10 = 0, saw20 = 0;

	s = ask(r, "_mta-sts.good.test", MTASTS_RR_TXT);
	CHECK(s.calls == 1 && s.status == MTASTS_DNS_OK && s.count == 1,
	    "TXT: one record");
	CHECK(s.len[0] == 22 && memcmp(s.data[0],
	    "\x09v=STSv1; \x0bid=20240101", 22) == 0,
	    "TXT: two strings kept apart in wire form");
	CHECK_STREQ(s.canon, "_mta-sts.good.test", "TXT: canonname = qname");

	s = ask(r, "good.test.", MTASTS_RR_MX);
	CHECK(s.status == MTASTS_DNS_OK && s.count == 2, "MX: two records");
	for (i = 0; i < s.count && i < 8; i++) {
		if (mtasts_dns_mx_parse((const unsigned char *)s.data[i],
		    s.len[i], &pref, name, sizeof(name)) != 0)
			continue;
		if (pref == 10 && strcmp(name, "mx1.good.test") == 0)
			saw10 = 1;
		if (pref == 20 && strcmp(name, "mx2.good.test") == 0)
			saw20 = 1;
	}
	CHECK(saw10 && saw20, "MX: decoded, lower-cased exchanges");
	CHECK_STREQ(s.canon, "good.test", "MX: trailing dot dropped");

	s = ask(r, "mx1.good.test", MTASTS_RR_A);
	CHECK(s.status == MTASTS_DNS_OK && s.count == 1 &&
	    has_addr(&s, MTASTS_RR_A, "192.0.2.1"), "A record");
	CHECK(s.secure == 0, "no trust anchor: not secure");

	s = ask(r, "mx1.good.test", MTASTS_RR_AAAA);
	CHECK(s.status == MTASTS_DNS_OK && s.count == 1 &&
	    has_addr(&s, MTASTS_RR_AAAA, "2001:db8::1"), "AAAA record");

	s = ask(r, "alias.chain.test", MTASTS_RR_A);
	CHECK(s.status == MTASTS_DNS_OK &&
	    has_addr(&s, MTASTS_RR_A, "192.0.2.1"), "CNAME chain followed");
	CHECK_STREQ(s.canon, "mx1.chain.test", "CNAME chain: canonname");

	s = ask(r, "_mta-sts.cname.chain.test", MTASTS_RR_TXT);
	CHECK(s.status == MTASTS_DNS_OK && s.count == 1 &&
	    s.len[0] == 14 && memcmp(s.data[0], "\x0dv=STSv1; id=1", 14) == 0,
	    "CNAME-delegated _mta-sts TXT (STS-60)");
	CHECK_STREQ(s.canon, "_mta-sts.policy.chain.test",
	    "CNAME-delegated _mta-sts: canonname");

	s = ask(r, "nx.chain.test", MTASTS_RR_A);
	CHECK(s.status == MTASTS_DNS_NXDOMAIN, "auth-zone NXDOMAIN");
	s = ask(r, "mx1.chain.test", MTASTS_RR_MX);
	CHECK(s.status == MTASTS_DNS_NODATA, "auth-zone NODATA");

	s = ask(r, "missing.good.test", MTASTS_RR_TXT);
	CHECK(s.calls == 1 && s.status == MTASTS_DNS_NXDOMAIN &&
	    s.count == 0, "NXDOMAIN");

	s = ask(r, "nodata.good.test", MTASTS_RR_TXT);
	CHECK(s.calls == 1 && s.status == MTASTS_DNS_NODATA && s.count == 0,
	    "NODATA");
}

struct chain {
	struct mtasts_resolver	*r;
	struct seen		 second;
	int			 started;
};

static void
chain_second(void *arg, const struct mtasts_dns_answer *a)
{
	struct chain *c = arg;

	record(&c->second, a);
}

static void
chain_first(void *arg, const struct mtasts_dns_answer *a)
{
	struct chain *c = arg;

	if (a->status == MTASTS_DNS_OK && mtasts_resolver_query(c->r,
	    "mx1.good.test", MTASTS_RR_AAAA, chain_second, c, NULL) ==
	    MTASTS_OK)
		c->started = 1;
}

static void
never(void *arg, const struct mtasts_dns_answer *a)
{
	int *calls = arg;

	(*calls)++;
}

static void
test_async(struct mtasts_resolver *r)
{
	struct chain	c;
	unsigned int	qid1, qid2;
	int		ncalls = 0, i;
	struct seen	s;
	struct pollfd	pfd;

	CHECK(mtasts_resolver_query(r, "bad name.test", MTASTS_RR_A, never,
	    &ncalls, &qid1) == MTASTS_INVALID && qid1 == 0,
	    "name with a space refused");
	CHECK(mtasts_resolver_query(r, "a..test", MTASTS_RR_A, never,
	    &ncalls, NULL) == MTASTS_INVALID, "empty label refused");
	CHECK(mtasts_resolver_query(r, "", MTASTS_RR_A, never, &ncalls,
	    NULL) == MTASTS_INVALID, "empty name refused");

	/* A query cancelled at once never calls back. */
	CHECK(mtasts_resolver_query(r, "mx1.good.test", MTASTS_RR_A, never,
	    &ncalls, &qid1) == MTASTS_OK && qid1 != 0, "async query started");
	mtasts_resolver_cancel(r, qid1);
	CHECK(mtasts_resolver_pending(r) == 0, "cancel: nothing pending");
	/* A callback that starts another query. */
	memset(&c, 0, sizeof(c));
	c.r = r;
	CHECK(mtasts_resolver_query(r, "mx1.good.test", MTASTS_RR_A,
	    chain_first, &c, &qid2) == MTASTS_OK && qid2 != qid1,
	    "second query, new id");
	for (i = 0; i < 200 && c.second.calls == 0; i++) {
		pfd.fd = mtasts_resolver_fd(r);
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, 20);
		(void)mtasts_resolver_process(r);
	}
	CHECK(c.started && c.second.calls == 1 &&
	    c.second.status == MTASTS_DNS_OK, "query started in a callback");
	CHECK(ncalls == 0, "cancelled query did not call back");
	/* The sync helper still works after all that. */
	s = ask(r, "mx1.good.test", MTASTS_RR_A);
	CHECK(s.calls == 1 && s.status == MTASTS_DNS_OK, "sync after async");
	CHECK(mtasts_resolver_next_timeout_ms(r, mtasts_resolver_now()) == -1,
	    "nothing pending: no timeout");
}

static void
test_timeout(void)
{
	struct fake		 f;
	struct mtasts_resolver	*r;
	struct seen		 s;
	uint64_t		 t0;
	long			 wait;
	int			 ncalls = 0;
	unsigned int		 qid;

	if (fake_start(&f, FAKE_SILENT) == -1) {
		CHECK(0, "silent responder started");
		return;
	}
	r = forwarding_resolver(&f, 300, NULL);
	CHECK(r != NULL, "forwarding resolver created");
	if (r == NULL) {
		fake_stop(&f);
		return;
	}
	t0 = mtasts_resolver_now();
	s = ask(r, "slow.example", MTASTS_RR_TXT);
	CHECK(s.calls == 1 && s.status == MTASTS_DNS_TIMEOUT,
	    "silent server: TIMEOUT");
	CHECK(mtasts_resolver_now() - t0 < 2000, "timeout honoured");
	CHECK(mtasts_resolver_pending(r) == 0, "timed-out query gone");

	CHECK(mtasts_resolver_query(r, "slow2.example", MTASTS_RR_A, never,
	    &ncalls, &qid) == MTASTS_OK, "pending query");
	wait = mtasts_resolver_next_timeout_ms(r, mtasts_resolver_now());
	CHECK(wait >= 0 && wait <= 300, "next timeout within 300 ms");
	mtasts_resolver_expire(r, mtasts_resolver_now() + 301);
	CHECK(ncalls == 1 && mtasts_resolver_pending(r) == 0,
	    "expire with a later clock");
	CHECK(mtasts_resolver_query(r, "slow3.example", MTASTS_RR_A, never,
	    &ncalls, &qid) == MTASTS_OK, "pending query at free");
	mtasts_resolver_free(r);
	CHECK(ncalls == 1, "free cancels without callbacks");
	fake_stop(&f);
}

static void
test_servfail(void)
{
	struct fake		 f;
	struct mtasts_resolver	*r;
	struct seen		 s;

	if (fake_start(&f, FAKE_SERVFAIL) == -1) {
		CHECK(0, "servfail responder started");
		return;
	}
	if ((r = forwarding_resolver(&f, 4000, NULL)) != NULL) {
		s = ask(r, "broken.example", MTASTS_RR_TXT);
		CHECK(s.calls == 1 && s.status == MTASTS_DNS_SERVFAIL,
		    "upstream SERVFAIL: SERVFAIL (STS-13: not 'no record')");
		if (s.status != MTASTS_DNS_SERVFAIL)
			printf("# got %s\n", mtasts_dns_rcode_str(s.status));
	} else
		CHECK(0, "forwarding resolver created");
	mtasts_resolver_free(r);
	fake_stop(&f);
}

static void
test_bogus(const char *tmpdir)
{
	struct fake		 f;
	struct mtasts_resolver	*r;
	struct seen		 s;
	char			 ta[512];
	FILE			*fp;

	(void)snprintf(ta, sizeof(ta), "%s/ta.key", tmpdir);
	if ((fp = fopen(ta, "w")) == NULL)
		return;
	/* A DS for "signed.example." that nothing will ever match. */
	fprintf(fp, "signed.example. IN DS 12345 13 2 "
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "\n");
	(void)fclose(fp);
	if (fake_start(&f, FAKE_UNSIGNED) == -1) {
		CHECK(0, "unsigned responder started");
		return;
	}
	if ((r = forwarding_resolver(&f, 4000, ta)) != NULL) {
		s = ask(r, "mx.signed.example", MTASTS_RR_A);
		CHECK(s.calls == 1 && s.status == MTASTS_DNS_BOGUS,
		    "unsigned answer under a trust anchor: BOGUS");
		CHECK(s.why_bogus[0] != '\0', "BOGUS carries why_bogus");
		printf("# why_bogus: %s\n", s.why_bogus);
		s = ask(r, "other.example", MTASTS_RR_A);
		CHECK(s.status == MTASTS_DNS_OK && s.secure == 0 &&
		    has_addr(&s, MTASTS_RR_A, "127.0.0.1"),
		    "outside the anchor: insecure OK");
	} else
		CHECK(0, "validating resolver created");
	mtasts_resolver_free(r);
	(void)unlink(ta);
	fake_stop(&f);
}

static void
test_bad_config(const char *tmpdir)
{
	struct mtasts_resolver_conf	 conf;
	struct mtasts_diag		 diag;
	struct mtasts_resolver		*r;
	char				 path[512];
	const char			*fwds[1] = { "not-an-address" };
	FILE				*fp;

	memset(&conf, 0, sizeof(conf));
	conf.config_file = "/nonexistent/unbound.conf";
	mtasts_diag_init(&diag);
	r = mtasts_resolver_new(&conf, &diag);
	CHECK(r == NULL && diag.errors == 1 &&
	    strstr(mtasts_diag_first(&diag), "/nonexistent/unbound.conf"),
	    "missing config file: error names it");
	mtasts_resolver_free(r);

	(void)snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	if ((fp = fopen(path, "w")) != NULL) {
		fprintf(fp, "server:\n"
		    "\tlocal-data: \"x.test. IN A nonsense\"\n");
		(void)fclose(fp);
	}
	conf.config_file = path;
	mtasts_diag_init(&diag);
	r = mtasts_resolver_new(&conf, &diag);
	CHECK(r == NULL && diag.errors == 1,
	    "bad local-data found at creation");
	printf("# %s\n", mtasts_diag_first(&diag));
	mtasts_resolver_free(r);
	(void)unlink(path);

	memset(&conf, 0, sizeof(conf));
	conf.forwarders = fwds;
	conf.nforwarders = 1;
	mtasts_diag_init(&diag);
	r = mtasts_resolver_new(&conf, &diag);
	CHECK(r == NULL && strstr(mtasts_diag_first(&diag), "not-an-address"),
	    "bad forwarder refused");
	mtasts_resolver_free(r);
}

/* ------------------------------------------------------------ rdata */

static const struct mx_case {
	const char	*what;
	const char	*rdata;
	size_t		 len;
	int		 ret;
	unsigned int	 pref;
	const char	*name;
} mx_cases[] = {
	{ "plain", "\x00\x0a\x03mx1\x07""example\x03""com\x00", 19, 0, 10,
	    "mx1.example.com" },
	{ "upper case folded", "\x01\x00\x02MX\x01Z\x00", 8, 0, 256, "mx.z" },
	{ "null MX", "\x00\x00\x00", 3, 0, 0, "" },
	{ "underscore allowed", "\x00\x01\x03_a1\x00", 7, 0, 1, "_a1" },
	{ "too short", "\x00\x0a", 2, -1, 0, "" },
	{ "empty", "", 0, -1, 0, "" },
	{ "no root label", "\x00\x0a\x03mx1", 6, -1, 0, "" },
	{ "label past end", "\x00\x0a\x05mx1\x00", 7, -1, 0, "" },
	{ "compression pointer", "\x00\x0a\xc0\x0c", 4, -1, 0, "" },
	{ "extended label 0x40", "\x00\x0a\x41xx\x00", 6, -1, 0, "" },
	{ "trailing byte", "\x00\x0a\x01""a\x00\x00", 6, -1, 0, "" },
	{ "dot inside a label", "\x00\x0a\x03""a.b\x00", 7, -1, 0, "" },
	{ "space inside a label", "\x00\x0a\x03""a b\x00", 7, -1, 0, "" },
	{ "NUL inside a label", "\x00\x0a\x03""a\x00""b\x00", 7, -1, 0, "" },
	{ "high byte", "\x00\x0a\x01\xe9\x00", 5, -1, 0, "" },
};

static void
test_mx_parse(void)
{
	unsigned char	 big[300];
	char		 name[MTASTS_DNS_NAME_BUFSZ], small[8];
	unsigned int	 pref;
	size_t		 i, pos;
	int		 ret;

	for (i = 0; i < sizeof(mx_cases) / sizeof(mx_cases[0]); i++) {
		const struct mx_case *c = &mx_cases[i];

		pref = 99999;
		ret = mtasts_dns_mx_parse((const unsigned char *)c->rdata,
		    c->len, &pref, name, sizeof(name));
		CHECK(ret == c->ret && strcmp(name, c->name) == 0 &&
		    (ret != 0 || pref == c->pref), "mx_parse: %s", c->what);
	}
	/* 4 labels of 63 = 256 wire octets with the root: one too many. */
	big[0] = 0;
	big[1] = 5;
	for (pos = 2, i = 0; i < 4; i++) {
		big[pos++] = 63;
		memset(big + pos, 'a', 63);
		pos += 63;
	}
	big[pos++] = 0;
	CHECK(mtasts_dns_mx_parse(big, pos, &pref, name, sizeof(name)) == -1,
	    "mx_parse: 256-octet name refused");
	/* 3 labels of 63 and one of 61: 255 octets, 253 as text. */
	big[2 + 3 * 64] = 61;
	big[2 + 3 * 64 + 62] = 0;
	pos = 2 + 3 * 64 + 63;
	CHECK(mtasts_dns_mx_parse(big, pos, &pref, name, sizeof(name)) == 0 &&
	    strlen(name) == 253, "mx_parse: 255-octet name accepted");
	big[2] = 64;
	CHECK(mtasts_dns_mx_parse(big, pos, &pref, name, sizeof(name)) == -1,
	    "mx_parse: 64-octet label refused");
	CHECK(mtasts_dns_mx_parse((const unsigned char *)
	    "\x00\x0a\x03mx1\x07""example\x03""com\x00", 19, &pref, small,
	    sizeof(small)) == -1 && small[0] == '\0',
	    "mx_parse: output buffer too small");
}

static void
test_helpers(void)
{
	char	buf[MTASTS_DNS_ADDR_BUFSZ];

	CHECK(mtasts_dns_addr_str(MTASTS_RR_A, (const unsigned char *)
	    "\xc0\x00\x02\x01", 4, buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "192.0.2.1") == 0, "addr_str: A");
	CHECK(mtasts_dns_addr_str(MTASTS_RR_AAAA, (const unsigned char *)
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16, buf,
	    sizeof(buf)) == 0 && strcmp(buf, "2001:db8::1") == 0,
	    "addr_str: AAAA");
	CHECK(mtasts_dns_addr_str(MTASTS_RR_A, (const unsigned char *)
	    "\xc0\x00\x02", 3, buf, sizeof(buf)) == -1, "addr_str: short A");
	CHECK(mtasts_dns_addr_str(MTASTS_RR_AAAA, (const unsigned char *)
	    "\xc0\x00\x02\x01", 4, buf, sizeof(buf)) == -1,
	    "addr_str: A data as AAAA");
	CHECK(mtasts_dns_addr_str(MTASTS_RR_A, (const unsigned char *)
	    "\xc0\x00\x02\x01", 4, buf, 4) == -1, "addr_str: small buffer");
	CHECK_STREQ(mtasts_dns_rcode_str(MTASTS_DNS_OK), "ok", "rcode ok");
	CHECK_STREQ(mtasts_dns_rcode_str(MTASTS_DNS_NODATA), "nodata",
	    "rcode nodata");
	CHECK_STREQ(mtasts_dns_rcode_str(MTASTS_DNS_NXDOMAIN), "nxdomain",
	    "rcode nxdomain");
	CHECK_STREQ(mtasts_dns_rcode_str(MTASTS_DNS_SERVFAIL), "servfail",
	    "rcode servfail");
	CHECK_STREQ(mtasts_dns_rcode_str(MTASTS_DNS_TIMEOUT), "timeout",
	    "rcode timeout");
	CHECK_STREQ(mtasts_dns_rcode_str(MTASTS_DNS_BOGUS), "bogus",
	    "rcode bogus");
	CHECK_STREQ(mtasts_dns_rcode_str(MTASTS_DNS_ERROR), "error",
	    "rcode error");
}

int
main(void)
{
	struct mtasts_resolver_conf	 conf;
	struct mtasts_diag		 diag;
	struct mtasts_resolver		*r;
	char				 tmpdir[] = "/tmp/test_resolver.XXXXXX";
	char				 path[512], zone[512];
	FILE				*fp;

	test_mx_parse();
	test_helpers();
	if (mkdtemp(tmpdir) == NULL) {
		CHECK(0, "mkdtemp");
		return check_done();
	}
	(void)snprintf(zone, sizeof(zone), "%s/chain.test.zone", tmpdir);
	(void)snprintf(path, sizeof(path), "%s/unbound.conf", tmpdir);
	if ((fp = fopen(zone, "w")) == NULL ||
	    fputs(chain_zone, fp) == EOF || fclose(fp) == EOF ||
	    (fp = fopen(path, "w")) == NULL ||
	    fprintf(fp, unbound_conf, zone) < 0 || fclose(fp) == EOF) {
		CHECK(0, "write %s", path);
		return check_done();
	}
	memset(&conf, 0, sizeof(conf));
	conf.config_file = path;
	conf.timeout_ms = 2000;
	mtasts_diag_init(&diag);
	r = mtasts_resolver_new(&conf, &diag);
	CHECK(r != NULL, "resolver from local-data config");
	if (r == NULL)
		printf("# %s\n", mtasts_diag_first(&diag));
	else {
		test_local_data(r);
		test_async(r);
	}
	mtasts_resolver_free(r);
	test_timeout();
	test_servfail();
	test_bogus(tmpdir);
	test_bad_config(tmpdir);
	(void)unlink(path);
	(void)unlink(zone);
	(void)rmdir(tmpdir);
	return check_done();
}
