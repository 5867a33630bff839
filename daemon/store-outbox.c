/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * All SQL for the schedule and the outbox lives here: which follow-ups
 * have a notice due, the ledger of notices that came due (one row per
 * rep, kind, follow-up and due time, so nothing is recorded twice), their
 * delivery to each channel, and each rep's next digest.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

const struct store_sql store_outbox_sql[] = {
	{ STMT_NOTICE_DUE,
	  "SELECT id, owner, kind, due_at, remind_at, notice_stage, "
	  "notice_at FROM followups WHERE notice_at <= ?1 "
	  "ORDER BY notice_at LIMIT ?2" },
	{ STMT_NOTICE_ADVANCE,
	  "UPDATE followups SET notice_stage = ?2, notice_at = ?3 "
	  "WHERE id = ?1" },
	{ STMT_OUTBOX_INSERT,
	  "INSERT OR IGNORE INTO outbox (owner, kind, followup_id, due_at, "
	  "fire_at, created_at, late, payload) "
	  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	{ STMT_OUTBOX_FOLD,
	  "UPDATE outbox SET folded_into = ?2 WHERE id = ?1" },
	{ STMT_DELIVERY_INSERT,
	  "INSERT OR IGNORE INTO deliveries (outbox_id, channel, next_at) "
	  "VALUES (?1, ?2, ?3)" },
	/*
	 * A rep's notice of kind about a follow-up, still held back and
	 * untouched by any delivery: what a change within its window joins.
	 */
	{ STMT_OUTBOX_HELD,
	  "SELECT o.id, o.payload, o.fire_at FROM outbox o "
	  "WHERE o.owner = ?1 AND o.kind = ?2 "
	  "AND coalesce(o.followup_id, 0) = ?4 AND o.fire_at > ?3 "
	  "AND NOT EXISTS (SELECT 1 FROM deliveries d "
	  "WHERE d.outbox_id = o.id AND (d.status <> 'pending' "
	  "OR d.attempts > 0 OR d.next_at <= ?3)) "
	  "ORDER BY o.fire_at LIMIT 1" },
	{ STMT_OUTBOX_SET_PAYLOAD,
	  "UPDATE outbox SET payload = ?2 WHERE id = ?1" },
	{ STMT_DELIVERY_DUE,
	  "SELECT d.outbox_id, d.channel, d.attempts, o.owner, o.kind, "
	  "o.fire_at, o.payload, o.created_at FROM deliveries d "
	  "JOIN outbox o ON o.id = d.outbox_id "
	  "WHERE d.status = 'pending' AND d.next_at <= ?1 "
	  "ORDER BY d.channel <> 'journal', d.channel, o.owner, "
	  "o.created_at, o.fire_at, d.outbox_id LIMIT ?2" },
	/*
	 * A delivery keeps its last error and its time: a retry under way
	 * (no error yet) or one that succeeds leaves them, so a rep can
	 * still read what went wrong and when.
	 */
	{ STMT_DELIVERY_SET,
	  "UPDATE deliveries SET status = ?3, attempts = ?4, next_at = ?5, "
	  "last_error = coalesce(?6, last_error), "
	  "error_at = CASE WHEN ?6 IS NULL THEN error_at ELSE ?8 END, "
	  "sent_at = ?7 "
	  "WHERE outbox_id = ?1 AND channel = ?2" },
	{ STMT_NEXT_NOTICE,
	  "SELECT min(notice_at) FROM followups WHERE notice_at IS NOT NULL" },
	{ STMT_NEXT_DELIVERY,
	  "SELECT min(next_at) FROM deliveries WHERE status = 'pending'" },
	{ STMT_NEXT_DIGEST,
	  "SELECT min(digest_at), coalesce(sum(digest_at IS NULL), 0) "
	  "FROM users" },
	{ STMT_NEXT_OF_OWNER,
	  "SELECT min(t) FROM ("
	  "  SELECT min(notice_at) AS t FROM followups"
	  "  WHERE owner = ?1 AND status = 'pending' AND notice_at IS NOT NULL"
	  "  UNION ALL SELECT min(d.next_at) FROM outbox o"
	  "  JOIN deliveries d ON d.outbox_id = o.id"
	  "  WHERE o.owner = ?1 AND d.status = 'pending'"
	  "  UNION ALL SELECT digest_at FROM users WHERE name = ?1)" },
	{ STMT_DIGEST_DUE,
	  "SELECT name, tz, digest, digest_at FROM users "
	  "WHERE digest_at IS NULL OR digest_at <= ?1" },
	{ STMT_DIGEST_SET,
	  "UPDATE users SET digest_at = ?2 WHERE name = ?1" },
	/*
	 * The queries below are a rep's (?1) or, with ?1 NULL, the team's.
	 * They start from the few deliveries waiting or given up (partial
	 * indexes), then look up each one's owner, whatever the history.
	 */
#define OUTBOX_OF_OWNER \
	"deliveries d CROSS JOIN outbox o ON o.id = d.outbox_id WHERE " \
	"(?1 IS NULL OR o.owner = ?1) AND "
	{ STMT_OUTBOX_STATS,
	  "SELECT (SELECT count(*) FROM " OUTBOX_OF_OWNER
	  "  d.status = 'pending'), "
	  "(SELECT count(*) FROM " OUTBOX_OF_OWNER "d.status = 'failed'), "
	  "(SELECT count(*) FROM " OUTBOX_OF_OWNER
	  "  d.status = 'pending' AND d.last_error IS NOT NULL)" },
	{ STMT_OUTBOX_HEALTH,
	  "SELECT (SELECT min(o.fire_at) FROM " OUTBOX_OF_OWNER
	  "  d.status = 'pending'), "
	  "(SELECT max(d.sent_at) FROM " OUTBOX_OF_OWNER
	  "  d.sent_at IS NOT NULL AND d.status = 'sent' "
	  "  AND d.channel LIKE 'hook:%'), "
	  "(SELECT d.last_error FROM " OUTBOX_OF_OWNER
	  "  d.status = 'pending' AND d.last_error IS NOT NULL "
	  "  ORDER BY d.next_at LIMIT 1), "
	  "(SELECT d.last_error FROM " OUTBOX_OF_OWNER "d.status = 'failed' "
	  "  ORDER BY d.outbox_id DESC LIMIT 1)" },
	{ STMT_OUTBOX_LAST_ERROR,
	  "SELECT d.last_error, d.error_at FROM " OUTBOX_OF_OWNER
	  "d.error_at IS NOT NULL "
	  "ORDER BY d.error_at DESC, d.outbox_id DESC LIMIT 1" },
	{ STMT_OUTBOX_LAST_SENT,
	  "SELECT max(sent_at) FROM deliveries WHERE sent_at IS NOT NULL" },
	{ STMT_OUTBOX_LAST_SENT_OWNER,
	  "SELECT max(d.sent_at) FROM outbox o "
	  "JOIN deliveries d ON d.outbox_id = o.id WHERE o.owner = ?1" },
	{ STMT_OUTBOX_REPS,
	  "SELECT owner, sum(p), sum(e), sum(f) FROM ("
	  "  SELECT o.owner AS owner, 1 AS p, d.last_error IS NOT NULL AS e, "
	  "  0 AS f FROM deliveries d CROSS JOIN outbox o "
	  "  ON o.id = d.outbox_id WHERE d.status = 'pending' "
	  "  UNION ALL "
	  "  SELECT o.owner, 0, 0, 1 FROM deliveries d CROSS JOIN outbox o "
	  "  ON o.id = d.outbox_id WHERE d.status = 'failed') "
	  "GROUP BY owner ORDER BY owner" },
	{ STMT_OUTBOX_REARM,
	  "UPDATE outbox SET fire_at = ?5 WHERE owner = ?1 AND kind = ?2 "
	  "AND coalesce(followup_id, 0) = ?3 AND due_at = ?4 "
	  "AND EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_id = "
	  "  outbox.id) "
	  "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_id = "
	  "  outbox.id AND d.status != 'failed')" },
	{ STMT_DELIVERY_REARM,
	  "UPDATE deliveries SET status = 'pending', attempts = 0, "
	  "next_at = ?5, last_error = NULL, error_at = NULL "
	  "WHERE status = 'failed' AND outbox_id = (SELECT id FROM outbox "
	  "  WHERE owner = ?1 AND kind = ?2 AND followup_id = ?3 "
	  "  AND due_at = ?4)" },
	{ STMT_OUTBOX_REQUESTS,
	  "SELECT o.kind, o.due_at, o.created_at, "
	  "  CASE WHEN sum(d.status = 'sent') > 0 THEN 'sent' "
	  "  WHEN sum(d.status = 'pending') > 0 THEN 'queued' "
	  "  ELSE 'given up' END, max(d.sent_at), max(d.last_error) "
	  "FROM outbox o JOIN deliveries d ON d.outbox_id = o.id "
	  /* The ledger's index, by its own expression: never a scan of
	   * the whole outbox to show one follow-up. */
	  "WHERE o.owner = ?2 "
	  "AND o.kind IN ('confirmation', 'cancellation') "
	  "AND coalesce(o.followup_id, 0) = ?1 "
	  "GROUP BY o.id ORDER BY o.id" },
#undef OUTBOX_OF_OWNER
	{ STMT_COUNT, NULL }
};

/*
 * Collect the follow-ups whose next notice falls by now, earliest first, at
 * most limit.  *rows is an array the caller frees with
 * store_notice_rows_free.
 */
static enum store_result
store_sqlite_notice_due(struct store *st, time_t now, int limit,
    struct store_notice_row **rows, size_t *n)
{
	sqlite3_stmt		*s = store_stmt(st, STMT_NOTICE_DUE);
	struct store_notice_row	*r;
	int			 rc;

	*rows = NULL;
	*n = 0;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, limit);
	while ((rc = store_step(st, s)) == SQLITE_ROW) {
		*rows = xreallocarray(*rows, *n + 1, sizeof **rows);
		r = &(*rows)[(*n)++];
		memset(r, 0, sizeof *r);
		r->followup_id = sqlite3_column_int64(s, 0);
		r->owner = store_col_text(s, 1);
		r->callback = strcmp((const char *)sqlite3_column_text(s, 2),
		    "callback") == 0;
		r->due_at = store_col_time(s, 3);
		r->remind_at = store_col_time(s, 4);
		r->stage = sqlite3_column_int(s, 5);
		r->notice_at = store_col_time(s, 6);
	}
	if (rc != SQLITE_DONE) {
		store_notice_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		return store_fail(st, s, rc);
	}
	store_done(s);
	return STORE_OK;
}

