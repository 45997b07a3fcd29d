/*
 * fuzz_txt.c: the _mta-sts TXT parser and selection (common/txt.c).
 *
 * The input is parsed as one joined record, and also cut at every
 * "\n%\n" into records in DNS wire form (<length><bytes> strings) for
 * the selection.  Each piece is copied into a buffer of its exact size so
 * that the sanitizers see any read past its end.  Beyond not crashing, the
 * results must agree with one another and with the grammar.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "txt.h"

#define MAX_RECS	16
#define SEP		"\n%\n"
#define SEP_LEN		(sizeof(SEP) - 1)

/* An id we hand out must be 1-32 letters or digits. */
static void
check_id(enum mtasts_status st, const struct mtasts_txt *txt)
{
	size_t	i, n;
	char	c;

	n = strnlen(txt->id, sizeof(txt->id));
	if (n == sizeof(txt->id))
		abort();
	if (st != MTASTS_OK) {
		if (n != 0)
			abort();
		return;
	}
	if (n == 0)
		abort();
	for (i = 0; i < n; i++) {
		c = txt->id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')))
			abort();
	}
}

static unsigned char *
dup_exact(const uint8_t *p, size_t n)
{
	unsigned char	*q;

	/* malloc(0) may return NULL; keep one byte so NULL means failure */
	if ((q = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

static const uint8_t *
find_sep(const uint8_t *p, size_t n)
{
	size_t	i;

	for (i = 0; i + SEP_LEN <= n; i++)
		if (memcmp(p + i, SEP, SEP_LEN) == 0)
			return p + i;
	return NULL;
}

/* One record alone: parse and select must agree. */
static void
fuzz_one(const uint8_t *data, size_t size)
{
	struct mtasts_diag	 diag;
	struct mtasts_txt	 a, b;
	enum mtasts_status	 sa, sb;
	unsigned char		*rec;
	const char		*recs[1];
	size_t			 lens[1];

	rec = dup_exact(data, size);
	mtasts_diag_init(&diag);
	sa = mtasts_txt_parse((const char *)rec, size, &a, &diag);
	check_id(sa, &a);
	if ((sa == MTASTS_OK) != (diag.errors == 0))
		abort();
	if (sa != MTASTS_OK && sa != MTASTS_NOPOLICY && sa != MTASTS_INVALID)
		abort();

	recs[0] = (const char *)rec;
	lens[0] = size;
	mtasts_diag_init(&diag);
	sb = mtasts_txt_select(recs, lens, 1, &b, &diag);
	check_id(sb, &b);
	if ((sa == MTASTS_OK) != (sb == MTASTS_OK))
		abort();
	if (sa == MTASTS_OK && strcmp(a.id, b.id) != 0)
		abort();
	free(rec);
}

/* The input as several wire records, and as plain records. */
static void
fuzz_many(const uint8_t *data, size_t size)
{
	unsigned char		*pieces[MAX_RECS];
	const unsigned char	*rdata[MAX_RECS];
	const char		*recs[MAX_RECS];
	size_t			 lens[MAX_RECS], n = 0, i;
	const uint8_t		*p = data, *end = data + size, *sep;
	struct mtasts_diag	 diag;
	struct mtasts_txt	 txt;
	enum mtasts_status	 st;

	while (n < MAX_RECS) {
		sep = find_sep(p, (size_t)(end - p));
		if (sep == NULL || n == MAX_RECS - 1)
			sep = end;
		lens[n] = (size_t)(sep - p);
		pieces[n] = dup_exact(p, lens[n]);
		rdata[n] = pieces[n];
		recs[n] = (const char *)pieces[n];
		n++;
		if (sep == end)
			break;
		p = sep + SEP_LEN;
	}

	mtasts_diag_init(&diag);
	st = mtasts_txt_select_wire(rdata, lens, n, &txt, &diag);
	check_id(st, &txt);
	if (st != MTASTS_OK && st != MTASTS_NOPOLICY)
		abort();
	if ((st == MTASTS_OK) != (diag.errors == 0))
		abort();

	mtasts_diag_init(&diag);
	st = mtasts_txt_select(recs, lens, n, &txt, &diag);
	check_id(st, &txt);
	if (st != MTASTS_OK && st != MTASTS_NOPOLICY)
		abort();

	for (i = 0; i < n; i++)
		free(pieces[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one(data, size);
	fuzz_many(data, size);
	return 0;
}
