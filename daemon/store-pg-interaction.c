/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The PostgreSQL store's history: a contact's interactions, newest first
 * a page at a time, and the whole history by id for an export.
 */

#include <config.h>

#include <string.h>

#include "store-pg-internal.h"

#define INTERACTION_COLUMNS						\
	"id, contact_id, owner, kind, outcome, note, at, created_at"

/* Logging an interaction also marks its contact's last activity. */
static enum store_result
store_pg_interaction_insert(struct store *st, struct fu_interaction *in)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, in->contact_id);
	store_pg_param_text(&ps, in->owner);
	store_pg_param_text(&ps, in->kind);
	store_pg_param_text(&ps, in->outcome);
	store_pg_param_text(&ps, in->note);
	store_pg_param_int(&ps, in->at);
	store_pg_param_int(&ps, in->created_at);
	if ((res = store_pg_query(STORE_PG(st), "INSERT INTO interactions "
	    "(contact_id, owner, kind, outcome, note, at, created_at) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id", &ps,
	    &r)) == NULL)
		return r;
	in->id = store_pg_col_int(res, 0, 0, 0);
	PQclear(res);
	store_pg_params_init(&ps);
	store_pg_param_int(&ps, in->contact_id);
	store_pg_param_int(&ps, in->at);
	if ((res = store_pg_query(STORE_PG(st), "UPDATE contacts SET "
	    "last_activity_at = greatest(coalesce(last_activity_at, 0), "
	    "$2::bigint) WHERE id = $1", &ps, &r)) == NULL)
		return r;
	PQclear(res);
	return STORE_OK;
}

/* Fill in from row i of an INTERACTION_COLUMNS result. */
static void
store_pg_interaction_row(const PGresult *res, int i, struct fu_interaction *in)
{
	memset(in, 0, sizeof *in);
	in->id = store_pg_col_int(res, i, 0, 0);
	in->contact_id = store_pg_col_int(res, i, 1, 0);
	in->owner = store_pg_col_text(res, i, 2);
	in->kind = store_pg_col_text(res, i, 3);
	in->outcome = store_pg_col_text(res, i, 4);
	in->note = store_pg_col_text(res, i, 5);
	in->at = (time_t)store_pg_col_int(res, i, 6, 0);
	in->created_at = (time_t)store_pg_col_int(res, i, 7, 0);
}

static enum store_result
store_pg_interaction_each(PGresult *res, store_interaction_cb cb, void *arg)
{
	struct fu_interaction	 in;
	int			 i, n = PQntuples(res), stop = 0;

	for (i = 0; i < n && !stop; i++) {
		store_pg_interaction_row(res, i, &in);
		stop = cb(&in, arg);
		fu_interaction_clear(&in);
	}
	PQclear(res);
	return STORE_OK;
}

/*
 * A contact's interactions since since, newest first, limit of them; a
 * page resumes before (before_at, before_id) when before_id is not 0.
 */
static enum store_result
store_pg_interaction_list(struct store *st, const char *owner,
    int64_t contact_id, time_t since, time_t before_at, int64_t before_id,
    int limit, store_interaction_cb cb, void *arg)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, contact_id);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, since);
	store_pg_param_int(&ps, limit);
	if (before_id != 0) {
		store_pg_param_int(&ps, before_at);
		store_pg_param_int(&ps, before_id);
	} else {
		store_pg_param_null(&ps);
		store_pg_param_null(&ps);
	}
	if ((res = store_pg_query(STORE_PG(st), "SELECT " INTERACTION_COLUMNS
	    " FROM interactions WHERE contact_id = $1 AND owner = $2 "
	    "AND at >= $3 AND ($6::bigint IS NULL OR "
	    "(at, id) < ($5::bigint, $6::bigint)) "
	    "ORDER BY at DESC, id DESC LIMIT $4", &ps, &r)) == NULL)
		return r;
	return store_pg_interaction_each(res, cb, arg);
}

/* The history by id after after, limit rows; owner NULL: the team's. */
static enum store_result
store_pg_interaction_dump(struct store *st, const char *owner, int64_t after,
    int limit, store_interaction_cb cb, void *arg)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, after);
	store_pg_param_int(&ps, limit);
	if ((res = store_pg_query(STORE_PG(st), "SELECT " INTERACTION_COLUMNS
	    " FROM interactions WHERE ($1::text IS NULL OR owner = $1) "
	    "AND id > $2 ORDER BY id LIMIT $3", &ps, &r)) == NULL)
		return r;
	return store_pg_interaction_each(res, cb, arg);
}

/*
 * The limit newest interactions (as store_interaction_list gives them)
 * of each of n contacts, each for the rep owners[k]: out[k] (nout[k] of
 * them, caller frees each and the array) for (contact_ids[k],
 * owners[k]).  A pair may come more than once.
 */
enum store_result
store_pg_interactions_recent(struct store *st, const int64_t *contact_ids,
    const char *const *owners, size_t n, int limit,
    struct fu_interaction **out, size_t *nout)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;
	char			*ids, *names;
	const char		*owner;
	int64_t			 cid;
	size_t			 k;
	int			 i, nt;

	memset(out, 0, n * sizeof *out);
	memset(nout, 0, n * sizeof *nout);
	ids = store_pg_int_array(contact_ids, n);
	names = store_pg_text_array(owners, (int)n);
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, ids);
	store_pg_param_text(&ps, names);
	store_pg_param_int(&ps, limit);
	res = store_pg_query(STORE_PG(st), "SELECT i.* FROM "
	    "(SELECT DISTINCT * FROM unnest ($1::bigint[], $2::text[])) "
	    "AS k (contact_id, owner) CROSS JOIN LATERAL "
	    "(SELECT " INTERACTION_COLUMNS " FROM interactions "
	    "WHERE contact_id = k.contact_id AND owner = k.owner "
	    "ORDER BY at DESC, id DESC LIMIT $3) AS i "
	    "ORDER BY i.contact_id, i.owner, i.at DESC, i.id DESC", &ps, &r);
	free(ids);
	free(names);
	if (res == NULL)
		return r;
	nt = PQntuples(res);
	for (i = 0; i < nt; i++) {
		cid = store_pg_col_int(res, i, 1, 0);
		owner = PQgetvalue(res, i, 2);
		for (k = 0; k < n; k++) {
			if (contact_ids[k] != cid ||
			    strcmp(owners[k], owner) != 0)
				continue;
			out[k] = xreallocarray(out[k], nout[k] + 1,
			    sizeof *out[k]);
			store_pg_interaction_row(res, i, &out[k][nout[k]++]);
		}
	}
	PQclear(res);
	return STORE_OK;
}

const struct store_interaction_backend store_pg_interaction = {
	.insert = store_pg_interaction_insert,
	.list = store_pg_interaction_list,
	.dump = store_pg_interaction_dump,
};
