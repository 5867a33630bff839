/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Case folding of UTF-8 text, the only place that knows how: an email
 * address is matched whatever the case of any of its letters, not only
 * ASCII ones (SQLite's NOCASE), so an address with an umlaut, an accent
 * or a sharp s is the same address in capitals.  The table (fold-table.h,
 * written by gen-fold-table) maps each code point to the full Unicode case
 * folding of its upper case, so a file upper-cased by any tool folds as
 * its original does.  No locale is involved, so a key stored by one
 * daemon is the key of the next.
 */

#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "followupd.h"
#include "followup/utf8.h"

struct fold_range {
	uint32_t	first;
	uint32_t	last;
	int		step;
	int32_t		delta;
};

struct fold_multi {
	uint32_t	cp;
	uint32_t	to[3];
};

#include "fold-table.h"

/* Write the folding of code point c at p; return the new end. */
static char *
fold_one(char *p, uint32_t c)
{
	size_t	lo, hi, mid, i;

	lo = 0;
	hi = sizeof fold_ranges / sizeof fold_ranges[0];
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c < fold_ranges[mid].first)
			hi = mid;
		else if (c > fold_ranges[mid].last)
			lo = mid + 1;
		else {
			if ((c - fold_ranges[mid].first) %
			    fold_ranges[mid].step != 0)
				break;
			return fu_utf8_encode(p, (uint32_t)((int32_t)c +
			    fold_ranges[mid].delta));
		}
	}
	lo = 0;
	hi = sizeof fold_multis / sizeof fold_multis[0];
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c < fold_multis[mid].cp)
			hi = mid;
		else if (c > fold_multis[mid].cp)
			lo = mid + 1;
		else {
			for (i = 0; i < 3 && fold_multis[mid].to[i] != 0; i++)
				p = fu_utf8_encode(p, fold_multis[mid].to[i]);
			return p;
		}
	}
	return fu_utf8_encode(p, c);
}

/*
 * The case folding of UTF-8 text s: each character by the table; a byte
 * that is not part of valid UTF-8 is kept as it is.  Two texts that differ
 * only in case fold to the same string.  Caller frees.
 */
char *
fold_text(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), len;
	uint32_t		 c;
	char			*out, *o;

	/* A character folds to at most three, of at most 4 bytes each. */
	o = out = xreallocarray(NULL, n + 1, 12);
	while (n > 0) {
		if ((len = fu_utf8_decode(p, n, &c)) == 0) {
			*o++ = (char)*p++;
			n--;
			continue;
		}
		o = fold_one(o, c);
		p += len;
		n -= len;
	}
	*o = '\0';
	return out;
}
