/*
 * verdict.h: the RCPT-time decision for one recipient domain, shared by
 * the milter and the OpenSMTPD filter.  A front end hands over the domain
 * part of the address and a time budget, and maps the action it gets back
 * to its protocol: an SMTP reply, an accepted recipient, a header, a DSN.
 */
#ifndef MTASTS_VERDICT_H
#define MTASTS_VERDICT_H

#include <stddef.h>

#include "conf.h"
#include "domain.h"
#include "engine.h"
#include "policy.h"
#include "txt.h"

enum mtasts_action {
	MTASTS_ACTION_ACCEPT = 0,	/* deliver as usual */
	MTASTS_ACTION_TESTING,		/* deliver; a testing policy applied */
	MTASTS_ACTION_DEFER,		/* 4xx: try again later */
	MTASTS_ACTION_REJECT,		/* 5xx at RCPT */
	MTASTS_ACTION_BOUNCE		/* accept, drop at EOM, send a DSN */
};

/*
 * The outcome for one recipient domain.  Plain data owned by the caller.
 * reason is one token for the log line ("mx-match", "no-policy:no-txt",
 * "no-mx-match", ...); smtp_code, status and text make the reply for
 * DEFER and REJECT, and the Status and Diagnostic-Code of a DSN for
 * BOUNCE.  For ACCEPT and TESTING they are empty.
 */
struct mtasts_verdict {
	enum mtasts_action	 action;
	int			 has_policy;	/* mode and policy_id are set */
	enum mtasts_mode	 mode;		/* as published */
	int			 forced;	/* EnforceDomains applied */
	int			 would_fail;	/* TESTING: no MX matches */
	int			 rechecked;	/* TXT re-checked for this */
	int			 add_header;	/* TESTING and TestingHeader */
	char			 domain[MTASTS_DOMAIN_BUFSZ];	/* normalised */
	char			 policy_id[MTASTS_ID_MAX + 1];
	char			 mx[MTASTS_MX_NAME_BUFSZ];	/* first match */
	char			 reason[64];
	/*
	 * The MX probes (MxProbe): "-" not probed, else the summary of
	 * mtasts_mxprobe_summary ("pass", "tls-fail", "inconclusive",
	 * "pending"), and per host "mx1.example.com=ok,..." for the log.
	 */
	char			 probe[16];
	char			 probe_detail[256];
	/* DANE (Dane yes): "-" not looked at, else the outcome of
	 * mtasts_dane_decide ("dane", "none", "pending", "tempfail") */
	char			 dane[16];
	int			 smtp_code;	/* 451, 550 or 0 */
	char			 status[8];	/* enhanced status: "4.7.5" */
	char			 text[512];	/* reply text, no CR/LF, no % */
};

/*
 * Decide about mail to the domain dom[0..len) (as found after the '@',
 * raw: it is normalised here).  Waits for the engine at most budget_ms in
 * all.  The configuration is borrowed for the call.  Never fails: engine
 * trouble becomes the action OnEngineError asks for.
 *
 * Rules, in order: address literals (RFC 8461 §3.4), SkipDomains and
 * RoutedDomains are accepted untouched.  With DANE on for the domain
 * (Dane, DomainDane), DANE comes first (RFC 8461 §2): a secure, usable
 * TLSA RRset accepts and MTA-STS is not enforced; a bogus or failed
 * DNSSEC look-up defers; DomainDane mandatory without DANE gets the
 * FailureAction.  Then MTA-STS: no policy or mode none accepts; testing
 * accepts and says whether it would have failed; enforce needs an MX host
 * that matches a policy pattern (§4.1) and, with MxProbe, at least one
 * such host whose STARTTLS probe passes.  When none matches, or every
 * matching host failed its probe with a TLS failure, the policy is
 * re-checked in DNS (§5.1 step 3) before the domain's FailureAction
 * applies: until that re-check has been answered, the action is DEFER
 * whatever is configured.  Probes still running when the budget ends,
 * or failing only transiently (connect, timeout), accept: the TLS policy
 * map still keeps the MTA from delivering without verified TLS.
 * EnforceDomains turns testing into enforce and defers domains that
 * publish no usable policy.
 */
void		 mtasts_verdict_rcpt(struct mtasts_engine *,
		    const struct mtasts_config *, const char *dom, size_t len,
		    long budget_ms, struct mtasts_verdict *out);

/*
 * How well domain matches a SkipDomains-style list: 0 not at all, else
 * larger for closer entries ("example.com" matches exactly; ".example.com"
 * matches every name below example.com, not example.com itself).
 */
size_t		 mtasts_domain_list_match(const struct mtasts_strlist *,
		    const char *domain);

/*
 * The value of the closest "domain:value" entry of l for domain (matched
 * as mtasts_domain_list_match does), parsed by parse (-1: skip the
 * entry); dflt when no entry matches.
 */
int		 mtasts_domain_list_value(const struct mtasts_strlist *l,
		    const char *domain, int (*parse)(const char *, size_t),
		    int dflt);

/* The failure action for an enforce failure of domain (normalised). */
enum mtasts_failure_action mtasts_verdict_failure_action(
		    const struct mtasts_config *, const char *domain);

/*
 * Log the decision as the one LOG_INFO line every front end writes, its
 * id (queue or session id) first:
 *   "<id>: rcpt domain=D mode=M policy_id=P mx=X verdict=A reason=R
 *    dane=O probe=S[ probe_mx=H=C,...]"
 * ("-" for what is not known).
 */
void		 mtasts_verdict_log(const char *id,
		    const struct mtasts_verdict *v);

/* "accept", "testing", "defer", "reject" or "bounce"; never NULL. */
const char	*mtasts_action_str(enum mtasts_action);

#endif /* MTASTS_VERDICT_H */
