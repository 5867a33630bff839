/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * doctor: the daemon's side of followup doctor.  It checks, as the daemon
 * sees them, what makes reminders fail silently: the database's integrity
 * and free space, the time zone database, the hooks and their sendmail,
 * the last deliveries and the backlog.  Each check says what to fix.
 *
 * The database's check runs on a thread of its own, with its own read-only
 * connection (it reads the whole file: seconds for a large one); the mail
 * hooks' checks then run as children, one after another within one time
 * budget.  The loop serves everyone else meanwhile, and the reply waits
 * for them.  A rep runs one doctor at a time, and the daemon at most
 * DOCTOR_MAX_RUNNING: each reads the whole database and starts children.
 */

#include <config.h>

#include <sys/queue.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "followupd.h"
#include "followup/email.h"
#include "followup/timefmt.h"

/* Less free space than this fails the disk check; less than WARN warns. */
#define DOCTOR_DISK_FAIL	(16LL << 20)
#define DOCTOR_DISK_WARN	(256LL << 20)
/*
 * A node whose clock is further than this from the database server's
 * (ms) warns: it finds what is due that much early or late.
 */
#define DOCTOR_CLOCK_SKEW_MS	2000

/* A notice waiting longer than this for delivery fails the backlog check. */
#define DOCTOR_BACKLOG_LATE	(10 * 60)
/* How long one hook's --check may take, and all of them together. */
#define DOCTOR_HOOK_TIMEOUT_MS	5000
#define DOCTOR_HOOKS_BUDGET_MS	8000
/* What to do about a mail hook whose check fails. */
#define DOCTOR_FIX_SENDMAIL	"install a sendmail (msmtp-mta, or your MTA) " \
	"or point --sendmail at one the daemon may run"
/* A check with less than this left of the budget is not started. */
#define DOCTOR_HOOK_MIN_MS	500
/*
 * Doctors running at once, daemon-wide: each reads the whole database on
 * a thread and may start a child per hook.  More are refused (conflict),
 * not queued: the client says to try again.
 */
#define DOCTOR_MAX_RUNNING	4

enum doctor_status { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL };

static void FU_PRINTF(5, 6)
doctor_add(json_t *checks, const char *name, enum doctor_status status,
    const char *fix, const char *fmt, ...)
{
	static const char *const names[] = { "ok", "warn", "fail" };
	va_list	 ap;
	char	*detail;

	va_start(ap, fmt);
	xvasprintf(&detail, fmt, ap);
	va_end(ap);
	json_array_append_new(checks, json_pack("{s:s s:s s:s s:s?}",
	    "name", name, "status", names[status], "detail", detail,
	    "fix", status == DOCTOR_OK ? NULL : fix));
	free(detail);
}

/*
 * The database's check, from the check of its file that ran, or (cf NULL)
 * one the daemon cannot make of this database: first.
 */
static void
doctor_database(json_t *checks, struct store_check_file *cf,
    const char *path, const char *what, int schema, int answered,
    int standby)
{
	json_t		*first = json_array();
	const char	*detail;
	int64_t		 bytes;

	/*
	 * A database server checks its own files, and this one answered:
	 * nothing is wrong that doctor could see, so it is no warning.  One
	 * that does not answer fails: nothing can be written meanwhile.
	 */
	if (cf == NULL && !answered && standby)
		doctor_add(first, "database", DOCTOR_FAIL, "promote the "
		    "standby, or bring the primary back, where the "
		    "configuration's database names it; followupd connects "
		    "again by itself", "the database server answers reads only "
		    "(a standby): reads are served, writes and reminders wait "
		    "until a server that writes is back");
	else if (cf == NULL && !answered)
		doctor_add(first, "database", DOCTOR_FAIL, "check that the "
		    "database server runs and that the configuration's "
		    "database names it; followupd connects again by itself",
		    "the database server cannot be reached: requests that "
		    "need it fail until it is back");
	else if (cf == NULL)
		doctor_add(first, "database", DOCTOR_OK, NULL, "answers (schema "
		    "%d); its server keeps its own files: check them with the "
		    "server's tools (pg_amcheck)", schema);
	else if (store_check_file_result(cf, &detail, &bytes))
		doctor_add(first, "database", DOCTOR_OK, NULL,
		    "%s passes %s (%lld KiB, schema %d)", path, what,
		    (long long)(bytes / 1024), schema);
	else
		doctor_add(first, "database", DOCTOR_FAIL, "stop followupd, "
		    "keep the damaged file, and restore the last backup "
		    "(see followupd(8), BACKUP AND RESTORE)",
		    "%s is damaged: %s", path, detail);
	json_array_insert(checks, 0, json_array_get(first, 0));
	json_decref(first);
}

