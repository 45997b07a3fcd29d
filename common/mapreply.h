/*
 * mapreply.h: the TLS policy map of Postfix (smtp_tls_policy_maps) and
 * Sendmail (FEATURE(`sts')) as pure functions: what a socketmap request
 * asks for, and the reply an engine answer gives.  No I/O and no engine
 * calls here, so every reply form is testable from a table.
 *
 * Request payload: "<mapname> <key>".  The key is Postfix's next-hop
 * destination (the recipient domain, or a transport(5) next hop such as
 * "[relay.example.com]:587") or Sendmail's lower-cased recipient domain.
 *
 * Replies (LAB.md sections 2.3, 2.4, 3.4):
 *   "OK secure match=<n1>:<n2>... servername=hostname"
 *			an enforce policy; "*.example.com" is written
 *			".example.com", the parent-domain form both MTAs use
 *   "NOTFOUND "	no policy, mode testing or none, parent keys,
 *			address literals, keys that are no domain name
 *   "TEMP <reason>"	the policy of an enforce domain cannot be applied
 *			right now: discovery running, DNS trouble, an
 *			internal error.  PERM is never sent: Sendmail takes
 *			it as "no policy" and would deliver in the clear.
 */
#ifndef MTASTS_MAPREPLY_H
#define MTASTS_MAPREPLY_H

#include <stddef.h>

#include "buf.h"
#include "conf.h"
#include "domain.h"
#include "engine.h"

/* Bytes of a request payload: "name key" with a key of any sane size. */
#define MTASTS_MAPREQ_MAX	10000
/* Bytes of a reply payload; Postfix takes up to 100000. */
#define MTASTS_MAPREPLY_MAX	65536

enum mtasts_mapkey_kind {
	MTASTS_MAPKEY_DOMAIN = 0,	/* look the domain up */
	MTASTS_MAPKEY_PARENT,		/* ".example.com", Postfix's parent probe */
	MTASTS_MAPKEY_LITERAL,		/* [192.0.2.1], [ipv6:...], a bare address */
	MTASTS_MAPKEY_INVALID		/* not a domain name */
};

/* A parsed request.  map borrows from the payload given to the parser. */
struct mtasts_mapreq {
	const char		*map;		/* map name, not NUL-terminated */
	size_t			 maplen;
	enum mtasts_mapkey_kind	 kind;
	/* the key came as "[host]", "[host]:port" or "host:port" */
	int			 nexthop;
	/* DOMAIN: the policy domain, normalised; others: "" */
	char			 domain[MTASTS_DOMAIN_BUFSZ];
};

/*
 * Parse the payload p[0..len) of a request.  Returns 0 with *out filled,
 * or -1 when the payload has no map name and key separated by one space,
 * or holds a NUL byte: a malformed request, not a lookup.
 */
int	mtasts_mapreq_parse(const char *p, size_t len,
	    struct mtasts_mapreq *out);

/*
 * Classify a key k[0..len) and, for a domain, write the policy domain
 * into domain.  "[host]" and "[host]:port" are relay next hops: RFC 8461
 * section 3.4 makes the smart host's own domain the policy domain when
 * the relay is configured by hand, so host is looked up.
 * "host:port" keeps Postfix's MX lookup of host, whose domain is host.
 * *nexthop (may be NULL) tells that brackets or a port were removed.
 */
enum mtasts_mapkey_kind	 mtasts_mapkey_parse(const char *k, size_t len,
			    char domain[MTASTS_DOMAIN_BUFSZ], int *nexthop);

enum mtasts_mapreply_kind {
	MTASTS_MAPREPLY_OK = 0,
	MTASTS_MAPREPLY_NOTFOUND,
	MTASTS_MAPREPLY_TEMP
};

/*
 * The concrete MX host names of a domain, when known: lower case, without
 * trailing dot; an implicit MX is the domain itself.  host may hold
 * names that match no pattern; they are left out of the reply.
 */
struct mtasts_mxset {
	const char *const	*host;
	size_t			 n;
};

