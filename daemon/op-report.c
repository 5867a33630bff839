/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The report op: how a rep (or the team) is doing.  The pipeline by stage;
 * the follow-ups that fell due since a time, done on time, late or missed,
 * and the on-time rate; the callbacks' promises, each judged by the time
 * it was agreed for: kept, early, late, missed, or moved by a new
 * agreement before it was missed; this week's voicemails per contact,
 * with any over the limit; and the stale contacts.  A read: nothing
 * changes.
 *
 * The figures are worked out on a thread beside the loop (worker.c),
 * through a reader of their own (store_reader_open): for a team of years
 * of records that is a third of a second and more, which the loop would
 * otherwise stall everyone for.  The loop only takes the request, and
 * answers once the thread is done.  A rep has one report worked out at a
 * time (another from another connection waits its turn), and the daemon
 * REPORT_MAX_RUNNING: each reads much of the database.
 */

#include <config.h>

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "followupd.h"

/* The default window, and the stale contacts listed at most. */
#define REPORT_DEFAULT_SINCE	(30 * 86400)
#define REPORT_STALE_MAX	100
/* Reports worked out at once, daemon-wide; more wait their turn. */
#define REPORT_MAX_RUNNING	4
/* Reports of one rep waiting their turn; more are refused (conflict). */
#define REPORT_MAX_WAITING	8
#define REPORT_CANNOT_START	"the daemon cannot start the report now; " \
	"try again"

/*
 * What one report is asked, with the configuration it needs copied: a
 * reload may free the configuration while the thread reads.
 */
struct report_query {
	char		*owner;		/* NULL: the team */
	time_t		 since, now;
	char		**stages;	/* open, then closed */
	int		 nopen, nclosed;
	long		 missed_grace, callback_tolerance, stale_after;
	int		 voicemails_per_week;
};

struct report_rep {
	char		*name;
	char		*zone;		/* for "its due day" */
	time_t		 day_lo, day_hi; /* the last due day worked out */
	json_t		*pipeline;	/* stage -> count */
	int64_t		 on_time, late, missed, open, cancelled;
	int64_t		 cb_kept, cb_early, cb_late, cb_missed, cb_open;
	int64_t		 cb_cancelled, cb_reagreed;
	json_t		*voicemails;	/* [{contact_id, ...}] */
	json_t		*stale;
};

struct report {
	struct store			*st;
	const struct report_query	*q;
	struct report_rep		*reps;
	size_t				 n;
};

/* The rep called name, added (with the configured stages at 0) if new. */
static struct report_rep *
report_rep(struct report *rp, const char *name)
{
	const struct report_query *q = rp->q;
	struct report_rep	*r;
	struct fu_user		 u;
	size_t			 i;
	int			 k;

	for (i = 0; i < rp->n; i++) {
		if (strcmp(rp->reps[i].name, name) == 0)
			return &rp->reps[i];
	}
	rp->reps = xreallocarray(rp->reps, rp->n + 1, sizeof *rp->reps);
	r = &rp->reps[rp->n++];
	memset(r, 0, sizeof *r);
	r->name = xstrdup(name);
	memset(&u, 0, sizeof u);
	if (store_user_get(rp->st, name, &u) == STORE_OK &&
	    u.tz != NULL && when_zone_valid(u.tz))
		r->zone = xstrdup(u.tz);
	else
		r->zone = xstrdup(when_local_zone());
	fu_user_clear(&u);
	r->pipeline = json_object();
	for (k = 0; k < q->nopen + q->nclosed; k++)
		json_object_set_new(r->pipeline, q->stages[k], json_integer(0));
	r->voicemails = json_array();
	r->stale = json_array();
	return r;
}

static int
report_stage_cb(const struct store_report_row *row, void *arg)
{
	struct report_rep	*r = report_rep(arg, row->text[0]);

	json_object_set_new(r->pipeline, row->text[1],
	    json_integer(row->num[2]));
	return 0;
}

/*
 * One follow-up that fell due: on time when done by its time (a callback
 * within callback_tolerance after the time last agreed, any other on its
 * due day in the rep's zone), missed when still open at its deadline
 * (rules_followup_deadline).  One moved after it had missed its time
 * counts against that time: late once done, missed while open.
 */
