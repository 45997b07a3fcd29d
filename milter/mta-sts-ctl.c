/*
 * mta-sts-ctl.c: the operator's command line (mta-sts-ctl(1)).
 *
 * A thin front end: every decision about records, policies and MX names is
 * the engine's (common/); this file only reads arguments and files, calls
 * the engine, and prints the verdict for a person or, with --json, for a
 * program.  The JSON layout is an interface that scripts depend on: it is
 * documented in the manual page, and a change there is a change here.
 *
 * Commands live in one table; each gets the arguments from its own name
 * on, parses its own options and returns the exit status.  Options that
 * apply to every command (a configuration file, later) are read in main()
 * before the command name.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "jsonw.h"
#include "log.h"
#include "mxmatch.h"
#include "policy.h"
#include "status.h"
#include "txt.h"

#define PROGNAME	"mta-sts-ctl"

/* Exit statuses, as mta-sts-ctl(1) documents them. */
#define EXIT_YES	0	/* valid, policy found, match */
#define EXIT_NO		1	/* invalid, no policy, no match */
#define EXIT_TROUBLE	2	/* usage, I/O or internal error */

/* --max-size is bounded so that a typing slip cannot ask for gigabytes. */
#define MAX_SIZE_LIMIT	(1024UL * 1024 * 1024)

/* Escaping a byte never takes more than a few characters; 16 is ample. */
#define ESC_CHUNK	64
#define ESC_ROOM	(ESC_CHUNK * 16 + 1)

struct command {
	const char	*name;
	int		(*fn)(const struct command *, int, char **);
	const char	*args;		/* synopsis after the name */
	const char	*summary;
};

static int	cmd_lint_txt(const struct command *, int, char **);
static int	cmd_lint_policy(const struct command *, int, char **);
static int	cmd_match_mx(const struct command *, int, char **);

static const struct command commands[] = {
	{ "lint-txt", cmd_lint_txt, "[--json] record ...",
	    "check _mta-sts TXT records and the set they form" },
	{ "lint-policy", cmd_lint_policy,
	    "[--json] [--content-type type] [--max-size bytes] file | -",
	    "check a policy file" },
	{ "match-mx", cmd_match_mx, "pattern host",
	    "test an MX host name against a policy mx pattern" },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

/* ---------------------------------------------------------------- output */

/*
 * Print untrusted text for a terminal: records, policy lines and file
 * names may carry escape sequences that would otherwise reach it.
 */
static void
put_esc(FILE *fp, const char *s, size_t len)
{
	char	 out[ESC_ROOM];
	size_t	 n;

	while (len > 0) {
		n = len < ESC_CHUNK ? len : ESC_CHUNK;
		(void)mtasts_log_escape(out, sizeof(out), s, n);
		(void)fputs(out, fp);
		s += n;
		len -= n;
	}
}

static void
put_escs(FILE *fp, const char *s)
{
	put_esc(fp, s, strlen(s));
}

/*
 * The engine's diagnostics quote input already escaped ("\xc3"); print
 * them without doubling those backslashes, while any raw control byte that
 * slipped into one is still neutralised.
 */
static void
put_diag(FILE *fp, const char *s)
{
	const char	*bs;

	while ((bs = strchr(s, '\\')) != NULL) {
		put_esc(fp, s, (size_t)(bs - s));
		(void)fputc('\\', fp);
		s = bs + 1;
	}
	put_escs(fp, s);
}

static void
usage_of(FILE *fp, const struct command *c, const char *lead)
{
	(void)fprintf(fp, "%s%s %s %s\n", lead, PROGNAME, c->name, c->args);
}

static void
usage(FILE *fp)
{
	size_t	 i;

	(void)fprintf(fp, "usage: %s [-hV] command [argument ...]\n",
	    PROGNAME);
	for (i = 0; i < NCOMMANDS; i++)
		usage_of(fp, &commands[i], "       ");
	if (fp == stdout) {
		(void)fputs("\ncommands:\n", fp);
		for (i = 0; i < NCOMMANDS; i++)
			(void)fprintf(fp, "  %-12s %s\n", commands[i].name,
			    commands[i].summary);
	}
}

static int
usage_error(const struct command *c, const char *msg, const char *arg)
{
	(void)fprintf(stderr, "%s: ", PROGNAME);
	if (c != NULL)
		(void)fprintf(stderr, "%s: ", c->name);
	(void)fputs(msg, stderr);
	if (arg != NULL)
		put_escs(stderr, arg);
	(void)fputc('\n', stderr);
	if (c != NULL)
		usage_of(stderr, c, "usage: ");
	else
		usage(stderr);
	return EXIT_TROUBLE;
}

static int
trouble(const char *what, const char *detail)
{
	(void)fprintf(stderr, "%s: ", PROGNAME);
	put_escs(stderr, what);
	(void)fprintf(stderr, ": %s\n", detail);
	return EXIT_TROUBLE;
}

/* Print a finished JSON document, or fail if the writer went wrong. */
static int
json_print(struct mtasts_jsonw *w, int rc)
{
	const char	*doc;

	if ((doc = mtasts_jsonw_finish(w)) == NULL) {
		mtasts_jsonw_free(w);
		return trouble("json", "cannot build the output");
	}
	(void)printf("%s\n", doc);
	mtasts_jsonw_free(w);
	return rc;
}

/* "604800" becomes "7d", "90061" "1d1h1m1s"; 0 is "0s". */
static void
human_duration(unsigned long secs, char *out, size_t outsz)
{
	static const struct {
		unsigned long	 size;
		char		 unit;
	} units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	struct mtasts_buf	 b;
	size_t			 i;

	mtasts_buf_init(&b, outsz - 1);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (secs >= units[i].size) {
			(void)mtasts_buf_printf(&b, "%lu%c",
			    secs / units[i].size, units[i].unit);
			secs %= units[i].size;
		}
	}
	(void)snprintf(out, outsz, "%s", b.len > 0 ? b.data : "0s");
	mtasts_buf_free(&b);
}

