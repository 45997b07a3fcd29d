/*
 * smload.c: a load generator for socketmap servers, the netstring
 * protocol that Postfix's smtp_tls_policy_maps and Sendmail's socket maps
 * speak (request "<len>:<map> <key>,", reply "<len>:OK <value>," and so
 * on; see tests/bench/README).
 *
 * Model.  Each connection plays one Postfix smtp process: it sends a
 * request, waits for the reply, and sends the next one on the same
 * connection (lock-step).  With -d N it keeps up to N requests in flight
 * instead (pipelining, which Postfix never does but which shows what a
 * server could do).  One epoll loop per thread drives all of that
 * thread's connections, so a single generator thread keeps many
 * connections busy and the generator stays cheap next to the server it
 * measures.
 *
 * Counting.  Every request sent ends in exactly one of: a reply; a client
 * timeout; lost, when its connection broke first (closed or reset by the
 * server, malformed reply); unfinished, when the time limit came first.
 * So sent == replies + timeouts + lost + unfinished at the end, and the
 * report shows it.
 *
 * Latency runs from the moment a request is queued for writing to the
 * moment its reply has been read, on CLOCK_MONOTONIC, into a log-linear
 * histogram (bench_hist in bench.c): 128 linear sub-buckets per power of
 * two, so a percentile is exact to within 1/128 (0.8%) and memory stays
 * at a few tens of kilobytes per thread, however many requests are sent.
 *
 * Retries and pauses.  With -R a TEMP reply is not taken as final: the
 * connection asks the same key again after a pause, as an MTA that was
 * told "try later" would, and the latency of that key runs from its first
 * request to its final reply; this is how a server that answers "pending"
 * while it discovers in the background is timed against one that holds
 * the reply until it knows.  With -i each connection waits between a
 * reply and its next request (an MTA process that has other work), which
 * keeps a side load from measuring only how fast it can spin.
 *
 * Safety.  Only loopback addresses and unix sockets are accepted (see
 * bench.c), every loop ends by count or by the hard time limit (-T), and
 * reply frames are parsed with a length cap (-L).
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
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MAP_MAX		64		/* bytes in a map name */
#define KEY_MAX		512		/* bytes in a key */
#define REQ_MAX		(16 + MAP_MAX + 1 + KEY_MAX + 1)
#define HEAD_MAX	256		/* reply bytes kept for classifying */
#define KEYS_FILE_MAX	10000000	/* keys read from a file */
#define DEPTH_MAX	1024
#define CONNS_MAX	65536
#define THREADS_MAX	64
#define CONNECT_TRIES	10		/* consecutive failures, then give up */
#define SCAN_NS		5000000u	/* timeout and retry scan, 5 ms */
#define NEVENTS		256
#define RBUF_SIZE	65536

enum kind {
	KIND_OK = 0,
	KIND_NOTFOUND,
	KIND_TEMP,
	KIND_PERM,
	KIND_TIMEOUT,
	KIND_OTHER,
	KIND_MAX
};

static const char *const kind_names[KIND_MAX] = {
	"OK", "NOTFOUND", "TEMP", "PERM", "TIMEOUT", "other"
};

enum keymode {
	KEYS_HOT = 0,
	KEYS_UNIFORM,
	KEYS_COLD,
	KEYS_FILE
};

struct keyspec {
	enum keymode	 mode;
	const char	*text;		/* as given, for the report */
	char		*pre;		/* hot: the key; else text before %d */
	char		*suf;		/* text after %d */
	uint64_t	 n;		/* uniform: number of domains */
	char		**keys;		/* file: the keys */
	size_t		 nkeys;
};


struct stats {
	uint64_t	 sent;
	uint64_t	 replies;
	uint64_t	 kinds[KIND_MAX];
	uint64_t	 unexpected;	/* reply differs from -e */
	uint64_t	 connects;	/* successful connects */
	uint64_t	 reconnects;	/* connects after the first, per conn */
	uint64_t	 connect_fail;
	uint64_t	 gave_up;	/* connections abandoned */
	uint64_t	 closed;	/* server closed or reset the stream */
	uint64_t	 malformed;
	uint64_t	 timeouts;
	uint64_t	 lost;
	uint64_t	 unfinished;
	uint64_t	 answered;	/* final replies (all, without -R) */
	uint64_t	 retries;	/* TEMP replies asked again (-R) */
	uint64_t	 retry_dropped;	/* keys whose retry never went out */
	struct bench_hist lat;
};

/* What every thread shares; read-only once the threads run. */
struct run {
	struct bench_addr	 addr;
	const char		*target;
	const char		*map;
	struct keyspec		 keys;
	uint64_t		 total;		/* 0: until the time limit */
	uint64_t		 start;
	uint64_t		 limit_ns;
	uint64_t		 deadline;
	uint64_t		 timeout_ns;
	uint64_t		 reconnect_every;
	uint64_t		 retry_ns;	/* -R: TEMP asked again after */
	uint64_t		 pause_ns;	/* -i: wait after each reply */
	uint64_t		 seed;
	unsigned		 depth;
	unsigned		 nconns;
	unsigned		 nthreads;
	size_t			 maxreply;
	const char		*expect;
	size_t			 expectlen;
	atomic_uint_fast64_t	 claimed;
};

enum { C_IDLE = 0, C_CONNECTING, C_OPEN, C_WAIT, C_DEAD };
enum { RP_LEN = 0, RP_BODY, RP_COMMA, RP_DONE };
enum rp_status { RP_MORE, RP_FRAME, RP_ERROR };

/* Incremental reader of one reply netstring. */
struct reply {
	int		 state;
	int		 digits;
	size_t		 want;		/* declared payload length */
	size_t		 got;		/* payload bytes seen */
	size_t		 headlen;
	char		 head[HEAD_MAX];
};