static void
doctor_disk(json_t *checks, const char *path)
{
	struct statvfs	 sv;
	char		*copy, *dir;
	long long	 avail;

	copy = xstrdup(path);
	dir = dirname(copy);
	if (statvfs(dir, &sv) != 0) {
		doctor_add(checks, "disk space", DOCTOR_FAIL, "check that the "
		    "database's directory exists", "cannot read the free "
		    "space of %s: %s", dir, strerror(errno));
		free(copy);
		return;
	}
	avail = (long long)sv.f_bavail * (long long)sv.f_frsize;
	doctor_add(checks, "disk space", avail < DOCTOR_DISK_FAIL ?
	    DOCTOR_FAIL : avail < DOCTOR_DISK_WARN ? DOCTOR_WARN : DOCTOR_OK,
	    "free space on that file system: when it is full, every change "
	    "is refused", "%lld MiB free for %s", avail >> 20, dir);
	free(copy);
}

static void
doctor_zones(struct op_ctx *ctx, json_t *checks)
{
	struct fu_user	u;

	memset(&u, 0, sizeof u);
	if (!when_zone_valid("America/New_York") ||
	    !when_zone_valid("Europe/Berlin")) {
		doctor_add(checks, "time zones", DOCTOR_FAIL, "install the "
		    "tzdata package", "the time zone database is missing: "
		    "zones such as Europe/Berlin are unknown");
		return;
	}
	if (store_user_get(ctx->st, ctx->user, &u) == STORE_OK &&
	    u.tz != NULL && !when_zone_valid(u.tz))
		doctor_add(checks, "time zones", DOCTOR_FAIL, "set a known "
		    "zone with followup config tz ZONE", "your time zone "
		    "\"%s\" is unknown", u.tz);
	else
		doctor_add(checks, "time zones", DOCTOR_OK, NULL, "the time "
		    "zone database is there; your times are read in %s",
		    u.tz != NULL ? u.tz : when_local_zone());
	fu_user_clear(&u);
}

/* Milliseconds on the monotonic clock. */
static long long
doctor_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The hook checks of one doctor request.  A mail hook's --check runs as a
 * child from the loop while everyone else is served; the request's
 * connection waits for the reply (ops_defer).  The checks share one time
 * budget, so a hook that hangs keeps its rep waiting for a few seconds,
 * and nobody else at all.
 */
struct doctor_job {
	TAILQ_ENTRY(doctor_job)	 entry;
	struct conn	*conn;		/* NULL once it hung up */
	char		*caller;	/* one doctor at a time each */
	json_t		*id;
	json_t		*checks;	/* the database's to the hooks' */
	json_t		*after;		/* the address's and deliveries' */
	char		**hooks;	/* the hook lines, as configured */
	int		 nhooks;
	int		 next;		/* the hook to look at next */
	long long	 deadline;	/* of the budget, doctor_now_ms() */
	char		*prog;		/* the check running: its program */
	long		 limit_ms;	/* ... and its time limit */

	/* The database's check, on its thread until checked is written. */
	struct store_check_file	*check;	/* NULL: none can be made */
	char		*path;		/* the database's, for the reply */
	const char	*what;		/* the check's name (static) */
	int		 schema;
	json_t		*store;		/* backend, versions, live nodes */
	int		 answered;	/* ... the database listed them */
	int		 standby;	/* ... or only a standby answers */
	struct worker	*worker;	/* running it, then NULL */
};

static TAILQ_HEAD(, doctor_job)	 doctor_jobs =
    TAILQ_HEAD_INITIALIZER(doctor_jobs);
