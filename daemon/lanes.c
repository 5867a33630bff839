/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The store's lanes: a few threads beside the loop, each with a
 * connection of its own to a database server (store_lane_new), that run
 * the work which would otherwise make the loop wait on the network.  The
 * loop hands a lane a job; the lane runs it, with its share of the other
 * jobs waiting, in one transaction (a group commit of its own), commits,
 * and hands the jobs back; the loop then finishes each (sends its reply).
 * Meanwhile the loop serves everyone else, and a request that waits on a
 * row another holds keeps one lane, not the team.  The schedule's work
 * (claims, deliveries due, their starts and results) has a lane of its
 * own, which runs it in the order it came.
 *
 * A job's run touches only its lane's store and what it was given; its
 * done, on the loop, touches the rest.  A database of one's own (an
 * SQLite file) has no lanes: it answers faster than a thread could be
 * handed the work.
 */

#include <config.h>

#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "followupd.h"

/* Threads for requests, each with its connection (and one for the
 * schedule). */
#define LANES_MAX	4
/* Jobs one lane runs in one transaction at most. */
#define LANES_GROUP	32

/* One user's jobs waiting, in the order they came. */
struct lane_user {
	TAILQ_ENTRY(lane_user)	 entry;
	uid_t			 uid;
	TAILQ_HEAD(, lane_job)	 jobs;
};

struct lane {
	pthread_t	 thread;
	int		 started;
	struct store	*st;
};

static struct {
	struct event_base	*base;
	struct lane		 lane[LANES_MAX + 1];	/* [0]: the
							   schedule's */
	int			 n;
	void			(*over_cb)(int, void *);	/* on the loop */
	void			*over_arg;

	pthread_mutex_t		 lock;		/* guards what follows */
	pthread_cond_t		 cond;
	TAILQ_HEAD(, lane_user)	 todo;		/* users with jobs, in turn */
	int			 queued;	/* ... how many jobs in all */
	TAILQ_HEAD(, lane_job)	 done;
	int			 stopping;

	int			 pipe[2];	/* "jobs are over" */
	struct event		*ev;
} lanes = { .pipe = { -1, -1 } };

/*
 * The first user whose jobs lane l may take.  The schedule's work is the
 * first lane's, and only it: it runs one job after another, in the order
 * they came (a delivery's result is never written before its start), and
 * no request waiting on a lock holds a reminder up.
 */
static struct lane_user *
lanes_next_user(struct lane *l)
{
	struct lane_user	*u;
	int			 schedule = l == &lanes.lane[0];

	TAILQ_FOREACH(u, &lanes.todo, entry) {
		if ((u->uid == LANES_SCHEDULE_UID) == schedule)
			break;
	}
	return u;
}

/* One lane: take the waiting jobs, run them as one group, hand back. */
static void *
lanes_thread(void *arg)
{
	struct lane	*l = arg;
	struct lane_job	*group[LANES_GROUP], *j;
	struct lane_user *u;
	int		 n, i, ok, max;
	ssize_t		 w;

	for (;;) {
		pthread_mutex_lock(&lanes.lock);
		while (lanes_next_user(l) == NULL && !lanes.stopping)
			pthread_cond_wait(&lanes.cond, &lanes.lock);
		if (lanes_next_user(l) == NULL) {
			pthread_mutex_unlock(&lanes.lock);
			break;
		}
		/*
		 * One job of each user in turn: nobody waits behind another's
		 * pile.  A lane takes its share of what waits, so that the
		 * others run the rest beside it (one job waiting on a lock
		 * holds up only those it was grouped with).
		 */
		max = lanes.n > 0 ? (lanes.queued + lanes.n - 1) / lanes.n : 1;
		if (max > LANES_GROUP)
			max = LANES_GROUP;
		for (n = 0; n < max && (u = lanes_next_user(l)) != NULL;
		    n++) {
			j = TAILQ_FIRST(&u->jobs);
			TAILQ_REMOVE(&u->jobs, j, entry);
			group[n] = j;
			TAILQ_REMOVE(&lanes.todo, u, entry);
			if (TAILQ_EMPTY(&u->jobs))
				free(u);
			else
				TAILQ_INSERT_TAIL(&lanes.todo, u, entry);
		}
		lanes.queued -= n;
		pthread_mutex_unlock(&lanes.lock);

		for (i = 0; i < n; i++)
			group[i]->run(l->st, group[i]);
		ok = store_commit(l->st) == 0;

		pthread_mutex_lock(&lanes.lock);
		for (i = 0; i < n; i++) {
			group[i]->committed = ok;
			group[i]->why = ok ? STORE_OK : store_last_result(l->st);
			TAILQ_INSERT_TAIL(&lanes.done, group[i], entry);
		}
		pthread_mutex_unlock(&lanes.lock);
		do
			w = write(lanes.pipe[1], "", 1);
		while (w == -1 && errno == EINTR);
		/* A full pipe already says it. */
	}
	return NULL;
}

