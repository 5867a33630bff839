/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The followup client's shared header: the command table entry, the
 * connection to followupd, and the output helpers.
 */

#ifndef FOLLOWUP_CLIENT_H
#define FOLLOWUP_CLIENT_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "followup/protocol.h"

/* Exit codes. */
#define EXIT_DAEMON_ERROR	1	/* the daemon answered an error */
#define EXIT_USAGE		2	/* bad command line */
#define EXIT_UNREACHABLE	3	/* no daemon, or another protocol */

struct client {
	const char	*socket_opt;	/* --socket, or NULL */
	const char	*as;		/* --as USER, or NULL */
	int		 json;		/* --json */
	int		 fd;
	char		*path;		/* the socket used */
	json_t		*hello;		/* the hello result */
	long		 next_id;
	/* Takes the pieces of a streamed reply; non-zero stops. */
	int		(*chunk)(const char *, size_t, void *);
	void		*chunk_arg;
};

struct cmd_entry {
	const char	*name;
	const char	*usage;		/* after "followup NAME " */
	const char	*help;		/* one paragraph */
	int		(*exec)(struct client *, int, char **);
};

/* followup.c */
int		 cmd_usage_error(const struct cmd_entry *, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
int		 cmd_wants_help(const struct cmd_entry *, int, char **);
int		 cmd_parse_id(const struct cmd_entry *, const char *, long long *);
int		 cmd_owner_opt(const struct cmd_entry *, json_t *, int,
		     const char *);
char		*cmd_join(int, char **);
const char	*cmd_path_arg(const char *);
json_t		*cmd_string(const char *);
int		 cmd_call_pages(struct client *, enum fu_op, json_t *,
		     const char *const *, long long, json_t **);
int		 cmd_call_and_print(struct client *, enum fu_op, json_t *,
		     json_t **);

/* rpc.c */
char		*rpc_socket_path(struct client *);
int		 rpc_open(struct client *);
void		 rpc_close(struct client *);
int		 rpc_call(struct client *, enum fu_op, json_t *, json_t **);
int		 rpc_call_fd(struct client *, enum fu_op, json_t *, json_t **,
		     int *);
int		 rpc_request(struct client *, enum fu_op, json_t *);
int		 rpc_read_reply(struct client *, json_t **);

/* output.c */
int		 out_utf8_valid(const char *);
int		 out_width(const char *);
void		 out_cell(FILE *, const char *, int, int);
void		 out_block(FILE *, const char *, int);
time_t		 out_parse_time(const char *);
void		 out_time(time_t, char *, size_t);
int		 out_time_pair(const char *, time_t, char *, size_t, char *,
		     size_t);
void		 out_time_dual(const char *, time_t, char *, size_t);
void		 out_relative(time_t, time_t, char *, size_t);
void		 out_json(json_t *);
void		 out_notes(json_t *);
const char	*out_str(json_t *, const char *, const char *);
void		 out_followup_owners(int);
void		 out_followup_prepare(json_t *);
void		 out_followup_line(FILE *, json_t *, time_t);
void		 out_followup_detail(FILE *, json_t *, time_t);
void		 out_contact_detail(FILE *, json_t *);
void		 out_interaction_line(FILE *, json_t *);
void		 out_promise_prepare(json_t *, const char *);
void		 out_promise_line(FILE *, json_t *, const char *);
void		 out_contact_table(FILE *, json_t *, int);
void		 out_confirmation(FILE *, json_t *, int);

/* The commands, one table entry each (cmd-*.c). */
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_contact_entry;
extern const struct cmd_entry cmd_log_entry;
extern const struct cmd_entry cmd_schedule_entry;
extern const struct cmd_entry cmd_agenda_entry;
extern const struct cmd_entry cmd_list_entry;
extern const struct cmd_entry cmd_show_entry;
extern const struct cmd_entry cmd_done_entry;
extern const struct cmd_entry cmd_snooze_entry;
extern const struct cmd_entry cmd_reschedule_entry;
extern const struct cmd_entry cmd_reagree_entry;
extern const struct cmd_entry cmd_cancel_entry;
extern const struct cmd_entry cmd_confirm_entry;
extern const struct cmd_entry cmd_config_entry;
extern const struct cmd_entry cmd_watch_entry;
extern const struct cmd_entry cmd_doctor_entry;
extern const struct cmd_entry cmd_backup_entry;
extern const struct cmd_entry cmd_export_entry;
extern const struct cmd_entry cmd_import_entry;
extern const struct cmd_entry cmd_simulate_entry;
extern const struct cmd_entry cmd_report_entry;

#endif /* FOLLOWUP_CLIENT_H */
