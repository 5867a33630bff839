/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * What logging an outcome does to the schedule: the follow-up the
 * interaction answers is completed, and the next step is proposed (the
 * voicemail cadence after an unanswered call, so many working days after
 * information was sent).  Also the weekly voicemail limit that a
 * follow-up planned by hand must respect.  The arithmetic is cadence.c's;
 * this file gathers its inputs from the store.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "followupd.h"

/* How far back the history of attempts is read. */
#define NEXTSTEP_HISTORY	(42 * 86400)
#define NEXTSTEP_HISTORY_MAX	200

/* Outcomes that mean the prospect was not reached: try again. */
static int
nextstep_is_attempt(const char *outcome)
{
	return outcome != NULL && (strcmp(outcome, "no-answer") == 0 ||
	    strcmp(outcome, "voicemail") == 0 || strcmp(outcome, "busy") == 0 ||
	    strcmp(outcome, "message") == 0);
}

/* Does this interaction count as contact with the prospect? */
static int
nextstep_is_contact(const char *kind, const char *outcome)
{
	if (strcmp(kind, "meeting") == 0)
		return 1;
	return outcome != NULL && !nextstep_is_attempt(outcome) &&
	    strcmp(outcome, "wrong-number") != 0 &&
	    strcmp(outcome, "other") != 0;
}

/* Does logging it answer the pending follow-up (someone acted on it)? */
static int
nextstep_answers(const char *kind, const char *outcome)
{
	if (strcmp(kind, "call") == 0 || strcmp(kind, "voicemail") == 0 ||
	    strcmp(kind, "meeting") == 0)
		return 1;
	return strcmp(kind, "email") == 0 && outcome != NULL;
}

/* The working hours and days that apply to owner's automatic times. */
void
nextstep_hours(struct op_ctx *ctx, const char *owner, struct cadence_hours *h)
{
	struct fu_user	u;
	unsigned int	days;
	int		a, b;

	h->workdays = ctx->cf->workdays;
	h->start = ctx->cf->hours_start;
	h->end = ctx->cf->hours_end;
	if (store_user_get(ctx->st, owner, &u) == STORE_OK) {
		if (u.hours != NULL && config_parse_hours(u.hours, &a,
		    &b) == 0) {
			h->start = a;
			h->end = b;
		}
		if (u.workdays != NULL && config_parse_workdays(u.workdays,
		    &days) == 0)
			h->workdays = days;
	}
	fu_user_clear(&u);
}

/* Rep owner's own zone, else the daemon's.  Caller frees. */
char *
nextstep_rep_zone(struct op_ctx *ctx, const char *owner)
{
	struct fu_user	 u;
	char		*zone = NULL;

	if (store_user_get(ctx->st, owner, &u) == STORE_OK && u.tz != NULL &&
	    when_zone_valid(u.tz))
		zone = xstrdup(u.tz);
	fu_user_clear(&u);
	return zone != NULL ? zone : xstrdup(when_local_zone());
}

/*
 * The zone a contact's automatic times are worked out in: the contact's,
 * else their rep's, else the daemon's.  Caller frees.
 */
char *
nextstep_zone(struct op_ctx *ctx, const struct fu_contact *c)
{
	if (c->tz != NULL && when_zone_valid(c->tz))
		return xstrdup(c->tz);
	return nextstep_rep_zone(ctx, c->owner);
}

struct nextstep_history {
	struct cadence_attempt	 a[NEXTSTEP_HISTORY_MAX];
	size_t			 n;
	size_t			 series;	/* a[series..n): since contact */
	int			 reached;	/* a contact was read */
};

static int
nextstep_history_cb(const struct fu_interaction *in, void *arg)
{
	struct nextstep_history	*h = arg;

	/* Newest first: the series is what was read before a contact. */
	if (!h->reached && nextstep_is_contact(in->kind, in->outcome)) {
		h->reached = 1;
		h->series = h->n;
	}
	if (!nextstep_is_attempt(in->outcome) || h->n == NEXTSTEP_HISTORY_MAX)
		return 0;
	h->a[h->n].at = in->at;
	h->a[h->n].voicemail = strcmp(in->outcome, "voicemail") == 0;
	h->a[h->n].message = strcmp(in->outcome, "message") == 0;
	h->n++;
	return 0;
}

/*
 * Read c's attempts since since into h, oldest first, and where the
 * series since the prospect was last reached starts.
 */
