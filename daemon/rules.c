/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The rules of the schedule as pure functions of their inputs (never the
 * clock): which notices a follow-up gets and when.  A follow-up passes
 * through stages: the reminder ahead (when its lead is not zero), the due
 * notice, and for a callback the missed notice a grace period after.
 */

#include <config.h>

#include <string.h>

#include "followupd.h"

/* When stage falls for this follow-up, or 0 if it does not apply. */
time_t
rules_notice_time(int stage, const struct rules_followup *f)
{
	switch (stage) {
	case NOTICE_REMINDER:
		return f->remind_at < f->due_at ? f->remind_at : 0;
	case NOTICE_DUE:
		return f->due_at;
	case NOTICE_MISSED:
		return f->callback ? f->due_at + f->grace : 0;
	default:
		return 0;
	}
}

/*
 * The first stage from stage on that falls at or after since; set *at to
 * its time.  Return NOTICE_END (and *at = 0) when none is left.
 */
int
rules_notice_next(int stage, const struct rules_followup *f, time_t since,
    time_t *at)
{
	time_t	t;

	for (; stage < NOTICE_END; stage++) {
		if (stage == NOTICE_NONE)
			continue;
		t = rules_notice_time(stage, f);
		if (t != 0 && t >= since) {
			*at = t;
			return stage;
		}
	}
	*at = 0;
	return NOTICE_END;
}

/*
 * The latest stage from stage on that has fallen by now (a daemon that was
 * down sends only the most advanced notice it missed), or NOTICE_NONE.
 */
int
rules_notice_passed(int stage, const struct rules_followup *f, time_t now)
{
	int	passed = NOTICE_NONE;
	time_t	t;

	for (; stage < NOTICE_END; stage++) {
		if (stage == NOTICE_NONE)
			continue;
		t = rules_notice_time(stage, f);
		if (t != 0 && t <= now)
			passed = stage;
	}
	return passed;
}

/* The wire name of a notice stage. */
const char *
rules_notice_name(int stage)
{
#define RULES_NOTICE_STR(e, s)	s,
	static const char *const names[] = {
		FU_NOTICE_KINDS(RULES_NOTICE_STR)
	};
#undef RULES_NOTICE_STR

	switch (stage) {
	case NOTICE_REMINDER:
		return names[0];
	case NOTICE_DUE:
		return names[1];
	case NOTICE_MISSED:
		return names[2];
	case NOTICE_DIGEST:
		return names[3];
	case NOTICE_SUMMARY:
		return names[4];
	default:
		return NULL;
	}
}

/*
 * The next digest instant after now for a rep whose digest is at minute
 * (after local midnight) in zone.  Days are local calendar days.  Return
 * 0 if the zone cannot be used.
 */
time_t
rules_next_digest(time_t now, const char *zone, int minute)
{
	time_t	day, t;
	int	i;

	for (i = 0; i < 3; i++) {
		if (when_day_start(now, zone, i, &day) != 0)
			return 0;
		/* The digest time as local wall clock on that day. */
		t = when_local_on_day(day, zone, minute);
		if (t > now)
			return t;
	}
	return 0;
}

/*
 * Where a callback's promise stands: "cancelled"; done within tolerance
 * either side of its time "kept", earlier than that "early" (the
 * prospect was not called when agreed), later but within the missed
 * grace "late", later still "missed"; while pending, "agreed" until
 * tolerance after its time, then "late", and "missed" once the grace has
 * passed.
 */
const char *
rules_promise_state(const char *status, time_t due, time_t done_at,
    time_t now, long tolerance, long grace)
{
	time_t	t;
	int	done = strcmp(status, "done") == 0;

	if (strcmp(status, "cancelled") == 0)
		return "cancelled";
	t = done ? done_at : now;
	if (t > due + grace)
		return "missed";
	if (t > due + tolerance)
		return "late";
	if (!done)
		return "agreed";
	return t < due - tolerance ? "early" : "kept";
}

/*
 * When a follow-up due at due counts as missed: a callback missed_grace
 * after its agreed time, any other at the end of its due day in zone
 * (the rep's).
 */
time_t
rules_followup_deadline(int callback, time_t due, const char *zone,
    long grace)
{
	time_t	end;

	if (callback)
		return due + grace;
	if (when_day_start(due, zone, 1, &end) != 0)
		end = due + 86400;
	return end;
}
