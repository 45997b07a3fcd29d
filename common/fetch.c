/*
 * fetch.c: the policy fetcher over libcurl's multi interface (see fetch.h).
 *
 * One struct transfer per fetch.  Running transfers sit on the active list
 * with an easy handle in the multi; fetches that fail before any network
 * work (no address) sit on the ready list until the next
 * mtasts_fetcher_perform, so callbacks never run inside
 * mtasts_fetch_start.
 *
 * Each transfer has its own curl share object holding its DNS cache: the
 * CURLOPT_RESOLVE entries we add live there and die with the transfer,
 * instead of piling up in the multi's cache for the daemon's lifetime, and
 * one fetch can never see another's addresses.
 *
 * The header callback sees the end of the response headers before any
 * body byte is accepted.  There the TLS session is inspected (leaf
 * certificate name per STS-28, protocol version) and Content-Length is
 * compared with the size limit; the write callback enforces the limit on
 * the bytes themselves.  Both abort the transfer by returning a short
 * count, and flags on the transfer say why.
 */
#include <config.h>

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "fetch.h"
#include "log.h"
#include "policy.h"

#define HOST_PREFIX	"mta-sts."
#define WELL_KNOWN	"/.well-known/mta-sts.txt"
#define DOMAIN_MAX	(253 - (sizeof(HOST_PREFIX) - 1))
#define HOST_BUFSZ	256
#define URL_BUFSZ	(HOST_BUFSZ + 64)
/* "host:port:" then up to MTASTS_FETCH_MAX_ADDRS "[v6]," */
#define RESOLVE_BUFSZ	(HOST_BUFSZ + 16 + MTASTS_FETCH_MAX_ADDRS * 48)
/* A CA store built from CAFile is reused this long (curl 7.87 and later). */
#define CA_CACHE_SECONDS	300L

struct transfer {
	TAILQ_ENTRY(transfer)	 entry;
	struct mtasts_fetcher	*f;
	unsigned int		 id;
	CURL			*easy;		/* NULL: result preset */
	CURLSH			*share;
	struct curl_slist	*resolve;
	struct curl_slist	*connect_to;
	mtasts_fetch_cb		*cb;
	void			*arg;
	int			 want_certinfo;

	char			 domain[HOST_BUFSZ];
	char			 host[HOST_BUFSZ];
	char			 url[URL_BUFSZ];

	struct mtasts_buf	 body;
	int			 tls_checked;
	int			 cert_fail;
	int			 too_big;
	int			 nomem;
	char			 why[512];	/* set with the flags above */
	char			 tls_version[16];
	char			 errbuf[CURL_ERROR_SIZE];

	enum mtasts_fetch_class	 preset;	/* for easy == NULL */

	char			 cert_subject[256];
	char			 cert_issuer[256];
	char			 cert_expire[64];
	struct mtasts_policy	 policy;
};

TAILQ_HEAD(transfer_list, transfer);

struct mtasts_fetcher {
	CURLM			*multi;
	struct transfer_list	 active;
	struct transfer_list	 ready;
	size_t			 nactive;
	size_t			 nready;
	unsigned int		 next_id;
	char			*ca_file;
	char			*ca_path;
	char			*proxy;
	long			 connect_timeout_ms;
	long			 total_timeout_ms;
	size_t			 max_size;
	int			 port;
};

static const char user_agent[] = PACKAGE_NAME "/" PACKAGE_VERSION;

