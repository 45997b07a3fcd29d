/*
 * test_txt_parse.c: the _mta-sts TXT record (common/txt.c): one record,
 * selection among several, and records in DNS wire form.  Rows cite
 * RFC-CHECKLIST.md items.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "txt.h"

#define OK	MTASTS_OK
#define NOPOL	MTASTS_NOPOLICY
#define BAD	MTASTS_INVALID
#define STRLEN	((size_t)-1)	/* row length: use strlen() */

#define ID32	"abcdefghijklmnopqrstuvwxyz012345"
#define ID33	ID32 "6"
#define NAME32	"e_-.efghijklmnopqrstuvwxyz012345"
#define NAME33	NAME32 "6"

#define R_ID	"id must be 1 to 32 letters or digits"
#define R_SEMI	"expected ';' after field"
#define R_NONE	"record has no fields after v=STSv1"
#define R_NOID	"missing id field"
#define R_WSP	"white space at the end without ';' before it"
#define R_EQ	"expected '=' after field name"
#define R_START	"field name must start with a letter or digit"
#define R_NAME	"extension name longer than 32 characters"

/* mtasts_txt_parse: record -> status, id, first reason (if given). */
static const struct parse_row {
	const char		*rec;
	size_t			 len;
	enum mtasts_status	 st;
	const char		*id;
	const char		*why;
} parse_rows[] = {
	/* the RFC's example, with and without the trailing ';' (STS-05) */
	{ "v=STSv1; id=20160831085700Z;", STRLEN, OK, "20160831085700Z",
	    NULL },
	{ "v=STSv1; id=20160831085700Z", STRLEN, OK, "20160831085700Z",
	    NULL },
	/* STS-05: WSP (SP and HTAB) on either side of ';' */
	{ "v=STSv1;id=1", STRLEN, OK, "1", NULL },
	{ "v=STSv1;id=1;", STRLEN, OK, "1", NULL },
	{ "v=STSv1 ; id=1", STRLEN, OK, "1", NULL },
	{ "v=STSv1  ;  id=1  ;  ", STRLEN, OK, "1", NULL },
	{ "v=STSv1\t;\tid=1\t;\t", STRLEN, OK, "1", NULL },
	{ "v=STSv1\t; id=1", STRLEN, OK, "1", NULL },
	{ "v=STSv1; id=1 ;", STRLEN, OK, "1", NULL },
	{ "v=STSv1; id=1; ", STRLEN, OK, "1", NULL },
	{ "v=STSv1; id=1 ; ", STRLEN, OK, "1", NULL },
	/* STS-05: trailing WSP needs a ';' before it; one ';' at most */
	{ "v=STSv1; id=1 ", STRLEN, BAD, "", R_WSP },
	{ "v=STSv1; id=1\t", STRLEN, BAD, "", R_WSP },
	{ "v=STSv1 ", STRLEN, BAD, "", R_WSP },
	{ "v=STSv1; id=1;;", STRLEN, BAD, "",
	    "empty field (\";;\") at offset 14" },
	{ "v=STSv1; id=1; ;", STRLEN, BAD, "", NULL },
	{ "v=STSv1;; id=1", STRLEN, BAD, "", NULL },
	{ "v=STSv1 id=1", STRLEN, BAD, "", R_SEMI },
	{ "v=STSv1; id=1 x=2", STRLEN, BAD, "", R_SEMI },
	{ "v=STSv1, id=1", STRLEN, NOPOL, "", NULL },
	/* a candidate without fields */
	{ "v=STSv1", STRLEN, BAD, "", R_NONE },
	{ "v=STSv1;", STRLEN, BAD, "", R_NONE },
	{ "v=STSv1 ; ", STRLEN, BAD, "", R_NONE },
	/* STS-03: exact, case-sensitive, at the very start */
	{ "V=STSv1; id=1", STRLEN, NOPOL, "", NULL },
	{ "v=stsv1; id=1", STRLEN, NOPOL, "", NULL },
	{ "v=STSV1; id=1", STRLEN, NOPOL, "", NULL },
	{ "v=STSv10; id=1", STRLEN, NOPOL, "", NULL },
	{ "v=STSv1x; id=1", STRLEN, NOPOL, "", NULL },
	{ "v=STSv2; id=1", STRLEN, NOPOL, "", NULL },
	{ " v=STSv1; id=1", STRLEN, NOPOL, "", NULL },
	{ "\tv=STSv1; id=1", STRLEN, NOPOL, "", NULL },
	{ "v = STSv1; id=1", STRLEN, NOPOL, "", NULL },
	{ "id=1; v=STSv1", STRLEN, NOPOL, "", NULL },
	{ "v=STSv", STRLEN, NOPOL, "", NULL },
	{ "", STRLEN, NOPOL, "", NULL },
	{ "v=spf1 -all", STRLEN, NOPOL, "", NULL },
	{ "v=STSv1\0; id=1", 14, NOPOL, "", NULL },
	/* STS-04: id is 1 to 32 letters or digits */
	{ "v=STSv1; id=a", STRLEN, OK, "a", NULL },
	{ "v=STSv1; id=" ID32, STRLEN, OK, ID32, NULL },
	{ "v=STSv1; id=" ID32 ";", STRLEN, OK, ID32, NULL },
	{ "v=STSv1; id=" ID33, STRLEN, BAD, "", R_ID },
	{ "v=STSv1; id=" ID33 ";", STRLEN, BAD, "", R_ID },
	{ "v=STSv1; id=", STRLEN, BAD, "", R_ID },
	{ "v=STSv1; id=;", STRLEN, BAD, "", R_ID },
	{ "v=STSv1; id= 1", STRLEN, BAD, "", R_ID },
	{ "v=STSv1; id=abc-def", STRLEN, BAD, "", R_ID },
	{ "v=STSv1; id=abc_def", STRLEN, BAD, "", R_ID },
	{ "v=STSv1; id=abc.def", STRLEN, BAD, "", R_ID },
	{ "v=STSv1; id=abc=def", STRLEN, BAD, "", R_ID },
	{ "v=STSv1; id=abc def", STRLEN, BAD, "", R_SEMI },
	{ "v=STSv1; id", STRLEN, BAD, "", R_EQ },
	{ "v=STSv1; id =1", STRLEN, BAD, "", R_EQ },
	{ "v=STSv1; ID=1", STRLEN, BAD, "", R_NOID },	/* STS-03 %s */
	{ "v=STSv1; Id=1", STRLEN, BAD, "", R_NOID },
	{ "v=STSv1; x=1", STRLEN, BAD, "", R_NOID },
	{ "v=STSv1; idx=1", STRLEN, BAD, "", R_NOID },
	/* id need not be the first field */
	{ "v=STSv1; x=1; id=abc", STRLEN, OK, "abc", NULL },
	/* STS-12: the first id counts, later ones are mere extensions */
	{ "v=STSv1; id=first; id=second", STRLEN, OK, "first", NULL },
	{ "v=STSv1; id=first; id=not-an-id!", STRLEN, OK, "first", NULL },
	{ "v=STSv1; id=first; id=" ID33, STRLEN, OK, "first", NULL },
	{ "v=STSv1; id=first; id=", STRLEN, BAD, "",
	    "empty value for field \"id\"" },
	{ "v=STSv1; id=bad-id; id=good", STRLEN, BAD, "", R_ID },
	/* STS-06: extensions are checked, then ignored */
	{ "v=STSv1; id=1; " NAME32 "=v", STRLEN, OK, "1", NULL },
	{ "v=STSv1; id=1; " NAME33 "=v", STRLEN, BAD, "", R_NAME },
	{ "v=STSv1; " NAME33 "=v; id=1", STRLEN, BAD, "", R_NAME },
	{ "v=STSv1; id=1; a_b-c.d=x", STRLEN, OK, "1", NULL },
	{ "v=STSv1; id=1; 9=x", STRLEN, OK, "1", NULL },
	{ "v=STSv1; id=1; _a=x", STRLEN, BAD, "", R_START },
	{ "v=STSv1; id=1; -a=x", STRLEN, BAD, "", R_START },
	{ "v=STSv1; id=1; .a=x", STRLEN, BAD, "", R_START },
	{ "v=STSv1; id=1; =x", STRLEN, BAD, "", R_START },
	{ "v=STSv1; id=1; a/b=x", STRLEN, BAD, "", R_EQ },
	{ "v=STSv1; id=1; x", STRLEN, BAD, "", R_EQ },
	{ "v=STSv1; id=1; x =1", STRLEN, BAD, "", R_EQ },
	{ "v=STSv1; id=1; x= 1", STRLEN, BAD, "",
	    "empty value for field \"x\"" },
	{ "v=STSv1; id=1; x=", STRLEN, BAD, "",
	    "empty value for field \"x\"" },
	{ "v=STSv1; id=1; x=;", STRLEN, BAD, "",
	    "empty value for field \"x\"" },
	{ "v=STSv1; id=1; x=a=b", STRLEN, BAD, "",
	    "'=' in value of field \"x\"" },
	{ "v=STSv1; id=1; x=1 2", STRLEN, BAD, "", R_SEMI },
	/* every character ext-value allows: %x21-3A / %x3C / %x3E-7E */
	{ "v=STSv1; id=1; x=!\"#$%&'()*+,-./0123456789:<>?@"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
	    STRLEN, OK, "1", NULL },
	/* STS-11: US-ASCII only; no NUL or other control character */
	{ "v=STSv1; id=1; x=\xc3\xa9", STRLEN, BAD, "",
	    "non-ASCII byte 0xc3 at offset 17" },
	{ "v=STSv1; id=caf\xc3\xa9", STRLEN, BAD, "", NULL },
	{ "v=STSv1;\xc2\xa0id=1", STRLEN, BAD, "", NULL },
	{ "v=STSv1; id=1\0", 14, BAD, "",
	    "control character 0x00 at offset 13" },
	{ "v=STSv1; id=1\0; x=1", 19, BAD, "", NULL },
	{ "v=STSv1; id=1\r\n", STRLEN, BAD, "",
	    "control character 0x0d at offset 13" },
	{ "v=STSv1;\nid=1", STRLEN, BAD, "", NULL },
	{ "v=STSv1; id=1; x=\x7f", STRLEN, BAD, "", NULL },
	/* the length is honoured: no reading past it */
	{ "v=STSv1; id=abc; junk junk", 16, OK, "abc", NULL },
	{ "v=STSv1; id=abcdef", 14, OK, "ab", NULL },
	{ "v=STSv1; id=1", 7, BAD, "", R_NONE },
	{ "v=STSv1; id=1", 6, NOPOL, "", NULL },
};

