/*
 * netstring.h: D. J. Bernstein's netstrings, "<len>:<payload>,", as the
 * Postfix and Sendmail socketmap protocol frames requests and replies.
 *
 * The decoder is incremental, so that a server can feed it whatever a
 * read() returned: a request split over many reads, or many requests in
 * one (pipelining).  It is bounded: the payload may not pass the maximum
 * given at initialisation, and a length that would pass it is refused as
 * soon as its digits show it, before any payload is stored.
 */
#ifndef MTASTS_NETSTRING_H
#define MTASTS_NETSTRING_H

#include <stddef.h>

#include "buf.h"

/* Digits of a length that no sane map request or reply exceeds. */
#define MTASTS_NETSTRING_DIGITS_MAX	9

enum mtasts_netstring_status {
	MTASTS_NETSTRING_MORE = 0,	/* input used up, frame incomplete */
	MTASTS_NETSTRING_DONE,		/* one payload complete */
	MTASTS_NETSTRING_ERROR		/* malformed: see error; stays so */
};

/* Decoder state; the fields are private to netstring.c. */
struct mtasts_netstring {
	int			 state;
	size_t			 max;		/* payload cap, bytes */
	size_t			 want;		/* declared payload length */
	size_t			 digits;	/* digits of want seen */
	struct mtasts_buf	 payload;
	const char		*error;		/* static text once ERROR */
};

/* Start a decoder for payloads of at most max bytes (max < 10^9). */
void	mtasts_netstring_init(struct mtasts_netstring *, size_t max);

/*
 * Consume input p[0..len).  *used (never NULL) is set to the bytes taken:
 * all of them with MORE; up to and including the closing comma with DONE,
 * so that the caller feeds the rest again after reading the payload; with
 * ERROR the position of the offending byte.  After DONE the next call
 * starts a new frame.  After ERROR every call returns ERROR until
 * mtasts_netstring_reset: the stream has lost its framing.
 */
enum mtasts_netstring_status
	mtasts_netstring_feed(struct mtasts_netstring *, const char *p,
	    size_t len, size_t *used);

/*
 * The payload of the frame just completed (after DONE), NUL-terminated
 * for convenience although it may itself hold NUL bytes; *len gets its
 * length.  Borrowed, valid until the next feed or reset.
 */
const char	*mtasts_netstring_payload(const struct mtasts_netstring *,
		    size_t *len);

/* Why the decoder stopped ("length has a leading zero", ...); never NULL. */
const char	*mtasts_netstring_error(const struct mtasts_netstring *);

/* 1 when some bytes of an unfinished frame have been consumed. */
int		 mtasts_netstring_partial(const struct mtasts_netstring *);

/* Forget any partial frame or error; the cap is kept. */
void		 mtasts_netstring_reset(struct mtasts_netstring *);

/* Release the payload storage; the decoder may be initialised again. */
void		 mtasts_netstring_free(struct mtasts_netstring *);

/* Append "<len>:<p>," to out; 0, or -1 with out->toobig/nomem set. */
int		 mtasts_netstring_encode(struct mtasts_buf *out, const char *p,
		    size_t len);

#endif /* MTASTS_NETSTRING_H */
