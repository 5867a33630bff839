/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The simulate op: every reminder, due notice, missed notice and morning
 * digest that would go out in a window if nothing changes, when, and why,
 * worked out by the same rules the schedule follows.  It only reads: no
 * notice is sent, recorded or planned.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "followupd.h"

/* The window when none is given, and the longest one. */
#define SIMULATE_DEFAULT	(7 * 86400)
#define SIMULATE_DAYS_MAX	31
/* An hour more, so a calendar month across a clock change fits. */
#define SIMULATE_WINDOW_MAX	(SIMULATE_DAYS_MAX * 86400 + 3600)
/* Most events one reply carries, and follow-ups read to find them. */
#define SIMULATE_EVENTS_MAX	5000
#define SIMULATE_ROWS_MAX	20000
/* Stale contacts a digest lists at most (as the outbox does). */
#define SIMULATE_STALE_MAX	100

struct simulate_event {
	time_t		 at;
	int64_t		 followup_id;	/* 0 for a digest */
	const char	*owner;		/* borrowed from obj */
	json_t		*obj;
};

struct simulate {
	struct op_ctx		*ctx;
	const char		*zone;		/* the reader's, for the why */
	time_t			 from;		/* events fall in [from, to) */
	time_t			 to;
	time_t			 last_notice;	/* of the last row read */
	struct simulate_event	*events;
	size_t			 n;
	enum store_result	 r;		/* STORE_OK until one fails */
};

/* Write a duration as people say it: "15 min", "2 h", "1 h 30 min". */
static void
simulate_duration(long d, char *buf, size_t len)
{
	if (d > 0 && d % 86400 == 0)
		snprintf(buf, len, "%ld d", d / 86400);
	else if (d > 0 && d % 3600 == 0)
		snprintf(buf, len, "%ld h", d / 3600);
	else if (d > 3600 && d % 60 == 0)
		snprintf(buf, len, "%ld h %ld min", d / 3600, d % 3600 / 60);
	else if (d % 60 == 0)
		snprintf(buf, len, "%ld min", d / 60);
	else
		snprintf(buf, len, "%ld s", d);
}

/* Keep one event; obj's reference passes to the list. */
static void
simulate_add(struct simulate *sim, time_t at, int64_t followup_id,
    json_t *obj)
{
	struct simulate_event	*e;

	sim->events = xreallocarray(sim->events, sim->n + 1,
	    sizeof *sim->events);
	e = &sim->events[sim->n++];
	e->at = at;
	e->followup_id = followup_id;
	e->owner = json_string_value(json_object_get(obj, "owner"));
	e->obj = obj;
}

/* Why notice stage of f goes out. Caller frees. */
static char *
simulate_why(struct simulate *sim, const struct fu_followup *f, int stage,
    const struct rules_followup *rf)
{
	const char	*what = rf->callback ? "callback" : "follow-up";
	char		 when[128], span[32], *why, *out;

	when_local_time_dual(f->due_at, sim->zone, f->contact_tz, when,
	    sizeof when);
	switch (stage) {
	case NOTICE_REMINDER:
		simulate_duration(f->due_at - f->remind_at, span, sizeof span);
		xasprintf(&why, "%s before the %s at %s", span, what, when);
		break;
	case NOTICE_DUE:
		xasprintf(&why, rf->callback ? "the callback at %s is due" :
		    "the follow-up planned for %s is due", when);
		break;
	default:
		simulate_duration(rf->grace, span, sizeof span);
		xasprintf(&why, "callback still open %s after its time (%s)",
		    span, when);
		break;
	}
	if (f->snoozes == 0)
		return why;
	xasprintf(&out, "%s; snoozed %d time%s", why, f->snoozes,
	    f->snoozes == 1 ? "" : "s");
	free(why);
	return out;
}

/* The follow-up as an event names it. Caller owns the reference. */
static json_t *
simulate_followup_json(const struct fu_followup *f)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, "id", json_integer(f->id));
	json_object_set_new(o, "contact_id", json_integer(f->contact_id));
	json_object_set_new(o, "contact_name", f->contact_name != NULL ?
	    json_string(f->contact_name) : json_null());
	json_object_set_new(o, "contact_tz", f->contact_tz != NULL ?
	    json_string(f->contact_tz) : json_null());
	json_object_set_new(o, "kind", json_string(f->kind));
	json_object_set_new(o, "due_at", when_json(f->due_at));
	json_object_set_new(o, "reason", f->reason != NULL ?
	    json_string(f->reason) : json_null());
	return o;
}

