/*
 * resolver.h: asynchronous DNS over libunbound, driven by the engine's event
 * loop (DESIGN.md: all DNS goes through libunbound).
 *
 * The engine's worker thread owns a resolver.  It waits on
 * mtasts_resolver_fd() (among the extra fds of curl_multi_poll), calls
 * mtasts_resolver_process() when that fd is readable and
 * mtasts_resolver_expire() when mtasts_resolver_next_timeout_ms() has run
 * out.  Answers arrive through callbacks, from inside those two calls only.
 * Nothing here is thread-safe: only the thread that drives the loop calls
 * these functions.
 *
 * libunbound runs in its thread mode (ub_ctx_async(ctx, 1)): one resolver
 * thread per context that writes finished answers to a pipe, whose read end
 * is ub_fd().  Fork mode is not used because it forks the whole daemon on
 * the first query, which is unsafe in a threaded milter (libmilter threads,
 * OpenSSL and SQLite state) and doubles its memory; thread mode gives the
 * same ub_fd()/ub_process() interface.
 *
 * libunbound keeps retrying a silent server for a long time, so each query
 * here has its own deadline (conf.timeout_ms); when it passes the query is
 * cancelled in libunbound and its callback gets MTASTS_DNS_TIMEOUT.
 */
#ifndef MTASTS_RESOLVER_H
#define MTASTS_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* RR types the engine asks for. */
#define MTASTS_RR_A		1
#define MTASTS_RR_CNAME		5
#define MTASTS_RR_MX		15
#define MTASTS_RR_TXT		16
#define MTASTS_RR_AAAA		28
#define MTASTS_RR_TLSA		52

#define MTASTS_RESOLVER_TIMEOUT_DEFAULT	10000	/* ms, per query */

/* Room for a host name as text: 253 octets, a NUL, and spare. */
#define MTASTS_DNS_NAME_BUFSZ	256
/* Room for an address as text (INET6_ADDRSTRLEN). */
#define MTASTS_DNS_ADDR_BUFSZ	46

struct mtasts_resolver_conf {
	/*
	 * An unbound.conf-style file (ub_ctx_config): forward-zone,
	 * local-data, ...  NULL for none.
	 */
	const char		*config_file;
	/*
	 * Servers to forward every query to ("192.0.2.1", "::1",
	 * "127.0.0.1@5353"); loopback forwarders are allowed.  With neither
	 * config_file nor forwarders the servers of /etc/resolv.conf are
	 * used.  /etc/hosts is never read: all names go through DNS.
	 */
	const char *const	*forwarders;
	size_t			 nforwarders;
	/*
	 * A trust anchor file (ub_ctx_add_ta_file) turns on DNSSEC
	 * validation: answers then carry secure/bogus.  NULL for none.
	 */
	const char		*trust_anchor_file;
	long			 timeout_ms;	/* per query; <= 0: default */
};

enum mtasts_dns_rcode {
	MTASTS_DNS_OK = 0,	/* at least one record of the type asked */
	MTASTS_DNS_NODATA,	/* the name exists, without that type */
	MTASTS_DNS_NXDOMAIN,	/* the name does not exist */
	MTASTS_DNS_SERVFAIL,	/* server failure or any other rcode */
	MTASTS_DNS_TIMEOUT,	/* no answer before the query's deadline */
	MTASTS_DNS_BOGUS,	/* DNSSEC validation failed: possible attack */
	MTASTS_DNS_ERROR	/* libunbound or resource failure */
};

/*
 * An answer, borrowed: valid during the callback only.  The caller copies
 * what it keeps.
 */
struct mtasts_dns_answer {
	enum mtasts_dns_rcode	 status;
	const char		*qname;		/* as asked, never NULL */
	int			 rrtype;	/* as asked */
	int			 rcode;		/* DNS rcode: 0, 2, 3... */
	int			 secure;	/* 1: DNSSEC-validated */
	int			 ttl;		/* seconds, 0 when unknown */
	/*
	 * libunbound follows CNAME chains itself.  canonname is the owner
	 * of the records after the last CNAME, as text without the
	 * trailing dot; it equals qname when no CNAME was involved.  Never
	 * NULL.
	 */
	const char		*canonname;
	size_t			 count;		/* records, 0 unless OK */
	/* rdata[i] is rdlen[i] bytes in uncompressed wire form. */
	const unsigned char *const *rdata;
	const size_t		*rdlen;
	const char		*why_bogus;	/* with BOGUS, else NULL */
	const char		*error;		/* with ERROR, else NULL */
};

