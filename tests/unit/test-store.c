/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests for the store (store.c and store-*.c): opening and migrating,
 * the group commit without an event base (the test commits), and every
 * query, each on a fresh database file in its own temporary directory
 * (WAL needs a file).  Times are fixed instants around NOW.
 */

#include <config.h>

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <event2/event.h>

#include "followupd.h"
#include "store-internal.h"

/* Sunday 2026-11-22 12:00:00 UTC. */
#define NOW	((time_t)1795348800)
#define HOUR	3600
#define DAY	86400

struct fx {
	char			 dir[64];
	char			 path[128];
	struct store		*st;
	struct fu_config	*cf;
};

/* Remove dir and everything in it (one level of subdirectories). */
/* Move a follow-up through the store's whole-operation call. */
static enum store_result
set_due(struct store *st, const char *owner, int64_t id, time_t due,
    time_t remind, int snooze, time_t now)
{
	struct fu_followup	f;

	memset(&f, 0, sizeof f);
	f.id = id;
	f.owner = (char *)owner;
	f.due_at = due;
	f.remind_at = remind;
	f.notice_stage = NOTICE_DUE;
	f.notice_at = due;
	return store_followup_set_due(st, &f, snooze, 0, now);
}

static void
rm_tree(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[512];
	struct stat	 sb;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			rm_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* A fresh directory; the database is not opened yet. */
static int
fx_setup_dir(void **state)
{
	struct fx	*fx;

	fx = xcalloc(1, sizeof *fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/fu-test-store.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof fx->path, "%s/followup.db", fx->dir);
	fx->cf = config_new();
	*state = fx;
	return 0;
}

/* A fresh directory with a new database open in it. */
static int
fx_setup(void **state)
{
	struct fx	*fx;
	char		*cause;

	if (fx_setup_dir(state) != 0)
		return -1;
	fx = *state;
	if ((fx->st = store_open(fx->path, &cause)) == NULL) {
		fprintf(stderr, "store_open: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx	*fx = *state;

	store_close(fx->st);
	config_free(fx->cf);
	rm_tree(fx->dir);
	free(fx);
	return 0;
}

/* Start one write; the store must accept it. */
static void
begin(struct store *st)
{
	assert_int_equal(store_write_begin(st), STORE_OK);
	assert_true(store_in_txn(st));
}

/* End one good write and commit the group. */
static void
commit(struct store *st)
{
	store_write_end(st, 1);
	assert_int_equal(store_commit(st), 0);
	assert_false(store_in_txn(st));
}

/*
 * The plain records the store hands out, set in obj the way replies show
 * them, so a check reads like the reply a client sees.
 */
/* The stale-contact rules of the fixture's configuration. */
static const struct store_stale *
stale_of(struct fx *fx)
{
	static struct store_stale	ss;

	config_stale(fx->cf, &ss);
	return &ss;
}

static enum store_result
counts_j(struct store *st, const char *owner, time_t now, json_t *obj)
{
	struct store_contact_counts	n;
	enum store_result		r;

	if ((r = store_contact_counts(st, owner, now, &n)) == STORE_OK)
		counts_json(obj, &n);
	return r;
}

static enum store_result
outbox_stats_j(struct store *st, const char *owner, json_t *obj)
{
	struct store_outbox_stats	os;
	enum store_result		r;

	if ((r = store_outbox_stats(st, owner, &os)) == STORE_OK)
		outbox_stats_json(obj, &os);
	return r;
}

static enum store_result
outbox_last_j(struct store *st, const char *owner, json_t *obj)
{
	struct store_outbox_last	ol;
	enum store_result		r;

	if ((r = store_outbox_last(st, owner, &ol)) == STORE_OK)
		outbox_last_json(obj, &ol);
	store_outbox_last_clear(&ol);
	return r;
}

static enum store_result
outbox_health_j(struct store *st, const char *owner, json_t *obj)
{
	struct store_outbox_health	oh;
	enum store_result		r;

	if ((r = store_outbox_health(st, owner, &oh)) == STORE_OK)
		outbox_health_json(obj, &oh);
	store_outbox_health_clear(&oh);
	return r;
}

static enum store_result
outbox_reps_j(struct store *st, json_t *obj)
{
	return outbox_reps_json(st, obj) == 0 ? STORE_OK : STORE_ERROR;
}

/* Insert a contact (committed) and return its id. */
static int64_t
add_contact_full(struct store *st, const char *owner, const char *name,
    const char *company, const char *email, const char *stage,
    const char *notes, time_t created)
{
	struct fu_contact	c;

	memset(&c, 0, sizeof c);
	c.owner = (char *)owner;
	c.name = (char *)name;
	c.company = (char *)company;
	c.email = (char *)email;
	c.stage = (char *)(stage != NULL ? stage : "lead");
	c.notes = (char *)notes;
	c.created_at = c.updated_at = created;
	begin(st);
	assert_int_equal(store_contact_insert(st, &c), STORE_OK);
	commit(st);
	assert_true(c.id > 0);
	return c.id;
}

static int64_t
add_contact(struct store *st, const char *owner, const char *name,
    const char *stage, time_t created)
{
	return add_contact_full(st, owner, name, NULL, NULL, stage, NULL,
	    created);
}

/* Insert a pending follow-up (committed) and return its id. */
static int64_t
add_followup(struct store *st, const char *owner, int64_t contact,
    const char *kind, time_t due)
{
	struct fu_followup	f;

	memset(&f, 0, sizeof f);
	f.contact_id = contact;
	f.owner = (char *)owner;
	f.kind = (char *)kind;
	f.due_at = due;
	f.remind_before = -1;
	f.remind_at = due - 15 * 60;
	f.created_at = NOW - DAY;
	begin(st);
	assert_int_equal(store_followup_insert(st, &f), STORE_OK);
	commit(st);
	assert_true(f.id > 0);
	return f.id;
}

/* Insert an interaction (committed) and return its id. */
static int64_t
add_interaction(struct store *st, const char *owner, int64_t contact,
    const char *kind, time_t at)
{
	struct fu_interaction	in;

	memset(&in, 0, sizeof in);
	in.contact_id = contact;
	in.owner = (char *)owner;
	in.kind = (char *)kind;
	in.outcome = (char *)"reached";
	in.note = (char *)"talked";
	in.at = at;
	in.created_at = at;
	begin(st);
	assert_int_equal(store_interaction_insert(st, &in), STORE_OK);
	commit(st);
	return in.id;
}

/* Close a follow-up (committed) and return the store's answer. */
static enum store_result
close_followup(struct store *st, const char *owner, int64_t id,
    const char *status, time_t now)
{
	enum store_result	r;

	begin(st);
	r = store_followup_close(st, owner, id, status, "a note", now);
	store_write_end(st, r == STORE_OK);
	assert_int_equal(store_commit(st), 0);
	return r;
}

/* Collects contact ids (or follow-up ids) from list callbacks. */
struct ids {
	int64_t	id[64];
	int	n;
	int	stop_after;	/* 0: never */
};

static int
ids_contact_cb(const struct fu_contact *c, void *arg)
{
	struct ids	*ids = arg;

	assert_true(ids->n < 64);
	ids->id[ids->n++] = c->id;
	return ids->stop_after != 0 && ids->n == ids->stop_after;
}

static int
ids_followup_cb(const struct fu_followup *f, void *arg)
{
	struct ids	*ids = arg;

	assert_true(ids->n < 64);
	ids->id[ids->n++] = f->id;
	return ids->stop_after != 0 && ids->n == ids->stop_after;
}

/* Assert the collected ids are exactly the n given. */
static void
ids_equal(const struct ids *ids, int line, int n, ...)
{
	va_list	ap;
	int64_t	want;
	int	i;

	if (ids->n != n) {
		print_error("got %d ids, want %d:", ids->n, n);
		for (i = 0; i < ids->n; i++)
			print_error(" %lld", (long long)ids->id[i]);
		print_error("\n");
		_fail(__FILE__, line);
	}
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		want = va_arg(ap, int64_t);
		if (ids->id[i] != want) {
			print_error("id %d is %lld, want %lld\n", i,
			    (long long)ids->id[i], (long long)want);
			va_end(ap);
			_fail(__FILE__, line);
		}
	}
	va_end(ap);
}
#define IDS_EQUAL(ids, ...)	ids_equal(ids, __LINE__, __VA_ARGS__)

static struct ids *
list_contacts(struct store *st, struct store_contact_filter *f,
    struct ids *ids)
{
	memset(ids, 0, sizeof *ids);
	if (f->limit == 0)
		f->limit = 100;
	assert_int_equal(store_contact_list(st, f, ids_contact_cb, ids),
	    STORE_OK);
	return ids;
}

static struct ids *
list_followups(struct store *st, struct store_followup_filter *f,
    struct ids *ids)
{
	memset(ids, 0, sizeof *ids);
	if (f->limit == 0)
		f->limit = 100;
	assert_int_equal(store_followup_list(st, f, ids_followup_cb, ids),
	    STORE_OK);
	return ids;
}

/* Run one SQL statement on the database file with a connection of our own. */
static long long
sql_int(const char *path, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	long long	 v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		fail_msg("%s: %s", path, sqlite3_errmsg(db));
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/*
 * Take back schema steps 14 (when the interaction that proposed a
 * follow-up happened) and 13 (a contact's lists sorted on each read).
 */
static void
undo_contact_order_indexes(const char *path)
{
	sql_int(path, "ALTER TABLE followups DROP COLUMN proposed_at");
	sql_int(path, "DROP INDEX followups_contact_kind");
	sql_int(path, "DROP INDEX followups_contact_closed");
	sql_int(path, "DROP INDEX followups_contact");
	sql_int(path, "CREATE INDEX followups_contact ON followups "
	    "(contact_id, status, due_at)");
}

/* --- opening --- */

static void
test_open_creates_schema(void **state)
{
	struct fx	*fx = *state;
	struct stat	 sb;

	assert_int_equal(store_schema_version(fx->st), 14);
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_false(store_in_txn(fx->st));
	/* WAL mode sticks to the file. */
	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM "
	    "pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'table' AND name IN ('users', 'contacts', "
	    "'interactions', 'followups')"), 4);
}

static void
test_open_makes_missing_directories(void **state)
{
	struct fx	*fx = *state;
	struct store	*st;
	struct stat	 sb;
	char		 path[256], *cause;

	snprintf(path, sizeof path, "%s/a/b/followup.db", fx->dir);
	if ((st = store_open(path, &cause)) == NULL)
		fail_msg("store_open: %s", cause);
	assert_int_equal(store_schema_version(st), 14);
	store_close(st);
	snprintf(path, sizeof path, "%s/a/b", fx->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
}

static void
test_reopen_keeps_data(void **state)
{
	struct fx		*fx = *state;
	struct fu_contact	 c;
	int64_t			 id;
	char			*cause, *ident;
	size_t			 i;

	/* The identity is 32 hex digits, made once and kept. */
	ident = xstrdup(store_id(fx->st));
	assert_int_equal(strlen(ident), 32);
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", ident[i]));
	id = add_contact_full(fx->st, "ana", "Dana Scully", "FBI",
	    "dana@fbi.example", "proposal", "line one\nline two", NOW);
	store_close(fx->st);
	if ((fx->st = store_open(fx->path, &cause)) == NULL)
		fail_msg("reopen: %s", cause);
	assert_int_equal(store_schema_version(fx->st), 14);
	assert_string_equal(store_id(fx->st), ident);
	free(ident);
	assert_int_equal(store_contact_get(fx->st, "ana", id, &c), STORE_OK);
	assert_string_equal(c.name, "Dana Scully");
	assert_string_equal(c.company, "FBI");
	assert_string_equal(c.email, "dana@fbi.example");
	assert_string_equal(c.stage, "proposal");
	assert_string_equal(c.notes, "line one\nline two");
	assert_int_equal(c.created_at, NOW);
	fu_contact_clear(&c);
}

static void
test_close_commits_open_group(void **state)
{
	struct fx		*fx = *state;
	struct fu_contact	 c;
	char			*cause;

	memset(&c, 0, sizeof c);
	c.owner = (char *)"ana";
	c.name = (char *)"Pending Commit";
	c.stage = (char *)"lead";
	c.created_at = c.updated_at = NOW;
	begin(fx->st);
	assert_int_equal(store_contact_insert(fx->st, &c), STORE_OK);
	store_write_end(fx->st, 1);
	store_close(fx->st);		/* no store_commit */
	if ((fx->st = store_open(fx->path, &cause)) == NULL)
		fail_msg("reopen: %s", cause);
	memset(&c, 0, sizeof c);
	assert_int_equal(store_contact_get(fx->st, "ana", 1, &c), STORE_OK);
	assert_string_equal(c.name, "Pending Commit");
	fu_contact_clear(&c);
}

static void
count_commit(int ok, void *arg)
{
	(*(int *)arg)++;
}

/* Can another connection fold the log into the database and empty it? */
static int
truncate_log(sqlite3 *db)
{
	return sqlite3_wal_checkpoint_v2(db, "main",
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

/*
 * The reads of one loop pass share one read transaction, which the
 * daemon's driver ends a few milliseconds later (the passes meanwhile
 * read in it too): until then the daemon holds its snapshot (another
 * connection cannot empty the log under it); a write ends it first and
 * commits with its pass as ever, ending a read opened after it too.
 */
static void
test_reads_of_a_pass_share_one_transaction(void **state)
{
	struct fx		*fx = *state;
	struct event_base	*base;
	struct fu_contact	 c;
	sqlite3			*db;
	int64_t			 id;
	int			 commits = 0;

	/* The log's first commits can fold it in whole; one more stays. */
	add_contact(fx->st, "ana", "Ada", NULL, NOW);
	id = add_contact(fx->st, "ana", "Cy", NULL, NOW);
	assert_non_null(base = event_base_new());
	commit_init(base, fx->st, count_commit, NULL, &commits);
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	/* A first read shows the connection the log. */
	assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM contacts",
	    NULL, NULL, NULL), SQLITE_OK);

	store_read_begin(fx->st);
	assert_int_equal(store_contact_get(fx->st, "ana", id, &c), STORE_OK);
	fu_contact_clear(&c);
	assert_int_equal(store_contact_get(fx->st, "ana", id, &c), STORE_OK);
	fu_contact_clear(&c);
	assert_false(store_in_txn(fx->st));
	assert_int_equal(truncate_log(db), SQLITE_BUSY);
	/* The read's time ends (its timer is the only event waiting). */
	event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(truncate_log(db), SQLITE_OK);
	assert_int_equal(commits, 0);

	store_read_begin(fx->st);
	assert_int_equal(store_contact_get(fx->st, "ana", id, &c), STORE_OK);
	fu_contact_clear(&c);
	add_contact(fx->st, "ana", "Bea", NULL, NOW);
	assert_int_equal(commits, 1);
	store_read_begin(fx->st);
	assert_int_equal(store_contact_get(fx->st, "ana", id + 1, &c),
	    STORE_OK);
	assert_string_equal(c.name, "Bea");
	fu_contact_clear(&c);
	assert_int_equal(truncate_log(db), SQLITE_BUSY);
	event_base_loop(base, EVLOOP_NONBLOCK);	/* the write's pass ends */
	assert_int_equal(truncate_log(db), SQLITE_OK);

	sqlite3_close(db);
	commit_free();			/* its events belong to base */
	store_close(fx->st);
	fx->st = NULL;
	event_base_free(base);
}

static void
drv_pass(void *arg)
{
}

static void
drv_idle(long ms, void *arg)
{
}

/* A driver's sync or checkpoint: counted in the int at arg. */
static void
drv_count(void *arg)
{
	(*(int *)arg)++;
}

/*
 * With a driver that syncs, a commit is written without waiting for the
 * disk (synchronous=NORMAL) and counts as durable only once the driver's
 * sync of the log has run; without one, each commit is durable when it
 * returns (synchronous=FULL), as when the driver goes.
 */
static void
test_commit_durable_after_the_drivers_sync(void **state)
{
	struct fx		*fx = *state;
	struct store_driver	 drv;
	int			 syncs = 0;

	add_contact(fx->st, "ana", "Ada", NULL, NOW);
	assert_int_equal(store_commits(fx->st), 1);
	assert_int_equal(store_durable(fx->st), 1);
	assert_int_equal(store_query_int(fx->st, "PRAGMA synchronous"), 2);
	assert_int_equal(store_sync_begin(fx->st), 0);

	memset(&drv, 0, sizeof drv);
	drv.pass = drv_pass;
	drv.idle = drv_idle;
	drv.sync = drv_count;
	drv.arg = &syncs;
	store_set_driver(fx->st, &drv, NULL, NULL);
	assert_int_equal(store_query_int(fx->st, "PRAGMA synchronous"), 1);
	add_contact(fx->st, "ana", "Bea", NULL, NOW);
	add_contact(fx->st, "ana", "Cy", NULL, NOW);
	assert_int_equal(syncs, 2);
	assert_int_equal(store_commits(fx->st), 3);
	assert_int_equal(store_durable(fx->st), 1);
	/* One sync covers every commit written before it began. */
	assert_int_equal(store_sync_begin(fx->st), 3);
	assert_int_equal(store_sync_run(fx->st), 0);
	store_sync_end(fx->st, 3, 1);
	assert_int_equal(store_durable(fx->st), 3);
	assert_int_equal(store_sync_begin(fx->st), 0);

	/* Unset, it syncs what is left and each commit waits again. */
	add_contact(fx->st, "ana", "Dee", NULL, NOW);
	assert_int_equal(store_durable(fx->st), 3);
	store_set_driver(fx->st, NULL, NULL, NULL);
	assert_int_equal(store_durable(fx->st), 4);
	assert_int_equal(store_query_int(fx->st, "PRAGMA synchronous"), 2);
	add_contact(fx->st, "ana", "Eve", NULL, NOW);
	assert_int_equal(store_durable(fx->st), 5);
}

/* A thread that takes and gives back SQLite's small blocks, then ends. */
static void *
mem_thread(void *arg)
{
	void	*p[300];
	int	 i;

	(void)arg;
	for (i = 0; i < 300; i++)
		p[i] = sqlite3_malloc(1000);
	for (i = 0; i < 300; i++)
		sqlite3_free(p[i]);
	return NULL;
}

/*
 * SQLite's allocator (store-mem.c): a small block freed is the next one of
 * its size the thread gets; a block keeps its bytes as it grows past the
 * classes and shrinks back; a thread's kept blocks are given back when it
 * ends (valgrind's leak check sees them otherwise).  Without the cache
 * (under AddressSanitizer) there is nothing to check.
 */
static void
test_sqlite_small_blocks_kept_per_thread(void **state)
{
	unsigned char	*p, *q, *r;
	pthread_t	 th;
	int		 i;

	(void)state;
	if (!store_sqlite_mem_setup())
		skip();
	p = sqlite3_malloc(1000);
	assert_non_null(p);
	assert_int_equal(sqlite3_msize(p), 1024);
	sqlite3_free(p);
	q = sqlite3_malloc(1024);
	assert_ptr_equal(q, p);
	memset(q, 'b', 1024);
	r = sqlite3_realloc(q, 5000);
	assert_non_null(r);
	assert_true(sqlite3_msize(r) >= 5000);
	for (i = 0; i < 1024; i++)
		assert_int_equal(r[i], 'b');
	r = sqlite3_realloc(r, 100000);
	assert_non_null(r);
	assert_true(sqlite3_msize(r) >= 100000);
	for (i = 0; i < 1024; i++)
		assert_int_equal(r[i], 'b');
	q = sqlite3_realloc(r, 10);
	assert_non_null(q);
	assert_int_equal(sqlite3_msize(q), 64);
	for (i = 0; i < 10; i++)
		assert_int_equal(q[i], 'b');
	sqlite3_free(q);
	assert_int_equal(pthread_create(&th, NULL, mem_thread, NULL), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
}

/*
 * With a driver that checkpoints, the commits do not fold the log into
 * the database themselves (SQLite's own checkpoint, in the commit that
 * passes the mark, copied pages and synced twice on the loop): the first
 * commit past three quarters of the mark asks the driver, once until the
 * checkpoint ends, and the log grows meanwhile.  The checkpoint, through a
 * connection of its own, folds all of it in, so the next commit starts
 * the log again from its beginning.  A checkpoint held back by a reader
 * leaves the log long: then the loop folds in the rest at the mark, as
 * SQLite would.  Without the driver SQLite checkpoints again.
 */
static void
test_log_checkpointed_beside_the_commits(void **state)
{
	struct fx		*fx = *state;
	struct store_driver	 drv;
	sqlite3			*db;
	char			 name[32], notes[6000];
	int			 asked = 0, pages, i;

	memset(notes, 'n', sizeof notes - 1);
	notes[sizeof notes - 1] = '\0';
	memset(&drv, 0, sizeof drv);
	drv.pass = drv_pass;
	drv.idle = drv_idle;
	drv.checkpoint = drv_count;
	drv.arg = &asked;
	store_set_driver(fx->st, &drv, NULL, NULL);
	for (i = 0; fx->st->wal_pages < 192; i++) {
		assert_true(i < 1000);
		assert_int_equal(asked, 0);
		snprintf(name, sizeof name, "Prospect %d", i);
		add_contact_full(fx->st, "ana", name, NULL, NULL, NULL, notes,
		    NOW);
	}
	assert_int_equal(asked, 1);
	assert_true(fx->st->ckpt_asked);
	/* Not asked again while it runs; the log keeps growing past the
	 * mark, as the loop leaves it to the thread. */
	while (fx->st->wal_pages < 300) {
		pages = fx->st->wal_pages;
		add_contact_full(fx->st, "ana", "Later", NULL, NULL, NULL,
		    notes, NOW);
		assert_true(fx->st->wal_pages > pages);
	}
	assert_int_equal(asked, 1);
	/* A checkpoint holds off the one when writes rest. */
	assert_int_equal(store_checkpoint(fx->st), STORE_BUSY);

	assert_int_equal(store_ckpt_run(fx->st), 0);
	store_ckpt_end(fx->st, 1);
	assert_false(fx->st->ckpt_asked);
	add_contact(fx->st, "ana", "After", NULL, NOW);
	assert_true(fx->st->wal_pages < 64);
	assert_int_equal(asked, 1);

	/* A reader's snapshot holds the thread's checkpoint back. */
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN; SELECT count(*) FROM "
	    "contacts", NULL, NULL, NULL), SQLITE_OK);
	while (fx->st->wal_pages < 192)
		add_contact_full(fx->st, "ana", "More", NULL, NULL, NULL,
		    notes, NOW);
	assert_int_equal(asked, 2);
	while (fx->st->wal_pages < 300)
		add_contact_full(fx->st, "ana", "More", NULL, NULL, NULL,
		    notes, NOW);
	assert_int_equal(store_ckpt_run(fx->st), 0);
	store_ckpt_end(fx->st, 1);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	/* Past the mark with the thread idle, the loop folds it in. */
	add_contact(fx->st, "ana", "Folded", NULL, NOW);
	assert_int_equal(asked, 2);
	add_contact(fx->st, "ana", "Anew", NULL, NOW);
	assert_true(fx->st->wal_pages < 64);
	assert_int_equal(asked, 2);

	/* Without the driver, the commits checkpoint as SQLite does. */
	store_set_driver(fx->st, NULL, NULL, NULL);
	pages = fx->st->wal_pages;
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "Plain %d", i);
		add_contact_full(fx->st, "ana", name, NULL, NULL, NULL, notes,
		    NOW);
	}
	assert_int_equal(fx->st->wal_pages, pages);
	assert_int_equal(asked, 2);
}

