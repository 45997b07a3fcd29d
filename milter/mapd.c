/*
 * mapd.c: the socketmap TLS policy server (see mapd.h).
 *
 * Why one thread with epoll(7) and not a thread per connection: every
 * answer comes from memory in microseconds (the engine lookup never waits
 * with a budget of 0), so a single thread keeps up with any number of
 * MTA processes, and an event loop gives idle timeouts, pipelining and
 * partial reads of slow clients for free.  A thread per connection would
 * need a cap, a stack per idle Postfix connection, and locking for
 * nothing.  epoll rather than poll: with many lock-step clients each
 * wake-up finds one or two ready, and poll(2) made the kernel look at
 * every connection each time (a fifth of the thread's time at 64
 * clients, in the benchmarks of tests/bench).
 *
 * Each client owns an incremental netstring decoder (requests of at most
 * MTASTS_MAPREQ_MAX bytes) and a capped output buffer.  A client that
 * sends garbage, oversized requests or never reads its replies loses its
 * own connection, with a warning; nothing it does reaches another client.
 * The engine answers are rendered by common/mapreply.c, under the
 * per-domain controls of the configuration in force (liveconf.h: a
 * snapshot is taken each time epoll returns, so a reload applies to the
 * next request).
 *
 * The one answer that may wait: with MapMatchConcreteMx, an enforce
 * policy with a "*." pattern needs the domain's MX hosts, and sending the
 * patterns instead would give Postfix 3.7 the very looseness the mode is
 * there to avoid.  When the MX set is not in memory, that client's
 * request is held (its later requests behind it, in order) while the
 * engine looks the set up, and answered as soon as it is known, or with
 * TEMP after HOLD_MS.  Every other client goes on being served.
 */
#include <config.h>

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "dane.h"
#include "domain.h"
#include "engine.h"
#include "liveconf.h"
#include "log.h"
#include "mapd.h"
#include "mapreply.h"
#include "netstring.h"
#include "status.h"
#include "verdict.h"

#define READ_CHUNK	4096
/* Replies waiting for a client: above HIGH we stop reading its requests. */
#define OUT_HIGH	(64 * 1024)
#define OUT_MAX		(1024 * 1024)
/* Longest poll sleep, so that a changed idle timeout applies soon. */
#define POLL_MAX_MS	1000
#define LOG_KEY_MAX	300	/* bytes of a key quoted in a log line */
/* How long a request may wait for an MX set: below Sendmail's -d5. */
#define HOLD_MS		2000
#define HOLD_POLL_MS	10	/* how often a held request looks again */
#define HOLD		1	/* handle_request: answer later */
/* Idle connections are looked for at most this often. */
#define EXPIRE_EVERY_MS	100
/*
 * Postfix and Sendmail write each request whole, so one still coming in
 * after this long is a client that dribbles bytes to keep its slot; the
 * idle timeout alone would let it, as every byte restarts that clock.
 */
#define REQUEST_DEADLINE_MS	5000
/* At the cap, a request this old may give way to a new connection. */
#define REQUEST_STALLED_MS	1000
#define NEVENTS		128	/* events taken per epoll_wait */
/* epoll data of the two descriptors that are no client */
static char		 ev_wake, ev_listen;

struct client {
	int			 fd;		/* -1: closed, freed after the round */
	unsigned long		 id;
	uint32_t		 events;	/* epoll interest */
	int			 eof;		/* peer closed its side */
	uint64_t		 last_ms;	/* last byte in or out */
	uint64_t		 req_ms;	/* first byte of a partial request */
	struct mtasts_netstring	 ns;
	struct mtasts_buf	 out;
	size_t			 outoff;	/* bytes of out already sent */
	char			 peer[64];
	/* a request waiting for its MX set, and the input read behind it */
	char			*held;		/* payload copy, or NULL */
	size_t			 heldlen;
	uint64_t		 held_until;
	struct mtasts_buf	 rest;
};

