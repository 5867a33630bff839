/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The events registry: what one part of the daemon tells the others
 * without calling up into them.  The outbox publishes each notice it
 * delivers (watching connections subscribe) and that a delivery ended
 * (the schedule subscribes); connections publish that they came or went
 * and the schedule its next wake-up (the daemon's summary subscribes).
 * A publisher never knows who listens, so the dependency runs one way.
 */

#include <config.h>

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "followupd.h"

struct events_sub {
	TAILQ_ENTRY(events_sub)	 entry;
	enum events_topic	 topic;
	char			*owner;		/* only this rep's; NULL: all */
	events_cb		 cb;
	void			*arg;
};

static TAILQ_HEAD(, events_sub)	events_subs =
    TAILQ_HEAD_INITIALIZER(events_subs);
static struct events_sub	*events_next;	/* safe iteration */

/*
 * Call cb for every event of topic from now on: with owner, only for
 * those published for that rep.  Return a handle for unsubscribe.
 */
struct events_sub *
events_subscribe(enum events_topic topic, const char *owner, events_cb cb,
    void *arg)
{
	struct events_sub	*sub;

	sub = xcalloc(1, sizeof *sub);
	sub->topic = topic;
	sub->owner = owner != NULL ? xstrdup(owner) : NULL;
	sub->cb = cb;
	sub->arg = arg;
	TAILQ_INSERT_TAIL(&events_subs, sub, entry);
	return sub;
}

/* Stop a subscription; safe from inside its own callback. */
void
events_unsubscribe(struct events_sub *sub)
{
	if (sub == NULL)
		return;
	if (events_next == sub)
		events_next = TAILQ_NEXT(sub, entry);
	TAILQ_REMOVE(&events_subs, sub, entry);
	free(sub->owner);
	free(sub);
}

/*
 * How many subscribe to topic: with owner, those that subscribed for
 * that rep only.
 */
int
events_count(enum events_topic topic, const char *owner)
{
	struct events_sub	*sub;
	int			 n = 0;

	TAILQ_FOREACH(sub, &events_subs, entry) {
		if (sub->topic != topic)
			continue;
		if (owner == NULL || (sub->owner != NULL &&
		    strcmp(sub->owner, owner) == 0))
			n++;
	}
	return n;
}

/*
 * Hand an event of topic and kind, for rep owner (NULL: the daemon's
 * own) with data (borrowed, may be NULL), to every subscriber of topic
 * that takes owner's events.
 */
void
events_publish(enum events_topic topic, const char *owner, const char *kind,
    json_t *data)
{
	struct events_sub	*sub;

	for (sub = TAILQ_FIRST(&events_subs); sub != NULL; sub = events_next) {
		events_next = TAILQ_NEXT(sub, entry);
		if (sub->topic != topic || (sub->owner != NULL &&
		    (owner == NULL || strcmp(sub->owner, owner) != 0)))
			continue;
		sub->cb(owner, kind, data, sub->arg);
	}
	events_next = NULL;
}
