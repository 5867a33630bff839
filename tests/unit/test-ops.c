/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests for the op table, the generic runner and the handlers, through
 * ops_run_line with a real store in a temporary directory, as conn.c calls
 * it but without a connection: the test commits after each write.
 *
 * ops_run_line reads the clock itself, so these tests only use times
 * relative to it ("in 2 days") or far from it (2020, 2099).
 *
 * Requests are written with ' for " to keep them readable; a quote inside
 * a value is \u0027.
 */

#include <config.h>

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "followupd.h"
#include "store-backend.h"

struct ofx {
	char			 dir[64];
	char			 path[128];
	struct store		*st;
	struct fu_config	*cf;
	struct op_ctx		 ctx;
	json_t			*reply;		/* of the last request */
	int			 is_write;	/* of the last request */
};

static json_t	*run(struct ofx *, int, const char *, va_list) FU_PRINTF(3, 0);
static json_t	*op_ok(struct ofx *, int, const char *, ...) FU_PRINTF(3, 4);
static const char *op_err(struct ofx *, int, enum fu_err, const char *, ...)
		    FU_PRINTF(4, 5);
static json_t	*op_any(struct ofx *, int, const char *, ...) FU_PRINTF(3, 4);

static int
ofx_setup(void **state)
{
	struct ofx	*fx;
	char		*cause;

	fx = xcalloc(1, sizeof *fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/fu-test-ops.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof fx->path, "%s/followup.db", fx->dir);
	if ((fx->st = store_open(fx->path, &cause)) == NULL) {
		fprintf(stderr, "store_open: %s\n", cause);
		free(cause);
		rmdir(fx->dir);
		free(fx);
		return -1;
	}
	fx->cf = config_new();
	fx->ctx.st = fx->st;
	fx->ctx.cf = fx->cf;
	fx->ctx.conn = NULL;
	fx->ctx.caller = "ana";
	fx->ctx.uid = 1000;
	*state = fx;
	return 0;
}

