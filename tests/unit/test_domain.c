/*
 * test_domain.c: recipient domain normalisation and validation
 * (common/domain.c), one table per function.  Rows cite the checklist
 * items of /work/shared/RFC-CHECKLIST.md they pin down.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "domain.h"

#define K_NAME		MTASTS_DOMAIN_NAME
#define K_LIT		MTASTS_DOMAIN_LITERAL
#define K_BAD		MTASTS_DOMAIN_INVALID
#define STRLEN		((size_t)-1)	/* row length: use strlen() */

static const char *
kind_str(enum mtasts_domain_kind k)
{
	switch (k) {
	case MTASTS_DOMAIN_NAME:
		return "name";
	case MTASTS_DOMAIN_LITERAL:
		return "literal";
	case MTASTS_DOMAIN_INVALID:
		return "invalid";
	}
	return "?";
}

/* mtasts_domain_normalize: input -> kind, output, first diag (if given). */
static const struct norm_row {
	const char			*in;
	size_t				 len;
	enum mtasts_domain_kind		 kind;
	const char			*out;
	const char			*why;
} norm_rows[] = {
	{ "example.com", STRLEN, K_NAME, "example.com", NULL },
	/* STS-47: case-insensitive names, kept in lower case */
	{ "Example.COM", STRLEN, K_NAME, "example.com", NULL },
	/* STS-02: one trailing dot removed, two are an empty label */
	{ "example.com.", STRLEN, K_NAME, "example.com", NULL },
	{ "EXAMPLE.COM.", STRLEN, K_NAME, "example.com", NULL },
	{ "example.com..", STRLEN, K_BAD, "", "empty label in domain name" },
	{ ".", STRLEN, K_BAD, "", "empty domain" },
	{ "", STRLEN, K_BAD, "", "empty domain" },
	{ ".example.com", STRLEN, K_BAD, "", "empty label in domain name" },
	{ "a..example", STRLEN, K_BAD, "", "empty label in domain name" },
	/* STS-42: a subdomain stays itself, no walk up to the parent */
	{ "mail.sub.example.com", STRLEN, K_NAME, "mail.sub.example.com",
	    NULL },
	{ "localhost", STRLEN, K_NAME, "localhost", NULL },
	/* nothing is trimmed but the one dot */
	{ " example.com", STRLEN, K_BAD, "",
	    "invalid character 0x20 in domain name" },
	{ "example.com ", STRLEN, K_BAD, "",
	    "invalid character 0x20 in domain name" },
	/* LDH only: underscore and other punctuation are out */
	{ "a_b.example", STRLEN, K_BAD, "",
	    "invalid character '_' in domain name" },
	{ "_mta-sts.example", STRLEN, K_BAD, "", NULL },
	{ "a*b.example", STRLEN, K_BAD, "", NULL },
	{ "-a.example", STRLEN, K_BAD, "",
	    "label starts or ends with a hyphen" },
	{ "a-.example", STRLEN, K_BAD, "",
	    "label starts or ends with a hyphen" },
	{ "a-b.example", STRLEN, K_NAME, "a-b.example", NULL },
	{ "a--b.example", STRLEN, K_NAME, "a--b.example", NULL },
	{ "0.example", STRLEN, K_NAME, "0.example", NULL },
	/* a bare dotted quad is a syntactically valid LDH name */
	{ "192.0.2.1", STRLEN, K_NAME, "192.0.2.1", NULL },
	/* STS-21/47: A-labels pass untouched (no punycode checks) */
	{ "xn--bcher-kva.example", STRLEN, K_NAME, "xn--bcher-kva.example",
	    NULL },
	{ "XN--BCHER-KVA.Example", STRLEN, K_NAME, "xn--bcher-kva.example",
	    NULL },
	{ "xn--zz-not-punycode.example", STRLEN, K_NAME,
	    "xn--zz-not-punycode.example", NULL },
	{ "xn--.example", STRLEN, K_BAD, "",
	    "label starts or ends with a hyphen" },
	/* IDN: U-labels become A-labels (IDNA2008, UTS #46 mapping) */
	{ "b\xc3\xbc" "cher.example", STRLEN, K_NAME,
	    "xn--bcher-kva.example", NULL },
	{ "B\xc3\xbc" "cher.Example.", STRLEN, K_NAME,
	    "xn--bcher-kva.example", NULL },
	{ "\xc3\x89XAMPLE.com", STRLEN, K_NAME, "xn--xample-9ua.com", NULL },
	{ "m\xc3\xbcnchen.DE", STRLEN, K_NAME, "xn--mnchen-3ya.de", NULL },
	{ "stra\xc3\x9f" "e.de", STRLEN, K_NAME, "xn--strae-oqa.de", NULL },
	{ "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
	    STRLEN, K_NAME, "xn--r8jz45g.xn--zckzah", NULL },
	/* IDN output is LDH-checked too */
	{ "a_b.b\xc3\xbc" "cher.example", STRLEN, K_BAD, "",
	    "invalid character '_' in domain name" },
	{ "b\xc3\xbc" "cher.example..", STRLEN, K_BAD, "",
	    "empty label in domain name" },
	/* broken UTF-8 and IDNA-disallowed names */
	{ "\xff.example", STRLEN, K_BAD, "", NULL },
	{ "b\xc3.example", STRLEN, K_BAD, "", NULL },
	{ "-\xc3\xbc.example", STRLEN, K_BAD, "", NULL },
	/* NUL bytes inside the given length */
	{ "a\0b.example", 11, K_BAD, "", "NUL byte in domain" },
	{ "example.com\0", 12, K_BAD, "", "NUL byte in domain" },
	{ "b\xc3\xbc\0" "cher.example", 15, K_BAD, "", "NUL byte in domain" },
	/* the length is honoured: no reading past it */
	{ "example.comXYZ", 11, K_NAME, "example.com", NULL },
	/* STS-43: address literals */
	{ "[192.0.2.1]", STRLEN, K_LIT, "[192.0.2.1]", NULL },
	{ "[0.0.0.0]", STRLEN, K_LIT, "[0.0.0.0]", NULL },
	{ "[255.255.255.255]", STRLEN, K_LIT, "[255.255.255.255]", NULL },
	{ "[IPv6:2001:db8::1]", STRLEN, K_LIT, "[ipv6:2001:db8::1]", NULL },
	{ "[IPv6:2001:DB8::1]", STRLEN, K_LIT, "[ipv6:2001:db8::1]", NULL },
	{ "[ipv6:::1]", STRLEN, K_LIT, "[ipv6:::1]", NULL },
	{ "[IPv6:::ffff:192.0.2.1]", STRLEN, K_LIT,
	    "[ipv6:::ffff:192.0.2.1]", NULL },
	{ "[x-tag:some.thing]", STRLEN, K_LIT, "[x-tag:some.thing]", NULL },
	{ "[192.0.2.256]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[192.0.2]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[192.0.2.1.5]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[1921.0.2.1]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[192.0..1]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[192.0.2.1]x", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[192.0.2.1].", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[192.0.2.1", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[example.com]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[IPv6:]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[IPv6:2001]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[IPv6:zz::1]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[-tag:x]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[tag-:x]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[tag:]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[:x]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[tag:a b]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[tag:a]b]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[tag:\xc3\xa9]", STRLEN, K_BAD, "", "malformed address literal" },
	{ "[192.0.2.1\0]", 12, K_BAD, "", "NUL byte in domain" },
	{ "192.0.2.1]", STRLEN, K_BAD, "", NULL },
};

