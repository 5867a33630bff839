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

/*
 * The objects below are built field by field rather than with json_pack:
 * they are made for every row of every list, and json_pack parses its
 * format and checks each literal key anew each time.  A text the store
 * gives back that is not UTF-8 shows as null rather than losing the row.
 */
static void
obj_set(json_t *o, const char *key, json_t *v)
{
	if (v == NULL)
		v = json_null();
	if (json_object_set_new_nocheck(o, key, v) != 0)
		fatalx("objects: json_object_set_new_nocheck");
}

static void
obj_text(json_t *o, const char *key, const char *s)
{
	obj_set(o, key, obj_string_or_null(s));
}

static void
obj_int(json_t *o, const char *key, int64_t n)
{
	obj_set(o, key, json_integer((json_int_t)n));
}

/* A contact as the protocol shows it. Caller owns the reference. */
json_t *
contact_json(const struct fu_contact *c)
{
	json_t	*o = json_object();

	obj_int(o, "id", c->id);
	obj_text(o, "owner", c->owner);
	obj_text(o, "name", c->name);
	obj_text(o, "company", c->company);
	obj_text(o, "phone", c->phone);
	obj_text(o, "email", c->email);
	obj_text(o, "tz", c->tz);
	obj_text(o, "stage", c->stage);
	obj_text(o, "notes", c->notes);
	obj_set(o, "archived", json_boolean(c->archived_at != 0));
	obj_set(o, "archived_at", when_json_or_null(c->archived_at));
	obj_set(o, "last_activity_at", when_json_or_null(c->last_activity_at));
	obj_set(o, "created_at", when_json(c->created_at));
	obj_set(o, "updated_at", when_json(c->updated_at));
	return o;
}

/* An interaction as the protocol shows it. Caller owns the reference. */
json_t *
interaction_json(const struct fu_interaction *in)
{
	json_t	*o = json_object();

	obj_int(o, "id", in->id);
	obj_int(o, "contact_id", in->contact_id);
	obj_text(o, "owner", in->owner);
	obj_text(o, "kind", in->kind);
	obj_text(o, "outcome", in->outcome);
	obj_text(o, "note", in->note);
	obj_set(o, "at", when_json(in->at));
	obj_set(o, "created_at", when_json(in->created_at));
	return o;
}

/*
 * A follow-up as the protocol shows it; overdue is judged at now.  Caller
 * owns the reference.
 */
json_t *
followup_json(const struct fu_followup *f, time_t now)
{
	json_t	*o = json_object();
	int	 pending = f->status != NULL && f->status[0] == 'p';

	obj_int(o, "id", f->id);
	obj_int(o, "contact_id", f->contact_id);
	obj_text(o, "contact_name", f->contact_name);
	obj_text(o, "contact_tz", f->contact_tz);
	obj_text(o, "owner", f->owner);
	obj_text(o, "kind", f->kind);
	obj_text(o, "status", f->status);
	obj_set(o, "due_at", when_json(f->due_at));
	obj_text(o, "reason", f->reason);
	obj_set(o, "remind_before", f->remind_before >= 0 ?
	    json_integer(f->remind_before) : json_null());
	obj_set(o, "remind_at", when_json(f->remind_at));
	obj_int(o, "snoozes", f->snoozes);
	obj_int(o, "revision", f->revision);
	obj_text(o, "note", f->note);
	obj_set(o, "created_at", when_json(f->created_at));
	obj_set(o, "updated_at", when_json(f->updated_at));
	obj_set(o, "done_at", when_json_or_null(f->done_at));
	obj_set(o, "overdue", json_boolean(pending && f->due_at < now));
	obj_set(o, "automatic", json_boolean(f->automatic != 0));
	return o;
}

/*
 * The same three objects written straight as text, for the replies that
 * carry many of them (contact.get): no Jansson object per row and field.
 * Field for field the same as contact_json, interaction_json and
 * followup_json above, in the same order, with null where they have
 * null; test-json-text.c holds them to the same bytes.  Change both
 * together.
 */
