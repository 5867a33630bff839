/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The PostgreSQL store: a team's database on a server that several
 * followupd share.  This part connects (any libpq URI or conninfo, with
 * libpq's environment, service file and passfile), makes or checks the
 * schema (store-pg-schema.sql), one daemon at a time under an advisory
 * lock, and keeps the transactions: the writes of one loop pass share one
 * transaction, each write in a savepoint of its own, and a reply waits
 * for the COMMIT.  Each open store names itself (host, process and a
 * random part), so the claims it takes on deliveries are its own.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store-pg-internal.h"

/* This store's schema version, and the SQL that makes it. */
#define STORE_PG_SCHEMA		3
static const char store_pg_schema[] =
#include "store-pg-schema.h"
    ;

/* The channel on which a node tells the others the schedule moved. */
#define STORE_PG_CHANNEL	"followup_schedule"
/* The payload of news that a rep's settings changed. */
#define STORE_PG_USERS_NEWS	"users"
/* A node row without a heartbeat for this long is forgotten at a start. */
#define STORE_PG_NODE_FORGET	(24 * 3600)

/* The advisory lock every start takes around the schema: "followup". */
#define STORE_PG_LOCK		"7378428986657236336"

/*
 * Connecting: how long one try may take (the conninfo's own
 * connect_timeout wins), and, after the server went away, the wait
 * before trying again, doubled at each failure up to the last.
 */
#define STORE_PG_CONNECT_TIMEOUT	"5"
#define STORE_PG_RETRY_MIN		1
#define STORE_PG_RETRY_MAX		30
/* ... and while only a standby answers, which may be promoted any time. */
#define STORE_PG_RETRY_STANDBY		4

static enum store_result store_pg_node_put(struct store_pg *);
static int	store_pg_exec(struct store_pg *, const char *, const char *,
		    char **);

/* libpq's message, without its trailing newline. Caller frees. */
static char *
store_pg_message(const char *msg)
{
	char	*s = xstrdup(msg != NULL && *msg != '\0' ? msg :
		    "no reason given");
	size_t	 len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	return s;
}

/*
 * What a failed statement means to the callers.  A lost connection or a
 * server shutting down is STORE_OFFLINE (nothing was written; the store
 * connects again by itself, store_pg_reachable); a lock or a conflict
 * between transactions is STORE_BUSY: try again.
 */
static enum store_result
store_pg_result_of(const struct store_pg *p, const PGresult *r)
{
	const char	*state = r != NULL ?
			    PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(p->conn) != CONNECTION_OK || state == NULL)
		return STORE_OFFLINE;
	if (strcmp(state, "23505") == 0)	/* unique_violation */
		return STORE_CONFLICT;
	if (strcmp(state, "53100") == 0)	/* disk_full */
		return STORE_FULL;
	if (strncmp(state, "08", 2) == 0 ||	/* connection exception */
	    strncmp(state, "57P", 3) == 0 ||	/* operator intervention */
	    strcmp(state, "25006") == 0)	/* a standby's read only */
		return STORE_OFFLINE;
	if (strcmp(state, "40001") == 0 ||	/* serialization_failure */
	    strcmp(state, "40P01") == 0 ||	/* deadlock_detected */
	    strcmp(state, "55P03") == 0)	/* lock_not_available */
		return STORE_BUSY;
	if (strncmp(state, "XX", 2) == 0)	/* internal, data_corrupted */
		return STORE_CORRUPT;
	return STORE_ERROR;
}

void
store_pg_params_init(struct store_pg_params *ps)
{
	ps->n = 0;
}

void
store_pg_param_text(struct store_pg_params *ps, const char *s)
{
	if (ps->n == STORE_PG_MAX_PARAMS)
		fatalx("store: too many parameters");
	ps->v[ps->n++] = s;
}

void
store_pg_param_int(struct store_pg_params *ps, int64_t n)
{
	if (ps->n == STORE_PG_MAX_PARAMS)
		fatalx("store: too many parameters");
	(void)snprintf(ps->num[ps->n], sizeof ps->num[ps->n], "%lld",
	    (long long)n);
	ps->v[ps->n] = ps->num[ps->n];
	ps->n++;
}

void
store_pg_param_null(struct store_pg_params *ps)
{
	store_pg_param_text(ps, NULL);
}

/* A time parameter: NULL when 0 (unset). */
void
store_pg_param_time(struct store_pg_params *ps, time_t t)
{
	if (t == 0)
		store_pg_param_null(ps);
	else
		store_pg_param_int(ps, t);
}

/*
 * How to connect to the database a conninfo names: later keywords win,
 * so the conninfo's own connect_timeout, if any.
 */
static const char *const store_pg_keys[] = { "connect_timeout", "dbname",
    NULL };
#define STORE_PG_VALS(conninfo)	{ STORE_PG_CONNECT_TIMEOUT, (conninfo), NULL }

/*
 * Does the server on conn serve reads only: a standby in recovery (a
 * failover not over yet), or one set read-only?  Both settings are sent
 * by the server at the start and again when they change (a promotion).
 */
static int
store_pg_reads_only(PGconn *conn)
{
	const char	*v;

	if ((v = PQparameterStatus(conn, "in_hot_standby")) != NULL &&
	    strcmp(v, "on") == 0)
		return 1;
	if ((v = PQparameterStatus(conn, "default_transaction_read_only")) !=
	    NULL && strcmp(v, "on") == 0)
		return 1;
	return 0;
}

/* Connect (waiting); the caller checks PQstatus. */
static PGconn *
store_pg_connect(const char *conninfo)
{
	const char *const	 vals[] = STORE_PG_VALS(conninfo);

	return PQconnectdbParams(store_pg_keys, vals, 1);
}

/*
 * Take this node's place on the connection: its row, with a heartbeat,
 * and the other nodes' news heard.  0, or -1 with *cause set.
 */
static int
store_pg_node_enter(struct store_pg *p, char **cause)
{
	if (store_pg_node_put(p) != STORE_OK) {
		xasprintf(cause, "cannot join the nodes of the PostgreSQL "
		    "database");
		return -1;
	}
	return store_pg_exec(p, "LISTEN " STORE_PG_CHANNEL, "listen for the "
	    "other nodes", cause);
}

/*
 * Set a connection up: a reply means the server has committed (whatever
 * the server's default); once this store is a node (a connection made
 * again), it takes its place among the nodes.  0, or -1 with *cause set.
 */
