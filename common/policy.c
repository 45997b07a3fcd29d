/*
 * policy.c: the MTA-STS policy body served at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2).
 *
 * The body is untrusted network input.  It is read with a bounded cursor
 * over (buf, len) and never assumed to be NUL-terminated.  The parser does
 * not stop at the first problem: it reads every line so that the operator
 * sees all of them at once, each with its line number, and the policy is
 * refused if any of them is an error.  Warnings never refuse a policy.
 *
 * Rules, and the decisions taken where the RFC leaves room (these are
 * repeated in the man page; the STS-nn numbers are those of the project's
 * RFC checklist):
 *
 *  - Lines end in LF or CRLF, mixed freely; the last line needs no
 *    terminator (STS-22).  A CR that is not followed by LF is not a line
 *    end: the line holding it is malformed (error).
 *  - A line is "key:" then optional SP/HTAB, then the value; SP/HTAB after
 *    the value is allowed.  SP/HTAB before the key or between the key and
 *    ':' makes the line malformed (error).
 *  - Keys are case-sensitive, and so are the values of version and mode
 *    (STS-23).  "Version:", "MX:" or "Mode:" are not the defined fields:
 *    such a line is an unknown extension, ignored, with a warning so the
 *    operator sees the likely typo.  "mode: Enforce" is a malformed mode
 *    line (error).
 *  - Unknown keys are ignored (STS-24) provided that the line still follows
 *    the extension grammar: a name of 1-32 letters, digits, '_', '-', '.'
 *    starting with a letter or digit, and a non-empty value of printable
 *    ASCII, SP and valid UTF-8 (so ':' and UTF-8 text are fine; control
 *    characters, HTAB inside the value and broken UTF-8 are errors).
 *  - version (exactly "STSv1"), mode ("enforce", "testing" or "none") and
 *    max_age are each required once; each missing one is its own error
 *    (STS-26).  If one of them is repeated, the first occurrence is used
 *    and each later one is ignored with a warning (STS-25, STS-12); a later
 *    occurrence that is itself malformed is still an error.
 *  - max_age is 1 to 10 decimal digits, leading zeros allowed (still
 *    decimal), at most 31557600; 0 is valid.  Signs, suffixes, spaces
 *    inside and 11 or more digits are errors (STS-18).
 *  - mx may repeat.  Each value must pass mtasts_mx_pattern_valid()
 *    ("*." wildcard allowed, A-labels only; STS-21) and is stored in lower
 *    case without a trailing dot.  At least one mx is required unless the
 *    mode is none (STS-20); mx lines in a none policy are kept.  More than
 *    1024 (POLICY_MX_MAX) patterns is an error: no real policy needs that
 *    many and it bounds the memory one policy may take.
 *  - Empty lines (and lines of only SP/HTAB) are outside the RFC grammar.
 *    DECISION: they are ignored with a warning, for interoperability: a
 *    trailing blank line is an easy publishing slip (editors, heredocs)
 *    and it cannot change the meaning of any field.
 *  - Comment lines ("# ...") are not in the grammar either, and no
 *    convention for them exists that a publisher could rely on with other
 *    senders, so they are errors (a "#" key has no ':' or a bad key).
 *  - A UTF-8 byte order mark at the start is an error: the grammar has no
 *    room for it and a policy host that adds one is misconfigured.  The
 *    rest of the first line is still parsed, so the report stays precise.
 *  - A NUL byte anywhere is an error (the line holding it is not parsed).
 *  - A body longer than maxsize bytes is refused at once, without parsing
 *    (STS-34).
 */
#include <config.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxmatch.h"
#include "policy.h"
#include "status.h"

#define POLICY_MX_MAX	1024	/* patterns kept from one policy */
#define EXT_NAME_MAX	32	/* sts-policy-ext-name: 1 + *31 */
#define QUOTE_SZ	64	/* untrusted text echoed in a message */

