/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * doctor: the daemon's side of followup doctor.  It checks, as the daemon
 * sees them, what makes reminders fail silently: the database's integrity
 * and free space, the time zone database, the hooks and their sendmail,
 * the last deliveries and the backlog.  Each check says what to fix.
 *
 * The checks run in the loop, so every other request waits for them: the
 * hook checks share one time budget, and systemd's watchdog is kept fed
 * between and during the long steps.
 */

#include <config.h>

#include <sys/statvfs.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "followupd.h"

/* Less free space than this fails the disk check; less than WARN warns. */
#define DOCTOR_DISK_FAIL	(16LL << 20)
#define DOCTOR_DISK_WARN	(256LL << 20)
/* A notice waiting longer than this for delivery fails the backlog check. */
#define DOCTOR_BACKLOG_LATE	(10 * 60)
/* How long one hook's --check may take, and all of them together. */
#define DOCTOR_HOOK_TIMEOUT_MS	5000
#define DOCTOR_HOOKS_BUDGET_MS	8000
/* How long doctor_run waits at most before feeding the watchdog again. */
#define DOCTOR_POLL_SLICE_MS	250
#define DOCTOR_OUTPUT_MAX	1024

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

static void
doctor_database(struct op_ctx *ctx, json_t *checks, const char *path)
{
	int64_t	 bytes;
	char	*detail;
	int	 ok;

	store_check(ctx->st, sdnotify_keepalive, &ok, &detail, &bytes);
	if (ok)
		doctor_add(checks, "database", DOCTOR_OK, NULL,
		    "%s passes SQLite's quick check (%lld KiB, schema %d)",
		    path, (long long)(bytes / 1024),
		    store_schema_version(ctx->st));
	else
		doctor_add(checks, "database", DOCTOR_FAIL, "stop followupd, "
		    "keep the damaged file, and restore the last backup "
		    "(see followupd(8), BACKUP AND RESTORE)",
		    "%s is damaged: %s", path, detail);
	free(detail);
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
 * Run argv for at most limit_ms, output (stdout and stderr) into out (at
 * most DOCTOR_OUTPUT_MAX bytes kept), feeding the watchdog while it waits.
 * Return the exit status, or -1 with out saying why it did not run or
 * finish.
 */
static int
doctor_run(char **argv, long limit_ms, char *out, size_t outsz)
{
	posix_spawn_file_actions_t	 fa;
	struct pollfd			 pfd;
	char				*env[] = {
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	    NULL };
	pid_t				 pid;
	size_t				 len = 0;
	ssize_t				 n;
	long long			 start, left;
	int				 p[2], rc, status;

	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(out, outsz, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		snprintf(out, outsz, "cannot run %s: %s", argv[0],
		    strerror(rc));
		return -1;
	}
	start = doctor_now_ms();
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		sdnotify_keepalive();
		left = limit_ms - (doctor_now_ms() - start);
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(p[0]);
			snprintf(out, outsz, "%s did not finish within %.1f s",
			    argv[0], limit_ms / 1000.0);
			return -1;
		}
		if (left > DOCTOR_POLL_SLICE_MS)
			left = DOCTOR_POLL_SLICE_MS;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			break;
		if (pfd.revents == 0)
			continue;
		n = read(p[0], out + len, outsz - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		out[len] = '\0';
		if (len == outsz - 1) {
			/* Enough said; drain the rest. */
			char	sink[4096];

			while (read(p[0], sink, sizeof sink) > 0)
				;
			break;
		}
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			snprintf(out, outsz, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
	if (WIFSIGNALED(status)) {
		snprintf(out, outsz, "%s was killed by signal %d", argv[0],
		    WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
}

/* Is argv[0] a program the daemon can run (searching PATH if bare)? */
static int
doctor_runnable(const char *prog)
{
	const char	*path = getenv("PATH");
	char		*copy, *dir, *save, *full;
	int		 ok = 0;

	if (strchr(prog, '/') != NULL)
		return access(prog, X_OK) == 0;
	copy = xstrdup(path != NULL ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !ok;
	    dir = strtok_r(NULL, ":", &save)) {
		xasprintf(&full, "%s/%s", dir, prog);
		ok = access(full, X_OK) == 0;
		free(full);
	}
	free(copy);
	return ok;
}

static void
doctor_hooks(struct op_ctx *ctx, json_t *checks)
{
	char		**argv, **argv2, *cause, name[32];
	char		 *base, out[DOCTOR_OUTPUT_MAX];
	long long	  deadline, left;
	int		  i, n, rc;

	deadline = doctor_now_ms() + DOCTOR_HOOKS_BUDGET_MS;
	if (ctx->cf->nhooks == 0) {
		doctor_add(checks, "hooks", DOCTOR_WARN, "to be mailed, add "
		    "hook = " PKGLIBEXECDIR "/followup-mail to [reminders] in "
		    "the configuration", "no hook is configured: reminders "
		    "reach the journal and followup watch only");
		return;
	}
	for (i = 0; i < ctx->cf->nhooks; i++) {
		snprintf(name, sizeof name, "hook %d", i + 1);
		if (hooks_split(ctx->cf->hooks[i], &argv, &cause) != 0) {
			doctor_add(checks, name, DOCTOR_FAIL, "fix the hook "
			    "line in the configuration", "%s", cause);
			free(cause);
			continue;
		}
		if (!doctor_runnable(argv[0])) {
			doctor_add(checks, name, DOCTOR_FAIL, "install the "
			    "program or fix the hook line in the "
			    "configuration", "%s is missing or cannot be run "
			    "by the daemon's user", argv[0]);
			hooks_free_argv(argv);
			continue;
		}
		base = strrchr(argv[0], '/');
		base = base != NULL ? base + 1 : argv[0];
		if (strcmp(base, "followup-mail") != 0) {
			doctor_add(checks, name, DOCTOR_OK, NULL, "%s is there "
			    "and can be run (not run now: it would deliver)",
			    argv[0]);
			hooks_free_argv(argv);
			continue;
		}
		/*
		 * The mail hook can check itself, sending nothing, within
		 * what is left of the budget all hook checks share: a hook
		 * that hangs must not hold every rep's requests for long.
		 */
		if ((left = deadline - doctor_now_ms()) <= 0) {
			doctor_add(checks, name, DOCTOR_WARN, "run followup "
			    "doctor again once the hooks above are fixed",
			    "not checked: the hook checks before it used up "
			    "their %d s", DOCTOR_HOOKS_BUDGET_MS / 1000);
			hooks_free_argv(argv);
			continue;
		}
		if (left > DOCTOR_HOOK_TIMEOUT_MS)
			left = DOCTOR_HOOK_TIMEOUT_MS;
		for (n = 0; argv[n] != NULL; n++)
			;
		argv2 = xreallocarray(NULL, n + 2, sizeof *argv2);
		memcpy(argv2, argv, n * sizeof *argv2);
		argv2[n] = "--check";
		argv2[n + 1] = NULL;
		rc = doctor_run(argv2, (long)left, out, sizeof out);
		free(argv2);
		if (rc == 0)
			doctor_add(checks, name, DOCTOR_OK, NULL, "%s", out);
		else if (rc == EX_CONFIG)
			/*
			 * A set-ID sendmail under the daemon's no_new_privs:
			 * followup-mail, started by the daemon, sees what
			 * its deliveries will see.
			 */
			doctor_add(checks, name, DOCTOR_FAIL, "submit over "
			    "SMTP with msmtp: see \"Mail from the sandbox\" "
			    "in the README, or MAIL FROM THE SANDBOX in "
			    "followupd(8)", "%s", out);
		else
			doctor_add(checks, name, DOCTOR_FAIL, "install a "
			    "sendmail (msmtp-mta, or your MTA) or point "
			    "--sendmail at one the daemon may run", "%s",
			    *out != '\0' ? out : "followup-mail --check failed");
		hooks_free_argv(argv);
	}
}

static void
doctor_mail_address(struct op_ctx *ctx, json_t *checks)
{
	struct fu_user	u;

	memset(&u, 0, sizeof u);
	if (store_user_get(ctx->st, ctx->user, &u) == STORE_OK &&
	    u.email != NULL)
		doctor_add(checks, "your address", DOCTOR_OK, NULL,
		    "reminders are mailed to %s", u.email);
	else
		doctor_add(checks, "your address", DOCTOR_WARN, "followup "
		    "config email YOU@EXAMPLE.COM", "no email address set: "
		    "mail goes to the local user %s", ctx->user);
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

	if (store_outbox_reps(ctx->st, obj) == STORE_OK) {
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
	const char	*retrying, *failed, *oldest, *owner;
	const char	*whose = ctx->admin ? "the team's" : "your";
	char		*reps = NULL;
	time_t		 oldest_t = 0;
	json_int_t	 backlog, gave_up;
	struct tm	 tm;

	owner = ctx->admin ? NULL : ctx->user;
	if (store_outbox_stats(ctx->st, owner, obj) != STORE_OK ||
	    store_outbox_health(ctx->st, owner, obj) != STORE_OK) {
		doctor_add(checks, "deliveries", DOCTOR_FAIL, "see the "
		    "daemon's log", "cannot read the outbox");
		json_decref(obj);
		return;
	}
	backlog = json_integer_value(json_object_get(obj, "outbox_backlog"));
	gave_up = json_integer_value(json_object_get(obj,
	    "deliveries_failed"));
	retrying = json_string_value(json_object_get(obj, "retrying_error"));
	failed = json_string_value(json_object_get(obj, "failed_error"));
	oldest = json_string_value(json_object_get(obj, "oldest_waiting"));
	memset(&tm, 0, sizeof tm);
	if (oldest != NULL && strptime(oldest, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
	    NULL)
		oldest_t = timegm(&tm);
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

int
op_doctor(struct op_ctx *ctx, json_t *args, json_t **result)
{
	json_t		*checks = json_array();
	const char	*db = op_meta_database();

	doctor_database(ctx, checks, db);
	sdnotify_keepalive();
	doctor_disk(checks, db);
	doctor_zones(ctx, checks);
	doctor_hooks(ctx, checks);
	doctor_mail_address(ctx, checks);
	doctor_delivery(ctx, checks);
	*result = json_pack("{s:o}", "checks", checks);
	return 0;
}
