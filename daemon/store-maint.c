/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Looking after the database as a whole: a consistent copy while the
 * daemon runs (SQLite's online backup), and the integrity and size checks
 * followup doctor reports (on a thread of its own, beside the loop).
 */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store-internal.h"

/*
 * Pages copied per backup step: 256 KiB, about a millisecond, which is
 * what a step adds to other requests' latency (the loop runs one step per
 * pass).  1,024 pages made a write wait 20 ms; the copy is no slower in
 * small steps.
 */
#define STORE_BACKUP_STEP	64

/*
 * The name path would have once its directory is resolved (symbolic links,
 * "." and ".."), or NULL if that directory does not exist.  The last
 * component is kept as it is: rename() replaces a symbolic link there, it
 * never writes through it.  Caller frees.
 */
static char *
store_resolve_dir(const char *path)
{
	char	*d, *b, *dir, *real, *out;

	d = xstrdup(path);
	b = xstrdup(path);
	dir = dirname(d);
	real = realpath(dir, NULL);
	out = NULL;
	if (real != NULL)
		xasprintf(&out, "%s/%s", strcmp(real, "/") == 0 ? "" : real,
		    basename(b));
	free(real);
	free(d);
	free(b);
	return out;
}

/*
 * Would a backup to path replace or write into one of the live database's
 * files: the database itself, its write-ahead log (-wal), its shared-memory
 * index (-shm) or a rollback journal (-journal)?  Replacing any of them
 * loses acknowledged writes at the next crash.  Compared by inode when the
 * file exists (a hard link or another path to it) and by resolved name
 * (a file SQLite may yet create).  Return 1 with *cause set (caller frees),
 * else 0.
 */
static int
store_sqlite_backup_target_live(struct store *st, const char *path,
    char **cause)
{
	static const struct {
		const char	*suffix;
		const char	*what;
	} files[] = {
		{ "",		"the live database" },
		{ "-wal",	"the live database's write-ahead log" },
		{ "-shm",	"the live database's shared-memory index" },
		{ "-journal",	"the live database's rollback journal" },
	};
	struct stat	 sb, live;
	char		*want, *name, *live_name;
	size_t		 i;
	int		 found = 0, have_target;

	have_target = stat(path, &sb) == 0;
	want = store_resolve_dir(path);
	live_name = store_resolve_dir(st->path);
	for (i = 0; i < sizeof files / sizeof files[0] && !found; i++) {
		xasprintf(&name, "%s%s", st->path, files[i].suffix);
		if (have_target && stat(name, &live) == 0 &&
		    sb.st_dev == live.st_dev && sb.st_ino == live.st_ino)
			found = 1;
		free(name);
		if (!found && want != NULL && live_name != NULL) {
			xasprintf(&name, "%s%s", live_name, files[i].suffix);
			found = strcmp(want, name) == 0;
			free(name);
		}
		if (found)
			xasprintf(cause, "%s is %s: a backup may not replace "
			    "it", path, files[i].what);
	}
	free(want);
	free(live_name);
	return found;
}

/*
 * A copy of the database being made, a step at a time, in a file of the
 * daemon's own beside the database: never where an admin names, since the
 * daemon may write where the admin may not.  The admin's client gets the
 * finished copy as a descriptor and writes it where it likes.
 */
struct store_backup {
	struct store_base base;		/* first: the backend's table */
	struct store	*st;
	sqlite3		*dst;
	sqlite3_backup	*b;
	char		*tmp;		/* the copy, until it is handed over */
	int		 fd;		/* on tmp, kept open while it is made */
};

/*
 * Remove the copies a daemon killed while making them left beside the
 * database (path.backup-XXXXXX): nobody can use one, and each is as large
 * as the database.  Call once, when this daemon alone serves it.
 */
static void
store_sqlite_backup_clean(struct store *st)
{
	DIR		*d;
	struct dirent	*de;
	char		*dir, *base, *name, *prefix;
	const char	*parent;
	size_t		 len;

	dir = xstrdup(st->path);
	base = xstrdup(st->path);
	xasprintf(&prefix, "%s.backup-", basename(base));
	len = strlen(prefix);
	parent = dirname(dir);
	if ((d = opendir(parent)) == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, len) != 0 ||
		    strlen(de->d_name) != len + 6)
			continue;
		xasprintf(&name, "%s/%s", parent, de->d_name);
		if (unlink(name) == 0)
			log_info("store: removed %s, a backup's copy left "
			    "unfinished", name);
		else
			log_warn("store: cannot remove %s", name);
		free(name);
	}
	closedir(d);
