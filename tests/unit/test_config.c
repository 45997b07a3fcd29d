/*
 * test_config.c: the configuration loader.  The generic loader is driven
 * by a table of its own (one parameter per type) with rows on both sides of
 * every bound; then the daemon's table, file loading and its refusals, the
 * sample etc/mta-sts-milter.conf and the fixtures in tests/data/conf.
 */
#include <config.h>

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "log.h"
#include "status.h"

#define WEEK	(7 * 86400L)

/* ---------------------------------------------------------- generic loader */

struct tconf {
	int			 flag;
	long			 count;
	long			 delay;
	size_t			 size;
	char			*name;
	struct mtasts_strlist	 items;
	int			 mode;
	long			 low;
};

static const char *const modes[] = { "none", "testing", "enforce", NULL };

#define TOFF(f)	offsetof(struct tconf, f)
static const struct mtasts_conf_def tdefs[] = {
	{ "Flag", MTASTS_CONF_BOOL, TOFF(flag), "no", 0, 0, NULL, 1 },
	{ "Count", MTASTS_CONF_INT, TOFF(count), "5", 1, 100, NULL, 1 },
	{ "Delay", MTASTS_CONF_DURATION, TOFF(delay), "10s", 1, WEEK, NULL,
	    1 },
	{ "Size", MTASTS_CONF_SIZE, TOFF(size), "64k", 1024, 1048576, NULL,
	    1 },
	{ "Name", MTASTS_CONF_STRING, TOFF(name), NULL, 0, 0, NULL, 1 },
	{ "Items", MTASTS_CONF_LIST, TOFF(items), "dflt", 0, 0, NULL, 1 },
	{ "Mode", MTASTS_CONF_ENUM, TOFF(mode), "none", 0, 0, modes, 1 },
	/* max 0: no upper bound */
	{ "Low", MTASTS_CONF_INT, TOFF(low), "0", -10, 0, NULL, 1 },
	{ NULL, MTASTS_CONF_BOOL, 0, NULL, 0, 0, NULL, 0 }
};

enum tfield { T_NONE, T_FLAG, T_COUNT, T_DELAY, T_SIZE, T_NAME, T_ITEMS,
    T_MODE, T_LOW };

struct trow {
	const char	*in;
	int		 ok;
	enum tfield	 f;
	long long	 want;		/* numeric fields */
	const char	*wants;		/* T_NAME; T_ITEMS joined with '|' */
	const char	*err;		/* substring of the first error */
};

