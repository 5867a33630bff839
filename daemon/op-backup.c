/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * backup: a consistent copy of the whole database, made while the daemon
 * runs.  It holds every rep's records, so only admins may make one.  The
 * copy is made a step at a time from the loop, so reminders go out and
 * other requests are answered meanwhile, in a file of the daemon's own
 * beside the database; the admin's connection gets its reply, with a
 * read-only descriptor of the finished copy, and the client writes it
 * where the admin asked, with the admin's own rights.  The daemon (often
 * root) never writes a file an admin names.  One backup runs at a time.
 */

#include <config.h>

#include <stdlib.h>

#include <event2/event.h>

#include "followupd.h"

/* Wait this long when another process holds the database. */
static const struct timeval	backup_busy_tv = { 0, 20000 };
/* Between steps: at once, once the loop has polled for everyone else. */
static const struct timeval	backup_next_tv = { 0, 0 };

struct backup_job {
	struct store_backup	*sb;
	struct conn		*conn;
	json_t			*id;
	char			*path;
	char			*caller;
	struct event		*ev;
};

static struct event_base	*backup_base;
static struct backup_job	*backup_running;

/*
 * Make backups from base's loop.  A daemon killed while it made one left
 * its copy beside the database: it goes now.
 */
void
op_backup_init(struct event_base *base, struct store *st)
{
	backup_base = base;
	store_backup_clean(st);
}

static void
backup_job_free(struct backup_job *job)
{
	if (backup_running == job)
		backup_running = NULL;
	event_free(job->ev);
	json_decref(job->id);
	free(job->path);
	free(job->caller);
	free(job);
}

/* The admin hung up (or the daemon stops): drop the copy. */
static void
backup_cancel(void *arg)
{
	struct backup_job	*job = arg;

	log_info("backup: %s's copy for %s was dropped unfinished (the "
	    "connection closed)", job->caller, job->path);
	store_backup_abort(job->sb);
	backup_job_free(job);
}

static void
backup_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backup_job	*job = arg;
	json_t			*reply;
	char			*cause;
	int64_t			 bytes;
	int			 rc, copy;

	rc = store_backup_step(job->sb, &copy, &bytes, &cause);
	if (rc == 1 || rc == 2) {
		event_add(job->ev, rc == 1 ? &backup_next_tv : &backup_busy_tv);
		return;
	}
	if (rc == 0) {
		log_info("backup: %s copied the database for %s (%lld bytes)",
		    job->caller, job->path, (long long)bytes);
		reply = ops_ok_reply(job->id, json_pack("{s:s s:I}", "path",
		    job->path, "bytes", (json_int_t)bytes));
	} else {
		log_warnx("backup: %s's copy for %s failed: %s", job->caller,
		    job->path, cause);
		reply = ops_error_reply(job->id, FU_ERR_UNAVAILABLE, cause);
		free(cause);
	}
	/* The copy goes with the reply; the connection closes it. */
	ops_answer(job->conn, reply, copy);
	backup_job_free(job);
}

/*
 * The daemon stops: a backup being made is abandoned at once (it could
 * take minutes) and its admin told so; no file is left behind.
 */
void
op_backup_stop(void)
{
	struct backup_job	*job = backup_running;
	char			*msg;

	if (job == NULL)
		return;
	log_info("backup: %s's copy for %s was dropped unfinished (the "
	    "daemon is stopping)", job->caller, job->path);
	store_backup_abort(job->sb);
	xasprintf(&msg, "the daemon is stopping: the backup to %s was not "
	    "made; make it again once the daemon is back", job->path);
	ops_answer(job->conn, ops_error_reply(job->id, FU_ERR_UNAVAILABLE,
	    msg), -1);
	free(msg);
	backup_job_free(job);
}

int
op_backup(struct op_ctx *ctx, json_t *args, json_t **result)
{
	const char		*path = ops_str(args, "path");
	struct store_backup	*sb;
	struct backup_job	*job;
	char			*cause;

	if (*path != '/')
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "the backup path must be absolute");
	if (!ctx->can_defer || backup_base == NULL)
		return reply_error(ctx, FU_ERR_INTERNAL, "a backup answers on "
		    "its connection, from the daemon's loop");
	/*
	 * The client puts the copy at path, not the daemon; the name is
	 * checked all the same, so that a copy never replaces the live
	 * database's files (that loses acknowledged writes).
	 */
	if (store_backup_target_live(ctx->st, path, &cause)) {
		reply_error(ctx, FU_ERR_UNAVAILABLE, "%s", cause);
		free(cause);
		return -1;
	}
	if (backup_running != NULL)
		return reply_error(ctx, FU_ERR_CONFLICT, "a backup (%s's, for "
		    "%s) is being made; try again when it is done",
		    backup_running->caller, backup_running->path);
	if ((sb = store_backup_begin(ctx->st, &cause)) == NULL) {
		reply_error(ctx, FU_ERR_UNAVAILABLE, "%s", cause);
		free(cause);
		return -1;
	}
	job = xcalloc(1, sizeof *job);
	job->sb = sb;
	job->id = ctx->id != NULL ? json_incref(ctx->id) : NULL;
	job->path = xstrdup(path);
	job->caller = xstrdup(ctx->caller);
	job->ev = event_new(backup_base, -1, 0, backup_step_cb, job);
	if (job->ev == NULL)
		fatalx("backup: event_new");
	event_add(job->ev, &backup_next_tv);
	backup_running = job;
	job->conn = ops_defer(ctx, backup_cancel, job);
	return 0;
}
