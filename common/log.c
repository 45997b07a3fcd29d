/*
 * log.c: the one logging module.
 *
 * Every line is formatted, prefixed with "domain=<domain> " when a domain is
 * given, and then escaped as a whole: the domain, the MX names and the policy
 * text we log all come from the network, and a stray newline or terminal
 * escape in them must neither split a line nor reach an operator's terminal.
 * A line is cut at LOG_LINE_MAX bytes and ends in "..." when cut, so that one
 * call is always exactly one line in the log.
 *
 * libmilter calls us from many threads.  One mutex serialises everything
 * that is not atomic by itself: the setup, syslog(), the stderr write and
 * the test sink.  The level is an atomic so that mtasts_log_enabled() costs
 * no lock on the hot path.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048	/* bytes of escaped text per line */
#define LOG_IDENT_MAX	64
#define LOG_TRUNC_MARK	"..."

static pthread_mutex_t	 log_mtx = PTHREAD_MUTEX_INITIALIZER;
static atomic_int	 log_level = LOG_INFO;
/* openlog() keeps the pointer, so the ident lives here, not with the caller. */
static char		 log_ident[LOG_IDENT_MAX] = "mta-sts";
static int		 log_use_syslog;
static int		 log_syslog_open;
static int		 log_use_stderr = 1;
static int		 log_facility = LOG_MAIL;
static void		(*log_sink)(int, const char *, void *);
static void		*log_sink_arg;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
};

static const struct {
	const char	*name;
	int		 facility;
} facilities[] = {
	{ "mail",	LOG_MAIL },
	{ "daemon",	LOG_DAEMON },
	{ "user",	LOG_USER },
	{ "local0",	LOG_LOCAL0 },
	{ "local1",	LOG_LOCAL1 },
	{ "local2",	LOG_LOCAL2 },
	{ "local3",	LOG_LOCAL3 },
	{ "local4",	LOG_LOCAL4 },
	{ "local5",	LOG_LOCAL5 },
	{ "local6",	LOG_LOCAL6 },
	{ "local7",	LOG_LOCAL7 },
};

static int
clamp_level(int level)
{
	if (level < LOG_ERR)
		return LOG_ERR;
	if (level > LOG_DEBUG)
		return LOG_DEBUG;
	return level;
}

/* Compare ASCII names ignoring case, independent of the C library locale. */
static int
name_eq(const char *a, const char *b)
{
	unsigned char	ca, cb;

	for (;; a++, b++) {
		ca = (unsigned char)*a;
		cb = (unsigned char)*b;
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return 0;
		if (ca == '\0')
			return 1;
	}
}

void
mtasts_log_init(const struct mtasts_log_setup *setup)
{
	const char	*ident = "mta-sts";
	size_t		 n;

	if (pthread_mutex_lock(&log_mtx) != 0)
		return;
	if (log_syslog_open) {
		/* closelog first: syslog() must not see a half-copied ident. */
		closelog();
		log_syslog_open = 0;
	}
	if (setup != NULL && setup->ident != NULL && setup->ident[0] != '\0')
		ident = setup->ident;
	n = strlen(ident);
	if (n >= sizeof(log_ident))
		n = sizeof(log_ident) - 1;
	memcpy(log_ident, ident, n);
	log_ident[n] = '\0';

	if (setup == NULL) {
		log_use_syslog = 0;
		log_use_stderr = 1;
		log_facility = LOG_MAIL;
		atomic_store(&log_level, LOG_INFO);
	} else {
		log_use_syslog = setup->use_syslog != 0;
		log_use_stderr = setup->use_stderr != 0;
		/*
		 * A zeroed setup means "defaults": facility 0 is LOG_KERN,
		 * which a user process cannot use, and level 0 (LOG_EMERG)
		 * would silence every line we ever write.
		 */
		log_facility = setup->facility != 0 ?
		    LOG_FAC(setup->facility) << 3 : LOG_MAIL;
		atomic_store(&log_level, setup->level != 0 ?
		    clamp_level(setup->level) : LOG_INFO);
	}
	if (log_use_syslog) {
		openlog(log_ident, LOG_PID | LOG_NDELAY, log_facility);
		log_syslog_open = 1;
	}
	(void)pthread_mutex_unlock(&log_mtx);
}

void
mtasts_log_setlevel(int level)
{
	atomic_store(&log_level, clamp_level(level));
}

int
mtasts_log_enabled(int prio)
{
	return LOG_PRI(prio) <= atomic_load(&log_level);
}

void
mtasts_log_set_sink(void (*fn)(int, const char *, void *), void *arg)
{
	if (pthread_mutex_lock(&log_mtx) != 0)
		return;
	log_sink = fn;
	log_sink_arg = fn != NULL ? arg : NULL;
	(void)pthread_mutex_unlock(&log_mtx);
}

/*
 * Escape src[0..len) into dst[0..dstsz), never splitting an escape sequence.
 * Returns the number of source bytes consumed; *outlen gets strlen(dst).
 */
