/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup contact add | list | show | edit | archive.
 */

#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

static const struct option contact_fields[] = {
	{ "name",	required_argument,	NULL, 'N' },
	{ "company",	required_argument,	NULL, 'c' },
	{ "phone",	required_argument,	NULL, 'p' },
	{ "email",	required_argument,	NULL, 'e' },
	{ "tz",		required_argument,	NULL, 'z' },
	{ "stage",	required_argument,	NULL, 's' },
	{ "note",	required_argument,	NULL, 'n' },
	{ "notes",	required_argument,	NULL, 'n' },
	{ NULL,		0,			NULL, 0 }
};

/* Put a field option into args; an empty value clears it (null). */
static int
contact_field(json_t *args, int ch, const char *value)
{
	const char	*key;

	switch (ch) {
	case 'N':
		key = "name";
		break;
	case 'c':
		key = "company";
		break;
	case 'p':
		key = "phone";
		break;
	case 'e':
		key = "email";
		break;
	case 'z':
		key = "tz";
		break;
	case 's':
		key = "stage";
		break;
	case 'n':
		key = "notes";
		break;
	default:
		return -1;
	}
	json_object_set_new(args, key, *value == '\0' &&
	    strcmp(key, "name") != 0 && strcmp(key, "stage") != 0 ?
	    json_null() : cmd_string(value));
	return 0;
}

static void
contact_print(json_t *r, const char *verb)
{
	json_t	*ct = json_object_get(r, "contact");

	printf("%s contact %lld: ", verb,
	    (long long)json_integer_value(json_object_get(ct, "id")));
	out_cell(stdout, out_str(ct, "name", "?"), 0, -1);
	if (json_is_string(json_object_get(ct, "company"))) {
		printf(" (");
		out_cell(stdout, out_str(ct, "company", ""), 0, -1);
		printf(")");
	}
	printf("\n");
}

static int
contact_add(struct client *c, int argc, char **argv)
{
	json_t	*args, *r;
	char	*name;
	int	 ch, rc;

	args = json_object();
	while ((ch = getopt_long(argc, argv, "", contact_fields, NULL)) != -1) {
		if (ch == 'N' || contact_field(args, ch, optarg) != 0) {
			json_decref(args);
			return cmd_usage_error(&cmd_contact_entry,
			    "unknown option for contact add");
		}
	}
	if (optind >= argc) {
		json_decref(args);
		return cmd_usage_error(&cmd_contact_entry, "contact add needs "
		    "a NAME");
	}
	name = cmd_join(argc - optind, argv + optind);
	json_object_set_new(args, "name", cmd_string(name));
	free(name);
	if ((rc = cmd_call_and_print(c, FU_OP_CONTACT_ADD, args, &r)) != 0 ||
	    r == NULL)
		return rc;
	contact_print(r, "Added");
	json_decref(r);
	return 0;
}

static int
contact_list(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stage",	required_argument,	NULL, 's' },
		{ "search",	required_argument,	NULL, 'q' },
		{ "archived",	no_argument,		NULL, 'a' },
		{ "limit",	required_argument,	NULL, 'l' },
		{ "after",	required_argument,	NULL, 'A' },
		{ "owner",	required_argument,	NULL, 'o' },
		{ "all",	no_argument,		NULL, 'T' },
		{ NULL,		0,			NULL, 0 }
	};
	json_t		*args, *r;
	long long	 n;
	int		 ch, rc, owners = 0;

	args = json_object();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			json_object_set_new(args, "stage", cmd_string(optarg));
			break;
		case 'q':
			json_object_set_new(args, "search",
			    cmd_string(optarg));
			break;
		case 'a':
			json_object_set_new(args, "archived", json_true());
			break;
		case 'o':
		case 'T':
			json_object_set_new(args, "owner", cmd_string(
			    ch == 'T' ? "*" : optarg));
			owners = 1;
			break;
		case 'l':
		case 'A':
			if (cmd_parse_id(&cmd_contact_entry, optarg, &n) != 0) {
				json_decref(args);
				return EXIT_USAGE;
			}
			json_object_set_new(args, ch == 'l' ? "limit" : "after",
			    json_integer(n));
			break;
		default:
			json_decref(args);
			return cmd_usage_error(&cmd_contact_entry,
			    "unknown option for contact list");
		}
	}
	if (optind < argc) {
		json_decref(args);
		return cmd_usage_error(&cmd_contact_entry, "unexpected "
		    "\"%s\"", argv[optind]);
	}
	if ((rc = cmd_call_and_print(c, FU_OP_CONTACT_LIST, args, &r)) != 0 ||
	    r == NULL)
		return rc;
	if (json_array_size(json_object_get(r, "contacts")) == 0)
		printf("No contacts.\n");
	else {
		out_contact_table(stdout, json_object_get(r, "contacts"),
		    owners);
		if (json_is_integer(json_object_get(r, "next_after")))
			printf("More: followup contact list --after %lld\n",
			    (long long)json_integer_value(json_object_get(r,
			    "next_after")));
	}
	json_decref(r);
	return 0;
}

