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

#endif /* BENCH_H */