static int			 doctor_running;
static struct event_base	*doctor_base;

static void	doctor_hook_done_cb(const struct hook_result *, void *);

/* Run doctors' database checks from base's loop. */
void
op_doctor_init(struct event_base *base)
{
	doctor_base = base;
}

static void
doctor_job_free(struct doctor_job *job)
{
	int	i;

	worker_free(job->worker);
	if (job->caller != NULL) {
		TAILQ_REMOVE(&doctor_jobs, job, entry);
		doctor_running--;
	}
	store_check_file_free(job->check);
	free(job->path);
	free(job->caller);
	json_decref(job->id);
	json_decref(job->store);
	json_decref(job->checks);
	json_decref(job->after);
	for (i = 0; i < job->nhooks; i++)
		free(job->hooks[i]);
	free(job->hooks);
	free(job->prog);
	free(job);
}

/*
 * Look at the hooks from job->next on: record what can be said at once,
 * and start the check of the next mail hook.  Return 1 if a check is
 * running (doctor_hook_done_cb goes on), 0 when every hook is done.
 */
static int
doctor_hooks_next(struct doctor_job *job)
{
	static char	 path_env[] =
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char		*env[] = { path_env, NULL };
	char		**argv, *cause, *command, name[32], *base;
	long long	  left;
	int		  i, rc;

	for (; job->next < job->nhooks; job->next++) {
		i = job->next;
		snprintf(name, sizeof name, "hook %d", i + 1);
		if (hooks_split(job->hooks[i], &argv, &cause) != 0) {
			doctor_add(job->checks, name, DOCTOR_FAIL, "fix the "
			    "hook line in the configuration", "%s", cause);
			free(cause);
			continue;
		}
		if (hooks_check_program(argv[0], &cause) != 0) {
			doctor_add(job->checks, name, DOCTOR_FAIL, "install "
			    "the program or fix the hook line in the "
			    "configuration", "%s", cause);
			free(cause);
			hooks_free_argv(argv);
			continue;
		}
		base = strrchr(argv[0], '/');
		base = base != NULL ? base + 1 : argv[0];
		if (strcmp(base, "followup-mail") != 0) {
			doctor_add(job->checks, name, DOCTOR_OK, NULL, "%s is "
			    "there and can be run (not run now: it would "
			    "deliver)", argv[0]);
			hooks_free_argv(argv);
			continue;
		}
		/* The mail hook can check itself, sending nothing. */
		if ((left = job->deadline - doctor_now_ms()) <
		    DOCTOR_HOOK_MIN_MS) {
			doctor_add(job->checks, name, DOCTOR_WARN, "run "
			    "followup doctor again once the hooks above are "
			    "fixed", "not checked: the hook checks before it "
			    "used up their %d s", DOCTOR_HOOKS_BUDGET_MS /
			    1000);
			hooks_free_argv(argv);
			continue;
		}
		if (job->conn == NULL) {
			/* No loop to run it from (a request from a test). */
			doctor_add(job->checks, name, DOCTOR_WARN, "run "
			    "followup doctor", "%s not checked", argv[0]);
			hooks_free_argv(argv);
			continue;
		}
		if (left > DOCTOR_HOOK_TIMEOUT_MS)
			left = DOCTOR_HOOK_TIMEOUT_MS;
		free(job->prog);
		job->prog = xstrdup(argv[0]);
		job->limit_ms = (long)left;
		hooks_free_argv(argv);
		xasprintf(&command, "%s --check", job->hooks[i]);
		rc = hooks_spawn(command, env, "", 0, job->limit_ms,
		    HOOKS_CHECK, doctor_hook_done_cb, job, &cause);
		free(command);
		if (rc == 0)
			return 1;
		doctor_add(job->checks, name, DOCTOR_FAIL,
		    DOCTOR_FIX_SENDMAIL, "%s", cause);
		free(cause);
	}
	return 0;
}

/* The checks are all in: the reply. */
static json_t *
doctor_result(struct doctor_job *job)
{
	json_array_extend(job->checks, job->after);
	return json_pack("{s:O s:O}", "checks", job->checks, "store",
	    job->store);
}

