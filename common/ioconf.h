/*
 * ioconf.h: the resolver and fetcher settings a configuration implies, in
 * one place for the engine, mta-sts-ctl check and the daemon.
 */
#ifndef MTASTS_IOCONF_H
#define MTASTS_IOCONF_H

#include "conf.h"
#include "fetch.h"
#include "resolver.h"

/* Fill rc from cfg; strings are borrowed from cfg. */
void	mtasts_resolver_conf_from_config(const struct mtasts_config *cfg,
	    struct mtasts_resolver_conf *rc);

/* Fill fc from cfg; strings are borrowed.  https_port 0 means 443. */
void	mtasts_fetch_conf_from_config(const struct mtasts_config *cfg,
	    int https_port, struct mtasts_fetch_conf *fc);

#endif /* MTASTS_IOCONF_H */
