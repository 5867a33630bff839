/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Contacts from a CSV file as spreadsheets and CRMs write them: RFC 4180
 * (quoted fields with commas, doubled quotes and line breaks; CRLF or LF),
 * a UTF-8 byte order mark or none, a semicolon or tab instead of the comma
 * when the header shows one, and a header row whose column names are
 * mapped to contact fields by name, whatever their case or punctuation.
 */

#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import.h"

/* What a column fills. */
enum csv_field {
	CSV_NONE,
	CSV_NAME,
	CSV_FIRST,		/* the name's first part */
	CSV_LAST,		/* the name's last part */
	CSV_COMPANY,
	CSV_PHONE,
	CSV_EMAIL,
	CSV_TZ,
	CSV_STAGE,
	CSV_NOTES,
	CSV_ARCHIVED,		/* our own export's Archived: yes or no */
	CSV_NFIELDS
};

static const char *const csv_field_names[CSV_NFIELDS] = {
	NULL, "name", "name (first part)", "name (last part)", "company",
	"phone", "email", "tz", "stage", "notes", "archived"
};

/*
 * Header names, lower case with only letters and digits kept ("E-mail
 * Address" is emailaddress; letters beyond ASCII are kept, as UTF-8), as
 * Outlook (in English, German and French), Google Contacts, Salesforce,
 * HubSpot, Pipedrive and spreadsheets write them.  Of several columns for
 * one field, a row takes the first non-empty value by rank, then by
 * column.  Outlook's "Account" is an account number, not a company, so it
 * is not here.
 */
