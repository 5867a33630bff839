/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The PostgreSQL store's contacts.  The same answers as the SQLite store:
 * a search matches any field regardless of the case of its ASCII letters
 * (SQLite's LIKE; lower() under the "C" collation folds only those), an
 * email is found by the key fold.c makes, computed here and stored with
 * each write, and each rep's counts come from the triggers' table.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "store-pg-internal.h"

#define CONTACT_COLUMNS							\
	"c.id, c.owner, c.name, c.company, c.phone, c.email, c.tz, "	\
	"c.stage, c.notes, c.archived_at, c.last_activity_at, "		\
	"c.created_at, c.updated_at"

#define CONTACT_LIKE(col, p)						\
	"lower(" col " COLLATE \"C\") LIKE lower(" p " COLLATE \"C\") "	\
	"ESCAPE '\\'"
#define CONTACT_SEARCH(p)						\
	"(" p "::text IS NULL OR " CONTACT_LIKE("c.name", p) " OR "	\
	CONTACT_LIKE("c.company", p) " OR " CONTACT_LIKE("c.email", p)	\
	" OR " CONTACT_LIKE("c.phone", p) " OR "			\
	CONTACT_LIKE("c.notes", p) ")"

static enum store_result store_pg_contact_cancel_pending(struct store *,
		     int64_t, time_t, const char *, int *);

/* How many rows a statement changed. */
static int
store_pg_changes(PGresult *res)
{
	return atoi(PQcmdTuples(res));
}

/* Run a statement that returns no rows; *changed (if not NULL) its count. */
static enum store_result
store_pg_run(struct store *st, const char *sql,
    const struct store_pg_params *ps, int *changed)
{
	PGresult		*res;
	enum store_result	 r;

	if ((res = store_pg_query(STORE_PG(st), sql, ps, &r)) == NULL)
		return r;
	if (changed != NULL)
		*changed = store_pg_changes(res);
	PQclear(res);
	return STORE_OK;
}

static void
store_pg_contact_row(const PGresult *res, int i, struct fu_contact *c)
{
	c->id = store_pg_col_int(res, i, 0, 0);
	c->owner = store_pg_col_text(res, i, 1);
	c->name = store_pg_col_text(res, i, 2);
	c->company = store_pg_col_text(res, i, 3);
	c->phone = store_pg_col_text(res, i, 4);
	c->email = store_pg_col_text(res, i, 5);
	c->tz = store_pg_col_text(res, i, 6);
	c->stage = store_pg_col_text(res, i, 7);
	c->notes = store_pg_col_text(res, i, 8);
	c->archived_at = (time_t)store_pg_col_int(res, i, 9, 0);
	c->last_activity_at = (time_t)store_pg_col_int(res, i, 10, 0);
	c->created_at = (time_t)store_pg_col_int(res, i, 11, 0);
	c->updated_at = (time_t)store_pg_col_int(res, i, 12, 0);
}

/* Run a CONTACT_COLUMNS query, calling cb for each row until it says stop. */
static enum store_result
store_pg_contact_each(struct store *st, const char *sql,
    const struct store_pg_params *ps, store_contact_cb cb, void *arg)
{
	struct fu_contact	 c;
	PGresult		*res;
	enum store_result	 r;
	int			 i, n, stop = 0;

	if ((res = store_pg_query(STORE_PG(st), sql, ps, &r)) == NULL)
		return r;
	n = PQntuples(res);
	for (i = 0; i < n && !stop; i++) {
		memset(&c, 0, sizeof c);
		store_pg_contact_row(res, i, &c);
		stop = cb(&c, arg);
		fu_contact_clear(&c);
	}
	PQclear(res);
	return STORE_OK;
}

/* Every owner is a rep the schedule knows (for the digest). */
static enum store_result
store_pg_user_ensure(struct store *st, const char *name, time_t now)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, name);
	store_pg_param_int(&ps, now);
	return store_pg_run(st, "INSERT INTO users (name, created_at, "
	    "updated_at) VALUES ($1, $2, $2) ON CONFLICT (name) DO NOTHING",
	    &ps, NULL);
}

