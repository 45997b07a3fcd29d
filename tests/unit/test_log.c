/*
 * test_log.c: the log module, checked on the exact text of its lines as a
 * sink captures them: the domain prefix, escaping, level filtering,
 * truncation, thread safety and the stderr format.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

#define CAP_MAX		16
#define LINE_MAX_OUT	2048	/* the bound log.c promises */

static struct {
	int	 n;
	int	 prio[CAP_MAX];
	char	*line[CAP_MAX];
} cap;

static void
cap_reset(void)
{
	int	i;

	for (i = 0; i < cap.n; i++)
		free(cap.line[i]);
	memset(&cap, 0, sizeof(cap));
}

static void
sink(int prio, const char *line, void *arg)
{
	(void)arg;
	if (cap.n >= CAP_MAX)
		return;
	cap.prio[cap.n] = prio;
	if ((cap.line[cap.n] = strdup(line)) == NULL)
		abort();
	cap.n++;
}

static const char *
last(void)
{
	return cap.n > 0 ? cap.line[cap.n - 1] : "(nothing logged)";
}

static void
test_defaults(void)
{
	/* Before any init: LOG_INFO and below, stderr only. */
	CHECK(mtasts_log_enabled(LOG_ERR), "default: err enabled");
	CHECK(mtasts_log_enabled(LOG_INFO), "default: info enabled");
	CHECK(!mtasts_log_enabled(LOG_DEBUG), "default: debug disabled");
}

/* Escaping rules, row by row; the message is passed through "%s". */
static void
test_escaping(void)
{
	static const struct {
		const char	*domain;
		const char	*msg;
		const char	*want;
		const char	*what;
	} rows[] = {
		{ "example.com", "hello world",
		    "domain=example.com hello world", "domain prefix" },
		{ NULL, "hello world", "hello world", "no domain, no prefix" },
		{ NULL, "a\nb", "a\\nb", "newline escaped" },
		{ NULL, "a\r\nb", "a\\r\\nb", "CR LF escaped" },
		{ NULL, "a\tb", "a\\tb", "tab escaped" },
		{ NULL, "a\\b", "a\\\\b", "backslash doubled" },
		{ NULL, "\x1b[31mred", "\\x1b[31mred", "ESC as \\x1b" },
		{ NULL, "del\x7f", "del\\x7f", "DEL as \\x7f" },
		{ NULL, "\x01\x1f", "\\x01\\x1f", "other controls as \\xHH" },
		{ NULL, "caf\xc3\xa9", "caf\\xc3\\xa9", "UTF-8 as \\xHH" },
		{ NULL, "~ !\"#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}",
		    "~ !\"#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}",
		    "printable ASCII untouched" },
		{ "evil\n.example", "x", "domain=evil\\n.example x",
		    "domain escaped too" },
		{ "", "x", "domain= x", "empty domain" },
	};
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cap_reset();
		mtasts_log(LOG_INFO, rows[i].domain, "%s", rows[i].msg);
		CHECK(cap.n == 1, "%s: one line", rows[i].what);
		CHECK_STREQ(last(), rows[i].want, rows[i].what);
	}

	/* A NUL produced by the format is escaped, not the end of the line. */
	cap_reset();
	mtasts_log(LOG_INFO, NULL, "a%cb", 0);
	CHECK_STREQ(last(), "a\\x00b", "%c of 0 escaped as \\x00");

	cap_reset();
	mtasts_log(LOG_WARNING, "d.example", "n=%d s=%s", 42, "ok");
	CHECK_STREQ(last(), "domain=d.example n=42 s=ok", "format arguments");
	CHECK(cap.prio[0] == LOG_WARNING, "sink receives the priority");
}