/* Copy src into dst[size], cut to fit, always NUL-terminated. */
static void
scopy(char *dst, size_t size, const char *src)
{
	size_t	n;

	if (size == 0)
		return;
	n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

const char *
mtasts_fetch_class_str(enum mtasts_fetch_class cls)
{
	switch (cls) {
	case MTASTS_FETCH_OK:
		return "ok";
	case MTASTS_FETCH_DNS:
		return "dns";
	case MTASTS_FETCH_CONNECT:
		return "connect";
	case MTASTS_FETCH_TLS:
		return "tls";
	case MTASTS_FETCH_CERTIFICATE:
		return "certificate";
	case MTASTS_FETCH_HTTP_STATUS:
		return "http-status";
	case MTASTS_FETCH_MEDIA_TYPE:
		return "media-type";
	case MTASTS_FETCH_SIZE:
		return "size";
	case MTASTS_FETCH_TIMEOUT:
		return "timeout";
	case MTASTS_FETCH_PARSE:
		return "parse";
	case MTASTS_FETCH_INTERNAL:
		return "internal";
	}
	return "internal";
}

/* ------------------------------------------------------------ global */

enum mtasts_status
mtasts_fetch_global_init(struct mtasts_diag *diag)
{
	const curl_ssl_backend	**avail;
	curl_version_info_data	 *vi;
	CURLsslset		  ss;
	CURLcode		  rc;
	size_t			  i;
	int			  https = 0;

	/* The SAN check needs OpenSSL's SSL * from curl (fetch.h). */
	ss = curl_global_sslset(CURLSSLBACKEND_OPENSSL, NULL, &avail);
	if (ss != CURLSSLSET_OK && ss != CURLSSLSET_TOO_LATE) {
		mtasts_diag_add(diag, 0, 0, "libcurl is not built with "
		    "OpenSSL: install the Debian package libcurl4 (not "
		    "libcurl3-gnutls or libcurl3-nss)");
		return MTASTS_INTERNAL;
	}
	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		mtasts_diag_add(diag, 0, 0, "curl_global_init: %s",
		    curl_easy_strerror(rc));
		return MTASTS_INTERNAL;
	}
	vi = curl_version_info(CURLVERSION_NOW);
	for (i = 0; vi->protocols != NULL && vi->protocols[i] != NULL; i++)
		if (strcmp(vi->protocols[i], "https") == 0)
			https = 1;
	if (!https || !(vi->features & CURL_VERSION_SSL)) {
		mtasts_diag_add(diag, 0, 0, "libcurl %s lacks HTTPS support",
		    vi->version);
		curl_global_cleanup();
		return MTASTS_INTERNAL;
	}
	return MTASTS_OK;
}

void
mtasts_fetch_global_cleanup(void)
{
	curl_global_cleanup();
}

/* ------------------------------------------------------------ fetcher */

/*
 * The proxy's host must be an IP address, so that curl has nothing to
 * resolve: "[scheme://]host[:port][/]" with scheme http or https.
 */
static int
proxy_ok(const char *proxy, struct mtasts_diag *diag)
{
	const char	*p = proxy, *end;
	char		 host[64];
	unsigned char	 addr[16];
	size_t		 len;

	if (strncmp(p, "http://", 7) == 0)
		p += 7;
	else if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strstr(p, "://") != NULL) {
		mtasts_diag_add(diag, 0, 0, "proxy %s: only http:// and "
		    "https:// proxies are supported", proxy);
		return 0;
	}
	if (*p == '[') {
		p++;
		end = strchr(p, ']');
	} else
		end = p + strcspn(p, ":/");
	len = end ? (size_t)(end - p) : 0;
	if (end == NULL || len == 0 || len >= sizeof(host)) {
		mtasts_diag_add(diag, 0, 0, "proxy %s: bad host", proxy);
		return 0;
	}
	memcpy(host, p, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, addr) != 1 &&
	    inet_pton(AF_INET6, host, addr) != 1) {
		mtasts_diag_add(diag, 0, 0, "proxy %s: the host must be an IP "
		    "address (all names are resolved with libunbound)", proxy);
		return 0;
	}
	return 1;
}

static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL || *src == '\0')
		return 0;
	return (*dst = strdup(src)) == NULL ? -1 : 0;
}

/*
 * The system's store as one file: curl's built-in CA bundle, when it has
 * one.  curl keeps a store only when it comes from one file, and building
 * one from a system bundle costs tens of milliseconds of CPU, which no
 * fetch should pay again.  Without a built-in bundle curl's own defaults
 * stay in force (and are parsed per fetch).
 */
