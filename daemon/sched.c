/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The schedule: one timer, armed for the next moment anything must happen
 * (a follow-up's notice, a delivery or its retry, a digest), found through
 * indexes, re-armed after every change, and never sleeping past a bounded
 * interval, so a clock step or a suspend is noticed.  A timerfd with
 * TFD_TIMER_CANCEL_ON_SET notices a clock step at once; each pass also
 * compares the wall clock with the monotonic one and logs a jump.  It
 * learns that a delivery ended, and tells when it next wakes, through
 * the events registry, so it never calls up into the outbox's callers.
 *
 * On a database several nodes share, it also beats (keeps this node
 * live, every STORE_NODE_BEAT seconds) and watches the store's socket
 * for the other nodes' news, so a change on one node re-arms the others
 * at once; the periodic pass stays the fallback.
 */

#include <config.h>

#include <sys/timerfd.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "followupd.h"

/* A difference between wall and monotonic time worth a log line. */
#define SCHED_JUMP_LOG		5
/* After a failed write, passes wait this long, doubling up to the cap. */
#define SCHED_BACKOFF_MIN	1
#define SCHED_BACKOFF_MAX	60

static struct event_base	*sched_base;
static struct store		*sched_store;
static const struct fu_config	**sched_cfp;
static struct event		*sched_timer;
static struct event		*sched_clock_ev;
static int			 sched_clock_fd = -1;
static struct timespec		 sched_last_wall;
static struct timespec		 sched_last_mono;
static struct events_sub	*sched_delivery_sub;
static int			 sched_backoff;		/* s; 0: writes work */
static struct timespec		 sched_backoff_until;	/* monotonic */
static unsigned long long	 sched_failures;	/* since writes worked */
/*
 * The commit that holds the last claim: what it claimed is delivered once
 * that commit is durable (its sync may still run beside the loop), and a
 * pass that found it not yet durable waits for store_durable to say so.
 */
static uint64_t			 sched_claim_commit;
static int			 sched_wait_durable;
static struct event		*sched_beat_ev;
static struct event		*sched_notify_ev;
static unsigned			 sched_notify_session;	/* its connection */
static int			 sched_notify_fd = -1;	/* our copy of its socket */
static int			 sched_notify_news;	/* ... the connection's */

/*
 * Where the store has lanes (a database server's), the claim runs on
 * one, so that its statements (several for each notice) never hold the
 * loop: one claim at a time, with the configuration it started with.
 * Its first question (is anything due?) is also the pass's question of
 * when to wake: a claim that found nothing due arms the timer by it.
 */
struct sched_claim {
	struct lane_job		 job;		/* first */
	struct fu_config	*cf;		/* a reference, for the run */
	time_t			 now;
	int			 claimed;	/* outbox_claim_on's */
	struct store_next	 next;		/* ... and its answer */
};
static int			 sched_claim_out;	/* one is on a lane */

/*
 * There, the question of when to wake next is asked on that lane too:
 * one at a time, asked again if the schedule changed meanwhile.
 */
struct sched_plan {
	struct lane_job		 job;		/* first */
	time_t			 now;		/* of the pass */
	int			 progress;	/* ... which moved things */
	enum store_result	 r;
	time_t			 notice, delivery, digest;
	int64_t			 unplanned;
};
static int			 sched_plan_out;	/* one is on a lane */
static int			 sched_plan_again;	/* ... and stale */
/* A pass is coming (sched_changed): a plan back meanwhile arms nothing. */
static int			 sched_pass_soon;

static void	sched_pass_cb(evutil_socket_t, short, void *);
static void	sched_nodes_init(struct event_base *);
static void	sched_delivery_cb(const char *, const char *, json_t *,
		    void *);

static double
sched_ts(const struct timespec *ts)
{
	return ts->tv_sec + ts->tv_nsec / 1e9;
}

/* Arm the clock-step watch: a far-away realtime timer that the kernel
 * cancels whenever the clock is set. */
static void
sched_clock_arm(void)
{
	struct itimerspec	its;

	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = INT32_MAX;
	if (timerfd_settime(sched_clock_fd, TFD_TIMER_ABSTIME |
	    TFD_TIMER_CANCEL_ON_SET, &its, NULL) != 0)
		log_warn("sched: timerfd_settime");
}

static void
sched_clock_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	n;

	if (read(fd, &n, sizeof n) == -1 && errno == ECANCELED) {
		log_info("sched: the system clock was set; rechecking the "
		    "schedule");
		sched_clock_arm();
		sched_changed();
	}
}

