/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * What the import parsers share: guessing a file's format, turning its
 * bytes into UTF-8 text, and building records and notes.  Nothing here
 * talks to the daemon.
 */

#include <config.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "followup/utf8.h"
#include "import.h"

/* Windows-1252's characters 0x80-0x9f (0: unassigned, read as U+FFFD). */
static const unsigned short import_cp1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178
};

/* Out of memory: nothing sensible is left to do. */
static void
import_oom(void)
{
	fprintf(stderr, "followup: out of memory\n");
	abort();
}

void *
import_alloc(size_t size)
{
	void	*p;

	if ((p = calloc(1, size != 0 ? size : 1)) == NULL)
		import_oom();
	return p;
}

/* Room for n elements of size each. */
void *
import_grow(void *p, size_t n, size_t size)
{
	if (size != 0 && n > (size_t)-1 / size)
		import_oom();
	if ((p = realloc(p, n * size != 0 ? n * size : 1)) == NULL)
		import_oom();
	return p;
}

char *
import_strdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		import_oom();
	return p;
}

/*
 * A field's value: s without surrounding blanks, or NULL if nothing is
 * left.  Caller frees.
 */
char *
import_field(const char *s, size_t len)
{
	char	*p;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0)
		return NULL;
	p = import_alloc(len + 1);
	memcpy(p, s, len);
	return p;
}

/*
 * Fold the line breaks of a one-line field (a spreadsheet cell may hold
 * them) into single spaces, in place.
 */
static void
import_one_line(char *s)
{
	char	*o = s, *start = s;

	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n') {
			while (o > start && o[-1] == ' ')
				o--;
			while (s[1] == '\r' || s[1] == '\n' || s[1] == ' ')
				s++;
			*o++ = ' ';
		} else
			*o++ = *s;
	}
	*o = '\0';
}

/* Finish record r: every field but the notes on one line. */
void
import_record_done(struct import_record *r)
{
	import_one_line(r->name);
	import_one_line(r->company);
	import_one_line(r->phone);
	import_one_line(r->email);
	import_one_line(r->tz);
	import_one_line(r->stage);
}

/* Add a record starting on line; it belongs to f. */
struct import_record *
import_record_new(struct import_file *f, long line)
{
	struct import_record	*r;

	f->records = import_grow(f->records, f->nrecords + 1,
	    sizeof *f->records);
	r = &f->records[f->nrecords++];
	memset(r, 0, sizeof *r);
	r->line = line;
	return r;
}

/* A formatted string. Caller frees. */
char *
import_printf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		import_oom();
	va_end(ap);
	return s;
}

/* Add a note for the user ("line 4: quoted-printable NOTE skipped"). */
void
import_note(struct import_file *f, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		import_oom();
	va_end(ap);
	f->notes = import_grow(f->notes, f->nnotes + 1, sizeof *f->notes);
	f->notes[f->nnotes++] = s;
}

void
import_file_free(struct import_file *f)
{
	struct import_record	*r;
	size_t			 i;

	for (i = 0; i < f->nrecords; i++) {
		r = &f->records[i];
		free(r->name);
		free(r->company);
		free(r->phone);
		free(r->email);
		free(r->tz);
		free(r->stage);
		free(r->notes);
		free(r->skip);
	}
	free(f->records);
	for (i = 0; i < f->ncolumns; i++)
		free(f->columns[i].header);
	free(f->columns);
	for (i = 0; i < f->nnotes; i++)
		free(f->notes[i]);
	free(f->notes);
	memset(f, 0, sizeof *f);
}

/* Is s (len bytes) valid UTF-8? */
int
import_utf8_valid(const char *s, size_t len)
{
	size_t		i, n;
	uint32_t	c;

	for (i = 0; i < len; i += n) {
		if ((n = fu_utf8_decode((const unsigned char *)s + i,
		    len - i, &c)) == 0)
			return 0;
	}
	return 1;
}

/*
 * The file's text as NUL-terminated UTF-8 without a byte order mark, its
 * length in *outlen.  A file that is not UTF-8 is read as Windows-1252
 * (what spreadsheets on Windows write), with a note in f.  Return NULL
 * with *cause set (caller frees) for UTF-16 or a binary file.  Caller
 * frees.
 */
char *
import_text(const char *buf, size_t len, size_t *outlen,
    struct import_file *f, char **cause)
{
	const unsigned char	*s = (const unsigned char *)buf;
	char			*out, *p;
	size_t			 i;

	*cause = NULL;
	if (len >= 2 && ((s[0] == 0xff && s[1] == 0xfe) ||
	    (s[0] == 0xfe && s[1] == 0xff))) {
		*cause = import_strdup("the file is UTF-16; save it as "
		    "UTF-8 (\"CSV UTF-8\" in a spreadsheet)");
		return NULL;
	}
	if (memchr(buf, '\0', len) != NULL) {
		*cause = import_strdup("the file holds NUL bytes: it is not "
		    "text");
		return NULL;
	}
	if (len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf) {
		s += 3;
		len -= 3;
	}
	if (import_utf8_valid((const char *)s, len)) {
		out = import_alloc(len + 1);
		memcpy(out, s, len);
		*outlen = len;
		return out;
	}
	import_note(f, "the file is not UTF-8: read it as Windows-1252 "
	    "(Latin-1)");
	p = out = import_alloc(len * 3 + 1);
	for (i = 0; i < len; i++) {
		if (s[i] < 0x80)
			*p++ = (char)s[i];
		else if (s[i] < 0xa0)
			p = fu_utf8_encode(p, import_cp1252[s[i] - 0x80] != 0 ?
			    import_cp1252[s[i] - 0x80] : 0xfffd);
		else
			p = fu_utf8_encode(p, s[i]);
	}
	*p = '\0';
	*outlen = (size_t)(p - out);
	return out;
}

/*
 * The format of a file named path holding buf: by its extension (.vcf,
 * .vcard; .csv, .txt), else vCard if it begins with BEGIN:VCARD, else CSV.
 */
enum import_format
import_guess(const char *path, const char *buf, size_t len)
{
	const char	*dot = path != NULL ? strrchr(path, '.') : NULL;
	size_t		 i = 0;

	if (dot != NULL && strchr(dot, '/') == NULL) {
		if (strcasecmp(dot, ".vcf") == 0 ||
		    strcasecmp(dot, ".vcard") == 0)
			return IMPORT_VCARD;
		if (strcasecmp(dot, ".csv") == 0 || strcasecmp(dot, ".tsv") ==
		    0)
			return IMPORT_CSV;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	if (len - i >= 11 && strncasecmp(buf + i, "BEGIN:VCARD", 11) == 0)
		return IMPORT_VCARD;
	return IMPORT_CSV;
}

/* Parse buf as format into f.  Return 0, or -1 with *cause set. */
int
import_parse(enum import_format format, const char *buf, size_t len,
    struct import_file *f, char **cause)
{
	if (format == IMPORT_VCARD)
		return import_vcard(buf, len, f, cause);
	return import_csv(buf, len, f, cause);
}
