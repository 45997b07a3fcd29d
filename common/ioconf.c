/*
 * ioconf.c: map configuration parameters onto the resolver's and the
 * fetcher's settings (DnsTimeout and the Https* timeouts are seconds in
 * the file, milliseconds below).
 */
#include <config.h>

#include <string.h>

#include "ioconf.h"

void
mtasts_resolver_conf_from_config(const struct mtasts_config *cfg,
    struct mtasts_resolver_conf *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->config_file = cfg->resolver_config;
	rc->forwarders = (const char *const *)cfg->resolver_forwarders.v;
	rc->nforwarders = cfg->resolver_forwarders.n;
	rc->trust_anchor_file = cfg->trust_anchor_file;
	rc->timeout_ms = cfg->dns_timeout * 1000;
}

void
mtasts_fetch_conf_from_config(const struct mtasts_config *cfg,
    int https_port, struct mtasts_fetch_conf *fc)
{
	memset(fc, 0, sizeof(*fc));
	fc->ca_file = cfg->ca_file;
	fc->ca_path = cfg->ca_path;
	fc->proxy = cfg->https_proxy;
	fc->connect_timeout_ms = cfg->https_connect_timeout * 1000;
	fc->total_timeout_ms = cfg->https_timeout * 1000;
	fc->max_size = cfg->policy_max_size;
	fc->port = https_port;
}
