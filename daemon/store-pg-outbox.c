/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The PostgreSQL store's schedule and outbox: the same answers as the
 * SQLite store's (store-outbox.c), and claims that hold when several
 * daemons share the database.  The notices due are taken with FOR UPDATE
 * SKIP LOCKED, so two daemons never record the same one; a delivery
 * handed to the daemon carries its node's name and a lease, so no other
 * node runs it until the lease runs out (the node died with it), and
 * writing the delivery's state ends the claim.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "store-pg-internal.h"

/*
 * How long a node's claim on a delivery keeps others off it (s): long
 * enough for any hook's run to be started and recorded, short enough
 * that the deliveries of a node that died go out soon after.
 */
#define STORE_PG_DELIVERY_LEASE	300

/* The rows of owner ($1; NULL: the team's) among the deliveries d. */
#define OUTBOX_OF_OWNER							\
	"deliveries d JOIN outbox o ON o.id = d.outbox_id WHERE "	\
	"($1::text IS NULL OR o.owner = $1) AND "

/* Run sql, which changes rows; *n (if not NULL) is how many. */
static enum store_result
store_pg_outbox_exec(struct store *st, const char *sql,
    const struct store_pg_params *ps, int64_t *n)
{
	PGresult		*res;
	enum store_result	 r;

	if ((res = store_pg_query(STORE_PG(st), sql, ps, &r)) == NULL)
		return r;
	if (n != NULL)
		*n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return STORE_OK;
}

/*
 * Read what the notices of the n rows show, three questions in all: the
 * follow-ups, their contacts, the contacts' latest interactions.  Behind
 * a slow link a claim would otherwise wait three round trips per notice.
 */
static enum store_result
store_pg_notice_read(struct store *st, struct store_notice_row *rows,
    size_t n)
{
	struct fu_followup	*f;
	struct fu_contact	*c;
	struct fu_interaction	**h;
	int64_t			*ids;
	const char		**owners;
	size_t			*nh, k;
	enum store_result	 r;

	ids = xreallocarray(NULL, n, sizeof *ids);
	owners = xreallocarray(NULL, n, sizeof *owners);
	f = xreallocarray(NULL, n, sizeof *f);
	c = xreallocarray(NULL, n, sizeof *c);
	h = xreallocarray(NULL, n, sizeof *h);
	nh = xreallocarray(NULL, n, sizeof *nh);
	for (k = 0; k < n; k++) {
		ids[k] = rows[k].followup_id;
		owners[k] = rows[k].owner;
	}
	memset(c, 0, n * sizeof *c);
	memset(h, 0, n * sizeof *h);
	memset(nh, 0, n * sizeof *nh);
	if ((r = store_pg_followups_among(st, ids, n, f)) != STORE_OK)
		goto out;
	for (k = 0; k < n; k++)
		ids[k] = f[k].contact_id;
	if ((r = store_pg_contacts_among(st, ids, owners, n, c)) != STORE_OK ||
	    (r = store_pg_interactions_recent(st, ids, owners, n,
	    STORE_NOTICE_HISTORY, h, nh)) != STORE_OK)
		goto out;
	for (k = 0; k < n; k++) {
		rows[k].read = 1;
		rows[k].followup = f[k];
		rows[k].contact = c[k];
		rows[k].history = h[k];
		rows[k].nhistory = nh[k];
	}
out:
	if (r != STORE_OK) {
		for (k = 0; k < n; k++) {
			fu_followup_clear(&f[k]);
			fu_contact_clear(&c[k]);
			while (nh[k] > 0)
				fu_interaction_clear(&h[k][--nh[k]]);
			free(h[k]);
		}
	}
	free(ids);
	free(owners);
	free(f);
	free(c);
	free(h);
	free(nh);
	return r;
}

/*
 * The follow-ups whose next notice falls by now, earliest first, at most
 * limit.  The rows stay locked until the transaction around this ends
 * (the claim's, which advances them): another daemon skips them rather
 * than recording the same notice.
 */
static enum store_result
store_pg_notice_due(struct store *st, time_t now, int limit,
    struct store_notice_row **rows, size_t *n)
{
	struct store_pg_params	 ps;
	struct store_notice_row	*r;
	PGresult		*res;
	enum store_result	 rc;
	int			 i, nt;