static int
system_bundle(char **out)
{
#if LIBCURL_VERSION_NUM >= 0x075400
	CURL	*e;
	char	*p = NULL;
	int	 rc = 0;

	if ((e = curl_easy_init()) == NULL)
		return -1;
	if (curl_easy_getinfo(e, CURLINFO_CAINFO, &p) == CURLE_OK &&
	    p != NULL && access(p, R_OK) == 0 && (*out = strdup(p)) == NULL)
		rc = -1;
	curl_easy_cleanup(e);
	return rc;
#else
	(void)out;
	return 0;
#endif
}

struct mtasts_fetcher *
mtasts_fetcher_new(const struct mtasts_fetch_conf *conf,
    struct mtasts_diag *diag)
{
	static const struct mtasts_fetch_conf	 defaults;
	struct mtasts_fetcher			*f;

	if (conf == NULL)
		conf = &defaults;
	if (conf->proxy != NULL && *conf->proxy != '\0' &&
	    !proxy_ok(conf->proxy, diag))
		return NULL;
	if (conf->port < 0 || conf->port > 65535) {
		mtasts_diag_add(diag, 0, 0, "fetch: bad port %d", conf->port);
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto nomem;
	TAILQ_INIT(&f->active);
	TAILQ_INIT(&f->ready);
	f->next_id = 1;
	f->connect_timeout_ms = conf->connect_timeout_ms > 0 ?
	    conf->connect_timeout_ms : MTASTS_FETCH_CONNECT_TIMEOUT_DEFAULT;
	f->total_timeout_ms = conf->total_timeout_ms > 0 ?
	    conf->total_timeout_ms : MTASTS_FETCH_TOTAL_TIMEOUT_DEFAULT;
	f->max_size = conf->max_size > 0 ? conf->max_size :
	    MTASTS_POLICY_SIZE_DEFAULT;
	f->port = conf->port > 0 ? conf->port : 443;
	if (dup_opt(&f->ca_file, conf->ca_file) == -1 ||
	    dup_opt(&f->ca_path, conf->ca_path) == -1 ||
	    dup_opt(&f->proxy, conf->proxy) == -1 ||
	    (f->ca_file == NULL && f->ca_path == NULL &&
	    system_bundle(&f->ca_file) == -1) ||
	    (f->multi = curl_multi_init()) == NULL)
		goto nomem;
	return f;
nomem:
	mtasts_diag_add(diag, 0, 0, "fetch: out of memory");
	mtasts_fetcher_free(f);
	return NULL;
}

static void
transfer_free(struct transfer *t)
{
	if (t == NULL)
		return;
	if (t->easy != NULL)
		curl_easy_cleanup(t->easy);
	/* After the easy handle: a share in use cannot be freed. */
	if (t->share != NULL)
		(void)curl_share_cleanup(t->share);
	curl_slist_free_all(t->resolve);
	curl_slist_free_all(t->connect_to);
	mtasts_buf_free(&t->body);
	mtasts_policy_clear(&t->policy);
	free(t);
}

void
mtasts_fetcher_free(struct mtasts_fetcher *f)
{
	struct transfer	*t;

	if (f == NULL)
		return;
	while ((t = TAILQ_FIRST(&f->active)) != NULL) {
		TAILQ_REMOVE(&f->active, t, entry);
		(void)curl_multi_remove_handle(f->multi, t->easy);
		transfer_free(t);
	}
	while ((t = TAILQ_FIRST(&f->ready)) != NULL) {
		TAILQ_REMOVE(&f->ready, t, entry);
		transfer_free(t);
	}
	if (f->multi != NULL)
		(void)curl_multi_cleanup(f->multi);
	free(f->ca_file);
	free(f->ca_path);
	free(f->proxy);
	free(f);
}

/* ------------------------------------------------------------ callbacks */

/*
 * STS-27/28 beyond what curl checks: the leaf must carry a DNS SAN for the
 * host (curl falls back to the CN when there is none), and the protocol
 * must be TLS 1.2 or newer.  Returns 0, or -1 with t->why set.
 */
static int
tls_check(struct transfer *t)
{
	struct curl_tlssessioninfo	*ti = NULL;
	SSL				*ssl;
	X509				*cert;
	int				 ok;

	t->tls_checked = 1;
	if (curl_easy_getinfo(t->easy, CURLINFO_TLS_SSL_PTR, &ti) !=
	    CURLE_OK || ti == NULL || ti->backend != CURLSSLBACKEND_OPENSSL ||
	    ti->internals == NULL) {
		(void)snprintf(t->why, sizeof(t->why), "cannot inspect the TLS "
		    "session (libcurl must use OpenSSL)");
		return -1;
	}
	ssl = ti->internals;
	scopy(t->tls_version, sizeof(t->tls_version), SSL_get_version(ssl));
	if (SSL_version(ssl) < TLS1_2_VERSION) {
		(void)snprintf(t->why, sizeof(t->why), "%s is older than "
		    "TLS 1.2", t->tls_version);
		return -1;
	}
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	cert = SSL_get0_peer_certificate(ssl);
#else
	cert = SSL_get_peer_certificate(ssl);
#endif
	if (cert == NULL) {
		(void)snprintf(t->why, sizeof(t->why), "no peer certificate");
		return -1;
	}
	ok = X509_check_host(cert, t->host, 0,
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
#if OPENSSL_VERSION_NUMBER < 0x30000000L
	X509_free(cert);
#endif
	if (!ok) {
		(void)snprintf(t->why, sizeof(t->why), "certificate has no "
		    "subjectAltName DNS name matching %s (a subject CN is not "
		    "accepted, RFC 8461 section 3.3)", t->host);
		return -1;
	}
	return 0;
}

/* The response headers are complete: check TLS and Content-Length. */
static int
headers_done(struct transfer *t)
{
	curl_off_t	clen = -1;
	long		code = 0;

	(void)curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 100 && code < 200)
		return 0;		/* an interim response; more follow */
	if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
	    &clen) == CURLE_OK && clen > 0 && (uint64_t)clen > t->f->max_size) {
		t->too_big = 1;
		(void)snprintf(t->why, sizeof(t->why), "Content-Length %lld "
		    "is over the limit of %zu bytes", (long long)clen,
		    t->f->max_size);
		return -1;
	}
	return 0;
}

