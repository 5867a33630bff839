/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The followup.* ops: plan, look at, complete, move and cancel follow-ups
 * and callbacks.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "followupd.h"

#define FOLLOWUP_WORD(e, s)	s,
static const char *const followup_kinds[] = {
	FU_FOLLOWUP_KINDS(FOLLOWUP_WORD) NULL
};
static const char *const followup_statuses[] = {
	FU_FOLLOWUP_STATUSES(FOLLOWUP_WORD) NULL
};
#undef FOLLOWUP_WORD

/* How far in the past a new due time may be before it is a mistake. */
#define FOLLOWUP_PAST_SLACK	60

/*
 * How long ahead a follow-up is reminded: its own remind_before, else the
 * rep's lead setting, else the configured lead.
 */
static long
followup_lead(struct op_ctx *ctx, const char *owner, long remind_before)
{
	struct fu_user	u;
	long		lead = ctx->cf->lead, v;

	if (remind_before >= 0)
		return remind_before;
	if (store_user_get(ctx->st, owner, &u) == STORE_OK &&
	    u.lead != NULL && config_parse_duration(u.lead, &v) == 0)
		lead = v;
	fu_user_clear(&u);
	return lead;
}

/*
 * Plan f's first notice from now: the first stage (reminder ahead, due,
 * missed) that has not already passed, so a follow-up planned five minutes
 * ahead gets no reminder "ten minutes ago".
 */
static void
followup_plan_notices(struct op_ctx *ctx, struct fu_followup *f)
{
	struct rules_followup	rf;

	rf.callback = strcmp(f->kind, "callback") == 0;
	rf.due_at = f->due_at;
	rf.remind_at = f->remind_at;
	rf.grace = ctx->cf->missed_grace;
	f->notice_stage = rules_notice_next(NOTICE_REMINDER, &rf,
	    ctx->now - FOLLOWUP_PAST_SLACK, &f->notice_at);
}

/* Check a follow-up kind argument; NULL means the default. */
static int
followup_kind_arg(struct op_ctx *ctx, json_t *args, const char *name,
    const char **kind)
{
	*kind = ops_str(args, name);
	if (*kind == NULL)
		*kind = followup_kinds[0];
	else if (!fu_word_in(followup_kinds, *kind))
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"%s\" must be "
		    "followup or callback, not \"%s\"", name, *kind);
	return 0;
}

/* Refuse a due time in the past unless forced. */
static int
followup_check_future(struct op_ctx *ctx, const char *name, time_t due,
    int force)
{
	char	buf[WHEN_RFC3339_LEN];

	if (force || due >= ctx->now - FOLLOWUP_PAST_SLACK)
		return 0;
	when_format(due, buf, sizeof buf);
	return reply_error(ctx, FU_ERR_INVALID_TIME, "%s %s is in the past; "
	    "give a later date or time", name, buf);
}

/*
 * Schedule a pending follow-up of kind on contact c due at due, reminded
 * remind_before seconds ahead (-1: the rep's or the configured lead),
 * automatic when an outcome proposed it, proposed then being when that
 * interaction happened (0: the rep planned it), and fill f with it as
 * stored (caller clears f).  Used by followup.add, followup.done and
 * interaction.add.  Needs a write transaction.  Return 0, or -1 with the
 * error set.
 */
int
op_followup_create(struct op_ctx *ctx, const struct fu_contact *c, time_t due,
    const char *kind, const char *reason, long remind_before, time_t proposed,
    struct fu_followup *f)
{
	struct fu_promise	p;
	enum store_result	r;

