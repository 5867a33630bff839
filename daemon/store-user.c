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

/* A copy of text, or NULL.  Caller frees. */
static char *
store_user_dup(const char *text)
{
	return text != NULL ? xstrdup(text) : NULL;
}

/* Fill dst with a copy of src (the caller clears dst). */
static void
store_user_copy(struct fu_user *dst, const struct fu_user *src)
{
	dst->name = store_user_dup(src->name);
	dst->uid = src->uid;
	dst->email = store_user_dup(src->email);
	dst->tz = store_user_dup(src->tz);
	dst->digest = store_user_dup(src->digest);
	dst->hours = store_user_dup(src->hours);
	dst->workdays = store_user_dup(src->workdays);
	dst->lead = store_user_dup(src->lead);
	dst->display_name = store_user_dup(src->display_name);
	dst->phone = store_user_dup(src->phone);
	dst->calendar = store_user_dup(src->calendar);
	dst->updated_at = src->updated_at;
}

/*
 * Forget the users rows kept for this pass: its transaction ended, or a
 * change to the users table was made or undone.
 */
void
store_user_forget(struct store *st)
{
	int	i;

	for (i = 0; i < st->nusers; i++)
		fu_user_clear(&st->users[i].u);
	st->nusers = 0;
	st->users_next = 0;
}

/*
 * SQLite's update hook: a row of users changed (a rep's settings, the
 * time of their digest), so the rows kept for the pass may be stale.
 */
void
store_user_update_cb(void *arg, int op, const char *db, const char *table,
    sqlite3_int64 rowid)
{
	struct store	*st = arg;

	(void)op;
	(void)db;
	(void)rowid;
	if (st->nusers != 0 && strcmp(table, "users") == 0)
		store_user_forget(st);
}

/* Keep u (result r) for the rest of the pass's transaction. */
static void
store_user_keep(struct store *st, const struct fu_user *u,
    enum store_result r)
{
	struct store_user_cached	*c;

	if (st->nusers < STORE_USER_CACHE)
		c = &st->users[st->nusers++];
	else {
		c = &st->users[st->users_next];
		st->users_next = (st->users_next + 1) % STORE_USER_CACHE;
		fu_user_clear(&c->u);
	}
	store_user_copy(&c->u, u);
	c->r = r;
}

/*
 * Fill u with the settings of user name.  A user who never set anything
 * gets STORE_NOT_FOUND and an empty u with only the name.  The caller
 * clears u either way.
 *
 * Inside the pass's transaction (read or group commit) the row is read
 * once and kept: no other process can change it under the snapshot, and
 * our own changes to users forget it (store_user_update_cb, and the
 * rollback of a write).  Without one, every call reads.
 */
static enum store_result
store_sqlite_user_get(struct store *st, const char *name, struct fu_user *u)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_USER_GET);
	int		 rc, i, keep;

	memset(u, 0, sizeof *u);
	keep = st->txn_open || st->read_open;
	for (i = 0; keep && i < st->nusers; i++) {
		if (strcmp(st->users[i].u.name, name) == 0) {
			store_user_copy(u, &st->users[i].u);
			return st->users[i].r;
		}
	}
	store_bind_text(s, 1, name);
	rc = store_step(st, s);
	if (rc == SQLITE_DONE) {
		store_done(s);
		u->name = xstrdup(name);
		u->uid = -1;
		if (keep)
			store_user_keep(st, u, STORE_NOT_FOUND);
		return STORE_NOT_FOUND;
	}
	if (rc != SQLITE_ROW)
		return store_fail(st, s, rc);
	store_user_row(s, u);
	store_done(s);
	if (keep)
		store_user_keep(st, u, STORE_OK);
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
