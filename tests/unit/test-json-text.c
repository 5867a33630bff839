/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests of a reply's text (json-text.c): for every kind of value,
 * every character a string may hold, and thousands of random trees, the
 * text is byte for byte what Jansson's json_dumps writes with
 * JSON_COMPACT, and a reply past its cap is refused.
 */

#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "followupd.h"

/* v's text both ways; they must be the same bytes. */
static void
same_as_jansson(json_t *v)
{
	struct evbuffer	*buf;
	char		*want;
	size_t		 len;

	want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(want);
	buf = evbuffer_new();
	assert_non_null(buf);
	assert_int_equal(json_text_write(buf, v, FU_REPLY_MAX), 0);
	len = evbuffer_get_length(buf);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(evbuffer_pullup(buf, -1), want, len);
	evbuffer_free(buf);
	free(want);
}

static void
test_every_kind_of_value(void **state)
{
	json_t	*v;

	(void)state;
	v = json_pack("{s:i s:I s:I s:f s:f s:b s:b s:n s:s s:[] s:{} "
	    "s:[i,{s:[s,n]}]}", "zero", 0, "big", (json_int_t)INT64_MAX,
	    "small", (json_int_t)INT64_MIN, "real", 0.1, "whole", 3.0,
	    "yes", 1, "no", 0, "none", "text", "déjà vu — 東京 🙂",
	    "empty", "nested", "x", 7, "k", "v");
	assert_non_null(v);
	same_as_jansson(v);
	json_decref(v);
	v = json_string("");
	same_as_jansson(v);
	json_decref(v);
}

static void
test_every_character_a_string_may_hold(void **state)
{
	char	 s[256], key[3];
	json_t	*v, *o;
	int	 c;

	(void)state;
	/* Every byte from 1 to 127, and a NUL inside a counted string. */
	for (c = 1; c < 128; c++)
		s[c - 1] = (char)c;
	v = json_stringn(s, 127);
	assert_non_null(v);
	same_as_jansson(v);
	json_decref(v);
	v = json_stringn("a\0b", 3);
	same_as_jansson(v);
	json_decref(v);
	/* Keys are escaped the same way. */
	o = json_object();
	for (c = 1; c < 0x30; c++) {
		key[0] = (char)c;
		key[1] = 'k';
		key[2] = '\0';
		json_object_set_new(o, key, json_integer(c));
	}
	same_as_jansson(o);
	json_decref(o);
}

static uint32_t rng = 12345;

static uint32_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static json_t *
random_value(int depth)
{
	static const char	*const pieces[] = { "a", "\"", "\\", "\n", "\t",
				    "\x01", "\x1f", "é", "€", "/", " ", "}", "",
				    "\r", "\b", "\f", "🙂" };
	char			 s[64];
	json_t			*v;
	size_t			 len;
	int			 i, n;

	switch (next() % (depth > 3 ? 5 : 7)) {
	case 0:
		return json_integer((json_int_t)(int32_t)next() * (int)(next() % 3));
	case 1:
		s[0] = '\0';
		n = (int)(next() % 8);
		for (i = 0; i < n; i++) {
			len = strlen(s);
			(void)snprintf(s + len, sizeof s - len, "%s",
			    pieces[next() % (sizeof pieces / sizeof pieces[0])]);
		}
		return json_string(s);
	case 2:
		return json_boolean(next() % 2);
	case 3:
		return json_null();
	case 4:
		return json_real((double)(int32_t)next() / 1024.0);
	case 5:
		v = json_array();
		n = (int)(next() % 5);
		for (i = 0; i < n; i++)
			json_array_append_new(v, random_value(depth + 1));
		return v;
	default:
		v = json_object();
		n = (int)(next() % 5);
		for (i = 0; i < n; i++) {
			(void)snprintf(s, sizeof s, "k%u\t\"", next() % 50);
			json_object_set_new(v, s, random_value(depth + 1));
		}
		return v;
	}
}

static void
test_random_trees(void **state)
{
	json_t	*v;
	int	 i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		v = random_value(0);
		assert_non_null(v);
		same_as_jansson(v);
		json_decref(v);
	}
}

static void
test_a_text_past_its_cap_is_refused(void **state)
{
	struct evbuffer	*buf;
	json_t		*v;
	char		*want;
	size_t		 len;

	(void)state;
	v = json_pack("{s:s s:[i,i,i]}", "text", "some words", "n", 1, 2, 3);
	want = json_dumps(v, JSON_COMPACT);
	len = strlen(want);
	buf = evbuffer_new();
	/* Exactly its length fits; one byte less does not. */
	assert_int_equal(json_text_write(buf, v, len), 0);
	assert_int_equal(evbuffer_get_length(buf), len);
	evbuffer_drain(buf, len);
	assert_int_equal(json_text_write(buf, v, len - 1), -1);
	evbuffer_free(buf);
	free(want);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_of_value),
		cmocka_unit_test(test_every_character_a_string_may_hold),
		cmocka_unit_test(test_random_trees),
		cmocka_unit_test(test_a_text_past_its_cap_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
