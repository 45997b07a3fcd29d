/*
 * test_fetch.c: the policy fetcher against real servers on 127.0.0.1.
 *
 * tests/unit/test_fetch.sh starts them (nginx with a private CA, a python3
 * TLS server that never answers, a python3 CONNECT proxy that logs its
 * requests) and passes their ports in the environment.  Run alone, without that environment, only the offline
 * checks run.
 */
#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "log.h"
#include "check.h"

#define TEST_MAX_SIZE	65536

/* What a callback saw, copied out of the borrowed result. */
struct seen {
	int			 calls;
	enum mtasts_fetch_class	 cls;
	long			 http_status;
	char			 content_type[128];
	char			 location[256];
	char			 error[256];
	char			 ip[64];
	char			 tls[16];
	char			 subject[256];
	char			 body[64];
	size_t			 body_len;
	struct mtasts_policy	 policy;	/* stolen from the result */
};

static void
record(void *arg, const struct mtasts_fetch_result *r)
{
	struct seen *s = arg;

	s->calls++;
	s->cls = r->cls;
	s->http_status = r->http_status;
	(void)snprintf(s->content_type, sizeof(s->content_type), "%s",
	    r->content_type ? r->content_type : "");
	(void)snprintf(s->location, sizeof(s->location), "%s",
	    r->location ? r->location : "");
	(void)snprintf(s->error, sizeof(s->error), "%s", r->error);
	(void)snprintf(s->ip, sizeof(s->ip), "%s", r->primary_ip);
	(void)snprintf(s->tls, sizeof(s->tls), "%s", r->tls_version);
	(void)snprintf(s->subject, sizeof(s->subject), "%s",
	    r->cert_subject ? r->cert_subject : "");
	(void)snprintf(s->body, sizeof(s->body), "%.*s",
	    (int)(r->body_len < 63 ? r->body_len : 63), r->body);
	s->body_len = r->body_len;
	if (r->policy != NULL) {
		/* Take the policy, as the engine's cache will. */
		s->policy = *r->policy;
		memset(r->policy, 0, sizeof(*r->policy));
	}
}

/* Log lines, captured. */
static char	log_lines[64][512];
static size_t	log_count;

static void
log_sink(int prio, const char *line, void *arg)
{
	if (prio <= LOG_INFO && log_count < 64)
		(void)snprintf(log_lines[log_count++], sizeof(log_lines[0]),
		    "%s", line);
}

static int
logged(const char *a, const char *b)
{
	size_t	i;

	for (i = 0; i < log_count; i++)
		if (strstr(log_lines[i], a) && strstr(log_lines[i], b))
			return 1;
	return 0;
}

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Drive the fetcher until nothing is running, at most limit_ms. */
static void
run(struct mtasts_fetcher *f, long limit_ms)
{
	uint64_t	end = now_ms() + (uint64_t)limit_ms;

	while (mtasts_fetcher_running(f) > 0 && now_ms() < end) {
		(void)mtasts_fetcher_poll(f, NULL, 0, 100, NULL);
		(void)mtasts_fetcher_perform(f);
	}
}

static struct mtasts_fetcher *
fetcher(const char *port_env, const char *ca)
{
	struct mtasts_fetch_conf	conf;
	struct mtasts_diag		diag;
	struct mtasts_fetcher		*f;

	memset(&conf, 0, sizeof(conf));
	conf.ca_file = ca;
	conf.connect_timeout_ms = 1000;
	conf.total_timeout_ms = 2000;
	conf.max_size = TEST_MAX_SIZE;
	conf.port = port_env ? (int)strtol(getenv(port_env), NULL, 10) : 0;
	mtasts_diag_init(&diag);
	if ((f = mtasts_fetcher_new(&conf, &diag)) == NULL)
		printf("# fetcher: %s\n", mtasts_diag_first(&diag));
	return f;
}

static const char *const loopback[] = { "127.0.0.1" };

