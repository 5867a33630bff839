/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * All SQL for follow-ups lives here; callers never see statements.
 */

#include <config.h>

#include <stdint.h>
#include <string.h>

#include "store-internal.h"

#define FOLLOWUP_FIELDS							\
	"f.id, f.contact_id, c.name, f.owner, f.kind, f.status, "	\
	"f.due_at, f.reason, f.remind_before, f.remind_at, f.snoozes, "	\
	"f.note, f.created_at, f.updated_at, f.done_at, c.tz, f.revision, "	\
	"f.automatic, f.proposed_at "
#define FOLLOWUP_FROM							\
	"FROM followups f JOIN contacts c ON c.id = f.contact_id "
#define FOLLOWUP_COLUMNS	FOLLOWUP_FIELDS FOLLOWUP_FROM

/*
 * A NULL status means any: the IN list then names all three, so the index
 * on (owner, status, due_at) still serves.
 */
#define FOLLOWUP_STATUS_IN(p)						\
	"f.status IN (coalesce(" p ", 'pending'), "			\
	"coalesce(" p ", 'done'), coalesce(" p ", 'cancelled'))"

/*
 * Callbacks come first at the same time.  A page resumes after the key
 * (?8, ?9, ?10) of the last row of the one before: that is exact, as the
 * key is unique and the order follows it.
 */
#define FOLLOWUP_ORDER							\
	" ORDER BY f.due_at, f.kind <> 'callback', f.id "
#define FOLLOWUP_AFTER							\
	" AND (?10 IS NULL OR "						\
	"(f.due_at, f.kind <> 'callback', f.id) > (?8, ?9, ?10))"

