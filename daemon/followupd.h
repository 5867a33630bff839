/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followupd's internal header: the types the parts share and every
 * function one part offers another, grouped by the file that defines it.
 */

#ifndef FOLLOWUPD_H
#define FOLLOWUPD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <pthread.h>

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "followup/protocol.h"

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif
#define FU_PRINTF(a, b)	__attribute__((__format__(__printf__, a, b)))

struct event_base;
struct store;
struct conn;

/* log.c */
enum log_target {
	LOG_TO_AUTO,		/* journal under systemd, else stderr */
	LOG_TO_JOURNAL,
	LOG_TO_SYSLOG,
	LOG_TO_STDERR
};
void		 log_init(enum log_target, int);
int		 log_target_from_name(const char *, enum log_target *);
void		 log_warn(const char *, ...) FU_PRINTF(1, 2);
void		 log_warnx(const char *, ...) FU_PRINTF(1, 2);
void		 log_err(const char *, ...) FU_PRINTF(1, 2);
void		 log_info(const char *, ...) FU_PRINTF(1, 2);
void		 log_debug(const char *, ...) FU_PRINTF(1, 2);
void		 log_event(int, const char *, int64_t, int64_t, const char *,
		     const char *, ...) FU_PRINTF(6, 7);
void		 log_limit_init(struct event_base *);
void		 log_limit_flush(void);
void		 log_warn_limited(const char *, const char *, const char *, ...)
		     FU_PRINTF(3, 4);
void		 log_warnx_limited(const char *, const char *, const char *,
		     ...) FU_PRINTF(3, 4);
__dead void	 fatal(const char *, ...) FU_PRINTF(1, 2);
__dead void	 fatalx(const char *, ...) FU_PRINTF(1, 2);

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...) FU_PRINTF(2, 3);
int		 xvasprintf(char **, const char *, va_list) FU_PRINTF(2, 0);

/* auth.c */
int		 auth_is_admin(uid_t, gid_t, const char *, const char *);
int		 auth_user_exists(const char *);
int64_t		 auth_user_uid(const char *);

/* config.c */
#define CONFIG_MAX_STAGES	32
#define CONFIG_MAX_HOOKS	16
struct fu_config {
	char		*path;		/* file read, or NULL for none */
	char		*socket;
	int		 socket_private; /* the user's own: its dir is 0700 */
	char		*database;
	char		*admin_group;
	char		*socket_group;	/* group that may connect (0660) */
	enum log_target	 log;
	int		 max_conns_per_user;

	long		 lead;		/* seconds */
	long		 missed_grace;
	int		 digest;	/* minutes after local midnight */
	char		*hooks[CONFIG_MAX_HOOKS];
	int		 nhooks;
	long		 hook_timeout;
	long		 hook_retry;	/* first retry delay, then doubling */
	long		 hook_give_up;	/* stop retrying a delivery after */
	int		 hook_max;	/* hooks running at once */
	char		*manager;	/* also told of missed callbacks */
	long		 late_horizon;	/* later than this: folded */
	long		 check_interval; /* longest sleep of the schedule */

	unsigned int	 workdays;	/* bit 0 = Sunday ... bit 6 = Saturday */
	int		 hours_start;	/* minutes after midnight */
	int		 hours_end;
	int		 voicemails_per_week;
	long		 stale_after;	/* seconds */
	int		 info_sent_days;	/* working days to discuss info */
	long		 callback_tolerance; /* a callback kept this close */

	char		*open_stages[CONFIG_MAX_STAGES];
	int		 nopen;
	char		*closed_stages[CONFIG_MAX_STAGES];
	int		 nclosed;

	/* [confirmations]: the letters' text, read and checked; NULL for
	 * the built-in English */
	char		*confirm_template;
	char		*cancel_template;
	char		*confirm_subject;
	char		*cancel_subject;
	char		*signature;
	char		*confirm_locale;	/* day and month names; NULL:
						   English */

	int		 refs;		/* holders besides its owner (requests
					   on the store's lanes) */
};
struct fu_config *config_new(void);
struct fu_config *config_ref(const struct fu_config *);
void		 config_free(struct fu_config *);
int		 config_load(struct fu_config *, const char *, int, char **);
int		 config_default_paths(struct fu_config *, char **);
struct store_stale;
void		 config_stale(const struct fu_config *, struct store_stale *);
int		 config_system_mode(void);
int		 config_parse_duration(const char *, long *);
int		 config_parse_hhmm(const char *, int *);
int		 config_parse_hours(const char *, int *, int *);
int		 config_parse_workdays(const char *, unsigned int *);
int		 config_stage_known(const struct fu_config *, const char *);
int		 config_stage_open(const struct fu_config *, const char *);

/* worker.c */
struct worker;
int		 worker_thread_start(pthread_t *, void *(*)(void *), void *);
typedef void	(*worker_cb)(void *);
struct worker	*worker_start(struct event_base *, worker_cb, worker_cb, void *,
		     char **);
int		 worker_running(struct worker *);
void		 worker_join(struct worker *);
void		 worker_free(struct worker *);

/* when.c */
void		 when_lock(void);
void		 when_unlock(void);
const char	*when_getenv(const char *);
#define WHEN_RFC3339_LEN	32
int		 when_parse(const char *, const char *, time_t, time_t *,
		     char **, char **);
int		 when_zone_valid(const char *);
int		 when_day_start(time_t, const char *, int, time_t *);
size_t		 when_format(time_t, char *, size_t);
json_t		*when_json(time_t);
json_t		*when_json_or_null(time_t);
const char	*when_local_zone(void);
time_t		 when_local_on_day(time_t, const char *, int);
void		 when_local_date(time_t, const char *, char *, size_t);
void		 when_local_time(time_t, const char *, char *, size_t);
void		 when_local_time_dual(time_t, const char *, const char *, char *,
		     size_t);

