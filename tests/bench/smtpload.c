/*
 * smtpload.c: an SMTP load client for the milter-overhead benchmark.
 *
 * Many sessions at once, each one lock-step like a sending MTA without
 * PIPELINING: greeting, EHLO, then for each message MAIL, one RCPT per
 * recipient, DATA, the body, and the next message on the same session;
 * QUIT after -m messages and a new session.  One epoll loop drives every
 * session, so the client stays cheap next to the MTA it measures.
 *
 * What it reports: accepted messages per second; the latency of every
 * RCPT (command sent to reply read), which is where a milter does its
 * work; the latency of whole messages (MAIL to the reply after the dot);
 * reply classes per command; errors.  Every message claimed ends as
 * accepted, failed (a refusal, a timeout, a broken session) or
 * unfinished (the time limit came first).
 *
 * Safety: loopback targets only (bench.c), -n messages and a hard -T
 * time limit, a cap on reply size.
 *
 * usage: smtpload [-j] [-c sessions] [-n messages] [-T seconds]
 *                 [-m per-session] [-f sender] [-r rcpt,rcpt...] [-N n]
 *                 [-s body-bytes] [-w timeout-ms] [-H helo] target
 * A "%d" in a recipient becomes a number from 0 to N-1 (-N) that changes
 * with every message, to spread recipients over many domains.
 */
#include <config.h>

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define RCPT_MAX	64
#define ADDR_MAX	256
#define INBUF		8192	/* bytes of one reply, all its lines */
#define SESS_MAX	4096
#define NEVENTS		256
#define SCAN_NS		10000000u

enum st {
	S_IDLE = 0, S_CONNECTING, S_GREETING, S_EHLO, S_MAIL, S_RCPT,
	S_DATA, S_DOT, S_RSET, S_QUIT
};

struct rcpt {
	char	*pre;		/* before %d, or the whole address */
	char	*suf;		/* after %d, NULL without one */
};

struct opts {
	struct bench_addr	 addr;
	const char		*target;
	const char		*sender;
	const char		*helo;
	struct rcpt		 rcpt[RCPT_MAX];
	unsigned		 nrcpt;
	uint64_t		 spread;	/* -N */
	unsigned		 sessions;
	uint64_t		 messages;	/* 0: until the time limit */
	uint64_t		 per_session;
	uint64_t		 limit_ns;
	uint64_t		 timeout_ns;
	size_t			 body_bytes;
};

struct counts {
	uint64_t	 sessions;	/* connections made */
	uint64_t	 claimed;	/* messages started (MAIL sent) */
	uint64_t	 accepted;	/* 250 after the dot */
	uint64_t	 failed;	/* refused, broken or timed out */
	uint64_t	 unfinished;
	uint64_t	 rcpt_ok;
	uint64_t	 rcpt_temp;	/* 4xx */
	uint64_t	 rcpt_perm;	/* 5xx */
	uint64_t	 refused_other;	/* MAIL, DATA or the dot refused */
	uint64_t	 connect_fail;
	uint64_t	 closed;	/* the server closed or reset */
	uint64_t	 timeouts;
	uint64_t	 protocol;	/* replies that are not SMTP */
	struct bench_hist rcpt_lat;
	struct bench_hist msg_lat;
};

struct sess {
	int		 fd;
	enum st		 st;
	unsigned	 next_rcpt;
	unsigned	 accepted_rcpts;
	int		 in_msg;
	uint64_t	 msgno;		/* of the message under way */
	uint64_t	 done;		/* messages on this session */
	uint64_t	 sent_at;	/* last command */
	uint64_t	 msg_at;	/* MAIL of the message under way */
	uint64_t	 retry_at;
	size_t		 inlen;
	char		 in[INBUF];
	char		*out;
	size_t		 outlen, outoff, outcap;
};

