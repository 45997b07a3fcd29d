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
 * apply to every command (-c, -v) are read in main() before the command
 * name, which also loads the configuration for the commands that need it.
 *
 * The lint commands work on their arguments alone.  check, refresh and the
 * store commands read mta-sts-milter.conf: check asks DNS and HTTPS itself
 * and writes nothing; refresh runs the engine in this process, which
 * writes the store as the daemon would; show, list, stats and forget work
 * on the store directly.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "conf.h"
#include "domain.h"
#include "engine.h"
#include "fetch.h"
#include "jsonw.h"
#include "log.h"
#include "mxmatch.h"
#include "policy.h"
#include "status.h"
#include "store.h"
#include "txt.h"

#define PROGNAME	"mta-sts-ctl"

/* Exit statuses, as mta-sts-ctl(1) documents them. */
#define EXIT_YES	0	/* valid, policy found, match */
#define EXIT_NO		1	/* invalid, no policy, no match */
#define EXIT_TROUBLE	2	/* usage, I/O or internal error */
#define EXIT_TEMPFAIL	3	/* DNS trouble: ask again later */

#define DEFAULT_CONF	SYSCONFDIR "/mta-sts-milter.conf"
/* show lists this many of the latest fetch attempts. */
#define SHOW_FETCHES	10

/* --max-size is bounded so that a typing slip cannot ask for gigabytes. */
#define MAX_SIZE_LIMIT	(1024UL * 1024 * 1024)

/* Escaping a byte never takes more than a few characters; 16 is ample. */
#define ESC_CHUNK	64
#define ESC_ROOM	(ESC_CHUNK * 16 + 1)

/* What a command needs before it runs. */
#define NEED_CONFIG	0x01	/* the configuration file */
#define NEED_NET	0x02	/* libcurl, for DNS and HTTPS */

struct command {
	const char	*name;
	int		(*fn)(const struct command *, int, char **);
	const char	*args;		/* synopsis after the name */
	const char	*summary;
	int		 needs;		/* NEED_ flags */
};

static int	cmd_lint_txt(const struct command *, int, char **);
static int	cmd_lint_policy(const struct command *, int, char **);
static int	cmd_match_mx(const struct command *, int, char **);
static int	cmd_check(const struct command *, int, char **);
static int	cmd_show(const struct command *, int, char **);
static int	cmd_list(const struct command *, int, char **);
static int	cmd_refresh(const struct command *, int, char **);
static int	cmd_forget(const struct command *, int, char **);
static int	cmd_stats(const struct command *, int, char **);

static const struct command commands[] = {
	{ "lint-txt", cmd_lint_txt, "[--json] record ...",
	    "check _mta-sts TXT records and the set they form", 0 },
	{ "lint-policy", cmd_lint_policy,
	    "[--json] [--content-type type] [--max-size bytes] file | -",
	    "check a policy file", 0 },
	{ "match-mx", cmd_match_mx, "pattern host",
	    "test an MX host name against a policy mx pattern", 0 },
	{ "check", cmd_check, "[--json] domain",
	    "diagnose a domain over DNS and HTTPS now",
	    NEED_CONFIG | NEED_NET },
	{ "show", cmd_show, "[--json] domain",
	    "show what the store holds for a domain", NEED_CONFIG },
	{ "list", cmd_list, "[--json] [--mode enforce|testing|none]",
	    "list the stored policies", NEED_CONFIG },
	{ "refresh", cmd_refresh, "domain ... | --all",
	    "fetch policies again and store them", NEED_CONFIG | NEED_NET },
	{ "forget", cmd_forget, "domain",
	    "remove a domain from the store", NEED_CONFIG },
	{ "stats", cmd_stats, "[--json]",
	    "count what the store holds", NEED_CONFIG },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

/* Set by main() from the global options. */
static struct {
	const char		*conf_path;	/* -c, or NULL */
	int			 verbose;	/* -v */
	struct mtasts_config	*cfg;		/* for NEED_CONFIG commands */
} ctl;

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

	(void)fprintf(fp, "usage: %s [-hvV] [-c file] command "
	    "[argument ...]\n", PROGNAME);
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
	OPT_MAX_SIZE,
	OPT_MODE,
	OPT_ALL
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

/* ---------------------------------------------------------------- shared */

/*
 * Options of a command that takes only --json (json NULL: not even
 * that): returns 0 to go on, or 1 when the command must return *rc at
 * once (help shown, or bad usage).
 */
static int
json_opts(const struct command *c, int argc, char **argv, int *json,
    int *rc)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	if (json != NULL)
		*json = 0;
	opt_reset();
	while ((ch = next_opt(c, argc, argv, longopts)) != -1) {
		switch (ch) {
		case OPT_JSON:
			if (json == NULL) {
				*rc = usage_error(c, "unknown option ",
				    "--json");
				return 1;
			}
			*json = 1;
			break;
		case 'h':
			usage_of(stdout, c, "usage: ");
			*rc = EXIT_YES;
			return 1;
		default:
			*rc = EXIT_TROUBLE;
			return 1;
		}
	}
	return 0;
}

/* Normalise a domain argument the way the engine does; -1 after usage. */
static int
domain_arg(const struct command *c, const char *arg,
    char out[MTASTS_DOMAIN_BUFSZ])
{
	struct mtasts_diag	 diag;

	mtasts_diag_init(&diag);
	switch (mtasts_domain_normalize(arg, strlen(arg), out, &diag)) {
	case MTASTS_DOMAIN_NAME:
		return 0;
	case MTASTS_DOMAIN_LITERAL:
		(void)usage_error(c, "an address literal has no MTA-STS "
		    "policy: ", arg);
		return -1;
	default:
		(void)usage_error(c, "not a domain name: ", arg);
		return -1;
	}
}

/* Where the settings came from, for messages. */
static const char *
conf_name(void)
{
	return ctl.cfg->path != NULL ? ctl.cfg->path : "the built-in defaults";
}

/*
 * Open the store named by the Database parameter.  A missing database is
 * an error even for a read-write open: forget must not create one.
 */
static struct mtasts_store *
open_store(int readonly)
{
	struct mtasts_store	*s;
	struct mtasts_diag	 diag;
	const char		*db = ctl.cfg->database;

	if (db == NULL || *db == '\0') {
		(void)fprintf(stderr, "%s: no policy store: the Database "
		    "parameter is empty in ", PROGNAME);
		put_escs(stderr, conf_name());
		(void)fputc('\n', stderr);
		return NULL;
	}
	mtasts_diag_init(&diag);
	s = mtasts_store_open(db, 1, &diag);
	if (s != NULL && !readonly) {
		mtasts_store_close(s);
		s = mtasts_store_open(db, 0, &diag);
	}
	if (s == NULL) {
		(void)fprintf(stderr, "%s: cannot use the policy store ",
		    PROGNAME);
		put_escs(stderr, db);
		(void)fputs(" (parameter Database, from ", stderr);
		put_escs(stderr, conf_name());
		(void)fputs("): ", stderr);
		put_diag(stderr, mtasts_diag_first(&diag));
		(void)fputc('\n', stderr);
	}
	return s;
}

