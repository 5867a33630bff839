/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup backup FILE: a consistent copy of the database, made by the
 * daemon while it runs.
 */

#include <config.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static int
cmd_backup_exec(struct client *c, int argc, char **argv)
{
	json_t		*args, *r;
	const char	*file = NULL;
	char		 cwd[PATH_MAX], *path;
	int		 i, force = 0, rc;

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
	/* The daemon does not share our working directory. */
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
	args = json_pack("{s:s s:b}", "path", path, "force", force);
	free(path);
	rc = rpc_call(c, FU_OP_BACKUP, args, &r);
	json_decref(args);
	if (rc != 0)
		return rc;
	if (c->json)
		out_json(r);
	else
		printf("Backed up the database to %s (%lld KiB).\n",
		    out_str(r, "path", "?"), (long long)json_integer_value(
		    json_object_get(r, "bytes")) / 1024);
	json_decref(r);
	return 0;
}

const struct cmd_entry cmd_backup_entry = {
	"backup", "FILE [--force]",
	"Copy the whole database, consistent as of now, to FILE while "
	"followupd\nruns (SQLite's online backup).  The daemon writes the "
	"file as its own user,\nso FILE must be where it may write: for the "
	"team's daemon, under\n/var/lib/followupd/backups.  An existing FILE "
	"is kept unless --force;\nthe live database and its -wal, -shm and "
	"-journal files are refused\neven then.  Only root, the daemon's user "
	"and the admin group may back up\n(the copy holds every rep's "
	"records).  To restore, see followupd(8).",
	cmd_backup_exec
};
