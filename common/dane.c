/*
 * dane.c: DANE decisions (RFC 7672), pure functions; see dane.h.
 *
 * Why a domain-level outcome: the RCPT verdict and the TLS policy map
 * answer per recipient domain, and an MTA told "dane-only" applies DANE
 * per MX host itself (Postfix skips the hosts without usable TLSA).  So
 * one host with a secure, usable TLSA RRset is enough for DANE to take
 * precedence; the MTA then refuses the hosts that cannot be verified.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "dane.h"
#include "resolver.h"
#include "verdict.h"

int
mtasts_tlsa_parse(const unsigned char *rdata, size_t len,
    struct mtasts_tlsa *out)
{
	if (rdata == NULL || len < 4)
		return -1;
	out->usage = rdata[0];
	out->selector = rdata[1];
	out->mtype = rdata[2];
	out->datalen = len - 3;
	return 0;
}

int
mtasts_tlsa_usable(const struct mtasts_tlsa *t)
{
	if (t->usage != 2 && t->usage != 3)
		return 0;
	if (t->selector > 1)
		return 0;
	switch (t->mtype) {
	case 0:
		return t->datalen > 0;
	case 1:
		return t->datalen == 32;
	case 2:
		return t->datalen == 64;
	}
	return 0;
}

static int
is_temp(enum mtasts_dns_rcode st)
{
	return st == MTASTS_DNS_SERVFAIL || st == MTASTS_DNS_TIMEOUT ||
	    st == MTASTS_DNS_ERROR;
}

enum mtasts_dane_host
mtasts_dane_host_state(enum mtasts_dns_rcode addr_status, int addr_secure,
    enum mtasts_dns_rcode tlsa_status, int tlsa_secure, size_t usable)
{
	if (addr_status == MTASTS_DNS_BOGUS || tlsa_status == MTASTS_DNS_BOGUS)
		return MTASTS_DANE_HOST_BOGUS;
	if (addr_status != MTASTS_DNS_OK)
		/* No address: nothing to connect to, nothing to verify. */
		return is_temp(addr_status) ? MTASTS_DANE_HOST_TEMP :
		    MTASTS_DANE_HOST_NONE;
	if (!addr_secure)
		return MTASTS_DANE_HOST_NONE;	/* RFC 7672 §2.2.2 */
	if (is_temp(tlsa_status))
		return MTASTS_DANE_HOST_TEMP;
	if (tlsa_status != MTASTS_DNS_OK || !tlsa_secure)
		return MTASTS_DANE_HOST_NONE;
	return usable > 0 ? MTASTS_DANE_HOST_USABLE :
	    MTASTS_DANE_HOST_UNUSABLE;
}

enum mtasts_dane_outcome
mtasts_dane_decide(enum mtasts_dns_rcode mx_status, int mx_secure,
    const enum mtasts_dane_host *hosts, size_t n, char *reason,
    size_t reasonsz)
{
	size_t	i, usable = 0, pending = 0, temp = 0, bogus = 0;

	if (mx_status == MTASTS_DNS_BOGUS) {
		(void)snprintf(reason, reasonsz, "mx-bogus");
		return MTASTS_DANE_TEMPFAIL;
	}
	if (is_temp(mx_status)) {
		(void)snprintf(reason, reasonsz, "mx-%s",
		    mtasts_dns_rcode_str(mx_status));
		return MTASTS_DANE_TEMPFAIL;
	}
	if ((mx_status != MTASTS_DNS_OK && mx_status != MTASTS_DNS_NODATA) ||
	    !mx_secure) {
		/* RFC 7672 §2.2.1: an insecure MX RRset gets no DANE. */
		(void)snprintf(reason, reasonsz, mx_status ==
		    MTASTS_DNS_NXDOMAIN ? "mx-nxdomain" : "mx-insecure");
		return MTASTS_DANE_NOT_APPLICABLE;
	}
	for (i = 0; i < n; i++)
		switch (hosts[i]) {
		case MTASTS_DANE_HOST_USABLE:
			usable++;
			break;
		case MTASTS_DANE_HOST_PENDING:
			pending++;
			break;
		case MTASTS_DANE_HOST_TEMP:
			temp++;
			break;
		case MTASTS_DANE_HOST_BOGUS:
			bogus++;
			break;
		default:
			break;
		}
	if (bogus > 0) {
		(void)snprintf(reason, reasonsz, "tlsa-bogus");
		return MTASTS_DANE_TEMPFAIL;
	}
	if (usable > 0) {
		(void)snprintf(reason, reasonsz, "tlsa-usable");
		return MTASTS_DANE_APPLIES;
	}
	if (pending > 0) {
		(void)snprintf(reason, reasonsz, "pending");
		return MTASTS_DANE_PENDING;
	}
	if (temp > 0) {
		(void)snprintf(reason, reasonsz, "tlsa-temp");
		return MTASTS_DANE_TEMPFAIL;
	}
	(void)snprintf(reason, reasonsz, "no-usable-tlsa");
	return MTASTS_DANE_NOT_APPLICABLE;
}

static const char *const mode_names[] = {
	"off", "opportunistic", "mandatory"
};

int
mtasts_dane_mode_parse(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strlen(mode_names[i]) == len &&
		    strncmp(mode_names[i], s, len) == 0)
			return (int)i;
	return -1;
}

enum mtasts_dane_mode
mtasts_dane_mode_for(const struct mtasts_config *cfg, const char *domain)
{
	if (!cfg->dane)
		return MTASTS_DANE_OFF;
	return (enum mtasts_dane_mode)mtasts_domain_list_value(
	    &cfg->domain_dane, domain, mtasts_dane_mode_parse,
	    MTASTS_DANE_OPPORTUNISTIC);
}

const char *
mtasts_dane_mode_str(enum mtasts_dane_mode m)
{
	if ((size_t)m < sizeof(mode_names) / sizeof(mode_names[0]))
		return mode_names[m];
	return "unknown";
}

const char *
mtasts_dane_host_str(enum mtasts_dane_host h)
{
	switch (h) {
	case MTASTS_DANE_HOST_PENDING:
		return "pending";
	case MTASTS_DANE_HOST_NONE:
		return "none";
	case MTASTS_DANE_HOST_UNUSABLE:
		return "unusable";
	case MTASTS_DANE_HOST_USABLE:
		return "usable";
	case MTASTS_DANE_HOST_BOGUS:
		return "bogus";
	case MTASTS_DANE_HOST_TEMP:
		return "temp";
	}
	return "unknown";
}

const char *
mtasts_dane_outcome_str(enum mtasts_dane_outcome o)
{
	switch (o) {
	case MTASTS_DANE_NOT_APPLICABLE:
		return "none";
	case MTASTS_DANE_APPLIES:
		return "dane";
	case MTASTS_DANE_PENDING:
		return "pending";
	case MTASTS_DANE_TEMPFAIL:
		return "tempfail";
	}
	return "unknown";
}
