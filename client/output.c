/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * What the client prints: times in the reader's zone ("Tue 24 Nov 10:00",
 * "in 2 h", "overdue 3 d"), and a contact's time twice when their zone
 * differs ("Tue 24 Nov 10:00 (16:00 yours)"), aligned lists, and --json
 * passthrough.  Text from the daemon goes into tables as one line, padded
 * and cut by the columns it takes on a terminal, not by its bytes.
 */

#include <config.h>

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "client.h"
#include "followup/timefmt.h"
#include "followup/utf8.h"

/* Is s well-formed UTF-8? */
int
out_utf8_valid(const char *s)
{
	uint32_t	c;
	size_t		n;

	for (; *s != '\0'; s += n) {
		n = fu_utf8_decode((const unsigned char *)s, SIZE_MAX, &c);
		if (n == 0)
			return 0;
	}
	return 1;
}

/*
 * Columns character c takes on a terminal.  Text from the daemon is UTF-8
 * whatever the reader's locale, so wcwidth() is asked in a UTF-8 one;
 * without any, each character counts one column.
 */
static int
out_char_width(uint32_t c)
{
	static locale_t	 utf8;
	static int	 tried;
	locale_t	 old;
	int		 w;

	if (c < 0x7f)
		return 1;
	if (!tried) {
		tried = 1;
		if ((utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", 0)) == 0)
			utf8 = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", 0);
	}
	if (utf8 == 0)
		return 1;
	old = uselocale(utf8);
	w = wcwidth((wchar_t)c);
	uselocale(old);
	/* Unassigned to this libc: most terminals show something. */
	return w < 0 ? 1 : w;
}

/*
 * What a table shows in place of character c, or NULL for c itself, with
 * its columns in *w: a line break becomes " \u23ce " (the return symbol),
 * a tab a space, and a control character or a mark that would reorder or
 * hide the columns after it U+FFFD, so one cell stays one line of its
 * own width.
 */
static const char *
out_cell_subst(uint32_t c, int *w)
{
	if (c == '\n' || c == '\r' || c == 0x85 || c == 0x2028 ||
	    c == 0x2029) {
		*w = 3;
		return " \u23ce ";
	}
	*w = 1;
	if (c == '\t')
		return " ";
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x200b || c == 0x2060 || c == 0xfeff)
		return "\ufffd";
	return NULL;
}

/*
 * Print the len bytes at s (if f is not NULL) as one line of at most max
 * columns, no limit if max < 0; a character that would cross max is left
 * out whole.  Return the columns it takes, if count (else the
 * characters).
 */
static int
out_cell_text(FILE *f, const char *s, size_t len, int max, int count)
{
	const char	*sub, *end = s + len;
	uint32_t	 c;
	size_t		 n;
	int		 cols = 0, w;

	for (; s < end; s += n) {
		n = fu_utf8_decode((const unsigned char *)s, end - s, &c);
		if (n == 0) {
			/* Not UTF-8 (the daemon never sends it): one mark. */
			n = 1;
			sub = "\ufffd";
			w = 1;
		} else if ((sub = out_cell_subst(c, &w)) == NULL)
			w = count ? out_char_width(c) : 1;
		if (max >= 0 && cols + w > max)
			break;
		if (f != NULL && sub != NULL)
			fputs(sub, f);
		else if (f != NULL)
			fwrite(s, 1, n, f);
		cols += w;
	}
	return cols;
}

/* Columns s takes as one table cell. */
int
out_width(const char *s)
{
	return s != NULL ? out_cell_text(NULL, s, strlen(s), -1, 1) : 0;
}

/*
 * Print s as one table cell: one line, cut to max columns (no limit if
 * max < 0), then spaces up to width columns.
 */
void
out_cell(FILE *f, const char *s, int width, int max)
{
	int	cols = 0;

	/* Text at the end of a line needs no counting. */
	if (s != NULL)
		cols = out_cell_text(f, s, strlen(s), max, width > 0 ||
		    max >= 0);
	for (; cols < width; cols++)
		fputc(' ', f);
}

/*
 * Print multi-line text (a note) keeping its line breaks, each following
 * line indented by indent columns; anything else a cell would not show
 * is shown as in a cell.
 */
void
out_block(FILE *f, const char *s, int indent)
{
	size_t	n;

	while (s != NULL && *s != '\0') {
		n = strcspn(s, "\r\n");
		out_cell_text(f, s, n, -1, 0);
		s += n;
		if (*s == '\0')
			break;
		s += s[0] == '\r' && s[1] == '\n' ? 2 : 1;
		fprintf(f, "\n%*s", indent, "");
	}
}

/* A string member, or def when absent or null. Borrowed. */
const char *
out_str(json_t *obj, const char *key, const char *def)
{
	const char	*s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : def;
}

/* Read an RFC 3339 UTC time from the daemon; 0 if it is not one. */
time_t
out_parse_time(const char *s)
{
	return fu_time_parse(s);
}

/* "Tue 24 Nov 10:00", with the year when it is not this year's. */
void
out_time(time_t t, char *buf, size_t len)
{
	struct tm	tm, now_tm;
	time_t		now = time(NULL);

	localtime_r(&t, &tm);
	localtime_r(&now, &now_tm);
	if (tm.tm_year == now_tm.tm_year)
		strftime(buf, len, "%a %d %b %H:%M", &tm);
	else
		strftime(buf, len, "%a %d %b %Y %H:%M", &tm);
}

/* "in 15 min", "in 2 h", "in 3 d", "overdue 25 min", "now". */
void
out_relative(time_t t, time_t now, char *buf, size_t len)
{
	fu_time_relative(t, now, FU_TIME_OVERDUE, buf, len);
}

/* Print a result as JSON on stdout. */
void
out_json(json_t *v)
{
	char	*text = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (text != NULL) {
		printf("%s\n", text);
		free(text);
	}
}

/* The daemon's notes (how a time was read) go to stderr. */
void
out_notes(json_t *result)
{
	json_t	*note;
	size_t	 i;

	json_array_foreach(json_object_get(result, "notes"), i, note)
		fprintf(stderr, "followup: note: %s\n", json_string_value(note));
}

/* Lists: leave a column for "(15:00 yours)" (some line needs it). */
static int	out_dual;
static int	out_owners;	/* follow-up lines name their rep */

/* Break t down in zone (an IANA name) rather than the reader's. */
static int
out_localtime_in(time_t t, const char *zone, struct tm *tm)
{
	char	*saved = getenv("TZ"), *copy = NULL;
	int	 rc;

	if (saved != NULL)
		copy = strdup(saved);
	setenv("TZ", zone, 1);
	tzset();
	rc = localtime_r(&t, tm) != NULL ? 0 : -1;
	if (copy != NULL) {
		setenv("TZ", copy, 1);
		free(copy);
	} else
		unsetenv("TZ");
	tzset();
	return rc;
}

/*
 * A contact's time where it matters twice: when their zone (an IANA name,
 * or NULL) shows t differently from the reader's, *theirs gets it as the
 * contact reads it ("Tue 24 Nov 10:00") and *yours the reader's ("16:00",
 * or "Wed 01:00" on another day); return 1.  Else return 0.
 */
int
out_time_pair(const char *zone, time_t t, char *theirs, size_t tlen,
    char *yours, size_t ylen)
{
	struct tm	 mine, there;

	if (zone == NULL || t == 0)
		return 0;
	localtime_r(&t, &mine);
	if (out_localtime_in(t, zone, &there) != 0 ||
	    mine.tm_gmtoff == there.tm_gmtoff)
		return 0;
	if (there.tm_year == mine.tm_year)
		strftime(theirs, tlen, "%a %d %b %H:%M", &there);
	else
		strftime(theirs, tlen, "%a %d %b %Y %H:%M", &there);
	if (mine.tm_yday == there.tm_yday && mine.tm_year == there.tm_year)
		strftime(yours, ylen, "%H:%M", &mine);
	else
		strftime(yours, ylen, "%a %H:%M", &mine);
	return 1;
}

/* A follow-up's time twice, as out_time_pair, in its contact's zone. */
static int
out_dual_time(json_t *fu, time_t t, char *theirs, size_t tlen, char *yours,
    size_t ylen)
{
	return out_time_pair(out_str(fu, "contact_tz", NULL), t, theirs, tlen,
	    yours, ylen);
}

/*
 * t in one string: "Tue 24 Nov 10:00 (16:00 yours)" when the contact's
 * zone shows it differently from the reader's, else as out_time.
 */
void
out_time_dual(const char *zone, time_t t, char *buf, size_t len)
{
	char	theirs[64], yours[32];

	if (out_time_pair(zone, t, theirs, sizeof theirs, yours, sizeof yours))
		snprintf(buf, len, "%s (%s yours)", theirs, yours);
	else
		out_time(t, buf, len);
}

/* Does each follow-up line name its rep (a team's or a rep's list)? */
void
out_followup_owners(int on)
{
	out_owners = on;
}

/* Before a list: does any follow-up in it need the second time? */
void
out_followup_prepare(json_t *list)
{
	char	a[64], b[32];
	json_t	*fu;
	size_t	 i;

	json_array_foreach(list, i, fu) {
		if (out_dual_time(fu, out_parse_time(out_str(fu, "due_at",
		    NULL)), a, sizeof a, b, sizeof b))
			out_dual = 1;
	}
}

/*
 * One follow-up on one line: id, time (the contact's, and yours when they
 * differ), relative, kind, contact, reason.
 */
void
out_followup_line(FILE *f, json_t *fu, time_t now)
{
	char		when[64], rel[32], yours[32], second[48];
	time_t		due = out_parse_time(out_str(fu, "due_at", NULL));
	const char	*reason = out_str(fu, "reason", "");
	int		 dual;

	dual = out_dual_time(fu, due, when, sizeof when, yours, sizeof yours);
	if (!dual)
		out_time(due, when, sizeof when);
	if (strcmp(out_str(fu, "status", ""), "pending") == 0)
		out_relative(due, now, rel, sizeof rel);
	else
		snprintf(rel, sizeof rel, "%s", out_str(fu, "status", ""));
	second[0] = '\0';
	if (dual)
		snprintf(second, sizeof second, "(%s yours) ", yours);
	fprintf(f, "%5lld  ", (long long)json_integer_value(json_object_get(fu,
	    "id")));
	if (out_owners) {
		out_cell(f, out_str(fu, "owner", "?"), 12, -1);
		fputs("  ", f);
	}
	fprintf(f, "%-16s  %-*s%-14s %-9s ", when, out_dual || dual ? 20 : 0,
	    second, rel, strcmp(out_str(fu, "kind", ""), "callback") == 0 ?
	    "CALLBACK" : "follow-up");
	out_cell(f, out_str(fu, "contact_name", "?"), 0, -1);
	if (*reason != '\0') {
		fputs(": ", f);
		out_cell(f, reason, 0, -1);
	}
	fputc('\n', f);
}

/* A follow-up in full. */
void
out_followup_detail(FILE *f, json_t *fu, time_t now)
{
	char	when[64], rel[32], yours[32];
	time_t	due = out_parse_time(out_str(fu, "due_at", NULL));
	int	dual;

	dual = out_dual_time(fu, due, when, sizeof when, yours, sizeof yours);
	if (!dual)
		out_time(due, when, sizeof when);
	else {
		strncat(when, " their time, ", sizeof when - strlen(when) - 1);
		strncat(when, yours, sizeof when - strlen(when) - 1);
		strncat(when, " yours", sizeof when - strlen(when) - 1);
	}
	out_relative(due, now, rel, sizeof rel);
	fprintf(f, "%s %lld with ",
	    strcmp(out_str(fu, "kind", ""), "callback") == 0 ? "Callback" :
	    "Follow-up", (long long)json_integer_value(json_object_get(fu,
	    "id")));
	out_cell(f, out_str(fu, "contact_name", "?"), 0, -1);
	fprintf(f, " (contact %lld)\n",
	    (long long)json_integer_value(json_object_get(fu, "contact_id")));
	fprintf(f, "  Status:   %s\n", out_str(fu, "status", "?"));
	if (strcmp(out_str(fu, "status", ""), "pending") == 0)
		fprintf(f, "  Due:      %s (%s)\n", when, rel);
	else
		fprintf(f, "  Due:      %s\n", when);
	if (json_is_string(json_object_get(fu, "reason"))) {
		fputs("  Reason:   ", f);
		out_block(f, out_str(fu, "reason", ""), 12);
		fputc('\n', f);
	}
	out_time(out_parse_time(out_str(fu, "remind_at", NULL)), when,
	    sizeof when);
	fprintf(f, "  Reminder: %s\n", when);
	if (json_integer_value(json_object_get(fu, "snoozes")) > 0)
		fprintf(f, "  Snoozed:  %lld times\n", (long long)
		    json_integer_value(json_object_get(fu, "snoozes")));
	if (json_is_string(json_object_get(fu, "note"))) {
		fputs("  Note:     ", f);
		out_block(f, out_str(fu, "note", ""), 12);
		fputc('\n', f);
	}
}

/* A contact's fields, one per line. */
void
out_contact_detail(FILE *f, json_t *c)
{
	static const char *const fields[][2] = {
		{ "company", "Company" }, { "phone", "Phone" },
		{ "email", "Email" }, { "tz", "Time zone" },
		{ "stage", "Stage" }, { "notes", "Notes" },
	};
	size_t	i;

	out_cell(f, out_str(c, "name", "?"), 0, -1);
	fprintf(f, " (contact %lld)%s\n",
	    (long long)json_integer_value(json_object_get(c, "id")),
	    json_is_true(json_object_get(c, "archived")) ? " [archived]" : "");
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (!json_is_string(json_object_get(c, fields[i][0])))
			continue;
		fprintf(f, "  %-10s ", fields[i][1]);
		out_block(f, out_str(c, fields[i][0], ""), 13);
		fputc('\n', f);
	}
}

