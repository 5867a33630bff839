/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The load generator of the benchmarks.
 *
 *   fu-bench proto --socket PATH --conns N --window W --seconds T --request LINE
 *
 * opens N connections and keeps W requests outstanding on each (W = 1:
 * one at a time) for T seconds, timing every round trip; prints requests
 * per second, latency p50/p99 in microseconds and the error replies.
 *
 *   fu-bench sqlite --db PATH --rows N --batch B
 *
 * inserts N follow-up-shaped rows into SQLite alone (WAL,
 * synchronous=FULL), committing every B rows; prints rows per second.
 * B = 1 is one durable commit per insert; B = 1000 is the ceiling that
 * group commit aims at.
 *
 * It prints figures only; nothing here passes or fails on speed.
 */

#include <config.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sqlite3.h>

#define BENCH_MAX_CONNS		1024
#define BENCH_MAX_WINDOW	1024

struct bench_conn {
	struct bufferevent	*bev;
	double			 sent[BENCH_MAX_WINDOW];	/* ring of times */
	int			 head;
	int			 outstanding;
};

static struct event_base	*bench_base;
static const char		*bench_line;
static size_t			 bench_line_len;
static int			 bench_window = 1;
static int			 bench_stopping;
static double			*bench_lat;
static size_t			 bench_nlat, bench_caplat;
static unsigned long		 bench_errors;
static unsigned long		 bench_broken;

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
bench_send(struct bench_conn *c)
{
	int	slot = (c->head + c->outstanding) % BENCH_MAX_WINDOW;

	c->sent[slot] = now_s();
	c->outstanding++;
	bufferevent_write(c->bev, bench_line, bench_line_len);
}

static void
bench_record(double lat)
{
	if (bench_nlat == bench_caplat) {
		bench_caplat = bench_caplat ? bench_caplat * 2 : 1 << 20;
		bench_lat = realloc(bench_lat, bench_caplat * sizeof *bench_lat);
		if (bench_lat == NULL) {
			fprintf(stderr, "fu-bench: out of memory\n");
			exit(1);
		}
	}
	bench_lat[bench_nlat++] = lat;
}

static void
bench_read_cb(struct bufferevent *bev, void *arg)
{
	struct bench_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	char			*line;
	size_t			 len;
	double			 t = now_s();

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (c->outstanding == 0) {
			bench_broken++;
			free(line);
			continue;
		}
		if (len == 0 || line[0] != '{' || line[len - 1] != '}')
			bench_broken++;
		else if (strstr(line, "\"ok\":false") != NULL)
			bench_errors++;
		bench_record(t - c->sent[c->head]);
		c->head = (c->head + 1) % BENCH_MAX_WINDOW;
		c->outstanding--;
		free(line);
		if (!bench_stopping)
			bench_send(c);
	}
}

static void
bench_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		fprintf(stderr, "fu-bench: a connection closed\n");
		exit(1);
	}
}

static void
bench_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	bench_stopping = 1;
	event_base_loopexit(bench_base, NULL);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
bench_proto(const char *path, int conns, int window, double seconds,
    const char *request)
{
	struct bench_conn	*cs;
	struct sockaddr_un	 sun;
	struct event		*stop;
	struct timeval		 tv;
	double			 start, elapsed;
	char			*line;
	int			 i, j, fd;

	if (conns < 1 || conns > BENCH_MAX_CONNS || window < 1 ||
	    window > BENCH_MAX_WINDOW) {
		fprintf(stderr, "fu-bench: conns 1-%d, window 1-%d\n",
		    BENCH_MAX_CONNS, BENCH_MAX_WINDOW);
		return 2;
	}
	if (asprintf(&line, "%s\n", request) < 0)
		return 1;
	bench_line = line;
	bench_line_len = strlen(line);
	bench_window = window;
	bench_base = event_base_new();
	cs = calloc(conns, sizeof *cs);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	for (i = 0; i < conns; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun,
		    sizeof sun) != 0) {
			fprintf(stderr, "fu-bench: connect %s: %s\n", path,
			    strerror(errno));
			return 1;
		}
		evutil_make_socket_nonblocking(fd);
		cs[i].bev = bufferevent_socket_new(bench_base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(cs[i].bev, bench_read_cb, NULL,
		    bench_event_cb, &cs[i]);
		bufferevent_enable(cs[i].bev, EV_READ | EV_WRITE);
	}
	stop = evtimer_new(bench_base, bench_stop_cb, NULL);
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - tv.tv_sec) * 1e6);
	evtimer_add(stop, &tv);
	start = now_s();
	for (i = 0; i < conns; i++) {
		for (j = 0; j < window; j++)
			bench_send(&cs[i]);
	}
	event_base_dispatch(bench_base);
	elapsed = now_s() - start;

	qsort(bench_lat, bench_nlat, sizeof *bench_lat, cmp_double);
	printf("requests %zu seconds %.3f rps %.0f p50_us %.1f p99_us %.1f "
	    "errors %lu broken %lu\n", bench_nlat, elapsed,
	    bench_nlat / elapsed,
	    bench_nlat ? bench_lat[bench_nlat / 2] * 1e6 : 0.0,
	    bench_nlat ? bench_lat[(size_t)(bench_nlat * 0.99)] * 1e6 : 0.0,
	    bench_errors, bench_broken);
	for (i = 0; i < conns; i++)
		bufferevent_free(cs[i].bev);
	free(cs);
	event_free(stop);
	event_base_free(bench_base);
	free(bench_lat);
	free(line);
	return bench_broken == 0 ? 0 : 1;
}

