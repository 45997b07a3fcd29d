/*
 * test_jsonw.c: the JSON writer: escaping of each class of byte (RFC 8259
 * short escapes, other controls, valid and invalid UTF-8), nesting, and
 * every misuse that must make finish return NULL.
 */
#include <config.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"
#include "check.h"

/* One string written as the whole document, and the JSON we expect. */
static const struct {
	const char	*what;
	const char	*in;
	size_t		 len;
	const char	*want;
} esc_rows[] = {
#define ROW(what, in, want)	{ what, in, sizeof(in) - 1, want }
	ROW("plain ASCII", "mta-sts.example.com", "\"mta-sts.example.com\""),
	ROW("empty", "", "\"\""),
	ROW("quote", "a\"b", "\"a\\\"b\""),
	ROW("backslash", "a\\b", "\"a\\\\b\""),
	ROW("solidus is not escaped", "a/b", "\"a/b\""),
	ROW("backspace", "\b", "\"\\b\""),
	ROW("form feed", "\f", "\"\\f\""),
	ROW("line feed", "v=STSv1;\n", "\"v=STSv1;\\n\""),
	ROW("carriage return", "\r", "\"\\r\""),
	ROW("tab", "a\tb", "\"a\\tb\""),
	ROW("NUL", "a\0b", "\"a\\u0000b\""),
	ROW("SOH", "\001", "\"\\u0001\""),
	ROW("escape", "\033[2J", "\"\\u001b[2J\""),
	ROW("unit separator", "\037", "\"\\u001f\""),
	ROW("DEL", "\177", "\"\\u007f\""),
	ROW("space and tilde pass", " ~", "\" ~\""),
	ROW("UTF-8 two bytes", "caf\xc3\xa9", "\"caf\xc3\xa9\""),
	ROW("UTF-8 three bytes", "\xe2\x82\xac", "\"\xe2\x82\xac\""),
	ROW("UTF-8 four bytes", "\xf0\x9f\x93\xa7", "\"\xf0\x9f\x93\xa7\""),
	ROW("UTF-8 U+10FFFF", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""),
	ROW("UTF-8 U+FFFF", "\xef\xbf\xbf", "\"\xef\xbf\xbf\""),
	ROW("lone continuation byte", "a\x80z", "\"a\\u0080z\""),
	ROW("Latin-1 byte", "caf\xe9", "\"caf\\u00e9\""),
	ROW("overlong two-byte", "\xc0\xaf", "\"\\u00c0\\u00af\""),
	ROW("C1 lead byte", "\xc1\xbf", "\"\\u00c1\\u00bf\""),
	ROW("overlong three-byte", "\xe0\x80\xaf",
	    "\"\\u00e0\\u0080\\u00af\""),
	ROW("surrogate", "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\""),
	ROW("overlong four-byte", "\xf0\x80\x80\xaf",
	    "\"\\u00f0\\u0080\\u0080\\u00af\""),
	ROW("past U+10FFFF", "\xf4\x90\x80\x80",
	    "\"\\u00f4\\u0090\\u0080\\u0080\""),
	ROW("F5 lead byte", "\xf5\x80", "\"\\u00f5\\u0080\""),
	ROW("FF byte", "\xff", "\"\\u00ff\""),
	ROW("truncated at the end", "x\xe2\x82", "\"x\\u00e2\\u0082\""),
	ROW("truncated before ASCII", "\xe2\x82" "A", "\"\\u00e2\\u0082A\""),
	ROW("bad byte then valid UTF-8", "\xc3\xc3\xa9",
	    "\"\\u00c3\xc3\xa9\""),
#undef ROW
};

static void
test_escaping(void)
{
	struct mtasts_jsonw w;
	size_t	 i;
	char	 what[100];

	for (i = 0; i < sizeof(esc_rows) / sizeof(esc_rows[0]); i++) {
		mtasts_jsonw_init(&w);
		mtasts_jsonw_stringn(&w, NULL, esc_rows[i].in, esc_rows[i].len);
		(void)snprintf(what, sizeof(what), "escape: %s",
		    esc_rows[i].what);
		CHECK_STREQ(mtasts_jsonw_finish(&w), esc_rows[i].want, what);
		mtasts_jsonw_free(&w);
	}

	mtasts_jsonw_init(&w);
	mtasts_jsonw_object_begin(&w, NULL);
	mtasts_jsonw_string(&w, "k\"\n\xff", "v");
	mtasts_jsonw_object_end(&w);
	CHECK_STREQ(mtasts_jsonw_finish(&w), "{\"k\\\"\\n\\u00ff\":\"v\"}",
	    "keys are escaped like values");
	mtasts_jsonw_free(&w);
}

