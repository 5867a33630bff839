/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * All SQL for contacts lives here; callers never see statements.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define CONTACT_COLUMNS							\
	"c.id, c.owner, c.name, c.company, c.phone, c.email, c.tz, "	\
	"c.stage, c.notes, c.archived_at, c.last_activity_at, "		\
	"c.created_at, c.updated_at"

#define CONTACT_SEARCH(p)						\
	"(" p " IS NULL OR c.name LIKE " p " ESCAPE '\\' OR "		\
	"c.company LIKE " p " ESCAPE '\\' OR "				\
	"c.email LIKE " p " ESCAPE '\\' OR "				\
	"c.phone LIKE " p " ESCAPE '\\' OR "				\
	"c.notes LIKE " p " ESCAPE '\\')"

const struct store_sql store_contact_sql[] = {
	{ STMT_CONTACT_INSERT,
	  "INSERT INTO contacts (owner, name, company, phone, email, tz, "
	  "stage, notes, created_at, updated_at, email_key) "
	  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	  "fu_email_key(?5))" },
	{ STMT_CONTACT_GET,
	  "SELECT " CONTACT_COLUMNS " FROM contacts c "
	  "WHERE c.id = ?1 AND (?2 IS NULL OR c.owner = ?2)" },
	{ STMT_CONTACT_UPDATE,
	  "UPDATE contacts SET name = ?3, company = ?4, phone = ?5, "
	  "email = ?6, tz = ?7, stage = ?8, notes = ?9, updated_at = ?10, "
	  "email_key = fu_email_key(?6) "
	  "WHERE id = ?1 AND owner = ?2" },
	{ STMT_CONTACT_ARCHIVE,
	  "UPDATE contacts SET archived_at = ?3, updated_at = ?4 "
	  "WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)" },
	{ STMT_CONTACT_CANCEL_PENDING,
	  "UPDATE followups SET status = 'cancelled', done_at = ?2, "
	  "updated_at = ?2, note = ?3, notice_at = NULL "
	  "WHERE contact_id = ?1 AND status = 'pending'" },
	{ STMT_CONTACT_LIST,
	  "SELECT " CONTACT_COLUMNS " FROM contacts c "
	  "WHERE c.owner = ?1 AND c.id > ?2 "
	  "AND (c.archived_at IS NOT NULL) = ?3 "
	  "AND (?4 IS NULL OR c.stage = ?4) AND " CONTACT_SEARCH("?5")
	  " ORDER BY c.id LIMIT ?6" },
	{ STMT_CONTACT_LIST_ALL,		/* the team's: ?1 is NULL */
	  "SELECT " CONTACT_COLUMNS " FROM contacts c "
	  "WHERE ?1 IS NULL AND c.id > ?2 "
	  "AND (c.archived_at IS NOT NULL) = ?3 "
	  "AND (?4 IS NULL OR c.stage = ?4) AND " CONTACT_SEARCH("?5")
	  " ORDER BY c.id LIMIT ?6" },
	{ STMT_CONTACT_REASSIGN,
	  "UPDATE contacts SET owner = ?2, updated_at = ?3 WHERE id = ?1" },
	{ STMT_CONTACT_REASSIGN_FOLLOWUPS,
	  "UPDATE followups SET owner = ?2, updated_at = ?3 "
	  "WHERE contact_id = ?1 AND status = 'pending'" },
	{ STMT_CONTACT_REASSIGN_INTERACTIONS,
	  "UPDATE interactions SET owner = ?2 WHERE contact_id = ?1" },
	/* Walks contacts_stale (schema 5) in order and stops at the limit. */
	{ STMT_CONTACT_STALE,
	  "SELECT " CONTACT_COLUMNS " FROM contacts c "
	  "WHERE c.owner = ?1 AND c.archived_at IS NULL "
	  "AND c.stage IN (SELECT value FROM json_each(?2)) "
	  "AND coalesce(c.last_activity_at, c.created_at) < ?3 "
	  "AND NOT EXISTS (SELECT 1 FROM followups f "
	  "  WHERE f.contact_id = c.id AND f.status = 'pending') "
	  "ORDER BY coalesce(c.last_activity_at, c.created_at), c.id "
	  "LIMIT ?4" },
	{ STMT_CONTACT_STALE_ALL,	/* the team's: ?1 is NULL */
	  "SELECT " CONTACT_COLUMNS " FROM contacts c "
	  "WHERE ?1 IS NULL AND c.archived_at IS NULL "
	  "AND c.stage IN (SELECT value FROM json_each(?2)) "
	  "AND coalesce(c.last_activity_at, c.created_at) < ?3 "
	  "AND NOT EXISTS (SELECT 1 FROM followups f "
	  "  WHERE f.contact_id = c.id AND f.status = 'pending') "
	  "ORDER BY coalesce(c.last_activity_at, c.created_at), c.id "
	  "LIMIT ?4" },
	{ STMT_CONTACT_TOUCH,
	  "UPDATE contacts SET last_activity_at = "
	  "max(coalesce(last_activity_at, 0), ?2) WHERE id = ?1" },
	{ STMT_CONTACT_DUMP,		/* ?1 NULL: the team's */
	  "SELECT " CONTACT_COLUMNS " FROM contacts c "
	  "WHERE (?1 IS NULL OR c.owner = ?1) AND c.id > ?2 "
	  "ORDER BY c.id LIMIT ?3" },
	{ STMT_CONTACT_FIND_EMAIL,
	  "SELECT c.id FROM contacts c "
	  "WHERE c.owner = ?1 AND c.email_key = fu_email_key(?2) "
	  "ORDER BY c.id LIMIT ?3" },
	/* The counts the triggers keep (schema 3). */
	{ STMT_COUNT_CONTACTS,
	  "SELECT coalesce((SELECT contacts FROM owner_counts "
	  "WHERE owner = ?1), 0)" },
	{ STMT_COUNT_INTERACTIONS,
	  "SELECT coalesce((SELECT interactions FROM owner_counts "
	  "WHERE owner = ?1), 0)" },
	{ STMT_COUNT_PENDING,
	  "SELECT coalesce((SELECT pending FROM owner_counts "
	  "WHERE owner = ?1), 0), "
	  "(SELECT count(*) FROM followups "
	  "WHERE owner = ?1 AND status = 'pending' AND due_at < ?2)" },
	/* The team's, summed from the same table: a few rows, one per rep. */
	{ STMT_COUNT_TEAM,
	  "SELECT coalesce(sum(contacts > 0), 0), coalesce(sum(contacts), 0), "
	  "coalesce(sum(pending), 0) FROM owner_counts" },
	{ STMT_COUNT, NULL }
};