static struct opts	 O;
static struct counts	 C;
static struct sess	*S;
static int		 ep = -1;
static uint64_t		 deadline;
static char		*body;
static size_t		 bodylen;
static char		 first_error[200];
static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
note(const char *fmt, ...)
{
	va_list	 ap;

	if (first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(first_error, sizeof(first_error), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------- output */

static int
out_add(struct sess *s, const char *p, size_t n)
{
	char	*nb;
	size_t	 cap;

	if (s->outoff > 0 && s->outoff == s->outlen)
		s->outoff = s->outlen = 0;
	if (s->outlen + n > s->outcap) {
		cap = s->outcap ? s->outcap : 1024;
		while (cap < s->outlen + n)
			cap *= 2;
		if ((nb = realloc(s->out, cap)) == NULL)
			return -1;
		s->out = nb;
		s->outcap = cap;
	}
	memcpy(s->out + s->outlen, p, n);
	s->outlen += n;
	return 0;
}

static void
set_events(struct sess *s, uint32_t ev)
{
	struct epoll_event	 e;

	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &e) == -1)
		note("epoll_ctl: %s", strerror(errno));
}

static int
flush_out(struct sess *s)
{
	ssize_t	 n;

	while (s->outoff < s->outlen) {
		n = send(s->fd, s->out + s->outoff, s->outlen - s->outoff,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			note("send: %s", strerror(errno));
			return -1;
		}
		s->outoff += (size_t)n;
	}
	set_events(s, s->outoff < s->outlen ? EPOLLIN | EPOLLOUT : EPOLLIN);
	return 0;
}

/* Queue one command line (CRLF added) and start its clock. */
static int
command(struct sess *s, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
command(struct sess *s, uint64_t now, const char *fmt, ...)
{
	char	 line[2 * ADDR_MAX];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -1;
	memcpy(line + n, "\r\n", 2);
	s->sent_at = now;
	if (out_add(s, line, (size_t)n + 2) == -1)
		return -1;
	return flush_out(s);
}

/* ------------------------------------------------------- sessions */

static void sess_open(struct sess *, uint64_t);

static void
sess_close(struct sess *s, uint64_t now, int retry_later)
{
	if (s->fd != -1 && close(s->fd) == -1)
		note("close: %s", strerror(errno));
	s->fd = -1;
	if (s->in_msg) {
		C.failed++;
		s->in_msg = 0;
	}
	s->st = S_IDLE;
	s->inlen = 0;
	s->outlen = s->outoff = 0;
	s->retry_at = retry_later ? now + 10000000u : now;
}

/* Whether another message may start (and claims it). */
static int
claim(uint64_t *no)
{
	if (stopping)
		return 0;
	if (O.messages != 0 && C.claimed >= O.messages)
		return 0;
	*no = C.claimed++;
	return 1;
}

static void
rcpt_addr(unsigned j, uint64_t msgno, char *buf, size_t size)
{
	const struct rcpt	*r = &O.rcpt[j];

	if (r->suf == NULL)
		(void)snprintf(buf, size, "%s", r->pre);
	else
		(void)snprintf(buf, size, "%s%" PRIu64 "%s", r->pre,
		    (msgno * O.nrcpt + j) % O.spread, r->suf);
}

static int
send_rcpt(struct sess *s, uint64_t now)
{
	char	 a[ADDR_MAX];

	rcpt_addr(s->next_rcpt, s->msgno, a, sizeof(a));
	s->st = S_RCPT;
	return command(s, now, "RCPT TO:<%s>", a);
}

/* Next message, or QUIT when this session has done its share. */
static int
next_message(struct sess *s, uint64_t now)
{
	if ((O.per_session == 0 || s->done < O.per_session) &&
	    claim(&s->msgno)) {
		s->in_msg = 1;
		s->next_rcpt = 0;
		s->accepted_rcpts = 0;
		s->msg_at = now;
		s->st = S_MAIL;
		return command(s, now, "MAIL FROM:<%s>", O.sender);
	}
	s->st = S_QUIT;
	return command(s, now, "QUIT");
}

static void
message_end(struct sess *s, int ok, uint64_t now)
{
	if (ok) {
		C.accepted++;
		bench_hist_add(&C.msg_lat, now - s->msg_at);
	} else
		C.failed++;
	s->in_msg = 0;
	s->done++;
}

/* A complete reply with code; returns -1 to drop the session. */
static int
on_reply(struct sess *s, int code, uint64_t now)
{
	int	 cls = code / 100;

	switch (s->st) {
	case S_GREETING:
		if (cls != 2)
			break;
		s->st = S_EHLO;
		return command(s, now, "EHLO %s", O.helo);
	case S_EHLO:
		if (cls != 2)
			break;
		return next_message(s, now);
	case S_MAIL:
		if (cls != 2) {
			C.refused_other++;
			message_end(s, 0, now);
			s->st = S_RSET;
			return command(s, now, "RSET");
		}
		return send_rcpt(s, now);
	case S_RCPT:
		bench_hist_add(&C.rcpt_lat, now - s->sent_at);
		if (cls == 2) {
			C.rcpt_ok++;
			s->accepted_rcpts++;
		} else if (cls == 4)
			C.rcpt_temp++;
		else
			C.rcpt_perm++;
		if (++s->next_rcpt < O.nrcpt)
			return send_rcpt(s, now);
		if (s->accepted_rcpts == 0) {
			message_end(s, 0, now);
			s->st = S_RSET;
			return command(s, now, "RSET");
		}
		s->st = S_DATA;
		return command(s, now, "DATA");
	case S_DATA:
		if (code != 354) {
			C.refused_other++;
			message_end(s, 0, now);
			s->st = S_RSET;
			return command(s, now, "RSET");
		}
		s->st = S_DOT;
		s->sent_at = now;
		if (out_add(s, body, bodylen) == -1)
			return -1;
		return flush_out(s);
	case S_DOT:
		if (cls != 2)
			C.refused_other++;
		message_end(s, cls == 2, now);
		return next_message(s, now);
	case S_RSET:
		if (cls != 2)
			break;
		return next_message(s, now);
	case S_QUIT:
		sess_close(s, now, 0);
		return 0;
	default:
		break;
	}
	note("unexpected reply %d in state %d", code, (int)s->st);
	C.protocol++;
	return -1;
}

/*
 * Take complete replies out of s->in: lines "ddd-..." continue, the line
 * "ddd ..." (or "ddd" alone) ends a reply.
 */
static int
parse_replies(struct sess *s, uint64_t now)
{
	char	*line = s->in, *end, *eol;
	int	 code;

	end = s->in + s->inlen;
	while ((eol = memchr(line, '\n', (size_t)(end - line))) != NULL) {
		if (eol - line < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (eol - line > 3 && line[3] != ' ' &&
		    line[3] != '-' && line[3] != '\r')) {
			note("not an SMTP reply line");
			C.protocol++;
			return -1;
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		if (eol - line > 3 && line[3] == '-') {
			line = eol + 1;
			continue;
		}
		line = eol + 1;
		/* Consume up to here before acting (the state changes). */
		memmove(s->in, line, (size_t)(end - line));
		s->inlen = (size_t)(end - line);
		if (on_reply(s, code, now) == -1)
			return -1;
		if (s->fd == -1)
			return 0;
		line = s->in;
		end = s->in + s->inlen;
	}
	if (s->inlen == sizeof(s->in)) {
		note("reply longer than %d bytes", INBUF);
		C.protocol++;
		return -1;
	}
	return 0;
}

static void
sess_read(struct sess *s, uint64_t now)
{
	ssize_t	 n;

	n = recv(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (s->st != S_QUIT) {
			note("server closed the session%s%s", n == 0 ? "" :
			    ": ", n == 0 ? "" : strerror(errno));
			C.closed++;
		}
		sess_close(s, now, s->st != S_QUIT);
		return;
	}
	s->inlen += (size_t)n;
	if (parse_replies(s, now) == -1)
		sess_close(s, now, 1);
}

static void
sess_open(struct sess *s, uint64_t now)
{
	struct epoll_event	 e;
	int			 one = 1;

	if (stopping || now >= deadline ||
	    (O.messages != 0 && C.claimed >= O.messages))
		return;
	s->fd = socket(O.addr.family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->fd == -1) {
		note("socket: %s", strerror(errno));
		C.connect_fail++;
		s->retry_at = now + 100000000u;
		return;
	}
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->sent_at = now;
	s->st = S_CONNECTING;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLOUT;
	e.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &e) == -1 ||
	    (connect(s->fd, (const struct sockaddr *)&O.addr.ss,
	    O.addr.len) == -1 && errno != EINPROGRESS)) {
		note("connect %s: %s", O.target, strerror(errno));
		C.connect_fail++;
		sess_close(s, now, 1);
		s->retry_at = now + 100000000u;
	}
}

static void
sess_event(struct sess *s, uint32_t ev, uint64_t now)
{
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	if (s->st == S_CONNECTING) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			note("connect %s: %s", O.target, strerror(err));
			C.connect_fail++;
			sess_close(s, now, 1);
			s->retry_at = now + 100000000u;
			return;
		}
		C.sessions++;
		s->done = 0;
		s->st = S_GREETING;
		s->sent_at = now;
		set_events(s, EPOLLIN);
		return;
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		sess_read(s, now);
		return;
	}
	if ((ev & EPOLLOUT) && flush_out(s) == -1) {
		C.closed++;
		sess_close(s, now, 1);
	}
}