	*rows = NULL;
	*n = 0;
	store_pg_params_init(&ps);
	store_pg_param_int(&ps, now);
	store_pg_param_int(&ps, limit);
	if ((res = store_pg_query(STORE_PG(st), "SELECT id, owner, kind, "
	    "due_at, remind_at, notice_stage, notice_at FROM followups "
	    "WHERE notice_at <= $1 ORDER BY notice_at, id LIMIT $2 "
	    "FOR UPDATE SKIP LOCKED", &ps, &rc)) == NULL)
		return rc;
	nt = PQntuples(res);
	if (nt > 0)
		*rows = xcalloc(nt, sizeof **rows);
	for (i = 0; i < nt; i++) {
		r = &(*rows)[(*n)++];
		r->followup_id = store_pg_col_int(res, i, 0, 0);
		r->owner = store_pg_col_text(res, i, 1);
		r->callback = strcmp(PQgetvalue(res, i, 2), "callback") == 0;
		r->due_at = (time_t)store_pg_col_int(res, i, 3, 0);
		r->remind_at = (time_t)store_pg_col_int(res, i, 4, 0);
		r->stage = (int)store_pg_col_int(res, i, 5, 0);
		r->notice_at = (time_t)store_pg_col_int(res, i, 6, 0);
	}
	PQclear(res);
	if (*n > 0 && (rc = store_pg_notice_read(st, *rows, *n)) != STORE_OK) {
		store_notice_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		return rc;
	}
	return STORE_OK;
}

/*
 * Set the next notice of each follow-up of rows to its row's stage at its
 * notice_at (0: none left), in one statement: a claim makes one, not one
 * per notice.
 */
static enum store_result
store_pg_notice_advance(struct store *st, const struct store_notice_row *rows,
    size_t n)
{
	struct store_pg_params	 ps;
	struct store_pg_array	 a[3];
	enum store_result	 r;
	size_t			 i;
	int			 k;

	memset(a, 0, sizeof a);
	for (i = 0; i < n; i++) {
		store_pg_array_int(&a[0], rows[i].followup_id);
		store_pg_array_int(&a[1], rows[i].stage);
		if (rows[i].notice_at == 0)
			store_pg_array_raw(&a[2], "NULL");
		else
			store_pg_array_int(&a[2], rows[i].notice_at);
	}
	store_pg_params_init(&ps);
	for (k = 0; k < 3; k++)
		store_pg_param_text(&ps, store_pg_array_end(&a[k]));
	r = store_pg_outbox_exec(st, "UPDATE followups f SET notice_stage = "
	    "v.stage, notice_at = v.at FROM unnest ($1::bigint[], "
	    "$2::integer[], $3::bigint[]) AS v (id, stage, at) "
	    "WHERE f.id = v.id", &ps, NULL);
	for (k = 0; k < 3; k++)
		store_pg_array_free(&a[k]);
	return r;
}

/*
 * Record notice o in the ledger and queue it on each of the n channels,
 * as store_outbox_add says.  The ledger's unique index decides what is
 * already recorded, whichever daemon recorded it.  One statement, one
 * round trip to the server: a claim makes one per notice.
 */
static enum store_result
store_pg_outbox_add(struct store *st, struct store_outbox *o,
    const char *const *channels, int n, time_t now, int *created)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;
	char			*list;

	*created = 0;
	list = store_pg_text_array(channels, n);
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, o->owner);
	store_pg_param_text(&ps, o->kind);
	if (o->followup_id != 0)
		store_pg_param_int(&ps, o->followup_id);
	else
		store_pg_param_null(&ps);
	store_pg_param_int(&ps, o->due_at);
	store_pg_param_int(&ps, o->fire_at);
	store_pg_param_int(&ps, now);
	store_pg_param_int(&ps, o->late);
	store_pg_param_text(&ps, o->payload);
	store_pg_param_text(&ps, list);
	store_pg_param_int(&ps, o->hold > now ? o->hold : now);
	res = store_pg_query(STORE_PG(st), "WITH o AS (INSERT INTO outbox "
	    "(owner, kind, followup_id, due_at, fire_at, created_at, late, "
	    "payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
	    "ON CONFLICT DO NOTHING RETURNING id), "
	    "d AS (INSERT INTO deliveries (outbox_id, channel, next_at) "
	    "SELECT o.id, c.channel, $10 FROM o, "
	    "unnest ($9::text[]) AS c (channel) ON CONFLICT DO NOTHING) "
	    "SELECT id FROM o", &ps, &r);
	free(list);
	if (res == NULL)
		return r;
	if (PQntuples(res) == 1) {
		o->id = store_pg_col_int(res, 0, 0, 0);
		*created = 1;
	}
	PQclear(res);
	return STORE_OK;
}

/*
 * owner's notice of kind about follow-up fid held back past now and not
 * yet tried on any channel: *id, *fire and *payload (caller frees), or
 * *id 0 if there is none.
 */
