/*
 * filter_proto.c: lines of the OpenSMTPD filter protocol, in and out
 * (filter_proto.h).
 *
 * Parsing walks the line with a bounded cursor, field by field, and keeps
 * going after the first problem where it can: a filter request with an
 * odd timestamp still carries the session and token we must answer, and
 * a request left unanswered hangs the SMTP session until smtpd's timeout.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "filter_proto.h"

/* What we ask smtpd for, in the order we send it. */
static const char *const register_lines[] = {
	"register|report|smtp-in|link-connect",
	"register|report|smtp-in|link-disconnect",
	"register|report|smtp-in|tx-begin",
	"register|report|smtp-in|tx-commit",
	"register|report|smtp-in|tx-rollback",
	"register|report|smtp-in|tx-reset",
	"register|filter|smtp-in|rcpt-to",
	"register|ready",
	NULL
};

const char *
fp_register_line(size_t i)
{
	if (i >= sizeof(register_lines) / sizeof(register_lines[0]))
		return NULL;
	return register_lines[i];
}

int
fp_eq(struct fp_str f, const char *s)
{
	size_t	n = strlen(s);

	return f.n == n && (n == 0 || memcmp(f.p, s, n) == 0);
}

/* ---------------------------------------------------------------- fields */

struct cursor {
	const char	*p;
	const char	*end;
	int		 more;		/* a '|' ended the last field */
};

/* The next field, up to '|' or the end of the line. */
static struct fp_str
next_field(struct cursor *c)
{
	struct fp_str	 f;
	const char	*bar;

	f.p = c->p;
	bar = memchr(c->p, '|', (size_t)(c->end - c->p));
	if (bar == NULL) {
		f.n = (size_t)(c->end - c->p);
		c->p = c->end;
		c->more = 0;
	} else {
		f.n = (size_t)(bar - c->p);
		c->p = bar + 1;
		c->more = 1;
	}
	return f;
}

