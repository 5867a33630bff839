/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Which backend a database string names.  A path is an SQLite file; a URL
 * or a libpq conninfo string names a server.  The string is read here once,
 * so that a URL is never taken for a relative file name: before, a
 * "postgresql://..." quietly became an SQLite file called "postgresql:" in
 * the working directory.
 */

#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "followupd.h"

/* The keywords a conninfo string may begin with (libpq's own names). */
static const char *store_conninfo_keys[] = {
	"host", "hostaddr", "port", "dbname", "user", "password", "passfile",
	"service", "sslmode", "connect_timeout", "application_name",
	"options", "target_session_attrs", NULL
};

/* Is s a conninfo string, "host=... dbname=..."? */
static int
store_backend_conninfo(const char *s)
{
	const char	**k;
	size_t		  len;

	while (isspace((unsigned char)*s))
		s++;
	for (k = store_conninfo_keys; *k != NULL; k++) {
		len = strlen(*k);
		if (strncmp(s, *k, len) != 0)
			continue;
		s += len;
		while (isspace((unsigned char)*s))
			s++;
		return *s == '=';
	}
	return 0;
}

/*
 * The backend a database string names: STORE_BACKEND_SQLITE for a path,
 * STORE_BACKEND_POSTGRESQL for a postgresql:// or postgres:// URL or a
 * conninfo string, STORE_BACKEND_UNKNOWN for any other scheme://.
 */
enum store_backend_kind
store_backend_kind(const char *database)
{
	const char	*p;

	if (strncmp(database, "postgresql://", 13) == 0 ||
	    strncmp(database, "postgres://", 11) == 0 ||
	    store_backend_conninfo(database))
		return STORE_BACKEND_POSTGRESQL;
	if (*database == '/')
		return STORE_BACKEND_SQLITE;
	/* Any other scheme: a letter, then letters, digits, "+-.", then
	 * "://".  A relative path rarely looks like that; one that does is
	 * given as ./path. */
	p = database;
	if (isalpha((unsigned char)*p)) {
		while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
		    *p == '.')
			p++;
		if (strncmp(p, "://", 3) == 0)
			return STORE_BACKEND_UNKNOWN;
	}
	return STORE_BACKEND_SQLITE;
}

/*
 * Can this build open the database?  0 if so; else -1 and a cause that
 * names the backend, never the string itself (a URL may hold a password).
 */
int
store_backend_usable(const char *database, char **cause)
{
	*cause = NULL;
	switch (store_backend_kind(database)) {
	case STORE_BACKEND_SQLITE:
		return 0;
	case STORE_BACKEND_POSTGRESQL:
		*cause = xstrdup("this followupd was built without the "
		    "PostgreSQL backend");
		return -1;
	case STORE_BACKEND_UNKNOWN:
		break;
	}
	*cause = xstrdup("the database URL names no known backend (an "
	    "SQLite path, or postgresql://)");
	return -1;
}