static const struct trow trows[] = {
	/* nothing set: the defaults */
	{ "", 1, T_FLAG, 0, NULL, NULL },
	{ "", 1, T_COUNT, 5, NULL, NULL },
	{ "", 1, T_DELAY, 10, NULL, NULL },
	{ "", 1, T_SIZE, 65536, NULL, NULL },
	{ "", 1, T_NAME, 0, NULL, NULL },
	{ "", 1, T_ITEMS, 0, "dflt", NULL },
	{ "", 1, T_MODE, 0, NULL, NULL },

	/* BOOL */
	{ "Flag yes", 1, T_FLAG, 1, NULL, NULL },
	{ "Flag true", 1, T_FLAG, 1, NULL, NULL },
	{ "Flag on", 1, T_FLAG, 1, NULL, NULL },
	{ "Flag 1", 1, T_FLAG, 1, NULL, NULL },
	{ "Flag YES", 1, T_FLAG, 1, NULL, NULL },
	{ "Flag True", 1, T_FLAG, 1, NULL, NULL },
	{ "Flag no", 1, T_FLAG, 0, NULL, NULL },
	{ "Flag false", 1, T_FLAG, 0, NULL, NULL },
	{ "Flag off", 1, T_FLAG, 0, NULL, NULL },
	{ "Flag 0", 1, T_FLAG, 0, NULL, NULL },
	{ "Flag OFF", 1, T_FLAG, 0, NULL, NULL },
	{ "Flag maybe", 0, T_NONE, 0, NULL,
	    "t.conf:1: Flag 'maybe' is not yes or no" },
	{ "Flag 2", 0, T_NONE, 0, NULL, "is not yes or no" },
	{ "Flag y", 0, T_NONE, 0, NULL, "is not yes or no" },
	{ "Flag yes please", 0, T_NONE, 0, NULL, "is not yes or no" },

	/* INT [1, 100] */
	{ "Count 1", 1, T_COUNT, 1, NULL, NULL },
	{ "Count 100", 1, T_COUNT, 100, NULL, NULL },
	{ "Count 0", 0, T_NONE, 0, NULL,
	    "t.conf:1: Count '0' is out of range (1 to 100)" },
	{ "Count 101", 0, T_NONE, 0, NULL, "out of range (1 to 100)" },
	{ "Count -5", 0, T_NONE, 0, NULL, "out of range" },
	{ "Count 007", 1, T_COUNT, 7, NULL, NULL },
	{ "Count +5", 0, T_NONE, 0, NULL, "is not a decimal number" },
	{ "Count 5x", 0, T_NONE, 0, NULL, "is not a decimal number" },
	{ "Count 0x10", 0, T_NONE, 0, NULL, "is not a decimal number" },
	{ "Count abc", 0, T_NONE, 0, NULL, "is not a decimal number" },
	{ "Count 9223372036854775807", 0, T_NONE, 0, NULL, "out of range" },
	{ "Count 9223372036854775808", 0, T_NONE, 0, NULL, "out of range" },
	{ "Count 99999999999999999999999", 0, T_NONE, 0, NULL,
	    "out of range" },
	{ "Count -99999999999999999999999", 0, T_NONE, 0, NULL,
	    "out of range" },
	{ "Low -10", 1, T_LOW, -10, NULL, NULL },
	{ "Low 123456789", 1, T_LOW, 123456789, NULL, NULL },
	{ "Low -11", 0, T_NONE, 0, NULL, "out of range (at least -10)" },

	/* DURATION [1s, 1w] */
	{ "Delay 1", 1, T_DELAY, 1, NULL, NULL },
	{ "Delay 1s", 1, T_DELAY, 1, NULL, NULL },
	{ "Delay 30s", 1, T_DELAY, 30, NULL, NULL },
	{ "Delay 30", 1, T_DELAY, 30, NULL, NULL },
	{ "Delay 5m", 1, T_DELAY, 300, NULL, NULL },
	{ "Delay 1h", 1, T_DELAY, 3600, NULL, NULL },
	{ "Delay 1H", 1, T_DELAY, 3600, NULL, NULL },
	{ "Delay 2d", 1, T_DELAY, 172800, NULL, NULL },
	{ "Delay 1w", 1, T_DELAY, 604800, NULL, NULL },
	{ "Delay 7d", 1, T_DELAY, 604800, NULL, NULL },
	{ "Delay 604800", 1, T_DELAY, 604800, NULL, NULL },
	{ "Delay 604801", 0, T_NONE, 0, NULL, "out of range (1s to 1w)" },
	{ "Delay 8d", 0, T_NONE, 0, NULL, "out of range (1s to 1w)" },
	{ "Delay 2w", 0, T_NONE, 0, NULL, "out of range" },
	{ "Delay 0", 0, T_NONE, 0, NULL, "out of range" },
	{ "Delay 0s", 0, T_NONE, 0, NULL, "out of range" },
	{ "Delay -1", 0, T_NONE, 0, NULL, "is not a duration" },
	{ "Delay +1", 0, T_NONE, 0, NULL, "is not a duration" },
	{ "Delay s", 0, T_NONE, 0, NULL, "is not a duration" },
	{ "Delay 10x", 0, T_NONE, 0, NULL, "is not a duration" },
	{ "Delay 10ss", 0, T_NONE, 0, NULL, "is not a duration" },
	{ "Delay 1h30m", 0, T_NONE, 0, NULL, "is not a duration" },
	{ "Delay 1 h", 0, T_NONE, 0, NULL, "is not a duration" },
	{ "Delay 1.5h", 0, T_NONE, 0, NULL, "is not a duration" },
	{ "Delay 9223372036854775807", 0, T_NONE, 0, NULL, "out of range" },
	{ "Delay 9223372036854775808", 0, T_NONE, 0, NULL, "out of range" },
	{ "Delay 15250284452471w", 0, T_NONE, 0, NULL, "out of range" },
	{ "Delay 15250284452472w", 0, T_NONE, 0, NULL, "out of range" },
	{ "Delay 99999999999999999999999999s", 0, T_NONE, 0, NULL,
	    "out of range" },
	{ "Delay 99999999999999999999999999x", 0, T_NONE, 0, NULL,
	    "is not a duration" },

	/* SIZE [1k, 1m] */
	{ "Size 1024", 1, T_SIZE, 1024, NULL, NULL },
	{ "Size 1k", 1, T_SIZE, 1024, NULL, NULL },
	{ "Size 1K", 1, T_SIZE, 1024, NULL, NULL },
	{ "Size 64k", 1, T_SIZE, 65536, NULL, NULL },
	{ "Size 1m", 1, T_SIZE, 1048576, NULL, NULL },
	{ "Size 1M", 1, T_SIZE, 1048576, NULL, NULL },
	{ "Size 1024k", 1, T_SIZE, 1048576, NULL, NULL },
	{ "Size 1023", 0, T_NONE, 0, NULL, "out of range (1k to 1m)" },
	{ "Size 1025k", 0, T_NONE, 0, NULL, "out of range (1k to 1m)" },
	{ "Size 1048577", 0, T_NONE, 0, NULL, "out of range" },
	{ "Size 0", 0, T_NONE, 0, NULL, "out of range" },
	{ "Size 1g", 0, T_NONE, 0, NULL, "is not a size" },
	{ "Size 1kb", 0, T_NONE, 0, NULL, "is not a size" },
	{ "Size k", 0, T_NONE, 0, NULL, "is not a size" },
	{ "Size -1k", 0, T_NONE, 0, NULL, "is not a size" },
	{ "Size 18446744073709551616", 0, T_NONE, 0, NULL, "out of range" },
	{ "Size 18014398509481984k", 0, T_NONE, 0, NULL, "out of range" },
	{ "Size 18446744073709551616g", 0, T_NONE, 0, NULL, "is not a size" },

	/* STRING */
	{ "Name /var/lib/x.db", 1, T_NAME, 0, "/var/lib/x.db", NULL },
	{ "Name  a b\tc  ", 1, T_NAME, 0, "a b\tc", NULL },
	{ "Name a#b", 1, T_NAME, 0, "a#b", NULL },
	{ "Name a #b", 1, T_NAME, 0, "a", NULL },
	{ "Name caf\xc3\xa9", 1, T_NAME, 0, "caf\xc3\xa9", NULL },

	/* LIST: commas and/or blanks; lines accumulate; the file replaces
	 * the default */
	{ "Items a", 1, T_ITEMS, 0, "a", NULL },
	{ "Items a,b c", 1, T_ITEMS, 0, "a|b|c", NULL },
	{ "Items a , b,,c ,", 1, T_ITEMS, 0, "a|b|c", NULL },
	{ "Items a\nItems b, c\nitems d", 1, T_ITEMS, 0, "a|b|c|d", NULL },
	{ "Items ,,,", 0, T_NONE, 0, NULL, "Items lists no values" },

	/* ENUM */
	{ "Mode enforce", 1, T_MODE, 2, NULL, NULL },
	{ "Mode TESTING", 1, T_MODE, 1, NULL, NULL },
	{ "Mode none", 1, T_MODE, 0, NULL, NULL },
	{ "Mode strict", 0, T_NONE, 0, NULL,
	    "t.conf:1: Mode 'strict' is not one of none, testing, enforce" },

	/* file syntax */
	{ "# a comment\n\n   \n\t\nFlag yes # trailing comment\n", 1, T_FLAG,
	    1, NULL, NULL },
	{ "#Flag yes", 1, T_FLAG, 0, NULL, NULL },
	{ "   # indented comment\nCount 9", 1, T_COUNT, 9, NULL, NULL },
	{ "fLaG yes", 1, T_FLAG, 1, NULL, NULL },
	{ "COUNT 42", 1, T_COUNT, 42, NULL, NULL },
	{ "  Count\t\t42  \t", 1, T_COUNT, 42, NULL, NULL },
	{ "Flag yes\r\nCount 8\r\n", 1, T_COUNT, 8, NULL, NULL },
	{ "\xef\xbb\xbf" "Count 3", 1, T_COUNT, 3, NULL, NULL },
	{ "Count 3\n\xef\xbb\xbf", 0, T_NONE, 0, NULL,
	    "t.conf:2: unknown parameter '\\xef\\xbb\\xbf'" },
	{ "Foo bar", 0, T_NONE, 0, NULL, "t.conf:1: unknown parameter 'Foo'" },
	{ "\n\n# x\nFoo", 0, T_NONE, 0, NULL,
	    "t.conf:4: unknown parameter 'Foo'" },
	{ "Flag=yes", 0, T_NONE, 0, NULL,
	    "t.conf:1: unknown parameter 'Flag=yes'" },
	{ "Fo\x1bo 1", 0, T_NONE, 0, NULL,
	    "t.conf:1: unknown parameter 'Fo\\x1bo'" },
	{ "Flag", 0, T_NONE, 0, NULL, "t.conf:1: missing value for Flag" },
	{ "Flag   # comment", 0, T_NONE, 0, NULL,
	    "t.conf:1: missing value for Flag" },
	{ "flag", 0, T_NONE, 0, NULL, "t.conf:1: missing value for Flag" },
	{ "Flag yes\nFlag no", 0, T_NONE, 0, NULL,
	    "t.conf:2: Flag already set on line 1" },
	{ "Count 1\n#\nCOUNT 1", 0, T_NONE, 0, NULL,
	    "t.conf:3: Count already set on line 1" },
	{ "Name a\nName a", 0, T_NONE, 0, NULL, "Name already set on line 1" },
};

