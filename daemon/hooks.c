/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Hook programs: split a configured command like a shell would (but never
 * run one), start it with posix_spawn in a session of its own, feed it its
 * input on stdin, keep the tail of what it prints, and end it after a time
 * limit (SIGTERM to its process group, then SIGKILL).  This file alone owns
 * the children's pids, pipes and timers, and frees a run only once both
 * its exit status and the end of its output have arrived.  A failure is a
 * result handed to the caller, never a daemon error.  The deliveries'
 * hooks and doctor's checks of them (HOOKS_CHECK) both run here, since
 * this file reaps every child.
 */

#include <config.h>

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "followupd.h"
#include "followup/utf8.h"

extern char **environ;

/* Bytes of a hook's output kept for the log. */
#define HOOKS_TAIL	2048
/* Seconds between SIGTERM and SIGKILL. */
#define HOOKS_KILL_GRACE	5
/* Seconds to wait for the end of output once the hook has exited. */
#define HOOKS_EOF_GRACE		2

struct hook_run {
	LIST_ENTRY(hook_run)	 entry;
	pid_t			 pid;
	char			*name;		/* argv[0], for messages */
	struct timespec		 started;

	int			 in_fd;
	char			*input;
	size_t			 input_len;
	size_t			 input_off;
	struct event		*in_ev;

	int			 out_fd;
	struct event		*out_ev;
	char			 tail[HOOKS_TAIL];
	size_t			 tail_len;
	size_t			 out_total;
	int			 eof;

	int			 exited;
	int			 status;
	int			 timed_out;
	int			 killed;
	int			 flags;
	struct event		*timer;

	hooks_done_cb		 cb;
	void			*arg;
};

static LIST_HEAD(, hook_run)	 hooks_runs = LIST_HEAD_INITIALIZER(hooks_runs);
static struct event_base	*hooks_base;
static struct event		*hooks_sigchld;
static int			 hooks_n;	/* running, checks aside */
static int			 hooks_stopping;

static void	hooks_finish(struct hook_run *);

/*
 * Split command into words the way a shell would, without running one:
 * blanks separate words, 'single quotes' keep everything, "double quotes"
 * keep everything but \" \\ \$ \`, and a backslash outside quotes keeps
 * the next character.  No expansion of any kind happens.  Return 0 and a
 * NULL-terminated *argv (free with hooks_free_argv), or -1 and *cause.
 */
int
hooks_split(const char *command, char ***argv, char **cause)
{
	char		**av = NULL, *word;
	size_t		  n = 0, len;
	const char	 *p = command;
	int		  in_word;

	*argv = NULL;
	word = xmalloc(strlen(command) + 1);
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		len = 0;
		in_word = 1;
		while (in_word && *p != '\0') {
			switch (*p) {
			case ' ':
			case '\t':
				in_word = 0;
				break;
			case '\'':
				p++;
				while (*p != '\0' && *p != '\'')
					word[len++] = *p++;
				if (*p != '\'')
					goto unterminated;
				p++;
				break;
			case '"':
				p++;
				while (*p != '\0' && *p != '"') {
					if (*p == '\\' && p[1] != '\0' &&
					    strchr("\"\\$`", p[1]) != NULL)
						p++;
					word[len++] = *p++;
				}
				if (*p != '"')
					goto unterminated;
				p++;
				break;
			case '\\':
				p++;
				if (*p == '\0')
					goto unterminated;
				word[len++] = *p++;
				break;
			default:
				word[len++] = *p++;
				break;
			}
		}
		av = xreallocarray(av, n + 2, sizeof *av);
		av[n++] = xstrndup(word, len);
		av[n] = NULL;
	}
	free(word);
	if (n == 0) {
		xasprintf(cause, "empty command");
		return -1;
	}
	*argv = av;
	return 0;
unterminated:
	free(word);
	hooks_free_argv(av);
	xasprintf(cause, "unterminated quote or escape in \"%s\"", command);
	return -1;
}