void
store_notice_rows_free(struct store_notice_row *rows, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		free(rows[i].owner);
		if (!rows[i].read)
			continue;
		fu_followup_clear(&rows[i].followup);
		fu_contact_clear(&rows[i].contact);
		for (j = 0; j < rows[i].nhistory; j++)
			fu_interaction_clear(&rows[i].history[j]);
		free(rows[i].history);
	}
	free(rows);
}

/*
 * Set the next notice of each follow-up of rows to its row's stage at its
 * notice_at (0: none left).  Needs a write transaction.
 */
static enum store_result
store_sqlite_notice_advance(struct store *st,
    const struct store_notice_row *rows, size_t n)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_NOTICE_ADVANCE);
	size_t		 i;
	int		 rc;

	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(s, 1, rows[i].followup_id);
		sqlite3_bind_int(s, 2, rows[i].stage);
		store_bind_time(s, 3, rows[i].notice_at);
		if ((rc = store_step(st, s)) != SQLITE_DONE)
			return store_fail(st, s, rc);
		store_done(s);
	}
	return STORE_OK;
}

/*
 * Record notice o in the ledger and queue it on each of the n channels
 * (none: a notice folded into a summary), to go out at o->fire_at or
 * later.  If the ledger already holds it (same rep, kind, follow-up and
 * due time), nothing is added and *created is 0.  Sets o->id.  Needs a
 * write transaction.
 */
