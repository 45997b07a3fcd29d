/*
 * conf.c: mta-sts-milter.conf.
 *
 * One table, mtasts_conf_defs[], declares every parameter: its name, type,
 * default and bounds.  A generic loader applies "Name value" lines to any
 * struct described by such a table, so the defaults, the file and (later)
 * the command line all go through the same value parsers.
 *
 * The loader never stops at the first problem: an operator running "-n"
 * wants every mistake of the file at once, each as "file:line: message".
 * Values are parsed into temporaries and stored only when valid, so a bad
 * line leaves the default in place.
 */
#include <config.h>

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "dane.h"
#include "domain.h"
#include "log.h"
#include "status.h"

#define CONF_LINE_MAX	4096		/* bytes per line, newline excluded */
#define CONF_FILE_MAX	(1024 * 1024)	/* a config is small; refuse more */
#define SHOW_MAX	48		/* input bytes quoted in a message */
#define WHY_MAX		512		/* diag keeps MTASTS_DIAG_LEN of it */

#define MINUTE		60L
#define HOUR		(60 * MINUTE)
#define DAY		(24 * HOUR)
#define WEEK		(7 * DAY)
#define KIB		1024L
#define MIB		(1024 * KIB)

/* Choices of the ENUM parameters; the index is what lands in the struct. */
static const char *const facility_names[] = {
	"mail", "daemon", "user", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7", NULL
};

/* In syslog order, so that LOG_ERR + index is the syslog priority. */
static const char *const level_names[] = {
	"err", "warning", "notice", "info", "debug", NULL
};

/* In the order of enum mtasts_failure_action and mtasts_engine_error_mode. */
static const char *const failure_action_names[] = {
	"defer", "reject", "bounce", NULL
};

static const char *const engine_error_names[] = {
	"tempfail", "accept", NULL
};

/* In the order of enum mtasts_probe_mode. */
static const char *const probe_mode_names[] = {
	"no", "enforce", "all", NULL
};

#define OFF(field)	offsetof(struct mtasts_config, field)

/*
 * Keep one row per line starting with { "Name", : tests/check-docs.sh reads
 * the names from here and checks that the man page and sample list them.
 */
