/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The admin's letters: text with {name} placeholders, {{ and }} for
 * literal braces.  A template is checked once, when the configuration is
 * read, so a letter that would go out broken stops the start (or the
 * reload) instead; rendering a checked template cannot fail.
 */

#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "followup/utf8.h"
#include "followupd.h"

/* The index of the placeholder name at s (len bytes) in names, or -1. */
static int
template_lookup(const char *const *names, const char *s, size_t len)
{
	int	i;

	for (i = 0; names[i] != NULL; i++) {
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return i;
	}
	return -1;
}

/*
 * Is text (len bytes) a template using only the placeholders in names
 * (NULL-terminated)?  Return 0, or -1 with *cause set to "line N: what is
 * wrong" (caller frees).
 */
int
template_check(const char *text, size_t len, const char *const *names,
    char **cause)
{
	const char	*p = text, *end = text + len, *close;
	uint32_t	 cp;
	size_t		 n;
	int		 line = 1;

	if (len > TEMPLATE_MAX) {
		xasprintf(cause, "longer than %d bytes", TEMPLATE_MAX);
		return -1;
	}
	while (p < end) {
		if ((n = fu_utf8_decode((const unsigned char *)p, end - p,
		    &cp)) == 0 || cp == 0) {
			xasprintf(cause, "line %d: not UTF-8 text", line);
			return -1;
		}
		if (*p == '\n')
			line++;
		if ((*p == '{' || *p == '}') && p + 1 < end && p[1] == *p) {
			p += 2;
			continue;
		}
		if (*p == '}') {
			xasprintf(cause, "line %d: a lone \"}\"; write \"}}\" "
			    "for a brace", line);
			return -1;
		}
		if (*p == '{') {
			close = memchr(p, '}', end - p);
			if (close == NULL || memchr(p, '\n', close - p) != NULL) {
				xasprintf(cause, "line %d: \"{\" is not closed "
				    "on its line; write \"{{\" for a brace",
				    line);
				return -1;
			}
			if (template_lookup(names, p + 1, close - p - 1) < 0) {
				xasprintf(cause, "line %d: unknown "
				    "placeholder {%.*s}", line,
				    (int)(close - p - 1), p + 1);
				return -1;
			}
			p = close + 1;
			continue;
		}
		p += n;
	}
	return 0;
}

/* Append n bytes of s to the growing string *out of *len bytes. */
static void
template_append(char **out, size_t *len, size_t *size, const char *s,
    size_t n)
{
	if (*len + n + 1 > *size) {
		*size = (*len + n + 1) * 2;
		*out = xreallocarray(*out, *size, 1);
	}
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
}

/*
 * The checked template text with each placeholder replaced by its value
 * (values[i] for names[i]; NULL is empty).  A line made only of
 * placeholders that are all empty, and blanks, is left out, so
 * "{rep_phone}" on a line of its own leaves no blank line when the rep has
 * no phone.  Caller frees.
 */
char *
template_render(const char *text, const char *const *names,
    const char *const *values)
{
	const char	*p = text, *close, *v;
	char		*out = NULL;
	size_t		 size = 0, len = 0, start = 0;
	int		 i, placeholders = 0, content = 0;

	template_append(&out, &len, &size, "", 0);
	for (; *p != '\0'; p++) {
		if ((*p == '{' || *p == '}') && p[1] == *p) {
			template_append(&out, &len, &size, p++, 1);
			content = 1;
		} else if (*p == '{' && (close = strchr(p, '}')) != NULL &&
		    (i = template_lookup(names, p + 1, close - p - 1)) >= 0) {
			v = values[i] != NULL ? values[i] : "";
			template_append(&out, &len, &size, v, strlen(v));
			placeholders = 1;
			content |= *v != '\0';
			p = close;
		} else if (*p == '\n') {
			if (placeholders && !content)
				len = start;	/* the line and its end go */
			else
				template_append(&out, &len, &size, p, 1);
			start = len;
			placeholders = content = 0;
		} else {
			template_append(&out, &len, &size, p, 1);
			content |= *p != ' ' && *p != '\t';
		}
	}
	if (placeholders && !content)
		len = start;
	out[len] = '\0';
	return out;
}
