/*
 * fuzz_netstring.c: the netstring decoder and encoder (common/netstring.c)
 * and the socketmap request and reply code (common/mapreply.c).
 *
 * The input is decoded twice, in one piece and in pieces whose sizes the
 * input's own bytes choose; both must agree.  Every payload goes through
 * the request parser, and is encoded again and decoded back to itself.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "engine.h"
#include "fuzz.h"
#include "mapreply.h"
#include "netstring.h"

#define MAX_PAYLOAD	256
#define MAX_FRAMES	64

struct run {
	size_t	nframes;
	size_t	total;		/* payload bytes, to compare runs */
	int	error;
	int	partial;
};

static void
check_payload(const char *p, size_t len)
{
	struct mtasts_netstring		 ns;
	struct mtasts_buf		 enc, out;
	struct mtasts_mapreq		 req;
	const char			*back;
	size_t				 used, blen;

	if (len > MAX_PAYLOAD)
		abort();
	mtasts_buf_init(&enc, MAX_PAYLOAD + 16);
	if (mtasts_netstring_encode(&enc, p, len) == -1)
		abort();
	mtasts_netstring_init(&ns, MAX_PAYLOAD);
	if (mtasts_netstring_feed(&ns, enc.data, enc.len, &used) !=
	    MTASTS_NETSTRING_DONE || used != enc.len)
		abort();
	back = mtasts_netstring_payload(&ns, &blen);
	if (blen != len || memcmp(back, p, len) != 0)
		abort();
	mtasts_netstring_free(&ns);
	mtasts_buf_free(&enc);

	mtasts_buf_init(&out, MTASTS_MAPREPLY_MAX);
	if (mtasts_mapreq_parse(p, len, &req) == 0) {
		if ((req.kind == MTASTS_MAPKEY_DOMAIN) != (req.domain[0] != '\0'))
			abort();
		/* Without an engine answer a domain key is an internal error. */
		if (mtasts_mapreply(req.kind, NULL, NULL, &out) ==
		    MTASTS_MAPREPLY_OK)
			abort();
		if (strncmp(out.data, "PERM", 4) == 0)
			abort();
	}
	mtasts_buf_free(&out);
}

static void
run(const uint8_t *data, size_t size, int split, struct run *r)
{
	struct mtasts_netstring		 ns;
	enum mtasts_netstring_status	 st = MTASTS_NETSTRING_MORE;
	const char			*p = (const char *)data, *pl;
	size_t				 left = size, n, used, plen, k = 0;

	memset(r, 0, sizeof(*r));
	mtasts_netstring_init(&ns, MAX_PAYLOAD);
	while (left > 0 && st != MTASTS_NETSTRING_ERROR &&
	    r->nframes < MAX_FRAMES) {
		n = left;
		if (split)
			n = 1 + (size_t)data[k++ % size] % 7;
		if (n > left)
			n = left;
		st = mtasts_netstring_feed(&ns, p, n, &used);
		if (used > n || (st == MTASTS_NETSTRING_MORE && used != n))
			abort();
		p += used;
		left -= used;
		if (st == MTASTS_NETSTRING_DONE) {
			pl = mtasts_netstring_payload(&ns, &plen);
			if (pl[plen] != '\0')
				abort();
			if (!split)
				check_payload(pl, plen);
			r->nframes++;
			r->total += plen;
		}
	}
	r->error = st == MTASTS_NETSTRING_ERROR;
	r->partial = mtasts_netstring_partial(&ns);
	if (r->error && mtasts_netstring_error(&ns)[0] == '\0')
		abort();
	mtasts_netstring_free(&ns);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run	a, b;

	if (size == 0)
		return 0;
	run(data, size, 0, &a);
	run(data, size, 1, &b);
	if (a.nframes != b.nframes || a.total != b.total ||
	    a.error != b.error || (!a.error && a.nframes < MAX_FRAMES &&
	    a.partial != b.partial))
		abort();
	return 0;
}
