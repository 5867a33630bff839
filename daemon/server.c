/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The listening socket: the one systemd hands over, or our own.  Accepting
 * connections, learning who is calling (SO_PEERCRED), a cap on connections
 * per user, and pausing instead of failing when descriptors run out.
 * Nothing past server_listen knows where the socket came from.
 */

#include <config.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "followupd.h"

/* How long to stop accepting when out of descriptors. */
#define SERVER_PAUSE_MS		200

static struct evconnlistener	*server_listener;
static struct event		*server_resume_ev;
static char			*server_path;
static int			 server_owns_path;	/* we bound it: unlink */
static int			 server_max_per_user = 1024;

/* Set the cap on connections one user may hold open. */
void
server_set_limits(int max_per_user)
{
	server_max_per_user = max_per_user;
}

/* The path of the listening socket. Borrowed. */
const char *
server_socket_path(void)
{
	return server_path;
}

/* Say no to a connection before closing it, without blocking. */
static void
server_refuse(int fd, const char *msg)
{
	json_t	*reply;
	char	*text;

	reply = ops_error_reply(NULL, FU_ERR_UNAVAILABLE, msg);
	if ((text = json_dumps(reply, JSON_COMPACT)) != NULL) {
		(void)send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)send(fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		free(text);
	}
	json_decref(reply);
	close(fd);
}

/* The user name for uid ("#1234" if it has none). Caller frees. */
static char *
server_user_name(uid_t uid)
{
	struct passwd	*pw;
	char		*name;

	if ((pw = getpwuid(uid)) != NULL)
		return xstrdup(pw->pw_name);
	xasprintf(&name, "#%lu", (unsigned long)uid);
	return name;
}

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct ucred		 cred;
	socklen_t		 len = sizeof cred;
	char			*name, msg[128], who[32];
	int			 count;

	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		log_warn_limited("server: SO_PEERCRED", NULL,
		    "server: SO_PEERCRED");
		close(fd);
		return;
	}
	count = conn_count_of(cred.uid);
	if (count >= server_max_per_user) {
		/* A loop of connects must not flood the log. */
		snprintf(who, sizeof who, "uid %lu", (unsigned long)cred.uid);
		log_warnx_limited("server: connections over the cap", who,
		    "server: uid %lu already has %d connections; refusing "
		    "another", (unsigned long)cred.uid, count);
		snprintf(msg, sizeof msg, "too many connections (%d) from "
		    "this user", count);
		server_refuse(fd, msg);
		return;
	}
	name = server_user_name(cred.uid);
	conn_new(fd, cred.uid, cred.gid, name);
	free(name);
}

static void
server_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	if (server_listener != NULL)
		evconnlistener_enable(server_listener);
}

/* accept() failed: out of descriptors pauses accepting for a moment. */
static void
server_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval	tv = { 0, SERVER_PAUSE_MS * 1000 };
	int		err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		log_warnx_limited("server: out of descriptors", NULL,
		    "server: out of descriptors with %d connections; "
		    "pausing accept for %d ms", conn_count(), SERVER_PAUSE_MS);
		evconnlistener_disable(l);
		evtimer_add(server_resume_ev, &tv);
		return;
	}
	log_warnx_limited("server: accept", NULL, "server: accept: %s",
	    evutil_socket_error_to_string(err));
}

/* The one listening descriptor systemd passed, -1 if none, -2 on error. */
static int
server_systemd_fd(char **cause)
{
	int	n;

	n = sd_listen_fds(1);
	if (n < 0) {
		xasprintf(cause, "cannot read the sockets systemd passed: %s",
		    strerror(-n));
		return -2;
	}
	if (n == 0)
		return -1;
	if (n > 1) {
		xasprintf(cause, "systemd passed %d sockets; followupd uses "
		    "one", n);
		return -2;
	}
	if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL,
	    0) <= 0) {
		xasprintf(cause, "the socket systemd passed is not a "
		    "listening Unix stream socket");
		return -2;
	}
	return SD_LISTEN_FDS_START;
}

/* The name of a file's owner, or its uid. Borrowed. */
static const char *
server_owner_name(uid_t uid)
{
	static char	 num[32];
	struct passwd	*pw;

	if ((pw = getpwuid(uid)) != NULL)
		return pw->pw_name;
	snprintf(num, sizeof num, "uid %lu", (unsigned long)uid);
	return num;
}

/*
 * Make dir and the directories above it that are missing, each 0700 (as
 * the XDG base directories are made).
 */
