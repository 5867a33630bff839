/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Moving a team from SQLite to PostgreSQL (followupd --migrate-to): every
 * row of every table, with its id and every field, copied from one
 * consistent snapshot of the SQLite file into an empty PostgreSQL database
 * in one transaction, then counted on both sides.  The outbox and its
 * deliveries move with their state, so what was sent is not sent again
 * and what was owed is still owed.  The per-rep counts are not copied:
 * the PostgreSQL triggers count the rows as they arrive, and the totals
 * are compared with the SQLite ones.
 *
 * Both backends' internals meet here and nowhere else.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"
#include "store-pg-internal.h"

/* The tables, parents first so that every reference finds its row. */
static const char *const store_move_names[STORE_MOVE_TABLES] = {
	"users", "contacts", "interactions", "followups", "promises",
	"outbox", "deliveries"
};

/* The tables whose ids PostgreSQL hands out after the move. */
static const char *const store_move_identities[] = {
	"contacts", "interactions", "followups", "promises", "outbox", NULL
};

/* Copy data goes to the server in pieces of about this size. */
#define STORE_MOVE_CHUNK	(64 * 1024)

struct store_move_buf {
	char	*data;
	size_t	 len;
	size_t	 size;
};

static void
store_move_put(struct store_move_buf *b, const char *s, size_t len)
{
	if (b->len + len > b->size) {
		while (b->len + len > b->size)
			b->size = b->size != 0 ? b->size * 2 : STORE_MOVE_CHUNK;
		b->data = xreallocarray(b->data, b->size, 1);
	}
	memcpy(b->data + b->len, s, len);
	b->len += len;
}

/* A text in COPY's text format: the separators and backslash escaped. */
static void
store_move_put_text(struct store_move_buf *b, const unsigned char *s,
    size_t len)
{
	size_t	i, run = 0;
	char	esc[2] = { '\\', 0 };

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '\\':
			esc[1] = '\\';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			continue;
		}
		store_move_put(b, (const char *)s + run, i - run);
		store_move_put(b, esc, 2);
		run = i + 1;
	}
	store_move_put(b, (const char *)s + run, len - run);
}

/* libpq's message for r (or the connection's), trimmed. Caller frees. */
static char *
store_move_pg_error(struct store_pg *p, const PGresult *r)
{
	const char	*m = r != NULL ? PQresultErrorMessage(r) : "";
	char		*s;
	size_t		 len;

	if (*m == '\0')
		m = PQerrorMessage(p->conn);
	s = xstrdup(*m != '\0' ? m : "no reason given");
	len = strlen(s);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	return s;
}