const struct store_sql store_followup_sql[] = {
	{ STMT_FOLLOWUP_INSERT,
	  "INSERT INTO followups (contact_id, owner, kind, status, due_at, "
	  "reason, remind_before, remind_at, created_at, updated_at, "
	  "notice_stage, notice_at, automatic, proposed_at) "
	  "VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, "
	  "?11, ?12)" },
	{ STMT_FOLLOWUP_GET,
	  "SELECT " FOLLOWUP_COLUMNS
	  "WHERE f.id = ?1 AND (?2 IS NULL OR f.owner = ?2)" },
	{ STMT_FOLLOWUP_SET_DUE,
	  "UPDATE followups SET due_at = ?3, remind_at = ?4, "
	  "snoozes = snoozes + ?5, revision = revision + 1, "
	  "updated_at = ?6, notice_stage = ?7, "
	  "notice_at = ?8, missed_due_at = coalesce(missed_due_at, ?9) "
	  "WHERE id = ?1 AND owner = ?2 AND status = 'pending'" },
	{ STMT_FOLLOWUP_CLOSE,
	  "UPDATE followups SET status = ?3, note = ?4, done_at = ?5, "
	  "updated_at = ?6, notice_at = NULL "
	  "WHERE id = ?1 AND (?2 IS NULL OR owner = ?2) "
	  "AND status = 'pending'" },
	{ STMT_FOLLOWUP_LIST,
	  "SELECT " FOLLOWUP_COLUMNS
	  "WHERE f.owner = ?1 AND " FOLLOWUP_STATUS_IN("?2")
	  " AND f.due_at >= ?3 AND f.due_at < ?4" FOLLOWUP_AFTER
	  FOLLOWUP_ORDER "LIMIT ?5" },
	{ STMT_FOLLOWUP_LIST_ALL,		/* the team's: ?1 is NULL */
	  "SELECT " FOLLOWUP_COLUMNS
	  "WHERE ?1 IS NULL AND " FOLLOWUP_STATUS_IN("?2")
	  " AND f.due_at >= ?3 AND f.due_at < ?4" FOLLOWUP_AFTER
	  FOLLOWUP_ORDER "LIMIT ?5" },
	{ STMT_FOLLOWUP_LIST_CONTACT,
	  "SELECT " FOLLOWUP_COLUMNS
	  "WHERE f.contact_id = ?6 AND (?1 IS NULL OR f.owner = ?1) AND "
	  FOLLOWUP_STATUS_IN("?2")
	  " AND f.due_at >= ?3 AND f.due_at < ?4" FOLLOWUP_AFTER
	  FOLLOWUP_ORDER "LIMIT ?5" },
	/*
	 * A contact's pending ones come in order from followups_contact.
	 * The status is written out, not bound: a bound one that the
	 * planner matched against the partial indexes' status = 'pending'
	 * would make SQLite prepare the statement again at each binding.
	 */
	{ STMT_FOLLOWUP_LIST_CONTACT_PENDING,
	  "SELECT " FOLLOWUP_COLUMNS
	  "WHERE f.contact_id = ?6 AND (?1 IS NULL OR f.owner = ?1) AND "
	  "f.status = 'pending' AND f.due_at >= ?3 AND f.due_at < ?4"
	  FOLLOWUP_AFTER FOLLOWUP_ORDER "LIMIT ?5" },
	{ STMT_FOLLOWUP_LIST_CLOSED,
	  "SELECT " FOLLOWUP_COLUMNS
	  "WHERE f.contact_id = ?6 AND (?1 IS NULL OR f.owner = ?1) AND "
	  "f.status IN ('done', 'cancelled') "
	  "ORDER BY f.done_at DESC, f.id DESC LIMIT ?5" },
	{ STMT_FOLLOWUP_LIST_CALENDAR,	/* pending, and closed since ?7 */
	  "SELECT " FOLLOWUP_COLUMNS
	  "WHERE (?1 IS NULL OR f.owner = ?1) AND (f.status = 'pending' OR "
	  "(f.status IN ('done', 'cancelled') AND f.done_at >= ?7))"
	  FOLLOWUP_ORDER "LIMIT ?5" },
	{ STMT_FOLLOWUP_DUMP,	/* all, or pending and closed since ?3 */
	  "SELECT " FOLLOWUP_COLUMNS
	  "WHERE (?1 IS NULL OR f.owner = ?1) AND f.id > ?2 AND "
	  "(?3 = 0 OR f.status = 'pending' OR f.done_at >= ?3) "
	  "ORDER BY f.id LIMIT ?4" },
	{ STMT_FOLLOWUP_NOTICES,
	  "SELECT " FOLLOWUP_FIELDS ", f.notice_stage, f.notice_at "
	  FOLLOWUP_FROM
	  "WHERE f.notice_at IS NOT NULL AND f.notice_at < ?2 "
	  "AND f.status = 'pending' AND (?1 IS NULL OR f.owner = ?1) "
	  "ORDER BY f.notice_at, f.id LIMIT ?3" },
	{ STMT_FOLLOWUP_COUNT_DUE,
	  "SELECT count(*) FROM followups "
	  "WHERE owner = ?1 AND status = 'pending' "
	  "AND due_at >= ?2 AND due_at < ?3" },
	{ STMT_FOLLOWUP_NEXT_DUE,
	  "SELECT min(due_at) FROM followups "
	  "WHERE owner = ?1 AND status = 'pending'" },
	{ STMT_COUNT, NULL }
};

static enum store_result store_sqlite_followup_close_at(struct store *,
		     const char *, int64_t, const char *, const char *, time_t,
		     time_t);

/*
 * Read the current row of a FOLLOWUP_COLUMNS statement into f: its texts
 * copied (the caller clears f), or with borrow set, SQLite's own, valid
 * until s steps (for a row handed to a callback and gone after it).
 */