static enum store_result
store_pg_contact_insert(struct store *st, struct fu_contact *c)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;
	char			*key;

	key = c->email != NULL ? fold_text(c->email) : NULL;
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, c->owner);
	store_pg_param_text(&ps, c->name);
	store_pg_param_text(&ps, c->company);
	store_pg_param_text(&ps, c->phone);
	store_pg_param_text(&ps, c->email);
	store_pg_param_text(&ps, c->tz);
	store_pg_param_text(&ps, c->stage);
	store_pg_param_text(&ps, c->notes);
	store_pg_param_int(&ps, c->created_at);
	store_pg_param_int(&ps, c->updated_at);
	store_pg_param_text(&ps, key);
	res = store_pg_query(STORE_PG(st), "INSERT INTO contacts (owner, "
	    "name, company, phone, email, tz, stage, notes, created_at, "
	    "updated_at, email_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
	    "$9, $10, $11) RETURNING id", &ps, &r);
	free(key);
	if (res == NULL)
		return r;
	c->id = store_pg_col_int(res, 0, 0, 0);
	PQclear(res);
	return store_pg_user_ensure(st, c->owner, c->created_at);
}

static enum store_result
store_pg_contact_get(struct store *st, const char *owner, int64_t id,
    struct fu_contact *c)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	memset(c, 0, sizeof *c);
	store_pg_params_init(&ps);
	store_pg_param_int(&ps, id);
	store_pg_param_text(&ps, owner);
	if ((res = store_pg_query(STORE_PG(st), "SELECT " CONTACT_COLUMNS
	    " FROM contacts c WHERE c.id = $1 AND ($2::text IS NULL OR "
	    "c.owner = $2)", &ps, &r)) == NULL)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_NOT_FOUND;
	}
	store_pg_contact_row(res, 0, c);
	PQclear(res);
	return STORE_OK;
}

static enum store_result
store_pg_contact_update(struct store *st, const struct fu_contact *c)
{
	struct store_pg_params	 ps;
	enum store_result	 r;
	char			*key;
	int			 changed = 0;

	key = c->email != NULL ? fold_text(c->email) : NULL;
	store_pg_params_init(&ps);
	store_pg_param_int(&ps, c->id);
	store_pg_param_text(&ps, c->owner);
	store_pg_param_text(&ps, c->name);
	store_pg_param_text(&ps, c->company);
	store_pg_param_text(&ps, c->phone);
	store_pg_param_text(&ps, c->email);
	store_pg_param_text(&ps, c->tz);
	store_pg_param_text(&ps, c->stage);
	store_pg_param_text(&ps, c->notes);
	store_pg_param_int(&ps, c->updated_at);
	store_pg_param_text(&ps, key);
	r = store_pg_run(st, "UPDATE contacts SET name = $3, company = $4, "
	    "phone = $5, email = $6, tz = $7, stage = $8, notes = $9, "
	    "updated_at = $10, email_key = $11 WHERE id = $1 AND owner = $2",
	    &ps, &changed);
	free(key);
	if (r != STORE_OK)
		return r;
	return changed == 1 ? STORE_OK : STORE_NOT_FOUND;
}

static enum store_result
store_pg_contact_set_archived(struct store *st, const char *owner,
    int64_t id, int archive, time_t now, int *cancelled)
{
	struct store_pg_params	 ps;
	enum store_result	 r;
	int			 changed = 0;

	*cancelled = 0;
	store_pg_params_init(&ps);
	store_pg_param_int(&ps, id);
	store_pg_param_text(&ps, owner);
	if (archive)
		store_pg_param_int(&ps, now);
	else
		store_pg_param_null(&ps);
	store_pg_param_int(&ps, now);
	if ((r = store_pg_run(st, "UPDATE contacts SET archived_at = "
	    "$3::bigint, updated_at = $4 WHERE id = $1 AND ($2::text IS NULL "
	    "OR owner = $2)", &ps, &changed)) != STORE_OK)
		return r;
	if (changed != 1)
		return STORE_NOT_FOUND;
	if (!archive)
		return STORE_OK;
	return store_pg_contact_cancel_pending(st, id, now,
	    "contact archived", cancelled);
}

static enum store_result
store_pg_contact_cancel_pending(struct store *st, int64_t id, time_t now,
    const char *note, int *cancelled)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, id);
	store_pg_param_int(&ps, now);
	store_pg_param_text(&ps, note);
	return store_pg_run(st, "UPDATE followups SET status = 'cancelled', "
	    "done_at = $2, updated_at = $2, note = $3, notice_at = NULL "
	    "WHERE contact_id = $1 AND status = 'pending'", &ps, cancelled);
}