static enum store_result
store_sqlite_outbox_add(struct store *st, struct store_outbox *o,
    const char *const *channels, int n, time_t now, int *created)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_OUTBOX_INSERT);
	int		 rc, i;

	*created = 0;
	store_bind_text(s, 1, o->owner);
	store_bind_text(s, 2, o->kind);
	if (o->followup_id != 0)
		sqlite3_bind_int64(s, 3, o->followup_id);
	sqlite3_bind_int64(s, 4, o->due_at);
	sqlite3_bind_int64(s, 5, o->fire_at);
	sqlite3_bind_int64(s, 6, now);
	sqlite3_bind_int(s, 7, o->late);
	store_bind_text(s, 8, o->payload);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	if (sqlite3_changes(st->db) == 0)
		return STORE_OK;
	o->id = sqlite3_last_insert_rowid(st->db);
	*created = 1;

	s = store_stmt(st, STMT_DELIVERY_INSERT);
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(s, 1, o->id);
		store_bind_text(s, 2, channels[i]);
		sqlite3_bind_int64(s, 3, o->hold > now ? o->hold : now);
		if ((rc = store_step(st, s)) != SQLITE_DONE)
			return store_fail(st, s, rc);
		store_done(s);
	}
	return STORE_OK;
}

/*
 * Find owner's notice of kind about follow-up fid that is held back past
 * now and not yet tried on any channel: set *id, *fire and *payload
 * (caller frees), or *id to 0 if there is none.
 */
