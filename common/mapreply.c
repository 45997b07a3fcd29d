/*
 * mapreply.c: socketmap requests and TLS policy replies (see mapreply.h).
 *
 * Why these replies:
 *  - "secure" makes Postfix and Sendmail verify the chain and the name;
 *    "match=" carries the policy's mx list, which Postfix matches against
 *    certificate names and Sendmail against the MX host name and SANs.
 *  - "servername=hostname" sends SNI for the MX name; Sendmail's m4 code
 *    builds a broken client-features string without it (LAB.md 3.4).
 *  - "*.example.com" has no meaning to either MTA; ".example.com" is
 *    their parent-domain form.  Sendmail strips exactly one label, as RFC
 *    8461 wants; Postfix 3.7 accepts any depth, which the optional
 *    concrete mode avoids by listing the MX hosts themselves.
 *  - testing and none are "NOTFOUND ": RFC 8461 section 5 says a testing
 *    policy must not stop delivery, so the MTA keeps its default level.
 *  - every failure to apply a policy that may be enforce is TEMP, never
 *    PERM: Sendmail delivers on PERM as if no policy existed.
 *  - the operator's per-domain controls hold at delivery time as they do
 *    at RCPT time: a skipped or routed domain is NOTFOUND (Sendmail asks
 *    with the recipient domain even when a mailertable sends its mail to
 *    a relay), and an EnforceDomains domain is never left to the MTA's
 *    default level: testing is enforced, no usable policy is TEMP.
 */
#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "domain.h"
#include "engine.h"
#include "dane.h"
#include "mapreply.h"
#include "mxmatch.h"
#include "policy.h"
#include "verdict.h"

/* "TEMP " and a reason always fit in this, whatever the caller's cap. */
#define REASON_MAX	96

int
mtasts_mapreq_parse(const char *p, size_t len, struct mtasts_mapreq *out)
{
	const char	*sp;

	memset(out, 0, sizeof(*out));
	out->kind = MTASTS_MAPKEY_INVALID;
	if (p == NULL || len == 0 || memchr(p, '\0', len) != NULL)
		return -1;
	/* The name never holds a space; the key may, and is then invalid. */
	if ((sp = memchr(p, ' ', len)) == NULL || sp == p)
		return -1;
	out->map = p;
	out->maplen = (size_t)(sp - p);
	sp++;
	out->kind = mtasts_mapkey_parse(sp, len - (size_t)(sp - p),
	    out->domain, &out->nexthop);
	return 0;
}

/* 1 when s[0..len) is an IPv4 or IPv6 address in text form. */
static int
is_ip(const char *s, size_t len)
{
	char		 tmp[MTASTS_DOMAIN_BUFSZ];
	unsigned char	 bin[sizeof(struct in6_addr)];

	if (len == 0 || len >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET, tmp, bin) == 1 ||
	    inet_pton(AF_INET6, tmp, bin) == 1;
}