static size_t
escape(char *dst, size_t dstsz, const char *src, size_t len, size_t *outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*s = (const unsigned char *)src;
	char			 tmp[4];
	size_t			 i, o = 0, n;

	if (dstsz == 0) {
		*outlen = 0;
		return 0;
	}
	for (i = 0; i < len; i++) {
		n = 0;
		switch (s[i]) {
		case '\n':
			tmp[n++] = '\\';
			tmp[n++] = 'n';
			break;
		case '\r':
			tmp[n++] = '\\';
			tmp[n++] = 'r';
			break;
		case '\t':
			tmp[n++] = '\\';
			tmp[n++] = 't';
			break;
		case '\\':
			tmp[n++] = '\\';
			tmp[n++] = '\\';
			break;
		default:
			if (s[i] < 0x20 || s[i] >= 0x7f) {
				tmp[n++] = '\\';
				tmp[n++] = 'x';
				tmp[n++] = hex[s[i] >> 4];
				tmp[n++] = hex[s[i] & 0x0f];
			} else
				tmp[n++] = (char)s[i];
			break;
		}
		if (o + n >= dstsz)
			break;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
	*outlen = o;
	return i;
}

size_t
mtasts_log_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t	outlen;

	if (src == NULL)
		len = 0;
	(void)escape(dst, dstsz, src, len, &outlen);
	return outlen;
}

int
mtasts_log_facility_parse(const char *name, int *facility)
{
	size_t	i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		if (name_eq(name, facilities[i].name)) {
			if (facility != NULL)
				*facility = facilities[i].facility;
			return 0;
		}
	}
	return -1;
}

int
mtasts_log_level_parse(const char *name, int *level)
{
	int	i;

	if (name == NULL)
		return -1;
	/* Only the levels an operator may choose: err and below. */
	for (i = LOG_ERR; i <= LOG_DEBUG; i++) {
		if (name_eq(name, level_names[i])) {
			if (level != NULL)
				*level = i;
			return 0;
		}
	}
	if (name_eq(name, "error")) {
		if (level != NULL)
			*level = LOG_ERR;
		return 0;
	}
	return -1;
}

const char *
mtasts_log_level_str(int prio)
{
	return level_names[LOG_PRI(prio)];
}

/* Write all of buf to stderr in one write(2) so lines never interleave. */
static void
write_stderr(int prio, const char *line)
{
	char	buf[LOG_IDENT_MAX + 16 + LOG_LINE_MAX + 2];
	int	n;
	ssize_t	w;

	n = snprintf(buf, sizeof(buf), "%s: %s: %s\n", log_ident,
	    mtasts_log_level_str(prio), line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;	/* cannot happen: sized above */
	do {
		w = write(STDERR_FILENO, buf, (size_t)n);
	} while (w == -1 && errno == EINTR);
	/* Nowhere to report a failed write to stderr; the line is lost. */
}

void
mtasts_log(int prio, const char *domain, const char *fmt, ...)
{
	char	raw[LOG_LINE_MAX + 1];
	char	line[LOG_LINE_MAX + 1];
	size_t	rawlen = 0, used, outlen;
	int	n, cut = 0, saved_errno = errno;
	va_list	ap;

	if (!mtasts_log_enabled(prio))
		return;

	/*
	 * Every escaped byte takes at least one output byte, so a raw line
	 * longer than LOG_LINE_MAX is bound to be cut: raw needs no more room.
	 */
	if (domain != NULL) {
		n = snprintf(raw, sizeof(raw), "domain=%s ", domain);
		if (n < 0)
			n = 0;
		if ((size_t)n >= sizeof(raw)) {
			cut = 1;
			n = (int)sizeof(raw) - 1;
		}
		rawlen = (size_t)n;
	}
	if (rawlen < sizeof(raw) - 1) {
		va_start(ap, fmt);
		n = vsnprintf(raw + rawlen, sizeof(raw) - rawlen, fmt, ap);
		va_end(ap);
		if (n > 0) {
			/* Counting, not strlen: a %c of 0 is escaped too. */
			if ((size_t)n >= sizeof(raw) - rawlen) {
				cut = 1;
				rawlen = sizeof(raw) - 1;
			} else
				rawlen += (size_t)n;
		}
	}

	used = escape(line, sizeof(line), raw, rawlen, &outlen);
	if (cut || used < rawlen) {
		/* Leave room for the mark, again without splitting escapes. */
		(void)escape(line, sizeof(line) - (sizeof(LOG_TRUNC_MARK) - 1),
		    raw, rawlen, &outlen);
		memcpy(line + outlen, LOG_TRUNC_MARK, sizeof(LOG_TRUNC_MARK));
	}

	if (pthread_mutex_lock(&log_mtx) != 0) {
		errno = saved_errno;
		return;
	}
	if (log_sink != NULL)
		log_sink(LOG_PRI(prio), line, log_sink_arg);
	else {
		if (log_use_syslog)
			syslog(LOG_PRI(prio), "%s", line);
		if (log_use_stderr)
			write_stderr(prio, line);
	}
	(void)pthread_mutex_unlock(&log_mtx);
	/* Callers log and then report errno; logging must not change it. */
	errno = saved_errno;
}
