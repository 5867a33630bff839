/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followupd's main: options, configuration, the store, the socket, READY,
 * the loop, and a clean stop on SIGTERM.
 */

#include <config.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "followupd.h"
#include "followup/paths.h"

/* How long a stop waits for replies to reach slow clients. */
#define MAIN_DRAIN_MS	500
/*
 * Threads with a connection each that run requests where the database is
 * a server's: one request waiting on the network or on a row holds one
 * lane, never the loop, and four let a node use the server's cores.
 */
#define MAIN_LANES	4
/* Freed heap kept for reuse (main_tune_malloc). */
#define MAIN_TRIM_BYTES	(8 * 1024 * 1024)

static struct event_base	*main_base;
static struct store		*main_store;
static struct fu_config		*main_cf;
static char			*main_config_path;
static int			 main_config_explicit;
static int			 main_verbose;
static int			 main_stopping;

/* What --database takes besides a file, as this build serves it. */
#ifdef HAVE_POSTGRESQL
#define USAGE_DATABASE_URL						\
"                        or a postgresql:// URL or libpq conninfo:\n"	\
"                        an existing database on a server\n"
#else
#define USAGE_DATABASE_URL						\
"                        a postgresql:// URL is refused: this build\n"	\
"                        has no PostgreSQL backend\n"
#endif

static __dead void
usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;

	fprintf(f,
"usage: followupd [--config FILE] [--socket PATH] [--database PATH]\n"
"                 [--verbose] [--check-config] [--migrate-to URL]\n"
"                 [--version] [--help]\n"
"\n"
"The followup service: keeps the prospects, their history and the\n"
"follow-up schedule, and serves the followup client on a Unix socket.\n"
"It runs in the foreground; SIGTERM stops it, SIGHUP reloads the\n"
"configuration.\n"
"\n"
"The system paths below are the defaults for root and system accounts\n"
"(uid below %d), the XDG ones for other users.\n"
"\n"
"  -c, --config FILE     configuration file; default\n"
"                        %s,\n"
"                        else $XDG_CONFIG_HOME/followupd/followupd.conf\n"
"  -s, --socket PATH     listening socket; default\n"
"                        %s,\n"
"                        else $XDG_RUNTIME_DIR/followupd.sock, or\n"
"                        ~/.local/state/followupd/followupd.sock\n"
"  -d, --database PATH   SQLite database; default\n"
"                        $STATE_DIRECTORY/followup.db when systemd's\n"
"                        StateDirectory= sets it, else\n"
"                        %s,\n"
"                        else $XDG_STATE_HOME/followupd/followup.db;\n"
USAGE_DATABASE_URL
"  -v, --verbose         log debug messages too\n"
"      --check-config    check the configuration file and that each hook's\n"
"                        program can be run, and exit\n"
"      --migrate-to URL  copy the SQLite database into the empty\n"
"                        PostgreSQL database URL names (a postgresql://\n"
"                        URL or a conninfo string), every id and field\n"
"                        and the reminders' state kept; print the counts\n"
"                        and exit without serving\n"
"      --version         print the version and exit\n"
"  -h, --help            print this help and exit\n",
	    FU_FIRST_USER_UID, FU_SYSTEM_CONFIG, FU_SYSTEM_SOCKET,
	    FU_SYSTEM_DATABASE);
	exit(status);
}

/* The configuration file to read when none was named. Caller frees. */
static char *
main_default_config(void)
{
	const char	*dir, *home;
	char		*path;

	if (config_system_mode())
		return xstrdup(FU_SYSTEM_CONFIG);
	if ((dir = getenv("XDG_CONFIG_HOME")) != NULL && *dir == '/')
		xasprintf(&path, "%s/%s/%s", dir, FU_USER_CONFIG_SUBDIR,
		    FU_USER_CONFIG_NAME);
	else if ((home = getenv("HOME")) != NULL && *home == '/')
		xasprintf(&path, "%s/.config/%s/%s", home,
		    FU_USER_CONFIG_SUBDIR, FU_USER_CONFIG_NAME);
	else
		return NULL;
	return path;
}

/* Read the configuration file into a fresh configuration. */
static struct fu_config *
main_load_config(char **cause)
{
	struct fu_config	*cf = config_new();

	*cause = NULL;
	if (main_config_path != NULL &&
	    config_load(cf, main_config_path, !main_config_explicit,
	    cause) != 0) {
		config_free(cf);
		return NULL;
	}
	return cf;
}

/*
 * Are the hooks' programs there to run?  One that is not would fail every
 * delivery until someone ran followup doctor, so say so now: each problem
 * to stderr for --check-config (check set), else as a warning in the log.
 * Return how many hooks cannot be run.
 */