#define MAXRECS	4

/* mtasts_txt_select: a whole answer -> status, id, reason. */
static const struct select_row {
	const char		*recs[MAXRECS];	/* NULL-terminated */
	enum mtasts_status	 st;
	const char		*id;
	const char		*why;
} select_rows[] = {
	/* STS-07: zero candidates */
	{ { NULL }, NOPOL, "", "no v=STSv1 TXT record" },
	{ { "" }, NOPOL, "", "no v=STSv1 TXT record" },
	{ { "v=spf1 -all" }, NOPOL, "", "no v=STSv1 TXT record" },
	{ { "V=STSv1; id=1", "v=STSv10; id=2" }, NOPOL, "",
	    "no v=STSv1 TXT record" },
	/* STS-07: one candidate among others */
	{ { "v=STSv1; id=abc;" }, OK, "abc", NULL },
	{ { "v=spf1 -all", "v=STSv1; id=abc;", "site-verification=x" }, OK,
	    "abc", NULL },
	{ { "v=STSv1; id=a", "v=STSv10; id=b" }, OK, "a", NULL },
	{ { "V=STSv1; id=a", "v=STSv1; id=b" }, OK, "b", NULL },
	{ { " v=STSv1; id=a", "v=STSv1; id=b" }, OK, "b", NULL },
	/* STS-07: more than one candidate, valid or not */
	{ { "v=STSv1; id=a", "v=STSv1; id=b" }, NOPOL, "",
	    "2 v=STSv1 TXT records (exactly one required)" },
	{ { "v=STSv1; id=a", "v=STSv1; id=a" }, NOPOL, "",
	    "2 v=STSv1 TXT records (exactly one required)" },
	{ { "v=STSv1; id=a", "v=STSv1 junk" }, NOPOL, "",
	    "2 v=STSv1 TXT records (exactly one required)" },
	{ { "v=STSv1", "v=STSv1; id=b" }, NOPOL, "",
	    "2 v=STSv1 TXT records (exactly one required)" },
	{ { "v=STSv1; id=a", "x", "v=STSv1; id=b", "v=STSv1; id=c" }, NOPOL,
	    "", "3 v=STSv1 TXT records (exactly one required)" },
	/* STS-08: the one candidate is invalid */
	{ { "v=STSv1; id=a-b" }, NOPOL, "", "invalid TXT record: " R_ID },
	{ { "v=STSv1" }, NOPOL, "", "invalid TXT record: " R_NONE },
	{ { "v=spf1 -all", "v=STSv1; x=1" }, NOPOL, "",
	    "invalid TXT record: " R_NOID },
	{ { "v=STSv1; id=caf\xc3\xa9" }, NOPOL, "",
	    "invalid TXT record: non-ASCII byte 0xc3 at offset 15" },
};

