/*
 * test_engine.c: the engine's cache rules against real DNS data (libunbound
 * local data) and a real HTTPS server (nginx, started by test_engine.sh),
 * with an injected clock.  Each "restart" builds a new engine on the same
 * SQLite file, with new DNS data where a step needs the TXT record to change.
 *
 * RFC-CHECKLIST items: STS-09 (TXT gone, cache kept), STS-19 (max_age),
 * STS-33 (retry spacing), STS-35 (no policy without cache), STS-36 (failed
 * refresh keeps the cached policy), STS-37 (refresh before expiry), STS-59
 * (id change triggers a fetch; unchanged id none), STS-61 (none cached).
 */
#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "engine.h"
#include "fetch.h"
#include "log.h"
#include "store.h"

static const char	*dir;
static int		 port;
static int64_t		 clock_now = 1800000000;	/* 2027-01-15 */

static int64_t
fake_now(void *arg)
{
	(void)arg;
	return __atomic_load_n(&clock_now, __ATOMIC_SEQ_CST);
}

static void
set_now(int64_t t)
{
	__atomic_store_n(&clock_now, t, __ATOMIC_SEQ_CST);
}

static void
write_file(const char *name, const char *text)
{
	char	 path[512];
	FILE	*fp;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(99);
	}
}

static void
remove_file(const char *name)
{
	char	path[512];

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	(void)unlink(path);
}

/*
 * DNS for one step: every test domain's _mta-sts TXT (with the given ids;
 * NULL for none) and mta-sts.<d> A records.  Nothing leaves the host.
 */
static void
write_dns(const char *enforce_id)
{
	char	buf[4096];
	size_t	n = 0;

#define ADD(...) n += (size_t)snprintf(buf + n, sizeof(buf) - n, __VA_ARGS__)
	ADD("server:\n\tverbosity: 0\n"
	    "\tdo-not-query-address: 0.0.0.0/0\n"
	    "\tdo-not-query-address: ::/0\n"
	    "\tlocal-zone: \"test.\" static\n");
	if (enforce_id != NULL)
		ADD("\tlocal-data: '_mta-sts.enforce.test. 300 IN TXT "
		    "\"v=STSv1; id=%s\"'\n", enforce_id);
	ADD("\tlocal-data: '_mta-sts.none.test. 300 IN TXT \"v=STSv1; "
	    "id=n1\"'\n");
	ADD("\tlocal-data: '_mta-sts.notfound.test. 300 IN TXT \"v=STSv1; "
	    "id=nf1\"'\n");
	ADD("\tlocal-data: '_mta-sts.stall.test. 300 IN TXT \"v=STSv1; "
	    "id=s1\"'\n");
	ADD("\tlocal-data: '_mta-sts.crowd.test. 300 IN TXT \"v=STSv1; "
	    "id=c1\"'\n");
	ADD("\tlocal-data: '_mta-sts.twotxt.test. 300 IN TXT \"v=STSv1; "
	    "id=a\"'\n");
	ADD("\tlocal-data: '_mta-sts.twotxt.test. 300 IN TXT \"v=STSv1; "
	    "id=b\"'\n");
	ADD("\tlocal-data: \"mta-sts.enforce.test. 300 IN A 127.0.0.1\"\n");
	ADD("\tlocal-data: \"mta-sts.none.test. 300 IN A 127.0.0.1\"\n");
	ADD("\tlocal-data: \"mta-sts.notfound.test. 300 IN A 127.0.0.1\"\n");
	ADD("\tlocal-data: \"mta-sts.crowd.test. 300 IN A 127.0.0.1\"\n");
	ADD("\tlocal-data: \"mta-sts.stall.test. 300 IN A 127.0.0.2\"\n");
#undef ADD
	write_file("unbound.conf", buf);
}

static struct mtasts_config *
make_config(void)
{
	struct mtasts_config	*cfg;
	struct mtasts_diag	 diag;
	char			 text[2048];

	(void)snprintf(text, sizeof(text),
	    "Database %s/policies.db\n"
	    "ResolverConfig %s/unbound.conf\n"
	    "CAFile %s/ca.pem\n"
	    "DnsTimeout 2s\n"
	    "HttpsConnectTimeout 2s\n"
	    "HttpsTimeout 3s\n"
	    "TxtRecheckInterval 1h\n"
	    "RefreshInterval 1d\n"
	    "NegativeCacheTime 30m\n"
	    "FetchRetryInterval 5m\n", dir, dir, dir);
	mtasts_diag_init(&diag);
	if ((cfg = mtasts_config_parse(text, strlen(text), "test", &diag)) ==
	    NULL) {
		fprintf(stderr, "config: %s\n", mtasts_diag_first(&diag));
		exit(99);
	}
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
	opts.https_port = port;
	opts.no_refresher = 1;	/* scans would race the steps below */
	mtasts_diag_init(&diag);
	if ((e = mtasts_engine_new(cfg, &opts, &diag)) == NULL) {
		fprintf(stderr, "engine: %s\n", mtasts_diag_first(&diag));
		exit(99);
	}
	return e;
}

