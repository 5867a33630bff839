/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The one rule for the addresses followup sends mail to: a rep's address
 * (user.set), the manager address (the configuration) and whatever
 * followup-mail puts in To: and Cc: or hands to sendmail.  The daemon and
 * the mail hook both use it, so an address the daemon takes is one the
 * hook will send to; before, the daemon took "bøb@example.com" and every
 * mail to that rep failed.
 */

#ifndef FOLLOWUP_EMAIL_H
#define FOLLOWUP_EMAIL_H

#include <string.h>

/* RFC 5321's longest path, less its angle brackets. */
#define FU_EMAIL_MAX	254

/*
 * Is s an address followup can mail: local@domain in printable ASCII,
 * one "@" with something on both sides, nothing that could end a header
 * or start another recipient (blanks, control characters, <>()[],;:"\),
 * and no leading "-" that a sendmail could read as an option.
 * Non-ASCII (SMTPUTF8) addresses are refused: the sendmail programs and
 * relays a team uses need not offer SMTPUTF8, and a mail they refuse is
 * lost to the rep, so the address is refused when it is set instead.
 */
static inline int
fu_email_ok(const char *s)
{
	const char	*p, *at = NULL;

	if (s == NULL || *s == '\0' || *s == '-' || strlen(s) > FU_EMAIL_MAX)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("<>()[],;:\"\\", *p) != NULL)
			return 0;
		if (*p == '@') {
			if (at != NULL)
				return 0;
			at = p;
		}
	}
	return at != NULL && at != s && at[1] != '\0';
}

#endif /* FOLLOWUP_EMAIL_H */
