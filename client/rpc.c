/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Talking to followupd: find its socket, connect, check the protocol with
 * hello (pipelined with the first request), send requests and read their
 * replies, and turn failures into one clear sentence.
 */

#include <config.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "followup/paths.h"

/* Where the socket came from: who is to be trusted there differs. */
enum rpc_origin {
	RPC_CHOSEN,		/* --socket or $FOLLOWUP_SOCKET */
	RPC_USER,		/* the user's own daemon */
	RPC_SYSTEM		/* the team's daemon */
};

/*
 * The socket to use: --socket, $FOLLOWUP_SOCKET, the user's (when
 * something is there), the system's.  Set *origin.  Caller frees.
 */
static char *
rpc_find_socket(struct client *c, enum rpc_origin *origin)
{
	const char	*env;
	char		 buf[4096];
	struct stat	 sb;

	*origin = RPC_CHOSEN;
	if (c->socket_opt != NULL)
		return strdup(c->socket_opt);
	if ((env = getenv(FU_ENV_SOCKET)) != NULL && *env != '\0')
		return strdup(env);
	*origin = RPC_USER;
	if (fu_user_socket_path(buf, sizeof buf) == 0 &&
	    lstat(buf, &sb) == 0)
		return strdup(buf);
	*origin = RPC_SYSTEM;
	return strdup(FU_SYSTEM_SOCKET);
}

/* The socket to use (see rpc_find_socket).  Caller frees. */
char *
rpc_socket_path(struct client *c)
{
	enum rpc_origin	origin;

	return rpc_find_socket(c, &origin);
}

/* Who uid is, for a message: a user name or "uid N". */
static const char *
rpc_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd	*pw;

	if ((pw = getpwuid(uid)) != NULL)
		return pw->pw_name;
	snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

/*
 * The user's own socket, found rather than named, must be in a directory
 * that is ours alone (0700, not a link) and be ours itself: anyone else's
 * could be a daemon listening to our requests.  Return 0, or -1 after
 * saying why.
 */
static int
rpc_check_user_socket(const char *path)
{
	struct stat	 sb;
	char		*dir, *slash, name[32];
	const char	*bad = NULL;
	int		 rc = 0;

	if ((dir = strdup(path)) == NULL) {
		fprintf(stderr, "followup: out of memory\n");
		return -1;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	if (lstat(dir, &sb) != 0) {
		fprintf(stderr, "followup: cannot check %s: %s\n", dir,
		    strerror(errno));
		free(dir);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != getuid() ||
	    (sb.st_mode & 077) != 0)
		bad = dir;
	else if (lstat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode) ||
	    sb.st_uid != getuid())
		bad = path;
	if (bad != NULL) {
		fprintf(stderr, "followup: refusing %s (owner %s, mode %04o): "
		    "your own daemon's socket must be yours, in a directory "
		    "of mode 0700 that is yours and not a link; remove it, or "
		    "name a socket with --socket\n", bad, rpc_user_name(
		    sb.st_uid, name, sizeof name),
		    (unsigned int)(sb.st_mode & 07777));
		rc = -1;
	}
	free(dir);
	return rc;
}

/*
 * A daemon found rather than named must run as us, root or the service's
 * own account: anyone else would read what we send.  Return 0, or -1
 * after saying why.
 */
static int
rpc_check_peer(int fd, const char *path)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof cred;
	struct passwd	*pw;
	char		 name[32];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		fprintf(stderr, "followup: cannot learn who answers on %s: "
		    "%s\n", path, strerror(errno));
		return -1;
	}
	if (cred.uid == getuid() || cred.uid == 0)
		return 0;
	if ((pw = getpwnam(FU_SERVICE_USER)) != NULL && pw->pw_uid == cred.uid)
		return 0;
	fprintf(stderr, "followup: refusing %s: the daemon answering there "
	    "runs as %s, not as you, root or %s; name a socket you trust "
	    "with --socket\n", path, rpc_user_name(cred.uid, name,
	    sizeof name), FU_SERVICE_USER);
	return -1;
}