/* 1 when s[0..len) is a TCP port: 1 to 5 digits, 1..65535. */
static int
is_port(const char *s, size_t len)
{
	unsigned long	v = 0;
	size_t		i;

	if (len == 0 || len > 5)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

static enum mtasts_mapkey_kind
host_kind(const char *h, size_t len, char domain[MTASTS_DOMAIN_BUFSZ])
{
	domain[0] = '\0';
	if (is_ip(h, len))
		return MTASTS_MAPKEY_LITERAL;
	switch (mtasts_domain_normalize(h, len, domain, NULL)) {
	case MTASTS_DOMAIN_NAME:
		return MTASTS_MAPKEY_DOMAIN;
	case MTASTS_DOMAIN_LITERAL:
		domain[0] = '\0';
		return MTASTS_MAPKEY_LITERAL;
	default:
		domain[0] = '\0';
		return MTASTS_MAPKEY_INVALID;
	}
}

/* "[...]" with an optional ":port" after it. */
static enum mtasts_mapkey_kind
bracket_kind(const char *k, size_t len, char domain[MTASTS_DOMAIN_BUFSZ])
{
	const char	*close;
	size_t		 blen;
	char		 lit[MTASTS_DOMAIN_BUFSZ];

	if ((close = memchr(k, ']', len)) == NULL)
		return MTASTS_MAPKEY_INVALID;
	blen = (size_t)(close - k) + 1;
	if (blen < len && (k[blen] != ':' || !is_port(k + blen + 1,
	    len - blen - 1)))
		return MTASTS_MAPKEY_INVALID;
	/* "[192.0.2.1]" and "[IPv6:...]" are SMTP address literals. */
	if (mtasts_domain_normalize(k, blen, lit, NULL) ==
	    MTASTS_DOMAIN_LITERAL)
		return MTASTS_MAPKEY_LITERAL;
	return host_kind(k + 1, blen - 2, domain);
}

enum mtasts_mapkey_kind
mtasts_mapkey_parse(const char *k, size_t len,
    char domain[MTASTS_DOMAIN_BUFSZ], int *nexthop)
{
	const char	*colon;
	int		 dummy;

	if (nexthop == NULL)
		nexthop = &dummy;
	*nexthop = 0;
	domain[0] = '\0';
	if (k == NULL || len == 0 || memchr(k, '\0', len) != NULL)
		return MTASTS_MAPKEY_INVALID;
	/* Postfix asks ".example.com" after a NOTFOUND for example.com. */
	if (k[0] == '.')
		return MTASTS_MAPKEY_PARENT;
	if (k[0] == '[') {
		*nexthop = 1;
		return bracket_kind(k, len, domain);
	}
	if ((colon = memchr(k, ':', len)) != NULL) {
		/* Two colons or more: a bare IPv6 address, or garbage. */
		if (memchr(colon + 1, ':', len - (size_t)(colon - k) - 1) !=
		    NULL)
			return is_ip(k, len) ? MTASTS_MAPKEY_LITERAL :
			    MTASTS_MAPKEY_INVALID;
		if (!is_port(colon + 1, len - (size_t)(colon - k) - 1))
			return MTASTS_MAPKEY_INVALID;
		*nexthop = 1;
		len = (size_t)(colon - k);
	}
	return host_kind(k, len, domain);
}

/* Keep engine-made reasons printable and short in a reply line. */
static void
put_reason(struct mtasts_buf *out, const char *why)
{
	char	 r[REASON_MAX];
	size_t	 i;

	for (i = 0; why != NULL && why[i] != '\0' && i < sizeof(r) - 1; i++)
		r[i] = why[i] >= 0x20 && why[i] < 0x7f ? why[i] : '?';
	r[i] = '\0';
	mtasts_buf_reset(out);
	(void)mtasts_buf_printf(out, "TEMP %s", i > 0 ? r : "unavailable");
}

enum mtasts_mapreply_kind
mtasts_mapreply_temp(struct mtasts_buf *out, const char *why)
{
	put_reason(out, why);
	return MTASTS_MAPREPLY_TEMP;
}

/*
 * Append one name to the match list, lower case, without trailing dot,
 * "*." turned into ".".  Names come from the engine (validated patterns)
 * or from DNS; anything that could break the reply line is refused.
 */
static int
add_name(struct mtasts_buf *out, const char *name, int first)
{
	char	 n[MTASTS_DOMAIN_BUFSZ];
	size_t	 len, i;

	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len >= 2 && name[0] == '*' && name[1] == '.') {
		name++;
		len--;
	}
	if (len == 0 || len >= sizeof(n))
		return -1;
	for (i = 0; i < len; i++) {
		n[i] = name[i] >= 'A' && name[i] <= 'Z' ?
		    (char)(name[i] - 'A' + 'a') : name[i];
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' &&
		    n[i] <= '9') || n[i] == '-' || n[i] == '.' ||
		    n[i] == '_'))
			return -1;
	}
	n[len] = '\0';
	if (!first && mtasts_buf_add(out, ":", 1) == -1)
		return -1;
	return mtasts_buf_add(out, n, len);
}

/* The policy's patterns, "*." made ".": the default form. */
static int
match_patterns(struct mtasts_buf *out, const struct mtasts_answer *a)
{
	const char	*pat;
	size_t		 i;

	for (i = 0; i < a->nmx; i++) {
		if ((pat = mtasts_answer_mx(a, i)) == NULL ||
		    !mtasts_mx_pattern_valid(pat, strlen(pat), NULL))
			return -1;
		if (add_name(out, pat, i == 0) == -1)
			return -1;
	}
	return a->nmx > 0 ? 0 : -1;
}

