/*
 * jsonw.c: a small JSON writer (see jsonw.h).
 *
 * Strings are escaped per RFC 8259 §7: '"' and '\\' get a backslash, the
 * control characters with a short form are written \b \f \n \r \t, and the
 * other C0 controls and DEL become \u00XX.  Well-formed UTF-8 (no overlong
 * forms, no surrogates, nothing past U+10FFFF) passes through unchanged.
 * Every byte that is not part of a well-formed sequence is written as
 * \u00XX of the byte value, that is, as the Latin-1 character with that
 * number: the output stays valid JSON whatever the input, and a reader can
 * still see which bytes were there.  Such a byte never swallows the bytes
 * that follow it; decoding starts again at the next one.
 *
 * Nesting is tracked per level in count[]: bit LVL_ITEM says the level
 * already holds a value (so the next one needs a comma), bit LVL_OBJECT
 * says the level is an object (so members need keys).  Level 0 is the top
 * of the document, which takes exactly one value.  Misuse (a key in an
 * array, a missing key in an object, closing the wrong kind of container,
 * nesting too deep, a second top-level value) sets error; after that the
 * writer ignores further calls and finish returns NULL.
 */
#include <config.h>

#include <stddef.h>
#include <string.h>

#include "buf.h"
#include "jsonw.h"

/* Output cap: far above anything mta-sts-ctl prints, yet bounded. */
#define JSONW_MAX	(32UL * 1024 * 1024)

#define LVL_ITEM	0x01
#define LVL_OBJECT	0x02

void
mtasts_jsonw_init(struct mtasts_jsonw *w)
{
	memset(w, 0, sizeof(*w));
	mtasts_buf_init(&w->buf, JSONW_MAX);
}

static void
put(struct mtasts_jsonw *w, const char *s, size_t n)
{
	if (w->error)
		return;
	if (mtasts_buf_add(&w->buf, s, n) == -1)
		w->error = 1;
}

static void
put_str(struct mtasts_jsonw *w, const char *s)
{
	put(w, s, strlen(s));
}

static void
put_u00(struct mtasts_jsonw *w, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char	 e[6];

	e[0] = '\\';
	e[1] = 'u';
	e[2] = '0';
	e[3] = '0';
	e[4] = hex[c >> 4];
	e[5] = hex[c & 0x0f];
	put(w, e, sizeof(e));
}

/*
 * Length of the well-formed UTF-8 sequence at s[0..len) (2 to 4), or 0 when
 * s[0] does not start one.  The ranges are those of RFC 3629 §4.
 */
static size_t
utf8_len(const unsigned char *s, size_t len)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else
		return 0;

	if (len < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static void
put_quoted(struct mtasts_jsonw *w, const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	const char		*esc;
	size_t			 i = 0, run, n;

	put(w, "\"", 1);
	while (i < len) {
		/* Copy the longest stretch that needs no escaping at once. */
		for (run = i; run < len; run++)
			if (s[run] < 0x20 || s[run] >= 0x7f ||
			    s[run] == '"' || s[run] == '\\')
				break;
		if (run > i) {
			put(w, str + i, run - i);
			i = run;
			continue;
		}

		esc = NULL;
		switch (s[i]) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		}
		if (esc != NULL) {
			put(w, esc, 2);
			i++;
		} else if (s[i] >= 0x80 && (n = utf8_len(s + i, len - i)) > 0) {
			put(w, str + i, n);
			i += n;
		} else {
			/* Other controls, DEL, and bytes that are not UTF-8. */
			put_u00(w, s[i]);
			i++;
		}
	}
	put(w, "\"", 1);
}

/*
 * Open a value slot at the current level: check the key against the kind
 * of container, then write the comma and the key.  Returns 0, or -1 when
 * the call is misuse (error set) or the writer has already failed.
 */
static int
value_begin(struct mtasts_jsonw *w, const char *key)
{
	unsigned char	*lvl;

	if (w->error)
		return -1;
	lvl = &w->count[w->depth];
	if (w->depth == 0) {
		if (key != NULL || (*lvl & LVL_ITEM)) {
			w->error = 1;
			return -1;
		}
	} else if ((*lvl & LVL_OBJECT) ? key == NULL : key != NULL) {
		w->error = 1;
		return -1;
	}

	if (*lvl & LVL_ITEM)
		put(w, ",", 1);
	*lvl |= LVL_ITEM;
	if (key != NULL) {
		put_quoted(w, key, strlen(key));
		put(w, ":", 1);
	}
	return w->error ? -1 : 0;
}

static void
container_begin(struct mtasts_jsonw *w, const char *key, int object)
{
	if (w->error)
		return;
	if (w->depth + 1 >= MTASTS_JSONW_DEPTH) {
		w->error = 1;
		return;
	}
	if (value_begin(w, key) == -1)
		return;
	put(w, object ? "{" : "[", 1);
	w->depth++;
	w->count[w->depth] = object ? LVL_OBJECT : 0;
}

static void
container_end(struct mtasts_jsonw *w, int object)
{
	if (w->error)
		return;
	if (w->depth == 0 ||
	    !(w->count[w->depth] & LVL_OBJECT) != !object) {
		w->error = 1;
		return;
	}
	put(w, object ? "}" : "]", 1);
	w->count[w->depth] = 0;
	w->depth--;
}

void
mtasts_jsonw_object_begin(struct mtasts_jsonw *w, const char *key)
{
	container_begin(w, key, 1);
}

void
mtasts_jsonw_object_end(struct mtasts_jsonw *w)
{
	container_end(w, 1);
}

void
mtasts_jsonw_array_begin(struct mtasts_jsonw *w, const char *key)
{
	container_begin(w, key, 0);
}

void
mtasts_jsonw_array_end(struct mtasts_jsonw *w)
{
	container_end(w, 0);
}

void
mtasts_jsonw_string(struct mtasts_jsonw *w, const char *key, const char *val)
{
	if (val == NULL) {
		mtasts_jsonw_null(w, key);
		return;
	}
	mtasts_jsonw_stringn(w, key, val, strlen(val));
}

void
mtasts_jsonw_stringn(struct mtasts_jsonw *w, const char *key,
    const char *val, size_t len)
{
	if (val == NULL) {
		mtasts_jsonw_null(w, key);
		return;
	}
	if (value_begin(w, key) == -1)
		return;
	put_quoted(w, val, len);
}

void
mtasts_jsonw_int(struct mtasts_jsonw *w, const char *key, long long v)
{
	if (value_begin(w, key) == -1)
		return;
	if (mtasts_buf_printf(&w->buf, "%lld", v) == -1)
		w->error = 1;
}

void
mtasts_jsonw_bool(struct mtasts_jsonw *w, const char *key, int v)
{
	if (value_begin(w, key) == -1)
		return;
	put_str(w, v ? "true" : "false");
}

void
mtasts_jsonw_null(struct mtasts_jsonw *w, const char *key)
{
	if (value_begin(w, key) == -1)
		return;
	put_str(w, "null");
}

const char *
mtasts_jsonw_finish(struct mtasts_jsonw *w)
{
	/* An empty document is not JSON either. */
	if (w->error || w->depth != 0 || !(w->count[0] & LVL_ITEM) ||
	    w->buf.data == NULL)
		return NULL;
	return w->buf.data;
}

void
mtasts_jsonw_free(struct mtasts_jsonw *w)
{
	mtasts_buf_free(&w->buf);
	mtasts_jsonw_init(w);
}