static enum store_result
store_pg_outbox_held(struct store *st, const char *owner, const char *kind,
    int64_t fid, time_t now, int64_t *id, time_t *fire, char **payload)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	*id = 0;
	*payload = NULL;
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	store_pg_param_text(&ps, kind);
	store_pg_param_int(&ps, now);
	store_pg_param_int(&ps, fid);
	if ((res = store_pg_query(STORE_PG(st), "SELECT o.id, o.payload, "
	    "o.fire_at FROM outbox o WHERE o.owner = $1 AND o.kind = $2 "
	    "AND coalesce(o.followup_id, 0) = $4 AND o.fire_at > $3 "
	    "AND NOT EXISTS (SELECT 1 FROM deliveries d "
	    "WHERE d.outbox_id = o.id AND (d.status <> 'pending' "
	    "OR d.attempts > 0 OR d.next_at <= $3)) "
	    "ORDER BY o.fire_at, o.id LIMIT 1", &ps, &r)) == NULL)
		return r;
	if (PQntuples(res) == 1) {
		*id = store_pg_col_int(res, 0, 0, 0);
		*payload = store_pg_col_text(res, 0, 1);
		*fire = (time_t)store_pg_col_int(res, 0, 2, 0);
	}
	PQclear(res);
	return STORE_OK;
}

/* Replace the payload of held notice id. */
static enum store_result
store_pg_outbox_set_payload(struct store *st, int64_t id,
    const char *payload)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, id);
	store_pg_param_text(&ps, payload);
	return store_pg_outbox_exec(st, "UPDATE outbox SET payload = $2 "
	    "WHERE id = $1", &ps, NULL);
}

/*
 * Add the n notices of o and their deliveries, as store_outbox_add_many
 * says, in one statement: behind a slow link a claim would otherwise
 * wait a round trip for each notice.  The ledger's unique index decides
 * what is already recorded; what is new comes back with its place in o.
 */
static enum store_result
store_pg_outbox_add_many(struct store *st, struct store_outbox *o, size_t n,
    time_t now)
{
	struct store_pg_params	 ps;
	struct store_pg_array	 a[10];
	PGresult		*res;
	enum store_result	 r;
	size_t			 i;
	int			 j, row;

	memset(a, 0, sizeof a);
	for (i = 0; i < n; i++) {
		store_pg_array_text(&a[0], o[i].owner);
		store_pg_array_text(&a[1], o[i].kind);
		store_pg_array_int(&a[2], o[i].followup_id);
		store_pg_array_int(&a[3], o[i].due_at);
		store_pg_array_int(&a[4], o[i].fire_at);
		store_pg_array_int(&a[5], o[i].late);
		store_pg_array_text(&a[6], o[i].payload);
		store_pg_array_int(&a[7], o[i].hold > now ? o[i].hold : now);
		/* Its deliveries: (its place in o, from 1; the channel). */
		for (j = 0; j < o[i].nchannels; j++) {
			store_pg_array_int(&a[8], (int64_t)i + 1);
			store_pg_array_text(&a[9], o[i].channels[j]);
		}
	}
	store_pg_params_init(&ps);
	for (j = 0; j < 8; j++)
		store_pg_param_text(&ps, store_pg_array_end(&a[j]));
	store_pg_param_int(&ps, now);
	store_pg_param_text(&ps, store_pg_array_end(&a[8]));
	store_pg_param_text(&ps, store_pg_array_end(&a[9]));
	res = store_pg_query(STORE_PG(st), "WITH v AS (SELECT * FROM unnest "
	    "($1::text[], $2::text[], $3::bigint[], $4::bigint[], "
	    "$5::bigint[], $6::integer[], $7::text[], $8::bigint[]) "
	    "WITH ORDINALITY AS v (owner, kind, fid, due_at, fire_at, late, "
	    "payload, next_at, i)), "
	    "o AS (INSERT INTO outbox (owner, kind, followup_id, due_at, "
	    "fire_at, created_at, late, payload) "
	    "SELECT owner, kind, nullif(fid, 0), due_at, fire_at, $9, late, "
	    "payload FROM v ORDER BY i ON CONFLICT DO NOTHING "
	    "RETURNING id, owner, kind, coalesce(followup_id, 0) AS fid, "
	    "due_at), "
	    "m AS (SELECT v.i, o.id, v.next_at FROM v "
	    "JOIN o USING (owner, kind, fid, due_at)), "
	    "d AS (INSERT INTO deliveries (outbox_id, channel, next_at) "
	    "SELECT m.id, c.channel, m.next_at FROM m "
	    "JOIN unnest ($10::bigint[], $11::text[]) AS c (i, channel) "
	    "ON c.i = m.i ON CONFLICT DO NOTHING) "
	    "SELECT i, id FROM m", &ps, &r);
	for (j = 0; j < 10; j++)
		store_pg_array_free(&a[j]);
	if (res == NULL)
		return r;
	for (j = 0; j < PQntuples(res); j++) {
		row = (int)store_pg_col_int(res, j, 0, 0) - 1;
		if (row < 0 || (size_t)row >= n)
			continue;
		o[row].id = store_pg_col_int(res, j, 1, 0);
		o[row].created = 1;
	}
	PQclear(res);
	return STORE_OK;
}