/* rules.c */
enum notice_stage {
	NOTICE_NONE,
	NOTICE_REMINDER,
	NOTICE_DUE,
	NOTICE_MISSED,
	NOTICE_END,		/* a follow-up's notices end here */
	NOTICE_DIGEST,
	NOTICE_SUMMARY
};
struct rules_followup {
	int		 callback;
	time_t		 due_at;
	time_t		 remind_at;
	long		 grace;		/* missed_grace */
};
time_t		 rules_notice_time(int, const struct rules_followup *);
int		 rules_notice_next(int, const struct rules_followup *, time_t,
		     time_t *);
int		 rules_notice_passed(int, const struct rules_followup *, time_t);
const char	*rules_notice_name(int);
time_t		 rules_next_digest(time_t, const char *, int);
const char	*rules_promise_state(const char *, time_t, time_t, time_t, long,
		     long);
time_t		 rules_followup_deadline(int, time_t, const char *, long);

/* cadence.c */
struct cadence_hours {
	unsigned int	 workdays;	/* bit 0 = Sunday ... bit 6 = Saturday */
	int		 start;		/* minutes after local midnight */
	int		 end;
};
struct cadence_day {
	int		 year, month, mday;
	int		 wday;		/* 0 = Sunday */
	int		 minute;	/* after local midnight */
	long		 daynum;	/* days since 1970-01-01 */
	long		 week;		/* Monday-to-Sunday weeks since 1970 */
};
struct cadence_attempt {
	time_t		 at;
	int		 voicemail;	/* a voicemail was left */
	int		 message;	/* a message left with someone */
};
int		 cadence_local(time_t, const char *, struct cadence_day *);
time_t		 cadence_instant(const struct cadence_day *, int, int,
		     const char *);
time_t		 cadence_fit(time_t, const char *,
		     const struct cadence_hours *);
time_t		 cadence_workdays_later(time_t, const char *,
		     const struct cadence_hours *, int);
unsigned int	 cadence_rhythm(const struct cadence_hours *, int, long);
int		 cadence_voicemails_in_week(const struct cadence_attempt *,
		     size_t, long, const char *);
time_t		 cadence_next_attempt(const struct cadence_attempt *, size_t,
		     size_t, time_t, const char *, const struct cadence_hours *,
		     int, const char **);
int		 cadence_suggest_operator(const struct cadence_attempt *,
		     size_t, size_t, time_t, const char *);

/* store.c */
enum store_result {
	STORE_OK,
	STORE_NOT_FOUND,
	STORE_CONFLICT,
	STORE_FULL,		/* disk full: nothing was written */
	STORE_BUSY,		/* locked by another process */
	STORE_OFFLINE,		/* the database server is out of reach */
	STORE_CORRUPT,		/* the file is damaged */
	STORE_ERROR
};
typedef void	(*store_commit_cb)(int, void *);
/* What the store asks of the loop that drives it (commit.c). */
struct store_driver {
	void	(*pass)(void *);	/* call store_commit once this loop
					   pass is over */
	void	(*read)(void *);	/* optional: call store_commit soon;
					   a read may serve passes till then */
	void	(*idle)(long, void *);	/* call store_idle in ms (re-arm) */
	void	(*sync)(void *);	/* optional: make the commits durable
					   beside the loop (store_sync_*) */
	void	(*checkpoint)(void *);	/* optional: fold the log into the
					   database beside the loop
					   (store_ckpt_*) */
	void	*arg;
};
struct store	*store_open(const char *, char **);
void		 store_close(struct store *);
struct store	*store_lane_new(struct store *);
void		 store_set_driver(struct store *, const struct store_driver *,
		     store_commit_cb, void *);
void		 store_idle(struct store *);
void		 store_read_begin(struct store *);
enum store_result store_write_begin(struct store *);
void		 store_write_end(struct store *, int);
int		 store_in_txn(struct store *);
int		 store_commit(struct store *);
uint64_t	 store_commits(struct store *);
uint64_t	 store_durable(struct store *);
uint64_t	 store_outbox_commit(struct store *);
uint64_t	 store_sync_begin(struct store *);
int		 store_sync_run(struct store *);
void		 store_sync_end(struct store *, uint64_t, int);
int		 store_ckpt_run(struct store *);
void		 store_ckpt_end(struct store *, int);
enum store_result store_checkpoint(struct store *);
enum store_result store_last_result(struct store *);
int		 store_schema_version(struct store *);
const char	*store_id(struct store *);

/* lanes.c: work run beside the loop on the store's own connections. */
struct lane_job {
	TAILQ_ENTRY(lane_job)	 entry;
	/* On a lane, in its group's transaction; sets wrote if it did. */
	void			(*run)(struct store *, struct lane_job *);
	/* On the loop, once the group is committed (or lost). */
	void			(*done)(struct lane_job *);
	int			 wrote;
	int			 committed;	/* the group is the server's */
	enum store_result	 why;		/* ... or why it was lost */
};
int		 lanes_start(struct event_base *, struct store *, int,
		     void (*)(int, void *), void *);
int		 lanes_running(void);
void		 lanes_submit(struct lane_job *, uid_t);
/* The schedule's work (claims, results) takes its turn as a user's. */
#define LANES_SCHEDULE_UID	((uid_t)-1)
void		 lanes_free(void);

/* commit.c */
void		 commit_init(struct event_base *, struct store *,
		     store_commit_cb, void (*)(void *), void *);
void		 commit_free(void);

/* store-backend.c */
enum store_backend_kind {
	STORE_BACKEND_SQLITE,
	STORE_BACKEND_POSTGRESQL,
	STORE_BACKEND_UNKNOWN
};
enum store_backend_kind store_backend_kind(const char *);
int		 store_backend_usable(const char *, char **);
char		*store_database_shown(const char *);
const char	*store_backend_name(struct store *);

/* store-move.c: a team's SQLite database copied into PostgreSQL */
#define STORE_MOVE_TABLES	7
struct store_move_count {
	const char	*table;
	int64_t		 from;		/* rows in SQLite */
	int64_t		 to;		/* rows in PostgreSQL */
};
int		 store_move(struct store *, struct store *,
		     struct store_move_count[STORE_MOVE_TABLES], char **);

