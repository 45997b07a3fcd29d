/*
 * echo-sm.c: the baseline for socketmap benchmarks.  A socketmap server
 * that does no work at all: every well-framed request, whatever its map
 * and key, gets the same reply ("NOTFOUND " unless -r says otherwise).
 * What smload measures against it is the cost of the protocol, the
 * sockets and the machine; a real map server can only be slower.
 *
 * One epoll loop per thread (-t); the listening socket sits in every loop
 * with EPOLLEXCLUSIVE, so the kernel hands each new connection to one
 * thread.  Requests are parsed only for their framing (the payload is
 * skipped, never stored), so pipelined requests, and requests split over
 * many reads, are answered in order.  Output is bounded: a connection
 * reads no more than its output buffer can answer, and a client that
 * does not read its replies stops being read.
 *
 * It listens on loopback or a unix socket only, and exits by itself after
 * -T seconds, so that a forgotten server does not outlive the benchmark.
 */
#include <config.h>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define THREADS_MAX	64
#define NEVENTS		256
#define TICK_MS		200		/* how often loops look at the clock */
#define OUT_MIN		65536		/* output buffer per connection */
#define REPLY_MAX	100000		/* Postfix's reply limit */
#define MIN_FRAME	3		/* "0:," the shortest netstring */
#define ACCEPT_BURST	64

enum { RQ_LEN = 0, RQ_BODY, RQ_COMMA };

struct client {
	struct client	*prev;		/* the worker's list of clients */
	struct client	*next;
	int		 fd;
	int		 events;
	int		 state;
	int		 digits;
	size_t		 want;		/* payload bytes still to skip */
	size_t		 outoff;
	size_t		 outlen;
	char		*out;
};

struct server {
	int			 lfd;
	char			*reply;		/* the framed reply */
	size_t			 replylen;
	size_t			 outcap;
	size_t			 maxreq;
	long long		 maxconns;
	uint64_t		 deadline;
	atomic_llong		 nconns;
	atomic_uint_fast64_t	 accepted;
	atomic_uint_fast64_t	 refused;
	atomic_uint_fast64_t	 requests;
	atomic_uint_fast64_t	 malformed;
};

struct worker {
	pthread_t	 tid;
	struct server	*srv;
	int		 ep;
	struct client	*clients;
	char		*rbuf;
	size_t		 rbufsize;
	uint64_t	 requests;
	uint64_t	 malformed;
};

static volatile sig_atomic_t	 stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
client_free(struct worker *w, struct client *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (close(c->fd) == -1)
		fprintf(stderr, "echo-sm: close: %s\n", strerror(errno));
	free(c->out);
	free(c);
	atomic_fetch_sub(&w->srv->nconns, 1);
}

static int
client_events(struct worker *w, struct client *c, int events)
{
	struct epoll_event	 ev;

	if (c->events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = (uint32_t)events;
	ev.data.ptr = c;
	if (epoll_ctl(w->ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    c->fd, &ev) == -1)
		return -1;
	c->events = events;
	return 0;
}

/*
 * Walk the framing of p[0..len) and queue one reply per complete request.
 * The caller read no more than the output buffer can answer (a request
 * takes at least MIN_FRAME bytes), so the buffer cannot overflow.
 * Returns 0, or -1 if the stream is not netstrings.
 */
static int
client_parse(struct worker *w, struct client *c, const char *p, size_t len)
{
	struct server	*srv = w->srv;
	size_t		 i, n;
	unsigned char	 ch;

	for (i = 0; i < len;) {
		switch (c->state) {
		case RQ_LEN:
			ch = (unsigned char)p[i++];
			if (ch >= '0' && ch <= '9') {
				c->want = c->want * 10 + (ch - '0');
				if (++c->digits > 9 || c->want > srv->maxreq)
					return -1;
			} else if (ch == ':' && c->digits > 0)
				c->state = c->want ? RQ_BODY : RQ_COMMA;
			else
				return -1;
			break;
		case RQ_BODY:
			n = len - i < c->want ? len - i : c->want;
			c->want -= n;
			i += n;
			if (c->want == 0)
				c->state = RQ_COMMA;
			break;
		case RQ_COMMA:
			if (p[i++] != ',')
				return -1;
			memcpy(c->out + c->outlen, srv->reply, srv->replylen);
			c->outlen += srv->replylen;
			w->requests++;
			c->state = RQ_LEN;
			c->digits = 0;
			c->want = 0;
			break;
		}
	}
	return 0;
}

/* Returns 0, or -1 when the client is gone or broke the protocol. */
static int
client_io(struct worker *w, struct client *c, uint32_t events)
{
	struct server	*srv = w->srv;
	size_t		 room;
	ssize_t		 n;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		room = (srv->outcap - c->outlen) / srv->replylen * MIN_FRAME;
		if (room > w->rbufsize)
			room = w->rbufsize;
		if (room > 0) {
			n = read(c->fd, w->rbuf, room);
			if (n == 0 || (n == -1 && errno != EAGAIN &&
			    errno != EINTR))
				return -1;
			if (n > 0 && client_parse(w, c, w->rbuf,
			    (size_t)n) == -1) {
				w->malformed++;
				return -1;
			}
		}
	}
	if (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n > 0)
			c->outoff += (size_t)n;
		if (c->outoff == c->outlen)
			c->outoff = c->outlen = 0;
	}
	/* Read only while the replies to what we read can be queued. */
	room = (srv->outcap - c->outlen) / srv->replylen;
	return client_events(w, c, (c->outoff < c->outlen ? EPOLLOUT : 0) |
	    (room > 0 ? EPOLLIN : 0));
}

