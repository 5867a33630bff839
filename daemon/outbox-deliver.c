/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Delivering: what is due in the outbox goes to its channel, grouped per
 * rep and claim into one message.  A started delivery holds a lease, so
 * a daemon that dies mid-delivery retries it later; a failure is retried
 * with back-off until it succeeds or the give-up time passes (then
 * logged as an error).  Which channel a row belongs to, and how it
 * delivers, is the channel's business (channel.c).
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "followup/timefmt.h"
#include "outbox-internal.h"

/* Most deliveries handled in one pass. */
#define OUTBOX_DISPATCH_MAX	1000
/* Retry delays double from hook_retry up to an hour. */
#define OUTBOX_RETRY_CAP	3600
/* A started delivery's lease lasts its time limit and this much (s). */
#define OUTBOX_LEASE_SLACK	5

/* A started delivery carrying a group of rows, and once over its result. */
struct outbox_deliver_run {
	char				*channel;
	struct outbox_item		*items;
	size_t				 n;
	enum channel_result		 result;
	char				*error;
	time_t				 ended_at;
	time_t				 until;		/* its lease */
	time_t				 started_at;
	int				 recording;	/* on a lane */
	int				 starting;	/* its start not written */
	int				 start_due;	/* ... nor handed over */
	int				 over;		/* result set */
	int				 kept;		/* a write failed */
	struct outbox_deliver_run	*next;
};

/*
 * Where the store has lanes: the starts and results of deliveries, all
 * those waiting when it was handed over, written on the schedule's lane
 * in one statement.  One is out at a time; what comes meanwhile waits
 * for the next.
 */
struct outbox_deliver_batch {
	struct lane_job			 job;		/* first */
	struct fu_config		*cf;		/* a reference */
	struct outbox_deliver_run	**starts;
	size_t				 nstarts;
	struct outbox_deliver_run	**ends;
	size_t				 nends;
	int				 rc;
};

struct outbox_deliver_collect {
	struct outbox_item	*items;
	size_t			 n;
	int			 all;	/* on a lane: the loop sorts out */
};

/* The deliveries due, claimed and read on the schedule's lane. */
struct outbox_deliver_due {
	struct lane_job			 job;		/* first */
	struct outbox_deliver_collect	 c;
	time_t				 now;
	int				 rc;
};

static struct outbox_deliver_run	*outbox_deliver_runs;
static int	outbox_deliver_group_lane(struct outbox_item *, size_t,
		    time_t);
/*
 * Deliveries over whose result could not be written (the database was
 * full or out of reach): kept here and written by the next passes, so
 * that what went out is not taken for undelivered and sent again once
 * its lease runs out.
 */
static struct outbox_deliver_run	*outbox_deliver_ended;
/* Stopping: a result written after this is not kept to write again. */
static int				 outbox_deliver_stopping;
/* The deliveries due are being read on a lane. */
static int				 outbox_deliver_due_out;
/* A batch of starts and results is being written on a lane. */
static int				 outbox_deliver_batch_out;
/* The schedule stopped: no delivery starts any more. */
static int				 outbox_deliver_held;

/* Retry delay after a number of failed attempts. */
static long
outbox_deliver_backoff(const struct fu_config *cf, int attempts)
{
	long	delay = cf->hook_retry;

	while (--attempts > 0 && delay < OUTBOX_RETRY_CAP)
		delay *= 2;
	return delay < OUTBOX_RETRY_CAP ? delay : OUTBOX_RETRY_CAP;
}

/*
 * Have a group's failing deliveries been retried long enough?  The group
 * is judged as one, by its newest notice, so it is never split: a retry
 * carries the same notices, and so the same Message-ID, as the first
 * attempt.
 */
static int
outbox_deliver_give_up(const struct fu_config *cf,
    const struct outbox_item *items, size_t n, time_t now)
{
	time_t	newest = items[0].fire_at;
	size_t	i;

	for (i = 1; i < n; i++) {
		if (items[i].fire_at > newest)
			newest = items[i].fire_at;
	}
	return now - newest >= cf->hook_give_up;
}

