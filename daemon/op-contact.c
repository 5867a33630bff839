/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The contact.* ops: add, get, update, archive, list, reassign and
 * import prospects.
 */

#include <config.h>

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "followupd.h"

/* Rows written by the list callbacks, as text. */
struct contact_rows {
	struct json_text *text;
	time_t		 now;
	int		 limit;
	int		 count;
	size_t		 bytes;		/* of text so far */
	int64_t		 last_id;
	int		 more;
};

/* Is s an email address a rep would type: one @, no blanks or brackets? */
static int
contact_email_ok(const char *s)
{
	const char	*at = strchr(s, '@'), *p;

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (isspace((unsigned char)*p) || strchr("<>()[],;:\"\\", *p))
			return 0;
	}
	return strchr(at + 1, '.') != NULL || strcmp(at + 1, "localhost") == 0;
}

/* Is s a phone number: digits with + ( ) - . / blanks and an x extension? */
static int
contact_phone_ok(const char *s)
{
	int	digits = 0;

	for (; *s != '\0'; s++) {
		if (isdigit((unsigned char)*s))
			digits++;
		else if (strchr("+()-./ x", *s) == NULL)
			return 0;
	}
	return digits > 0;
}

/*
 * Read the editable fields present in args into c (NULL clears an optional
 * one) and check each.  Return 0, or -1 with the error set.
 */
static int
contact_read_fields(struct op_ctx *ctx, json_t *args, struct fu_contact *c)
{
	static const struct {
		const char	*name;
		size_t		 offset;
		size_t		 max;
		int		 multiline;
	} fields[] = {
		{ "name", offsetof(struct fu_contact, name), FU_NAME_MAX, 0 },
		{ "company", offsetof(struct fu_contact, company),
		  FU_SHORT_MAX, 0 },
		{ "phone", offsetof(struct fu_contact, phone), FU_SHORT_MAX, 0 },
		{ "email", offsetof(struct fu_contact, email), FU_SHORT_MAX, 0 },
		{ "tz", offsetof(struct fu_contact, tz), FU_SHORT_MAX, 0 },
		{ "stage", offsetof(struct fu_contact, stage), FU_SHORT_MAX, 0 },
		{ "notes", offsetof(struct fu_contact, notes), FU_TEXT_MAX, 1 },
	};
	size_t	 i;
	char	*value, **field;
	int	 given;

	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (ops_text_arg(ctx, args, fields[i].name, fields[i].max,
		    fields[i].multiline, &value, &given) != 0)
			return -1;
		if (!given)
			continue;
		if (value == NULL && (strcmp(fields[i].name, "name") == 0 ||
		    strcmp(fields[i].name, "stage") == 0))
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "a contact's %s cannot be empty", fields[i].name);
		field = (char **)((char *)c + fields[i].offset);
		free(*field);
		*field = value;
	}
	if (c->name == NULL)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "a contact needs a name");
	if (c->email != NULL && !contact_email_ok(c->email))
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"%s\" is not an email address", c->email);
	if (c->phone != NULL && !contact_phone_ok(c->phone))
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"%s\" is not a phone number (digits, spaces, + ( ) - . / "
		    "and x for an extension)", c->phone);
	if (c->tz != NULL && !when_zone_valid(c->tz))
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "unknown time zone \"%s\" (use a name such as "
		    "Europe/Berlin)", c->tz);
	if (c->stage == NULL)
		c->stage = xstrdup(ctx->cf->open_stages[0]);
	else if (!config_stage_known(ctx->cf, c->stage))
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "unknown stage \"%s\"", c->stage);
	return 0;
}

/* contact.add: a new prospect owned by the caller. */
int
op_contact_add(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_contact	c;
	enum store_result	r;
	int			rc = -1;

	memset(&c, 0, sizeof c);
	if (contact_read_fields(ctx, args, &c) != 0)
		goto out;
	c.owner = xstrdup(ctx->user);
	c.created_at = c.updated_at = ctx->now;
	if ((r = store_contact_insert(ctx->st, &c)) != STORE_OK) {
		reply_store_error(ctx, r, "contact", 0);
		goto out;
	}
	*result = json_pack("{s:o}", "contact", contact_json(&c));
	rc = 0;
out:
	fu_contact_clear(&c);
	return rc;
}

