/*
 * buf.h: a growing byte buffer with a size cap fixed at creation (after
 * curl's dynbuf), so that input from the network can never grow without
 * bound.
 */
#ifndef MTASTS_BUF_H
#define MTASTS_BUF_H

#include <stddef.h>

struct mtasts_buf {
	char	*data;		/* NUL-terminated when not NULL; owned */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* appends that would pass this fail */
	int	 toobig;	/* an append was refused for size */
	int	 nomem;		/* an allocation failed */
};

/* Start empty with a cap of max bytes of content. */
void	mtasts_buf_init(struct mtasts_buf *, size_t max);

/* Append n bytes; 0, or -1 (toobig or nomem set) leaving content intact. */
int	mtasts_buf_add(struct mtasts_buf *, const void *p, size_t n);

/* Append formatted text; 0 or -1 as mtasts_buf_add. */
int	mtasts_buf_printf(struct mtasts_buf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Empty the buffer, keeping its memory. */
void	mtasts_buf_reset(struct mtasts_buf *);

/* Release the memory; the buffer is empty and usable again. */
void	mtasts_buf_free(struct mtasts_buf *);

#endif /* MTASTS_BUF_H */
