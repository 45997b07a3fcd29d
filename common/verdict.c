/*
 * verdict.c: the RCPT-time decision.
 *
 * The engine knows policies and MX sets; this file turns them and the
 * operator's per-domain controls into one action.  Two rules shape it:
 *
 *  - RFC 8461 §5 asks that enforce failures be temporary, and §5.1 step 3
 *    that no failure be permanent before the TXT record has been looked up
 *    again for a new id (and a new policy fetched if the id changed).  So
 *    REJECT and BOUNCE are only ever the result of a failure that survived
 *    such a re-check; any doubt about the re-check gives DEFER.
 *
 *  - A re-check costs DNS traffic, and a domain that keeps failing would
 *    otherwise get one per RCPT.  The engine remembers when it last looked
 *    at the TXT record; a look-up younger than RecheckInterval counts as
 *    the re-check, so a failing domain is re-checked at most once per
 *    interval however much mail it gets.
 *
 * The whole decision shares one budget (RcptTimeout): the policy lookup,
 * the MX lookup and the re-check each get what is left of it.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf.h"
#include "domain.h"
#include "engine.h"
#include "log.h"
#include "mxmatch.h"
#include "verdict.h"

/* Monotonic milliseconds: the budget must not follow clock changes. */
static int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long
left_ms(int64_t deadline)
{
	int64_t	left = deadline - mono_ms();

	return left > 0 ? (long)left : 0;
}

static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t	n = src != NULL ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

const char *
mtasts_action_str(enum mtasts_action a)
{
	switch (a) {
	case MTASTS_ACTION_ACCEPT:
		return "accept";
	case MTASTS_ACTION_TESTING:
		return "testing";
	case MTASTS_ACTION_DEFER:
		return "defer";
	case MTASTS_ACTION_REJECT:
		return "reject";
	case MTASTS_ACTION_BOUNCE:
		return "bounce";
	}
	return "unknown";
}

void
mtasts_verdict_log(const char *id, const struct mtasts_verdict *v)
{
	mtasts_log(LOG_INFO, NULL, "%s: rcpt domain=%s mode=%s policy_id=%s "
	    "mx=%s verdict=%s reason=%s", id,
	    v->domain[0] != '\0' ? v->domain : "-",
	    v->has_policy ? mtasts_mode_str(v->mode) : "-",
	    v->policy_id[0] != '\0' ? v->policy_id : "-",
	    v->mx[0] != '\0' ? v->mx : "-", mtasts_action_str(v->action),
	    v->reason);
}

/*
 * An entry matches the domain itself, or with a leading dot every name
 * below it (as Postfix's parent-domain tables spell it).  Exact entries
 * win over suffixes, longer suffixes over shorter ones.
 */
static size_t
entry_match(const char *entry, size_t elen, const char *domain)
{
	size_t	dlen = strlen(domain);

	if (elen > 0 && entry[0] == '.') {
		if (dlen > elen && strncasecmp(domain + dlen - elen, entry,
		    elen) == 0)
			return elen;
		return 0;
	}
	if (elen == dlen && strncasecmp(domain, entry, elen) == 0)
		return elen + MTASTS_DOMAIN_BUFSZ;
	return 0;
}

size_t
mtasts_domain_list_match(const struct mtasts_strlist *l, const char *domain)
{
	size_t	i, m, best = 0;

	for (i = 0; i < l->n; i++)
		if ((m = entry_match(l->v[i], strlen(l->v[i]), domain)) > best)
			best = m;
	return best;
}

enum mtasts_failure_action
mtasts_verdict_failure_action(const struct mtasts_config *cfg,
    const char *domain)
{
	const struct mtasts_strlist	*l = &cfg->domain_failure_action;
	const char			*colon;
	size_t				 i, m, best = 0;
	int				 act = cfg->failure_action, a;

	for (i = 0; i < l->n; i++) {
		/* Checked at load; a malformed entry is skipped all the same. */
		if ((colon = strrchr(l->v[i], ':')) == NULL)
			continue;
		m = entry_match(l->v[i], (size_t)(colon - l->v[i]), domain);
		a = mtasts_failure_action_parse(colon + 1, strlen(colon + 1));
		if (m > best && a >= 0) {
			best = m;
			act = a;
		}
	}
	return (enum mtasts_failure_action)act;
}

/* ------------------------------------------------------------ outcomes */

static void
set_accept(struct mtasts_verdict *v, enum mtasts_action a, const char *why)
{
	v->action = a;
	v->smtp_code = 0;
	v->status[0] = '\0';
	v->text[0] = '\0';
	copy_str(v->reason, sizeof(v->reason), why);
}

/* A refusal: code and enhanced status, text after "MTA-STS policy for d". */
static void
set_refuse(struct mtasts_verdict *v, enum mtasts_action a, const char *why,
    const char *status, const char *detail)
{
	v->action = a;
	v->smtp_code = a == MTASTS_ACTION_DEFER ? 451 : 550;
	(void)snprintf(v->status, sizeof(v->status), "%c%s",
	    a == MTASTS_ACTION_DEFER ? '4' : '5', status + 1);
	(void)snprintf(v->text, sizeof(v->text), "MTA-STS policy for %s %s",
	    v->domain, detail);
	copy_str(v->reason, sizeof(v->reason), why);
}