static void
test_escape_fn(void)
{
	char	buf[16];
	size_t	n;

	n = mtasts_log_escape(buf, sizeof(buf), "a\nb", 3);
	CHECK(n == 4 && strcmp(buf, "a\\nb") == 0, "escape: a\\nb");

	/* Room for "a" and NUL but not for "\n": never half an escape. */
	n = mtasts_log_escape(buf, 3, "a\nb", 3);
	CHECK(n == 1 && strcmp(buf, "a") == 0, "escape: cut before \\n");

	n = mtasts_log_escape(buf, 4, "\x1b", 1);
	CHECK(n == 0 && buf[0] == '\0', "escape: \\x1b needs 5 bytes");
	n = mtasts_log_escape(buf, 5, "\x1b", 1);
	CHECK(n == 4 && strcmp(buf, "\\x1b") == 0, "escape: \\x1b fits in 5");

	n = mtasts_log_escape(buf, sizeof(buf), "a\0b", 3);
	CHECK(n == 6 && strcmp(buf, "a\\x00b") == 0, "escape: embedded NUL");

	buf[0] = 'z';
	n = mtasts_log_escape(buf, 0, "abc", 3);
	CHECK(n == 0 && buf[0] == 'z', "escape: dstsz 0 writes nothing");

	n = mtasts_log_escape(buf, 1, "abc", 3);
	CHECK(n == 0 && buf[0] == '\0', "escape: dstsz 1 gives empty string");

	n = mtasts_log_escape(buf, sizeof(buf), "", 0);
	CHECK(n == 0 && buf[0] == '\0', "escape: empty input");
}

static void
test_levels(void)
{
	mtasts_log_setlevel(LOG_NOTICE);
	cap_reset();
	mtasts_log(LOG_INFO, NULL, "info");
	mtasts_log(LOG_DEBUG, NULL, "debug");
	CHECK(cap.n == 0, "level notice: info and debug dropped");
	mtasts_log(LOG_NOTICE, NULL, "notice");
	mtasts_log(LOG_WARNING, NULL, "warning");
	mtasts_log(LOG_ERR, NULL, "err");
	CHECK(cap.n == 3, "level notice: notice, warning, err kept");
	CHECK(!mtasts_log_enabled(LOG_INFO), "level notice: info disabled");
	CHECK(mtasts_log_enabled(LOG_NOTICE), "level notice: notice enabled");

	mtasts_log_setlevel(LOG_DEBUG);
	cap_reset();
	mtasts_log(LOG_DEBUG, "x.example", "why");
	CHECK_STREQ(last(), "domain=x.example why", "level debug: debug kept");
	CHECK(mtasts_log_enabled(LOG_DEBUG), "level debug: enabled");

	/* Out of range levels are clamped to what an operator can choose. */
	mtasts_log_setlevel(99);
	CHECK(mtasts_log_enabled(LOG_DEBUG), "setlevel 99 clamps to debug");
	mtasts_log_setlevel(0);
	CHECK(mtasts_log_enabled(LOG_ERR) && !mtasts_log_enabled(LOG_WARNING),
	    "setlevel 0 clamps to err");
	mtasts_log_setlevel(LOG_INFO);
}

