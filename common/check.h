/*
 * check.h: a one-shot diagnosis of a domain's MTA-STS set-up, for
 * "mta-sts-ctl check".
 *
 * It walks the same steps as discovery (RFC 8461 §3, §4.1) but keeps
 * every intermediate result for an operator to read: each TXT record and
 * its verdict, the addresses of the policy host, the HTTPS exchange with
 * its certificate, every problem of the policy body, and each MX host with
 * the pattern that covers it.  It is synchronous, uses its own resolver
 * and fetcher, and neither reads nor writes the engine's cache or the
 * store: the verdict is what a sender with an empty cache would conclude
 * right now.
 */
#ifndef MTASTS_CHECK_H
#define MTASTS_CHECK_H

#include <stddef.h>

#include "conf.h"
#include "domain.h"
#include "fetch.h"
#include "policy.h"
#include "probe.h"
#include "resolver.h"
#include "status.h"
#include "txt.h"

#define MTASTS_CHECK_MAX_TXT		16	/* TXT records kept */
#define MTASTS_CHECK_MAX_MX		32	/* MX hosts kept */
#define MTASTS_CHECK_MAX_PROBLEMS	32	/* the rest are counted */
#define MTASTS_CHECK_TEXT_LEN		512	/* bytes per kept text */

/* Test seams; the configuration file carries everything else. */
struct mtasts_check_opts {
	int	https_port;	/* 0: 443 */
};

/* The conclusion; the names (mtasts_check_verdict_str) are stable. */
enum mtasts_check_verdict {
	MTASTS_CHECK_ENFORCE = 0,	/* "enforce" */
	MTASTS_CHECK_TESTING,		/* "testing" */
	MTASTS_CHECK_NONE,		/* "none": policy says mode none */
	MTASTS_CHECK_NOPOLICY,		/* "no-policy" */
	MTASTS_CHECK_TEMPORARY		/* "temporary": DNS trouble */
};

/* One DNS question and how it went. */
struct mtasts_check_dns {
	int			 asked;		/* 0: the query never ran */
	char			 qname[MTASTS_DNS_NAME_BUFSZ];
	enum mtasts_dns_rcode	 rcode;
	int			 secure;	/* DNSSEC-validated */
	char			 canonname[MTASTS_DNS_NAME_BUFSZ];
	/* why_bogus or the libunbound error, else "" */
	char			 why[MTASTS_CHECK_TEXT_LEN];
};

/* The verdict of one TXT record taken alone: "valid", "not-sts", ... */
enum mtasts_check_txt_verdict {
	MTASTS_CHECK_TXT_VALID = 0,
	MTASTS_CHECK_TXT_NOT_STS,
	MTASTS_CHECK_TXT_INVALID
};

struct mtasts_check_txt {
	char				*text;	/* strings joined; owned */
	size_t				 len;	/* may hold NUL bytes */
	enum mtasts_check_txt_verdict	 verdict;
	char				 id[MTASTS_ID_MAX + 1];
	char				 reason[MTASTS_DIAG_LEN];
};

struct mtasts_check_mx {
	unsigned int	 preference;
	char		 host[MTASTS_DNS_NAME_BUFSZ];
	int		 covered;	/* matches a policy pattern */
	char		 pattern[MTASTS_DNS_NAME_BUFSZ];	/* which one */
	/* the STARTTLS probe (probe.h) of the host's first address */
	int		 probed;	/* 0: not probed (see probe_cls) */
	char		 addr[MTASTS_DNS_ADDR_BUFSZ];	/* "" if none */
	size_t		 naddrs;
	char		 probe_cls[32];	/* "ok", an RFC 8460 type, ...,
					 * "no-address", "dns-..." */
	const char	*probe_verdict;	/* mtasts_mxprobe_state_str */
	struct mtasts_probe_result probe;
};

struct mtasts_check_problem {
	int	 warning;	/* 0: an error, 1: a warning */
	char	 text[MTASTS_CHECK_TEXT_LEN];
};

/*
 * Everything found.  Strings are "" when unknown; pointers are owned and
 * released by mtasts_check_report_free.
 */
