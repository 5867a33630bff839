/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests of the PostgreSQL store's transactions (store-pg.c), against
 * the real server FU_TEST_PG_URI names (test_pg_store.py runs this with a
 * throwaway cluster; without the variable every case is skipped).  A
 * second connection watches what the store's does: its group transaction
 * is open between the first write and the commit, the commit callback
 * hears that the server committed, and a connection lost mid-group makes
 * the commit report the writes lost, never kept.
 */

#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "store-backend.h"

static int	commits, commit_ok;

static void
commit_cb(int ok, void *arg)
{
	(void)arg;
	commits++;
	commit_ok = ok;
}

struct fx {
	struct store	*st;
	PGconn		*watch;
};

static int
fx_setup(void **state)
{
	struct fx	*fx;
	const char	*uri = getenv("FU_TEST_PG_URI");
	char		*cause = NULL;

	if (uri == NULL)
		return 0;
	fx = calloc(1, sizeof *fx);
	fx->st = store_postgresql.txn->open(uri, &cause);
	if (fx->st == NULL)
		fail_msg("open: %s", cause);
	store_postgresql.txn->set_driver(fx->st, NULL, commit_cb, NULL);
	fx->watch = PQconnectdb(uri);
	if (PQstatus(fx->watch) != CONNECTION_OK)
		fail_msg("watch: %s", PQerrorMessage(fx->watch));
	commits = 0;
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx	*fx = *state;

	if (fx == NULL)
		return 0;
	store_postgresql.txn->close(fx->st);
	PQfinish(fx->watch);
	free(fx);
	return 0;
}

/* How many sessions other than the watcher's are idle in a transaction. */
static int
idle_in_txn(struct fx *fx)
{
	PGresult	*r;
	int		 n;

	r = PQexec(fx->watch, "SELECT count(*) FROM pg_stat_activity "
	    "WHERE state = 'idle in transaction' AND datname = "
	    "current_database() AND pid <> pg_backend_pid()");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	n = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

static void
test_identity_and_schema(void **state)
{
	struct fx	*fx = *state;

	if (fx == NULL)
		skip();
	assert_int_equal(store_postgresql.txn->schema_version(fx->st), 1);
	assert_int_equal(strlen(store_postgresql.txn->id(fx->st)), 32);
}

static void
test_a_group_stays_open_until_its_commit(void **state)
{
	struct fx	*fx = *state;
	const struct store_txn_backend *t = store_postgresql.txn;

	if (fx == NULL)
		skip();
	assert_int_equal(t->in_txn(fx->st), 0);
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	t->write_end(fx->st, 0);	/* undone alone: the group goes on */
	assert_int_equal(t->in_txn(fx->st), 1);
	assert_int_equal(idle_in_txn(fx), 1);
	assert_int_equal(t->commit(fx->st), 0);
	assert_int_equal(commits, 1);
	assert_int_equal(commit_ok, 1);
	assert_int_equal(t->in_txn(fx->st), 0);
	assert_int_equal(idle_in_txn(fx), 0);
	/* Nothing open: a commit is a no-op and tells nobody. */
	assert_int_equal(t->commit(fx->st), 0);
	assert_int_equal(commits, 1);
}

static void
test_a_connection_lost_mid_group_loses_the_group(void **state)
{
	struct fx	*fx = *state;
	const struct store_txn_backend *t = store_postgresql.txn;
	PGresult	*r;

	if (fx == NULL)
		skip();
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	t->write_end(fx->st, 1);
	r = PQexec(fx->watch, "SELECT pg_terminate_backend(pid) FROM "
	    "pg_stat_activity WHERE state = 'idle in transaction' AND "
	    "datname = current_database() AND pid <> pg_backend_pid()");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	PQclear(r);
	assert_int_equal(t->commit(fx->st), -1);
	assert_int_equal(commits, 1);
	assert_int_equal(commit_ok, 0);
	assert_int_equal(t->last_result(fx->st), STORE_BUSY);
	assert_int_equal(t->in_txn(fx->st), 0);
}

static int
count_user_cb(const struct fu_user *u, void *arg)
{
	int	*n = arg;

	/* In the order of the names' bytes, as with SQLite. */
	if (*n == 0)
		assert_string_equal(u->name, "Zoe");
	else
		assert_string_equal(u->name, "ann");
	(*n)++;
	return 0;
}

static void
test_users_round_trip(void **state)
{
	struct fx	*fx = *state;
	const struct store_txn_backend *t = store_postgresql.txn;
	const struct store_user_backend *ub = store_postgresql.user;
	struct fu_user	 u, got;
	static char	 ann[] = "ann", zoe[] = "Zoe", mail[] = "ann@example.com",
			 tz[] = "Europe/Paris", lead[] = "10m", cal[] = "invite",
			 quote[] = "O'Brien \\ \"x\" é";
	int		 n = 0;

	if (fx == NULL)
		skip();
	assert_int_equal(ub->get(fx->st, "ann", &got), STORE_NOT_FOUND);
	assert_string_equal(got.name, "ann");
	assert_int_equal(got.uid, -1);
	fu_user_clear(&got);

	memset(&u, 0, sizeof u);
	u.name = ann;
	u.uid = 1001;
	u.email = mail;
	u.tz = tz;
	u.lead = lead;
	u.calendar = cal;
	u.display_name = quote;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ub->put(fx->st, &u, 1700000000), STORE_OK);
	t->write_end(fx->st, 1);
	u.name = zoe;
	u.uid = -1;
	u.email = NULL;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ub->put(fx->st, &u, 1700000001), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);

	assert_int_equal(ub->get(fx->st, "ann", &got), STORE_OK);
	assert_int_equal(got.uid, 1001);
	assert_string_equal(got.email, mail);
	assert_string_equal(got.tz, tz);
	assert_string_equal(got.lead, lead);
	assert_string_equal(got.calendar, cal);
	assert_string_equal(got.display_name, quote);
	assert_null(got.phone);
	assert_int_equal(got.updated_at, 1700000000);
	fu_user_clear(&got);
	assert_int_equal(ub->get(fx->st, "Zoe", &got), STORE_OK);
	assert_int_equal(got.uid, -1);
	assert_null(got.email);
	fu_user_clear(&got);
	assert_int_equal(ub->list(fx->st, count_user_cb, &n), STORE_OK);
	assert_int_equal(n, 2);

	/* A write undone alone leaves the rest of its group. */
	u.name = ann;
	u.email = NULL;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ub->put(fx->st, &u, 1700000002), STORE_OK);
	t->write_end(fx->st, 0);
	assert_int_equal(t->commit(fx->st), 0);
	assert_int_equal(ub->get(fx->st, "ann", &got), STORE_OK);
	assert_string_equal(got.email, mail);
	fu_user_clear(&got);
}

int
main(void)
{
#define T(t)	cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest cases[] = {
		T(test_identity_and_schema),
		T(test_a_group_stays_open_until_its_commit),
		T(test_users_round_trip),
		T(test_a_connection_lost_mid_group_loses_the_group),
	};

	return cmocka_run_group_tests(cases, NULL, NULL);
}
