/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup backup FILE: a consistent copy of the database, made by the
 * daemon while it runs and written to FILE by the client, with the
 * caller's own rights: the daemon (often root) hands over a read-only
 * descriptor of its copy and never writes a file it is asked to.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"

/* Bytes copied at a time from the daemon's copy to FILE. */
#define BACKUP_CHUNK	(1024 * 1024)

/* The temporary file beside FILE, removed if we are stopped. */
static char *volatile	 backup_tmp;

static void
backup_signal_cb(int sig)
{
	if (backup_tmp != NULL)
		unlink(backup_tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Copy all of from into to; 0, or -1 with errno. */
static int
backup_copy(int from, int to, int64_t *bytes)
{
	static char	 buf[BACKUP_CHUNK];
	ssize_t		 n, w;
	size_t		 off;

	*bytes = 0;
	for (;;) {
		n = read(from, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		for (off = 0; off < (size_t)n; off += w) {
			w = write(to, buf + off, n - off);
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w == -1)
				return -1;
		}
		*bytes += n;
	}
}

/*
 * Put tmp in place as path: over it with replace, else only if path does
 * not exist (checked again here, atomically).  0, or -1 with errno.
 */
static int
backup_place(const char *tmp, const char *path, int replace)
{
	if (replace)
		return rename(tmp, path);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: link fails on EEXIST. */
	if (link(tmp, path) != 0)
		return -1;
	unlink(tmp);
	return 0;
}

/* fsync the directory path is in (a rename in it). */
static void
backup_sync_dir(const char *path)
{
	char	*copy;
	int	 fd;

	if ((copy = strdup(path)) == NULL)
		return;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

static int
cmd_backup_exec(struct client *c, int argc, char **argv)
{
	json_t		*args, *r = NULL;
	const char	*file = NULL;
	char		 cwd[PATH_MAX], *path, *tmp = NULL;
	struct stat	 sb;
	int64_t		 bytes;
	int		 i, force = 0, rc, out = -1, copy = -1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cmd_usage_error(&cmd_backup_entry, "unknown "
			    "option \"%s\"", argv[i]);
		else if (file == NULL)
			file = argv[i];
		else
			return cmd_usage_error(&cmd_backup_entry, "one FILE, "
			    "please");
	}
	if (file == NULL || *file == '\0')
		return cmd_usage_error(&cmd_backup_entry, "where to? Give a "
		    "FILE");
	/* The daemon checks the name against its database's. */
	if (*file == '/')
		path = strdup(file);
	else if (getcwd(cwd, sizeof cwd) == NULL) {
		perror("followup: getcwd");
		return EXIT_USAGE;
	} else if (asprintf(&path, "%s/%s", cwd, file) == -1)
		path = NULL;
	if (path == NULL) {
		fprintf(stderr, "followup: out of memory\n");
		return EXIT_USAGE;
	}
	rc = EXIT_DAEMON_ERROR;
	if (!force && lstat(path, &sb) == 0) {
		fprintf(stderr, "followup: %s already exists; --force "
		    "replaces it\n", path);
		goto out;
	}
	/* Made first, so that a FILE we may not write costs no copy. */
	if (asprintf(&tmp, "%s.tmp-XXXXXX", path) == -1) {
		tmp = NULL;
		fprintf(stderr, "followup: out of memory\n");
		goto out;
	}
	if ((out = mkostemp(tmp, O_CLOEXEC)) == -1) {
		fprintf(stderr, "followup: cannot create a file beside %s: "
		    "%s\n", path, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	backup_tmp = tmp;
	signal(SIGINT, backup_signal_cb);
	signal(SIGTERM, backup_signal_cb);
	signal(SIGHUP, backup_signal_cb);

	args = json_pack("{s:s}", "path", path);
	rc = rpc_call_fd(c, FU_OP_BACKUP, args, &r, &copy);
	json_decref(args);
	if (rc != 0)
		goto out;
	rc = EXIT_DAEMON_ERROR;
	if (copy == -1) {
		fprintf(stderr, "followup: followupd answered the backup "
		    "without its copy\n");
		goto out;
	}
	if (backup_copy(copy, out, &bytes) != 0 || fsync(out) != 0) {
		fprintf(stderr, "followup: cannot write %s: %s\n", tmp,
		    strerror(errno));
		goto out;
	}
	if (bytes != json_integer_value(json_object_get(r, "bytes"))) {
		fprintf(stderr, "followup: the copy has %lld bytes, not the "
		    "%lld followupd made\n", (long long)bytes, (long long)
		    json_integer_value(json_object_get(r, "bytes")));
		goto out;
	}
	if (close(out) != 0) {
		out = -1;
		fprintf(stderr, "followup: cannot write %s: %s\n", tmp,
		    strerror(errno));
		goto out;
	}
	out = -1;
	if (backup_place(tmp, path, force) != 0) {
		if (errno == EEXIST)
			fprintf(stderr, "followup: %s already exists; --force "
			    "replaces it\n", path);
		else
			fprintf(stderr, "followup: cannot put the copy at %s: "
			    "%s\n", path, strerror(errno));
		goto out;
	}
	backup_tmp = NULL;
	free(tmp);
	tmp = NULL;
	backup_sync_dir(path);
	if (c->json)
		out_json(r);
	else
		printf("Backed up the database to %s (%lld KiB).\n", path,
		    (long long)bytes / 1024);
	rc = 0;
out:
	if (out != -1)
		close(out);
	if (copy != -1)
		close(copy);
	if (tmp != NULL) {
		unlink(tmp);
		backup_tmp = NULL;
		free(tmp);
	}
	json_decref(r);
	free(path);
	return rc;
}

const struct cmd_entry cmd_backup_entry = {
	"backup", "FILE [--force]",
	"Copy the whole database, consistent as of now, to FILE while "
	"followupd\nruns (SQLite's online backup).  The daemon makes the copy "
	"beside its\ndatabase and hands it over; the client writes FILE with "
	"your own rights,\nso FILE may be wherever you may write.  An existing "
	"FILE is kept unless\n--force; the live database and its -wal, -shm "
	"and -journal files are\nrefused even then.  Only root, the daemon's "
	"user and the admin group may\nback up (the copy holds every rep's "
	"records).  To restore, see\nfollowupd(8).",
	cmd_backup_exec
};
