/*
 * test_dane.c: the pure decisions behind DANE precedence and MX probing,
 * table-driven: TLSA usability (RFC 7672 §3.1), one host's DNSSEC state
 * (§2.2.2), the domain outcome (§2.2.1; RFC 8461 §2, STS-01), DomainDane,
 * the meaning of probe result classes (RFC 8460 §4.3, RPT-11), the
 * summary over the matching MX hosts, result lifetimes, and the map reply
 * when DANE decides.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "dane.h"
#include "engine.h"
#include "mapreply.h"
#include "mxcheck.h"
#include "resolver.h"
#include "check.h"

static void
test_tlsa(void)
{
	static const struct {
		unsigned int	 u, s, m;
		size_t		 len;
		int		 usable;
		const char	*what;
	} rows[] = {
		{ 3, 1, 1, 32, 1, "DANE-EE SPKI SHA2-256" },
		{ 3, 0, 1, 32, 1, "DANE-EE full cert SHA2-256" },
		{ 2, 0, 1, 32, 1, "DANE-TA SHA2-256" },
		{ 3, 1, 2, 64, 1, "DANE-EE SHA2-512" },
		{ 3, 1, 0, 91, 1, "DANE-EE full SPKI" },
		{ 0, 0, 1, 32, 0, "PKIX-TA not usable for SMTP (RFC 7672 3.1.3)" },
		{ 1, 0, 1, 32, 0, "PKIX-EE not usable for SMTP" },
		{ 4, 1, 1, 32, 0, "unknown usage" },
		{ 3, 2, 1, 32, 0, "unknown selector" },
		{ 3, 1, 3, 32, 0, "unknown matching type" },
		{ 3, 1, 1, 31, 0, "SHA2-256 of the wrong length" },
		{ 3, 1, 2, 32, 0, "SHA2-512 of the wrong length" },
	};
	struct mtasts_tlsa	t;
	unsigned char		rd[128];
	size_t			i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(rd, 0xab, sizeof(rd));
		rd[0] = (unsigned char)rows[i].u;
		rd[1] = (unsigned char)rows[i].s;
		rd[2] = (unsigned char)rows[i].m;
		CHECK(mtasts_tlsa_parse(rd, 3 + rows[i].len, &t) == 0 &&
		    mtasts_tlsa_usable(&t) == rows[i].usable, "TLSA %s: %s",
		    rows[i].what, rows[i].usable ? "usable" : "unusable");
	}
	CHECK(mtasts_tlsa_parse(rd, 3, &t) == -1, "TLSA without data refused");
	CHECK(mtasts_tlsa_parse(NULL, 0, &t) == -1, "TLSA NULL refused");
}

static void
test_host_state(void)
{
	static const struct {
		enum mtasts_dns_rcode	 addr;
		int			 addr_sec;
		enum mtasts_dns_rcode	 tlsa;
		int			 tlsa_sec;
		size_t			 usable;
		enum mtasts_dane_host	 want;
		const char		*what;
	} rows[] = {
		{ MTASTS_DNS_OK, 1, MTASTS_DNS_OK, 1, 1,
		    MTASTS_DANE_HOST_USABLE, "secure address, secure TLSA" },
		{ MTASTS_DNS_OK, 1, MTASTS_DNS_OK, 1, 0,
		    MTASTS_DANE_HOST_UNUSABLE, "secure TLSA, none usable" },
		{ MTASTS_DNS_OK, 1, MTASTS_DNS_OK, 0, 1,
		    MTASTS_DANE_HOST_NONE, "insecure TLSA is ignored" },
		{ MTASTS_DNS_OK, 0, MTASTS_DNS_OK, 1, 1,
		    MTASTS_DANE_HOST_NONE, "insecure address: no DANE "
		    "(RFC 7672 2.2.2)" },
		{ MTASTS_DNS_OK, 1, MTASTS_DNS_NXDOMAIN, 1, 0,
		    MTASTS_DANE_HOST_NONE, "secure denial of TLSA" },
		{ MTASTS_DNS_OK, 1, MTASTS_DNS_NODATA, 1, 0,
		    MTASTS_DANE_HOST_NONE, "TLSA NODATA" },
		{ MTASTS_DNS_OK, 1, MTASTS_DNS_BOGUS, 0, 0,
		    MTASTS_DANE_HOST_BOGUS, "bogus TLSA is never 'no DANE'" },
		{ MTASTS_DNS_BOGUS, 0, MTASTS_DNS_OK, 1, 1,
		    MTASTS_DANE_HOST_BOGUS, "bogus address" },
		{ MTASTS_DNS_OK, 1, MTASTS_DNS_SERVFAIL, 0, 0,
		    MTASTS_DANE_HOST_TEMP, "TLSA SERVFAIL" },
		{ MTASTS_DNS_OK, 1, MTASTS_DNS_TIMEOUT, 0, 0,
		    MTASTS_DANE_HOST_TEMP, "TLSA timeout" },
		{ MTASTS_DNS_SERVFAIL, 0, MTASTS_DNS_OK, 1, 1,
		    MTASTS_DANE_HOST_TEMP, "address SERVFAIL" },
		{ MTASTS_DNS_NXDOMAIN, 1, MTASTS_DNS_NXDOMAIN, 1, 0,
		    MTASTS_DANE_HOST_NONE, "host without address" },
	};
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(mtasts_dane_host_state(rows[i].addr, rows[i].addr_sec,
		    rows[i].tlsa, rows[i].tlsa_sec, rows[i].usable) ==
		    rows[i].want, "host: %s -> %s", rows[i].what,
		    mtasts_dane_host_str(rows[i].want));
}

#define U	MTASTS_DANE_HOST_USABLE
#define N	MTASTS_DANE_HOST_NONE
#define X	MTASTS_DANE_HOST_UNUSABLE
#define B	MTASTS_DANE_HOST_BOGUS
#define P	MTASTS_DANE_HOST_PENDING
#define T	MTASTS_DANE_HOST_TEMP

static void
test_decide(void)
{
	static const struct {
		enum mtasts_dns_rcode		 mx;
		int				 sec;
		enum mtasts_dane_host		 h[3];
		size_t				 n;
		enum mtasts_dane_outcome	 want;
		const char			*reason, *what;
	} rows[] = {
		{ MTASTS_DNS_OK, 1, { U }, 1, MTASTS_DANE_APPLIES,
		    "tlsa-usable", "STS-01: secure usable TLSA: DANE wins" },
		{ MTASTS_DNS_OK, 1, { N, U }, 2, MTASTS_DANE_APPLIES,
		    "tlsa-usable", "one host of two with TLSA" },
		{ MTASTS_DNS_OK, 0, { U }, 1, MTASTS_DANE_NOT_APPLICABLE,
		    "mx-insecure", "insecure MX RRset (RFC 7672 2.2.1)" },
		{ MTASTS_DNS_NODATA, 1, { U }, 1, MTASTS_DANE_APPLIES,
		    "tlsa-usable", "implicit MX, secure" },
		{ MTASTS_DNS_OK, 1, { N, N }, 2, MTASTS_DANE_NOT_APPLICABLE,
		    "no-usable-tlsa", "signed, no TLSA: MTA-STS applies" },
		{ MTASTS_DNS_OK, 1, { X }, 1, MTASTS_DANE_NOT_APPLICABLE,
		    "no-usable-tlsa", "only unusable TLSA" },
		{ MTASTS_DNS_OK, 1, { U, B }, 2, MTASTS_DANE_TEMPFAIL,
		    "tlsa-bogus", "a bogus host wins over a usable one" },
		{ MTASTS_DNS_BOGUS, 0, { U }, 1, MTASTS_DANE_TEMPFAIL,
		    "mx-bogus", "bogus MX RRset: temporary" },
		{ MTASTS_DNS_SERVFAIL, 0, { N }, 0, MTASTS_DANE_TEMPFAIL,
		    "mx-servfail", "MX SERVFAIL" },
		{ MTASTS_DNS_NXDOMAIN, 1, { N }, 0, MTASTS_DANE_NOT_APPLICABLE,
		    "mx-nxdomain", "no such domain" },
		{ MTASTS_DNS_OK, 1, { N, P }, 2, MTASTS_DANE_PENDING,
		    "pending", "an answer outstanding" },
		{ MTASTS_DNS_OK, 1, { U, P }, 2, MTASTS_DANE_APPLIES,
		    "tlsa-usable", "usable decides before the rest is in" },
		{ MTASTS_DNS_OK, 1, { N, T }, 2, MTASTS_DANE_TEMPFAIL,
		    "tlsa-temp", "a failed TLSA look-up" },
		{ MTASTS_DNS_OK, 1, { N }, 0, MTASTS_DANE_NOT_APPLICABLE,
		    "no-usable-tlsa", "no hosts (null MX)" },
	};
	char	reason[32];
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum mtasts_dane_outcome	o;

		o = mtasts_dane_decide(rows[i].mx, rows[i].sec, rows[i].h,
		    rows[i].n, reason, sizeof(reason));
		CHECK(o == rows[i].want && strcmp(reason, rows[i].reason) == 0,
		    "decide: %s -> %s %s", rows[i].what,
		    mtasts_dane_outcome_str(rows[i].want), rows[i].reason);
		if (o != rows[i].want || strcmp(reason, rows[i].reason) != 0)
			printf("#   got %s %s\n", mtasts_dane_outcome_str(o),
			    reason);
	}
}

static void
test_modes(void)
{
	struct mtasts_config	*cfg;
	struct mtasts_diag	 diag;
	const char		*text = "Dane yes\nTrustAnchorFile /ta\nDomainDane "
	    "must.test:mandatory, .off.test:off, a.off.test:opportunistic\n";

	mtasts_diag_init(&diag);
	cfg = mtasts_config_parse(text, strlen(text), "t", &diag);
	CHECK(cfg != NULL, "DomainDane parses");
	if (cfg == NULL)
		return;
	CHECK(mtasts_dane_mode_for(cfg, "must.test") == MTASTS_DANE_MANDATORY,
	    "DomainDane mandatory");
	CHECK(mtasts_dane_mode_for(cfg, "x.off.test") == MTASTS_DANE_OFF,
	    "DomainDane .domain off");
	CHECK(mtasts_dane_mode_for(cfg, "a.off.test") ==
	    MTASTS_DANE_OPPORTUNISTIC, "exact entry beats the suffix");
	CHECK(mtasts_dane_mode_for(cfg, "other.test") ==
	    MTASTS_DANE_OPPORTUNISTIC, "default opportunistic");
	cfg->dane = 0;
	CHECK(mtasts_dane_mode_for(cfg, "must.test") == MTASTS_DANE_OFF,
	    "Dane no: off everywhere");
	mtasts_config_free(cfg);

	text = "Dane yes\n";
	mtasts_diag_init(&diag);
	cfg = mtasts_config_parse(text, strlen(text), "t", &diag);
	CHECK(cfg == NULL && strstr(mtasts_diag_first(&diag),
	    "TrustAnchorFile") != NULL, "Dane yes without a trust anchor is "
	    "refused");
	mtasts_config_free(cfg);

	text = "DomainDane example.test:sometimes\n";
	mtasts_diag_init(&diag);
	cfg = mtasts_config_parse(text, strlen(text), "t", &diag);
	CHECK(cfg == NULL, "DomainDane with a bad mode is refused");
	mtasts_config_free(cfg);
	text = "MxProbeMinInterval 10m\nMxProbeFailureCacheTime 5m\n";
	mtasts_diag_init(&diag);
	cfg = mtasts_config_parse(text, strlen(text), "t", &diag);
	CHECK(cfg == NULL, "MxProbeMinInterval longer than the failure "
	    "lifetime is refused");
	mtasts_config_free(cfg);
}

static void
test_probe_states(void)
{
	static const struct {
		const char			*cls;
		enum mtasts_mxprobe_state	 want;
	} rows[] = {
		{ "ok", MTASTS_MXPROBE_PASS },
		{ "starttls-not-supported", MTASTS_MXPROBE_TLS_FAIL },
		{ "certificate-host-mismatch", MTASTS_MXPROBE_TLS_FAIL },
		{ "certificate-expired", MTASTS_MXPROBE_TLS_FAIL },
		{ "certificate-not-trusted", MTASTS_MXPROBE_TLS_FAIL },
		{ "validation-failure", MTASTS_MXPROBE_TLS_FAIL },
		{ "connect", MTASTS_MXPROBE_INCONCLUSIVE },
		{ "timeout", MTASTS_MXPROBE_INCONCLUSIVE },
		{ "protocol", MTASTS_MXPROBE_INCONCLUSIVE },
		{ "internal", MTASTS_MXPROBE_INCONCLUSIVE },
		{ "no-address", MTASTS_MXPROBE_INCONCLUSIVE },
		{ "dns-bogus", MTASTS_MXPROBE_INCONCLUSIVE },
		{ "", MTASTS_MXPROBE_PENDING },
	};
#define PS	MTASTS_MXPROBE_PASS
#define PF	MTASTS_MXPROBE_TLS_FAIL
#define PI	MTASTS_MXPROBE_INCONCLUSIVE
#define PP	MTASTS_MXPROBE_PENDING
	static const struct {
		enum mtasts_mxprobe_state	 s[3];
		size_t				 n;
		enum mtasts_mxprobe_state	 want;
		const char			*what;
	} sums[] = {
		{ { PF, PS }, 2, PS, "one passes: accept" },
		{ { PF, PF }, 2, PF, "every one fails TLS: cannot be satisfied" },
		{ { PF }, 1, PF, "the only MX fails TLS" },
		{ { PF, PI }, 2, PI, "one only unreachable: inconclusive" },
		{ { PF, PP }, 2, PP, "one still running: pending" },
		{ { PI, PP }, 2, PI, "inconclusive beats pending" },
		{ { PP, PS }, 2, PS, "a pass decides while others run" },
		{ { PF }, 0, PP, "no hosts" },
	};
	size_t	i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(mtasts_mxprobe_state_of(rows[i].cls) == rows[i].want,
		    "RPT-11 class \"%s\" means %s", rows[i].cls,
		    mtasts_mxprobe_state_str(rows[i].want));
	for (i = 0; i < sizeof(sums) / sizeof(sums[0]); i++)
		CHECK(mtasts_mxprobe_summary(sums[i].s, sums[i].n) ==
		    sums[i].want, "summary: %s", sums[i].what);

	CHECK(mtasts_mxprobe_ttl("ok", 3600, 300, 60) == 3600,
	    "a pass is kept MxProbeCacheTime");
	CHECK(mtasts_mxprobe_ttl("certificate-expired", 3600, 300, 60) == 300,
	    "a TLS failure is kept MxProbeFailureCacheTime");
	CHECK(mtasts_mxprobe_ttl("connect", 3600, 300, 60) == 120,
	    "a transient failure at most 2m");
	CHECK(mtasts_mxprobe_ttl("connect", 3600, 30, 60) == 60,
	    "never shorter than MxProbeMinInterval");
}

static void
test_map(void)
{
	static const struct {
		int				 mode;
		enum mtasts_dane_outcome	 o;
		int				 capable, enforce;
		int				 decided;
		const char			*reply, *what;
	} rows[] = {
		{ MTASTS_DANE_OPPORTUNISTIC, MTASTS_DANE_APPLIES, 1, 1, 1,
		    "OK dane-only", "STS-01: DANE wins over enforce" },
		{ MTASTS_DANE_OPPORTUNISTIC, MTASTS_DANE_APPLIES, 0, 1, 1,
		    "TEMP DANE applies; this MTA cannot verify DANE",
		    "Sendmail (no DANE): TEMP, not the MTA-STS reply" },
		{ MTASTS_DANE_OPPORTUNISTIC, MTASTS_DANE_TEMPFAIL, 1, 0, 1,
		    "TEMP DANE lookup failed: tlsa-bogus", "bogus: TEMP" },
		{ MTASTS_DANE_OPPORTUNISTIC, MTASTS_DANE_PENDING, 1, 1, 1,
		    "TEMP DANE lookup in progress", "enforce domain, pending" },
		{ MTASTS_DANE_OPPORTUNISTIC, MTASTS_DANE_PENDING, 1, 0, 0,
		    "", "no policy, pending: the MTA's own level" },
		{ MTASTS_DANE_OPPORTUNISTIC, MTASTS_DANE_NOT_APPLICABLE, 1, 1,
		    0, "", "unsigned: MTA-STS decides" },
		{ MTASTS_DANE_MANDATORY, MTASTS_DANE_NOT_APPLICABLE, 1, 0, 1,
		    "TEMP DANE required but not available: no-usable-tlsa",
		    "mandatory without DANE" },
		{ MTASTS_DANE_MANDATORY, MTASTS_DANE_PENDING, 1, 0, 1,
		    "TEMP DANE lookup in progress", "mandatory, pending" },
		{ MTASTS_DANE_OFF, MTASTS_DANE_APPLIES, 1, 1, 0, "",
		    "off: never" },
	};
	struct mtasts_dane_answer	 d;
	struct mtasts_buf		 out;
	enum mtasts_mapreply_kind	 k;
	size_t				 i;
	int				 r;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&d, 0, sizeof(d));
		d.outcome = rows[i].o;
		(void)snprintf(d.reason, sizeof(d.reason), "%s",
		    rows[i].o == MTASTS_DANE_TEMPFAIL ? "tlsa-bogus" :
		    "no-usable-tlsa");
		mtasts_buf_init(&out, 1024);
		r = mtasts_mapreply_dane(rows[i].mode, &d, rows[i].capable,
		    rows[i].enforce, &out, &k);
		CHECK(r == rows[i].decided && (!r || (out.data != NULL &&
		    strcmp(out.data, rows[i].reply) == 0)), "map: %s",
		    rows[i].what);
		if (r && out.data != NULL && strcmp(out.data, rows[i].reply))
			printf("#   got \"%s\"\n", out.data);
		mtasts_buf_free(&out);
	}
}

int
main(void)
{
	test_tlsa();
	test_host_state();
	test_decide();
	test_modes();
	test_probe_states();
	test_map();
	return check_done();
}