/* ---------------------------------------------------------------- options */

enum {
	OPT_JSON = 256,
	OPT_CONTENT_TYPE,
	OPT_MAX_SIZE
};

/*
 * Report what getopt_long refused: ch is '?' for an unknown option, ':'
 * for a missing argument.  A short option is named by optopt, since in a
 * cluster such as "-xy" optind has not moved past it yet; for a long one
 * optopt is 0 (unknown) or our OPT_ value, and argv[optind - 1] names it.
 */
static int
bad_option(const struct command *c, int ch, char **argv)
{
	char	 o[3] = { '-', (char)optopt, '\0' };
	int	 isshort = optopt > 0 && optopt < 256;

	return usage_error(c, ch == ':' ? "option needs an argument: " :
	    "unknown option ", isshort ? o : argv[optind - 1]);
}

/*
 * getopt_long over one command's arguments; argv[0] is the command name.
 * Returns the option, -1 at the end, or '?' after printing the problem.
 */
static int
next_opt(const struct command *c, int argc, char **argv,
    const struct option *longopts)
{
	int	 ch;

	opterr = 0;
	ch = getopt_long(argc, argv, ":h", longopts, NULL);
	if (ch == '?' || ch == ':') {
		(void)bad_option(c, ch, argv);
		ch = '?';
	}
	return ch;
}

/* Start option parsing for a command; glibc and the BSDs reset on 0. */
static void
opt_reset(void)
{
	optind = 0;
}

/* Decimal digits only, 1 .. MAX_SIZE_LIMIT. */
static int
parse_size(const char *s, size_t *out)
{
	unsigned long	 v = 0;
	const char	*p;

	if (*s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > MAX_SIZE_LIMIT)
			return -1;
	}
	if (v == 0)
		return -1;
	*out = v;
	return 0;
}

/* ---------------------------------------------------------------- lint-txt */

/* A record's verdict; the names are the JSON values. */
enum txt_verdict {
	TXT_VALID,
	TXT_NOT_STS,
	TXT_INVALID
};
static const char *const txt_verdict_names[] = {
	"valid", "not-sts", "invalid"
};

struct txt_result {
	enum txt_verdict	 verdict;
	struct mtasts_txt	 txt;
	struct mtasts_diag	 diag;
};