static int
main_check_hooks(const struct fu_config *cf, int check)
{
	char	**argv, *cause;
	int	  i, rc, bad = 0;

	for (i = 0; i < cf->nhooks; i++) {
		if (hooks_split(cf->hooks[i], &argv, &cause) == 0) {
			rc = hooks_check_program(argv[0], &cause);
			hooks_free_argv(argv);
			if (rc == 0)
				continue;
		}
		bad++;
		if (check)
			fprintf(stderr, "followupd: %s: hook %d cannot run: "
			    "%s\n", cf->path != NULL ? cf->path : "(defaults)",
			    i + 1, cause);
		else
			log_warnx("main: hook %d cannot run (every delivery "
			    "to it will fail until it is fixed): %s", i + 1,
			    cause);
		free(cause);
	}
	return bad;
}

/* Let a whole team's connections in: raise the descriptor limit. */
static void
main_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("main: raising the descriptor limit");
	}
}

/*
 * Keep up to MAIN_TRIM_BYTES of freed heap instead of handing it back to
 * the system at once.  Readers keep replies of some kilobytes in flight
 * on each connection, freed as the sockets drain; glibc gave the top of
 * the heap back whenever 128 KiB of it was free and grew it again at the
 * next burst: about a brk and a page fault per request, a tenth of the
 * loop's time under 32 pipelining readers.  Large blocks still come from
 * their own mappings (from 128 KiB: glibc no longer moves that mark once
 * this is set) and go back when freed.
 */
static void
main_tune_malloc(void)
{
#ifdef M_TRIM_THRESHOLD
	if (mallopt(M_TRIM_THRESHOLD, MAIN_TRIM_BYTES) != 1)
		log_debug("main: cannot keep freed memory for reuse");
#endif
}

/*
 * Once stopping, leave the loop when no hook is running any more and
 * every commit is durable (its replies then go out with the drain, with
 * those of the requests the lanes finish meanwhile; the lanes commit
 * what they still hold after the loop, unanswered).
 */
static void
main_maybe_exit(void)
{
	struct timeval	tv = { 0, MAIN_DRAIN_MS * 1000 };

	if (!main_stopping || hooks_running() > 0 ||
	    store_durable(main_store) < store_commits(main_store))
		return;
	event_base_loopexit(main_base, conn_count() > 0 ? &tv : NULL);
}

/* A group commit finished: release the replies, look at the schedule. */
static void
main_commit_cb(int ok, void *arg)
{
	conn_commit_cb(ok, arg);
	op_report_committed();
	sched_write_result(ok);
	sched_changed();
	main_maybe_exit();
}

/* Requests ran on the store's lanes; those that wrote are committed. */
static void
main_lanes_over_cb(int wrote, void *arg)
{
	if (wrote)
		sched_changed();
	main_maybe_exit();
}

/* More commits are durable: release the replies that waited for them. */
static void
main_durable_cb(void *arg)
{
	conn_durable_cb(arg);
	sched_durable();
	main_maybe_exit();
}

static void
main_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	if (main_stopping) {
		log_info("main: stopping now; running hooks are ended and "
		    "retried after the restart");
		event_base_loopexit(main_base, NULL);
		return;
	}
	main_stopping = 1;
	log_info("main: %s received; stopping%s",
	    sig == SIGINT ? "SIGINT" : "SIGTERM", hooks_running() > 0 ?
	    " once the running hooks finish" : "");
	sdnotify_stopping();
	server_close();
	op_backup_stop();
	op_doctor_stop();
	op_report_stop();
	/* No new notices start; writes already taken in are answered. */
	sched_free();
	op_meta_status_stop();
	store_commit(main_store);
	main_maybe_exit();
}

static void
main_reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct fu_config	*cf;
	char			*cause;

	sdnotify_reloading();
	log_info("main: SIGHUP received; reloading %s",
	    main_config_path != NULL ? main_config_path : "(no file)");
	if ((cf = main_load_config(&cause)) == NULL) {
		log_warnx("main: reload failed, keeping the old "
		    "configuration: %s", cause);
		free(cause);
		sdnotify_ready();
		return;
	}
	/* The socket and the database stay as they are until a restart. */
	cf->socket = xstrdup(main_cf->socket);
	cf->database = xstrdup(main_cf->database);
	log_init(cf->log, main_verbose);
	server_set_limits(cf->max_conns_per_user);
	config_free(main_cf);
	main_cf = cf;
	conn_reconfigured();
	log_info("main: configuration reloaded");
	main_check_hooks(main_cf, 0);
	sdnotify_ready();
	sched_changed();
}

