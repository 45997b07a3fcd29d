/*
 * bench.h: small helpers shared by the benchmark programs smload and
 * echo-sm: socket addresses written the way Postfix writes socketmap
 * endpoints, a loopback-only guard, a monotonic clock and bounded number
 * parsing.  Nothing here belongs to the engine; the benchmarks do not link
 * libmtasts, so that the load generator never shares code with what it
 * measures.
 */
#ifndef BENCH_H
#define BENCH_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/* A resolved endpoint: "unix:/path" or "inet:host:port". */
struct bench_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 family;	/* AF_UNIX, AF_INET, AF_INET6 */
};

/*
 * Resolve spec into *a.  An inet host may be a name ("localhost"), an
 * IPv4 address or an IPv6 address, bracketed or not ("[::1]:2600").  The
 * port may be 0 only when allow_port0 is set (a server asking the kernel
 * for a free port).  Anything that is not loopback (127.0.0.0/8, ::1,
 * ::ffff:127.0.0.0/104) or a unix socket is refused.  Returns 0, or -1
 * with a reason in err.
 */
int		 bench_addr_parse(const char *spec, int allow_port0,
		    struct bench_addr *a, char *err, size_t errlen);

/* Whether sa is a loopback address or a unix socket. */
int		 bench_addr_is_local(const struct sockaddr *sa);

/*
 * Write a socket's address back in spec form ("inet:127.0.0.1:40123",
 * "inet:[::1]:40123", "unix:/path") into buf.  Returns 0 or -1.
 */
int		 bench_addr_format(const struct sockaddr *sa, socklen_t len,
		    char *buf, size_t size);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t	 bench_now_ns(void);

/*
 * Parse a whole decimal integer in [min, max] into *out.  Returns 0, or
 * -1 if s is empty, has trailing garbage or is out of range.
 */
int		 bench_parse_num(const char *s, long long min, long long max,
		    long long *out);

/* Parse seconds, fractions allowed, in (0, max]; into nanoseconds. */
int		 bench_parse_seconds(const char *s, double max, uint64_t *ns);

/*
 * A latency histogram in nanoseconds, log-linear (the HDR histogram
 * idea): values below 256 are exact, then 128 linear sub-buckets per
 * power of two, so a percentile is exact to within 1/128 (0.8%), rounded
 * up; values clamp below 2^44 ns (about 4.9 h).  About 40 KB, any count.
 * Plain data: zero it to start, one writer at a time, merge per-thread
 * histograms at the end.
 */
#define BENCH_HIST_SUB_BITS	7
#define BENCH_HIST_HALF		(1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_TOP_BIT	44
#define BENCH_HIST_BUCKETS	(2 * BENCH_HIST_HALF + (BENCH_HIST_TOP_BIT - \
				    BENCH_HIST_SUB_BITS - 1) * BENCH_HIST_HALF)

struct bench_hist {
	uint64_t	 counts[BENCH_HIST_BUCKETS];
	uint64_t	 n;
	uint64_t	 min;
	uint64_t	 max;
	double		 sum;
};

/* Count one value. */
void		 bench_hist_add(struct bench_hist *, uint64_t v);

/* Add every count of from to to. */
void		 bench_hist_merge(struct bench_hist *to,
		    const struct bench_hist *from);

/* The value at quantile q in [0, 1], never above the true maximum; 0 if empty. */
uint64_t	 bench_hist_quantile(const struct bench_hist *, double q);

#endif /* BENCH_H */
