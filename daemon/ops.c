/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The op table and the generic runner.  Every step all ops share happens
 * here, once: parse the line, find the op, check the argument names and
 * types, join the group commit for writes, call the handler, and wrap its
 * result or error in the reply envelope.  A handler only checks meaning,
 * calls the store and builds its result.
 */

#include <config.h>

#include <assert.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "followupd.h"
#include "followup/utf8.h"

#define OP_WRITE	0x1	/* changes the store: joins the group commit */
#define OP_ADMIN	0x2	/* the admin group only: refused with why */
#define OP_DEFER	0x4	/* may answer later (ops_defer, ops_answer) */
#define OP_STREAM	0x8	/* turns its connection into a stream */
#define OP_TEXT		0x10	/* writes its result as text (ctx->text):
				   a reply carrying many rows, or a hot
				   write's */
#define OP_LOOP		0x20	/* runs on the loop even where the store
				   has lanes (it reads the loop's state;
				   it may hand itself over, ops_offload) */

/* A write while only a standby answers (a failover under way). */
#define OPS_STANDBY_MSG \
	"the database server answers reads only (a standby, while a " \
	"failover is under way); nothing was changed; try again once " \
	"a server that writes is back (followupd connects again by itself)"

enum arg_type {
	ARG_NONE,
	ARG_STRING,	/* a string */
	ARG_TEXT,	/* a string, or null to clear */
	ARG_ID,		/* a positive integer */
	ARG_INT,	/* an integer */
	ARG_BOOL,	/* true or false */
	ARG_ARRAY,	/* an array */
	ARG_DURATION	/* seconds, or a string such as "15m" */
};

struct op_arg {
	const char	*name;
	enum arg_type	 type;
	int		 required;
};

#define OP_MAX_ARGS	16
struct op_entry {
	op_handler	 fn;
	int		 flags;
	struct op_arg	 args[OP_MAX_ARGS];
	const char	*why;		/* OP_ADMIN: the refusal's message */
};

#define REQ	1
#define TZ_ARG	{ "tz", ARG_STRING, 0 }

