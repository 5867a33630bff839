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
 */

#include <config.h>

#include <stdlib.h>
#include <sys/time.h>

#include <event2/event.h>

#include "followupd.h"

struct commit {
	struct store		*st;
	struct event		*pass_ev;	/* active: end of this pass */
	struct event		*idle_ev;	/* writes have rested */
	struct store_driver	 driver;
};

static struct commit	*commit_main;

/* The pass is over: commit (or end the read), releasing the replies. */
static void
commit_pass_cb(evutil_socket_t fd, short what, void *arg)
{
	struct commit	*c = arg;

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

/*
 * Drive st's group commit and checkpoints from base's loop; cb (with arg)
 * is called after each commit with 1 if it is durable, 0 if its writes
 * were lost.  Undone by commit_free, before base is freed.
 */
void
commit_init(struct event_base *base, struct store *st, store_commit_cb cb,
    void *arg)
{
	struct commit	*c;

	commit_free();
	c = xcalloc(1, sizeof *c);
	c->st = st;
	if ((c->pass_ev = event_new(base, -1, 0, commit_pass_cb, c)) == NULL ||
	    (c->idle_ev = evtimer_new(base, commit_idle_cb, c)) == NULL)
		fatalx("commit: event_new");
	c->driver.pass = commit_pass;
	c->driver.idle = commit_idle;
	c->driver.arg = c;
	store_set_driver(st, &c->driver, cb, arg);
	commit_main = c;
}

/* Stop driving the store: it commits only when told to from now on. */
void
commit_free(void)
{
	struct commit	*c = commit_main;

	if (c == NULL)
		return;
	store_set_driver(c->st, NULL, NULL, NULL);
	event_free(c->pass_ev);
	event_free(c->idle_ev);
	free(c);
	commit_main = NULL;
}
