/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Composing notices: what a channel receives for a follow-up that came
 * due, a rep's day (the digest) and a pile of very late notices (the
 * summary).  Reads the store, writes nothing, decides nothing about when.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "outbox-internal.h"

/*
 * The rep as notices show them: name, email and effective zone.  Caller
 * owns the reference.
 */
json_t *
outbox_compose_rep(struct store *st, const char *owner)
{
	struct fu_user	 u;
	json_t		*rep;

	store_user_get(st, owner, &u);
	rep = json_pack("{s:s s:o s:s}", "name", owner,
	    "email", u.email != NULL ? json_string(u.email) : json_null(),
	    "tz", u.tz != NULL && when_zone_valid(u.tz) ? u.tz :
	    when_local_zone());
	fu_user_clear(&u);
	return rep;
}

/* What a missed callback asks the rep to do now, with its command. */
static json_t *
outbox_compose_missed_advice(int64_t id)
{
	json_t	*advice;
	char	*s;

	xasprintf(&s, FU_MISSED_ADVICE "; " FU_MISSED_REAGREE, (long long)id);
	advice = json_string(s);
	free(s);
	return advice;
}

static int
outbox_compose_history_cb(const struct fu_interaction *in, void *arg)
{
	json_array_append_new(arg, interaction_json(in));
	return 0;
}

/*
 * The notice of kind stage for a follow-up, as channels receive it, or
 * NULL if the follow-up is gone; rep is its rep's (outbox_compose_rep,
 * borrowed).  Caller owns the reference.
 */
json_t *
outbox_compose_followup(struct store *st, const struct fu_config *cf,
    const struct store_notice_row *r, json_t *rep, int stage, time_t fire,
    int late, time_t now)
{
	struct fu_followup	 fr;
	struct fu_contact	 cr;
	const struct fu_followup *f = &fr;
	const struct fu_contact	*c = &cr;
	json_t			*notice, *history;
	size_t			 i;

	history = json_array();
	if (r->read) {
		/* The backend read it all with the row. */
		f = &r->followup;
		c = &r->contact;
		if (f->id == 0 || c->id == 0) {
			json_decref(history);
			return NULL;
		}
		for (i = 0; i < r->nhistory; i++)
			json_array_append_new(history,
			    interaction_json(&r->history[i]));
	} else {
		if (store_followup_get(st, r->owner, r->followup_id, &fr) !=
		    STORE_OK) {
			json_decref(history);
			return NULL;
		}
		if (store_contact_get(st, r->owner, fr.contact_id, &cr) !=
		    STORE_OK) {
			fu_followup_clear(&fr);
			json_decref(history);
			return NULL;
		}
		store_interaction_list(st, r->owner, cr.id, 0, 0, 0,
		    STORE_NOTICE_HISTORY, outbox_compose_history_cb, history);
	}
	notice = json_pack("{s:s s:b s:o s:o s:o s:o s:o}",
	    "kind", rules_notice_name(stage),
	    "late", late,
	    "fire_at", when_json(fire),
	    "rep", json_incref(rep),
	    "followup", followup_json(f, now),
	    "contact", contact_json(c),
	    "interactions", history);
	if (stage == NOTICE_MISSED) {
		json_object_set_new(notice, "late_by",
		    json_integer(now - f->due_at));
		json_object_set_new(notice, "advice",
		    outbox_compose_missed_advice(f->id));
		if (cf->manager != NULL)
			json_object_set_new(notice, "manager",
			    json_string(cf->manager));
	}
	if (!r->read) {
		fu_followup_clear(&fr);
		fu_contact_clear(&cr);
	}
	return notice;
}

/*
 * The summary of n notices (borrowed) for owner that came due too long
 * ago to go out one by one.  Caller owns the reference.
 */
json_t *
outbox_compose_summary(struct store *st, const char *owner, json_t *notices,
    size_t n, time_t now)
{
	return json_pack("{s:s s:b s:o s:o s:I s:O}",
	    "kind", rules_notice_name(NOTICE_SUMMARY),
	    "late", 1,
	    "fire_at", when_json(now),
	    "rep", outbox_compose_rep(st, owner),
	    "count", (json_int_t)n,
	    "notices", notices);
}

struct outbox_compose_rows {
	json_t	*callbacks;
	json_t	*others;
	time_t	 now;
};

static int
outbox_compose_digest_cb(const struct fu_followup *f, void *arg)
{
	struct outbox_compose_rows	*rows = arg;

	json_array_append_new(strcmp(f->kind, "callback") == 0 ?
	    rows->callbacks : rows->others, followup_json(f, rows->now));
	return 0;
}

static int
outbox_compose_stale_cb(const struct fu_contact *c, void *arg)
{
	json_array_append_new(arg, contact_json(c));
	return 0;
}

/*
 * u's digest for the day whose digest time is at, in zone: the
 * follow-ups that were overdue that morning and those due that day,
 * still pending, and (with_stale) the contacts stale now.  NULL when all
 * are empty.  Caller owns the reference.
 */
json_t *
outbox_compose_digest(struct store *st, const struct fu_config *cf,
    const struct fu_user *u, const char *zone, time_t at, int late,
    int with_stale, time_t now)
{
	struct store_followup_filter	 flt;
	struct outbox_compose_rows	 overdue, today;
	struct store_stale		 ss;
	json_t				*stale, *notice = NULL;
	char				 date[16];
	time_t				 day;

	memset(&flt, 0, sizeof flt);
	flt.owner = u->name;
	flt.status = "pending";
	flt.limit = FU_LIST_MAX;
	overdue.now = today.now = now;
	overdue.callbacks = json_array();
	overdue.others = json_array();
	today.callbacks = json_array();
	today.others = json_array();
	stale = json_array();
	flt.to = at;
	store_followup_list(st, &flt, outbox_compose_digest_cb, &overdue);
	if (when_day_start(at, zone, 0, &day) == 0 &&
	    when_day_start(at, zone, 1, &flt.to) == 0) {
		flt.from = at;
		store_followup_list(st, &flt, outbox_compose_digest_cb,
		    &today);
	}
	config_stale(cf, &ss);
	if (with_stale)
		store_contact_stale(st, u->name, &ss, now, 100,
		    outbox_compose_stale_cb, stale);
	json_array_extend(overdue.callbacks, overdue.others);
	json_array_extend(today.callbacks, today.others);
	if (json_array_size(overdue.callbacks) +
	    json_array_size(today.callbacks) + json_array_size(stale) > 0) {
		when_local_date(at, zone, date, sizeof date);
		notice = json_pack("{s:s s:b s:o s:o s:s s:s s:O s:O s:O}",
		    "kind", rules_notice_name(NOTICE_DIGEST),
		    "late", late,
		    "fire_at", when_json(at),
		    "rep", outbox_compose_rep(st, u->name),
		    "date", date,
		    "tz", zone,
		    "overdue", overdue.callbacks,
		    "today", today.callbacks,
		    "stale", stale);
	}
	json_decref(overdue.callbacks);
	json_decref(overdue.others);
	json_decref(today.callbacks);
	json_decref(today.others);
	json_decref(stale);
	return notice;
}