/*
 * Write the promises array as text: one object per callback, its history
 * inside, then the time last agreed and the promise's state, which are
 * known once its last entry has come.
 */
struct contact_promises {
	struct json_text	*t;
	int			 open;		/* a callback is being written */
	int64_t			 cur_id;
	time_t			 agreed;	/* its last agreed time */
	char			*status;
	time_t			 done_at;
	const struct op_ctx	*ctx;
};

static void
contact_promise_finish(struct contact_promises *cp)
{
	if (!cp->open)
		return;
	json_text_close(cp->t, ']');
	json_text_key_lit(cp->t, "due_at");
	json_text_time(cp->t, cp->agreed);
	json_text_key_lit(cp->t, "state");
	json_text_str(cp->t, rules_promise_state(cp->status, cp->agreed,
	    cp->done_at, cp->ctx->now, cp->ctx->cf->callback_tolerance,
	    cp->ctx->cf->missed_grace));
	json_text_close(cp->t, '}');
	cp->open = 0;
}

static int
contact_promise_cb(const struct fu_promise *p, void *arg)
{
	struct contact_promises	*cp = arg;
	struct json_text	*t = cp->t;

	if (!cp->open || p->followup_id != cp->cur_id) {
		contact_promise_finish(cp);
		json_text_open(t, '{');
		json_text_key_lit(t, "followup_id");
		json_text_int(t, p->followup_id);
		json_text_key_lit(t, "status");
		json_text_str(t, p->status);
		json_text_key_lit(t, "done_at");
		json_text_time_or_null(t, p->done_at);
		json_text_key_lit(t, "history");
		json_text_open(t, '[');
		cp->open = 1;
		cp->cur_id = p->followup_id;
		cp->done_at = p->done_at;
		/* The row's text is only lent for this call. */
		free(cp->status);
		cp->status = p->status != NULL ? xstrdup(p->status) : NULL;
	}
	cp->agreed = p->due_at;
	json_text_open(t, '{');
	json_text_key_lit(t, "what");
	json_text_str(t, p->what);
	json_text_key_lit(t, "at");
	json_text_time(t, p->at);
	json_text_key_lit(t, "due_at");
	json_text_time(t, p->due_at);
	json_text_key_lit(t, "was_missed");
	json_text_bool(t, p->was_missed);
	json_text_key_lit(t, "note");
	json_text_str(t, p->note);
	if (p->previous_due_at != 0) {
		json_text_key_lit(t, "previous_due_at");
		json_text_time(t, p->previous_due_at);
	}
	json_text_close(t, '}');
	return 0;
}

static int
contact_text_interaction_cb(const struct fu_interaction *in, void *arg)
{
	interaction_text(arg, in);
	return 0;
}

static int
contact_text_followup_cb(const struct fu_followup *f, void *arg)
{
	struct contact_rows	*rows = arg;

	followup_text(rows->text, f, rows->now);
	return 0;
}

/*
 * contact.get: the contact with its history and follow-ups.  The reply
 * is written as text as the store's rows come (OP_TEXT): a contact with
 * a long history is read often, and a Jansson object per row and field
 * was most of its time.
 */