/* One line per op; the names come from protocol.h. */
static const struct op_entry op_table[FU_OP_COUNT] = {
	[FU_OP_HELLO] = { op_hello, OP_LOOP, { { NULL } } },
	[FU_OP_STATUS] = { op_status, OP_LOOP, { { NULL } } },
	[FU_OP_CONTACT_ADD] = { op_contact_add, OP_WRITE, {
	    { "name", ARG_STRING, REQ }, { "company", ARG_TEXT },
	    { "phone", ARG_TEXT }, { "email", ARG_TEXT }, { "tz", ARG_TEXT },
	    { "stage", ARG_STRING }, { "notes", ARG_TEXT }, { NULL } } },
	[FU_OP_CONTACT_GET] = { op_contact_get, OP_TEXT, {
	    { "id", ARG_ID, REQ }, { NULL } } },
	[FU_OP_CONTACT_UPDATE] = { op_contact_update, OP_WRITE, {
	    { "id", ARG_ID, REQ }, { "name", ARG_STRING },
	    { "company", ARG_TEXT }, { "phone", ARG_TEXT },
	    { "email", ARG_TEXT }, { "tz", ARG_TEXT }, { "stage", ARG_STRING },
	    { "notes", ARG_TEXT }, { NULL } } },
	[FU_OP_CONTACT_ARCHIVE] = { op_contact_archive, OP_WRITE, {
	    { "id", ARG_ID, REQ }, { "restore", ARG_BOOL }, { NULL } } },
	[FU_OP_CONTACT_LIST] = { op_contact_list, OP_TEXT, {
	    { "stage", ARG_STRING }, { "search", ARG_STRING },
	    { "archived", ARG_BOOL }, { "limit", ARG_INT },
	    { "after", ARG_INT }, { "owner", ARG_STRING }, { NULL } } },
	[FU_OP_INTERACTION_ADD] = { op_interaction_add, OP_WRITE, {
	    { "contact", ARG_ID, REQ }, { "kind", ARG_STRING, REQ },
	    { "outcome", ARG_TEXT }, { "note", ARG_TEXT },
	    { "at", ARG_STRING }, { "next", ARG_STRING },
	    { "next_kind", ARG_STRING }, { "reason", ARG_TEXT },
	    { "no_next", ARG_BOOL }, { "force", ARG_BOOL },
	    { "confirm", ARG_BOOL }, TZ_ARG, { NULL } } },
	[FU_OP_INTERACTION_LIST] = { op_interaction_list, OP_TEXT, {
	    { "contact", ARG_ID, REQ }, { "since", ARG_STRING },
	    { "limit", ARG_INT }, { "after", ARG_STRING }, TZ_ARG,
	    { NULL } } },
	[FU_OP_FOLLOWUP_ADD] = { op_followup_add, OP_WRITE | OP_TEXT, {
	    { "contact", ARG_ID, REQ }, { "due", ARG_STRING, REQ },
	    { "kind", ARG_STRING }, { "reason", ARG_TEXT },
	    { "remind_before", ARG_DURATION }, { "force", ARG_BOOL },
	    { "confirm", ARG_BOOL }, TZ_ARG, { NULL } } },
	[FU_OP_FOLLOWUP_GET] = { op_followup_get, 0, {
	    { "id", ARG_ID, REQ }, { NULL } } },
	[FU_OP_FOLLOWUP_DONE] = { op_followup_done, OP_WRITE, {
	    { "id", ARG_ID, REQ }, { "note", ARG_TEXT },
	    { "next", ARG_STRING }, { "next_kind", ARG_STRING },
	    { "reason", ARG_TEXT }, { "force", ARG_BOOL }, TZ_ARG,
	    { NULL } } },
	[FU_OP_FOLLOWUP_SNOOZE] = { op_followup_snooze, OP_WRITE, {
	    { "id", ARG_ID, REQ }, { "until", ARG_STRING, REQ },
	    { "force", ARG_BOOL }, TZ_ARG, { NULL } } },
	[FU_OP_FOLLOWUP_RESCHEDULE] = { op_followup_reschedule, OP_WRITE, {
	    { "id", ARG_ID, REQ }, { "due", ARG_STRING, REQ },
	    { "note", ARG_TEXT }, { "force", ARG_BOOL }, TZ_ARG,
	    { NULL } } },
	[FU_OP_FOLLOWUP_REAGREE] = { op_followup_reagree, OP_WRITE, {
	    { "id", ARG_ID, REQ }, { "due", ARG_STRING, REQ },
	    { "note", ARG_TEXT }, { "confirm", ARG_BOOL }, TZ_ARG,
	    { NULL } } },
	[FU_OP_FOLLOWUP_CANCEL] = { op_followup_cancel, OP_WRITE, {
	    { "id", ARG_ID, REQ }, { "note", ARG_TEXT },
	    { "confirm", ARG_BOOL }, { NULL } } },
	[FU_OP_FOLLOWUP_CONFIRM] = { op_followup_confirm, OP_WRITE, {
	    { "id", ARG_ID, REQ }, { "dry_run", ARG_BOOL }, { NULL } } },
	[FU_OP_FOLLOWUP_LIST] = { op_followup_list, OP_TEXT, {
	    { "contact", ARG_ID }, { "status", ARG_STRING },
	    { "from", ARG_STRING }, { "to", ARG_STRING },
	    { "limit", ARG_INT }, { "after", ARG_STRING },
	    { "owner", ARG_STRING }, TZ_ARG, { NULL } } },
	[FU_OP_AGENDA] = { op_agenda, OP_TEXT, {
	    { "range", ARG_STRING }, { "day", ARG_STRING },
	    { "from", ARG_STRING }, { "to", ARG_STRING },
	    { "limit", ARG_INT }, { "after", ARG_STRING },
	    { "owner", ARG_STRING }, TZ_ARG, { NULL } } },
	[FU_OP_USER_GET] = { op_user_get, 0, { { NULL } } },
	[FU_OP_USER_SET] = { op_user_set, OP_WRITE, {
	    { "email", ARG_TEXT }, { "tz", ARG_TEXT }, { "digest", ARG_TEXT },
	    { "hours", ARG_TEXT }, { "workdays", ARG_TEXT },
	    { "lead", ARG_TEXT }, { "display_name", ARG_TEXT },
	    { "phone", ARG_TEXT }, { "calendar", ARG_TEXT }, { NULL } } },
	[FU_OP_WATCH] = { op_watch, OP_STREAM, { { "owner", ARG_STRING },
	    { NULL } } },
	[FU_OP_CONTACT_REASSIGN] = { op_contact_reassign, OP_WRITE | OP_ADMIN,
	    { { "id", ARG_ID, REQ }, { "to", ARG_STRING, REQ }, { NULL } },
	    "only root and members of the admin group may reassign contacts" },
	[FU_OP_BACKUP] = { op_backup, OP_ADMIN | OP_DEFER, {
	    { "path", ARG_STRING, REQ }, { NULL } },
	    "a backup holds the whole team's records: only root, the "
	    "daemon's user and members of the admin group may make one "
	    "(followup export writes your own)" },
	[FU_OP_DOCTOR] = { op_doctor, OP_DEFER, { { NULL } } },
	[FU_OP_EXPORT] = { op_export, OP_DEFER | OP_STREAM, {
	    { "format", ARG_STRING, REQ }, { "what", ARG_STRING },
	    { "owner", ARG_STRING }, { "bom", ARG_BOOL }, { NULL } } },
	[FU_OP_CONTACT_IMPORT] = { op_contact_import, OP_WRITE, {
	    { "contacts", ARG_ARRAY, REQ }, { "dry_run", ARG_BOOL },
	    { "owner", ARG_STRING }, { NULL } } },
	[FU_OP_SIMULATE] = { op_simulate, 0, {
	    { "from", ARG_STRING }, { "to", ARG_STRING },
	    { "owner", ARG_STRING }, TZ_ARG, { NULL } } },
	[FU_OP_REPORT] = { op_report, OP_DEFER, {
	    { "since", ARG_STRING }, { "owner", ARG_STRING }, TZ_ARG,
	    { NULL } } },
};

