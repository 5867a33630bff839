/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Who may do what: whether a caller is an admin (root, the daemon's own
 * user, or a member of admin_group), and whether a user another is acted
 * for exists.  Callers are known by the uid and gid the socket reported;
 * never by a pid.
 */

#include <config.h>

#include <sys/types.h>

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "followupd.h"

/* Is the user with these credentials a member of group gid? */
static int
auth_in_group(const char *name, gid_t primary, gid_t gid)
{
	gid_t	*groups;
	int	 n = 64, i, found = 0;

	if (primary == gid)
		return 1;
	groups = xreallocarray(NULL, n, sizeof *groups);
	if (getgrouplist(name, primary, groups, &n) == -1) {
		/* n now holds the count needed. */
		groups = xreallocarray(groups, n, sizeof *groups);
		if (getgrouplist(name, primary, groups, &n) == -1)
			n = 0;
	}
	for (i = 0; i < n; i++) {
		if (groups[i] == gid) {
			found = 1;
			break;
		}
	}
	free(groups);
	return found;
}

/*
 * May the caller (uid, its primary gid, its user name) see and act for
 * the whole team?  Root and the user the daemon runs as always may; so
 * may members of group admin_group (if set).
 */
int
auth_is_admin(uid_t uid, gid_t gid, const char *name, const char *admin_group)
{
	struct group	*gr;

	if (uid == 0 || uid == geteuid())
		return 1;
	if (admin_group == NULL || *admin_group == '\0' || name == NULL ||
	    *name == '#')
		return 0;
	if ((gr = getgrnam(admin_group)) == NULL)
		return 0;
	return auth_in_group(name, gid, gr->gr_gid);
}

/*
 * The uid of the user of this name, or -1 if there is none.  Requests
 * run on the store's lanes too, so the lookup keeps no static buffer.
 */
int64_t
auth_user_uid(const char *name)
{
	struct passwd	 pwd, *pw = NULL;
	char		*buf;
	long		 size = sysconf(_SC_GETPW_R_SIZE_MAX);
	int64_t		 uid = -1;

	if (name == NULL || *name == '\0')
		return -1;
	if (size < 1024)
		size = 16384;
	buf = xmalloc(size);
	if (getpwnam_r(name, &pwd, buf, size, &pw) == 0 && pw != NULL)
		uid = pw->pw_uid;
	free(buf);
	return uid;
}

/* Does a user of this name exist on the system? */
int
auth_user_exists(const char *name)
{
	return auth_user_uid(name) != -1;
}
