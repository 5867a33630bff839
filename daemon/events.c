/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Live events: watching connections subscribe a callback here and the
 * outbox publishes each notice it delivers.  The outbox never knows a
 * connection exists, so no include circle forms.
 */

#include <config.h>

#include <sys/queue.h>

#include <stdlib.h>

#include "followupd.h"

struct events_sub {
	TAILQ_ENTRY(events_sub)	 entry;
	events_cb		 cb;
	void			*arg;
};

static TAILQ_HEAD(, events_sub)	events_subs =
    TAILQ_HEAD_INITIALIZER(events_subs);
static struct events_sub	*events_next;	/* safe iteration */

/* Call cb for every event from now on. Return a handle for unsubscribe. */
struct events_sub *
events_subscribe(events_cb cb, void *arg)
{
	struct events_sub	*sub;

	sub = xcalloc(1, sizeof *sub);
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
	free(sub);
}

/* How many subscribers there are. */
int
events_count(void)
{
	struct events_sub	*sub;
	int			 n = 0;

	TAILQ_FOREACH(sub, &events_subs, entry)
		n++;
	return n;
}

/* Hand notice (borrowed) of kind for rep owner to every subscriber. */
void
events_publish(const char *owner, const char *kind, json_t *notice)
{
	struct events_sub	*sub;

	for (sub = TAILQ_FIRST(&events_subs); sub != NULL; sub = events_next) {
		events_next = TAILQ_NEXT(sub, entry);
		sub->cb(owner, kind, notice, sub->arg);
	}
	events_next = NULL;
}