/* Does every op in protocol.h have a handler?  (A unit test asks.) */
int
ops_has_handler(enum fu_op op)
{
	return (int)op >= 0 && op < FU_OP_COUNT && op_table[op].fn != NULL;
}

/*
 * Record the error a handler fails with; return -1 so a handler can
 * "return reply_error(...)".
 */
int
reply_error(struct op_ctx *ctx, enum fu_err err, const char *fmt, ...)
{
	va_list	ap;

	free(ctx->errmsg);
	ctx->err = err;
	va_start(ap, fmt);
	xvasprintf(&ctx->errmsg, fmt, ap);
	va_end(ap);
	return -1;
}

/* Turn a failed store call about (what, id) into the protocol's error. */
int
reply_store_error(struct op_ctx *ctx, enum store_result r, const char *what,
    int64_t id)
{
	switch (r) {
	case STORE_NOT_FOUND:
		return reply_error(ctx, FU_ERR_NOT_FOUND,
		    "%s %lld does not exist", what, (long long)id);
	case STORE_CONFLICT:
		return reply_error(ctx, FU_ERR_CONFLICT,
		    "%s %lld was changed meanwhile", what, (long long)id);
	case STORE_FULL:
		return reply_error(ctx, FU_ERR_UNAVAILABLE,
		    "the disk holding the database is full; nothing was "
		    "changed");
	case STORE_BUSY:
		return reply_error(ctx, FU_ERR_UNAVAILABLE,
		    "the database is locked by another program; try again");
	case STORE_OFFLINE:
		return reply_error(ctx, FU_ERR_UNAVAILABLE,
		    "the database server cannot be reached; nothing was "
		    "changed; try again (followupd connects again by itself)");
	case STORE_CORRUPT:
		return reply_error(ctx, FU_ERR_INTERNAL,
		    "the database file is damaged; run followup doctor, and "
		    "restore the last backup (see followupd(8))");
	default:
		return reply_error(ctx, FU_ERR_INTERNAL,
		    "database error (see the daemon's log)");
	}
}

/* Add a human note to the reply (e.g. how a time was read). */
void
reply_note(struct op_ctx *ctx, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (ctx->notes == NULL)
		ctx->notes = json_array();
	json_array_append_new(ctx->notes, json_string(msg));
	free(msg);
}

/*
 * A copy of s with each byte that is not part of well-formed UTF-8 made a
 * '?'.  Caller frees.
 */
char *
ops_utf8_clean(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			*out, *q;
	size_t			 n;
	uint32_t		 c;

	out = q = xmalloc(strlen(s) + 1);
	while (*p != '\0') {
		n = fu_utf8_decode(p, SIZE_MAX, &c);
		if (n == 0) {
			*q++ = '?';
			p++;
			continue;
		}
		memcpy(q, p, n);
		q += n;
		p += n;
	}
	*q = '\0';
	return out;
}

/*
 * An error reply for request id (borrowed; may be NULL).  The message may
 * quote a request cut short inside a character, or the bytes the JSON
 * parser stopped at: such bytes become '?', since a reply must be JSON.
 */
json_t *
ops_error_reply(json_t *id, enum fu_err err, const char *msg)
{
	json_t	*reply;
	char	*clean;

	reply = json_pack("{s:O s:b s:{s:s s:s}}",
	    "id", id != NULL ? id : json_null(), "ok", 0,
	    "error", "code", fu_err_name(err), "message", msg);
	if (reply == NULL) {
		clean = ops_utf8_clean(msg);
		reply = json_pack("{s:O s:b s:{s:s s:s}}",
		    "id", id != NULL ? id : json_null(), "ok", 0,
		    "error", "code", fu_err_name(err), "message", clean);
		free(clean);
	}
	return reply;
}

/* A success reply for request id (borrowed; may be NULL), taking result. */
json_t *
ops_ok_reply(json_t *id, json_t *result)
{
	return json_pack("{s:O s:b s:o}", "id", id != NULL ? id : json_null(),
	    "ok", 1, "result", result);
}

/* A string argument, or NULL when absent or null. Borrowed. */
const char *
ops_str(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

/* An integer argument, or def when absent. */
int64_t
ops_int(json_t *args, const char *name, int64_t def)
{
	json_t	*v = json_object_get(args, name);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

/*
 * Read the cursor argument "after" into n integers: the key of the last
 * row of the page before, as ops_next_after_text wrote it.  Absent, it leaves
 * key zero.  The string is opaque to clients; it is only ever checked
 * here, so that a mangled one is refused rather than read as a start.
 */
int
ops_cursor_arg(struct op_ctx *ctx, json_t *args, int64_t *key, int n)
{
	const char	*s = ops_str(args, "after"), *p;
	char		*end;
	int		 i;

	memset(key, 0, n * sizeof *key);
	if (s == NULL)
		return 0;
	for (i = 0, p = s; i < n; i++, p = end + 1) {
		errno = 0;
		key[i] = strtoll(p, &end, 10);
		if (end == p || errno != 0 ||
		    *end != (i == n - 1 ? '\0' : ','))
			return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"after\" "
			    "must be a next_after this list returned");
	}
	if (key[n - 1] <= 0)
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"after\" "
		    "must be a next_after this list returned");
	return 0;
}