/* The nodes sharing a database (a server's; an SQLite file has one). */
#define STORE_NODE_BEAT		5	/* s between heartbeats */
#define STORE_NODE_LIVE_BEATS	3	/* live while younger than these */
struct store_node {
	const char	*name;
	const char	*host;
	const char	*version;
	int64_t		 pid;
	time_t		 started_at;
	time_t		 heartbeat_at;
	int64_t		 clock_offset_ms; /* from the server's; ahead: > 0 */
};
typedef int	(*store_node_cb)(const struct store_node *, void *);
int		 store_node_shared(struct store *);
enum store_result store_node_beat(struct store *);
enum store_result store_node_live(struct store *, store_node_cb,
		     void *);
const char	*store_node_server_version(struct store *);
enum store_watch {
	STORE_WATCH_NEWS,		/* connected: read the news */
	STORE_WATCH_CONNECT_READ,	/* connecting again: the try reads */
	STORE_WATCH_CONNECT_WRITE	/* ... or writes */
};
int		 store_node_notify_fd(struct store *, unsigned *,
		     enum store_watch *);
int		 store_node_notify_drain(struct store *);
uint64_t	 store_node_users_news(struct store *);
int		 store_offline(struct store *, time_t *, time_t *);
int		 store_standby(struct store *);

/* store-backend.c: readers beside the loop */
struct store_reader;
struct store_reader *store_reader_new(struct store *);
struct store	*store_reader_open(struct store_reader *, char **);
void		 store_reader_stop(struct store_reader *);
void		 store_reader_free(struct store_reader *);

/*
 * store-backend.c: looking after the database, where its backend can
 * (a backup refused with a reason, a check that is NULL, otherwise)
 */
struct store_backup;
int		 store_backup_target_live(struct store *, const char *, char **);
struct store_backup *store_backup_begin(struct store *, char **);
int		 store_backup_step(struct store_backup *, int *, int64_t *,
		     char **);
void		 store_backup_abort(struct store_backup *);
void		 store_backup_clean(struct store *);
const char	*store_check_name(struct store *);
struct store_check_file;
struct store_check_file *store_check_file_new(struct store *);
void		 store_check_file_run(struct store_check_file *);
void		 store_check_file_stop(struct store_check_file *);
int		 store_check_file_result(struct store_check_file *,
		     const char **, int64_t *);
void		 store_check_file_free(struct store_check_file *);

/* Records the store hands out; strings are owned by the record. */
struct fu_contact {
	int64_t		 id;
	char		*owner;
	char		*name;
	char		*company;
	char		*phone;
	char		*email;
	char		*tz;
	char		*stage;
	char		*notes;
	time_t		 archived_at;	/* 0 when not archived */
	time_t		 last_activity_at;
	time_t		 created_at;
	time_t		 updated_at;
};
struct fu_interaction {
	int64_t		 id;
	int64_t		 contact_id;
	char		*owner;
	char		*kind;
	char		*outcome;
	char		*note;
	time_t		 at;
	time_t		 created_at;
};
struct fu_followup {
	int64_t		 id;
	int64_t		 contact_id;
	char		*contact_name;
	char		*contact_tz;	/* the contact's zone, or NULL */
	char		*owner;
	char		*kind;
	char		*status;
	time_t		 due_at;
	char		*reason;
	long		 remind_before;	/* -1: the configured lead time */
	time_t		 remind_at;
	int		 snoozes;
	char		*note;
	time_t		 created_at;
	time_t		 updated_at;
	time_t		 done_at;	/* 0 while pending */
	int		 revision;	/* moves of its due time */
	int		 automatic;	/* proposed by an outcome, not the rep */
	time_t		 proposed_at;	/* when the proposing interaction
					   happened; 0: not known */
	int		 notice_stage;	/* enum notice_stage: the next one */
	time_t		 notice_at;	/* when it falls; 0: none left */
};
struct fu_user {
	char		*name;
	int64_t		 uid;
	char		*email;
	char		*tz;
	char		*digest;
	char		*hours;
	char		*workdays;
	char		*lead;		/* the rep's reminder lead, "10m" */
	char		*display_name;	/* signs confirmations to contacts */
	char		*phone;
	char		*calendar;	/* "invite": invitations to the rep */
	time_t		 updated_at;
};
/* One entry of a callback's promise history. */
struct fu_promise {
	int64_t		 followup_id;
	time_t		 at;
	char		*what;		/* "agreed", "reagreed" */
	time_t		 due_at;	/* the time agreed */
	time_t		 previous_due_at; /* for reagreed: the one before */
	int		 was_missed;	/* re-agreed after it was missed */
	char		*note;
	char		*status;	/* listed: the callback's status */
	time_t		 done_at;	/* listed: when it was closed */
};
void		 fu_contact_clear(struct fu_contact *);
void		 fu_interaction_clear(struct fu_interaction *);
void		 fu_followup_clear(struct fu_followup *);
void		 fu_user_clear(struct fu_user *);

/* store-contact.c */
/* What makes a contact stale: an open stage and no news since after. */
struct store_stale {
	char *const	*open_stages;
	int		 nopen;
	long		 after;		/* seconds */
};
struct store_contact_filter {
	const char	*owner;
	const char	*stage;
	const char	*search;
	int		 archived;
	int64_t		 after;
	int		 limit;
};
typedef int	(*store_contact_cb)(const struct fu_contact *, void *);
enum store_result store_contact_insert(struct store *, struct fu_contact *);
enum store_result store_contact_get(struct store *, const char *, int64_t,
		     struct fu_contact *);
enum store_result store_contact_update(struct store *, const struct fu_contact *);
enum store_result store_contact_cancel_pending(struct store *, int64_t,
		     time_t, const char *, int *);
enum store_result store_contact_set_archived(struct store *, const char *,
		     int64_t, int, time_t, int *);
enum store_result store_contact_reassign(struct store *, int64_t,
		     const char *, time_t, int *);
enum store_result store_contact_list(struct store *,
		     const struct store_contact_filter *, store_contact_cb, void *);
enum store_result store_contact_dump(struct store *, const char *, int64_t,
		     int, store_contact_cb, void *);