static void
store_followup_row(sqlite3_stmt *s, struct fu_followup *f, int borrow)
{
	char	*(*text)(sqlite3_stmt *, int);

	text = borrow ? store_col_borrow : store_col_text;
	memset(f, 0, sizeof *f);
	f->id = sqlite3_column_int64(s, 0);
	f->contact_id = sqlite3_column_int64(s, 1);
	f->contact_name = text(s, 2);
	f->owner = text(s, 3);
	f->kind = text(s, 4);
	f->status = text(s, 5);
	f->due_at = store_col_time(s, 6);
	f->reason = text(s, 7);
	f->remind_before = sqlite3_column_type(s, 8) == SQLITE_NULL ? -1 :
	    (long)sqlite3_column_int64(s, 8);
	f->remind_at = store_col_time(s, 9);
	f->snoozes = sqlite3_column_int(s, 10);
	f->note = text(s, 11);
	f->created_at = store_col_time(s, 12);
	f->updated_at = store_col_time(s, 13);
	f->done_at = store_col_time(s, 14);
	f->contact_tz = text(s, 15);
	f->revision = sqlite3_column_int(s, 16);
	f->automatic = sqlite3_column_int(s, 17);
	f->proposed_at = store_col_time(s, 18);
}

/*
 * Insert a pending follow-up from f (contact_id, owner, kind, due_at,
 * reason, remind_before, remind_at, created_at, notice_stage,
 * notice_at, automatic and proposed_at) and set f->id.  The
 * contact must exist.  Needs a write transaction.
 */
static enum store_result
store_sqlite_followup_insert(struct store *st, struct fu_followup *f)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_FOLLOWUP_INSERT);
	int		 rc;

	sqlite3_bind_int64(s, 1, f->contact_id);
	store_bind_text(s, 2, f->owner);
	store_bind_text(s, 3, f->kind);
	sqlite3_bind_int64(s, 4, f->due_at);
	store_bind_text(s, 5, f->reason);
	if (f->remind_before >= 0)
		sqlite3_bind_int64(s, 6, f->remind_before);
	sqlite3_bind_int64(s, 7, f->remind_at);
	sqlite3_bind_int64(s, 8, f->created_at);
	sqlite3_bind_int(s, 9, f->notice_stage);
	store_bind_time(s, 10, f->notice_at);
	sqlite3_bind_int(s, 11, f->automatic != 0);
	store_bind_time(s, 12, f->proposed_at);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	f->id = sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

/*
 * Fill f with follow-up id if owner owns it, else STORE_NOT_FOUND.  On
 * STORE_OK the caller clears f.
 */
static enum store_result
store_sqlite_followup_get(struct store *st, const char *owner, int64_t id,
    struct fu_followup *f)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_FOLLOWUP_GET);
	int		 rc;

	memset(f, 0, sizeof *f);
	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, owner);
	rc = store_step(st, s);
	if (rc == SQLITE_DONE) {
		store_done(s);
		return STORE_NOT_FOUND;
	}
	if (rc != SQLITE_ROW)
		return store_fail(st, s, rc);
	store_followup_row(s, f, 0);
	store_done(s);
	return STORE_OK;
}

/*
 * Move pending follow-up f->id (of f->owner) to f->due_at with its
 * reminder at f->remind_at and its next notice as f says; a snooze counts,
 * and every move counts in its revision; missed (0: none) is the due time
 * it had missed when moved, kept if it had missed one before; now is
 * when.  STORE_CONFLICT if it is not pending.  Needs a write transaction.
 */
static enum store_result
store_sqlite_followup_set_due(struct store *st, const struct fu_followup *f,
    int snooze, time_t missed, time_t now)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_FOLLOWUP_SET_DUE);
	int		 rc;

	sqlite3_bind_int64(s, 1, f->id);
	store_bind_text(s, 2, f->owner);
	sqlite3_bind_int64(s, 3, f->due_at);
	sqlite3_bind_int64(s, 4, f->remind_at);
	sqlite3_bind_int(s, 5, snooze ? 1 : 0);
	sqlite3_bind_int64(s, 6, now);
	sqlite3_bind_int(s, 7, f->notice_stage);
	store_bind_time(s, 8, f->notice_at);
	store_bind_time(s, 9, missed);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return sqlite3_changes(st->db) == 1 ? STORE_OK : STORE_CONFLICT;
}

