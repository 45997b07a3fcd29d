/*
 * fetch.h: the policy fetcher, over libcurl's multi interface (RFC 8461
 * §3.3).
 *
 * GET https://mta-sts.<domain>/.well-known/mta-sts.txt (STS-14), with:
 * - HTTPS only; the peer certificate must chain to a trusted root (CA file
 *   or directory configurable), be unexpired, and carry a subjectAltName
 *   dNSName matching mta-sts.<domain> (STS-27).  curl would fall back to
 *   the subject CN for a certificate without any DNS SAN; STS-28 forbids
 *   that, so once the TLS session is up the leaf is checked again with
 *   OpenSSL's X509_check_host() with the subject never consulted and no
 *   partial-label wildcards.  Revocation (STS-29, a MAY) is not checked.
 * - SNI mta-sts.<domain>: it is the URL's host, also under CNAME delegation
 *   (STS-39, STS-60).  TLS 1.2 or newer (STS-40).
 * - No redirects: a 3xx is a failure whose Location is reported (STS-31);
 *   only 200 yields a policy (STS-30); Content-Type must be text/plain
 *   (STS-15).
 * - No HTTP cache of any kind (STS-32): libcurl has none, no conditional
 *   headers are sent, Cache-Control is ignored, and every fetch uses a new
 *   connection (so the certificate is verified, and its details seen, each
 *   time).  No cookies, no HSTS or alt-svc cache, no .netrc, no
 *   compression.
 * - Bounded: connect and total timeouts, and the body size, enforced while
 *   streaming and up front from Content-Length (STS-34).
 * - curl never resolves a name.  The caller resolves mta-sts.<domain> with
 *   libunbound and passes the addresses, which reach curl as
 *   CURLOPT_RESOLVE entries for the URL's host and port.  A proxy must be
 *   given by IP address (checked by mtasts_fetcher_new); the CONNECT
 *   request then names our first address (CURLOPT_CONNECT_TO), so the proxy
 *   does no DNS either, while TLS and the certificate check still use
 *   mta-sts.<domain>.  Proxies from the environment (https_proxy, ...) are
 *   ignored.
 *
 * Threading: one worker thread drives a fetcher (see mtasts_fetcher_poll);
 * only mtasts_fetcher_wakeup may be called from other threads.
 */
#ifndef MTASTS_FETCH_H
#define MTASTS_FETCH_H

#include <stddef.h>

#include <curl/curl.h>

#include "policy.h"
#include "status.h"

#define MTASTS_FETCH_CONNECT_TIMEOUT_DEFAULT	10000	/* ms */
#define MTASTS_FETCH_TOTAL_TIMEOUT_DEFAULT	60000	/* ms, STS-34 */
#define MTASTS_FETCH_MAX_ADDRS			16

struct mtasts_fetch_conf {
	const char	*ca_file;	/* PEM bundle; NULL: curl's default */
	const char	*ca_path;	/* hashed directory; NULL: default */
	/*
	 * HTTP proxy, "http://192.0.2.1:3128" or "[2001:db8::1]:3128"; the
	 * host must be an IP address.  NULL or "" for none.
	 */
	const char	*proxy;
	long		 connect_timeout_ms;	/* <= 0: default */
	long		 total_timeout_ms;	/* <= 0: default */
	size_t		 max_size;	/* body bytes; 0: 64 KiB default */
	int		 port;		/* 0: 443; tests use another */
};

/*
 * Failure classes.  Their names (mtasts_fetch_class_str) are stored in
 * SQLite and shown in JSON: never change them.
 */
enum mtasts_fetch_class {
	MTASTS_FETCH_OK = 0,		/* "ok": 200, text/plain, valid */
	MTASTS_FETCH_DNS,		/* "dns": no address for the host */
	MTASTS_FETCH_CONNECT,		/* "connect": TCP failed or broke */
	MTASTS_FETCH_TLS,		/* "tls": handshake failed */
	MTASTS_FETCH_CERTIFICATE,	/* "certificate": untrusted, expired,
					 * wrong name, CN only */
	MTASTS_FETCH_HTTP_STATUS,	/* "http-status": not 200, 3xx, or
					 * an unusable HTTP answer */
	MTASTS_FETCH_MEDIA_TYPE,	/* "media-type": not text/plain */
	MTASTS_FETCH_SIZE,		/* "size": body over max_size */
	MTASTS_FETCH_TIMEOUT,		/* "timeout": connect or total */
	MTASTS_FETCH_PARSE,		/* "parse": the policy is invalid */
	MTASTS_FETCH_INTERNAL		/* "internal": our side: memory,
					 * CA file, curl misuse */
};

