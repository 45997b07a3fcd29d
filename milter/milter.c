/*
 * milter.c: the libmilter front end.
 *
 * libmilter calls us from one thread per SMTP connection.  State hangs off
 * the connection with smfi_setpriv: the connection part lives until the
 * close callback, the message part is reset at MAIL and at abort.  The
 * decision itself is common/verdict.c; here we only pick the recipients it
 * applies to, turn its action into a milter reply and carry out what must
 * wait for the end of the message:
 *
 *  - TestingHeader: an X-MTA-STS header per testing-mode domain;
 *  - bounce: the recipient was accepted at RCPT, and is now removed and
 *    reported to the sender in a DSN (RFC 3464) sent through the local
 *    MTA.  If the DSN cannot be handed over, the whole message is
 *    temporarily refused instead: the client keeps it and tries again,
 *    so the sender is never left without word (DESIGN.md: internal
 *    errors never lose mail).  A DSN may then be sent twice; a lost one
 *    would be worse.
 *
 * Only SMTP deliveries are judged: {rcpt_mailer} names the delivery agent
 * the MTA chose, and local, LMTP or pipe deliveries never meet an MX.
 * When the MTA does not send the macro at all, every recipient is judged,
 * which is the safe side.
 *
 * Each message is judged under one configuration: the snapshot taken at
 * MAIL (liveconf.h) is kept until the message ends, so a reload applies
 * from the next message on and never changes the rules half-way.
 */
#include <config.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "buf.h"
#include "conf.h"
#include "domain.h"
#include "dsn.h"
#include "engine.h"
#include "liveconf.h"
#include "log.h"
#include "milter.h"
#include "submit.h"
#include "verdict.h"

#define MILTER_NAME		"mta-sts-milter"
#define MAX_NOTES		1000	/* bounced or testing recipients */
#define SUBMIT_TIMEOUT_MS	30000	/* well within the MTA's EOM wait */
#define TESTING_HEADER		"X-MTA-STS"

static struct mtasts_engine		*M_engine;
static char				*M_conn;	/* for smfi_setconn */
/* messages in progress (MAIL to end of message), for milter_drain */
static pthread_mutex_t			 M_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t			 M_idle = PTHREAD_COND_INITIALIZER;
static size_t				 M_messages;
static int				 M_draining;

/* A recipient to drop at EOM and report in the DSN. */
struct bounce {
	char	*addr;			/* as the MTA gave it, for delrcpt */
	char	*bare;			/* without <>, for the DSN */
	char	 status[8];
	char	 diag[sizeof(((struct mtasts_verdict *)0)->text) + 16];
};

/* A testing-mode domain, for the header. */
struct note {
	char	 domain[MTASTS_DOMAIN_BUFSZ];
	char	 policy_id[MTASTS_ID_MAX + 1];
	int	 would_fail;
};

struct conn {
	char		 sid[20];	/* our id until the MTA has a queue id */
	char		 qid[64];
	char		*host;		/* macro j: our host name for the DSN */
	/* the message, judged under cfg (held from MAIL to its end) */
	const struct mtasts_config *cfg;
	char		*sender;	/* without <>; "" for the null sender */
	int64_t		 arrival;
	size_t		 nrcpt;		/* recipients we let through */
	struct bounce	*bounces;
	size_t		 nbounces;
	struct note	*notes;
	size_t		 nnotes;
	struct mtasts_buf hdrs;
	int		 in_msg;	/* counted in M_messages */
};

/* ---------------------------------------------------------------- state */

static void
new_sid(char *buf, size_t size)
{
	static uint64_t	seq;
	uint64_t	r = 0;

	/* Random, as OpenSMTPD's session ids; a counter if that fails. */
	if (getentropy(&r, sizeof(r)) == -1)
		r = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^
		    __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	(void)snprintf(buf, size, "%016llx", (unsigned long long)r);
}

/* The message is over as far as a stop is concerned (EOM, abort...). */
static void
message_done(struct conn *c)
{
	if (!c->in_msg)
		return;
	c->in_msg = 0;
	pthread_mutex_lock(&M_lock);
	if (--M_messages == 0)
		pthread_cond_broadcast(&M_idle);
	pthread_mutex_unlock(&M_lock);
}

/*
 * A message begins; 0, or -1 when the daemon is stopping and takes no
 * new message.
 */