static int
report_followup_cb(const struct store_report_row *row, void *arg)
{
	struct report		*rp = arg;
	const struct report_query *q = rp->q;
	struct report_rep	*r = report_rep(rp, row->text[1]);
	const char		*status = row->text[3];
	time_t			 due = row->num[4], done = row->num[5];
	time_t			 limit, deadline;
	int			 callback;

	callback = strcmp(row->text[2], "callback") == 0;
	if (!row->null[7])		/* moved after missing row->num[7] */
		limit = deadline = row->num[7];
	else if (callback) {
		if (!row->null[6])
			due = row->num[6];
		deadline = rules_followup_deadline(1, due, r->zone,
		    q->missed_grace);
		limit = due + q->callback_tolerance;
	} else {
		/* Rows come by due time: most share the day before them. */
		if (due < r->day_lo || due >= r->day_hi) {
			if (when_day_start(due, r->zone, 0, &r->day_lo) != 0 ||
			    when_day_start(due, r->zone, 1, &r->day_hi) != 0)
				r->day_lo = r->day_hi = 0;
		}
		limit = deadline = r->day_hi != 0 ? r->day_hi :
		    rules_followup_deadline(0, due, r->zone, 0);
	}
	if (strcmp(status, "cancelled") == 0)
		r->cancelled++;
	else if (strcmp(status, "done") == 0) {
		if (done <= limit)
			r->on_time++;
		else
			r->late++;
	} else if (q->now > deadline)
		r->missed++;
	else
		r->open++;
	return 0;
}

/*
 * Follow-ups and callback promises planned for later are open too:
 * pending, and not yet due, so nothing has judged them.
 */
static int
report_upcoming_cb(const struct store_report_row *row, void *arg)
{
	struct report_rep	*r = report_rep(arg, row->text[0]);

	r->open += row->num[1];
	r->cb_open += row->num[2];
	return 0;
}

/*
 * One promise: a callback's agreed time.  Re-agreed since, it was missed
 * (re-agreed only after missed_grace had passed) or moved in good time;
 * else it stands where rules_promise_state says.
 */
static int
report_promise_cb(const struct store_report_row *row, void *arg)
{
	struct report		*rp = arg;
	const struct report_query *q = rp->q;
	struct report_rep	*r = report_rep(rp, row->text[0]);
	const char		*state;

	if (!row->null[5]) {
		if (row->num[5])
			r->cb_missed++;
		else
			r->cb_reagreed++;
		return 0;
	}
	state = rules_promise_state(row->text[3], row->num[2], row->num[4],
	    q->now, q->callback_tolerance, q->missed_grace);
	if (strcmp(state, "kept") == 0)
		r->cb_kept++;
	else if (strcmp(state, "early") == 0)
		r->cb_early++;
	else if (strcmp(state, "late") == 0)
		r->cb_late++;
	else if (strcmp(state, "missed") == 0)
		r->cb_missed++;
	else if (strcmp(state, "cancelled") == 0)
		r->cb_cancelled++;
	else
		r->cb_open++;
	return 0;
}

/* This calendar week's voicemails, per contact, in the contact's zone. */
static int
report_voicemail_cb(const struct store_report_row *row, void *arg)
{
	struct report		*rp = arg;
	struct report_rep	*r = report_rep(rp, row->text[0]);
	struct cadence_day	 now_d, at_d;
	const char		*zone;
	json_t			*last, *v;
	size_t			 n;
	int64_t			 count;

	zone = row->text[3] != NULL && when_zone_valid(row->text[3]) ?
	    row->text[3] : r->zone;
	if (cadence_local(rp->q->now, zone, &now_d) != 0 ||
	    cadence_local(row->num[4], zone, &at_d) != 0 ||
	    now_d.week != at_d.week)
		return 0;
	n = json_array_size(r->voicemails);
	last = n > 0 ? json_array_get(r->voicemails, n - 1) : NULL;
	if (last == NULL || json_integer_value(json_object_get(last,
	    "contact_id")) != row->num[1]) {
		last = json_pack("{s:I s:s s:i s:b}", "contact_id",
		    (json_int_t)row->num[1], "contact_name", row->text[2],
		    "this_week", 0, "over_limit", 0);
		json_array_append_new(r->voicemails, last);
	}
	v = json_object_get(last, "this_week");
	count = json_integer_value(v) + 1;
	json_object_set_new(last, "this_week", json_integer(count));
	json_object_set_new(last, "over_limit", json_boolean(count >
	    rp->q->voicemails_per_week));
	return 0;
}