static enum store_result
store_sqlite_outbox_held(struct store *st, const char *owner,
    const char *kind, int64_t fid, time_t now, int64_t *id, time_t *fire,
    char **payload)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_OUTBOX_HELD);
	int		 rc;

	*id = 0;
	*payload = NULL;
	store_bind_text(s, 1, owner);
	store_bind_text(s, 2, kind);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, fid);
	if ((rc = store_step(st, s)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		*payload = store_col_text(s, 1);
		*fire = sqlite3_column_int64(s, 2);
	} else if (rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/* Replace the payload of held notice id.  Needs a write transaction. */
static enum store_result
store_sqlite_outbox_set_payload(struct store *st, int64_t id,
    const char *payload)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_OUTBOX_SET_PAYLOAD);
	int		 rc;

	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, payload);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/* Mark notice id as folded into summary (it is not sent on its own). */
static enum store_result
store_sqlite_outbox_fold(struct store *st, int64_t id, int64_t summary)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_OUTBOX_FOLD);
	int		 rc;

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, summary);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * Call cb for each pending delivery due by now, grouped by channel (the
 * journal's first: they never wait behind hook runs held at their cap),
 * then rep, then the claim that recorded them (so what one claim recorded
 * for a rep comes in a row), then time, at most limit; stop early if cb
 * returns non-zero.
 */
static enum store_result
store_sqlite_delivery_due(struct store *st, time_t now, int limit,
    store_delivery_cb cb, void *arg)
{
	sqlite3_stmt		*s = store_stmt(st, STMT_DELIVERY_DUE);
	struct store_delivery	 d;
	int			 rc = SQLITE_DONE, stop = 0;

	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int(s, 2, limit);
	while (!stop && (rc = store_step(st, s)) == SQLITE_ROW) {
		d.outbox_id = sqlite3_column_int64(s, 0);
		d.channel = (const char *)sqlite3_column_text(s, 1);
		d.attempts = sqlite3_column_int(s, 2);
		d.owner = (const char *)sqlite3_column_text(s, 3);
		d.kind = (const char *)sqlite3_column_text(s, 4);
		d.fire_at = store_col_time(s, 5);
		d.payload = (const char *)sqlite3_column_text(s, 6);
		d.claimed_at = store_col_time(s, 7);
		stop = cb(&d, arg);
	}
	if (!stop && rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * Record the state of a delivery: status "pending" (try again at next_at),
 * "sent" or "failed" (given up), after attempts tries, with the last
 * error (or NULL).  Needs a write transaction.
 */
static enum store_result
store_sqlite_delivery_set(struct store *st, int64_t outbox_id,
    const char *channel, const char *status, int attempts, time_t next_at,
    const char *error, time_t now)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_DELIVERY_SET);
	int		 rc;

	sqlite3_bind_int64(s, 1, outbox_id);
	store_bind_text(s, 2, channel);
	store_bind_text(s, 3, status);
	sqlite3_bind_int(s, 4, attempts);
	sqlite3_bind_int64(s, 5, next_at);
	store_bind_text(s, 6, error);
	store_bind_time(s, 7, strcmp(status, "sent") == 0 ? now : 0);
	sqlite3_bind_int64(s, 8, now);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/* One nullable integer from a one-row statement; 0 when NULL. */
static int
store_min(struct store *st, enum store_stmt slot, time_t *out, int64_t *second)
{
	sqlite3_stmt	*s = store_stmt(st, slot);
	int		 rc;

	if ((rc = store_step(st, s)) != SQLITE_ROW) {
		store_fail(st, s, rc);
		return -1;
	}
	*out = store_col_time(s, 0);
	if (second != NULL)
		*second = sqlite3_column_int64(s, 1);
	store_done(s);
	return 0;
}

/*
 * When something must happen next: the earliest follow-up notice, pending
 * delivery and digest (each 0 if none).  *unplanned counts reps whose next
 * digest is not worked out yet.
 */
static enum store_result
store_sqlite_schedule_next(struct store *st, time_t *notice, time_t *delivery,
    time_t *digest, int64_t *unplanned)
{
	if (store_min(st, STMT_NEXT_NOTICE, notice, NULL) != 0 ||
	    store_min(st, STMT_NEXT_DELIVERY, delivery, NULL) != 0 ||
	    store_min(st, STMT_NEXT_DIGEST, digest, unplanned) != 0)
		return st->last;
	return STORE_OK;
}

/*
 * When something of owner's must next happen: the earliest of their
 * follow-ups' notices, their pending deliveries and their digest (0 if
 * none).  A rep's status shows this, never the team's wake-up.
 */
static enum store_result
store_sqlite_schedule_next_of(struct store *st, const char *owner, time_t *next)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_NEXT_OF_OWNER);

	store_bind_text(s, 1, owner);
	return store_min(st, STMT_NEXT_OF_OWNER, next, NULL) != 0 ? st->last :
	    STORE_OK;
}