/*
 * Start the schedule: the first pass runs at once (it delivers what came
 * due while the daemon was down, marked late).
 */
void
sched_init(struct event_base *base, struct store *st,
    const struct fu_config **cfp)
{
	sched_base = base;
	sched_store = st;
	sched_cfp = cfp;
	sched_timer = evtimer_new(base, sched_pass_cb, NULL);
	if (sched_timer == NULL)
		fatalx("sched: evtimer_new");
	sched_delivery_sub = events_subscribe(EVENTS_DELIVERY, NULL,
	    sched_delivery_cb, NULL);
	sched_clock_fd = timerfd_create(CLOCK_REALTIME,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	if (sched_clock_fd == -1)
		log_warn("sched: timerfd_create (clock steps are noticed "
		    "within check_interval instead)");
	else {
		sched_clock_arm();
		sched_clock_ev = event_new(base, sched_clock_fd,
		    EV_READ | EV_PERSIST, sched_clock_cb, NULL);
		if (sched_clock_ev == NULL)
			fatalx("sched: event_new");
		event_add(sched_clock_ev, NULL);
	}
	clock_gettime(CLOCK_REALTIME, &sched_last_wall);
	clock_gettime(CLOCK_MONOTONIC, &sched_last_mono);
	sched_nodes_init(base);
	sched_changed();
}

static void	sched_notify_cb(evutil_socket_t, short, void *);
static void	sched_connected(void);

/* Stop watching the database's socket. */
static void
sched_notify_unwatch(void)
{
	if (sched_notify_ev != NULL)
		event_free(sched_notify_ev);
	sched_notify_ev = NULL;
	if (sched_notify_fd != -1)
		close(sched_notify_fd);
	sched_notify_fd = -1;
}

/*
 * Watch the connection's socket for the other nodes' news, or while the
 * store connects again, its try's descriptor the way the try waits; anew
 * whenever the store says the socket changed (a new socket, maybe with
 * the old number, or a try waiting the other way).  The loop watches a
 * copy of the store's socket: the store may close its own whenever the
 * connection goes, and the number is not reused under a watch that is
 * still on it.
 */
static void
sched_notify_watch(struct event_base *base)
{
	enum store_watch how;
	unsigned	 session;
	int		 fd, news;

	fd = store_node_notify_fd(sched_store, &session, &how);
	if (session == sched_notify_session && (sched_notify_ev != NULL ||
	    fd == -1))
		return;
	sched_notify_unwatch();
	sched_notify_session = session;
	news = fd != -1 && how == STORE_WATCH_NEWS;
	if (news && !sched_notify_news)
		sched_connected();
	sched_notify_news = news;
	if (fd == -1)
		return;
	if ((sched_notify_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		log_warn("sched: cannot watch the database's socket");
		return;		/* the beat and the periodic check go on */
	}
	sched_notify_ev = event_new(base, sched_notify_fd,
	    (how == STORE_WATCH_CONNECT_WRITE ? EV_WRITE : EV_READ) |
	    EV_PERSIST, sched_notify_cb, base);
	if (sched_notify_ev == NULL)
		fatalx("sched: event_new");
	event_add(sched_notify_ev, NULL);
}

/*
 * Keep this node live (the beat starts a try to connect again to a server
 * that went away).  News that came while the loop ran other statements
 * waits in the store, where no socket event tells of it: read it here
 * too.
 */
static void
sched_beat_cb(evutil_socket_t fd, short what, void *arg)
{
	int	n;

	if (store_node_beat(sched_store) != STORE_OK)
		log_warnx_limited("sched: heartbeat failed", NULL, "sched: "
		    "cannot write this node's heartbeat");
	n = store_node_notify_drain(sched_store);
	sched_notify_watch(arg);
	if (n > 0)
		sched_changed();
}

/*
 * Another node changed the schedule: look again now.  A lost connection
 * leaves its socket readable for good: stop watching it rather than
 * spin; the next statement or beat connects again, and the try's descriptor
 * is watched, then the new connection's.  Once connected again, whatever
 * came due meanwhile is looked at now.
 */
static void
sched_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	unsigned	session = sched_notify_session;
	int		n;

	n = store_node_notify_drain(sched_store);
	sched_notify_watch(arg);
	if (n > 0)
		sched_changed();
	else if (n < 0 && session == sched_notify_session &&
	    sched_notify_ev != NULL) {
		log_warnx("sched: the connection to the database is gone: "
		    "other nodes' changes are seen again once it is back");
		event_del(sched_notify_ev);
	}
}

/* On a shared database: beat, and listen to the other nodes. */
static void
sched_nodes_init(struct event_base *base)
{
	struct timeval	tv = { STORE_NODE_BEAT, 0 };

	if (!store_node_shared(sched_store))
		return;
	sched_beat_ev = event_new(base, -1, EV_PERSIST, sched_beat_cb, base);
	if (sched_beat_ev == NULL)
		fatalx("sched: event_new");
	event_add(sched_beat_ev, &tv);
	sched_notify_watch(base);
}

/* How long the backoff after failed writes still holds passes back. */
static double
sched_backoff_left(void)
{
	struct timespec	now;

	if (sched_backoff == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return sched_ts(&sched_backoff_until) - sched_ts(&now);
}

/* Something changed (a write committed, a hook finished): look again. */
void
sched_changed(void)
{
	struct timeval	tv = { 0, 0 };
	double		left = sched_backoff_left();

	if (left > 0) {
		tv.tv_sec = (time_t)left;
		tv.tv_usec = (suseconds_t)((left - tv.tv_sec) * 1e6);
	}
	sched_pass_soon = 1;
	if (sched_timer != NULL)
		evtimer_add(sched_timer, &tv);
}

/*
 * Is everything the outbox holds durable: the last claim's commit, and
 * the commit of whatever else wrote a notice or a delivery (a request's
 * confirmation, a rep told of a given-up delivery, a rearmed one)?
 */
static int
sched_outbox_durable(void)
{
	uint64_t	target = store_outbox_commit(sched_store);

	if (target < sched_claim_commit)
		target = sched_claim_commit;
	return store_durable(sched_store) >= target;
}

/* More commits are durable: deliver what waited for that. */
void
sched_durable(void)
{
	if (sched_wait_durable && sched_outbox_durable()) {
		sched_wait_durable = 0;
		sched_changed();
	}
}

/* A delivery ended: what is due next may have changed. */
static void
sched_delivery_cb(const char *owner, const char *kind, json_t *data,
    void *arg)
{
	sched_changed();
}

/*
 * A write of the group commit (or a claim that could not open one)
 * succeeded or failed.  A pass that claims what is due counts as
 * progress, so on a full disk it would claim, fail to commit and claim
 * again at once, forever: after a failure the next passes wait, from
 * SCHED_BACKOFF_MIN seconds doubling up to SCHED_BACKOFF_MAX, until a
 * write succeeds again.
 */
void
sched_write_result(int ok)
{
	struct timespec	now;

	if (ok) {
		if (sched_backoff != 0)
			log_info("sched: the database can be written again "
			    "after %llu failed tries", sched_failures);
		sched_backoff = 0;
		sched_failures = 0;
		return;
	}
	sched_failures++;
	if (sched_backoff == 0)
		sched_backoff = SCHED_BACKOFF_MIN;
	else if ((sched_backoff *= 2) > SCHED_BACKOFF_MAX)
		sched_backoff = SCHED_BACKOFF_MAX;
	clock_gettime(CLOCK_MONOTONIC, &now);
	sched_backoff_until = now;
	sched_backoff_until.tv_sec += sched_backoff;
	log_warnx_limited("sched: writes failing", NULL, "sched: the "
	    "database cannot be written (%llu failed tries); next pass in "
	    "%d s", sched_failures, sched_backoff);
}

/*
 * The store is connected (again): what failed for want of the database
 * may work now, so the backoff holds the next pass back no longer, and
 * whatever came due meanwhile is looked at now.
 */
static void
sched_connected(void)
{
	clock_gettime(CLOCK_MONOTONIC, &sched_backoff_until);
	sched_changed();
}

/* Log a clock jump: wall time moved unlike monotonic time. */
static void
sched_check_clock(void)
{
	struct timespec	wall, mono;
	double		jump;

	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	jump = (sched_ts(&wall) - sched_ts(&sched_last_wall)) -
	    (sched_ts(&mono) - sched_ts(&sched_last_mono));
	if (jump > SCHED_JUMP_LOG || jump < -SCHED_JUMP_LOG)
		log_warnx_limited(jump > 0 ? "sched: the clock jumped forward" :
		    "sched: the clock jumped back", NULL,
		    "sched: the clock jumped %s by %.0f s",
		    jump > 0 ? "forward" : "back", jump > 0 ? jump : -jump);
	sched_last_wall = wall;
	sched_last_mono = mono;
}

/* Tell whoever listens (the daemon's summary) when we next wake. */
static void
sched_publish(time_t next)
{
	json_t	*at = json_integer(next);

	events_publish(EVENTS_SCHEDULE, NULL, "planned", at);
	json_decref(at);
}

/*
 * Arm the timer for the next thing due, at most check_interval away,
 * from the store's answer (r) of when the next notice, delivery and
 * digest fall.
 */
static void
sched_arm(time_t now, int progress, enum store_result r, time_t notice,
    time_t delivery, time_t digest, int64_t unplanned)
{
	const struct fu_config	*cf = *sched_cfp;
	struct timeval		 tv, tnow;
	time_t			 next;
	double			 delay;

	next = now + cf->check_interval;
	if (r == STORE_OK) {
		if (notice != 0 && notice < next)
			next = notice;
		/* At the hook cap, a finishing hook wakes us instead. */
		if (delivery != 0 && delivery < next &&
		    (hooks_running() < cf->hook_max || delivery > now))
			next = delivery;
		if (digest != 0 && digest < next)
			next = digest;
		if (unplanned > 0)
			next = now;
	} else
		next = now + 1;	/* the store is unwell: try again soon */
	if (next <= now && !progress)
		next = now + 1;	/* nothing moved: do not spin */
	sched_publish(next);

	gettimeofday(&tnow, NULL);
	delay = next - (tnow.tv_sec + tnow.tv_usec / 1e6);
	if (delay < sched_backoff_left())
		delay = sched_backoff_left();
	/*
	 * What waits for the log's sync is woken when the sync ends
	 * (sched_durable); look again within a second all the same, so that
	 * a wake-up missed can only delay a delivery, never hold it.
	 */
	if (sched_wait_durable && delay > 1)
		delay = 1;
	if (delay < 0)
		delay = 0;
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - tv.tv_sec) * 1e6);
	evtimer_add(sched_timer, &tv);
}

