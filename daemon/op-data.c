/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * export: a rep's records (or, for an admin, a rep's or the team's) as
 * one document, an iCalendar of pending and recently closed follow-ups, a
 * CSV table or JSON, sent in pieces as the caller reads them.  Each piece
 * is one page of records read by id: an export of any size holds the
 * loop for one page at a time and the daemon's memory for one piece.
 * Pages by id rather than one read transaction held open for as long as
 * the reader takes: records are never deleted and ids only grow, so every
 * record there when the export began is in it once (in the state its page
 * saw), and a long export never holds the database's checkpoints back.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "followupd.h"

#define DATA_WORD(e, s)	s,
static const char *const data_formats[] = {
	FU_EXPORT_FORMATS(DATA_WORD) NULL
};
static const char *const data_tables[] = {
	FU_EXPORT_TABLES(DATA_WORD) NULL
};
#undef DATA_WORD

/*
 * How long a closed follow-up stays in the calendar, as a cancelled
 * event, so a calendar that imports the next export drops it.
 */
#define DATA_ICS_CLOSED_DAYS	30

/*
 * A piece of an export is about this large (it ends after the record
 * that passes it) and holds at most this many records: bounded work for
 * one loop pass, and bounded memory while the reader catches up.
 */
#define DATA_CHUNK_BYTES	(32 * 1024)
#define DATA_CHUNK_ROWS		128

/* Where an export stands: the tables in the order the document has them. */
enum data_phase {
	DATA_HEAD,
	DATA_CONTACTS,
	DATA_INTERACTIONS,
	DATA_FOLLOWUPS,
	DATA_TAIL,
	DATA_DONE
};

/*
 * An export under way.  It walks the tables by id, a page at a time, and
 * keeps nothing of the records it has sent.
 */
struct data_export {
	struct store	*st;
	json_t		*id;		/* the request's */
	char		*owner;		/* NULL: the team's */
	char		*format;
	char		*what;		/* the CSV table */
	char		*name;		/* the calendar's */
	char		*dbid;
	int		 ics, csv, bom;
	time_t		 now;
	time_t		 closed_since;	/* ics: closed ones since; else 0 */
	enum data_phase	 phase;
	int64_t		 after;		/* the last id sent of this table */
	json_int_t	 counts[3];	/* contacts, interactions, follow-ups */
	json_int_t	 bytes;
	FILE		*out;		/* the piece being written */
	int		 rows;		/* ... its records */
	json_t		*contact;	/* the last contact looked up */
};

/* Does this export hold table phase? */
static int
data_has(struct data_export *x, enum data_phase phase)
{
	static const char *const names[] = {
		[DATA_CONTACTS] = "contacts",
		[DATA_INTERACTIONS] = "interactions",
		[DATA_FOLLOWUPS] = "followups"
	};

	if (x->ics)
		return phase == DATA_FOLLOWUPS;
	if (x->csv)
		return strcmp(x->what, names[phase]) == 0;
	return 1;
}

/* The piece is full: stop the page here, the rest comes next time. */
static int
data_full(struct data_export *x)
{
	return x->rows >= DATA_CHUNK_ROWS || ftell(x->out) >= DATA_CHUNK_BYTES;
}

/*
 * Write obj as one element of a JSON document's array: indented as
 * json_dumps would indent it there, two levels deep.
 */
static void
data_json_element(struct data_export *x, json_t *obj, json_int_t n)
{
	char	*text, *p, *nl;

	text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		fatalx("export: cannot serialise");
	fputs(n == 0 ? "\n    " : ",\n    ", x->out);
	/*
	 * A JSON text has no raw newline but the ones indenting it: each
	 * line goes out in one write, indented two levels more.  A
	 * character at a time, each taking the stream's lock, was nearly
	 * half of the export's time.
	 */
	for (p = text; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		fwrite(p, 1, (size_t)(nl - p) + 1, x->out);
		fputs("    ", x->out);
	}
	fputs(p, x->out);
	free(text);
}

/*
 * The contact with id if it is the export's owner's (any, for the team's),
 * or NULL: a closed follow-up stays with its rep when its contact moves to
 * another, whose details are not the first rep's to see.  Borrowed.
 */
