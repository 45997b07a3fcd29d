/*
 * noop-milter.c: the baseline milter of the milter-overhead benchmark.
 *
 * It asks the MTA for exactly what mta-sts-milter asks for (the same
 * actions, the same skipped stages, the same macros per stage) and says
 * "continue" to everything, so that the MTA sends it the same packets and
 * the difference between the two is the work our milter does per
 * recipient: the engine lookup, the MX set, the verdict and its log line.
 * It does not link the engine.  It stops by itself after -T seconds.
 *
 * usage: noop-milter [-T seconds] -p inet:PORT@ADDR | unix:PATH
 */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "bench.h"

static sfsistat
noop_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	/* As milter/milter.c negotiates without a bounce configuration. */
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_DELRCPT | SMFIF_SETSYMLIST);
	*pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOEOH | SMFIP_NOBODY |
	    SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NOHDRS);
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		(void)smfi_setsymlist(ctx, SMFIM_CONNECT, (char *)"j");
		(void)smfi_setsymlist(ctx, SMFIM_ENVFROM, (char *)"i");
		(void)smfi_setsymlist(ctx, SMFIM_ENVRCPT,
		    (char *)"i {rcpt_mailer}");
		(void)smfi_setsymlist(ctx, SMFIM_EOM, (char *)"i");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
noop_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)ctx;
	(void)host;
	(void)sa;
	return SMFIS_CONTINUE;
}

static sfsistat
noop_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
noop_envrcpt(SMFICTX *ctx, char **argv)
{
	/* Read the macro as our milter does, so the cost is alike. */
	(void)smfi_getsymval(ctx, (char *)"{rcpt_mailer}");
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
noop_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_CONTINUE;
}

static sfsistat
noop_ctx(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static unsigned long	 lifetime = 600;

/* The lifetime cap: a forgotten baseline must not outlive the bench. */
static void *
timer_main(void *arg)
{
	(void)arg;
	(void)sleep((unsigned int)lifetime);
	(void)smfi_stop();
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: noop-milter [-T seconds] -p "
	    "inet:PORT@ADDR|unix:PATH\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct smfiDesc	 desc;
	pthread_t	 timer;
	const char	*conn = NULL;
	long long	 v;
	int		 ch;

	while ((ch = getopt(argc, argv, "p:T:")) != -1) {
		switch (ch) {
		case 'p':
			conn = optarg;
			break;
		case 'T':
			if (bench_parse_num(optarg, 1, 86400, &v) == -1)
				usage();
			lifetime = (unsigned long)v;
			break;
		default:
			usage();
		}
	}
	if (conn == NULL || optind != argc)
		usage();
	/* Loopback only, like every benchmark program: "inet:P@127.x". */
	if (strncmp(conn, "inet:", 5) == 0) {
		const char	*at = strchr(conn, '@');

		if (at == NULL || strncmp(at + 1, "127.", 4) != 0) {
			fprintf(stderr, "noop-milter: %s: only inet:PORT@127.x "
			    "or unix:PATH\n", conn);
			return 2;
		}
	} else if (strncmp(conn, "unix:", 5) != 0)
		usage();

	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = (char *)"noop-milter";
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_DELRCPT | SMFIF_SETSYMLIST;
	desc.xxfi_connect = noop_connect;
	desc.xxfi_envfrom = noop_envfrom;
	desc.xxfi_envrcpt = noop_envrcpt;
	desc.xxfi_header = noop_header;
	desc.xxfi_eom = noop_ctx;
	desc.xxfi_abort = noop_ctx;
	desc.xxfi_close = noop_ctx;
	desc.xxfi_negotiate = noop_negotiate;
	if (smfi_setconn((char *)conn) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "noop-milter: cannot listen on %s\n", conn);
		return 1;
	}
	if (pthread_create(&timer, NULL, timer_main, NULL) != 0) {
		fprintf(stderr, "noop-milter: cannot start the timer\n");
		return 1;
	}
	(void)pthread_detach(timer);
	fprintf(stderr, "noop-milter: listening on %s for at most %lu s\n",
	    conn, lifetime);
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
