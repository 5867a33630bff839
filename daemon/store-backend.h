/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The store's backend interface.  The public store_* functions are the
 * domain API every caller uses; each dispatches to the backend the store
 * was opened with, a table of function pointers like OpenSMTPD's queue
 * backends.  A backend fills in one table per area (contacts, ...) and
 * sees only plain records and callbacks: no JSON, no configuration, no
 * event loop.  A second backend is a new set of files filling the same
 * tables.
 */

#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#include "followupd.h"

struct store_contact_backend {
	enum store_result (*insert)(struct store *, struct fu_contact *);
	enum store_result (*get)(struct store *, const char *, int64_t,
			      struct fu_contact *);
	enum store_result (*update)(struct store *, const struct fu_contact *);
	enum store_result (*cancel_pending)(struct store *, int64_t, time_t,
			      const char *, int *);
	enum store_result (*set_archived)(struct store *, const char *,
			      int64_t, int, time_t, int *);
	enum store_result (*reassign)(struct store *, int64_t, const char *,
			      time_t, int *);
	enum store_result (*list)(struct store *,
			      const struct store_contact_filter *,
			      store_contact_cb, void *);
	enum store_result (*dump)(struct store *, const char *, int64_t,
			      int, store_contact_cb, void *);
	enum store_result (*find_email)(struct store *, const char *,
			      const char *, int64_t *, size_t, size_t *);
	enum store_result (*stale)(struct store *, const char *,
			      const struct store_stale *, time_t, int,
			      store_contact_cb, void *);
	enum store_result (*counts)(struct store *, const char *, time_t,
			      struct store_contact_counts *);
	enum store_result (*team_counts)(struct store *, int64_t *,
			      int64_t *, int64_t *);
};

struct store_interaction_backend {
	enum store_result (*insert)(struct store *st,
			      struct fu_interaction *in);
	enum store_result (*list)(struct store *st, const char *owner,
			      int64_t contact_id, time_t since,
			      time_t before_at, int64_t before_id, int limit,
			      store_interaction_cb cb, void *arg);
	enum store_result (*dump)(struct store *st, const char *owner,
			      int64_t after, int limit,
			      store_interaction_cb cb, void *arg);
};

struct store_promise_backend {
	enum store_result (*add)(struct store *st, const struct fu_promise *p);
	enum store_result (*list)(struct store *st, const char *owner,
			      int64_t contact_id, int limit,
			      store_promise_cb cb, void *arg);
	enum store_result (*last)(struct store *st, int64_t followup_id,
			      time_t *due);
};

struct store_report_backend {
	enum store_result (*stages)(struct store *st, const char *owner,
			      store_report_cb cb, void *arg);
	enum store_result (*followups)(struct store *st, const char *owner,
			      time_t from, time_t to, store_report_cb cb,
			      void *arg);
	enum store_result (*upcoming)(struct store *st, const char *owner,
			      time_t since, time_t now, store_report_cb cb,
			      void *arg);
	enum store_result (*promises)(struct store *st, const char *owner,
			      time_t from, time_t to, store_report_cb cb,
			      void *arg);
	enum store_result (*voicemails)(struct store *st, const char *owner,
			      time_t since, store_report_cb cb, void *arg);
	enum store_result (*stale)(struct store *st, const char *owner,
			      const struct store_stale *ss, time_t now,
			      int limit, store_report_cb cb, void *arg);
};

/*
 * A reader: a second, read-only view of the database for a thread beside
 * the loop, all its reads from one snapshot.  open returns a store on
 * which the thread calls the read functions above (report, user.get);
 * stop may come from any thread; new and free run on the loop.
 */
struct store_reader_backend {
	struct store_reader *(*new)(struct store *st);
	struct store	*(*open)(struct store_reader *r, char **cause);
	void		 (*stop)(struct store_reader *r);
	void		 (*free)(struct store_reader *r);
};