/*
 * --migrate-to: copy the SQLite database from into the empty PostgreSQL
 * database to names, print what was moved, and exit (0 when every row is
 * there).  Nothing is served: the admin points the configuration at the
 * new database and starts followupd again.
 */
static int
main_migrate(const char *from, const char *to)
{
	struct store_move_count	 counts[STORE_MOVE_TABLES];
	struct store		*src, *dst;
	struct stat		 sb;
	char			*cause;
	size_t			 i;
	int			 rc;

	if (store_backend_kind(from) != STORE_BACKEND_SQLITE) {
		fprintf(stderr, "followupd: --migrate-to: the database to "
		    "move from must be an SQLite file\n");
		return 1;
	}
	if (store_backend_kind(to) != STORE_BACKEND_POSTGRESQL) {
		fprintf(stderr, "followupd: --migrate-to: the database to "
		    "move to must be PostgreSQL (a postgresql:// URL or a "
		    "conninfo string)\n");
		return 1;
	}
	if (store_backend_usable(to, &cause) != 0) {
		fprintf(stderr, "followupd: --migrate-to: %s\n", cause);
		free(cause);
		return 1;
	}
	/* Opening would make a new, empty file: there is nothing to move. */
	if (stat(from, &sb) == -1) {
		fprintf(stderr, "followupd: --migrate-to: %s: %s\n", from,
		    strerror(errno));
		return 1;
	}
	if ((src = store_open(from, &cause)) == NULL) {
		fprintf(stderr, "followupd: --migrate-to: %s\n", cause);
		free(cause);
		return 1;
	}
	if ((dst = store_open(to, &cause)) == NULL) {
		fprintf(stderr, "followupd: --migrate-to: %s\n", cause);
		free(cause);
		store_close(src);
		return 1;
	}
#ifdef HAVE_POSTGRESQL
	rc = store_move(src, dst, counts, &cause);
#else
	rc = -1;	/* not reached: store_backend_usable refused */
	cause = xstrdup("this followupd was built without the PostgreSQL "
	    "backend");
#endif
	store_close(dst);
	store_close(src);
	if (rc != 0) {
		fprintf(stderr, "followupd: --migrate-to: %s; the PostgreSQL "
		    "database was left as it was\n", cause);
		free(cause);
		return 1;
	}
	printf("%-14s %12s %12s\n", "table", "sqlite", "postgresql");
	for (i = 0; i < STORE_MOVE_TABLES; i++)
		printf("%-14s %12lld %12lld\n", counts[i].table,
		    (long long)counts[i].from, (long long)counts[i].to);
	printf("followupd: moved %s to PostgreSQL; every count matches\n",
	    from);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",		required_argument,	NULL, 'c' },
		{ "socket",		required_argument,	NULL, 's' },
		{ "database",		required_argument,	NULL, 'd' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ "check-config",	no_argument,		NULL, 'C' },
		{ "migrate-to",		required_argument,	NULL, 'M' },
		{ "version",		no_argument,		NULL, 'V' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 }
	};
	struct event_config	*evcfg;
	struct event		*ev_term, *ev_int, *ev_hup;
	const char		*opt_socket = NULL, *opt_database = NULL;
	const char		*opt_migrate = NULL;
	char			*cause, *shown;
	int			 ch, check = 0;

	while ((ch = getopt_long(argc, argv, "c:s:d:vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			free(main_config_path);
			main_config_path = xstrdup(optarg);
			main_config_explicit = 1;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 'd':
			opt_database = optarg;
			break;
		case 'v':
			main_verbose = 1;
			break;
		case 'C':
			check = 1;
			break;
		case 'M':
			opt_migrate = optarg;
			break;
		case 'V':
			printf("followupd %s (protocol %d)\n", PACKAGE_VERSION,
			    FU_PROTOCOL_VERSION);
			return 0;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);

	umask(077);
	signal(SIGPIPE, SIG_IGN);
	log_init(check || opt_migrate != NULL ? LOG_TO_STDERR : LOG_TO_AUTO,
	    main_verbose);

	if (main_config_path == NULL)
		main_config_path = main_default_config();
	if ((main_cf = main_load_config(&cause)) == NULL) {
		fprintf(stderr, "followupd: %s\n", cause);
		if (!check)
			log_err("main: %s", cause);
		free(cause);
		free(main_config_path);
		return 1;
	}
	/* A database the build cannot open is a configuration error, found
	 * by --check-config too, not a file name to create. */
	if (opt_database != NULL &&
	    store_backend_usable(opt_database, &cause) != 0) {
		fprintf(stderr, "followupd: --database: %s\n", cause);
		if (!check)
			log_err("main: --database: %s", cause);
		free(cause);
		config_free(main_cf);
		free(main_config_path);
		return 1;
	}
	if (check) {
		if (main_check_hooks(main_cf, 1) > 0) {
			config_free(main_cf);
			free(main_config_path);
			return 1;
		}
		printf("followupd: %s: ok\n", main_cf->path != NULL ?
		    main_cf->path : "no configuration file; defaults");
		config_free(main_cf);
		free(main_config_path);
		return 0;
	}
	if (opt_socket != NULL) {
		free(main_cf->socket);
		main_cf->socket = xstrdup(opt_socket);
	}
	if (opt_database != NULL) {
		free(main_cf->database);
		main_cf->database = xstrdup(opt_database);
	}
	if (config_default_paths(main_cf, &cause) != 0)
		fatalx("main: %s", cause);
	if (opt_migrate != NULL) {
		ch = main_migrate(main_cf->database, opt_migrate);
		config_free(main_cf);
		free(main_config_path);
		return ch;
	}
	log_init(main_cf->log, main_verbose);
	main_check_hooks(main_cf, 0);
	main_raise_nofile();
	main_tune_malloc();

	if ((evcfg = event_config_new()) == NULL)
		fatalx("main: event_config_new");
	event_config_set_flag(evcfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	if ((main_base = event_base_new_with_config(evcfg)) == NULL)
		fatalx("main: cannot start the event loop");
	event_config_free(evcfg);
	log_limit_init(main_base);

	/*
	 * Signals are watched before the socket exists: a client (or
	 * systemd) that sees the socket may send SIGHUP or SIGTERM at once,
	 * and must not meet the default action, which kills the daemon.  One
	 * that arrives while the database opens is handled when the loop
	 * starts.
	 */
	ev_term = evsignal_new(main_base, SIGTERM, main_stop_cb, NULL);
	ev_int = evsignal_new(main_base, SIGINT, main_stop_cb, NULL);
	ev_hup = evsignal_new(main_base, SIGHUP, main_reload_cb, NULL);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL ||
	    evsignal_add(ev_term, NULL) != 0 || evsignal_add(ev_int, NULL) != 0
	    || evsignal_add(ev_hup, NULL) != 0)
		fatalx("main: cannot watch signals");

	if ((main_store = store_open(main_cf->database, &cause)) == NULL) {
		log_err("main: %s", cause);
		free(cause);
		return 1;
	}
	commit_init(main_base, main_store, main_commit_cb, main_durable_cb,
	    NULL);
	conn_init(main_base, main_store, (const struct fu_config **)&main_cf);
	server_set_limits(main_cf->max_conns_per_user);
	if (server_listen(main_base, main_cf->socket, main_cf->socket_group,
	    main_cf->socket_private, 128, &cause) != 0) {
		log_err("main: %s", cause);
		free(cause);
		commit_free();
		store_close(main_store);
		return 1;
	}

	/* A server's database is shown without its password, if any. */
	shown = store_database_shown(main_cf->database);
	op_meta_init(time(NULL), shown, server_socket_path());
	op_backup_init(main_base, main_store);
	op_doctor_init(main_base);
	op_report_init(main_base, main_store);
	op_meta_heartbeat(main_base);
	hooks_init(main_base);
	outbox_init(main_store, (const struct fu_config **)&main_cf);
	op_meta_summary(main_base, main_store);
	sched_init(main_base, main_store, (const struct fu_config **)&main_cf);
	/* A server's database: requests wait on its lanes, not the loop. */
	lanes_start(main_base, main_store, MAIN_LANES, main_lanes_over_cb,
	    NULL);
	sdnotify_init(main_base);
	log_info("main: followupd %s ready: socket %s, database %s%s%s",
	    PACKAGE_VERSION, server_socket_path(), shown,
	    main_cf->path != NULL ? ", configuration " : "",
	    main_cf->path != NULL ? main_cf->path : "");
	free(shown);
	sdnotify_ready();

	event_base_dispatch(main_base);

	op_doctor_stop();
	op_report_stop();
	hooks_shutdown();
	outbox_deliver_flush();
	store_commit(main_store);
	conn_close_all();
	lanes_free();
	server_close();
	sched_free();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	sdnotify_free();
	commit_free();
	store_close(main_store);
	/* What the limiter held back is counted before the last line. */
	log_limit_flush();
	log_limit_init(NULL);
	op_meta_init(0, NULL, NULL);
	op_meta_heartbeat(NULL);
	op_meta_summary(NULL, NULL);
	op_meta_tz_clear();
	event_base_free(main_base);
	config_free(main_cf);
	free(main_config_path);
	log_info("main: stopped");
	return 0;
}
