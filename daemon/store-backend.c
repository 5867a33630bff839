/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Which backend a database string names.  A path is an SQLite file; a URL
 * or a libpq conninfo string names a server.  The string is read here once,
 * so that a URL is never taken for a relative file name: before, a
 * "postgresql://..." quietly became an SQLite file called "postgresql:" in
 * the working directory.  The public store_* functions dispatch here to
 * the backend the store was opened with.
 */

#include <config.h>

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store-backend.h"

/* The keywords a conninfo string may begin with (libpq's own names). */
static const char *store_conninfo_keys[] = {
	"host", "hostaddr", "port", "dbname", "user", "password", "passfile",
	"service", "sslmode", "connect_timeout", "application_name",
	"options", "target_session_attrs", NULL
};

/* Is s a conninfo string, "host=... dbname=..."? */
static int
store_backend_conninfo(const char *s)
{
	const char	**k;
	size_t		  len;

	while (isspace((unsigned char)*s))
		s++;
	for (k = store_conninfo_keys; *k != NULL; k++) {
		len = strlen(*k);
		if (strncmp(s, *k, len) != 0)
			continue;
		s += len;
		while (isspace((unsigned char)*s))
			s++;
		return *s == '=';
	}
	return 0;
}

const struct store_backend store_sqlite = {
	.name = "sqlite",
	.txn = &store_sqlite_txn,
	.contact = &store_sqlite_contact,
	.outbox = &store_sqlite_outbox,
	.followup = &store_sqlite_followup,
	.user = &store_sqlite_user,
	.report = &store_sqlite_report,
	.reader = &store_sqlite_reader,
	.promise = &store_sqlite_promise,
	.interaction = &store_sqlite_interaction,
	.maint = &store_sqlite_maint,
};

/* The backends of this build, by name. */
static const struct store_backend *store_backends[] = {
	&store_sqlite,
#ifdef HAVE_POSTGRESQL
	&store_postgresql,
#endif
	NULL
};

/* The backend called name in this build, or NULL. */
const struct store_backend *
store_backend_find(const char *name)
{
	size_t	i;

	for (i = 0; store_backends[i] != NULL; i++)
		if (strcmp(store_backends[i]->name, name) == 0)
			return store_backends[i];
	return NULL;
}

/*
 * The backend a database string names: STORE_BACKEND_SQLITE for a path,
 * STORE_BACKEND_POSTGRESQL for a postgresql:// or postgres:// URL or a
 * conninfo string, STORE_BACKEND_UNKNOWN for any other scheme://.
 */
enum store_backend_kind
store_backend_kind(const char *database)
{
	const char	*p;

	if (strncmp(database, "postgresql://", 13) == 0 ||
	    strncmp(database, "postgres://", 11) == 0 ||
	    store_backend_conninfo(database))
		return STORE_BACKEND_POSTGRESQL;
	if (*database == '/')
		return STORE_BACKEND_SQLITE;
	/* Any other scheme: a letter, then letters, digits, "+-.", then
	 * "://".  A relative path rarely looks like that; one that does is
	 * given as ./path. */
	p = database;
	if (isalpha((unsigned char)*p)) {
		while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
		    *p == '.')
			p++;
		if (strncmp(p, "://", 3) == 0)
			return STORE_BACKEND_UNKNOWN;
	}
	return STORE_BACKEND_SQLITE;
}

/*
 * Copy the URL u to out (as long as u at least) without any password:
 * its user's ("user:secret@") and a password= parameter.
 */
static void
store_shown_url(char *out, const char *u)
{
	const char	*auth = strstr(u, "://") + 3, *end, *at = NULL;
	const char	*colon, *q, *p;
	size_t		 len;
	char		 sep = '?';

	end = auth + strcspn(auth, "/?");
	for (p = auth; p < end; p++) {
		if (*p == '@')
			at = p;
	}
	colon = at != NULL ? memchr(auth, ':', at - auth) : NULL;
	if (colon != NULL) {
		memcpy(out, u, colon - u);
		out += colon - u;
		u = at;
	}
	if ((q = strchr(u, '?')) == NULL)
		q = u + strlen(u);
	memcpy(out, u, q - u);
	out += q - u;
	p = *q == '?' ? q + 1 : q;
	for (; *p != '\0'; p += len + (p[len] == '&')) {
		len = strcspn(p, "&");
		if (strncmp(p, "password=", 9) == 0)
			continue;
		*out++ = sep;
		memcpy(out, p, len);
		out += len;
		sep = '&';
	}
	*out = '\0';
}

/*
 * Copy the conninfo c to out (as long as c at least) without its
 * password = value pair (a value may be quoted, with backslash escapes).
 */
