/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * One client connection: its bufferevent, line framing, replies in request
 * order, and holding replies until the group commit that covers them is on
 * disk.  A slow reader is paused rather than buffered without bound, and a
 * busy pipeliner yields to the others after a batch of requests.  A long
 * op (a backup) answers later: its connection waits for that reply before
 * it reads the next request, while the loop serves everyone else.  A
 * streamed reply (an export) is made a piece at a time, each piece only
 * once the socket has taken the ones before, so a connection holds at
 * most its output limit however large the reply; the streams take turns,
 * a couple of milliseconds' worth of pieces a loop pass.  On a database
 * server the requests run on the store's lanes: a connection's pipelined
 * requests go to one together, in order, and it reads no further until
 * their replies are back.  A reply may carry a descriptor (a backup's
 * copy): it leaves alone, with sendmsg, once every reply before it has.
 */

#include <config.h>

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "followupd.h"

/* Stop reading a client whose unread replies pass this. */
#define CONN_OUTPUT_HIGH	(256 * 1024)
/* ... and go on once they drop below this. */
#define CONN_OUTPUT_LOW		(64 * 1024)
/* Requests handled in one go before letting other clients in. */
#define CONN_BATCH		16
/* How a batch yields: at once, but after the loop polls again. */
static const struct timeval conn_yield_tv = { 0, 0 };
/* Bytes of input buffered at most: a few lines. */
#define CONN_INPUT_HIGH		(4 * (FU_LINE_MAX + 2))
/*
 * How far a watcher may fall behind before its notices are skipped: a
 * burst (one schedule pass delivers up to 1,000 notices of about 1 kB)
 * and then some, so a watcher that reads at all keeps up.
 */
#define CONN_WATCH_HIGH		(4 * 1024 * 1024)

struct held_reply {
	TAILQ_ENTRY(held_reply)	 entry;
	struct evbuffer		*line;		/* with its newline */
	int			 is_write;
	json_t			*id;
	int			 committed;	/* its group is over, and */
	uint64_t		 commit;	/* ... it waits for this commit
						   to be durable */
	int			 lost;		/* a write its group lost */
	enum store_result	 lost_why;	/* ... meeting this */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	TAILQ_ENTRY(conn)	 held_entry;
	int			 on_held_list;

	struct bufferevent	*bev;
	struct event		*more_ev;	/* continue a yielded batch */
	uid_t			 uid;
	gid_t			 gid;
	char			*user;
	int			 admin;		/* sees the whole team */
	unsigned int		 generation;	/* of the config admin was for */

	TAILQ_HEAD(, held_reply) held;
	struct events_sub	*watch;		/* watching: the subscription */
	long long		 watch_skipped;	/* notices not sent: behind */
	int			 closing;	/* close once replies are out */
	int			 paused;	/* reading stopped: output full */
	int			 eof;		/* the client stopped writing */

	struct conn_job		*gather;	/* requests for a lane */
	int			 deferred;	/* a reply is owed later */
	void			(*cancel)(void *); /* ... drop its work */
	void			*cancel_arg;
	ops_piece_cb		 stream;	/* ... made in pieces */
	TAILQ_ENTRY(conn)	 ready_entry;	/* ... waiting for its turn */
	int			 on_ready;

	struct evbuffer		*pend;		/* replies of the batch running */
	int			 batching;	/* ... which conn_flush sends */

	char			*fd_line;	/* a reply waiting to go with */
	size_t			 fd_len;
	int			 fd_pass;	/* ... this descriptor */
	struct event		*fd_ev;		/* ... the socket has room */
};

/*
 * Requests run on one of the store's lanes (conn_offload): up to a
 * batch of one connection's pipelined requests, in order, with what they
 * need of the connection copied (it may go meanwhile).
 */
struct conn_req {
	char			*line;
	size_t			 len;
	int			 op;
	char			*user;		/* whom it ran for */
	int			 admin;		/* ... seeing the team */
	int			 is_write;
	json_t			*reply;		/* the reply, or */
	struct evbuffer		*text;		/* ... an OP_TEXT op's */
	json_t			*text_id;	/* ... with its request's id */
};

struct conn_job {
	struct lane_job		 lj;		/* lanes.c's part */
	struct conn		*c;		/* NULL once it is gone */
	char			*caller;
	int			 admin;
	uid_t			 uid;
	struct fu_config	*cf;		/* held: a reload may come */
	struct conn_req		 req[CONN_BATCH];
	int			 n;
};

