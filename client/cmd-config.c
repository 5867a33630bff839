/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup config: each rep's own settings (email, time zone, digest
 * time, working hours and days, the name and phone that sign a
 * confirmation to a contact, invitations to the rep's calendar), kept
 * by the daemon.
 */

#include <config.h>

#include <stdio.h>
#include <string.h>

#include "client.h"

/* What the rep types, and the protocol's name for it. */
static const struct {
	const char	*key;
	const char	*field;
} config_keys[] = {
	{ "email", "email" },
	{ "tz", "tz" },
	{ "digest", "digest" },
	{ "lead", "lead" },
	{ "hours", "hours" },
	{ "workdays", "workdays" },
	{ "name", "display_name" },
	{ "phone", "phone" },
	{ "calendar", "calendar" },
	{ NULL, NULL }
};

static int
cmd_config_exec(struct client *c, int argc, char **argv)
{
	json_t		*args, *r, *u;
	const char	*key = NULL, *field = NULL;
	int		 i, rc;

	if (argc > 3)
		return cmd_usage_error(&cmd_config_entry, "too many arguments");
	if (argc >= 2) {
		for (i = 0; config_keys[i].key != NULL; i++) {
			if (strcmp(argv[1], config_keys[i].key) == 0) {
				key = config_keys[i].key;
				field = config_keys[i].field;
			}
		}
		if (key == NULL)
			return cmd_usage_error(&cmd_config_entry, "unknown "
			    "setting \"%s\" (email, tz, digest, lead, "
			    "hours, workdays, name, phone or calendar)", argv[1]);
	}
	if (argc == 3) {
		args = json_object();
		json_object_set_new(args, field, *argv[2] == '\0' ?
		    json_null() : cmd_string(argv[2]));
		rc = rpc_call(c, FU_OP_USER_SET, args, &r);
		json_decref(args);
	} else
		rc = rpc_call(c, FU_OP_USER_GET, NULL, &r);
	if (rc != 0)
		return rc;
	u = json_object_get(r, "user");
	if (c->json)
		out_json(argc == 2 ? json_object_get(u, field) : r);
	else if (argc == 2)
		printf("%s\n", out_str(u, field, ""));
	else if (argc == 3)
		printf("%s = %s\n", key, out_str(u, field, "(not set)"));
	else
		for (i = 0; config_keys[i].key != NULL; i++)
			printf("%-9s %s\n", config_keys[i].key,
			    out_str(u, config_keys[i].field, "(not set)"));
	json_decref(r);
	return 0;
}

const struct cmd_entry cmd_config_entry = {
	"config", "[KEY [VALUE]]",
	"Show or change your own settings.  KEY is one of:\n"
	"  email     where your reminders are mailed (default: your user name)\n"
	"  tz        your time zone (Europe/Berlin); times you type are read "
	"in it\n"
	"  digest    when your morning digest comes (HH:MM)\n"
	"  lead      how long ahead you are reminded (10m, 1h, 0)\n"
	"  hours     your working hours (09:00-17:00)\n"
	"  workdays  your working days (mon-fri, or mon,tue,thu)\n"
	"  name      your name as it signs a confirmation to a contact\n"
	"  phone     your phone number, for the same signature\n"
	"  calendar  invite: each follow-up you schedule, move, complete or\n"
	"            cancel is mailed to you as a calendar invitation; off "
	"(default)\n"
	"No KEY shows them all; KEY alone shows one; an empty VALUE (\"\") "
	"clears it.",
	cmd_config_exec
};
