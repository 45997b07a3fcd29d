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
#include "dane.h"
#include "domain.h"
#include "engine.h"
#include "log.h"
#include "mxcheck.h"
#include "mxmatch.h"
#include "strutil.h"
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
	    "mx=%s verdict=%s reason=%s dane=%s probe=%s%s%s", id,
	    v->domain[0] != '\0' ? v->domain : "-",
	    v->has_policy ? mtasts_mode_str(v->mode) : "-",
	    v->policy_id[0] != '\0' ? v->policy_id : "-",
	    v->mx[0] != '\0' ? v->mx : "-", mtasts_action_str(v->action),
	    v->reason, v->dane[0] != '\0' ? v->dane : "-",
	    v->probe[0] != '\0' ? v->probe : "-",
	    v->probe_detail[0] != '\0' ? " probe_mx=" : "", v->probe_detail);
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

int
mtasts_domain_list_value(const struct mtasts_strlist *l, const char *domain,
    int (*parse)(const char *, size_t), int dflt)
{
	const char	*colon;
	size_t		 i, m, best = 0;
	int		 val = dflt, a;

	for (i = 0; i < l->n; i++) {
		/* Checked at load; a malformed entry is skipped all the same. */
		if ((colon = strrchr(l->v[i], ':')) == NULL)
			continue;
		m = entry_match(l->v[i], (size_t)(colon - l->v[i]), domain);
		a = parse(colon + 1, strlen(colon + 1));
		if (m > best && a >= 0) {
			best = m;
			val = a;
		}
	}
	return val;
}

enum mtasts_failure_action
mtasts_verdict_failure_action(const struct mtasts_config *cfg,
    const char *domain)
{
	return (enum mtasts_failure_action)mtasts_domain_list_value(
	    &cfg->domain_failure_action, domain, mtasts_failure_action_parse,
	    cfg->failure_action);
}

/* ------------------------------------------------------------ outcomes */