/*
 * Call cb for each rep whose digest is due by now or not planned yet
 * (digest_at 0).  The row's strings are valid during the call only.
 */
static enum store_result
store_sqlite_digest_due(struct store *st, time_t now, store_digest_cb cb,
    void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_DIGEST_DUE);
	struct fu_user	 u;
	time_t		 at;
	int		 rc;
	char		**names = NULL, **tzs = NULL, **digests = NULL;
	time_t		*ats = NULL;
	size_t		 n = 0, i;

	/* Collect first: the callback writes to the same table. */
	sqlite3_bind_int64(s, 1, now);
	while ((rc = store_step(st, s)) == SQLITE_ROW) {
		names = xreallocarray(names, n + 1, sizeof *names);
		tzs = xreallocarray(tzs, n + 1, sizeof *tzs);
		digests = xreallocarray(digests, n + 1, sizeof *digests);
		ats = xreallocarray(ats, n + 1, sizeof *ats);
		names[n] = store_col_text(s, 0);
		tzs[n] = store_col_text(s, 1);
		digests[n] = store_col_text(s, 2);
		ats[n] = store_col_time(s, 3);
		n++;
	}
	if (rc != SQLITE_DONE)
		store_fail(st, s, rc);
	else
		store_done(s);
	for (i = 0; i < n; i++) {
		if (rc == SQLITE_DONE) {
			memset(&u, 0, sizeof u);
			u.name = names[i];
			u.tz = tzs[i];
			u.digest = digests[i];
			at = ats[i];
			cb(&u, at, arg);
		}
		free(names[i]);
		free(tzs[i]);
		free(digests[i]);
	}
	free(names);
	free(tzs);
	free(digests);
	free(ats);
	return rc == SQLITE_DONE ? STORE_OK : st->last;
}