static int
ofx_teardown(void **state)
{
	struct ofx	*fx = *state;
	DIR		*d;
	struct dirent	*e;
	char		 path[512];

	json_decref(fx->reply);
	store_close(fx->st);
	config_free(fx->cf);
	if ((d = opendir(fx->dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", fx->dir,
			    e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/*
 * Run one request (printf format, ' standing for ") and check the reply's
 * envelope: id echoed (null when the request is no object), ok, and
 * exactly one of result or error.  The reply stays in fx->reply.
 */
static json_t *
run(struct ofx *fx, int line, const char *fmt, va_list ap)
{
	char		*text, *p;
	json_t		*req, *want_id, *id, *ok, *err;
	int		 is_write = -1;

	xvasprintf(&text, fmt, ap);
	for (p = text; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	json_decref(fx->reply);
	fx->reply = ops_run_line(&fx->ctx, text, strlen(text), &is_write);
	if (fx->reply == NULL)
		_fail(__FILE__, line);
	fx->is_write = is_write;
	if (is_write != 0 && is_write != 1)
		_fail(__FILE__, line);
	if (is_write)
		assert_int_equal(store_commit(fx->st), 0);
	assert_false(store_in_txn(fx->st));

	/* The envelope. */
	req = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	want_id = json_is_object(req) ? json_object_get(req, "id") : NULL;
	id = json_object_get(fx->reply, "id");
	ok = json_object_get(fx->reply, "ok");
	if (id == NULL || !json_equal(id, want_id != NULL ? want_id :
	    json_null()) || !json_is_boolean(ok) ||
	    json_object_size(fx->reply) != 3 ||
	    (json_is_true(ok) && !json_is_object(json_object_get(fx->reply,
	    "result"))) ||
	    (json_is_false(ok) && !json_is_object(json_object_get(fx->reply,
	    "error")))) {
		p = json_dumps(fx->reply, JSON_COMPACT);
		print_error("request %s\nbad reply %s\n", text, p);
		free(p);
		json_decref(req);
		free(text);
		_fail(__FILE__, line);
	}
	if (json_is_false(ok)) {
		err = json_object_get(fx->reply, "error");
		if (json_object_size(err) != 2 ||
		    !json_is_string(json_object_get(err, "code")) ||
		    !json_is_string(json_object_get(err, "message")) ||
		    fu_err_from_name(json_string_value(json_object_get(err,
		    "code"))) == FU_ERR_NONE)
			_fail(__FILE__, line);
	}
	json_decref(req);
	free(text);
	return fx->reply;
}

/* Run a request that must succeed; return its result (borrowed). */
static json_t *
op_ok(struct ofx *fx, int line, const char *fmt, ...)
{
	va_list	 ap;
	json_t	*reply;
	char	*dump;

	va_start(ap, fmt);
	reply = run(fx, line, fmt, ap);
	va_end(ap);
	if (!json_is_true(json_object_get(reply, "ok"))) {
		dump = json_dumps(reply, JSON_COMPACT);
		print_error("want ok, got %s\n", dump);
		free(dump);
		_fail(__FILE__, line);
	}
	return json_object_get(reply, "result");
}
#define OK(fx, ...)	op_ok(fx, __LINE__, __VA_ARGS__)

/* Run a request that must fail with code; return its message (borrowed). */
static const char *
op_err(struct ofx *fx, int line, enum fu_err code, const char *fmt, ...)
{
	va_list	 ap;
	json_t	*reply, *err;
	char	*dump;

	va_start(ap, fmt);
	reply = run(fx, line, fmt, ap);
	va_end(ap);
	err = json_object_get(reply, "error");
	if (!json_is_false(json_object_get(reply, "ok")) ||
	    strcmp(json_string_value(json_object_get(err, "code")),
	    fu_err_name(code)) != 0) {
		dump = json_dumps(reply, JSON_COMPACT);
		print_error("want %s, got %s\n", fu_err_name(code), dump);
		free(dump);
		_fail(__FILE__, line);
	}
	return json_string_value(json_object_get(err, "message"));
}
#define ERR(fx, code, ...)	op_err(fx, __LINE__, code, __VA_ARGS__)

/* A string field of an object (asserting it is one). */
static const char *
str(json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", key);
	return json_string_value(v);
}

/* An integer field of an object (asserting it is one). */
static json_int_t
num(json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	if (!json_is_integer(v))
		fail_msg("\"%s\" is not an integer", key);
	return json_integer_value(v);
}

/* Add a contact named name; return its id. */
static json_int_t
add_contact(struct ofx *fx, const char *name)
{
	json_t	*r;

	r = OK(fx, "{'id':1,'op':'contact.add','args':{'name':'%s'}}", name);
	assert_int_equal(fx->is_write, 1);
	return num(json_object_get(r, "contact"), "id");
}

/* Add a follow-up on contact due at expr; return its id. */
static json_int_t
add_followup(struct ofx *fx, json_int_t contact, const char *due)
{
	json_t	*r;

	r = OK(fx, "{'id':2,'op':'followup.add','args':{'contact':%lld,"
	    "'due':'%s'}}", (long long)contact, due);
	return num(json_object_get(r, "followup"), "id");
}

/* Count the contacts the caller lists. */
static size_t
count_contacts(struct ofx *fx)
{
	return json_array_size(json_object_get(OK(fx,
	    "{'op':'contact.list'}"), "contacts"));
}

/* --- the op table --- */

static void
test_every_op_has_a_handler(void **state)
{
	const char	*name;
	int		 op;

	for (op = 0; op < FU_OP_COUNT; op++) {
		name = fu_op_name(op);
		assert_non_null(name);
		if (!ops_has_handler(op))
			fail_msg("op %s has no handler", name);
		assert_int_equal(fu_op_from_name(name), op);
	}
	assert_false(ops_has_handler(FU_OP_COUNT));
	assert_false(ops_has_handler((enum fu_op)-1));
}

/* Run a request that may succeed or fail; return the reply (borrowed). */
static json_t *
op_any(struct ofx *fx, int line, const char *fmt, ...)
{
	va_list	 ap;
	json_t	*reply;

	va_start(ap, fmt);
	reply = run(fx, line, fmt, ap);
	va_end(ap);
	return reply;
}

static void
test_runner_finds_every_op_by_name(void **state)
{
	struct ofx	*fx = *state;
	json_t		*reply, *err;
	const char	*code;
	int		 op;

	for (op = 0; op < FU_OP_COUNT; op++) {
		/* No arguments: a result or bad_request, never unknown_op. */
		reply = op_any(fx, __LINE__, "{'id':'x','op':'%s'}",
		    fu_op_name(op));
		if ((err = json_object_get(reply, "error")) == NULL)
			continue;
		code = json_string_value(json_object_get(err, "code"));
		if (strcmp(code, fu_err_name(FU_ERR_BAD_REQUEST)) != 0)
			fail_msg("op %s without arguments: %s", fu_op_name(op),
			    code);
	}
}

/* --- the envelope and the generic checks --- */

static void
test_invalid_json_is_bad_request(void **state)
{
	struct ofx	*fx = *state;

	ERR(fx, FU_ERR_BAD_REQUEST, "{");
	ERR(fx, FU_ERR_BAD_REQUEST, "not json");
	ERR(fx, FU_ERR_BAD_REQUEST, "%s", "");
	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':1,'op':'hello'} trailing");
	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':1,'op':'hello','id':2}");
	/* Not UTF-8. */
	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':1,'op':'hel\xfflo'}");
	assert_int_equal(fx->is_write, 0);
}

static void
test_nul_byte_in_line_is_bad_request(void **state)
{
	struct ofx	*fx = *state;
	static const char line[] = "{\"id\":1,\"op\":\"hello\"}\0{}";
	json_t		*reply;
	int		 is_write = -1;

	/* The runner gets the length: a NUL inside is not the end. */
	reply = ops_run_line(&fx->ctx, line, sizeof line - 1, &is_write);
	assert_true(json_is_false(json_object_get(reply, "ok")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    reply, "error"), "code")), fu_err_name(FU_ERR_BAD_REQUEST));
	assert_int_equal(is_write, 0);
	json_decref(reply);
}

static void
test_request_must_be_an_object(void **state)
{
	struct ofx	*fx = *state;
	const char	*msg;

	msg = ERR(fx, FU_ERR_BAD_REQUEST, "[{'id':1,'op':'hello'}]");
	assert_non_null(strstr(msg, "object"));
	ERR(fx, FU_ERR_BAD_REQUEST, "42");
	ERR(fx, FU_ERR_BAD_REQUEST, "'hello'");
	ERR(fx, FU_ERR_BAD_REQUEST, "null");
}

static void
test_missing_op_echoes_id(void **state)
{
	struct ofx	*fx = *state;
	const char	*msg;

	msg = ERR(fx, FU_ERR_BAD_REQUEST, "{'id':7}");
	assert_non_null(strstr(msg, "op"));
	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':'seven','args':{}}");
	ERR(fx, FU_ERR_BAD_REQUEST, "{}");
}

static void
test_op_must_be_a_string(void **state)
{
	struct ofx	*fx = *state;

	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':8,'op':5}");
	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':[1,2],'op':null}");
	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':9,'op':['hello']}");
}

static void
test_unknown_op(void **state)
{
	struct ofx	*fx = *state;
	const char	*msg;

	msg = ERR(fx, FU_ERR_UNKNOWN_OP,
	    "{'id':{'n':1},'op':'contact.delete'}");
	assert_non_null(strstr(msg, "contact.delete"));
	ERR(fx, FU_ERR_UNKNOWN_OP, "{'id':1,'op':''}");
	ERR(fx, FU_ERR_UNKNOWN_OP, "{'id':1,'op':'HELLO'}");
	ERR(fx, FU_ERR_UNKNOWN_OP, "{'id':1,'op':'hello '}");
}

/*
 * An error message that quotes broken input must itself be valid UTF-8:
 * jansson cannot build a reply from anything else, and the connection
 * then had no reply to send (found by fuzzing).
 */
static void
test_error_quoting_bytes_that_are_not_utf8_gets_a_reply(void **state)
{
	struct ofx	*fx = *state;
	const char	*msg;

	/* The parser quotes the bytes it stopped at. */
	msg = ERR(fx, FU_ERR_BAD_REQUEST, "{'id':1,'op':'followup.add',"
	    "'args':{'due':'TZ=\\\xde\xbe\x8ckyo'}}");
	assert_non_null(strstr(msg, "TZ=\\?"));
	/* An op name cut at 64 bytes inside a character. */
	msg = ERR(fx, FU_ERR_UNKNOWN_OP, "{'id':2,'op':'%s\xc3\xa9'}",
	    "123456789.123456789.123456789.123456789.123456789.123456789.123");
	assert_non_null(strstr(msg, "123?\""));
	/* Well-formed characters are kept. */
	msg = ERR(fx, FU_ERR_UNKNOWN_OP, "{'id':3,'op':'caf\xc3\xa9'}");
	assert_non_null(strstr(msg, "caf\xc3\xa9"));
}

static void
test_args_must_be_an_object(void **state)
{
	struct ofx	*fx = *state;

	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':1,'op':'hello','args':[]}");
	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':1,'op':'hello','args':'x'}");
	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':1,'op':'contact.get','args':3}");
	/* Omitted or null args are no args. */
	OK(fx, "{'id':1,'op':'hello','args':null}");
	OK(fx, "{'id':1,'op':'hello','args':{}}");
	OK(fx, "{'id':1,'op':'hello'}");
}

static void
test_unknown_argument_is_bad_request(void **state)
{
	struct ofx	*fx = *state;
	const char	*msg;

	msg = ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':2,'op':'contact.get','args':{'id':1,'bogus':1}}");
	assert_non_null(strstr(msg, "bogus"));
	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':2,'op':'hello','args':{'x':1}}");
	/* Even on a write, and then nothing is written. */
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':2,'op':'contact.add','args':{'name':'A','nmae':'B'}}");
	assert_int_equal(count_contacts(fx), 0);
}

static void
test_missing_required_argument(void **state)
{
	struct ofx	*fx = *state;
	const char	*msg;
	json_int_t	 c;

	msg = ERR(fx, FU_ERR_BAD_REQUEST, "{'id':3,'op':'contact.get'}");
	assert_non_null(strstr(msg, "\"id\""));
	ERR(fx, FU_ERR_BAD_REQUEST, "{'id':3,'op':'contact.add','args':{}}");
	c = add_contact(fx, "Needs a due");
	msg = ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':3,'op':'followup.add','args':{'contact':%lld}}",
	    (long long)c);
	assert_non_null(strstr(msg, "\"due\""));
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':3,'op':'interaction.add','args':{'contact':%lld}}",
	    (long long)c);
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':3,'op':'followup.snooze','args':{'id':1}}");
}

static void
test_wrongly_typed_argument(void **state)
{
	struct ofx	*fx = *state;
	const char	*msg;
	json_int_t	 c;

	c = add_contact(fx, "Typed");
	assert_int_equal(c, 1);
	msg = ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'contact.get','args':{'id':'1'}}");
	assert_non_null(strstr(msg, "\"id\""));
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'contact.get','args':{'id':-1}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'contact.get','args':{'id':0}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'contact.get','args':{'id':1.0}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'contact.get','args':{'id':true}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'contact.get','args':{'id':null}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'contact.add','args':{'name':5}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'contact.add','args':{'name':null}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'contact.list','args':{'limit':'5'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'contact.list','args':{'archived':'yes'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'followup.add','args':{'contact':1,"
	    "'due':'in 2 days','remind_before':true}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'followup.add','args':{'contact':1,"
	    "'due':'in 2 days','remind_before':'soon'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':4,'op':'followup.add','args':{'contact':1,"
	    "'due':'in 2 days','remind_before':-60}}");
	/* The same contact.get with a good id works. */
	OK(fx, "{'id':4,'op':'contact.get','args':{'id':1}}");
}

static void
test_unknown_top_level_key(void **state)
{
	struct ofx	*fx = *state;
	const char	*msg;

	msg = ERR(fx, FU_ERR_BAD_REQUEST, "{'id':5,'op':'hello','extra':1}");
	assert_non_null(strstr(msg, "extra"));
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'id':5,'op':'contact.add','args':{'name':'A'},'force':true}");
	assert_int_equal(count_contacts(fx), 0);
}

static void
test_values_out_of_range(void **state)
{
	struct ofx	*fx = *state;

	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'contact.list','args':{'limit':0}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.list','args':{'limit':1001}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.list','args':{'after':-1}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'followup.list','args':{'status':'open'}}");
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'agenda','args':{'range':'month'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'agenda','args':{'range':'week','day':'tomorrow'}}");
}

/* --- the ops --- */