/*
 * Give contact id to rep to, with its open follow-ups and its history;
 * closed follow-ups stay with the rep who closed them.
 */
static enum store_result
store_pg_contact_reassign(struct store *st, int64_t id, const char *to,
    time_t now, int *moved)
{
	struct store_pg_params	 ps;
	enum store_result	 r;
	int			 changed = 0;

	*moved = 0;
	store_pg_params_init(&ps);
	store_pg_param_int(&ps, id);
	store_pg_param_text(&ps, to);
	store_pg_param_int(&ps, now);
	if ((r = store_pg_run(st, "UPDATE contacts SET owner = $2, "
	    "updated_at = $3 WHERE id = $1", &ps, &changed)) != STORE_OK)
		return r;
	if (changed != 1)
		return STORE_NOT_FOUND;
	if ((r = store_pg_run(st, "UPDATE followups SET owner = $2, "
	    "updated_at = $3 WHERE contact_id = $1 AND status = 'pending'",
	    &ps, moved)) != STORE_OK)
		return r;
	ps.n = 2;
	if ((r = store_pg_run(st, "UPDATE interactions SET owner = $2 "
	    "WHERE contact_id = $1", &ps, NULL)) != STORE_OK)
		return r;
	return store_pg_user_ensure(st, to, now);
}

/* Turn free text into a LIKE pattern that matches it anywhere. */
static char *
store_pg_like_pattern(const char *text)
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

static enum store_result
store_pg_contact_list(struct store *st, const struct store_contact_filter *f,
    store_contact_cb cb, void *arg)
{
	struct store_pg_params	 ps;
	enum store_result	 r;
	char			*pattern = NULL;

	if (f->search != NULL)
		pattern = store_pg_like_pattern(f->search);
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, f->owner);
	store_pg_param_int(&ps, f->after);
	store_pg_param_text(&ps, f->archived ? "true" : "false");
	store_pg_param_text(&ps, f->stage);
	store_pg_param_text(&ps, pattern);
	store_pg_param_int(&ps, f->limit);
	r = store_pg_contact_each(st, "SELECT " CONTACT_COLUMNS
	    " FROM contacts c WHERE ($1::text IS NULL OR c.owner = $1) "
	    "AND c.id > $2 AND (c.archived_at IS NOT NULL) = $3::boolean "
	    "AND ($4::text IS NULL OR c.stage = $4) AND "
	    CONTACT_SEARCH("$5") " ORDER BY c.id LIMIT $6", &ps, cb, arg);
	free(pattern);
	return r;
}

static enum store_result
store_pg_contact_dump(struct store *st, const char *owner, int64_t after,
    int limit, store_contact_cb cb, void *arg)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, after);
	store_pg_param_int(&ps, limit);
	return store_pg_contact_each(st, "SELECT " CONTACT_COLUMNS
	    " FROM contacts c WHERE ($1::text IS NULL OR c.owner = $1) "
	    "AND c.id > $2 ORDER BY c.id LIMIT $3", &ps, cb, arg);
}

static enum store_result
store_pg_contact_find_email(struct store *st, const char *owner,
    const char *email, int64_t *ids, size_t max, size_t *n)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;
	char			*key = fold_text(email);
	int			 i, rows;

	*n = 0;
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_text(&ps, key);
	store_pg_param_int(&ps, (int64_t)max);
	res = store_pg_query(STORE_PG(st), "SELECT c.id FROM contacts c "
	    "WHERE c.owner = $1 AND c.email_key = $2 ORDER BY c.id LIMIT $3",
	    &ps, &r);
	free(key);
	if (res == NULL)
		return r;
	rows = PQntuples(res);
	for (i = 0; i < rows && *n < max; i++)
		ids[(*n)++] = store_pg_col_int(res, i, 0, 0);
	PQclear(res);
	return STORE_OK;
}

