/*
 * fuzz_domain.c: domain normalisation, envelope addresses and MX pattern
 * matching (common/domain.c, common/mxmatch.c).
 *
 * The whole input is a domain and an address; cut at the first '\n' it is
 * an mx pattern and an MX host name.  Copies are exact-sized (or exactly
 * one NUL longer) so the sanitizers catch reads past the end.  The results
 * must also keep the promises the headers make.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "fuzz.h"
#include "mxmatch.h"

static char *
dup_str(const uint8_t *p, size_t n)
{
	char	*q;

	if ((q = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

static int
has_upper(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 1;
	return 0;
}

static void
fuzz_normalize(const uint8_t *data, size_t size)
{
	char			*in, out[MTASTS_DOMAIN_BUFSZ];
	char			 again[MTASTS_DOMAIN_BUFSZ];
	struct mtasts_diag	 diag;
	enum mtasts_domain_kind	 k;
	size_t			 n;

	/* exact size, no terminator: the length is all there is */
	if ((in = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(in, data, size);
	mtasts_diag_init(&diag);
	k = mtasts_domain_normalize(in, size, out, &diag);
	n = strnlen(out, sizeof(out));
	if (n == sizeof(out))
		abort();
	switch (k) {
	case MTASTS_DOMAIN_NAME:
		/* a name is LDH, lower case, and normalising it is a no-op */
		if (diag.errors != 0 || has_upper(out) ||
		    !mtasts_dns_name_valid(out, n, NULL))
			abort();
		if (mtasts_domain_normalize(out, n, again, NULL) !=
		    MTASTS_DOMAIN_NAME || strcmp(out, again) != 0)
			abort();
		break;
	case MTASTS_DOMAIN_LITERAL:
		if (diag.errors != 0 || out[0] != '[' || has_upper(out))
			abort();
		break;
	case MTASTS_DOMAIN_INVALID:
		if (diag.errors == 0 || out[0] != '\0')
			abort();
		break;
	default:
		abort();
	}
	free(in);
}

static void
fuzz_addr(const uint8_t *data, size_t size)
{
	char		*addr, out[MTASTS_DOMAIN_BUFSZ];
	const char	*dom = NULL;
	size_t		 len = 0, alen;

	addr = dup_str(data, size);
	alen = strlen(addr);
	if (mtasts_addr_domain(addr, &dom, &len) == 0) {
		if (dom == NULL || len == 0 || dom < addr ||
		    dom + len > addr + alen || dom[-1] != '@')
			abort();
		(void)mtasts_domain_normalize(dom, len, out, NULL);
	}
	free(addr);
}

static void
fuzz_mx(const uint8_t *data, size_t size)
{
	const uint8_t	*nl;
	char		*pat, *host;
	size_t		 plen, hlen;
	int		 m;

	nl = size > 0 ? memchr(data, '\n', size) : NULL;
	plen = nl != NULL ? (size_t)(nl - data) : size;
	pat = dup_str(data, plen);
	host = nl != NULL ? dup_str(nl + 1, size - plen - 1) : dup_str(data, 0);

	/* the pattern as a counted string, before any NUL */
	(void)mtasts_mx_pattern_valid(pat, plen, NULL);

	m = mtasts_mx_match(pat, host);
	if (m != 0 && m != 1)
		abort();
	if (m == 1) {
		hlen = strlen(host);
		if (hlen > 0 && host[hlen - 1] == '.')
			hlen--;
		if (!mtasts_mx_pattern_valid(pat, strlen(pat), NULL) ||
		    !mtasts_dns_name_valid(host, hlen, NULL))
			abort();
	}
	/* any valid plain host matches itself */
	if (pat[0] != '*' && mtasts_mx_pattern_valid(pat, strlen(pat),
	    NULL) && mtasts_mx_match(pat, pat) != 1)
		abort();
	free(pat);
	free(host);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_normalize(data, size);
	fuzz_addr(data, size);
	fuzz_mx(data, size);
	return 0;
}
