/*
 * domain.c: recipient domain names (RFC 8461 §3.1, §3.4).
 *
 * The policy domain is what follows the last '@' of the recipient, with
 * one trailing dot removed (STS-02).  Address literals never have a policy
 * (STS-43), so they are recognised, checked loosely against RFC 5321
 * §4.1.3 and reported as such.  U-labels are converted to A-labels with
 * libidn2 (IDNA2008, non-transitional UTS #46 mapping) because DNS names
 * and policy mx patterns are compared in A-label form (RFC 6125 §6.4.2).
 * Everything that reaches the resolver is checked as an LDH host name
 * first: a name we cannot look up safely is invalid, never "no policy".
 *
 * Choices where the RFCs leave room:
 * - The root dot is removed from names only.  "[192.0.2.1]." is neither
 *   a literal nor a name, so it is invalid.
 * - Literals are checked for shape, not meaning: a dotted quad of values
 *   up to 255, "IPv6:" (any case) with hex digits, ':' and '.', or a
 *   general "tag:content" literal.  The tag is matched case-insensitively
 *   because it is an ABNF string, and the result is lower-cased.
 * - The UTS #46 mapping that libidn2 applies folds case and compatibility
 *   forms of U-labels, so "B\xc3\xbc" "cher" and "b\xc3\xbc" "cher" give
 *   the same A-label.  The result must still pass the LDH check, which
 *   refuses what the mapping lets through, such as '_' or a trailing
 *   ideographic full stop turned into an empty label.
 * - A dotted quad without brackets is a well-formed LDH name and is
 *   treated as one; it simply will not have a policy.
 * - In envelope addresses a lone '<' or '>' is dropped as if paired: the
 *   MTA has parsed the address already and we only need its domain.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include <idn2.h>

#include "domain.h"

/*
 * UTF-8 needs at most four octets per code point, so a U-label form of a
 * 253-octet name fits here; anything longer cannot become a valid name and
 * is refused before libidn2 sees it.
 */
#define IDN_INPUT_MAX	(4 * MTASTS_DOMAIN_BUFSZ)

/* Locale-independent on purpose: DNS case folding is ASCII only. */
static int
ascii_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
ascii_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
ascii_xdigit(unsigned char c)
{
	return ascii_digit(c) || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Copy at most outsz - 1 bytes, lower-cased, and always terminate. */
static void
copy_lower(char *out, size_t outsz, const char *in, size_t len)
{
	size_t	i;

	if (len > outsz - 1)
		len = outsz - 1;
	for (i = 0; i < len; i++)
		out[i] = (char)ascii_lower((unsigned char)in[i]);
	out[len] = '\0';
}

/*
 * Name a byte for a diagnostic without echoing control characters or
 * broken UTF-8 into a log line.
 */
static void
byte_name(char *buf, size_t bufsz, unsigned char c)
{
	if (c > 0x20 && c < 0x7f && c != '\'')
		(void)snprintf(buf, bufsz, "'%c'", c);
	else
		(void)snprintf(buf, bufsz, "0x%02x", c);
}

int
mtasts_dns_name_valid(const char *s, size_t len, struct mtasts_diag *diag)
{
	char		bn[8];
	size_t		i, start;
	unsigned char	c;

	if (s == NULL || len == 0) {
		mtasts_diag_add(diag, 0, 0, "empty domain name");
		return 0;
	}
	if (len > MTASTS_DOMAIN_MAX) {
		mtasts_diag_add(diag, 0, 0,
		    "domain name longer than %d octets", MTASTS_DOMAIN_MAX);
		return 0;
	}
	start = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			c = (unsigned char)s[i];
			if (!ascii_alnum(c) && c != '-') {
				byte_name(bn, sizeof(bn), c);
				mtasts_diag_add(diag, 0, 0,
				    "invalid character %s in domain name", bn);
				return 0;
			}
			continue;
		}
		/* s[start..i) is one label. */
		if (i == start) {
			mtasts_diag_add(diag, 0, 0,
			    "empty label in domain name");
			return 0;
		}
		if (i - start > MTASTS_LABEL_MAX) {
			mtasts_diag_add(diag, 0, 0,
			    "label longer than %d octets", MTASTS_LABEL_MAX);
			return 0;
		}
		if (s[start] == '-' || s[i - 1] == '-') {
			mtasts_diag_add(diag, 0, 0,
			    "label starts or ends with a hyphen");
			return 0;
		}
		start = i + 1;
	}
	return 1;
}

/* RFC 5321 IPv4-address-literal: four decimal octets of 1-3 digits. */
static int
literal_ipv4(const char *s, size_t len)
{
	size_t		i = 0;
	unsigned int	part, val, ndig;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
		val = 0;
		ndig = 0;
		while (i < len && ascii_digit((unsigned char)s[i]) &&
		    ndig < 3) {
			val = val * 10 + (unsigned int)(s[i] - '0');
			ndig++;
			i++;
		}
		if (ndig == 0 || val > 255)
			return 0;
	}
	return i == len;
}

/*
 * The IPv6 form is checked for its alphabet and shape only: the literal
 * merely has to be recognised so that no policy is looked up for it, and
 * the MTA does the real parsing.
 */
static int
literal_ipv6(const char *s, size_t len)
{
	size_t	i, colons = 0;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == ':')
			colons++;
		else if (!ascii_xdigit((unsigned char)s[i]) && s[i] != '.')
			return 0;
	}
	return colons >= 2;
}