static enum store_result
store_pg_contact_stale(struct store *st, const char *owner,
    const struct store_stale *ss, time_t now, int limit, store_contact_cb cb,
    void *arg)
{
	struct store_pg_params	 ps;
	enum store_result	 r;
	char			*stages = store_pg_text_array(
	    (const char *const *)ss->open_stages, ss->nopen);

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_text(&ps, stages);
	store_pg_param_int(&ps, now - ss->after);
	store_pg_param_int(&ps, limit);
	r = store_pg_contact_each(st, "SELECT " CONTACT_COLUMNS
	    " FROM contacts c WHERE ($1::text IS NULL OR c.owner = $1) "
	    "AND c.archived_at IS NULL AND c.stage = ANY ($2::text[]) "
	    "AND coalesce(c.last_activity_at, c.created_at) < $3 "
	    "AND NOT EXISTS (SELECT 1 FROM followups f "
	    "WHERE f.contact_id = c.id AND f.status = 'pending') "
	    "ORDER BY coalesce(c.last_activity_at, c.created_at), c.id "
	    "LIMIT $4", &ps, cb, arg);
	free(stages);
	return r;
}

static enum store_result
store_pg_contact_counts(struct store *st, const char *owner, time_t now,
    struct store_contact_counts *n)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	memset(n, 0, sizeof *n);
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, now);
	if ((res = store_pg_query(STORE_PG(st), "SELECT "
	    "coalesce((SELECT contacts FROM owner_counts WHERE owner = $1), "
	    "0), coalesce((SELECT interactions FROM owner_counts "
	    "WHERE owner = $1), 0), coalesce((SELECT pending "
	    "FROM owner_counts WHERE owner = $1), 0), (SELECT count(*) "
	    "FROM followups WHERE owner = $1 AND status = 'pending' AND "
	    "due_at < $2)", &ps, &r)) == NULL)
		return r;
	n->contacts = store_pg_col_int(res, 0, 0, 0);
	n->interactions = store_pg_col_int(res, 0, 1, 0);
	n->pending = store_pg_col_int(res, 0, 2, 0);
	n->overdue = store_pg_col_int(res, 0, 3, 0);
	PQclear(res);
	return STORE_OK;
}

static enum store_result
store_pg_team_counts(struct store *st, int64_t *reps, int64_t *contacts,
    int64_t *pending)
{
	PGresult		*res;
	enum store_result	 r;

	if ((res = store_pg_query(STORE_PG(st), "SELECT count(*) FILTER "
	    "(WHERE contacts > 0), coalesce(sum(contacts), 0), "
	    "coalesce(sum(pending), 0) FROM owner_counts", NULL, &r)) == NULL)
		return r;
	*reps = store_pg_col_int(res, 0, 0, 0);
	*contacts = store_pg_col_int(res, 0, 1, 0);
	*pending = store_pg_col_int(res, 0, 2, 0);
	PQclear(res);
	return STORE_OK;
}

/*
 * The contacts with the n ids, each as store_contact_get reads it for
 * owners[k]: out[k] for (ids[k], owners[k]), left zeroed when that
 * contact is not that rep's.  An id may come more than once.
 */
enum store_result
store_pg_contacts_among(struct store *st, const int64_t *ids,
    const char *const *owners, size_t n, struct fu_contact *out)
{
	PGresult		*res;
	enum store_result	 r;
	const char		*owner;
	int64_t			 id;
	size_t			 k;
	int			 i, nt;

	memset(out, 0, n * sizeof *out);
	if ((res = store_pg_query_ids(STORE_PG(st), "SELECT " CONTACT_COLUMNS
	    " FROM contacts c WHERE c.id = ANY ($1::bigint[])", ids, n,
	    &r)) == NULL)
		return r;
	nt = PQntuples(res);
	for (i = 0; i < nt; i++) {
		id = store_pg_col_int(res, i, 0, 0);
		owner = PQgetvalue(res, i, 1);
		for (k = 0; k < n; k++) {
			if (ids[k] == id && strcmp(owners[k], owner) == 0)
				store_pg_contact_row(res, i, &out[k]);
		}
	}
	PQclear(res);
	return STORE_OK;
}

const struct store_contact_backend store_pg_contact = {
	.insert = store_pg_contact_insert,
	.get = store_pg_contact_get,
	.update = store_pg_contact_update,
	.cancel_pending = store_pg_contact_cancel_pending,
	.set_archived = store_pg_contact_set_archived,
	.reassign = store_pg_contact_reassign,
	.list = store_pg_contact_list,
	.dump = store_pg_contact_dump,
	.find_email = store_pg_contact_find_email,
	.stale = store_pg_contact_stale,
	.counts = store_pg_contact_counts,
	.team_counts = store_pg_team_counts,
};
