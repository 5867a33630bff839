/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests for when.c (date expressions, zones, local days) and for the
 * value syntaxes and file reading of config.c, which has no test file of
 * its own yet.  The clock is a parameter: every test passes fixed instants.
 */

#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "followupd.h"

/* Sunday 2026-11-22 12:00 UTC: the "now" of the relative tests. */
#define SUNDAY_NOON	"2026-11-22T12:00:00Z"

/* An RFC 3339 UTC stamp ("2026-11-24T10:00:00Z") as a time_t. */
static time_t
utc(const char *stamp)
{
	struct tm	tm;
	char		z;

	memset(&tm, 0, sizeof tm);
	if (sscanf(stamp, "%d-%d-%dT%d:%d:%d%c", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
	    z != 'Z')
		fail_msg("bad stamp in test: %s", stamp);
	tm.tm_year -= 1900;
	tm.tm_mon--;
	return timegm(&tm);
}

/* t in RFC 3339 UTC, in a static buffer (one at a time). */
static const char *
fmt(time_t t)
{
	static char	buf[WHEN_RFC3339_LEN];

	when_format(t, buf, sizeof buf);
	return buf;
}

/*
 * Parse expr in zone at now, expect success at want (RFC 3339 UTC).
 * Return the note (caller frees), or NULL.
 */
static char *
parse_ok(const char *expr, const char *zone, const char *now,
    const char *want, int line)
{
	time_t	 t = 0;
	char	*note, *cause;

	if (when_parse(expr, zone, utc(now), &t, &note, &cause) != 0) {
		print_error("when_parse(\"%s\", %s): %s\n", expr,
		    zone != NULL ? zone : "NULL", cause);
		free(cause);
		_fail(__FILE__, line);
	}
	_assert_string_equal(fmt(t), want, __FILE__, line);
	return note;
}

/* Like parse_ok, and also expect no note. */
static void
parse_exact(const char *expr, const char *zone, const char *now,
    const char *want, int line)
{
	char	*note;

	note = parse_ok(expr, zone, now, want, line);
	if (note != NULL) {
		print_error("unexpected note for \"%s\": %s\n", expr, note);
		free(note);
		_fail(__FILE__, line);
	}
}
#define PARSE_OK(e, z, n, w)	parse_ok(e, z, n, w, __LINE__)
#define PARSE_EXACT(e, z, n, w)	parse_exact(e, z, n, w, __LINE__)

/* Parse expr in zone, expect failure; return the cause (caller frees). */
static char *
parse_fails(const char *expr, const char *zone, int line)
{
	time_t	 t = 0;
	char	*note = NULL, *cause = NULL;

	if (when_parse(expr, zone, utc(SUNDAY_NOON), &t, &note,
	    &cause) == 0) {
		print_error("when_parse(\"%s\", %s) gave %s, want an error\n",
		    expr, zone != NULL ? zone : "NULL", fmt(t));
		free(note);
		_fail(__FILE__, line);
	}
	assert_null(note);
	assert_non_null(cause);
	return cause;
}
#define PARSE_FAILS(e, z)	parse_fails(e, z, __LINE__)

static void
test_rfc3339_with_z_ignores_zone(void **state)
{
	PARSE_EXACT("2026-11-24T10:00:00Z", "Europe/Berlin", SUNDAY_NOON,
	    "2026-11-24T10:00:00Z");
	PARSE_EXACT("2026-11-24T10:00:00Z", "America/New_York", SUNDAY_NOON,
	    "2026-11-24T10:00:00Z");
}

/*
 * A stamp as replies write it ("...Z") is read by a short path; every
 * such stamp must name the instant the full parser gives for the same
 * time written with "+00:00", and one the full parser refuses (a day
 * the month lacks, hour 24, second 60, before 1970-01-01 00:00:01) is
 * refused the same way.
 */
static void
test_rfc3339_stamp_reads_as_the_full_parser(void **state)
{
	static const char *const zones[] = {
		"UTC", "Europe/Berlin", "Pacific/Kiritimati", "America/St_Johns"
	};
	static const char *const bad[] = {
		"2026-02-29T10:00:00Z", "2026-04-31T10:00:00Z",
		"2100-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z",
		"1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
	};
	char		 stamp[32], offset[32], *note, *cause;
	time_t		 t, want;
	unsigned int	 seed = 1, i, z;
	int		 y, mo, d, h, mi, sec;

	(void)state;
	for (i = 0; i < 3000; i++) {
		seed = seed * 1103515245 + 12345;
		y = 1970 + (int)(seed >> 8) % 8030;
		seed = seed * 1103515245 + 12345;
		mo = 1 + (int)(seed >> 8) % 12;
		seed = seed * 1103515245 + 12345;
		/* Month ends and leap days come up often. */
		d = 1 + (int)(seed >> 8) % 31;
		h = (int)(seed >> 13) % 24;
		mi = (int)(seed >> 17) % 60;
		sec = (int)(seed >> 21) % 60;
		if (i < 8) {		/* the edges of the range */
			y = i < 4 ? 1970 : 9999;
			mo = i < 4 ? 1 : 12;
			d = i < 4 ? 1 : 31;
			h = i < 4 ? 0 : 23;
			mi = i < 4 ? 0 : 59;
			sec = i < 4 ? (int)i + 1 : 59 - (int)(i - 4);
		}
		snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    y, mo, d, h, mi, sec);
		snprintf(offset, sizeof offset,
		    "%04d-%02d-%02dT%02d:%02d:%02d+00:00", y, mo, d, h, mi, sec);
		z = i % (sizeof zones / sizeof zones[0]);
		if (when_parse(offset, zones[z], utc(SUNDAY_NOON), &want,
		    &note, &cause) != 0) {
			free(cause);
			free(parse_fails(stamp, zones[z], __LINE__));
			continue;
		}
		free(note);
		parse_exact(stamp, zones[z], SUNDAY_NOON, fmt(want), __LINE__);
		assert_int_equal(when_parse(stamp, zones[z],
		    utc(SUNDAY_NOON), &t, &note, &cause), 0);
		assert_int_equal(t, want);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		free(parse_fails(bad[i], "Europe/Berlin", __LINE__));
	parse_exact("2024-02-29T23:59:59Z", "Asia/Tokyo", SUNDAY_NOON,
	    "2024-02-29T23:59:59Z", __LINE__);
}

static void
test_rfc3339_with_offset(void **state)
{
	PARSE_EXACT("2026-11-24T10:00:00+01:00", "America/New_York",
	    SUNDAY_NOON, "2026-11-24T09:00:00Z");
	PARSE_EXACT("2026-11-24T10:00:00-05:00", "Europe/Berlin", SUNDAY_NOON,
	    "2026-11-24T15:00:00Z");
	PARSE_EXACT("2026-07-01T23:30:00+05:30", "UTC", SUNDAY_NOON,
	    "2026-07-01T18:00:00Z");
}

static void
test_local_date_time_in_each_zone(void **state)
{
	PARSE_EXACT("2026-11-24 14:30", "Europe/Berlin", SUNDAY_NOON,
	    "2026-11-24T13:30:00Z");
	PARSE_EXACT("2026-11-24 14:30", "America/New_York", SUNDAY_NOON,
	    "2026-11-24T19:30:00Z");
	PARSE_EXACT("2026-11-24 14:30", "UTC", SUNDAY_NOON,
	    "2026-11-24T14:30:00Z");
	/* Summer time: the offset of the date, not of now. */
	PARSE_EXACT("2026-07-01 09:00", "Europe/Berlin", SUNDAY_NOON,
	    "2026-07-01T07:00:00Z");
}

static void
test_no_zone_means_utc(void **state)
{
	PARSE_EXACT("2026-11-24 14:30", NULL, SUNDAY_NOON,
	    "2026-11-24T14:30:00Z");
	PARSE_EXACT("2026-11-24 14:30", "", SUNDAY_NOON,
	    "2026-11-24T14:30:00Z");
}

static void
test_relative_from_fixed_now(void **state)
{
	/* Now is 13:00 on Sunday in Berlin. */
	PARSE_EXACT("tomorrow 10:00", "Europe/Berlin", SUNDAY_NOON,
	    "2026-11-23T09:00:00Z");
	PARSE_EXACT("tomorrow 10:00", "UTC", SUNDAY_NOON,
	    "2026-11-23T10:00:00Z");
	PARSE_EXACT("fri 16:00", "Europe/Berlin", SUNDAY_NOON,
	    "2026-11-27T15:00:00Z");
	PARSE_EXACT("fri 16:00", "America/New_York", SUNDAY_NOON,
	    "2026-11-27T21:00:00Z");
	PARSE_EXACT("next monday 9am", "UTC", SUNDAY_NOON,
	    "2026-11-23T09:00:00Z");
	PARSE_EXACT("next monday 9am", "America/New_York", SUNDAY_NOON,
	    "2026-11-23T14:00:00Z");
	PARSE_EXACT("in 3 days", "UTC", SUNDAY_NOON, "2026-11-25T12:00:00Z");
	PARSE_EXACT("in 3 days", "Europe/Berlin", SUNDAY_NOON,
	    "2026-11-25T12:00:00Z");
	PARSE_EXACT("in 2 hours", "Europe/Berlin", SUNDAY_NOON,
	    "2026-11-22T14:00:00Z");
	PARSE_EXACT("3 days", "UTC", SUNDAY_NOON, "2026-11-25T12:00:00Z");
	PARSE_EXACT("  IN 2 hours", "UTC", SUNDAY_NOON,
	    "2026-11-22T14:00:00Z");
}

static void
test_relative_hours_are_exact_across_dst(void **state)
{
	/* Saturday 2026-03-28 13:00 in Berlin; the clocks jump that night. */
	PARSE_EXACT("in 24 hours", "Europe/Berlin", "2026-03-28T12:00:00Z",
	    "2026-03-29T12:00:00Z");
	PARSE_EXACT("in 2 hours", "Europe/Berlin", "2026-03-29T00:30:00Z",
	    "2026-03-29T02:30:00Z");
}

static void
test_tz_prefix_in_expression(void **state)
{
	PARSE_EXACT("TZ=\"Europe/London\" 2026-11-24 14:30", "America/New_York",
	    SUNDAY_NOON, "2026-11-24T14:30:00Z");
	PARSE_EXACT("TZ=\"Europe/London\" 2026-07-01 09:00", "Europe/Berlin",
	    SUNDAY_NOON, "2026-07-01T08:00:00Z");
	/* Tuesday 10:00 in London, whatever the zone of the op. */
	PARSE_EXACT("TZ=\"Europe/London\" tue 10:00", "America/New_York",
	    SUNDAY_NOON, "2026-11-24T10:00:00Z");
}

static void
test_impossible_dates_fail_quoting_input(void **state)
{
	static const char *const bad[] = {
		"2026-02-30", "25:00", "someday", "2026-13-01 10:00",
		"tomorrow 10:61",
	};
	char	*cause, want[64];
	size_t	 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = PARSE_FAILS(bad[i], "Europe/Berlin");
		snprintf(want, sizeof want, "\"%s\"", bad[i]);
		if (strstr(cause, want) == NULL)
			fail_msg("cause for %s does not quote it: %s", bad[i],
			    cause);
		free(cause);
	}
}

