/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The PostgreSQL store's follow-ups: the same lists in the same order as
 * the SQLite store (by due time, a callback first at the same time, a page
 * resuming after the exact key of the last row), and the notices due.
 */

#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store-pg-internal.h"

#define FOLLOWUP_FIELDS							\
	"f.id, f.contact_id, c.name, f.owner, f.kind, f.status, "	\
	"f.due_at, f.reason, f.remind_before, f.remind_at, f.snoozes, "	\
	"f.note, f.created_at, f.updated_at, f.done_at, c.tz, f.revision, "	\
	"f.automatic, f.proposed_at "
#define FOLLOWUP_FROM							\
	"FROM followups f JOIN contacts c ON c.id = f.contact_id "
#define FOLLOWUP_COLUMNS	FOLLOWUP_FIELDS FOLLOWUP_FROM

/* A NULL status ($2) means any of the three. */
#define FOLLOWUP_STATUS_IN						\
	"f.status IN (coalesce($2::text, 'pending'), "			\
	"coalesce($2::text, 'done'), coalesce($2::text, 'cancelled'))"
#define FOLLOWUP_ORDER							\
	" ORDER BY f.due_at, f.kind <> 'callback', f.id "
#define FOLLOWUP_AFTER							\
	" AND ($10::bigint IS NULL OR (f.due_at, f.kind <> 'callback', "	\
	"f.id) > ($8::bigint, $9::boolean, $10::bigint))"

static enum store_result store_pg_followup_close_at(struct store *,
		     const char *, int64_t, const char *, const char *, time_t,
		     time_t);

static void
store_pg_followup_row(const PGresult *res, int i, struct fu_followup *f)
{
	memset(f, 0, sizeof *f);
	f->id = store_pg_col_int(res, i, 0, 0);
	f->contact_id = store_pg_col_int(res, i, 1, 0);
	f->contact_name = store_pg_col_text(res, i, 2);
	f->owner = store_pg_col_text(res, i, 3);
	f->kind = store_pg_col_text(res, i, 4);
	f->status = store_pg_col_text(res, i, 5);
	f->due_at = (time_t)store_pg_col_int(res, i, 6, 0);
	f->reason = store_pg_col_text(res, i, 7);
	f->remind_before = (long)store_pg_col_int(res, i, 8, -1);
	f->remind_at = (time_t)store_pg_col_int(res, i, 9, 0);
	f->snoozes = (int)store_pg_col_int(res, i, 10, 0);
	f->note = store_pg_col_text(res, i, 11);
	f->created_at = (time_t)store_pg_col_int(res, i, 12, 0);
	f->updated_at = (time_t)store_pg_col_int(res, i, 13, 0);
	f->done_at = (time_t)store_pg_col_int(res, i, 14, 0);
	f->contact_tz = store_pg_col_text(res, i, 15);
	f->revision = (int)store_pg_col_int(res, i, 16, 0);
	f->automatic = (int)store_pg_col_int(res, i, 17, 0);
	f->proposed_at = (time_t)store_pg_col_int(res, i, 18, 0);
}

/* Run a FOLLOWUP_COLUMNS query; cb for each row until it says stop. */
static enum store_result
store_pg_followup_each(struct store *st, const char *sql,
    const struct store_pg_params *ps, store_followup_cb cb, void *arg,
    int *seen)
{
	struct fu_followup	 f;
	PGresult		*res;
	enum store_result	 r;
	int			 i, n, stop = 0;

	if ((res = store_pg_query(STORE_PG(st), sql, ps, &r)) == NULL)
		return r;
	n = PQntuples(res);
	for (i = 0; i < n && !stop; i++) {
		store_pg_followup_row(res, i, &f);
		if (PQnfields(res) > 20) {
			f.notice_stage = (int)store_pg_col_int(res, i, 19, 0);
			f.notice_at = (time_t)store_pg_col_int(res, i, 20, 0);
		}
		if (seen != NULL)
			(*seen)++;
		stop = cb(&f, arg);
		fu_followup_clear(&f);
	}
	PQclear(res);
	return STORE_OK;
}

