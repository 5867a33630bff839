/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup export and followup import: a rep's records out as a calendar,
 * a CSV table or JSON; contacts in from a CSV file or vCards, read here
 * (import-csv.c, import-vcard.c) and sent to the daemon in batches that
 * fit a request line.
 */

#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client.h"
#include "import.h"

/* Room a batch of contact.import leaves for the rest of the request. */
#define DATA_BATCH_SLACK	1024

#define DATA_WORD(e, s)	s,
static const char *const data_formats[] = {
	FU_EXPORT_FORMATS(DATA_WORD) NULL
};
static const char *const data_tables[] = {
	FU_EXPORT_TABLES(DATA_WORD) NULL
};
#undef DATA_WORD

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

/* Where an export's document goes as it arrives. */
struct data_out {
	FILE		*f;
	const char	*path;		/* NULL: standard output */
	char		*tmp;		/* written here, renamed to path */
};

/* Write a piece of the document; say why and stop if it cannot be. */
static int
data_chunk_cb(const char *text, size_t len, void *arg)
{
	struct data_out	*o = arg;

	if (fwrite(text, 1, len, o->f) == len)
		return 0;
	fprintf(stderr, "followup: %s: %s\n", o->path != NULL ? o->path :
	    "standard output", strerror(errno));
	return -1;
}

/* Give fd the mode a file the user creates gets. */
static void
data_umask_mode(int fd)
{
	mode_t	mask = umask(0);

	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);
}

/*
 * Open where the document goes: standard output, or a new file beside
 * path that becomes path only once the whole document is in it, so a
 * broken export never leaves a truncated file under the name asked for.
 * Something that is not a regular file (/dev/null, a pipe), or a file in
 * a directory where no other can be made, is written in place.
 */