/*
 * Connect to the daemon.  Return 0, or EXIT_UNREACHABLE after saying why
 * and how to start it.
 */
int
rpc_open(struct client *c)
{
	struct sockaddr_un	sun;
	enum rpc_origin		origin;
	int			saved;

	c->path = rpc_find_socket(c, &origin);
	if (c->path == NULL) {
		fprintf(stderr, "followup: out of memory\n");
		return EXIT_UNREACHABLE;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof sun.sun_path) {
		fprintf(stderr, "followup: socket path too long: %s\n",
		    c->path);
		return EXIT_UNREACHABLE;
	}
	strcpy(sun.sun_path, c->path);
	if (origin == RPC_USER && rpc_check_user_socket(c->path) != 0)
		return EXIT_UNREACHABLE;
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "followup: socket: %s\n", strerror(errno));
		return EXIT_UNREACHABLE;
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		saved = errno;
		close(c->fd);
		c->fd = -1;
		if (saved == ENOENT || saved == ECONNREFUSED)
			fprintf(stderr, "followup: followupd is not running "
			    "(no daemon answers on %s); start it with "
			    "\"followupd &\" or \"systemctl --user start "
			    "followupd.socket\"\n", c->path);
		else if (saved == EACCES || saved == EPERM)
			fprintf(stderr, "followup: no permission to connect "
			    "to %s; ask your admin to add you to the "
			    "socket's group\n", c->path);
		else
			fprintf(stderr, "followup: cannot connect to %s: "
			    "%s\n", c->path, strerror(saved));
		return EXIT_UNREACHABLE;
	}
	if (origin != RPC_CHOSEN && rpc_check_peer(c->fd, c->path) != 0) {
		close(c->fd);
		c->fd = -1;
		return EXIT_UNREACHABLE;
	}
	return 0;
}

void
rpc_close(struct client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->path);
	c->path = NULL;
	json_decref(c->hello);
	c->hello = NULL;
}

/* Send one request line. Return 0, or EXIT_UNREACHABLE. */
int
rpc_request(struct client *c, enum fu_op op, json_t *args)
{
	json_t	*req;
	char	*line;
	size_t	 len, off = 0;
	ssize_t	 n;

	req = json_pack("{s:I s:s s:o s:s?}", "id", (json_int_t)++c->next_id,
	    "op", fu_op_name(op), "args", args != NULL ? json_incref(args) :
	    json_object(), "as", c->as);
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (line == NULL) {
		fprintf(stderr, "followup: cannot build the request\n");
		return EXIT_UNREACHABLE;
	}
	len = strlen(line);
	if (len > FU_LINE_MAX) {
		fprintf(stderr, "followup: the request is too large (%zu "
		    "bytes, at most %d)\n", len, FU_LINE_MAX);
		free(line);
		return EXIT_USAGE;
	}
	line[len++] = '\n';
	while (off < len) {
		n = write(c->fd, line + off, len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "followup: lost the connection to "
			    "followupd: %s\n", strerror(errno));
			free(line);
			return EXIT_UNREACHABLE;
		}
		off += n;
	}
	free(line);
	return 0;
}

/*
 * Take exactly len bytes from the socket into buf, keeping the first
 * descriptor that comes with them in *fdp (if it is -1) and closing any
 * other.  Return 0, or -1 at EOF or on error.
 */
static int
rpc_take(int fd, char *buf, size_t len, int *fdp)
{
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} control;
	size_t		 off = 0, i, nfd;
	ssize_t		 n;
	int		 got;

	while (off < len) {
		memset(&msg, 0, sizeof msg);
		iov.iov_base = buf + off;
		iov.iov_len = len - off;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof control.buf;
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
		    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
			if (cmsg->cmsg_level != SOL_SOCKET ||
			    cmsg->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < nfd; i++) {
				memcpy(&got, CMSG_DATA(cmsg) + i * sizeof(int),
				    sizeof got);
				if (*fdp == -1)
					*fdp = got;
				else
					close(got);
			}
		}
		off += n;
	}
	return 0;
}