/*
 * Write a page's next_after: the cursor string of its last row, whose key
 * is the n integers of key, or null (key NULL) when it is the last page.
 */
void
ops_next_after_text(struct json_text *t, const int64_t *key, int n)
{
	char	buf[128];
	size_t	len = 0;
	int	i;

	json_text_key_lit(t, "next_after");
	if (key == NULL) {
		json_text_null(t);
		return;
	}
	for (i = 0; i < n; i++)
		len += snprintf(buf + len, sizeof buf - len, "%s%lld",
		    i > 0 ? "," : "", (long long)key[i]);
	json_text_str(t, buf);
}

/* A boolean argument, false when absent. */
int
ops_bool(json_t *args, const char *name)
{
	return json_is_true(json_object_get(args, name));
}

/* Is c a line break, in any of the ways text arrives with one? */
static int
ops_line_break(uint32_t c)
{
	return c == '\n' || c == '\r' || c == 0x85 || c == 0x2028 ||
	    c == 0x2029;
}

/*
 * What makes character c unfit for a text field, as words for the error
 * ("a tab"), or NULL when it may stay.  Besides controls, the marks that
 * reorder or hide the text after them (so a name could disguise the
 * columns that follow it) and the zero-width spaces that make two names
 * look alike are refused; joiners, which some scripts and emoji need,
 * stay.
 */
static const char *
ops_text_char_bad(uint32_t c)
{
	if (c == '\t')
		return "a tab";
	if (ops_line_break(c))
		return "a line break";
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
		return "a control character";
	if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
		return "a bidirectional control";
	if (c == 0x200b || c == 0x2060 || c == 0xfeff)
		return "an invisible space";
	return NULL;
}

/*
 * Read an optional text argument: *given says whether it was sent, *out
 * is a copy (NULL for null or "", which clear a field).  This is the one
 * check of what text may be stored, for every op and import.  One-line
 * text (multiline 0: a name, a company, a phone number) refuses line
 * breaks, tabs, controls and invisible formatting characters; multi-line
 * text (notes, reasons) keeps its line breaks, stored as LF whether sent
 * as CR LF, CR, U+0085, U+2028 or U+2029, and tabs, and refuses the rest.
 * A refusal, or text over max bytes, is a bad_request naming the argument
 * and the character.  Return 0 or -1.  Caller frees *out.
 */
int
ops_text_arg(struct op_ctx *ctx, json_t *args, const char *name, size_t max,
    int multiline, char **out, int *given)
{
	json_t			*v = json_object_get(args, name);
	const unsigned char	*p;
	const char		*s, *why;
	char			*copy, *q;
	size_t			 len, n;
	uint32_t		 c;

	*out = NULL;
	if (given != NULL)
		*given = v != NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len > max)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"%s\" is too long (%zu bytes, at most %zu)", name, len,
		    max);
	if (strlen(s) != len)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"%s\" holds a NUL character", name);
	copy = q = xmalloc(len + 1);
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		/* Jansson hands over well-formed UTF-8 only. */
		if ((n = fu_utf8_decode(p, SIZE_MAX, &c)) == 0) {
			n = 1;
			c = 0xfffd;
		}
		if ((why = ops_text_char_bad(c)) == NULL) {
			memcpy(q, p, n);
			q += n;
			continue;
		}
		if (multiline && c == '\t') {
			*q++ = '\t';
			continue;
		}
		if (multiline && ops_line_break(c)) {
			if (c == '\r' && p[1] == '\n')
				n++;
			*q++ = '\n';
			continue;
		}
		free(copy);
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"%s\" holds %s (U+%04X)%s", name, why, (unsigned)c,
		    c == '\t' || ops_line_break(c) ? "; it must be one line" :
		    "");
	}
	*q = '\0';
	/* Surrounding blanks are never meant. */
	s = copy;
	len = (size_t)(q - copy);
	while (len > 0 && isspace((unsigned char)s[0])) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len > 0)
		*out = xstrndup(s, len);
	free(copy);
	return 0;
}

/*
 * Fill c with contact id if the caller may see it (their own, or any for
 * an admin not acting for a rep), or fail with not_found: another rep's
 * id answers exactly like one that does not exist.
 */
int
ops_contact(struct op_ctx *ctx, int64_t id, struct fu_contact *c)
{
	enum store_result	r;

	r = store_contact_get(ctx->st, ctx->scope, id, c);
	if (r != STORE_OK)
		return reply_store_error(ctx, r, "contact", id);
	return 0;
}

/*
 * Work out the zone the op's times are read in: the "tz" argument (a zone,
 * or "contact" for contact c's), else the caller's setting, else the
 * daemon's own.  Set *zone (caller frees) and return 0, or -1.
 */