/* Mark notice id as folded into summary (it is not sent on its own). */
static enum store_result
store_pg_outbox_fold(struct store *st, int64_t id, int64_t summary)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, id);
	store_pg_param_int(&ps, summary);
	return store_pg_outbox_exec(st, "UPDATE outbox SET folded_into = $2 "
	    "WHERE id = $1", &ps, NULL);
}

/*
 * The pending deliveries due by now, in the SQLite store's order
 * (the journal's first, then by channel, rep, claim and time), at most
 * limit, to cb until it returns non-zero.  Each is claimed for this node
 * with a lease first: rows another live node holds (locked, or leased
 * until after now) are skipped, so one delivery is run by one node,
 * however long its hook runs.  A node whose heartbeat went stale has
 * died (or lost the database): its claims are taken at once, and the
 * lease is the backstop should its row say nothing.
 * The claim is its own statement, in the pass's transaction if one is
 * open (a savepoint of its own, so a failure spoils nothing else).
 */
static enum store_result
store_pg_delivery_due(struct store *st, time_t now, int limit,
    store_delivery_cb cb, void *arg)
{
	struct store_pg		*p = STORE_PG(st);
	const struct store_txn_backend *t = p->base.backend->txn;
	struct store_pg_params	 ps;
	struct store_delivery	 d;
	PGresult		*res;
	enum store_result	 r;
	int			 i, n, in_txn = p->txn_open, stop = 0;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, now);
	store_pg_param_int(&ps, limit);
	store_pg_param_text(&ps, p->node);
	store_pg_param_int(&ps, STORE_PG_DELIVERY_LEASE);
	store_pg_param_int(&ps, STORE_PG_NODE_STALE);
	if (in_txn && (r = t->write_begin(st)) != STORE_OK)
		return r;
	res = store_pg_query(p,
	    "WITH c AS (SELECT d.outbox_id, d.channel FROM deliveries d "
	    "  JOIN outbox o ON o.id = d.outbox_id "
	    "  WHERE d.status = 'pending' AND d.next_at <= $1 "
	    "  AND (d.claimed_by IS NULL OR d.claimed_by = $3 "
	    "  OR d.lease_until IS NULL OR d.lease_until <= " STORE_PG_NOW
	    "  OR NOT EXISTS (SELECT 1 FROM nodes n "
	    "  WHERE n.name = d.claimed_by "
	    "  AND n.heartbeat_at > " STORE_PG_NOW " - $5)) "
	    "  ORDER BY d.channel <> 'journal', d.channel COLLATE \"C\", "
	    "  o.owner COLLATE \"C\", o.created_at, o.fire_at, d.outbox_id "
	    "  LIMIT $2 FOR UPDATE OF d SKIP LOCKED), "
	    "u AS (UPDATE deliveries SET claimed_by = $3, "
	    "  lease_until = " STORE_PG_NOW " + $4 "
	    "  FROM c WHERE deliveries.outbox_id = c.outbox_id "
	    "  AND deliveries.channel = c.channel) "
	    "SELECT d.outbox_id, d.channel, d.attempts, o.owner, o.kind, "
	    "o.fire_at, o.payload, o.created_at FROM c "
	    "JOIN deliveries d ON d.outbox_id = c.outbox_id "
	    "AND d.channel = c.channel JOIN outbox o ON o.id = d.outbox_id "
	    "ORDER BY d.channel <> 'journal', d.channel COLLATE \"C\", "
	    "o.owner COLLATE \"C\", o.created_at, o.fire_at, d.outbox_id",
	    &ps, &r);
	if (in_txn)
		t->write_end(st, res != NULL);
	if (res == NULL)
		return r;
	n = PQntuples(res);
	for (i = 0; i < n && !stop; i++) {
		d.outbox_id = store_pg_col_int(res, i, 0, 0);
		d.channel = PQgetvalue(res, i, 1);
		d.attempts = (int)store_pg_col_int(res, i, 2, 0);
		d.owner = PQgetvalue(res, i, 3);
		d.kind = PQgetvalue(res, i, 4);
		d.fire_at = (time_t)store_pg_col_int(res, i, 5, 0);
		d.payload = PQgetvalue(res, i, 6);
		d.claimed_at = (time_t)store_pg_col_int(res, i, 7, 0);
		stop = cb(&d, arg);
	}
	PQclear(res);
	return STORE_OK;
}

/*
 * Record the state of a delivery, as store_delivery_set says, and end
 * this node's claim on it: what happens next is in its state.
 */