/* One interaction on one line. */
void
out_interaction_line(FILE *f, json_t *in)
{
	char		when[64];
	const char	*note = out_str(in, "note", "");

	out_time(out_parse_time(out_str(in, "at", NULL)), when, sizeof when);
	fprintf(f, "  %-16s  %-9s ", when, out_str(in, "kind", ""));
	out_cell(f, out_str(in, "outcome", ""), 14, -1);
	fputc(' ', f);
	out_cell(f, note, 0, -1);
	fputc('\n', f);
}

/* Contacts as an aligned table. */
void
out_contact_table(FILE *f, json_t *contacts, int owners)
{
	json_t	*c;
	size_t	 i;
	int	 wn = 4, wc = 7, wo = 5;

	json_array_foreach(contacts, i, c) {
		if (out_width(out_str(c, "name", "")) > wn)
			wn = out_width(out_str(c, "name", ""));
		if (out_width(out_str(c, "company", "")) > wc)
			wc = out_width(out_str(c, "company", ""));
		if (out_width(out_str(c, "owner", "")) > wo)
			wo = out_width(out_str(c, "owner", ""));
	}
	if (wo > 16)
		wo = 16;
	if (wn > 30)
		wn = 30;
	if (wc > 24)
		wc = 24;
	fprintf(f, "%5s  ", "ID");
	if (owners)
		fprintf(f, "%-*s  ", wo, "OWNER");
	fprintf(f, "%-*s  %-*s  %-12s %s\n", wn, "NAME", wc, "COMPANY",
	    "STAGE", "PHONE");
	json_array_foreach(contacts, i, c) {
		fprintf(f, "%5lld  ",
		    (long long)json_integer_value(json_object_get(c, "id")));
		if (owners) {
			out_cell(f, out_str(c, "owner", ""), wo, wo);
			fputs("  ", f);
		}
		out_cell(f, out_str(c, "name", ""), wn, wn);
		fputs("  ", f);
		out_cell(f, out_str(c, "company", ""), wc, wc);
		fputs("  ", f);
		out_cell(f, out_str(c, "stage", ""), 12, -1);
		fputc(' ', f);
		out_cell(f, out_str(c, "phone", ""), 0, -1);
		fputc('\n', f);
	}
}