static struct {
	const struct mtasts_config	*cfg;		/* start-up: sockets */
	struct mtasts_engine		*engine;
	int				 lfd;		/* -1: none */
	char				 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int				 wake[2];	/* stop pipe */
	int				 ep;		/* epoll, -1: none */
	pthread_t			 thr;
	int				 running;
	unsigned long			 next_id;
	struct client			**clients;
	size_t				 nclients;
	uint64_t			 next_expire;	/* ms: next idle scan */
	int				 expire_wait;	/* ms, from that scan */
	int				 any_held;	/* a request may be held */
	/*
	 * Clients closed while a round of events is served are freed after
	 * it: later events of the round may name them.  A round closes at
	 * most one client per event, plus one evicted by an accept.
	 */
	int				 in_round;
	struct client			*closed[NEVENTS + 1];
	size_t				 nclosed;
} M = {
	.lfd = -1,
	.wake = { -1, -1 },
	.ep = -1,
};

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
set_flags(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- setup */

static int
parse_inet(const char *rest, int family, struct sockaddr_storage *ss,
    socklen_t *len, struct mtasts_diag *diag, const char *spec)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	const char		*at;
	char			 host[64];
	unsigned long		 port = 0;
	size_t			 i, plen;

	at = strchr(rest, '@');
	plen = at != NULL ? (size_t)(at - rest) : strlen(rest);
	for (i = 0; i < plen && rest[i] >= '0' && rest[i] <= '9' && i < 6; i++)
		port = port * 10 + (unsigned long)(rest[i] - '0');
	if (plen == 0 || i != plen || port == 0 || port > 65535) {
		mtasts_diag_add(diag, 0, 0, "socket %s: bad port", spec);
		return -1;
	}
	/*
	 * No default address: the map would answer the whole network, and
	 * inet:PORT means every interface to libmilter but not to Postfix.
	 */
	if (at == NULL) {
		mtasts_diag_add(diag, 0, 0, "socket %s: name the address to "
		    "listen on, e.g. %s@%s", spec, spec, family == AF_INET ?
		    "127.0.0.1" : "::1");
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	if (strlen(at + 1) == 0 || strlen(at + 1) >= sizeof(host)) {
		mtasts_diag_add(diag, 0, 0, "socket %s: bad address", spec);
		return -1;
	}
	if (at != NULL)
		(void)snprintf(host, sizeof(host), "%s", at + 1);
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		if (at != NULL && inet_pton(AF_INET, host,
		    &sin->sin_addr) != 1) {
			mtasts_diag_add(diag, 0, 0, "socket %s: '%s' is not "
			    "a numeric IPv4 address", spec, host);
			return -1;
		}
		*len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = in6addr_any;
		if (at != NULL && inet_pton(AF_INET6, host,
		    &sin6->sin6_addr) != 1) {
			mtasts_diag_add(diag, 0, 0, "socket %s: '%s' is not "
			    "a numeric IPv6 address", spec, host);
			return -1;
		}
		*len = sizeof(*sin6);
	}
	return 0;
}

int
mapd_parse_socket(const char *spec, struct sockaddr_storage *ss,
    socklen_t *len, struct mtasts_diag *diag)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	const char		*path = NULL;

	if (strncmp(spec, "inet:", 5) == 0)
		return parse_inet(spec + 5, AF_INET, ss, len, diag, spec);
	if (strncmp(spec, "inet6:", 6) == 0)
		return parse_inet(spec + 6, AF_INET6, ss, len, diag, spec);
	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	else if (strncmp(spec, "local:", 6) == 0)
		path = spec + 6;
	else if (spec[0] == '/')
		path = spec;
	if (path == NULL) {
		mtasts_diag_add(diag, 0, 0, "socket %s: expected inet:PORT@ADDR"
		    ", inet6:PORT@ADDR or unix:PATH", spec);
		return -1;
	}
	if (path[0] != '/' || strlen(path) >= sizeof(sun->sun_path)) {
		mtasts_diag_add(diag, 0, 0, "socket %s: the path must be "
		    "absolute and shorter than %zu bytes", spec,
		    sizeof(sun->sun_path));
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	sun->sun_family = AF_UNIX;
	(void)snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path);
	*len = sizeof(*sun);
	return 0;
}

/* A stale socket file from an earlier run is removed; anything else stays. */
static int
clear_unix_path(const char *path, struct mtasts_diag *diag)
{
	struct stat	st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		mtasts_diag_add(diag, 0, 0, "%s: exists and is not a socket",
		    path);
		return -1;
	}
	if (unlink(path) == -1) {
		mtasts_diag_add(diag, 0, 0, "%s: cannot remove the old socket: "
		    "%s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
open_listener(const char *spec, struct mtasts_diag *diag)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	unsigned int		 mode;
	int			 fd, on = 1;

	if (mapd_parse_socket(spec, &ss, &len, diag) == -1)
		return -1;
	if (ss.ss_family == AF_UNIX) {
		/* Same size, NUL-terminated by mapd_parse_socket. */
		memcpy(M.path, ((struct sockaddr_un *)&ss)->sun_path,
		    sizeof(M.path));
		if (clear_unix_path(M.path, diag) == -1)
			return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1) {
		mtasts_diag_add(diag, 0, 0, "socket %s: %s", spec,
		    strerror(errno));
		return -1;
	}
	if (ss.ss_family != AF_UNIX)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 128) == -1 || set_flags(fd) == -1) {
		mtasts_diag_add(diag, 0, 0, "socket %s: cannot listen: %s",
		    spec, strerror(errno));
		(void)close(fd);
		return -1;
	}
	if (ss.ss_family == AF_UNIX && M.cfg->map_socket_mode != NULL &&
	    (mtasts_conf_parse_mode(M.cfg->map_socket_mode, &mode) == -1 ||
	    chmod(M.path, (mode_t)mode) == -1)) {
		mtasts_diag_add(diag, 0, 0, "socket %s: cannot set mode %s: %s",
		    spec, M.cfg->map_socket_mode, strerror(errno));
		(void)close(fd);
		(void)unlink(M.path);
		return -1;
	}
	return fd;
}

