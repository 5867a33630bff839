/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * A bare libevent echo server on a Unix stream socket: the reference the
 * protocol benchmark compares followupd with.  Every byte read is written
 * back.  Runs until SIGTERM or SIGINT.
 */

#include <config.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

static void
echo_read_cb(struct bufferevent *bev, void *arg)
{
	bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void
echo_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void
echo_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct bufferevent	*bev;

	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, echo_read_cb, NULL, echo_event_cb, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
echo_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	struct event_base	*base;
	struct evconnlistener	*l;
	struct event		*term, *intr;
	struct sockaddr_un	 sun;

	if (argc != 2) {
		fprintf(stderr, "usage: echo-server SOCKET\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sun.sun_path) {
		fprintf(stderr, "echo-server: path too long\n");
		return 1;
	}
	strcpy(sun.sun_path, argv[1]);
	unlink(argv[1]);
	if ((base = event_base_new()) == NULL)
		return 1;
	l = evconnlistener_new_bind(base, echo_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    (struct sockaddr *)&sun, sizeof sun);
	if (l == NULL) {
		perror("echo-server: listen");
		return 1;
	}
	term = evsignal_new(base, SIGTERM, echo_signal_cb, base);
	intr = evsignal_new(base, SIGINT, echo_signal_cb, base);
	evsignal_add(term, NULL);
	evsignal_add(intr, NULL);
	event_base_dispatch(base);
	evconnlistener_free(l);
	event_free(term);
	event_free(intr);
	event_base_free(base);
	unlink(argv[1]);
	return 0;
}
