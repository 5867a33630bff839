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

struct agenda_rows {
	json_t	*array;
	time_t	 now;
};

static int
agenda_followup_cb(const struct fu_followup *f, void *arg)
{
	struct agenda_rows	*rows = arg;

	json_array_append_new(rows->array, followup_json(f, rows->now));
	return 0;
}

static int
agenda_stale_cb(const struct fu_contact *c, void *arg)
{
	json_array_append_new(arg, contact_json(c));
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
 */
int
op_agenda(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct store_followup_filter	 flt;
	struct agenda_rows		 overdue, due;
	struct store_stale		 ss;
	json_t				*stale;
	char				*zone = NULL;
	const char			*owner;
	time_t				 from, to;
	enum store_result		 r;

	if (ops_owner_arg(ctx, args, 1, &owner) != 0 ||
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
	overdue.array = json_array();
	overdue.now = due.now = ctx->now;
	due.array = json_array();
	stale = json_array();

	memset(&flt, 0, sizeof flt);
	flt.owner = owner;
	flt.status = "pending";
	flt.limit = FU_LIST_MAX;
	flt.to = ctx->now;
	if ((r = store_followup_list(ctx->st, &flt, agenda_followup_cb,
	    &overdue)) != STORE_OK)
		goto fail;
	flt.from = from > ctx->now ? from : ctx->now;
	flt.to = to;
	if (flt.from < flt.to && (r = store_followup_list(ctx->st, &flt,
	    agenda_followup_cb, &due)) != STORE_OK)
		goto fail;
	config_stale(ctx->cf, &ss);
	if ((r = store_contact_stale(ctx->st, owner, &ss, ctx->now,
	    AGENDA_STALE_MAX, agenda_stale_cb, stale)) != STORE_OK)
		goto fail;
	*result = json_pack("{s:o s:o s:s s:o s:o s:o}",
	    "from", when_json(from), "to", when_json(to), "tz", zone,
	    "overdue", overdue.array, "due", due.array, "stale", stale);
	free(zone);
	return 0;
fail:
	json_decref(overdue.array);
	json_decref(due.array);
	json_decref(stale);
	free(zone);
	return reply_store_error(ctx, r, "", 0);
}