/*
 * Item it is given up for good: mark it so, and queue for its rep what
 * its channel has to tell about it (a confirmation the rep asked for
 * that could not be sent), once per follow-up and due time.
 */
static void
outbox_deliver_failed(struct store *st, const struct fu_config *cf,
    struct outbox_item *it, int attempts, const char *error, time_t now)
{
	const struct channel	*ch = channel_find(it->channel);
	json_t			*notice, *f;
	const char		*kind;

	store_delivery_set(st, it->outbox_id, it->channel, "failed",
	    attempts, now, error, now);
	if (ch == NULL || ch->given_up == NULL || (notice = ch->given_up(it,
	    error != NULL ? error : "", now)) == NULL)
		return;
	f = json_object_get(notice, "followup");
	kind = json_string_value(json_object_get(notice, "kind"));
	if (kind == NULL || outbox_request_rep(st, cf,
	    it->owner, kind, json_integer_value(json_object_get(f, "id")),
	    fu_time_parse(json_string_value(json_object_get(f, "due_at"))),
	    notice, now) != 0)
		log_err("outbox: cannot tell %s that %s notice %lld was given "
		    "up", it->owner, it->kind, (long long)it->outbox_id);
	json_decref(notice);
}

static void
outbox_deliver_run_free(struct outbox_deliver_run *run)
{
	outbox_items_free(run->items, run->n);
	free(run->channel);
	free(run->error);
	free(run);
}

/*
 * The new states of an ended delivery's rows, appended to v (*n so
 * far): sent, or their retry planned.  A row given up is written here
 * at once, with what its channel has to tell of it.  It touches only
 * st, cf and run, so it may run on a lane.
 */
static void
outbox_deliver_ends(struct store *st, const struct fu_config *cf,
    struct outbox_deliver_run *run, struct store_delivery_state *v,
    size_t *n)
{
	struct outbox_item		*it;
	struct store_delivery_state	*d;
	enum channel_result		 result = run->result;
	const char			*error = run->error;
	time_t				 now = run->ended_at;
	long				 delay;
	size_t				 i;
	int				 attempts, give_up;

	give_up = outbox_deliver_give_up(cf, run->items, run->n, now) ||
	    result == CHANNEL_GIVE_UP;
	for (i = 0; i < run->n; i++) {
		it = &run->items[i];
		attempts = it->attempts + 1;
		if (result != CHANNEL_DONE && give_up) {
			outbox_deliver_failed(st, cf, it, attempts, error,
			    now);
			log_err("outbox: giving up on %s notice %lld for %s "
			    "after %d attempts over %lld s%s: %s", it->kind,
			    (long long)it->outbox_id, it->owner, attempts,
			    (long long)(now - it->fire_at),
			    result == CHANNEL_GIVE_UP ? " (a permanent "
			    "failure, not retried)" : "", error);
			continue;
		}
		d = &v[(*n)++];
		memset(d, 0, sizeof *d);
		d->outbox_id = it->outbox_id;
		d->channel = it->channel;
		d->attempts = attempts;
		d->now = now;
		if (result == CHANNEL_DONE) {
			d->status = "sent";
			d->next_at = now;
			continue;
		}
		delay = outbox_deliver_backoff(cf, attempts);
		d->status = "pending";
		d->next_at = now + delay;
		d->error = error;
		if (i == 0)
			log_warnx_limited("hooks: delivery failed",
			    it->owner, "hooks: %s; retry %d in %ld s", error,
			    attempts, delay);
	}
}

/*
 * Write in st with cf the starts of starts[0..nstarts) (their rows held
 * until their lease ends) and the results of ends[0..nends), as one
 * write.  -1 if the database cannot be written now (and then none of
 * it is).  It touches only st, cf and the runs, so it may run on a lane.
 */
static int
outbox_deliver_write(struct store *st, const struct fu_config *cf,
    struct outbox_deliver_run *const *starts, size_t nstarts,
    struct outbox_deliver_run *const *ends, size_t nends)
{
	struct store_delivery_state	*v, *d;
	const struct outbox_item	*it;
	size_t				 i, k, n = 0, max = 0;
	enum store_result		 r;

