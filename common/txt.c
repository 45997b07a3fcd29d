/*
 * txt.c: the _mta-sts TXT record (RFC 8461 §3.1).
 *
 * The grammar, as the RFC gives it:
 *
 *	sts-text-record = sts-version 1*(sts-field-delim sts-field)
 *	                  [sts-field-delim]
 *	sts-field       = sts-id / sts-extension
 *	sts-field-delim = *WSP ";" *WSP
 *	sts-version     = %s"v=STSv1"
 *	sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
 *	sts-extension   = sts-ext-name "=" sts-ext-value
 *	sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 *	sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
 *
 * How we read it where the RFC leaves room (these paragraphs are meant for
 * the manual page):
 *
 * - A record is an STSv1 candidate when it begins with the exact bytes
 *   "v=STSv1" followed by a space, a tab, ";" or the end of the record.
 *   Other records are discarded as not MTA-STS at all: "v=STSv10;...",
 *   "V=STSv1;..." (the version is case-sensitive) and " v=STSv1;..."
 *   (leading white space).  §3.1 speaks of records "beginning with
 *   v=STSv1;", but the grammar allows white space before the ";", so
 *   "v=STSv1 ; id=1" is a candidate too, and a valid one.
 * - A candidate is then held to the grammar exactly.  Anything outside it
 *   makes the record invalid, and an invalid record means the domain has
 *   no available policy (§3.1).  In particular: "v=STSv1" alone or
 *   "v=STSv1;" has no field; white space at the end without a ";" before
 *   it is invalid; an empty field (";;") is invalid; the one optional
 *   trailing ";" may have white space on either side.
 * - The record must be US-ASCII.  A byte of 0x80 or above, a NUL or any
 *   other control character except the tab anywhere in a candidate makes
 *   it invalid (§3.1 asks senders to treat non-ASCII as a syntax error).
 * - The first field named "id" (case-sensitive, so "ID" is an extension)
 *   is the policy id and must be 1 to 32 letters or digits; anything else
 *   there makes the record invalid.  Later "id" fields are ignored as
 *   duplicates (§3.2: only the first of a field counts), but they must
 *   still be well-formed extension fields.  A record without "id" is
 *   invalid.
 * - Extension fields are checked against the grammar and then ignored.
 *   Their names have at most 32 characters.
 * - With several TXT records, records that are not candidates are dropped;
 *   unless exactly one candidate remains there is no policy, whether or not
 *   the candidates are valid.  A record whose DNS wire form is broken (a
 *   string length running past the end of the record, or no string at
 *   all) counts as an invalid candidate, since we cannot tell what it says.
 * - The strings of one TXT record are joined with nothing in between
 *   (§3.1), so a record may be split anywhere, even inside "v=STSv1".
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txt.h"

#define TXT_VERSION		"v=STSv1"
#define TXT_VERSION_LEN		(sizeof(TXT_VERSION) - 1)
#define TXT_EXT_NAME_MAX	32
#define TXT_WIRE_MAX		65535	/* largest rdata DNS can carry */

/* Locale-independent on purpose: the grammar is ABNF, ASCII only. */
static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static int
is_ext_name_char(unsigned char c)
{
	return is_alnum(c) || c == '_' || c == '-' || c == '.';
}

static int
is_ext_value_char(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '=' && c != ';';
}

static int
txt_is_candidate(const char *rec, size_t len)
{
	if (rec == NULL || len < TXT_VERSION_LEN ||
	    memcmp(rec, TXT_VERSION, TXT_VERSION_LEN) != 0)
		return 0;
	return len == TXT_VERSION_LEN ||
	    is_wsp((unsigned char)rec[TXT_VERSION_LEN]) ||
	    rec[TXT_VERSION_LEN] == ';';
}

/*
 * A bounded cursor over one record.  Parsing steps advance pos and, on
 * failure, leave the reason in why.
 */
struct txt_cur {
	const char	*s;
	size_t		 len;
	size_t		 pos;
	char		*why;
	size_t		 whysz;
};

static int __attribute__((format(printf, 2, 3)))
txt_fail(struct txt_cur *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(c->why, c->whysz, fmt, ap);
	va_end(ap);
	return -1;
}

static size_t
txt_span(struct txt_cur *c, int (*accept)(unsigned char))
{
	size_t	start = c->pos;

	while (c->pos < c->len && accept((unsigned char)c->s[c->pos]))
		c->pos++;
	return c->pos - start;
}

static int
txt_at(const struct txt_cur *c, char ch)
{
	return c->pos < c->len && c->s[c->pos] == ch;
}

/* After a value: only a delimiter or the end may follow. */
static int
txt_at_field_end(const struct txt_cur *c)
{
	return c->pos == c->len || is_wsp((unsigned char)c->s[c->pos]) ||
	    c->s[c->pos] == ';';
}