static enum store_result
nextstep_attempts(struct op_ctx *ctx, const struct fu_contact *c,
    time_t since, struct nextstep_history *h)
{
	struct cadence_attempt	t;
	enum store_result	r;
	size_t			i;

	h->n = 0;
	h->reached = 0;
	r = store_interaction_list(ctx->st, c->owner, c->id, since, 0, 0,
	    NEXTSTEP_HISTORY_MAX, nextstep_history_cb, h);
	for (i = 0; i < h->n / 2; i++) {
		t = h->a[i];
		h->a[i] = h->a[h->n - 1 - i];
		h->a[h->n - 1 - i] = t;
	}
	h->series = h->reached ? h->n - h->series : 0;
	return r;
}

/*
 * How many voicemails contact c holds in the calendar week (their zone) of
 * t.  Return the count, or -1 with the error set.
 */
int
nextstep_voicemails_in_week(struct op_ctx *ctx, const struct fu_contact *c,
    time_t t)
{
	struct nextstep_history	*h;
	struct cadence_day	 d;
	enum store_result	 r;
	char			*zone = nextstep_zone(ctx, c);
	time_t			 monday;
	int			 n = -1;

	h = xcalloc(1, sizeof *h);
	if (cadence_local(t, zone, &d) != 0 ||
	    (monday = cadence_instant(&d, -((d.wday + 6) % 7), 0,
	    zone)) == 0) {
		reply_error(ctx, FU_ERR_INTERNAL, "cannot work out the week "
		    "in %s", zone);
		goto out;
	}
	if ((r = nextstep_attempts(ctx, c, monday, h)) != STORE_OK) {
		reply_store_error(ctx, r, "contact", c->id);
		goto out;
	}
	n = cadence_voicemails_in_week(h->a, h->n, d.week, zone);
out:
	free(h);
	free(zone);
	return n;
}

/* Do a and b fall in the same calendar week in contact c's zone? */
int
nextstep_same_week(struct op_ctx *ctx, const struct fu_contact *c, time_t a,
    time_t b)
{
	struct cadence_day	da, db;
	char			*zone = nextstep_zone(ctx, c);
	int			same;

	same = cadence_local(a, zone, &da) == 0 &&
	    cadence_local(b, zone, &db) == 0 && da.week == db.week;
	free(zone);
	return same;
}

/* What nextstep_week_clear saw of a contact's recent history. */
struct nextstep_recent {
	time_t	from, to;	/* the window around the due time */
	int	rows;		/* interactions read */
	int	voicemails;	/* voicemails in [from, to) */
};

static int
nextstep_recent_cb(const struct fu_interaction *in, void *arg)
{
	struct nextstep_recent	*nr = arg;

	nr->rows++;
	if (in->outcome != NULL && strcmp(in->outcome, "voicemail") == 0 &&
	    in->at >= nr->from && in->at < nr->to)
		nr->voicemails++;
	return 0;
}

/*
 * Is contact c surely below the voicemail limit in the week of due,
 * whatever its zone?  Any zone's calendar week holding due lies within
 * eight days of it, so fewer voicemails than the limit in that window
 * (all of it read: fewer rows than the history reads at most) settles
 * it without working out the week.  Most follow-ups are planned for
 * contacts with no voicemail that week, and the week's bounds in a zone
 * cost more than the rest of the check.  0 means "work it out".
 */
static int
nextstep_week_clear(struct op_ctx *ctx, const struct fu_contact *c,
    time_t due)
{
	struct nextstep_recent	nr;

	memset(&nr, 0, sizeof nr);
	nr.from = due - 8 * 86400;
	nr.to = due + 8 * 86400;
	if (store_interaction_list(ctx->st, c->owner, c->id, nr.from, 0, 0,
	    NEXTSTEP_HISTORY_MAX, nextstep_recent_cb, &nr) != STORE_OK)
		return 0;
	return nr.rows < NEXTSTEP_HISTORY_MAX &&
	    nr.voicemails < ctx->cf->voicemails_per_week;
}

/*
 * Refuse a follow-up planned by hand at due for contact c in a week that
 * already holds the voicemail limit, unless forced.  Callbacks are agreed
 * with the prospect and always allowed.  Return 0, or -1 with conflict.
 */
int
nextstep_check_week(struct op_ctx *ctx, const struct fu_contact *c,
    time_t due, const char *kind, int force)
{
	struct cadence_day	d;
	char			date[16], *zone;
	int			n;

	if (force || strcmp(kind, "callback") == 0 ||
	    nextstep_week_clear(ctx, c, due))
		return 0;
	if ((n = nextstep_voicemails_in_week(ctx, c, due)) < 0)
		return -1;
	if (n < ctx->cf->voicemails_per_week)
		return 0;
	zone = nextstep_zone(ctx, c);
	if (cadence_local(due, zone, &d) == 0)
		when_local_date(cadence_instant(&d, -((d.wday + 6) % 7),
		    12 * 60, zone), zone, date, sizeof date);
	else
		when_local_date(due, zone, date, sizeof date);
	free(zone);
	return reply_error(ctx, FU_ERR_CONFLICT, "contact %lld already has "
	    "%d voicemail%s in the week of Monday %s (the limit is %d a week); "
	    "plan "
	    "it in another week, or force it", (long long)c->id, n,
	    n == 1 ? "" : "s", date, ctx->cf->voicemails_per_week);
}

