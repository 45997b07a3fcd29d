/*
 * conf.h: mta-sts-milter.conf, "Name value" lines in the style of
 * opendkim.conf, read by one generic loader from one table of parameters.
 */
#ifndef MTASTS_CONF_H
#define MTASTS_CONF_H

#include <stddef.h>

#include "status.h"

enum mtasts_conf_type {
	MTASTS_CONF_BOOL,	/* yes/no/true/false/on/off/1/0 -> int */
	MTASTS_CONF_INT,	/* decimal, within [min, max] -> long */
	MTASTS_CONF_DURATION,	/* 30, 30s, 5m, 1h, 2d, 1w -> long seconds */
	MTASTS_CONF_SIZE,	/* 512, 64k, 1m -> size_t bytes */
	MTASTS_CONF_STRING,	/* rest of the line -> char * (owned) */
	MTASTS_CONF_LIST,	/* comma/space separated -> struct mtasts_strlist */
	MTASTS_CONF_ENUM	/* one of choices[] -> int index */
};

struct mtasts_strlist {
	size_t	  n;
	char	**v;		/* owned */
};

/* One parameter: the single place that declares its name, type and default. */
struct mtasts_conf_def {
	const char		 *name;		/* CamelCase, matched ignoring case */
	enum mtasts_conf_type	  type;
	size_t			  offset;	/* of the field in the target struct */
	const char		 *defval;	/* text parsed like a file value; NULL: unset */
	long			  min, max;	/* INT, DURATION, SIZE bounds (max 0: none) */
	const char *const	 *choices;	/* ENUM: NULL-terminated names */
	int			  reloadable;	/* SIGHUP may change it */
};

/*
 * The daemon's settings.  Fields are filled from mtasts_conf_defs[]; strings
 * and lists are owned by the struct and NULL (or empty) when unset.
 * Durations are in seconds.
 */
struct mtasts_config {
	char		*path;		/* file it was read from, or NULL */
	/* logging */
	int		 syslog;
	int		 syslog_facility;	/* ENUM index into facility names */
	int		 log_level;		/* ENUM index; LOG_ERR + index */
	/* policies */
	size_t		 policy_max_size;
	char		*database;
	/* DNS */
	char		*resolver_config;
	struct mtasts_strlist resolver_forwarders;
	char		*trust_anchor_file;
	long		 dns_timeout;
	/* HTTPS policy fetch */
	char		*ca_file;
	char		*ca_path;
	char		*https_proxy;
	long		 https_connect_timeout;
	long		 https_timeout;
	/* cache and refresh */
	long		 txt_recheck_interval;
	long		 refresh_interval;
	long		 negative_cache_time;
	long		 fetch_retry_interval;
	long		 max_discoveries;
	/* RCPT-time verdicts (common/verdict.c) and the milter */
	char		*milter_socket;
	char		*milter_socket_mode;	/* octal text, checked at load */
	long		 rcpt_timeout;
	int		 failure_action;	/* enum mtasts_failure_action */
	int		 on_engine_error;	/* enum mtasts_engine_error_mode */
	struct mtasts_strlist skip_domains;
	struct mtasts_strlist enforce_domains;
	struct mtasts_strlist routed_domains;
	struct mtasts_strlist domain_failure_action;	/* "domain:action" */
	int		 testing_header;
	long		 recheck_interval;
	char		*sendmail_path;
	struct mtasts_strlist smtp_mailers;	/* {rcpt_mailer} values checked */
	/* MX STARTTLS probes (common/mxcheck.c) */
	int		 mx_probe;		/* enum mtasts_probe_mode */
	long		 mx_probe_port;
	long		 mx_probe_timeout;
	long		 mx_probe_max_parallel;
	long		 mx_probe_cache_time;
	long		 mx_probe_failure_cache_time;
	long		 mx_probe_min_interval;
	char		*mx_probe_helo_name;
	/* DANE (common/dane.c) */
	int		 dane;
	struct mtasts_strlist domain_dane;	/* "domain:mode" */
	struct mtasts_strlist map_dane_unsupported;	/* map names */
	/* the map server (milter/mapd.c) and the daemon (mta-sts-milter.c) */
	char		*map_socket;
	char		*map_socket_mode;	/* octal text, checked at load */
	long		 map_max_clients;
	int		 map_match_concrete_mx;
	long		 map_idle_timeout;
	char		*user_id;		/* "user" or "user:group" */
	char		*pid_file;
};