static int
store_trouble(struct mtasts_store *s, const char *what)
{
	int	rc;

	rc = trouble(what, mtasts_store_errmsg(s));
	mtasts_store_close(s);
	return rc;
}

/* ISO 8601 UTC, or NULL for 0 ("never"). */
static const char *
iso_time(time_t t, char *buf, size_t size)
{
	struct tm	 tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return buf;
}

/* The same for people: "never" instead of NULL. */
static const char *
human_time(time_t t, char *buf, size_t size)
{
	const char	*s = iso_time(t, buf, size);

	return s != NULL ? s : "never";
}

/* A JSON string, or null when s is NULL or empty. */
static void
json_str_or_null(struct mtasts_jsonw *w, const char *key, const char *s)
{
	mtasts_jsonw_string(w, key, s != NULL && *s != '\0' ? s : NULL);
}

static void
json_time(struct mtasts_jsonw *w, const char *key, time_t t)
{
	char	 buf[32];

	mtasts_jsonw_string(w, key, iso_time(t, buf, sizeof(buf)));
}

/* A label and an untrusted value on one indented line. */
static void
put_field(const char *label, const char *value)
{
	(void)printf("  %-14s ", label);
	put_escs(stdout, value);
	(void)fputc('\n', stdout);
}

/* ---------------------------------------------------------------- check */

static void
check_human_dns(const char *what, const struct mtasts_check_dns *d)
{
	(void)printf("  %-6s ", what);
	put_escs(stdout, d->qname);
	(void)printf(": %s", d->asked ? mtasts_dns_rcode_str(d->rcode) :
	    "not asked");
	if (d->asked && d->secure)
		(void)fputs(", DNSSEC secure", stdout);
	if (d->why[0] != '\0') {
		(void)fputs(" (", stdout);
		put_escs(stdout, d->why);
		(void)fputc(')', stdout);
	}
	(void)fputc('\n', stdout);
	if (d->rcode == MTASTS_DNS_OK && d->canonname[0] != '\0' &&
	    strcmp(d->canonname, d->qname) != 0) {
		(void)fputs("         via CNAME: ", stdout);
		put_escs(stdout, d->canonname);
		(void)fputc('\n', stdout);
	}
}

static void
check_human_txt(const struct mtasts_check_report *r)
{
	const struct mtasts_check_txt	*t;
	size_t				 i;

	(void)fputs("TXT\n", stdout);
	check_human_dns("TXT", &r->txt_dns);
	for (i = 0; i < r->ntxt; i++) {
		t = &r->txt[i];
		(void)printf("  record %zu: \"", i + 1);
		put_esc(stdout, t->text != NULL ? t->text : "", t->len);
		(void)printf("\"\n    %s", mtasts_check_txt_verdict_str(
		    t->verdict));
		if (t->verdict == MTASTS_CHECK_TXT_VALID) {
			(void)fputs(", id ", stdout);
			put_escs(stdout, t->id);
		} else if (t->reason[0] != '\0') {
			(void)fputs(": ", stdout);
			put_diag(stdout, t->reason);
		}
		(void)fputc('\n', stdout);
	}
	if (r->txt_dropped > 0)
		(void)printf("  %zu more records not shown\n", r->txt_dropped);
	if (r->txt_id[0] != '\0')
		put_field("policy id:", r->txt_id);
	else if (r->txt_reason[0] != '\0') {
		(void)fputs("  no policy: ", stdout);
		put_diag(stdout, r->txt_reason);
		(void)fputc('\n', stdout);
	}
}

static void
check_human_host(const struct mtasts_check_report *r)
{
	size_t	 i;

	(void)fputs("\npolicy host\n", stdout);
	check_human_dns("A", &r->a_dns);
	check_human_dns("AAAA", &r->aaaa_dns);
	for (i = 0; i < r->naddrs; i++)
		put_field("address:", r->addrs[i]);
}

static void
check_human_https(const struct mtasts_check_report *r)
{
	(void)fputs("\nHTTPS\n", stdout);
	if (!r->fetched) {
		(void)fputs("  not fetched: no TXT record names a policy and "
		    "the host has no address\n", stdout);
		return;
	}
	put_field("url:", r->url);
	if (r->primary_ip[0] != '\0')
		put_field("connected to:", r->primary_ip);
	if (r->tls_version[0] != '\0')
		put_field("TLS:", r->tls_version);
	if (r->cert_subject[0] != '\0') {
		put_field("cert subject:", r->cert_subject);
		put_field("cert issuer:", r->cert_issuer);
		put_field("cert expires:", r->cert_expire);
	}
	if (r->http_status != 0)
		(void)printf("  %-14s %ld\n", "HTTP status:", r->http_status);
	if (r->content_type[0] != '\0')
		put_field("content type:", r->content_type);
	if (r->location[0] != '\0')
		put_field("location:", r->location);
	(void)printf("  %-14s %s", "result:",
	    mtasts_fetch_class_str(r->fetch_class));
	if (r->fetch_error[0] != '\0') {
		(void)fputs(": ", stdout);
		put_escs(stdout, r->fetch_error);
	}
	(void)fputc('\n', stdout);
}

static void
check_human_policy(const struct mtasts_check_report *r)
{
	const struct mtasts_diag_item	*it;
	char				 dur[64];
	size_t				 i;

	(void)fputs("\npolicy\n", stdout);
	if (!r->have_policy && !r->body_parsed) {
		(void)fputs("  none fetched\n", stdout);
		return;
	}
	if (r->have_policy) {
		human_duration(r->policy.max_age, dur, sizeof(dur));
		(void)printf("  %-14s %s\n  %-14s %lu (%s)\n", "mode:",
		    mtasts_mode_str(r->policy.mode), "max_age:",
		    r->policy.max_age, dur);
		for (i = 0; i < r->policy.nmx; i++)
			put_field("mx:", r->policy.mx[i]);
	}
	for (i = 0; i < r->policy_diag.count; i++) {
		it = &r->policy_diag.item[i];
		(void)fputs("  ", stdout);
		if (it->line > 0)
			(void)printf("line %u: ", it->line);
		(void)fputs(it->warning ? "warning: " : "error: ", stdout);
		put_diag(stdout, it->text);
		(void)fputc('\n', stdout);
	}
}

