/*
 * mxmatch.h: RFC 8461 §4.1 matching of MX host names against policy "mx"
 * patterns.
 */
#ifndef MTASTS_MXMATCH_H
#define MTASTS_MXMATCH_H

#include <stddef.h>

#include "status.h"

/*
 * 1 when host matches pattern, else 0.  A pattern is a host name, or "*."
 * followed by a host name, which matches exactly one extra leftmost label.
 * Comparison is ASCII case-insensitive and ignores one trailing dot on
 * either side.  Malformed patterns or hosts never match.
 */
int	mtasts_mx_match(const char *pattern, const char *host);

/*
 * 1 when p[0..len) is a valid policy mx value: ["*."] host name (RFC 8461
 * §3.2), A-labels only, one trailing dot tolerated; else 0 with the reason
 * in diag (may be NULL).
 */
int	mtasts_mx_pattern_valid(const char *p, size_t len,
	    struct mtasts_diag *diag);

#endif /* MTASTS_MXMATCH_H */
