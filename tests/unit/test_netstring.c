/*
 * test_netstring.c: the bounded netstring decoder and the encoder.  Every
 * row is decoded twice, in one piece and one byte at a time, and both
 * ways must find the same payloads and the same error.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "netstring.h"

#define MAXP	16	/* payloads a row may hold */

static const struct row {
	const char	*in;
	size_t		 max;
	const char	*payloads;	/* '|'-separated expected payloads */
	const char	*error;		/* NULL: no error; else a substring */
	int		 partial;	/* a frame is left unfinished */
} rows[] = {
	{ "0:,", 100, "", NULL, 0 },
	{ "3:abc,", 100, "abc", NULL, 0 },
	{ "19:stspolicy good.test,", 100, "stspolicy good.test", NULL, 0 },
	{ "3:abc,3:def,", 100, "abc|def", NULL, 0 },
	{ "3:a,c,", 100, "a,c", NULL, 0 },
	{ "3:a:c,", 100, "a:c", NULL, 0 },
	{ "5:abc", 100, "", NULL, 1 },
	{ "12", 100, "", NULL, 1 },
	{ "3:abc", 100, "", NULL, 1 },
	{ "", 100, "", NULL, 0 },
	{ "10:0123456789,", 10, "0123456789", NULL, 0 },
	{ "11:01234567890,", 10, "", "exceeds", 0 },
	{ "99999999:x", 10000, "", "exceeds", 0 },
	{ "1234567890:", 2000000000, "", "too many digits", 0 },
	{ "abc", 100, "", "does not start with a digit", 0 },
	{ ":abc,", 100, "", "missing", 0 },
	{ "3abc,", 100, "", "not followed by ':'", 0 },
	{ "3:abcd", 100, "", "not followed by ','", 0 },
	{ "3:abc;", 100, "", "not followed by ','", 0 },
	{ "03:abc,", 100, "", "leading zero", 0 },
	{ "00:,", 100, "", "leading zero", 0 },
	{ "-1:,", 100, "", "does not start with a digit", 0 },
	{ " 3:abc,", 100, "", "does not start with a digit", 0 },
	{ "3 :abc,", 100, "", "not followed by ':'", 0 },
	{ "+3:abc,", 100, "", "does not start with a digit", 0 },
	{ "1:a,x", 100, "a", "does not start with a digit", 0 },
	{ "1:a,,", 100, "a", "does not start with a digit", 0 },
	{ "1:a,1:b,2:c", 100, "a|b", NULL, 1 },
};

struct result {
	char		 got[256];
	const char	*error;
	int		 partial;
};

/* Decode in pieces of step bytes (0: all at once). */
static void
decode(const struct row *r, size_t step, struct result *res)
{
	struct mtasts_netstring			 ns;
	enum mtasts_netstring_status		 st = MTASTS_NETSTRING_MORE;
	const char				*p = r->in, *pl;
	size_t					 left = strlen(r->in), n, used;
	size_t					 plen, count = 0;

	memset(res, 0, sizeof(*res));
	mtasts_netstring_init(&ns, r->max);
	while (left > 0 && st != MTASTS_NETSTRING_ERROR) {
		n = step == 0 || step > left ? left : step;
		st = mtasts_netstring_feed(&ns, p, n, &used);
		if (used > n) {
			res->error = "used > len";
			break;
		}
		p += used;
		left -= used;
		if (st == MTASTS_NETSTRING_DONE) {
			pl = mtasts_netstring_payload(&ns, &plen);
			(void)snprintf(res->got + strlen(res->got),
			    sizeof(res->got) - strlen(res->got), "%s%.*s",
			    count++ > 0 ? "|" : "", (int)plen, pl);
		} else if (st == MTASTS_NETSTRING_MORE && used != n)
			res->error = "MORE without using all input";
	}
	if (st == MTASTS_NETSTRING_ERROR)
		res->error = mtasts_netstring_error(&ns);
	res->partial = mtasts_netstring_partial(&ns);
	mtasts_netstring_free(&ns);
}

static void
test_rows(void)
{
	struct result	 a, b;
	size_t		 i;
	int		 ok;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		decode(&rows[i], 0, &a);
		decode(&rows[i], 1, &b);
		ok = strcmp(a.got, rows[i].payloads) == 0 &&
		    (rows[i].error == NULL ? a.error == NULL :
		    a.error != NULL && strstr(a.error, rows[i].error) != NULL) &&
		    (rows[i].error != NULL || a.partial == rows[i].partial);
		CHECK(ok, "decode \"%s\" (max %zu)", rows[i].in, rows[i].max);
		if (!ok)
			printf("#   got \"%s\" error \"%s\" partial %d\n", a.got,
			    a.error != NULL ? a.error : "(none)", a.partial);
		CHECK(strcmp(a.got, b.got) == 0 && ((a.error == NULL) ==
		    (b.error == NULL)) && (a.error == NULL ||
		    strcmp(a.error, b.error) == 0) && a.partial == b.partial,
		    "\"%s\" byte by byte decodes the same", rows[i].in);
	}
}

static void
test_sticky_error(void)
{
	struct mtasts_netstring	ns;
	size_t			used;

	mtasts_netstring_init(&ns, 10);
	CHECK(mtasts_netstring_feed(&ns, "x", 1, &used) ==
	    MTASTS_NETSTRING_ERROR && used == 0, "error at the first byte");
	CHECK(mtasts_netstring_feed(&ns, "1:a,", 4, &used) ==
	    MTASTS_NETSTRING_ERROR && used == 0, "an error stays");
	mtasts_netstring_reset(&ns);
	CHECK(mtasts_netstring_feed(&ns, "1:a,", 4, &used) ==
	    MTASTS_NETSTRING_DONE && used == 4, "reset clears the error");
	mtasts_netstring_free(&ns);
}

static void
test_binary_payload(void)
{
	struct mtasts_netstring	 ns;
	const char		*pl;
	size_t			 used, plen;

	mtasts_netstring_init(&ns, 10);
	CHECK(mtasts_netstring_feed(&ns, "3:a\0b,", 6, &used) ==
	    MTASTS_NETSTRING_DONE && used == 6, "a NUL inside a payload");
	pl = mtasts_netstring_payload(&ns, &plen);
	CHECK(plen == 3 && memcmp(pl, "a\0b", 3) == 0 && pl[3] == '\0',
	    "the payload keeps its NUL and is terminated");
	mtasts_netstring_free(&ns);
}

static void
test_encode(void)
{
	struct mtasts_buf	b;

	mtasts_buf_init(&b, 100);
	CHECK(mtasts_netstring_encode(&b, "NOTFOUND ", 9) == 0,
	    "encode NOTFOUND");
	CHECK_STREQ(b.data, "9:NOTFOUND ,", "NOTFOUND frame keeps its space");
	CHECK(mtasts_netstring_encode(&b, "", 0) == 0, "encode empty");
	CHECK_STREQ(b.data, "9:NOTFOUND ,0:,", "frames append");
	mtasts_buf_free(&b);

	mtasts_buf_init(&b, 8);
	CHECK(mtasts_netstring_encode(&b, "abcd", 4) == 0 && b.len == 7,
	    "a frame of 7 fits a cap of 8");
	CHECK(mtasts_netstring_encode(&b, "", 0) == -1 && b.toobig &&
	    b.len == 7, "a frame past the cap is refused whole");
	CHECK_STREQ(b.data, "4:abcd,", "refusal leaves the content intact");
	mtasts_buf_free(&b);
}

int
main(void)
{
	test_rows();
	test_sticky_error();
	test_binary_payload();
	test_encode();
	return check_done();
}
