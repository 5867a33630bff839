/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The load generator of the benchmarks; the only place that times
 * requests.  Two modes:
 *
 *   fu-bench proto --socket PATH [--conns N] [--window W]
 *       [--seconds T | --requests N] [--warmup T] [--timeout T]
 *       [--pid PID] --request LINE
 *
 * opens N connections to a Unix stream socket and keeps W requests
 * outstanding on each (W = 1: send, wait for the reply, send the next),
 * for T seconds after a warm-up or until N replies came back.  LINE is the
 * raw request; every "%ID%" in it becomes a running counter, and the reply
 * must then start with that id ({"id":N,...), which proves replies come
 * back whole and in order.  Every reply must be one complete line holding
 * one JSON object; one that says "ok":false is counted as an error.  Each
 * round trip is timed with CLOCK_MONOTONIC.  The CPU time spent per reply
 * over the measure is given for fu-bench itself and, with --pid, for the
 * server (from /proc): a figure that other work on the machine disturbs
 * far less than the rate does.
 *
 *   fu-bench sqlite --db PATH [--rows N] [--batch B]
 *
 * makes a new database with followupd's own store (its schema after every
 * migration: the same table, indexes and triggers) and one contact, then
 * inserts N follow-ups with the columns the store writes, in WAL mode
 * with synchronous=FULL and foreign keys on, committing every B rows:
 * SQLite alone, with no protocol.  B = 1 is one durable commit per
 * insert; B = 1000 is the ceiling that group commit aims at.
 *
 * Each mode prints one line of "name value" pairs on standard output.  The
 * exit status is 1 when a reply was broken, out of order or lost, or a
 * connection failed; error replies alone do not fail.  It judges nothing
 * about speed.
 */

#include <config.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sqlite3.h>

#include "followupd.h"

#define BENCH_MAX_CONNS		1024
#define BENCH_MAX_WINDOW	1024
#define BENCH_MAX_SECONDS	3600
#define BENCH_MAX_REQUESTS	1000000000LL
#define BENCH_MAX_ROWS		100000000LL
/* The protocol's request line limit (followup-protocol(7)). */
#define BENCH_LINE_MAX		65536
/* ... and the longest reply line a client must accept. */
#define BENCH_REPLY_MAX		(16 * 1024 * 1024)
/* A reply shown when it is an error or broken, at most this long. */
#define BENCH_SHOW_MAX		300

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

/*
 * Latencies go to a histogram of logarithmic buckets, 1% wide, from 1 ns
 * to about 100 s: bounded memory whatever the run's length, and p50/p99
 * within half a percent.
 */
#define HIST_PER_E		100.5	/* per factor e: 1% each */
#define HIST_BUCKETS		2600

struct hist {
	uint64_t	 count[HIST_BUCKETS];
	uint64_t	 n;
	uint64_t	 min, max;
	double		 sum;
};

enum bench_phase {
	PHASE_WARMUP,		/* replies are checked, not timed */
	PHASE_MEASURE,		/* replies are checked and timed */
	PHASE_DRAIN,		/* nothing more is sent; wait for replies */
	PHASE_DONE
};

struct bench;

struct bench_conn {
	struct bench		*b;
	struct bufferevent	*bev;
	uint64_t		*sent_ns;	/* ring of send times */
	uint64_t		*sent_id;	/* ... and of the ids sent */
	int			 head;		/* the oldest owed */
	int			 outstanding;
	int			 dead;
};

struct bench {
	struct event_base	*base;
	struct bench_conn	*conns;
	int			 nconns, live, window;
	double			 seconds, warmup, timeout;
	long long		 requests;	/* 0: run for seconds */
	long			 pid;		/* the server's; 0: not given */

	char			**parts;	/* LINE cut at each %ID% */
	size_t			*part_len;
	int			 nparts;
	int			 has_id;

	enum bench_phase	 phase;
	struct event		*phase_ev;
	uint64_t		 t_start, t_end;
	double			 cpu_start, cpu_end;	/* the server's, s */
	double			 self_start, self_end;	/* fu-bench's, s */
	uint64_t		 next_id;
	long long		 sent, measured;
	long long		 owed;		/* owed by all */
	uint64_t		 errors, broken, mismatched, closed;
	uint64_t		 timeouts, lost;
	int			 shown_error, shown_broken;
	struct hist		 hist;
};

