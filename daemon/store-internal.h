/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * What the store's files share and nothing else sees: the store itself,
 * its statement slots, and the helpers that bind, step and read them.
 */

#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

#include <sys/types.h>

#include <sqlite3.h>

#include "followupd.h"
#include "store-backend.h"

/* Every prepared statement, one slot each. */
enum store_stmt {
	STMT_CONTACT_INSERT,
	STMT_CONTACT_GET,
	STMT_CONTACT_UPDATE,
	STMT_CONTACT_ARCHIVE,
	STMT_CONTACT_CANCEL_PENDING,
	STMT_CONTACT_LIST,
	STMT_CONTACT_LIST_ALL,
	STMT_CONTACT_REASSIGN,
	STMT_CONTACT_REASSIGN_FOLLOWUPS,
	STMT_CONTACT_REASSIGN_INTERACTIONS,
	STMT_CONTACT_STALE,
	STMT_CONTACT_STALE_ALL,
	STMT_CONTACT_TOUCH,
	STMT_CONTACT_DUMP,
	STMT_CONTACT_FIND_EMAIL,
	STMT_COUNT_CONTACTS,
	STMT_COUNT_INTERACTIONS,
	STMT_COUNT_PENDING,
	STMT_COUNT_TEAM,
	STMT_INTERACTION_INSERT,
	STMT_INTERACTION_LIST,
	STMT_INTERACTION_DUMP,
	STMT_FOLLOWUP_INSERT,
	STMT_FOLLOWUP_GET,
	STMT_FOLLOWUP_SET_DUE,
	STMT_FOLLOWUP_CLOSE,
	STMT_FOLLOWUP_LIST,
	STMT_FOLLOWUP_LIST_ALL,
	STMT_FOLLOWUP_LIST_CONTACT,
	STMT_FOLLOWUP_LIST_CONTACT_PENDING,
	STMT_FOLLOWUP_LIST_CLOSED,
	STMT_FOLLOWUP_LIST_CALENDAR,
	STMT_FOLLOWUP_DUMP,
	STMT_FOLLOWUP_NEXT_DUE,
	STMT_FOLLOWUP_NOTICES,
	STMT_FOLLOWUP_COUNT_DUE,
	STMT_TXN_READ_BEGIN,
	STMT_TXN_READ_END,
	STMT_TXN_SAVEPOINT,
	STMT_TXN_RELEASE,
	STMT_TXN_ROLLBACK_TO,
	STMT_USER_GET,
	STMT_USER_PUT,
	STMT_USER_ENSURE,
	STMT_USER_LIST,
	STMT_NOTICE_DUE,
	STMT_NOTICE_ADVANCE,
	STMT_OUTBOX_INSERT,
	STMT_OUTBOX_FOLD,
	STMT_OUTBOX_HELD,
	STMT_OUTBOX_SET_PAYLOAD,
	STMT_DELIVERY_INSERT,
	STMT_DELIVERY_DUE,
	STMT_DELIVERY_SET,
	STMT_NEXT_NOTICE,
	STMT_NEXT_DELIVERY,
	STMT_NEXT_DIGEST,
	STMT_NEXT_OF_OWNER,
	STMT_DIGEST_DUE,
	STMT_DIGEST_SET,
	STMT_OUTBOX_STATS,
	STMT_OUTBOX_HEALTH,
	STMT_OUTBOX_LAST_ERROR,
	STMT_OUTBOX_LAST_SENT,
	STMT_OUTBOX_LAST_SENT_OWNER,
	STMT_OUTBOX_REPS,
	STMT_OUTBOX_REQUESTS,
	STMT_OUTBOX_REARM,
	STMT_DELIVERY_REARM,
	STMT_PROMISE_INSERT,
	STMT_PROMISE_CALLBACKS,
	STMT_PROMISE_LIST,
	STMT_PROMISE_LAST,
	STMT_REPORT_STAGES,
	STMT_REPORT_FOLLOWUPS,
	STMT_REPORT_UPCOMING,
	STMT_REPORT_PROMISES,
	STMT_REPORT_VOICEMAILS,
	STMT_REPORT_STALE,
	STMT_COUNT
};