static void
test_open_refuses_file_that_is_not_a_database(void **state)
{
	struct fx	*fx = *state;
	struct store	*st;
	char		 garbage[4096], back[sizeof garbage + 1];
	char		*cause = NULL;
	FILE		*f;
	size_t		 i;

	for (i = 0; i < sizeof garbage; i++)
		garbage[i] = "not a database, just some text\n"[i % 31];
	if ((f = fopen(fx->path, "w")) == NULL)
		fail_msg("%s: %s", fx->path, strerror(errno));
	assert_int_equal(fwrite(garbage, 1, sizeof garbage, f),
	    sizeof garbage);
	fclose(f);

	st = store_open(fx->path, &cause);
	assert_null(st);
	assert_non_null(cause);
	assert_non_null(strstr(cause, fx->path));
	assert_non_null(strstr(cause, "not a database"));
	free(cause);

	/* Not a byte changed. */
	if ((f = fopen(fx->path, "r")) == NULL)
		fail_msg("%s: %s", fx->path, strerror(errno));
	assert_int_equal(fread(back, 1, sizeof back, f), sizeof garbage);
	fclose(f);
	assert_memory_equal(back, garbage, sizeof garbage);
}

static void
test_open_refuses_newer_schema(void **state)
{
	struct fx	*fx = *state;
	struct store	*st;
	char		*cause = NULL;

	assert_int_equal(sql_int(fx->path, "PRAGMA user_version = 99"), -1);
	assert_int_equal(sql_int(fx->path, "PRAGMA user_version"), 99);

	st = store_open(fx->path, &cause);
	assert_null(st);
	assert_non_null(cause);
	assert_non_null(strstr(cause, fx->path));
	assert_non_null(strstr(cause, "99"));
	assert_non_null(strstr(cause, "newer"));
	free(cause);

	/* Nothing was migrated over it. */
	assert_int_equal(sql_int(fx->path, "PRAGMA user_version"), 99);
	assert_int_equal(sql_int(fx->path,
	    "SELECT count(*) FROM sqlite_master"), 0);
}