static int
store_pg_session(struct store_pg *p, char **cause)
{
	if (store_pg_exec(p, "SET synchronous_commit = on", "set up the "
	    "connection", cause) != 0)
		return -1;
	if (p->node == NULL || p->lane)
		return 0;
	return store_pg_node_enter(p, cause);
}

/*
 * The try to connect again failed (cause, or libpq's message on the
 * lost connection): wait longer before the next, and say so
 * (rate-limited).
 */
static void
store_pg_retry_later(struct store_pg *p, char *cause)
{
	struct timespec	 now;
	char		*msg;

	if (cause != NULL)
		msg = cause;
	else
		msg = store_pg_message(PQerrorMessage(p->conn));
	if (p->retry_wait == 0)
		p->retry_wait = STORE_PG_RETRY_MIN;
	else if ((p->retry_wait *= 2) > STORE_PG_RETRY_MAX)
		p->retry_wait = STORE_PG_RETRY_MAX;
	if (p->standby && p->retry_wait > STORE_PG_RETRY_STANDBY)
		p->retry_wait = STORE_PG_RETRY_STANDBY;
	clock_gettime(CLOCK_MONOTONIC, &now);
	p->retry_at = now.tv_sec + p->retry_wait;
	log_warnx_limited("store: cannot connect to PostgreSQL again", NULL,
	    "store: cannot connect to the PostgreSQL database again: %s; "
	    "next try in %d s", msg, p->retry_wait);
	free(msg);
}

/* How long a try to connect may take (s; 0: no limit), as libpq reads it. */
static int
store_pg_connect_limit(PGconn *conn)
{
	PQconninfoOption	*opts, *o;
	int			 limit = atoi(STORE_PG_CONNECT_TIMEOUT);

	if ((opts = PQconninfo(conn)) == NULL)
		return limit;
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "connect_timeout") == 0 &&
		    o->val != NULL) {
			limit = atoi(o->val);
			if (limit < 0)
				limit = 0;
			else if (limit == 1)
				limit = 2;	/* libpq's least */
		}
	}
	PQconninfoFree(opts);
	return limit;
}

/*
 * A try to connect again, on a thread of its own: the host name's
 * lookup, the connection (given up after connect_timeout), and the new
 * session's set-up (its node row, LISTEN) all wait there, never on the
 * loop.  The thread touches nothing of the store's: it works on copies,
 * and says it is done with a byte on its pipe, which the daemon watches
 * (store_pg_notify_fd).
 */
struct store_pg_try {
	pthread_t	 thread;
	int		 pipe[2];
	char		*conninfo;
	char		*node;
	char		*host;
	time_t		 started;
	PGconn		*conn;		/* done: the new session, or */
	char		*cause;		/* ... why there is none, */
	int		 standby;	/* ... a standby's (reads only) */
};

static void *
store_pg_try_run(void *arg)
{
	struct store_pg_try	*t = arg;
	struct store_pg		 s;
	struct timespec		 start, end;
	int			 limit;
	ssize_t			 n;

	memset(&s, 0, sizeof s);
	s.base.backend = &store_postgresql;
	s.node = t->node;
	s.host = t->host;
	s.started = t->started;
	s.conninfo = t->conninfo;
	clock_gettime(CLOCK_MONOTONIC, &start);
	s.conn = store_pg_connect(t->conninfo);
	if (s.conn == NULL)
		t->cause = xstrdup("out of memory");
	else if (PQstatus(s.conn) != CONNECTION_OK) {
		clock_gettime(CLOCK_MONOTONIC, &end);
		limit = store_pg_connect_limit(s.conn);
		if (limit > 0 && end.tv_sec - start.tv_sec >= limit)
			t->cause = xstrdup("no answer in time");
		else
			t->cause = store_pg_message(PQerrorMessage(s.conn));
	} else if (store_pg_reads_only(s.conn)) {
		/* No node works on it; the lanes may read from it. */
		t->standby = 1;
		t->cause = xstrdup("the server reached serves reads only (a "
		    "standby): requests that read are served from it, "
		    "writes and reminders wait for a server that writes");
	} else {
		/* A session half set up stays lost: the next try starts
		 * anew. */
		s.connecting = 1;
		if (store_pg_session(&s, &t->cause) == 0) {
			t->conn = s.conn;
			s.conn = NULL;
		}
	}
	if (s.conn != NULL)
		PQfinish(s.conn);
	do
		n = write(t->pipe[1], "", 1);
	while (n == -1 && errno == EINTR);
	return NULL;
}

/*
 * Free the try (its outcome too), once its thread has ended, or if it
 * never started.
 */
static void
store_pg_try_clear(struct store_pg_try *t)
{
	if (t->conn != NULL)
		PQfinish(t->conn);
	close(t->pipe[0]);
	close(t->pipe[1]);
	free(t->conninfo);
	free(t->node);
	free(t->host);
	free(t->cause);
	free(t);
}

/* Wait for the try's thread to end, and free it (its outcome too). */
static void
store_pg_try_free(struct store_pg_try *t)
{
	pthread_join(t->thread, NULL);
	store_pg_try_clear(t);
}

/*
 * Start a try to connect again, without waiting: on a thread of its own,
 * taken in by store_pg_connect_step once it is done (its pipe is ready;
 * the daemon watches it, store_pg_notify_fd) or a statement comes.
 */
