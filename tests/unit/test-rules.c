/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests of the schedule's rules (rules.c): which notices a follow-up
 * gets and when, what a daemon that was down sends, and when a rep's
 * digest falls across daylight-saving changes.  Fixed instants only.
 */

#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "followupd.h"

/* 2026-11-24T10:00:00Z, a Tuesday. */
#define DUE	((time_t)1795514400)

static struct rules_followup
fu(int callback, long lead)
{
	struct rules_followup	f;

	f.callback = callback;
	f.due_at = DUE;
	f.remind_at = DUE - lead;
	f.grace = 1800;
	return f;
}

static void
test_callback_has_reminder_due_and_missed(void **state)
{
	struct rules_followup	f = fu(1, 900);
	time_t			at;

	assert_int_equal(rules_notice_next(NOTICE_REMINDER, &f, DUE - 3600,
	    &at), NOTICE_REMINDER);
	assert_int_equal(at, DUE - 900);
	assert_int_equal(rules_notice_next(NOTICE_DUE, &f, 0, &at),
	    NOTICE_DUE);
	assert_int_equal(at, DUE);
	assert_int_equal(rules_notice_next(NOTICE_MISSED, &f, 0, &at),
	    NOTICE_MISSED);
	assert_int_equal(at, DUE + 1800);
	assert_int_equal(rules_notice_next(NOTICE_MISSED + 1, &f, 0, &at),
	    NOTICE_END);
	assert_int_equal(at, 0);
}

static void
test_plain_followup_has_no_missed_notice(void **state)
{
	struct rules_followup	f = fu(0, 900);
	time_t			at;

	assert_int_equal(rules_notice_time(NOTICE_MISSED, &f), 0);
	assert_int_equal(rules_notice_next(NOTICE_DUE + 1, &f, 0, &at),
	    NOTICE_END);
}

static void
test_lead_zero_is_one_due_notice(void **state)
{
	struct rules_followup	f = fu(1, 0);
	time_t			at;

	assert_int_equal(rules_notice_time(NOTICE_REMINDER, &f), 0);
	assert_int_equal(rules_notice_next(NOTICE_REMINDER, &f, DUE - 3600,
	    &at), NOTICE_DUE);
	assert_int_equal(at, DUE);
}

static void
test_planning_skips_a_reminder_already_past(void **state)
{
	struct rules_followup	f = fu(0, 900);
	time_t			at;

	/* Planned five minutes ahead: no reminder "ten minutes ago". */
	assert_int_equal(rules_notice_next(NOTICE_REMINDER, &f, DUE - 300,
	    &at), NOTICE_DUE);
	assert_int_equal(at, DUE);
}

static void
test_daemon_down_sends_only_the_latest_passed_notice(void **state)
{
	struct rules_followup	f = fu(1, 900);

	assert_int_equal(rules_notice_passed(NOTICE_REMINDER, &f,
	    DUE - 901), NOTICE_NONE);
	assert_int_equal(rules_notice_passed(NOTICE_REMINDER, &f,
	    DUE - 900), NOTICE_REMINDER);
	assert_int_equal(rules_notice_passed(NOTICE_REMINDER, &f, DUE + 60),
	    NOTICE_DUE);
	/* Down through reminder, due and grace: only "missed" goes out. */
	assert_int_equal(rules_notice_passed(NOTICE_REMINDER, &f,
	    DUE + 86400), NOTICE_MISSED);
	/* Already past the reminder: nothing earlier comes back. */
	assert_int_equal(rules_notice_passed(NOTICE_MISSED, &f, DUE + 60),
	    NOTICE_NONE);
}

static void
test_notice_names(void **state)
{
	assert_string_equal(rules_notice_name(NOTICE_REMINDER), "reminder");
	assert_string_equal(rules_notice_name(NOTICE_DUE), "due");
	assert_string_equal(rules_notice_name(NOTICE_MISSED), "missed");
	assert_string_equal(rules_notice_name(NOTICE_DIGEST), "digest");
	assert_string_equal(rules_notice_name(NOTICE_SUMMARY), "summary");
	assert_null(rules_notice_name(NOTICE_END));
}