/* --- writes and the group commit --- */

/* Count a report row (the stages' counts add up). */
static int
count_stage_cb(const struct store_report_row *row, void *arg)
{
	*(int64_t *)arg += row->num[2];
	return 0;
}

/*
 * A reader sees one snapshot: what the loop's store commits after the
 * reader's first read is not in its later reads.  Stopped, its reads fail
 * and leave the loop's store alone.
 */
static void
test_reader_reads_one_snapshot(void **state)
{
	struct fx		*fx = *state;
	struct store_reader	*r;
	struct store		*rd;
	char			*cause = NULL;
	int64_t			 n;

	add_contact(fx->st, "ana", "Before", "lead", NOW);
	r = store_reader_new(fx->st);
	rd = store_reader_open(r, &cause);
	assert_non_null(rd);
	n = 0;
	assert_int_equal(store_report_stages(rd, "ana", count_stage_cb, &n),
	    STORE_OK);
	assert_int_equal(n, 1);
	add_contact(fx->st, "ana", "After", "lead", NOW);
	n = 0;
	assert_int_equal(store_report_stages(rd, "ana", count_stage_cb, &n),
	    STORE_OK);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_report_stages(fx->st, "ana", count_stage_cb,
	    &n), STORE_OK);
	assert_int_equal(n, 2);
	store_reader_stop(r);
	assert_int_not_equal(store_report_stages(rd, "ana", count_stage_cb,
	    &n), STORE_OK);
	store_reader_free(r);
	add_contact(fx->st, "ana", "Later", "lead", NOW);

	/* One stopped before it opens does not open. */
	r = store_reader_new(fx->st);
	store_reader_stop(r);
	assert_null(store_reader_open(r, &cause));
	assert_non_null(cause);
	free(cause);
	store_reader_free(r);
}

static void
test_contact_roundtrip(void **state)
{
	struct fx		*fx = *state;
	struct fu_contact	 c;
	int64_t			 id;

	id = add_contact_full(fx->st, "ana", "Fox Mulder", NULL,
	    "fox@fbi.example", NULL, NULL, NOW - HOUR);
	assert_int_equal(store_contact_get(fx->st, "ana", id, &c), STORE_OK);
	assert_int_equal(c.id, id);
	assert_string_equal(c.owner, "ana");
	assert_string_equal(c.name, "Fox Mulder");
	assert_null(c.company);
	assert_null(c.phone);
	assert_string_equal(c.email, "fox@fbi.example");
	assert_null(c.tz);
	assert_string_equal(c.stage, "lead");
	assert_null(c.notes);
	assert_int_equal(c.archived_at, 0);
	assert_int_equal(c.last_activity_at, 0);
	assert_int_equal(c.created_at, NOW - HOUR);
	assert_int_equal(c.updated_at, NOW - HOUR);

	/* Update every editable field; NULL clears. */
	free(c.name);
	c.name = xstrdup("Fox W. Mulder");
	c.phone = xstrdup("+1 202 555 0100");
	free(c.email);
	c.email = NULL;
	c.tz = xstrdup("America/New_York");
	free(c.stage);
	c.stage = xstrdup("proposal");
	c.updated_at = NOW;
	begin(fx->st);
	assert_int_equal(store_contact_update(fx->st, &c), STORE_OK);
	commit(fx->st);
	fu_contact_clear(&c);

	assert_int_equal(store_contact_get(fx->st, "ana", id, &c), STORE_OK);
	assert_string_equal(c.name, "Fox W. Mulder");
	assert_string_equal(c.phone, "+1 202 555 0100");
	assert_null(c.email);
	assert_string_equal(c.tz, "America/New_York");
	assert_string_equal(c.stage, "proposal");
	assert_int_equal(c.created_at, NOW - HOUR);
	assert_int_equal(c.updated_at, NOW);
	fu_contact_clear(&c);

	assert_int_equal(store_contact_get(fx->st, "ana", id + 1, &c),
	    STORE_NOT_FOUND);
	fu_contact_clear(&c);
}

static int
interaction_cb(const struct fu_interaction *in, void *arg)
{
	struct ids	*ids = arg;

	assert_string_equal(in->owner, "ana");
	ids->id[ids->n++] = in->id;
	return 0;
}

static void
test_interaction_roundtrip_moves_last_activity(void **state)
{
	struct fx		*fx = *state;
	struct fu_contact	 c;
	struct ids		 ids;
	int64_t			 id, i1, i2, i3;

	id = add_contact(fx->st, "ana", "Walter Skinner", NULL, NOW - 10 * DAY);
	i1 = add_interaction(fx->st, "ana", id, "call", NOW - 3 * DAY);
	i2 = add_interaction(fx->st, "ana", id, "email", NOW - DAY);
	/* Logged late: an older one must not move last activity back. */
	i3 = add_interaction(fx->st, "ana", id, "note", NOW - 2 * DAY);

	assert_int_equal(store_contact_get(fx->st, "ana", id, &c), STORE_OK);
	assert_int_equal(c.last_activity_at, NOW - DAY);
	fu_contact_clear(&c);

	/* Newest first, by "at". */
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_interaction_list(fx->st, "ana", id, 0, 0, 0, 10,
	    interaction_cb, &ids), STORE_OK);
	IDS_EQUAL(&ids, 3, i2, i3, i1);
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_interaction_list(fx->st, "ana", id,
	    NOW - 2 * DAY, 0, 0, 10, interaction_cb, &ids), STORE_OK);
	IDS_EQUAL(&ids, 2, i2, i3);
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_interaction_list(fx->st, "ana", id, 0, 0, 0, 1,
	    interaction_cb, &ids), STORE_OK);
	IDS_EQUAL(&ids, 1, i2);
	/* Someone else sees none of them. */
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_interaction_list(fx->st, "bob", id, 0, 0, 0, 10,
	    interaction_cb, &ids), STORE_OK);
	assert_int_equal(ids.n, 0);
}

static void
test_interaction_needs_existing_contact(void **state)
{
	struct fx		*fx = *state;
	struct fu_interaction	 in;

	memset(&in, 0, sizeof in);
	in.contact_id = 42;
	in.owner = (char *)"ana";
	in.kind = (char *)"call";
	in.at = in.created_at = NOW;
	begin(fx->st);
	assert_int_equal(store_interaction_insert(fx->st, &in),
	    STORE_CONFLICT);
	store_write_end(fx->st, 0);
	assert_int_equal(store_commit(fx->st), 0);
}

static void
test_followup_roundtrip(void **state)
{
	struct fx		*fx = *state;
	struct fu_followup	 f;
	int64_t			 cid, id;

	cid = add_contact(fx->st, "ana", "Monica Reyes", NULL, NOW - DAY);
	memset(&f, 0, sizeof f);
	f.contact_id = cid;
	f.owner = (char *)"ana";
	f.kind = (char *)"callback";
	f.due_at = NOW + DAY;
	f.reason = (char *)"send the quote";
	f.remind_before = 600;
	f.remind_at = NOW + DAY - 600;
	f.created_at = NOW;
	begin(fx->st);
	assert_int_equal(store_followup_insert(fx->st, &f), STORE_OK);
	commit(fx->st);
	id = f.id;

	assert_int_equal(store_followup_get(fx->st, "ana", id, &f), STORE_OK);
	assert_int_equal(f.id, id);
	assert_int_equal(f.contact_id, cid);
	assert_string_equal(f.contact_name, "Monica Reyes");
	assert_string_equal(f.owner, "ana");
	assert_string_equal(f.kind, "callback");
	assert_string_equal(f.status, "pending");
	assert_int_equal(f.due_at, NOW + DAY);
	assert_string_equal(f.reason, "send the quote");
	assert_int_equal(f.remind_before, 600);
	assert_int_equal(f.remind_at, NOW + DAY - 600);
	assert_int_equal(f.snoozes, 0);
	assert_null(f.note);
	assert_int_equal(f.created_at, NOW);
	assert_int_equal(f.updated_at, NOW);
	assert_int_equal(f.done_at, 0);
	fu_followup_clear(&f);

	/* No own lead time reads back as -1. */
	id = add_followup(fx->st, "ana", cid, "followup", NOW + 2 * DAY);
	assert_int_equal(store_followup_get(fx->st, "ana", id, &f), STORE_OK);
	assert_int_equal(f.remind_before, -1);
	assert_null(f.reason);
	fu_followup_clear(&f);

	assert_int_equal(store_followup_get(fx->st, "ana", id + 1, &f),
	    STORE_NOT_FOUND);
	fu_followup_clear(&f);
}

static void
test_followup_needs_existing_contact(void **state)
{
	struct fx		*fx = *state;
	struct fu_followup	 f;

	memset(&f, 0, sizeof f);
	f.contact_id = 42;
	f.owner = (char *)"ana";
	f.kind = (char *)"followup";
	f.due_at = NOW + DAY;
	f.remind_before = -1;
	f.remind_at = NOW + DAY;
	f.created_at = NOW;
	begin(fx->st);
	assert_int_equal(store_followup_insert(fx->st, &f), STORE_CONFLICT);
	store_write_end(fx->st, 0);
	assert_int_equal(store_commit(fx->st), 0);
}

static void
test_failed_write_rolls_back_alone(void **state)
{
	struct fx		*fx = *state;
	struct fu_contact	 a, b, c;

	memset(&a, 0, sizeof a);
	a.owner = (char *)"ana";
	a.name = (char *)"Kept";
	a.stage = (char *)"lead";
	a.created_at = a.updated_at = NOW;
	b = a;
	b.name = (char *)"Undone";
	c = a;
	c.name = (char *)"Also kept";

	/* Three writes in one group; the middle one fails. */
	begin(fx->st);
	assert_int_equal(store_contact_insert(fx->st, &a), STORE_OK);
	store_write_end(fx->st, 1);
	begin(fx->st);
	assert_int_equal(store_contact_insert(fx->st, &b), STORE_OK);
	store_write_end(fx->st, 0);
	begin(fx->st);
	assert_int_equal(store_contact_insert(fx->st, &c), STORE_OK);
	store_write_end(fx->st, 1);
	assert_true(store_in_txn(fx->st));
	assert_int_equal(store_commit(fx->st), 0);
	assert_false(store_in_txn(fx->st));

	memset(&a, 0, sizeof a);
	assert_int_equal(store_contact_get(fx->st, "ana", 1, &a), STORE_OK);
	assert_string_equal(a.name, "Kept");
	fu_contact_clear(&a);
	/* The undone insert's id is free again: "Also kept" took it. */
	assert_int_equal(store_contact_get(fx->st, "ana", 2, &a), STORE_OK);
	assert_string_equal(a.name, "Also kept");
	fu_contact_clear(&a);
	assert_int_equal(store_contact_get(fx->st, "ana", 3, &a),
	    STORE_NOT_FOUND);
	fu_contact_clear(&a);

	/* A second connection sees the committed rows: it is on disk. */
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM contacts"), 2);
	/* Committing with no group open is a no-op. */
	assert_int_equal(store_commit(fx->st), 0);
}