static enum store_result store_sqlite_contact_cancel_pending(struct store *,
		     int64_t, time_t, const char *, int *);

/* Read the current row of a CONTACT_COLUMNS statement into c. */
static void
store_contact_row(sqlite3_stmt *s, struct fu_contact *c)
{
	c->id = sqlite3_column_int64(s, 0);
	c->owner = store_col_text(s, 1);
	c->name = store_col_text(s, 2);
	c->company = store_col_text(s, 3);
	c->phone = store_col_text(s, 4);
	c->email = store_col_text(s, 5);
	c->tz = store_col_text(s, 6);
	c->stage = store_col_text(s, 7);
	c->notes = store_col_text(s, 8);
	c->archived_at = store_col_time(s, 9);
	c->last_activity_at = store_col_time(s, 10);
	c->created_at = store_col_time(s, 11);
	c->updated_at = store_col_time(s, 12);
}

/* Run a CONTACT_COLUMNS query, calling cb for each row until it says stop. */
static enum store_result
store_contact_each(struct store *st, sqlite3_stmt *s, store_contact_cb cb,
    void *arg)
{
	struct fu_contact	c;
	int			rc = SQLITE_DONE, stop = 0;

	while (!stop && (rc = store_step(st, s)) == SQLITE_ROW) {
		memset(&c, 0, sizeof c);
		store_contact_row(s, &c);
		stop = cb(&c, arg);
		fu_contact_clear(&c);
	}
	if (!stop && rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * Insert a new contact from c (owner, name, stage and the optional fields;
 * created_at set by the caller) and set c->id.  Needs a write transaction.
 */
static enum store_result
store_sqlite_contact_insert(struct store *st, struct fu_contact *c)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_CONTACT_INSERT);
	int		 rc;

	store_bind_text(s, 1, c->owner);
	store_bind_text(s, 2, c->name);
	store_bind_text(s, 3, c->company);
	store_bind_text(s, 4, c->phone);
	store_bind_text(s, 5, c->email);
	store_bind_text(s, 6, c->tz);
	store_bind_text(s, 7, c->stage);
	store_bind_text(s, 8, c->notes);
	sqlite3_bind_int64(s, 9, c->created_at);
	sqlite3_bind_int64(s, 10, c->updated_at);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	c->id = sqlite3_last_insert_rowid(st->db);

	/* Every owner is a rep the schedule knows (for the digest). */
	s = store_stmt(st, STMT_USER_ENSURE);
	store_bind_text(s, 1, c->owner);
	sqlite3_bind_int64(s, 2, c->created_at);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * Give contact id to rep to, with its open follow-ups and its history of
 * interactions (closed follow-ups stay with the rep who closed them, for
 * the report).  Set *moved to the number of follow-ups that moved.  Needs
 * a write transaction.
 */
static enum store_result
store_sqlite_contact_reassign(struct store *st, int64_t id, const char *to,
    time_t now, int *moved)
{
	static const enum store_stmt	 slots[] = { STMT_CONTACT_REASSIGN,
	    STMT_CONTACT_REASSIGN_FOLLOWUPS, STMT_CONTACT_REASSIGN_INTERACTIONS,
	    STMT_USER_ENSURE };
	sqlite3_stmt			*s;
	size_t				 i;
	int				 rc;

	*moved = 0;
	for (i = 0; i < sizeof slots / sizeof slots[0]; i++) {
		s = store_stmt(st, slots[i]);
		if (slots[i] == STMT_USER_ENSURE) {
			store_bind_text(s, 1, to);
			sqlite3_bind_int64(s, 2, now);
		} else {
			sqlite3_bind_int64(s, 1, id);
			store_bind_text(s, 2, to);
			if (slots[i] != STMT_CONTACT_REASSIGN_INTERACTIONS)
				sqlite3_bind_int64(s, 3, now);
		}
		if ((rc = store_step(st, s)) != SQLITE_DONE)
			return store_fail(st, s, rc);
		store_done(s);
		if (slots[i] == STMT_CONTACT_REASSIGN &&
		    sqlite3_changes(st->db) != 1)
			return STORE_NOT_FOUND;
		if (slots[i] == STMT_CONTACT_REASSIGN_FOLLOWUPS)
			*moved = sqlite3_changes(st->db);
	}
	return STORE_OK;
}

/*
 * Fill c with contact id if owner owns it (any owner's if owner is NULL).
 * Return STORE_NOT_FOUND if there is none (or it is someone else's).  On
 * STORE_OK the caller clears c.
 */
static enum store_result
store_sqlite_contact_get(struct store *st, const char *owner, int64_t id,
    struct fu_contact *c)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_CONTACT_GET);
	int		 rc;

	memset(c, 0, sizeof *c);
	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, owner);
	rc = store_step(st, s);
	if (rc == SQLITE_DONE) {
		store_done(s);
		return STORE_NOT_FOUND;
	}
	if (rc != SQLITE_ROW)
		return store_fail(st, s, rc);
	store_contact_row(s, c);
	store_done(s);
	return STORE_OK;
}

