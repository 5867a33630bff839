/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The user.* ops: each rep's own settings (email, time zone, digest time,
 * working hours and days).
 */

#include <config.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "followupd.h"
#include "followup/email.h"

/*
 * The uid of the user acted for: the caller's own from the socket, or,
 * for an admin acting for a rep with "as", the rep's (never the admin's).
 */
static int64_t
user_uid(struct op_ctx *ctx)
{
	if (strcmp(ctx->user, ctx->caller) == 0)
		return ctx->uid;
	return auth_user_uid(ctx->user);
}

/* user.get: the acting user's settings (all null until set). */
int
op_user_get(struct op_ctx *ctx, json_t *args, json_t **result)
{
	struct fu_user		u;
	enum store_result	r;

	r = store_user_get(ctx->st, ctx->user, &u);
	if (r != STORE_OK && r != STORE_NOT_FOUND) {
		fu_user_clear(&u);
		return reply_store_error(ctx, r, "", 0);
	}
	if (u.uid < 0)
		u.uid = user_uid(ctx);
	*result = json_pack("{s:o}", "user", user_json(&u));
	fu_user_clear(&u);
	return 0;
}

/* Check one setting's value; NULL (clear) is always fine. */
static int
user_check(struct op_ctx *ctx, const char *key, const char *value)
{
	unsigned int	days;
	long		secs;
	int		a, b;

	if (value == NULL)
		return 0;
	if (strcmp(key, "email") == 0) {
		/* The mail hook's own rule: it must be able to send to it. */
		if (!fu_email_ok(value))
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "\"%s\" is not an email address followup can mail "
			    "(user@example.com, in plain ASCII)", value);
	} else if (strcmp(key, "tz") == 0) {
		if (!when_zone_valid(value))
			return reply_error(ctx, FU_ERR_INVALID_TIME,
			    "unknown time zone \"%s\" (use a name such as "
			    "Europe/Berlin)", value);
	} else if (strcmp(key, "digest") == 0) {
		if (config_parse_hhmm(value, &a) != 0)
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "digest must be a time such as 08:00, not \"%s\"",
			    value);
	} else if (strcmp(key, "hours") == 0) {
		if (config_parse_hours(value, &a, &b) != 0)
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "hours must be a range such as 09:00-17:00, not "
			    "\"%s\"", value);
	} else if (strcmp(key, "lead") == 0) {
		if (config_parse_duration(value, &secs) != 0)
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "lead must be a duration such as 10m, 1h or 0, not "
			    "\"%s\"", value);
	} else if (strcmp(key, "calendar") == 0) {
		if (strcmp(value, "invite") != 0 && strcmp(value, "off") != 0)
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "calendar must be invite or off, not \"%s\"",
			    value);
	} else if (strcmp(key, "workdays") == 0) {
		if (config_parse_workdays(value, &days) != 0)
			return reply_error(ctx, FU_ERR_BAD_REQUEST,
			    "workdays must be days such as mon-fri or "
			    "mon,wed,fri, not \"%s\"", value);
	}
	return 0;
}

/* user.set: change the settings given; null or "" clears one. */
int
op_user_set(struct op_ctx *ctx, json_t *args, json_t **result)
{
	/* An address may be as long as the mail hook takes one. */
	static const struct {
		const char	*key;
		size_t		 offset;
		size_t		 max;
	} keys[] = {
		{ "email", offsetof(struct fu_user, email), FU_EMAIL_MAX },
		{ "tz", offsetof(struct fu_user, tz), FU_SHORT_MAX },
		{ "digest", offsetof(struct fu_user, digest), FU_SHORT_MAX },
		{ "hours", offsetof(struct fu_user, hours), FU_SHORT_MAX },
		{ "workdays", offsetof(struct fu_user, workdays), FU_SHORT_MAX },
		{ "lead", offsetof(struct fu_user, lead), FU_SHORT_MAX },
		{ "display_name", offsetof(struct fu_user, display_name),
		    FU_SHORT_MAX },
		{ "phone", offsetof(struct fu_user, phone), FU_SHORT_MAX },
		{ "calendar", offsetof(struct fu_user, calendar),
		    FU_SHORT_MAX },
	};
	struct fu_user		 u;
	enum store_result	 r;
	char			*value, **field;
	size_t			 i;
	int			 given, rc = -1;

	r = store_user_get(ctx->st, ctx->user, &u);
	if (r != STORE_OK && r != STORE_NOT_FOUND) {
		fu_user_clear(&u);
		return reply_store_error(ctx, r, "", 0);
	}
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (ops_text_arg(ctx, args, keys[i].key, keys[i].max, 0,
		    &value, &given) != 0)
			goto out;
		if (!given)
			continue;
		if (user_check(ctx, keys[i].key, value) != 0) {
			free(value);
			goto out;
		}
		field = (char **)((char *)&u + keys[i].offset);
		free(*field);
		*field = value;
	}
	/* Off is the default, kept as no setting at all. */
	if (u.calendar != NULL && strcmp(u.calendar, "off") == 0) {
		free(u.calendar);
		u.calendar = NULL;
	}
	/* An invitation is addressed to the rep and organized by the rep. */
	if (u.calendar != NULL && u.email == NULL) {
		reply_error(ctx, FU_ERR_BAD_REQUEST, "calendar invitations "
		    "go to your email address, and none is set; set one "
		    "first (followup config email ADDRESS), or turn them off "
		    "(followup config calendar off)");
		goto out;
	}
	u.uid = user_uid(ctx);
	u.updated_at = ctx->now;
	if ((r = store_user_put(ctx->st, &u, ctx->now)) != STORE_OK) {
		reply_store_error(ctx, r, "", 0);
		goto out;
	}
	*result = json_pack("{s:o}", "user", user_json(&u));
	rc = 0;
out:
	fu_user_clear(&u);
	return rc;
}
