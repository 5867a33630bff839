/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * libFuzzer target: one request line through the daemon's real request
 * path (ops_run_line: JSON, op lookup, argument checks, "as", handlers)
 * against a real store, and the reply serialised as conn.c sends it.
 *
 * The store is a temporary database holding a few contacts, interactions,
 * follow-ups and user settings of two reps.  Each input runs inside a
 * write that is then undone, so every input meets the same records and a
 * crash reproduces from its input alone; nothing is committed after the
 * start, so no input waits for the disk.  Each input runs twice: as a
 * rep (ana) and as an admin (ana in the admin group), except that the
 * admin never gets "backup", which would write a file anywhere.
 *
 * No connection, event loop, schedule, outbox or hook is set up: a
 * handler never sends mail or runs a program, and watch answers that it
 * needs a connection.
 */

#include <config.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "followupd.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char		 fz_dir[256];
static char		 fz_path[512];
static struct store	*fz_store;
static struct fu_config	*fz_cf;
static int		 fz_show;	/* $FU_FUZZ_SHOW: print the replies */
static unsigned long	 fz_inputs;

#define FZ_COMMIT_EVERY	64

/* End the outer transaction, which must be intact, and open the next. */
static void
fz_commit(void)
{
	if (store_commit(fz_store) != 0) {
		fprintf(stderr, "fuzz-request: the transaction was lost "
		    "during one of the last %d inputs\n", FZ_COMMIT_EVERY);
		abort();
	}
	if (store_write_begin(fz_store) != STORE_OK)
		abort();
}

/* The records every input meets, sent once at the start. */
static const struct {
	const char	*caller;
	const char	*line;
} fz_setup[] = {
	{ "ana", "{\"op\":\"user.set\",\"args\":{\"email\":\"ana@example.com\","
	    "\"tz\":\"Europe/Berlin\",\"digest\":\"08:00\","
	    "\"hours\":\"09:00-17:00\",\"workdays\":\"mon-fri\","
	    "\"lead\":\"10m\"}}" },
	{ "ana", "{\"op\":\"contact.add\",\"args\":{\"name\":\"Ada Lovelace\","
	    "\"company\":\"Analytical Engines\",\"phone\":\"+44 20 7946 0001\","
	    "\"email\":\"ada@example.com\",\"tz\":\"Europe/London\","
	    "\"stage\":\"contacted\",\"notes\":\"wants the quote\"}}" },
	{ "ana", "{\"op\":\"contact.add\",\"args\":{\"name\":\"Grace Hopper\","
	    "\"company\":\"Navy\",\"tz\":\"America/New_York\"}}" },
	{ "ana", "{\"op\":\"contact.add\",\"args\":{\"name\":\"Alan Turing\","
	    "\"stage\":\"proposal\"}}" },
	{ "bob", "{\"op\":\"contact.add\",\"args\":{\"name\":\"Edsger "
	    "Dijkstra\",\"stage\":\"lead\"}}" },
	{ "ana", "{\"op\":\"interaction.add\",\"args\":{\"contact\":1,"
	    "\"kind\":\"call\",\"outcome\":\"reached\",\"note\":\"call back "
	    "tuesday\",\"next\":\"in 3 days\",\"next_kind\":\"callback\"}}" },
	{ "ana", "{\"op\":\"interaction.add\",\"args\":{\"contact\":2,"
	    "\"kind\":\"voicemail\"}}" },
	{ "ana", "{\"op\":\"followup.add\",\"args\":{\"contact\":2,"
	    "\"due\":\"tomorrow 10:00\",\"kind\":\"followup\","
	    "\"reason\":\"send the brochure\"}}" },
	{ "ana", "{\"op\":\"followup.add\",\"args\":{\"contact\":3,"
	    "\"due\":\"2020-01-02T09:00:00Z\",\"kind\":\"callback\","
	    "\"remind_before\":\"15m\",\"force\":true}}" },
	{ "ana", "{\"op\":\"followup.add\",\"args\":{\"contact\":3,"
	    "\"due\":\"in 2 days\",\"reason\":\"proposal\"}}" },
	{ "ana", "{\"op\":\"followup.done\",\"args\":{\"id\":4,"
	    "\"note\":\"sent\"}}" },
	{ "bob", "{\"op\":\"followup.add\",\"args\":{\"contact\":4,"
	    "\"due\":\"in 1 hour\",\"kind\":\"callback\"}}" },
	{ "ana", "{\"op\":\"contact.archive\",\"args\":{\"id\":3}}" },
};

