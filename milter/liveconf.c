/*
 * liveconf.c: reference-counted configuration snapshots (see liveconf.h).
 *
 * A short list: the current snapshot at the head, older ones behind it
 * only while somebody still holds them (a message in progress, a map
 * server round).  Reloads are rare and messages short, so the list has
 * one or two entries and a linear search is the simplest correct thing.
 */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>

#include "conf.h"
#include "liveconf.h"
#include "log.h"

struct snap {
	struct mtasts_config	*cfg;
	unsigned int		 refs;
	int			 owned;		/* 0: the start-up one */
	struct snap		*next;
};

static pthread_mutex_t	 L_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snap	*L_head;	/* the current snapshot */
static struct snap	 L_first;	/* the start-up one, never allocated */

static void
snap_free(struct snap *s)
{
	if (s->owned) {
		mtasts_config_free(s->cfg);
		free(s);
	} else
		s->cfg = NULL;
}

/* Unlink and free every old snapshot nobody holds.  Lock held. */
static void
sweep(void)
{
	struct snap	**pp = &L_head->next, *s;

	while ((s = *pp) != NULL) {
		if (s->refs == 0) {
			*pp = s->next;
			snap_free(s);
		} else
			pp = &s->next;
	}
}

void
liveconf_init(struct mtasts_config *cfg)
{
	pthread_mutex_lock(&L_lock);
	L_first.cfg = cfg;
	L_first.refs = 0;
	L_first.owned = 0;
	L_first.next = NULL;
	L_head = &L_first;
	pthread_mutex_unlock(&L_lock);
}

const struct mtasts_config *
liveconf_hold(void)
{
	const struct mtasts_config	*cfg;

	pthread_mutex_lock(&L_lock);
	L_head->refs++;
	cfg = L_head->cfg;
	pthread_mutex_unlock(&L_lock);
	return cfg;
}

void
liveconf_release(const struct mtasts_config *cfg)
{
	struct snap	*s;

	if (cfg == NULL)
		return;
	pthread_mutex_lock(&L_lock);
	for (s = L_head; s != NULL; s = s->next)
		if (s->cfg == cfg && s->refs > 0) {
			s->refs--;
			break;
		}
	if (s == NULL)
		mtasts_log(LOG_ERR, NULL, "internal error: release of a "
		    "configuration that is not held");
	else if (s != L_head && s->refs == 0)
		sweep();
	pthread_mutex_unlock(&L_lock);
}

int
liveconf_swap(struct mtasts_config *ncfg)
{
	struct snap	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->cfg = ncfg;
	s->owned = 1;
	pthread_mutex_lock(&L_lock);
	s->next = L_head;
	L_head = s;
	sweep();
	pthread_mutex_unlock(&L_lock);
	return 0;
}

unsigned int
liveconf_shutdown(void)
{
	struct snap	*s, *next;
	unsigned int	 held = 0;

	pthread_mutex_lock(&L_lock);
	for (s = L_head; s != NULL; s = next) {
		next = s->next;
		if (s->refs > 0) {
			held++;
			continue;
		}
		snap_free(s);
	}
	L_head = NULL;
	pthread_mutex_unlock(&L_lock);
	return held;
}
