/*
 * buf.c: a growing byte buffer with a size cap (see buf.h).
 *
 * The cap protects us from input we do not control: an append that would
 * take the content past max bytes is refused as a whole, and the buffer is
 * left exactly as it was, so a caller can report "too big" with the data it
 * already has.  Storage grows by doubling, and every size computation is
 * checked before it can wrap.  b->cap counts allocated bytes, the NUL
 * included; data stays NULL until something is stored.
 */
#include <config.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* First allocation: big enough for most short lines, small enough to waste. */
#define BUF_MINALLOC	64

void
mtasts_buf_init(struct mtasts_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/*
 * Make room for n more content bytes plus the NUL.  Returns 0, or -1 with
 * toobig or nomem set and the buffer untouched.
 */
static int
reserve(struct mtasts_buf *b, size_t n)
{
	size_t	 need, ncap;
	char	*p;

	/* len <= max always holds, so max - len cannot wrap. */
	if (n > b->max - b->len) {
		b->toobig = 1;
		return -1;
	}
	need = b->len + n;
	if (need == SIZE_MAX) {
		/* No room left for the terminating NUL in a size_t. */
		b->toobig = 1;
		return -1;
	}
	need++;
	if (b->data != NULL && need <= b->cap)
		return 0;

	ncap = b->cap ? b->cap : BUF_MINALLOC;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	/* Never hold more than the cap can ever use. */
	if (b->max < SIZE_MAX && ncap > b->max + 1)
		ncap = b->max + 1;
	if (ncap < need)
		ncap = need;

	if ((p = realloc(b->data, ncap)) == NULL) {
		b->nomem = 1;
		return -1;
	}
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
mtasts_buf_add(struct mtasts_buf *b, const void *p, size_t n)
{
	if (reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
mtasts_buf_printf(struct mtasts_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;
	size_t	 n;

	/* Measure first, so that a refused append leaves no partial text. */
	va_start(ap, fmt);
	r = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (r < 0) {
		/*
		 * Only an encoding error or a result past INT_MAX gets here;
		 * report it as the one non-size failure the header knows.
		 */
		b->nomem = 1;
		return -1;
	}
	n = (size_t)r;
	if (reserve(b, n) == -1)
		return -1;

	va_start(ap, fmt);
	r = vsnprintf(b->data + b->len, n + 1, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r != n) {
		b->data[b->len] = '\0';
		b->nomem = 1;
		return -1;
	}
	b->len += n;
	return 0;
}

void
mtasts_buf_reset(struct mtasts_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
	b->toobig = 0;
	b->nomem = 0;
}

void
mtasts_buf_free(struct mtasts_buf *b)
{
	free(b->data);
	mtasts_buf_init(b, b->max);
}
