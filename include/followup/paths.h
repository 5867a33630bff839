/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Default paths and environment variable names, shared by followupd and the
 * client.  The system paths arrive as -D flags from Makefile.am, so an
 * installation prefix changes them in one place.
 */

#ifndef FOLLOWUP_PATHS_H
#define FOLLOWUP_PATHS_H

#ifndef FU_SYSTEM_SOCKET
#define FU_SYSTEM_SOCKET	"/run/followupd/followupd.sock"
#endif
#ifndef FU_SYSTEM_DATABASE
#define FU_SYSTEM_DATABASE	"/var/lib/followupd/followup.db"
#endif
#ifndef FU_SYSTEM_CONFIG
#define FU_SYSTEM_CONFIG	"/etc/followupd.conf"
#endif

/* User mode: the socket under $XDG_RUNTIME_DIR, the database under the state dir. */
/*
 * Root and system accounts (uids below this, as Debian's login.defs has
 * it) run the team's daemon and use the system paths; people use their own.
 */
#define FU_FIRST_USER_UID	1000

#define FU_USER_SOCKET_NAME	"followupd.sock"
#define FU_USER_STATE_SUBDIR	"followupd"
#define FU_USER_DATABASE_NAME	"followup.db"
#define FU_USER_CONFIG_SUBDIR	"followupd"	/* under $XDG_CONFIG_HOME */
#define FU_USER_CONFIG_NAME	"followupd.conf"

/* Environment variables. */
#define FU_ENV_SOCKET		"FOLLOWUP_SOCKET"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * Fill buf with the user-mode socket path: $XDG_RUNTIME_DIR/followupd.sock,
 * or /tmp/followupd-UID/followupd.sock when that variable is unset (the
 * daemon makes that directory mode 0700).  Return 0, or -1 if it is too long.
 */
static inline int
fu_user_socket_path(char *buf, size_t len)
{
	const char	*dir = getenv("XDG_RUNTIME_DIR");
	int		 n;

	if (dir != NULL && *dir == '/')
		n = snprintf(buf, len, "%s/%s", dir, FU_USER_SOCKET_NAME);
	else
		n = snprintf(buf, len, "/tmp/followupd-%lu/%s",
		    (unsigned long)getuid(), FU_USER_SOCKET_NAME);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

#endif /* FOLLOWUP_PATHS_H */