/* Write every editable field of c (matched by id and owner). */
static enum store_result
store_sqlite_contact_update(struct store *st, const struct fu_contact *c)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_CONTACT_UPDATE);
	int		 rc;

	sqlite3_bind_int64(s, 1, c->id);
	store_bind_text(s, 2, c->owner);
	store_bind_text(s, 3, c->name);
	store_bind_text(s, 4, c->company);
	store_bind_text(s, 5, c->phone);
	store_bind_text(s, 6, c->email);
	store_bind_text(s, 7, c->tz);
	store_bind_text(s, 8, c->stage);
	store_bind_text(s, 9, c->notes);
	sqlite3_bind_int64(s, 10, c->updated_at);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return sqlite3_changes(st->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
}

/*
 * Archive contact id at time now (or restore it when archive is 0).
 * Archiving cancels its pending follow-ups; *cancelled says how many.
 * Needs a write transaction.
 */
static enum store_result
store_sqlite_contact_set_archived(struct store *st, const char *owner,
    int64_t id, int archive, time_t now, int *cancelled)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_CONTACT_ARCHIVE);
	int		 rc;

	*cancelled = 0;
	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, owner);
	store_bind_time(s, 3, archive ? now : 0);
	sqlite3_bind_int64(s, 4, now);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	if (sqlite3_changes(st->db) != 1)
		return STORE_NOT_FOUND;
	if (!archive)
		return STORE_OK;

	return store_sqlite_contact_cancel_pending(st, id, now,
	    "contact archived", cancelled);
}