enum store_result store_contact_find_email(struct store *, const char *,
		     const char *, int64_t *, size_t, size_t *);
enum store_result store_contact_stale(struct store *, const char *,
		     const struct store_stale *, time_t, int, store_contact_cb,
		     void *);
struct store_contact_counts {
	int64_t		 contacts;	/* not archived */
	int64_t		 interactions;
	int64_t		 pending;	/* follow-ups pending */
	int64_t		 overdue;	/* pending and past due */
};
enum store_result store_contact_counts(struct store *, const char *,
		     time_t, struct store_contact_counts *);
enum store_result store_team_counts(struct store *, int64_t *, int64_t *,
		     int64_t *);

/* store-interaction.c */
/* A row of a list, valid only during the call: copy what you keep. */
typedef int	(*store_interaction_cb)(const struct fu_interaction *, void *);
enum store_result store_interaction_insert(struct store *,
		     struct fu_interaction *);
enum store_result store_interaction_list(struct store *, const char *,
		     int64_t, time_t, time_t, int64_t, int, store_interaction_cb,
		     void *);
enum store_result store_interaction_dump(struct store *, const char *,
		     int64_t, int, store_interaction_cb, void *);

/* store-followup.c */
struct store_followup_filter {
	const char	*owner;
	int64_t		 contact_id;	/* 0: any */
	const char	*status;	/* NULL: any */
	time_t		 from;		/* due_at >= from; 0: no bound */
	time_t		 to;		/* due_at < to; 0: no bound */
	int		 limit;
	int		 closed_recent;	/* newest closed first */
	time_t		 closed_since;	/* pending, or closed since; 0: no */
	int64_t		 after_id;	/* resume after this row; 0: start */
	time_t		 after_due;	/* its due time */
	int		 after_plain;	/* it is not a callback */
};
/* A row of a list, valid only during the call: copy what you keep. */
typedef int	(*store_followup_cb)(const struct fu_followup *, void *);
enum store_result store_followup_insert(struct store *, struct fu_followup *);
enum store_result store_followup_get(struct store *, const char *, int64_t,
		     struct fu_followup *);
enum store_result store_followup_set_due(struct store *,
		     const struct fu_followup *, int, time_t, time_t);
enum store_result store_followup_close_at(struct store *, const char *,
		     int64_t, const char *, const char *, time_t, time_t);
enum store_result store_followup_close(struct store *, const char *, int64_t,
		     const char *, const char *, time_t);
enum store_result store_followup_list(struct store *,
		     const struct store_followup_filter *, store_followup_cb,
		     void *);
enum store_result store_followup_dump(struct store *, const char *, time_t,
		     int64_t, int, store_followup_cb, void *);
enum store_result store_followup_next_due(struct store *, const char *,
		     time_t *);
enum store_result store_followup_notices(struct store *, const char *,
		     time_t, int, store_followup_cb, void *, int *);
enum store_result store_followup_count_due(struct store *, const char *,
		     time_t, time_t, int64_t *);

/* store-promise.c */
/* An entry of a list, valid only during the call: copy what you keep. */
typedef int	(*store_promise_cb)(const struct fu_promise *, void *);
enum store_result store_promise_add(struct store *,
		     const struct fu_promise *);
enum store_result store_promise_last(struct store *, int64_t, time_t *);
enum store_result store_promise_list(struct store *, const char *, int64_t,
		     int, store_promise_cb, void *);

/* store-report.c: rows of a few columns, text or numbers */
#define STORE_REPORT_COLS	8
struct store_report_row {
	char		*text[STORE_REPORT_COLS];	/* borrowed */
	int64_t		 num[STORE_REPORT_COLS];
	int		 null[STORE_REPORT_COLS];
};
typedef int	(*store_report_cb)(const struct store_report_row *, void *);
enum store_result store_report_stages(struct store *, const char *,
		     store_report_cb, void *);
enum store_result store_report_followups(struct store *, const char *,
		     time_t, time_t, store_report_cb, void *);
enum store_result store_report_upcoming(struct store *, const char *,
		     time_t, time_t, store_report_cb, void *);
enum store_result store_report_promises(struct store *, const char *,
		     time_t, time_t, store_report_cb, void *);
enum store_result store_report_voicemails(struct store *, const char *,
		     time_t, store_report_cb, void *);
enum store_result store_report_stale(struct store *, const char *,
		     const struct store_stale *, time_t, int, store_report_cb,
		     void *);

/* store-user.c */
typedef int	(*store_user_cb)(const struct fu_user *, void *);
enum store_result store_user_get(struct store *, const char *,
		     struct fu_user *);
enum store_result store_user_put(struct store *, const struct fu_user *,
		     time_t);
enum store_result store_user_list(struct store *, store_user_cb, void *);

/* store-outbox.c */
struct store_notice_row {
	int64_t		 followup_id;
	char		*owner;
	int		 callback;
	time_t		 due_at;
	time_t		 remind_at;
	int		 stage;
	time_t		 notice_at;
	/*
	 * What its notice shows, when the backend read it ahead with the
	 * rows (a database server: one question per claim, not three per
	 * notice): read is set then, followup.id is 0 if it is gone and
	 * contact.id 0 if its contact is not the rep's; history holds the
	 * nhistory newest interactions.  Else the composer asks.
	 */
	int			 read;
	struct fu_followup	 followup;
	struct fu_contact	 contact;
	struct fu_interaction	*history;
	size_t			 nhistory;
};
/* How many interactions a notice carries. */
#define STORE_NOTICE_HISTORY	3
struct store_outbox {
	int64_t		 id;
	const char	*owner;
	const char	*kind;
	int64_t		 followup_id;	/* 0 for a digest or summary */
	time_t		 due_at;	/* the ledger's due time */
	time_t		 fire_at;
	int		 late;
	const char	*payload;
	time_t		 hold;		/* not delivered before; 0: at once */
	/* For store_outbox_add_many: the channels taking it. */
	const char *const *channels;
	int		 nchannels;
	int		 created;	/* ... set: it was new */
};
struct store_delivery {		/* borrowed strings, valid in the callback */
	int64_t		 outbox_id;
	const char	*channel;
	int		 attempts;
	const char	*owner;
	const char	*kind;
	time_t		 fire_at;
	const char	*payload;
	time_t		 claimed_at;	/* when its notice was claimed */
};
typedef int	(*store_delivery_cb)(const struct store_delivery *, void *);
typedef void	(*store_digest_cb)(const struct fu_user *, time_t, void *);
enum store_result store_notice_due(struct store *, time_t, int,
		     struct store_notice_row **, size_t *);