/* Read the one ID argument of show/archive. */
static int
contact_id_arg(int argc, char **argv, long long *id)
{
	if (optind != argc - 1)
		return cmd_usage_error(&cmd_contact_entry, "expected one "
		    "contact ID");
	return cmd_parse_id(&cmd_contact_entry, argv[optind], id);
}

static int
contact_show(struct client *c, int argc, char **argv)
{
	static const struct option no_opts[] = { { NULL, 0, NULL, 0 } };
	json_t		*args, *r, *v;
	const char	*zone;
	long long	 id;
	size_t		 i;
	time_t		 now = time(NULL);
	int		 rc;

	if (getopt_long(argc, argv, "", no_opts, NULL) != -1)
		return cmd_usage_error(&cmd_contact_entry, "contact show takes "
		    "no options");
	if ((rc = contact_id_arg(argc, argv, &id)) != 0)
		return rc;
	args = json_pack("{s:I}", "id", (json_int_t)id);
	if ((rc = cmd_call_and_print(c, FU_OP_CONTACT_GET, args, &r)) != 0 ||
	    r == NULL)
		return rc;
	out_contact_detail(stdout, json_object_get(r, "contact"));
	printf("\nFollow-ups:\n");
	if (json_array_size(json_object_get(r, "followups")) == 0)
		printf("  none\n");
	out_followup_prepare(json_object_get(r, "followups"));
	json_array_foreach(json_object_get(r, "followups"), i, v)
		out_followup_line(stdout, v, now);
	if (json_array_size(json_object_get(r, "promises")) > 0) {
		zone = out_str(json_object_get(r, "contact"), "tz", NULL);
		printf("\nPromises (callbacks agreed):\n");
		out_promise_prepare(json_object_get(r, "promises"), zone);
		json_array_foreach(json_object_get(r, "promises"), i, v)
			out_promise_line(stdout, v, zone);
	}
	printf("\nHistory:\n");
	if (json_array_size(json_object_get(r, "interactions")) == 0)
		printf("  none\n");
	json_array_foreach(json_object_get(r, "interactions"), i, v)
		out_interaction_line(stdout, v);
	json_decref(r);
	return 0;
}

static int
contact_edit(struct client *c, int argc, char **argv)
{
	json_t		*args, *r;
	long long	 id, n;
	int		 ch, rc;

	args = json_object();
	while ((ch = getopt_long(argc, argv, "", contact_fields, NULL)) != -1) {
		if (contact_field(args, ch, optarg) != 0) {
			json_decref(args);
			return cmd_usage_error(&cmd_contact_entry,
			    "unknown option for contact edit");
		}
	}
	if ((rc = contact_id_arg(argc, argv, &id)) != 0) {
		json_decref(args);
		return rc;
	}
	if (json_object_size(args) == 0) {
		json_decref(args);
		return cmd_usage_error(&cmd_contact_entry, "nothing to change; "
		    "give --name, --company, --phone, --email, --tz, --stage "
		    "or --note");
	}
	json_object_set_new(args, "id", json_integer(id));
	if ((rc = cmd_call_and_print(c, FU_OP_CONTACT_UPDATE, args, &r)) != 0 ||
	    r == NULL)
		return rc;
	contact_print(r, "Updated");
	n = json_integer_value(json_object_get(r, "cancelled"));
	if (n > 0)
		printf("Cancelled %lld open follow-up%s: the contact is %s "
		    "now.\n", n, n == 1 ? "" : "s",
		    out_str(json_object_get(r, "contact"), "stage", "closed"));
	json_decref(r);
	return 0;
}