/*
 * Replies write times as RFC 3339 with a four-digit year, and 0 means
 * "unset": a time outside 1970-01-01 00:00:01 .. 9999-12-31 23:59:59 UTC
 * is refused, not carried on to overflow the formatting (found by
 * fuzzing).
 */
static void
test_times_outside_1970_to_9999_fail(void **state)
{
	static const char *const bad[] = {
		"1969-12-31 23:59:59", "1970-01-01T00:00:00Z", "@0", "@-1",
		"10000-01-02", "9999-12-31T23:59:59-01:00", "@253402300800",
		"1000000-01-01 10:00", "-1000 years", "+100000 years",
		"@-9223372036854775807",
	};
	char	*cause, want[64];
	size_t	 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = PARSE_FAILS(bad[i], "Europe/Berlin");
		snprintf(want, sizeof want, "\"%s\"", bad[i]);
		if (strstr(cause, want) == NULL)
			fail_msg("cause for %s does not quote it: %s", bad[i],
			    cause);
		free(cause);
	}
	/* The ends themselves are fine. */
	PARSE_EXACT("1970-01-01T00:00:01Z", "UTC", SUNDAY_NOON,
	    "1970-01-01T00:00:01Z");
	PARSE_EXACT("9999-12-31 23:59:59", "UTC", SUNDAY_NOON,
	    "9999-12-31T23:59:59Z");
	PARSE_EXACT("9999-12-31 23:59:59", "Europe/Berlin", SUNDAY_NOON,
	    "9999-12-31T22:59:59Z");
}