int
mapd_setup(const struct mtasts_config *cfg, struct mtasts_diag *diag)
{
	M.cfg = cfg;
	if (cfg->map_socket == NULL)
		return 0;
	if ((M.lfd = open_listener(cfg->map_socket, diag)) == -1) {
		M.path[0] = '\0';
		return -1;
	}
	return 0;
}

int
mapd_enabled(void)
{
	return M.lfd != -1;
}

int
mapd_set_owner(uid_t uid, gid_t gid, struct mtasts_diag *diag)
{
	if (M.lfd == -1 || M.path[0] == '\0')
		return 0;
	if (chown(M.path, uid, gid) == -1) {
		mtasts_diag_add(diag, 0, 0, "%s: cannot change owner: %s",
		    M.path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- clients */

static void
client_close(size_t i, const char *why)
{
	struct client	*c = M.clients[i];

	if (why != NULL)
		mtasts_log(LOG_WARNING, NULL, "map client %lu (%s): %s; "
		    "connection closed", c->id, c->peer, why);
	else
		mtasts_log(LOG_DEBUG, NULL, "map client %lu (%s) closed",
		    c->id, c->peer);
	(void)close(c->fd);		/* also leaves the epoll set */
	c->fd = -1;
	mtasts_netstring_free(&c->ns);
	mtasts_buf_free(&c->out);
	mtasts_buf_free(&c->rest);
	free(c->held);
	c->held = NULL;
	M.clients[i] = M.clients[--M.nclients];
	if (!M.in_round)
		free(c);
	else if (M.nclosed < sizeof(M.closed) / sizeof(M.closed[0]))
		M.closed[M.nclosed++] = c;
	else	/* cannot happen (see M.closed); a leak beats a stale pointer */
		mtasts_log(LOG_ERR, NULL, "map server: client %lu not freed",
		    c->id);
}

static void
free_closed(void)
{
	while (M.nclosed > 0)
		free(M.closed[--M.nclosed]);
}

/*
 * Make the epoll interest of c what its state asks for: no reading while
 * a request is held (what follows it stays unread, in order) or while
 * too many replies wait.
 */
static int
watch(struct client *c)
{
	struct epoll_event	ev;
	uint32_t		want = 0;

	if (!c->eof && c->held == NULL && c->out.len - c->outoff < OUT_HIGH)
		want |= EPOLLIN;
	if (c->out.len > c->outoff)
		want |= EPOLLOUT;
	if (want == c->events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(M.ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		return -1;
	c->events = want;
	return 0;
}

static void
peer_name(int fd, const struct sockaddr_storage *ss, char *out, size_t n)
{
	char	addr[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET:
		(void)inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    ss)->sin_addr, addr, sizeof(addr));
		(void)snprintf(out, n, "%s:%u", addr, (unsigned int)ntohs(
		    ((const struct sockaddr_in *)ss)->sin_port));
		break;
	case AF_INET6:
		(void)inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    ss)->sin6_addr, addr, sizeof(addr));
		(void)snprintf(out, n, "[%s]:%u", addr, (unsigned int)ntohs(
		    ((const struct sockaddr_in6 *)ss)->sin6_port));
		break;
	default:
		(void)snprintf(out, n, "unix fd %d", fd);
		break;
	}
}

/*
 * At the cap, the connection silent for longest gives way, provided it
 * is between requests: Postfix keeps idle connections open for reuse and
 * simply reconnects.  When every one is busy, the oldest request still
 * coming in after REQUEST_STALLED_MS gives way instead, so that clients
 * sending partial requests cannot keep the MTA out.  Returns 1 when room
 * was made.
 */
static int
evict_idle(void)
{
	const struct client	*c;
	uint64_t		 now = now_ms();
	size_t			 i, best = SIZE_MAX, stalled = SIZE_MAX;

	for (i = 0; i < M.nclients; i++) {
		c = M.clients[i];
		if (c->out.len > c->outoff || c->held != NULL)
			continue;
		if (mtasts_netstring_partial(&c->ns)) {
			if (now - c->req_ms >= REQUEST_STALLED_MS &&
			    (stalled == SIZE_MAX ||
			    c->req_ms < M.clients[stalled]->req_ms))
				stalled = i;
			continue;
		}
		if (best == SIZE_MAX || c->last_ms < M.clients[best]->last_ms)
			best = i;
	}
	if (best != SIZE_MAX) {
		client_close(best, "idle connection closed to make room");
		return 1;
	}
	if (stalled != SIZE_MAX) {
		client_close(stalled, "request still incomplete, given "
		    "up to make room");
		return 1;
	}
	return 0;
}

static void
accept_one(size_t max_clients)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	struct epoll_event	 ev;
	struct client		*c, **nv;
	int			 fd, one = 1;

	if ((fd = accept(M.lfd, (struct sockaddr *)&ss, &len)) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			mtasts_log(LOG_WARNING, NULL, "map accept: %s",
			    strerror(errno));
		return;
	}
	if (M.nclients >= max_clients && !evict_idle()) {
		mtasts_log(LOG_WARNING, NULL, "map server: %zu clients, the "
		    "MapMaxClients limit: new connection refused", M.nclients);
		(void)close(fd);
		return;
	}
	/* Replies are whole: send each at once, do not wait to coalesce. */
	if (ss.ss_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (set_flags(fd) == -1 ||
	    (nv = reallocarray(M.clients, M.nclients + 1,
	    sizeof(*nv))) == NULL) {
		mtasts_log(LOG_WARNING, NULL, "map accept: out of resources");
		(void)close(fd);
		return;
	}
	M.clients = nv;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		mtasts_log(LOG_WARNING, NULL, "map accept: out of memory");
		(void)close(fd);
		return;
	}
	c->fd = fd;
	c->id = ++M.next_id;
	c->last_ms = now_ms();
	c->events = EPOLLIN;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(M.ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		mtasts_log(LOG_WARNING, NULL, "map accept: epoll: %s",
		    strerror(errno));
		(void)close(fd);
		free(c);
		return;
	}
	mtasts_netstring_init(&c->ns, MTASTS_MAPREQ_MAX);
	mtasts_buf_init(&c->out, OUT_MAX);
	mtasts_buf_init(&c->rest, READ_CHUNK);
	peer_name(fd, &ss, c->peer, sizeof(c->peer));
	M.clients[M.nclients++] = c;
	mtasts_log(LOG_DEBUG, NULL, "map client %lu (%s) connected", c->id,
	    c->peer);
}