static size_t
header_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct transfer	*t = arg;
	size_t		 len = size * n;

	/*
	 * The TLS session is up before the status line arrives: judge the
	 * certificate first, before curl acts on any header.
	 */
	if (!t->tls_checked && tls_check(t) == -1) {
		t->cert_fail = 1;
		return 0;
	}
	if ((len == 2 && buf[0] == '\r' && buf[1] == '\n') ||
	    (len == 1 && buf[0] == '\n'))
		if (headers_done(t) == -1)
			return 0;
	return len;
}

static size_t
write_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct transfer	*t = arg;
	size_t		 len = size * n;

	/* Headers always come first; this is a safety net. */
	if (!t->tls_checked && tls_check(t) == -1) {
		t->cert_fail = 1;
		return 0;
	}
	if (mtasts_buf_add(&t->body, buf, len) == -1) {
		if (t->body.nomem) {
			t->nomem = 1;
			(void)snprintf(t->why, sizeof(t->why),
			    "out of memory");
		} else {
			t->too_big = 1;
			(void)snprintf(t->why, sizeof(t->why), "body is over "
			    "the limit of %zu bytes", t->f->max_size);
		}
		return 0;
	}
	return len;
}

/* ------------------------------------------------------------ start */

/* A host name as the URL needs it: LDH labels, dots, no trailing dot. */
static int
domain_ok(const char *d)
{
	size_t	len, i, label = 0;

	if (d == NULL || (len = strlen(d)) == 0 || len > DOMAIN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if ((label == 0 && c == '-') || ++label > 63)
			return 0;
	}
	return label > 0 && d[len - 1] != '-';
}

/*
 * Append address a to the CURLOPT_RESOLVE value in buf (IPv6 in brackets).
 * Returns 1 when added, 0 when a is not an IP address, -1 when full.
 */
