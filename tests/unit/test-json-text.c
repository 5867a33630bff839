/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests of a reply's text (json-text.c): for every kind of value,
 * every character a string may hold, and thousands of random trees, the
 * text is byte for byte what Jansson's json_dumps writes with
 * JSON_COMPACT, and a reply past its cap is refused.  The same for the
 * writer fed a token at a time, and for the contact, interaction and
 * follow-up written straight as text (contact.get's rows) against
 * contact_json, interaction_json and followup_json: with every field null
 * and set, text beyond ASCII, text that is not UTF-8, and long text.
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

/* The text of a value written token by token; it must be Jansson's. */
static void
same_tokens_as_jansson(json_t *want_v, void (*write)(struct json_text *,
    const void *), const void *arg)
{
	struct json_text	*t;
	struct evbuffer		*buf;
	char			*want;
	size_t			 len;

	want = json_dumps(want_v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(want);
	buf = evbuffer_new();
	assert_non_null(buf);
	t = malloc(sizeof *t);
	assert_non_null(t);
	json_text_init(t, buf, FU_REPLY_MAX);
	write(t, arg);
	assert_int_equal(json_text_end(t), 0);
	len = evbuffer_get_length(buf);
	if (len != strlen(want) ||
	    memcmp(evbuffer_pullup(buf, -1), want, len) != 0)
		fail_msg("want %s\n got %.*s", want, (int)len,
		    (char *)evbuffer_pullup(buf, -1));
	evbuffer_free(buf);
	free(t);
	free(want);
}

/* Write v again through the token calls, as a hot reply would. */
static void
write_tokens(struct json_text *t, const void *arg)
{
	const json_t	*v = arg;
	const char	*key;
	json_t		*item;
	size_t		 i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_text_open(t, '{');
		json_object_foreach((json_t *)v, key, item) {
			json_text_key(t, key);
			write_tokens(t, item);
		}
		json_text_close(t, '}');
		break;
	case JSON_ARRAY:
		json_text_open(t, '[');
		json_array_foreach(v, i, item)
			write_tokens(t, item);
		json_text_close(t, ']');
		break;
	case JSON_STRING:
		if (strlen(json_string_value(v)) == json_string_length(v))
			json_text_str(t, json_string_value(v));
		else
			json_text_value(t, v);
		break;
	case JSON_INTEGER:
		json_text_int(t, json_integer_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		json_text_bool(t, json_is_true(v));
		break;
	case JSON_NULL:
		json_text_null(t);
		break;
	default:
		json_text_value(t, v);
		break;
	}
}

static void
test_tokens_make_the_same_text(void **state)
{
	json_t	*v;
	int	 i;

	(void)state;
	v = json_pack("{s:[] s:{} s:[[],{},[{}]] s:I s:I s:I}", "a", "b",
	    "c", "min", (json_int_t)INT64_MIN, "max", (json_int_t)INT64_MAX,
	    "zero", (json_int_t)0);
	same_tokens_as_jansson(v, write_tokens, v);
	json_decref(v);
	for (i = 0; i < 3000; i++) {
		v = random_value(0);
		same_tokens_as_jansson(v, write_tokens, v);
		json_decref(v);
	}
}

static void
write_contact(struct json_text *t, const void *arg)
{
	contact_text(t, arg);
}

static void
write_interaction(struct json_text *t, const void *arg)
{
	interaction_text(t, arg);
}

static time_t followup_now;

static void
write_followup(struct json_text *t, const void *arg)
{
	followup_text(t, arg, followup_now);
}

/*
 * Texts a field may hold: none, empty, ASCII with what JSON escapes,
 * beyond ASCII, not UTF-8 (which the Jansson objects show as null), and
 * long.
 */
static char	*texts[7];

static void
texts_init(void)
{
	static char	 longtext[70000];
	static const char piece[] = "abc \"\\\n\té€🙂";
	size_t		 n;

	/* Whole pieces only, so that the text stays UTF-8. */
	for (n = 0; n + sizeof piece <= sizeof longtext; n += sizeof piece - 1)
		memcpy(longtext + n, piece, sizeof piece - 1);
	longtext[n] = '\0';
	texts[0] = NULL;
	texts[1] = (char *)"";
	texts[2] = (char *)"Dana \"D\" O'Neil\\\n\x01\x1f /";
	texts[3] = (char *)"Zoë Ångström — 東京 🙂 \u2028";
	texts[4] = (char *)"bad \xff\xfe here";
	texts[5] = (char *)"overlong \xc0\xaf and surrogate \xed\xa0\x80";
	texts[6] = longtext;
}

#define NTEXTS	((int)(sizeof texts / sizeof texts[0]))

static void
test_contact_as_text_is_contact_json(void **state)
{
	struct fu_contact	 c;
	json_t			*v;
	int			 i, j;
	static const time_t	 times[] = { 0, 1, 1767225600, 4102444800 };

	(void)state;
	texts_init();
	for (i = 0; i < NTEXTS * 4; i++) {
		memset(&c, 0, sizeof c);
		j = i % NTEXTS;
		c.id = i == 0 ? INT64_MAX : i;
		c.owner = texts[j];
		c.name = texts[(j + 1) % NTEXTS];
		c.company = texts[(j + 2) % NTEXTS];
		c.phone = texts[(j + 3) % NTEXTS];
		c.email = texts[(j + 4) % NTEXTS];
		c.tz = texts[(j + 5) % NTEXTS];
		c.stage = texts[(j + 6) % NTEXTS];
		c.notes = texts[(j + i / NTEXTS) % NTEXTS];
		c.archived_at = times[i % 4];
		c.last_activity_at = times[(i + 1) % 4];
		c.created_at = times[(i + 2) % 4];
		c.updated_at = times[(i + 3) % 4];
		v = contact_json(&c);
		same_tokens_as_jansson(v, write_contact, &c);
		json_decref(v);
	}
}

static void
test_interaction_as_text_is_interaction_json(void **state)
{
	struct fu_interaction	 in;
	json_t			*v;
	int			 i, j;

	(void)state;
	texts_init();
	for (i = 0; i < NTEXTS * 3; i++) {
		memset(&in, 0, sizeof in);
		j = i % NTEXTS;
		in.id = i + 1;
		in.contact_id = -i;
		in.owner = texts[j];
		in.kind = texts[(j + 1) % NTEXTS];
		in.outcome = texts[(j + 2) % NTEXTS];
		in.note = texts[(j + i / NTEXTS) % NTEXTS];
		in.at = i * 86399;
		in.created_at = i == 0 ? 0 : 1767225600 + i;
		v = interaction_json(&in);
		same_tokens_as_jansson(v, write_interaction, &in);
		json_decref(v);
	}
}

static void
test_followup_as_text_is_followup_json(void **state)
{
	static const char	*const statuses[] = { "pending", "done",
				    "cancelled", NULL };
	struct fu_followup	 f;
	json_t			*v;
	int			 i, j;

	(void)state;
	texts_init();
	followup_now = 1767225600;
	for (i = 0; i < NTEXTS * 8; i++) {
		memset(&f, 0, sizeof f);
		j = i % NTEXTS;
		f.id = i + 1;
		f.contact_id = 1000 + i;
		f.contact_name = texts[j];
		f.contact_tz = texts[(j + 1) % NTEXTS];
		f.owner = texts[(j + 2) % NTEXTS];
		f.kind = texts[(j + 3) % NTEXTS];
		f.status = (char *)statuses[i % 4];
		f.due_at = followup_now + (i % 3 - 1) * 3600;
		f.reason = texts[(j + 4) % NTEXTS];
		f.remind_before = i % 5 == 0 ? -1 : i * 60;
		f.remind_at = i % 2 ? 0 : f.due_at - 900;
		f.snoozes = i % 4;
		f.revision = i;
		f.note = texts[(j + i / NTEXTS) % NTEXTS];
		f.created_at = 1700000000 + i;
		f.updated_at = 1700000000 + 2 * i;
		f.done_at = i % 3 == 0 ? 0 : 1767000000 + i;
		f.automatic = i % 2;
		v = followup_json(&f, followup_now);
		same_tokens_as_jansson(v, write_followup, &f);
		json_decref(v);
	}
}

static void
write_rows(struct json_text *t, const void *arg)
{
	const struct fu_contact	*c = arg;

	json_text_open(t, '{');
	json_text_key(t, "contact");
	contact_text(t, c);
	json_text_key(t, "none");
	json_text_open(t, '[');
	json_text_close(t, ']');
	json_text_key(t, "two");
	json_text_open(t, '[');
	contact_text(t, c);
	contact_text(t, c);
	json_text_close(t, ']');
	json_text_close(t, '}');
}

static void
test_rows_in_arrays_are_separated_as_jansson_does(void **state)
{
	struct fu_contact	 c;
	json_t			*v;

	(void)state;
	memset(&c, 0, sizeof c);
	c.id = 7;
	c.name = (char *)"Dana";
	c.stage = (char *)"lead";
	c.created_at = c.updated_at = 1767225600;
	v = json_pack("{s:o s:[] s:[o,o]}", "contact", contact_json(&c),
	    "none", "two", contact_json(&c), contact_json(&c));
	same_tokens_as_jansson(v, write_rows, &c);
	json_decref(v);
}

static void
write_long(struct json_text *t, const void *arg)
{
	(void)arg;
	json_text_open(t, '[');
	json_text_str(t, texts[6]);
	json_text_str(t, texts[6]);
	json_text_close(t, ']');
}

static void
test_tokens_past_the_cap_are_refused(void **state)
{
	struct json_text	*t;
	struct evbuffer		*buf;
	size_t			 len;

	(void)state;
	texts_init();
	buf = evbuffer_new();
	t = malloc(sizeof *t);
	assert_non_null(t);
	json_text_init(t, buf, FU_REPLY_MAX);
	write_long(t, NULL);
	assert_int_equal(json_text_end(t), 0);
	len = evbuffer_get_length(buf);
	assert_true(len > 2 * strlen(texts[6]));
	evbuffer_drain(buf, len);
	/* Exactly its length fits; one byte less does not. */
	json_text_init(t, buf, len);
	write_long(t, NULL);
	assert_int_equal(json_text_end(t), 0);
	assert_int_equal(evbuffer_get_length(buf), len);
	evbuffer_drain(buf, len);
	json_text_init(t, buf, len - 1);
	write_long(t, NULL);
	assert_int_equal(json_text_end(t), -1);
	evbuffer_free(buf);
	free(t);
}

/* A follow-up of plain ASCII texts, as most rows are. */
static void
plain_followup(struct fu_followup *f)
{
	memset(f, 0, sizeof *f);
	f->id = 16;
	f->contact_id = 2;
	f->contact_name = (char *)"Dana Prospect";
	f->owner = (char *)"dana";
	f->kind = (char *)"callback";
	f->status = (char *)"pending";
	f->due_at = 4070944800;
	f->reason = (char *)"price";
	f->remind_before = -1;
	f->remind_at = 4070943900;
	f->note = (char *)"";
	f->created_at = f->updated_at = 1796550000;
}

static void
write_many_followups(struct json_text *t, const void *arg)
{
	int	i;

	json_text_open(t, '[');
	for (i = 0; i < 400; i++)
		followup_text(t, arg, followup_now);
	json_text_close(t, ']');
}

/*
 * Keys and plain strings have a quick way in while they fit the writer's
 * chunk and the cap: the text stays Jansson's across many chunks, and a
 * row is refused at every cap short of its length, and kept at it.
 */
static void
test_plain_rows_across_chunks_and_at_every_cap(void **state)
{
	struct fu_followup	 f;
	struct json_text	*t;
	struct evbuffer		*buf;
	json_t			*v;
	char			*want;
	size_t			 len, max;
	int			 i;

	(void)state;
	followup_now = 1767225600;
	plain_followup(&f);
	v = json_array();
	for (i = 0; i < 400; i++)
		json_array_append_new(v, followup_json(&f, followup_now));
	same_tokens_as_jansson(v, write_many_followups, &f);
	json_decref(v);

	v = followup_json(&f, followup_now);
	want = json_dumps(v, JSON_COMPACT);
	assert_non_null(want);
	len = strlen(want);
	buf = evbuffer_new();
	t = malloc(sizeof *t);
	assert_non_null(buf);
	assert_non_null(t);
	for (max = 0; max <= len; max++) {
		json_text_init(t, buf, max);
		write_followup(t, &f);
		if (max < len) {
			assert_int_equal(json_text_end(t), -1);
		} else {
			assert_int_equal(json_text_end(t), 0);
			assert_int_equal(evbuffer_get_length(buf), len);
			assert_memory_equal(evbuffer_pullup(buf, -1), want,
			    len);
		}
		evbuffer_drain(buf, evbuffer_get_length(buf));
	}
	evbuffer_free(buf);
	free(t);
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
		cmocka_unit_test(test_tokens_make_the_same_text),
		cmocka_unit_test(test_contact_as_text_is_contact_json),
		cmocka_unit_test(test_interaction_as_text_is_interaction_json),
		cmocka_unit_test(test_followup_as_text_is_followup_json),
		cmocka_unit_test(
		    test_rows_in_arrays_are_separated_as_jansson_does),
		cmocka_unit_test(test_tokens_past_the_cap_are_refused),
		cmocka_unit_test(
		    test_plain_rows_across_chunks_and_at_every_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