/* Everything left, '|' included; the cursor is at the end afterwards. */
static struct fp_str
rest(struct cursor *c)
{
	struct fp_str	f;

	f.p = c->p;
	f.n = (size_t)(c->end - c->p);
	c->p = c->end;
	c->more = 0;
	return f;
}

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int
hex_value(char ch)
{
	if (is_digit(ch))
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 1 to 16 hex digits, as smtpd writes ids with %016llx; 0 or -1. */
static int
parse_id(struct fp_str f, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;
	int		d;

	if (f.n == 0 || f.n > 16)
		return -1;
	for (i = 0; i < f.n; i++) {
		if ((d = hex_value(f.p[i])) < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* digits '.' digits: "0.6" for a version, "1796321927.249118" for a time. */
static int
dotted_number(struct fp_str f)
{
	size_t	i, dots = 0, digits = 0;

	if (f.n == 0 || f.n > 32)
		return 0;
	for (i = 0; i < f.n; i++) {
		if (f.p[i] == '.') {
			if (dots++ > 0 || digits == 0)
				return 0;
			digits = 0;
		} else if (is_digit(f.p[i]))
			digits++;
		else
			return 0;
	}
	return dots == 1 && digits > 0;
}

/* A phase or event name: lower-case letters and hyphens. */
static int
name_ok(struct fp_str f)
{
	size_t	i;

	if (f.n == 0 || f.n > 64)
		return 0;
	for (i = 0; i < f.n; i++)
		if (!((f.p[i] >= 'a' && f.p[i] <= 'z') || f.p[i] == '-'))
			return 0;
	return 1;
}

int
fp_version_known(struct fp_str v)
{
	return fp_eq(v, "0.5") || fp_eq(v, "0.6") || fp_eq(v, "0.7");
}

/* ---------------------------------------------------------------- parse */

static int
bad(struct fp_line *out, const char *why)
{
	if (out->why == NULL)
		out->why = why;
	return -1;
}

static int
parse_config(struct cursor *c, struct fp_line *out)
{
	if (!c->more)
		return bad(out, "config line without a key");
	out->key = next_field(c);
	if (out->key.n == 0)
		return bad(out, "config line with an empty key");
	if (c->more)
		out->value = rest(c);
	return 0;
}

/* The fields that report and filter lines share, up to the session. */
static int
parse_common(struct cursor *c, struct fp_line *out)
{
	struct fp_str	f;
	int		rc = 0;

	if (!c->more)
		return bad(out, "no version");
	out->version = next_field(c);
	if (!dotted_number(out->version))
		rc = bad(out, "malformed protocol version");
	if (!c->more)
		return bad(out, "no timestamp");
	f = next_field(c);
	if (!dotted_number(f))
		rc = bad(out, "malformed timestamp");
	if (!c->more)
		return bad(out, "no subsystem");
	out->subsystem = next_field(c);
	if (!fp_eq(out->subsystem, "smtp-in"))
		rc = bad(out, "subsystem is not smtp-in");
	if (!c->more)
		return bad(out, "no event or phase");
	out->event = next_field(c);
	if (!name_ok(out->event))
		rc = bad(out, "malformed event or phase name");
	if (!c->more)
		return bad(out, "no session id");
	f = next_field(c);
	if (parse_id(f, &out->session) == -1)
		return bad(out, "malformed session id");
	out->has_session = 1;
	return rc;
}

static int
parse_report(struct cursor *c, struct fp_line *out)
{
	int	rc = parse_common(c, out);

	if (out->has_session && c->more) {
		out->param = rest(c);
		out->has_param = 1;
	}
	return rc;
}

static int
parse_filter(struct cursor *c, struct fp_line *out)
{
	struct fp_str	f;
	int		rc = parse_common(c, out);

	if (!out->has_session)
		return rc;
	if (!c->more)
		return bad(out, "no token");
	f = next_field(c);
	if (parse_id(f, &out->token) == -1)
		return bad(out, "malformed token");
	out->has_token = 1;
	if (c->more) {
		out->param = rest(c);
		out->has_param = 1;
	}
	return rc;
}

int
fp_parse(const char *line, size_t len, struct fp_line *out)
{
	struct cursor	c;
	struct fp_str	type;
	int		nul, rc;

	memset(out, 0, sizeof(*out));
	out->kind = FP_UNKNOWN;
	if (line == NULL || len == 0)
		return bad(out, "empty line");
	if (len > FP_LINE_MAX)
		return bad(out, "line too long");
	/* Still parsed: a request with a NUL is answered, not trusted. */
	if ((nul = memchr(line, '\0', len) != NULL))
		(void)bad(out, "NUL byte in line");
	c.p = line;
	c.end = line + len;
	c.more = 0;
	type = next_field(&c);
	if (fp_eq(type, "config")) {
		out->kind = FP_CONFIG;
		rc = parse_config(&c, out);
	} else if (fp_eq(type, "report")) {
		out->kind = FP_REPORT;
		rc = parse_report(&c, out);
	} else if (fp_eq(type, "filter")) {
		out->kind = FP_FILTER;
		rc = parse_filter(&c, out);
	} else
		rc = bad(out, "unknown message type");
	return nul ? -1 : rc;
}

/* ---------------------------------------------------------------- reader */

void
fp_reader_init(struct fp_reader *r)
{
	r->len = 0;
	r->dropping = 0;
	r->dropped = 0;
	r->lines = 0;
}

static void
hand_over(struct fp_reader *r, int flags, fp_line_cb cb, void *arg)
{
	size_t	n = r->len;

	/* A CR before the LF is not part of the line. */
	if (n > 0 && r->buf[n - 1] == '\r' && !(flags & FP_LINE_CUT))
		n--;
	r->lines++;
	r->len = 0;
	cb(arg, r->buf, n, flags);
}

void
fp_reader_feed(struct fp_reader *r, const char *data, size_t n,
    fp_line_cb cb, void *arg)
{
	const char	*nl;
	size_t		 take, room;

	while (n > 0) {
		nl = memchr(data, '\n', n);
		take = nl != NULL ? (size_t)(nl - data) : n;
		if (r->dropping) {
			r->dropped += take;
		} else {
			room = sizeof(r->buf) - r->len;
			if (take <= room) {
				memcpy(r->buf + r->len, data, take);
				r->len += take;
			} else {
				memcpy(r->buf + r->len, data, room);
				r->len += room;
				r->dropped += take - room;
				r->dropping = 1;
				hand_over(r, FP_LINE_CUT, cb, arg);
			}
		}
		if (nl == NULL)
			return;
		if (r->dropping)
			r->dropping = 0;
		else
			hand_over(r, 0, cb, arg);
		data = nl + 1;
		n -= take + 1;
	}
}

void
fp_reader_eof(struct fp_reader *r, fp_line_cb cb, void *arg)
{
	if (!r->dropping && r->len > 0)
		hand_over(r, FP_LINE_TRUNCATED, cb, arg);
	r->len = 0;
	r->dropping = 0;
}

/* ---------------------------------------------------------------- answers */

int
fp_answer_proceed(char *buf, size_t size, uint64_t session, uint64_t token)
{
	int	n;

	n = snprintf(buf, size, "filter-result|%016llx|%016llx|proceed\n",
	    (unsigned long long)session, (unsigned long long)token);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Copy src into dst[0..size) as printable ASCII; returns the length. */
static size_t
clean_copy(char *dst, size_t size, const char *src)
{
	size_t	i;

	for (i = 0; src[i] != '\0' && i + 1 < size; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
	return i;
}

int
fp_answer_reject(char *buf, size_t size, uint64_t session, uint64_t token,
    int code, const char *status, const char *text)
{
	char	st[16], tx[FP_ANSWER_MAX - 96];
	int	n;

	if (code < 400 || code > 599 || status == NULL || text == NULL)
		return -1;
	/* An enhanced status "4.7.5" must agree with the code's class. */
	if (clean_copy(st, sizeof(st), status) == 0 || st[0] != '0' +
	    code / 100 || strchr(st, ' ') != NULL)
		return -1;
	(void)clean_copy(tx, sizeof(tx), text);
	n = snprintf(buf, size, "filter-result|%016llx|%016llx|reject|"
	    "%d %s %s\n", (unsigned long long)session,
	    (unsigned long long)token, code, st, tx);
	return n < 0 || (size_t)n >= size ? -1 : n;
}