/*
 * The notices of a pending follow-up still to come, from its next stage
 * on, that fall in the window.
 */
static int
simulate_followup_cb(const struct fu_followup *f, void *arg)
{
	struct simulate		*sim = arg;
	struct rules_followup	 rf;
	json_t			*ev;
	char			*why;
	time_t			 t, u;
	int			 stage, later;

	sim->last_notice = f->notice_at;
	rf.callback = strcmp(f->kind, "callback") == 0;
	rf.due_at = f->due_at;
	rf.remind_at = f->remind_at;
	rf.grace = sim->ctx->cf->missed_grace;
	for (stage = f->notice_stage; stage < NOTICE_END; stage++) {
		if (stage == NOTICE_NONE)
			continue;
		t = rules_notice_time(stage, &rf);
		if (t == 0 || t < sim->from || t >= sim->to)
			continue;
		/*
		 * When a later stage falls at the same instant, the schedule
		 * sends only that one (the most advanced that has fallen).
		 */
		for (later = stage + 1; later < NOTICE_END; later++) {
			u = rules_notice_time(later, &rf);
			if (u != 0 && u <= t)
				break;
		}
		if (later < NOTICE_END)
			continue;
		why = simulate_why(sim, f, stage, &rf);
		ev = json_pack("{s:o s:s s:s s:o s:s}",
		    "at", when_json(t),
		    "kind", rules_notice_name(stage),
		    "owner", f->owner,
		    "followup", simulate_followup_json(f),
		    "why", why);
		free(why);
		simulate_add(sim, t, f->id, ev);
	}
	return 0;
}

static int
simulate_count_cb(const struct fu_contact *c, void *arg)
{
	(void)c;
	(*(int64_t *)arg)++;
	return 0;
}

/*
 * The digest rep would get at t in zone, on the local day that ends at
 * next, if nothing changes meanwhile: none when it would list nothing,
 * as the outbox sends none then.
 */
static int
simulate_digest(struct simulate *sim, const char *rep, const char *zone,
    int minute, time_t t, time_t next)
{
	struct op_ctx	*ctx = sim->ctx;
	struct store_stale ss;
	int64_t		 overdue, due, stale = 0;
	json_t		*ev;
	char		 date[16], more[48], *why;

	config_stale(ctx->cf, &ss);
	if ((sim->r = store_followup_count_due(ctx->st, rep, 0, t,
	    &overdue)) != STORE_OK ||
	    (sim->r = store_followup_count_due(ctx->st, rep, t, next,
	    &due)) != STORE_OK ||
	    (sim->r = store_contact_stale(ctx->st, rep, &ss, t,
	    SIMULATE_STALE_MAX, simulate_count_cb, &stale)) != STORE_OK)
		return -1;
	if (overdue + due + stale == 0)
		return 0;
	more[0] = '\0';
	if (stale > 0)
		snprintf(more, sizeof more, ", %lld stale contact%s",
		    (long long)stale, stale == 1 ? "" : "s");
	xasprintf(&why, "morning digest at %02d:%02d %s: %lld overdue, "
	    "%lld due that day%s", minute / 60, minute % 60, zone,
	    (long long)overdue, (long long)due, more);
	when_local_date(t, zone, date, sizeof date);
	ev = json_pack("{s:o s:s s:s s:n s:s s:{s:s s:s s:I s:I s:I}}",
	    "at", when_json(t),
	    "kind", rules_notice_name(NOTICE_DIGEST),
	    "owner", rep,
	    "followup",
	    "why", why,
	    "digest", "date", date, "tz", zone, "overdue", (json_int_t)overdue,
	    "due", (json_int_t)due, "stale", (json_int_t)stale);
	free(why);
	simulate_add(sim, t, 0, ev);
	return 0;
}

/*
 * A rep's digests in the window: one per local calendar day, at their
 * digest time in their zone (as the outbox plans them), so across a clock
 * change the digest keeps its wall-clock time.
 */
static int
simulate_user_cb(const struct fu_user *u, void *arg)
{
	struct simulate	*sim = arg;
	const char	*zone;
	time_t		 day, next, t;
	int		 minute, i;

	zone = u->tz != NULL && when_zone_valid(u->tz) ? u->tz :
	    when_local_zone();
	if (u->digest == NULL || config_parse_hhmm(u->digest, &minute) != 0)
		minute = sim->ctx->cf->digest;
	for (i = 0; i <= SIMULATE_DAYS_MAX + 1; i++) {
		if (when_day_start(sim->from, zone, i, &day) != 0 ||
		    day >= sim->to ||
		    when_day_start(sim->from, zone, i + 1, &next) != 0)
			break;
		t = when_local_on_day(day, zone, minute);
		if (t == 0 || t < sim->from || t >= sim->to)
			continue;
		if (simulate_digest(sim, u->name, zone, minute, t, next) != 0)
			return 1;
	}
	return 0;
}

