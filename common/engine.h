/*
 * engine.h: the MTA-STS engine as the front ends see it.  One engine per
 * process: a worker thread discovers, fetches, stores and refreshes
 * policies (RFC 8461 §3, §5.1, §10.2) while any number of caller threads
 * ask about domains.  Answers come from memory; a caller that finds nothing
 * known may wait for the discovery within a time budget, and gets "pending"
 * when the budget runs out, so one slow domain never holds up another.
 */
#ifndef MTASTS_ENGINE_H
#define MTASTS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "conf.h"
#include "dane.h"
#include "mxcheck.h"
#include "policy.h"
#include "status.h"

/* Settings the configuration file does not carry: test seams. */
struct mtasts_engine_opts {
	/* Wall clock in seconds; NULL for time(3).  Called by every thread. */
	int64_t		(*now)(void *arg);
	void		*now_arg;
	int		 https_port;	/* 0: 443 */
	int		 no_store;	/* 1: memory only, never open SQLite */
	int		 no_refresher;	/* 1: no background refresh scans */
};

/*
 * A snapshot of what the engine knows about one domain, owned by the
 * caller (release with mtasts_answer_clear).
 *
 *  status MTASTS_OK        a valid policy: mode, id, mx patterns, times
 *  status MTASTS_NOPOLICY  none: reason says why ("no-txt", "bad-txt",
 *                          "multi-txt", or the class of a failed fetch
 *                          such as "timeout", "certificate", ...)
 *  status MTASTS_TEMPFAIL  not known yet (pending, reason "pending") or
 *                          DNS trouble with nothing cached ("dns-servfail",
 *                          "dns-timeout", "dns-bogus")
 *  status MTASTS_INTERNAL  out of memory, engine stopped
 */
struct mtasts_answer {
	enum mtasts_status		 status;
	int				 pending;	/* discovery running */
	enum mtasts_mode		 mode;
	char				 id[MTASTS_ID_MAX + 1];
	char				 reason[32];
	int64_t				 fetched_at;
	int64_t				 expires_at;
	size_t				 nmx;
	struct mtasts_cache_entry	*entry;		/* private copy */
};

/* The i-th mx pattern of an answer (i < nmx), borrowed from it. */
const char	*mtasts_answer_mx(const struct mtasts_answer *, size_t i);

/* Release an answer; it may be reused. */
void		 mtasts_answer_clear(struct mtasts_answer *);

struct mtasts_engine;

/*
 * Create an engine from a configuration (borrowed; it must outlive the
 * engine) and start its worker: open the store (a store that cannot be
 * opened is logged and the engine runs from memory), load the policies it
 * holds, create the resolver and the fetcher.  NULL with the reason in diag
 * when the resolver or fetcher cannot be set up.  Call
 * mtasts_fetch_global_init() once before.
 */
struct mtasts_engine	*mtasts_engine_new(const struct mtasts_config *,
			    const struct mtasts_engine_opts *,
			    struct mtasts_diag *);

/* Stop the worker (running discoveries are abandoned) and free. */
void			 mtasts_engine_free(struct mtasts_engine *);

/*
 * What is known about domain (normalised: mtasts_domain_normalize).  When
 * nothing usable is cached a discovery is started, and the caller waits
 * for it up to budget_ms (0: never waits).  Lookups that find a policy due
 * for its TXT re-check or refresh start that in the background and answer
 * from the cache at once.  With budget_ms 0, a negative result that has
 * run out is still the answer (pending set) while it is checked again.
 * Thread-safe.
 */
enum mtasts_status	 mtasts_engine_lookup(struct mtasts_engine *,
			    const char *domain, long budget_ms,
			    struct mtasts_answer *out);

/*
 * Check the domain now, whatever the cache says: TXT query and, when the
 * id changed or force is set, a new fetch (the re-check of RFC 8461 §5.1
 * step 3, and mta-sts-ctl refresh).  Retry spacing after failed fetches is
 * kept unless force is set.  Waits up to budget_ms, then answers like
 * mtasts_engine_lookup.  Thread-safe.
 */
enum mtasts_status	 mtasts_engine_refresh(struct mtasts_engine *,
			    const char *domain, int force, long budget_ms,
			    struct mtasts_answer *out);

/* Drop everything known about domain, in memory and in the store. */
void			 mtasts_engine_forget(struct mtasts_engine *,
			    const char *domain);

/*
 * When the _mta-sts TXT record behind a policy answer was last looked up
 * (the fetch itself counts), 0 when unknown.  *trouble (may be NULL) gets
 * "" when that lookup was answered, or the class of its temporary failure
 * ("dns-servfail", "dns-timeout", ...) when the cached policy was kept
 * because DNS failed: such a look-up is no re-check in the sense of RFC
 * 8461 §5.1 step 3.  Borrowed from the answer.
 */
