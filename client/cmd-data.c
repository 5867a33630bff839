/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup export and followup import: a rep's records out as a calendar,
 * a CSV table or JSON; contacts in from a CSV file or vCards.
 */

#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define DATA_WORD(e, s)	s,
static const char *const data_formats[] = {
	FU_EXPORT_FORMATS(DATA_WORD) NULL
};
static const char *const data_tables[] = {
	FU_EXPORT_TABLES(DATA_WORD) NULL
};
#undef DATA_WORD

/* Is word in the NULL-terminated list? */
static int
data_word_in(const char *const *list, const char *word)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, word) == 0)
			return 1;
	}
	return 0;
}

/* The export format a file name's extension names, or NULL. */
static const char *
data_format_of(const char *path)
{
	const char	*dot = strrchr(path, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return NULL;
	if (strcasecmp(dot, ".ics") == 0 || strcasecmp(dot, ".ical") == 0)
		return "ics";
	if (strcasecmp(dot, ".csv") == 0)
		return "csv";
	if (strcasecmp(dot, ".json") == 0)
		return "json";
	return NULL;
}

/* Write the document to path, or to standard output if path is NULL. */
static int
data_write(const char *path, const char *doc)
{
	FILE	*f = stdout;
	size_t	 len = strlen(doc);

	if (path != NULL && (f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "followup: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (fwrite(doc, 1, len, f) != len || fflush(f) != 0 ||
	    (path != NULL && fclose(f) != 0)) {
		fprintf(stderr, "followup: %s: %s\n", path != NULL ? path :
		    "standard output", strerror(errno));
		if (path != NULL && f != stdout)
			fclose(f);
		return EXIT_USAGE;
	}
	return 0;
}

static int
cmd_export_exec(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format",	required_argument,	NULL, 'f' },
		{ "what",	required_argument,	NULL, 'w' },
		{ "owner",	required_argument,	NULL, 'O' },
		{ "all",	no_argument,		NULL, 'A' },
		{ "output",	required_argument,	NULL, 'o' },
		{ NULL,		0,			NULL, 0 }
	};
	const char	*format = NULL, *what = NULL, *owner = NULL;
	const char	*path = NULL, *doc;
	json_t		*args, *r, *counts, *v;
	const char	*key;
	long long	 n;
	int		 ch, rc, first = 1;

	while ((ch = getopt_long(argc, argv, "f:o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			format = optarg;
			break;
		case 'w':
			what = optarg;
			break;
		case 'O':
		case 'A':
			if (owner != NULL)
				return cmd_usage_error(&cmd_export_entry,
				    "give --owner or --all once");
			owner = ch == 'A' ? "*" : optarg;
			break;
		case 'o':
			path = strcmp(optarg, "-") == 0 ? NULL : optarg;
			break;
		default:
			return cmd_usage_error(&cmd_export_entry,
			    "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_export_entry, "unexpected \"%s\"",
		    argv[optind]);
	if (format == NULL && path != NULL)
		format = data_format_of(path);
	if (format == NULL)
		return cmd_usage_error(&cmd_export_entry, "which format: "
		    "--format ics, csv or json?");
	if (!data_word_in(data_formats, format))
		return cmd_usage_error(&cmd_export_entry, "unknown format "
		    "\"%s\" (ics, csv or json)", format);
	if (what != NULL && strcmp(format, "csv") != 0)
		return cmd_usage_error(&cmd_export_entry, "--what chooses the "
		    "table of a CSV export");
	if (what != NULL && !data_word_in(data_tables, what))
		return cmd_usage_error(&cmd_export_entry, "unknown table "
		    "\"%s\" (contacts, interactions or followups)", what);

	args = json_pack("{s:s s:s? s:s?}", "format", format, "what", what,
	    "owner", owner);
	if (what == NULL)
		json_object_del(args, "what");
	if (owner == NULL)
		json_object_del(args, "owner");
	rc = rpc_call(c, FU_OP_EXPORT, args, &r);
	json_decref(args);
	if (rc != 0)
		return rc;
	if (c->json) {
		out_json(r);
		json_decref(r);
		return 0;
	}
	doc = json_string_value(json_object_get(r, "document"));
	if ((rc = data_write(path, doc != NULL ? doc : "")) == 0 &&
	    path != NULL) {
		printf("Exported ");
		counts = json_object_get(r, "counts");
		json_object_foreach(counts, key, v) {
			n = json_integer_value(v);
			printf("%s%lld %s%s", first ? "" : ", ", n,
			    strcmp(key, "contacts") == 0 ? "contact" :
			    strcmp(key, "interactions") == 0 ? "interaction" :
			    "follow-up", n == 1 ? "" : "s");
			first = 0;
		}
		printf(" to %s.\n", path);
	}
	json_decref(r);
	return rc;
}

const struct cmd_entry cmd_export_entry = {
	"export",
	"--format ics|csv|json [--what contacts|interactions|followups]\n"
	"        [--owner USER | --all] [-o FILE]",
	"Write your records as one document, to standard output or to FILE\n"
	"(whose extension .ics, .csv or .json may stand for --format):\n\n"
	"  ics   an iCalendar of your pending follow-ups, one event each with "
	"an\n        alarm at its reminder, for Thunderbird, Evolution, Apple "
	"or Google\n        Calendar; exporting again updates the same events\n"
	"  csv   one table for a spreadsheet or another CRM: contacts unless\n"
	"        --what interactions or --what followups (RFC 4180, UTF-8, "
	"times\n        in UTC); an exported contacts file imports back\n"
	"  json  contacts, interactions and follow-ups as the daemon shows "
	"them\n\nAdmins may export a rep's records (--owner USER) or the whole "
	"team's (--all).",
	cmd_export_exec
};