int
op_contact_get(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_contact		 c;
	struct store_followup_filter	 flt;
	struct contact_rows		 rows;
	struct contact_promises		 cp;
	struct json_text		*t = ctx->text;
	int64_t				 id = ops_int(args, "id", 0);
	enum store_result		 r;

	(void)result;
	if (ops_contact(ctx, id, &c) != 0)
		return -1;
	json_text_key_lit(t, "contact");
	contact_text(t, &c);
	json_text_key_lit(t, "interactions");
	json_text_open(t, '[');
	if ((r = store_interaction_list(ctx->st, c.owner, id, 0, 0, 0, 50,
	    contact_text_interaction_cb, t)) != STORE_OK)
		goto fail;
	json_text_close(t, ']');
	memset(&rows, 0, sizeof rows);
	rows.text = t;
	rows.now = ctx->now;
	memset(&flt, 0, sizeof flt);
	flt.owner = c.owner;
	flt.contact_id = id;
	flt.status = "pending";
	flt.limit = FU_LIST_MAX;
	json_text_key_lit(t, "followups");
	json_text_open(t, '[');
	if ((r = store_followup_list(ctx->st, &flt, contact_text_followup_cb,
	    &rows)) != STORE_OK)
		goto fail;
	flt.closed_recent = 1;
	flt.limit = 20;
	if ((r = store_followup_list(ctx->st, &flt, contact_text_followup_cb,
	    &rows)) != STORE_OK)
		goto fail;
	json_text_close(t, ']');
	memset(&cp, 0, sizeof cp);
	cp.t = t;
	cp.ctx = ctx;
	json_text_key_lit(t, "promises");
	json_text_open(t, '[');
	r = store_promise_list(ctx->st, c.owner, id, 50, contact_promise_cb,
	    &cp);
	contact_promise_finish(&cp);
	free(cp.status);
	if (r != STORE_OK)
		goto fail;
	json_text_close(t, ']');
	fu_contact_clear(&c);
	return 0;
fail:
	fu_contact_clear(&c);
	return reply_store_error(ctx, r, "contact", id);
}

/* contact.update: change the fields given. */
int
op_contact_update(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_contact	c;
	int64_t			id = ops_int(args, "id", 0);
	enum store_result	r;
	char			note[64];
	int			rc = -1, was_open, cancelled = 0;

	if (ops_contact(ctx, id, &c) != 0)
		return -1;
	was_open = config_stage_open(ctx->cf, c.stage);
	if (c.archived_at != 0) {
		reply_error(ctx, FU_ERR_CONFLICT, "contact %lld is archived; "
		    "restore it first", (long long)id);
		goto out;
	}
	if (json_is_null(json_object_get(args, "name"))) {
		reply_error(ctx, FU_ERR_BAD_REQUEST, "a contact needs a name");
		goto out;
	}
	if (contact_read_fields(ctx, args, &c) != 0)
		goto out;
	c.updated_at = ctx->now;
	if ((r = store_contact_update(ctx->st, &c)) != STORE_OK) {
		reply_store_error(ctx, r, "contact", id);
		goto out;
	}
	/* A closed deal needs no more follow-ups. */
	if (was_open && !config_stage_open(ctx->cf, c.stage)) {
		snprintf(note, sizeof note, "contact moved to %s", c.stage);
		if ((r = store_contact_cancel_pending(ctx->st, id, ctx->now,
		    note, &cancelled)) != STORE_OK) {
			reply_store_error(ctx, r, "contact", id);
			goto out;
		}
		if (cancelled > 0 &&
		    invite_note_contact(ctx, c.owner, id) != 0)
			goto out;
	}
	*result = json_pack("{s:o s:i}", "contact", contact_json(&c),
	    "cancelled", cancelled);
	rc = 0;
out:
	fu_contact_clear(&c);
	return rc;
}

/* contact.archive: hide a contact and cancel its follow-ups, or restore it. */
int
op_contact_archive(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_contact	c;
	int64_t			id = ops_int(args, "id", 0);
	int			restore = ops_bool(args, "restore");
	int			cancelled;
	enum store_result	r;

	if (ops_contact(ctx, id, &c) != 0)
		return -1;
	if (restore && c.archived_at == 0) {
		fu_contact_clear(&c);
		return reply_error(ctx, FU_ERR_CONFLICT,
		    "contact %lld is not archived", (long long)id);
	}
	if (!restore && c.archived_at != 0) {
		fu_contact_clear(&c);
		return reply_error(ctx, FU_ERR_CONFLICT,
		    "contact %lld is already archived", (long long)id);
	}
	fu_contact_clear(&c);
	r = store_contact_set_archived(ctx->st, ctx->scope, id, !restore,
	    ctx->now, &cancelled);
	if (r == STORE_OK)
		r = store_contact_get(ctx->st, ctx->scope, id, &c);
	if (r != STORE_OK)
		return reply_store_error(ctx, r, "contact", id);
	if (cancelled > 0 && invite_note_contact(ctx, c.owner, id) != 0) {
		fu_contact_clear(&c);
		return -1;
	}
	*result = json_pack("{s:o s:i}", "contact", contact_json(&c),
	    "cancelled", cancelled);
	fu_contact_clear(&c);
	return 0;
}