/*
 * Before a contact's promises: does any need the second time?  zone is
 * the contact's.
 */
void
out_promise_prepare(json_t *list, const char *zone)
{
	char	a[64], b[32];
	json_t	*p;
	size_t	 i;

	json_array_foreach(list, i, p) {
		if (out_time_pair(zone, out_parse_time(out_str(p, "due_at",
		    NULL)), a, sizeof a, b, sizeof b))
			out_dual = 1;
	}
}

/*
 * A callback's promise at a glance: "#31  Tue 24 Nov 10:00  kept" with
 * each re-agreement: "(re-agreed from Mon 23 Nov 15:00, missed)"; times
 * are the contact's, in zone, and the reader's too when they differ.
 */
void
out_promise_line(FILE *f, json_t *p, const char *zone)
{
	char	 when[64], yours[32], second[48], prev[128];
	json_t	*e;
	size_t	 i;
	time_t	 due = out_parse_time(out_str(p, "due_at", NULL));
	int	 dual;

	dual = out_time_pair(zone, due, when, sizeof when, yours, sizeof yours);
	if (!dual)
		out_time(due, when, sizeof when);
	second[0] = '\0';
	if (dual)
		snprintf(second, sizeof second, "(%s yours) ", yours);
	fprintf(f, "%5lld  %-16s  %-*s%-9s",
	    (long long)json_integer_value(json_object_get(p, "followup_id")),
	    when, out_dual || dual ? 20 : 0, second, out_str(p, "state", "?"));
	json_array_foreach(json_object_get(p, "history"), i, e) {
		if (strcmp(out_str(e, "what", ""), "reagreed") != 0)
			continue;
		out_time_dual(zone, out_parse_time(out_str(e,
		    "previous_due_at", NULL)), prev, sizeof prev);
		fprintf(f, " (re-agreed from %s%s%s", prev,
		    json_is_true(json_object_get(e, "was_missed")) ?
		    ", missed" : "", json_is_string(json_object_get(e,
		    "note")) ? ": " : "");
		out_cell(f, out_str(e, "note", ""), 0, -1);
		fputc(')', f);
	}
	fputc('\n', f);
}