struct parser {
	struct mtasts_policy	*out;
	struct mtasts_diag	*diag;		/* caller's; may be NULL */
	struct mtasts_diag	 scratch;	/* reasons from mxmatch */
	size_t			 mxcap;
	size_t			 errors;	/* ours, as diag may be NULL */
	unsigned int		 line;		/* 1-based; 0: whole policy */
	unsigned int		 version_line;	/* first one seen, or 0 */
	unsigned int		 mode_line;
	unsigned int		 max_age_line;
	int			 mode_known;	/* first mode line was valid */
	size_t			 mx_lines;	/* mx lines, valid or not */
	int			 mx_overflow;	/* "too many" was reported */
	int			 nomem;
};

static void	problem(struct parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static unsigned char
to_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Exact, case-sensitive comparison of s[0..n) with a C string. */
static int
equals(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* ASCII case-insensitive variant, for spotting miscased keys. */
static int
equals_nocase(const char *s, size_t n, const char *lit)
{
	size_t	i;

	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (to_lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return 0;
	return 1;
}

/*
 * Copy untrusted s[0..n) into dst for a message: printable ASCII stays,
 * every other byte (and '"', '\\') becomes \xHH, and long text is cut with
 * "...", so a hostile policy cannot put control characters or unbounded
 * text into the logs.  dst must hold at least 8 bytes.
 */
static const char *
quote(char dst[QUOTE_SZ], const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, o = 0, need;
	unsigned char		 c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		need = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ?
		    1 : 4;
		/* The last byte needs room for the NUL, others for "..." */
		if (o + need + 1 > QUOTE_SZ ||
		    (i + 1 < n && o + need + 4 > QUOTE_SZ)) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 1)
			dst[o++] = (char)c;
		else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0x0f];
		}
	}
	dst[o] = '\0';
	return dst;
}