/*
 * Cancel every pending follow-up of contact id with note; set *cancelled
 * to how many.  Needs a write transaction.
 */
static enum store_result
store_sqlite_contact_cancel_pending(struct store *st, int64_t id, time_t now,
    const char *note, int *cancelled)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_CONTACT_CANCEL_PENDING);
	int		 rc;

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	store_bind_text(s, 3, note);
	if ((rc = store_step(st, s)) != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	*cancelled = sqlite3_changes(st->db);
	return STORE_OK;
}

/* Turn free text into a LIKE pattern that matches it anywhere. */
static char *
store_like_pattern(const char *text)
{
	char	*p, *q;

	p = q = xmalloc(strlen(text) * 2 + 3);
	*q++ = '%';
	for (; *text != '\0'; text++) {
		if (*text == '%' || *text == '_' || *text == '\\')
			*q++ = '\\';
		*q++ = *text;
	}
	*q++ = '%';
	*q = '\0';
	return p;
}

/* Call cb for each contact matching f, by id. */
static enum store_result
store_sqlite_contact_list(struct store *st,
    const struct store_contact_filter *f, store_contact_cb cb, void *arg)
{
	sqlite3_stmt		*s;
	char			*pattern = NULL;
	enum store_result	 r;

	s = store_stmt(st, f->owner != NULL ? STMT_CONTACT_LIST :
	    STMT_CONTACT_LIST_ALL);
	store_bind_text(s, 1, f->owner);
	sqlite3_bind_int64(s, 2, f->after);
	sqlite3_bind_int(s, 3, f->archived ? 1 : 0);
	store_bind_text(s, 4, f->stage);
	if (f->search != NULL)
		pattern = store_like_pattern(f->search);
	store_bind_text(s, 5, pattern);
	sqlite3_bind_int(s, 6, f->limit);
	r = store_contact_each(st, s, cb, arg);
	free(pattern);
	return r;
}

/*
 * Call cb for the next page of owner's contacts (the whole team's if owner
 * is NULL), archived ones too: at most limit of them with an id above
 * after, by id.  An export walks them a page at a time.
 */
static enum store_result
store_sqlite_contact_dump(struct store *st, const char *owner, int64_t after,
    int limit, store_contact_cb cb, void *arg)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_CONTACT_DUMP);

	store_bind_text(s, 1, owner);
	sqlite3_bind_int64(s, 2, after);
	sqlite3_bind_int(s, 3, limit);
	return store_contact_each(st, s, cb, arg);
}

/*
 * Find owner's contacts whose email is email in any case (Unicode case
 * folding, by the email_key every write keeps; see fold.c): fill ids with
 * up to max of them, lowest id first, and set *n to how many were filled.
 * Archived contacts count too.
 */
