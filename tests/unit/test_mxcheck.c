/*
 * test_mxcheck.c: MX probes through the real engine and the RCPT-time
 * verdict, against the real SMTP servers that tests/unit/test_probe.sh
 * starts (one per loopback address, all on one port; see there).  DNS is
 * libunbound local data written here: each lab MX host name points at the
 * server of one kind.  Policies are seeded into the store; the clock is
 * injected so that result lifetimes can be crossed without waiting.
 *
 * What it shows: each probe class and the verdict it leads to (RFC 8461
 * §4, STS-46..49; RFC 8460 result types, RPT-11); one passing MX is
 * enough; transient failures and probes still running accept; recipients
 * waiting on one host share one probe; failures are not probed again per
 * recipient; stale results answer at once while one new probe runs; the
 * results survive a restart through the store; MxProbe all records
 * testing-mode failures only.
 *
 * Environment (from test_probe.sh): MTASTS_TEST_PORT, MTASTS_TEST_CA,
 * MTASTS_TEST_KINDS, MTASTS_TEST_SERVER_LOG, MTASTS_TEST_TLS10.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "fetch.h"
#include "log.h"
#include "mxcheck.h"
#include "store.h"
#include "verdict.h"
#include "check.h"

#define T0		1800000000
#define NEW_CHECK	(T0 - 60)
#define OLD_CHECK	(T0 - 7200)	/* older than RecheckInterval */

static char	 dir[256];
static int64_t	 clock_now = T0;
static const char *server_log;

static int64_t
fake_now(void *arg)
{
	(void)arg;
	return __atomic_load_n(&clock_now, __ATOMIC_SEQ_CST);
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "test_mxcheck: %s: %s\n", what, why);
	exit(99);
}

/* The loopback address of the server of kind ("127.0.0.N"). */
static int
kind_addr(const char *kind, char *buf, size_t size)
{
	const char	*kinds = getenv("MTASTS_TEST_KINDS");
	char		 copy[1024], *p, *save = NULL;
	int		 i = 2;

	if (kinds == NULL)
		die("environment", "MTASTS_TEST_KINDS unset");
	(void)snprintf(copy, sizeof(copy), "%s", kinds);
	for (p = strtok_r(copy, " \n", &save); p != NULL;
	    p = strtok_r(NULL, " \n", &save), i++)
		if (strcmp(p, kind) == 0) {
			(void)snprintf(buf, size, "127.0.0.%d", i);
			return 0;
		}
	return -1;
}

/* Connections a server saw: its "ehlo" lines in the server log. */
static int
ehlos(const char *kind)
{
	char	 addr[32], line[1024], want[64];
	FILE	*fp;
	int	 n = 0;

	if (kind_addr(kind, addr, sizeof(addr)) == -1 ||
	    (fp = fopen(server_log, "r")) == NULL)
		return -1;
	(void)snprintf(want, sizeof(want), "%s ehlo", addr);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, want, strlen(want)) == 0)
			n++;
	(void)fclose(fp);
	return n;
}

/* domain, its one MX host, the server kind behind it, policy mode. */
static const struct {
	const char	*domain, *mx, *kind;
	int		 mode;
} doms[] = {
	{ "good.test", "mx.good.test", "good", MTASTS_MODE_ENFORCE },
	{ "badname.test", "mx.wrongname.test", "wrongname",
	    MTASTS_MODE_ENFORCE },
	{ "selfsigned.test", "mx.selfsigned.test", "selfsigned",
	    MTASTS_MODE_ENFORCE },
	{ "expired.test", "mx.expired.test", "expired", MTASTS_MODE_ENFORCE },
	{ "notls.test", "mx.notls.test", "notls", MTASTS_MODE_ENFORCE },
	{ "tls10.test", "mx.tls10.test", "tls10", MTASTS_MODE_ENFORCE },
	{ "silent.test", "mx.silent.test", "silent", MTASTS_MODE_ENFORCE },
	{ "closed.test", "mx.closed.test", "closed", MTASTS_MODE_ENFORCE },
	{ "shared.test", "mx.shared.test", "expired", MTASTS_MODE_ENFORCE },
	{ "testing.test", "mx.testnotls.test", "notls", MTASTS_MODE_TESTING },
	/* TXT looked up long ago: the failure needs the §5.1 re-check */
	{ "recheck.test", "mx.recheck.test", "wrongname", MTASTS_MODE_ENFORCE },
	{ "recheckfail.test", "mx.recheckfail.test", "wrongname",
	    MTASTS_MODE_ENFORCE },
	{ NULL, NULL, NULL, 0 }
};

