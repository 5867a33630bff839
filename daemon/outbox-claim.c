/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Claiming: a notice that comes due is written to the outbox, with a
 * delivery row for each channel that takes it, in the same transaction
 * that advances its follow-up, so the ledger never records one notice
 * twice and nothing is lost across a restart.  Very late notices fold
 * into one summary per rep; each rep's digest is claimed here too.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "outbox-internal.h"

/* Most follow-ups claimed in one pass. */
#define OUTBOX_CLAIM_MAX	1000
/* Most missed days that get a late digest each. */
#define OUTBOX_DIGEST_DAYS	7

/* Notices folded into one summary per rep. */
struct outbox_claim_fold {
	char			*owner;
	json_t			*notices;
	int64_t			*ids;
	size_t			 n;
	struct outbox_claim_fold *next;
};

/* A rep as this claim's notices show them, read once per claim. */
struct outbox_claim_rep {
	char			*owner;
	json_t			*rep;
	struct outbox_claim_rep	*next;
};

/* A notice waiting for the claim's next add (outbox_claim_flush). */
struct outbox_claim_notice {
	struct store_outbox	 o;		/* its owner borrowed */
	json_t			*notice;	/* a reference */
	int			 folding;
};

struct outbox_claim_ctx {
	struct store		*st;
	const struct fu_config	*cf;
	time_t			 now;
	struct outbox_claim_rep	*reps;
	struct outbox_claim_fold *folds;
	struct outbox_claim_notice *queue;
	size_t			 nqueue;
	int			 created;
	int			 failed;
};

/*
 * owner as the notices of this claim show them (borrowed): the store is
 * asked once per rep, not once per notice, which counts where each
 * question is a round trip to a database server.
 */
static json_t *
outbox_claim_rep(struct outbox_claim_ctx *ctx, const char *owner)
{
	struct outbox_claim_rep	*r;

	for (r = ctx->reps; r != NULL; r = r->next) {
		if (strcmp(r->owner, owner) == 0)
			return r->rep;
	}
	r = xcalloc(1, sizeof *r);
	r->owner = xstrdup(owner);
	r->rep = outbox_compose_rep(ctx->st, owner);
	r->next = ctx->reps;
	ctx->reps = r;
	return r->rep;
}

/* Forget the reps read. */
static void
outbox_claim_reps_free(struct outbox_claim_ctx *ctx)
{
	struct outbox_claim_rep	*r, *next;

	for (r = ctx->reps; r != NULL; r = next) {
		next = r->next;
		free(r->owner);
		json_decref(r->rep);
		free(r);
	}
	ctx->reps = NULL;
}

/*
 * Add o with payload notice to the outbox, with a delivery row for each
 * channel taking it (none when folding).  Set *created.
 */
static enum store_result
outbox_claim_add(struct outbox_claim_ctx *ctx, struct store_outbox *o,
    json_t *notice, int folding, int *created)
{
	char			**rows;
	char			*payload;
	int			 n;
	enum store_result	 r;

	rows = channel_rows(ctx->cf, o->kind, CHANNEL_TO_REP, &n);
	payload = json_dumps(notice, JSON_COMPACT);
	o->payload = payload;
	r = store_outbox_add(ctx->st, o, (const char *const *)rows,
	    folding ? 0 : n, ctx->now, created);
	o->payload = NULL;
	free(payload);
	channel_rows_free(rows, n);
	return r;
}

/* Keep notice (id) to fold into owner's summary. */
static void
outbox_claim_fold_in(struct outbox_claim_ctx *ctx, const char *owner,
    json_t *notice, int64_t id)
{
	struct outbox_claim_fold	*fold;

	for (fold = ctx->folds; fold != NULL; fold = fold->next) {
		if (strcmp(fold->owner, owner) == 0)
			break;
	}
	if (fold == NULL) {
		fold = xcalloc(1, sizeof *fold);
		fold->owner = xstrdup(owner);
		fold->notices = json_array();
		fold->next = ctx->folds;
		ctx->folds = fold;
	}
	json_array_append(fold->notices, notice);
	fold->ids = xreallocarray(fold->ids, fold->n + 1, sizeof *fold->ids);
	fold->ids[fold->n++] = id;
}