static void
test_write_begin_busy_when_locked(void **state)
{
	struct fx	*fx = *state;
	sqlite3		*db;

	/* Another program holds the write lock (for the 2 s busy timeout). */
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	/* A first read shows the connection the log. */
	assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM contacts",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(store_write_begin(fx->st), STORE_BUSY);
	assert_int_equal(store_last_result(fx->st), STORE_BUSY);
	assert_false(store_in_txn(fx->st));
	assert_int_equal(store_commit(fx->st), 0);

	/* Once it lets go, writes work again. */
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	add_contact(fx->st, "ana", "After the lock", NULL, NOW);
}

/* --- ownership --- */

static void
test_owner_isolation(void **state)
{
	struct fx		*fx = *state;
	struct fu_contact	 c;
	struct fu_followup	 f;
	struct store_contact_filter cf;
	struct ids		 ids;
	json_t			*counts;
	int64_t			 cid, fid;
	int			 n;

	cid = add_contact(fx->st, "ana", "Ana's prospect", NULL, NOW - DAY);
	fid = add_followup(fx->st, "ana", cid, "followup", NOW + DAY);
	add_interaction(fx->st, "ana", cid, "call", NOW - HOUR);

	assert_int_equal(store_contact_get(fx->st, "bob", cid, &c),
	    STORE_NOT_FOUND);
	fu_contact_clear(&c);
	assert_int_equal(store_followup_get(fx->st, "bob", fid, &f),
	    STORE_NOT_FOUND);
	fu_followup_clear(&f);

	/* Bob cannot change them either. */
	assert_int_equal(store_contact_get(fx->st, "ana", cid, &c), STORE_OK);
	free(c.owner);
	c.owner = xstrdup("bob");
	free(c.name);
	c.name = xstrdup("Stolen");
	begin(fx->st);
	assert_int_equal(store_contact_update(fx->st, &c), STORE_NOT_FOUND);
	assert_int_equal(store_contact_set_archived(fx->st, "bob", cid, 1, NOW,
	    &n), STORE_NOT_FOUND);
	assert_int_equal(n, 0);
	assert_int_equal(store_followup_close(fx->st, "bob", fid, "done", NULL,
	    NOW), STORE_CONFLICT);
	assert_int_equal(set_due(fx->st, "bob", fid, NOW, NOW,
	    1, NOW), STORE_CONFLICT);
	commit(fx->st);
	fu_contact_clear(&c);

	assert_int_equal(store_contact_get(fx->st, "ana", cid, &c), STORE_OK);
	assert_string_equal(c.name, "Ana's prospect");
	assert_string_equal(c.owner, "ana");
	assert_int_equal(c.archived_at, 0);
	fu_contact_clear(&c);
	assert_int_equal(store_followup_get(fx->st, "ana", fid, &f), STORE_OK);
	assert_string_equal(f.status, "pending");
	assert_int_equal(f.due_at, NOW + DAY);
	fu_followup_clear(&f);

	/* Bob's lists and counts are empty. */
	memset(&cf, 0, sizeof cf);
	cf.owner = "bob";
	assert_int_equal(list_contacts(fx->st, &cf, &ids)->n, 0);
	cf.owner = "ana";
	assert_int_equal(list_contacts(fx->st, &cf, &ids)->n, 1);
	counts = json_object();
	assert_int_equal(counts_j(fx->st, "bob", NOW, counts),
	    STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "contacts")), 0);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "interactions")), 0);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "followups_pending")), 0);
	json_decref(counts);
}

/* --- contact lists --- */

static void
test_contact_list_pages_by_id(void **state)
{
	struct fx			*fx = *state;
	struct store_contact_filter	 f;
	struct ids			 ids;
	int64_t				 id[5];
	int				 i;

	for (i = 0; i < 5; i++)
		id[i] = add_contact(fx->st, "ana", "Same Name", NULL, NOW);
	add_contact(fx->st, "bob", "Same Name", NULL, NOW);

	memset(&f, 0, sizeof f);
	f.owner = "ana";
	f.limit = 2;
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 2, id[0], id[1]);
	f.after = id[1];
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 2, id[2], id[3]);
	f.after = id[3];
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, id[4]);
	f.after = id[4];
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 0);

	/* A callback that says stop ends the walk. */
	memset(&ids, 0, sizeof ids);
	ids.stop_after = 3;
	memset(&f, 0, sizeof f);
	f.owner = "ana";
	f.limit = 100;
	assert_int_equal(store_contact_list(fx->st, &f, ids_contact_cb, &ids),
	    STORE_OK);
	IDS_EQUAL(&ids, 3, id[0], id[1], id[2]);
}

static void
test_contact_list_filters_stage_and_archived(void **state)
{
	struct fx			*fx = *state;
	struct store_contact_filter	 f;
	struct ids			 ids;
	int64_t				 lead, prop, arch;
	int				 n;

	lead = add_contact(fx->st, "ana", "A", "lead", NOW);
	prop = add_contact(fx->st, "ana", "B", "proposal", NOW);
	arch = add_contact(fx->st, "ana", "C", "proposal", NOW);
	begin(fx->st);
	assert_int_equal(store_contact_set_archived(fx->st, "ana", arch, 1,
	    NOW, &n), STORE_OK);
	commit(fx->st);

	memset(&f, 0, sizeof f);
	f.owner = "ana";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 2, lead, prop);
	f.stage = "proposal";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, prop);
	f.archived = 1;
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, arch);
	f.stage = NULL;
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, arch);
}

static void
test_contact_search_matches_like_characters_literally(void **state)
{
	struct fx			*fx = *state;
	struct store_contact_filter	 f;
	struct ids			 ids;
	int64_t				 pct, nopct, under, nounder, bs, acme;
	int64_t				 mail, note;

	pct = add_contact(fx->st, "ana", "50% off", NULL, NOW);
	nopct = add_contact(fx->st, "ana", "500 off", NULL, NOW);
	under = add_contact(fx->st, "ana", "a_b", NULL, NOW);
	nounder = add_contact(fx->st, "ana", "axb", NULL, NOW);
	bs = add_contact(fx->st, "ana", "back\\slash", NULL, NOW);
	acme = add_contact_full(fx->st, "ana", "Road Runner", "Acme Corp",
	    NULL, NULL, NULL, NOW);
	mail = add_contact_full(fx->st, "ana", "Wile", NULL,
	    "wile@coyote.example", NULL, NULL, NOW);
	note = add_contact_full(fx->st, "ana", "Noted", NULL, NULL, NULL,
	    "met at the trade fair", NOW);

	memset(&f, 0, sizeof f);
	f.owner = "ana";
	f.search = "50%";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, pct);
	f.search = "%";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, pct);
	f.search = "a_b";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, under);
	f.search = "_";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, under);
	f.search = "\\";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, bs);
	f.search = "0 off";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, nopct);
	f.search = "axb";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, nounder);
	/* Case-insensitive, in every searched field. */
	f.search = "ACME";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, acme);
	f.search = "coyote";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, mail);
	f.search = "Trade Fair";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 1, note);
	f.search = "no such text";
	IDS_EQUAL(list_contacts(fx->st, &f, &ids), 0);
}

/* --- archiving --- */

static void
test_archive_cancels_pending_followups(void **state)
{
	struct fx		*fx = *state;
	struct fu_contact	 c;
	struct fu_followup	 f;
	int64_t			 cid, other, p1, p2, done, keep;
	int			 n = -1;

	cid = add_contact(fx->st, "ana", "Leaving", NULL, NOW - DAY);
	other = add_contact(fx->st, "ana", "Staying", NULL, NOW - DAY);
	p1 = add_followup(fx->st, "ana", cid, "followup", NOW + DAY);
	p2 = add_followup(fx->st, "ana", cid, "callback", NOW - DAY);
	done = add_followup(fx->st, "ana", cid, "followup", NOW - 2 * DAY);
	keep = add_followup(fx->st, "ana", other, "followup", NOW + DAY);
	assert_int_equal(close_followup(fx->st, "ana", done, "done",
	    NOW - HOUR), STORE_OK);

	begin(fx->st);
	assert_int_equal(store_contact_set_archived(fx->st, "ana", cid, 1, NOW,
	    &n), STORE_OK);
	commit(fx->st);
	assert_int_equal(n, 2);

	assert_int_equal(store_contact_get(fx->st, "ana", cid, &c), STORE_OK);
	assert_int_equal(c.archived_at, NOW);
	assert_int_equal(c.updated_at, NOW);
	fu_contact_clear(&c);
	assert_int_equal(store_followup_get(fx->st, "ana", p1, &f), STORE_OK);
	assert_string_equal(f.status, "cancelled");
	assert_int_equal(f.done_at, NOW);
	assert_non_null(f.note);
	fu_followup_clear(&f);
	assert_int_equal(store_followup_get(fx->st, "ana", p2, &f), STORE_OK);
	assert_string_equal(f.status, "cancelled");
	fu_followup_clear(&f);
	/* A closed one keeps its status and time; another contact's stays. */
	assert_int_equal(store_followup_get(fx->st, "ana", done, &f),
	    STORE_OK);
	assert_string_equal(f.status, "done");
	assert_int_equal(f.done_at, NOW - HOUR);
	fu_followup_clear(&f);
	assert_int_equal(store_followup_get(fx->st, "ana", keep, &f),
	    STORE_OK);
	assert_string_equal(f.status, "pending");
	fu_followup_clear(&f);

	/* Restoring brings the contact back and cancels nothing. */
	begin(fx->st);
	assert_int_equal(store_contact_set_archived(fx->st, "ana", cid, 0,
	    NOW + HOUR, &n), STORE_OK);
	commit(fx->st);
	assert_int_equal(n, 0);
	assert_int_equal(store_contact_get(fx->st, "ana", cid, &c), STORE_OK);
	assert_int_equal(c.archived_at, 0);
	fu_contact_clear(&c);

	begin(fx->st);
	assert_int_equal(store_contact_set_archived(fx->st, "ana", 999, 1, NOW,
	    &n), STORE_NOT_FOUND);
	commit(fx->st);
}

/* --- follow-up state --- */

static void
test_followup_close_twice_is_conflict(void **state)
{
	struct fx		*fx = *state;
	struct fu_followup	 f;
	int64_t			 cid, id;

	cid = add_contact(fx->st, "ana", "Twice", NULL, NOW - DAY);
	id = add_followup(fx->st, "ana", cid, "followup", NOW + DAY);
	assert_int_equal(close_followup(fx->st, "ana", id, "done", NOW),
	    STORE_OK);
	assert_int_equal(close_followup(fx->st, "ana", id, "done", NOW + 1),
	    STORE_CONFLICT);
	assert_int_equal(close_followup(fx->st, "ana", id, "cancelled",
	    NOW + 2), STORE_CONFLICT);

	assert_int_equal(store_followup_get(fx->st, "ana", id, &f), STORE_OK);
	assert_string_equal(f.status, "done");
	assert_string_equal(f.note, "a note");
	assert_int_equal(f.done_at, NOW);
	assert_int_equal(f.updated_at, NOW);
	fu_followup_clear(&f);

	begin(fx->st);
	assert_int_equal(set_due(fx->st, "ana", id, NOW + DAY,
	    NOW + DAY, 1, NOW), STORE_CONFLICT);
	commit(fx->st);
}

static void
test_followup_set_due_counts_snoozes(void **state)
{
	struct fx		*fx = *state;
	struct fu_followup	 f;
	int64_t			 cid, id;

	cid = add_contact(fx->st, "ana", "Snoozy", NULL, NOW - DAY);
	id = add_followup(fx->st, "ana", cid, "followup", NOW + HOUR);
	begin(fx->st);
	assert_int_equal(set_due(fx->st, "ana", id, NOW + DAY,
	    NOW + DAY - 60, 1, NOW), STORE_OK);
	commit(fx->st);
	begin(fx->st);
	assert_int_equal(set_due(fx->st, "ana", id,
	    NOW + 2 * DAY, NOW + 2 * DAY - 60, 1, NOW + 1), STORE_OK);
	commit(fx->st);
	begin(fx->st);
	assert_int_equal(set_due(fx->st, "ana", id,
	    NOW + 3 * DAY, NOW + 3 * DAY - 60, 0, NOW + 2), STORE_OK);
	commit(fx->st);

	assert_int_equal(store_followup_get(fx->st, "ana", id, &f), STORE_OK);
	assert_int_equal(f.due_at, NOW + 3 * DAY);
	assert_int_equal(f.remind_at, NOW + 3 * DAY - 60);
	assert_int_equal(f.snoozes, 2);
	assert_int_equal(f.updated_at, NOW + 2);
	assert_string_equal(f.status, "pending");
	fu_followup_clear(&f);
}

