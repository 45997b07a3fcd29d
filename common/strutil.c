/*
 * strutil.c: see strutil.h.
 */
#include <config.h>

#include <string.h>

#include "strutil.h"

void
mtasts_strcopy(char *dst, size_t size, const char *src)
{
	size_t	n = src != NULL ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

uint32_t
mtasts_strhash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}