static int
message_begin(struct conn *c)
{
	int	rc = 0;

	pthread_mutex_lock(&M_lock);
	if (M_draining)
		rc = -1;
	else {
		M_messages++;
		c->in_msg = 1;
	}
	pthread_mutex_unlock(&M_lock);
	return rc;
}

static void
message_reset(struct conn *c)
{
	size_t	i;

	free(c->sender);
	c->sender = NULL;
	for (i = 0; i < c->nbounces; i++) {
		free(c->bounces[i].addr);
		free(c->bounces[i].bare);
	}
	free(c->bounces);
	c->bounces = NULL;
	c->nbounces = 0;
	free(c->notes);
	c->notes = NULL;
	c->nnotes = 0;
	c->nrcpt = 0;
	c->qid[0] = '\0';
	mtasts_buf_free(&c->hdrs);
	liveconf_release(c->cfg);
	c->cfg = NULL;
	message_done(c);
}

/* The message's configuration; taken now if MAIL did not (never NULL). */
static const struct mtasts_config *
msg_cfg(struct conn *c)
{
	if (c->cfg == NULL)
		c->cfg = liveconf_hold();
	return c->cfg;
}

/* What to answer when memory runs out before a message has a config. */
static sfsistat
oom_reply(sfsistat tempfail, sfsistat accept)
{
	const struct mtasts_config	*cfg = liveconf_hold();
	int				 acc;

	acc = cfg->on_engine_error == MTASTS_ENGERR_ACCEPT;
	liveconf_release(cfg);
	return acc ? accept : tempfail;
}

static struct conn *
conn_get(SMFICTX *ctx)
{
	struct conn	*c;

	if ((c = smfi_getpriv(ctx)) != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	new_sid(c->sid, sizeof(c->sid));
	mtasts_buf_init(&c->hdrs, MTASTS_DSN_HEADERS_MAX);
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		free(c);
		return NULL;
	}
	return c;
}

/* The queue id once the MTA has one (Postfix: from DATA on), else ours. */
static const char *
log_id(SMFICTX *ctx, struct conn *c)
{
	const char	*i = smfi_getsymval(ctx, (char *)"i");

	if (i != NULL && *i != '\0') {
		(void)snprintf(c->qid, sizeof(c->qid), "%s", i);
		return c->qid;
	}
	return c->qid[0] != '\0' ? c->qid : c->sid;
}

/* A delivery agent of SmtpMailers: Postfix smtp, Sendmail esmtp... */
static int
smtp_mailer(const struct mtasts_config *cfg, const char *m)
{
	size_t	i;

	for (i = 0; i < cfg->smtp_mailers.n; i++)
		if (strcasecmp(m, cfg->smtp_mailers.v[i]) == 0)
			return 1;
	return 0;
}

/* "<a@b>" to "a@b"; "<>" to "". */
static char *
strip_brackets(const char *addr)
{
	size_t	len = strlen(addr);

	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
		return strndup(addr + 1, len - 2);
	return strdup(addr);
}

static int
bounce_configured(const struct mtasts_config *cfg)
{
	size_t		 i, n;
	const char	*e;

	if (cfg->failure_action == MTASTS_FAIL_BOUNCE)
		return 1;
	for (i = 0; i < cfg->domain_failure_action.n; i++) {
		e = cfg->domain_failure_action.v[i];
		n = strlen(e);
		if (n >= 7 && strcasecmp(e + n - 7, ":bounce") == 0)
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ callbacks */

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const struct mtasts_config	*cfg;
	unsigned long			 skip;

	(void)f2;
	(void)f3;
	/* Skip every stage we have no use for: less traffic per message. */
	skip = SMFIP_NOHELO | SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN |
	    SMFIP_NODATA;
	/*
	 * Headers only feed a DSN.  A reload that turns bounce on applies
	 * to this connection's messages too, whose DSNs then lack them.
	 */
	cfg = liveconf_hold();
	if (!bounce_configured(cfg))
		skip |= SMFIP_NOHDRS;
	liveconf_release(cfg);
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_DELRCPT | SMFIF_SETSYMLIST);
	*pf1 = f1 & skip;
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		(void)smfi_setsymlist(ctx, SMFIM_CONNECT, (char *)"j");
		(void)smfi_setsymlist(ctx, SMFIM_ENVFROM, (char *)"i");
		(void)smfi_setsymlist(ctx, SMFIM_ENVRCPT,
		    (char *)"i {rcpt_mailer}");
		(void)smfi_setsymlist(ctx, SMFIM_EOM, (char *)"i");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct conn	*c;
	const char	*j;

	(void)hostname;
	(void)sa;
	if ((c = conn_get(ctx)) == NULL) {
		mtasts_log(LOG_ERR, NULL, "out of memory for a connection");
		return oom_reply(SMFIS_TEMPFAIL, SMFIS_ACCEPT);
	}
	if ((j = smfi_getsymval(ctx, (char *)"j")) != NULL && c->host == NULL)
		c->host = strdup(j);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn	*c;

	if ((c = conn_get(ctx)) == NULL)
		goto oom;
	message_reset(c);
	if (message_begin(c) == -1) {
		/* Stopping: the client keeps the message and comes back. */
		(void)smfi_setreply(ctx, (char *)"451", (char *)"4.3.2",
		    (char *)"MTA-STS milter is restarting, try again later");
		return SMFIS_TEMPFAIL;
	}
	c->cfg = liveconf_hold();
	if ((c->sender = strip_brackets(argv[0] != NULL ? argv[0] : "")) ==
	    NULL)
		goto oom;
	c->arrival = (int64_t)time(NULL);
	(void)log_id(ctx, c);
	return SMFIS_CONTINUE;
oom:
	mtasts_log(LOG_ERR, NULL, "out of memory at MAIL");
	return oom_reply(SMFIS_TEMPFAIL, SMFIS_ACCEPT);
}