static int
contact_list_cb(const struct fu_contact *c, void *arg)
{
	struct contact_rows	*rows = arg;

	const char *const	 text[] = { c->owner, c->name, c->company,
				    c->phone, c->email, c->tz, c->stage,
				    c->notes };
	size_t			 i;

	if (rows->count == rows->limit ||
	    rows->bytes >= OPS_PAGE_BYTES) {
		rows->more = 1;
		return 1;
	}
	contact_text(rows->text, c);
	rows->count++;
	rows->last_id = c->id;
	for (i = 0; i < sizeof text / sizeof text[0]; i++)
		rows->bytes += text[i] != NULL ? strlen(text[i]) : 0;
	return 0;
}

/*
 * contact.list: the caller's contacts (or a rep's, or the team's for an
 * admin) by id, filtered, a page at a time.  The page is written as text
 * as the store's rows come (OP_TEXT): a page of 1,000 contacts built as
 * Jansson objects held the loop for about 6 ms.
 */
int
op_contact_list(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct store_contact_filter	 f;
	struct contact_rows		 rows;
	enum store_result		 r;
	int64_t				 limit, after;

	memset(&f, 0, sizeof f);
	limit = ops_int(args, "limit", FU_LIST_DEFAULT);
	after = ops_int(args, "after", 0);
	if (limit < 1 || limit > FU_LIST_MAX)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"limit\" must be from 1 to %d", FU_LIST_MAX);
	if (after < 0)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"after\" must be a contact id");
	if (ops_owner_arg(ctx, args, 1, &f.owner) != 0)
		return -1;
	f.stage = ops_str(args, "stage");
	if (f.stage != NULL && !config_stage_known(ctx->cf, f.stage))
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "unknown stage \"%s\"", f.stage);
	f.search = ops_str(args, "search");
	if (f.search != NULL && *f.search == '\0')
		f.search = NULL;
	if (f.search != NULL && strlen(f.search) > FU_SHORT_MAX)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"search\" is too long");
	f.archived = ops_bool(args, "archived");
	f.after = after;
	f.limit = (int)limit + 1;

	(void)result;
	memset(&rows, 0, sizeof rows);
	rows.text = ctx->text;
	rows.limit = (int)limit;
	json_text_key_lit(ctx->text, "contacts");
	json_text_open(ctx->text, '[');
	if ((r = store_contact_list(ctx->st, &f, contact_list_cb, &rows)) !=
	    STORE_OK)
		return reply_store_error(ctx, r, "", 0);
	json_text_close(ctx->text, ']');
	json_text_key_lit(ctx->text, "next_after");
	if (rows.more)
		json_text_int(ctx->text, rows.last_id);
	else
		json_text_null(ctx->text);
	return 0;
}

/*
 * contact.reassign: an admin gives a contact, its open follow-ups and its
 * history to another rep, who is reminded from then on.
 */
int
op_contact_reassign(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_contact	 c;
	int64_t			 id = ops_int(args, "id", 0);
	const char		*to = ops_str(args, "to");
	enum store_result	 r;
	int			 moved;

	if (!auth_user_exists(to))
		return reply_error(ctx, FU_ERR_NOT_FOUND, "there is no user "
		    "\"%.64s\"", to);
	if (ops_contact(ctx, id, &c) != 0)
		return -1;
	if (strcmp(c.owner, to) == 0) {
		*result = json_pack("{s:o s:i}", "contact", contact_json(&c),
		    "moved_followups", 0);
		reply_note(ctx, "contact %lld already belongs to %s",
		    (long long)id, to);
		fu_contact_clear(&c);
		return 0;
	}
	fu_contact_clear(&c);
	if ((r = store_contact_reassign(ctx->st, id, to, ctx->now, &moved)) !=
	    STORE_OK || (r = store_contact_get(ctx->st, NULL, id, &c)) !=
	    STORE_OK)
		return reply_store_error(ctx, r, "contact", id);
	log_info("contact: %s gave contact %lld and %d open follow-up%s to %s",
	    ctx->caller, (long long)id, moved, moved == 1 ? "" : "s", to);
	*result = json_pack("{s:o s:i}", "contact", contact_json(&c),
	    "moved_followups", moved);
	fu_contact_clear(&c);
	return 0;
}