static void	bench_conn_kill(struct bench_conn *, const char *);
static void	bench_maybe_done(struct bench *);

/* The monotonic clock in nanoseconds. */
static uint64_t
bench_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* Turn seconds into a timeval. */
static struct timeval
bench_tv(double seconds)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return tv;
}

static void
hist_add(struct hist *h, uint64_t ns)
{
	int	i;

	if (ns == 0)
		ns = 1;
	i = (int)(log((double)ns) * HIST_PER_E);
	if (i >= HIST_BUCKETS)
		i = HIST_BUCKETS - 1;
	h->count[i]++;
	if (h->n == 0 || ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
	h->n++;
	h->sum += (double)ns;
}

/* The p-th percentile (0 < p <= 100) in microseconds; 0 when empty. */
static double
hist_pct_us(const struct hist *h, double p)
{
	uint64_t	rank, seen = 0;
	double		v;
	int		i;

	if (h->n == 0)
		return 0;
	rank = (uint64_t)ceil((double)h->n * p / 100);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank)
			break;
	}
	/* The middle of the bucket, kept inside what was seen. */
	v = exp(((double)i + 0.5) / HIST_PER_E);
	if (v < (double)h->min)
		v = (double)h->min;
	if (v > (double)h->max)
		v = (double)h->max;
	return v / 1e3;
}

/* Print a reply that is worth a look, cut short, on standard error. */
static void
bench_show(const char *why, const char *line, size_t len)
{
	int	n = len > BENCH_SHOW_MAX ? BENCH_SHOW_MAX : (int)len;

	fprintf(stderr, "fu-bench: %s: %.*s%s\n", why, n, line,
	    len > BENCH_SHOW_MAX ? "..." : "");
}

/*
 * Parse a whole number between min and max for option name; exit with a
 * usage error otherwise.
 */
static long long
bench_number(const char *name, const char *s, long long min, long long max)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "fu-bench: --%s: want a whole number from %lld "
		    "to %lld, not \"%s\"\n", name, min, max, s);
		exit(2);
	}
	return v;
}

/* Parse seconds between min and max for option name, or exit. */
static double
bench_seconds(const char *name, const char *s, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min) ||
	    !(v <= max)) {
		fprintf(stderr, "fu-bench: --%s: want seconds from %g to %g, "
		    "not \"%s\"\n", name, min, max, s);
		exit(2);
	}
	return v;
}

/* Cut the request at each %ID% so that sending only joins the parts. */
static void
bench_template(struct bench *b, const char *request)
{
	const char	*p, *q;
	int		 n = 1;

	for (p = request; (p = strstr(p, "%ID%")) != NULL; p += 4)
		n++;
	b->parts = calloc(n, sizeof *b->parts);
	b->part_len = calloc(n, sizeof *b->part_len);
	if (b->parts == NULL || b->part_len == NULL)
		goto oom;
	b->nparts = n;
	b->has_id = n > 1;
	for (p = request, n = 0; n < b->nparts; n++) {
		if ((q = strstr(p, "%ID%")) == NULL)
			q = p + strlen(p);
		b->part_len[n] = (size_t)(q - p);
		if ((b->parts[n] = strndup(p, b->part_len[n])) == NULL)
			goto oom;
		p = q + 4;
	}
	return;
oom:
	fprintf(stderr, "fu-bench: out of memory\n");
	exit(1);
}

/* Send one request on c, with the next id, and note when. */
static void
bench_send(struct bench_conn *c)
{
	struct bench	*b = c->b;
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	char		 num[32];
	size_t		 numlen;
	uint64_t	 id = ++b->next_id;
	int		 i, slot;

	numlen = (size_t)snprintf(num, sizeof num, "%" PRIu64, id);
	for (i = 0; i < b->nparts; i++) {
		if (i > 0)
			evbuffer_add(out, num, numlen);
		evbuffer_add(out, b->parts[i], b->part_len[i]);
	}
	evbuffer_add(out, "\n", 1);
	slot = (c->head + c->outstanding) % b->window;
	c->sent_id[slot] = id;
	c->sent_ns[slot] = bench_now();
	c->outstanding++;
	b->owed++;
	b->sent++;
}

