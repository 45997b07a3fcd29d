/*
 * liveconf.h: the configuration the daemon serves with, swapped by a
 * reload while the milter and the map server keep working.
 *
 * A reader takes a snapshot with liveconf_hold() and gives it back with
 * liveconf_release(); a snapshot stays valid in between however many
 * reloads happen, so a message that started under one configuration
 * finishes under it (STYLE.md 7, OpenDKIM's reference-counted config).
 * The first snapshot is the start-up configuration, which the engine
 * also borrows: it is never freed here.  Thread-safe.
 */
#ifndef MTASTS_LIVECONF_H
#define MTASTS_LIVECONF_H

#include "conf.h"

/* Start with cfg, borrowed until liveconf_shutdown(). */
void	liveconf_init(struct mtasts_config *cfg);

/*
 * The current configuration, borrowed until the matching
 * liveconf_release().  Never NULL after liveconf_init().
 */
const struct mtasts_config	*liveconf_hold(void);

/* Give back a snapshot of liveconf_hold(); NULL is ignored. */
void	liveconf_release(const struct mtasts_config *cfg);

/*
 * Make ncfg the current configuration; it is owned from now on.  The one
 * it replaces is freed when its last holder releases it (the start-up
 * one never is).  Returns 0, or -1 when out of memory: nothing changed
 * and ncfg still belongs to the caller.
 */
int	liveconf_swap(struct mtasts_config *ncfg);

/*
 * At exit, once nothing holds a snapshot any more: free every
 * configuration owned here.  Returns how many snapshots were still held
 * (0 when all is well); those are leaked rather than freed under a user.
 */
unsigned int	liveconf_shutdown(void);

#endif /* MTASTS_LIVECONF_H */
