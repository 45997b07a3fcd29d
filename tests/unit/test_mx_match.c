/*
 * test_mx_match.c: policy mx patterns and RFC 8461 §4.1 matching
 * (common/mxmatch.c).  Rows cite RFC-CHECKLIST.md items.
 */
#include <config.h>

#include <string.h>

#include "check.h"
#include "domain.h"
#include "mxmatch.h"

#define STRLEN	((size_t)-1)	/* row length: use strlen() */

/* mtasts_mx_pattern_valid: pattern -> valid, first reason (if given). */
static const struct pat_row {
	const char	*p;
	size_t		 len;
	int		 valid;
	const char	*why;
} pat_rows[] = {
	/* STS-21: a host name, or "*." and a host name */
	{ "mx.example.com", STRLEN, 1, NULL },
	{ "MX.Example.COM", STRLEN, 1, NULL },
	{ "localhost", STRLEN, 1, NULL },
	{ "*.example.com", STRLEN, 1, NULL },
	{ "*.com", STRLEN, 1, NULL },
	/* one trailing dot tolerated, not two */
	{ "mx.example.com.", STRLEN, 1, NULL },
	{ "*.example.com.", STRLEN, 1, NULL },
	{ "mx.example.com..", STRLEN, 0, "empty label in domain name" },
	{ ".", STRLEN, 0, "empty mx pattern" },
	{ "", STRLEN, 0, "empty mx pattern" },
	{ ".example.com", STRLEN, 0, "empty label in domain name" },
	/* STS-21/47: the wildcard is the whole leftmost label, once */
	{ "*", STRLEN, 0, "wildcard must be followed by \".\" and a domain" },
	{ "*.", STRLEN, 0,
	    "wildcard must be followed by \".\" and a domain" },
	{ "*..", STRLEN, 0, "empty domain name" },
	{ "*..example.com", STRLEN, 0, "empty label in domain name" },
	{ "*.*.example.com", STRLEN, 0,
	    "wildcard allowed only as the whole leftmost label" },
	{ "a.*.example.com", STRLEN, 0,
	    "wildcard allowed only as the whole leftmost label" },
	{ "*x.example.com", STRLEN, 0,
	    "wildcard allowed only as the whole leftmost label" },
	{ "x*.example.com", STRLEN, 0,
	    "wildcard allowed only as the whole leftmost label" },
	{ "example.*", STRLEN, 0,
	    "wildcard allowed only as the whole leftmost label" },
	{ "**.example.com", STRLEN, 0,
	    "wildcard allowed only as the whole leftmost label" },
	/* STS-21: IDNs as A-labels only */
	{ "mx.xn--bcher-kva.example", STRLEN, 1, NULL },
	{ "*.xn--bcher-kva.example", STRLEN, 1, NULL },
	{ "mx.b\xc3\xbc" "cher.example", STRLEN, 0,
	    "mx pattern must use A-labels" },
	{ "*.b\xc3\xbc" "cher.example", STRLEN, 0,
	    "mx pattern must use A-labels" },
	/* RFC 5321 Domain is LDH */
	{ "mx_1.example.com", STRLEN, 0,
	    "invalid character '_' in domain name" },
	{ "mx 1.example.com", STRLEN, 0,
	    "invalid character 0x20 in domain name" },
	{ "-mx.example.com", STRLEN, 0, "label starts or ends with a hyphen" },
	{ "*.-example.com", STRLEN, 0, "label starts or ends with a hyphen" },
	{ "mx.example.com\0", 15, 0, "NUL byte in mx pattern" },
	{ "mx\0.example.com", 15, 0, "NUL byte in mx pattern" },
	/* the length is honoured */
	{ "mx.example.com*", 14, 1, NULL },
};

