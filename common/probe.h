/*
 * probe.h: the MX STARTTLS probe (RFC 8461 §4, §4.2; STS-39, STS-40,
 * STS-46..STS-49), non-blocking, driven by the engine worker's event loop.
 *
 * One probe checks one MX host at one address: TCP connect, the 220
 * greeting, EHLO, the STARTTLS extension, STARTTLS, a TLS handshake
 * (OpenSSL, TLS 1.2 or newer, SNI = the MX host name), the chain against
 * the configured CA file or directory (the system store by default), then
 * the MX host name against the leaf's DNS subjectAltNames only: the subject
 * CN is never used and a wildcard only stands for a whole left-most label.
 * Then QUIT.  Nothing but EHLO, STARTTLS and QUIT is ever sent.
 *
 * Why a prober that owns many probes, rather than probe objects the engine
 * polls one by one: the fetcher and the resolver already have this shape
 * (start with a callback, poll, process), the engine keeps one fd array for
 * curl_multi_poll's extra fds, and the prober can then bound how many
 * connections are open at once, queue the rest, and finish the polite QUIT
 * of a decided probe after its result has been delivered, so a result never
 * waits for the server's goodbye.
 *
 * The loop, on the worker thread:
 *
 *	n = mtasts_prober_waitfds(pr, wfd + k, max - k);
 *	t = mtasts_prober_timeout_ms(pr);        (-1: no deadline)
 *	curl_multi_poll(..., wfd, k + n, min(timeout, t), ...)
 *	mtasts_prober_process(pr, wfd, k + n);   (callbacks run here)
 *
 * The array given to mtasts_prober_process may hold other fds as well
 * (those are ignored); it must be the one filled by the last waitfds call,
 * with revents as curl_multi_poll left them.  Nothing here is thread-safe:
 * one thread drives a prober.
 *
 * Writes never raise SIGPIPE (send(2) with MSG_NOSIGNAL, also under TLS).
 */
#ifndef MTASTS_PROBE_H
#define MTASTS_PROBE_H

#include <stddef.h>

#include <curl/curl.h>

#include "status.h"

#define MTASTS_PROBE_PORT_DEFAULT	25
#define MTASTS_PROBE_TIMEOUT_DEFAULT	20000	/* ms, a whole probe */
#define MTASTS_PROBE_RUNNING_DEFAULT	32	/* connections at once */
#define MTASTS_PROBE_QUIT_GRACE		2000	/* ms, for the QUIT reply */

struct mtasts_probe_conf {
	const char	*helo_name;	/* EHLO argument; NULL: gethostname */
	const char	*ca_file;	/* PEM bundle; NULL: system default */
	const char	*ca_path;	/* hashed directory; NULL: default */
	long		 timeout_ms;	/* <= 0: default */
	int		 port;		/* 0: 25 */
	size_t		 max_running;	/* sockets at once, QUIT included;
					 * 0: default; more are queued */
};

/*
 * Result classes.  The first six carry the result-type names of RFC 8460
 * §4.3 (RPT-11) so that a TLS report can use them as they are.  connect,
 * timeout and protocol are the transient trouble RFC 8460 §4.3.4 lets us
 * leave out of reports (RPT-12); internal is our side (memory, sockets).
 * The names (mtasts_probe_class_str) may be stored: never change them.
 */
enum mtasts_probe_class {
	MTASTS_PROBE_OK = 0,		/* "ok" */
	MTASTS_PROBE_STARTTLS_NOT_SUPPORTED, /* "starttls-not-supported" */
	MTASTS_PROBE_HOST_MISMATCH,	/* "certificate-host-mismatch" */
	MTASTS_PROBE_EXPIRED,		/* "certificate-expired" */
	MTASTS_PROBE_NOT_TRUSTED,	/* "certificate-not-trusted" */
	MTASTS_PROBE_VALIDATION_FAILURE, /* "validation-failure" */
	MTASTS_PROBE_CONNECT,		/* "connect": refused, unreachable */
	MTASTS_PROBE_TIMEOUT,		/* "timeout" */
	MTASTS_PROBE_PROTOCOL,		/* "protocol": 4xx/5xx greeting,
					 * garbage, connection closed */
	MTASTS_PROBE_INTERNAL		/* "internal" */
};