static void
test_scalars(void)
{
	struct mtasts_jsonw w;

	mtasts_jsonw_init(&w);
	mtasts_jsonw_array_begin(&w, NULL);
	mtasts_jsonw_int(&w, NULL, 0);
	mtasts_jsonw_int(&w, NULL, 31557600);
	mtasts_jsonw_int(&w, NULL, -1);
	mtasts_jsonw_int(&w, NULL, LLONG_MAX);
	mtasts_jsonw_int(&w, NULL, LLONG_MIN);
	mtasts_jsonw_bool(&w, NULL, 1);
	mtasts_jsonw_bool(&w, NULL, 0);
	mtasts_jsonw_bool(&w, NULL, 42);
	mtasts_jsonw_null(&w, NULL);
	mtasts_jsonw_string(&w, NULL, NULL);
	mtasts_jsonw_stringn(&w, NULL, NULL, 5);
	mtasts_jsonw_stringn(&w, NULL, "abcdef", 3);
	mtasts_jsonw_array_end(&w);
	CHECK_STREQ(mtasts_jsonw_finish(&w),
	    "[0,31557600,-1,9223372036854775807,-9223372036854775808,"
	    "true,false,true,null,null,null,\"abc\"]",
	    "integers, booleans, nulls and a counted string");
	mtasts_jsonw_free(&w);

	mtasts_jsonw_init(&w);
	mtasts_jsonw_int(&w, NULL, 7);
	CHECK_STREQ(mtasts_jsonw_finish(&w), "7", "a bare number is a document");
	mtasts_jsonw_free(&w);
}

static void
test_nesting(void)
{
	struct mtasts_jsonw w;
	int	 i;

	mtasts_jsonw_init(&w);
	mtasts_jsonw_object_begin(&w, NULL);
	mtasts_jsonw_array_begin(&w, "records");
	mtasts_jsonw_object_begin(&w, NULL);
	mtasts_jsonw_string(&w, "record", "v=STSv1; id=1;");
	mtasts_jsonw_string(&w, "verdict", "valid");
	mtasts_jsonw_array_begin(&w, "warnings");
	mtasts_jsonw_array_end(&w);
	mtasts_jsonw_object_end(&w);
	mtasts_jsonw_object_begin(&w, NULL);
	mtasts_jsonw_object_end(&w);
	mtasts_jsonw_array_begin(&w, NULL);
	mtasts_jsonw_array_begin(&w, NULL);
	mtasts_jsonw_int(&w, NULL, 1);
	mtasts_jsonw_array_end(&w);
	mtasts_jsonw_int(&w, NULL, 2);
	mtasts_jsonw_array_end(&w);
	mtasts_jsonw_array_end(&w);
	mtasts_jsonw_string(&w, "verdict", "policy");
	mtasts_jsonw_null(&w, "reason");
	mtasts_jsonw_object_end(&w);
	CHECK_STREQ(mtasts_jsonw_finish(&w),
	    "{\"records\":[{\"record\":\"v=STSv1; id=1;\",\"verdict\":\"valid\","
	    "\"warnings\":[]},{},[[1],2]],\"verdict\":\"policy\","
	    "\"reason\":null}",
	    "objects and arrays nest with commas in the right places");
	mtasts_jsonw_free(&w);

	mtasts_jsonw_init(&w);
	for (i = 0; i < MTASTS_JSONW_DEPTH - 1; i++)
		mtasts_jsonw_array_begin(&w, NULL);
	for (i = 0; i < MTASTS_JSONW_DEPTH - 1; i++)
		mtasts_jsonw_array_end(&w);
	CHECK(mtasts_jsonw_finish(&w) != NULL && !w.error,
	    "MTASTS_JSONW_DEPTH - 1 levels of nesting are allowed");
	mtasts_jsonw_free(&w);

	mtasts_jsonw_init(&w);
	for (i = 0; i < MTASTS_JSONW_DEPTH; i++)
		mtasts_jsonw_array_begin(&w, NULL);
	CHECK(w.error, "MTASTS_JSONW_DEPTH levels set error");
	for (i = 0; i < MTASTS_JSONW_DEPTH; i++)
		mtasts_jsonw_array_end(&w);
	CHECK(mtasts_jsonw_finish(&w) == NULL,
	    "too deep: finish returns NULL");
	mtasts_jsonw_free(&w);
}

