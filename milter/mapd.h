/*
 * mapd.h: the TLS policy map server of mta-sts-milter(8), the socketmap
 * that Postfix (smtp_tls_policy_maps = socketmap:...) and Sendmail
 * (FEATURE(`sts')) ask at delivery time.
 *
 * One thread runs a poll(2) loop over the listening socket and every
 * client.  Each request is answered at once from the engine's memory
 * (mtasts_engine_lookup with a budget of 0, which starts a discovery in
 * the background when nothing is known), so no client ever waits for DNS
 * or HTTPS, and one slow or silent client never holds up another.
 *
 * The reloadable settings (MapMaxClients, MapIdleTimeout,
 * MapMatchConcreteMx and the per-domain controls) come from the
 * configuration in force (liveconf.h), so a reload applies at once.
 *
 * Life cycle, all from the daemon's main thread:
 *	mapd_setup	parse MapSocket, open and listen (as root)
 *	mapd_set_owner	give a unix socket to the UserID (as root)
 *	mapd_start	start the thread with the engine
 *	mapd_stop	stop the thread, close every socket, remove a unix
 *			socket file
 */
#ifndef MTASTS_MAPD_H
#define MTASTS_MAPD_H

#include <sys/types.h>

#include "conf.h"
#include "engine.h"
#include "status.h"

/*
 * Open the socket that MapSocket names (with MapSocketMode), from the
 * start-up configuration cfg, borrowed until mapd_stop.
 * Returns 0 (also when MapSocket is unset: mapd_enabled() is then 0), or
 * -1 with the reason in diag.
 */
int	mapd_setup(const struct mtasts_config *cfg, struct mtasts_diag *diag);

/* 1 when mapd_setup opened a socket. */
int	mapd_enabled(void);

/* chown a unix socket to uid:gid; 0, or -1 with diag.  No-op for inet. */
int	mapd_set_owner(uid_t uid, gid_t gid, struct mtasts_diag *diag);

/*
 * Start serving with engine (borrowed until mapd_stop).  Returns 0, or
 * -1 with diag.  Without a socket it does nothing and returns 0.
 */
int	mapd_start(struct mtasts_engine *engine, struct mtasts_diag *diag);

/* Stop and release everything; safe to call more than once. */
void	mapd_stop(void);

/*
 * Parse a socket specification as milters write them: "inet:PORT@ADDR",
 * "inet6:PORT@ADDR", "inet:PORT" (every address), "unix:PATH" or
 * "local:PATH".  ADDR must be numeric.  Fills ss/len for bind(2) and
 * returns 0, or -1 with the reason in diag.  Exposed for mta-sts-milter -n.
 */
struct sockaddr_storage;
int	mapd_parse_socket(const char *spec, struct sockaddr_storage *ss,
	    socklen_t *len, struct mtasts_diag *diag);

#endif /* MTASTS_MAPD_H */