static void
write_setup(void)
{
	char		 path[512], addr[32];
	const char	*ca = getenv("MTASTS_TEST_CA");
	FILE		*fp;
	size_t		 i;

	(void)snprintf(path, sizeof(path), "%s/unbound.conf", dir);
	if ((fp = fopen(path, "w")) == NULL)
		die("write", path);
	fprintf(fp, "server:\n\tverbosity: 0\n"
	    "\tlocal-zone: \"test.\" static\n"
	    "\tlocal-zone: \"_mta-sts.recheckfail.test.\" refuse\n");
	for (i = 0; doms[i].domain != NULL; i++) {
		fprintf(fp, "\tlocal-data: \"%s. 300 IN MX 10 %s.\"\n",
		    doms[i].domain, doms[i].mx);
		if (kind_addr(doms[i].kind, addr, sizeof(addr)) == -1)
			die("kind not served", doms[i].kind);
		fprintf(fp, "\tlocal-data: \"%s. 300 IN A %s\"\n",
		    doms[i].mx, addr);
	}
	/* Two MX hosts: one without STARTTLS, one good. */
	(void)kind_addr("notls", addr, sizeof(addr));
	fprintf(fp, "\tlocal-data: \"two.test. 300 IN MX 10 mx.notls.test.\"\n"
	    "\tlocal-data: \"two.test. 300 IN MX 20 mx.good.test.\"\n");
	if (fclose(fp) != 0)
		die("write", path);
	(void)snprintf(path, sizeof(path), "%s/test.conf", dir);
	if ((fp = fopen(path, "w")) == NULL)
		die("write", path);
	fprintf(fp, "Database %s/policies.db\nResolverConfig %s/unbound.conf\n"
	    "CAFile %s\nDnsTimeout 2s\nMxProbe all\nMxProbePort %s\n"
	    "MxProbeTimeout 3s\nMxProbeFailureCacheTime 5m\n"
	    "MxProbeMinInterval 1m\nMxProbeCacheTime 1h\n"
	    "RecheckInterval 5m\n"
	    "DomainFailureAction badname.test:reject, notls.test:bounce, "
	    "recheck.test:reject, recheckfail.test:reject\n",
	    dir, dir, ca, getenv("MTASTS_TEST_PORT"));
	if (fclose(fp) != 0)
		die("write", path);
}

static void
seed_store(void)
{
	struct mtasts_stored_policy	 sp;
	struct mtasts_store		*s;
	struct mtasts_diag		 diag;
	char				 path[512];
	size_t				 i;

	(void)snprintf(path, sizeof(path), "%s/policies.db", dir);
	mtasts_diag_init(&diag);
	if ((s = mtasts_store_open(path, 0, &diag)) == NULL)
		die("store", mtasts_diag_first(&diag));
	for (i = 0; doms[i].domain != NULL; i++) {
		memset(&sp, 0, sizeof(sp));
		(void)snprintf(sp.domain, sizeof(sp.domain), "%s",
		    doms[i].domain);
		(void)snprintf(sp.policy_id, sizeof(sp.policy_id), "p%zu", i);
		sp.mode = doms[i].mode;
		sp.max_age = 86400 * 7;
		sp.mx = (char *)doms[i].mx;
		sp.policy_text = (char *)"";
		sp.fetched_at = T0 - 60;
		sp.txt_checked_at = strncmp(doms[i].domain, "recheck", 7) == 0 ?
		    OLD_CHECK : NEW_CHECK;
		if (mtasts_store_put_policy(s, &sp) != MTASTS_OK)
			die("seed", mtasts_store_errmsg(s));
	}
	memset(&sp, 0, sizeof(sp));
	(void)snprintf(sp.domain, sizeof(sp.domain), "two.test");
	(void)snprintf(sp.policy_id, sizeof(sp.policy_id), "two");
	sp.mode = MTASTS_MODE_ENFORCE;
	sp.max_age = 86400 * 7;
	sp.mx = (char *)"mx.notls.test\nmx.good.test";
	sp.policy_text = (char *)"";
	sp.fetched_at = T0 - 60;
	sp.txt_checked_at = NEW_CHECK;
	if (mtasts_store_put_policy(s, &sp) != MTASTS_OK)
		die("seed", mtasts_store_errmsg(s));
	mtasts_store_close(s);
}

