/*
 * filter_work.h: the verdict workers of filter-mta-sts.
 *
 * The filter's event loop never waits for the engine.  Each recipient
 * domain to judge becomes a job; a fixed set of threads runs the RCPT-time
 * verdict and the routing check (filter_route.h) on it, each within the
 * job's own deadline, and hands finished jobs back through a pipe that the
 * event loop polls.  The queue is bounded: when it is full, submitting
 * fails and the caller answers with a temporary failure at once.
 */
#ifndef MTASTS_FILTER_WORK_H
#define MTASTS_FILTER_WORK_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "engine.h"
#include "verdict.h"

struct fw_job {
	/* filled by the submitter */
	char			*domain;	/* raw, after '@'; owned */
	size_t			 len;
	int64_t			 deadline;	/* fw_now_ms() clock */
	void			*owner;		/* the submitter's, untouched */
	/* filled by the worker */
	struct mtasts_verdict	 v;
	int64_t			 took_ms;
	/* the pool's */
	struct fw_job		*next;
};

struct fw_pool;

/* Monotonic milliseconds, the clock of deadlines. */
int64_t		 fw_now_ms(void);

/*
 * Start nthreads workers judging with engine and cfg (both borrowed; they
 * must outlive the pool), accepting at most maxqueued waiting jobs.  NULL
 * with the reason in diag.  Workers block every signal.
 */
struct fw_pool	*fw_pool_new(struct mtasts_engine *,
		    const struct mtasts_config *, size_t nthreads,
		    size_t maxqueued, struct mtasts_diag *);

/*
 * Queue a job; the pool owns it until fw_pool_done() returns it.  -1
 * (the job stays the caller's) when the queue is full or stopping.
 */
int		 fw_pool_submit(struct fw_pool *, struct fw_job *);

/* Readable when finished jobs wait; for poll(2). */
int		 fw_pool_fd(const struct fw_pool *);

/* The next finished job, now the caller's, or NULL.  Never blocks. */
struct fw_job	*fw_pool_done(struct fw_pool *);

/* Jobs queued or running now. */
size_t		 fw_pool_busy(struct fw_pool *);

/*
 * Stop: jobs not started are dropped, running ones finish (each within
 * its deadline), then every job the pool still holds is freed with
 * fw_job_free and the threads are joined.  NULL is accepted.
 */
void		 fw_pool_free(struct fw_pool *);

/* Free a job and its domain copy; NULL is accepted. */
void		 fw_job_free(struct fw_job *);

#endif /* MTASTS_FILTER_WORK_H */