static const struct {
	const char	*key;
	enum csv_field	 field;
	int		 rank;
} csv_aliases[] = {
	{ "name", CSV_NAME, 0 }, { "fullname", CSV_NAME, 0 },
	{ "contactname", CSV_NAME, 1 }, { "displayname", CSV_NAME, 2 },
	{ "contact", CSV_NAME, 3 }, { "person", CSV_NAME, 3 },
	{ "firstname", CSV_FIRST, 0 }, { "givenname", CSV_FIRST, 0 },
	{ "first", CSV_FIRST, 1 },
	{ "lastname", CSV_LAST, 0 }, { "surname", CSV_LAST, 0 },
	{ "familyname", CSV_LAST, 0 }, { "last", CSV_LAST, 1 },
	{ "company", CSV_COMPANY, 0 }, { "companyname", CSV_COMPANY, 0 },
	{ "organization", CSV_COMPANY, 1 }, { "organisation", CSV_COMPANY, 1 },
	{ "organizationname", CSV_COMPANY, 1 },
	{ "organization1name", CSV_COMPANY, 1 }, { "org", CSV_COMPANY, 2 },
	{ "accountname", CSV_COMPANY, 2 }, { "companyaccount", CSV_COMPANY, 0 },
	{ "phone", CSV_PHONE, 0 }, { "phonenumber", CSV_PHONE, 0 },
	{ "telephone", CSV_PHONE, 0 }, { "tel", CSV_PHONE, 0 },
	{ "primaryphone", CSV_PHONE, 0 }, { "businessphone", CSV_PHONE, 1 },
	{ "workphone", CSV_PHONE, 1 }, { "officephone", CSV_PHONE, 1 },
	{ "phone1value", CSV_PHONE, 1 }, { "mobile", CSV_PHONE, 2 },
	{ "mobilephone", CSV_PHONE, 2 }, { "mobilephonenumber", CSV_PHONE, 2 },
	{ "cell", CSV_PHONE, 2 }, { "cellphone", CSV_PHONE, 2 },
	{ "homephone", CSV_PHONE, 3 }, { "otherphone", CSV_PHONE, 4 },
	{ "phone2value", CSV_PHONE, 4 },
	{ "email", CSV_EMAIL, 0 }, { "emailaddress", CSV_EMAIL, 0 },
	{ "primaryemail", CSV_EMAIL, 0 }, { "mail", CSV_EMAIL, 1 },
	{ "workemail", CSV_EMAIL, 1 }, { "businessemail", CSV_EMAIL, 1 },
	{ "email1", CSV_EMAIL, 1 }, { "email1value", CSV_EMAIL, 1 },
	{ "email1address", CSV_EMAIL, 1 }, { "email2", CSV_EMAIL, 3 },
	{ "email2value", CSV_EMAIL, 3 }, { "email2address", CSV_EMAIL, 3 },
	{ "homeemail", CSV_EMAIL, 3 }, { "personalemail", CSV_EMAIL, 3 },
	{ "timezone", CSV_TZ, 0 }, { "tz", CSV_TZ, 0 }, { "zone", CSV_TZ, 1 },
	{ "stage", CSV_STAGE, 0 }, { "pipelinestage", CSV_STAGE, 0 },
	{ "dealstage", CSV_STAGE, 1 }, { "leadstatus", CSV_STAGE, 1 },
	{ "lifecyclestage", CSV_STAGE, 2 }, { "status", CSV_STAGE, 2 },
	{ "notes", CSV_NOTES, 0 }, { "note", CSV_NOTES, 0 },
	{ "description", CSV_NOTES, 1 }, { "comments", CSV_NOTES, 1 },
	{ "comment", CSV_NOTES, 1 }, { "remarks", CSV_NOTES, 2 },
	{ "archived", CSV_ARCHIVED, 0 },

	/* Outlook in German, and German spreadsheets. */
	{ "vorname", CSV_FIRST, 0 }, { "nachname", CSV_LAST, 0 },
	{ "firma", CSV_COMPANY, 0 }, { "unternehmen", CSV_COMPANY, 1 },
	{ "haupttelefon", CSV_PHONE, 0 }, { "telefon", CSV_PHONE, 0 },
	{ "telefongesch\xc3\xa4" "ftlich", CSV_PHONE, 1 },
	{ "mobiltelefon", CSV_PHONE, 2 }, { "mobil", CSV_PHONE, 2 },
	{ "telefonprivat", CSV_PHONE, 3 }, { "weiterestelefon", CSV_PHONE, 4 },
	{ "emailadresse", CSV_EMAIL, 0 }, { "email2adresse", CSV_EMAIL, 3 },
	{ "email3adresse", CSV_EMAIL, 4 }, { "zeitzone", CSV_TZ, 0 },
	{ "notizen", CSV_NOTES, 0 }, { "notiz", CSV_NOTES, 0 },
	{ "bemerkungen", CSV_NOTES, 1 },

	/* Outlook in French ("Nom" is the last name there). */
	{ "pr\xc3\xa9nom", CSV_FIRST, 0 }, { "nom", CSV_LAST, 0 },
	{ "nomcomplet", CSV_NAME, 0 },
	{ "soci\xc3\xa9t\xc3\xa9", CSV_COMPANY, 0 },
	{ "entreprise", CSV_COMPANY, 1 },
	{ "t\xc3\xa9l\xc3\xa9phoneprincipal", CSV_PHONE, 0 },
	{ "t\xc3\xa9l\xc3\xa9phone", CSV_PHONE, 0 },
	{ "t\xc3\xa9l\xc3\xa9phonebureau", CSV_PHONE, 1 },
	{ "t\xc3\xa9lmobile", CSV_PHONE, 2 }, { "portable", CSV_PHONE, 2 },
	{ "t\xc3\xa9l\xc3\xa9phonedomicile", CSV_PHONE, 3 },
	{ "t\xc3\xa9l\xc3\xa9phoneautre", CSV_PHONE, 4 },
	{ "adressedemessagerie", CSV_EMAIL, 0 },
	{ "adressedemessagerie2", CSV_EMAIL, 3 },
	{ "adressedemessagerie3", CSV_EMAIL, 4 },
	{ "fuseauhoraire", CSV_TZ, 0 },
};

/* One row being read: its fields, and where it started. */
struct csv_row {
	char		**fields;
	size_t		  nfields;
	long		  line;
	int		  open_quote;	/* ended inside a quoted field */
};

/* A column's field and rank. */
struct csv_map {
	enum csv_field	 field;
	int		 rank;
};

static void
csv_row_clear(struct csv_row *row)
{
	size_t	i;

	for (i = 0; i < row->nfields; i++)
		free(row->fields[i]);
	free(row->fields);
	memset(row, 0, sizeof *row);
}

