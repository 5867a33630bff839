/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests for template.c: placeholders, literal braces, the lines that
 * go when their placeholders are empty, and what a check refuses.
 */

#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "followupd.h"

static const char *const names[] = { "contact", "time", "phone", NULL };

/* Check text and expect it refused with cause. */
static void
refused(const char *text, size_t len, const char *cause)
{
	char	*why = NULL;

	assert_int_equal(template_check(text, len, names, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, cause);
	free(why);
}

/* Check text, render it with values and expect want. */
static void
renders(const char *text, const char *const *values, const char *want)
{
	char	*why = NULL, *s;

	assert_int_equal(template_check(text, strlen(text), names, &why), 0);
	assert_null(why);
	s = template_render(text, names, values);
	assert_string_equal(s, want);
	free(s);
}

static void
test_placeholders(void **state)
{
	const char *const v[] = { "Erika", "09:00", "+49 30 1", NULL };

	(void)state;
	renders("Dear {contact}, at {time}.\n{contact}{contact}\n", v,
	    "Dear Erika, at 09:00.\nErikaErika\n");
	renders("", v, "");
	renders("no end {phone}", v, "no end +49 30 1");
}

static void
test_literal_braces(void **state)
{
	const char *const v[] = { "Erika", "09:00", NULL, NULL };

	(void)state;
	renders("{{contact}} is {contact}; }} {{{contact}}}\n", v,
	    "{contact} is Erika; } {Erika}\n");
}

static void
test_missing_values(void **state)
{
	const char *const v[] = { "Erika", "", NULL, NULL };

	(void)state;
	/* A line of only empty placeholders goes, with its end. */
	renders("a\n{phone}\n  {time}{phone} \nb\n", v, "a\nb\n");
	/* One with other text stays, the value empty. */
	renders("Tel. {phone}\n{phone}", v, "Tel. \n");
	/* A blank line without placeholders stays. */
	renders("a\n\nb", v, "a\n\nb");
}

static void
test_refusals(void **state)
{
	char	big[TEMPLATE_MAX + 2];

	(void)state;
	refused("Hello {contact}\n\nat {when}\n", 27,
	    "line 3: unknown placeholder {when}");
	refused("{}", 2, "line 1: unknown placeholder {}");
	refused("a\n{contact\n}", 12, "line 2: \"{\" is not closed on its "
	    "line; write \"{{\" for a brace");
	refused("a }", 3, "line 1: a lone \"}\"; write \"}}\" for a brace");
	refused("ok\nGr\xfc\xdf" "e\n", 9, "line 2: not UTF-8 text");
	refused("a\0b", 3, "line 1: not UTF-8 text");
	memset(big, 'x', sizeof big);
	refused(big, TEMPLATE_MAX + 1, "longer than 65536 bytes");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_literal_braces),
		cmocka_unit_test(test_missing_values),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
