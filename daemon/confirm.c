/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Confirming an agreed time to the contact: the one mail that goes to a
 * prospect, and only when the rep asks (followup.confirm, or "confirm"
 * on followup.reagree and followup.cancel).  It is checked here, written
 * here as a person would write it, carries an iTIP invitation (ical.c)
 * and goes through the outbox like every notice, so it is sent once,
 * retried and given up visibly.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "followup/email.h"
#include "followupd.h"

/* The confirmation's kinds in the outbox: a new or moved time, or none. */
#define CONFIRM_KIND_REQUEST	"confirmation"
#define CONFIRM_KIND_CANCEL	"cancellation"

/* t as a person reads it in zone: "Friday 15 January 2027, 09:00". */
static void
confirm_time(time_t t, const char *zone, char *buf, size_t len)
{
	timezone_t	tz;
	struct tm	tm;

	if ((tz = tzalloc(zone)) == NULL || localtime_rz(tz, &t, &tm) == NULL)
		gmtime_r(&t, &tm);
	strftime(buf, len, "%A %d %B %Y, %H:%M", &tm);
	if (tz != NULL)
		tzfree(tz);
}

/*
 * Can f be confirmed (cancel: its cancellation sent) to its contact?
 * The contact and the rep need an address, and a time to confirm must be
 * pending and ahead.  Return 0, or -1 with the error set.
 */
int
confirm_check(struct op_ctx *ctx, const struct fu_followup *f, int cancel)
{
	struct fu_contact	 c;
	struct fu_user		 u;
	int			 rc = 0;

	if (strcmp(f->status, "pending") != 0)
		return reply_error(ctx, FU_ERR_CONFLICT, "follow-up %lld is "
		    "%s: there is no agreed time to confirm", (long long)f->id,
		    f->status);
	if (!cancel && f->due_at <= ctx->now)
		return reply_error(ctx, FU_ERR_INVALID_TIME, "follow-up %lld "
		    "was due in the past; re-agree a time first "
		    "(followup reagree %lld WHEN --confirm)", (long long)f->id,
		    (long long)f->id);
	if (ops_contact(ctx, f->contact_id, &c) != 0)
		return -1;
	if (c.email == NULL || !fu_email_ok(c.email))
		rc = reply_error(ctx, FU_ERR_BAD_REQUEST, "contact %lld has "
		    "no email address to confirm to; add one with followup "
		    "contact edit %lld --email ADDRESS", (long long)c.id,
		    (long long)c.id);
	fu_contact_clear(&c);
	if (rc != 0)
		return rc;
	store_user_get(ctx->st, f->owner, &u);
	if (u.email == NULL)
		rc = reply_error(ctx, FU_ERR_BAD_REQUEST, "the rep %s has no "
		    "email address for the contact to reply to; set one with "
		    "followup config email ADDRESS", f->owner);
	fu_user_clear(&u);
	return rc;
}

/* The letter to the contact c about f, signed by rep u. Caller frees. */
static char *
confirm_text(const struct fu_followup *f, const struct fu_contact *c,
    const struct fu_user *u, const char *repzone, int cancel)
{
	const char	*zone = c->tz != NULL && when_zone_valid(c->tz) ?
			    c->tz : repzone;
	const char	*who = u->display_name != NULL ? u->display_name :
			    u->name;
	char		 theirs[96], mine[96], *mine_part, *reason, *sig, *s;

	confirm_time(f->due_at, zone, theirs, sizeof theirs);
	if (strcmp(zone, repzone) != 0) {
		confirm_time(f->due_at, repzone, mine, sizeof mine);
		xasprintf(&mine_part, " (%s %s, my time)", mine, repzone);
	} else
		mine_part = xstrdup("");
	if (f->reason != NULL && !cancel)
		xasprintf(&reason, "We will talk about %s.\n\n", f->reason);
	else
		reason = xstrdup("");
	xasprintf(&sig, "%s%s%s\n%s\n", who, u->phone != NULL ? "\n" : "",
	    u->phone != NULL ? u->phone : "", u->email);
	if (cancel)
		xasprintf(&s, "Dear %s,\n\n"
		    "I am sorry: I have to cancel our call on %s %s%s.\n"
		    "I will get in touch to find another time.\n\n"
		    "Best regards,\n%s", c->name, theirs, zone, mine_part,
		    sig);
	else
		xasprintf(&s, "Dear %s,\n\n"
		    "Thank you for your time. As agreed, I will call you on "
		    "%s %s%s.\n\n%s"
		    "If that time no longer suits you, just reply to this "
		    "message.\n\n"
		    "Best regards,\n%s", c->name, theirs, zone, mine_part,
		    reason, sig);
	free(mine_part);
	free(reason);
	free(sig);
	return s;
}

/*
 * Record the confirmation (cancel: the cancellation) of follow-up id as
 * it now stands in the outbox for its contact, and set *message to what
 * goes out (caller owns it).  Check with confirm_check first.  Needs a
 * write transaction.  Return 0, or -1 with the error set.
 */
