/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup-mail: the mail hook.  Reads one message of notices (JSON on
 * stdin, as followupd hands it to its hooks), writes one RFC 5322 message
 * (UTF-8, MIME, quoted-printable body, RFC 2047 subject, a Message-ID
 * stable for those notices) and pipes it to "sendmail -f FROM -t -i".  The mail
 * goes to the rep only (and the manager of a missed callback), never to a
 * contact, whatever the data says; nothing from the data can add a header.
 * The one exception is a confirmation (or its cancellation) the rep asked
 * for: alone in its message, it becomes an iMIP mail (RFC 6047) from the
 * rep to the contact, with the invitation followupd built.  Its exit
 * status is the delivery's, so followupd knows to retry.
 */

#include <config.h>

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <stdint.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "followup/email.h"
#include "followup/protocol.h"
#include "followup/timefmt.h"

#define MAIL_SENDMAIL	"/usr/sbin/sendmail"
#define MAIL_INPUT_MAX	(16 * 1024 * 1024)
#define MAIL_SUBJECT_MAX	180

struct buf {
	char	*data;
	size_t	 len;
	size_t	 size;
};

static const char	*mail_rep_zone;

static void __attribute__((__noreturn__, __format__(__printf__, 2, 3)))
die(int status, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "followup-mail: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void
buf_add(struct buf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->size) {
		b->size = (b->len + len + 1) * 2;
		if ((b->data = realloc(b->data, b->size)) == NULL)
			die(EX_OSERR, "out of memory");
	}
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static void __attribute__((__format__(__printf__, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die(EX_OSERR, "out of memory");
	buf_add(b, s, n);
	free(s);
}

/* A JSON string member, or def. */
static const char *
str(json_t *obj, const char *key, const char *def)
{
	const char	*s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : def;
}

/*
 * Text from the data made safe for one line: control characters (line
 * breaks among them) become spaces.  Caller frees.
 */
static char *
one_line(const char *s)
{
	char	*out, *p;

	if ((out = strdup(s != NULL ? s : "")) == NULL)
		die(EX_OSERR, "out of memory");
	for (p = out; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return out;
}

/*
 * Is s a single address we may put in To/Cc: user@domain by the rule
 * followupd also applies when the address is set, or a bare local user
 * name, with nothing that could start another header or recipient?
 */
static int
address_ok(const char *s)
{
	char	*local;
	int	 ok;

	if (s == NULL || strchr(s, '@') != NULL)
		return fu_email_ok(s);
	/* A local user is the part before "@" of an address. */
	if (asprintf(&local, "%s@localhost", s) == -1)
		die(EX_OSERR, "out of memory");
	ok = fu_email_ok(local);
	free(local);
	return ok;
}

/* Format t in zone ("Tue 24 Nov 10:00"). */
static void
fmt_time(time_t t, const char *zone, char *out, size_t len)
{
	struct tm	tm;

	setenv("TZ", zone != NULL && *zone != '\0' ? zone : "UTC", 1);
	tzset();
	localtime_r(&t, &tm);
	strftime(out, len, "%a %d %b %H:%M", &tm);
}

/* Digits and + of a phone number, for a tel: link. */
static void
tel_uri(const char *phone, char *out, size_t len)
{
	size_t	n = 0;

	for (; *phone != '\0' && n + 1 < len; phone++) {
		if (*phone == 'x')
			break;
		if (isdigit((unsigned char)*phone) || (*phone == '+' && n == 0))
			out[n++] = *phone;
	}
	out[n] = '\0';
}

static const char *
kind_title(const char *kind, const char *fkind)
{
	int	callback = fkind != NULL && strcmp(fkind, "callback") == 0;

	if (strcmp(kind, "reminder") == 0)
		return callback ? "Callback coming up" : "Follow-up coming up";
	if (strcmp(kind, "due") == 0)
		return callback ? "Callback due now" : "Follow-up due now";
	if (strcmp(kind, "missed") == 0)
		return "Missed callback";
	if (strcmp(kind, "digest") == 0)
		return "Your follow-ups";
	if (strcmp(kind, "undelivered") == 0)
		return "Confirmation not sent";
	return "While followupd was down";
}

/* One follow-up line in a list: "Tue 24 Nov 10:00  CALLBACK  Ada (Acme): reason". */
static void
list_followup(struct buf *b, json_t *f, time_t now)
{
	char	 when[64], rel[32], *name, *reason;
	time_t	 due = fu_time_parse(str(f, "due_at", NULL));

	fmt_time(due, mail_rep_zone, when, sizeof when);
	fu_time_relative(due, now, FU_TIME_AGO, rel, sizeof rel);
	name = one_line(str(f, "contact_name", "?"));
	reason = one_line(str(f, "reason", ""));
	buf_printf(b, "  %-16s %-9s #%lld %s%s%s (%s)\n", when,
	    strcmp(str(f, "kind", ""), "callback") == 0 ? "CALLBACK" :
	    "follow-up", (long long)json_integer_value(json_object_get(f, "id")),
	    name, *reason != '\0' ? ": " : "", reason, rel);
	free(name);
	free(reason);
}

/* The body part for a notice about one follow-up. */
static void
body_followup(struct buf *b, json_t *n, time_t now)
{
	json_t		*f = json_object_get(n, "followup");
	json_t		*c = json_object_get(n, "contact");
	json_t		*in;
	const char	*kind = str(n, "kind", "");
	const char	*czone = str(c, "tz", NULL);
	char		 when[64], theirs[64], rel[32], tel[64], *s, *t;
	time_t		 due = fu_time_parse(str(f, "due_at", NULL));
	size_t		 i;

	fmt_time(due, mail_rep_zone, when, sizeof when);
	fu_time_relative(due, now, FU_TIME_AGO, rel, sizeof rel);
	s = one_line(str(c, "name", "?"));
	t = one_line(str(c, "company", ""));
	buf_printf(b, "%s: %s%s%s%s, %s\n\n",
	    kind_title(kind, str(f, "kind", NULL)), s, *t != '\0' ? " (" : "",
	    t, *t != '\0' ? ")" : "", rel);
	if (json_is_true(json_object_get(n, "late")))
		buf_printf(b, "This notice is late: followupd was not running "
		    "when it came due.\n\n");
	buf_printf(b, "  When:     %s (your time, %s)\n", when, mail_rep_zone);
	if (czone != NULL && strcmp(czone, mail_rep_zone) != 0) {
		fmt_time(due, czone, theirs, sizeof theirs);
		buf_printf(b, "            %s their time (%s)\n", theirs, czone);
	}
	buf_printf(b, "  Contact:  %s%s%s\n", s, *t != '\0' ? ", " : "", t);
	free(s);
	free(t);
	if (json_string_value(json_object_get(c, "phone")) != NULL) {
		s = one_line(str(c, "phone", ""));
		tel_uri(s, tel, sizeof tel);
		buf_printf(b, "  Phone:    %s  <tel:%s>\n", s, tel);
		free(s);
	}
	s = one_line(str(c, "stage", ""));
	buf_printf(b, "  Stage:    %s\n", s);
	free(s);
	if (json_string_value(json_object_get(f, "reason")) != NULL) {
		s = one_line(str(f, "reason", ""));
		buf_printf(b, "  Reason:   %s\n", s);
		free(s);
	}
	if (json_array_size(json_object_get(n, "interactions")) > 0) {
		buf_printf(b, "\n  Last contact:\n");
		json_array_foreach(json_object_get(n, "interactions"), i, in) {
			fmt_time(fu_time_parse(str(in, "at", NULL)),
			    mail_rep_zone, when, sizeof when);
			s = one_line(str(in, "note", ""));
			buf_printf(b, "    %s  %s%s%s%s%s\n", when,
			    str(in, "kind", ""),
			    json_is_string(json_object_get(in, "outcome")) ?
			    ", " : "", str(in, "outcome", ""),
			    *s != '\0' ? ": " : "", s);
			free(s);
		}
	}
	if (strcmp(kind, "undelivered") == 0) {
		in = json_object_get(n, "undelivered");
		s = one_line(str(json_object_get(in, "to"), "email", "?"));
		t = one_line(str(in, "error", ""));
		buf_printf(b, "\nThe %s you asked for could not be sent to "
		    "%s: %s.\nTell them yourself, by phone or from your own "
		    "mail.\n", strcmp(str(in, "kind", ""), "cancellation") ==
		    0 ? "cancellation" : "confirmation", s, t);
		free(s);
		free(t);
	} else if (strcmp(kind, "missed") == 0)
		buf_printf(b, "\nThe time you agreed has passed without the "
		    "call being logged.\nCall now: %s.\nIf they take another "
		    "time, record it:\n  " FU_MISSED_REAGREE "\n",
		    FU_MISSED_ADVICE,
		    (long long)json_integer_value(json_object_get(f, "id")));
	else
		buf_printf(b, "\n  followup done %lld     followup snooze %lld "
		    "\"in 1 hour\"\n",
		    (long long)json_integer_value(json_object_get(f, "id")),
		    (long long)json_integer_value(json_object_get(f, "id")));
}

/* The body part for a digest. */
static void
body_digest(struct buf *b, json_t *n, time_t now)
{
	json_t	*v;
	size_t	 i;
	char	*s;

	buf_printf(b, "Your follow-ups for %s\n", str(n, "date", "today"));
	if (json_array_size(json_object_get(n, "overdue")) > 0) {
		buf_printf(b, "\nOverdue:\n");
		json_array_foreach(json_object_get(n, "overdue"), i, v)
			list_followup(b, v, now);
	}
	if (json_array_size(json_object_get(n, "today")) > 0) {
		buf_printf(b, "\nToday (callbacks first):\n");
		json_array_foreach(json_object_get(n, "today"), i, v)
			list_followup(b, v, now);
	}
	if (json_array_size(json_object_get(n, "stale")) > 0) {
		buf_printf(b, "\nNothing planned, no news for a while:\n");
		json_array_foreach(json_object_get(n, "stale"), i, v) {
			s = one_line(str(v, "name", "?"));
			buf_printf(b, "  #%lld %s (%s)\n", (long long)
			    json_integer_value(json_object_get(v, "id")), s,
			    str(v, "stage", ""));
			free(s);
		}
	}
}

/* The body part for one notice. */
static void
body_notice(struct buf *b, json_t *n, time_t now)
{
	const char	*kind = str(n, "kind", "");
	json_t		*v;
	size_t		 i;

	if (strcmp(kind, "digest") == 0)
		body_digest(b, n, now);
	else if (strcmp(kind, "summary") == 0) {
		buf_printf(b, "While followupd was down, %lld notices came "
		    "due:\n\n", (long long)json_integer_value(
		    json_object_get(n, "count")));
		json_array_foreach(json_object_get(n, "notices"), i, v) {
			buf_printf(b, "  [%s] ", str(v, "kind", ""));
			list_followup(b, json_object_get(v, "followup"), now);
		}
	} else
		body_followup(b, n, now);
}

/* The subject, one line, before encoding. Caller frees. */
static char *
subject_of(json_t *notices)
{
	json_t		*n = json_array_get(notices, 0), *f, *c;
	struct buf	 b = { NULL, 0, 0 };
	char		*s, when[64];
	size_t		 count = json_array_size(notices);

	f = json_object_get(n, "followup");
	c = json_object_get(n, "contact");
	if (count > 1)
		buf_printf(&b, "%zu follow-up notices", count);
	else if (strcmp(str(n, "kind", ""), "digest") == 0)
		buf_printf(&b, "Your follow-ups for %s: %zu overdue, %zu today",
		    str(n, "date", "today"),
		    json_array_size(json_object_get(n, "overdue")),
		    json_array_size(json_object_get(n, "today")));
	else if (strcmp(str(n, "kind", ""), "summary") == 0)
		buf_printf(&b, "While followupd was down: %lld notices",
		    (long long)json_integer_value(json_object_get(n, "count")));
	else {
		fmt_time(fu_time_parse(str(f, "due_at", NULL)), mail_rep_zone,
		    when, sizeof when);
		buf_printf(&b, "%s: %s%s%s%s at %s",
		    kind_title(str(n, "kind", ""), str(f, "kind", NULL)),
		    str(c, "name", "?"),
		    json_is_string(json_object_get(c, "company")) ? " (" : "",
		    str(c, "company", ""),
		    json_is_string(json_object_get(c, "company")) ? ")" : "",
		    when);
	}
	s = one_line(b.data);
	free(b.data);
	if (strlen(s) > MAIL_SUBJECT_MAX) {
		/* Cut on a character boundary. */
		size_t	cut = MAIL_SUBJECT_MAX;

		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
		strcpy(s + cut, "...");
	}
	return s;
}

/* Header lines are kept to RFC 2047's 76 characters, CRLF aside. */
#define MAIL_HEADER_LINE	76

/*
 * Must the subject s be RFC 2047-encoded to arrive as written?  It must
 * if it holds anything but printable ASCII, if a word of it looks like an
 * encoded word (a contact named "=?UTF-8?B?...?=" would be decoded by the
 * reader's mail program), or if a word is too long to fold onto a line.
 */
static int
subject_needs_encoding(const char *s)
{
	const unsigned char	*p;
	size_t			 word = 0;

	if (strstr(s, "=?") != NULL)
		return 1;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			return 1;
		word = *p == ' ' ? 0 : word + 1;
		if (word > MAIL_HEADER_LINE - sizeof "Subject: " + 1)
			return 1;
	}
	return 0;
}

/*
 * Write the Subject header, no line over MAIL_HEADER_LINE characters (the
 * first with its "Subject: "): plain printable ASCII folded between
 * words, else RFC 2047 B-encoded words, never splitting a UTF-8
 * character, one per line.  Blanks at either end are dropped, and in
 * plain text a run of blanks folds as one.
 */
static void
header_subject(struct buf *out, const char *s)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*w;
	size_t			 len, start, end, i, col, room, n;
	unsigned int		 v;

	while (*s == ' ')
		s++;
	len = strlen(s);
	while (len > 0 && s[len - 1] == ' ')
		len--;
	buf_printf(out, "Subject:");
	col = strlen("Subject:");
	if (!subject_needs_encoding(s)) {
		for (w = s; w < s + len; w += n) {
			while (*w == ' ')
				w++;
			n = strcspn(w, " ");
			if (w + n > s + len)
				n = s + len - w;
			/* Fold before the blank that leads the word. */
			if (col + 1 + n > MAIL_HEADER_LINE) {
				buf_printf(out, "\r\n");
				col = 0;
			}
			buf_printf(out, " %.*s", (int)n, w);
			col += 1 + n;
		}
		buf_printf(out, "\r\n");
		return;
	}
	for (start = 0; start < len; start = end) {
		/*
		 * " =?UTF-8?B?" and "?=" take 13 of the line: what is left,
		 * in whole 4-character groups, each carrying 3 bytes.
		 */
		room = (MAIL_HEADER_LINE - col - 13) / 4 * 3;
		end = start + room < len ? start + room : len;
		while (end < len && end > start &&
		    ((unsigned char)s[end] & 0xc0) == 0x80)
			end--;
		buf_printf(out, " =?UTF-8?B?");
		for (i = start; i < end; i += 3) {
			v = (unsigned char)s[i] << 16;
			if (i + 1 < end)
				v |= (unsigned char)s[i + 1] << 8;
			if (i + 2 < end)
				v |= (unsigned char)s[i + 2];
			buf_printf(out, "%c%c%c%c", b64[(v >> 18) & 63],
			    b64[(v >> 12) & 63],
			    i + 1 < end ? b64[(v >> 6) & 63] : '=',
			    i + 2 < end ? b64[v & 63] : '=');
		}
		buf_printf(out, "?=%s", end < len ? "\r\n" : "");
		col = 0;
	}
	buf_printf(out, "\r\n");
}

/*
 * The X-Followup-Kind header's value: one of the notice kinds the
 * protocol defines, "batch" for several, else "notice"; never text from
 * the input as such, which could add a header.
 */
static const char *
header_kind(json_t *notices)
{
#define MAIL_KIND_NAME(id, name)	name,
	static const char *const kinds[] = {
		FU_NOTICE_KINDS(MAIL_KIND_NAME)
	};
#undef MAIL_KIND_NAME
	const char	*kind;
	size_t		 i;

	if (json_array_size(notices) > 1)
		return "batch";
	kind = str(json_array_get(notices, 0), "kind", "");
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strcmp(kind, kinds[i]) == 0)
			return kinds[i];
	}
	if (strcmp(kind, "undelivered") == 0)
		return "undelivered";
	return "notice";
}