	memset(f, 0, sizeof *f);
	if (c->archived_at != 0)
		return reply_error(ctx, FU_ERR_CONFLICT, "contact %lld is "
		    "archived; restore it first", (long long)c->id);
	f->contact_id = c->id;
	f->owner = xstrdup(c->owner);	/* the contact's rep is reminded */
	f->kind = xstrdup(kind);
	f->due_at = due;
	f->reason = reason != NULL ? xstrdup(reason) : NULL;
	f->remind_before = remind_before;
	f->remind_at = due - followup_lead(ctx, c->owner, remind_before);
	f->created_at = ctx->now;
	f->automatic = proposed != 0;
	f->proposed_at = proposed;
	followup_plan_notices(ctx, f);
	r = store_followup_insert(ctx->st, f);
	if (r == STORE_OK && strcmp(kind, "callback") == 0) {
		memset(&p, 0, sizeof p);
		p.followup_id = f->id;
		p.at = ctx->now;
		p.what = "agreed";
		p.due_at = due;
		r = store_promise_add(ctx->st, &p);
	}
	if (r == STORE_OK) {
		/*
		 * The row as stored, without reading it back: what the insert
		 * wrote, the contact's name and zone, and the table's
		 * defaults for the rest (never snoozed, no note, not moved).
		 */
		f->contact_name = xstrdup(c->name);
		f->contact_tz = c->tz != NULL ? xstrdup(c->tz) : NULL;
		f->status = xstrdup("pending");
		f->updated_at = f->created_at;
	}
	if (r != STORE_OK) {
		fu_followup_clear(f);
		return reply_store_error(ctx, r, "follow-up", 0);
	}
	if (invite_note(ctx, f->owner, f->id) != 0) {
		fu_followup_clear(f);
		return -1;
	}
	return 0;
}

/* Read the optional reason argument. */
static int
followup_reason_arg(struct op_ctx *ctx, json_t *args, char **reason)
{
	return ops_text_arg(ctx, args, "reason", FU_REASON_MAX, 1, reason,
	    NULL);
}

/* followup.add: plan a follow-up or a callback on a contact. */
int
op_followup_add(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_contact	 c;
	struct fu_followup	 f;
	const char		*kind;
	char			*zone = NULL, *reason = NULL;
	time_t			 due;
	long			 remind;
	int			 force = ops_bool(args, "force"), rc = -1;
	int			 confirm = ops_bool(args, "confirm");
	json_t			*message = NULL;

	if (followup_kind_arg(ctx, args, "kind", &kind) != 0 ||
	    followup_reason_arg(ctx, args, &reason) != 0 ||
	    ops_duration_arg(ctx, args, "remind_before", &remind) != 0) {
		free(reason);
		return -1;
	}
	/* Only a time agreed with the prospect is confirmed to them. */
	if (confirm && strcmp(kind, "callback") != 0) {
		free(reason);
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"confirm\" goes "
		    "with a callback the prospect agreed: give \"kind\": "
		    "\"callback\"");
	}
	if (ops_contact(ctx, ops_int(args, "contact", 0), &c) != 0) {
		free(reason);
		return -1;
	}
	if (ops_zone(ctx, args, &c, &zone) != 0 ||
	    ops_time_arg(ctx, args, "due", zone, &due) != 0 ||
	    followup_check_future(ctx, "due", due, force) != 0 ||
	    nextstep_check_week(ctx, &c, due, kind, force) != 0 ||
	    op_followup_create(ctx, &c, due, kind, reason, remind, 0,
	    &f) != 0)
		goto out;
	if (confirm && (confirm_check(ctx, &f, 0) != 0 ||
	    confirm_send(ctx, f.id, 0, &message) != 0)) {
		fu_followup_clear(&f);
		goto out;
	}
	/* The hottest write: its reply goes straight to text (OP_TEXT). */
	(void)result;
	json_text_key_lit(ctx->text, "followup");
	followup_text(ctx->text, &f, ctx->now);
	if (message != NULL) {
		json_text_key_lit(ctx->text, "confirmation");
		json_text_value(ctx->text, message);
		json_decref(message);
	}
	fu_followup_clear(&f);
	rc = 0;
out:
	free(zone);
	free(reason);
	fu_contact_clear(&c);
	return rc;
}