/* One text line per field of an MX host's STARTTLS probe. */
static void
check_human_line(const char *label, const char *value)
{
	(void)printf("        %-12s ", label);
	put_escs(stdout, value[0] != '\0' ? value : "-");
	(void)fputc('\n', stdout);
}

static void
check_human_probe(const struct mtasts_check_mx *m)
{
	char	addr[96];

	if (m->probe_cls[0] == '\0')
		return;
	if (m->probed)
		(void)snprintf(addr, sizeof(addr), "%s port %d", m->addr,
		    m->probe.port);
	else
		(void)snprintf(addr, sizeof(addr), "%s", m->addr);
	check_human_line("address", addr);
	check_human_line("starttls", !m->probed ? "" :
	    m->probe.cls == MTASTS_PROBE_STARTTLS_NOT_SUPPORTED ? "no" :
	    m->probe.tls_version[0] != '\0' ? "yes" : "");
	check_human_line("protocol", m->probe.tls_version);
	check_human_line("cipher", m->probe.tls_cipher);
	check_human_line("names", m->probe.cert_names);
	check_human_line("subject", m->probe.cert_subject);
	check_human_line("issuer", m->probe.cert_issuer);
	check_human_line("expires", m->probe.cert_not_after);
	(void)printf("        %-12s ", "verdict");
	put_escs(stdout, m->probe_verdict != NULL ? m->probe_verdict : "-");
	(void)fputs(" (", stdout);
	put_escs(stdout, m->probe_cls);
	(void)fputs(")\n", stdout);
	if (m->probe.detail[0] != '\0')
		check_human_line("detail", m->probe.detail);
}

static void
check_human_mx(const struct mtasts_check_report *r)
{
	const struct mtasts_check_mx	*m;
	size_t				 i;

	(void)fputs("\nMX\n", stdout);
	check_human_dns("MX", &r->mx_dns);
	if (r->null_mx)
		(void)fputs("  a null MX: checked as if the domain itself "
		    "were the MX\n", stdout);
	else if (r->implicit_mx)
		(void)fputs("  no MX records: the domain itself is the "
		    "implicit MX\n", stdout);
	for (i = 0; i < r->nmx; i++) {
		m = &r->mx[i];
		(void)printf("  %5u ", m->preference);
		put_escs(stdout, m->host);
		if (!r->have_policy)
			(void)fputc('\n', stdout);
		else if (m->covered) {
			(void)fputs("  covered by ", stdout);
			put_escs(stdout, m->pattern);
			(void)fputc('\n', stdout);
		} else
			(void)fputs("  NOT covered by the policy\n", stdout);
		check_human_probe(m);
	}
	if (r->mx_dropped > 0)
		(void)printf("  %zu more MX records not shown\n",
		    r->mx_dropped);
}

static void
check_human(const struct mtasts_check_report *r)
{
	const struct mtasts_check_problem	*p;
	size_t					 i;

	(void)fputs("domain: ", stdout);
	put_escs(stdout, r->domain);
	(void)fputs("\n\n", stdout);
	if (!r->literal) {
		check_human_txt(r);
		check_human_host(r);
		check_human_https(r);
		check_human_policy(r);
		check_human_mx(r);
		(void)fputc('\n', stdout);
	}
	(void)printf("verdict: %s (%s)\n  ",
	    mtasts_check_verdict_str(r->verdict), r->cls);
	put_diag(stdout, r->reason);
	(void)fputc('\n', stdout);
	for (i = 0; i < r->nproblems; i++) {
		p = &r->problems[i];
		(void)fputs(p->warning ? "warning: " : "error: ", stdout);
		put_diag(stdout, p->text);
		(void)fputc('\n', stdout);
	}
	if (r->problems_dropped > 0)
		(void)printf("%zu more problems not shown\n",
		    r->problems_dropped);
}

static void
check_json_dns(struct mtasts_jsonw *w, const char *key,
    const struct mtasts_check_dns *d)
{
	mtasts_jsonw_object_begin(w, key);
	mtasts_jsonw_string(w, "name", d->qname);
	mtasts_jsonw_string(w, "rcode", d->asked ?
	    mtasts_dns_rcode_str(d->rcode) : "not-asked");
	mtasts_jsonw_bool(w, "secure", d->asked && d->secure);
	json_str_or_null(w, "canonname", d->rcode == MTASTS_DNS_OK ?
	    d->canonname : NULL);
	json_str_or_null(w, "why", d->why);
	mtasts_jsonw_object_end(w);
}

static void
check_json_txt(struct mtasts_jsonw *w, const struct mtasts_check_report *r)
{
	const struct mtasts_check_txt	*t;
	size_t				 i;

	mtasts_jsonw_object_begin(w, "txt");
	check_json_dns(w, "dns", &r->txt_dns);
	mtasts_jsonw_array_begin(w, "records");
	for (i = 0; i < r->ntxt; i++) {
		t = &r->txt[i];
		mtasts_jsonw_object_begin(w, NULL);
		mtasts_jsonw_stringn(w, "text", t->text != NULL ? t->text : "",
		    t->len);
		mtasts_jsonw_string(w, "verdict",
		    mtasts_check_txt_verdict_str(t->verdict));
		json_str_or_null(w, "id", t->id);
		json_str_or_null(w, "reason", t->reason);
		mtasts_jsonw_object_end(w);
	}
	mtasts_jsonw_array_end(w);
	json_str_or_null(w, "id", r->txt_id);
	json_str_or_null(w, "reason", r->txt_reason);
	mtasts_jsonw_object_end(w);
}

static void
check_json_host(struct mtasts_jsonw *w, const struct mtasts_check_report *r)
{
	size_t	 i;

	mtasts_jsonw_object_begin(w, "policy_host");
	check_json_dns(w, "a", &r->a_dns);
	check_json_dns(w, "aaaa", &r->aaaa_dns);
	mtasts_jsonw_array_begin(w, "addresses");
	for (i = 0; i < r->naddrs; i++)
		mtasts_jsonw_string(w, NULL, r->addrs[i]);
	mtasts_jsonw_array_end(w);
	mtasts_jsonw_object_end(w);
}