static void
test_hello_and_status(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r, *counts;

	r = OK(fx, "{'id':null,'op':'hello'}");
	assert_int_equal(fx->is_write, 0);
	assert_string_equal(str(r, "server"), FU_SERVER_NAME);
	assert_int_equal(num(r, "protocol"), FU_PROTOCOL_VERSION);
	assert_string_equal(str(r, "user"), "ana");
	assert_int_equal(num(r, "uid"), 1000);
	assert_true(json_is_null(json_object_get(r, "tz")));

	add_followup(fx, add_contact(fx, "Counted"), "in 2 days");
	r = OK(fx, "{'id':1,'op':'status'}");
	counts = json_object_get(r, "counts");
	assert_int_equal(num(counts, "contacts"), 1);
	assert_int_equal(num(counts, "followups_pending"), 1);
	assert_int_equal(num(counts, "overdue"), 0);
	assert_true(json_is_string(json_object_get(r, "next_due")));
}

/*
 * Found by fuzzing: a simulate with nothing to list sorted an empty, NULL
 * array, which UBSan stops on.  It answers an empty list.
 */
static void
test_simulate_with_nothing_to_list(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r;

	r = OK(fx, "{'id':51,'op':'simulate','args':{'from':'now','to':"
	    "'in sec0 days','tz':'Europe/Berlin'}}");
	assert_int_equal(fx->is_write, 0);
	assert_int_equal(json_array_size(json_object_get(r, "events")), 0);
	r = OK(fx, "{'id':52,'op':'simulate'}");
	assert_int_equal(json_array_size(json_object_get(r, "events")), 0);
	assert_false(json_is_true(json_object_get(r, "truncated")));
}

static void
test_contact_followup_agenda_roundtrip(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r, *c, *f, *due, *overdue;
	json_int_t	 cid, fid, old;
	char		 soon[WHEN_RFC3339_LEN];

	r = OK(fx, "{'id':10,'op':'contact.add','args':{'name':'  Dana "
	    "Scully ','company':'FBI','email':'dana@fbi.example',"
	    "'phone':'+1 (202) 555-0100 x12','tz':'America/New_York',"
	    "'notes':'met at\\nthe fair'}}");
	assert_int_equal(fx->is_write, 1);
	c = json_object_get(r, "contact");
	cid = num(c, "id");
	assert_true(cid > 0);
	assert_string_equal(str(c, "name"), "Dana Scully");	/* trimmed */
	assert_string_equal(str(c, "owner"), "ana");
	assert_string_equal(str(c, "stage"), "lead");
	assert_string_equal(str(c, "tz"), "America/New_York");
	assert_string_equal(str(c, "notes"), "met at\nthe fair");
	assert_true(json_is_false(json_object_get(c, "archived")));

	/* A follow-up in two days, read in the contact's zone. */
	r = OK(fx, "{'id':11,'op':'followup.add','args':{'contact':%lld,"
	    "'due':'in 2 days','kind':'callback','reason':'quote',"
	    "'remind_before':'30m','tz':'contact'}}", (long long)cid);
	f = json_object_get(r, "followup");
	fid = num(f, "id");
	assert_int_equal(num(f, "contact_id"), cid);
	assert_string_equal(str(f, "contact_name"), "Dana Scully");
	assert_string_equal(str(f, "kind"), "callback");
	assert_string_equal(str(f, "status"), "pending");
	assert_string_equal(str(f, "reason"), "quote");
	assert_int_equal(num(f, "remind_before"), 1800);
	assert_int_equal(num(f, "snoozes"), 0);
	assert_true(json_is_false(json_object_get(f, "overdue")));
	assert_true(json_is_null(json_object_get(f, "done_at")));
	snprintf(soon, sizeof soon, "%s", str(f, "due_at"));

	/* One forced into the past is overdue. */
	r = OK(fx, "{'op':'followup.add','args':{'contact':%lld,"
	    "'due':'2020-01-06T10:00:00Z','force':true}}", (long long)cid);
	f = json_object_get(r, "followup");
	old = num(f, "id");
	assert_string_equal(str(f, "due_at"), "2020-01-06T10:00:00Z");
	assert_true(json_is_true(json_object_get(f, "overdue")));
	assert_string_equal(str(f, "kind"), "followup");

	r = OK(fx, "{'id':12,'op':'agenda','args':{'range':'week'}}");
	assert_int_equal(fx->is_write, 0);
	assert_string_equal(str(r, "tz"), "UTC");
	overdue = json_object_get(r, "overdue");
	assert_int_equal(json_array_size(overdue), 1);
	assert_int_equal(num(json_array_get(overdue, 0), "id"), old);
	due = json_object_get(r, "due");
	assert_int_equal(json_array_size(due), 1);
	assert_int_equal(num(json_array_get(due, 0), "id"), fid);
	assert_string_equal(str(json_array_get(due, 0), "due_at"), soon);
	assert_int_equal(json_array_size(json_object_get(r, "stale")), 0);

	/* Today alone does not reach two days ahead. */
	r = OK(fx, "{'op':'agenda','args':{'range':'today'}}");
	assert_int_equal(json_array_size(json_object_get(r, "due")), 0);
	assert_int_equal(json_array_size(json_object_get(r, "overdue")), 1);

	/* contact.get shows both, pending by due time. */
	r = OK(fx, "{'op':'contact.get','args':{'id':%lld}}", (long long)cid);
	f = json_object_get(r, "followups");
	assert_int_equal(json_array_size(f), 2);
	assert_int_equal(num(json_array_get(f, 0), "id"), old);
	assert_int_equal(num(json_array_get(f, 1), "id"), fid);

	r = OK(fx, "{'op':'followup.get','args':{'id':%lld}}", (long long)fid);
	assert_string_equal(str(json_object_get(r, "followup"), "due_at"),
	    soon);
}

static void
test_interaction_add_with_next(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r, *in, *f;
	json_int_t	 cid;

	cid = add_contact(fx, "Caller");
	r = OK(fx, "{'op':'interaction.add','args':{'contact':%lld,"
	    "'kind':'voicemail','note':'left a message','next':'in 3 days',"
	    "'next_kind':'callback','reason':'call back'}}", (long long)cid);
	in = json_object_get(r, "interaction");
	assert_string_equal(str(in, "kind"), "voicemail");
	assert_string_equal(str(in, "outcome"), "voicemail");
	f = json_object_get(r, "followup");
	assert_string_equal(str(f, "kind"), "callback");
	assert_string_equal(str(f, "reason"), "call back");

	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'interaction.add','args':"
	    "{'contact':%lld,'kind':'fax'}}", (long long)cid);
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'interaction.add','args':"
	    "{'contact':%lld,'kind':'call','outcome':'great'}}",
	    (long long)cid);
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'interaction.add','args':"
	    "{'contact':%lld,'kind':'call','at':'in 3 days'}}",
	    (long long)cid);

	r = OK(fx, "{'op':'interaction.list','args':{'contact':%lld}}",
	    (long long)cid);
	assert_int_equal(json_array_size(json_object_get(r, "interactions")),
	    1);
	r = OK(fx, "{'op':'contact.get','args':{'id':%lld}}", (long long)cid);
	assert_true(json_is_string(json_object_get(json_object_get(r,
	    "contact"), "last_activity_at")));
}

/* Replace each run of digits in msg by N. */
static void
shape(const char *msg, char *out, size_t len)
{
	size_t	n = 0;

	while (*msg != '\0' && n + 2 < len) {
		if (isdigit((unsigned char)*msg)) {
			out[n++] = 'N';
			while (isdigit((unsigned char)*msg))
				msg++;
		} else
			out[n++] = *msg++;
	}
	out[n] = '\0';
}

/*
 * Send theirs (about ana's object) and missing (about one that does not
 * exist) as bob: both must be not_found with messages that differ only in
 * the numbers.
 */
static void
same_not_found(struct ofx *fx, int line, const char *theirs,
    const char *missing)
{
	char	a[256], b[256];

	fx->ctx.caller = "bob";
	fx->ctx.uid = 1001;
	shape(op_err(fx, line, FU_ERR_NOT_FOUND, "%s", theirs), a, sizeof a);
	shape(op_err(fx, line, FU_ERR_NOT_FOUND, "%s", missing), b, sizeof b);
	fx->ctx.caller = "ana";
	fx->ctx.uid = 1000;
	if (strcmp(a, b) != 0) {
		print_error("foreign: %s\nmissing: %s\n", a, b);
		_fail(__FILE__, line);
	}
}
#define SAME_NOT_FOUND(fx, fmt, id) do {				\
	char	theirs_[512], missing_[512];				\
									\
	snprintf(theirs_, sizeof theirs_, fmt, (long long)(id));	\
	snprintf(missing_, sizeof missing_, fmt, (long long)(id) + 1000); \
	same_not_found(fx, __LINE__, theirs_, missing_);		\
} while (0)

