/*
 * dane.h: DANE for SMTP (RFC 7672) as pure decisions: which TLSA records
 * are usable, what one MX host's DNSSEC answers mean, and whether DANE
 * applies to a recipient domain and so takes precedence over its MTA-STS
 * policy (RFC 8461 §2, STS-01).  No I/O here: common/mxcheck.c asks DNS,
 * the verdict and the map reply read the outcome.
 *
 * What "secure" and "bogus" mean comes from libunbound's validator
 * (ub_result->secure and ->bogus, carried by struct mtasts_dns_answer);
 * nothing here looks at the AD bit of a reply.
 */
#ifndef MTASTS_DANE_H
#define MTASTS_DANE_H

#include <stddef.h>

#include "conf.h"
#include "resolver.h"

/* The per-domain DANE setting (DomainDane; Dane yes gives the default). */
enum mtasts_dane_mode {
	MTASTS_DANE_OFF = 0,		/* "off": never look */
	MTASTS_DANE_OPPORTUNISTIC,	/* "opportunistic": DANE when
					 * published, else MTA-STS, else
					 * the MTA's own TLS level */
	MTASTS_DANE_MANDATORY		/* "mandatory": no delivery
					 * without DANE */
};

/* One TLSA record, decoded (RFC 6698 §2.1). */
struct mtasts_tlsa {
	unsigned int	 usage, selector, mtype;
	size_t		 datalen;
};

/*
 * Decode TLSA rdata (usage, selector, matching type, association data of
 * at least one byte).  0, or -1 when shorter than 4 bytes.
 */
int	mtasts_tlsa_parse(const unsigned char *rdata, size_t len,
	    struct mtasts_tlsa *out);

/*
 * 1 when SMTP may use the record (RFC 7672 §3.1, §3.1.3): usage DANE-TA(2)
 * or DANE-EE(3), selector 0 or 1, matching type 0 (full data), 1 (SHA2-256,
 * 32 bytes) or 2 (SHA2-512, 64 bytes).  PKIX-TA(0) and PKIX-EE(1) are not
 * usable for SMTP; unknown values are not usable.
 */
int	mtasts_tlsa_usable(const struct mtasts_tlsa *);

/* What the DNSSEC answers about one MX host say. */
enum mtasts_dane_host {
	MTASTS_DANE_HOST_PENDING = 0,	/* "pending": not all answers yet */
	MTASTS_DANE_HOST_NONE,		/* "none": insecure address or
					 * TLSA, or no TLSA at all */
	MTASTS_DANE_HOST_UNUSABLE,	/* "unusable": secure TLSA, none of
					 * the records usable */
	MTASTS_DANE_HOST_USABLE,	/* "usable": secure, usable TLSA */
	MTASTS_DANE_HOST_BOGUS,		/* "bogus": validation failed */
	MTASTS_DANE_HOST_TEMP		/* "temp": SERVFAIL, timeout, error */
};

/*
 * The state of a host from its address answers (addr_secure: every
 * answered A/AAAA query was secure; addr_status the best of them) and its
 * TLSA answer (status, secure, and usable: how many records
 * mtasts_tlsa_usable accepts).  RFC 7672 §2.2.2: TLSA only counts when
 * the address records are secure.  A bogus answer anywhere is BOGUS.
 */
enum mtasts_dane_host	 mtasts_dane_host_state(
			    enum mtasts_dns_rcode addr_status,
			    int addr_secure, enum mtasts_dns_rcode tlsa_status,
			    int tlsa_secure, size_t usable);

/* Whether DANE applies to a domain. */
enum mtasts_dane_outcome {
	MTASTS_DANE_NOT_APPLICABLE = 0,	/* "none": MTA-STS as before */
	MTASTS_DANE_APPLIES,		/* "dane": MTA-STS not enforced */
	MTASTS_DANE_PENDING,		/* "pending": answers outstanding */
	MTASTS_DANE_TEMPFAIL		/* "tempfail": bogus or DNS trouble;
					 * never taken as "no DANE" */
};

/*
 * Decide for a domain from its MX lookup (mx_status, mx_secure) and the
 * state of each MX host (hosts[0..n)).  reason (>= 32 bytes) gets one
 * token for the log line.  Rules, in order: a bogus MX answer or host is
 * TEMPFAIL; an MX RRset that is not secure is NOT_APPLICABLE (RFC 7672
 * §2.2.1); a host with a usable TLSA RRset makes DANE apply; pending
 * hosts give PENDING, failed look-ups TEMPFAIL; otherwise NOT_APPLICABLE.
 * mx_status MTASTS_DNS_NODATA is the implicit MX (hosts[0] the domain).
 */
enum mtasts_dane_outcome mtasts_dane_decide(enum mtasts_dns_rcode mx_status,
			    int mx_secure, const enum mtasts_dane_host *hosts,
			    size_t n, char *reason, size_t reasonsz);

/*
 * The DANE mode for domain (normalised): off unless Dane is on; then the
 * closest DomainDane entry ("example.com:mandatory", ".example.com:off"),
 * else opportunistic.
 */
enum mtasts_dane_mode	 mtasts_dane_mode_for(const struct mtasts_config *,
			    const char *domain);

/* "off", "opportunistic", "mandatory"; -1 for anything else. */
int			 mtasts_dane_mode_parse(const char *s, size_t len);

/* Static names as listed with the enums; never NULL. */
const char		*mtasts_dane_mode_str(enum mtasts_dane_mode);
const char		*mtasts_dane_host_str(enum mtasts_dane_host);
const char		*mtasts_dane_outcome_str(enum mtasts_dane_outcome);

#endif /* MTASTS_DANE_H */