static void
csv_row_add(struct csv_row *row, const char *s, size_t len)
{
	char	*p;

	p = import_alloc(len + 1);
	memcpy(p, s, len);
	row->fields = import_grow(row->fields, row->nfields + 1,
	    sizeof *row->fields);
	row->fields[row->nfields++] = p;
}

/*
 * The delimiter: a comma, unless the header line (outside quotes) holds
 * more semicolons or tabs than commas, as European spreadsheets write.
 */
static char
csv_delimiter(const char *p, const char *end)
{
	size_t	comma = 0, semi = 0, tab = 0;
	int	quoted = 0;

	for (; p < end && (quoted || (*p != '\n' && *p != '\r')); p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == ',')
			comma++;
		else if (!quoted && *p == ';')
			semi++;
		else if (!quoted && *p == '\t')
			tab++;
	}
	if (tab > comma && tab >= semi)
		return '\t';
	if (semi > comma)
		return ';';
	return ',';
}

/*
 * Read one row at *pp into row, counting lines in *line; a quoted field
 * keeps its commas, doubled quotes and line breaks (CRLF inside one
 * becomes LF).  Return 0, or -1 at the end of the text.
 */
static int
csv_read_row(const char **pp, const char *end, char delim, long *line,
    struct csv_row *row)
{
	const char	*p = *pp;
	char		*buf;
	size_t		 len, cap;

	memset(row, 0, sizeof row[0]);
	if (p >= end)
		return -1;
	row->line = *line;
	cap = 64;
	buf = import_alloc(cap);
	for (;;) {
		len = 0;
		if (p < end && *p == '"') {
			p++;
			for (;;) {
				if (p >= end) {
					row->open_quote = 1;
					break;
				}
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"')
						p++;
					else {
						p++;
						break;
					}
				} else if (*p == '\n')
					(*line)++;
				else if (*p == '\r' && p + 1 < end &&
				    p[1] == '\n') {
					p++;
					continue;
				}
				if (len + 1 >= cap)
					buf = import_grow(buf, cap *= 2, 1);
				buf[len++] = *p++;
			}
		}
		/* Unquoted text, or what follows a closing quote. */
		while (p < end && *p != delim && *p != '\n' && *p != '\r') {
			if (len + 1 >= cap)
				buf = import_grow(buf, cap *= 2, 1);
			buf[len++] = *p++;
		}
		csv_row_add(row, buf, len);
		if (p < end && *p == delim) {
			p++;
			continue;
		}
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
		(*line)++;
		break;
	}
	free(buf);
	*pp = p;
	return 0;
}

/* Is the row blank: one empty field? */
static int
csv_row_blank(const struct csv_row *row)
{
	return row->nfields == 1 && row->fields[0][0] == '\0' &&
	    !row->open_quote;
}

/*
 * A header name's key: lower case, letters and digits only.  Bytes of
 * UTF-8 characters are kept, with the capitals of Latin-1 made small, so a
 * French or German header in capitals has the key of its usual spelling.
 */
static void
csv_key(const char *header, char *key, size_t size)
{
	const unsigned char	*h = (const unsigned char *)header;
	size_t			 n = 0;

	for (; *h != '\0' && n + 2 < size; h++) {
		if (*h >= 0x80) {
			key[n++] = (char)*h;
			/* U+00C0-U+00DE but U+00D7: small is 0x20 on. */
			if (*h == 0xc3 && h[1] >= 0x80 && h[1] <= 0x9e &&
			    h[1] != 0x97)
				key[n++] = (char)(*++h + 0x20);
		} else if (isalnum(*h))
			key[n++] = (char)tolower(*h);
	}
	key[n] = '\0';
}

