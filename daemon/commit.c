/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The store's timing on the loop: the transaction a loop pass opened
 * (the group commit, or the pass's shared read) ends once every request
 * that arrived together has been handled, and the write-ahead log is
 * checkpointed once writes rest.  The store asks for both through its
 * driver and knows no event loop itself, so another backend can be driven
 * the same way.
 *
 * The wait for the disk runs beside the loop: after a commit, one sync
 * at a time runs on the sync thread (store_sync_run) while the loop goes
 * on reading and running the next group, which stays open meanwhile
 * (its replies wait for that sync anyway) and is committed when the sync
 * ends, to be synced by the next one.  When a sync is over, the durable
 * callback lets the replies it covers go.  The thread is started once
 * and waits for the next sync: a thread made and joined for each one cost
 * the loop a pipe, a clone and a join per commit, an eighth of its time
 * when a rep writes alone.
 *
 * So does folding the log into the database once it has grown past its
 * mark: the store asks for it after a commit, and a worker thread runs
 * the checkpoint through a connection of its own (store_ckpt_run) while
 * the loop goes on writing.  SQLite's own, run inside the commit that
 * passed the mark, copied the log's pages into the database and synced
 * both, on the loop.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "followupd.h"

/* How long a read transaction may serve the loop's passes. */
#define COMMIT_READ_US		5000

struct commit {
	struct store		*st;
	struct event_base	*base;
	struct event		*pass_ev;	/* active: end of this pass */
	struct event		*idle_ev;	/* writes have rested */
	struct event		*read_ev;	/* end the shared read */
	struct store_driver	 driver;

	void			(*durable)(void *);
	void			*arg;
	int			 syncing;	/* a sync is under way */
	uint64_t		 sync_upto;	/* ... makes these durable */
	int			 sync_again;	/* a commit came meanwhile */
	int			 held;		/* the group waits for the sync */

	/* The sync thread; without it (none could start) the loop syncs. */
	pthread_t		 thread;
	int			 thread_up;
	pthread_mutex_t		 lock;		/* guards the four below */
	pthread_cond_t		 cond;
	int			 want;		/* a sync to run */
	int			 stop;		/* ... then end */
	int			 over;		/* a sync ran ... */
	int			 over_ok;	/* ... and how it went */
	int			 pipe[2];	/* the thread's "a sync is over" */
	struct event		*over_ev;	/* on pipe[0] */

	struct worker		*ckpt;		/* a checkpoint under way */
	int			 ckpt_ok;	/* ... and how it went */
};

static void	commit_sync(void *);
static void	commit_sync_done(evutil_socket_t, short, void *);

static struct commit	*commit_main;

/*
 * The pass is over: commit (or end the read), releasing the replies.
 * While a sync runs, a group of writes stays open instead and takes in
 * the next passes' writes too: its replies could not go before that sync
 * ends anyway, and one commit for them all writes the pages they share
 * (the tables' and indexes' last pages) to the log once.  The sync's end
 * commits it.
 */
static void
commit_pass_cb(evutil_socket_t fd, short what, void *arg)
{
	struct commit	*c = arg;

	if (c->syncing && store_in_txn(c->st)) {
		c->held = 1;
		return;
	}
	store_commit(c->st);
}

/*
 * The shared read has served its time: end it, unless a write has ended
 * it meanwhile and opened a group, which its pass commits.
 */
static void
commit_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct commit	*c = arg;

	if (!store_in_txn(c->st))
		store_commit(c->st);
}

static void
commit_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct commit	*c = arg;

	store_idle(c->st);
}

/* The store opened a transaction for this pass: end it after the pass. */
static void
commit_pass(void *arg)
{
	struct commit	*c = arg;

	event_active(c->pass_ev, EV_TIMEOUT, 1);
}

/*
 * The store opened a read transaction: end it COMMIT_READ_US from now.
 * The passes until then read in it without taking SQLite's locks again:
 * a rep sending one request at a time gets each answered in its own
 * pass, and took and dropped them for every request.
 */