void		 store_notice_rows_free(struct store_notice_row *, size_t);
enum store_result store_notice_advance(struct store *,
		     const struct store_notice_row *, size_t);
enum store_result store_outbox_add(struct store *, struct store_outbox *,
		     const char *const *, int, time_t, int *);
enum store_result store_outbox_add_many(struct store *, struct store_outbox *,
		     size_t, time_t);
enum store_result store_outbox_fold(struct store *, int64_t, int64_t);
enum store_result store_outbox_held(struct store *, const char *,
		     const char *, int64_t, time_t, int64_t *, time_t *,
		     char **);
enum store_result store_outbox_set_payload(struct store *, int64_t,
		     const char *);
enum store_result store_delivery_due(struct store *, time_t, int,
		     store_delivery_cb, void *);
enum store_result store_delivery_set(struct store *, int64_t, const char *,
		     const char *, int, time_t, const char *, time_t);
enum store_result store_delivery_start(struct store *, int64_t, const char *,
		     int, time_t, time_t);
/*
 * One delivery's new state, for store_delivery_write: started (held
 * until next_at, as store_delivery_start says), or over (status, as
 * store_delivery_set says).
 */
struct store_delivery_state {
	int64_t		 outbox_id;
	const char	*channel;
	int		 start;
	const char	*status;	/* over: "sent", "pending", "failed" */
	int		 attempts;
	time_t		 next_at;
	const char	*error;		/* over, or NULL */
	time_t		 now;
};
enum store_result store_delivery_write(struct store *,
		     const struct store_delivery_state *, size_t);
/* When the schedule must look next: store_schedule_next's answer. */
struct store_next {
	enum store_result	 r;
	time_t			 notice, delivery, digest;
	int64_t			 unplanned;
};
enum store_result store_schedule_next(struct store *, time_t *, time_t *,
		     time_t *, int64_t *);
enum store_result store_schedule_next_of(struct store *, const char *,
		     time_t *);
enum store_result store_digest_due(struct store *, time_t, store_digest_cb,
		     void *);
enum store_result store_digest_set(struct store *, const char *, time_t);
/* The state of deliveries; a time of 0 means none. */
struct store_outbox_stats {
	int64_t		 backlog;	/* waiting */
	int64_t		 failed;	/* given up */
	int64_t		 failing;	/* failing, waiting for a retry */
};
struct store_outbox_health {
	time_t		 oldest_waiting;
	time_t		 last_hook_delivery;
	char		*retrying_error;	/* NULL: none */
	char		*failed_error;		/* NULL: none */
};
struct store_outbox_last {
	time_t		 delivery;	/* the last on any channel */
	time_t		 error_at;	/* the latest error; 0: none */
	char		*error;
};
struct store_outbox_rep {
	const char	*rep;
	int64_t		 backlog;
	int64_t		 failing;
	int64_t		 failed;
};
typedef int	(*store_outbox_rep_cb)(const struct store_outbox_rep *,
		     void *);
enum store_result store_outbox_stats(struct store *, const char *,
		     struct store_outbox_stats *);
enum store_result store_outbox_health(struct store *, const char *,
		     struct store_outbox_health *);
enum store_result store_outbox_last(struct store *, const char *,
		     struct store_outbox_last *);
enum store_result store_outbox_reps(struct store *, store_outbox_rep_cb,
		     void *);
/* A confirmation (or cancellation) to a contact and what became of it. */
/* Borrowed strings, valid in the callback. */
struct store_outbox_request {
	const char	*kind;
	time_t		 due_at;	/* the time confirmed */
	time_t		 created_at;
	const char	*state;		/* queued, sent or "given up" */
	time_t		 sent_at;	/* 0 unless sent */
	const char	*error;		/* the last error, or NULL */
};
typedef int	(*store_outbox_request_cb)(
		     const struct store_outbox_request *, void *);
enum store_result store_outbox_requests(struct store *, const char *,
		     int64_t, store_outbox_request_cb, void *);
enum store_result store_outbox_rearm(struct store *,
		     const struct store_outbox *, time_t, int *);
void		 store_outbox_health_clear(struct store_outbox_health *);
void		 store_outbox_last_clear(struct store_outbox_last *);

/* objects.c */
json_t		*contact_json(const struct fu_contact *);
json_t		*interaction_json(const struct fu_interaction *);
json_t		*followup_json(const struct fu_followup *, time_t);
struct json_text;
void		 contact_text(struct json_text *, const struct fu_contact *);
void		 interaction_text(struct json_text *,
		     const struct fu_interaction *);
void		 followup_text(struct json_text *, const struct fu_followup *,
		     time_t);
json_t		*user_json(const struct fu_user *);
void		 counts_json(json_t *, const struct store_contact_counts *);
void		 outbox_stats_json(json_t *, const struct store_outbox_stats *);
void		 outbox_health_json(json_t *,
		     const struct store_outbox_health *);
void		 outbox_last_json(json_t *, const struct store_outbox_last *);

/* fold.c */
char		*fold_text(const char *);

/* export.c */
void		 export_ics_begin(FILE *, const char *);
void		 export_ics_event(FILE *, json_t *, json_t *, const char *, int,
		     time_t);
void		 export_ics_end(FILE *);
int		 export_csv_begin(FILE *, const char *, int);
void		 export_csv_row(FILE *, const char *, json_t *, json_t *);

