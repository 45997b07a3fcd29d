/*
 * filter-mta-sts.c: the OpenSMTPD filter (filter-mta-sts(8)).
 *
 * smtpd starts us with "filter ... proc-exec" and talks to us over stdin
 * and stdout (filter_proto.h); what we write on stderr lands in its log.
 * One process serves every SMTP session, so the event loop here only
 * reads lines, keeps a little state per session and writes answers: the
 * verdicts run on worker threads (filter_work.h), and a recipient domain
 * already being judged is not judged twice at once, its other requests
 * wait for the same result.
 *
 * smtpd exits when a filter exits, taking all mail with it.  So after
 * start-up nothing here exits but the end of our input (smtpd has gone):
 * a line that does not parse is logged and skipped, a request that cannot
 * be judged is answered with a temporary failure, and every table has a
 * bound, past which requests are still answered (temporarily refused)
 * instead of remembered.
 *
 * Start-up is the exception (STYLE.md: fail hard at start-up): a broken
 * configuration or an engine that cannot start stops us before we
 * register, and smtpd refuses to start with the reason in its log.
 */
#include <config.h>

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "domain.h"
#include "engine.h"
#include "fetch.h"
#include "filter_proto.h"
#include "filter_route.h"
#include "filter_work.h"
#include "log.h"
#include "status.h"
#include "verdict.h"

#define PROGNAME		"filter-mta-sts"
#define DEFAULT_CONF		SYSCONFDIR "/mta-sts-milter.conf"

#define WORKERS			16	/* verdicts judged at once */
#define MAX_JOBS		2048	/* domains being judged */
#define MAX_REQS		8192	/* requests waiting for a verdict */
#define MAX_SESSIONS		100000	/* sessions remembered */
#define MAX_PENDING		16	/* requests waiting, per session */
#define SESS_BUCKETS		4096
#define JOB_BUCKETS		1024
#define OUT_HIGH		(256 * 1024)	/* stop reading above this */
#define OUT_MAX			(16 * 1024 * 1024)
#define READ_CHUNK		65536
#define SHOW_MAX		160	/* bytes of a bad line in the log */

struct sess;

/* A filter request waiting for the verdict of its domain. */
struct req {
	uint64_t	 sid;
	uint64_t	 token;
	struct sess	*sess;		/* NULL once the session is gone */
	struct req	*next_in_job;
	struct req	*next_in_sess;
};

struct sess {
	uint64_t	 sid;
	uint32_t	 msgid;		/* the message, from tx-begin */
	int		 in_message;
	size_t		 nrcpt;		/* recipients answered */
	size_t		 npending;
	struct req	*pending;
	struct sess	*hnext;
};

/* A domain being judged: the job and everyone waiting for it. */
struct inflight {
	char		*key;		/* ASCII lower case raw domain */
	struct fw_job	*job;
	struct req	*waiters;
	struct inflight	*hnext;
};

static struct {
	const char		*conf_path;
	struct mtasts_config	*cfg;
	struct mtasts_engine	*engine;
	struct fw_pool		*pool;
	struct fp_reader	 in;
	struct mtasts_buf	 out;
	int			 eof;
	int			 ready;		/* config|ready seen */
	struct sess		*sess[SESS_BUCKETS];
	struct inflight		*jobs[JOB_BUCKETS];
	size_t			 nsess, njobs, nreqs;
	int			 warned_sessions;
	int			 warned_version;
} F;

/* ---------------------------------------------------------------- logging */

/*
 * Lines go to stderr, which smtpd copies into its log after the filter's
 * name; decisions begin with the session id, so no prefix of ours comes
 * before it.  One write(2) per line keeps threads from mixing lines.
 */