static enum store_result
store_pg_delivery_set(struct store *st, int64_t outbox_id,
    const char *channel, const char *status, int attempts, time_t next_at,
    const char *error, time_t now)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, outbox_id);
	store_pg_param_text(&ps, channel);
	store_pg_param_text(&ps, status);
	store_pg_param_int(&ps, attempts);
	store_pg_param_int(&ps, next_at);
	store_pg_param_text(&ps, error);
	store_pg_param_time(&ps, strcmp(status, "sent") == 0 ? now : 0);
	store_pg_param_int(&ps, now);
	/* The last error and its time stay, as with SQLite. */
	return store_pg_outbox_exec(st, "UPDATE deliveries SET status = $3, "
	    "attempts = $4, next_at = $5, "
	    "last_error = coalesce($6::text, last_error), "
	    "error_at = CASE WHEN $6::text IS NULL THEN error_at "
	    "ELSE $8::bigint END, sent_at = $7::bigint, claimed_by = NULL, "
	    "lease_until = NULL WHERE outbox_id = $1 AND channel = $2", &ps,
	    NULL);
}

/*
 * A delivery starts: this node keeps its claim, with a lease as long as
 * the run may take (on the server's clock), and retries it from until
 * should it die.  Another node takes it over only once this node is dead
 * (its heartbeat stale) and until has passed, or once the lease ran out.
 */
static enum store_result
store_pg_delivery_start(struct store *st, int64_t outbox_id,
    const char *channel, int attempts, time_t until, time_t now)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, outbox_id);
	store_pg_param_text(&ps, channel);
	store_pg_param_int(&ps, attempts);
	store_pg_param_int(&ps, until);
	store_pg_param_text(&ps, STORE_PG(st)->node);
	store_pg_param_int(&ps, until > now ? until - now : 0);
	return store_pg_outbox_exec(st, "UPDATE deliveries SET status = "
	    "'pending', attempts = $3, next_at = $4, claimed_by = $5, "
	    "lease_until = " STORE_PG_NOW " + $6 "
	    "WHERE outbox_id = $1 AND channel = $2", &ps, NULL);
}

/*
 * The n deliveries of v take their new states, as store_delivery_start
 * and store_delivery_set say, in one statement: behind a slow link a
 * burst of deliveries would otherwise wait a round trip for each start
 * and each result.
 */
static enum store_result
store_pg_delivery_write(struct store *st,
    const struct store_delivery_state *v, size_t n)
{
	struct store_pg_params	 ps;
	struct store_pg_array	 a[9];
	enum store_result	 r;
	size_t			 i;
	int			 k;

	memset(a, 0, sizeof a);
	for (i = 0; i < n; i++) {
		store_pg_array_int(&a[0], v[i].outbox_id);
		store_pg_array_text(&a[1], v[i].channel);
		store_pg_array_text(&a[2], v[i].start ? "pending" :
		    v[i].status);
		store_pg_array_int(&a[3], v[i].attempts);
		store_pg_array_int(&a[4], v[i].next_at);
		store_pg_array_text(&a[5], v[i].start ? NULL : v[i].error);
		store_pg_array_int(&a[6], v[i].now);
		store_pg_array_raw(&a[7], v[i].start ? "t" : "f");
		store_pg_array_int(&a[8], v[i].next_at > v[i].now ?
		    v[i].next_at - v[i].now : 0);
	}
	store_pg_params_init(&ps);
	for (k = 0; k < 9; k++)
		store_pg_param_text(&ps, store_pg_array_end(&a[k]));
	store_pg_param_text(&ps, STORE_PG(st)->node);
	/*
	 * A start keeps this node's claim with its lease; an end lets it go
	 * and keeps the last error and its time, as the one-by-one calls.
	 */
	r = store_pg_outbox_exec(st, "UPDATE deliveries d SET "
	    "status = v.status, attempts = v.attempts, next_at = v.next_at, "
	    "last_error = CASE WHEN v.start THEN d.last_error "
	    "ELSE coalesce(v.error, d.last_error) END, "
	    "error_at = CASE WHEN v.start OR v.error IS NULL THEN d.error_at "
	    "ELSE v.at END, "
	    "sent_at = CASE WHEN v.start THEN d.sent_at "
	    "WHEN v.status = 'sent' THEN v.at END, "
	    "claimed_by = CASE WHEN v.start THEN $10 END, "
	    "lease_until = CASE WHEN v.start THEN " STORE_PG_NOW " + v.lease "
	    "END "
	    "FROM unnest ($1::bigint[], $2::text[], $3::text[], "
	    "$4::integer[], $5::bigint[], $6::text[], $7::bigint[], "
	    "$8::boolean[], $9::bigint[]) "
	    "AS v (id, channel, status, attempts, next_at, error, at, start, "
	    "lease) WHERE d.outbox_id = v.id AND d.channel = v.channel", &ps,
	    NULL);
	for (k = 0; k < 9; k++)
		store_pg_array_free(&a[k]);
	return r;
}

/*
 * When something must happen next: the earliest notice, pending delivery
 * and digest (each 0 if none), and how many reps' digests are not
 * planned yet.  A delivery another node holds counts from the end of its
 * lease or the moment its holder would go stale, when this node could
 * take it: never a wake-up to find nothing.  (A holder's heartbeat moves
 * on while it lives; the periodic check notices.)  Those moments are the
 * server's clock's: each is moved onto this node's clock.
 */