static void	sched_plan(time_t, int);

/* On the schedule's lane: when does the next thing fall? */
static void
sched_plan_run(struct store *st, struct lane_job *j)
{
	struct sched_plan	*p = (struct sched_plan *)(void *)j;

	p->r = store_schedule_next(st, &p->notice, &p->delivery, &p->digest,
	    &p->unplanned);
}

/*
 * On the loop, the answer is back: arm the timer by it, unless the
 * schedule changed since it was asked (ask again) or a pass is coming
 * anyway (which asks again).
 */
static void
sched_plan_done(struct lane_job *j)
{
	struct sched_plan	*p = (struct sched_plan *)(void *)j;

	sched_plan_out = 0;
	if (sched_timer == NULL)
		;		/* the schedule stopped */
	else if (sched_plan_again) {
		sched_plan_again = 0;
		sched_plan(time(NULL), p->progress);
	} else if (!sched_pass_soon)
		sched_arm(p->now, p->progress, p->r, p->notice, p->delivery,
		    p->digest, p->unplanned);
	free(p);
}

/* Until a lane's answer is back, the timer wakes within check_interval. */
static void
sched_await(void)
{
	struct timeval	tv;

	if (sched_pass_soon)
		return;
	tv.tv_sec = (*sched_cfp)->check_interval;
	tv.tv_usec = 0;
	evtimer_add(sched_timer, &tv);
}