/*
 * The nodes serving the database and what it runs on: an admin learns
 * here whether the others are alive, and whether their clocks agree with
 * the server's (each node finds what is due by its own clock).  A shared
 * database with no live node but this one is fine (one node); none at
 * all means our own heartbeat cannot be written.
 */
static void
doctor_nodes(struct doctor_job *job)
{
	json_t		*nodes = json_object_get(job->store, "nodes");
	json_t		*n, *off;
	const char	*server = json_string_value(json_object_get(
			    job->store, "server_version"));
	const char	*worst = NULL;
	char		*list = xstrdup(""), *s, clock[64];
	size_t		 i;
	long long	 ms, worst_ms = 0;

	if (!json_is_array(nodes)) {
		free(list);
		doctor_add(job->checks, "nodes", DOCTOR_WARN, "check the "
		    "connection to the database", "cannot list the live "
		    "nodes");
		return;
	}
	json_array_foreach(nodes, i, n) {
		clock[0] = '\0';
		if (json_is_integer(off = json_object_get(n,
		    "clock_offset_ms"))) {
			ms = json_integer_value(off);
			snprintf(clock, sizeof clock, ", clock %+.1f s",
			    (double)ms / 1000);
			if (llabs(ms) > llabs(worst_ms)) {
				worst_ms = ms;
				worst = json_string_value(json_object_get(n,
				    "name"));
			}
		}
		xasprintf(&s, "%s%s%s (host %s, pid %lld, version %s, "
		    "heartbeat %s%s)", list, i > 0 ? "; " : "",
		    json_string_value(json_object_get(n, "name")),
		    json_string_value(json_object_get(n, "host")),
		    (long long)json_integer_value(json_object_get(n, "pid")),
		    json_string_value(json_object_get(n, "version")),
		    json_string_value(json_object_get(n, "heartbeat_at")),
		    clock);
		free(list);
		list = s;
	}
	if (worst != NULL && llabs(worst_ms) > DOCTOR_CLOCK_SKEW_MS) {
		doctor_add(job->checks, "nodes", DOCTOR_WARN, "keep every "
		    "node's clock in step (NTP): each finds what is due by its "
		    "own", "the clock of %s is %.1f s %s the database "
		    "server's; %zu live node%s: %s", worst,
		    (double)llabs(worst_ms) / 1000, worst_ms > 0 ? "ahead of" :
		    "behind", json_array_size(nodes),
		    json_array_size(nodes) == 1 ? "" : "s", list);
		free(list);
		return;
	}
	doctor_add(job->checks, "nodes", json_array_size(nodes) > 0 ?
	    DOCTOR_OK : DOCTOR_WARN, "check that this followupd can write "
	    "the database", "%zu live node%s on %s%s%s, schema %d: %s",
	    json_array_size(nodes), json_array_size(nodes) == 1 ? "" : "s",
	    json_string_value(json_object_get(job->store, "backend")),
	    server != NULL ? " " : "", server != NULL ? server : "",
	    job->schema, list);
	free(list);
}

/* A mail hook's --check is over: record it and go on. */
static void
doctor_hook_done_cb(const struct hook_result *r, void *arg)
{
	struct doctor_job	*job = arg;
	char			 name[32];

	if (job->conn == NULL) {
		/* Its rep hung up: nobody waits for the rest. */
		doctor_job_free(job);
		return;
	}
	if (r->stopping) {
		/* Its connection closes unanswered, as the daemon stops. */
		ops_answer(job->conn, NULL, -1);
		doctor_job_free(job);
		return;
	}
	snprintf(name, sizeof name, "hook %d", job->next + 1);
	if (r->ok)
		doctor_add(job->checks, name, DOCTOR_OK, NULL, "%s",
		    r->output);
	else if (r->timed_out)
		doctor_add(job->checks, name, DOCTOR_FAIL, DOCTOR_FIX_SENDMAIL,
		    "%s did not finish within %.1f s", job->prog,
		    job->limit_ms / 1000.0);
	else if (r->exit_code == EX_CONFIG)
		/*
		 * A set-ID sendmail under the daemon's no_new_privs:
		 * followup-mail, started by the daemon, sees what its
		 * deliveries will see.
		 */
		doctor_add(job->checks, name, DOCTOR_FAIL, "submit over SMTP "
		    "with msmtp: see \"Mail from the sandbox\" in the README, "
		    "or MAIL FROM THE SANDBOX in followupd(8)", "%s",
		    r->output);
	else
		doctor_add(job->checks, name, DOCTOR_FAIL, DOCTOR_FIX_SENDMAIL,
		    "%s", r->exit_code == -1 ? r->error : *r->output != '\0' ?
		    r->output : "followup-mail --check failed");
	job->next++;
	if (doctor_hooks_next(job))
		return;
	ops_answer(job->conn, ops_ok_reply(job->id, doctor_result(job)), -1);
	doctor_job_free(job);
}