/* Remember a testing-mode domain once per message, for the header. */
static void
note_testing(struct conn *c, const struct mtasts_verdict *v)
{
	struct note	*n;
	size_t		 i;

	for (i = 0; i < c->nnotes; i++)
		if (strcmp(c->notes[i].domain, v->domain) == 0)
			return;
	if (c->nnotes >= MAX_NOTES || (n = reallocarray(c->notes,
	    c->nnotes + 1, sizeof(*n))) == NULL)
		return;		/* a header is information, not a duty */
	c->notes = n;
	n = &c->notes[c->nnotes++];
	(void)snprintf(n->domain, sizeof(n->domain), "%s", v->domain);
	(void)snprintf(n->policy_id, sizeof(n->policy_id), "%s", v->policy_id);
	n->would_fail = v->would_fail;
}

/* Keep a recipient for the DSN; -1 when it cannot be kept. */
static int
note_bounce(struct conn *c, const char *addr, const struct mtasts_verdict *v)
{
	struct bounce	*b;

	if (c->nbounces >= MAX_NOTES || (b = reallocarray(c->bounces,
	    c->nbounces + 1, sizeof(*b))) == NULL)
		return -1;
	c->bounces = b;
	b = &c->bounces[c->nbounces];
	if ((b->addr = strdup(addr)) == NULL)
		return -1;
	if ((b->bare = strip_brackets(addr)) == NULL) {
		free(b->addr);
		return -1;
	}
	(void)snprintf(b->status, sizeof(b->status), "%s", v->status);
	(void)snprintf(b->diag, sizeof(b->diag), "%d %s %s", v->smtp_code,
	    v->status, v->text);
	c->nbounces++;
	return 0;
}

static void
append_reason(struct mtasts_verdict *v, const char *more)
{
	size_t	n = strlen(v->reason);

	(void)snprintf(v->reason + n, sizeof(v->reason) - n, "%s", more);
}