/* Fill f with the caller's follow-up id, or fail with not_found. */
static int
followup_get(struct op_ctx *ctx, int64_t id, struct fu_followup *f)
{
	enum store_result	r;

	if ((r = store_followup_get(ctx->st, ctx->scope, id, f)) != STORE_OK)
		return reply_store_error(ctx, r, "follow-up", id);
	return 0;
}

/* Fail with conflict unless f is pending. */
static int
followup_pending(struct op_ctx *ctx, const struct fu_followup *f)
{
	if (strcmp(f->status, "pending") == 0)
		return 0;
	return reply_error(ctx, FU_ERR_CONFLICT, "follow-up %lld is already "
	    "%s", (long long)f->id, f->status);
}

/* Reply with follow-up id as it now stands. */
static int
followup_reply(struct op_ctx *ctx, int64_t id, json_t **result)
{
	struct fu_followup	f;

	if (followup_get(ctx, id, &f) != 0)
		return -1;
	*result = json_pack("{s:o}", "followup", followup_json(&f, ctx->now));
	fu_followup_clear(&f);
	return 0;
}

/* One confirmation in followup.get's list. */
static int
followup_request_cb(const struct store_outbox_request *r, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s s:o s:o s:s s:o s:s?}",
	    "kind", r->kind, "time", when_json(r->due_at), "at",
	    when_json(r->created_at), "state", r->state, "sent_at",
	    r->sent_at != 0 ? when_json(r->sent_at) : json_null(), "error",
	    strcmp(r->state, "sent") != 0 ? r->error : NULL));
	return 0;
}

/*
 * followup.get: the follow-up, and what became of each confirmation to
 * its contact the rep asked for.
 */
int
op_followup_get(struct op_ctx *ctx, json_t *args, json_t **result)
{
	json_t			*list;
	const char		*owner;
	int64_t			 id = ops_int(args, "id", 0);
	enum store_result	 r = STORE_ERROR;

	if (followup_reply(ctx, id, result) != 0)
		return -1;
	owner = json_string_value(json_object_get(json_object_get(*result,
	    "followup"), "owner"));
	list = json_array();
	if (owner == NULL || (r = store_outbox_requests(ctx->st, owner, id,
	    followup_request_cb, list)) != STORE_OK) {
		json_decref(list);
		json_decref(*result);
		*result = NULL;
		return reply_store_error(ctx, r, "follow-up", id);
	}
	json_object_set_new(*result, "confirmations", list);
	return 0;
}

/* followup.done: complete it and, if asked, plan the next one. */
int
op_followup_done(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_followup	 f, next;
	struct fu_contact	 c;
	const char		*kind;
	char			*note = NULL, *reason = NULL, *zone = NULL;
	int64_t			 id = ops_int(args, "id", 0);
	time_t			 due;
	enum store_result	 r;
	int			 rc = -1, have_next = 0;

	memset(&c, 0, sizeof c);
	if (followup_get(ctx, id, &f) != 0)
		return -1;
	if (followup_pending(ctx, &f) != 0 ||
	    followup_kind_arg(ctx, args, "next_kind", &kind) != 0 ||
	    ops_text_arg(ctx, args, "note", FU_TEXT_MAX, 1, &note, NULL) != 0 ||
	    followup_reason_arg(ctx, args, &reason) != 0)
		goto out;
	if ((r = store_followup_close(ctx->st, ctx->scope, id, "done", note,
	    ctx->now)) != STORE_OK) {
		reply_store_error(ctx, r, "follow-up", id);
		goto out;
	}
	if (invite_note(ctx, f.owner, id) != 0)
		goto out;
	if (ops_str(args, "next") != NULL) {
		if (ops_contact(ctx, f.contact_id, &c) != 0 ||
		    ops_zone(ctx, args, &c, &zone) != 0 ||
		    ops_time_arg(ctx, args, "next", zone, &due) != 0 ||
		    followup_check_future(ctx, "next", due, 0) != 0 ||
		    nextstep_check_week(ctx, &c, due, kind,
		    ops_bool(args, "force")) != 0 ||
		    op_followup_create(ctx, &c, due, kind,
		    reason != NULL ? reason : f.reason, -1, 0, &next) != 0)
			goto out;
		have_next = 1;
	}
	fu_followup_clear(&f);
	if (followup_get(ctx, id, &f) != 0)
		goto out;
	*result = json_pack("{s:o s:o}", "followup", followup_json(&f, ctx->now),
	    "next", have_next ? followup_json(&next, ctx->now) : json_null());
	rc = 0;
out:
	if (have_next)
		fu_followup_clear(&next);
	fu_followup_clear(&f);
	fu_contact_clear(&c);
	free(note);
	free(reason);
	free(zone);
	return rc;
}

