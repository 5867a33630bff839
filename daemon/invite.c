/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Every follow-up in the rep's own calendar: with "calendar invite" set,
 * each follow-up the rep schedules, moves, completes or cancels sends the
 * rep an iMIP (RFC 6047) invitation, REQUEST while it is pending and
 * CANCEL once it is closed, so Outlook, Gmail or a phone shows the day
 * with no sync to set up.  The UID and SEQUENCE are the ones the ics
 * export gives, so importing both never duplicates.
 *
 * Changes come in bursts (schedule, then move, then move again), and a
 * calendar needs only the last word: a follow-up's invitation waits in
 * the outbox for INVITE_WINDOW seconds after its first change, and every
 * later change within that window replaces it.  Each message carries one
 * follow-up: Outlook and Gmail act on one calendar part per message and
 * show any further one as an attachment the rep must open by hand, so a
 * burst over several follow-ups goes out as one message each.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "followupd.h"

/* How long an invitation waits for more changes to its follow-up. */
#define INVITE_WINDOW		60
#define INVITE_KIND		"invitation"

/*
 * The notice for follow-up f of rep u as it stands now: its invitation,
 * whose summary names contact c.  Caller owns it.
 */
static json_t *
invite_notice(struct op_ctx *ctx, const struct fu_user *u,
    const struct fu_followup *f, const struct fu_contact *c, time_t fire)
{
	struct ical_invite	 inv;
	json_t			*notice;
	char			*uid, *cal, *summary;
	const char		*who = u->display_name != NULL ?
				    u->display_name : u->name;
	int			 closed = strcmp(f->status, "pending") != 0;

	uid = ical_uid(f->id, store_id(ctx->st));
	if (c->company != NULL)
		xasprintf(&summary, "%s %s (%s)", strcmp(f->kind,
		    "callback") == 0 ? "Call back" : "Follow up with",
		    c->name, c->company);
	else
		xasprintf(&summary, "%s %s", strcmp(f->kind, "callback") ==
		    0 ? "Call back" : "Follow up with", c->name);
	memset(&inv, 0, sizeof inv);
	inv.method = closed ? "CANCEL" : "REQUEST";
	inv.uid = uid;
	/* The ics export's SEQUENCE for the same state: one up once closed. */
	inv.sequence = f->revision + closed;
	inv.start = f->due_at;
	inv.summary = summary;
	inv.description = f->reason;
	/*
	 * A self-invitation: the rep organizes and attends.  Outlook files
	 * a request whose organizer is the mailbox itself as the organizer's
	 * own meeting, and Gmail adds an invitation to the calendar of an
	 * address it lists as an attendee; with both, each puts the event
	 * in the rep's calendar without asking for a reply to anyone else.
	 */
	inv.organizer_name = who;
	inv.organizer_email = u->email;
	inv.attendee_name = who;
	inv.attendee_email = u->email;
	/* The rep is reminded in the calendar when followupd would. */
	inv.alarm = f->remind_at != 0 && f->remind_at <= f->due_at ?
	    (long)(f->due_at - f->remind_at) : 0;
	inv.now = ctx->now;
	cal = ical_invite(&inv);
	notice = json_pack("{s:s s:b s:o s:{s:s s:s s:s} s:{s:s s:s s:I "
	    "s:s s:o s:s} s:o s:o}",
	    "kind", INVITE_KIND,
	    "late", 0,
	    "fire_at", when_json(fire),
	    "rep", "name", u->name, "email", u->email,
	    "tz", u->tz != NULL && when_zone_valid(u->tz) ? u->tz :
	    when_local_zone(),
	    "invitation", "method", inv.method, "uid", uid,
	    "sequence", (json_int_t)inv.sequence, "summary", summary,
	    "start", when_json(f->due_at), "calendar", cal,
	    "followup", followup_json(f, ctx->now),
	    "contact", contact_json(c));
	free(uid);
	free(cal);
	free(summary);
	return notice;
}

/*
 * Follow-up id of rep owner was just scheduled, moved, completed or
 * cancelled: if the rep has "calendar invite", queue its invitation as
 * it now stands, or update the one still waiting.  Needs a write
 * transaction, which it shares with the change: the invitation is
 * recorded with it or neither is.  Return 0, or -1 with the error set.
 */