/* Everything in the grammar is printable ASCII, SP or HTAB. */
static int
txt_check_bytes(struct txt_cur *c)
{
	size_t		i;
	unsigned char	b;

	for (i = 0; i < c->len; i++) {
		b = (unsigned char)c->s[i];
		if (b >= 0x80)
			return txt_fail(c,
			    "non-ASCII byte 0x%02x at offset %zu", b, i);
		if ((b < 0x20 && b != '\t') || b == 0x7f)
			return txt_fail(c,
			    "control character 0x%02x at offset %zu", b, i);
	}
	return 0;
}

/*
 * One field at c->pos.  The first "id" fills id[]; *have_id tells whether
 * that has happened.
 */
static int
txt_field(struct txt_cur *c, char id[MTASTS_ID_MAX + 1], int *have_id)
{
	const char	*name, *val;
	size_t		 namelen, vallen;

	if (txt_at(c, ';'))
		return txt_fail(c, "empty field (\";;\") at offset %zu",
		    c->pos);
	if (c->pos < c->len && !is_alnum((unsigned char)c->s[c->pos]))
		return txt_fail(c,
		    "field name must start with a letter or digit");
	name = c->s + c->pos;
	namelen = txt_span(c, is_ext_name_char);
	if (!txt_at(c, '='))
		return txt_fail(c, "expected '=' after field name");
	c->pos++;
	val = c->s + c->pos;

	if (!*have_id && namelen == 2 && memcmp(name, "id", 2) == 0) {
		vallen = txt_span(c, is_alnum);
		if (vallen == 0 || vallen > MTASTS_ID_MAX ||
		    !txt_at_field_end(c))
			return txt_fail(c,
			    "id must be 1 to %d letters or digits",
			    MTASTS_ID_MAX);
		memcpy(id, val, vallen);
		id[vallen] = '\0';
		*have_id = 1;
		return 0;
	}

	if (namelen > TXT_EXT_NAME_MAX)
		return txt_fail(c,
		    "extension name longer than %d characters",
		    TXT_EXT_NAME_MAX);
	vallen = txt_span(c, is_ext_value_char);
	if (vallen == 0)
		return txt_fail(c, "empty value for field \"%.*s\"",
		    (int)namelen, name);
	if (txt_at(c, '='))
		return txt_fail(c, "'=' in value of field \"%.*s\"",
		    (int)namelen, name);
	return 0;
}

/*
 * The core parser: rec must be a candidate.  MTASTS_OK with out filled, or
 * MTASTS_INVALID with the reason in why.
 */
static enum mtasts_status
txt_parse_candidate(const char *rec, size_t len, struct mtasts_txt *out,
    char *why, size_t whysz)
{
	struct txt_cur	c;
	size_t		nfields = 0;
	int		have_id = 0;

	c.s = rec;
	c.len = len;
	c.pos = TXT_VERSION_LEN;
	c.why = why;
	c.whysz = whysz;
	if (txt_check_bytes(&c) == -1)
		return MTASTS_INVALID;
	while (c.pos < c.len) {
		(void)txt_span(&c, is_wsp);
		if (c.pos == c.len) {
			(void)txt_fail(&c,
			    "white space at the end without ';' before it");
			return MTASTS_INVALID;
		}
		if (!txt_at(&c, ';')) {
			(void)txt_fail(&c, "expected ';' after field");
			return MTASTS_INVALID;
		}
		c.pos++;
		(void)txt_span(&c, is_wsp);
		if (c.pos == c.len)
			break;		/* the optional trailing delimiter */
		if (txt_field(&c, out->id, &have_id) == -1)
			return MTASTS_INVALID;
		nfields++;
	}
	if (nfields == 0) {
		(void)txt_fail(&c, "record has no fields after v=STSv1");
		return MTASTS_INVALID;
	}
	if (!have_id) {
		(void)txt_fail(&c, "missing id field");
		return MTASTS_INVALID;
	}
	return MTASTS_OK;
}

enum mtasts_status
mtasts_txt_parse(const char *rec, size_t len, struct mtasts_txt *out,
    struct mtasts_diag *diag)
{
	struct mtasts_txt	tmp;
	char			why[MTASTS_DIAG_LEN];
	enum mtasts_status	st;

	if (out != NULL)
		out->id[0] = '\0';
	if (!txt_is_candidate(rec, len)) {
		mtasts_diag_add(diag, 0, 0,
		    "not an MTA-STS record (does not begin with v=STSv1)");
		return MTASTS_NOPOLICY;
	}
	st = txt_parse_candidate(rec, len, &tmp, why, sizeof(why));
	if (st != MTASTS_OK) {
		mtasts_diag_add(diag, 0, 0, "%s", why);
		return st;
	}
	if (out != NULL)
		*out = tmp;
	return MTASTS_OK;
}

/*
 * Where the records come from: the joined text of record i, or -1 when its
 * wire form is broken.  The text stays valid until the next call.
 */
struct txt_source {
	size_t			  nrecs;
	int			(*get)(struct txt_source *, size_t,
				    const char **, size_t *);
	const char *const	 *recs;		/* plain records */
	const size_t		 *lens;
	const unsigned char *const *rdata;	/* wire records */
	const size_t		 *rdlen;
	char			 *joinbuf;	/* one joined wire record */
};