/* ---------------------------------------------------------------- requests */

enum concrete {
	CONCRETE_OFF = 0,	/* list the patterns */
	CONCRETE_SET,		/* list these MX hosts */
	CONCRETE_WAIT,		/* the MX hosts are needed, their lookup runs */
	CONCRETE_FAILED		/* the MX hosts are needed, the lookup failed */
};

/* 1 when a policy pattern is a wildcard, which Postfix reads loosely. */
static int
has_wildcard(const struct mtasts_answer *a)
{
	const char	*pat;
	size_t		 i;

	for (i = 0; i < a->nmx; i++)
		if ((pat = mtasts_answer_mx(a, i)) != NULL && pat[0] == '*')
			return 1;
	return 0;
}

/*
 * The MX hosts to list instead of patterns (MapMatchConcreteMx).  OFF
 * when the mode is off or the answer is no enforced policy.  When the set
 * is not known and the patterns hold a wildcard: WAIT while its query
 * runs in the background, FAILED when it failed (mxs->reason says why).
 * A policy of exact names is as strict either way, so it gets its
 * patterns (OFF) at once.
 */
static enum concrete
concrete_set(const struct mtasts_mapreq *req, const struct mtasts_answer *a,
    enum mtasts_mapctl ctl, int concrete, struct mtasts_mx_set *mxs,
    const char **hosts, struct mtasts_mxset *set)
{
	size_t	i;

	if (!concrete || req->kind != MTASTS_MAPKEY_DOMAIN ||
	    !mtasts_mapreply_enforced(ctl, a))
		return CONCRETE_OFF;
	/* Budget 0: a set not known yet is looked up in the background. */
	if (mtasts_engine_mx(M.engine, req->domain, 0, mxs) != MTASTS_OK) {
		if (!has_wildcard(a))
			return CONCRETE_OFF;
		return mxs->pending ? CONCRETE_WAIT : CONCRETE_FAILED;
	}
	for (i = 0; i < mxs->n; i++)
		hosts[i] = mxs->host[i];
	set->host = hosts;
	/* A null MX accepts no mail: no host may be listed (TEMP). */
	set->n = mxs->null_mx ? 0 : mxs->n;
	return CONCRETE_SET;
}

