/*
 * mxmatch.c: policy "mx" patterns and the RFC 8461 §4.1 match of an MX
 * host name against them.
 *
 * A pattern is a host name or "*." and a host name (§3.2).  The wildcard
 * stands for exactly one whole leftmost label (RFC 6125 §6.4.3 as narrowed
 * by §4.1), so "*.example.com" covers "mx.example.com" but neither
 * "example.com" nor "a.b.example.com".  Names compare in A-label form and
 * ASCII case-insensitively.  Both sides may carry one trailing dot because
 * MX targets usually come out of DNS in absolute form.  The syntax of the
 * names themselves is mtasts_dns_name_valid()'s business.
 *
 * "*.com" is accepted: the RFC gives the domain owner that choice, and the
 * pattern only widens what its own policy allows.
 */
#include <config.h>

#include <string.h>

#include "domain.h"
#include "mxmatch.h"

static unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int
name_eq(const char *a, const char *b, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

int
mtasts_mx_pattern_valid(const char *p, size_t len, struct mtasts_diag *diag)
{
	size_t	i;

	if (p == NULL || len == 0) {
		mtasts_diag_add(diag, 0, 0, "empty mx pattern");
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (p[i] == '\0') {
			mtasts_diag_add(diag, 0, 0, "NUL byte in mx pattern");
			return 0;
		}
		if ((unsigned char)p[i] >= 0x80) {
			mtasts_diag_add(diag, 0, 0,
			    "mx pattern must use A-labels");
			return 0;
		}
	}
	if (p[len - 1] == '.')
		len--;
	if (len == 0) {
		mtasts_diag_add(diag, 0, 0, "empty mx pattern");
		return 0;
	}
	if (len >= 2 && p[0] == '*' && p[1] == '.') {
		p += 2;
		len -= 2;
	} else if (len == 1 && p[0] == '*') {
		mtasts_diag_add(diag, 0, 0,
		    "wildcard must be followed by \".\" and a domain");
		return 0;
	}
	if (memchr(p, '*', len) != NULL) {
		mtasts_diag_add(diag, 0, 0,
		    "wildcard allowed only as the whole leftmost label");
		return 0;
	}
	return mtasts_dns_name_valid(p, len, diag);
}

int
mtasts_mx_match(const char *pattern, const char *host)
{
	const char	*dot, *rest;
	size_t		 plen, hlen, rlen;

	if (pattern == NULL || host == NULL)
		return 0;
	plen = strlen(pattern);
	hlen = strlen(host);
	if (!mtasts_mx_pattern_valid(pattern, plen, NULL))
		return 0;
	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	if (!mtasts_dns_name_valid(host, hlen, NULL))
		return 0;
	if (pattern[plen - 1] == '.')
		plen--;
	if (pattern[0] != '*')
		return plen == hlen && name_eq(pattern, host, hlen);
	/* The host's first label stands in for "*"; the rest must be equal. */
	if ((dot = memchr(host, '.', hlen)) == NULL)
		return 0;
	rest = dot + 1;
	rlen = hlen - (size_t)(rest - host);
	return plen - 2 == rlen && name_eq(pattern + 2, rest, rlen);
}
