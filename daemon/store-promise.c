/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * All SQL for a callback's promise history lives here: when it was
 * agreed, and each time it was re-agreed.  Entries are only ever added.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

const struct store_sql store_promise_sql[] = {
	{ STMT_PROMISE_INSERT,
	  "INSERT INTO promises (followup_id, at, what, due_at, "
	  "previous_due_at, was_missed, note) VALUES (?, ?, ?, ?, ?, ?, ?)" },
	{ STMT_PROMISE_CALLBACKS,
	  "SELECT id, status, done_at FROM followups WHERE contact_id = ?1 "
	  "AND owner = ?2 AND kind = 'callback' "
	  "ORDER BY created_at DESC, id DESC LIMIT ?3" },
	{ STMT_PROMISE_LIST,
	  "SELECT at, what, due_at, previous_due_at, was_missed, note "
	  "FROM promises WHERE followup_id = ?1 ORDER BY id" },
	{ STMT_PROMISE_LAST,
	  "SELECT due_at FROM promises WHERE followup_id = ?1 "
	  "ORDER BY id DESC LIMIT 1" },
	{ STMT_COUNT, NULL }
};

/*
 * Record an entry of a callback's promise history.  Needs a write
 * transaction.
 */
static enum store_result
store_sqlite_promise_add(struct store *st, const struct fu_promise *p)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_PROMISE_INSERT);
	int		 rc;

	sqlite3_bind_int64(s, 1, p->followup_id);
	sqlite3_bind_int64(s, 2, p->at);
	store_bind_text(s, 3, p->what);
	sqlite3_bind_int64(s, 4, p->due_at);
	store_bind_time(s, 5, p->previous_due_at);
	sqlite3_bind_int(s, 6, p->was_missed);
	store_bind_text(s, 7, p->note);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * Call cb for the promise history of owner's callbacks on contact_id:
 * the newest limit callbacks, newest first, each one's entries in order,
 * with the callback's status and done_at.
 */
static enum store_result
store_sqlite_promise_list(struct store *st, const char *owner,
    int64_t contact_id, int limit, store_promise_cb cb, void *arg)
{
	sqlite3_stmt		*f = store_stmt(st, STMT_PROMISE_CALLBACKS);
	sqlite3_stmt		*s = store_stmt(st, STMT_PROMISE_LIST);
	struct fu_promise	 p;
	int			 rc = SQLITE_DONE, frc = SQLITE_DONE, stop = 0;

	/*
	 * The callbacks, then each one's entries: two walks of indexes in
	 * the order wanted, where one join sorted its rows in temporary
	 * b-trees.  Texts are borrowed for the call, as in the other lists.
	 */
	sqlite3_bind_int64(f, 1, contact_id);
	store_bind_text(f, 2, owner);
	sqlite3_bind_int(f, 3, limit);
	while (!stop && (frc = store_step(st, f)) == SQLITE_ROW) {
		sqlite3_bind_int64(s, 1, sqlite3_column_int64(f, 0));
		while (!stop && (rc = store_step(st, s)) == SQLITE_ROW) {
			memset(&p, 0, sizeof p);
			p.followup_id = sqlite3_column_int64(f, 0);
			p.status = store_col_borrow(f, 1);
			p.done_at = store_col_time(f, 2);
			p.at = store_col_time(s, 0);
			p.what = store_col_borrow(s, 1);
			p.due_at = store_col_time(s, 2);
			p.previous_due_at = store_col_time(s, 3);
			p.was_missed = sqlite3_column_int(s, 4);
			p.note = store_col_borrow(s, 5);
			stop = cb(&p, arg);
		}
		if (!stop && rc != SQLITE_DONE) {
			store_done(f);
			return store_fail(st, s, rc);
		}
		store_done(s);
	}
	if (!stop && frc != SQLITE_DONE)
		return store_fail(st, f, frc);
	store_done(f);
	return STORE_OK;
}

/*
 * Set *due to the time last agreed for callback followup_id, or leave it
 * alone when no history was kept.
 */
static enum store_result
store_sqlite_promise_last(struct store *st, int64_t followup_id, time_t *due)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_PROMISE_LAST);
	int		 rc;

	sqlite3_bind_int64(s, 1, followup_id);
	rc = store_step(st, s);
	if (rc == SQLITE_ROW)
		*due = store_col_time(s, 0);
	else if (rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/* The promise operations of the SQLite backend. */
const struct store_promise_backend store_sqlite_promise = {
	.add = store_sqlite_promise_add,
	.list = store_sqlite_promise_list,
	.last = store_sqlite_promise_last,
};
