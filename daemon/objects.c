/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The protocol's objects: how a contact, an interaction, a follow-up and a
 * user look on the wire.  Every reply builds them here, so one object
 * always has the same fields.
 */

#include <config.h>

#include "followupd.h"

static json_t *
obj_string_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* A contact as the protocol shows it. Caller owns the reference. */
json_t *
contact_json(const struct fu_contact *c)
{
	return json_pack("{s:I s:s s:s s:o s:o s:o s:o s:s s:o s:b s:o s:o "
	    "s:o s:o}",
	    "id", (json_int_t)c->id,
	    "owner", c->owner,
	    "name", c->name,
	    "company", obj_string_or_null(c->company),
	    "phone", obj_string_or_null(c->phone),
	    "email", obj_string_or_null(c->email),
	    "tz", obj_string_or_null(c->tz),
	    "stage", c->stage,
	    "notes", obj_string_or_null(c->notes),
	    "archived", c->archived_at != 0,
	    "archived_at", when_json_or_null(c->archived_at),
	    "last_activity_at", when_json_or_null(c->last_activity_at),
	    "created_at", when_json(c->created_at),
	    "updated_at", when_json(c->updated_at));
}

/* An interaction as the protocol shows it. Caller owns the reference. */
json_t *
interaction_json(const struct fu_interaction *in)
{
	return json_pack("{s:I s:I s:s s:s s:o s:o s:o s:o}",
	    "id", (json_int_t)in->id,
	    "contact_id", (json_int_t)in->contact_id,
	    "owner", in->owner,
	    "kind", in->kind,
	    "outcome", obj_string_or_null(in->outcome),
	    "note", obj_string_or_null(in->note),
	    "at", when_json(in->at),
	    "created_at", when_json(in->created_at));
}

/*
 * A follow-up as the protocol shows it; overdue is judged at now.  Caller
 * owns the reference.
 */
json_t *
followup_json(const struct fu_followup *f, time_t now)
{
	int	pending = f->status != NULL && f->status[0] == 'p';

	return json_pack("{s:I s:I s:o s:o s:s s:s s:s s:o s:o s:o s:o s:i s:i "
	    "s:o s:o s:o s:o s:b s:b}",
	    "id", (json_int_t)f->id,
	    "contact_id", (json_int_t)f->contact_id,
	    "contact_name", obj_string_or_null(f->contact_name),
	    "contact_tz", obj_string_or_null(f->contact_tz),
	    "owner", f->owner,
	    "kind", f->kind,
	    "status", f->status,
	    "due_at", when_json(f->due_at),
	    "reason", obj_string_or_null(f->reason),
	    "remind_before", f->remind_before >= 0 ?
		json_integer(f->remind_before) : json_null(),
	    "remind_at", when_json(f->remind_at),
	    "snoozes", f->snoozes,
	    "revision", f->revision,
	    "note", obj_string_or_null(f->note),
	    "created_at", when_json(f->created_at),
	    "updated_at", when_json(f->updated_at),
	    "done_at", when_json_or_null(f->done_at),
	    "overdue", pending && f->due_at < now,
	    "automatic", f->automatic != 0);
}

/* A user's settings as the protocol shows them. Caller owns the reference. */
json_t *
user_json(const struct fu_user *u)
{
	return json_pack("{s:s s:o s:o s:o s:o s:o s:o s:o s:o s:o s:s s:o}",
	    "name", u->name,
	    "display_name", obj_string_or_null(u->display_name),
	    "phone", obj_string_or_null(u->phone),
	    "uid", u->uid >= 0 ? json_integer(u->uid) : json_null(),
	    "email", obj_string_or_null(u->email),
	    "tz", obj_string_or_null(u->tz),
	    "digest", obj_string_or_null(u->digest),
	    "hours", obj_string_or_null(u->hours),
	    "workdays", obj_string_or_null(u->workdays),
	    "lead", obj_string_or_null(u->lead),
	    "calendar", u->calendar != NULL ? u->calendar : "off",
	    "updated_at", when_json_or_null(u->updated_at));
}

/* A rep's counts in a status reply. */
void
counts_json(json_t *obj, const struct store_contact_counts *n)
{
	json_object_set_new(obj, "contacts", json_integer(n->contacts));
	json_object_set_new(obj, "interactions",
	    json_integer(n->interactions));
	json_object_set_new(obj, "followups_pending",
	    json_integer(n->pending));
	json_object_set_new(obj, "overdue", json_integer(n->overdue));
}

/* Deliveries waiting, given up, and failing and waiting for a retry. */
void
outbox_stats_json(json_t *obj, const struct store_outbox_stats *os)
{
	json_object_set_new(obj, "outbox_backlog", json_integer(os->backlog));
	json_object_set_new(obj, "deliveries_failed",
	    json_integer(os->failed));
	json_object_set_new(obj, "deliveries_failing",
	    json_integer(os->failing));
}

/* What doctor reads of deliveries; absent times and errors are null. */
void
outbox_health_json(json_t *obj, const struct store_outbox_health *oh)
{
	json_object_set_new(obj, "oldest_waiting",
	    when_json_or_null(oh->oldest_waiting));
	json_object_set_new(obj, "last_hook_delivery",
	    when_json_or_null(oh->last_hook_delivery));
	json_object_set_new(obj, "retrying_error",
	    obj_string_or_null(oh->retrying_error));
	json_object_set_new(obj, "failed_error",
	    obj_string_or_null(oh->failed_error));
}

/* last_delivery (or null) and last_delivery_error (null or {at, error}). */
void
outbox_last_json(json_t *obj, const struct store_outbox_last *ol)
{
	json_object_set_new(obj, "last_delivery",
	    when_json_or_null(ol->delivery));
	if (ol->error != NULL)
		json_object_set_new(obj, "last_delivery_error", json_pack(
		    "{s:o s:s}", "at", when_json(ol->error_at), "error",
		    ol->error));
	else
		json_object_set_new(obj, "last_delivery_error", json_null());
}