static int
notices_cb(const struct fu_followup *f, void *arg)
{
	/* Every row carries the next notice it reached. */
	assert_int_equal(f->notice_stage, NOTICE_DUE);
	assert_int_equal(f->notice_at, f->due_at);
	return ids_followup_cb(f, arg);
}

static int
names_cb(const struct fu_user *u, void *arg)
{
	struct ids	*ids = arg;

	/* Names as ids: 'a' for ana, 'b' for ben. */
	assert_true(ids->n < 64);
	ids->id[ids->n++] = u->name[0];
	return 0;
}

static void
test_followup_notices_to_come_and_counts(void **state)
{
	struct fx	*fx = *state;
	struct ids	 ids;
	int64_t		 ca, cb, a, b, c, d, closed, n64;
	int		 n;

	ca = add_contact(fx->st, "ana", "Ana's", NULL, NOW - DAY);
	cb = add_contact(fx->st, "ben", "Ben's", NULL, NOW - DAY);
	a = add_followup(fx->st, "ana", ca, "callback", NOW + 2 * HOUR);
	b = add_followup(fx->st, "ana", ca, "followup", NOW + HOUR);
	c = add_followup(fx->st, "ben", cb, "followup", NOW + HOUR / 2);
	d = add_followup(fx->st, "ana", ca, "followup", NOW + 5 * DAY);
	/* Pending, with no notice left to come. */
	add_followup(fx->st, "ana", ca, "followup", NOW + 3 * HOUR);
	closed = add_followup(fx->st, "ana", ca, "followup", NOW + HOUR);
	begin(fx->st);
	assert_int_equal(set_due(fx->st, "ana", a, NOW + 2 * HOUR,
	    NOW + 2 * HOUR - 900, 0, NOW), STORE_OK);
	assert_int_equal(set_due(fx->st, "ana", b, NOW + HOUR, NOW, 0, NOW),
	    STORE_OK);
	assert_int_equal(set_due(fx->st, "ben", c, NOW + HOUR / 2, NOW, 0,
	    NOW), STORE_OK);
	assert_int_equal(set_due(fx->st, "ana", d, NOW + 5 * DAY, NOW, 0,
	    NOW), STORE_OK);
	assert_int_equal(set_due(fx->st, "ana", closed, NOW + HOUR, NOW, 0,
	    NOW), STORE_OK);
	commit(fx->st);
	assert_int_equal(close_followup(fx->st, "ana", closed, "done", NOW),
	    STORE_OK);

	/* By the time the next notice falls; one with none left, a closed
	 * one and later ones are not read. */
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_followup_notices(fx->st, "ana", NOW + DAY,
	    100, notices_cb, &ids, &n), STORE_OK);
	IDS_EQUAL(&ids, 2, b, a);
	assert_int_equal(n, 2);
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_followup_notices(fx->st, NULL, NOW + DAY,
	    100, notices_cb, &ids, &n), STORE_OK);
	IDS_EQUAL(&ids, 3, c, b, a);
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_followup_notices(fx->st, NULL, NOW + DAY,
	    1, notices_cb, &ids, &n), STORE_OK);
	IDS_EQUAL(&ids, 1, c);
	assert_int_equal(n, 1);

	/* Pending and due in [from, to), whatever their notices. */
	assert_int_equal(store_followup_count_due(fx->st, "ana", 0,
	    NOW + 3 * HOUR, &n64), STORE_OK);
	assert_int_equal(n64, 2);
	assert_int_equal(store_followup_count_due(fx->st, "ana",
	    NOW + 2 * HOUR, NOW + DAY, &n64), STORE_OK);
	assert_int_equal(n64, 2);
	assert_int_equal(store_followup_count_due(fx->st, "ben", 0,
	    NOW + DAY, &n64), STORE_OK);
	assert_int_equal(n64, 1);

	/* Every owner of a contact is a rep the schedule knows. */
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_user_list(fx->st, names_cb, &ids), STORE_OK);
	IDS_EQUAL(&ids, 2, (int64_t)'a', (int64_t)'b');
}

static void
test_followup_list_order_and_filters(void **state)
{
	struct fx			*fx = *state;
	struct store_followup_filter	 flt;
	struct ids			 ids;
	int64_t				 c1, c2, late, fu, cb, early, done;
	int64_t				 other, cancelled;
	time_t				 due;

	c1 = add_contact(fx->st, "ana", "One", NULL, NOW - DAY);
	c2 = add_contact(fx->st, "ana", "Two", NULL, NOW - DAY);
	late = add_followup(fx->st, "ana", c1, "followup", NOW + 2 * HOUR);
	fu = add_followup(fx->st, "ana", c1, "followup", NOW + HOUR);
	/* Same time, inserted later: a callback still comes first. */
	cb = add_followup(fx->st, "ana", c2, "callback", NOW + HOUR);
	early = add_followup(fx->st, "ana", c2, "followup", NOW - HOUR);
	done = add_followup(fx->st, "ana", c1, "followup", NOW - 2 * HOUR);
	cancelled = add_followup(fx->st, "ana", c2, "followup", NOW + 3 * HOUR);
	other = add_contact(fx->st, "bob", "Bob's", NULL, NOW);
	add_followup(fx->st, "bob", other, "callback", NOW + HOUR);
	assert_int_equal(close_followup(fx->st, "ana", done, "done", NOW),
	    STORE_OK);
	assert_int_equal(close_followup(fx->st, "ana", cancelled, "cancelled",
	    NOW + 1), STORE_OK);

	memset(&flt, 0, sizeof flt);
	flt.owner = "ana";
	flt.status = "pending";
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 4, early, cb, fu, late);
	flt.status = "done";
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 1, done);
	flt.status = "cancelled";
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 1, cancelled);
	flt.status = NULL;
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 6, done, early, cb, fu,
	    late, cancelled);

	/* from is inclusive, to exclusive. */
	flt.status = "pending";
	flt.from = NOW + HOUR;
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 3, cb, fu, late);
	flt.to = NOW + 2 * HOUR;
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 2, cb, fu);
	flt.from = 0;
	flt.to = NOW;
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 1, early);

	/* One contact; a limit. */
	flt.to = 0;
	flt.contact_id = c1;
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 2, fu, late);
	flt.contact_id = 0;
	flt.limit = 2;
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 2, early, cb);

	/* A contact's closed ones, newest first. */
	memset(&flt, 0, sizeof flt);
	flt.owner = "ana";
	flt.contact_id = c2;
	flt.closed_recent = 1;
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 1, cancelled);
	assert_int_equal(close_followup(fx->st, "ana", early, "done",
	    NOW + 2), STORE_OK);
	IDS_EQUAL(list_followups(fx->st, &flt, &ids), 2, early, cancelled);

	/* The earliest pending due time. */
	assert_int_equal(store_followup_next_due(fx->st, "ana", &due),
	    STORE_OK);
	assert_int_equal(due, NOW + HOUR);
	assert_int_equal(store_followup_next_due(fx->st, "carol", &due),
	    STORE_OK);
	assert_int_equal(due, 0);
}

/* --- stale contacts --- */

static void
test_contact_stale(void **state)
{
	struct fx	*fx = *state;
	struct ids	 ids;
	int64_t		 stale_old, stale_older, planned, closed, fresh;
	int64_t		 talked, archived, only_done, id;
	int		 n;

	/* stale_after is 14 days by default. */
	stale_old = add_contact(fx->st, "ana", "Forgotten", "lead",
	    NOW - 20 * DAY);
	stale_older = add_contact(fx->st, "ana", "Long forgotten",
	    "negotiation", NOW - 40 * DAY);
	planned = add_contact(fx->st, "ana", "Planned", "lead", NOW - 20 * DAY);
	add_followup(fx->st, "ana", planned, "followup", NOW + DAY);
	closed = add_contact(fx->st, "ana", "Won", "won", NOW - 20 * DAY);
	fresh = add_contact(fx->st, "ana", "New", "lead", NOW - 5 * DAY);
	talked = add_contact(fx->st, "ana", "Talked", "lead", NOW - 30 * DAY);
	add_interaction(fx->st, "ana", talked, "call", NOW - 2 * DAY);
	archived = add_contact(fx->st, "ana", "Gone", "lead", NOW - 20 * DAY);
	begin(fx->st);
	assert_int_equal(store_contact_set_archived(fx->st, "ana", archived, 1,
	    NOW - 19 * DAY, &n), STORE_OK);
	commit(fx->st);
	only_done = add_contact(fx->st, "ana", "Done with", "proposal",
	    NOW - 25 * DAY);
	id = add_followup(fx->st, "ana", only_done, "followup",
	    NOW - 24 * DAY);
	assert_int_equal(close_followup(fx->st, "ana", id, "done",
	    NOW - 24 * DAY), STORE_OK);
	/* Just inside the limit is not stale yet. */
	add_contact(fx->st, "ana", "Borderline", "lead", NOW - 14 * DAY);
	add_contact(fx->st, "bob", "Bob's forgotten", "lead", NOW - 20 * DAY);

	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_contact_stale(fx->st, "ana", stale_of(fx), NOW, 100,
	    ids_contact_cb, &ids), STORE_OK);
	/* Longest quiet first. */
	IDS_EQUAL(&ids, 3, stale_older, only_done, stale_old);
	(void)closed;
	(void)fresh;

	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_contact_stale(fx->st, "ana", stale_of(fx), NOW, 1,
	    ids_contact_cb, &ids), STORE_OK);
	IDS_EQUAL(&ids, 1, stale_older);

	/* The clock is a parameter: a week earlier, fewer are stale. */
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_contact_stale(fx->st, "ana", stale_of(fx),
	    NOW - 7 * DAY, 100, ids_contact_cb, &ids), STORE_OK);
	IDS_EQUAL(&ids, 2, stale_older, only_done);
}

/* --- users and counts --- */

static void
test_user_get_put(void **state)
{
	struct fx	*fx = *state;
	struct fu_user	 u;

	assert_int_equal(store_user_get(fx->st, "ana", &u), STORE_NOT_FOUND);
	assert_string_equal(u.name, "ana");
	assert_int_equal(u.uid, -1);
	assert_null(u.email);
	assert_null(u.tz);
	fu_user_clear(&u);

	memset(&u, 0, sizeof u);
	u.name = (char *)"ana";
	u.uid = 1000;
	u.email = (char *)"ana@example.com";
	u.tz = (char *)"Europe/Berlin";
	u.digest = (char *)"08:00";
	u.hours = (char *)"09:00-17:00";
	u.workdays = (char *)"mon-fri";
	begin(fx->st);
	assert_int_equal(store_user_put(fx->st, &u, NOW), STORE_OK);
	commit(fx->st);

	assert_int_equal(store_user_get(fx->st, "ana", &u), STORE_OK);
	assert_string_equal(u.name, "ana");
	assert_int_equal(u.uid, 1000);
	assert_string_equal(u.email, "ana@example.com");
	assert_string_equal(u.tz, "Europe/Berlin");
	assert_string_equal(u.digest, "08:00");
	assert_string_equal(u.hours, "09:00-17:00");
	assert_string_equal(u.workdays, "mon-fri");
	assert_int_equal(u.updated_at, NOW);
	fu_user_clear(&u);

	/* A second put replaces every setting; -1 stores no uid. */
	memset(&u, 0, sizeof u);
	u.name = (char *)"ana";
	u.uid = -1;
	u.tz = (char *)"America/New_York";
	begin(fx->st);
	assert_int_equal(store_user_put(fx->st, &u, NOW + HOUR), STORE_OK);
	commit(fx->st);
	assert_int_equal(store_user_get(fx->st, "ana", &u), STORE_OK);
	assert_int_equal(u.uid, -1);
	assert_null(u.email);
	assert_string_equal(u.tz, "America/New_York");
	assert_null(u.workdays);
	assert_int_equal(u.updated_at, NOW + HOUR);
	fu_user_clear(&u);

	assert_int_equal(store_user_get(fx->st, "bob", &u), STORE_NOT_FOUND);
	fu_user_clear(&u);
}

