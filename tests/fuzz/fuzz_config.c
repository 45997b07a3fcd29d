/*
 * fuzz_config.c: mta-sts-milter.conf text from an untrusted source, through
 * the whole loader (defaults, lines, every value parser), then freed.  The
 * value parsers shared with the command line also get the input as one
 * NUL-terminated word.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "status.h"

#define WORD_MAX	64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_diag	 diag;
	struct mtasts_config	*cfg;
	char			 word[WORD_MAX + 1];
	size_t			 n, z;
	long			 l;
	int			 b;

	cfg = mtasts_config_parse((const char *)data, size, "fuzz.conf",
	    &diag);
	/* Success and failure are exclusive: no config with errors. */
	if ((cfg != NULL) == (diag.errors != 0))
		abort();
	if (diag.count > MTASTS_DIAG_MAX)
		abort();
	mtasts_config_free(cfg);

	n = size < WORD_MAX ? size : WORD_MAX;
	memcpy(word, data, n);
	word[n] = '\0';
	(void)mtasts_conf_parse_bool(word, &b);
	(void)mtasts_conf_parse_duration(word, &l);
	(void)mtasts_conf_parse_size(word, &z);
	return 0;
}
