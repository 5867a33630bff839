/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Reading contacts from files: the record every parser produces and the
 * parsers themselves, pure functions from a buffer to records, so they
 * can be tested and fuzzed without a daemon.
 */

#ifndef FOLLOWUP_IMPORT_H
#define FOLLOWUP_IMPORT_H

#include <stddef.h>

/* Largest file import reads. */
#define IMPORT_FILE_MAX		(64 * 1024 * 1024)

/* A contact read from a file, as contact.import takes it. */
struct import_record {
	long		 line;		/* physical line where it starts */
	char		*name;		/* NULL when absent or empty */
	char		*company;
	char		*phone;
	char		*email;
	char		*tz;
	char		*stage;
	char		*notes;
	int		 archived;	/* IMPORT_ARCHIVED_*: the file's word */
	char		*skip;		/* why it cannot be imported, or NULL */
};

#define IMPORT_ARCHIVED_UNSAID	0
#define IMPORT_ARCHIVED_NO	1
#define IMPORT_ARCHIVED_YES	2

/* A column of a CSV header and the field it fills (NULL: ignored). */
struct import_column {
	char		*header;
	const char	*field;
};

struct import_file {
	struct import_record	*records;
	size_t			 nrecords;
	struct import_column	*columns;	/* CSV only */
	size_t			 ncolumns;
	char			**notes;	/* worth telling the user */
	size_t			 nnotes;
};

enum import_format {
	IMPORT_CSV,
	IMPORT_VCARD
};

/* import.c */
enum import_format import_guess(const char *, const char *, size_t);
int		 import_parse(enum import_format, const char *, size_t,
		     struct import_file *, char **);
void		 import_file_free(struct import_file *);
int		 import_utf8_valid(const char *, size_t);
char		*import_text(const char *, size_t, size_t *,
		     struct import_file *, char **);
struct import_record *import_record_new(struct import_file *, long);
void		 import_record_done(struct import_record *);
void		 import_note(struct import_file *, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
char		*import_field(const char *, size_t);
void		*import_alloc(size_t);
void		*import_grow(void *, size_t, size_t);
char		*import_strdup(const char *);
char		*import_printf(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)));

/* import-csv.c */
int		 import_csv(const char *, size_t, struct import_file *,
		     char **);

/* import-vcard.c */
int		 import_vcard(const char *, size_t, struct import_file *,
		     char **);

#endif /* FOLLOWUP_IMPORT_H */