/* How many times the store has run its statement reading a users row. */
static int
user_reads(struct store *st)
{
	return sqlite3_stmt_status(st->stmt[STMT_USER_GET],
	    SQLITE_STMTSTATUS_RUN, 0);
}

/* Put rep name's time zone, in the open transaction. */
static void
put_tz(struct store *st, const char *name, const char *tz, time_t now)
{
	struct fu_user	u;

	memset(&u, 0, sizeof u);
	u.name = (char *)name;
	u.uid = -1;
	u.tz = (char *)tz;
	assert_int_equal(store_user_put(st, &u, now), STORE_OK);
}

/* Assert rep name's time zone as the store reads it now (NULL: none). */
static void
assert_tz(struct store *st, const char *name, enum store_result r,
    const char *tz)
{
	struct fu_user	u;

	assert_int_equal(store_user_get(st, name, &u), r);
	assert_string_equal(u.name, name);
	if (tz == NULL)
		assert_null(u.tz);
	else
		assert_string_equal(u.tz, tz);
	fu_user_clear(&u);
}

/*
 * Every write of a pass reads its rep's row several times (the lead, the
 * zone): within the pass's transaction it is read from the database
 * once, yet every change to it, undone change, or change by another
 * process between passes, is seen as before.
 */
static void
test_user_row_read_once_a_pass(void **state)
{
	struct fx	*fx = *state;
	int		 n;

	begin(fx->st);
	put_tz(fx->st, "ana", "Europe/Berlin", NOW);
	commit(fx->st);

	/* One group transaction: read once, then kept. */
	n = user_reads(fx->st);
	assert_int_equal(store_write_begin(fx->st), STORE_OK);
	assert_tz(fx->st, "ana", STORE_OK, "Europe/Berlin");
	assert_tz(fx->st, "ana", STORE_OK, "Europe/Berlin");
	assert_tz(fx->st, "bob", STORE_NOT_FOUND, NULL);
	assert_tz(fx->st, "bob", STORE_NOT_FOUND, NULL);
	assert_int_equal(user_reads(fx->st), n + 2);
	store_write_end(fx->st, 1);

	/* A change in the pass is seen at once, and so is its undoing. */
	assert_int_equal(store_write_begin(fx->st), STORE_OK);
	put_tz(fx->st, "ana", "Asia/Tokyo", NOW);
	put_tz(fx->st, "bob", "America/Chicago", NOW);
	assert_tz(fx->st, "ana", STORE_OK, "Asia/Tokyo");
	assert_tz(fx->st, "bob", STORE_OK, "America/Chicago");
	store_write_end(fx->st, 0);
	assert_int_equal(store_write_begin(fx->st), STORE_OK);
	assert_tz(fx->st, "ana", STORE_OK, "Europe/Berlin");
	assert_tz(fx->st, "bob", STORE_NOT_FOUND, NULL);
	store_write_end(fx->st, 1);
	assert_int_equal(store_commit(fx->st), 0);

	/* Another process's change shows in the next transaction. */
	sql_int(fx->path, "UPDATE users SET tz = 'Africa/Lagos' "
	    "WHERE name = 'ana'");
	assert_int_equal(store_write_begin(fx->st), STORE_OK);
	assert_tz(fx->st, "ana", STORE_OK, "Africa/Lagos");
	store_write_end(fx->st, 1);
	assert_int_equal(store_commit(fx->st), 0);

	/* Outside a transaction every call reads. */
	n = user_reads(fx->st);
	assert_tz(fx->st, "ana", STORE_OK, "Africa/Lagos");
	assert_tz(fx->st, "ana", STORE_OK, "Africa/Lagos");
	assert_int_equal(user_reads(fx->st), n + 2);
}

static void
test_contact_counts(void **state)
{
	struct fx	*fx = *state;
	json_t		*counts;
	int64_t		 a, b, arch, id;
	int		 n;

	a = add_contact(fx->st, "ana", "A", NULL, NOW - DAY);
	b = add_contact(fx->st, "ana", "B", NULL, NOW - DAY);
	arch = add_contact(fx->st, "ana", "Archived", NULL, NOW - DAY);
	add_followup(fx->st, "ana", arch, "followup", NOW - DAY);
	begin(fx->st);
	assert_int_equal(store_contact_set_archived(fx->st, "ana", arch, 1,
	    NOW - HOUR, &n), STORE_OK);
	commit(fx->st);
	add_interaction(fx->st, "ana", a, "call", NOW - HOUR);
	add_interaction(fx->st, "ana", b, "email", NOW - HOUR);
	add_interaction(fx->st, "ana", b, "note", NOW - HOUR);
	add_followup(fx->st, "ana", a, "followup", NOW - HOUR);	/* overdue */
	add_followup(fx->st, "ana", a, "followup", NOW);	/* due now */
	add_followup(fx->st, "ana", b, "callback", NOW + DAY);
	id = add_followup(fx->st, "ana", b, "followup", NOW - DAY);
	assert_int_equal(close_followup(fx->st, "ana", id, "done", NOW),
	    STORE_OK);

	counts = json_object();
	assert_int_equal(counts_j(fx->st, "ana", NOW, counts),
	    STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "contacts")), 2);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "interactions")), 3);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "followups_pending")), 3);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "overdue")), 1);

	/* The clock is a parameter: a day later all three are overdue. */
	assert_int_equal(counts_j(fx->st, "ana", NOW + DAY + 1,
	    counts), STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "overdue")), 3);
	json_decref(counts);
}

/* The counts the triggers keep equal a recount, for every rep. */
static void
assert_counts_recount(struct fx *fx)
{
	static const char *const checks[] = {
		"SELECT count(*) FROM owner_counts o WHERE contacts != "
		"(SELECT count(*) FROM contacts c WHERE c.owner = o.owner "
		"AND c.archived_at IS NULL)",
		"SELECT count(*) FROM owner_counts o WHERE interactions != "
		"(SELECT count(*) FROM interactions i WHERE i.owner = o.owner)",
		"SELECT count(*) FROM owner_counts o WHERE pending != "
		"(SELECT count(*) FROM followups f WHERE f.owner = o.owner "
		"AND f.status = 'pending')",
		"SELECT count(*) FROM (SELECT owner FROM contacts UNION "
		"SELECT owner FROM followups) WHERE owner NOT IN "
		"(SELECT owner FROM owner_counts)",
	};
	size_t	i;

	for (i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		if (sql_int(fx->path, checks[i]) != 0)
			fail_msg("counts differ from a recount: %s", checks[i]);
	}
}

static void
test_counts_follow_every_change(void **state)
{
	struct fx		*fx = *state;
	struct fu_followup	 f;
	int64_t			 a, b, f1, f2;
	int			 n;

	a = add_contact(fx->st, "ana", "A", NULL, NOW - DAY);
	b = add_contact(fx->st, "ana", "B", NULL, NOW - DAY);
	add_contact(fx->st, "bob", "C", NULL, NOW - DAY);
	add_interaction(fx->st, "ana", a, "call", NOW - HOUR);
	add_interaction(fx->st, "ana", b, "call", NOW - HOUR);
	f1 = add_followup(fx->st, "ana", a, "followup", NOW + DAY);
	f2 = add_followup(fx->st, "ana", b, "followup", NOW + DAY);
	add_followup(fx->st, "ana", b, "callback", NOW + 2 * DAY);
	assert_counts_recount(fx);
	assert_int_equal(close_followup(fx->st, "ana", f1, "done", NOW),
	    STORE_OK);
	assert_counts_recount(fx);
	begin(fx->st);
	assert_int_equal(store_contact_reassign(fx->st, b, "bob", NOW, &n),
	    STORE_OK);
	commit(fx->st);
	assert_int_equal(n, 2);
	assert_counts_recount(fx);
	assert_int_equal(sql_int(fx->path, "SELECT pending FROM owner_counts "
	    "WHERE owner = 'bob'"), 2);
	assert_int_equal(sql_int(fx->path, "SELECT interactions FROM "
	    "owner_counts WHERE owner = 'bob'"), 1);
	begin(fx->st);
	assert_int_equal(store_contact_set_archived(fx->st, "bob", b, 1, NOW,
	    &n), STORE_OK);
	commit(fx->st);
	assert_int_equal(n, 2);
	assert_counts_recount(fx);
	begin(fx->st);
	assert_int_equal(store_contact_set_archived(fx->st, "bob", b, 0, NOW,
	    &n), STORE_OK);
	commit(fx->st);
	assert_counts_recount(fx);
	/* A write rolled back leaves the counts as they were. */
	memset(&f, 0, sizeof f);
	f.contact_id = a;
	f.owner = (char *)"ana";
	f.kind = (char *)"followup";
	f.due_at = f.remind_at = f.created_at = NOW;
	f.remind_before = -1;
	assert_int_equal(store_write_begin(fx->st), STORE_OK);
	assert_int_equal(store_followup_insert(fx->st, &f), STORE_OK);
	store_write_end(fx->st, 0);
	assert_int_equal(store_commit(fx->st), 0);
	assert_counts_recount(fx);
	/* It is bob's now: closing it as ana's changes nothing. */
	assert_int_not_equal(close_followup(fx->st, "ana", f2, "cancelled",
	    NOW), STORE_OK);
	assert_counts_recount(fx);
}

/* Find contact ids by email; return how many. */
static size_t
find_email(struct store *st, const char *owner, const char *email,
    int64_t *id)
{
	int64_t	ids[2];
	size_t	n;

	assert_int_equal(store_contact_find_email(st, owner, email, ids, 2,
	    &n), STORE_OK);
	if (n > 0 && id != NULL)
		*id = ids[0];
	return n;
}

/* Addresses as reps type them, and as an upper-cased file has them. */
static const char *const email_cases[][2] = {
	{ "J\xc3\xbcrgen.M\xc3\xbcller@Example.de",
	  "J\xc3\x9cRGEN.M\xc3\x9cLLER@EXAMPLE.DE" },
	{ "stra\xc3\x9f" "e@example.de", "STRASSE@EXAMPLE.DE" },
	{ "\xcf\x89\xce\xbc\xce\xad\xce\xb3\xce\xb1@example.gr",
	  "\xce\xa9\xce\x9c\xce\x88\xce\x93\xce\x91@EXAMPLE.GR" },
	{ "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@example.ru",
	  "\xd0\x98\xd0\x92\xd0\x90\xd0\x9d@EXAMPLE.RU" },
	{ "\xc4\xb1lker@example.tr", "ILKER@EXAMPLE.TR" },
	{ "fran\xc3\xa7ois@example.fr", "FRAN\xc3\x87OIS@example.FR" },
};

/* Every letter's case is ignored when finding a contact by email. */
static void
test_email_matches_in_any_case_of_any_letter(void **state)
{
	struct fx		*fx = *state;
	struct fu_contact	 c;
	int64_t			 ids[6], id;
	size_t			 i;

	for (i = 0; i < 6; i++)
		ids[i] = add_contact_full(fx->st, "ana", "A", NULL,
		    email_cases[i][0], NULL, NULL, NOW);
	for (i = 0; i < 6; i++) {
		id = 0;
		assert_int_equal(find_email(fx->st, "ana", email_cases[i][1],
		    &id), 1);
		assert_int_equal(id, ids[i]);
		assert_int_equal(find_email(fx->st, "ana", email_cases[i][0],
		    NULL), 1);
		assert_int_equal(find_email(fx->st, "bob", email_cases[i][1],
		    NULL), 0);
	}
	/* Letters that differ are other addresses. */
	assert_int_equal(find_email(fx->st, "ana", "jurgen.muller@example.de",
	    NULL), 0);

	/* An update keeps the key with the address. */
	assert_int_equal(store_contact_get(fx->st, "ana", ids[0], &c),
	    STORE_OK);
	free(c.email);
	c.email = xstrdup("\xc3\x89lodie@example.fr");
	begin(fx->st);
	assert_int_equal(store_contact_update(fx->st, &c), STORE_OK);
	commit(fx->st);
	fu_contact_clear(&c);
	assert_int_equal(find_email(fx->st, "ana", email_cases[0][1], NULL),
	    0);
	assert_int_equal(find_email(fx->st, "ana", "\xc3\xa9LODIE@EXAMPLE.FR",
	    &id), 1);
	assert_int_equal(id, ids[0]);
}