int64_t		 mtasts_answer_txt_checked(const struct mtasts_answer *,
		    const char **trouble);

/*
 * MX lookups for RCPT-time verdicts.  The worker asks libunbound, like
 * for discoveries, and keeps each RRset in memory for its TTL (bounded),
 * negative answers too, so that a busy domain costs one lookup per TTL.
 */
#define MTASTS_MX_SET_MAX	16	/* hosts kept, best preference first */
#define MTASTS_MX_NAME_BUFSZ	256

/*
 * The MX hosts of a domain, owned by the caller (plain data, nothing to
 * release).
 *
 *  status MTASTS_OK        host[0..n) in preference order (RFC 5321
 *                          §5.1), duplicates removed.  With no MX record
 *                          (NODATA, implicit) or only a null MX (RFC
 *                          7505, null_mx) the set is the domain itself,
 *                          as RFC 8461 §4.1 matches the implicit MX.
 *  status MTASTS_NOPOLICY  the domain does not exist: reason "nxdomain"
 *  status MTASTS_TEMPFAIL  reason "pending" (lookup still running when
 *                          the budget ran out), "dns-servfail",
 *                          "dns-timeout", "dns-bogus", "dns-error" or
 *                          "bad-mx" (no record could be read)
 *  status MTASTS_INTERNAL  out of memory, engine stopped
 */
struct mtasts_mx_set {
	enum mtasts_status	 status;
	int			 pending;
	int			 implicit;
	int			 null_mx;
	int			 secure;	/* DNSSEC-validated answer */
	size_t			 n;
	size_t			 total;		/* records seen; n may be less */
	int64_t			 expires_at;
	char			 reason[32];
	unsigned int		 pref[MTASTS_MX_SET_MAX];
	char			 host[MTASTS_MX_SET_MAX][MTASTS_MX_NAME_BUFSZ];
};

/*
 * The MX set of domain (normalised).  Answered from memory when known;
 * otherwise one lookup per domain is started (shared by all callers) and
 * the caller waits up to budget_ms.  Thread-safe.
 */
enum mtasts_status	 mtasts_engine_mx(struct mtasts_engine *,
			    const char *domain, long budget_ms,
			    struct mtasts_mx_set *out);

/*
 * STARTTLS probes of MX hosts (common/mxcheck.c): the results for
 * hosts[0..n) into out[0..n), probing hosts never seen and waiting for
 * them up to budget_ms; stale results come back at once while a new
 * probe runs.  Thread-safe.
 */
enum mtasts_status	 mtasts_engine_probe(struct mtasts_engine *,
			    const char *const *hosts, size_t n, long budget_ms,
			    struct mtasts_mxprobe *out);

/*
 * Whether DANE applies to a domain (RFC 7672; common/dane.c), from its MX
 * set and, for each MX host, A, AAAA and TLSA at _25._tcp.<host>, all
 * validated by libunbound (TrustAnchorFile).  Plain data.
 */
struct mtasts_dane_answer {
	enum mtasts_dane_outcome outcome;
	char			 reason[32];	/* mtasts_dane_decide's token */
	int			 mx_secure;
	size_t			 n;
	char			 host[MTASTS_MX_SET_MAX][MTASTS_MX_NAME_BUFSZ];
	enum mtasts_dane_host	 host_state[MTASTS_MX_SET_MAX];
	size_t			 tlsa_usable[MTASTS_MX_SET_MAX];
};

/*
 * Decide whether DANE applies to domain (normalised), waiting for DNS up
 * to budget_ms (0: from memory, lookups start in the background and the
 * outcome is PENDING until they are in).  MTASTS_OK with out filled, or
 * MTASTS_INTERNAL (stopping).  Thread-safe.
 */
enum mtasts_status	 mtasts_engine_dane(struct mtasts_engine *,
			    const char *domain, long budget_ms,
			    struct mtasts_dane_answer *out);

/* The engine's clock (the injected one in tests), in Unix seconds. */
int64_t			 mtasts_engine_now(const struct mtasts_engine *);

struct mtasts_engine_stats {
	size_t		domains;	/* entries in memory */
	size_t		policies[3];	/* usable policies per mode */
	size_t		negatives;
	size_t		discoveries;	/* queued or running now */
	uint64_t	lookups;
	uint64_t	hits;		/* answered from memory */
	uint64_t	fetches;
	uint64_t	fetch_failures;
	int		store_ok;	/* the SQLite store is in use */
	size_t		probe_hosts;	/* MX hosts known to mxcheck */
	size_t		probes_running;
	uint64_t	probes;		/* probe connections started */
	uint64_t	probes_shared;	/* asks served by a running probe */
};

/* Counters and sizes, consistent at one instant.  Thread-safe. */
void			 mtasts_engine_stats(struct mtasts_engine *,
			    struct mtasts_engine_stats *);

#endif /* MTASTS_ENGINE_H */
