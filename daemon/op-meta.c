/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The daemon's summary: the ops about the daemon itself (hello and
 * status) and systemd's STATUS= line, from the same figures.  It learns
 * the connections and the next wake-up from the events registry, so
 * neither the connections nor the schedule call up into it.
 */

#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
/* At most one STATUS= line to systemd in this many seconds. */
#define META_STATUS_GAP	1

static time_t	 meta_started;
static char	*meta_database;
static char	*meta_socket;

static struct event	*meta_beat;
static long long	 meta_beat_due;		/* monotonic, microseconds */
static long long	 meta_stall_max_us;	/* the longest since start */
static time_t		 meta_stall_at;		/* ... and when it ended */

static struct store		*meta_store;
static int			 meta_conns;	/* connections open */
static time_t			 meta_wakeup;	/* 0 before the first pass */
static struct events_sub	*meta_conn_sub;
static struct events_sub	*meta_sched_sub;
static struct event		*meta_status_ev;
static struct timespec		 meta_status_at;	/* last sent */
static char			 meta_status_last[256];

static void	meta_status_changed(void);

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

static double
meta_ts(const struct timespec *ts)
{
	return ts->tv_sec + ts->tv_nsec / 1e9;
}

/* The next wake-up as the daemon's local clock reads: a time today,
 * else a day and a time. */
static void
meta_format_wakeup(time_t next, char *buf, size_t len)
{
	struct tm	tm, today;
	time_t		now = time(NULL);

	when_lock();
	if (next == 0 || localtime_r(&next, &tm) == NULL ||
	    localtime_r(&now, &today) == NULL)
		snprintf(buf, len, "not planned");
	else if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
		strftime(buf, len, "%H:%M:%S %Z", &tm);
	else
		strftime(buf, len, "%a %d %b %H:%M %Z", &tm);
	when_unlock();
}

/*
 * Tell systemd how the daemon is doing, if the line changed: the team's
 * counts, the connections, the next wake-up and the backlog.  Any local
 * user may read it (systemctl status), so it carries counts only, never
 * a delivery's error (that names a rep's address): the journal has those.
 */
static void
meta_status_send(void)
{
	char		 buf[sizeof meta_status_last], when[64], failing[64];
	struct store_outbox_stats	 stats;
	int64_t		 reps = 0, contacts = 0, pending = 0, nfail;
	int		 n = meta_conns;

	store_team_counts(meta_store, &reps, &contacts, &pending);
	memset(&stats, 0, sizeof stats);
	store_outbox_stats(meta_store, NULL, &stats);
	nfail = stats.failing;
	meta_format_wakeup(meta_wakeup, when, sizeof when);
	failing[0] = '\0';
	if (nfail > 0)
		snprintf(failing, sizeof failing, "; %lld failing, see the "
		    "journal", (long long)nfail);
	snprintf(buf, sizeof buf, "%lld rep%s, %lld contact%s, %lld pending "
	    "follow-up%s; %d connection%s; next wake-up %s; %lld deliveries "
	    "waiting%s", (long long)reps, reps == 1 ? "" : "s",
	    (long long)contacts, contacts == 1 ? "" : "s", (long long)pending,
	    pending == 1 ? "" : "s", n, n == 1 ? "" : "s", when,
	    (long long)stats.backlog, failing);
	if (strcmp(buf, meta_status_last) != 0) {
		sdnotify_status("%s", buf);
		snprintf(meta_status_last, sizeof meta_status_last, "%s",
		    buf);
		clock_gettime(CLOCK_MONOTONIC, &meta_status_at);
	}
}

static void
meta_status_cb(evutil_socket_t fd, short what, void *arg)
{
	meta_status_send();
}

/*
 * Something the status line shows may have changed (a pass ran, a
 * connection came or went): refresh it soon, at most once a second, so a
 * busy daemon does not flood systemd.  A no-op off systemd.
 */
static void
meta_status_changed(void)
{
	struct timespec	now;
	struct timeval	tv = { 0, 0 };
	double		since;

	if (meta_status_ev == NULL || evtimer_pending(meta_status_ev, NULL))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	since = meta_ts(&now) - meta_ts(&meta_status_at);
	if (since < META_STATUS_GAP) {
		since = META_STATUS_GAP - since;
		tv.tv_sec = (time_t)since;
		tv.tv_usec = (suseconds_t)((since - tv.tv_sec) * 1e6);
	}
	evtimer_add(meta_status_ev, &tv);
}