enum followup_move_mode {
	MOVE_SNOOZE,		/* put off by the rep */
	MOVE_RESCHEDULE,	/* a new time (agreed, for a callback) */
	MOVE_REAGREE		/* a callback's new time agreed */
};

/*
 * Move a pending follow-up to the time in argument name.  A callback
 * moved to a new agreed time records that it was re-agreed (and whether
 * it had been missed by then).
 */
static int
followup_move(struct op_ctx *ctx, json_t *args, const char *name,
    enum followup_move_mode mode, json_t **result)
{
	struct fu_followup	 f;
	struct fu_contact	 c;
	struct fu_promise	 p;
	json_t			*message = NULL;
	char			*zone = NULL, *note = NULL, *repzone;
	int64_t			 id = ops_int(args, "id", 0);
	time_t			 due, old_due, missed = 0;
	long			 lead;
	enum store_result	 r;
	int			 rc = -1, callback;
	int			 confirm = ops_bool(args, "confirm");

	memset(&c, 0, sizeof c);
	if (followup_get(ctx, id, &f) != 0)
		return -1;
	callback = strcmp(f.kind, "callback") == 0;
	if (mode == MOVE_REAGREE && !callback) {
		reply_error(ctx, FU_ERR_BAD_REQUEST, "follow-up %lld is not a "
		    "callback: only a time agreed with the prospect is "
		    "re-agreed; reschedule it instead", (long long)id);
		goto out;
	}
	if (followup_pending(ctx, &f) != 0 ||
	    (confirm && confirm_check(ctx, &f, 1) != 0) ||
	    ops_text_arg(ctx, args, "note", FU_TEXT_MAX, 1, &note, NULL) != 0 ||
	    ops_contact(ctx, f.contact_id, &c) != 0 ||
	    ops_zone(ctx, args, &c, &zone) != 0 ||
	    ops_time_arg(ctx, args, name, zone, &due) != 0)
		goto out;
	if (mode == MOVE_SNOOZE && due <= ctx->now) {
		reply_error(ctx, FU_ERR_INVALID_TIME, "snooze until a time in "
		    "the future");
		goto out;
	}
	if (followup_check_future(ctx, name, due, 0) != 0)
		goto out;
	/* A callback's earlier promise is the time last agreed, not snoozed. */
	old_due = f.due_at;
	if (callback && mode != MOVE_SNOOZE &&
	    (r = store_promise_last(ctx->st, id, &old_due)) != STORE_OK) {
		reply_store_error(ctx, r, "follow-up", id);
		goto out;
	}
	/*
	 * Snoozed or rescheduled into another week, a follow-up is one more
	 * attempt there: not into a week already at the voicemail limit.
	 */
	if (mode != MOVE_REAGREE && !nextstep_same_week(ctx, &c, f.due_at,
	    due) && nextstep_check_week(ctx, &c, due, f.kind,
	    ops_bool(args, "force")) != 0)
		goto out;
	/* Moved once missed, it still counts against the time it missed. */
	repzone = nextstep_rep_zone(ctx, f.owner);
	if (ctx->now > rules_followup_deadline(callback, old_due, repzone,
	    ctx->cf->missed_grace))
		missed = old_due;
	free(repzone);
	/* A moved follow-up is reminded afresh for its new time. */
	lead = followup_lead(ctx, f.owner, f.remind_before);
	f.due_at = due;
	f.remind_at = due - lead;
	followup_plan_notices(ctx, &f);
	if ((r = store_followup_set_due(ctx->st, &f, mode == MOVE_SNOOZE,
	    missed, ctx->now)) != STORE_OK) {
		reply_store_error(ctx, r, "follow-up", id);
		goto out;
	}
	if (invite_note(ctx, f.owner, id) != 0)
		goto out;
	if (callback && mode != MOVE_SNOOZE) {
		memset(&p, 0, sizeof p);
		p.followup_id = id;
		p.at = ctx->now;
		p.what = "reagreed";
		p.due_at = due;
		p.previous_due_at = old_due;
		p.was_missed = ctx->now > old_due + ctx->cf->missed_grace;
		p.note = note;
		if ((r = store_promise_add(ctx->st, &p)) != STORE_OK) {
			reply_store_error(ctx, r, "follow-up", id);
			goto out;
		}
	}
	/* The contact hears of the new time only when the rep asks. */
	if (confirm && confirm_send(ctx, id, 0, &message) != 0)
		goto out;
	if ((rc = followup_reply(ctx, id, result)) == 0 && confirm)
		json_object_set_new(*result, "confirmation", message);
	else if (confirm)
		json_decref(message);
out:
	fu_followup_clear(&f);
	fu_contact_clear(&c);
	free(zone);
	free(note);
	return rc;
}

