/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup agenda: who to call, overdue first, then by time, and the
 * prospects about to drop out of the pipeline.
 */

#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

static int
cmd_agenda_exec(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tz",		required_argument,	NULL, 'z' },
		{ "owner",	required_argument,	NULL, 'o' },
		{ "all",	no_argument,		NULL, 'T' },
		{ NULL,		0,			NULL, 0 }
	};
	static const char *const keys[] = { "overdue", "due", NULL };
	json_t		*args, *r, *v;
	char		*when, from[64], to[64];
	size_t		 i;
	time_t		 now = time(NULL);
	int		 ch, rc, empty, owners = 0;

	args = json_object();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'z':
			json_object_set_new(args, "tz", cmd_string(optarg));
			break;
		case 'o':
		case 'T':
			if ((rc = cmd_owner_opt(&cmd_agenda_entry, args, ch == 'T',
			    optarg)) != 0) {
				json_decref(args);
				return rc;
			}
			owners = ch == 'T';
			break;
		default:
			json_decref(args);
			return cmd_usage_error(&cmd_agenda_entry,
			    "unknown option");
		}
	}
	if (optind < argc) {
		when = cmd_join(argc - optind, argv + optind);
		if (strcmp(when, "today") == 0 ||
		    strcmp(when, "tomorrow") == 0 || strcmp(when, "week") == 0)
			json_object_set_new(args, "range", cmd_string(when));
		else
			json_object_set_new(args, "day", cmd_string(when));
		free(when);
	}
	if ((rc = cmd_call_pages(c, FU_OP_AGENDA, args, keys, 0, &r)) != 0 ||
	    r == NULL)
		return rc;
	empty = 1;
	out_followup_owners(owners);
	out_followup_prepare(json_object_get(r, "overdue"));
	out_followup_prepare(json_object_get(r, "due"));
	if (json_array_size(json_object_get(r, "overdue")) > 0) {
		printf("Overdue:\n");
		json_array_foreach(json_object_get(r, "overdue"), i, v)
			out_followup_line(stdout, v, now);
		empty = 0;
	}
	if (json_array_size(json_object_get(r, "due")) > 0) {
		out_time(out_parse_time(out_str(r, "from", NULL)), from,
		    sizeof from);
		out_time(out_parse_time(out_str(r, "to", NULL)) - 1, to,
		    sizeof to);
		printf("%sDue (%s to %s):\n", empty ? "" : "\n", from, to);
		json_array_foreach(json_object_get(r, "due"), i, v)
			out_followup_line(stdout, v, now);
		empty = 0;
	}
	if (empty)
		printf("Nothing due.\n");
	if (json_array_size(json_object_get(r, "stale")) > 0) {
		printf("\nStale (nothing planned, no news for a while):\n");
		json_array_foreach(json_object_get(r, "stale"), i, v) {
			printf("%5lld  ", (long long)json_integer_value(
			    json_object_get(v, "id")));
			if (owners) {
				out_cell(stdout, out_str(v, "owner", "?"), 0,
				    -1);
				printf(": ");
			}
			out_cell(stdout, out_str(v, "name", "?"), 0, -1);
			if (json_is_string(json_object_get(v, "company"))) {
				printf(" (");
				out_cell(stdout, out_str(v, "company", ""), 0,
				    -1);
				printf(")");
			}
			printf("  [%s]\n", out_str(v, "stage", ""));
		}
	}
	json_decref(r);
	return 0;
}

const struct cmd_entry cmd_agenda_entry = {
	"agenda",
	"[today|tomorrow|week|WHEN] [--tz ZONE] [--owner USER | --all]",
	"Show your overdue follow-ups (oldest first), then those due from now\n"
	"to the end of today (the default), tomorrow, the next seven days, or "
	"the\nlocal day that WHEN falls on (\"fri\", \"2026-11-27\"), by time "
	"with\ncallbacks first; then the stale contacts: in an open stage, "
	"nothing\nplanned and no news for a while.  Days are your local "
	"calendar days.\n\nAdmins (root and the admin group) may see a "
	"rep's agenda (--owner USER)\nor the whole team's (--all, each line "
	"naming its rep).",
	cmd_agenda_exec
};
