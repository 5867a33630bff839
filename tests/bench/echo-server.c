/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * A bare libevent echo server on a Unix stream socket: the reference the
 * protocol benchmark compares followupd with.
 *
 *   echo-server SOCKET_PATH
 *
 * Each connection gets a bufferevent; every complete line read is written
 * back as it came.  It frames lines and bounds its buffers the way
 * followupd's conn.c does (a line of at most 64 KiB, reading paused while
 * a megabyte of replies waits), so the difference between the two is the
 * work of the ops, not of the socket layer.  Runs until SIGTERM or SIGINT.
 */

#include <config.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

/* The protocol's longest request line, newline and CR included. */
#define ECHO_LINE_MAX		(65536 + 2)
/* Stop reading a client whose unread replies pass this ... */
#define ECHO_OUTPUT_HIGH	(1024 * 1024)
/* ... and go on once they drop below this. */
#define ECHO_OUTPUT_LOW		(64 * 1024)
/* Bytes of input buffered at most: a few lines. */
#define ECHO_INPUT_HIGH		(4 * ECHO_LINE_MAX)

static int	echo_conns;

/* Close a connection. */
static void
echo_close(struct bufferevent *bev)
{
	bufferevent_free(bev);
	echo_conns--;
}

/*
 * Move every complete line of the input to the output, unless the client
 * is not reading its replies; close on a line over the limit.
 */
static void
echo_process(struct bufferevent *bev)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer		*out = bufferevent_get_output(bev);
	struct evbuffer_ptr	 eol;
	size_t			 eol_len;

	for (;;) {
		if (evbuffer_get_length(out) > ECHO_OUTPUT_HIGH) {
			bufferevent_disable(bev, EV_READ);
			return;
		}
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos < 0)
			break;
		if ((size_t)eol.pos + eol_len > ECHO_LINE_MAX) {
			echo_close(bev);
			return;
		}
		if (evbuffer_remove_buffer(in, out, eol.pos + eol_len) < 0) {
			echo_close(bev);
			return;
		}
	}
	if (evbuffer_get_length(in) > ECHO_LINE_MAX)
		echo_close(bev);
}

static void
echo_read_cb(struct bufferevent *bev, void *arg)
{
	echo_process(bev);
}

/* Output drained below the low mark: read again. */
static void
echo_write_cb(struct bufferevent *bev, void *arg)
{
	if (!(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		echo_process(bev);
	}
}

static void
echo_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		echo_close(bev);
}

static void
echo_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct bufferevent	*bev;

	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	echo_conns++;
	bufferevent_setcb(bev, echo_read_cb, echo_write_cb, echo_event_cb,
	    NULL);
	bufferevent_setwatermark(bev, EV_READ, 0, ECHO_INPUT_HIGH);
	bufferevent_setwatermark(bev, EV_WRITE, ECHO_OUTPUT_LOW, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Out of descriptors or similar: say so once and go on accepting. */
static void
echo_error_cb(struct evconnlistener *l, void *arg)
{
	static int	said;

	if (!said++)
		fprintf(stderr, "echo-server: accept: %s (%d connections)\n",
		    strerror(errno), echo_conns);
}

static void
echo_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	struct event_base	*base = NULL;
	struct evconnlistener	*l = NULL;
	struct event		*term = NULL, *intr = NULL;
	struct sockaddr_un	 sun;
	struct stat		 sb;
	const char		*path;
	int			 ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: echo-server SOCKET_PATH\n");
		return 2;
	}
	path = argv[1];
	signal(SIGPIPE, SIG_IGN);

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "echo-server: %s: path too long\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	/* Replace a stale socket, never any other kind of file. */
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(path);

	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "echo-server: cannot start the event loop\n");
		goto out;
	}
	l = evconnlistener_new_bind(base, echo_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    (struct sockaddr *)&sun, sizeof sun);
	if (l == NULL) {
		fprintf(stderr, "echo-server: %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	evconnlistener_set_error_cb(l, echo_error_cb);
	term = evsignal_new(base, SIGTERM, echo_signal_cb, base);
	intr = evsignal_new(base, SIGINT, echo_signal_cb, base);
	if (term == NULL || intr == NULL || evsignal_add(term, NULL) != 0 ||
	    evsignal_add(intr, NULL) != 0) {
		fprintf(stderr, "echo-server: cannot watch signals\n");
		goto out;
	}
	if (event_base_dispatch(base) == 0)
		ret = 0;
	unlink(path);

out:
	if (l != NULL)
		evconnlistener_free(l);
	if (term != NULL)
		event_free(term);
	if (intr != NULL)
		event_free(intr);
	if (base != NULL)
		event_base_free(base);
	return ret;
}
