-- 002-routing.sql: what OpenSMTPD routes to its verifying "relay tls"
-- action.
--
-- Version 1 listed only domains whose own policy is in enforce mode.  The
-- operator's per-domain controls change that: EnforceDomains enforces a
-- testing policy, SkipDomains and RoutedDomains take a domain out of
-- MTA-STS altogether.  filter-mta-sts writes those entries into
-- domain_controls when it starts, so that the view smtpd reads through
-- table-sqlite routes exactly the recipients that the filter judged under
-- enforce.  sql/README explains both.

-- The operator's per-domain controls, as filter-mta-sts last read them.
CREATE TABLE domain_controls (
	-- "example.com" matches that name, ".example.com" every name below
	-- it (not example.com itself); lower case
	pattern		TEXT PRIMARY KEY NOT NULL
			CONSTRAINT pattern_form
			CHECK (length(pattern) BETWEEN 1 AND 254 AND
			    pattern NOT GLOB '*[^a-z0-9.-]*'),
	control		TEXT NOT NULL
			CONSTRAINT control_name
			CHECK (control IN ('enforce', 'skip')),
	-- the configuration parameter it came from
	source		TEXT NOT NULL,
	updated_at	INTEGER NOT NULL
);

-- Domains whose mail must leave only over verified TLS: an unexpired
-- policy in enforce mode, or in testing mode under an enforce control,
-- and no skip control.  table-sqlite asks
--   query_domain SELECT domain FROM enforced_domains WHERE domain = lower(?);
DROP VIEW enforced_domains;
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

PRAGMA user_version = 2;
