/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The configuration: defaults, the INI file, and the value syntaxes it
 * shares with the protocol (durations, HH:MM, hour ranges, work days).
 * Nothing else reads the file.
 *
 * The file is read here rather than by inih: Debian's libinih is built
 * with a 200-byte line buffer, so a long hook command was cut into
 * pieces that were then refused at a line number the file does not have.
 */

#include <config.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "followupd.h"
#include "followup/email.h"
#include "followup/paths.h"

/*
 * The longest line (and the longest value, continuation lines joined)
 * the file may hold: room for any hook command, and a bound on what a
 * file that is not a configuration at all can make the daemon hold.
 */
#define CONFIG_LINE_MAX		65536

struct config_parse {
	struct fu_config	*cf;
	char			*cause;
	int			 stages_open_set;
	int			 stages_closed_set;

	char			*section;	/* the last [section] */
	char			*key;		/* the key being read, or NULL */
	char			*value;		/* ... its value so far */
	int			 keyline;	/* ... and its line */
};

static const char *const config_day_names[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

/* A configuration holding the built-in defaults. Caller frees. */
struct fu_config *
config_new(void)
{
	struct fu_config	*cf;
	char			*list, *word, *save;

	cf = xcalloc(1, sizeof *cf);
	cf->log = LOG_TO_AUTO;
	cf->max_conns_per_user = 1024;
	cf->lead = 15 * 60;
	cf->missed_grace = 30 * 60;
	cf->digest = 8 * 60;
	cf->hook_timeout = 30;
	cf->hook_retry = 30;
	cf->hook_give_up = 86400;
	cf->hook_max = 4;
	cf->late_horizon = 6 * 3600;
	cf->check_interval = 60;
	cf->workdays = 0x3e;		/* mon-fri */
	cf->hours_start = 9 * 60;
	cf->hours_end = 17 * 60;
	cf->voicemails_per_week = 3;
	cf->stale_after = 14 * 86400;
	cf->info_sent_days = 2;
	cf->callback_tolerance = 15 * 60;

	list = xstrdup(FU_DEFAULT_OPEN_STAGES);
	for (word = strtok_r(list, " ", &save); word != NULL;
	    word = strtok_r(NULL, " ", &save))
		cf->open_stages[cf->nopen++] = xstrdup(word);
	free(list);
	list = xstrdup(FU_DEFAULT_CLOSED_STAGES);
	for (word = strtok_r(list, " ", &save); word != NULL;
	    word = strtok_r(NULL, " ", &save))
		cf->closed_stages[cf->nclosed++] = xstrdup(word);
	free(list);
	return cf;
}

static void
config_free_stages(char **stages, int *n)
{
	int	i;

	for (i = 0; i < *n; i++)
		free(stages[i]);
	*n = 0;
}

/*
 * Hold cf beyond its owner (on the loop): a request running on a lane
 * reads it while a reload may replace it.  Each hold ends in config_free.
 */
struct fu_config *
config_ref(const struct fu_config *cf)
{
	struct fu_config	*held = (struct fu_config *)cf;

	held->refs++;
	return held;
}

/* Let go of cf: it is freed once its owner and every holder have. */
void
config_free(struct fu_config *cf)
{
	int	i;

	if (cf == NULL)
		return;
	if (cf->refs > 0) {
		cf->refs--;
		return;
	}
	free(cf->path);
	free(cf->socket);
	free(cf->database);
	free(cf->admin_group);
	free(cf->socket_group);
	free(cf->manager);
	for (i = 0; i < cf->nhooks; i++)
		free(cf->hooks[i]);
	config_free_stages(cf->open_stages, &cf->nopen);
	config_free_stages(cf->closed_stages, &cf->nclosed);
	free(cf->confirm_template);
	free(cf->cancel_template);
	free(cf->confirm_subject);
	free(cf->cancel_subject);
	free(cf->signature);
	free(cf->confirm_locale);
	free(cf);
}

/*
 * Read a duration: "90s", "15m", "2h", "3d" or bare seconds, at most a
 * year.  Return 0, or -1 if it is not one.
 */
int
config_parse_duration(const char *s, long *out)
{
	char		*end;
	long long	 n, mult = 1;

	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 's':
		end++;
		break;
	case 'm':
		mult = 60;
		end++;
		break;
	case 'h':
		mult = 3600;
		end++;
		break;
	case 'd':
		mult = 86400;
		end++;
		break;
	default:
		return -1;
	}
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0' || n > 366LL * 86400 / mult)
		return -1;
	*out = (long)(n * mult);
	return 0;
}

