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
	json_t		*r, *counts, *err, *team, *rep, *store, *nodes, *node;
	json_t		*offline;
	size_t		 i;
	char		 when[64], rel[32];
	long long	 up;
	int		 rc;

	if (argc > 1)
		return cmd_usage_error(&cmd_status_entry, "no arguments "
		    "expected");
	if ((rc = cmd_call_and_print(c, FU_OP_STATUS, NULL, &r)) != 0 ||
	    r == NULL)
		return rc;
	counts = json_object_get(r, "counts");
	up = json_integer_value(json_object_get(r, "uptime"));
	printf("followupd %s, up %lldd %02lld:%02lld, pid %lld\n",
	    out_str(r, "version", "?"), up / 86400, up % 86400 / 3600,
	    up % 3600 / 60, (long long)json_integer_value(json_object_get(r,
	    "pid")));
	printf("  socket     %s\n  database   %s\n", out_str(r, "socket", "?"),
	    out_str(r, "database", "?"));
	offline = json_object_get(r, "offline");
	if (json_is_object(offline)) {
		/* What needs the database is unknown until it is back. */
		time_t	t = out_parse_time(out_str(offline, "since", NULL));

		out_time(t, when, sizeof when);
		if (json_is_true(json_object_get(offline, "standby")))
			printf("  offline    the database server answers reads "
			    "only (a standby): reads are served, writes and "
			    "reminders wait, since %s; ", when);
		else
			printf("  offline    the database server cannot be "
			    "reached, since %s; ", when);
		if (json_is_string(json_object_get(offline, "next_try_at"))) {
			t = out_parse_time(out_str(offline, "next_try_at",
			    NULL));
			out_relative(t, time(NULL), rel, sizeof rel);
			printf("next try %s\n", rel);
		} else
			printf("trying to connect again\n");
	}
	if (json_is_object(counts))
		printf("  yours      %lld contacts, %lld interactions, %lld "
		    "pending (%lld overdue)\n", (long long)json_integer_value(
		    json_object_get(counts, "contacts")), (long long)
		    json_integer_value(json_object_get(counts,
		    "interactions")), (long long)json_integer_value(
		    json_object_get(counts, "followups_pending")), (long long)
		    json_integer_value(json_object_get(counts, "overdue")));
	if (json_is_string(json_object_get(r, "next_due"))) {
		time_t	t = out_parse_time(out_str(r, "next_due", NULL));

		out_time(t, when, sizeof when);
		out_relative(t, time(NULL), rel, sizeof rel);
		printf("  next due   %s (%s)\n", when, rel);
	}
	team = json_object_get(r, "team");
	if (json_is_object(team))
		printf("  team       %lld reps, %lld contacts, %lld pending, "
		    "%lld connections\n", (long long)json_integer_value(
		    json_object_get(team, "reps")), (long long)
		    json_integer_value(json_object_get(team, "contacts")),
		    (long long)json_integer_value(json_object_get(team,
		    "followups_pending")), (long long)json_integer_value(
		    json_object_get(team, "connections")));
	if (json_is_integer(json_object_get(r, "loop_stall_max_ms")))
		printf("  loop       longest stall %lld ms%s%s\n", (long long)
		    json_integer_value(json_object_get(r, "loop_stall_max_ms")),
		    json_is_string(json_object_get(r, "loop_stall_max_at")) ?
		    ", at " : "", out_str(r, "loop_stall_max_at", ""));
	store = json_object_get(r, "store");
	if (json_is_object(store)) {
		nodes = json_object_get(store, "nodes");
		printf("  store      %s%s%s, schema %lld, ", out_str(store,
		    "backend", "?"), json_is_string(json_object_get(store,
		    "server_version")) ? " " : "", out_str(store,
		    "server_version", ""), (long long)json_integer_value(
		    json_object_get(store, "schema")));
		if (json_is_array(nodes))
			printf("%zu live node%s\n", json_array_size(nodes),
			    json_array_size(nodes) == 1 ? "" : "s");
		else
			printf("live nodes unknown\n");
		json_array_foreach(nodes, i, node) {
			printf("    %s: host %s, pid %lld, version %s, "
			    "heartbeat %s", out_str(node, "name", "?"),
			    out_str(node, "host", "?"), (long long)
			    json_integer_value(json_object_get(node, "pid")),
			    out_str(node, "version", "?"), out_str(node,
			    "heartbeat_at", "?"));
			if (json_is_integer(json_object_get(node,
			    "clock_offset_ms")))
				printf(", clock %+.1f s",
				    (double)json_integer_value(json_object_get(
				    node, "clock_offset_ms")) / 1000);
			printf("\n");
		}
	}
	if (json_object_get(r, "outbox_backlog") != NULL)
		printf("  outbox     %s%lld waiting, %lld failing, %lld given "
		    "up, %lld hooks running\n", strcmp(out_str(r,
		    "delivery_scope", ""), "team") == 0 ? "the team's: " :
		    "yours: ", (long long)json_integer_value(
		    json_object_get(r, "outbox_backlog")), (long long)
		    json_integer_value(json_object_get(r,
		    "deliveries_failing")), (long long)json_integer_value(
		    json_object_get(r, "deliveries_failed")), (long long)
		    json_integer_value(json_object_get(r, "hooks_running")));
	json_array_foreach(json_object_get(r, "delivery_by_rep"), i, rep)
		printf("    %-16s %lld waiting, %lld failing, %lld given up\n",
		    out_str(rep, "rep", "?"), (long long)json_integer_value(
		    json_object_get(rep, "backlog")), (long long)
		    json_integer_value(json_object_get(rep, "failing")),
		    (long long)json_integer_value(json_object_get(rep,
		    "failed")));
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
	"of contacts and follow-ups, your next due follow-up, and the delivery\n"
	"of your reminders (waiting, failing, given up, and the last error).\n"
	"Admins (root and the admin group) see the team's counts and the\n"
	"team's deliveries, with each rep whose deliveries wait or fail, the\n"
	"daemon's loop's longest stall since it started, and the store: its\n"
	"backend, server and schema versions and the live nodes serving it.",
	cmd_status_exec
};