/* Plan rep name's next digest at at.  Needs a write transaction. */
static enum store_result
store_sqlite_digest_set(struct store *st, const char *name, time_t at)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_DIGEST_SET);
	int		 rc;

	store_bind_text(s, 1, name);
	store_bind_time(s, 2, at);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * The deliveries of owner (NULL: the team's) waiting, failing and waiting
 * for a retry, and given up.
 */
static enum store_result
store_sqlite_outbox_stats(struct store *st, const char *owner,
    struct store_outbox_stats *os)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_OUTBOX_STATS);
	int		 rc;

	memset(os, 0, sizeof *os);
	store_bind_text(s, 1, owner);
	if ((rc = store_step(st, s)) != SQLITE_ROW)
		return store_fail(st, s, rc);
	os->backlog = sqlite3_column_int64(s, 0);
	os->failed = sqlite3_column_int64(s, 1);
	os->failing = sqlite3_column_int64(s, 2);
	store_done(s);
	return STORE_OK;
}

/*
 * What followup doctor reports of owner's deliveries (NULL: the team's):
 * when the oldest notice still waiting was due, when a hook last
 * delivered, the error of a delivery being retried, and of the last one
 * given up.
 */
static enum store_result
store_sqlite_outbox_health(struct store *st, const char *owner,
    struct store_outbox_health *oh)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_OUTBOX_HEALTH);
	int		 rc;

	memset(oh, 0, sizeof *oh);
	store_bind_text(s, 1, owner);
	if ((rc = store_step(st, s)) != SQLITE_ROW)
		return store_fail(st, s, rc);
	oh->oldest_waiting = store_col_time(s, 0);
	oh->last_hook_delivery = store_col_time(s, 1);
	oh->retrying_error = store_col_text(s, 2);
	oh->failed_error = store_col_text(s, 3);
	store_done(s);
	return STORE_OK;
}

void
store_outbox_health_clear(struct store_outbox_health *oh)
{
	free(oh->retrying_error);
	free(oh->failed_error);
	memset(oh, 0, sizeof *oh);
}

/*
 * When owner's notices (NULL: the team's) last went out on any channel,
 * and their latest delivery error with its time.
 */
static enum store_result
store_sqlite_outbox_last(struct store *st, const char *owner,
    struct store_outbox_last *ol)
{
	sqlite3_stmt	*s;
	int		 rc;

	memset(ol, 0, sizeof *ol);
	s = store_stmt(st, owner != NULL ? STMT_OUTBOX_LAST_SENT_OWNER :
	    STMT_OUTBOX_LAST_SENT);
	if (owner != NULL)
		store_bind_text(s, 1, owner);
	if ((rc = store_step(st, s)) != SQLITE_ROW)
		return store_fail(st, s, rc);
	ol->delivery = store_col_time(s, 0);
	store_done(s);