static void *
tfield_ptr(struct tconf *t, enum tfield f)
{
	switch (f) {
	case T_FLAG:
		return &t->flag;
	case T_COUNT:
		return &t->count;
	case T_DELAY:
		return &t->delay;
	case T_SIZE:
		return &t->size;
	case T_NAME:
		return &t->name;
	case T_ITEMS:
		return &t->items;
	case T_MODE:
		return &t->mode;
	case T_LOW:
		return &t->low;
	case T_NONE:
		break;
	}
	return NULL;
}

static void
join(char *buf, size_t bufsz, const struct mtasts_strlist *l)
{
	size_t	i, off = 0;
	int	n;

	buf[0] = '\0';
	for (i = 0; i < l->n; i++) {
		n = snprintf(buf + off, bufsz - off, "%s%s", i ? "|" : "",
		    l->v[i]);
		if (n < 0 || (size_t)n >= bufsz - off)
			return;
		off += (size_t)n;
	}
}

static int
trow_value_ok(const struct trow *r, struct tconf *t)
{
	char	buf[256];
	void	*p = tfield_ptr(t, r->f);

	switch (r->f) {
	case T_FLAG:
	case T_MODE:
		return *(int *)p == r->want;
	case T_COUNT:
	case T_DELAY:
	case T_LOW:
		return *(long *)p == r->want;
	case T_SIZE:
		return *(size_t *)p == (size_t)r->want;
	case T_NAME:
		if (r->wants == NULL)
			return t->name == NULL;
		return t->name != NULL && strcmp(t->name, r->wants) == 0;
	case T_ITEMS:
		join(buf, sizeof(buf), &t->items);
		return strcmp(buf, r->wants) == 0;
	case T_NONE:
		break;
	}
	return 1;
}

static void
test_generic(void)
{
	struct mtasts_diag	diag;
	struct tconf		t;
	size_t			i;
	int			rc;

	for (i = 0; i < sizeof(trows) / sizeof(trows[0]); i++) {
		const struct trow *r = &trows[i];

		memset(&t, 0, sizeof(t));
		mtasts_diag_init(&diag);
		rc = mtasts_conf_defaults(tdefs, &t, &diag);
		CHECK(rc == 0, "row %zu: defaults apply", i);
		rc = mtasts_conf_apply(tdefs, &t, r->in, strlen(r->in),
		    "t.conf", &diag);
		if (r->ok) {
			CHECK(rc == 0 && diag.errors == 0, "row %zu accepted",
			    i);
			if (rc != 0)
				printf("#   %s\n", mtasts_diag_first(&diag));
			CHECK(trow_value_ok(r, &t), "row %zu value", i);
		} else {
			CHECK(rc == -1 && diag.errors == 1,
			    "row %zu rejected with one error", i);
			CHECK(strstr(mtasts_diag_first(&diag), r->err) != NULL,
			    "row %zu message", i);
			if (strstr(mtasts_diag_first(&diag), r->err) == NULL)
				printf("#   got \"%s\", want \"%s\"\n",
				    mtasts_diag_first(&diag), r->err);
		}
		mtasts_conf_release(tdefs, &t);
		CHECK(t.name == NULL && t.items.n == 0 && t.items.v == NULL,
		    "row %zu released", i);
	}
}