static enum store_result
store_sqlite_contact_find_email(struct store *st, const char *owner,
    const char *email, int64_t *ids, size_t max, size_t *n)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_CONTACT_FIND_EMAIL);
	int		 rc;

	*n = 0;
	store_bind_text(s, 1, owner);
	store_bind_text(s, 2, email);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
	while ((rc = store_step(st, s)) == SQLITE_ROW)
		ids[(*n)++] = sqlite3_column_int64(s, 0);
	if (rc != SQLITE_DONE)
		return store_fail(st, s, rc);
	store_done(s);
	return STORE_OK;
}

/*
 * Call cb for owner's stale contacts (owner NULL: the team's): in an open
 * stage, not archived, with no pending follow-up and no activity since
 * ss->after before now.
 */
static enum store_result
store_sqlite_contact_stale(struct store *st, const char *owner,
    const struct store_stale *ss, time_t now, int limit, store_contact_cb cb,
    void *arg)
{
	sqlite3_stmt		*s = store_stmt(st, owner != NULL ?
				    STMT_CONTACT_STALE : STMT_CONTACT_STALE_ALL);

	store_bind_stale(s, owner, ss, now, limit);
	return store_contact_each(st, s, cb, arg);
}

/* Read one count with owner (and now) bound. */
static int
store_count(struct store *st, enum store_stmt slot, const char *owner,
    time_t now, int64_t *a, int64_t *b)
{
	sqlite3_stmt	*s = store_stmt(st, slot);
	int		 rc;

	store_bind_text(s, 1, owner);
	if (b != NULL)
		sqlite3_bind_int64(s, 2, now);
	if ((rc = store_step(st, s)) != SQLITE_ROW) {
		store_fail(st, s, rc);
		return -1;
	}
	*a = sqlite3_column_int64(s, 0);
	if (b != NULL)
		*b = sqlite3_column_int64(s, 1);
	store_done(s);
	return 0;
}

/*
 * Owner's counts: contacts (not archived), interactions, follow-ups
 * pending and overdue (pending and past due at now).
 */
static enum store_result
store_sqlite_contact_counts(struct store *st, const char *owner, time_t now,
    struct store_contact_counts *n)
{
	memset(n, 0, sizeof *n);
	if (store_count(st, STMT_COUNT_CONTACTS, owner, now, &n->contacts,
	    NULL) != 0 ||
	    store_count(st, STMT_COUNT_INTERACTIONS, owner, now,
	    &n->interactions, NULL) != 0 ||
	    store_count(st, STMT_COUNT_PENDING, owner, now, &n->pending,
	    &n->overdue) != 0)
		return st->last;
	return STORE_OK;
}

/*
 * The team's counts, for the line systemd shows: reps with live contacts,
 * live contacts and pending follow-ups.  Cheap at any size: it sums the
 * per-rep counts the triggers keep.
 */
static enum store_result
store_sqlite_team_counts(struct store *st, int64_t *reps, int64_t *contacts,
    int64_t *pending)
{
	sqlite3_stmt	*s = store_stmt(st, STMT_COUNT_TEAM);
	int		 rc;

	if ((rc = store_step(st, s)) != SQLITE_ROW)
		return store_fail(st, s, rc);
	*reps = sqlite3_column_int64(s, 0);
	*contacts = sqlite3_column_int64(s, 1);
	*pending = sqlite3_column_int64(s, 2);
	store_done(s);
	return STORE_OK;
}

/* The contact operations of the SQLite backend. */
const struct store_contact_backend store_sqlite_contact = {
	.insert = store_sqlite_contact_insert,
	.get = store_sqlite_contact_get,
	.update = store_sqlite_contact_update,
	.cancel_pending = store_sqlite_contact_cancel_pending,
	.set_archived = store_sqlite_contact_set_archived,
	.reassign = store_sqlite_contact_reassign,
	.list = store_sqlite_contact_list,
	.dump = store_sqlite_contact_dump,
	.find_email = store_sqlite_contact_find_email,
	.stale = store_sqlite_contact_stale,
	.counts = store_sqlite_contact_counts,
	.team_counts = store_sqlite_team_counts,
};
