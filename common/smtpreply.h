/*
 * smtpreply.h: a bounded, incremental parser for SMTP replies (RFC 5321
 * §4.2), for the STARTTLS probe (probe.h).
 *
 * A reply is one or more lines "NNN-text" ending with one "NNN text" (or a
 * bare "NNN"), each terminated by CRLF; a lone LF is accepted as well, as
 * Postfix and most clients do.  Every line of one reply must carry the same
 * code.  The input stays with the caller: call mtasts_smtp_reply_parse
 * again with the same buffer, grown by what arrived since, and it resumes
 * after the last complete line it saw.  Lines longer than
 * MTASTS_SMTP_LINE_MAX, replies of more than MTASTS_SMTP_LINES_MAX lines and
 * NUL bytes are refused, so that a hostile server costs bounded memory and
 * time.
 */
#ifndef MTASTS_SMTPREPLY_H
#define MTASTS_SMTPREPLY_H

#include <stddef.h>

/* RFC 5321 §4.5.3.1.5 allows 512 octets; leave room for verbose servers. */
#define MTASTS_SMTP_LINE_MAX	1024	/* octets, line end included */
#define MTASTS_SMTP_LINES_MAX	128
#define MTASTS_SMTP_TEXT_MAX	160	/* first line's text kept, NUL incl. */

enum mtasts_smtp_parse {
	MTASTS_SMTP_MORE = 0,	/* no complete reply yet: read more */
	MTASTS_SMTP_DONE,	/* a complete reply: r->len bytes of input */
	MTASTS_SMTP_BAD		/* malformed; why in r->error */
};

/*
 * Parser state and result; plain data.  Zero it (memset) before the first
 * call for each reply.
 */
struct mtasts_smtp_reply {
	size_t		off;		/* input consumed by complete lines */
	size_t		len;		/* DONE: octets of the whole reply */
	int		code;		/* 200..599, 0 until the first line */
	size_t		nlines;
	/*
	 * 1 when a line after the first starts with the keyword STARTTLS
	 * (any case) followed by the end of the line or a space: in an EHLO
	 * reply that is the extension of RFC 3207.
	 */
	int		starttls;
	char		text[MTASTS_SMTP_TEXT_MAX];	/* first line, cut */
	char		error[96];
};

/*
 * Parse in[0..inlen) from r->off.  Never reads past inlen, never needs a
 * NUL terminator.  After DONE, octets from r->len on belong to whatever the
 * server sent next.
 */
enum mtasts_smtp_parse	mtasts_smtp_reply_parse(const char *in, size_t inlen,
			    struct mtasts_smtp_reply *r);

#endif /* MTASTS_SMTPREPLY_H */