/* Fields a record of contact.import may carry (archived is a boolean). */
static const char *const contact_import_fields[] = {
	"name", "company", "phone", "email", "tz", "stage", "notes",
	"archived", NULL
};

/* Do two optional strings differ? */
static int
contact_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* Did the editable fields of a contact change from a to b? */
static int
contact_changed(const struct fu_contact *a, const struct fu_contact *b)
{
	return contact_differs(a->name, b->name) ||
	    contact_differs(a->company, b->company) ||
	    contact_differs(a->phone, b->phone) ||
	    contact_differs(a->email, b->email) ||
	    contact_differs(a->tz, b->tz) ||
	    contact_differs(a->stage, b->stage) ||
	    contact_differs(a->notes, b->notes);
}

/* Take the message of the error just recorded, clearing it. Caller frees. */
static char *
contact_take_error(struct op_ctx *ctx)
{
	char	*msg = ctx->errmsg;

	ctx->errmsg = NULL;
	ctx->err = FU_ERR_NONE;
	return msg != NULL ? msg : xstrdup("invalid");
}

/*
 * Add the warning before "value" after to warnings; a value cut short in
 * the middle of a character is cleaned, so the warning is never lost.
 */
static void
contact_import_warn(json_t *warnings, const char *before, const char *value,
    const char *after)
{
	char	*text, *clean;

	xasprintf(&text, "%s\"%.64s\"%s", before, value, after);
	clean = ops_utf8_clean(text);
	json_array_append_new(warnings, json_string(clean));
	free(clean);
	free(text);
}

/*
 * Check record rec of contact.import: its shape (an object of known
 * string fields and an integer "line"), then the fields that can be left
 * out with a warning (a phone, zone or stage the daemon does not take).
 * Return the fields to use (caller decrefs), or NULL with *why set
 * (caller frees).
 */
static json_t *
contact_import_fields_of(struct op_ctx *ctx, json_t *rec, json_t *warnings,
    char **why)
{
	const char	*key, *v;
	const char	*const *f;
	char		*text;
	json_t		*fields, *value;

	*why = NULL;
	if (!json_is_object(rec)) {
		*why = xstrdup("a record must be an object");
		return NULL;
	}
	fields = json_object();
	json_object_foreach(rec, key, value) {
		if (strcmp(key, "line") == 0) {
			if (!json_is_integer(value) && !json_is_null(value)) {
				*why = xstrdup("\"line\" must be a number");
				goto fail;
			}
			continue;
		}
		for (f = contact_import_fields; *f != NULL; f++) {
			if (strcmp(*f, key) == 0)
				break;
		}
		if (*f == NULL) {
			xasprintf(&text, "unknown field \"%.32s\"", key);
			*why = ops_utf8_clean(text);
			free(text);
			goto fail;
		}
		if (strcmp(key, "archived") == 0) {
			if (!json_is_boolean(value) && !json_is_null(value)) {
				*why = xstrdup("\"archived\" must be true or "
				    "false");
				goto fail;
			}
			if (json_is_boolean(value))
				json_object_set(fields, key, value);
			continue;
		}
		if (!json_is_string(value) && !json_is_null(value)) {
			xasprintf(why, "\"%s\" must be a string", key);
			goto fail;
		}
		/* An import fills fields; it never clears one. */
		if (json_is_string(value) && json_string_length(value) > 0)
			json_object_set(fields, key, value);
	}
	if ((v = ops_str(fields, "phone")) != NULL && !contact_phone_ok(v)) {
		contact_import_warn(warnings, "", v, " is not a phone "
		    "number; left out");
		json_object_del(fields, "phone");
	}
	if ((v = ops_str(fields, "tz")) != NULL && !when_zone_valid(v)) {
		contact_import_warn(warnings, "unknown time zone ", v,
		    "; left out");
		json_object_del(fields, "tz");
	}
	if ((v = ops_str(fields, "stage")) != NULL &&
	    !config_stage_known(ctx->cf, v)) {
		contact_import_warn(warnings, "unknown stage ", v,
		    "; left out");
		json_object_del(fields, "stage");
	}
	return fields;
fail:
	json_decref(fields);
	return NULL;
}