static TAILQ_HEAD(, conn)	 conn_all = TAILQ_HEAD_INITIALIZER(conn_all);
static TAILQ_HEAD(, conn)	 conn_held = TAILQ_HEAD_INITIALIZER(conn_held);
/* Streams whose sockets have room, in turn; one piece a loop pass. */
static TAILQ_HEAD(, conn)	 conn_ready = TAILQ_HEAD_INITIALIZER(conn_ready);
static struct event		*conn_ready_ev;
static int			 conn_n;
/* Connections open per user, for the per-user cap. */
struct conn_user {
	uid_t	uid;
	int	count;
};
static struct conn_user		*conn_users;
static size_t			 conn_nusers;
static struct event_base	*conn_base;
static struct store		*conn_store;
static const struct fu_config	**conn_cfp;
static unsigned int		 conn_generation = 1;

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_more_cb(evutil_socket_t, short, void *);
static void	conn_process(struct conn *);
static int	conn_maybe_close(struct conn *);
static void	conn_send_fd(struct conn *);
static void	conn_send_fd_cb(evutil_socket_t, short, void *);
static void	conn_stream_more(struct conn *);
static void	conn_stream_turn_cb(evutil_socket_t, short, void *);
static struct evbuffer	*conn_serialise(json_t *);
static void	conn_reply_line(struct conn *, struct evbuffer *, json_t *, int);
static void	conn_defer(struct conn *, void (*)(void *), void *);
static void	conn_answer_fd(struct conn *, json_t *, int);
static void	conn_watch(struct conn *, const char *);
static void	conn_stream(struct conn *, ops_piece_cb, void (*)(void *),
		    void *);
static void	conn_offload(struct conn *, const char *, size_t);
static void	conn_answered(struct conn *);
static void	conn_gather_send(struct conn *);
static int	conn_gather_takes(struct conn *, size_t);

/* How deferred and streaming ops reach their connection, through ops.c. */
static const struct ops_answerer conn_answerer = {
	conn_defer,
	conn_answer_fd,
	conn_watch,
	conn_stream,
	conn_offload,
};

/* Give the connection layer what each request needs. */
void
conn_init(struct event_base *base, struct store *st,
    const struct fu_config **cfp)
{
	conn_base = base;
	conn_store = st;
	conn_cfp = cfp;
	if (conn_ready_ev == NULL &&
	    (conn_ready_ev = evtimer_new(base, conn_stream_turn_cb, NULL)) ==
	    NULL)
		fatalx("conn: evtimer_new");
	ops_set_answerer(&conn_answerer);
}

/* uid's entry in the per-user counts. */
static struct conn_user *
conn_user_find(uid_t uid)
{
	size_t	i;

	for (i = 0; i < conn_nusers; i++) {
		if (conn_users[i].uid == uid)
			return &conn_users[i];
	}
	conn_users = xreallocarray(conn_users, conn_nusers + 1,
	    sizeof *conn_users);
	conn_users[conn_nusers].uid = uid;
	conn_users[conn_nusers].count = 0;
	return &conn_users[conn_nusers++];
}

/*
 * Serve a new connection on fd from a peer with these credentials.  The
 * connection owns fd from here on.  Return it (it frees itself when the
 * peer goes away).
 */
struct conn *
conn_new(int fd, uid_t uid, gid_t gid, const char *user)
{
	struct conn	*c;

	c = xcalloc(1, sizeof *c);
	c->uid = uid;
	c->gid = gid;
	c->user = xstrdup(user);
	TAILQ_INIT(&c->held);
	c->bev = bufferevent_socket_new(conn_base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("conn: bufferevent_socket_new");
	c->more_ev = event_new(conn_base, -1, 0, conn_more_cb, c);
	c->fd_ev = event_new(conn_base, fd, EV_WRITE, conn_send_fd_cb, c);
	if (c->more_ev == NULL || c->fd_ev == NULL)
		fatalx("conn: event_new");
	if ((c->pend = evbuffer_new()) == NULL)
		fatalx("conn: evbuffer_new");
	c->fd_pass = -1;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_INPUT_HIGH);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUTPUT_LOW, 0);
	/*
	 * libevent writes at most 16 KiB a connection per loop pass: with a
	 * schedule pass or a big read between two loop passes, an agenda's
	 * 40 kB or a burst of notices would trickle out.  Send what the
	 * socket takes.
	 */
	if (bufferevent_set_max_single_write(c->bev, CONN_OUTPUT_HIGH) != 0)
		log_warnx_limited("conn: cannot raise the write size", NULL,
		    "conn: cannot raise the write size");
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&conn_all, c, entry);
	conn_n++;
	conn_user_find(uid)->count++;
	events_publish(EVENTS_CONNECTION, c->user, "open", NULL);
	log_debug("conn: new connection from %s (uid %lu)", c->user,
	    (unsigned long)uid);
	return c;
}

/* Drop a connection and whatever it still held. */
void
conn_free(struct conn *c)
{
	struct held_reply	*h;

	if (c == NULL)
		return;
	conn_gather_send(c);		/* run what was read, unanswered */
	if (c->deferred && c->cancel != NULL)
		c->cancel(c->cancel_arg);	/* nobody waits for it */
	if (c->fd_pass >= 0)
		close(c->fd_pass);
	free(c->fd_line);
	event_free(c->fd_ev);
	while ((h = TAILQ_FIRST(&c->held)) != NULL) {
		TAILQ_REMOVE(&c->held, h, entry);
		evbuffer_free(h->line);
		json_decref(h->id);
		free(h);
	}
	if (c->on_held_list)
		TAILQ_REMOVE(&conn_held, c, held_entry);
	if (c->on_ready)
		TAILQ_REMOVE(&conn_ready, c, ready_entry);
	events_unsubscribe(c->watch);
	TAILQ_REMOVE(&conn_all, c, entry);
	conn_n--;
	conn_user_find(c->uid)->count--;
	events_publish(EVENTS_CONNECTION, c->user, "close", NULL);
	event_free(c->more_ev);
	evbuffer_free(c->pend);
	bufferevent_free(c->bev);
	log_debug("conn: closed connection from %s", c->user);
	free(c->user);
	free(c);
}