static int
resolve_add(char *buf, size_t size, const char *a, int first)
{
	unsigned char	bin[16];
	char		text[INET6_ADDRSTRLEN];
	size_t		used = strlen(buf);
	int		n, v6;

	if (a == NULL)
		return 0;
	if (inet_pton(AF_INET, a, bin) == 1)
		v6 = 0;
	else if (inet_pton(AF_INET6, a, bin) == 1)
		v6 = 1;
	else
		return 0;
	/* Re-printed from binary: nothing of the caller's text reaches curl. */
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, bin, text, sizeof(text)) ==
	    NULL)
		return 0;
	n = snprintf(buf + used, size - used, "%s%s%s%s", first ? "" : ",",
	    v6 ? "[" : "", text, v6 ? "]" : "");
	if (n < 0 || (size_t)n >= size - used) {
		buf[used] = '\0';
		return -1;
	}
	return 1;
}

static int
setopts(struct mtasts_fetcher *f, struct transfer *t)
{
	CURL	*e = t->easy;
	int	 bad = 0;

#define SET(opt, val)	bad |= curl_easy_setopt(e, opt, val) != CURLE_OK
	SET(CURLOPT_URL, t->url);
	SET(CURLOPT_PRIVATE, t);
	SET(CURLOPT_ERRORBUFFER, t->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	SET(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
	SET(CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	SET(CURLOPT_HTTPGET, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);		/* STS-31 */
	SET(CURLOPT_SSL_VERIFYPEER, 1L);		/* STS-27 */
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2); /* STS-40 */
	if (f->ca_file != NULL)
		SET(CURLOPT_CAINFO, f->ca_file);
	/*
	 * CAFile alone (or the system bundle standing for the system's
	 * store) means that file alone: no built-in CA directory beside it.
	 * It also lets curl keep the store it built from the file for later
	 * transfers instead of parsing the file again for every fetch: it
	 * caches a store only when it comes from one file.
	 */
	if (f->ca_path != NULL || f->ca_file != NULL)
		SET(CURLOPT_CAPATH, f->ca_path);
#if LIBCURL_VERSION_NUM >= 0x075700
	SET(CURLOPT_CA_CACHE_TIMEOUT, CA_CACHE_SECONDS);
#endif
	SET(CURLOPT_SHARE, t->share);
	SET(CURLOPT_RESOLVE, t->resolve);
	/* "" rather than NULL: ignore https_proxy and friends too. */
	SET(CURLOPT_PROXY, f->proxy != NULL ? f->proxy : "");
	if (t->connect_to != NULL)
		SET(CURLOPT_CONNECT_TO, t->connect_to);
	SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, f->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, f->total_timeout_ms);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_size);
	SET(CURLOPT_USERAGENT, user_agent);
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_FRESH_CONNECT, 1L);			/* STS-32 */
	SET(CURLOPT_FORBID_REUSE, 1L);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, t);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, t);
	if (t->want_certinfo)
		SET(CURLOPT_CERTINFO, 1L);
#undef SET
	return bad ? -1 : 0;
}

/* Queue a result that needs no network; perform() delivers it. */
static void
preset(struct mtasts_fetcher *f, struct transfer *t,
    enum mtasts_fetch_class cls, const char *why)
{
	t->preset = cls;
	scopy(t->why, sizeof(t->why), why);
	TAILQ_INSERT_TAIL(&f->ready, t, entry);
	f->nready++;
}

static int
build(struct mtasts_fetcher *f, struct transfer *t, const char *const *addrs,
    size_t naddrs)
{
	char	rv[RESOLVE_BUFSZ], first[INET6_ADDRSTRLEN + 2];
	size_t	i, used = 0;
	int	n;

	n = snprintf(rv, sizeof(rv), "%s:%d:", t->host, f->port);
	if (n < 0 || (size_t)n >= sizeof(rv))
		return -1;
	first[0] = '\0';
	for (i = 0; i < naddrs && used < MTASTS_FETCH_MAX_ADDRS; i++) {
		size_t before = strlen(rv);

		n = resolve_add(rv, sizeof(rv), addrs[i], used == 0);
		if (n == 0)
			mtasts_log(LOG_DEBUG, t->domain, "policy fetch: "
			    "ignoring bad address \"%s\"", addrs[i]);
		if (n != 1)
			continue;
		if (used++ == 0)
			scopy(first, sizeof(first), rv + before);
	}
	if (used == 0)
		return 0;
	mtasts_log(LOG_DEBUG, t->domain, "policy fetch start url=%s "
	    "resolve=%s", t->url, rv + strlen(t->host) + 1);
	if ((t->share = curl_share_init()) == NULL ||
	    curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
	    CURLSHE_OK ||
	    (t->resolve = curl_slist_append(NULL, rv)) == NULL)
		return -1;
	if (f->proxy != NULL) {
		/* The proxy's CONNECT goes to our address, not the name. */
		n = snprintf(rv, sizeof(rv), "%s:%d:%s:%d", t->host, f->port,
		    first, f->port);
		if (n < 0 || (size_t)n >= sizeof(rv) ||
		    (t->connect_to = curl_slist_append(NULL, rv)) == NULL)
			return -1;
	}
	if ((t->easy = curl_easy_init()) == NULL || setopts(f, t) == -1)
		return -1;
	return 1;
}

