/*
 * mta-sts-milter.c: the daemon (mta-sts-milter(8)).
 *
 * It wires the parts together and owns the process: options, the
 * configuration, daemonising, the pid file, the change of user, signals
 * and reloads.  The engine answers, the map server (mapd.c) and the milter
 * (milter.c) speak to the MTAs.
 *
 * Start-up order, and why:
 *  1. read the configuration; a bad file stops us before anything opens
 *  2. open the map and milter sockets while still root (a port below
 *     1024, or a directory only root may write)
 *  3. detach (unless -f); the parent waits until the child reports that
 *     it is serving, so errors of every later step still reach the
 *     terminal and the exit status
 *  4. write the pid file, create the database and pid directories for
 *     UserID, drop privileges: everything the engine creates from here on
 *     (SQLite files, WAL) belongs to that user
 *  5. start the engine, hand it to the milter, start the map thread,
 *     the reload thread and the milter thread (smfi_main)
 *
 * Signals are blocked in every thread and taken by the main thread alone,
 * with sigwaitinfo(2); a reload runs in a thread of its own, so the main
 * thread is back waiting at once.  libmilter's smfi_main() starts a
 * signal thread of its own that sigwait(3)s for SIGHUP, SIGTERM and
 * SIGINT and stops the milter on any of them, so a SIGHUP that reached it
 * would stop the milter instead of reloading.  This file therefore
 * defines sigwait() for the process (see the function below): libmilter's
 * thread parks there for good, never takes a signal, and the kernel hands
 * them all to the main thread.  Should smfi_main() return on its own all
 * the same, the daemon stops with exit status 1 (a service manager
 * restarts it) rather than run on without its milter.  SIGUSR1 reloads
 * too, as in OpenDKIM.
 *
 * Stopping: the milter refuses new messages and lets the ones in
 * progress finish (up to DRAIN_MS), then stops (libmilter drops idle
 * connections; the MTA tempfails their next message), the map server
 * closes (it serves deliveries to the end), then the engine is freed.
 */
#include <config.h>

#include <sys/types.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "fetch.h"
#include "liveconf.h"
#include "log.h"
#include "mapd.h"
#include "milter.h"
#include "status.h"

#define PROGNAME	"mta-sts-milter"
#define DEFAULT_CONF	SYSCONFDIR "/mta-sts-milter.conf"

/* How long messages in progress may take to finish at a stop. */
#define DRAIN_MS	30000

/*
 * Reloadable parameters (mtasts_conf_defs) that the engine holds from its
 * start: DNS, policy fetch, cache and refresh, the MX probe cache.  A
 * reload applies every other reloadable parameter at once; these wait for
 * a restart.
 */
static const char *const engine_bound[] = {
	"PolicyMaxSize", "ResolverConfig", "ResolverForwarders",
	"TrustAnchorFile", "DnsTimeout", "CAFile", "CAPath", "HttpsProxy",
	"HttpsConnectTimeout", "HttpsTimeout", "TxtRecheckInterval",
	"RefreshInterval", "NegativeCacheTime", "FetchRetryInterval",
	"MaxDiscoveries", "MxProbeCacheTime", "MxProbeFailureCacheTime",
	"MxProbeMinInterval", NULL
};

