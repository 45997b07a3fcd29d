/*
 * mxcheck.h: what the engine knows about each MX host, by host name: its
 * addresses (A and AAAA through libunbound, never the system resolver),
 * the result of its STARTTLS probe (common/probe.c), and its DNSSEC-
 * validated TLSA RRset at _25._tcp.<host> (RFC 7672 §2.2).
 *
 * Threads.  Any thread may ask (mtasts_mxcheck_probe, mtasts_mxcheck_dane)
 * and wait within a budget; the engine's worker thread does all the work,
 * from its event loop: it owns the resolver, the prober and the store
 * handle given here.  Everything shared sits under one mutex inside; the
 * askers wait on one condition variable that the worker broadcasts when a
 * host's answer is complete.
 *
 * Sharing and politeness.  A host is probed once for everyone who asks
 * while the probe runs.  A result is kept for MxProbeCacheTime (a pass)
 * or MxProbeFailureCacheTime (anything else), in memory and in the store;
 * once it is older, the next asker gets it at once, still, while one new
 * probe runs in the background, and no probe of a host starts sooner than
 * MxProbeMinInterval after the previous one.  So a failing host costs one
 * probe per failure lifetime however much mail waits for it, and only the
 * first asker of a host never seen waits for a probe.
 *
 * The worker loop (see probe.h for the prober's part):
 *	mtasts_mxcheck_work(mc);                       start what was asked
 *	n = mtasts_mxcheck_waitfds(mc, wfd + k, max - k);
 *	t = mtasts_mxcheck_timeout_ms(mc);
 *	curl_multi_poll(...);
 *	resolver callbacks run as usual (they may land here);
 *	mtasts_mxcheck_process(mc, wfd, k + n);
 */
#ifndef MTASTS_MXCHECK_H
#define MTASTS_MXCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "dane.h"
#include "probe.h"
#include "resolver.h"
#include "status.h"

struct mtasts_store;
struct mtasts_stored_probe;

#define MTASTS_MXCHECK_ADDRS	4	/* addresses kept and tried */

/* What one probe result means for the RCPT verdict. */
enum mtasts_mxprobe_state {
	MTASTS_MXPROBE_PENDING = 0,	/* no result yet */
	MTASTS_MXPROBE_PASS,		/* STARTTLS with a valid certificate */
	MTASTS_MXPROBE_TLS_FAIL,	/* one of the RFC 8460 TLS failures:
					 * TLS cannot be satisfied there */
	MTASTS_MXPROBE_INCONCLUSIVE	/* connect, timeout, protocol, DNS,
					 * no address, internal: transient,
					 * proves nothing about TLS */
};

/*
 * The probe of one host as an asker sees it; plain data.  cls is the
 * class name of probe.h ("ok", "starttls-not-supported", ...) or
 * "no-address", "dns-servfail", "dns-timeout", "dns-bogus", "dns-error"
 * when no address could be had; "" while pending.  res is the last
 * probe's detail (res.cls is meaningless for the DNS classes).
 */
struct mtasts_mxprobe {
	enum mtasts_mxprobe_state	 state;
	int				 stale;	/* older than its lifetime;
						 * a new probe is due */
	char				 cls[32];
	int64_t				 probed_at;
	int64_t				 expires_at;
	struct mtasts_probe_result	 res;
};

/* The DNSSEC view of one host, for DANE. */
struct mtasts_mxdane {
	enum mtasts_dane_host	 state;
	size_t			 tlsa_usable;	/* usable records */
	size_t			 tlsa_total;
	int			 addr_secure;
	int			 tlsa_secure;
};

struct mtasts_mxcheck_conf {
	struct mtasts_probe_conf probe;
	long		 ok_ttl;	/* s, a pass is kept */
	long		 fail_ttl;	/* s, anything else is kept */
	long		 min_interval;	/* s, between probes of a host */
	size_t		 max_hosts;	/* 0: MXCHECK default */
	int64_t		(*now)(void *arg);	/* Unix seconds */
	void		*now_arg;
	void		(*wakeup)(void *arg);	/* wake the worker loop */
	void		*wakeup_arg;
	struct mtasts_resolver *res;	/* the worker's; borrowed */
	struct mtasts_store *store;	/* the worker's, may be NULL */
};

struct mtasts_mxcheck;

/*
 * Create (the prober with its CA store included).  conf is copied; res
 * and store are borrowed and must outlive the mxcheck.  NULL with the
 * reason in diag (CA store unreadable, no memory).  Free with
 * mtasts_mxcheck_free after the worker stopped.
 */