void
hooks_free_argv(char **argv)
{
	char	**p;

	if (argv == NULL)
		return;
	for (p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

/*
 * Can the daemon run prog, found as posix_spawnp (and execvp) would find
 * it: as named when it holds a slash, else in each directory of PATH in
 * turn?  Return 0, or -1 with *cause saying what is wrong with it.
 */
int
hooks_check_program(const char *prog, char **cause)
{
	struct stat	 sb;
	const char	*path = when_getenv("PATH"), *dir, *colon;
	char		*full;
	int		 seen = 0;

	if (strchr(prog, '/') != NULL) {
		if (stat(prog, &sb) != 0)
			xasprintf(cause, "%s: %s", prog, strerror(errno));
		else if (!S_ISREG(sb.st_mode))
			xasprintf(cause, "%s is not a program file", prog);
		else if (access(prog, X_OK) != 0)
			xasprintf(cause, "%s is not executable by the "
			    "daemon's user", prog);
		else
			return 0;
		return -1;
	}
	/* glibc's posix_spawnp searches this when PATH is unset. */
	if (path == NULL)
		path = "/bin:/usr/bin";
	for (dir = path;; dir = colon + 1) {
		colon = strchrnul(dir, ':');
		/* An empty entry is the current directory. */
		xasprintf(&full, "%.*s%s%s", (int)(colon - dir), dir,
		    colon > dir ? "/" : "", prog);
		if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode)) {
			if (access(full, X_OK) == 0) {
				free(full);
				return 0;
			}
			seen = 1;
		}
		free(full);
		if (*colon == '\0')
			break;
	}
	if (seen)
		xasprintf(cause, "%s is in PATH (%s) but not executable by "
		    "the daemon's user", prog, path);
	else
		xasprintf(cause, "%s is not found in PATH (%s)", prog, path);
	return -1;
}

static double
hooks_elapsed(const struct hook_run *run)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - run->started.tv_sec) +
	    (now.tv_nsec - run->started.tv_nsec) / 1e9;
}

static void
hooks_close_input(struct hook_run *run)
{
	if (run->in_ev != NULL) {
		event_free(run->in_ev);
		run->in_ev = NULL;
	}
	if (run->in_fd != -1) {
		close(run->in_fd);
		run->in_fd = -1;
	}
}

/* Feed the hook its input; a hook that stops reading early is its right. */
static void
hooks_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook_run	*run = arg;
	ssize_t		 n;

	while (run->input_off < run->input_len) {
		n = write(fd, run->input + run->input_off,
		    run->input_len - run->input_off);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			break;		/* EPIPE: it closed stdin */
		}
		run->input_off += n;
	}
	hooks_close_input(run);
}

/* Keep the tail of what the hook prints; the rest is counted and dropped. */
static void
hooks_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook_run	*run = arg;
	char		 buf[4096];
	ssize_t		 n;
	size_t		 keep;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		run->out_total += n;
		if ((size_t)n >= HOOKS_TAIL) {
			memcpy(run->tail, buf + n - HOOKS_TAIL, HOOKS_TAIL);
			run->tail_len = HOOKS_TAIL;
			continue;
		}
		keep = HOOKS_TAIL - n;
		if (run->tail_len > keep) {
			memmove(run->tail, run->tail + run->tail_len - keep,
			    keep);
			run->tail_len = keep;
		}
		memcpy(run->tail + run->tail_len, buf, n);
		run->tail_len += n;
	}
	run->eof = 1;
	event_free(run->out_ev);
	run->out_ev = NULL;
	close(run->out_fd);
	run->out_fd = -1;
	if (run->exited)
		hooks_finish(run);
}