static void
test_foreign_ids_answer_like_missing_ones(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r;
	json_int_t	 cid, fid;

	cid = add_contact(fx, "Ana\\u0027s");
	fid = add_followup(fx, cid, "in 2 days");

	SAME_NOT_FOUND(fx, "{'op':'contact.get','args':{'id':%lld}}", cid);
	SAME_NOT_FOUND(fx, "{'op':'contact.update','args':{'id':%lld,"
	    "'name':'Mine now'}}", cid);
	SAME_NOT_FOUND(fx, "{'op':'contact.archive','args':{'id':%lld}}", cid);
	SAME_NOT_FOUND(fx, "{'op':'interaction.add','args':{'contact':%lld,"
	    "'kind':'call'}}", cid);
	SAME_NOT_FOUND(fx, "{'op':'interaction.list','args':{'contact':%lld}}",
	    cid);
	SAME_NOT_FOUND(fx, "{'op':'followup.add','args':{'contact':%lld,"
	    "'due':'in 3 days'}}", cid);
	SAME_NOT_FOUND(fx, "{'op':'followup.list','args':{'contact':%lld}}",
	    cid);
	SAME_NOT_FOUND(fx, "{'op':'followup.get','args':{'id':%lld}}", fid);
	SAME_NOT_FOUND(fx, "{'op':'followup.done','args':{'id':%lld}}", fid);
	SAME_NOT_FOUND(fx, "{'op':'followup.snooze','args':{'id':%lld,"
	    "'until':'in 3 days'}}", fid);
	SAME_NOT_FOUND(fx, "{'op':'followup.reschedule','args':{'id':%lld,"
	    "'due':'in 3 days'}}", fid);
	SAME_NOT_FOUND(fx, "{'op':'followup.cancel','args':{'id':%lld}}", fid);

	/* Bob's lists are empty; ana's things are untouched. */
	fx->ctx.caller = "bob";
	assert_int_equal(count_contacts(fx), 0);
	r = OK(fx, "{'op':'followup.list'}");
	assert_int_equal(json_array_size(json_object_get(r, "followups")), 0);
	fx->ctx.caller = "ana";
	r = OK(fx, "{'op':'contact.get','args':{'id':%lld}}", (long long)cid);
	assert_string_equal(str(json_object_get(r, "contact"), "name"),
	    "Ana's");
	assert_true(json_is_false(json_object_get(json_object_get(r,
	    "contact"), "archived")));
	r = OK(fx, "{'op':'followup.get','args':{'id':%lld}}", (long long)fid);
	assert_string_equal(str(json_object_get(r, "followup"), "status"),
	    "pending");
}

/*
 * The op table's flags refuse for the handlers, in the words they used:
 * admin-only ops (also to an admin acting for a rep), a stream or a
 * deferred reply without a connection.
 */
static void
test_op_flags_refuse_before_the_handler(void **state)
{
	struct ofx	*fx = *state;
	json_int_t	 cid;

	cid = add_contact(fx, "Ana");
	fx->ctx.caller = "bob";
	assert_string_equal(ERR(fx, FU_ERR_FORBIDDEN, "{'op':'backup',"
	    "'args':{'path':'/x.db'}}"), "a backup holds the whole team's "
	    "records: only root, the daemon's user and members of the admin "
	    "group may make one (followup export writes your own)");
	assert_string_equal(ERR(fx, FU_ERR_FORBIDDEN, "{'op':"
	    "'contact.reassign','args':{'id':%lld,'to':'root'}}",
	    (long long)cid), "only root and members of the admin group may "
	    "reassign contacts");
	assert_string_equal(ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'watch'}"),
	    "watch needs a connection");
	fx->ctx.admin = 1;
	ERR(fx, FU_ERR_FORBIDDEN, "{'op':'backup','as':'root','args':"
	    "{'path':'/x.db'}}");
	/* An admin's backup answers on a connection only. */
	assert_string_equal(ERR(fx, FU_ERR_INTERNAL, "{'op':'backup',"
	    "'args':{'path':'/x.db'}}"), "a backup answers on its "
	    "connection, from the daemon's loop");
	/* Without a connection doctor answers at once. */
	assert_non_null(json_object_get(OK(fx, "{'op':'doctor'}"), "checks"));
}

/*
 * "as" and "owner": a rep may neither act for nor list another rep; an
 * admin may do both, and by id reaches any rep's records.
 */
static void
test_admins_act_for_reps_and_reps_do_not(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r;
	json_int_t	 cid;

	cid = add_contact(fx, "Ana\\u0027s");
	fx->ctx.caller = "bob";
	ERR(fx, FU_ERR_FORBIDDEN, "{'op':'agenda','as':'ana'}");
	ERR(fx, FU_ERR_FORBIDDEN, "{'op':'contact.list','args':{'owner':'*'}}");
	ERR(fx, FU_ERR_FORBIDDEN, "{'op':'contact.list','args':"
	    "{'owner':'ana'}}");
	ERR(fx, FU_ERR_FORBIDDEN, "{'op':'backup','args':{'path':'/x.db'}}");
	ERR(fx, FU_ERR_FORBIDDEN, "{'op':'contact.reassign','args':{'id':%lld,"
	    "'to':'root'}}", (long long)cid);
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'hello','as':7}");
	/* Naming oneself is no privilege. */
	r = OK(fx, "{'op':'hello','as':'bob'}");
	assert_string_equal(str(r, "user"), "bob");
	r = OK(fx, "{'op':'contact.list','args':{'owner':'bob'}}");
	assert_int_equal(json_array_size(json_object_get(r, "contacts")), 0);

	fx->ctx.admin = 1;
	r = OK(fx, "{'op':'contact.get','args':{'id':%lld}}", (long long)cid);
	assert_string_equal(str(json_object_get(r, "contact"), "owner"),
	    "ana");
	r = OK(fx, "{'op':'contact.list','args':{'owner':'*'}}");
	assert_int_equal(json_array_size(json_object_get(r, "contacts")), 1);
	r = OK(fx, "{'op':'agenda','args':{'owner':'*'}}");
	assert_non_null(json_object_get(r, "due"));
	/* "as" a real user runs as them: root owns nothing here. */
	r = OK(fx, "{'op':'hello','as':'root'}");
	assert_string_equal(str(r, "user"), "root");
	assert_string_equal(str(r, "caller"), "bob");
	ERR(fx, FU_ERR_NOT_FOUND, "{'op':'contact.get','as':'root','args':"
	    "{'id':%lld}}", (long long)cid);
	ERR(fx, FU_ERR_NOT_FOUND, "{'op':'hello','as':'no-such-user-x'}");
	/* Acting for a user gives their powers only, for that request. */
	r = OK(fx, "{'op':'hello','as':'root'}");
	assert_false(json_is_true(json_object_get(r, "admin")));
	ERR(fx, FU_ERR_FORBIDDEN, "{'op':'contact.list','as':'root','args':"
	    "{'owner':'*'}}");
	ERR(fx, FU_ERR_FORBIDDEN, "{'op':'backup','as':'root','args':"
	    "{'path':'/x.db'}}");
	ERR(fx, FU_ERR_FORBIDDEN, "{'op':'contact.reassign','as':'root',"
	    "'args':{'id':%lld,'to':'root'}}", (long long)cid);
	r = OK(fx, "{'op':'contact.list','args':{'owner':'*'}}");
	assert_int_equal(json_array_size(json_object_get(r, "contacts")), 1);
	r = OK(fx, "{'op':'contact.reassign','args':{'id':%lld,'to':'root'}}",
	    (long long)cid);
	assert_int_equal(json_integer_value(json_object_get(r,
	    "moved_followups")), 0);
	r = OK(fx, "{'op':'contact.get','as':'root','args':{'id':%lld}}",
	    (long long)cid);
	assert_string_equal(str(json_object_get(r, "contact"), "owner"),
	    "root");
	fx->ctx.admin = 0;
	fx->ctx.caller = "ana";
	ERR(fx, FU_ERR_NOT_FOUND, "{'op':'contact.get','args':{'id':%lld}}",
	    (long long)cid);
}

