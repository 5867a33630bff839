/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * What the outbox's files share and nothing else sees: the outbox's
 * state, a delivery as the deliverer hands it to a channel, and the one
 * interface every channel fills in.  Composing (outbox-compose.c),
 * claiming (outbox-claim.c) and delivering (outbox-deliver.c) meet here;
 * each channel (channel-*.c) knows only this interface.
 */

#ifndef OUTBOX_INTERNAL_H
#define OUTBOX_INTERNAL_H

#include "followupd.h"

/*
 * A notice is late when it came due before the daemon started (it was
 * down), or goes out more than this after its time.
 */
#define OUTBOX_LATE_SLACK	60

/* outbox.c */
extern struct store		*outbox_store;
extern const struct fu_config	**outbox_cfp;
int		 outbox_is_late(time_t, time_t);

/* outbox-deliver.c */
int		 outbox_deliver_running(const char *);

/* outbox-request.c: a notice about the rep's own request, to the rep. */
int		 outbox_request_rep(struct store *, const struct fu_config *,
		     const char *, const char *, int64_t, time_t, json_t *,
		     time_t);

/* One delivery copied out of the store. */
struct outbox_item {
	int64_t		 outbox_id;
	char		*channel;	/* the delivery row's channel */
	int		 attempts;
	char		*owner;
	char		*kind;
	time_t		 fire_at;
	char		*payload;
	time_t		 claimed_at;
	json_t		*notice;	/* payload parsed, once; NULL: not yet */
	int		 bad;		/* payload is not valid JSON */
};
void		 outbox_item_clear(struct outbox_item *);
void		 outbox_items_free(struct outbox_item *, size_t);

/*
 * outbox-compose.c: the notices channels receive, read from the store
 * given (the loop's, or a lane's). Caller owns each.
 */
json_t		*outbox_compose_rep(struct store *, const char *);
json_t		*outbox_compose_followup(struct store *,
		     const struct fu_config *, const struct store_notice_row *,
		     json_t *, int, time_t, int, time_t);
json_t		*outbox_compose_summary(struct store *, const char *,
		     json_t *, size_t, time_t);
json_t		*outbox_compose_digest(struct store *,
		     const struct fu_config *, const struct fu_user *,
		     const char *, time_t, int, int, time_t);

/* Who a notice goes to. */
enum channel_to {
	CHANNEL_TO_REP,		/* the rep who owns it (and the journal) */
	CHANNEL_TO_CONTACT,	/* the contact: only on the rep's command */
	CHANNEL_TO_CALENDAR	/* the rep's calendar: only on its setting */
};

/* How a delivery ended. */
enum channel_result {
	CHANNEL_DONE,		/* delivered */
	CHANNEL_RETRY,		/* failed; try again after the back-off */
	CHANNEL_GIVE_UP		/* failed for good: never retried */
};

/* What started deliveries report when they end; error NULL if done. */
typedef void	(*channel_done_cb)(enum channel_result, const char *, void *);

/* What channel_deliver returns. */
#define CHANNEL_DELIVERED	0	/* done at once */
#define CHANNEL_STARTED		1	/* done_cb follows; *lease set */
#define CHANNEL_BUSY		2	/* at a cap: a finishing one wakes us */
#define CHANNEL_FAILED		-1	/* could not start: *cause says why */

/*
 * A channel: where a notice goes.  A stored channel has a delivery row
 * per notice, named by rows(), and the deliverer tracks, leases, retries
 * and gives up on each row.  A live channel (follows set) has no rows: it
 * sees every notice the channel it follows has just delivered, once, and
 * is never retried.  Adding a channel is one channel-*.c file filling
 * this in and a line in the table in channel.c.
 */
struct channel {
	const char	*name;
	const char	*follows;	/* live: the stored channel it rides */
	int		 single;	/* each row goes out on its own */
	/* Does it take notices of kind going to whom? */
	int		 (*takes)(const char *, enum channel_to);
	/* Append the rows a new notice gets (strings the caller frees). */
	void		 (*rows)(const struct fu_config *, char ***, int *);
	/* Is the row one of this channel's? */
	int		 (*owns)(const char *);
	/* Why the row can no longer be delivered; NULL if it can. */
	const char	*(*gone)(const struct fu_config *, const char *);
	/*
	 * Deliver items[0..n) (one row channel, one rep, one claim): a
	 * CHANNEL_* value.  When started, the channel calls done_cb with arg
	 * exactly once; the items stay the caller's and live until then.
	 */
	int		 (*deliver)(const struct fu_config *,
			     struct outbox_item *, size_t, time_t,
			     channel_done_cb, void *, long *, char **);
	/*
	 * The deliverer gave the row up (error says why): the notice to
	 * tell its rep, which the caller owns and queues, or NULL.  A NULL
	 * given_up has nothing to tell.
	 */
	json_t		*(*given_up)(struct outbox_item *, const char *,
			     time_t);
};

/* channel.c */
const struct channel *channel_find(const char *);
char		**channel_rows(const struct fu_config *, const char *,
		     enum channel_to, int *);
void		 channel_rows_free(char **, int);
void		 channel_hook_rows_add(const struct fu_config *, const char *,
		    char ***, int *);
int		 channel_row_prefixed(const char *, const char *);
const char	*channel_hook_row_gone(const struct fu_config *, const char *,
		    const char *);
int		 channel_hook_permanent(const struct hook_result *);
json_t		*channel_item_notice(struct outbox_item *, json_error_t *);
void		 channel_follow(const struct fu_config *,
		     const struct channel *, struct outbox_item *, size_t,
		     time_t);

#endif /* OUTBOX_INTERNAL_H */