static void
commit_read(void *arg)
{
	struct commit		*c = arg;
	static const struct timeval tv = { 0, COMMIT_READ_US };

	if (!evtimer_pending(c->read_ev, NULL))
		evtimer_add(c->read_ev, &tv);
}

/* Call store_idle in ms; a later call moves the time. */
static void
commit_idle(long ms, void *arg)
{
	struct commit	*c = arg;
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->idle_ev, &tv);
}

/*
 * The sync thread: wait for the disk each time the loop asks, and say
 * when it is done.  It touches only the store's sync (store_sync_run)
 * and, under the lock, the fields it shares with the loop.  Asked to
 * stop, it first runs the sync it was asked for, if any.
 */
static void *
commit_thread(void *arg)
{
	struct commit	*c = arg;
	ssize_t		 n;
	int		 ok;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->want && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		if (!c->want)
			break;
		c->want = 0;
		pthread_mutex_unlock(&c->lock);
		ok = store_sync_run(c->st) == 0;
		pthread_mutex_lock(&c->lock);
		c->over = 1;
		c->over_ok = ok;
		do
			n = write(c->pipe[1], "", 1);
		while (n == -1 && errno == EINTR);
		/* A full pipe already says it. */
		if (n == -1 && errno != EAGAIN)
			fatal("commit: cannot wake the loop");
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Start the sync thread; without it, the loop syncs itself. */
static void
commit_thread_start(struct commit *c)
{
	int	rc;

	if (pthread_mutex_init(&c->lock, NULL) != 0 ||
	    pthread_cond_init(&c->cond, NULL) != 0)
		fatalx("commit: cannot make a lock");
	if (pipe2(c->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("commit: pipe");
	if ((c->over_ev = event_new(c->base, c->pipe[0], EV_READ | EV_PERSIST,
	    commit_sync_done, c)) == NULL || event_add(c->over_ev, NULL) != 0)
		fatalx("commit: event_new");
	if ((rc = worker_thread_start(&c->thread, commit_thread, c)) != 0) {
		log_warnx("commit: cannot start a thread (%s); syncing on "
		    "the loop", strerror(rc));
		return;
	}
	c->thread_up = 1;
}

/*
 * Stop the sync thread once the sync it was asked for, if any, is over,
 * and end that sync.
 */
static void
commit_thread_stop(struct commit *c)
{
	if (c->thread_up) {
		pthread_mutex_lock(&c->lock);
		c->stop = 1;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		if ((errno = pthread_join(c->thread, NULL)) != 0)
			fatal("commit: pthread_join");
		c->thread_up = 0;
		if (c->syncing) {
			c->syncing = 0;
			store_sync_end(c->st, c->sync_upto, c->over_ok);
		}
	}
	event_free(c->over_ev);
	close(c->pipe[0]);
	close(c->pipe[1]);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
}

/* Back on the loop: the commits the sync covered are durable; go on. */
static void
commit_sync_done(evutil_socket_t fd, short what, void *arg)
{
	struct commit	*c = arg;
	char		 buf[16];
	int		 over, ok;

	while (read(fd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&c->lock);
	over = c->over;
	ok = c->over_ok;
	c->over = 0;
	pthread_mutex_unlock(&c->lock);
	if (!over || !c->syncing)
		return;
	c->syncing = 0;
	store_sync_end(c->st, c->sync_upto, ok);
	if (c->held) {
		/* Its commit starts the next sync (commit_sync)... */
		c->held = 0;
		store_commit(c->st);
	}
	if (c->syncing)
		c->sync_again = 0;	/* ... which covers every commit */
	else if (c->sync_again) {
		c->sync_again = 0;
		commit_sync(c);
	}
	if (c->durable != NULL)
		c->durable(c->arg);
}

/*
 * The store committed a group to be made durable: start a sync, or, if
 * one runs, have another follow it (the one running may have started
 * before this commit was written).  Without a thread, sync on the loop.
 */
static void
commit_sync(void *arg)
{
	struct commit	*c = arg;

	if (c->syncing) {
		c->sync_again = 1;
		return;
	}
	if ((c->sync_upto = store_sync_begin(c->st)) == 0)
		return;
	if (!c->thread_up) {
		store_sync_end(c->st, c->sync_upto, store_sync_run(c->st) == 0);
		if (c->durable != NULL)
			c->durable(c->arg);
		return;
	}
	c->syncing = 1;
	pthread_mutex_lock(&c->lock);
	c->want = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* On the checkpoint's thread. */
static void
commit_ckpt_run(void *arg)
{
	struct commit	*c = arg;

	c->ckpt_ok = store_ckpt_run(c->st) == 0;
}

/* Back on the loop: the checkpoint is over. */
static void
commit_ckpt_done(void *arg)
{
	struct commit	*c = arg;

	worker_free(c->ckpt);
	c->ckpt = NULL;
	store_ckpt_end(c->st, c->ckpt_ok);
}

/*
 * The store's log has passed its mark: fold it in on a thread.  Without
 * one (none could start), the loop does it, as SQLite would have.
 */
static void
commit_checkpoint(void *arg)
{
	struct commit	*c = arg;
	char		*cause = NULL;

	if (c->ckpt != NULL)
		return;		/* the store asks once until it ends */
	c->ckpt = worker_start(c->base, commit_ckpt_run, commit_ckpt_done, c,
	    &cause);
	if (c->ckpt == NULL) {
		log_warnx_limited("commit: no checkpoint thread", NULL,
		    "commit: checkpointing on the loop: %s", cause);
		free(cause);
		store_ckpt_end(c->st, store_ckpt_run(c->st) == 0);
	}
}

/*
 * Drive st's group commit, its syncs and checkpoints from base's loop; cb
 * (with arg) is called after each commit with 1 if it was written, 0 if
 * its writes were lost, and durable (with arg) each time more commits
 * became durable (store_durable).  Undone by commit_free, before base is
 * freed.
 */
void
commit_init(struct event_base *base, struct store *st, store_commit_cb cb,
    void (*durable)(void *), void *arg)
{
	struct commit	*c;

	commit_free();
	c = xcalloc(1, sizeof *c);
	c->st = st;
	c->base = base;
	c->durable = durable;
	c->arg = arg;
	if ((c->pass_ev = event_new(base, -1, 0, commit_pass_cb, c)) == NULL ||
	    (c->idle_ev = evtimer_new(base, commit_idle_cb, c)) == NULL ||
	    (c->read_ev = evtimer_new(base, commit_read_cb, c)) == NULL)
		fatalx("commit: event_new");
	commit_thread_start(c);
	c->driver.pass = commit_pass;
	c->driver.read = commit_read;
	c->driver.idle = commit_idle;
	c->driver.sync = commit_sync;
	c->driver.checkpoint = commit_checkpoint;
	c->driver.arg = c;
	store_set_driver(st, &c->driver, cb, arg);
	commit_main = c;
}

/*
 * Stop driving the store: it commits only when told to from now on, each
 * commit durable when it returns.  A sync under way is waited for, and
 * what it did not cover is synced now; so is a checkpoint under way.
 */
void
commit_free(void)
{
	struct commit	*c = commit_main;

	if (c == NULL)
		return;
	commit_thread_stop(c);
	if (c->ckpt != NULL) {
		worker_free(c->ckpt);
		c->ckpt = NULL;
		store_ckpt_end(c->st, c->ckpt_ok);
	}
	store_set_driver(c->st, NULL, NULL, NULL);
	event_free(c->pass_ev);
	event_free(c->idle_ev);
	event_free(c->read_ev);
	free(c);
	commit_main = NULL;
}
