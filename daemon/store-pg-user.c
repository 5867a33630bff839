/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The PostgreSQL store's users: each rep's settings, by user name (the
 * same name on every node).
 */

#include <config.h>

#include <string.h>

#include "store-pg-internal.h"

#define USER_COLUMNS							\
	"name, uid, email, tz, digest, hours, workdays, updated_at, "	\
	"lead, display_name, phone, calendar"

static void
store_pg_user_row(const PGresult *res, int row, struct fu_user *u)
{
	u->name = store_pg_col_text(res, row, 0);
	u->uid = store_pg_col_int(res, row, 1, -1);
	u->email = store_pg_col_text(res, row, 2);
	u->tz = store_pg_col_text(res, row, 3);
	u->digest = store_pg_col_text(res, row, 4);
	u->hours = store_pg_col_text(res, row, 5);
	u->workdays = store_pg_col_text(res, row, 6);
	u->updated_at = (time_t)store_pg_col_int(res, row, 7, 0);
	u->lead = store_pg_col_text(res, row, 8);
	u->display_name = store_pg_col_text(res, row, 9);
	u->phone = store_pg_col_text(res, row, 10);
	u->calendar = store_pg_col_text(res, row, 11);
}

static enum store_result
store_pg_user_get(struct store *st, const char *name, struct fu_user *u)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	memset(u, 0, sizeof *u);
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, name);
	if ((res = store_pg_query(STORE_PG(st), "SELECT " USER_COLUMNS
	    " FROM users WHERE name = $1", &ps, &r)) == NULL)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		u->name = xstrdup(name);
		u->uid = -1;
		return STORE_NOT_FOUND;
	}
	store_pg_user_row(res, 0, u);
	PQclear(res);
	return STORE_OK;
}

static enum store_result
store_pg_user_list(struct store *st, store_user_cb cb, void *arg)
{
	PGresult		*res;
	struct fu_user		 u;
	enum store_result	 r;
	int			 i, n, stop = 0;

	if ((res = store_pg_query(STORE_PG(st), "SELECT " USER_COLUMNS
	    " FROM users ORDER BY name COLLATE \"C\"", NULL, &r)) == NULL)
		return r;
	n = PQntuples(res);
	for (i = 0; i < n && !stop; i++) {
		memset(&u, 0, sizeof u);
		store_pg_user_row(res, i, &u);
		stop = cb(&u, arg);
		fu_user_clear(&u);
	}
	PQclear(res);
	return STORE_OK;
}

/* Write a rep's settings; a change of them starts the digest afresh. */
static enum store_result
store_pg_user_put(struct store *st, const struct fu_user *u, time_t now)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	/* The nodes keep reps' settings in memory (hello's time zone). */
	STORE_PG(st)->notify_users = 1;
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, u->name);
	if (u->uid >= 0)
		store_pg_param_int(&ps, u->uid);
	else
		store_pg_param_null(&ps);
	store_pg_param_text(&ps, u->email);
	store_pg_param_text(&ps, u->tz);
	store_pg_param_text(&ps, u->digest);
	store_pg_param_text(&ps, u->hours);
	store_pg_param_text(&ps, u->workdays);
	store_pg_param_int(&ps, now);
	store_pg_param_text(&ps, u->lead);
	store_pg_param_text(&ps, u->display_name);
	store_pg_param_text(&ps, u->phone);
	store_pg_param_text(&ps, u->calendar);
	if ((res = store_pg_query(STORE_PG(st),
	    "INSERT INTO users (name, uid, email, tz, digest, hours, "
	    "workdays, lead, display_name, phone, calendar, created_at, "
	    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $10, $11, "
	    "$12, $8, $8) ON CONFLICT (name) DO UPDATE SET uid = $2, "
	    "email = $3, tz = $4, digest = $5, hours = $6, workdays = $7, "
	    "updated_at = $8, lead = $9, display_name = $10, phone = $11, "
	    "calendar = $12, digest_at = NULL", &ps, &r)) == NULL)
		return r;
	PQclear(res);
	return STORE_OK;
}

const struct store_user_backend store_pg_user = {
	.get = store_pg_user_get,
	.list = store_pg_user_list,
	.put = store_pg_user_put,
};