static struct mtasts_config *
load_config(void)
{
	struct mtasts_config	*cfg;
	struct mtasts_diag	 diag;
	char			 path[512];

	(void)snprintf(path, sizeof(path), "%s/test.conf", dir);
	mtasts_diag_init(&diag);
	if ((cfg = mtasts_config_load(path, &diag)) == NULL)
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
	opts.https_port = 9;
	opts.no_refresher = 1;
	mtasts_diag_init(&diag);
	if ((e = mtasts_engine_new(cfg, &opts, &diag)) == NULL)
		die("engine", mtasts_diag_first(&diag));
	return e;
}

static void
verdict(struct mtasts_engine *e, const struct mtasts_config *cfg,
    const char *domain, long budget, struct mtasts_verdict *v)
{
	mtasts_verdict_rcpt(e, cfg, domain, strlen(domain), budget, v);
}

static int
expect(const struct mtasts_verdict *v, enum mtasts_action a,
    const char *reason, const char *probe, const char *detail,
    const char *what)
{
	int	ok;

	ok = v->action == a && strcmp(v->reason, reason) == 0 &&
	    strcmp(v->probe, probe) == 0 && (detail == NULL ||
	    strstr(v->probe_detail, detail) != NULL);
	CHECK(ok, "%s", what);
	if (!ok)
		printf("#   got action=%s reason=%s probe=%s detail=%s "
		    "status=%s\n", mtasts_action_str(v->action), v->reason,
		    v->probe, v->probe_detail, v->status);
	return ok;
}

static void
test_classes(struct mtasts_engine *e, const struct mtasts_config *cfg)
{
	struct mtasts_verdict	 v;
	const char		*tls10 = getenv("MTASTS_TEST_TLS10");

	verdict(e, cfg, "good.test", 8000, &v);
	expect(&v, MTASTS_ACTION_ACCEPT, "mx-match", "pass",
	    "mx.good.test=ok", "STS-48/49: valid TLS 1.2+, name in SAN: accept");
	verdict(e, cfg, "badname.test", 8000, &v);
	expect(&v, MTASTS_ACTION_REJECT, "mx-tls-failed", "tls-fail",
	    "mx.wrongname.test=certificate-host-mismatch",
	    "certificate-host-mismatch: every MX fails, FailureAction reject");
	CHECK(v.smtp_code == 550 && strcmp(v.status, "5.7.5") == 0 &&
	    strstr(v.text, "no MX host offers valid TLS") != NULL,
	    "reject reply 550 5.7.5 names the reason");
	verdict(e, cfg, "selfsigned.test", 8000, &v);
	expect(&v, MTASTS_ACTION_DEFER, "mx-tls-failed", "tls-fail",
	    "=certificate-not-trusted", "self-signed: certificate-not-trusted, "
	    "default FailureAction defer");
	CHECK(v.smtp_code == 451 && strcmp(v.status, "4.7.5") == 0,
	    "defer reply 451 4.7.5");
	verdict(e, cfg, "expired.test", 8000, &v);
	expect(&v, MTASTS_ACTION_DEFER, "mx-tls-failed", "tls-fail",
	    "=certificate-expired", "expired certificate: certificate-expired");
	verdict(e, cfg, "notls.test", 8000, &v);
	expect(&v, MTASTS_ACTION_BOUNCE, "mx-tls-failed", "tls-fail",
	    "=starttls-not-supported", "STS-46: no STARTTLS: "
	    "starttls-not-supported, FailureAction bounce");
	verdict(e, cfg, "tls10.test", 8000, &v);
	if (tls10 != NULL && strcmp(tls10, "TLSv1") == 0)
		expect(&v, MTASTS_ACTION_DEFER, "mx-tls-failed", "tls-fail",
		    "=validation-failure", "STS-40: TLS 1.0 only: "
		    "validation-failure");
	else
		CHECK(v.action == MTASTS_ACTION_DEFER, "TLS 1.0 server not "
		    "TLS 1.0 here (%s): still refused", tls10 ? tls10 : "?");
	verdict(e, cfg, "closed.test", 8000, &v);
	expect(&v, MTASTS_ACTION_ACCEPT, "mx-match:probe-inconclusive",
	    "inconclusive", "=connect", "connection refused proves nothing "
	    "about TLS: accept, the map enforces");
	verdict(e, cfg, "two.test", 8000, &v);
	expect(&v, MTASTS_ACTION_ACCEPT, "mx-match", "pass",
	    "mx.notls.test=starttls-not-supported,mx.good.test=ok",
	    "one MX of two passes: accept");
	verdict(e, cfg, "recheck.test", 8000, &v);
	expect(&v, MTASTS_ACTION_REJECT, "mx-tls-failed", "tls-fail",
	    "=certificate-host-mismatch", "STS-54: TLS fails, TXT re-checked "
	    "(RFC 8461 5.1) and the policy unchanged: then FailureAction reject");
	CHECK(v.rechecked, "... and the verdict says it re-checked");
	verdict(e, cfg, "recheckfail.test", 8000, &v);
	expect(&v, MTASTS_ACTION_DEFER, "mx-tls-failed:recheck-dns-servfail",
	    "tls-fail", NULL, "STS-54: TLS fails but the re-check fails: defer, "
	    "not the configured reject");
	verdict(e, cfg, "testing.test", 8000, &v);
	CHECK(v.action == MTASTS_ACTION_TESTING && v.would_fail &&
	    strcmp(v.reason, "would-fail:mx-tls-failed") == 0,
	    "MxProbe all: a testing policy's failure is recorded only");
}

