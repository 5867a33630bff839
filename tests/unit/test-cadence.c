/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests of the sales method's arithmetic (cadence.c) against tables
 * worked out by hand: working hours, the voicemail rhythm (Mon/Wed/Fri,
 * then Mon/Fri), weeks that start mid-week, a full week, a Friday-evening
 * no-answer, a contact in America/New_York called from Europe/Berlin, and
 * the March and October daylight-saving weekends of both zones.  Times
 * are written as local wall clocks; fixed instants only, never the clock.
 */

#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "followupd.h"

static const struct cadence_hours office = { 0x3e, 9 * 60, 17 * 60 };

/* "2026-03-06 10:00" in zone, through the code under test's own rules. */
static time_t
at(const char *zone, const char *wall)
{
	struct cadence_day	d;
	int			y, mo, da, h, mi;

	assert_int_equal(sscanf(wall, "%d-%d-%d %d:%d", &y, &mo, &da, &h,
	    &mi), 5);
	memset(&d, 0, sizeof d);
	d.year = y;
	d.month = mo;
	d.mday = da;
	/* Day numbers from a known anchor: 2026-01-01 is day 20454. */
	{
		struct tm	tm;
		time_t		t;

		memset(&tm, 0, sizeof tm);
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = da;
		t = timegm(&tm);
		d.daynum = (long)(t / 86400);
	}
	return cadence_instant(&d, 0, h * 60 + mi, zone);
}

/* t as "Mon 2026-03-09 10:00" in zone. */
static const char *
show(time_t t, const char *zone)
{
	static char		buf[64];
	static const char	*days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	struct cadence_day	d;

	if (t == 0)
		return "none";
	assert_int_equal(cadence_local(t, zone, &d), 0);
	snprintf(buf, sizeof buf, "%s %04d-%02d-%02d %02d:%02d", days[d.wday],
	    d.year, d.month, d.mday, d.minute / 60, d.minute % 60);
	return buf;
}

static void
test_instants_across_dst(void **state)
{
	(void)state;
	/* Ordinary days. */
	assert_int_equal(at("UTC", "2026-11-24 10:00"), 1795514400);
	assert_int_equal(at("Europe/Berlin", "2026-11-24 10:00"),
	    1795514400 - 3600);
	/* Berlin springs forward 02:00 -> 03:00 on 2026-03-29: 02:30 does
	 * not exist and means 03:00 CEST, 01:00Z. */
	assert_int_equal(at("Europe/Berlin", "2026-03-29 02:30"), 1774746000);
	assert_string_equal(show(at("Europe/Berlin", "2026-03-29 02:30"),
	    "Europe/Berlin"), "Sun 2026-03-29 03:00");
	/* Berlin falls back 03:00 -> 02:00 on 2026-10-25: 02:30 happens
	 * twice and means the first, 00:30Z. */
	assert_int_equal(at("Europe/Berlin", "2026-10-25 02:30"), 1792888200);
	/* New York springs forward on 2026-03-08: 02:30 means 03:00 EDT. */
	assert_string_equal(show(at("America/New_York", "2026-03-08 02:30"),
	    "America/New_York"), "Sun 2026-03-08 03:00");
	assert_int_equal(at("America/New_York", "2026-03-08 02:30"),
	    1772953200);
	/* New York falls back on 2026-11-01: 01:30 means 01:30 EDT. */
	assert_int_equal(at("America/New_York", "2026-11-01 01:30"),
	    1793511000);
}

static void
test_fit_into_working_hours(void **state)
{
	const char	*z = "Europe/Berlin";

	(void)state;
	assert_string_equal(show(cadence_fit(at(z, "2026-11-24 12:00"), z,
	    &office), z), "Tue 2026-11-24 12:00");
	assert_string_equal(show(cadence_fit(at(z, "2026-11-24 07:30"), z,
	    &office), z), "Tue 2026-11-24 09:00");
	assert_string_equal(show(cadence_fit(at(z, "2026-11-24 17:00"), z,
	    &office), z), "Wed 2026-11-25 09:00");
	assert_string_equal(show(cadence_fit(at(z, "2026-11-27 18:30"), z,
	    &office), z), "Mon 2026-11-30 09:00");
	assert_string_equal(show(cadence_fit(at(z, "2026-11-28 10:00"), z,
	    &office), z), "Mon 2026-11-30 09:00");
	/* 3 a.m. their time is never an automatic time. */
	assert_string_equal(show(cadence_fit(at(z, "2026-11-25 03:00"), z,
	    &office), z), "Wed 2026-11-25 09:00");
}

