/*
 * test_cache.c: the engine's memory table: replacement, growth, removal,
 * packed mx patterns, negative entries and the usable-until rule
 * (RFC 8461 §3.2 max_age: STS-19).
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "check.h"

static int
count_cb(void *arg, struct mtasts_cache_entry *e)
{
	(void)e;
	(*(size_t *)arg)++;
	return 0;
}

int
main(void)
{
	struct mtasts_cache		*c;
	struct mtasts_cache_entry	*e, *d;
	const char			*mx[] = { "mx1.example.com",
					    "*.mx.example.net" };
	char				 name[64];
	size_t				 i, n;

	c = mtasts_cache_new(0);
	CHECK(c != NULL, "new table");
	CHECK(mtasts_cache_get(c, "example.com") == NULL, "empty get");

	e = mtasts_cache_put_policy(c, "example.com", "id1",
	    MTASTS_MODE_ENFORCE, 86400, mx, 2, 1000, 1000);
	CHECK(e != NULL, "put policy");
	CHECK(mtasts_cache_get(c, "example.com") == e, "get finds it");
	CHECK_STREQ(mtasts_cache_domain(e), "example.com", "domain kept");
	CHECK(e->nmx == 2, "two patterns");
	CHECK_STREQ(mtasts_cache_mx(e, 0), "mx1.example.com", "mx 0");
	CHECK_STREQ(mtasts_cache_mx(e, 1), "*.mx.example.net", "mx 1");
	CHECK(mtasts_cache_mx(e, 2) == NULL, "mx past the end is NULL");
	CHECK(e->expires_at == 1000 + 86400, "expires at fetch + max_age");

	/* STS-19: usable up to, not at, fetched_at + max_age */
	CHECK(mtasts_cache_usable(e, 1000 + 86399), "usable one s before");
	CHECK(!mtasts_cache_usable(e, 1000 + 86400), "unusable at expiry");

	/* max_age above the RFC bound is clamped */
	e = mtasts_cache_put_policy(c, "big.example", "x", MTASTS_MODE_NONE,
	    99999999UL, NULL, 0, 0, 0);
	CHECK(e != NULL && e->max_age == MTASTS_MAX_AGE_MAX,
	    "max_age clamped to 31557600");

	/* replacement keeps one entry per domain */
	e = mtasts_cache_put_policy(c, "example.com", "id2",
	    MTASTS_MODE_TESTING, 60, mx, 1, 2000, 2000);
	CHECK(e != NULL && strcmp(e->id, "id2") == 0, "replaced");
	CHECK(mtasts_cache_count(c) == 2, "count after replace is 2");

	d = mtasts_cache_entry_dup(e);
	CHECK(d != NULL && strcmp(mtasts_cache_mx(d, 0), "mx1.example.com") == 0
	    && d->nmx == 1, "dup is a full copy");
	free(d);

	e = mtasts_cache_put_negative(c, MTASTS_CACHE_NEGATIVE, "none.test",
	    "no-txt", NULL, 10, 70, 10);
	CHECK(e != NULL && e->kind == MTASTS_CACHE_NEGATIVE &&
	    strcmp(e->reason, "no-txt") == 0 && e->id[0] == '\0',
	    "negative entry");
	CHECK(mtasts_cache_usable(e, 69) && !mtasts_cache_usable(e, 70),
	    "negative lives until expires_at");
	CHECK(mtasts_cache_put_negative(c, MTASTS_CACHE_POLICY, "x.test",
	    "r", NULL, 0, 1, 0) == NULL, "negative of kind policy refused");
	e = mtasts_cache_put_negative(c, MTASTS_CACHE_TEMPORARY, "t.test",
	    "a-very-long-reason-that-does-not-fit", "abc", 0, 5, 0);
	CHECK(e != NULL && strlen(e->reason) == sizeof(e->reason) - 1 &&
	    strcmp(e->id, "abc") == 0, "reason truncated, id kept");

	/* growth past the initial buckets keeps every entry reachable */
	for (i = 0; i < 5000; i++) {
		(void)snprintf(name, sizeof(name), "d%zu.example", i);
		if (mtasts_cache_put_negative(c, MTASTS_CACHE_NEGATIVE, name,
		    "no-txt", NULL, 0, 100, 0) == NULL)
			break;
	}
	CHECK(i == 5000, "5000 inserts");
	for (i = 0, n = 0; i < 5000; i++) {
		(void)snprintf(name, sizeof(name), "d%zu.example", i);
		e = mtasts_cache_get(c, name);
		if (e != NULL && strcmp(mtasts_cache_domain(e), name) == 0)
			n++;
	}
	CHECK(n == 5000, "all 5000 found after growth");
	n = 0;
	(void)mtasts_cache_foreach(c, count_cb, &n);
	CHECK(n == mtasts_cache_count(c), "foreach visits every entry");

	CHECK(mtasts_cache_remove(c, "d17.example") == 1, "remove present");
	CHECK(mtasts_cache_remove(c, "d17.example") == 0, "remove absent");
	CHECK(mtasts_cache_get(c, "d17.example") == NULL, "removed is gone");

	mtasts_cache_free(c);
	mtasts_cache_free(NULL);
	return check_done();
}
