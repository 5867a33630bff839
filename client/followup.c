/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * followup: the rep's command-line client.  Global options, the command
 * table, finding the command, and the exit code.
 */

#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <iconv.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "followup/utf8.h"

static const struct cmd_entry *const cmd_table[] = {
	&cmd_status_entry,
	&cmd_contact_entry,
	&cmd_log_entry,
	&cmd_schedule_entry,
	&cmd_agenda_entry,
	&cmd_list_entry,
	&cmd_show_entry,
	&cmd_done_entry,
	&cmd_snooze_entry,
	&cmd_reschedule_entry,
	&cmd_reagree_entry,
	&cmd_cancel_entry,
	&cmd_confirm_entry,
	&cmd_config_entry,
	&cmd_watch_entry,
	&cmd_doctor_entry,
	&cmd_backup_entry,
	&cmd_export_entry,
	&cmd_import_entry,
	&cmd_simulate_entry,
	&cmd_report_entry,
	NULL
};

static void
usage(FILE *f)
{
	const struct cmd_entry *const	*e;

	fprintf(f, "usage: followup [--socket PATH] [--json] [--as USER] "
	    "COMMAND [ARGS...]\n       followup --help | --version\n\n"
	    "The client of followupd, the follow-up service.  Commands:\n\n");
	for (e = cmd_table; *e != NULL; e++)
		fprintf(f, "  %s%s%s\n", (*e)->name, *(*e)->usage != '\0' ?
		    " " : "", (*e)->usage);
	fprintf(f, "\nEvery command has --help.  --json prints the daemon's "
	    "result as JSON.\nThe daemon is found through --socket, "
	    "$FOLLOWUP_SOCKET, your user socket,\nthen the system socket.  "
	    "--as USER acts for that rep (root and the admin\ngroup only), "
	    "exactly as the rep would: with the rep's records and\npowers, "
	    "none of an admin's.  Arguments are read in your locale's\n"
	    "character set and sent as UTF-8.  Exit status: 0 ok, 1 the daemon\n"
	    "refused, 2 usage, 3 no daemon.\n");
}

/* Arguments converted to UTF-8, and the bytes they were typed as. */
static char	**cmd_typed;
static char	**cmd_converted;
static int	  cmd_nconverted;

/* s from the character set cd reads to UTF-8, or NULL. Caller frees. */
static char *
cmd_convert(iconv_t cd, const char *s)
{
	size_t	 inlen = strlen(s), outlen = inlen * 4 + 1, left = outlen;
	char	*in = (char *)s, *out, *p;

	if ((out = p = malloc(outlen)) == NULL) {
		fprintf(stderr, "followup: out of memory\n");
		exit(EXIT_USAGE);
	}
	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &in, &inlen, &p, &left) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &p, &left) == (size_t)-1 || left == 0) {
		free(out);
		return NULL;
	}
	*p = '\0';
	return out;
}

/* Print s quoted, each byte that is not UTF-8 as \xNN. */
static void
cmd_quote_bytes(FILE *f, const char *s)
{
	uint32_t	c;
	size_t		n;

	fputc('"', f);
	for (; *s != '\0'; s += n) {
		n = fu_utf8_decode((const unsigned char *)s, SIZE_MAX, &c);
		if (n == 0) {
			fprintf(f, "\\x%02x", (unsigned char)*s);
			n = 1;
		} else
			fwrite(s, 1, n, f);
	}
	fputc('"', f);
}

/*
 * Make every argument UTF-8, which is all the protocol carries: typed in
 * a locale of another character set (ISO-8859-1, say), it is converted
 * from that; an argument that still is not UTF-8 is refused, naming it,
 * since sending it would lose it (Jansson takes no string that is not
 * UTF-8).  The C locale's ASCII is read as UTF-8, as terminals send it.
 * Return 0, or -1 after saying why.
 */