static int
data_open(struct data_out *o, const char *path)
{
	struct stat	sb;
	int		fd = -1;

	memset(o, 0, sizeof *o);
	o->path = path;
	o->f = stdout;
	if (path == NULL)
		return 0;
	if ((stat(path, &sb) == -1 || S_ISREG(sb.st_mode)) &&
	    asprintf(&o->tmp, "%s.XXXXXX", path) != -1) {
		if ((fd = mkstemp(o->tmp)) != -1 &&
		    (o->f = fdopen(fd, "w")) != NULL) {
			/* mkstemp makes it 0600: give it a new file's mode. */
			data_umask_mode(fd);
			return 0;
		}
		if (fd != -1) {
			close(fd);
			unlink(o->tmp);
		}
		free(o->tmp);
	}
	o->tmp = NULL;
	if ((o->f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "followup: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * Finish the document: flush it, and move the file into place if it is
 * whole (ok), or remove it if not.  Return 0, or EXIT_USAGE after saying
 * why.
 */
static int
data_close(struct data_out *o, int ok)
{
	int	rc = 0;

	if (fflush(o->f) != 0 || (o->path != NULL && fclose(o->f) != 0) ||
	    (ok && o->tmp != NULL && rename(o->tmp, o->path) != 0)) {
		if (ok)
			fprintf(stderr, "followup: %s: %s\n", o->path != NULL ?
			    o->path : "standard output", strerror(errno));
		rc = EXIT_USAGE;
	}
	if (o->tmp != NULL && (!ok || rc != 0))
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	return rc;
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
		{ "bom",	no_argument,		NULL, 'B' },
		{ NULL,		0,			NULL, 0 }
	};
	const char	*format = NULL, *what = NULL, *owner = NULL;
	const char	*path = NULL;
	struct data_out	 o;
	json_t		*args, *r = NULL, *counts, *v;
	const char	*key;
	long long	 n;
	int		 ch, rc, wrc, first = 1, bom = 0;

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
			path = strcmp(optarg, "-") == 0 ? NULL :
			    cmd_path_arg(optarg);
			break;
		case 'B':
			bom = 1;
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
	if (!fu_word_in(data_formats, format))
		return cmd_usage_error(&cmd_export_entry, "unknown format "
		    "\"%s\" (ics, csv or json)", format);
	if (what != NULL && strcmp(format, "csv") != 0)
		return cmd_usage_error(&cmd_export_entry, "--what chooses the "
		    "table of a CSV export");
	if (bom && strcmp(format, "csv") != 0)
		return cmd_usage_error(&cmd_export_entry, "--bom is for a CSV "
		    "export");
	if (what != NULL && !fu_word_in(data_tables, what))
		return cmd_usage_error(&cmd_export_entry, "unknown table "
		    "\"%s\" (contacts, interactions or followups)", what);

	args = json_pack("{s:s s:s? s:s?}", "format", format, "what", what,
	    "owner", owner);
	if (what == NULL)
		json_object_del(args, "what");
	if (owner == NULL)
		json_object_del(args, "owner");
	if (bom)
		json_object_set_new(args, "bom", json_true());
	if ((rc = data_open(&o, path)) != 0) {
		json_decref(args);
		return rc;
	}
	c->chunk = data_chunk_cb;
	c->chunk_arg = &o;
	rc = rpc_call(c, FU_OP_EXPORT, args, &r);
	c->chunk = NULL;
	json_decref(args);
	if ((wrc = data_close(&o, rc == 0)) != 0 && rc == 0)
		rc = wrc;
	if (rc != 0) {
		json_decref(r);
		return rc;
	}
	if (path == NULL) {
		/* Standard output holds the document and nothing else. */
	} else if (c->json)
		out_json(r);
	else {
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
	"        [--bom] [--owner USER | --all] [-o FILE]",
	"Write your records as one document, to standard output or to FILE\n"
	"(whose extension .ics, .csv or .json may stand for --format):\n\n"
	"  ics   an iCalendar of your pending follow-ups, one event each with "
	"an\n        alarm at its reminder, for Thunderbird, Evolution, Apple "
	"or Google\n        Calendar; exporting again updates the same "
	"events, and those\n        done or cancelled in the last 30 days "
	"come as cancelled events\n"
	"  csv   one table for a spreadsheet or another CRM: contacts unless\n"
	"        --what interactions or --what followups (RFC 4180, UTF-8, "
	"times\n        in UTC); an exported contacts file imports back.  A "
	"text that\n        begins with = + - @ (a phone's +, a formula) is "
	"written after a\n        quote, so a spreadsheet shows it rather than"
	" runs it; --bom\n        starts the file with a UTF-8 byte order "
	"mark, for spreadsheets\n        that otherwise read it as "
	"Windows-1252\n"
	"  json  contacts, interactions and follow-ups as the daemon shows "
	"them\n\nAdmins may export a rep's records (--owner USER) or the whole "
	"team's (--all).",
	cmd_export_exec
};

/* Read all of path ("-": standard input). Return 0, or -1 after saying why. */
static int
data_read(const char *path, char **buf, size_t *len)
{
	FILE	*f = stdin;
	size_t	 cap = 65536, n;

	*len = 0;
	if (strcmp(path, "-") != 0 && (f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "followup: %s: %s\n", path, strerror(errno));
		return -1;
	}
	*buf = import_alloc(cap);
	while ((n = fread(*buf + *len, 1, cap - *len, f)) > 0) {
		*len += n;
		if (*len > IMPORT_FILE_MAX) {
			fprintf(stderr, "followup: %s: larger than %d MiB; "
			    "split it\n", path, IMPORT_FILE_MAX >> 20);
			goto fail;
		}
		if (*len == cap)
			*buf = import_grow(*buf, cap *= 2, 1);
	}
	if (ferror(f)) {
		fprintf(stderr, "followup: %s: %s\n", path, strerror(errno));
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	return 0;
fail:
	if (f != stdin)
		fclose(f);
	free(*buf);
	*buf = NULL;
	return -1;
}

/* A record as contact.import takes it. Caller decrefs. */
static json_t *
data_record_json(const struct import_record *r)
{
	json_t	*o = json_pack("{s:I}", "line", (json_int_t)r->line);

#define DATA_FIELD(f) do {						\
	if (r->f != NULL)						\
		json_object_set_new(o, #f, cmd_string(r->f));		\
} while (0)
	DATA_FIELD(name);
	DATA_FIELD(company);
	DATA_FIELD(phone);
	DATA_FIELD(email);
	DATA_FIELD(tz);
	DATA_FIELD(stage);
	DATA_FIELD(notes);
#undef DATA_FIELD
	if (r->archived != IMPORT_ARCHIVED_UNSAID)
		json_object_set_new(o, "archived",
		    json_boolean(r->archived == IMPORT_ARCHIVED_YES));
	return o;
}

/* A result the client makes itself: a record it never sent. */
static json_t *
data_local_skip(long line, const char *name, const char *reason)
{
	return json_pack("{s:I s:s? s:n s:s s:s}", "line", (json_int_t)line,
	    "name", name, "id", "status", "skipped", "reason", reason);
}

/* Send one batch; add its results to all and its counts to counts. */
static int
data_send_batch(struct client *c, json_t *batch, const char *owner,
    int dry_run, json_t *all, json_t *counts)
{
	json_t		*args, *r, *v;
	const char	*key;
	int		 rc;

	args = json_pack("{s:O s:b}", "contacts", batch, "dry_run", dry_run);
	if (owner != NULL)
		json_object_set_new(args, "owner", cmd_string(owner));
	rc = rpc_call(c, FU_OP_CONTACT_IMPORT, args, &r);
	json_decref(args);
	if (rc != 0)
		return rc;
	json_array_extend(all, json_object_get(r, "results"));
	json_object_foreach(json_object_get(r, "counts"), key, v)
		json_object_set_new(counts, key, json_integer(
		    json_integer_value(json_object_get(counts, key)) +
		    json_integer_value(v)));
	json_decref(r);
	json_array_clear(batch);
	return 0;
}

/* Order results by the line their record starts on. */
static int
data_by_line(const void *a, const void *b)
{
	json_int_t	la, lb;

	la = json_integer_value(json_object_get(*(json_t *const *)a, "line"));
	lb = json_integer_value(json_object_get(*(json_t *const *)b, "line"));
	return la < lb ? -1 : la > lb;
}

/* Print the CSV column mapping: column -> field, or ignored. */
static void
data_print_mapping(const struct import_file *f)
{
	size_t	i, w = 0;

	for (i = 0; i < f->ncolumns; i++) {
		if (strlen(f->columns[i].header) > w)
			w = strlen(f->columns[i].header);
	}
	printf("Columns:\n");
	for (i = 0; i < f->ncolumns; i++)
		printf("  %-*s  %s%s\n", (int)w, *f->columns[i].header != '\0' ?
		    f->columns[i].header : "(no name)",
		    f->columns[i].field != NULL ? "-> " : "",
		    f->columns[i].field != NULL ? f->columns[i].field :
		    "(ignored)");
}

/* Print the results, and the counts. */
static void
data_print_results(json_t *results, json_t *counts, const char *path,
    int dry_run)
{
	json_t		*r, *w;
	const char	*status, *name;
	size_t		 i, j;

#define DATA_COUNT(k)	((long long)json_integer_value(json_object_get(counts, k)))
	if (dry_run)
		printf("Dry run, nothing written: %s would add %lld, update "
		    "%lld, leave %lld unchanged, skip %lld.\n", path,
		    DATA_COUNT("added"), DATA_COUNT("updated"),
		    DATA_COUNT("unchanged"), DATA_COUNT("skipped"));
	else
		printf("Imported %s: %lld added, %lld updated, %lld "
		    "unchanged, %lld skipped.\n", path, DATA_COUNT("added"),
		    DATA_COUNT("updated"), DATA_COUNT("unchanged"),
		    DATA_COUNT("skipped"));
#undef DATA_COUNT
	json_array_foreach(results, i, r) {
		status = out_str(r, "status", "?");
		name = out_str(r, "name", "");
		if (strcmp(status, "skipped") == 0)
			printf("  line %lld: skipped%s%s%s: %s\n",
			    (long long)json_integer_value(json_object_get(r,
			    "line")), *name != '\0' ? " (" : "", name,
			    *name != '\0' ? ")" : "", out_str(r, "reason", "?"));
		else if (dry_run && strcmp(status, "added") == 0)
			printf("  line %lld: add %s\n", (long long)
			    json_integer_value(json_object_get(r, "line")),
			    name);
		else if (dry_run)
			printf("  line %lld: %s contact %lld (%s)\n",
			    (long long)json_integer_value(json_object_get(r,
			    "line")), strcmp(status, "updated") == 0 ?
			    "update" : "unchanged:", (long long)
			    json_integer_value(json_object_get(r, "id")), name);
		json_array_foreach(json_object_get(r, "warnings"), j, w)
			printf("  line %lld: %s: %s\n", (long long)
			    json_integer_value(json_object_get(r, "line")),
			    name, json_string_value(w));
	}
}

static int
cmd_import_exec(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format",	required_argument,	NULL, 'f' },
		{ "dry-run",	no_argument,		NULL, 'n' },
		{ "owner",	required_argument,	NULL, 'O' },
		{ NULL,		0,			NULL, 0 }
	};
	struct import_file	 f;
	struct import_record	*r;
	enum import_format	 format;
	const char		*fmt = NULL, *owner = NULL, *path;
	json_t			*batch, *all, *counts, *rec;
	json_t			**sorted;
	char			*buf, *cause, *text;
	size_t			 len, i, size, used = 0;
	int			 ch, rc = 0, dry_run = 0;

	while ((ch = getopt_long(argc, argv, "f:n", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			fmt = optarg;
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'O':
			owner = optarg;
			break;
		default:
			return cmd_usage_error(&cmd_import_entry,
			    "unknown option");
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error(&cmd_import_entry, "give one FILE");
	path = cmd_path_arg(argv[optind]);
	if (fmt != NULL && strcmp(fmt, "csv") != 0 &&
	    strcmp(fmt, "vcard") != 0 && strcmp(fmt, "vcf") != 0)
		return cmd_usage_error(&cmd_import_entry, "unknown format "
		    "\"%s\" (csv or vcard)", fmt);
	if (data_read(path, &buf, &len) != 0)
		return EXIT_USAGE;
	if (fmt != NULL)
		format = strcmp(fmt, "csv") == 0 ? IMPORT_CSV : IMPORT_VCARD;
	else
		format = import_guess(path, buf, len);
	if (import_parse(format, buf, len, &f, &cause) != 0) {
		fprintf(stderr, "followup: %s: %s\n", path, cause);
		free(cause);
		free(buf);
		return EXIT_USAGE;
	}
	free(buf);

	if (!c->json) {
		if (dry_run && format == IMPORT_CSV)
			data_print_mapping(&f);
		for (i = 0; i < f.nnotes; i++)
			printf("Note: %s\n", f.notes[i]);
	}
	batch = json_array();
	all = json_array();
	counts = json_pack("{s:i s:i s:i s:i}", "added", 0, "updated", 0,
	    "unchanged", 0, "skipped", 0);
	for (i = 0; i < f.nrecords && rc == 0; i++) {
		r = &f.records[i];
		if (r->skip != NULL) {
			json_array_append_new(all, data_local_skip(r->line,
			    r->name, r->skip));
			continue;
		}
		rec = data_record_json(r);
		text = json_dumps(rec, JSON_COMPACT);
		size = text != NULL ? strlen(text) + 1 : FU_LINE_MAX;
		free(text);
		if (size + DATA_BATCH_SLACK > FU_LINE_MAX) {
			json_decref(rec);
			json_array_append_new(all, data_local_skip(r->line,
			    r->name, "too large to send (more than 60 KiB)"));
			continue;
		}
		if (used + size + DATA_BATCH_SLACK > FU_LINE_MAX ||
		    json_array_size(batch) == FU_IMPORT_MAX) {
			rc = data_send_batch(c, batch, owner, dry_run, all,
			    counts);
			used = 0;
		}
		json_array_append_new(batch, rec);
		used += size;
	}
	if (rc == 0 && json_array_size(batch) > 0)
		rc = data_send_batch(c, batch, owner, dry_run, all, counts);
	json_decref(batch);
	import_file_free(&f);
	if (rc != 0) {
		if (json_integer_value(json_object_get(counts, "added")) +
		    json_integer_value(json_object_get(counts, "updated")) > 0
		    && !dry_run)
			fprintf(stderr, "followup: the records before the "
			    "error were imported (%lld added, %lld "
			    "updated)\n", (long long)json_integer_value(
			    json_object_get(counts, "added")), (long long)
			    json_integer_value(json_object_get(counts,
			    "updated")));
		json_decref(all);
		json_decref(counts);
		return rc;
	}

	/* The parser's skips count too; show everything in file order. */
	json_object_set_new(counts, "skipped", json_integer(0));
	sorted = import_alloc((json_array_size(all) + 1) * sizeof *sorted);
	json_array_foreach(all, i, rec) {
		sorted[i] = rec;
		if (strcmp(out_str(rec, "status", ""), "skipped") == 0)
			json_object_set_new(counts, "skipped", json_integer(
			    json_integer_value(json_object_get(counts,
			    "skipped")) + 1));
	}
	qsort(sorted, json_array_size(all), sizeof *sorted, data_by_line);
	batch = json_array();
	for (i = 0; i < json_array_size(all); i++)
		json_array_append(batch, sorted[i]);
	free(sorted);
	json_decref(all);
	if (c->json) {
		all = json_pack("{s:b s:o s:o}", "dry_run", dry_run, "counts",
		    counts, "results", batch);
		out_json(all);
		json_decref(all);
	} else {
		data_print_results(batch, counts, path, dry_run);
		json_decref(batch);
		json_decref(counts);
	}
	return 0;
}

const struct cmd_entry cmd_import_entry = {
	"import",
	"FILE [--format csv|vcard] [--dry-run] [--owner USER]",
	"Add contacts from FILE (\"-\" for standard input): a CSV file with a "
	"header row,\nas spreadsheets and CRMs export them, or vCards (3.0, "
	"4.0, 2.1).  The\nformat is guessed from the extension (.csv, .vcf) "
	"or the content.\n\nA contact whose email (in any case) is already "
	"one of yours is updated\nwith the file's non-empty fields; any other "
	"is added.  A record without a\nname, a CSV row with the wrong number "
	"of fields, or a bad email address\nis skipped and its line shown; a "
	"phone, time zone or stage the daemon does\nnot take is left out with "
	"a warning.\n\nCSV columns are matched by name, in any case: Name, "
	"Full Name, or First Name\nand Last Name; Company, Organization, "
	"Account Name, Company / Account;\nPhone, Mobile, Business Phone; "
	"Email, E-mail Address; Time Zone; Stage,\nLead Status; Notes, "
	"Description; Archived (yes or no); Outlook's German\nand French "
	"names too (see followup(1)); others are ignored.  Of values\n"
	"joined with \" ::: \" (Google Contacts) the first is kept and the "
	"others\ngo to the notes.  Commas, quotes and line breaks inside "
	"quoted fields,\na UTF-8 byte order mark, CRLF, and semicolons or "
	"tabs between columns\nare all understood.\n\n--dry-run shows how "
	"the columns are read and what would be added,\nupdated or skipped, "
	"and writes nothing.  Admins may import for a rep with\n--owner USER "
	"(or --as USER).",
	cmd_import_exec
};