/*
 * DANE before MTA-STS (Dane, DomainDane): 1 with the reply written when
 * DANE decides, from what the engine knows now (its look-ups start in the
 * background when nothing is known yet).
 */
static int
dane_reply(const struct mtasts_mapreq *req, const struct mtasts_answer *a,
    const struct mtasts_config *cfg, struct mtasts_buf *reply,
    enum mtasts_mapreply_kind *k)
{
	const struct mtasts_strlist	*l = &cfg->map_dane_unsupported;
	struct mtasts_dane_answer	 d;
	size_t				 i;
	int				 mode, capable = 1, enforce;

	if (req->kind != MTASTS_MAPKEY_DOMAIN)
		return 0;
	mode = mtasts_dane_mode_for(cfg, req->domain);
	if (mode == MTASTS_DANE_OFF)
		return 0;
	if (mtasts_engine_dane(M.engine, req->domain, 0, &d) != MTASTS_OK) {
		*k = mtasts_mapreply_temp(reply, "DANE: internal error");
		return 1;
	}
	for (i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == req->maplen &&
		    strncmp(l->v[i], req->map, req->maplen) == 0)
			capable = 0;
	enforce = (a->status == MTASTS_OK && a->mode == MTASTS_MODE_ENFORCE) ||
	    mtasts_domain_list_match(&cfg->enforce_domains, req->domain);
	return mtasts_mapreply_dane(mode, &d, capable, enforce, reply, k);
}

/*
 * The MTA-STS answer under the control ctl into reply, *k its kind; 0, or
 * HOLD when it must wait for an MX set and may_hold is set.
 */
static int
sts_reply(const struct mtasts_mapreq *req, const struct mtasts_answer *a,
    enum mtasts_mapctl ctl, const struct mtasts_config *cfg, int may_hold,
    struct mtasts_buf *reply, enum mtasts_mapreply_kind *k)
{
	struct mtasts_mxset	 set;
	struct mtasts_mx_set	 mxs;
	const char		*hosts[MTASTS_MX_SET_MAX];
	char			 why[160];

	switch (concrete_set(req, a, ctl, cfg->map_match_concrete_mx, &mxs,
	    hosts, &set)) {
	case CONCRETE_WAIT:
		if (may_hold)
			return HOLD;
		*k = mtasts_mapreply_temp(reply, "MTA-STS: the MX hosts of the "
		    "domain are not known yet");
		break;
	case CONCRETE_FAILED:
		(void)snprintf(why, sizeof(why), "MTA-STS: the MX hosts of the "
		    "domain could not be looked up (%s)", mxs.reason);
		*k = mtasts_mapreply_temp(reply, why);
		break;
	case CONCRETE_SET:
		*k = mtasts_mapreply_ctl(ctl, req->kind, a, &set, reply);
		break;
	default:
		*k = mtasts_mapreply_ctl(ctl, req->kind, a, NULL, reply);
		break;
	}
	return 0;
}

/*
 * Answer one request payload into c->out.  Returns 0, -1 when the reply
 * cannot be queued (the client does not read its replies), or HOLD when
 * may_hold is set and the answer waits for an MX set; without may_hold
 * that answer is TEMP.
 */
