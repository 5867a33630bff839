/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The agenda op: what a rep must do, overdue first, then by time, and the
 * prospects about to drop out of the pipeline.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "followupd.h"

/* Most stale contacts one agenda lists. */
#define AGENDA_STALE_MAX	100

static int
agenda_stale_cb(const struct fu_contact *c, void *arg)
{
	contact_text(arg, c);
	return 0;
}

/* Work out the window [*from, *to) the arguments ask for. */
static int
agenda_window(struct op_ctx *ctx, json_t *args, const char *zone,
    time_t *from, time_t *to)
{
	const char	*range = ops_str(args, "range");
	int		 has_day = ops_str(args, "day") != NULL;
	int		 has_from = ops_str(args, "from") != NULL;
	int		 has_to = ops_str(args, "to") != NULL;
	int		 start = 0, days = 1;
	time_t		 base = ctx->now;

	if ((range != NULL) + has_day + (has_from || has_to) > 1)
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "give one of "
		    "\"range\", \"day\" or \"from\"/\"to\"");
	if (has_from || has_to) {
		*from = ctx->now;
		if (has_from &&
		    ops_time_arg(ctx, args, "from", zone, from) != 0)
			return -1;
		if (has_to)
			return ops_time_arg(ctx, args, "to", zone, to);
		return when_day_start(*from, zone, 1, to) == 0 ? 0 :
		    reply_error(ctx, FU_ERR_INVALID_TIME, "cannot work out "
		    "the end of that day");
	}
	if (has_day) {
		if (ops_time_arg(ctx, args, "day", zone, &base) != 0)
			return -1;
	} else if (range == NULL || strcmp(range, "today") == 0)
		;
	else if (strcmp(range, "tomorrow") == 0)
		start = 1;
	else if (strcmp(range, "week") == 0)
		days = 7;
	else
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"range\" must be "
		    "today, tomorrow or week, not \"%s\"", range);
	if (when_day_start(base, zone, start, from) != 0 ||
	    when_day_start(base, zone, start + days, to) != 0)
		return reply_error(ctx, FU_ERR_INVALID_TIME,
		    "cannot work out the days in %s", zone);
	return 0;
}

/*
 * agenda: overdue, due in the window, and stale contacts: the acting
 * rep's, or for an admin a rep's or (owner "*") the whole team's.
 * Overdue and due are one list by due time, paged as followup.list is: a
 * page holds the overdue rows first, then the due ones.  Stale contacts,
 * a short list, come with the first page only.  Written as text as the
 * rows come (OP_TEXT): a rep's day can hold a thousand follow-ups.
 */
int
op_agenda(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct store_followup_filter	 flt;
	struct followup_page		 page;
	struct json_text		*t = ctx->text;
	struct store_stale		 ss;
	char				*zone = NULL;
	const char			*owner;
	time_t				 from, to;
	enum store_result		 r;

	(void)result;
	memset(&flt, 0, sizeof flt);
	memset(&page, 0, sizeof page);
	if (followup_page_arg(ctx, args, &flt, &page) != 0 ||
	    ops_owner_arg(ctx, args, 1, &owner) != 0 ||
	    ops_zone(ctx, args, NULL, &zone) != 0)
		return -1;
	if (agenda_window(ctx, args, zone, &from, &to) != 0) {
		free(zone);
		return -1;
	}
	if (to <= from) {
		free(zone);
		return reply_error(ctx, FU_ERR_INVALID_TIME,
		    "the window ends before it starts");
	}
	json_text_key_lit(t, "from");
	json_text_time(t, from);
	json_text_key_lit(t, "to");
	json_text_time(t, to);
	json_text_key_lit(t, "tz");
	json_text_str(t, zone);
	page.text = t;
	page.now = ctx->now;

	flt.owner = owner;
	flt.status = "pending";
	flt.to = ctx->now;
	json_text_key_lit(t, "overdue");
	json_text_open(t, '[');
	if ((r = store_followup_list(ctx->st, &flt, followup_page_cb,
	    &page)) != STORE_OK)
		goto fail;
	json_text_close(t, ']');
	flt.from = from > ctx->now ? from : ctx->now;
	flt.to = to;
	flt.limit = page.limit - page.n + 1;
	json_text_key_lit(t, "due");
	json_text_open(t, '[');
	if (!page.more && flt.from < flt.to && (r = store_followup_list(
	    ctx->st, &flt, followup_page_cb, &page)) != STORE_OK)
		goto fail;
	json_text_close(t, ']');
	config_stale(ctx->cf, &ss);
	json_text_key_lit(t, "stale");
	json_text_open(t, '[');
	if (flt.after_id == 0 && (r = store_contact_stale(ctx->st, owner,
	    &ss, ctx->now, AGENDA_STALE_MAX, agenda_stale_cb, t)) !=
	    STORE_OK)
		goto fail;
	json_text_close(t, ']');
	followup_page_next(t, &page);
	free(zone);
	return 0;
fail:
	free(zone);
	return reply_store_error(ctx, r, "", 0);
}