/*
 * When the interaction that proposed automatic follow-up f happened: the
 * time a later attempt answers it by.  One proposed before follow-ups
 * kept that time goes by when it was stored.
 */
static time_t
nextstep_proposed(const struct fu_followup *f)
{
	return f->proposed_at != 0 ? f->proposed_at : f->created_at;
}

struct nextstep_pending {
	struct fu_followup	 f;
	int			 found;
	int			 promise;	/* f is a callback due now */
	time_t			 at;		/* the interaction's time */
	long			 tolerance;
};

/*
 * Pick the follow-up the interaction answers: a callback agreed for
 * about now (the promise being kept) before anything else, else the
 * earliest one.  A callback agreed for later is a promise of its own,
 * and the next step a later interaction proposed is that one's (this
 * interaction was logged afterwards): neither is answered.
 */
static int
nextstep_pending_cb(const struct fu_followup *f, void *arg)
{
	struct nextstep_pending	*p = arg;
	int			 callback, promise;

	if (f->automatic && nextstep_proposed(f) > p->at)
		return 0;
	callback = strcmp(f->kind, "callback") == 0;
	if (callback && f->due_at > p->at + p->tolerance)
		return 0;
	promise = callback && f->due_at >= p->at - p->tolerance;
	if (p->found && (p->promise || !promise))
		return 0;
	fu_followup_clear(&p->f);
	p->f.id = f->id;
	p->f.due_at = f->due_at;
	p->f.kind = xstrdup(f->kind);
	p->f.reason = f->reason != NULL ? xstrdup(f->reason) : NULL;
	p->found = 1;
	p->promise = promise;
	return 0;
}

/* The automatic follow-ups an interaction answers: their ids. */
struct nextstep_automatic {
	int64_t		 id[100];
	size_t		 n;
	int64_t		 skip;		/* already completed */
	time_t		 at;		/* the interaction's time */
	int64_t		 later;		/* one a later interaction proposed */
};

/*
 * Gather the pending follow-ups that the outcome of an interaction
 * before this one proposed: the new attempt is the one they were
 * waiting for.  One proposed by a later interaction (this one logged
 * afterwards) is left, and noted.  The time of the proposing
 * interaction, not of the proposal, decides: a rep catching up on the
 * day's calls logs each after the fact.
 */
static int
nextstep_automatic_cb(const struct fu_followup *f, void *arg)
{
	struct nextstep_automatic	*p = arg;

	if (!f->automatic || f->id == p->skip)
		return 0;
	if (nextstep_proposed(f) > p->at) {
		if (p->later == 0)
			p->later = f->id;
		return 0;
	}
	if (p->n == sizeof p->id / sizeof p->id[0])
		return 0;
	p->id[p->n++] = f->id;
	return 0;
}

/*
 * Mark follow-up id of c done at at with note, and fill done (caller
 * clears) with it unless done already holds one.  Return 0, or -1 with
 * the error set.
 */
static int
nextstep_close(struct op_ctx *ctx, const struct fu_contact *c, int64_t id,
    const char *note, time_t at, struct fu_followup *done)
{
	enum store_result	r;

	if ((r = store_followup_close_at(ctx->st, c->owner, id, "done", note,
	    at, ctx->now)) != STORE_OK ||
	    (done->id == 0 && (r = store_followup_get(ctx->st, c->owner, id,
	    done)) != STORE_OK))
		return reply_store_error(ctx, r, "follow-up", id);
	return invite_note(ctx, c->owner, id);
}

/*
 * Complete the pending follow-ups that interaction in answers, if it
 * answers any (nextstep_answers): contact c's callback agreed for about
 * the interaction's time, else the earliest one overdue or due before
 * the end of today in zone; and whatever its due time, every automatic
 * follow-up (the next attempt the outcome of an earlier interaction
 * proposed), so a second attempt never leaves two next attempts.  A
 * follow-up the rep planned by hand for a later day is kept.  Fill done
 * (caller clears) with the first one completed and return 1, 0 if none,
 * -1 with the error set.  Set *standing to a pending automatic follow-up
 * that an interaction after this one proposed (this one was logged
 * afterwards), which stays the next step, or to 0.
 */