static void
store_shown_conninfo(char *out, const char *c)
{
	const char	*start, *key, *p;
	size_t		 keylen;

	for (p = c; *p != '\0';) {
		start = p;
		while (isspace((unsigned char)*p))
			p++;
		key = p;
		while (*p != '\0' && *p != '=' && !isspace((unsigned char)*p))
			p++;
		keylen = p - key;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '=') {
			p++;
			while (isspace((unsigned char)*p))
				p++;
		}
		if (*p == '\'') {
			for (p++; *p != '\0' && *p != '\''; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			if (*p == '\'')
				p++;
		} else {
			while (*p != '\0' && !isspace((unsigned char)*p))
				p++;
		}
		if (keylen == 8 && strncmp(key, "password", 8) == 0)
			continue;
		memcpy(out, start, p - start);
		out += p - start;
	}
	*out = '\0';
}

/*
 * The database string as status and the log may show it: a server's
 * without any password it holds, so that no rep ever reads one.  Caller
 * frees.
 */
char *
store_database_shown(const char *database)
{
	char	*s;

	if (store_backend_kind(database) != STORE_BACKEND_POSTGRESQL)
		return xstrdup(database);
	s = xmalloc(strlen(database) + 1);
	if (strncmp(database, "postgresql://", 13) == 0 ||
	    strncmp(database, "postgres://", 11) == 0)
		store_shown_url(s, database);
	else
		store_shown_conninfo(s, database);
	return s;
}

/*
 * Can this build open the database?  0 if so; else -1 and a cause that
 * names the backend, never the string itself (a URL may hold a password).
 */
int
store_backend_usable(const char *database, char **cause)
{
	*cause = NULL;
	switch (store_backend_kind(database)) {
	case STORE_BACKEND_SQLITE:
		if (store_backend_find("sqlite") != NULL)
			return 0;
		*cause = xstrdup("this followupd was built without the "
		    "SQLite backend");
		return -1;
	case STORE_BACKEND_POSTGRESQL:
		if (store_backend_find("postgresql") != NULL)
			return 0;
		*cause = xstrdup("this followupd was built without the "
		    "PostgreSQL backend");
		return -1;
	case STORE_BACKEND_UNKNOWN:
		break;
	}
	*cause = xstrdup("the database URL names no known backend (an "
	    "SQLite path, or postgresql://)");
	return -1;
}

/* The name of the backend st was opened with ("sqlite"). */
const char *
store_backend_name(struct store *st)
{
	return STORE_BACKEND(st)->name;
}

/* --- the nodes sharing a database --- */

/* Is st's database shared by nodes (a server's), with a node table? */
int
store_node_shared(struct store *st)
{
	return STORE_BACKEND(st)->node != NULL;
}

/* Write this node's heartbeat; nothing to do for a database of one. */
enum store_result
store_node_beat(struct store *st)
{
	if (STORE_BACKEND(st)->node == NULL)
		return STORE_OK;
	return STORE_BACKEND(st)->node->beat(st);
}

/*
 * Call cb for each live node (name order) until it returns non-zero;
 * STORE_ERROR for a database of one, which has no node table: the
 * caller speaks for its own process.
 */
enum store_result
store_node_live(struct store *st, store_node_cb cb, void *arg)
{
	if (STORE_BACKEND(st)->node == NULL)
		return STORE_ERROR;
	return STORE_BACKEND(st)->node->live(st, cb, arg);
}

/* The database server's version, or NULL (no server). */
const char *
store_node_server_version(struct store *st)
{
	if (STORE_BACKEND(st)->node == NULL)
		return NULL;
	return STORE_BACKEND(st)->node->server_version(st);
}

/*
 * The socket to watch for the other nodes' news, or while the store
 * connects again for its try, and how (*how), or -1 (none); *session
 * tells one socket (and way to watch it) from the next.
 */
int
store_node_notify_fd(struct store *st, unsigned *session,
    enum store_watch *how)
{
	*session = 0;
	*how = STORE_WATCH_NEWS;
	if (STORE_BACKEND(st)->node == NULL)
		return -1;
	return STORE_BACKEND(st)->node->notify_fd(st, session, how);
}

/*
 * Is the connection to the database server lost?  1 with since when and
 * when the next try to connect again starts (0: one is under way), by
 * the wall clock; 0 when connected, or for a file of one's own.
 */
int
store_offline(struct store *st, time_t *since, time_t *next_try)
{
	*since = *next_try = 0;
	if (STORE_BACKEND(st)->node == NULL)
		return 0;
	return STORE_BACKEND(st)->node->offline(st, since, next_try);
}

/*
 * While the connection is lost, does the server the last try met serve
 * reads only (a standby in recovery, during a failover)?  Requests that
 * only read may then still run on the lanes, which connect to it.
 */
int
store_standby(struct store *st)
{
	if (STORE_BACKEND(st)->node == NULL)
		return 0;
	return STORE_BACKEND(st)->node->standby(st);
}

/*
 * How many times the news said a rep's settings changed (on any node,
 * this one's lanes included): what keeps them in memory looks again when
 * this moves.  Always 0 for a file of one's own.  Safe from any thread.
 */