/* mtasts_dns_name_valid on its own. */
static const struct valid_row {
	const char	*in;
	int		 valid;
} valid_rows[] = {
	{ "a", 1 },
	{ "a.b", 1 },
	{ "1.2", 1 },
	{ "A.B-c.D", 1 },
	{ "xn--a.example", 1 },
	{ "", 0 },
	{ ".", 0 },
	{ "a.", 0 },			/* callers strip the root dot */
	{ ".a", 0 },
	{ "a..b", 0 },
	{ "*.a", 0 },
	{ "a_b", 0 },
	{ "a b", 0 },
	{ "-a", 0 },
	{ "a-", 0 },
	{ "a.-b", 0 },
	{ "\xc3\xbc.example", 0 },	/* U-labels are not LDH */
};

/* mtasts_addr_domain: address -> domain, or NULL for -1. */
static const struct addr_row {
	const char	*addr;
	const char	*dom;
} addr_rows[] = {
	{ "<user@example.com>", "example.com" },
	{ "user@example.com", "example.com" },
	/* STS-02: the dot stays here; normalize removes it */
	{ "user@Example.COM.", "Example.COM." },
	{ "<user@Example.COM.>", "Example.COM." },
	/* the last '@' counts: quoted local parts, source routes */
	{ "\"a@b\"@example.org", "example.org" },
	{ "<@a.example,@b.example:u@c.example>", "c.example" },
	{ "u@[192.0.2.1]", "[192.0.2.1]" },
	{ "<u@[IPv6:2001:db8::1]>", "[IPv6:2001:db8::1]" },
	{ "@example.com", "example.com" },
	/* a lone bracket does not hide the domain */
	{ "<user@example.com", "example.com" },
	{ "user@example.com>", "example.com" },
	{ "<>", NULL },
	{ "", NULL },
	{ "<", NULL },
	{ ">", NULL },
	{ "user", NULL },
	{ "<user>", NULL },
	{ "user@", NULL },
	{ "<user@>", NULL },
	{ "<@>", NULL },
};

