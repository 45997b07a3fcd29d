/*
 * status.c: status names and the diagnostics list.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

const char *
mtasts_status_str(enum mtasts_status st)
{
	switch (st) {
	case MTASTS_OK:
		return "ok";
	case MTASTS_NOPOLICY:
		return "no-policy";
	case MTASTS_TEMPFAIL:
		return "temporary-failure";
	case MTASTS_INVALID:
		return "invalid";
	case MTASTS_INTERNAL:
		return "internal-error";
	}
	return "unknown";
}

void
mtasts_diag_init(struct mtasts_diag *d)
{
	if (d == NULL)
		return;
	d->count = 0;
	d->errors = 0;
	d->dropped = 0;
}

void
mtasts_diag_add(struct mtasts_diag *d, int warning, unsigned int line,
    const char *fmt, ...)
{
	struct mtasts_diag_item	*it;
	va_list			 ap;

	if (d == NULL)
		return;
	if (!warning)
		d->errors++;
	if (d->count >= MTASTS_DIAG_MAX) {
		d->dropped++;
		return;
	}
	it = &d->item[d->count++];
	it->line = line;
	it->warning = warning;
	va_start(ap, fmt);
	(void)vsnprintf(it->text, sizeof(it->text), fmt, ap);
	va_end(ap);
}

const char *
mtasts_diag_first(const struct mtasts_diag *d)
{
	size_t	i;

	if (d == NULL)
		return "";
	for (i = 0; i < d->count; i++)
		if (!d->item[i].warning)
			return d->item[i].text;
	if (d->errors > 0)
		return "too many problems to list";
	return "";
}

void
mtasts_diag_print(FILE *fp, const char *prog, const struct mtasts_diag *diag)
{
	size_t	i;

	for (i = 0; i < diag->count; i++)
		(void)fprintf(fp, "%s: %s%s\n", prog,
		    diag->item[i].warning ? "warning: " : "",
		    diag->item[i].text);
	if (diag->dropped > 0)
		(void)fprintf(fp, "%s: ... and %zu more\n", prog,
		    diag->dropped);
}
