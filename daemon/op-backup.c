/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * backup: a consistent copy of the whole database, made while the daemon
 * runs.  It holds every rep's records, so only admins may make one.
 */

#include <config.h>

#include <stdlib.h>

#include "followupd.h"

int
op_backup(struct op_ctx *ctx, json_t *args, json_t **result)
{
	const char	*path = ops_str(args, "path");
	char		*cause;
	int64_t		 bytes;

	if (!ctx->admin)
		return reply_error(ctx, FU_ERR_FORBIDDEN, "a backup holds the "
		    "whole team's records: only root, the daemon's user and "
		    "members of the admin group may make one (followup "
		    "export writes your own)");
	if (*path != '/')
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "the backup path must be absolute");
	/*
	 * The copy holds the loop until it is done (other requests wait),
	 * so it keeps systemd's watchdog fed itself.
	 */
	if (store_backup(ctx->st, path, ops_bool(args, "force"),
	    sdnotify_keepalive, &bytes, &cause) != 0) {
		reply_error(ctx, FU_ERR_UNAVAILABLE, "%s", cause);
		free(cause);
		return -1;
	}
	log_info("backup: %s copied the database to %s (%lld bytes)",
	    ctx->caller, path, (long long)bytes);
	*result = json_pack("{s:s s:I}", "path", path, "bytes",
	    (json_int_t)bytes);
	return 0;
}