static void
test_timeout(struct mtasts_engine *e, const struct mtasts_config *cfg)
{
	struct mtasts_verdict	 v;
	int			 i;

	verdict(e, cfg, "silent.test", 300, &v);
	expect(&v, MTASTS_ACTION_ACCEPT, "mx-match:probe-pending", "pending",
	    "mx.silent.test=pending", "probe not done within the budget: "
	    "accept (the map still refuses plaintext)");
	for (i = 0; i < 60; i++) {
		usleep(100000);
		verdict(e, cfg, "silent.test", 0, &v);
		if (strcmp(v.probe, "pending") != 0)
			break;
	}
	expect(&v, MTASTS_ACTION_ACCEPT, "mx-match:probe-inconclusive",
	    "inconclusive", "=timeout", "MxProbeTimeout: class timeout, "
	    "inconclusive");
}

struct racer {
	struct mtasts_engine		*e;
	const struct mtasts_config	*cfg;
	struct mtasts_verdict		 v;
};

static void *
race(void *arg)
{
	struct racer	*r = arg;

	verdict(r->e, r->cfg, "shared.test", 8000, &r->v);
	return NULL;
}

static void
test_sharing(struct mtasts_engine *e, const struct mtasts_config *cfg)
{
	struct mtasts_engine_stats	 st0, st1;
	struct racer			 r[8];
	pthread_t			 t[8];
	int				 i, before, after, all = 1;

	before = ehlos("expired");
	mtasts_engine_stats(e, &st0);
	for (i = 0; i < 8; i++) {
		r[i].e = e;
		r[i].cfg = cfg;
		if (pthread_create(&t[i], NULL, race, &r[i]) != 0)
			die("thread", strerror(errno));
	}
	for (i = 0; i < 8; i++) {
		(void)pthread_join(t[i], NULL);
		all &= r[i].v.action == MTASTS_ACTION_DEFER &&
		    strcmp(r[i].v.probe, "tls-fail") == 0;
	}
	mtasts_engine_stats(e, &st1);
	after = ehlos("expired");
	CHECK(all, "8 recipients at once: all deferred");
	CHECK(st1.probes - st0.probes == 1 && after - before == 1,
	    "8 recipients waiting on one MX share one probe (%llu probe, "
	    "%d connection)", (unsigned long long)(st1.probes - st0.probes),
	    after - before);
	CHECK(st1.probes_shared - st0.probes_shared >= 1,
	    "the waiters were counted as shared");

	before = ehlos("wrongname");
	for (i = 0; i < 20; i++) {
		struct mtasts_verdict	 v;

		verdict(e, cfg, "badname.test", 8000, &v);
		all &= v.action == MTASTS_ACTION_REJECT;
	}
	CHECK(all && ehlos("wrongname") == before, "a failure is not probed "
	    "again for each recipient (20 recipients, 0 connections)");
}