/* The time limit: SIGTERM first, SIGKILL if that is not enough. */
static void
hooks_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook_run	*run = arg;
	struct timeval	 tv = { HOOKS_KILL_GRACE, 0 };

	if (run->exited) {
		/* Exited, but something kept its output open: stop waiting. */
		run->eof = 1;
		hooks_finish(run);
		return;
	}
	if (!run->timed_out && (run->flags & HOOKS_CHECK)) {
		/* A check has nothing to finish: end it at once. */
		run->timed_out = 1;
		run->killed = 1;
		kill(-run->pid, SIGKILL);
		return;
	}
	if (!run->timed_out) {
		run->timed_out = 1;
		/* A hook that hangs on every run must not flood the log. */
		log_warnx_limited("hooks: still running at its limit",
		    run->name, "hooks: %s (pid %ld) still running after "
		    "%.1f s; terminating it", run->name, (long)run->pid,
		    hooks_elapsed(run));
		kill(-run->pid, SIGTERM);
		evtimer_add(run->timer, &tv);
		return;
	}
	run->killed = 1;
	kill(-run->pid, SIGKILL);
}

/* Reap every child that has exited. */
static void
hooks_sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct hook_run	*run;
	struct timeval	 tv = { HOOKS_EOF_GRACE, 0 };
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		LIST_FOREACH(run, &hooks_runs, entry) {
			if (run->pid == pid)
				break;
		}
		if (run == NULL)
			continue;
		run->exited = 1;
		run->status = status;
		/*
		 * A child it left behind (a background mail delivery) may
		 * still hold the output pipe: wait a little for EOF, then
		 * stop listening, but leave that child alone.
		 */
		if (run->eof)
			hooks_finish(run);
		else
			evtimer_add(run->timer, &tv);
	}
}

/*
 * The kept tail of the hook's output, printable: control characters but
 * newlines become spaces and bytes that are not UTF-8 become '?'; the
 * newlines and spaces at its end are dropped.  Caller frees.
 */
static char *
hooks_tail_text(struct hook_run *run)
{
	char		*text, *p;
	size_t		 n, len;
	uint32_t	 c;

	text = xstrndup(run->tail, run->tail_len);
	for (p = text; *p != '\0'; p += n) {
		if ((n = fu_utf8_decode((unsigned char *)p, SIZE_MAX,
		    &c)) == 0) {
			*p = '?';
			n = 1;
		} else if (n == 1 && (((unsigned char)*p < 0x20 &&
		    *p != '\n') || *p == 0x7f))
			*p = ' ';
	}
	len = strlen(text);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	return text;
}

/* The last line of the hook's output, for a one-line message. */
static const char *
hooks_last_line(const char *text)
{
	const char	*p;

	return (p = strrchr(text, '\n')) != NULL ? p + 1 : text;
}

/* Both the exit status and the end of output are in: report and free. */
static void
hooks_finish(struct hook_run *run)
{
	struct hook_result	 r;
	char			*error = NULL, *text;
	const char		*tail;
	int			 ok = 0;

	text = hooks_tail_text(run);
	tail = hooks_last_line(text);
	if (run->timed_out)
		xasprintf(&error, "%s timed out after %.1f s%s%s", run->name,
		    hooks_elapsed(run), *tail != '\0' ? ": " : "", tail);
	else if (WIFEXITED(run->status) && WEXITSTATUS(run->status) == 0)
		ok = 1;
	else if (WIFEXITED(run->status))
		xasprintf(&error, "%s exited %d after %.1f s%s%s", run->name,
		    WEXITSTATUS(run->status), hooks_elapsed(run),
		    *tail != '\0' ? ": " : "", tail);
	else
		xasprintf(&error, "%s killed by signal %d after %.1f s",
		    run->name, WTERMSIG(run->status), hooks_elapsed(run));
	if (ok && *tail != '\0')
		log_debug("hooks: %s said: %s", run->name, tail);

	LIST_REMOVE(run, entry);
	if (!(run->flags & HOOKS_CHECK))
		hooks_n--;
	hooks_close_input(run);
	if (run->out_ev != NULL)
		event_free(run->out_ev);
	if (run->out_fd != -1)
		close(run->out_fd);
	event_free(run->timer);
	memset(&r, 0, sizeof r);
	r.ok = ok;
	r.timed_out = run->timed_out;
	r.stopping = hooks_stopping;
	r.exit_code = !run->timed_out && WIFEXITED(run->status) ?
	    WEXITSTATUS(run->status) : -1;
	r.error = error;
	r.output = text;
	run->cb(&r, run->arg);
	free(text);
	free(error);
	free(run->input);
	free(run->name);
	free(run);
}