static void
accept_some(struct worker *w)
{
	struct server	*srv = w->srv;
	struct client	*c;
	int		 fd, i, one = 1;

	for (i = 0; i < ACCEPT_BURST; i++) {
		fd = accept4(srv->lfd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;		/* EAGAIN, or another thread won */
		if (atomic_fetch_add(&srv->nconns, 1) >= srv->maxconns) {
			atomic_fetch_sub(&srv->nconns, 1);
			atomic_fetch_add(&srv->refused, 1);
			(void)close(fd);
			continue;
		}
		atomic_fetch_add(&srv->accepted, 1);
		/* Fails harmlessly on a unix socket. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->out = malloc(srv->outcap)) == NULL) {
			free(c);
			(void)close(fd);
			atomic_fetch_sub(&srv->nconns, 1);
			continue;
		}
		c->fd = fd;
		if ((c->next = w->clients) != NULL)
			c->next->prev = c;
		w->clients = c;
		if (client_events(w, c, EPOLLIN) == -1)
			client_free(w, c);
	}
}

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	struct server		*srv = w->srv;
	struct epoll_event	 evs[NEVENTS];
	struct client		*c;
	int			 i, n;

	while (!stopping && bench_now_ns() < srv->deadline) {
		n = epoll_wait(w->ep, evs, NEVENTS, TICK_MS);
		if (n == -1 && errno != EINTR) {
			fprintf(stderr, "echo-sm: epoll_wait: %s\n",
			    strerror(errno));
			stopping = 1;
			break;
		}
		for (i = 0; i < n; i++) {
			if ((c = evs[i].data.ptr) == NULL)
				accept_some(w);
			else if (client_io(w, c, evs[i].events) == -1)
				client_free(w, c);
		}
	}
	atomic_fetch_add(&srv->requests, w->requests);
	atomic_fetch_add(&srv->malformed, w->malformed);
	while (w->clients != NULL)
		client_free(w, w->clients);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr,
"usage: echo-sm [-c max-conns] [-L max-request] [-l listen] [-P addr-file]\n"
"               [-r reply] [-T seconds] [-t threads]\n"
"  listen: unix:/path or inet:host:port (loopback only; port 0 picks one)\n"
"  reply:  the payload sent for every request, default \"NOTFOUND \"\n");
	exit(2);
}

static int
listen_on(const char *spec, struct bench_addr *a)
{
	struct sockaddr_un	*sun;
	struct stat		 sb;
	char			 err[256];
	int			 fd, one = 1;

	if (bench_addr_parse(spec, 1, a, err, sizeof(err)) == -1) {
		fprintf(stderr, "echo-sm: %s\n", err);
		exit(2);
	}
	if (a->family == AF_UNIX) {
		/* Replace a stale socket, never anything else. */
		sun = (struct sockaddr_un *)(void *)&a->ss;
		if (lstat(sun->sun_path, &sb) == 0 && S_ISSOCK(sb.st_mode))
			(void)unlink(sun->sun_path);
	}
	fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (a->family != AF_UNIX && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR,
	    &one, sizeof(one)) == -1)
		return -1;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1 ||
	    listen(fd, 4096) == -1)
		return -1;
	return fd;
}

