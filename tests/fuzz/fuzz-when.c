/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * libFuzzer target: date expressions (when_parse) and the local-day
 * helpers on what it accepts.  The first byte picks the zone the
 * expression is read in and the fixed "now" it is read at (near a
 * daylight-saving change or not), so a crash reproduces from its input
 * alone; the rest is the expression.
 *
 * Beyond not crashing, an accepted time must be one replies can carry:
 * RFC 3339 with a four-digit year, after 1970.
 */

#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "followupd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fz_zones[] = {
	"UTC",
	"Europe/Berlin",
	"America/New_York",
	"Australia/Lord_Howe",	/* half-hour daylight saving */
	"Asia/Kolkata",		/* half-hour offset, no daylight saving */
	"Pacific/Chatham",	/* +12:45 */
	"America/St_Johns",	/* -03:30 */
	"Pacific/Kiritimati",	/* +14 */
};

static const time_t fz_nows[] = {
	1795780800,	/* 2026-11-22 12:00 UTC, a Sunday */
	1774746000,	/* 2026-03-29 01:00 UTC, Europe's spring change */
	1793494800,	/* 2026-10-25 01:00 UTC, Europe's autumn change */
	1,		/* the first second replies can carry */
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*zone;
	char		*expr, *note, *cause, buf[64], day[64];
	time_t		 now, t, start;
	json_t		*j;
	int		 days, minute;

	if (size < 1 || size > 1024)
		return -1;
	zone = fz_zones[data[0] % (sizeof fz_zones / sizeof fz_zones[0])];
	now = fz_nows[(data[0] >> 3) % (sizeof fz_nows / sizeof fz_nows[0])];
	days = (int)(data[0] >> 5) - 3;
	minute = (data[0] * 7) % 1440;
	expr = xstrndup((const char *)data + 1, size - 1);

	if (when_parse(expr, zone, now, &t, &note, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		free(expr);
		return 0;
	}
	free(note);

	/* Replies carry it as RFC 3339: exactly 20 characters. */
	memset(buf, 0, sizeof buf);
	when_format(t, buf, sizeof buf);
	if (strlen(buf) != 20 || t < 1) {
		fprintf(stderr, "when_parse(\"%s\", %s) accepted %lld (\"%s\")\n",
		    expr, zone, (long long)t, buf);
		abort();
	}
	if ((j = when_json(t)) == NULL)
		abort();
	json_decref(j);

	/* The local-day helpers on the accepted instant. */
	if (when_day_start(t, zone, days, &start) == 0) {
		when_local_date(start, zone, day, sizeof day);
		(void)when_local_on_day(start, zone, minute);
	}
	when_local_date(t, zone, day, sizeof day);
	free(expr);
	return 0;
}