static enum store_result
store_pg_followup_insert(struct store *st, struct fu_followup *f)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, f->contact_id);
	store_pg_param_text(&ps, f->owner);
	store_pg_param_text(&ps, f->kind);
	store_pg_param_int(&ps, f->due_at);
	store_pg_param_text(&ps, f->reason);
	if (f->remind_before >= 0)
		store_pg_param_int(&ps, f->remind_before);
	else
		store_pg_param_null(&ps);
	store_pg_param_int(&ps, f->remind_at);
	store_pg_param_int(&ps, f->created_at);
	store_pg_param_int(&ps, f->notice_stage);
	store_pg_param_time(&ps, f->notice_at);
	store_pg_param_int(&ps, f->automatic != 0);
	store_pg_param_time(&ps, f->proposed_at);
	if ((res = store_pg_query(STORE_PG(st), "INSERT INTO followups "
	    "(contact_id, owner, kind, status, due_at, reason, remind_before, "
	    "remind_at, created_at, updated_at, notice_stage, notice_at, "
	    "automatic, proposed_at) VALUES ($1, $2, $3, 'pending', $4, $5, "
	    "$6, $7, $8, $8, $9, $10, $11, $12) RETURNING id", &ps,
	    &r)) == NULL)
		return r;
	f->id = store_pg_col_int(res, 0, 0, 0);
	PQclear(res);
	return STORE_OK;
}

static enum store_result
store_pg_followup_get(struct store *st, const char *owner, int64_t id,
    struct fu_followup *f)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	memset(f, 0, sizeof *f);
	store_pg_params_init(&ps);
	store_pg_param_int(&ps, id);
	store_pg_param_text(&ps, owner);
	if ((res = store_pg_query(STORE_PG(st), "SELECT " FOLLOWUP_COLUMNS
	    "WHERE f.id = $1 AND ($2::text IS NULL OR f.owner = $2)", &ps,
	    &r)) == NULL)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_NOT_FOUND;
	}
	store_pg_followup_row(res, 0, f);
	PQclear(res);
	return STORE_OK;
}

static enum store_result
store_pg_followup_set_due(struct store *st, const struct fu_followup *f,
    int snooze, time_t missed, time_t now)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;
	int			 changed;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, f->id);
	store_pg_param_text(&ps, f->owner);
	store_pg_param_int(&ps, f->due_at);
	store_pg_param_int(&ps, f->remind_at);
	store_pg_param_int(&ps, snooze ? 1 : 0);
	store_pg_param_int(&ps, now);
	store_pg_param_int(&ps, f->notice_stage);
	store_pg_param_time(&ps, f->notice_at);
	store_pg_param_time(&ps, missed);
	if ((res = store_pg_query(STORE_PG(st), "UPDATE followups SET "
	    "due_at = $3, remind_at = $4, snoozes = snoozes + $5, "
	    "revision = revision + 1, updated_at = $6, notice_stage = $7, "
	    "notice_at = $8::bigint, "
	    "missed_due_at = coalesce(missed_due_at, $9::bigint) "
	    "WHERE id = $1 AND owner = $2 AND status = 'pending'", &ps,
	    &r)) == NULL)
		return r;
	changed = atoi(PQcmdTuples(res));
	PQclear(res);
	return changed == 1 ? STORE_OK : STORE_CONFLICT;
}

static enum store_result
store_pg_followup_close(struct store *st, const char *owner, int64_t id,
    const char *status, const char *note, time_t now)
{
	return store_pg_followup_close_at(st, owner, id, status, note, now,
	    now);
}