/* A wire record, given as its strings, or raw when raw is set. */
struct wire_rec {
	const char	*strs[4];	/* NULL-terminated */
	const char	*raw;
	size_t		 rawlen;
};

static const struct wire_row {
	struct wire_rec		 recs[3];
	size_t			 nrecs;
	enum mtasts_status	 st;
	const char		*id;
	const char		*why;
} wire_rows[] = {
	{ { { { "v=STSv1; id=abc" }, NULL, 0 } }, 1, OK, "abc", NULL },
	/* STS-10: strings joined with nothing in between */
	{ { { { "v=STS", "v1; id=ab", "c" }, NULL, 0 } }, 1, OK, "abc",
	    NULL },
	{ { { { "v=STSv1; id=ab", "cd" }, NULL, 0 } }, 1, OK, "abcd", NULL },
	{ { { { "v=STSv1;", "id=abc" }, NULL, 0 } }, 1, OK, "abc", NULL },
	{ { { { "v=STSv1; id=ab", " cd" }, NULL, 0 } }, 1, NOPOL, "",
	    "invalid TXT record: " R_SEMI },
	{ { { { "", "v=STSv1; id=abc", "" }, NULL, 0 } }, 1, OK, "abc",
	    NULL },
	{ { { { "x", "v=STSv1; id=abc" }, NULL, 0 } }, 1, NOPOL, "",
	    "no v=STSv1 TXT record" },
	/* STS-07 over wire records */
	{ { { { "v=spf1 -all" }, NULL, 0 },
	    { { "v=STSv1; ", "id=xyz" }, NULL, 0 } }, 2, OK, "xyz", NULL },
	{ { { { "v=STSv1; id=1" }, NULL, 0 },
	    { { "v=STSv1; id=2" }, NULL, 0 } }, 2, NOPOL, "",
	    "2 v=STSv1 TXT records (exactly one required)" },
	{ { { { "" }, NULL, 0 } }, 1, NOPOL, "", "no v=STSv1 TXT record" },
	{ { { { NULL }, NULL, 0 } }, 0, NOPOL, "", "no v=STSv1 TXT record" },
	/* broken wire forms count as invalid candidates */
	{ { { { NULL }, "\x10v=STSv1; id=abc", 16 } }, 1, NOPOL, "",
	    "invalid TXT record: malformed TXT wire data" },
	{ { { { NULL }, "\x0fv=STSv1; id=abc\x05" "ab", 19 } }, 1, NOPOL, "",
	    "invalid TXT record: malformed TXT wire data" },
	{ { { { NULL }, "", 0 } }, 1, NOPOL, "",
	    "invalid TXT record: malformed TXT wire data" },
	{ { { { NULL }, "\x01", 1 } }, 1, NOPOL, "",
	    "invalid TXT record: malformed TXT wire data" },
	{ { { { NULL }, "\xff" "abc", 4 },
	    { { "v=STSv1; id=1" }, NULL, 0 } }, 2, NOPOL, "",
	    "2 v=STSv1 TXT records (exactly one required)" },
	{ { { { "v=spf1 -all" }, NULL, 0 },
	    { { NULL }, "\x05v=ST", 5 } }, 2, NOPOL, "",
	    "invalid TXT record: malformed TXT wire data" },
	/* an empty string alone is a record, just not a candidate */
	{ { { { NULL }, "\x00", 1 },
	    { { "v=STSv1; id=1" }, NULL, 0 } }, 2, OK, "1", NULL },
	/* STS-11 and embedded NUL through the wire form */
	{ { { { NULL }, "\x0ev=STSv1; id=1\0", 15 } }, 1, NOPOL, "",
	    "invalid TXT record: control character 0x00 at offset 13" },
	{ { { { "v=STSv1; id=1; x=\xc3\xa9" }, NULL, 0 } }, 1, NOPOL, "",
	    "invalid TXT record: non-ASCII byte 0xc3 at offset 17" },
};