static int
handle_request(struct client *c, const char *p, size_t len,
    const struct mtasts_config *cfg, int may_hold)
{
	struct mtasts_mapreq		 req;
	struct mtasts_answer		 a;
	struct mtasts_buf		 reply;
	enum mtasts_mapreply_kind	 k;
	enum mtasts_mapctl		 ctl = MTASTS_MAPCTL_POLICY;
	char				 key[LOG_KEY_MAX + 1];
	size_t				 klen;
	int				 rc = 0;

	memset(&a, 0, sizeof(a));
	mtasts_buf_init(&reply, MTASTS_MAPREPLY_MAX);
	if (mtasts_mapreq_parse(p, len, &req) == -1) {
		k = mtasts_mapreply_temp(&reply, "malformed request");
		klen = len < LOG_KEY_MAX ? len : LOG_KEY_MAX;
		(void)mtasts_log_escape(key, sizeof(key), p, klen);
		mtasts_log(LOG_WARNING, NULL, "map client %lu: malformed "
		    "request \"%s\"", c->id, key);
	} else {
		if (req.kind == MTASTS_MAPKEY_DOMAIN)
			ctl = mtasts_mapctl_domain(cfg, req.domain);
		/* Skipped and routed domains need no policy: no discovery. */
		if (req.kind == MTASTS_MAPKEY_DOMAIN &&
		    ctl != MTASTS_MAPCTL_SKIP && ctl != MTASTS_MAPCTL_ROUTED)
			(void)mtasts_engine_lookup(M.engine, req.domain, 0, &a);
		/* As at RCPT time: skipped and routed domains first, then DANE. */
		if ((ctl == MTASTS_MAPCTL_SKIP || ctl == MTASTS_MAPCTL_ROUTED ||
		    !dane_reply(&req, &a, cfg, &reply, &k)) &&
		    sts_reply(&req, &a, ctl, cfg, may_hold, &reply, &k) == HOLD) {
			mtasts_answer_clear(&a);
			mtasts_buf_free(&reply);
			return HOLD;
		}
		if (mtasts_log_enabled(LOG_DEBUG)) {
			klen = len - req.maplen - 1;
			if (klen > LOG_KEY_MAX)
				klen = LOG_KEY_MAX;
			mtasts_log(LOG_DEBUG, req.kind == MTASTS_MAPKEY_DOMAIN ?
			    req.domain : NULL, "map=%.*s key=%.*s%s%s reply=%s "
			    "\"%s\"", (int)req.maplen, req.map, (int)klen,
			    req.map + req.maplen + 1, ctl != MTASTS_MAPCTL_POLICY ?
			    " control=" : "", ctl != MTASTS_MAPCTL_POLICY ?
			    mtasts_mapctl_str(ctl) : "",
			    mtasts_mapreply_kind_str(k),
			    reply.data != NULL ? reply.data : "");
		}
		mtasts_answer_clear(&a);
	}
	if (reply.data == NULL || mtasts_netstring_encode(&c->out, reply.data,
	    reply.len) == -1)
		rc = -1;
	mtasts_buf_free(&reply);
	return rc;
}

/*
 * Keep the request pl[0..plen) for later, and the input p[0..n) behind
 * it; -1 when out of memory.
 */
static int
hold(struct client *c, const char *pl, size_t plen, const char *p,
    size_t n)
{
	if ((c->held = malloc(plen > 0 ? plen : 1)) == NULL)
		return -1;
	memcpy(c->held, pl, plen);
	c->heldlen = plen;
	c->held_until = now_ms() + HOLD_MS;
	M.any_held = 1;
	mtasts_buf_reset(&c->rest);
	if (n > 0 && mtasts_buf_add(&c->rest, p, n) == -1) {
		free(c->held);
		c->held = NULL;
		return -1;
	}
	mtasts_log(LOG_DEBUG, NULL, "map client %lu: request waits for an "
	    "MX set", c->id);
	return 0;
}

/* Feed what was read; -1 when the client must be closed (*why says). */
static int
feed(struct client *c, const char *p, size_t n,
    const struct mtasts_config *cfg, const char **why)
{
	enum mtasts_netstring_status	 st;
	const char			*pl;
	size_t				 used, plen;
	uint64_t			 now = now_ms();
	int				 rc;

	while (n > 0) {
		/* A request starts with the first byte after the last one. */
		if (!mtasts_netstring_partial(&c->ns))
			c->req_ms = now;
		st = mtasts_netstring_feed(&c->ns, p, n, &used);
		p += used;
		n -= used;
		if (st == MTASTS_NETSTRING_ERROR) {
			*why = mtasts_netstring_error(&c->ns);
			return -1;
		}
		if (st != MTASTS_NETSTRING_DONE)
			break;
		pl = mtasts_netstring_payload(&c->ns, &plen);
		rc = handle_request(c, pl, plen, cfg, 1);
		if (rc == HOLD && hold(c, pl, plen, p, n) == 0)
			return 0;
		if (rc != 0) {
			*why = rc == HOLD ? "out of memory" :
			    "replies not read, output limit reached";
			return -1;
		}
	}
	return 0;
}

/*
 * Try a held request again: answered once its MX set is known, or with
 * TEMP at its deadline; then the input kept behind it is fed.  Returns
 * 0, or -1 when the client must be closed (*why says).
 */
static int
retry_held(struct client *c, const struct mtasts_config *cfg,
    const char **why)
{
	char	 rest[READ_CHUNK];
	size_t	 n;
	int	 rc;

	*why = NULL;
	rc = handle_request(c, c->held, c->heldlen, cfg,
	    now_ms() < c->held_until);
	if (rc == HOLD)
		return 0;
	free(c->held);
	c->held = NULL;
	c->last_ms = now_ms();
	if (rc == -1) {
		*why = "replies not read, output limit reached";
		return -1;
	}
	n = c->rest.len < sizeof(rest) ? c->rest.len : sizeof(rest);
	if (n > 0)
		memcpy(rest, c->rest.data, n);
	mtasts_buf_reset(&c->rest);
	return feed(c, rest, n, cfg, why);
}