static void
test_lifetime(struct mtasts_engine *e, const struct mtasts_config *cfg)
{
	struct mtasts_verdict	 v;
	int			 before, i, n = 0;

	before = ehlos("wrongname");
	__atomic_store_n(&clock_now, T0 + 301, __ATOMIC_SEQ_CST);
	verdict(e, cfg, "badname.test", 8000, &v);
	CHECK(v.action == MTASTS_ACTION_REJECT, "past its lifetime the old "
	    "result still answers at once");
	for (i = 0; i < 50 && (n = ehlos("wrongname")) == before; i++)
		usleep(100000);
	CHECK(n == before + 1, "... while one new probe runs in the "
	    "background");
	usleep(300000);
	for (i = 0; i < 5; i++)
		verdict(e, cfg, "badname.test", 0, &v);
	CHECK(ehlos("wrongname") == before + 1, "the new result is kept: "
	    "no probe again right away");
}

static int
count_probe(void *arg, const struct mtasts_stored_probe *p)
{
	int	*n = arg;

	if (strcmp(p->host, "mx.wrongname.test") == 0 &&
	    strcmp(p->result_class, "certificate-host-mismatch") == 0 &&
	    strstr(p->cert_names, "mx.other.test") != NULL &&
	    p->expires_at > p->probed_at)
		*n += 1;
	if (strcmp(p->host, "mx.good.test") == 0 &&
	    strcmp(p->result_class, "ok") == 0 && p->tls_version[0] != '\0')
		*n += 10;
	return 0;
}

static void
test_restart(const struct mtasts_config *cfg)
{
	struct mtasts_store	*s;
	struct mtasts_diag	 diag;
	struct mtasts_engine	*e;
	struct mtasts_verdict	 v;
	char			 path[512];
	int			 n = 0, before;

	(void)snprintf(path, sizeof(path), "%s/policies.db", dir);
	mtasts_diag_init(&diag);
	if ((s = mtasts_store_open(path, 1, &diag)) == NULL)
		die("store", mtasts_diag_first(&diag));
	CHECK(mtasts_store_foreach_probe(s, count_probe, &n) == MTASTS_OK &&
	    n == 11, "mx_probes rows: class, SANs, TLS version, lifetime");
	mtasts_store_close(s);

	before = ehlos("good");
	e = start(cfg);
	verdict(e, cfg, "good.test", 8000, &v);
	CHECK(v.action == MTASTS_ACTION_ACCEPT && strcmp(v.probe, "pass") == 0
	    && ehlos("good") == before, "after a restart the stored result "
	    "answers, no new probe");
	mtasts_engine_free(e);
}

int
main(void)
{
	struct mtasts_log_setup	 ls = { "test_mxcheck", 0, LOG_MAIL, 1,
				    LOG_ERR };
	struct mtasts_config	*cfg;
	struct mtasts_engine	*e;
	struct mtasts_diag	 diag;
	const char		*tmp = getenv("TMPDIR");
	const char		*files[] = { "policies.db", "policies.db-wal",
				    "policies.db-shm", "unbound.conf",
				    "test.conf", NULL };
	char			 path[512];
	size_t			 i;

	if (getenv("MTASTS_TEST_PORT") == NULL || getenv("MTASTS_TEST_CA") ==
	    NULL || (server_log = getenv("MTASTS_TEST_SERVER_LOG")) == NULL) {
		printf("1..0 # SKIP run by tests/unit/test_probe.sh\n");
		return 77;
	}
	(void)snprintf(dir, sizeof(dir), "%s/test_mxcheck.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", strerror(errno));
	mtasts_log_init(&ls);
	mtasts_diag_init(&diag);
	if (mtasts_fetch_global_init(&diag) != MTASTS_OK)
		die("curl", mtasts_diag_first(&diag));
	write_setup();
	seed_store();
	cfg = load_config();
	e = start(cfg);
	test_classes(e, cfg);
	test_timeout(e, cfg);
	test_sharing(e, cfg);
	test_lifetime(e, cfg);
	mtasts_engine_free(e);
	test_restart(cfg);
	mtasts_config_free(cfg);
	mtasts_fetch_global_cleanup();
	for (i = 0; files[i] != NULL; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
	return check_done();
}