static void
log_sink(int prio, const char *line, void *arg)
{
	char	buf[2200];
	int	n;
	ssize_t	w;

	(void)arg;
	if (prio == LOG_INFO)
		n = snprintf(buf, sizeof(buf), "%s\n", line);
	else
		n = snprintf(buf, sizeof(buf), "%s: %s\n",
		    mtasts_log_level_str(prio), line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) {
		n = (int)sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	do
		w = write(STDERR_FILENO, buf, (size_t)n);
	while (w == -1 && errno == EINTR);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
fatal(const struct mtasts_diag *diag, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (diag != NULL)
		mtasts_diag_print(stderr, PROGNAME, diag);
	(void)fprintf(stderr, "%s: %s\n", PROGNAME, msg);
	exit(1);
}

/*
 * A bad line, cut to SHOW_MAX bytes.  The log module escapes what it
 * prints; only a NUL would end the text early, so it is shown as "^@".
 */
static void
log_bad_line(const char *why, const char *line, size_t len)
{
	char	show[SHOW_MAX * 2 + 1];
	size_t	i, o = 0;

	for (i = 0; i < len && i < SHOW_MAX; i++) {
		if (line[i] == '\0') {
			show[o++] = '^';
			show[o++] = '@';
		} else
			show[o++] = line[i];
	}
	show[o] = '\0';
	mtasts_log(LOG_WARNING, NULL, "protocol: %s: \"%s\"%s (%zu bytes); "
	    "line ignored", why, show, len > SHOW_MAX ? "..." : "", len);
}

/* ---------------------------------------------------------------- output */

static void
emit(const char *line, int n)
{
	if (n < 0) {
		mtasts_log(LOG_ERR, NULL, "protocol: an answer did not fit");
		return;
	}
	if (mtasts_buf_add(&F.out, line, (size_t)n) == -1)
		mtasts_log(LOG_ERR, NULL, "protocol: output buffer full or out "
		    "of memory: answer lost (%.*s)", n > 0 ? n - 1 : 0, line);
}

/* Write what stdout takes now; -1 when smtpd has gone. */
static int
flush_out(void)
{
	ssize_t	w;

	while (F.out.len > 0) {
		w = write(STDOUT_FILENO, F.out.data, F.out.len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0) {
			mtasts_log(LOG_ERR, NULL, "protocol: cannot write to "
			    "smtpd: %s", w == -1 ? strerror(errno) :
			    "nothing written");
			return -1;
		}
		memmove(F.out.data, F.out.data + w, F.out.len - (size_t)w);
		F.out.len -= (size_t)w;
		F.out.data[F.out.len] = '\0';
	}
	return 0;
}

static void
answer_proceed(uint64_t sid, uint64_t token)
{
	char	buf[FP_ANSWER_MAX];

	emit(buf, fp_answer_proceed(buf, sizeof(buf), sid, token));
}

/* A temporary failure of ours, not a verdict: 451 4.3.0. */
static void
answer_tempfail(uint64_t sid, uint64_t token, const char *why)
{
	char	buf[FP_ANSWER_MAX], text[200];

	(void)snprintf(text, sizeof(text), "MTA-STS check not possible (%s); "
	    "try again later", why);
	emit(buf, fp_answer_reject(buf, sizeof(buf), sid, token, 451, "4.3.0",
	    text));
}

static void
answer_verdict(uint64_t sid, uint64_t token, const struct mtasts_verdict *v)
{
	char	buf[FP_ANSWER_MAX];
	int	n;

	if (v->action != MTASTS_ACTION_DEFER &&
	    v->action != MTASTS_ACTION_REJECT) {
		answer_proceed(sid, token);
		return;
	}
	n = fp_answer_reject(buf, sizeof(buf), sid, token, v->smtp_code,
	    v->status, v->text);
	if (n < 0) {
		mtasts_log(LOG_ERR, v->domain, "verdict reply %d %s is not "
		    "one smtpd takes", v->smtp_code, v->status);
		answer_tempfail(sid, token, "internal error");
		return;
	}
	mtasts_log(LOG_DEBUG, NULL, "%016llx: reply %d %s %s",
	    (unsigned long long)sid, v->smtp_code, v->status, v->text);
	emit(buf, n);
}

/* ---------------------------------------------------------------- sessions */

static size_t
sess_bucket(uint64_t sid)
{
	return (size_t)((sid ^ (sid >> 29) ^ (sid >> 47)) % SESS_BUCKETS);
}

static struct sess *
sess_find(uint64_t sid)
{
	struct sess	*s;

	for (s = F.sess[sess_bucket(sid)]; s != NULL; s = s->hnext)
		if (s->sid == sid)
			return s;
	return NULL;
}

/* The session, created when new; NULL when none can be kept. */
static struct sess *
sess_get(uint64_t sid)
{
	struct sess	*s;
	size_t		 b;

	if ((s = sess_find(sid)) != NULL)
		return s;
	if (F.nsess >= MAX_SESSIONS || (s = calloc(1, sizeof(*s))) == NULL) {
		if (!F.warned_sessions)
			mtasts_log(LOG_WARNING, NULL, "%zu sessions: no state "
			    "kept for more; their requests are still answered",
			    F.nsess);
		F.warned_sessions = 1;
		return NULL;
	}
	s->sid = sid;
	b = sess_bucket(sid);
	s->hnext = F.sess[b];
	F.sess[b] = s;
	F.nsess++;
	return s;
}

/* link-disconnect: forget the session; its waiting requests are orphaned. */
static void
sess_end(uint64_t sid)
{
	struct sess	**pp, *s;
	struct req	 *r;

	for (pp = &F.sess[sess_bucket(sid)]; *pp != NULL; pp = &(*pp)->hnext)
		if ((*pp)->sid == sid)
			break;
	if ((s = *pp) == NULL) {
		mtasts_log(LOG_DEBUG, NULL, "%016llx: disconnect of a session "
		    "we do not know", (unsigned long long)sid);
		return;
	}
	*pp = s->hnext;
	for (r = s->pending; r != NULL; r = r->next_in_sess)
		r->sess = NULL;
	mtasts_log(LOG_DEBUG, NULL, "%016llx: session ended: %zu recipients "
	    "answered, %zu still being judged", (unsigned long long)sid,
	    s->nrcpt, s->npending);
	free(s);
	F.nsess--;
	F.warned_sessions = 0;
}

static void
sess_unlink_req(struct sess *s, struct req *r)
{
	struct req	**pp;

	for (pp = &s->pending; *pp != NULL; pp = &(*pp)->next_in_sess)
		if (*pp == r) {
			*pp = r->next_in_sess;
			s->npending--;
			return;
		}
}

/* ---------------------------------------------------------------- jobs */

static size_t
key_bucket(const char *key)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)(h % JOB_BUCKETS);
}

