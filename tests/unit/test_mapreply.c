/*
 * test_mapreply.c: socketmap requests and TLS policy replies, from
 * tables: key forms (domains, parent keys, literals, relay next hops),
 * every reply form, the "*." to "." conversion, the concrete MX mode, the
 * operator's per-domain controls (SkipDomains, RoutedDomains,
 * EnforceDomains) at delivery time, and the rule that no answer ever
 * becomes PERM.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cache.h"
#include "check.h"
#include "conf.h"
#include "engine.h"
#include "mapreply.h"
#include "policy.h"

static const struct key_row {
	const char		*key;
	enum mtasts_mapkey_kind	 kind;
	const char		*domain;
	int			 nexthop;
} key_rows[] = {
	{ "example.com", MTASTS_MAPKEY_DOMAIN, "example.com", 0 },
	{ "Example.COM.", MTASTS_MAPKEY_DOMAIN, "example.com", 0 },
	{ "xn--bcher-kva.example", MTASTS_MAPKEY_DOMAIN,
	    "xn--bcher-kva.example", 0 },
	{ "b\xc3\xbc" "cher.example", MTASTS_MAPKEY_DOMAIN,
	    "xn--bcher-kva.example", 0 },
	{ ".example.com", MTASTS_MAPKEY_PARENT, "", 0 },
	{ ".", MTASTS_MAPKEY_PARENT, "", 0 },
	{ "[192.0.2.1]", MTASTS_MAPKEY_LITERAL, "", 1 },
	{ "[192.0.2.1]:25", MTASTS_MAPKEY_LITERAL, "", 1 },
	{ "[IPv6:2001:db8::1]", MTASTS_MAPKEY_LITERAL, "", 1 },
	{ "[2001:db8::1]:587", MTASTS_MAPKEY_LITERAL, "", 1 },
	{ "192.0.2.1", MTASTS_MAPKEY_LITERAL, "", 0 },
	{ "2001:db8::1", MTASTS_MAPKEY_LITERAL, "", 0 },
	{ "[smart.example.com]", MTASTS_MAPKEY_DOMAIN, "smart.example.com", 1 },
	{ "[smart.example.com]:587", MTASTS_MAPKEY_DOMAIN,
	    "smart.example.com", 1 },
	{ "[Smart.Example.com.]:25", MTASTS_MAPKEY_DOMAIN,
	    "smart.example.com", 1 },
	{ "example.com:2525", MTASTS_MAPKEY_DOMAIN, "example.com", 1 },
	{ "[smart.example.com]:0", MTASTS_MAPKEY_INVALID, "", 1 },
	{ "[smart.example.com]:65536", MTASTS_MAPKEY_INVALID, "", 1 },
	{ "[smart.example.com]587", MTASTS_MAPKEY_INVALID, "", 1 },
	{ "[smart.example.com", MTASTS_MAPKEY_INVALID, "", 1 },
	{ "[]", MTASTS_MAPKEY_INVALID, "", 1 },
	{ "example.com:", MTASTS_MAPKEY_INVALID, "", 0 },
	{ "example.com:smtp", MTASTS_MAPKEY_INVALID, "", 0 },
	{ "a:b:c", MTASTS_MAPKEY_INVALID, "", 0 },
	{ "exa mple.com", MTASTS_MAPKEY_INVALID, "", 0 },
	{ "-bad.example", MTASTS_MAPKEY_INVALID, "", 0 },
	{ "", MTASTS_MAPKEY_INVALID, "", 0 },
};

static void
test_keys(void)
{
	const struct key_row	*r;
	char			 dom[MTASTS_DOMAIN_BUFSZ];
	size_t			 i;
	int			 nh, ok;
	enum mtasts_mapkey_kind	 k;

	for (i = 0; i < sizeof(key_rows) / sizeof(key_rows[0]); i++) {
		r = &key_rows[i];
		k = mtasts_mapkey_parse(r->key, strlen(r->key), dom, &nh);
		ok = k == r->kind && strcmp(dom, r->domain) == 0 &&
		    (k != MTASTS_MAPKEY_DOMAIN || nh == r->nexthop);
		CHECK(ok, "key \"%s\"", r->key);
		if (!ok)
			printf("#   got kind %d domain \"%s\" nexthop %d\n",
			    (int)k, dom, nh);
	}
}

static void
test_requests(void)
{
	struct mtasts_mapreq	req;
	static const char	nul[] = "sts a\0b";

	CHECK(mtasts_mapreq_parse("stspolicy good.test", 19, &req) == 0 &&
	    req.maplen == 9 && memcmp(req.map, "stspolicy", 9) == 0 &&
	    req.kind == MTASTS_MAPKEY_DOMAIN &&
	    strcmp(req.domain, "good.test") == 0, "Postfix request");
	CHECK(mtasts_mapreq_parse("sts smgood.test", 15, &req) == 0 &&
	    req.maplen == 3 && strcmp(req.domain, "smgood.test") == 0,
	    "Sendmail request: any map name is accepted");
	CHECK(mtasts_mapreq_parse("stspolicy .test", 15, &req) == 0 &&
	    req.kind == MTASTS_MAPKEY_PARENT, "parent request");
	CHECK(mtasts_mapreq_parse("stspolicy ", 10, &req) == 0 &&
	    req.kind == MTASTS_MAPKEY_INVALID, "empty key is a lookup of "
	    "nothing");
	CHECK(mtasts_mapreq_parse("stspolicy a b", 13, &req) == 0 &&
	    req.kind == MTASTS_MAPKEY_INVALID, "key with a space is invalid");
	CHECK(mtasts_mapreq_parse("stspolicy", 9, &req) == -1,
	    "no key: malformed");
	CHECK(mtasts_mapreq_parse(" good.test", 10, &req) == -1,
	    "no map name: malformed");
	CHECK(mtasts_mapreq_parse("", 0, &req) == -1, "empty: malformed");
	CHECK(mtasts_mapreq_parse(nul, sizeof(nul) - 1, &req) == -1,
	    "NUL byte: malformed");
}

/* An answer as the engine gives it: a private copy of a cache entry. */
static void
make_answer(struct mtasts_answer *a, enum mtasts_status st,
    enum mtasts_mode mode, const char *const *mx, size_t nmx,
    const char *reason, int pending)
{
	struct mtasts_cache		*c;
	struct mtasts_cache_entry	*e;

	memset(a, 0, sizeof(*a));
	a->status = st;
	a->pending = pending;
	(void)snprintf(a->reason, sizeof(a->reason), "%s", reason);
	if (st != MTASTS_OK)
		return;
	if ((c = mtasts_cache_new(4)) == NULL ||
	    (e = mtasts_cache_put_policy(c, "example.com", "id1", mode, 86400,
	    mx, nmx, 1000, 1000)) == NULL || (a->entry =
	    mtasts_cache_entry_dup(e)) == NULL) {
		printf("Bail out! cannot build an answer\n");
		exit(1);
	}
	mtasts_cache_free(c);
	a->mode = mode;
	a->nmx = nmx;
}