	s = store_stmt(st, STMT_OUTBOX_LAST_ERROR);
	store_bind_text(s, 1, owner);
	rc = store_step(st, s);
	if (rc == SQLITE_ROW) {
		ol->error = store_col_text(s, 0);
		if (ol->error == NULL)
			ol->error = xstrdup("");
		ol->error_at = store_col_time(s, 1);
	} else if (rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

void
store_outbox_last_clear(struct store_outbox_last *ol)
{
	free(ol->error);
	memset(ol, 0, sizeof *ol);
}

/*
 * Each rep with deliveries waiting or given up, by name, to cb; a cb
 * that returns -1 stops the walk.  For admins.
 */
static enum store_result
store_sqlite_outbox_reps(struct store *st, store_outbox_rep_cb cb, void *arg)
{
	sqlite3_stmt		*s = store_stmt(st, STMT_OUTBOX_REPS);
	struct store_outbox_rep	 r;
	int			 rc;

	while ((rc = store_step(st, s)) == SQLITE_ROW) {
		r.rep = (const char *)sqlite3_column_text(s, 0);
		r.backlog = sqlite3_column_int64(s, 1);
		r.failing = sqlite3_column_int64(s, 2);
		r.failed = sqlite3_column_int64(s, 3);
		if (cb(&r, arg) != 0) {
			store_done(s);
			return STORE_OK;
		}
	}
	if (rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * What became of each confirmation and cancellation of follow-up id that
 * its rep, owner, asked for, oldest first, to cb: sent once any hook sent
 * it, queued while one may still, else given up.
 */
static enum store_result
store_sqlite_outbox_requests(struct store *st, const char *owner,
    int64_t id, store_outbox_request_cb cb, void *arg)
{
	sqlite3_stmt			*s = store_stmt(st,
					    STMT_OUTBOX_REQUESTS);
	struct store_outbox_request	 r;
	int				 rc;

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, owner, -1, SQLITE_STATIC);
	while ((rc = store_step(st, s)) == SQLITE_ROW) {
		r.kind = (const char *)sqlite3_column_text(s, 0);
		r.due_at = store_col_time(s, 1);
		r.created_at = store_col_time(s, 2);
		r.state = (const char *)sqlite3_column_text(s, 3);
		r.sent_at = store_col_time(s, 4);
		r.error = (const char *)sqlite3_column_text(s, 5);
		if (cb(&r, arg) != 0)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * Queue again a notice every delivery of which was given up (a
 * confirmation the rep asks for once more), as if new from now on.  Set
 * *rearmed (0: none such, it is still on its way or was sent).  Needs a
 * write transaction.
 */
static enum store_result
store_sqlite_outbox_rearm(struct store *st, const struct store_outbox *o,
    time_t now, int *rearmed)
{
	sqlite3_stmt	*s;
	int		 rc, i;

	*rearmed = 0;
	for (i = 0; i < 2; i++) {
		s = store_stmt(st, i == 0 ? STMT_OUTBOX_REARM :
		    STMT_DELIVERY_REARM);
		store_bind_text(s, 1, o->owner);
		store_bind_text(s, 2, o->kind);
		sqlite3_bind_int64(s, 3, o->followup_id);
		sqlite3_bind_int64(s, 4, o->due_at);
		sqlite3_bind_int64(s, 5, now);
		if ((rc = store_step(st, s)) != SQLITE_DONE)
			return store_fail(st, s, rc);
		store_done(s);
		if (i == 0 && sqlite3_changes(st->db) == 0)
			return STORE_OK;
	}
	*rearmed = 1;
	return STORE_OK;
}

/* The outbox operations of the SQLite backend. */
const struct store_outbox_backend store_sqlite_outbox = {
	.notice_due = store_sqlite_notice_due,
	.notice_advance = store_sqlite_notice_advance,
	.add = store_sqlite_outbox_add,
	.fold = store_sqlite_outbox_fold,
	.held = store_sqlite_outbox_held,
	.set_payload = store_sqlite_outbox_set_payload,
	.delivery_due = store_sqlite_delivery_due,
	.delivery_set = store_sqlite_delivery_set,
	.schedule_next = store_sqlite_schedule_next,
	.schedule_next_of = store_sqlite_schedule_next_of,
	.digest_due = store_sqlite_digest_due,
	.digest_set = store_sqlite_digest_set,
	.stats = store_sqlite_outbox_stats,
	.health = store_sqlite_outbox_health,
	.last = store_sqlite_outbox_last,
	.reps = store_sqlite_outbox_reps,
	.requests = store_sqlite_outbox_requests,
	.rearm = store_sqlite_outbox_rearm,
};