/* Read "HH:MM" into minutes after midnight. */
int
config_parse_hhmm(const char *s, int *out)
{
	int	h, m, n = 0;

	if (strlen(s) > 5 || sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 ||
	    s[n] != '\0' || !isdigit((unsigned char)s[0]))
		return -1;
	if (h < 0 || h > 23 || m < 0 || m > 59)
		return -1;
	*out = h * 60 + m;
	return 0;
}

/* Read "HH:MM-HH:MM", start before end. */
int
config_parse_hours(const char *s, int *start, int *end)
{
	char	 buf[16], *dash;

	if (strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	if ((dash = strchr(buf, '-')) == NULL)
		return -1;
	*dash++ = '\0';
	if (config_parse_hhmm(buf, start) != 0 ||
	    config_parse_hhmm(dash, end) != 0 || *start >= *end)
		return -1;
	return 0;
}

static int
config_day_index(const char *s, size_t len)
{
	int	i;

	if (len != 3)
		return -1;
	for (i = 0; i < 7; i++) {
		if (strncasecmp(s, config_day_names[i], 3) == 0)
			return i;
	}
	return -1;
}

/*
 * Read work days: "mon-fri", "mon,tue,thu", "sat-sun" or a mix such as
 * "mon-wed,fri".  Bit 0 is Sunday.
 */
int
config_parse_workdays(const char *s, unsigned int *out)
{
	unsigned int	 mask = 0;
	const char	*p = s, *comma, *dash;
	int		 a, b;

	if (*s == '\0')
		return -1;
	while (*p != '\0') {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		dash = memchr(p, '-', comma - p);
		if (dash != NULL) {
			a = config_day_index(p, dash - p);
			b = config_day_index(dash + 1, comma - dash - 1);
			if (a < 0 || b < 0)
				return -1;
			for (;;) {
				mask |= 1U << a;
				if (a == b)
					break;
				a = (a + 1) % 7;
			}
		} else {
			if ((a = config_day_index(p, comma - p)) < 0)
				return -1;
			mask |= 1U << a;
		}
		p = *comma == ',' ? comma + 1 : comma;
		if (*comma == ',' && *p == '\0')
			return -1;
	}
	*out = mask;
	return 0;
}

/* Is this one of the configured stages? */
int
config_stage_known(const struct fu_config *cf, const char *stage)
{
	int	i;

	if (config_stage_open(cf, stage))
		return 1;
	for (i = 0; i < cf->nclosed; i++) {
		if (strcmp(cf->closed_stages[i], stage) == 0)
			return 1;
	}
	return 0;
}

/* Is this an open stage (one that still needs follow-ups)? */
int
config_stage_open(const struct fu_config *cf, const char *stage)
{
	int	i;

	for (i = 0; i < cf->nopen; i++) {
		if (strcmp(cf->open_stages[i], stage) == 0)
			return 1;
	}
	return 0;
}

static int
config_set_stages(struct config_parse *p, char **stages, int *n,
    const char *value)
{
	char	*list, *word, *save;
	int	 i;

	config_free_stages(stages, n);
	list = xstrdup(value);
	for (word = strtok_r(list, " \t,", &save); word != NULL;
	    word = strtok_r(NULL, " \t,", &save)) {
		if (*n == CONFIG_MAX_STAGES) {
			xasprintf(&p->cause, "more than %d stages",
			    CONFIG_MAX_STAGES);
			free(list);
			return 0;
		}
		for (i = 0; word[i] != '\0'; i++) {
			if (!islower((unsigned char)word[i]) &&
			    !isdigit((unsigned char)word[i]) && word[i] != '-' &&
			    word[i] != '_') {
				xasprintf(&p->cause, "stage \"%s\" may only "
				    "hold a-z, 0-9, - and _", word);
				free(list);
				return 0;
			}
		}
		stages[(*n)++] = xstrdup(word);
	}
	free(list);
	if (*n == 0) {
		xasprintf(&p->cause, "no stages listed");
		return 0;
	}
	return 1;
}

static int
config_set_string(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
	return 1;
}

static int	config_bad(struct config_parse *, const char *, const char *,
		    const char *, const char *);

/*
 * Read the template file at path into *field, checked against the
 * placeholders in names: a letter that would go out broken is refused
 * here, with the template's own line, before anything is sent.
 */
static int
config_set_template(struct config_parse *p, const char *section,
    const char *key, const char *path, const char *const *names, char **field)
{
	struct stat	 sb;
	FILE		*f;
	char		*text, *why;
	size_t		 len;

	if (*path != '/')
		return config_bad(p, section, key, path,
		    "must be an absolute path");
	if ((f = fopen(path, "re")) == NULL) {
		xasprintf(&p->cause, "[%s] %s: %s: %s", section, key, path,
		    strerror(errno));
		return 0;
	}
	if (fstat(fileno(f), &sb) != 0)
		sb.st_mode = 0;
	if (!S_ISREG(sb.st_mode) || sb.st_size > TEMPLATE_MAX) {
		xasprintf(&p->cause, "[%s] %s: %s: %s", section, key, path,
		    S_ISREG(sb.st_mode) ? "larger than 64 KiB" :
		    "not a regular file");
		fclose(f);
		return 0;
	}
	text = xmalloc(TEMPLATE_MAX + 2);
	len = fread(text, 1, TEMPLATE_MAX + 1, f);
	if (ferror(f)) {
		xasprintf(&p->cause, "[%s] %s: %s: %s", section, key, path,
		    strerror(errno));
		free(text);
		fclose(f);
		return 0;
	}
	fclose(f);
	text[len] = '\0';
	if (template_check(text, len, names, &why) != 0) {
		xasprintf(&p->cause, "[%s] %s: %s: %s", section, key, path,
		    why);
		free(why);
		free(text);
		return 0;
	}
	free(*field);
	*field = text;
	return 1;
}

/*
 * The locale whose day and month names the letters' times use (LC_TIME),
 * tried now so that a name the system does not have stops the start
 * rather than a letter.  "" is the built-in English.
 */
static int
config_set_locale(struct config_parse *p, const char *section,
    const char *key, const char *value, char **dst)
{
	locale_t	loc;

	free(*dst);
	*dst = NULL;
	if (*value == '\0')
		return 1;
	if ((loc = newlocale(LC_TIME_MASK, value, (locale_t)0)) ==
	    (locale_t)0) {
		xasprintf(&p->cause, "[%s] %s: this system has no locale "
		    "\"%s\" (locale -a lists those it has)", section, key,
		    value);
		return 0;
	}
	freelocale(loc);
	*dst = xstrdup(value);
	return 1;
}

/* A subject line with placeholders. */
static int
config_set_subject(struct config_parse *p, const char *section,
    const char *key, const char *value, char **field)
{
	char	*why;

	if (template_check(value, strlen(value), confirm_signature_fields,
	    &why) != 0) {
		xasprintf(&p->cause, "[%s] %s = \"%s\": %s", section, key,
		    value, why + (strncmp(why, "line 1: ", 8) == 0 ? 8 : 0));
		free(why);
		return 0;
	}
	return config_set_string(field, value);
}

static int
config_bad(struct config_parse *p, const char *section, const char *key,
    const char *value, const char *want)
{
	xasprintf(&p->cause, "[%s] %s = \"%s\": %s", section, key, value, want);
	return 0;
}

static int
config_section_known(const char *section)
{
	return strcmp(section, "daemon") == 0 ||
	    strcmp(section, "reminders") == 0 ||
	    strcmp(section, "schedule") == 0 ||
	    strcmp(section, "stages") == 0 ||
	    strcmp(section, "confirmations") == 0;
}

/* One key with its whole value; return 0 (after setting the cause) if bad. */
static int
config_handler(struct config_parse *p, const char *section, const char *key,
    const char *value)
{
	struct fu_config	*cf = p->cf;
	long			 n;
	char			*end;

	if (strcmp(section, "daemon") == 0) {
		if (strcmp(key, "socket") == 0) {
			if (*value != '/')
				return config_bad(p, section, key, value,
				    "must be an absolute path");
			return config_set_string(&cf->socket, value);
		}
		if (strcmp(key, "database") == 0) {
			char	*why;

			if (store_backend_kind(value) != STORE_BACKEND_SQLITE) {
				/* Named, not echoed: a URL may hold a
				 * password. */
				if (store_backend_usable(value, &why) != 0) {
					xasprintf(&p->cause, "[%s] %s: %s",
					    section, key, why);
					free(why);
					return 0;
				}
			} else if (*value != '/')
				return config_bad(p, section, key, value,
				    "must be an absolute path or a URL");
			return config_set_string(&cf->database, value);
		}
		if (strcmp(key, "admin_group") == 0) {
			if (*value != '\0' && getgrnam(value) == NULL)
				return config_bad(p, section, key, value,
				    "no such group");
			return config_set_string(&cf->admin_group, value);
		}
		if (strcmp(key, "socket_group") == 0) {
			if (*value != '\0' && getgrnam(value) == NULL)
				return config_bad(p, section, key, value,
				    "no such group");
			return config_set_string(&cf->socket_group, value);
		}
		if (strcmp(key, "log") == 0) {
			if (log_target_from_name(value, &cf->log) != 0)
				return config_bad(p, section, key, value,
				    "must be journal, syslog or stderr");
			return 1;
		}
		if (strcmp(key, "max_connections_per_user") == 0) {
			errno = 0;
			n = strtol(value, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1 || n > 100000)
				return config_bad(p, section, key, value,
				    "must be a number from 1 to 100000");
			cf->max_conns_per_user = (int)n;
			return 1;
		}
	} else if (strcmp(section, "reminders") == 0) {
		if (strcmp(key, "lead") == 0) {
			if (config_parse_duration(value, &cf->lead) != 0)
				return config_bad(p, section, key, value,
				    "must be a duration such as 15m");
			return 1;
		}
		if (strcmp(key, "missed_grace") == 0) {
			if (config_parse_duration(value, &cf->missed_grace) != 0)
				return config_bad(p, section, key, value,
				    "must be a duration such as 30m");
			return 1;
		}
		if (strcmp(key, "hook_timeout") == 0) {
			if (config_parse_duration(value, &cf->hook_timeout) != 0
			    || cf->hook_timeout == 0)
				return config_bad(p, section, key, value,
				    "must be a duration such as 30s");
			return 1;
		}
		if (strcmp(key, "digest") == 0) {
			if (config_parse_hhmm(value, &cf->digest) != 0)
				return config_bad(p, section, key, value,
				    "must be a time such as 08:00");
			return 1;
		}
		if (strcmp(key, "hook") == 0) {
			char	**argv, *why;

			if (cf->nhooks == CONFIG_MAX_HOOKS) {
				xasprintf(&p->cause, "more than %d hooks",
				    CONFIG_MAX_HOOKS);
				return 0;
			}
			if (hooks_split(value, &argv, &why) != 0) {
				config_bad(p, section, key, value, why);
				free(why);
				return 0;
			}
			hooks_free_argv(argv);
			cf->hooks[cf->nhooks++] = xstrdup(value);
			return 1;
		}
		if (strcmp(key, "hook_retry") == 0) {
			if (config_parse_duration(value, &cf->hook_retry) != 0
			    || cf->hook_retry == 0)
				return config_bad(p, section, key, value,
				    "must be a duration such as 30s");
			return 1;
		}
		if (strcmp(key, "hook_give_up") == 0) {
			if (config_parse_duration(value, &cf->hook_give_up) != 0
			    || cf->hook_give_up == 0)
				return config_bad(p, section, key, value,
				    "must be a duration such as 1d");
			return 1;
		}
		if (strcmp(key, "hook_max") == 0) {
			errno = 0;
			n = strtol(value, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1 || n > 64)
				return config_bad(p, section, key, value,
				    "must be a number from 1 to 64");
			cf->hook_max = (int)n;
			return 1;
		}
		if (strcmp(key, "late_horizon") == 0) {
			if (config_parse_duration(value, &cf->late_horizon) != 0)
				return config_bad(p, section, key, value,
				    "must be a duration such as 6h");
			return 1;
		}
		if (strcmp(key, "check_interval") == 0) {
			if (config_parse_duration(value, &cf->check_interval)
			    != 0 || cf->check_interval < 1 ||
			    cf->check_interval > 3600)
				return config_bad(p, section, key, value,
				    "must be a duration from 1s to 1h");
			return 1;
		}
		if (strcmp(key, "manager") == 0) {
			if (!fu_email_ok(value))
				return config_bad(p, section, key, value,
				    "must be an email address in plain ASCII");
			return config_set_string(&cf->manager, value);
		}
	} else if (strcmp(section, "schedule") == 0) {
		if (strcmp(key, "workdays") == 0) {
			if (config_parse_workdays(value, &cf->workdays) != 0)
				return config_bad(p, section, key, value,
				    "must be days such as mon-fri");
			return 1;
		}
		if (strcmp(key, "hours") == 0) {
			if (config_parse_hours(value, &cf->hours_start,
			    &cf->hours_end) != 0)
				return config_bad(p, section, key, value,
				    "must be a range such as 09:00-17:00");
			return 1;
		}
		if (strcmp(key, "voicemails_per_week") == 0) {
			errno = 0;
			n = strtol(value, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1 || n > 7)
				return config_bad(p, section, key, value,
				    "must be a number from 1 to 7");
			cf->voicemails_per_week = (int)n;
			return 1;
		}
		if (strcmp(key, "info_sent_days") == 0) {
			errno = 0;
			n = strtol(value, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1 || n > 30)
				return config_bad(p, section, key, value,
				    "must be a number of working days from 1 "
				    "to 30");
			cf->info_sent_days = (int)n;
			return 1;
		}
		if (strcmp(key, "callback_tolerance") == 0) {
			if (config_parse_duration(value,
			    &cf->callback_tolerance) != 0 ||
			    cf->callback_tolerance > 4 * 3600)
				return config_bad(p, section, key, value,
				    "must be a duration from 0s to 4h");
			return 1;
		}
		if (strcmp(key, "stale_after") == 0) {
			if (config_parse_duration(value, &cf->stale_after) != 0
			    || cf->stale_after == 0)
				return config_bad(p, section, key, value,
				    "must be a duration such as 14d");
			return 1;
		}
	} else if (strcmp(section, "stages") == 0) {
		if (strcmp(key, "open") == 0) {
			p->stages_open_set = 1;
			return config_set_stages(p, cf->open_stages, &cf->nopen,
			    value);
		}
		if (strcmp(key, "closed") == 0) {
			p->stages_closed_set = 1;
			return config_set_stages(p, cf->closed_stages,
			    &cf->nclosed, value);
		}
	} else if (strcmp(section, "confirmations") == 0) {
		if (strcmp(key, "template") == 0)
			return config_set_template(p, section, key, value,
			    confirm_fields, &cf->confirm_template);
		if (strcmp(key, "cancel_template") == 0)
			return config_set_template(p, section, key, value,
			    confirm_fields, &cf->cancel_template);
		if (strcmp(key, "signature") == 0)
			return config_set_template(p, section, key, value,
			    confirm_signature_fields, &cf->signature);
		if (strcmp(key, "subject") == 0)
			return config_set_subject(p, section, key, value,
			    &cf->confirm_subject);
		if (strcmp(key, "cancel_subject") == 0)
			return config_set_subject(p, section, key, value,
			    &cf->cancel_subject);
		if (strcmp(key, "locale") == 0)
			return config_set_locale(p, section, key, value,
			    &cf->confirm_locale);
	} else {
		xasprintf(&p->cause, "unknown section [%s]", section);
		return 0;
	}
	xasprintf(&p->cause, "unknown key \"%s\" in [%s]", key, section);
	return 0;
}

/* Strip white space from both ends of s, in place. */
static char *
config_strip(char *s)
{
	size_t	len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

/*
 * Cut an inline comment: a ';' after white space starts one (a ';' inside
 * a word, as in a URL, does not), as it did when inih read the file.
 */
static void
config_cut_comment(char *s)
{
	char	*p;

	for (p = s; (p = strchr(p, ';')) != NULL; p++) {
		if (p > s && isspace((unsigned char)p[-1])) {
			*p = '\0';
			return;
		}
	}
}

/* Hand the key being read, its value now whole, to config_handler. */
static int
config_flush(struct config_parse *p)
{
	int	ok;

	if (p->key == NULL)
		return 0;
	ok = config_handler(p, p->section, p->key, p->value);
	if (!ok && p->cause == NULL)
		xasprintf(&p->cause, "[%s] %s: bad value", p->section, p->key);
	free(p->key);
	free(p->value);
	p->key = p->value = NULL;
	return ok ? 0 : -1;
}

/*
 * Read the file: "[section]" lines, "key = value" lines, comments (a line
 * whose first character is '#' or ';', and ';' after white space), and
 * lines that start with white space, which continue the value on the line
 * above (joined with one space), so a long hook command may be folded.
 * CRLF line ends and a UTF-8 BOM are read as well.  Return 0, or -1 with
 * p->cause set and *lineno the line at fault.
 */
static int
config_read(struct config_parse *p, FILE *f, int *lineno)
{
	char		*line = NULL, *s, *eq, *end, *joined;
	size_t		 size = 0;
	ssize_t		 len;
	int		 indented, rc = -1;

	*lineno = 0;
	while ((len = getline(&line, &size, f)) != -1) {
		(*lineno)++;
		/* The limit is on what the line says, its end aside. */
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > CONFIG_LINE_MAX) {
			xasprintf(&p->cause, "line longer than %d bytes",
			    CONFIG_LINE_MAX);
			goto out;
		}
		if (memchr(line, '\0', len) != NULL) {
			xasprintf(&p->cause, "a NUL byte in the line; is "
			    "this a text file?");
			goto out;
		}
		s = line;
		if (*lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3;
		indented = *s == ' ' || *s == '\t';
		s = config_strip(s);
		if (*s == '#' || *s == ';' || *s == '\0') {
			/* A comment or a blank line ends a value. */
			if (config_flush(p) != 0) {
				*lineno = p->keyline;
				goto out;
			}
			continue;
		}
		config_cut_comment(s);
		s = config_strip(s);
		if (indented && p->key != NULL) {
			if (strlen(p->value) + 1 + strlen(s) > CONFIG_LINE_MAX) {
				xasprintf(&p->cause, "the value of \"%s\" is "
				    "longer than %d bytes", p->key,
				    CONFIG_LINE_MAX);
				goto out;
			}
			xasprintf(&joined, "%s%s%s", p->value,
			    *p->value != '\0' ? " " : "", s);
			free(p->value);
			p->value = joined;
			continue;
		}
		if (config_flush(p) != 0) {
			*lineno = p->keyline;
			goto out;
		}
		if (*s == '[') {
			if ((end = strchr(s, ']')) == NULL || end[1] != '\0') {
				xasprintf(&p->cause, "not a section header: "
				    "write [name]");
				goto out;
			}
			*end = '\0';
			s = config_strip(s + 1);
			if (!config_section_known(s)) {
				xasprintf(&p->cause, "unknown section [%s]", s);
				goto out;
			}
			free(p->section);
			p->section = xstrdup(s);
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL || eq == s) {
			xasprintf(&p->cause, "not a section header or "
			    "\"key = value\" line");
			goto out;
		}
		*eq = '\0';
		if (p->section == NULL) {
			xasprintf(&p->cause, "\"%s\" comes before any "
			    "[section]", config_strip(s));
			goto out;
		}
		p->key = xstrdup(config_strip(s));
		p->value = xstrdup(config_strip(eq + 1));
		p->keyline = *lineno;
	}
	if (ferror(f)) {
		xasprintf(&p->cause, "cannot read the file: %s",
		    strerror(errno));
		goto out;
	}
	if (config_flush(p) != 0) {
		*lineno = p->keyline;
		goto out;
	}
	rc = 0;
out:
	free(line);
	free(p->section);
	free(p->key);
	free(p->value);
	p->section = p->key = p->value = NULL;
	return rc;
}

/*
 * Read the file at path into cf, on top of what cf holds.  If optional is
 * set, a file that does not exist is not an error.  On error return -1
 * and set *cause to "FILE:LINE: what is wrong" (caller frees); cf may then
 * hold part of the file and should be freed.
 */
int
config_load(struct fu_config *cf, const char *path, int optional, char **cause)
{
	struct config_parse	 p;
	struct stat		 sb;
	FILE			*f;
	int			 line, i, j;

	memset(&p, 0, sizeof p);
	p.cf = cf;
	if ((f = fopen(path, "re")) == NULL) {
		if (optional && errno == ENOENT)
			return 0;
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* A directory opens and reads as empty: that is no configuration. */
	if (fstat(fileno(f), &sb) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	/* /dev/null is the usual way to say "no settings, the defaults". */
	if (!S_ISREG(sb.st_mode) && !(S_ISCHR(sb.st_mode) &&
	    sb.st_rdev == makedev(1, 3))) {
		xasprintf(cause, "%s: %s", path, S_ISDIR(sb.st_mode) ?
		    "is a directory, not a configuration file" :
		    "not a regular file, not a configuration file");
		fclose(f);
		return -1;
	}
	if (config_read(&p, f, &line) != 0) {
		xasprintf(cause, "%s:%d: %s", path, line, p.cause);
		free(p.cause);
		fclose(f);
		return -1;
	}
	fclose(f);
	for (i = 0; i < cf->nopen; i++) {
		for (j = 0; j < cf->nclosed; j++) {
			if (strcmp(cf->open_stages[i],
			    cf->closed_stages[j]) == 0) {
				xasprintf(cause, "%s: stage \"%s\" is both "
				    "open and closed", path, cf->open_stages[i]);
				return -1;
			}
		}
	}
	free(cf->path);
	cf->path = xstrdup(path);
	return 0;
}

/* Home directory of the running user. */
static const char *
config_home(void)
{
	const char	*home;
	struct passwd	*pw;

	if ((home = getenv("HOME")) != NULL && *home == '/')
		return home;
	if ((pw = getpwuid(getuid())) != NULL)
		return pw->pw_dir;
	return NULL;
}

/* Does this process run the team's daemon (as root or a system user)? */
int
config_system_mode(void)
{
	return geteuid() < FU_FIRST_USER_UID;
}

/*
 * The state directory systemd made for the service (StateDirectory= sets
 * $STATE_DIRECTORY; the first one when it names several), or NULL.
 * Caller frees.
 */
static char *
config_systemd_state_dir(void)
{
	const char	*dirs = getenv("STATE_DIRECTORY");
	size_t		 len;

	if (dirs == NULL || *dirs != '/')
		return NULL;
	len = strcspn(dirs, ":");
	while (len > 1 && dirs[len - 1] == '/')
		len--;
	return xstrndup(dirs, len);
}

/*
 * Fill the socket and database paths that neither the file nor the command
 * line gave: the system paths for root and system users (the followupd
 * user of the system unit), the user's own otherwise.  The database goes
 * in the state directory systemd gave the service, when it gave one: the
 * unit's StateDirectory= is the one place its sandbox lets it write,
 * whatever prefix the programs were installed under.
 */
/* What the store needs to find stale contacts, pointing into cf. */
void
config_stale(const struct fu_config *cf, struct store_stale *ss)
{
	ss->open_stages = cf->open_stages;
	ss->nopen = cf->nopen;
	ss->after = cf->stale_after;
}

int
config_default_paths(struct fu_config *cf, char **cause)
{
	char		 buf[4096], *sd;
	const char	*state, *home;

	if (cf->socket == NULL) {
		if (config_system_mode())
			cf->socket = xstrdup(FU_SYSTEM_SOCKET);
		else {
			if (fu_user_socket_path(buf, sizeof buf) != 0) {
				if (buf[0] == '\0')
					xasprintf(cause, "no home directory "
					    "for the socket (XDG_RUNTIME_DIR "
					    "is unset); give --socket");
				else
					xasprintf(cause, "the socket path %s "
					    "is too long for a socket; set "
					    "XDG_RUNTIME_DIR or give --socket",
					    buf);
				return -1;
			}
			cf->socket = xstrdup(buf);
			cf->socket_private = 1;
		}
	}
	if (cf->database == NULL) {
		if ((sd = config_systemd_state_dir()) != NULL) {
			xasprintf(&cf->database, "%s/%s", sd,
			    FU_USER_DATABASE_NAME);
			free(sd);
		} else if (config_system_mode())
			cf->database = xstrdup(FU_SYSTEM_DATABASE);
		else if ((state = getenv("XDG_STATE_HOME")) != NULL &&
		    *state == '/')
			xasprintf(&cf->database, "%s/%s/%s", state,
			    FU_USER_STATE_SUBDIR, FU_USER_DATABASE_NAME);
		else if ((home = config_home()) != NULL)
			xasprintf(&cf->database, "%s/.local/state/%s/%s", home,
			    FU_USER_STATE_SUBDIR, FU_USER_DATABASE_NAME);
		else {
			xasprintf(cause, "no home directory to keep the "
			    "database in; give --database");
			return -1;
		}
	}
	return 0;
}