static const char *const mx_wild[] = { "mx1.example.com", "*.example.net" };
static const char *const mx_one[] = { "mx.example.com" };
static const char *const mx_dot[] = { "MX.Example.com." };

static const char *const rr_mixed[] = {
	"a.example.net", "b.c.example.net", "mx1.example.com",
	"evil.example.org", "a.example.net"
};
static const char *const rr_none[] = { "other.example.org" };
static const char *const rr_one[] = { "mx.example.com", "b.example.org" };

static const struct reply_row {
	const char		*what;
	enum mtasts_mapkey_kind	 kind;
	enum mtasts_status	 status;
	enum mtasts_mode	 mode;
	const char *const	*mx;
	size_t			 nmx;
	const char		*reason;
	int			 pending;
	const char *const	*rr;		/* concrete MX set, or NULL */
	size_t			 nrr;
	int			 rr_known;
	enum mtasts_mapreply_kind want_kind;
	const char		*want;		/* exact, or prefix if ends '*' */
} reply_rows[] = {
	{ "enforce with a wildcard", MTASTS_MAPKEY_DOMAIN, MTASTS_OK,
	    MTASTS_MODE_ENFORCE, mx_wild, 2, "", 0, NULL, 0, 0,
	    MTASTS_MAPREPLY_OK,
	    "OK secure match=mx1.example.com:.example.net "
	    "servername=hostname" },
	{ "enforce with one name", MTASTS_MAPKEY_DOMAIN, MTASTS_OK,
	    MTASTS_MODE_ENFORCE, mx_one, 1, "", 0, NULL, 0, 0,
	    MTASTS_MAPREPLY_OK,
	    "OK secure match=mx.example.com servername=hostname" },
	{ "enforce: case and root dot", MTASTS_MAPKEY_DOMAIN, MTASTS_OK,
	    MTASTS_MODE_ENFORCE, mx_dot, 1, "", 0, NULL, 0, 0,
	    MTASTS_MAPREPLY_OK,
	    "OK secure match=mx.example.com servername=hostname" },
	{ "enforce, concrete: one-label wildcard, no duplicates",
	    MTASTS_MAPKEY_DOMAIN, MTASTS_OK, MTASTS_MODE_ENFORCE, mx_wild, 2,
	    "", 0, rr_mixed, 5, 1, MTASTS_MAPREPLY_OK,
	    "OK secure match=a.example.net:mx1.example.com "
	    "servername=hostname" },
	{ "enforce, concrete: no MX allowed is TEMP", MTASTS_MAPKEY_DOMAIN,
	    MTASTS_OK, MTASTS_MODE_ENFORCE, mx_wild, 2, "", 0, rr_none, 1, 1,
	    MTASTS_MAPREPLY_TEMP, "TEMP *" },
	{ "enforce, concrete: empty MX set is TEMP", MTASTS_MAPKEY_DOMAIN,
	    MTASTS_OK, MTASTS_MODE_ENFORCE, mx_wild, 2, "", 0, rr_none, 0, 1,
	    MTASTS_MAPREPLY_TEMP, "TEMP *" },
	{ "enforce without mx patterns is TEMP", MTASTS_MAPKEY_DOMAIN,
	    MTASTS_OK, MTASTS_MODE_ENFORCE, NULL, 0, "", 0, NULL, 0, 0,
	    MTASTS_MAPREPLY_TEMP, "TEMP *" },
	{ "testing", MTASTS_MAPKEY_DOMAIN, MTASTS_OK, MTASTS_MODE_TESTING,
	    mx_one, 1, "", 0, NULL, 0, 0, MTASTS_MAPREPLY_NOTFOUND,
	    "NOTFOUND " },
	{ "testing, concrete", MTASTS_MAPKEY_DOMAIN, MTASTS_OK,
	    MTASTS_MODE_TESTING, mx_one, 1, "", 0, rr_none, 1, 1,
	    MTASTS_MAPREPLY_NOTFOUND, "NOTFOUND " },
	{ "none", MTASTS_MAPKEY_DOMAIN, MTASTS_OK, MTASTS_MODE_NONE,
	    NULL, 0, "", 0, NULL, 0, 0, MTASTS_MAPREPLY_NOTFOUND,
	    "NOTFOUND " },
	{ "no policy", MTASTS_MAPKEY_DOMAIN, MTASTS_NOPOLICY, 0, NULL, 0,
	    "no-txt", 0, NULL, 0, 0, MTASTS_MAPREPLY_NOTFOUND, "NOTFOUND " },
	{ "failed fetch, nothing cached", MTASTS_MAPKEY_DOMAIN,
	    MTASTS_NOPOLICY, 0, NULL, 0, "certificate", 0, NULL, 0, 0,
	    MTASTS_MAPREPLY_NOTFOUND, "NOTFOUND " },
	{ "pending discovery", MTASTS_MAPKEY_DOMAIN, MTASTS_TEMPFAIL, 0,
	    NULL, 0, "pending", 1, NULL, 0, 0, MTASTS_MAPREPLY_TEMP,
	    "TEMP MTA-STS policy discovery in progress" },
	{ "DNS failure", MTASTS_MAPKEY_DOMAIN, MTASTS_TEMPFAIL, 0, NULL, 0,
	    "dns-servfail", 0, NULL, 0, 0, MTASTS_MAPREPLY_TEMP,
	    "TEMP MTA-STS policy lookup failed: dns-servfail" },
	{ "internal error", MTASTS_MAPKEY_DOMAIN, MTASTS_INTERNAL, 0, NULL,
	    0, "engine stopped", 0, NULL, 0, 0, MTASTS_MAPREPLY_TEMP,
	    "TEMP MTA-STS internal error: engine stopped" },
	{ "invalid status is not PERM", MTASTS_MAPKEY_DOMAIN, MTASTS_INVALID,
	    0, NULL, 0, "x\ny", 0, NULL, 0, 0, MTASTS_MAPREPLY_TEMP,
	    "TEMP MTA-STS internal error: x?y" },
	{ "parent key", MTASTS_MAPKEY_PARENT, MTASTS_OK, MTASTS_MODE_ENFORCE,
	    mx_one, 1, "", 0, NULL, 0, 0, MTASTS_MAPREPLY_NOTFOUND,
	    "NOTFOUND " },
	{ "literal key", MTASTS_MAPKEY_LITERAL, MTASTS_OK, 0, NULL, 0, "", 0,
	    NULL, 0, 0, MTASTS_MAPREPLY_NOTFOUND, "NOTFOUND " },
	{ "invalid key", MTASTS_MAPKEY_INVALID, MTASTS_OK, 0, NULL, 0, "", 0,
	    NULL, 0, 0, MTASTS_MAPREPLY_NOTFOUND, "NOTFOUND " },
};