/* A refusal as a milter reply. */
static sfsistat
refuse(SMFICTX *ctx, const char *id, const struct mtasts_verdict *v)
{
	char	code[8];

	(void)snprintf(code, sizeof(code), "%d", v->smtp_code);
	mtasts_log(LOG_DEBUG, NULL, "%s: reply %s %s %s", id, code, v->status,
	    v->text);
	if (smfi_setreply(ctx, code, (char *)v->status, (char *)v->text) !=
	    MI_SUCCESS)
		mtasts_log(LOG_WARNING, NULL, "%s: cannot set the SMTP reply "
		    "text", id);
	return v->smtp_code >= 500 ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mtasts_verdict		 v;
	const struct mtasts_config	*cfg;
	struct conn			*c;
	const char			*addr = argv[0], *mailer, *dom, *id;
	size_t				 len;

	if ((c = conn_get(ctx)) == NULL || addr == NULL) {
		mtasts_log(LOG_ERR, NULL, "out of memory at RCPT");
		return oom_reply(SMFIS_TEMPFAIL, SMFIS_CONTINUE);
	}
	cfg = msg_cfg(c);
	id = log_id(ctx, c);
	mailer = smfi_getsymval(ctx, (char *)"{rcpt_mailer}");
	if (mailer != NULL && !smtp_mailer(cfg, mailer)) {
		mtasts_log(LOG_DEBUG, NULL, "%s: rcpt %s: mailer %s does not "
		    "use SMTP; not checked", id, addr, mailer);
		c->nrcpt++;
		return SMFIS_CONTINUE;
	}
	if (mtasts_addr_domain(addr, &dom, &len) == -1) {
		/* "<postmaster>": local by definition (RFC 5321 §4.1.1.3). */
		mtasts_log(LOG_DEBUG, NULL, "%s: rcpt %s: no domain; not "
		    "checked", id, addr);
		c->nrcpt++;
		return SMFIS_CONTINUE;
	}
	mtasts_verdict_rcpt(M_engine, cfg, dom, len, cfg->rcpt_timeout * 1000,
	    &v);
	if (v.action == MTASTS_ACTION_BOUNCE && (c->sender == NULL ||
	    c->sender[0] == '\0')) {
		/* Nobody to send a DSN to (RFC 3464 §2): refuse instead. */
		v.action = MTASTS_ACTION_REJECT;
		append_reason(&v, ":null-sender");
	} else if (v.action == MTASTS_ACTION_BOUNCE &&
	    note_bounce(c, addr, &v) == -1) {
		v.action = MTASTS_ACTION_DEFER;
		v.smtp_code = 451;
		v.status[0] = '4';
		append_reason(&v, ":no-memory");
	}
	mtasts_verdict_log(id, &v);
	switch (v.action) {
	case MTASTS_ACTION_DEFER:
	case MTASTS_ACTION_REJECT:
		return refuse(ctx, id, &v);
	case MTASTS_ACTION_TESTING:
		if (v.add_header)
			note_testing(c, &v);
		break;
	default:
		break;
	}
	c->nrcpt++;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn	*c = smfi_getpriv(ctx);

	/* Kept only for a DSN; past the cap, the DSN shows what fitted. */
	if (c != NULL && c->nbounces > 0 && !c->hdrs.toobig)
		(void)mtasts_buf_printf(&c->hdrs, "%s: %s\n", name, value);
	return SMFIS_CONTINUE;
}

static void
add_testing_headers(SMFICTX *ctx, struct conn *c, const char *id)
{
	char	value[400];
	size_t	i;

	for (i = 0; i < c->nnotes; i++) {
		(void)snprintf(value, sizeof(value), "testing domain=%s "
		    "policy_id=%s result=%s", c->notes[i].domain,
		    c->notes[i].policy_id, c->notes[i].would_fail ?
		    "would-fail" : "pass");
		if (smfi_addheader(ctx, (char *)TESTING_HEADER, value) !=
		    MI_SUCCESS)
			mtasts_log(LOG_WARNING, NULL, "%s: cannot add the %s "
			    "header", id, TESTING_HEADER);
	}
}

/* Build and hand over the DSN for the bounced recipients; 0 or -1. */
static int
send_dsn(struct conn *c, const char *id)
{
	struct mtasts_dsn_rcpt	*r;
	struct mtasts_dsn	 d;
	struct mtasts_diag	 diag;
	struct mtasts_buf	 out;
	char			 host[256], boundary[64], msgid[320], rnd[20];
	char			 why[320];
	size_t			 i;
	int			 rc = -1, tries;

	if ((r = calloc(c->nbounces, sizeof(*r))) == NULL)
		return -1;
	for (i = 0; i < c->nbounces; i++) {
		r[i].addr = c->bounces[i].bare;
		r[i].status = c->bounces[i].status;
		r[i].diagnostic = c->bounces[i].diag;
	}
	if (c->host != NULL)
		(void)snprintf(host, sizeof(host), "%s", c->host);
	else if (gethostname(host, sizeof(host)) == -1)
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	memset(&d, 0, sizeof(d));
	d.reporting_mta = host;
	d.sender = c->sender;
	d.queue_id = c->qid[0] != '\0' ? c->qid : NULL;
	d.arrival = c->arrival;
	d.now = (int64_t)time(NULL);
	d.headers = c->hdrs.data;
	d.headers_len = c->hdrs.len;
	d.rcpt = r;
	d.nrcpt = c->nbounces;
	mtasts_buf_init(&out, MTASTS_DSN_MAX);
	for (tries = 0; tries < 3 && rc == -1; tries++) {
		new_sid(rnd, sizeof(rnd));
		(void)snprintf(boundary, sizeof(boundary), "=_mta-sts-%s", rnd);
		(void)snprintf(msgid, sizeof(msgid), "<%s.dsn.%s@%s>", rnd,
		    c->sid, host);
		d.boundary = boundary;
		d.message_id = msgid;
		mtasts_buf_reset(&out);
		mtasts_diag_init(&diag);
		if (mtasts_dsn_build(&d, &out, &diag) == MTASTS_OK)
			rc = 0;
	}
	if (rc == -1)
		mtasts_log(LOG_ERR, NULL, "%s: cannot build the DSN: %s", id,
		    mtasts_diag_first(&diag));
	else if (submit_message(msg_cfg(c)->sendmail_path, c->sender, out.data,
	    out.len, SUBMIT_TIMEOUT_MS, why, sizeof(why)) == -1) {
		mtasts_log(LOG_ERR, NULL, "%s: cannot send the DSN to <%s>: %s",
		    id, c->sender, why);
		rc = -1;
	} else
		mtasts_log(LOG_INFO, NULL, "%s: dsn to=<%s> recipients=%zu "
		    "status=sent", id, c->sender, c->nbounces);
	mtasts_buf_free(&out);
	free(r);
	return rc;
}