int
confirm_send(struct op_ctx *ctx, int64_t id, int cancel, json_t **message)
{
	struct fu_followup	 f;
	struct fu_contact	 c;
	struct fu_user		 u;
	struct ical_invite	 inv;
	json_t			*notice;
	const char		*repzone, *kind;
	char			*text, *cal, *uid, *subject, when[96];
	int			 created, rc = -1, seq;
	enum store_result	 r;

	if ((r = store_followup_get(ctx->st, ctx->scope, id, &f)) !=
	    STORE_OK)
		return reply_store_error(ctx, r, "follow-up", id);
	if (ops_contact(ctx, f.contact_id, &c) != 0) {
		fu_followup_clear(&f);
		return -1;
	}
	store_user_get(ctx->st, f.owner, &u);
	repzone = u.tz != NULL && when_zone_valid(u.tz) ? u.tz :
	    when_local_zone();
	/* The ics export's SEQUENCE for the same state: one up once closed. */
	seq = f.revision + (strcmp(f.status, "pending") != 0);
	kind = cancel ? CONFIRM_KIND_CANCEL : CONFIRM_KIND_REQUEST;
	text = confirm_text(&f, &c, &u, repzone, cancel);
	uid = ical_uid(f.id, store_id(ctx->st));
	confirm_time(f.due_at, c.tz != NULL && when_zone_valid(c.tz) ? c.tz :
	    repzone, when, sizeof when);
	xasprintf(&subject, cancel ? "Our call on %s is cancelled" :
	    "Our call on %s", when);
	memset(&inv, 0, sizeof inv);
	inv.method = cancel ? "CANCEL" : "REQUEST";
	inv.uid = uid;
	inv.sequence = seq;
	inv.start = f.due_at;
	inv.summary = subject;
	inv.description = f.reason;
	inv.organizer_name = u.display_name != NULL ? u.display_name :
	    u.name;
	inv.organizer_email = u.email;
	inv.attendee_name = c.name;
	inv.attendee_email = c.email;
	inv.alarm = -1;
	inv.now = ctx->now;
	cal = ical_invite(&inv);
	*message = json_pack("{s:s s:s s:{s:s s:s} s:{s:s s:s} s:s s:s s:s "
	    "s:s s:I}",
	    "method", inv.method,
	    "uid", uid,
	    "from", "name", inv.organizer_name, "email", u.email,
	    "to", "name", c.name, "email", c.email,
	    "subject", subject,
	    "text", text,
	    "calendar", cal,
	    "time", when,
	    "sequence", (json_int_t)seq);
	notice = json_pack("{s:s s:b s:o s:{s:s s:o s:s} s:o s:o s:O}",
	    "kind", kind,
	    "late", 0,
	    "fire_at", when_json(ctx->now),
	    "rep", "name", f.owner, "email", json_string(u.email),
	    "tz", repzone,
	    "followup", followup_json(&f, ctx->now),
	    "contact", contact_json(&c),
	    "confirmation", *message);
	if (outbox_request_contact(ctx->st, ctx->cf, f.owner, kind, f.id,
	    f.due_at, notice, ctx->now, &created) != 0)
		reply_error(ctx, FU_ERR_UNAVAILABLE, "the confirmation cannot "
		    "be sent: no [reminders] hook is configured to mail it");
	else if (!created)
		reply_error(ctx, FU_ERR_CONFLICT, "follow-up %lld: a %s for "
		    "%s is queued or sent already (followup show %lld)",
		    (long long)f.id, kind, when, (long long)f.id);
	else
		rc = 0;
	if (rc != 0) {
		json_decref(*message);
		*message = NULL;
	}
	json_decref(notice);
	free(text);
	free(cal);
	free(uid);
	free(subject);
	fu_followup_clear(&f);
	fu_contact_clear(&c);
	fu_user_clear(&u);
	return rc;
}

/* followup.confirm: mail the contact the agreed time, or show it. */
int
op_followup_confirm(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_followup	 f;
	json_t			*message;
	int64_t			 id = ops_int(args, "id", 0);
	enum store_result	 r;
	int			 dry = ops_bool(args, "dry_run");

	if ((r = store_followup_get(ctx->st, ctx->scope, id, &f)) !=
	    STORE_OK)
		return reply_store_error(ctx, r, "follow-up", id);
	if (confirm_check(ctx, &f, 0) != 0) {
		fu_followup_clear(&f);
		return -1;
	}
	fu_followup_clear(&f);
	/* A dry run goes all the way and then writes nothing. */
	if (dry)
		ctx->discard = 1;
	if (confirm_send(ctx, id, 0, &message) != 0)
		return -1;
	*result = json_pack("{s:o s:b}", "confirmation", message, "dry_run",
	    dry);
	return 0;
}