uint64_t
store_node_users_news(struct store *st)
{
	if (STORE_BACKEND(st)->node == NULL ||
	    STORE_BACKEND(st)->node->users_news == NULL)
		return 0;
	return STORE_BACKEND(st)->node->users_news(st);
}

/*
 * Read the news that came; return how many from other nodes, or -1 if
 * the connection that carries it is gone.
 */
int
store_node_notify_drain(struct store *st)
{
	if (STORE_BACKEND(st)->node == NULL)
		return 0;
	return STORE_BACKEND(st)->node->notify_drain(st);
}

/* --- opening, closing and transactions --- */

/*
 * Open the database a string names (a path, or a server's URL or
 * conninfo) with the backend that serves it: create or migrate its schema
 * and get it ready.  Return the store, or NULL with *cause set (caller
 * frees).  The caller frees the store with store_close.
 */
struct store *
store_open(const char *database, char **cause)
{
	const struct store_backend	*b;
	struct store			*st;

	if (store_backend_usable(database, cause) != 0)
		return NULL;
	b = store_backend_find(store_backend_kind(database) ==
	    STORE_BACKEND_POSTGRESQL ? "postgresql" : "sqlite");
	if ((st = b->txn->open(database, cause)) == NULL)
		return NULL;
	/* A backend still being written serves nothing rather than half. */
	if (b->contact == NULL || b->interaction == NULL ||
	    b->promise == NULL || b->report == NULL || b->reader == NULL ||
	    b->user == NULL || b->followup == NULL || b->outbox == NULL) {
		xasprintf(cause, "the %s store is not complete in this build "
		    "(schema %d is ready, but followupd cannot serve from it "
		    "yet): use an SQLite database", b->name,
		    b->txn->schema_version(st));
		b->txn->close(st);
		return NULL;
	}
	return st;
}

/* Close the store; an open group commit is committed first. */
/*
 * A lane of st for a thread beside the loop: its own connection to the
 * same database, opened on the thread at its first statement, committed
 * with store_commit, freed with store_close once the thread is done.
 * NULL when the backend has none: a file of one's own is read and
 * written faster on the loop than a thread could be handed the work.
 */
struct store *
store_lane_new(struct store *st)
{
	if (STORE_BACKEND(st)->txn->lane_new == NULL)
		return NULL;
	return STORE_BACKEND(st)->txn->lane_new(st);
}

void
store_close(struct store *st)
{
	if (st != NULL)
		STORE_BACKEND(st)->txn->close(st);
}

/*
 * Let driver end each loop pass's transaction and call store_idle once
 * writes rest; cb is called after each group commit with 1 if it is
 * durable, 0 if its writes were lost.  Without a driver the caller
 * commits with store_commit.
 */
void
store_set_driver(struct store *st, const struct store_driver *driver,
    store_commit_cb cb, void *arg)
{
	STORE_BACKEND(st)->txn->set_driver(st, driver, cb, arg);
}

/* Let the reads of this loop pass share one read transaction. */
void
store_read_begin(struct store *st)
{
	STORE_BACKEND(st)->txn->read_begin(st);
}

/*
 * Start one write: join the pass's group transaction (opening it if none
 * is) at a savepoint.  Pair with store_write_end.  Return STORE_OK, or
 * what kept the transaction from opening (nothing is held then).
 */
enum store_result
store_write_begin(struct store *st)
{
	return STORE_BACKEND(st)->txn->write_begin(st);
}

/* End one write: keep it if ok, else undo it alone. */
void
store_write_end(struct store *st, int ok)
{
	STORE_BACKEND(st)->txn->write_end(st, ok);
}

/* Is a group transaction open (so replies must wait for its commit)? */
int
store_in_txn(struct store *st)
{
	return STORE_BACKEND(st)->txn->in_txn(st);
}

/*
 * Commit the group transaction, if one is open, and call the commit
 * callback with the outcome.  Return 0 if it is durable (or nothing was
 * open), -1 if its writes were lost.
 */
int
store_commit(struct store *st)
{
	return STORE_BACKEND(st)->txn->commit(st);
}

/*
 * How many group commits have been made, and how many of them are
 * durable: they differ while a commit's sync runs beside the loop.  A
 * backend whose commits are durable when they return (PostgreSQL's: the
 * server has synced when COMMIT answers) counts none made and every one
 * durable, so nothing ever waits on it.
 */
uint64_t
store_commits(struct store *st)
{
	const struct store_txn_backend	*t = STORE_BACKEND(st)->txn;

	return t->commits != NULL ? t->commits(st) : 0;
}

uint64_t
store_durable(struct store *st)
{
	const struct store_txn_backend	*t = STORE_BACKEND(st)->txn;

	return t->durable != NULL ? t->durable(st) : UINT64_MAX;
}

/*
 * On the loop: get ready to make the commits made so far durable, and
 * return the count store_sync_end will take once they are.  0: there is
 * nothing to sync.
 */
