/*
 * test_probe.c: the MX STARTTLS probe against real SMTP servers on
 * loopback.
 *
 * tests/unit/test_probe.sh starts one python3 server process that listens
 * on one port at 127.0.0.2, 127.0.0.3, ..., each address with its own
 * behaviour, and passes the port, the order of the behaviours, the CA and
 * the server's log in the environment.  All probes run at once through one
 * prober, driven by poll(2) the way the engine drives it through
 * curl_multi_poll (only POLLIN, POLLOUT and POLLPRI are reported back, as
 * curl does).  Run alone, without that environment, only the offline checks
 * run.
 */
#include <config.h>

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe.h"
#include "check.h"

#define MAX_WFD		64
#define HELO		"client.probe.test"

struct pcase {
	const char		*kind;
	const char		*host;
	enum mtasts_probe_class	 want;
	const char		*tls;		/* version, "" none, NULL any */
	const char		*detail;	/* substring, or NULL */
	long			 verify;	/* X509_V_ERR_*, -1 any */
	int			 sni;		/* server must log our SNI */
	int			 quit;		/* server must log QUIT */
};

/* What the callback of each case saw, and where it probed. */
struct seen {
	int			 calls;
	char			 addr[64];
	struct mtasts_probe_result res;
};

static const struct pcase cases[] = {
	{ "good", "mx.good.test", MTASTS_PROBE_OK, "TLSv1.3", NULL, 0, 1, 1 },
	{ "good", "MX2.Good.Test.", MTASTS_PROBE_OK, "TLSv1.3", NULL, 0, 1,
	    1 },
	{ "wrongname", "mx.good.test", MTASTS_PROBE_HOST_MISMATCH, "TLSv1.3",
	    "mx.other.test", 62, 1, 1 },
	{ "selfsigned", "mx.good.test", MTASTS_PROBE_NOT_TRUSTED, "TLSv1.3",
	    "self-signed", 18, 1, 1 },
	{ "expired", "mx.good.test", MTASTS_PROBE_EXPIRED, "TLSv1.3",
	    "expired", 10, 1, 1 },
	{ "notyet", "mx.good.test", MTASTS_PROBE_EXPIRED, "TLSv1.3",
	    "not yet valid", 9, 1, 1 },
	{ "otherca", "mx.good.test", MTASTS_PROBE_NOT_TRUSTED, "TLSv1.3",
	    "local issuer", 20, 1, 1 },
	/* STS-49: the CN names the host, but only SANs count. */
	{ "cnonly", "mx.good.test", MTASTS_PROBE_HOST_MISMATCH, "TLSv1.3",
	    "names: none", 62, 1, 1 },
	/* STS-47: a wildcard covers exactly one left-most label. */
	{ "wildcard", "a.good.test", MTASTS_PROBE_OK, "TLSv1.3", NULL, 0, 1,
	    1 },
	{ "wildcard", "a.b.good.test", MTASTS_PROBE_HOST_MISMATCH,
	    "TLSv1.3", "*.good.test", 62, 1, 1 },
	{ "partial", "mx.good.test", MTASTS_PROBE_HOST_MISMATCH, "TLSv1.3",
	    "m*.good.test", 62, 1, 1 },
	/* STS-46 */
	{ "notls", "mx.good.test", MTASTS_PROBE_STARTTLS_NOT_SUPPORTED, "",
	    "not offered", 0, 0, 1 },
	{ "refuse454", "mx.good.test", MTASTS_PROBE_STARTTLS_NOT_SUPPORTED,
	    "", "454", 0, 0, 1 },
	{ "ehlo502", "mx.good.test", MTASTS_PROBE_STARTTLS_NOT_SUPPORTED,
	    "", "502", 0, 0, 1 },
	/* STS-40 */
	{ "tls10", "mx.good.test", MTASTS_PROBE_VALIDATION_FAILURE, "",
	    "TLS version below 1.2", 0, 0, 0 },
	{ "tls12", "mx.good.test", MTASTS_PROBE_OK, "TLSv1.2", NULL, 0, 1,
	    1 },
	{ "slow", "mx.good.test", MTASTS_PROBE_OK, "TLSv1.3", NULL, 0, 1, 1 },
	{ "silent", "mx.good.test", MTASTS_PROBE_TIMEOUT, "", "greeting", 0,
	    0, 0 },
	{ "closed", "mx.good.test", MTASTS_PROBE_CONNECT, "", "refused", 0,
	    0, 0 },
	{ "greet554", "mx.good.test", MTASTS_PROBE_PROTOCOL, "",
	    "554 5.3.2", 0, 0, 1 },
	{ "garbage", "mx.good.test", MTASTS_PROBE_PROTOCOL, "", "malformed",
	    0, 0, 0 },
	/* Bytes behind the STARTTLS reply are refused, not read as TLS. */
	{ "inject", "mx.good.test", MTASTS_PROBE_PROTOCOL, "",
	    "unexpected data", 0, 0, 0 },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

static struct seen	seen[NCASES];

static void
record(void *arg, const struct mtasts_probe_result *r)
{
	struct seen	*s = arg;

	s->calls++;
	s->res = *r;
}

static void
never(void *arg, const struct mtasts_probe_result *r)
{
	int	*n = arg;

	(void)r;
	(*n)++;
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One turn of the engine's loop, with poll(2) standing in for curl. */
static void
turn(struct mtasts_prober *pr, int max_wait)
{
	struct curl_waitfd	wfd[MAX_WFD];
	struct pollfd		pfd[MAX_WFD];
	unsigned int		n, i;
	long			t;

	n = mtasts_prober_waitfds(pr, wfd, MAX_WFD);
	for (i = 0; i < n; i++) {
		pfd[i].fd = wfd[i].fd;
		pfd[i].events = 0;
		if (wfd[i].events & CURL_WAIT_POLLIN)
			pfd[i].events |= POLLIN;
		if (wfd[i].events & CURL_WAIT_POLLOUT)
			pfd[i].events |= POLLOUT;
		pfd[i].revents = 0;
	}
	t = mtasts_prober_timeout_ms(pr);
	if (t < 0 || t > max_wait)
		t = max_wait;
	(void)poll(pfd, n, (int)t);
	for (i = 0; i < n; i++) {
		/* curl_multi_poll drops POLLERR and POLLHUP: so do we. */
		wfd[i].revents = 0;
		if (pfd[i].revents & POLLIN)
			wfd[i].revents |= CURL_WAIT_POLLIN;
		if (pfd[i].revents & POLLOUT)
			wfd[i].revents |= CURL_WAIT_POLLOUT;
		if (pfd[i].revents & POLLPRI)
			wfd[i].revents |= CURL_WAIT_POLLPRI;
	}
	mtasts_prober_process(pr, wfd, n);
}

/* Until every probe reported and said QUIT, at most limit_ms. */
static void
run(struct mtasts_prober *pr, int64_t limit_ms)
{
	int64_t	end = now_ms() + limit_ms;

	while ((mtasts_prober_running(pr) > 0 || mtasts_prober_nfds(pr) > 0) &&
	    now_ms() < end)
		turn(pr, 200);
}

static void
test_offline(void)
{
	struct mtasts_probe_conf	 conf;
	struct mtasts_diag		 diag;
	struct mtasts_prober		*pr;
	unsigned int			 id = 7;
	int				 calls = 0;

	CHECK_STREQ(mtasts_probe_class_str(MTASTS_PROBE_OK), "ok", "name ok");
	CHECK_STREQ(mtasts_probe_class_str(MTASTS_PROBE_STARTTLS_NOT_SUPPORTED),
	    "starttls-not-supported", "name starttls-not-supported");
	CHECK_STREQ(mtasts_probe_class_str(MTASTS_PROBE_HOST_MISMATCH),
	    "certificate-host-mismatch", "name certificate-host-mismatch");
	CHECK_STREQ(mtasts_probe_class_str(MTASTS_PROBE_EXPIRED),
	    "certificate-expired", "name certificate-expired");
	CHECK_STREQ(mtasts_probe_class_str(MTASTS_PROBE_NOT_TRUSTED),
	    "certificate-not-trusted", "name certificate-not-trusted");
	CHECK_STREQ(mtasts_probe_class_str(MTASTS_PROBE_VALIDATION_FAILURE),
	    "validation-failure", "name validation-failure");
	CHECK_STREQ(mtasts_probe_class_str(MTASTS_PROBE_INTERNAL), "internal",
	    "name internal");
	CHECK_STREQ(mtasts_probe_class_str((enum mtasts_probe_class)99),
	    "internal", "name of an unknown class");

	memset(&conf, 0, sizeof(conf));
	conf.ca_file = "/nonexistent/ca.pem";
	mtasts_diag_init(&diag);
	pr = mtasts_prober_new(&conf, &diag);
	CHECK(pr == NULL && strstr(mtasts_diag_first(&diag),
	    "/nonexistent/ca.pem") != NULL, "unreadable CA file refused");
	mtasts_prober_free(pr);

	conf.ca_file = NULL;
	conf.helo_name = "bad name\r\nRCPT";
	mtasts_diag_init(&diag);
	pr = mtasts_prober_new(&conf, &diag);
	CHECK(pr == NULL && strstr(mtasts_diag_first(&diag), "EHLO") != NULL,
	    "EHLO name with a line break refused");
	mtasts_prober_free(pr);

	mtasts_diag_init(&diag);
	pr = mtasts_prober_new(NULL, &diag);
	CHECK(pr != NULL, "defaults: system CA store, host name");
	if (pr == NULL)
		return;
	CHECK(mtasts_prober_timeout_ms(pr) == -1, "idle: no deadline");
	CHECK(mtasts_probe_start(pr, "bad host!", "127.0.0.1", never, &calls,
	    &id) == MTASTS_INVALID && id == 0, "malformed host refused");
	CHECK(mtasts_probe_start(pr, "mx.good.test", "not-an-ip", never,
	    &calls, NULL) == MTASTS_INVALID, "malformed address refused");
	CHECK(mtasts_probe_start(pr, "", "127.0.0.1", never, &calls, NULL) ==
	    MTASTS_INVALID, "empty host refused");
	CHECK(mtasts_probe_start(pr, "mx.good.test", "::1", never, &calls,
	    &id) == MTASTS_OK && id != 0, "IPv6 address accepted");
	CHECK(mtasts_prober_running(pr) == 1 && mtasts_prober_nfds(pr) == 0,
	    "queued until the loop runs");
	CHECK(mtasts_prober_timeout_ms(pr) == 0, "queued: loop asked to run");
	mtasts_probe_cancel(pr, id);
	mtasts_probe_cancel(pr, 12345);
	CHECK(mtasts_prober_running(pr) == 0, "cancelled while queued");
	mtasts_prober_process(pr, NULL, 0);
	CHECK(calls == 0, "no callback after cancel");
	mtasts_prober_free(pr);
}

static const char	*server_log;
static const char	*tls10_ok;	/* "TLSv1" when the server can */

/* 1 when the server logged "addr what value". */
static int
server_saw(const char *addr, const char *what, const char *value)
{
	char	 line[512], want[512];
	FILE	*f;
	int	 found = 0;

	(void)snprintf(want, sizeof(want), "%s %s %s\n", addr, what, value);
	if ((f = fopen(server_log, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strcmp(line, want) == 0;
	(void)fclose(f);
	return found;
}

/* The address of a behaviour: 127.0.0.2 for the first one, and so on. */
static int
kind_addr(const char *kinds, const char *kind, char *addr, size_t addrsz)
{
	const char	*p = kinds;
	size_t		 n, klen = strlen(kind);
	int		 i = 2;

	while (*p != '\0') {
		n = strcspn(p, " ");
		if (n == klen && strncmp(p, kind, n) == 0) {
			(void)snprintf(addr, addrsz, "127.0.0.%d", i);
			return 0;
		}
		p += n;
		p += strspn(p, " ");
		i++;
	}
	return -1;
}

static void
check_case(const struct pcase *c, const struct seen *s)
{
	const struct mtasts_probe_result	*r = &s->res;
	char					 sni[256];
	size_t					 i;

	if (strcmp(c->kind, "tls10") == 0 && tls10_ok != NULL &&
	    strcmp(tls10_ok, "TLSv1") != 0) {
		/* Not silently: TAP shows the skip and its reason. */
		printf("ok %d - %s %s # SKIP server cannot speak TLS 1.0 "
		    "here: %s\n", ++check_n, c->kind, c->host, tls10_ok);
		return;
	}
	CHECK(s->calls == 1, "%s %s: one callback (%d)", c->kind, c->host,
	    s->calls);
	if (s->calls != 1)
		return;
	CHECK(r->cls == c->want, "%s %s: class %s (got %s: %s)", c->kind,
	    c->host, mtasts_probe_class_str(c->want),
	    mtasts_probe_class_str(r->cls), r->detail);
	if (c->tls != NULL)
		CHECK(strcmp(r->tls_version, c->tls) == 0,
		    "%s %s: TLS version \"%s\" (got \"%s\")", c->kind,
		    c->host, c->tls, r->tls_version);
	if (c->detail != NULL)
		CHECK(strstr(r->detail, c->detail) != NULL,
		    "%s %s: detail has \"%s\" (got \"%s\")", c->kind, c->host,
		    c->detail, r->detail);
	if (c->verify >= 0)
		CHECK(r->verify_error == c->verify, "%s %s: verify error %ld "
		    "(got %ld)", c->kind, c->host, c->verify, r->verify_error);
	CHECK(strcmp(r->addr, s->addr) == 0 && r->port > 0,
	    "%s %s: peer address in the result", c->kind, c->host);
	if (c->want == MTASTS_PROBE_OK)
		CHECK(r->tls_cipher[0] != '\0' && r->cert_issuer[0] != '\0' &&
		    r->cert_not_after[0] != '\0' && r->cert_names[0] != '\0' &&
		    r->detail[0] == '\0', "%s %s: certificate details",
		    c->kind, c->host);
	/* STS-39: SNI is the MX host name, normalised. */
	for (i = 0; c->host[i] != '\0' && i < sizeof(sni) - 1; i++)
		sni[i] = (char)((c->host[i] >= 'A' && c->host[i] <= 'Z') ?
		    c->host[i] - 'A' + 'a' : c->host[i]);
	if (i > 0 && sni[i - 1] == '.')
		i--;
	sni[i] = '\0';
	if (c->sni)
		CHECK(server_saw(s->addr, "sni", sni) &&
		    strcmp(r->host, sni) == 0, "%s %s: server saw SNI %s",
		    c->kind, c->host, r->host);
	if (c->quit)
		CHECK(server_saw(s->addr, "quit", ""), "%s %s: QUIT said",
		    c->kind, c->host);
}

static void
test_live(const char *ca, int port, const char *kinds)
{
	struct mtasts_probe_conf	 conf;
	struct mtasts_diag		 diag;
	struct mtasts_prober		*pr;
	unsigned int			 id;
	size_t				 i;
	int				 calls = 0;
	char				 addr[64];

	memset(&conf, 0, sizeof(conf));
	conf.ca_file = ca;
	conf.port = port;
	conf.helo_name = HELO;
	conf.timeout_ms = 3000;
	conf.max_running = 5;	/* fewer than the cases: some queue */
	mtasts_diag_init(&diag);
	pr = mtasts_prober_new(&conf, &diag);
	CHECK(pr != NULL, "prober with the test CA (%s)",
	    mtasts_diag_first(&diag));
	if (pr == NULL)
		return;

	/* A probe cancelled once it is connecting: closed, never reported. */
	if (kind_addr(kinds, "silent", addr, sizeof(addr)) == 0 &&
	    mtasts_probe_start(pr, "mx.good.test", addr, never, &calls,
	    &id) == MTASTS_OK) {
		turn(pr, 0);
		CHECK(mtasts_prober_nfds(pr) == 1, "probe connecting");
		mtasts_probe_cancel(pr, id);
		CHECK(mtasts_prober_nfds(pr) == 0 &&
		    mtasts_prober_running(pr) == 0, "cancel closes it");
	}

	for (i = 0; i < NCASES; i++) {
		if (kind_addr(kinds, cases[i].kind, seen[i].addr,
		    sizeof(seen[i].addr)) == -1) {
			CHECK(0, "%s: no server address", cases[i].kind);
			continue;
		}
		if (mtasts_probe_start(pr, cases[i].host, seen[i].addr,
		    record, &seen[i], NULL) != MTASTS_OK)
			CHECK(0, "%s %s: start", cases[i].kind, cases[i].host);
	}
	turn(pr, 0);
	CHECK(mtasts_prober_nfds(pr) == conf.max_running &&
	    mtasts_prober_running(pr) == NCASES,
	    "max_running sockets open, the rest queued");
	run(pr, 20000);
	CHECK(mtasts_prober_running(pr) == 0 && mtasts_prober_nfds(pr) == 0,
	    "every probe finished and closed");
	CHECK(calls == 0, "cancelled probe not reported");
	for (i = 0; i < NCASES; i++)
		check_case(&cases[i], &seen[i]);
	if (kind_addr(kinds, "good", addr, sizeof(addr)) == 0)
		CHECK(server_saw(addr, "ehlo", HELO), "EHLO %s sent", HELO);
	mtasts_prober_free(pr);
}

int
main(void)
{
	const char	*ca = getenv("MTASTS_TEST_CA");
	const char	*port = getenv("MTASTS_TEST_PORT");
	const char	*kinds = getenv("MTASTS_TEST_KINDS");

	test_offline();
	server_log = getenv("MTASTS_TEST_SERVER_LOG");
	tls10_ok = getenv("MTASTS_TEST_TLS10");
	if (ca != NULL && port != NULL && kinds != NULL && server_log != NULL)
		test_live(ca, (int)strtol(port, NULL, 10), kinds);
	else
		printf("# no servers (run test_probe.sh): live checks "
		    "skipped\n");
	return check_done();
}