/* Input the row table cannot hold: NUL bytes and long lines. */
static void
test_generic_raw(void)
{
	struct mtasts_diag	 diag;
	struct tconf		 t;
	char			*buf;
	size_t			 n;
	int			 rc;

	memset(&t, 0, sizeof(t));
	mtasts_diag_init(&diag);
	(void)mtasts_conf_defaults(tdefs, &t, &diag);
	rc = mtasts_conf_apply(tdefs, &t, "Flag yes\nCount\0 7\nMode enforce\n",
	    31, "t.conf", &diag);
	CHECK(rc == -1 && diag.errors == 1, "NUL byte: one error");
	CHECK_STREQ(mtasts_diag_first(&diag), "t.conf:2: NUL byte in line",
	    "NUL byte: message");
	CHECK(t.flag == 1 && t.mode == 2 && t.count == 5,
	    "NUL byte: other lines applied, bad line ignored");
	CHECK(diag.item[0].line == 2, "NUL byte: diag line number");
	mtasts_conf_release(tdefs, &t);

	/* 4096 bytes is the longest line; 4097 is refused. */
	if ((buf = malloc(8192)) == NULL)
		abort();
	memcpy(buf, "Name ", 5);
	memset(buf + 5, 'n', 4096 - 5);
	buf[4096] = '\n';
	memcpy(buf + 4097, "Flag yes\n", 9);
	n = 4097 + 9;
	memset(&t, 0, sizeof(t));
	mtasts_diag_init(&diag);
	(void)mtasts_conf_defaults(tdefs, &t, &diag);
	rc = mtasts_conf_apply(tdefs, &t, buf, n, "t.conf", &diag);
	CHECK(rc == 0 && t.name != NULL && strlen(t.name) == 4091 &&
	    t.flag == 1, "4096-byte line accepted");
	mtasts_conf_release(tdefs, &t);

	/* ...also with CR LF: the CR is not counted. */
	memcpy(buf, "Name ", 5);
	memset(buf + 5, 'n', 4096 - 5);
	memcpy(buf + 4096, "\r\n", 2);
	memset(&t, 0, sizeof(t));
	mtasts_diag_init(&diag);
	(void)mtasts_conf_defaults(tdefs, &t, &diag);
	rc = mtasts_conf_apply(tdefs, &t, buf, 4098, "t.conf", &diag);
	CHECK(rc == 0 && t.name != NULL && strlen(t.name) == 4091,
	    "4096-byte line with CR LF accepted");
	mtasts_conf_release(tdefs, &t);

	memcpy(buf, "Name ", 5);
	memset(buf + 5, 'n', 4097 - 5);
	buf[4097] = '\n';
	memcpy(buf + 4098, "Flag yes", 8);
	n = 4098 + 8;
	memset(&t, 0, sizeof(t));
	mtasts_diag_init(&diag);
	(void)mtasts_conf_defaults(tdefs, &t, &diag);
	rc = mtasts_conf_apply(tdefs, &t, buf, n, "t.conf", &diag);
	CHECK(rc == -1 && diag.errors == 1, "4097-byte line refused");
	CHECK_STREQ(mtasts_diag_first(&diag),
	    "t.conf:1: line longer than 4096 bytes", "long line: message");
	CHECK(t.name == NULL && t.flag == 1,
	    "long line ignored, next line (no newline at end) applied");
	mtasts_conf_release(tdefs, &t);
	free(buf);

	/* Every problem is collected, each with its line. */
	memset(&t, 0, sizeof(t));
	mtasts_diag_init(&diag);
	(void)mtasts_conf_defaults(tdefs, &t, &diag);
	rc = mtasts_conf_apply(tdefs, &t,
	    "Foo 1\nCount 0\nFlag yes\nDelay 1y\nFlag no\nMode x\n", 47,
	    "t.conf", &diag);
	CHECK(rc == -1 && diag.errors == 5 && diag.count == 5,
	    "five problems, five errors (got %zu)", diag.errors);
	CHECK(diag.count == 5 && diag.item[0].line == 1 &&
	    diag.item[1].line == 2 && diag.item[2].line == 4 &&
	    diag.item[3].line == 5 && diag.item[4].line == 6,
	    "each error carries its line");
	CHECK(t.count == 5 && t.delay == 10 && t.flag == 1,
	    "bad values leave the defaults, good lines apply");
	mtasts_conf_release(tdefs, &t);

	/* Empty and NULL input. */
	memset(&t, 0, sizeof(t));
	mtasts_diag_init(&diag);
	(void)mtasts_conf_defaults(tdefs, &t, &diag);
	CHECK(mtasts_conf_apply(tdefs, &t, NULL, 0, NULL, &diag) == 0,
	    "NULL buffer is an empty file");
	/* defaults twice: what the fields own is released first (ASan) */
	CHECK(mtasts_conf_apply(tdefs, &t, "Name x\nItems a b", 16, "t",
	    &diag) == 0 && mtasts_conf_defaults(tdefs, &t, &diag) == 0 &&
	    t.name == NULL && t.items.n == 1, "defaults reset owned fields");
	mtasts_conf_release(tdefs, &t);
	mtasts_conf_release(tdefs, &t);
	CHECK(t.name == NULL && t.items.v == NULL, "release twice is safe");
}

static void
test_value_parsers(void)
{
	static const struct {
		const char	*s;
		int		 ok;
		long		 v;
	} durs[] = {
		{ "0", 1, 0 }, { "1", 1, 1 }, { "59s", 1, 59 },
		{ "2m", 1, 120 },
		{ "1h", 1, 3600 }, { "1d", 1, 86400 }, { "1w", 1, 604800 },
		{ "9223372036854775807", 1, LONG_MAX },
		{ "9223372036854775807s", 1, LONG_MAX },
		{ "9223372036854775808", 0, 0 },
		{ "153722867280912930m", 1, 153722867280912930L * 60 },
		{ "153722867280912931m", 0, 0 },
		{ "", 0, 0 }, { " 1", 0, 0 }, { "1 ", 0, 0 }, { "1y", 0, 0 },
		{ "-1", 0, 0 }, { "1sm", 0, 0 },
	};
	static const struct {
		const char	*s;
		int		 ok;
		size_t		 v;
	} sizes[] = {
		{ "0", 1, 0 }, { "512", 1, 512 }, { "64k", 1, 65536 },
		{ "1m", 1, 1048576 }, { "18446744073709551615", 1, SIZE_MAX },
		{ "18446744073709551616", 0, 0 },
		{ "18014398509481983k", 1,
		    (size_t)18014398509481983ULL * 1024 },
		{ "18014398509481984k", 0, 0 },
		{ "", 0, 0 }, { "1 k", 0, 0 }, { "1b", 0, 0 }, { "k", 0, 0 },
	};
	static const struct {
		const char	*s;
		int		 ok;
		int		 v;
	} bools[] = {
		{ "yes", 1, 1 }, { "no", 1, 0 }, { "TRUE", 1, 1 },
		{ "False", 1, 0 }, { "on", 1, 1 }, { "Off", 1, 0 },
		{ "1", 1, 1 }, { "0", 1, 0 }, { "", 0, 0 }, { "ye", 0, 0 },
		{ "yess", 0, 0 }, { "00", 0, 0 }, { "enable", 0, 0 },
	};
	size_t	i, z;
	long	l;
	int	b, rc;

	for (i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		l = -1;
		rc = mtasts_conf_parse_duration(durs[i].s, &l);
		CHECK(durs[i].ok ? rc == 0 && l == durs[i].v : rc == -1,
		    "parse_duration \"%s\"", durs[i].s);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		z = 12345;
		rc = mtasts_conf_parse_size(sizes[i].s, &z);
		CHECK(sizes[i].ok ? rc == 0 && z == sizes[i].v : rc == -1,
		    "parse_size \"%s\"", sizes[i].s);
	}
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		b = -1;
		rc = mtasts_conf_parse_bool(bools[i].s, &b);
		CHECK(bools[i].ok ? rc == 0 && b == bools[i].v : rc == -1,
		    "parse_bool \"%s\"", bools[i].s);
	}
	CHECK(mtasts_conf_parse_duration(NULL, &l) == -1 &&
	    mtasts_conf_parse_size(NULL, &z) == -1 &&
	    mtasts_conf_parse_bool(NULL, &b) == -1, "parsers refuse NULL");
}

/* ---------------------------------------------------------- daemon table */

