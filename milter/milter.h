/*
 * milter.h: the libmilter front end of mta-sts-milter.  It asks the
 * verdict (common/verdict.h) about each SMTP recipient at RCPT time and
 * turns the answer into a milter reply, a header, or a removed recipient
 * plus a delivery status notification at the end of the message.
 */
#ifndef MTASTS_MILTER_H
#define MTASTS_MILTER_H

#include <sys/types.h>

#include <stddef.h>

#include "conf.h"
#include "engine.h"
#include "status.h"

/*
 * Register with libmilter and open the socket named by the Socket
 * parameter (applying SocketMode to a unix socket, whose owner becomes
 * uid:gid when they are not -1).  Called while still root, so that the
 * socket may live where only root writes; cfg is only read during the
 * call.  Each message is later judged under the configuration in force
 * when it began (liveconf.h).  Returns 0, or -1 with the reason in diag.
 */
int	milter_setup(const struct mtasts_config *cfg, uid_t uid, gid_t gid,
	    struct mtasts_diag *diag);

/*
 * Check a Socket value as libmilter will read it: inet:PORT[@HOST],
 * inet6:PORT[@HOST], unix:PATH or local:PATH (absolute, fits sun_path).
 * Returns 0, or -1 with the reason in diag.
 */
int	milter_check_socket(const char *spec, struct mtasts_diag *diag);

/*
 * Hand the milter its engine (borrowed; it must outlive the milter).  Call
 * after milter_setup and before milter_run: no callback runs before then.
 */
void	milter_attach(struct mtasts_engine *engine);

/* Serve (smfi_main) until milter_stop; 0, or -1 when libmilter failed. */
int	milter_run(void);

/* Ask milter_run to return (smfi_stop); safe from any thread. */
void	milter_stop(void);

/*
 * Before milter_stop: refuse new messages (451 4.3.2 at MAIL) and wait up
 * to ms milliseconds for the messages in progress to end.  Returns how
 * many are left (0: none; no callback then uses the engine).  Idle
 * connections are not waited for: libmilter drops them at milter_stop,
 * and the MTA tempfails their next message (milter_default_action).
 */
size_t	milter_drain(long ms);

#endif /* MTASTS_MILTER_H */