/* The configuration was reloaded: work out who is an admin again. */
void
conn_reconfigured(void)
{
	conn_generation++;
}

/* How many connections are open. */
int
conn_count(void)
{
	return conn_n;
}

/* How many connections uid has open. */
int
conn_count_of(uid_t uid)
{
	size_t	i;

	for (i = 0; i < conn_nusers; i++) {
		if (conn_users[i].uid == uid)
			return conn_users[i].count;
	}
	return 0;
}

/* Close every connection (at shutdown). */
void
conn_close_all(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&conn_all)) != NULL)
		conn_free(c);
	free(conn_users);
	conn_users = NULL;
	conn_nusers = 0;
	if (conn_ready_ev != NULL)
		event_free(conn_ready_ev);
	conn_ready_ev = NULL;
}

/*
 * Where c's next reply line goes: the socket's output, or while c runs a
 * batch of requests (conn_process) or has its held replies released
 * (conn_durable_cb), the batch's own buffer, which conn_flush sends once
 * the batch is over.
 */
static struct evbuffer *
conn_out(struct conn *c)
{
	return c->batching ? c->pend : bufferevent_get_output(c->bev);
}

/* How much c has queued to send. */
static size_t
conn_out_len(struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) +
	    evbuffer_get_length(c->pend);
}

/*
 * Send the replies of c's batch.  When nothing was waiting before them,
 * they are written now, in one writev: the bufferevent would otherwise
 * arm its write event and write them on the loop's next turn, two
 * epoll_ctl calls and one more wait for every reply of a rep who sends
 * one request at a time.  What the socket does not take (or a failure,
 * which the bufferevent then meets and reports) goes to the output after
 * what was there.  If the socket took it all, what waits for the output
 * to drain (a paused reader, a stream's next piece, a watcher's count of
 * skipped notices) hears that it has, as from the bufferevent: it did
 * not write, so it would not say.
 */
static void
conn_flush(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	if (evbuffer_get_length(c->pend) == 0)
		return;
	if (evbuffer_get_length(out) == 0 && c->fd_line == NULL) {
		(void)evbuffer_write(c->pend, bufferevent_getfd(c->bev));
		if (evbuffer_get_length(c->pend) == 0 &&
		    (c->paused || c->stream != NULL || c->watch_skipped > 0))
			bufferevent_trigger(c->bev, EV_WRITE,
			    BEV_TRIG_DEFER_CALLBACKS);
	}
	if (evbuffer_add_buffer(out, c->pend) != 0)
		fatalx("conn: evbuffer_add_buffer");
}

/*
 * Start a batch of c's replies, which go out together when the outermost
 * batch ends (conn_batch_end with what this returned).
 */
static int
conn_batch_begin(struct conn *c)
{
	int	was = c->batching;

	c->batching = 1;
	return was;
}

static void
conn_batch_end(struct conn *c, int was)
{
	c->batching = was;
	if (!was)
		conn_flush(c);
}

/* Queue one serialised reply line on the socket. */
static void
conn_write_line(struct conn *c, const char *line, size_t len)
{
	if (evbuffer_add(conn_out(c), line, len) != 0)
		fatalx("conn: evbuffer_add");
}

/* Move a reply line (conn_serialise's) onto the socket, and free it. */
static void
conn_write_buffer(struct conn *c, struct evbuffer *line)
{
	if (evbuffer_add_buffer(conn_out(c), line) != 0)
		fatalx("conn: evbuffer_add_buffer");
	evbuffer_free(line);
}

/*
 * The line for reply, with its newline, in a buffer of its own; a reply
 * over FU_REPLY_MAX becomes too_large.  It is written straight into the
 * buffer, which then moves onto the socket's without a copy: no string
 * of the whole reply is made, measured and copied again.  Caller frees.
 */
static struct evbuffer *
conn_serialise(json_t *reply)
{
	struct evbuffer	*buf;
	json_t		*err;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("conn: evbuffer_new");
	if (json_text_write(buf, reply, FU_REPLY_MAX) != 0) {
		evbuffer_drain(buf, evbuffer_get_length(buf));
		err = ops_error_reply(json_object_get(reply, "id"),
		    FU_ERR_TOO_LARGE, OPS_TOO_LARGE_MSG);
		if (json_text_write(buf, err, FU_REPLY_MAX) != 0)
			fatalx("conn: cannot serialise a reply");
		json_decref(err);
	}
	if (evbuffer_add(buf, "\n", 1) != 0)
		fatalx("conn: evbuffer_add");
	return buf;
}