#define MTASTS_PROBE_CERT_NAMES		512

/*
 * What a probe found; plain data (copy it by assignment).  Passed to the
 * callback borrowed, valid during the call.  Certificate fields are filled
 * whenever the server presented one, also when it failed validation, so
 * that an operator sees what was offered.
 */
struct mtasts_probe_result {
	enum mtasts_probe_class	 cls;
	char		 host[256];	/* MX host name, also the SNI sent */
	char		 addr[64];	/* peer address as given */
	int		 port;
	int		 smtp_code;	/* last reply code read, 0 if none */
	long		 verify_error;	/* OpenSSL X509_V_ERR_*, 0 if none:
					 * RFC 8460 failure-reason-code */
	long		 elapsed_ms;
	char		 tls_version[16];	/* "TLSv1.3", "" before TLS */
	char		 tls_cipher[64];
	char		 cert_names[MTASTS_PROBE_CERT_NAMES]; /* DNS SANs,
					 * comma-separated, "" if none */
	char		 cert_subject[256];	/* RFC 2253 */
	char		 cert_issuer[256];
	char		 cert_not_after[32];	/* "2026-01-31T12:00:00Z" */
	char		 detail[256];	/* why, for logs; "" when ok */
};

typedef void	mtasts_probe_cb(void *arg, const struct mtasts_probe_result *);

struct mtasts_prober;

/*
 * Create a prober: an OpenSSL client context with TLS 1.2 as the minimum
 * and the CA store loaded.  NULL conf means all defaults.  NULL on failure
 * (unreadable CA file, no memory) with the reason in diag.  Caller frees
 * with mtasts_prober_free.  OpenSSL initialises itself (1.1.0 and later).
 */
struct mtasts_prober	*mtasts_prober_new(const struct mtasts_probe_conf *,
			    struct mtasts_diag *);

/* Close every connection, without callbacks, and release.  NULL is
 * accepted.  Not from inside a callback. */
void			 mtasts_prober_free(struct mtasts_prober *);

/*
 * Start probing host (an MX host name, A-labels, one trailing dot allowed)
 * at addr (IPv4 or IPv6 address as text).  MTASTS_OK with *pid (may be
 * NULL) set to a non-zero id; cb then runs exactly once, from
 * mtasts_prober_process, never from this call, unless cancelled.
 * MTASTS_INVALID: host or addr is malformed; MTASTS_INTERNAL: no memory.
 * No callback in those cases.  May be called from a callback.
 */
enum mtasts_status	 mtasts_probe_start(struct mtasts_prober *,
			    const char *host, const char *addr,
			    mtasts_probe_cb *cb, void *arg, unsigned int *pid);

/* Abandon a probe; its callback will not run.  Unknown ids are ignored. */
void			 mtasts_probe_cancel(struct mtasts_prober *,
			    unsigned int pid);

/*
 * Fill wfd[0..max) with the sockets to wait for (events set with
 * CURL_WAIT_POLLIN or CURL_WAIT_POLLOUT, revents cleared) and return how
 * many.  Never more than max_running are needed.
 */
unsigned int		 mtasts_prober_waitfds(struct mtasts_prober *,
			    struct curl_waitfd *wfd, unsigned int max);

/*
 * Milliseconds until the earliest deadline (0 when results are waiting to
 * be delivered), or -1 when nothing is in progress.
 */
long			 mtasts_prober_timeout_ms(struct mtasts_prober *);

/*
 * Move probes along: those whose socket is ready in wfd[0..n), and those
 * whose deadline passed; start queued ones; run the callbacks of finished
 * ones.  wfd may be NULL with n 0 (deadlines only).  Callbacks may start
 * and cancel probes.
 */
void			 mtasts_prober_process(struct mtasts_prober *,
			    const struct curl_waitfd *wfd, unsigned int n);

/* Probes whose callback has not run yet (queued or in progress). */
size_t			 mtasts_prober_running(struct mtasts_prober *);

/* Sockets open now: running probes plus decided ones saying QUIT. */
size_t			 mtasts_prober_nfds(struct mtasts_prober *);

/* Static names as listed with enum mtasts_probe_class; never NULL. */
const char		*mtasts_probe_class_str(enum mtasts_probe_class);

#endif /* MTASTS_PROBE_H */