/* Map the header row's columns to fields, recording them in f. */
static struct csv_map *
csv_map_header(const struct csv_row *row, struct import_file *f)
{
	struct csv_map	*map;
	char		 key[64];
	size_t		 i, j;

	map = import_alloc(row->nfields * sizeof *map);
	f->columns = import_alloc(row->nfields * sizeof *f->columns);
	f->ncolumns = row->nfields;
	for (i = 0; i < row->nfields; i++) {
		csv_key(row->fields[i], key, sizeof key);
		for (j = 0; j < sizeof csv_aliases / sizeof csv_aliases[0];
		    j++) {
			if (strcmp(key, csv_aliases[j].key) == 0) {
				map[i].field = csv_aliases[j].field;
				map[i].rank = csv_aliases[j].rank;
				break;
			}
		}
		f->columns[i].header = import_field(row->fields[i],
		    strlen(row->fields[i]));
		if (f->columns[i].header == NULL)
			f->columns[i].header = import_strdup("");
		f->columns[i].field = csv_field_names[map[i].field];
	}
	return map;
}

/*
 * A cell's text without the guard quote a CSV export puts before text a
 * spreadsheet would run as a formula (OWASP: a quote before = + - @ tab
 * or CR, and before such a guarded text itself, so the guard is undone
 * exactly once).  Borrowed.
 */
static const char *
csv_unguard(const char *s)
{
	const char	*p = s;

	while (*p == '\'')
		p++;
	if (p != s && *p != '\0' && strchr("=+-@\t\r", *p) != NULL)
		return s + 1;
	return s;
}

/* The value of field in row: the first non-empty by rank. Caller frees. */
static char *
csv_value(const struct csv_row *row, const struct csv_map *map,
    enum csv_field field)
{
	const char	*s;
	char		*best = NULL;
	size_t		 i;
	int		 best_rank = 0;

	for (i = 0; i < row->nfields; i++) {
		char	*v;

		if (map[i].field != field || (best != NULL &&
		    map[i].rank >= best_rank))
			continue;
		s = csv_unguard(row->fields[i]);
		if ((v = import_field(s, strlen(s))) == NULL)
			continue;
		free(best);
		best = v;
		best_rank = map[i].rank;
	}
	return best;
}

/*
 * Keep the first of the values Google Contacts joins in one cell with
 * " ::: " (two phones, two addresses) in *value; the others are added to
 * *extra, one "Other label: value" line each, for the notes.
 */
static void
csv_first_value(char **value, const char *label, char **extra)
{
	char	*sep, *rest, *v, *joined;

	if (*value == NULL || (sep = strstr(*value, ":::")) == NULL)
		return;
	*sep = '\0';
	for (rest = sep + 3; rest != NULL; rest = sep != NULL ? sep + 3 :
	    NULL) {
		if ((sep = strstr(rest, ":::")) != NULL)
			*sep = '\0';
		if ((v = import_field(rest, strlen(rest))) == NULL)
			continue;
		joined = import_printf("%s%sOther %s: %s", *extra != NULL ?
		    *extra : "", *extra != NULL ? "\n" : "", label, v);
		free(*extra);
		free(v);
		*extra = joined;
	}
	v = import_field(*value, strlen(*value));
	free(*value);
	*value = v;
}

/*
 * How an Archived cell reads: yes or no as our export writes them (or
 * true/false, 1/0); -1 for anything else.
 */
static int
csv_archived(const char *s)
{
	static const char *const yes[] = { "yes", "true", "1", "y", NULL };
	static const char *const no[] = { "no", "false", "0", "n", NULL };
	size_t			 i;

	if (s == NULL)
		return IMPORT_ARCHIVED_UNSAID;
	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return IMPORT_ARCHIVED_YES;
		if (strcasecmp(s, no[i]) == 0)
			return IMPORT_ARCHIVED_NO;
	}
	return -1;
}

/*
 * A stage as the daemon spells stages: lower case, a run of blanks,
 * underscores and hyphens as one hyphen ("Info Sent" is info-sent).
 */
static void
csv_stage(char *s)
{
	char	*o = s, *start = s;

	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '_' || *s == '-') {
			if (o > start && o[-1] != '-')
				*o++ = '-';
		} else
			*o++ = (char)tolower((unsigned char)*s);
	}
	*o = '\0';
}