/*
 * Queue one notice for the outbox (owner borrowed until the next
 * outbox_claim_flush); it is folded if it is very late.
 */
static void
outbox_claim_queue(struct outbox_claim_ctx *ctx, const char *owner,
    const char *kind, int64_t followup_id, time_t due_at, time_t fire,
    int late, json_t *notice, int may_fold)
{
	struct outbox_claim_notice	*q;

	ctx->queue = xreallocarray(ctx->queue, ctx->nqueue + 1,
	    sizeof *ctx->queue);
	q = &ctx->queue[ctx->nqueue++];
	memset(q, 0, sizeof *q);
	q->o.owner = owner;
	q->o.kind = kind;
	q->o.followup_id = followup_id;
	q->o.due_at = due_at;
	q->o.fire_at = fire;
	q->o.late = late;
	q->notice = json_incref(notice);
	q->folding = may_fold && late &&
	    ctx->now - fire > ctx->cf->late_horizon;
}

/*
 * Add the notices queued to the outbox, each with a delivery row for
 * each channel taking it (none when folding), in one call to the store:
 * one round trip to a database server for the whole claim.
 */
static int
outbox_claim_flush(struct outbox_claim_ctx *ctx)
{
	struct outbox_claim_notice	*q = ctx->queue;
	struct store_outbox		*os;
	char				***rows;
	int				*nrows;
	size_t				 n = ctx->nqueue, k;

	if (n == 0)
		return ctx->failed ? -1 : 0;
	os = xcalloc(n, sizeof *os);
	rows = xcalloc(n, sizeof *rows);
	nrows = xcalloc(n, sizeof *nrows);
	for (k = 0; k < n; k++) {
		os[k] = q[k].o;
		rows[k] = channel_rows(ctx->cf, q[k].o.kind, CHANNEL_TO_REP,
		    &nrows[k]);
		os[k].channels = (const char *const *)rows[k];
		os[k].nchannels = q[k].folding ? 0 : nrows[k];
		os[k].payload = json_dumps(q[k].notice, JSON_COMPACT);
	}
	if (!ctx->failed && store_outbox_add_many(ctx->st, os, n,
	    ctx->now) != STORE_OK)
		ctx->failed = 1;
	for (k = 0; k < n; k++) {
		if (!ctx->failed && os[k].created) {
			ctx->created++;
			if (q[k].folding)
				outbox_claim_fold_in(ctx, q[k].o.owner,
				    q[k].notice, os[k].id);
		}
		free((char *)os[k].payload);
		channel_rows_free(rows[k], nrows[k]);
		json_decref(q[k].notice);
	}
	free(os);
	free(rows);
	free(nrows);
	free(ctx->queue);
	ctx->queue = NULL;
	ctx->nqueue = 0;
	return ctx->failed ? -1 : 0;
}

/* Record one notice in the outbox; fold it if it is very late. */
static int
outbox_claim_record(struct outbox_claim_ctx *ctx, const char *owner,
    const char *kind, int64_t followup_id, time_t due_at, time_t fire,
    int late, json_t *notice, int may_fold)
{
	outbox_claim_queue(ctx, owner, kind, followup_id, due_at, fire, late,
	    notice, may_fold);
	return outbox_claim_flush(ctx);
}

