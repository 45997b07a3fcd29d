/*
 * fuzz_dns_rdata.c: the MX rdata decoder and the address formatter
 * (common/resolver.c), and the TLSA rdata decoder (common/dane.c).
 *
 * The input is the rdata, copied into a buffer of its exact size so that
 * the sanitizers see any read past its end.  A decoded name must be made
 * of the allowed characters, re-encode to exactly the input (case
 * folded), and decode the same into a small buffer or fail cleanly.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "dane.h"
#include "fuzz.h"
#include "resolver.h"

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* name back to wire form after the two preference bytes; must be in. */
static void
check_roundtrip(const unsigned char *in, size_t len, unsigned int pref,
    const char *name)
{
	size_t	pos = 2, i = 0, start, l;

	if (len < 3 || pref != ((unsigned int)in[0] << 8 | in[1]))
		abort();
	if (name[0] == '\0') {
		if (len != 3 || in[2] != 0)
			abort();
		return;
	}
	for (;;) {
		start = i;
		while (name[i] != '\0' && name[i] != '.')
			i++;
		l = i - start;
		if (l == 0 || l > 63 || pos >= len || in[pos] != l)
			abort();
		pos++;
		while (start < i) {
			if (pos >= len || lower(in[pos]) !=
			    (unsigned char)name[start])
				abort();
			pos++;
			start++;
		}
		if (name[i] == '\0')
			break;
		i++;
	}
	if (pos + 1 != len || in[pos] != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_tlsa	 t;
	unsigned char	*in;
	char		 name[MTASTS_DNS_NAME_BUFSZ], small[16];
	char		 addr[MTASTS_DNS_ADDR_BUFSZ];
	unsigned int	 pref, pref2;
	size_t		 i, n;
	int		 r, r2;

	if ((in = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(in, data, size);

	r = mtasts_dns_mx_parse(in, size, &pref, name, sizeof(name));
	n = strnlen(name, sizeof(name));
	if (n == sizeof(name) || n > 253 || (r != 0 && n != 0))
		abort();
	if (r == 0) {
		for (i = 0; i < n; i++) {
			char c = name[i];

			if (!((c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') ||
			    c == '-' || c == '_' || c == '.'))
				abort();
		}
		check_roundtrip(in, size, pref, name);
	}
	r2 = mtasts_dns_mx_parse(in, size, &pref2, small, sizeof(small));
	if (strnlen(small, sizeof(small)) == sizeof(small))
		abort();
	if (r2 == 0 && (r != 0 || strcmp(small, name) != 0))
		abort();
	if (r != 0 && r2 == 0)
		abort();

	/* TLSA: the fields are the first three bytes, the data the rest. */
	if (mtasts_tlsa_parse(in, size, &t) == 0) {
		if (size < 4 || t.usage != in[0] || t.selector != in[1] ||
		    t.mtype != in[2] || t.datalen != size - 3)
			abort();
		if (mtasts_tlsa_usable(&t) && (t.usage < 2 || t.usage > 3 ||
		    t.selector > 1 || t.mtype > 2))
			abort();
	} else if (size >= 4)
		abort();

	(void)mtasts_dns_addr_str(MTASTS_RR_A, in, size, addr, sizeof(addr));
	(void)mtasts_dns_addr_str(MTASTS_RR_AAAA, in, size, addr,
	    sizeof(addr));
	free(in);
	return 0;
}