/* followup.snooze: put it off for a while. */
int
op_followup_snooze(struct op_ctx *ctx, json_t *args, json_t **result)
{
	return followup_move(ctx, args, "until", MOVE_SNOOZE, result);
}

/* followup.reschedule: a new time (for a callback, a new agreed one). */
int
op_followup_reschedule(struct op_ctx *ctx, json_t *args, json_t **result)
{
	return followup_move(ctx, args, "due", MOVE_RESCHEDULE, result);
}

/* followup.reagree: a missed or imminent callback's new agreed time. */
int
op_followup_reagree(struct op_ctx *ctx, json_t *args, json_t **result)
{
	return followup_move(ctx, args, "due", MOVE_REAGREE, result);
}

/* followup.cancel */
int
op_followup_cancel(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_followup	 f;
	json_t			*message = NULL;
	char			*note = NULL;
	int64_t			 id = ops_int(args, "id", 0);
	enum store_result	 r;
	int			 rc = -1, confirm = ops_bool(args, "confirm");

	if (followup_get(ctx, id, &f) != 0)
		return -1;
	if (followup_pending(ctx, &f) != 0 ||
	    (confirm && confirm_check(ctx, &f, 1) != 0) ||
	    ops_text_arg(ctx, args, "note", FU_TEXT_MAX, 1, &note, NULL) != 0)
		goto out;
	if ((r = store_followup_close(ctx->st, ctx->scope, id, "cancelled",
	    note, ctx->now)) != STORE_OK) {
		reply_store_error(ctx, r, "follow-up", id);
		goto out;
	}
	if (invite_note(ctx, f.owner, id) != 0)
		goto out;
	if (confirm && confirm_send(ctx, id, 1, &message) != 0)
		goto out;
	if ((rc = followup_reply(ctx, id, result)) == 0 && confirm)
		json_object_set_new(*result, "confirmation", message);
	else if (confirm)
		json_decref(message);
out:
	fu_followup_clear(&f);
	free(note);
	return rc;
}

/*
 * Read the paging arguments of a list by due time: "limit" into
 * page->limit and the store's limit (one more row than the page holds,
 * to learn whether there is a next page), and "after" into flt.
 */
int
followup_page_arg(struct op_ctx *ctx, json_t *args,
    struct store_followup_filter *flt, struct followup_page *page)
{
	int64_t	limit = ops_int(args, "limit", FU_LIST_DEFAULT);
	int64_t	key[3];

