-- 001-initial.sql: the first schema of the mta-sts-milter policy store.
--
-- Applied by common/store.c inside one transaction when the database's
-- user_version is 0.  A migration never changes after a release: add a new
-- numbered file instead.  The last statement sets user_version; the store
-- checks that it did.  sql/README explains every table, column and view.

-- Valid policies fetched over HTTPS (RFC 8461 section 3.3), one row per
-- domain.
CREATE TABLE policies (
	domain		TEXT PRIMARY KEY NOT NULL
			CONSTRAINT domain_form
			CHECK (length(domain) BETWEEN 1 AND 253 AND
			    domain NOT GLOB '*[^a-z0-9.-]*'),
	policy_id	TEXT NOT NULL
			CONSTRAINT policy_id_length
			CHECK (length(policy_id) <= 32),
	mode		TEXT NOT NULL
			CONSTRAINT mode_name
			CHECK (mode IN ('none', 'testing', 'enforce')),
	max_age		INTEGER NOT NULL
			CONSTRAINT max_age_range
			CHECK (max_age BETWEEN 0 AND 31557600),
	mx		TEXT NOT NULL DEFAULT '',
	policy_text	TEXT NOT NULL DEFAULT '',
	fetched_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL
			CONSTRAINT expires_within_max_age
			CHECK (expires_at <= fetched_at + max_age),
	txt_checked_at	INTEGER,
	last_error	TEXT,
	last_error_class TEXT,
	last_error_at	INTEGER,
	next_retry_at	INTEGER
);
CREATE INDEX policies_expires_at ON policies (expires_at);

-- Domains without a usable policy, each for a bounded time.
CREATE TABLE negative (
	domain		TEXT PRIMARY KEY NOT NULL
			CONSTRAINT domain_form
			CHECK (length(domain) BETWEEN 1 AND 253 AND
			    domain NOT GLOB '*[^a-z0-9.-]*'),
	reason_class	TEXT NOT NULL
			CONSTRAINT reason_class_set
			CHECK (reason_class <> ''),
	detail		TEXT,
	policy_id	TEXT
			CONSTRAINT policy_id_length
			CHECK (length(policy_id) <= 32),
	created_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL
			CONSTRAINT expires_after_created
			CHECK (expires_at >= created_at)
);
CREATE INDEX negative_expires_at ON negative (expires_at);

-- Every discovery and fetch attempt, pruned by age.
CREATE TABLE fetch_log (
	id		INTEGER PRIMARY KEY,
	domain		TEXT NOT NULL,
	at		INTEGER NOT NULL,
	policy_id	TEXT,
	result_class	TEXT NOT NULL
			CONSTRAINT result_class_set
			CHECK (result_class <> ''),
	http_status	INTEGER,
	detail		TEXT
);
CREATE INDEX fetch_log_at ON fetch_log (at);
CREATE INDEX fetch_log_domain_at ON fetch_log (domain, at);

-- What OpenSMTPD's table-sqlite asks:
--   query_domain SELECT domain FROM enforced_domains WHERE domain=?;
CREATE VIEW enforced_domains AS
	SELECT domain FROM policies
	WHERE mode = 'enforce'
	    AND expires_at > CAST(strftime('%s', 'now') AS INTEGER);

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

CREATE VIEW failures_today AS
	SELECT strftime('%Y-%m-%dT%H:%M:%SZ', at, 'unixepoch') AS time,
	    domain, policy_id, result_class, http_status, detail, at
	FROM fetch_log
	WHERE result_class <> 'ok'
	    AND at >= CAST(strftime('%s', 'now', 'start of day') AS INTEGER);

PRAGMA user_version = 1;