/* Run sql on the target; 0, or -1 with *cause set. */
static int
store_move_pg_exec(struct store_pg *p, const char *sql, const char *what,
    char **cause)
{
	PGresult	*r;
	char		*msg;
	int		 rc = 0;

	r = PQexec(p->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK) {
		msg = store_move_pg_error(p, r);
		xasprintf(cause, "cannot %s: %s", what, msg);
		free(msg);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/* A count (or any one number) from the target; -1 with *cause set. */
static int64_t
store_move_pg_count(struct store_pg *p, const char *sql, char **cause)
{
	PGresult	*r;
	char		*msg;
	int64_t		 n = -1;

	r = PQexec(p->conn, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		n = store_pg_col_int(r, 0, 0, 0);
	else {
		msg = store_move_pg_error(p, r);
		xasprintf(cause, "cannot read the PostgreSQL database: %s",
		    msg);
		free(msg);
	}
	PQclear(r);
	return n;
}

/* A count from the source; -1 with *cause set. */
static int64_t
store_move_sqlite_count(struct store *s, const char *sql, char **cause)
{
	sqlite3_stmt	*stmt;
	int64_t		 n = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot read the SQLite database: %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	else
		xasprintf(cause, "cannot read the SQLite database: %s",
		    sqlite3_errmsg(s->db));
	sqlite3_finalize(stmt);
	return n;
}

/*
 * The columns of table in the source, as "a, b, c" (caller frees), each
 * checked to exist in the target: a column PostgreSQL has no place for
 * would be lost, so the move stops instead.  NULL with *cause set.
 */
static char *
store_move_columns(struct store *s, struct store_pg *p, const char *table,
    char **cause)
{
	struct store_move_buf	 b = { NULL, 0, 0 };
	sqlite3_stmt		*stmt;
	PGresult		*r;
	const char		*params[2];
	const char		*col;
	char			*sql, *msg;
	int			 rc, n = 0;

	xasprintf(&sql, "SELECT name FROM pragma_table_info('%s') "
	    "ORDER BY cid", table);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		xasprintf(cause, "cannot read the SQLite database: %s",
		    sqlite3_errmsg(s->db));
		return NULL;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		col = (const char *)sqlite3_column_text(stmt, 0);
		params[0] = table;
		params[1] = col;
		r = PQexecParams(p->conn, "SELECT 1 FROM "
		    "information_schema.columns WHERE table_schema = "
		    "current_schema() AND table_name = $1 AND "
		    "column_name = $2", 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK ||
		    PQntuples(r) != 1) {
			msg = PQresultStatus(r) == PGRES_TUPLES_OK ? NULL :
			    store_move_pg_error(p, r);
			if (msg != NULL)
				xasprintf(cause, "cannot read the PostgreSQL "
				    "database: %s", msg);
			else
				xasprintf(cause, "the PostgreSQL schema has "
				    "no column %s.%s: this followupd cannot "
				    "move this database", table, col);
			free(msg);
			PQclear(r);
			sqlite3_finalize(stmt);
			free(b.data);
			return NULL;
		}
		PQclear(r);
		if (n++ > 0)
			store_move_put(&b, ", ", 2);
		store_move_put(&b, col, strlen(col));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE || n == 0) {
		xasprintf(cause, "cannot read the columns of %s in the "
		    "SQLite database: %s", table, rc != SQLITE_DONE ?
		    sqlite3_errmsg(s->db) : "no such table");
		free(b.data);
		return NULL;
	}
	store_move_put(&b, "", 1);
	return b.data;
}

/* Send what b holds to the COPY under way; 0, or -1 with *cause. */
static int
store_move_flush(struct store_pg *p, struct store_move_buf *b, char **cause)
{
	char	*msg;

	if (b->len == 0)
		return 0;
	if (PQputCopyData(p->conn, b->data, (int)b->len) != 1) {
		msg = store_move_pg_error(p, NULL);
		xasprintf(cause, "cannot copy into the PostgreSQL database: "
		    "%s", msg);
		free(msg);
		return -1;
	}
	b->len = 0;
	return 0;
}

/* Copy every row of table, in id order; 0, or -1 with *cause set. */
static int
store_move_table(struct store *s, struct store_pg *p, const char *table,
    char **cause)
{
	struct store_move_buf	 b = { NULL, 0, 0 };
	sqlite3_stmt		*stmt = NULL;
	PGresult		*r;
	char			*cols, *sql, *msg, num[32];
	int			 i, n, rc, fail = 0;

	if ((cols = store_move_columns(s, p, table, cause)) == NULL)
		return -1;
	xasprintf(&sql, "SELECT %s FROM %s ORDER BY rowid", cols, table);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		/* A WITHOUT ROWID table has none; keep its key's order. */
		xasprintf(&sql, "SELECT %s FROM %s", cols, table);
		rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
		free(sql);
	}
	if (rc != SQLITE_OK) {
		xasprintf(cause, "cannot read %s in the SQLite database: %s",
		    table, sqlite3_errmsg(s->db));
		free(cols);
		return -1;
	}
	xasprintf(&sql, "COPY %s (%s) FROM STDIN", table, cols);
	free(cols);
	r = PQexec(p->conn, sql);
	free(sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		msg = store_move_pg_error(p, r);
		xasprintf(cause, "cannot copy %s into the PostgreSQL "
		    "database: %s", table, msg);
		free(msg);
		PQclear(r);
		sqlite3_finalize(stmt);
		return -1;
	}
	PQclear(r);

	n = sqlite3_column_count(stmt);
	while (!fail && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		for (i = 0; i < n; i++) {
			if (i > 0)
				store_move_put(&b, "\t", 1);
			switch (sqlite3_column_type(stmt, i)) {
			case SQLITE_NULL:
				store_move_put(&b, "\\N", 2);
				break;
			case SQLITE_INTEGER:
				snprintf(num, sizeof(num), "%lld", (long long)
				    sqlite3_column_int64(stmt, i));
				store_move_put(&b, num, strlen(num));
				break;
			case SQLITE_FLOAT:
				snprintf(num, sizeof(num), "%.17g",
				    sqlite3_column_double(stmt, i));
				store_move_put(&b, num, strlen(num));
				break;
			default:
				store_move_put_text(&b,
				    sqlite3_column_text(stmt, i),
				    (size_t)sqlite3_column_bytes(stmt, i));
				break;
			}
		}
		store_move_put(&b, "\n", 1);
		if (b.len >= STORE_MOVE_CHUNK &&
		    store_move_flush(p, &b, cause) != 0)
			fail = 1;
	}
	if (!fail && rc != SQLITE_DONE) {
		xasprintf(cause, "cannot read %s in the SQLite database: %s",
		    table, sqlite3_errmsg(s->db));
		fail = 1;
	}
	sqlite3_finalize(stmt);
	if (!fail && store_move_flush(p, &b, cause) != 0)
		fail = 1;
	free(b.data);

	/* End the copy either way; a failed one is refused by the server. */
	if (PQputCopyEnd(p->conn, fail ? "the move stopped" : NULL) != 1 &&
	    !fail) {
		msg = store_move_pg_error(p, NULL);
		xasprintf(cause, "cannot copy %s into the PostgreSQL "
		    "database: %s", table, msg);
		free(msg);
		fail = 1;
	}
	while ((r = PQgetResult(p->conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !fail) {
			msg = store_move_pg_error(p, r);
			xasprintf(cause, "cannot copy %s into the PostgreSQL "
			    "database: %s", table, msg);
			free(msg);
			fail = 1;
		}
		PQclear(r);
	}
	return fail ? -1 : 0;
}

/*
 * Is the target empty?  A database that already holds a team's data is
 * never merged into: ids would collide, and half of two teams is no team.
 * 0 if empty, -1 with *cause set.
 */
static int
store_move_empty(struct store_pg *p, char **cause)
{
	char	*sql;
	int64_t	 n;
	size_t	 i;

	for (i = 0; i < STORE_MOVE_TABLES; i++) {
		xasprintf(&sql, "SELECT count(*) FROM (SELECT 1 FROM %s "
		    "LIMIT 1) AS t", store_move_names[i]);
		n = store_move_pg_count(p, sql, cause);
		free(sql);
		if (n < 0)
			return -1;
		if (n > 0) {
			xasprintf(cause, "the PostgreSQL database is not "
			    "empty (its table %s has rows): a move goes into "
			    "a new, empty database", store_move_names[i]);
			return -1;
		}
	}
	return 0;
}

/*
 * After the rows: PostgreSQL's identities continue after the highest id
 * moved; the database keeps its identity (calendar UIDs carry it); and
 * the per-rep counts the triggers made match SQLite's.  0, or -1.
 */
static int
store_move_finish(struct store *s, struct store_pg *p, char **cause)
{
	static const char *const sums[] = {
		"SELECT coalesce(sum(contacts), 0) FROM owner_counts",
		"SELECT coalesce(sum(interactions), 0) FROM owner_counts",
		"SELECT coalesce(sum(pending), 0) FROM owner_counts",
		NULL
	};
	sqlite3_stmt	*stmt;
	PGresult	*r;
	const char	*params[1];
	char		*sql, *msg;
	int64_t		 a, b;
	size_t		 i;

	for (i = 0; store_move_identities[i] != NULL; i++) {
		xasprintf(&sql, "SELECT setval(pg_get_serial_sequence('%s', "
		    "'id'), max(id)) FROM %s HAVING max(id) IS NOT NULL",
		    store_move_identities[i], store_move_identities[i]);
		if (store_move_pg_exec(p, sql, "set the next ids", cause)
		    != 0) {
			free(sql);
			return -1;
		}
		free(sql);
	}

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = "
	    "'database_id'", -1, &stmt, NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot read the SQLite database: %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		params[0] = (const char *)sqlite3_column_text(stmt, 0);
		r = PQexecParams(p->conn, "UPDATE meta SET value = $1 WHERE "
		    "key = 'database_id'", 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			msg = store_move_pg_error(p, r);
			xasprintf(cause, "cannot keep the database's "
			    "identity: %s", msg);
			free(msg);
			PQclear(r);
			sqlite3_finalize(stmt);
			return -1;
		}
		PQclear(r);
	}
	sqlite3_finalize(stmt);

	for (i = 0; sums[i] != NULL; i++) {
		if ((a = store_move_sqlite_count(s, sums[i], cause)) < 0 ||
		    (b = store_move_pg_count(p, sums[i], cause)) < 0)
			return -1;
		if (a != b) {
			xasprintf(cause, "the reps' counts differ after the "
			    "copy (%lld in SQLite, %lld in PostgreSQL)",
			    (long long)a, (long long)b);
			return -1;
		}
	}
	return 0;
}

/*
 * Copy the SQLite store from into the PostgreSQL store to, which must be
 * empty.  The source is read in one transaction that keeps writers out,
 * so the copy is one moment's data; the target is written in one
 * transaction, so a move that fails leaves it empty.  On success fill
 * counts (rows per table on each side, all equal) and return 0; else
 * -1 with *cause set (caller frees).
 */
int
store_move(struct store *from, struct store *to,
    struct store_move_count counts[STORE_MOVE_TABLES], char **cause)
{
	struct store_pg	*p = STORE_PG(to);
	PGresult	*r;
	char		*sql, *msg;
	size_t		 i;
	int		 rc = -1;

	*cause = NULL;
	if (strcmp(store_backend_name(from), "sqlite") != 0 ||
	    strcmp(store_backend_name(to), "postgresql") != 0) {
		*cause = xstrdup("a move goes from an SQLite database to a "
		    "PostgreSQL one");
		return -1;
	}
	if (sqlite3_exec(from->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		xasprintf(cause, "cannot hold the SQLite database still (is "
		    "followupd still running on it?): %s",
		    sqlite3_errmsg(from->db));
		return -1;
	}
	if (store_move_pg_exec(p, "BEGIN", "begin the move", cause) != 0)
		goto out;
	/* No daemon on the target writes while the rows arrive. */
	if (store_move_pg_exec(p, "LOCK TABLE users, contacts, interactions, "
	    "followups, promises, outbox, deliveries, owner_counts, meta "
	    "IN EXCLUSIVE MODE", "lock the PostgreSQL tables", cause) != 0 ||
	    store_move_empty(p, cause) != 0)
		goto rollback;

	for (i = 0; i < STORE_MOVE_TABLES; i++) {
		counts[i].table = store_move_names[i];
		if (store_move_table(from, p, store_move_names[i], cause) != 0)
			goto rollback;
	}
	if (store_move_finish(from, p, cause) != 0)
		goto rollback;
	for (i = 0; i < STORE_MOVE_TABLES; i++) {
		xasprintf(&sql, "SELECT count(*) FROM %s",
		    store_move_names[i]);
		counts[i].from = store_move_sqlite_count(from, sql, cause);
		counts[i].to = counts[i].from < 0 ? -1 :
		    store_move_pg_count(p, sql, cause);
		free(sql);
		if (counts[i].to < 0)
			goto rollback;
		if (counts[i].from != counts[i].to) {
			xasprintf(cause, "%s: %lld rows in SQLite but %lld "
			    "in PostgreSQL after the copy", counts[i].table,
			    (long long)counts[i].from,
			    (long long)counts[i].to);
			goto rollback;
		}
	}
	/* A COMMIT answered with ROLLBACK is a move that did not happen. */
	r = PQexec(p->conn, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK ||
	    strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		msg = store_move_pg_error(p, r);
		xasprintf(cause, "the PostgreSQL database did not commit the "
		    "move: %s", msg);
		free(msg);
	} else
		rc = 0;
	PQclear(r);
	goto out;

rollback:
	PQclear(PQexec(p->conn, "ROLLBACK"));
out:
	sqlite3_exec(from->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