struct store_user_backend {
	enum store_result (*get)(struct store *st, const char *name,
			      struct fu_user *u);
	enum store_result (*list)(struct store *st, store_user_cb cb,
			      void *arg);
	enum store_result (*put)(struct store *st, const struct fu_user *u,
			      time_t now);
};

struct store_followup_backend {
	enum store_result (*insert)(struct store *st, struct fu_followup *f);
	enum store_result (*get)(struct store *st, const char *owner,
			      int64_t id, struct fu_followup *f);
	enum store_result (*set_due)(struct store *st,
			      const struct fu_followup *f, int snooze,
			      time_t missed, time_t now);
	enum store_result (*close)(struct store *st, const char *owner,
			      int64_t id, const char *status, const char *note,
			      time_t now);
	enum store_result (*close_at)(struct store *st, const char *owner,
			      int64_t id, const char *status, const char *note,
			      time_t done_at, time_t now);
	enum store_result (*list)(struct store *st,
			      const struct store_followup_filter *flt,
			      store_followup_cb cb, void *arg);
	enum store_result (*dump)(struct store *st, const char *owner,
			      time_t closed_since, int64_t after, int limit,
			      store_followup_cb cb, void *arg);
	enum store_result (*next_due)(struct store *st, const char *owner,
			      time_t *due);
	enum store_result (*notices)(struct store *st, const char *owner,
			      time_t before, int limit, store_followup_cb cb,
			      void *arg, int *n);
	enum store_result (*count_due)(struct store *st, const char *owner,
			      time_t from, time_t to, int64_t *count);
};

struct store_outbox_backend {
	enum store_result (*notice_due)(struct store *st, time_t now, int limit,
			      struct store_notice_row **rows, size_t *n);
	enum store_result (*notice_advance)(struct store *st,
			      const struct store_notice_row *rows, size_t n);
	enum store_result (*add)(struct store *st, struct store_outbox *o,
			      const char *const *channels, int n, time_t now,
			      int *created);
	/* NULL: add, one by one. */
	enum store_result (*add_many)(struct store *st, struct store_outbox *o,
			      size_t n, time_t now);
	enum store_result (*fold)(struct store *st, int64_t id,
			      int64_t summary);
	enum store_result (*held)(struct store *st, const char *owner,
			      const char *kind, int64_t fid, time_t now,
			      int64_t *id, time_t *fire, char **payload);
	enum store_result (*set_payload)(struct store *st, int64_t id,
			      const char *payload);
	enum store_result (*delivery_due)(struct store *st, time_t now,
			      int limit, store_delivery_cb cb, void *arg);
	enum store_result (*delivery_set)(struct store *st, int64_t outbox_id,
			      const char *channel, const char *status,
			      int attempts, time_t next_at, const char *error,
			      time_t now);
	/* NULL: delivery_set "pending" until then does (one node). */
	enum store_result (*delivery_start)(struct store *st,
			      int64_t outbox_id, const char *channel,
			      int attempts, time_t until, time_t now);
	/* NULL: delivery_start and delivery_set, one by one. */
	enum store_result (*delivery_write)(struct store *st,
			      const struct store_delivery_state *v, size_t n);
	enum store_result (*schedule_next)(struct store *st, time_t *notice,
			      time_t *delivery, time_t *digest,
			      int64_t *unplanned);
	enum store_result (*schedule_next_of)(struct store *st,
			      const char *owner, time_t *next);
	enum store_result (*digest_due)(struct store *st, time_t now,
			      store_digest_cb cb, void *arg);
	enum store_result (*digest_set)(struct store *st, const char *name,
			      time_t at);
	enum store_result (*stats)(struct store *st, const char *owner,
			      struct store_outbox_stats *os);
	enum store_result (*health)(struct store *st, const char *owner,
			      struct store_outbox_health *oh);
	enum store_result (*last)(struct store *st, const char *owner,
			      struct store_outbox_last *ol);
	enum store_result (*reps)(struct store *st, store_outbox_rep_cb cb,
			      void *arg);
	enum store_result (*requests)(struct store *st,
			      const char *owner, int64_t id,
			      store_outbox_request_cb cb, void *arg);
	enum store_result (*rearm)(struct store *st,
			      const struct store_outbox *o, time_t now,
			      int *rearmed);
};

