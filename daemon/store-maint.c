/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Looking after the database as a whole: a consistent copy while the
 * daemon runs (SQLite's online backup), and the integrity and size checks
 * followup doctor reports.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-internal.h"

/* Pages copied per backup step. */
#define STORE_BACKUP_STEP	1024
/* SQLite virtual machine steps between calls of a check's busy callback. */
#define STORE_CHECK_PROGRESS	100000

/* fsync path (a file or a directory); 0 or -1 with errno. */
static int
store_fsync_path(const char *path, int dir)
{
	int	fd, rc, saved;

	if ((fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) |
	    O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

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
store_backup_target_live(struct store *st, const char *path, char **cause)
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
 * Copy the whole database to path, consistent as of now: the open group
 * of writes is committed first, the copy is made in a temporary file
 * beside path, synced, and renamed over it.  An existing path is refused
 * unless replace is set, and the database's own files always are.  The
 * copy holds the caller until it is done; busy_cb (if not NULL) is called
 * between steps of STORE_BACKUP_STEP pages, so the caller can show it is
 * alive.  Set *bytes to the copy's size.  Return 0, or -1 with *cause set
 * (caller frees).
 */
int
store_backup(struct store *st, const char *path, int replace,
    store_busy_cb busy_cb, int64_t *bytes, char **cause)
{
	sqlite3		*dst = NULL;
	sqlite3_backup	*b;
	struct stat	 sb;
	char		*tmp = NULL, *copy;
	int		 fd, rc;

	*cause = NULL;
	*bytes = 0;
	if (*path != '/') {
		xasprintf(cause, "the backup path must be absolute");
		return -1;
	}
	if (store_backup_target_live(st, path, cause))
		return -1;
	if (!replace && lstat(path, &sb) == 0) {
		xasprintf(cause, "%s already exists; force (followup backup "
		    "--force) replaces it", path);
		return -1;
	}
	xasprintf(&tmp, "%s.tmp-XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		xasprintf(cause, "cannot create a file beside %s: %s", path,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	close(fd);

	store_commit(st);	/* the copy holds what was acknowledged */
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		xasprintf(cause, "cannot open %s: %s", tmp,
		    dst != NULL ? sqlite3_errmsg(dst) : "out of memory");
		goto fail;
	}
	if ((b = sqlite3_backup_init(dst, "main", st->db, "main")) == NULL) {
		xasprintf(cause, "cannot start the backup: %s",
		    sqlite3_errmsg(dst));
		goto fail;
	}
	do {
		rc = sqlite3_backup_step(b, STORE_BACKUP_STEP);
		if (busy_cb != NULL)
			busy_cb();
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		xasprintf(cause, "the backup failed: %s", sqlite3_errstr(rc));
		goto fail;
	}
	/* A plain rollback-journal file: one file, nothing beside it. */
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL,
	    NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot finish the copy: %s",
		    sqlite3_errmsg(dst));
		goto fail;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		dst = NULL;
		xasprintf(cause, "cannot close the copy");
		goto fail;
	}
	dst = NULL;
	if (busy_cb != NULL)
		busy_cb();
	if (store_fsync_path(tmp, 0) != 0 || stat(tmp, &sb) != 0) {
		xasprintf(cause, "cannot sync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		xasprintf(cause, "cannot rename the copy to %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	copy = xstrdup(path);
	(void)store_fsync_path(dirname(copy), 1);
	free(copy);
	free(tmp);
	*bytes = sb.st_size;
	return 0;

fail:
	if (dst != NULL)
		sqlite3_close(dst);
	unlink(tmp);
	free(tmp);
	return -1;
}

/* SQLite's progress handler: call the busy callback; never interrupt. */
static int
store_check_progress_cb(void *arg)
{
	store_busy_cb	busy_cb = *(store_busy_cb *)arg;

	busy_cb();
	return 0;
}

/*
 * Check the database: SQLite's quick_check (every page and index entry is
 * readable and well formed), and its size.  The check reads the whole
 * file and holds the caller meanwhile; busy_cb (if not NULL) is called
 * every STORE_CHECK_PROGRESS SQLite steps.  Set *ok and *detail (caller
 * frees).
 */
void
store_check(struct store *st, store_busy_cb busy_cb, int *ok, char **detail,
    int64_t *bytes)
{
	sqlite3_stmt	*s;
	const char	*text;
	int		 rc;

	*ok = 0;
	*detail = NULL;
	*bytes = store_query_int(st, "PRAGMA page_count") *
	    store_query_int(st, "PRAGMA page_size");
	if (sqlite3_prepare_v2(st->db, "PRAGMA quick_check(5)", -1, &s,
	    NULL) != SQLITE_OK) {
		xasprintf(detail, "cannot check: %s", sqlite3_errmsg(st->db));
		return;
	}
	if (busy_cb != NULL)
		sqlite3_progress_handler(st->db, STORE_CHECK_PROGRESS,
		    store_check_progress_cb, &busy_cb);
	rc = sqlite3_step(s);
	sqlite3_progress_handler(st->db, 0, NULL, NULL);
	if (rc == SQLITE_ROW &&
	    (text = (const char *)sqlite3_column_text(s, 0)) != NULL) {
		if (strcmp(text, "ok") == 0)
			*ok = 1;
		else
			xasprintf(detail, "%s", text);
	} else
		xasprintf(detail, "cannot check: %s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
}