static enum store_result
store_pg_followup_close_at(struct store *st, const char *owner, int64_t id,
    const char *status, const char *note, time_t done_at, time_t now)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;
	int			 changed;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, id);
	store_pg_param_text(&ps, owner);
	store_pg_param_text(&ps, status);
	store_pg_param_text(&ps, note);
	store_pg_param_int(&ps, done_at);
	store_pg_param_int(&ps, now);
	if ((res = store_pg_query(STORE_PG(st), "UPDATE followups SET "
	    "status = $3, note = $4, done_at = $5, updated_at = $6, "
	    "notice_at = NULL WHERE id = $1 AND ($2::text IS NULL OR "
	    "owner = $2) AND status = 'pending'", &ps, &r)) == NULL)
		return r;
	changed = atoi(PQcmdTuples(res));
	PQclear(res);
	return changed == 1 ? STORE_OK : STORE_CONFLICT;
}

/*
 * The lists, as store_sqlite_followup_list makes them: by due time, or a
 * contact's closed ones newest first, or (closed_since) the calendar's.
 */
static enum store_result
store_pg_followup_list(struct store *st,
    const struct store_followup_filter *flt, store_followup_cb cb, void *arg)
{
	struct store_pg_params	 ps;
	const char		*sql;
	time_t			 from = flt->from;

	if (flt->after_id != 0 && flt->after_due > from)
		from = flt->after_due;
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, flt->owner);			/* $1 */
	if (flt->closed_recent) {
		store_pg_param_int(&ps, flt->limit);		/* $2 */
		store_pg_param_int(&ps, flt->contact_id);	/* $3 */
		sql = "SELECT " FOLLOWUP_COLUMNS "WHERE f.contact_id = $3 "
		    "AND ($1::text IS NULL OR f.owner = $1) AND "
		    "f.status IN ('done', 'cancelled') "
		    "ORDER BY f.done_at DESC, f.id DESC LIMIT $2";
	} else if (flt->closed_since != 0) {
		store_pg_param_int(&ps, flt->limit);		/* $2 */
		store_pg_param_int(&ps, flt->closed_since);	/* $3 */
		sql = "SELECT " FOLLOWUP_COLUMNS "WHERE ($1::text IS NULL OR "
		    "f.owner = $1) AND (f.status = 'pending' OR "
		    "(f.status IN ('done', 'cancelled') AND f.done_at >= $3))"
		    FOLLOWUP_ORDER "LIMIT $2";
	} else {
		store_pg_param_text(&ps, flt->status);		/* $2 */
		store_pg_param_int(&ps, from != 0 ? from : INT64_MIN);
		store_pg_param_int(&ps, flt->to != 0 ? flt->to : INT64_MAX);
		store_pg_param_int(&ps, flt->limit);		/* $5 */
		store_pg_param_int(&ps, flt->contact_id);	/* $6 */
		store_pg_param_null(&ps);			/* $7 */
		if (flt->after_id != 0) {
			store_pg_param_int(&ps, flt->after_due);
			store_pg_param_text(&ps, flt->after_plain ? "true" :
			    "false");
			store_pg_param_int(&ps, flt->after_id);
		} else {
			store_pg_param_null(&ps);
			store_pg_param_null(&ps);
			store_pg_param_null(&ps);
		}
		if (flt->contact_id != 0)
			sql = "SELECT " FOLLOWUP_COLUMNS "WHERE f.contact_id = "
			    "$6 AND ($1::text IS NULL OR f.owner = $1) AND "
			    FOLLOWUP_STATUS_IN " AND f.due_at >= $3 AND "
			    "f.due_at < $4 AND $7::bigint IS NULL"
			    FOLLOWUP_AFTER FOLLOWUP_ORDER "LIMIT $5";
		else
			sql = "SELECT " FOLLOWUP_COLUMNS "WHERE ($1::text IS "
			    "NULL OR f.owner = $1) AND " FOLLOWUP_STATUS_IN
			    " AND f.due_at >= $3 AND f.due_at < $4 AND "
			    "$6::bigint = 0 AND $7::bigint IS NULL"
			    FOLLOWUP_AFTER FOLLOWUP_ORDER "LIMIT $5";
	}
	return store_pg_followup_each(st, sql, &ps, cb, arg, NULL);
}

