/*
 * test_policy_parse.c: the policy body parser (RFC 8461 §3.2) and the
 * media type check, table-driven.  Row comments name the RFC checklist
 * items (STS-nn) they cover; most rules are tested on both sides.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy.h"
#include "status.h"

/* A string literal and its length, so that rows may hold NUL bytes. */
#define SZ(s)	(s), sizeof(s) - 1

struct row {
	const char		*what;
	const char		*in;
	size_t			 len;
	enum mtasts_status	 want;
	enum mtasts_mode	 mode;		/* OK rows */
	unsigned long		 max_age;	/* OK rows */
	const char		*mx;		/* OK rows: "a b ..." */
	const char		*msg;		/* error or warning text */
	int			 line;		/* msg's line; -1: unchecked */
};

/* Valid, and no warning at all. */
#define GOOD(w, in, mode, age, mx) \
	{ w, SZ(in), MTASTS_OK, MTASTS_MODE_##mode, age, mx, NULL, -1 }
/* Valid, with a warning holding msg on the given line. */
#define GOODW(w, in, mode, age, mx, msg, line) \
	{ w, SZ(in), MTASTS_OK, MTASTS_MODE_##mode, age, mx, msg, line }
/* Invalid, with an error holding msg on the given line (0: whole policy). */
#define BAD(w, in, msg, line) \
	{ w, SZ(in), MTASTS_INVALID, MTASTS_MODE_NONE, 0, NULL, msg, line }

#define V	"version: STSv1\n"
#define ME	"mode: enforce\n"
#define MT	"mode: testing\n"
#define MN	"mode: none\n"
#define A	"max_age: 86400\n"
#define X	"mx: mx.example.com\n"

static const struct row rows[] = {
	/* The basic shapes: STS-16, STS-17, STS-20. */
	GOOD("enforce policy", V ME X A, ENFORCE, 86400, "mx.example.com"),
	GOOD("testing policy", V MT X A, TESTING, 86400, "mx.example.com"),
	GOOD("STS-20 none without mx", V MN A, NONE, 86400, ""),
	GOOD("STS-20 none keeps its mx", V MN X A, NONE, 86400,
	    "mx.example.com"),
	GOOD("fields in any order", A X ME V, ENFORCE, 86400,
	    "mx.example.com"),
	GOOD("STS-20 several mx, order kept",
	    V ME "mx: b.example.com\nmx: a.example.com\nmx: *.c.example\n" A,
	    ENFORCE, 86400, "b.example.com a.example.com *.c.example"),
	GOOD("STS-20 the same mx twice is kept twice",
	    V ME X X A, ENFORCE, 86400, "mx.example.com mx.example.com"),

	/* STS-21: mx patterns, stored lower case without a trailing dot. */
	GOOD("STS-21 wildcard mx", V ME "mx: *.mail.example.net\n" A,
	    ENFORCE, 86400, "*.mail.example.net"),
	GOOD("STS-21 mx lowered", V ME "mx: MX1.Example.COM\n" A,
	    ENFORCE, 86400, "mx1.example.com"),
	GOOD("STS-21 mx trailing dot dropped", V ME "mx: mx.example.com.\n" A,
	    ENFORCE, 86400, "mx.example.com"),
	GOOD("STS-21 wildcard lowered, dot dropped",
	    V ME "mx: *.Example.NET.\n" A, ENFORCE, 86400, "*.example.net"),
	GOOD("STS-21 A-label mx", V ME "mx: xn--bcher-kva.example\n" A,
	    ENFORCE, 86400, "xn--bcher-kva.example"),
	BAD("STS-21 U-label mx", V ME "mx: b\xc3\xbc" "cher.example\n" A,
	    "mx \"b\\xc3\\xbccher.example\" is not a valid", 3),
	BAD("STS-21 partial-label wildcard", V ME "mx: m*.example.com\n" A,
	    "is not a valid host name pattern", 3),
	BAD("STS-21 two wildcards", V ME "mx: *.*.example.com\n" A,
	    "is not a valid host name pattern", 3),
	BAD("STS-21 bare wildcard", V ME "mx: *\n" A,
	    "is not a valid host name pattern", 3),
	BAD("STS-21 wildcard and dot only", V ME "mx: *.\n" A,
	    "is not a valid host name pattern", 3),
	BAD("STS-21 empty label", V ME "mx: mx..example.com\n" A,
	    "is not a valid host name pattern", 3),
	BAD("STS-21 leading hyphen", V ME "mx: -mx.example.com\n" A,
	    "is not a valid host name pattern", 3),
	BAD("STS-21 two names on one mx line",
	    V ME "mx: a.example.com b.example.com\n" A,
	    "is not a valid host name pattern", 3),
	BAD("STS-21 empty mx", V ME "mx:\n" A,
	    "is not a valid host name pattern", 3),
	BAD("STS-21 bad mx in a none policy", V MN "mx: a..b\n" A,
	    "is not a valid host name pattern", 3),

	/* STS-22: line ends and white space. */
	GOOD("STS-22 CRLF",
	    "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\n"
	    "max_age: 86400\r\n", ENFORCE, 86400, "mx.example.com"),
	GOOD("STS-22 LF and CRLF mixed",
	    "version: STSv1\r\nmode: enforce\nmx: mx.example.com\r\n"
	    "max_age: 86400\n", ENFORCE, 86400, "mx.example.com"),
	GOOD("STS-22 no final line end", V ME X "max_age: 86400",
	    ENFORCE, 86400, "mx.example.com"),
	GOOD("STS-22 no final CRLF", "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mx.example.com\r\nmax_age: 86400", ENFORCE, 86400,
	    "mx.example.com"),
	GOOD("STS-22 no space after ':'", "version:STSv1\nmode:enforce\n"
	    "mx:mx.example.com\nmax_age:86400\n", ENFORCE, 86400,
	    "mx.example.com"),
	GOOD("STS-22 tab after ':'", "version:\tSTSv1\nmode:\tenforce\n"
	    "mx:\t*.example.com\nmax_age:\t86400\n", ENFORCE, 86400,
	    "*.example.com"),
	GOOD("STS-22 several SP/HTAB after ':'", "version: \t STSv1\n"
	    "mode:  enforce\nmx:   mx.example.com\nmax_age: \t86400\n",
	    ENFORCE, 86400, "mx.example.com"),
	GOOD("STS-22 trailing SP/HTAB after values",
	    "version: STSv1 \nmode: enforce\t\nmx: mx.example.com  \n"
	    "max_age: 86400 \t\r\n", ENFORCE, 86400, "mx.example.com"),
	BAD("STS-22 bare CR is not a line end",
	    "version: STSv1\rmode: enforce\n" X A,
	    "carriage return not followed by a line feed", 1),
	BAD("STS-22 final bare CR", V ME X "max_age: 86400\r",
	    "carriage return not followed by a line feed", 4),
	BAD("STS-22 CR inside a value", V "mode: enf\rorce\n" X A,
	    "carriage return", 2),
	BAD("STS-22 CR CR LF", V ME X "max_age: 86400\r\r\n",
	    "carriage return", 4),
	BAD("STS-22 SP before the key", V " mode: enforce\n" X A,
	    "white space before the key", 2),
	BAD("STS-22 HTAB before the key", V ME "\tmx: mx.example.com\n" A,
	    "white space before the key", 3),
	BAD("STS-22 SP before ':'", V "mode : enforce\n" X A,
	    "white space between key \"mode \" and ':'", 2),
	BAD("STS-22 HTAB before ':'", V ME X "max_age\t: 86400\n",
	    "white space between key", 4),
	BAD("STS-22 SP inside the key", V ME X "max age: 86400\n",
	    "has a character not allowed", 4),

	/* STS-23: keys and the version/mode values are case-sensitive. */
	BAD("STS-23 Version: is not version", "Version: STSv1\n" ME X A,
	    "no version field", 0),
	BAD("STS-23 Mode: is not mode", V "Mode: enforce\n" X A,
	    "no mode field", 0),
	BAD("STS-23 MAX_AGE: is not max_age", V ME X "MAX_AGE: 86400\n",
	    "no max_age field", 0),
	BAD("STS-23 MX: is not mx", V ME "MX: mx.example.com\n" A,
	    "no mx field", 0),
	GOODW("STS-23 MX: ignored next to a real mx",
	    V ME "MX: other.example.com\n" X A, ENFORCE, 86400,
	    "mx.example.com", "key \"MX\" ignored: keys are case-sensitive",
	    3),
	GOODW("STS-23/25 Mode: ignored, never a duplicate",
	    V MT "Mode: enforce\n" X A, TESTING, 86400, "mx.example.com",
	    "case-sensitive", 3),
	BAD("STS-23 mode: Enforce", V "mode: Enforce\n" X A,
	    "mode is \"Enforce\", expected", 2),
	BAD("STS-23 mode: TESTING", V "mode: TESTING\n" X A,
	    "mode is \"TESTING\"", 2),
	BAD("STS-23 version: stsv1", "version: stsv1\n" ME X A,
	    "version is \"stsv1\", expected \"STSv1\"", 1),
	BAD("STS-16 version: STSv2", "version: STSv2\n" ME X A,
	    "version is \"STSv2\"", 1),
	BAD("STS-16 version: STSv1.0", "version: STSv1.0\n" ME X A,
	    "version is \"STSv1.0\"", 1),
	BAD("STS-16 empty version", "version:\n" ME X A,
	    "version is \"\"", 1),
	BAD("STS-17 mode: enforced", V "mode: enforced\n" X A,
	    "mode is \"enforced\"", 2),
	BAD("STS-17 mode: report", V "mode: report\n" X A,
	    "mode is \"report\"", 2),
	BAD("STS-17 empty mode", V "mode:   \n" X A, "mode is \"\"", 2),
	BAD("STS-17 two modes on one line", V "mode: testing enforce\n" X A,
	    "mode is \"testing enforce\"", 2),

	/* STS-24: unknown keys are ignored when they follow the grammar. */
	GOOD("STS-24 unknown key", V ME X A "future: something\n",
	    ENFORCE, 86400, "mx.example.com"),
	GOOD("STS-24 UTF-8 value",
	    V ME X "comment: h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 "
	    "\xf0\x9f\x93\xa7\n" A, ENFORCE, 86400, "mx.example.com"),
	GOOD("STS-24 value with ':'",
	    V "note: see https://example.com:8443/a:b\n" ME X A, ENFORCE,
	    86400, "mx.example.com"),
	GOOD("STS-24 key with '.', '_', '-' and digits",
	    V ME X A "x-ext.v_1: 1\n9lives: yes\n", ENFORCE, 86400,
	    "mx.example.com"),
	GOOD("STS-24 32-character key",
	    V ME X A "abcdefghijklmnopqrstuvwxyz012345: v\n", ENFORCE, 86400,
	    "mx.example.com"),
	BAD("STS-24 33-character key",
	    V ME X A "abcdefghijklmnopqrstuvwxyz0123456: v\n",
	    "longer than 32 characters", 5),
	BAD("STS-24 key starting with '_'", V ME X A "_ext: v\n",
	    "has a character not allowed", 5),
	BAD("STS-24 key with '@'", V ME X A "e@t: v\n",
	    "has a character not allowed", 5),
	BAD("STS-24 no key", V ME X A ": v\n", "no key", 5),
	BAD("STS-24 no ':' at all", V ME X A "garbage\n", "no ':'", 5),
	BAD("STS-26 comment lines are not in the grammar",
	    "# MTA-STS policy\n" V ME X A, "no ':'", 1),
	BAD("STS-24 empty extension value", V ME X A "ext:\n",
	    "field \"ext\" has an empty value", 5),
	BAD("STS-24 extension value of spaces", V ME X A "ext:   \n",
	    "has an empty value", 5),
	BAD("STS-24 HTAB inside an extension value", V ME X A "ext: a\tb\n",
	    "control character 0x09", 5),
	BAD("STS-24 DEL in an extension value", V ME X A "ext: a\x7f" "b\n",
	    "control character 0x7f", 5),
	BAD("STS-24 ESC in an extension value", V ME X A "ext: \x1b[0m\n",
	    "control character 0x1b", 5),
	BAD("STS-24 invalid UTF-8 (bad tail)", V ME X A "ext: \xc3\x28\n",
	    "is not valid UTF-8 (byte 1)", 5),
	BAD("STS-24 invalid UTF-8 (lone tail byte)", V ME X A "ext: a\x80\n",
	    "is not valid UTF-8 (byte 2)", 5),
	BAD("STS-24 invalid UTF-8 (overlong)", V ME X A "ext: \xc0\xaf\n",
	    "not valid UTF-8", 5),
	BAD("STS-24 invalid UTF-8 (overlong 3 bytes)",
	    V ME X A "ext: \xe0\x80\xaf\n", "not valid UTF-8", 5),
	BAD("STS-24 invalid UTF-8 (bad third byte)",
	    V ME X A "ext: \xe2\x82\x28\n", "not valid UTF-8 (byte 1)", 5),
	BAD("STS-24 invalid UTF-8 (bad fourth byte)",
	    V ME X A "ext: \xf0\x9f\x93\xc0\n", "not valid UTF-8", 5),
	BAD("STS-24 invalid UTF-8 (surrogate)", V ME X A "ext: \xed\xa0\x80\n",
	    "not valid UTF-8", 5),
	BAD("STS-24 invalid UTF-8 (past U+10FFFF)",
	    V ME X A "ext: \xf4\x90\x80\x80\n", "not valid UTF-8", 5),
	BAD("STS-24 invalid UTF-8 (truncated at line end)",
	    V ME X A "ext: ok \xe2\x82\n", "not valid UTF-8 (byte 4)", 5),
	BAD("STS-24 invalid UTF-8 (truncated at end of input)",
	    V ME X A "ext: \xf0\x9f\x93", "not valid UTF-8", 5),
	GOOD("STS-24 UTF-8 edges: U+0080, U+FFFF, U+10FFFF",
	    V ME X A "ext: \xc2\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\n",
	    ENFORCE, 86400, "mx.example.com"),

	/* STS-25, STS-12: the first of a repeated field counts. */
	GOODW("STS-25 repeated mode: first wins", V MT ME X A, TESTING, 86400,
	    "mx.example.com", "repeated mode ignored; line 2 is used", 3),
	GOODW("STS-25 repeated max_age: first wins",
	    V ME X A "max_age: 600\n", ENFORCE, 86400, "mx.example.com",
	    "repeated max_age ignored; line 4 is used", 5),
	GOODW("STS-25 repeated version", V ME V X A, ENFORCE, 86400,
	    "mx.example.com", "repeated version ignored; line 1 is used", 3),
	GOODW("STS-25 repeated mode none then enforce, no mx needed",
	    V MN ME A, NONE, 86400, "", "repeated mode ignored", 3),
	BAD("STS-25 a repeat that is malformed is still an error",
	    V ME "mode: bogus\n" X A, "mode is \"bogus\"", 3),
	BAD("STS-25 a repeated max_age out of range is still an error",
	    V ME X A "max_age: 99999999\n", "more than 31557600", 5),

	/* STS-26: required fields, and the grey areas decided. */
	BAD("STS-26 no version", ME X A, "no version field", 0),
	BAD("STS-26 no mode", V X A, "no mode field", 0),
	BAD("STS-26 no max_age", V ME X, "no max_age field", 0),
	BAD("STS-20 enforce without mx", V ME A,
	    "no mx field; mode enforce needs at least one", 0),
	BAD("STS-20 testing without mx", V MT A,
	    "no mx field; mode testing needs at least one", 0),
	BAD("STS-26 empty body", "", "no version field", 0),
	BAD("STS-26 only a line end", "\n", "no version field", 0),
	GOODW("STS-26 blank line between fields (decision: warning)",
	    V "\n" ME X A, ENFORCE, 86400, "mx.example.com",
	    "blank line ignored", 2),
	GOODW("STS-26 policy ending in a blank line", V ME X A "\n",
	    ENFORCE, 86400, "mx.example.com", "blank line ignored", 5),
	GOODW("STS-26 policy ending in a blank CRLF line",
	    "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\n"
	    "max_age: 86400\r\n\r\n", ENFORCE, 86400, "mx.example.com",
	    "blank line ignored", 5),
	GOODW("STS-26 line of only SP/HTAB", V " \t \n" ME X A, ENFORCE, 86400,
	    "mx.example.com", "blank line ignored", 2),
	GOODW("STS-26 blank line first", "\n" V ME X A, ENFORCE, 86400,
	    "mx.example.com", "blank line ignored", 1),
	BAD("STS-26 UTF-8 byte order mark", "\xef\xbb\xbf" V ME X A,
	    "policy starts with a UTF-8 byte order mark", 1),
	BAD("STS-26 byte order mark later is just bad UTF-8 in a key",
	    V "\xef\xbb\xbf" ME X A, "has a character not allowed", 2),
	BAD("STS-26 NUL inside a value", V "mode: enforce\0\n" X A,
	    "line holds a NUL byte", 2),
	BAD("STS-26 NUL in an extension", V ME X A "ext: a\0b\n",
	    "line holds a NUL byte", 5),
	BAD("STS-26 NUL after the last line end", V ME X A "\0",
	    "line holds a NUL byte", 5),

	/* STS-18: max_age. */
	GOOD("STS-18 max_age 31557600 (the maximum)",
	    V ME X "max_age: 31557600\n", ENFORCE, 31557600,
	    "mx.example.com"),
	BAD("STS-18 max_age 31557601", V ME X "max_age: 31557601\n",
	    "max_age 31557601 is more than 31557600", 4),
	GOOD("STS-18 max_age 0", V ME X "max_age: 0\n", ENFORCE, 0,
	    "mx.example.com"),
	GOOD("STS-18 max_age 1", V ME X "max_age: 1\n", ENFORCE, 1,
	    "mx.example.com"),
	GOOD("STS-18 leading zeros are decimal, not octal",
	    V ME X "max_age: 010\n", ENFORCE, 10, "mx.example.com"),
	GOOD("STS-18 10 digits", V ME X "max_age: 0031557600\n", ENFORCE,
	    31557600, "mx.example.com"),
	GOOD("STS-18 10 zeros", V ME X "max_age: 0000000000\n", ENFORCE, 0,
	    "mx.example.com"),
	BAD("STS-18 11 digits, even with a small value",
	    V ME X "max_age: 00000086400\n", "has more than 10 digits", 4),
	BAD("STS-18 largest 10-digit number", V ME X "max_age: 9999999999\n",
	    "is more than 31557600", 4),
	BAD("STS-18 20 digits (would wrap 64 bits)",
	    V ME X "max_age: 18446744073709638016\n",
	    "has more than 10 digits", 4),
	BAD("STS-18 minus sign", V ME X "max_age: -1\n",
	    "max_age \"-1\" is not a number", 4),
	BAD("STS-18 plus sign", V ME X "max_age: +86400\n",
	    "is not a number", 4),
	BAD("STS-18 unit suffix", V ME X "max_age: 86400s\n",
	    "is not a number", 4),
	BAD("STS-18 hexadecimal", V ME X "max_age: 0x15180\n",
	    "is not a number", 4),
	BAD("STS-18 exponent", V ME X "max_age: 1e5\n", "is not a number", 4),
	BAD("STS-18 space inside", V ME X "max_age: 86 400\n",
	    "is not a number", 4),
	BAD("STS-18 empty", V ME X "max_age:\n", "max_age \"\" is not", 4),
	BAD("STS-18 fullwidth digit", V ME X "max_age: \xef\xbc\x91\n",
	    "is not a number", 4),

	/* Untrusted text is escaped before it reaches a message. */
	BAD("control bytes are escaped in messages", V "mode: \x01\xff\n" X A,
	    "mode is \"\\x01\\xff\"", 2),
	BAD("quotes are escaped in messages", V "mode: \"x\"\n" X A,
	    "mode is \"\\x22x\\x22\"", 2),
};

/* Join the patterns with ' ' into buf; "" when there are none. */
static const char *
join_mx(const struct mtasts_policy *pol, char *buf, size_t bufsz)
{
	size_t	i, o = 0, n;

	buf[0] = '\0';
	for (i = 0; i < pol->nmx; i++) {
		n = strlen(pol->mx[i]);
		if (o + n + 2 > bufsz)
			return "(too long)";
		if (i > 0)
			buf[o++] = ' ';
		memcpy(buf + o, pol->mx[i], n);
		o += n;
		buf[o] = '\0';
	}
	return buf;
}

/* 1 when diag has an entry of that kind holding msg on line (-1: any). */
static int
diag_has(const struct mtasts_diag *d, int warning, const char *msg, int line)
{
	size_t	i;

	for (i = 0; i < d->count; i++) {
		if (!d->item[i].warning != !warning)
			continue;
		if (strstr(d->item[i].text, msg) == NULL)
			continue;
		if (line >= 0 && d->item[i].line != (unsigned int)line)
			continue;
		return 1;
	}
	return 0;
}

static void
diag_dump(const struct mtasts_diag *d)
{
	size_t	i;

	for (i = 0; i < d->count; i++)
		printf("#   %s line %u: %s\n",
		    d->item[i].warning ? "warning" : "error",
		    d->item[i].line, d->item[i].text);
}

static void
test_rows(void)
{
	struct mtasts_policy	 pol;
	struct mtasts_diag	 diag;
	enum mtasts_status	 st;
	const struct row	*r;
	char			 got[1024];
	size_t			 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		r = &rows[i];
		mtasts_diag_init(&diag);
		/* Junk in *out must not survive a failed parse. */
		pol.mode = MTASTS_MODE_ENFORCE;
		pol.max_age = 12345;
		pol.nmx = 0;
		pol.mx = NULL;
		st = mtasts_policy_parse(r->in, r->len,
		    MTASTS_POLICY_SIZE_DEFAULT, &pol, &diag);
		CHECK(st == r->want, "%s: status %s", r->what,
		    mtasts_status_str(r->want));
		if (st != r->want) {
			printf("#   got %s\n", mtasts_status_str(st));
			diag_dump(&diag);
		}
		if (r->want == MTASTS_OK && st == MTASTS_OK) {
			CHECK(pol.mode == r->mode, "%s: mode %s", r->what,
			    mtasts_mode_str(r->mode));
			CHECK(pol.max_age == r->max_age, "%s: max_age %lu",
			    r->what, r->max_age);
			CHECK_STREQ(join_mx(&pol, got, sizeof(got)), r->mx,
			    r->what);
			if (r->msg != NULL)
				CHECK(diag.errors == 0 &&
				    diag_has(&diag, 1, r->msg, r->line),
				    "%s: warning \"%s\" on line %d", r->what,
				    r->msg, r->line);
			else
				CHECK(diag.count == 0, "%s: no diagnostics",
				    r->what);
		} else if (r->want == MTASTS_INVALID) {
			CHECK(pol.nmx == 0 && pol.mx == NULL &&
			    pol.max_age == 0 && pol.mode == MTASTS_MODE_NONE,
			    "%s: policy left empty", r->what);
			CHECK(diag.errors > 0 &&
			    diag_has(&diag, 0, r->msg, r->line),
			    "%s: error \"%s\" on line %d", r->what, r->msg,
			    r->line);
			if (!diag_has(&diag, 0, r->msg, r->line))
				diag_dump(&diag);
		}
		mtasts_policy_clear(&pol);
	}
}

/* Build a policy of exactly size bytes: padding goes in an extension. */
static char *
policy_of_size(size_t size)
{
	static const char	 head[] = V ME X A "pad: ";
	char			*p;

	if (size < sizeof(head) || (p = malloc(size)) == NULL)
		return NULL;
	memcpy(p, head, sizeof(head) - 1);
	memset(p + sizeof(head) - 1, 'x', size - sizeof(head));
	p[size - 1] = '\n';
	return p;
}

/* STS-34: the size limit, at the limit and one byte past it. */
static void
test_size(void)
{
	struct mtasts_policy	 pol;
	struct mtasts_diag	 diag;
	char			*p, want[80];
	size_t			 big = MTASTS_POLICY_SIZE_DEFAULT;

	p = policy_of_size(big + 1);
	if (p == NULL) {
		CHECK(0, "STS-34 allocate test input");
		return;
	}
	mtasts_diag_init(&diag);
	CHECK(mtasts_policy_parse(p, big, big, &pol, &diag) == MTASTS_OK &&
	    diag.count == 0, "STS-34 %zu bytes with maxsize %zu: ok", big, big);
	mtasts_policy_clear(&pol);

	/* Same bytes and one more: the whole body is now one byte too big. */
	p[big - 1] = 'x';
	p[big] = '\n';
	mtasts_diag_init(&diag);
	CHECK(mtasts_policy_parse(p, big + 1, big, &pol, &diag) ==
	    MTASTS_INVALID && pol.nmx == 0 && pol.mx == NULL,
	    "STS-34 %zu bytes with maxsize %zu: invalid", big + 1, big);
	(void)snprintf(want, sizeof(want), "policy is larger than %zu bytes",
	    big);
	CHECK_STREQ(mtasts_diag_first(&diag), want, "STS-34 size message");
	CHECK(diag.errors == 1 && diag.count == 1,
	    "STS-34 an oversized policy is refused without parsing");
	CHECK(mtasts_policy_parse(p, big + 1, big + 1, &pol, NULL) ==
	    MTASTS_OK, "STS-34 the same body under a larger limit: ok");
	mtasts_policy_clear(&pol);
	free(p);

	/* A small limit, both sides. */
	CHECK(mtasts_policy_parse(SZ(V MN A), sizeof(V MN A) - 1, &pol,
	    NULL) == MTASTS_OK, "STS-34 len == maxsize (small): ok");
	mtasts_policy_clear(&pol);
	mtasts_diag_init(&diag);
	CHECK(mtasts_policy_parse(SZ(V MN A), sizeof(V MN A) - 2, &pol,
	    &diag) == MTASTS_INVALID, "STS-34 len == maxsize + 1: invalid");
	CHECK(diag_has(&diag, 0, "policy is larger than", 0),
	    "STS-34 small limit message");
	CHECK(mtasts_policy_parse("", 0, 0, &pol, NULL) == MTASTS_INVALID,
	    "STS-34 empty body, maxsize 0: invalid, but for missing fields");
}

/* STS-20: many mx lines, up to the cap and past it. */
static void
test_many_mx(void)
{
	struct mtasts_policy	 pol;
	struct mtasts_diag	 diag;
	char			*p, line[64];
	size_t			 i, n, o, cap;
	int			 len;

	cap = 2000 * 32 + 128;
	if ((p = malloc(cap)) == NULL) {
		CHECK(0, "many mx: allocate");
		return;
	}
	for (n = 1024; n <= 1025; n++) {
		memcpy(p, V MT A, sizeof(V MT A) - 1);
		o = sizeof(V MT A) - 1;
		for (i = 0; i < n; i++) {
			len = snprintf(line, sizeof(line),
			    "mx: mx%zu.Example.NET.\r\n", i);
			memcpy(p + o, line, (size_t)len);
			o += (size_t)len;
		}
		mtasts_diag_init(&diag);
		if (n == 1024) {
			CHECK(mtasts_policy_parse(p, o, cap, &pol, &diag) ==
			    MTASTS_OK && pol.nmx == 1024,
			    "STS-20 1024 mx patterns: ok");
			CHECK(pol.nmx == 1024 &&
			    strcmp(pol.mx[0], "mx0.example.net") == 0 &&
			    strcmp(pol.mx[1023], "mx1023.example.net") == 0,
			    "STS-20 1024 mx patterns: all stored, normalised");
		} else {
			CHECK(mtasts_policy_parse(p, o, cap, &pol, &diag) ==
			    MTASTS_INVALID && pol.nmx == 0,
			    "STS-20 1025 mx patterns: invalid");
			CHECK(diag.errors == 1 &&
			    diag_has(&diag, 0, "more than 1024 mx patterns",
			    1024 + 3 + 1), "STS-20 the 1025th is the error");
		}
		mtasts_policy_clear(&pol);
	}
	free(p);
}

/* The parser goes on after an error: every problem is listed, in order. */
static void
test_every_problem(void)
{
	static const char	 in[] = " version: STSv1\nmode: Enforce\n"
	    "max_age: -1\nmx: a..b\next: \xff\nmax_age : 1\n";
	static const unsigned	 lines[] = { 1, 2, 3, 4, 5, 6, 0 };
	struct mtasts_policy	 pol;
	struct mtasts_diag	 diag;
	size_t			 i;
	int			 ok;

	mtasts_diag_init(&diag);
	CHECK(mtasts_policy_parse(SZ(in), 1024, &pol, &diag) ==
	    MTASTS_INVALID, "every problem: invalid");
	ok = diag.errors == 7 && diag.count == 7;
	for (i = 0; ok && i < 7; i++)
		ok = !diag.item[i].warning && diag.item[i].line == lines[i];
	CHECK(ok, "every problem: 7 errors on lines 1-6 then no version");
	if (!ok)
		diag_dump(&diag);

	/* Each missing required field is a problem of its own. */
	mtasts_diag_init(&diag);
	CHECK(mtasts_policy_parse(SZ("ext: 1\n"), 1024, &pol, &diag) ==
	    MTASTS_INVALID && diag.errors == 3 &&
	    diag_has(&diag, 0, "no version field", 0) &&
	    diag_has(&diag, 0, "no mode field", 0) &&
	    diag_has(&diag, 0, "no max_age field", 0),
	    "STS-26 three missing fields, three errors");

	/* Errors past the diag's capacity are still counted. */
	{
		char	 many[64 * 8];
		size_t	 o = 0;

		for (i = 0; i < 60; i++) {
			memcpy(many + o, "bad\n", 4);
			o += 4;
		}
		mtasts_diag_init(&diag);
		CHECK(mtasts_policy_parse(many, o, sizeof(many), &pol,
		    &diag) == MTASTS_INVALID && diag.count == MTASTS_DIAG_MAX &&
		    diag.errors == 63 && diag.dropped == 63 - MTASTS_DIAG_MAX,
		    "63 problems: %d kept, all counted", MTASTS_DIAG_MAX);
	}
}

/* A long hostile value is cut short and cannot overflow a message. */
static void
test_long_value(void)
{
	struct mtasts_policy	 pol;
	struct mtasts_diag	 diag;
	char			 in[600];
	size_t			 o;

	memcpy(in, V "mode: ", sizeof(V "mode: ") - 1);
	o = sizeof(V "mode: ") - 1;
	memset(in + o, '\x01', 500);
	o += 500;
	in[o++] = '\n';
	mtasts_diag_init(&diag);
	CHECK(mtasts_policy_parse(in, o, sizeof(in), &pol, &diag) ==
	    MTASTS_INVALID && diag_has(&diag, 0, "\\x01\\x01...\"", 2),
	    "long value cut with \"...\"");
	CHECK(strlen(mtasts_diag_first(&diag)) < MTASTS_DIAG_LEN,
	    "message fits its entry");
}

static void
test_api_edges(void)
{
	struct mtasts_policy	 pol;

	CHECK(mtasts_policy_parse(SZ(V ME X A), 1024, &pol, NULL) ==
	    MTASTS_OK && pol.nmx == 1, "NULL diag: ok still parses");
	mtasts_policy_clear(&pol);
	CHECK(pol.nmx == 0 && pol.mx == NULL && pol.max_age == 0 &&
	    pol.mode == MTASTS_MODE_NONE, "clear resets the policy");
	mtasts_policy_clear(&pol);
	CHECK(pol.nmx == 0 && pol.mx == NULL, "clear twice is harmless");
	mtasts_policy_clear(NULL);
	CHECK(1, "clear(NULL) is harmless");
	CHECK(mtasts_policy_parse(SZ(V ME A), 1024, &pol, NULL) ==
	    MTASTS_INVALID && pol.mx == NULL, "NULL diag: invalid still seen");
	CHECK(mtasts_policy_parse(SZ(V ME X A), 1024, NULL, NULL) ==
	    MTASTS_OK, "NULL out: validate only");
	CHECK(mtasts_policy_parse(NULL, 0, 1024, &pol, NULL) ==
	    MTASTS_INVALID, "NULL buffer of length 0: an empty policy");

	CHECK_STREQ(mtasts_mode_str(MTASTS_MODE_NONE), "none", "mode_str none");
	CHECK_STREQ(mtasts_mode_str(MTASTS_MODE_TESTING), "testing",
	    "mode_str testing");
	CHECK_STREQ(mtasts_mode_str(MTASTS_MODE_ENFORCE), "enforce",
	    "mode_str enforce");
	CHECK(mtasts_mode_str((enum mtasts_mode)42) != NULL,
	    "mode_str of a stray value is not NULL");
}

/* STS-15: the Content-Type of the policy response. */
static void
test_media_type(void)
{
	static const struct {
		const char	*ct;
		int		 ok;
	} mt[] = {
		{ "text/plain", 1 },
		{ "TEXT/PLAIN", 1 },
		{ "Text/Plain", 1 },
		{ "text/plain; charset=utf-8", 1 },
		{ "text/plain;charset=UTF-8", 1 },
		{ "text/plain ; charset=us-ascii; format=flowed", 1 },
		{ "text/plain;", 1 },
		{ "  text/plain  ", 1 },
		{ "\ttext/plain\t", 1 },
		{ "text/html", 0 },
		{ "text/plainx", 0 },
		{ "text/plain x", 0 },
		{ "text/plain, text/html", 0 },
		{ "text/plai", 0 },
		{ "text", 0 },
		{ "text/", 0 },
		{ "plain", 0 },
		{ "application/octet-stream", 0 },
		{ "text/plain-text", 0 },
		{ "xtext/plain", 0 },
		{ "text /plain", 0 },
		{ "", 0 },
		{ "   ", 0 },
		{ ";charset=utf-8", 0 },
	};
	size_t	i;

	for (i = 0; i < sizeof(mt) / sizeof(mt[0]); i++)
		CHECK(mtasts_media_type_ok(mt[i].ct) == mt[i].ok,
		    "STS-15 media type \"%s\" -> %d", mt[i].ct, mt[i].ok);
	CHECK(mtasts_media_type_ok(NULL) == 0, "STS-15 media type NULL -> 0");
}

/*
 * The sample policies: bad-* must be invalid with exactly one error;
 * good-*, real-* and crlf* must be valid without errors.  Any other .txt
 * there is a naming mistake.
 */
static void
test_data_files(void)
{
	struct mtasts_policy	 pol;
	struct mtasts_diag	 diag;
	struct dirent		**ents;
	FILE			*fp;
	const char		*top, *name;
	char			 dirpath[4096], path[4096 + 256], *buf;
	size_t			 n, len, nbad = 0, ngood = 0;
	enum mtasts_status	 st;
	int			 bad, nents, k;

	if ((top = getenv("top_srcdir")) != NULL && *top != '\0')
		(void)snprintf(dirpath, sizeof(dirpath),
		    "%s/tests/data/policies", top);
	else {
		/* Run by hand: find the tree from this file's own path. */
		static const char	 me[] = __FILE__;
		static const char	 tail[] =
		    "tests/unit/test_policy_parse.c";

		n = strlen(me) - (sizeof(tail) - 1);
		(void)snprintf(dirpath, sizeof(dirpath),
		    "%.*stests/data/policies", (int)n, me);
	}
	/* Sorted, so that the TAP output is the same on every run. */
	if ((nents = scandir(dirpath, &ents, NULL, alphasort)) == -1) {
		CHECK(0, "open %s: %s", dirpath, strerror(errno));
		return;
	}
	buf = malloc(MTASTS_POLICY_SIZE_DEFAULT + 1);
	CHECK(buf != NULL, "data files: allocate a read buffer");
	for (k = 0; buf != NULL && k < nents; k++) {
		name = ents[k]->d_name;
		len = strlen(name);
		if (len < 4 || strcmp(name + len - 4, ".txt") != 0)
			continue;
		if (strncmp(name, "bad-", 4) == 0)
			bad = 1;
		else if (strncmp(name, "good-", 5) == 0 ||
		    strncmp(name, "real-", 5) == 0 ||
		    strncmp(name, "crlf", 4) == 0)
			bad = 0;
		else {
			CHECK(0, "%s: name says neither good nor bad", name);
			continue;
		}
		(void)snprintf(path, sizeof(path), "%s/%s", dirpath, name);
		if ((fp = fopen(path, "rb")) == NULL) {
			CHECK(0, "%s: %s", name, strerror(errno));
			continue;
		}
		n = fread(buf, 1, MTASTS_POLICY_SIZE_DEFAULT + 1, fp);
		(void)fclose(fp);
		mtasts_diag_init(&diag);
		st = mtasts_policy_parse(buf, n, MTASTS_POLICY_SIZE_DEFAULT,
		    &pol, &diag);
		if (bad) {
			nbad++;
			CHECK(st == MTASTS_INVALID && diag.errors == 1,
			    "%s: invalid, one defect (%s)", name,
			    mtasts_diag_first(&diag));
		} else {
			ngood++;
			CHECK(st == MTASTS_OK && diag.errors == 0,
			    "%s: valid, %s, %zu mx", name,
			    mtasts_mode_str(pol.mode), pol.nmx);
		}
		if ((st == MTASTS_OK) == bad || diag.errors > 1)
			diag_dump(&diag);
		mtasts_policy_clear(&pol);
	}
	for (k = 0; k < nents; k++)
		free(ents[k]);
	free(ents);
	free(buf);
	CHECK(nbad >= 5 && ngood >= 5, "sample policies: %zu good, %zu bad",
	    ngood, nbad);
}

int
main(void)
{
	test_rows();
	test_size();
	test_many_mx();
	test_every_problem();
	test_long_value();
	test_api_edges();
	test_media_type();
	test_data_files();
	return check_done();
}
