/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The journal channel: every notice becomes one journal line with the
 * fields that find it again (journalctl FOLLOWUP_USER=ana).  It always
 * exists and never fails, so the watchers follow it.
 */

#include <config.h>

#include <string.h>
#include <syslog.h>

#include "outbox-internal.h"

#define CHANNEL_JOURNAL		"journal"

static int
channel_journal_takes(const char *kind, enum channel_to to)
{
	return to == CHANNEL_TO_REP;
}

static void
channel_journal_rows(const struct fu_config *cf, char ***rows, int *n)
{
	*rows = xreallocarray(*rows, *n + 1, sizeof **rows);
	(*rows)[(*n)++] = xstrdup(CHANNEL_JOURNAL);
}

static int
channel_journal_owns(const char *row)
{
	return strcmp(row, CHANNEL_JOURNAL) == 0;
}

static const char *
channel_journal_gone(const struct fu_config *cf, const char *row)
{
	return NULL;
}

/* Priority of a notice kind in the journal. */
static int
channel_journal_priority(const char *kind)
{
	if (strcmp(kind, "missed") == 0 || strcmp(kind, "undelivered") == 0)
		return LOG_WARNING;
	if (strcmp(kind, "due") == 0 || strcmp(kind, "summary") == 0)
		return LOG_NOTICE;
	return LOG_INFO;
}

/* Log one notice to the journal. */
static void
channel_journal_log(struct outbox_item *it)
{
	json_t		*notice, *f, *c;
	json_error_t	 jerr;
	const char	*late, *advice;

	if ((notice = channel_item_notice(it, &jerr)) == NULL) {
		log_err("outbox: notice %lld is not valid JSON: %s",
		    (long long)it->outbox_id, jerr.text);
		return;
	}
	late = json_is_true(json_object_get(notice, "late")) ? " (late)" : "";
	f = json_object_get(notice, "followup");
	c = json_object_get(notice, "contact");
	advice = json_string_value(json_object_get(notice, "advice"));
	if (f != NULL)
		log_event(channel_journal_priority(it->kind), it->kind,
		    json_integer_value(json_object_get(f, "id")),
		    json_integer_value(json_object_get(f, "contact_id")),
		    it->owner, "%s%s: %s %lld with %s for %s, due %s%s%s",
		    it->kind, late, json_string_value(json_object_get(f,
		    "kind")),
		    (long long)json_integer_value(json_object_get(f, "id")),
		    json_string_value(json_object_get(c, "name")), it->owner,
		    json_string_value(json_object_get(f, "due_at")),
		    advice != NULL ? ": " : "", advice != NULL ? advice : "");
	else if (strcmp(it->kind, "digest") == 0)
		log_event(channel_journal_priority(it->kind), it->kind, 0, 0,
		    it->owner, "digest%s for %s: %zu overdue, %zu today, "
		    "%zu stale", late, it->owner,
		    json_array_size(json_object_get(notice, "overdue")),
		    json_array_size(json_object_get(notice, "today")),
		    json_array_size(json_object_get(notice, "stale")));
	else
		log_event(channel_journal_priority(it->kind), it->kind, 0, 0,
		    it->owner, "summary for %s: %lld notices came due while "
		    "followupd was down", it->owner, (long long)
		    json_integer_value(json_object_get(notice, "count")));
}

/* Log each notice; a line that cannot be read is logged as such. */
static int
channel_journal_deliver(const struct fu_config *cf,
    struct outbox_item *items, size_t n, time_t now, channel_done_cb done_cb,
    void *arg, long *lease, char **cause)
{
	size_t	i;

	for (i = 0; i < n; i++)
		channel_journal_log(&items[i]);
	return CHANNEL_DELIVERED;
}

const struct channel channel_journal = {
	.name = CHANNEL_JOURNAL,
	.takes = channel_journal_takes,
	.rows = channel_journal_rows,
	.owns = channel_journal_owns,
	.gone = channel_journal_gone,
	.deliver = channel_journal_deliver,
};
