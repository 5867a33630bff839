/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * What the PostgreSQL store's files share: the store itself, and helpers
 * to run a statement with parameters and read its columns.
 */

#ifndef STORE_PG_INTERNAL_H
#define STORE_PG_INTERNAL_H

#include <pthread.h>

#include <libpq-fe.h>

#include "store-backend.h"

struct store_pg {
	struct store_base	 base;		/* first: the backend's table */
	PGconn			*conn;
	int			 schema;
	char			*database_id;
	char			*node;		/* names this daemon's claims */
	char			*host;		/* ... and where it runs */
	time_t			 started;
	int			 notify;	/* the group moved the schedule */
	int			 notify_users;	/* ... and changed a rep's
						   settings */
	uint64_t		 users_news;	/* such news heard (the
						   loop's; read anywhere) */
	int			 beat_out;	/* a heartbeat's answer is
						   still to come */
	int			 lane;		/* a lane's: reconnects
						   waiting, on its thread */
	const unsigned		*main_ups;	/* a lane's: its node's ups */
	unsigned		 ups_seen;	/* ... when it connected */

	const struct store_driver *driver;
	store_commit_cb		 commit_cb;
	void			*commit_arg;
	int			 txn_open;	/* the pass's group */
	int			 txn_failed;	/* ... can only roll back */
	int			 txn_release;	/* ... its last write's
						   savepoint is released
						   with the next statement */
	enum store_result	 last;		/* what the last failure met */

	int			 lost;		/* the connection went: */
	int			 connecting;	/* ... setting a new one up, */
	time_t			 lost_at;	/* ... since (monotonic s), */
	time_t			 retry_at;	/* ... next try then, */
	int			 retry_wait;	/* ... after this wait (s) */
	int			 standby;	/* ... the last try met a
						   standby: it serves reads */
	unsigned		 ups;		/* connections made (the
						   loop's; read anywhere) */
	struct store_pg_try	*pending;	/* ... the try under way, */
	int			 pending_fd;	/* ... done when this reads */
	unsigned		 session;	/* sockets to watch since */

	char			*conninfo;	/* for readers; never shown */
	int			*stopped;	/* a reader's: stop reading */
	char			*reader_error;	/* a reader's first failure */
};

#define STORE_PG(st)	((struct store_pg *)(void *)(st))

/*
 * A node is live while its heartbeat is younger than this: its claims
 * hold however long its hooks run; a dead node's are taken at once.
 */
#define STORE_PG_NODE_STALE	(STORE_NODE_BEAT * STORE_NODE_LIVE_BEATS)

/*
 * Now by the database server's clock, in seconds: the one clock every
 * node's heartbeat and every lease is written and read by, so that a
 * node whose own clock is off (or jumps) neither takes a live node's
 * claims for a dead one's nor holds its own past their time.
 */
#define STORE_PG_NOW	"floor(extract(epoch FROM statement_timestamp()))::bigint"

/* A statement's parameters, as text (NULL for SQL NULL). */
#define STORE_PG_MAX_PARAMS	24
struct store_pg_params {
	const char	*v[STORE_PG_MAX_PARAMS];
	char		 num[STORE_PG_MAX_PARAMS][24];
	int		 n;
};

int		 store_pg_reachable(struct store_pg *);
void		 store_pg_beat_result(struct store_pg *, int);
void		 store_pg_params_init(struct store_pg_params *);
void		 store_pg_param_text(struct store_pg_params *, const char *);
void		 store_pg_param_int(struct store_pg_params *, int64_t);
void		 store_pg_param_null(struct store_pg_params *);
void		 store_pg_param_time(struct store_pg_params *, time_t);
PGresult	*store_pg_query(struct store_pg *, const char *,
		     const struct store_pg_params *, enum store_result *);
char		*store_pg_col_text(const PGresult *, int, int);
int64_t		 store_pg_col_int(const PGresult *, int, int, int64_t);
/* A PostgreSQL array literal, built an element at a time. */
struct store_pg_array {
	char	*s;
	size_t	 len, size;
};
void		 store_pg_array_raw(struct store_pg_array *, const char *);
void		 store_pg_array_int(struct store_pg_array *, int64_t);
void		 store_pg_array_text(struct store_pg_array *, const char *);
const char	*store_pg_array_end(struct store_pg_array *);
void		 store_pg_array_free(struct store_pg_array *);
char		*store_pg_text_array(const char *const *, int);
char		*store_pg_int_array(const int64_t *, size_t);
PGresult	*store_pg_query_ids(struct store_pg *, const char *,
		     const int64_t *, size_t, enum store_result *);

/*
 * Read-ahead for a claim: what the notices of n follow-ups show, in one
 * question each rather than one per notice.  Each fills out[k] for the
 * k-th key; an out[k] left zeroed was not found (or is not its rep's).
 */
enum store_result store_pg_followups_among(struct store *, const int64_t *,
		     size_t, struct fu_followup *);
enum store_result store_pg_contacts_among(struct store *, const int64_t *,
		     const char *const *, size_t, struct fu_contact *);
enum store_result store_pg_interactions_recent(struct store *,
		     const int64_t *, const char *const *, size_t, int,
		     struct fu_interaction **, size_t *);

/* The tables each file fills. */
extern const struct store_user_backend store_pg_user;
extern const struct store_contact_backend store_pg_contact;
extern const struct store_followup_backend store_pg_followup;
extern const struct store_report_backend store_pg_report;
extern const struct store_interaction_backend store_pg_interaction;
extern const struct store_promise_backend store_pg_promise;
extern const struct store_outbox_backend store_pg_outbox;

#endif /* STORE_PG_INTERNAL_H */
