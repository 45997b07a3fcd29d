/*
 * cache.h: the in-memory table of what the engine knows per domain: a
 * valid policy, or a bounded-lifetime negative result.  Pure data: no
 * locking (the engine holds its lock around every call), no I/O, and the
 * clock is the caller's, so the RFC 8461 cache rules are testable with any
 * time.
 */
#ifndef MTASTS_CACHE_H
#define MTASTS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "policy.h"
#include "txt.h"

enum mtasts_cache_kind {
	MTASTS_CACHE_POLICY = 1,	/* a fetched, valid policy */
	MTASTS_CACHE_NEGATIVE,		/* no policy, or fetch failed */
	MTASTS_CACHE_TEMPORARY		/* DNS trouble and nothing cached */
};

/*
 * One domain.  Strings live in data[]: the domain, then nmx patterns, then
 * the policy id, each NUL-terminated, so that an entry is one allocation
 * (100k domains must fit in a few tens of MB: the fields are ordered so
 * that no padding is left, and the id takes its length, not its maximum).
 * Entries are replaced whole, never edited in place, except for the time
 * fields and reason.
 */
struct mtasts_cache_entry {
	struct mtasts_cache_entry	*next;		/* hash chain */
	const char			*id;		/* policy id (may be ""),
							   in data[] */
	int64_t				 fetched_at;	/* policy: last good fetch */
	int64_t				 expires_at;	/* policy: fetched_at + max_age;
							   negative: end of life */
	int64_t				 txt_checked_at;	/* last TXT id check */
	int64_t				 retry_at;	/* no fetch for this id before */
	uint32_t			 hash;
	uint32_t			 data_len;	/* bytes used in data[] */
	uint32_t			 max_age;
	uint8_t				 kind;		/* enum mtasts_cache_kind */
	uint8_t				 mode;		/* enum mtasts_mode */
	uint16_t			 nmx;
	char				 reason[24];	/* negative: failure class */
	char				 data[];	/* domain\0mx\0...mx\0id\0 */
};

struct mtasts_cache;

/* New empty table sized for about hint domains; NULL when out of memory. */
struct mtasts_cache	*mtasts_cache_new(size_t hint);

/* Free the table and every entry; NULL is accepted. */
void			 mtasts_cache_free(struct mtasts_cache *);

/* The entry of a normalised domain, or NULL; borrowed until the next change. */
struct mtasts_cache_entry	*mtasts_cache_get(struct mtasts_cache *,
				    const char *domain);

/*
 * Store a policy for domain (replacing whatever was there).  The mx
 * patterns are copied.  Returns the new entry, or NULL when out of memory
 * (the old entry then stays).
 */
struct mtasts_cache_entry	*mtasts_cache_put_policy(struct mtasts_cache *,
				    const char *domain, const char *id,
				    enum mtasts_mode mode, unsigned long max_age,
				    const char *const *mx, size_t nmx,
				    int64_t fetched_at, int64_t txt_checked_at);

/*
 * Store a negative (kind MTASTS_CACHE_NEGATIVE or MTASTS_CACHE_TEMPORARY)
 * result that lives until expires_at; id is the TXT id
 * whose fetch failed (or ""), retry_at when a fetch for it may be tried
 * again.  Returns the entry or NULL when out of memory.
 */
struct mtasts_cache_entry	*mtasts_cache_put_negative(struct mtasts_cache *,
				    enum mtasts_cache_kind kind,
				    const char *domain, const char *reason,
				    const char *id, int64_t now,
				    int64_t expires_at, int64_t retry_at);

/* A private copy of an entry (caller frees with free()), or NULL. */
struct mtasts_cache_entry	*mtasts_cache_entry_dup(
				    const struct mtasts_cache_entry *);

/* Drop a domain; 1 when it was there. */
int			 mtasts_cache_remove(struct mtasts_cache *,
			    const char *domain);

/* Number of domains held. */
size_t			 mtasts_cache_count(const struct mtasts_cache *);

/*
 * Call fn for every entry until it returns non-zero (which is returned).
 * fn must not change the table.
 */
int			 mtasts_cache_foreach(struct mtasts_cache *,
			    int (*fn)(void *, struct mtasts_cache_entry *),
			    void *arg);

/* The domain of an entry; the i-th mx pattern (i < nmx). */
const char		*mtasts_cache_domain(const struct mtasts_cache_entry *);
const char		*mtasts_cache_mx(const struct mtasts_cache_entry *,
			    size_t i);

/* 1 when an entry may still be used at time now (RFC 8461 §3.3, §5.1). */
int			 mtasts_cache_usable(const struct mtasts_cache_entry *,
			    int64_t now);

#endif /* MTASTS_CACHE_H */