/* FailureAction values, in the order of their names in the table. */
enum mtasts_failure_action {
	MTASTS_FAIL_DEFER = 0,
	MTASTS_FAIL_REJECT,
	MTASTS_FAIL_BOUNCE
};

/* MxProbe values: which policy modes get their MX hosts probed. */
enum mtasts_probe_mode {
	MTASTS_PROBE_MODE_NO = 0,
	MTASTS_PROBE_MODE_ENFORCE,	/* enforce (and EnforceDomains) */
	MTASTS_PROBE_MODE_ALL		/* testing too, recorded only */
};

/* OnEngineError values. */
enum mtasts_engine_error_mode {
	MTASTS_ENGERR_TEMPFAIL = 0,
	MTASTS_ENGERR_ACCEPT
};

/*
 * "defer", "reject" or "bounce" to its value; -1 when s is none of them.
 * The verdict reads DomainFailureAction entries with it.
 */
int	mtasts_failure_action_parse(const char *s, size_t len);

/* The table of every parameter, terminated by a row with name == NULL. */
extern const struct mtasts_conf_def mtasts_conf_defs[];

/*
 * Generic loader: apply "Name value" lines of buf[0..len) to the struct at
 * base according to defs.  fname names the source in messages
 * ("file:line: ...").  Returns 0, or -1 with every problem in diag.
 */
int	mtasts_conf_apply(const struct mtasts_conf_def *defs, void *base,
	    const char *buf, size_t len, const char *fname,
	    struct mtasts_diag *diag);

/* Set every field of base to its default from defs; 0 or -1 (diag). */
int	mtasts_conf_defaults(const struct mtasts_conf_def *defs, void *base,
	    struct mtasts_diag *diag);

/* Free what the fields of base own (STRING, LIST), leaving them empty. */
void	mtasts_conf_release(const struct mtasts_conf_def *defs, void *base);

/*
 * Read the daemon's configuration from path.  NULL on error (missing or
 * unreadable file, group/world-writable file, unknown key, bad value) with
 * "path:line: message" entries in diag.  Caller frees with
 * mtasts_config_free.
 */
struct mtasts_config	*mtasts_config_load(const char *path,
			    struct mtasts_diag *diag);

/* As mtasts_config_load, from memory (tests, fuzzing); fname for messages. */
struct mtasts_config	*mtasts_config_parse(const char *buf, size_t len,
			    const char *fname, struct mtasts_diag *diag);

/*
 * Fill a log setup from the Syslog, SyslogFacility and LogLevel settings;
 * foreground adds stderr.  ident is borrowed.
 */
struct mtasts_log_setup;
void			 mtasts_config_log_setup(const struct mtasts_config *,
			    const char *ident, int foreground,
			    struct mtasts_log_setup *out);

/* Free a configuration; NULL is accepted. */
void			 mtasts_config_free(struct mtasts_config *);

/* An octal file mode of 1 to 4 digits ("0660") into *out; 0 or -1. */
int	mtasts_conf_parse_mode(const char *s, unsigned int *out);

/* Value parsers shared with the command line: 0 on success, -1 if malformed. */
int	mtasts_conf_parse_bool(const char *s, int *out);
int	mtasts_conf_parse_duration(const char *s, long *out);
int	mtasts_conf_parse_size(const char *s, size_t *out);

#endif /* MTASTS_CONF_H */