const struct mtasts_conf_def mtasts_conf_defs[] = {
	/* logging: where it goes is fixed at start-up, how much is not */
	{ "Syslog", MTASTS_CONF_BOOL, OFF(syslog), "yes",
	    0, 0, NULL, 0 },
	{ "SyslogFacility", MTASTS_CONF_ENUM, OFF(syslog_facility), "mail",
	    0, 0, facility_names, 0 },
	{ "LogLevel", MTASTS_CONF_ENUM, OFF(log_level), "info",
	    0, 0, level_names, 1 },
	/* policies (RFC 8461 section 3.3 suggests a body size limit) */
	{ "PolicyMaxSize", MTASTS_CONF_SIZE, OFF(policy_max_size), "64k",
	    1 * KIB, 1 * MIB, NULL, 1 },
	/* the open database is shared by every thread: no swap on reload */
	{ "Database", MTASTS_CONF_STRING, OFF(database),
	    LOCALSTATEDIR "/lib/mta-sts-milter/policies.db",
	    0, 0, NULL, 0 },
	/* DNS */
	{ "ResolverConfig", MTASTS_CONF_STRING, OFF(resolver_config), NULL,
	    0, 0, NULL, 1 },
	{ "ResolverForwarders", MTASTS_CONF_LIST, OFF(resolver_forwarders),
	    NULL, 0, 0, NULL, 1 },
	{ "TrustAnchorFile", MTASTS_CONF_STRING, OFF(trust_anchor_file), NULL,
	    0, 0, NULL, 1 },
	{ "DnsTimeout", MTASTS_CONF_DURATION, OFF(dns_timeout), "10s",
	    1, 2 * MINUTE, NULL, 1 },
	/* HTTPS policy fetch */
	{ "CAFile", MTASTS_CONF_STRING, OFF(ca_file), NULL,
	    0, 0, NULL, 1 },
	{ "CAPath", MTASTS_CONF_STRING, OFF(ca_path), NULL,
	    0, 0, NULL, 1 },
	{ "HttpsProxy", MTASTS_CONF_STRING, OFF(https_proxy), NULL,
	    0, 0, NULL, 1 },
	{ "HttpsConnectTimeout", MTASTS_CONF_DURATION,
	    OFF(https_connect_timeout), "10s", 1, 2 * MINUTE, NULL, 1 },
	{ "HttpsTimeout", MTASTS_CONF_DURATION, OFF(https_timeout), "60s",
	    1, 10 * MINUTE, NULL, 1 },
	/* cache and refresh */
	{ "TxtRecheckInterval", MTASTS_CONF_DURATION,
	    OFF(txt_recheck_interval), "1h", 1, WEEK, NULL, 1 },
	{ "RefreshInterval", MTASTS_CONF_DURATION, OFF(refresh_interval),
	    "1d", MINUTE, WEEK, NULL, 1 },
	{ "NegativeCacheTime", MTASTS_CONF_DURATION, OFF(negative_cache_time),
	    "30m", 1, DAY, NULL, 1 },
	{ "FetchRetryInterval", MTASTS_CONF_DURATION,
	    OFF(fetch_retry_interval), "5m", 1, DAY, NULL, 1 },
	{ "MaxDiscoveries", MTASTS_CONF_INT, OFF(max_discoveries), "64",
	    1, 4096, NULL, 1 },
	/* the milter socket is opened before privileges are dropped */
	{ "Socket", MTASTS_CONF_STRING, OFF(milter_socket), NULL,
	    0, 0, NULL, 0 },
	{ "SocketMode", MTASTS_CONF_STRING, OFF(milter_socket_mode), NULL,
	    0, 0, NULL, 0 },
	/* RCPT-time verdicts; the MTA's own milter timeout must be longer */
	{ "RcptTimeout", MTASTS_CONF_DURATION, OFF(rcpt_timeout), "5s",
	    1, MINUTE, NULL, 1 },
	{ "FailureAction", MTASTS_CONF_ENUM, OFF(failure_action), "defer",
	    0, 0, failure_action_names, 1 },
	{ "OnEngineError", MTASTS_CONF_ENUM, OFF(on_engine_error), "tempfail",
	    0, 0, engine_error_names, 1 },
	{ "SkipDomains", MTASTS_CONF_LIST, OFF(skip_domains), NULL,
	    0, 0, NULL, 1 },
	{ "EnforceDomains", MTASTS_CONF_LIST, OFF(enforce_domains), NULL,
	    0, 0, NULL, 1 },
	{ "RoutedDomains", MTASTS_CONF_LIST, OFF(routed_domains), NULL,
	    0, 0, NULL, 1 },
	{ "DomainFailureAction", MTASTS_CONF_LIST,
	    OFF(domain_failure_action), NULL, 0, 0, NULL, 1 },
	{ "TestingHeader", MTASTS_CONF_BOOL, OFF(testing_header), "no",
	    0, 0, NULL, 1 },
	/* RFC 8461 section 5.1: re-check before failing, but not per RCPT */
	{ "RecheckInterval", MTASTS_CONF_DURATION, OFF(recheck_interval), "5m",
	    1, DAY, NULL, 1 },
	{ "SendmailPath", MTASTS_CONF_STRING, OFF(sendmail_path),
	    "/usr/sbin/sendmail", 0, 0, NULL, 1 },
	/* Postfix transports and Sendmail mailers that deliver to an MX */
	{ "SmtpMailers", MTASTS_CONF_LIST, OFF(smtp_mailers),
	    "smtp, esmtp, smtp8, dsmtp, relay", 0, 0, NULL, 1 },
	/* MX STARTTLS probes at RCPT time (common/mxcheck.c) */
	{ "MxProbe", MTASTS_CONF_ENUM, OFF(mx_probe), "enforce",
	    0, 0, probe_mode_names, 1 },
	{ "MxProbePort", MTASTS_CONF_INT, OFF(mx_probe_port), "25",
	    1, 65535, NULL, 0 },
	{ "MxProbeTimeout", MTASTS_CONF_DURATION, OFF(mx_probe_timeout), "20s",
	    1, 2 * MINUTE, NULL, 0 },
	{ "MxProbeMaxParallel", MTASTS_CONF_INT, OFF(mx_probe_max_parallel),
	    "32", 1, 1024, NULL, 0 },
	{ "MxProbeCacheTime", MTASTS_CONF_DURATION, OFF(mx_probe_cache_time),
	    "1h", MINUTE, DAY, NULL, 1 },
	{ "MxProbeFailureCacheTime", MTASTS_CONF_DURATION,
	    OFF(mx_probe_failure_cache_time), "5m", 1, DAY, NULL, 1 },
	{ "MxProbeMinInterval", MTASTS_CONF_DURATION,
	    OFF(mx_probe_min_interval), "1m", 1, HOUR, NULL, 1 },
	{ "MxProbeHeloName", MTASTS_CONF_STRING, OFF(mx_probe_helo_name), NULL,
	    0, 0, NULL, 0 },
	/* DANE (RFC 7672) takes precedence over MTA-STS (RFC 8461 §2) */
	{ "Dane", MTASTS_CONF_BOOL, OFF(dane), "no",
	    0, 0, NULL, 1 },
	{ "DomainDane", MTASTS_CONF_LIST, OFF(domain_dane), NULL,
	    0, 0, NULL, 1 },
	{ "MapDaneUnsupported", MTASTS_CONF_LIST, OFF(map_dane_unsupported),
	    "sts", 0, 0, NULL, 1 },
	/* the map server for Postfix and Sendmail; sockets open as root */
	{ "MapSocket", MTASTS_CONF_STRING, OFF(map_socket), NULL,
	    0, 0, NULL, 0 },
	{ "MapSocketMode", MTASTS_CONF_STRING, OFF(map_socket_mode), NULL,
	    0, 0, NULL, 0 },
	{ "MapMaxClients", MTASTS_CONF_INT, OFF(map_max_clients), "256",
	    1, 65536, NULL, 1 },
	{ "MapMatchConcreteMx", MTASTS_CONF_BOOL, OFF(map_match_concrete_mx),
	    "no", 0, 0, NULL, 1 },
	{ "MapIdleTimeout", MTASTS_CONF_DURATION, OFF(map_idle_timeout), "60s",
	    1, HOUR, NULL, 1 },
	/* the daemon: who it runs as and where its pid goes */
	{ "UserID", MTASTS_CONF_STRING, OFF(user_id), NULL,
	    0, 0, NULL, 0 },
	{ "PidFile", MTASTS_CONF_STRING, OFF(pid_file),
	    LOCALSTATEDIR "/run/mta-sts-milter/mta-sts-milter.pid",
	    0, 0, NULL, 0 },
	{ NULL, MTASTS_CONF_BOOL, 0, NULL, 0, 0, NULL, 0 }
};