static void
store_pg_connect_start(struct store_pg *p)
{
	struct store_pg_try	*t;

	t = xcalloc(1, sizeof *t);
	if (pipe2(t->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(t);
		store_pg_retry_later(p, xstrdup("cannot make a pipe"));
		return;
	}
	t->conninfo = xstrdup(p->conninfo);
	t->node = p->node != NULL ? xstrdup(p->node) : NULL;
	t->host = p->host != NULL ? xstrdup(p->host) : NULL;
	t->started = p->started;
	if (worker_thread_start(&t->thread, store_pg_try_run, t) != 0) {
		store_pg_try_clear(t);
		store_pg_retry_later(p, xstrdup("cannot start a thread"));
		return;
	}
	p->pending = t;
	p->pending_fd = t->pipe[0];
	p->session++;
}

/*
 * Take the try's outcome in, if it is done: the new connection, its
 * session set up as at the start, replaces the lost one.
 */
static void
store_pg_connect_step(struct store_pg *p)
{
	struct store_pg_try	*t = p->pending;
	struct timespec		 now;
	struct pollfd		 pfd;
	PGconn			*conn;
	char			*cause;

	pfd.fd = p->pending_fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return;		/* not yet: its watch comes back */
	p->pending = NULL;
	p->pending_fd = -1;
	p->session++;
	conn = t->conn;
	cause = t->cause;
	t->conn = NULL;
	t->cause = NULL;
	p->standby = t->standby;
	store_pg_try_free(t);
	if (conn == NULL) {
		store_pg_retry_later(p, cause);
		return;
	}
	free(cause);
	PQfinish(p->conn);
	p->conn = conn;
	p->beat_out = 0;
	p->lost = 0;
	__atomic_add_fetch(&p->ups, 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &now);
	log_info("store: connected to the PostgreSQL database again after "
	    "%lld s", (long long)(now.tv_sec - p->lost_at));
}

/*
 * A lane's connection, on the lane's thread: connect (again), waiting,
 * if there is none or it was lost, at most once a second, never inside
 * the lane's group (its writes are lost with the connection, and its
 * commit says so).  The loop only hands a lane requests while its own
 * connection is up, so a try seldom fails.
 */
static int
store_pg_lane_reachable(struct store_pg *p)
{
	struct timespec	 now;
	struct pollfd	 pfd;
	char		*cause = NULL;

	if (p->conn != NULL && PQstatus(p->conn) == CONNECTION_OK) {
		if (p->txn_open)
			return 1;
		/*
		 * Idle, a lane's connection hears nothing unless the server
		 * is closing it (it restarts, say, and says why first): then
		 * connect again now rather than fail this statement.
		 */
		pfd.fd = PQsocket(p->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) <= 0 &&
		    !(store_pg_reads_only(p->conn) &&
		    __atomic_load_n(p->main_ups, __ATOMIC_RELAXED) !=
		    p->ups_seen))
			return 1;
		/*
		 * Or it reads from a standby (the lane connected while its
		 * node could not) and its node has connected since: to a
		 * server that writes, which the lane takes too.
		 */
		p->retry_at = 0;
	}
	if (p->txn_open)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < p->retry_at)
		return 0;
	if (p->conn != NULL)
		PQfinish(p->conn);
	p->ups_seen = __atomic_load_n(p->main_ups, __ATOMIC_RELAXED);
	p->conn = store_pg_connect(p->conninfo);
	if (p->conn != NULL && PQstatus(p->conn) == CONNECTION_OK &&
	    store_pg_session(p, &cause) == 0)
		return 1;
	free(cause);
	p->retry_at = now.tv_sec + STORE_PG_RETRY_MIN;
	return 0;
}

/*
 * A lane of st: another connection of this node, for requests and the
 * schedule's work run on a thread beside the loop (see lanes.c).  It is
 * made here, on the loop, and connects on its thread at its first
 * statement.  It is no node of its own: it claims deliveries in its
 * node's name, but writes no heartbeat, hears no news, and leaves the
 * node's row and claims alone when it closes.
 */
static struct store *
store_pg_lane_new(struct store *st)
{
	struct store_pg	*main = STORE_PG(st), *p;

	p = xcalloc(1, sizeof *p);
	p->base.backend = &store_postgresql;
	p->conninfo = xstrdup(main->conninfo);
	p->database_id = xstrdup(main->database_id);
	p->schema = main->schema;
	p->lane = 1;
	p->main_ups = &main->ups;
	p->node = main->node != NULL ? xstrdup(main->node) : NULL;
	return (struct store *)(void *)p;
}

/*
 * Is the connection to the server up?  If it was lost (the server
 * restarted, failed over, or the network went), connect again: at most
 * one try per wait (STORE_PG_RETRY_MIN doubling up to STORE_PG_RETRY_MAX
 * seconds), never inside the pass's group (its writes are lost with the
 * connection, and its commit says so), and never waiting: the try goes
 * on as its socket allows, and set the new session up as at the start.
 * Until then every statement fails at once with STORE_OFFLINE.  A
 * reader's connection is its own: it only reports.
 */
int
store_pg_reachable(struct store_pg *p)
{
	struct timespec	 now;

	if (p->lane)
		return store_pg_lane_reachable(p);
	if (p->connecting)	/* setting the new session up */
		return PQstatus(p->conn) == CONNECTION_OK;
	if (!p->lost && PQstatus(p->conn) == CONNECTION_OK)
		return 1;
	if (p->stopped != NULL || p->txn_open)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!p->lost) {
		p->lost = 1;
		p->standby = 0;
		p->lost_at = now.tv_sec;
		p->retry_wait = 0;
		p->retry_at = now.tv_sec;
		p->session++;		/* its socket says nothing more */
		log_warnx("store: the connection to the PostgreSQL database "
		    "is lost; requests that need it fail until it is back");
	}
	if (p->pending == NULL) {
		if (now.tv_sec < p->retry_at)
			return 0;
		store_pg_connect_start(p);
	}
	if (p->pending != NULL)
		store_pg_connect_step(p);
	return !p->lost;
}

/*
 * The heartbeat sent without waiting (store_pg_node_beat): take its
 * answer in, waiting for it if wait is set (a statement is to follow on
 * the connection), else only as far as it has come.  A failed beat is
 * logged; the next statement finds a lost connection.
 */
void
store_pg_beat_result(struct store_pg *p, int wait)
{
	PGresult	*r;

	while (p->beat_out) {
		if (!wait && PQconsumeInput(p->conn) != 0 &&
		    PQisBusy(p->conn))
			return;
		if ((r = PQgetResult(p->conn)) == NULL) {
			p->beat_out = 0;
			break;
		}
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			log_warnx_limited("store: a PostgreSQL statement "
			    "failed", NULL, "store: the heartbeat failed: %s",
			    PQresultErrorMessage(r));
		PQclear(r);
	}
}

/*
 * Run sql with ps (NULL: none).  Return its result (caller clears), or
 * NULL with *r and the store's last result set and the error logged
 * (rate-limited).
 */