/* Record an error (warning == 0) or a warning against the current line. */
static void
problem(struct parser *ps, int warning, const char *fmt, ...)
{
	char	text[MTASTS_DIAG_LEN];
	va_list	ap;

	if (!warning)
		ps->errors++;
	if (ps->diag == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	mtasts_diag_add(ps->diag, warning, ps->line, "%s", text);
}

/*
 * Length of the UTF-8 sequence (RFC 3629 UTF8-2/3/4) at s[0..n), or 0 when
 * it is not one: overlong forms, surrogates and code points past U+10FFFF
 * are refused, as the RFC's UTF8-char grammar does.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len)
		return 0;
	/* Only the second byte has the narrowed range; the rest are tails. */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * sts-policy-ext-value: vchar [*(SP / vchar) vchar] where vchar is visible
 * ASCII or a UTF-8 character.  The caller has already trimmed SP/HTAB from
 * both ends, so only the inside remains to check.
 */
static void
check_ext_value(struct parser *ps, const char *key, size_t klen,
    const char *v, size_t vlen)
{
	const unsigned char	*u = (const unsigned char *)v;
	char			 q[QUOTE_SZ];
	size_t			 i, n;

	if (vlen == 0) {
		problem(ps, 0, "field \"%s\" has an empty value",
		    quote(q, key, klen));
		return;
	}
	for (i = 0; i < vlen; i += n) {
		if (u[i] >= 0x20 && u[i] < 0x7f) {
			n = 1;
			continue;
		}
		if (u[i] < 0x80) {
			problem(ps, 0, "value of field \"%s\" holds control "
			    "character 0x%02x", quote(q, key, klen), u[i]);
			return;
		}
		if ((n = utf8_len(u + i, vlen - i)) == 0) {
			problem(ps, 0, "value of field \"%s\" is not valid "
			    "UTF-8 (byte %zu)", quote(q, key, klen), i + 1);
			return;
		}
	}
}

static void
field_version(struct parser *ps, const char *v, size_t vlen)
{
	char	q[QUOTE_SZ];

	if (!equals(v, vlen, "STSv1")) {
		problem(ps, 0, "version is \"%s\", expected \"STSv1\"",
		    quote(q, v, vlen));
		if (ps->version_line == 0)
			ps->version_line = ps->line;
		return;
	}
	if (ps->version_line != 0) {
		problem(ps, 1, "repeated version ignored; line %u is used",
		    ps->version_line);
		return;
	}
	ps->version_line = ps->line;
}

static void
field_mode(struct parser *ps, const char *v, size_t vlen)
{
	enum mtasts_mode	mode;
	char			q[QUOTE_SZ];

	if (equals(v, vlen, "enforce"))
		mode = MTASTS_MODE_ENFORCE;
	else if (equals(v, vlen, "testing"))
		mode = MTASTS_MODE_TESTING;
	else if (equals(v, vlen, "none"))
		mode = MTASTS_MODE_NONE;
	else {
		problem(ps, 0, "mode is \"%s\", expected enforce, testing or "
		    "none (lower case)", quote(q, v, vlen));
		if (ps->mode_line == 0)
			ps->mode_line = ps->line;
		return;
	}
	if (ps->mode_line != 0) {
		problem(ps, 1, "repeated mode ignored; line %u is used",
		    ps->mode_line);
		return;
	}
	ps->mode_line = ps->line;
	ps->mode_known = 1;
	ps->out->mode = mode;
}

static void
field_max_age(struct parser *ps, const char *v, size_t vlen)
{
	unsigned long long	 age = 0;
	char			 q[QUOTE_SZ];
	size_t			 i;
	int			 first = ps->max_age_line == 0;

	if (first)
		ps->max_age_line = ps->line;
	for (i = 0; i < vlen; i++)
		if (v[i] < '0' || v[i] > '9')
			break;
	if (vlen == 0 || i < vlen) {
		problem(ps, 0, "max_age \"%s\" is not a number of seconds "
		    "(digits only)", quote(q, v, vlen));
		return;
	}
	if (vlen > 10) {
		problem(ps, 0, "max_age \"%s\" has more than 10 digits",
		    quote(q, v, vlen));
		return;
	}
	/* Ten digits fit in 64 bits; unsigned long may be 32. */
	for (i = 0; i < vlen; i++)
		age = age * 10 + (unsigned long long)(v[i] - '0');
	if (age > MTASTS_MAX_AGE_MAX) {
		problem(ps, 0, "max_age %llu is more than %lu (one year)",
		    age, MTASTS_MAX_AGE_MAX);
		return;
	}
	if (!first) {
		problem(ps, 1, "repeated max_age ignored; line %u is used",
		    ps->max_age_line);
		return;
	}
	ps->out->max_age = (unsigned long)age;
}

static void
field_mx(struct parser *ps, const char *v, size_t vlen)
{
	struct mtasts_policy	*out = ps->out;
	char			 q[QUOTE_SZ], **nmx, *pat;
	const char		*why;
	size_t			 i, ncap;

	ps->mx_lines++;
	mtasts_diag_init(&ps->scratch);
	if (!mtasts_mx_pattern_valid(v, vlen, &ps->scratch)) {
		why = mtasts_diag_first(&ps->scratch);
		problem(ps, 0, "mx \"%s\" is not a valid host name pattern%s%s",
		    quote(q, v, vlen), *why != '\0' ? ": " : "", why);
		return;
	}
	if (out->nmx >= POLICY_MX_MAX) {
		if (!ps->mx_overflow)
			problem(ps, 0, "more than %d mx patterns",
			    POLICY_MX_MAX);
		ps->mx_overflow = 1;
		return;
	}
	if (out->nmx == ps->mxcap) {
		/* POLICY_MX_MAX keeps this product far from overflow. */
		ncap = ps->mxcap == 0 ? 8 : ps->mxcap * 2;
		if ((nmx = realloc(out->mx, ncap * sizeof(*nmx))) == NULL) {
			ps->nomem = 1;
			return;
		}
		out->mx = nmx;
		ps->mxcap = ncap;
	}
	/* The validator allowed one trailing dot; the stored form has none. */
	if (vlen > 0 && v[vlen - 1] == '.')
		vlen--;
	if ((pat = malloc(vlen + 1)) == NULL) {
		ps->nomem = 1;
		return;
	}
	for (i = 0; i < vlen; i++)
		pat[i] = (char)to_lower((unsigned char)v[i]);
	pat[vlen] = '\0';
	out->mx[out->nmx++] = pat;
}

/*
 * The key s[0..klen) (everything before the first ':') must be an
 * sts-policy-ext-name; the defined keys are all of that form too.
 */
static int
check_key(struct parser *ps, const char *s, size_t klen)
{
	char	q[QUOTE_SZ];
	size_t	i;

	if (klen == 0) {
		problem(ps, 0, "line starts with ':' (no key)");
		return 0;
	}
	for (i = 0; i < klen; i++) {
		if (is_alnum((unsigned char)s[i]))
			continue;
		if (i > 0 && (s[i] == '_' || s[i] == '-' || s[i] == '.'))
			continue;
		break;
	}
	if (i == klen) {
		if (klen > EXT_NAME_MAX) {
			problem(ps, 0, "key \"%s\" is longer than %d "
			    "characters", quote(q, s, klen), EXT_NAME_MAX);
			return 0;
		}
		return 1;
	}
	while (i < klen && is_wsp((unsigned char)s[i]))
		i++;
	if (i == klen)
		problem(ps, 0, "white space between key \"%s\" and ':'",
		    quote(q, s, klen));
	else
		problem(ps, 0, "key \"%s\" has a character not allowed in a "
		    "key", quote(q, s, klen));
	return 0;
}

static void
parse_line(struct parser *ps, const char *s, size_t n)
{
	const char	*colon, *v;
	char		 q[QUOTE_SZ];
	size_t		 i, klen, vlen;

	if (memchr(s, '\0', n) != NULL) {
		problem(ps, 0, "line holds a NUL byte");
		return;
	}
	if (memchr(s, '\r', n) != NULL) {
		problem(ps, 0, "carriage return not followed by a line feed");
		return;
	}
	for (i = 0; i < n; i++)
		if (!is_wsp((unsigned char)s[i]))
			break;
	if (i == n) {
		problem(ps, 1, "blank line ignored");
		return;
	}
	if (i > 0) {
		problem(ps, 0, "white space before the key");
		return;
	}
	if ((colon = memchr(s, ':', n)) == NULL) {
		problem(ps, 0, "not a \"key: value\" line (no ':')");
		return;
	}
	klen = (size_t)(colon - s);
	if (!check_key(ps, s, klen))
		return;

	/* sts-policy-field-delim is ":" *WSP; *WSP may also end the line. */
	v = colon + 1;
	vlen = n - klen - 1;
	while (vlen > 0 && is_wsp((unsigned char)*v)) {
		v++;
		vlen--;
	}
	while (vlen > 0 && is_wsp((unsigned char)v[vlen - 1]))
		vlen--;

	if (equals(s, klen, "version"))
		field_version(ps, v, vlen);
	else if (equals(s, klen, "mode"))
		field_mode(ps, v, vlen);
	else if (equals(s, klen, "max_age"))
		field_max_age(ps, v, vlen);
	else if (equals(s, klen, "mx"))
		field_mx(ps, v, vlen);
	else {
		check_ext_value(ps, s, klen, v, vlen);
		if (equals_nocase(s, klen, "version") ||
		    equals_nocase(s, klen, "mode") ||
		    equals_nocase(s, klen, "max_age") ||
		    equals_nocase(s, klen, "mx"))
			problem(ps, 1, "key \"%s\" ignored: keys are "
			    "case-sensitive", quote(q, s, klen));
	}
}

enum mtasts_status
mtasts_policy_parse(const char *buf, size_t len, size_t maxsize,
    struct mtasts_policy *out, struct mtasts_diag *diag)
{
	struct mtasts_policy	 discard;
	struct parser		*ps;
	const char		*p, *end, *nl, *eol;
	enum mtasts_status	 st;

	/*
	 * *out may be uninitialised: it is overwritten, not freed.  Problems
	 * are appended to diag, which the caller has initialised.
	 */
	if (out == NULL)
		out = &discard;
	memset(out, 0, sizeof(*out));
	out->mode = MTASTS_MODE_NONE;
	out->mx = NULL;
	if (buf == NULL) {
		if (len > 0)
			return MTASTS_INTERNAL;
		buf = "";	/* no arithmetic on a null pointer below */
	}
	if (len > maxsize) {
		mtasts_diag_add(diag, 0, 0, "policy is larger than %zu bytes",
		    maxsize);
		return MTASTS_INVALID;
	}

	/* The scratch diag is some kilobytes: keep it off the stack. */
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return MTASTS_INTERNAL;
	ps->out = out;
	ps->diag = diag;

	p = buf;
	end = buf + len;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		ps->line = 1;
		problem(ps, 0, "policy starts with a UTF-8 byte order mark");
		p += 3;
	}
	ps->line = 0;
	while (p < end) {
		if (ps->line < UINT_MAX)
			ps->line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		eol = nl != NULL ? nl : end;
		/* Only a CR right before LF is part of the terminator. */
		if (nl != NULL && eol > p && eol[-1] == '\r')
			eol--;
		parse_line(ps, p, (size_t)(eol - p));
		if (ps->nomem)
			break;
		p = nl != NULL ? nl + 1 : end;
	}
	if (ps->nomem) {
		mtasts_policy_clear(out);
		free(ps);
		return MTASTS_INTERNAL;
	}

	ps->line = 0;
	if (ps->version_line == 0)
		problem(ps, 0, "no version field");
	if (ps->mode_line == 0)
		problem(ps, 0, "no mode field");
	if (ps->max_age_line == 0)
		problem(ps, 0, "no max_age field");
	if (ps->mode_known && out->mode != MTASTS_MODE_NONE &&
	    ps->mx_lines == 0)
		problem(ps, 0, "no mx field; mode %s needs at least one",
		    mtasts_mode_str(out->mode));

	st = ps->errors > 0 ? MTASTS_INVALID : MTASTS_OK;
	if (st != MTASTS_OK || out == &discard)
		mtasts_policy_clear(out);
	free(ps);
	return st;
}