/*
 * What a confirmation to a contact became: one line saying it is queued,
 * or with dry set the message in full (who, subject, the letter and the
 * invitation) with nothing sent.
 */
void
out_confirmation(FILE *f, json_t *conf, int dry)
{
	json_t	*from = json_object_get(conf, "from");
	json_t	*to = json_object_get(conf, "to");
	int	 cancel = strcmp(out_str(conf, "method", ""), "CANCEL") == 0;

	if (!json_is_object(conf))
		return;
	if (!dry) {
		fprintf(f, "%s to %s <%s> queued for %s\n", cancel ?
		    "Cancellation" : "Confirmation", out_str(to, "name", ""),
		    out_str(to, "email", ""), out_str(conf, "time", ""));
		return;
	}
	fprintf(f, "From: %s <%s>\n", out_str(from, "name", ""),
	    out_str(from, "email", ""));
	fprintf(f, "Reply-To: %s <%s>\n", out_str(from, "name", ""),
	    out_str(from, "email", ""));
	fprintf(f, "To: %s <%s>\n", out_str(to, "name", ""),
	    out_str(to, "email", ""));
	fprintf(f, "Subject: %s\n", out_str(conf, "subject", ""));
	fprintf(f, "\n");
	out_block(f, out_str(conf, "text", ""), 0);
	fprintf(f, "\n--- invitation (text/calendar; method=%s) ---\n",
	    out_str(conf, "method", ""));
	out_block(f, out_str(conf, "calendar", ""), 0);
	fprintf(f, "\n(dry run: nothing was sent)\n");
}