static int
server_make_parents(char *dir, char **cause)
{
	char	*p;
	int	 last = 0;

	for (p = dir + 1; !last; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0';
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			xasprintf(cause, "cannot create %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		if (!last)
			*p = '/';
	}
	return 0;
}

/*
 * Make the socket's directory when missing: 0700 (only its owner), or 0755
 * when the socket serves a team (its own mode then decides who connects).
 * The user's own socket's directory must be ours and private (mode 0700,
 * not a link) even when it was there before: otherwise whoever owns it
 * could put their socket in place of ours.
 */
static int
server_make_dir(const char *path, int shared, int private, char **cause)
{
	char		*copy, *slash;
	struct stat	 sb;
	int		 rc = 0;

	copy = xstrdup(path);
	if ((slash = strrchr(copy, '/')) == NULL || slash == copy)
		goto out;
	*slash = '\0';
	if (private) {
		if (server_make_parents(copy, cause) != 0) {
			rc = -1;
			goto out;
		}
		if (lstat(copy, &sb) != 0) {
			xasprintf(cause, "cannot use %s: %s", copy,
			    strerror(errno));
			rc = -1;
		} else if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
		    (sb.st_mode & 077) != 0) {
			xasprintf(cause, "%s is not a private directory of "
			    "this user (%s, owner %s, mode %04o); remove it or "
			    "give --socket", copy, S_ISLNK(sb.st_mode) ?
			    "a symbolic link" : S_ISDIR(sb.st_mode) ?
			    "a directory" : "not a directory",
			    server_owner_name(sb.st_uid),
			    (unsigned int)(sb.st_mode & 07777));
			rc = -1;
		}
		goto out;
	}
	if (stat(copy, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode)) {
			xasprintf(cause, "%s is not a directory", copy);
			rc = -1;
		}
		goto out;
	}
	if (mkdir(copy, shared ? 0755 : 0700) != 0 && errno != EEXIST) {
		xasprintf(cause, "cannot create %s: %s", copy,
		    strerror(errno));
		rc = -1;
	} else if (shared && chmod(copy, 0755) != 0) {	/* past the umask */
		xasprintf(cause, "cannot open %s to the team: %s", copy,
		    strerror(errno));
		rc = -1;
	}
out:
	free(copy);
	return rc;
}

/*
 * Bind and listen on path, replacing a stale socket but not a live one.
 * With a group, members of it may connect too (mode 0660).  The socket is
 * bound and listening under a name of its own first, then renamed to
 * path: a client (or a script starting the daemon) that sees the file can
 * connect, where a socket bound at path refused it until listen().
 */
static int
server_bind(const char *path, const char *group, int private, int backlog,
    char **cause)
{
	struct group		*gr = NULL;
	struct sockaddr_un	 sun;
	char			 tmp[sizeof sun.sun_path];
	const char		*at;
	int			 fd, probe, saved, n;
	mode_t			 mask;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (group != NULL && *group != '\0' && (gr = getgrnam(group)) ==
	    NULL) {
		xasprintf(cause, "socket_group: there is no group \"%s\"",
		    group);
		return -1;
	}
	if (server_make_dir(path, config_system_mode() || gr != NULL, private,
	    cause) != 0)
		return -1;

	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0) {
			close(probe);
			xasprintf(cause, "another followupd is already "
			    "listening on %s", path);
			return -1;
		}
		close(probe);
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		xasprintf(cause, "cannot remove the old socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	/* Its own name while it is not listening yet, if one fits. */
	n = snprintf(tmp, sizeof tmp, "%s.new", path);
	at = n > 0 && (size_t)n < sizeof tmp ? tmp : path;
	if (at == tmp && unlink(tmp) != 0 && errno != ENOENT) {
		xasprintf(cause, "cannot remove the old socket %s: %s", tmp,
		    strerror(errno));
		return -1;
	}
	strcpy(sun.sun_path, at);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	/* The team's daemon serves a group (see followupd.socket). */
	mask = umask(config_system_mode() || gr != NULL ? 0117 : 0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		saved = errno;
		umask(mask);
		close(fd);
		xasprintf(cause, "cannot bind %s: %s", at, strerror(saved));
		return -1;
	}
	umask(mask);
	if (gr != NULL && chown(at, (uid_t)-1, gr->gr_gid) != 0) {
		saved = errno;
		close(fd);
		unlink(at);
		xasprintf(cause, "cannot give %s to group %s: %s", at,
		    group, strerror(saved));
		return -1;
	}
	if (listen(fd, backlog) != 0) {
		saved = errno;
		close(fd);
		unlink(at);
		xasprintf(cause, "cannot listen on %s: %s", at,
		    strerror(saved));
		return -1;
	}
	if (at == tmp && rename(tmp, path) != 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		xasprintf(cause, "cannot rename %s to %s: %s", tmp, path,
		    strerror(saved));
		return -1;
	}
	return fd;
}

/*
 * Start accepting connections: on the socket systemd passed, if any, else
 * on our own at path (in a private directory of ours when private is set).
 * Return 0, or -1 with *cause set (caller frees).
 */
int
server_listen(struct event_base *base, const char *path, const char *group,
    int private, int backlog, char **cause)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof sun;
	int			fd;

	*cause = NULL;
	fd = server_systemd_fd(cause);
	if (fd == -2)
		return -1;
	if (fd >= 0) {
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		evutil_make_socket_nonblocking(fd);
		memset(&sun, 0, sizeof sun);
		if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0 &&
		    sun.sun_path[0] != '\0')
			server_path = xstrdup(sun.sun_path);
		else
			server_path = xstrdup(path);
		log_info("server: using the socket systemd passed (%s)",
		    server_path);
	} else {
		if ((fd = server_bind(path, group, private, backlog, cause)) < 0)
			return -1;
		server_path = xstrdup(path);
		server_owns_path = 1;
	}
	server_listener = evconnlistener_new(base, server_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (server_listener == NULL) {
		xasprintf(cause, "cannot listen on %s", server_path);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(server_listener, server_error_cb);
	server_resume_ev = evtimer_new(base, server_resume_cb, NULL);
	if (server_resume_ev == NULL)
		fatalx("server: evtimer_new");
	return 0;
}

/* Stop accepting; remove the socket file if it is ours. */
void
server_close(void)
{
	if (server_listener != NULL) {
		evconnlistener_free(server_listener);
		server_listener = NULL;
	}
	if (server_resume_ev != NULL) {
		event_free(server_resume_ev);
		server_resume_ev = NULL;
	}
	if (server_owns_path && server_path != NULL)
		unlink(server_path);
	server_owns_path = 0;
	free(server_path);
	server_path = NULL;
}