/* Start watching for exiting children. */
void
hooks_init(struct event_base *base)
{
	hooks_base = base;
	hooks_sigchld = evsignal_new(base, SIGCHLD, hooks_sigchld_cb, NULL);
	if (hooks_sigchld == NULL || evsignal_add(hooks_sigchld, NULL) != 0)
		fatalx("hooks: cannot watch SIGCHLD");
}

/*
 * Run command (split by hooks_split) with environment env (a NULL-ended
 * "NAME=value" list: the child gets only these), input on its stdin, and a
 * limit of timeout_ms milliseconds.  cb(result, arg) is called once when
 * it is over: ok if it exited 0, else error says what happened (exit
 * status, signal or timeout, and the last line it printed).  flags:
 * HOOKS_CHECK.  Return 0, or -1 with *cause set if it could not be
 * started (cb is then not called).
 */
int
hooks_spawn(const char *command, char **env, const char *input, size_t len,
    long timeout_ms, int flags, hooks_done_cb cb, void *arg, char **cause)
{
	struct hook_run			*run;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 mask, defaults;
	struct timeval			 tv;
	char				**argv;
	int				 in[2], out[2], rc;

	if (hooks_stopping) {
		xasprintf(cause, "the daemon is stopping");
		return -1;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (hooks_split(command, &argv, cause) != 0)
		return -1;
	if (pipe2(in, O_CLOEXEC) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		hooks_free_argv(argv);
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		hooks_free_argv(argv);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	posix_spawnattr_init(&attr);
	sigemptyset(&mask);
	sigfillset(&defaults);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);

	run = xcalloc(1, sizeof *run);
	rc = posix_spawnp(&run->pid, argv[0], &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		xasprintf(cause, "cannot run %s: %s", argv[0], strerror(rc));
		close(in[1]);
		close(out[0]);
		hooks_free_argv(argv);
		free(run);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &run->started);
	run->name = xstrdup(argv[0]);
	hooks_free_argv(argv);
	run->cb = cb;
	run->arg = arg;
	run->flags = flags;
	run->in_fd = in[1];
	run->out_fd = out[0];
	run->input = xmalloc(len + 1);
	memcpy(run->input, input, len);
	run->input_len = len;
	evutil_make_socket_nonblocking(run->in_fd);
	evutil_make_socket_nonblocking(run->out_fd);
	run->in_ev = event_new(hooks_base, run->in_fd, EV_WRITE | EV_PERSIST,
	    hooks_write_cb, run);
	run->out_ev = event_new(hooks_base, run->out_fd, EV_READ | EV_PERSIST,
	    hooks_read_cb, run);
	run->timer = evtimer_new(hooks_base, hooks_timer_cb, run);
	if (run->in_ev == NULL || run->out_ev == NULL || run->timer == NULL)
		fatalx("hooks: event_new");
	event_add(run->in_ev, NULL);
	event_add(run->out_ev, NULL);
	evtimer_add(run->timer, &tv);
	LIST_INSERT_HEAD(&hooks_runs, run, entry);
	if (!(flags & HOOKS_CHECK))
		hooks_n++;
	log_debug("hooks: started %s (pid %ld)", run->name, (long)run->pid);
	return 0;
}

/* How many hooks are running (deliveries; checks aside). */
int
hooks_running(void)
{
	return hooks_n;
}

/*
 * At shutdown: end every running hook and report it failed, so its
 * deliveries are retried after the restart.
 */
void
hooks_shutdown(void)
{
	struct hook_run	*run;
	int		 status;

	hooks_stopping = 1;
	while ((run = LIST_FIRST(&hooks_runs)) != NULL) {
		kill(-run->pid, SIGKILL);
		if (waitpid(run->pid, &status, 0) == run->pid) {
			run->exited = 1;
			run->status = status;
		}
		run->timed_out = 1;
		run->eof = 1;
		hooks_finish(run);
	}
	if (hooks_sigchld != NULL) {
		event_free(hooks_sigchld);
		hooks_sigchld = NULL;
	}
}
