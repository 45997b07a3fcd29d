/*
 * fuzz_policy.c: libFuzzer target for the policy body parser
 * (mtasts_policy_parse) and the Content-Type check.
 *
 * Beyond "no crash, no sanitizer report", it checks what the rest of the
 * engine relies on and aborts when a promise is broken: an accepted policy
 * has only valid, normalised mx patterns, at least one of them unless the
 * mode is none, and a max_age within the RFC bound; a refused one leaves
 * the output empty and says why.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mxmatch.h"
#include "policy.h"
#include "status.h"

#define FUZZ_MAXSIZE	MTASTS_POLICY_SIZE_DEFAULT
#define MX_MAX		1024	/* policy.c's cap on stored patterns */

static void
check_diag(const struct mtasts_diag *d)
{
	size_t	i;

	if (d->count > MTASTS_DIAG_MAX)
		abort();
	for (i = 0; i < d->count; i++)
		if (memchr(d->item[i].text, '\0', MTASTS_DIAG_LEN) == NULL)
			abort();
}

static void
check_ok(const struct mtasts_policy *pol, const struct mtasts_diag *d)
{
	size_t	i, len;

	if (d->errors != 0)
		abort();
	if (pol->mode != MTASTS_MODE_NONE &&
	    pol->mode != MTASTS_MODE_TESTING &&
	    pol->mode != MTASTS_MODE_ENFORCE)
		abort();
	if (pol->max_age > MTASTS_MAX_AGE_MAX)
		abort();
	if (pol->nmx == 0 && pol->mode != MTASTS_MODE_NONE)
		abort();
	if (pol->nmx > MX_MAX || (pol->nmx > 0) != (pol->mx != NULL))
		abort();
	for (i = 0; i < pol->nmx; i++) {
		if (pol->mx[i] == NULL)
			abort();
		len = strlen(pol->mx[i]);
		if (!mtasts_mx_pattern_valid(pol->mx[i], len, NULL))
			abort();
		/* Stored form: no trailing dot, no upper case. */
		if (len == 0 || pol->mx[i][len - 1] == '.')
			abort();
		if (strpbrk(pol->mx[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL)
			abort();
	}
}

static void
check_invalid(const struct mtasts_policy *pol, const struct mtasts_diag *d)
{
	if (pol->nmx != 0 || pol->mx != NULL || pol->max_age != 0 ||
	    pol->mode != MTASTS_MODE_NONE)
		abort();
	if (d->errors == 0 || *mtasts_diag_first(d) == '\0')
		abort();
}

static void
same_policy(const struct mtasts_policy *a, const struct mtasts_policy *b)
{
	size_t	i;

	if (a->mode != b->mode || a->max_age != b->max_age ||
	    a->nmx != b->nmx)
		abort();
	for (i = 0; i < a->nmx; i++)
		if (strcmp(a->mx[i], b->mx[i]) != 0)
			abort();
}

/* The first line, as a NUL-terminated header value would reach us. */
static void
media_type(const uint8_t *data, size_t size)
{
	const uint8_t	*nl;
	char		*ct;
	size_t		 n;
	int		 r;

	nl = memchr(data, '\n', size);
	n = nl != NULL ? (size_t)(nl - data) : size;
	/* An exact-size copy lets ASan catch any read past the NUL. */
	if ((ct = malloc(n + 1)) == NULL)
		return;
	memcpy(ct, data, n);
	ct[n] = '\0';
	r = mtasts_media_type_ok(ct);
	if (r != 0 && r != 1)
		abort();
	free(ct);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_policy	 pol, pol2;
	struct mtasts_diag	 diag;
	enum mtasts_status	 st, st2;
	const char		*buf = (const char *)data;

	mtasts_diag_init(&diag);
	st = mtasts_policy_parse(buf, size, FUZZ_MAXSIZE, &pol, &diag);
	check_diag(&diag);
	switch (st) {
	case MTASTS_OK:
		check_ok(&pol, &diag);
		break;
	case MTASTS_INVALID:
		check_invalid(&pol, &diag);
		break;
	case MTASTS_INTERNAL:
		/* Out of memory: nothing may be left behind. */
		if (pol.nmx != 0 || pol.mx != NULL)
			abort();
		break;
	default:
		abort();
	}
	if (mtasts_mode_str(pol.mode) == NULL)
		abort();

	/* A pure function of the bytes, with or without a diag to fill. */
	st2 = mtasts_policy_parse(buf, size, FUZZ_MAXSIZE, &pol2, NULL);
	if (st == MTASTS_OK && st2 == MTASTS_OK)
		same_policy(&pol, &pol2);
	else if (st2 != st && st != MTASTS_INTERNAL &&
	    st2 != MTASTS_INTERNAL)
		abort();
	mtasts_policy_clear(&pol);
	mtasts_policy_clear(&pol2);

	/* One byte under the input's size must always be refused. */
	if (size > 0) {
		mtasts_diag_init(&diag);
		st = mtasts_policy_parse(buf, size, size - 1, &pol, &diag);
		if (st != MTASTS_INVALID || diag.errors != 1)
			abort();
		check_invalid(&pol, &diag);
	}

	media_type(data, size);
	return 0;
}
