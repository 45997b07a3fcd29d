/*
 * filter_route.h: what OpenSMTPD's routing asks of filter-mta-sts.
 *
 * smtpd picks the delivery action of a recipient right after the filter
 * lets it through: "match ... for domain <mtasts_enforce>" sends it to
 * the verifying "relay tls" action when table-sqlite finds the domain in
 * the view enforced_domains (sql/README).  So the filter may let a
 * recipient judged under enforce through only while that lookup finds it
 * (route_adapt), and the operator's per-domain controls must be in the
 * database for the view to apply them (route_sync_controls).
 */
#ifndef MTASTS_FILTER_ROUTE_H
#define MTASTS_FILTER_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "status.h"
#include "store.h"
#include "verdict.h"

/*
 * A policy that expires sooner than this is not trusted to route: smtpd
 * asks its table a moment after our answer, and must get the same one.
 */
#define ROUTE_MARGIN_S		30
#define ROUTE_WAIT_MIN_MS	500	/* asked again for at least this long */
#define ROUTE_WAIT_MAX_MS	2000	/* ... and never longer */
#define ROUTE_POLL_MS		100
#define ROUTE_REOPEN_S		5	/* between attempts to open the store */

/* One thread's read-only connection to the store, opened when needed. */
struct route_reader {
	struct mtasts_store	*st;
	time_t			 retry_at;
};

void	route_reader_init(struct route_reader *);
void	route_reader_close(struct route_reader *);

/*
 * Fit a verdict for dom[0..len) (raw, as smtpd will look it up) to
 * OpenSMTPD:
 *  - BOUNCE cannot be done at RCPT (no message yet, and no way to drop a
 *    recipient later): it becomes DEFER, reason suffix ":bounce-unsupported";
 *  - an ACCEPT under enforce (the policy's mode, or EnforceDomains) stays
 *    ACCEPT only when the routing query finds the domain with a policy
 *    valid for ROUTE_MARGIN_S more; otherwise the recipient is deferred
 *    (451 4.7.5, reason "not-routed:<why>").  The database is asked again
 *    every ROUTE_POLL_MS while the deadline (fw_now_ms clock) allows,
 *    within the ROUTE_WAIT_* bounds, for the moment between the engine
 *    learning a policy and its row being written.
 * Everything else is left as it is.
 */
void	route_adapt(struct route_reader *, const struct mtasts_config *,
	    const char *dom, size_t len, int64_t deadline,
	    struct mtasts_verdict *v);

/*
 * Write EnforceDomains (control enforce), RoutedDomains and SkipDomains
 * (control skip, winning over enforce as in the verdict) into the store's
 * domain_controls, replacing what was there.  Entries that can match no
 * normalised domain are left out with a warning in diag.  Returns the
 * number of rows written, or -1 with the reason in diag.
 */
long	route_sync_controls(const struct mtasts_config *, time_t now,
	    struct mtasts_diag *);

#endif /* MTASTS_FILTER_ROUTE_H */
