/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The hook channel: one delivery row per configured [reminders] hook,
 * named "hook:" and the command.  A group of notices goes to the command
 * as one message on stdin (with a Message-ID stable for the group) and a
 * small, clean environment; its exit status says delivered, retry, or
 * (a sysexits code of a bad request) give up.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outbox-internal.h"

#define CHANNEL_HOOK_PREFIX	"hook:"

/* One hook run under way. */
struct channel_hook_run {
	channel_done_cb	 done_cb;
	void		*arg;
	char		*command;
	char		*owner;
	size_t		 n;
};

static int
channel_hook_takes(const char *kind, enum channel_to to)
{
	return to == CHANNEL_TO_REP;
}

static void
channel_hook_rows(const struct fu_config *cf, char ***rows, int *n)
{
	channel_hook_rows_add(cf, CHANNEL_HOOK_PREFIX, rows, n);
}

static int
channel_hook_owns(const char *row)
{
	return channel_row_prefixed(row, CHANNEL_HOOK_PREFIX);
}

/* A row whose hook was taken out of the configuration is undeliverable. */
static const char *
channel_hook_gone(const struct fu_config *cf, const char *row)
{
	return channel_hook_row_gone(cf, CHANNEL_HOOK_PREFIX, row);
}

/*
 * A message id stable for this group of notices, whichever node sends
 * it: the notices' outbox ids and the database's identity, never the
 * host, so a group re-sent by another node after one died (or after a
 * move to another server) carries the first attempt's id. Caller frees.
 */
static char *
channel_hook_message_id(const struct outbox_item *items, size_t n)
{
	char		*id;
	uint32_t	 h = 2166136261u;
	size_t		 i;
	int64_t		 v;
	int		 b;

	for (i = 0; i < n; i++) {
		v = items[i].outbox_id;
		for (b = 0; b < 8; b++) {
			h ^= (uint32_t)(v & 0xff);
			h *= 16777619u;
			v >>= 8;
		}
	}
	xasprintf(&id, "<followup.%lld.%zu.%08x@%s.followupd>",
	    (long long)items[0].outbox_id, n, h, store_id(outbox_store));
	return id;
}

static void
channel_hook_env_add(char ***env, size_t *n, const char *name,
    const char *value)
{
	*env = xreallocarray(*env, *n + 2, sizeof **env);
	xasprintf(&(*env)[(*n)++], "%s=%s", name, value != NULL ? value : "");
	(*env)[*n] = NULL;
}

