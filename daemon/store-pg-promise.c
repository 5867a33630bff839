/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The PostgreSQL store's promises: each time agreed for a callback, and
 * each re-agreement, kept as the callback's history.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "store-pg-internal.h"

static enum store_result
store_pg_promise_add(struct store *st, const struct fu_promise *p)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, p->followup_id);
	store_pg_param_int(&ps, p->at);
	store_pg_param_text(&ps, p->what);
	store_pg_param_int(&ps, p->due_at);
	if (p->previous_due_at != 0)
		store_pg_param_int(&ps, p->previous_due_at);
	else
		store_pg_param_null(&ps);
	store_pg_param_int(&ps, p->was_missed);
	store_pg_param_text(&ps, p->note);
	if ((res = store_pg_query(STORE_PG(st), "INSERT INTO promises "
	    "(followup_id, at, what, due_at, previous_due_at, was_missed, "
	    "note) VALUES ($1, $2, $3, $4, $5, $6, $7)", &ps, &r)) == NULL)
		return r;
	PQclear(res);
	return STORE_OK;
}

/*
 * The promises of a contact's last limit callbacks, newest callback
 * first, each callback's promises in the order they were made.
 */
static enum store_result
store_pg_promise_list(struct store *st, const char *owner,
    int64_t contact_id, int limit, store_promise_cb cb, void *arg)
{
	struct store_pg_params	 ps;
	struct fu_promise	 p;
	PGresult		*res;
	enum store_result	 r;
	int			 i, n, stop = 0;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, contact_id);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, limit);
	if ((res = store_pg_query(STORE_PG(st), "SELECT p.followup_id, "
	    "p.at, p.what, p.due_at, p.previous_due_at, p.was_missed, "
	    "p.note, f.status, f.done_at FROM promises p "
	    "JOIN followups f ON f.id = p.followup_id "
	    "WHERE f.id IN (SELECT id FROM followups WHERE contact_id = $1 "
	    "AND owner = $2 AND kind = 'callback' "
	    "ORDER BY created_at DESC, id DESC LIMIT $3) "
	    "ORDER BY f.created_at DESC, f.id DESC, p.id", &ps, &r)) == NULL)
		return r;
	n = PQntuples(res);
	for (i = 0; i < n && !stop; i++) {
		memset(&p, 0, sizeof p);
		p.followup_id = store_pg_col_int(res, i, 0, 0);
		p.at = (time_t)store_pg_col_int(res, i, 1, 0);
		p.what = store_pg_col_text(res, i, 2);
		p.due_at = (time_t)store_pg_col_int(res, i, 3, 0);
		p.previous_due_at = (time_t)store_pg_col_int(res, i, 4, 0);
		p.was_missed = (int)store_pg_col_int(res, i, 5, 0);
		p.note = store_pg_col_text(res, i, 6);
		p.status = store_pg_col_text(res, i, 7);
		p.done_at = (time_t)store_pg_col_int(res, i, 8, 0);
		stop = cb(&p, arg);
		free(p.what);
		free(p.note);
		free(p.status);
	}
	PQclear(res);
	return STORE_OK;
}

/* The time last agreed for a callback; *due is left alone if none. */
static enum store_result
store_pg_promise_last(struct store *st, int64_t followup_id, time_t *due)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, followup_id);
	if ((res = store_pg_query(STORE_PG(st), "SELECT due_at FROM promises "
	    "WHERE followup_id = $1 ORDER BY id DESC LIMIT 1", &ps,
	    &r)) == NULL)
		return r;
	if (PQntuples(res) == 1)
		*due = (time_t)store_pg_col_int(res, 0, 0, 0);
	PQclear(res);
	return STORE_OK;
}

const struct store_promise_backend store_pg_promise = {
	.add = store_pg_promise_add,
	.list = store_pg_promise_list,
	.last = store_pg_promise_last,
};