/*
 * Read one line from the daemon into *linep (caller frees), with the
 * descriptor that came with it in *fdp (-1 if none; caller closes).  The
 * line's end is found by peeking and then exactly the line is taken: a
 * read past it could take the descriptor of the next reply and lose it.
 * Return the line's length, 0 at EOF or on error, or -1 if it is over
 * FU_REPLY_MAX.
 */
static ssize_t
rpc_read_line(struct client *c, char **linep, int *fdp)
{
	static char	 peek[65536];
	char		*line = NULL, *nl, *p;
	size_t		 len = 0, want;
	ssize_t		 n;

	*linep = NULL;
	*fdp = -1;
	for (;;) {
		n = recv(c->fd, peek, sizeof peek, MSG_PEEK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		nl = memchr(peek, '\n', n);
		want = nl != NULL ? (size_t)(nl - peek) + 1 : (size_t)n;
		if (len + want > FU_REPLY_MAX + 1) {
			free(line);
			return -1;
		}
		if ((p = realloc(line, len + want + 1)) == NULL)
			break;
		line = p;
		if (rpc_take(c->fd, line + len, want, fdp) != 0)
			break;
		len += want;
		if (nl != NULL) {
			line[len] = '\0';
			*linep = line;
			return len;
		}
	}
	free(line);
	return 0;
}

/*
 * Read one reply line (at most FU_REPLY_MAX bytes) into *reply, and the
 * descriptor that came with it into *fdp (-1 if none; caller closes), or
 * close it when fdp is NULL.  Return 0, or EXIT_UNREACHABLE if the daemon
 * went away or sent garbage.
 */
static int
rpc_read_reply_fd(struct client *c, json_t **reply, int *fdp)
{
	char		*line;
	ssize_t		 n;
	json_error_t	 jerr;
	int		 fd;

	*reply = NULL;
	if (fdp != NULL)
		*fdp = -1;
	n = rpc_read_line(c, &line, &fd);
	if (fd != -1 && (fdp == NULL || n <= 0)) {
		close(fd);
		fd = -1;
	}
	if (n == 0) {
		fprintf(stderr, "followup: followupd closed the connection "
		    "without answering\n");
		return EXIT_UNREACHABLE;
	}
	if (n < 0) {
		fprintf(stderr, "followup: the reply is too large\n");
		return EXIT_UNREACHABLE;
	}
	*reply = json_loadb(line, n, 0, &jerr);
	free(line);
	if (*reply == NULL || !json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		if (fd != -1)
			close(fd);
		fprintf(stderr, "followup: followupd sent a reply that is not "
		    "a JSON object: %s\n", jerr.text);
		return EXIT_UNREACHABLE;
	}
	if (fdp != NULL)
		*fdp = fd;
	return 0;
}

/* Read one reply line into *reply; see rpc_read_reply_fd. */
int
rpc_read_reply(struct client *c, json_t **reply)
{
	return rpc_read_reply_fd(c, reply, NULL);
}

/* Report an error reply; return EXIT_DAEMON_ERROR. */
static int
rpc_error(struct client *c, json_t *reply)
{
	json_t	*err = json_object_get(reply, "error");
	char	*text;

	if (c->json) {
		text = json_dumps(err, JSON_COMPACT);
		fprintf(stderr, "%s\n", text != NULL ? text : "{}");
		free(text);
	} else
		fprintf(stderr, "followup: %s\n", out_str(err, "message",
		    "the daemon refused the request"));
	return EXIT_DAEMON_ERROR;
}

/*
 * If reply is a piece of a streamed reply ("chunk"), hand it to c->chunk
 * and return 0; return -1 if it is the reply itself, or an exit code if
 * the piece cannot be taken.
 */
static int
rpc_chunk(struct client *c, json_t *reply)
{
	json_t	*chunk = json_object_get(reply, "chunk");

	if (chunk == NULL || json_object_get(reply, "ok") != NULL)
		return -1;
	if (!json_is_string(chunk) || c->chunk == NULL) {
		fprintf(stderr, "followup: followupd sent a piece of a reply "
		    "this command does not expect\n");
		return EXIT_UNREACHABLE;
	}
	if (c->chunk(json_string_value(chunk), json_string_length(chunk),
	    c->chunk_arg) != 0)
		return EXIT_USAGE;
	return 0;
}

/*
 * Run one op: send hello first on a new connection (checking the protocol
 * and learning the caller's zone), then the request; set *result (caller
 * owns it) when the daemon says ok.  Return 0, or an exit code after
 * printing why.
 */
int
rpc_call(struct client *c, enum fu_op op, json_t *args, json_t **result)
{
	return rpc_call_fd(c, op, args, result, NULL);
}

/*
 * Run one op as rpc_call does, and set *fdp to the descriptor that came
 * with its reply (-1 if none; caller closes), when fdp is not NULL.
 */
int
rpc_call_fd(struct client *c, enum fu_op op, json_t *args, json_t **result,
    int *fdp)
{
	json_t		*reply, *hello;
	const char	*tz;
	int		 rc, fd;

	*result = NULL;
	if (fdp != NULL)
		*fdp = -1;
	if (c->fd == -1 && (rc = rpc_open(c)) != 0)
		return rc;
	if (c->hello == NULL) {
		if ((rc = rpc_request(c, FU_OP_HELLO, NULL)) != 0)
			return rc;
	}
	if ((rc = rpc_request(c, op, args)) != 0)
		return rc;
	if (c->hello == NULL) {
		if ((rc = rpc_read_reply(c, &reply)) != 0)
			return rc;
		hello = json_object_get(reply, "result");
		if (json_is_object(json_object_get(reply, "error"))) {
			/* Refused (e.g. --as by a rep): say why, once. */
			rc = rpc_error(c, reply);
			json_decref(reply);
			return rc;
		}
		if (!json_is_true(json_object_get(reply, "ok")) ||
		    json_integer_value(json_object_get(hello, "protocol")) !=
		    FU_PROTOCOL_VERSION) {
			fprintf(stderr, "followup: followupd on %s speaks "
			    "protocol %lld, this client speaks protocol %d; "
			    "use matching versions\n", c->path,
			    (long long)json_integer_value(json_object_get(
			    hello, "protocol")), FU_PROTOCOL_VERSION);
			json_decref(reply);
			return EXIT_UNREACHABLE;
		}
		c->hello = json_incref(hello);
		json_decref(reply);
		/* Times are shown in the caller's own zone. */
		tz = json_string_value(json_object_get(c->hello, "tz"));
		if (tz != NULL) {
			setenv("TZ", tz, 1);
			tzset();
		}
	}
	if ((rc = rpc_read_reply_fd(c, &reply, &fd)) != 0)
		return rc;
	while ((rc = rpc_chunk(c, reply)) == 0) {
		json_decref(reply);
		if (fd != -1)
			close(fd);
		if ((rc = rpc_read_reply_fd(c, &reply, &fd)) != 0) {
			fprintf(stderr, "followup: the reply was cut short; "
			    "what was written is incomplete\n");
			return rc;
		}
	}
	if (rc > 0) {
		json_decref(reply);
		return rc;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		if (fd != -1)
			close(fd);
		rc = rpc_error(c, reply);
		json_decref(reply);
		return rc;
	}
	if (fdp != NULL)
		*fdp = fd;
	else if (fd != -1)
		close(fd);
	*result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	if (*result == NULL)
		*result = json_object();
	out_notes(*result);
	return 0;
}
