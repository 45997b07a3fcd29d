/*
 * fuzz_filter_proto.c: the OpenSMTPD filter protocol code of
 * filter-mta-sts (milter/filter_proto.c): the line splitter, the line
 * parser and the answer builder.
 *
 * The input is a stream from "smtpd".  It is split into lines twice, in
 * one piece and in pieces whose sizes the input's own bytes choose; both
 * runs must hand over the same lines.  Every line is parsed; the fields
 * must lie inside the line, and every filter request with a session and
 * a token is answered both ways, with a reply code and texts taken from
 * the line itself.  An answer is always exactly one line of printable
 * ASCII, or refused.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter_proto.h"
#include "fuzz.h"

struct run {
	uint64_t	lines;
	uint64_t	bytes;
	uint64_t	sum;		/* of the lines' contents */
	uint64_t	flags;
};

static void
inside(struct fp_str f, const char *line, size_t len)
{
	if (f.n == 0)
		return;
	if (f.p < line || f.p + f.n > line + len)
		abort();
}

static void
check_answer(const char *buf, int n)
{
	int	i;

	if (n < 0)
		return;
	if (n == 0 || buf[n - 1] != '\n' || buf[n] != '\0')
		abort();
	for (i = 0; i < n - 1; i++)
		if (buf[i] < 0x20 || buf[i] >= 0x7f)
			abort();
	if (strncmp(buf, "filter-result|", 14) != 0)
		abort();
}

static void
answer(const struct fp_line *l)
{
	char	buf[FP_ANSWER_MAX], status[16], text[600];
	size_t	n;
	int	code, rc;

	rc = fp_answer_proceed(buf, sizeof(buf), l->session, l->token);
	if (rc < 0)
		abort();
	check_answer(buf, rc);
	/* Code, status and text come from the line: hostile on purpose. */
	code = 400 + (int)(l->param.n % 250);
	n = l->event.n < sizeof(status) - 1 ? l->event.n : sizeof(status) - 1;
	memcpy(status, l->event.p, n);
	status[n] = '\0';
	n = l->param.n < sizeof(text) - 1 ? l->param.n : sizeof(text) - 1;
	if (n > 0)
		memcpy(text, l->param.p, n);
	text[n] = '\0';
	check_answer(buf, fp_answer_reject(buf, sizeof(buf), l->session,
	    l->token, code, status, text));
	check_answer(buf, fp_answer_reject(buf, sizeof(buf), l->session,
	    l->token, 451, "4.7.5", text));
	if (fp_answer_reject(buf, sizeof(buf), l->session, l->token, 250,
	    "2.0.0", text) != -1)
		abort();
}

static void
on_line(void *arg, const char *line, size_t len, int flags)
{
	struct run	*r = arg;
	struct fp_line	 l;
	size_t		 i;
	int		 rc;

	if (len > FP_LINE_MAX || memchr(line, '\n', len) != NULL)
		abort();
	r->lines++;
	r->bytes += len;
	r->flags += (uint64_t)flags;
	for (i = 0; i < len; i++)
		r->sum += (unsigned char)line[i];
	rc = fp_parse(line, len, &l);
	if (rc == -1 && l.why == NULL)
		abort();
	if (rc == 0 && l.kind == FP_UNKNOWN)
		abort();
	inside(l.key, line, len);
	inside(l.value, line, len);
	inside(l.version, line, len);
	inside(l.subsystem, line, len);
	inside(l.event, line, len);
	inside(l.param, line, len);
	if (l.has_token && !l.has_session)
		abort();
	if (l.kind == FP_FILTER && l.has_token)
		answer(&l);
	(void)fp_version_known(l.version);
}

static void
split(const uint8_t *data, size_t size, int pieces, struct run *r)
{
	static struct fp_reader	 rd;
	size_t			 off = 0, n, k = 0;

	memset(r, 0, sizeof(*r));
	fp_reader_init(&rd);
	while (off < size) {
		n = size - off;
		if (pieces)
			n = 1 + (size_t)data[k++ % size] * 97 % 20011;
		if (n > size - off)
			n = size - off;
		fp_reader_feed(&rd, (const char *)data + off, n, on_line, r);
		off += n;
	}
	fp_reader_eof(&rd, on_line, r);
	r->bytes += rd.dropped;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run	a, b;
	size_t		i;

	if (size == 0)
		return 0;
	split(data, size, 0, &a);
	split(data, size, 1, &b);
	if (a.lines != b.lines || a.bytes != b.bytes || a.sum != b.sum ||
	    a.flags != b.flags)
		abort();
	for (i = 0; fp_register_line(i) != NULL; i++)
		if (strchr(fp_register_line(i), '\n') != NULL)
			abort();
	return 0;
}