static void
check_json_https(struct mtasts_jsonw *w, const struct mtasts_check_report *r)
{
	int	 f = r->fetched;

	mtasts_jsonw_object_begin(w, "https");
	mtasts_jsonw_bool(w, "fetched", f);
	json_str_or_null(w, "url", f ? r->url : NULL);
	mtasts_jsonw_string(w, "class", f ?
	    mtasts_fetch_class_str(r->fetch_class) : NULL);
	json_str_or_null(w, "error", f ? r->fetch_error : NULL);
	json_str_or_null(w, "primary_ip", f ? r->primary_ip : NULL);
	if (f && r->http_status != 0)
		mtasts_jsonw_int(w, "http_status", r->http_status);
	else
		mtasts_jsonw_null(w, "http_status");
	json_str_or_null(w, "content_type", f ? r->content_type : NULL);
	json_str_or_null(w, "location", f ? r->location : NULL);
	json_str_or_null(w, "tls_version", f ? r->tls_version : NULL);
	json_str_or_null(w, "cert_subject", f ? r->cert_subject : NULL);
	json_str_or_null(w, "cert_issuer", f ? r->cert_issuer : NULL);
	json_str_or_null(w, "cert_expire", f ? r->cert_expire : NULL);
	mtasts_jsonw_object_end(w);
}

static void
check_json_policy(struct mtasts_jsonw *w,
    const struct mtasts_check_report *r)
{
	const struct mtasts_diag_item	*it;
	size_t				 i;

	if (r->have_policy) {
		mtasts_jsonw_object_begin(w, "policy");
		mtasts_jsonw_string(w, "mode", mtasts_mode_str(r->policy.mode));
		mtasts_jsonw_int(w, "max_age", (long long)r->policy.max_age);
		mtasts_jsonw_array_begin(w, "mx");
		for (i = 0; i < r->policy.nmx; i++)
			mtasts_jsonw_string(w, NULL, r->policy.mx[i]);
		mtasts_jsonw_array_end(w);
		mtasts_jsonw_object_end(w);
	} else
		mtasts_jsonw_null(w, "policy");
	mtasts_jsonw_array_begin(w, "policy_problems");
	for (i = 0; i < r->policy_diag.count; i++) {
		it = &r->policy_diag.item[i];
		mtasts_jsonw_object_begin(w, NULL);
		if (it->line > 0)
			mtasts_jsonw_int(w, "line", it->line);
		else
			mtasts_jsonw_null(w, "line");
		mtasts_jsonw_string(w, "severity", it->warning ? "warning" :
		    "error");
		mtasts_jsonw_string(w, "text", it->text);
		mtasts_jsonw_object_end(w);
	}
	mtasts_jsonw_array_end(w);
}


/* The probe of one MX host, null when it was not probed. */
static void
check_json_probe(struct mtasts_jsonw *w, const struct mtasts_check_mx *m)
{
	if (m->probe_cls[0] == '\0') {
		mtasts_jsonw_null(w, "probe");
		return;
	}
	mtasts_jsonw_object_begin(w, "probe");
	json_str_or_null(w, "address", m->addr);
	if (m->probed)
		mtasts_jsonw_int(w, "port", m->probe.port);
	else
		mtasts_jsonw_null(w, "port");
	if (!m->probed)
		mtasts_jsonw_null(w, "starttls");
	else if (m->probe.cls == MTASTS_PROBE_STARTTLS_NOT_SUPPORTED)
		mtasts_jsonw_bool(w, "starttls", 0);
	else if (m->probe.tls_version[0] != '\0')
		mtasts_jsonw_bool(w, "starttls", 1);
	else
		mtasts_jsonw_null(w, "starttls");
	json_str_or_null(w, "protocol", m->probe.tls_version);
	json_str_or_null(w, "cipher", m->probe.tls_cipher);
	json_str_or_null(w, "cert_names", m->probe.cert_names);
	json_str_or_null(w, "cert_subject", m->probe.cert_subject);
	json_str_or_null(w, "cert_issuer", m->probe.cert_issuer);
	json_str_or_null(w, "cert_not_after", m->probe.cert_not_after);
	mtasts_jsonw_string(w, "result", m->probe_cls);
	mtasts_jsonw_string(w, "verdict", m->probe_verdict != NULL ?
	    m->probe_verdict : "inconclusive");
	if (m->probe.verify_error != 0)
		mtasts_jsonw_int(w, "failure_reason_code",
		    m->probe.verify_error);
	else
		mtasts_jsonw_null(w, "failure_reason_code");
	json_str_or_null(w, "detail", m->probe.detail);
	mtasts_jsonw_object_end(w);
}

static void
check_json_mx(struct mtasts_jsonw *w, const struct mtasts_check_report *r)
{
	const struct mtasts_check_mx	*m;
	size_t				 i;

	mtasts_jsonw_object_begin(w, "mx");
	check_json_dns(w, "dns", &r->mx_dns);
	mtasts_jsonw_bool(w, "implicit", r->implicit_mx);
	mtasts_jsonw_bool(w, "null_mx", r->null_mx);
	mtasts_jsonw_array_begin(w, "hosts");
	for (i = 0; i < r->nmx; i++) {
		m = &r->mx[i];
		mtasts_jsonw_object_begin(w, NULL);
		mtasts_jsonw_int(w, "preference", m->preference);
		mtasts_jsonw_string(w, "host", m->host);
		if (r->have_policy)
			mtasts_jsonw_bool(w, "covered", m->covered);
		else
			mtasts_jsonw_null(w, "covered");
		json_str_or_null(w, "pattern", m->pattern);
		check_json_probe(w, m);
		mtasts_jsonw_object_end(w);
	}
	mtasts_jsonw_array_end(w);
	mtasts_jsonw_object_end(w);
}

static int
check_json(const struct mtasts_check_report *r, int rc)
{
	struct mtasts_jsonw	 w;
	size_t			 i;

	mtasts_jsonw_init(&w);
	mtasts_jsonw_object_begin(&w, NULL);
	mtasts_jsonw_string(&w, "domain", r->domain);
	mtasts_jsonw_string(&w, "verdict",
	    mtasts_check_verdict_str(r->verdict));
	mtasts_jsonw_string(&w, "class", r->cls);
	mtasts_jsonw_string(&w, "reason", r->reason);
	if (r->literal) {
		mtasts_jsonw_null(&w, "txt");
		mtasts_jsonw_null(&w, "policy_host");
		mtasts_jsonw_null(&w, "https");
		mtasts_jsonw_null(&w, "policy");
		mtasts_jsonw_array_begin(&w, "policy_problems");
		mtasts_jsonw_array_end(&w);
		mtasts_jsonw_null(&w, "mx");
	} else {
		check_json_txt(&w, r);
		check_json_host(&w, r);
		check_json_https(&w, r);
		check_json_policy(&w, r);
		check_json_mx(&w, r);
	}
	mtasts_jsonw_array_begin(&w, "problems");
	for (i = 0; i < r->nproblems; i++) {
		mtasts_jsonw_object_begin(&w, NULL);
		mtasts_jsonw_string(&w, "severity", r->problems[i].warning ?
		    "warning" : "error");
		mtasts_jsonw_string(&w, "text", r->problems[i].text);
		mtasts_jsonw_object_end(&w);
	}
	mtasts_jsonw_array_end(&w);
	mtasts_jsonw_int(&w, "omitted", (long long)r->problems_dropped);
	mtasts_jsonw_object_end(&w);
	return json_print(&w, rc);
}