/* Events by time, then follow-up (digests first), then rep. */
static int
simulate_cmp(const void *a, const void *b)
{
	const struct simulate_event	*x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->followup_id != y->followup_id)
		return x->followup_id < y->followup_id ? -1 : 1;
	return strcmp(x->owner, y->owner);
}

/* Work out the window [*from, *to) the arguments ask for. */
static int
simulate_window(struct op_ctx *ctx, json_t *args, const char *zone,
    time_t *from, time_t *to)
{
	*from = ctx->now;
	if (ops_str(args, "from") != NULL &&
	    ops_time_arg(ctx, args, "from", zone, from) != 0)
		return -1;
	*to = *from + SIMULATE_DEFAULT;
	if (ops_str(args, "to") != NULL &&
	    ops_time_arg(ctx, args, "to", zone, to) != 0)
		return -1;
	if (*to <= *from)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "the window must end after it starts");
	if (*to - *from > SIMULATE_WINDOW_MAX)
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "a simulation "
		    "covers at most %d days", SIMULATE_DAYS_MAX);
	if (*from < ctx->now) {
		/* What has fallen was sent already, or goes out now. */
		reply_note(ctx, "from: nothing before now is shown");
		*from = *to > ctx->now ? ctx->now : *to;
	}
	return 0;
}

/* simulate: the notices and digests that would go out in a window. */
int
op_simulate(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct simulate	 sim;
	struct fu_user	 u;
	json_t		*events;
	const char	*owner;
	char		*zone = NULL;
	time_t		 end;
	size_t		 i;
	int		 rows, truncated = 0;
	enum store_result	 r;

	if (ops_owner_arg(ctx, args, 1, &owner) != 0 ||
	    ops_zone(ctx, args, NULL, &zone) != 0)
		return -1;
	memset(&sim, 0, sizeof sim);
	sim.ctx = ctx;
	sim.zone = zone;
	sim.r = STORE_OK;
	if (simulate_window(ctx, args, zone, &sim.from, &sim.to) != 0) {
		free(zone);
		return -1;
	}

	end = sim.to;
	if (sim.from < sim.to) {
		sim.r = store_followup_notices(ctx->st, owner, sim.to,
		    SIMULATE_ROWS_MAX, simulate_followup_cb, &sim, &rows);
		if (sim.r == STORE_OK && rows == SIMULATE_ROWS_MAX) {
			/* Rows come by next notice: later ones were not read. */
			end = sim.last_notice;
			truncated = 1;
		}
	}
	if (sim.r == STORE_OK && sim.from < sim.to && owner == NULL) {
		/* The digests of every rep the schedule knows. */
		if ((r = store_user_list(ctx->st, simulate_user_cb, &sim)) !=
		    STORE_OK)
			sim.r = r;
	} else if (sim.r == STORE_OK && sim.from < sim.to) {
		/* A rep the schedule does not know yet gets no digest. */
		if ((r = store_user_get(ctx->st, owner, &u)) == STORE_OK)
			simulate_user_cb(&u, &sim);
		else if (r != STORE_NOT_FOUND)
			sim.r = r;
		fu_user_clear(&u);
	}
	if (sim.r != STORE_OK) {
		for (i = 0; i < sim.n; i++)
			json_decref(sim.events[i].obj);
		free(sim.events);
		free(zone);
		return reply_store_error(ctx, sim.r, "", 0);
	}

	if (sim.n > 0)
		qsort(sim.events, sim.n, sizeof *sim.events, simulate_cmp);
	events = json_array();
	for (i = 0; i < sim.n; i++) {
		if (sim.events[i].at >= end ||
		    json_array_size(events) == SIMULATE_EVENTS_MAX)
			truncated = 1;
		else
			json_array_append(events, sim.events[i].obj);
		json_decref(sim.events[i].obj);
	}
	free(sim.events);
	*result = json_pack("{s:o s:o s:s s:o s:b}",
	    "from", when_json(sim.from), "to", when_json(sim.to),
	    "tz", zone, "events", events, "truncated", truncated);
	free(zone);
	return 0;
}