int
invite_note(struct op_ctx *ctx, const char *owner, int64_t id)
{
	struct fu_user		 u;
	struct fu_followup	 f;
	struct fu_contact	 c;
	json_t			*notice, *old;
	char			*payload, *held = NULL;
	int64_t			 held_id;
	time_t			 fire = ctx->now + INVITE_WINDOW, held_fire;
	int			 fresh, closed, rc = -1;
	enum store_result	 r;

	/* Invitations go out through the hooks: with none, nothing does. */
	if (ctx->cf->nhooks == 0)
		return 0;
	store_user_get(ctx->st, owner, &u);
	if (u.calendar == NULL || strcmp(u.calendar, "invite") != 0 ||
	    u.email == NULL) {
		fu_user_clear(&u);
		return 0;
	}
	memset(&c, 0, sizeof c);
	if ((r = store_followup_get(ctx->st, owner, id, &f)) != STORE_OK) {
		fu_user_clear(&u);
		return reply_store_error(ctx, r, "follow-up", id);
	}
	if ((r = store_contact_get(ctx->st, owner, f.contact_id, &c)) !=
	    STORE_OK ||
	    (r = store_outbox_held(ctx->st, owner, INVITE_KIND, id, ctx->now,
	    &held_id, &held_fire, &held)) != STORE_OK) {
		reply_store_error(ctx, r, "follow-up", id);
		goto out;
	}
	closed = strcmp(f.status, "pending") != 0;
	if (held_id != 0) {
		/* The waiting invitation keeps its time and learns the news. */
		old = json_loads(held, 0, NULL);
		fresh = old != NULL && json_is_true(json_object_get(old,
		    "new"));
		fire = held_fire;
		json_decref(old);
	} else
		fresh = !closed && f.created_at == ctx->now;
	notice = invite_notice(ctx, &u, &f, &c, fire);
	json_object_set_new(notice, "new", json_boolean(fresh));
	/*
	 * Scheduled and closed within one window, the follow-up never
	 * reached the calendar: there is nothing to put in or take out.
	 */
	if (fresh && closed)
		json_object_set_new(notice, "invitation", json_null());
	payload = json_dumps(notice, JSON_COMPACT);
	if (held_id != 0)
		r = store_outbox_set_payload(ctx->st, held_id, payload);
	else if (outbox_request_calendar(ctx->st, ctx->cf, owner, INVITE_KIND,
	    id, payload, fire, ctx->now) != 0)
		r = store_last_result(ctx->st) != STORE_OK ?
		    store_last_result(ctx->st) : STORE_ERROR;
	else
		r = STORE_OK;
	free(payload);
	json_decref(notice);
	if (r != STORE_OK)
		reply_store_error(ctx, r, "follow-up", id);
	else
		rc = 0;
out:
	free(held);
	fu_contact_clear(&c);
	fu_followup_clear(&f);
	fu_user_clear(&u);
	return rc;
}

struct invite_closed {
	int64_t		*ids;
	size_t		 n;
	time_t		 now;
};

static int
invite_closed_cb(const struct fu_followup *f, void *arg)
{
	struct invite_closed	*ic = arg;

	/* Newest first: past those closed now, there is nothing more. */
	if (f->done_at != ic->now)
		return 1;
	ic->ids = xreallocarray(ic->ids, ic->n + 1, sizeof *ic->ids);
	ic->ids[ic->n++] = f->id;
	return 0;
}

/*
 * Contact id of rep owner just had its pending follow-ups cancelled (it
 * was archived, or its deal closed): note each one cancelled now.
 * Return 0, or -1 with the error set.
 */
int
invite_note_contact(struct op_ctx *ctx, const char *owner, int64_t id)
{
	struct store_followup_filter	 flt;
	struct invite_closed		 ic;
	enum store_result		 r;
	size_t				 i;
	int				 rc = 0;

	memset(&ic, 0, sizeof ic);
	ic.now = ctx->now;
	memset(&flt, 0, sizeof flt);
	flt.owner = owner;
	flt.contact_id = id;
	flt.limit = FU_LIST_MAX;
	flt.closed_recent = 1;
	/* Collected first: noting one writes, which a listing must not see. */
	if ((r = store_followup_list(ctx->st, &flt, invite_closed_cb, &ic)) !=
	    STORE_OK)
		rc = reply_store_error(ctx, r, "contact", id);
	for (i = 0; rc == 0 && i < ic.n; i++)
		rc = invite_note(ctx, owner, ic.ids[i]);
	free(ic.ids);
	return rc;
}
