/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * All SQL for each rep's own settings lives here.
 */

#include <config.h>

#include <string.h>

#include "store-internal.h"

const struct store_sql store_user_sql[] = {
	/* The savepoint around each write of a group (store.c). */
	{ STMT_TXN_READ_BEGIN, "BEGIN" },
	{ STMT_TXN_READ_END, "COMMIT" },
	{ STMT_TXN_SAVEPOINT, "SAVEPOINT op" },
	{ STMT_TXN_RELEASE, "RELEASE op" },
	{ STMT_TXN_ROLLBACK_TO, "ROLLBACK TO op" },
	{ STMT_USER_GET,
	  "SELECT name, uid, email, tz, digest, hours, workdays, updated_at, "
	  "lead, display_name, phone, calendar FROM users WHERE name = ?1" },
	{ STMT_USER_PUT,
	  "INSERT INTO users (name, uid, email, tz, digest, hours, workdays, "
	  "lead, display_name, phone, calendar, created_at, updated_at) "
	  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9, ?10, ?11, ?12, ?8, ?8) "
	  "ON CONFLICT (name) DO UPDATE SET uid = ?2, email = ?3, tz = ?4, "
	  "digest = ?5, hours = ?6, workdays = ?7, updated_at = ?8, "
	  "lead = ?9, display_name = ?10, phone = ?11, calendar = ?12, "
	  "digest_at = NULL" },
	{ STMT_USER_ENSURE,
	  "INSERT OR IGNORE INTO users (name, created_at, updated_at) "
	  "VALUES (?1, ?2, ?2)" },
	{ STMT_USER_LIST,
	  "SELECT name, uid, email, tz, digest, hours, workdays, updated_at, "
	  "lead, display_name, phone, calendar FROM users ORDER BY name" },
	{ STMT_COUNT, NULL }
};

/* Read the current row of a user statement into u. */
static void
store_user_row(sqlite3_stmt *s, struct fu_user *u)
{
	u->name = store_col_text(s, 0);
	u->uid = sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(s, 1);
	u->email = store_col_text(s, 2);
	u->tz = store_col_text(s, 3);
	u->digest = store_col_text(s, 4);
	u->hours = store_col_text(s, 5);
	u->workdays = store_col_text(s, 6);
	u->updated_at = store_col_time(s, 7);
	u->lead = store_col_text(s, 8);
	u->display_name = store_col_text(s, 9);
	u->phone = store_col_text(s, 10);
	u->calendar = store_col_text(s, 11);
}

/*
 * Fill u with the settings of user name.  A user who never set anything
 * gets STORE_NOT_FOUND and an empty u with only the name.  The caller
 * clears u either way.
 */
static enum store_result
store_sqlite_user_get(struct store *st, const char *name, struct fu_user *u)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_USER_GET);
	int		 rc;

	memset(u, 0, sizeof *u);
	store_bind_text(s, 1, name);
	rc = store_step(st, s);
	if (rc == SQLITE_DONE) {
		store_done(s);
		u->name = xstrdup(name);
		u->uid = -1;
		return STORE_NOT_FOUND;
	}
	if (rc != SQLITE_ROW)
		return store_fail(st, s, rc);
	store_user_row(s, u);
	store_done(s);
	return STORE_OK;
}

/*
 * Call cb for every rep the schedule knows (each owner of a contact, and
 * each user who saved settings), by name; stop early if cb returns
 * non-zero.  u is valid during the call only.  Reads only.
 */
static enum store_result
store_sqlite_user_list(struct store *st, store_user_cb cb, void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_USER_LIST);
	struct fu_user	 u;
	int		 rc = SQLITE_DONE, stop = 0;

	while (!stop && (rc = store_step(st, s)) == SQLITE_ROW) {
		memset(&u, 0, sizeof u);
		store_user_row(s, &u);
		stop = cb(&u, arg);
		fu_user_clear(&u);
	}
	if (!stop && rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/* Write all of u's settings at time now.  Needs a write transaction. */
static enum store_result
store_sqlite_user_put(struct store *st, const struct fu_user *u, time_t now)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_USER_PUT);
	int		 rc;

	store_bind_text(s, 1, u->name);
	if (u->uid >= 0)
		sqlite3_bind_int64(s, 2, u->uid);
	store_bind_text(s, 3, u->email);
	store_bind_text(s, 4, u->tz);
	store_bind_text(s, 5, u->digest);
	store_bind_text(s, 6, u->hours);
	store_bind_text(s, 7, u->workdays);
	sqlite3_bind_int64(s, 8, now);
	store_bind_text(s, 9, u->lead);
	store_bind_text(s, 10, u->display_name);
	store_bind_text(s, 11, u->phone);
	store_bind_text(s, 12, u->calendar);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/* The user operations of the SQLite backend. */
const struct store_user_backend store_sqlite_user = {
	.get = store_sqlite_user_get,
	.list = store_sqlite_user_list,
	.put = store_sqlite_user_put,
};