static void
test_empty_expression_fails(void **state)
{
	char	*cause;

	cause = PARSE_FAILS("", "UTC");
	assert_non_null(strstr(cause, "empty"));
	free(cause);
	cause = PARSE_FAILS("   ", "UTC");
	assert_non_null(strstr(cause, "empty"));
	free(cause);
	cause = PARSE_FAILS("in ", "UTC");
	assert_non_null(strstr(cause, "empty"));
	free(cause);
}

static void
test_overlong_expression_fails(void **state)
{
	char	 expr[300], *cause;
	size_t	 pad;

	/* 256 bytes is the limit: blanks and then a real date. */
	pad = 256 - strlen("2026-11-24 14:30");
	memset(expr, ' ', pad);
	strcpy(expr + pad, "2026-11-24 14:30");
	assert_int_equal(strlen(expr), 256);
	PARSE_EXACT(expr, "UTC", SUNDAY_NOON, "2026-11-24T14:30:00Z");

	memmove(expr + 1, expr, strlen(expr) + 1);
	expr[0] = ' ';
	assert_int_equal(strlen(expr), 257);
	cause = PARSE_FAILS(expr, "UTC");
	assert_non_null(strstr(cause, "too long"));
	free(cause);
}

static void
test_spring_forward_gap_berlin(void **state)
{
	char	*note;

	note = PARSE_OK("2026-03-29 02:30", "Europe/Berlin", SUNDAY_NOON,
	    "2026-03-29T01:00:00Z");
	assert_non_null(note);
	assert_non_null(strstr(note, "03:00"));
	assert_non_null(strstr(note, "Europe/Berlin"));
	assert_non_null(strstr(note, "2026-03-29 02:30"));
	free(note);

	/* Just outside the gap there is no note. */
	PARSE_EXACT("2026-03-29 01:59", "Europe/Berlin", SUNDAY_NOON,
	    "2026-03-29T00:59:00Z");
	PARSE_EXACT("2026-03-29 03:00", "Europe/Berlin", SUNDAY_NOON,
	    "2026-03-29T01:00:00Z");
}

/*
 * A relative expression that lands in the gap ("tomorrow 02:30" on the day
 * before the clocks go forward) means the first valid instant, 03:00
 * (01:00Z), with a note; parse_datetime2 itself returns 03:30 there.
 */
static void
test_spring_forward_gap_reached_relatively(void **state)
{
	char	*note;

	note = PARSE_OK("tomorrow 02:30", "Europe/Berlin",
	    "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z");
	assert_non_null(note);
	assert_non_null(strstr(note, "03:00"));
	free(note);
}

static void
test_spring_forward_gap_new_york(void **state)
{
	char	*note;

	note = PARSE_OK("2026-03-08 02:30", "America/New_York", SUNDAY_NOON,
	    "2026-03-08T07:00:00Z");
	assert_non_null(note);
	assert_non_null(strstr(note, "03:00"));
	assert_non_null(strstr(note, "America/New_York"));
	free(note);
}

static void
test_fall_back_takes_first_of_repeated_hour(void **state)
{
	PARSE_EXACT("2026-10-25 02:30", "Europe/Berlin", SUNDAY_NOON,
	    "2026-10-25T00:30:00Z");
	PARSE_EXACT("2026-11-01 01:30", "America/New_York", SUNDAY_NOON,
	    "2026-11-01T05:30:00Z");
	/* Relative too, and the hour after the repeat is unambiguous. */
	PARSE_EXACT("tomorrow 02:30", "Europe/Berlin", "2026-10-24T12:00:00Z",
	    "2026-10-25T00:30:00Z");
	PARSE_EXACT("2026-10-25 03:30", "Europe/Berlin", SUNDAY_NOON,
	    "2026-10-25T02:30:00Z");
}

/*
 * The "first of the repeated hour" rule is for wall-clock times only: an
 * instant the expression names exactly ("2026-11-01T06:30:00Z" in
 * America/New_York, "2026-10-25T02:30:00+01:00" in Europe/Berlin) or a
 * duration ("in 90 minutes" at 01:00 EDT on 2026-11-01) stays as it is.
 */
static void
test_repeated_hour_keeps_exact_instants(void **state)
{
	PARSE_EXACT("2026-11-01T06:30:00Z", "America/New_York", SUNDAY_NOON,
	    "2026-11-01T06:30:00Z");
	PARSE_EXACT("2026-10-25T02:30:00+01:00", "Europe/Berlin", SUNDAY_NOON,
	    "2026-10-25T01:30:00Z");
	PARSE_EXACT("in 90 minutes", "America/New_York",
	    "2026-11-01T05:00:00Z", "2026-11-01T06:30:00Z");
}

/*
 * An unknown zone name fails rather than being read as UTC (gnulib's
 * tzalloc accepts any string).
 */
static void
test_unknown_zone_fails(void **state)
{
	char	*cause;

	cause = PARSE_FAILS("2026-11-24 14:30", "Nowhere/City");
	assert_non_null(strstr(cause, "Nowhere/City"));
	free(cause);
}

/*
 * A zone named inside the expression is checked too: 'TZ="Europe/Berln"'
 * (a typo) and a POSIX TZ string fail.
 */
static void
test_unknown_zone_in_expression_fails(void **state)
{
	char	*cause;

	cause = PARSE_FAILS("TZ=\"Europe/Berln\" 2026-11-24 14:30",
	    "Europe/Berlin");
	assert_non_null(strstr(cause, "Europe/Berln"));
	free(cause);
}