static int
report_stale_cb(const struct store_report_row *row, void *arg)
{
	struct report_rep	*r = report_rep(arg, row->text[1]);

	json_array_append_new(r->stale, json_pack("{s:I s:s s:s? s:s s:o}",
	    "id", (json_int_t)row->num[0], "name", row->text[2], "company",
	    row->text[3], "stage", row->text[4], "last_activity_at",
	    when_json(row->num[5])));
	return 0;
}

/* a / b, or null when nothing counts. */
static json_t *
report_rate(int64_t a, int64_t b)
{
	return b > 0 ? json_real((double)a / (double)b) : json_null();
}

/* One rep's section; adds its counts to tot unless it is NULL. */
static json_t *
report_rep_json(struct report_rep *r, struct report_rep *tot)
{
	const char	*stage;
	json_t		*n;

	if (tot == NULL)
		goto out;
	json_object_foreach(r->pipeline, stage, n)
		json_object_set_new(tot->pipeline, stage, json_integer(
		    json_integer_value(json_object_get(tot->pipeline, stage)) +
		    json_integer_value(n)));
	tot->on_time += r->on_time;
	tot->late += r->late;
	tot->missed += r->missed;
	tot->open += r->open;
	tot->cancelled += r->cancelled;
	tot->cb_kept += r->cb_kept;
	tot->cb_early += r->cb_early;
	tot->cb_late += r->cb_late;
	tot->cb_missed += r->cb_missed;
	tot->cb_open += r->cb_open;
	tot->cb_cancelled += r->cb_cancelled;
	tot->cb_reagreed += r->cb_reagreed;
out:
	return json_pack("{s:s s:O s:{s:I s:I s:I s:I s:I s:o} "
	    "s:{s:I s:I s:I s:I s:I s:I s:I s:o} s:O s:O}",
	    "rep", r->name, "pipeline", r->pipeline,
	    "followups",
	    "on_time", (json_int_t)r->on_time, "late", (json_int_t)r->late,
	    "missed", (json_int_t)r->missed, "open", (json_int_t)r->open,
	    "cancelled", (json_int_t)r->cancelled, "on_time_rate",
	    report_rate(r->on_time, r->on_time + r->late + r->missed),
	    "callbacks",
	    "kept", (json_int_t)r->cb_kept, "early", (json_int_t)r->cb_early,
	    "late", (json_int_t)r->cb_late,
	    "missed", (json_int_t)r->cb_missed, "open", (json_int_t)r->cb_open,
	    "cancelled", (json_int_t)r->cb_cancelled, "reagreed",
	    (json_int_t)r->cb_reagreed, "kept_rate", report_rate(r->cb_kept,
	    r->cb_kept + r->cb_early + r->cb_late + r->cb_missed),
	    "voicemails", r->voicemails, "stale", r->stale);
}

static int
report_rep_cmp(const void *a, const void *b)
{
	return strcmp(((const struct report_rep *)a)->name,
	    ((const struct report_rep *)b)->name);
}

/*
 * Work out the report q asks for from st (the loop's store, or a
 * reader's on a thread): set *result, or return what failed.
 */