/*
 * The database's check is done: the hooks' checks come next, then the
 * reply.
 */
static void
doctor_checked_cb(void *arg)
{
	struct doctor_job	*job = arg;

	worker_free(job->worker);
	job->worker = NULL;
	doctor_database(job->checks, job->check, job->path, job->what,
	    job->schema, job->answered, job->standby);
	if (job->conn == NULL) {
		/* Its rep hung up: nobody waits for the rest. */
		doctor_job_free(job);
		return;
	}
	job->deadline = doctor_now_ms() + DOCTOR_HOOKS_BUDGET_MS;
	if (doctor_hooks_next(job))
		return;
	ops_answer(job->conn, ops_ok_reply(job->id, doctor_result(job)), -1);
	doctor_job_free(job);
}

/* On the worker's thread: the database's check. */
static void
doctor_check_run(void *arg)
{
	struct doctor_job	*job = arg;

	store_check_file_run(job->check);
}

/*
 * The daemon stops: the database's checks still running are stopped, and
 * their reps told so.  (Those at their hooks end with the hooks.)
 */
void
op_doctor_stop(void)
{
	struct doctor_job	*job, *next;

	TAILQ_FOREACH(job, &doctor_jobs, entry) {
		if (worker_running(job->worker))
			store_check_file_stop(job->check);
	}
	for (job = TAILQ_FIRST(&doctor_jobs); job != NULL; job = next) {
		next = TAILQ_NEXT(job, entry);
		if (!worker_running(job->worker))
			continue;
		worker_join(job->worker);
		if (job->conn != NULL)
			ops_answer(job->conn, ops_error_reply(job->id,
			    FU_ERR_UNAVAILABLE, "the daemon is stopping: the "
			    "checks were not finished; run followup doctor "
			    "again once the daemon is back"), -1);
		doctor_job_free(job);
	}
}

/* The rep hung up while a check ran: its end frees the job. */
static void
doctor_cancel(void *arg)
{
	struct doctor_job	*job = arg;

	job->conn = NULL;
}

static void
doctor_mail_address(struct op_ctx *ctx, json_t *checks)
{
	struct fu_user	u;

	memset(&u, 0, sizeof u);
	if (store_user_get(ctx->st, ctx->user, &u) != STORE_OK ||
	    u.email == NULL)
		doctor_add(checks, "your address", DOCTOR_WARN, "followup "
		    "config email YOU@EXAMPLE.COM", "no email address set: "
		    "mail goes to the local user %s", ctx->user);
	else if (!fu_email_ok(u.email))
		/* Set before followupd refused such addresses. */
		doctor_add(checks, "your address", DOCTOR_FAIL, "followup "
		    "config email YOU@EXAMPLE.COM, in plain ASCII", "%s is "
		    "not an address the mail hook sends to", u.email);
	else
		doctor_add(checks, "your address", DOCTOR_OK, NULL,
		    "reminders are mailed to %s", u.email);
	fu_user_clear(&u);
}

/*
 * Which reps' deliveries are failing, as "ana, ben" (admins only), or
 * NULL.  Caller frees.
 */