/*
 * The engine could not say (DNS trouble, lookup still running, out of
 * memory): OnEngineError decides, except for EnforceDomains, which fail
 * closed because the operator asked for protection there.
 */
static void
engine_trouble(const struct mtasts_config *cfg, struct mtasts_verdict *v,
    enum mtasts_status st, const char *what, const char *detail)
{
	char	why[64], text[200];

	(void)snprintf(why, sizeof(why), "engine-error:%s-%s", what,
	    detail[0] != '\0' ? detail : mtasts_status_str(st));
	if (cfg->on_engine_error == MTASTS_ENGERR_ACCEPT && !v->forced) {
		set_accept(v, MTASTS_ACTION_ACCEPT, why);
		return;
	}
	if (st == MTASTS_TEMPFAIL) {
		(void)snprintf(text, sizeof(text), "could not be determined "
		    "(%s lookup: %s)", what, detail[0] != '\0' ? detail :
		    "temporary failure");
		set_refuse(v, MTASTS_ACTION_DEFER, why, "4.4.3", text);
	} else
		set_refuse(v, MTASTS_ACTION_DEFER, why, "4.3.0",
		    "could not be checked: internal error");
}

/* An enforce failure that survived the re-check: the configured action. */
static void
enforce_failure(const struct mtasts_config *cfg, struct mtasts_verdict *v)
{
	enum mtasts_action	a;

	switch (mtasts_verdict_failure_action(cfg, v->domain)) {
	case MTASTS_FAIL_REJECT:
		a = MTASTS_ACTION_REJECT;
		break;
	case MTASTS_FAIL_BOUNCE:
		a = MTASTS_ACTION_BOUNCE;
		break;
	default:
		a = MTASTS_ACTION_DEFER;
		break;
	}
	set_refuse(v, a, "no-mx-match", "5.7.5",
	    "cannot be satisfied: no MX host matches the policy");
}

/* ------------------------------------------------------------ the rules */

/* First MX host, in preference order, that a policy pattern admits. */
static int
first_match(const struct mtasts_answer *a, const struct mtasts_mx_set *mx,
    struct mtasts_verdict *v)
{
	size_t	i, j;

	for (i = 0; i < mx->n; i++)
		for (j = 0; j < a->nmx; j++)
			if (mtasts_mx_match(mtasts_answer_mx(a, j),
			    mx->host[i])) {
				copy_str(v->mx, sizeof(v->mx), mx->host[i]);
				return 1;
			}
	return 0;
}

static void	decide(struct mtasts_engine *, const struct mtasts_config *,
		    struct mtasts_verdict *, struct mtasts_answer *,
		    enum mtasts_status, int64_t, int);

/*
 * No MX host matches an enforced policy.  Permanent failure needs a TXT
 * look-up answered within RecheckInterval (RFC 8461 §5.1 step 3); when
 * the last one is older, look again now, within the budget, and decide
 * again on what it brings.
 */
static void
no_match(struct mtasts_engine *e, const struct mtasts_config *cfg,
    struct mtasts_verdict *v, const struct mtasts_answer *a,
    int64_t deadline, int may_recheck)
{
	struct mtasts_answer	 again;
	enum mtasts_status	 st;
	const char		*trouble = "";
	int64_t			 checked, now = mtasts_engine_now(e);
	char			 why[64];

	checked = mtasts_answer_txt_checked(a, &trouble);
	if (now - checked < cfg->recheck_interval && checked > 0) {
		if (trouble[0] == '\0') {
			enforce_failure(cfg, v);
			return;
		}
		(void)snprintf(why, sizeof(why), "no-mx-match:recheck-%s",
		    trouble);
		set_refuse(v, MTASTS_ACTION_DEFER, why, "4.7.5", "cannot be "
		    "satisfied: no MX host matches the policy (policy "
		    "re-check failed)");
		return;
	}
	if (!may_recheck) {
		/* Re-checked, but the new policy could not be had yet. */
		set_refuse(v, MTASTS_ACTION_DEFER, "no-mx-match:recheck-"
		    "incomplete", "4.7.5", "cannot be satisfied: no MX host "
		    "matches the policy (policy re-check incomplete)");
		return;
	}
	v->rechecked = 1;
	st = mtasts_engine_refresh(e, v->domain, 0, left_ms(deadline), &again);
	if (again.pending) {
		set_refuse(v, MTASTS_ACTION_DEFER, "no-mx-match:recheck-"
		    "pending", "4.7.5", "cannot be satisfied: no MX host "
		    "matches the policy (policy re-check in progress)");
		mtasts_answer_clear(&again);
		return;
	}
	decide(e, cfg, v, &again, st, deadline, 0);
	mtasts_answer_clear(&again);
}