	for (i = 0; i < nstarts; i++)
		max += starts[i]->n;
	for (i = 0; i < nends; i++)
		max += ends[i]->n;
	if (store_write_begin(st) != STORE_OK)
		return -1;
	v = xcalloc(max > 0 ? max : 1, sizeof *v);
	for (i = 0; i < nstarts; i++) {
		for (k = 0; k < starts[i]->n; k++) {
			it = &starts[i]->items[k];
			d = &v[n++];
			d->outbox_id = it->outbox_id;
			d->channel = it->channel;
			d->start = 1;
			d->attempts = it->attempts;
			d->next_at = starts[i]->until;
			d->now = starts[i]->started_at;
		}
	}
	for (i = 0; i < nends; i++)
		outbox_deliver_ends(st, cf, ends[i], v, &n);
	r = store_delivery_write(st, v, n);
	free(v);
	store_write_end(st, r == STORE_OK);
	return r == STORE_OK ? 0 : -1;
}

/*
 * Write an ended delivery's result in st with cf: its rows sent, or
 * their retry planned, or given up.  -1 if the database cannot be
 * written now.
 */
static int
outbox_deliver_record(struct store *st, const struct fu_config *cf,
    struct outbox_deliver_run *run)
{
	return outbox_deliver_write(st, cf, NULL, 0, &run, 1);
}

/* Keep run's result, not written yet, for the next passes to write. */
static void
outbox_deliver_keep(struct outbox_deliver_run *run)
{
	run->kept = 1;
	log_warnx_limited("outbox: cannot record a delivery", NULL,
	    "outbox: cannot record that a delivery to %s ended; kept until "
	    "the database can be written", run->channel);
	run->next = outbox_deliver_ended;
	outbox_deliver_ended = run;
}

/* Take run off the results kept. */
static void
outbox_deliver_unkeep(struct outbox_deliver_run *run)
{
	struct outbox_deliver_run	**pp;

	for (pp = &outbox_deliver_ended; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == run) {
			*pp = run->next;
			break;
		}
	}
}

static void	outbox_deliver_write_lane(void);

/* On the schedule's lane, in its group's transaction: write a batch. */
static void
outbox_deliver_batch_run(struct store *st, struct lane_job *j)
{
	struct outbox_deliver_batch	*b = (void *)j;

	b->rc = outbox_deliver_write(st, b->cf, b->starts, b->nstarts,
	    b->ends, b->nends);
	j->wrote = b->rc == 0;
}

/*
 * On the loop, a batch's group committed (or was lost).  Each result
 * written is done with; one that was not is kept among the results to
 * write again (its rows stay out of the schedule's hands meanwhile).  A
 * start not written leaves its rows to the claim's own lease.  Then the
 * next batch goes, with what came meanwhile; after a failure, the next
 * pass the timer brings hands it over instead (at once, it would fail
 * again as fast as the database answers).
 */
