/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The store: opening the SQLite database, its pragmas, the schema and its
 * migrations, the prepared statements and the group commit.  With the
 * store-*.c files, the only place with SQL.
 *
 * Group commit: the first write of a loop pass opens one transaction
 * (BEGIN IMMEDIATE), to be committed after the pass; each write op runs in a
 * savepoint of it, so one failing op undoes only itself.  The commit runs
 * once the loop has handled every request that arrived together, then the
 * commit callback releases the replies, which therefore never say ok before
 * the change is on disk (WAL, synchronous=FULL).
 *
 * A driver that syncs (the daemon's) takes the wait for the disk off the
 * loop: the commit then writes the group's frames to the log without
 * waiting (synchronous=NORMAL), and the driver runs store_sync_run, an
 * fdatasync of the log, on a thread while the loop reads and runs the
 * next group (kept open until that sync ends, so that one commit writes
 * the pages the writes of several passes share).  The replies of a group
 * wait for the sync that covers its commit frame (store_commits,
 * store_durable), and a reply that read the database waits for the sync
 * of every commit made before it, so no one
 * is ever told of a change a power cut could take back.  A checkpoint,
 * in NORMAL as in FULL, syncs the log before copying it into the
 * database and the database before the log is reused; such a driver
 * runs it beside the loop too (store_ckpt_run, through a connection of
 * its own), asked for by the commit that takes the log past its mark.
 *
 * Reads share a transaction the same way: the first read op of a pass
 * opens one (BEGIN, deferred), so SQLite takes and drops its locks (fcntl
 * calls on the database and its shared memory) once rather than around
 * every statement.  It ends with the pass, or, with a driver that offers
 * it (the daemon's), a little later, so that the passes of reps reading
 * one request at a time share it too.  A write ends it first: the group
 * transaction then serves the reads that follow.  Only this connection
 * writes the database, so a read spanning passes sees every change.
 *
 * The store knows no event loop: it asks its driver (commit.c in the
 * daemon) to end the pass's transaction once the pass is over and to call
 * store_idle once writes rest.  Without a driver (unit tests) the caller
 * commits, and reads run each in its own transaction.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-internal.h"

/* How long a request waits for another process's lock. */
#define STORE_BUSY_MS		2000
/* How long start-up waits for one before giving up. */
#define STORE_START_WAIT_MS	5000
/* Databases up to this size are checked whole at start (~0.1 s). */
#define STORE_START_CHECK_MAX	(64 * 1024 * 1024)
/*
 * The write-ahead log: checkpointed once it holds this many pages (1 MiB;
 * the default 4 MiB is more than a small file system has, and each commit
 * appends its index and count pages again, so the log grows several times
 * faster than the data), by SQLite in the commit or, with a driver that
 * checkpoints, beside the loop; cut back to this size after each
 * checkpoint, and truncated to nothing once writes have rested this long,
 * or at once when a commit meets a full disk.
 */
#define STORE_WAL_AUTOCHECKPOINT	256
/*
 * When the driver checkpoints beside the loop: from this many pages on,
 * and the loop folds in what is left itself at STORE_WAL_AUTOCHECKPOINT
 * (see store_ckpt_maybe).
 */
#define STORE_WAL_THREAD_CKPT		(STORE_WAL_AUTOCHECKPOINT * 3 / 4)
#define STORE_WAL_LIMIT		1048576
#define STORE_WAL_LIMIT_TEXT	"1048576"
#define STORE_IDLE_MS		1000
/* A checkpoint that failed is tried again after 2 s, doubling to 60 s. */
#define STORE_CKPT_RETRY_MIN	2
#define STORE_CKPT_RETRY_MAX	60

/*
 * The schema, one step per version.  Never edit a step once released: add
 * a new one.  Each runs in its own transaction with PRAGMA user_version.
 */
static const char *const store_migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE users ("
	"  name TEXT PRIMARY KEY,"
	"  uid INTEGER,"
	"  email TEXT, tz TEXT, digest TEXT, hours TEXT, workdays TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE TABLE contacts ("
	"  id INTEGER PRIMARY KEY,"
	"  owner TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  company TEXT, phone TEXT, email TEXT, tz TEXT,"
	"  stage TEXT NOT NULL,"
	"  notes TEXT,"
	"  archived_at INTEGER,"
	"  last_activity_at INTEGER,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX contacts_owner ON contacts (owner, id);"
	"CREATE TABLE interactions ("
	"  id INTEGER PRIMARY KEY,"
	"  contact_id INTEGER NOT NULL REFERENCES contacts (id),"
	"  owner TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  outcome TEXT,"
	"  note TEXT,"
	"  at INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE INDEX interactions_contact ON interactions (contact_id, at);"
	"CREATE TABLE followups ("
	"  id INTEGER PRIMARY KEY,"
	"  contact_id INTEGER NOT NULL REFERENCES contacts (id),"
	"  owner TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  due_at INTEGER NOT NULL,"
	"  reason TEXT,"
	"  remind_before INTEGER,"
	"  remind_at INTEGER NOT NULL,"
	"  snoozes INTEGER NOT NULL DEFAULT 0,"
	"  note TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  done_at INTEGER"
	");"
	"CREATE INDEX followups_pending_due ON followups (due_at)"
	"  WHERE status = 'pending';"
	"CREATE INDEX followups_pending_remind ON followups (remind_at)"
	"  WHERE status = 'pending';"
	"CREATE INDEX followups_owner ON followups (owner, status, due_at);"
	"CREATE INDEX followups_contact ON followups (contact_id, status, due_at);",

	/*
	 * 2: reminders.  Each pending follow-up knows its next notice; the
	 * outbox records every notice that came due (the ledger, one row per
	 * follow-up, kind and due time) and its delivery to each channel.
	 */
	"ALTER TABLE followups ADD COLUMN notice_stage INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE followups ADD COLUMN notice_at INTEGER;"
	"UPDATE followups SET notice_stage = 2, notice_at = due_at"
	"  WHERE status = 'pending'"
	"  AND due_at > CAST(strftime('%s', 'now') AS INTEGER);"
	"CREATE INDEX followups_notice ON followups (notice_at)"
	"  WHERE notice_at IS NOT NULL;"
	"ALTER TABLE users ADD COLUMN digest_at INTEGER;"
	"ALTER TABLE users ADD COLUMN lead TEXT;"
	"INSERT OR IGNORE INTO users (name, created_at, updated_at)"
	"  SELECT owner, min(created_at), min(created_at) FROM contacts"
	"  GROUP BY owner;"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  owner TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  followup_id INTEGER REFERENCES followups (id),"
	"  due_at INTEGER NOT NULL,"
	"  fire_at INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  late INTEGER NOT NULL DEFAULT 0,"
	"  folded_into INTEGER REFERENCES outbox (id),"
	"  payload TEXT NOT NULL"
	");"
	"CREATE UNIQUE INDEX outbox_ledger ON outbox"
	"  (owner, kind, coalesce(followup_id, 0), due_at);"
	"CREATE TABLE deliveries ("
	"  outbox_id INTEGER NOT NULL REFERENCES outbox (id),"
	"  channel TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  sent_at INTEGER,"
	"  PRIMARY KEY (outbox_id, channel)"
	");"
	"CREATE INDEX deliveries_due ON deliveries (next_at)"
	"  WHERE status = 'pending';"
	"CREATE INDEX interactions_owner ON interactions (owner);"
	"CREATE INDEX deliveries_failed ON deliveries (outbox_id)"
	"  WHERE status = 'failed';",

	/*
	 * 3: each rep's counts, kept by triggers, so status need not count
	 * a year of rows on every call.  (Overdue depends on the time; it is
	 * counted from the index, past due rows only.)
	 */
	"CREATE TABLE owner_counts ("
	"  owner TEXT PRIMARY KEY,"
	"  contacts INTEGER NOT NULL DEFAULT 0,"
	"  interactions INTEGER NOT NULL DEFAULT 0,"
	"  pending INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"INSERT INTO owner_counts (owner)"
	"  SELECT owner FROM contacts UNION SELECT owner FROM interactions"
	"  UNION SELECT owner FROM followups;"
	"UPDATE owner_counts SET"
	"  contacts = (SELECT count(*) FROM contacts c"
	"    WHERE c.owner = owner_counts.owner AND c.archived_at IS NULL),"
	"  interactions = (SELECT count(*) FROM interactions i"
	"    WHERE i.owner = owner_counts.owner),"
	"  pending = (SELECT count(*) FROM followups f"
	"    WHERE f.owner = owner_counts.owner AND f.status = 'pending');"
	"CREATE TRIGGER contacts_count_insert AFTER INSERT ON contacts BEGIN"
	"  INSERT INTO owner_counts (owner) VALUES (NEW.owner)"
	"    ON CONFLICT DO NOTHING;"
	"  UPDATE owner_counts SET contacts = contacts +"
	"    (NEW.archived_at IS NULL) WHERE owner = NEW.owner;"
	"END;"
	"CREATE TRIGGER contacts_count_update AFTER UPDATE OF owner,"
	"  archived_at ON contacts BEGIN"
	"  UPDATE owner_counts SET contacts = contacts -"
	"    (OLD.archived_at IS NULL) WHERE owner = OLD.owner;"
	"  INSERT INTO owner_counts (owner) VALUES (NEW.owner)"
	"    ON CONFLICT DO NOTHING;"
	"  UPDATE owner_counts SET contacts = contacts +"
	"    (NEW.archived_at IS NULL) WHERE owner = NEW.owner;"
	"END;"
	"CREATE TRIGGER contacts_count_delete AFTER DELETE ON contacts BEGIN"
	"  UPDATE owner_counts SET contacts = contacts -"
	"    (OLD.archived_at IS NULL) WHERE owner = OLD.owner;"
	"END;"
	"CREATE TRIGGER interactions_count_insert AFTER INSERT ON interactions"
	"  BEGIN"
	"  INSERT INTO owner_counts (owner) VALUES (NEW.owner)"
	"    ON CONFLICT DO NOTHING;"
	"  UPDATE owner_counts SET interactions = interactions + 1"
	"    WHERE owner = NEW.owner;"
	"END;"
	"CREATE TRIGGER interactions_count_update AFTER UPDATE OF owner"
	"  ON interactions BEGIN"
	"  UPDATE owner_counts SET interactions = interactions - 1"
	"    WHERE owner = OLD.owner;"
	"  INSERT INTO owner_counts (owner) VALUES (NEW.owner)"
	"    ON CONFLICT DO NOTHING;"
	"  UPDATE owner_counts SET interactions = interactions + 1"
	"    WHERE owner = NEW.owner;"
	"END;"
	"CREATE TRIGGER interactions_count_delete AFTER DELETE ON interactions"
	"  BEGIN"
	"  UPDATE owner_counts SET interactions = interactions - 1"
	"    WHERE owner = OLD.owner;"
	"END;"
	"CREATE TRIGGER followups_count_insert AFTER INSERT ON followups BEGIN"
	"  INSERT INTO owner_counts (owner) VALUES (NEW.owner)"
	"    ON CONFLICT DO NOTHING;"
	"  UPDATE owner_counts SET pending = pending +"
	"    (NEW.status = 'pending') WHERE owner = NEW.owner;"
	"END;"
	"CREATE TRIGGER followups_count_update AFTER UPDATE OF owner, status"
	"  ON followups BEGIN"
	"  UPDATE owner_counts SET pending = pending -"
	"    (OLD.status = 'pending') WHERE owner = OLD.owner;"
	"  INSERT INTO owner_counts (owner) VALUES (NEW.owner)"
	"    ON CONFLICT DO NOTHING;"
	"  UPDATE owner_counts SET pending = pending +"
	"    (NEW.status = 'pending') WHERE owner = NEW.owner;"
	"END;"
	"CREATE TRIGGER followups_count_delete AFTER DELETE ON followups BEGIN"
	"  UPDATE owner_counts SET pending = pending -"
	"    (OLD.status = 'pending') WHERE owner = OLD.owner;"
	"END;",

	/*
	 * 4: a callback's promise history: when it was agreed, and each time
	 * it was re-agreed (and whether it had been missed by then).  The
	 * callbacks already stored were agreed when they were made.
	 */
	"CREATE TABLE promises ("
	"  id INTEGER PRIMARY KEY,"
	"  followup_id INTEGER NOT NULL REFERENCES followups (id),"
	"  at INTEGER NOT NULL,"
	"  what TEXT NOT NULL,"
	"  due_at INTEGER NOT NULL,"
	"  previous_due_at INTEGER,"
	"  was_missed INTEGER NOT NULL DEFAULT 0,"
	"  note TEXT"
	");"
	"CREATE INDEX promises_followup ON promises (followup_id, id);"
	"INSERT INTO promises (followup_id, at, what, due_at)"
	"  SELECT id, created_at, 'agreed', due_at FROM followups"
	"  WHERE kind = 'callback';",

	/*
	 * 5: a rep's live contacts by last news, oldest first, so the
	 * agenda's stale contacts are read from the start of one index and
	 * stop at the limit, instead of sorting all of a rep's contacts on
	 * every call.  The expression is the one store-contact.c's stale
	 * query orders by.
	 */
	"CREATE INDEX contacts_stale ON contacts"
	"  (owner, coalesce(last_activity_at, created_at))"
	"  WHERE archived_at IS NULL;",

	/*
	 * 6: export and import.  A follow-up's revision counts the moves of
	 * its due time, so a calendar that imported an older export knows
	 * the newer one wins (SEQUENCE); import finds a rep's contact by
	 * email, in any case, through an index.
	 */
	"ALTER TABLE followups ADD COLUMN revision INTEGER NOT NULL"
	"  DEFAULT 0;"
	"CREATE INDEX contacts_email ON contacts (owner, email COLLATE NOCASE)"
	"  WHERE email IS NOT NULL;",

	/*
	 * 7: honest figures and a calendar identity.  A follow-up moved
	 * after its due day had ended keeps the due time it missed, so the
	 * report still counts it against that day, and the report judges
	 * each promise by the time it was agreed for, reading each rep's
	 * range of the indexes rather than every row; the database gets a
	 * random identity of its own, which calendar UIDs carry, so two
	 * servers' (or a rebuilt database's) exports never collide.
	 */
	"ALTER TABLE followups ADD COLUMN missed_due_at INTEGER;"
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	");"
	"INSERT INTO meta (key, value)"
	"  VALUES ('database_id', lower(hex(randomblob(16))));"
	"CREATE INDEX promises_due ON promises (due_at);"
	"CREATE INDEX followups_missed ON followups (missed_due_at)"
	"  WHERE missed_due_at IS NOT NULL;"
	"CREATE INDEX interactions_voicemails ON interactions (owner, at)"
	"  WHERE outcome = 'voicemail';",

	/*
	 * 8: each rep sees only their own deliveries' trouble.  A delivery
	 * keeps its last error and when it happened (a retry that is under
	 * way, or succeeds, does not erase it), so a rep's last error is read
	 * from their own rows; the indexes find the latest error and the
	 * latest delivery without reading every delivery ever made.
	 */
	"ALTER TABLE deliveries ADD COLUMN error_at INTEGER;"
	"CREATE INDEX deliveries_error ON deliveries (error_at)"
	"  WHERE error_at IS NOT NULL;"
	"CREATE INDEX deliveries_sent ON deliveries (sent_at)"
	"  WHERE sent_at IS NOT NULL;",

	/*
	 * 9: an email matches in any case of any letter.  NOCASE folds
	 * ASCII only, so an address with an umlaut was another address in
	 * capitals, and an upper-cased file re-imported added every contact
	 * with a letter beyond ASCII again.  Each contact keeps its address
	 * folded by fold.c (fu_email_key, registered on the connection), and
	 * the index finds it; the NOCASE index goes.
	 */
	"ALTER TABLE contacts ADD COLUMN email_key TEXT;"
	"UPDATE contacts SET email_key = fu_email_key(email)"
	"  WHERE email IS NOT NULL;"
	"DROP INDEX contacts_email;"
	"CREATE INDEX contacts_email_key ON contacts (owner, email_key)"
	"  WHERE email_key IS NOT NULL;",

	/*
	 * 10: a follow-up knows whether the daemon proposed it (the next
	 * attempt after a voicemail, the talk after information sent) or the
	 * rep planned it, so a later attempt answers the proposed one instead
	 * of piling a second one beside it.  Follow-ups already stored count
	 * as planned by hand: nothing the rep may have meant is closed.
	 */
	"ALTER TABLE followups ADD COLUMN automatic INTEGER NOT NULL"
	"  DEFAULT 0;",

	/*
	 * 11: a rep's full name and phone, which a confirmation to a
	 * contact signs with: the login name is no name to sign a letter.
	 */
	"ALTER TABLE users ADD COLUMN display_name TEXT;"
	"ALTER TABLE users ADD COLUMN phone TEXT;",

	/*
	 * 12: whether a rep's follow-ups go to the rep's own calendar as
	 * invitations ("invite"; NULL: off).
	 */
	"ALTER TABLE users ADD COLUMN calendar TEXT;",

	/*
	 * 13: a contact's follow-ups and callbacks come out of an index in
	 * the order contact.get shows them.  It is the read reps make most,
	 * and it sorted each list in a temporary b-tree every time: pending
	 * ones by due time with callbacks first at the same time, closed
	 * ones newest first, callbacks newest first.
	 */
	"DROP INDEX followups_contact;"
	"CREATE INDEX followups_contact ON followups"
	"  (contact_id, status, due_at, kind <> 'callback');"
	"CREATE INDEX followups_contact_closed ON followups"
	"  (contact_id, done_at) WHERE status IN ('done', 'cancelled');"
	"CREATE INDEX followups_contact_kind ON followups"
	"  (contact_id, kind, created_at);",

	/*
	 * 14: an automatic follow-up knows when the interaction that
	 * proposed it happened, which is not when it was stored when the rep
	 * logs a past call: a later attempt answers it by that time.  NULL
	 * for one planned by hand, and for one proposed before this step
	 * (its created_at then stands in).
	 */
	"ALTER TABLE followups ADD COLUMN proposed_at INTEGER;",
};
#define STORE_SCHEMA_VERSION \
	((int)(sizeof store_migrations / sizeof store_migrations[0]))

static const struct store_sql *const store_sql_tables[] = {
	store_contact_sql,
	store_interaction_sql,
	store_followup_sql,
	store_user_sql,
	store_outbox_sql,
	store_promise_sql,
	store_report_sql,
};

static void	store_read_end(struct store *);
static void	store_sync_now(struct store *);
static int	store_wal_cb(void *, sqlite3 *, const char *, int);
static void	store_ckpt_maybe(struct store *);
static void	store_sqlite_close(struct store *);
static int	store_sqlite_commit(struct store *);
static enum store_result store_sqlite_checkpoint(struct store *);

/* Map an SQLite result code to a store result. */
static enum store_result
store_result_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return STORE_OK;
	case SQLITE_FULL:
		return STORE_FULL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	case SQLITE_CONSTRAINT:
		return STORE_CONFLICT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return STORE_CORRUPT;
	default:
		return STORE_ERROR;
	}
}

