/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * All SQL for the report lives here: a rep's (or the team's) pipeline by
 * stage, the follow-ups that fell due in a window with how they ended,
 * the voicemails left, and the stale contacts.  Reads only.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

const struct store_sql store_report_sql[] = {
	{ STMT_REPORT_STAGES,		/* ?1 NULL: the team's */
	  "SELECT owner, stage, count(*) FROM contacts "
	  "WHERE owner IN (SELECT owner FROM owner_counts "
	  "  WHERE ?1 IS NULL OR owner = ?1) AND archived_at IS NULL "
	  "GROUP BY owner, stage ORDER BY owner, stage" },
	{ STMT_REPORT_FOLLOWUPS,	/* by the due time it missed, if any */
	  "SELECT f.id, f.owner, f.kind, f.status, f.due_at, f.done_at, "
	  "(SELECT p.due_at FROM promises p WHERE p.followup_id = f.id "
	  "  ORDER BY p.id DESC LIMIT 1), f.missed_due_at "
	  "FROM followups f "		/* each rep's range of followups_owner */
	  "WHERE f.owner IN (SELECT owner FROM owner_counts "
	  "  WHERE ?1 IS NULL OR owner = ?1) "
	  "AND f.status IN ('pending', 'done', 'cancelled') "
	  "AND f.missed_due_at IS NULL AND f.due_at >= ?2 AND f.due_at < ?3 "
	  "UNION ALL "
	  "SELECT f.id, f.owner, f.kind, f.status, f.due_at, f.done_at, "
	  "NULL, f.missed_due_at FROM followups f "
	  "WHERE (?1 IS NULL OR f.owner = ?1) AND f.missed_due_at >= ?2 "
	  "AND f.missed_due_at < ?3 ORDER BY 2, 5, 1" },
	{ STMT_REPORT_UPCOMING,		/* not yet due */
	  "SELECT f.owner, "
	  "sum(f.missed_due_at IS NULL OR f.missed_due_at < ?2), "
	  "sum(f.kind = 'callback') FROM followups f "
	  "WHERE f.owner IN (SELECT owner FROM owner_counts "
	  "  WHERE ?1 IS NULL OR owner = ?1) "
	  "AND f.status = 'pending' AND f.due_at >= ?3 "
	  "GROUP BY f.owner ORDER BY f.owner" },
	{ STMT_REPORT_PROMISES,
	  "SELECT f.owner, p.followup_id, p.due_at, f.status, f.done_at, "
	  "(SELECT n.was_missed FROM promises n "
	  "  WHERE n.followup_id = p.followup_id AND n.id > p.id "
	  "  ORDER BY n.id LIMIT 1) "
	  "FROM promises p JOIN followups f ON f.id = p.followup_id "
	  "WHERE (?1 IS NULL OR f.owner = ?1) AND p.due_at >= ?2 "
	  "AND p.due_at < ?3 ORDER BY f.owner, p.id" },
	{ STMT_REPORT_VOICEMAILS,
	  "SELECT i.owner, i.contact_id, c.name, c.tz, i.at "
	  "FROM interactions i JOIN contacts c ON c.id = i.contact_id "
	  "WHERE i.owner IN (SELECT owner FROM owner_counts "
	  "  WHERE ?1 IS NULL OR owner = ?1) AND i.at >= ?2 "
	  "AND i.outcome = 'voicemail' ORDER BY i.owner, i.contact_id, i.at" },
	{ STMT_REPORT_STALE,		/* at most ?4 per rep */
	  "SELECT c.id, c.owner, c.name, c.company, c.stage, "
	  "coalesce(c.last_activity_at, c.created_at) AS last "
	  "FROM owner_counts o JOIN contacts c ON c.id IN ("
	  "  SELECT s.id FROM contacts s WHERE s.owner = o.owner "
	  "  AND s.archived_at IS NULL "
	  "  AND s.stage IN (SELECT value FROM json_each(?2)) "
	  "  AND coalesce(s.last_activity_at, s.created_at) < ?3 "
	  "  AND NOT EXISTS (SELECT 1 FROM followups f "
	  "    WHERE f.contact_id = s.id AND f.status = 'pending') "
	  "  ORDER BY coalesce(s.last_activity_at, s.created_at), s.id "
	  "  LIMIT ?4) "
	  "WHERE ?1 IS NULL OR o.owner = ?1 ORDER BY c.owner, last, c.id" },
	{ STMT_COUNT, NULL }
};

