/*
 * smtpreply.c: the SMTP reply parser of smtpreply.h.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "smtpreply.h"

static enum mtasts_smtp_parse
bad(struct mtasts_smtp_reply *r, const char *why)
{
	(void)snprintf(r->error, sizeof(r->error), "%s", why);
	return MTASTS_SMTP_BAD;
}

/* The same, for helpers that answer -1 on a malformed line. */
static int
line_bad(struct mtasts_smtp_reply *r, const char *why)
{
	(void)bad(r, why);
	return -1;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "STARTTLS" alone or followed by a space: the RFC 3207 keyword. */
static int
is_starttls(const char *t, size_t n)
{
	static const char	kw[] = "STARTTLS";
	size_t			i;
	char			c;

	if (n < sizeof(kw) - 1)
		return 0;
	for (i = 0; i < sizeof(kw) - 1; i++) {
		c = t[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != kw[i])
			return 0;
	}
	return n == sizeof(kw) - 1 || t[i] == ' ' || t[i] == '\t';
}

/* Keep the first line's text for diagnostics, printable ASCII only. */
static void
keep_text(struct mtasts_smtp_reply *r, const char *t, size_t n)
{
	size_t	i;

	if (n > sizeof(r->text) - 1)
		n = sizeof(r->text) - 1;
	for (i = 0; i < n; i++)
		r->text[i] = (t[i] >= 0x20 && t[i] < 0x7f) ? t[i] : '?';
	r->text[n] = '\0';
}

/*
 * One complete line l[0..n), its line end removed.  Returns 1 when it was
 * the last line of the reply, 0 when more follow, -1 when malformed.
 */
static int
parse_line(struct mtasts_smtp_reply *r, const char *l, size_t n)
{
	int	code;

	if (memchr(l, '\0', n) != NULL)
		return line_bad(r, "NUL byte in reply");
	if (n < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2]))
		return line_bad(r, "reply line does not start with a code");
	/* RFC 5321 §4.2: first digit 2-5, second 0-5. */
	if (l[0] < '2' || l[0] > '5' || l[1] > '5')
		return line_bad(r, "reply code out of range");
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (n > 3 && l[3] != '-' && l[3] != ' ')
		return line_bad(r, "reply code not followed by space or "
		    "hyphen");
	if (r->nlines == 0) {
		r->code = code;
		keep_text(r, l + (n > 3 ? 4 : 3), n > 3 ? n - 4 : 0);
	} else if (code != r->code)
		return line_bad(r, "lines of one reply carry different codes");
	else if (n > 4 && is_starttls(l + 4, n - 4))
		r->starttls = 1;
	r->nlines++;
	return n == 3 || l[3] == ' ';
}

enum mtasts_smtp_parse
mtasts_smtp_reply_parse(const char *in, size_t inlen,
    struct mtasts_smtp_reply *r)
{
	const char	*l, *nl;
	size_t		 avail, n;
	int		 last;

	while (r->off < inlen) {
		l = in + r->off;
		avail = inlen - r->off;
		if (avail > MTASTS_SMTP_LINE_MAX)
			avail = MTASTS_SMTP_LINE_MAX;
		if ((nl = memchr(l, '\n', avail)) == NULL) {
			if (avail == MTASTS_SMTP_LINE_MAX)
				return bad(r, "reply line too long");
			return MTASTS_SMTP_MORE;
		}
		n = (size_t)(nl - l);
		r->off += n + 1;
		if (n > 0 && l[n - 1] == '\r')
			n--;
		if (r->nlines == MTASTS_SMTP_LINES_MAX)
			return bad(r, "reply has too many lines");
		if ((last = parse_line(r, l, n)) < 0)
			return MTASTS_SMTP_BAD;
		if (last) {
			r->len = r->off;
			return MTASTS_SMTP_DONE;
		}
	}
	return MTASTS_SMTP_MORE;
}
