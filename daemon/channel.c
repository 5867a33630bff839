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
#include <sysexits.h>

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

/*
 * Add to rows (n of them) one row per configured hook, named prefix and
 * the command: the hook-run channels each keep their own rows.
 */
void
channel_hook_rows_add(const struct fu_config *cf, const char *prefix,
    char ***rows, int *n)
{
	int	i;

	*rows = xreallocarray(*rows, *n + cf->nhooks, sizeof **rows);
	for (i = 0; i < cf->nhooks; i++)
		xasprintf(&(*rows)[(*n)++], "%s%s", prefix, cf->hooks[i]);
}

/* Is row one of the channel whose rows start with prefix? */
int
channel_row_prefixed(const char *row, const char *prefix)
{
	return strncmp(row, prefix, strlen(prefix)) == 0;
}

/*
 * Why row (prefix and a hook command) can never go out, NULL if its hook
 * is still configured.
 */
const char *
channel_hook_row_gone(const struct fu_config *cf, const char *prefix,
    const char *row)
{
	const char	*command = row + strlen(prefix);
	int		 i;

	for (i = 0; i < cf->nhooks; i++) {
		if (strcmp(cf->hooks[i], command) == 0)
			return NULL;
	}
	return "the hook is no longer configured";
}

/*
 * Does a hook's failure say its notices can never be delivered?  The
 * sysexits codes of a bad request do (64 usage to 68 no such host: the
 * mail hook's 65 for an address it will not send to): every retry hands
 * the same notices to the same command, so retrying only puts off the
 * loud failure until hook_give_up.
 */
int
channel_hook_permanent(const struct hook_result *result)
{
	return result->exit_code >= EX_USAGE && result->exit_code <= EX_NOHOST;
}