static int
bench_exec(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "fu-bench: %s: %s\n", sql, err);
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int
bench_sqlite(const char *path, long rows, long batch)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	double		 start, elapsed;
	long		 i;
	time_t		 t = time(NULL);

	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    bench_exec(db, "PRAGMA journal_mode = WAL") != 0 ||
	    bench_exec(db, "PRAGMA synchronous = FULL") != 0 ||
	    bench_exec(db, "CREATE TABLE followups (id INTEGER PRIMARY KEY, "
	    "contact_id INTEGER NOT NULL, owner TEXT NOT NULL, kind TEXT NOT "
	    "NULL, status TEXT NOT NULL DEFAULT 'pending', due_at INTEGER NOT "
	    "NULL, reason TEXT, remind_at INTEGER NOT NULL, created_at "
	    "INTEGER NOT NULL, updated_at INTEGER NOT NULL, notice_at "
	    "INTEGER)") != 0 ||
	    bench_exec(db, "CREATE INDEX f_owner ON followups (owner, status, "
	    "due_at)") != 0)
		return 1;
	sqlite3_prepare_v2(db, "INSERT INTO followups (contact_id, owner, "
	    "kind, due_at, reason, remind_at, created_at, updated_at, "
	    "notice_at) VALUES (1, 'bench', 'followup', ?1, 'bench', ?2, ?3, "
	    "?3, ?1)", -1, &s, NULL);
	start = now_s();
	for (i = 0; i < rows; i++) {
		if (i % batch == 0 && bench_exec(db, "BEGIN") != 0)
			return 1;
		sqlite3_bind_int64(s, 1, t + 86400 + i);
		sqlite3_bind_int64(s, 2, t + 86400 + i - 900);
		sqlite3_bind_int64(s, 3, t);
		if (sqlite3_step(s) != SQLITE_DONE) {
			fprintf(stderr, "fu-bench: insert: %s\n",
			    sqlite3_errmsg(db));
			return 1;
		}
		sqlite3_reset(s);
		if ((i + 1) % batch == 0 || i + 1 == rows) {
			if (bench_exec(db, "COMMIT") != 0)
				return 1;
		}
	}
	elapsed = now_s() - start;
	printf("rows %ld batch %ld seconds %.3f rows_per_s %.0f\n", rows, batch,
	    elapsed, rows / elapsed);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fu-bench proto --socket PATH [--conns N] "
	    "[--window W] [--seconds T] --request LINE\n"
	    "       fu-bench sqlite --db PATH [--rows N] [--batch B]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "conns",	required_argument,	NULL, 'c' },
		{ "window",	required_argument,	NULL, 'w' },
		{ "seconds",	required_argument,	NULL, 't' },
		{ "request",	required_argument,	NULL, 'r' },
		{ "db",		required_argument,	NULL, 'd' },
		{ "rows",	required_argument,	NULL, 'n' },
		{ "batch",	required_argument,	NULL, 'b' },
		{ NULL,		0,			NULL, 0 }
	};
	const char	*mode, *sock = NULL, *req = NULL, *db = NULL;
	double		 seconds = 3;
	long		 rows = 10000, batch = 1;
	int		 ch, conns = 1, window = 1;

	if (argc < 2)
		usage();
	mode = argv[1];
	argc--;
	argv++;
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'r':
			req = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'n':
			rows = atol(optarg);
			break;
		case 'b':
			batch = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (strcmp(mode, "proto") == 0 && sock != NULL && req != NULL)
		return bench_proto(sock, conns, window, seconds, req);
	if (strcmp(mode, "sqlite") == 0 && db != NULL && rows > 0 && batch > 0)
		return bench_sqlite(db, rows, batch);
	usage();
	return 2;
}