/* Turn each rep's folded late notices into one summary notice. */
static void
outbox_claim_summaries(struct outbox_claim_ctx *ctx)
{
	struct outbox_claim_fold	*fold, *next;
	struct store_outbox		 o;
	json_t				*summary;
	size_t				 i;
	int				 created;

	for (fold = ctx->folds; fold != NULL; fold = next) {
		next = fold->next;
		summary = outbox_compose_summary(ctx->st, fold->owner,
		    fold->notices,
		    fold->n, ctx->now);
		memset(&o, 0, sizeof o);
		o.owner = fold->owner;
		o.kind = rules_notice_name(NOTICE_SUMMARY);
		o.due_at = ctx->now;
		o.fire_at = ctx->now;
		o.late = 1;
		if (outbox_claim_add(ctx, &o, summary, 0, &created) !=
		    STORE_OK)
			ctx->failed = 1;
		else if (created) {
			for (i = 0; i < fold->n; i++)
				store_outbox_fold(ctx->st, fold->ids[i],
				    o.id);
			log_warnx("outbox: %zu notices for %s are more than "
			    "%ld s late; folded into one summary", fold->n,
			    fold->owner, ctx->cf->late_horizon);
		}
		json_decref(summary);
		json_decref(fold->notices);
		free(fold->ids);
		free(fold->owner);
		free(fold);
	}
	ctx->folds = NULL;
}

/* Record u's digest for the day whose digest time is at, if not empty. */
static void
outbox_claim_digest_day(struct outbox_claim_ctx *ctx,
    const struct fu_user *u, const char *zone, time_t at, int with_stale)
{
	json_t	*notice;
	int	 late = outbox_is_late(at, ctx->now);

	notice = outbox_compose_digest(ctx->st, ctx->cf, u, zone, at, late,
	    with_stale, ctx->now);
	if (notice == NULL)
		return;
	outbox_claim_record(ctx, u->name, rules_notice_name(NOTICE_DIGEST),
	    0, at, at, late, notice, 0);
	json_decref(notice);
}

/*
 * A rep's digest is due (or not planned yet): send it, plan the next.
 * After downtime or a clock jump over several days, each missed day gets
 * its own late digest, dated that day and listing what was due that day
 * (one digest covering them all would list later days' follow-ups as
 * overdue on the first), at most OUTBOX_DIGEST_DAYS of them, the latest;
 * what an older day listed is still pending and so overdue in those.
 */
static void
outbox_claim_digest_cb(const struct fu_user *u, time_t at, void *arg)
{
	struct outbox_claim_ctx		*ctx = arg;
	const struct fu_config		*cf = ctx->cf;
	const char			*zone;
	time_t				 next;
	int				 minute;

	zone = u->tz != NULL && when_zone_valid(u->tz) ? u->tz :
	    when_local_zone();
	if (u->digest == NULL || config_parse_hhmm(u->digest, &minute) != 0)
		minute = cf->digest;
	if (at != 0 && ctx->now - at > OUTBOX_DIGEST_DAYS * 86400L &&
	    (next = rules_next_digest(ctx->now - OUTBOX_DIGEST_DAYS * 86400L,
	    zone, minute)) != 0)
		at = next;
	while (at != 0 && at <= ctx->now) {
		next = rules_next_digest(at, zone, minute);
		outbox_claim_digest_day(ctx, u, zone, at, next == 0 ||
		    next > ctx->now);
		if (next <= at)
			break;
		at = next;
	}
	if (store_digest_set(ctx->st, u->name,
	    rules_next_digest(ctx->now, zone, minute)) != STORE_OK)
		ctx->failed = 1;
}

/*
 * Claim what has come due by now, in st (the loop's store, or a lane's)
 * with cf: for each follow-up whose next notice has fallen, record the
 * most advanced notice it reached (a daemon that was down sends one late
 * notice, not a backlog) and plan the next; then the digests.  All in one
 * write of the group commit, so a notice is in the outbox exactly when
 * its follow-up has moved past it.  Return how much was done (follow-ups
 * advanced and notices recorded; 0 when nothing was due, and then nothing
 * was written), or -1 if the store failed.  It touches nothing but st and
 * cf, so it may run on a lane.  asked, if not NULL, takes the answer to
 * the first question, of when the next notice, delivery and digest fall:
 * it stands for the schedule when nothing was due.
 */