static int
contact_archive(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "restore",	no_argument,	NULL, 'r' },
		{ NULL,		0,		NULL, 0 }
	};
	json_t		*args, *r;
	long long	 id, n;
	int		 ch, rc, restore = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r')
			return cmd_usage_error(&cmd_contact_entry,
			    "unknown option for contact archive");
		restore = 1;
	}
	if ((rc = contact_id_arg(argc, argv, &id)) != 0)
		return rc;
	args = json_pack("{s:I s:b}", "id", (json_int_t)id, "restore",
	    restore);
	if ((rc = cmd_call_and_print(c, FU_OP_CONTACT_ARCHIVE, args, &r)) !=
	    0 || r == NULL)
		return rc;
	contact_print(r, restore ? "Restored" : "Archived");
	n = json_integer_value(json_object_get(r, "cancelled"));
	if (n > 0)
		printf("Cancelled its %lld pending follow-up%s.\n", n,
		    n == 1 ? "" : "s");
	json_decref(r);
	return 0;
}

static int
contact_reassign(struct client *c, int argc, char **argv)
{
	json_t		*args, *r;
	long long	 id, n;
	int		 rc;

	if (argc != 3)
		return cmd_usage_error(&cmd_contact_entry, "expected a "
		    "contact ID and the user to give it to");
	if (cmd_parse_id(&cmd_contact_entry, argv[1], &id) != 0)
		return EXIT_USAGE;
	args = json_pack("{s:I s:s}", "id", (json_int_t)id, "to", argv[2]);
	if ((rc = cmd_call_and_print(c, FU_OP_CONTACT_REASSIGN, args, &r)) !=
	    0 || r == NULL)
		return rc;
	n = json_integer_value(json_object_get(r, "moved_followups"));
	printf("Contact %lld (%s) now belongs to %s, with %lld open "
	    "follow-up%s.\n", id, out_str(json_object_get(r, "contact"),
	    "name", "?"), out_str(json_object_get(r, "contact"), "owner",
	    argv[2]), n, n == 1 ? "" : "s");
	json_decref(r);
	return 0;
}

static int
cmd_contact_exec(struct client *c, int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		(*fn)(struct client *, int, char **);
	} subs[] = {
		{ "add", contact_add }, { "list", contact_list },
		{ "show", contact_show }, { "edit", contact_edit },
		{ "archive", contact_archive }, { "reassign", contact_reassign },
	};
	size_t	i;

	if (argc < 2)
		return cmd_usage_error(&cmd_contact_entry, "which one: add, "
		    "list, show, edit, archive or reassign?");
	for (i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(c, argc - 1, argv + 1);
	}
	return cmd_usage_error(&cmd_contact_entry, "unknown \"contact %s\"",
	    argv[1]);
}

const struct cmd_entry cmd_contact_entry = {
	"contact",
	"add NAME [--company C] [--phone P] [--email E] [--tz ZONE] "
	"[--stage S] [--note T]\n"
	"        | list [--stage S] [--search TEXT] [--archived] [--limit N] "
	"[--after ID]\n"
	"               [--owner USER | --all]\n"
	"        | show ID\n"
	"        | edit ID [--name N] [--company C] [--phone P] [--email E] "
	"[--tz ZONE]\n"
	"               [--stage S] [--note T]\n"
	"        | archive ID [--restore] | reassign ID USER",
	"Keep your prospects.  \"add\" makes one (the NAME may be several "
	"words);\n\"list\" shows them, by stage or matching TEXT anywhere in "
	"name, company,\nemail, phone or notes; \"show\" gives one with its "
	"follow-ups and history;\n\"edit\" changes the fields given (an empty "
	"value clears one; moving one to a closed\nstage such as won or lost "
	"cancels its open follow-ups, and says so); \"archive\"\nhides one and cancels its pending "
	"follow-ups (--restore brings it back).\nZONE is an IANA zone such as "
	"Europe/Berlin.\n\nAdmins (root and the admin group) may list a rep's "
	"contacts (--owner USER)\nor the whole team's (--all), and "
	"\"reassign\" gives a contact, its open\nfollow-ups and its history "
	"to another rep.",
	cmd_contact_exec
};