/* A connection came or went. */
static void
meta_conn_cb(const char *user, const char *kind, json_t *data, void *arg)
{
	meta_conns += strcmp(kind, "open") == 0 ? 1 : -1;
	meta_status_changed();
}

/* The schedule planned its next wake-up. */
static void
meta_sched_cb(const char *owner, const char *kind, json_t *data, void *arg)
{
	meta_wakeup = (time_t)json_integer_value(data);
	meta_status_changed();
}

/* Send no more STATUS= lines: the daemon is stopping. */
void
op_meta_status_stop(void)
{
	if (meta_status_ev != NULL)
		event_free(meta_status_ev);
	meta_status_ev = NULL;
}

/*
 * Keep the daemon's summary from now on: follow the connections and the
 * schedule, and (under systemd) keep the STATUS= line up to date.  With
 * base NULL, stop (before the base is freed).
 */
void
op_meta_summary(struct event_base *base, struct store *st)
{
	events_unsubscribe(meta_conn_sub);
	events_unsubscribe(meta_sched_sub);
	meta_conn_sub = meta_sched_sub = NULL;
	op_meta_status_stop();
	__atomic_store_n(&meta_store, st, __ATOMIC_RELEASE);
	if (base == NULL)
		return;
	meta_conn_sub = events_subscribe(EVENTS_CONNECTION, NULL,
	    meta_conn_cb, NULL);
	meta_sched_sub = events_subscribe(EVENTS_SCHEDULE, NULL,
	    meta_sched_cb, NULL);
	if (sdnotify_enabled() &&
	    (meta_status_ev = evtimer_new(base, meta_status_cb, NULL)) ==
	    NULL)
		fatalx("meta: evtimer_new");
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

/*
 * The reps' time zones as hello last read them, so that where the store
 * is a server's (and has lanes) hello answers from memory, at once,
 * however long the network or the other requests take.  An entry holds
 * while the generation it was read in is the current one: this node's
 * changes of a rep's settings (op_meta_users_changed) and every node's,
 * as the store's news tells (store_node_users_news), move it on.  Hello
 * fills it from the lanes too: the lock guards it.
 */
#define META_TZ_MAX	1024
struct meta_tz {
	char		*user;
	char		*tz;		/* NULL: none set */
	uint64_t	 gen;
};
static pthread_mutex_t	 meta_tz_lock = PTHREAD_MUTEX_INITIALIZER;
static struct meta_tz	 meta_tz[META_TZ_MAX];
static size_t		 meta_ntz;
static uint64_t		 meta_users_changes;	/* this node's */

/* The generation of the reps' settings now (from any thread). */
static uint64_t
meta_users_gen(void)
{
	struct store	*st = __atomic_load_n(&meta_store, __ATOMIC_ACQUIRE);

	return __atomic_load_n(&meta_users_changes, __ATOMIC_ACQUIRE) +
	    (st != NULL ? store_node_users_news(st) : 0);
}

/* A rep's settings were changed here (on the loop, once committed). */
void
op_meta_users_changed(void)
{
	__atomic_add_fetch(&meta_users_changes, 1, __ATOMIC_RELEASE);
}

/* user's time zone if it is known now: 0 with *tz (caller frees), or -1. */
static int
meta_tz_get(const char *user, char **tz)
{
	uint64_t	gen = meta_users_gen();
	size_t		i;
	int		rc = -1;

	pthread_mutex_lock(&meta_tz_lock);
	for (i = 0; i < meta_ntz; i++) {
		if (strcmp(meta_tz[i].user, user) != 0)
			continue;
		if (meta_tz[i].gen == gen) {
			*tz = meta_tz[i].tz != NULL ? xstrdup(meta_tz[i].tz) :
			    NULL;
			rc = 0;
		}
		break;
	}
	pthread_mutex_unlock(&meta_tz_lock);
	return rc;
}

/* Forget every time zone; the lock is held. */
static void
meta_tz_forget(void)
{
	size_t	i;

	for (i = 0; i < meta_ntz; i++) {
		free(meta_tz[i].user);
		free(meta_tz[i].tz);
	}
	meta_ntz = 0;
}

/* Remember user's time zone tz (NULL: none), read in generation gen. */
static void
meta_tz_put(const char *user, const char *tz, uint64_t gen)
{
	struct meta_tz	*e = NULL;
	size_t		 i;

	pthread_mutex_lock(&meta_tz_lock);
	if (gen != meta_users_gen())
		goto out;	/* changed meanwhile: read it again next time */
	for (i = 0; i < meta_ntz; i++) {
		if (strcmp(meta_tz[i].user, user) == 0) {
			e = &meta_tz[i];
			free(e->tz);
			break;
		}
	}
	if (e == NULL) {
		if (meta_ntz == META_TZ_MAX)
			meta_tz_forget();
		e = &meta_tz[meta_ntz++];
		e->user = xstrdup(user);
	}
	e->tz = tz != NULL ? xstrdup(tz) : NULL;
	e->gen = gen;
out:
	pthread_mutex_unlock(&meta_tz_lock);
}

/* Forget every time zone (at the end, or when the memory is full). */
void
op_meta_tz_clear(void)
{
	pthread_mutex_lock(&meta_tz_lock);
	meta_tz_forget();
	pthread_mutex_unlock(&meta_tz_lock);
}

/*
 * hello: who the daemon is and who it thinks the caller is.  Where the
 * store has lanes, the rep's time zone comes from memory, or hello runs
 * on a lane to read it (and remembers it).
 */
int
op_hello(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_user	 u;
	char		*tz = NULL;
	uint64_t	 gen;
	time_t		 since, next_try;

	if (ctx->can_offload) {
		/* Unknown, and not to be read while the server is away. */
		if (meta_tz_get(ctx->user, &tz) != 0 &&
		    !store_offline(ctx->st, &since, &next_try))
			return ops_offload(ctx);
	} else {
		gen = meta_users_gen();
		if (store_user_get(ctx->st, ctx->user, &u) == STORE_OK) {
			if (store_node_shared(ctx->st))
				meta_tz_put(ctx->user, u.tz, gen);
			tz = u.tz;
			u.tz = NULL;
		}
		fu_user_clear(&u);
	}
	*result = json_pack("{s:s s:s s:i s:s s:s s:b s:I s:o}",
	    "server", FU_SERVER_NAME,
	    "version", PACKAGE_VERSION,
	    "protocol", FU_PROTOCOL_VERSION,
	    "user", ctx->user,
	    "caller", ctx->caller,
	    "admin", ctx->admin,
	    "uid", (json_int_t)ctx->uid,
	    "tz", tz != NULL ? json_string(tz) : json_null());
	free(tz);
	return 0;
}

/* The database's path, for doctor. */
const char *
op_meta_database(void)
{
	return meta_database != NULL ? meta_database : "";
}

static int
meta_node_cb(const struct store_node *n, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s s:s s:I s:s s:o s:o s:I}",
	    "name", n->name, "host", n->host, "pid", (json_int_t)n->pid,
	    "version", n->version, "started_at", when_json(n->started_at),
	    "heartbeat_at", when_json(n->heartbeat_at),
	    "clock_offset_ms", (json_int_t)n->clock_offset_ms));
	return 0;
}