static enum store_result
report_figures(struct store *st, const struct report_query *q,
    json_t **result)
{
	struct report		 rp;
	struct report_rep	 tot;
	struct store_stale	 ss;
	const char		*owner = q->owner;
	json_t			*reps, *totals;
	enum store_result	 r;
	size_t			 i;

	memset(&rp, 0, sizeof rp);
	rp.st = st;
	rp.q = q;
	if (owner != NULL)
		report_rep(&rp, owner);
	ss.open_stages = q->stages;
	ss.nopen = q->nopen;
	ss.after = q->stale_after;
	if ((r = store_report_stages(st, owner, report_stage_cb,
	    &rp)) != STORE_OK ||
	    (r = store_report_followups(st, owner, q->since, q->now,
	    report_followup_cb, &rp)) != STORE_OK ||
	    (r = store_report_upcoming(st, owner, q->since, q->now,
	    report_upcoming_cb, &rp)) != STORE_OK ||
	    (r = store_report_promises(st, owner, q->since, q->now,
	    report_promise_cb, &rp)) != STORE_OK ||
	    (r = store_report_voicemails(st, owner, q->now - 8 * 86400,
	    report_voicemail_cb, &rp)) != STORE_OK ||
	    (r = store_report_stale(st, owner, &ss, q->now,
	    REPORT_STALE_MAX, report_stale_cb, &rp)) != STORE_OK)
		goto out;
	if (rp.n > 0)
		qsort(rp.reps, rp.n, sizeof *rp.reps, report_rep_cmp);
	memset(&tot, 0, sizeof tot);
	tot.pipeline = json_object();
	reps = json_array();
	for (i = 0; i < rp.n; i++)
		json_array_append_new(reps, report_rep_json(&rp.reps[i], &tot));
	tot.name = (char *)"*";
	tot.voicemails = json_array();
	tot.stale = json_array();
	totals = report_rep_json(&tot, NULL);
	json_object_del(totals, "voicemails");
	json_object_del(totals, "stale");
	json_object_del(totals, "rep");
	json_decref(tot.pipeline);
	json_decref(tot.voicemails);
	json_decref(tot.stale);
	*result = json_pack("{s:o s:o s:o s:o s:o}", "since",
	    when_json(q->since), "until", when_json(q->now), "owner",
	    owner != NULL ? json_string(owner) : json_null(), "reps", reps,
	    "totals", totals);
out:
	for (i = 0; i < rp.n; i++) {
		free(rp.reps[i].name);
		free(rp.reps[i].zone);
		json_decref(rp.reps[i].pipeline);
		json_decref(rp.reps[i].voicemails);
		json_decref(rp.reps[i].stale);
	}
	free(rp.reps);
	return r;
}

/* A report asked on a connection: waiting, then worked out beside the loop. */
struct report_job {
	TAILQ_ENTRY(report_job)	 entry;
	struct conn		*conn;	/* NULL once it hung up */
	char			*caller; /* one report at a time each */
	json_t			*id;
	struct report_query	 q;
	struct worker		*worker; /* NULL while it waits */
	struct store_reader	*reader;

	/* Written by the thread, read by the loop once it is joined. */
	json_t			*result;
	enum store_result	 r;
	char			*cause;	/* the reader did not open */
};

static TAILQ_HEAD(, report_job)	 report_jobs =	/* by arrival */
    TAILQ_HEAD_INITIALIZER(report_jobs);
static int			 report_running;
static struct event_base	*report_base;
static struct store		*report_store;
static struct event		*report_later_ev; /* after the commit */
static int			 report_wait_commit; /* ... which comes */
static int			 report_stopping;

static void	report_next(void);

static void
report_later_cb(evutil_socket_t fd, short what, void *arg)
{
	report_next();
}

/* Work out reports from base's loop, reading st's database. */
void
op_report_init(struct event_base *base, struct store *st)
{
	report_base = base;
	report_store = st;
	if ((report_later_ev = evtimer_new(base, report_later_cb,
	    NULL)) == NULL)
		fatalx("report: evtimer_new");
}

static void
report_query_clear(struct report_query *q)
{
	int	k;

	free(q->owner);
	for (k = 0; k < q->nopen + q->nclosed; k++)
		free(q->stages[k]);
	free(q->stages);
}

static void
report_job_free(struct report_job *job)
{
	if (job->caller != NULL)
		TAILQ_REMOVE(&report_jobs, job, entry);
	if (job->worker != NULL) {
		worker_free(job->worker);
		report_running--;
	}
	store_reader_free(job->reader);
	free(job->caller);
	json_decref(job->id);
	json_decref(job->result);
	free(job->cause);
	report_query_clear(&job->q);
	free(job);
}