/* Who is an admin: root, the daemon's own user, the admin group. */
static void
test_auth_admins(void **state)
{
	struct passwd	*pw;

	assert_true(auth_is_admin(0, 0, "root", NULL));
	assert_true(auth_is_admin(geteuid(), getegid(), "me", NULL));
	if ((pw = getpwnam("daemon")) == NULL || pw->pw_uid == geteuid())
		skip();
	assert_false(auth_is_admin(pw->pw_uid, pw->pw_gid, "daemon", NULL));
	assert_false(auth_is_admin(pw->pw_uid, pw->pw_gid, "daemon", ""));
	assert_true(auth_is_admin(pw->pw_uid, pw->pw_gid, "daemon", "daemon"));
	assert_false(auth_is_admin(pw->pw_uid, pw->pw_gid, "daemon", "root"));
	assert_false(auth_is_admin(pw->pw_uid, pw->pw_gid, "daemon",
	    "no-such-group-x"));
	assert_false(auth_is_admin(123456, 123456, "#123456", "daemon"));
	assert_true(auth_user_exists("root"));
	assert_false(auth_user_exists("no-such-user-x"));
	assert_false(auth_user_exists(""));
}

static void
test_contact_fields_are_checked(void **state)
{
	struct ofx	*fx = *state;
	json_int_t	 cid;

	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'A','email':'not-an-email'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'A','email':'a b@c.example'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'A','email':'a@b@c.example'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'A','email':'@c.example'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'A','phone':'call me'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'A','phone':'+-()'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'A','stage':'bogus'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'A','tz':'Nowhere/City'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'A','tz':'../etc/passwd'}}");
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'contact.add','args':{'name':''}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'   '}}");
	assert_int_equal(fx->is_write, 1);
	assert_int_equal(count_contacts(fx), 0);

	/* The same checks on update, which then changes nothing. */
	cid = add_contact(fx, "Valid");
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'contact.update','args':"
	    "{'id':%lld,'name':'New','email':'nope'}}", (long long)cid);
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'contact.update','args':"
	    "{'id':%lld,'name':null}}", (long long)cid);
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'contact.update','args':"
	    "{'id':%lld,'stage':'bogus'}}", (long long)cid);
	assert_string_equal(str(json_object_get(OK(fx, "{'op':'contact.get',"
	    "'args':{'id':%lld}}", (long long)cid), "contact"), "name"),
	    "Valid");

	/* What is fine is fine. */
	OK(fx, "{'op':'contact.add','args':{'name':'B','email':"
	    "'b@localhost','phone':'030/1234.56','stage':'won',"
	    "'tz':'Europe/Berlin','company':null}}");
}

static void
test_name_length_limit(void **state)
{
	struct ofx	*fx = *state;
	char		 name[4 * FU_NAME_MAX];
	int		 i;

	memset(name, 'n', FU_NAME_MAX);
	name[FU_NAME_MAX] = '\0';
	OK(fx, "{'op':'contact.add','args':{'name':'%s'}}", name);
	name[FU_NAME_MAX] = 'n';
	name[FU_NAME_MAX + 1] = '\0';
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'contact.add','args':{'name':'%s'}}",
	    name);

	/* The limit is in bytes: 101 two-byte letters are too many. */
	name[0] = '\0';
	for (i = 0; i < FU_NAME_MAX / 2 + 1; i++)
		strcat(name, "\xc3\xa9");
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'contact.add','args':{'name':'%s'}}",
	    name);
	assert_int_equal(count_contacts(fx), 1);
}

static void
test_control_characters_in_name(void **state)
{
	struct ofx	*fx = *state;
	const char	*msg;
	json_t		*r;

	msg = ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'a\\u0007b'}}");
	assert_non_null(strstr(msg, "control"));
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'a\\nb'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'a\\rb'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'a\\u001bb'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'a\\u007fb'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.add','args':{'name':'a\\u0000b'}}");
	assert_int_equal(count_contacts(fx), 0);

	/* Notes may hold line breaks. */
	r = OK(fx, "{'op':'contact.add','args':{'name':'ok',"
	    "'notes':'one\\ntwo'}}");
	assert_string_equal(str(json_object_get(r, "contact"), "notes"),
	    "one\ntwo");
}

static void
test_followup_done_twice_is_conflict(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r, *f;
	json_int_t	 cid, fid;
	const char	*msg;

	cid = add_contact(fx, "Done twice");
	fid = add_followup(fx, cid, "in 2 days");
	r = OK(fx, "{'op':'followup.done','args':{'id':%lld,'note':'sent'}}",
	    (long long)fid);
	assert_int_equal(fx->is_write, 1);
	f = json_object_get(r, "followup");
	assert_string_equal(str(f, "status"), "done");
	assert_string_equal(str(f, "note"), "sent");
	assert_true(json_is_string(json_object_get(f, "done_at")));
	assert_true(json_is_null(json_object_get(r, "next")));

	msg = ERR(fx, FU_ERR_CONFLICT, "{'op':'followup.done','args':"
	    "{'id':%lld}}", (long long)fid);
	assert_non_null(strstr(msg, "done"));
	ERR(fx, FU_ERR_CONFLICT, "{'op':'followup.cancel','args':{'id':%lld}}",
	    (long long)fid);
	ERR(fx, FU_ERR_CONFLICT, "{'op':'followup.snooze','args':{'id':%lld,"
	    "'until':'in 3 days'}}", (long long)fid);
	ERR(fx, FU_ERR_CONFLICT, "{'op':'followup.reschedule','args':"
	    "{'id':%lld,'due':'in 3 days'}}", (long long)fid);
	r = OK(fx, "{'op':'followup.get','args':{'id':%lld}}", (long long)fid);
	assert_string_equal(str(json_object_get(r, "followup"), "note"),
	    "sent");
}

static void
test_followup_done_with_next(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r, *next;
	json_int_t	 cid, fid;

	cid = add_contact(fx, "Chain");
	r = OK(fx, "{'op':'followup.add','args':{'contact':%lld,"
	    "'due':'in 2 days','reason':'first'}}", (long long)cid);
	fid = num(json_object_get(r, "followup"), "id");
	r = OK(fx, "{'op':'followup.done','args':{'id':%lld,"
	    "'next':'in 5 days','next_kind':'callback'}}", (long long)fid);
	next = json_object_get(r, "next");
	assert_true(json_is_object(next));
	assert_true(num(next, "id") != fid);
	assert_string_equal(str(next, "kind"), "callback");
	assert_string_equal(str(next, "reason"), "first");	/* carried */
	assert_string_equal(str(next, "status"), "pending");
}

static void
test_failed_write_op_changes_nothing(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r;
	json_int_t	 cid, fid;

	cid = add_contact(fx, "Atomic");
	fid = add_followup(fx, cid, "in 2 days");
	/* done closes the follow-up first, then fails on "next". */
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.done','args':"
	    "{'id':%lld,'next':'someday'}}", (long long)fid);
	assert_int_equal(fx->is_write, 1);
	r = OK(fx, "{'op':'followup.get','args':{'id':%lld}}", (long long)fid);
	assert_string_equal(str(json_object_get(r, "followup"), "status"),
	    "pending");
	r = OK(fx, "{'op':'followup.list','args':{'status':'all'}}");
	assert_int_equal(json_array_size(json_object_get(r, "followups")), 1);
}

static void
test_snooze_into_the_past_is_invalid_time(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r, *f;
	json_int_t	 cid, fid;

	cid = add_contact(fx, "Sleepy");
	fid = add_followup(fx, cid, "in 2 hours");
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.snooze','args':"
	    "{'id':%lld,'until':'2020-01-01T00:00:00Z'}}", (long long)fid);
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.snooze','args':"
	    "{'id':%lld,'until':'yesterday'}}", (long long)fid);
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.snooze','args':"
	    "{'id':%lld,'until':'30 seconds ago'}}", (long long)fid);
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.snooze','args':"
	    "{'id':%lld,'until':'now'}}", (long long)fid);
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.snooze','args':"
	    "{'id':%lld,'until':'someday'}}", (long long)fid);
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.snooze','args':"
	    "{'id':%lld,'until':'in 1 day','tz':'Nowhere/City'}}",
	    (long long)fid);

	r = OK(fx, "{'op':'followup.snooze','args':{'id':%lld,"
	    "'until':'in 1 day'}}", (long long)fid);
	f = json_object_get(r, "followup");
	assert_int_equal(num(f, "snoozes"), 1);
	/* A reschedule moves it without counting a snooze. */
	r = OK(fx, "{'op':'followup.reschedule','args':{'id':%lld,"
	    "'due':'2099-01-05T10:00:00Z'}}", (long long)fid);
	f = json_object_get(r, "followup");
	assert_int_equal(num(f, "snoozes"), 1);
	assert_string_equal(str(f, "due_at"), "2099-01-05T10:00:00Z");
	assert_string_equal(str(f, "remind_at"), "2099-01-05T09:45:00Z");
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.reschedule','args':"
	    "{'id':%lld,'due':'2020-01-01T00:00:00Z'}}", (long long)fid);
}

