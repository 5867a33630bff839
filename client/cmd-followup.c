/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The follow-up commands: list, show, done, snooze, reschedule, reagree,
 * cancel, and confirm (the agreed time mailed to the contact).
 */

#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

/* Print a changed follow-up: "Done: 31 ...". */
static void
followup_result(json_t *r, const char *verb)
{
	json_t	*next;

	printf("%s:\n", verb);
	out_followup_line(stdout, json_object_get(r, "followup"), time(NULL));
	next = json_object_get(r, "next");
	if (json_is_object(next)) {
		printf("Next:\n");
		out_followup_line(stdout, next, time(NULL));
	}
	out_confirmation(stdout, json_object_get(r, "confirmation"), 0);
}

static int
cmd_list_exec(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "contact",	required_argument,	NULL, 'c' },
		{ "status",	required_argument,	NULL, 's' },
		{ "from",	required_argument,	NULL, 'f' },
		{ "to",		required_argument,	NULL, 't' },
		{ "limit",	required_argument,	NULL, 'l' },
		{ "tz",		required_argument,	NULL, 'z' },
		{ "owner",	required_argument,	NULL, 'o' },
		{ "all",	no_argument,		NULL, 'T' },
		{ NULL,		0,			NULL, 0 }
	};
	static const char *const keys[] = { "followups", NULL };
	json_t		*args, *r, *v;
	long long	 n, limit = 0;
	size_t		 i;
	int		 ch, rc, owners = 0;

	args = json_object();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
		case 'l':
			if (cmd_parse_id(&cmd_list_entry, optarg, &n) != 0) {
				json_decref(args);
				return EXIT_USAGE;
			}
			if (ch == 'l')
				limit = n;
			else
				json_object_set_new(args, "contact",
				    json_integer(n));
			break;
		case 's':
			json_object_set_new(args, "status", cmd_string(optarg));
			break;
		case 'f':
			json_object_set_new(args, "from", cmd_string(optarg));
			break;
		case 't':
			json_object_set_new(args, "to", cmd_string(optarg));
			break;
		case 'z':
			json_object_set_new(args, "tz", cmd_string(optarg));
			break;
		case 'o':
		case 'T':
			if ((rc = cmd_owner_opt(&cmd_list_entry, args, ch == 'T',
			    optarg)) != 0) {
				json_decref(args);
				return rc;
			}
			owners = ch == 'T';
			break;
		default:
			json_decref(args);
			return cmd_usage_error(&cmd_list_entry,
			    "unknown option");
		}
	}
	if (optind < argc) {
		json_decref(args);
		return cmd_usage_error(&cmd_list_entry, "unexpected \"%s\"",
		    argv[optind]);
	}
	if ((rc = cmd_call_pages(c, FU_OP_FOLLOWUP_LIST, args, keys, limit,
	    &r)) != 0 || r == NULL)
		return rc;
	if (json_array_size(json_object_get(r, "followups")) == 0)
		printf("No follow-ups.\n");
	else {
		out_followup_owners(owners);
		out_followup_prepare(json_object_get(r, "followups"));
		json_array_foreach(json_object_get(r, "followups"), i, v)
			out_followup_line(stdout, v, time(NULL));
	}
	json_decref(r);
	return 0;
}

/*
 * What became of each confirmation to the contact: "Confirmation: sent
 * for Fri 15 Jan 09:00", queued, or given up and why.
 */
static void
followup_confirmations(json_t *list)
{
	json_t		*v;
	size_t		 i;
	char		 when[64];
	const char	*state, *error;

	json_array_foreach(list, i, v) {
		state = out_str(v, "state", "?");
		error = out_str(v, "error", NULL);
		out_time(out_parse_time(out_str(v, "time", NULL)), when,
		    sizeof when);
		printf("  %s: %s, for %s%s", strcmp(out_str(v, "kind", ""),
		    "cancellation") == 0 ? "Cancellation" : "Confirmation",
		    state, when, error != NULL ? " (" : "");
		if (error != NULL) {
			out_block(stdout, error, 4);
			printf(")");
		}
		printf("\n");
	}
}

/*
 * The shared shape of show/done/snooze/reschedule/cancel: an ID, maybe a
 * WHEN (the rest of the words), and a few options.
 */