/* May c send another request now? */
static int
bench_may_send(struct bench_conn *c)
{
	struct bench	*b = c->b;

	if (c->dead || c->outstanding >= b->window)
		return 0;
	if (b->phase != PHASE_WARMUP && b->phase != PHASE_MEASURE)
		return 0;
	return b->requests == 0 || b->sent < b->requests;
}

/* Does line start with {"id":ID followed by , or }? */
static int
bench_id_matches(const char *line, size_t len, uint64_t id)
{
	char	prefix[48];
	int	n;

	n = snprintf(prefix, sizeof prefix, "{\"id\":%" PRIu64, id);
	if ((size_t)n + 1 > len || memcmp(line, prefix, n) != 0)
		return 0;
	return line[n] == ',' || line[n] == '}';
}

/* Check and time one reply line (without its newline) on c. */
static void
bench_reply(struct bench_conn *c, const char *line, size_t len, uint64_t t)
{
	struct bench	*b = c->b;
	uint64_t	 sent_ns, sent_id;
	size_t		 n = len;

	if (c->outstanding == 0) {
		b->broken++;
		if (!b->shown_broken++)
			bench_show("a reply to no request", line, len);
		return;
	}
	sent_ns = c->sent_ns[c->head];
	sent_id = c->sent_id[c->head];
	c->head = (c->head + 1) % b->window;
	c->outstanding--;
	b->owed--;

	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n < 2 || line[0] != '{' || line[n - 1] != '}') {
		b->broken++;
		if (!b->shown_broken++)
			bench_show("a reply that is not one JSON object", line,
			    len);
	} else if (b->has_id && !bench_id_matches(line, n, sent_id)) {
		b->mismatched++;
		if (!b->shown_broken++)
			bench_show("a reply out of order (wrong id)", line,
			    len);
	} else if (memmem(line, n, "\"ok\":false", 10) != NULL) {
		b->errors++;
		if (!b->shown_error++)
			bench_show("first error reply", line, len);
	}
	if (b->phase == PHASE_MEASURE) {
		hist_add(&b->hist, t - sent_ns);
		b->measured++;
	}
}

/* Replies arrived: take every complete line, then refill the window. */
static void
bench_read_cb(struct bufferevent *bev, void *arg)
{
	struct bench_conn	*c = arg;
	struct bench		*b = c->b;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 eol;
	size_t			 eol_len;
	unsigned char		*line;
	uint64_t		 t = bench_now();

	for (;;) {
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos < 0)
			break;
		if ((size_t)eol.pos > BENCH_REPLY_MAX) {
			b->broken++;
			bench_conn_kill(c, "a reply line over 16 MiB");
			return;
		}
		line = evbuffer_pullup(in, eol.pos + eol_len);
		if (line == NULL) {
			bench_conn_kill(c, "out of memory");
			return;
		}
		bench_reply(c, (const char *)line, (size_t)eol.pos, t);
		evbuffer_drain(in, eol.pos + eol_len);
	}
	if (evbuffer_get_length(in) > BENCH_REPLY_MAX) {
		b->broken++;
		bench_conn_kill(c, "a reply line over 16 MiB");
		return;
	}
	while (bench_may_send(c))
		bench_send(c);
	bench_maybe_done(b);
}

static void
bench_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bench_conn	*c = arg;
	struct bench		*b = c->b;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 left = evbuffer_get_length(in);

	if (what & BEV_EVENT_TIMEOUT) {
		if (c->outstanding == 0)
			return;		/* idle at the end of the run */
		b->timeouts++;
		bench_conn_kill(c, (what & BEV_EVENT_READING) ?
		    "no reply within the timeout" :
		    "could not write within the timeout");
		return;
	}
	if (left > 0) {
		b->broken++;
		bench_show("a reply cut short by the end of the connection",
		    (const char *)evbuffer_pullup(in, -1), left);
	}
	if (what & BEV_EVENT_ERROR)
		bench_conn_kill(c, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	else
		bench_conn_kill(c, "the server closed the connection");
}

/*
 * Count c as failed (if it still owed replies or the run was not over),
 * say why once, and stop using it.
 */
static void
bench_conn_kill(struct bench_conn *c, const char *why)
{
	struct bench	*b = c->b;

	if (c->dead)
		return;
	if (c->outstanding > 0 || b->phase != PHASE_DONE) {
		if (b->closed++ == 0)
			fprintf(stderr, "fu-bench: connection %d: %s\n",
			    (int)(c - b->conns), why);
	}
	b->lost += (uint64_t)c->outstanding;
	b->owed -= c->outstanding;
	c->outstanding = 0;
	c->dead = 1;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	b->live--;
	bench_maybe_done(b);
}