/* A name of the given label lengths, labels of 'a'..'z' joined by '.'. */
static void
mkname(char *buf, size_t bufsz, const size_t *labels, size_t n)
{
	size_t	i, j, pos = 0;

	for (i = 0; i < n; i++) {
		if (i > 0 && pos + 1 < bufsz)
			buf[pos++] = '.';
		for (j = 0; j < labels[i] && pos + 1 < bufsz; j++)
			buf[pos++] = (char)('a' + (i % 26));
	}
	buf[pos] = '\0';
}

/* Names built to sit on both sides of the 63 and 253 octet limits. */
static const struct len_row {
	size_t	labels[5];
	size_t	nlabels;
	size_t	total;		/* expected strlen, as a check on the row */
	int	valid;
	int	add_dot;	/* append the root dot before normalize */
	const char *what;
} len_rows[] = {
	{ { 63 }, 1, 63, 1, 0, "label of 63 octets" },
	{ { 64 }, 1, 64, 0, 0, "label of 64 octets" },
	{ { 3, 63, 3 }, 3, 71, 1, 0, "inner label of 63 octets" },
	{ { 3, 64, 3 }, 3, 72, 0, 0, "inner label of 64 octets" },
	{ { 63, 63, 63, 61 }, 4, 253, 1, 0, "name of 253 octets" },
	{ { 63, 63, 63, 62 }, 4, 254, 0, 0, "name of 254 octets" },
	{ { 63, 63, 63, 61 }, 4, 253, 1, 1,
	    "name of 253 octets plus root dot" },
	{ { 63, 63, 63, 62 }, 4, 254, 0, 1,
	    "name of 254 octets plus root dot" },
	{ { 63, 63, 63, 63, 63 }, 5, 319, 0, 0, "name of 319 octets" },
};

static void
test_normalize(void)
{
	const struct norm_row	*r;
	struct mtasts_diag	 diag;
	char			 out[MTASTS_DOMAIN_BUFSZ], what[64];
	enum mtasts_domain_kind	 k;
	size_t			 i, len;

	for (i = 0; i < sizeof(norm_rows) / sizeof(norm_rows[0]); i++) {
		r = &norm_rows[i];
		len = r->len == STRLEN ? strlen(r->in) : r->len;
		mtasts_diag_init(&diag);
		memset(out, 'X', sizeof(out));
		k = mtasts_domain_normalize(r->in, len, out, &diag);
		CHECK(k == r->kind, "normalize row %zu: kind %s, want %s",
		    i, kind_str(k), kind_str(r->kind));
		(void)snprintf(what, sizeof(what), "normalize row %zu: output",
		    i);
		CHECK_STREQ(out, r->out, what);
		CHECK((k == K_BAD) == (diag.errors > 0),
		    "normalize row %zu: diag has errors only when invalid", i);
		if (r->why != NULL) {
			(void)snprintf(what, sizeof(what),
			    "normalize row %zu: reason", i);
			CHECK_STREQ(mtasts_diag_first(&diag), r->why, what);
		}
	}
	/* diag may be NULL */
	CHECK(mtasts_domain_normalize("a_b", 3, out, NULL) == K_BAD &&
	    out[0] == '\0', "normalize with NULL diag");
	CHECK(mtasts_domain_normalize(NULL, 0, out, NULL) == K_BAD,
	    "normalize NULL input");
}

static void
test_lengths(void)
{
	const struct len_row	*r;
	char			 name[400], out[MTASTS_DOMAIN_BUFSZ];
	size_t			 i, len;
	enum mtasts_domain_kind	 k;

	for (i = 0; i < sizeof(len_rows) / sizeof(len_rows[0]); i++) {
		r = &len_rows[i];
		mkname(name, sizeof(name), r->labels, r->nlabels);
		len = strlen(name);
		CHECK(len == r->total, "%s: row builds %zu octets", r->what,
		    len);
		if (!r->add_dot)
			CHECK(mtasts_dns_name_valid(name, len, NULL) ==
			    r->valid, "%s: dns_name_valid", r->what);
		if (r->add_dot) {
			name[len++] = '.';
			name[len] = '\0';
		}
		k = mtasts_domain_normalize(name, len, out, NULL);
		CHECK(k == (r->valid ? K_NAME : K_BAD), "%s: normalize",
		    r->what);
		if (r->valid)
			CHECK(strlen(out) == r->total &&
			    strncmp(out, name, r->total) == 0,
			    "%s: normalize output", r->what);
	}
}