struct store_sql {
	enum store_stmt	 slot;
	const char	*sql;
};
extern const struct store_sql store_contact_sql[];
extern const struct store_sql store_interaction_sql[];
extern const struct store_sql store_followup_sql[];
extern const struct store_sql store_user_sql[];
extern const struct store_sql store_outbox_sql[];
extern const struct store_sql store_promise_sql[];
extern const struct store_sql store_report_sql[];

/* How many users rows one pass keeps (store-user.c). */
#define STORE_USER_CACHE	8

struct store {
	struct store_base	 base;		/* first: the backend's table */
	sqlite3			*db;
	char			*path;
	sqlite3_stmt		*stmt[STMT_COUNT];

	int			 txn_open;	/* a group commit is under way */
	int			 txn_failed;	/* it was rolled back under us */
	int			 read_open;	/* the pass's read transaction */
	const struct store_driver *driver;	/* the loop's; or NULL */
	store_commit_cb		 commit_cb;
	void			*commit_arg;
	int			 ckpt_retry;	/* s; 0: the last one worked */

	/*
	 * Commits made durable beside the loop (the driver syncs): the
	 * log's own descriptor, which only the sync thread uses while a
	 * sync runs, and the groups committed and made durable so far.
	 */
	int			 async;		/* synchronous=NORMAL: we sync */
	int			 wal_fd;	/* -1: not open */
	dev_t			 wal_dev;
	ino_t			 wal_ino;
	int			 sync_errno;	/* the last sync_run's failure */
	uint64_t		 commits;
	uint64_t		 durable;
	struct timespec		 ckpt_at;	/* last try after a full disk */

	/*
	 * The log folded in beside the loop (the driver checkpoints): its
	 * length in pages after the last commit, and the connection of its
	 * own that the checkpoint thread uses, while ckpt_asked.
	 */
	int			 wal_pages;
	int			 ckpt_asked;	/* from the driver, not yet over */
	sqlite3			*ckpt_db;	/* NULL: not yet opened */
	char			*ckpt_error;	/* the last ckpt_run's failure */

	enum store_result	 last;
	char			*database_id;	/* read once, see store_id */
	int			*reader;	/* a reader's: its "stopped" */
	char			*reader_error;	/* its first failure */

	/*
	 * Users rows read in this pass's transaction (store-user.c): every
	 * write op of a pass reads its rep's row several times, and within
	 * one transaction only our own writes can change it.
	 */
	struct store_user_cached {
		struct fu_user		 u;
		enum store_result	 r;	/* STORE_OK or NOT_FOUND */
	}			 users[STORE_USER_CACHE];
	int			 nusers;
	int			 users_next;	/* slot to reuse when full */
};

sqlite3_stmt	*store_stmt(struct store *, enum store_stmt);
int		 store_sqlite_mem_setup(void);
int		 store_step(struct store *, sqlite3_stmt *);
void		 store_done(sqlite3_stmt *);
enum store_result store_fail(struct store *, sqlite3_stmt *, int);
void		 store_bind_text(sqlite3_stmt *, int, const char *);
void		 store_bind_time(sqlite3_stmt *, int, time_t);
void		 store_bind_stale(sqlite3_stmt *, const char *,
		     const struct store_stale *, time_t, int);
char		*store_col_text(sqlite3_stmt *, int);
char		*store_col_borrow(sqlite3_stmt *, int);
int64_t		 store_query_int(struct store *, const char *);
time_t		 store_col_time(sqlite3_stmt *, int);

/* store-user.c */
void		 store_user_forget(struct store *);
void		 store_user_update_cb(void *, int, const char *,
		     const char *, sqlite3_int64);

/* store-maint.c: the check at start, on the store's own connection */
void		 store_sqlite_check(struct store *, int *, char **,
		     int64_t *);

#endif /* STORE_INTERNAL_H */
