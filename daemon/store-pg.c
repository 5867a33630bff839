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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-pg-internal.h"

/* This store's schema version, and the SQL that makes it. */
#define STORE_PG_SCHEMA		1
static const char store_pg_schema[] =
#include "store-pg-schema.h"
    ;

/* The advisory lock every start takes around the schema: "followup". */
#define STORE_PG_LOCK		"7378428986657236336"

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
 * server shutting down is STORE_BUSY: nothing was written, try later.
 */
static enum store_result
store_pg_result_of(const PGresult *r)
{
	const char	*state = r != NULL ?
			    PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (state == NULL)
		return STORE_BUSY;
	if (strcmp(state, "23505") == 0)	/* unique_violation */
		return STORE_CONFLICT;
	if (strcmp(state, "53100") == 0)	/* disk_full */
		return STORE_FULL;
	if (strncmp(state, "08", 2) == 0 ||	/* connection exception */
	    strncmp(state, "57P", 3) == 0 ||	/* operator intervention */
	    strcmp(state, "40001") == 0 ||	/* serialization_failure */
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
	res = PQexecParams(p->conn, sql, ps != NULL ? ps->n : 0, NULL,
	    ps != NULL ? ps->v : NULL, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK) {
		*r = STORE_OK;
		return res;
	}
	*r = p->last = store_pg_result_of(res);
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

	r = PQexec(p->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK ||
	    (tag != NULL && strcmp(PQcmdStatus(r), tag) != 0)) {
		p->last = PQresultStatus(r) == PGRES_COMMAND_OK ?
		    STORE_ERROR : store_pg_result_of(r);
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

/*
 * This store's name among the nodes sharing the database: the host, the
 * process and a random part, so that a restarted daemon (a new process,
 * maybe the same pid) never takes itself for the one before.
 */
static char *
store_pg_node_name(void)
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
	return name;
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

	if (p->node == NULL || p->conn == NULL ||
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
	store_pg_release_claims(p);
	if (p->conn != NULL)
		PQfinish(p->conn);
	free(p->database_id);
	free(p->node);
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
	p->conn = PQconnectdb(database);
	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
		msg = store_pg_message(p->conn != NULL ?
		    PQerrorMessage(p->conn) : "out of memory");
		xasprintf(cause, "cannot connect to the PostgreSQL database: "
		    "%s", msg);
		free(msg);
		goto fail;
	}
	/* A reply means the server has committed (the promise),
	 * whatever the server's default. */
	if (store_pg_exec(p, "SET synchronous_commit = on", "set up the "
	    "connection", cause) != 0 || store_pg_migrate(p, cause) != 0)
		goto fail;
	p->node = store_pg_node_name();
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
 */
static enum store_result
store_pg_write_begin(struct store *st)
{
	struct store_pg	*p = STORE_PG(st);

	if (!p->txn_open) {
		if (store_pg_control(p, "BEGIN", NULL) != 0)
			return p->last;
		p->txn_open = 1;
		p->txn_failed = 0;
		if (p->driver != NULL)
			p->driver->pass(p->driver->arg);
	}
	if (p->txn_failed || store_pg_control(p, "SAVEPOINT w", NULL) != 0) {
		p->txn_failed = 1;
		return p->last != STORE_OK ? p->last : STORE_ERROR;
	}
	return STORE_OK;
}

/*
 * End one write: keep it if ok, else undo it alone.  If the transaction
 * itself failed (the connection went, say), mark the group failed so its
 * commit reports every write of it lost.
 */
static void
store_pg_write_end(struct store *st, int ok)
{
	struct store_pg	*p = STORE_PG(st);

	if (p->txn_failed)
		return;
	if (!ok && store_pg_control(p, "ROLLBACK TO SAVEPOINT w", NULL) != 0)
		p->txn_failed = 1;
	if (!p->txn_failed && store_pg_control(p, "RELEASE SAVEPOINT w",
	    NULL) != 0)
		p->txn_failed = 1;
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
	if (p->txn_failed)
		ok = 0;
	else if (store_pg_control(p, "COMMIT", "COMMIT") != 0)
		ok = 0;
	if (!ok && PQtransactionStatus(p->conn) != PQTRANS_IDLE)
		(void)store_pg_control(p, "ROLLBACK", NULL);
	p->txn_open = 0;
	p->txn_failed = 0;
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
	rd->conn = PQconnectdb(r->conninfo);
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
};