static void
test_working_days_later(void **state)
{
	const char	*z = "Europe/Berlin";

	(void)state;
	/* Info sent Thursday 14:00, two working days later: Monday. */
	assert_string_equal(show(cadence_workdays_later(at(z,
	    "2026-11-26 14:00"), z, &office, 2), z), "Mon 2026-11-30 14:00");
	/* Sent Friday evening: Tuesday at the start of the day. */
	assert_string_equal(show(cadence_workdays_later(at(z,
	    "2026-11-27 18:30"), z, &office, 2), z), "Tue 2026-12-01 09:00");
	/* Sent on a Saturday: Monday is the first working day after. */
	assert_string_equal(show(cadence_workdays_later(at(z,
	    "2026-11-28 11:00"), z, &office, 1), z), "Mon 2026-11-30 11:00");
	/* Across the October change: still 10:00 their time. */
	assert_string_equal(show(cadence_workdays_later(at(z,
	    "2026-10-23 10:00"), z, &office, 1), z), "Mon 2026-10-26 10:00");
}

static void
test_rhythm_days(void **state)
{
	const unsigned int	mon = 1 << 1, tue = 1 << 2, wed = 1 << 3,
				thu = 1 << 4, fri = 1 << 5;
	struct cadence_hours	monthu = { 0x1e, 540, 1020 };

	(void)state;
	assert_int_equal(cadence_rhythm(&office, 3, 0), mon | wed | fri);
	assert_int_equal(cadence_rhythm(&office, 3, 1), mon | fri);
	assert_int_equal(cadence_rhythm(&office, 3, 2), mon | wed | fri);
	assert_int_equal(cadence_rhythm(&office, 2, 0), mon | fri);
	assert_int_equal(cadence_rhythm(&office, 2, 1), mon);
	assert_int_equal(cadence_rhythm(&office, 1, 1), mon);
	assert_int_equal(cadence_rhythm(&office, 5, 0),
	    mon | tue | wed | thu | fri);
	assert_int_equal(cadence_rhythm(&monthu, 3, 0), mon | wed | thu);
	(void)tue;
}

/* Run a series: each attempt is logged when the previous one fell due. */
static void
series(const char *zone, const struct cadence_hours *h, int perweek,
    const char *first, int voicemail, const char *const *expect)
{
	struct cadence_attempt	a[32] = { { 0 } };
	const char		*why;
	size_t			n = 0;
	time_t			next;

	a[n].at = at(zone, first);
	a[n++].voicemail = voicemail;
	for (; *expect != NULL; expect++) {
		next = cadence_next_attempt(a, n, 0, 0, zone, h, perweek, &why);
		assert_string_equal(show(next, zone), *expect);
		assert_non_null(why);
		a[n].at = next;
		a[n++].voicemail = voicemail;
	}
}

static void
test_voicemail_rhythm_from_a_monday(void **state)
{
	static const char *const expect[] = {
		"Wed 2026-11-04 10:00", "Fri 2026-11-06 10:00",
		"Mon 2026-11-09 10:00", "Fri 2026-11-13 10:00",
		"Mon 2026-11-16 10:00", "Wed 2026-11-18 10:00", NULL
	};

	(void)state;
	series("Europe/Berlin", &office, 3, "2026-11-02 10:00", 1, expect);
}

static void
test_voicemail_rhythm_from_mid_week(void **state)
{
	static const char *const expect[] = {
		"Fri 2026-11-06 11:00",		/* Thursday's week: Mon/Wed/Fri */
		"Mon 2026-11-09 11:00",		/* then Mon/Fri */
		"Fri 2026-11-13 11:00",
		"Mon 2026-11-16 11:00",		/* and back */
		"Wed 2026-11-18 11:00", NULL
	};

	(void)state;
	series("Europe/Berlin", &office, 3, "2026-11-05 11:00", 1, expect);
}