static struct {
	const char		*conf_path;
	int			 foreground;
	/* the start-up configuration: the engine borrows it to the end */
	struct mtasts_config	*cfg;
	struct mtasts_engine	*engine;
	int			 milter_on;
	int			 have_user;
	uid_t			 uid;
	gid_t			 gid;
	char			*user;
	int			 pid_written;
	int			 ready_fd;	/* to the waiting parent, or -1 */
	pthread_t		 main_thr;
	pthread_t		 milter_thr;
	pthread_t		 reload_thr;
	/* guarded by lock: */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stop;		/* the daemon is stopping */
	int			 reload;	/* a reload is asked for */
	int			 milter_ended;	/* smfi_main returned */
} D = {
	.ready_fd = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void
usage(FILE *fp)
{
	(void)fprintf(fp, "usage: %s [-fhnV] [-c file]\n", PROGNAME);
}

static void
log_diag(int prio, const struct mtasts_diag *diag)
{
	size_t	i;

	for (i = 0; i < diag->count; i++)
		mtasts_log(diag->item[i].warning ? LOG_WARNING : prio, NULL,
		    "%s", diag->item[i].text);
	if (diag->dropped > 0)
		mtasts_log(prio, NULL, "... and %zu more problems",
		    diag->dropped);
}

/*
 * Fail hard at start-up: the reason goes to the log and to stderr (which
 * still reaches the terminal until the daemon is ready), and the waiting
 * parent sees the pipe close without the ready byte.
 */
static void __attribute__((noreturn))
fatal(const struct mtasts_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fatal(const struct mtasts_diag *diag, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (diag != NULL && diag->count > 0) {
		mtasts_diag_print(stderr, PROGNAME, diag);
		log_diag(LOG_ERR, diag);
	}
	(void)fprintf(stderr, "%s: %s\n", PROGNAME, msg);
	mtasts_log(LOG_ERR, NULL, "%s", msg);
	if (D.pid_written && D.cfg->pid_file != NULL)
		(void)unlink(D.cfg->pid_file);
	exit(1);
}

/* ---------------------------------------------------------------- -n */

/*
 * A file the engine opens only once it starts; -n says now what would
 * stop the start.  want: R_OK for a file, X_OK for a program; dir: 1
 * when it must be a directory.
 */
static int
check_path(const char *cfgpath, const char *name, const char *path,
    int want, int dir, struct mtasts_diag *diag)
{
	struct stat	st;

	if (path == NULL)
		return 0;
	if (stat(path, &st) == -1)
		goto sys;
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		mtasts_diag_add(diag, 0, 0, "%s: %s %s: not a %s", cfgpath,
		    name, path, dir ? "directory" : "regular file");
		return -1;
	}
	if (access(path, want) == 0)
		return 0;
sys:
	mtasts_diag_add(diag, 0, 0, "%s: %s %s: %s", cfgpath, name, path,
	    strerror(errno));
	return -1;
}

/* Whether any domain may bounce, which needs SendmailPath. */
static int
uses_bounce(const struct mtasts_config *cfg)
{
	const char	*colon;
	size_t		 i;

	if (cfg->failure_action == MTASTS_FAIL_BOUNCE)
		return 1;
	for (i = 0; i < cfg->domain_failure_action.n; i++)
		if ((colon = strrchr(cfg->domain_failure_action.v[i],
		    ':')) != NULL && strcasecmp(colon + 1, "bounce") == 0)
			return 1;
	return 0;
}

/* A ResolverForwarders entry as libunbound takes it: ADDR or ADDR@PORT. */
static int
check_forwarder(const char *cfgpath, const char *fwd,
    struct mtasts_diag *diag)
{
	char		 addr[INET6_ADDRSTRLEN + 8], *at, *end;
	unsigned char	 buf[sizeof(struct in6_addr)];
	long		 port;

	(void)snprintf(addr, sizeof(addr), "%s", fwd);
	if ((at = strchr(addr, '@')) != NULL) {
		*at = '\0';
		port = strtol(at + 1, &end, 10);
		if (at[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
			goto bad;
	}
	if (strlen(fwd) < sizeof(addr) &&
	    (inet_pton(AF_INET, addr, buf) == 1 ||
	    inet_pton(AF_INET6, addr, buf) == 1))
		return 0;
bad:
	mtasts_diag_add(diag, 0, 0, "%s: ResolverForwarders: '%s' is not "
	    "an IP address, with @port if not 53", cfgpath, fwd);
	return -1;
}

/* The checks of -n beyond the loader's: sockets, files and the user. */
static int
check_more(const struct mtasts_config *cfg, struct mtasts_diag *diag)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct passwd		*pw;
	char			 user[256], *colon;
	size_t			 i;
	int			 rc = 0;

	if (cfg->map_socket != NULL && mapd_parse_socket(cfg->map_socket, &ss,
	    &len, diag) == -1)
		rc = -1;
	if (cfg->milter_socket != NULL &&
	    milter_check_socket(cfg->milter_socket, diag) == -1)
		rc = -1;
	/* Each is checked, so that -n lists every problem at once. */
	if (check_path(cfg->path, "ResolverConfig", cfg->resolver_config,
	    R_OK, 0, diag) == -1)
		rc = -1;
	if (check_path(cfg->path, "TrustAnchorFile", cfg->trust_anchor_file,
	    R_OK, 0, diag) == -1)
		rc = -1;
	if (check_path(cfg->path, "CAFile", cfg->ca_file, R_OK, 0, diag) == -1)
		rc = -1;
	if (check_path(cfg->path, "CAPath", cfg->ca_path, R_OK | X_OK, 1,
	    diag) == -1)
		rc = -1;
	if (uses_bounce(cfg) && check_path(cfg->path, "SendmailPath",
	    cfg->sendmail_path, X_OK, 0, diag) == -1)
		rc = -1;
	for (i = 0; i < cfg->resolver_forwarders.n; i++)
		if (check_forwarder(cfg->path, cfg->resolver_forwarders.v[i],
		    diag) == -1)
			rc = -1;
	if (cfg->user_id != NULL) {
		(void)snprintf(user, sizeof(user), "%s", cfg->user_id);
		if ((colon = strchr(user, ':')) != NULL)
			*colon = '\0';
		if ((pw = getpwnam(user)) == NULL) {
			mtasts_diag_add(diag, 0, 0, "%s: UserID: no user "
			    "named '%s'", cfg->path, user);
			rc = -1;
		} else if (colon != NULL && getgrnam(colon + 1) == NULL) {
			mtasts_diag_add(diag, 0, 0, "%s: UserID: no group "
			    "named '%s'", cfg->path, colon + 1);
			rc = -1;
		}
	}
	return rc;
}

static int
check_config(const char *path)
{
	struct mtasts_config	*cfg;
	struct mtasts_diag	 diag;
	int			 rc;

	if ((cfg = mtasts_config_load(path, &diag)) == NULL) {
		mtasts_diag_print(stderr, PROGNAME, &diag);
		return 1;
	}
	mtasts_diag_print(stderr, PROGNAME, &diag);	/* warnings */
	mtasts_diag_init(&diag);
	rc = check_more(cfg, &diag);
	mtasts_diag_print(stderr, PROGNAME, &diag);
	mtasts_config_free(cfg);
	return rc == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- user */

static void
resolve_user(const struct mtasts_config *cfg)
{
	struct passwd	*pw;
	struct group	*gr;
	char		*colon;

	if (cfg->user_id == NULL)
		return;
	if ((D.user = strdup(cfg->user_id)) == NULL)
		fatal(NULL, "out of memory");
	if ((colon = strchr(D.user, ':')) != NULL)
		*colon++ = '\0';
	if ((pw = getpwnam(D.user)) == NULL)
		fatal(NULL, "UserID: no user named '%s'", D.user);
	D.uid = pw->pw_uid;
	D.gid = pw->pw_gid;
	if (colon != NULL) {
		if ((gr = getgrnam(colon)) == NULL)
			fatal(NULL, "UserID: no group named '%s'", colon);
		D.gid = gr->gr_gid;
	}
	D.have_user = 1;
	/* Say so now, before any socket is opened for a user we cannot be. */
	if (geteuid() != 0 && (geteuid() != D.uid || getegid() != D.gid))
		fatal(NULL, "UserID %s: only root can change user (running "
		    "as uid %lu)", cfg->user_id, (unsigned long)geteuid());
}

/*
 * Become UserID.  Refuse to go on as root when that fails: the point of
 * the setting is that a bug in a parser cannot act as root.
 */
static void
drop_privileges(void)
{
	if (!D.have_user)
		return;
	if (geteuid() == D.uid && getegid() == D.gid)
		return;
	if (geteuid() != 0)
		fatal(NULL, "UserID %s: only root can change user (running "
		    "as uid %lu)", D.user, (unsigned long)geteuid());
	if (initgroups(D.user, D.gid) == -1 || setgid(D.gid) == -1 ||
	    setuid(D.uid) == -1)
		fatal(NULL, "UserID %s: cannot change user: %s", D.user,
		    strerror(errno));
	if (D.uid != 0 && (setuid(0) != -1 || geteuid() == 0))
		fatal(NULL, "UserID %s: root privileges could be regained",
		    D.user);
	mtasts_log(LOG_INFO, NULL, "running as uid %lu gid %lu",
	    (unsigned long)D.uid, (unsigned long)D.gid);
}

/* Create the directory holding path for UserID, when it is missing. */
static void
make_parent_dir(const char *path, const char *what)
{
	char	*copy, *dir;

	if (path == NULL || (copy = strdup(path)) == NULL)
		return;
	dir = dirname(copy);
	if (mkdir(dir, 0750) == 0) {
		if (D.have_user && geteuid() == 0 &&
		    chown(dir, D.uid, D.gid) == -1)
			fatal(NULL, "%s directory %s: cannot change owner: %s",
			    what, dir, strerror(errno));
		mtasts_log(LOG_INFO, NULL, "created the %s directory %s",
		    what, dir);
	} else if (errno != EEXIST)
		fatal(NULL, "%s directory %s: %s", what, dir, strerror(errno));
	free(copy);
}

/* ---------------------------------------------------------------- process */

/*
 * Detach from the terminal.  The parent stays until the child writes one
 * byte on the pipe (ready) or closes it (failed), and exits accordingly.
 */
static void
daemonize(void)
{
	int	 fds[2];
	pid_t	 pid;
	char	 c;
	ssize_t	 r;

	if (pipe(fds) == -1)
		fatal(NULL, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		fatal(NULL, "fork: %s", strerror(errno));
	if (pid > 0) {
		(void)close(fds[1]);
		do
			r = read(fds[0], &c, 1);
		while (r == -1 && errno == EINTR);
		_exit(r == 1 ? 0 : 1);
	}
	(void)close(fds[0]);
	D.ready_fd = fds[1];
	if (setsid() == -1)
		fatal(NULL, "setsid: %s", strerror(errno));
	if (chdir("/") == -1)
		fatal(NULL, "chdir /: %s", strerror(errno));
}

/* Tell the parent we serve, and let go of the terminal. */
static void
detach_done(void)
{
	int	fd;

	if (D.ready_fd == -1)
		return;
	if (write(D.ready_fd, "r", 1) != 1)
		mtasts_log(LOG_WARNING, NULL, "cannot signal readiness: %s",
		    strerror(errno));
	(void)close(D.ready_fd);
	D.ready_fd = -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			(void)close(fd);
	}
}

/* Refuse to start twice with one pid file; a stale file is overwritten. */
static void
write_pidfile(const char *path)
{
	char	buf[32];
	FILE	*fp;
	long	old;
	int	fd;

	if (path == NULL)
		return;
	make_parent_dir(path, "pid file");
	if ((fp = fopen(path, "r")) != NULL) {
		if (fscanf(fp, "%ld", &old) == 1 && old > 0 &&
		    old != (long)getpid() && kill((pid_t)old, 0) == 0)
			fatal(NULL, "%s: process %ld is running already",
			    path, old);
		(void)fclose(fp);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1)
		fatal(NULL, "%s: %s", path, strerror(errno));
	(void)snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf) ||
	    close(fd) == -1)
		fatal(NULL, "%s: cannot write: %s", path, strerror(errno));
	D.pid_written = 1;
	/* Removing it at exit needs the owner to be the user we become. */
	if (D.have_user && geteuid() == 0 &&
	    chown(path, D.uid, D.gid) == -1)
		mtasts_log(LOG_WARNING, NULL, "%s: cannot change owner: %s",
		    path, strerror(errno));
}

/* ---------------------------------------------------------------- reload */

static int
strlist_eq(const struct mtasts_strlist *a, const struct mtasts_strlist *b)
{
	size_t	i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

/* 1 when the field that def describes differs between two configs. */
static int
field_differs(const struct mtasts_conf_def *def, const void *a,
    const void *b)
{
	const char	*pa = (const char *)a + def->offset;
	const char	*pb = (const char *)b + def->offset;
	const char	*sa, *sb;

	switch (def->type) {
	case MTASTS_CONF_BOOL:
	case MTASTS_CONF_ENUM:
		return *(const int *)(const void *)pa !=
		    *(const int *)(const void *)pb;
	case MTASTS_CONF_INT:
	case MTASTS_CONF_DURATION:
		return *(const long *)(const void *)pa !=
		    *(const long *)(const void *)pb;
	case MTASTS_CONF_SIZE:
		return *(const size_t *)(const void *)pa !=
		    *(const size_t *)(const void *)pb;
	case MTASTS_CONF_STRING:
		sa = *(char *const *)(const void *)pa;
		sb = *(char *const *)(const void *)pb;
		if (sa == NULL || sb == NULL)
			return sa != sb;
		return strcmp(sa, sb) != 0;
	case MTASTS_CONF_LIST:
		return !strlist_eq((const void *)pa, (const void *)pb);
	}
	return 0;
}

/* 1 when a reload applies the parameter def at once. */
static int
is_applied(const struct mtasts_conf_def *def)
{
	size_t	i;

	if (!def->reloadable)
		return 0;
	for (i = 0; engine_bound[i] != NULL; i++)
		if (strcmp(engine_bound[i], def->name) == 0)
			return 0;
	return 1;
}

/*
 * Read the file again.  A broken file changes nothing.  A good one
 * becomes the configuration of every message and map request from now
 * on (liveconf.h); a change of a parameter that waits for a restart is
 * named in a warning.
 */
static void
reload(void)
{
	const struct mtasts_config	*old;
	struct mtasts_config		*ncfg;
	struct mtasts_diag		 diag;
	struct mtasts_log_setup		 ls;
	const struct mtasts_conf_def	*d;
	size_t				 now = 0, later = 0;

	if ((ncfg = mtasts_config_load(D.conf_path, &diag)) == NULL) {
		log_diag(LOG_ERR, &diag);
		mtasts_log(LOG_ERR, NULL, "reload of %s failed; the running "
		    "configuration stays in force", D.conf_path);
		return;
	}
	old = liveconf_hold();
	for (d = mtasts_conf_defs; d->name != NULL; d++) {
		if (!field_differs(d, old, ncfg))
			continue;
		if (is_applied(d)) {
			mtasts_log(LOG_INFO, NULL, "reload: %s changed",
			    d->name);
			now++;
		} else {
			mtasts_log(LOG_WARNING, NULL, "reload: %s changed; "
			    "a restart is needed to apply it", d->name);
			later++;
		}
	}
	liveconf_release(old);
	mtasts_config_log_setup(ncfg, PROGNAME, D.foreground, &ls);
	mtasts_log_setlevel(ls.level);
	if (liveconf_swap(ncfg) == -1) {
		mtasts_config_free(ncfg);
		mtasts_log(LOG_ERR, NULL, "reload of %s: out of memory; the "
		    "running configuration stays in force", D.conf_path);
		return;
	}
	mtasts_log(LOG_INFO, NULL, "reloaded %s: %zu change%s applied%s",
	    D.conf_path, now, now == 1 ? "" : "s", later > 0 ?
	    ", some wait for a restart" : "");
}

/* The reload thread: one reload per request, however many signals came. */
static void *
reload_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&D.lock);
	for (;;) {
		while (!D.reload && !D.stop)
			pthread_cond_wait(&D.cond, &D.lock);
		if (D.stop)
			break;
		D.reload = 0;
		pthread_mutex_unlock(&D.lock);
		reload();
		pthread_mutex_lock(&D.lock);
	}
	pthread_mutex_unlock(&D.lock);
	return NULL;
}