static int
src_plain_get(struct txt_source *src, size_t i, const char **rec,
    size_t *len)
{
	*rec = src->recs[i];
	*len = src->recs[i] != NULL ? src->lens[i] : 0;
	return 0;
}

/* Join the <length><bytes> strings of record i into joinbuf. */
static int
src_wire_get(struct txt_source *src, size_t i, const char **rec,
    size_t *len)
{
	const unsigned char	*rd = src->rdata[i];
	size_t			 rdlen = src->rdlen[i], pos = 0, n = 0, slen;

	if (rd == NULL || rdlen == 0 || rdlen > TXT_WIRE_MAX)
		return -1;
	while (pos < rdlen) {
		slen = rd[pos++];
		if (slen > rdlen - pos)
			return -1;
		memcpy(src->joinbuf + n, rd + pos, slen);
		n += slen;
		pos += slen;
	}
	*rec = src->joinbuf;
	*len = n;
	return 0;
}

const char *
mtasts_txt_result_str(enum mtasts_txt_result r)
{
	switch (r) {
	case MTASTS_TXT_FOUND:
		return "ok";
	case MTASTS_TXT_NONE:
		return "no-txt";
	case MTASTS_TXT_MULTIPLE:
		return "multi-txt";
	case MTASTS_TXT_INVALID:
		return "bad-txt";
	}
	return "bad-txt";
}

/* Record the selection's conclusion; NOPOLICY unless a record was found. */
static enum mtasts_status
set_result(struct mtasts_txt *out, enum mtasts_txt_result r)
{
	if (out != NULL) {
		if (r != MTASTS_TXT_FOUND)
			out->id[0] = '\0';
		out->result = r;
	}
	return r == MTASTS_TXT_FOUND ? MTASTS_OK : MTASTS_NOPOLICY;
}

static enum mtasts_status
txt_select(struct txt_source *src, struct mtasts_txt *out,
    struct mtasts_diag *diag)
{
	struct mtasts_txt	tmp;
	enum mtasts_status	first = MTASTS_INVALID;
	char			why[MTASTS_DIAG_LEN];
	const char		*rec;
	size_t			i, len, ncand = 0;

	why[0] = '\0';
	for (i = 0; i < src->nrecs; i++) {
		if (src->get(src, i, &rec, &len) == -1) {
			if (ncand++ == 0)
				(void)snprintf(why, sizeof(why), "%s",
				    "malformed TXT wire data");
			continue;
		}
		if (!txt_is_candidate(rec, len))
			continue;
		/* Only the first matters: a second one spoils it anyway. */
		if (ncand++ == 0)
			first = txt_parse_candidate(rec, len, &tmp, why,
			    sizeof(why));
	}
	if (ncand == 0) {
		mtasts_diag_add(diag, 0, 0, "no v=STSv1 TXT record");
		return set_result(out, MTASTS_TXT_NONE);
	}
	if (ncand > 1) {
		mtasts_diag_add(diag, 0, 0,
		    "%zu v=STSv1 TXT records (exactly one required)", ncand);
		return set_result(out, MTASTS_TXT_MULTIPLE);
	}
	if (first != MTASTS_OK) {
		mtasts_diag_add(diag, 0, 0, "invalid TXT record: %s", why);
		return set_result(out, MTASTS_TXT_INVALID);
	}
	if (out != NULL)
		*out = tmp;
	return set_result(out, MTASTS_TXT_FOUND);
}

enum mtasts_status
mtasts_txt_select(const char *const *recs, const size_t *lens, size_t nrecs,
    struct mtasts_txt *out, struct mtasts_diag *diag)
{
	struct txt_source	src;

	if (out != NULL)
		out->id[0] = '\0';
	memset(&src, 0, sizeof(src));
	src.nrecs = (recs != NULL && lens != NULL) ? nrecs : 0;
	src.get = src_plain_get;
	src.recs = recs;
	src.lens = lens;
	return txt_select(&src, out, diag);
}

enum mtasts_status
mtasts_txt_select_wire(const unsigned char *const *rdata,
    const size_t *rdlen, size_t nrecs, struct mtasts_txt *out,
    struct mtasts_diag *diag)
{
	struct txt_source	src;
	enum mtasts_status	st;
	size_t			i, max = 1;

	if (out != NULL) {
		out->id[0] = '\0';
		out->result = MTASTS_TXT_INVALID;
	}
	memset(&src, 0, sizeof(src));
	src.nrecs = (rdata != NULL && rdlen != NULL) ? nrecs : 0;
	src.get = src_wire_get;
	src.rdata = rdata;
	src.rdlen = rdlen;
	/* Joined text is never longer than its wire form. */
	for (i = 0; i < src.nrecs; i++)
		if (rdlen[i] > max && rdlen[i] <= TXT_WIRE_MAX)
			max = rdlen[i];
	if ((src.joinbuf = malloc(max)) == NULL) {
		mtasts_diag_add(diag, 0, 0, "out of memory");
		return MTASTS_INTERNAL;
	}
	st = txt_select(&src, out, diag);
	free(src.joinbuf);
	return st;
}