/* On the loop: finish the jobs the lanes handed back. */
static void
lanes_over_cb(evutil_socket_t fd, short what, void *arg)
{
	TAILQ_HEAD(, lane_job)	 over;
	struct lane_job		*j;
	char			 buf[64];
	int			 wrote = 0;

	while (read(fd, buf, sizeof buf) > 0)
		;
	TAILQ_INIT(&over);
	pthread_mutex_lock(&lanes.lock);
	TAILQ_CONCAT(&over, &lanes.done, entry);
	pthread_mutex_unlock(&lanes.lock);
	while ((j = TAILQ_FIRST(&over)) != NULL) {
		TAILQ_REMOVE(&over, j, entry);
		if (j->wrote && j->committed)
			wrote = 1;
		j->done(j);		/* may free j */
	}
	if (lanes.over_cb != NULL)
		lanes.over_cb(wrote, lanes.over_arg);
}

/*
 * Give st's backend lanes, if it has them: n threads beside base's loop
 * for requests, and one for the schedule's work.
 * over(wrote, arg) is called on the loop after jobs are done, wrote set
 * if some of them wrote and were committed (the schedule looks again).
 * Return how many lanes run (0: none, the loop does the store's work
 * itself).
 */
int
lanes_start(struct event_base *base, struct store *st, int n,
    void (*over)(int, void *), void *arg)
{
	struct store	*ls;
	int		 i;

	if (n > LANES_MAX)
		n = LANES_MAX;
	if (n <= 0 || (ls = store_lane_new(st)) == NULL)
		return 0;	/* the backend has none */
	lanes.base = base;
	lanes.over_cb = over;
	lanes.over_arg = arg;
	TAILQ_INIT(&lanes.todo);
	TAILQ_INIT(&lanes.done);
	if (pthread_mutex_init(&lanes.lock, NULL) != 0 ||
	    pthread_cond_init(&lanes.cond, NULL) != 0)
		fatalx("lanes: cannot make a lock");
	if (pipe2(lanes.pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("lanes: pipe");
	lanes.ev = event_new(base, lanes.pipe[0], EV_READ | EV_PERSIST,
	    lanes_over_cb, NULL);
	if (lanes.ev == NULL || event_add(lanes.ev, NULL) != 0)
		fatalx("lanes: event_new");
	for (i = 0; i < n + 1; i++) {
		lanes.lane[i].st = i == 0 ? ls : store_lane_new(st);
		if (worker_thread_start(&lanes.lane[i].thread, lanes_thread,
		    &lanes.lane[i]) != 0) {
			store_close(lanes.lane[i].st);
			lanes.lane[i].st = NULL;
			break;
		}
		lanes.lane[i].started = 1;
	}
	lanes.n = i;
	if (lanes.n < 2) {
		/* The schedule's alone would serve no request. */
		lanes_free();
		log_warnx("lanes: cannot start a thread; requests wait on "
		    "the database on the loop");
	}
	return lanes.n;
}

/* How many lanes run: 0 when the loop does the store's work itself. */
int
lanes_running(void)
{
	return lanes.n;
}

/*
 * Hand j, for user uid, to a lane (on the loop); its done comes back on
 * the loop.  The lanes take each user's jobs in the order they came, and
 * the users in turn.
 */
void
lanes_submit(struct lane_job *j, uid_t uid)
{
	struct lane_user	*u;

	j->wrote = 0;
	j->committed = 0;
	pthread_mutex_lock(&lanes.lock);
	TAILQ_FOREACH(u, &lanes.todo, entry) {
		if (u->uid == uid)
			break;
	}
	if (u == NULL) {
		u = xcalloc(1, sizeof *u);
		u->uid = uid;
		TAILQ_INIT(&u->jobs);
		TAILQ_INSERT_TAIL(&lanes.todo, u, entry);
	}
	TAILQ_INSERT_TAIL(&u->jobs, j, entry);
	lanes.queued++;
	/* Wake the lane that may take it, whichever sleeps. */
	pthread_cond_broadcast(&lanes.cond);
	pthread_mutex_unlock(&lanes.lock);
}

/*
 * At the end (the loop is over): the lanes run what they were handed,
 * then stop, and their connections close.  The jobs they handed back
 * are finished, with no one left to answer.
 */
void
lanes_free(void)
{
	struct lane_job	*j;
	int		 i;

	if (lanes.ev == NULL)
		return;		/* never started */
	pthread_mutex_lock(&lanes.lock);
	lanes.stopping = 1;
	pthread_cond_broadcast(&lanes.cond);
	pthread_mutex_unlock(&lanes.lock);
	for (i = 0; i < lanes.n; i++) {
		if (lanes.lane[i].started)
			pthread_join(lanes.lane[i].thread, NULL);
		store_close(lanes.lane[i].st);
		lanes.lane[i].st = NULL;
		lanes.lane[i].started = 0;
	}
	while ((j = TAILQ_FIRST(&lanes.done)) != NULL) {
		TAILQ_REMOVE(&lanes.done, j, entry);
		j->done(j);
	}
	event_free(lanes.ev);
	lanes.ev = NULL;
	close(lanes.pipe[0]);
	close(lanes.pipe[1]);
	lanes.pipe[0] = lanes.pipe[1] = -1;
	pthread_cond_destroy(&lanes.cond);
	pthread_mutex_destroy(&lanes.lock);
	lanes.n = 0;
	lanes.queued = 0;
	lanes.stopping = 0;
}