/*
 * sigwait(3), defined here in place of the C library's for the whole
 * process (the executable's definition comes first in symbol lookup, also
 * for libmilter.so).  Its one caller is libmilter's signal thread, which
 * would stop the milter on SIGHUP: it waits here forever, its signals
 * stay blocked, and they all go to the main thread's sigwaitinfo().  The
 * daemon itself never calls sigwait().
 */
int
sigwait(const sigset_t *set, int *sig)
{
	(void)set;
	(void)sig;
	for (;;)
		(void)poll(NULL, 0, -1);
}

/* The milter thread: smfi_main until it returns, then wake main. */
static void *
milter_thread(void *arg)
{
	int	rc, stopping;

	(void)arg;
	rc = milter_run();
	pthread_mutex_lock(&D.lock);
	D.milter_ended = 1;
	stopping = D.stop;
	pthread_mutex_unlock(&D.lock);
	if (!stopping) {
		mtasts_log(LOG_ERR, NULL, "the milter stopped%s; stopping the "
		    "daemon", rc != 0 ? " with an error" : " unexpectedly");
		(void)pthread_kill(D.main_thr, SIGUSR2);
	}
	return NULL;
}

/*
 * The main thread's only job once serving: take the signals.  Returns
 * when the daemon is to stop: 0 on SIGTERM or SIGINT, 1 when the milter
 * stopped by itself.  SIGUSR2 is the milter thread telling that
 * smfi_main returned; sent by anyone else it changes nothing.
 */
