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

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "followup/email.h"
#include "followupd.h"

/* The confirmation's kinds in the outbox: a new or moved time, or none. */
#define CONFIRM_KIND_REQUEST	"confirmation"
#define CONFIRM_KIND_CANCEL	"cancellation"

/* t as wall-clock time in zone; UTC if the zone cannot be read. */
static void
confirm_tm(time_t t, const char *zone, struct tm *tm)
{
	timezone_t	tz;

	/* time_rz sets TZ: one zone at a time with the report's thread. */
	when_lock();
	if ((tz = tzalloc(zone)) == NULL || localtime_rz(tz, &t, tm) == NULL)
		gmtime_r(&t, tm);
	if (tz != NULL)
		tzfree(tz);
	when_unlock();
}

/*
 * t as a person reads it in zone: "Friday 15 January 2027, 09:00", with
 * the day and month named in locale name ([confirmations] locale; NULL
 * for English).  The locale is this thread's alone while it formats.
 */
static void
confirm_time(time_t t, const char *zone, const char *name, char *buf,
    size_t len)
{
	struct tm	tm;
	locale_t	loc = (locale_t)0, old = (locale_t)0;

	confirm_tm(t, zone, &tm);
	/* Checked when the configuration was read; English if it went. */
	if (name != NULL &&
	    (loc = newlocale(LC_TIME_MASK, name, (locale_t)0)) != (locale_t)0)
		old = uselocale(loc);
	if (strftime(buf, len, "%A %d %B %Y, %H:%M", &tm) == 0)
		buf[0] = '\0';
	if (loc != (locale_t)0) {
		uselocale(old);
		freelocale(loc);
	}
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

/*
 * The placeholders of a [confirmations] template, in the order of
 * struct confirm_values; a signature has all but {signature}.
 */
const char *const confirm_fields[] = {
	"contact", "time", "time_iso", "zone", "rep_time", "rep_time_iso",
	"rep_zone", "reason", "rep", "rep_phone", "rep_email", "signature",
	NULL
};
const char *const confirm_signature_fields[] = {
	"contact", "time", "time_iso", "zone", "rep_time", "rep_time_iso",
	"rep_zone", "reason", "rep", "rep_phone", "rep_email", NULL
};
#define CONFIRM_SIGNATURE	11	/* its index in confirm_fields */

/* What a template's placeholders stand for, for one letter. */
struct confirm_values {
	const char	*v[CONFIRM_SIGNATURE + 1];
	char		 theirs[96], theirs_iso[32], mine[96], mine_iso[32];
	char		*signature;
};

/* t in zone as "2027-01-15 09:00": the same in every language. */
static void
confirm_time_iso(time_t t, const char *zone, char *buf, size_t len)
{
	struct tm	tm;

	confirm_tm(t, zone, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

/*
 * Fill cv for the letter to c about f from rep u; the rep's time and zone
 * are empty when the contact lives in the rep's zone.  Free with
 * confirm_values_clear.
 */
static void
confirm_values(struct confirm_values *cv, const struct fu_config *cf,
    const struct fu_followup *f, const struct fu_contact *c,
    const struct fu_user *u, const char *repzone)
{
	const char	*zone = c->tz != NULL && when_zone_valid(c->tz) ?
			    c->tz : repzone;
	char		*sig;
	size_t		 len;
	int		 same = strcmp(zone, repzone) == 0;

	memset(cv, 0, sizeof *cv);
	confirm_time(f->due_at, zone, cf->confirm_locale, cv->theirs,
	    sizeof cv->theirs);
	confirm_time_iso(f->due_at, zone, cv->theirs_iso,
	    sizeof cv->theirs_iso);
	if (!same) {
		confirm_time(f->due_at, repzone, cf->confirm_locale, cv->mine,
		    sizeof cv->mine);
		confirm_time_iso(f->due_at, repzone, cv->mine_iso,
		    sizeof cv->mine_iso);
	}
	cv->v[0] = c->name;
	cv->v[1] = cv->theirs;
	cv->v[2] = cv->theirs_iso;
	cv->v[3] = zone;
	cv->v[4] = cv->mine;
	cv->v[5] = cv->mine_iso;
	cv->v[6] = same ? "" : repzone;
	cv->v[7] = f->reason;
	cv->v[8] = u->display_name != NULL ? u->display_name : u->name;
	cv->v[9] = u->phone;
	cv->v[10] = u->email;
	if (cf->signature != NULL)
		sig = template_render(cf->signature, confirm_signature_fields,
		    cv->v);
	else
		xasprintf(&sig, "%s%s%s\n%s\n", cv->v[8],
		    u->phone != NULL ? "\n" : "",
		    u->phone != NULL ? u->phone : "", u->email);
	/* {signature} stands on a line of its own: its last end is the
	 * template's. */
	len = strlen(sig);
	while (len > 0 && sig[len - 1] == '\n')
		sig[--len] = '\0';
	cv->signature = sig;
	cv->v[CONFIRM_SIGNATURE] = sig;
}

static void
confirm_values_clear(struct confirm_values *cv)
{
	free(cv->signature);
}

/* The letter to the contact c about f, signed by rep u. Caller frees. */
static char *
confirm_text(const struct fu_config *cf, const struct confirm_values *cv,
    const struct fu_followup *f, int cancel)
{
	const char	*tmpl = cancel ? cf->cancel_template :
			    cf->confirm_template;
	char		*mine_part, *reason, *s;

	if (tmpl != NULL)
		return template_render(tmpl, confirm_fields, cv->v);
	if (*cv->mine != '\0')
		xasprintf(&mine_part, " (%s %s, my time)", cv->mine, cv->v[6]);
	else
		mine_part = xstrdup("");
	if (f->reason != NULL && !cancel)
		xasprintf(&reason, "We will talk about %s.\n\n", f->reason);
	else
		reason = xstrdup("");
	if (cancel)
		xasprintf(&s, "Dear %s,\n\n"
		    "I am sorry: I have to cancel our call on %s %s%s.\n"
		    "I will get in touch to find another time.\n\n"
		    "Best regards,\n%s\n", cv->v[0], cv->theirs, cv->v[3],
		    mine_part, cv->signature);
	else
		xasprintf(&s, "Dear %s,\n\n"
		    "Thank you for your time. As agreed, I will call you on "
		    "%s %s%s.\n\n%s"
		    "If that time no longer suits you, just reply to this "
		    "message.\n\n"
		    "Best regards,\n%s\n", cv->v[0], cv->theirs, cv->v[3],
		    mine_part, reason, cv->signature);
	free(mine_part);
	free(reason);
	return s;
}

/* The letter's subject line. Caller frees. */
static char *
confirm_subject(const struct fu_config *cf, const struct confirm_values *cv,
    int cancel)
{
	const char	*tmpl = cancel ? cf->cancel_subject :
			    cf->confirm_subject;
	char		*s, *p;

	if (tmpl != NULL) {
		/* One header line, whatever a contact's name or a reason
		 * holds. */
		s = template_render(tmpl, confirm_signature_fields, cv->v);
		for (p = s; *p != '\0'; p++) {
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		}
		return s;
	}
	xasprintf(&s, cancel ? "Our call on %s is cancelled" :
	    "Our call on %s", cv->theirs);
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
	struct confirm_values	 cv;
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
	confirm_values(&cv, ctx->cf, &f, &c, &u, repzone);
	text = confirm_text(ctx->cf, &cv, &f, cancel);
	subject = confirm_subject(ctx->cf, &cv, cancel);
	uid = ical_uid(f.id, store_id(ctx->st));
	snprintf(when, sizeof when, "%s", cv.theirs);
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
	confirm_values_clear(&cv);
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