static void
test_zone_valid_accepts_iana_names(void **state)
{
	assert_true(when_zone_valid("Europe/Berlin"));
	assert_true(when_zone_valid("UTC"));
	assert_true(when_zone_valid("America/New_York"));
	assert_true(when_zone_valid("America/Argentina/Buenos_Aires"));
	assert_true(when_zone_valid("Etc/GMT+5"));
}

static void
test_zone_valid_rejects_non_zones(void **state)
{
	char	long_name[200];

	assert_false(when_zone_valid(NULL));
	assert_false(when_zone_valid(""));
	assert_false(when_zone_valid("Nowhere/City"));
	assert_false(when_zone_valid("europe/berlin"));
	assert_false(when_zone_valid("../etc/passwd"));
	assert_false(when_zone_valid("Europe/../Europe/Berlin"));
	assert_false(when_zone_valid("/etc/localtime"));
	assert_false(when_zone_valid("/usr/share/zoneinfo/Europe/Berlin"));
	assert_false(when_zone_valid("Europe"));	/* a directory */
	assert_false(when_zone_valid("Europe/Berlin "));
	assert_false(when_zone_valid("Europe/Berlin\n"));
	/* POSIX TZ strings: a typo must not silently become some offset. */
	assert_false(when_zone_valid("EST5EDT,M3.2.0,M11.1.0"));
	assert_false(when_zone_valid("CET-1CEST,M3.5.0,M10.5.0/3"));
	assert_false(when_zone_valid("zone.tab"));
	memset(long_name, 'A', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	assert_false(when_zone_valid(long_name));
}

/*
 * Only zone files count: the tzdata file "leapseconds" is text, not a
 * zone, and a contact given that tz would silently get UTC.
 */
static void
test_zone_valid_rejects_files_that_are_not_zones(void **state)
{
	struct stat	sb;

	if (stat("/usr/share/zoneinfo/leapseconds", &sb) != 0 ||
	    getenv("TZDIR") != NULL)
		skip();
	assert_false(when_zone_valid("leapseconds"));
}

static void
test_day_start_on_23_hour_day(void **state)
{
	time_t	start, next;

	/* 2026-03-29 in Berlin: midnight is still winter time. */
	assert_int_equal(when_day_start(utc("2026-03-29T10:00:00Z"),
	    "Europe/Berlin", 0, &start), 0);
	assert_string_equal(fmt(start), "2026-03-28T23:00:00Z");
	assert_int_equal(when_day_start(utc("2026-03-29T10:00:00Z"),
	    "Europe/Berlin", 1, &next), 0);
	assert_string_equal(fmt(next), "2026-03-29T22:00:00Z");
	assert_int_equal(next - start, 23 * 3600);

	/* A time just before local midnight belongs to that day. */
	assert_int_equal(when_day_start(utc("2026-03-29T21:59:59Z"),
	    "Europe/Berlin", 0, &start), 0);
	assert_string_equal(fmt(start), "2026-03-28T23:00:00Z");
}

static void
test_day_start_week_across_fall_back(void **state)
{
	time_t	start, end;

	/* Tuesday 2026-10-20 to Tuesday 2026-10-27 holds the 25-h Sunday. */
	assert_int_equal(when_day_start(utc("2026-10-20T12:00:00Z"),
	    "Europe/Berlin", 0, &start), 0);
	assert_string_equal(fmt(start), "2026-10-19T22:00:00Z");
	assert_int_equal(when_day_start(utc("2026-10-20T12:00:00Z"),
	    "Europe/Berlin", 7, &end), 0);
	assert_string_equal(fmt(end), "2026-10-26T23:00:00Z");
	assert_int_equal(end - start, 7 * 24 * 3600 + 3600);
}

static void
test_day_start_new_york(void **state)
{
	time_t	start, next;

	/* 2026-03-08: 23 hours. */
	assert_int_equal(when_day_start(utc("2026-03-08T15:00:00Z"),
	    "America/New_York", 0, &start), 0);
	assert_string_equal(fmt(start), "2026-03-08T05:00:00Z");
	assert_int_equal(when_day_start(start, "America/New_York", 1, &next),
	    0);
	assert_string_equal(fmt(next), "2026-03-09T04:00:00Z");
	assert_int_equal(next - start, 23 * 3600);

	/* 2026-11-01: 25 hours. */
	assert_int_equal(when_day_start(utc("2026-11-01T15:00:00Z"),
	    "America/New_York", 0, &start), 0);
	assert_string_equal(fmt(start), "2026-11-01T04:00:00Z");
	assert_int_equal(when_day_start(start, "America/New_York", 1, &next),
	    0);
	assert_int_equal(next - start, 25 * 3600);

	/* Early UTC morning is still the previous day in New York. */
	assert_int_equal(when_day_start(utc("2026-11-24T03:00:00Z"),
	    "America/New_York", 0, &start), 0);
	assert_string_equal(fmt(start), "2026-11-23T05:00:00Z");
	/* And a negative offset goes back. */
	assert_int_equal(when_day_start(utc("2026-11-24T03:00:00Z"),
	    "America/New_York", -1, &start), 0);
	assert_string_equal(fmt(start), "2026-11-22T05:00:00Z");
}

static void
test_day_start_utc_default(void **state)
{
	time_t	start;

	assert_int_equal(when_day_start(utc("2026-11-24T23:59:59Z"), NULL, 0,
	    &start), 0);
	assert_string_equal(fmt(start), "2026-11-24T00:00:00Z");
	assert_int_equal(when_day_start(utc("2026-12-31T10:00:00Z"), "UTC", 1,
	    &start), 0);
	assert_string_equal(fmt(start), "2027-01-01T00:00:00Z");
}

/* when_day_start fails for an unknown zone instead of using UTC. */
static void
test_day_start_unknown_zone_fails(void **state)
{
	time_t	start = 0;

	assert_int_equal(when_day_start(utc("2026-11-24T10:00:00Z"),
	    "Nowhere/City", 0, &start), -1);
}

static void
test_format_and_json(void **state)
{
	char	 buf[WHEN_RFC3339_LEN];
	json_t	*j;

	when_format(utc("2026-11-24T10:00:00Z"), buf, sizeof buf);
	assert_string_equal(buf, "2026-11-24T10:00:00Z");
	when_format(0, buf, sizeof buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	/* Written by hand: every field's digits, a leap day, a year's end. */
	when_format(utc("2028-02-29T23:59:59Z"), buf, sizeof buf);
	assert_string_equal(buf, "2028-02-29T23:59:59Z");
	when_format(utc("2030-12-31T09:08:07Z"), buf, sizeof buf);
	assert_string_equal(buf, "2030-12-31T09:08:07Z");
	when_format((time_t)-1, buf, sizeof buf);
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	/* The calendar by arithmetic agrees with gmtime_r everywhere. */
	{
		struct tm	tm;
		char		want[WHEN_RFC3339_LEN];
		int64_t		t;
		static const int64_t edges[] = { -30610224000LL,
				    -62167219201LL, 253402300799LL,
				    253402300800LL, 951782400LL, 4107542400LL,
				    -2208988800LL, INT32_MAX, (int64_t)INT32_MIN };
		size_t		i;

		/* From the year 1000: strftime writes fewer digits before. */
		for (t = -30610224000LL; t < 253402300800LL;
		    t += 86400 * 13 + 3671) {
			gmtime_r(&(time_t){ (time_t)t }, &tm);
			strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
			assert_int_equal(when_format((time_t)t, buf,
			    sizeof buf), strlen(want));
			assert_string_equal(buf, want);
		}
		/* The edges, past the year 9999 too (strftime's own). */
		for (i = 0; i < sizeof edges / sizeof edges[0]; i++) {
			gmtime_r(&(time_t){ (time_t)edges[i] }, &tm);
			strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
			assert_int_equal(when_format((time_t)edges[i], buf,
			    sizeof buf), strlen(want));
			assert_string_equal(buf, want);
		}
		when_format((time_t)-62167219200LL, buf, sizeof buf);
		assert_string_equal(buf, "0000-01-01T00:00:00Z");
	}
	/* Too short a buffer: nothing, and no length past it. */
	assert_int_equal(when_format(0, buf, 0), 0);
	buf[0] = 'x';
	assert_int_equal(when_format(0, buf, 5), 0);
	assert_string_equal(buf, "");

	j = when_json(utc("2026-11-24T10:00:00Z"));
	assert_string_equal(json_string_value(j), "2026-11-24T10:00:00Z");
	json_decref(j);
	j = when_json_or_null(0);
	assert_true(json_is_null(j));
	json_decref(j);
	j = when_json_or_null(utc("2026-11-24T10:00:00Z"));
	assert_true(json_is_string(j));
	json_decref(j);
}

static void
test_local_zone_follows_tz(void **state)
{
	/* main() set TZ=UTC before anything asked. */
	assert_string_equal(when_local_zone(), "UTC");
}

/* --- config.c: value syntaxes --- */

static void
test_duration_accepts_units(void **state)
{
	long	d;

	assert_int_equal(config_parse_duration("90s", &d), 0);
	assert_int_equal(d, 90);
	assert_int_equal(config_parse_duration("15m", &d), 0);
	assert_int_equal(d, 15 * 60);
	assert_int_equal(config_parse_duration("2h", &d), 0);
	assert_int_equal(d, 2 * 3600);
	assert_int_equal(config_parse_duration("3d", &d), 0);
	assert_int_equal(d, 3 * 86400);
	assert_int_equal(config_parse_duration("45", &d), 0);
	assert_int_equal(d, 45);
	assert_int_equal(config_parse_duration("0", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(config_parse_duration("366d", &d), 0);
	assert_int_equal(d, 366 * 86400);
}

static void
test_duration_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"", " ", "-5m", "5x", "m", "5 m", "5mm", "1.5h", "+5m",
		"367d", "8785h", "31622401", "99999999999999999999",
		"9223372036854775807s",
	};
	long	d = 12345;
	size_t	i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (config_parse_duration(bad[i], &d) != -1)
			fail_msg("duration \"%s\" accepted as %ld", bad[i], d);
	}
	assert_int_equal(d, 12345);	/* untouched on failure */
}

static void
test_hhmm(void **state)
{
	static const char *const bad[] = {
		"", "8", "24:00", "12:60", "noon", "08:00:00", "08:00x",
		"-1:00", " 8:00", "08-00",
	};
	int	m;
	size_t	i;

	assert_int_equal(config_parse_hhmm("08:00", &m), 0);
	assert_int_equal(m, 480);
	assert_int_equal(config_parse_hhmm("00:00", &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(config_parse_hhmm("23:59", &m), 0);
	assert_int_equal(m, 23 * 60 + 59);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (config_parse_hhmm(bad[i], &m) != -1)
			fail_msg("hh:mm \"%s\" accepted as %d", bad[i], m);
	}
}

static void
test_hours(void **state)
{
	static const char *const bad[] = {
		"17:00-09:00", "09:00-09:00", "09:00-24:00", "24:00-25:00",
		"09:00", "09:00-", "-17:00", "09:00-17:00-18:00",
		"09:00 - 17:00:00x",
	};
	int	a, b;
	size_t	i;

	assert_int_equal(config_parse_hours("09:00-17:00", &a, &b), 0);
	assert_int_equal(a, 9 * 60);
	assert_int_equal(b, 17 * 60);
	assert_int_equal(config_parse_hours("00:00-23:59", &a, &b), 0);
	assert_int_equal(b, 23 * 60 + 59);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (config_parse_hours(bad[i], &a, &b) != -1)
			fail_msg("hours \"%s\" accepted", bad[i]);
	}
}

static void
test_workdays(void **state)
{
	static const char *const bad[] = {
		"", "funday", "mon,", ",mon", "mon-", "mon--fri", "monday",
		"mon,,fri", "mon fri",
	};
	unsigned int	d;
	size_t		i;

	assert_int_equal(config_parse_workdays("mon-fri", &d), 0);
	assert_int_equal(d, 0x3e);
	assert_int_equal(config_parse_workdays("sat-sun", &d), 0);
	assert_int_equal(d, 0x41);
	assert_int_equal(config_parse_workdays("fri-mon", &d), 0);
	assert_int_equal(d, (1U << 5) | (1U << 6) | (1U << 0) | (1U << 1));
	assert_int_equal(config_parse_workdays("mon,wed,fri", &d), 0);
	assert_int_equal(d, (1U << 1) | (1U << 3) | (1U << 5));
	assert_int_equal(config_parse_workdays("mon-wed,fri", &d), 0);
	assert_int_equal(d, 0x2e);
	assert_int_equal(config_parse_workdays("sun", &d), 0);
	assert_int_equal(d, 0x01);
	assert_int_equal(config_parse_workdays("Mon-Fri", &d), 0);
	assert_int_equal(d, 0x3e);
	d = 0x7f;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (config_parse_workdays(bad[i], &d) != -1)
			fail_msg("workdays \"%s\" accepted as %#x", bad[i], d);
	}
	assert_int_equal(d, 0x7f);
}