static void
set_accept(struct mtasts_verdict *v, enum mtasts_action a, const char *why)
{
	v->action = a;
	v->smtp_code = 0;
	v->status[0] = '\0';
	v->text[0] = '\0';
	mtasts_strcopy(v->reason, sizeof(v->reason), why);
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
	mtasts_strcopy(v->reason, sizeof(v->reason), why);
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

/*
 * Why an enforced policy cannot be satisfied: the reason token and the
 * reply text after "cannot be satisfied: ".
 */
struct failure {
	const char	*why;
	const char	*text;
};

static const struct failure fail_no_match = {
	"no-mx-match", "no MX host matches the policy"
};
static const struct failure fail_tls = {
	"mx-tls-failed", "no MX host offers valid TLS"
};

/* An enforce failure that survived the re-check: the configured action. */
static void
enforce_failure(const struct mtasts_config *cfg, struct mtasts_verdict *v,
    const struct failure *f)
{
	enum mtasts_action	a;
	char			text[200];

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
	(void)snprintf(text, sizeof(text), "cannot be satisfied: %s",
	    f->text);
	set_refuse(v, a, f->why, "5.7.5", text);
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
				mtasts_strcopy(v->mx, sizeof(v->mx), mx->host[i]);
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
    int64_t deadline, int may_recheck, const struct failure *f)
{
	struct mtasts_answer	 again;
	enum mtasts_status	 st;
	const char		*trouble = "", *state = NULL;
	int64_t			 checked, now = mtasts_engine_now(e);
	char			 why[64], text[200];

	checked = mtasts_answer_txt_checked(a, &trouble);
	if (now - checked < cfg->recheck_interval && checked > 0) {
		if (trouble[0] == '\0') {
			enforce_failure(cfg, v, f);
			return;
		}
		(void)snprintf(why, sizeof(why), "%s:recheck-%s", f->why,
		    trouble);
		(void)snprintf(text, sizeof(text), "cannot be satisfied: %s "
		    "(policy re-check failed)", f->text);
		set_refuse(v, MTASTS_ACTION_DEFER, why, "4.7.5", text);
		return;
	}
	if (!may_recheck)
		/* Re-checked, but the new policy could not be had yet. */
		state = "incomplete";
	else {
		v->rechecked = 1;
		st = mtasts_engine_refresh(e, v->domain, 0, left_ms(deadline),
		    &again);
		if (again.pending)
			state = "pending";
	}
	if (state != NULL) {
		(void)snprintf(why, sizeof(why), "%s:recheck-%s", f->why,
		    state);
		(void)snprintf(text, sizeof(text), "cannot be satisfied: %s "
		    "(policy re-check %s)", f->text, strcmp(state, "pending") ==
		    0 ? "in progress" : "incomplete");
		set_refuse(v, MTASTS_ACTION_DEFER, why, "4.7.5", text);
		if (may_recheck)
			mtasts_answer_clear(&again);
		return;
	}
	decide(e, cfg, v, &again, st, deadline, 0);
	mtasts_answer_clear(&again);
}

/*
 * Probe the MX hosts that the policy admits (MxProbe) and summarise;
 * v->probe and v->probe_detail record what was found.
 */
static enum mtasts_mxprobe_state
probe_matching(struct mtasts_engine *e, struct mtasts_verdict *v,
    const struct mtasts_answer *a, const struct mtasts_mx_set *mx,
    int64_t deadline)
{
	struct mtasts_mxprobe		 res[MTASTS_MX_SET_MAX];
	enum mtasts_mxprobe_state	 states[MTASTS_MX_SET_MAX], sum;
	const char			*hosts[MTASTS_MX_SET_MAX];
	size_t				 i, j, n = 0, off = 0;

	for (i = 0; i < mx->n; i++)
		for (j = 0; j < a->nmx; j++)
			if (mtasts_mx_match(mtasts_answer_mx(a, j),
			    mx->host[i])) {
				hosts[n++] = mx->host[i];
				break;
			}
	if (mtasts_engine_probe(e, hosts, n, left_ms(deadline), res) !=
	    MTASTS_OK) {
		mtasts_strcopy(v->probe, sizeof(v->probe), "pending");
		return MTASTS_MXPROBE_PENDING;
	}
	for (i = 0; i < n; i++) {
		states[i] = res[i].state;
		if (off < sizeof(v->probe_detail))
			off += (size_t)snprintf(v->probe_detail + off,
			    sizeof(v->probe_detail) - off, "%s%s=%s", i ? "," :
			    "", hosts[i], res[i].cls[0] != '\0' ? res[i].cls :
			    "pending");
	}
	sum = mtasts_mxprobe_summary(states, n);
	mtasts_strcopy(v->probe, sizeof(v->probe), mtasts_mxprobe_state_str(sum));
	return sum;
}

/* 1 when MxProbe asks for probes of a policy in this mode. */
static int
probing_wanted(const struct mtasts_config *cfg, int enforce)
{
	return cfg->mx_probe == MTASTS_PROBE_MODE_ALL ||
	    (cfg->mx_probe == MTASTS_PROBE_MODE_ENFORCE && enforce);
}

/* A valid policy in testing or enforce mode: check the MX set. */
static void
check_mx(struct mtasts_engine *e, const struct mtasts_config *cfg,
    struct mtasts_verdict *v, const struct mtasts_answer *a,
    int64_t deadline, int may_recheck)
{
	struct mtasts_mx_set		 mx;
	enum mtasts_mxprobe_state	 ps = MTASTS_MXPROBE_PASS;
	enum mtasts_status		 st;
	int				 enforce, matched;
	char				 why[64];

	enforce = a->mode == MTASTS_MODE_ENFORCE || v->forced;
	mtasts_strcopy(v->probe, sizeof(v->probe), "-");	/* a re-check decides anew */
	v->probe_detail[0] = '\0';
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
	if (matched && probing_wanted(cfg, enforce))
		ps = probe_matching(e, v, a, &mx, deadline);
	if (!enforce) {
		v->would_fail = !matched || ps == MTASTS_MXPROBE_TLS_FAIL;
		set_accept(v, MTASTS_ACTION_TESTING, !matched ?
		    "would-fail:no-mx-match" : v->would_fail ?
		    "would-fail:mx-tls-failed" : "mx-match");
		return;
	}
	if (!matched) {
		no_match(e, cfg, v, a, deadline, may_recheck, &fail_no_match);
		return;
	}
	switch (ps) {
	case MTASTS_MXPROBE_TLS_FAIL:
		no_match(e, cfg, v, a, deadline, may_recheck, &fail_tls);
		return;
	case MTASTS_MXPROBE_PENDING:
		/* The map still keeps delivery to verified TLS. */
		set_accept(v, MTASTS_ACTION_ACCEPT, "mx-match:probe-pending");
		return;
	case MTASTS_MXPROBE_INCONCLUSIVE:
		set_accept(v, MTASTS_ACTION_ACCEPT,
		    "mx-match:probe-inconclusive");
		return;
	default:
		set_accept(v, MTASTS_ACTION_ACCEPT, "mx-match");
		return;
	}
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
	mtasts_strcopy(v->policy_id, sizeof(v->policy_id), a->id);
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

/*
 * DANE before MTA-STS (RFC 8461 §2, STS-01).  Returns 1 when DANE
 * decided (v is set), 0 when MTA-STS is to be applied.
 */
static int
dane_first(struct mtasts_engine *e, const struct mtasts_config *cfg,
    struct mtasts_verdict *v, int64_t deadline)
{
	struct mtasts_dane_answer	 d;
	enum mtasts_dane_mode		 mode;
	char				 why[64];

	if ((mode = mtasts_dane_mode_for(cfg, v->domain)) == MTASTS_DANE_OFF)
		return 0;
	if (mtasts_engine_dane(e, v->domain, left_ms(deadline), &d) !=
	    MTASTS_OK) {
		engine_trouble(cfg, v, MTASTS_INTERNAL, "dane", d.reason);
		return 1;
	}
	mtasts_strcopy(v->dane, sizeof(v->dane), mtasts_dane_outcome_str(d.outcome));
	switch (d.outcome) {
	case MTASTS_DANE_APPLIES:
		/* The MTA verifies DANE; MTA-STS is not enforced. */
		(void)snprintf(why, sizeof(why), "dane:%s", d.reason);
		set_accept(v, MTASTS_ACTION_ACCEPT, why);
		return 1;
	case MTASTS_DANE_TEMPFAIL:
		/* Bogus is never "no DANE". */
		(void)snprintf(why, sizeof(why), "dane-tempfail:%s", d.reason);
		(void)snprintf(v->text, sizeof(v->text), "DANE for %s could not "
		    "be determined (%s)", v->domain, d.reason);
		v->action = MTASTS_ACTION_DEFER;
		v->smtp_code = 451;
		mtasts_strcopy(v->status, sizeof(v->status), "4.7.5");
		mtasts_strcopy(v->reason, sizeof(v->reason), why);
		return 1;
	case MTASTS_DANE_PENDING:
		if (mode != MTASTS_DANE_MANDATORY)
			return 0;	/* MTA-STS meanwhile */
		set_accept(v, MTASTS_ACTION_ACCEPT, "dane:pending");
		return 1;
	default:
		if (mode != MTASTS_DANE_MANDATORY)
			return 0;
		break;
	}
	(void)snprintf(why, sizeof(why), "dane-required:%s", d.reason);
	switch (mtasts_verdict_failure_action(cfg, v->domain)) {
	case MTASTS_FAIL_REJECT:
		v->action = MTASTS_ACTION_REJECT;
		break;
	case MTASTS_FAIL_BOUNCE:
		v->action = MTASTS_ACTION_BOUNCE;
		break;
	default:
		v->action = MTASTS_ACTION_DEFER;
		break;
	}
	v->smtp_code = v->action == MTASTS_ACTION_DEFER ? 451 : 550;
	(void)snprintf(v->status, sizeof(v->status), "%c.7.5",
	    v->action == MTASTS_ACTION_DEFER ? '4' : '5');
	(void)snprintf(v->text, sizeof(v->text), "DANE is required for %s but "
	    "not available (%s)", v->domain, d.reason);
	mtasts_strcopy(v->reason, sizeof(v->reason), why);
	return 1;
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
	mtasts_strcopy(out->probe, sizeof(out->probe), "-");
	mtasts_strcopy(out->dane, sizeof(out->dane), "-");
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
	if (dane_first(e, cfg, out, deadline))
		return;
	st = mtasts_engine_lookup(e, out->domain, left_ms(deadline), &a);
	decide(e, cfg, out, &a, st, deadline, 1);
	mtasts_answer_clear(&a);
	out->add_header = out->action == MTASTS_ACTION_TESTING &&
	    cfg->testing_header;
}