/* Leave the loop once nothing is owed any more, or nobody is left. */
static void
bench_maybe_done(struct bench *b)
{
	if (b->live == 0) {
		if (b->t_end == 0)
			b->t_end = bench_now();
		event_base_loopexit(b->base, NULL);
		return;
	}
	/* A counted run is over once all were sent and none is owed. */
	if (b->requests != 0 && b->phase == PHASE_MEASURE &&
	    b->sent >= b->requests && b->owed == 0) {
		b->phase = PHASE_DONE;
		b->t_end = bench_now();
	}
	if ((b->phase != PHASE_DRAIN && b->phase != PHASE_DONE) ||
	    b->owed > 0)
		return;
	b->phase = PHASE_DONE;
	event_base_loopexit(b->base, NULL);
}

/* CPU seconds (user and system) process pid has used; -1 if unknown. */
static double
bench_cpu_of(long pid)
{
	char	 path[64], buf[1024], *p;
	FILE	*f;
	size_t	 n;
	unsigned long long	 utime, stime;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name, in brackets, may hold spaces: count from its end.  After
	 * it: state, then fields 4 to 13, then utime and stime. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 1,
	    " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds fu-bench itself has used. */
static double
bench_cpu_self(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The measure starts, or ends: note the CPU both sides have used. */
static void
bench_cpu_mark(struct bench *b, int end)
{
	double	server = b->pid != 0 ? bench_cpu_of(b->pid) : -1;

	if (end) {
		b->cpu_end = server;
		b->self_end = bench_cpu_self();
	} else {
		b->cpu_start = server;
		b->self_start = bench_cpu_self();
	}
}

/* CPU microseconds per measured reply, from two marks; -1 if unknown. */
static double
bench_cpu_per(const struct bench *b, double start, double end)
{
	if (start < 0 || end < start || b->measured == 0)
		return -1;
	return (end - start) * 1e6 / (double)b->measured;
}

/*
 * The clock of a timed run: warm-up over, start timing; time over, stop
 * sending and wait (at most the timeout) for the replies still owed.
 */
static void
bench_phase_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = arg;
	struct timeval	 tv;
	int		 i;

	switch (b->phase) {
	case PHASE_WARMUP:
		b->phase = PHASE_MEASURE;
		b->t_start = bench_now();
		bench_cpu_mark(b, 0);
		tv = bench_tv(b->seconds);
		evtimer_add(b->phase_ev, &tv);
		break;
	case PHASE_MEASURE:
		b->phase = PHASE_DRAIN;
		b->t_end = bench_now();
		bench_cpu_mark(b, 1);
		tv = bench_tv(b->timeout);
		evtimer_add(b->phase_ev, &tv);
		bench_maybe_done(b);
		break;
	default:
		/* The drain timed out: whatever is still owed is lost. */
		for (i = 0; i < b->nconns; i++) {
			if (!b->conns[i].dead && b->conns[i].outstanding > 0) {
				b->timeouts++;
				bench_conn_kill(&b->conns[i],
				    "replies still missing after the run");
			}
		}
		b->phase = PHASE_DONE;
		event_base_loopexit(b->base, NULL);
		break;
	}
}

/* Allow conns descriptors and a few more, if the hard limit lets us. */
static void
bench_raise_nofile(int conns)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)conns + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * Connect to path, waiting at most timeout seconds for a full backlog;
 * return a non-blocking descriptor, or -1 after saying why.
 */
static int
bench_connect(const char *path, double timeout)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = bench_tv(timeout);
	int			 fd, rc, saved;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "fu-bench: %s: path too long\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "fu-bench: socket: %s\n", strerror(errno));
		return -1;
	}
	/* A blocking connect to a Unix socket waits this long at most. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	do
		rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	while (rc == -1 && errno == EINTR);
	if (rc == -1 || evutil_make_socket_nonblocking(fd) != 0) {
		saved = errno;
		close(fd);
		fprintf(stderr, "fu-bench: connect %s: %s\n", path,
		    strerror(saved));
		return -1;
	}
	tv.tv_sec = tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* The proto mode: run the load and print one line of figures. */