/* ops.c */
struct op_ctx {
	struct store		*st;
	const struct fu_config	*cf;
	struct conn		*conn;		/* NULL outside a connection */
	const char		*caller;	/* who sent the request */
	int			 admin;		/* the caller sees the team */
	const char		*user;		/* the rep acted for */
	const char		*scope;		/* owner of ids; NULL: any */
	uid_t			 uid;
	time_t			 now;
	json_t			*notes;		/* messages for the reply */
	int			 discard;	/* undo the op's writes: a dry
						   run answers, writes nothing */
	json_t			*id;		/* the request's, or NULL */
	int			 deferred;	/* the op answers later itself,
						   with ops_answer */
	int			 can_defer;	/* an OP_DEFER op on a
						   connection: ops_defer works */
	struct json_text	*text;		/* an OP_TEXT op writes its
						   result's members here */
	json_t			*text_id;	/* ... and its reply's id,
						   for the error a lost
						   commit turns it into
						   (the caller's to free) */
	int			 can_offload;	/* the store has lanes, and the
						   op may run on one */
	int			 op;		/* the op run (enum fu_op), or
						   -1 */
	const char		*line;		/* the request, as sent */
	size_t			 len;
	int			 on_lane;	/* run on one of the store's
						   lanes: the loop finishes
						   the reply (ops_lane_finish) */
	char			*acted_user;	/* ... for this user (set then;
						   caller frees) */
	int			 acted_admin;	/* ... seeing the team */

	enum fu_err		 err;
	char			*errmsg;
};

/* ical.c: a follow-up's calendar event, and an iTIP invitation. */
struct ical_event {
	const char	*uid;
	int		 sequence;
	time_t		 start;
	const char	*summary;
	const char	*description;	/* or NULL */
	const char	*category;	/* or NULL */
	int		 cancelled;	/* STATUS:CANCELLED, no alarm */
	long		 alarm;		/* seconds ahead; -1: no alarm */
	time_t		 created;	/* 0: not said */
	time_t		 modified;	/* 0: not said */
	time_t		 now;
};
struct ical_invite {
	const char	*method;	/* "REQUEST" or "CANCEL" */
	const char	*uid;
	int		 sequence;
	time_t		 start;
	const char	*summary;
	const char	*description;	/* or NULL */
	const char	*organizer_name;
	const char	*organizer_email;
	const char	*attendee_name;
	const char	*attendee_email;
	long		 alarm;		/* seconds ahead; -1: no alarm */
	time_t		 now;
};
char		*ical_uid(int64_t, const char *);
char		*ical_invite(const struct ical_invite *);
char		*ical_event(const struct ical_event *);
char		*ical_calendar_begin(const char *);
const char	*ical_calendar_end(void);

/* template.c: the admin's letters, {name} placeholders */
#define TEMPLATE_MAX	65536	/* bytes a template file may hold */
int		 template_check(const char *, size_t, const char *const *,
		    char **);
char		*template_render(const char *, const char *const *,
		    const char *const *);

/* confirm.c: the agreed time confirmed to the contact. */
int		 confirm_check(struct op_ctx *, const struct fu_followup *, int);
int		 confirm_send(struct op_ctx *, int64_t, int, json_t **);
int		 op_followup_confirm(struct op_ctx *, json_t *, json_t **);
extern const char *const confirm_fields[];	/* the letters' placeholders */
extern const char *const confirm_signature_fields[];

/* outbox-request.c: a notice the rep asked for, to the contact. */
int		 outbox_request_contact(struct store *, const struct fu_config *,
		     const char *, const char *, int64_t, time_t, json_t *,
		     time_t, int *);
int		 outbox_request_calendar(struct store *,
		     const struct fu_config *, const char *, const char *,
		     int64_t, const char *, time_t, time_t);

/* invite.c: every follow-up in the rep's own calendar. */
int		 invite_note(struct op_ctx *, const char *, int64_t);
int		 invite_note_contact(struct op_ctx *, const char *, int64_t);
int		 reply_error(struct op_ctx *, enum fu_err, const char *, ...)
		     FU_PRINTF(3, 4);
int		 reply_store_error(struct op_ctx *, enum store_result,
		     const char *, int64_t);
void		 reply_note(struct op_ctx *, const char *, ...) FU_PRINTF(2, 3);
struct evbuffer;
/* A reply over FU_REPLY_MAX: the message of its too_large. */
#define OPS_TOO_LARGE_MSG \
	"the reply would be too large; ask for fewer rows"
json_t		*ops_run_line(struct op_ctx *, const char *, size_t, int *);
json_t		*ops_run_text(struct op_ctx *, const char *, size_t, int *,
		     struct evbuffer **);
/* How ops that answer later or stream reach their connection. */
/* Gives a streamed op's next line; returns 1 when that line is the last. */
typedef int	(*ops_piece_cb)(void *, json_t **);
struct ops_answerer {
	void	(*defer)(struct conn *, void (*)(void *), void *);
	void	(*answer)(struct conn *, json_t *, int);
	void	(*watch)(struct conn *, const char *);
	void	(*pieces)(struct conn *, ops_piece_cb, void (*)(void *),
		    void *);
	void	(*offload)(struct conn *, const char *, size_t);
};
void		 ops_set_answerer(const struct ops_answerer *);
struct conn	*ops_defer(struct op_ctx *, void (*)(void *), void *);
void		 ops_answer(struct conn *, json_t *, int);
void		 ops_watch(struct op_ctx *, const char *);
int		 ops_offload(struct op_ctx *);
void		 ops_lane_committed(int);
void		 ops_lane_finish(int, json_t *, const char *, int);
int		 ops_line_offloadable(struct store *, const char *, size_t);
void		 ops_pieces(struct op_ctx *, ops_piece_cb, void (*)(void *),
		     void *);
json_t		*ops_error_reply(json_t *, enum fu_err, const char *);
json_t		*ops_ok_reply(json_t *, json_t *);
int		 ops_has_handler(enum fu_op);
int		 ops_zone(struct op_ctx *, json_t *, const struct fu_contact *,
		     char **);
int		 ops_time_arg(struct op_ctx *, json_t *, const char *,
		     const char *, time_t *);
int		 ops_duration_arg(struct op_ctx *, json_t *, const char *,
		     long *);