static int
reply_matches(const char *got, const char *want)
{
	size_t	n = strlen(want);

	if (n > 0 && want[n - 1] == '*')
		return strncmp(got, want, n - 1) == 0 && strlen(got) > n - 1;
	return strcmp(got, want) == 0;
}

static void
test_replies(void)
{
	const struct reply_row		*r;
	struct mtasts_answer		 a;
	struct mtasts_mxset		 set;
	struct mtasts_buf		 out;
	enum mtasts_mapreply_kind	 k;
	size_t				 i;
	int				 ok;

	for (i = 0; i < sizeof(reply_rows) / sizeof(reply_rows[0]); i++) {
		r = &reply_rows[i];
		make_answer(&a, r->status, r->mode, r->mx, r->nmx, r->reason,
		    r->pending);
		set.host = r->rr;
		set.n = r->nrr;
		mtasts_buf_init(&out, MTASTS_MAPREPLY_MAX);
		k = mtasts_mapreply(r->kind, r->kind == MTASTS_MAPKEY_DOMAIN ?
		    &a : NULL, r->rr_known ? &set : NULL, &out);
		ok = k == r->want_kind && out.data != NULL &&
		    reply_matches(out.data, r->want) &&
		    strncmp(out.data, "PERM", 4) != 0;
		CHECK(ok, "reply: %s", r->what);
		if (!ok)
			printf("#   got %s \"%s\"\n", mtasts_mapreply_kind_str(k),
			    out.data != NULL ? out.data : "(null)");
		mtasts_buf_free(&out);
		mtasts_answer_clear(&a);
	}
}