/* Run SQL that returns no rows; log and return the SQLite code. */
static int
store_exec(struct store *st, const char *sql)
{
	char	*msg = NULL;
	int	 rc;

	rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		/* A migration is long: name it, not the whole text. */
		log_warnx_limited(sqlite3_errstr(rc), NULL, "store: %s: %s",
		    strlen(sql) > 64 ? "schema" : sql,
		    msg != NULL ? msg : sqlite3_errstr(rc));
		st->last = store_result_of(rc);
	}
	sqlite3_free(msg);
	return rc;
}

/* Run a prepared statement that returns no rows. */
static int
store_run(struct store *st, enum store_stmt slot)
{
	sqlite3_stmt	*s = st->stmt[slot];
	int		 rc;

	rc = store_step(st, s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Read one integer from a PRAGMA or query; -1 on error. */
int64_t
store_query_int(struct store *st, const char *sql)
{
	sqlite3_stmt	*s;
	long long	 v = -1;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Make the database's directory (and parents) if missing, mode 0700. */
static int
store_mkdirs(const char *path, char **cause)
{
	char		*copy, *dir, *p;
	struct stat	 sb;

	/* dirname() may return a static "." for a bare file name: copy it,
	 * since the loop writes into it. */
	copy = xstrdup(path);
	dir = xstrdup(dirname(copy));
	free(copy);
	copy = dir;
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char save = *p;
		*p = '\0';
		if (stat(dir, &sb) != 0) {
			if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
				xasprintf(cause, "cannot create %s: %s", dir,
				    strerror(errno));
				free(copy);
				return -1;
			}
		} else if (!S_ISDIR(sb.st_mode)) {
			xasprintf(cause, "%s is not a directory", dir);
			free(copy);
			return -1;
		}
		*p = save;
		if (save == '\0')
			break;
	}
	free(copy);
	return 0;
}

/* Read the database's identity (made by schema version 7). */
static int
store_read_id(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM meta "
	    "WHERE key = 'database_id'", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		st->database_id = store_col_text(s, 0);
	sqlite3_finalize(s);
	if (st->database_id == NULL) {
		xasprintf(cause, "cannot read the identity of %s: %s",
		    st->path, rc == SQLITE_DONE ? "it has none" :
		    sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/* fu_email_key(TEXT): an email's key, folded by fold.c; NULL stays NULL. */
static void
store_email_key_cb(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char	*email;
	char			*key;

	(void)argc;
	if ((email = sqlite3_value_text(argv[0])) == NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	key = fold_text((const char *)email);
	sqlite3_result_text(ctx, key, -1, free);
}

/* Bring the schema up to date, one transaction per step. */
static int
store_migrate(struct store *st, char **cause)
{
	long long	 version;
	char		 sql[64];
	int		 v;

	version = store_query_int(st, "PRAGMA user_version");
	if (version < 0) {
		xasprintf(cause, "cannot read %s: %s", st->path,
		    sqlite3_errmsg(st->db));
		return -1;
	}
	if (version > STORE_SCHEMA_VERSION) {
		xasprintf(cause, "%s has schema version %lld, newer than this "
		    "followupd knows (%d); run a newer followupd", st->path,
		    version, STORE_SCHEMA_VERSION);
		return -1;
	}
	for (v = (int)version; v < STORE_SCHEMA_VERSION; v++) {
		if (store_exec(st, "BEGIN IMMEDIATE") != SQLITE_OK)
			goto fail;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (store_exec(st, store_migrations[v]) != SQLITE_OK ||
		    store_exec(st, sql) != SQLITE_OK ||
		    store_exec(st, "COMMIT") != SQLITE_OK) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
		log_info("store: %s migrated to schema version %d", st->path,
		    v + 1);
	}
	return 0;
fail:
	xasprintf(cause, "cannot migrate %s to schema version %d: %s",
	    st->path, v + 1, sqlite3_errmsg(st->db));
	return -1;
}

/*
 * Why path or its directory (where the WAL and its index live) cannot be
 * written, or NULL if both can.
 */
static const char *
store_unwritable(const char *path)
{
	struct stat	 sb;
	char		*copy;
	int		 rc;

	if (access(path, W_OK) != 0 && errno != ENOENT)
		return strerror(errno);
	/*
	 * root passes access() whatever the mode: a file made read-only on
	 * purpose (chmod a-w) is still one followupd must not write.
	 */
	if (stat(path, &sb) == 0 && (sb.st_mode & 0222) == 0)
		return "its mode allows no one to write it";
	copy = xstrdup(path);
	rc = access(dirname(copy), W_OK);
	free(copy);
	return rc != 0 ? strerror(errno) : NULL;
}

/*
 * Is the open failing because another process holds a lock?  If so, set
 * *cause (caller frees) and return 1.
 */
static int
store_locked(struct store *st, char **cause)
{
	int	rc = sqlite3_errcode(st->db);

	if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
		return 0;
	xasprintf(cause, "%s is locked by another process (waited %d s); "
	    "end the program holding it (an sqlite3 shell, a script) and "
	    "start followupd again", st->path, STORE_START_WAIT_MS / 1000);
	return 1;
}

/*
 * Make sure followupd can write the database now: take the write lock
 * once and let it go.  A daemon that started but could not write would
 * refuse every change while looking healthy, so a lock held by another
 * process fails the start instead, once it has lasted STORE_START_WAIT_MS.
 */
static int
store_try_write(struct store *st, char **cause)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
	    SQLITE_OK)
		return sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL) ==
		    SQLITE_OK ? 0 : -1;
	if (!store_locked(st, cause))
		xasprintf(cause, "cannot write %s: %s", st->path,
		    sqlite3_errmsg(st->db));
	return -1;
}

/*
 * Check a database small enough to check at once (a quick_check reads
 * every page: about 2 ms a MiB from the page cache), so a damaged one is
 * refused before anything is written to it.  A larger one is checked by
 * followup doctor; reads that meet damage say so.
 */
static int
store_check_at_start(struct store *st, char **cause)
{
	const char	*prefix = "*** in database main ***\n";
	int64_t		 bytes;
	char		*detail, *what, *p;
	int		 ok;

	if (store_query_int(st, "PRAGMA page_count") *
	    store_query_int(st, "PRAGMA page_size") > STORE_START_CHECK_MAX)
		return 0;
	store_sqlite_check(st, &ok, &detail, &bytes);
	if (!ok) {
		/* One line: SQLite's report spans several. */
		what = detail;
		if (strncmp(what, prefix, strlen(prefix)) == 0)
			what += strlen(prefix);
		for (p = what; *p != '\0'; p++) {
			if (*p == '\n')
				*p = ' ';
		}
		xasprintf(cause, "%s is damaged (%s); keep the file for "
		    "inspection and restore the last backup (see followupd(8), "
		    "BACKUP AND RESTORE)", st->path, what);
	}
	free(detail);
	return ok ? 0 : -1;
}

/* Prepare every statement.  Return 0, or -1 with *cause set. */
static int
store_prepare(struct store *st, char **cause)
{
	const struct store_sql	*q;
	size_t			 i, j;
	int			 rc;

	for (i = 0; i < sizeof store_sql_tables / sizeof store_sql_tables[0];
	    i++) {
		for (j = 0; store_sql_tables[i][j].sql != NULL; j++) {
			q = &store_sql_tables[i][j];
			rc = sqlite3_prepare_v3(st->db, q->sql, -1,
			    SQLITE_PREPARE_PERSISTENT, &st->stmt[q->slot],
			    NULL);
			if (rc != SQLITE_OK) {
				xasprintf(cause, "cannot prepare a statement "
				    "on %s: %s (%s)", st->path,
				    sqlite3_errmsg(st->db), q->sql);
				return -1;
			}
		}
	}
	for (i = 0; i < STMT_COUNT; i++) {
		if (st->stmt[i] == NULL)
			fatalx("store: statement %zu has no SQL", i);
	}
	return 0;
}

/*
 * Open (creating if needed) the database at path, set it up for durable
 * WAL use, migrate its schema and prepare every statement.
 *
 * Return the store, or NULL with *cause set (caller frees) if the file
 * cannot be opened, is not a followup database, or is from a newer schema.
 * The caller frees the store with store_close.
 */
static struct store *
store_sqlite_open(const char *path, char **cause)
{
	struct store	*st;
	sqlite3_stmt	*s;
	const char	*mode, *why;
	int		 rc;

	/*
	 * SQLite counts every allocation under one global mutex by default,
	 * for statistics followupd never reads: a lock and an unlock around
	 * each of the dozens of allocations a write makes.  Settable only
	 * before SQLite starts; a later call changes nothing.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	(void)store_sqlite_mem_setup();
	st = xcalloc(1, sizeof *st);
	st->base.backend = &store_sqlite;
	st->path = xstrdup(path);
	st->wal_fd = -1;
	if (store_mkdirs(path, cause) != 0)
		goto fail;
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		xasprintf(cause, "cannot open %s: %s", path,
		    st->db != NULL ? sqlite3_errmsg(st->db) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* At start, wait longer for a lock: a backup or a script may be
	 * finishing.  Then requests wait STORE_BUSY_MS at most. */
	sqlite3_busy_timeout(st->db, STORE_START_WAIT_MS);
	if ((why = store_unwritable(path)) != NULL ||
	    sqlite3_db_readonly(st->db, "main") == 1) {
		xasprintf(cause, "%s cannot be written (%s): followupd needs "
		    "to write the database and its directory", path,
		    why != NULL ? why : "read-only");
		goto fail;
	}

	/* Reading the mode also proves the file is a database. */
	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
	    NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		if (!store_locked(st, cause))
			xasprintf(cause, "cannot use %s: %s", path,
			    sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
		goto fail;
	}
	mode = (const char *)sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		xasprintf(cause, "cannot put %s in WAL mode (it stays in "
		    "\"%s\")", path, mode != NULL ? mode : "?");
		sqlite3_finalize(s);
		goto fail;
	}
	sqlite3_finalize(s);
	if (store_exec(st, "PRAGMA synchronous = FULL") != SQLITE_OK ||
	    store_exec(st, "PRAGMA foreign_keys = ON") != SQLITE_OK ||
	    store_exec(st, "PRAGMA trusted_schema = OFF") != SQLITE_OK ||
	    /* Savepoint journals stay in memory: no temp files, so a
	     * sandbox without a writable /var/tmp costs nothing. */
	    store_exec(st, "PRAGMA temp_store = MEMORY") != SQLITE_OK ||
	    sqlite3_wal_autocheckpoint(st->db, STORE_WAL_AUTOCHECKPOINT) !=
	    SQLITE_OK || store_query_int(st, "PRAGMA journal_size_limit = "
	    STORE_WAL_LIMIT_TEXT) != STORE_WAL_LIMIT) {
		xasprintf(cause, "cannot set up %s: %s", path,
		    sqlite3_errmsg(st->db));
		goto fail;
	}
	/* Statements and the migrations use it; no schema object does, so
	 * other programs can still read and check the file. */
	if (sqlite3_create_function_v2(st->db, "fu_email_key", 1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
	    store_email_key_cb, NULL, NULL, NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot set up %s: %s", path,
		    sqlite3_errmsg(st->db));
		goto fail;
	}
	sqlite3_update_hook(st->db, store_user_update_cb, st);
	if (store_try_write(st, cause) != 0 ||
	    store_check_at_start(st, cause) != 0)
		goto fail;
	if (store_migrate(st, cause) != 0 || store_read_id(st, cause) != 0)
		goto fail;
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	/*
	 * A log left by a crash (perhaps on a full disk, where it took the
	 * last free space) goes into the database now; if it cannot yet,
	 * the daemon still starts and tries again after its writes.
	 */
	store_sqlite_checkpoint(st);

	if (store_prepare(st, cause) != 0)
		goto fail;
	return st;
fail:
	store_sqlite_close(st);
	return NULL;
}

/* Close the store; an open group commit is committed first. */
static void
store_sqlite_close(struct store *st)
{
	int	i;

	if (st == NULL)
		return;
	if (st->txn_open)
		store_sqlite_commit(st);
	store_read_end(st);
	store_user_forget(st);
	store_sync_now(st);
	if (st->wal_fd != -1)
		close(st->wal_fd);
	/* No checkpoint runs now: the driver waited for it to end. */
	if (st->ckpt_db != NULL)
		sqlite3_close(st->ckpt_db);
	free(st->ckpt_error);
	for (i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("store: closing %s: %s", st->path,
		    sqlite3_errmsg(st->db));
	free(st->path);
	free(st->database_id);
	free(st->reader_error);
	free(st);
}

/*
 * A reader: the database seen from a thread beside the loop, through a
 * read-only connection of its own, in one read transaction, so all it
 * reads comes from one snapshot however long it reads (the write-ahead
 * log lets the loop write meanwhile).  store_reader_new and
 * store_reader_free run on the loop; store_reader_open and the reads on
 * the thread; store_reader_stop from anywhere.
 */
struct store_reader {
	struct store_base base;		/* first: the backend's table */
	char		*path;
	pthread_mutex_t	 lock;		/* guards rd and stopped */
	struct store	*rd;		/* once open */
	int		 stopped;
};

/* A reader of st's database, not yet open.  Does no I/O. */
static struct store_reader *
store_sqlite_reader_new(struct store *st)
{
	struct store_reader	*r;

	r = xcalloc(1, sizeof *r);
	r->base.backend = &store_sqlite;
	r->path = xstrdup(st->path);
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		fatalx("store: pthread_mutex_init");
	return r;
}

/*
 * Stop a stopped reader's statements, also those started after the stop:
 * sqlite3_interrupt stops only the statements running when it is called.
 */
static int
store_reader_progress_cb(void *arg)
{
	struct store_reader	*r = arg;

	return __atomic_load_n(&r->stopped, __ATOMIC_RELAXED);
}

/* Open the reader's connection and begin its snapshot. */
static struct store *
store_sqlite_reader_open(struct store_reader *r, char **cause)
{
	struct store	*rd;
	int		 rc;

	rd = xcalloc(1, sizeof *rd);
	rd->base.backend = &store_sqlite;
	rd->path = xstrdup(r->path);
	rd->wal_fd = -1;
	rd->reader = &r->stopped;
	rc = sqlite3_open_v2(rd->path, &rd->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		xasprintf(cause, "cannot open %s to read it: %s", rd->path,
		    rd->db != NULL ? sqlite3_errmsg(rd->db) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(rd->db, 1);
	sqlite3_busy_timeout(rd->db, STORE_BUSY_MS);
	sqlite3_progress_handler(rd->db, 1000, store_reader_progress_cb, r);
	if (sqlite3_exec(rd->db, "PRAGMA trusted_schema = OFF", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(rd->db, "fu_email_key", 1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
	    store_email_key_cb, NULL, NULL, NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot set up %s: %s", rd->path,
		    sqlite3_errmsg(rd->db));
		goto fail;
	}
	if (store_prepare(rd, cause) != 0)
		goto fail;
	if (sqlite3_exec(rd->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot read %s: %s", rd->path,
		    sqlite3_errmsg(rd->db));
		goto fail;
	}
	pthread_mutex_lock(&r->lock);
	if (r->stopped) {
		pthread_mutex_unlock(&r->lock);
		xasprintf(cause, "stopped");
		goto fail;
	}
	r->rd = rd;
	pthread_mutex_unlock(&r->lock);
	return rd;
fail:
	store_sqlite_close(rd);
	return NULL;
}

/* Stop the reader's reads soon: they fail (SQLITE_INTERRUPT). */
static void
store_sqlite_reader_stop(struct store_reader *r)
{
	pthread_mutex_lock(&r->lock);
	__atomic_store_n(&r->stopped, 1, __ATOMIC_RELAXED);
	if (r->rd != NULL)
		sqlite3_interrupt(r->rd->db);
	pthread_mutex_unlock(&r->lock);
}

/* End the snapshot, close the connection, and log what failed in it. */
static void
store_sqlite_reader_free(struct store_reader *r)
{
	if (r->rd != NULL) {
		if (r->rd->reader_error != NULL && !r->stopped)
			log_warnx("store: %s", r->rd->reader_error);
		if (!sqlite3_get_autocommit(r->rd->db))
			sqlite3_exec(r->rd->db, "ROLLBACK", NULL, NULL, NULL);
		store_sqlite_close(r->rd);
	}
	pthread_mutex_destroy(&r->lock);
	free(r->path);
	free(r);
}

const struct store_reader_backend store_sqlite_reader = {
	.new = store_sqlite_reader_new,
	.open = store_sqlite_reader_open,
	.stop = store_sqlite_reader_stop,
	.free = store_sqlite_reader_free,
};

/*
 * Let driver end each loop pass's transaction and rest the log (see the
 * top of this file); cb is called after each group commit with 1 if it
 * is durable, 0 if every write of the group was lost.  Either may be
 * NULL.  The driver must outlive the store, or be unset first.
 */
static void
store_sqlite_set_driver(struct store *st, const struct store_driver *driver,
    store_commit_cb cb, void *arg)
{
	int	async = driver != NULL && driver->sync != NULL;

	/*
	 * A driver that checkpoints beside the loop takes that work off the
	 * commits: SQLite's own checkpoint, run by the commit that passes
	 * the mark, copies the log's pages and syncs the log and the
	 * database, on the loop.  The hook only notes the log's length.
	 */
	if (driver != NULL && driver->checkpoint != NULL)
		sqlite3_wal_hook(st->db, store_wal_cb, st);
	else
		sqlite3_wal_autocheckpoint(st->db, STORE_WAL_AUTOCHECKPOINT);
	st->driver = driver;
	st->commit_cb = cb;
	st->commit_arg = arg;
	if (async && !st->async) {
		if (store_exec(st, "PRAGMA synchronous = NORMAL") == SQLITE_OK)
			st->async = 1;
	} else if (!async && st->async) {
		/* From now on each commit waits for the disk again. */
		store_sync_now(st);
		if (store_exec(st, "PRAGMA synchronous = FULL") == SQLITE_OK)
			st->async = 0;
	}
}

/*
 * After a commit, with a driver that checkpoints: once the log holds
 * three quarters of its mark, ask for a checkpoint beside the loop.  The
 * log starts again from its beginning only at a write that begins once
 * all of it is in the database: when writes come and go, one soon does,
 * and the loop never copies a page or waits for a sync of the checkpoint
 * (only the new log's first commit syncs its header).  A steady stream of
 * writes leaves no such moment (each pass of the thread ends behind the
 * commits made meanwhile), so at the mark itself, with the thread idle,
 * the loop folds in what the thread left, as SQLite's own checkpoint
 * would, and the log stays as short as before.
 */
static void
store_ckpt_maybe(struct store *st)
{
	int	rc;

	if (st->ckpt_asked || st->wal_pages < STORE_WAL_THREAD_CKPT)
		return;
	if (st->wal_pages >= STORE_WAL_AUTOCHECKPOINT) {
		sqlite3_busy_timeout(st->db, 0);
		rc = sqlite3_wal_checkpoint_v2(st->db, "main",
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
		if (rc == SQLITE_OK)
			return;
	}
	st->ckpt_asked = 1;
	st->driver->checkpoint(st->driver->arg);
}

/* After each commit: how long the log now is, in pages. */
static int
store_wal_cb(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store	*st = arg;

	st->wal_pages = pages;
	return SQLITE_OK;
}

/*
 * On the checkpoint thread: fold the log into the database through a
 * connection of the thread's own, as far as the readers of older
 * snapshots allow, never waiting for them or for the loop's writes
 * (PASSIVE).  SQLite syncs the log first and the database after, as its
 * own checkpoint does.  The writer starts the log again from its
 * beginning at its next transaction once all of it is in.  Touches only
 * ckpt_db and ckpt_error; the loop leaves both alone meanwhile.
 */
static int
store_sqlite_ckpt_run(struct store *st)
{
	int	rc;

	free(st->ckpt_error);
	st->ckpt_error = NULL;
	if (st->ckpt_db == NULL) {
		rc = sqlite3_open_v2(st->path, &st->ckpt_db,
		    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc != SQLITE_OK) {
			xasprintf(&st->ckpt_error, "%s", st->ckpt_db != NULL ?
			    sqlite3_errmsg(st->ckpt_db) : sqlite3_errstr(rc));
			sqlite3_close(st->ckpt_db);
			st->ckpt_db = NULL;
			return -1;
		}
	}
	/* Until it has read, a connection does not know the log is there. */
	rc = sqlite3_exec(st->ckpt_db, "SELECT count(*) FROM sqlite_master",
	    NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_wal_checkpoint_v2(st->ckpt_db, "main",
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK) {
		xasprintf(&st->ckpt_error, "%s", sqlite3_errmsg(st->ckpt_db));
		return -1;
	}
	return 0;
}

/*
 * On the loop: the checkpoint asked for is over.  One that failed is
 * said; the next commit past the mark asks again.
 */
static void
store_sqlite_ckpt_end(struct store *st, int ok)
{
	st->ckpt_asked = 0;
	if (!ok)
		log_warnx_limited("store: checkpoint failed", NULL,
		    "store: cannot checkpoint the write-ahead log of %s: %s",
		    st->path, st->ckpt_error != NULL ? st->ckpt_error :
		    "unknown error");
}

/*
 * Have the descriptor of the database's log open: the file named
 * "<database>-wal" now (SQLite may have made it anew).  A new one's name
 * is synced into its directory once.  Return 0, or -1 with errno set.
 */
static int
store_wal_open(struct store *st)
{
	struct stat	 sb;
	char		*wal, *copy;
	int		 fd, dir, saved;

	xasprintf(&wal, "%s-wal", st->path);
	if (stat(wal, &sb) != 0)
		goto fail;
	if (st->wal_fd != -1 && sb.st_dev == st->wal_dev &&
	    sb.st_ino == st->wal_ino) {
		free(wal);
		return 0;
	}
	if ((fd = open(wal, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	copy = xstrdup(st->path);
	if ((dir = open(dirname(copy), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || fsync(dir) != 0) {
		saved = errno;
		if (dir != -1)
			close(dir);
		close(fd);
		free(copy);
		errno = saved;
		goto fail;
	}
	close(dir);
	free(copy);
	if (fstat(fd, &sb) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		goto fail;
	}
	if (st->wal_fd != -1)
		close(st->wal_fd);
	st->wal_fd = fd;
	st->wal_dev = sb.st_dev;
	st->wal_ino = sb.st_ino;
	free(wal);
	return 0;
fail:
	saved = errno;
	free(wal);
	errno = saved;
	return -1;
}

/* How many group commits were made, and how many are durable. */
static uint64_t
store_sqlite_commits(struct store *st)
{
	return st->commits;
}

static uint64_t
store_sqlite_durable(struct store *st)
{
	return st->durable;
}

/*
 * On the loop: have the log's descriptor ready for store_sqlite_sync_run
 * and return the commits it will cover; 0 if all are durable already.
 */
static uint64_t
store_sqlite_sync_begin(struct store *st)
{
	if (st->durable >= st->commits)
		return 0;
	st->sync_errno = 0;
	if (store_wal_open(st) != 0) {
		st->sync_errno = errno;
		if (st->wal_fd != -1)
			close(st->wal_fd);
		st->wal_fd = -1;
	}
	return st->commits;
}

/*
 * On the sync thread: fdatasync the log, so that every commit frame
 * written before store_sqlite_sync_begin is on disk.  It touches the
 * descriptor and sync_errno only; the loop leaves both alone meanwhile.
 */
static int
store_sqlite_sync_run(struct store *st)
{
	if (st->wal_fd == -1) {
		errno = st->sync_errno;
		return -1;
	}
	while (fdatasync(st->wal_fd) != 0) {
		if (errno != EINTR) {
			st->sync_errno = errno;
			return -1;
		}
	}
	return 0;
}

/*
 * On the loop: the sync is over.  A failed fdatasync may have dropped the
 * very pages it was to write (Linux forgets them), so no retry could
 * prove them saved: stop, unacknowledged, and let the restart read the
 * log as the disk holds it.
 */
static void
store_sqlite_sync_end(struct store *st, uint64_t upto, int ok)
{
	if (!ok) {
		errno = st->sync_errno;
		fatal("store: cannot make the write-ahead log of %s durable; "
		    "stopping so that no unsaved change is acknowledged",
		    st->path);
	}
	if (upto > st->durable)
		st->durable = upto;
}

/* Make every commit durable now, on the loop (closing, or no driver). */
static void
store_sync_now(struct store *st)
{
	uint64_t	upto;

	if ((upto = store_sqlite_sync_begin(st)) == 0)
		return;
	store_sqlite_sync_end(st, upto, store_sqlite_sync_run(st) == 0);
}

/*
 * Copy the write-ahead log into the database and truncate it to nothing,
 * giving its space back to the file system.  Never waits for another
 * process: one reading the database makes it STORE_BUSY.  Return
 * STORE_OK, or what stopped it (logged; a full disk is STORE_FULL).
 */
static enum store_result
store_sqlite_checkpoint(struct store *st)
{
	int	rc;

	/* A group is open, or the checkpoint thread is at it. */
	if (st->txn_open || st->ckpt_asked)
		return STORE_BUSY;
	store_read_end(st);
	sqlite3_busy_timeout(st->db, 0);
	rc = sqlite3_wal_checkpoint_v2(st->db, "main",
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if (rc != SQLITE_OK) {
		log_warnx_limited("store: checkpoint failed", NULL,
		    "store: cannot checkpoint the write-ahead log of %s: %s",
		    st->path, sqlite3_errmsg(st->db));
		return store_result_of(rc);
	}
	return STORE_OK;
}

/*
 * Writes have rested (the driver's idle timer): checkpoint, or ask to be
 * called again later, backing off, if that failed.
 */
static void
store_sqlite_idle(struct store *st)
{
	long	ms = STORE_IDLE_MS;

	/* Open writes, or the thread's checkpoint, end first: look later. */
	if (st->txn_open || st->ckpt_asked) {
		if (st->driver != NULL)
			st->driver->idle(ms, st->driver->arg);
		return;
	}
	if (store_sqlite_checkpoint(st) == STORE_OK) {
		st->ckpt_retry = 0;
		return;
	}
	if (st->ckpt_retry == 0)
		st->ckpt_retry = STORE_CKPT_RETRY_MIN;
	else if ((st->ckpt_retry *= 2) > STORE_CKPT_RETRY_MAX)
		st->ckpt_retry = STORE_CKPT_RETRY_MAX;
	ms = st->ckpt_retry * 1000L;
	if (st->driver != NULL)
		st->driver->idle(ms, st->driver->arg);
}

/*
 * A commit met a full disk: the log may hold most of the space, so try
 * to fold it into the database now (at most once a second).
 */
static void
store_commit_full(struct store *st)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (st->ckpt_at.tv_sec != 0 && now.tv_sec - st->ckpt_at.tv_sec < 1)
		return;
	st->ckpt_at = now;
	store_sqlite_checkpoint(st);
}

/*
 * Let the reads of this loop pass share one read transaction, ended with
 * the pass (see the top of this file).  Does nothing inside the group
 * transaction, or without the loop (unit tests), where each statement
 * reads on its own as before.
 */
static void
store_sqlite_read_begin(struct store *st)
{
	if (st->txn_open || st->read_open || st->driver == NULL)
		return;
	/* On failure the statements simply run each in its own. */
	if (store_run(st, STMT_TXN_READ_BEGIN) != SQLITE_OK)
		return;
	st->read_open = 1;
	if (st->driver->read != NULL)
		st->driver->read(st->driver->arg);
	else
		st->driver->pass(st->driver->arg);
}

/* End the pass's read transaction, if one is open: its locks go. */
static void
store_read_end(struct store *st)
{
	if (!st->read_open)
		return;
	st->read_open = 0;
	store_user_forget(st);
	if (store_run(st, STMT_TXN_READ_END) != SQLITE_OK &&
	    !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * Start one write: join the open group transaction (opening it if none is)
 * and set a savepoint.  Must be paired with store_write_end.
 * Return STORE_OK, or STORE_BUSY / STORE_FULL / STORE_ERROR if no
 * transaction could be opened (nothing is held then).
 */
static enum store_result
store_sqlite_write_begin(struct store *st)
{
	if (!st->txn_open) {
		store_read_end(st);
		if (store_exec(st, "BEGIN IMMEDIATE") != SQLITE_OK)
			return st->last;
		st->txn_open = 1;
		st->txn_failed = 0;
		if (st->driver != NULL)
			st->driver->pass(st->driver->arg);
	}
	if (store_run(st, STMT_TXN_SAVEPOINT) != SQLITE_OK) {
		st->txn_failed = 1;
		return st->last;
	}
	return STORE_OK;
}

/*
 * End one write: keep it if ok, else undo it alone.  If SQLite rolled the
 * whole transaction back (it does on a full disk or I/O error), mark the
 * group failed so the commit reports every write of it lost.
 */
static void
store_sqlite_write_end(struct store *st, int ok)
{
	/* An undone write may have changed a users row we kept. */
	if (!ok || st->txn_failed || sqlite3_get_autocommit(st->db))
		store_user_forget(st);
	if (st->txn_failed || sqlite3_get_autocommit(st->db)) {
		st->txn_failed = 1;
		return;
	}
	if (!ok && store_run(st, STMT_TXN_ROLLBACK_TO) != SQLITE_OK)
		st->txn_failed = 1;
	if (store_run(st, STMT_TXN_RELEASE) != SQLITE_OK)
		st->txn_failed = 1;
	if (sqlite3_get_autocommit(st->db))
		st->txn_failed = 1;
}

/* Is a group transaction open (so replies must wait for its commit)? */
static int
store_sqlite_in_txn(struct store *st)
{
	return st->txn_open;
}

/*
 * Commit the group transaction, if one is open, and call the commit
 * callback with the outcome.  Return 0 if it is durable (or nothing was
 * open), -1 if its writes were lost.
 */
static int
store_sqlite_commit(struct store *st)
{
	int	ok = 1;

	store_read_end(st);
	if (!st->txn_open)
		return 0;
	if (st->txn_failed || sqlite3_get_autocommit(st->db))
		ok = 0;
	else if (store_exec(st, "COMMIT") != SQLITE_OK)
		ok = 0;
	if (!ok) {
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		log_warnx_limited("store: a group of writes was rolled back",
		    NULL, "store: a group of writes was rolled back: %s",
		    sqlite3_errmsg(st->db));
	}
	st->txn_open = 0;
	st->txn_failed = 0;
	store_user_forget(st);
	/* A failed group counts too: its reads wait for the commits before. */
	st->commits++;
	if (!st->async)
		st->durable = st->commits;
	if (!ok && st->last == STORE_FULL)
		store_commit_full(st);
	if (ok && st->driver != NULL && st->driver->checkpoint != NULL)
		store_ckpt_maybe(st);
	/* Off the hot path: the log is truncated once writes rest. */
	if (st->driver != NULL && st->ckpt_retry == 0)
		st->driver->idle(STORE_IDLE_MS, st->driver->arg);
	if (st->commit_cb != NULL)
		st->commit_cb(ok, st->commit_arg);
	if (st->async && st->driver != NULL && st->durable < st->commits)
		st->driver->sync(st->driver->arg);
	return ok ? 0 : -1;
}

/* What the last failing call met. */
static enum store_result
store_sqlite_last_result(struct store *st)
{
	return st->last;
}

/*
 * The database's identity: random, made with its schema, kept for its
 * life (a backup carries it; a new database gets a new one).
 */
static const char *
store_sqlite_id(struct store *st)
{
	return st->database_id;
}

/* The schema version of the open database. */
static int
store_sqlite_schema_version(struct store *st)
{
	return (int)store_query_int(st, "PRAGMA user_version");
}

const struct store_txn_backend store_sqlite_txn = {
	.open = store_sqlite_open,
	.close = store_sqlite_close,
	.set_driver = store_sqlite_set_driver,
	.read_begin = store_sqlite_read_begin,
	.write_begin = store_sqlite_write_begin,
	.write_end = store_sqlite_write_end,
	.in_txn = store_sqlite_in_txn,
	.commit = store_sqlite_commit,
	.checkpoint = store_sqlite_checkpoint,
	.idle = store_sqlite_idle,
	.last_result = store_sqlite_last_result,
	.id = store_sqlite_id,
	.schema_version = store_sqlite_schema_version,
	.commits = store_sqlite_commits,
	.durable = store_sqlite_durable,
	.sync_begin = store_sqlite_sync_begin,
	.sync_run = store_sqlite_sync_run,
	.sync_end = store_sqlite_sync_end,
	.ckpt_run = store_sqlite_ckpt_run,
	.ckpt_end = store_sqlite_ckpt_end,
};

/* --- helpers for the store-*.c files --- */

sqlite3_stmt *
store_stmt(struct store *st, enum store_stmt slot)
{
	return st->stmt[slot];
}

/* Step s; log errors with the statement.  Return the SQLite code. */
int
store_step(struct store *st, sqlite3_stmt *s)
{
	int	rc;

	if (st->reader != NULL && __atomic_load_n(st->reader, __ATOMIC_RELAXED))
		rc = SQLITE_INTERRUPT;
	else
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && st->reader != NULL) {
		/* Not logged from a thread: store_reader_free logs it. */
		st->last = store_result_of(rc);
		if (st->reader_error == NULL)
			xasprintf(&st->reader_error, "%s: %s", sqlite3_sql(s),
			    sqlite3_errmsg(st->db));
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		st->last = store_result_of(rc);
		/* Every write on a full disk meets the same trouble. */
		log_warnx_limited(sqlite3_errstr(rc), NULL, "store: %s: %s",
		    sqlite3_sql(s), sqlite3_errmsg(st->db));
	}
	return rc;
}

/* Finish with a statement: reset it and clear its bindings. */
void
store_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Finish with s after a failed step and say what failed. */
enum store_result
store_fail(struct store *st, sqlite3_stmt *s, int rc)
{
	store_done(s);
	return store_result_of(rc);
}

/* Bind text, or NULL when s is NULL. */
void
store_bind_text(sqlite3_stmt *s, int i, const char *text)
{
	if (text == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
}

/*
 * Bind the parameters every stale-contacts query shares: ?1 the owner (NULL
 * for the team), ?2 the open stages as a JSON array, ?3 the last news
 * before which a contact is stale, ?4 the limit.
 */
void
store_bind_stale(sqlite3_stmt *s, const char *owner,
    const struct store_stale *ss, time_t now, int limit)
{
	json_t	*stages;
	char	*list;
	int	 i;

	stages = json_array();
	for (i = 0; i < ss->nopen; i++)
		json_array_append_new(stages, json_string(ss->open_stages[i]));
	list = json_dumps(stages, JSON_COMPACT);
	json_decref(stages);
	store_bind_text(s, 1, owner);
	store_bind_text(s, 2, list);
	sqlite3_bind_int64(s, 3, now - ss->after);
	sqlite3_bind_int(s, 4, limit);
	free(list);
}

/* Bind a time, or NULL when it is 0 (unset). */
void
store_bind_time(sqlite3_stmt *s, int i, time_t t)
{
	if (t == 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, (sqlite3_int64)t);
}

/*
 * A text column, borrowed, or NULL: valid until s steps or resets.  For
 * rows that are handed to a callback and gone when it returns, so that
 * a list makes no copy of each text of each row.  The char * is for the
 * row structs' fields; nothing may write through it or free it.
 */
char *
store_col_borrow(sqlite3_stmt *s, int i)
{
	/* NULL for a NULL column, in one call. */
	return (char *)(uintptr_t)sqlite3_column_text(s, i);
}

/* A copy of a text column, or NULL. Caller frees. */
char *
store_col_text(sqlite3_stmt *s, int i)
{
	const unsigned char	*text;

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NULL;
	text = sqlite3_column_text(s, i);
	return text != NULL ? xstrdup((const char *)text) : NULL;
}

/* A time column, 0 when NULL. */
time_t
store_col_time(sqlite3_stmt *s, int i)
{
	return (time_t)sqlite3_column_int64(s, i);
}

void
fu_contact_clear(struct fu_contact *c)
{
	free(c->owner);
	free(c->name);
	free(c->company);
	free(c->phone);
	free(c->email);
	free(c->tz);
	free(c->stage);
	free(c->notes);
	memset(c, 0, sizeof *c);
}

void
fu_interaction_clear(struct fu_interaction *in)
{
	free(in->owner);
	free(in->kind);
	free(in->outcome);
	free(in->note);
	memset(in, 0, sizeof *in);
}

void
fu_followup_clear(struct fu_followup *f)
{
	free(f->contact_name);
	free(f->contact_tz);
	free(f->owner);
	free(f->kind);
	free(f->status);
	free(f->reason);
	free(f->note);
	memset(f, 0, sizeof *f);
}

void
fu_user_clear(struct fu_user *u)
{
	free(u->name);
	free(u->email);
	free(u->tz);
	free(u->digest);
	free(u->hours);
	free(u->workdays);
	free(u->lead);
	free(u->display_name);
	free(u->phone);
	free(u->calendar);
	memset(u, 0, sizeof *u);
}
