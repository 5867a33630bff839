/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests of the PostgreSQL store (store-pg*.c), against the real
 * server FU_TEST_PG_URI names (test_pg_store.py runs this with a
 * throwaway cluster; without the variable every case is skipped).  A
 * second connection watches what the store's does: its group transaction
 * is open between the first write and the commit, the commit callback
 * hears that the server committed, and a connection lost mid-group makes
 * the commit report the writes lost, never kept.  A second store on the
 * same database plays a second node: it skips the notices and deliveries
 * the first has claimed, until a delivery's lease runs out.
 */

#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
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
	assert_int_equal(store_postgresql.txn->schema_version(fx->st), 3);
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

static int64_t	add_contact(struct fx *, const char *, const char *,
		    const char *, const char *, time_t);

/*
 * Drive st's try to connect again as the daemon's loop does: wait for
 * its socket the way it asks, and take the next step, until a statement
 * succeeds.  A statement alone never waits for the server.
 */
static void
reconnect(struct store *st)
{
	const struct store_node_backend *nb = store_postgresql.node;
	struct pollfd	 pfd;
	enum store_watch how;
	unsigned	 session;
	int		 i;

	for (i = 0; i < 100; i++) {
		if (nb->beat(st) == STORE_OK)
			return;
		pfd.fd = nb->notify_fd(st, &session, &how);
		pfd.events = how == STORE_WATCH_CONNECT_WRITE ? POLLOUT :
		    POLLIN;
		if (pfd.fd >= 0)
			(void)poll(&pfd, 1, 100);
		else
			(void)poll(NULL, 0, 100);
		(void)nb->notify_drain(st);
	}
	fail_msg("the store did not connect again");
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
	assert_int_equal(t->last_result(fx->st), STORE_OFFLINE);
	assert_int_equal(t->in_txn(fx->st), 0);
	/* The store connects again, and the next group commits. */
	reconnect(fx->st);
	add_contact(fx, "ann", "After", NULL, "lead", 1);
	assert_int_equal(commits, 2);
	assert_int_equal(commit_ok, 1);
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
			 bea[] = "bea", zmail[] = "zoe@example.com",
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

	/*
	 * A write undone alone leaves the rest of its group: the kept write
	 * before it (whose savepoint is released only with the next
	 * statement) and the one after it.
	 */
	u.name = zoe;
	u.email = zmail;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ub->put(fx->st, &u, 1700000002), STORE_OK);
	t->write_end(fx->st, 1);
	u.name = ann;
	u.email = NULL;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ub->put(fx->st, &u, 1700000002), STORE_OK);
	t->write_end(fx->st, 0);
	u.name = bea;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ub->put(fx->st, &u, 1700000002), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	assert_int_equal(ub->get(fx->st, "ann", &got), STORE_OK);
	assert_string_equal(got.email, mail);
	fu_user_clear(&got);
	assert_int_equal(ub->get(fx->st, "Zoe", &got), STORE_OK);
	assert_string_equal(got.email, zmail);
	fu_user_clear(&got);
	assert_int_equal(ub->get(fx->st, "bea", &got), STORE_OK);
	fu_user_clear(&got);
}