static enum store_result
store_pg_schedule_next(struct store *st, time_t *notice, time_t *delivery,
    time_t *digest, int64_t *unplanned)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, STORE_PG(st)->node);
	store_pg_param_int(&ps, STORE_PG_NODE_STALE);
	store_pg_param_int(&ps, time(NULL));
	if ((res = store_pg_query(STORE_PG(st), "SELECT "
	    "(SELECT min(notice_at) FROM followups "
	    "  WHERE notice_at IS NOT NULL), "
	    "(SELECT min(CASE WHEN d.claimed_by IS NOT NULL "
	    "  AND d.claimed_by <> $1 "
	    "  THEN GREATEST(d.next_at, LEAST(d.lease_until, "
	    "  coalesce(n.heartbeat_at + $2, 0)) - " STORE_PG_NOW " + $3) "
	    "  ELSE d.next_at END) "
	    "  FROM deliveries d LEFT JOIN nodes n ON n.name = d.claimed_by "
	    "  WHERE d.status = 'pending'), "
	    "(SELECT min(digest_at) FROM users), "
	    "(SELECT count(*) FROM users WHERE digest_at IS NULL)", &ps,
	    &r)) == NULL)
		return r;
	*notice = (time_t)store_pg_col_int(res, 0, 0, 0);
	*delivery = (time_t)store_pg_col_int(res, 0, 1, 0);
	*digest = (time_t)store_pg_col_int(res, 0, 2, 0);
	*unplanned = store_pg_col_int(res, 0, 3, 0);
	PQclear(res);
	return STORE_OK;
}

/*
 * When something of owner's must next happen: the earliest of their
 * follow-ups' notices, their pending deliveries and their digest (0 if
 * none).
 */
static enum store_result
store_pg_schedule_next_of(struct store *st, const char *owner, time_t *next)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	if ((res = store_pg_query(STORE_PG(st), "SELECT min(t) FROM ("
	    "  SELECT min(notice_at) AS t FROM followups"
	    "  WHERE owner = $1 AND status = 'pending'"
	    "  AND notice_at IS NOT NULL"
	    "  UNION ALL SELECT min(d.next_at) FROM outbox o"
	    "  JOIN deliveries d ON d.outbox_id = o.id"
	    "  WHERE o.owner = $1 AND d.status = 'pending'"
	    "  UNION ALL SELECT digest_at FROM users WHERE name = $1) n",
	    &ps, &r)) == NULL)
		return r;
	*next = (time_t)store_pg_col_int(res, 0, 0, 0);
	PQclear(res);
	return STORE_OK;
}

/*
 * Call cb for each rep whose digest is due by now or not planned yet
 * (digest_at 0).  The rows are read first: the callback writes to the
 * same table.
 */
static enum store_result
store_pg_digest_due(struct store *st, time_t now, store_digest_cb cb,
    void *arg)
{
	struct store_pg_params	 ps;
	struct fu_user		 u;
	PGresult		*res;
	enum store_result	 r;
	int			 i, n;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, now);
	if ((res = store_pg_query(STORE_PG(st), "SELECT name, tz, digest, "
	    "digest_at FROM users WHERE digest_at IS NULL OR digest_at <= $1 "
	    "ORDER BY name COLLATE \"C\"", &ps, &r)) == NULL)
		return r;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		memset(&u, 0, sizeof u);
		u.name = store_pg_col_text(res, i, 0);
		u.tz = store_pg_col_text(res, i, 1);
		u.digest = store_pg_col_text(res, i, 2);
		cb(&u, (time_t)store_pg_col_int(res, i, 3, 0), arg);
		free(u.name);
		free(u.tz);
		free(u.digest);
	}
	PQclear(res);
	return STORE_OK;
}

/* Plan rep name's next digest at at. */
static enum store_result
store_pg_digest_set(struct store *st, const char *name, time_t at)
{
	struct store_pg_params	 ps;

	store_pg_params_init(&ps);
	store_pg_param_text(&ps, name);
	store_pg_param_time(&ps, at);
	return store_pg_outbox_exec(st, "UPDATE users SET digest_at = $2 "
	    "WHERE name = $1", &ps, NULL);
}

/* owner's deliveries (NULL: the team's) waiting, given up and failing. */
static enum store_result
store_pg_outbox_stats(struct store *st, const char *owner,
    struct store_outbox_stats *os)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	memset(os, 0, sizeof *os);
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	if ((res = store_pg_query(STORE_PG(st), "SELECT "
	    "(SELECT count(*) FROM " OUTBOX_OF_OWNER "d.status = 'pending'), "
	    "(SELECT count(*) FROM " OUTBOX_OF_OWNER "d.status = 'failed'), "
	    "(SELECT count(*) FROM " OUTBOX_OF_OWNER "d.status = 'pending' "
	    "  AND d.last_error IS NOT NULL)", &ps, &r)) == NULL)
		return r;
	os->backlog = store_pg_col_int(res, 0, 0, 0);
	os->failed = store_pg_col_int(res, 0, 1, 0);
	os->failing = store_pg_col_int(res, 0, 2, 0);
	PQclear(res);
	return STORE_OK;
}