static int
cmd_args_utf8(int argc, char **argv)
{
	const char	*cs = nl_langinfo(CODESET), *p;
	iconv_t		 cd = (iconv_t)-1;
	char		*conv;
	int		 i, rc = 0, tried;

	tried = strcmp(cs, "UTF-8") == 0 || strcmp(cs, "ANSI_X3.4-1968") == 0;
	cmd_typed = calloc(argc, sizeof *cmd_typed);
	cmd_converted = calloc(argc, sizeof *cmd_converted);
	if (cmd_typed == NULL || cmd_converted == NULL) {
		fprintf(stderr, "followup: out of memory\n");
		exit(EXIT_USAGE);
	}
	for (i = 1; i < argc; i++) {
		for (p = argv[i]; *p != '\0' && (unsigned char)*p < 0x80; p++)
			;
		if (*p == '\0')
			continue;	/* ASCII reads the same in any */
		if (!tried) {
			tried = 1;
			if ((cd = iconv_open("UTF-8", cs)) == (iconv_t)-1)
				fprintf(stderr, "followup: cannot convert from "
				    "%s, your locale's character set: %s\n",
				    cs, strerror(errno));
		}
		if (cd != (iconv_t)-1 && (conv = cmd_convert(cd, argv[i])) !=
		    NULL) {
			cmd_typed[cmd_nconverted] = argv[i];
			cmd_converted[cmd_nconverted++] = conv;
			argv[i] = conv;
		}
		if (out_utf8_valid(argv[i]))
			continue;
		fprintf(stderr, "followup: argument %d, ", i);
		cmd_quote_bytes(stderr, argv[i]);
		if (cd != (iconv_t)-1)
			fprintf(stderr, ", is not text in %s, your locale's "
			    "character set", cs);
		else
			fprintf(stderr, ", is not UTF-8 text");
		fprintf(stderr, "; set LC_ALL or LANG to a locale of the "
		    "character set your terminal sends\n");
		rc = -1;
	}
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	return rc;
}

/*
 * The bytes an argument was typed as, for a local file's name: the file
 * system holds names as the locale wrote them, not as UTF-8.  arg may be
 * an option's value inside its argument ("--socket=PATH", "-oFILE"),
 * after an ASCII prefix that both spellings share.  Borrowed.
 */
const char *
cmd_path_arg(const char *arg)
{
	uintptr_t	a = (uintptr_t)arg, start;
	int		i;

	for (i = 0; i < cmd_nconverted; i++) {
		start = (uintptr_t)cmd_converted[i];
		if (a >= start && a <= start + strlen(cmd_converted[i]))
			return cmd_typed[i] + (a - start);
	}
	return arg;
}

/*
 * json_string() for the command line, which never sends less than the
 * user typed: text that is not UTF-8 (Jansson refuses it, and the field
 * would silently drop) ends the command with an error.
 */
json_t *
cmd_string(const char *s)
{
	json_t	*v;

	if ((v = json_string(s)) == NULL) {
		fprintf(stderr, "followup: ");
		cmd_quote_bytes(stderr, s);
		fprintf(stderr, " is not UTF-8 text\n");
		exit(EXIT_USAGE);
	}
	return v;
}

/*
 * The tail every request-and-print command shares: send op with args
 * (taken; NULL for none) and read the reply.  On an error (already said
 * on stderr) return its exit code; with --json print the result and
 * return 0 with *r NULL; else return 0 with the result in *r for the
 * caller to format and free.
 */
int
cmd_call_and_print(struct client *c, enum fu_op op, json_t *args,
    json_t **r)
{
	int	rc;

	*r = NULL;
	rc = rpc_call(c, op, args, r);
	json_decref(args);
	if (rc != 0)
		return rc;
	if (c->json) {
		out_json(*r);
		json_decref(*r);
		*r = NULL;
	}
	return 0;
}

/*
 * Run a list op page after page (see the ops' "after" and "next_after")
 * and gather the arrays named in keys into the first page's reply, so
 * that the user sees the whole list, or its first max rows when max > 0,
 * as one reply; then print it as cmd_call_and_print does.  The reply's
 * next_after is the last page's.
 */
