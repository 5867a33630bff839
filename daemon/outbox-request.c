/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * A notice the rep asked for, to a contact: the one way into the outbox
 * with a contact as recipient.  The claim (outbox-claim.c) records only
 * what fell due, always for reps; nothing automatic comes through here.
 * And what became of such a request, told to the rep; and an invitation
 * to the rep's own calendar, which the rep's setting asks for (invite.c).
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "outbox-internal.h"

/*
 * Fill o for notice payload (kind, about follow-up id) for owner, due
 * then and to go out at fire: the fields every request shares.
 */
static void
outbox_request_fill(struct store_outbox *o, const char *owner,
    const char *kind, int64_t id, time_t due, time_t fire,
    const char *payload)
{
	memset(o, 0, sizeof *o);
	o->owner = owner;
	o->kind = kind;
	o->followup_id = id;
	o->due_at = due;
	o->fire_at = fire;
	o->payload = payload;
}

/*
 * Record notice (kind, for follow-up id, about the time due) to the
 * contact in store st, with a delivery row for each channel that takes
 * notices to contacts.  Set *created (0: the same notice is in the
 * outbox already, on its way or sent; one given up is queued again and
 * counts as created).  Needs a write transaction.  Return 0, or -1 if the
 * store failed or no channel takes it (*created is then 0).
 */
int
outbox_request_contact(struct store *st, const struct fu_config *cf,
    const char *owner, const char *kind, int64_t id, time_t due,
    json_t *notice, time_t now, int *created)
{
	struct store_outbox	 o;
	char			**rows, *payload;
	int			 n;
	enum store_result	 r;

	*created = 0;
	rows = channel_rows(cf, kind, CHANNEL_TO_CONTACT, &n);
	if (n == 0) {
		channel_rows_free(rows, n);
		return -1;
	}
	payload = json_dumps(notice, JSON_COMPACT);
	outbox_request_fill(&o, owner, kind, id, due, now, payload);
	r = store_outbox_add(st, &o, (const char *const *)rows, n, now,
	    created);
	/*
	 * The same confirmation asked for again after it was given up goes
	 * out again; one queued or sent is not sent twice.
	 */
	if (r == STORE_OK && !*created)
		r = store_outbox_rearm(st, &o, now, created);
	free(payload);
	channel_rows_free(rows, n);
	return r == STORE_OK ? 0 : -1;
}

/*
 * Record notice (kind, about follow-up id due then) to its rep, owner,
 * through the rep's channels: what became of something the rep asked
 * for (a confirmation given up).  The same notice once only.  Needs a
 * write transaction.  Return 0, or -1 if the store failed.
 */
int
outbox_request_rep(struct store *st, const struct fu_config *cf,
    const char *owner, const char *kind, int64_t id, time_t due,
    json_t *notice, time_t now)
{
	struct store_outbox	 o;
	char			**rows, *payload;
	int			 n, created;
	enum store_result	 r;

	rows = channel_rows(cf, kind, CHANNEL_TO_REP, &n);
	payload = json_dumps(notice, JSON_COMPACT);
	outbox_request_fill(&o, owner, kind, id, due, now, payload);
	r = store_outbox_add(st, &o, (const char *const *)rows, n, now,
	    &created);
	free(payload);
	channel_rows_free(rows, n);
	return r == STORE_OK ? 0 : -1;
}

/*
 * Record notice payload (kind, about follow-up id) for rep owner in store
 * st, held back until fire so that later changes can still replace it
 * (store_outbox_held), with a delivery row for each channel that takes
 * notices to the rep's calendar.  Needs a write transaction.  Return 0,
 * or -1 if the store failed or no channel takes it.
 */
int
outbox_request_calendar(struct store *st, const struct fu_config *cf,
    const char *owner, const char *kind, int64_t id, const char *payload,
    time_t fire, time_t now)
{
	struct store_outbox	 o;
	char			**rows;
	int			 n, created;
	enum store_result	 r;

	rows = channel_rows(cf, kind, CHANNEL_TO_CALENDAR, &n);
	if (n == 0) {
		channel_rows_free(rows, n);
		return -1;
	}
	outbox_request_fill(&o, owner, kind, id, fire, fire, payload);
	o.hold = fire;
	r = store_outbox_add(st, &o, (const char *const *)rows, n, now,
	    &created);
	channel_rows_free(rows, n);
	return r == STORE_OK ? 0 : -1;
}