/*
 * Opening and closing, and the transactions: the group commit of a loop
 * pass, its shared read, and keeping the database's files in shape once
 * writes rest.  The daemon drives them through store_set_driver.
 */
struct store_txn_backend {
	struct store	*(*open)(const char *database, char **cause);
	void		 (*close)(struct store *st);
	void		 (*set_driver)(struct store *st,
			      const struct store_driver *driver,
			      store_commit_cb cb, void *arg);
	void		 (*read_begin)(struct store *st);
	enum store_result (*write_begin)(struct store *st);
	void		 (*write_end)(struct store *st, int ok);
	int		 (*in_txn)(struct store *st);
	int		 (*commit)(struct store *st);
	enum store_result (*checkpoint)(struct store *st);
	void		 (*idle)(struct store *st);
	enum store_result (*last_result)(struct store *st);
	const char	*(*id)(struct store *st);
	int		 (*schema_version)(struct store *st);
	/* Optional: another connection of this node for a thread's
	 * requests (a server's database, where each waits on the network). */
	struct store	*(*lane_new)(struct store *st);

	/*
	 * Optional (NULL: each commit is durable when it returns): a commit
	 * that is written but made durable beside the loop.  commits and
	 * durable count groups; sync_begin (on the loop) says up to which
	 * group a sync_run (on a thread, touching nothing else) makes
	 * durable; sync_end (on the loop) records the outcome.
	 */
	uint64_t	 (*commits)(struct store *st);
	uint64_t	 (*durable)(struct store *st);
	uint64_t	 (*sync_begin)(struct store *st);
	int		 (*sync_run)(struct store *st);
	void		 (*sync_end)(struct store *st, uint64_t upto, int ok);

	/*
	 * Optional (NULL: the commits themselves keep the log short): folding
	 * the log into the database beside the loop, asked for through the
	 * driver's checkpoint once the log passes its mark.  ckpt_run (on a
	 * thread, touching only its own connection) and then ckpt_end (on
	 * the loop) with its outcome.
	 */
	int		 (*ckpt_run)(struct store *st);
	void		 (*ckpt_end)(struct store *st, int ok);
};

/*
 * Looking after the database as a whole: a consistent copy while the
 * daemon runs (followup backup) and a check of its integrity beside the
 * loop (followup doctor).  A backend whose database cannot copy itself
 * (a server's: its own tools make its backups) leaves backup_begin NULL,
 * and then every backup_* entry; one that cannot be checked by the daemon
 * leaves check_new NULL, and then every check_* entry.  The dispatchers
 * then refuse a backup with a reason (backup_refusal, if the backend
 * says how its database is backed up) and doctor says the check was
 * skipped, rather than calling through NULL.  A copy and a check begin
 * with a struct store_base, so their dispatchers find the table.
 *
 * backup_begin starts a copy in a file of the daemon's own; backup_step
 * copies a little of it from the loop (1: more to copy; 2: busy, try
 * again a little later; 0: done, with a read-only descriptor of the copy;
 * -1: failed); backup_abort drops it; backup_clean removes copies a
 * killed daemon left; backup_target_live says whether a path is one of
 * the live database's own files.  check_new makes a check that
 * check_run runs on a worker's thread (check_stop may come from any
 * thread); check_name says what the check is, for doctor's report.
 */