PGresult *
store_pg_query(struct store_pg *p, const char *sql,
    const struct store_pg_params *ps, enum store_result *r)
{
	PGresult	*res;

	if (p->stopped != NULL &&
	    __atomic_load_n(p->stopped, __ATOMIC_RELAXED)) {
		*r = p->last = STORE_ERROR;
		return NULL;
	}
	if (!store_pg_reachable(p)) {
		*r = p->last = STORE_OFFLINE;
		if (p->txn_open)
			p->txn_failed = 1;
		return NULL;
	}
	store_pg_beat_result(p, 1);
	res = PQexecParams(p->conn, sql, ps != NULL ? ps->n : 0, NULL,
	    ps != NULL ? ps->v : NULL, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK) {
		*r = STORE_OK;
		return res;
	}
	*r = p->last = store_pg_result_of(p, res);
	if (p->stopped != NULL) {
		/* Not logged from a thread: store_pg_reader_free logs it. */
		if (p->reader_error == NULL)
			p->reader_error = store_pg_message(
			    PQresultErrorMessage(res));
	} else if (*r != STORE_CONFLICT)
		log_warnx_limited("store: a PostgreSQL statement failed",
		    NULL, "store: a statement failed: %s",
		    PQresultErrorMessage(res));
	PQclear(res);
	/* A failed statement spoils the group: its commit reports it. */
	if (p->txn_open && PQtransactionStatus(p->conn) != PQTRANS_INTRANS)
		p->txn_failed = 1;
	return NULL;
}

/* Make room for len more bytes (and a NUL) in a. */
static void
store_pg_array_grow(struct store_pg_array *a, size_t len)
{
	if (a->len + len + 3 <= a->size)
		return;
	a->size = (a->len + len + 3) * 2;
	a->s = xreallocarray(a->s, a->size, 1);
}

/* Add the element s, as it is (a number, NULL, t or f), to a. */
void
store_pg_array_raw(struct store_pg_array *a, const char *s)
{
	size_t	len = strlen(s);

	store_pg_array_grow(a, len + 1);
	a->s[a->len] = a->len == 0 ? '{' : ',';
	a->len++;
	memcpy(a->s + a->len, s, len);
	a->len += len;
}

void
store_pg_array_int(struct store_pg_array *a, int64_t n)
{
	char	buf[24];

	snprintf(buf, sizeof buf, "%lld", (long long)n);
	store_pg_array_raw(a, buf);
}

/* Add the string s, quoted, to a; a NULL string as NULL. */
void
store_pg_array_text(struct store_pg_array *a, const char *s)
{
	if (s == NULL) {
		store_pg_array_raw(a, "NULL");
		return;
	}
	store_pg_array_grow(a, strlen(s) * 2 + 3);
	a->s[a->len] = a->len == 0 ? '{' : ',';
	a->len++;
	a->s[a->len++] = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			a->s[a->len++] = '\\';
		a->s[a->len++] = *s;
	}
	a->s[a->len++] = '"';
}

/* The literal a holds (kept in a until store_pg_array_free). */
const char *
store_pg_array_end(struct store_pg_array *a)
{
	store_pg_array_grow(a, 2);
	if (a->len == 0)
		a->s[a->len++] = '{';
	a->s[a->len] = '}';
	a->s[a->len + 1] = '\0';
	return a->s;
}

void
store_pg_array_free(struct store_pg_array *a)
{
	free(a->s);
	memset(a, 0, sizeof *a);
}

/* The n strings of v as a PostgreSQL array literal.  Caller frees. */
char *
store_pg_text_array(const char *const *v, int n)
{
	struct store_pg_array	 a;
	int			 i;

	memset(&a, 0, sizeof a);
	for (i = 0; i < n; i++)
		store_pg_array_text(&a, v[i]);
	store_pg_array_end(&a);
	return a.s;
}

/* The n numbers of v as a PostgreSQL array literal.  Caller frees. */
char *
store_pg_int_array(const int64_t *v, size_t n)
{
	struct store_pg_array	 a;
	size_t			 i;

	memset(&a, 0, sizeof a);
	for (i = 0; i < n; i++)
		store_pg_array_int(&a, v[i]);
	store_pg_array_end(&a);
	return a.s;
}

/* Run sql with the n ids as its $1 (a bigint[]), as store_pg_query. */
PGresult *
store_pg_query_ids(struct store_pg *p, const char *sql, const int64_t *ids,
    size_t n, enum store_result *r)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	char			*list;

	list = store_pg_int_array(ids, n);
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, list);
	res = store_pg_query(p, sql, &ps, r);
	free(list);
	return res;
}

/* Column col of row as a string, NULL for SQL NULL. Caller frees. */
char *
store_pg_col_text(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return xstrdup(PQgetvalue(res, row, col));
}