/* Encode strs as <len><bytes> strings into buf; returns the length. */
static size_t
wire_encode(unsigned char *buf, size_t bufsz, const char *const *strs)
{
	size_t	i, n, pos = 0;

	for (i = 0; i < 4 && strs[i] != NULL; i++) {
		n = strlen(strs[i]);
		if (n > 255 || pos + 1 + n > bufsz)
			abort();
		buf[pos++] = (unsigned char)n;
		memcpy(buf + pos, strs[i], n);
		pos += n;
	}
	return pos;
}

static void
test_parse(void)
{
	const struct parse_row	*r;
	struct mtasts_diag	 diag;
	struct mtasts_txt	 txt;
	enum mtasts_status	 st;
	char			 what[64];
	size_t			 i, len;

	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		r = &parse_rows[i];
		len = r->len == STRLEN ? strlen(r->rec) : r->len;
		mtasts_diag_init(&diag);
		memset(&txt, 'X', sizeof(txt));
		st = mtasts_txt_parse(r->rec, len, &txt, &diag);
		CHECK(st == r->st, "parse row %zu: %s, want %s", i,
		    mtasts_status_str(st), mtasts_status_str(r->st));
		(void)snprintf(what, sizeof(what), "parse row %zu: id", i);
		CHECK_STREQ(txt.id, r->id, what);
		CHECK((st == OK) == (diag.errors == 0),
		    "parse row %zu: reason exactly when not ok", i);
		if (r->why != NULL) {
			(void)snprintf(what, sizeof(what),
			    "parse row %zu: reason", i);
			CHECK_STREQ(mtasts_diag_first(&diag), r->why, what);
		}
	}
	CHECK(mtasts_txt_parse("v=STSv1; id=1", 13, NULL, NULL) == OK,
	    "parse with NULL out and diag");
	CHECK(mtasts_txt_parse(NULL, 0, &txt, NULL) == NOPOL, "parse NULL");
}

