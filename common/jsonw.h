/*
 * jsonw.h: a small JSON writer for machine-readable output (mta-sts-ctl
 * --json).  Keys and values are escaped per RFC 8259; bytes that are not
 * valid UTF-8 are written as \u00XX escapes of the byte so output is always
 * valid JSON.
 */
#ifndef MTASTS_JSONW_H
#define MTASTS_JSONW_H

#include <stddef.h>

#include "buf.h"

#define MTASTS_JSONW_DEPTH	16

struct mtasts_jsonw {
	struct mtasts_buf	buf;
	int			depth;
	/* per level: 0x01 an item was written, 0x02 the level is an object */
	unsigned char		count[MTASTS_JSONW_DEPTH];
	int			error;	/* nesting misuse or buffer failure */
};

/* Start an empty document. */
void	 mtasts_jsonw_init(struct mtasts_jsonw *);

/*
 * In an object pass the member's key; in an array (or at top level) pass
 * key == NULL.
 */
void	 mtasts_jsonw_object_begin(struct mtasts_jsonw *, const char *key);
void	 mtasts_jsonw_object_end(struct mtasts_jsonw *);
void	 mtasts_jsonw_array_begin(struct mtasts_jsonw *, const char *key);
void	 mtasts_jsonw_array_end(struct mtasts_jsonw *);
/* val == NULL writes null. */
void	 mtasts_jsonw_string(struct mtasts_jsonw *, const char *key,
	    const char *val);
void	 mtasts_jsonw_stringn(struct mtasts_jsonw *, const char *key,
	    const char *val, size_t len);
void	 mtasts_jsonw_int(struct mtasts_jsonw *, const char *key, long long);
void	 mtasts_jsonw_bool(struct mtasts_jsonw *, const char *key, int);
void	 mtasts_jsonw_null(struct mtasts_jsonw *, const char *key);

/*
 * The finished text (borrowed, valid until mtasts_jsonw_free), or NULL when
 * the document is unbalanced or a write failed.
 */
const char	*mtasts_jsonw_finish(struct mtasts_jsonw *);

/* Release memory. */
void	 mtasts_jsonw_free(struct mtasts_jsonw *);

#endif /* MTASTS_JSONW_H */