static int
followup_cmd(struct client *c, const struct cmd_entry *e, int argc,
    char **argv, enum fu_op op, const char *when_arg, const char *verb)
{
	static const struct option opts[] = {
		{ "note",	required_argument,	NULL, 'n' },
		{ "next",	required_argument,	NULL, 'x' },
		{ "callback",	no_argument,		NULL, 'c' },
		{ "reason",	required_argument,	NULL, 'r' },
		{ "tz",		required_argument,	NULL, 'z' },
		{ "force",	no_argument,		NULL, 'f' },
		{ "confirm",	no_argument,		NULL, 'm' },
		{ NULL,		0,			NULL, 0 }
	};
	json_t		*args, *r;
	long long	 id;
	char		*when;
	int		 ch, rc, callback = 0;

	args = json_object();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (op != FU_OP_FOLLOWUP_DONE &&
			    op != FU_OP_FOLLOWUP_CANCEL &&
			    op != FU_OP_FOLLOWUP_REAGREE &&
			    op != FU_OP_FOLLOWUP_RESCHEDULE)
				goto bad;
			json_object_set_new(args, "note", cmd_string(optarg));
			break;
		case 'x':
		case 'r':
		case 'c':
			if (op != FU_OP_FOLLOWUP_DONE)
				goto bad;
			if (ch == 'c')
				callback = 1;
			else
				json_object_set_new(args, ch == 'x' ? "next" :
				    "reason", cmd_string(optarg));
			break;
		case 'f':
			if (op != FU_OP_FOLLOWUP_DONE &&
			    op != FU_OP_FOLLOWUP_SNOOZE &&
			    op != FU_OP_FOLLOWUP_RESCHEDULE)
				goto bad;
			json_object_set_new(args, "force", json_true());
			break;
		case 'z':
			if (when_arg == NULL && op != FU_OP_FOLLOWUP_DONE)
				goto bad;
			json_object_set_new(args, "tz", cmd_string(optarg));
			break;
		case 'm':
			if (op != FU_OP_FOLLOWUP_REAGREE &&
			    op != FU_OP_FOLLOWUP_CANCEL)
				goto bad;
			json_object_set_new(args, "confirm", json_true());
			break;
		default:
			goto bad;
		}
	}
	if (optind >= argc || (when_arg != NULL && argc - optind < 2) ||
	    (when_arg == NULL && argc - optind != 1)) {
		json_decref(args);
		return cmd_usage_error(e, when_arg != NULL ? "expected ID and "
		    "WHEN" : "expected one follow-up ID");
	}
	if (cmd_parse_id(e, argv[optind], &id) != 0) {
		json_decref(args);
		return EXIT_USAGE;
	}
	if (callback) {
		if (json_object_get(args, "next") == NULL) {
			json_decref(args);
			return cmd_usage_error(e, "--callback goes with --next");
		}
		json_object_set_new(args, "next_kind", cmd_string("callback"));
	}
	json_object_set_new(args, "id", json_integer(id));
	if (when_arg != NULL) {
		when = cmd_join(argc - optind - 1, argv + optind + 1);
		json_object_set_new(args, when_arg, cmd_string(when));
		free(when);
	}
	if ((rc = cmd_call_and_print(c, op, args, &r)) != 0 || r == NULL)
		return rc;
	if (op == FU_OP_FOLLOWUP_GET) {
		out_followup_detail(stdout, json_object_get(r, "followup"),
		    time(NULL));
		followup_confirmations(json_object_get(r, "confirmations"));
	} else
		followup_result(r, verb);
	json_decref(r);
	return 0;
bad:
	json_decref(args);
	return cmd_usage_error(e, "unknown option");
}

static int
cmd_show_exec(struct client *c, int argc, char **argv)
{
	return followup_cmd(c, &cmd_show_entry, argc, argv, FU_OP_FOLLOWUP_GET,
	    NULL, "Follow-up");
}

static int
cmd_done_exec(struct client *c, int argc, char **argv)
{
	return followup_cmd(c, &cmd_done_entry, argc, argv,
	    FU_OP_FOLLOWUP_DONE, NULL, "Done");
}

static int
cmd_snooze_exec(struct client *c, int argc, char **argv)
{
	return followup_cmd(c, &cmd_snooze_entry, argc, argv,
	    FU_OP_FOLLOWUP_SNOOZE, "until", "Snoozed");
}

static int
cmd_reschedule_exec(struct client *c, int argc, char **argv)
{
	return followup_cmd(c, &cmd_reschedule_entry, argc, argv,
	    FU_OP_FOLLOWUP_RESCHEDULE, "due", "Rescheduled");
}

static int
cmd_reagree_exec(struct client *c, int argc, char **argv)
{
	return followup_cmd(c, &cmd_reagree_entry, argc, argv,
	    FU_OP_FOLLOWUP_REAGREE, "due", "Re-agreed");
}