static int
bench_proto(struct bench *b, const char *path, const char *request)
{
	struct bench_conn	*c;
	struct event_config	*cfg;
	struct timeval		 tv;
	double			 elapsed;
	size_t			 len;
	int			 i, fd, rc = 1;

	bench_template(b, request);
	/* The longest line sent: each id may take 20 digits. */
	len = 20 * (size_t)(b->nparts - 1);
	for (i = 0; i < b->nparts; i++)
		len += b->part_len[i];
	if (len > BENCH_LINE_MAX || strchr(request, '\n') != NULL) {
		fprintf(stderr, "fu-bench: --request must be one line of at "
		    "most %d bytes\n", BENCH_LINE_MAX);
		rc = 2;
		goto out;
	}
	bench_raise_nofile(b->nconns);
	/* The default timers read a coarse clock and may fire early. */
	if ((cfg = event_config_new()) != NULL)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	b->base = event_base_new_with_config(cfg);
	if (cfg != NULL)
		event_config_free(cfg);
	if (b->base == NULL) {
		fprintf(stderr, "fu-bench: cannot start the event loop\n");
		goto out;
	}
	if ((b->conns = calloc(b->nconns, sizeof *b->conns)) == NULL)
		goto oom;
	tv = bench_tv(b->timeout);
	for (i = 0; i < b->nconns; i++) {
		c = &b->conns[i];
		c->b = b;
		c->dead = 1;
		c->sent_ns = calloc(b->window, sizeof *c->sent_ns);
		c->sent_id = calloc(b->window, sizeof *c->sent_id);
		if (c->sent_ns == NULL || c->sent_id == NULL)
			goto oom;
		if ((fd = bench_connect(path, b->timeout)) == -1)
			goto out;
		c->bev = bufferevent_socket_new(b->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			close(fd);
			goto oom;
		}
		bufferevent_setcb(c->bev, bench_read_cb, NULL, bench_event_cb,
		    c);
		bufferevent_set_timeouts(c->bev, &tv, &tv);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		c->dead = 0;
		b->live++;
	}

	if ((b->phase_ev = evtimer_new(b->base, bench_phase_cb, b)) == NULL)
		goto oom;
	if (b->requests == 0) {
		b->phase = PHASE_WARMUP;
		tv = bench_tv(b->warmup);
		evtimer_add(b->phase_ev, &tv);
	} else {
		/* A counted run times every request. */
		b->phase = PHASE_MEASURE;
		b->t_start = bench_now();
		bench_cpu_mark(b, 0);
	}
	for (i = 0; i < b->nconns; i++) {
		while (bench_may_send(&b->conns[i]))
			bench_send(&b->conns[i]);
	}
	event_base_dispatch(b->base);
	if (b->t_end == 0) {
		b->t_end = bench_now();
		bench_cpu_mark(b, 1);
	}
	for (i = 0; i < b->nconns; i++) {
		if (!b->conns[i].dead)
			b->lost += (uint64_t)b->conns[i].outstanding;
	}

	elapsed = (double)(b->t_end - b->t_start) / 1e9;
	if (elapsed <= 0)
		elapsed = 1e-9;
	printf("mode proto conns %d window %d seconds %.3f requests %lld "
	    "rps %.0f p50_us %.1f p90_us %.1f p99_us %.1f max_us %.1f "
	    "mean_us %.1f errors %" PRIu64 " broken %" PRIu64
	    " mismatched %" PRIu64 " closed %" PRIu64 " timeouts %" PRIu64
	    " lost %" PRIu64 " client_cpu_us %.1f server_cpu_us %.1f\n",
	    b->nconns, b->window, elapsed, b->measured,
	    (double)b->measured / elapsed,
	    hist_pct_us(&b->hist, 50), hist_pct_us(&b->hist, 90),
	    hist_pct_us(&b->hist, 99), (double)b->hist.max / 1e3,
	    b->hist.n ? b->hist.sum / (double)b->hist.n / 1e3 : 0.0,
	    b->errors, b->broken, b->mismatched, b->closed, b->timeouts,
	    b->lost, bench_cpu_per(b, b->self_start, b->self_end),
	    bench_cpu_per(b, b->cpu_start, b->cpu_end));
	fflush(stdout);
	rc = b->broken || b->mismatched || b->closed || b->timeouts ||
	    b->lost ? 1 : 0;
	goto out;

oom:
	fprintf(stderr, "fu-bench: out of memory\n");
out:
	for (i = 0; b->conns != NULL && i < b->nconns; i++) {
		if (b->conns[i].bev != NULL)
			bufferevent_free(b->conns[i].bev);
		free(b->conns[i].sent_ns);
		free(b->conns[i].sent_id);
	}
	free(b->conns);
	if (b->phase_ev != NULL)
		event_free(b->phase_ev);
	if (b->base != NULL)
		event_base_free(b->base);
	for (i = 0; i < b->nparts; i++)
		free(b->parts[i]);
	free(b->parts);
	free(b->part_len);
	return rc;
}