static void
test_names(void)
{
	static const struct {
		const char	*name;
		int		 ok;
		int		 level;
	} levels[] = {
		{ "err", 1, LOG_ERR },
		{ "error", 1, LOG_ERR },
		{ "ERR", 1, LOG_ERR },
		{ "warning", 1, LOG_WARNING },
		{ "notice", 1, LOG_NOTICE },
		{ "info", 1, LOG_INFO },
		{ "Debug", 1, LOG_DEBUG },
		{ "emerg", 0, 0 },
		{ "warn", 0, 0 },
		{ "", 0, 0 },
		{ "info ", 0, 0 },
	};
	static const struct {
		const char	*name;
		int		 ok;
		int		 facility;
	} facs[] = {
		{ "mail", 1, LOG_MAIL },
		{ "MAIL", 1, LOG_MAIL },
		{ "daemon", 1, LOG_DAEMON },
		{ "user", 1, LOG_USER },
		{ "local0", 1, LOG_LOCAL0 },
		{ "local7", 1, LOG_LOCAL7 },
		{ "local8", 0, 0 },
		{ "kern", 0, 0 },
		{ "", 0, 0 },
	};
	size_t	i;
	int	v, rc;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		v = -1;
		rc = mtasts_log_level_parse(levels[i].name, &v);
		CHECK(levels[i].ok ? rc == 0 && v == levels[i].level : rc == -1,
		    "level_parse \"%s\"", levels[i].name);
	}
	for (i = 0; i < sizeof(facs) / sizeof(facs[0]); i++) {
		v = -1;
		rc = mtasts_log_facility_parse(facs[i].name, &v);
		CHECK(facs[i].ok ? rc == 0 && v == facs[i].facility : rc == -1,
		    "facility_parse \"%s\"", facs[i].name);
	}
	CHECK_STREQ(mtasts_log_level_str(LOG_ERR), "err", "level_str err");
	CHECK_STREQ(mtasts_log_level_str(LOG_WARNING), "warning",
	    "level_str warning");
	CHECK_STREQ(mtasts_log_level_str(LOG_NOTICE), "notice",
	    "level_str notice");
	CHECK_STREQ(mtasts_log_level_str(LOG_INFO), "info", "level_str info");
	CHECK_STREQ(mtasts_log_level_str(LOG_DEBUG), "debug",
	    "level_str debug");
	CHECK(mtasts_log_level_str(LOG_MAIL | LOG_INFO) != NULL,
	    "level_str with a facility never NULL");
}

static void
test_truncation(void)
{
	char	*msg;
	size_t	 len;

	if ((msg = malloc(5001)) == NULL)
		abort();

	/* Exactly at the bound: kept whole. */
	memset(msg, 'a', LINE_MAX_OUT);
	msg[LINE_MAX_OUT] = '\0';
	cap_reset();
	mtasts_log(LOG_INFO, NULL, "%s", msg);
	CHECK(strlen(last()) == LINE_MAX_OUT && strcmp(last(), msg) == 0,
	    "2048 bytes: kept whole");

	/* One byte more: cut, ending in "...", still 2048 bytes. */
	memset(msg, 'a', LINE_MAX_OUT + 1);
	msg[LINE_MAX_OUT + 1] = '\0';
	cap_reset();
	mtasts_log(LOG_INFO, NULL, "%s", msg);
	len = strlen(last());
	CHECK(len == LINE_MAX_OUT, "2049 bytes: cut to 2048 (got %zu)", len);
	CHECK(len >= 3 && strcmp(last() + len - 3, "...") == 0,
	    "2049 bytes: ends in ...");

	memset(msg, 'a', 5000);
	msg[5000] = '\0';
	cap_reset();
	mtasts_log(LOG_INFO, "long.example", "%s", msg);
	len = strlen(last());
	CHECK(len == LINE_MAX_OUT && strncmp(last(), "domain=long.example aaa",
	    23) == 0 && strcmp(last() + len - 3, "...") == 0,
	    "5000 bytes with domain: prefix kept, cut with ...");

	/* Escapes grow the line: cut on an escape boundary. */
	memset(msg, '\x01', 1000);
	msg[1000] = '\0';
	cap_reset();
	mtasts_log(LOG_INFO, NULL, "%s", msg);
	len = strlen(last());
	CHECK(len <= LINE_MAX_OUT && len > LINE_MAX_OUT - 8,
	    "escaped overflow: close to the bound (got %zu)", len);
	CHECK(len >= 3 && strcmp(last() + len - 3, "...") == 0 &&
	    (len - 3) % 4 == 0 && strncmp(last() + len - 7, "\\x01", 4) == 0,
	    "escaped overflow: whole \\x01 before ...");

	/* An escaped line that just fits the bound is not cut. */
	memset(msg, 'a', LINE_MAX_OUT - 2);
	msg[LINE_MAX_OUT - 2] = '\n';
	msg[LINE_MAX_OUT - 1] = '\0';
	cap_reset();
	mtasts_log(LOG_INFO, NULL, "%s", msg);
	len = strlen(last());
	CHECK(len == LINE_MAX_OUT && strcmp(last() + len - 2, "\\n") == 0,
	    "escape ending exactly at the bound kept");

	/* A huge domain alone overflows the line. */
	memset(msg, 'd', 3000);
	msg[3000] = '\0';
	cap_reset();
	mtasts_log(LOG_INFO, msg, "tail");
	len = strlen(last());
	CHECK(len == LINE_MAX_OUT && strcmp(last() + len - 3, "...") == 0 &&
	    strstr(last(), "tail") == NULL, "oversized domain cut with ...");
	free(msg);
}

