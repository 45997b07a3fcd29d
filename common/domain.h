/*
 * domain.h: recipient domain names: normalisation, validation, address
 * literals and internationalised names (RFC 8461 §3.1, §3.4).
 */
#ifndef MTASTS_DOMAIN_H
#define MTASTS_DOMAIN_H

#include <stddef.h>

#include "status.h"

#define MTASTS_DOMAIN_MAX	253	/* octets, without the trailing dot */
#define MTASTS_LABEL_MAX	63
#define MTASTS_DOMAIN_BUFSZ	256	/* room for any normalised result */

enum mtasts_domain_kind {
	MTASTS_DOMAIN_NAME,	/* a DNS name: MTA-STS may apply */
	MTASTS_DOMAIN_LITERAL,	/* [192.0.2.1], [IPv6:...]: never MTA-STS */
	MTASTS_DOMAIN_INVALID	/* not a usable domain; diag says why */
};

/*
 * Normalise the recipient domain in[0..len) into out: ASCII lower case,
 * one trailing dot removed, U-labels converted to A-labels (IDNA2008), then
 * validated as an LDH host name.  For a literal, out holds the literal as
 * given (lower-cased, truncated to fit).  out is always NUL-terminated.
 */
enum mtasts_domain_kind	 mtasts_domain_normalize(const char *in, size_t len,
			    char out[MTASTS_DOMAIN_BUFSZ],
			    struct mtasts_diag *diag);

/*
 * 1 when s[0..len) is a valid ASCII LDH host name: labels of 1-63 letters,
 * digits and hyphens not starting or ending with a hyphen, at most 253
 * octets, no trailing dot.  Case is not checked.  Otherwise 0, with the
 * reason in diag (may be NULL).
 */
int			 mtasts_dns_name_valid(const char *s, size_t len,
			    struct mtasts_diag *diag);

/*
 * Find the domain part of an envelope address such as "<u@example.com>":
 * after the last '@', without angle brackets.  Sets *dom (borrowed, points
 * into addr) and *len; returns 0, or -1 when there is no '@' or no domain.
 */
int			 mtasts_addr_domain(const char *addr, const char **dom,
			    size_t *len);

#endif /* MTASTS_DOMAIN_H */
