/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The PostgreSQL store's figures for the team's report: the same rows in
 * the same order as the SQLite store's (names in the order of their
 * bytes, the "C" collation), each column handed over as text when it is
 * text and as a number when it is one.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "store-pg-internal.h"

/* PostgreSQL's type oids for text columns (pg_type.h). */
#define STORE_PG_TEXTOID	25
#define STORE_PG_VARCHAROID	1043

#define OWNERS								\
	"(SELECT owner FROM owner_counts WHERE $1::text IS NULL OR "	\
	"owner = $1)"

static enum store_result
store_pg_report_each(struct store *st, const char *sql,
    const struct store_pg_params *ps, store_report_cb cb, void *arg)
{
	struct store_report_row	 row;
	PGresult		*res;
	enum store_result	 r;
	int			 i, j, n, cols, stop = 0;
	Oid			 type;

	if ((res = store_pg_query(STORE_PG(st), sql, ps, &r)) == NULL)
		return r;
	n = PQntuples(res);
	cols = PQnfields(res);
	if (cols > STORE_REPORT_COLS)
		cols = STORE_REPORT_COLS;
	for (i = 0; i < n && !stop; i++) {
		memset(&row, 0, sizeof row);
		for (j = 0; j < cols; j++) {
			row.null[j] = PQgetisnull(res, i, j);
			if (row.null[j])
				continue;
			type = PQftype(res, j);
			if (type == STORE_PG_TEXTOID ||
			    type == STORE_PG_VARCHAROID)
				row.text[j] = store_pg_col_text(res, i, j);
			row.num[j] = strtoll(PQgetvalue(res, i, j), NULL, 10);
		}
		stop = cb(&row, arg);
		for (j = 0; j < cols; j++)
			free(row.text[j]);
	}
	PQclear(res);
	return STORE_OK;
}

static enum store_result
store_pg_report_stages(struct store *st, const char *owner,
    store_report_cb cb, void *arg)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	return store_pg_report_each(st, "SELECT owner COLLATE \"C\" AS o, "
	    "stage COLLATE \"C\" AS s, count(*) FROM contacts "
	    "WHERE owner IN " OWNERS " AND archived_at IS NULL "
	    "GROUP BY 1, 2 ORDER BY 1, 2", &ps, cb, arg);
}

/* Follow-ups due in [from, to), by the due time they missed if any. */
static enum store_result
store_pg_report_followups(struct store *st, const char *owner, time_t from,
    time_t to, store_report_cb cb, void *arg)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, from);
	store_pg_param_int(&ps, to);
	return store_pg_report_each(st, "SELECT f.id, f.owner COLLATE \"C\" "
	    "AS owner, f.kind, f.status, f.due_at, f.done_at, "
	    "(SELECT p.due_at FROM promises p WHERE p.followup_id = f.id "
	    "ORDER BY p.id DESC LIMIT 1), f.missed_due_at FROM followups f "
	    "WHERE f.owner IN " OWNERS " AND f.status IN ('pending', 'done', "
	    "'cancelled') AND f.missed_due_at IS NULL AND f.due_at >= $2 AND "
	    "f.due_at < $3 UNION ALL SELECT f.id, f.owner COLLATE \"C\", "
	    "f.kind, f.status, f.due_at, f.done_at, NULL::bigint, "
	    "f.missed_due_at FROM followups f WHERE ($1::text IS NULL OR "
	    "f.owner = $1) AND f.missed_due_at >= $2 AND f.missed_due_at < $3 "
	    "ORDER BY 2, 5, 1", &ps, cb, arg);
}

/* Per rep: follow-ups not yet due, and how many are callbacks. */
static enum store_result
store_pg_report_upcoming(struct store *st, const char *owner, time_t since,
    time_t now, store_report_cb cb, void *arg)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, since);
	store_pg_param_int(&ps, now);
	return store_pg_report_each(st, "SELECT f.owner COLLATE \"C\" AS o, "
	    "count(*) FILTER (WHERE f.missed_due_at IS NULL OR "
	    "f.missed_due_at < $2), count(*) FILTER (WHERE f.kind = "
	    "'callback') FROM followups f WHERE f.owner IN " OWNERS
	    " AND f.status = 'pending' AND f.due_at >= $3 "
	    "GROUP BY 1 ORDER BY 1", &ps, cb, arg);
}

/* The times agreed in [from, to), and whether the next one was missed. */
static enum store_result
store_pg_report_promises(struct store *st, const char *owner, time_t from,
    time_t to, store_report_cb cb, void *arg)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, from);
	store_pg_param_int(&ps, to);
	return store_pg_report_each(st, "SELECT f.owner COLLATE \"C\" AS o, "
	    "p.followup_id, p.due_at, f.status, f.done_at, "
	    "(SELECT n.was_missed FROM promises n WHERE n.followup_id = "
	    "p.followup_id AND n.id > p.id ORDER BY n.id LIMIT 1) "
	    "FROM promises p JOIN followups f ON f.id = p.followup_id "
	    "WHERE ($1::text IS NULL OR f.owner = $1) AND p.due_at >= $2 "
	    "AND p.due_at < $3 ORDER BY 1, p.id", &ps, cb, arg);
}

static enum store_result
store_pg_report_voicemails(struct store *st, const char *owner,
    time_t since, store_report_cb cb, void *arg)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_int(&ps, since);
	return store_pg_report_each(st, "SELECT i.owner COLLATE \"C\" AS o, "
	    "i.contact_id, c.name, c.tz, i.at FROM interactions i "
	    "JOIN contacts c ON c.id = i.contact_id WHERE i.owner IN " OWNERS
	    " AND i.at >= $2 AND i.outcome = 'voicemail' "
	    "ORDER BY 1, i.contact_id, i.at", &ps, cb, arg);
}

/* At most limit stale contacts per rep. */
static enum store_result
store_pg_report_stale(struct store *st, const char *owner,
    const struct store_stale *ss, time_t now, int limit, store_report_cb cb,
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
	r = store_pg_report_each(st, "SELECT c.id, c.owner COLLATE \"C\" "
	    "AS o, c.name, c.company, c.stage, "
	    "coalesce(c.last_activity_at, c.created_at) AS last "
	    "FROM owner_counts oc CROSS JOIN LATERAL (SELECT s.* "
	    "FROM contacts s WHERE s.owner = oc.owner AND "
	    "s.archived_at IS NULL AND s.stage = ANY ($2::text[]) AND "
	    "coalesce(s.last_activity_at, s.created_at) < $3 AND NOT EXISTS "
	    "(SELECT 1 FROM followups f WHERE f.contact_id = s.id AND "
	    "f.status = 'pending') ORDER BY coalesce(s.last_activity_at, "
	    "s.created_at), s.id LIMIT $4) c WHERE $1::text IS NULL OR "
	    "oc.owner = $1 ORDER BY 2, last, c.id", &ps, cb, arg);
	free(stages);
	return r;
}

const struct store_report_backend store_pg_report = {
	.stages = store_pg_report_stages,
	.followups = store_pg_report_followups,
	.upcoming = store_pg_report_upcoming,
	.promises = store_pg_report_promises,
	.voicemails = store_pg_report_voicemails,
	.stale = store_pg_report_stale,
};