/* Ask on the schedule's lane when to wake, one question at a time. */
static void
sched_plan(time_t now, int progress)
{
	struct sched_plan	*p;

	if (sched_timer == NULL)
		return;		/* the schedule stopped */
	if (sched_plan_out) {
		sched_plan_again = 1;
		return;
	}
	p = xcalloc(1, sizeof *p);
	p->job.run = sched_plan_run;
	p->job.done = sched_plan_done;
	p->now = now;
	p->progress = progress;
	sched_plan_out = 1;
	lanes_submit(&p->job, LANES_SCHEDULE_UID);
	sched_await();
}

/*
 * Arm the timer for the next thing due: asked of the store here, or on
 * the schedule's lane where the store has lanes.
 */
static void
sched_rearm(time_t now, int progress)
{
	time_t			 notice, delivery, digest;
	int64_t			 unplanned;
	enum store_result	 r;

	if (lanes_running() > 0) {
		sched_plan(now, progress);
		return;
	}
	r = store_schedule_next(sched_store, &notice, &delivery, &digest,
	    &unplanned);
	sched_arm(now, progress, r, notice, delivery, digest, unplanned);
}

/* On a lane, in its group's transaction: claim what is due. */
static void
sched_claim_run(struct store *st, struct lane_job *j)
{
	struct sched_claim	*c = (struct sched_claim *)(void *)j;

	c->claimed = outbox_claim_on(st, c->cf, c->now, &c->next);
	j->wrote = c->claimed > 0;
}

