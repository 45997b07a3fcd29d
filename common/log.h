/*
 * log.h: the one logging module.  The engine logs through it; the front end
 * decides where lines land (syslog, stderr, or a test's sink).
 */
#ifndef MTASTS_LOG_H
#define MTASTS_LOG_H

#include <stddef.h>
#include <syslog.h>

/* Where lines go, chosen once by the front end at start-up. */
struct mtasts_log_setup {
	const char	*ident;		/* program name for syslog and stderr */
	int		 use_syslog;	/* 1: openlog(ident, LOG_PID, facility) */
	int		 facility;	/* LOG_MAIL by default */
	int		 use_stderr;	/* 1: also "ident: level: line" on stderr */
	int		 level;		/* highest priority logged, LOG_INFO... */
};

/* Start (or restart, after a reload) logging; safe to call again. */
void	mtasts_log_init(const struct mtasts_log_setup *);

/* Change the highest priority logged (LOG_ERR .. LOG_DEBUG). */
void	mtasts_log_setlevel(int level);

/* 1 when lines of this priority are logged; lets callers skip costly work. */
int	mtasts_log_enabled(int prio);

/*
 * Log one line.  When domain is not NULL the line begins "domain=<domain> ".
 * Control characters and non-ASCII bytes in the result are escaped (\n,
 * \x1b...) so that one call is always exactly one line.  Thread-safe.
 */
void	mtasts_log(int prio, const char *domain, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Tests capture lines here instead of syslog/stderr: fn receives the
 * priority and the finished, escaped line.  fn == NULL restores the setup.
 */
void	mtasts_log_set_sink(void (*fn)(int prio, const char *line, void *arg),
	    void *arg);

/* Escape src[0..len) into dst (always NUL-terminated); returns strlen(dst). */
size_t	mtasts_log_escape(char *dst, size_t dstsz, const char *src,
	    size_t len);

/* Syslog facility by name ("mail", "local0".."local7", "daemon", "user"). */
int	mtasts_log_facility_parse(const char *name, int *facility);

/* Level by name ("err"/"error", "warning", "notice", "info", "debug"). */
int	mtasts_log_level_parse(const char *name, int *level);

/* Name of a priority ("err", "warning", ...); never NULL. */
const char *mtasts_log_level_str(int prio);

#endif /* MTASTS_LOG_H */