/* The documented exit status of a finished check. */
static int
check_exit(const struct mtasts_check_report *r)
{
	switch (r->verdict) {
	case MTASTS_CHECK_TEMPORARY:
		return EXIT_TEMPFAIL;
	case MTASTS_CHECK_NOPOLICY:
		return EXIT_NO;
	default:
		return r->errors > 0 ? EXIT_NO : EXIT_YES;
	}
}

static int
cmd_check(const struct command *c, int argc, char **argv)
{
	struct mtasts_check_report	*r;
	enum mtasts_status		 st;
	int				 json, rc;

	if (json_opts(c, argc, argv, &json, &rc))
		return rc;
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_error(c, argc < 1 ? "no domain given" :
		    "one domain at a time", NULL);
	/* About 45 KiB: the heap rather than the stack. */
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return trouble("check", strerror(errno));
	st = mtasts_check_run(ctl.cfg, argv[0], NULL, r);
	if (st == MTASTS_INVALID)
		rc = usage_error(c, "not a domain name: ", argv[0]);
	else if (st != MTASTS_OK)
		rc = trouble("check", r->reason);
	else if (json)
		rc = check_json(r, check_exit(r));
	else {
		check_human(r);
		rc = check_exit(r);
	}
	mtasts_check_report_free(r);
	free(r);
	return rc;
}

/* ---------------------------------------------------------------- show */

struct show {
	struct mtasts_jsonw	*w;	/* NULL: for people */
	size_t			 n;
};

static int
show_fetch(void *arg, const struct mtasts_stored_fetch *f)
{
	struct show	*sh = arg;
	char		 t[32];

	sh->n++;
	if (sh->w != NULL) {
		mtasts_jsonw_object_begin(sh->w, NULL);
		json_time(sh->w, "at", f->at);
		json_str_or_null(sh->w, "policy_id", f->policy_id);
		mtasts_jsonw_string(sh->w, "result_class", f->result_class);
		if (f->http_status != 0)
			mtasts_jsonw_int(sh->w, "http_status", f->http_status);
		else
			mtasts_jsonw_null(sh->w, "http_status");
		json_str_or_null(sh->w, "detail", f->detail);
		mtasts_jsonw_object_end(sh->w);
		return 0;
	}
	if (sh->n == 1)
		(void)fputs("\nfetches (newest first)\n", stdout);
	(void)printf("  %s  ", human_time(f->at, t, sizeof(t)));
	put_escs(stdout, f->result_class);
	if (f->policy_id[0] != '\0') {
		(void)fputs("  id ", stdout);
		put_escs(stdout, f->policy_id);
	}
	if (f->http_status != 0)
		(void)printf("  HTTP %d", f->http_status);
	if (f->detail[0] != '\0') {
		(void)fputs("  ", stdout);
		put_escs(stdout, f->detail);
	}
	(void)fputc('\n', stdout);
	return 0;
}

/* "a\nb" -> one call of fn per line. */
static void
each_line(const char *s, void (*fn)(void *, const char *, size_t), void *arg)
{
	const char	*nl;

	while (*s != '\0') {
		nl = strchr(s, '\n');
		if (nl == NULL)
			nl = s + strlen(s);
		if (nl > s)
			fn(arg, s, (size_t)(nl - s));
		s = *nl == '\n' ? nl + 1 : nl;
	}
}

static void
mx_human(void *arg, const char *s, size_t len)
{
	(void)arg;
	(void)printf("  %-14s ", "mx:");
	put_esc(stdout, s, len);
	(void)fputc('\n', stdout);
}

static void
mx_json(void *arg, const char *s, size_t len)
{
	mtasts_jsonw_stringn(arg, NULL, s, len);
}

static void
show_policy_human(const struct mtasts_stored_policy *p, time_t now)
{
	char	 t[32], dur[64];

	(void)fputs("policy\n", stdout);
	put_field("id:", p->policy_id);
	put_field("mode:", mtasts_mode_str(p->mode));
	human_duration((unsigned long)p->max_age, dur, sizeof(dur));
	(void)printf("  %-14s %ld (%s)\n", "max_age:", p->max_age, dur);
	each_line(p->mx, mx_human, NULL);
	put_field("fetched:", human_time(p->fetched_at, t, sizeof(t)));
	(void)printf("  %-14s %s%s\n", "expires:",
	    human_time(p->expires_at, t, sizeof(t)),
	    p->expires_at <= now ? " (expired)" : "");
	put_field("txt checked:", human_time(p->txt_checked_at, t, sizeof(t)));
	if (p->last_error_class[0] != '\0' || p->last_error[0] != '\0') {
		(void)printf("  %-14s %s ", "last error:",
		    human_time(p->last_error_at, t, sizeof(t)));
		put_escs(stdout, p->last_error_class);
		(void)fputs(": ", stdout);
		put_escs(stdout, p->last_error);
		(void)fputc('\n', stdout);
		put_field("next retry:", human_time(p->next_retry_at, t,
		    sizeof(t)));
	}
}

static void
show_policy_json(struct mtasts_jsonw *w, const struct mtasts_stored_policy *p,
    time_t now)
{
	mtasts_jsonw_object_begin(w, "policy");
	mtasts_jsonw_string(w, "id", p->policy_id);
	mtasts_jsonw_string(w, "mode", mtasts_mode_str(p->mode));
	mtasts_jsonw_int(w, "max_age", p->max_age);
	mtasts_jsonw_array_begin(w, "mx");
	each_line(p->mx, mx_json, w);
	mtasts_jsonw_array_end(w);
	json_time(w, "fetched", p->fetched_at);
	json_time(w, "expires", p->expires_at);
	mtasts_jsonw_bool(w, "expired", p->expires_at <= now);
	json_time(w, "txt_checked", p->txt_checked_at);
	json_str_or_null(w, "last_error_class", p->last_error_class);
	json_str_or_null(w, "last_error", p->last_error);
	json_time(w, "last_error_at", p->last_error_at);
	json_time(w, "next_retry", p->next_retry_at);
	mtasts_jsonw_object_end(w);
}