/*
 * Import one record for owner: update the owner's contact with the same
 * email (any case), else add one; a record that says it is archived
 * archives the contact, as an export of archived contacts read back must.
 * Return the record's result object, or NULL after a store error (set in
 * ctx).
 */
static json_t *
contact_import_one(struct op_ctx *ctx, json_t *rec, const char *owner,
    int dry_run)
{
	struct fu_contact	 c, before;
	json_t			*fields, *out, *warnings;
	const char		*email, *status = NULL;
	char			*why = NULL, note[64];
	int64_t			 ids[2];
	size_t			 n = 0;
	int			 cancelled, archive;
	enum store_result	 r;

	memset(&c, 0, sizeof c);
	memset(&before, 0, sizeof before);
	archive = json_is_true(json_object_get(rec, "archived"));
	warnings = json_array();
	out = json_object();
	json_object_set_new(out, "line", json_is_integer(json_object_get(rec,
	    "line")) ? json_incref(json_object_get(rec, "line")) :
	    json_null());
	if ((fields = contact_import_fields_of(ctx, rec, warnings, &why)) ==
	    NULL)
		goto skip;
	json_object_set_new(out, "name", json_is_string(json_object_get(fields,
	    "name")) ? json_incref(json_object_get(fields, "name")) :
	    json_null());

	email = ops_str(fields, "email");
	if (email != NULL && contact_email_ok(email) &&
	    (r = store_contact_find_email(ctx->st, owner, email, ids, 2,
	    &n)) != STORE_OK) {
		reply_store_error(ctx, r, "", 0);
		goto fail;
	}
	if (n > 1) {
		xasprintf(&why, "%s is the email of contacts %lld and %lld "
		    "already", email, (long long)ids[0], (long long)ids[1]);
		goto skip;
	}
	if (n == 1) {
		if ((r = store_contact_get(ctx->st, owner, ids[0], &before)) !=
		    STORE_OK || (r = store_contact_get(ctx->st, owner, ids[0],
		    &c)) != STORE_OK) {
			reply_store_error(ctx, r, "contact", ids[0]);
			goto fail;
		}
		json_object_set_new(out, "id", json_integer(c.id));
		/* The same address in another case stays as it was. */
		json_object_del(fields, "email");
		if (c.archived_at == 0 || archive) {
			if (contact_read_fields(ctx, fields, &c) != 0) {
				why = contact_take_error(ctx);
				goto skip;
			}
		}
		/* An archived contact is left alone, unless nothing changes. */
		if (c.archived_at != 0 && (!archive ||
		    contact_changed(&before, &c))) {
			xasprintf(&why, "contact %lld with this email is "
			    "archived; restore it first", (long long)c.id);
			goto skip;
		}
		status = "unchanged";
		if (contact_changed(&before, &c)) {
			c.updated_at = ctx->now;
			if ((r = store_contact_update(ctx->st, &c)) !=
			    STORE_OK) {
				reply_store_error(ctx, r, "contact", c.id);
				goto fail;
			}
			status = "updated";
			/* A closed deal needs no more follow-ups. */
			if (config_stage_open(ctx->cf, before.stage) &&
			    !config_stage_open(ctx->cf, c.stage)) {
				snprintf(note, sizeof note, "contact moved to "
				    "%s", c.stage);
				if ((r = store_contact_cancel_pending(ctx->st,
				    c.id, ctx->now, note, &cancelled)) !=
				    STORE_OK) {
					reply_store_error(ctx, r, "contact",
					    c.id);
					goto fail;
				}
				json_object_set_new(out, "cancelled",
				    json_integer(cancelled));
				if (cancelled > 0 && invite_note_contact(ctx,
				    owner, c.id) != 0)
					goto fail;
			}
		}
		if (c.archived_at == 0 && archive) {
			if ((r = store_contact_set_archived(ctx->st, owner,
			    c.id, 1, ctx->now, &cancelled)) != STORE_OK) {
				reply_store_error(ctx, r, "contact", c.id);
				goto fail;
			}
			if (cancelled > 0 &&
			    invite_note_contact(ctx, owner, c.id) != 0)
				goto fail;
			status = "updated";
			json_object_set_new(out, "cancelled",
			    json_integer(cancelled + json_integer_value(
			    json_object_get(out, "cancelled"))));
		}
	} else {
		if (contact_read_fields(ctx, fields, &c) != 0) {
			why = contact_take_error(ctx);
			goto skip;
		}
		c.owner = xstrdup(owner);
		c.created_at = c.updated_at = ctx->now;
		if ((r = store_contact_insert(ctx->st, &c)) != STORE_OK ||
		    (archive && (r = store_contact_set_archived(ctx->st,
		    owner, c.id, 1, ctx->now, &cancelled)) != STORE_OK)) {
			reply_store_error(ctx, r, "contact", 0);
			goto fail;
		}
		/* A dry run's ids are rolled back with the rest. */
		json_object_set_new(out, "id", dry_run ? json_null() :
		    json_integer(c.id));
		status = "added";
	}
	json_object_set_new(out, "status", json_string(status));
	goto done;
skip:
	json_object_set_new(out, "status", json_string("skipped"));
	json_object_set_new(out, "reason", json_string(why));
done:
	if (json_object_get(out, "id") == NULL)
		json_object_set_new(out, "id", json_null());
	if (json_array_size(warnings) > 0)
		json_object_set(out, "warnings", warnings);
	json_decref(warnings);
	json_decref(fields);
	free(why);
	fu_contact_clear(&c);
	fu_contact_clear(&before);
	return out;
fail:
	json_decref(warnings);
	json_decref(fields);
	json_decref(out);
	free(why);
	fu_contact_clear(&c);
	fu_contact_clear(&before);
	return NULL;
}