enum mtasts_status
mtasts_fetch_start(struct mtasts_fetcher *f, const char *domain,
    const char *const *addrs, size_t naddrs, int want_certinfo,
    mtasts_fetch_cb *cb, void *arg, unsigned int *fid)
{
	struct transfer	*t;
	CURLMcode	 mc;
	int		 n;

	if (fid != NULL)
		*fid = 0;
	if (f == NULL || cb == NULL || !domain_ok(domain))
		return MTASTS_INVALID;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto nomem;
	t->f = f;
	t->cb = cb;
	t->arg = arg;
	t->want_certinfo = want_certinfo;
	mtasts_buf_init(&t->body, f->max_size);
	scopy(t->domain, sizeof(t->domain), domain);
	(void)snprintf(t->host, sizeof(t->host), HOST_PREFIX "%s", domain);
	if (f->port == 443)
		(void)snprintf(t->url, sizeof(t->url), "https://%s" WELL_KNOWN,
		    t->host);
	else
		(void)snprintf(t->url, sizeof(t->url), "https://%s:%d"
		    WELL_KNOWN, t->host, f->port);
	t->id = f->next_id++;
	if (f->next_id == 0)
		f->next_id = 1;
	if ((n = build(f, t, addrs, naddrs)) == -1)
		goto nomem;
	if (n == 0)
		preset(f, t, MTASTS_FETCH_DNS,
		    "no address for the policy host");
	else {
		if ((mc = curl_multi_add_handle(f->multi, t->easy)) !=
		    CURLM_OK) {
			mtasts_log(LOG_ERR, domain, "policy fetch: "
			    "curl_multi_add_handle: %s",
			    curl_multi_strerror(mc));
			transfer_free(t);
			return MTASTS_INTERNAL;
		}
		TAILQ_INSERT_TAIL(&f->active, t, entry);
		f->nactive++;
	}
	if (fid != NULL)
		*fid = t->id;
	return MTASTS_OK;
nomem:
	mtasts_log(LOG_ERR, domain, "policy fetch: out of memory");
	transfer_free(t);
	return MTASTS_INTERNAL;
}

void
mtasts_fetch_cancel(struct mtasts_fetcher *f, unsigned int fid)
{
	struct transfer	*t;

	if (f == NULL || fid == 0)
		return;
	TAILQ_FOREACH(t, &f->active, entry)
		if (t->id == fid) {
			TAILQ_REMOVE(&f->active, t, entry);
			f->nactive--;
			(void)curl_multi_remove_handle(f->multi, t->easy);
			transfer_free(t);
			return;
		}
	TAILQ_FOREACH(t, &f->ready, entry)
		if (t->id == fid) {
			TAILQ_REMOVE(&f->ready, t, entry);
			f->nready--;
			transfer_free(t);
			return;
		}
}

/* ------------------------------------------------------------ results */

static enum mtasts_fetch_class
curl_class(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return MTASTS_FETCH_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return MTASTS_FETCH_DNS;
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return MTASTS_FETCH_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return MTASTS_FETCH_TLS;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return MTASTS_FETCH_CERTIFICATE;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP_RETURNED_ERROR:
	case CURLE_TOO_MANY_REDIRECTS:
		return MTASTS_FETCH_HTTP_STATUS;
	case CURLE_FILESIZE_EXCEEDED:
		return MTASTS_FETCH_SIZE;
	default:
		/*
		 * Ours: CURLE_SSL_CACERT_BADFILE (the CA file is unreadable:
		 * the operator's problem, not the remote's), out of memory,
		 * bad options...
		 */
		return MTASTS_FETCH_INTERNAL;
	}
}