static int
wait_signals(const sigset_t *set)
{
	int	sig, ended;

	for (;;) {
		if ((sig = sigwaitinfo(set, NULL)) == -1) {
			if (errno != EINTR)
				mtasts_log(LOG_ERR, NULL, "sigwaitinfo: %s",
				    strerror(errno));
			(void)poll(NULL, 0, 100);
			continue;
		}
		pthread_mutex_lock(&D.lock);
		if (sig == SIGHUP || sig == SIGUSR1) {
			D.reload = 1;
			pthread_cond_broadcast(&D.cond);
		}
		ended = D.milter_ended;
		pthread_mutex_unlock(&D.lock);
		if (sig == SIGTERM || sig == SIGINT) {
			mtasts_log(LOG_INFO, NULL, "signal %d: stopping", sig);
			return 0;
		}
		if (sig == SIGUSR2 && ended)
			return 1;
	}
}

/* ---------------------------------------------------------------- main */

static void
parse_args(int argc, char **argv, int *check_only)
{
	int	ch;

	D.conf_path = DEFAULT_CONF;
	while ((ch = getopt(argc, argv, "c:fhnV")) != -1) {
		switch (ch) {
		case 'c':
			D.conf_path = optarg;
			break;
		case 'f':
			D.foreground = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'n':
			*check_only = 1;
			break;
		case 'V':
			(void)printf("%s %s\n", PROGNAME, PACKAGE_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

/* Everything from the pid file to serving; see the order at the top. */
static void
start_services(void)
{
	struct mtasts_diag	diag;

	write_pidfile(D.cfg->pid_file);
	make_parent_dir(D.cfg->database, "database");
	mtasts_diag_init(&diag);
	if (mapd_set_owner(D.uid, D.gid, &diag) == -1 && D.have_user)
		fatal(&diag, "cannot hand the map socket to %s", D.user);
	drop_privileges();
	mtasts_diag_init(&diag);
	if (mtasts_fetch_global_init(&diag) != MTASTS_OK)
		fatal(&diag, "cannot initialise the HTTPS library");
	mtasts_diag_init(&diag);
	if ((D.engine = mtasts_engine_new(D.cfg, NULL, &diag)) == NULL)
		fatal(&diag, "cannot start the engine");
	if (D.milter_on)
		milter_attach(D.engine);
	mtasts_diag_init(&diag);
	if (mapd_start(D.engine, &diag) == -1)
		fatal(&diag, "cannot start the map server");
}

/* The reload thread and, with a Socket, the milter thread. */
static void
start_threads(void)
{
	int	rc;

	D.main_thr = pthread_self();
	if ((rc = pthread_create(&D.reload_thr, NULL, reload_thread,
	    NULL)) != 0)
		fatal(NULL, "cannot start the reload thread: %s", strerror(rc));
	if (D.milter_on && (rc = pthread_create(&D.milter_thr, NULL,
	    milter_thread, NULL)) != 0)
		fatal(NULL, "cannot start the milter thread: %s", strerror(rc));
}

/*
 * Stop in order: new messages, messages in progress, the milter, reloads,
 * the map server, the engine.
 */
static void
shutdown_all(void)
{
	size_t	left = 0;

	pthread_mutex_lock(&D.lock);
	D.stop = 1;
	pthread_cond_broadcast(&D.cond);
	pthread_mutex_unlock(&D.lock);
	if (D.milter_on) {
		if ((left = milter_drain(DRAIN_MS)) > 0)
			mtasts_log(LOG_WARNING, NULL, "%zu messages still in "
			    "progress after %d s; stopping without them", left,
			    DRAIN_MS / 1000);
		milter_stop();
		(void)pthread_join(D.milter_thr, NULL);
	}
	(void)pthread_join(D.reload_thr, NULL);
	mapd_stop();
	/* A session still running may be using the engine: leave it be. */
	if (left == 0) {
		mtasts_engine_free(D.engine);
		mtasts_fetch_global_cleanup();
	}
	if (D.pid_written && unlink(D.cfg->pid_file) == -1)
		mtasts_log(LOG_WARNING, NULL, "%s: cannot remove: %s",
		    D.cfg->pid_file, strerror(errno));
	mtasts_log(LOG_INFO, NULL, "stopped");
	if (left == 0 && liveconf_shutdown() == 0)
		mtasts_config_free(D.cfg);
	free(D.user);
}

int
main(int argc, char **argv)
{
	struct mtasts_diag	 diag;
	struct mtasts_log_setup	 ls;
	sigset_t		 set;
	int			 check_only = 0, rc;

	parse_args(argc, argv, &check_only);
	if (check_only)
		return check_config(D.conf_path);
	if ((D.cfg = mtasts_config_load(D.conf_path, &diag)) == NULL) {
		mtasts_diag_print(stderr, PROGNAME, &diag);
		return 1;
	}
	liveconf_init(D.cfg);
	mtasts_config_log_setup(D.cfg, PROGNAME, D.foreground, &ls);
	mtasts_log_init(&ls);
	if (D.cfg->map_socket == NULL && D.cfg->milter_socket == NULL)
		fatal(NULL, "%s: neither Socket nor MapSocket is set: nothing "
		    "to serve", D.conf_path);

	/* Every thread inherits this mask; only the main thread takes them. */
	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGHUP);
	(void)sigaddset(&set, SIGTERM);
	(void)sigaddset(&set, SIGINT);
	(void)sigaddset(&set, SIGUSR1);
	(void)sigaddset(&set, SIGUSR2);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
	(void)signal(SIGPIPE, SIG_IGN);

	resolve_user(D.cfg);
	mtasts_diag_init(&diag);
	if (mapd_setup(D.cfg, &diag) == -1)
		fatal(&diag, "cannot open the map socket");
	if (D.cfg->milter_socket != NULL) {
		mtasts_diag_init(&diag);
		if (milter_setup(D.cfg, D.have_user ? D.uid : (uid_t)-1,
		    D.have_user ? D.gid : (gid_t)-1, &diag) == -1)
			fatal(&diag, "cannot set up the milter on %s",
			    D.cfg->milter_socket);
		D.milter_on = 1;
	}
	if (!D.foreground)
		daemonize();
	start_services();
	start_threads();
	mtasts_log(LOG_INFO, NULL, "%s %s started", PROGNAME,
	    PACKAGE_VERSION);
	detach_done();
	rc = wait_signals(&set);
	shutdown_all();
	return rc;
}