/* 1 when host matches one of the answer's patterns. */
static int
host_allowed(const struct mtasts_answer *a, const char *host)
{
	const char	*pat;
	size_t		 i;

	for (i = 0; i < a->nmx; i++)
		if ((pat = mtasts_answer_mx(a, i)) != NULL &&
		    mtasts_mx_match(pat, host))
			return 1;
	return 0;
}

/* The MX hosts that the policy allows; 0 names listed is an error. */
static int
match_concrete(struct mtasts_buf *out, const struct mtasts_answer *a,
    const struct mtasts_mxset *mx, size_t *listed)
{
	size_t	i, j;
	int	dup;

	*listed = 0;
	for (i = 0; i < mx->n; i++) {
		if (mx->host[i] == NULL || !host_allowed(a, mx->host[i]))
			continue;
		for (dup = 0, j = 0; j < i && !dup; j++)
			dup = mx->host[j] != NULL &&
			    strcmp(mx->host[j], mx->host[i]) == 0;
		if (dup)
			continue;
		if (add_name(out, mx->host[i], *listed == 0) == -1)
			return -1;
		(*listed)++;
	}
	return 0;
}

static enum mtasts_mapreply_kind
reply_enforce(const struct mtasts_answer *a, const struct mtasts_mxset *mx,
    struct mtasts_buf *out)
{
	size_t	listed = 0;
	int	rc;

	mtasts_buf_reset(out);
	if (mtasts_buf_add(out, "OK secure match=", 16) == -1)
		return mtasts_mapreply_temp(out, "MTA-STS reply too long");
	if (mx != NULL) {
		rc = match_concrete(out, a, mx, &listed);
		if (rc == 0 && listed == 0)
			return mtasts_mapreply_temp(out, "MTA-STS policy "
			    "allows none of the MX hosts");
	} else
		rc = match_patterns(out, a);
	if (rc == -1) {
		if (out->toobig || out->nomem)
			return mtasts_mapreply_temp(out,
			    "MTA-STS reply too long");
		return mtasts_mapreply_temp(out, "MTA-STS policy mx list "
		    "unusable");
	}
	if (mtasts_buf_add(out, " servername=hostname", 20) == -1)
		return mtasts_mapreply_temp(out, "MTA-STS reply too long");
	return MTASTS_MAPREPLY_OK;
}

static enum mtasts_mapreply_kind
notfound(struct mtasts_buf *out)
{
	mtasts_buf_reset(out);
	(void)mtasts_buf_add(out, "NOTFOUND ", 9);
	return MTASTS_MAPREPLY_NOTFOUND;
}

enum mtasts_mapreply_kind
mtasts_mapreply(enum mtasts_mapkey_kind kind, const struct mtasts_answer *a,
    const struct mtasts_mxset *mx, struct mtasts_buf *out)
{
	char	why[REASON_MAX];

	if (kind != MTASTS_MAPKEY_DOMAIN)
		return notfound(out);
	if (a == NULL)
		return mtasts_mapreply_temp(out, "MTA-STS internal error");
	switch (a->status) {
	case MTASTS_OK:
		if (a->mode == MTASTS_MODE_ENFORCE)
			return reply_enforce(a, mx, out);
		return notfound(out);
	case MTASTS_NOPOLICY:
		return notfound(out);
	case MTASTS_TEMPFAIL:
		if (a->pending || strcmp(a->reason, "pending") == 0)
			return mtasts_mapreply_temp(out,
			    "MTA-STS policy discovery in progress");
		(void)snprintf(why, sizeof(why), "MTA-STS policy lookup "
		    "failed: %s", a->reason);
		return mtasts_mapreply_temp(out, why);
	default:
		/* INTERNAL, or a status this code does not know: not PERM. */
		(void)snprintf(why, sizeof(why), "MTA-STS internal error: %s",
		    a->reason);
		return mtasts_mapreply_temp(out, why);
	}
}

int
mtasts_mapreply_dane(int mode, const struct mtasts_dane_answer *d,
    int dane_capable, int sts_enforce, struct mtasts_buf *out,
    enum mtasts_mapreply_kind *kind)
{
	char	why[REASON_MAX];