/*
 * This host's name as it may stand in a header (Message-ID, the default
 * sender): letters, digits, "-" and "." only, else "localhost".
 */
static void
mail_hostname(char *host, size_t len)
{
	size_t	i;

	if (gethostname(host, len) != 0)
		host[0] = '\0';
	host[len - 1] = '\0';
	for (i = 0; host[i] != '\0'; i++) {
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' &&
		    host[i] != '.')
			break;
	}
	if (host[0] == '\0' || host[i] != '\0')
		snprintf(host, len, "localhost");
}

/* Quoted-printable (RFC 2045) with CRLF line ends. */
static void
body_qp(struct buf *out, const char *text)
{
	const unsigned char	*p;
	int			 col = 0;
	char			 enc[4];

	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == '\n') {
			buf_add(out, "\r\n", 2);
			col = 0;
			continue;
		}
		if ((*p >= 33 && *p <= 126 && *p != '=') ||
		    (*p == ' ' && p[1] != '\n' && p[1] != '\0')) {
			if (col >= 75) {
				buf_add(out, "=\r\n", 3);
				col = 0;
			}
			buf_add(out, (const char *)p, 1);
			col++;
		} else {
			if (col >= 73) {
				buf_add(out, "=\r\n", 3);
				col = 0;
			}
			snprintf(enc, sizeof enc, "=%02X", *p);
			buf_add(out, enc, 3);
			col += 3;
		}
	}
	if (col > 0)
		buf_add(out, "\r\n", 2);
}