/* Step s to its end, handing each row to cb; free what cb borrowed. */
static enum store_result
store_report_each(struct store *st, sqlite3_stmt *s, store_report_cb cb,
    void *arg)
{
	struct store_report_row	 row;
	int			 rc = SQLITE_DONE, stop = 0, i, n;

	n = sqlite3_column_count(s);
	if (n > STORE_REPORT_COLS)
		n = STORE_REPORT_COLS;
	while (!stop && (rc = store_step(st, s)) == SQLITE_ROW) {
		memset(&row, 0, sizeof row);
		for (i = 0; i < n; i++) {
			if (sqlite3_column_type(s, i) == SQLITE_TEXT)
				row.text[i] = store_col_text(s, i);
			row.num[i] = sqlite3_column_int64(s, i);
			row.null[i] = sqlite3_column_type(s, i) == SQLITE_NULL;
		}
		stop = cb(&row, arg);
		for (i = 0; i < n; i++)
			free(row.text[i]);
	}
	if (!stop && rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/* Contacts per owner and stage: (owner, stage, count). */
static enum store_result
store_sqlite_report_stages(struct store *st, const char *owner,
    store_report_cb cb, void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_REPORT_STAGES);

	store_bind_text(s, 1, owner);
	return store_report_each(st, s, cb, arg);
}

/*
 * Follow-ups due in [from, to), or moved after missing a due time in it:
 * (id, owner, kind, status, due_at, done_at, the time last agreed for a
 * callback, the due time missed or NULL).
 */
static enum store_result
store_sqlite_report_followups(struct store *st, const char *owner, time_t from,
    time_t to, store_report_cb cb, void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_REPORT_FOLLOWUPS);

	store_bind_text(s, 1, owner);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	return store_report_each(st, s, cb, arg);
}

/*
 * Pending follow-ups due at or after now, per owner: (owner, how many
 * the window has not judged already, how many are callbacks).  One moved
 * after missing a due time at or after since is judged: the window
 * counts it as missed; a callback's new agreed time is a promise of its
 * own all the same.
 */
static enum store_result
store_sqlite_report_upcoming(struct store *st, const char *owner, time_t since,
    time_t now, store_report_cb cb, void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_REPORT_UPCOMING);

	store_bind_text(s, 1, owner);
	sqlite3_bind_int64(s, 2, since);
	sqlite3_bind_int64(s, 3, now);
	return store_report_each(st, s, cb, arg);
}

/*
 * Callback promises agreed for a time in [from, to), each agreement and
 * re-agreement on its own: (owner, followup_id, agreed time, the
 * callback's status, done_at, and for a promise since re-agreed whether
 * it had been missed by then, else NULL).
 */
static enum store_result
store_sqlite_report_promises(struct store *st, const char *owner, time_t from,
    time_t to, store_report_cb cb, void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_REPORT_PROMISES);

	store_bind_text(s, 1, owner);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	return store_report_each(st, s, cb, arg);
}

/* Voicemails left since since: (owner, contact_id, name, tz, at). */
static enum store_result
store_sqlite_report_voicemails(struct store *st, const char *owner,
    time_t since, store_report_cb cb, void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_REPORT_VOICEMAILS);

	store_bind_text(s, 1, owner);
	sqlite3_bind_int64(s, 2, since);
	return store_report_each(st, s, cb, arg);
}

/*
 * Stale contacts (open stage, nothing pending, no news since
 * ss->after before now): (id, owner, name, company, stage, last
 * news), at most limit per rep.
 */
static enum store_result
store_sqlite_report_stale(struct store *st, const char *owner,
    const struct store_stale *ss, time_t now, int limit, store_report_cb cb,
    void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_REPORT_STALE);

	store_bind_stale(s, owner, ss, now, limit);
	return store_report_each(st, s, cb, arg);
}

/* The report operations of the SQLite backend. */
const struct store_report_backend store_sqlite_report = {
	.stages = store_sqlite_report_stages,
	.followups = store_sqlite_report_followups,
	.upcoming = store_sqlite_report_upcoming,
	.promises = store_sqlite_report_promises,
	.voicemails = store_sqlite_report_voicemails,
	.stale = store_sqlite_report_stale,
};