/*
 * Send reply (taking its reference), or hold it until what it says is
 * durable: the open group commit, or, for a reply made outside one, every
 * commit made so far (it may have read their changes while a sync runs).
 * is_write marks a reply that the commit's failure turns into an error.
 */
static void
conn_reply(struct conn *c, json_t *reply, int is_write)
{
	conn_reply_line(c, conn_serialise(reply),
	    json_object_get(reply, "id"), is_write);
	json_decref(reply);
}

/*
 * Send a reply line (taking it; conn_serialise's, or an OP_TEXT op's
 * with its newline), or hold it as conn_reply does; id (borrowed) is the
 * request's, for the error a failed commit turns a write's reply into.
 */
static void
conn_reply_line(struct conn *c, struct evbuffer *line, json_t *id,
    int is_write)
{
	struct held_reply	*h;
	int			 in_txn = store_in_txn(conn_store);
	uint64_t		 commits = store_commits(conn_store);

	if (!in_txn && TAILQ_EMPTY(&c->held) &&
	    store_durable(conn_store) >= commits) {
		conn_write_buffer(c, line);
		return;
	}
	h = xcalloc(1, sizeof *h);
	h->line = line;
	h->is_write = is_write;
	h->id = json_incref(id);
	if (!in_txn) {
		h->committed = 1;
		h->commit = commits;
	}
	TAILQ_INSERT_TAIL(&c->held, h, entry);
	if (!c->on_held_list) {
		TAILQ_INSERT_TAIL(&conn_held, c, held_entry);
		c->on_held_list = 1;
	}
}

/*
 * The group commit finished: its replies wait for the commit to be
 * durable, those of writes turned into errors if the commit failed
 * (nothing of theirs was saved).  Then release what is durable.
 */
void
conn_commit_cb(int ok, void *arg)
{
	struct conn		*c;
	struct held_reply	*h;
	uint64_t		 commits = store_commits(conn_store);
	enum store_result	 why = ok ? STORE_OK :
				    store_last_result(conn_store);

	TAILQ_FOREACH(c, &conn_held, held_entry) {
		TAILQ_FOREACH(h, &c->held, entry) {
			if (h->committed)
				continue;
			h->committed = 1;
			h->commit = commits;
			h->lost = !ok && h->is_write;
			h->lost_why = why;
		}
	}
	conn_durable_cb(arg);
}

/* Why a write its group commit lost was not saved, for its rep. */
static const char *
conn_lost_text(enum store_result why)
{
	switch (why) {
	case STORE_OFFLINE:
		return "the change could not be saved (the database server "
		    "cannot be reached); nothing was changed; try again";
	case STORE_FULL:
		return "the change could not be saved (the disk holding the "
		    "database is full); nothing was changed";
	default:
		return "the change could not be saved (the database write "
		    "failed; is the disk full?); nothing was changed";
	}
}

/*
 * More commits are durable: send each connection's held replies, in
 * order, up to the first that still waits.
 */
void
conn_durable_cb(void *arg)
{
	struct conn		*c, *next;
	struct held_reply	*h;
	json_t			*err;
	char			*text;
	uint64_t		 durable = store_durable(conn_store);
	int			 was;

	for (c = TAILQ_FIRST(&conn_held); c != NULL; c = next) {
		next = TAILQ_NEXT(c, held_entry);
		/* Released together, sent together. */
		was = conn_batch_begin(c);
		while ((h = TAILQ_FIRST(&c->held)) != NULL) {
			if (!h->committed || h->commit > durable)
				break;
			TAILQ_REMOVE(&c->held, h, entry);
			if (h->lost) {
				err = ops_error_reply(h->id,
				    FU_ERR_UNAVAILABLE,
				    conn_lost_text(h->lost_why));
				text = json_dumps(err, JSON_COMPACT);
				conn_write_line(c, text, strlen(text));
				conn_write_line(c, "\n", 1);
				free(text);
				json_decref(err);
				evbuffer_free(h->line);
			} else
				conn_write_buffer(c, h->line);
			json_decref(h->id);
			free(h);
		}
		conn_batch_end(c, was);
		if (!TAILQ_EMPTY(&c->held))
			continue;
		TAILQ_REMOVE(&conn_held, c, held_entry);
		c->on_held_list = 0;
		conn_send_fd(c);
		if (conn_maybe_close(c))
			continue;
		if (c->stream != NULL)
			conn_stream_more(c);
	}
}

/* Free c if it is closing and everything it owed has left. */
static int
conn_maybe_close(struct conn *c)
{
	if (c->closing && c->watch != NULL) {
		/* A closing watcher is sent nothing and counted no more. */
		events_unsubscribe(c->watch);
		c->watch = NULL;
	}
	if (!c->closing || c->deferred || !TAILQ_EMPTY(&c->held) ||
	    conn_out_len(c) != 0)
		return 0;
	conn_free(c);
	return 1;
}

