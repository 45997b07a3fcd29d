-- schema.sql: the current schema of the mta-sts-milter policy store
-- (/var/lib/mta-sts-milter/policies.db), schema version 3.
--
-- This file is for reading and for building an empty database by hand:
--	sqlite3 policies.db < schema.sql
-- The daemon does not run it.  It applies sql/migrations/NNN-*.sql in order
-- (compiled in), and tests/unit/test_store checks that both ways give the
-- same tables, indexes and views.  Change it together with a new migration.
-- sql/README explains every table, column and view in prose.
--
-- Times are Unix seconds (UTC).  A NULL time means "never".

-- policies: valid policies fetched over HTTPS, one row per recipient
-- domain.  A policy stays here, unchanged, until a newer one is fetched
-- or it has been expired for longer than the pruning window: a failed
-- refresh or a vanished TXT record only fills the last_error columns
-- (RFC 8461 section 3.3 and 5.1).
CREATE TABLE policies (
	-- A-label, lower case, no trailing dot
	domain		TEXT PRIMARY KEY NOT NULL
			CONSTRAINT domain_form
			CHECK (length(domain) BETWEEN 1 AND 253 AND
			    domain NOT GLOB '*[^a-z0-9.-]*'),
	-- "id" of the _mta-sts TXT record this policy was fetched for
	policy_id	TEXT NOT NULL
			CONSTRAINT policy_id_length
			CHECK (length(policy_id) <= 32),
	mode		TEXT NOT NULL
			CONSTRAINT mode_name
			CHECK (mode IN ('none', 'testing', 'enforce')),
	-- seconds, as published (at most one year)
	max_age		INTEGER NOT NULL
			CONSTRAINT max_age_range
			CHECK (max_age BETWEEN 0 AND 31557600),
	-- the mx patterns, one per line, lower case
	mx		TEXT NOT NULL DEFAULT '',
	-- the policy body exactly as served
	policy_text	TEXT NOT NULL DEFAULT '',
	-- time of the successful fetch
	fetched_at	INTEGER NOT NULL,
	-- fetched_at + max_age, or earlier when a local cap applies
	expires_at	INTEGER NOT NULL
			CONSTRAINT expires_within_max_age
			CHECK (expires_at <= fetched_at + max_age),
	-- last time the TXT record was seen with this policy_id
	txt_checked_at	INTEGER,
	-- the last failed refresh, cleared by the next successful fetch
	last_error	TEXT,
	last_error_class TEXT,
	last_error_at	INTEGER,
	-- do not try to refresh before this time (RFC 8461 section 3.3)
	next_retry_at	INTEGER
);
CREATE INDEX policies_expires_at ON policies (expires_at);

-- negative: domains that have no usable policy right now, each for a
-- bounded time: no TXT record, a broken one, or a fetch that failed with
-- no cached policy to fall back on.
CREATE TABLE negative (
	domain		TEXT PRIMARY KEY NOT NULL
			CONSTRAINT domain_form
			CHECK (length(domain) BETWEEN 1 AND 253 AND
			    domain NOT GLOB '*[^a-z0-9.-]*'),
	-- no-txt, bad-txt, multi-txt, dns, connect, certificate,
	-- http-status, media-type, size, timeout, parse, ...
	reason_class	TEXT NOT NULL
			CONSTRAINT reason_class_set
			CHECK (reason_class <> ''),
	detail		TEXT,
	-- the TXT id whose policy could not be fetched, else NULL
	policy_id	TEXT
			CONSTRAINT policy_id_length
			CHECK (length(policy_id) <= 32),
	created_at	INTEGER NOT NULL,
	-- ask again from this time on
	expires_at	INTEGER NOT NULL
			CONSTRAINT expires_after_created
			CHECK (expires_at >= created_at)
);
CREATE INDEX negative_expires_at ON negative (expires_at);

-- fetch_log: one row per discovery or fetch attempt, kept for a while.
CREATE TABLE fetch_log (
	id		INTEGER PRIMARY KEY,
	domain		TEXT NOT NULL,
	at		INTEGER NOT NULL,
	policy_id	TEXT,
	-- 'ok' or a failure class as in negative.reason_class
	result_class	TEXT NOT NULL
			CONSTRAINT result_class_set
			CHECK (result_class <> ''),
	-- HTTP status when a response arrived, else NULL
	http_status	INTEGER,
	detail		TEXT
);
CREATE INDEX fetch_log_at ON fetch_log (at);
CREATE INDEX fetch_log_domain_at ON fetch_log (domain, at);

-- domain_controls: the operator's per-domain controls (EnforceDomains,
-- SkipDomains, RoutedDomains) as filter-mta-sts last read them from its
-- configuration; enforced_domains applies them.
CREATE TABLE domain_controls (
	-- "example.com" matches that name, ".example.com" every name below
	-- it (not example.com itself); lower case
	pattern		TEXT PRIMARY KEY NOT NULL
			CONSTRAINT pattern_form
			CHECK (length(pattern) BETWEEN 1 AND 254 AND
			    pattern NOT GLOB '*[^a-z0-9.-]*'),
	-- 'enforce' (EnforceDomains) or 'skip' (SkipDomains, RoutedDomains)
	control		TEXT NOT NULL
			CONSTRAINT control_name
			CHECK (control IN ('enforce', 'skip')),
	-- the configuration parameter it came from
	source		TEXT NOT NULL,
	updated_at	INTEGER NOT NULL
);