/* A database from before the email keys gets them on opening. */
static void
test_email_keys_filled_by_migration(void **state)
{
	struct fx	*fx = *state;
	int64_t		 a, id = 0;
	char		*cause = NULL;

	a = add_contact_full(fx->st, "ana", "A", NULL, email_cases[0][0],
	    NULL, NULL, NOW);
	add_contact(fx->st, "ana", "No email", NULL, NOW);
	store_close(fx->st);
	fx->st = NULL;
	/* Back to schema 8, as the previous followupd left it. */
	undo_contact_order_indexes(fx->path);
	sql_int(fx->path, "ALTER TABLE users DROP COLUMN calendar");
	sql_int(fx->path, "ALTER TABLE users DROP COLUMN phone");
	sql_int(fx->path, "ALTER TABLE users DROP COLUMN display_name");
	sql_int(fx->path, "ALTER TABLE followups DROP COLUMN automatic");
	sql_int(fx->path, "DROP INDEX contacts_email_key");
	sql_int(fx->path, "ALTER TABLE contacts DROP COLUMN email_key");
	sql_int(fx->path, "CREATE INDEX contacts_email ON contacts "
	    "(owner, email COLLATE NOCASE) WHERE email IS NOT NULL");
	sql_int(fx->path, "PRAGMA user_version = 8");
	assert_non_null(fx->st = store_open(fx->path, &cause));
	assert_int_equal(store_schema_version(fx->st), 14);
	assert_int_equal(find_email(fx->st, "ana", email_cases[0][1], &id), 1);
	assert_int_equal(id, a);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'contacts_email'"), 0);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM contacts "
	    "WHERE email_key IS NULL"), 1);
}

/* Folding: full Unicode case folding of the upper case, no locale. */
static void
test_fold_text(void **state)
{
	static const char *const same[][2] = {
		{ "ABC xyz", "abc xyz" },
		{ "\xc3\x9f", "ss" },			/* sharp s */
		{ "\xe1\xba\x9e", "ss" },		/* capital sharp s */
		{ "\xcf\x82", "\xcf\x83" },		/* final sigma */
		{ "\xef\xac\x81", "fi" },		/* ligature fi */
		{ "\xf0\x90\x90\x80", "\xf0\x90\x90\xa8" }, /* Deseret */
		{ "a\xff" "b", "a\xff" "b" },		/* not UTF-8: kept */
	};
	size_t	 i;
	char	*a, *b;

	(void)state;
	for (i = 0; i < sizeof same / sizeof same[0]; i++) {
		a = fold_text(same[i][0]);
		b = fold_text(same[i][1]);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	a = fold_text("");
	assert_string_equal(a, "");
	free(a);
}

/*
 * A database from before follow-ups knew their origin keeps them all,
 * each counted as planned by hand, and new ones record theirs.
 */
static void
test_followup_origin_added_by_migration(void **state)
{
	struct fx		*fx = *state;
	struct fu_followup	 f;
	int64_t			 a, old;
	char			*cause = NULL;

	a = add_contact(fx->st, "ana", "A", NULL, NOW - DAY);
	old = add_followup(fx->st, "ana", a, "followup", NOW + DAY);
	store_close(fx->st);
	fx->st = NULL;
	/* Back to schema 9, as the previous followupd left it. */
	undo_contact_order_indexes(fx->path);
	sql_int(fx->path, "ALTER TABLE users DROP COLUMN calendar");
	sql_int(fx->path, "ALTER TABLE users DROP COLUMN phone");
	sql_int(fx->path, "ALTER TABLE users DROP COLUMN display_name");
	sql_int(fx->path, "ALTER TABLE followups DROP COLUMN automatic");
	sql_int(fx->path, "PRAGMA user_version = 9");
	assert_non_null(fx->st = store_open(fx->path, &cause));
	assert_int_equal(store_schema_version(fx->st), 14);
	assert_int_equal(store_followup_get(fx->st, "ana", old, &f), STORE_OK);
	assert_int_equal(f.automatic, 0);
	assert_string_equal(f.status, "pending");
	fu_followup_clear(&f);
	memset(&f, 0, sizeof f);
	f.contact_id = a;
	f.owner = (char *)"ana";
	f.kind = (char *)"followup";
	f.due_at = NOW + 2 * DAY;
	f.remind_before = -1;
	f.remind_at = f.due_at;
	f.created_at = NOW;
	f.automatic = 1;
	begin(fx->st);
	assert_int_equal(store_followup_insert(fx->st, &f), STORE_OK);
	commit(fx->st);
	old = f.id;
	assert_int_equal(store_followup_get(fx->st, "ana", old, &f), STORE_OK);
	assert_int_equal(f.automatic, 1);
	fu_followup_clear(&f);
}

/*
 * A database from before automatic follow-ups kept the time of the
 * interaction that proposed them keeps them, that time unknown (0), and
 * new ones record theirs.
 */
static void
test_followup_proposal_time_added_by_migration(void **state)
{
	struct fx		*fx = *state;
	struct fu_followup	 f;
	int64_t			 a, old;
	char			*cause = NULL;

	a = add_contact(fx->st, "ana", "A", NULL, NOW - DAY);
	memset(&f, 0, sizeof f);
	f.contact_id = a;
	f.owner = (char *)"ana";
	f.kind = (char *)"followup";
	f.due_at = NOW + DAY;
	f.remind_before = -1;
	f.remind_at = f.due_at;
	f.created_at = NOW;
	f.automatic = 1;
	f.proposed_at = NOW - 5 * HOUR;
	begin(fx->st);
	assert_int_equal(store_followup_insert(fx->st, &f), STORE_OK);
	commit(fx->st);
	old = f.id;
	assert_int_equal(store_followup_get(fx->st, "ana", old, &f), STORE_OK);
	assert_int_equal(f.proposed_at, NOW - 5 * HOUR);
	fu_followup_clear(&f);
	store_close(fx->st);
	fx->st = NULL;
	/* Back to schema 13, as the previous followupd left it. */
	sql_int(fx->path, "ALTER TABLE followups DROP COLUMN proposed_at");
	sql_int(fx->path, "PRAGMA user_version = 13");
	assert_non_null(fx->st = store_open(fx->path, &cause));
	assert_int_equal(store_schema_version(fx->st), 14);
	assert_int_equal(store_followup_get(fx->st, "ana", old, &f), STORE_OK);
	assert_int_equal(f.automatic, 1);
	assert_int_equal(f.proposed_at, 0);
	assert_int_equal(f.created_at, NOW);
	fu_followup_clear(&f);
	/* One planned by hand has none. */
	old = add_followup(fx->st, "ana", a, "followup", NOW + 2 * DAY);
	assert_int_equal(store_followup_get(fx->st, "ana", old, &f), STORE_OK);
	assert_int_equal(f.automatic, 0);
	assert_int_equal(f.proposed_at, 0);
	fu_followup_clear(&f);
}

static int
count_interaction_cb(const struct fu_interaction *in, void *arg)
{
	(void)in;
	(*(int *)arg)++;
	return 0;
}

/*
 * Statement id has run without a sort (a temporary b-tree for its ORDER
 * BY) and without being prepared again for a new binding.
 */
static void
assert_no_sort_or_reprepare(struct store *st, enum store_stmt id)
{
	sqlite3_stmt	*s = store_stmt(st, id);

	assert_true(sqlite3_stmt_status(s, SQLITE_STMTSTATUS_RUN, 0) > 0);
	assert_int_equal(sqlite3_stmt_status(s, SQLITE_STMTSTATUS_SORT, 0), 0);
	assert_int_equal(sqlite3_stmt_status(s, SQLITE_STMTSTATUS_REPREPARE, 0),
	    0);
	assert_int_equal(sqlite3_stmt_status(s, SQLITE_STMTSTATUS_AUTOINDEX,
	    0), 0);
}

static int
promise_order_cb(const struct fu_promise *p, void *arg)
{
	struct ids	*ids = arg;

	assert_true(ids->n < 64);
	ids->id[ids->n++] = p->followup_id;
	return 0;
}

/*
 * A database from schema 12 gets the indexes that give a contact's
 * follow-ups and callbacks in their order; the lists come out in that
 * order: pending by due time with a callback first at the same time,
 * closed newest first, callbacks newest first with each one's entries.
 */
static void
test_contact_order_indexes_added_by_migration(void **state)
{
	struct fx			*fx = *state;
	struct store_followup_filter	 flt;
	struct fu_promise		 p;
	struct ids			 ids;
	int64_t				 a, f1, f2, f3, d1, d2;
	char				*cause = NULL;

	a = add_contact(fx->st, "ana", "A", NULL, NOW - DAY);
	f1 = add_followup(fx->st, "ana", a, "followup", NOW + DAY);
	f2 = add_followup(fx->st, "ana", a, "callback", NOW + DAY);
	f3 = add_followup(fx->st, "ana", a, "followup", NOW + HOUR);
	d1 = add_followup(fx->st, "ana", a, "followup", NOW + 2 * DAY);
	d2 = add_followup(fx->st, "ana", a, "callback", NOW + 3 * DAY);
	assert_int_equal(close_followup(fx->st, "ana", d2, "cancelled",
	    NOW + 10), STORE_OK);
	assert_int_equal(close_followup(fx->st, "ana", d1, "done",
	    NOW + 20), STORE_OK);
	memset(&p, 0, sizeof p);
	p.what = (char *)"agreed";
	p.at = NOW;
	begin(fx->st);
	p.followup_id = f2;
	p.due_at = NOW + DAY;
	assert_int_equal(store_promise_add(fx->st, &p), STORE_OK);
	p.followup_id = d2;
	assert_int_equal(store_promise_add(fx->st, &p), STORE_OK);
	p.what = (char *)"reagreed";
	assert_int_equal(store_promise_add(fx->st, &p), STORE_OK);
	commit(fx->st);
	store_close(fx->st);
	fx->st = NULL;
	undo_contact_order_indexes(fx->path);
	sql_int(fx->path, "PRAGMA user_version = 12");
	assert_non_null(fx->st = store_open(fx->path, &cause));
	assert_int_equal(store_schema_version(fx->st), 14);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'index' AND name IN ('followups_contact', "
	    "'followups_contact_closed', 'followups_contact_kind')"), 3);
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'followups_contact' AND sql LIKE '%callback%'"), 1);

	memset(&flt, 0, sizeof flt);
	flt.owner = "ana";
	flt.contact_id = a;
	flt.status = "pending";
	flt.limit = 10;
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_followup_list(fx->st, &flt, ids_followup_cb,
	    &ids), STORE_OK);
	IDS_EQUAL(&ids, 3, f3, f2, f1);
	flt.closed_recent = 1;
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_followup_list(fx->st, &flt, ids_followup_cb,
	    &ids), STORE_OK);
	IDS_EQUAL(&ids, 2, d1, d2);
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_promise_list(fx->st, "ana", a, 10,
	    promise_order_cb, &ids), STORE_OK);
	IDS_EQUAL(&ids, 3, d2, d2, f2);
	assert_int_equal(store_interaction_list(fx->st, "ana", a, 0, 0, 0, 50,
	    count_interaction_cb, &ids.n), STORE_OK);
	memset(&ids, 0, sizeof ids);
	assert_int_equal(store_promise_list(fx->st, "bob", a, 10,
	    promise_order_cb, &ids), STORE_OK);
	IDS_EQUAL(&ids, 0);
	/* Once more, as contact.get asks them on every read. */
	flt.closed_recent = 0;
	assert_int_equal(store_followup_list(fx->st, &flt, ids_followup_cb,
	    &ids), STORE_OK);
	assert_int_equal(store_promise_list(fx->st, "ana", a, 10,
	    promise_order_cb, &ids), STORE_OK);
	/* None sorted its rows, and none was prepared again. */
	assert_no_sort_or_reprepare(fx->st, STMT_FOLLOWUP_LIST_CONTACT_PENDING);
	assert_no_sort_or_reprepare(fx->st, STMT_FOLLOWUP_LIST_CLOSED);
	assert_no_sort_or_reprepare(fx->st, STMT_PROMISE_CALLBACKS);
	assert_no_sort_or_reprepare(fx->st, STMT_PROMISE_LIST);
	assert_no_sort_or_reprepare(fx->st, STMT_INTERACTION_LIST);
}