static void
outbox_deliver_batch_done(struct lane_job *j)
{
	struct outbox_deliver_batch	*b = (void *)j;
	struct outbox_deliver_run	*run;
	int				 ok = b->rc == 0 && j->committed;
	size_t				 i;

	outbox_deliver_batch_out = 0;
	if (!ok && b->nstarts > 0)
		log_warnx_limited("outbox: cannot record a delivery", NULL,
		    "outbox: cannot record that %zu deliveries started; "
		    "their claims hold them meanwhile", b->nstarts);
	for (i = 0; i < b->nends; i++) {
		run = b->ends[i];
		run->recording = 0;
		if (ok) {
			outbox_deliver_unkeep(run);
			if (run->kept)
				log_info("outbox: recorded that a delivery "
				    "to %s ended, at the second try",
				    run->channel);
			outbox_deliver_run_free(run);
		} else if (outbox_deliver_stopping) {
			outbox_deliver_unkeep(run);
			log_warnx("outbox: a delivery to %s ended but could "
			    "not be recorded; it is tried again after the "
			    "restart", run->channel);
			outbox_deliver_run_free(run);
		} else if (!run->kept) {
			outbox_deliver_unkeep(run);	/* first again */
			outbox_deliver_keep(run);
		}
	}
	for (i = 0; i < b->nstarts; i++) {
		run = b->starts[i];
		run->starting = 0;
		if (!run->over || !outbox_deliver_stopping)
			continue;
		/* Stopping: the lanes are done; the loop's store writes
		 * what ended after its start was handed over. */
		outbox_deliver_unkeep(run);
		if (outbox_deliver_record(outbox_store, *outbox_cfp,
		    run) != 0)
			log_warnx("outbox: a delivery to %s ended but could "
			    "not be recorded; it is tried again after the "
			    "restart", run->channel);
		outbox_deliver_run_free(run);
	}
	config_free(b->cf);
	free(b->starts);
	free(b->ends);
	free(b);
	if (ok) {
		outbox_deliver_write_lane();
		/* What is due next may have changed. */
		events_publish(EVENTS_DELIVERY, NULL, "ended", NULL);
	}
}

/*
 * Where the store has lanes, hand what waits to be written (the starts
 * of deliveries, and the results of those ended) to the schedule's lane
 * as one batch, unless one is out already (its end hands the rest).  A
 * result is written after its start, in a later batch or in place of it
 * (a delivery that ended before its start was handed over needs none).
 */
static void
outbox_deliver_write_lane(void)
{
	struct outbox_deliver_batch	*b;
	struct outbox_deliver_run	*run;
	size_t				 ns = 0, ne = 0;

	if (outbox_deliver_batch_out || outbox_deliver_stopping ||
	    lanes_running() == 0)
		return;
	for (run = outbox_deliver_runs; run != NULL; run = run->next)
		ns += run->start_due;
	for (run = outbox_deliver_ended; run != NULL; run = run->next)
		ne += !run->recording;
	if (ns == 0 && ne == 0)
		return;
	b = xcalloc(1, sizeof *b);
	b->starts = xcalloc(ns + 1, sizeof *b->starts);
	b->ends = xcalloc(ne + 1, sizeof *b->ends);
	for (run = outbox_deliver_runs; run != NULL; run = run->next) {
		if (run->start_due) {
			run->start_due = 0;
			b->starts[b->nstarts++] = run;
		}
	}
	for (run = outbox_deliver_ended; run != NULL; run = run->next) {
		if (run->recording)
			continue;
		run->start_due = 0;
		run->starting = 0;
		run->recording = 1;
		b->ends[b->nends++] = run;
	}
	b->job.run = outbox_deliver_batch_run;
	b->job.done = outbox_deliver_batch_done;
	b->cf = config_ref(*outbox_cfp);
	outbox_deliver_batch_out = 1;
	lanes_submit(&b->job, LANES_SCHEDULE_UID);
}

/* A started delivery is over: record its result, or keep it to record. */
static void
outbox_deliver_done_cb(enum channel_result result, const char *error,
    void *arg)
{
	struct outbox_deliver_run	*run = arg, **pp;

	for (pp = &outbox_deliver_runs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == run) {
			*pp = run->next;
			break;
		}
	}
	run->result = result;
	run->error = error != NULL ? xstrdup(error) : NULL;
	run->ended_at = time(NULL);
	run->over = 1;
	/* Once stopping, a start handed over has its batch's end write
	 * this result; otherwise the loop's store does, here. */
	if (lanes_running() > 0 && (!outbox_deliver_stopping ||
	    (run->starting && !run->start_due))) {
		run->next = outbox_deliver_ended;
		outbox_deliver_ended = run;
		outbox_deliver_write_lane();	/* its end publishes */
		return;
	}
	run->starting = run->start_due = 0;
	if (outbox_deliver_record(outbox_store, *outbox_cfp, run) == 0)
		outbox_deliver_run_free(run);
	else
		outbox_deliver_keep(run);
	events_publish(EVENTS_DELIVERY, NULL, "ended", NULL);
}

