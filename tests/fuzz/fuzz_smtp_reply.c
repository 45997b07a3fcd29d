/*
 * fuzz_smtp_reply.c: the SMTP reply parser (common/smtpreply.c) that reads
 * what an MX sends to the STARTTLS probe.
 *
 * The input is copied into a buffer of its exact size, so the sanitizers
 * see any read past its end, and parsed twice: in one call, and fed in
 * small growing pieces the way a slow server delivers it.  Both must reach
 * the same result, and a complete reply must obey the grammar and bounds.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "smtpreply.h"

static void
check_done(const char *in, size_t size, const struct mtasts_smtp_reply *r)
{
	size_t	i, n;

	if (r->len == 0 || r->len > size || in[r->len - 1] != '\n')
		abort();
	if (r->code < 200 || r->code > 559)
		abort();
	if (r->nlines == 0 || r->nlines > MTASTS_SMTP_LINES_MAX)
		abort();
	n = strnlen(r->text, sizeof(r->text));
	if (n == sizeof(r->text))
		abort();
	for (i = 0; i < n; i++)
		if (r->text[i] < 0x20 || r->text[i] >= 0x7f)
			abort();
	if (r->starttls && r->nlines < 2)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_smtp_reply	 a, b;
	enum mtasts_smtp_parse		 sa, sb = MTASTS_SMTP_MORE;
	char				*in;
	size_t				 have = 0, i = 0;

	if ((in = calloc(1, size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(in, data, size);

	memset(&a, 0, sizeof(a));
	sa = mtasts_smtp_reply_parse(in, size, &a);
	if (sa == MTASTS_SMTP_DONE)
		check_done(in, size, &a);
	if (sa == MTASTS_SMTP_BAD && a.error[0] == '\0')
		abort();

	memset(&b, 0, sizeof(b));
	while (have < size && sb == MTASTS_SMTP_MORE) {
		have += i++ % 7 + 1;
		if (have > size)
			have = size;
		sb = mtasts_smtp_reply_parse(in, have, &b);
	}
	if (size == 0)
		sb = mtasts_smtp_reply_parse(in, 0, &b);
	if (sa != sb)
		abort();
	if (sa == MTASTS_SMTP_DONE && (a.len != b.len || a.code != b.code ||
	    a.nlines != b.nlines || a.starttls != b.starttls ||
	    strcmp(a.text, b.text) != 0))
		abort();
	free(in);
	return 0;
}