/* The error reply for a report that failed with r. */
static json_t *
report_error_reply(json_t *id, enum store_result r)
{
	struct op_ctx	 ctx;
	json_t		*reply;

	memset(&ctx, 0, sizeof ctx);
	reply_store_error(&ctx, r, "", 0);
	reply = ops_error_reply(id, ctx.err, ctx.errmsg);
	free(ctx.errmsg);
	return reply;
}

/* On the worker's thread: the figures, from a snapshot of their own. */
static void
report_run(void *arg)
{
	struct report_job	*job = arg;
	struct store		*rd;

	if ((rd = store_reader_open(job->reader, &job->cause)) == NULL) {
		job->r = STORE_ERROR;
		return;
	}
	job->r = report_figures(rd, &job->q, &job->result);
}

/* Back on the loop: answer, if anyone still waits, and start the next. */
static void
report_done_cb(void *arg)
{
	struct report_job	*job = arg;
	json_t			*reply;

	if (job->conn != NULL) {
		if (job->r == STORE_OK) {
			reply = ops_ok_reply(job->id, job->result);
			job->result = NULL;
		} else if (job->cause != NULL) {
			log_warnx("report: %s", job->cause);
			reply = ops_error_reply(job->id, FU_ERR_UNAVAILABLE,
			    "cannot read the database for the report (see the "
			    "daemon's log); try again");
		} else
			reply = report_error_reply(job->id, job->r);
		ops_answer(job->conn, reply, -1);
	}
	report_job_free(job);
	report_next();
}

/* Has caller a report being worked out? */
static int
report_caller_running(const char *caller)
{
	struct report_job	*job;

	TAILQ_FOREACH(job, &report_jobs, entry) {
		if (job->worker != NULL && strcmp(job->caller, caller) == 0)
			return 1;
	}
	return 0;
}

/*
 * May the waiting job start: is its rep's turn and a place free, and is
 * no group of writes open?  A report's snapshot must hold the writes
 * answered before it on its connection: with a group open, the waiting
 * reports start once it is committed (op_report_committed).  The group
 * may stay open for a while (while the log's sync runs): they wait for
 * its commit rather than look again at every turn of the loop.
 */
static int
report_may_start(struct report_job *job)
{
	if (job->worker != NULL || report_running >= REPORT_MAX_RUNNING ||
	    report_caller_running(job->caller))
		return 0;
	if (store_in_txn(report_store)) {
		report_wait_commit = 1;
		return 0;
	}
	return 1;
}

/* A group of writes was committed: the reports waiting for it may go. */
void
op_report_committed(void)
{
	static const struct timeval	now = { 0, 0 };

	if (!report_wait_commit || report_later_ev == NULL)
		return;
	report_wait_commit = 0;
	evtimer_add(report_later_ev, &now);
}

/* Start working out job's figures on a thread.  Return 0 or -1. */
static int
report_start(struct report_job *job)
{
	char	*cause;

	job->reader = store_reader_new(report_store);
	job->worker = worker_start(report_base, report_run, report_done_cb,
	    job, &cause);
	if (job->worker == NULL) {
		log_warnx("report: %s", cause);
		free(cause);
		return -1;
	}
	report_running++;
	return 0;
}

/*
 * Start the waiting reports that may start, in the order they came: one
 * per rep, REPORT_MAX_RUNNING in all.
 */
static void
report_next(void)
{
	struct report_job	*job, *next;

	for (job = TAILQ_FIRST(&report_jobs); job != NULL &&
	    report_running < REPORT_MAX_RUNNING; job = next) {
		next = TAILQ_NEXT(job, entry);
		if (!report_may_start(job) || report_start(job) == 0)
			continue;
		ops_answer(job->conn, ops_error_reply(job->id,
		    FU_ERR_UNAVAILABLE, REPORT_CANNOT_START), -1);
		report_job_free(job);
	}
}

/*
 * The rep hung up: a waiting report goes at once, a running one once its
 * thread is done (its figures unread).
 */
static void
report_cancel(void *arg)
{
	struct report_job	*job = arg;

	job->conn = NULL;
	if (job->worker == NULL)
		report_job_free(job);
}

/*
 * The daemon stops: the reports being worked out are stopped and their
 * threads joined, and every rep still waiting is told so.
 */