uint64_t
store_sync_begin(struct store *st)
{
	const struct store_txn_backend	*t = STORE_BACKEND(st)->txn;

	return t->sync_begin != NULL ? t->sync_begin(st) : 0;
}

/*
 * On a thread beside the loop, between store_sync_begin and
 * store_sync_end: make them durable.  Return 0, or -1 with errno set.
 */
int
store_sync_run(struct store *st)
{
	const struct store_txn_backend	*t = STORE_BACKEND(st)->txn;

	return t->sync_run != NULL ? t->sync_run(st) : 0;
}

/*
 * On the loop, after store_sync_run: the first upto commits are durable
 * if ok.  If not, the daemon stops (see store.c): nothing unsaved is
 * ever acknowledged.
 */
void
store_sync_end(struct store *st, uint64_t upto, int ok)
{
	const struct store_txn_backend	*t = STORE_BACKEND(st)->txn;

	if (t->sync_end != NULL)
		t->sync_end(st, upto, ok);
}

/*
 * On a thread beside the loop, after the driver's checkpoint was asked
 * for: fold the log into the database as far as readers allow, without
 * waiting for any.  Return 0, or -1 (store_ckpt_end says why).
 */
int
store_ckpt_run(struct store *st)
{
	const struct store_txn_backend	*t = STORE_BACKEND(st)->txn;

	return t->ckpt_run != NULL ? t->ckpt_run(st) : 0;
}

/* On the loop, after store_ckpt_run: the checkpoint is over (ok or not). */
void
store_ckpt_end(struct store *st, int ok)
{
	const struct store_txn_backend	*t = STORE_BACKEND(st)->txn;

	if (t->ckpt_end != NULL)
		t->ckpt_end(st, ok);
}

/* Fold the database's log into it now, if nothing holds it. */
enum store_result
store_checkpoint(struct store *st)
{
	return STORE_BACKEND(st)->txn->checkpoint(st);
}

/* Writes have rested: keep the files in shape (the driver's timer). */
void
store_idle(struct store *st)
{
	STORE_BACKEND(st)->txn->idle(st);
}

/* What the last failing call met. */
enum store_result
store_last_result(struct store *st)
{
	return STORE_BACKEND(st)->txn->last_result(st);
}

/* The database's identity, kept for its life (a backup carries it). */
const char *
store_id(struct store *st)
{
	return STORE_BACKEND(st)->txn->id(st);
}

/* The schema version of the open database. */
int
store_schema_version(struct store *st)
{
	return STORE_BACKEND(st)->txn->schema_version(st);
}

/* --- readers beside the loop --- */

/*
 * A reader of st's database for a thread beside the loop (see
 * store_reader_open); nothing is opened yet.  Free it with
 * store_reader_free, on the loop, once the thread is done.
 */
struct store_reader *
store_reader_new(struct store *st)
{
	return STORE_BACKEND(st)->reader->new(st);
}

/*
 * On the thread: open the reader's own read-only connection and begin
 * one snapshot; every read through the store returned sees the database
 * as it was at the first of them.  The store belongs to the reader (it
 * goes with store_reader_free) and to this thread alone.  Return NULL
 * with *cause set (caller frees) if it cannot be opened or was stopped.
 * Failures of its reads are not logged on the thread: store_reader_free
 * logs them on the loop.
 */
struct store *
store_reader_open(struct store_reader *r, char **cause)
{
	return STORE_BACKEND(r)->reader->open(r, cause);
}

/*
 * From any thread: make the reader's reads stop soon (they fail), or its
 * open fail if it has not opened yet.
 */
void
store_reader_stop(struct store_reader *r)
{
	STORE_BACKEND(r)->reader->stop(r);
}

/* On the loop, once the reader's thread is done: close and free it. */
void
store_reader_free(struct store_reader *r)
{
	if (r == NULL)
		return;
	STORE_BACKEND(r)->reader->free(r);
}

/* --- contacts --- */

enum store_result
store_contact_insert(struct store *st, struct fu_contact *c)
{
	return STORE_BACKEND(st)->contact->insert(st, c);
}

enum store_result
store_contact_get(struct store *st, const char *owner, int64_t id,
    struct fu_contact *c)
{
	return STORE_BACKEND(st)->contact->get(st, owner, id, c);
}

enum store_result
store_contact_update(struct store *st, const struct fu_contact *c)
{
	return STORE_BACKEND(st)->contact->update(st, c);
}

enum store_result
store_contact_cancel_pending(struct store *st, int64_t id, time_t now,
    const char *note, int *cancelled)
{
	return STORE_BACKEND(st)->contact->cancel_pending(st, id, now, note,
	    cancelled);
}

enum store_result
store_contact_set_archived(struct store *st, const char *owner, int64_t id,
    int archive, time_t now, int *cancelled)
{
	return STORE_BACKEND(st)->contact->set_archived(st, owner, id,
	    archive, now, cancelled);
}