static void
test_select(void)
{
	const struct select_row	*r;
	struct mtasts_diag	 diag;
	struct mtasts_txt	 txt;
	enum mtasts_status	 st;
	size_t			 lens[MAXRECS], i, n;
	char			 what[64];

	for (i = 0; i < sizeof(select_rows) / sizeof(select_rows[0]); i++) {
		r = &select_rows[i];
		for (n = 0; n < MAXRECS && r->recs[n] != NULL; n++)
			lens[n] = strlen(r->recs[n]);
		mtasts_diag_init(&diag);
		memset(&txt, 'X', sizeof(txt));
		st = mtasts_txt_select(r->recs, lens, n, &txt, &diag);
		CHECK(st == r->st, "select row %zu: %s, want %s", i,
		    mtasts_status_str(st), mtasts_status_str(r->st));
		(void)snprintf(what, sizeof(what), "select row %zu: id", i);
		CHECK_STREQ(txt.id, r->id, what);
		CHECK(diag.count == (st == OK ? 0u : 1u),
		    "select row %zu: one reason exactly when not ok", i);
		if (r->why != NULL) {
			(void)snprintf(what, sizeof(what),
			    "select row %zu: reason", i);
			CHECK_STREQ(mtasts_diag_first(&diag), r->why, what);
		}
	}
	CHECK(mtasts_txt_select(NULL, NULL, 3, &txt, NULL) == NOPOL,
	    "select with no arrays");
}

static void
test_wire(void)
{
	const struct wire_row	*r;
	const unsigned char	*rdata[3];
	unsigned char		 bufs[3][600];
	struct mtasts_diag	 diag;
	struct mtasts_txt	 txt;
	enum mtasts_status	 st;
	size_t			 rdlen[3], i, j;
	char			 what[64];

	for (i = 0; i < sizeof(wire_rows) / sizeof(wire_rows[0]); i++) {
		r = &wire_rows[i];
		for (j = 0; j < r->nrecs; j++) {
			if (r->recs[j].raw != NULL) {
				rdlen[j] = r->recs[j].rawlen;
				memcpy(bufs[j], r->recs[j].raw, rdlen[j]);
			} else
				rdlen[j] = wire_encode(bufs[j],
				    sizeof(bufs[j]), r->recs[j].strs);
			rdata[j] = bufs[j];
		}
		mtasts_diag_init(&diag);
		memset(&txt, 'X', sizeof(txt));
		st = mtasts_txt_select_wire(rdata, rdlen, r->nrecs, &txt,
		    &diag);
		CHECK(st == r->st, "wire row %zu: %s, want %s", i,
		    mtasts_status_str(st), mtasts_status_str(r->st));
		(void)snprintf(what, sizeof(what), "wire row %zu: id", i);
		CHECK_STREQ(txt.id, r->id, what);
		if (r->why != NULL) {
			(void)snprintf(what, sizeof(what),
			    "wire row %zu: reason", i);
			CHECK_STREQ(mtasts_diag_first(&diag), r->why, what);
		}
	}

	/* a NULL rdata pointer is a broken record */
	rdata[0] = NULL;
	rdlen[0] = 5;
	mtasts_diag_init(&diag);
	CHECK(mtasts_txt_select_wire(rdata, rdlen, 1, &txt, &diag) == NOPOL,
	    "wire NULL rdata");
	CHECK_STREQ(mtasts_diag_first(&diag),
	    "invalid TXT record: malformed TXT wire data",
	    "wire NULL rdata: reason");
}