/*
 * The reply text (without netstring framing) for a request of key kind
 * and, for MTASTS_MAPKEY_DOMAIN, the engine's answer a (may be NULL for
 * other kinds).  mx is NULL to list the policy's patterns; otherwise the
 * hosts of mx that match a pattern (RFC 8461 section 4.1: one label for
 * "*.") are listed instead, which keeps Postfix 3.7 from accepting deeper
 * names under ".domain" (MapMatchConcreteMx).  out is reset first and
 * needs a cap of at least 128 bytes; a reply that does not fit becomes a
 * TEMP.  Returns the kind of reply written.
 */
enum mtasts_mapreply_kind	 mtasts_mapreply(enum mtasts_mapkey_kind kind,
				    const struct mtasts_answer *a,
				    const struct mtasts_mxset *mx,
				    struct mtasts_buf *out);

/*
 * DANE first (RFC 8461 §2): the reply for a domain whose DANE mode is
 * mode, given what the engine knows (d, may be NULL when mode is off).
 * dane_capable says whether the asking map's MTA verifies DANE itself
 * (not in MapDaneUnsupported); sts_enforce whether the domain has an
 * enforce MTA-STS policy (or is in EnforceDomains).
 *   DANE applies          "OK dane-only" (capable), else TEMP: the MTA
 *                         cannot verify what takes precedence
 *   bogus, DNS failure    TEMP, never "no DANE"
 *   pending               TEMP when mandatory or sts_enforce
 *   not published         TEMP when mandatory
 * Returns 1 with out written and *kind set, or 0 when MTA-STS decides
 * (mtasts_mapreply).  out needs a cap of at least 128 bytes.
 */
int				 mtasts_mapreply_dane(int mode,
				    const struct mtasts_dane_answer *d,
				    int dane_capable, int sts_enforce,
				    struct mtasts_buf *out,
				    enum mtasts_mapreply_kind *kind);

/*
 * What the operator's per-domain controls make of a policy domain at
 * delivery time, with the precedence the RCPT-time verdict uses
 * (common/verdict.c): SkipDomains, then RoutedDomains, then
 * EnforceDomains.
 */
enum mtasts_mapctl {
	MTASTS_MAPCTL_POLICY = 0,	/* the domain's own policy decides */
	MTASTS_MAPCTL_SKIP,		/* SkipDomains: MTA-STS off, NOTFOUND */
	MTASTS_MAPCTL_ROUTED,		/* RoutedDomains: not its MX, NOTFOUND */
	MTASTS_MAPCTL_FORCE		/* EnforceDomains: never in the clear */
};

/* The control for domain (normalised); the configuration is borrowed. */
enum mtasts_mapctl	 mtasts_mapctl_domain(const struct mtasts_config *,
			    const char *domain);

/*
 * mtasts_mapreply() under a control.  SKIP and ROUTED give "NOTFOUND "
 * whatever a says (a may then be NULL: no lookup is needed).  FORCE
 * answers a testing policy as if it were enforce, and a domain without a
 * usable policy (none, no policy) with TEMP, so that Postfix and Sendmail
 * defer it rather than deliver it without protection.  POLICY is
 * mtasts_mapreply() itself.
 */
enum mtasts_mapreply_kind	 mtasts_mapreply_ctl(enum mtasts_mapctl,
				    enum mtasts_mapkey_kind kind,
				    const struct mtasts_answer *a,
				    const struct mtasts_mxset *mx,
				    struct mtasts_buf *out);

/*
 * 1 when a (may be NULL) is to be enforced under ctl: mode enforce, or
 * testing under FORCE.  The concrete MX set is only needed then.
 */
int				 mtasts_mapreply_enforced(enum mtasts_mapctl,
				    const struct mtasts_answer *a);

/* "policy", "skipped", "routed", "forced"; never NULL. */
const char			*mtasts_mapctl_str(enum mtasts_mapctl);

/* "TEMP <why>" into out (reset first), for requests that are malformed. */
enum mtasts_mapreply_kind	 mtasts_mapreply_temp(struct mtasts_buf *out,
				    const char *why);

/* "ok", "notfound", "temp"; never NULL. */
const char			*mtasts_mapreply_kind_str(
				    enum mtasts_mapreply_kind);

#endif /* MTASTS_MAPREPLY_H */