/* Run sql on the watcher's connection (rows the store cannot make yet). */
static void
watch_exec(struct fx *fx, const char *sql)
{
	PGresult	*r = PQexec(fx->watch, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

struct seen {
	int64_t		 id[8];
	time_t		 at[8];
	int		 n;
};

static int
seen_interaction_cb(const struct fu_interaction *in, void *arg)
{
	struct seen	*s = arg;

	assert_true(s->n < 8);
	assert_string_equal(in->owner, "ann");
	s->id[s->n] = in->id;
	s->at[s->n++] = in->at;
	return 0;
}

static void
test_interactions_page_newest_first(void **state)
{
	struct fx	*fx = *state;
	const struct store_interaction_backend *ib = store_postgresql.interaction;
	struct fu_interaction in;
	struct seen	 s;
	static char	 ann[] = "ann", call[] = "call", note[] = "said \"later\"";
	static const time_t at[] = { 100, 200, 200 };
	int64_t		 ids[3];
	PGresult	*r;
	int		 i;

	if (fx == NULL)
		skip();
	watch_exec(fx, "INSERT INTO contacts (id, owner, name, stage, "
	    "created_at, updated_at, last_activity_at) VALUES (1, 'ann', "
	    "'Dana', 'lead', 1, 1, 150)");
	for (i = 0; i < 3; i++) {
		memset(&in, 0, sizeof in);
		in.contact_id = 1;
		in.owner = ann;
		in.kind = call;
		in.note = i == 0 ? note : NULL;
		in.at = at[i];
		in.created_at = 1000 + i;
		assert_int_equal(store_postgresql.txn->write_begin(fx->st),
		    STORE_OK);
		assert_int_equal(ib->insert(fx->st, &in), STORE_OK);
		store_postgresql.txn->write_end(fx->st, 1);
		ids[i] = in.id;
	}
	assert_int_equal(store_postgresql.txn->commit(fx->st), 0);
	assert_true(ids[0] < ids[1] && ids[1] < ids[2]);
	/* The latest activity only moves forward. */
	r = PQexec(fx->watch, "SELECT last_activity_at FROM contacts");
	assert_string_equal(PQgetvalue(r, 0, 0), "200");
	PQclear(r);

	memset(&s, 0, sizeof s);
	assert_int_equal(ib->list(fx->st, "ann", 1, 0, 0, 0, 2,
	    seen_interaction_cb, &s), STORE_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.id[0], ids[2]);
	assert_int_equal(s.id[1], ids[1]);
	memset(&s, 0, sizeof s);
	assert_int_equal(ib->list(fx->st, "ann", 1, 0, 200, ids[1], 2,
	    seen_interaction_cb, &s), STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.id[0], ids[0]);
	memset(&s, 0, sizeof s);
	assert_int_equal(ib->list(fx->st, "ann", 1, 150, 0, 0, 10,
	    seen_interaction_cb, &s), STORE_OK);
	assert_int_equal(s.n, 2);
	/* Another rep's view of the contact holds nothing. */
	memset(&s, 0, sizeof s);
	assert_int_equal(ib->list(fx->st, "bob", 1, 0, 0, 0, 10,
	    seen_interaction_cb, &s), STORE_OK);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof s);
	assert_int_equal(ib->dump(fx->st, NULL, ids[0], 10,
	    seen_interaction_cb, &s), STORE_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.id[0], ids[1]);
	memset(&s, 0, sizeof s);
	assert_int_equal(ib->dump(fx->st, "bob", 0, 10, seen_interaction_cb,
	    &s), STORE_OK);
	assert_int_equal(s.n, 0);
}

static int
seen_promise_cb(const struct fu_promise *p, void *arg)
{
	struct seen	*s = arg;

	assert_true(s->n < 8);
	assert_string_equal(p->status, "pending");
	s->id[s->n] = p->followup_id;
	s->at[s->n++] = p->due_at;
	if (s->n == 1) {
		assert_string_equal(p->what, "agreed");
		assert_int_equal(p->previous_due_at, 0);
	} else {
		assert_string_equal(p->what, "reagreed");
		assert_int_equal(p->previous_due_at, 5000);
		assert_int_equal(p->was_missed, 1);
		assert_string_equal(p->note, "moved");
	}
	return 0;
}

static void
test_promises_keep_a_callback_s_history(void **state)
{
	struct fx	*fx = *state;
	const struct store_promise_backend *pb = store_postgresql.promise;
	struct fu_promise p;
	struct seen	 s;
	static char	 agreed[] = "agreed", reagreed[] = "reagreed",
			 moved[] = "moved";
	time_t		 due = 0;

	if (fx == NULL)
		skip();
	watch_exec(fx, "INSERT INTO contacts (id, owner, name, stage, "
	    "created_at, updated_at) VALUES (2, 'ann', 'Eve', 'lead', 1, 1)");
	watch_exec(fx, "INSERT INTO followups (id, contact_id, owner, kind, "
	    "due_at, remind_at, created_at, updated_at) VALUES (7, 2, 'ann', "
	    "'callback', 6000, 5900, 1, 1)");
	assert_int_equal(pb->last(fx->st, 7, &due), STORE_OK);
	assert_int_equal(due, 0);
	memset(&p, 0, sizeof p);
	p.followup_id = 7;
	p.at = 10;
	p.what = agreed;
	p.due_at = 5000;
	assert_int_equal(store_postgresql.txn->write_begin(fx->st), STORE_OK);
	assert_int_equal(pb->add(fx->st, &p), STORE_OK);
	p.at = 20;
	p.what = reagreed;
	p.due_at = 6000;
	p.previous_due_at = 5000;
	p.was_missed = 1;
	p.note = moved;
	assert_int_equal(pb->add(fx->st, &p), STORE_OK);
	store_postgresql.txn->write_end(fx->st, 1);
	assert_int_equal(store_postgresql.txn->commit(fx->st), 0);
	assert_int_equal(pb->last(fx->st, 7, &due), STORE_OK);
	assert_int_equal(due, 6000);
	memset(&s, 0, sizeof s);
	assert_int_equal(pb->list(fx->st, "ann", 2, 10, seen_promise_cb, &s),
	    STORE_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.at[0], 5000);
	memset(&s, 0, sizeof s);
	assert_int_equal(pb->list(fx->st, "bob", 2, 10, seen_promise_cb, &s),
	    STORE_OK);
	assert_int_equal(s.n, 0);
}

static int
seen_contact_cb(const struct fu_contact *c, void *arg)
{
	struct seen	*s = arg;

	assert_true(s->n < 8);
	s->id[s->n] = c->id;
	s->at[s->n++] = c->archived_at;
	return 0;
}

/* A contact for owner, written through the store; its id. */
static int64_t
add_contact(struct fx *fx, const char *owner, const char *name,
    const char *email, const char *stage, time_t at)
{
	struct fu_contact	c;

	memset(&c, 0, sizeof c);
	c.owner = (char *)owner;
	c.name = (char *)name;
	c.email = (char *)email;
	c.stage = (char *)stage;
	c.created_at = c.updated_at = at;
	assert_int_equal(store_postgresql.txn->write_begin(fx->st), STORE_OK);
	assert_int_equal(store_postgresql.contact->insert(fx->st, &c),
	    STORE_OK);
	store_postgresql.txn->write_end(fx->st, 1);
	assert_int_equal(store_postgresql.txn->commit(fx->st), 0);
	return c.id;
}

static void
test_contacts_as_the_sqlite_store_answers(void **state)
{
	struct fx	*fx = *state;
	const struct store_contact_backend *cb = store_postgresql.contact;
	const struct store_txn_backend *t = store_postgresql.txn;
	struct store_contact_filter f;
	struct store_contact_counts n;
	struct store_stale ss;
	struct fu_contact c;
	struct fu_user	 u;
	struct seen	 s;
	static char	 lead[] = "lead", *open[] = { lead };
	int64_t		 dana, eve, bob1, ids[4], reps, contacts, pending;
	size_t		 found;
	int		 k;
	char		 sql[256];

	if (fx == NULL)
		skip();
	watch_exec(fx, "SELECT setval(pg_get_serial_sequence('contacts', "
	    "'id'), coalesce((SELECT max(id) FROM contacts), 0) + 100)");
	watch_exec(fx, "DELETE FROM owner_counts");
	dana = add_contact(fx, "carl", "Dana Émile", "Dana@Example.COM",
	    "lead", 1000);
	eve = add_contact(fx, "carl", "Eve 50% off", NULL, "proposal", 2000);
	bob1 = add_contact(fx, "dora", "Dana Other", "dana@example.com",
	    "lead", 1000);
	assert_true(dana < eve && eve < bob1);
	/* The owner became a rep the schedule knows. */
	assert_int_equal(store_postgresql.user->get(fx->st, "carl", &u),
	    STORE_OK);
	fu_user_clear(&u);

	assert_int_equal(cb->get(fx->st, "dora", dana, &c), STORE_NOT_FOUND);
	assert_int_equal(cb->get(fx->st, NULL, dana, &c), STORE_OK);
	assert_string_equal(c.name, "Dana Émile");
	assert_int_equal(c.created_at, 1000);
	assert_int_equal(c.archived_at, 0);
	fu_contact_clear(&c);

	/* An email in any case, by the folded key; another rep's is apart. */
	assert_int_equal(cb->find_email(fx->st, "carl", "DANA@example.com",
	    ids, 4, &found), STORE_OK);
	assert_int_equal(found, 1);
	assert_int_equal(ids[0], dana);

	/* Search: ASCII letters in any case; % in the text is literal. */
	memset(&f, 0, sizeof f);
	f.owner = "carl";
	f.limit = 10;
	f.search = "DANA";
	memset(&s, 0, sizeof s);
	assert_int_equal(cb->list(fx->st, &f, seen_contact_cb, &s), STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.id[0], dana);
	f.search = "0% o";
	memset(&s, 0, sizeof s);
	assert_int_equal(cb->list(fx->st, &f, seen_contact_cb, &s), STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.id[0], eve);
	f.search = "5_%";
	memset(&s, 0, sizeof s);
	assert_int_equal(cb->list(fx->st, &f, seen_contact_cb, &s), STORE_OK);
	assert_int_equal(s.n, 0);
	f.search = NULL;
	f.stage = "proposal";
	memset(&s, 0, sizeof s);
	assert_int_equal(cb->list(fx->st, &f, seen_contact_cb, &s), STORE_OK);
	assert_int_equal(s.n, 1);
	f.stage = NULL;
	f.after = dana;
	memset(&s, 0, sizeof s);
	assert_int_equal(cb->list(fx->st, &f, seen_contact_cb, &s), STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.id[0], eve);
	f.owner = NULL;
	f.after = 0;
	memset(&s, 0, sizeof s);
	assert_int_equal(cb->list(fx->st, &f, seen_contact_cb, &s), STORE_OK);
	assert_true(s.n >= 3);

	/* An update by the wrong rep finds nothing. */
	assert_int_equal(cb->get(fx->st, "carl", eve, &c), STORE_OK);
	free(c.owner);
	c.owner = strdup("dora");
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(cb->update(fx->st, &c), STORE_NOT_FOUND);
	free(c.owner);
	c.owner = strdup("carl");
	free(c.email);
	c.email = strdup("EVE@example.org");
	assert_int_equal(cb->update(fx->st, &c), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	fu_contact_clear(&c);
	assert_int_equal(cb->find_email(fx->st, "carl", "eve@EXAMPLE.org",
	    ids, 4, &found), STORE_OK);
	assert_int_equal(found, 1);

	/* Stale: an open stage, no pending follow-up, no recent activity. */
	memset(&ss, 0, sizeof ss);
	ss.open_stages = open;
	ss.nopen = 1;
	ss.after = 500;
	memset(&s, 0, sizeof s);
	assert_int_equal(cb->stale(fx->st, "carl", &ss, 3000, 10,
	    seen_contact_cb, &s), STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.id[0], dana);

	/* A pending follow-up: no longer stale; archiving cancels it. */
	(void)snprintf(sql, sizeof sql, "INSERT INTO followups (contact_id, "
	    "owner, kind, due_at, remind_at, created_at, updated_at) VALUES "
	    "(%lld, 'carl', 'call', 9000, 8000, 1, 1)", (long long)dana);
	watch_exec(fx, sql);
	memset(&s, 0, sizeof s);
	assert_int_equal(cb->stale(fx->st, "carl", &ss, 3000, 10,
	    seen_contact_cb, &s), STORE_OK);
	assert_int_equal(s.n, 0);
	assert_int_equal(cb->counts(fx->st, "carl", 9500, &n), STORE_OK);
	assert_int_equal(n.contacts, 2);
	assert_int_equal(n.pending, 1);
	assert_int_equal(n.overdue, 1);

	/* Reassigned: the pending follow-up goes with it. */
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(cb->reassign(fx->st, dana, "dora", 3000, &k),
	    STORE_OK);
	assert_int_equal(k, 1);
	assert_int_equal(cb->reassign(fx->st, 999999, "dora", 3000, &k),
	    STORE_NOT_FOUND);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	assert_int_equal(cb->counts(fx->st, "dora", 9500, &n), STORE_OK);
	assert_int_equal(n.contacts, 2);
	assert_int_equal(n.pending, 1);

	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(cb->set_archived(fx->st, "carl", dana, 1, 4000, &k),
	    STORE_NOT_FOUND);
	assert_int_equal(cb->set_archived(fx->st, "dora", dana, 1, 4000, &k),
	    STORE_OK);
	assert_int_equal(k, 1);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	assert_int_equal(cb->counts(fx->st, "dora", 9500, &n), STORE_OK);
	assert_int_equal(n.contacts, 1);
	assert_int_equal(n.pending, 0);
	f.owner = "dora";
	f.archived = 1;
	memset(&s, 0, sizeof s);
	assert_int_equal(cb->list(fx->st, &f, seen_contact_cb, &s), STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.at[0], 4000);
	memset(&s, 0, sizeof s);
	assert_int_equal(cb->dump(fx->st, "dora", 0, 10, seen_contact_cb, &s),
	    STORE_OK);
	assert_int_equal(s.n, 2);

	assert_int_equal(store_postgresql.contact->team_counts(fx->st, &reps,
	    &contacts, &pending), STORE_OK);
	assert_int_equal(reps, 2);
	assert_int_equal(contacts, 2);
	assert_int_equal(pending, 0);
}

static int
seen_followup_cb(const struct fu_followup *f, void *arg)
{
	struct seen	*s = arg;

	assert_true(s->n < 8);
	s->id[s->n] = f->id;
	s->at[s->n++] = f->notice_at;
	return 0;
}

static int64_t
add_followup(struct fx *fx, int64_t contact, const char *kind, time_t due,
    time_t notice_at)
{
	struct fu_followup	f;

	memset(&f, 0, sizeof f);
	f.contact_id = contact;
	f.owner = (char *)"gil";
	f.kind = (char *)kind;
	f.due_at = due;
	f.remind_before = -1;
	f.remind_at = due - 60;
	f.created_at = 1;
	f.notice_at = notice_at;
	assert_int_equal(store_postgresql.txn->write_begin(fx->st), STORE_OK);
	assert_int_equal(store_postgresql.followup->insert(fx->st, &f),
	    STORE_OK);
	store_postgresql.txn->write_end(fx->st, 1);
	assert_int_equal(store_postgresql.txn->commit(fx->st), 0);
	return f.id;
}

static void
test_followups_in_the_sqlite_store_s_order(void **state)
{
	struct fx	*fx = *state;
	const struct store_followup_backend *fb = store_postgresql.followup;
	const struct store_txn_backend *t = store_postgresql.txn;
	struct store_followup_filter flt;
	struct fu_followup f;
	struct seen	 s;
	int64_t		 contact, plain, call, later, count;
	time_t		 due;
	int		 n;

	if (fx == NULL)
		skip();
	watch_exec(fx, "SELECT setval(pg_get_serial_sequence('followups', "
	    "'id'), coalesce((SELECT max(id) FROM followups), 0) + 100)");
	contact = add_contact(fx, "gil", "Hal", NULL, "lead", 1);
	plain = add_followup(fx, contact, "call", 5000, 4000);
	call = add_followup(fx, contact, "callback", 5000, 4500);
	later = add_followup(fx, contact, "call", 7000, 0);

	/* A callback comes first at the same time; pages resume exactly. */
	memset(&flt, 0, sizeof flt);
	flt.owner = "gil";
	flt.limit = 2;
	memset(&s, 0, sizeof s);
	assert_int_equal(fb->list(fx->st, &flt, seen_followup_cb, &s),
	    STORE_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.id[0], call);
	assert_int_equal(s.id[1], plain);
	flt.after_due = 5000;
	flt.after_plain = 1;
	flt.after_id = plain;
	memset(&s, 0, sizeof s);
	assert_int_equal(fb->list(fx->st, &flt, seen_followup_cb, &s),
	    STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.id[0], later);
	memset(&flt, 0, sizeof flt);
	flt.owner = "gil";
	flt.contact_id = contact;
	flt.from = 6000;
	flt.limit = 10;
	memset(&s, 0, sizeof s);
	assert_int_equal(fb->list(fx->st, &flt, seen_followup_cb, &s),
	    STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.id[0], later);

	/* The notices due before a time, in their order, with their stage. */
	memset(&s, 0, sizeof s);
	assert_int_equal(fb->notices(fx->st, NULL, 4600, 10, seen_followup_cb,
	    &s, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(s.id[0], plain);
	assert_int_equal(s.at[0], 4000);
	assert_int_equal(fb->next_due(fx->st, "gil", &due), STORE_OK);
	assert_int_equal(due, 5000);
	assert_int_equal(fb->count_due(fx->st, "gil", 5000, 7000, &count),
	    STORE_OK);
	assert_int_equal(count, 2);

	/* Moved: revision and snoozes count, the first missed time stays. */
	assert_int_equal(fb->get(fx->st, "other", plain, &f), STORE_NOT_FOUND);
	assert_int_equal(fb->get(fx->st, "gil", plain, &f), STORE_OK);
	f.due_at = 8000;
	f.remind_at = 7900;
	f.notice_at = 7900;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(fb->set_due(fx->st, &f, 1, 5000, 5100), STORE_OK);
	assert_int_equal(fb->set_due(fx->st, &f, 0, 6000, 5200), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	fu_followup_clear(&f);
	assert_int_equal(fb->get(fx->st, NULL, plain, &f), STORE_OK);
	assert_int_equal(f.revision, 2);
	assert_int_equal(f.snoozes, 1);
	assert_int_equal(f.due_at, 8000);
	assert_string_equal(f.contact_name, "Hal");
	fu_followup_clear(&f);

	/* Closed once; a second close is a conflict. */
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(fb->close(fx->st, "gil", call, "done", "talked",
	    6000), STORE_OK);
	assert_int_equal(fb->close(fx->st, "gil", call, "done", NULL, 6001),
	    STORE_CONFLICT);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	memset(&flt, 0, sizeof flt);
	flt.owner = "gil";
	flt.contact_id = contact;
	flt.closed_recent = 1;
	flt.limit = 5;
	memset(&s, 0, sizeof s);
	assert_int_equal(fb->list(fx->st, &flt, seen_followup_cb, &s),
	    STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.id[0], call);
	memset(&s, 0, sizeof s);
	assert_int_equal(fb->dump(fx->st, "gil", 7000, 0, 10,
	    seen_followup_cb, &s), STORE_OK);
	assert_int_equal(s.n, 2);	/* the pending two; closed before */
	memset(&s, 0, sizeof s);
	assert_int_equal(fb->dump(fx->st, "gil", 0, 0, 10, seen_followup_cb,
	    &s), STORE_OK);
	assert_int_equal(s.n, 3);
}

struct rows {
	char	 line[8][128];
	int	 n;
};

/* Each row as "text,num,-(null),..." over six columns (0 past its own). */
static int
report_row_cb(const struct store_report_row *row, void *arg)
{
	struct rows	*r = arg;
	size_t		 len = 0;
	int		 i;

	assert_true(r->n < 8);
	r->line[r->n][0] = '\0';
	for (i = 0; i < 6; i++) {
		len = strlen(r->line[r->n]);
		if (row->null[i])
			(void)snprintf(r->line[r->n] + len, 128 - len, "-,");
		else if (row->text[i] != NULL)
			(void)snprintf(r->line[r->n] + len, 128 - len, "%s,",
			    row->text[i]);
		else
			(void)snprintf(r->line[r->n] + len, 128 - len, "%lld,",
			    (long long)row->num[i]);
	}
	r->n++;
	return 0;
}

static void
test_the_report_s_figures(void **state)
{
	struct fx	*fx = *state;
	const struct store_report_backend *rb = store_postgresql.report;
	struct store_stale ss;
	struct rows	 r;
	static char	 lead[] = "lead", *open[] = { lead };
	int64_t		 a, b;
	char		 sql[512];

	if (fx == NULL)
		skip();
	a = add_contact(fx, "ivy", "Ann", NULL, "lead", 100);
	b = add_contact(fx, "ivy", "Bo", NULL, "proposal", 100);
	(void)snprintf(sql, sizeof sql, "INSERT INTO followups (id, "
	    "contact_id, owner, kind, due_at, remind_at, created_at, "
	    "updated_at, missed_due_at) VALUES (901, %lld, 'ivy', 'callback', "
	    "5000, 4900, 1, 1, NULL), (902, %lld, 'ivy', 'call', 9000, 8900, "
	    "1, 1, 4000); INSERT INTO promises (followup_id, at, what, due_at) "
	    "VALUES (901, 10, 'agreed', 5000); INSERT INTO interactions "
	    "(contact_id, owner, kind, outcome, at, created_at) VALUES (%lld, "
	    "'ivy', 'voicemail', 'voicemail', 3000, 3000)", (long long)b,
	    (long long)b, (long long)b);
	watch_exec(fx, sql);

	memset(&r, 0, sizeof r);
	assert_int_equal(rb->stages(fx->st, "ivy", report_row_cb, &r),
	    STORE_OK);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.line[0], "ivy,lead,1,0,0,0,");
	assert_string_equal(r.line[1], "ivy,proposal,1,0,0,0,");
	/* Due in [3000, 6000): the callback by its due time, and the call
	 * by the time it missed; by rep, then due time. */
	memset(&r, 0, sizeof r);
	assert_int_equal(rb->followups(fx->st, "ivy", 3000, 6000,
	    report_row_cb, &r), STORE_OK);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.line[0], "901,ivy,callback,pending,5000,-,");
	assert_string_equal(r.line[1], "902,ivy,call,pending,9000,-,");
	memset(&r, 0, sizeof r);
	assert_int_equal(rb->upcoming(fx->st, "ivy", 4500, 4000,
	    report_row_cb, &r), STORE_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.line[0], "ivy,2,1,0,0,0,");
	memset(&r, 0, sizeof r);
	assert_int_equal(rb->promises(fx->st, "ivy", 0, 10000,
	    report_row_cb, &r), STORE_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.line[0], "ivy,901,5000,pending,-,-,");
	memset(&r, 0, sizeof r);
	assert_int_equal(rb->voicemails(fx->st, "ivy", 0, report_row_cb, &r),
	    STORE_OK);
	assert_int_equal(r.n, 1);
	(void)snprintf(sql, sizeof sql, "ivy,%lld,Bo,-,3000,0,",
	    (long long)b);
	assert_string_equal(r.line[0], sql);
	memset(&ss, 0, sizeof ss);
	ss.open_stages = open;
	ss.nopen = 1;
	ss.after = 0;
	memset(&r, 0, sizeof r);
	assert_int_equal(rb->stale(fx->st, "ivy", &ss, 200, 5, report_row_cb,
	    &r), STORE_OK);
	assert_int_equal(r.n, 1);
	(void)snprintf(sql, sizeof sql, "%lld,ivy,Ann,-,lead,100,",
	    (long long)a);
	assert_string_equal(r.line[0], sql);
}

static int
count_cb(const struct fu_user *u, void *arg)
{
	(void)u;
	(*(int *)arg)++;
	return 0;
}

static void
test_a_reader_sees_one_snapshot_and_stops(void **state)
{
	struct fx	*fx = *state;
	const struct store_reader_backend *rb = store_postgresql.reader;
	struct store_reader *r;
	struct store	*rd;
	struct fu_user	 u;
	char		*cause = NULL;
	int		 before = 0, during = 0, after = 0;

	if (fx == NULL)
		skip();
	r = rb->new(fx->st);
	if ((rd = rb->open(r, &cause)) == NULL)
		fail_msg("reader: %s", cause);
	assert_int_equal(store_postgresql.user->list(rd, count_cb, &before),
	    STORE_OK);
	memset(&u, 0, sizeof u);
	u.name = (char *)"newcomer";
	u.uid = -1;
	assert_int_equal(store_postgresql.txn->write_begin(fx->st), STORE_OK);
	assert_int_equal(store_postgresql.user->put(fx->st, &u, 1), STORE_OK);
	store_postgresql.txn->write_end(fx->st, 1);
	assert_int_equal(store_postgresql.txn->commit(fx->st), 0);
	/* The reader's snapshot does not move; the store sees the write. */
	assert_int_equal(store_postgresql.user->list(rd, count_cb, &during),
	    STORE_OK);
	assert_int_equal(during, before);
	assert_int_equal(store_postgresql.user->list(fx->st, count_cb,
	    &after), STORE_OK);
	assert_int_equal(after, before + 1);
	/* Stopped, it reads no more. */
	rb->stop(r);
	during = 0;
	assert_int_not_equal(store_postgresql.user->list(rd, count_cb,
	    &during), STORE_OK);
	assert_int_equal(during, 0);
	rb->free(r);
}

/*
 * The outbox's tests: the owner "oli" and times of their own, so they
 * find nothing the tests above left (their notices are cleared first).
 */

/* A second store on the database, as a second node would open it. */
static struct store *
second_store(void)
{
	struct store	*st;
	char		*cause = NULL;

	st = store_postgresql.txn->open(getenv("FU_TEST_PG_URI"), &cause);
	if (st == NULL)
		fail_msg("open: %s", cause);
	return st;
}

static int64_t
add_followup_of(struct fx *fx, const char *owner, int64_t contact,
    time_t due, time_t notice_at)
{
	struct fu_followup	f;

	memset(&f, 0, sizeof f);
	f.contact_id = contact;
	f.owner = (char *)owner;
	f.kind = (char *)"callback";
	f.due_at = due;
	f.remind_before = -1;
	f.remind_at = due;
	f.created_at = 1;
	f.notice_stage = 1;
	f.notice_at = notice_at;
	assert_int_equal(store_postgresql.txn->write_begin(fx->st), STORE_OK);
	assert_int_equal(store_postgresql.followup->insert(fx->st, &f),
	    STORE_OK);
	store_postgresql.txn->write_end(fx->st, 1);
	assert_int_equal(store_postgresql.txn->commit(fx->st), 0);
	return f.id;
}

static void
test_a_notice_due_is_taken_once_and_advanced(void **state)
{
	struct fx	*fx = *state;
	const struct store_outbox_backend *ob = store_postgresql.outbox;
	const struct store_txn_backend *t = store_postgresql.txn;
	struct store_notice_row *rows, *other, adv;
	struct store	*st2;
	int64_t		 contact, id, unplanned;
	time_t		 notice, delivery, digest;
	size_t		 n, n2;
	int		 i;

	if (fx == NULL)
		skip();
	watch_exec(fx, "UPDATE followups SET notice_at = NULL");
	contact = add_contact(fx, "oli", "Pat", NULL, "lead", 1);
	id = add_followup_of(fx, "oli", contact, 10060, 10000);
	/* Four calls of the rep's and one of another's, on that contact. */
	for (i = 0; i < 5; i++) {
		char	sql[256];

		snprintf(sql, sizeof sql, "INSERT INTO interactions "
		    "(contact_id, owner, kind, outcome, note, at, created_at) "
		    "VALUES (%lld, '%s', 'call', NULL, 'call %d', %d, 1)",
		    (long long)contact, i == 4 ? "bob" : "oli", i,
		    i == 4 ? 9000 : 100 + i);
		watch_exec(fx, sql);
	}
	assert_int_equal(ob->schedule_next(fx->st, &notice, &delivery,
	    &digest, &unplanned), STORE_OK);
	assert_int_equal(notice, 10000);

	/* Not yet due. */
	assert_int_equal(ob->notice_due(fx->st, 9999, 10, &rows, &n),
	    STORE_OK);
	assert_int_equal(n, 0);
	store_notice_rows_free(rows, n);

	/* Taken in a claim: a second node skips it meanwhile. */
	st2 = second_store();
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->notice_due(fx->st, 10000, 10, &rows, &n),
	    STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].followup_id, id);
	assert_string_equal(rows[0].owner, "oli");
	assert_int_equal(rows[0].callback, 1);
	assert_int_equal(rows[0].due_at, 10060);
	assert_int_equal(rows[0].remind_at, 10060);
	assert_int_equal(rows[0].stage, 1);
	assert_int_equal(rows[0].notice_at, 10000);
	/* What its notice shows came with it: the rep's three latest. */
	assert_int_equal(rows[0].read, 1);
	assert_int_equal(rows[0].followup.id, id);
	assert_int_equal(rows[0].contact.id, contact);
	assert_string_equal(rows[0].contact.name, "Pat");
	assert_int_equal(rows[0].nhistory, 3);
	assert_string_equal(rows[0].history[0].note, "call 3");
	assert_string_equal(rows[0].history[2].note, "call 1");
	assert_string_equal(rows[0].history[0].owner, "oli");
	assert_int_equal(t->write_begin(st2), STORE_OK);
	assert_int_equal(ob->notice_due(st2, 10000, 10, &other, &n2),
	    STORE_OK);
	assert_int_equal(n2, 0);
	store_notice_rows_free(other, n2);
	t->write_end(st2, 1);
	assert_int_equal(t->commit(st2), 0);

	/* Advanced to its next stage, it is not due again until then. */
	rows[0].stage = 2;
	rows[0].notice_at = 10060;
	assert_int_equal(ob->notice_advance(fx->st, rows, 1), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	store_notice_rows_free(rows, n);
	assert_int_equal(ob->notice_due(st2, 10059, 10, &rows, &n), STORE_OK);
	assert_int_equal(n, 0);
	store_notice_rows_free(rows, n);
	assert_int_equal(ob->notice_due(st2, 10060, 10, &rows, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].stage, 2);
	store_notice_rows_free(rows, n);

	/* None left: never due again. */
	memset(&adv, 0, sizeof adv);
	adv.followup_id = id;
	adv.stage = 3;
	adv.notice_at = 0;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->notice_advance(fx->st, &adv, 1), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	assert_int_equal(ob->notice_due(st2, 99999, 10, &rows, &n), STORE_OK);
	assert_int_equal(n, 0);
	store_notice_rows_free(rows, n);
	assert_int_equal(ob->schedule_next(fx->st, &notice, &delivery,
	    &digest, &unplanned), STORE_OK);
	assert_int_equal(notice, 0);
	t->close(st2);
}

struct due_seen {
	int64_t		 outbox_id[4];
	char		 channel[4][32];
	int		 attempts[4];
	int		 n;
};

static int
due_cb(const struct store_delivery *d, void *arg)
{
	struct due_seen	*s = arg;

	assert_true(s->n < 4);
	assert_string_equal(d->owner, "oli");
	assert_string_equal(d->kind, "digest");
	assert_string_equal(d->payload, "{\"n\": 1}");
	assert_int_equal(d->fire_at, 20000);
	assert_int_equal(d->claimed_at, 20000);
	s->outbox_id[s->n] = d->outbox_id;
	snprintf(s->channel[s->n], sizeof s->channel[s->n], "%s", d->channel);
	s->attempts[s->n++] = d->attempts;
	return 0;
}

static int
due_count(struct store *st, time_t now)
{
	struct due_seen	 s;

	memset(&s, 0, sizeof s);
	assert_int_equal(store_postgresql.outbox->delivery_due(st, now, 10,
	    due_cb, &s), STORE_OK);
	return s.n;
}

static int
rep_cb(const struct store_outbox_rep *r, void *arg)
{
	struct store_outbox_rep	*out = arg;

	if (strcmp(r->rep, "oli") == 0)
		*out = *r;
	return 0;
}

static void
test_a_delivery_is_claimed_by_one_node_until_its_lease_ends(void **state)
{
	struct fx	*fx = *state;
	const struct store_outbox_backend *ob = store_postgresql.outbox;
	const struct store_txn_backend *t = store_postgresql.txn;
	static const char *const channels[] = { "hook:/bin/true", "journal" };
	struct store_outbox o;
	struct store_outbox_stats os;
	struct store_outbox_health oh;
	struct store_outbox_last ol;
	struct store_outbox_rep rep;
	struct due_seen	 s;
	struct store	*st2;
	PGresult	*r;
	int64_t		 unplanned;
	time_t		 notice, delivery, digest, before;
	int		 created;

	if (fx == NULL)
		skip();
	memset(&o, 0, sizeof o);
	o.owner = "oli";
	o.kind = "digest";
	o.due_at = 20000;
	o.fire_at = 20000;
	o.payload = "{\"n\": 1}";
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->add(fx->st, &o, channels, 2, 20000, &created),
	    STORE_OK);
	assert_int_equal(created, 1);
	assert_true(o.id > 0);
	/* The ledger holds it once, whoever records it again. */
	assert_int_equal(ob->add(fx->st, &o, channels, 2, 20000, &created),
	    STORE_OK);
	assert_int_equal(created, 0);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);

	/* The journal's first; both claimed by this node. */
	memset(&s, 0, sizeof s);
	assert_int_equal(ob->delivery_due(fx->st, 20000, 10, due_cb, &s),
	    STORE_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.channel[0], "journal");
	assert_string_equal(s.channel[1], "hook:/bin/true");
	assert_int_equal(s.outbox_id[0], o.id);

	/*
	 * A second node gets neither while the lease holds, however far
	 * its own clock runs ahead: the lease is the server's clock's ...
	 */
	st2 = second_store();
	assert_int_equal(due_count(st2, 20000), 0);
	assert_int_equal(due_count(st2, 20000 + 86400), 0);
	/* ... and wakes when it could take them, on its own clock: when
	 * the first node, live now, would go stale if it stopped beating
	 * (before the lease ends); the first node now. */
	before = time(NULL);
	assert_int_equal(ob->schedule_next(st2, &notice, &delivery, &digest,
	    &unplanned), STORE_OK);
	assert_true(delivery >= before - 1 && delivery <= time(NULL) +
	    STORE_NODE_BEAT * STORE_NODE_LIVE_BEATS + 1);
	assert_int_equal(ob->schedule_next(fx->st, &notice, &delivery,
	    &digest, &unplanned), STORE_OK);
	assert_int_equal(delivery, 20000);
	/* The node holding them takes them again, renewing its lease. */
	assert_int_equal(due_count(fx->st, 20001), 2);
	assert_int_equal(due_count(st2, 20001), 0);
	/* Once the lease has run out (the node died), the second takes it. */
	r = PQexec(fx->watch, "UPDATE deliveries SET lease_until = "
	    "lease_until - 301");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	assert_int_equal(due_count(st2, 20001), 2);
	assert_int_equal(due_count(fx->st, 20001), 0);

	/* Writing a delivery's state ends the claim. */
	assert_int_equal(t->write_begin(st2), STORE_OK);
	assert_int_equal(ob->delivery_set(st2, o.id, "journal", "sent", 1,
	    20300, NULL, 20300), STORE_OK);
	assert_int_equal(ob->delivery_set(st2, o.id, "hook:/bin/true",
	    "pending", 1, 20400, "exit 75", 20300), STORE_OK);
	t->write_end(st2, 1);
	assert_int_equal(t->commit(st2), 0);
	r = PQexec(fx->watch, "SELECT count(*) FROM deliveries "
	    "WHERE claimed_by IS NOT NULL OR lease_until IS NOT NULL");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "0");
	PQclear(r);
	assert_int_equal(due_count(fx->st, 20399), 0);
	memset(&s, 0, sizeof s);
	assert_int_equal(ob->delivery_due(fx->st, 20400, 10, due_cb, &s),
	    STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.attempts[0], 1);

	/* What status and doctor read of it. */
	assert_int_equal(ob->stats(fx->st, "oli", &os), STORE_OK);
	assert_int_equal(os.backlog, 1);
	assert_int_equal(os.failing, 1);
	assert_int_equal(os.failed, 0);
	assert_int_equal(ob->stats(fx->st, "nobody", &os), STORE_OK);
	assert_int_equal(os.backlog, 0);
	assert_int_equal(ob->health(fx->st, NULL, &oh), STORE_OK);
	assert_int_equal(oh.oldest_waiting, 20000);
	assert_int_equal(oh.last_hook_delivery, 0);
	assert_string_equal(oh.retrying_error, "exit 75");
	assert_null(oh.failed_error);
	store_outbox_health_clear(&oh);
	assert_int_equal(ob->last(fx->st, "oli", &ol), STORE_OK);
	assert_int_equal(ol.delivery, 20300);
	assert_string_equal(ol.error, "exit 75");
	assert_int_equal(ol.error_at, 20300);
	store_outbox_last_clear(&ol);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(ob->reps(fx->st, rep_cb, &rep), STORE_OK);
	assert_int_equal(rep.backlog, 1);
	assert_int_equal(rep.failing, 1);
	assert_int_equal(rep.failed, 0);

	/* A success keeps the last error for the rep to read. */
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->delivery_set(fx->st, o.id, "hook:/bin/true",
	    "sent", 2, 20400, NULL, 20400), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	assert_int_equal(ob->last(fx->st, NULL, &ol), STORE_OK);
	assert_int_equal(ol.delivery, 20400);
	assert_string_equal(ol.error, "exit 75");
	store_outbox_last_clear(&ol);
	assert_int_equal(ob->health(fx->st, "oli", &oh), STORE_OK);
	assert_int_equal(oh.last_hook_delivery, 20400);
	assert_int_equal(oh.oldest_waiting, 0);
	store_outbox_health_clear(&oh);
	t->close(st2);
}