/* A U-label name whose A-label form just fits or just overflows. */
static void
test_idn_lengths(void)
{
	char		name[1200], out[MTASTS_DOMAIN_BUFSZ];
	size_t		labels[4] = { 63, 63, 63, 0 };
	size_t		len;

	/* "xn--tda" is 7 octets: 3*64 + 7 + 1 + x = 253 with x = 53 */
	mkname(name, sizeof(name), labels, 3);
	len = strlen(name);
	(void)snprintf(name + len, sizeof(name) - len, ".\xc3\xbc.");
	len = strlen(name);
	memset(name + len, 'z', 53);
	name[len + 53] = '\0';
	CHECK(mtasts_domain_normalize(name, strlen(name), out, NULL) ==
	    K_NAME && strlen(out) == 253, "IDN name of 253 octets");
	name[len + 53] = 'z';
	name[len + 54] = '\0';
	CHECK(mtasts_domain_normalize(name, strlen(name), out, NULL) ==
	    K_BAD, "IDN name of 254 octets");

	/* far too long for any name: refused before libidn2 */
	memset(name, 'a', 1100);
	name[0] = '\xc3';
	name[1] = '\xbc';
	name[1100] = '\0';
	CHECK(mtasts_domain_normalize(name, strlen(name), out, NULL) ==
	    K_BAD, "very long IDN input");
}

static void
test_valid(void)
{
	struct mtasts_diag	diag;
	size_t			i;
	int			v;

	for (i = 0; i < sizeof(valid_rows) / sizeof(valid_rows[0]); i++) {
		mtasts_diag_init(&diag);
		v = mtasts_dns_name_valid(valid_rows[i].in,
		    strlen(valid_rows[i].in), &diag);
		CHECK(v == valid_rows[i].valid,
		    "dns_name_valid row %zu \"%s\"", i, valid_rows[i].in);
		CHECK((diag.errors > 0) == !v,
		    "dns_name_valid row %zu: reason only when invalid", i);
	}
	CHECK(mtasts_dns_name_valid(NULL, 0, NULL) == 0, "NULL name");
	CHECK(mtasts_dns_name_valid("a\0b", 3, NULL) == 0, "NUL in name");
}

static void
test_addr(void)
{
	const char	*dom;
	char		 got[300], what[64];
	size_t		 i, len;
	int		 rc;

	for (i = 0; i < sizeof(addr_rows) / sizeof(addr_rows[0]); i++) {
		dom = NULL;
		len = 0;
		rc = mtasts_addr_domain(addr_rows[i].addr, &dom, &len);
		if (addr_rows[i].dom == NULL) {
			CHECK(rc == -1, "addr_domain row %zu \"%s\": -1", i,
			    addr_rows[i].addr);
			continue;
		}
		CHECK(rc == 0, "addr_domain row %zu \"%s\": 0", i,
		    addr_rows[i].addr);
		if (rc != 0 || dom == NULL)
			continue;
		(void)snprintf(got, sizeof(got), "%.*s", (int)len, dom);
		(void)snprintf(what, sizeof(what),
		    "addr_domain row %zu: domain", i);
		CHECK_STREQ(got, addr_rows[i].dom, what);
	}
	CHECK(mtasts_addr_domain(NULL, &dom, &len) == -1, "NULL address");
}

/* STS-02: the whole way from RCPT TO to the policy domain. */
static void
test_addr_then_normalize(void)
{
	static const struct {
		const char		*addr;
		enum mtasts_domain_kind	 kind;
		const char		*out;
	} rows[] = {
		{ "user@Example.COM.", K_NAME, "example.com" },
		{ "<user@example.com>", K_NAME, "example.com" },
		{ "<user@B\xc3\xbc" "cher.example>", K_NAME,
		    "xn--bcher-kva.example" },
		{ "<u@[192.0.2.1]>", K_LIT, "[192.0.2.1]" },	/* STS-43 */
		{ "<u@[IPv6:2001:db8::1]>", K_LIT, "[ipv6:2001:db8::1]" },
		{ "<u@exa_mple.com>", K_BAD, "" },
	};
	char		 out[MTASTS_DOMAIN_BUFSZ], what[64];
	const char	*dom;
	size_t		 i, len;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CHECK(mtasts_addr_domain(rows[i].addr, &dom, &len) == 0,
		    "address row %zu: domain found", i);
		CHECK(mtasts_domain_normalize(dom, len, out, NULL) ==
		    rows[i].kind, "address row %zu: kind", i);
		(void)snprintf(what, sizeof(what),
		    "address row %zu: policy domain", i);
		CHECK_STREQ(out, rows[i].out, what);
	}
}

int
main(void)
{
	test_normalize();
	test_lengths();
	test_idn_lengths();
	test_valid();
	test_addr();
	test_addr_then_normalize();
	return check_done();
}