static json_t *
data_contact(struct data_export *x, int64_t id)
{
	struct fu_contact	c;

	if (x->contact != NULL &&
	    json_integer_value(json_object_get(x->contact, "id")) == id)
		return x->contact;
	json_decref(x->contact);
	x->contact = NULL;
	memset(&c, 0, sizeof c);
	if (store_contact_get(x->st, x->owner, id, &c) == STORE_OK)
		x->contact = contact_json(&c);
	fu_contact_clear(&c);
	return x->contact;
}

static int
data_contact_cb(const struct fu_contact *c, void *arg)
{
	struct data_export	*x = arg;
	json_t			*obj = contact_json(c);

	if (x->csv)
		export_csv_row(x->out, x->what, obj, NULL);
	else
		data_json_element(x, obj, x->counts[0]);
	json_decref(obj);
	x->counts[0]++;
	x->after = c->id;
	x->rows++;
	return data_full(x);
}

static int
data_interaction_cb(const struct fu_interaction *in, void *arg)
{
	struct data_export	*x = arg;
	json_t			*obj = interaction_json(in);

	if (x->csv)
		export_csv_row(x->out, x->what, obj,
		    data_contact(x, in->contact_id));
	else
		data_json_element(x, obj, x->counts[1]);
	json_decref(obj);
	x->counts[1]++;
	x->after = in->id;
	x->rows++;
	return data_full(x);
}

static int
data_followup_cb(const struct fu_followup *f, void *arg)
{
	struct data_export	*x = arg;
	json_t			*obj = followup_json(f, x->now);

	if (x->ics)
		export_ics_event(x->out, obj, data_contact(x, f->contact_id),
		    x->dbid, x->owner == NULL, x->now);
	else if (x->csv)
		export_csv_row(x->out, x->what, obj,
		    data_contact(x, f->contact_id));
	else
		data_json_element(x, obj, x->counts[2]);
	json_decref(obj);
	x->counts[2]++;
	x->after = f->id;
	x->rows++;
	return data_full(x);
}

/* Write the next page of the table x is at; move on after its last. */
static enum store_result
data_page(struct data_export *x)
{
	enum store_result	r;
	int			before = x->rows, limit = DATA_CHUNK_ROWS;

	switch (x->phase) {
	case DATA_CONTACTS:
		r = store_contact_dump(x->st, x->owner, x->after, limit,
		    data_contact_cb, x);
		break;
	case DATA_INTERACTIONS:
		r = store_interaction_dump(x->st, x->owner, x->after, limit,
		    data_interaction_cb, x);
		break;
	default:
		r = store_followup_dump(x->st, x->owner, x->closed_since,
		    x->after, limit, data_followup_cb, x);
		break;
	}
	if (r != STORE_OK)
		return r;
	if (x->rows - before < limit && !data_full(x)) {
		/* A short page: the table is done. */
		if (!x->csv && !x->ics)
			fputs(x->counts[x->phase - DATA_CONTACTS] == 0 ? "]" :
			    "\n  ]", x->out);
		x->phase++;
		x->after = 0;
	}
	return STORE_OK;
}

/* Write the head of the document, or of table phase in a JSON one. */
static void
data_head(struct data_export *x, enum data_phase phase)
{
	static const char *const json_heads[] = {
		[DATA_CONTACTS] = "{\n  \"contacts\": [",
		[DATA_INTERACTIONS] = ",\n  \"interactions\": [",
		[DATA_FOLLOWUPS] = ",\n  \"followups\": ["
	};

	if (phase == DATA_HEAD) {
		if (x->ics)
			export_ics_begin(x->out, x->name);
		else if (x->csv)
			export_csv_begin(x->out, x->what, x->bom);
		return;
	}
	if (!x->ics && !x->csv)
		fputs(json_heads[phase], x->out);
}

/* Write the tail of the document. */
static void
data_tail(struct data_export *x)
{
	json_t	*at;
	char	*text;

	if (x->ics)
		export_ics_end(x->out);
	else if (!x->csv) {
		at = when_json(x->now);
		text = json_dumps(at, JSON_ENCODE_ANY);
		fprintf(x->out, ",\n  \"exported_at\": %s\n}\n", text);
		free(text);
		json_decref(at);
	}
}

/* The last reply of an export: what it held. */
static json_t *
data_result(struct data_export *x)
{
	static const char *const keys[] = {
		"contacts", "interactions", "followups"
	};
	json_t	*counts = json_object();
	int	 i;

	for (i = 0; i < 3; i++)
		if (data_has(x, DATA_CONTACTS + i))
			json_object_set_new(counts, keys[i],
			    json_integer(x->counts[i]));
	return ops_ok_reply(x->id, json_pack("{s:s s:s? s:o s:I}", "format",
	    x->format, "what", x->csv ? x->what : NULL, "counts", counts,
	    "bytes", x->bytes));
}

