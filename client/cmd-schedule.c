/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup schedule: plan a follow-up or an agreed callback.
 */

#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

static int
cmd_schedule_exec(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "callback",	no_argument,		NULL, 'c' },
		{ "reason",	required_argument,	NULL, 'r' },
		{ "remind",	required_argument,	NULL, 'm' },
		{ "force",	no_argument,		NULL, 'f' },
		{ "tz",		required_argument,	NULL, 'z' },
		{ "confirm",	no_argument,		NULL, 'C' },
		{ NULL,		0,			NULL, 0 }
	};
	json_t		*args, *r, *fu;
	long long	 id;
	char		*when, at[64], rel[32];
	time_t		 due;
	int		 ch, rc;

	args = json_object();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			json_object_set_new(args, "kind",
			    cmd_string("callback"));
			break;
		case 'r':
			json_object_set_new(args, "reason",
			    cmd_string(optarg));
			break;
		case 'm':
			json_object_set_new(args, "remind_before",
			    cmd_string(optarg));
			break;
		case 'f':
			json_object_set_new(args, "force", json_true());
			break;
		case 'z':
			json_object_set_new(args, "tz", cmd_string(optarg));
			break;
		case 'C':
			json_object_set_new(args, "confirm", json_true());
			break;
		default:
			json_decref(args);
			return cmd_usage_error(&cmd_schedule_entry,
			    "unknown option");
		}
	}
	if (argc - optind < 2) {
		json_decref(args);
		return cmd_usage_error(&cmd_schedule_entry, "expected CONTACT "
		    "and WHEN");
	}
	if (json_object_get(args, "confirm") != NULL &&
	    json_object_get(args, "kind") == NULL) {
		json_decref(args);
		return cmd_usage_error(&cmd_schedule_entry, "--confirm goes "
		    "with --callback");
	}
	if (cmd_parse_id(&cmd_schedule_entry, argv[optind], &id) != 0) {
		json_decref(args);
		return EXIT_USAGE;
	}
	when = cmd_join(argc - optind - 1, argv + optind + 1);
	json_object_set_new(args, "contact", json_integer(id));
	json_object_set_new(args, "due", cmd_string(when));
	free(when);
	if ((rc = cmd_call_and_print(c, FU_OP_FOLLOWUP_ADD, args, &r)) != 0 ||
	    r == NULL)
		return rc;
	fu = json_object_get(r, "followup");
	due = out_parse_time(out_str(fu, "due_at", NULL));
	out_time_dual(out_str(fu, "contact_tz", NULL), due, at, sizeof at);
	out_relative(due, time(NULL), rel, sizeof rel);
	printf("Scheduled %s %lld with %s, %s, %s\n",
	    strcmp(out_str(fu, "kind", ""), "callback") == 0 ? "callback" :
	    "follow-up", (long long)json_integer_value(json_object_get(fu,
	    "id")), out_str(fu, "contact_name", "?"), at, rel);
	out_confirmation(stdout, json_object_get(r, "confirmation"), 0);
	json_decref(r);
	return 0;
}

const struct cmd_entry cmd_schedule_entry = {
	"schedule",
	"CONTACT WHEN [--callback [--confirm]] [--reason T] [--remind BEFORE] "
	"[--force]\n        [--tz ZONE|contact]",
	"Plan the next contact with CONTACT at WHEN: any date \"date -d\"\n"
	"understands (\"tue 10:00\", \"tomorrow 9am\", \"2026-11-24 14:30\") or "
	"\"in 3 days\",\nread in your zone, in ZONE, or in the contact's "
	"(--tz contact).  WHEN may\nbe several words.  --callback marks a time "
	"agreed with the prospect,\nand --confirm mails the prospect that time "
	"(see confirm).  --remind says how\nlong before to remind "
	"you (15m, 1h; default: the configured lead).\nA time in the past is "
	"refused unless --force.",
	cmd_schedule_exec
};