/* Is id a message id we may copy: <left@right>, nothing odd inside? */
static int
message_id_ok(const char *id)
{
	size_t	len;

	if (id == NULL || (len = strlen(id)) < 5 || len > 200 ||
	    id[0] != '<' || id[len - 1] != '>' || strchr(id, '@') == NULL)
		return 0;
	for (; *id != '\0'; id++) {
		if ((unsigned char)*id <= 0x20 || (unsigned char)*id >= 0x7f)
			return 0;
	}
	return 1;
}

static void	body_base64(struct buf *, const char *, size_t);

/*
 * The mail that puts a follow-up in the rep's own calendar (iMIP, RFC
 * 6047): a short text and the invitation n carries as a text/calendar
 * part whose method parameter is its METHOD, as Outlook and Gmail send
 * theirs (multipart/alternative), so the calendar takes it in at once.
 */
static void
mail_invitation(struct buf *msg, json_t *n, const char *id,
    const char *from, const char *to, const char *host, const char *date,
    time_t now)
{
	json_t		*inv = json_object_get(n, "invitation");
	json_t		*f = json_object_get(n, "followup");
	const char	*method = str(inv, "method", "");
	const char	*cal = str(inv, "calendar", NULL);
	char		 when[64], boundary[96], *summary, *reason, *subject;
	struct buf	 body = { NULL, 0, 0 };
	int		 cancel;
	time_t		 start;

	/* Never a method from the input as such: it goes into a header. */
	if (strcmp(method, "REQUEST") != 0 && strcmp(method, "CANCEL") != 0)
		die(EX_DATAERR, "invitation method \"%s\" is not REQUEST or "
		    "CANCEL", method);
	if (cal == NULL)
		die(EX_DATAERR, "the invitation has no calendar object");
	cancel = strcmp(method, "CANCEL") == 0;
	start = fu_time_parse(str(inv, "start", NULL));
	fmt_time(start, mail_rep_zone, when, sizeof when);
	summary = one_line(str(inv, "summary", "follow-up"));
	reason = one_line(str(f, "reason", ""));
	if (asprintf(&subject, "%s: %s, %s", cancel ? "Removed from your "
	    "calendar" : "In your calendar", summary, when) == -1)
		die(EX_OSERR, "out of memory");
	buf_printf(&body, "%s\n%s %s\n", summary, when, mail_rep_zone);
	if (*reason != '\0')
		buf_printf(&body, "Why: %s\n", reason);
	buf_printf(&body, "\n%s (follow-up #%lld)\n", cancel ?
	    "This follow-up is closed: the cancellation in this message "
	    "takes it out of your calendar." :
	    "The invitation in this message puts this follow-up in your "
	    "calendar, with an alarm when followup reminds you.",
	    (long long)json_integer_value(json_object_get(f, "id")));
	buf_printf(&body, "\n-- \nfollowup, from followupd on %s "
	    "(followup config calendar off stops these)\n", host);
	snprintf(boundary, sizeof boundary, "followup-%lld-%ld",
	    (long long)now, (long)getpid());

	buf_printf(msg, "From: followup <%s>\r\n", from);
	buf_printf(msg, "To: %s\r\n", to);
	header_subject(msg, subject);
	buf_printf(msg, "Date: %s\r\n", date);
	if (message_id_ok(id))
		buf_printf(msg, "Message-ID: %s\r\n", id);
	else
		buf_printf(msg, "Message-ID: <followup.%lld.%ld@%s>\r\n",
		    (long long)now, (long)getpid(), host);
	buf_printf(msg, "MIME-Version: 1.0\r\n");
	buf_printf(msg, "Content-Type: multipart/alternative; "
	    "boundary=\"%s\"\r\n", boundary);
	buf_printf(msg, "Auto-Submitted: auto-generated\r\n");
	buf_printf(msg, "X-Followup-Kind: invitation\r\n");
	buf_printf(msg, "\r\n--%s\r\n", boundary);
	buf_printf(msg, "Content-Type: text/plain; charset=UTF-8\r\n");
	buf_printf(msg, "Content-Transfer-Encoding: quoted-printable\r\n");
	buf_printf(msg, "\r\n");
	body_qp(msg, body.data);
	buf_printf(msg, "\r\n--%s\r\n", boundary);
	buf_printf(msg, "Content-Type: text/calendar; charset=UTF-8; "
	    "method=%s\r\n", method);
	buf_printf(msg, "Content-Transfer-Encoding: base64\r\n");
	buf_printf(msg, "\r\n");
	body_base64(msg, cal, strlen(cal));
	buf_printf(msg, "\r\n--%s--\r\n", boundary);
	free(body.data);
	free(subject);
	free(summary);
	free(reason);
}