static int
cmd_cancel_exec(struct client *c, int argc, char **argv)
{
	return followup_cmd(c, &cmd_cancel_entry, argc, argv,
	    FU_OP_FOLLOWUP_CANCEL, NULL, "Cancelled");
}

/* followup confirm ID [--dry-run]: mail the contact the agreed time. */
static int
cmd_confirm_exec(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run",	no_argument,	NULL, 'n' },
		{ NULL,		0,		NULL, 0 }
	};
	json_t		*args, *r;
	long long	 id;
	int		 ch, rc, dry = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'n')
			return cmd_usage_error(&cmd_confirm_entry,
			    "unknown option");
		dry = 1;
	}
	if (argc - optind != 1)
		return cmd_usage_error(&cmd_confirm_entry, "expected one "
		    "follow-up ID");
	if (cmd_parse_id(&cmd_confirm_entry, argv[optind], &id) != 0)
		return EXIT_USAGE;
	args = json_pack("{s:I s:b}", "id", (json_int_t)id, "dry_run", dry);
	if ((rc = cmd_call_and_print(c, FU_OP_FOLLOWUP_CONFIRM, args, &r)) !=
	    0 || r == NULL)
		return rc;
	out_confirmation(stdout, json_object_get(r, "confirmation"), dry);
	json_decref(r);
	return 0;
}

const struct cmd_entry cmd_list_entry = {
	"list",
	"[--contact ID] [--status pending|done|cancelled|all] [--from WHEN] "
	"[--to WHEN] [--limit N]\n"
	"        [--owner USER | --all] [--tz ZONE|contact]",
	"List your follow-ups by due time: pending ones unless --status says\n"
	"otherwise, of one contact with --contact (that contact's owner's\n"
	"follow-ups on it), due between --from and --to (read in your zone, in\n"
	"ZONE, or with --contact in the contact's with --tz contact): all of\n"
	"them, or the first N.\n"
	"\nAdmins (root and the admin group) may list a rep's follow-ups\n"
	"(--owner USER) or the whole team's (--all, each line naming its rep).",
	cmd_list_exec
};
const struct cmd_entry cmd_show_entry = {
	"show", "ID",
	"Show follow-up ID in full.",
	cmd_show_exec
};
const struct cmd_entry cmd_done_entry = {
	"done", "ID [--note T] [--next WHEN [--callback] [--reason T] "
	"[--force]]\n        [--tz ZONE|contact]",
	"Mark follow-up ID done, with an optional note, and plan the next one\n"
	"on the same contact with --next (a callback with --callback; --force "
	"into a\nweek that already holds the contact's voicemail limit).",
	cmd_done_exec
};
const struct cmd_entry cmd_snooze_entry = {
	"snooze", "ID WHEN [--force] [--tz ZONE|contact]",
	"Put follow-up ID off until WHEN (\"in 1 hour\", \"tomorrow 9am\"); it "
	"is\nreminded afresh for the new time.  Not into another week that "
	"already holds\nthe contact's voicemail limit unless --force.",
	cmd_snooze_exec
};
const struct cmd_entry cmd_reschedule_entry = {
	"reschedule", "ID WHEN [--note T] [--force] [--tz ZONE|contact]",
	"Move follow-up ID to a new agreed time WHEN; it is reminded afresh.\n"
	"For a callback this is a new promise: its history records it.  A "
	"follow-up\nis not moved into another week that already holds the "
	"contact's voicemail\nlimit unless --force.",
	cmd_reschedule_exec
};
const struct cmd_entry cmd_reagree_entry = {
	"reagree", "ID WHEN [--note T] [--tz ZONE|contact] [--confirm]",
	"Move callback ID, missed or about to be, to the new time WHEN agreed "
	"with\nthe prospect, and record that it was re-agreed (and whether it "
	"had been\nmissed): the contact's record shows each callback's "
	"promise history.\nWith --confirm the contact is mailed the new time "
	"(see confirm).",
	cmd_reagree_exec
};
const struct cmd_entry cmd_cancel_entry = {
	"cancel", "ID [--note T] [--confirm]",
	"Cancel follow-up ID; it is not reminded any more.  With --confirm "
	"the\ncontact is mailed that the agreed time is cancelled.",
	cmd_cancel_exec
};
const struct cmd_entry cmd_confirm_entry = {
	"confirm", "ID [--dry-run]",
	"Mail the contact of follow-up ID the agreed time, signed with your "
	"name,\nphone and email (followup config name|phone|email), with a "
	"calendar\ninvitation.  Nothing goes to a contact unless you ask.  "
	"It goes out through\nthe daemon's mail hook; show ID tells whether "
	"it was sent.  --dry-run prints\nthe message and sends nothing.",
	cmd_confirm_exec
};