/*
 * Write the results kept while the database could not be written: on
 * the lanes where the store has them (those not on one already), else
 * here, in order, until one fails.
 */
static void
outbox_deliver_record_ended(void)
{
	struct outbox_deliver_run	*run;

	if (lanes_running() > 0 && !outbox_deliver_stopping) {
		outbox_deliver_write_lane();
		return;
	}
	while ((run = outbox_deliver_ended) != NULL && !run->recording) {
		if (outbox_deliver_record(outbox_store, *outbox_cfp, run) != 0)
			return;
		outbox_deliver_ended = run->next;
		log_info("outbox: recorded that a delivery to %s ended, at "
		    "the second try", run->channel);
		outbox_deliver_run_free(run);
	}
}

/*
 * Stopping: a last try at writing the results kept; what still cannot be
 * written is tried again after the restart (and may go out twice).
 */
void
outbox_deliver_flush(void)
{
	struct outbox_deliver_run	*run, **pp;
	int				 n = 0;

	/* A result or start on a lane is its batch's end's, once the lanes
	 * stop; what was not handed over is written here. */
	outbox_deliver_stopping = 1;
	for (run = outbox_deliver_runs; run != NULL; run = run->next) {
		if (!run->start_due)
			continue;
		run->start_due = run->starting = 0;
		if (outbox_deliver_write(outbox_store, *outbox_cfp, &run, 1,
		    NULL, 0) != 0)
			log_warnx("outbox: cannot record that a delivery to "
			    "%s started; its claim holds it meanwhile",
			    run->channel);
	}
	for (pp = &outbox_deliver_ended; (run = *pp) != NULL; ) {
		if (run->recording || (run->starting && !run->start_due)) {
			pp = &run->next;
			continue;
		}
		run->start_due = run->starting = 0;
		if (outbox_deliver_record(outbox_store, *outbox_cfp,
		    run) != 0) {
			n++;
			pp = &run->next;
			continue;
		}
		*pp = run->next;
		outbox_deliver_run_free(run);
	}
	for (pp = &outbox_deliver_ended; (run = *pp) != NULL; ) {
		if (run->recording || run->starting) {
			pp = &run->next;
			continue;
		}
		*pp = run->next;
		outbox_deliver_run_free(run);
	}
	if (n > 0)
		log_warnx("outbox: %d ended deliveries could not be recorded; "
		    "they are tried again after the restart", n);
}

/* Is row id of channel carried by one of runs? */
static int
outbox_deliver_carried(const struct outbox_deliver_run *runs,
    const char *channel, int64_t id)
{
	const struct outbox_deliver_run	*run;
	size_t				 i;

	for (run = runs; run != NULL; run = run->next) {
		if (strcmp(run->channel, channel) != 0)
			continue;
		for (i = 0; i < run->n; i++) {
			if (run->items[i].outbox_id == id)
				return 1;
		}
	}
	return 0;
}

static int
outbox_deliver_collect_cb(const struct store_delivery *d, void *arg)
{
	struct outbox_deliver_collect	*c = arg;
	struct outbox_item		*it;

	/* Skip what a started delivery is carrying right now, and what
	 * one ended with (its result waits to be written). */
	if (!c->all && (outbox_deliver_carried(outbox_deliver_runs,
	    d->channel, d->outbox_id) || outbox_deliver_carried(
	    outbox_deliver_ended, d->channel, d->outbox_id)))
		return 0;
	c->items = xreallocarray(c->items, c->n + 1, sizeof *c->items);
	it = &c->items[c->n++];
	memset(it, 0, sizeof *it);
	it->outbox_id = d->outbox_id;
	it->channel = xstrdup(d->channel);
	it->attempts = d->attempts;
	it->owner = xstrdup(d->owner);
	it->kind = xstrdup(d->kind);
	it->fire_at = d->fire_at;
	it->payload = xstrdup(d->payload);
	it->claimed_at = d->claimed_at;
	return 0;
}