const char	*ops_str(json_t *, const char *);
int64_t		 ops_int(json_t *, const char *, int64_t);
int		 ops_cursor_arg(struct op_ctx *, json_t *, int64_t *, int);
void		 ops_next_after_text(struct json_text *, const int64_t *, int);
int		 ops_bool(json_t *, const char *);
int		 ops_text_arg(struct op_ctx *, json_t *, const char *, size_t,
		     int, char **, int *);
int		 ops_contact(struct op_ctx *, int64_t, struct fu_contact *);
int		 ops_owner_arg(struct op_ctx *, json_t *, int, const char **);
char		*ops_utf8_clean(const char *);

/* nextstep.c */
void		 nextstep_hours(struct op_ctx *, const char *,
		     struct cadence_hours *);
char		*nextstep_zone(struct op_ctx *, const struct fu_contact *);
int		 nextstep_voicemails_in_week(struct op_ctx *,
		     const struct fu_contact *, time_t);
char		*nextstep_rep_zone(struct op_ctx *, const char *);
int		 nextstep_same_week(struct op_ctx *, const struct fu_contact *,
		     time_t, time_t);
int		 nextstep_check_week(struct op_ctx *, const struct fu_contact *,
		     time_t, const char *, int);
int		 nextstep_complete(struct op_ctx *, const struct fu_contact *,
		     const struct fu_interaction *, const char *,
		     struct fu_followup *, int64_t *);
int		 nextstep_propose(struct op_ctx *, const struct fu_contact *,
		     const struct fu_interaction *, time_t *, const char **,
		     const char **, int *);

/* op-*.c: one handler per op, all of this shape. */
typedef int	(*op_handler)(struct op_ctx *, json_t *, json_t **);
int		 op_hello(struct op_ctx *, json_t *, json_t **);
int		 op_status(struct op_ctx *, json_t *, json_t **);
int		 op_contact_add(struct op_ctx *, json_t *, json_t **);
int		 op_contact_get(struct op_ctx *, json_t *, json_t **);
int		 op_contact_update(struct op_ctx *, json_t *, json_t **);
int		 op_contact_archive(struct op_ctx *, json_t *, json_t **);
int		 op_contact_list(struct op_ctx *, json_t *, json_t **);
int		 op_interaction_add(struct op_ctx *, json_t *, json_t **);
int		 op_interaction_list(struct op_ctx *, json_t *, json_t **);
int		 op_followup_add(struct op_ctx *, json_t *, json_t **);
int		 op_followup_get(struct op_ctx *, json_t *, json_t **);
int		 op_followup_done(struct op_ctx *, json_t *, json_t **);
int		 op_followup_snooze(struct op_ctx *, json_t *, json_t **);
int		 op_followup_reschedule(struct op_ctx *, json_t *, json_t **);
int		 op_followup_reagree(struct op_ctx *, json_t *, json_t **);
int		 op_followup_cancel(struct op_ctx *, json_t *, json_t **);
int		 op_followup_list(struct op_ctx *, json_t *, json_t **);
int		 op_agenda(struct op_ctx *, json_t *, json_t **);
int		 op_user_get(struct op_ctx *, json_t *, json_t **);
int		 op_user_set(struct op_ctx *, json_t *, json_t **);
int		 op_watch(struct op_ctx *, json_t *, json_t **);
int		 op_contact_reassign(struct op_ctx *, json_t *, json_t **);
int		 op_backup(struct op_ctx *, json_t *, json_t **);
void		 op_backup_init(struct event_base *, struct store *);
void		 op_backup_stop(void);
int		 op_doctor(struct op_ctx *, json_t *, json_t **);
void		 op_doctor_init(struct event_base *);
void		 op_doctor_stop(void);
int		 op_export(struct op_ctx *, json_t *, json_t **);
int		 op_contact_import(struct op_ctx *, json_t *, json_t **);
int		 op_simulate(struct op_ctx *, json_t *, json_t **);
int		 op_report(struct op_ctx *, json_t *, json_t **);
void		 op_report_init(struct event_base *, struct store *);
void		 op_report_committed(void);
void		 op_report_stop(void);

/* op-followup.c: shared with interaction.add and followup.done */
int		 op_followup_create(struct op_ctx *, const struct fu_contact *,
		     time_t, const char *, const char *, long, time_t,
		     struct fu_followup *);

/* op-followup.c: a page of follow-ups by due time, shared with agenda */
/*
 * A page of a list ends once its text passes this, whatever the limit: a
 * thousand rows with long notes would otherwise make a reply of megabytes
 * that a client which does not read holds in the daemon.
 */
#define OPS_PAGE_BYTES	(512 * 1024)

struct followup_page {
	struct json_text *text;		/* where the rows go */
	time_t		 now;
	int		 limit;		/* most rows the page holds */
	int		 n;		/* rows it holds */
	size_t		 bytes;		/* of text so far */
	int		 more;		/* a row beyond the page exists */
	int64_t		 last[3];	/* key of its last row */
};
int		 followup_page_arg(struct op_ctx *, json_t *,
		     struct store_followup_filter *, struct followup_page *);
int		 followup_page_cb(const struct fu_followup *, void *);
void		 followup_page_next(struct json_text *,
		     const struct followup_page *);

/* op-meta.c */
void		 op_meta_init(time_t, const char *, const char *);
void		 op_meta_heartbeat(struct event_base *);
void		 op_meta_summary(struct event_base *, struct store *);
void		 op_meta_status_stop(void);
void		 op_meta_users_changed(void);
void		 op_status_finish(json_t *, const char *, int);
void		 op_meta_tz_clear(void);
const char	*op_meta_database(void);
json_t		*op_meta_store(struct op_ctx *);