/*
 * The next piece of export x for its connection (ops_pieces): a chunk
 * line, or the last reply (then return 1).  A piece is a page of records
 * or less, whatever the export's size.
 */
static int
data_export_next(void *arg, json_t **reply)
{
	struct data_export	*x = arg;
	enum store_result	 r = STORE_OK;
	char			*buf = NULL;
	size_t			 len = 0;
	json_t			*text;

	if (x->phase == DATA_DONE) {
		*reply = data_result(x);
		return 1;
	}
	if ((x->out = open_memstream(&buf, &len)) == NULL)
		fatal("export: open_memstream");
	x->rows = 0;
	while (x->phase != DATA_DONE && r == STORE_OK && !data_full(x)) {
		if (x->phase == DATA_HEAD || x->phase == DATA_TAIL) {
			if (x->phase == DATA_HEAD)
				data_head(x, DATA_HEAD);
			else
				data_tail(x);
			x->phase++;
			continue;
		}
		if (!data_has(x, x->phase)) {
			x->phase++;
			continue;
		}
		if (x->after == 0)
			data_head(x, x->phase);
		r = data_page(x);
	}
	if (fclose(x->out) != 0)
		fatal("export: fclose");
	x->out = NULL;
	if (r != STORE_OK) {
		free(buf);
		log_warnx("export: the store failed; the export stops");
		*reply = ops_error_reply(x->id, FU_ERR_UNAVAILABLE, "the "
		    "export could not be read to its end; what was sent is "
		    "incomplete");
		return 1;
	}
	x->bytes += len;
	if ((text = json_stringn(buf, len)) == NULL) {
		free(buf);
		*reply = ops_error_reply(x->id, FU_ERR_INTERNAL, "the export "
		    "is not valid UTF-8; what was sent is incomplete");
		return 1;
	}
	free(buf);
	*reply = json_pack("{s:O? s:o}", "id", x->id, "chunk", text);
	return 0;
}

/* The export is done, or its reader went away: drop it all at once. */
static void
data_export_free(void *arg)
{
	struct data_export	*x = arg;

	json_decref(x->id);
	json_decref(x->contact);
	free(x->owner);
	free(x->format);
	free(x->what);
	free(x->name);
	free(x->dbid);
	free(x);
}

/*
 * export: the document in pieces as the caller reads them ("chunk" lines
 * with the request's id), then the reply, with its format and how many
 * records of each kind it holds (ops_pieces).
 */
int
op_export(struct op_ctx *ctx, json_t *args, json_t **result)
{
	const char		*format = ops_str(args, "format");
	const char		*what = ops_str(args, "what");
	int			 bom = ops_bool(args, "bom");
	const char		*owner;
	struct data_export	*x;
	int			 ics, csv;

	if (!fu_word_in(data_formats, format))
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "unknown export "
		    "format \"%.32s\" (ics, csv or json)", format);
	ics = strcmp(format, "ics") == 0;
	csv = strcmp(format, "csv") == 0;
	if (what != NULL && !csv)
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"what\" chooses "
		    "the table of a CSV export");
	if (bom && !csv)
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "\"bom\" is for a "
		    "CSV export");
	if (what == NULL)
		what = "contacts";
	if (!fu_word_in(data_tables, what))
		return reply_error(ctx, FU_ERR_BAD_REQUEST, "unknown table "
		    "\"%.32s\" (contacts, interactions or followups)", what);
	if (ops_owner_arg(ctx, args, 1, &owner) != 0)
		return -1;

	x = xcalloc(1, sizeof *x);
	x->st = ctx->st;
	x->id = json_incref(ctx->id);
	x->owner = owner != NULL ? xstrdup(owner) : NULL;
	x->format = xstrdup(format);
	x->what = xstrdup(what);
	xasprintf(&x->name, "Follow-ups (%s)", owner != NULL ? owner : "team");
	x->dbid = xstrdup(store_id(ctx->st));
	x->ics = ics;
	x->csv = csv;
	x->bom = bom;
	x->now = ctx->now;
	x->closed_since = ics ? ctx->now - DATA_ICS_CLOSED_DAYS * 86400 : 0;
	x->phase = DATA_HEAD;
	ops_pieces(ctx, data_export_next, data_export_free, x);
	return 0;
}