struct worker;

struct conn {
	struct worker	*w;
	int		 fd;
	int		 state;
	int		 events;	/* epoll interest */
	int		 ever;		/* has been connected once */
	int		 failures;	/* consecutive connect failures */
	uint64_t	 since;		/* connect started */
	uint64_t	 retry_at;
	uint64_t	 issued;	/* requests on this connection */
	uint64_t	 pause_until;	/* no request before (0: none) */
	uint64_t	 first_at;	/* -R: first request of this key */
	int		 retry_pending;	/* -R: key[] is to be asked again */
	int		 keylen;
	char		 key[KEY_MAX + 1];	/* the key in flight (-R) */
	uint64_t	*sent_at;	/* ring of depth send times */
	unsigned	 head;
	unsigned	 count;		/* requests in flight */
	char		*out;
	size_t		 outoff;
	size_t		 outlen;
	size_t		 outcap;
	struct reply	 rp;
};

struct worker {
	pthread_t	 tid;
	struct run	*run;
	int		 ep;
	struct conn	*conns;
	unsigned	 nconns;
	unsigned	 dead;
	uint64_t	 inflight;
	uint64_t	 pending;	/* keys waiting for their retry */
	uint64_t	 next_wake;	/* earliest pause_until, or UINT64_MAX */
	int		 exhausted;	/* no more requests to claim */
	int		 hit_limit;
	uint64_t	 rng;
	struct stats	 st;
	char		 why[160];	/* first error seen, for the report */
	char		 rbuf[RBUF_SIZE];
};