/* Remove the temporary database and its directory. */
static void
fz_cleanup(void)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[1024];

	if (fz_store != NULL && store_commit(fz_store) != 0) {
		fprintf(stderr, "fuzz-request: the transaction was lost\n");
		abort();
	}
	store_close(fz_store);
	fz_store = NULL;
	config_free(fz_cf);
	fz_cf = NULL;
	if (fz_dir[0] == '\0')
		return;
	if ((d = opendir(fz_dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", fz_dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(fz_dir);
}

/* Run line as caller; when admin, as a member of the admin group. */
static json_t *
fz_run(const char *caller, int admin, const char *line, size_t len)
{
	struct op_ctx	 ctx;
	json_t		*reply;
	char		*text;
	int		 is_write;

	memset(&ctx, 0, sizeof ctx);
	ctx.st = fz_store;
	ctx.cf = fz_cf;
	ctx.caller = caller;
	ctx.admin = admin;
	ctx.uid = 1000;
	reply = ops_run_line(&ctx, line, len, &is_write);
	if (reply == NULL)
		abort();
	/* What conn.c sends: it must always serialise. */
	if ((text = json_dumps(reply, JSON_COMPACT)) == NULL)
		abort();
	if (fz_show)
		fprintf(stderr, "%s%s: %s\n", caller, admin ? " (admin)" : "",
		    text);
	free(text);
	return reply;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp = getenv("TMPDIR");
	char		*cause;
	json_t		*reply;
	size_t		 i;
	int		 ok;

	log_init(LOG_TO_STDERR, 0);
	fz_show = getenv("FU_FUZZ_SHOW") != NULL;
	/* A memory file system when there is one: the setup commits. */
	if (tmp == NULL || *tmp != '/')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fz_dir, sizeof fz_dir, "%s/fu-fuzz-request.XXXXXX", tmp);
	if (mkdtemp(fz_dir) == NULL) {
		perror(fz_dir);
		exit(1);
	}
	atexit(fz_cleanup);
	snprintf(fz_path, sizeof fz_path, "%s/followup.db", fz_dir);
	if ((fz_store = store_open(fz_path, &cause)) == NULL) {
		fprintf(stderr, "fuzz-request: %s\n", cause);
		exit(1);
	}
	fz_cf = config_new();
	op_meta_init(time(NULL), fz_path, NULL);

	for (i = 0; i < sizeof fz_setup / sizeof fz_setup[0]; i++) {
		reply = fz_run(fz_setup[i].caller, 0, fz_setup[i].line,
		    strlen(fz_setup[i].line));
		ok = json_is_true(json_object_get(reply, "ok")) &&
		    store_commit(fz_store) == 0;
		if (!ok) {
			fprintf(stderr, "fuzz-request: setup request %zu "
			    "failed: ", i);
			json_dumpf(reply, stderr, JSON_COMPACT);
			fputc('\n', stderr);
			exit(1);
		}
		json_decref(reply);
	}
	/* The outer transaction the inputs run in. */
	if (store_write_begin(fz_store) != STORE_OK)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*line = (const char *)data;
	json_t		*req, *reply;
	int		 admin, backup;

	/* conn.c hands over a line without its newline, at most 64 KiB. */
	if (size > FU_LINE_MAX || memchr(data, '\n', size) != NULL)
		return -1;

	req = json_loadb(line, size, JSON_REJECT_DUPLICATES, NULL);
	backup = req != NULL && json_is_object(req) &&
	    json_is_string(json_object_get(req, "op")) &&
	    strcmp(json_string_value(json_object_get(req, "op")),
	    fu_op_name(FU_OP_BACKUP)) == 0;
	json_decref(req);

	for (admin = 0; admin <= 1; admin++) {
		if (admin && backup)
			break;
		/* A write undone at the end keeps the records. */
		if (store_write_begin(fz_store) != STORE_OK)
			abort();
		reply = fz_run("ana", admin, line, size);
		json_decref(reply);
		store_write_end(fz_store, 0);
	}
	/*
	 * The outer transaction stays open across inputs: a commit takes
	 * locks and reads the WAL, which halved the pace.  A commit now and
	 * then (and at exit) checks that no input lost it.
	 */
	if (++fz_inputs % FZ_COMMIT_EVERY == 0)
		fz_commit();
	return 0;
}
