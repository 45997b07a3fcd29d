/*
 * netstring.c: bounded, incremental netstring decoding and encoding (see
 * netstring.h).
 *
 * The decoder is a small state machine over single bytes for the length
 * and the comma, and over runs of bytes for the payload, so a large
 * payload is copied once and never scanned byte by byte.  The format is
 * the one of cr.yp.to/proto/netstrings.txt: the length has no leading
 * zeros unless it is the single digit "0", nothing may come between the
 * digits and the colon, and the comma must follow the payload at once.
 * Postfix's and Sendmail's clients never send anything else, so refusing
 * the looser forms costs nothing and keeps the parser obvious.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "netstring.h"

enum {
	NS_LEN = 0,	/* reading digits */
	NS_PAYLOAD,	/* reading want bytes */
	NS_COMMA,	/* expecting ',' */
	NS_DONE,	/* a frame was returned; the next feed starts anew */
	NS_ERROR
};

void
mtasts_netstring_init(struct mtasts_netstring *ns, size_t max)
{
	memset(ns, 0, sizeof(*ns));
	ns->max = max;
	ns->state = NS_LEN;
	ns->error = "";
	mtasts_buf_init(&ns->payload, max);
}

static void
restart(struct mtasts_netstring *ns)
{
	ns->state = NS_LEN;
	ns->want = 0;
	ns->digits = 0;
	ns->error = "";
	mtasts_buf_reset(&ns->payload);
}

static enum mtasts_netstring_status
fail(struct mtasts_netstring *ns, const char *why)
{
	ns->state = NS_ERROR;
	ns->error = why;
	return MTASTS_NETSTRING_ERROR;
}

/* One byte of the length or its colon. */
static enum mtasts_netstring_status
len_byte(struct mtasts_netstring *ns, unsigned char c)
{
	if (c == ':') {
		if (ns->digits == 0)
			return fail(ns, "length is missing before ':'");
		ns->state = ns->want > 0 ? NS_PAYLOAD : NS_COMMA;
		return MTASTS_NETSTRING_MORE;
	}
	if (c < '0' || c > '9')
		return fail(ns, ns->digits == 0 ? "length does not start "
		    "with a digit" : "length is not followed by ':'");
	if (ns->digits == 1 && ns->want == 0)
		return fail(ns, "length has a leading zero");
	/* max < 10^9, so want * 10 + 9 stays far from overflow. */
	if (++ns->digits > MTASTS_NETSTRING_DIGITS_MAX)
		return fail(ns, "length has too many digits");
	ns->want = ns->want * 10 + (size_t)(c - '0');
	if (ns->want > ns->max)
		return fail(ns, "length exceeds the limit");
	return MTASTS_NETSTRING_MORE;
}

enum mtasts_netstring_status
mtasts_netstring_feed(struct mtasts_netstring *ns, const char *p, size_t len,
    size_t *used)
{
	enum mtasts_netstring_status	 st;
	size_t				 i = 0, n;

	*used = 0;
	if (ns->state == NS_ERROR)
		return MTASTS_NETSTRING_ERROR;
	if (ns->state == NS_DONE)
		restart(ns);
	while (i < len) {
		switch (ns->state) {
		case NS_LEN:
			st = len_byte(ns, (unsigned char)p[i]);
			if (st == MTASTS_NETSTRING_ERROR) {
				*used = i;
				return st;
			}
			i++;
			break;
		case NS_PAYLOAD:
			n = ns->want - ns->payload.len;
			if (n > len - i)
				n = len - i;
			/* want <= max, so the buffer's cap cannot refuse it. */
			if (mtasts_buf_add(&ns->payload, p + i, n) == -1) {
				*used = i;
				return fail(ns, ns->payload.nomem ?
				    "out of memory" : "payload exceeds the "
				    "limit");
			}
			i += n;
			if (ns->payload.len == ns->want)
				ns->state = NS_COMMA;
			break;
		case NS_COMMA:
			if (p[i] != ',') {
				*used = i;
				return fail(ns, "payload is not followed by ','");
			}
			/* An empty payload still reads back as "". */
			if (mtasts_buf_add(&ns->payload, "", 0) == -1) {
				*used = i;
				return fail(ns, "out of memory");
			}
			ns->state = NS_DONE;
			*used = i + 1;
			return MTASTS_NETSTRING_DONE;
		default:
			*used = i;
			return fail(ns, "internal state error");
		}
	}
	*used = i;
	return MTASTS_NETSTRING_MORE;
}

const char *
mtasts_netstring_payload(const struct mtasts_netstring *ns, size_t *len)
{
	if (ns->state != NS_DONE || ns->payload.data == NULL) {
		*len = 0;
		return "";
	}
	*len = ns->payload.len;
	return ns->payload.data;
}

const char *
mtasts_netstring_error(const struct mtasts_netstring *ns)
{
	return ns->error != NULL ? ns->error : "";
}

int
mtasts_netstring_partial(const struct mtasts_netstring *ns)
{
	switch (ns->state) {
	case NS_LEN:
		return ns->digits > 0;
	case NS_PAYLOAD:
	case NS_COMMA:
		return 1;
	default:
		return 0;
	}
}

void
mtasts_netstring_reset(struct mtasts_netstring *ns)
{
	restart(ns);
}

void
mtasts_netstring_free(struct mtasts_netstring *ns)
{
	mtasts_buf_free(&ns->payload);
	restart(ns);
}

int
mtasts_netstring_encode(struct mtasts_buf *out, const char *p, size_t len)
{
	char	 head[32];
	size_t	 old = out->len;
	int	 n;

	n = snprintf(head, sizeof(head), "%zu:", len);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		out->toobig = 1;
		return -1;
	}
	/* Check the whole frame first: a refusal must leave out intact. */
	if (len > out->max - out->len ||
	    (size_t)n + 1 > out->max - out->len - len) {
		out->toobig = 1;
		return -1;
	}
	if (mtasts_buf_add(out, head, (size_t)n) == -1 ||
	    mtasts_buf_add(out, p, len) == -1 ||
	    mtasts_buf_add(out, ",", 1) == -1) {
		/* Only memory can fail here; drop the partial frame. */
		out->len = old;
		if (out->data != NULL)
			out->data[old] = '\0';
		return -1;
	}
	return 0;
}