/* The small, clean environment a hook gets. Caller frees each string. */
static char **
channel_hook_env(json_t *message, const char *message_id)
{
	json_t		*first, *f, *rep;
	char		**env = NULL, buf[32];
	const char	*home = when_getenv("HOME");
	size_t		 n = 0;

	first = json_array_get(json_object_get(message, "notices"), 0);
	f = json_object_get(first, "followup");
	rep = json_object_get(message, "rep");
	channel_hook_env_add(&env, &n, "PATH",
	    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	channel_hook_env_add(&env, &n, "HOME", home != NULL ? home : "/");
	channel_hook_env_add(&env, &n, "LANG", "C.UTF-8");
	channel_hook_env_add(&env, &n, "FOLLOWUP_MESSAGE_ID", message_id);
	channel_hook_env_add(&env, &n, "FOLLOWUP_REP",
	    json_string_value(json_object_get(rep, "name")));
	channel_hook_env_add(&env, &n, "FOLLOWUP_REP_EMAIL",
	    json_string_value(json_object_get(rep, "email")));
	channel_hook_env_add(&env, &n, "FOLLOWUP_KIND",
	    json_string_value(json_object_get(first, "kind")));
	snprintf(buf, sizeof buf, "%zu",
	    json_array_size(json_object_get(message, "notices")));
	channel_hook_env_add(&env, &n, "FOLLOWUP_COUNT", buf);
	channel_hook_env_add(&env, &n, "FOLLOWUP_LATE",
	    json_is_true(json_object_get(first, "late")) ? "1" : "0");
	if (f != NULL) {
		snprintf(buf, sizeof buf, "%lld", (long long)
		    json_integer_value(json_object_get(f, "id")));
		channel_hook_env_add(&env, &n, "FOLLOWUP_ID", buf);
		snprintf(buf, sizeof buf, "%lld", (long long)
		    json_integer_value(json_object_get(f, "contact_id")));
		channel_hook_env_add(&env, &n, "FOLLOWUP_CONTACT_ID", buf);
		channel_hook_env_add(&env, &n, "FOLLOWUP_DUE_AT",
		    json_string_value(json_object_get(f, "due_at")));
		channel_hook_env_add(&env, &n, "FOLLOWUP_FOLLOWUP_KIND",
		    json_string_value(json_object_get(f, "kind")));
	}
	return env;
}

static void
channel_hook_env_free(char **env)
{
	char	**p;

	for (p = env; p != NULL && *p != NULL; p++)
		free(*p);
	free(env);
}

/* A hook run is over: report how, then say so in the journal. */
static void
channel_hook_done_cb(const struct hook_result *result, void *arg)
{
	struct channel_hook_run	*run = arg;
	enum channel_result	 r;

	if (result->ok)
		r = CHANNEL_DONE;
	else if (channel_hook_permanent(result))
		r = CHANNEL_GIVE_UP;
	else
		r = CHANNEL_RETRY;
	run->done_cb(r, result->error, run->arg);
	if (result->ok)
		log_info("outbox: %s delivered %zu notice%s for %s",
		    run->command, run->n, run->n == 1 ? "" : "s", run->owner);
	free(run->command);
	free(run->owner);
	free(run);
}

/*
 * Start the hook of items[0]'s row for items[0..n) (one rep, one claim):
 * the notices travel as one message.  A lease covers the hook's time
 * limit.
 */
static int
channel_hook_deliver(const struct fu_config *cf,
    struct outbox_item *items, size_t n, time_t now, channel_done_cb done_cb,
    void *arg, long *lease, char **cause)
{
	const char		*command = items[0].channel +
				    strlen(CHANNEL_HOOK_PREFIX);
	struct channel_hook_run	*run;
	json_t			*message, *notices, *notice;
	char			*id, *input, **env;
	size_t			 i;
	int			 rc;

	if (hooks_running() >= cf->hook_max)
		return CHANNEL_BUSY;
	notices = json_array();
	for (i = 0; i < n; i++) {
		if ((notice = channel_item_notice(&items[i], NULL)) != NULL)
			json_array_append(notices, notice);
	}
	id = channel_hook_message_id(items, n);
	message = json_pack("{s:s s:O s:o}", "message_id", id, "rep",
	    json_object_get(json_array_get(notices, 0), "rep"), "notices",
	    notices);
	input = json_dumps(message, JSON_COMPACT);
	env = channel_hook_env(message, id);
	run = xcalloc(1, sizeof *run);
	run->done_cb = done_cb;
	run->arg = arg;
	run->command = xstrdup(command);
	run->owner = xstrdup(items[0].owner);
	run->n = n;
	rc = hooks_spawn(command, env, input, strlen(input),
	    cf->hook_timeout * 1000, 0, channel_hook_done_cb, run, cause);
	channel_hook_env_free(env);
	free(input);
	free(id);
	json_decref(message);
	if (rc != 0) {
		free(run->command);
		free(run->owner);
		free(run);
		log_warnx_limited("hooks: cannot start", NULL, "hooks: %s",
		    *cause);
		return CHANNEL_FAILED;
	}
	*lease = cf->hook_timeout;
	return CHANNEL_STARTED;
}

const struct channel channel_hook = {
	.name = "hook",
	.takes = channel_hook_takes,
	.rows = channel_hook_rows,
	.owns = channel_hook_owns,
	.gone = channel_hook_gone,
	.deliver = channel_hook_deliver,
};