int
ops_zone(struct op_ctx *ctx, json_t *args, const struct fu_contact *c,
    char **zone)
{
	const char		*tz = ops_str(args, "tz");
	struct fu_user		 u;

	*zone = NULL;
	if (tz != NULL && strcmp(tz, "contact") == 0) {
		if (c == NULL)
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "tz \"contact\" needs a contact");
		if (c->tz != NULL) {
			*zone = xstrdup(c->tz);
			return 0;
		}
		tz = NULL;	/* the contact has none: the caller's */
	}
	if (tz != NULL) {
		if (!when_zone_valid(tz))
			return reply_error(ctx, FU_ERR_INVALID_TIME,
			    "unknown time zone \"%s\"", tz);
		*zone = xstrdup(tz);
		return 0;
	}
	if (store_user_get(ctx->st, ctx->user, &u) == STORE_OK &&
	    u.tz != NULL && when_zone_valid(u.tz))
		*zone = xstrdup(u.tz);
	else
		*zone = xstrdup(when_local_zone());
	fu_user_clear(&u);
	return 0;
}

/*
 * Read time argument name (which must be present) in zone.  A note about
 * how it was read joins the reply.  Return 0, or -1 with invalid_time.
 */
int
ops_time_arg(struct op_ctx *ctx, json_t *args, const char *name,
    const char *zone, time_t *out)
{
	const char	*expr = ops_str(args, name);
	char		*note, *cause;

	if (expr == NULL)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "missing argument \"%s\"", name);
	if (when_parse(expr, zone, ctx->now, out, &note, &cause) != 0) {
		reply_error(ctx, FU_ERR_INVALID_TIME, "%s: %s", name, cause);
		free(cause);
		return -1;
	}
	if (note != NULL) {
		reply_note(ctx, "%s: %s", name, note);
		free(note);
	}
	return 0;
}

/* Read an optional duration argument; -1 when absent. Return 0 or -1. */
int
ops_duration_arg(struct op_ctx *ctx, json_t *args, const char *name,
    long *out)
{
	json_t	*v = json_object_get(args, name);

	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 ||
		    json_integer_value(v) > 366 * 86400)
			goto bad;
		*out = (long)json_integer_value(v);
		return 0;
	}
	if (config_parse_duration(json_string_value(v), out) == 0)
		return 0;
bad:
	return reply_error(ctx, FU_ERR_BAD_REQUEST,
	    "\"%s\" must be a duration such as 15m, 2h or 1d", name);
}

static const char *
ops_type_name(enum arg_type type)
{
	switch (type) {
	case ARG_STRING:
		return "a string";
	case ARG_TEXT:
		return "a string or null";
	case ARG_ID:
		return "a positive integer id";
	case ARG_INT:
		return "an integer";
	case ARG_BOOL:
		return "true or false";
	case ARG_ARRAY:
		return "an array";
	case ARG_DURATION:
		return "a duration (seconds or a string such as 15m)";
	default:
		return "nothing";
	}
}

static int
ops_type_ok(enum arg_type type, json_t *v)
{
	switch (type) {
	case ARG_STRING:
		return json_is_string(v);
	case ARG_TEXT:
		return json_is_string(v) || json_is_null(v);
	case ARG_ID:
		return json_is_integer(v) && json_integer_value(v) > 0;
	case ARG_INT:
		return json_is_integer(v);
	case ARG_BOOL:
		return json_is_boolean(v);
	case ARG_ARRAY:
		return json_is_array(v);
	case ARG_DURATION:
		return json_is_integer(v) || json_is_string(v) ||
		    json_is_null(v);
	default:
		return 0;
	}
}

/* Check args against the op's spec: known names, right types, required. */
static int
ops_check_args(struct op_ctx *ctx, enum fu_op op, json_t *args)
{
	const struct op_entry	*e = &op_table[op];
	const struct op_arg	*a;
	const char		*key;
	json_t			*v;

	json_object_foreach(args, key, v) {
		for (a = e->args; a->name != NULL; a++) {
			if (strcmp(a->name, key) == 0)
				break;
		}
		if (a->name == NULL)
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "%s takes no argument \"%s\"", fu_op_name(op), key);
		if (!ops_type_ok(a->type, v))
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "argument \"%s\" of %s must be %s", key,
			    fu_op_name(op), ops_type_name(a->type));
	}
	for (a = e->args; a->name != NULL; a++) {
		if (a->required && json_object_get(args, a->name) == NULL)
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "%s needs argument \"%s\"", fu_op_name(op),
			    a->name);
	}
	return 0;
}

/*
 * A request with "as" runs for that user, exactly as if they had sent it:
 * only admins may, and for that request they see only that user's records
 * and have no admin powers (no team view, other reps' ids, backup or
 * reassign).  "as" naming the caller changes nothing.  Set ctx->user,
 * ctx->scope and ctx->admin (the caller restores ctx->admin after).
 */
