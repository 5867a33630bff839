/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The watch channel: every notice the journal recorded is published to
 * the events registry, where watching connections subscribe.  It keeps
 * no delivery rows of its own: a watcher sees what happens while it
 * watches, and the journal keeps the record.
 */

#include <config.h>

#include "outbox-internal.h"

static int
channel_watch_takes(const char *kind, enum channel_to to)
{
	return to == CHANNEL_TO_REP;
}

/* Publish each readable notice to the watchers. */
static int
channel_watch_deliver(const struct fu_config *cf,
    struct outbox_item *items, size_t n, time_t now, channel_done_cb done_cb,
    void *arg, long *lease, char **cause)
{
	json_t	*notice;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if ((notice = channel_item_notice(&items[i], NULL)) != NULL)
			events_publish(EVENTS_NOTICE, items[i].owner,
			    items[i].kind, notice);
	}
	return CHANNEL_DELIVERED;
}

const struct channel channel_watch = {
	.name = "watch",
	.follows = "journal",
	.takes = channel_watch_takes,
	.deliver = channel_watch_deliver,
};