static void
test_due_in_the_past_needs_force(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r;
	json_int_t	 cid;
	const char	*msg;

	cid = add_contact(fx, "Late");
	msg = ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.add','args':"
	    "{'contact':%lld,'due':'2020-01-01 10:00'}}", (long long)cid);
	assert_non_null(strstr(msg, "past"));
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.add','args':"
	    "{'contact':%lld,'due':'2 days ago'}}", (long long)cid);
	ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.add','args':"
	    "{'contact':%lld,'due':'2020-01-01 10:00','force':false}}",
	    (long long)cid);
	r = OK(fx, "{'op':'followup.list','args':{'status':'all'}}");
	assert_int_equal(json_array_size(json_object_get(r, "followups")), 0);

	r = OK(fx, "{'op':'followup.add','args':{'contact':%lld,"
	    "'due':'2020-01-01 10:00','force':true}}", (long long)cid);
	assert_string_equal(str(json_object_get(r, "followup"), "due_at"),
	    "2020-01-01T10:00:00Z");
	assert_true(json_is_true(json_object_get(json_object_get(r,
	    "followup"), "overdue")));
}

static void
test_unreadable_times_quote_the_input(void **state)
{
	struct ofx	*fx = *state;
	json_int_t	 cid;
	const char	*msg;

	cid = add_contact(fx, "Whenever");
	msg = ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.add','args':"
	    "{'contact':%lld,'due':'2026-02-30'}}", (long long)cid);
	assert_non_null(strstr(msg, "\"2026-02-30\""));
	msg = ERR(fx, FU_ERR_INVALID_TIME, "{'op':'followup.add','args':"
	    "{'contact':%lld,'due':'in 2 days','tz':'Mars/Olympus'}}",
	    (long long)cid);
	assert_non_null(strstr(msg, "Mars/Olympus"));
}

static void
test_zone_of_user_and_contact(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r;
	json_int_t	 plain, ny;

	ERR(fx, FU_ERR_INVALID_TIME,
	    "{'op':'user.set','args':{'tz':'Nowhere/City'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'user.set','args':{'digest':'25:00'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'user.set','args':{'hours':'17:00-09:00'}}");
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'user.set','args':{'workdays':'funday'}}");
	r = OK(fx, "{'op':'user.get'}");
	assert_true(json_is_null(json_object_get(json_object_get(r, "user"),
	    "tz")));

	r = OK(fx, "{'op':'user.set','args':{'tz':'Europe/Berlin',"
	    "'workdays':'mon-fri','email':'ana@example.com'}}");
	assert_int_equal(fx->is_write, 1);
	r = OK(fx, "{'op':'user.get'}");
	assert_string_equal(str(json_object_get(r, "user"), "tz"),
	    "Europe/Berlin");
	assert_int_equal(num(json_object_get(r, "user"), "uid"), 1000);

	/* Times are read in the caller's zone, or the contact's. */
	plain = add_contact(fx, "Plain");
	r = OK(fx, "{'op':'contact.add','args':{'name':'NY',"
	    "'tz':'America/New_York'}}");
	ny = num(json_object_get(r, "contact"), "id");
	r = OK(fx, "{'op':'followup.add','args':{'contact':%lld,"
	    "'due':'2099-01-05 10:00'}}", (long long)plain);
	assert_string_equal(str(json_object_get(r, "followup"), "due_at"),
	    "2099-01-05T09:00:00Z");
	r = OK(fx, "{'op':'followup.add','args':{'contact':%lld,"
	    "'due':'2099-01-05 10:00','tz':'contact'}}", (long long)ny);
	assert_string_equal(str(json_object_get(r, "followup"), "due_at"),
	    "2099-01-05T15:00:00Z");
	/* A contact without a zone falls back to the caller's. */
	r = OK(fx, "{'op':'followup.add','args':{'contact':%lld,"
	    "'due':'2099-01-05 10:00','tz':'contact'}}", (long long)plain);
	assert_string_equal(str(json_object_get(r, "followup"), "due_at"),
	    "2099-01-05T09:00:00Z");
	r = OK(fx, "{'op':'hello'}");
	assert_string_equal(str(r, "tz"), "Europe/Berlin");
}

static void
test_nonexistent_local_time_adds_a_note(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r, *notes;
	json_int_t	 cid;

	cid = add_contact(fx, "Gap");
	r = OK(fx, "{'op':'followup.add','args':{'contact':%lld,"
	    "'due':'2026-03-29 02:30','tz':'Europe/Berlin','force':true}}",
	    (long long)cid);
	assert_string_equal(str(json_object_get(r, "followup"), "due_at"),
	    "2026-03-29T01:00:00Z");
	notes = json_object_get(r, "notes");
	assert_int_equal(json_array_size(notes), 1);
	assert_non_null(strstr(json_string_value(json_array_get(notes, 0)),
	    "03:00"));

	/* A plain time carries no notes. */
	r = OK(fx, "{'op':'followup.add','args':{'contact':%lld,"
	    "'due':'in 2 days'}}", (long long)cid);
	assert_null(json_object_get(r, "notes"));
}

static void
test_archive_cancels_and_blocks_changes(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r;
	json_int_t	 cid, fid;

	cid = add_contact(fx, "Archived");
	fid = add_followup(fx, cid, "in 2 days");
	add_followup(fx, cid, "in 3 days");
	r = OK(fx, "{'op':'contact.archive','args':{'id':%lld}}",
	    (long long)cid);
	assert_int_equal(num(r, "cancelled"), 2);
	assert_true(json_is_true(json_object_get(json_object_get(r, "contact"),
	    "archived")));
	r = OK(fx, "{'op':'followup.get','args':{'id':%lld}}", (long long)fid);
	assert_string_equal(str(json_object_get(r, "followup"), "status"),
	    "cancelled");

	ERR(fx, FU_ERR_CONFLICT, "{'op':'contact.archive','args':{'id':%lld}}",
	    (long long)cid);
	ERR(fx, FU_ERR_CONFLICT, "{'op':'contact.update','args':{'id':%lld,"
	    "'name':'X'}}", (long long)cid);
	ERR(fx, FU_ERR_CONFLICT, "{'op':'followup.add','args':{'contact':%lld,"
	    "'due':'in 2 days'}}", (long long)cid);
	ERR(fx, FU_ERR_CONFLICT, "{'op':'interaction.add','args':"
	    "{'contact':%lld,'kind':'call'}}", (long long)cid);
	assert_int_equal(count_contacts(fx), 0);
	r = OK(fx, "{'op':'contact.list','args':{'archived':true}}");
	assert_int_equal(json_array_size(json_object_get(r, "contacts")), 1);

	r = OK(fx, "{'op':'contact.archive','args':{'id':%lld,'restore':true}}",
	    (long long)cid);
	assert_int_equal(num(r, "cancelled"), 0);
	ERR(fx, FU_ERR_CONFLICT, "{'op':'contact.archive','args':{'id':%lld,"
	    "'restore':true}}", (long long)cid);
	assert_int_equal(count_contacts(fx), 1);
}

static void
test_contact_list_pages_and_searches(void **state)
{
	struct ofx	*fx = *state;
	json_t		*r, *list;
	json_int_t	 a, b, c;

	a = add_contact(fx, "100% Juice");
	b = add_contact(fx, "1000 Juices");
	c = add_contact(fx, "Juice_Bar");

	r = OK(fx, "{'op':'contact.list','args':{'limit':2}}");
	list = json_object_get(r, "contacts");
	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(num(json_array_get(list, 0), "id"), a);
	assert_int_equal(num(r, "next_after"), b);
	r = OK(fx, "{'op':'contact.list','args':{'limit':2,'after':%lld}}",
	    (long long)b);
	list = json_object_get(r, "contacts");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(num(json_array_get(list, 0), "id"), c);
	assert_true(json_is_null(json_object_get(r, "next_after")));

	r = OK(fx, "{'op':'contact.list','args':{'search':'0%%'}}");
	list = json_object_get(r, "contacts");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(num(json_array_get(list, 0), "id"), a);
	r = OK(fx, "{'op':'contact.list','args':{'search':'e_b'}}");
	list = json_object_get(r, "contacts");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(num(json_array_get(list, 0), "id"), c);
	r = OK(fx, "{'op':'contact.list','args':{'search':'JUICE'}}");
	assert_int_equal(json_array_size(json_object_get(r, "contacts")), 3);
	ERR(fx, FU_ERR_BAD_REQUEST,
	    "{'op':'contact.list','args':{'stage':'bogus'}}");
}