struct mtasts_check_report {
	char				 domain[MTASTS_DOMAIN_BUFSZ];
	int				 literal;	/* no lookups made */

	/* _mta-sts.<domain> TXT */
	struct mtasts_check_dns		 txt_dns;
	size_t				 ntxt;
	size_t				 txt_dropped;	/* records not kept */
	struct mtasts_check_txt		 txt[MTASTS_CHECK_MAX_TXT];
	char				 txt_id[MTASTS_ID_MAX + 1];
	char				 txt_reason[MTASTS_DIAG_LEN];

	/* mta-sts.<domain> A and AAAA */
	struct mtasts_check_dns		 a_dns, aaaa_dns;
	size_t				 naddrs;
	char				 addrs[MTASTS_FETCH_MAX_ADDRS]
					     [MTASTS_DNS_ADDR_BUFSZ];

	/* the HTTPS fetch */
	int				 fetched;	/* a fetch ran */
	enum mtasts_fetch_class		 fetch_class;
	long				 http_status;
	char				 url[MTASTS_CHECK_TEXT_LEN];
	char				 content_type[MTASTS_CHECK_TEXT_LEN];
	char				 location[MTASTS_CHECK_TEXT_LEN];
	char				 primary_ip[64];
	char				 tls_version[16];
	char				 cert_subject[MTASTS_CHECK_TEXT_LEN];
	char				 cert_issuer[MTASTS_CHECK_TEXT_LEN];
	char				 cert_expire[64];
	char				 fetch_error[256];

	/* the policy body: parsed when it came with status 200 */
	int				 body_parsed;
	int				 have_policy;	/* policy is valid */
	struct mtasts_policy		 policy;
	struct mtasts_diag		 policy_diag;

	/* <domain> MX */
	struct mtasts_check_dns		 mx_dns;
	int				 implicit_mx;	/* no MX: the domain */
	int				 null_mx;	/* RFC 7505 */
	size_t				 nmx;
	size_t				 mx_dropped;
	struct mtasts_check_mx		 mx[MTASTS_CHECK_MAX_MX];

	/* the conclusion */
	enum mtasts_check_verdict	 verdict;
	char				 cls[32];	/* "ok", "dns", ... */
	char				 reason[MTASTS_CHECK_TEXT_LEN];
	size_t				 nproblems;
	size_t				 problems_dropped;
	size_t				 errors;	/* error problems */
	struct mtasts_check_problem	 problems[MTASTS_CHECK_MAX_PROBLEMS];
};

/*
 * Diagnose domain (as an operator typed it: normalised here).  Blocks for
 * at most about 2 * DnsTimeout + HttpsTimeout + MxProbeTimeout + 11
 * seconds: the DNS questions are asked together, then the fetch runs,
 * then the MX hosts' addresses are looked up and every MX host with an
 * address is probed at once (MxProbePort, MxProbeTimeout).  The fetcher
 * needs mtasts_fetch_global_init() to have been called.
 *
 * MTASTS_OK: *out holds the full report, whatever the verdict.
 * MTASTS_INVALID: domain is not a domain name; MTASTS_INTERNAL: the
 * resolver or fetcher could not be set up, or memory ran out.  In those
 * two cases out->reason says why.  Release with mtasts_check_report_free
 * in every case.
 */
enum mtasts_status	 mtasts_check_run(const struct mtasts_config *cfg,
			    const char *domain,
			    const struct mtasts_check_opts *opts,
			    struct mtasts_check_report *out);

/* Release what a report owns; it is left zeroed.  NULL is accepted. */
void			 mtasts_check_report_free(
			    struct mtasts_check_report *);

/* "enforce", "testing", "none", "no-policy", "temporary"; never NULL. */
const char		*mtasts_check_verdict_str(enum mtasts_check_verdict);

/* "valid", "not-sts", "invalid"; never NULL. */
const char		*mtasts_check_txt_verdict_str(
			    enum mtasts_check_txt_verdict);


#endif /* MTASTS_CHECK_H */