	if (mode == MTASTS_DANE_OFF || d == NULL)
		return 0;
	switch (d->outcome) {
	case MTASTS_DANE_APPLIES:
		if (!dane_capable) {
			*kind = mtasts_mapreply_temp(out, "DANE applies; this "
			    "MTA cannot verify DANE");
			return 1;
		}
		mtasts_buf_reset(out);
		(void)mtasts_buf_add(out, "OK dane-only", 12);
		*kind = MTASTS_MAPREPLY_OK;
		return 1;
	case MTASTS_DANE_TEMPFAIL:
		(void)snprintf(why, sizeof(why), "DANE lookup failed: %s",
		    d->reason);
		*kind = mtasts_mapreply_temp(out, why);
		return 1;
	case MTASTS_DANE_PENDING:
		if (mode != MTASTS_DANE_MANDATORY && !sts_enforce)
			return 0;
		*kind = mtasts_mapreply_temp(out, "DANE lookup in progress");
		return 1;
	default:
		if (mode != MTASTS_DANE_MANDATORY)
			return 0;
		(void)snprintf(why, sizeof(why), "DANE required but not "
		    "available: %s", d->reason);
		*kind = mtasts_mapreply_temp(out, why);
		return 1;
	}
}

enum mtasts_mapctl
mtasts_mapctl_domain(const struct mtasts_config *cfg, const char *domain)
{
	if (cfg == NULL || domain == NULL || domain[0] == '\0')
		return MTASTS_MAPCTL_POLICY;
	if (mtasts_domain_list_match(&cfg->skip_domains, domain) > 0)
		return MTASTS_MAPCTL_SKIP;
	if (mtasts_domain_list_match(&cfg->routed_domains, domain) > 0)
		return MTASTS_MAPCTL_ROUTED;
	if (mtasts_domain_list_match(&cfg->enforce_domains, domain) > 0)
		return MTASTS_MAPCTL_FORCE;
	return MTASTS_MAPCTL_POLICY;
}

int
mtasts_mapreply_enforced(enum mtasts_mapctl ctl,
    const struct mtasts_answer *a)
{
	if (a == NULL || a->status != MTASTS_OK ||
	    ctl == MTASTS_MAPCTL_SKIP || ctl == MTASTS_MAPCTL_ROUTED)
		return 0;
	return a->mode == MTASTS_MODE_ENFORCE || (ctl == MTASTS_MAPCTL_FORCE &&
	    a->mode == MTASTS_MODE_TESTING);
}

enum mtasts_mapreply_kind
mtasts_mapreply_ctl(enum mtasts_mapctl ctl, enum mtasts_mapkey_kind kind,
    const struct mtasts_answer *a, const struct mtasts_mxset *mx,
    struct mtasts_buf *out)
{
	if (kind != MTASTS_MAPKEY_DOMAIN)
		return notfound(out);
	switch (ctl) {
	case MTASTS_MAPCTL_SKIP:
	case MTASTS_MAPCTL_ROUTED:
		return notfound(out);
	case MTASTS_MAPCTL_FORCE:
		if (a == NULL)
			break;
		if (mtasts_mapreply_enforced(ctl, a))
			return reply_enforce(a, mx, out);
		if (a->status == MTASTS_NOPOLICY || (a->status == MTASTS_OK &&
		    a->mode == MTASTS_MODE_NONE))
			return mtasts_mapreply_temp(out, "MTA-STS required for "
			    "this domain, but it has no usable policy");
		break;
	default:
		break;
	}
	return mtasts_mapreply(kind, a, mx, out);
}

const char *
mtasts_mapctl_str(enum mtasts_mapctl ctl)
{
	switch (ctl) {
	case MTASTS_MAPCTL_SKIP:
		return "skipped";
	case MTASTS_MAPCTL_ROUTED:
		return "routed";
	case MTASTS_MAPCTL_FORCE:
		return "forced";
	default:
		return "policy";
	}
}

const char *
mtasts_mapreply_kind_str(enum mtasts_mapreply_kind k)
{
	switch (k) {
	case MTASTS_MAPREPLY_OK:
		return "ok";
	case MTASTS_MAPREPLY_NOTFOUND:
		return "notfound";
	default:
		return "temp";
	}
}