static void
test_full_week_moves_to_next_week(void **state)
{
	struct cadence_attempt	a[3] = { { 0 } };
	const char		*why, *z = "Europe/Berlin";
	time_t			next;

	(void)state;
	/* Three voicemails left by hand Monday to Wednesday. */
	a[0].at = at(z, "2026-11-02 10:00");
	a[1].at = at(z, "2026-11-03 10:00");
	a[2].at = at(z, "2026-11-04 15:00");
	a[0].voicemail = a[1].voicemail = a[2].voicemail = 1;
	assert_int_equal(cadence_voicemails_in_week(a, 3,
	    (at(z, "2026-11-02 10:00") / 86400 + 3) / 7, z), 3);
	next = cadence_next_attempt(a, 3, 0, 0, z, &office, 3, &why);
	assert_string_equal(show(next, z), "Mon 2026-11-09 15:00");
	assert_string_equal(why, "this week already holds the voicemail "
	    "limit");
	/* No-answers leave no message: the week is not full. */
	a[0].voicemail = a[1].voicemail = a[2].voicemail = 0;
	next = cadence_next_attempt(a, 3, 0, 0, z, &office, 3, &why);
	assert_string_equal(show(next, z), "Fri 2026-11-06 15:00");
}

/*
 * Voicemails Monday and Tuesday, the prospect reached on Wednesday, a
 * voicemail on Thursday: the rhythm starts again with Thursday, but the
 * week already holds three voicemails, so Friday is out.
 */
static void
test_the_limit_counts_voicemails_before_a_contact(void **state)
{
	struct cadence_attempt	a[3] = { { 0 } };
	const char		*why, *z = "Europe/Berlin";
	time_t			next;

	(void)state;
	a[0].at = at(z, "2026-11-02 10:00");
	a[1].at = at(z, "2026-11-03 10:00");
	a[2].at = at(z, "2026-11-05 11:00");
	a[0].voicemail = a[1].voicemail = a[2].voicemail = 1;
	next = cadence_next_attempt(a, 3, 2, 0, z, &office, 3, &why);
	/* The series' second week: Mon/Fri. */
	assert_string_equal(show(next, z), "Mon 2026-11-09 11:00");
	assert_string_equal(why, "this week already holds the voicemail "
	    "limit");
	/* Counting only the series would have said Friday. */
	next = cadence_next_attempt(a + 2, 1, 0, 0, z, &office, 3, &why);
	assert_string_equal(show(next, z), "Fri 2026-11-06 11:00");
}

/*
 * Monday's voicemail logged on Thursday at noon: Wednesday has gone,
 * Thursday is not a day of the rhythm, so Friday; logged on Friday
 * evening, the next week's Monday.
 */
static void
test_an_attempt_logged_late_plans_from_now_on_a_rhythm_day(void **state)
{
	struct cadence_attempt	a[1] = { { 0 } };
	const char		*why, *z = "Europe/Berlin";
	time_t			next;

	(void)state;
	a[0].at = at(z, "2026-11-02 10:00");
	a[0].voicemail = 1;
	next = cadence_next_attempt(a, 1, 0, at(z, "2026-11-05 12:00"), z,
	    &office, 3, &why);
	assert_string_equal(show(next, z), "Fri 2026-11-06 10:00");
	next = cadence_next_attempt(a, 1, 0, at(z, "2026-11-06 18:00"), z,
	    &office, 3, &why);
	assert_string_equal(show(next, z), "Mon 2026-11-09 10:00");
	/* Friday morning, before 10:00: Friday 10:00 still stands. */
	next = cadence_next_attempt(a, 1, 0, at(z, "2026-11-06 08:00"), z,
	    &office, 3, &why);
	assert_string_equal(show(next, z), "Fri 2026-11-06 10:00");
}

static void
test_friday_evening_no_answer(void **state)
{
	static const char *const expect[] = {
		"Mon 2026-11-09 09:00", "Fri 2026-11-13 09:00", NULL
	};

	(void)state;
	series("Europe/Berlin", &office, 3, "2026-11-06 18:30", 0, expect);
}