int
nextstep_complete(struct op_ctx *ctx, const struct fu_contact *c,
    const struct fu_interaction *in, const char *zone, struct fu_followup *done,
    int64_t *standing)
{
	struct store_followup_filter	 flt;
	struct nextstep_pending		 p;
	struct nextstep_automatic	*a = NULL;
	enum store_result		 r;
	char				 note[128];
	time_t				 end, at;
	size_t				 i;
	int				 rc = -1, answers;

	memset(done, 0, sizeof *done);
	*standing = 0;
	answers = nextstep_answers(in->kind, in->outcome);
	memset(&flt, 0, sizeof flt);
	flt.owner = c->owner;
	flt.contact_id = c->id;
	flt.status = "pending";
	flt.limit = 100;
	memset(&p, 0, sizeof p);
	if (answers) {
		if (when_day_start(ctx->now, zone, 1, &end) != 0)
			end = ctx->now + 86400;
		flt.to = end;
		p.at = in->at;
		p.tolerance = ctx->cf->callback_tolerance;
		if ((r = store_followup_list(ctx->st, &flt,
		    nextstep_pending_cb, &p)) != STORE_OK)
			return reply_store_error(ctx, r, "contact", c->id);
	}
	a = xcalloc(1, sizeof *a);
	a->skip = p.found ? p.f.id : 0;
	a->at = in->at;
	flt.to = 0;
	if ((r = store_followup_list(ctx->st, &flt, nextstep_automatic_cb,
	    a)) != STORE_OK) {
		reply_store_error(ctx, r, "contact", c->id);
		goto out;
	}
	*standing = a->later;
	if (!answers) {
		rc = 0;
		goto out;
	}
	snprintf(note, sizeof note, "answered by %s #%lld%s%s", in->kind,
	    (long long)in->id, in->outcome != NULL ? ", " : "",
	    in->outcome != NULL ? in->outcome : "");
	/* Done when the call was made, which may be before it was logged. */
	at = in->at < ctx->now ? in->at : ctx->now;
	if (p.found && nextstep_close(ctx, c, p.f.id, note, at, done) != 0)
		goto out;
	for (i = 0; i < a->n; i++) {
		if (nextstep_close(ctx, c, a->id[i], note, at, done) != 0)
			goto out;
	}
	rc = done->id != 0;
out:
	free(a);
	fu_followup_clear(&p.f);
	return rc;
}

/*
 * The next step that logging interaction in on contact c proposes: set
 * *due, *kind, *why (static text) and *operator (1 when two weeks of
 * voicemails got nowhere, and the attempt should leave a message with the
 * operator or an assistant) and return 1, or return 0 when the outcome
 * proposes nothing, -1 with the error set.
 */
int
nextstep_propose(struct op_ctx *ctx, const struct fu_contact *c,
    const struct fu_interaction *in, time_t *due, const char **kind,
    const char **why, int *operator)
{
	struct nextstep_history	*h = NULL;
	struct cadence_hours	 hours;
	enum store_result	 r;
	char			*zone;
	int			 rc = -1;

	*due = 0;
	*kind = "followup";
	*why = NULL;
	*operator = 0;
	/* A closed deal (won, lost) needs no next step. */
	if (in->outcome == NULL || !config_stage_open(ctx->cf, c->stage))
		return 0;
	nextstep_hours(ctx, c->owner, &hours);
	zone = nextstep_zone(ctx, c);
	if (strcmp(in->outcome, "info-sent") == 0) {
		*due = cadence_workdays_later(in->at, zone, &hours,
		    ctx->cf->info_sent_days);
		*why = "to discuss the information sent";
	} else if (nextstep_is_attempt(in->outcome)) {
		h = xcalloc(1, sizeof *h);
		if ((r = nextstep_attempts(ctx, c, in->at - NEXTSTEP_HISTORY,
		    h)) != STORE_OK) {
			reply_store_error(ctx, r, "contact", c->id);
			goto out;
		}
		/* From now on, for an attempt logged days afterwards. */
		if (h->n > 0)
			*due = cadence_next_attempt(h->a, h->n, h->series,
			    ctx->now, zone, &hours,
			    ctx->cf->voicemails_per_week, why);
		if (*due != 0)
			*operator = cadence_suggest_operator(h->a, h->n,
			    h->series, *due, zone);
	}
	/* Never propose a time already past (information sent long ago). */
	if (*due != 0 && *due < ctx->now) {
		*due = cadence_fit(ctx->now, zone, &hours);
		*why = "the next working hour";
	}
	rc = *due != 0;
out:
	free(h);
	free(zone);
	return rc;
}
