/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup log: record a call, voicemail, email, meeting or note, and
 * plan the next step in the same breath.
 */

#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

static int
cmd_log_exec(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "outcome",	required_argument,	NULL, 'o' },
		{ "note",	required_argument,	NULL, 'n' },
		{ "at",		required_argument,	NULL, 'a' },
		{ "next",	required_argument,	NULL, 'x' },
		{ "callback",	no_argument,		NULL, 'c' },
		{ "reason",	required_argument,	NULL, 'r' },
		{ "tz",		required_argument,	NULL, 'z' },
		{ "no-next",	no_argument,		NULL, 'N' },
		{ "force",	no_argument,		NULL, 'f' },
		{ "confirm",	no_argument,		NULL, 'm' },
		{ NULL,		0,			NULL, 0 }
	};
	json_t		*args, *r, *fu, *in, *vm;
	long long	 id;
	int		 ch, rc, callback = 0, no_next = 0, confirm = 0;
	const char	*outcome, *why;

	args = json_object();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			json_object_set_new(args, "outcome",
			    cmd_string(optarg));
			break;
		case 'n':
			json_object_set_new(args, "note", cmd_string(optarg));
			break;
		case 'a':
			json_object_set_new(args, "at", cmd_string(optarg));
			break;
		case 'x':
			json_object_set_new(args, "next", cmd_string(optarg));
			break;
		case 'c':
			callback = 1;
			break;
		case 'm':
			confirm = 1;
			break;
		case 'r':
			json_object_set_new(args, "reason",
			    cmd_string(optarg));
			break;
		case 'z':
			json_object_set_new(args, "tz", cmd_string(optarg));
			break;
		case 'N':
			no_next = 1;
			json_object_set_new(args, "no_next", json_true());
			break;
		case 'f':
			json_object_set_new(args, "force", json_true());
			break;
		default:
			json_decref(args);
			return cmd_usage_error(&cmd_log_entry, "unknown option");
		}
	}
	if (argc - optind != 2) {
		json_decref(args);
		return cmd_usage_error(&cmd_log_entry, "expected CONTACT and "
		    "what happened (call, voicemail, email, meeting or note)");
	}
	if (cmd_parse_id(&cmd_log_entry, argv[optind], &id) != 0) {
		json_decref(args);
		return EXIT_USAGE;
	}
	if (no_next && json_object_get(args, "next") != NULL) {
		json_decref(args);
		return cmd_usage_error(&cmd_log_entry, "--no-next and --next "
		    "cannot go together");
	}
	if (callback && json_object_get(args, "next") == NULL) {
		json_decref(args);
		return cmd_usage_error(&cmd_log_entry, "--callback goes with "
		    "--next WHEN");
	}
	if (confirm && !callback) {
		json_decref(args);
		return cmd_usage_error(&cmd_log_entry, "--confirm goes with "
		    "--next WHEN --callback");
	}
	if (confirm)
		json_object_set_new(args, "confirm", json_true());
	json_object_set_new(args, "contact", json_integer(id));
	json_object_set_new(args, "kind", cmd_string(argv[optind + 1]));
	if (callback)
		json_object_set_new(args, "next_kind", cmd_string("callback"));
	if ((rc = cmd_call_and_print(c, FU_OP_INTERACTION_ADD, args, &r)) !=
	    0 || r == NULL)
		return rc;
	in = json_object_get(r, "interaction");
	outcome = out_str(in, "outcome", NULL);
	printf("Logged %s #%lld with contact %lld%s%s%s.\n",
	    out_str(in, "kind", "?"),
	    (long long)json_integer_value(json_object_get(in, "id")), id,
	    outcome != NULL ? " (" : "", outcome != NULL ? outcome : "",
	    outcome != NULL ? ")" : "");
	fu = json_object_get(r, "completed");
	if (json_is_object(fu))
		printf("Completed follow-up #%lld, which this answers.\n",
		    (long long)json_integer_value(json_object_get(fu, "id")));
	vm = json_object_get(r, "voicemails_this_week");
	if (json_is_integer(vm))
		printf("Voicemails this week: %lld of %lld%s.\n",
		    (long long)json_integer_value(vm),
		    (long long)json_integer_value(json_object_get(r,
		    "voicemail_limit")),
		    json_is_true(json_object_get(r, "over_limit")) ?
		    ", over the limit: the report flags it" : "");
	fu = json_object_get(r, "followup");
	why = out_str(r, "why", NULL);
	if (json_is_object(fu)) {
		if (why != NULL)
			printf("Next, %s:\n", why);
		else
			printf("Next:\n");
		out_followup_line(stdout, fu, time(NULL));
		out_confirmation(stdout, json_object_get(r, "confirmation"), 0);
	} else if (json_is_object(fu = json_object_get(r, "standing"))) {
		printf("Next, as already planned after a later interaction:\n");
		out_followup_line(stdout, fu, time(NULL));
	} else if (!no_next && outcome != NULL &&
	    strcmp(outcome, "reached") == 0)
		printf("Nothing planned next; add --next WHEN to plan it.\n");
	json_decref(r);
	return 0;
}

const struct cmd_entry cmd_log_entry = {
	"log",
	"CONTACT call|voicemail|email|meeting|note [--outcome O] [--note T] "
	"[--at WHEN]\n"
	"        [--next WHEN [--callback [--confirm]] [--reason T] "
	"[--force] | --no-next]\n        [--tz ZONE|contact]",
	"Record what happened with a contact.  --outcome is one of reached,\n"
	"no-answer, voicemail, message, busy, wrong-number, info-sent,\n"
	"meeting-set, not-interested, other (message: one left with the "
	"operator or\nan assistant, no voicemail).  --at says when it happened "
	"(default: now).\nLogging a call, voicemail, meeting (or an email "
	"with an outcome) completes\nthe contact's overdue or today's "
	"follow-up, and the next attempt an earlier\noutcome planned.  The "
	"outcome proposes the next step, unless one logged for a\nlater time "
	"already did: no-answer, voicemail, busy and message the next\n"
	"attempt by the voicemail cadence (after two weeks of voicemails, "
	"with a\nmessage left with the operator or an assistant); info-sent "
	"a follow-up some\nworking days later; --no-next plans nothing.\n"
	"--next plans it at WHEN instead (--callback for a time agreed with "
	"the\nprospect, --confirm to mail "
	"the prospect that time (see confirm); --force\ninto a "
	"week that already holds the voicemail limit).\nWHEN is any date "
	"\"date -d\" understands, or \"in 3 days\", read in your zone,\nor "
	"in ZONE, or in the contact's "
	"with --tz contact.",
	cmd_log_exec
};
