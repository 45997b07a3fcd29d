/*
 * strutil.h: the small string helpers several engine modules need, kept
 * in one place so that each has one definition.
 */
#ifndef MTASTS_STRUTIL_H
#define MTASTS_STRUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Copy src (NULL: "") into dst of size bytes (> 0), cut to fit, NUL-ended. */
void		mtasts_strcopy(char *dst, size_t size, const char *src);

/* FNV-1a of a NUL-terminated string: for hash tables of domain names. */
uint32_t	mtasts_strhash(const char *s);

#endif /* MTASTS_STRUTIL_H */