/*
 * contact.import: add or update many contacts at once, matched by email.
 * Each record succeeds or is skipped on its own; a dry run does all of it
 * and then undoes it, so it reports exactly what a real run would do.
 */
int
op_contact_import(struct op_ctx *ctx, json_t *args, json_t **result)
{
	json_t		*records = json_object_get(args, "contacts");
	json_t		*results, *rec, *one, *counts;
	const char	*owner, *status;
	int		 dry_run = ops_bool(args, "dry_run");
	size_t		 i;

	if (json_array_size(records) > FU_IMPORT_MAX)
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "at most %d "
		    "contacts a request; send the rest in another",
		    FU_IMPORT_MAX);
	if (ops_owner_arg(ctx, args, 0, &owner) != 0)
		return -1;
	if (strcmp(owner, ctx->user) != 0 && !auth_user_exists(owner))
		return reply_error(ctx, FU_ERR_NOT_FOUND, "there is no user "
		    "\"%.64s\"", owner);
	results = json_array();
	counts = json_pack("{s:i s:i s:i s:i}", "added", 0, "updated", 0,
	    "unchanged", 0, "skipped", 0);
	json_array_foreach(records, i, rec) {
		if ((one = contact_import_one(ctx, rec, owner, dry_run)) ==
		    NULL) {
			json_decref(results);
			json_decref(counts);
			return -1;
		}
		status = ops_str(one, "status");
		json_object_set_new(counts, status, json_integer(
		    json_integer_value(json_object_get(counts, status)) + 1));
		json_array_append_new(results, one);
	}
	if (dry_run)
		ctx->discard = 1;
	else if (json_integer_value(json_object_get(counts, "added")) +
	    json_integer_value(json_object_get(counts, "updated")) > 0)
		log_info("contact: %s imported %lld new and %lld updated "
		    "contacts for %s", ctx->caller, (long long)
		    json_integer_value(json_object_get(counts, "added")),
		    (long long)json_integer_value(json_object_get(counts,
		    "updated")), owner);
	*result = json_pack("{s:b s:o s:o}", "dry_run", dry_run, "counts",
	    counts, "results", results);
	return 0;
}