typedef void	mtasts_dns_cb(void *arg, const struct mtasts_dns_answer *);

struct mtasts_resolver;

/*
 * Create a resolver.  NULL conf means all defaults.  Returns NULL on failure
 * with the reason (ub_strerror, file name) in diag.  Caller frees with
 * mtasts_resolver_free.
 */
struct mtasts_resolver	*mtasts_resolver_new(
			    const struct mtasts_resolver_conf *,
			    struct mtasts_diag *);

/*
 * Cancel every pending query (no callbacks) and release the resolver.  NULL
 * is accepted.  Must not be called from inside a resolver callback.
 */
void			 mtasts_resolver_free(struct mtasts_resolver *);

/*
 * Start an asynchronous query of name (text, trailing dot optional) for
 * rrtype in class IN.  On MTASTS_OK, *qid (may be NULL) holds a non-zero id
 * and cb will be called exactly once, from mtasts_resolver_process or
 * mtasts_resolver_expire, unless the query is cancelled first.
 * MTASTS_INVALID: the name is not a usable DNS name; MTASTS_INTERNAL:
 * libunbound or memory failed (logged).  No callback in those cases.
 * Callbacks may start and cancel queries.
 */
enum mtasts_status	 mtasts_resolver_query(struct mtasts_resolver *,
			    const char *name, int rrtype, mtasts_dns_cb *cb,
			    void *arg, unsigned int *qid);

/* Cancel a pending query; its callback will not run.  Unknown ids are
 * ignored (the query may have finished). */
void			 mtasts_resolver_cancel(struct mtasts_resolver *,
			    unsigned int qid);

/* The fd that becomes readable when answers are ready (POLLIN). */
int			 mtasts_resolver_fd(struct mtasts_resolver *);

/*
 * Read ready answers and run their callbacks.  Does not block.  Returns 0,
 * or -1 when libunbound failed (logged).
 */
int			 mtasts_resolver_process(struct mtasts_resolver *);

/* A monotonic clock in milliseconds, the time base of the next two. */
uint64_t		 mtasts_resolver_now(void);

/*
 * Milliseconds from now until the earliest query deadline (0 when one has
 * passed), or -1 when no query is pending.
 */
long			 mtasts_resolver_next_timeout_ms(
			    struct mtasts_resolver *, uint64_t now);

/* Cancel every query whose deadline is at or before now; each callback
 * gets MTASTS_DNS_TIMEOUT. */
void			 mtasts_resolver_expire(struct mtasts_resolver *,
			    uint64_t now);

/* Number of pending queries. */
size_t			 mtasts_resolver_pending(struct mtasts_resolver *);

/*
 * Blocking convenience for the CLI and tests: start the query, then poll
 * the fd, process and expire until its callback has run (other pending
 * queries progress too).  The status is that of mtasts_resolver_query; on
 * MTASTS_OK cb has been called exactly once.  Not for the worker thread.
 */
enum mtasts_status	 mtasts_resolver_query_sync(struct mtasts_resolver *,
			    const char *name, int rrtype, mtasts_dns_cb *cb,
			    void *arg);

/* Static lower-case name: "ok", "nodata", "nxdomain", "servfail",
 * "timeout", "bogus", "error"; never NULL. */
const char		*mtasts_dns_rcode_str(enum mtasts_dns_rcode);

/*
 * Decode MX rdata (RFC 1035 §3.3.9): a 16-bit preference, then the exchange
 * name in uncompressed wire form filling the rest of the rdata exactly.
 * The name is written lower-cased, without trailing dot, into name[size];
 * the root name (a null MX, RFC 7505) gives "".  Labels may hold only
 * letters, digits, '-' and '_'; compression pointers, extended label types,
 * overlong labels or names and trailing bytes are refused.  Returns 0, or
 * -1 (name set to "" when size > 0).
 */
int			 mtasts_dns_mx_parse(const unsigned char *rdata,
			    size_t len, unsigned int *pref, char *name,
			    size_t size);

/*
 * A (4 bytes) or AAAA (16 bytes) rdata to text (inet_ntop) in out[size];
 * size MTASTS_DNS_ADDR_BUFSZ is always enough.  Returns 0, or -1 when
 * rrtype and len do not fit or out is too small.
 */
int			 mtasts_dns_addr_str(int rrtype,
			    const unsigned char *rdata, size_t len, char *out,
			    size_t size);

#endif /* MTASTS_RESOLVER_H */
