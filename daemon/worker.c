/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * A job beside the loop: one function run on a thread of its own, then
 * one callback on the loop once it is over.  Every thread of the daemon
 * starts here (worker_thread_start: the store's lanes and a try to
 * connect again start theirs too), with the signals left to the loop.  Work that reads the whole database (doctor's
 * check, the report) runs here so the loop serves everyone else
 * meanwhile.  The thread touches nothing of the loop's: it is told what
 * to do through its argument, and the loop reads the outcome only after
 * the thread said it is done (a byte on a pipe) and was joined.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "followupd.h"

struct worker {
	worker_cb	 run;		/* on the thread */
	worker_cb	 done;		/* on the loop, after the join */
	void		*arg;
	pthread_t	 thread;
	int		 joinable;	/* thread not yet joined */
	int		 pipe[2];	/* the thread's "done" */
	struct event	*ev;		/* on pipe[0] */
};

/* The thread: the job, then word to the loop. */
static void *
worker_thread(void *arg)
{
	struct worker	*w = arg;
	ssize_t		 n;

	w->run(w->arg);
	do
		n = write(w->pipe[1], "", 1);
	while (n == -1 && errno == EINTR);
	if (n != 1)
		fatal("worker: cannot wake the loop");
	return NULL;
}

/* The thread is done: join it, then the loop's part. */
static void
worker_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	worker_join(w);
	w->done(w->arg);
}

/*
 * Start fn(arg) on a new thread, joinable, with every signal blocked so
 * that signals stay the main thread's.  Return 0, or an errno value.
 */
int
worker_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	sigset_t	 all, old;
	int		 rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/*
 * Start run(arg) on a thread; once it returns, done(arg) is called from
 * base's loop (and may free the worker).  Signals stay the main thread's:
 * the thread starts with all of them blocked.
 *
 * Return the worker (free it with worker_free), or NULL with *cause set
 * (caller frees) if no thread could be started; neither callback is
 * called then.
 */
struct worker *
worker_start(struct event_base *base, worker_cb run, worker_cb done,
    void *arg, char **cause)
{
	struct worker	*w;
	int		 rc;

	w = xcalloc(1, sizeof *w);
	w->run = run;
	w->done = done;
	w->arg = arg;
	if (pipe2(w->pipe, O_CLOEXEC) != 0) {
		xasprintf(cause, "cannot start a thread: %s", strerror(errno));
		free(w);
		return NULL;
	}
	w->ev = event_new(base, w->pipe[0], EV_READ, worker_done_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) != 0)
		fatalx("worker: event_new");
	if ((rc = worker_thread_start(&w->thread, worker_thread, w)) != 0) {
		xasprintf(cause, "cannot start a thread: %s", strerror(rc));
		worker_free(w);
		return NULL;
	}
	w->joinable = 1;
	return w;
}

/* Is the thread still to be joined (its done callback not yet run)? */
int
worker_running(struct worker *w)
{
	return w != NULL && w->joinable;
}

/*
 * Wait for the thread to end (the daemon stops: stop its job first).
 * done is not called: the caller finishes the job itself.
 */
void
worker_join(struct worker *w)
{
	if (w == NULL || !w->joinable)
		return;
	if ((errno = pthread_join(w->thread, NULL)) != 0)
		fatal("worker: pthread_join");
	w->joinable = 0;
}

/* Free the worker, waiting for its thread first if it still runs. */
void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	worker_join(w);
	if (w->ev != NULL)
		event_free(w->ev);
	close(w->pipe[0]);
	close(w->pipe[1]);
	free(w);
}