static char *
doctor_failing_reps(struct op_ctx *ctx)
{
	json_t	*obj = json_object(), *rep;
	char	*list = NULL, *more;
	size_t	 i;

	if (outbox_reps_json(ctx->st, obj) == 0) {
		json_array_foreach(json_object_get(obj, "delivery_by_rep"), i,
		    rep) {
			if (json_integer_value(json_object_get(rep,
			    "failing")) == 0)
				continue;
			xasprintf(&more, "%s%s%s", list != NULL ? list : "",
			    list != NULL ? ", " : "", json_string_value(
			    json_object_get(rep, "rep")));
			free(list);
			list = more;
		}
	}
	json_decref(obj);
	return list;
}

/*
 * The deliveries of the acting rep's notices, or for an admin (not acting
 * for a rep) the team's: a rep is never failed, nor shown an error, for
 * another rep's deliveries.
 */
static void
doctor_delivery(struct op_ctx *ctx, json_t *checks)
{
	json_t		*obj = json_object();
	struct store_outbox_stats	os;
	struct store_outbox_health	oh;
	const char	*retrying, *failed, *oldest, *owner;
	const char	*whose = ctx->admin ? "the team's" : "your";
	char		*reps = NULL;
	time_t		 oldest_t;
	json_int_t	 backlog, gave_up;

	owner = ctx->admin ? NULL : ctx->user;
	/* Cleared whichever read fails first (the database out of reach). */
	memset(&oh, 0, sizeof oh);
	if (store_outbox_stats(ctx->st, owner, &os) != STORE_OK ||
	    store_outbox_health(ctx->st, owner, &oh) != STORE_OK) {
		store_outbox_health_clear(&oh);
		doctor_add(checks, "deliveries", DOCTOR_FAIL, "see the "
		    "daemon's log", "cannot read the outbox");
		json_decref(obj);
		return;
	}
	outbox_stats_json(obj, &os);
	outbox_health_json(obj, &oh);
	store_outbox_health_clear(&oh);
	backlog = json_integer_value(json_object_get(obj, "outbox_backlog"));
	gave_up = json_integer_value(json_object_get(obj,
	    "deliveries_failed"));
	retrying = json_string_value(json_object_get(obj, "retrying_error"));
	failed = json_string_value(json_object_get(obj, "failed_error"));
	oldest = json_string_value(json_object_get(obj, "oldest_waiting"));
	oldest_t = fu_time_parse(oldest);
	if (ctx->admin && retrying != NULL)
		reps = doctor_failing_reps(ctx);

	if (retrying != NULL && ctx->admin)
		doctor_add(checks, "last delivery", DOCTOR_FAIL, "see "
		    "journalctl -u followupd; the daemon retries by itself "
		    "once the cause is fixed", "deliveries for %s are failing "
		    "and being retried: %s", reps != NULL ? reps : "a rep",
		    retrying);
	else if (retrying != NULL)
		doctor_add(checks, "last delivery", DOCTOR_FAIL, "see "
		    "journalctl -u followupd or ask an admin; the daemon "
		    "retries by itself once the cause is fixed", "a delivery "
		    "of your notices is failing and being retried: %s",
		    retrying);
	else if (json_is_null(json_object_get(obj, "last_hook_delivery")))
		doctor_add(checks, "last delivery", DOCTOR_OK, NULL,
		    "no hook has delivered %s notices yet", whose);
	else
		doctor_add(checks, "last delivery", DOCTOR_OK, NULL,
		    "the last hook delivery of %s notices succeeded at %s",
		    whose, json_string_value(json_object_get(obj,
		    "last_hook_delivery")));

	if (oldest_t != 0 && ctx->now - oldest_t > DOCTOR_BACKLOG_LATE)
		doctor_add(checks, "backlog", DOCTOR_FAIL, "fix the failing "
		    "delivery above; waiting notices go out when it works",
		    "%lld of %s deliveries waiting, the oldest since %s",
		    (long long)backlog, whose, oldest);
	else if (gave_up > 0)
		doctor_add(checks, "backlog", DOCTOR_WARN, "see journalctl "
		    "-u followupd for what was not delivered", "%lld of %s "
		    "deliveries were given up after retrying; the last: %s",
		    (long long)gave_up, whose, failed != NULL ? failed : "?");
	else
		doctor_add(checks, "backlog", DOCTOR_OK, NULL, "%lld of %s "
		    "deliveries waiting", (long long)backlog, whose);
	free(reps);
	json_decref(obj);
}

