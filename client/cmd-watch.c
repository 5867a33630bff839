/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup watch: print your reminders as the daemon delivers them.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

/* One notice as a line: "10:00 DUE callback 31 Ada Lovelace: quote". */
static void
watch_print(json_t *ev)
{
	json_t		*n = json_object_get(ev, "notice");
	json_t		*f = json_object_get(n, "followup");
	const char	*kind = out_str(ev, "event", "?");
	char		 now[16], when[64], rel[32], up[16];
	time_t		 t = time(NULL), due;
	struct tm	 tm;
	size_t		 i;

	localtime_r(&t, &tm);
	strftime(now, sizeof now, "%H:%M:%S", &tm);
	for (i = 0; kind[i] != '\0' && i < sizeof up - 1; i++)
		up[i] = (char)(kind[i] >= 'a' && kind[i] <= 'z' ?
		    kind[i] - 32 : kind[i]);
	up[i] = '\0';
	if (f != NULL) {
		due = out_parse_time(out_str(f, "due_at", NULL));
		out_time(due, when, sizeof when);
		out_relative(due, t, rel, sizeof rel);
		/* One notice, one line, whatever its name and reason hold. */
		printf("%s %-8s %s %lld with ", now, up, out_str(f, "kind",
		    "?"), (long long)json_integer_value(json_object_get(f,
		    "id")));
		out_cell(stdout, out_str(f, "contact_name", "?"), 0, -1);
		printf(", %s (%s)", when, rel);
		if (json_is_string(json_object_get(f, "reason"))) {
			printf(": ");
			out_cell(stdout, out_str(f, "reason", ""), 0, -1);
		}
		printf("%s\n", json_is_true(json_object_get(n, "late")) ?
		    " [late]" : "");
		if (json_is_string(json_object_get(n, "advice"))) {
			printf("%*s", (int)strlen(now) + 10, "");
			out_cell(stdout, out_str(n, "advice", ""), 0, -1);
			printf("\n");
		}
	} else if (strcmp(kind, "digest") == 0)
		printf("%s DIGEST   %s: %zu overdue, %zu today, %zu stale\n",
		    now, out_str(n, "date", "?"),
		    json_array_size(json_object_get(n, "overdue")),
		    json_array_size(json_object_get(n, "today")),
		    json_array_size(json_object_get(n, "stale")));
	else if (strcmp(kind, "skipped") == 0)
		printf("%s SKIPPED  %lld notices not shown: this watch fell "
		    "behind (they were delivered all the same)\n", now,
		    (long long)json_integer_value(json_object_get(n,
		    "count")));
	else
		printf("%s %-8s %lld notices came due while followupd was "
		    "down\n", now, up, (long long)json_integer_value(
		    json_object_get(n, "count")));
	fflush(stdout);
}

static int
cmd_watch_exec(struct client *c, int argc, char **argv)
{
	json_t	*args, *r, *ev;
	char	*text;
	int	 rc, all = 0;

	if (argc == 2 && strcmp(argv[1], "--all") == 0)
		all = 1;
	else if (argc > 1)
		return cmd_usage_error(&cmd_watch_entry, "unexpected \"%s\"",
		    argv[1]);
	args = all ? json_pack("{s:s}", "owner", "*") : NULL;
	rc = rpc_call(c, FU_OP_WATCH, args, &r);
	json_decref(args);
	if (rc != 0)
		return rc;
	json_decref(r);
	if (!c->json) {
		printf("Watching %s reminders (Ctrl-C to stop).\n",
		    all ? "the whole team's" : c->as != NULL ? "that rep's" :
		    "your");
		fflush(stdout);
	}
	for (;;) {
		if (rpc_read_reply(c, &ev) != 0)
			return EXIT_UNREACHABLE;
		if (json_object_get(ev, "event") == NULL) {
			json_decref(ev);
			continue;
		}
		if (c->json) {
			text = json_dumps(ev, JSON_COMPACT);
			printf("%s\n", text != NULL ? text : "{}");
			fflush(stdout);
			free(text);
		} else
			watch_print(ev);
		json_decref(ev);
	}
}

const struct cmd_entry cmd_watch_entry = {
	"watch", "[--all]",
	"Print your reminders as followupd delivers them: ahead of a "
	"follow-up,\nwhen it is due, a missed callback, the morning digest.  "
	"With --json,\none JSON event object per line.  Runs until "
	"interrupted.  --all (root and\nthe admin group) watches the whole "
	"team's.",
	cmd_watch_exec
};