void
contact_text(struct json_text *t, const struct fu_contact *c)
{
	json_text_open(t, '{');
	json_text_key_lit(t, "id");
	json_text_int(t, c->id);
	json_text_key_lit(t, "owner");
	json_text_str(t, c->owner);
	json_text_key_lit(t, "name");
	json_text_str(t, c->name);
	json_text_key_lit(t, "company");
	json_text_str(t, c->company);
	json_text_key_lit(t, "phone");
	json_text_str(t, c->phone);
	json_text_key_lit(t, "email");
	json_text_str(t, c->email);
	json_text_key_lit(t, "tz");
	json_text_str(t, c->tz);
	json_text_key_lit(t, "stage");
	json_text_str(t, c->stage);
	json_text_key_lit(t, "notes");
	json_text_str(t, c->notes);
	json_text_key_lit(t, "archived");
	json_text_bool(t, c->archived_at != 0);
	json_text_key_lit(t, "archived_at");
	json_text_time_or_null(t, c->archived_at);
	json_text_key_lit(t, "last_activity_at");
	json_text_time_or_null(t, c->last_activity_at);
	json_text_key_lit(t, "created_at");
	json_text_time(t, c->created_at);
	json_text_key_lit(t, "updated_at");
	json_text_time(t, c->updated_at);
	json_text_close(t, '}');
}

void
interaction_text(struct json_text *t, const struct fu_interaction *in)
{
	json_text_open(t, '{');
	json_text_key_lit(t, "id");
	json_text_int(t, in->id);
	json_text_key_lit(t, "contact_id");
	json_text_int(t, in->contact_id);
	json_text_key_lit(t, "owner");
	json_text_str(t, in->owner);
	json_text_key_lit(t, "kind");
	json_text_str(t, in->kind);
	json_text_key_lit(t, "outcome");
	json_text_str(t, in->outcome);
	json_text_key_lit(t, "note");
	json_text_str(t, in->note);
	json_text_key_lit(t, "at");
	json_text_time(t, in->at);
	json_text_key_lit(t, "created_at");
	json_text_time(t, in->created_at);
	json_text_close(t, '}');
}

void
followup_text(struct json_text *t, const struct fu_followup *f, time_t now)
{
	int	pending = f->status != NULL && f->status[0] == 'p';

	json_text_open(t, '{');
	json_text_key_lit(t, "id");
	json_text_int(t, f->id);
	json_text_key_lit(t, "contact_id");
	json_text_int(t, f->contact_id);
	json_text_key_lit(t, "contact_name");
	json_text_str(t, f->contact_name);
	json_text_key_lit(t, "contact_tz");
	json_text_str(t, f->contact_tz);
	json_text_key_lit(t, "owner");
	json_text_str(t, f->owner);
	json_text_key_lit(t, "kind");
	json_text_str(t, f->kind);
	json_text_key_lit(t, "status");
	json_text_str(t, f->status);
	json_text_key_lit(t, "due_at");
	json_text_time(t, f->due_at);
	json_text_key_lit(t, "reason");
	json_text_str(t, f->reason);
	json_text_key_lit(t, "remind_before");
	if (f->remind_before >= 0)
		json_text_int(t, f->remind_before);
	else
		json_text_null(t);
	json_text_key_lit(t, "remind_at");
	json_text_time(t, f->remind_at);
	json_text_key_lit(t, "snoozes");
	json_text_int(t, f->snoozes);
	json_text_key_lit(t, "revision");
	json_text_int(t, f->revision);
	json_text_key_lit(t, "note");
	json_text_str(t, f->note);
	json_text_key_lit(t, "created_at");
	json_text_time(t, f->created_at);
	json_text_key_lit(t, "updated_at");
	json_text_time(t, f->updated_at);
	json_text_key_lit(t, "done_at");
	json_text_time_or_null(t, f->done_at);
	json_text_key_lit(t, "overdue");
	json_text_bool(t, pending && f->due_at < now);
	json_text_key_lit(t, "automatic");
	json_text_bool(t, f->automatic != 0);
	json_text_close(t, '}');
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