/* mtasts_mx_match: pattern, host -> match. */
static const struct match_row {
	const char	*pattern;
	const char	*host;
	int		 match;
} match_rows[] = {
	/* STS-47: exact names, ASCII case-insensitive */
	{ "mx.example.com", "mx.example.com", 1 },
	{ "MX.Example.COM", "mx.example.com", 1 },
	{ "mx.example.com", "MX.EXAMPLE.COM", 1 },
	{ "localhost", "LOCALHOST", 1 },
	/* one trailing dot on either side or both */
	{ "mx.example.com.", "mx.example.com", 1 },
	{ "mx.example.com", "mx.example.com.", 1 },
	{ "mx.example.com.", "mx.example.com.", 1 },
	{ "mx.example.com..", "mx.example.com", 0 },
	{ "mx.example.com", "mx.example.com..", 0 },
	/* exact names do not cover relatives */
	{ "example.com", "mx.example.com", 0 },
	{ "mx.example.com", "example.com", 0 },
	{ "mx.example.co", "mx.example.com", 0 },
	{ "mx.example.com", "mx.example.co", 0 },
	{ "mx.example.com", "nmx.example.com", 0 },
	/* STS-47: the wildcard covers exactly one leftmost label */
	{ "*.example.com", "mx.example.com", 1 },
	{ "*.example.com", "MX1.Example.COM.", 1 },
	{ "*.EXAMPLE.com.", "mx.example.com", 1 },
	{ "*.example.com", "x.example.com", 1 },
	{ "*.example.com", "example.com", 0 },		/* bare parent */
	{ "*.example.com", "a.b.example.com", 0 },	/* two deep */
	{ "*.example.com", "xexample.com", 0 },
	{ "*.example.com", ".example.com", 0 },
	{ "*.example.com", "mx.example.co", 0 },
	{ "*.example.com", "mx.example.com.au", 0 },
	{ "*.example.com", "mx.other.com", 0 },
	{ "*.com", "example.com", 1 },
	{ "*.com", "mx.example.com", 0 },
	/* malformed patterns never match */
	{ "*.*.example.com", "a.b.example.com", 0 },
	{ "a.*.example.com", "a.b.example.com", 0 },
	{ "*mx.example.com", "xmx.example.com", 0 },
	{ "*mx.example.com", "mx.example.com", 0 },
	{ "*", "mx", 0 },
	{ "*.", "mx", 0 },
	{ "", "", 0 },
	{ "", "mx.example.com", 0 },
	{ "mx_1.example.com", "mx_1.example.com", 0 },
	{ "*.b\xc3\xbc" "cher.example", "mx.xn--bcher-kva.example", 0 },
	/* hosts with '*' or empty labels never match */
	{ "*.example.com", "*.example.com", 0 },
	{ "mx.example.com", "", 0 },
	{ "mx.example.com", ".", 0 },
	{ "mx..example.com", "mx..example.com", 0 },
	{ "*.example.com", "mx..example.com", 0 },
	{ "*.example.com", "-mx.example.com", 0 },
	{ "mx.xn--bcher-kva.example", "mx.b\xc3\xbc" "cher.example", 0 },
	/* STS-21/47: A-labels compare as plain names */
	{ "*.xn--bcher-kva.example", "mx.xn--bcher-kva.example", 1 },
	{ "mx.XN--BCHER-KVA.example", "mx.xn--bcher-kva.EXAMPLE", 1 },
	{ NULL, "mx.example.com", 0 },
	{ "mx.example.com", NULL, 0 },
};

static void
test_patterns(void)
{
	const struct pat_row	*r;
	struct mtasts_diag	 diag;
	char			 what[64];
	size_t			 i, len;
	int			 v;

	for (i = 0; i < sizeof(pat_rows) / sizeof(pat_rows[0]); i++) {
		r = &pat_rows[i];
		len = r->len == STRLEN ? strlen(r->p) : r->len;
		mtasts_diag_init(&diag);
		v = mtasts_mx_pattern_valid(r->p, len, &diag);
		CHECK(v == r->valid, "pattern row %zu \"%s\": %s", i, r->p,
		    r->valid ? "valid" : "invalid");
		CHECK((diag.errors > 0) == !v,
		    "pattern row %zu: reason only when invalid", i);
		if (r->why != NULL) {
			(void)snprintf(what, sizeof(what),
			    "pattern row %zu: reason", i);
			CHECK_STREQ(mtasts_diag_first(&diag), r->why, what);
		}
	}
	CHECK(mtasts_mx_pattern_valid("*.*", 3, NULL) == 0,
	    "pattern with NULL diag");
	CHECK(mtasts_mx_pattern_valid(NULL, 0, NULL) == 0, "NULL pattern");
}