/* What followup doctor reports of owner's deliveries (NULL: the team's). */
static enum store_result
store_pg_outbox_health(struct store *st, const char *owner,
    struct store_outbox_health *oh)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	memset(oh, 0, sizeof *oh);
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	if ((res = store_pg_query(STORE_PG(st), "SELECT "
	    "(SELECT min(o.fire_at) FROM " OUTBOX_OF_OWNER
	    "  d.status = 'pending'), "
	    "(SELECT max(d.sent_at) FROM " OUTBOX_OF_OWNER
	    "  d.sent_at IS NOT NULL AND d.status = 'sent' "
	    "  AND d.channel LIKE 'hook:%'), "
	    "(SELECT d.last_error FROM " OUTBOX_OF_OWNER
	    "  d.status = 'pending' AND d.last_error IS NOT NULL "
	    "  ORDER BY d.next_at LIMIT 1), "
	    "(SELECT d.last_error FROM " OUTBOX_OF_OWNER "d.status = 'failed' "
	    "  ORDER BY d.outbox_id DESC LIMIT 1)", &ps, &r)) == NULL)
		return r;
	oh->oldest_waiting = (time_t)store_pg_col_int(res, 0, 0, 0);
	oh->last_hook_delivery = (time_t)store_pg_col_int(res, 0, 1, 0);
	oh->retrying_error = store_pg_col_text(res, 0, 2);
	oh->failed_error = store_pg_col_text(res, 0, 3);
	PQclear(res);
	return STORE_OK;
}

/*
 * When owner's notices (NULL: the team's) last went out on any channel,
 * and their latest delivery error with its time.
 */
static enum store_result
store_pg_outbox_last(struct store *st, const char *owner,
    struct store_outbox_last *ol)
{
	struct store_pg_params	 ps;
	PGresult		*res;
	enum store_result	 r;

	memset(ol, 0, sizeof *ol);
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, owner);
	if ((res = store_pg_query(STORE_PG(st), "SELECT "
	    "(SELECT max(d.sent_at) FROM " OUTBOX_OF_OWNER
	    "  d.sent_at IS NOT NULL)", &ps, &r)) == NULL)
		return r;
	ol->delivery = (time_t)store_pg_col_int(res, 0, 0, 0);
	PQclear(res);
	if ((res = store_pg_query(STORE_PG(st), "SELECT d.last_error, "
	    "d.error_at FROM " OUTBOX_OF_OWNER "d.error_at IS NOT NULL "
	    "ORDER BY d.error_at DESC, d.outbox_id DESC LIMIT 1", &ps,
	    &r)) == NULL)
		return r;
	if (PQntuples(res) == 1) {
		ol->error = store_pg_col_text(res, 0, 0);
		if (ol->error == NULL)
			ol->error = xstrdup("");
		ol->error_at = (time_t)store_pg_col_int(res, 0, 1, 0);
	}
	PQclear(res);
	return STORE_OK;
}

/* Each rep with deliveries waiting or given up, by name, to cb. */
static enum store_result
store_pg_outbox_reps(struct store *st, store_outbox_rep_cb cb, void *arg)
{
	struct store_outbox_rep	 rep;
	PGresult		*res;
	enum store_result	 r;
	int			 i, n;

	if ((res = store_pg_query(STORE_PG(st), "SELECT o.owner, "
	    "count(*) FILTER (WHERE d.status = 'pending'), "
	    "count(*) FILTER (WHERE d.status = 'pending' "
	    "  AND d.last_error IS NOT NULL), "
	    "count(*) FILTER (WHERE d.status = 'failed') "
	    "FROM deliveries d JOIN outbox o ON o.id = d.outbox_id "
	    "WHERE d.status IN ('pending', 'failed') "
	    "GROUP BY o.owner ORDER BY o.owner COLLATE \"C\"", NULL,
	    &r)) == NULL)
		return r;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		rep.rep = PQgetvalue(res, i, 0);
		rep.backlog = store_pg_col_int(res, i, 1, 0);
		rep.failing = store_pg_col_int(res, i, 2, 0);
		rep.failed = store_pg_col_int(res, i, 3, 0);
		if (cb(&rep, arg) != 0)
			break;
	}
	PQclear(res);
	return STORE_OK;
}

/*
 * What became of each confirmation and cancellation of follow-up id that
 * its rep, owner, asked for, oldest first, to cb: sent once any hook sent
 * it, queued while one may still, else given up.
 */