/* Send what is queued; -1 on a write error. */
static int
flush_out(struct client *c)
{
	ssize_t	w;

	while (c->outoff < c->out.len) {
		w = send(c->fd, c->out.data + c->outoff, c->out.len - c->outoff,
		    MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		c->outoff += (size_t)w;
		c->last_ms = now_ms();
	}
	mtasts_buf_reset(&c->out);
	c->outoff = 0;
	return 0;
}

/* Read and answer; returns 0, or -1 with why (NULL: a normal close). */
static int
client_read(struct client *c, const struct mtasts_config *cfg,
    const char **why)
{
	char	buf[READ_CHUNK];
	ssize_t	r;

	*why = NULL;
	r = recv(c->fd, buf, sizeof(buf), 0);
	if (r == -1 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return 0;
	if (r == -1) {
		*why = strerror(errno);
		return -1;
	}
	if (r == 0) {
		if (mtasts_netstring_partial(&c->ns)) {
			*why = "disconnected in the middle of a request";
			return -1;
		}
		/* Replies still queued go out before the close. */
		c->eof = 1;
		return c->out.len > c->outoff ? 0 : -1;
	}
	c->last_ms = now_ms();
	return feed(c, buf, (size_t)r, cfg, why);
}

/* ---------------------------------------------------------------- loop */

/* The index of c in M.clients, or SIZE_MAX. */
static size_t
client_index(const struct client *c)
{
	size_t	i;

	for (i = 0; i < M.nclients; i++)
		if (M.clients[i] == c)
			return i;
	return SIZE_MAX;
}

/* Serve one client that epoll found ready. */
static void
serve_client(struct client *c, uint32_t revents,
    const struct mtasts_config *cfg)
{
	const char	*why = NULL;
	size_t		 i;

	if (c->fd == -1)
		return;		/* closed earlier in this round */
	/* A held request keeps what follows it unread, in order. */
	if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && !c->eof &&
	    c->held == NULL && client_read(c, cfg, &why) == -1)
		goto close;
	if (c->out.len > c->outoff && flush_out(c) == -1) {
		why = "cannot send the reply";
		goto close;
	}
	if (c->eof && c->out.len == c->outoff)
		goto close;
	if (watch(c) == -1) {
		why = "epoll failed";
		goto close;
	}
	return;
close:
	if ((i = client_index(c)) != SIZE_MAX)
		client_close(i, why);
}

/*
 * Retry every held request; returns how many still wait.  Downwards, so
 * that client_close's swap never skips a client.
 */
static size_t
serve_held(const struct mtasts_config *cfg)
{
	struct client	*c;
	const char	*why;
	size_t		 i, waiting = 0;

	for (i = M.nclients; i-- > 0;) {
		c = M.clients[i];
		if (c->held == NULL)
			continue;
		if (retry_held(c, cfg, &why) == -1) {
			client_close(i, why);
			continue;
		}
		if (c->out.len > c->outoff && flush_out(c) == -1) {
			client_close(i, "cannot send the reply");
			continue;
		}
		if (watch(c) == -1) {
			client_close(i, "epoll failed");
			continue;
		}
		if (c->held != NULL)
			waiting++;
	}
	return waiting;
}

/*
 * Close clients silent for idle_ms, and those whose request is not whole
 * REQUEST_DEADLINE_MS (or idle_ms, if shorter) after its first byte;
 * returns the ms until the next such moment.
 */
static int
expire_idle(uint64_t idle_ms)
{
	const struct client	*c;
	uint64_t		 now = now_ms(), left, wait = POLL_MAX_MS;
	uint64_t		 req_max;
	size_t			 i;

	req_max = idle_ms < REQUEST_DEADLINE_MS ? idle_ms :
	    REQUEST_DEADLINE_MS;
	for (i = M.nclients; i-- > 0;) {
		c = M.clients[i];
		if (c->held != NULL) {
			/* waiting for us, not silent: retried soon */
			wait = HOLD_POLL_MS;
			continue;
		}
		if (mtasts_netstring_partial(&c->ns)) {
			if (now - c->req_ms >= req_max) {
				client_close(i, "request not completed in "
				    "time");
				continue;
			}
			left = c->req_ms + req_max - now;
			if (left < wait)
				wait = left;
		}
		if (now - c->last_ms >= idle_ms) {
			client_close(i, NULL);
			continue;
		}
		left = c->last_ms + idle_ms - now;
		if (left < wait)
			wait = left;
	}
	return (int)wait;
}

/*
 * One round: wait for the sockets, then serve what is ready under the
 * configuration in force once epoll returns, so that a reload made while
 * the thread slept applies to the very next request.  Idle connections
 * are counted in seconds, so they are looked for every EXPIRE_EVERY_MS,
 * not on every wake-up.  Returns 1 when the stop pipe rang.
 */
static int
mapd_round(void)
{
	const struct mtasts_config	*cfg;
	struct epoll_event		 evs[NEVENTS];
	size_t				 max_clients;
	uint64_t			 now = now_ms();
	int				 timeout, n, i, stop = 0;

	if (now >= M.next_expire) {
		cfg = liveconf_hold();
		M.expire_wait = expire_idle((uint64_t)cfg->map_idle_timeout *
		    1000);
		liveconf_release(cfg);
		M.next_expire = now + EXPIRE_EVERY_MS;
	}
	timeout = M.expire_wait < EXPIRE_EVERY_MS ? M.expire_wait :
	    EXPIRE_EVERY_MS;
	if (M.any_held && timeout > HOLD_POLL_MS)
		timeout = HOLD_POLL_MS;
	n = epoll_wait(M.ep, evs, NEVENTS, timeout);
	if (n == -1 && errno != EINTR) {
		mtasts_log(LOG_ERR, NULL, "map server: epoll_wait: %s",
		    strerror(errno));
		(void)poll(NULL, 0, 100);
		return 0;
	}
	cfg = liveconf_hold();
	max_clients = cfg->map_max_clients > 0 ?
	    (size_t)cfg->map_max_clients : 1;
	M.in_round = 1;
	for (i = 0; i < n; i++) {
		if (evs[i].data.ptr == &ev_wake)
			stop = 1;
		else if (evs[i].data.ptr == &ev_listen)
			accept_one(max_clients);
		else
			serve_client(evs[i].data.ptr, evs[i].events, cfg);
	}
	if (M.any_held)
		M.any_held = serve_held(cfg) > 0;
	M.in_round = 0;
	free_closed();
	liveconf_release(cfg);
	return stop;
}

static void *
mapd_loop(void *arg)
{
	(void)arg;
	while (!mapd_round())
		;
	return NULL;
}

static int
watch_fixed(int fd, void *tag)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = tag;
	return epoll_ctl(M.ep, EPOLL_CTL_ADD, fd, &ev);
}

