-- 003-mx-probes.sql: the STARTTLS probes of MX hosts (RFC 8461 section 4;
-- result classes of RFC 8460 section 4.3).
--
-- Applied by common/store.c inside one transaction when the database's
-- user_version is below 3.  A migration never changes after a release: add
-- a new numbered file instead.  sql/README explains every column.

-- mx_probes: the last probe of each MX host, one row per host name.
CREATE TABLE mx_probes (
	host		TEXT PRIMARY KEY NOT NULL
			CONSTRAINT host_form
			CHECK (length(host) BETWEEN 1 AND 253 AND
			    host NOT GLOB '*[^a-z0-9._-]*'),
	addr		TEXT,
	port		INTEGER,
	result_class	TEXT NOT NULL
			CONSTRAINT result_class_set
			CHECK (result_class <> ''),
	smtp_code	INTEGER,
	verify_error	INTEGER,
	tls_version	TEXT,
	tls_cipher	TEXT,
	cert_names	TEXT,
	cert_subject	TEXT,
	cert_issuer	TEXT,
	cert_not_after	TEXT,
	detail		TEXT,
	probed_at	INTEGER NOT NULL,
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
