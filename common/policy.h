/*
 * policy.h: the policy file served at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2).
 */
#ifndef MTASTS_POLICY_H
#define MTASTS_POLICY_H

#include <stddef.h>

#include "status.h"

#define MTASTS_MAX_AGE_MAX	31557600UL	/* one year, RFC 8461 §3.2 */
#define MTASTS_POLICY_SIZE_DEFAULT	65536	/* RFC 8461 §3.3 advice */

enum mtasts_mode {
	MTASTS_MODE_NONE = 0,
	MTASTS_MODE_TESTING,
	MTASTS_MODE_ENFORCE
};

struct mtasts_policy {
	enum mtasts_mode	 mode;
	unsigned long		 max_age;	/* seconds */
	size_t			 nmx;
	char			**mx;	/* lower case, no trailing dot; owned */
};

/*
 * Parse a policy body buf[0..len).  Input longer than maxsize bytes is
 * refused.  The parser goes on after an error so that diag lists every
 * problem.  MTASTS_OK fills *out (release with mtasts_policy_clear);
 * MTASTS_INVALID leaves *out empty; MTASTS_INTERNAL on allocation failure.
 */
enum mtasts_status	 mtasts_policy_parse(const char *buf, size_t len,
			    size_t maxsize, struct mtasts_policy *out,
			    struct mtasts_diag *diag);

/* Free what a policy owns and reset it to empty; NULL is accepted. */
void			 mtasts_policy_clear(struct mtasts_policy *);

/*
 * 1 when an HTTP Content-Type value is text/plain (case-insensitive,
 * parameters such as charset allowed and ignored), else 0.  NULL gives 0.
 */
int			 mtasts_media_type_ok(const char *content_type);

/* "none", "testing" or "enforce"; never NULL. */
const char		*mtasts_mode_str(enum mtasts_mode);

#endif /* MTASTS_POLICY_H */