/* Does this process run with no_new_privs (NoNewPrivileges= in a unit)? */
static int
mail_no_new_privs(void)
{
	FILE	*f;
	char	 line[256];
	int	 on = 0;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "NoNewPrivs:", 11) == 0) {
			on = atoi(line + 11) == 1;
			break;
		}
	}
	fclose(f);
	return on;
}

/*
 * Does the sendmail program prog need to gain privileges to hand mail
 * over?  It does when it is set-user-ID or set-group-ID (after following
 * symbolic links: exim's sendmail is a link to its setuid binary), or when
 * it is Postfix's, which hands the mail to a setgid postdrop beside it.
 * If so, say which in why and return 1.
 */
static int
mail_sendmail_setid(const char *prog, char *why, size_t len)
{
	struct stat	 sb;
	char		*real, *d, *b, *drop;
	int		 found = 0;

	if (stat(prog, &sb) != 0)
		return 0;
	if ((real = realpath(prog, NULL)) == NULL)
		return 0;
	if (sb.st_mode & (S_ISUID | S_ISGID)) {
		snprintf(why, len, "%s%s%s%s is set%sid", prog,
		    strcmp(real, prog) != 0 ? " (" : "",
		    strcmp(real, prog) != 0 ? real : "",
		    strcmp(real, prog) != 0 ? ")" : "",
		    sb.st_mode & S_ISUID ? "u" : "g");
		free(real);
		return 1;
	}
	if ((d = strdup(real)) == NULL || (b = strdup(real)) == NULL)
		die(EX_OSERR, "out of memory");
	if (strcmp(basename(b), "sendmail") == 0) {
		if (asprintf(&drop, "%s/postdrop", dirname(d)) == -1)
			die(EX_OSERR, "out of memory");
		if (stat(drop, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    (sb.st_mode & (S_ISUID | S_ISGID))) {
			snprintf(why, len, "%s hands mail to %s, which is "
			    "set%sid (Postfix)", prog, drop,
			    sb.st_mode & S_ISUID ? "u" : "g");
			found = 1;
		}
		free(drop);
	}
	free(d);
	free(b);
	free(real);
	return found;
}

/*
 * Under no_new_privs a set-ID sendmail runs without its privileges and
 * cannot queue the mail.  Say so on stderr and return 1 when that is the
 * case for prog.
 */
static int
mail_sendmail_blocked(const char *prog)
{
	char	why[1024];

	if (!mail_no_new_privs() || !mail_sendmail_setid(prog, why,
	    sizeof why))
		return 0;
	fprintf(stderr, "followup-mail: %s, but it runs with no new "
	    "privileges (NoNewPrivileges=, as in followupd's system unit), "
	    "so it cannot queue mail: submit over SMTP with msmtp instead, "
	    "see \"Mail from the sandbox\" in the README or MAIL FROM THE "
	    "SANDBOX in followupd(8)\n", why);
	return 1;
}

/*
 * Hand the message to "sendmail -f FROM -t -i"; return its exit status.
 * The envelope sender is the From address: a sendmail that submits over
 * SMTP with no configuration file (msmtp --host=...) has no other way to
 * learn it, and bounces then go back to the address the rep sees.
 */
static int
send_mail(const char *sendmail, const char *from, const char *msg, size_t len)
{
	char	*copy, *argv[32], *word, *save;
	int	 fd[2], status, argc = 0;
	pid_t	 pid;
	size_t	 off = 0;
	ssize_t	 n;

	if ((copy = strdup(sendmail)) == NULL)
		die(EX_OSERR, "out of memory");
	for (word = strtok_r(copy, " \t", &save); word != NULL && argc < 27;
	    word = strtok_r(NULL, " \t", &save))
		argv[argc++] = word;
	if (argc == 0)
		die(EX_USAGE, "empty --sendmail");
	argv[argc++] = "-f";
	argv[argc++] = (char *)from;
	argv[argc++] = "-t";
	argv[argc++] = "-i";
	argv[argc] = NULL;
	signal(SIGPIPE, SIG_IGN);
	if (pipe(fd) != 0)
		die(EX_OSERR, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		die(EX_OSERR, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fd[0], 0);
		close(fd[0]);
		close(fd[1]);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		fprintf(stderr, "followup-mail: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	close(fd[0]);
	while (off < len) {
		n = write(fd[1], msg + off, len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += n;
	}
	close(fd[1]);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			die(EX_OSERR, "waitpid: %s", strerror(errno));
	}
	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) != 0)
			fprintf(stderr, "followup-mail: %s exited %d\n",
			    argv[0], WEXITSTATUS(status));
		status = WEXITSTATUS(status) == 0 ? 0 : EX_TEMPFAIL;
	} else {
		fprintf(stderr, "followup-mail: %s killed by signal %d\n",
		    argv[0], WTERMSIG(status));
		status = EX_TEMPFAIL;
	}
	if (status != 0)
		(void)mail_sendmail_blocked(argv[0]);	/* say why, if so */
	free(copy);
	return status;
}

