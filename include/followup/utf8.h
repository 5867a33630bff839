/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The one UTF-8 decoder and encoder of the daemon, the client and the mail
 * hook.  What counts as well-formed text (no overlong forms, surrogates or
 * code points past U+10FFFF) is decided here once, so the daemon's checks,
 * the client's tables, imports and logs all agree on it.
 */

#ifndef FOLLOWUP_UTF8_H
#define FOLLOWUP_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode the UTF-8 character at s, of which at most n bytes may be read,
 * into *cp.  Return its length in bytes (1 to 4), or 0 when s does not
 * start with a well-formed character; *cp is then undefined.  A string
 * ending in NUL may pass SIZE_MAX for n: a NUL ends any sequence.
 */
static inline size_t
fu_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t		len, i;
	uint32_t	c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

/*
 * Write code point c (at most U+10FFFF, not a surrogate) at p as UTF-8,
 * up to 4 bytes, no NUL.  Return the new end.
 */
static inline char *
fu_utf8_encode(char *p, uint32_t c)
{
	if (c < 0x80)
		*p++ = (char)c;
	else if (c < 0x800) {
		*p++ = (char)(0xc0 | (c >> 6));
		*p++ = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		*p++ = (char)(0xe0 | (c >> 12));
		*p++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*p++ = (char)(0x80 | (c & 0x3f));
	} else {
		*p++ = (char)(0xf0 | (c >> 18));
		*p++ = (char)(0x80 | ((c >> 12) & 0x3f));
		*p++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*p++ = (char)(0x80 | (c & 0x3f));
	}
	return p;
}

#endif /* FOLLOWUP_UTF8_H */
