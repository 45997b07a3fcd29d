/*
 * test_buf.c: the capped buffer: exact cap, refusal that leaves content
 * intact, printf, reset, free and reuse, and sizes near SIZE_MAX.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "check.h"

static void
test_empty(void)
{
	struct mtasts_buf b;

	mtasts_buf_init(&b, 10);
	CHECK(b.data == NULL && b.len == 0 && b.max == 10 &&
	    !b.toobig && !b.nomem, "init: empty, no storage, flags clear");
	CHECK(mtasts_buf_add(&b, "", 0) == 0 && b.data != NULL &&
	    b.data[0] == '\0' && b.len == 0,
	    "empty append gives an empty NUL-terminated string");
	mtasts_buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.max == 10,
	    "free: empty again, cap kept");
	mtasts_buf_free(&b);
	CHECK(b.data == NULL, "free twice is harmless");
}

static void
test_cap(void)
{
	struct mtasts_buf b;

	mtasts_buf_init(&b, 8);
	CHECK(mtasts_buf_add(&b, "abcd", 4) == 0, "add 4 of 8");
	CHECK(mtasts_buf_add(&b, "efgh", 4) == 0, "add up to exactly the cap");
	CHECK_STREQ(b.data, "abcdefgh", "content at the cap");
	CHECK(b.len == 8 && !b.toobig, "len 8, toobig clear");
	CHECK(b.cap >= 9, "room for the NUL at the cap");
	CHECK(mtasts_buf_add(&b, "", 0) == 0, "empty add at the cap succeeds");
	CHECK(mtasts_buf_add(&b, "i", 1) == -1 && b.toobig,
	    "one byte past the cap is refused with toobig");
	CHECK_STREQ(b.data, "abcdefgh", "refusal leaves the content intact");
	CHECK(b.len == 8, "refusal leaves the length intact");
	mtasts_buf_free(&b);

	mtasts_buf_init(&b, 8);
	CHECK(mtasts_buf_add(&b, "abc", 3) == 0 &&
	    mtasts_buf_add(&b, "defghi", 6) == -1 && b.toobig,
	    "a large append that would pass the cap is refused whole");
	CHECK_STREQ(b.data, "abc", "nothing of the refused append is kept");
	mtasts_buf_free(&b);

	mtasts_buf_init(&b, 0);
	CHECK(mtasts_buf_add(&b, "", 0) == 0 && b.data != NULL,
	    "cap 0: empty append fits");
	CHECK(mtasts_buf_add(&b, "x", 1) == -1 && b.toobig,
	    "cap 0: any byte is refused");
	mtasts_buf_free(&b);
}

static void
test_growth(void)
{
	struct mtasts_buf b;
	char	 chunk[100];
	size_t	 i;
	int	 ok = 1;

	memset(chunk, 'x', sizeof(chunk));
	mtasts_buf_init(&b, 100000);
	for (i = 0; i < 1000; i++)
		if (mtasts_buf_add(&b, chunk, sizeof(chunk)) == -1)
			ok = 0;
	CHECK(ok && b.len == 100000, "grows to 100000 bytes in 1000 appends");
	CHECK(b.cap == 100001, "storage never exceeds the cap plus the NUL");
	CHECK(strlen(b.data) == b.len, "NUL-terminated after growth");
	for (i = 0; i < b.len; i++)
		if (b.data[i] != 'x')
			ok = 0;
	CHECK(ok, "content survives reallocation");
	mtasts_buf_free(&b);

	/* Embedded NUL bytes are data like any other. */
	mtasts_buf_init(&b, 16);
	CHECK(mtasts_buf_add(&b, "a\0b", 3) == 0 && b.len == 3 &&
	    memcmp(b.data, "a\0b", 4) == 0, "binary content with NUL kept");
	mtasts_buf_free(&b);
}

static void
test_huge(void)
{
	struct mtasts_buf b;

	/* A length that would wrap len + n must be refused, not allocated. */
	mtasts_buf_init(&b, SIZE_MAX);
	CHECK(mtasts_buf_add(&b, "ab", 2) == 0, "unbounded buffer takes 2");
	CHECK(mtasts_buf_add(&b, "x", SIZE_MAX - 1) == -1 && b.toobig,
	    "len + n + 1 past SIZE_MAX is refused");
	CHECK_STREQ(b.data, "ab", "content intact after a wrapping size");
	/*
	 * nomem is not provoked here: asking malloc for SIZE_MAX / 2 aborts
	 * under AddressSanitizer instead of returning NULL.
	 */
	mtasts_buf_free(&b);
}

static void
test_printf(void)
{
	struct mtasts_buf b;

	mtasts_buf_init(&b, 20);
	CHECK(mtasts_buf_printf(&b, "%s=%d", "max_age", 86400) == 0,
	    "printf into an empty buffer");
	CHECK_STREQ(b.data, "max_age=86400", "printf content");
	CHECK(mtasts_buf_printf(&b, "%s", "") == 0 && b.len == 13,
	    "printf of nothing");
	CHECK(mtasts_buf_printf(&b, ";%06d", 42) == 0 && b.len == 20,
	    "printf up to exactly the cap");
	CHECK_STREQ(b.data, "max_age=86400;000042", "printf appends");
	CHECK(mtasts_buf_printf(&b, "%c", 'x') == -1 && b.toobig,
	    "printf past the cap is refused");
	CHECK_STREQ(b.data, "max_age=86400;000042",
	    "refused printf leaves no partial text");
	mtasts_buf_free(&b);

	mtasts_buf_init(&b, 1000);
	CHECK(mtasts_buf_printf(&b, "%500s", "y") == 0 && b.len == 500 &&
	    b.data[499] == 'y' && b.data[500] == '\0',
	    "printf longer than the first allocation");
	mtasts_buf_free(&b);
}

static void
test_reset(void)
{
	struct mtasts_buf b;
	char	*before;

	mtasts_buf_init(&b, 4);
	(void)mtasts_buf_add(&b, "abcd", 4);
	(void)mtasts_buf_add(&b, "e", 1);
	before = b.data;
	mtasts_buf_reset(&b);
	CHECK(b.len == 0 && b.data == before && b.data[0] == '\0',
	    "reset empties and keeps the memory");
	CHECK(!b.toobig && !b.nomem, "reset clears the flags");
	CHECK(mtasts_buf_add(&b, "wxyz", 4) == 0, "full cap usable after reset");
	CHECK_STREQ(b.data, "wxyz", "content after reset");
	mtasts_buf_free(&b);

	mtasts_buf_reset(&b);
	CHECK(b.data == NULL && b.len == 0, "reset of a freed buffer");
	CHECK(mtasts_buf_add(&b, "ok", 2) == 0, "freed buffer usable again");
	CHECK_STREQ(b.data, "ok", "content after free and reuse");
	mtasts_buf_free(&b);
}

int
main(void)
{
	test_empty();
	test_cap();
	test_growth();
	test_huge();
	test_printf();
	test_reset();
	return check_done();
}