/* Fill record r from row. */
static void
csv_record(struct import_record *r, const struct csv_row *row,
    const struct csv_map *map)
{
	char	*first, *last, *extra = NULL, *joined, *archived;

	r->name = csv_value(row, map, CSV_NAME);
	first = csv_value(row, map, CSV_FIRST);
	last = csv_value(row, map, CSV_LAST);
	if (r->name == NULL && (first != NULL || last != NULL)) {
		r->name = import_printf("%s%s%s", first != NULL ? first : "",
		    first != NULL && last != NULL ? " " : "",
		    last != NULL ? last : "");
	}
	free(first);
	free(last);
	r->company = csv_value(row, map, CSV_COMPANY);
	r->phone = csv_value(row, map, CSV_PHONE);
	r->email = csv_value(row, map, CSV_EMAIL);
	r->tz = csv_value(row, map, CSV_TZ);
	r->stage = csv_value(row, map, CSV_STAGE);
	csv_stage(r->stage);
	r->notes = csv_value(row, map, CSV_NOTES);
	csv_first_value(&r->company, "company", &extra);
	csv_first_value(&r->phone, "phone", &extra);
	csv_first_value(&r->email, "email", &extra);
	if (extra != NULL) {
		joined = import_printf("%s%s%s", r->notes != NULL ? r->notes :
		    "", r->notes != NULL ? "\n" : "", extra);
		free(r->notes);
		free(extra);
		r->notes = joined;
	}
	archived = csv_value(row, map, CSV_ARCHIVED);
	if ((r->archived = csv_archived(archived)) == -1) {
		r->archived = IMPORT_ARCHIVED_UNSAID;
		r->skip = import_printf("Archived is \"%s\" (yes or no)",
		    archived);
	}
	free(archived);
	import_record_done(r);
}

/*
 * Read the contacts of a CSV file held in buf: the first non-blank row is
 * the header, each later row a record.  A row with another number of
 * fields than the header, without a name, or with a quote that is never
 * closed is kept as a skipped record with the reason and the line it
 * starts on.  Blank lines are passed over.  Fill f (the caller frees it
 * with import_file_free) and return 0, or -1 with *cause set (caller
 * frees) when there is no header or the file is not text.
 */
int
import_csv(const char *buf, size_t len, struct import_file *f,
    char **cause)
{
	struct csv_row		 header, row;
	struct csv_map		*map = NULL;
	struct import_record	*r;
	const char		*p, *end;
	char			*text, delim;
	size_t			 tlen;
	long			 line = 1;
	int			 named = 0;
	size_t			 i;

	memset(f, 0, sizeof *f);
	if ((text = import_text(buf, len, &tlen, f, cause)) == NULL)
		return -1;
	p = text;
	end = text + tlen;
	delim = csv_delimiter(p, end);
	for (;;) {
		if (csv_read_row(&p, end, delim, &line, &header) != 0) {
			*cause = import_strdup("the file is empty: a CSV file "
			    "starts with a header row naming its columns");
			free(text);
			return -1;
		}
		if (!csv_row_blank(&header))
			break;
		csv_row_clear(&header);
	}
	map = csv_map_header(&header, f);
	for (i = 0; i < header.nfields; i++) {
		if (map[i].field == CSV_NAME || map[i].field == CSV_FIRST ||
		    map[i].field == CSV_LAST)
			named = 1;
	}
	if (!named) {
		*cause = import_strdup("no column holds the name: the header "
		    "needs Name, Full Name, or First Name and Last Name");
		goto fail;
	}
	if (delim != ',')
		import_note(f, "the columns are separated by %s",
		    delim == ';' ? "semicolons" : "tabs");

	while (csv_read_row(&p, end, delim, &line, &row) == 0) {
		if (csv_row_blank(&row)) {
			csv_row_clear(&row);
			continue;
		}
		r = import_record_new(f, row.line);
		if (row.open_quote)
			r->skip = import_strdup("a quoted field is never "
			    "closed (it runs to the end of the file)");
		else if (row.nfields != header.nfields) {
			r->skip = import_printf("%zu field%s where the "
			    "header has %zu", row.nfields, row.nfields == 1 ?
			    "" : "s", header.nfields);
		} else {
			csv_record(r, &row, map);
			if (r->skip == NULL && r->name == NULL)
				r->skip = import_strdup("no name");
		}
		csv_row_clear(&row);
	}
	csv_row_clear(&header);
	free(map);
	free(text);
	return 0;
fail:
	csv_row_clear(&header);
	free(map);
	free(text);
	import_file_free(f);
	return -1;
}
