/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * A reply's text: a JSON value written compactly into an evbuffer.  The
 * output is byte for byte what Jansson's json_dumps gives with
 * JSON_COMPACT (keys in the order they were set, UTF-8 left as it is,
 * only quotes, backslashes and control characters escaped), but made in
 * runs: a string's plain stretch is one copy, and the text reaches the
 * evbuffer a few kilobytes at a time rather than one evbuffer_add per
 * token, which is where a reply's time went.  Reals, which no hot reply
 * carries, are left to Jansson so that their digits stay its own.
 */

#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "followupd.h"

#define JT_CHUNK	8192

struct jt {
	struct evbuffer	*out;
	size_t		 max;
	size_t		 total;
	size_t		 n;
	int		 over;
	char		 buf[JT_CHUNK];
};

static void
jt_flush(struct jt *t)
{
	if (t->n == 0)
		return;
	if (evbuffer_add(t->out, t->buf, t->n) != 0)
		fatalx("json_text: evbuffer_add");
	t->n = 0;
}

/* Add len bytes; past max, note it and add nothing more. */
static void
jt_put(struct jt *t, const char *s, size_t len)
{
	if (t->over)
		return;
	if (len > t->max - t->total) {
		t->over = 1;
		return;
	}
	t->total += len;
	if (len > sizeof t->buf - t->n) {
		jt_flush(t);
		if (len > sizeof t->buf) {
			if (evbuffer_add(t->out, s, len) != 0)
				fatalx("json_text: evbuffer_add");
			return;
		}
	}
	memcpy(t->buf + t->n, s, len);
	t->n += len;
}

static void
jt_char(struct jt *t, char c)
{
	jt_put(t, &c, 1);
}

/* A string, quoted, escaping what JSON requires and nothing else. */
static void
jt_string(struct jt *t, const char *s, size_t len)
{
	size_t		 i, run;
	unsigned char	 c;
	char		 esc[8];

	jt_char(t, '"');
	run = 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jt_put(t, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			jt_put(t, "\\\"", 2);
			break;
		case '\\':
			jt_put(t, "\\\\", 2);
			break;
		case '\b':
			jt_put(t, "\\b", 2);
			break;
		case '\f':
			jt_put(t, "\\f", 2);
			break;
		case '\n':
			jt_put(t, "\\n", 2);
			break;
		case '\r':
			jt_put(t, "\\r", 2);
			break;
		case '\t':
			jt_put(t, "\\t", 2);
			break;
		default:
			(void)snprintf(esc, sizeof esc, "\\u%04X", c);
			jt_put(t, esc, 6);
			break;
		}
	}
	jt_put(t, s + run, len - run);
	jt_char(t, '"');
}

static void
jt_value(struct jt *t, const json_t *v)
{
	const char	*key;
	json_t		*item;
	char		 num[32], *text;
	size_t		 i, size;
	int		 first;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		jt_char(t, '{');
		first = 1;
		json_object_foreach((json_t *)v, key, item) {
			if (!first)
				jt_char(t, ',');
			first = 0;
			jt_string(t, key, strlen(key));
			jt_char(t, ':');
			jt_value(t, item);
			if (t->over)
				return;
		}
		jt_char(t, '}');
		break;
	case JSON_ARRAY:
		jt_char(t, '[');
		size = json_array_size(v);
		for (i = 0; i < size && !t->over; i++) {
			if (i > 0)
				jt_char(t, ',');
			jt_value(t, json_array_get(v, i));
		}
		jt_char(t, ']');
		break;
	case JSON_STRING:
		jt_string(t, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		i = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		jt_put(t, num, i);
		break;
	case JSON_REAL:
		if ((text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) ==
		    NULL)
			fatalx("json_text: cannot write a number");
		jt_put(t, text, strlen(text));
		free(text);
		break;
	case JSON_TRUE:
		jt_put(t, "true", 4);
		break;
	case JSON_FALSE:
		jt_put(t, "false", 5);
		break;
	case JSON_NULL:
		jt_put(t, "null", 4);
		break;
	}
}

/*
 * Append v's compact text to out.  Returns 0, or -1 if the text would pass
 * max bytes; then out holds a part of it, which the caller drops.
 */
int
json_text_write(struct evbuffer *out, const json_t *v, size_t max)
{
	struct jt	 t;

	t.out = out;
	t.max = max;
	t.total = 0;
	t.n = 0;
	t.over = 0;
	jt_value(&t, v);
	if (t.over)
		return -1;
	jt_flush(&t);
	return 0;
}