/* Each misuse is a sequence of calls that must end in finish == NULL. */
static void
misuse_key_in_array(struct mtasts_jsonw *w)
{
	mtasts_jsonw_array_begin(w, NULL);
	mtasts_jsonw_string(w, "k", "v");
	mtasts_jsonw_array_end(w);
}

static void
misuse_no_key_in_object(struct mtasts_jsonw *w)
{
	mtasts_jsonw_object_begin(w, NULL);
	mtasts_jsonw_int(w, NULL, 1);
	mtasts_jsonw_object_end(w);
}

static void
misuse_key_at_top(struct mtasts_jsonw *w)
{
	mtasts_jsonw_object_begin(w, "top");
	mtasts_jsonw_object_end(w);
}

static void
misuse_array_closed_as_object(struct mtasts_jsonw *w)
{
	mtasts_jsonw_array_begin(w, NULL);
	mtasts_jsonw_object_end(w);
}

static void
misuse_object_closed_as_array(struct mtasts_jsonw *w)
{
	mtasts_jsonw_object_begin(w, NULL);
	mtasts_jsonw_array_end(w);
}

static void
misuse_close_at_top(struct mtasts_jsonw *w)
{
	mtasts_jsonw_null(w, NULL);
	mtasts_jsonw_array_end(w);
}

static void
misuse_unclosed(struct mtasts_jsonw *w)
{
	mtasts_jsonw_object_begin(w, NULL);
	mtasts_jsonw_array_begin(w, "a");
	mtasts_jsonw_array_end(w);
}

static void
misuse_two_documents(struct mtasts_jsonw *w)
{
	mtasts_jsonw_object_begin(w, NULL);
	mtasts_jsonw_object_end(w);
	mtasts_jsonw_object_begin(w, NULL);
	mtasts_jsonw_object_end(w);
}

static void
misuse_nothing(struct mtasts_jsonw *w)
{
}

static void
misuse_recover_attempt(struct mtasts_jsonw *w)
{
	/* An error is sticky: balancing the calls later does not undo it. */
	mtasts_jsonw_object_begin(w, NULL);
	mtasts_jsonw_bool(w, NULL, 1);
	mtasts_jsonw_bool(w, "k", 1);
	mtasts_jsonw_object_end(w);
}

static const struct {
	const char	*what;
	void		(*fn)(struct mtasts_jsonw *);
	int		 sets_error;
} misuse_rows[] = {
	{ "key inside an array", misuse_key_in_array, 1 },
	{ "member without a key", misuse_no_key_in_object, 1 },
	{ "key at the top level", misuse_key_at_top, 1 },
	{ "array closed as an object", misuse_array_closed_as_object, 1 },
	{ "object closed as an array", misuse_object_closed_as_array, 1 },
	{ "close with nothing open", misuse_close_at_top, 1 },
	{ "container left open", misuse_unclosed, 0 },
	{ "second top-level value", misuse_two_documents, 1 },
	{ "empty document", misuse_nothing, 0 },
	{ "error is sticky", misuse_recover_attempt, 1 },
};

static void
test_misuse(void)
{
	struct mtasts_jsonw w;
	size_t	 i;

	for (i = 0; i < sizeof(misuse_rows) / sizeof(misuse_rows[0]); i++) {
		mtasts_jsonw_init(&w);
		misuse_rows[i].fn(&w);
		if (misuse_rows[i].sets_error)
			CHECK(w.error, "misuse sets error: %s",
			    misuse_rows[i].what);
		CHECK(mtasts_jsonw_finish(&w) == NULL,
		    "misuse makes finish NULL: %s", misuse_rows[i].what);
		mtasts_jsonw_free(&w);
	}

	/* After free the writer starts over cleanly. */
	mtasts_jsonw_null(&w, NULL);
	CHECK_STREQ(mtasts_jsonw_finish(&w), "null",
	    "writer usable again after free");
	mtasts_jsonw_free(&w);
}

int
main(void)
{
	test_escaping();
	test_scalars();
	test_nesting();
	test_misuse();
	return check_done();
}