enum store_result
store_contact_reassign(struct store *st, int64_t id, const char *to,
    time_t now, int *moved)
{
	return STORE_BACKEND(st)->contact->reassign(st, id, to, now, moved);
}

enum store_result
store_contact_list(struct store *st, const struct store_contact_filter *f,
    store_contact_cb cb, void *arg)
{
	return STORE_BACKEND(st)->contact->list(st, f, cb, arg);
}

enum store_result
store_contact_dump(struct store *st, const char *owner, int64_t after,
    int limit, store_contact_cb cb, void *arg)
{
	return STORE_BACKEND(st)->contact->dump(st, owner, after, limit, cb,
	    arg);
}

enum store_result
store_contact_find_email(struct store *st, const char *owner,
    const char *email, int64_t *ids, size_t max, size_t *n)
{
	return STORE_BACKEND(st)->contact->find_email(st, owner, email, ids,
	    max, n);
}

enum store_result
store_contact_stale(struct store *st, const char *owner,
    const struct store_stale *ss, time_t now, int limit, store_contact_cb cb,
    void *arg)
{
	return STORE_BACKEND(st)->contact->stale(st, owner, ss, now, limit,
	    cb, arg);
}

enum store_result
store_contact_counts(struct store *st, const char *owner, time_t now,
    struct store_contact_counts *n)
{
	return STORE_BACKEND(st)->contact->counts(st, owner, now, n);
}

enum store_result
store_team_counts(struct store *st, int64_t *reps, int64_t *contacts,
    int64_t *pending)
{
	return STORE_BACKEND(st)->contact->team_counts(st, reps, contacts,
	    pending);
}

/* --- interaction --- */

enum store_result
store_interaction_insert(struct store *st, struct fu_interaction *in)
{
	return STORE_BACKEND(st)->interaction->insert(st, in);
}

enum store_result
store_interaction_list(struct store *st, const char *owner, int64_t contact_id,
    time_t since, time_t before_at, int64_t before_id, int limit,
    store_interaction_cb cb, void *arg)
{
	return STORE_BACKEND(st)->interaction->list(st, owner, contact_id,
	    since, before_at, before_id, limit, cb, arg);
}

enum store_result
store_interaction_dump(struct store *st, const char *owner, int64_t after,
    int limit, store_interaction_cb cb, void *arg)
{
	return STORE_BACKEND(st)->interaction->dump(st, owner, after, limit,
	    cb, arg);
}

/* --- promise --- */

enum store_result
store_promise_add(struct store *st, const struct fu_promise *p)
{
	return STORE_BACKEND(st)->promise->add(st, p);
}

enum store_result
store_promise_list(struct store *st, const char *owner, int64_t contact_id,
    int limit, store_promise_cb cb, void *arg)
{
	return STORE_BACKEND(st)->promise->list(st, owner, contact_id, limit,
	    cb, arg);
}

enum store_result
store_promise_last(struct store *st, int64_t followup_id, time_t *due)
{
	return STORE_BACKEND(st)->promise->last(st, followup_id, due);
}

/* --- report --- */

enum store_result
store_report_stages(struct store *st, const char *owner, store_report_cb cb,
    void *arg)
{
	return STORE_BACKEND(st)->report->stages(st, owner, cb, arg);
}

enum store_result
store_report_followups(struct store *st, const char *owner, time_t from,
    time_t to, store_report_cb cb, void *arg)
{
	return STORE_BACKEND(st)->report->followups(st, owner, from, to, cb,
	    arg);
}

enum store_result
store_report_upcoming(struct store *st, const char *owner, time_t since,
    time_t now, store_report_cb cb, void *arg)
{
	return STORE_BACKEND(st)->report->upcoming(st, owner, since, now, cb,
	    arg);
}

enum store_result
store_report_promises(struct store *st, const char *owner, time_t from,
    time_t to, store_report_cb cb, void *arg)
{
	return STORE_BACKEND(st)->report->promises(st, owner, from, to, cb,
	    arg);
}

enum store_result
store_report_voicemails(struct store *st, const char *owner, time_t since,
    store_report_cb cb, void *arg)
{
	return STORE_BACKEND(st)->report->voicemails(st, owner, since, cb, arg);
}

enum store_result
store_report_stale(struct store *st, const char *owner,
    const struct store_stale *ss, time_t now, int limit, store_report_cb cb,
    void *arg)
{
	return STORE_BACKEND(st)->report->stale(st, owner, ss, now, limit, cb,
	    arg);
}

/* --- user --- */

enum store_result
store_user_get(struct store *st, const char *name, struct fu_user *u)
{
	return STORE_BACKEND(st)->user->get(st, name, u);
}

enum store_result
store_user_list(struct store *st, store_user_cb cb, void *arg)
{
	return STORE_BACKEND(st)->user->list(st, cb, arg);
}