out:
	free(prefix);
	free(base);
	free(dir);
}

/* Drop a copy that will not be finished, and its temporary file. */
static void
store_sqlite_backup_abort(struct store_backup *sb)
{
	if (sb == NULL)
		return;
	if (sb->b != NULL)
		sqlite3_backup_finish(sb->b);
	if (sb->dst != NULL)
		sqlite3_close(sb->dst);
	if (sb->tmp != NULL)
		unlink(sb->tmp);
	if (sb->fd >= 0)
		close(sb->fd);
	free(sb->tmp);
	free(sb);
}

/*
 * Is there room beside the database for a copy of it, with a tenth to
 * spare?  The copy shares the database's file system, and filling it would
 * refuse the reps' writes.  Return 1, or 0 with *cause set.
 */
static int
store_backup_room(struct store *st, char **cause)
{
	struct stat	 sb;
	struct statvfs	 vfs;
	char		*dir, *wal;
	long long	 need = 0, avail;

	if (stat(st->path, &sb) == 0)
		need += sb.st_size;
	xasprintf(&wal, "%s-wal", st->path);
	if (stat(wal, &sb) == 0)
		need += sb.st_size;	/* its pages may be new ones */
	free(wal);
	dir = xstrdup(st->path);
	if (statvfs(dirname(dir), &vfs) != 0) {
		free(dir);
		return 1;		/* the copy will say what is wrong */
	}
	free(dir);
	avail = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
	if (avail >= need + need / 10)
		return 1;
	xasprintf(cause, "no room beside the database %s for its copy: it "
	    "needs about %lld KiB and %lld KiB are free; free some space "
	    "there first (the reps' writes need it too)", st->path,
	    (need + need / 10) / 1024, avail / 1024);
	return 0;
}

/*
 * Start copying the whole database: the copy is made in a temporary file
 * beside the database (path.backup-XXXXXX), a step at a time
 * (store_sqlite_backup_step), if there is room for it.  Return the copy,
 * or NULL with *cause set (caller frees).
 */