/* Publish the bound address, atomically, for scripts (-P). */
static int
write_addr(int fd, const char *path)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 addr[256], tmp[4096];
	FILE			*fp;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    bench_addr_format((struct sockaddr *)&ss, len, addr,
	    sizeof(addr)) == -1)
		return -1;
	printf("echo-sm: listening on %s\n", addr);
	if (fflush(stdout) == EOF || path == NULL)
		return path == NULL ? 0 : -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((fp = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(fp, "%s\n", addr);
	if (fclose(fp) == EOF || rename(tmp, path) == -1)
		return -1;
	return 0;
}

static void
set_reply(struct server *srv, const char *payload)
{
	size_t	 n = strlen(payload), size;

	if (n > REPLY_MAX)
		usage();
	size = n + 16;
	if ((srv->reply = malloc(size)) == NULL) {
		perror("echo-sm");
		exit(1);
	}
	srv->replylen = (size_t)snprintf(srv->reply, size, "%zu:%s,", n,
	    payload);
	srv->outcap = srv->replylen * 4 > OUT_MIN ? srv->replylen * 4 :
	    OUT_MIN;
}

static void
parse_options(int argc, char *argv[], struct server *srv,
    const char **listen_spec, const char **addrfile, unsigned *nthreads)
{
	long long	 v;
	uint64_t	 life = 300 * (uint64_t)1000000000;
	int		 ch;

	set_reply(srv, "NOTFOUND ");
	while ((ch = getopt(argc, argv, "c:L:l:P:r:T:t:")) != -1) {
		switch (ch) {
		case 'c':
			if (bench_parse_num(optarg, 1, 1000000, &v) == -1)
				usage();
			srv->maxconns = v;
			break;
		case 'L':
			if (bench_parse_num(optarg, 16, 100000000, &v) == -1)
				usage();
			srv->maxreq = (size_t)v;
			break;
		case 'l':
			*listen_spec = optarg;
			break;
		case 'P':
			*addrfile = optarg;
			break;
		case 'r':
			free(srv->reply);
			set_reply(srv, optarg);
			break;
		case 'T':
			if (bench_parse_seconds(optarg, 86400, &life) == -1)
				usage();
			break;
		case 't':
			if (bench_parse_num(optarg, 1, THREADS_MAX, &v) == -1)
				usage();
			*nthreads = (unsigned)v;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	srv->deadline = bench_now_ns() + life;
}

static int
start_workers(struct server *srv, struct worker *ws, unsigned nthreads)
{
	struct epoll_event	 ev;
	unsigned		 i;

	for (i = 0; i < nthreads; i++) {
		ws[i].srv = srv;
		ws[i].rbufsize = 65536;
		if ((ws[i].rbuf = malloc(ws[i].rbufsize)) == NULL ||
		    (ws[i].ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
			return -1;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.ptr = NULL;
		if (epoll_ctl(ws[i].ep, EPOLL_CTL_ADD, srv->lfd, &ev) == -1)
			return -1;
	}
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0)
			return -1;
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct server	 srv;
	struct bench_addr	 a;
	struct sigaction	 sa;
	struct worker		*ws;
	const char		*listen_spec = "inet:127.0.0.1:0";
	const char		*addrfile = NULL;
	unsigned		 i, nthreads = 1;

	srv.maxconns = 4096;
	srv.maxreq = 4096;
	parse_options(argc, argv, &srv, &listen_spec, &addrfile, &nthreads);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		perror("echo-sm: sigaction");
		return 1;
	}
	if ((srv.lfd = listen_on(listen_spec, &a)) == -1) {
		fprintf(stderr, "echo-sm: listen %s: %s\n", listen_spec,
		    strerror(errno));
		return 1;
	}
	if (write_addr(srv.lfd, addrfile) == -1) {
		fprintf(stderr, "echo-sm: cannot publish the address: %s\n",
		    strerror(errno));
		return 1;
	}
	if ((ws = calloc(nthreads, sizeof(*ws))) == NULL ||
	    start_workers(&srv, ws, nthreads) == -1) {
		fprintf(stderr, "echo-sm: start: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < nthreads; i++) {
		if (pthread_join(ws[i].tid, NULL) != 0)
			return 1;
		if (close(ws[i].ep) == -1)
			perror("echo-sm: close");
		free(ws[i].rbuf);
	}
	free(ws);
	free(srv.reply);
	if (close(srv.lfd) == -1)
		perror("echo-sm: close");
	if (a.family == AF_UNIX)
		(void)unlink(((struct sockaddr_un *)(void *)&a.ss)->sun_path);
	fprintf(stderr, "echo-sm: accepted %" PRIuFAST64 ", refused %"
	    PRIuFAST64 ", requests %" PRIuFAST64 ", malformed %" PRIuFAST64
	    "\n", atomic_load(&srv.accepted), atomic_load(&srv.refused),
	    atomic_load(&srv.requests), atomic_load(&srv.malformed));
	return 0;
}
