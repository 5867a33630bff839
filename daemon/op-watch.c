/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The watch op: the connection becomes a stream of the caller's notices,
 * one {"event": KIND, "notice": {...}} line each, as they are delivered.
 */

#include <config.h>

#include "followupd.h"

/* watch: from now on, send the caller's notices on this connection. */
int
op_watch(struct op_ctx *ctx, json_t *args, json_t **result)
{
	if (ctx->conn == NULL)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "watch needs a connection");
	conn_watch(ctx->conn);
	*result = json_pack("{s:b s:s}", "watching", 1, "user", ctx->user);
	return 0;
}