static volatile sig_atomic_t	 stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
note(struct worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note(struct worker *w, const char *fmt, ...)
{
	va_list	 ap;

	if (w->why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------- replies */

static void
reply_reset(struct reply *r)
{
	r->state = RP_LEN;
	r->digits = 0;
	r->want = 0;
	r->got = 0;
	r->headlen = 0;
}

/*
 * Feed p[0..len) to the reply reader; *used gets the bytes consumed.
 * RP_FRAME: a reply is complete (up to its comma), its first bytes are in
 * r->head.  RP_ERROR: the stream is not netstrings; *why says how.
 * Leading zeros in the length are accepted, as Postfix accepts them.
 */
static enum rp_status
reply_feed(struct reply *r, size_t max, const char *p, size_t len,
    size_t *used, const char **why)
{
	size_t		 i, n, keep;
	unsigned char	 c;

	if (r->state == RP_DONE)
		reply_reset(r);
	for (i = 0; i < len;) {
		switch (r->state) {
		case RP_LEN:
			c = (unsigned char)p[i++];
			if (c >= '0' && c <= '9') {
				r->want = r->want * 10 + (c - '0');
				if (++r->digits > 9 || r->want > max) {
					*why = "reply longer than the limit";
					goto bad;
				}
			} else if (c == ':' && r->digits > 0) {
				r->state = r->want ? RP_BODY : RP_COMMA;
			} else {
				*why = c == ':' ? "reply length missing" :
				    "bad byte in reply length";
				goto bad;
			}
			break;
		case RP_BODY:
			n = r->want - r->got;
			if (n > len - i)
				n = len - i;
			keep = HEAD_MAX - r->headlen;
			if (keep > n)
				keep = n;
			memcpy(r->head + r->headlen, p + i, keep);
			r->headlen += keep;
			r->got += n;
			i += n;
			if (r->got == r->want)
				r->state = RP_COMMA;
			break;
		case RP_COMMA:
			if (p[i++] != ',') {
				*why = "reply not followed by a comma";
				goto bad;
			}
			r->state = RP_DONE;
			*used = i;
			return RP_FRAME;
		}
	}
	*used = i;
	return RP_MORE;
bad:
	*used = i;
	return RP_ERROR;
}

/* Classify a reply by its first word, as Postfix's dict_sockmap does. */
static enum kind
reply_kind(const struct reply *r)
{
	const char	*sp;
	size_t		 wlen, i;

	sp = memchr(r->head, ' ', r->headlen);
	if (sp != NULL)
		wlen = (size_t)(sp - r->head);
	else if (r->headlen == r->want)
		wlen = r->headlen;
	else
		return KIND_OTHER;
	for (i = 0; i < KIND_OTHER; i++)
		if (strlen(kind_names[i]) == wlen &&
		    memcmp(kind_names[i], r->head, wlen) == 0)
			return (enum kind)i;
	return KIND_OTHER;
}

/* ------------------------------------------------------- keys */

/* Split a pattern with exactly one %d ("%%" is a literal percent sign). */
static int
pattern_parse(const char *fmt, struct keyspec *ks, char *err, size_t errlen)
{
	char		*buf, *o, *split;
	const char	*p;

	if ((buf = malloc(strlen(fmt) + 2)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	split = NULL;
	for (p = fmt, o = buf; *p != '\0'; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		if (p[1] == '%') {
			*o++ = '%';
			p++;
		} else if (p[1] == 'd' && split == NULL) {
			*o++ = '\0';
			split = o;
			p++;
		} else {
			snprintf(err, errlen, "pattern \"%s\": use one %%d "
			    "and %%%% only", fmt);
			free(buf);
			return -1;
		}
	}
	*o = '\0';
	if (split == NULL || strlen(buf) + strlen(split) + 20 > KEY_MAX) {
		snprintf(err, errlen, "pattern \"%s\" has no %%d or is too "
		    "long", fmt);
		free(buf);
		return -1;
	}
	ks->pre = buf;
	ks->suf = split;
	return 0;
}

static int
keys_add(struct keyspec *ks, size_t *cap, const char *line, size_t len)
{
	char	**nk;

	if (ks->nkeys == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		if ((nk = reallocarray(ks->keys, *cap, sizeof(*nk))) == NULL)
			return -1;
		ks->keys = nk;
	}
	if ((ks->keys[ks->nkeys] = strndup(line, len)) == NULL)
		return -1;
	ks->nkeys++;
	return 0;
}

/* Keys from a file, one a line; blank lines and "#" comments skipped. */
static int
keys_load(struct keyspec *ks, const char *path, char *err, size_t errlen)
{
	FILE	*fp;
	char	*line = NULL;
	size_t	 linecap = 0, cap = 0, lineno = 0, n;
	ssize_t	 got;
	int	 rc = -1;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((got = getline(&line, &linecap, fp)) != -1) {
		n = (size_t)got;
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0 || line[0] == '#')
			continue;
		if (n > KEY_MAX || ks->nkeys >= KEYS_FILE_MAX) {
			snprintf(err, errlen, "%s:%zu: key too long or too "
			    "many keys", path, lineno);
			goto out;
		}
		if (keys_add(ks, &cap, line, n) == -1) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (ks->nkeys == 0) {
		snprintf(err, errlen, "%s: no keys", path);
		goto out;
	}
	rc = 0;
out:
	free(line);
	if (fclose(fp) == EOF && rc == 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

static int
keys_parse(const char *spec, struct keyspec *ks, char *err, size_t errlen)
{
	const char	*colon;
	char		 num[32];
	long long	 n;

	memset(ks, 0, sizeof(*ks));
	ks->text = spec;
	if (strncmp(spec, "hot:", 4) == 0) {
		ks->mode = KEYS_HOT;
		if (spec[4] == '\0' || strlen(spec + 4) > KEY_MAX ||
		    (ks->pre = strdup(spec + 4)) == NULL) {
			snprintf(err, errlen, "hot: needs a domain");
			return -1;
		}
		return 0;
	}
	if (strncmp(spec, "cold:", 5) == 0) {
		ks->mode = KEYS_COLD;
		return pattern_parse(spec + 5, ks, err, errlen);
	}
	if (strncmp(spec, "file:", 5) == 0) {
		ks->mode = KEYS_FILE;
		return keys_load(ks, spec + 5, err, errlen);
	}
	if (strncmp(spec, "uniform:", 8) == 0) {
		ks->mode = KEYS_UNIFORM;
		colon = strchr(spec + 8, ':');
		if (colon == NULL || (size_t)(colon - (spec + 8)) >=
		    sizeof(num)) {
			snprintf(err, errlen, "expected uniform:N:PATTERN");
			return -1;
		}
		memcpy(num, spec + 8, (size_t)(colon - (spec + 8)));
		num[colon - (spec + 8)] = '\0';
		if (bench_parse_num(num, 1, 4294967296LL, &n) == -1) {
			snprintf(err, errlen, "uniform: bad N \"%s\"", num);
			return -1;
		}
		ks->n = (uint64_t)n;
		return pattern_parse(colon + 1, ks, err, errlen);
	}
	snprintf(err, errlen, "keys \"%s\": expected hot:, uniform:, cold: "
	    "or file:", spec);
	return -1;
}

static void
keys_free(struct keyspec *ks)
{
	size_t	 i;

	for (i = 0; i < ks->nkeys; i++)
		free(ks->keys[i]);
	free(ks->keys);
	free(ks->pre);
}

/* xorshift64*: fast, and good enough to pick among N domains. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Key number idx (the idx-th request of the run) into buf. */
static int
key_make(struct worker *w, uint64_t idx, char *buf, size_t size)
{
	const struct keyspec	*ks = &w->run->keys;
	uint64_t		 i;
	int			 n;

	switch (ks->mode) {
	case KEYS_HOT:
		n = snprintf(buf, size, "%s", ks->pre);
		break;
	case KEYS_FILE:
		n = snprintf(buf, size, "%s", ks->keys[idx % ks->nkeys]);
		break;
	case KEYS_UNIFORM:
	case KEYS_COLD:
	default:
		i = ks->mode == KEYS_COLD ? idx : rng_next(&w->rng) % ks->n;
		n = snprintf(buf, size, "%s%" PRIu64 "%s", ks->pre, i,
		    ks->suf);
		break;
	}
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* ------------------------------------------------------- requests */

static int
claim(struct worker *w, uint64_t *idx)
{
	struct run	*r = w->run;

	if (w->exhausted || stopping)
		return 0;
	*idx = atomic_fetch_add_explicit(&r->claimed, 1,
	    memory_order_relaxed);
	if (r->total != 0 && *idx >= r->total) {
		w->exhausted = 1;
		return 0;
	}
	return 1;
}

/* Append one framed request for key to c->out and start its clock. */
static int
queue_key(struct worker *w, struct conn *c, const char *key, int klen,
    uint64_t now)
{
	struct run	*r = w->run;
	int		 n;

	if (c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	n = snprintf(c->out + c->outlen, c->outcap - c->outlen, "%zu:%s %s,",
	    strlen(r->map) + 1 + (size_t)klen, r->map, key);
	if (n < 0 || (size_t)n >= c->outcap - c->outlen) {
		note(w, "request buffer full");
		return -1;
	}
	c->outlen += (size_t)n;
	c->sent_at[(c->head + c->count) % r->depth] = now;
	c->count++;
	c->issued++;
	w->inflight++;
	w->st.sent++;
	return 0;
}

/* Append request number idx; with -R its key is kept for a retry. */
static int
queue_request(struct worker *w, struct conn *c, uint64_t idx, uint64_t now)
{
	char	 key[KEY_MAX + 1];
	int	 klen;

	if ((klen = key_make(w, idx, key, sizeof(key))) == -1) {
		note(w, "key number %" PRIu64 " too long", idx);
		return -1;
	}
	if (w->run->retry_ns) {
		memcpy(c->key, key, (size_t)klen + 1);
		c->keylen = klen;
		c->first_at = now;
	}
	return queue_key(w, c, key, klen, now);
}

static void
set_events(struct conn *c, int events)
{
	struct epoll_event	 ev;

	if (c->events == events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = (uint32_t)events;
	ev.data.ptr = c;
	if (epoll_ctl(c->w->ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    c->fd, &ev) == -1)
		note(c->w, "epoll_ctl: %s", strerror(errno));
	else
		c->events = events;
}

/* Write what is queued.  Returns 0, or -1 if the stream broke. */
static int
conn_flush(struct conn *c)
{
	ssize_t	 n;

	if (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			note(c->w, "send: %s", strerror(errno));
			return -1;
		}
		if (n > 0)
			c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		set_events(c, EPOLLIN);
	} else
		set_events(c, EPOLLIN | EPOLLOUT);
	return 0;
}

static int
conn_fill(struct worker *w, struct conn *c, uint64_t now)
{
	struct run	*r = w->run;
	uint64_t	 idx;

	while (c->count < r->depth) {
		if (c->pause_until != 0)
			break;
		if (r->reconnect_every && c->issued >= r->reconnect_every)
			break;
		if (!claim(w, &idx))
			break;
		if (queue_request(w, c, idx, now) == -1)
			return -1;
	}
	return conn_flush(c);
}

/* ------------------------------------------------------- sockets */

static void
conn_close(struct conn *c)
{
	if (c->retry_pending) {
		c->retry_pending = 0;
		c->w->pending--;
		c->w->st.retry_dropped++;
	}
	c->pause_until = 0;
	if (c->fd != -1 && close(c->fd) == -1)
		note(c->w, "close: %s", strerror(errno));
	c->fd = -1;
	c->events = 0;
	c->state = C_IDLE;
	c->outoff = c->outlen = 0;
	reply_reset(&c->rp);
}

/*
 * Give up the requests in flight, counting them in *bucket, and redial
 * at the next scan: dialling from here could recurse without bound
 * against a server that accepts and closes at once.
 */
static void
conn_break(struct worker *w, struct conn *c, uint64_t *bucket, uint64_t now)
{
	*bucket += c->count;
	w->inflight -= c->count;
	c->count = 0;
	c->head = 0;
	conn_close(c);
	c->state = C_WAIT;
	c->retry_at = now;
}

static void
connect_failed(struct worker *w, struct conn *c, uint64_t now, int err)
{
	uint64_t	 backoff;

	note(w, "connect %s: %s", w->run->target, strerror(err));
	conn_close(c);
	w->st.connect_fail++;
	if (++c->failures >= CONNECT_TRIES) {
		c->state = C_DEAD;
		w->dead++;
		w->st.gave_up++;
		return;
	}
	backoff = (uint64_t)10000000 << (c->failures - 1);	/* 10 ms .. */
	if (backoff > 500000000u)
		backoff = 500000000u;
	c->state = C_WAIT;
	c->retry_at = now + backoff;
}

static void
conn_ready(struct worker *w, struct conn *c, uint64_t now)
{
	c->state = C_OPEN;
	c->failures = 0;
	c->issued = 0;
	w->st.connects++;
	if (c->ever)
		w->st.reconnects++;
	c->ever = 1;
	if (conn_fill(w, c, now) == -1) {
		w->st.closed++;
		conn_break(w, c, &w->st.lost, now);
	}
}

static void
conn_open(struct worker *w, struct conn *c, uint64_t now)
{
	const struct bench_addr	*a = &w->run->addr;
	int			 one = 1;

	if (stopping || now >= w->run->deadline) {
		c->state = C_IDLE;
		return;
	}
	c->since = now;
	c->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd == -1) {
		connect_failed(w, c, now, errno);
		return;
	}
	if (a->family != AF_UNIX && setsockopt(c->fd, IPPROTO_TCP,
	    TCP_NODELAY, &one, sizeof(one)) == -1)
		note(w, "TCP_NODELAY: %s", strerror(errno));
	if (connect(c->fd, (const struct sockaddr *)&a->ss, a->len) == 0) {
		conn_ready(w, c, now);
		return;
	}
	if (errno != EINPROGRESS) {
		/* Also EAGAIN: a unix socket's listen queue is full. */
		connect_failed(w, c, now, errno);
		return;
	}
	c->state = C_CONNECTING;
	set_events(c, EPOLLOUT);
}

static void
conn_connected(struct worker *w, struct conn *c, uint64_t now)
{
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0)
		connect_failed(w, c, now, err);
	else
		conn_ready(w, c, now);
}

/* Note the start of a reply, printable bytes only. */
static void
note_reply(struct worker *w, const struct reply *rp)
{
	char	 safe[61];
	size_t	 i, n;

	n = rp->headlen < sizeof(safe) - 1 ? rp->headlen : sizeof(safe) - 1;
	for (i = 0; i < n; i++)
		safe[i] = rp->head[i] >= ' ' && rp->head[i] <= '~' ?
		    rp->head[i] : '?';
	safe[n] = '\0';
	note(w, "unexpected reply \"%s\"%s", safe,
	    rp->want > n ? "..." : "");
}

static void
pause_conn(struct worker *w, struct conn *c, uint64_t until)
{
	c->pause_until = until;
	if (until < w->next_wake)
		w->next_wake = until;
}

/*
 * Connections whose pause is over: a pending retry goes out again (its
 * first_at kept), others take their next request.  Recomputes next_wake.
 */
static void
wake_paused(struct worker *w, uint64_t now)
{
	struct conn	*c;
	unsigned	 i;

	w->next_wake = UINT64_MAX;
	for (i = 0; i < w->nconns; i++) {
		c = &w->conns[i];
		if (c->pause_until == 0 || c->state != C_OPEN)
			continue;
		if (now < c->pause_until) {
			if (c->pause_until < w->next_wake)
				w->next_wake = c->pause_until;
			continue;
		}
		c->pause_until = 0;
		if (c->retry_pending) {
			c->retry_pending = 0;
			w->pending--;
			if (queue_key(w, c, c->key, c->keylen, now) == -1) {
				w->st.closed++;
				conn_break(w, c, &w->st.lost, now);
				continue;
			}
		}
		if (conn_fill(w, c, now) == -1) {
			w->st.closed++;
			conn_break(w, c, &w->st.lost, now);
		}
	}
}

/* One reply is complete: time it and sort it. */
static int
conn_reply(struct worker *w, struct conn *c, uint64_t now)
{
	struct run	*r = w->run;
	struct reply	*rp = &c->rp;
	enum kind	 k;
	uint64_t	 from;

	if (c->count == 0) {
		note(w, "reply without a request");
		return -1;
	}
	from = r->retry_ns ? c->first_at : c->sent_at[c->head];
	c->head = (c->head + 1) % r->depth;
	c->count--;
	w->inflight--;
	w->st.replies++;
	k = reply_kind(rp);
	w->st.kinds[k]++;
	if (r->retry_ns && k == KIND_TEMP) {
		/* Not final: the same key again after the pause. */
		w->st.retries++;
		c->retry_pending = 1;
		w->pending++;
		pause_conn(w, c, now + r->retry_ns);
		return 0;
	}
	bench_hist_add(&w->st.lat, now - from);
	w->st.answered++;
	if (r->pause_ns)
		pause_conn(w, c, now + r->pause_ns);
	if (r->expect != NULL && (rp->want != r->expectlen ||
	    memcmp(rp->head, r->expect, r->expectlen) != 0)) {
		if (w->st.unexpected++ == 0)
			note_reply(w, rp);
	}
	return 0;
}

static void
conn_read(struct worker *w, struct conn *c, uint64_t now)
{
	struct run	*r = w->run;
	const char	*p, *why = "";
	size_t		 left, used;
	ssize_t		 n;

	n = read(c->fd, w->rbuf, sizeof(w->rbuf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		note(w, "server closed the connection%s%s",
		    n == 0 ? "" : ": ", n == 0 ? "" : strerror(errno));
		w->st.closed++;
		conn_break(w, c, &w->st.lost, now);
		return;
	}
	for (p = w->rbuf, left = (size_t)n; left > 0; p += used, left -= used) {
		switch (reply_feed(&c->rp, r->maxreply, p, left, &used, &why)) {
		case RP_MORE:
			break;
		case RP_ERROR:
			note(w, "malformed reply: %s", why);
			w->st.malformed++;
			conn_break(w, c, &w->st.lost, now);
			return;
		case RP_FRAME:
			if (conn_reply(w, c, now) == -1) {
				w->st.malformed++;
				conn_break(w, c, &w->st.lost, now);
				return;
			}
			break;
		}
	}
	if (r->reconnect_every && c->issued >= r->reconnect_every &&
	    c->count == 0 && !w->exhausted && !c->retry_pending) {
		conn_close(c);
		conn_open(w, c, now);
		return;
	}
	if (conn_fill(w, c, now) == -1) {
		w->st.closed++;
		conn_break(w, c, &w->st.lost, now);
	}
}

static void
conn_event(struct worker *w, struct conn *c, uint32_t events)
{
	uint64_t	 now = bench_now_ns();

	if (c->state == C_CONNECTING) {
		conn_connected(w, c, now);
		return;
	}
	if (c->state != C_OPEN)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		conn_read(w, c, now);
		return;
	}
	if ((events & EPOLLOUT) && conn_flush(c) == -1) {
		w->st.closed++;
		conn_break(w, c, &w->st.lost, now);
	}
}

/* Client timeouts, slow connects and connection retries. */
static void
scan(struct worker *w, uint64_t now)
{
	struct run	*r = w->run;
	struct conn	*c;
	unsigned	 i;

	for (i = 0; i < w->nconns; i++) {
		c = &w->conns[i];
		switch (c->state) {
		case C_WAIT:
			if (now >= c->retry_at)
				conn_open(w, c, now);
			break;
		case C_CONNECTING:
			if (now - c->since > r->timeout_ns)
				connect_failed(w, c, now, ETIMEDOUT);
			break;
		case C_OPEN:
			if (c->count > 0 &&
			    now - c->sent_at[c->head] > r->timeout_ns) {
				note(w, "request timed out");
				conn_break(w, c, &w->st.timeouts, now);
			}
			break;
		default:
			break;
		}
	}
}

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	struct run		*r = w->run;
	struct epoll_event	 evs[NEVENTS];
	uint64_t		 now, last, wait;
	unsigned		 i;
	int			 n;

	now = last = bench_now_ns();
	for (i = 0; i < w->nconns; i++)
		conn_open(w, &w->conns[i], now);
	for (;;) {
		now = bench_now_ns();
		if (now >= r->deadline) {
			w->hit_limit = 1;
			break;
		}
		if (stopping || w->dead == w->nconns ||
		    (w->exhausted && w->inflight == 0 && w->pending == 0))
			break;
		if (now - last >= SCAN_NS) {
			scan(w, now);
			last = now;
		}
		if (now >= w->next_wake)
			wake_paused(w, now);
		wait = (r->deadline - now) / 1000000 + 1;
		if (wait > SCAN_NS / 1000000)
			wait = SCAN_NS / 1000000;
		if (w->next_wake != UINT64_MAX && w->next_wake > now &&
		    (w->next_wake - now) / 1000000 + 1 < wait)
			wait = (w->next_wake - now + 999999) / 1000000;
		n = epoll_wait(w->ep, evs, NEVENTS, (int)wait);
		if (n == -1 && errno != EINTR) {
			note(w, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < (unsigned)(n > 0 ? n : 0); i++)
			conn_event(w, evs[i].data.ptr, evs[i].events);
	}
	for (i = 0; i < w->nconns; i++) {
		w->st.unfinished += w->conns[i].count;
		conn_close(&w->conns[i]);
	}
	return NULL;
}

/* ------------------------------------------------------- setup */

static int
worker_init(struct worker *w, struct run *r, unsigned nconns, unsigned idx)
{
	unsigned	 i;
	struct conn	*c;

	w->run = r;
	w->nconns = nconns;
	w->next_wake = UINT64_MAX;
	w->rng = (r->seed + idx) * 0x9E3779B97F4A7C15ULL | 1;
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if ((w->conns = calloc(nconns, sizeof(*w->conns))) == NULL)
		return -1;
	for (i = 0; i < nconns; i++) {
		c = &w->conns[i];
		c->w = w;
		c->fd = -1;
		c->outcap = (size_t)r->depth * REQ_MAX;
		c->sent_at = calloc(r->depth, sizeof(*c->sent_at));
		c->out = malloc(c->outcap);
		if (c->sent_at == NULL || c->out == NULL)
			return -1;
	}
	return 0;
}

static void
worker_free(struct worker *w)
{
	unsigned	 i;

	if (w->conns != NULL) {
		for (i = 0; i < w->nconns; i++) {
			free(w->conns[i].sent_at);
			free(w->conns[i].out);
		}
		free(w->conns);
	}
	if (w->ep != -1 && close(w->ep) == -1)
		fprintf(stderr, "smload: close: %s\n", strerror(errno));
}

static void
stats_merge(struct stats *to, const struct stats *from)
{
	unsigned	 i;

	to->sent += from->sent;
	to->replies += from->replies;
	for (i = 0; i < KIND_MAX; i++)
		to->kinds[i] += from->kinds[i];
	to->unexpected += from->unexpected;
	to->connects += from->connects;
	to->reconnects += from->reconnects;
	to->connect_fail += from->connect_fail;
	to->gave_up += from->gave_up;
	to->closed += from->closed;
	to->malformed += from->malformed;
	to->timeouts += from->timeouts;
	to->lost += from->lost;
	to->unfinished += from->unfinished;
	to->answered += from->answered;
	to->retries += from->retries;
	to->retry_dropped += from->retry_dropped;
	bench_hist_merge(&to->lat, &from->lat);
}

/* ------------------------------------------------------- report */

struct result {
	struct stats	 st;
	double		 elapsed;	/* seconds */
	double		 user, sys;	/* generator CPU seconds */
	int		 hit_limit;
	const char	*why;
	uint64_t	 errors;
};

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void
json_string(FILE *fp, const char *s)
{
	unsigned char	 c;

	fputc('"', fp);
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

static void
report_json(FILE *fp, const struct run *r, const struct result *res)
{
	const struct stats	*st = &res->st;
	const struct bench_hist *h = &st->lat;
	unsigned		 i;

	fputs("{\"target\": ", fp);
	json_string(fp, r->target);
	fputs(", \"map\": ", fp);
	json_string(fp, r->map);
	fputs(", \"keys\": ", fp);
	json_string(fp, r->keys.text);
	fprintf(fp, ", \"connections\": %u, \"threads\": %u, \"depth\": %u, "
	    "\"requests_limit\": %" PRIu64 ", \"time_limit_s\": %.3f, "
	    "\"elapsed_s\": %.6f, \"time_limit_hit\": %s, "
	    "\"requests_per_s\": %.1f, \"sent\": %" PRIu64
	    ", \"replies\": %" PRIu64 ", ",
	    r->nconns, r->nthreads, r->depth, r->total,
	    (double)r->limit_ns / 1e9, res->elapsed,
	    res->hit_limit ? "true" : "false",
	    res->elapsed > 0 ? (double)st->replies / res->elapsed : 0.0,
	    st->sent, st->replies);
	fprintf(fp, "\"answered\": %" PRIu64 ", \"answers_per_s\": %.1f, "
	    "\"retry_ms\": %.3f, \"pause_ms\": %.3f, \"retries\": %" PRIu64
	    ", \"retry_dropped\": %" PRIu64 ", ", st->answered,
	    res->elapsed > 0 ? (double)st->answered / res->elapsed : 0.0,
	    (double)r->retry_ns / 1e6, (double)r->pause_ns / 1e6, st->retries,
	    st->retry_dropped);
	fprintf(fp, "\"latency_us\": {\"min\": %.1f, \"mean\": %.1f, "
	    "\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p999\": %.1f, "
	    "\"max\": %.1f}, \"kinds\": {",
	    us(h->min), h->n ? h->sum / (double)h->n / 1000.0 : 0.0,
	    us(bench_hist_quantile(h, 0.5)), us(bench_hist_quantile(h, 0.9)),
	    us(bench_hist_quantile(h, 0.99)), us(bench_hist_quantile(h, 0.999)),
	    us(h->max));
	for (i = 0; i < KIND_MAX; i++)
		fprintf(fp, "%s\"%s\": %" PRIu64, i ? ", " : "",
		    kind_names[i], st->kinds[i]);
	fprintf(fp, "}, \"unexpected\": %" PRIu64 ", \"errors\": {"
	    "\"connect\": %" PRIu64 ", \"malformed\": %" PRIu64
	    ", \"timeouts\": %" PRIu64 ", \"lost\": %" PRIu64
	    ", \"closed\": %" PRIu64 ", \"gave_up\": %" PRIu64 "}, "
	    "\"errors_total\": %" PRIu64 ", \"connects\": %" PRIu64
	    ", \"reconnects\": %" PRIu64 ", \"unfinished\": %" PRIu64 ", ",
	    st->unexpected, st->connect_fail, st->malformed, st->timeouts,
	    st->lost, st->closed, st->gave_up, res->errors, st->connects,
	    st->reconnects, st->unfinished);
	fprintf(fp, "\"cpu\": {\"user_s\": %.3f, \"sys_s\": %.3f, "
	    "\"percent\": %.1f}, \"first_error\": ", res->user, res->sys,
	    res->elapsed > 0 ? 100 * (res->user + res->sys) / res->elapsed :
	    0.0);
	json_string(fp, res->why);
	fputs("}\n", fp);
}

static void
report_text(FILE *fp, const struct run *r, const struct result *res)
{
	const struct stats	*st = &res->st;
	const struct bench_hist *h = &st->lat;
	unsigned		 i;

	fprintf(fp, "smload %s map %s keys %s\n", r->target, r->map,
	    r->keys.text);
	fprintf(fp, "  connections %u, threads %u, depth %u, requests %"
	    PRIu64 "%s, time limit %.3f s\n", r->nconns, r->nthreads,
	    r->depth, r->total, r->total ? "" : " (no limit)",
	    (double)r->limit_ns / 1e9);
	fprintf(fp, "  elapsed %.3f s%s; %.1f requests/s\n", res->elapsed,
	    res->hit_limit ? " (time limit reached)" : "",
	    res->elapsed > 0 ? (double)st->replies / res->elapsed : 0.0);
	if (r->retry_ns)
		fprintf(fp, "  retry TEMP after %.3f ms: %" PRIu64 " retries, %"
		    PRIu64 " keys answered (%.1f/s), %" PRIu64 " dropped\n",
		    (double)r->retry_ns / 1e6, st->retries, st->answered,
		    res->elapsed > 0 ? (double)st->answered / res->elapsed :
		    0.0, st->retry_dropped);
	if (r->pause_ns)
		fprintf(fp, "  pause after each reply: %.3f ms\n",
		    (double)r->pause_ns / 1e6);
	fprintf(fp, "  latency us: min %.1f p50 %.1f p90 %.1f p99 %.1f "
	    "p99.9 %.1f max %.1f mean %.1f\n", us(h->min),
	    us(bench_hist_quantile(h, 0.5)), us(bench_hist_quantile(h, 0.9)),
	    us(bench_hist_quantile(h, 0.99)), us(bench_hist_quantile(h, 0.999)),
	    us(h->max), h->n ? h->sum / (double)h->n / 1000.0 : 0.0);
	fputs("  replies:", fp);
	for (i = 0; i < KIND_MAX; i++)
		fprintf(fp, "%s %s %" PRIu64, i ? "," : "", kind_names[i],
		    st->kinds[i]);
	fprintf(fp, "; unexpected %" PRIu64 "\n", st->unexpected);
	fprintf(fp, "  errors: connect %" PRIu64 ", malformed %" PRIu64
	    ", timeouts %" PRIu64 ", lost %" PRIu64 ", closed %" PRIu64
	    ", gave up %" PRIu64 "\n", st->connect_fail, st->malformed,
	    st->timeouts, st->lost, st->closed, st->gave_up);
	fprintf(fp, "  connects %" PRIu64 ", reconnects %" PRIu64 "\n",
	    st->connects, st->reconnects);
	fprintf(fp, "  accounting: sent %" PRIu64 " = replies %" PRIu64
	    " + timeouts %" PRIu64 " + lost %" PRIu64 " + unfinished %"
	    PRIu64 "\n", st->sent, st->replies, st->timeouts, st->lost,
	    st->unfinished);
	fprintf(fp, "  generator cpu: user %.2f s, sys %.2f s, %.1f%% of one "
	    "core\n", res->user, res->sys, res->elapsed > 0 ?
	    100 * (res->user + res->sys) / res->elapsed : 0.0);
	if (*res->why != '\0')
		fprintf(fp, "  first error: %s\n", res->why);
}

/* ------------------------------------------------------- main */

static void
usage(void)
{
	fprintf(stderr,
"usage: smload [-j] [-c connections] [-d depth] [-e reply] [-i pause-ms]\n"
"              [-k keys] [-L max-reply] [-m map] [-n requests] [-R retry-ms]\n"
"              [-r every] [-S seed] [-T seconds] [-t threads]\n"
"              [-w timeout-ms] target\n"
"  target: unix:/path or inet:host:port (loopback only)\n"
"  keys:   hot:DOMAIN | uniform:N:PATTERN | cold:PATTERN | file:PATH\n"
"          PATTERN holds one %%d, e.g. d%%d.bench.test\n");
	exit(2);
}

static void
numopt(const char *arg, long long min, long long max, long long *out,
    const char *what)
{
	if (bench_parse_num(arg, min, max, out) == -1) {
		fprintf(stderr, "smload: %s: expected %lld..%lld, got \"%s\"\n",
		    what, min, max, arg);
		exit(2);
	}
}

static void
parse_options(int argc, char *argv[], struct run *r, int *json)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*keys = "hot:example.com";
	char		 err[256];
	long long	 v;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "c:d:e:hi:jk:L:m:n:R:r:S:T:t:w:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			numopt(optarg, 1, CONNS_MAX, &v, "-c");
			r->nconns = (unsigned)v;
			break;
		case 'd':
			numopt(optarg, 1, DEPTH_MAX, &v, "-d");
			r->depth = (unsigned)v;
			break;
		case 'e':
			r->expect = optarg;
			r->expectlen = strlen(optarg);
			if (r->expectlen > HEAD_MAX)
				usage();
			break;
		case 'i':
			if (bench_parse_seconds(optarg, 3600000, &r->pause_ns) ==
			    -1)
				usage();
			r->pause_ns /= 1000;	/* given in ms */
			break;
		case 'j':
			*json = 1;
			break;
		case 'k':
			keys = optarg;
			break;
		case 'L':
			numopt(optarg, 16, 100000000, &v, "-L");
			r->maxreply = (size_t)v;
			break;
		case 'm':
			r->map = optarg;
			if (*optarg == '\0' || strlen(optarg) > MAP_MAX ||
			    strchr(optarg, ' ') != NULL)
				usage();
			break;
		case 'n':
			numopt(optarg, 0, 1000000000000LL, &v, "-n");
			r->total = (uint64_t)v;
			break;
		case 'R':
			if (bench_parse_seconds(optarg, 3600000, &r->retry_ns) ==
			    -1)
				usage();
			r->retry_ns /= 1000;	/* given in ms */
			break;
		case 'r':
			numopt(optarg, 0, 1000000000000LL, &v, "-r");
			r->reconnect_every = (uint64_t)v;
			break;
		case 'S':
			numopt(optarg, 0, 1LL << 62, &v, "-S");
			r->seed = (uint64_t)v;
			break;
		case 'T':
			if (bench_parse_seconds(optarg, 86400,
			    &r->limit_ns) == -1)
				usage();
			break;
		case 't':
			numopt(optarg, 1, THREADS_MAX, &v, "-t");
			r->nthreads = (unsigned)v;
			break;
		case 'w':
			numopt(optarg, 1, 3600000, &v, "-w");
			r->timeout_ns = (uint64_t)v * 1000000;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || r->nthreads > r->nconns)
		usage();
	if ((r->retry_ns || r->pause_ns) && r->depth != 1) {
		fprintf(stderr, "smload: -R and -i need lock-step (-d 1)\n");
		exit(2);
	}
	r->target = argv[optind];
	if (bench_addr_parse(r->target, 0, &r->addr, err, sizeof(err)) == -1 ||
	    keys_parse(keys, &r->keys, err, sizeof(err)) == -1) {
		fprintf(stderr, "smload: %s\n", err);
		keys_free(&r->keys);
		exit(2);
	}
}

static double
tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int
run_workers(struct run *r, struct worker *ws, struct result *res)
{
	struct rusage	 ru0, ru1;
	unsigned	 i;
	uint64_t	 end;

	if (getrusage(RUSAGE_SELF, &ru0) == -1)
		return -1;
	r->start = bench_now_ns();
	r->deadline = r->start + r->limit_ns;
	for (i = 0; i < r->nthreads; i++) {
		if (pthread_create(&ws[i].tid, NULL, worker_main,
		    &ws[i]) != 0) {
			fprintf(stderr, "smload: pthread_create failed\n");
			exit(1);	/* threads already started hold fds */
		}
	}
	for (i = 0; i < r->nthreads; i++)
		if (pthread_join(ws[i].tid, NULL) != 0)
			return -1;
	end = bench_now_ns();
	if (getrusage(RUSAGE_SELF, &ru1) == -1)
		return -1;
	res->elapsed = (double)(end - r->start) / 1e9;
	res->user = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime);
	res->sys = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
	res->why = "";
	for (i = 0; i < r->nthreads; i++) {
		stats_merge(&res->st, &ws[i].st);
		res->hit_limit |= ws[i].hit_limit;
		if (*res->why == '\0')
			res->why = ws[i].why;
	}
	res->errors = res->st.connect_fail + res->st.malformed +
	    res->st.timeouts + res->st.closed;
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct run	 r;
	struct sigaction	 sa;
	struct worker		*ws;
	struct result		*res;
	unsigned		 i, per, extra;
	int			 json = 0, rc;

	r.nconns = 1;
	r.nthreads = 1;
	r.depth = 1;
	r.total = 100000;
	r.limit_ns = 10 * (uint64_t)1000000000;
	r.timeout_ns = 5 * (uint64_t)1000000000;
	r.maxreply = 100000;		/* Postfix's own reply limit */
	r.map = "stspolicy";
	r.seed = 1;
	atomic_init(&r.claimed, 0);
	parse_options(argc, argv, &r, &json);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		perror("smload: sigaction");
		return 1;
	}

	ws = calloc(r.nthreads, sizeof(*ws));
	res = calloc(1, sizeof(*res));
	if (ws == NULL || res == NULL) {
		fprintf(stderr, "smload: out of memory\n");
		return 1;
	}
	per = r.nconns / r.nthreads;
	extra = r.nconns % r.nthreads;
	for (i = 0; i < r.nthreads; i++)
		ws[i].ep = -1;
	for (i = 0; i < r.nthreads; i++)
		if (worker_init(&ws[i], &r, per + (i < extra), i) == -1) {
			fprintf(stderr, "smload: setup: %s\n", strerror(errno));
			return 1;
		}
	if (run_workers(&r, ws, res) == -1) {
		fprintf(stderr, "smload: %s\n", strerror(errno));
		return 1;
	}
	if (json)
		report_json(stdout, &r, res);
	else
		report_text(stdout, &r, res);
	rc = res->errors || res->st.unexpected || res->st.lost ||
	    res->st.gave_up ? 1 : 0;
	for (i = 0; i < r.nthreads; i++)
		worker_free(&ws[i]);
	free(ws);
	free(res);
	keys_free(&r.keys);
	if (fflush(stdout) == EOF) {
		perror("smload: stdout");
		return 1;
	}
	return rc;
}