/* Run sql on db; say what failed and return -1 on error. */
static int
bench_exec(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "fu-bench: %.60s: %s\n", sql,
		    err != NULL ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/*
 * Make path a new database with followupd's own store: its schema after
 * every migration (the tables, indexes and triggers an insert pays for
 * there) and one contact, whose id is set in *contact.  Return 0, or -1
 * with the reason said.
 */
static int
bench_store_new(const char *path, int64_t *contact)
{
	struct store		*st;
	struct fu_contact	 c;
	char			*cause = NULL;
	int			 rc = -1;

	if ((st = store_open(path, &cause)) == NULL) {
		fprintf(stderr, "fu-bench: %s: %s\n", path, cause);
		free(cause);
		return -1;
	}
	memset(&c, 0, sizeof c);
	c.owner = (char *)"bench";
	c.name = (char *)"Bench";
	c.stage = (char *)"lead";
	c.created_at = c.updated_at = time(NULL);
	if (store_write_begin(st) != STORE_OK)
		fprintf(stderr, "fu-bench: %s: cannot begin a write\n", path);
	else {
		if (store_contact_insert(st, &c) == STORE_OK)
			rc = 0;
		store_write_end(st, rc == 0);
		if (store_commit(st) != 0)
			rc = -1;
		if (rc != 0)
			fprintf(stderr, "fu-bench: %s: cannot add the contact\n",
			    path);
	}
	*contact = c.id;
	store_close(st);
	return rc;
}

/* The sqlite mode: insert rows, committing every batch; print figures. */
static int
bench_sqlite(const char *path, long long rows, long long batch)
{
	struct hist	*h;
	struct stat	 sb;
	sqlite3		*db = NULL;
	sqlite3_stmt	*ins = NULL, *mode = NULL;
	uint64_t	 start, elapsed, t0 = 0;
	int64_t		 contact;
	long long	 i;
	time_t		 now = time(NULL), due;
	int		 rc = 1;

	if (stat(path, &sb) == 0 || errno != ENOENT) {
		fprintf(stderr, "fu-bench: %s already exists; the sqlite mode "
		    "wants a new file\n", path);
		return 1;
	}
	if ((h = calloc(1, sizeof *h)) == NULL) {
		fprintf(stderr, "fu-bench: out of memory\n");
		return 1;
	}
	if (bench_store_new(path, &contact) != 0)
		goto out;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "fu-bench: %s: %s\n", path, db != NULL ?
		    sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &mode,
	    NULL) != SQLITE_OK || sqlite3_step(mode) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(mode, 0), "wal") != 0) {
		fprintf(stderr, "fu-bench: %s: cannot use WAL: %s\n", path,
		    sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_finalize(mode);
	mode = NULL;
	if (bench_exec(db, "PRAGMA synchronous = FULL") != 0 ||
	    bench_exec(db, "PRAGMA foreign_keys = ON") != 0)
		goto out;
	/* The columns followupd's store writes when a follow-up is added. */
	if (sqlite3_prepare_v2(db, "INSERT INTO followups (contact_id, owner, "
	    "kind, status, due_at, reason, remind_before, remind_at, "
	    "created_at, updated_at, notice_stage, notice_at, automatic, "
	    "proposed_at) VALUES (?4, 'bench', 'followup', 'pending', ?1, "
	    "'benchmark', NULL, ?2, ?3, ?3, 1, ?2, 0, NULL)", -1, &ins, NULL)
	    != SQLITE_OK) {
		fprintf(stderr, "fu-bench: prepare: %s\n", sqlite3_errmsg(db));
		goto out;
	}

	start = bench_now();
	for (i = 0; i < rows; i++) {
		if (i % batch == 0) {
			t0 = bench_now();
			if (bench_exec(db, "BEGIN IMMEDIATE") != 0)
				goto out;
		}
		due = now + 86400 + (time_t)(i % 1000000);
		sqlite3_bind_int64(ins, 1, (sqlite3_int64)due);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)due - 900);
		sqlite3_bind_int64(ins, 3, (sqlite3_int64)now);
		sqlite3_bind_int64(ins, 4, (sqlite3_int64)contact);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "fu-bench: insert: %s\n",
			    sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_reset(ins);
		if ((i + 1) % batch == 0 || i + 1 == rows) {
			if (bench_exec(db, "COMMIT") != 0)
				goto out;
			hist_add(h, bench_now() - t0);
		}
	}
	elapsed = bench_now() - start;
	printf("mode sqlite rows %lld batch %lld seconds %.3f rows_per_s %.0f "
	    "commits %" PRIu64 " commit_p50_us %.1f commit_p99_us %.1f\n",
	    rows, batch, (double)elapsed / 1e9,
	    (double)rows / ((double)elapsed / 1e9), h->n,
	    hist_pct_us(h, 50), hist_pct_us(h, 99));
	fflush(stdout);
	rc = 0;