int
mapd_start(struct mtasts_engine *engine, struct mtasts_diag *diag)
{
	int	rc;

	if (M.lfd == -1)
		return 0;
	M.engine = engine;
	if (pipe(M.wake) == -1 || set_flags(M.wake[0]) == -1 ||
	    set_flags(M.wake[1]) == -1) {
		mtasts_diag_add(diag, 0, 0, "map server: pipe: %s",
		    strerror(errno));
		return -1;
	}
	if ((M.ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    watch_fixed(M.wake[0], &ev_wake) == -1 ||
	    watch_fixed(M.lfd, &ev_listen) == -1) {
		mtasts_diag_add(diag, 0, 0, "map server: epoll: %s",
		    strerror(errno));
		return -1;
	}
	if ((rc = pthread_create(&M.thr, NULL, mapd_loop, NULL)) != 0) {
		mtasts_diag_add(diag, 0, 0, "map server: cannot start its "
		    "thread: %s", strerror(rc));
		return -1;
	}
	M.running = 1;
	mtasts_log(LOG_INFO, NULL, "map server listening on %s",
	    M.cfg->map_socket);
	return 0;
}

void
mapd_stop(void)
{
	if (M.running) {
		/* A full pipe already holds a wake-up: the result is moot. */
		if (write(M.wake[1], "x", 1) == -1)
			mtasts_log(LOG_DEBUG, NULL, "map server: wake-up: %s",
			    strerror(errno));
		(void)pthread_join(M.thr, NULL);
		M.running = 0;
	}
	while (M.nclients > 0)
		client_close(M.nclients - 1, NULL);
	free(M.clients);
	M.clients = NULL;
	if (M.ep != -1) {
		(void)close(M.ep);
		M.ep = -1;
	}
	if (M.lfd != -1) {
		(void)close(M.lfd);
		M.lfd = -1;
		if (M.path[0] != '\0' && unlink(M.path) == -1)
			mtasts_log(LOG_DEBUG, NULL, "%s: cannot remove: %s",
			    M.path, strerror(errno));
		M.path[0] = '\0';
	}
	if (M.wake[0] != -1) {
		(void)close(M.wake[0]);
		(void)close(M.wake[1]);
		M.wake[0] = M.wake[1] = -1;
	}
}
