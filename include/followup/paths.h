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

/*
 * User mode: the socket under $XDG_RUNTIME_DIR (or the state dir), the
 * database under the state dir.
 */
/*
 * Root and system accounts (uids below this, as Debian's login.defs has
 * it) run the team's daemon and use the system paths; people use their own.
 */
#define FU_FIRST_USER_UID	1000

#define FU_USER_SOCKET_NAME	"followupd.sock"
/* Under the home directory when $XDG_RUNTIME_DIR is unset. */
#define FU_USER_SOCKET_FALLBACK	".local/state/followupd"
#define FU_USER_STATE_SUBDIR	"followupd"
#define FU_USER_DATABASE_NAME	"followup.db"
#define FU_USER_CONFIG_SUBDIR	"followupd"	/* under $XDG_CONFIG_HOME */
#define FU_USER_CONFIG_NAME	"followupd.conf"

/* The team daemon's own account (systemd/followupd.sysusers). */
#define FU_SERVICE_USER		"followupd"

/* Environment variables. */
#define FU_ENV_SOCKET		"FOLLOWUP_SOCKET"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * Fill buf with the user-mode socket path: $XDG_RUNTIME_DIR/followupd.sock,
 * or ~/.local/state/followupd/followupd.sock when that variable is unset
 * (su, cron, ssh without logind).  The fallback is under the home
 * directory the password database gives, not $HOME (which su or sudo may
 * leave pointing at someone else's), so no other user can make it first,
 * as anyone could a name in /tmp.  Return 0; or -1, with buf holding the
 * path when it is too long for a socket address (sun_path is never
 * truncated) and empty when the user has no home directory.
 */
static inline int
fu_user_socket_path(char *buf, size_t len)
{
	const char	*dir = getenv("XDG_RUNTIME_DIR");
	struct passwd	*pw;
	int		 n;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (dir != NULL && *dir == '/')
		n = snprintf(buf, len, "%s/%s", dir, FU_USER_SOCKET_NAME);
	else {
		if ((pw = getpwuid(getuid())) == NULL ||
		    pw->pw_dir == NULL || pw->pw_dir[0] != '/')
			return -1;
		n = snprintf(buf, len, "%s%s%s/%s", pw->pw_dir,
		    pw->pw_dir[1] == '\0' ? "" : "/", FU_USER_SOCKET_FALLBACK,
		    FU_USER_SOCKET_NAME);
	}
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return -1;
	}
	return (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path) ?
	    -1 : 0;
}

#endif /* FOLLOWUP_PATHS_H */