/* Column col of row as a number, dflt for SQL NULL. */
int64_t
store_pg_col_int(const PGresult *res, int row, int col, int64_t dflt)
{
	if (PQgetisnull(res, row, col))
		return dflt;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/*
 * Run a transaction-control statement; 0, or -1 with st->last set and
 * the error logged (rate-limited).
 */
static int
store_pg_control(struct store_pg *p, const char *sql, const char *tag)
{
	PGresult	*r;
	int		 rc = 0;

	if (!store_pg_reachable(p)) {
		p->last = STORE_OFFLINE;
		return -1;
	}
	store_pg_beat_result(p, 1);
	r = PQexec(p->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK ||
	    (tag != NULL && strcmp(PQcmdStatus(r), tag) != 0)) {
		p->last = PQresultStatus(r) == PGRES_COMMAND_OK ?
		    STORE_ERROR : store_pg_result_of(p, r);
		log_warnx_limited("store: a PostgreSQL statement failed",
		    NULL, "store: %s failed: %s", sql,
		    PQresultStatus(r) == PGRES_COMMAND_OK ?
		    "the transaction had failed" : PQresultErrorMessage(r));
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/* Run sql (no parameters); 0, or -1 with *cause set (caller frees). */
static int
store_pg_exec(struct store_pg *p, const char *sql, const char *what,
    char **cause)
{
	PGresult	*r;
	char		*msg;
	int		 rc = 0;

	r = PQexec(p->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK) {
		msg = store_pg_message(PQresultErrorMessage(r));
		xasprintf(cause, "cannot %s in the PostgreSQL database: %s",
		    what, msg);
		free(msg);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/* The schema version the database holds, 0 if none; -1 on error. */
static int
store_pg_version(struct store_pg *p, char **cause)
{
	PGresult	*r;
	char		*msg;
	int		 v = 0;

	r = PQexec(p->conn, "SELECT value FROM meta WHERE key = "
	    "'schema_version' AND to_regclass('meta') IS NOT NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		/* No meta table yet: an empty database. */
		if (strcmp(PQresultErrorField(r, PG_DIAG_SQLSTATE) != NULL ?
		    PQresultErrorField(r, PG_DIAG_SQLSTATE) : "", "42P01") ==
		    0) {
			PQclear(r);
			return 0;
		}
		msg = store_pg_message(PQresultErrorMessage(r));
		xasprintf(cause, "cannot read the schema version of the "
		    "PostgreSQL database: %s", msg);
		free(msg);
		PQclear(r);
		return -1;
	}
	if (PQntuples(r) == 1)
		v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* A value of the meta table, or NULL. Caller frees. */
static char *
store_pg_meta(struct store_pg *p, const char *key)
{
	const char	*params[1] = { key };
	PGresult	*r;
	char		*v = NULL;

	r = PQexecParams(p->conn, "SELECT value FROM meta WHERE key = $1", 1,
	    NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/*
 * Make the schema, or check the one there, under the advisory lock so
 * that daemons starting together do it once.  0, or -1 with *cause.
 */
static int
store_pg_migrate(struct store_pg *p, char **cause)
{
	char	*ignored = NULL;
	int	 v, rc = -1;

	if (store_pg_exec(p, "SELECT pg_advisory_lock(" STORE_PG_LOCK ")",
	    "take the schema lock", cause) != 0)
		return -1;
	/* A failed statement must not leave the lookup below aborted. */
	if ((v = store_pg_version(p, cause)) < 0)
		goto out;
	if (v > STORE_PG_SCHEMA) {
		xasprintf(cause, "the PostgreSQL database holds schema %d, "
		    "newer than this followupd's %d: upgrade followupd", v,
		    STORE_PG_SCHEMA);
		goto out;
	}
	if (v < STORE_PG_SCHEMA && store_pg_exec(p, store_pg_schema,
	    "create the schema", cause) != 0)
		goto out;
	p->schema = STORE_PG_SCHEMA;
	if ((p->database_id = store_pg_meta(p, "database_id")) == NULL) {
		xasprintf(cause, "cannot read the identity of the PostgreSQL "
		    "database");
		goto out;
	}
	rc = 0;
out:
	(void)store_pg_exec(p, "SELECT pg_advisory_unlock(" STORE_PG_LOCK
	    ")", "release the schema lock", &ignored);
	free(ignored);
	return rc;
}

static int	store_pg_commit(struct store *);
static enum store_result store_pg_write_begin(struct store *);
static void	store_pg_write_end(struct store *, int);

/*
 * This store's name among the nodes sharing the database: the host, the
 * process and a random part, so that a restarted daemon (a new process,
 * maybe the same pid) never takes itself for the one before.
 */
static char *
store_pg_node_name(struct store_pg *p)
{
	char		 host[256], *name;
	unsigned char	 rnd[4];

	if (gethostname(host, sizeof host) != 0)
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	if (getentropy(rnd, sizeof rnd) != 0)
		fatal("store: getentropy");
	xasprintf(&name, "%s:%ld:%02x%02x%02x%02x", host, (long)getpid(),
	    rnd[0], rnd[1], rnd[2], rnd[3]);
	p->host = xstrdup(host);
	return name;
}

/*
 * The statement that writes this node's row with its heartbeat at the
 * server's now, and how far this node's clock is from the server's
 * (making the row if it is not there: a start, or a row forgotten while
 * the node was stopped), and its parameters.
 */
#define STORE_PG_NODE_PUT "INSERT INTO nodes (name, host, pid, " \
	"version, started_at, heartbeat_at, clock_offset_ms) VALUES ($1, " \
	"$2, $3, $4, $5, " STORE_PG_NOW ", $6::bigint - floor(extract(" \
	"epoch FROM statement_timestamp()) * 1000)::bigint) " \
	"ON CONFLICT (name) DO UPDATE SET heartbeat_at = " \
	"excluded.heartbeat_at, clock_offset_ms = excluded.clock_offset_ms"

static void
store_pg_node_params(struct store_pg *p, struct store_pg_params *ps)
{
	struct timespec	now;

	clock_gettime(CLOCK_REALTIME, &now);
	store_pg_params_init(ps);
	store_pg_param_text(ps, p->node);
	store_pg_param_text(ps, p->host);
	store_pg_param_int(ps, (int64_t)getpid());
	store_pg_param_text(ps, PACKAGE_VERSION);
	store_pg_param_int(ps, p->started);
	store_pg_param_int(ps, (int64_t)now.tv_sec * 1000 +
	    now.tv_nsec / 1000000);
}

/* Write this node's row, with a heartbeat. */
static enum store_result
store_pg_node_put(struct store_pg *p)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	store_pg_node_params(p, &ps);
	res = store_pg_query(p, STORE_PG_NODE_PUT, &ps, &r);
	PQclear(res);
	return res != NULL ? STORE_OK : r;
}

/*
 * Beat: write the heartbeat that keeps this node live (and its claims
 * its own).  In the pass's group if one is open, in a savepoint so a
 * failure spoils nothing else; the beat alone tells the others nothing.
 */
static enum store_result
store_pg_node_beat(struct store *st)
{
	struct store_pg		*p = STORE_PG(st);
	struct store_pg_params	 ps;
	enum store_result	 r;
	int			 notify = p->notify;

	if (p->txn_open) {
		if ((r = store_pg_write_begin(st)) != STORE_OK)
			return r;
		r = store_pg_node_put(p);
		store_pg_write_end(st, r == STORE_OK);
		p->notify = notify;
		return r;
	}
	/*
	 * Outside a group, the beat is sent without waiting for its
	 * answer, which the news's watch takes in (store_pg_beat_result):
	 * a link far from the server holds the loop for no beat.
	 */
	if (!store_pg_reachable(p)) {
		p->last = STORE_OFFLINE;
		return STORE_OFFLINE;
	}
	store_pg_beat_result(p, 1);	/* the last one's, if still out */
	store_pg_node_params(p, &ps);
	if (PQsendQueryParams(p->conn, STORE_PG_NODE_PUT, ps.n, NULL, ps.v,
	    NULL, NULL, 0) == 0) {
		log_warnx_limited("store: a PostgreSQL statement failed", NULL,
		    "store: cannot send the heartbeat: %s",
		    PQerrorMessage(p->conn));
		return p->last = PQstatus(p->conn) == CONNECTION_OK ?
		    STORE_ERROR : STORE_OFFLINE;
	}
	p->beat_out = 1;
	return STORE_OK;
}

/* The live nodes, by name, to cb until it returns non-zero. */
static enum store_result
store_pg_node_live(struct store *st, store_node_cb cb, void *arg)
{
	struct store_pg_params	 ps;
	struct store_node	 n;
	PGresult		*res;
	enum store_result	 r;
	int			 i;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, STORE_PG_NODE_STALE);
	if ((res = store_pg_query(STORE_PG(st), "SELECT name, host, pid, "
	    "version, started_at, heartbeat_at, clock_offset_ms FROM nodes "
	    "WHERE heartbeat_at > " STORE_PG_NOW " - $1 "
	    "ORDER BY name COLLATE \"C\"", &ps,
	    &r)) == NULL)
		return r;
	for (i = 0; i < PQntuples(res); i++) {
		n.name = PQgetvalue(res, i, 0);
		n.host = PQgetvalue(res, i, 1);
		n.pid = store_pg_col_int(res, i, 2, 0);
		n.version = PQgetvalue(res, i, 3);
		n.started_at = (time_t)store_pg_col_int(res, i, 4, 0);
		n.heartbeat_at = (time_t)store_pg_col_int(res, i, 5, 0);
		n.clock_offset_ms = store_pg_col_int(res, i, 6, 0);
		if (cb(&n, arg) != 0)
			break;
	}
	PQclear(res);
	return STORE_OK;
}

static const char *
store_pg_server_version(struct store *st)
{
	const char	*v = PQparameterStatus(STORE_PG(st)->conn,
			    "server_version");

	return v != NULL ? v : "unknown";
}

static int
store_pg_notify_fd(struct store *st, unsigned *session,
    enum store_watch *how)
{
	struct store_pg	*p = STORE_PG(st);

	*session = p->session;
	*how = STORE_WATCH_NEWS;
	if (p->pending != NULL) {
		*how = STORE_WATCH_CONNECT_READ;
		return p->pending_fd;
	}
	return p->lost ? -1 : PQsocket(p->conn);
}

/*
 * Read what the server sent without waiting (libpq's socket never
 * blocks a read), and count the notifications other nodes sent: this
 * node's own come back to it too, and say nothing new.  -1 when the
 * connection is gone: its socket says nothing more worth watching.
 */
static int
store_pg_notify_drain(struct store *st)
{
	struct store_pg	*p = STORE_PG(st);
	PGnotify	*nt;
	int		 n = 0, self = PQbackendPID(p->conn);

	if (p->pending != NULL) {
		/* A try to connect again: its next step. */
		(void)store_pg_reachable(p);
		return 0;
	}
	if (p->lost)
		return -1;	/* until the next try */
	if (PQstatus(p->conn) != CONNECTION_OK ||
	    (PQconsumeInput(p->conn) == 0 &&
	    PQstatus(p->conn) != CONNECTION_OK)) {
		/* Gone: try again now (not inside the pass's group). */
		(void)store_pg_reachable(p);
		return p->pending != NULL ||
		    (!p->lost && PQstatus(p->conn) == CONNECTION_OK) ? 0 : -1;
	}
	store_pg_beat_result(p, 0);
	while ((nt = PQnotifies(p->conn)) != NULL) {
		if (nt->be_pid != self)
			n++;
		if (nt->extra != NULL &&
		    strcmp(nt->extra, STORE_PG_USERS_NEWS) == 0)
			__atomic_add_fetch(&p->users_news, 1, __ATOMIC_RELAXED);
		PQfreemem(nt);
	}
	return n;
}

/* How many times a rep's settings changed, as the news told. */
static uint64_t
store_pg_users_news(struct store *st)
{
	return __atomic_load_n(&STORE_PG(st)->users_news, __ATOMIC_RELAXED);
}

/*
 * Lost, since when and till the next try (0: under way), on the wall
 * clock: the store counts them on the monotonic one.
 */
static int
store_pg_offline(struct store *st, time_t *since, time_t *next_try)
{
	struct store_pg	*p = STORE_PG(st);
	struct timespec	 mono;
	time_t		 now = time(NULL);

	(void)store_pg_reachable(p);	/* finds a loss no one met yet */
	if (!p->lost)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	*since = now - (mono.tv_sec - p->lost_at);
	*next_try = p->pending != NULL ? 0 : now + (p->retry_at > mono.tv_sec ?
	    p->retry_at - mono.tv_sec : 0);
	return 1;
}

/*
 * Lost, but the last try met a server that serves reads only (a standby
 * in recovery): requests that only read may still run on the lanes.
 */
static int
store_pg_standby(struct store *st)
{
	struct store_pg	*p = STORE_PG(st);

	return p->lost && p->standby;
}

/* Stop being a node: the others need not wait for our heartbeat. */
static void
store_pg_node_remove(struct store_pg *p)
{
	const char	*params[1] = { p->node };
	PGresult	*r;

	if (p->node == NULL || p->lane || p->conn == NULL ||
	    PQstatus(p->conn) != CONNECTION_OK ||
	    PQtransactionStatus(p->conn) != PQTRANS_IDLE)
		return;
	r = PQexecParams(p->conn, "DELETE FROM nodes WHERE name = $1", 1,
	    NULL, params, NULL, NULL, 0);
	PQclear(r);
}

/*
 * Join the nodes: forget long-dead ones, write our row, and listen for
 * the others' news.  0, or -1 with *cause set.
 */
static int
store_pg_node_join(struct store_pg *p, char **cause)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	p->started = time(NULL);
	p->node = store_pg_node_name(p);
	store_pg_params_init(&ps);
	store_pg_param_int(&ps, STORE_PG_NODE_FORGET);
	res = store_pg_query(p, "DELETE FROM nodes WHERE heartbeat_at < "
	    STORE_PG_NOW " - $1", &ps, &r);
	PQclear(res);
	if (res == NULL) {
		xasprintf(cause, "cannot join the nodes of the PostgreSQL "
		    "database");
		return -1;
	}
	return store_pg_node_enter(p, cause);
}

/*
 * Give up this node's claims on deliveries it did not start (they were
 * due, but a channel was at its cap): on a clean stop the next daemon
 * need not wait for their lease.
 */
static void
store_pg_release_claims(struct store_pg *p)
{
	const char	*params[1] = { p->node };
	PGresult	*r;

	if (p->node == NULL || p->lane || p->conn == NULL ||
	    PQstatus(p->conn) != CONNECTION_OK ||
	    PQtransactionStatus(p->conn) != PQTRANS_IDLE)
		return;
	r = PQexecParams(p->conn, "UPDATE deliveries SET claimed_by = NULL, "
	    "lease_until = NULL WHERE claimed_by = $1", 1, NULL, params, NULL,
	    NULL, 0);
	PQclear(r);
}

static void
store_pg_close(struct store *st)
{
	struct store_pg	*p = (struct store_pg *)(void *)st;

	if (p == NULL)
		return;
	if (p->txn_open)
		(void)store_pg_commit(st);
	if (p->conn != NULL)
		store_pg_beat_result(p, 1);
	store_pg_release_claims(p);
	store_pg_node_remove(p);
	if (p->pending != NULL)
		store_pg_try_free(p->pending);
	if (p->conn != NULL)
		PQfinish(p->conn);
	free(p->database_id);
	free(p->node);
	free(p->host);
	free(p->conninfo);
	free(p->reader_error);
	free(p);
}

static struct store *
store_pg_open(const char *database, char **cause)
{
	struct store_pg	*p;
	char		*msg;

	p = xcalloc(1, sizeof *p);
	p->base.backend = &store_postgresql;
	p->conninfo = xstrdup(database);
	/* The string is never echoed: a URL may hold a password. */
	p->conn = store_pg_connect(database);
	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
		msg = store_pg_message(p->conn != NULL ?
		    PQerrorMessage(p->conn) : "out of memory");
		xasprintf(cause, "cannot connect to the PostgreSQL database: "
		    "%s", msg);
		free(msg);
		goto fail;
	}
	/* Not a node yet: the session's set-up, then the schema, then the
	 * node's place. */
	if (store_pg_session(p, cause) != 0 || store_pg_migrate(p, cause) != 0 ||
	    store_pg_node_join(p, cause) != 0)
		goto fail;
	return (struct store *)(void *)p;
fail:
	store_pg_close((struct store *)(void *)p);
	return NULL;
}

static void
store_pg_set_driver(struct store *st, const struct store_driver *driver,
    store_commit_cb cb, void *arg)
{
	struct store_pg	*p = STORE_PG(st);

	p->driver = driver;
	p->commit_cb = cb;
	p->commit_arg = arg;
}

/*
 * The reads of a pass need no shared transaction here: PostgreSQL takes
 * no lock for a read, and each statement sees a consistent snapshot.
 */
static void
store_pg_read_begin(struct store *st)
{
	(void)st;
}

/*
 * Start one write: join the pass's group transaction (opening it if none
 * is) and set a savepoint.  Must be paired with store_pg_write_end.
 * Each is one round trip to the server: the BEGIN goes with the first
 * savepoint, and the last write's release with the next savepoint.
 */
static enum store_result
store_pg_write_begin(struct store *st)
{
	struct store_pg	*p = STORE_PG(st);
	const char	*sql = "SAVEPOINT w";

	if (!p->txn_open) {
		if (store_pg_control(p, "BEGIN; SAVEPOINT w", NULL) != 0) {
			/* The BEGIN may have gone through alone. */
			if (PQstatus(p->conn) == CONNECTION_OK &&
			    PQtransactionStatus(p->conn) != PQTRANS_IDLE)
				(void)store_pg_control(p, "ROLLBACK", NULL);
			return p->last != STORE_OK ? p->last : STORE_ERROR;
		}
		p->txn_open = 1;
		p->txn_failed = 0;
		p->txn_release = 0;
		p->notify = 1;
		p->notify_users = 0;
		if (p->driver != NULL)
			p->driver->pass(p->driver->arg);
		return STORE_OK;
	}
	if (p->txn_release)
		sql = "RELEASE SAVEPOINT w; SAVEPOINT w";
	p->txn_release = 0;
	if (p->txn_failed || store_pg_control(p, sql, NULL) != 0) {
		p->txn_failed = 1;
		return p->last != STORE_OK ? p->last : STORE_ERROR;
	}
	p->notify = 1;
	return STORE_OK;
}

/*
 * End one write: keep it if ok (its savepoint is released with the next
 * statement, or by the COMMIT), else undo it alone.  If the transaction
 * itself failed (the connection went, say), mark the group failed so its
 * commit reports every write of it lost.
 */
static void
store_pg_write_end(struct store *st, int ok)
{
	struct store_pg	*p = STORE_PG(st);

	if (p->txn_failed)
		return;
	if (!ok && store_pg_control(p, "ROLLBACK TO SAVEPOINT w; "
	    "RELEASE SAVEPOINT w", NULL) != 0)
		p->txn_failed = 1;
	if (ok)
		p->txn_release = 1;
	if (PQtransactionStatus(p->conn) != PQTRANS_INTRANS)
		p->txn_failed = 1;
}

static int
store_pg_in_txn(struct store *st)
{
	return STORE_PG(st)->txn_open;
}

/*
 * Commit the group transaction, if one is open, and call the commit
 * callback with the outcome.  Return 0 if the server committed it (or
 * nothing was open), -1 if its writes were lost.  A COMMIT of a failed
 * transaction answers ROLLBACK: that is a loss too.
 */
static int
store_pg_commit(struct store *st)
{
	struct store_pg	*p = STORE_PG(st);
	int		 ok = 1;

	if (!p->txn_open)
		return 0;
	/*
	 * Tell the other nodes to look at the schedule again: the server
	 * delivers a NOTIFY only once the transaction commits, and folds
	 * the same one sent twice in a transaction into one.  A change of
	 * a rep's settings says so, for the nodes that keep them in memory.
	 * One round trip: the NOTIFY goes with the COMMIT, which answers
	 * ROLLBACK if anything failed.
	 */
	if (p->txn_failed)
		ok = 0;
	else if (store_pg_control(p, !p->notify ? "COMMIT" :
	    p->notify_users ? "NOTIFY " STORE_PG_CHANNEL ", '"
	    STORE_PG_USERS_NEWS "'; COMMIT" :
	    "NOTIFY " STORE_PG_CHANNEL "; COMMIT", "COMMIT") != 0)
		ok = 0;
	if (!ok && PQstatus(p->conn) == CONNECTION_OK &&
	    PQtransactionStatus(p->conn) != PQTRANS_IDLE)
		(void)store_pg_control(p, "ROLLBACK", NULL);
	p->txn_open = 0;
	p->txn_failed = 0;
	p->txn_release = 0;
	if (p->commit_cb != NULL)
		p->commit_cb(ok, p->commit_arg);
	return ok ? 0 : -1;
}

/* The server keeps its own files in shape: nothing to do at rest. */
static enum store_result
store_pg_checkpoint(struct store *st)
{
	(void)st;
	return STORE_OK;
}

static void
store_pg_idle(struct store *st)
{
	(void)st;
}

static enum store_result
store_pg_last_result(struct store *st)
{
	return STORE_PG(st)->last;
}

static const char *
store_pg_id(struct store *st)
{
	return STORE_PG(st)->database_id;
}

static int
store_pg_schema_version(struct store *st)
{
	return STORE_PG(st)->schema;
}

/*
 * A reader: the database seen from a thread beside the loop, through a
 * connection of its own in one read-only REPEATABLE READ transaction, so
 * all it reads comes from one snapshot however long it reads.
 * store_pg_reader_new and store_pg_reader_free run on the loop;
 * store_pg_reader_open and the reads on the thread; store_pg_reader_stop
 * from anywhere (it cancels the statement running, and the store refuses
 * any after it).
 */
struct store_reader {
	struct store_base base;		/* first: the backend's table */
	char		*conninfo;
	pthread_mutex_t	 lock;		/* guards rd and stopped */
	struct store_pg	*rd;		/* once open */
	int		 stopped;
};

static struct store_reader *
store_pg_reader_new(struct store *st)
{
	struct store_reader	*r;

	r = xcalloc(1, sizeof *r);
	r->base.backend = &store_postgresql;
	r->conninfo = xstrdup(STORE_PG(st)->conninfo);
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		fatalx("store: pthread_mutex_init");
	return r;
}

static struct store *
store_pg_reader_open(struct store_reader *r, char **cause)
{
	struct store_pg	*rd;
	char		*msg;

	rd = xcalloc(1, sizeof *rd);
	rd->base.backend = &store_postgresql;
	rd->stopped = &r->stopped;
	rd->conn = store_pg_connect(r->conninfo);
	if (rd->conn == NULL || PQstatus(rd->conn) != CONNECTION_OK) {
		msg = store_pg_message(rd->conn != NULL ?
		    PQerrorMessage(rd->conn) : "out of memory");
		xasprintf(cause, "cannot connect to the PostgreSQL database "
		    "to read it: %s", msg);
		free(msg);
		goto fail;
	}
	if (store_pg_exec(rd, "BEGIN ISOLATION LEVEL REPEATABLE READ READ "
	    "ONLY", "begin a snapshot", cause) != 0)
		goto fail;
	pthread_mutex_lock(&r->lock);
	if (r->stopped) {
		pthread_mutex_unlock(&r->lock);
		xasprintf(cause, "stopped");
		goto fail;
	}
	r->rd = rd;
	pthread_mutex_unlock(&r->lock);
	return (struct store *)(void *)rd;
fail:
	store_pg_close((struct store *)(void *)rd);
	return NULL;
}

static void
store_pg_reader_stop(struct store_reader *r)
{
	PGcancel	*cancel;
	char		 err[256];

	pthread_mutex_lock(&r->lock);
	__atomic_store_n(&r->stopped, 1, __ATOMIC_RELAXED);
	if (r->rd != NULL &&
	    (cancel = PQgetCancel(r->rd->conn)) != NULL) {
		(void)PQcancel(cancel, err, sizeof err);
		PQfreeCancel(cancel);
	}
	pthread_mutex_unlock(&r->lock);
}

static void
store_pg_reader_free(struct store_reader *r)
{
	if (r->rd != NULL) {
		if (r->rd->reader_error != NULL && !r->stopped)
			log_warnx("store: %s", r->rd->reader_error);
		store_pg_close((struct store *)(void *)r->rd);
	}
	pthread_mutex_destroy(&r->lock);
	free(r->conninfo);
	free(r);
}

const struct store_reader_backend store_pg_reader = {
	.new = store_pg_reader_new,
	.open = store_pg_reader_open,
	.stop = store_pg_reader_stop,
	.free = store_pg_reader_free,
};

const struct store_txn_backend store_pg_txn = {
	.open = store_pg_open,
	.close = store_pg_close,
	.set_driver = store_pg_set_driver,
	.read_begin = store_pg_read_begin,
	.write_begin = store_pg_write_begin,
	.write_end = store_pg_write_end,
	.in_txn = store_pg_in_txn,
	.commit = store_pg_commit,
	.checkpoint = store_pg_checkpoint,
	.idle = store_pg_idle,
	.last_result = store_pg_last_result,
	.id = store_pg_id,
	.schema_version = store_pg_schema_version,
	.lane_new = store_pg_lane_new,
};

/*
 * The server copies and checks its own files: pg_dump makes a team's
 * backups, and the daemon has no check of its own to run (doctor says it
 * was skipped).
 */
const struct store_maint_backend store_pg_maint = {
	.backup_refusal = "this database is PostgreSQL; back it up with "
	    "pg_dump",
};

const struct store_node_backend store_pg_node = {
	.beat = store_pg_node_beat,
	.live = store_pg_node_live,
	.server_version = store_pg_server_version,
	.notify_fd = store_pg_notify_fd,
	.notify_drain = store_pg_notify_drain,
	.offline = store_pg_offline,
	.users_news = store_pg_users_news,
	.standby = store_pg_standby,
};

const struct store_backend store_postgresql = {
	.name = "postgresql",
	.txn = &store_pg_txn,
	.user = &store_pg_user,
	.contact = &store_pg_contact,
	.followup = &store_pg_followup,
	.report = &store_pg_report,
	.reader = &store_pg_reader,
	.interaction = &store_pg_interaction,
	.promise = &store_pg_promise,
	.outbox = &store_pg_outbox,
	.maint = &store_pg_maint,
	.node = &store_pg_node,
};
