/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The daemon's only way to say something: to the journal under systemd, to
 * syslog, or to stderr in the foreground, chosen once at start.  Warnings
 * that can repeat go through a limiter, so no client and no lasting
 * trouble can flood the log.
 */

#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "followupd.h"
#include "followup/utf8.h"

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
		when_lock();
		localtime_r(&now, &tm);
		when_unlock();
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
	uint32_t		 c;
	size_t			 n;

	for (p = (const unsigned char *)msg; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			break;
	}
	if (*p == '\0')
		return msg;	/* plain ASCII, the usual case */
	out = q = xmalloc(strlen(msg) * 6 + 1);
	for (p = (const unsigned char *)msg; *p != '\0'; p += n) {
		if ((n = fu_utf8_decode(p, SIZE_MAX, &c)) == 0) {
			n = 1;		/* a byte that is not UTF-8 */
			c = *p;
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

/*
 * Warnings a client or a lasting trouble can repeat (a loop of connects
 * over the cap, every write on a full disk) are limited: at most one line
 * per cause and user a window, then one summary line saying how many more
 * were held back, so the journal keeps the first occurrence and the count
 * without being flooded.
 */

/* One line per cause and user in this many seconds. */
#define LOG_LIMIT_WINDOW	60
/* Causes and users followed at once; beyond, the oldest is summed up. */
#define LOG_LIMIT_MAX		256

struct log_limit {
	char			*cause;
	char			*who;		/* NULL: no user */
	struct timespec		 start;		/* the line that opened it */
	unsigned long long	 suppressed;
};

static struct log_limit	 log_limits[LOG_LIMIT_MAX];
static struct event	*log_limit_ev;
/*
 * The limiter is shared with the threads beside the loop (the store's
 * lanes log a failed statement): its table is guarded, and only the
 * loop's own thread arms the summary timer.
 */
static pthread_mutex_t	 log_limit_mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_t	 log_limit_thread;

static double
log_limit_since(const struct timespec *ts)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - ts->tv_sec) + (now.tv_nsec - ts->tv_nsec) / 1e9;
}

/* Say how many lines of l were held back, and forget it. */
static void
log_limit_end(struct log_limit *l)
{
	char	*msg;

	if (l->suppressed > 0) {
		xasprintf(&msg, "%s: %llu more like this%s%s held back in "
		    "the last %.0f s", l->cause, l->suppressed,
		    l->who != NULL ? " for " : "", l->who != NULL ? l->who : "",
		    log_limit_since(&l->start));
		log_write_plain(LOG_WARNING, msg);
		free(msg);
	}
	free(l->cause);
	free(l->who);
	memset(l, 0, sizeof *l);
}

/* Arm the timer for the first window to end that held lines back. */
static void
log_limit_arm(void)
{
	struct timeval	 tv;
	double		 left, first = -1;
	size_t		 i;

	if (log_limit_ev == NULL ||
	    !pthread_equal(pthread_self(), log_limit_thread))
		return;
	for (i = 0; i < LOG_LIMIT_MAX; i++) {
		if (log_limits[i].cause == NULL ||
		    log_limits[i].suppressed == 0)
			continue;
		left = LOG_LIMIT_WINDOW - log_limit_since(&log_limits[i].start);
		if (first < 0 || left < first)
			first = left;
	}
	if (first < 0) {
		evtimer_del(log_limit_ev);
		return;
	}
	if (first < 0.01)
		first = 0.01;
	tv.tv_sec = (time_t)first;
	tv.tv_usec = (suseconds_t)((first - tv.tv_sec) * 1e6);
	evtimer_add(log_limit_ev, &tv);
}

/* Windows ended: print their summaries (quiet causes just go). */
static void
log_limit_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t	i;

	pthread_mutex_lock(&log_limit_mutex);
	for (i = 0; i < LOG_LIMIT_MAX; i++) {
		if (log_limits[i].cause != NULL &&
		    log_limit_since(&log_limits[i].start) >= LOG_LIMIT_WINDOW)
			log_limit_end(&log_limits[i]);
	}
	log_limit_arm();
	pthread_mutex_unlock(&log_limit_mutex);
}

/*
 * Print the summaries on time from base's loop; without it (unit tests)
 * a summary waits for the cause's next line or log_limit_flush.  NULL
 * stops the timer.
 */
void
log_limit_init(struct event_base *base)
{
	if (log_limit_ev != NULL)
		event_free(log_limit_ev);
	log_limit_ev = NULL;
	log_limit_thread = pthread_self();
	if (base != NULL &&
	    (log_limit_ev = evtimer_new(base, log_limit_cb, NULL)) == NULL)
		fatalx("log: evtimer_new");
}

/* Print every summary due and forget every cause (at stop). */
void
log_limit_flush(void)
{
	size_t	i;

	pthread_mutex_lock(&log_limit_mutex);
	for (i = 0; i < LOG_LIMIT_MAX; i++) {
		if (log_limits[i].cause != NULL)
			log_limit_end(&log_limits[i]);
	}
	if (log_limit_ev != NULL)
		evtimer_del(log_limit_ev);
	pthread_mutex_unlock(&log_limit_mutex);
}

/* May a line of cause for who go out now?  Count it if not. */
static int
log_limit_allow_locked(const char *cause, const char *who)
{
	struct log_limit	*l, *free_slot = NULL, *oldest = NULL;
	size_t			 i;

	for (i = 0; i < LOG_LIMIT_MAX; i++) {
		l = &log_limits[i];
		if (l->cause == NULL) {
			if (free_slot == NULL)
				free_slot = l;
			continue;
		}
		if (strcmp(l->cause, cause) == 0 && (l->who == NULL ?
		    who == NULL : who != NULL && strcmp(l->who, who) == 0))
			break;
		if (oldest == NULL || l->start.tv_sec < oldest->start.tv_sec)
			oldest = l;
	}
	if (i < LOG_LIMIT_MAX) {
		if (log_limit_since(&l->start) < LOG_LIMIT_WINDOW) {
			if (l->suppressed++ == 0)
				log_limit_arm();
			return 0;
		}
		log_limit_end(l);
	} else if ((l = free_slot) == NULL) {
		log_limit_end(oldest);
		l = oldest;
	}
	l->cause = xstrdup(cause);
	l->who = who != NULL ? xstrdup(who) : NULL;
	clock_gettime(CLOCK_MONOTONIC, &l->start);
	return 1;
}

static int
log_limit_allow(const char *cause, const char *who)
{
	int	ok;

	pthread_mutex_lock(&log_limit_mutex);
	ok = log_limit_allow_locked(cause, who);
	pthread_mutex_unlock(&log_limit_mutex);
	return ok;
}

/*
 * log_warn and log_warnx for a warning that can repeat: cause names it
 * (a fixed phrase such as "server: over the connection cap"), who is the
 * user it is about or NULL.  The first line of a cause and user goes out;
 * the next ones within LOG_LIMIT_WINDOW seconds are only counted, and one
 * line then says how many.
 */
void
log_warn_limited(const char *cause, const char *who, const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	if (log_limit_allow(cause, who)) {
		va_start(ap, fmt);
		log_vwrite(LOG_WARNING, fmt, ap, 1, saved);
		va_end(ap);
	}
	errno = saved;
}

void
log_warnx_limited(const char *cause, const char *who, const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	if (log_limit_allow(cause, who)) {
		va_start(ap, fmt);
		log_vwrite(LOG_WARNING, fmt, ap, 0, saved);
		va_end(ap);
	}
	errno = saved;
}