static void
copy_certinfo(struct transfer *t)
{
	struct curl_certinfo	*ci = NULL;
	struct curl_slist	*s;

	if (curl_easy_getinfo(t->easy, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
	    ci == NULL || ci->num_of_certs < 1)
		return;
	for (s = ci->certinfo[0]; s != NULL; s = s->next) {
		if (strncmp(s->data, "Subject:", 8) == 0)
			scopy(t->cert_subject, sizeof(t->cert_subject),
			    s->data + 8);
		else if (strncmp(s->data, "Issuer:", 7) == 0)
			scopy(t->cert_issuer, sizeof(t->cert_issuer),
			    s->data + 7);
		else if (strncmp(s->data, "Expire date:", 12) == 0)
			scopy(t->cert_expire, sizeof(t->cert_expire),
			    s->data + 12);
	}
}

/* A complete HTTP answer arrived (or was cut for size): judge it. */
static enum mtasts_fetch_class
judge_response(struct transfer *t, struct mtasts_fetch_result *res,
    CURLcode rc)
{
	struct mtasts_diag	diag;
	enum mtasts_status	st;

	if (res->http_status != 200) {
		if (res->http_status >= 300 && res->http_status < 400)
			(void)snprintf(res->error, sizeof(res->error),
			    "HTTP status %ld, redirect to %s not followed "
			    "(RFC 8461 section 3.3)", res->http_status,
			    res->location ? res->location : "(no Location)");
		else
			(void)snprintf(res->error, sizeof(res->error),
			    "HTTP status %ld, not 200", res->http_status);
		return MTASTS_FETCH_HTTP_STATUS;
	}
	if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		scopy(res->error, sizeof(res->error), t->why[0] ? t->why :
		    "body is over the size limit");
		return MTASTS_FETCH_SIZE;
	}
	if (!mtasts_media_type_ok(res->content_type)) {
		(void)snprintf(res->error, sizeof(res->error), "Content-Type "
		    "%s is not text/plain", res->content_type ?
		    res->content_type : "(none)");
		return MTASTS_FETCH_MEDIA_TYPE;
	}
	mtasts_diag_init(&diag);
	st = mtasts_policy_parse(t->body.data ? t->body.data : "",
	    t->body.len, t->f->max_size, &t->policy, &diag);
	if (st == MTASTS_OK)
		return MTASTS_FETCH_OK;
	(void)snprintf(res->error, sizeof(res->error), "policy: %s",
	    st == MTASTS_INVALID ? mtasts_diag_first(&diag) :
	    mtasts_status_str(st));
	return st == MTASTS_INVALID ? MTASTS_FETCH_PARSE :
	    MTASTS_FETCH_INTERNAL;
}

static void
classify(struct transfer *t, CURLcode rc, struct mtasts_fetch_result *res)
{
	char	*s = NULL;

	(void)curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE,
	    &res->http_status);
	if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &s) ==
	    CURLE_OK)
		res->content_type = s;
	s = NULL;
	if (curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &s) ==
	    CURLE_OK)
		res->location = s;
	s = NULL;
	if (curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &s) ==
	    CURLE_OK && s != NULL)
		scopy(res->primary_ip, sizeof(res->primary_ip), s);
	if (t->want_certinfo)
		copy_certinfo(t);

	if (t->cert_fail) {
		/* Refused before any header was taken in. */
		res->http_status = 0;
		res->cls = MTASTS_FETCH_CERTIFICATE;
		scopy(res->error, sizeof(res->error), t->why);
	} else if (t->nomem) {
		res->cls = MTASTS_FETCH_INTERNAL;
		scopy(res->error, sizeof(res->error), t->why);
	} else if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR &&
	    t->too_big) || rc == CURLE_FILESIZE_EXCEEDED) {
		/* curl refused a Content-Length over CURLOPT_MAXFILESIZE. */
		if (rc == CURLE_FILESIZE_EXCEEDED && !t->too_big) {
			t->too_big = 1;
			(void)snprintf(t->why, sizeof(t->why), "Content-Length "
			    "is over the limit of %zu bytes", t->f->max_size);
		}
		res->cls = judge_response(t, res, rc);
	} else {
		res->cls = curl_class(rc);
		scopy(res->error, sizeof(res->error), t->errbuf[0] ?
		    t->errbuf : curl_easy_strerror(rc));
	}
}