static const struct http_case {
	const char		*domain;
	enum mtasts_fetch_class	 cls;
	long			 status;	/* -1: don't care */
	const char		*in_error;	/* NULL: don't care */
} http_cases[] = {
	{ "good.test", MTASTS_FETCH_OK, 200, NULL },
	{ "charset.test", MTASTS_FETCH_OK, 200, NULL },
	{ "wildcard.test", MTASTS_FETCH_OK, 200, NULL },
	{ "notfound.test", MTASTS_FETCH_HTTP_STATUS, 404, "404" },
	{ "redirect.test", MTASTS_FETCH_HTTP_STATUS, 301,
	    "https://elsewhere.test/" },
	{ "html.test", MTASTS_FETCH_MEDIA_TYPE, 200, "text/html" },
	{ "big.test", MTASTS_FETCH_SIZE, 200, "Content-Length" },
	{ "chunked.test", MTASTS_FETCH_SIZE, 200, "limit" },
	{ "invalid.test", MTASTS_FETCH_PARSE, 200, "policy:" },
	{ "expired.test", MTASTS_FETCH_CERTIFICATE, 0, "expired" },
	{ "wrongname.test", MTASTS_FETCH_CERTIFICATE, 0, NULL },
	{ "selfsigned.test", MTASTS_FETCH_CERTIFICATE, 0, NULL },
	{ "partial.test", MTASTS_FETCH_CERTIFICATE, 0, NULL },
	{ "cnonly.test", MTASTS_FETCH_CERTIFICATE, 0, "subjectAltName" },
	{ "unknown.test", MTASTS_FETCH_CERTIFICATE, 0, NULL },
};
#define NCASES	(sizeof(http_cases) / sizeof(http_cases[0]))

static void
test_nginx(const char *ca)
{
	struct mtasts_fetcher	*f;
	struct seen		 seen[NCASES], cancelled;
	unsigned int		 fid;
	size_t			 i;

	if ((f = fetcher("MTASTS_TEST_TLS_PORT", ca)) == NULL) {
		CHECK(0, "fetcher for nginx");
		return;
	}
	memset(seen, 0, sizeof(seen));
	memset(&cancelled, 0, sizeof(cancelled));
	/* All at once: one loop drives every transfer. */
	for (i = 0; i < NCASES; i++)
		CHECK(mtasts_fetch_start(f, http_cases[i].domain, loopback, 1,
		    i == 0, record, &seen[i], NULL) == MTASTS_OK,
		    "start %s", http_cases[i].domain);
	CHECK(mtasts_fetch_start(f, "good.test", loopback, 1, 0, record,
	    &cancelled, &fid) == MTASTS_OK && fid != 0, "start, to cancel");
	mtasts_fetch_cancel(f, fid);
	CHECK(mtasts_fetcher_running(f) == NCASES, "cancelled one is gone");
	run(f, 5000);
	for (i = 0; i < NCASES; i++) {
		const struct http_case	*c = &http_cases[i];
		const struct seen	*s = &seen[i];

		CHECK(s->calls == 1 && s->cls == c->cls &&
		    (c->status == -1 || s->http_status == c->status),
		    "%s: %s", c->domain, mtasts_fetch_class_str(c->cls));
		if (s->cls != c->cls || (c->status != -1 &&
		    s->http_status != c->status))
			printf("#   got %s status %ld: %s\n",
			    mtasts_fetch_class_str(s->cls), s->http_status,
			    s->error);
		if (c->in_error != NULL) {
			CHECK(strstr(s->error, c->in_error) != NULL,
			    "%s: reason mentions \"%s\"", c->domain,
			    c->in_error);
			printf("#   %s\n", s->error);
		}
	}
	CHECK(cancelled.calls == 0, "cancelled fetch did not call back");

	/* The good one, in detail. */
	CHECK(seen[0].policy.mode == MTASTS_MODE_ENFORCE &&
	    seen[0].policy.nmx == 1, "good: policy parsed and taken");
	mtasts_policy_clear(&seen[0].policy);
	mtasts_policy_clear(&seen[1].policy);
	mtasts_policy_clear(&seen[2].policy);
	CHECK(strncmp(seen[0].content_type, "text/plain", 10) == 0,
	    "good: content type");
	CHECK(strncmp(seen[0].body, "version: STSv1", 14) == 0,
	    "good: body");
	CHECK_STREQ(seen[0].ip, "127.0.0.1", "good: primary ip");
	CHECK(strncmp(seen[0].tls, "TLSv1.", 6) == 0 &&
	    strcmp(seen[0].tls, "TLSv1.1") != 0, "good: TLS 1.2 or newer");
	CHECK(strstr(seen[0].subject, "mta-sts.good.test") != NULL,
	    "good: certinfo subject");
	printf("#   tls %s, subject %s\n", seen[0].tls, seen[0].subject);
	CHECK(strstr(seen[1].content_type, "charset") != NULL,
	    "charset parameter was sent and ignored");
	CHECK(strcmp(seen[3].subject, "") == 0, "certinfo only when asked");
	CHECK(seen[6].body_len <= TEST_MAX_SIZE &&
	    seen[7].body_len <= TEST_MAX_SIZE, "size: body stays capped");
	CHECK(logged("domain=notfound.test", "result=http-status"),
	    "result logged with the domain and class");
	CHECK(logged("domain=good.test", "result=ok"), "ok logged");
	mtasts_fetcher_free(f);
}