/* A reply that does not fit the caller's cap becomes TEMP, never cut. */
static void
test_too_long(void)
{
	struct mtasts_answer	a;
	struct mtasts_buf	out;

	make_answer(&a, MTASTS_OK, MTASTS_MODE_ENFORCE, mx_wild, 2, "", 0);
	mtasts_buf_init(&out, 128);
	CHECK(mtasts_mapreply(MTASTS_MAPKEY_DOMAIN, &a, NULL, &out) ==
	    MTASTS_MAPREPLY_OK, "a short reply fits 128 bytes");
	mtasts_buf_free(&out);
	mtasts_buf_init(&out, 40);
	CHECK(mtasts_mapreply(MTASTS_MAPKEY_DOMAIN, &a, NULL, &out) ==
	    MTASTS_MAPREPLY_TEMP && strncmp(out.data, "TEMP ", 5) == 0,
	    "a reply past the cap is TEMP");
	mtasts_buf_free(&out);
	mtasts_answer_clear(&a);
}

/*
 * The per-domain controls: which list wins, and what each makes of every
 * kind of answer.  A skipped or routed domain is never enforced, a forced
 * one never left in the clear; none of them is ever PERM.
 */
static const char ctl_conf[] =
    "SkipDomains skip.example, .skipsub.example\n"
    "RoutedDomains routed.example\n"
    "EnforceDomains .example, skip.example, routed.example\n";