/*
 * The outcome of one fetch, borrowed: valid during the callback only.  The
 * callback may take the policy by copying *policy and zeroing it
 * (memset(res->policy, 0, sizeof(*res->policy))); otherwise it is freed.
 */
struct mtasts_fetch_result {
	enum mtasts_fetch_class	 cls;
	const char		*domain;	/* the policy domain */
	const char		*url;
	long			 http_status;	/* 0 when none was received */
	const char		*content_type;	/* NULL when none */
	const char		*location;	/* a 3xx's Location, or NULL */
	const char		*body;		/* NUL-terminated, may be cut */
	size_t			 body_len;
	struct mtasts_policy	*policy;	/* filled when cls is OK */
	char			 primary_ip[64];	/* "" if none */
	char			 tls_version[16];	/* "TLSv1.3", or "" */
	char			 error[256];	/* why, for logs; "" on OK */
	/* The leaf certificate, when asked for (want_certinfo), or NULL. */
	const char		*cert_subject;
	const char		*cert_issuer;
	const char		*cert_expire;
};

typedef void	mtasts_fetch_cb(void *arg, const struct mtasts_fetch_result *);

struct mtasts_fetcher;

/*
 * Initialise libcurl for the process (curl_global_init); call once from the
 * front end's main() before any thread starts, and before the first
 * mtasts_fetcher_new.  Checks that libcurl uses OpenSSL (needed for the
 * STS-28 SAN check) and speaks HTTPS.  MTASTS_OK, or MTASTS_INTERNAL with the
 * reason in diag.
 */
enum mtasts_status	 mtasts_fetch_global_init(struct mtasts_diag *);

/* The counterpart, at exit, after every fetcher is freed. */
void			 mtasts_fetch_global_cleanup(void);

/*
 * Create a fetcher.  NULL conf means all defaults.  NULL on failure (bad
 * proxy, no memory) with the reason in diag.  Caller frees with
 * mtasts_fetcher_free.
 */
struct mtasts_fetcher	*mtasts_fetcher_new(const struct mtasts_fetch_conf *,
			    struct mtasts_diag *);

/* Abort every transfer (no callbacks) and release.  NULL is accepted.  Not
 * from inside a fetch callback. */
void			 mtasts_fetcher_free(struct mtasts_fetcher *);

/*
 * Start fetching the policy of domain (a host name, lower case, no
 * trailing dot).  addrs[0..naddrs) are the IPv4/IPv6 addresses of
 * mta-sts.<domain> as text, tried in order; with none, the result is
 * class "dns" (delivered from the next mtasts_fetcher_perform, never from
 * this call).  want_certinfo asks for the leaf certificate's details.
 * MTASTS_OK with *fid (may be NULL) set to a non-zero id, and cb will run
 * exactly once from mtasts_fetcher_perform unless cancelled.
 * MTASTS_INVALID: domain is not a host name; MTASTS_INTERNAL: memory or
 * curl failure.  No callback in those cases.
 */
enum mtasts_status	 mtasts_fetch_start(struct mtasts_fetcher *,
			    const char *domain, const char *const *addrs,
			    size_t naddrs, int want_certinfo,
			    mtasts_fetch_cb *cb, void *arg, unsigned int *fid);

/* Abort a transfer; its callback will not run.  Unknown ids are ignored. */
void			 mtasts_fetch_cancel(struct mtasts_fetcher *,
			    unsigned int fid);

/*
 * Wait (curl_multi_poll) until a transfer needs attention, one of the
 * extra fds (e.g. the resolver's) is ready, mtasts_fetcher_wakeup is
 * called, or timeout_ms passes (negative: a minute); curl shortens the
 * wait to its own timeouts.  Returns at once when results are queued.
 * *numfds (may be NULL) counts ready fds.  Returns 0 or -1 (logged).
 */
int			 mtasts_fetcher_poll(struct mtasts_fetcher *,
			    struct curl_waitfd *extra, unsigned int nextra,
			    int timeout_ms, int *numfds);

/* Make a concurrent or next mtasts_fetcher_poll return; thread-safe. */
void			 mtasts_fetcher_wakeup(struct mtasts_fetcher *);

/*
 * Move transfers along (curl_multi_perform) and run the callbacks of
 * finished ones.  Callbacks may start and cancel fetches.  Returns 0 or -1
 * (logged).
 */
int			 mtasts_fetcher_perform(struct mtasts_fetcher *);

/* Number of fetches not yet reported. */
size_t			 mtasts_fetcher_running(struct mtasts_fetcher *);

/* Static name: "ok", "dns", "connect", "tls", "certificate", "http-status",
 * "media-type", "size", "timeout", "parse", "internal"; never NULL. */
const char		*mtasts_fetch_class_str(enum mtasts_fetch_class);

#endif /* MTASTS_FETCH_H */