static enum store_result
store_pg_followup_dump(struct store *st, const char *owner,
    time_t closed_since, int64_t after, int limit, store_followup_cb cb,
    void *arg)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, after);
	store_pg_param_int(&ps, closed_since);
	store_pg_param_int(&ps, limit);
	return store_pg_followup_each(st, "SELECT " FOLLOWUP_COLUMNS
	    "WHERE ($1::text IS NULL OR f.owner = $1) AND f.id > $2 AND "
	    "($3 = 0 OR f.status = 'pending' OR f.done_at >= $3) "
	    "ORDER BY f.id LIMIT $4", &ps, cb, arg, NULL);
}

/* One number a query gives (0 for NULL). */
static enum store_result
store_pg_one(struct store *st, const char *sql,
    const struct store_pg_params *ps, int64_t *v)
{
	PGresult		*res;
	enum store_result	 r;

	*v = 0;
	if ((res = store_pg_query(STORE_PG(st), sql, ps, &r)) == NULL)
		return r;
	*v = store_pg_col_int(res, 0, 0, 0);
	PQclear(res);
	return STORE_OK;
}

static enum store_result
store_pg_followup_next_due(struct store *st, const char *owner, time_t *due)
{
	struct store_pg_params	 ps;
	enum store_result	 r;
	int64_t			 v;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	r = store_pg_one(st, "SELECT min(due_at) FROM followups "
	    "WHERE owner = $1 AND status = 'pending'", &ps, &v);
	*due = (time_t)v;
	return r;
}

static enum store_result
store_pg_followup_notices(struct store *st, const char *owner, time_t before,
    int limit, store_followup_cb cb, void *arg, int *n)
{
	struct store_pg_params	 ps;

	*n = 0;
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, before);
	store_pg_param_int(&ps, limit);
	return store_pg_followup_each(st, "SELECT " FOLLOWUP_FIELDS
	    ", f.notice_stage, f.notice_at " FOLLOWUP_FROM
	    "WHERE f.notice_at IS NOT NULL AND f.notice_at < $2 "
	    "AND f.status = 'pending' AND ($1::text IS NULL OR f.owner = $1) "
	    "ORDER BY f.notice_at, f.id LIMIT $3", &ps, cb, arg, n);
}

static enum store_result
store_pg_followup_count_due(struct store *st, const char *owner, time_t from,
    time_t to, int64_t *count)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, from);
	store_pg_param_int(&ps, to);
	return store_pg_one(st, "SELECT count(*) FROM followups "
	    "WHERE owner = $1 AND status = 'pending' AND due_at >= $2 AND "
	    "due_at < $3", &ps, count);
}

/* The follow-ups with the n ids (each once): out[k] for ids[k]. */
enum store_result
store_pg_followups_among(struct store *st, const int64_t *ids, size_t n,
    struct fu_followup *out)
{
	PGresult		*res;
	enum store_result	 r;
	int64_t			 id;
	size_t			 k;
	int			 i, nt;

	memset(out, 0, n * sizeof *out);
	if ((res = store_pg_query_ids(STORE_PG(st), "SELECT " FOLLOWUP_COLUMNS
	    "WHERE f.id = ANY ($1::bigint[])", ids, n, &r)) == NULL)
		return r;
	nt = PQntuples(res);
	for (i = 0; i < nt; i++) {
		id = store_pg_col_int(res, i, 0, 0);
		for (k = 0; k < n; k++) {
			if (ids[k] == id && out[k].id == 0) {
				store_pg_followup_row(res, i, &out[k]);
				break;
			}
		}
	}
	PQclear(res);
	return STORE_OK;
}

const struct store_followup_backend store_pg_followup = {
	.insert = store_pg_followup_insert,
	.get = store_pg_followup_get,
	.set_due = store_pg_followup_set_due,
	.close = store_pg_followup_close,
	.close_at = store_pg_followup_close_at,
	.list = store_pg_followup_list,
	.dump = store_pg_followup_dump,
	.next_due = store_pg_followup_next_due,
	.notices = store_pg_followup_notices,
	.count_due = store_pg_followup_count_due,
};
