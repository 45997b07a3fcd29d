/*
 * test_verdict.c: the RCPT-time decision (common/verdict.c) and the
 * engine's MX sets, against a real engine: policies come from a SQLite
 * store seeded before each row (the engine loads them at start), DNS is
 * libunbound local data written here (TXT, MX, refused and silent zones),
 * and the clock is injected.  Nothing leaves the host; no HTTPS server is
 * needed because no row fetches a policy successfully.
 *
 * Every row starts a fresh engine on a freshly seeded store, so rows do
 * not depend on each other's re-checks.
 *
 * RFC-CHECKLIST items: STS-43 (literals), STS-45/STS-47 (MX against the
 * patterns, implicit MX), STS-51 (enforce never accepts a non-matching MX
 * set), STS-52 (testing delivers), STS-53 (none), STS-54 (no permanent
 * failure before the re-check), STS-55 (defer by default), STS-57 (MX in
 * preference order).
 */
#include <config.h>

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "engine.h"
#include "fetch.h"
#include "log.h"
#include "store.h"
#include "verdict.h"

#define T0		1800000000
#define OLD_CHECK	(T0 - 7200)	/* older than RecheckInterval */
#define NEW_CHECK	(T0 - 60)	/* younger than RecheckInterval */

static char	 dir[256];
static int64_t	 clock_now = T0;

static int64_t
fake_now(void *arg)
{
	(void)arg;
	return __atomic_load_n(&clock_now, __ATOMIC_SEQ_CST);
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "test_verdict: %s: %s\n", what, why);
	exit(99);
}

static void
write_file(const char *name, const char *text)
{
	char	 path[512];
	FILE	*fp;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) != 0)
		die("cannot write", path);
}

