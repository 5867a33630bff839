/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup status: is the daemon there, and how is it doing.
 */

#include <config.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client.h"

static int
cmd_status_exec(struct client *c, int argc, char **argv)
{
	json_t		*r, *counts, *err;
	char		 when[64], rel[32];
	long long	 up;
	int		 rc;

	if (argc > 1)
		return cmd_usage_error(&cmd_status_entry, "no arguments "
		    "expected");
	if ((rc = rpc_call(c, FU_OP_STATUS, NULL, &r)) != 0)
		return rc;
	if (c->json) {
		out_json(r);
		json_decref(r);
		return 0;
	}
	counts = json_object_get(r, "counts");
	up = json_integer_value(json_object_get(r, "uptime"));
	printf("followupd %s, up %lldd %02lld:%02lld, pid %lld\n",
	    out_str(r, "version", "?"), up / 86400, up % 86400 / 3600,
	    up % 3600 / 60, (long long)json_integer_value(json_object_get(r,
	    "pid")));
	printf("  socket     %s\n  database   %s\n", out_str(r, "socket", "?"),
	    out_str(r, "database", "?"));
	printf("  yours      %lld contacts, %lld interactions, %lld pending "
	    "(%lld overdue)\n",
	    (long long)json_integer_value(json_object_get(counts, "contacts")),
	    (long long)json_integer_value(json_object_get(counts,
	    "interactions")),
	    (long long)json_integer_value(json_object_get(counts,
	    "followups_pending")),
	    (long long)json_integer_value(json_object_get(counts, "overdue")));
	if (json_is_string(json_object_get(r, "next_due"))) {
		time_t	t = out_parse_time(out_str(r, "next_due", NULL));

		out_time(t, when, sizeof when);
		out_relative(t, time(NULL), rel, sizeof rel);
		printf("  next due   %s (%s)\n", when, rel);
	}
	if (json_object_get(r, "outbox_backlog") != NULL)
		printf("  outbox     %lld waiting, %lld given up, %lld hooks "
		    "running\n", (long long)json_integer_value(
		    json_object_get(r, "outbox_backlog")), (long long)
		    json_integer_value(json_object_get(r,
		    "deliveries_failed")), (long long)json_integer_value(
		    json_object_get(r, "hooks_running")));
	err = json_object_get(r, "last_delivery_error");
	if (json_is_object(err))
		printf("  last error %s: %s\n", out_str(err, "at", "?"),
		    out_str(err, "error", "?"));
	json_decref(r);
	return 0;
}

const struct cmd_entry cmd_status_entry = {
	"status", "",
	"Show whether followupd answers, its version and uptime, your counts\n"
	"of contacts and follow-ups, your next due follow-up, and the state of\n"
	"reminder delivery (the outbox backlog and the last delivery error).",
	cmd_status_exec
};