int
outbox_claim_on(struct store *st, const struct fu_config *cf, time_t now,
    struct store_next *asked)
{
	struct outbox_claim_ctx	 ctx;
	struct store_notice_row	*rows;
	struct rules_followup	 rf;
	json_t			*notice;
	size_t			 n, i;
	time_t			 fire, at, digest;
	int64_t			 unplanned;
	int			 passed, next, late;
	enum store_result	 r;

	memset(&ctx, 0, sizeof ctx);
	ctx.st = st;
	ctx.cf = cf;
	ctx.now = now;
	fire = at = digest = 0;
	unplanned = 0;
	/* Write only when something is due: a pass must not commit for
	 * nothing (each commit wakes the schedule again). */
	r = store_schedule_next(st, &fire, &at, &digest, &unplanned);
	if (asked != NULL) {
		asked->r = r;
		asked->notice = fire;
		asked->delivery = at;
		asked->digest = digest;
		asked->unplanned = unplanned;
	}
	if (r != STORE_OK)
		return -1;
	if ((fire == 0 || fire > now) && (digest == 0 || digest > now) &&
	    unplanned == 0)
		return 0;
	if ((r = store_write_begin(st)) != STORE_OK) {
		log_warnx_limited("outbox: cannot claim", NULL, "outbox: "
		    "cannot claim due notices (store result %d); retrying", r);
		return -1;
	}
	if (store_notice_due(st, now, OUTBOX_CLAIM_MAX, &rows,
	    &n) != STORE_OK) {
		store_write_end(st, 0);
		return -1;
	}
	for (i = 0; i < n && !ctx.failed; i++) {
		rf.callback = rows[i].callback;
		rf.due_at = rows[i].due_at;
		rf.remind_at = rows[i].remind_at;
		rf.grace = cf->missed_grace;
		passed = rules_notice_passed(rows[i].stage, &rf, now);
		if (passed != NOTICE_NONE) {
			fire = rules_notice_time(passed, &rf);
			late = outbox_is_late(fire, now);
			notice = outbox_compose_followup(st, cf, &rows[i],
			    outbox_claim_rep(&ctx, rows[i].owner), passed,
			    fire, late, now);
			if (notice != NULL) {
				outbox_claim_queue(&ctx, rows[i].owner,
				    rules_notice_name(passed),
				    rows[i].followup_id, rows[i].due_at, fire,
				    late, notice, 1);
				json_decref(notice);
			}
			next = rules_notice_next(passed + 1, &rf, now + 1, &at);
		} else
			next = rules_notice_next(rows[i].stage, &rf, now + 1,
			    &at);
		/* Its next notice, written for all rows at once below. */
		rows[i].stage = next;
		rows[i].notice_at = at;
	}
	/* The notices in one call, while their owners are still there. */
	(void)outbox_claim_flush(&ctx);
	if (!ctx.failed && store_notice_advance(st, rows, n) != STORE_OK)
		ctx.failed = 1;
	store_notice_rows_free(rows, n);
	outbox_claim_reps_free(&ctx);
	ctx.created += (int)n;
	if (!ctx.failed)
		outbox_claim_summaries(&ctx);
	/* The digests, if the first question found one due. */
	if (!ctx.failed && ((digest != 0 && digest <= now) || unplanned > 0) &&
	    store_digest_due(st, now, outbox_claim_digest_cb, &ctx) !=
	    STORE_OK)
		ctx.failed = 1;
	store_write_end(st, !ctx.failed);
	if (ctx.failed) {
		log_warnx_limited("outbox: claiming failed", NULL,
		    "outbox: claiming due notices failed; retrying");
		return -1;
	}
	return ctx.created;
}

/* Claim what has come due by now, on the loop's store. */
int
outbox_claim(time_t now)
{
	return outbox_claim_on(outbox_store, *outbox_cfp, now, NULL);
}
