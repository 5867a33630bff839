/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The interaction.* ops: log what happened with a contact (and plan the
 * next step in the same breath), and read the history back.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "followupd.h"

#define INTERACTION_WORD(e, s)	s,
static const char *const interaction_kinds[] = {
	FU_INTERACTION_KINDS(INTERACTION_WORD) NULL
};
static const char *const interaction_outcomes[] = {
	FU_OUTCOMES(INTERACTION_WORD) NULL
};
static const char *const interaction_next_kinds[] = {
	FU_FOLLOWUP_KINDS(INTERACTION_WORD) NULL
};
#undef INTERACTION_WORD

/* How far ahead "at" may be: a rep logs what happened, not what will. */
#define INTERACTION_FUTURE_SLACK	86400

/* A comma-separated rendering of list, for error messages. */
static char *
interaction_words(const char *const *list)
{
	size_t	 len = 1;
	char	*out;
	int	 i;

	for (i = 0; list[i] != NULL; i++)
		len += strlen(list[i]) + 2;
	out = xcalloc(1, len);
	for (i = 0; list[i] != NULL; i++) {
		if (i > 0)
			strcat(out, ", ");
		strcat(out, list[i]);
	}
	return out;
}

/* Fail with bad_request naming the words allowed for name. */
static int
interaction_bad_word(struct op_ctx *ctx, const char *name, const char *word,
    const char *const *list)
{
	char	*words = interaction_words(list);

	reply_error(ctx, FU_ERR_BAD_REQUEST, "unknown %s \"%s\" (one of %s)",
	    name, word, words);
	free(words);
	return -1;
}

/*
 * The reason of an attempt after two weeks of voicemails that got
 * nowhere: the sales method's way through is someone who takes messages.
 */
#define INTERACTION_OPERATOR_REASON "voicemails for two weeks without an " \
	"answer: leave a message with the operator or an assistant"

/* The reason an automatic next step carries when the rep gives none. */
static const char *
interaction_default_reason(const char *outcome)
{
	if (strcmp(outcome, "info-sent") == 0)
		return "discuss the information sent";
	if (strcmp(outcome, "voicemail") == 0)
		return "try again (voicemail left)";
	if (strcmp(outcome, "message") == 0)
		return "try again (message left)";
	if (strcmp(outcome, "busy") == 0)
		return "try again (line busy)";
	return "try again (no answer)";
}

/*
 * The reason an automatic next step carries when the rep gives none: the
 * operator suggestion when it applies, else the reason of the follow-up
 * this answered (what the rep meant to talk about), else the outcome's.
 * The suggestion itself is not carried on: once a message was left, it
 * no longer applies.
 */
static const char *
interaction_auto_reason(const char *outcome, int operator,
    const struct fu_followup *done)
{
	if (operator)
		return INTERACTION_OPERATOR_REASON;
	if (done != NULL && done->reason != NULL &&
	    strcmp(done->reason, INTERACTION_OPERATOR_REASON) != 0)
		return done->reason;
	return interaction_default_reason(outcome);
}

/*
 * interaction.add: record a call, voicemail, email, meeting or note;
 * complete the follow-up it answers; plan the next step the rep gives, or
 * the one the outcome proposes (the voicemail cadence, working days after
 * information sent) unless no_next.
 */