/*
 * On the loop, the claim's group committed (or lost): deliver what it
 * claimed now, or after a failure wait as after any failed write.  A
 * claim that found nothing due wrote nothing: its answer arms the timer,
 * unless a pass is coming anyway (which asks again).
 */
static void
sched_claim_done(struct lane_job *j)
{
	struct sched_claim	*c = (struct sched_claim *)(void *)j;
	int			 ok = c->claimed >= 0 && j->committed;

	sched_claim_out = 0;
	if (c->claimed != 0 || !j->committed)
		sched_write_result(ok);
	if (c->claimed != 0)
		sched_changed();	/* nothing once the schedule stopped */
	else if (sched_timer != NULL && !sched_pass_soon)
		sched_arm(c->now, 0, c->next.r, c->next.notice,
		    c->next.delivery, c->next.digest, c->next.unplanned);
	config_free(c->cf);
	free(c);
}

/*
 * Claim what is due by now: on a lane where the store has them (then 0:
 * its end, sched_claim_done, looks again or arms the timer, and *asked
 * says so), else here, in the pass's group (see outbox_claim).
 */
static int
sched_claim(time_t now, int *asked)
{
	struct sched_claim	*c;

	*asked = 0;
	if (lanes_running() == 0)
		return outbox_claim(now);
	if (sched_claim_out)
		return 0;
	c = xcalloc(1, sizeof *c);
	c->job.run = sched_claim_run;
	c->job.done = sched_claim_done;
	c->cf = config_ref(*sched_cfp);
	c->now = now;
	sched_claim_out = 1;
	lanes_submit(&c->job, LANES_SCHEDULE_UID);
	*asked = 1;
	return 0;
}

/*
 * One pass: deliver what is due (what an earlier pass recorded and
 * committed), then record what has come due since, then re-arm.  The
 * commit of this pass's writes calls sched_changed, so what it recorded
 * is delivered by the next pass, never before it is on disk: while the
 * sync of that commit still runs beside the loop, delivery waits for it
 * (sched_durable).
 */
static void
sched_pass_cb(evutil_socket_t fd, short what, void *arg)
{
	time_t	now;
	int	sent, claimed, asked;

	sched_pass_soon = 0;
	sched_check_clock();
	/* This pass looks at everything: news so far is old news. */
	(void)store_node_notify_drain(sched_store);
	now = time(NULL);
	sched_wait_durable = !sched_outbox_durable();
	sent = sched_wait_durable ? 0 : outbox_deliver(now);
	claimed = sched_claim(now, &asked);
	if (claimed > 0)
		sched_claim_commit = store_commits(sched_store) +
		    (store_in_txn(sched_store) ? 1 : 0);
	/* A claim that wrote in the group is judged by its commit. */
	if ((sent < 0 || claimed < 0) && !store_in_txn(sched_store))
		sched_write_result(0);
	if (asked)
		sched_await();		/* the claim's answer arms it */
	else
		sched_rearm(now, sent > 0 || claimed > 0);
}

void
sched_free(void)
{
	if (sched_timer != NULL)
		event_free(sched_timer);
	sched_timer = NULL;
	/* What a lane is reading now is not handed out either. */
	outbox_deliver_hold();
	events_unsubscribe(sched_delivery_sub);
	sched_delivery_sub = NULL;
	if (sched_clock_ev != NULL)
		event_free(sched_clock_ev);
	sched_clock_ev = NULL;
	if (sched_beat_ev != NULL)
		event_free(sched_beat_ev);
	sched_beat_ev = NULL;
	sched_notify_unwatch();
	if (sched_clock_fd != -1)
		close(sched_clock_fd);
	sched_clock_fd = -1;
}
