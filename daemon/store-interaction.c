/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * All SQL for interactions, the history of a contact, lives here.
 * Interactions are only ever added: there is no statement that changes or
 * deletes one.
 */

#include <config.h>

#include <string.h>

#include "store-internal.h"

const struct store_sql store_interaction_sql[] = {
	{ STMT_INTERACTION_INSERT,
	  "INSERT INTO interactions (contact_id, owner, kind, outcome, note, "
	  "at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)" },
	{ STMT_INTERACTION_LIST,
	  "SELECT id, contact_id, owner, kind, outcome, note, at, created_at "
	  "FROM interactions WHERE contact_id = ?1 AND owner = ?2 "
	  "AND at >= ?3 AND (?6 IS NULL OR (at, id) < (?5, ?6)) "
	  "ORDER BY at DESC, id DESC LIMIT ?4" },
	{ STMT_INTERACTION_DUMP,	/* ?1 NULL: the team's */
	  "SELECT id, contact_id, owner, kind, outcome, note, at, created_at "
	  "FROM interactions WHERE (?1 IS NULL OR owner = ?1) AND id > ?2 "
	  "ORDER BY id LIMIT ?3" },
	{ STMT_COUNT, NULL }
};

/*
 * Record interaction in (its contact must exist and belong to its owner)
 * and set in->id; the contact's last activity moves up to in->at.  Needs a
 * write transaction.
 */
static enum store_result
store_sqlite_interaction_insert(struct store *st, struct fu_interaction *in)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_INTERACTION_INSERT);
	int		 rc;

	sqlite3_bind_int64(s, 1, in->contact_id);
	store_bind_text(s, 2, in->owner);
	store_bind_text(s, 3, in->kind);
	store_bind_text(s, 4, in->outcome);
	store_bind_text(s, 5, in->note);
	sqlite3_bind_int64(s, 6, in->at);
	sqlite3_bind_int64(s, 7, in->created_at);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	in->id = sqlite3_last_insert_rowid(st->db);

	s = store_stmt(st, STMT_CONTACT_TOUCH);
	sqlite3_bind_int64(s, 1, in->contact_id);
	sqlite3_bind_int64(s, 2, in->at);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/* Run an interaction query, calling cb for each row until it says stop. */
static enum store_result
store_interaction_each(struct store *st, sqlite3_stmt *s,
    store_interaction_cb cb, void *arg)
{
	struct fu_interaction	 in;
	int			 rc = SQLITE_DONE, stop = 0;

	while (!stop && (rc = store_step(st, s)) == SQLITE_ROW) {
		/* The row's texts are SQLite's, borrowed for the call. */
		memset(&in, 0, sizeof in);
		in.id = sqlite3_column_int64(s, 0);
		in.contact_id = sqlite3_column_int64(s, 1);
		in.owner = store_col_borrow(s, 2);
		in.kind = store_col_borrow(s, 3);
		in.outcome = store_col_borrow(s, 4);
		in.note = store_col_borrow(s, 5);
		in.at = store_col_time(s, 6);
		in.created_at = store_col_time(s, 7);
		stop = cb(&in, arg);
	}
	if (!stop && rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * Call cb for owner's interactions with contact_id at or after since,
 * newest first, at most limit of them; with a non-zero before_id, only
 * those that come after (before_at, before_id) in that order, so that a
 * page resumes exactly where the one before ended.
 */
static enum store_result
store_sqlite_interaction_list(struct store *st, const char *owner,
    int64_t contact_id, time_t since, time_t before_at, int64_t before_id,
    int limit, store_interaction_cb cb, void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_INTERACTION_LIST);

	sqlite3_bind_int64(s, 1, contact_id);
	store_bind_text(s, 2, owner);
	sqlite3_bind_int64(s, 3, since);
	sqlite3_bind_int(s, 4, limit);
	if (before_id != 0) {
		sqlite3_bind_int64(s, 5, before_at);
		sqlite3_bind_int64(s, 6, before_id);
	}
	return store_interaction_each(st, s, cb, arg);
}

/*
 * Call cb for the next page of owner's interactions (the whole team's if
 * owner is NULL): at most limit of them with an id above after, by id.
 * An export walks them a page at a time.
 */
static enum store_result
store_sqlite_interaction_dump(struct store *st, const char *owner, int64_t after,
    int limit, store_interaction_cb cb, void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_INTERACTION_DUMP);

	store_bind_text(s, 1, owner);
	sqlite3_bind_int64(s, 2, after);
	sqlite3_bind_int(s, 3, limit);
	return store_interaction_each(st, s, cb, arg);
}

/* The interaction operations of the SQLite backend. */
const struct store_interaction_backend store_sqlite_interaction = {
	.insert = store_sqlite_interaction_insert,
	.list = store_sqlite_interaction_list,
	.dump = store_sqlite_interaction_dump,
};