/* Answer a line over the limit with too_large, then close. */
static void
conn_too_large(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	char		 msg[128];

	log_debug("conn: uid %lu sent a line over %d bytes; closing",
	    (unsigned long)c->uid, FU_LINE_MAX);
	snprintf(msg, sizeof msg, "request line longer than %d bytes; "
	    "closing the connection", FU_LINE_MAX);
	conn_reply(c, ops_error_reply(NULL, FU_ERR_TOO_LARGE, msg), 0);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(c->bev, EV_READ);
	c->closing = 1;
}

/* Run one request line. */
static void
conn_run(struct conn *c, const char *line, size_t len)
{
	struct op_ctx	 ctx;
	struct evbuffer	*text;
	json_t		*reply, *req;
	int		 is_write;

	if (c->watch != NULL) {
		/* Echo the request's id, as every error reply does. */
		req = json_loadb(line, len, 0, NULL);
		conn_reply(c, ops_error_reply(json_is_object(req) ?
		    json_object_get(req, "id") : NULL, FU_ERR_BAD_REQUEST,
		    "this connection is watching; open another one for "
		    "requests"), 0);
		json_decref(req);
		return;
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.st = conn_store;
	ctx.cf = *conn_cfp;
	ctx.conn = c;
	if (c->generation != conn_generation) {
		/* The admin group may have changed with the configuration. */
		c->admin = auth_is_admin(c->uid, c->gid, c->user,
		    (*conn_cfp)->admin_group);
		c->generation = conn_generation;
	}
	ctx.caller = c->user;
	ctx.admin = c->admin;
	ctx.uid = c->uid;
	ctx.can_offload = lanes_running() > 0;
	reply = ops_run_text(&ctx, line, len, &is_write, &text);
	if (text != NULL) {
		if (evbuffer_add(text, "\n", 1) != 0)
			fatalx("conn: evbuffer_add");
		conn_reply_line(c, text, ctx.text_id, is_write);
		json_decref(ctx.text_id);
	} else if (reply != NULL)
		conn_reply(c, reply, is_write);
}

/*
 * The op running on c will answer later (conn_answer_fd): read no further
 * request of c until then.  If c goes away first, cancel(arg) is called.
 */
static void
conn_defer(struct conn *c, void (*cancel)(void *), void *arg)
{
	c->deferred = 1;
	c->cancel = cancel;
	c->cancel_arg = arg;
}

/*
 * The op running on c answers in pieces: next(arg, &reply) gives the next
 * line to send, and returns 1 when that line is the last (the reply
 * itself).  It is called only when c's output has room, once a loop pass,
 * so other connections and the schedule run between two pieces.  When
 * the last line is out, or c goes away first, done(arg) is called.
 */
static void
conn_stream(struct conn *c, ops_piece_cb next, void (*done)(void *),
    void *arg)
{
	conn_defer(c, done, arg);
	c->stream = next;
	conn_stream_more(c);
}

/*
 * c's stream may send its next piece if its output has drained below the
 * low mark (conn_write_cb or conn_commit_cb comes back when it has not):
 * queue it for its turn.
 */
static void
conn_stream_more(struct conn *c)
{
	if (c->on_ready || !TAILQ_EMPTY(&c->held) ||
	    conn_out_len(c) > CONN_OUTPUT_LOW)
		return;
	TAILQ_INSERT_TAIL(&conn_ready, c, ready_entry);
	c->on_ready = 1;
	if (!evtimer_pending(conn_ready_ev, NULL))
		evtimer_add(conn_ready_ev, &conn_yield_tv);
}

/* How long the streams' turn may last: a loop pass is held that long. */
#define CONN_STREAM_TURN_US	2000

static long long
conn_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * The streams' turn: pieces of the ready streams, each in turn, until
 * CONN_STREAM_TURN_US have passed; then the loop polls before the next
 * turn.  However many exports run, a loop pass does that much of their
 * work and one piece more, so everyone else waits at most that long.
 */
static void
conn_stream_turn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c;
	json_t		*reply;
	void		(*done)(void *);
	void		*done_arg;
	long long	 until = conn_now_us() + CONN_STREAM_TURN_US;

	while ((c = TAILQ_FIRST(&conn_ready)) != NULL) {
		TAILQ_REMOVE(&conn_ready, c, ready_entry);
		c->on_ready = 0;
		done = c->cancel;
		done_arg = c->cancel_arg;
		if (c->stream(done_arg, &reply) == 0) {
			conn_reply(c, reply, 0);
			conn_stream_more(c);
		} else {
			c->stream = NULL;
			conn_answer_fd(c, reply, -1);
			done(done_arg);
		}
		if (conn_now_us() >= until)
			break;
	}
	if (!TAILQ_EMPTY(&conn_ready))
		evtimer_add(conn_ready_ev, &conn_yield_tv);
}

/*
 * The reply an op deferred is queued: send it now, and go on with the
 * requests that waited behind it.
 */
