/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The table of channels, and the only place that knows which exist: the
 * claim asks it which delivery rows a new notice gets, the deliverer
 * which channel a row belongs to and who follows it.  Adding a channel
 * is its file and one line here.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "outbox-internal.h"

extern const struct channel	channel_journal;
extern const struct channel	channel_watch;
extern const struct channel	channel_hook;
extern const struct channel	channel_contact;
extern const struct channel	channel_invite;

/* In the order a notice's rows are recorded and its followers called. */
static const struct channel	*channel_table[] = {
	&channel_journal,
	&channel_watch,
	&channel_hook,
	&channel_contact,
	&channel_invite,
};
#define CHANNEL_N	(sizeof channel_table / sizeof channel_table[0])

/* The stored channel a delivery row belongs to, NULL if none. */
const struct channel *
channel_find(const char *row)
{
	size_t	i;

	for (i = 0; i < CHANNEL_N; i++) {
		if (channel_table[i]->follows == NULL &&
		    channel_table[i]->owns(row))
			return channel_table[i];
	}
	return NULL;
}

/*
 * The delivery rows a new notice of kind going to whom gets, one per
 * stored channel that takes it (a hook channel: one per configured hook).
 * Set *n.  Caller frees with channel_rows_free.
 */
char **
channel_rows(const struct fu_config *cf, const char *kind,
    enum channel_to to, int *n)
{
	char	**rows = NULL;
	size_t	  i;

	*n = 0;
	for (i = 0; i < CHANNEL_N; i++) {
		if (channel_table[i]->follows == NULL &&
		    channel_table[i]->takes(kind, to))
			channel_table[i]->rows(cf, &rows, n);
	}
	return rows;
}

void
channel_rows_free(char **rows, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		free(rows[i]);
	free(rows);
}

/*
 * The notice an item carries, parsed once and kept with the item
 * (borrowed), or NULL if its payload is not valid JSON (then jerr, if
 * given, says why on the first try).
 */
json_t *
channel_item_notice(struct outbox_item *it, json_error_t *jerr)
{
	if (it->notice == NULL && !it->bad &&
	    (it->notice = json_loads(it->payload, 0, jerr)) == NULL)
		it->bad = 1;
	return it->notice;
}

/* Stored channel ch delivered items[0..n): hand them to its followers. */
void
channel_follow(const struct fu_config *cf, const struct channel *ch,
    struct outbox_item *items, size_t n, time_t now)
{
	size_t	i;

	for (i = 0; i < CHANNEL_N; i++) {
		if (channel_table[i]->follows != NULL &&
		    strcmp(channel_table[i]->follows, ch->name) == 0)
			(void)channel_table[i]->deliver(cf, items, n, now,
			    NULL, NULL, NULL, NULL);
	}
}
