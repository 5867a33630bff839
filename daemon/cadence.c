/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The sales method's arithmetic, as pure functions of their inputs (never
 * the clock): working hours and days, the voicemail cadence and "so many
 * working days later".  Everything is computed in local calendar terms in
 * the contact's zone (a day is a calendar day, a week runs Monday to
 * Sunday), never by adding 86,400 seconds, so 10:00 their time stays 10:00
 * their time across a daylight-saving change.
 */

#include <config.h>

#include <string.h>
#include <time.h>

#include "followupd.h"

/* How far ahead the next attempt is looked for, in days. */
#define CADENCE_HORIZON		35

/* A gap between attempts after which a new series starts. */
#define CADENCE_SERIES_GAP	(14 * 86400)

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static long
cadence_days_from_civil(int y, int m, int d)
{
	long		era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Floor division for week numbers of days before 1970. */
static long
cadence_floor_div(long a, long b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/*
 * Break t into its local date and time in zone: day number, weekday (0 =
 * Sunday) and minute after midnight.  Return 0, or -1 if the zone cannot
 * be used.
 */
static int
cadence_local_tz(time_t t, const char *zone, struct cadence_day *out)
{
	timezone_t	tz;
	struct tm	tm;

	if (zone == NULL || *zone == '\0')
		zone = "UTC";
	if ((tz = tzalloc(zone)) == NULL)
		return -1;
	if (localtime_rz(tz, &t, &tm) == NULL) {
		tzfree(tz);
		return -1;
	}
	tzfree(tz);
	out->year = tm.tm_year + 1900;
	out->month = tm.tm_mon + 1;
	out->mday = tm.tm_mday;
	out->wday = tm.tm_wday;
	out->minute = tm.tm_hour * 60 + tm.tm_min;
	out->daynum = cadence_days_from_civil(out->year, out->month,
	    out->mday);
	/* 1970-01-01 was a Thursday: weeks start on Monday. */
	out->week = cadence_floor_div(out->daynum + 3, 7);
	return 0;
}

int
cadence_local(time_t t, const char *zone, struct cadence_day *out)
{
	int	 r;

	when_lock();
	r = cadence_local_tz(t, zone, out);
	when_unlock();
	return r;
}

/* The local wall clock of t in tz as seconds since 1970 read as UTC. */
static int
cadence_wall(timezone_t tz, time_t t, long long *wall)
{
	struct tm	tm;

	if (localtime_rz(tz, &t, &tm) == NULL)
		return -1;
	*wall = (long long)cadence_days_from_civil(tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday) * 86400 + tm.tm_hour * 3600 +
	    tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

/*
 * The instant of local minute on the day days after day (a struct from
 * cadence_local) in zone.  A local time in the spring-forward gap means
 * the first valid instant after the gap; one that happens twice (the
 * fall-back hour), the first.  Return 0 if it cannot be computed.
 */
static time_t
cadence_instant_tz(const struct cadence_day *day, int days, int minute,
    const char *zone)
{
	timezone_t	tz;
	long long	want, wall, off, lo_off = 0, hi_off = 0;
	time_t		t, best = 0, lo, hi, mid;
	int		i, have = 0;

	if (zone == NULL || *zone == '\0')
		zone = "UTC";
	if ((tz = tzalloc(zone)) == NULL)
		return 0;
	want = (long long)(day->daynum + days) * 86400 + minute * 60;
	/*
	 * Every instant showing want is want minus the offset in force
	 * then; the offsets in force a day either side cover both sides of
	 * any change.  Keep the earliest that really shows want.
	 */
	for (i = -1; i <= 1; i++) {
		if (cadence_wall(tz, (time_t)(want + i * 86400), &wall) != 0)
			goto fail;
		off = wall - (want + i * 86400);
		if (!have || off < lo_off)
			lo_off = off;
		if (!have || off > hi_off)
			hi_off = off;
		have = 1;
		t = (time_t)(want - off);
		if (cadence_wall(tz, t, &wall) == 0 && wall == want &&
		    (best == 0 || t < best))
			best = t;
	}
	if (best == 0) {
		/*
		 * In the gap: the change happened between want read with the
		 * larger offset and want read with the smaller one; the first
		 * instant whose wall clock is past want is the answer.
		 */
		lo = (time_t)(want - hi_off);
		hi = (time_t)(want - lo_off);
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (cadence_wall(tz, mid, &wall) != 0)
				goto fail;
			if (wall >= want)
				hi = mid;
			else
				lo = mid + 1;
		}
		best = lo;
	}
	tzfree(tz);
	return best;
fail:
	tzfree(tz);
	return 0;
}

time_t
cadence_instant(const struct cadence_day *day, int days, int minute,
    const char *zone)
{
	time_t	 r;

	when_lock();
	r = cadence_instant_tz(day, days, minute, zone);
	when_unlock();
	return r;
}

/* Is the weekday (0 = Sunday) a working day? */
static int
cadence_workday(const struct cadence_hours *h, int wday)
{
	return (h->workdays & (1u << wday)) != 0;
}

/* The weekday days after wday. */
static int
cadence_wday_plus(int wday, int days)
{
	return (wday + days % 7 + 7) % 7;
}

/*
 * The minute of day an automatic time keeps: the same local time as the
 * attempt it follows when that falls inside working hours, else the start
 * of working hours.
 */
static int
cadence_keep_minute(const struct cadence_hours *h, int minute)
{
	if (minute >= h->start && minute < h->end)
		return minute;
	return h->start;
}

/*
 * The first instant at or after t that falls inside working hours on a
 * working day in zone.  Return 0 if none can be found (no working days).
 */
time_t
cadence_fit(time_t t, const char *zone, const struct cadence_hours *h)
{
	struct cadence_day	d;
	int			i;

	if (h->workdays == 0 || cadence_local(t, zone, &d) != 0)
		return 0;
	if (cadence_workday(h, d.wday)) {
		if (d.minute >= h->start && d.minute < h->end)
			return t;
		if (d.minute < h->start)
			return cadence_instant(&d, 0, h->start, zone);
	}
	for (i = 1; i <= 7; i++) {
		if (cadence_workday(h, cadence_wday_plus(d.wday, i)))
			return cadence_instant(&d, i, h->start, zone);
	}
	return 0;
}

/*
 * The working day n working days after t's local day (n >= 1), at t's
 * local time if that is inside working hours, else at their start.
 * Return 0 if none can be found.
 */
time_t
cadence_workdays_later(time_t t, const char *zone,
    const struct cadence_hours *h, int n)
{
	struct cadence_day	d;
	int			i, left = n;

	if (h->workdays == 0 || n < 1 || cadence_local(t, zone, &d) != 0)
		return 0;
	for (i = 1; i <= n * 7 + 7; i++) {
		if (!cadence_workday(h, cadence_wday_plus(d.wday, i)))
			continue;
		if (--left == 0)
			return cadence_instant(&d, i,
			    cadence_keep_minute(h, d.minute), zone);
	}
	return 0;
}

/*
 * The rhythm days of a week as a weekday mask: attempts spread evenly over
 * the working days, first and last included.  Week 0 of a series allows
 * perweek attempts (Mon/Wed/Fri for three over Mon-Fri), the next one
 * fewer (Mon/Fri), then back again.
 */
unsigned int
cadence_rhythm(const struct cadence_hours *h, int perweek, long week_index)
{
	int		days[7], n = 0, k, i, wd;
	unsigned int	mask = 0;

	for (i = 1; i <= 7; i++) {	/* Monday first */
		wd = i % 7;
		if (cadence_workday(h, wd))
			days[n++] = wd;
	}
	if (n == 0)
		return 0;
	k = perweek;
	if (week_index % 2 != 0)
		k--;
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	if (k == 1)
		return 1u << days[0];
	for (i = 0; i < k; i++)
		mask |= 1u << days[(i * (n - 1) + (k - 1) / 2) / (k - 1)];
	return mask;
}

/*
 * Voicemails among attempts a[0..n) left in the calendar week week (as
 * cadence_local numbers them) in zone.
 */
int
cadence_voicemails_in_week(const struct cadence_attempt *a, size_t n,
    long week, const char *zone)
{
	struct cadence_day	d;
	size_t			i;
	int			count = 0;

	for (i = 0; i < n; i++) {
		if (a[i].voicemail && cadence_local(a[i].at, zone, &d) == 0 &&
		    d.week == week)
			count++;
	}
	return count;
}

/*
 * Where the series of attempts a[series..n) the rhythm follows starts:
 * later than series after a gap of more than two weeks.
 */
static size_t
cadence_series_start(const struct cadence_attempt *a, size_t n,
    size_t series)
{
	size_t	start, i;

	for (start = series, i = series + 1; i < n; i++) {
		if (a[i].at - a[i - 1].at > CADENCE_SERIES_GAP)
			start = i;
	}
	return start;
}

/*
 * Should the attempt planned for next leave a message with the operator
 * or an assistant?  The sales method's answer to voicemails that get
 * nowhere: yes once the series (a[series..n), as cadence_next_attempt
 * reads it) has left voicemails in two calendar weeks in zone with no
 * message left since the first of them, and next falls in a later week
 * than the last of them.  A message left with someone is no voicemail:
 * it starts the count again.
 */
int
cadence_suggest_operator(const struct cadence_attempt *a, size_t n,
    size_t series, time_t next, const char *zone)
{
	struct cadence_day	d, when;
	size_t			i;
	long			last_week = 0;
	int			weeks = 0;

	if (n == 0 || series >= n || cadence_local(next, zone, &when) != 0)
		return 0;
	for (i = cadence_series_start(a, n, series); i < n; i++) {
		if (a[i].message) {
			weeks = 0;
			continue;
		}
		if (!a[i].voicemail || cadence_local(a[i].at, zone, &d) != 0)
			continue;
		if (weeks == 0 || d.week != last_week)
			weeks++;
		last_week = d.week;
	}
	return weeks >= 2 && when.week > last_week;
}

/*
 * The next attempt after an unanswered one.  a[0..n) are the contact's
 * recent attempts, oldest first, the last being the one just logged; the
 * series the rhythm follows is a[series..n) (the attempts since the last
 * time the prospect was reached), and starts later still after a gap of
 * more than two weeks.  Every attempt counts towards its week's voicemail
 * limit, in the series or not.  The next attempt falls on a later day
 * that the rhythm allows in its week of the series, in a week that does
 * not already hold perweek voicemails, no earlier than not_before (an
 * attempt logged days afterwards plans from now, still on a rhythm day),
 * at the same local time as the last attempt (or the start of working
 * hours when that was outside them).  Set *why to a short reason (static
 * text) and return the instant, or 0 if none fits in five weeks.
 */
time_t
cadence_next_attempt(const struct cadence_attempt *a, size_t n, size_t series,
    time_t not_before, const char *zone, const struct cadence_hours *h,
    int perweek, const char **why)
{
	struct cadence_day	first, last, from, cand;
	size_t			start;
	unsigned int		rhythm;
	long			week_index, days;
	time_t			t;
	int			day, wday, full_week = 0;

	*why = NULL;
	if (n == 0 || h->workdays == 0 || series >= n)
		return 0;
	start = cadence_series_start(a, n, series);
	if (cadence_local(a[start].at, zone, &first) != 0 ||
	    cadence_local(a[n - 1].at, zone, &last) != 0 ||
	    cadence_local(not_before, zone, &from) != 0)
		return 0;
	if (cadence_voicemails_in_week(a, n, last.week, zone) >= perweek)
		full_week = 1;
	days = from.daynum > last.daynum ? from.daynum - last.daynum : 0;
	for (day = 1; day <= days + CADENCE_HORIZON; day++) {
		wday = cadence_wday_plus(last.wday, day);
		cand.week = cadence_floor_div(last.daynum + day + 3, 7);
		week_index = cand.week - first.week;
		rhythm = cadence_rhythm(h, perweek, week_index);
		if ((rhythm & (1u << wday)) == 0)
			continue;
		if (cadence_voicemails_in_week(a, n, cand.week, zone) >=
		    perweek)
			continue;
		t = cadence_instant(&last, day, cadence_keep_minute(h,
		    last.minute), zone);
		if (t < not_before)
			continue;
		if (full_week)
			*why = "this week already holds the voicemail limit";
		else if (cand.week == last.week)
			*why = "the next day of the voicemail rhythm";
		else
			*why = "the first day of next week's voicemail rhythm";
		return t;
	}
	return 0;
}
