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

/* Write one finished message to the chosen target. */
static void
log_write_plain(int pri, const char *full)
{
	const char	*tag;
	char		 stamp[32];
	struct tm	 tm;
	time_t		 now;

	if (pri == LOG_DEBUG && !log_verbose)
		return;
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
}

/*
 * msg with what a terminal or a log viewer would act on or hide written
 * out instead: controls as \n, \t or \xNN, C1 controls, line and
 * paragraph separators and bidirectional overrides as \uXXXX, bytes that
 * are not UTF-8 as \xNN.  Messages quote names and hook output, which
 * must not fake log lines or reorder them.  Takes msg; caller frees.
 */
static char *
log_escape(char *msg)
{
	const unsigned char	*p;
	char			*out, *q;
	unsigned int		 c;
	size_t			 n, i;

	for (p = (const unsigned char *)msg; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			break;
	}
	if (*p == '\0')
		return msg;	/* plain ASCII, the usual case */
	out = q = xmalloc(strlen(msg) * 6 + 1);
	for (p = (const unsigned char *)msg; *p != '\0'; p += n) {
		n = 1;
		c = *p;
		if (c >= 0xc2 && c <= 0xf4) {
			n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
			c &= n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07;
			for (i = 1; i < n; i++) {
				if ((p[i] & 0xc0) != 0x80) {
					n = 1;
					c = *p;
					break;
				}
				c = (c << 6) | (p[i] & 0x3f);
			}
		}
		if (c == '\n' || c == '\t' || c == '\r') {
			*q++ = '\\';
			*q++ = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		} else if (c < 0x20 || c == 0x7f || (n == 1 && c >= 0x80))
			q += sprintf(q, "\\x%02x", c);
		else if ((c >= 0x80 && c <= 0x9f) || c == 0x2028 ||
		    c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
		    (c >= 0x2066 && c <= 0x2069))
			q += sprintf(q, "\\u%04x", c);
		else {
			memcpy(q, p, n);
			q += n;
		}
	}
	*q = '\0';
	free(msg);
	return out;
}

static void
log_vwrite(int pri, const char *fmt, va_list ap, int with_errno, int saved)
{
	char	*msg, *full;

	if (pri == LOG_DEBUG && !log_verbose)
		return;
	xvasprintf(&msg, fmt, ap);
	msg = log_escape(msg);
	if (with_errno)
		xasprintf(&full, "%s: %s", msg, strerror(saved));
	else
		full = xstrdup(msg);
	free(msg);
	log_write_plain(pri, full);
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

/* A fixed MESSAGE_ID per notice kind, so journalctl MESSAGE_ID= finds them. */
static const char *
log_message_id(const char *kind)
{
	static const struct {
		const char	*kind;
		const char	*id;
	} ids[] = {
		{ "reminder",	"3b0e6f7c5a1d4e2f9c8b7a6d5e4f3a21" },
		{ "due",	"3b0e6f7c5a1d4e2f9c8b7a6d5e4f3a22" },
		{ "missed",	"3b0e6f7c5a1d4e2f9c8b7a6d5e4f3a23" },
		{ "digest",	"3b0e6f7c5a1d4e2f9c8b7a6d5e4f3a24" },
		{ "summary",	"3b0e6f7c5a1d4e2f9c8b7a6d5e4f3a25" },
		{ "hook",	"3b0e6f7c5a1d4e2f9c8b7a6d5e4f3a26" },
	};
	size_t	i;

	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		if (strcmp(ids[i].kind, kind) == 0)
			return ids[i].id;
	}
	return "3b0e6f7c5a1d4e2f9c8b7a6d5e4f3a20";
}

/*
 * Log a reminder or hook event with structured journal fields
 * (FOLLOWUP_KIND, FOLLOWUP_ID, CONTACT_ID, REP and FOLLOWUP_USER, and a
 * MESSAGE_ID per kind), so "journalctl FOLLOWUP_USER=ana" finds a rep's.
 * Ids of 0 are left out.
 */
void
log_event(int pri, const char *kind, int64_t followup_id, int64_t contact_id,
    const char *rep, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, fid[32], cid[32];

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	msg = log_escape(msg);
	if (log_target != LOG_TO_JOURNAL) {
		log_write_plain(pri, msg);
		free(msg);
		return;
	}
	snprintf(fid, sizeof fid, "%lld", (long long)followup_id);
	snprintf(cid, sizeof cid, "%lld", (long long)contact_id);
	sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", pri,
	    "SYSLOG_IDENTIFIER=followupd",
	    "MESSAGE_ID=%s", log_message_id(kind),
	    "FOLLOWUP_KIND=%s", kind,
	    "FOLLOWUP_ID=%s", followup_id != 0 ? fid : "",
	    "CONTACT_ID=%s", contact_id != 0 ? cid : "",
	    "REP=%s", rep != NULL ? rep : "",
	    "FOLLOWUP_USER=%s", rep != NULL ? rep : "",
	    NULL);
	free(msg);
}
