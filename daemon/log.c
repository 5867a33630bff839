/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The daemon's only way to say something: to the journal under systemd, to
 * syslog, or to stderr in the foreground, chosen once at start.
 */

#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "followupd.h"

static enum log_target	log_target = LOG_TO_STDERR;
static int		log_verbose;

/* Choose where messages go; LOG_TO_AUTO picks the journal under systemd. */
void
log_init(enum log_target target, int verbose)
{
	if (target == LOG_TO_AUTO) {
		if (getenv("JOURNAL_STREAM") != NULL ||
		    getenv("INVOCATION_ID") != NULL)
			target = LOG_TO_JOURNAL;
		else
			target = LOG_TO_STDERR;
	}
	if (target == LOG_TO_SYSLOG && log_target != LOG_TO_SYSLOG)
		openlog("followupd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_target = target;
	log_verbose = verbose;
}

void
log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

int
log_target_from_name(const char *name, enum log_target *target)
{
	if (strcmp(name, "journal") == 0)
		*target = LOG_TO_JOURNAL;
	else if (strcmp(name, "syslog") == 0)
		*target = LOG_TO_SYSLOG;
	else if (strcmp(name, "stderr") == 0)
		*target = LOG_TO_STDERR;
	else if (strcmp(name, "auto") == 0)
		*target = LOG_TO_AUTO;
	else
		return -1;
	return 0;
}

static void
log_vwrite(int pri, const char *fmt, va_list ap, int with_errno, int saved)
{
	char		*msg, *full;
	const char	*tag;
	char		 stamp[32];
	struct tm	 tm;
	time_t		 now;

	if (pri == LOG_DEBUG && !log_verbose)
		return;
	xvasprintf(&msg, fmt, ap);
	if (with_errno)
		xasprintf(&full, "%s: %s", msg, strerror(saved));
	else
		full = xstrdup(msg);
	free(msg);

	switch (log_target) {
	case LOG_TO_JOURNAL:
		sd_journal_send("MESSAGE=%s", full, "PRIORITY=%d", pri,
		    "SYSLOG_IDENTIFIER=followupd", NULL);
		break;
	case LOG_TO_SYSLOG:
		syslog(pri, "%s", full);
		break;
	default:
		switch (pri) {
		case LOG_ERR:
		case LOG_CRIT:
			tag = "error: ";
			break;
		case LOG_WARNING:
			tag = "warning: ";
			break;
		case LOG_DEBUG:
			tag = "debug: ";
			break;
		default:
			tag = "";
			break;
		}
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s followupd: %s%s\n", stamp, tag, full);
		fflush(stderr);
		break;
	}
	free(full);
}

#define LOG_FN(name, pri, with_errno)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
	int	 saved = errno;						\
									\
	va_start(ap, fmt);						\
	log_vwrite(pri, fmt, ap, with_errno, saved);			\
	va_end(ap);							\
	errno = saved;							\
}

LOG_FN(log_warn, LOG_WARNING, 1)
LOG_FN(log_warnx, LOG_WARNING, 0)
LOG_FN(log_err, LOG_ERR, 0)
LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_debug, LOG_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap, saved != 0, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap, 0, 0);
	va_end(ap);
	exit(1);
}