/*
 * The store as an admin sees it: its backend, the server's version (null
 * for an SQLite file), the schema version and the live nodes.  An SQLite
 * file has one node, this process, live as long as it answers.
 */
json_t *
op_meta_store(struct op_ctx *ctx)
{
	json_t		*nodes = json_array();
	const char	*server = store_node_server_version(ctx->st);
	char		 host[256];

	if (!store_node_shared(ctx->st)) {
		if (gethostname(host, sizeof host) != 0)
			strcpy(host, "localhost");
		host[sizeof host - 1] = '\0';
		json_array_append_new(nodes, json_pack("{s:s s:s s:I s:s s:o "
		    "s:o}", "name", host, "host", host,
		    "pid", (json_int_t)getpid(), "version", PACKAGE_VERSION,
		    "started_at", when_json(meta_started),
		    "heartbeat_at", when_json(ctx->now)));
	} else if (store_node_live(ctx->st, meta_node_cb, nodes) !=
	    STORE_OK) {
		json_decref(nodes);
		nodes = json_null();
	}
	return json_pack("{s:s s:s? s:i s:o}",
	    "backend", store_backend_name(ctx->st),
	    "server_version", server,
	    "schema", store_schema_version(ctx->st),
	    "nodes", nodes);
}

/*
 * status: uptime, the caller's counts and next due follow-up, when the
 * schedule next wakes for them, their watchers, and the delivery of their
 * notices.  An admin (not acting for a rep) gets the team's wake-up,
 * watchers, counts and deliveries instead, and each rep's delivery
 * trouble, the store (backend, server and schema versions, live nodes),
 * and the loop's longest stall since the start (it shows how
 * long the whole team waited): a rep learns nothing of the others'
 * activity.  While the database server cannot be reached, status still
 * answers what the daemon knows without it, and says so (offline).
 */
