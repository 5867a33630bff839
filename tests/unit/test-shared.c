/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests of the helpers in include/followup/ that the daemon, the
 * client and followup-mail share: the protocol's time syntax and the
 * relative wording of a time ("in 2 h", "overdue 3 d", "3 d ago") and
 * the lookup in the protocol's word lists.
 * Every instant is fixed; nothing reads the clock.
 */

#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "followup/protocol.h"
#include "followup/timefmt.h"

/* 2026-11-24T10:00:00Z. */
#define TUE_TEN		((time_t)1795514400)

static void
test_parse_valid(void **state)
{
	(void)state;
	assert_int_equal(fu_time_parse("2026-11-24T10:00:00Z"), TUE_TEN);
	assert_int_equal(fu_time_parse("2026-11-24T10:00:59Z"), TUE_TEN + 59);
	assert_int_equal(fu_time_parse("2000-01-01T00:00:00Z"), 946684800);
	assert_int_equal(fu_time_parse("2038-01-19T03:14:08Z"),
	    (time_t)2147483648LL);
}

static void
test_parse_leap_day_and_second(void **state)
{
	(void)state;
	assert_int_equal(fu_time_parse("2024-02-29T12:00:00Z"), 1709208000);
	assert_int_equal(fu_time_parse("2024-03-01T00:00:00Z") -
	    fu_time_parse("2024-02-28T00:00:00Z"), 2 * 86400);
	/* time_t has no leap seconds: :60 is the next minute's :00. */
	assert_int_equal(fu_time_parse("2016-12-31T23:59:60Z"),
	    fu_time_parse("2017-01-01T00:00:00Z"));
}

/* The protocol writes whole seconds in UTC with "Z"; nothing else is one. */
static void
test_parse_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"2026-11-24",
		"2026-11-24T10:00Z",
		"2026-11-24T10:00:00",
		"2026-11-24 10:00:00Z",
		"2026-11-24T10:00:00.5Z",
		"2026-11-24T10:00:00.000Z",
		"2026-11-24T10:00:00+01:00",
		"2026-11-24T10:00:00+00:00",
		"2026-11-24T10:00:00z",
		"2026-11-24T10:00:00Z ",
		"2026-11-24T10:00:00Zjunk",
		"2026-13-01T00:00:00Z",
		"2026-11-32T00:00:00Z",
		"2026-11-24T24:00:00Z",
		"2026-11-24T10:60:00Z",
		"2026-11-24T10:00:62Z",
		"tomorrow",
		NULL
	};
	size_t	i;

	(void)state;
	assert_int_equal(fu_time_parse(NULL), 0);
	for (i = 0; bad[i] != NULL; i++) {
		if (fu_time_parse(bad[i]) != 0)
			fail_msg("\"%s\" was read as a time", bad[i]);
	}
}

/* Both wordings, at each unit's edges. */
static void
test_relative(void **state)
{
	static const struct {
		long long	 d;
		const char	*overdue, *ago;
	} cases[] = {
		{ 0, "now", "now" },
		{ 59, "now", "now" },
		{ -59, "now", "now" },
		{ 60, "in 1 min", "in 1 min" },
		{ -60, "overdue 1 min", "1 min ago" },
		{ 15 * 60, "in 15 min", "in 15 min" },
		{ -(25 * 60 + 59), "overdue 25 min", "25 min ago" },
		{ 3599, "in 59 min", "in 59 min" },
		{ 3600, "in 1 h", "in 1 h" },
		{ 5399, "in 1 h", "in 1 h" },
		{ 5400, "in 2 h", "in 2 h" },
		{ -2 * 3600, "overdue 2 h", "2 h ago" },
		{ 2 * 86400 - 1, "in 48 h", "in 48 h" },
		{ 2 * 86400, "in 2 d", "in 2 d" },
		{ -(3 * 86400 + 43199), "overdue 3 d", "3 d ago" },
		{ -(3 * 86400 + 43200), "overdue 4 d", "4 d ago" },
	};
	char	buf[64];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fu_time_relative(TUE_TEN + cases[i].d, TUE_TEN,
		    FU_TIME_OVERDUE, buf, sizeof buf);
		assert_string_equal(buf, cases[i].overdue);
		fu_time_relative(TUE_TEN + cases[i].d, TUE_TEN, FU_TIME_AGO,
		    buf, sizeof buf);
		assert_string_equal(buf, cases[i].ago);
	}
}

/* Whole words only, case and all, as the protocol spells them. */
static void
test_word_in(void **state)
{
#define WORD(e, s)	s,
	static const char *const outcomes[] = { FU_OUTCOMES(WORD) NULL };
	static const char *const formats[] = { FU_EXPORT_FORMATS(WORD) NULL };
#undef WORD
	static const char *const none[] = { NULL };

	(void)state;
	assert_true(fu_word_in(outcomes, "reached"));
	assert_true(fu_word_in(outcomes, "other"));
	assert_true(fu_word_in(outcomes, "no-answer"));
	assert_false(fu_word_in(outcomes, "Reached"));
	assert_false(fu_word_in(outcomes, "reach"));
	assert_false(fu_word_in(outcomes, "reached "));
	assert_false(fu_word_in(outcomes, ""));
	assert_true(fu_word_in(formats, "ics"));
	assert_false(fu_word_in(formats, "contacts"));
	assert_false(fu_word_in(none, "ics"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_leap_day_and_second),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_word_in),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