/* Timeouts and reconnects. */
static void
scan(uint64_t now)
{
	struct sess	*s;
	unsigned	 i;

	for (i = 0; i < O.sessions; i++) {
		s = &S[i];
		if (s->st == S_IDLE) {
			if (now >= s->retry_at)
				sess_open(s, now);
		} else if (now - s->sent_at > O.timeout_ns) {
			note("no reply within the timeout (state %d)",
			    (int)s->st);
			C.timeouts++;
			sess_close(s, now, 1);
		}
	}
}

static int
busy(void)
{
	unsigned	 i;

	for (i = 0; i < O.sessions; i++)
		if (S[i].st != S_IDLE)
			return 1;
	return 0;
}

/* ------------------------------------------------------- setup, report */

static void
make_body(void)
{
	size_t	 n = 0, cap = O.body_bytes + 512;
	int	 k;

	if ((body = malloc(cap)) == NULL) {
		fprintf(stderr, "smtpload: out of memory\n");
		exit(1);
	}
	k = snprintf(body, cap, "From: <%s>\r\nSubject: smtpload\r\n"
	    "Message-ID: <smtpload.%ld@%s>\r\n\r\n", O.sender, (long)getpid(),
	    O.helo);
	n = (size_t)k;
	while (n + 74 + 3 < cap && n < O.body_bytes) {
		memset(body + n, 'x', 72);
		memcpy(body + n + 72, "\r\n", 2);
		n += 74;
	}
	memcpy(body + n, ".\r\n", 3);
	bodylen = n + 3;
}