struct store_maint_backend {
	int		 (*backup_target_live)(struct store *st,
			      const char *path, char **cause);
	struct store_backup *(*backup_begin)(struct store *st, char **cause);
	int		 (*backup_step)(struct store_backup *sb, int *fd,
			      int64_t *bytes, char **cause);
	void		 (*backup_abort)(struct store_backup *sb);
	void		 (*backup_clean)(struct store *st);
	const char	*backup_refusal;
	const char	*check_name;
	struct store_check_file *(*check_new)(struct store *st);
	void		 (*check_run)(struct store_check_file *cf);
	void		 (*check_stop)(struct store_check_file *cf);
	int		 (*check_result)(struct store_check_file *cf,
			      const char **detail, int64_t *bytes);
	void		 (*check_free)(struct store_check_file *cf);
};

/*
 * The nodes sharing a server's database: each beats (writes its
 * heartbeat) every STORE_NODE_BEAT seconds and is live while its
 * heartbeat is younger than STORE_NODE_LIVE_BEATS beats; live lists them.
 * Heartbeats, and the leases on deliveries, are times of the database
 * server's clock: nodes whose own clocks disagree (or jump) still agree
 * on who is live and whose lease ran out.
 * A committed write tells the other nodes (NOTIFY); notify_fd is the
 * socket for the daemon to watch (-1: none), which one it is (*session
 * changes with each socket, and each way to watch it) and how (*how): the
 * connection's, to read its news, or while the store connects again, the
 * try's, to read or to write.  notify_drain reads what came and counts
 * the other nodes' news (-1: the connection is gone), or takes the try
 * its next step.  offline says whether the connection is lost, since when
 * and when the next try starts (0: one is under way), by the wall clock;
 * standby, whether the server the last try met serves reads only (a
 * standby in recovery): lanes may then still read.  server_version names
 * the database server.  A backend whose database has one node (SQLite's
 * file) leaves the table NULL.
 */
struct store_node_backend {
	enum store_result (*beat)(struct store *st);
	enum store_result (*live)(struct store *st, store_node_cb cb,
			      void *arg);
	const char	*(*server_version)(struct store *st);
	int		 (*notify_fd)(struct store *st, unsigned *session,
			      enum store_watch *how);
	int		 (*notify_drain)(struct store *st);
	int		 (*offline)(struct store *st, time_t *since,
			      time_t *next_try);
	uint64_t	 (*users_news)(struct store *st);
	int		 (*standby)(struct store *st);
};

struct store_backend {
	const char				*name;
	const struct store_txn_backend		*txn;
	const struct store_contact_backend	*contact;
	const struct store_interaction_backend	*interaction;
	const struct store_promise_backend	*promise;
	const struct store_report_backend	*report;
	const struct store_reader_backend	*reader;
	const struct store_user_backend		*user;
	const struct store_followup_backend	*followup;
	const struct store_outbox_backend	*outbox;
	const struct store_maint_backend	*maint;
	const struct store_node_backend		*node;
};

/*
 * Every backend's store (and reader, backup and check) begins with this,
 * so the dispatchers find the table without knowing the rest of the
 * backend's struct.
 */
struct store_base {
	const struct store_backend	*backend;
	uint64_t			 outbox_commit;	/* see
							   store_outbox_commit */
};
#define STORE_BACKEND(st)	(((struct store_base *)(void *)(st))->backend)

const struct store_backend *store_backend_find(const char *);

/* The SQLite backend (store.c and store-*.c). */
extern const struct store_txn_backend store_sqlite_txn;
extern const struct store_contact_backend store_sqlite_contact;
extern const struct store_interaction_backend store_sqlite_interaction;
extern const struct store_promise_backend store_sqlite_promise;
extern const struct store_report_backend store_sqlite_report;
extern const struct store_reader_backend store_sqlite_reader;
extern const struct store_user_backend store_sqlite_user;
extern const struct store_followup_backend store_sqlite_followup;
extern const struct store_outbox_backend store_sqlite_outbox;
extern const struct store_maint_backend store_sqlite_maint;
extern const struct store_backend store_sqlite;

/* The PostgreSQL backend (store-pg.c), when built. */
extern const struct store_backend store_postgresql;

#endif