static sfsistat	eom_work(SMFICTX *, struct conn *);

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct conn	*c = smfi_getpriv(ctx);
	sfsistat	 rc;

	if (c == NULL)
		return SMFIS_CONTINUE;
	rc = eom_work(ctx, c);
	message_done(c);
	/* An idle connection holds no configuration until its next MAIL. */
	liveconf_release(c->cfg);
	c->cfg = NULL;
	return rc;
}

static sfsistat
eom_work(SMFICTX *ctx, struct conn *c)
{
	const char	*id;
	size_t		 i;

	id = log_id(ctx, c);
	if (c->nnotes > 0)
		add_testing_headers(ctx, c, id);
	if (c->nbounces == 0)
		return SMFIS_CONTINUE;
	/*
	 * Every recipient bounced: the DSN tells the whole story, and the
	 * message itself goes nowhere.
	 */
	if (c->nbounces >= c->nrcpt) {
		if (send_dsn(c, id) == -1)
			goto tempfail;
		mtasts_log(LOG_INFO, NULL, "%s: every recipient bounced; "
		    "message discarded", id);
		return SMFIS_DISCARD;
	}
	for (i = 0; i < c->nbounces; i++)
		if (smfi_delrcpt(ctx, c->bounces[i].addr) != MI_SUCCESS) {
			mtasts_log(LOG_ERR, NULL, "%s: cannot remove recipient "
			    "%s", id, c->bounces[i].addr);
			goto tempfail;
		}
	if (send_dsn(c, id) == -1)
		goto tempfail;
	return SMFIS_CONTINUE;
tempfail:
	/* The client keeps the message and tries again: nothing is lost. */
	(void)smfi_setreply(ctx, (char *)"451", (char *)"4.3.0",
	    (char *)"MTA-STS delivery status notification could not be sent; "
	    "try again later");
	return SMFIS_TEMPFAIL;
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct conn	*c = smfi_getpriv(ctx);

	if (c != NULL)
		message_reset(c);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct conn	*c = smfi_getpriv(ctx);

	if (c != NULL) {
		message_reset(c);
		free(c->host);
		free(c);
		(void)smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

/* ---------------------------------------------------------------- setup */

/* The file of a unix socket spec ("unix:/p", "local:/p", "/p"), or NULL. */
static const char *
unix_path(const char *spec)
{
	if (strncasecmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncasecmp(spec, "local:", 6) == 0)
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

int
milter_check_socket(const char *spec, struct mtasts_diag *diag)
{
	const char	*rest = NULL, *at;
	size_t		 i, plen;
	unsigned long	 port = 0;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0 ||
	    spec[0] == '/') {
		rest = spec[0] == '/' ? spec : strchr(spec, ':') + 1;
		/* libmilter would take a relative path from the cwd, "/". */
		if (rest[0] != '/' ||
		    strlen(rest) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			mtasts_diag_add(diag, 0, 0, "Socket %s: the path must "
			    "be absolute and shorter than %zu bytes", spec,
			    sizeof(((struct sockaddr_un *)0)->sun_path));
			return -1;
		}
		return 0;
	}
	if (strncmp(spec, "inet:", 5) == 0)
		rest = spec + 5;
	else if (strncmp(spec, "inet6:", 6) == 0)
		rest = spec + 6;
	if (rest == NULL) {
		mtasts_diag_add(diag, 0, 0, "Socket %s: expected inet:PORT@HOST"
		    ", inet6:PORT@HOST or unix:PATH", spec);
		return -1;
	}
	at = strchr(rest, '@');
	plen = at != NULL ? (size_t)(at - rest) : strlen(rest);
	for (i = 0; i < plen && i < 6 && rest[i] >= '0' && rest[i] <= '9'; i++)
		port = port * 10 + (unsigned long)(rest[i] - '0');
	/* libmilter would wrap 99999 silently, and take 0 as "any port". */
	if (plen == 0 || i != plen || port == 0 || port > 65535) {
		mtasts_diag_add(diag, 0, 0, "Socket %s: the port must be a "
		    "number from 1 to 65535", spec);
		return -1;
	}
	if (at != NULL && (at[1] == '\0' || strpbrk(at + 1, " \t@") != NULL)) {
		mtasts_diag_add(diag, 0, 0, "Socket %s: bad host after '@'",
		    spec);
		return -1;
	}
	return 0;
}

int
milter_setup(const struct mtasts_config *cfg, uid_t uid, gid_t gid,
    struct mtasts_diag *diag)
{
	struct smfiDesc	 desc;
	const char	*path;
	long		 mode;
	char		*end;

	if (cfg->milter_socket == NULL) {
		mtasts_diag_add(diag, 0, 0, "Socket is not set");
		return -1;
	}
	if (milter_check_socket(cfg->milter_socket, diag) == -1)
		return -1;
	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = (char *)MILTER_NAME;
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_DELRCPT | SMFIF_SETSYMLIST;
	desc.xxfi_connect = mlfi_connect;
	desc.xxfi_envfrom = mlfi_envfrom;
	desc.xxfi_envrcpt = mlfi_envrcpt;
	desc.xxfi_header = mlfi_header;
	desc.xxfi_eom = mlfi_eom;
	desc.xxfi_abort = mlfi_abort;
	desc.xxfi_close = mlfi_close;
	desc.xxfi_negotiate = mlfi_negotiate;
	free(M_conn);
	if ((M_conn = strdup(cfg->milter_socket)) == NULL) {
		mtasts_diag_add(diag, 0, 0, "out of memory");
		return -1;
	}
	if (smfi_setconn(M_conn) != MI_SUCCESS) {
		mtasts_diag_add(diag, 0, 0, "Socket %s: not a milter socket",
		    cfg->milter_socket);
		return -1;
	}
	if (smfi_register(desc) != MI_SUCCESS) {
		mtasts_diag_add(diag, 0, 0, "smfi_register failed");
		return -1;
	}
	/* 1: remove a socket file left by an earlier run. */
	if (smfi_opensocket(1) != MI_SUCCESS) {
		mtasts_diag_add(diag, 0, 0, "cannot open the milter socket %s",
		    cfg->milter_socket);
		return -1;
	}
	if ((path = unix_path(cfg->milter_socket)) != NULL &&
	    (uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) == -1) {
		mtasts_diag_add(diag, 0, 0, "cannot hand %s to the UserID: %s",
		    path, strerror(errno));
		return -1;
	}
	if (cfg->milter_socket_mode != NULL &&
	    (path = unix_path(cfg->milter_socket)) != NULL) {
		mode = strtol(cfg->milter_socket_mode, &end, 8);
		if (*end != '\0' || chmod(path, (mode_t)mode) == -1) {
			mtasts_diag_add(diag, 0, 0, "SocketMode %s on %s: %s",
			    cfg->milter_socket_mode, path, *end != '\0' ?
			    "not an octal mode" : strerror(errno));
			return -1;
		}
	}
	mtasts_log(LOG_INFO, NULL, "milter listening on %s",
	    cfg->milter_socket);
	return 0;
}

void
milter_attach(struct mtasts_engine *engine)
{
	M_engine = engine;
}

int
milter_run(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : -1;
}

void
milter_stop(void)
{
	(void)smfi_stop();
}

size_t
milter_drain(long ms)
{
	struct timespec	dl;
	size_t		left;

	pthread_mutex_lock(&M_lock);
	M_draining = 1;
	pthread_mutex_unlock(&M_lock);
	(void)clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&M_lock);
	while (M_messages > 0 &&
	    pthread_cond_timedwait(&M_idle, &M_lock, &dl) == 0)
		;
	left = M_messages;
	pthread_mutex_unlock(&M_lock);
	return left;
}