static const struct mtasts_conf_def *
find(const char *name)
{
	const struct mtasts_conf_def	*d;

	for (d = mtasts_conf_defs; d->name != NULL; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

/* Compare two structs field by field, as the table describes them. */
static int
conf_equal(const struct mtasts_conf_def *defs, const void *a, const void *b,
    const char **which)
{
	const struct mtasts_conf_def	*d;
	const void			*pa, *pb;	/* void: aligned */
	const struct mtasts_strlist	*la, *lb;
	const char			*sa, *sb;
	size_t				 i;
	int				 eq;

	for (d = defs; d->name != NULL; d++) {
		pa = (const char *)a + d->offset;
		pb = (const char *)b + d->offset;
		switch (d->type) {
		case MTASTS_CONF_BOOL:
		case MTASTS_CONF_ENUM:
			eq = *(const int *)pa == *(const int *)pb;
			break;
		case MTASTS_CONF_INT:
		case MTASTS_CONF_DURATION:
			eq = *(const long *)pa == *(const long *)pb;
			break;
		case MTASTS_CONF_SIZE:
			eq = *(const size_t *)pa == *(const size_t *)pb;
			break;
		case MTASTS_CONF_STRING:
			sa = *(char *const *)pa;
			sb = *(char *const *)pb;
			eq = (sa == NULL && sb == NULL) || (sa != NULL &&
			    sb != NULL && strcmp(sa, sb) == 0);
			break;
		case MTASTS_CONF_LIST:
			la = pa;
			lb = pb;
			eq = la->n == lb->n;
			for (i = 0; eq && i < la->n; i++)
				eq = strcmp(la->v[i], lb->v[i]) == 0;
			break;
		default:
			eq = 0;
			break;
		}
		if (!eq) {
			*which = d->name;
			return 0;
		}
	}
	return 1;
}

static void
test_daemon_defaults(void)
{
	struct mtasts_diag		 diag;
	struct mtasts_config		*cfg;
	const struct mtasts_conf_def	*d, *e;
	int				 fac, unique = 1;
	size_t				 n = 0;

	for (d = mtasts_conf_defs; d->name != NULL; d++, n++)
		for (e = d + 1; e->name != NULL; e++)
			if (strcasecmp(d->name, e->name) == 0)
				unique = 0;
	CHECK(unique, "table: names unique ignoring case");
	CHECK(n == 50, "table: 50 parameters (got %zu)", n);

	cfg = mtasts_config_parse("", 0, "empty.conf", &diag);
	CHECK(cfg != NULL && diag.errors == 0, "empty file: defaults load");
	if (cfg == NULL) {
		printf("#   %s\n", mtasts_diag_first(&diag));
		return;
	}
	CHECK(cfg->path == NULL, "parse from memory: no path");
	CHECK(cfg->syslog == 1, "default Syslog yes");
	d = find("SyslogFacility");
	CHECK(d != NULL && d->choices != NULL &&
	    mtasts_log_facility_parse(d->choices[cfg->syslog_facility],
	    &fac) == 0 && fac == LOG_MAIL, "default SyslogFacility mail");
	CHECK(LOG_ERR + cfg->log_level == LOG_INFO, "default LogLevel info");
	CHECK(cfg->policy_max_size == 65536, "default PolicyMaxSize 64k");
	CHECK_STREQ(cfg->database,
	    LOCALSTATEDIR "/lib/mta-sts-milter/policies.db",
	    "default Database");
	CHECK(cfg->resolver_config == NULL, "default ResolverConfig unset");
	CHECK(cfg->resolver_forwarders.n == 0 &&
	    cfg->resolver_forwarders.v == NULL,
	    "default ResolverForwarders empty");
	CHECK(cfg->trust_anchor_file == NULL, "default TrustAnchorFile unset");
	CHECK(cfg->dns_timeout == 10, "default DnsTimeout 10s");
	CHECK(cfg->ca_file == NULL && cfg->ca_path == NULL,
	    "default CAFile, CAPath unset");
	CHECK(cfg->https_proxy == NULL, "default HttpsProxy unset");
	CHECK(cfg->https_connect_timeout == 10,
	    "default HttpsConnectTimeout 10s");
	CHECK(cfg->https_timeout == 60, "default HttpsTimeout 60s");
	CHECK(cfg->txt_recheck_interval == 3600,
	    "default TxtRecheckInterval 1h");
	CHECK(cfg->refresh_interval == 86400, "default RefreshInterval 1d");
	CHECK(cfg->negative_cache_time == 1800,
	    "default NegativeCacheTime 30m");
	CHECK(cfg->fetch_retry_interval == 300,
	    "default FetchRetryInterval 5m");
	CHECK(cfg->max_discoveries == 64, "default MaxDiscoveries 64");
	mtasts_config_free(cfg);
	mtasts_config_free(NULL);

	/* What SIGHUP may not change: the log target and the database. */
	CHECK(find("Database") != NULL && !find("Database")->reloadable,
	    "Database not reloadable");
	CHECK(find("Syslog") != NULL && !find("Syslog")->reloadable,
	    "Syslog not reloadable");
	CHECK(find("SyslogFacility") != NULL &&
	    !find("SyslogFacility")->reloadable,
	    "SyslogFacility not reloadable");
	CHECK(find("LogLevel") != NULL && find("LogLevel")->reloadable,
	    "LogLevel reloadable");
	CHECK(find("DnsTimeout") != NULL && find("DnsTimeout")->reloadable,
	    "DnsTimeout reloadable");
}

struct drow {
	const char	*in;
	int		 ok;
	const char	*err;
};

/* The daemon's own bounds, each on both sides. */
static const struct drow drows[] = {
	{ "DnsTimeout 1s", 1, NULL },
	{ "DnsTimeout 2m", 1, NULL },
	{ "DnsTimeout 0", 0, "d.conf:1: DnsTimeout '0' is out of range "
	    "(1s to 2m)" },
	{ "DnsTimeout 121", 0, "out of range (1s to 2m)" },
	{ "HttpsConnectTimeout 2m", 1, NULL },
	{ "HttpsConnectTimeout 3m", 0, "out of range (1s to 2m)" },
	{ "HttpsTimeout 10m", 1, NULL },
	{ "HttpsTimeout 601s", 0, "out of range (1s to 10m)" },
	{ "TxtRecheckInterval 1s", 1, NULL },
	{ "TxtRecheckInterval 1w", 1, NULL },
	{ "TxtRecheckInterval 8d", 0, "out of range (1s to 1w)" },
	{ "RefreshInterval 1m", 1, NULL },
	{ "RefreshInterval 59s", 0, "out of range (1m to 1w)" },
	{ "RefreshInterval 1w", 1, NULL },
	{ "RefreshInterval 604801", 0, "out of range (1m to 1w)" },
	{ "NegativeCacheTime 1d", 1, NULL },
	{ "NegativeCacheTime 25h", 0, "out of range (1s to 1d)" },
	{ "FetchRetryInterval 1s", 1, NULL },
	{ "FetchRetryInterval 2d", 0, "out of range (1s to 1d)" },
	{ "PolicyMaxSize 1k", 1, NULL },
	{ "PolicyMaxSize 1m", 1, NULL },
	{ "PolicyMaxSize 1023", 0, "out of range (1k to 1m)" },
	{ "PolicyMaxSize 2m", 0, "out of range (1k to 1m)" },
	{ "MaxDiscoveries 1", 1, NULL },
	{ "MaxDiscoveries 4096", 1, NULL },
	{ "MaxDiscoveries 0", 0, "out of range (1 to 4096)" },
	{ "MaxDiscoveries 4097", 0, "out of range (1 to 4096)" },
	{ "LogLevel debug", 1, NULL },
	{ "LogLevel error", 0, "is not one of err, warning, notice, info, "
	    "debug" },
	{ "SyslogFacility local7", 1, NULL },
	{ "SyslogFacility kern", 0, "is not one of mail, daemon, user" },
	{ "Syslog maybe", 0, "d.conf:1: Syslog 'maybe' is not yes or no" },
	{ "Database", 0, "d.conf:1: missing value for Database" },
	{ "Database /a\nDatabase /b", 0,
	    "d.conf:2: Database already set on line 1" },
	{ "ResolverForwarders 192.0.2.1\nResolverForwarders 2001:db8::1", 1,
	    NULL },
	{ "Foo bar", 0, "d.conf:1: unknown parameter 'Foo'" },
	{ "syslogfacility MAIL", 1, NULL },
};

static void
test_daemon_rows(void)
{
	struct mtasts_diag	 diag;
	struct mtasts_config	*cfg;
	char			 in[256];
	size_t			 i;

	for (i = 0; i < sizeof(drows) / sizeof(drows[0]); i++) {
		/* One TAP line per check: the input's newlines escaped. */
		(void)mtasts_log_escape(in, sizeof(in), drows[i].in,
		    strlen(drows[i].in));
		cfg = mtasts_config_parse(drows[i].in, strlen(drows[i].in),
		    "d.conf", &diag);
		if (drows[i].ok)
			CHECK(cfg != NULL && diag.errors == 0,
			    "daemon: \"%s\" accepted", in);
		else {
			CHECK(cfg == NULL && diag.errors == 1,
			    "daemon: \"%s\" rejected", in);
			CHECK(strstr(mtasts_diag_first(&diag), drows[i].err)
			    != NULL, "daemon: \"%s\" message", in);
			if (strstr(mtasts_diag_first(&diag), drows[i].err)
			    == NULL)
				printf("#   got \"%s\"\n",
				    mtasts_diag_first(&diag));
		}
		mtasts_config_free(cfg);
	}
}

static void
test_daemon_full(void)
{
	static const char text[] =
	    "Syslog no\n"
	    "SyslogFacility local3\n"
	    "LogLevel debug\n"
	    "PolicyMaxSize 128k\n"
	    "Database /tmp/p.db\n"
	    "ResolverConfig /etc/unbound/lab.conf\n"
	    "ResolverForwarders 127.0.0.1, ::1\n"
	    "ResolverForwarders 192.0.2.53@5353\n"
	    "TrustAnchorFile /usr/share/dns/root.key\n"
	    "DnsTimeout 5s\n"
	    "CAFile /etc/ssl/certs/ca-certificates.crt\n"
	    "CAPath /etc/ssl/certs\n"
	    "HttpsProxy http://127.0.0.1:3128\n"
	    "HttpsConnectTimeout 3s\n"
	    "HttpsTimeout 2m\n"
	    "TxtRecheckInterval 30m\n"
	    "RefreshInterval 12h\n"
	    "NegativeCacheTime 10m\n"
	    "FetchRetryInterval 15m\n"
	    "MaxDiscoveries 16\n";
	struct mtasts_diag		 diag;
	struct mtasts_config		*cfg;
	const struct mtasts_conf_def	*d;
	int				 fac;

	cfg = mtasts_config_parse(text, sizeof(text) - 1, "full.conf", &diag);
	CHECK(cfg != NULL, "every parameter set: accepted");
	if (cfg == NULL) {
		printf("#   %s\n", mtasts_diag_first(&diag));
		return;
	}
	d = find("SyslogFacility");
	CHECK(cfg->syslog == 0, "full: Syslog");
	CHECK(d != NULL && mtasts_log_facility_parse(
	    d->choices[cfg->syslog_facility], &fac) == 0 && fac == LOG_LOCAL3,
	    "full: SyslogFacility");
	CHECK(LOG_ERR + cfg->log_level == LOG_DEBUG, "full: LogLevel");
	CHECK(cfg->policy_max_size == 131072, "full: PolicyMaxSize");
	CHECK_STREQ(cfg->database, "/tmp/p.db", "full: Database");
	CHECK_STREQ(cfg->resolver_config, "/etc/unbound/lab.conf",
	    "full: ResolverConfig");
	CHECK(cfg->resolver_forwarders.n == 3 &&
	    strcmp(cfg->resolver_forwarders.v[0], "127.0.0.1") == 0 &&
	    strcmp(cfg->resolver_forwarders.v[1], "::1") == 0 &&
	    strcmp(cfg->resolver_forwarders.v[2], "192.0.2.53@5353") == 0,
	    "full: ResolverForwarders accumulate");
	CHECK_STREQ(cfg->trust_anchor_file, "/usr/share/dns/root.key",
	    "full: TrustAnchorFile");
	CHECK(cfg->dns_timeout == 5, "full: DnsTimeout");
	CHECK_STREQ(cfg->ca_file, "/etc/ssl/certs/ca-certificates.crt",
	    "full: CAFile");
	CHECK_STREQ(cfg->ca_path, "/etc/ssl/certs", "full: CAPath");
	CHECK_STREQ(cfg->https_proxy, "http://127.0.0.1:3128",
	    "full: HttpsProxy");
	CHECK(cfg->https_connect_timeout == 3, "full: HttpsConnectTimeout");
	CHECK(cfg->https_timeout == 120, "full: HttpsTimeout");
	CHECK(cfg->txt_recheck_interval == 1800, "full: TxtRecheckInterval");
	CHECK(cfg->refresh_interval == 43200, "full: RefreshInterval");
	CHECK(cfg->negative_cache_time == 600, "full: NegativeCacheTime");
	CHECK(cfg->fetch_retry_interval == 900, "full: FetchRetryInterval");
	CHECK(cfg->max_discoveries == 16, "full: MaxDiscoveries");
	mtasts_config_free(cfg);
}

/* ---------------------------------------------------------- files */

static char top[4096];

/* top_srcdir from the harness; else derived from where this file lives. */
static void
find_top(void)
{
	const char	*env = getenv("top_srcdir");
	const char	*suffix = "/tests/unit/test_config.c";
	const char	*file = __FILE__;
	size_t		 n;

	if (env != NULL && *env != '\0') {
		(void)snprintf(top, sizeof(top), "%s", env);
		return;
	}
	n = strlen(file);
	if (n > strlen(suffix) &&
	    strcmp(file + n - strlen(suffix), suffix) == 0)
		(void)snprintf(top, sizeof(top), "%.*s",
		    (int)(n - strlen(suffix)), file);
	else
		(void)snprintf(top, sizeof(top), ".");
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if ((buf = malloc(2 * 1024 * 1024)) == NULL) {
		fclose(fp);
		return NULL;
	}
	n = fread(buf, 1, 2 * 1024 * 1024 - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* A private copy (mode 0600, ours): fixtures load whatever the checkout's
 * umask made of their modes. */
static int
write_tmp(char *path, size_t pathsz, const char *buf, size_t len, mode_t mode)
{
	int	fd;

	(void)snprintf(path, pathsz, "/tmp/test_config.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		return -1;
	if ((len > 0 && write(fd, buf, len) != (ssize_t)len) ||
	    fchmod(fd, mode) == -1) {
		(void)close(fd);
		(void)unlink(path);
		return -1;
	}
	return close(fd);
}

static struct mtasts_config *
load_copy(const char *buf, size_t len, struct mtasts_diag *diag)
{
	struct mtasts_config	*cfg;
	char			 path[64];

	if (write_tmp(path, sizeof(path), buf, len, 0600) == -1) {
		mtasts_diag_init(diag);
		mtasts_diag_add(diag, 0, 0, "temporary file: %s",
		    strerror(errno));
		return NULL;
	}
	cfg = mtasts_config_load(path, diag);
	(void)unlink(path);
	return cfg;
}

static void
test_load(void)
{
	struct mtasts_diag	 diag;
	struct mtasts_config	*cfg;
	char			 path[64], want[256];
	char			*big;
	static const char	 text[] = "LogLevel debug\nMaxDiscoveries 8\n";
	static const char	 bad[] = "LogLevel debug\nMaxDiscoveries 0\n";

	if (write_tmp(path, sizeof(path), text, sizeof(text) - 1, 0600) ==
	    -1) {
		CHECK(0, "temporary file: %s", strerror(errno));
		return;
	}
	cfg = mtasts_config_load(path, &diag);
	CHECK(cfg != NULL && cfg->max_discoveries == 8 &&
	    LOG_ERR + cfg->log_level == LOG_DEBUG, "load: mode 0600 file");
	CHECK(cfg != NULL && cfg->path != NULL && strcmp(cfg->path, path) == 0,
	    "load: path recorded");
	mtasts_config_free(cfg);

	/* Group- or world-writable: refused, like OpenSMTPD's secure_file. */
	(void)snprintf(want, sizeof(want), "%s: refusing a configuration file "
	    "writable by group or others", path);
	(void)chmod(path, 0620);
	cfg = mtasts_config_load(path, &diag);
	CHECK(cfg == NULL && diag.errors == 1, "load: group-writable refused");
	CHECK_STREQ(mtasts_diag_first(&diag), want,
	    "load: group-writable message");
	(void)chmod(path, 0602);
	cfg = mtasts_config_load(path, &diag);
	CHECK(cfg == NULL, "load: world-writable refused");
	CHECK_STREQ(mtasts_diag_first(&diag), want,
	    "load: world-writable message");
	(void)chmod(path, 0644);
	cfg = mtasts_config_load(path, &diag);
	CHECK(cfg != NULL, "load: mode 0644 accepted");
	mtasts_config_free(cfg);
	(void)unlink(path);

	/* A missing file. */
	(void)snprintf(want, sizeof(want), "%s: cannot open: %s", path,
	    strerror(ENOENT));
	cfg = mtasts_config_load(path, &diag);
	CHECK(cfg == NULL && diag.errors == 1, "load: missing file refused");
	CHECK_STREQ(mtasts_diag_first(&diag), want,
	    "load: missing file message");

	cfg = mtasts_config_load("/tmp", &diag);
	CHECK(cfg == NULL && strcmp(mtasts_diag_first(&diag),
	    "/tmp: is a directory") == 0, "load: directory refused");
	cfg = mtasts_config_load(NULL, &diag);
	CHECK(cfg == NULL && diag.errors == 1, "load: NULL path refused");

	/* A bad value: "path:line: ..." */
	if (write_tmp(path, sizeof(path), bad, sizeof(bad) - 1, 0600) == 0) {
		(void)snprintf(want, sizeof(want), "%s:2: MaxDiscoveries '0' "
		    "is out of range (1 to 4096)", path);
		cfg = mtasts_config_load(path, &diag);
		CHECK(cfg == NULL && diag.errors == 1 && diag.item[0].line == 2,
		    "load: bad value refused");
		CHECK_STREQ(mtasts_diag_first(&diag), want,
		    "load: bad value message has path and line");
		(void)unlink(path);
	}

	/* 1 MiB of blank lines loads; one byte more does not. */
	if ((big = malloc(1024 * 1024 + 1)) == NULL)
		abort();
	memset(big, '\n', 1024 * 1024 + 1);
	cfg = load_copy(big, 1024 * 1024, &diag);
	CHECK(cfg != NULL, "load: 1 MiB file accepted");
	mtasts_config_free(cfg);
	cfg = load_copy(big, 1024 * 1024 + 1, &diag);
	CHECK(cfg == NULL && diag.errors == 1 &&
	    strstr(mtasts_diag_first(&diag), ": larger than 1048576 bytes")
	    != NULL, "load: file over 1 MiB refused");
	free(big);
}

/*
 * The sample is installed as it is, without configure's paths: it shows a
 * default under LOCALSTATEDIR as a build with --localstatedir=/var has it.
 */
static int
sample_string_ok(const char *defval, const char *v, size_t vlen)
{
	char	want[4096];
	size_t	plen = strlen(LOCALSTATEDIR);

	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t' ||
	    v[vlen - 1] == '\r'))
		vlen--;
	if (strncmp(defval, LOCALSTATEDIR, plen) == 0 && defval[plen] == '/')
		(void)snprintf(want, sizeof(want), "/var%s", defval + plen);
	else
		(void)snprintf(want, sizeof(want), "%s", defval);
	return strlen(want) == vlen && strncmp(want, v, vlen) == 0;
}

/*
 * The sample, as shipped (every parameter commented out), loads to the
 * defaults.  Uncommented, it must still load, each "#Name value" line must
 * name a parameter, every parameter must appear exactly once, and where a
 * parameter has a default the sample must show that default.
 */
static void
test_sample(void)
{
	struct mtasts_diag		 diag;
	struct mtasts_config		*cfg, *cfg2, *dflt;
	const struct mtasts_conf_def	*d;
	struct mtasts_config		 one;
	char				 path[4200];
	char				*buf, *p, *nl, *name;
	const char			*which = "";
	size_t				 len, n, nl_len, count[64];
	size_t				 i, ndefs = 0;
	int				 ok;

	(void)snprintf(path, sizeof(path), "%s/etc/mta-sts-milter.conf", top);
	if ((buf = slurp(path, &len)) == NULL) {
		CHECK(0, "sample %s: %s (set top_srcdir)", path,
		    strerror(errno));
		return;
	}
	cfg = load_copy(buf, len, &diag);
	dflt = mtasts_config_parse("", 0, "defaults", &diag);
	CHECK(cfg != NULL, "sample loads");
	if (cfg == NULL)
		printf("#   %s\n", mtasts_diag_first(&diag));
	CHECK(cfg != NULL && dflt != NULL &&
	    conf_equal(mtasts_conf_defs, cfg, dflt, &which),
	    "sample equals the defaults (%s)", which);
	mtasts_config_free(cfg);

	/* Uncomment "#Name value" lines that name a parameter. */
	memset(count, 0, sizeof(count));
	for (d = mtasts_conf_defs; d->name != NULL; d++)
		ndefs++;
	ok = 1;
	for (p = buf; p < buf + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			nl = buf + len;
		nl_len = (size_t)(nl - p);
		if (nl_len < 2 || p[0] != '#' || p[1] < 'A' || p[1] > 'Z')
			continue;
		name = p + 1;
		for (n = 0; n < nl_len - 1 && name[n] != ' ' &&
		    name[n] != '\t'; n++)
			;
		for (i = 0, d = mtasts_conf_defs; d->name != NULL; d++, i++)
			if (strlen(d->name) == n &&
			    strncmp(d->name, name, n) == 0)
				break;
		if (d->name == NULL) {
			printf("#   sample: \"%.*s\" is no parameter\n",
			    (int)nl_len, p);
			ok = 0;
			continue;
		}
		if (i < sizeof(count) / sizeof(count[0]))
			count[i]++;
		*p = ' ';

		/* This line alone must give the parameter its default. */
		if (d->type == MTASTS_CONF_STRING && d->defval != NULL) {
			if (!sample_string_ok(d->defval, name + n,
			    nl_len - 1 - n)) {
				printf("#   sample: \"%.*s\" is not the "
				    "default %s\n", (int)nl_len - 1, p + 1,
				    d->defval);
				ok = 0;
			}
		} else if (d->defval != NULL) {
			memset(&one, 0, sizeof(one));
			mtasts_diag_init(&diag);
			if (mtasts_conf_defaults(mtasts_conf_defs, &one,
			    &diag) == -1 || mtasts_conf_apply(mtasts_conf_defs,
			    &one, p, nl_len, "sample", &diag) == -1 ||
			    !conf_equal(mtasts_conf_defs, &one, dflt, &which)) {
				printf("#   sample: \"%.*s\" is not the "
				    "default %s\n", (int)nl_len - 1, p + 1,
				    d->defval);
				ok = 0;
			}
			mtasts_conf_release(mtasts_conf_defs, &one);
		}
	}
	CHECK(ok, "sample: every uncommented line is a parameter with its "
	    "default");
	for (i = 0, d = mtasts_conf_defs; d->name != NULL; d++, i++) {
		if (i >= sizeof(count) / sizeof(count[0]) || count[i] != 1) {
			printf("#   sample lists %s %zu times\n", d->name,
			    i < sizeof(count) / sizeof(count[0]) ? count[i] :
			    0);
			ok = 0;
		}
	}
	CHECK(ok && ndefs > 0, "sample: each parameter listed once");
	cfg2 = mtasts_config_parse(buf, len, "sample-uncommented", &diag);
	CHECK(cfg2 != NULL, "sample uncommented loads");
	if (cfg2 == NULL)
		printf("#   %s\n", mtasts_diag_first(&diag));
	mtasts_config_free(cfg2);
	mtasts_config_free(dflt);
	free(buf);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* tests/data/conf: good-*.conf load, bad-*.conf fail with one error. */
static void
test_fixtures(void)
{
	struct mtasts_diag	 diag;
	struct mtasts_config	*cfg;
	struct dirent		*de;
	DIR			*dir;
	char			 dirpath[4200], path[8400];
	char			*names[256], *buf;
	size_t			 n = 0, i, len, good = 0, bad = 0;

	(void)snprintf(dirpath, sizeof(dirpath), "%s/tests/data/conf", top);
	if ((dir = opendir(dirpath)) == NULL) {
		CHECK(0, "fixtures %s: %s", dirpath, strerror(errno));
		return;
	}
	while ((de = readdir(dir)) != NULL && n < 256) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (strncmp(de->d_name, "good-", 5) != 0 &&
		    strncmp(de->d_name, "bad-", 4) != 0)
			continue;
		if ((names[n] = strdup(de->d_name)) == NULL)
			abort();
		n++;
	}
	(void)closedir(dir);
	qsort(names, n, sizeof(names[0]), cmp_names);

	for (i = 0; i < n; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dirpath, names[i]);
		if ((buf = slurp(path, &len)) == NULL) {
			CHECK(0, "%s: %s", names[i], strerror(errno));
			free(names[i]);
			continue;
		}
		cfg = load_copy(buf, len, &diag);
		if (names[i][0] == 'g') {
			good++;
			CHECK(cfg != NULL && diag.errors == 0, "%s loads",
			    names[i]);
			if (cfg == NULL)
				printf("#   %s\n", mtasts_diag_first(&diag));
		} else {
			bad++;
			CHECK(cfg == NULL && diag.errors == 1,
			    "%s fails with one error (%zu)", names[i],
			    diag.errors);
			printf("#   %s\n", mtasts_diag_first(&diag));
		}
		mtasts_config_free(cfg);
		free(buf);
		free(names[i]);
	}
	CHECK(good >= 3 && bad >= 10, "fixtures found: %zu good, %zu bad",
	    good, bad);
}

int
main(void)
{
	find_top();
	test_generic();
	test_generic_raw();
	test_value_parsers();
	test_daemon_defaults();
	test_daemon_rows();
	test_daemon_full();
	test_load();
	test_sample();
	test_fixtures();
	return check_done();
}