int
op_interaction_add(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_contact	 c;
	struct fu_interaction	 in;
	struct fu_followup	 next, done, stands;	/* stands: a later one's */
	const char		*kind = ops_str(args, "kind");
	const char		*next_kind = ops_str(args, "next_kind");
	const char		*why = NULL, *auto_kind;
	char			*outcome = NULL, *reason = NULL, *zone = NULL;
	time_t			 due;
	enum store_result	 r;
	int			 rc = -1, have_next = 0, have_done = 0, vm = -1;
	int64_t			 standing;
	int			 operator = 0;
	int			 force = ops_bool(args, "force");
	int			 confirm = ops_bool(args, "confirm");
	json_t			*res, *message = NULL;

	memset(&in, 0, sizeof in);
	memset(&c, 0, sizeof c);
	memset(&done, 0, sizeof done);
	memset(&stands, 0, sizeof stands);
	if (!fu_word_in(interaction_kinds, kind))
		return interaction_bad_word(ctx, "kind", kind,
		    interaction_kinds);
	if (next_kind == NULL)
		next_kind = interaction_next_kinds[0];
	else if (!fu_word_in(interaction_next_kinds, next_kind))
		return interaction_bad_word(ctx, "next_kind", next_kind,
		    interaction_next_kinds);
	if (ops_str(args, "next") != NULL && ops_bool(args, "no_next"))
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"next\" and "
		    "\"no_next\" cannot go together");
	/* Only a time agreed with the prospect is confirmed to them. */
	if (confirm && (ops_str(args, "next") == NULL ||
	    strcmp(next_kind, "callback") != 0))
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"confirm\" goes "
		    "with a callback the prospect agreed: give \"next\" and "
		    "\"next_kind\": \"callback\"");
	if (ops_text_arg(ctx, args, "outcome", FU_SHORT_MAX, 0, &outcome,
	    NULL) != 0)
		return -1;
	if (outcome != NULL &&
	    !fu_word_in(interaction_outcomes, outcome)) {
		interaction_bad_word(ctx, "outcome", outcome,
		    interaction_outcomes);
		goto out;
	}
	if (outcome == NULL && strcmp(kind, "voicemail") == 0)
		outcome = xstrdup("voicemail");
	if (ops_text_arg(ctx, args, "note", FU_TEXT_MAX, 1, &in.note,
	    NULL) != 0 ||
	    ops_text_arg(ctx, args, "reason", FU_REASON_MAX, 1, &reason,
	    NULL) != 0)
		goto out;
	if (ops_contact(ctx, ops_int(args, "contact", 0), &c) != 0)
		goto out;
	if (c.archived_at != 0) {
		reply_error(ctx, FU_ERR_CONFLICT, "contact %lld is archived; "
		    "restore it first", (long long)c.id);
		goto out;
	}
	if (ops_zone(ctx, args, &c, &zone) != 0)
		goto out;
	in.at = ctx->now;
	if (ops_str(args, "at") != NULL) {
		if (ops_time_arg(ctx, args, "at", zone, &in.at) != 0)
			goto out;
		if (in.at > ctx->now + INTERACTION_FUTURE_SLACK) {
			reply_error(ctx, FU_ERR_INVALID_TIME, "\"at\" is more "
			    "than a day ahead; log what has happened");
			goto out;
		}
	}
	in.contact_id = c.id;
	in.owner = xstrdup(c.owner);	/* history stays with the contact */
	in.kind = xstrdup(kind);
	in.outcome = outcome;
	outcome = NULL;
	in.created_at = ctx->now;
	if ((r = store_interaction_insert(ctx->st, &in)) != STORE_OK) {
		reply_store_error(ctx, r, "contact", c.id);
		goto out;
	}
	if ((have_done = nextstep_complete(ctx, &c, &in, zone, &done,
	    &standing)) < 0)
		goto out;
	if (ops_str(args, "next") != NULL) {
		if (ops_time_arg(ctx, args, "next", zone, &due) != 0)
			goto out;
		if (due < ctx->now - 60) {
			reply_error(ctx, FU_ERR_INVALID_TIME, "\"next\" is in "
			    "the past; give a later date or time");
			goto out;
		}
		if (nextstep_check_week(ctx, &c, due, next_kind, force) != 0)
			goto out;
		if (op_followup_create(ctx, &c, due, next_kind, reason, -1, 0,
		    &next) != 0)
			goto out;
		have_next = 1;
		/* The contact hears of it only when the rep asks. */
		if (confirm && (confirm_check(ctx, &next, 0) != 0 ||
		    confirm_send(ctx, next.id, 0, &message) != 0))
			goto out;
	} else if (!ops_bool(args, "no_next") && standing != 0) {
		/*
		 * Logged after a later interaction, whose next step stands:
		 * proposing another would leave two next attempts.
		 */
		if ((r = store_followup_get(ctx->st, c.owner, standing,
		    &stands)) != STORE_OK) {
			memset(&stands, 0, sizeof stands);
			reply_store_error(ctx, r, "follow-up", standing);
			goto out;
		}
	} else if (!ops_bool(args, "no_next")) {
		switch (nextstep_propose(ctx, &c, &in, &due, &auto_kind,
		    &why, &operator)) {
		case -1:
			goto out;
		case 1:
			if (op_followup_create(ctx, &c, due, auto_kind,
			    reason != NULL ? reason : interaction_auto_reason(
			    in.outcome, operator, have_done ? &done : NULL), -1,
			    in.at, &next) != 0)
				goto out;
			have_next = 1;
			break;
		}
	}
	if (in.outcome != NULL && strcmp(in.outcome, "voicemail") == 0 &&
	    (vm = nextstep_voicemails_in_week(ctx, &c, in.at)) < 0)
		goto out;
	res = json_pack("{s:o s:o s:o s:o s:s?}", "interaction",
	    interaction_json(&in), "followup", have_next ?
	    followup_json(&next, ctx->now) : json_null(), "standing",
	    stands.id != 0 ? followup_json(&stands, ctx->now) : json_null(),
	    "completed",
	    have_done ? followup_json(&done, ctx->now) : json_null(), "why",
	    why);
	if (vm >= 0) {
		json_object_set_new(res, "voicemails_this_week",
		    json_integer(vm));
		json_object_set_new(res, "voicemail_limit",
		    json_integer(ctx->cf->voicemails_per_week));
		json_object_set_new(res, "over_limit",
		    json_boolean(vm > ctx->cf->voicemails_per_week));
	}
	if (message != NULL) {
		json_object_set_new(res, "confirmation", message);
		message = NULL;
	}
	*result = res;
	rc = 0;