static void
digest_cb(const struct fu_user *u, time_t at, void *arg)
{
	time_t	*seen = arg;

	if (strcmp(u->name, "oli") == 0)
		*seen = at == 0 ? 1 : at;
}

struct req_seen {
	char	state[4][16];
	int	n;
};

static int
req_cb(const struct store_outbox_request *r, void *arg)
{
	struct req_seen	*s = arg;

	assert_true(s->n < 4);
	assert_string_equal(r->kind, "confirmation");
	snprintf(s->state[s->n++], sizeof s->state[0], "%s", r->state);
	return 0;
}

static void
test_held_folded_rearmed_and_the_digest(void **state)
{
	struct fx	*fx = *state;
	const struct store_outbox_backend *ob = store_postgresql.outbox;
	const struct store_txn_backend *t = store_postgresql.txn;
	static const char *const hook[] = { "hook:/bin/true" };
	struct store_outbox o, summary;
	struct req_seen	 rs;
	struct fu_user	 u;
	PGresult	*r;
	int64_t		 contact, fid, id, unplanned;
	time_t		 fire, seen, notice, delivery, digest;
	char		*payload, sql[160];
	int		 created, rearmed;

	if (fx == NULL)
		skip();
	contact = add_contact(fx, "oli", "Quin", NULL, "lead", 1);
	fid = add_followup_of(fx, "oli", contact, 40000, 0);

	/* A notice held back till 31000 is found, and its payload changed. */
	memset(&o, 0, sizeof o);
	o.owner = "oli";
	o.kind = "due";
	o.followup_id = fid;
	o.due_at = 31000;
	o.fire_at = 31000;
	o.hold = 31000;
	o.payload = "{\"v\": 1}";
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->add(fx->st, &o, hook, 1, 30000, &created),
	    STORE_OK);
	assert_int_equal(created, 1);
	t->write_end(fx->st, 1);
	assert_int_equal(ob->held(fx->st, "oli", "due", fid, 30000, &id,
	    &fire, &payload), STORE_OK);
	assert_int_equal(id, o.id);
	assert_int_equal(fire, 31000);
	assert_string_equal(payload, "{\"v\": 1}");
	free(payload);
	assert_int_equal(ob->held(fx->st, "oli", "missed", fid, 30000, &id,
	    &fire, &payload), STORE_OK);
	assert_int_equal(id, 0);
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->set_payload(fx->st, o.id, "{\"v\": 2}"),
	    STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(ob->held(fx->st, "oli", "due", fid, 30000, &id,
	    &fire, &payload), STORE_OK);
	assert_string_equal(payload, "{\"v\": 2}");
	free(payload);
	/* Once its time has come it is no longer held. */
	assert_int_equal(ob->held(fx->st, "oli", "due", fid, 31000, &id,
	    &fire, &payload), STORE_OK);
	assert_int_equal(id, 0);

	/* Folded into a summary: recorded, and the summary queued alone. */
	memset(&summary, 0, sizeof summary);
	summary.owner = "oli";
	summary.kind = "summary";
	summary.due_at = 31000;
	summary.fire_at = 31000;
	summary.payload = "{}";
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->add(fx->st, &summary, hook, 1, 30000, &created),
	    STORE_OK);
	assert_int_equal(ob->fold(fx->st, o.id, summary.id), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	snprintf(sql, sizeof sql, "SELECT folded_into FROM outbox "
	    "WHERE id = %lld", (long long)o.id);
	r = PQexec(fx->watch, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(strtoll(PQgetvalue(r, 0, 0), NULL, 10), summary.id);
	PQclear(r);

	/* A confirmation given up is queued again, once. */
	o.kind = "confirmation";
	o.due_at = 40000;
	o.hold = 0;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->add(fx->st, &o, hook, 1, 30000, &created),
	    STORE_OK);
	assert_int_equal(ob->rearm(fx->st, &o, 30000, &rearmed), STORE_OK);
	assert_int_equal(rearmed, 0);		/* still on its way */
	assert_int_equal(ob->delivery_set(fx->st, o.id, "hook:/bin/true",
	    "failed", 5, 30500, "exit 1", 30500), STORE_OK);
	t->write_end(fx->st, 1);
	memset(&rs, 0, sizeof rs);
	assert_int_equal(ob->requests(fx->st, "oli", fid, req_cb, &rs),
	    STORE_OK);
	assert_int_equal(rs.n, 1);
	assert_string_equal(rs.state[0], "given up");
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->rearm(fx->st, &o, 31000, &rearmed), STORE_OK);
	assert_int_equal(rearmed, 1);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	memset(&rs, 0, sizeof rs);
	assert_int_equal(ob->requests(fx->st, "oli", fid, req_cb, &rs),
	    STORE_OK);
	assert_string_equal(rs.state[0], "queued");

	/* The digest: unplanned at first, then due at its time. */
	memset(&u, 0, sizeof u);
	u.name = (char *)"oli";
	u.uid = -1;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(store_postgresql.user->put(fx->st, &u, 1), STORE_OK);
	t->write_end(fx->st, 1);
	seen = 0;
	assert_int_equal(ob->digest_due(fx->st, 50000, digest_cb, &seen),
	    STORE_OK);
	assert_int_equal(seen, 1);
	assert_int_equal(ob->schedule_next(fx->st, &notice, &delivery,
	    &digest, &unplanned), STORE_OK);
	assert_true(unplanned >= 1);
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->digest_set(fx->st, "oli", 50000), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	seen = 0;
	assert_int_equal(ob->digest_due(fx->st, 49999, digest_cb, &seen),
	    STORE_OK);
	assert_int_equal(seen, 0);
	assert_int_equal(ob->digest_due(fx->st, 50000, digest_cb, &seen),
	    STORE_OK);
	assert_int_equal(seen, 50000);
	assert_int_equal(ob->schedule_next_of(fx->st, "oli", &fire),
	    STORE_OK);
	assert_int_equal(fire, 30000);		/* the summary's, at once */
}