/* A valid policy in testing or enforce mode: check the MX set. */
static void
check_mx(struct mtasts_engine *e, const struct mtasts_config *cfg,
    struct mtasts_verdict *v, const struct mtasts_answer *a,
    int64_t deadline, int may_recheck)
{
	struct mtasts_mx_set	 mx;
	enum mtasts_status	 st;
	int			 enforce, matched;
	char			 why[64];

	enforce = a->mode == MTASTS_MODE_ENFORCE || v->forced;
	st = mtasts_engine_mx(e, v->domain, left_ms(deadline), &mx);
	if (st == MTASTS_NOPOLICY) {
		/* No such domain: the MTA bounces it; nothing is at risk. */
		set_accept(v, enforce ? MTASTS_ACTION_ACCEPT :
		    MTASTS_ACTION_TESTING, "mx-nxdomain");
		return;
	}
	if (st != MTASTS_OK) {
		if (!enforce) {
			(void)snprintf(why, sizeof(why), "mx-unknown:%s",
			    mx.reason);
			set_accept(v, MTASTS_ACTION_TESTING, why);
		} else
			engine_trouble(cfg, v, st, "mx", mx.reason);
		return;
	}
	matched = first_match(a, &mx, v);
	if (!enforce) {
		v->would_fail = !matched;
		set_accept(v, MTASTS_ACTION_TESTING, matched ? "mx-match" :
		    "would-fail:no-mx-match");
		return;
	}
	if (matched) {
		set_accept(v, MTASTS_ACTION_ACCEPT, "mx-match");
		return;
	}
	no_match(e, cfg, v, a, deadline, may_recheck);
}

/* Decide on an engine answer for the domain. */
static void
decide(struct mtasts_engine *e, const struct mtasts_config *cfg,
    struct mtasts_verdict *v, struct mtasts_answer *a, enum mtasts_status st,
    int64_t deadline, int may_recheck)
{
	char	why[64], text[200];

	v->has_policy = 0;
	v->policy_id[0] = '\0';
	v->mx[0] = '\0';
	switch (st) {
	case MTASTS_OK:
		break;
	case MTASTS_NOPOLICY:
		(void)snprintf(why, sizeof(why), "no-policy:%s", a->reason);
		if (!v->forced) {
			set_accept(v, MTASTS_ACTION_ACCEPT, why);
			return;
		}
		(void)snprintf(why, sizeof(why), "required:no-policy-%s",
		    a->reason);
		(void)snprintf(text, sizeof(text), "is required but not "
		    "available (%s)", a->reason);
		set_refuse(v, MTASTS_ACTION_DEFER, why, "4.7.5", text);
		return;
	default:
		engine_trouble(cfg, v, st, "policy", a->reason);
		return;
	}
	v->has_policy = 1;
	v->mode = a->mode;
	copy_str(v->policy_id, sizeof(v->policy_id), a->id);
	if (a->mode == MTASTS_MODE_NONE) {
		/* RFC 8461 §5: as if the domain had no policy. */
		if (!v->forced)
			set_accept(v, MTASTS_ACTION_ACCEPT, "mode-none");
		else
			set_refuse(v, MTASTS_ACTION_DEFER, "required:mode-none",
			    "4.7.5", "is required but the domain publishes "
			    "mode none");
		return;
	}
	check_mx(e, cfg, v, a, deadline, may_recheck);
}

void
mtasts_verdict_rcpt(struct mtasts_engine *e, const struct mtasts_config *cfg,
    const char *dom, size_t len, long budget_ms, struct mtasts_verdict *out)
{
	struct mtasts_answer	 a;
	struct mtasts_diag	 diag;
	enum mtasts_domain_kind	 kind;
	enum mtasts_status	 st;
	int64_t			 deadline;

	memset(out, 0, sizeof(*out));
	deadline = mono_ms() + (budget_ms > 0 ? budget_ms : 0);
	mtasts_diag_init(&diag);
	kind = mtasts_domain_normalize(dom, len, out->domain, &diag);
	if (kind == MTASTS_DOMAIN_LITERAL) {
		/* RFC 8461 §3.4: an address literal has no policy. */
		set_accept(out, MTASTS_ACTION_ACCEPT, "address-literal");
		return;
	}
	if (kind != MTASTS_DOMAIN_NAME) {
		/* Not ours to judge: the MTA refuses or bounces it. */
		set_accept(out, MTASTS_ACTION_ACCEPT, "invalid-domain");
		return;
	}
	if (mtasts_domain_list_match(&cfg->skip_domains, out->domain)) {
		set_accept(out, MTASTS_ACTION_ACCEPT, "skipped");
		return;
	}
	if (mtasts_domain_list_match(&cfg->routed_domains, out->domain)) {
		/* RFC 8461 §3.4: the smarthost's own policy applies there. */
		set_accept(out, MTASTS_ACTION_ACCEPT, "routed");
		return;
	}
	out->forced = mtasts_domain_list_match(&cfg->enforce_domains,
	    out->domain) > 0;
	st = mtasts_engine_lookup(e, out->domain, left_ms(deadline), &a);
	decide(e, cfg, out, &a, st, deadline, 1);
	mtasts_answer_clear(&a);
	out->add_header = out->action == MTASTS_ACTION_TESTING &&
	    cfg->testing_header;
}