/*
 * doctor on a database its backend cannot check (a server's: its own
 * tools check it): the database line says it answers and where its check
 * lies, as no warning (nothing is wrong), and the other checks still run.  The store's backend is
 * swapped for a copy of its table with no maintenance entries.
 */
static void
test_doctor_skips_a_check_the_backend_cannot_make(void **state)
{
	struct ofx			*fx = *state;
	struct store_base		*base = (void *)fx->st;
	const struct store_backend	*was = base->backend;
	static const struct store_maint_backend none;
	struct store_backend		 copy = *was;
	json_t				*r, *first;

	r = OK(fx, "{'id':1,'op':'doctor'}");
	first = json_array_get(json_object_get(r, "checks"), 0);
	assert_string_equal(str(first, "name"), "database");
	assert_string_equal(str(first, "status"), "ok");
	assert_non_null(strstr(str(first, "detail"), "SQLite's quick check"));

	copy.maint = &none;
	base->backend = &copy;
	r = OK(fx, "{'id':2,'op':'doctor'}");
	base->backend = was;
	first = json_array_get(json_object_get(r, "checks"), 0);
	assert_string_equal(str(first, "name"), "database");
	assert_string_equal(str(first, "status"), "ok");
	assert_non_null(strstr(str(first, "detail"), "server's tools"));
	assert_true(json_array_size(json_object_get(r, "checks")) > 1);
}

/*
 * Run line (real JSON) through ops_run_text: it must come back as text
 * (an OP_TEXT op's reply; a write's committed first), one line, byte for
 * byte what Jansson writes of the value it holds, and the request's id
 * kept for the error a lost commit would turn it into.  Return that
 * value (caller decrefs).
 */
static json_t *
text_reply(struct ofx *fx, const char *line, int want_write)
{
	struct evbuffer	*text;
	json_t		*req, *reply, *back;
	char		*want;
	size_t		 len;
	int		 is_write;

	reply = ops_run_text(&fx->ctx, line, strlen(line), &is_write, &text);
	assert_int_equal(is_write, want_write);
	if (is_write)
		assert_int_equal(store_commit(fx->st), 0);
	assert_null(reply);
	assert_non_null(text);
	len = evbuffer_get_length(text);
	back = json_loadb((const char *)evbuffer_pullup(text, -1), len, 0,
	    NULL);
	assert_non_null(back);
	req = json_loads(line, 0, NULL);
	assert_non_null(req);
	assert_true(json_equal(fx->ctx.text_id, json_object_get(req, "id")));
	json_decref(req);
	json_decref(fx->ctx.text_id);
	fx->ctx.text_id = NULL;
	want = json_dumps(back, JSON_COMPACT);
	if (strlen(want) != len || memcmp(want, evbuffer_pullup(text, -1),
	    len) != 0)
		fail_msg("want %s\n got %.*s", want, (int)len,
		    (char *)evbuffer_pullup(text, -1));
	assert_null(memchr(want, '\n', len));
	free(want);
	evbuffer_free(text);
	assert_true(json_is_true(json_object_get(back, "ok")));
	return back;
}

/* Are the keys of obj, in order, those of the NUL-separated list keys? */
static void
assert_keys(json_t *obj, const char *keys)
{
	const char	*key;
	json_t		*v;

	json_object_foreach(obj, key, v) {
		assert_string_equal(key, keys);
		keys += strlen(keys) + 1;
	}
	assert_string_equal(keys, "");
}

/*
 * contact.get writes its reply as text (OP_TEXT): whatever the request's
 * id, the text is the compact JSON Jansson would write of that reply, key
 * for key in the same order, and it is one line.
 */
static void
test_contact_get_text_is_what_jansson_writes(void **state)
{
	static const char	*const ids[] = { "1", "'a\\u0027\\\\b'",
				    "null", "1.5", "{'x':[true]}", "-7" };
	struct ofx		*fx = *state;
	json_t			*back, *result;
	json_int_t		 cid;
	char			*line, *p;
	size_t			 i;

	cid = add_contact(fx, "Zo\u00eb \u00c5ngstr\u00f6m \u6771");
	OK(fx, "{'op':'contact.update','args':{'id':%lld,'company':'A \\'B\\'',"
	    "'notes':'line one\\nline\\ttwo \u2603'}}", (long long)cid);
	OK(fx, "{'op':'interaction.add','args':{'contact':%lld,'kind':'call',"
	    "'outcome':'reached','note':'said \\'call back\\''}}",
	    (long long)cid);
	OK(fx, "{'op':'interaction.add','args':{'contact':%lld,'kind':'email'}}",
	    (long long)cid);
	add_followup(fx, cid, "in 2 days");
	OK(fx, "{'op':'followup.add','args':{'contact':%lld,'due':'in 3 days',"
	    "'kind':'callback','reason':'price'}}", (long long)cid);
	OK(fx, "{'op':'followup.done','args':{'id':%lld}}",
	    (long long)add_followup(fx, cid, "in 4 days"));
	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		xasprintf(&line, "{'id':%s,'op':'contact.get','args':"
		    "{'id':%lld}}", ids[i], (long long)cid);
		for (p = line; *p != '\0'; p++) {
			if (*p == '\'')
				*p = '"';
		}
		back = text_reply(fx, line, 0);
		result = json_object_get(back, "result");
		assert_keys(result, "contact\0interactions\0followups\0"
		    "promises\0");
		assert_int_equal(json_array_size(json_object_get(result,
		    "interactions")), 2);
		assert_int_equal(json_array_size(json_object_get(result,
		    "followups")), 3);
		assert_int_equal(json_array_size(json_object_get(result,
		    "promises")), 1);
		json_decref(back);
		free(line);
	}
	/* Errors stay Jansson's replies. */
	ERR(fx, FU_ERR_NOT_FOUND, "{'op':'contact.get','args':{'id':%lld}}",
	    (long long)cid + 100);
}

/*
 * followup.add writes its reply as text (the hottest write): the text is
 * what Jansson would write of it, its follow-up is followup.get's, and
 * the request's id comes back for the error a lost commit turns it into.
 */
static void
test_followup_add_text_is_what_jansson_writes(void **state)
{
	struct ofx		*fx = *state;
	json_t			*back, *got, *f;
	json_int_t		 cid;
	char			*line;

	cid = add_contact(fx, "Text Reply \u00e9");
	xasprintf(&line, "{\"id\":\"w\\u0027\",\"op\":\"followup.add\","
	    "\"args\":{\"contact\":%lld,\"due\":\"in 2 days\",\"reason\":"
	    "\"tab\\there\",\"kind\":\"callback\"}}", (long long)cid);
	back = text_reply(fx, line, 1);
	f = json_object_get(json_object_get(back, "result"), "followup");
	got = OK(fx, "{'op':'followup.get','args':{'id':%lld}}",
	    (long long)num(f, "id"));
	assert_true(json_equal(json_object_get(got, "followup"), f));
	assert_string_equal(json_string_value(json_object_get(f, "reason")),
	    "tab\there");
	json_decref(back);
	free(line);
}

/*
 * contact.list writes its page as text (OP_TEXT): the text is what
 * Jansson would write of it, each contact is contact_json's of the
 * stored one, and next_after says where the next page starts, or is
 * null on the last.
 */
static void
test_contact_list_text_is_what_jansson_writes(void **state)
{
	static const char	*const names[] = { "Zo\u00eb \u6771",
				    "A \\'B\\' & <c>", "Plain" };
	struct ofx		*fx = *state;
	struct fu_contact	 c;
	json_t			*back, *result, *list, *v, *want;
	json_int_t		 ids[3], after = 0;
	char			*line;
	size_t			 i, j, seen = 0;

	for (i = 0; i < 3; i++)
		ids[i] = add_contact(fx, names[i]);
	OK(fx, "{'op':'contact.update','args':{'id':%lld,'company':'A \\'B\\'',"
	    "'notes':'line one\\nline\\ttwo \u2603'}}", (long long)ids[1]);
	for (;;) {
		xasprintf(&line, "{\"id\":\"l\\u0027\",\"op\":\"contact.list\","
		    "\"args\":{\"limit\":2,\"after\":%lld}}", (long long)after);
		back = text_reply(fx, line, 0);
		free(line);
		result = json_object_get(back, "result");
		assert_keys(result, "contacts\0next_after\0");
		list = json_object_get(result, "contacts");
		json_array_foreach(list, j, v) {
			assert_int_equal(num(v, "id"), ids[seen]);
			memset(&c, 0, sizeof c);
			assert_int_equal(store_contact_get(fx->st, NULL,
			    ids[seen], &c), STORE_OK);
			want = contact_json(&c);
			assert_true(json_equal(want, v));
			json_decref(want);
			fu_contact_clear(&c);
			seen++;
		}
		v = json_object_get(result, "next_after");
		if (json_is_null(v)) {
			assert_int_equal(json_array_size(list), 1);
			json_decref(back);
			break;
		}
		assert_int_equal(json_array_size(list), 2);
		after = json_integer_value(v);
		assert_int_equal(after, ids[seen - 1]);
		json_decref(back);
	}
	assert_int_equal(seen, 3);
	/* Errors stay Jansson's replies. */
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'contact.list','args':"
	    "{'limit':0}}");
}

