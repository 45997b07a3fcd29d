/*
 * filter_work.c: the verdict workers of filter-mta-sts (filter_work.h).
 *
 * A mutex and a condition variable guard the queue; a finished job goes
 * back as its pointer written to a pipe (sizeof a pointer is far below
 * PIPE_BUF, so each write is atomic), which wakes the event loop's
 * poll(2).  The number of jobs in the pool is bounded by maxqueued plus
 * the threads, well below what the pipe holds, so a worker never blocks
 * on that write for long.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filter_route.h"
#include "filter_work.h"
#include "log.h"
#include "verdict.h"

#define MAX_THREADS	64
#define MAX_QUEUED	4096	/* pointers in flight stay below the pipe's */

struct fw_pool {
	struct mtasts_engine		*engine;
	const struct mtasts_config	*cfg;
	pthread_mutex_t			 lock;
	pthread_cond_t			 cond;
	struct fw_job			*head, *tail;
	size_t				 queued, running, maxqueued;
	int				 stop;
	int				 pipe[2];
	size_t				 nthreads;
	pthread_t			 thr[MAX_THREADS];
};

int64_t
fw_now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fw_job_free(struct fw_job *j)
{
	if (j == NULL)
		return;
	free(j->domain);
	free(j);
}

/* The verdict, then what OpenSMTPD's routing makes of it. */
static void
judge(struct fw_pool *p, struct route_reader *rr, struct fw_job *j)
{
	int64_t	t0 = fw_now_ms(), left = j->deadline - t0;

	mtasts_verdict_rcpt(p->engine, p->cfg, j->domain, j->len,
	    left > 0 ? (long)left : 0, &j->v);
	route_adapt(rr, p->cfg, j->domain, j->len, j->deadline, &j->v);
	j->took_ms = fw_now_ms() - t0;
}

static void
hand_back(struct fw_pool *p, struct fw_job *j)
{
	ssize_t	w;

	do
		w = write(p->pipe[1], &j, sizeof(j));
	while (w == -1 && errno == EINTR);
	if (w != (ssize_t)sizeof(j)) {
		/* Cannot happen with a pipe we own; the request times out. */
		mtasts_log(LOG_ERR, NULL, "cannot hand a verdict back to the "
		    "event loop: %s", w == -1 ? strerror(errno) : "short write");
		fw_job_free(j);
	}
}

static void *
worker(void *arg)
{
	struct fw_pool		*p = arg;
	struct route_reader	 rr;
	struct fw_job		*j;

	route_reader_init(&rr);
	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->head == NULL && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		j = p->head;
		if ((p->head = j->next) == NULL)
			p->tail = NULL;
		j->next = NULL;
		p->queued--;
		p->running++;
		pthread_mutex_unlock(&p->lock);

		judge(p, &rr, j);
		hand_back(p, j);

		pthread_mutex_lock(&p->lock);
		p->running--;
		pthread_mutex_unlock(&p->lock);
	}
	route_reader_close(&rr);
	return NULL;
}

static int
set_flags(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1 ||
	    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

struct fw_pool *
fw_pool_new(struct mtasts_engine *engine, const struct mtasts_config *cfg,
    size_t nthreads, size_t maxqueued, struct mtasts_diag *diag)
{
	struct fw_pool	*p;
	sigset_t	 all, old;
	int		 rc, fl;

	if (nthreads == 0 || nthreads > MAX_THREADS || maxqueued == 0 ||
	    maxqueued > MAX_QUEUED) {
		mtasts_diag_add(diag, 0, 0, "worker pool: %zu threads, %zu "
		    "queued: out of range", nthreads, maxqueued);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		mtasts_diag_add(diag, 0, 0, "worker pool: out of memory");
		return NULL;
	}
	p->engine = engine;
	p->cfg = cfg;
	p->maxqueued = maxqueued;
	if (pipe(p->pipe) == -1 || set_flags(p->pipe[0]) == -1 ||
	    set_flags(p->pipe[1]) == -1 ||
	    (fl = fcntl(p->pipe[0], F_GETFL)) == -1 ||
	    fcntl(p->pipe[0], F_SETFL, fl | O_NONBLOCK) == -1) {
		mtasts_diag_add(diag, 0, 0, "worker pool: pipe: %s",
		    strerror(errno));
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	/* Threads inherit the mask: signals stay with the main thread. */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; p->nthreads < nthreads; p->nthreads++) {
		rc = pthread_create(&p->thr[p->nthreads], NULL, worker, p);
		if (rc != 0) {
			mtasts_diag_add(diag, 0, 0, "worker pool: cannot "
			    "start a thread: %s", strerror(rc));
			break;
		}
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->nthreads < nthreads) {
		fw_pool_free(p);
		return NULL;
	}
	return p;
}

int
fw_pool_submit(struct fw_pool *p, struct fw_job *j)
{
	pthread_mutex_lock(&p->lock);
	if (p->stop || p->queued >= p->maxqueued) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	j->next = NULL;
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int
fw_pool_fd(const struct fw_pool *p)
{
	return p->pipe[0];
}

struct fw_job *
fw_pool_done(struct fw_pool *p)
{
	struct fw_job	*j;
	ssize_t		 r;

	do
		r = read(p->pipe[0], &j, sizeof(j));
	while (r == -1 && errno == EINTR);
	if (r != (ssize_t)sizeof(j))
		return NULL;	/* nothing (EAGAIN); a pointer is never split */
	return j;
}

size_t
fw_pool_busy(struct fw_pool *p)
{
	size_t	n;

	pthread_mutex_lock(&p->lock);
	n = p->queued + p->running;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
fw_pool_free(struct fw_pool *p)
{
	struct fw_job	*j;
	size_t		 i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		(void)pthread_join(p->thr[i], NULL);
	while ((j = p->head) != NULL) {
		p->head = j->next;
		fw_job_free(j);
	}
	while ((j = fw_pool_done(p)) != NULL)
		fw_job_free(j);
	(void)close(p->pipe[0]);
	(void)close(p->pipe[1]);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
