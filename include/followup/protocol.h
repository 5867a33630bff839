/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The one definition of the followupd protocol: its version, limits, the
 * operations and the error codes.  followupd and the followup client both
 * expand these lists, so an op name or an error code is never spelled as a
 * string anywhere else.  followup-protocol(7) documents every op.
 */

#ifndef FOLLOWUP_PROTOCOL_H
#define FOLLOWUP_PROTOCOL_H

#include <stddef.h>
#include <string.h>

/*
 * Bump FU_PROTOCOL_VERSION when an op is removed, a field changes type,
 * an op gains a required argument or a reply changes shape.  Adding an op
 * or an optional argument does not bump it.  2: export sends its document
 * in "chunk" lines before the reply, instead of in the reply.
 */
#define FU_PROTOCOL_VERSION	2

/* Longest request line, not counting the newline. */
#define FU_LINE_MAX		65536

/*
 * Longest reply line a client must accept: a list of a thousand contacts
 * with long notes is larger than a request may be.  An export never comes
 * near it: it is sent in pieces.
 */
#define FU_REPLY_MAX		(16 * 1024 * 1024)

/* Name the daemon gives itself in hello. */
#define FU_SERVER_NAME		"followupd"

/*
 * The operations: X(enum suffix, wire name).  The daemon's op table and the
 * client both expand this list.
 */
#define FU_OPS(X)						\
	X(HELLO,		"hello")			\
	X(STATUS,		"status")			\
	X(CONTACT_ADD,		"contact.add")			\
	X(CONTACT_GET,		"contact.get")			\
	X(CONTACT_UPDATE,	"contact.update")		\
	X(CONTACT_ARCHIVE,	"contact.archive")		\
	X(CONTACT_LIST,		"contact.list")			\
	X(INTERACTION_ADD,	"interaction.add")		\
	X(INTERACTION_LIST,	"interaction.list")		\
	X(FOLLOWUP_ADD,		"followup.add")			\
	X(FOLLOWUP_GET,		"followup.get")			\
	X(FOLLOWUP_DONE,	"followup.done")		\
	X(FOLLOWUP_SNOOZE,	"followup.snooze")		\
	X(FOLLOWUP_RESCHEDULE,	"followup.reschedule")		\
	X(FOLLOWUP_REAGREE,	"followup.reagree")		\
	X(FOLLOWUP_CANCEL,	"followup.cancel")		\
	X(FOLLOWUP_CONFIRM,	"followup.confirm")		\
	X(FOLLOWUP_LIST,	"followup.list")		\
	X(AGENDA,		"agenda")			\
	X(USER_GET,		"user.get")			\
	X(USER_SET,		"user.set")			\
	X(WATCH,		"watch")			\
	X(CONTACT_REASSIGN,	"contact.reassign")		\
	X(BACKUP,		"backup")			\
	X(DOCTOR,		"doctor")			\
	X(EXPORT,		"export")			\
	X(CONTACT_IMPORT,	"contact.import")		\
	X(SIMULATE,		"simulate")			\
	X(REPORT,		"report")

/* The error codes: X(enum suffix, wire name). */
#define FU_ERRORS(X)						\
	X(BAD_REQUEST,		"bad_request")			\
	X(UNKNOWN_OP,		"unknown_op")			\
	X(NOT_FOUND,		"not_found")			\
	X(FORBIDDEN,		"forbidden")			\
	X(CONFLICT,		"conflict")			\
	X(INVALID_TIME,		"invalid_time")			\
	X(TOO_LARGE,		"too_large")			\
	X(UNAVAILABLE,		"unavailable")			\
	X(INTERNAL,		"internal")

#define FU_OP_ENUM(e, s)	FU_OP_##e,
enum fu_op {
	FU_OPS(FU_OP_ENUM)
	FU_OP_COUNT
};
#undef FU_OP_ENUM

#define FU_ERR_ENUM(e, s)	FU_ERR_##e,
enum fu_err {
	FU_ERR_NONE = -1,
	FU_ERRORS(FU_ERR_ENUM)
	FU_ERR_COUNT
};
#undef FU_ERR_ENUM

/* Wire name of an op. */
static inline const char *
fu_op_name(enum fu_op op)
{
#define FU_OP_STR(e, s)	s,
	static const char *const names[] = { FU_OPS(FU_OP_STR) };
#undef FU_OP_STR
	if ((int)op < 0 || op >= FU_OP_COUNT)
		return NULL;
	return names[op];
}

/* Op for a wire name, or -1. */
static inline int
fu_op_from_name(const char *name)
{
	int	i;

	for (i = 0; i < FU_OP_COUNT; i++) {
		if (strcmp(fu_op_name((enum fu_op)i), name) == 0)
			return i;
	}
	return -1;
}