void
op_report_stop(void)
{
	struct report_job	*job;

	report_stopping = 1;
	if (report_later_ev != NULL) {
		event_free(report_later_ev);
		report_later_ev = NULL;
	}
	TAILQ_FOREACH(job, &report_jobs, entry) {
		if (job->worker != NULL)
			store_reader_stop(job->reader);
	}
	while ((job = TAILQ_FIRST(&report_jobs)) != NULL) {
		worker_join(job->worker);
		if (job->conn != NULL)
			ops_answer(job->conn, ops_error_reply(job->id,
			    FU_ERR_UNAVAILABLE, "the daemon is stopping: the "
			    "report was not finished; ask again once the "
			    "daemon is back"), -1);
		report_job_free(job);
	}
}

/* How many reports of caller wait their turn. */
static int
report_caller_waiting(const char *caller)
{
	struct report_job	*job;
	int			 n = 0;

	TAILQ_FOREACH(job, &report_jobs, entry) {
		if (job->worker == NULL && strcmp(job->caller, caller) == 0)
			n++;
	}
	return n;
}

/* report: a rep's (default), a named rep's or the team's figures. */
int
op_report(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct report_job	*job;
	struct report_query	 q;
	const struct fu_config	*cf = ctx->cf;
	const char		*owner;
	char			*zone = NULL;
	time_t			 since = ctx->now - REPORT_DEFAULT_SINCE;
	enum store_result	 r;
	int			 k, defer;

	if (ops_owner_arg(ctx, args, 1, &owner) != 0)
		return -1;
	if (ops_str(args, "since") != NULL) {
		if (ops_zone(ctx, args, NULL, &zone) != 0 ||
		    ops_time_arg(ctx, args, "since", zone, &since) != 0) {
			free(zone);
			return -1;
		}
		free(zone);
		if (since > ctx->now)
			return reply_error(ctx, FU_ERR_INVALID_TIME,
			    "\"since\" is in the future; a report looks "
			    "back");
	}
	defer = ctx->can_defer && report_base != NULL;
	if (defer && report_stopping)
		return reply_error(ctx, FU_ERR_UNAVAILABLE, "the daemon is "
		    "stopping; ask again once it is back");
	if (defer && report_caller_waiting(ctx->caller) >= REPORT_MAX_WAITING)
		return reply_error(ctx, FU_ERR_CONFLICT, "%d of your reports "
		    "are already waiting their turn; wait for their answers",
		    REPORT_MAX_WAITING);
	memset(&q, 0, sizeof q);
	q.owner = owner != NULL ? xstrdup(owner) : NULL;
	q.since = since;
	q.now = ctx->now;
	q.nopen = cf->nopen;
	q.nclosed = cf->nclosed;
	q.stages = xreallocarray(NULL, q.nopen + q.nclosed + 1,
	    sizeof *q.stages);
	for (k = 0; k < cf->nopen; k++)
		q.stages[k] = xstrdup(cf->open_stages[k]);
	for (k = 0; k < cf->nclosed; k++)
		q.stages[cf->nopen + k] = xstrdup(cf->closed_stages[k]);
	q.missed_grace = cf->missed_grace;
	q.callback_tolerance = cf->callback_tolerance;
	q.stale_after = cf->stale_after;
	q.voicemails_per_week = cf->voicemails_per_week;
	if (!defer) {
		/* No loop to wait on (a request from a test): read here. */
		r = report_figures(ctx->st, &q, result);
		report_query_clear(&q);
		if (r != STORE_OK)
			return reply_store_error(ctx, r, "", 0);
		return 0;
	}
	/* Read once here, so the thread only ever reads it. */
	when_local_zone();
	job = xcalloc(1, sizeof *job);
	job->q = q;
	job->caller = xstrdup(ctx->caller);
	job->id = ctx->id != NULL ? json_incref(ctx->id) : NULL;
	TAILQ_INSERT_TAIL(&report_jobs, job, entry);
	/* Its thread answers through the loop, after this returns. */
	if (report_may_start(job) && report_start(job) != 0) {
		report_job_free(job);
		return reply_error(ctx, FU_ERR_UNAVAILABLE,
		    REPORT_CANNOT_START);
	}
	job->conn = ops_defer(ctx, report_cancel, job);
	return 0;
}