/* json-text.c */
struct evbuffer;
#define JSON_TEXT_CHUNK	8192
#define JSON_TEXT_DEPTH	30
/* A value being written as text; see json_text_init. */
struct json_text {
	struct evbuffer	*out;
	size_t		 max;		/* bytes the text may take */
	size_t		 total;		/* bytes so far */
	size_t		 n;		/* of them in buf, not yet in out */
	int		 over;		/* past max: nothing more is added */
	int		 depth;		/* containers open */
	int		 after_key;	/* a key waits for its value */
	uint32_t	 members;	/* bit d: depth d has one already */
	char		 buf[JSON_TEXT_CHUNK];
};
int		 json_text_write(struct evbuffer *, const json_t *, size_t);
void		 json_text_init(struct json_text *, struct evbuffer *, size_t);
int		 json_text_end(struct json_text *);
void		 json_text_open(struct json_text *, char);
void		 json_text_close(struct json_text *, char);
void		 json_text_key(struct json_text *, const char *);
void		 json_text_put_slow(struct json_text *, const char *, size_t);

/*
 * Add len bytes of text; past max, note it and add nothing more.  Inline,
 * as a reply is mostly short pieces that fit (a literal's copy is then a
 * few moves, not a call): only those that do not leave.
 */
static inline void
json_text_put(struct json_text *t, const char *s, size_t len)
{
	if (len <= sizeof t->buf - t->n && len <= t->max - t->total &&
	    !t->over) {
		memcpy(t->buf + t->n, s, len);
		t->n += len;
		t->total += len;
		return;
	}
	json_text_put_slow(t, s, len);
}

/* The comma before a member or an element, unless it is the first. */
static inline void
json_text_sep(struct json_text *t)
{
	uint32_t	bit;

	if (t->after_key) {
		t->after_key = 0;
		return;
	}
	if (t->depth == 0)
		return;
	bit = (uint32_t)1 << t->depth;
	if (t->members & bit)
		json_text_put(t, ",", 1);
	t->members |= bit;
}

/*
 * A member's key given already quoted with its colon, as
 * json_text_key_lit makes it from a literal that needs no escape: one
 * copy, where a key of a row's many was a scan each.
 */
static inline void
json_text_key_raw(struct json_text *t, const char *quoted, size_t len)
{
	assert(!t->after_key);
	json_text_sep(t);
	json_text_put(t, quoted, len);
	t->after_key = 1;
}
/* A literal key that needs no escape (a protocol field's name). */
#define json_text_key_lit(t, k) \
	json_text_key_raw((t), "\"" k "\":", sizeof("\"" k "\":") - 1)
void		 json_text_str(struct json_text *, const char *);
void		 json_text_int(struct json_text *, int64_t);
void		 json_text_bool(struct json_text *, int);
void		 json_text_null(struct json_text *);
void		 json_text_time(struct json_text *, time_t);
void		 json_text_time_or_null(struct json_text *, time_t);
void		 json_text_value(struct json_text *, const json_t *);

/* conn.c */
struct conn	*conn_new(int, uid_t, gid_t, const char *);
void		 conn_free(struct conn *);
void		 conn_init(struct event_base *, struct store *,
		     const struct fu_config **);
void		 conn_commit_cb(int, void *);
void		 conn_durable_cb(void *);
void		 conn_reconfigured(void);
int		 conn_count(void);
int		 conn_count_of(uid_t);
void		 conn_close_all(void);

/* server.c */
int		 server_listen(struct event_base *, const char *, const char *,
		     int, int, char **);
const char	*server_socket_path(void);
void		 server_set_limits(int);
void		 server_close(void);

/* events.c */
enum events_topic {
	EVENTS_NOTICE,		/* a notice went out: its kind, the notice */
	EVENTS_DELIVERY,	/* a delivery ended: the schedule looks again */
	EVENTS_CONNECTION,	/* a connection came ("open") or went ("close") */
	EVENTS_SCHEDULE		/* the next wake-up was planned: its instant */
};
struct events_sub;
typedef void	(*events_cb)(const char *, const char *, json_t *, void *);
struct events_sub *events_subscribe(enum events_topic, const char *,
		     events_cb, void *);
void		 events_unsubscribe(struct events_sub *);
void		 events_publish(enum events_topic, const char *, const char *,
		     json_t *);
int		 events_count(enum events_topic, const char *);

/* hooks.c */
struct hook_result {
	int		 ok;		/* exited 0 */
	int		 exit_code;	/* -1: killed, or ended at its limit */
	int		 timed_out;	/* ended at its time limit */
	int		 stopping;	/* ended as the daemon stops */
	const char	*error;		/* what went wrong, NULL if ok */
	const char	*output;	/* the tail of what it printed */
};
typedef void	(*hooks_done_cb)(const struct hook_result *, void *);
/* A check, not a delivery: not counted by hooks_running(). */
#define HOOKS_CHECK	0x1
void		 hooks_init(struct event_base *);
int		 hooks_split(const char *, char ***, char **);
void		 hooks_free_argv(char **);
int		 hooks_check_program(const char *, char **);
int		 hooks_spawn(const char *, char **, const char *, size_t, long,
		     int, hooks_done_cb, void *, char **);
int		 hooks_running(void);
void		 hooks_shutdown(void);

/* outbox.c, outbox-claim.c, outbox-deliver.c */
void		 outbox_init(struct store *, const struct fu_config **);
int		 outbox_claim(time_t);
int		 outbox_claim_on(struct store *, const struct fu_config *,
		     time_t, struct store_next *);
int		 outbox_deliver(time_t);
void		 outbox_deliver_flush(void);
void		 outbox_deliver_hold(void);
void		 outbox_status(struct store *, const char *, json_t *);
void		 outbox_status_running(const char *, json_t *);
int		 outbox_reps_json(struct store *, json_t *);

/* sched.c */
void		 sched_init(struct event_base *, struct store *,
		     const struct fu_config **);
void		 sched_durable(void);
void		 sched_changed(void);
void		 sched_write_result(int);
void		 sched_free(void);

/* sdnotify.c */
void		 sdnotify_init(struct event_base *);
int		 sdnotify_enabled(void);
void		 sdnotify_ready(void);
void		 sdnotify_reloading(void);
void		 sdnotify_stopping(void);
void		 sdnotify_status(const char *, ...) FU_PRINTF(1, 2);
void		 sdnotify_free(void);

#endif /* FOLLOWUPD_H */