/*
 * Do items a and b go out in one message?  Both for one rep on one
 * channel, claimed in the same pass: what fell due in the same second, or
 * what a clock jump or a restart found due at once (late notices and the
 * digest alike).  Nothing is held back for it: only what is due now is
 * grouped.  The claim alone decides, never the time a notice fell due, so
 * a group is the same at every retry and after a restart (and so is its
 * Message-ID): a failed notice retried while a later claim of the same
 * minute waits is not merged with it.
 */
static int
outbox_deliver_same_message(const struct outbox_item *a,
    const struct outbox_item *b)
{
	const struct channel	*ch = channel_find(a->channel);

	/* A channel of single rows (a mail to a contact) never groups. */
	return strcmp(a->channel, b->channel) == 0 && ch != NULL &&
	    !ch->single && strcmp(a->owner, b->owner) == 0 &&
	    a->claimed_at == b->claimed_at;
}

/* Say that it goes nowhere: its channel is configured no more. */
static void
outbox_deliver_log_gone(const struct outbox_item *it)
{
	log_err("outbox: notice %lld for %s not delivered: %s is no longer "
	    "configured", (long long)it->outbox_id, it->owner, it->channel);
}

/* Mark items[0..n) of a row no channel can deliver any more as failed. */
static void
outbox_deliver_gone(struct outbox_item *items, size_t n, const char *why,
    time_t now)
{
	size_t	k;

	for (k = 0; k < n; k++) {
		outbox_deliver_failed(outbox_store, *outbox_cfp, &items[k],
		    items[k].attempts, why, now);
		outbox_deliver_log_gone(&items[k]);
	}
}

/*
 * Hand one group (one row channel, one rep, one claim) to its channel.
 * Return how many rows were handled.  A started delivery takes the
 * group's items (they are zeroed here).
 */
static int
outbox_deliver_group(struct outbox_item *items, size_t n, time_t now)
{
	const struct fu_config		*cf = *outbox_cfp;
	const struct channel		*ch = channel_find(items[0].channel);
	struct outbox_deliver_run	*run;
	const char			*why;
	char				*cause = NULL;
	size_t				 k;
	long				 lease = 0;
	int				 rc, attempts, give_up;

	if (ch == NULL || (why = ch->gone(cf, items[0].channel)) != NULL) {
		outbox_deliver_gone(items, n, ch == NULL ?
		    "the channel is no longer known" : why, now);
		return 0;
	}
	run = xcalloc(1, sizeof *run);
	rc = ch->deliver(cf, items, n, now, outbox_deliver_done_cb, run,
	    &lease, &cause);
	if (rc == CHANNEL_DELIVERED) {
		free(run);
		for (k = 0; k < n; k++)
			store_delivery_set(outbox_store, items[k].outbox_id,
			    items[k].channel, "sent", items[k].attempts + 1,
			    now, NULL, now);
		channel_follow(cf, ch, items, n, now);
		return (int)n;
	}
	if (rc == CHANNEL_STARTED) {
		/* The run takes its own copy of the group. */
		run->channel = xstrdup(items[0].channel);
		run->items = xcalloc(n, sizeof *run->items);
		memcpy(run->items, items, n * sizeof *run->items);
		memset(items, 0, n * sizeof *items);
		run->n = n;
		run->next = outbox_deliver_runs;
		outbox_deliver_runs = run;
		/*
		 * A lease: should the daemon die now, the retry comes after
		 * the delivery would have been stopped (its time limit and a
		 * little), so a hook that outlives us is not raced, and a
		 * reminder is not held up longer than that.
		 */
		for (k = 0; k < n; k++)
			store_delivery_start(outbox_store,
			    run->items[k].outbox_id, run->items[k].channel,
			    run->items[k].attempts,
			    now + lease + OUTBOX_LEASE_SLACK, now);
		return (int)n;
	}
	free(run);
	if (rc == CHANNEL_BUSY)
		return 0;	/* at the cap: a finishing run wakes us */
	give_up = outbox_deliver_give_up(cf, items, n, now);
	for (k = 0; k < n; k++) {
		attempts = items[k].attempts + 1;
		if (give_up)
			outbox_deliver_failed(outbox_store, cf, &items[k],
			    attempts, cause, now);
		else
			store_delivery_set(outbox_store, items[k].outbox_id,
			    items[k].channel, "pending", attempts,
			    now + outbox_deliver_backoff(cf, attempts), cause,
			    now);
	}
	free(cause);
	return 0;
}

