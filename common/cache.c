/*
 * cache.c: the engine's in-memory domain table: chained hashing with
 * power-of-two buckets, grown as domains arrive; each entry one allocation.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "strutil.h"

struct mtasts_cache {
	struct mtasts_cache_entry	**bucket;
	size_t				  nbucket;	/* power of two */
	size_t				  count;
};

struct mtasts_cache *
mtasts_cache_new(size_t hint)
{
	struct mtasts_cache	*c;
	size_t			 n = 64;

	while (n < hint && n < ((size_t)1 << 24))
		n <<= 1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->bucket = calloc(n, sizeof(*c->bucket))) == NULL) {
		free(c);
		return NULL;
	}
	c->nbucket = n;
	return c;
}

void
mtasts_cache_free(struct mtasts_cache *c)
{
	struct mtasts_cache_entry	*e, *next;
	size_t				 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nbucket; i++)
		for (e = c->bucket[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(c->bucket);
	free(c);
}

/* Double the buckets when the load passes 1; a failed grow only costs speed. */
static void
grow(struct mtasts_cache *c)
{
	struct mtasts_cache_entry	**nb, *e, *next;
	size_t				  n, i;

	if (c->count < c->nbucket || c->nbucket >= ((size_t)1 << 26))
		return;
	n = c->nbucket * 2;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < c->nbucket; i++)
		for (e = c->bucket[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	free(c->bucket);
	c->bucket = nb;
	c->nbucket = n;
}

static struct mtasts_cache_entry **
find_slot(struct mtasts_cache *c, const char *domain, uint32_t h)
{
	struct mtasts_cache_entry	**pp;

	for (pp = &c->bucket[h & (c->nbucket - 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->hash == h &&
		    strcmp((*pp)->data, domain) == 0)
			return pp;
	return pp;
}

struct mtasts_cache_entry *
mtasts_cache_get(struct mtasts_cache *c, const char *domain)
{
	return *find_slot(c, domain, mtasts_strhash(domain));
}

/* Put e in place of any entry for the same domain. */
static struct mtasts_cache_entry *
install(struct mtasts_cache *c, struct mtasts_cache_entry *e)
{
	struct mtasts_cache_entry	**pp, *old;

	pp = find_slot(c, e->data, e->hash);
	old = *pp;
	if (old != NULL) {
		e->next = old->next;
		*pp = e;
		free(old);
		return e;
	}
	e->next = NULL;
	*pp = e;
	c->count++;
	grow(c);
	return e;
}

/* An entry holding domain, the nmx patterns and id (cut to MTASTS_ID_MAX). */
static struct mtasts_cache_entry *
entry_alloc(const char *domain, const char *const *mx, size_t nmx,
    const char *id)
{
	struct mtasts_cache_entry	*e;
	size_t				 len, i, off, idlen;

	idlen = id != NULL ? strlen(id) : 0;
	if (idlen > MTASTS_ID_MAX)
		idlen = MTASTS_ID_MAX;
	len = strlen(domain) + 1 + idlen + 1;
	for (i = 0; i < nmx; i++)
		len += strlen(mx[i]) + 1;
	if ((e = calloc(1, sizeof(*e) + len)) == NULL)
		return NULL;
	off = strlen(domain) + 1;
	memcpy(e->data, domain, off);
	for (i = 0; i < nmx; i++) {
		size_t	l = strlen(mx[i]) + 1;

		memcpy(e->data + off, mx[i], l);
		off += l;
	}
	if (idlen > 0)
		memcpy(e->data + off, id, idlen);
	e->data[off + idlen] = '\0';
	e->id = e->data + off;
	e->nmx = (uint16_t)nmx;
	e->data_len = (uint32_t)len;
	e->hash = mtasts_strhash(domain);
	return e;
}

struct mtasts_cache_entry *
mtasts_cache_put_policy(struct mtasts_cache *c, const char *domain,
    const char *id, enum mtasts_mode mode, unsigned long max_age,
    const char *const *mx, size_t nmx, int64_t fetched_at,
    int64_t txt_checked_at)
{
	struct mtasts_cache_entry	*e;

	if (nmx > UINT16_MAX)
		return NULL;
	if (strlen(domain) >= 256)
		return NULL;
	if ((e = entry_alloc(domain, mx, nmx, id)) == NULL)
		return NULL;
	e->kind = MTASTS_CACHE_POLICY;
	e->mode = (uint8_t)mode;
	e->max_age = (uint32_t)(max_age > MTASTS_MAX_AGE_MAX ?
	    MTASTS_MAX_AGE_MAX : max_age);
	e->fetched_at = fetched_at;
	e->expires_at = fetched_at + (int64_t)e->max_age;
	e->txt_checked_at = txt_checked_at;
	return install(c, e);
}

struct mtasts_cache_entry *
mtasts_cache_put_negative(struct mtasts_cache *c, enum mtasts_cache_kind kind,
    const char *domain, const char *reason, const char *id, int64_t now,
    int64_t expires_at, int64_t retry_at)
{
	struct mtasts_cache_entry	*e;
	size_t				 n;

	if (kind == MTASTS_CACHE_POLICY || strlen(domain) >= 256)
		return NULL;
	if ((e = entry_alloc(domain, NULL, 0, id)) == NULL)
		return NULL;
	e->kind = (uint8_t)kind;
	n = reason != NULL ? strlen(reason) : 0;
	if (n >= sizeof(e->reason))
		n = sizeof(e->reason) - 1;
	if (n > 0)
		memcpy(e->reason, reason, n);
	e->reason[n] = '\0';
	e->fetched_at = now;
	e->txt_checked_at = now;
	e->expires_at = expires_at;
	e->retry_at = retry_at;
	return install(c, e);
}

struct mtasts_cache_entry *
mtasts_cache_entry_dup(const struct mtasts_cache_entry *e)
{
	struct mtasts_cache_entry	*d;

	if ((d = malloc(sizeof(*d) + e->data_len)) == NULL)
		return NULL;
	memcpy(d, e, sizeof(*d) + e->data_len);
	d->next = NULL;
	d->id = d->data + (e->id - e->data);	/* into the copy's data[] */
	return d;
}

int
mtasts_cache_remove(struct mtasts_cache *c, const char *domain)
{
	struct mtasts_cache_entry	**pp, *e;

	pp = find_slot(c, domain, mtasts_strhash(domain));
	if ((e = *pp) == NULL)
		return 0;
	*pp = e->next;
	free(e);
	c->count--;
	return 1;
}

size_t
mtasts_cache_count(const struct mtasts_cache *c)
{
	return c->count;
}

int
mtasts_cache_foreach(struct mtasts_cache *c,
    int (*fn)(void *, struct mtasts_cache_entry *), void *arg)
{
	struct mtasts_cache_entry	*e, *next;
	size_t				 i;
	int				 rc;

	for (i = 0; i < c->nbucket; i++)
		for (e = c->bucket[i]; e != NULL; e = next) {
			next = e->next;
			if ((rc = fn(arg, e)) != 0)
				return rc;
		}
	return 0;
}

const char *
mtasts_cache_domain(const struct mtasts_cache_entry *e)
{
	return e->data;
}

const char *
mtasts_cache_mx(const struct mtasts_cache_entry *e, size_t i)
{
	const char	*p = e->data;

	if (i >= e->nmx)
		return NULL;
	p += strlen(p) + 1;
	while (i-- > 0)
		p += strlen(p) + 1;
	return p;
}

int
mtasts_cache_usable(const struct mtasts_cache_entry *e, int64_t now)
{
	return e != NULL && now < e->expires_at;
}