	if (limit < 1 || limit > FU_LIST_MAX)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"limit\" must be from 1 to %d", FU_LIST_MAX);
	if (ops_cursor_arg(ctx, args, key, 3) != 0)
		return -1;
	flt->after_due = (time_t)key[0];
	flt->after_plain = key[1] != 0;
	flt->after_id = key[2];
	flt->limit = (int)limit + 1;
	page->limit = (int)limit;
	page->n = 0;
	page->bytes = 0;
	page->more = 0;
	return 0;
}

/* Add f to the page, or note that the page is full and stop. */
int
followup_page_cb(const struct fu_followup *f, void *arg)
{
	struct followup_page	*page = arg;
	const char *const	 text[] = { f->contact_name, f->owner,
				    f->reason, f->note };
	size_t			 i;

	if (page->n == page->limit || page->bytes >= OPS_PAGE_BYTES) {
		page->more = 1;
		return 1;
	}
	followup_text(page->text, f, page->now);
	page->n++;
	for (i = 0; i < sizeof text / sizeof text[0]; i++)
		page->bytes += text[i] != NULL ? strlen(text[i]) : 0;
	page->last[0] = f->due_at;
	page->last[1] = f->kind == NULL || strcmp(f->kind, "callback") != 0;
	page->last[2] = f->id;
	return 0;
}

/* Write the next_after of a page: the cursor of its last row, or null. */
void
followup_page_next(struct json_text *t, const struct followup_page *page)
{
	ops_next_after_text(t, page->more ? page->last : NULL, 3);
}

/*
 * followup.list: the caller's follow-ups by due time (or a rep's, or the
 * team's, for an admin); with a contact and no owner, that contact's
 * owner's.  A page at a time, written as text as the rows come (OP_TEXT).
 */
int
op_followup_list(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct store_followup_filter	 flt;
	struct followup_page		 page;
	struct fu_contact		 c;
	const char			*status = ops_str(args, "status");
	char				*zone = NULL;
	enum store_result		 r;
	int				 rc = -1;

	memset(&flt, 0, sizeof flt);
	memset(&c, 0, sizeof c);
	memset(&page, 0, sizeof page);
	if (followup_page_arg(ctx, args, &flt, &page) != 0)
		return -1;
	if (status == NULL)
		status = "pending";
	if (strcmp(status, "all") == 0)
		status = NULL;
	else if (!fu_word_in(followup_statuses, status))
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"status\" must "
		    "be pending, done, cancelled or all, not \"%s\"", status);
	if (ops_owner_arg(ctx, args, 1, &flt.owner) != 0)
		return -1;
	flt.status = status;
	flt.contact_id = ops_int(args, "contact", 0);
	if (flt.contact_id != 0 && ops_contact(ctx, flt.contact_id, &c) != 0)
		return -1;
	/* A contact named (and visible) speaks for its owner: an admin's
	 * list of a rep's contact is the rep's follow-ups on it. */
	if (flt.contact_id != 0 && ops_str(args, "owner") == NULL)
		flt.owner = c.owner;
	if (ops_zone(ctx, args, flt.contact_id != 0 ? &c : NULL, &zone) != 0)
		goto out;
	if (ops_str(args, "from") != NULL &&
	    ops_time_arg(ctx, args, "from", zone, &flt.from) != 0)
		goto out;
	if (ops_str(args, "to") != NULL &&
	    ops_time_arg(ctx, args, "to", zone, &flt.to) != 0)
		goto out;
	(void)result;
	page.text = ctx->text;
	page.now = ctx->now;
	json_text_key_lit(ctx->text, "followups");
	json_text_open(ctx->text, '[');
	if ((r = store_followup_list(ctx->st, &flt, followup_page_cb,
	    &page)) != STORE_OK) {
		reply_store_error(ctx, r, "", 0);
		goto out;
	}
	json_text_close(ctx->text, ']');
	followup_page_next(ctx->text, &page);
	rc = 0;
out:
	fu_contact_clear(&c);
	free(zone);
	return rc;
}