/*
 * The deliveries a lane claimed and read: those not carried by a
 * delivery under way or a result not written yet (read before it was),
 * each group handed to its channel.  Return how many were handled.
 */
static int
outbox_deliver_due_hand(struct outbox_deliver_collect *c, time_t now)
{
	size_t	i, j, k;
	int	handled = 0;

	for (i = k = 0; i < c->n; i++) {
		if (outbox_deliver_carried(outbox_deliver_runs,
		    c->items[i].channel, c->items[i].outbox_id) ||
		    outbox_deliver_carried(outbox_deliver_ended,
		    c->items[i].channel, c->items[i].outbox_id)) {
			outbox_item_clear(&c->items[i]);
			continue;
		}
		c->items[k++] = c->items[i];
	}
	c->n = k;
	for (i = 0; i < c->n; i = j) {
		for (j = i + 1; j < c->n; j++) {
			if (!outbox_deliver_same_message(&c->items[i],
			    &c->items[j]))
				break;
		}
		handled += outbox_deliver_group_lane(&c->items[i], j - i,
		    now);
	}
	return handled;
}

/* On the schedule's lane: claim and read the deliveries due. */
static void
outbox_deliver_due_run(struct store *st, struct lane_job *j)
{
	struct outbox_deliver_due	*dj = (void *)j;

	dj->rc = store_delivery_due(st, dj->now, OUTBOX_DISPATCH_MAX,
	    outbox_deliver_collect_cb, &dj->c) == STORE_OK ? 0 : -1;
	j->wrote = dj->c.n > 0;
}

/*
 * On the loop, the claim committed: deliver.  What was handled may let
 * more go: the schedule looks again (a claim that failed waits for the
 * timer's next pass).
 */
static void
outbox_deliver_due_done(struct lane_job *j)
{
	struct outbox_deliver_due	*dj = (void *)j;
	int				 handled = 0;

	outbox_deliver_due_out = 0;
	if (dj->rc == 0 && j->committed && !outbox_deliver_held &&
	    !outbox_deliver_stopping)
		handled = outbox_deliver_due_hand(&dj->c, dj->now);
	outbox_items_free(dj->c.items, dj->c.n);
	free(dj);
	if (handled > 0)
		events_publish(EVENTS_DELIVERY, NULL, "handed", NULL);
}

/* Take the group items[0..n) into a run of channel (items zeroed). */
static struct outbox_deliver_run *
outbox_deliver_run_take(struct outbox_item *items, size_t n)
{
	struct outbox_deliver_run	*run;

	run = xcalloc(1, sizeof *run);
	run->channel = xstrdup(items[0].channel);
	run->items = xcalloc(n, sizeof *run->items);
	memcpy(run->items, items, n * sizeof *run->items);
	memset(items, 0, n * sizeof *items);
	run->n = n;
	return run;
}

/* run is over at once (result, error): its result goes to a lane. */
static void
outbox_deliver_over(struct outbox_deliver_run *run,
    enum channel_result result, const char *error, time_t now)
{
	run->result = result;
	run->error = error != NULL ? xstrdup(error) : NULL;
	run->ended_at = now;
	run->over = 1;
	run->next = outbox_deliver_ended;
	outbox_deliver_ended = run;
	outbox_deliver_write_lane();
}

/*
 * Hand one group (one row channel, one rep, one claim) to its channel,
 * where the store has lanes: what the delivery writes (its lease, its
 * result) is written on the schedule's lane, in order, never here.
 * Return how many rows were handled.
 */