static void
txt_check(const char *rec, struct txt_result *r)
{
	enum mtasts_status	 st;

	mtasts_diag_init(&r->diag);
	memset(&r->txt, 0, sizeof(r->txt));
	st = mtasts_txt_parse(rec, strlen(rec), &r->txt, &r->diag);
	switch (st) {
	case MTASTS_OK:
		r->verdict = TXT_VALID;
		break;
	case MTASTS_NOPOLICY:
		r->verdict = TXT_NOT_STS;
		break;
	default:
		/* The parser allocates nothing, so only INVALID is left. */
		r->verdict = TXT_INVALID;
		if (r->diag.errors == 0)
			mtasts_diag_add(&r->diag, 0, 0, "%s",
			    mtasts_status_str(st));
		break;
	}
}

/* The diag's first error, or NULL when it holds none. */
static const char *
diag_reason(const struct mtasts_diag *d)
{
	const char	*s = mtasts_diag_first(d);

	return *s != '\0' ? s : NULL;
}

static void
txt_human_record(size_t n, const char *rec, const struct txt_result *r)
{
	const char	*reason = diag_reason(&r->diag);
	size_t		 i;

	(void)printf("record %zu: \"", n);
	put_escs(stdout, rec);
	(void)fputs("\"\n", stdout);
	switch (r->verdict) {
	case TXT_VALID:
		(void)fputs("  valid, id ", stdout);
		put_escs(stdout, r->txt.id);
		break;
	case TXT_NOT_STS:
		/* The verdict says it all for a record of another kind. */
		(void)fputs("  not an STSv1 record", stdout);
		break;
	case TXT_INVALID:
		(void)fputs("  invalid", stdout);
		if (reason != NULL) {
			(void)fputs(": ", stdout);
			put_diag(stdout, reason);
		}
		break;
	}
	(void)fputc('\n', stdout);
	for (i = 0; i < r->diag.count; i++) {
		if (!r->diag.item[i].warning)
			continue;
		(void)fputs("  warning: ", stdout);
		put_diag(stdout, r->diag.item[i].text);
		(void)fputc('\n', stdout);
	}
}

static void
txt_json_record(struct mtasts_jsonw *w, const char *rec,
    const struct txt_result *r)
{
	size_t	 i;
	int	 valid = r->verdict == TXT_VALID;

	mtasts_jsonw_object_begin(w, NULL);
	mtasts_jsonw_string(w, "record", rec);
	mtasts_jsonw_string(w, "verdict", txt_verdict_names[r->verdict]);
	mtasts_jsonw_string(w, "id", valid ? r->txt.id : NULL);
	mtasts_jsonw_string(w, "reason", valid ? NULL : diag_reason(&r->diag));
	mtasts_jsonw_array_begin(w, "warnings");
	for (i = 0; i < r->diag.count; i++)
		if (r->diag.item[i].warning)
			mtasts_jsonw_string(w, NULL, r->diag.item[i].text);
	mtasts_jsonw_array_end(w);
	mtasts_jsonw_object_end(w);
}

/* Run the RFC's selection over the whole set, as DNS would return it. */
static enum mtasts_status
txt_select_all(int nrec, char **recs, struct mtasts_txt *txt,
    struct mtasts_diag *diag)
{
	enum mtasts_status	 st;
	size_t			*lens;
	int			 i;

	mtasts_diag_init(diag);
	memset(txt, 0, sizeof(*txt));
	if ((lens = calloc((size_t)nrec, sizeof(*lens))) == NULL)
		return MTASTS_INTERNAL;
	for (i = 0; i < nrec; i++)
		lens[i] = strlen(recs[i]);
	st = mtasts_txt_select((const char *const *)recs, lens, (size_t)nrec,
	    txt, diag);
	free(lens);
	return st;
}