static void
test_stage_known_and_open(void **state)
{
	struct fu_config	*cf = config_new();

	assert_true(config_stage_known(cf, "lead"));
	assert_true(config_stage_open(cf, "lead"));
	assert_true(config_stage_open(cf, "negotiation"));
	assert_true(config_stage_known(cf, "won"));
	assert_false(config_stage_open(cf, "won"));
	assert_false(config_stage_open(cf, "lost"));
	assert_false(config_stage_known(cf, "bogus"));
	assert_false(config_stage_known(cf, "Lead"));
	assert_false(config_stage_known(cf, ""));
	config_free(cf);
	config_free(NULL);
}

static void
test_config_defaults(void **state)
{
	struct fu_config	*cf = config_new();

	assert_int_equal(cf->lead, 15 * 60);
	assert_int_equal(cf->stale_after, 14 * 86400);
	assert_int_equal(cf->workdays, 0x3e);
	assert_int_equal(cf->hours_start, 9 * 60);
	assert_int_equal(cf->hours_end, 17 * 60);
	assert_int_equal(cf->max_conns_per_user, 1024);
	assert_int_equal(cf->nopen, 5);
	assert_string_equal(cf->open_stages[0], "lead");
	assert_int_equal(cf->nclosed, 2);
	assert_null(cf->path);
	assert_null(cf->socket);
	assert_null(cf->database);
	config_free(cf);
}