static void
show_negative_human(const struct mtasts_stored_negative *n, time_t now)
{
	char	 t[32];

	(void)fputs("no policy (negative entry)\n", stdout);
	put_field("reason:", n->reason_class);
	if (n->detail[0] != '\0')
		put_field("detail:", n->detail);
	if (n->policy_id[0] != '\0')
		put_field("policy id:", n->policy_id);
	put_field("since:", human_time(n->created_at, t, sizeof(t)));
	(void)printf("  %-14s %s%s\n", "expires:",
	    human_time(n->expires_at, t, sizeof(t)),
	    n->expires_at <= now ? " (expired)" : "");
}

static void
show_negative_json(struct mtasts_jsonw *w,
    const struct mtasts_stored_negative *n, time_t now)
{
	mtasts_jsonw_object_begin(w, "negative");
	mtasts_jsonw_string(w, "reason_class", n->reason_class);
	json_str_or_null(w, "detail", n->detail);
	json_str_or_null(w, "policy_id", n->policy_id);
	json_time(w, "created", n->created_at);
	json_time(w, "expires", n->expires_at);
	mtasts_jsonw_bool(w, "expired", n->expires_at <= now);
	mtasts_jsonw_object_end(w);
}

/* Read the policy and negative rows; a status for trouble, else OK. */
static enum mtasts_status
show_read(struct mtasts_store *s, const char *domain,
    struct mtasts_stored_policy *p, int *have_p,
    struct mtasts_stored_negative *n, int *have_n)
{
	enum mtasts_status	 st;

	*have_p = *have_n = 0;
	st = mtasts_store_get_policy(s, domain, p);
	if (st != MTASTS_OK && st != MTASTS_NOPOLICY)
		return st;
	*have_p = st == MTASTS_OK;
	/* Time 0: expired rows too; the output flags them. */
	st = mtasts_store_get_negative(s, domain, 0, n);
	if (st != MTASTS_OK && st != MTASTS_NOPOLICY)
		return st;
	*have_n = st == MTASTS_OK;
	return MTASTS_OK;
}

static int
cmd_show(const struct command *c, int argc, char **argv)
{
	struct mtasts_stored_policy	 p;
	struct mtasts_stored_negative	 n;
	struct mtasts_jsonw		 w;
	struct mtasts_store		*s;
	struct show			 sh;
	char				 domain[MTASTS_DOMAIN_BUFSZ];
	time_t				 now = time(NULL);
	int				 json, rc, have_p, have_n;

	if (json_opts(c, argc, argv, &json, &rc))
		return rc;
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_error(c, argc < 1 ? "no domain given" :
		    "one domain at a time", NULL);
	if (domain_arg(c, argv[0], domain) == -1)
		return EXIT_TROUBLE;
	if ((s = open_store(1)) == NULL)
		return EXIT_TROUBLE;
	if (show_read(s, domain, &p, &have_p, &n, &have_n) != MTASTS_OK)
		return store_trouble(s, domain);
	rc = have_p || have_n ? EXIT_YES : EXIT_NO;
	memset(&sh, 0, sizeof(sh));
	if (json) {
		sh.w = &w;
		mtasts_jsonw_init(&w);
		mtasts_jsonw_object_begin(&w, NULL);
		mtasts_jsonw_string(&w, "domain", domain);
		if (have_p)
			show_policy_json(&w, &p, now);
		else
			mtasts_jsonw_null(&w, "policy");
		if (have_n)
			show_negative_json(&w, &n, now);
		else
			mtasts_jsonw_null(&w, "negative");
		mtasts_jsonw_array_begin(&w, "fetches");
	} else {
		(void)printf("domain: %s\n\n", domain);
		if (have_p)
			show_policy_human(&p, now);
		if (have_n)
			show_negative_human(&n, now);
		if (!have_p && !have_n)
			(void)fputs("not in the store\n", stdout);
	}
	mtasts_stored_policy_clear(&p);
	if (mtasts_store_foreach_fetch(s, domain, SHOW_FETCHES, show_fetch,
	    &sh) != MTASTS_OK) {
		if (json)
			mtasts_jsonw_free(&w);
		return store_trouble(s, domain);
	}
	mtasts_store_close(s);
	if (!json)
		return rc;
	mtasts_jsonw_array_end(&w);
	mtasts_jsonw_object_end(&w);
	return json_print(&w, rc);
}

/* ---------------------------------------------------------------- list */

struct list {
	struct mtasts_jsonw	*w;	/* NULL: for people */
	int			 mode;	/* -1: every mode */
	time_t			 now;
	size_t			 n;
};

static int
list_one(void *arg, const struct mtasts_stored_policy *p)
{
	struct list	*l = arg;
	char		 t[32];

	if (l->mode >= 0 && p->mode != l->mode)
		return 0;
	l->n++;
	if (l->w != NULL) {
		mtasts_jsonw_object_begin(l->w, NULL);
		mtasts_jsonw_string(l->w, "domain", p->domain);
		mtasts_jsonw_string(l->w, "mode", mtasts_mode_str(p->mode));
		mtasts_jsonw_string(l->w, "id", p->policy_id);
		json_time(l->w, "expires", p->expires_at);
		mtasts_jsonw_bool(l->w, "expired", p->expires_at <= l->now);
		mtasts_jsonw_object_end(l->w);
		return 0;
	}
	put_escs(stdout, p->domain);
	(void)printf(" %s ", mtasts_mode_str(p->mode));
	put_escs(stdout, p->policy_id);
	(void)printf(" %s%s\n", human_time(p->expires_at, t, sizeof(t)),
	    p->expires_at <= l->now ? " expired" : "");
	return 0;
}

static int
parse_mode(const char *s)
{
	static const enum mtasts_mode modes[] = {
		MTASTS_MODE_ENFORCE, MTASTS_MODE_TESTING, MTASTS_MODE_NONE
	};
	size_t	 i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(s, mtasts_mode_str(modes[i])) == 0)
			return (int)modes[i];
	return -1;
}

static int
cmd_list(const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mtasts_jsonw	 w;
	struct mtasts_store	*s;
	struct list		 l;
	int			 ch, json = 0;

	memset(&l, 0, sizeof(l));
	l.mode = -1;
	l.now = time(NULL);
	opt_reset();
	while ((ch = next_opt(c, argc, argv, longopts)) != -1) {
		switch (ch) {
		case OPT_JSON:
			json = 1;
			break;
		case OPT_MODE:
			if ((l.mode = parse_mode(optarg)) < 0)
				return usage_error(c, "--mode wants enforce, "
				    "testing or none: ", optarg);
			break;
		case 'h':
			usage_of(stdout, c, "usage: ");
			return EXIT_YES;
		default:
			return EXIT_TROUBLE;
		}
	}
	if (argc - optind != 0)
		return usage_error(c, "unexpected argument ", argv[optind]);
	if ((s = open_store(1)) == NULL)
		return EXIT_TROUBLE;
	if (json) {
		l.w = &w;
		mtasts_jsonw_init(&w);
		mtasts_jsonw_object_begin(&w, NULL);
		mtasts_jsonw_array_begin(&w, "policies");
	}
	if (mtasts_store_foreach_policy(s, list_one, &l) != MTASTS_OK) {
		if (json)
			mtasts_jsonw_free(&w);
		return store_trouble(s, "list");
	}
	mtasts_store_close(s);
	if (!json)
		return EXIT_YES;
	mtasts_jsonw_array_end(&w);
	mtasts_jsonw_object_end(&w);
	return json_print(&w, EXIT_YES);
}