static int
cmd_lint_txt(const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mtasts_jsonw	 w;
	struct txt_result	 r;
	struct mtasts_txt	 sel;
	struct mtasts_diag	 diag;
	enum mtasts_status	 st;
	const char		*reason;
	int			 ch, json = 0, i, rc;

	opt_reset();
	while ((ch = next_opt(c, argc, argv, longopts)) != -1) {
		switch (ch) {
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			usage_of(stdout, c, "usage: ");
			return EXIT_YES;
		default:
			return EXIT_TROUBLE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_error(c, "no record given", NULL);

	st = txt_select_all(argc, argv, &sel, &diag);
	if (st == MTASTS_INTERNAL || st == MTASTS_TEMPFAIL)
		return trouble("lint-txt", mtasts_status_str(st));
	rc = st == MTASTS_OK ? EXIT_YES : EXIT_NO;
	reason = diag_reason(&diag);
	if (rc == EXIT_NO && reason == NULL)
		reason = mtasts_status_str(st);

	if (json) {
		mtasts_jsonw_init(&w);
		mtasts_jsonw_object_begin(&w, NULL);
		mtasts_jsonw_array_begin(&w, "records");
	}
	for (i = 0; i < argc; i++) {
		txt_check(argv[i], &r);
		if (json)
			txt_json_record(&w, argv[i], &r);
		else
			txt_human_record((size_t)i + 1, argv[i], &r);
	}
	if (json) {
		mtasts_jsonw_array_end(&w);
		mtasts_jsonw_string(&w, "verdict",
		    rc == EXIT_YES ? "policy" : "no-policy");
		mtasts_jsonw_string(&w, "id", rc == EXIT_YES ? sel.id : NULL);
		mtasts_jsonw_string(&w, "reason", rc == EXIT_YES ? NULL : reason);
		mtasts_jsonw_object_end(&w);
		return json_print(&w, rc);
	}
	if (rc == EXIT_YES) {
		(void)fputs("policy id ", stdout);
		put_escs(stdout, sel.id);
	} else {
		(void)fputs("no policy available: ", stdout);
		put_diag(stdout, reason);
	}
	(void)fputc('\n', stdout);
	return rc;
}

/* ---------------------------------------------------------------- lint-policy */

/*
 * Read at most limit bytes of path ("-" for standard input) into b, whose
 * cap is limit.  Reading one byte more than the policy may hold is how an
 * oversize body is noticed without reading all of it.  Returns 0, or -1
 * with errno set.
 */
static int
read_bounded(const char *path, size_t limit, struct mtasts_buf *b)
{
	char	 chunk[8192];
	size_t	 want;
	ssize_t	 n = 0;
	int	 fd, saved;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;

	while (b->len < limit) {
		want = limit - b->len;
		if (want > sizeof(chunk))
			want = sizeof(chunk);
		n = read(fd, chunk, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (mtasts_buf_add(b, chunk, (size_t)n) == -1) {
			errno = ENOMEM;
			n = -1;
			break;
		}
	}
	saved = errno;
	if (fd != STDIN_FILENO && close(fd) == -1 && n != -1) {
		saved = errno;
		n = -1;
	}
	errno = saved;
	return n == -1 ? -1 : 0;
}

struct policy_lint {
	const char		*file;		/* as given; "-" is stdin */
	const char		*ctype;		/* --content-type, or NULL */
	int			 ctype_bad;
	enum mtasts_status	 st;
	struct mtasts_policy	 pol;
	struct mtasts_diag	 diag;
};

static int
policy_valid(const struct policy_lint *pl)
{
	return pl->st == MTASTS_OK && !pl->ctype_bad;
}

/* Prefix of a problem line: "file:line: " as compilers print it. */
static void
policy_human_where(const struct policy_lint *pl, unsigned int line)
{
	if (strcmp(pl->file, "-") == 0)
		(void)fputs("<stdin>", stdout);
	else
		put_escs(stdout, pl->file);
	if (line > 0)
		(void)printf(":%u", line);
	(void)fputs(": ", stdout);
}

static void
policy_human(const struct policy_lint *pl)
{
	const struct mtasts_diag_item	*it;
	char				 dur[64];
	size_t				 i;

	if (pl->ctype_bad) {
		policy_human_where(pl, 0);
		(void)fputs("error: media type ", stdout);
		put_escs(stdout, pl->ctype);
		(void)fputs(" is not text/plain\n", stdout);
	}
	for (i = 0; i < pl->diag.count; i++) {
		it = &pl->diag.item[i];
		policy_human_where(pl, it->line);
		(void)fputs(it->warning ? "warning: " : "error: ", stdout);
		put_diag(stdout, it->text);
		(void)fputc('\n', stdout);
	}
	if (pl->diag.dropped > 0) {
		policy_human_where(pl, 0);
		(void)printf("%zu more problems not shown\n",
		    pl->diag.dropped);
	}
	if (pl->st == MTASTS_OK) {
		human_duration(pl->pol.max_age, dur, sizeof(dur));
		(void)printf("mode: %s\nmax_age: %lu (%s)\n",
		    mtasts_mode_str(pl->pol.mode), pl->pol.max_age, dur);
		for (i = 0; i < pl->pol.nmx; i++) {
			(void)fputs("mx: ", stdout);
			put_escs(stdout, pl->pol.mx[i]);
			(void)fputc('\n', stdout);
		}
	}
	(void)printf("verdict: %s\n", policy_valid(pl) ? "valid" : "invalid");
}

static void
policy_json_problems(struct mtasts_jsonw *w, const struct policy_lint *pl,
    int warnings)
{
	const struct mtasts_diag_item	*it;
	struct mtasts_buf		 b;
	size_t				 i;

	mtasts_jsonw_array_begin(w, warnings ? "warnings" : "errors");
	if (!warnings && pl->ctype_bad) {
		mtasts_buf_init(&b, 4096);
		(void)mtasts_buf_printf(&b, "media type %s is not text/plain",
		    pl->ctype);
		mtasts_jsonw_object_begin(w, NULL);
		mtasts_jsonw_null(w, "line");
		mtasts_jsonw_string(w, "text", b.toobig || b.nomem ?
		    "media type is not text/plain" : b.data);
		mtasts_jsonw_object_end(w);
		mtasts_buf_free(&b);
	}
	for (i = 0; i < pl->diag.count; i++) {
		it = &pl->diag.item[i];
		if (!it->warning != !warnings)
			continue;
		mtasts_jsonw_object_begin(w, NULL);
		if (it->line > 0)
			mtasts_jsonw_int(w, "line", it->line);
		else
			mtasts_jsonw_null(w, "line");
		mtasts_jsonw_string(w, "text", it->text);
		mtasts_jsonw_object_end(w);
	}
	mtasts_jsonw_array_end(w);
}

static int
policy_json(const struct policy_lint *pl)
{
	struct mtasts_jsonw	 w;
	int			 parsed = pl->st == MTASTS_OK;
	size_t			 i;

	mtasts_jsonw_init(&w);
	mtasts_jsonw_object_begin(&w, NULL);
	mtasts_jsonw_string(&w, "file", pl->file);
	mtasts_jsonw_string(&w, "verdict",
	    policy_valid(pl) ? "valid" : "invalid");
	mtasts_jsonw_string(&w, "content_type", pl->ctype);
	if (parsed) {
		mtasts_jsonw_string(&w, "mode", mtasts_mode_str(pl->pol.mode));
		mtasts_jsonw_int(&w, "max_age", (long long)pl->pol.max_age);
		mtasts_jsonw_array_begin(&w, "mx");
		for (i = 0; i < pl->pol.nmx; i++)
			mtasts_jsonw_string(&w, NULL, pl->pol.mx[i]);
		mtasts_jsonw_array_end(&w);
	} else {
		mtasts_jsonw_null(&w, "mode");
		mtasts_jsonw_null(&w, "max_age");
		mtasts_jsonw_null(&w, "mx");
	}
	policy_json_problems(&w, pl, 0);
	policy_json_problems(&w, pl, 1);
	mtasts_jsonw_int(&w, "omitted", (long long)pl->diag.dropped);
	mtasts_jsonw_object_end(&w);
	return json_print(&w, policy_valid(pl) ? EXIT_YES : EXIT_NO);
}

static int
cmd_lint_policy(const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "content-type", required_argument, NULL, OPT_CONTENT_TYPE },
		{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct policy_lint	 pl;
	struct mtasts_buf	 body;
	size_t			 maxsize = MTASTS_POLICY_SIZE_DEFAULT;
	int			 ch, json = 0, rc;

	memset(&pl, 0, sizeof(pl));
	opt_reset();
	while ((ch = next_opt(c, argc, argv, longopts)) != -1) {
		switch (ch) {
		case OPT_JSON:
			json = 1;
			break;
		case OPT_CONTENT_TYPE:
			pl.ctype = optarg;
			break;
		case OPT_MAX_SIZE:
			if (parse_size(optarg, &maxsize) == -1)
				return usage_error(c, "--max-size wants "
				    "a number of bytes from 1 to 1073741824: ",
				    optarg);
			break;
		case 'h':
			usage_of(stdout, c, "usage: ");
			return EXIT_YES;
		default:
			return EXIT_TROUBLE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_error(c, argc < 1 ? "no file given" :
		    "only one file at a time", NULL);
	pl.file = argv[0];

	mtasts_buf_init(&body, maxsize + 1);
	if (read_bounded(pl.file, maxsize + 1, &body) == -1) {
		rc = errno;
		mtasts_buf_free(&body);
		return trouble(strcmp(pl.file, "-") == 0 ? "<stdin>" : pl.file,
		    strerror(rc));
	}

	mtasts_diag_init(&pl.diag);
	pl.st = mtasts_policy_parse(body.data != NULL ? body.data : "",
	    body.len, maxsize, &pl.pol, &pl.diag);
	mtasts_buf_free(&body);
	if (pl.st == MTASTS_INTERNAL || pl.st == MTASTS_TEMPFAIL ||
	    pl.st == MTASTS_NOPOLICY) {
		mtasts_policy_clear(&pl.pol);
		return trouble(pl.file, mtasts_status_str(pl.st));
	}
	pl.ctype_bad = pl.ctype != NULL && !mtasts_media_type_ok(pl.ctype);

	if (json)
		rc = policy_json(&pl);
	else {
		policy_human(&pl);
		rc = policy_valid(&pl) ? EXIT_YES : EXIT_NO;
	}
	mtasts_policy_clear(&pl.pol);
	return rc;
}

/* ---------------------------------------------------------------- match-mx */

static int
cmd_match_mx(const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mtasts_diag	 diag;
	const char		*why;
	int			 ch, match;

	opt_reset();
	while ((ch = next_opt(c, argc, argv, longopts)) != -1) {
		switch (ch) {
		case 'h':
			usage_of(stdout, c, "usage: ");
			return EXIT_YES;
		default:
			return EXIT_TROUBLE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		return usage_error(c, "wants a pattern and a host name", NULL);

	mtasts_diag_init(&diag);
	if (!mtasts_mx_pattern_valid(argv[0], strlen(argv[0]), &diag)) {
		(void)fprintf(stderr, "%s: warning: ", PROGNAME);
		put_escs(stderr, argv[0]);
		(void)fputs(" is not a valid policy mx pattern", stderr);
		if ((why = diag_reason(&diag)) != NULL) {
			(void)fputs(": ", stderr);
			put_diag(stderr, why);
		}
		(void)fputc('\n', stderr);
	}
	match = mtasts_mx_match(argv[0], argv[1]);
	(void)puts(match ? "match" : "no match");
	return match ? EXIT_YES : EXIT_NO;
}

/* ---------------------------------------------------------------- main */

static const struct command *
find_command(const char *name)
{
	size_t	 i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* A failed write to stdout must not pass for success. */
static int
flush_stdout(int rc)
{
	if (fflush(stdout) == EOF || ferror(stdout))
		return trouble("stdout", strerror(errno));
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct mtasts_log_setup	 logsetup = {
		.ident = PROGNAME,
		.use_syslog = 0,
		.facility = LOG_MAIL,
		.use_stderr = 1,
		.level = LOG_WARNING,
	};
	const struct command	*c;
	int			 ch;

	/* The engine logs nothing here by design; if it ever does, show it. */
	mtasts_log_init(&logsetup);

	/* "+": stop at the command name; what follows is the command's. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return flush_stdout(EXIT_YES);
		case 'V':
			(void)printf("%s %s\n", PROGNAME, PACKAGE_VERSION);
			return flush_stdout(EXIT_YES);
		default:
			return bad_option(NULL, ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_error(NULL, "no command given", NULL);
	if ((c = find_command(argv[0])) == NULL)
		return usage_error(NULL, "unknown command ", argv[0]);
	return flush_stdout(c->fn(c, argc, argv));
}
