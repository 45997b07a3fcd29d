-- queries.sql: questions an operator asks the policy store, as SQL.
--
-- Open the database read-only while the daemon runs, for example
--	sqlite3 -readonly -box /var/lib/mta-sts-milter/policies.db
-- and paste a query, or run the whole file:
--	sqlite3 -readonly -box /var/lib/mta-sts-milter/policies.db \
--	    < queries.sql
-- Times are shown in UTC.  The query on one domain reads the parameter
-- :domain; set it first in the sqlite3 shell:
--	.parameter set :domain example.com
-- tests/unit/test_store runs every query here against a fresh database.

-- Schema version of this database (sql/README, "Migrations").
PRAGMA user_version;

-- Which domains are enforced right now (what OpenSMTPD routes to its
-- verifying relay tls action), and until when?
SELECT domain, mode,
    strftime('%Y-%m-%dT%H:%M:%SZ', expires_at, 'unixepoch') AS expires
FROM enforced_domains ORDER BY domain;

-- The per-domain controls filter-mta-sts wrote at its last start.
SELECT pattern, control, source FROM domain_controls ORDER BY pattern;

-- How many policies are there per mode, valid and expired?
SELECT mode, state, count(*) AS domains
FROM policy_status
GROUP BY mode, state
ORDER BY mode, state;

-- What failed today (since 00:00 UTC)?
SELECT time, domain, result_class, http_status, detail
FROM failures_today
ORDER BY at;

-- Failures today, counted per class.
SELECT result_class, count(*) AS attempts, count(DISTINCT domain) AS domains
FROM failures_today
GROUP BY result_class
ORDER BY attempts DESC;

-- Which policies expire within a day (refresh overdue or failing)?
SELECT domain, mode, policy_id, expires, seconds_left, last_error_class
FROM policy_status
WHERE seconds_left BETWEEN 0 AND 86400
ORDER BY seconds_left;

-- Which cached policies could not be refreshed, and when is the next try?
SELECT domain, mode, state, last_error_time, last_error_class, last_error,
    next_retry
FROM policy_status
WHERE last_error IS NOT NULL
ORDER BY last_error_time DESC;

-- Which domains published a new TXT id in the last 7 days?  Compares each
-- successful fetch with the domain's previous one in fetch_log.
SELECT domain,
    strftime('%Y-%m-%dT%H:%M:%SZ', at, 'unixepoch') AS changed,
    previous_id, policy_id AS new_id
FROM (
	SELECT domain, at, policy_id,
	    lag(policy_id) OVER (PARTITION BY domain ORDER BY at, id)
		AS previous_id
	FROM fetch_log
	WHERE result_class = 'ok'
)
WHERE previous_id IS NOT NULL
    AND previous_id <> policy_id
    AND at >= CAST(strftime('%s', 'now', '-7 days') AS INTEGER)
ORDER BY at DESC;

-- The fetch history of one domain (set :domain first), newest first.
SELECT strftime('%Y-%m-%dT%H:%M:%SZ', at, 'unixepoch') AS time,
    policy_id, result_class, http_status, detail
FROM fetch_log
WHERE domain = :domain
ORDER BY at DESC, id DESC
LIMIT 50;

-- The cached policy of one domain, with its body (set :domain first).
SELECT domain, mode, policy_id, fetched, expires, txt_checked,
    last_error_class, last_error
FROM policy_status
WHERE domain = :domain;
SELECT policy_text FROM policies WHERE domain = :domain;

-- Which domains are remembered as having no usable policy, and why?
SELECT domain, reason_class, detail, policy_id,
    strftime('%Y-%m-%dT%H:%M:%SZ', created_at, 'unixepoch') AS since,
    strftime('%Y-%m-%dT%H:%M:%SZ', expires_at, 'unixepoch') AS until
FROM negative
WHERE expires_at > CAST(strftime('%s', 'now') AS INTEGER)
ORDER BY domain;

-- Attempts and failures per day over the last week.
SELECT date(at, 'unixepoch') AS day, count(*) AS attempts,
    sum(result_class <> 'ok') AS failures,
    count(DISTINCT domain) AS domains
FROM fetch_log
WHERE at >= CAST(strftime('%s', 'now', 'start of day', '-6 days')
    AS INTEGER)
GROUP BY day
ORDER BY day;

-- Which MX hosts failed their STARTTLS probe, and how (RFC 8460 types)?
SELECT host, addr, result_class, state, cert_names, cert_issuer, detail,
    probed
FROM mx_probe_status
WHERE result_class <> 'ok'
ORDER BY probed DESC;

-- Which MX certificates expire within 14 days?
SELECT host, cert_not_after, cert_issuer, probed
FROM mx_probe_status
WHERE result_class = 'ok'
    AND cert_not_after < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+14 days')
ORDER BY cert_not_after;