static int
ops_act_as(struct op_ctx *ctx, json_t *as)
{
	const char	*name;

	ctx->user = ctx->caller;
	ctx->scope = ctx->admin ? NULL : ctx->caller;
	if (as == NULL || json_is_null(as))
		return 0;
	if (!json_is_string(as) || *(name = json_string_value(as)) == '\0')
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"as\" must be a user name");
	if (strcmp(name, ctx->caller) == 0)
		return 0;
	if (!ctx->admin)
		return reply_error(ctx, FU_ERR_FORBIDDEN, "only root and "
		    "members of the admin group may act for another user");
	if (!auth_user_exists(name))
		return reply_error(ctx, FU_ERR_NOT_FOUND, "there is no user "
		    "\"%.64s\"", name);
	ctx->user = name;
	ctx->scope = ctx->user;
	ctx->admin = 0;
	return 0;
}

/*
 * Whose records an op's "owner" argument names: the acting user when it
 * is absent, a named rep (admins, or the user naming themself), or with
 * "*" the whole team (admins only; *owner becomes NULL).  Return 0, or -1
 * with forbidden.
 */
int
ops_owner_arg(struct op_ctx *ctx, json_t *args, int team_ok,
    const char **owner)
{
	const char	*name = ops_str(args, "owner");

	*owner = ctx->user;
	if (name == NULL || strcmp(name, ctx->user) == 0)
		return 0;
	if (!ctx->admin)
		return reply_error(ctx, FU_ERR_FORBIDDEN, "only root and "
		    "members of the admin group may see another rep's "
		    "records");
	if (strcmp(name, "*") == 0) {
		if (!team_ok)
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "this op shows one rep at a time; name one");
		*owner = NULL;
		return 0;
	}
	*owner = name;
	return 0;
}

static const struct ops_answerer	*ops_answerer;

/* How ops that answer later or stream reach their connection. */
void
ops_set_answerer(const struct ops_answerer *a)
{
	ops_answerer = a;
}

/*
 * The op (an OP_DEFER one, ctx->can_defer set) answers later: its
 * connection reads no further request until it does, and if the
 * connection goes away first, cancel(arg) is called.  Return the handle
 * to answer through with ops_answer.
 */
struct conn *
ops_defer(struct op_ctx *ctx, void (*cancel)(void *), void *arg)
{
	assert(ctx->can_defer && ops_answerer != NULL);
	ops_answerer->defer(ctx->conn, cancel, arg);
	ctx->deferred = 1;
	return ctx->conn;
}

/*
 * Send the reply (taken; NULL closes unanswered) a deferred op owed on
 * the connection c returned by ops_defer, with descriptor fd attached
 * unless it is -1 (the connection owns it from here on).
 */
void
ops_answer(struct conn *c, json_t *reply, int fd)
{
	ops_answerer->answer(c, reply, fd);
}

/* Turn the op's connection (OP_STREAM) into a stream of owner's notices. */
void
ops_watch(struct op_ctx *ctx, const char *owner)
{
	assert(ctx->conn != NULL && ops_answerer != NULL);
	ops_answerer->watch(ctx->conn, owner);
}

/*
 * Run the request on one of the store's lanes rather than on the loop
 * (ctx->can_offload set): the requests that follow it on its connection
 * and run on a lane too go with it, and the connection reads no further
 * request until their replies are sent.  Return 0.
 */
int
ops_offload(struct op_ctx *ctx)
{
	assert(ctx->can_offload && ops_answerer != NULL);
	ops_answerer->offload(ctx->conn, ctx->line, ctx->len);
	ctx->deferred = 1;
	return 0;
}

/*
 * Would the request line run on a lane (the store has lanes and is
 * reachable, or reachable for reads and the op only reads, and its op is
 * one that may)?  A line that cannot be read is not: the loop answers
 * it.
 */
int
ops_line_offloadable(struct store *st, const char *line, size_t len)
{
	json_t	*req, *opv;
	time_t	 since, next_try;
	int	 op, ok = 0, offline;

	offline = store_offline(st, &since, &next_try);
	if (offline && !store_standby(st))
		return 0;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(req) &&
	    json_is_string(opv = json_object_get(req, "op")) &&
	    (op = fu_op_from_name(json_string_value(opv))) >= 0 &&
	    op_table[op].fn != NULL &&
	    !(op_table[op].flags & (OP_LOOP | OP_DEFER | OP_STREAM)) &&
	    !(offline && (op_table[op].flags & OP_WRITE)))
		ok = 1;
	json_decref(req);
	return ok;
}

/*
 * On the loop: add to the reply (ok or not) of op, run on a lane for
 * user (admin: seeing the team), what only the loop knows.
 */
void
ops_lane_finish(int op, json_t *reply, const char *user, int admin)
{
	json_t	*result = json_object_get(reply, "result");

	if (op == FU_OP_STATUS && json_is_object(result))
		op_status_finish(result, user, admin);
}

/*
 * On the loop: a write run on a lane was committed.  What the loop keeps
 * in memory of the records it changed is forgotten.
 */
