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
 * at a time runs on a worker thread (store_sync_run) while the loop goes
 * on reading and running the next group, which stays open meanwhile
 * (its replies wait for that sync anyway) and is committed when the sync
 * ends, to be synced by the next one.  When a sync is over, the durable
 * callback lets the replies it covers go.
 */

#include <config.h>

#include <stdlib.h>
#include <sys/time.h>

#include <event2/event.h>

#include "followupd.h"

struct commit {
	struct store		*st;
	struct event_base	*base;
	struct event		*pass_ev;	/* active: end of this pass */
	struct event		*idle_ev;	/* writes have rested */
	struct store_driver	 driver;

	void			(*durable)(void *);
	void			*arg;
	struct worker		*sync;		/* the sync under way */
	uint64_t		 sync_upto;	/* ... makes these durable */
	int			 sync_ok;	/* ... and how it went */
	int			 sync_again;	/* a commit came meanwhile */
	int			 held;		/* the group waits for the sync */
};

static void	commit_sync(void *);

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

	if (c->sync != NULL && store_in_txn(c->st)) {
		c->held = 1;
		return;
	}
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

/* On the worker thread: wait for the disk. */
static void
commit_sync_run(void *arg)
{
	struct commit	*c = arg;

	c->sync_ok = store_sync_run(c->st) == 0;
}

/* Back on the loop: the commits it covered are durable; go on. */
static void
commit_sync_done(void *arg)
{
	struct commit	*c = arg;

	worker_free(c->sync);
	c->sync = NULL;
	store_sync_end(c->st, c->sync_upto, c->sync_ok);
	if (c->held) {
		/* Its commit starts the next sync (commit_sync)... */
		c->held = 0;
		store_commit(c->st);
	}
	if (c->sync != NULL)
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
	char		*cause;

	if (c->sync != NULL) {
		c->sync_again = 1;
		return;
	}
	if ((c->sync_upto = store_sync_begin(c->st)) == 0)
		return;
	c->sync = worker_start(c->base, commit_sync_run, commit_sync_done, c,
	    &cause);
	if (c->sync == NULL) {
		log_warnx_limited("commit: no thread", NULL,
		    "commit: %s; syncing on the loop", cause);
		free(cause);
		commit_sync_run(c);
		store_sync_end(c->st, c->sync_upto, c->sync_ok);
		if (c->durable != NULL)
			c->durable(c->arg);
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
	    (c->idle_ev = evtimer_new(base, commit_idle_cb, c)) == NULL)
		fatalx("commit: event_new");
	c->driver.pass = commit_pass;
	c->driver.idle = commit_idle;
	c->driver.sync = commit_sync;
	c->driver.arg = c;
	store_set_driver(st, &c->driver, cb, arg);
	commit_main = c;
}

/*
 * Stop driving the store: it commits only when told to from now on, each
 * commit durable when it returns.  A sync under way is waited for, and
 * what it did not cover is synced now.
 */
void
commit_free(void)
{
	struct commit	*c = commit_main;

	if (c == NULL)
		return;
	if (c->sync != NULL) {
		worker_join(c->sync);
		store_sync_end(c->st, c->sync_upto, c->sync_ok);
		worker_free(c->sync);
	}
	store_set_driver(c->st, NULL, NULL, NULL);
	event_free(c->pass_ev);
	event_free(c->idle_ev);
	free(c);
	commit_main = NULL;
}