static uint64_t
fetches(struct mtasts_engine *e)
{
	struct mtasts_engine_stats	st;

	mtasts_engine_stats(e, &st);
	return st.fetches;
}

/* Wait (bounded) until no discovery is running. */
static void
settle(struct mtasts_engine *e)
{
	struct mtasts_engine_stats	st;
	int				i;

	for (i = 0; i < 200; i++) {
		mtasts_engine_stats(e, &st);
		if (st.discoveries == 0)
			return;
		usleep(25000);
	}
}

static const char enforce_v1[] =
    "version: STSv1\nmode: enforce\nmx: mx1.enforce.test\n"
    "mx: *.mx.enforce.test\nmax_age: 86400\n";
static const char testing_v2[] =
    "version: STSv1\nmode: testing\nmx: mx9.enforce.test\nmax_age: 604800\n";

struct crowd {
	struct mtasts_engine	*e;
	enum mtasts_status	 st;
};

static void *
crowd_lookup(void *arg)
{
	struct crowd		*c = arg;
	struct mtasts_answer	 a;

	c->st = mtasts_engine_lookup(c->e, "crowd.test", 5000, &a);
	mtasts_answer_clear(&a);
	return NULL;
}

int
main(void)
{
	struct mtasts_config		*cfg;
	struct mtasts_engine		*e;
	struct mtasts_answer		 a;
	struct mtasts_store		*s;
	struct mtasts_stored_policy	 sp;
	struct mtasts_diag		 diag;
	struct mtasts_log_setup		 ls = { "test_engine", 0, LOG_MAIL, 1,
					    LOG_WARNING };
	struct crowd			 crowd[8];
	pthread_t			 th[8];
	uint64_t			 f0;
	int64_t				 t0 = 1800000000, t1;
	size_t				 i;
	const char			*p;

	if ((dir = getenv("MTASTS_TEST_DIR")) == NULL ||
	    (p = getenv("MTASTS_TEST_PORT")) == NULL) {
		printf("1..0 # SKIP run through test_engine.sh\n");
		return 77;
	}
	port = (int)strtol(p, NULL, 10);
	mtasts_log_init(&ls);
	mtasts_diag_init(&diag);
	if (mtasts_fetch_global_init(&diag) != MTASTS_OK)
		return 99;
	write_file("www/enforce/mta-sts.txt", enforce_v1);
	write_file("www/none/mta-sts.txt", "version: STSv1\nmode: none\n"
	    "max_age: 86400\n");
	write_file("www/crowd/mta-sts.txt", enforce_v1);
	write_dns("e1");
	cfg = make_config();

	/* --- first contact: discovery, then answers from memory */
	set_now(t0);
	e = start(cfg);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 5000, &a) == MTASTS_OK,
	    "enforce.test: policy discovered within the budget");
	CHECK(a.mode == MTASTS_MODE_ENFORCE && strcmp(a.id, "e1") == 0 &&
	    a.nmx == 2, "enforce.test: mode enforce, id e1, two mx");
	CHECK_STREQ(mtasts_answer_mx(&a, 1), "*.mx.enforce.test",
	    "enforce.test: wildcard pattern kept");
	CHECK(a.expires_at == t0 + 86400, "STS-19: expires at fetch + max_age");
	mtasts_answer_clear(&a);
	f0 = fetches(e);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) == MTASTS_OK &&
	    fetches(e) == f0, "second lookup answered from memory, no fetch");
	mtasts_answer_clear(&a);

	CHECK(mtasts_engine_lookup(e, "nopolicy.test", 5000, &a) ==
	    MTASTS_NOPOLICY && strcmp(a.reason, "no-txt") == 0,
	    "no TXT record: no policy (no-txt)");
	mtasts_answer_clear(&a);
	CHECK(mtasts_engine_lookup(e, "twotxt.test", 5000, &a) ==
	    MTASTS_NOPOLICY && strcmp(a.reason, "multi-txt") == 0,
	    "STS-07: two v=STSv1 records: no policy (multi-txt)");
	mtasts_answer_clear(&a);
	{
		/*
		 * A valid 245-octet domain whose _mta-sts name would pass
		 * 253 octets: no such TXT record can exist, so it has no
		 * policy, rather than an engine error and a deferral.
		 */
		char	longdom[256];

		memset(longdom, 0, sizeof(longdom));
		for (i = 0; i < 4; i++) {
			memset(longdom + i * 61, 'a' + (int)i, 60);
			longdom[i * 61 + 60] = '.';
		}
		memcpy(longdom + 244, "t", 2);
		CHECK(strlen(longdom) == 245, "long domain: 245 octets");
		CHECK(mtasts_engine_lookup(e, longdom, 5000, &a) ==
		    MTASTS_NOPOLICY && strcmp(a.reason, "no-txt") == 0,
		    "STS-02: _mta-sts name over 253 octets: no policy (no-txt)");
		mtasts_answer_clear(&a);
	}

	CHECK(mtasts_engine_lookup(e, "none.test", 5000, &a) == MTASTS_OK &&
	    a.mode == MTASTS_MODE_NONE, "STS-61: mode none is cached");
	mtasts_answer_clear(&a);

	/* --- failed fetch: negative cache and retry spacing */
	f0 = fetches(e);
	CHECK(mtasts_engine_lookup(e, "notfound.test", 5000, &a) ==
	    MTASTS_NOPOLICY && strcmp(a.reason, "http-status") == 0,
	    "STS-35: 404 and nothing cached: no policy (http-status)");
	mtasts_answer_clear(&a);
	CHECK(fetches(e) == f0 + 1, "one fetch for the 404 domain");
	CHECK(mtasts_engine_lookup(e, "notfound.test", 5000, &a) ==
	    MTASTS_NOPOLICY && fetches(e) == f0 + 1,
	    "negative result answered from memory, no new fetch");
	mtasts_answer_clear(&a);
	set_now(t0 + 299);
	CHECK(mtasts_engine_lookup(e, "notfound.test", 5000, &a) ==
	    MTASTS_NOPOLICY && fetches(e) == f0 + 1,
	    "STS-33: no retry for the same id within 5 minutes");
	mtasts_answer_clear(&a);
	set_now(t0 + 301);
	(void)mtasts_engine_lookup(e, "notfound.test", 5000, &a);
	mtasts_answer_clear(&a);
	CHECK(fetches(e) == f0 + 2, "STS-33: retried after 5 minutes");

	/* --- many callers, one discovery */
	f0 = fetches(e);
	for (i = 0; i < 8; i++) {
		crowd[i].e = e;
		pthread_create(&th[i], NULL, crowd_lookup, &crowd[i]);
	}
	for (i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 8 && crowd[i].st == MTASTS_OK; i++)
		;
	CHECK(i == 8, "8 concurrent callers all get the policy");
	CHECK(fetches(e) == f0 + 1, "8 concurrent callers share one fetch");

	/* --- a stalled policy host holds nobody else up */
	set_now(t0);
	CHECK(mtasts_engine_lookup(e, "stall.test", 200, &a) ==
	    MTASTS_TEMPFAIL && a.pending,
	    "stalled host: pending when the budget runs out");
	mtasts_answer_clear(&a);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) == MTASTS_OK,
	    "other domains answered while the stall goes on");
	mtasts_answer_clear(&a);
	CHECK(mtasts_engine_lookup(e, "stall.test", 5000, &a) ==
	    MTASTS_NOPOLICY && strcmp(a.reason, "timeout") == 0,
	    "stalled host: timeout class after HttpsTimeout");
	mtasts_answer_clear(&a);
	mtasts_engine_free(e);

	/* --- restart: policies come back from SQLite without a lookup */
	e = start(cfg);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) == MTASTS_OK &&
	    strcmp(a.id, "e1") == 0 && fetches(e) == 0,
	    "policy persists across a restart");
	mtasts_answer_clear(&a);
	CHECK(mtasts_engine_lookup(e, "nopolicy.test", 0, &a) ==
	    MTASTS_NOPOLICY, "negative result persists across a restart");
	mtasts_answer_clear(&a);
	mtasts_engine_free(e);

	/* --- STS-09: the TXT record disappears; the policy stays */
	write_dns(NULL);
	set_now(t0 + 3601);
	e = start(cfg);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) == MTASTS_OK,
	    "TXT re-check due: answered from the cache at once");
	mtasts_answer_clear(&a);
	settle(e);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) == MTASTS_OK &&
	    strcmp(a.id, "e1") == 0 && fetches(e) == 0,
	    "STS-09: TXT gone, cached policy kept until it expires");
	mtasts_answer_clear(&a);
	mtasts_engine_free(e);

	/* --- STS-59: a new id means a new policy */
	write_dns("e2");
	write_file("www/enforce/mta-sts.txt", testing_v2);
	set_now(t0 + 2 * 3601);
	e = start(cfg);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) == MTASTS_OK &&
	    strcmp(a.id, "e1") == 0, "old policy served while re-checking");
	mtasts_answer_clear(&a);
	settle(e);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) == MTASTS_OK &&
	    strcmp(a.id, "e2") == 0 && a.mode == MTASTS_MODE_TESTING &&
	    a.expires_at == t0 + 2 * 3601 + 604800,
	    "STS-59: id changed: new policy fetched (testing, new max_age)");
	mtasts_answer_clear(&a);
	f0 = fetches(e);
	CHECK(mtasts_engine_refresh(e, "enforce.test", 0, 5000, &a) ==
	    MTASTS_OK && fetches(e) == f0, "STS-59: unchanged id: no fetch");
	mtasts_answer_clear(&a);

	/* --- STS-36: a failed refresh keeps the cached policy */
	write_file("www/enforce/mta-sts.txt", testing_v2);
	remove_file("www/enforce/mta-sts.txt");
	CHECK(mtasts_engine_refresh(e, "enforce.test", 1, 5000, &a) ==
	    MTASTS_OK && strcmp(a.id, "e2") == 0 && fetches(e) == f0 + 1,
	    "STS-36: forced refresh fails (404), cached policy kept");
	mtasts_answer_clear(&a);
	mtasts_engine_free(e);
	mtasts_diag_init(&diag);
	s = mtasts_store_open(cfg->database, 1, &diag);
	CHECK(s != NULL && mtasts_store_get_policy(s, "enforce.test", &sp) ==
	    MTASTS_OK && strcmp(sp.last_error_class, "http-status") == 0 &&
	    sp.next_retry_at == t0 + 2 * 3601 + 300,
	    "store: policy kept with its error and retry time");
	mtasts_stored_policy_clear(&sp);
	mtasts_store_close(s);

	/* --- STS-37: refresh before expiry; STS-19: never past it */
	write_file("www/enforce/mta-sts.txt", testing_v2);
	t1 = t0 + 2 * 3601 + 86400 + 1;	/* RefreshInterval passed */
	set_now(t1);
	e = start(cfg);
	f0 = fetches(e);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) == MTASTS_OK,
	    "refresh due: cached answer at once");
	mtasts_answer_clear(&a);
	settle(e);
	CHECK(fetches(e) == f0 + 1, "STS-37: background refetch, same id");
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) == MTASTS_OK &&
	    a.fetched_at == t1, "STS-37: refetch moved fetched_at");
	mtasts_answer_clear(&a);
	remove_file("www/enforce/mta-sts.txt");
	set_now(t1 + 604800);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 5000, &a) ==
	    MTASTS_NOPOLICY && strcmp(a.reason, "http-status") == 0,
	    "STS-19/35: expired and unfetchable: no policy");
	mtasts_answer_clear(&a);
	/* The negative result runs out (FetchRetryInterval): the map server
	 * (budget 0) keeps "no policy" while it is checked again. */
	set_now(t1 + 604800 + 301);
	f0 = fetches(e);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) ==
	    MTASTS_NOPOLICY && a.pending && strcmp(a.reason, "http-status") == 0,
	    "expired negative: last answer at once, re-check under way");
	mtasts_answer_clear(&a);
	settle(e);
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) ==
	    MTASTS_NOPOLICY && !a.pending && fetches(e) == f0 + 1,
	    "expired negative: re-checked (fetched again), fresh answer");
	mtasts_answer_clear(&a);

	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) ==
	    MTASTS_NOPOLICY, "before forget: negative result in memory");
	mtasts_answer_clear(&a);
	mtasts_engine_forget(e, "enforce.test");
	CHECK(mtasts_engine_lookup(e, "enforce.test", 0, &a) ==
	    MTASTS_TEMPFAIL && a.pending, "forget drops the memory entry");
	mtasts_answer_clear(&a);
	mtasts_engine_free(e);
	mtasts_diag_init(&diag);
	s = mtasts_store_open(cfg->database, 1, &diag);
	CHECK(s != NULL && mtasts_store_get_policy(s, "enforce.test", &sp) ==
	    MTASTS_NOPOLICY, "forget removed the stored policy");
	mtasts_store_close(s);

	mtasts_config_free(cfg);
	mtasts_fetch_global_cleanup();
	return check_done();
}