/*
 * Is a doctor of ctx's caller running, or too many of all?  Return 1 with
 * the conflict replied, else 0.
 */
static int
doctor_busy(struct op_ctx *ctx)
{
	struct doctor_job	*job;

	TAILQ_FOREACH(job, &doctor_jobs, entry) {
		if (strcmp(job->caller, ctx->caller) == 0) {
			reply_error(ctx, FU_ERR_CONFLICT, "your followup "
			    "doctor is still running: wait for its answer "
			    "(one at a time per user)");
			return 1;
		}
	}
	if (doctor_running >= DOCTOR_MAX_RUNNING) {
		reply_error(ctx, FU_ERR_CONFLICT, "the daemon is busy with %d "
		    "checks; try again in a few seconds", doctor_running);
		return 1;
	}
	return 0;
}

int
op_doctor(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct doctor_job	*job;
	const char		*db = op_meta_database();
	char			*cause;
	int			 i;

	if (ctx->can_defer && doctor_base != NULL && doctor_busy(ctx))
		return -1;
	job = xcalloc(1, sizeof *job);
	job->checks = json_array();
	job->after = json_array();
	job->path = xstrdup(db);
	job->schema = store_schema_version(ctx->st);
	job->store = op_meta_store(ctx);
	/* The live nodes are listed by asking the database (a server's). */
	job->answered = json_is_array(json_object_get(job->store, "nodes"));
	job->standby = store_standby(ctx->st);
	doctor_nodes(job);
	/* A server's database is on the server's disk, not one of ours. */
	if (store_backend_kind(db) == STORE_BACKEND_SQLITE)
		doctor_disk(job->checks, db);
	doctor_zones(ctx, job->checks);
	doctor_mail_address(ctx, job->after);
	doctor_delivery(ctx, job->after);
	if (ctx->cf->nhooks == 0)
		doctor_add(job->checks, "hooks", DOCTOR_WARN, "to be mailed, "
		    "add hook = " PKGLIBEXECDIR "/followup-mail to [reminders] "
		    "in the configuration", "no hook is configured: reminders "
		    "reach the journal and followup watch only");
	/* A reload may free the configuration while the checks run. */
	job->nhooks = ctx->cf->nhooks;
	job->hooks = xreallocarray(NULL, job->nhooks + 1, sizeof *job->hooks);
	for (i = 0; i < job->nhooks; i++)
		job->hooks[i] = xstrdup(ctx->cf->hooks[i]);
	/*
	 * NULL if the daemon cannot check this database (a server's, checked
	 * by its own tools): then job->check is NULL, the worker has nothing
	 * to run and the check is reported skipped; the hooks' go on.
	 */
	job->what = store_check_name(ctx->st);
	if (!ctx->can_defer || doctor_base == NULL) {
		/* No loop to wait on (a request from a test): check here. */
		job->check = store_check_file_new(ctx->st);
		store_check_file_run(job->check);
		doctor_database(job->checks, job->check, job->path, job->what,
		    job->schema, job->answered, job->standby);
		job->deadline = doctor_now_ms() + DOCTOR_HOOKS_BUDGET_MS;
		doctor_hooks_next(job);
		*result = doctor_result(job);
		doctor_job_free(job);
		return 0;
	}
	job->caller = xstrdup(ctx->caller);
	TAILQ_INSERT_TAIL(&doctor_jobs, job, entry);
	doctor_running++;
	job->check = store_check_file_new(ctx->st);
	job->worker = worker_start(doctor_base, doctor_check_run,
	    doctor_checked_cb, job, &cause);
	if (job->worker == NULL) {
		doctor_job_free(job);
		reply_error(ctx, FU_ERR_UNAVAILABLE, "cannot start the "
		    "database's check: %s", cause);
		free(cause);
		return -1;
	}
	job->id = ctx->id != NULL ? json_incref(ctx->id) : NULL;
	job->conn = ops_defer(ctx, doctor_cancel, job);
	return 0;
}