static void
test_matches(void)
{
	const struct match_row	*r;
	size_t			 i;

	for (i = 0; i < sizeof(match_rows) / sizeof(match_rows[0]); i++) {
		r = &match_rows[i];
		CHECK(mtasts_mx_match(r->pattern, r->host) == r->match,
		    "match row %zu: \"%s\" vs \"%s\": %s", i,
		    r->pattern ? r->pattern : "(null)",
		    r->host ? r->host : "(null)",
		    r->match ? "match" : "no match");
	}
}

/* A name of n octets: labels of 63 'a' joined by dots, the last shorter. */
static void
mkname(char *buf, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		buf[i] = (i % 64 == 63) ? '.' : 'a';
	buf[n] = '\0';
}

/* Both sides of the 63-octet label and 253-octet name limits. */
static void
test_lengths(void)
{
	char	base[256], host[280], pat[300];

	/* host label of 63 octets under a wildcard, then 64 */
	memset(host, 'm', 63);
	(void)snprintf(host + 63, sizeof(host) - 63, ".example.com");
	CHECK(mtasts_mx_match("*.example.com", host) == 1,
	    "wildcard label of 63 octets");
	memset(host, 'm', 64);
	(void)snprintf(host + 64, sizeof(host) - 64, ".example.com");
	CHECK(mtasts_mx_match("*.example.com", host) == 0,
	    "wildcard label of 64 octets");

	/* pattern label of 63 and 64 octets */
	memset(pat, 'p', 63);
	(void)snprintf(pat + 63, sizeof(pat) - 63, ".example.com");
	CHECK(mtasts_mx_pattern_valid(pat, strlen(pat), NULL) == 1,
	    "pattern label of 63 octets");
	CHECK(mtasts_mx_match(pat, pat) == 1, "exact name, label of 63");
	memset(pat, 'p', 64);
	(void)snprintf(pat + 64, sizeof(pat) - 64, ".example.com");
	CHECK(mtasts_mx_pattern_valid(pat, strlen(pat), NULL) == 0,
	    "pattern label of 64 octets");
	CHECK(mtasts_mx_match(pat, pat) == 0, "exact name, label of 64");

	/* exact names of 253 and 254 octets, with and without root dot */
	mkname(host, 253);
	CHECK(mtasts_mx_match(host, host) == 1, "exact name of 253 octets");
	(void)snprintf(pat, sizeof(pat), "%s.", host);
	CHECK(mtasts_mx_match(pat, pat) == 1,
	    "exact name of 253 octets plus root dot");
	mkname(host, 254);
	CHECK(mtasts_mx_match(host, host) == 0, "exact name of 254 octets");

	/* "*." and a 251-octet base covers hosts of 253 octets only */
	mkname(base, 251);
	(void)snprintf(pat, sizeof(pat), "*.%s", base);
	(void)snprintf(host, sizeof(host), "a.%s", base);
	CHECK(mtasts_mx_match(pat, host) == 1,
	    "wildcard, host of 253 octets");
	(void)snprintf(host, sizeof(host), "ab.%s", base);
	CHECK(mtasts_mx_match(pat, host) == 0,
	    "wildcard, host of 254 octets");
	mkname(base, 253);
	(void)snprintf(pat, sizeof(pat), "*.%s", base);
	CHECK(mtasts_mx_pattern_valid(pat, strlen(pat), NULL) == 1,
	    "wildcard over a 253-octet base is well-formed");
	mkname(base, 254);
	(void)snprintf(pat, sizeof(pat), "*.%s", base);
	CHECK(mtasts_mx_pattern_valid(pat, strlen(pat), NULL) == 0,
	    "wildcard over a 254-octet base is not");
}

int
main(void)
{
	test_patterns();
	test_matches();
	test_lengths();
	return check_done();
}