/* Is kind one a rep's own request sends to a contact? */
static int
kind_to_contact(const char *kind)
{
	return strcmp(kind, "confirmation") == 0 ||
	    strcmp(kind, "cancellation") == 0;
}

/* len bytes of s in base64, on one line (an RFC 2047 word, a body line). */
static void
body_base64_word(struct buf *out, const char *s, size_t len)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;
	unsigned int		 v;

	for (i = 0; i < len; i += 3) {
		v = p[i] << 16;
		if (i + 1 < len)
			v |= p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		buf_printf(out, "%c%c%c%c", b64[(v >> 18) & 63],
		    b64[(v >> 12) & 63], i + 1 < len ? b64[(v >> 6) & 63] : '=',
		    i + 2 < len ? b64[v & 63] : '=');
	}
}

/* Base64 (RFC 2045) in lines of 76 characters with CRLF line ends. */
static void
body_base64(struct buf *out, const char *data, size_t len)
{
	size_t	i;

	/* 57 bytes make a line of 76. */
	for (i = 0; i < len; i += 57) {
		body_base64_word(out, data + i, len - i < 57 ? len - i : 57);
		buf_add(out, "\r\n", 2);
	}
}

/*
 * An address header, "Field: name <addr>": the name as a quoted string
 * when it is printable ASCII, else as RFC 2047 B-encoded words, so no
 * name can add a header or a recipient.
 */