enum store_result
store_user_put(struct store *st, const struct fu_user *u, time_t now)
{
	return STORE_BACKEND(st)->user->put(st, u, now);
}

/* --- followup --- */

enum store_result
store_followup_insert(struct store *st, struct fu_followup *f)
{
	return STORE_BACKEND(st)->followup->insert(st, f);
}

enum store_result
store_followup_get(struct store *st, const char *owner, int64_t id,
    struct fu_followup *f)
{
	return STORE_BACKEND(st)->followup->get(st, owner, id, f);
}

enum store_result
store_followup_set_due(struct store *st, const struct fu_followup *f,
    int snooze, time_t missed, time_t now)
{
	return STORE_BACKEND(st)->followup->set_due(st, f, snooze, missed, now);
}

enum store_result
store_followup_close(struct store *st, const char *owner, int64_t id,
    const char *status, const char *note, time_t now)
{
	return STORE_BACKEND(st)->followup->close(st, owner, id, status, note,
	    now);
}

enum store_result
store_followup_close_at(struct store *st, const char *owner, int64_t id,
    const char *status, const char *note, time_t done_at, time_t now)
{
	return STORE_BACKEND(st)->followup->close_at(st, owner, id, status,
	    note, done_at, now);
}

enum store_result
store_followup_list(struct store *st, const struct store_followup_filter *flt,
    store_followup_cb cb, void *arg)
{
	return STORE_BACKEND(st)->followup->list(st, flt, cb, arg);
}

enum store_result
store_followup_dump(struct store *st, const char *owner, time_t closed_since,
    int64_t after, int limit, store_followup_cb cb, void *arg)
{
	return STORE_BACKEND(st)->followup->dump(st, owner, closed_since,
	    after, limit, cb, arg);
}

enum store_result
store_followup_next_due(struct store *st, const char *owner, time_t *due)
{
	return STORE_BACKEND(st)->followup->next_due(st, owner, due);
}

enum store_result
store_followup_notices(struct store *st, const char *owner, time_t before,
    int limit, store_followup_cb cb, void *arg, int *n)
{
	return STORE_BACKEND(st)->followup->notices(st, owner, before, limit,
	    cb, arg, n);
}

enum store_result
store_followup_count_due(struct store *st, const char *owner, time_t from,
    time_t to, int64_t *count)
{
	return STORE_BACKEND(st)->followup->count_due(st, owner, from, to,
	    count);
}

/* --- outbox --- */

static void	store_outbox_written(struct store *);

enum store_result
store_notice_due(struct store *st, time_t now, int limit,
    struct store_notice_row **rows, size_t *n)
{
	return STORE_BACKEND(st)->outbox->notice_due(st, now, limit, rows, n);
}

/*
 * Set the next notice of each of the n follow-ups to the stage and
 * notice_at its row now holds (notice_at 0: none left), in one step
 * where the backend can.  Needs a write transaction.
 */
enum store_result
store_notice_advance(struct store *st, const struct store_notice_row *rows,
    size_t n)
{
	if (n == 0)
		return STORE_OK;
	return STORE_BACKEND(st)->outbox->notice_advance(st, rows, n);
}

enum store_result
store_outbox_add(struct store *st, struct store_outbox *o,
    const char *const *channels, int n, time_t now, int *created)
{
	enum store_result	r;

	r = STORE_BACKEND(st)->outbox->add(st, o, channels, n, now, created);
	if (r == STORE_OK && *created)
		store_outbox_written(st);
	return r;
}

/*
 * Add the n notices of o, each as store_outbox_add says, with its
 * channels and nchannels; each one's created says whether it was new
 * (and then its id is set).  A server's backend adds them in one
 * statement.  The first failure ends it.
 */
enum store_result
store_outbox_add_many(struct store *st, struct store_outbox *o, size_t n,
    time_t now)
{
	const struct store_outbox_backend *ob = STORE_BACKEND(st)->outbox;
	enum store_result	 r = STORE_OK;
	size_t			 i;
	int			 any = 0;

	if (n == 0)
		return STORE_OK;
	for (i = 0; i < n; i++)
		o[i].created = 0;
	if (ob->add_many != NULL)
		r = ob->add_many(st, o, n, now);
	else {
		for (i = 0; i < n && r == STORE_OK; i++)
			r = ob->add(st, &o[i], o[i].channels, o[i].nchannels,
			    now, &o[i].created);
	}
	for (i = 0; i < n && r == STORE_OK; i++)
		any |= o[i].created;
	if (any)
		store_outbox_written(st);
	return r;
}

enum store_result
store_outbox_held(struct store *st, const char *owner, const char *kind,
    int64_t fid, time_t now, int64_t *id, time_t *fire, char **payload)
{
	return STORE_BACKEND(st)->outbox->held(st, owner, kind, fid, now, id,
	    fire, payload);
}