/* RFC 5321 General-address-literal: Ldh-str ":" 1*dcontent. */
static int
literal_general(const char *s, size_t len)
{
	const char	*colon;
	size_t		 taglen, i;
	unsigned char	 c;

	if ((colon = memchr(s, ':', len)) == NULL)
		return 0;
	taglen = (size_t)(colon - s);
	if (taglen == 0 || taglen == len - 1)
		return 0;
	if (!ascii_alnum((unsigned char)s[0]) ||
	    !ascii_alnum((unsigned char)s[taglen - 1]))
		return 0;
	for (i = 0; i < taglen; i++)
		if (!ascii_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	for (i = taglen + 1; i < len; i++) {
		c = (unsigned char)s[i];
		/* dcontent: printable US-ASCII except "[", "\" and "]" */
		if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']')
			return 0;
	}
	return 1;
}

static int
literal_valid(const char *s, size_t len)
{
	const char	*in;
	size_t		 inlen;

	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return 0;
	in = s + 1;
	inlen = len - 2;
	/* The tag is an ABNF string, so "ipv6:" counts as well. */
	if (inlen >= 5 && ascii_lower((unsigned char)in[0]) == 'i' &&
	    ascii_lower((unsigned char)in[1]) == 'p' &&
	    ascii_lower((unsigned char)in[2]) == 'v' && in[3] == '6' &&
	    in[4] == ':')
		return literal_ipv6(in + 5, inlen - 5);
	if (memchr(in, ':', inlen) != NULL)
		return literal_general(in, inlen);
	return literal_ipv4(in, inlen);
}

/*
 * Convert a name with non-ASCII octets to A-labels into out.  Returns 0, or
 * -1 with the reason in diag.
 */
static int
to_alabels(const char *in, size_t len, char out[MTASTS_DOMAIN_BUFSZ],
    struct mtasts_diag *diag)
{
	char	 tmp[IDN_INPUT_MAX + 1];
	char	*ace = NULL;
	size_t	 acelen;
	int	 rc;

	if (len > IDN_INPUT_MAX) {
		mtasts_diag_add(diag, 0, 0,
		    "domain name longer than %d octets", MTASTS_DOMAIN_MAX);
		return -1;
	}
	copy_lower(tmp, sizeof(tmp), in, len);
	rc = idn2_to_ascii_8z(tmp, &ace,
	    IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK) {
		mtasts_diag_add(diag, 0, 0,
		    "cannot convert domain name to A-labels: %s",
		    idn2_strerror(rc));
		return -1;
	}
	if (ace == NULL) {
		mtasts_diag_add(diag, 0, 0,
		    "cannot convert domain name to A-labels");
		return -1;
	}
	acelen = strlen(ace);
	if (!mtasts_dns_name_valid(ace, acelen, diag)) {
		idn2_free(ace);
		return -1;
	}
	copy_lower(out, MTASTS_DOMAIN_BUFSZ, ace, acelen);
	idn2_free(ace);
	return 0;
}

enum mtasts_domain_kind
mtasts_domain_normalize(const char *in, size_t len,
    char out[MTASTS_DOMAIN_BUFSZ], struct mtasts_diag *diag)
{
	size_t	i;
	int	ascii = 1;

	out[0] = '\0';
	if (in == NULL || len == 0) {
		mtasts_diag_add(diag, 0, 0, "empty domain");
		return MTASTS_DOMAIN_INVALID;
	}
	/* A NUL would cut the name short for every C API after us. */
	if (memchr(in, '\0', len) != NULL) {
		mtasts_diag_add(diag, 0, 0, "NUL byte in domain");
		return MTASTS_DOMAIN_INVALID;
	}
	/*
	 * Literals are judged as given: "[192.0.2.1]." is not a literal
	 * with a root dot but garbage.
	 */
	if (in[0] == '[') {
		if (!literal_valid(in, len)) {
			mtasts_diag_add(diag, 0, 0,
			    "malformed address literal");
			return MTASTS_DOMAIN_INVALID;
		}
		copy_lower(out, MTASTS_DOMAIN_BUFSZ, in, len);
		return MTASTS_DOMAIN_LITERAL;
	}
	if (in[len - 1] == '.')
		len--;
	if (len == 0) {
		mtasts_diag_add(diag, 0, 0, "empty domain");
		return MTASTS_DOMAIN_INVALID;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)in[i] >= 0x80) {
			ascii = 0;
			break;
		}
	if (!ascii) {
		if (to_alabels(in, len, out, diag) == -1) {
			out[0] = '\0';
			return MTASTS_DOMAIN_INVALID;
		}
		return MTASTS_DOMAIN_NAME;
	}
	if (!mtasts_dns_name_valid(in, len, diag))
		return MTASTS_DOMAIN_INVALID;
	copy_lower(out, MTASTS_DOMAIN_BUFSZ, in, len);
	return MTASTS_DOMAIN_NAME;
}

int
mtasts_addr_domain(const char *addr, const char **dom, size_t *len)
{
	const char	*at, *end, *p;
	size_t		 n;

	if (addr == NULL || dom == NULL || len == NULL)
		return -1;
	n = strlen(addr);
	/*
	 * Brackets are stripped one by one: the MTA has parsed the address
	 * already, and a lone bracket must not hide the domain.
	 */
	if (n > 0 && addr[0] == '<') {
		addr++;
		n--;
	}
	if (n > 0 && addr[n - 1] == '>')
		n--;
	end = addr + n;
	/* The last '@': source routes and quoted local parts contain others. */
	at = NULL;
	for (p = addr; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL || at + 1 == end)
		return -1;
	*dom = at + 1;
	*len = (size_t)(end - (at + 1));
	return 0;
}