out:
	json_decref(message);
	if (have_next)
		fu_followup_clear(&next);
	fu_followup_clear(&done);
	fu_followup_clear(&stands);
	fu_interaction_clear(&in);
	fu_contact_clear(&c);
	free(outcome);
	free(reason);
	free(zone);
	return rc;
}

/* A page of a contact's history being written. */
struct interaction_page {
	struct json_text *text;
	int		 limit;		/* most rows the page holds */
	int		 n;		/* rows it holds */
	size_t		 bytes;		/* of text so far */
	int		 more;		/* a row beyond the page exists */
	int64_t		 last[2];	/* key (at, id) of its last row */
};

static int
interaction_list_cb(const struct fu_interaction *in, void *arg)
{
	struct interaction_page	*page = arg;

	if (page->n == page->limit || page->bytes >= OPS_PAGE_BYTES) {
		page->more = 1;
		return 1;
	}
	interaction_text(page->text, in);
	page->n++;
	page->bytes += in->note != NULL ? strlen(in->note) : 0;
	page->bytes += in->owner != NULL ? strlen(in->owner) : 0;
	page->last[0] = in->at;
	page->last[1] = in->id;
	return 0;
}

/*
 * interaction.list: a contact's history, newest first, a page at a time,
 * written as text as the rows come (OP_TEXT).
 */
int
op_interaction_list(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct interaction_page	 page;
	struct fu_contact	 c;
	char			*zone = NULL;
	time_t			 since = 0;
	int64_t			 limit = ops_int(args, "limit", FU_LIST_DEFAULT);
	int64_t			 key[2];
	enum store_result	 r;
	int			 rc = -1;

	if (limit < 1 || limit > FU_LIST_MAX)
		return reply_error(ctx, FU_ERR_BAD_REQUEST,
		    "\"limit\" must be from 1 to %d", FU_LIST_MAX);
	if (ops_cursor_arg(ctx, args, key, 2) != 0)
		return -1;
	if (ops_contact(ctx, ops_int(args, "contact", 0), &c) != 0)
		return -1;
	if (ops_str(args, "since") != NULL &&
	    (ops_zone(ctx, args, &c, &zone) != 0 ||
	    ops_time_arg(ctx, args, "since", zone, &since) != 0))
		goto out;
	(void)result;
	memset(&page, 0, sizeof page);
	page.text = ctx->text;
	page.limit = (int)limit;
	json_text_key_lit(ctx->text, "interactions");
	json_text_open(ctx->text, '[');
	if ((r = store_interaction_list(ctx->st, c.owner, c.id, since,
	    (time_t)key[0], key[1], (int)limit + 1, interaction_list_cb,
	    &page)) != STORE_OK) {
		reply_store_error(ctx, r, "contact", c.id);
		goto out;
	}
	json_text_close(ctx->text, ']');
	ops_next_after_text(ctx->text, page.more ? page.last : NULL, 2);
	rc = 0;
out:
	fu_contact_clear(&c);
	free(zone);
	return rc;
}