enum store_result
store_outbox_set_payload(struct store *st, int64_t id, const char *payload)
{
	return STORE_BACKEND(st)->outbox->set_payload(st, id, payload);
}

enum store_result
store_outbox_fold(struct store *st, int64_t id, int64_t summary)
{
	return STORE_BACKEND(st)->outbox->fold(st, id, summary);
}

enum store_result
store_delivery_due(struct store *st, time_t now, int limit,
    store_delivery_cb cb, void *arg)
{
	return STORE_BACKEND(st)->outbox->delivery_due(st, now, limit, cb, arg);
}

enum store_result
store_delivery_set(struct store *st, int64_t outbox_id, const char *channel,
    const char *status, int attempts, time_t next_at, const char *error,
    time_t now)
{
	return STORE_BACKEND(st)->outbox->delivery_set(st, outbox_id, channel,
	    status, attempts, next_at, error, now);
}

/*
 * A delivery starts (its channel runs it, for at most until - now): no
 * one runs it again before until, unless it ends first (store_delivery_set
 * then says how).  Should this daemon die, it is retried from until.  On
 * a shared database, this node keeps it while it lives, whatever the
 * other nodes' clocks say.
 */
enum store_result
store_delivery_start(struct store *st, int64_t outbox_id, const char *channel,
    int attempts, time_t until, time_t now)
{
	const struct store_outbox_backend *ob = STORE_BACKEND(st)->outbox;

	if (ob->delivery_start == NULL)
		return ob->delivery_set(st, outbox_id, channel, "pending",
		    attempts, until, NULL, now);
	return ob->delivery_start(st, outbox_id, channel, attempts, until, now);
}

/*
 * The n deliveries of v take their new states, each as
 * store_delivery_start or store_delivery_set says (each delivery at most
 * once in v).  A server's backend writes them in one statement; the
 * first failure ends it.
 */
enum store_result
store_delivery_write(struct store *st, const struct store_delivery_state *v,
    size_t n)
{
	const struct store_outbox_backend *ob = STORE_BACKEND(st)->outbox;
	enum store_result	 r = STORE_OK;
	size_t			 i;

	if (n == 0)
		return STORE_OK;
	if (ob->delivery_write != NULL)
		return ob->delivery_write(st, v, n);
	for (i = 0; i < n && r == STORE_OK; i++) {
		if (v[i].start)
			r = store_delivery_start(st, v[i].outbox_id,
			    v[i].channel, v[i].attempts, v[i].next_at,
			    v[i].now);
		else
			r = store_delivery_set(st, v[i].outbox_id,
			    v[i].channel, v[i].status, v[i].attempts,
			    v[i].next_at, v[i].error, v[i].now);
	}
	return r;
}

enum store_result
store_schedule_next(struct store *st, time_t *notice, time_t *delivery,
    time_t *digest, int64_t *unplanned)
{
	return STORE_BACKEND(st)->outbox->schedule_next(st, notice, delivery,
	    digest, unplanned);
}

enum store_result
store_schedule_next_of(struct store *st, const char *owner, time_t *next)
{
	return STORE_BACKEND(st)->outbox->schedule_next_of(st, owner, next);
}

enum store_result
store_digest_due(struct store *st, time_t now, store_digest_cb cb, void *arg)
{
	return STORE_BACKEND(st)->outbox->digest_due(st, now, cb, arg);
}

enum store_result
store_digest_set(struct store *st, const char *name, time_t at)
{
	return STORE_BACKEND(st)->outbox->digest_set(st, name, at);
}

enum store_result
store_outbox_stats(struct store *st, const char *owner,
    struct store_outbox_stats *os)
{
	return STORE_BACKEND(st)->outbox->stats(st, owner, os);
}

enum store_result
store_outbox_health(struct store *st, const char *owner,
    struct store_outbox_health *oh)
{
	return STORE_BACKEND(st)->outbox->health(st, owner, oh);
}

enum store_result
store_outbox_last(struct store *st, const char *owner,
    struct store_outbox_last *ol)
{
	return STORE_BACKEND(st)->outbox->last(st, owner, ol);
}

enum store_result
store_outbox_reps(struct store *st, store_outbox_rep_cb cb, void *arg)
{
	return STORE_BACKEND(st)->outbox->reps(st, cb, arg);
}

enum store_result
store_outbox_requests(struct store *st, const char *owner, int64_t id,
    store_outbox_request_cb cb, void *arg)
{
	return STORE_BACKEND(st)->outbox->requests(st, owner, id, cb, arg);
}

enum store_result
store_outbox_rearm(struct store *st, const struct store_outbox *o,
    time_t now, int *rearmed)
{
	enum store_result	r;

	r = STORE_BACKEND(st)->outbox->rearm(st, o, now, rearmed);
	if (r == STORE_OK && *rearmed)
		store_outbox_written(st);
	return r;
}

/*
 * Something to deliver was written: remember the commit that will hold
 * it (the open group's, else the last), so that nothing is delivered
 * before that commit is durable, whichever request or pass wrote it.
 */