static const struct ctl_row {
	const char		*what;
	const char		*domain;
	enum mtasts_mapctl	 want_ctl;
	enum mtasts_status	 status;
	enum mtasts_mode	 mode;
	const char *const	*rr;		/* concrete MX set, or NULL */
	size_t			 nrr;
	enum mtasts_mapreply_kind want_kind;
	const char		*want;
} ctl_rows[] = {
	{ "SkipDomains beats EnforceDomains", "skip.example",
	    MTASTS_MAPCTL_SKIP, MTASTS_OK, MTASTS_MODE_ENFORCE, NULL, 0,
	    MTASTS_MAPREPLY_NOTFOUND, "NOTFOUND " },
	{ "SkipDomains .skipsub.example covers a.skipsub.example",
	    "a.skipsub.example", MTASTS_MAPCTL_SKIP, MTASTS_OK,
	    MTASTS_MODE_ENFORCE, NULL, 0, MTASTS_MAPREPLY_NOTFOUND,
	    "NOTFOUND " },
	{ "RoutedDomains: its MX policy is not applied", "routed.example",
	    MTASTS_MAPCTL_ROUTED, MTASTS_OK, MTASTS_MODE_ENFORCE, NULL, 0,
	    MTASTS_MAPREPLY_NOTFOUND, "NOTFOUND " },
	{ "EnforceDomains: enforce stays enforce", "bank.example",
	    MTASTS_MAPCTL_FORCE, MTASTS_OK, MTASTS_MODE_ENFORCE, NULL, 0,
	    MTASTS_MAPREPLY_OK,
	    "OK secure match=mx.example.com servername=hostname" },
	{ "EnforceDomains: testing is enforced", "bank.example",
	    MTASTS_MAPCTL_FORCE, MTASTS_OK, MTASTS_MODE_TESTING, NULL, 0,
	    MTASTS_MAPREPLY_OK,
	    "OK secure match=mx.example.com servername=hostname" },
	{ "EnforceDomains: testing, concrete MX hosts", "bank.example",
	    MTASTS_MAPCTL_FORCE, MTASTS_OK, MTASTS_MODE_TESTING, rr_one, 2,
	    MTASTS_MAPREPLY_OK,
	    "OK secure match=mx.example.com servername=hostname" },
	{ "EnforceDomains: mode none is TEMP", "bank.example",
	    MTASTS_MAPCTL_FORCE, MTASTS_OK, MTASTS_MODE_NONE, NULL, 0,
	    MTASTS_MAPREPLY_TEMP, "TEMP MTA-STS required *" },
	{ "EnforceDomains: no policy is TEMP", "bank.example",
	    MTASTS_MAPCTL_FORCE, MTASTS_NOPOLICY, 0, NULL, 0,
	    MTASTS_MAPREPLY_TEMP, "TEMP MTA-STS required *" },
	{ "EnforceDomains: DNS trouble is TEMP", "bank.example",
	    MTASTS_MAPCTL_FORCE, MTASTS_TEMPFAIL, 0, NULL, 0,
	    MTASTS_MAPREPLY_TEMP, "TEMP MTA-STS policy lookup failed*" },
	{ "no control: testing stays NOTFOUND", "other.test",
	    MTASTS_MAPCTL_POLICY, MTASTS_OK, MTASTS_MODE_TESTING, NULL, 0,
	    MTASTS_MAPREPLY_NOTFOUND, "NOTFOUND " },
	{ "no control: no policy stays NOTFOUND", "other.test",
	    MTASTS_MAPCTL_POLICY, MTASTS_NOPOLICY, 0, NULL, 0,
	    MTASTS_MAPREPLY_NOTFOUND, "NOTFOUND " },
};