static void
conn_answered(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	conn_flush(c);
	if (TAILQ_EMPTY(&c->held) && evbuffer_get_length(out) > 0)
		(void)evbuffer_write(out, bufferevent_getfd(c->bev));
	event_add(c->more_ev, &conn_yield_tv);
}

/*
 * Send the reply an op deferred (taking its reference), and go on with the
 * requests that waited behind it.  The reply goes on the socket now, not
 * at the loop's next turn, so that no later write is acknowledged to
 * anyone before it: what a backup says it holds stays true.  A NULL reply
 * (the daemon is stopping) sends nothing: the connection closes unanswered.
 * Descriptor fd (unless it is -1) is attached to the reply's first byte;
 * the connection owns fd from here on and closes it once it is sent (or
 * the connection is gone).  Until then the requests behind it wait, so
 * that nothing is written before it.
 */
static void
conn_answer_fd(struct conn *c, json_t *reply, int fd)
{
	struct evbuffer	*line;

	c->cancel = NULL;
	c->cancel_arg = NULL;
	if (reply == NULL || fd < 0) {
		if (fd >= 0)
			close(fd);
		c->deferred = 0;
		if (reply == NULL)
			return;
		conn_reply(c, reply, 0);
		conn_answered(c);
		return;
	}
	/* Still deferred: no request behind it runs until it is sent. */
	/* sendmsg takes the line in one piece. */
	line = conn_serialise(reply);
	json_decref(reply);
	c->fd_len = evbuffer_get_length(line);
	c->fd_line = xmalloc(c->fd_len);
	if (evbuffer_remove(line, c->fd_line, c->fd_len) !=
	    (int)c->fd_len)
		fatalx("conn: evbuffer_remove");
	evbuffer_free(line);
	c->fd_pass = fd;
	conn_send_fd(c);
}

/*
 * Send the reply waiting with a descriptor, if every reply before it is
 * out: sendmsg with SCM_RIGHTS on its first bytes, and the rest (if the
 * socket took only part) through the bufferevent as usual.
 */
static void
conn_send_fd(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} control;
	ssize_t		 n;
	int		 sock = bufferevent_getfd(c->bev);

	if (c->fd_line == NULL || !TAILQ_EMPTY(&c->held))
		return;			/* conn_commit_cb comes back */
	conn_flush(c);
	if (evbuffer_get_length(out) > 0)
		(void)evbuffer_write(out, sock);
	if (evbuffer_get_length(out) > 0)
		return;			/* conn_write_cb comes back */
	memset(&msg, 0, sizeof msg);
	memset(&control, 0, sizeof control);
	iov.iov_base = c->fd_line;
	iov.iov_len = c->fd_len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof control.buf;
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &c->fd_pass, sizeof(int));
	n = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)) {
		event_add(c->fd_ev, NULL);
		return;
	}
	if (n == -1) {
		log_debug("conn: cannot answer %s: %s", c->user,
		    strerror(errno));
		c->closing = 1;
	} else if ((size_t)n < c->fd_len &&
	    evbuffer_add(out, c->fd_line + n, c->fd_len - n) != 0)
		fatalx("conn: evbuffer_add");
	close(c->fd_pass);
	c->fd_pass = -1;
	free(c->fd_line);
	c->fd_line = NULL;
	c->deferred = 0;
	event_add(c->more_ev, &conn_yield_tv);
}

/* The socket has room for the reply waiting with a descriptor. */
static void
conn_send_fd_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_send_fd(arg);
}

/*
 * May the request of len bytes at the head of c's input join the batch c
 * gathers for a lane?  Yes when there is none (conn_line starts one if
 * it runs there), or when it runs on a lane too; else the batch goes
 * first, so that replies keep the order of the requests.
 */
static int
conn_gather_takes(struct conn *c, size_t len)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	char		*line;
	int		 ok;

	if (c->gather == NULL)
		return 1;
	if (c->gather->n == CONN_BATCH)
		return 0;
	line = xmalloc(len + 1);
	if (evbuffer_copyout(in, line, len) != (ev_ssize_t)len)
		fatalx("conn: evbuffer_copyout");
	if (len > 0 && line[len - 1] == '\r')
		len--;
	ok = len == 0 || (len <= FU_LINE_MAX &&
	    ops_line_offloadable(conn_store, line, len));
	free(line);
	return ok;
}

/* Run a request line, or add it to the batch gathered for a lane. */
static void
conn_line(struct conn *c, const char *line, size_t len)
{
	if (c->gather != NULL)
		conn_offload(c, line, len);
	else
		conn_run(c, line, len);
}

/*
 * Handle the complete lines waiting in c's input, up to a batch; then
 * yield (if more wait) or stop reading (if the client is not reading its
 * replies).
 */