/*
 * Close pending follow-up id with status ("done" or "cancelled") and an
 * optional note at time now.  STORE_CONFLICT if it is not pending.  Needs
 * a write transaction.
 */
static enum store_result
store_sqlite_followup_close(struct store *st, const char *owner, int64_t id,
    const char *status, const char *note, time_t now)
{
	return store_sqlite_followup_close_at(st, owner, id, status, note,
	    now, now);
}

/*
 * The same, closed as of done_at (a call logged after the fact), changed
 * at now.
 */
static enum store_result
store_sqlite_followup_close_at(struct store *st, const char *owner, int64_t id,
    const char *status, const char *note, time_t done_at, time_t now)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_FOLLOWUP_CLOSE);
	int		 rc;

	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, owner);
	store_bind_text(s, 3, status);
	store_bind_text(s, 4, note);
	sqlite3_bind_int64(s, 5, done_at);
	sqlite3_bind_int64(s, 6, now);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return sqlite3_changes(st->db) == 1 ? STORE_OK : STORE_CONFLICT;
}

/* Call cb for each follow-up row s gives, until cb returns non-zero. */
static enum store_result
store_followup_each(struct store *st, sqlite3_stmt *s, store_followup_cb cb,
    void *arg)
{
	struct fu_followup	 f;
	int			 rc = SQLITE_DONE, stop = 0;

	while (!stop && (rc = store_step(st, s)) == SQLITE_ROW) {
		store_followup_row(s, &f, 1);
		stop = cb(&f, arg);
	}
	if (!stop && rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * Call cb for each follow-up matching flt: by due time (callbacks first at
 * the same time), or with closed_recent set, a contact's closed ones,
 * newest first.  With closed_since set, the owner's (the team's when
 * owner is NULL) pending ones and those closed at or after closed_since,
 * by due time; status, from, to, contact_id and after are then ignored.
 * A non-zero after_id resumes the list by due time after the row whose
 * key is (after_due, after_plain, after_id).
 */
static enum store_result
store_sqlite_followup_list(struct store *st,
    const struct store_followup_filter *flt, store_followup_cb cb, void *arg)
{
	sqlite3_stmt		*s;
	time_t			 from = flt->from;

	/* The cursor's time is also a lower bound the index can use. */
	if (flt->after_id != 0 && flt->after_due > from)
		from = flt->after_due;
	if (flt->closed_recent)
		s = store_stmt(st, STMT_FOLLOWUP_LIST_CLOSED);
	else if (flt->closed_since != 0)
		s = store_stmt(st, STMT_FOLLOWUP_LIST_CALENDAR);
	else if (flt->contact_id != 0 && flt->status != NULL &&
	    strcmp(flt->status, "pending") == 0)
		s = store_stmt(st, STMT_FOLLOWUP_LIST_CONTACT_PENDING);
	else if (flt->contact_id != 0)
		s = store_stmt(st, STMT_FOLLOWUP_LIST_CONTACT);
	else if (flt->owner != NULL)
		s = store_stmt(st, STMT_FOLLOWUP_LIST);
	else
		s = store_stmt(st, STMT_FOLLOWUP_LIST_ALL);
	store_bind_text(s, 1, flt->owner);
	if (flt->closed_since != 0)
		sqlite3_bind_int64(s, 7, flt->closed_since);
	else if (!flt->closed_recent) {
		store_bind_text(s, 2, flt->status);
		sqlite3_bind_int64(s, 3, from != 0 ? from : INT64_MIN);
		sqlite3_bind_int64(s, 4, flt->to != 0 ? flt->to : INT64_MAX);
		if (flt->after_id != 0) {
			sqlite3_bind_int64(s, 8, flt->after_due);
			sqlite3_bind_int(s, 9, flt->after_plain ? 1 : 0);
			sqlite3_bind_int64(s, 10, flt->after_id);
		}
	}
	sqlite3_bind_int(s, 5, flt->limit);
	if (flt->contact_id != 0 && flt->closed_since == 0)
		sqlite3_bind_int64(s, 6, flt->contact_id);
	return store_followup_each(st, s, cb, arg);
}

/*
 * Call cb for the next page of owner's follow-ups (the team's when owner
 * is NULL): at most limit of them with an id above after, by id; with
 * closed_since set, only pending ones and those closed at or after it.
 * An export walks them a page at a time.
 */
static enum store_result
store_sqlite_followup_dump(struct store *st, const char *owner,
    time_t closed_since, int64_t after, int limit, store_followup_cb cb,
    void *arg)
{
	sqlite3_stmt		*s = store_stmt(st, STMT_FOLLOWUP_DUMP);

	store_bind_text(s, 1, owner);
	sqlite3_bind_int64(s, 2, after);
	sqlite3_bind_int64(s, 3, closed_since);
	sqlite3_bind_int(s, 4, limit);
	return store_followup_each(st, s, cb, arg);
}

/* Set *due to owner's earliest pending due time, or 0 if none. */
static enum store_result
store_sqlite_followup_next_due(struct store *st, const char *owner, time_t *due)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_FOLLOWUP_NEXT_DUE);
	int		 rc;

	*due = 0;
	store_bind_text(s, 1, owner);
	if ((rc = store_step(st, s)) != SQLITE_ROW)
		return store_fail(st, s, rc);
	*due = store_col_time(s, 0);
	store_done(s);
	return STORE_OK;
}