/* Wire name of an error code. */
static inline const char *
fu_err_name(enum fu_err err)
{
#define FU_ERR_STR(e, s)	s,
	static const char *const names[] = { FU_ERRORS(FU_ERR_STR) };
#undef FU_ERR_STR
	if ((int)err < 0 || err >= FU_ERR_COUNT)
		return NULL;
	return names[err];
}

/* Error code for a wire name, or FU_ERR_NONE. */
static inline enum fu_err
fu_err_from_name(const char *name)
{
	int	i;

	for (i = 0; i < FU_ERR_COUNT; i++) {
		if (strcmp(fu_err_name((enum fu_err)i), name) == 0)
			return (enum fu_err)i;
	}
	return FU_ERR_NONE;
}

/*
 * Words of the domain, shared so the client can offer them and the daemon
 * can check them.  X(enum suffix, wire name).
 */
#define FU_FOLLOWUP_KINDS(X)					\
	X(FOLLOWUP,	"followup")					\
	X(CALLBACK,	"callback")

#define FU_FOLLOWUP_STATUSES(X)					\
	X(PENDING,	"pending")					\
	X(DONE,		"done")						\
	X(CANCELLED,	"cancelled")

#define FU_INTERACTION_KINDS(X)					\
	X(CALL,		"call")						\
	X(VOICEMAIL,	"voicemail")					\
	X(EMAIL,	"email")					\
	X(MEETING,	"meeting")					\
	X(NOTE,		"note")

#define FU_OUTCOMES(X)						\
	X(REACHED,	"reached")					\
	X(NO_ANSWER,	"no-answer")					\
	X(VOICEMAIL,	"voicemail")					\
	X(MESSAGE,	"message")					\
	X(BUSY,		"busy")						\
	X(WRONG_NUMBER,	"wrong-number")					\
	X(INFO_SENT,	"info-sent")					\
	X(MEETING_SET,	"meeting-set")					\
	X(NOT_INTERESTED, "not-interested")				\
	X(OTHER,	"other")

/*
 * The notices a reminder can be: ahead of a follow-up, when it is due, a
 * callback still open after the grace period, the morning digest, and the
 * summary that folds a long outage's late notices into one.  On a watching
 * connection each arrives as {"event": KIND, "notice": {...}}.
 */
#define FU_NOTICE_KINDS(X)					\
	X(REMINDER,	"reminder")					\
	X(DUE,		"due")						\
	X(MISSED,	"missed")					\
	X(DIGEST,	"digest")					\
	X(SUMMARY,	"summary")

/*
 * What a missed callback asks of the rep, the same in the mail, the
 * journal and on a watching connection: the sales method's words, and the
 * one command that records the time the prospect takes instead.  The
 * command's format takes the follow-up's id.
 */
#define FU_MISSED_ADVICE	"apologise, and ask whether now is a right " \
	"time to talk or take another convenient time"
#define FU_MISSED_REAGREE	"followup reagree %lld WHEN"

/*
 * What export writes: the formats, and the tables a CSV export may hold
 * (one per file, contacts unless asked).
 */
#define FU_EXPORT_FORMATS(X)					\
	X(ICS,		"ics")						\
	X(CSV,		"csv")						\
	X(JSON,		"json")

#define FU_EXPORT_TABLES(X)					\
	X(CONTACTS,	"contacts")					\
	X(INTERACTIONS,	"interactions")					\
	X(FOLLOWUPS,	"followups")

/*
 * Is word in list, a NULL-terminated list of the words above (as
 * X(e, s) s, expands them)?  The daemon checks arguments with it, the
 * client its options.
 */
static inline int
fu_word_in(const char *const *list, const char *word)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, word) == 0)
			return 1;
	}
	return 0;
}

/* Most contacts one contact.import request may carry. */
#define FU_IMPORT_MAX		1000

/* Default pipeline stages; the configuration may replace them. */
#define FU_DEFAULT_OPEN_STAGES	"lead contacted info-sent proposal negotiation"
#define FU_DEFAULT_CLOSED_STAGES	"won lost"

/* Limits on text fields, in bytes. */
#define FU_NAME_MAX		200
#define FU_SHORT_MAX		200	/* company, phone, email, tz */
#define FU_TEXT_MAX		10000	/* notes, interaction notes */
#define FU_REASON_MAX		1000
#define FU_LIST_MAX		1000	/* most rows one list reply carries */
#define FU_LIST_DEFAULT		100

#endif /* FOLLOWUP_PROTOCOL_H */
