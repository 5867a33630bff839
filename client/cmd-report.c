/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup report: the pipeline by stage, follow-ups done on time, late or
 * missed, callbacks kept or missed, this week's voicemails and the stale
 * contacts, for you, a rep, or the whole team.
 */

#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

static long long
report_num(json_t *obj, const char *key)
{
	return (long long)json_integer_value(json_object_get(obj, key));
}

/* "63%", or "-" when nothing counts. */
static const char *
report_rate(json_t *obj, const char *key, char *buf, size_t len)
{
	json_t	*v = json_object_get(obj, key);

	if (!json_is_number(v))
		return "-";
	snprintf(buf, len, "%.0f%%", json_number_value(v) * 100.0);
	return buf;
}

/* The figures of one rep, or of the team (totals: no lists). */
static void
report_block(json_t *rep, const char *title)
{
	json_t		*fu, *cb, *v, *n;
	const char	*stage;
	char		 rate[16], when[64];
	size_t		 i;
	int		 first = 1;

	printf("%s\n  pipeline    ", title);
	json_object_foreach(json_object_get(rep, "pipeline"), stage, n) {
		printf("%s%s %lld", first ? "" : ", ", stage,
		    (long long)json_integer_value(n));
		first = 0;
	}
	printf("\n");
	fu = json_object_get(rep, "followups");
	printf("  follow-ups  %lld on time, %lld late, %lld missed, %lld open "
	    "(on time: %s)\n", report_num(fu, "on_time"),
	    report_num(fu, "late"), report_num(fu, "missed"),
	    report_num(fu, "open"), report_rate(fu, "on_time_rate", rate,
	    sizeof rate));
	cb = json_object_get(rep, "callbacks");
	printf("  callbacks   %lld kept, %lld early, %lld late, %lld missed, "
	    "%lld open (kept: %s); %lld moved in good time\n",
	    report_num(cb, "kept"), report_num(cb, "early"),
	    report_num(cb, "late"), report_num(cb, "missed"),
	    report_num(cb, "open"), report_rate(cb, "kept_rate", rate,
	    sizeof rate), report_num(cb, "reagreed"));
	if (json_array_size(json_object_get(rep, "voicemails")) > 0) {
		printf("  voicemails this week:\n");
		json_array_foreach(json_object_get(rep, "voicemails"), i, v) {
			printf("    %5lld  ", report_num(v, "contact_id"));
			out_cell(stdout, out_str(v, "contact_name", "?"), 28,
			    -1);
			printf(" %lld%s\n", report_num(v, "this_week"),
			    json_is_true(json_object_get(v, "over_limit")) ?
			    "  OVER THE LIMIT" : "");
		}
	}
	if (json_array_size(json_object_get(rep, "stale")) > 0) {
		printf("  stale (nothing planned, no news for a while):\n");
		json_array_foreach(json_object_get(rep, "stale"), i, v) {
			out_time(out_parse_time(out_str(v, "last_activity_at",
			    NULL)), when, sizeof when);
			printf("    %5lld  ", report_num(v, "id"));
			out_cell(stdout, out_str(v, "name", "?"), 28, -1);
			printf(" %-12s last news %s\n", out_str(v, "stage",
			    "?"), when);
		}
	}
}

static int
cmd_report_exec(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since",	required_argument,	NULL, 's' },
		{ "rep",	required_argument,	NULL, 'r' },
		{ "all",	no_argument,		NULL, 'a' },
		{ "tz",		required_argument,	NULL, 'z' },
		{ NULL,		0,			NULL, 0 }
	};
	json_t		*args, *r, *rep;
	char		 since[64], title[128];
	size_t		 i;
	int		 ch, rc;

	args = json_object();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			json_object_set_new(args, "since", cmd_string(optarg));
			break;
		case 'r':
			json_object_set_new(args, "owner", cmd_string(optarg));
			break;
		case 'a':
			json_object_set_new(args, "owner", cmd_string("*"));
			break;
		case 'z':
			json_object_set_new(args, "tz", cmd_string(optarg));
			break;
		default:
			json_decref(args);
			return cmd_usage_error(&cmd_report_entry,
			    "unknown option");
		}
	}
	if (optind != argc) {
		json_decref(args);
		return cmd_usage_error(&cmd_report_entry, "unexpected "
		    "argument \"%s\"", argv[optind]);
	}
	if ((rc = cmd_call_and_print(c, FU_OP_REPORT, args, &r)) != 0 ||
	    r == NULL)
		return rc;
	out_time(out_parse_time(out_str(r, "since", NULL)), since,
	    sizeof since);
	printf("Since %s:\n\n", since);
	json_array_foreach(json_object_get(r, "reps"), i, rep) {
		snprintf(title, sizeof title, "%s", out_str(rep, "rep", "?"));
		report_block(rep, title);
		printf("\n");
	}
	if (json_is_null(json_object_get(r, "owner")))
		report_block(json_object_get(r, "totals"), "the team");
	json_decref(r);
	return 0;
}

const struct cmd_entry cmd_report_entry = {
	"report",
	"[--since WHEN] [--rep USER | --all] [--tz ZONE]",
	"How you are doing since WHEN (default: 30 days ago): contacts per "
	"stage;\nfollow-ups that fell due done on time (a callback within "
	"callback_tolerance\nof its agreed time, a follow-up on its day), late, "
	"missed (still open after\nthe grace or the day; one moved after it "
	"was missed still counts), the\non-time rate, and how many are open "
	"(pending, not yet missed, those due\nlater included); each callback "
	"promise that fell due, judged by the time it\nwas agreed for: kept "
	"(done within callback_tolerance of it), early, late,\nmissed (also "
	"when re-agreed only after missing it), or moved in good time;\n"
	"this week's voicemails per contact, with any over the limit; and the "
	"stale\ncontacts.  Admins may see a rep's (--rep USER) or the whole "
	"team's, per rep\nand in total (--all).",
	cmd_report_exec
};
