/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The outbox's shared state and its status.  A notice that comes due is
 * composed (outbox-compose.c), claimed into the outbox with a delivery
 * row per channel (outbox-claim.c) and delivered to each channel with
 * leases, retries and give-ups (outbox-deliver.c); the channels
 * themselves are channel-*.c, listed in channel.c.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "outbox-internal.h"

struct store		*outbox_store;
const struct fu_config	**outbox_cfp;
static time_t		 outbox_started;

/* Set up the outbox on the store and the (reloadable) configuration. */
void
outbox_init(struct store *st, const struct fu_config **cfp)
{
	outbox_store = st;
	outbox_cfp = cfp;
	outbox_started = time(NULL);
}

/* Is a notice that fell at fire and goes out at now late? */
int
outbox_is_late(time_t fire, time_t now)
{
	return fire < outbox_started || now - fire > OUTBOX_LATE_SLACK;
}

/* Free what item it holds (not it). */
void
outbox_item_clear(struct outbox_item *it)
{
	free(it->channel);
	free(it->owner);
	free(it->kind);
	free(it->payload);
	json_decref(it->notice);
	memset(it, 0, sizeof *it);
}

void
outbox_items_free(struct outbox_item *items, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		outbox_item_clear(&items[i]);
	free(items);
}

/*
 * Add to a status reply the state of owner's deliveries, or with owner
 * NULL the team's (and each rep's with deliveries waiting or given up):
 * a rep never reads another rep's errors, which name their addresses.
 */
void
outbox_status(struct store *st, const char *owner, json_t *obj)
{
	struct store_outbox_stats	os;
	struct store_outbox_last	ol;

	if (store_outbox_stats(st, owner, &os) == STORE_OK)
		outbox_stats_json(obj, &os);
	if (store_outbox_last(st, owner, &ol) == STORE_OK)
		outbox_last_json(obj, &ol);
	store_outbox_last_clear(&ol);
	if (owner == NULL)
		outbox_reps_json(st, obj);
}

/*
 * Set what the loop alone knows of owner's deliveries (NULL: the team's)
 * in obj: how many hooks run now.  On the loop.
 */
void
outbox_status_running(const char *owner, json_t *obj)
{
	json_object_set_new(obj, "hooks_running",
	    json_integer(outbox_deliver_running(owner)));
}

static int
outbox_rep_cb(const struct store_outbox_rep *r, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s s:I s:I s:I}", "rep",
	    r->rep, "backlog", (json_int_t)r->backlog, "failing",
	    (json_int_t)r->failing, "failed", (json_int_t)r->failed));
	return 0;
}

/*
 * Set delivery_by_rep in obj: for each rep with deliveries waiting or
 * given up, {"rep", "backlog", "failing", "failed"}, by name.  For admins.
 */
int
outbox_reps_json(struct store *st, json_t *obj)
{
	json_t	*reps = json_array();

	if (store_outbox_reps(st, outbox_rep_cb, reps) != STORE_OK) {
		json_decref(reps);
		return -1;
	}
	json_object_set_new(obj, "delivery_by_rep", reps);
	return 0;
}
