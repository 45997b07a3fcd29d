/*
 * check.h: a minimal TAP-printing harness shared by the unit tests.  Each
 * CHECK prints "ok N - what" or "not ok N - what"; check_done() prints the
 * plan and returns the exit status (0 only when every check passed).
 */
#ifndef MTASTS_TEST_CHECK_H
#define MTASTS_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int check_n, check_failed;

static void __attribute__((format(printf, 2, 3)))
check_result(int ok, const char *fmt, ...)
{
	va_list ap;

	check_n++;
	if (!ok)
		check_failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", check_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

#define CHECK(cond, ...)	check_result(!!(cond), __VA_ARGS__)

#define CHECK_STREQ(got, want, what) do {				\
	const char *check_g_ = (got), *check_w_ = (want);		\
	int check_ok_ = check_g_ != NULL && check_w_ != NULL &&		\
	    strcmp(check_g_, check_w_) == 0;				\
	check_result(check_ok_, "%s", (what));				\
	if (!check_ok_)							\
		printf("#   got \"%s\", want \"%s\"\n",			\
		    check_g_ ? check_g_ : "(null)",			\
		    check_w_ ? check_w_ : "(null)");			\
} while (0)

static int
check_done(void)
{
	printf("1..%d\n", check_n);
	if (check_failed)
		printf("# %d of %d checks failed\n", check_failed, check_n);
	return check_failed ? 1 : 0;
}

#endif /* MTASTS_TEST_CHECK_H */