void
ops_lane_committed(int op)
{
	if (op == FU_OP_USER_SET)
		op_meta_users_changed();
}

/*
 * The op (OP_STREAM and OP_DEFER) answers in pieces as its connection
 * drains: next(arg, &line) gives the next line and returns 1 when it is
 * the last (the reply itself); done(arg) is called after the last line,
 * or when the connection goes away first.
 */
void
ops_pieces(struct op_ctx *ctx, ops_piece_cb next, void (*done)(void *),
    void *arg)
{
	assert(ctx->can_defer && ops_answerer != NULL);
	ops_answerer->pieces(ctx->conn, next, done, arg);
	ctx->deferred = 1;
}

/*
 * Run one request line and return its reply (caller owns it).  *is_write
 * tells whether the op changed the store, so the caller knows the reply
 * stands or falls with the group commit.  Never fails: every problem is an
 * error reply.  NULL when the op deferred its reply (ctx->deferred): it
 * answers through ops_answer when it is done.
 */
json_t *
ops_run_line(struct op_ctx *ctx, const char *line, size_t len, int *is_write)
{
	struct evbuffer	*text;
	json_t		*reply;

	reply = ops_run_text(ctx, line, len, is_write, &text);
	if (text != NULL) {
		/* An OP_TEXT op's reply, read back for those who want one. */
		reply = json_loadb((const char *)evbuffer_pullup(text, -1),
		    evbuffer_get_length(text), 0, NULL);
		if (reply == NULL)
			fatalx("ops: an op wrote a reply that is not JSON");
		evbuffer_free(text);
		json_decref(ctx->text_id);
		ctx->text_id = NULL;
	}
	return reply;
}

/*
 * Write the start of an OP_TEXT op's reply, the envelope ops_ok_reply
 * makes, up to the members of its result, which the handler writes.
 */
static void
ops_text_begin(struct json_text *t, json_t *id)
{
	json_text_open(t, '{');
	json_text_key_lit(t, "id");
	json_text_value(t, id != NULL ? id : json_null());
	json_text_key_lit(t, "ok");
	json_text_bool(t, 1);
	json_text_key_lit(t, "result");
	json_text_open(t, '{');
}

/*
 * ops_run_line, but an OP_TEXT op's reply comes back as its text in
 * *text (caller frees), with no newline, its request's id in
 * ctx->text_id (caller decrefs), and NULL is returned; else both are
 * NULL.  The text is what the reply's Jansson object would serialise to,
 * and a reply over FU_REPLY_MAX becomes too_large, as in conn.c.
 */
json_t *
ops_run_text(struct op_ctx *ctx, const char *line, size_t len, int *is_write,
    struct evbuffer **text)
{
	json_t			*req, *id = NULL, *args, *opv, *result = NULL;
	json_t			*reply;
	json_error_t		 jerr;
	const char		*key;
	json_t			*v;
	int			 op = -1, rc, admin;
	time_t			 since, next_try;
	enum store_result	 r;
	struct json_text	 jt;
	struct evbuffer		*buf = NULL;

