/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The PostgreSQL store: a team's database on a server that several
 * followupd share.  This first part connects (any libpq URI or conninfo,
 * with libpq's environment, service file and passfile) and makes or
 * checks the schema (store-pg-schema.sql), one daemon at a time under an
 * advisory lock.  The domain tables are not written yet, so opening ends
 * there with a clear refusal rather than a store that half works.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store-backend.h"

/* This store's schema version, and the SQL that makes it. */
#define STORE_PG_SCHEMA		1
static const char store_pg_schema[] =
#include "store-pg-schema.h"
    ;

/* The advisory lock every start takes around the schema: "followup". */
#define STORE_PG_LOCK		"7378428986657236336"

struct store_pg {
	struct store_base	 base;		/* first: the backend's table */
	PGconn			*conn;
	int			 schema;
};

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
	rc = 0;
out:
	(void)store_pg_exec(p, "SELECT pg_advisory_unlock(" STORE_PG_LOCK
	    ")", "release the schema lock", &ignored);
	free(ignored);
	return rc;
}

static void
store_pg_close(struct store *st)
{
	struct store_pg	*p = (struct store_pg *)(void *)st;

	if (p == NULL)
		return;
	if (p->conn != NULL)
		PQfinish(p->conn);
	free(p);
}

static struct store *
store_pg_open(const char *database, char **cause)
{
	struct store_pg	*p;
	char		*msg;

	p = xcalloc(1, sizeof *p);
	p->base.backend = &store_postgresql;
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
	if (store_pg_exec(p, "SET synchronous_commit = on", "set up the "
	    "connection", cause) != 0 || store_pg_migrate(p, cause) != 0)
		goto fail;
	/* Connected, schema made: what serves from it is still to come. */
	xasprintf(cause, "the PostgreSQL store is not complete in this "
	    "build (schema %d is ready, but followupd cannot serve from it "
	    "yet): use an SQLite database", p->schema);
fail:
	store_pg_close((struct store *)(void *)p);
	return NULL;
}

const struct store_txn_backend store_pg_txn = {
	.open = store_pg_open,
	.close = store_pg_close,
};

/*
 * Only opening is filled in: store_pg_open refuses after the schema, so
 * no other entry can be reached.
 */
const struct store_backend store_postgresql = {
	.name = "postgresql",
	.txn = &store_pg_txn,
};