struct mtasts_mxcheck	*mtasts_mxcheck_new(const struct mtasts_mxcheck_conf *,
			    struct mtasts_diag *);
void			 mtasts_mxcheck_free(struct mtasts_mxcheck *);

/* Lifetimes and politeness after a reload; any thread. */
void			 mtasts_mxcheck_set_ttls(struct mtasts_mxcheck *,
			    long ok_ttl, long fail_ttl, long min_interval);

/*
 * The probes of hosts[0..n) (MX host names, lower case) into out[0..n).
 * Hosts without any result are probed and waited for up to budget_ms
 * (0: never wait); those still running come back PENDING.  MTASTS_OK, or
 * MTASTS_INTERNAL when stopping.  Thread-safe.
 */
enum mtasts_status	 mtasts_mxcheck_probe(struct mtasts_mxcheck *,
			    const char *const *hosts, size_t n, long budget_ms,
			    struct mtasts_mxprobe *out);

/*
 * The DNSSEC state of hosts[0..n) into out[0..n): A, AAAA and TLSA asked
 * for hosts not known (or known for longer than their TTL), waited for up
 * to budget_ms; what is still missing is MTASTS_DANE_HOST_PENDING.
 * MTASTS_OK, or MTASTS_INTERNAL when stopping.  Thread-safe.
 */
enum mtasts_status	 mtasts_mxcheck_dane(struct mtasts_mxcheck *,
			    const char *const *hosts, size_t n, long budget_ms,
			    struct mtasts_mxdane *out);

/* Worker: start the lookups and probes that were asked for. */
void			 mtasts_mxcheck_work(struct mtasts_mxcheck *);

/* Worker: the prober's sockets into wfd[0..max); returns how many. */
unsigned int		 mtasts_mxcheck_waitfds(struct mtasts_mxcheck *,
			    struct curl_waitfd *wfd, unsigned int max);

/* Worker: ms until a probe deadline, -1 for none. */
long			 mtasts_mxcheck_timeout_ms(struct mtasts_mxcheck *);

/* Worker: move probes along with the poll results in wfd[0..n). */
void			 mtasts_mxcheck_process(struct mtasts_mxcheck *,
			    const struct curl_waitfd *wfd, unsigned int n);

/*
 * Worker: abandon every lookup and probe and wake every asker; later asks
 * fail.  Called when the engine stops, before the resolver goes.
 */
void			 mtasts_mxcheck_stop(struct mtasts_mxcheck *);

/* Worker, before it loops: take a stored result (store.h) into memory. */
void			 mtasts_mxcheck_load(struct mtasts_mxcheck *,
			    const struct mtasts_stored_probe *);

/* Counters for stats. */
struct mtasts_mxcheck_stats {
	size_t		 hosts;		/* in memory */
	size_t		 running;	/* probes queued or running */
	uint64_t	 probes;	/* started since start-up */
	uint64_t	 shared;	/* asks served by a running probe */
};
void			 mtasts_mxcheck_stats(struct mtasts_mxcheck *,
			    struct mtasts_mxcheck_stats *);

/* Pure: the verdict meaning of a result class name (see above). */
enum mtasts_mxprobe_state mtasts_mxprobe_state_of(const char *cls);

/*
 * Pure: the verdict over the probes of every policy-matching MX host.
 *  PASS          at least one passed
 *  TLS_FAIL      every one failed with a TLS failure: TLS cannot be
 *                satisfied, the failure action applies
 *  INCONCLUSIVE  none passed, and at least one failed only transiently
 *  PENDING       none passed, none inconclusive, some not finished
 * n == 0 gives PENDING.
 */
enum mtasts_mxprobe_state mtasts_mxprobe_summary(
			    const enum mtasts_mxprobe_state *states, size_t n);

/*
 * Pure: seconds a result of class cls is kept: ok_ttl for "ok",
 * fail_ttl for TLS failures, and for transient ones fail_ttl capped at
 * two minutes (a host that was briefly down is soon looked at again, but
 * never sooner than min_interval).
 */
long			 mtasts_mxprobe_ttl(const char *cls, long ok_ttl,
			    long fail_ttl, long min_interval);

/* "pending", "pass", "tls-fail", "inconclusive"; never NULL. */
const char		*mtasts_mxprobe_state_str(enum mtasts_mxprobe_state);

#endif /* MTASTS_MXCHECK_H */