static void
test_controls(void)
{
	const struct ctl_row		*r;
	struct mtasts_config		*cfg;
	struct mtasts_diag		 diag;
	struct mtasts_answer		 a;
	struct mtasts_mxset		 set;
	struct mtasts_buf		 out;
	enum mtasts_mapreply_kind	 k;
	enum mtasts_mapctl		 ctl;
	size_t				 i;
	int				 ok;

	if ((cfg = mtasts_config_parse(ctl_conf, sizeof(ctl_conf) - 1, "t",
	    &diag)) == NULL) {
		printf("Bail out! cannot parse the control configuration\n");
		exit(1);
	}
	CHECK(mtasts_mapctl_domain(cfg, "example") == MTASTS_MAPCTL_POLICY,
	    "\".example\" does not cover example itself");
	CHECK(mtasts_mapctl_domain(NULL, "bank.example") ==
	    MTASTS_MAPCTL_POLICY, "no configuration: the policy decides");
	for (i = 0; i < sizeof(ctl_rows) / sizeof(ctl_rows[0]); i++) {
		r = &ctl_rows[i];
		ctl = mtasts_mapctl_domain(cfg, r->domain);
		make_answer(&a, r->status, r->mode, mx_one, 1,
		    r->status == MTASTS_TEMPFAIL ? "dns-servfail" : "", 0);
		set.host = r->rr;
		set.n = r->nrr;
		mtasts_buf_init(&out, MTASTS_MAPREPLY_MAX);
		k = mtasts_mapreply_ctl(ctl, MTASTS_MAPKEY_DOMAIN, &a,
		    r->rr != NULL ? &set : NULL, &out);
		ok = ctl == r->want_ctl && k == r->want_kind &&
		    out.data != NULL && reply_matches(out.data, r->want);
		CHECK(ok, "control: %s", r->what);
		if (!ok)
			printf("#   got %s, %s \"%s\"\n", mtasts_mapctl_str(ctl),
			    mtasts_mapreply_kind_str(k),
			    out.data != NULL ? out.data : "(null)");
		mtasts_buf_free(&out);
		mtasts_answer_clear(&a);
	}
	/* A skipped domain needs no lookup: NULL answer. */
	mtasts_buf_init(&out, MTASTS_MAPREPLY_MAX);
	CHECK(mtasts_mapreply_ctl(MTASTS_MAPCTL_SKIP, MTASTS_MAPKEY_DOMAIN,
	    NULL, NULL, &out) == MTASTS_MAPREPLY_NOTFOUND,
	    "control: skipped without an answer");
	CHECK(mtasts_mapreply_ctl(MTASTS_MAPCTL_FORCE, MTASTS_MAPKEY_PARENT,
	    NULL, NULL, &out) == MTASTS_MAPREPLY_NOTFOUND,
	    "control: a parent key stays NOTFOUND");
	mtasts_buf_free(&out);
	mtasts_config_free(cfg);
}

int
main(void)
{
	test_keys();
	test_requests();
	test_replies();
	test_too_long();
	test_controls();
	return check_done();
}