/*
 * followup.list, agenda and interaction.list write their pages as text
 * too: what Jansson would write, keys in their order, each follow-up the
 * one followup.get gives (a Jansson reply), and next_after a cursor that
 * leads to the next page, null on the last.
 */
static void
test_list_pages_as_text_are_what_jansson_writes(void **state)
{
	struct ofx		*fx = *state;
	json_t			*back, *result, *list, *v, *got, *hist;
	json_int_t		 cid, fids[3];
	char			*line, *after = NULL;
	size_t			 i, j, seen;

	cid = add_contact(fx, "List \u00e9 Text");
	fids[0] = add_followup(fx, cid, "in 1 hour");
	fids[1] = add_followup(fx, cid, "in 2 hours");
	fids[2] = num(json_object_get(OK(fx, "{'op':'followup.add','args':"
	    "{'contact':%lld,'due':'in 3 hours','kind':'callback','reason':"
	    "'say \\'hi\\'\\tnow'}}", (long long)cid), "followup"), "id");

	/* followup.list, two a page. */
	for (seen = 0;;) {
		xasprintf(&line, "{\"id\":7,\"op\":\"followup.list\",\"args\":"
		    "{\"limit\":2%s%s%s}}", after ? ",\"after\":\"" : "",
		    after ? after : "", after ? "\"" : "");
		back = text_reply(fx, line, 0);
		free(line);
		result = json_object_get(back, "result");
		assert_keys(result, "followups\0next_after\0");
		list = json_object_get(result, "followups");
		json_array_foreach(list, j, v) {
			assert_int_equal(num(v, "id"), fids[seen]);
			got = OK(fx, "{'op':'followup.get','args':{'id':%lld}}",
			    (long long)fids[seen]);
			assert_true(json_equal(json_object_get(got, "followup"),
			    v));
			seen++;
		}
		v = json_object_get(result, "next_after");
		free(after);
		after = NULL;
		if (json_is_null(v)) {
			json_decref(back);
			break;
		}
		assert_true(json_is_string(v));
		after = xstrdup(json_string_value(v));
		json_decref(back);
	}
	assert_int_equal(seen, 3);

	/* agenda: the week's three due ones, two then one. */
	back = text_reply(fx, "{\"id\":7,\"op\":\"agenda\",\"args\":"
	    "{\"range\":\"week\",\"limit\":2}}", 0);
	result = json_object_get(back, "result");
	assert_keys(result, "from\0to\0tz\0overdue\0due\0stale\0next_after\0");
	assert_int_equal(json_array_size(json_object_get(result, "overdue")),
	    0);
	list = json_object_get(result, "due");
	assert_int_equal(json_array_size(list), 2);
	json_array_foreach(list, j, v) {
		got = OK(fx, "{'op':'followup.get','args':{'id':%lld}}",
		    (long long)fids[j]);
		assert_true(json_equal(json_object_get(got, "followup"), v));
	}
	assert_true(json_is_array(json_object_get(result, "stale")));
	xasprintf(&line, "{\"id\":7,\"op\":\"agenda\",\"args\":{\"range\":"
	    "\"week\",\"limit\":2,\"after\":\"%s\"}}",
	    json_string_value(json_object_get(result, "next_after")));
	json_decref(back);
	back = text_reply(fx, line, 0);
	free(line);
	result = json_object_get(back, "result");
	list = json_object_get(result, "due");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(num(json_array_get(list, 0), "id"), fids[2]);
	assert_true(json_is_null(json_object_get(result, "next_after")));
	json_decref(back);

	/* interaction.list, one a page, newest first as contact.get has them. */
	OK(fx, "{'op':'interaction.add','args':{'contact':%lld,'kind':'call',"
	    "'outcome':'reached','note':'one \\\"two\\\"'}}", (long long)cid);
	OK(fx, "{'op':'interaction.add','args':{'contact':%lld,'kind':'email'}}",
	    (long long)cid);
	got = OK(fx, "{'op':'contact.get','args':{'id':%lld}}", (long long)cid);
	hist = json_deep_copy(json_object_get(got, "interactions"));
	assert_int_equal(json_array_size(hist), 2);
	for (i = 0; i < 2; i++) {
		xasprintf(&line, "{\"id\":7,\"op\":\"interaction.list\","
		    "\"args\":{\"contact\":%lld,\"limit\":1%s%s%s}}",
		    (long long)cid, after ? ",\"after\":\"" : "",
		    after ? after : "", after ? "\"" : "");
		back = text_reply(fx, line, 0);
		free(line);
		result = json_object_get(back, "result");
		assert_keys(result, "interactions\0next_after\0");
		list = json_object_get(result, "interactions");
		assert_int_equal(json_array_size(list), 1);
		assert_true(json_equal(json_array_get(list, 0),
		    json_array_get(hist, i)));
		v = json_object_get(result, "next_after");
		free(after);
		after = NULL;
		if (i == 0)
			after = xstrdup(json_string_value(v));
		else
			assert_true(json_is_null(v));
		json_decref(back);
	}
	json_decref(hist);
	/* Errors stay Jansson's replies. */
	ERR(fx, FU_ERR_BAD_REQUEST, "{'op':'followup.list','args':"
	    "{'after':'x'}}");
	ERR(fx, FU_ERR_NOT_FOUND, "{'op':'interaction.list','args':"
	    "{'contact':%lld}}", (long long)cid + 100);
}

int
main(void)
{
#define T(t)	cmocka_unit_test_setup_teardown(t, ofx_setup, ofx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_every_op_has_a_handler),
		T(test_runner_finds_every_op_by_name),
		T(test_invalid_json_is_bad_request),
		T(test_nul_byte_in_line_is_bad_request),
		T(test_request_must_be_an_object),
		T(test_missing_op_echoes_id),
		T(test_op_must_be_a_string),
		T(test_unknown_op),
		T(test_error_quoting_bytes_that_are_not_utf8_gets_a_reply),
		T(test_args_must_be_an_object),
		T(test_unknown_argument_is_bad_request),
		T(test_missing_required_argument),
		T(test_wrongly_typed_argument),
		T(test_unknown_top_level_key),
		T(test_values_out_of_range),
		T(test_hello_and_status),
		T(test_simulate_with_nothing_to_list),
		T(test_contact_followup_agenda_roundtrip),
		T(test_interaction_add_with_next),
		T(test_foreign_ids_answer_like_missing_ones),
		T(test_admins_act_for_reps_and_reps_do_not),
		T(test_op_flags_refuse_before_the_handler),
		cmocka_unit_test(test_auth_admins),
		T(test_contact_fields_are_checked),
		T(test_name_length_limit),
		T(test_control_characters_in_name),
		T(test_followup_done_twice_is_conflict),
		T(test_followup_done_with_next),
		T(test_failed_write_op_changes_nothing),
		T(test_snooze_into_the_past_is_invalid_time),
		T(test_due_in_the_past_needs_force),
		T(test_unreadable_times_quote_the_input),
		T(test_zone_of_user_and_contact),
		T(test_nonexistent_local_time_adds_a_note),
		T(test_archive_cancels_and_blocks_changes),
		T(test_contact_list_pages_and_searches),
		T(test_contact_get_text_is_what_jansson_writes),
		T(test_followup_add_text_is_what_jansson_writes),
		T(test_contact_list_text_is_what_jansson_writes),
		T(test_list_pages_as_text_are_what_jansson_writes),
		T(test_doctor_skips_a_check_the_backend_cannot_make),
	};
#undef T

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests_name("ops", tests, NULL, NULL);
}
