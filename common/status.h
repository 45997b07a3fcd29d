/*
 * status.h: the outcome of every engine call, and the diagnostics that
 * explain a failure to an operator.
 */
#ifndef MTASTS_STATUS_H
#define MTASTS_STATUS_H

#include <stddef.h>
#include <stdio.h>

/*
 * Five outcomes that callers must keep apart (STYLE.md §4): a front end maps
 * each to an action the operator configured.
 */
enum mtasts_status {
	MTASTS_OK = 0,		/* result is valid */
	MTASTS_NOPOLICY,	/* the domain has no (usable) MTA-STS policy */
	MTASTS_TEMPFAIL,	/* try again later: SERVFAIL, timeout, ... */
	MTASTS_INVALID,		/* input present but malformed */
	MTASTS_INTERNAL		/* our fault or resources: out of memory */
};

/* Static lower-case name of a status ("ok", "no-policy", ...); never NULL. */
const char	*mtasts_status_str(enum mtasts_status);

#define MTASTS_DIAG_MAX		32	/* entries kept; the rest are counted */
#define MTASTS_DIAG_LEN		200	/* bytes per entry, NUL included */

/*
 * A bounded list of problems found while parsing, each with the 1-based line
 * it concerns (0 when none).  Warnings do not make the input invalid.  Lives
 * on the caller's stack; no allocation, so it works when memory is short.
 */
struct mtasts_diag {
	size_t	count;		/* entries stored in item[] */
	size_t	errors;		/* error entries, including dropped ones */
	size_t	dropped;	/* entries that did not fit */
	struct mtasts_diag_item {
		unsigned int	line;
		int		warning;
		char		text[MTASTS_DIAG_LEN];
	} item[MTASTS_DIAG_MAX];
};

/* Empty a diag.  NULL is accepted and ignored. */
void		 mtasts_diag_init(struct mtasts_diag *);

/* Append an error (warning == 0) or a warning; NULL diag ignores the call. */
void		 mtasts_diag_add(struct mtasts_diag *, int warning,
		    unsigned int line, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/* Text of the first error, or "" when there is none; borrowed from diag. */
const char	*mtasts_diag_first(const struct mtasts_diag *);

/* Write each entry to fp as "prog: [warning: ]text", then what was dropped. */
void		 mtasts_diag_print(FILE *fp, const char *prog,
		    const struct mtasts_diag *);

#endif /* MTASTS_STATUS_H */