static struct store_backup *
store_sqlite_backup_begin(struct store *st, char **cause)
{
	struct store_backup	*sb;

	*cause = NULL;
	if (!store_backup_room(st, cause))
		return NULL;
	sb = xcalloc(1, sizeof *sb);
	sb->base.backend = STORE_BACKEND(st);
	sb->st = st;
	xasprintf(&sb->tmp, "%s.backup-XXXXXX", st->path);
	if ((sb->fd = mkostemp(sb->tmp, O_CLOEXEC)) < 0) {
		xasprintf(cause, "cannot create a file beside the database "
		    "%s: %s", st->path, strerror(errno));
		free(sb->tmp);
		sb->tmp = NULL;
		store_sqlite_backup_abort(sb);
		return NULL;
	}
	if (sqlite3_open_v2(sb->tmp, &sb->dst, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		xasprintf(cause, "cannot open %s: %s", sb->tmp,
		    sb->dst != NULL ? sqlite3_errmsg(sb->dst) :
		    "out of memory");
		store_sqlite_backup_abort(sb);
		return NULL;
	}
	/*
	 * The copy is worth nothing until it is finished, and the admin's
	 * client syncs it where it puts it: no journal and no syncs of
	 * SQLite's own (they would hold the loop at the last step).
	 */
	if (sqlite3_exec(sb->dst, "PRAGMA journal_mode = OFF; "
	    "PRAGMA synchronous = OFF", NULL, NULL, NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot prepare %s: %s", sb->tmp,
		    sqlite3_errmsg(sb->dst));
		store_sqlite_backup_abort(sb);
		return NULL;
	}
	if ((sb->b = sqlite3_backup_init(sb->dst, "main", st->db, "main")) ==
	    NULL) {
		xasprintf(cause, "cannot start the backup: %s",
		    sqlite3_errmsg(sb->dst));
		store_sqlite_backup_abort(sb);
		return NULL;
	}
	return sb;
}

/*
 * The copy's pages are all there: make it one file, and open it read-only
 * for the admin (its name goes once it is handed over).  Return the
 * descriptor, or -1 with *cause set.
 */
static int
store_backup_finish(struct store_backup *sb, int64_t *bytes, char **cause)
{
	struct stat	 st_copy;
	int		 fd;

	/* A plain rollback-journal file: one file, nothing beside it. */
	if (sqlite3_exec(sb->dst, "PRAGMA journal_mode = DELETE", NULL, NULL,
	    NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot finish the copy: %s",
		    sqlite3_errmsg(sb->dst));
		return -1;
	}
	if (sqlite3_close(sb->dst) != SQLITE_OK) {
		xasprintf(cause, "cannot close the copy");
		return -1;
	}
	sb->dst = NULL;
	if ((fd = open(sb->tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    fstat(fd, &st_copy) != 0) {
		xasprintf(cause, "cannot reopen %s: %s", sb->tmp,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*bytes = st_copy.st_size;
	return fd;
}

/*
 * Copy the next STORE_BACKUP_STEP pages.  The open group of writes is
 * committed first (SQLite copies nothing while a write is open), and the
 * writes made between steps reach the copy too (they go through the same
 * connection), so the finished copy holds everything acknowledged before
 * it was.  Return 1 if there is more to copy, 2 if the database is busy
 * (another process holds it: try again a little later), or 0 once the
 * copy is finished, with *fd a read-only descriptor of it (its file is
 * already removed; caller closes) and *bytes its size; or -1 with *cause
 * set (caller frees).  After 0 or -1, sb is freed.
 */
static int
store_sqlite_backup_step(struct store_backup *sb, int *fd, int64_t *bytes,
    char **cause)
{
	int	rc;

	*cause = NULL;
	*bytes = 0;
	*fd = -1;
	store_commit(sb->st);
	rc = sqlite3_backup_step(sb->b, STORE_BACKUP_STEP);
	if (rc == SQLITE_OK)
		return 1;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return 2;
	sqlite3_backup_finish(sb->b);
	sb->b = NULL;
	if (rc != SQLITE_DONE)
		xasprintf(cause, "the backup failed: %s", sqlite3_errstr(rc));
	else if ((*fd = store_backup_finish(sb, bytes, cause)) >= 0) {
		store_sqlite_backup_abort(sb);
		return 0;
	}
	store_sqlite_backup_abort(sb);
	return -1;
}

/*
 * SQLite's quick_check of db, and the size of its file: set *ok and
 * *detail (caller frees).
 */
static void
store_check_db(sqlite3 *db, int *ok, char **detail, int64_t *bytes)
{
	sqlite3_stmt	*s;
	const char	*text;
	int		 rc;

	*ok = 0;
	*detail = NULL;
	*bytes = 0;
	if (sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		*bytes = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		*bytes *= sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &s, NULL) !=
	    SQLITE_OK) {
		xasprintf(detail, "cannot check: %s", sqlite3_errmsg(db));
		return;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW &&
	    (text = (const char *)sqlite3_column_text(s, 0)) != NULL) {
		if (strcmp(text, "ok") == 0)
			*ok = 1;
		else
			xasprintf(detail, "%s", text);
	} else if (rc == SQLITE_INTERRUPT)
		xasprintf(detail, "the check was stopped");
	else
		xasprintf(detail, "cannot check: %s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
}

/*
 * Check the database: SQLite's quick_check (every page and index entry is
 * readable and well formed), and its size.  The check reads the whole
 * file and holds the caller meanwhile: only for the start, before the
 * loop serves anyone (doctor runs store_sqlite_check_run, beside the
 * loop).
 * Set *ok and *detail (caller frees).
 */
void
store_sqlite_check(struct store *st, int *ok, char **detail, int64_t *bytes)
{
	store_check_db(st->db, ok, detail, bytes);
}

/*
 * A check of the database file on a connection of its own, read-only, for
 * a thread beside the loop: a quick_check of a large database reads it all
 * for a second or more.  The write-ahead log lets it read beside the
 * loop's writes; it sees the database as it was when it started.  Only
 * store_sqlite_check_stop is called from another thread while it runs.
 */
struct store_check_file {
	struct store_base base;		/* first: the backend's table */
	char		*path;
	pthread_mutex_t	 lock;		/* guards db and stopped */
	sqlite3		*db;		/* while the check runs */
	int		 stopped;
	int		 ok;
	char		*detail;
	int64_t		 bytes;
};

/* A check of st's file, to run with store_sqlite_check_run. */
static struct store_check_file *
store_sqlite_check_new(struct store *st)
{
	struct store_check_file	*cf;

	cf = xcalloc(1, sizeof *cf);
	cf->base.backend = STORE_BACKEND(st);
	cf->path = xstrdup(st->path);
	if (pthread_mutex_init(&cf->lock, NULL) != 0)
		fatalx("store: pthread_mutex_init");
	return cf;
}

/*
 * Run the check, on the calling thread (a worker's): open the file
 * read-only, check it, close it.  Touches nothing of the loop's.
 */
static void
store_sqlite_check_run(struct store_check_file *cf)
{
	sqlite3	*db = NULL;
	int	 rc;

	rc = sqlite3_open_v2(cf->path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		xasprintf(&cf->detail, "cannot open it to check it: %s",
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return;
	}
	/* The loop's writes hold the lock briefly: wait for them. */
	sqlite3_busy_timeout(db, 5000);
	pthread_mutex_lock(&cf->lock);
	if (cf->stopped) {
		pthread_mutex_unlock(&cf->lock);
		xasprintf(&cf->detail, "the check was stopped");
		sqlite3_close(db);
		return;
	}
	cf->db = db;
	pthread_mutex_unlock(&cf->lock);
	store_check_db(db, &cf->ok, &cf->detail, &cf->bytes);
	pthread_mutex_lock(&cf->lock);
	cf->db = NULL;
	pthread_mutex_unlock(&cf->lock);
	sqlite3_close(db);
}

/*
 * Stop a running check soon (the daemon stops), from any thread: its
 * result says it was stopped.
 */
static void
store_sqlite_check_stop(struct store_check_file *cf)
{
	pthread_mutex_lock(&cf->lock);
	cf->stopped = 1;
	if (cf->db != NULL)
		sqlite3_interrupt(cf->db);
	pthread_mutex_unlock(&cf->lock);
}

/*
 * The result of a check that ran: 1 if the file passed, else 0 with
 * *detail saying why (owned by cf); *bytes is the database's size.
 */
static int
store_sqlite_check_result(struct store_check_file *cf, const char **detail,
    int64_t *bytes)
{
	*detail = cf->detail != NULL ? cf->detail : "";
	*bytes = cf->bytes;
	return cf->ok;
}

static void
store_sqlite_check_free(struct store_check_file *cf)
{
	if (cf == NULL)
		return;
	pthread_mutex_destroy(&cf->lock);
	free(cf->detail);
	free(cf->path);
	free(cf);
}

const struct store_maint_backend store_sqlite_maint = {
	.backup_target_live = store_sqlite_backup_target_live,
	.backup_begin = store_sqlite_backup_begin,
	.backup_step = store_sqlite_backup_step,
	.backup_abort = store_sqlite_backup_abort,
	.backup_clean = store_sqlite_backup_clean,
	.check_name = "SQLite's quick check",
	.check_new = store_sqlite_check_new,
	.check_run = store_sqlite_check_run,
	.check_stop = store_sqlite_check_stop,
	.check_result = store_sqlite_check_result,
	.check_free = store_sqlite_check_free,
};