#define THREADS		8
#define PER_THREAD	2000

static struct {
	long	lines;
	long	bad;
} tally;

/* The log module serialises sink calls; no lock of our own needed here. */
static void
count_sink(int prio, const char *line, void *arg)
{
	(void)prio;
	(void)arg;
	tally.lines++;
	if (strncmp(line, "domain=t", 8) != 0 || strstr(line, " n=") == NULL)
		tally.bad++;
}

static void *
worker(void *arg)
{
	long	id = (long)arg;
	int	i;

	for (i = 0; i < PER_THREAD; i++)
		mtasts_log(LOG_INFO, "t.example", "thread=%ld n=%d", id, i);
	return NULL;
}

static void
test_threads(void)
{
	pthread_t	t[THREADS];
	long		i;
	int		started = 0;

	mtasts_log_set_sink(count_sink, NULL);
	for (i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) == 0)
			started++;
	for (i = 0; i < started; i++)
		(void)pthread_join(t[i], NULL);
	CHECK(started == THREADS, "threads started");
	CHECK(tally.lines == (long)started * PER_THREAD,
	    "threads: every line delivered (%ld)", tally.lines);
	CHECK(tally.bad == 0, "threads: no mangled line");
	mtasts_log_set_sink(sink, NULL);
}

/* stderr: "ident: level: line\n", checked through a redirected fd 2. */
static void
test_stderr(void)
{
	struct mtasts_log_setup	 setup;
	char			 path[] = "/tmp/test_log.XXXXXX";
	char			 buf[512];
	ssize_t			 n;
	int			 fd, saved;

	if ((fd = mkstemp(path)) == -1 || (saved = dup(STDERR_FILENO)) == -1) {
		CHECK(0, "stderr: temporary file: %s", strerror(errno));
		return;
	}
	(void)unlink(path);
	if (dup2(fd, STDERR_FILENO) == -1) {
		CHECK(0, "stderr: dup2: %s", strerror(errno));
		return;
	}

	memset(&setup, 0, sizeof(setup));
	setup.ident = "test-log";
	setup.use_stderr = 1;
	setup.level = LOG_INFO;
	mtasts_log_init(&setup);
	mtasts_log_set_sink(NULL, NULL);
	mtasts_log(LOG_WARNING, "s.example", "cache unwritable\x1b");
	mtasts_log(LOG_INFO, NULL, "plain");
	mtasts_log(LOG_DEBUG, NULL, "hidden");

	/* A zeroed setup means the defaults: ident mta-sts, level info. */
	memset(&setup, 0, sizeof(setup));
	setup.use_stderr = 1;
	mtasts_log_init(&setup);
	mtasts_log(LOG_ERR, NULL, "boom");
	mtasts_log(LOG_DEBUG, NULL, "hidden");

	(void)dup2(saved, STDERR_FILENO);
	(void)close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	(void)close(fd);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_STREQ(buf,
	    "test-log: warning: domain=s.example cache unwritable\\x1b\n"
	    "test-log: info: plain\n"
	    "mta-sts: err: boom\n", "stderr lines");
	mtasts_log_set_sink(sink, NULL);
}

int
main(void)
{
	test_defaults();
	mtasts_log_set_sink(sink, NULL);
	test_escaping();
	test_escape_fn();
	test_levels();
	test_names();
	test_truncation();
	test_threads();
	test_stderr();
	mtasts_log_set_sink(NULL, NULL);
	cap_reset();
	return check_done();
}