/* A database from before the counts gets them filled in on opening. */
static void
test_counts_filled_by_migration(void **state)
{
	struct fx	*fx = *state;
	json_t		*counts;
	int64_t		 a;
	char		*cause = NULL;

	a = add_contact(fx->st, "ana", "A", NULL, NOW - DAY);
	add_interaction(fx->st, "ana", a, "call", NOW - HOUR);
	add_followup(fx->st, "ana", a, "callback", NOW + DAY);
	add_followup(fx->st, "ana", a, "followup", NOW - HOUR);
	store_close(fx->st);
	fx->st = NULL;
	/* Back to schema 2, as an older followupd left it. */
	undo_contact_order_indexes(fx->path);
	sql_int(fx->path, "ALTER TABLE users DROP COLUMN calendar");
	sql_int(fx->path, "ALTER TABLE users DROP COLUMN phone");
	sql_int(fx->path, "ALTER TABLE users DROP COLUMN display_name");
	sql_int(fx->path, "ALTER TABLE followups DROP COLUMN automatic");
	sql_int(fx->path, "DROP TABLE meta");
	sql_int(fx->path, "DROP INDEX followups_missed");
	sql_int(fx->path, "DROP INDEX interactions_voicemails");
	sql_int(fx->path, "DROP INDEX promises_due");
	sql_int(fx->path, "ALTER TABLE followups DROP COLUMN missed_due_at");
	sql_int(fx->path, "DROP INDEX deliveries_error");
	sql_int(fx->path, "DROP INDEX deliveries_sent");
	sql_int(fx->path, "ALTER TABLE deliveries DROP COLUMN error_at");
	sql_int(fx->path, "DROP INDEX contacts_email_key");
	sql_int(fx->path, "ALTER TABLE contacts DROP COLUMN email_key");
	sql_int(fx->path, "ALTER TABLE followups DROP COLUMN revision");
	sql_int(fx->path, "DROP TABLE owner_counts");
	sql_int(fx->path, "DROP TRIGGER contacts_count_insert");
	sql_int(fx->path, "DROP TRIGGER contacts_count_update");
	sql_int(fx->path, "DROP TRIGGER contacts_count_delete");
	sql_int(fx->path, "DROP TRIGGER interactions_count_insert");
	sql_int(fx->path, "DROP TRIGGER interactions_count_update");
	sql_int(fx->path, "DROP TRIGGER interactions_count_delete");
	sql_int(fx->path, "DROP TRIGGER followups_count_insert");
	sql_int(fx->path, "DROP TRIGGER followups_count_update");
	sql_int(fx->path, "DROP TRIGGER followups_count_delete");
	sql_int(fx->path, "DROP TABLE promises");
	sql_int(fx->path, "DROP INDEX contacts_stale");
	sql_int(fx->path, "PRAGMA user_version = 2");
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM "
	    "sqlite_master WHERE name = 'owner_counts'"), 0);
	assert_non_null(fx->st = store_open(fx->path, &cause));
	assert_int_equal(store_schema_version(fx->st), 14);
	/* Callbacks made before their history was kept were agreed then. */
	assert_int_equal(sql_int(fx->path, "SELECT count(*) FROM promises "
	    "p JOIN followups f ON f.id = p.followup_id WHERE p.what = "
	    "'agreed' AND p.due_at = f.due_at AND p.at = f.created_at"),
	    1);
	assert_counts_recount(fx);
	counts = json_object();
	assert_int_equal(counts_j(fx->st, "ana", NOW, counts),
	    STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "contacts")), 1);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "interactions")), 1);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "followups_pending")), 2);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "overdue")), 1);
	/* An unknown rep has nothing. */
	assert_int_equal(counts_j(fx->st, "nobody", NOW, counts),
	    STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "followups_pending")), 0);
	json_decref(counts);
}

/* Record one notice of owner's, to be delivered on the hook channel. */
static int64_t
add_notice(struct store *st, const char *owner, time_t fire)
{
	static const char *const channels[] = { "hook:mail" };
	struct store_outbox	 o;
	int			 created;

	memset(&o, 0, sizeof o);
	o.owner = owner;
	o.kind = "digest";
	o.due_at = fire;
	o.fire_at = fire;
	o.payload = "{}";
	begin(st);
	assert_int_equal(store_outbox_add(st, &o, channels, 1, fire,
	    &created), STORE_OK);
	assert_int_equal(created, 1);
	commit(st);
	return o.id;
}

static json_int_t
int_of(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/*
 * A rep's delivery state counts and shows only their own deliveries; the
 * team's sums them; an error outlives the retry that follows it.
 */
static void
test_outbox_state_per_owner(void **state)
{
	struct fx	*fx = *state;
	json_t		*ana, *ben, *team, *err, *rep;
	int64_t		 a1, a2, b1;

	a1 = add_notice(fx->st, "ana", NOW - HOUR);
	a2 = add_notice(fx->st, "ana", NOW - HOUR + 60);
	b1 = add_notice(fx->st, "ben", NOW - 2 * HOUR);
	begin(fx->st);
	/* Ana's first fails and waits for a retry; her second is given up;
	 * Ben's went out. */
	assert_int_equal(store_delivery_set(fx->st, a1, "hook:mail",
	    "pending", 1, NOW + 60, "ana@example.com: relay refused", NOW),
	    STORE_OK);
	assert_int_equal(store_delivery_set(fx->st, a2, "hook:mail",
	    "failed", 5, NOW, "gave up on ana@example.com", NOW - 30),
	    STORE_OK);
	assert_int_equal(store_delivery_set(fx->st, b1, "hook:mail", "sent",
	    1, NOW, NULL, NOW - 10), STORE_OK);
	/* A retry of Ana's first starts: its error stays readable. */
	assert_int_equal(store_delivery_set(fx->st, a1, "hook:mail",
	    "pending", 1, NOW + 35, NULL, NOW + 1), STORE_OK);
	commit(fx->st);

	ana = json_object();
	ben = json_object();
	team = json_object();
	assert_int_equal(outbox_stats_j(fx->st, "ana", ana), STORE_OK);
	assert_int_equal(outbox_last_j(fx->st, "ana", ana), STORE_OK);
	assert_int_equal(outbox_health_j(fx->st, "ana", ana), STORE_OK);
	assert_int_equal(outbox_stats_j(fx->st, "ben", ben), STORE_OK);
	assert_int_equal(outbox_last_j(fx->st, "ben", ben), STORE_OK);
	assert_int_equal(outbox_health_j(fx->st, "ben", ben), STORE_OK);
	assert_int_equal(outbox_stats_j(fx->st, NULL, team), STORE_OK);
	assert_int_equal(outbox_last_j(fx->st, NULL, team), STORE_OK);
	assert_int_equal(outbox_reps_j(fx->st, team), STORE_OK);

	assert_int_equal(int_of(ana, "outbox_backlog"), 1);
	assert_int_equal(int_of(ana, "deliveries_failing"), 1);
	assert_int_equal(int_of(ana, "deliveries_failed"), 1);
	assert_string_equal(json_string_value(json_object_get(ana,
	    "retrying_error")), "ana@example.com: relay refused");
	err = json_object_get(ana, "last_delivery_error");
	assert_string_equal(json_string_value(json_object_get(err, "error")),
	    "ana@example.com: relay refused");
	assert_true(json_is_null(json_object_get(ana, "last_delivery")));

	/* Ben sees none of it. */
	assert_int_equal(int_of(ben, "outbox_backlog"), 0);
	assert_int_equal(int_of(ben, "deliveries_failing"), 0);
	assert_int_equal(int_of(ben, "deliveries_failed"), 0);
	assert_true(json_is_null(json_object_get(ben, "last_delivery_error")));
	assert_true(json_is_null(json_object_get(ben, "retrying_error")));
	assert_true(json_is_null(json_object_get(ben, "failed_error")));
	assert_true(json_is_null(json_object_get(ben, "oldest_waiting")));
	assert_true(json_is_string(json_object_get(ben, "last_delivery")));

	/* The team's: both, and who has trouble. */
	assert_int_equal(int_of(team, "outbox_backlog"), 1);
	assert_int_equal(int_of(team, "deliveries_failed"), 1);
	assert_true(json_is_object(json_object_get(team,
	    "last_delivery_error")));
	assert_true(json_is_string(json_object_get(team, "last_delivery")));
	assert_int_equal(json_array_size(json_object_get(team,
	    "delivery_by_rep")), 1);
	rep = json_array_get(json_object_get(team, "delivery_by_rep"), 0);
	assert_string_equal(json_string_value(json_object_get(rep, "rep")),
	    "ana");
	assert_int_equal(int_of(rep, "backlog"), 1);
	assert_int_equal(int_of(rep, "failing"), 1);
	assert_int_equal(int_of(rep, "failed"), 1);
	json_decref(ana);
	json_decref(ben);
	json_decref(team);
}

/* The team's counts are the sums of every rep's. */
static void
test_team_counts(void **state)
{
	struct fx	*fx = *state;
	int64_t		 a, reps, contacts, pending;

	a = add_contact(fx->st, "ana", "A", NULL, NOW - DAY);
	add_contact(fx->st, "ana", "B", NULL, NOW - DAY);
	add_contact(fx->st, "ben", "C", NULL, NOW - DAY);
	add_followup(fx->st, "ana", a, "callback", NOW + DAY);
	assert_int_equal(store_team_counts(fx->st, &reps, &contacts,
	    &pending), STORE_OK);
	assert_int_equal(reps, 2);
	assert_int_equal(contacts, 3);
	assert_int_equal(pending, 1);
}

int
main(void)
{
#define T(t)	cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
#define T_DIR(t) cmocka_unit_test_setup_teardown(t, fx_setup_dir, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_creates_schema),
		T(test_open_makes_missing_directories),
		T(test_reopen_keeps_data),
		T(test_close_commits_open_group),
		T(test_reads_of_a_pass_share_one_transaction),
		T_DIR(test_open_refuses_file_that_is_not_a_database),
		T_DIR(test_open_refuses_newer_schema),
		T(test_contact_roundtrip),
		T(test_reader_reads_one_snapshot),
		T(test_interaction_roundtrip_moves_last_activity),
		T(test_interaction_needs_existing_contact),
		T(test_followup_roundtrip),
		T(test_followup_needs_existing_contact),
		T(test_failed_write_rolls_back_alone),
		T(test_write_begin_busy_when_locked),
		T(test_owner_isolation),
		T(test_contact_list_pages_by_id),
		T(test_contact_list_filters_stage_and_archived),
		T(test_contact_search_matches_like_characters_literally),
		T(test_archive_cancels_pending_followups),
		T(test_followup_close_twice_is_conflict),
		T(test_followup_set_due_counts_snoozes),
		T(test_followup_list_order_and_filters),
		T(test_contact_stale),
		T(test_user_get_put),
		T(test_user_row_read_once_a_pass),
		T(test_commit_durable_after_the_drivers_sync),
		T(test_log_checkpointed_beside_the_commits),
		T(test_sqlite_small_blocks_kept_per_thread),
		T(test_followup_notices_to_come_and_counts),
		T(test_contact_counts),
		T(test_counts_follow_every_change),
		T(test_email_matches_in_any_case_of_any_letter),
		T(test_email_keys_filled_by_migration),
		T(test_followup_origin_added_by_migration),
		T(test_followup_proposal_time_added_by_migration),
		T(test_contact_order_indexes_added_by_migration),
		cmocka_unit_test(test_fold_text),
		T(test_counts_filled_by_migration),
		T(test_outbox_state_per_owner),
		T(test_team_counts),
	};
#undef T
#undef T_DIR

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
