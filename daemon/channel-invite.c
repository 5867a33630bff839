/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The calendar channel: an invitation for the rep's own calendar
 * (invite.c) goes to the rep through each configured [reminders] hook
 * (followup-mail builds the iMIP mail), one row per hook named "invite:"
 * and the command.  It takes invitations only, and the other channels
 * take none: an invitation is not a reminder.  Each goes out on its own,
 * since a message carries one calendar part.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox-internal.h"

#define CHANNEL_INVITE_PREFIX	"invite:"

struct channel_invite_run {
	channel_done_cb	 done_cb;
	void		*arg;
};

static int
channel_invite_takes(const char *kind, enum channel_to to)
{
	return to == CHANNEL_TO_CALENDAR && strcmp(kind, "invitation") == 0;
}

static void
channel_invite_rows(const struct fu_config *cf, char ***rows, int *n)
{
	channel_hook_rows_add(cf, CHANNEL_INVITE_PREFIX, rows, n);
}

static int
channel_invite_owns(const char *row)
{
	return channel_row_prefixed(row, CHANNEL_INVITE_PREFIX);
}

static const char *
channel_invite_gone(const struct fu_config *cf, const char *row)
{
	return channel_hook_row_gone(cf, CHANNEL_INVITE_PREFIX, row);
}

static void
channel_invite_done_cb(const struct hook_result *result, void *arg)
{
	struct channel_invite_run	*run = arg;

	if (result->ok)
		run->done_cb(CHANNEL_DONE, NULL, run->arg);
	else
		run->done_cb(channel_hook_permanent(result) ?
		    CHANNEL_GIVE_UP : CHANNEL_RETRY, result->error, run->arg);
	free(run);
}

/* Hand items[0] (the channel sends each alone) to its hook. */
static int
channel_invite_deliver(const struct fu_config *cf,
    struct outbox_item *items, size_t n, time_t now, channel_done_cb done_cb,
    void *arg, long *lease, char **cause)
{
	const char			*command = items[0].channel +
					    strlen(CHANNEL_INVITE_PREFIX);
	struct channel_invite_run	*run;
	json_t				*notice, *message;
	const char			*home;
	char				*input, *env[5];
	int				 rc;
	size_t				 i;

	(void)n;
	(void)now;
	if ((notice = channel_item_notice(&items[0], NULL)) == NULL) {
		xasprintf(cause, "invitation %lld is not valid JSON",
		    (long long)items[0].outbox_id);
		return CHANNEL_FAILED;
	}
	/* Scheduled and closed within its window: the calendar never knew. */
	if (json_is_null(json_object_get(notice, "invitation")))
		return CHANNEL_DELIVERED;
	if (hooks_running() >= cf->hook_max)
		return CHANNEL_BUSY;
	/* One Message-ID for the invitation at every attempt. */
	message = json_pack("{s:o s:O s:[O]}", "message_id", json_sprintf(
	    "<followup.%lld.invite@followupd>",
	    (long long)items[0].outbox_id), "rep",
	    json_object_get(notice, "rep"), "notices", notice);
	input = json_dumps(message, JSON_COMPACT);
	xasprintf(&env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
	    "/usr/bin:/sbin:/bin");
	home = when_getenv("HOME");
	xasprintf(&env[1], "HOME=%s", home != NULL ? home : "/");
	xasprintf(&env[2], "LANG=C.UTF-8");
	xasprintf(&env[3], "FOLLOWUP_KIND=%s", items[0].kind);
	env[4] = NULL;
	run = xcalloc(1, sizeof *run);
	run->done_cb = done_cb;
	run->arg = arg;
	rc = hooks_spawn(command, env, input, strlen(input),
	    cf->hook_timeout * 1000, 0, channel_invite_done_cb, run, cause);
	for (i = 0; i < 4; i++)
		free(env[i]);
	free(input);
	json_decref(message);
	if (rc != 0) {
		free(run);
		return CHANNEL_FAILED;
	}
	*lease = cf->hook_timeout;
	return CHANNEL_STARTED;
}

const struct channel channel_invite = {
	.name = "invite",
	.single = 1,
	.takes = channel_invite_takes,
	.rows = channel_invite_rows,
	.owns = channel_invite_owns,
	.gone = channel_invite_gone,
	.deliver = channel_invite_deliver,
};