/*
 * The largest rdata DNS can carry, 65535 octets in strings of 255, joined
 * into one valid record; one octet more is not a DNS record.
 */
static void
test_wire_large(void)
{
	static const char	 head[] = "v=STSv1; id=big; x=";
	const unsigned char	*rdata[1];
	unsigned char		*buf;
	struct mtasts_txt	 txt;
	size_t			 rdlen[1], pos = 0, n;

	if ((buf = malloc(65536 + 256)) == NULL)
		abort();
	while (pos < 65535) {
		n = 65535 - pos - 1;
		if (n > 255)
			n = 255;
		buf[pos] = (unsigned char)n;
		memset(buf + pos + 1, 'a', n);
		pos += 1 + n;
	}
	memcpy(buf + 1, head, sizeof(head) - 1);
	rdata[0] = buf;
	rdlen[0] = pos;
	CHECK(pos == 65535, "large rdata is 65535 octets");
	CHECK(mtasts_txt_select_wire(rdata, rdlen, 1, &txt, NULL) == OK &&
	    strcmp(txt.id, "big") == 0, "rdata of 65535 octets");

	/* 65536: one more empty string at the end */
	buf[pos] = 0;
	rdlen[0] = pos + 1;
	CHECK(mtasts_txt_select_wire(rdata, rdlen, 1, &txt, NULL) == NOPOL,
	    "rdata of 65536 octets is broken");
	free(buf);
}

/* STS-10: every split of a record into two strings joins back. */
static void
test_wire_splits(void)
{
	static const char	 rec[] = "v=STSv1; id=20160831085700Z; x=y";
	const unsigned char	*rdata[1];
	unsigned char		 buf[sizeof(rec) + 2];
	struct mtasts_txt	 txt;
	size_t			 len = sizeof(rec) - 1, k, rdlen[1];
	int			 all = 1;

	for (k = 0; k <= len; k++) {
		buf[0] = (unsigned char)k;
		memcpy(buf + 1, rec, k);
		buf[1 + k] = (unsigned char)(len - k);
		memcpy(buf + 2 + k, rec + k, len - k);
		rdata[0] = buf;
		rdlen[0] = len + 2;
		if (mtasts_txt_select_wire(rdata, rdlen, 1, &txt, NULL) !=
		    OK || strcmp(txt.id, "20160831085700Z") != 0)
			all = 0;
	}
	CHECK(all, "record split at each of %zu positions joins back",
	    len + 1);
}

/* The selection's conclusion as a class name, set on every outcome. */
static void
test_result_class(void)
{
	static const struct {
		const char	*recs[3];
		size_t		 n;
		const char	*cls;
	} rows[] = {
		{ { "v=STSv1; id=abc" }, 1, "ok" },
		{ { "v=spf1 -all" }, 1, "no-txt" },			/* STS-07 */
		{ { NULL }, 0, "no-txt" },
		{ { "v=STSv1; id=a", "v=STSv1; id=b" }, 2, "multi-txt" },	/* STS-07 */
		{ { "v=STSv1; id=bad_id" }, 1, "bad-txt" },		/* STS-08 */
	};
	struct mtasts_txt	txt;
	size_t			i, j, lens[3];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (j = 0; j < rows[i].n; j++)
			lens[j] = strlen(rows[i].recs[j]);
		memset(&txt, 0xa5, sizeof(txt));
		(void)mtasts_txt_select(rows[i].recs, lens, rows[i].n, &txt,
		    NULL);
		CHECK_STREQ(mtasts_txt_result_str(txt.result), rows[i].cls,
		    "select result class");
	}
}

int
main(void)
{
	test_parse();
	test_select();
	test_wire();
	test_wire_large();
	test_wire_splits();
	test_result_class();
	return check_done();
}
