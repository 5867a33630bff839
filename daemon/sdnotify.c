/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Telling systemd how the daemon is doing: READY, STATUS, WATCHDOG,
 * RELOADING and STOPPING.  Off systemd (no NOTIFY_SOCKET) every call is a
 * no-op.
 */

#include <config.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "followupd.h"

static struct event	*sdnotify_watchdog_ev;

/* Nothing holds the loop for long, so the timer alone keeps it fed. */
static void
sdnotify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

/* Start the watchdog pings if systemd asked for them. */
void
sdnotify_init(struct event_base *base)
{
	uint64_t	usec;
	struct timeval	tv;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	usec /= 2;
	tv.tv_sec = usec / 1000000;
	tv.tv_usec = usec % 1000000;
	sdnotify_watchdog_ev = event_new(base, -1, EV_PERSIST,
	    sdnotify_watchdog_cb, NULL);
	if (sdnotify_watchdog_ev == NULL)
		fatalx("sdnotify: event_new");
	event_add(sdnotify_watchdog_ev, &tv);
	log_info("sdnotify: watchdog ping every %llu ms",
	    (unsigned long long)(usec / 1000));
}

/* Is there a systemd (or a test) listening?  Off it, status is not built. */
int
sdnotify_enabled(void)
{
	const char	*e = getenv("NOTIFY_SOCKET");

	return e != NULL && *e != '\0';
}

/* The store is open and the socket listens. */
void
sdnotify_ready(void)
{
	sd_notify(0, "READY=1");
}

/* A reload begins (READY follows when it is done). */
void
sdnotify_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

/* Shutdown begins. */
void
sdnotify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

/* A one-line status an admin reads in systemctl status. */
void
sdnotify_status(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", msg);
	free(msg);
}

void
sdnotify_free(void)
{
	if (sdnotify_watchdog_ev != NULL)
		event_free(sdnotify_watchdog_ev);
	sdnotify_watchdog_ev = NULL;
}