-- enforced_domains: domains whose mail must leave only over verified TLS:
-- an unexpired policy in enforce mode, or in testing mode under an
-- enforce control, and no skip control.  OpenSMTPD's table-sqlite reads
-- it, and filter-mta-sts asks the same question before it lets such a
-- recipient through:
--   query_domain SELECT domain FROM enforced_domains WHERE domain = lower(?);
CREATE VIEW enforced_domains AS
	SELECT p.domain AS domain, p.mode AS mode, p.expires_at AS expires_at
	FROM policies AS p
	WHERE p.expires_at > CAST(strftime('%s', 'now') AS INTEGER)
	    AND p.mode IN ('enforce', 'testing')
	    AND NOT EXISTS (SELECT 1 FROM domain_controls AS c
		WHERE c.control = 'skip' AND (c.pattern = p.domain OR
		    (substr(c.pattern, 1, 1) = '.' AND
		    length(p.domain) > length(c.pattern) AND
		    substr(p.domain, -length(c.pattern)) = c.pattern)))
	    AND (p.mode = 'enforce' OR EXISTS (SELECT 1
		FROM domain_controls AS c
		WHERE c.control = 'enforce' AND (c.pattern = p.domain OR
		    (substr(c.pattern, 1, 1) = '.' AND
		    length(p.domain) > length(c.pattern) AND
		    substr(p.domain, -length(c.pattern)) = c.pattern))));

-- policy_status: the policies table for people, times in ISO 8601 UTC.
CREATE VIEW policy_status AS
	SELECT domain, mode, policy_id, max_age,
	    CASE WHEN expires_at > CAST(strftime('%s', 'now') AS INTEGER)
		THEN 'valid' ELSE 'expired' END AS state,
	    strftime('%Y-%m-%dT%H:%M:%SZ', fetched_at, 'unixepoch')
		AS fetched,
	    strftime('%Y-%m-%dT%H:%M:%SZ', expires_at, 'unixepoch')
		AS expires,
	    expires_at - CAST(strftime('%s', 'now') AS INTEGER)
		AS seconds_left,
	    strftime('%Y-%m-%dT%H:%M:%SZ', txt_checked_at, 'unixepoch')
		AS txt_checked,
	    last_error_class,
	    last_error,
	    strftime('%Y-%m-%dT%H:%M:%SZ', last_error_at, 'unixepoch')
		AS last_error_time,
	    strftime('%Y-%m-%dT%H:%M:%SZ', next_retry_at, 'unixepoch')
		AS next_retry
	FROM policies;

-- failures_today: failed attempts since 00:00 UTC.
CREATE VIEW failures_today AS
	SELECT strftime('%Y-%m-%dT%H:%M:%SZ', at, 'unixepoch') AS time,
	    domain, policy_id, result_class, http_status, detail, at
	FROM fetch_log
	WHERE result_class <> 'ok'
	    AND at >= CAST(strftime('%s', 'now', 'start of day') AS INTEGER);

-- mx_probes: the last STARTTLS probe of each MX host (RFC 8461 section 4,
-- result classes of RFC 8460 section 4.3), one row per host name; the
-- daemon reloads them at start-up, so a restart does not re-probe.
CREATE TABLE mx_probes (
	-- MX host name, lower case, no trailing dot
	host		TEXT PRIMARY KEY NOT NULL
			CONSTRAINT host_form
			CHECK (length(host) BETWEEN 1 AND 253 AND
			    host NOT GLOB '*[^a-z0-9._-]*'),
	-- the address probed last, and the port
	addr		TEXT,
	port		INTEGER,
	-- 'ok', an RFC 8460 result type (starttls-not-supported,
	-- certificate-host-mismatch, certificate-expired,
	-- certificate-not-trusted, validation-failure), or connect,
	-- timeout, protocol, internal, no-address, dns-*
	result_class	TEXT NOT NULL
			CONSTRAINT result_class_set
			CHECK (result_class <> ''),
	-- the last SMTP reply code read, OpenSSL's X509_V_ERR_* code
	smtp_code	INTEGER,
	verify_error	INTEGER,
	tls_version	TEXT,
	tls_cipher	TEXT,
	-- the certificate's DNS subjectAltNames, comma-separated
	cert_names	TEXT,
	cert_subject	TEXT,
	cert_issuer	TEXT,
	-- notAfter, ISO 8601 UTC
	cert_not_after	TEXT,
	detail		TEXT,
	probed_at	INTEGER NOT NULL,
	-- probe again after this time (shorter for failures)
	expires_at	INTEGER NOT NULL
			CONSTRAINT expires_after_probe
			CHECK (expires_at >= probed_at)
);
CREATE INDEX mx_probes_expires_at ON mx_probes (expires_at);

-- mx_probe_status: mx_probes for people, times in ISO 8601 UTC.
CREATE VIEW mx_probe_status AS
	SELECT host, addr, port, result_class,
	    CASE WHEN expires_at > CAST(strftime('%s', 'now') AS INTEGER)
		THEN 'valid' ELSE 'expired' END AS state,
	    tls_version, tls_cipher, cert_names, cert_issuer, cert_not_after,
	    detail,
	    strftime('%Y-%m-%dT%H:%M:%SZ', probed_at, 'unixepoch') AS probed,
	    strftime('%Y-%m-%dT%H:%M:%SZ', expires_at, 'unixepoch') AS expires
	FROM mx_probes;

PRAGMA user_version = 3;
