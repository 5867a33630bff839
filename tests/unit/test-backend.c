/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Cases of the store's backend interface, written against the public
 * store_* API only: no SQL, no file, so every backend runs the same
 * table.  Each backend named in backends[] opens a fresh store of its own
 * (SQLite: a file in a temporary directory); a PostgreSQL backend adds its
 * name and an opener.  Times are fixed instants around NOW.  One case
 * (a backend that leaves its maintenance out) swaps in a copy of the
 * backend's table, so it includes store-backend.h.
 */

#include <config.h>

#include <sys/stat.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "followupd.h"
#include "store-backend.h"

#define NOW	((time_t)1795348800)
#define HOUR	3600
#define DAY	86400

struct bfx {
	const char	*backend;
	char		 dir[64];
	struct store	*st;
};

/* --- backends: how each opens a fresh, empty store --- */

static struct store *
sqlite_open(struct bfx *fx)
{
	char	 path[128], *cause;
	struct store *st;

	snprintf(fx->dir, sizeof fx->dir, "/tmp/fu-backend-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return NULL;
	snprintf(path, sizeof path, "%s/followup.db", fx->dir);
	if ((st = store_open(path, &cause)) == NULL) {
		fprintf(stderr, "store_open: %s\n", cause);
		free(cause);
	}
	return st;
}

static void
sqlite_clean(struct bfx *fx)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[512];

	if ((d = opendir(fx->dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof path, "%s/%s", fx->dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(fx->dir);
}

static const struct {
	const char	*name;
	struct store	*(*open)(struct bfx *);
	void		 (*clean)(struct bfx *);
} backends[] = {
	{ "sqlite", sqlite_open, sqlite_clean },
};
static size_t	backend_at;	/* the one the group runs now */

static int
bfx_setup(void **state)
{
	struct bfx	*fx = calloc(1, sizeof *fx);

	if (fx == NULL)
		return -1;
	fx->backend = backends[backend_at].name;
	if ((fx->st = backends[backend_at].open(fx)) == NULL) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
bfx_teardown(void **state)
{
	struct bfx	*fx = *state;

	store_close(fx->st);
	backends[backend_at].clean(fx);
	free(fx);
	return 0;
}

/* --- helpers over the public API --- */

static int64_t
add_contact(struct store *st, const char *owner, const char *name,
    const char *email)
{
	struct fu_contact	c;

	memset(&c, 0, sizeof c);
	c.owner = (char *)owner;
	c.name = (char *)name;
	c.email = (char *)email;
	c.stage = (char *)"lead";
	c.created_at = c.updated_at = NOW;
	assert_int_equal(store_write_begin(st), STORE_OK);
	assert_int_equal(store_contact_insert(st, &c), STORE_OK);
	store_write_end(st, 1);
	assert_int_equal(store_commit(st), 0);
	assert_true(c.id > 0);
	return c.id;
}

static int64_t
add_followup(struct store *st, const char *owner, int64_t contact,
    time_t due)
{
	struct fu_followup	f;

	memset(&f, 0, sizeof f);
	f.contact_id = contact;
	f.owner = (char *)owner;
	f.kind = (char *)"followup";
	f.status = (char *)"pending";
	f.due_at = due;
	f.remind_before = -1;
	f.remind_at = due;
	f.notice_stage = NOTICE_DUE;
	f.notice_at = due;
	f.created_at = f.updated_at = NOW - DAY;
	assert_int_equal(store_write_begin(st), STORE_OK);
	assert_int_equal(store_followup_insert(st, &f), STORE_OK);
	store_write_end(st, 1);
	assert_int_equal(store_commit(st), 0);
	return f.id;
}

static int
count_cb(const struct fu_contact *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

/* --- the cases --- */

static void
test_backend_is_the_one_named(void **state)
{
	struct bfx	*fx = *state;

	assert_string_equal(store_backend_name(fx->st), fx->backend);
}

static void
test_contact_roundtrip(void **state)
{
	struct bfx		*fx = *state;
	struct fu_contact	 c;
	int64_t			 id;

	id = add_contact(fx->st, "ana", "Dana Whitfield", "dana@example.com");
	memset(&c, 0, sizeof c);
	assert_int_equal(store_contact_get(fx->st, "ana", id, &c), STORE_OK);
	assert_string_equal(c.name, "Dana Whitfield");
	assert_string_equal(c.email, "dana@example.com");
	assert_string_equal(c.stage, "lead");
	fu_contact_clear(&c);
	/* Another rep's contact is not found, not forbidden. */
	assert_int_equal(store_contact_get(fx->st, "ben", id, &c),
	    STORE_NOT_FOUND);
}

static void
test_contact_list_and_find(void **state)
{
	struct bfx			*fx = *state;
	struct store_contact_filter	 f;
	int64_t				 ids[4];
	size_t				 n;
	int				 count = 0;

	add_contact(fx->st, "ana", "One", "one@example.com");
	add_contact(fx->st, "ana", "Two", "two@example.com");
	add_contact(fx->st, "ben", "Three", "one@example.com");
	memset(&f, 0, sizeof f);
	f.owner = "ana";
	f.limit = 10;
	assert_int_equal(store_contact_list(fx->st, &f, count_cb, &count),
	    STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(store_contact_find_email(fx->st, "ana",
	    "one@example.com", ids, 4, &n), STORE_OK);
	assert_int_equal(n, 1);
}

static void
test_counts_and_team_counts(void **state)
{
	struct bfx			*fx = *state;
	struct store_contact_counts	 n;
	int64_t				 a, reps, contacts, pending;

	a = add_contact(fx->st, "ana", "One", NULL);
	add_contact(fx->st, "ben", "Two", NULL);
	add_followup(fx->st, "ana", a, NOW - HOUR);
	add_followup(fx->st, "ana", a, NOW + DAY);
	assert_int_equal(store_contact_counts(fx->st, "ana", NOW, &n),
	    STORE_OK);
	assert_int_equal(n.contacts, 1);
	assert_int_equal(n.pending, 2);
	assert_int_equal(n.overdue, 1);
	assert_int_equal(store_contact_counts(fx->st, "nobody", NOW, &n),
	    STORE_OK);
	assert_int_equal(n.contacts, 0);
	assert_int_equal(store_team_counts(fx->st, &reps, &contacts,
	    &pending), STORE_OK);
	assert_int_equal(reps, 2);
	assert_int_equal(contacts, 2);
	assert_int_equal(pending, 2);
}

static void
test_archive_cancels_pending(void **state)
{
	struct bfx			*fx = *state;
	struct store_contact_counts	 n;
	int64_t				 a;
	int				 cancelled = 0;

	a = add_contact(fx->st, "ana", "One", NULL);
	add_followup(fx->st, "ana", a, NOW + DAY);
	assert_int_equal(store_write_begin(fx->st), STORE_OK);
	assert_int_equal(store_contact_set_archived(fx->st, "ana", a, 1, NOW,
	    &cancelled), STORE_OK);
	store_write_end(fx->st, 1);
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(cancelled, 1);
	assert_int_equal(store_contact_counts(fx->st, "ana", NOW, &n),
	    STORE_OK);
	assert_int_equal(n.contacts, 0);
	assert_int_equal(n.pending, 0);
}

static int
interaction_cb(const struct fu_interaction *in, void *arg)
{
	(*(int *)arg)++;
	assert_string_equal(in->kind, "call");
	return 0;
}

static void
test_interaction_moves_last_activity(void **state)
{
	struct bfx		*fx = *state;
	struct fu_interaction	 in;
	struct fu_contact	 c;
	int64_t			 a;
	int			 n = 0;

	a = add_contact(fx->st, "ana", "One", NULL);
	memset(&in, 0, sizeof in);
	in.contact_id = a;
	in.owner = (char *)"ana";
	in.kind = (char *)"call";
	in.at = in.created_at = NOW + HOUR;
	assert_int_equal(store_write_begin(fx->st), STORE_OK);
	assert_int_equal(store_interaction_insert(fx->st, &in), STORE_OK);
	store_write_end(fx->st, 1);
	assert_int_equal(store_commit(fx->st), 0);
	assert_true(in.id > 0);
	assert_int_equal(store_interaction_list(fx->st, "ana", a, 0, 0, 0, 10,
	    interaction_cb, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_contact_get(fx->st, "ana", a, &c), STORE_OK);
	assert_int_equal(c.last_activity_at, NOW + HOUR);
	fu_contact_clear(&c);
}

static void
test_user_put_then_get(void **state)
{
	struct bfx	*fx = *state;
	struct fu_user	 u;

	assert_int_equal(store_user_get(fx->st, "ana", &u), STORE_NOT_FOUND);
	fu_user_clear(&u);
	memset(&u, 0, sizeof u);
	u.name = (char *)"ana";
	u.uid = 1000;
	u.tz = (char *)"Europe/Berlin";
	assert_int_equal(store_write_begin(fx->st), STORE_OK);
	assert_int_equal(store_user_put(fx->st, &u, NOW), STORE_OK);
	store_write_end(fx->st, 1);
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(store_user_get(fx->st, "ana", &u), STORE_OK);
	assert_int_equal(u.uid, 1000);
	assert_string_equal(u.tz, "Europe/Berlin");
	fu_user_clear(&u);
}

/*
 * A backend that can neither copy nor check its database (a server's:
 * its own tools do both) leaves those entries NULL: the store refuses a
 * backup with a reason, says no check can be made, and calls nothing
 * through NULL.  The backend under test is swapped for a copy of its
 * table with no maintenance entries, and put back before the store closes.
 */
static void
test_maint_left_out_is_refused_not_called(void **state)
{
	struct bfx			*fx = *state;
	struct store_base		*base = (void *)fx->st;
	const struct store_backend	*was = base->backend;
	static const struct store_maint_backend none;
	struct store_backend		 copy = *was;
	struct store_check_file		*cf;
	const char			*detail;
	char				*cause = NULL;
	int64_t				 bytes = -1;

	copy.maint = &none;
	base->backend = &copy;
	assert_int_equal(store_backup_target_live(fx->st, "/tmp/x.db",
	    &cause), 0);
	assert_null(cause);
	assert_null(store_backup_begin(fx->st, &cause));
	assert_non_null(cause);
	assert_string_equal(cause, "this database cannot be backed up by "
	    "followupd; use the database's own tools");
	free(cause);
	store_backup_clean(fx->st);
	store_backup_abort(NULL);
	assert_null(store_check_name(fx->st));
	cf = store_check_file_new(fx->st);
	assert_null(cf);
	store_check_file_run(cf);
	store_check_file_stop(cf);
	assert_int_equal(store_check_file_result(cf, &detail, &bytes), 0);
	assert_non_null(strstr(detail, "cannot check"));
	assert_int_equal(bytes, 0);
	store_check_file_free(cf);

	/* No table at all: the same. */
	copy.maint = NULL;
	assert_null(store_backup_begin(fx->st, &cause));
	assert_non_null(strstr(cause, "cannot be backed up"));
	free(cause);
	assert_null(store_check_file_new(fx->st));
	base->backend = was;
}

/* The backend's own copy and check, through the same dispatchers. */
static void
test_maint_backup_and_check(void **state)
{
	struct bfx		*fx = *state;
	struct store_backup	*sb;
	struct store_check_file	*cf;
	const char		*detail;
	char			*cause;
	int64_t			 bytes;
	int			 rc, fd = -1;

	add_contact(fx->st, "ana", "One", NULL);
	if (STORE_BACKEND(fx->st)->maint->backup_begin == NULL)
		skip();
	sb = store_backup_begin(fx->st, &cause);
	assert_non_null(sb);
	while ((rc = store_backup_step(sb, &fd, &bytes, &cause)) == 1 ||
	    rc == 2)
		;
	assert_int_equal(rc, 0);
	assert_true(fd >= 0);
	assert_true(bytes > 0);
	close(fd);
	assert_non_null(store_check_name(fx->st));
	cf = store_check_file_new(fx->st);
	assert_non_null(cf);
	store_check_file_run(cf);
	assert_int_equal(store_check_file_result(cf, &detail, &bytes), 1);
	assert_true(bytes > 0);
	store_check_file_free(cf);
}

/* Not a case of any one backend: the names this build can open. */
static void
test_a_postgresql_url_is_refused_not_made_a_file(void **state)
{
	char	*cause;

	(void)state;
	assert_int_equal(store_backend_kind("/var/lib/f.db"),
	    STORE_BACKEND_SQLITE);
	assert_int_equal(store_backend_kind("f.db"), STORE_BACKEND_SQLITE);
	assert_int_equal(store_backend_kind("postgresql://h/db"),
	    STORE_BACKEND_POSTGRESQL);
	assert_int_equal(store_backend_kind("postgres://h/db"),
	    STORE_BACKEND_POSTGRESQL);
	assert_int_equal(store_backend_kind(" host=h dbname=f"),
	    STORE_BACKEND_POSTGRESQL);
	assert_int_equal(store_backend_kind("mysql://h/db"),
	    STORE_BACKEND_UNKNOWN);
	/* With libpq the server is tried (and is not there); without, the
	 * URL is refused as such.  Never a file, never the password. */
	setenv("PGCONNECT_TIMEOUT", "5", 1);
	assert_null(store_open("postgresql://u:secret@h.invalid/db", &cause));
#ifdef HAVE_POSTGRESQL
	assert_non_null(strstr(cause, "cannot connect to the PostgreSQL"));
#else
	assert_non_null(strstr(cause, "built without the PostgreSQL"));
#endif
	assert_null(strstr(cause, "secret"));
	free(cause);
	assert_int_equal(access("postgresql:", F_OK), -1);
}

/* What status and the log show of a database: never a password. */
static void
test_a_database_is_shown_without_its_password(void **state)
{
	static const char *const cases[][2] = {
		{ "/var/lib/f.db", "/var/lib/f.db" },
		{ "postgresql:///fu?host=/run/postgresql&port=5432",
		  "postgresql:///fu?host=/run/postgresql&port=5432" },
		{ "postgresql://ana:s3cret@db.example:5432/fu",
		  "postgresql://ana@db.example:5432/fu" },
		{ "postgres://ana:p@ss@db.example/fu?sslmode=require",
		  "postgres://ana@db.example/fu?sslmode=require" },
		{ "postgresql:///fu?password=s3cret&host=/tmp",
		  "postgresql:///fu?host=/tmp" },
		{ "postgresql://db/fu?host=h&password=s3cret",
		  "postgresql://db/fu?host=h" },
		{ "postgresql://ana@db/fu", "postgresql://ana@db/fu" },
		{ "host=db dbname=fu password=s3cret user=ana",
		  "host=db dbname=fu user=ana" },
		{ "password = 's3 cr\\'et' host=db", " host=db" },
		{ "host=db password='s3cret'", "host=db" },
	};
	size_t	 i;
	char	*s;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = store_database_shown(cases[i][0]);
		assert_string_equal(s, cases[i][1]);
		assert_null(strstr(s, "s3"));
		free(s);
	}
}

int
main(void)
{
#define T(t)	cmocka_unit_test_setup_teardown(t, bfx_setup, bfx_teardown)
	const struct CMUnitTest cases[] = {
		T(test_backend_is_the_one_named),
		T(test_contact_roundtrip),
		T(test_contact_list_and_find),
		T(test_counts_and_team_counts),
		T(test_archive_cancels_pending),
		T(test_interaction_moves_last_activity),
		T(test_user_put_then_get),
		T(test_maint_left_out_is_refused_not_called),
		T(test_maint_backup_and_check),
	};
	const struct CMUnitTest names[] = {
		cmocka_unit_test(test_a_postgresql_url_is_refused_not_made_a_file),
		cmocka_unit_test(test_a_database_is_shown_without_its_password),
	};
	int	fails = 0;

	for (backend_at = 0; backend_at < sizeof backends / sizeof
	    backends[0]; backend_at++)
		fails += _cmocka_run_group_tests(backends[backend_at].name,
		    cases, sizeof cases / sizeof cases[0], NULL, NULL);
	fails += cmocka_run_group_tests(names, NULL, NULL);
	return fails != 0;
}