static enum store_result
store_pg_outbox_requests(struct store *st, const char *owner, int64_t id,
    store_outbox_request_cb cb, void *arg)
{
	struct store_pg_params		 ps;
	struct store_outbox_request	 req;
	PGresult			*res;
	enum store_result		 r;
	int				 i, n;

	store_pg_params_init(&ps);
	store_pg_param_int(&ps, id);
	store_pg_param_text(&ps, owner);
	if ((res = store_pg_query(STORE_PG(st), "SELECT o.kind, o.due_at, "
	    "o.created_at, CASE "
	    "  WHEN count(*) FILTER (WHERE d.status = 'sent') > 0 THEN 'sent' "
	    "  WHEN count(*) FILTER (WHERE d.status = 'pending') > 0 "
	    "  THEN 'queued' ELSE 'given up' END, max(d.sent_at), "
	    "max(d.last_error COLLATE \"C\") "
	    "FROM outbox o JOIN deliveries d ON d.outbox_id = o.id "
	    "WHERE o.owner = $2 AND o.kind IN ('confirmation', 'cancellation') "
	    "AND coalesce(o.followup_id, 0) = $1 "
	    "GROUP BY o.id ORDER BY o.id", &ps, &r)) == NULL)
		return r;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		req.kind = PQgetvalue(res, i, 0);
		req.due_at = (time_t)store_pg_col_int(res, i, 1, 0);
		req.created_at = (time_t)store_pg_col_int(res, i, 2, 0);
		req.state = PQgetvalue(res, i, 3);
		req.sent_at = (time_t)store_pg_col_int(res, i, 4, 0);
		req.error = PQgetisnull(res, i, 5) ? NULL :
		    PQgetvalue(res, i, 5);
		if (cb(&req, arg) != 0)
			break;
	}
	PQclear(res);
	return STORE_OK;
}

/*
 * Queue again a notice every delivery of which was given up, as if new
 * from now on; *rearmed 0 if there is none such (it is on its way, or
 * was sent).
 */
static enum store_result
store_pg_outbox_rearm(struct store *st, const struct store_outbox *o,
    time_t now, int *rearmed)
{
	struct store_pg_params	 ps;
	enum store_result	 r;
	int64_t			 n = 0;

	*rearmed = 0;
	store_pg_params_init(&ps);
	store_pg_param_text(&ps, o->owner);
	store_pg_param_text(&ps, o->kind);
	store_pg_param_int(&ps, o->followup_id);
	store_pg_param_int(&ps, o->due_at);
	store_pg_param_int(&ps, now);
	if ((r = store_pg_outbox_exec(st, "UPDATE outbox SET fire_at = $5 "
	    "WHERE owner = $1 AND kind = $2 AND coalesce(followup_id, 0) = $3 "
	    "AND due_at = $4 "
	    "AND EXISTS (SELECT 1 FROM deliveries d "
	    "  WHERE d.outbox_id = outbox.id) "
	    "AND NOT EXISTS (SELECT 1 FROM deliveries d "
	    "  WHERE d.outbox_id = outbox.id AND d.status <> 'failed')", &ps,
	    &n)) != STORE_OK)
		return r;
	if (n == 0)
		return STORE_OK;
	if ((r = store_pg_outbox_exec(st, "UPDATE deliveries SET status = "
	    "'pending', attempts = 0, next_at = $5, last_error = NULL, "
	    "error_at = NULL, claimed_by = NULL, lease_until = NULL "
	    "WHERE status = 'failed' AND outbox_id = (SELECT id FROM outbox "
	    "  WHERE owner = $1 AND kind = $2 AND followup_id = $3 "
	    "  AND due_at = $4)", &ps, NULL)) != STORE_OK)
		return r;
	*rearmed = 1;
	return STORE_OK;
}

const struct store_outbox_backend store_pg_outbox = {
	.notice_due = store_pg_notice_due,
	.notice_advance = store_pg_notice_advance,
	.add = store_pg_outbox_add,
	.add_many = store_pg_outbox_add_many,
	.fold = store_pg_outbox_fold,
	.held = store_pg_outbox_held,
	.set_payload = store_pg_outbox_set_payload,
	.delivery_due = store_pg_delivery_due,
	.delivery_set = store_pg_delivery_set,
	.delivery_start = store_pg_delivery_start,
	.delivery_write = store_pg_delivery_write,
	.schedule_next = store_pg_schedule_next,
	.schedule_next_of = store_pg_schedule_next_of,
	.digest_due = store_pg_digest_due,
	.digest_set = store_pg_digest_set,
	.stats = store_pg_outbox_stats,
	.health = store_pg_outbox_health,
	.last = store_pg_outbox_last,
	.reps = store_pg_outbox_reps,
	.requests = store_pg_outbox_requests,
	.rearm = store_pg_outbox_rearm,
};