static void
header_address(struct buf *out, const char *field, const char *name,
    const char *addr)
{
	const unsigned char	*p;
	char			*n = one_line(name);
	size_t			 i, len = strlen(n), end;
	int			 plain = strstr(n, "=?") == NULL;

	for (p = (const unsigned char *)n; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			plain = 0;
	}
	buf_printf(out, "%s: ", field);
	if (len == 0)
		;
	else if (plain) {
		buf_add(out, "\"", 1);
		for (p = (const unsigned char *)n; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_add(out, "\\", 1);
			buf_add(out, (const char *)p, 1);
		}
		buf_add(out, "\" ", 2);
	} else {
		/* Words of at most 45 bytes, never splitting a character. */
		for (i = 0; i < len; i = end) {
			end = i + 45 < len ? i + 45 : len;
			while (end < len && end > i &&
			    ((unsigned char)n[end] & 0xc0) == 0x80)
				end--;
			buf_printf(out, "%s=?UTF-8?B?", i > 0 ? "\r\n " : "");
			body_base64_word(out, n + i, end - i);
			buf_printf(out, "?=");
		}
		buf_add(out, " ", 1);
	}
	buf_printf(out, "<%s>\r\n", addr);
	free(n);
}

/* The calendar with every line ended by CRLF, as RFC 5545 wants. */
static void
calendar_crlf(struct buf *out, const char *cal)
{
	for (; *cal != '\0'; cal++) {
		if (*cal == '\r')
			continue;
		if (*cal == '\n')
			buf_add(out, "\r\n", 2);
		else
			buf_add(out, cal, 1);
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_add(out, "\r\n", 2);
}

/*
 * The iMIP mail (RFC 6047) for confirmation notice n: From and Reply-To
 * the rep, To the contact (or to, if given), the letter and the
 * invitation as alternatives.  The data must agree with itself: the
 * sender is the rep's own address, the recipient the contact's, the
 * method the kind's and the calendar's.  Set *rcpt to the recipient.
 */
static void
mail_confirmation(struct buf *msg, json_t *root, json_t *rep, json_t *n,
    const char *to, const char *date, const char **rcpt)
{
	json_t		*conf = json_object_get(n, "confirmation");
	json_t		*cfrom = json_object_get(conf, "from");
	json_t		*cto = json_object_get(conf, "to");
	const char	*kind = str(n, "kind", "");
	const char	*method = str(conf, "method", "");
	const char	*cal = str(conf, "calendar", NULL);
	const char	*text = str(conf, "text", NULL);
	const char	*repaddr = str(cfrom, "email", NULL);
	const char	*contact = str(cto, "email", NULL);
	const char	*id = str(root, "message_id", NULL);
	struct buf	 calbuf = { NULL, 0, 0 };
	const char	*m;
	char		*subject, *line;

	if (!json_is_object(conf) || cal == NULL || text == NULL)
		die(EX_DATAERR, "the %s carries no message", kind);
	if (strcmp(method, strcmp(kind, "cancellation") == 0 ? "CANCEL" :
	    "REQUEST") != 0)
		die(EX_DATAERR, "a %s with method \"%s\"", kind, method);
	/* The part's method= parameter must say what the calendar says. */
	if (asprintf(&line, "\nMETHOD:%s", method) == -1)
		die(EX_OSERR, "out of memory");
	if ((m = strstr(cal, line)) == NULL || (m[strlen(line)] != '\r' &&
	    m[strlen(line)] != '\n'))
		die(EX_DATAERR, "the %s's calendar is not METHOD:%s", kind,
		    method);
	free(line);
	if (repaddr == NULL || !fu_email_ok(repaddr) ||
	    strcmp(repaddr, str(rep, "email", "")) != 0)
		die(EX_DATAERR, "the %s is not from the rep's own address",
		    kind);
	if (contact == NULL || !fu_email_ok(contact) || strcmp(contact,
	    str(json_object_get(n, "contact"), "email", "")) != 0)
		die(EX_DATAERR, "the %s is not to the contact's address",
		    kind);
	if (!message_id_ok(id))
		die(EX_DATAERR, "the %s has no valid message_id", kind);
	*rcpt = to != NULL ? to : contact;

	header_address(msg, "From", str(cfrom, "name", ""), repaddr);
	header_address(msg, "Reply-To", str(cfrom, "name", ""), repaddr);
	header_address(msg, "To", to != NULL ? "" : str(cto, "name", ""),
	    *rcpt);
	subject = one_line(str(conf, "subject", ""));
	header_subject(msg, subject);
	free(subject);
	buf_printf(msg, "Date: %s\r\n", date);
	/* The daemon's id for the outbox row: the same at every attempt. */
	buf_printf(msg, "Message-ID: %s\r\n", id);
	buf_printf(msg, "MIME-Version: 1.0\r\n");
	buf_printf(msg, "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"=_followup-alternative\"\r\n");
	buf_printf(msg, "X-Followup-Kind: %s\r\n", strcmp(kind,
	    "cancellation") == 0 ? "cancellation" : "confirmation");
	/*
	 * No boundary can occur in the parts: quoted-printable writes "=" as
	 * "=3D" and base64 has no "_".
	 */
	buf_printf(msg, "\r\n--=_followup-alternative\r\n");
	buf_printf(msg, "Content-Type: text/plain; charset=UTF-8\r\n");
	buf_printf(msg, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	body_qp(msg, text);
	buf_printf(msg, "\r\n--=_followup-alternative\r\n");
	buf_printf(msg, "Content-Type: text/calendar; charset=UTF-8; "
	    "method=%s\r\n", method);
	/* base64 keeps the calendar's CRLF line ends byte for byte. */
	buf_printf(msg, "Content-Transfer-Encoding: base64\r\n\r\n");
	calendar_crlf(&calbuf, cal);
	body_base64(msg, calbuf.data, calbuf.len);
	free(calbuf.data);
	buf_printf(msg, "\r\n--=_followup-alternative--\r\n");
}

/*
 * --check: could a message be handed over?  The sendmail program must be
 * there and runnable by this user, must not need privileges it cannot
 * gain (a set-ID sendmail under no_new_privs), and the addresses given
 * must be addresses.  Nothing is sent.
 */
static int
check_setup(const char *sendmail, const char *from, const char *to)
{
	char	*copy, *prog, *save;

	if ((copy = strdup(sendmail)) == NULL)
		die(EX_OSERR, "out of memory");
	if ((prog = strtok_r(copy, " \t", &save)) == NULL)
		die(EX_USAGE, "empty --sendmail");
	if (access(prog, X_OK) != 0) {
		fprintf(stderr, "followup-mail: the sendmail program %s cannot "
		    "be run: %s\n", prog, strerror(errno));
		free(copy);
		return EX_UNAVAILABLE;
	}
	if (mail_sendmail_blocked(prog)) {
		free(copy);
		return EX_CONFIG;
	}
	if (from != NULL && !address_ok(from))
		die(EX_USAGE, "--from \"%s\" is not an address", from);
	if (to != NULL && !address_ok(to))
		die(EX_USAGE, "--to \"%s\" is not an address", to);
	printf("followup-mail: mail goes through %s\n", sendmail);
	free(copy);
	return 0;
}

static void __attribute__((__noreturn__))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
"usage: followup-mail [--sendmail PROGRAM] [--from ADDRESS] [--to ADDRESS]\n"
"                     [--dry-run] [--check] [--help] [--version]\n"
"\n"
"The followupd mail hook: reads one message of notices (JSON) on standard\n"
"input and mails it to the rep through \"PROGRAM -f FROM -t -i\"; a\n"
"confirmation the rep asked for goes to the contact instead, From the rep,\n"
"with its calendar invitation (iMIP).\n"
"\n"
"  --sendmail PROGRAM  the sendmail to use (default %s); words after\n"
"                      the program are passed to it as arguments\n"
"  --from ADDRESS      the sender, in From: and as the envelope sender\n"
"                      (-f FROM); default followup@HOSTNAME\n"
"  --to ADDRESS        send here instead of the rep's (or the contact's)\n"
"                      address\n"
"  --dry-run           print the message instead of sending it\n"
"  --check             check that PROGRAM can be run (and, with no new\n"
"                      privileges, is not set-ID), send nothing\n"
"  --help, --version\n", MAIL_SENDMAIL);
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sendmail",	required_argument,	NULL, 's' },
		{ "from",	required_argument,	NULL, 'f' },
		{ "to",		required_argument,	NULL, 't' },
		{ "dry-run",	no_argument,		NULL, 'n' },
		{ "check",	no_argument,		NULL, 'c' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	const char	*sendmail = MAIL_SENDMAIL, *from = NULL, *to = NULL;
	const char	*manager = NULL, *kind, *id;
	struct buf	 in = { NULL, 0, 0 }, msg = { NULL, 0, 0 };
	struct buf	 body = { NULL, 0, 0 };
	json_t		*root, *rep, *notices, *n;
	json_error_t	 jerr;
	char		 host[256], date[64], chunk[65536], fromaddr[320];
	char		*subject;
	struct tm	 tm;
	time_t		 now = time(NULL);
	size_t		 i, r;
	int		 ch, dry = 0, check = 0, confirmations = 0;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sendmail = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'n':
			dry = 1;
			break;
		case 'c':
			check = 1;
			break;
		case 'V':
			printf("followup-mail %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(0);
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);
	if (check)
		return check_setup(sendmail, from, to);

	while ((r = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
		buf_add(&in, chunk, r);
		if (in.len > MAIL_INPUT_MAX)
			die(EX_DATAERR, "input over %d bytes", MAIL_INPUT_MAX);
	}
	if (in.len == 0)
		die(EX_DATAERR, "no input: expected a message of notices "
		    "(JSON) on standard input");
	if ((root = json_loadb(in.data, in.len, 0, &jerr)) == NULL)
		die(EX_DATAERR, "input is not JSON: %s (line %d)", jerr.text,
		    jerr.line);
	free(in.data);
	notices = json_object_get(root, "notices");
	if (!json_is_array(notices) || json_array_size(notices) == 0) {
		/* One bare notice is accepted too. */
		notices = json_pack("[O]", root);
	} else
		json_incref(notices);
	n = json_array_get(notices, 0);
	rep = json_object_get(root, "rep");
	if (rep == NULL)
		rep = json_object_get(n, "rep");
	mail_rep_zone = str(rep, "tz", "UTC");

	mail_hostname(host, sizeof host);
	if (from == NULL) {
		snprintf(fromaddr, sizeof fromaddr, "followup@%s", host);
		from = fromaddr;
	}
	if (!address_ok(from))
		die(EX_USAGE, "--from \"%s\" is not an address", from);
	setenv("TZ", "UTC", 1);
	tzset();
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000",
	    &tm);

	/*
	 * A confirmation the rep asked for is the only mail to a contact,
	 * and it travels alone: in a message with anything else it could
	 * carry a reminder to the contact, or the contact's copy to the rep.
	 */
	json_array_foreach(notices, i, n) {
		if (kind_to_contact(str(n, "kind", "")))
			confirmations++;
	}
	if (confirmations > 0 && json_array_size(notices) != 1)
		die(EX_DATAERR, "a confirmation must be alone in its message");
	if (confirmations > 0) {
		mail_confirmation(&msg, root, rep, json_array_get(notices, 0),
		    to, date, &to);
		goto send;
	}

	if (to == NULL)
		to = str(rep, "email", NULL);
	if (to == NULL)
		to = str(rep, "name", NULL);
	if (!address_ok(to))
		die(EX_DATAERR, "no usable address for the rep (\"%s\")",
		    to != NULL ? to : "");
	json_array_foreach(notices, i, n) {
		kind = str(n, "kind", "");
		if (strcmp(kind, "missed") == 0 && address_ok(str(n, "manager",
		    NULL)))
			manager = str(n, "manager", NULL);
	}

	setenv("TZ", "UTC", 1);
	tzset();
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000",
	    &tm);
	/* An invitation for the rep's calendar is a message of its own. */
	if (strcmp(str(json_array_get(notices, 0), "kind", ""),
	    "invitation") == 0) {
		mail_invitation(&msg, json_array_get(notices, 0),
		    str(root, "message_id", NULL), from, to, host, date, now);
		json_decref(notices);
		json_decref(root);
		goto out;
	}

	json_array_foreach(notices, i, n) {
		if (i > 0)
			buf_printf(&body, "\n----------------------------------"
			    "------------------------------------\n\n");
		body_notice(&body, n, now);
	}
	buf_printf(&body, "\n-- \nfollowup, from followupd on %s\n", host);

	id = str(root, "message_id", NULL);
	buf_printf(&msg, "From: followup <%s>\r\n", from);
	buf_printf(&msg, "To: %s\r\n", to);
	if (manager != NULL && strcmp(manager, to) != 0)
		buf_printf(&msg, "Cc: %s\r\n", manager);
	subject = subject_of(notices);
	header_subject(&msg, subject);
	free(subject);
	buf_printf(&msg, "Date: %s\r\n", date);
	if (message_id_ok(id))
		buf_printf(&msg, "Message-ID: %s\r\n", id);
	else
		buf_printf(&msg, "Message-ID: <followup.%lld.%ld@%s>\r\n",
		    (long long)now, (long)getpid(), host);
	buf_printf(&msg, "MIME-Version: 1.0\r\n");
	buf_printf(&msg, "Content-Type: text/plain; charset=UTF-8\r\n");
	buf_printf(&msg, "Content-Transfer-Encoding: quoted-printable\r\n");
	buf_printf(&msg, "Auto-Submitted: auto-generated\r\n");
	buf_printf(&msg, "X-Followup-Kind: %s\r\n", header_kind(notices));
	buf_printf(&msg, "\r\n");
	body_qp(&msg, body.data);
	free(body.data);
send:
	json_decref(notices);
	json_decref(root);

out:
	if (dry) {
		fwrite(msg.data, 1, msg.len, stdout);
		free(msg.data);
		return 0;
	}
	r = send_mail(sendmail, from, msg.data, msg.len);
	free(msg.data);
	return (int)r;
}
