/*
 * bench.c: helpers shared by the benchmark programs (see bench.h).
 *
 * The loopback guard is the point of this file.  Both programs can open
 * thousands of connections and send as fast as the kernel allows, which
 * is a fine way to hurt someone else's server; so an address is checked
 * after name resolution, and every resolved address must be local, not
 * just the first.
 */
#include <config.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

int
bench_addr_is_local(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (sa->sa_family) {
	case AF_UNIX:
		return 1;
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127;
	default:
		return 0;
	}
}

static int
parse_unix(const char *path, struct bench_addr *a, char *err, size_t errlen)
{
	struct sockaddr_un	*sun;
	size_t			 n;

	sun = (struct sockaddr_un *)(void *)&a->ss;
	n = strlen(path);
	if (n == 0 || n >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "unix socket path empty or too long");
		return -1;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	a->family = AF_UNIX;
	return 0;
}

/* Split "host:port" or "[v6]:port" into host and port, in place. */
static int
split_hostport(char *s, char **host, char **port)
{
	char	*p;

	if (*s == '[') {
		if ((p = strchr(s, ']')) == NULL || p[1] != ':')
			return -1;
		*p = '\0';
		*host = s + 1;
		*port = p + 2;
	} else {
		if ((p = strrchr(s, ':')) == NULL)
			return -1;
		*p = '\0';
		*host = s;
		*port = p + 1;
	}
	return **host == '\0' || **port == '\0' ? -1 : 0;
}

static int
parse_inet(const char *spec, int allow_port0, struct bench_addr *a,
    char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 copy[512], *host, *port;
	long long	 portnum;
	int		 rc;

	if (snprintf(copy, sizeof(copy), "%s", spec) >= (int)sizeof(copy) ||
	    split_hostport(copy, &host, &port) == -1) {
		snprintf(err, errlen, "expected inet:host:port");
		return -1;
	}
	if (bench_parse_num(port, allow_port0 ? 0 : 1, 65535, &portnum) == -1) {
		snprintf(err, errlen, "bad port \"%s\"", port);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (!bench_addr_is_local(ai->ai_addr)) {
			snprintf(err, errlen, "%s is not a loopback address: "
			    "refused", host);
			freeaddrinfo(res);
			return -1;
		}
	}
	if (res->ai_addrlen > sizeof(a->ss)) {
		snprintf(err, errlen, "%s: address too long", host);
		freeaddrinfo(res);
		return -1;
	}
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	a->family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

int
bench_addr_parse(const char *spec, int allow_port0, struct bench_addr *a,
    char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(spec, "unix:", 5) == 0)
		return parse_unix(spec + 5, a, err, errlen);
	if (strncmp(spec, "inet:", 5) == 0)
		return parse_inet(spec + 5, allow_port0, a, err, errlen);
	snprintf(err, errlen, "\"%s\": expected unix:/path or inet:host:port",
	    spec);
	return -1;
}

int
bench_addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t size)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const struct sockaddr_un	*sun;
	char				 host[INET6_ADDRSTRLEN];
	int				 n;

	switch (sa->sa_family) {
	case AF_UNIX:
		sun = (const struct sockaddr_un *)(const void *)sa;
		if (len <= offsetof(struct sockaddr_un, sun_path))
			return -1;
		n = snprintf(buf, size, "unix:%.*s",
		    (int)(len - offsetof(struct sockaddr_un, sun_path)),
		    sun->sun_path);
		break;
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, host,
		    sizeof(host)) == NULL)
			return -1;
		n = snprintf(buf, size, "inet:%s:%u", host,
		    ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    sizeof(host)) == NULL)
			return -1;
		n = snprintf(buf, size, "inet:[%s]:%u", host,
		    ntohs(sin6->sin6_port));
		break;
	default:
		return -1;
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

uint64_t
bench_now_ns(void)
{
	struct timespec	ts;

	/* Cannot fail with a valid clock id and pointer. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
bench_parse_num(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
bench_parse_seconds(const char *s, double max, uint64_t *ns)
{
	char	*end;
	double	 v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v <= 0 || v > max)
		return -1;
	*ns = (uint64_t)(v * 1e9);
	return *ns == 0 ? -1 : 0;
}

/* ------------------------------------------------------- histogram */

static unsigned
hist_index(uint64_t v)
{
	unsigned	 msb, shift;

	if (v >= (uint64_t)1 << BENCH_HIST_TOP_BIT)
		v = ((uint64_t)1 << BENCH_HIST_TOP_BIT) - 1;
	if (v < 2 * BENCH_HIST_HALF)
		return (unsigned)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	shift = msb - BENCH_HIST_SUB_BITS;
	return 2 * BENCH_HIST_HALF + (shift - 1) * BENCH_HIST_HALF +
	    (unsigned)((v >> shift) - BENCH_HIST_HALF);
}

/* The highest value that falls in bucket i. */
static uint64_t
hist_upper(unsigned i)
{
	unsigned	 k, shift;
	uint64_t	 sub;

	if (i < 2 * BENCH_HIST_HALF)
		return i;
	k = i - 2 * BENCH_HIST_HALF;
	shift = k / BENCH_HIST_HALF + 1;
	sub = k % BENCH_HIST_HALF + BENCH_HIST_HALF;
	return ((sub + 1) << shift) - 1;
}

void
bench_hist_add(struct bench_hist *h, uint64_t v)
{
	h->counts[hist_index(v)]++;
	if (h->n == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
	h->sum += (double)v;
}

void
bench_hist_merge(struct bench_hist *to, const struct bench_hist *from)
{
	unsigned	 i;

	if (from->n == 0)
		return;
	for (i = 0; i < BENCH_HIST_BUCKETS; i++)
		to->counts[i] += from->counts[i];
	if (to->n == 0 || from->min < to->min)
		to->min = from->min;
	if (from->max > to->max)
		to->max = from->max;
	to->n += from->n;
	to->sum += from->sum;
}

uint64_t
bench_hist_quantile(const struct bench_hist *h, double q)
{
	uint64_t	 rank, seen;
	unsigned	 i;

	if (h->n == 0)
		return 0;
	rank = (uint64_t)(q * (double)h->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > h->n)
		rank = h->n;
	seen = 0;
	for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			return hist_upper(i) < h->max ? hist_upper(i) : h->max;
	}
	return h->max;
}