static void
test_one(const char *what, const char *port_env, const char *ca,
    const char *const *addrs, size_t naddrs, enum mtasts_fetch_class want)
{
	struct mtasts_fetcher	*f;
	struct seen		 s;
	uint64_t		 t0 = now_ms();

	if ((f = fetcher(port_env, ca)) == NULL) {
		CHECK(0, "%s: fetcher", what);
		return;
	}
	memset(&s, 0, sizeof(s));
	if (mtasts_fetch_start(f, "good.test", addrs, naddrs, 0, record, &s,
	    NULL) != MTASTS_OK) {
		CHECK(0, "%s: start", what);
		mtasts_fetcher_free(f);
		return;
	}
	run(f, 5000);
	CHECK(s.calls == 1 && s.cls == want, "%s: %s", what,
	    mtasts_fetch_class_str(want));
	printf("#   got %s in %llu ms: %s\n", mtasts_fetch_class_str(s.cls),
	    (unsigned long long)(now_ms() - t0), s.error);
	mtasts_policy_clear(&s.policy);
	mtasts_fetcher_free(f);
}

/* Through an HTTP CONNECT proxy, which must be asked for our address. */
static void
test_proxy(const char *ca, const char *port, const char *logfile)
{
	struct mtasts_fetch_conf	 conf;
	struct mtasts_fetcher		*f;
	struct seen			 s;
	char				 proxy[64], line[256];
	FILE				*fp;
	int				 by_ip = 0, by_name = 0;

	(void)snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%s", port);
	memset(&conf, 0, sizeof(conf));
	conf.ca_file = ca;
	conf.proxy = proxy;
	conf.total_timeout_ms = 2000;
	conf.port = (int)strtol(getenv("MTASTS_TEST_TLS_PORT"), NULL, 10);
	if ((f = mtasts_fetcher_new(&conf, NULL)) == NULL) {
		CHECK(0, "proxy: fetcher");
		return;
	}
	memset(&s, 0, sizeof(s));
	(void)mtasts_fetch_start(f, "good.test", loopback, 1, 0, record, &s,
	    NULL);
	run(f, 5000);
	CHECK(s.calls == 1 && s.cls == MTASTS_FETCH_OK, "proxy: ok");
	mtasts_policy_clear(&s.policy);
	memset(&s, 0, sizeof(s));
	(void)mtasts_fetch_start(f, "cnonly.test", loopback, 1, 0, record, &s,
	    NULL);
	run(f, 5000);
	CHECK(s.calls == 1 && s.cls == MTASTS_FETCH_CERTIFICATE,
	    "proxy: certificate still checked for mta-sts.<domain>");
	mtasts_fetcher_free(f);
	if ((fp = fopen(logfile, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (strncmp(line, "CONNECT 127.0.0.1:", 18) == 0)
				by_ip++;
			if (strstr(line, "mta-sts.") != NULL)
				by_name++;
		}
		(void)fclose(fp);
	}
	CHECK(by_ip == 2 && by_name == 0,
	    "proxy: CONNECT names our address, never the host");
}

static void *
wake_later(void *arg)
{
	struct mtasts_fetcher *f = arg;

	(void)usleep(100000);
	mtasts_fetcher_wakeup(f);
	return NULL;
}

static void
test_offline(void)
{
	struct mtasts_fetch_conf	 conf;
	struct mtasts_diag		 diag;
	struct mtasts_fetcher		*f;
	struct seen			 s;
	pthread_t			 th;
	uint64_t			 t0;
	static const char *const	 bad[] = { "mta-sts.good.test",
					    "1.2.3", "" };
	static const char *const	 names[] = { "ok", "dns", "connect",
	    "tls", "certificate", "http-status", "media-type", "size",
	    "timeout", "parse", "internal" };
	size_t				 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_STREQ(mtasts_fetch_class_str((enum mtasts_fetch_class)i),
		    names[i], names[i]);

	memset(&conf, 0, sizeof(conf));
	conf.proxy = "http://proxy.example:3128";
	mtasts_diag_init(&diag);
	CHECK(mtasts_fetcher_new(&conf, &diag) == NULL &&
	    strstr(mtasts_diag_first(&diag), "IP address"),
	    "proxy by name refused");
	conf.proxy = "socks5://127.0.0.1:1080";
	CHECK(mtasts_fetcher_new(&conf, NULL) == NULL, "socks proxy refused");
	conf.proxy = "http://[::1]:3128";
	f = mtasts_fetcher_new(&conf, NULL);
	CHECK(f != NULL, "proxy by IPv6 address accepted");
	mtasts_fetcher_free(f);
	conf.proxy = "127.0.0.1:3128";
	f = mtasts_fetcher_new(&conf, NULL);
	CHECK(f != NULL, "proxy without scheme accepted");
	mtasts_fetcher_free(f);

	if ((f = mtasts_fetcher_new(NULL, NULL)) == NULL) {
		CHECK(0, "default fetcher");
		return;
	}
	CHECK(mtasts_fetch_start(f, "bad/domain", loopback, 1, 0, record, &s,
	    NULL) == MTASTS_INVALID, "domain with a slash refused");
	CHECK(mtasts_fetch_start(f, "a..test", loopback, 1, 0, record, &s,
	    NULL) == MTASTS_INVALID, "domain with an empty label refused");
	CHECK(mtasts_fetch_start(f, "good.test:99", loopback, 1, 0, record,
	    &s, NULL) == MTASTS_INVALID, "domain with a port refused");
	CHECK(mtasts_fetch_start(f, "-a.test", loopback, 1, 0, record, &s,
	    NULL) == MTASTS_INVALID, "label starting with '-' refused");

	/* No address, or only unusable ones: "dns", from perform(). */
	memset(&s, 0, sizeof(s));
	CHECK(mtasts_fetch_start(f, "good.test", NULL, 0, 0, record, &s,
	    NULL) == MTASTS_OK && s.calls == 0, "no address: no callback yet");
	run(f, 1000);
	CHECK(s.calls == 1 && s.cls == MTASTS_FETCH_DNS, "no address: dns");
	memset(&s, 0, sizeof(s));
	(void)mtasts_fetch_start(f, "good.test", bad, 3, 0, record, &s, NULL);
	run(f, 1000);
	CHECK(s.calls == 1 && s.cls == MTASTS_FETCH_DNS,
	    "names or garbage instead of addresses: dns");

	/* Another thread ends a long poll. */
	t0 = now_ms();
	if (pthread_create(&th, NULL, wake_later, f) == 0) {
		(void)mtasts_fetcher_poll(f, NULL, 0, 5000, NULL);
		CHECK(now_ms() - t0 < 2500, "wakeup ends poll early");
		(void)pthread_join(th, NULL);
	}
	mtasts_fetcher_free(f);
}

int
main(void)
{
	struct mtasts_diag	 diag;
	const char		*ca = getenv("MTASTS_TEST_CA");
	static const char *const v6first[] = { "::1", "127.0.0.1" };

	mtasts_diag_init(&diag);
	if (mtasts_fetch_global_init(&diag) != MTASTS_OK) {
		printf("# %s\n", mtasts_diag_first(&diag));
		CHECK(0, "global init");
		return check_done();
	}
	mtasts_log_set_sink(log_sink, NULL);
	test_offline();
	if (ca == NULL || getenv("MTASTS_TEST_TLS_PORT") == NULL ||
	    getenv("MTASTS_TEST_PLAIN_PORT") == NULL ||
	    getenv("MTASTS_TEST_STALL_PORT") == NULL ||
	    getenv("MTASTS_TEST_CLOSED_PORT") == NULL)
		printf("# no servers: run tests/unit/test_fetch.sh\n");
	else {
		test_nginx(ca);
		test_one("closed port", "MTASTS_TEST_CLOSED_PORT", ca,
		    loopback, 1, MTASTS_FETCH_CONNECT);
		test_one("plain HTTP server", "MTASTS_TEST_PLAIN_PORT", ca,
		    loopback, 1, MTASTS_FETCH_TLS);
		test_one("server never answers", "MTASTS_TEST_STALL_PORT", ca,
		    loopback, 1, MTASTS_FETCH_TIMEOUT);
		test_one("::1 refused, then 127.0.0.1", "MTASTS_TEST_TLS_PORT",
		    ca, v6first, 2, MTASTS_FETCH_OK);
		test_one("no CA file", "MTASTS_TEST_TLS_PORT",
		    "/nonexistent/ca.pem", loopback, 1,
		    MTASTS_FETCH_INTERNAL);
		if (getenv("MTASTS_TEST_PROXY_PORT") != NULL &&
		    getenv("MTASTS_TEST_PROXY_LOG") != NULL)
			test_proxy(ca, getenv("MTASTS_TEST_PROXY_PORT"),
			    getenv("MTASTS_TEST_PROXY_LOG"));
		else
			CHECK(0, "proxy test environment");
	}
	mtasts_log_set_sink(NULL, NULL);
	mtasts_fetch_global_cleanup();
	return check_done();
}