static int
add_rcpts(const char *list)
{
	const char	*p = list, *comma, *pct;
	char		 a[ADDR_MAX];
	size_t		 n;

	while (*p != '\0') {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || n >= sizeof(a) || O.nrcpt >= RCPT_MAX)
			return -1;
		memcpy(a, p, n);
		a[n] = '\0';
		if ((pct = strstr(a, "%d")) != NULL) {
			O.rcpt[O.nrcpt].pre = strndup(a, (size_t)(pct - a));
			O.rcpt[O.nrcpt].suf = strdup(pct + 2);
			if (strchr(O.rcpt[O.nrcpt].suf, '%') != NULL)
				return -1;
		} else
			O.rcpt[O.nrcpt].pre = strdup(a);
		if (O.rcpt[O.nrcpt].pre == NULL)
			return -1;
		O.nrcpt++;
		p += n;
		if (*p == ',')
			p++;
	}
	return O.nrcpt > 0 ? 0 : -1;
}

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void
report(int json, double elapsed, double cpu)
{
	const struct bench_hist	*r = &C.rcpt_lat, *m = &C.msg_lat;
	double			 rate = elapsed > 0 ? (double)C.accepted /
				    elapsed : 0.0;
	uint64_t		 errors = C.connect_fail + C.closed +
				    C.timeouts + C.protocol;

	if (json) {
		printf("{\"target\": \"%s\", \"sessions\": %u, "
		    "\"recipients\": %u, \"elapsed_s\": %.6f, "
		    "\"messages_per_s\": %.1f, \"claimed\": %" PRIu64
		    ", \"accepted\": %" PRIu64 ", \"failed\": %" PRIu64
		    ", \"unfinished\": %" PRIu64 ", \"connections\": %" PRIu64
		    ", \"rcpt\": {\"ok\": %" PRIu64 ", \"temp\": %" PRIu64
		    ", \"perm\": %" PRIu64 "}, \"refused_other\": %" PRIu64
		    ", ", O.target, O.sessions, O.nrcpt, elapsed, rate,
		    C.claimed, C.accepted, C.failed, C.unfinished, C.sessions,
		    C.rcpt_ok, C.rcpt_temp, C.rcpt_perm, C.refused_other);
		printf("\"rcpt_latency_us\": {\"p50\": %.1f, \"p90\": %.1f, "
		    "\"p99\": %.1f, \"max\": %.1f, \"mean\": %.1f}, "
		    "\"message_latency_us\": {\"p50\": %.1f, \"p90\": %.1f, "
		    "\"p99\": %.1f, \"max\": %.1f}, ",
		    us(bench_hist_quantile(r, 0.5)),
		    us(bench_hist_quantile(r, 0.9)),
		    us(bench_hist_quantile(r, 0.99)), us(r->max),
		    r->n ? r->sum / (double)r->n / 1000.0 : 0.0,
		    us(bench_hist_quantile(m, 0.5)),
		    us(bench_hist_quantile(m, 0.9)),
		    us(bench_hist_quantile(m, 0.99)), us(m->max));
		printf("\"errors\": {\"connect\": %" PRIu64 ", \"closed\": %"
		    PRIu64 ", \"timeouts\": %" PRIu64 ", \"protocol\": %" PRIu64
		    "}, \"errors_total\": %" PRIu64 ", \"cpu_percent\": %.1f, "
		    "\"first_error\": \"", C.connect_fail, C.closed,
		    C.timeouts, C.protocol, errors, cpu);
		for (const char *p = first_error; *p != '\0'; p++)
			if (*p != '"' && *p != '\\' && *p >= ' ')
				putchar(*p);
		printf("\"}\n");
		return;
	}
	printf("smtpload %s: %u sessions, %u recipients per message\n",
	    O.target, O.sessions, O.nrcpt);
	printf("  elapsed %.3f s; %.1f messages/s accepted\n", elapsed, rate);
	printf("  messages: claimed %" PRIu64 " = accepted %" PRIu64
	    " + failed %" PRIu64 " + unfinished %" PRIu64 "; %" PRIu64
	    " connections\n", C.claimed, C.accepted, C.failed, C.unfinished,
	    C.sessions);
	printf("  rcpt replies: 2xx %" PRIu64 ", 4xx %" PRIu64 ", 5xx %"
	    PRIu64 "; other commands refused %" PRIu64 "\n", C.rcpt_ok,
	    C.rcpt_temp, C.rcpt_perm, C.refused_other);
	printf("  rcpt latency us: p50 %.1f p90 %.1f p99 %.1f max %.1f\n",
	    us(bench_hist_quantile(r, 0.5)), us(bench_hist_quantile(r, 0.9)),
	    us(bench_hist_quantile(r, 0.99)), us(r->max));
	printf("  message latency us: p50 %.1f p90 %.1f p99 %.1f max %.1f\n",
	    us(bench_hist_quantile(m, 0.5)), us(bench_hist_quantile(m, 0.9)),
	    us(bench_hist_quantile(m, 0.99)), us(m->max));
	printf("  errors: connect %" PRIu64 ", closed %" PRIu64 ", timeouts %"
	    PRIu64 ", protocol %" PRIu64 "; client cpu %.1f%%\n",
	    C.connect_fail, C.closed, C.timeouts, C.protocol, cpu);
	if (first_error[0] != '\0')
		printf("  first error: %s\n", first_error);
}