/*
 * Call cb for each pending follow-up (of owner, or the team's when owner
 * is NULL) whose next notice falls before before, in the order those
 * notices fall, at most limit; f carries notice_stage and notice_at.
 * Stop early if cb returns non-zero.  Set *n to the rows seen.  Reads
 * only.
 */
static enum store_result
store_sqlite_followup_notices(struct store *st, const char *owner,
    time_t before, int limit, store_followup_cb cb, void *arg, int *n)
{
	sqlite3_stmt		*s = store_stmt(st, STMT_FOLLOWUP_NOTICES);
	struct fu_followup	 f;
	int			 rc = SQLITE_DONE, stop = 0;

	*n = 0;
	store_bind_text(s, 1, owner);
	sqlite3_bind_int64(s, 2, before);
	sqlite3_bind_int(s, 3, limit);
	while (!stop && (rc = store_step(st, s)) == SQLITE_ROW) {
		store_followup_row(s, &f, 1);
		f.notice_stage = sqlite3_column_int(s, 19);
		f.notice_at = store_col_time(s, 20);
		(*n)++;
		stop = cb(&f, arg);
	}
	if (!stop && rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * Set *count to owner's pending follow-ups due in [from, to).  Reads
 * only.
 */
static enum store_result
store_sqlite_followup_count_due(struct store *st, const char *owner,
    time_t from, time_t to, int64_t *count)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_FOLLOWUP_COUNT_DUE);
	int		 rc;

	*count = 0;
	store_bind_text(s, 1, owner);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	if ((rc = store_step(st, s)) != SQLITE_ROW)
		return store_fail(st, s, rc);
	*count = sqlite3_column_int64(s, 0);
	store_done(s);
	return STORE_OK;
}

/* The followup operations of the SQLite backend. */
const struct store_followup_backend store_sqlite_followup = {
	.insert = store_sqlite_followup_insert,
	.get = store_sqlite_followup_get,
	.set_due = store_sqlite_followup_set_due,
	.close = store_sqlite_followup_close,
	.close_at = store_sqlite_followup_close_at,
	.list = store_sqlite_followup_list,
	.dump = store_sqlite_followup_dump,
	.next_due = store_sqlite_followup_next_due,
	.notices = store_sqlite_followup_notices,
	.count_due = store_sqlite_followup_count_due,
};