static void
test_new_york_contact_berlin_rep(void **state)
{
	struct cadence_attempt	a[1] = { { 0 } };
	const char		*why, *ny = "America/New_York";
	time_t			next;

	(void)state;
	/* Friday 10:00 in New York before the US change (15:00 Berlin). */
	a[0].at = at(ny, "2026-03-06 10:00");
	a[0].voicemail = 1;
	assert_string_equal(show(a[0].at, "Europe/Berlin"),
	    "Fri 2026-03-06 16:00");
	next = cadence_next_attempt(a, 1, 0, 0, ny, &office, 3, &why);
	/* Monday 10:00 their time, after their change but before Europe's:
	 * 15:00 for the rep in Berlin, not 16:00. */
	assert_string_equal(show(next, ny), "Mon 2026-03-09 10:00");
	assert_string_equal(show(next, "Europe/Berlin"),
	    "Mon 2026-03-09 15:00");
	assert_int_equal(next, 1773064800);
	/* Reached at 16:30 Berlin (10:30 New York) on Wednesday after the
	 * European change: the office hours are theirs. */
	assert_string_equal(show(cadence_fit(at("Europe/Berlin",
	    "2026-04-01 14:00"), ny, &office), ny), "Wed 2026-04-01 09:00");
}

static void
test_dst_weekends_keep_local_time(void **state)
{
	struct cadence_attempt	a[1] = { { 0 } };
	const char		*why;
	time_t			next;

	(void)state;
	/* Berlin, March: Fri 10:00 CET (09:00Z) -> Mon 10:00 CEST (08:00Z). */
	a[0].at = at("Europe/Berlin", "2026-03-27 10:00");
	a[0].voicemail = 1;
	assert_int_equal(a[0].at, 1774602000);
	next = cadence_next_attempt(a, 1, 0, 0, "Europe/Berlin", &office, 3,
	    &why);
	assert_int_equal(next, 1774857600);
	/* Berlin, October: Fri 10:00 CEST (08:00Z) -> Mon 10:00 CET
	 * (09:00Z). */
	a[0].at = at("Europe/Berlin", "2026-10-23 10:00");
	assert_int_equal(a[0].at, 1792742400);
	next = cadence_next_attempt(a, 1, 0, 0, "Europe/Berlin", &office, 3,
	    &why);
	assert_int_equal(next, 1793005200);
	/* New York, March: Fri 10:00 EST (15:00Z) -> Mon 10:00 EDT
	 * (14:00Z). */
	a[0].at = at("America/New_York", "2026-03-06 10:00");
	assert_int_equal(a[0].at, 1772809200);
	next = cadence_next_attempt(a, 1, 0, 0, "America/New_York", &office, 3,
	    &why);
	assert_int_equal(next, 1773064800);
	/* New York, November: Fri 10:00 EDT (14:00Z) -> Mon 10:00 EST
	 * (15:00Z). */
	a[0].at = at("America/New_York", "2026-10-30 10:00");
	assert_int_equal(a[0].at, 1793368800);
	next = cadence_next_attempt(a, 1, 0, 0, "America/New_York", &office, 3,
	    &why);
	assert_int_equal(next, 1793631600);
}

static void
test_old_attempts_start_a_new_series(void **state)
{
	struct cadence_attempt	a[2] = { { 0 } };
	const char		*why, *z = "Europe/Berlin";

	(void)state;
	/* A Monday attempt a month ago, then one this Friday: the new
	 * series' first week allows Mon/Wed/Fri, so next is Monday, and the
	 * week after (its second) only Mon/Fri. */
	a[0].at = at(z, "2026-10-05 10:00");
	a[1].at = at(z, "2026-11-06 10:00");
	a[0].voicemail = a[1].voicemail = 1;
	assert_string_equal(show(cadence_next_attempt(a, 2, 0, 0, z, &office, 3,
	    &why), z), "Mon 2026-11-09 10:00");
}

/*
 * Voicemails Mon/Wed/Fri, then Mon/Fri the week after: the attempt after
 * that second week (not the one inside it) leaves a message with the
 * operator or an assistant.  A message left with someone starts the
 * count again.
 */
