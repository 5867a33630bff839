/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The ops about the daemon itself: hello and status.
 */

#include <config.h>

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "followupd.h"

/*
 * The heartbeat's period.  A timer that fires this often, late by as long
 * as the loop was held by whatever ran before it, measures the loop's
 * stalls to within a period, for a few microseconds a beat.
 */
#define META_BEAT_MS	10

static time_t	 meta_started;
static char	*meta_database;
static char	*meta_socket;

static struct event	*meta_beat;
static long long	 meta_beat_due;		/* monotonic, microseconds */
static long long	 meta_stall_max_us;	/* the longest since start */
static time_t		 meta_stall_at;		/* ... and when it ended */

static long long
meta_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * The heartbeat: how late it fires is how long the loop was held (by a
 * request, a schedule pass, a hook's end ...) before it could.  The
 * clock is read here, not libevent's cached time, which is as old as the
 * loop's turn.
 */
static void
meta_beat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	 tv = { 0, META_BEAT_MS * 1000 };
	long long	 now = meta_now_us(), late = now - meta_beat_due;

	if (late > meta_stall_max_us) {
		meta_stall_max_us = late;
		meta_stall_at = time(NULL);
	}
	meta_beat_due = now + META_BEAT_MS * 1000;
	event_add(meta_beat, &tv);
}

/*
 * Measure the loop's stalls on base from now on; NULL stops (before the
 * base is freed).
 */
void
op_meta_heartbeat(struct event_base *base)
{
	struct timeval	tv = { 0, META_BEAT_MS * 1000 };

	if (meta_beat != NULL) {
		event_free(meta_beat);
		meta_beat = NULL;
	}
	if (base == NULL)
		return;
	if ((meta_beat = evtimer_new(base, meta_beat_cb, NULL)) == NULL)
		fatalx("meta: evtimer_new");
	meta_beat_due = meta_now_us() + META_BEAT_MS * 1000;
	evtimer_add(meta_beat, &tv);
}

/* Remember what status reports about this run. */
void
op_meta_init(time_t started, const char *database, const char *socket)
{
	meta_started = started;
	free(meta_database);
	free(meta_socket);
	meta_database = database != NULL ? xstrdup(database) : NULL;
	meta_socket = socket != NULL ? xstrdup(socket) : NULL;
}

/* hello: who the daemon is and who it thinks the caller is. */
int
op_hello(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_user	u;

	store_user_get(ctx->st, ctx->user, &u);
	*result = json_pack("{s:s s:s s:i s:s s:s s:b s:I s:o}",
	    "server", FU_SERVER_NAME,
	    "version", PACKAGE_VERSION,
	    "protocol", FU_PROTOCOL_VERSION,
	    "user", ctx->user,
	    "caller", ctx->caller,
	    "admin", ctx->admin,
	    "uid", (json_int_t)ctx->uid,
	    "tz", u.tz != NULL ? json_string(u.tz) : json_null());
	fu_user_clear(&u);
	return 0;
}

/* The database's path, for doctor. */
const char *
op_meta_database(void)
{
	return meta_database != NULL ? meta_database : "";
}

/*
 * status: uptime, the caller's counts and next due follow-up, when the
 * schedule next wakes for them, their watchers, and the delivery of their
 * notices.  An admin (not acting for a rep) gets the team's wake-up,
 * watchers, counts and deliveries instead, and each rep's delivery
 * trouble, and the loop's longest stall since the start (it shows how
 * long the whole team waited): a rep learns nothing of the others'
 * activity.
 */
int
op_status(struct op_ctx *ctx, json_t *args, json_t **result)
{
	json_t			*counts;
	struct store_contact_counts n;
	time_t			 next, wakeup;
	int64_t			 reps, contacts, pending;
	enum store_result	 r;

	counts = json_object();
	if ((r = store_contact_counts(ctx->st, ctx->user, ctx->now,
	    &n)) != STORE_OK ||
	    (r = store_followup_next_due(ctx->st, ctx->user, &next)) !=
	    STORE_OK) {
		json_decref(counts);
		return reply_store_error(ctx, r, "", 0);
	}
	counts_json(counts, &n);
	if (ctx->admin)
		wakeup = sched_next_wakeup();
	else if ((r = store_schedule_next_of(ctx->st, ctx->user, &wakeup)) !=
	    STORE_OK) {
		json_decref(counts);
		return reply_store_error(ctx, r, "", 0);
	}
	*result = json_pack("{s:s s:o s:I s:o s:I s:s? s:s? s:o s:o s:o s:i}",
	    "version", PACKAGE_VERSION,
	    "started_at", when_json(meta_started),
	    "uptime", (json_int_t)(ctx->now - meta_started),
	    "now", when_json(ctx->now),
	    "pid", (json_int_t)getpid(),
	    "database", meta_database,
	    "socket", meta_socket,
	    "counts", counts,
	    "next_due", when_json_or_null(next),
	    "next_wakeup", when_json_or_null(wakeup),
	    "watchers", ctx->admin ? events_count() :
	    conn_watchers(ctx->user));
	if (ctx->admin && store_team_counts(ctx->st, &reps, &contacts,
	    &pending) == STORE_OK)
		json_object_set_new(*result, "team", json_pack(
		    "{s:I s:I s:I s:i}", "reps", (json_int_t)reps,
		    "contacts", (json_int_t)contacts,
		    "followups_pending", (json_int_t)pending,
		    "connections", conn_count()));
	if (ctx->admin) {
		json_object_set_new(*result, "loop_stall_max_ms",
		    json_integer(meta_stall_max_us / 1000));
		json_object_set_new(*result, "loop_stall_max_at",
		    when_json_or_null(meta_stall_max_us >= 1000 ? meta_stall_at :
		    0));
	}
	outbox_status(ctx->st, ctx->admin ? NULL : ctx->user, *result);
	json_object_set_new(*result, "delivery_scope",
	    json_string(ctx->admin ? "team" : "yours"));
	return 0;
}