struct node_seen {
	int64_t		 outbox_id;
	int		 n;
};

static int
node_due_cb(const struct store_delivery *d, void *arg)
{
	struct node_seen	*s = arg;

	if (d->outbox_id == s->outbox_id)
		s->n++;
	return 0;
}

static int
node_due(struct store *st, int64_t id, time_t now)
{
	struct node_seen	 s = { id, 0 };

	assert_int_equal(store_postgresql.outbox->delivery_due(st, now, 50,
	    node_due_cb, &s), STORE_OK);
	return s.n;
}

static int
node_count_cb(const struct store_node *n, void *arg)
{
	assert_true(n->pid > 0);
	assert_non_null(n->host);
	(*(int *)arg)++;
	return 0;
}

static int
live_nodes(struct store *st)
{
	int	n = 0;

	assert_int_equal(store_postgresql.node->live(st, node_count_cb, &n),
	    STORE_OK);
	return n;
}

/*
 * st beats, and the beat is in: a beat outside a group is sent without
 * waiting for its answer, which the next statement on st waits for.
 */
static void
beat(struct store *st)
{
	assert_int_equal(store_postgresql.node->beat(st), STORE_OK);
	(void)live_nodes(st);
}

/* A reminder of owner's due at at, to channel, written and committed. */
static int64_t
reminder_to(struct fx *fx, const char *owner, const char *channel, time_t at)
{
	const struct store_txn_backend *t = store_postgresql.txn;
	const char	*channels[1] = { channel };
	struct store_outbox o;
	int		 created;

	memset(&o, 0, sizeof o);
	o.owner = owner;
	o.kind = "reminder";
	o.due_at = at;
	o.fire_at = at;
	o.payload = "{}";
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(store_postgresql.outbox->add(fx->st, &o, channels, 1,
	    at, &created), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	return o.id;
}

/* The node st2 sends delivery (id, channel) at at, and closes. */
static void
sent_and_closed(struct store *st2, int64_t id, const char *channel, time_t at)
{
	const struct store_txn_backend *t = store_postgresql.txn;

	t->write_begin(st2);
	assert_int_equal(store_postgresql.outbox->delivery_set(st2, id,
	    channel, "sent", 1, 0, NULL, at), STORE_OK);
	t->write_end(st2, 1);
	assert_int_equal(t->commit(st2), 0);
	t->close(st2);
}

/*
 * The node holding outbox id's delivery as if it had not beaten for s
 * more seconds: its heartbeat moved back on the server's clock.
 */
static void
holder_silent(struct fx *fx, int64_t id, int s)
{
	char		 sql[256];
	PGresult	*r;

	snprintf(sql, sizeof sql, "UPDATE nodes SET heartbeat_at = "
	    "heartbeat_at - %d WHERE name = (SELECT claimed_by FROM "
	    "deliveries WHERE outbox_id = %lld)", s, (long long)id);
	r = PQexec(fx->watch, sql);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	assert_string_equal(PQcmdTuples(r), "1");
	PQclear(r);
}

/*
 * A node whose heartbeat went stale (dead, or cut off) loses its claims
 * at once: another takes its deliveries without waiting for the lease.
 * A live node keeps them however long it takes, and whatever the other
 * nodes' clocks say: heartbeats are the server's clock's.
 */
static void
test_a_dead_node_s_deliveries_are_taken_over_at_once(void **state)
{
	struct fx	*fx = *state;
	const struct store_outbox_backend *ob = store_postgresql.outbox;
	static const char *const channels[] = { "hook:/bin/true" };
	const time_t	 at = 40000, stale = STORE_NODE_BEAT *
			    STORE_NODE_LIVE_BEATS;
	struct store_outbox o;
	struct store	*st2;
	int64_t		 unplanned;
	time_t		 notice, delivery, digest, before;
	int		 n0;

	if (fx == NULL)
		skip();
	o.id = reminder_to(fx, "nel", channels[0], at);

	/* Node A beats and claims it; B sees A live. */
	st2 = second_store();
	n0 = live_nodes(st2);
	beat(fx->st);
	assert_int_equal(node_due(fx->st, o.id, at), 1);
	assert_int_equal(live_nodes(st2), n0);

	/* While A is live, B leaves it alone, even with its own clock a
	 * day ahead, and wakes when A would go stale (before the lease
	 * ends). */
	assert_int_equal(node_due(st2, o.id, at + 1), 0);
	assert_int_equal(node_due(st2, o.id, at + 86400), 0);
	before = time(NULL);
	assert_int_equal(ob->schedule_next(st2, &notice, &delivery, &digest,
	    &unplanned), STORE_OK);
	assert_true(delivery >= before + stale - 1 &&
	    delivery <= time(NULL) + stale + 1);
	/* A beating keeps it A's, past the old heartbeat's life. */
	holder_silent(fx, o.id, stale + 1);
	beat(fx->st);
	assert_int_equal(node_due(st2, o.id, at + 1), 0);

	/* A stops beating: once its last heartbeat is stale, B takes it,
	 * long before the lease (STORE_PG_DELIVERY_LEASE) would end. */
	holder_silent(fx, o.id, stale + 1);
	assert_int_equal(live_nodes(st2), n0 - 1);
	assert_int_equal(node_due(st2, o.id, at + 1), 1);
	assert_int_equal(node_due(fx->st, o.id, at + 1), 0);

	sent_and_closed(st2, o.id, channels[0], at + 1);
}

/*
 * A delivery started (its hook running) stays its node's while the node
 * lives, whatever another node's clock says; once the node is dead, it
 * is another's when its retry time (until) has passed.
 */
static void
test_a_started_delivery_stays_its_node_s(void **state)
{
	struct fx	*fx = *state;
	const struct store_outbox_backend *ob = store_postgresql.outbox;
	const struct store_txn_backend *t = store_postgresql.txn;
	static const char *const channels[] = { "hook:/bin/sleep" };
	const time_t	 at = 60000, stale = STORE_NODE_BEAT *
			    STORE_NODE_LIVE_BEATS;
	struct store_outbox o;
	struct store	*st2;
	PGresult	*r;

	if (fx == NULL)
		skip();
	o.id = reminder_to(fx, "sid", channels[0], at);
	beat(fx->st);
	assert_int_equal(node_due(fx->st, o.id, at), 1);
	/* Its hook starts, for at most 35 s. */
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(ob->delivery_start(fx->st, o.id, channels[0], 0,
	    at + 35, at), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	r = PQexec(fx->watch, "SELECT claimed_by IS NOT NULL, lease_until - "
	    "floor(extract(epoch FROM statement_timestamp()))::bigint, "
	    "next_at FROM deliveries WHERE channel = 'hook:/bin/sleep'");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "t");
	assert_true(atoi(PQgetvalue(r, 0, 1)) >= 34 &&
	    atoi(PQgetvalue(r, 0, 1)) <= 35);
	assert_int_equal(atoll(PQgetvalue(r, 0, 2)), at + 35);
	PQclear(r);

	/* Another node, its clock an hour past until, leaves it alone. */
	st2 = second_store();
	assert_int_equal(node_due(st2, o.id, at + 3600), 0);
	/* Its node dies: once its heartbeat is stale, the other takes it
	 * from until on (its own clock), not before. */
	holder_silent(fx, o.id, stale + 1);
	assert_int_equal(node_due(st2, o.id, at + 34), 0);
	assert_int_equal(node_due(st2, o.id, at + 35), 1);

	sent_and_closed(st2, o.id, channels[0], at + 35);
}

/* Column 0 of the first row sql reads, as a string (freed by the next). */
static const char *
watch_value(struct fx *fx, const char *sql)
{
	static char	 buf[256];
	PGresult	*r;

	r = PQexec(fx->watch, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	snprintf(buf, sizeof buf, "%s", PQgetisnull(r, 0, 0) ? "NULL" :
	    PQgetvalue(r, 0, 0));
	PQclear(r);
	return buf;
}

/* v: delivery (id, channel) over, as status after attempts, at now. */
static void
delivery_over(struct store_delivery_state *v, int64_t id, const char *channel,
    const char *status, int attempts, time_t next, const char *error,
    time_t now)
{
	memset(v, 0, sizeof *v);
	v->outbox_id = id;
	v->channel = channel;
	v->status = status;
	v->attempts = attempts;
	v->next_at = next;
	v->error = error;
	v->now = now;
}

/*
 * A claim's notices, and a batch of delivery starts and results, each
 * go in one statement: what is new is told apart from what the ledger
 * holds already, each notice gets its own channels, and each delivery
 * the state the one-by-one calls would give it.
 */
static void
test_notices_and_deliveries_in_one_statement_each(void **state)
{
	struct fx	*fx = *state;
	const struct store_txn_backend *t = store_postgresql.txn;
	static const char *const two[] = { "hook:/bin/true", "journal" };
	static const char *const one[] = { "journal" };
	struct store_outbox o[3];
	struct store_delivery_state v[3];
	int64_t		 old;
	char		 sql[512];
	int		 i;

	if (fx == NULL)
		skip();
	old = reminder_to(fx, "bea", "journal", 30000);
	memset(o, 0, sizeof o);
	for (i = 0; i < 3; i++) {
		o[i].owner = "bea";
		o[i].kind = "reminder";
		o[i].fire_at = o[i].due_at = 30000 + i * 60;
		o[i].payload = i == 1 ? "{\"quote\": \"a \\\" b\"}" : "{}";
	}
	o[0].channels = one;		/* the ledger has it: not new */
	o[0].nchannels = 1;
	o[1].channels = two;
	o[1].nchannels = 2;
	o[2].nchannels = 0;		/* folded: no delivery of its own */
	o[2].hold = 40000;
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(store_outbox_add_many(fx->st, o, 3, 30100),
	    STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	assert_int_equal(o[0].created, 0);
	assert_int_equal(o[1].created, 1);
	assert_int_equal(o[2].created, 1);
	assert_true(o[1].id > old && o[2].id > old && o[1].id != o[2].id);
	snprintf(sql, sizeof sql, "SELECT string_agg(channel || '@' || "
	    "next_at, ',' ORDER BY channel) FROM deliveries "
	    "WHERE outbox_id = %lld", (long long)o[1].id);
	assert_string_equal(watch_value(fx, sql),
	    "hook:/bin/true@30100,journal@30100");
	snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries "
	    "WHERE outbox_id = %lld", (long long)o[2].id);
	assert_string_equal(watch_value(fx, sql), "0");
	snprintf(sql, sizeof sql, "SELECT payload FROM outbox WHERE id = "
	    "%lld", (long long)o[1].id);
	assert_string_equal(watch_value(fx, sql), o[1].payload);

	/* One start, one retry with its error, one sent. */
	memset(v, 0, sizeof v);
	v[0].outbox_id = o[1].id;
	v[0].channel = "hook:/bin/true";
	v[0].start = 1;
	v[0].attempts = 0;
	v[0].next_at = 30135;
	v[0].now = 30100;
	delivery_over(&v[1], old, "journal", "pending", 1, 30160, "exit 75",
	    30100);
	delivery_over(&v[2], o[1].id, "journal", "sent", 1, 30100, NULL, 30100);
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(store_delivery_write(fx->st, v, 3), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	snprintf(sql, sizeof sql, "SELECT status || ',' || attempts || ',' || "
	    "next_at || ',' || (claimed_by IS NOT NULL) || ',' || "
	    "(lease_until - floor(extract(epoch FROM "
	    "statement_timestamp()))::bigint BETWEEN 25 AND 35) || ',' || "
	    "coalesce(sent_at::text, '-') FROM deliveries "
	    "WHERE outbox_id = %lld AND channel = 'hook:/bin/true'",
	    (long long)o[1].id);
	assert_string_equal(watch_value(fx, sql), "pending,0,30135,true,true,-");
	snprintf(sql, sizeof sql, "SELECT status || ',' || attempts || ',' || "
	    "next_at || ',' || last_error || ',' || error_at || ',' || "
	    "(claimed_by IS NULL) FROM deliveries WHERE outbox_id = %lld",
	    (long long)old);
	assert_string_equal(watch_value(fx, sql),
	    "pending,1,30160,exit 75,30100,true");
	snprintf(sql, sizeof sql, "SELECT status || ',' || sent_at || ',' || "
	    "(claimed_by IS NULL AND lease_until IS NULL) FROM deliveries "
	    "WHERE outbox_id = %lld AND channel = 'journal'",
	    (long long)o[1].id);
	assert_string_equal(watch_value(fx, sql), "sent,30100,true");

	/* The hook's result: sent, the start's claim let go; the retry's
	 * success keeps its last error for the rep to read. */
	delivery_over(&v[0], o[1].id, "hook:/bin/true", "sent", 1, 30110, NULL,
	    30110);
	delivery_over(&v[1], old, "journal", "sent", 2, 30160, NULL, 30160);
	assert_int_equal(t->write_begin(fx->st), STORE_OK);
	assert_int_equal(store_delivery_write(fx->st, v, 2), STORE_OK);
	t->write_end(fx->st, 1);
	assert_int_equal(t->commit(fx->st), 0);
	snprintf(sql, sizeof sql, "SELECT status || ',' || sent_at || ',' || "
	    "(claimed_by IS NULL AND lease_until IS NULL) FROM deliveries "
	    "WHERE outbox_id = %lld AND channel = 'hook:/bin/true'",
	    (long long)o[1].id);
	assert_string_equal(watch_value(fx, sql), "sent,30110,true");
	snprintf(sql, sizeof sql, "SELECT status || ',' || last_error || ',' "
	    "|| error_at || ',' || sent_at FROM deliveries "
	    "WHERE outbox_id = %lld", (long long)old);
	assert_string_equal(watch_value(fx, sql), "sent,exit 75,30100,30160");
}

/*
 * A committed write tells the other nodes (NOTIFY), on commit only; a
 * node does not count its own news; a node stopping cleanly leaves; a
 * lost connection is reported, not taken for quiet, and the next
 * statement connects again and listens again.
 */
static void
test_a_commit_tells_the_other_nodes(void **state)
{
	struct fx	*fx = *state;
	const struct store_txn_backend *t = store_postgresql.txn;
	const struct store_node_backend *nb = store_postgresql.node;
	struct store	*st2;
	struct fu_contact c;
	struct pollfd	 pfd;
	PGresult	*r;
	unsigned	 session, before;
	int		 i, n = 0, n0;
	enum store_watch how;

	if (fx == NULL)
		skip();
	r = PQexec(fx->watch, "SELECT count(*) FROM nodes");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	n0 = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	st2 = second_store();
	assert_true(nb->notify_fd(st2, &session, &how) >= 0);
	assert_int_equal(how, STORE_WATCH_NEWS);
	assert_non_null(nb->server_version(st2));
	assert_int_equal(nb->notify_drain(st2), 0);

	add_contact(fx, "nel", "Sam", NULL, "lead", 1);
	/* add_contact committed: st2 hears of it once, soon. */
	pfd.fd = nb->notify_fd(st2, &session, &how);
	pfd.events = POLLIN;
	for (i = 0; i < 50 && n == 0; i++) {
		(void)poll(&pfd, 1, 100);
		n = nb->notify_drain(st2);
	}
	assert_int_equal(n, 1);
	assert_int_equal(nb->notify_drain(fx->st), 0);	/* its own */

	/* A clean stop removes the node's row. */
	t->close(st2);
	r = PQexec(fx->watch, "SELECT count(*) FROM nodes");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(atoi(PQgetvalue(r, 0, 0)), n0);
	PQclear(r);

	/*
	 * A lost connection says so, rather than nothing: its socket is
	 * no longer the one to watch (the try to connect again's is, or
	 * none until the try).
	 */
	r = PQexec(fx->watch, "SELECT pg_terminate_backend(pid) FROM "
	    "pg_stat_activity WHERE datname = current_database() AND "
	    "pid <> pg_backend_pid()");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	pfd.fd = nb->notify_fd(fx->st, &session, &how);
	before = session;
	for (i = 0; i < 50; i++) {
		(void)poll(&pfd, 1, 100);
		n = nb->notify_drain(fx->st);
		(void)nb->notify_fd(fx->st, &session, &how);
		if (n < 0 || session != before)
			break;
	}
	assert_true(n < 0 || session != before);

	/*
	 * It connects again, as the start did: a new session, this node's
	 * row back, and the other nodes heard again.
	 */
	reconnect(fx->st);
	assert_true(nb->notify_fd(fx->st, &session, &how) >= 0);
	assert_int_equal(how, STORE_WATCH_NEWS);
	assert_int_not_equal(session, before);
	assert_int_equal(nb->notify_drain(fx->st), 0);
	st2 = second_store();
	memset(&c, 0, sizeof c);
	c.owner = (char *)"nel";
	c.name = (char *)"Kim";
	c.stage = (char *)"lead";
	c.created_at = c.updated_at = 1;
	assert_int_equal(t->write_begin(st2), STORE_OK);
	assert_int_equal(store_postgresql.contact->insert(st2, &c), STORE_OK);
	t->write_end(st2, 1);
	assert_int_equal(t->commit(st2), 0);
	pfd.fd = nb->notify_fd(fx->st, &session, &how);
	n = 0;
	for (i = 0; i < 50 && n == 0; i++) {
		(void)poll(&pfd, 1, 100);
		n = nb->notify_drain(fx->st);
	}
	assert_int_equal(n, 1);
	t->close(st2);
}

int
main(void)
{
#define T(t)	cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest cases[] = {
		T(test_identity_and_schema),
		T(test_a_group_stays_open_until_its_commit),
		T(test_users_round_trip),
		T(test_interactions_page_newest_first),
		T(test_promises_keep_a_callback_s_history),
		T(test_contacts_as_the_sqlite_store_answers),
		T(test_followups_in_the_sqlite_store_s_order),
		T(test_the_report_s_figures),
		T(test_a_reader_sees_one_snapshot_and_stops),
		T(test_a_notice_due_is_taken_once_and_advanced),
		T(test_a_delivery_is_claimed_by_one_node_until_its_lease_ends),
		T(test_held_folded_rearmed_and_the_digest),
		T(test_a_connection_lost_mid_group_loses_the_group),
		T(test_a_dead_node_s_deliveries_are_taken_over_at_once),
		T(test_a_started_delivery_stays_its_node_s),
		T(test_a_commit_tells_the_other_nodes),
		T(test_notices_and_deliveries_in_one_statement_each),
	};

	return cmocka_run_group_tests(cases, NULL, NULL);
}