/* ---------------------------------------------------------------- stats */

static int
cmd_stats(const struct command *c, int argc, char **argv)
{
	struct mtasts_store_stats	 st;
	struct mtasts_jsonw		 w;
	struct mtasts_store		*s;
	int				 json, rc;

	if (json_opts(c, argc, argv, &json, &rc))
		return rc;
	if (argc - optind != 0)
		return usage_error(c, "unexpected argument ", argv[optind]);
	if ((s = open_store(1)) == NULL)
		return EXIT_TROUBLE;
	if (mtasts_store_stats(s, time(NULL), &st) != MTASTS_OK)
		return store_trouble(s, "stats");
	mtasts_store_close(s);
	if (!json) {
		(void)printf("policies: %ld enforce, %ld testing, %ld none\n"
		    "expired policies: %ld\nnegative entries: %ld\n"
		    "fetches in the last 24 hours: %ld (%ld failed)\n",
		    st.by_mode[MTASTS_MODE_ENFORCE],
		    st.by_mode[MTASTS_MODE_TESTING],
		    st.by_mode[MTASTS_MODE_NONE], st.expired, st.negatives,
		    st.fetches_24h, st.failures_24h);
		return EXIT_YES;
	}
	mtasts_jsonw_init(&w);
	mtasts_jsonw_object_begin(&w, NULL);
	mtasts_jsonw_object_begin(&w, "policies");
	mtasts_jsonw_int(&w, "enforce", st.by_mode[MTASTS_MODE_ENFORCE]);
	mtasts_jsonw_int(&w, "testing", st.by_mode[MTASTS_MODE_TESTING]);
	mtasts_jsonw_int(&w, "none", st.by_mode[MTASTS_MODE_NONE]);
	mtasts_jsonw_object_end(&w);
	mtasts_jsonw_int(&w, "expired", st.expired);
	mtasts_jsonw_int(&w, "negatives", st.negatives);
	mtasts_jsonw_int(&w, "fetches_24h", st.fetches_24h);
	mtasts_jsonw_int(&w, "failures_24h", st.failures_24h);
	mtasts_jsonw_object_end(&w);
	return json_print(&w, EXIT_YES);
}

/* ---------------------------------------------------------------- forget */

static int
cmd_forget(const struct command *c, int argc, char **argv)
{
	struct mtasts_store	*s;
	enum mtasts_status	 st;
	char			 domain[MTASTS_DOMAIN_BUFSZ];
	int			 rc;

	if (json_opts(c, argc, argv, NULL, &rc))
		return rc;
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_error(c, argc < 1 ? "no domain given" :
		    "one domain at a time", NULL);
	if (domain_arg(c, argv[0], domain) == -1)
		return EXIT_TROUBLE;
	if ((s = open_store(0)) == NULL)
		return EXIT_TROUBLE;
	st = mtasts_store_forget(s, domain);
	if (st != MTASTS_OK && st != MTASTS_NOPOLICY)
		return store_trouble(s, domain);
	mtasts_store_close(s);
	(void)printf("%s: %s\n", domain, st == MTASTS_OK ? "forgotten" :
	    "not in the store");
	return st == MTASTS_OK ? EXIT_YES : EXIT_NO;
}

/* ---------------------------------------------------------------- refresh */

struct names {
	char	**v;
	size_t	  n;
	int	  nomem;
};

static int
collect_name(void *arg, const struct mtasts_stored_policy *p)
{
	struct names	*nm = arg;
	char		**nv;

	if ((nv = reallocarray(nm->v, nm->n + 1, sizeof(*nv))) == NULL ||
	    (nv[nm->n] = strdup(p->domain)) == NULL) {
		if (nv != NULL)
			nm->v = nv;
		nm->nomem = 1;
		return 1;
	}
	nm->v = nv;
	nm->n++;
	return 0;
}

static void
names_free(struct names *nm)
{
	size_t	 i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	memset(nm, 0, sizeof(*nm));
}

/* --all: every domain with a stored policy. */
static int
all_domains(struct names *nm)
{
	struct mtasts_store	*s;

	if ((s = open_store(1)) == NULL)
		return EXIT_TROUBLE;
	if (mtasts_store_foreach_policy(s, collect_name, nm) != MTASTS_OK ||
	    nm->nomem) {
		if (nm->nomem)
			(void)trouble("refresh", "out of memory");
		else
			(void)trouble("refresh", mtasts_store_errmsg(s));
		mtasts_store_close(s);
		return EXIT_TROUBLE;
	}
	mtasts_store_close(s);
	return EXIT_YES;
}

/* Refresh one domain and print the outcome; returns its exit status. */
static int
refresh_one(struct mtasts_engine *e, const char *arg, long budget_ms)
{
	struct mtasts_answer	 ans;
	struct mtasts_diag	 diag;
	enum mtasts_status	 st;
	char			 domain[MTASTS_DOMAIN_BUFSZ], t[32];
	int			 rc;

	mtasts_diag_init(&diag);
	switch (mtasts_domain_normalize(arg, strlen(arg), domain, &diag)) {
	case MTASTS_DOMAIN_NAME:
		break;
	case MTASTS_DOMAIN_LITERAL:
		put_escs(stdout, arg);
		(void)fputs(": no policy: address literal\n", stdout);
		return EXIT_YES;
	default:
		return trouble(arg, "not a domain name");
	}
	st = mtasts_engine_refresh(e, domain, 1, budget_ms, &ans);
	(void)printf("%s: ", domain);
	switch (st) {
	case MTASTS_OK:
		(void)fputs("policy id ", stdout);
		put_escs(stdout, ans.id);
		(void)printf(", mode %s, expires %s\n",
		    mtasts_mode_str(ans.mode),
		    human_time((time_t)ans.expires_at, t, sizeof(t)));
		rc = EXIT_YES;
		break;
	case MTASTS_NOPOLICY:
		(void)fputs("no policy: ", stdout);
		put_escs(stdout, ans.reason);
		(void)fputc('\n', stdout);
		rc = EXIT_YES;
		break;
	case MTASTS_TEMPFAIL:
		(void)fputs("temporary failure: ", stdout);
		put_escs(stdout, ans.reason);
		(void)fputc('\n', stdout);
		rc = EXIT_TEMPFAIL;
		break;
	default:
		(void)fputs("error: ", stdout);
		put_escs(stdout, ans.reason);
		(void)fputc('\n', stdout);
		rc = EXIT_TROUBLE;
		break;
	}
	mtasts_answer_clear(&ans);
	return rc;
}

