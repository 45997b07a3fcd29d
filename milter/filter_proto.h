/*
 * filter_proto.h: the OpenSMTPD filter protocol (smtpd-filters(7)) as
 * smtpd 6.8 speaks it, version 0.6, whose line layout 0.5 and 0.7 share.
 * Lines from smtpd:
 *
 *   config|<key>[|<value>]                       until "config|ready"
 *   report|<ver>|<time>|<subsystem>|<event>|<session>[|<params>]
 *   filter|<ver>|<time>|<subsystem>|<phase>|<session>|<token>[|<param>]
 *
 * and from the filter "register|..." lines, then one answer per filter
 * request: "filter-result|<session>|<token>|proceed" or
 * "...|reject|<code> <text>".
 *
 * Everything here is pure: bytes in, a parsed view or an answer out, no
 * I/O and no allocation, so that tests/fuzz/fuzz_filter_proto.c can drive
 * it with anything.  smtpd is trusted no more than the network: a line
 * that does not parse is described, never assumed.
 */
#ifndef MTASTS_FILTER_PROTO_H
#define MTASTS_FILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Longest line kept whole.  smtpd's own lines are far shorter (an SMTP
 * command line is at most 512 octets, RFC 5321 §4.5.3.1.4); the prefix of
 * a longer one is still handed over, so that its request can be answered.
 */
#define FP_LINE_MAX		16384
#define FP_ANSWER_MAX		1024	/* room for any answer line */

/* A field: bytes p[0..n), not NUL-terminated. */
struct fp_str {
	const char	*p;
	size_t		 n;
};

enum fp_kind {
	FP_CONFIG,
	FP_REPORT,
	FP_FILTER,
	FP_UNKNOWN		/* none of them: why says what is wrong */
};

/*
 * One parsed line; the fields point into the line.  For a line that does
 * not parse, kind still says what it claimed to be and has_session and
 * has_token say whether those were read: a broken filter request may
 * still be answered.
 */
struct fp_line {
	enum fp_kind	 kind;
	const char	*why;		/* static text when parse failed */
	struct fp_str	 key;		/* config */
	struct fp_str	 value;		/* config, may be empty */
	struct fp_str	 version;	/* report, filter: "0.6" */
	struct fp_str	 subsystem;	/* "smtp-in" */
	struct fp_str	 event;		/* report event or filter phase */
	uint64_t	 session;
	uint64_t	 token;
	int		 has_session;
	int		 has_token;
	int		 has_param;
	struct fp_str	 param;		/* the rest of the line */
};

/*
 * Parse line[0..len) (without its newline) into out.  0 when the line has
 * the layout of its kind; -1 otherwise, with out->why set.
 */
int	fp_parse(const char *line, size_t len, struct fp_line *out);

/* 1 when the field equals the NUL-terminated s. */
int	fp_eq(struct fp_str f, const char *s);

/*
 * 1 when the protocol version is one whose layout we know (0.5 to 0.7);
 * 0 for any other, which is answered all the same, in the 0.5 layout.
 */
int	fp_version_known(struct fp_str version);

/*
 * Splits a byte stream into lines.  Memory is fixed: a line longer than
 * FP_LINE_MAX is handed over cut (FP_LINE_CUT) and the rest of it, up to
 * its newline, is dropped and counted.
 */
#define FP_LINE_CUT		0x1	/* longer than FP_LINE_MAX */
#define FP_LINE_TRUNCATED	0x2	/* the stream ended before its newline */

typedef void	(*fp_line_cb)(void *arg, const char *line, size_t len,
		    int flags);

struct fp_reader {
	char	 buf[FP_LINE_MAX];
	size_t	 len;
	int	 dropping;		/* inside the rest of a cut line */
	uint64_t dropped;		/* bytes dropped so far, in all */
	uint64_t lines;			/* lines handed over */
};

void	fp_reader_init(struct fp_reader *);

/* Feed data[0..n); cb gets every complete line, in order. */
void	fp_reader_feed(struct fp_reader *, const char *data, size_t n,
	    fp_line_cb cb, void *arg);

/* The stream ended: a partial last line goes to cb as FP_LINE_TRUNCATED. */
void	fp_reader_eof(struct fp_reader *, fp_line_cb cb, void *arg);

/*
 * Answer lines, newline included, into buf (size >= FP_ANSWER_MAX is
 * always enough).  Return the length, or -1 when the line would not fit
 * or the reply is not one smtpd takes (code outside 400-599, empty
 * status).  Reply text is cleaned: bytes outside printable ASCII become
 * '?', so that no answer can break the line protocol.
 */
int	fp_answer_proceed(char *buf, size_t size, uint64_t session,
	    uint64_t token);
int	fp_answer_reject(char *buf, size_t size, uint64_t session,
	    uint64_t token, int code, const char *status, const char *text);

/* The registration, "register|ready" last; one line per call, i from 0. */
const char	*fp_register_line(size_t i);

#endif /* MTASTS_FILTER_PROTO_H */