static struct inflight *
job_find(const char *key)
{
	struct inflight	*f;

	for (f = F.jobs[key_bucket(key)]; f != NULL; f = f->hnext)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

/* A new job for dom[0..len); NULL (nothing kept) when it cannot start. */
static struct inflight *
job_start(const char *key, const char *dom, size_t len)
{
	struct inflight	*f;
	struct fw_job	*j;
	size_t		 b;

	if (F.njobs >= MAX_JOBS)
		return NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (j = calloc(1, sizeof(*j))) == NULL) {
		free(f);
		return NULL;
	}
	if ((f->key = strdup(key)) == NULL || (j->domain = strndup(dom,
	    len)) == NULL) {
		free(f->key);
		free(f);
		free(j);
		return NULL;
	}
	j->len = len;
	j->deadline = fw_now_ms() + F.cfg->rcpt_timeout * 1000;
	j->owner = f;
	f->job = j;
	if (fw_pool_submit(F.pool, j) == -1) {
		fw_job_free(j);
		free(f->key);
		free(f);
		return NULL;
	}
	b = key_bucket(key);
	f->hnext = F.jobs[b];
	F.jobs[b] = f;
	F.njobs++;
	return f;
}

static void
job_unlink(struct inflight *f)
{
	struct inflight	**pp;

	for (pp = &F.jobs[key_bucket(f->key)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == f) {
			*pp = f->hnext;
			F.njobs--;
			return;
		}
}

/* A finished job: every request waiting for it gets its answer. */
static void
job_done(struct fw_job *j)
{
	struct inflight	*f = j->owner;
	struct req	*r, *next;
	char		 id[20];

	job_unlink(f);
	mtasts_log(LOG_DEBUG, j->v.domain[0] != '\0' ? j->v.domain : NULL,
	    "verdict %s in %lld ms", mtasts_action_str(j->v.action),
	    (long long)j->took_ms);
	for (r = f->waiters; r != NULL; r = next) {
		next = r->next_in_job;
		(void)snprintf(id, sizeof(id), "%016llx",
		    (unsigned long long)r->sid);
		if (r->sess == NULL) {
			mtasts_log(LOG_DEBUG, NULL, "%s: session gone before "
			    "its verdict; not answered", id);
		} else {
			sess_unlink_req(r->sess, r);
			r->sess->nrcpt++;
			mtasts_verdict_log(id, &j->v);
			answer_verdict(r->sid, r->token, &j->v);
		}
		free(r);
		F.nreqs--;
	}
	free(f->key);
	free(f);
	fw_job_free(j);
}

static void
drain_pool(void)
{
	struct fw_job	*j;

	while ((j = fw_pool_done(F.pool)) != NULL)
		job_done(j);
}

/* ---------------------------------------------------------------- requests */

/* ASCII lower case of dom[0..len) into key; 0, or -1 when too long. */
static int
make_key(char *key, size_t size, const char *dom, size_t len)
{
	size_t	i;

	if (len >= size)
		return -1;
	for (i = 0; i < len; i++)
		key[i] = dom[i] >= 'A' && dom[i] <= 'Z' ?
		    (char)(dom[i] - 'A' + 'a') : dom[i];
	key[len] = '\0';
	return 0;
}

/* Attach a request for dom[0..len) to its job, starting one if needed. */
static void
judge_later(uint64_t sid, uint64_t token, struct sess *s, const char *dom,
    size_t len)
{
	char		 key[FP_LINE_MAX + 1];
	struct inflight	*f;
	struct req	*r;

	if (F.nreqs >= MAX_REQS || (s != NULL && s->npending >= MAX_PENDING)) {
		mtasts_log(LOG_WARNING, NULL, "%016llx: too many requests "
		    "waiting (%zu, %zu in this session); refused for now",
		    (unsigned long long)sid, F.nreqs,
		    s != NULL ? s->npending : 0);
		answer_tempfail(sid, token, "filter busy");
		return;
	}
	if (make_key(key, sizeof(key), dom, len) == -1 ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		answer_tempfail(sid, token, "out of memory");
		return;
	}
	if ((f = job_find(key)) == NULL && (f = job_start(key, dom, len)) ==
	    NULL) {
		free(r);
		mtasts_log(LOG_WARNING, NULL, "%016llx: no verdict worker "
		    "free (%zu domains being judged)", (unsigned long long)sid,
		    F.njobs);
		answer_tempfail(sid, token, "filter busy");
		return;
	}
	r->sid = sid;
	r->token = token;
	r->sess = s;
	r->next_in_job = f->waiters;
	f->waiters = r;
	if (s != NULL) {
		r->next_in_sess = s->pending;
		s->pending = r;
		s->npending++;
	}
	F.nreqs++;
}

/* filter|...|rcpt-to|<session>|<token>|<address> */
static void
on_rcpt(const struct fp_line *l)
{
	char		 addr[FP_LINE_MAX + 1];
	const char	*dom;
	size_t		 len;
	struct sess	*s = sess_get(l->session);

	if (!l->has_param || l->param.n == 0) {
		mtasts_log(LOG_WARNING, NULL, "%016llx: rcpt-to request "
		    "without an address", (unsigned long long)l->session);
		answer_tempfail(l->session, l->token, "no address");
		return;
	}
	memcpy(addr, l->param.p, l->param.n);
	addr[l->param.n] = '\0';
	if (mtasts_addr_domain(addr, &dom, &len) == -1) {
		/* "postmaster": local by definition (RFC 5321 §4.1.1.3). */
		mtasts_log(LOG_DEBUG, NULL, "%016llx: rcpt %s: no domain; not "
		    "checked", (unsigned long long)l->session, addr);
		if (s != NULL)
			s->nrcpt++;
		answer_proceed(l->session, l->token);
		return;
	}
	judge_later(l->session, l->token, s, dom, len);
}

static void
on_filter(const struct fp_line *l)
{
	if (fp_eq(l->event, "rcpt-to")) {
		on_rcpt(l);
		return;
	}
	/* Not a phase we registered for: let it pass, and say so. */
	mtasts_log(LOG_WARNING, NULL, "%016llx: filter request for phase "
	    "\"%.*s\", which we did not register; proceeding",
	    (unsigned long long)l->session, (int)l->event.n, l->event.p);
	answer_proceed(l->session, l->token);
}

/* A msgid: 8 hex digits, the first field of the parameters. */
static uint32_t
report_msgid(const struct fp_line *l)
{
	uint32_t	v = 0;
	size_t		i;
	char		c;

	for (i = 0; l->has_param && i < l->param.n && i < 8; i++) {
		c = l->param.p[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else
			break;
	}
	return v;
}

static void
on_report(const struct fp_line *l)
{
	struct sess	*s;

	if (fp_eq(l->event, "link-disconnect")) {
		sess_end(l->session);
		return;
	}
	if (fp_eq(l->event, "link-connect")) {
		if (sess_get(l->session) != NULL)
			mtasts_log(LOG_DEBUG, NULL, "%016llx: session started",
			    (unsigned long long)l->session);
		return;
	}
	/* Only a connect or a request makes a session: no state for noise. */
	if ((s = sess_find(l->session)) == NULL)
		return;
	if (fp_eq(l->event, "tx-begin")) {
		s->msgid = report_msgid(l);
		s->in_message = 1;
	} else if (fp_eq(l->event, "tx-commit") ||
	    fp_eq(l->event, "tx-rollback") || fp_eq(l->event, "tx-reset")) {
		if (s->in_message)
			mtasts_log(LOG_DEBUG, NULL, "%016llx: message %08x "
			    "ended (%.*s)", (unsigned long long)l->session,
			    s->msgid, (int)l->event.n, l->event.p);
		s->in_message = 0;
		s->msgid = 0;
	}
}

static void
on_config(const struct fp_line *l)
{
	size_t	i;
	int	kn = l->key.n > 64 ? 64 : (int)l->key.n;
	int	vn = l->value.n > 200 ? 200 : (int)l->value.n;

	/* No NUL reaches here (fp_parse); the log escapes the rest. */
	if (!fp_eq(l->key, "ready")) {
		mtasts_log(LOG_DEBUG, NULL, "smtpd config %.*s=%.*s", kn,
		    l->key.p, vn, l->value.p);
		if (fp_eq(l->key, "subsystem") && !fp_eq(l->value, "smtp-in"))
			mtasts_log(LOG_WARNING, NULL, "subsystem %.*s: only "
			    "smtp-in is filtered", vn, l->value.p);
		return;
	}
	if (F.ready) {
		mtasts_log(LOG_WARNING, NULL, "protocol: config|ready again; "
		    "ignored");
		return;
	}
	F.ready = 1;
	for (i = 0; fp_register_line(i) != NULL; i++) {
		(void)mtasts_buf_printf(&F.out, "%s\n", fp_register_line(i));
	}
	mtasts_log(LOG_INFO, NULL, "registered with smtpd for rcpt-to");
}

/* One line from smtpd. */
static void
on_line(void *arg, const char *line, size_t len, int flags)
{
	struct fp_line	l;
	int		rc;

	(void)arg;
	rc = fp_parse(line, len, &l);
	if (flags & FP_LINE_TRUNCATED) {
		log_bad_line("input ended inside a line", line, len);
		return;
	}
	if (flags & FP_LINE_CUT) {
		log_bad_line("line longer than the limit, cut", line, len);
		if (l.kind == FP_FILTER && l.has_session && l.has_token)
			answer_tempfail(l.session, l.token, "request too "
			    "long");
		return;
	}
	if (l.kind == FP_FILTER && rc == 0 && !F.warned_version &&
	    !fp_version_known(l.version)) {
		mtasts_log(LOG_WARNING, NULL, "protocol version %.*s is not "
		    "one we know; answering as for 0.6", (int)l.version.n,
		    l.version.p);
		F.warned_version = 1;
	}
	if (rc == -1) {
		log_bad_line(l.why, line, len);
		if (l.kind == FP_FILTER && l.has_session && l.has_token)
			answer_tempfail(l.session, l.token, "malformed "
			    "request");
		return;
	}
	switch (l.kind) {
	case FP_CONFIG:
		on_config(&l);
		break;
	case FP_REPORT:
		on_report(&l);
		break;
	case FP_FILTER:
		on_filter(&l);
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------------- loop */

static void
read_input(void)
{
	char	buf[READ_CHUNK];
	ssize_t	r;

	r = read(STDIN_FILENO, buf, sizeof(buf));
	if (r == -1 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return;
	if (r <= 0) {
		if (r == -1)
			mtasts_log(LOG_ERR, NULL, "protocol: reading from "
			    "smtpd: %s", strerror(errno));
		fp_reader_eof(&F.in, on_line, NULL);
		F.eof = 1;
		return;
	}
	fp_reader_feed(&F.in, buf, (size_t)r, on_line, NULL);
}

/* Until smtpd closes our input. */
static void
event_loop(void)
{
	struct pollfd	pfd[3];
	int		n, rc;

	while (!F.eof) {
		n = 0;
		pfd[n].fd = fw_pool_fd(F.pool);
		pfd[n++].events = POLLIN;
		pfd[n].fd = STDIN_FILENO;
		/* Back-pressure: no more requests while answers pile up. */
		pfd[n++].events = F.out.len < OUT_HIGH ? POLLIN : 0;
		pfd[n].fd = STDOUT_FILENO;
		pfd[n++].events = F.out.len > 0 ? POLLOUT : 0;
		rc = poll(pfd, (nfds_t)n, -1);
		if (rc == -1) {
			if (errno != EINTR)
				mtasts_log(LOG_ERR, NULL, "poll: %s",
				    strerror(errno));
			continue;
		}
		if (pfd[0].revents & POLLIN)
			drain_pool();
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
			read_input();
		if ((pfd[2].revents & (POLLERR | POLLHUP)) ||
		    flush_out() == -1)
			F.eof = 1;
	}
}

/* ---------------------------------------------------------------- setup */

static void
usage(FILE *fp)
{
	(void)fprintf(fp, "usage: %s [-hInV] [-c file]\n", PROGNAME);
}

/*
 * -I: create the database or bring its schema up to date, write the
 * per-domain controls, and exit.  table-sqlite prepares its query when
 * smtpd starts and makes smtpd exit when the view is missing, so this
 * must have run once before smtpd's first start.
 */
static int
init_database(void)
{
	struct mtasts_diag	diag;
	long			n;

	mtasts_diag_init(&diag);
	n = route_sync_controls(F.cfg, time(NULL), &diag);
	mtasts_diag_print(stderr, PROGNAME, &diag);
	if (n < 0)
		return 1;
	(void)printf("%s: %s is ready (%ld domain controls)\n", PROGNAME,
	    F.cfg->database, n);
	return 0;
}

static int
set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* What of the shared configuration the filter leaves aside, and says so. */
static void
note_config(const struct mtasts_config *cfg)
{
	const char	*e;
	size_t		 i, n;
	int		 bounce;

	bounce = cfg->failure_action == MTASTS_FAIL_BOUNCE;
	for (i = 0; i < cfg->domain_failure_action.n; i++) {
		e = cfg->domain_failure_action.v[i];
		n = strlen(e);
		if (n >= 7 && strcasecmp(e + n - 7, ":bounce") == 0)
			bounce = 1;
	}
	if (bounce)
		mtasts_log(LOG_WARNING, NULL, "FailureAction bounce is not "
		    "possible at RCPT in OpenSMTPD: such recipients are "
		    "deferred (filter-mta-sts(8))");
	if (cfg->testing_header)
		mtasts_log(LOG_WARNING, NULL, "TestingHeader is not supported "
		    "by filter-mta-sts; no header is added");
}

static void
start(void)
{
	struct mtasts_diag	diag;
	long			n;

	mtasts_diag_init(&diag);
	if (mtasts_fetch_global_init(&diag) != MTASTS_OK)
		fatal(&diag, "cannot initialise the HTTPS library");
	mtasts_diag_init(&diag);
	if ((F.engine = mtasts_engine_new(F.cfg, NULL, &diag)) == NULL)
		fatal(&diag, "cannot start the engine");
	mtasts_diag_init(&diag);
	n = route_sync_controls(F.cfg, time(NULL), &diag);
	mtasts_diag_print(stderr, PROGNAME, &diag);
	if (n < 0)
		mtasts_log(LOG_ERR, NULL, "the per-domain controls could not be "
		    "written for OpenSMTPD's routing; recipients that need "
		    "them are deferred");
	else
		mtasts_log(LOG_DEBUG, NULL, "domain_controls: %ld entries", n);
	mtasts_diag_init(&diag);
	if ((F.pool = fw_pool_new(F.engine, F.cfg, WORKERS, MAX_JOBS,
	    &diag)) == NULL)
		fatal(&diag, "cannot start the verdict workers");
	if (set_nonblock(STDIN_FILENO) == -1 ||
	    set_nonblock(STDOUT_FILENO) == -1)
		fatal(NULL, "cannot make stdin and stdout non-blocking: %s",
		    strerror(errno));
}

/* At the end of input: everything we hold goes, the threads stop. */
static void
stop(void)
{
	struct inflight	*f, *fn;
	struct sess	*s, *sn;
	struct req	*r, *rn;
	size_t		 i;

	mtasts_log(LOG_DEBUG, NULL, "stopping: sessions=%zu requests=%zu "
	    "jobs=%zu", F.nsess, F.nreqs, F.njobs);
	fw_pool_free(F.pool);	/* frees the jobs it still holds */
	for (i = 0; i < JOB_BUCKETS; i++)
		for (f = F.jobs[i]; f != NULL; f = fn) {
			fn = f->hnext;
			for (r = f->waiters; r != NULL; r = rn) {
				rn = r->next_in_job;
				free(r);
			}
			free(f->key);
			free(f);
		}
	for (i = 0; i < SESS_BUCKETS; i++)
		for (s = F.sess[i]; s != NULL; s = sn) {
			sn = s->hnext;
			free(s);
		}
	mtasts_engine_free(F.engine);
	mtasts_fetch_global_cleanup();
	mtasts_buf_free(&F.out);
	mtasts_config_free(F.cfg);
}

int
main(int argc, char **argv)
{
	struct mtasts_diag	 diag;
	struct mtasts_log_setup	 ls;
	int			 ch, check_only = 0, init_only = 0, rc;

	F.conf_path = DEFAULT_CONF;
	while ((ch = getopt(argc, argv, "c:hInV")) != -1) {
		switch (ch) {
		case 'c':
			F.conf_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'I':
			init_only = 1;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'V':
			(void)printf("%s %s\n", PROGNAME, PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((F.cfg = mtasts_config_load(F.conf_path, &diag)) == NULL) {
		mtasts_diag_print(stderr, PROGNAME, &diag);
		fatal(NULL, "%s: configuration not usable", F.conf_path);
	}
	mtasts_diag_print(stderr, PROGNAME, &diag);
	if (check_only || init_only) {
		rc = init_only ? init_database() : 0;
		mtasts_config_free(F.cfg);
		return rc;
	}
	mtasts_config_log_setup(F.cfg, PROGNAME, 1, &ls);
	ls.use_syslog = 0;
	mtasts_log_init(&ls);
	mtasts_log_set_sink(log_sink, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	mtasts_buf_init(&F.out, OUT_MAX);
	fp_reader_init(&F.in);
	note_config(F.cfg);
	start();
	mtasts_log(LOG_INFO, NULL, "%s %s started (configuration %s)",
	    PROGNAME, PACKAGE_VERSION, F.conf_path);
	event_loop();
	stop();
	return 0;
}