/* Combine per-domain statuses: trouble beats tempfail beats success. */
static int
worse(int a, int b)
{
	static const int rank[] = { 0, 1, 3, 2 };	/* by exit status */

	if (a < 0 || a > 3)
		return a;
	if (b < 0 || b > 3)
		return b;
	return rank[a] >= rank[b] ? a : b;
}

static int
refresh_all(char **v, size_t n)
{
	struct mtasts_engine		*e;
	struct mtasts_engine_opts	 opts;
	struct mtasts_engine_stats	 es;
	struct mtasts_diag		 diag;
	const struct mtasts_config	*cfg = ctl.cfg;
	long				 budget;
	size_t				 i;
	int				 rc = EXIT_YES;

	/* Refresh what was asked for, not whatever else the store has due. */
	memset(&opts, 0, sizeof(opts));
	opts.no_refresher = 1;
	mtasts_diag_init(&diag);
	if ((e = mtasts_engine_new(cfg, &opts, &diag)) == NULL)
		return trouble("engine", mtasts_diag_first(&diag));
	mtasts_engine_stats(e, &es);
	if (!es.store_ok) {
		/* The engine said why on stderr; without a store, no point. */
		mtasts_engine_free(e);
		(void)fprintf(stderr, "%s: refresh: the policy store ",
		    PROGNAME);
		put_escs(stderr, cfg->database != NULL ? cfg->database : "");
		(void)fputs(" (parameter Database, from ", stderr);
		put_escs(stderr, conf_name());
		(void)fputs(") is not usable\n", stderr);
		return EXIT_TROUBLE;
	}
	/* Two DNS rounds (TXT, then the host), the fetch, and slack. */
	budget = (cfg->dns_timeout * 2 + cfg->https_timeout + 5) * 1000;
	for (i = 0; i < n; i++)
		rc = worse(rc, refresh_one(e, v[i], budget));
	mtasts_engine_free(e);
	return rc;
}

static int
cmd_refresh(const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, OPT_ALL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct names	 nm;
	int		 ch, all = 0, rc;

	opt_reset();
	while ((ch = next_opt(c, argc, argv, longopts)) != -1) {
		switch (ch) {
		case OPT_ALL:
			all = 1;
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
	if (all && argc > 0)
		return usage_error(c, "--all or domains, not both", NULL);
	if (!all && argc < 1)
		return usage_error(c, "no domain given", NULL);
	if (!all)
		return refresh_all(argv, (size_t)argc);
	memset(&nm, 0, sizeof(nm));
	if ((rc = all_domains(&nm)) != EXIT_YES)
		return rc;
	if (nm.n == 0)
		(void)puts("no policies in the store");
	else
		rc = refresh_all(nm.v, nm.n);
	names_free(&nm);
	return rc;
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

/*
 * Load the configuration: the -c file, else the default file if there is
 * one, else the built-in defaults, so that check works on a machine where
 * the daemon was never set up.  Every problem is printed.
 */
static int
load_config(void)
{
	struct mtasts_diag	 diag;
	const char		*path = ctl.conf_path;
	size_t			 i;

	mtasts_diag_init(&diag);
	if (path == NULL) {
		path = DEFAULT_CONF;
		if (access(path, F_OK) == -1 && errno == ENOENT)
			path = NULL;
	}
	if (path == NULL)
		ctl.cfg = mtasts_config_parse("", 0, "(built-in defaults)",
		    &diag);
	else
		ctl.cfg = mtasts_config_load(path, &diag);
	if (ctl.cfg != NULL)
		return 0;
	for (i = 0; i < diag.count; i++) {
		(void)fprintf(stderr, "%s: ", PROGNAME);
		put_diag(stderr, diag.item[i].text);
		(void)fputc('\n', stderr);
	}
	if (diag.dropped > 0)
		(void)fprintf(stderr, "%s: %zu more problems not shown\n",
		    PROGNAME, diag.dropped);
	if (diag.count == 0)
		(void)fprintf(stderr, "%s: cannot load the configuration\n",
		    PROGNAME);
	return -1;
}

/* Run a command once its configuration and libraries are ready. */
static int
run_command(const struct command *c, int argc, char **argv)
{
	struct mtasts_diag	 diag;
	int			 rc;

	/* An explicit -c is checked even for commands that do not use it. */
	if (((c->needs & NEED_CONFIG) || ctl.conf_path != NULL) &&
	    load_config() == -1)
		return EXIT_TROUBLE;
	if (c->needs & NEED_NET) {
		mtasts_diag_init(&diag);
		if (mtasts_fetch_global_init(&diag) != MTASTS_OK) {
			mtasts_config_free(ctl.cfg);
			return trouble("libcurl", mtasts_diag_first(&diag));
		}
	}
	rc = flush_stdout(c->fn(c, argc, argv));
	if (c->needs & NEED_NET)
		mtasts_fetch_global_cleanup();
	mtasts_config_free(ctl.cfg);
	ctl.cfg = NULL;
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct mtasts_log_setup	 logsetup = {
		.ident = PROGNAME,
		.use_syslog = 0,
		.facility = LOG_MAIL,
		.use_stderr = 1,
		.level = LOG_WARNING,
	};
	const struct command	*c;
	int			 ch;

	/* "+": stop at the command name; what follows is the command's. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:hvV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			ctl.conf_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return flush_stdout(EXIT_YES);
		case 'v':
			ctl.verbose = 1;
			break;
		case 'V':
			(void)printf("%s %s\n", PROGNAME, PACKAGE_VERSION);
			return flush_stdout(EXIT_YES);
		default:
			return bad_option(NULL, ch, argv);
		}
	}
	/*
	 * The engine's log lines are the "why" behind a result: shown with
	 * -v, otherwise only warnings and worse.  Never syslog: this is an
	 * interactive tool.
	 */
	if (ctl.verbose)
		logsetup.level = LOG_DEBUG;
	mtasts_log_init(&logsetup);

	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_error(NULL, "no command given", NULL);
	if ((c = find_command(argv[0])) == NULL)
		return usage_error(NULL, "unknown command ", argv[0]);
	return run_command(c, argc, argv);
}
