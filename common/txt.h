/*
 * txt.h: the _mta-sts TXT record (RFC 8461 §3.1).
 */
#ifndef MTASTS_TXT_H
#define MTASTS_TXT_H

#include <stddef.h>

#include "status.h"

#define MTASTS_ID_MAX	32

/* What the selection over a whole answer concluded. */
enum mtasts_txt_result {
	MTASTS_TXT_FOUND = 0,	/* exactly one valid v=STSv1 record */
	MTASTS_TXT_NONE,	/* no v=STSv1 record */
	MTASTS_TXT_MULTIPLE,	/* more than one */
	MTASTS_TXT_INVALID	/* one, and it breaks the grammar */
};

struct mtasts_txt {
	char			id[MTASTS_ID_MAX + 1];	/* NUL-terminated */
	enum mtasts_txt_result	result;		/* set by the select calls */
};

/* Stable class name of a result: "ok", "no-txt", "multi-txt", "bad-txt". */
const char	*mtasts_txt_result_str(enum mtasts_txt_result);

/*
 * Parse one TXT record whose strings are already joined.  MTASTS_OK with
 * out->id set; MTASTS_NOPOLICY when the record is not an STSv1 record at
 * all; MTASTS_INVALID when it is one but breaks the grammar (reason in diag).
 */
enum mtasts_status	mtasts_txt_parse(const char *rec, size_t len,
			    struct mtasts_txt *out, struct mtasts_diag *diag);

/*
 * Apply the RFC's selection to the whole answer: records not beginning with
 * "v=STSv1" are discarded; exactly one must remain and be valid.  recs[i]
 * has lens[i] bytes, strings already joined.  MTASTS_OK with out->id set, or
 * MTASTS_NOPOLICY with the reason in diag; out->result says which case it
 * was either way.
 */
enum mtasts_status	mtasts_txt_select(const char *const *recs,
			    const size_t *lens, size_t nrecs,
			    struct mtasts_txt *out, struct mtasts_diag *diag);

/*
 * As mtasts_txt_select, for records in DNS wire form as a resolver returns
 * them (rdata[i] is rdlen[i] bytes of <length><bytes> strings); each
 * record's strings are joined with nothing between them.  A record whose
 * wire form is broken counts as an invalid STSv1 candidate.
 * MTASTS_INTERNAL ("out of memory" in diag) when the join buffer cannot
 * be allocated.
 */
enum mtasts_status	mtasts_txt_select_wire(
			    const unsigned char *const *rdata,
			    const size_t *rdlen, size_t nrecs,
			    struct mtasts_txt *out, struct mtasts_diag *diag);

#endif /* MTASTS_TXT_H */