static void
finish(struct transfer *t, CURLcode rc)
{
	struct mtasts_fetch_result	res;

	memset(&res, 0, sizeof(res));
	res.domain = t->domain;
	res.url = t->url;
	if (t->easy == NULL) {
		res.cls = t->preset;
		scopy(res.error, sizeof(res.error), t->why);
	} else
		classify(t, rc, &res);
	res.body = t->body.data ? t->body.data : "";
	res.body_len = t->body.len;
	if (res.cls == MTASTS_FETCH_OK)
		res.policy = &t->policy;
	scopy(res.tls_version, sizeof(res.tls_version), t->tls_version);
	if (t->want_certinfo && t->cert_subject[0] != '\0') {
		res.cert_subject = t->cert_subject;
		res.cert_issuer = t->cert_issuer;
		res.cert_expire = t->cert_expire;
	}
	if (res.cls == MTASTS_FETCH_OK)
		mtasts_log(LOG_INFO, t->domain, "policy fetch result=ok "
		    "status=%ld ip=%s tls=%s mode=%s max_age=%lu mx=%zu",
		    res.http_status, res.primary_ip, res.tls_version,
		    mtasts_mode_str(t->policy.mode), t->policy.max_age,
		    t->policy.nmx);
	else
		mtasts_log(LOG_INFO, t->domain, "policy fetch result=%s "
		    "status=%ld ip=%s reason=\"%s\"",
		    mtasts_fetch_class_str(res.cls), res.http_status,
		    res.primary_ip[0] ? res.primary_ip : "-", res.error);
	t->cb(t->arg, &res);
	transfer_free(t);
}

int
mtasts_fetcher_perform(struct mtasts_fetcher *f)
{
	struct transfer	*t;
	CURLMsg		*msg;
	CURLMcode	 mc;
	CURLcode	 rc;
	int		 running, left;
	char		*priv;

	while ((t = TAILQ_FIRST(&f->ready)) != NULL) {
		TAILQ_REMOVE(&f->ready, t, entry);
		f->nready--;
		finish(t, CURLE_OK);
	}
	if ((mc = curl_multi_perform(f->multi, &running)) != CURLM_OK) {
		mtasts_log(LOG_ERR, NULL, "policy fetch: curl_multi_perform: "
		    "%s", curl_multi_strerror(mc));
		return -1;
	}
	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		rc = msg->data.result;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    &priv);
		if ((t = (struct transfer *)(void *)priv) == NULL)
			continue;
		TAILQ_REMOVE(&f->active, t, entry);
		f->nactive--;
		(void)curl_multi_remove_handle(f->multi, t->easy);
		finish(t, rc);
	}
	return 0;
}

int
mtasts_fetcher_poll(struct mtasts_fetcher *f, struct curl_waitfd *extra,
    unsigned int nextra, int timeout_ms, int *numfds)
{
	CURLMcode	mc;

	if (f->nready > 0)
		timeout_ms = 0;
	else if (timeout_ms < 0)
		timeout_ms = 60000;
	mc = curl_multi_poll(f->multi, extra, nextra, timeout_ms, numfds);
	if (mc != CURLM_OK) {
		mtasts_log(LOG_ERR, NULL, "policy fetch: curl_multi_poll: %s",
		    curl_multi_strerror(mc));
		return -1;
	}
	return 0;
}

void
mtasts_fetcher_wakeup(struct mtasts_fetcher *f)
{
	(void)curl_multi_wakeup(f->multi);
}

size_t
mtasts_fetcher_running(struct mtasts_fetcher *f)
{
	return f->nactive + f->nready;
}