void
mtasts_policy_clear(struct mtasts_policy *pol)
{
	size_t	i;

	if (pol == NULL)
		return;
	for (i = 0; i < pol->nmx; i++)
		free(pol->mx[i]);
	free(pol->mx);
	pol->mx = NULL;
	pol->nmx = 0;
	pol->max_age = 0;
	pol->mode = MTASTS_MODE_NONE;
}

int
mtasts_media_type_ok(const char *ct)
{
	static const char	 want[] = "text/plain";
	size_t			 i;

	if (ct == NULL)
		return 0;
	while (is_wsp((unsigned char)*ct))
		ct++;
	for (i = 0; i < sizeof(want) - 1; i++)
		if (to_lower((unsigned char)ct[i]) != (unsigned char)want[i])
			return 0;	/* also stops at the NUL */
	ct += i;
	while (is_wsp((unsigned char)*ct))
		ct++;
	/* Parameters (charset and the like) do not matter to RFC 8461. */
	return *ct == '\0' || *ct == ';';
}

const char *
mtasts_mode_str(enum mtasts_mode mode)
{
	switch (mode) {
	case MTASTS_MODE_NONE:
		return "none";
	case MTASTS_MODE_TESTING:
		return "testing";
	case MTASTS_MODE_ENFORCE:
		return "enforce";
	}
	return "unknown";
}