/* --- config.c: config_load on temporary files --- */

struct cfdir {
	char	dir[64];
	char	path[128];
};

static int
cfdir_setup(void **state)
{
	struct cfdir	*d;

	d = xcalloc(1, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "/tmp/fu-test-when.XXXXXX");
	if (mkdtemp(d->dir) == NULL) {
		free(d);
		return -1;
	}
	snprintf(d->path, sizeof d->path, "%s/followupd.conf", d->dir);
	*state = d;
	return 0;
}

static int
cfdir_teardown(void **state)
{
	struct cfdir	*d = *state;

	unlink(d->path);
	rmdir(d->dir);
	free(d);
	return 0;
}

static void
cfdir_write(struct cfdir *d, const char *text)
{
	FILE	*f;

	if ((f = fopen(d->path, "w")) == NULL)
		fail_msg("%s: %s", d->path, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		fail_msg("%s: %s", d->path, strerror(errno));
}

/*
 * Load text as a config file; expect failure with a cause starting
 * "PATH:prefix" and containing what.
 */
static void
cfdir_load_fails(struct cfdir *d, const char *text, const char *prefix,
    const char *what)
{
	struct fu_config	*cf = config_new();
	char			*cause = NULL, want[256];

	cfdir_write(d, text);
	if (config_load(cf, d->path, 0, &cause) != -1)
		fail_msg("config_load accepted:\n%s", text);
	assert_non_null(cause);
	snprintf(want, sizeof want, "%s:%s", d->path, prefix);
	if (strncmp(cause, want, strlen(want)) != 0 ||
	    strstr(cause, what) == NULL) {
		print_error("cause \"%s\"\nwant \"%s...%s...\"\n", cause, want,
		    what);
		free(cause);
		config_free(cf);
		fail();
	}
	free(cause);
	config_free(cf);
}

static void
test_config_load_every_section(void **state)
{
	struct cfdir		*d = *state;
	struct fu_config	*cf = config_new();
	char			*cause = NULL;

	cfdir_write(d,
	    "# a comment\n"
	    "; another\n"
	    "[daemon]\n"
	    "socket = /tmp/fu/followupd.sock\n"
	    "database = /tmp/fu/followup.db\n"
	    "log = stderr\n"
	    "max_connections_per_user = 8\n"
	    "\n"
	    "[reminders]\n"
	    "lead = 10m\n"
	    "\n"
	    "[schedule]\n"
	    "stale_after = 7d\n"
	    "\n"
	    "[stages]\n"
	    "open = new, talking demo\n"
	    "closed = signed,gone\n");
	if (config_load(cf, d->path, 0, &cause) != 0)
		fail_msg("config_load: %s", cause);
	assert_null(cause);
	assert_string_equal(cf->path, d->path);
	assert_string_equal(cf->socket, "/tmp/fu/followupd.sock");
	assert_string_equal(cf->database, "/tmp/fu/followup.db");
	assert_int_equal(cf->log, LOG_TO_STDERR);
	assert_int_equal(cf->max_conns_per_user, 8);
	assert_int_equal(cf->lead, 600);
	assert_int_equal(cf->stale_after, 7 * 86400);
	assert_int_equal(cf->nopen, 3);
	assert_string_equal(cf->open_stages[0], "new");
	assert_string_equal(cf->open_stages[1], "talking");
	assert_string_equal(cf->open_stages[2], "demo");
	assert_int_equal(cf->nclosed, 2);
	assert_string_equal(cf->closed_stages[1], "gone");
	assert_true(config_stage_open(cf, "demo"));
	assert_false(config_stage_known(cf, "lead"));
	assert_true(config_stage_known(cf, "signed"));
	config_free(cf);
}

static void
test_config_load_empty_file_keeps_defaults(void **state)
{
	struct cfdir		*d = *state;
	struct fu_config	*cf = config_new();
	char			*cause = NULL;

	cfdir_write(d, "");
	assert_int_equal(config_load(cf, d->path, 0, &cause), 0);
	assert_int_equal(cf->lead, 15 * 60);
	assert_int_equal(cf->nopen, 5);
	config_free(cf);
}

static void
test_config_load_unknown_key_names_line(void **state)
{
	cfdir_load_fails(*state,
	    "[daemon]\n"
	    "socket = /tmp/fu.sock\n"
	    "\n"
	    "frobnicate = 1\n", "4: ", "unknown key \"frobnicate\"");
}

/* An unknown section is named at its header, even with no keys under it. */
static void
test_config_load_unknown_section(void **state)
{
	cfdir_load_fails(*state,
	    "[reminders]\n"
	    "lead = 5m\n"
	    "[nonsense]\n"
	    "lead = 5m\n", "3: ", "unknown section [nonsense]");
	cfdir_load_fails(*state,
	    "[reminders]\n"
	    "[nonsense]\n", "2: ", "unknown section [nonsense]");
}

static void
test_config_load_bad_values(void **state)
{
	cfdir_load_fails(*state, "[reminders]\nlead = 5x\n", "2: ",
	    "lead = \"5x\"");
	cfdir_load_fails(*state, "[reminders]\nlead = -5m\n", "2: ",
	    "must be a duration");
	cfdir_load_fails(*state, "[schedule]\nstale_after = 0\n", "2: ",
	    "stale_after");
	cfdir_load_fails(*state, "[daemon]\nsocket = relative.sock\n", "2: ",
	    "absolute path");
	cfdir_load_fails(*state, "[daemon]\nlog = loud\n", "2: ", "log");
	cfdir_load_fails(*state, "[daemon]\nmax_connections_per_user = 0\n",
	    "2: ", "max_connections_per_user");
	cfdir_load_fails(*state, "[stages]\nopen = Lead\n", "2: ",
	    "stage \"Lead\"");
	cfdir_load_fails(*state, "[stages]\nopen = ,\n", "2: ",
	    "no stages");
	cfdir_load_fails(*state, "[daemon]\nthis line has no equals\n",
	    "2: ", "not a section header");
}

static void
test_config_load_refuses_keys_not_acted_on(void **state)
{
	cfdir_load_fails(*state, "[schedule]\nvoicemails_per_week = 8\n",
	    "2: ", "from 1 to 7");
	cfdir_load_fails(*state, "[daemon]\nadmin_group = no-such-group-x\n",
	    "2: ", "no such group");
	cfdir_load_fails(*state, "[daemon]\nsocket_group = no-such-group-x\n",
	    "2: ", "no such group");
	cfdir_load_fails(*state, "[reminders]\nhook = '/bin/true\n", "2: ",
	    "unterminated quote");
}

/*
 * With two bad lines the first one's message is reported (with its
 * line), and nothing leaks.
 */
static void
test_config_load_reports_first_error(void **state)
{
	cfdir_load_fails(*state,
	    "[daemon]\n"
	    "frobnicate = 1\n"
	    "[reminders]\n"
	    "lead = 5x\n", "2: ", "unknown key \"frobnicate\"");
}

/*
 * The file's syntax: a UTF-8 BOM, CRLF line ends, comments at the start
 * of a line and after white space, indented lines folded into the value
 * above, and a line far longer than inih's 200 bytes.
 */
static void
test_config_load_syntax(void **state)
{
	struct cfdir		*d = *state;
	struct fu_config	*cf = config_new();
	char			*cause = NULL, *text, *hook;
	size_t			 i;

	hook = xcalloc(1, 6001);
	memcpy(hook, "/bin/true ", 10);
	for (i = 10; i < 6000; i++)
		hook[i] = i % 50 == 0 ? ' ' : 'a' + i % 26;
	xasprintf(&text, "\xef\xbb\xbf[daemon]\r\nlog = syslog\r\n"
	    "# comment\n; comment\n[reminders]\n"
	    "lead = 2h ; the lead\n"
	    "hook = /bin/echo a;b\n"
	    "    c ; d\n"
	    "hook = %s\n"
	    "\n"
	    "  [stages]\n"
	    "open = lead\n"
	    "\tdemo\n", hook);
	cfdir_write(d, text);
	if (config_load(cf, d->path, 0, &cause) != 0)
		fail_msg("config_load: %s", cause);
	assert_int_equal(cf->log, LOG_TO_SYSLOG);
	assert_int_equal(cf->lead, 2 * 3600);
	assert_int_equal(cf->nhooks, 2);
	assert_string_equal(cf->hooks[0], "/bin/echo a;b c");
	assert_string_equal(cf->hooks[1], hook);
	assert_int_equal(cf->nopen, 2);
	assert_string_equal(cf->open_stages[0], "lead");
	assert_string_equal(cf->open_stages[1], "demo");
	config_free(cf);
	free(text);
	free(hook);

	cfdir_load_fails(d, "lead = 1h\n", "1: ", "before any [section]");
	cfdir_load_fails(d, "[reminders\n", "1: ", "not a section header");
	cfdir_load_fails(d, "[reminders]\n= 1h\n", "2: ",
	    "\"key = value\"");
	cfdir_load_fails(d, "[daemon]\n\n[nope]\n", "3: ",
	    "unknown section [nope]");
	cfdir_load_fails(d, "[reminders]\nlead = 1h\n  later\n", "2: ",
	    "lead");
}

/* A line may say 65536 bytes, CRLF aside; one byte more is refused. */
static void
test_config_load_longest_line(void **state)
{
	struct cfdir		*d = *state;
	struct fu_config	*cf = config_new();
	char			*text, *cause = NULL;

	text = xcalloc(1, 65536 + 32);
	memcpy(text, "[daemon]\r\n#", 11);
	memset(text + 11, 'c', 65535);
	memcpy(text + 11 + 65535, "\r\n", 2);
	cfdir_write(d, text);
	if (config_load(cf, d->path, 0, &cause) != 0)
		fail_msg("config_load: %s", cause);
	config_free(cf);
	text[11 + 65535] = 'c';
	memcpy(text + 11 + 65536, "\n", 1);
	cfdir_load_fails(d, text, "2: ", "longer than 65536 bytes");
	free(text);
}

/* A directory opens and reads as empty; it is still no configuration. */
static void
test_config_load_refuses_a_directory(void **state)
{
	struct cfdir		*d = *state;
	struct fu_config	*cf = config_new();
	char			*cause = NULL;

	assert_int_equal(config_load(cf, d->dir, 1, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "is a directory"));
	free(cause);
	config_free(cf);
}

static void
test_config_load_stage_open_and_closed(void **state)
{
	struct cfdir		*d = *state;
	struct fu_config	*cf = config_new();
	char			*cause = NULL;

	/* "won" is a default closed stage. */
	cfdir_write(d, "[stages]\nopen = lead won\n");
	assert_int_equal(config_load(cf, d->path, 0, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, d->path));
	assert_non_null(strstr(cause, "\"won\" is both open and closed"));
	free(cause);
	config_free(cf);
}

static void
test_config_load_missing_file(void **state)
{
	struct cfdir		*d = *state;
	struct fu_config	*cf = config_new();
	char			*cause = NULL;

	assert_int_equal(config_load(cf, d->path, 0, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, d->path));
	assert_non_null(strstr(cause, strerror(ENOENT)));
	free(cause);
	cause = NULL;

	assert_int_equal(config_load(cf, d->path, 1, &cause), 0);
	assert_null(cause);
	assert_null(cf->path);
	assert_int_equal(cf->lead, 15 * 60);
	config_free(cf);
}

/*
 * The example file shipped with the daemon says every key shows its
 * default: with the keys uncommented it must load and change nothing.
 */
static void
test_config_example_file_shows_defaults(void **state)
{
	struct cfdir		*d = *state;
	struct fu_config	*cf, *def;
	char			 src[1024], line[1024], *cause = NULL, *slash;
	FILE			*in, *out;
	int			 i, keys = 0;

	snprintf(src, sizeof src, "%s", __FILE__);
	if ((slash = strrchr(src, '/')) == NULL)
		skip();
	snprintf(slash, src + sizeof src - slash,
	    "/../../daemon/followupd.conf");
	if ((in = fopen(src, "r")) == NULL)
		skip();
	if ((out = fopen(d->path, "w")) == NULL)
		fail_msg("%s: %s", d->path, strerror(errno));
	while (fgets(line, sizeof line, in) != NULL) {
		/* "#key = value" is a commented default; "# text" is prose. */
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " = ") != NULL) {
			fputs(line + 1, out);
			keys++;
		} else
			fputs(line, out);
	}
	fclose(in);
	fclose(out);
	assert_true(keys >= 8);

	cf = config_new();
	def = config_new();
	if (config_load(cf, d->path, 0, &cause) != 0)
		fail_msg("example file: %s", cause);
	assert_int_equal(cf->lead, def->lead);
	assert_int_equal(cf->stale_after, def->stale_after);
	assert_int_equal(cf->max_conns_per_user, def->max_conns_per_user);
	assert_int_equal(cf->nopen, def->nopen);
	for (i = 0; i < cf->nopen; i++)
		assert_string_equal(cf->open_stages[i], def->open_stages[i]);
	assert_int_equal(cf->nclosed, def->nclosed);
	for (i = 0; i < cf->nclosed; i++)
		assert_string_equal(cf->closed_stages[i],
		    def->closed_stages[i]);
	config_free(cf);
	config_free(def);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339_with_z_ignores_zone),
		cmocka_unit_test(test_rfc3339_with_offset),
		cmocka_unit_test(test_rfc3339_stamp_reads_as_the_full_parser),
		cmocka_unit_test(test_local_date_time_in_each_zone),
		cmocka_unit_test(test_no_zone_means_utc),
		cmocka_unit_test(test_relative_from_fixed_now),
		cmocka_unit_test(test_relative_hours_are_exact_across_dst),
		cmocka_unit_test(test_tz_prefix_in_expression),
		cmocka_unit_test(test_impossible_dates_fail_quoting_input),
		cmocka_unit_test(test_times_outside_1970_to_9999_fail),
		cmocka_unit_test(test_empty_expression_fails),
		cmocka_unit_test(test_overlong_expression_fails),
		cmocka_unit_test(test_spring_forward_gap_berlin),
		cmocka_unit_test(test_spring_forward_gap_reached_relatively),
		cmocka_unit_test(test_spring_forward_gap_new_york),
		cmocka_unit_test(test_fall_back_takes_first_of_repeated_hour),
		cmocka_unit_test(test_repeated_hour_keeps_exact_instants),
		cmocka_unit_test(test_unknown_zone_fails),
		cmocka_unit_test(test_unknown_zone_in_expression_fails),
		cmocka_unit_test(test_zone_valid_accepts_iana_names),
		cmocka_unit_test(test_zone_valid_rejects_non_zones),
		cmocka_unit_test(
		    test_zone_valid_rejects_files_that_are_not_zones),
		cmocka_unit_test(test_day_start_on_23_hour_day),
		cmocka_unit_test(test_day_start_week_across_fall_back),
		cmocka_unit_test(test_day_start_new_york),
		cmocka_unit_test(test_day_start_utc_default),
		cmocka_unit_test(test_day_start_unknown_zone_fails),
		cmocka_unit_test(test_format_and_json),
		cmocka_unit_test(test_local_zone_follows_tz),
		cmocka_unit_test(test_duration_accepts_units),
		cmocka_unit_test(test_duration_rejects_garbage),
		cmocka_unit_test(test_hhmm),
		cmocka_unit_test(test_hours),
		cmocka_unit_test(test_workdays),
		cmocka_unit_test(test_stage_known_and_open),
		cmocka_unit_test(test_config_defaults),
#define CF(t)	cmocka_unit_test_setup_teardown(t, cfdir_setup, cfdir_teardown)
		CF(test_config_load_every_section),
		CF(test_config_load_empty_file_keeps_defaults),
		CF(test_config_load_unknown_key_names_line),
		CF(test_config_load_unknown_section),
		CF(test_config_load_bad_values),
		CF(test_config_load_refuses_keys_not_acted_on),
		CF(test_config_load_reports_first_error),
		CF(test_config_load_syntax),
		CF(test_config_load_longest_line),
		CF(test_config_load_refuses_a_directory),
		CF(test_config_load_stage_open_and_closed),
		CF(test_config_load_missing_file),
		CF(test_config_example_file_shows_defaults),
#undef CF
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests_name("when", tests, NULL, NULL);
}
