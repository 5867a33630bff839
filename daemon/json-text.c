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
 *
 * The same writer also takes a value a token at a time (json_text_open,
 * json_text_key, json_text_str...), so a hot reply goes from the store's
 * rows to the socket's buffer without a Jansson object in between.
 */

#include <config.h>

#include <assert.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "followupd.h"
#include "followup/utf8.h"

static void
jt_flush(struct json_text *t)
{
	if (t->n == 0)
		return;
	if (evbuffer_add(t->out, t->buf, t->n) != 0)
		fatalx("json_text: evbuffer_add");
	t->n = 0;
}

/* json_text_put's slow way: past max, or past what buf holds. */
void
json_text_put_slow(struct json_text *t, const char *s, size_t len)
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

static inline void
jt_char(struct json_text *t, char c)
{
	json_text_put(t, &c, 1);
}

/* Bytes a string cannot hold as they are: controls, '"' and '\\'. */
static const unsigned char jt_escaped[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
};

/* A string, quoted, escaping what JSON requires and nothing else. */
static void
jt_string(struct json_text *t, const char *s, size_t len)
{
	size_t		 i, run;
	unsigned char	 c;
	char		 esc[8];

	jt_char(t, '"');
	run = 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (!jt_escaped[c])
			continue;
		json_text_put(t, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			json_text_put(t, "\\\"", 2);
			break;
		case '\\':
			json_text_put(t, "\\\\", 2);
			break;
		case '\b':
			json_text_put(t, "\\b", 2);
			break;
		case '\f':
			json_text_put(t, "\\f", 2);
			break;
		case '\n':
			json_text_put(t, "\\n", 2);
			break;
		case '\r':
			json_text_put(t, "\\r", 2);
			break;
		case '\t':
			json_text_put(t, "\\t", 2);
			break;
		default:
			(void)snprintf(esc, sizeof esc, "\\u%04X", c);
			json_text_put(t, esc, 6);
			break;
		}
	}
	json_text_put(t, s + run, len - run);
	jt_char(t, '"');
}

static void
jt_value(struct json_text *t, const json_t *v)
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
		json_text_put(t, num, i);
		break;
	case JSON_REAL:
		if ((text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) ==
		    NULL)
			fatalx("json_text: cannot write a number");
		json_text_put(t, text, strlen(text));
		free(text);
		break;
	case JSON_TRUE:
		json_text_put(t, "true", 4);
		break;
	case JSON_FALSE:
		json_text_put(t, "false", 5);
		break;
	case JSON_NULL:
		json_text_put(t, "null", 4);
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
	struct json_text	 t;

	json_text_init(&t, out, max);
	json_text_value(&t, v);
	return json_text_end(&t);
}

/* Start writing one value into out, at most max bytes of it. */
void
json_text_init(struct json_text *t, struct evbuffer *out, size_t max)
{
	t->out = out;
	t->max = max;
	t->total = 0;
	t->n = 0;
	t->over = 0;
	t->depth = 0;
	t->after_key = 0;
	t->members = 0;
}

/*
 * Move what is left of the text into the evbuffer.  Returns 0, or -1 if
 * the text passed its max; then the evbuffer holds a part of it, which
 * the caller drops.
 */
int
json_text_end(struct json_text *t)
{
	if (t->over)
		return -1;
	assert(t->depth == 0);
	jt_flush(t);
	return 0;
}

/* Open an object ('{') or an array ('['). */
void
json_text_open(struct json_text *t, char c)
{
	assert((c == '{' || c == '[') && t->depth < JSON_TEXT_DEPTH);
	json_text_sep(t);
	jt_char(t, c);
	t->depth++;
	t->members &= ~((uint32_t)1 << t->depth);
}

/* Close the object ('}') or array (']') opened last. */
void
json_text_close(struct json_text *t, char c)
{
	assert((c == '}' || c == ']') && t->depth > 0 && !t->after_key);
	t->depth--;
	jt_char(t, c);
}

/* A member's key; its value comes next. */
void
json_text_key(struct json_text *t, const char *key)
{
	assert(!t->after_key);
	json_text_sep(t);
	jt_string(t, key, strlen(key));
	jt_char(t, ':');
	t->after_key = 1;
}

/* Is s, of len bytes, UTF-8 that Jansson would take into a string? */
static int
jt_utf8_ok(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;
	uint32_t		 c;

	for (i = 0; i < len; i += n) {
		if (p[i] < 0x80) {
			n = 1;
			continue;
		}
		if ((n = fu_utf8_decode(p + i, len - i, &c)) == 0)
			return 0;
	}
	return 1;
}

/*
 * A string, or null when s is NULL or not UTF-8: what json_string gives
 * (NULL for bad text) and the objects turn into null.
 */
void
json_text_str(struct json_text *t, const char *s)
{
	const unsigned char	*p;
	unsigned char		 high = 0;

	json_text_sep(t);
	if (s == NULL) {
		json_text_put(t, "null", 4);
		return;
	}
	/*
	 * Most are plain ASCII to the end (jt_escaped marks the NUL too):
	 * one scan and one copy.
	 */
	for (p = (const unsigned char *)s; *p < 0x80 && !jt_escaped[*p]; p++)
		;
	if (*p == '\0') {
		jt_char(t, '"');
		json_text_put(t, s, (size_t)(p - (const unsigned char *)s));
		jt_char(t, '"');
		return;
	}
	/* Its length, and whether it has any byte past ASCII to check. */
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		high |= *p;
	if ((high & 0x80) && !jt_utf8_ok(s, (size_t)(p -
	    (const unsigned char *)s))) {
		json_text_put(t, "null", 4);
		return;
	}
	jt_string(t, s, (size_t)(p - (const unsigned char *)s));
}

/* An integer, as Jansson writes one. */
void
json_text_int(struct json_text *t, int64_t v)
{
	char		 num[24], *p = num + sizeof num;
	uint64_t	 u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	json_text_sep(t);
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	json_text_put(t, p, (size_t)(num + sizeof num - p));
}

/* true or false. */
void
json_text_bool(struct json_text *t, int v)
{
	json_text_sep(t);
	if (v)
		json_text_put(t, "true", 4);
	else
		json_text_put(t, "false", 5);
}

/* null. */
void
json_text_null(struct json_text *t)
{
	json_text_sep(t);
	json_text_put(t, "null", 4);
}

/* An instant as RFC 3339, as when_json writes it. */
void
json_text_time(struct json_text *t, time_t when)
{
	char	buf[WHEN_RFC3339_LEN + 2];
	size_t	len;

	json_text_sep(t);
	/* The digits, '-', ':', 'T' and 'Z' need no escape. */
	buf[0] = '"';
	len = 1 + when_format(when, buf + 1, sizeof buf - 2);
	buf[len++] = '"';
	json_text_put(t, buf, len);
}

/* An instant, or null when it is 0 (unset), as when_json_or_null. */
void
json_text_time_or_null(struct json_text *t, time_t when)
{
	if (when == 0)
		json_text_null(t);
	else
		json_text_time(t, when);
}

/* A Jansson value, as json_text_write writes it. */
void
json_text_value(struct json_text *t, const json_t *v)
{
	json_text_sep(t);
	jt_value(t, v);
}
