/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The protocol's one time syntax and the one way followup words a time
 * relative to now.  The daemon (export, doctor), the client and
 * followup-mail all read the daemon's stamps with fu_time_parse, so a
 * stamp one of them takes is one they all take; the client's "overdue
 * 3 d" and the mail's "3 d ago" round the same way.
 */

#ifndef FOLLOWUP_TIMEFMT_H
#define FOLLOWUP_TIMEFMT_H

#include <stdio.h>
#include <string.h>
#include <time.h>

/* How a past instant reads: "overdue 3 d" (client), "3 d ago" (mail). */
#define FU_TIME_OVERDUE	0
#define FU_TIME_AGO	1

/*
 * Read an RFC 3339 UTC stamp as the daemon writes it,
 * "2026-11-24T10:00:00Z": whole seconds, "Z" and nothing after it (no
 * fractions, no offsets).  0 if s is NULL or not such a stamp.
 */
static inline time_t
fu_time_parse(const char *s)
{
	struct tm	 tm;
	char		*end;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return 0;
	return timegm(&tm);
}

/*
 * "now" within a minute, else "in 15 min", "in 2 h", "in 3 d" ahead and,
 * past, "overdue 25 min" (FU_TIME_OVERDUE) or "25 min ago" (FU_TIME_AGO).
 * Minutes below an hour, hours (rounded) below two days, days (rounded)
 * beyond.
 */
static inline void
fu_time_relative(time_t t, time_t now, int past, char *buf, size_t len)
{
	long long	 d = (long long)(t - now), a = d < 0 ? -d : d, n;
	const char	*unit;

	if (a < 60) {
		snprintf(buf, len, "now");
		return;
	}
	if (a < 3600) {
		n = a / 60;
		unit = "min";
	} else if (a < 2 * 86400) {
		n = (a + 1800) / 3600;
		unit = "h";
	} else {
		n = (a + 43200) / 86400;
		unit = "d";
	}
	if (d > 0)
		snprintf(buf, len, "in %lld %s", n, unit);
	else if (past == FU_TIME_AGO)
		snprintf(buf, len, "%lld %s ago", n, unit);
	else
		snprintf(buf, len, "overdue %lld %s", n, unit);
}

#endif /* FOLLOWUP_TIMEFMT_H */
