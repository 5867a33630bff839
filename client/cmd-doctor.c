/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup doctor: check what makes reminders fail silently and say what
 * to fix.  The socket is checked from here (as the rep sees it); the
 * daemon checks the rest from its side (the doctor op).
 */

#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static void
doctor_add(json_t *checks, const char *name, const char *status,
    const char *detail, const char *fix)
{
	json_array_append_new(checks, json_pack("{s:s s:s s:s s:s?}", "name",
	    name, "status", status, "detail", detail, "fix", fix));
}

/* Can this user reach the socket at path?  Add the finding to checks. */
static void
doctor_socket(json_t *checks, const char *path)
{
	struct stat	 sb;
	struct group	*gr;
	struct passwd	*pw;
	char		 detail[512], fix[512], gname[64];

	if (stat(path, &sb) != 0) {
		snprintf(detail, sizeof detail, "no socket at %s: %s", path,
		    strerror(errno));
		doctor_add(checks, "socket", "fail", detail, "start the "
		    "daemon: systemctl start followupd.socket (the team's), "
		    "or systemctl --user start followupd.socket (your own)");
		return;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(detail, sizeof detail, "%s is not a socket", path);
		doctor_add(checks, "socket", "fail", detail, "remove it and "
		    "restart followupd");
		return;
	}
	if ((gr = getgrgid(sb.st_gid)) != NULL)
		snprintf(gname, sizeof gname, "%s", gr->gr_name);
	else
		snprintf(gname, sizeof gname, "%lu", (unsigned long)sb.st_gid);
	pw = getpwuid(sb.st_uid);
	snprintf(detail, sizeof detail, "%s: mode %04o, owner %s, group %s",
	    path, (unsigned)(sb.st_mode & 07777), pw != NULL ? pw->pw_name :
	    "?", gname);
	if (access(path, W_OK) != 0) {
		pw = getpwuid(getuid());
		snprintf(fix, sizeof fix, "ask an admin to run: adduser %s %s "
		    "(then log in again)", pw != NULL ? pw->pw_name : "YOU",
		    gname);
		strncat(detail, "; you may not connect", sizeof detail -
		    strlen(detail) - 1);
		doctor_add(checks, "socket", "fail", detail, fix);
	} else if (sb.st_mode & 0002) {
		strncat(detail, "; anyone on this machine may connect",
		    sizeof detail - strlen(detail) - 1);
		doctor_add(checks, "socket", "warn", detail, "set SocketMode="
		    "0660 and a SocketGroup (see followupd.socket)");
	} else
		doctor_add(checks, "socket", "ok", detail, NULL);
}

static void
doctor_print(json_t *checks)
{
	static const char *const labels[][2] = {
		{ "ok", "ok  " }, { "warn", "WARN" }, { "fail", "FAIL" }
	};
	json_t		*ch;
	const char	*st, *label;
	size_t		 i, j;

	json_array_foreach(checks, i, ch) {
		st = out_str(ch, "status", "fail");
		label = "????";
		for (j = 0; j < sizeof labels / sizeof labels[0]; j++) {
			if (strcmp(st, labels[j][0]) == 0)
				label = labels[j][1];
		}
		printf("%s  %-14s %s\n", label, out_str(ch, "name", "?"),
		    out_str(ch, "detail", ""));
		if (json_is_string(json_object_get(ch, "fix")))
			printf("      %-14s fix: %s\n", "",
			    out_str(ch, "fix", ""));
	}
}

static int
cmd_doctor_exec(struct client *c, int argc, char **argv)
{
	json_t		*checks, *r = NULL, *ch;
	char		*path, detail[512];
	size_t		 i;
	int		 rc, failed = 0;

	if (argc > 1)
		return cmd_usage_error(&cmd_doctor_entry, "no arguments "
		    "expected");
	checks = json_array();
	if ((path = rpc_socket_path(c)) == NULL) {
		fprintf(stderr, "followup: out of memory\n");
		return EXIT_UNREACHABLE;
	}
	doctor_socket(checks, path);
	free(path);
	rc = rpc_call(c, FU_OP_DOCTOR, NULL, &r);
	if (rc == 0) {
		snprintf(detail, sizeof detail, "followupd %s answers on %s, "
		    "to you as %s%s", out_str(c->hello, "version", "?"),
		    c->path, out_str(c->hello, "user", "?"),
		    json_is_true(json_object_get(c->hello, "admin")) ?
		    " (an admin)" : "");
		doctor_add(checks, "daemon", "ok", detail, NULL);
		json_array_extend(checks, json_object_get(r, "checks"));
	} else
		doctor_add(checks, "daemon", "fail", "the daemon did not "
		    "answer (see above)", "start it (systemctl start "
		    "followupd.socket) and see journalctl -u followupd");
	json_decref(r);

	json_array_foreach(checks, i, ch) {
		if (strcmp(out_str(ch, "status", ""), "fail") == 0)
			failed++;
	}
	if (c->json) {
		r = json_pack("{s:O s:i}", "checks", checks, "failed", failed);
		out_json(r);
		json_decref(r);
	} else {
		doctor_print(checks);
		printf("%s\n", failed == 0 ? "Reminders should reach you." :
		    failed == 1 ? "1 check failed: fix it, or reminders may "
		    "not reach you." : "Some checks failed: fix them, or "
		    "reminders may not reach you.");
	}
	json_decref(checks);
	return failed == 0 ? 0 : EXIT_DAEMON_ERROR;
}

const struct cmd_entry cmd_doctor_entry = {
	"doctor", "",
	"Check what makes reminders fail silently and say what to fix: the "
	"socket\nand whether you may connect, the daemon answers, the "
	"database's integrity\nand free space, the time zone database, the "
	"hook programs and the sendmail\nthey use (a setuid or setgid one, "
	"such as Postfix's, fails when the daemon\nruns with no new "
	"privileges, as in the system unit), your mail address,\nthe last "
	"delivery and its error, and the backlog of deliveries.  Exits 1\n"
	"when any check fails.",
	cmd_doctor_exec
};
