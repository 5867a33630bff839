/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The contact channel: a confirmation the rep asked for goes to the
 * contact through each configured [reminders] hook (followup-mail builds
 * the mail), one row per hook named "contact:" and the command.  It takes
 * nothing else: reminders, digests, missed notices and summaries go to
 * reps only.  Each confirmation is a message of its own, and one that is
 * delivered is recorded in the contact's history; one given up is told
 * to the rep, in a notice of its own ("undelivered").
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outbox-internal.h"

#define CHANNEL_CONTACT_PREFIX	"contact:"

struct channel_contact_run {
	channel_done_cb	 done_cb;
	void		*arg;
	char		*owner;
	int64_t		 contact_id;
	char		*what;		/* the history's note */
};

/* Only the kinds a rep's own request makes go to a contact. */
static int
channel_contact_takes(const char *kind, enum channel_to to)
{
	return to == CHANNEL_TO_CONTACT &&
	    (strcmp(kind, "confirmation") == 0 ||
	    strcmp(kind, "cancellation") == 0);
}

static void
channel_contact_rows(const struct fu_config *cf, char ***rows, int *n)
{
	channel_hook_rows_add(cf, CHANNEL_CONTACT_PREFIX, rows, n);
}

static int
channel_contact_owns(const char *row)
{
	return channel_row_prefixed(row, CHANNEL_CONTACT_PREFIX);
}

static const char *
channel_contact_gone(const struct fu_config *cf, const char *row)
{
	return channel_hook_row_gone(cf, CHANNEL_CONTACT_PREFIX, row);
}

/* The contact's history says what went out, once it has. */
static void
channel_contact_record(struct channel_contact_run *run)
{
	struct fu_interaction	in;

	if (store_write_begin(outbox_store) != STORE_OK)
		return;
	memset(&in, 0, sizeof in);
	in.contact_id = run->contact_id;
	in.owner = run->owner;
	in.kind = "email";
	in.note = run->what;
	in.at = time(NULL);
	in.created_at = in.at;
	store_write_end(outbox_store,
	    store_interaction_insert(outbox_store, &in) == STORE_OK);
}

static void
channel_contact_done_cb(const struct hook_result *result, void *arg)
{
	struct channel_contact_run	*run = arg;

	if (result->ok)
		run->done_cb(CHANNEL_DONE, NULL, run->arg);
	else
		run->done_cb(channel_hook_permanent(result) ?
		    CHANNEL_GIVE_UP : CHANNEL_RETRY, result->error, run->arg);
	if (result->ok) {
		channel_contact_record(run);
		log_info("outbox: %s for %s sent to contact %lld", run->what,
		    run->owner, (long long)run->contact_id);
	}
	free(run->owner);
	free(run->what);
	free(run);
}

/* Hand items[0] (the channel sends each alone) to its hook. */
static int
channel_contact_deliver(const struct fu_config *cf,
    struct outbox_item *items, size_t n, time_t now, channel_done_cb done_cb,
    void *arg, long *lease, char **cause)
{
	const char			*command = items[0].channel +
					    strlen(CHANNEL_CONTACT_PREFIX), *home;
	struct channel_contact_run	*run;
	json_t				*notice, *message, *conf;
	char				*input, *env[5];
	int				 rc;
	size_t				 i;

	if (hooks_running() >= cf->hook_max)
		return CHANNEL_BUSY;
	if ((notice = channel_item_notice(&items[0], NULL)) == NULL) {
		xasprintf(cause, "confirmation %lld is not valid JSON",
		    (long long)items[0].outbox_id);
		return CHANNEL_FAILED;
	}
	conf = json_object_get(notice, "confirmation");
	/* One Message-ID for the confirmation at every attempt. */
	message = json_pack("{s:o s:O s:[O]}", "message_id", json_sprintf(
	    "<followup.%lld.confirm@followupd>",
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
	run->owner = xstrdup(items[0].owner);
	run->contact_id = json_integer_value(json_object_get(
	    json_object_get(notice, "contact"), "id"));
	xasprintf(&run->what, "%s sent for %s",
	    strcmp(items[0].kind, "cancellation") == 0 ? "cancellation" :
	    "confirmation", json_string_value(json_object_get(conf,
	    "time")));
	rc = hooks_spawn(command, env, input, strlen(input),
	    cf->hook_timeout * 1000, 0, channel_contact_done_cb, run, cause);
	for (i = 0; i < 4; i++)
		free(env[i]);
	free(input);
	json_decref(message);
	if (rc != 0) {
		free(run->owner);
		free(run->what);
		free(run);
		return CHANNEL_FAILED;
	}
	(void)n;
	(void)now;
	*lease = cf->hook_timeout;
	return CHANNEL_STARTED;
}

/*
 * The rep asked for it, so the rep hears that it could not be sent: the
 * notice to the rep's channels saying what, to whom and why (kind
 * "undelivered"), for the deliverer to queue.
 */
static json_t *
channel_contact_given_up(struct outbox_item *it, const char *error,
    time_t now)
{
	json_t		*notice, *conf, *to;
	const char	*what;
	char		*advice;

	if ((notice = channel_item_notice(it, NULL)) == NULL)
		return NULL;
	notice = json_deep_copy(notice);
	conf = json_object_get(notice, "confirmation");
	to = json_object_get(conf, "to");
	what = strcmp(it->kind, "cancellation") == 0 ? "cancellation" :
	    "confirmation";
	xasprintf(&advice, "the %s to %s <%s> for %s could not be sent (%s); "
	    "tell them yourself", what,
	    json_string_value(json_object_get(to, "name")),
	    json_string_value(json_object_get(to, "email")),
	    json_string_value(json_object_get(conf, "time")), error);
	json_object_set_new(notice, "undelivered", json_pack("{s:s s:O s:O "
	    "s:s}", "kind", what, "to", to, "time",
	    json_object_get(conf, "time"), "error", error));
	json_object_set_new(notice, "kind", json_string("undelivered"));
	json_object_set_new(notice, "advice", json_string(advice));
	json_object_set_new(notice, "fire_at", when_json(now));
	/* The letter and the invitation stay with the contact's copy. */
	json_object_del(notice, "confirmation");
	free(advice);
	return notice;
}

const struct channel channel_contact = {
	.name = "contact",
	.single = 1,
	.takes = channel_contact_takes,
	.rows = channel_contact_rows,
	.owns = channel_contact_owns,
	.gone = channel_contact_gone,
	.deliver = channel_contact_deliver,
	.given_up = channel_contact_given_up,
};