static void
usage(void)
{
	fprintf(stderr,
"usage: smtpload [-j] [-c sessions] [-n messages] [-T seconds]\n"
"                [-m per-session] [-f sender] [-r rcpt,rcpt...] [-N n]\n"
"                [-s body-bytes] [-w timeout-ms] [-H helo] target\n"
"  target: inet:host:port (loopback only)\n");
	exit(2);
}

static void
numopt(const char *arg, long long min, long long max, long long *out)
{
	if (bench_parse_num(arg, min, max, out) == -1)
		usage();
}

static void
parse_options(int argc, char *argv[], int *json)
{
	char		 err[256];
	long long	 v;
	int		 ch;

	while ((ch = getopt(argc, argv, "c:f:H:jm:N:n:r:s:T:w:")) != -1) {
		switch (ch) {
		case 'c':
			numopt(optarg, 1, SESS_MAX, &v);
			O.sessions = (unsigned)v;
			break;
		case 'f':
			O.sender = optarg;
			break;
		case 'H':
			O.helo = optarg;
			break;
		case 'j':
			*json = 1;
			break;
		case 'm':
			numopt(optarg, 0, 1000000000LL, &v);
			O.per_session = (uint64_t)v;
			break;
		case 'N':
			numopt(optarg, 1, 1000000000LL, &v);
			O.spread = (uint64_t)v;
			break;
		case 'n':
			numopt(optarg, 0, 1000000000000LL, &v);
			O.messages = (uint64_t)v;
			break;
		case 'r':
			if (add_rcpts(optarg) == -1)
				usage();
			break;
		case 's':
			numopt(optarg, 0, 10000000, &v);
			O.body_bytes = (size_t)v;
			break;
		case 'T':
			if (bench_parse_seconds(optarg, 86400, &O.limit_ns) == -1)
				usage();
			break;
		case 'w':
			numopt(optarg, 1, 3600000, &v);
			O.timeout_ns = (uint64_t)v * 1000000;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || O.nrcpt == 0 ||
	    strchr(O.sender, '>') != NULL)
		usage();
	O.target = argv[optind];
	if (strncmp(O.target, "unix:", 5) == 0 ||
	    bench_addr_parse(O.target, 0, &O.addr, err, sizeof(err)) == -1) {
		fprintf(stderr, "smtpload: %s\n", strncmp(O.target, "unix:",
		    5) == 0 ? "SMTP targets are inet:host:port" : err);
		exit(2);
	}
}

static double
tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 evs[NEVENTS];
	struct sigaction	 sa;
	struct rusage		 ru0, ru1;
	uint64_t		 start, now, last;
	unsigned		 i;
	int			 json = 0, n;

	O.sessions = 1;
	O.messages = 1000;
	O.per_session = 100;
	O.limit_ns = 10 * (uint64_t)1000000000;
	O.timeout_ns = 30 * (uint64_t)1000000000;
	O.body_bytes = 1000;
	O.spread = 1;
	O.sender = "smtpload@mailbox.sts-lab.test";
	O.helo = "smtpload.sts-lab.test";
	parse_options(argc, argv, &json);
	make_body();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (S = calloc(O.sessions, sizeof(*S))) == NULL ||
	    getrusage(RUSAGE_SELF, &ru0) == -1) {
		perror("smtpload: setup");
		return 1;
	}
	start = last = bench_now_ns();
	deadline = start + O.limit_ns;
	for (i = 0; i < O.sessions; i++) {
		S[i].fd = -1;
		sess_open(&S[i], start);
	}
	for (;;) {
		now = bench_now_ns();
		if (now >= deadline || stopping)
			break;
		if (O.messages != 0 && C.claimed >= O.messages && !busy())
			break;
		if (now - last >= SCAN_NS) {
			scan(now);
			last = now;
		}
		n = epoll_wait(ep, evs, NEVENTS, (int)(SCAN_NS / 1000000));
		if (n == -1 && errno != EINTR) {
			note("epoll_wait: %s", strerror(errno));
			break;
		}
		now = bench_now_ns();
		for (i = 0; i < (unsigned)(n > 0 ? n : 0); i++)
			sess_event(evs[i].data.ptr, evs[i].events, now);
	}
	now = bench_now_ns();
	for (i = 0; i < O.sessions; i++) {
		if (S[i].in_msg) {
			C.unfinished++;
			S[i].in_msg = 0;
		}
		if (S[i].fd != -1)
			(void)close(S[i].fd);
		free(S[i].out);
	}
	if (getrusage(RUSAGE_SELF, &ru1) == -1)
		memset(&ru1, 0, sizeof(ru1));
	report(json, (double)(now - start) / 1e9,
	    now > start ? 100.0 * (tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime) +
	    tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime)) /
	    ((double)(now - start) / 1e9) : 0.0);
	free(S);
	free(body);
	if (fflush(stdout) == EOF)
		return 1;
	return C.failed || C.connect_fail || C.closed || C.timeouts ||
	    C.protocol ? 1 : 0;
}