out:
	sqlite3_finalize(mode);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	free(h);
	return rc;
}

static __dead void
usage(void)
{
	fprintf(stderr,
	    "usage: fu-bench proto --socket PATH [--conns N] [--window W]\n"
	    "           [--seconds T | --requests N] [--warmup T] "
	    "[--timeout T] [--pid PID] --request LINE\n"
	    "       fu-bench sqlite --db PATH [--rows N] [--batch B]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "conns",	required_argument,	NULL, 'c' },
		{ "window",	required_argument,	NULL, 'w' },
		{ "seconds",	required_argument,	NULL, 't' },
		{ "requests",	required_argument,	NULL, 'n' },
		{ "warmup",	required_argument,	NULL, 'W' },
		{ "timeout",	required_argument,	NULL, 'T' },
		{ "request",	required_argument,	NULL, 'r' },
		{ "pid",	required_argument,	NULL, 'p' },
		{ "db",		required_argument,	NULL, 'd' },
		{ "rows",	required_argument,	NULL, 'R' },
		{ "batch",	required_argument,	NULL, 'b' },
		{ NULL,		0,			NULL, 0 }
	};
	static struct bench	 b;
	const char		*mode, *sock = NULL, *req = NULL, *db = NULL;
	long long		 rows = 10000, batch = 1;
	int			 ch, proto;

	if (argc < 2)
		usage();
	mode = argv[1];
	if (strcmp(mode, "proto") == 0)
		proto = 1;
	else if (strcmp(mode, "sqlite") == 0)
		proto = 0;
	else
		usage();
	argc--;
	argv++;

	b.nconns = 1;
	b.window = 1;
	b.seconds = 3;
	b.timeout = 10;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			b.nconns = (int)bench_number("conns", optarg, 1,
			    BENCH_MAX_CONNS);
			break;
		case 'w':
			b.window = (int)bench_number("window", optarg, 1,
			    BENCH_MAX_WINDOW);
			break;
		case 't':
			b.seconds = bench_seconds("seconds", optarg, 0.01,
			    BENCH_MAX_SECONDS);
			break;
		case 'n':
			b.requests = bench_number("requests", optarg, 1,
			    BENCH_MAX_REQUESTS);
			break;
		case 'W':
			b.warmup = bench_seconds("warmup", optarg, 0, 60);
			break;
		case 'T':
			b.timeout = bench_seconds("timeout", optarg, 0.1, 600);
			break;
		case 'r':
			req = optarg;
			break;
		case 'p':
			b.pid = (long)bench_number("pid", optarg, 1, INT_MAX);
			break;
		case 'd':
			db = optarg;
			break;
		case 'R':
			rows = bench_number("rows", optarg, 1, BENCH_MAX_ROWS);
			break;
		case 'b':
			batch = bench_number("batch", optarg, 1,
			    BENCH_MAX_ROWS);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (proto) {
		if (sock == NULL || req == NULL || db != NULL)
			usage();
		return bench_proto(&b, sock, req);
	}
	if (db == NULL || sock != NULL || req != NULL)
		usage();
	return bench_sqlite(db, rows, batch);
}