static void
cleanup(void)
{
	const char	*files[] = { "policies.db", "policies.db-wal",
			    "policies.db-shm", "unbound.conf", NULL };
	char		 path[512];
	size_t		 i;

	for (i = 0; files[i] != NULL; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

/*
 * Names under the zones of silent[] are sent to a UDP socket of ours
 * that never answers; every other address but loopback is out of bounds,
 * so nothing leaves the host.
 */
static const char *const silent[] = {
	"_mta-sts.slow.test", "_mta-sts.slowpol.test", "mxslow.test", NULL
};

static const char dns_head[] =
    "server:\n"
    "\tverbosity: 0\n"
    "\tdo-not-query-localhost: no\n"
    "\tdo-not-query-address: 0.0.0.0/2\n"
    "\tdo-not-query-address: 64.0.0.0/3\n"
    "\tdo-not-query-address: 96.0.0.0/4\n"
    "\tdo-not-query-address: 112.0.0.0/5\n"
    "\tdo-not-query-address: 120.0.0.0/6\n"
    "\tdo-not-query-address: 124.0.0.0/7\n"
    "\tdo-not-query-address: 126.0.0.0/8\n"
    "\tdo-not-query-address: 128.0.0.0/1\n"
    "\tdo-not-query-address: ::/0\n"
    "\tlocal-zone: \"test.\" static\n"
    /* the TXT look-up of a re-check fails */
    "\tlocal-zone: \"_mta-sts.sfail.test.\" refuse\n"
    "\tlocal-zone: \"mxfail.test.\" refuse\n";

static const char dns_data[] =
    "\tlocal-data: '_mta-sts.good.test. 300 IN TXT \"v=STSv1; id=g1\"'\n"
    "\tlocal-data: '_mta-sts.bad.test. 300 IN TXT \"v=STSv1; id=b1\"'\n"
    "\tlocal-data: '_mta-sts.changed.test. 300 IN TXT \"v=STSv1; id=c2\"'\n"
    "\tlocal-data: '_mta-sts.testing.test. 300 IN TXT \"v=STSv1; id=t1\"'\n"
    /* MX records, listed out of preference order on purpose */
    "\tlocal-data: \"good.test. 300 IN MX 20 mx2.good.test.\"\n"
    "\tlocal-data: \"good.test. 300 IN MX 10 mx1.good.test.\"\n"
    "\tlocal-data: \"good.test. 300 IN MX 30 mx3.good.test.\"\n"
    "\tlocal-data: \"wild.test. 86400 IN MX 10 a.mx.wild.test.\"\n"
    "\tlocal-data: \"bad.test. 5 IN MX 10 mx1.bad.test.\"\n"
    "\tlocal-data: \"recent.test. 300 IN MX 10 mx1.recent.test.\"\n"
    "\tlocal-data: \"changed.test. 300 IN MX 10 mx1.changed.test.\"\n"
    "\tlocal-data: \"sfail.test. 300 IN MX 10 mx1.sfail.test.\"\n"
    "\tlocal-data: \"slow.test. 300 IN MX 10 mx1.slow.test.\"\n"
    "\tlocal-data: \"testing.test. 300 IN MX 10 mx1.testing.test.\"\n"
    "\tlocal-data: \"testok.test. 300 IN MX 10 mx.testok.test.\"\n"
    "\tlocal-data: \"routed.test. 300 IN MX 10 mx1.routed.test.\"\n"
    "\tlocal-data: \"nullmx.test. 300 IN MX 0 .\"\n"
    "\tlocal-data: \"skip.test. 300 IN MX 10 mx1.skip.test.\"\n"
    "\tlocal-data: \"implicit.test. 300 IN A 192.0.2.1\"\n";

/* A UDP socket that takes queries and never answers; returns its port. */
static int
silent_server(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		die("silent server", strerror(errno));
	return ntohs(sin.sin_port);
}

static void
write_dns(void)
{
	char	buf[8192];
	size_t	n, i;
	int	port = silent_server();

	n = (size_t)snprintf(buf, sizeof(buf), "%s%s", dns_head, dns_data);
	for (i = 0; silent[i] != NULL; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "\tlocal-zone: \"%s.\" transparent\n", silent[i]);
	for (i = 0; silent[i] != NULL; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "stub-zone:\n\tname: \"%s.\"\n"
		    "\tstub-addr: 127.0.0.1@%d\n", silent[i], port);
	if (n >= sizeof(buf))
		die("DNS data", "too long");
	write_file("unbound.conf", buf);
}

struct seed {
	const char	*domain, *id;
	int		 mode;
	const char	*mx;
	int64_t		 txt_checked;
};

static const struct seed seeds[] = {
	{ "good.test", "g1", MTASTS_MODE_ENFORCE, "mx2.good.test", NEW_CHECK },
	{ "wild.test", "w1", MTASTS_MODE_ENFORCE, "*.mx.wild.test", NEW_CHECK },
	{ "bad.test", "b1", MTASTS_MODE_ENFORCE, "mx.elsewhere.test",
	    OLD_CHECK },
	{ "recent.test", "r1", MTASTS_MODE_ENFORCE, "mx.elsewhere.test",
	    NEW_CHECK },
	{ "changed.test", "c1", MTASTS_MODE_ENFORCE, "mx.elsewhere.test",
	    OLD_CHECK },
	{ "sfail.test", "s1", MTASTS_MODE_ENFORCE, "mx.elsewhere.test",
	    OLD_CHECK },
	{ "slow.test", "l1", MTASTS_MODE_ENFORCE, "mx.elsewhere.test",
	    OLD_CHECK },
	{ "testing.test", "t1", MTASTS_MODE_TESTING, "mx.elsewhere.test",
	    OLD_CHECK },
	{ "testok.test", "k1", MTASTS_MODE_TESTING, "mx.testok.test",
	    NEW_CHECK },
	{ "none.test", "n1", MTASTS_MODE_NONE, "", NEW_CHECK },
	{ "implicit.test", "i1", MTASTS_MODE_ENFORCE, "implicit.test",
	    NEW_CHECK },
	{ "nullmx.test", "z1", MTASTS_MODE_ENFORCE, "nullmx.test", NEW_CHECK },
	{ "mxfail.test", "f1", MTASTS_MODE_ENFORCE, "mx.mxfail.test",
	    NEW_CHECK },
	{ "mxslow.test", "f2", MTASTS_MODE_ENFORCE, "mx.mxslow.test",
	    NEW_CHECK },
	{ "gone.test", "x1", MTASTS_MODE_ENFORCE, "mx.gone.test", NEW_CHECK },
	{ "routed.test", "o1", MTASTS_MODE_ENFORCE, "mx.elsewhere.test",
	    NEW_CHECK },
	{ "skip.test", "p1", MTASTS_MODE_ENFORCE, "mx.elsewhere.test",
	    NEW_CHECK },
	{ "a.skip.test", "p2", MTASTS_MODE_ENFORCE, "mx.elsewhere.test",
	    NEW_CHECK },
	{ NULL, NULL, 0, NULL, 0 }
};

static void
seed_store(void)
{
	struct mtasts_stored_policy	 sp;
	struct mtasts_store		*s;
	struct mtasts_diag		 diag;
	const struct seed		*r;
	char				 path[512];
	const char			*sfx[] = { "", "-wal", "-shm" };
	size_t				 i;

	for (i = 0; i < 3; i++) {
		(void)snprintf(path, sizeof(path), "%s/policies.db%s", dir,
		    sfx[i]);
		(void)unlink(path);
	}
	(void)snprintf(path, sizeof(path), "%s/policies.db", dir);
	mtasts_diag_init(&diag);
	if ((s = mtasts_store_open(path, 0, &diag)) == NULL)
		die("store", mtasts_diag_first(&diag));
	for (r = seeds; r->domain != NULL; r++) {
		memset(&sp, 0, sizeof(sp));
		(void)snprintf(sp.domain, sizeof(sp.domain), "%s", r->domain);
		(void)snprintf(sp.policy_id, sizeof(sp.policy_id), "%s", r->id);
		sp.mode = r->mode;
		sp.max_age = 86400;
		sp.mx = (char *)r->mx;
		sp.policy_text = (char *)"";
		sp.fetched_at = T0 - 7200;
		sp.txt_checked_at = (time_t)r->txt_checked;
		if (mtasts_store_put_policy(s, &sp) != MTASTS_OK)
			die("seed", mtasts_store_errmsg(s));
	}
	mtasts_store_close(s);
}

static struct mtasts_config *
make_config(const char *extra)
{
	struct mtasts_config	*cfg;
	struct mtasts_diag	 diag;
	char			 text[4096];

	(void)snprintf(text, sizeof(text),
	    "Database %s/policies.db\n"
	    "ResolverConfig %s/unbound.conf\n"
	    "DnsTimeout 1s\n"
	    "HttpsConnectTimeout 1s\n"
	    "HttpsTimeout 1s\n"
	    "RecheckInterval 5m\n"
	    "MxProbe no\n"
	    "%s", dir, dir, extra != NULL ? extra : "");
	mtasts_diag_init(&diag);
	if ((cfg = mtasts_config_parse(text, strlen(text), "test", &diag)) ==
	    NULL)
		die("config", mtasts_diag_first(&diag));
	return cfg;
}

static struct mtasts_engine *
start(const struct mtasts_config *cfg)
{
	struct mtasts_engine_opts	 opts;
	struct mtasts_engine		*e;
	struct mtasts_diag		 diag;

	memset(&opts, 0, sizeof(opts));
	opts.now = fake_now;
	opts.https_port = 9;	/* nothing listens: any fetch fails */
	opts.no_refresher = 1;
	mtasts_diag_init(&diag);
	if ((e = mtasts_engine_new(cfg, &opts, &diag)) == NULL)
		die("engine", mtasts_diag_first(&diag));
	return e;
}

/* ------------------------------------------------------------ MX sets */

static void
test_mx(void)
{
	struct mtasts_config	*cfg = make_config(NULL);
	struct mtasts_engine	*e;
	struct mtasts_mx_set	 mx;

	seed_store();
	e = start(cfg);
	CHECK(mtasts_engine_mx(e, "good.test", 3000, &mx) == MTASTS_OK &&
	    mx.n == 3 && strcmp(mx.host[0], "mx1.good.test") == 0 &&
	    strcmp(mx.host[1], "mx2.good.test") == 0 &&
	    strcmp(mx.host[2], "mx3.good.test") == 0 && mx.pref[0] == 10 &&
	    !mx.implicit, "STS-57: MX set in preference order");
	CHECK(mx.expires_at == T0 + 300, "MX set cached for its TTL");
	CHECK(mtasts_engine_mx(e, "wild.test", 3000, &mx) == MTASTS_OK &&
	    mx.expires_at == T0 + 3600, "a long TTL is capped at 1h");
	CHECK(mtasts_engine_mx(e, "bad.test", 3000, &mx) == MTASTS_OK &&
	    mx.expires_at == T0 + 30, "a short TTL is raised to 30s");
	CHECK(mtasts_engine_mx(e, "implicit.test", 3000, &mx) == MTASTS_OK &&
	    mx.implicit && !mx.null_mx && mx.n == 1 &&
	    strcmp(mx.host[0], "implicit.test") == 0,
	    "NODATA: implicit MX is the domain (RFC 8461 section 4.1)");
	CHECK(mtasts_engine_mx(e, "nullmx.test", 3000, &mx) == MTASTS_OK &&
	    mx.implicit && mx.null_mx && mx.n == 1 &&
	    strcmp(mx.host[0], "nullmx.test") == 0,
	    "null MX (RFC 7505): the domain itself, flagged");
	CHECK(mtasts_engine_mx(e, "gone.test", 3000, &mx) == MTASTS_NOPOLICY &&
	    strcmp(mx.reason, "nxdomain") == 0, "NXDOMAIN: no-policy nxdomain");
	CHECK(mtasts_engine_mx(e, "mxfail.test", 3000, &mx) ==
	    MTASTS_TEMPFAIL && strcmp(mx.reason, "dns-servfail") == 0 &&
	    !mx.pending, "refused: temporary failure dns-servfail");
	CHECK(mtasts_engine_mx(e, "mxslow.test", 200, &mx) ==
	    MTASTS_TEMPFAIL && mx.pending &&
	    strcmp(mx.reason, "pending") == 0,
	    "silent server: pending when the budget runs out");
	CHECK(mtasts_engine_mx(e, "good.test", 0, &mx) == MTASTS_OK &&
	    mx.n == 3, "others answered from memory meanwhile");
	CHECK(mtasts_engine_mx(e, "mxslow.test", 3000, &mx) ==
	    MTASTS_TEMPFAIL && strcmp(mx.reason, "dns-timeout") == 0,
	    "silent server: dns-timeout after DnsTimeout");
	mtasts_engine_free(e);
	mtasts_config_free(cfg);
}

/* ------------------------------------------------------------ verdicts */

struct row {
	const char		*what;
	const char		*domain;	/* as after the '@' */
	const char		*conf;		/* extra config lines */
	long			 budget_ms;
	enum mtasts_action	 action;
	const char		*reason;
	const char		*mx;		/* NULL: not checked */
	int			 code;		/* 0: accepting */
	const char		*status;
	int			 rechecked;
	int			 flags;
};

#define WOULD_FAIL	0x1
#define HEADER		0x2
#define NO_POLICY	0x4

#define NOMATCH_TEXT	"cannot be satisfied: no MX host matches the policy"

static const struct row rows[] = {
	/* scope: RFC 8461 section 3.4 and the operator's lists */
	{ "STS-43: IPv4 literal", "[192.0.2.1]", NULL, 3000,
	    MTASTS_ACTION_ACCEPT, "address-literal", NULL, 0, NULL, 0,
	    NO_POLICY },
	{ "STS-43: IPv6 literal", "[IPv6:2001:db8::1]", NULL, 3000,
	    MTASTS_ACTION_ACCEPT, "address-literal", NULL, 0, NULL, 0,
	    NO_POLICY },
	{ "invalid domain", "-bad-.test", NULL, 3000,
	    MTASTS_ACTION_ACCEPT, "invalid-domain", NULL, 0, NULL, 0,
	    NO_POLICY },
	{ "SkipDomains .skip.test covers a.skip.test", "a.skip.test",
	    "SkipDomains .skip.test\n", 3000, MTASTS_ACTION_ACCEPT, "skipped",
	    NULL, 0, NULL, 0, NO_POLICY },
	{ "SkipDomains .skip.test leaves skip.test", "skip.test",
	    "SkipDomains .skip.test\nFailureAction reject\n", 3000,
	    MTASTS_ACTION_REJECT, "no-mx-match", "", 550, "5.7.5", 0, 0 },
	{ "RoutedDomains: smarthost route, not checked", "routed.test",
	    "RoutedDomains routed.test\nFailureAction reject\n", 3000,
	    MTASTS_ACTION_ACCEPT, "routed", NULL, 0, NULL, 0, NO_POLICY },
	/* no policy, none */
	{ "no TXT record: no policy", "nopolicy.test", NULL, 3000,
	    MTASTS_ACTION_ACCEPT, "no-policy:no-txt", NULL, 0, NULL, 0,
	    NO_POLICY },
	{ "STS-53: mode none accepts", "none.test", NULL, 3000,
	    MTASTS_ACTION_ACCEPT, "mode-none", NULL, 0, NULL, 0, 0 },
	/* enforce, matching */
	{ "STS-45/57: first matching MX in preference order", "good.test",
	    "FailureAction reject\n", 3000, MTASTS_ACTION_ACCEPT, "mx-match",
	    "mx2.good.test", 0, NULL, 0, 0 },
	{ "domain normalised: case and trailing dot", "GOOD.Test.", NULL,
	    3000, MTASTS_ACTION_ACCEPT, "mx-match", "mx2.good.test", 0, NULL,
	    0, 0 },
	{ "STS-47: wildcard pattern covers one label", "wild.test", NULL,
	    3000, MTASTS_ACTION_ACCEPT, "mx-match", "a.mx.wild.test", 0, NULL,
	    0, 0 },
	{ "STS-47: implicit MX matches the domain", "implicit.test", NULL,
	    3000, MTASTS_ACTION_ACCEPT, "mx-match", "implicit.test", 0, NULL,
	    0, 0 },
	{ "null MX: the domain itself is matched", "nullmx.test", NULL,
	    3000, MTASTS_ACTION_ACCEPT, "mx-match", "nullmx.test", 0, NULL,
	    0, 0 },
	{ "MX NXDOMAIN: nothing to protect, MTA bounces", "gone.test",
	    "FailureAction reject\n", 3000, MTASTS_ACTION_ACCEPT,
	    "mx-nxdomain", "", 0, NULL, 0, 0 },
	/* enforce, no match: STS-54 */
	{ "STS-55: no match, re-checked, default defer", "bad.test", NULL,
	    3000, MTASTS_ACTION_DEFER, "no-mx-match", "", 451, "4.7.5", 1, 0 },
	{ "no match, re-checked, FailureAction reject", "bad.test",
	    "FailureAction reject\n", 3000, MTASTS_ACTION_REJECT,
	    "no-mx-match", "", 550, "5.7.5", 1, 0 },
	{ "no match, re-checked, FailureAction bounce", "bad.test",
	    "FailureAction bounce\n", 3000, MTASTS_ACTION_BOUNCE,
	    "no-mx-match", "", 550, "5.7.5", 1, 0 },
	{ "recent TXT look-up counts as the re-check", "recent.test",
	    "FailureAction reject\n", 3000, MTASTS_ACTION_REJECT,
	    "no-mx-match", "", 550, "5.7.5", 0, 0 },
	{ "STS-54: new id, new policy unfetchable: defer", "changed.test",
	    "FailureAction reject\n", 3000, MTASTS_ACTION_DEFER,
	    "no-mx-match:recheck-incomplete", "", 451, "4.7.5", 1, 0 },
	{ "STS-54: re-check SERVFAIL: defer", "sfail.test",
	    "FailureAction bounce\n", 3000, MTASTS_ACTION_DEFER,
	    "no-mx-match:recheck-dns-servfail", "", 451, "4.7.5", 1, 0 },
	{ "STS-54: re-check outlasts the budget: defer", "slow.test",
	    "FailureAction reject\n", 300, MTASTS_ACTION_DEFER,
	    "no-mx-match:recheck-incomplete", "", 451, "4.7.5", 1, 0 },
	/* per-domain failure actions */
	{ "DomainFailureAction exact entry", "bad.test",
	    "DomainFailureAction bad.test:reject\n", 3000,
	    MTASTS_ACTION_REJECT, "no-mx-match", "", 550, "5.7.5", 1, 0 },
	{ "DomainFailureAction: exact beats .parent", "bad.test",
	    "DomainFailureAction .test:bounce, bad.test:defer\n"
	    "FailureAction reject\n", 3000, MTASTS_ACTION_DEFER,
	    "no-mx-match", "", 451, "4.7.5", 1, 0 },
	{ "DomainFailureAction: .parent covers children", "bad.test",
	    "DomainFailureAction .test:bounce\n", 3000, MTASTS_ACTION_BOUNCE,
	    "no-mx-match", "", 550, "5.7.5", 1, 0 },
	{ "DomainFailureAction: .bad.test is not bad.test", "bad.test",
	    "DomainFailureAction .bad.test:bounce\nFailureAction reject\n",
	    3000, MTASTS_ACTION_REJECT, "no-mx-match", "", 550, "5.7.5", 1,
	    0 },
	/* testing: STS-52 */
	{ "STS-52: testing, no match: delivered, would fail", "testing.test",
	    "FailureAction reject\n", 3000, MTASTS_ACTION_TESTING,
	    "would-fail:no-mx-match", "", 0, NULL, 0, WOULD_FAIL },
	{ "testing, match", "testok.test", NULL, 3000,
	    MTASTS_ACTION_TESTING, "mx-match", "mx.testok.test", 0, NULL, 0,
	    0 },
	{ "TestingHeader asks for the header", "testing.test",
	    "TestingHeader yes\n", 3000, MTASTS_ACTION_TESTING,
	    "would-fail:no-mx-match", "", 0, NULL, 0, WOULD_FAIL | HEADER },
	/* EnforceDomains */
	{ "EnforceDomains: testing enforced after a re-check", "testing.test",
	    "EnforceDomains testing.test\nFailureAction reject\n", 3000,
	    MTASTS_ACTION_REJECT, "no-mx-match", "", 550, "5.7.5", 1, 0 },
	{ "EnforceDomains: no policy defers", "nopolicy.test",
	    "EnforceDomains .test\n", 3000, MTASTS_ACTION_DEFER,
	    "required:no-policy-no-txt", NULL, 451, "4.7.5", 0, NO_POLICY },
	{ "EnforceDomains: mode none defers", "none.test",
	    "EnforceDomains none.test\n", 3000, MTASTS_ACTION_DEFER,
	    "required:mode-none", NULL, 451, "4.7.5", 0, 0 },
	{ "EnforceDomains: a matching MX still passes", "good.test",
	    "EnforceDomains .test\n", 3000, MTASTS_ACTION_ACCEPT, "mx-match",
	    "mx2.good.test", 0, NULL, 0, 0 },
	/* engine trouble: OnEngineError */
	{ "MX SERVFAIL: tempfail", "mxfail.test", NULL, 3000,
	    MTASTS_ACTION_DEFER, "engine-error:mx-dns-servfail", "", 451,
	    "4.4.3", 0, 0 },
	{ "MX SERVFAIL, OnEngineError accept", "mxfail.test",
	    "OnEngineError accept\n", 3000, MTASTS_ACTION_ACCEPT,
	    "engine-error:mx-dns-servfail", "", 0, NULL, 0, 0 },
	{ "MX SERVFAIL, EnforceDomains fails closed", "mxfail.test",
	    "OnEngineError accept\nEnforceDomains mxfail.test\n", 3000,
	    MTASTS_ACTION_DEFER, "engine-error:mx-dns-servfail", "", 451,
	    "4.4.3", 0, 0 },
	{ "MX look-up outlasts the budget: tempfail", "mxslow.test", NULL,
	    300, MTASTS_ACTION_DEFER, "engine-error:mx-pending", "", 451,
	    "4.4.3", 0, 0 },
	{ "policy discovery pending: tempfail", "slowpol.test", NULL, 300,
	    MTASTS_ACTION_DEFER, "engine-error:policy-pending", NULL, 451,
	    "4.4.3", 0, NO_POLICY },
	{ "policy discovery pending, OnEngineError accept", "slowpol.test",
	    "OnEngineError accept\n", 300, MTASTS_ACTION_ACCEPT,
	    "engine-error:policy-pending", NULL, 0, NULL, 0, NO_POLICY },
	{ NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL, 0, 0 }
};

static void
run_row(const struct row *r)
{
	struct mtasts_config	*cfg = make_config(r->conf);
	struct mtasts_engine	*e;
	struct mtasts_verdict	 v;
	char			 want[600];
	int			 ok;

	seed_store();
	e = start(cfg);
	mtasts_verdict_rcpt(e, cfg, r->domain, strlen(r->domain),
	    r->budget_ms, &v);
	ok = v.action == r->action && strcmp(v.reason, r->reason) == 0 &&
	    (r->mx == NULL || strcmp(v.mx, r->mx) == 0) &&
	    v.smtp_code == r->code &&
	    strcmp(v.status, r->status != NULL ? r->status : "") == 0 &&
	    v.rechecked == r->rechecked &&
	    v.would_fail == !!(r->flags & WOULD_FAIL) &&
	    v.add_header == !!(r->flags & HEADER) &&
	    v.has_policy == !(r->flags & NO_POLICY);
	CHECK(ok, "%s", r->what);
	if (!ok)
		printf("#   got action=%s reason=%s mx=%s code=%d status=%s "
		    "rechecked=%d would_fail=%d header=%d policy=%d\n",
		    mtasts_action_str(v.action), v.reason, v.mx, v.smtp_code,
		    v.status, v.rechecked, v.would_fail, v.add_header,
		    v.has_policy);
	if (r->code != 0 && strcmp(r->reason, "no-mx-match") == 0) {
		(void)snprintf(want, sizeof(want), "MTA-STS policy for %s "
		    NOMATCH_TEXT, v.domain);
		CHECK_STREQ(v.text, want, "  reply text names the domain and "
		    "the reason");
	}
	mtasts_engine_free(e);
	mtasts_config_free(cfg);
}

static void
test_lists(void)
{
	struct mtasts_config	*cfg;
	struct mtasts_diag	 diag;
	static const char	 bad1[] = "SkipDomains exa_mple.test\n";
	static const char	 bad2[] = "DomainFailureAction bad.test:drop\n";
	static const char	 bad3[] = "DomainFailureAction bad.test\n";
	static const char	 bad4[] = "SocketMode 0999\n";

	cfg = make_config("SkipDomains Example.TEST, .sub.test\n"
	    "DomainFailureAction .example.test:bounce example.test:reject\n"
	    "FailureAction defer\nSocketMode 0660\n");
	CHECK(mtasts_domain_list_match(&cfg->skip_domains, "example.test") > 0,
	    "list: exact entry, case ignored");
	CHECK(mtasts_domain_list_match(&cfg->skip_domains, "a.b.sub.test") > 0
	    && mtasts_domain_list_match(&cfg->skip_domains, "sub.test") == 0,
	    "list: .parent covers names below, not the parent");
	CHECK(mtasts_domain_list_match(&cfg->skip_domains, "xsub.test") == 0,
	    "list: .sub.test does not match xsub.test");
	CHECK(mtasts_verdict_failure_action(cfg, "example.test") ==
	    MTASTS_FAIL_REJECT && mtasts_verdict_failure_action(cfg,
	    "mx.example.test") == MTASTS_FAIL_BOUNCE &&
	    mtasts_verdict_failure_action(cfg, "other.test") ==
	    MTASTS_FAIL_DEFER, "failure action: exact, parent, default");
	mtasts_config_free(cfg);
	mtasts_diag_init(&diag);
	CHECK(mtasts_config_parse(bad1, sizeof(bad1) - 1, "t", &diag) == NULL
	    && strstr(mtasts_diag_first(&diag), "SkipDomains") != NULL,
	    "config: a bad domain in a list is refused");
	CHECK(mtasts_config_parse(bad2, sizeof(bad2) - 1, "t", &diag) == NULL,
	    "config: an unknown failure action is refused");
	CHECK(mtasts_config_parse(bad3, sizeof(bad3) - 1, "t", &diag) == NULL,
	    "config: an entry without :action is refused");
	CHECK(mtasts_config_parse(bad4, sizeof(bad4) - 1, "t", &diag) == NULL,
	    "config: a SocketMode that is not octal is refused");
}

int
main(void)
{
	struct mtasts_log_setup	 ls = { "test_verdict", 0, LOG_MAIL, 1,
				    LOG_ERR };
	struct mtasts_diag	 diag;
	const struct row	*r;
	const char		*tmp = getenv("TMPDIR");

	(void)snprintf(dir, sizeof(dir), "%s/test_verdict.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", dir);
	mtasts_log_init(&ls);
	mtasts_diag_init(&diag);
	if (mtasts_fetch_global_init(&diag) != MTASTS_OK)
		die("curl", mtasts_diag_first(&diag));
	write_dns();

	test_mx();
	for (r = rows; r->what != NULL; r++)
		run_row(r);
	test_lists();

	mtasts_fetch_global_cleanup();
	cleanup();
	return check_done();
}