static void
conn_process_lines(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 eol;
	size_t			 eol_len, len;
	char			*line;
	int			 n = 0;

	while (!c->closing) {
		if (c->deferred) {
			if (c->stream != NULL)
				conn_stream_more(c);
			return;		/* conn_answer_fd goes on */
		}
		if (conn_out_len(c) > CONN_OUTPUT_HIGH) {
			if (!c->paused) {
				log_debug("conn: uid %lu is not reading its "
				    "replies; pausing", (unsigned long)c->uid);
				c->paused = 1;
				bufferevent_disable(c->bev, EV_READ);
			}
			conn_gather_send(c);
			return;
		}
		if (n == CONN_BATCH) {
			/*
			 * A zero timer, not event_active(): the loop polls
			 * for other clients' input before it runs, so a
			 * client with thousands of pipelined requests takes
			 * turns instead of holding the loop until done.
			 */
			conn_gather_send(c);
			event_add(c->more_ev, &conn_yield_tv);
			return;
		}
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			len = evbuffer_get_length(in);
			if (len > FU_LINE_MAX + 1 && c->gather != NULL) {
				/* Refused after the replies before it. */
				conn_gather_send(c);
				continue;
			}
			if (len > FU_LINE_MAX + 1)
				conn_too_large(c);
			else if (c->eof && len > 0) {
				/* A last request without its newline. */
				if (!conn_gather_takes(c, len)) {
					conn_gather_send(c);
					continue;
				}
				line = xmalloc(len + 1);
				evbuffer_remove(in, line, len);
				conn_line(c, line, len);
				free(line);
				continue;
			}
			break;
		}
		len = eol.pos;
		if (len > FU_LINE_MAX + 1 && c->gather != NULL) {
			conn_gather_send(c);
			continue;
		}
		if (len > FU_LINE_MAX + 1) {
			conn_too_large(c);
			break;
		}
		if (!conn_gather_takes(c, len)) {
			/* It runs on the loop: after the batch's replies. */
			conn_gather_send(c);
			continue;
		}
		line = xmalloc(len + 1);
		evbuffer_remove(in, line, len);
		evbuffer_drain(in, eol_len);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > FU_LINE_MAX) {
			free(line);
			conn_too_large(c);
			break;
		}
		if (len > 0) {
			conn_line(c, line, len);
			n++;
		}
		free(line);
	}
	conn_gather_send(c);
	if (c->eof)
		c->closing = 1;
}

/*
 * Handle c's waiting requests (conn_process_lines), and send the replies
 * they made together (conn_flush).  May free c.
 */
static void
conn_process(struct conn *c)
{
	int	was = conn_batch_begin(c);

	conn_process_lines(c);
	conn_batch_end(c, was);
	conn_maybe_close(c);
}

/*
 * Input came.  If c has yielded a batch (or a piece of its stream), its
 * turn comes with the timer: running now would give it two in one loop
 * pass.
 */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (event_pending(c->more_ev, EV_TIMEOUT, NULL))
		return;
	conn_process(c);
}

static void
conn_more_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_process(arg);
}

static void	conn_watch_caught_up(struct conn *);

/* Output drained: resume a paused reader, or finish closing. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (conn_maybe_close(c))
		return;
	conn_send_fd(c);
	if (c->watch_skipped > 0)
		conn_watch_caught_up(c);
	if (c->stream != NULL) {
		conn_stream_more(c);
		return;
	}
	if (c->paused && evbuffer_get_length(bufferevent_get_output(bev)) <=
	    CONN_OUTPUT_LOW) {
		c->paused = 0;
		if (!c->eof)
			bufferevent_enable(bev, EV_READ);
		conn_process(c);
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & BEV_EVENT_EOF) {
		/* Answer what was sent before the client stopped writing. */
		c->eof = 1;
		bufferevent_disable(bev, EV_READ);
		if (!c->paused && !event_pending(c->more_ev, EV_TIMEOUT, NULL))
			conn_process(c);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		log_debug("conn: connection from %s failed: %s", c->user,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	conn_free(c);
}

/*
 * A watcher that fell behind has caught up: tell it how many notices it
 * did not get (they went to the journal and the hooks all the same).
 */
static void
conn_watch_caught_up(struct conn *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    CONN_OUTPUT_LOW)
		return;
	log_info("conn: watcher %s caught up; %lld notices were skipped",
	    c->user, c->watch_skipped);
	conn_reply(c, json_pack("{s:s s:{s:I}}", "event", "skipped",
	    "notice", "count", (json_int_t)c->watch_skipped), 0);
	c->watch_skipped = 0;
}

/*
 * A notice was delivered: send it if it is this watcher's.  A watcher
 * that has let CONN_WATCH_HIGH of them pile up unread misses the next
 * ones until it catches up, and is then told how many (a watch is a view
 * of the delivery, never the record of it).
 */
static void
conn_watch_cb(const char *owner, const char *kind, json_t *notice, void *arg)
{
	struct conn	*c = arg;
	json_t		*event;

	if (c->closing)
		return;
	if (c->watch_skipped > 0 || evbuffer_get_length(
	    bufferevent_get_output(c->bev)) > CONN_WATCH_HIGH) {
		if (c->watch_skipped++ == 0)
			log_warnx_limited("conn: watcher behind", c->user,
			    "conn: watcher %s is more than %d MiB "
			    "behind; skipping its notices until it catches up",
			    c->user, CONN_WATCH_HIGH / (1024 * 1024));
		return;
	}
	event = json_pack("{s:s s:O}", "event", kind, "notice", notice);
	conn_reply(c, event, 0);
}