static void
store_outbox_written(struct store *st)
{
	((struct store_base *)(void *)st)->outbox_commit =
	    store_commits(st) + (store_in_txn(st) ? 1 : 0);
}

/*
 * The commit that holds the last notice or delivery written (0: none):
 * the outbox delivers once store_durable reaches it.
 */
uint64_t
store_outbox_commit(struct store *st)
{
	return ((struct store_base *)(void *)st)->outbox_commit;
}

/* --- looking after the database: backups and checks --- */

/* A backend with no maintenance table can neither copy nor check. */
static const struct store_maint_backend	store_maint_none;

static const struct store_maint_backend *
store_maint(const struct store_backend *b)
{
	return b->maint != NULL ? b->maint : &store_maint_none;
}

/*
 * Would a backup to path replace one of the live database's own files?
 * Return 1 with *cause set (caller frees), else 0.  A database that
 * cannot be copied has no such file: store_backup_begin refuses it.
 */
int
store_backup_target_live(struct store *st, const char *path, char **cause)
{
	const struct store_maint_backend	*m;

	m = store_maint(STORE_BACKEND(st));
	if (m->backup_begin == NULL || m->backup_target_live == NULL)
		return 0;
	return m->backup_target_live(st, path, cause);
}

/*
 * Start a copy of the whole database, made a step at a time with
 * store_backup_step.  Return it, or NULL with *cause set (caller frees):
 * among the causes, a backend that cannot copy its database (a server's,
 * backed up with its own tools) says so, and nothing is called through.
 */
struct store_backup *
store_backup_begin(struct store *st, char **cause)
{
	const struct store_maint_backend	*m;

	*cause = NULL;
	m = store_maint(STORE_BACKEND(st));
	if (m->backup_begin == NULL) {
		*cause = xstrdup(m->backup_refusal != NULL ?
		    m->backup_refusal : "this database cannot be backed up "
		    "by followupd; use the database's own tools");
		return NULL;
	}
	return m->backup_begin(st, cause);
}

/* Copy the next pieces of sb; see struct store_maint_backend. */
int
store_backup_step(struct store_backup *sb, int *fd, int64_t *bytes,
    char **cause)
{
	return STORE_BACKEND(sb)->maint->backup_step(sb, fd, bytes, cause);
}

/* Drop a copy that will not be finished (NULL: none). */
void
store_backup_abort(struct store_backup *sb)
{
	if (sb != NULL)
		STORE_BACKEND(sb)->maint->backup_abort(sb);
}

/*
 * Remove the copies a daemon killed while making them left behind.  Call
 * once, when this daemon alone serves the database.
 */
void
store_backup_clean(struct store *st)
{
	const struct store_maint_backend	*m;

	m = store_maint(STORE_BACKEND(st));
	if (m->backup_begin != NULL && m->backup_clean != NULL)
		m->backup_clean(st);
}

/*
 * What the database's check is ("SQLite's quick check"), or NULL if the
 * daemon cannot check this database (store_check_file_new gives none).
 */
const char *
store_check_name(struct store *st)
{
	const struct store_maint_backend	*m;

	m = store_maint(STORE_BACKEND(st));
	if (m->check_new == NULL)
		return NULL;
	return m->check_name != NULL ? m->check_name : "the database's check";
}

/*
 * A check of st's database, to run on a thread beside the loop with
 * store_check_file_run; or NULL if the daemon cannot check this database
 * (store_check_name is NULL too): then there is nothing to run, and the
 * other store_check_file_* functions take the NULL and do nothing.
 */
struct store_check_file *
store_check_file_new(struct store *st)
{
	const struct store_maint_backend	*m;

	m = store_maint(STORE_BACKEND(st));
	if (m->check_new == NULL)
		return NULL;
	return m->check_new(st);
}

/* On the worker's thread: run the check.  Touches nothing of the loop's. */
void
store_check_file_run(struct store_check_file *cf)
{
	if (cf != NULL)
		STORE_BACKEND(cf)->maint->check_run(cf);
}

/* Stop a running check soon, from any thread. */
void
store_check_file_stop(struct store_check_file *cf)
{
	if (cf != NULL)
		STORE_BACKEND(cf)->maint->check_stop(cf);
}

/*
 * The result of a check that ran: 1 if the database passed, else 0 with
 * *detail saying why (owned by cf); *bytes is the database's size.
 */
int
store_check_file_result(struct store_check_file *cf, const char **detail,
    int64_t *bytes)
{
	if (cf == NULL) {
		*detail = "the daemon cannot check this database";
		*bytes = 0;
		return 0;
	}
	return STORE_BACKEND(cf)->maint->check_result(cf, detail, bytes);
}

void
store_check_file_free(struct store_check_file *cf)
{
	if (cf != NULL)
		STORE_BACKEND(cf)->maint->check_free(cf);
}
