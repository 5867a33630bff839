/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The watch op: the connection becomes a stream of the caller's notices,
 * one {"event": KIND, "notice": {...}} line each, as they are delivered.
 */

#include <config.h>

#include "followupd.h"

/*
 * watch: from now on, send the caller's notices on this connection (or a
 * rep's, or with owner "*" the whole team's, for an admin).
 */
int
op_watch(struct op_ctx *ctx, json_t *args, json_t **result)
{
	const char	*owner;

	if (ops_owner_arg(ctx, args, 1, &owner) != 0)
		return -1;
	ops_watch(ctx, owner);
	*result = json_pack("{s:b s:s?}", "watching", 1, "user", owner);
	return 0;
}
