/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * export: a rep's records (or, for an admin, a rep's or the team's) as
 * one document, an iCalendar of pending and recently closed follow-ups, a
 * CSV table or JSON, carried in the reply as a string.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "followupd.h"

#define DATA_WORD(e, s)	s,
static const char *const data_formats[] = {
	FU_EXPORT_FORMATS(DATA_WORD) NULL
};
static const char *const data_tables[] = {
	FU_EXPORT_TABLES(DATA_WORD) NULL
};
#undef DATA_WORD

/*
 * How long a closed follow-up stays in the calendar, as a cancelled
 * event, so a calendar that imports the next export drops it.
 */
#define DATA_ICS_CLOSED_DAYS	30

struct data_rows {
	json_t		*array;
	time_t		 now;
};

static int
data_contact_cb(const struct fu_contact *c, void *arg)
{
	json_array_append_new(arg, contact_json(c));
	return 0;
}

static int
data_interaction_cb(const struct fu_interaction *in, void *arg)
{
	json_array_append_new(arg, interaction_json(in));
	return 0;
}

static int
data_followup_cb(const struct fu_followup *f, void *arg)
{
	struct data_rows	*rows = arg;

	json_array_append_new(rows->array, followup_json(f, rows->now));
	return 0;
}

/*
 * Gather owner's records (the team's if NULL) into data: contacts always,
 * interactions if asked, and follow-ups (all of them, or if closed_since
 * is set, the pending ones and those closed since then).
 */
static enum store_result
data_collect(struct op_ctx *ctx, const char *owner, int interactions,
    time_t closed_since, json_t *data)
{
	struct store_followup_filter	flt;
	struct data_rows		rows;
	enum store_result		r;

	json_object_set_new(data, "contacts", json_array());
	json_object_set_new(data, "interactions", json_array());
	json_object_set_new(data, "followups", json_array());
	if ((r = store_contact_dump(ctx->st, owner, data_contact_cb,
	    json_object_get(data, "contacts"))) != STORE_OK)
		return r;
	if (interactions && (r = store_interaction_dump(ctx->st, owner,
	    data_interaction_cb, json_object_get(data, "interactions"))) !=
	    STORE_OK)
		return r;
	memset(&flt, 0, sizeof flt);
	flt.owner = owner;
	flt.closed_since = closed_since;
	flt.limit = INT32_MAX;
	rows.array = json_object_get(data, "followups");
	rows.now = ctx->now;
	return store_followup_list(ctx->st, &flt, data_followup_cb, &rows);
}

/*
 * export: the document in "document", with its format and how many
 * records of each kind it holds.
 */
int
op_export(struct op_ctx *ctx, json_t *args, json_t **result)
{
	const char		*format = ops_str(args, "format");
	const char		*what = ops_str(args, "what");
	int			 bom = ops_bool(args, "bom");
	const char		*owner;
	json_t			*data, *counts;
	char			*doc = NULL, *name;
	enum store_result	 r;
	int			 ics, csv;

	if (!fu_word_in(data_formats, format))
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "unknown export "
		    "format \"%.32s\" (ics, csv or json)", format);
	ics = strcmp(format, "ics") == 0;
	csv = strcmp(format, "csv") == 0;
	if (what != NULL && !csv)
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"what\" chooses "
		    "the table of a CSV export");
	if (bom && !csv)
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"bom\" is for a "
		    "CSV export");
	if (what == NULL)
		what = "contacts";
	if (!fu_word_in(data_tables, what))
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "unknown table "
		    "\"%.32s\" (contacts, interactions or followups)", what);
	if (ops_owner_arg(ctx, args, 1, &owner) != 0)
		return -1;

	/* Interactions are read only for the documents that hold them. */
	data = json_object();
	if ((r = data_collect(ctx, owner, csv ? strcmp(what, "interactions") ==
	    0 : !ics, ics ? ctx->now - DATA_ICS_CLOSED_DAYS * 86400 : 0,
	    data)) != STORE_OK) {
		json_decref(data);
		return reply_store_error(ctx, r, "", 0);
	}
	counts = json_object();
	if (ics) {
		xasprintf(&name, "Follow-ups (%s)", owner != NULL ? owner :
		    "team");
		doc = export_ics(data, store_id(ctx->st), name, owner == NULL,
		    ctx->now);
		free(name);
		json_object_set_new(counts, "followups",
		    json_integer(json_array_size(json_object_get(data,
		    "followups"))));
	} else if (csv) {
		doc = export_csv(data, what, bom);
		json_object_set_new(counts, what,
		    json_integer(json_array_size(json_object_get(data, what))));
	} else {
		json_object_set_new(data, "exported_at", when_json(ctx->now));
		doc = json_dumps(data, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (doc == NULL)
			fatalx("export: cannot serialise");
		doc = xreallocarray(doc, strlen(doc) + 2, 1);
		strcat(doc, "\n");
		json_object_set_new(counts, "contacts",
		    json_integer(json_array_size(json_object_get(data,
		    "contacts"))));
		json_object_set_new(counts, "interactions",
		    json_integer(json_array_size(json_object_get(data,
		    "interactions"))));
		json_object_set_new(counts, "followups",
		    json_integer(json_array_size(json_object_get(data,
		    "followups"))));
	}
	json_decref(data);
	*result = json_pack("{s:s s:s? s:o s:s}", "format", format,
	    "what", csv ? what : NULL, "counts", counts, "document", doc);
	free(doc);
	return 0;
}