/* Turn c into a stream of owner's notices (everyone's if NULL). */
static void
conn_watch(struct conn *c, const char *owner)
{
	if (c->watch != NULL)
		return;
	c->watch = events_subscribe(EVENTS_NOTICE, owner, conn_watch_cb, c);
}

static void
conn_job_cancel(void *arg)
{
	struct conn_job	*j = arg;

	j->c = NULL;
}

/* On a lane: run the requests as the loop would, on the lane's store. */
static void
conn_job_run(struct store *st, struct lane_job *lj)
{
	struct conn_job	*j = (struct conn_job *)lj;
	struct conn_req	*r;
	struct op_ctx	 ctx;
	int		 i;

	for (i = 0; i < j->n; i++) {
		r = &j->req[i];
		memset(&ctx, 0, sizeof ctx);
		ctx.st = st;
		ctx.cf = j->cf;
		ctx.caller = j->caller;
		ctx.admin = j->admin;
		ctx.uid = j->uid;
		ctx.on_lane = 1;
		r->reply = ops_run_text(&ctx, r->line, r->len, &r->is_write,
		    &r->text);
		r->text_id = ctx.text_id;
		r->op = ctx.op;
		r->user = ctx.acted_user;
		r->admin = ctx.acted_admin;
		if (r->is_write)
			lj->wrote = 1;
	}
}

/*
 * Back on the loop, the lane's group committed (or lost): send the
 * replies in order, a write's turned into an error if its group was
 * lost, and go on with the connection's next request.
 */
static void
conn_job_done(struct lane_job *lj)
{
	struct conn_job	*j = (struct conn_job *)lj;
	struct conn	*c = j->c;
	struct conn_req	*r;
	json_t		*err;
	int		 i;

	if (c != NULL) {
		c->cancel = NULL;
		c->cancel_arg = NULL;
		c->deferred = 0;
	}
	for (i = 0; i < j->n; i++) {
		r = &j->req[i];
		if (r->is_write && !lj->committed && r->text != NULL) {
			/* A text reply is a write's only if it was saved. */
			evbuffer_free(r->text);
			r->text = NULL;
			r->reply = ops_error_reply(r->text_id,
			    FU_ERR_UNAVAILABLE, conn_lost_text(lj->why));
		} else if (r->is_write && !lj->committed && r->reply != NULL) {
			err = ops_error_reply(json_object_get(r->reply, "id"),
			    FU_ERR_UNAVAILABLE, conn_lost_text(lj->why));
			json_decref(r->reply);
			r->reply = err;
		} else if (r->is_write)
			ops_lane_committed(r->op);
		if (r->reply != NULL)
			ops_lane_finish(r->op, r->reply, r->user, r->admin);
		if (c != NULL && r->text != NULL) {
			if (evbuffer_add(r->text, "\n", 1) != 0)
				fatalx("conn: evbuffer_add");
			conn_reply_line(c, r->text, NULL, 0);
			r->text = NULL;
		} else if (c != NULL && r->reply != NULL) {
			conn_reply(c, r->reply, 0);
			r->reply = NULL;
		}
		if (r->text != NULL)
			evbuffer_free(r->text);
		json_decref(r->reply);
		json_decref(r->text_id);
		free(r->line);
		free(r->user);
	}
	if (c != NULL)
		conn_answered(c);
	config_free(j->cf);
	free(j->caller);
	free(j);
}

/*
 * Run the request line on one of the store's lanes.  The requests that
 * follow it in c's input join it while they run on a lane too
 * (conn_gather_takes), up to a batch; then the batch goes (conn_gather_send)
 * and c reads no further request until its replies are back.
 */
static void
conn_offload(struct conn *c, const char *line, size_t len)
{
	struct conn_job	*j = c->gather;
	struct conn_req	*r;

	if (j == NULL) {
		j = c->gather = xcalloc(1, sizeof *j);
		j->lj.run = conn_job_run;
		j->lj.done = conn_job_done;
		j->c = c;
		j->caller = xstrdup(c->user);
		j->admin = c->admin;
		j->uid = c->uid;
		j->cf = config_ref(*conn_cfp);
	}
	r = &j->req[j->n++];
	r->line = xmalloc(len + 1);
	memcpy(r->line, line, len);
	r->line[len] = '\0';
	r->len = len;
	r->op = -1;
}

/* Hand the batch c gathered to a lane, if any. */
static void
conn_gather_send(struct conn *c)
{
	struct conn_job	*j = c->gather;

	if (j == NULL)
		return;
	c->gather = NULL;
	conn_defer(c, conn_job_cancel, j);
	lanes_submit(&j->lj, c->uid);
}