/* Byte classes in ASCII, whatever the locale says. */
static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
name_eq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

/* Quote untrusted text in a message: escaped, and cut if long. */
static const char *
show(char *dst, size_t dstsz, const char *s)
{
	size_t	len = strlen(s), n;

	if (len <= SHOW_MAX)
		(void)mtasts_log_escape(dst, dstsz, s, len);
	else {
		n = mtasts_log_escape(dst, dstsz - 3, s, SHOW_MAX);
		memcpy(dst + n, "...", 4);
	}
	return dst;
}

static void *
field(const struct mtasts_conf_def *def, void *base)
{
	return (char *)base + def->offset;
}

int
mtasts_conf_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t	i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (name_eq(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (name_eq(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/*
 * Digits, then an optional one-letter unit.  The digits are bounded by
 * limit before and after the unit is applied, so nothing wraps.  Returns
 * -1 when malformed, -2 when well-formed but larger than limit.
 */
static int
parse_scaled(const char *s, uintmax_t limit, uintmax_t (*unit)(int),
    uintmax_t *out)
{
	uintmax_t	v = 0, mult = 1, d;
	int		over = 0;

	if (s == NULL || !is_digit((unsigned char)*s))
		return -1;
	for (; is_digit((unsigned char)*s); s++) {
		d = (uintmax_t)(*s - '0');
		if (over || v > (limit - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
	}
	if (*s != '\0') {
		if (s[1] != '\0')
			return -1;
		if ((mult = unit(lower((unsigned char)*s))) == 0)
			return -1;
	}
	if (over || v > limit / mult)
		return -2;
	*out = v * mult;
	return 0;
}

static uintmax_t
duration_unit(int c)
{
	switch (c) {
	case 's':
		return 1;
	case 'm':
		return MINUTE;
	case 'h':
		return HOUR;
	case 'd':
		return DAY;
	case 'w':
		return WEEK;
	}
	return 0;
}

static uintmax_t
size_unit(int c)
{
	switch (c) {
	case 'k':
		return KIB;
	case 'm':
		return MIB;
	}
	return 0;
}

/* Duration and size with the -2 of parse_scaled kept for messages. */
static int
parse_duration(const char *s, long *out)
{
	uintmax_t	v;
	int		rc;

	if ((rc = parse_scaled(s, LONG_MAX, duration_unit, &v)) != 0)
		return rc;
	*out = (long)v;
	return 0;
}

static int
parse_size(const char *s, size_t *out)
{
	uintmax_t	v;
	int		rc;

	if ((rc = parse_scaled(s, SIZE_MAX, size_unit, &v)) != 0)
		return rc;
	*out = (size_t)v;
	return 0;
}

int
mtasts_conf_parse_duration(const char *s, long *out)
{
	return parse_duration(s, out) == 0 ? 0 : -1;
}

int
mtasts_conf_parse_size(const char *s, size_t *out)
{
	return parse_size(s, out) == 0 ? 0 : -1;
}

/*
 * A decimal long: strtol, but no leading blanks or '+' and no trailing junk.
 * -1 when malformed, -2 when it does not fit a long.
 */
static int
parse_long(const char *s, long *out)
{
	char	*end;
	long	 v;

	if (!is_digit((unsigned char)s[0]) &&
	    !(s[0] == '-' && is_digit((unsigned char)s[1])))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0')
		return -1;
	if (errno == ERANGE)
		return -2;
	if (errno != 0)
		return -1;
	*out = v;
	return 0;
}

/* A bound as an operator would write it: "2m", "64k", "4096". */
static void
fmt_bound(char *buf, size_t bufsz, enum mtasts_conf_type type, long v)
{
	static const struct {
		long	 n;
		char	 c;
	} dur[] = {
		{ WEEK, 'w' }, { DAY, 'd' }, { HOUR, 'h' }, { MINUTE, 'm' }
	}, sz[] = {
		{ MIB, 'm' }, { KIB, 'k' }
	};
	size_t	i;

	if (type == MTASTS_CONF_DURATION && v > 0) {
		for (i = 0; i < sizeof(dur) / sizeof(dur[0]); i++)
			if (v % dur[i].n == 0) {
				(void)snprintf(buf, bufsz, "%ld%c",
				    v / dur[i].n, dur[i].c);
				return;
			}
		(void)snprintf(buf, bufsz, "%lds", v);
		return;
	}
	if (type == MTASTS_CONF_SIZE && v > 0) {
		for (i = 0; i < sizeof(sz) / sizeof(sz[0]); i++)
			if (v % sz[i].n == 0) {
				(void)snprintf(buf, bufsz, "%ld%c",
				    v / sz[i].n, sz[i].c);
				return;
			}
	}
	(void)snprintf(buf, bufsz, "%ld", v);
}

static int
out_of_range(const struct mtasts_conf_def *def, const char *val, char *why,
    size_t whysz)
{
	char	lo[32], hi[32], sv[SHOW_MAX * 4 + 4];

	fmt_bound(lo, sizeof(lo), def->type, def->min);
	show(sv, sizeof(sv), val);
	if (def->max == 0)
		(void)snprintf(why, whysz, "%s '%s' is out of range "
		    "(at least %s)", def->name, sv, lo);
	else {
		fmt_bound(hi, sizeof(hi), def->type, def->max);
		(void)snprintf(why, whysz, "%s '%s' is out of range "
		    "(%s to %s)", def->name, sv, lo, hi);
	}
	return -1;
}

static int
malformed(const struct mtasts_conf_def *def, const char *val,
    const char *expected, char *why, size_t whysz)
{
	char	sv[SHOW_MAX * 4 + 4];

	(void)snprintf(why, whysz, "%s '%s' is not %s", def->name,
	    show(sv, sizeof(sv), val), expected);
	return -1;
}

static int
in_range(const struct mtasts_conf_def *def, long v)
{
	return v >= def->min && (def->max == 0 || v <= def->max);
}

static void
strlist_release(struct mtasts_strlist *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Split at commas and blanks; append to l, or to nothing when !append. */
static int
set_list(const struct mtasts_conf_def *def, struct mtasts_strlist *l,
    const char *val, int append, char *why, size_t whysz)
{
	struct mtasts_strlist	 add = { 0, NULL };
	const char		*p, *start;
	char			**v;
	size_t			 cap = 0, i;

	for (p = val; *p != '\0';) {
		while (*p == ',' || is_space((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',' && !is_space((unsigned char)*p))
			p++;
		if (add.n == cap) {
			cap = cap ? cap * 2 : 4;
			if ((v = reallocarray(add.v, cap, sizeof(*v))) == NULL)
				goto oom;
			add.v = v;
		}
		add.v[add.n] = strndup(start, (size_t)(p - start));
		if (add.v[add.n] == NULL)
			goto oom;
		add.n++;
	}
	if (add.n == 0) {
		(void)snprintf(why, whysz, "%s lists no values", def->name);
		return -1;
	}
	if (!append)
		strlist_release(l);
	if ((v = reallocarray(l->v, l->n + add.n, sizeof(*v))) == NULL)
		goto oom;
	for (i = 0; i < add.n; i++)
		v[l->n + i] = add.v[i];
	l->v = v;
	l->n += add.n;
	free(add.v);
	return 0;
oom:
	strlist_release(&add);
	(void)snprintf(why, whysz, "%s: out of memory", def->name);
	return -1;
}

static int
set_enum(const struct mtasts_conf_def *def, int *out, const char *val,
    char *why, size_t whysz)
{
	char	expected[WHY_MAX];
	size_t	i, off;
	int	n;

	for (i = 0; def->choices != NULL && def->choices[i] != NULL; i++) {
		if (name_eq(val, def->choices[i])) {
			*out = (int)i;
			return 0;
		}
	}
	off = 0;
	expected[0] = '\0';
	for (i = 0; def->choices != NULL && def->choices[i] != NULL; i++) {
		n = snprintf(expected + off, sizeof(expected) - off, "%s%s",
		    i == 0 ? "one of " : ", ", def->choices[i]);
		if (n < 0 || (size_t)n >= sizeof(expected) - off)
			break;
		off += (size_t)n;
	}
	return malformed(def, val, expected, why, whysz);
}

/*
 * Parse val for def and store it in base.  On error nothing is stored and
 * why explains the problem.  append: a LIST adds to what it holds.
 */
static int
set_value(const struct mtasts_conf_def *def, void *base, const char *val,
    int append, char *why, size_t whysz)
{
	void	*p = field(def, base);
	char	*s;
	long	 l = 0;
	size_t	 z = 0;
	int	 b, rc;

	switch (def->type) {
	case MTASTS_CONF_BOOL:
		if (mtasts_conf_parse_bool(val, &b) == -1)
			return malformed(def, val, "yes or no", why, whysz);
		*(int *)p = b;
		return 0;
	case MTASTS_CONF_INT:
		if ((rc = parse_long(val, &l)) == -1)
			return malformed(def, val, "a decimal number", why,
			    whysz);
		if (rc == -2 || !in_range(def, l))
			return out_of_range(def, val, why, whysz);
		*(long *)p = l;
		return 0;
	case MTASTS_CONF_DURATION:
		if ((rc = parse_duration(val, &l)) == -1)
			return malformed(def, val, "a duration (seconds, or "
			    "a number with s, m, h, d or w)", why, whysz);
		if (rc == -2 || !in_range(def, l))
			return out_of_range(def, val, why, whysz);
		*(long *)p = l;
		return 0;
	case MTASTS_CONF_SIZE:
		if ((rc = parse_size(val, &z)) == -1)
			return malformed(def, val, "a size (bytes, or a "
			    "number with k or m)", why, whysz);
		if (rc == -2 || (def->min > 0 && z < (size_t)def->min) ||
		    (def->max > 0 && z > (size_t)def->max))
			return out_of_range(def, val, why, whysz);
		*(size_t *)p = z;
		return 0;
	case MTASTS_CONF_STRING:
		if ((s = strdup(val)) == NULL) {
			(void)snprintf(why, whysz, "%s: out of memory",
			    def->name);
			return -1;
		}
		free(*(char **)p);
		*(char **)p = s;
		return 0;
	case MTASTS_CONF_LIST:
		return set_list(def, p, val, append, why, whysz);
	case MTASTS_CONF_ENUM:
		return set_enum(def, p, val, why, whysz);
	}
	(void)snprintf(why, whysz, "%s: unknown parameter type", def->name);
	return -1;
}

static void
release_field(const struct mtasts_conf_def *def, void *base)
{
	void	*p = field(def, base);

	switch (def->type) {
	case MTASTS_CONF_STRING:
		free(*(char **)p);
		*(char **)p = NULL;
		break;
	case MTASTS_CONF_LIST:
		strlist_release(p);
		break;
	default:
		break;
	}
}

void
mtasts_conf_release(const struct mtasts_conf_def *defs, void *base)
{
	const struct mtasts_conf_def	*def;

	if (defs == NULL || base == NULL)
		return;
	for (def = defs; def->name != NULL; def++)
		release_field(def, base);
}

/*
 * base must be zeroed or hold values set by this module: what the fields
 * own is released before the defaults go in.
 */
int
mtasts_conf_defaults(const struct mtasts_conf_def *defs, void *base,
    struct mtasts_diag *diag)
{
	const struct mtasts_conf_def	*def;
	char				 why[WHY_MAX];
	void				*p;
	int				 rc = 0;

	for (def = defs; def->name != NULL; def++) {
		release_field(def, base);
		p = field(def, base);
		switch (def->type) {
		case MTASTS_CONF_BOOL:
		case MTASTS_CONF_ENUM:
			*(int *)p = 0;
			break;
		case MTASTS_CONF_INT:
		case MTASTS_CONF_DURATION:
			*(long *)p = 0;
			break;
		case MTASTS_CONF_SIZE:
			*(size_t *)p = 0;
			break;
		default:
			break;
		}
		if (def->defval == NULL)
			continue;
		/* A bad default is our bug; say so rather than run with 0. */
		if (set_value(def, base, def->defval, 0, why, sizeof(why))
		    == -1) {
			mtasts_diag_add(diag, 0, 0, "(defaults): %s", why);
			rc = -1;
		}
	}
	return rc;
}

static const struct mtasts_conf_def *
find_def(const struct mtasts_conf_def *defs, const char *name)
{
	for (; defs->name != NULL; defs++)
		if (name_eq(defs->name, name))
			return defs;
	return NULL;
}

/*
 * One line, NUL-terminated and free of NUL bytes; seen[] holds the line on
 * which each parameter was first set.
 */
static int
apply_line(const struct mtasts_conf_def *defs, void *base, unsigned int *seen,
    char *line, const char *fname, unsigned int lineno,
    struct mtasts_diag *diag)
{
	const struct mtasts_conf_def	*def;
	char				*name, *val, *end;
	char				 why[WHY_MAX], sv[SHOW_MAX * 4 + 4];
	size_t				 i, idx;
	int				 append;

	/* '#' opens a comment only where a word could start ("a#b" stays). */
	for (i = 0; line[i] != '\0'; i++)
		if (line[i] == '#' && (i == 0 ||
		    is_space((unsigned char)line[i - 1]))) {
			line[i] = '\0';
			break;
		}
	end = line + i;
	while (end > line && is_space((unsigned char)end[-1]))
		*--end = '\0';
	for (name = line; is_space((unsigned char)*name); name++)
		;
	if (*name == '\0')
		return 0;
	for (val = name; *val != '\0' && !is_space((unsigned char)*val); val++)
		;
	if (*val != '\0') {
		*val++ = '\0';
		while (is_space((unsigned char)*val))
			val++;
	}

	if ((def = find_def(defs, name)) == NULL) {
		mtasts_diag_add(diag, 0, lineno,
		    "%s:%u: unknown parameter '%s'", fname, lineno,
		    show(sv, sizeof(sv), name));
		return -1;
	}
	if (*val == '\0') {
		mtasts_diag_add(diag, 0, lineno, "%s:%u: missing value for %s",
		    fname, lineno, def->name);
		return -1;
	}
	idx = (size_t)(def - defs);
	if (seen[idx] != 0 && def->type != MTASTS_CONF_LIST) {
		mtasts_diag_add(diag, 0, lineno,
		    "%s:%u: %s already set on line %u", fname, lineno,
		    def->name, seen[idx]);
		return -1;
	}
	/* The first LIST line of a file replaces the default; later add. */
	append = seen[idx] != 0;
	if (seen[idx] == 0)
		seen[idx] = lineno;
	if (set_value(def, base, val, append, why, sizeof(why)) == -1) {
		mtasts_diag_add(diag, 0, lineno, "%s:%u: %s", fname, lineno,
		    why);
		return -1;
	}
	return 0;
}

int
mtasts_conf_apply(const struct mtasts_conf_def *defs, void *base,
    const char *buf, size_t len, const char *fname, struct mtasts_diag *diag)
{
	const char	*p, *end, *nl;
	char		 line[CONF_LINE_MAX + 1];
	unsigned int	*seen, lineno = 0;
	size_t		 ndefs, n;
	int		 rc = 0;

	if (fname == NULL)
		fname = "(config)";
	for (ndefs = 0; defs[ndefs].name != NULL; ndefs++)
		;
	if ((seen = calloc(ndefs + 1, sizeof(*seen))) == NULL) {
		mtasts_diag_add(diag, 0, 0, "%s: out of memory", fname);
		return -1;
	}
	if (buf == NULL)
		len = 0;
	p = buf;
	end = buf + len;
	/* Editors on some systems start UTF-8 files with a byte order mark. */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		/* Line numbers past UINT_MAX would need a >4 GiB file. */
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > CONF_LINE_MAX) {
			mtasts_diag_add(diag, 0, lineno,
			    "%s:%u: line longer than %d bytes", fname, lineno,
			    CONF_LINE_MAX);
			rc = -1;
		} else if (memchr(p, '\0', n) != NULL) {
			mtasts_diag_add(diag, 0, lineno,
			    "%s:%u: NUL byte in line", fname, lineno);
			rc = -1;
		} else {
			memcpy(line, p, n);
			line[n] = '\0';
			if (apply_line(defs, base, seen, line, fname, lineno,
			    diag) == -1)
				rc = -1;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	free(seen);
	return rc;
}

void
mtasts_config_free(struct mtasts_config *cfg)
{
	if (cfg == NULL)
		return;
	mtasts_conf_release(mtasts_conf_defs, cfg);
	free(cfg->path);
	free(cfg);
}

int
mtasts_failure_action_parse(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; failure_action_names[i] != NULL; i++)
		if (strlen(failure_action_names[i]) == len &&
		    strncasecmp(s, failure_action_names[i], len) == 0)
			return (int)i;
	return -1;
}

/*
 * A domain list entry: a domain, or ".domain" for every name below it.
 * The verdict compares entries without case, so case is not checked.
 */
static int
domain_entry_ok(const char *s, size_t len)
{
	if (len > 0 && s[0] == '.') {
		s++;
		len--;
	}
	return len > 0 && mtasts_dns_name_valid(s, len, NULL);
}

static int
check_domain_list(const char *name, const struct mtasts_strlist *l,
    const char *fname, struct mtasts_diag *diag)
{
	char	sv[SHOW_MAX * 4 + 4];
	size_t	i;
	int	rc = 0;

	for (i = 0; i < l->n; i++)
		if (!domain_entry_ok(l->v[i], strlen(l->v[i]))) {
			mtasts_diag_add(diag, 0, 0, "%s: %s entry '%s' is not "
			    "a domain or .domain", fname, name,
			    show(sv, sizeof(sv), l->v[i]));
			rc = -1;
		}
	return rc;
}

/* "domain:value" entries, value judged by parse (-1: not a value). */
static int
check_domain_pairs(const char *name, const struct mtasts_strlist *l,
    int (*parse)(const char *, size_t), const char *forms,
    const char *fname, struct mtasts_diag *diag)
{
	const char	*colon;
	char		 sv[SHOW_MAX * 4 + 4];
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < l->n; i++) {
		colon = strrchr(l->v[i], ':');
		if (colon == NULL || !domain_entry_ok(l->v[i],
		    (size_t)(colon - l->v[i])) ||
		    parse(colon + 1, strlen(colon + 1)) == -1) {
			mtasts_diag_add(diag, 0, 0, "%s: %s entry '%s' is not "
			    "%s", fname, name, show(sv, sizeof(sv), l->v[i]),
			    forms);
			rc = -1;
		}
	}
	return rc;
}

/*
 * Values the generic loader cannot judge: the entries of the domain lists,
 * "domain:action" pairs and the octal socket mode.  Checked here so that
 * "-n" reports them like any other mistake.
 */
static int
check_verdict_params(const struct mtasts_config *cfg, const char *fname,
    struct mtasts_diag *diag)
{
	const struct mtasts_strlist	*l = &cfg->domain_failure_action;
	const char			*m;
	char				 sv[SHOW_MAX * 4 + 4];
	size_t				 i;
	int				 rc = 0;

	if (check_domain_list("SkipDomains", &cfg->skip_domains, fname,
	    diag) == -1)
		rc = -1;
	if (check_domain_list("EnforceDomains", &cfg->enforce_domains, fname,
	    diag) == -1)
		rc = -1;
	if (check_domain_list("RoutedDomains", &cfg->routed_domains, fname,
	    diag) == -1)
		rc = -1;
	if (check_domain_pairs("DomainFailureAction", l,
	    mtasts_failure_action_parse, "domain:defer, domain:reject or "
	    "domain:bounce", fname, diag) == -1)
		rc = -1;
	if (check_domain_pairs("DomainDane", &cfg->domain_dane,
	    mtasts_dane_mode_parse, "domain:off, domain:opportunistic or "
	    "domain:mandatory", fname, diag) == -1)
		rc = -1;
	if (cfg->dane && cfg->trust_anchor_file == NULL &&
	    cfg->resolver_config == NULL) {
		/* Without a trust anchor nothing validates: DANE never applies. */
		mtasts_diag_add(diag, 0, 0, "%s: Dane yes needs DNSSEC "
		    "validation: set TrustAnchorFile (or trust anchors in "
		    "ResolverConfig)", fname);
		rc = -1;
	}
	if (cfg->mx_probe_min_interval > cfg->mx_probe_failure_cache_time) {
		mtasts_diag_add(diag, 0, 0, "%s: MxProbeMinInterval (%lds) is "
		    "longer than MxProbeFailureCacheTime (%lds)", fname,
		    cfg->mx_probe_min_interval,
		    cfg->mx_probe_failure_cache_time);
		rc = -1;
	}
	if ((m = cfg->milter_socket_mode) != NULL) {
		for (i = 0; m[i] >= '0' && m[i] <= '7'; i++)
			;
		if (i == 0 || i > 4 || m[i] != '\0') {
			mtasts_diag_add(diag, 0, 0, "%s: SocketMode '%s' is not "
			    "an octal mode such as 0660", fname,
			    show(sv, sizeof(sv), m));
			rc = -1;
		}
	}
	return rc;
}

int
mtasts_conf_parse_mode(const char *s, unsigned int *out)
{
	unsigned int	v = 0;
	size_t		i;

	for (i = 0; s[i] >= '0' && s[i] <= '7'; i++)
		v = v * 8 + (unsigned int)(s[i] - '0');
	if (i == 0 || i > 4 || s[i] != '\0')
		return -1;
	*out = v;
	return 0;
}

/* The daemon's values that the generic loader cannot judge. */
static int
check_daemon_params(const struct mtasts_config *cfg, const char *fname,
    struct mtasts_diag *diag)
{
	char		sv[SHOW_MAX * 4 + 4];
	unsigned int	mode;
	int		rc = 0;

	if (cfg->map_socket_mode != NULL &&
	    mtasts_conf_parse_mode(cfg->map_socket_mode, &mode) == -1) {
		mtasts_diag_add(diag, 0, 0, "%s: MapSocketMode '%s' is not an "
		    "octal mode such as 0660", fname,
		    show(sv, sizeof(sv), cfg->map_socket_mode));
		rc = -1;
	}
	if (cfg->user_id != NULL && (cfg->user_id[0] == '\0' ||
	    cfg->user_id[0] == ':')) {
		mtasts_diag_add(diag, 0, 0, "%s: UserID '%s' names no user",
		    fname, show(sv, sizeof(sv), cfg->user_id));
		rc = -1;
	}
	if (cfg->pid_file != NULL && cfg->pid_file[0] != '/') {
		mtasts_diag_add(diag, 0, 0, "%s: PidFile '%s' is not an absolute "
		    "path", fname, show(sv, sizeof(sv), cfg->pid_file));
		rc = -1;
	}
	return rc;
}

/* Defaults, then the file; the diag is the caller's, already initialised. */
static struct mtasts_config *
config_parse(const char *buf, size_t len, const char *fname,
    struct mtasts_diag *diag)
{
	struct mtasts_config	*cfg;
	int			 rc;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		mtasts_diag_add(diag, 0, 0, "%s: out of memory",
		    fname != NULL ? fname : "(config)");
		return NULL;
	}
	rc = mtasts_conf_defaults(mtasts_conf_defs, cfg, diag);
	if (mtasts_conf_apply(mtasts_conf_defs, cfg, buf, len, fname,
	    diag) == -1)
		rc = -1;
	if (rc == 0 && check_verdict_params(cfg,
	    fname != NULL ? fname : "(config)", diag) == -1)
		rc = -1;
	/* These values are independent of the rest: report them always. */
	if (check_daemon_params(cfg, fname != NULL ? fname : "(config)",
	    diag) == -1)
		rc = -1;
	if (rc == -1) {
		mtasts_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct mtasts_config *
mtasts_config_parse(const char *buf, size_t len, const char *fname,
    struct mtasts_diag *diag)
{
	mtasts_diag_init(diag);
	return config_parse(buf, len, fname, diag);
}

/*
 * Like OpenSMTPD's secure_file(): whoever can write the file decides which
 * domains are protected, so only root or our own user may.  Pipes and
 * devices (-c /dev/stdin) have no such owner to check.
 */
static int
check_file(const char *path, const struct stat *st, struct mtasts_diag *diag)
{
	if (S_ISDIR(st->st_mode)) {
		mtasts_diag_add(diag, 0, 0, "%s: is a directory", path);
		return -1;
	}
	if (!S_ISREG(st->st_mode))
		return 0;
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		mtasts_diag_add(diag, 0, 0, "%s: refusing a configuration file "
		    "writable by group or others", path);
		return -1;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		mtasts_diag_add(diag, 0, 0, "%s: refusing a configuration file "
		    "owned by uid %lu (neither root nor uid %lu)", path,
		    (unsigned long)st->st_uid, (unsigned long)geteuid());
		return -1;
	}
	return 0;
}

/* Read all of fd, at most CONF_FILE_MAX bytes; caller frees *out. */
static int
read_all(int fd, const char *path, char **out, size_t *outlen,
    struct mtasts_diag *diag)
{
	char	*buf = NULL, *nbuf;
	size_t	 len = 0, cap = 0;
	ssize_t	 r;

	for (;;) {
		if (len == cap) {
			if (cap > CONF_FILE_MAX) {
				mtasts_diag_add(diag, 0, 0, "%s: larger than "
				    "%d bytes", path, CONF_FILE_MAX);
				free(buf);
				return -1;
			}
			/* One byte past the limit tells "too big" apart. */
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > CONF_FILE_MAX + 1)
				cap = CONF_FILE_MAX + 1;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				mtasts_diag_add(diag, 0, 0, "%s: out of memory",
				    path);
				free(buf);
				return -1;
			}
			buf = nbuf;
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			mtasts_diag_add(diag, 0, 0, "%s: cannot read: %s", path,
			    strerror(errno));
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CONF_FILE_MAX) {
			mtasts_diag_add(diag, 0, 0, "%s: larger than %d bytes",
			    path, CONF_FILE_MAX);
			free(buf);
			return -1;
		}
	}
	*out = buf;
	*outlen = len;
	return 0;
}

struct mtasts_config *
mtasts_config_load(const char *path, struct mtasts_diag *diag)
{
	struct mtasts_config	*cfg;
	struct stat		 st;
	char			*buf = NULL;
	size_t			 len = 0;
	int			 fd, rc;

	mtasts_diag_init(diag);
	if (path == NULL) {
		mtasts_diag_add(diag, 0, 0, "no configuration file given");
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) == -1) {
		mtasts_diag_add(diag, 0, 0, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		mtasts_diag_add(diag, 0, 0, "%s: cannot stat: %s", path,
		    strerror(errno));
		(void)close(fd);
		return NULL;
	}
	rc = check_file(path, &st, diag);
	if (rc == 0)
		rc = read_all(fd, path, &buf, &len, diag);
	if (close(fd) == -1 && rc == 0) {
		mtasts_diag_add(diag, 0, 0, "%s: cannot close: %s", path,
		    strerror(errno));
		rc = -1;
	}
	if (rc == -1) {
		free(buf);
		return NULL;
	}
	cfg = config_parse(buf, len, path, diag);
	free(buf);
	if (cfg == NULL)
		return NULL;
	if ((cfg->path = strdup(path)) == NULL) {
		mtasts_diag_add(diag, 0, 0, "%s: out of memory", path);
		mtasts_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void
mtasts_config_log_setup(const struct mtasts_config *cfg, const char *ident,
    int foreground, struct mtasts_log_setup *out)
{
	int	fac = LOG_MAIL, lvl;

	(void)mtasts_log_facility_parse(facility_names[cfg->syslog_facility],
	    &fac);
	if (mtasts_log_level_parse(level_names[cfg->log_level], &lvl) == -1)
		lvl = LOG_INFO;
	out->ident = ident;
	out->use_syslog = cfg->syslog;
	out->facility = fac;
	out->use_stderr = foreground;
	out->level = lvl;
}