static int
outbox_deliver_group_lane(struct outbox_item *items, size_t n, time_t now)
{
	const struct fu_config		*cf = *outbox_cfp;
	const struct channel		*ch = channel_find(items[0].channel);
	struct outbox_deliver_run	*run;
	const char			*why;
	char				*cause = NULL;
	size_t				 k;
	long				 lease = 0;
	int				 rc;

	why = ch == NULL ? "the channel is no longer known" :
	    ch->gone(cf, items[0].channel);
	run = outbox_deliver_run_take(items, n);
	if (why != NULL) {
		for (k = 0; k < n; k++)
			outbox_deliver_log_gone(&run->items[k]);
		outbox_deliver_over(run, CHANNEL_GIVE_UP, why, now);
		return 0;
	}
	rc = ch->deliver(cf, run->items, n, now, outbox_deliver_done_cb, run,
	    &lease, &cause);
	switch (rc) {
	case CHANNEL_DELIVERED:
		channel_follow(cf, ch, run->items, n, now);
		outbox_deliver_over(run, CHANNEL_DONE, NULL, now);
		return (int)n;
	case CHANNEL_STARTED:
		run->next = outbox_deliver_runs;
		outbox_deliver_runs = run;
		run->until = now + lease + OUTBOX_LEASE_SLACK;
		run->started_at = now;
		run->starting = run->start_due = 1;
		outbox_deliver_write_lane();
		return (int)n;
	case CHANNEL_BUSY:
		outbox_deliver_run_free(run);
		return 0;	/* at the cap: a finishing run wakes us */
	default:
		outbox_deliver_over(run, CHANNEL_RETRY, cause, now);
		free(cause);
		return 0;
	}
}

/*
 * Deliver what is due by now: each group of rows (one channel, one rep,
 * one claim) to its channel, as many as the channels' caps allow.
 * Return how many deliveries were handled, or -1 if the store failed.
 */
int
outbox_deliver(time_t now)
{
	struct outbox_deliver_due	*dj;
	struct outbox_deliver_collect	 c;
	size_t				 i, j;
	int				 handled = 0;

	outbox_deliver_record_ended();
	if (lanes_running() > 0) {
		/* Claimed and read on the schedule's lane; delivered once
		 * it is back (outbox_deliver_due_done). */
		if (!outbox_deliver_due_out) {
			dj = xcalloc(1, sizeof *dj);
			dj->job.run = outbox_deliver_due_run;
			dj->job.done = outbox_deliver_due_done;
			dj->c.all = 1;
			dj->now = now;
			outbox_deliver_due_out = 1;
			lanes_submit(&dj->job, LANES_SCHEDULE_UID);
		}
		return 0;
	}
	memset(&c, 0, sizeof c);
	if (store_delivery_due(outbox_store, now, OUTBOX_DISPATCH_MAX,
	    outbox_deliver_collect_cb, &c) != STORE_OK)
		return -1;
	if (c.n == 0)
		return 0;
	if (store_write_begin(outbox_store) != STORE_OK) {
		outbox_items_free(c.items, c.n);
		return -1;
	}
	for (i = 0; i < c.n; i = j) {
		for (j = i + 1; j < c.n; j++) {
			if (!outbox_deliver_same_message(&c.items[i],
			    &c.items[j]))
				break;
		}
		handled += outbox_deliver_group(&c.items[i], j - i, now);
	}
	store_write_end(outbox_store, 1);
	outbox_items_free(c.items, c.n);
	return handled;
}

/*
 * The schedule stopped: deliver nothing more, not even what a lane is
 * reading for it now (its claims are let go with the store).
 */
void
outbox_deliver_hold(void)
{
	outbox_deliver_held = 1;
}

/* How many started deliveries carry owner's notices (NULL: anyone's). */
int
outbox_deliver_running(const char *owner)
{
	struct outbox_deliver_run	*run;
	int				 n = 0;

	if (owner == NULL)
		return hooks_running();
	for (run = outbox_deliver_runs; run != NULL; run = run->next) {
		if (strcmp(run->items[0].owner, owner) == 0)
			n++;
	}
	return n;
}