static void
test_next_digest_in_the_reps_zone(void **state)
{
	/* 2026-11-23T06:00:00Z is 07:00 in Berlin: 08:00 is 07:00Z. */
	assert_int_equal(rules_next_digest(1795413600, "Europe/Berlin", 480),
	    1795417200);
	/* Just after it: tomorrow's. */
	assert_int_equal(rules_next_digest(1795417200, "Europe/Berlin", 480),
	    1795417200 + 86400);
	/* New York, 08:00 EST = 13:00Z. */
	assert_int_equal(rules_next_digest(1795413600, "America/New_York",
	    480), 1795438800);
}

static void
test_next_digest_keeps_local_time_across_dst(void **state)
{
	/*
	 * Saturday 2026-03-28T12:00:00Z: Berlin's next 08:00 is Sunday the
	 * 29th, the day clocks go forward at 02:00, so 08:00 CEST = 06:00Z,
	 * not 07:00Z.
	 */
	assert_int_equal(rules_next_digest(1774699200, "Europe/Berlin", 480),
	    1774764000);
	/* Saturday 2026-10-24T12:00:00Z: Sunday 08:00 CET = 07:00Z. */
	assert_int_equal(rules_next_digest(1792843200, "Europe/Berlin", 480),
	    1792911600);
}

/*
 * A callback agreed for 10:00 with a 15-minute tolerance and a 30-minute
 * grace, by hand: where the promise stands for each time it was done,
 * and while it is still pending.
 */
static void
test_promise_states(void **state)
{
	const time_t	due = 1795000000;	/* any instant */
	const long	tol = 15 * 60, grace = 30 * 60;
	static const struct {
		const char	*status;
		long		 offset;	/* done (or now) - due */
		const char	*state;
	} table[] = {
		{ "done", -3 * 86400,	"early" },	/* ticked off days ahead */
		{ "done", -16 * 60,	"early" },
		{ "done", -15 * 60,	"kept" },	/* the edges are kept */
		{ "done", 0,		"kept" },
		{ "done", 15 * 60,	"kept" },
		{ "done", 15 * 60 + 1,	"late" },
		{ "done", 30 * 60,	"late" },
		{ "done", 30 * 60 + 1,	"missed" },
		{ "pending", -86400,	"agreed" },
		{ "pending", 15 * 60,	"agreed" },
		{ "pending", 20 * 60,	"late" },
		{ "pending", 31 * 60,	"missed" },
		{ "cancelled", 0,	"cancelled" },
		{ "cancelled", 86400,	"cancelled" },
	};
	size_t		i;
	const char	*got;
	time_t		t;

	for (i = 0; i < sizeof table / sizeof table[0]; i++) {
		t = due + table[i].offset;
		if (strcmp(table[i].status, "done") == 0)
			got = rules_promise_state("done", due, t, t + 86400,
			    tol, grace);
		else
			got = rules_promise_state(table[i].status, due, 0, t,
			    tol, grace);
		if (strcmp(got, table[i].state) != 0)
			fail_msg("%s at %+ld s: %s, expected %s",
			    table[i].status, table[i].offset, got,
			    table[i].state);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_callback_has_reminder_due_and_missed),
		cmocka_unit_test(test_plain_followup_has_no_missed_notice),
		cmocka_unit_test(test_lead_zero_is_one_due_notice),
		cmocka_unit_test(test_planning_skips_a_reminder_already_past),
		cmocka_unit_test(
		    test_daemon_down_sends_only_the_latest_passed_notice),
		cmocka_unit_test(test_notice_names),
		cmocka_unit_test(test_next_digest_in_the_reps_zone),
		cmocka_unit_test(test_next_digest_keeps_local_time_across_dst),
		cmocka_unit_test(test_promise_states),
	};

	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