	admin = ctx->admin;
	*text = NULL;
	ctx->text = NULL;
	ctx->text_id = NULL;
	*is_write = 0;
	ctx->discard = 0;
	ctx->deferred = 0;
	ctx->can_defer = 0;
	ctx->id = NULL;
	ctx->err = FU_ERR_NONE;
	ctx->errmsg = NULL;
	ctx->notes = NULL;
	ctx->op = -1;
	ctx->line = line;
	ctx->len = len;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		reply_error(ctx, FU_ERR_BAD_REQUEST, "invalid JSON at "
		    "column %d: %s", jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(req)) {
		reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "a request must be a JSON object");
		goto out;
	}
	id = ctx->id = json_object_get(req, "id");
	json_object_foreach(req, key, v) {
		if (strcmp(key, "id") != 0 && strcmp(key, "op") != 0 &&
		    strcmp(key, "args") != 0 && strcmp(key, "as") != 0) {
			reply_error(ctx, FU_ERR_BAD_REQUEST, "a request has "
			    "only \"id\", \"op\", \"args\" and \"as\", "
			    "not \"%s\"", key);
			goto out;
		}
	}
	opv = json_object_get(req, "op");
	if (opv == NULL) {
		reply_error(ctx, FU_ERR_BAD_REQUEST, "missing \"op\"");
		goto out;
	}
	if (!json_is_string(opv)) {
		reply_error(ctx, FU_ERR_BAD_REQUEST, "\"op\" must be a string");
		goto out;
	}
	if ((op = fu_op_from_name(json_string_value(opv))) < 0 ||
	    op_table[op].fn == NULL) {
		reply_error(ctx, FU_ERR_UNKNOWN_OP, "unknown op \"%.64s\"",
		    json_string_value(opv));
		goto out;
	}
	args = json_object_get(req, "args");
	if (args == NULL || json_is_null(args)) {
		args = json_object();
		json_object_set_new(req, "args", args);
	} else if (!json_is_object(args)) {
		reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"args\" must be an object");
		goto out;
	}
	if (ops_check_args(ctx, op, args) != 0)
		goto out;
	if (ops_act_as(ctx, json_object_get(req, "as")) != 0)
		goto out;
	if ((op_table[op].flags & OP_ADMIN) && !ctx->admin) {
		reply_error(ctx, FU_ERR_FORBIDDEN, "%s", op_table[op].why);
		goto out;
	}
	if ((op_table[op].flags & OP_STREAM) && ctx->conn == NULL) {
		reply_error(ctx, FU_ERR_BAD_REQUEST, "%s needs a connection",
		    fu_op_name(op));
		goto out;
	}
	ctx->can_defer = (op_table[op].flags & OP_DEFER) &&
	    ctx->conn != NULL && ops_answerer != NULL;
	ctx->op = op;
	if (ctx->can_offload && !(op_table[op].flags & OP_LOOP)) {
		if (!(op_table[op].flags & (OP_DEFER | OP_STREAM))) {
			/*
			 * The store has lanes: the op waits on one, not the
			 * loop.  While the server cannot be reached (the
			 * loop's own connection says so) it is answered at
			 * once, unless it only reads and a standby serves
			 * reads meanwhile (a failover under way).
			 */
			if (store_offline(ctx->st, &since, &next_try)) {
				if (!store_standby(ctx->st)) {
					reply_store_error(ctx, STORE_OFFLINE,
					    "", 0);
					goto out;
				}
				if (op_table[op].flags & OP_WRITE) {
					reply_error(ctx, FU_ERR_UNAVAILABLE,
					    "%s", OPS_STANDBY_MSG);
					goto out;
				}
			}
			(void)ops_offload(ctx);
			reply = NULL;
			goto done;
		}
		ctx->can_offload = 0;	/* it runs on the loop */
	}

	ctx->now = time(NULL);
	if (op_table[op].flags & OP_WRITE) {
		if ((r = store_write_begin(ctx->st)) != STORE_OK) {
			reply_store_error(ctx, r, "", 0);
			goto out;
		}
		*is_write = 1;
	} else
		store_read_begin(ctx->st);
	if (op_table[op].flags & OP_TEXT) {
		/*
		 * A write's text is a reply only if its commit succeeds:
		 * the caller turns it into an error otherwise, with the
		 * request's id (ctx->text_id).
		 */
		assert(!(op_table[op].flags & OP_DEFER));
		if ((buf = evbuffer_new()) == NULL)
			fatalx("ops: evbuffer_new");
		json_text_init(&jt, buf, FU_REPLY_MAX);
		ops_text_begin(&jt, id);
		ctx->text = &jt;
	}
	rc = op_table[op].fn(ctx, args, &result);
	ctx->text = NULL;
	if (rc == 0 && buf != NULL) {
		assert(result == NULL);
		if (ctx->notes != NULL) {
			json_text_key_lit(&jt, "notes");
			json_text_value(&jt, ctx->notes);
		}
		json_text_close(&jt, '}');
		json_text_close(&jt, '}');
		if (json_text_end(&jt) == 0) {
			*text = buf;
			buf = NULL;
			ctx->text_id = json_incref(id);
		} else
			rc = reply_error(ctx, FU_ERR_TOO_LARGE, "%s",
			    OPS_TOO_LARGE_MSG);
	}
	/* Before the write ends: a write whose reply is refused is undone. */
	if (*is_write)
		store_write_end(ctx->st, rc == 0 && !ctx->discard);
	if (*text != NULL) {
		reply = NULL;
		goto done;
	}
	if (buf != NULL) {
		evbuffer_free(buf);
		buf = NULL;
	}
	if (rc != 0) {
		json_decref(result);
		result = NULL;
		if (ctx->err == FU_ERR_NONE)
			reply_error(ctx, FU_ERR_INTERNAL, "%s failed",
			    fu_op_name(op));
	} else if (ctx->deferred) {
		/* The op answers later, through its connection. */
		json_decref(result);
		result = NULL;
		reply = NULL;
		goto done;
	} else if (result == NULL)
		result = json_object();

out:
	if (result != NULL) {
		if (ctx->notes != NULL)
			json_object_set(result, "notes", ctx->notes);
		reply = ops_ok_reply(id, result);
	} else {
		log_debug("conn: uid %lu: %s: %s: %s", (unsigned long)ctx->uid,
		    op >= 0 ? fu_op_name(op) : "request",
		    fu_err_name(ctx->err), ctx->errmsg);
		reply = ops_error_reply(id, ctx->err, ctx->errmsg);
	}
done:
	if (ctx->on_lane) {
		/* Whom the op ran for, for the loop's part of its reply. */
		ctx->acted_user = xstrdup(ctx->user != NULL ? ctx->user :
		    ctx->caller);
		ctx->acted_admin = ctx->admin;
	}
	json_decref(ctx->notes);
	ctx->notes = NULL;
	free(ctx->errmsg);
	ctx->errmsg = NULL;
	ctx->admin = admin;
	ctx->id = NULL;
	json_decref(req);
	return reply;
}