static void
test_two_weeks_of_voicemails_suggest_the_operator(void **state)
{
	static const char *const days[] = { "2026-11-02 10:00",
	    "2026-11-04 10:00", "2026-11-06 10:00", "2026-11-09 10:00",
	    "2026-11-13 10:00" };
	struct cadence_attempt	 a[6] = { { 0 } };
	const char		*why, *z = "Europe/Berlin";
	time_t			 next;
	size_t			 i;

	(void)state;
	for (i = 0; i < 5; i++) {
		a[i].at = at(z, days[i]);
		a[i].voicemail = 1;
	}
	/* After the first week, and inside the second: not yet. */
	next = cadence_next_attempt(a, 3, 0, 0, z, &office, 3, &why);
	assert_string_equal(show(next, z), "Mon 2026-11-09 10:00");
	assert_int_equal(cadence_suggest_operator(a, 3, 0, next, z), 0);
	next = cadence_next_attempt(a, 4, 0, 0, z, &office, 3, &why);
	assert_string_equal(show(next, z), "Fri 2026-11-13 10:00");
	assert_int_equal(cadence_suggest_operator(a, 4, 0, next, z), 0);
	/* After the second week: yes, in the contact's own weeks. */
	next = cadence_next_attempt(a, 5, 0, 0, z, &office, 3, &why);
	assert_string_equal(show(next, z), "Mon 2026-11-16 10:00");
	assert_int_equal(cadence_suggest_operator(a, 5, 0, next, z), 1);
	/* Since the prospect was last reached, only one week: no. */
	assert_int_equal(cadence_suggest_operator(a, 5, 3, next, z), 0);
	/* A message left on Wednesday of the second week: not again yet. */
	a[5] = a[4];
	a[4].at = at(z, "2026-11-11 10:00");
	a[4].voicemail = 0;
	a[4].message = 1;
	assert_int_equal(cadence_suggest_operator(a, 6, 0, next, z), 0);
}

/*
 * Messages left with someone are no voicemails: three in a week leave
 * room for more voicemails, and the rhythm goes on to Friday.
 */
static void
test_messages_are_not_voicemails(void **state)
{
	struct cadence_attempt	 a[3] = { { 0 } };
	struct cadence_day	 d;
	const char		*why, *z = "Europe/Berlin";
	time_t			 next;

	(void)state;
	a[0].at = at(z, "2026-11-02 10:00");
	a[1].at = at(z, "2026-11-03 10:00");
	a[2].at = at(z, "2026-11-04 10:00");
	a[0].message = a[1].message = a[2].message = 1;
	assert_int_equal(cadence_local(a[0].at, z, &d), 0);
	assert_int_equal(cadence_voicemails_in_week(a, 3, d.week, z), 0);
	next = cadence_next_attempt(a, 3, 0, 0, z, &office, 3, &why);
	assert_string_equal(show(next, z), "Fri 2026-11-06 10:00");
	assert_string_equal(why, "the next day of the voicemail rhythm");
}

static void
test_no_working_days_gives_nothing(void **state)
{
	struct cadence_hours	none = { 0, 540, 1020 };
	struct cadence_attempt	a[1] = { { 0 } };
	const char		*why;

	(void)state;
	a[0].at = 1795514400;
	a[0].voicemail = 1;
	assert_int_equal(cadence_next_attempt(a, 1, 0, 0, "UTC", &none, 3, &why),
	    0);
	assert_int_equal(cadence_fit(1795514400, "UTC", &none), 0);
	assert_int_equal(cadence_workdays_later(1795514400, "UTC", &none, 2),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instants_across_dst),
		cmocka_unit_test(test_fit_into_working_hours),
		cmocka_unit_test(test_working_days_later),
		cmocka_unit_test(test_rhythm_days),
		cmocka_unit_test(test_voicemail_rhythm_from_a_monday),
		cmocka_unit_test(test_voicemail_rhythm_from_mid_week),
		cmocka_unit_test(test_full_week_moves_to_next_week),
		cmocka_unit_test(
		    test_the_limit_counts_voicemails_before_a_contact),
		cmocka_unit_test(
		    test_an_attempt_logged_late_plans_from_now_on_a_rhythm_day),
		cmocka_unit_test(test_friday_evening_no_answer),
		cmocka_unit_test(test_new_york_contact_berlin_rep),
		cmocka_unit_test(test_dst_weekends_keep_local_time),
		cmocka_unit_test(test_old_attempts_start_a_new_series),
		cmocka_unit_test(test_no_working_days_gives_nothing),
		cmocka_unit_test(test_two_weeks_of_voicemails_suggest_the_operator),
		cmocka_unit_test(test_messages_are_not_voicemails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
