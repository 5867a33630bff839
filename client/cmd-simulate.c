/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup simulate: the reminders, due and missed notices and digests
 * that would go out in a window, when and why, without sending anything.
 */

#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

/* Widest contact name the table gives room to. */
#define SIMULATE_NAME_MAX	24

/*
 * When ev goes out: in the reader's zone, or for a follow-up's notice
 * whose contact reads the time differently, theirs then "(16:00 yours)".
 */
static void
simulate_when(json_t *ev, char *buf, size_t len)
{
	out_time_dual(out_str(json_object_get(ev, "followup"), "contact_tz",
	    NULL), out_parse_time(out_str(ev, "at", NULL)), buf, len);
}

/*
 * The events as an aligned table, times in the reader's zone, and in the
 * contact's first where theirs differs.
 */
static void
simulate_table(json_t *events, int owners)
{
	json_t		*ev, *fu;
	const char	*name;
	char		 when[96], id[32];
	size_t		 i;
	int		 wn = 7, wo = 5, wi = 3, ww = 16, len;

	json_array_foreach(events, i, ev) {
		fu = json_object_get(ev, "followup");
		simulate_when(ev, when, sizeof when);
		if ((len = (int)strlen(when)) > ww)
			ww = len;
		len = out_width(out_str(fu, "contact_name", "-"));
		if (len > wn)
			wn = len > SIMULATE_NAME_MAX ? SIMULATE_NAME_MAX : len;
		len = snprintf(id, sizeof id, "#%lld", (long long)
		    json_integer_value(json_object_get(fu, "id")));
		if (len > wi)
			wi = len;
		len = out_width(out_str(ev, "owner", ""));
		if (len > wo)
			wo = len;
	}
	printf("%-*s  %-8s  ", ww, "WHEN", "KIND");
	if (owners)
		printf("%-*s  ", wo, "OWNER");
	printf("%-*s  %-*s  %s\n", wi, "#ID", wn, "CONTACT", "WHY");
	json_array_foreach(events, i, ev) {
		fu = json_object_get(ev, "followup");
		simulate_when(ev, when, sizeof when);
		if (json_is_object(fu)) {
			snprintf(id, sizeof id, "#%lld", (long long)
			    json_integer_value(json_object_get(fu, "id")));
			name = out_str(fu, "contact_name", "?");
		} else {
			snprintf(id, sizeof id, "-");
			name = "-";
		}
		printf("%-*s  %-8s  ", ww, when, out_str(ev, "kind", "?"));
		if (owners) {
			out_cell(stdout, out_str(ev, "owner", ""), wo, -1);
			printf("  ");
		}
		printf("%-*s  ", wi, id);
		out_cell(stdout, name, wn, wn);
		printf("  ");
		out_cell(stdout, out_str(ev, "why", ""), 0, -1);
		printf("\n");
	}
}

static int
cmd_simulate_exec(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from",	required_argument,	NULL, 'f' },
		{ "to",		required_argument,	NULL, 't' },
		{ "owner",	required_argument,	NULL, 'o' },
		{ "all",	no_argument,		NULL, 'T' },
		{ "tz",		required_argument,	NULL, 'z' },
		{ NULL,		0,			NULL, 0 }
	};
	json_t		*args, *r, *events;
	char		 from[64], to[64];
	int		 ch, rc, owners = 0;

	args = json_object();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			json_object_set_new(args, "from", cmd_string(optarg));
			break;
		case 't':
			json_object_set_new(args, "to", cmd_string(optarg));
			break;
		case 'o':
		case 'T':
			if ((rc = cmd_owner_opt(&cmd_simulate_entry, args, ch == 'T',
			    optarg)) != 0) {
				json_decref(args);
				return rc;
			}
			owners = ch == 'T';
			break;
		case 'z':
			json_object_set_new(args, "tz", cmd_string(optarg));
			break;
		default:
			json_decref(args);
			return cmd_usage_error(&cmd_simulate_entry,
			    "unknown option");
		}
	}
	if (optind < argc) {
		json_decref(args);
		return cmd_usage_error(&cmd_simulate_entry, "unexpected "
		    "\"%s\" (put a time after --from or --to, quoted)",
		    argv[optind]);
	}
	if ((rc = cmd_call_and_print(c, FU_OP_SIMULATE, args, &r)) != 0 ||
	    r == NULL)
		return rc;
	out_time(out_parse_time(out_str(r, "from", NULL)), from, sizeof from);
	out_time(out_parse_time(out_str(r, "to", NULL)), to, sizeof to);
	events = json_object_get(r, "events");
	if (json_array_size(events) == 0)
		printf("Nothing would go out from %s to %s.\n", from, to);
	else {
		printf("What would go out from %s to %s if nothing changes:"
		    "\n\n", from, to);
		simulate_table(events, owners);
	}
	if (json_is_true(json_object_get(r, "truncated")))
		printf("\nOnly the first %zu are shown; ask for a shorter "
		    "window.\n", json_array_size(events));
	json_decref(r);
	return 0;
}

const struct cmd_entry cmd_simulate_entry = {
	"simulate",
	"[--from WHEN] [--to WHEN] [--owner USER | --all] [--tz ZONE]",
	"List every reminder, due notice, missed-callback notice and morning\n"
	"digest that would go out between --from (default now) and --to\n"
	"(default seven days later; at most 31 days), when, and why, if "
	"nothing\nchanges meanwhile.  Nothing is sent and nothing changes: "
	"use it to check\na schedule across a daylight-saving change or "
	"before a holiday.  A\ndigest with nothing to list is not sent, so it "
	"is not shown.  Times are\nread in your zone (or --tz ZONE) and "
	"shown in the reader's; a contact\nwhose zone differs gets theirs "
	"first (\"Tue 10:00 (16:00 yours)\").\nAdmins may look at another "
	"rep's schedule (--owner USER) or the whole\nteam's (--all).",
	cmd_simulate_exec
};