int
cmd_call_pages(struct client *c, enum fu_op op, json_t *args,
    const char *const *keys, long long max, json_t **r)
{
	json_t		*page, *next;
	long long	 n = 0, want;
	size_t		 i;
	int		 rc = 0;

	*r = NULL;
	for (;;) {
		want = max > 0 && max - n < FU_LIST_MAX ? max - n : FU_LIST_MAX;
		json_object_set_new(args, "limit", json_integer(want));
		if ((rc = rpc_call(c, op, args, &page)) != 0)
			break;
		for (i = 0; keys[i] != NULL; i++) {
			n += json_array_size(json_object_get(page, keys[i]));
			if (*r != NULL)
				json_array_extend(json_object_get(*r, keys[i]),
				    json_object_get(page, keys[i]));
		}
		next = json_object_get(page, "next_after");
		if (*r == NULL)
			*r = page;
		else {
			json_object_set(*r, "next_after", next);
			json_decref(page);
		}
		if (json_is_null(next) || next == NULL || (max > 0 && n >= max))
			break;
		json_object_set(args, "after", next);
	}
	json_decref(args);
	if (rc != 0) {
		json_decref(*r);
		*r = NULL;
		return rc;
	}
	if (c->json) {
		out_json(*r);
		json_decref(*r);
		*r = NULL;
	}
	return 0;
}

/* Say what is wrong with the command line and how to use it. */
int
cmd_usage_error(const struct cmd_entry *e, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "followup %s: ", e->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: followup %s%s%s\n", e->name,
	    *e->usage != '\0' ? " " : "", e->usage);
	return EXIT_USAGE;
}

/* If --help or -h is among the arguments, print the help and say so. */
int
cmd_wants_help(const struct cmd_entry *e, int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			printf("usage: followup %s%s%s\n\n%s\n", e->name,
			    *e->usage != '\0' ? " " : "", e->usage, e->help);
			return 1;
		}
	}
	return 0;
}

/* Read a positive id from the command line. */
int
cmd_parse_id(const struct cmd_entry *e, const char *s, long long *id)
{
	char	*end;

	*id = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || *id <= 0)
		return cmd_usage_error(e, "\"%s\" is not an id (a positive "
		    "number)", s);
	return 0;
}

/*
 * --owner USER (all 0) or --all (all 1) into args' "owner" ("*" for the
 * team), given at most once.  Return 0, or the usage error's status.
 */
int
cmd_owner_opt(const struct cmd_entry *e, json_t *args, int all,
    const char *user)
{
	if (json_object_get(args, "owner") != NULL)
		return cmd_usage_error(e, "give --owner or --all once");
	json_object_set_new(args, "owner", cmd_string(all ? "*" : user));
	return 0;
}

/* The words joined by spaces ("tue" "10:00" -> "tue 10:00"). Caller frees. */
char *
cmd_join(int argc, char **argv)
{
	size_t	 len = 1;
	char	*out;
	int	 i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((out = calloc(1, len)) == NULL) {
		fprintf(stderr, "followup: out of memory\n");
		exit(EXIT_USAGE);
	}
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strcat(out, " ");
		strcat(out, argv[i]);
	}
	return out;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "as",		required_argument,	NULL, 'a' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	const struct cmd_entry *const	*e;
	struct client			 c;
	int				 ch, rc;

	memset(&c, 0, sizeof c);
	c.fd = -1;
	/*
	 * The locale says which character set arguments are typed in.  The
	 * rest of the client reads UTF-8 byte by byte, as in the C locale,
	 * whatever that set is (tolower() in ISO-8859-1 would break it).
	 */
	setlocale(LC_CTYPE, "");
	rc = cmd_args_utf8(argc, argv);
	setlocale(LC_CTYPE, "C");
	if (rc != 0)
		return EXIT_USAGE;
	/* "+": options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+hs:j", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c.socket_opt = cmd_path_arg(optarg);
			break;
		case 'j':
			c.json = 1;
			break;
		case 'a':
			if (*optarg == '\0') {
				fprintf(stderr, "followup: --as needs a user "
				    "name\n");
				return EXIT_USAGE;
			}
			c.as = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("followup %s (protocol %d)\n", PACKAGE_VERSION,
			    FU_PROTOCOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (e = cmd_table; *e != NULL; e++) {
		if (strcmp((*e)->name, argv[0]) == 0)
			break;
	}
	if (*e == NULL) {
		fprintf(stderr, "followup: unknown command \"%s\"; see "
		    "\"followup --help\"\n", argv[0]);
		return EXIT_USAGE;
	}
	if (cmd_wants_help(*e, argc, argv))
		return 0;
	optind = 0;	/* reset getopt for the command */
	rc = (*e)->exec(&c, argc, argv);
	rpc_close(&c);
	return rc;
}