int
op_status(struct op_ctx *ctx, json_t *args, json_t **result)
{
	json_t			*counts, *offline = NULL;
	struct store_contact_counts n;
	time_t			 next = 0, wakeup = 0, since, next_try;
	int64_t			 reps, contacts, pending;
	enum store_result	 r;

	/* Where the store has lanes, its part is read on one. */
	if (ctx->can_offload && !store_offline(ctx->st, &since, &next_try))
		return ops_offload(ctx);
	counts = json_object();
	if ((r = store_contact_counts(ctx->st, ctx->user, ctx->now,
	    &n)) == STORE_OK)
		r = store_followup_next_due(ctx->st, ctx->user, &next);
	if (r == STORE_OK && !ctx->admin)
		r = store_schedule_next_of(ctx->st, ctx->user, &wakeup);
	if (r == STORE_OFFLINE) {
		if (!store_offline(ctx->st, &since, &next_try)) {
			since = ctx->now;	/* met just now */
			next_try = 0;
		}
		offline = json_pack("{s:o s:o s:b}", "since",
		    when_json(since), "next_try_at",
		    when_json_or_null(next_try), "standby",
		    store_standby(ctx->st));
		json_decref(counts);
		counts = json_null();
		next = 0;
		wakeup = 0;
	} else if (r != STORE_OK) {
		json_decref(counts);
		return reply_store_error(ctx, r, "", 0);
	} else
		counts_json(counts, &n);
	*result = json_pack("{s:s s:o s:I s:o s:I s:s? s:s? s:o s:o s:o}",
	    "version", PACKAGE_VERSION,
	    "started_at", when_json(meta_started),
	    "uptime", (json_int_t)(ctx->now - meta_started),
	    "now", when_json(ctx->now),
	    "pid", (json_int_t)getpid(),
	    "database", meta_database,
	    "socket", meta_socket,
	    "counts", counts,
	    "next_due", when_json_or_null(next),
	    "next_wakeup", when_json_or_null(wakeup));
	if (ctx->admin && store_team_counts(ctx->st, &reps, &contacts,
	    &pending) == STORE_OK)
		json_object_set_new(*result, "team", json_pack(
		    "{s:I s:I s:I}", "reps", (json_int_t)reps,
		    "contacts", (json_int_t)contacts,
		    "followups_pending", (json_int_t)pending));
	if (ctx->admin)
		json_object_set_new(*result, "store", op_meta_store(ctx));
	if (offline != NULL)
		json_object_set_new(*result, "offline", offline);
	else
		outbox_status(ctx->st, ctx->admin ? NULL : ctx->user, *result);
	json_object_set_new(*result, "delivery_scope",
	    json_string(ctx->admin ? "team" : "yours"));
	if (!ctx->on_lane)
		op_status_finish(*result, ctx->user, ctx->admin);
	return 0;
}

/*
 * Add to status's result (made on the loop, or on a lane from the store)
 * what only the loop knows, for user (admin: the team): the watchers, and
 * for an admin the next wake-up, the connections and the loop's longest
 * stall; the hooks running unless the server is away.  On the loop.
 */
void
op_status_finish(json_t *result, const char *user, int admin)
{
	json_t	*team;

	json_object_set_new(result, "watchers", json_integer(events_count(
	    EVENTS_NOTICE, admin ? NULL : user)));
	if (admin) {
		json_object_set_new(result, "next_wakeup",
		    when_json_or_null(meta_wakeup));
		if ((team = json_object_get(result, "team")) != NULL)
			json_object_set_new(team, "connections",
			    json_integer(meta_conns));
		json_object_set_new(result, "loop_stall_max_ms",
		    json_integer(meta_stall_max_us / 1000));
		json_object_set_new(result, "loop_stall_max_at",
		    when_json_or_null(meta_stall_max_us >= 1000 ?
		    meta_stall_at : 0));
	}
	if (json_object_get(result, "offline") == NULL)
		outbox_status_running(admin ? NULL : user, result);
}
