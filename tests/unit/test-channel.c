/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests of the channel seam (channel.c) and the events registry
 * (events.c): which delivery rows a notice gets and which channel a row
 * belongs to, and that events reach only their topic's and their rep's
 * subscribers.  No store, no loop.
 */

#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "outbox-internal.h"

static void
test_a_rep_notice_gets_the_journal_then_one_row_per_hook(void **state)
{
	struct fu_config	 cf;
	static char		 a[] = "/bin/mail-a", b[] = "/bin/mail-b --x";
	char			**rows;
	int			 n;

	memset(&cf, 0, sizeof cf);
	rows = channel_rows(&cf, "due", CHANNEL_TO_REP, &n);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0], "journal");
	channel_rows_free(rows, n);

	cf.hooks[0] = a;
	cf.hooks[1] = b;
	cf.nhooks = 2;
	rows = channel_rows(&cf, "digest", CHANNEL_TO_REP, &n);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0], "journal");
	assert_string_equal(rows[1], "hook:/bin/mail-a");
	assert_string_equal(rows[2], "hook:/bin/mail-b --x");
	channel_rows_free(rows, n);
}

static void
test_no_channel_takes_a_notice_to_a_contact_yet(void **state)
{
	struct fu_config	 cf;
	static char		 mail[] = "/bin/mail";
	char			**rows;
	int			 n;

	memset(&cf, 0, sizeof cf);
	cf.hooks[0] = mail;
	cf.nhooks = 1;
	rows = channel_rows(&cf, "due", CHANNEL_TO_CONTACT, &n);
	assert_int_equal(n, 0);
	channel_rows_free(rows, n);
}

static void
test_each_row_belongs_to_one_stored_channel(void **state)
{
	struct fu_config	 cf;
	static char		 mail[] = "/bin/mail";
	const struct channel	*ch;

	memset(&cf, 0, sizeof cf);
	cf.hooks[0] = mail;
	cf.nhooks = 1;
	assert_non_null(ch = channel_find("journal"));
	assert_string_equal(ch->name, "journal");
	assert_null(ch->gone(&cf, "journal"));
	assert_non_null(ch = channel_find("hook:/bin/mail"));
	assert_string_equal(ch->name, "hook");
	assert_null(ch->gone(&cf, "hook:/bin/mail"));
	assert_non_null(ch->gone(&cf, "hook:/bin/other"));
	/* The watch channel keeps no rows: nothing is ever its row. */
	assert_null(channel_find("watch"));
	assert_null(channel_find("fax:123"));
}

struct seen {
	int	n;
	char	last[32];
};

static void
seen_cb(const char *owner, const char *kind, json_t *data, void *arg)
{
	struct seen	*s = arg;

	s->n++;
	snprintf(s->last, sizeof s->last, "%s", kind);
}

static void
test_events_reach_their_topic_and_their_rep_only(void **state)
{
	struct seen		 all, ana, conns;
	struct events_sub	*a, *b, *c;

	memset(&all, 0, sizeof all);
	memset(&ana, 0, sizeof ana);
	memset(&conns, 0, sizeof conns);
	a = events_subscribe(EVENTS_NOTICE, NULL, seen_cb, &all);
	b = events_subscribe(EVENTS_NOTICE, "ana", seen_cb, &ana);
	c = events_subscribe(EVENTS_CONNECTION, NULL, seen_cb, &conns);
	assert_int_equal(events_count(EVENTS_NOTICE, NULL), 2);
	assert_int_equal(events_count(EVENTS_NOTICE, "ana"), 1);
	assert_int_equal(events_count(EVENTS_NOTICE, "ben"), 0);

	events_publish(EVENTS_NOTICE, "ben", "due", NULL);
	assert_int_equal(all.n, 1);
	assert_int_equal(ana.n, 0);
	events_publish(EVENTS_NOTICE, "ana", "missed", NULL);
	assert_int_equal(all.n, 2);
	assert_int_equal(ana.n, 1);
	assert_string_equal(ana.last, "missed");
	assert_int_equal(conns.n, 0);
	events_publish(EVENTS_CONNECTION, "ana", "open", NULL);
	assert_int_equal(conns.n, 1);
	assert_int_equal(all.n, 2);

	events_unsubscribe(a);
	events_unsubscribe(b);
	events_unsubscribe(c);
	assert_int_equal(events_count(EVENTS_NOTICE, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(
		    test_a_rep_notice_gets_the_journal_then_one_row_per_hook),
		cmocka_unit_test(
		    test_no_channel_takes_a_notice_to_a_contact_yet),
		cmocka_unit_test(test_each_row_belongs_to_one_stored_channel),
		cmocka_unit_test(
		    test_events_reach_their_topic_and_their_rep_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
