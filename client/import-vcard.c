/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Contacts from vCards (RFC 2426 version 3.0, RFC 6350 version 4.0, and
 * the 2.1 that older phones write): BEGIN/END:VCARD, folded lines, groups
 * and parameters, escaped text; FN (else N), ORG, TEL, EMAIL, NOTE and a
 * TZ that names a zone.  Quoted-printable values (2.1) are decoded from
 * the CHARSET they name (ISO-8859-1, Windows-1252, UTF-8...); one with no
 * charset that is not UTF-8 is read as Windows-1252, with a note.
 */

#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import.h"

/* The card being read. */
struct vcard {
	struct import_record	*rec;
	int			 tel_score;	/* lower is better */
	int			 email_score;
	char			*n;		/* N, used when there is no FN */
};

/* One property line, split up; pointers into the line's copy. */
struct vcard_prop {
	char		*name;		/* without its group */
	char		*params;	/* ";"-separated, or "" */
	char		*value;
	long		 line;
};

/* Does the parameter text hold key=value (or, bare, value)? */
static int
vcard_param(const char *params, const char *key, const char *value)
{
	const char	*p = params, *eq, *end, *v, *ve;
	size_t		 klen = strlen(key), vlen = strlen(value);
	int		 quoted;

	while (*p != '\0') {
		/* One parameter runs to a ";" outside quotes. */
		for (end = p, quoted = 0; *end != '\0' && (quoted ||
		    *end != ';'); end++) {
			if (*end == '"')
				quoted = !quoted;
		}
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL)
			v = p;		/* 2.1: TEL;WORK;PREF:... */
		else if ((size_t)(eq - p) == klen &&
		    strncasecmp(p, key, klen) == 0)
			v = eq + 1;
		else
			v = NULL;
		/* Values are comma-separated, maybe quoted. */
		while (v != NULL && v < end) {
			if (*v == '"')
				v++;
			for (ve = v; ve < end && *ve != ',' && *ve != '"'; ve++)
				;
			if ((size_t)(ve - v) == vlen &&
			    strncasecmp(v, value, vlen) == 0)
				return 1;
			while (ve < end && (*ve == '"' || *ve == ','))
				ve++;
			v = ve;
		}
		p = *end == ';' ? end + 1 : end;
	}
	return 0;
}

/* Split line into prop; return -1 if it is not a property. */
static int
vcard_split(char *line, struct vcard_prop *prop)
{
	char	*p, *dot;
	int	 quoted = 0;

	for (p = line; *p != '\0' && *p != ':' && *p != ';'; p++)
		;
	if (*p == '\0' || p == line)
		return -1;
	prop->params = "";
	if (*p == ';') {
		*p++ = '\0';
		prop->params = p;
		for (; *p != '\0' && (quoted || *p != ':'); p++) {
			if (*p == '"')
				quoted = !quoted;
		}
		if (*p == '\0')
			return -1;
	}
	*p++ = '\0';
	prop->value = p;
	prop->name = line;
	if ((dot = strrchr(line, '.')) != NULL)
		prop->name = dot + 1;
	return 0;
}

/*
 * A component of a text value: up to an unescaped ";" when structured,
 * with \\ \; \, and \n unescaped.  Advance *pp past it.  Caller frees.
 */
static char *
vcard_text(const char **pp, int structured)
{
	const char	*p = *pp;
	char		*out, *o;

	o = out = import_alloc(strlen(p) + 1);
	for (; *p != '\0'; p++) {
		if (structured && *p == ';')
			break;
		if (*p == '\\' && p[1] != '\0') {
			p++;
			*o++ = *p == 'n' || *p == 'N' ? '\n' : *p;
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	*pp = *p == ';' ? p + 1 : p;
	o = import_field(out, strlen(out));
	free(out);
	return o;
}

/* Decode a quoted-printable value in place. */
static void
vcard_unqp(char *s)
{
	char		*o = s, hex[3];
	const char	*p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '=' && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			hex[0] = p[1];
			hex[1] = p[2];
			hex[2] = '\0';
			*o++ = (char)strtol(hex, NULL, 16);
			p += 2;
		} else
			*o++ = *p;
	}
	*o = '\0';
}

/*
 * The value of parameter key (CHARSET=ISO-8859-1), unquoted, or NULL.
 * Caller frees.
 */
static char *
vcard_param_value(const char *params, const char *key)
{
	const char	*p = params, *end;
	size_t		 klen = strlen(key);
	int		 quoted;

	while (*p != '\0') {
		for (end = p, quoted = 0; *end != '\0' && (quoted ||
		    *end != ';'); end++) {
			if (*end == '"')
				quoted = !quoted;
		}
		if ((size_t)(end - p) > klen && p[klen] == '=' &&
		    strncasecmp(p, key, klen) == 0) {
			p += klen + 1;
			if (*p == '"' && end - p >= 2 && end[-1] == '"')
				return import_field(p + 1,
				    (size_t)(end - p - 2));
			return import_field(p, (size_t)(end - p));
		}
		p = *end == ';' ? end + 1 : end;
	}
	return NULL;
}

/* Does charset name UTF-8 or its subset ASCII? */
static int
vcard_charset_utf8(const char *charset)
{
	return strcasecmp(charset, "UTF-8") == 0 ||
	    strcasecmp(charset, "UTF8") == 0 ||
	    strcasecmp(charset, "US-ASCII") == 0 ||
	    strcasecmp(charset, "ASCII") == 0;
}

/*
 * Turn the bytes of a quoted-printable value into UTF-8, replacing *sp.
 * A 2.1 card names their charset (CHARSET=ISO-8859-1 from older phones
 * and Outlook); bytes with no charset, or UTF-8 that is not, are read as
 * import_text reads a file that is not UTF-8 (Windows-1252), and *guessed
 * is set.  Return -1 for a charset iconv does not know.
 */
static int
vcard_charset(char **sp, const char *charset, int *guessed)
{
	char		*s = *sp, *out, *in, *o, *text, *cause = NULL;
	size_t		 len = strlen(s), inleft, outleft, tlen;
	iconv_t		 cd;
	struct import_file scratch;

	*guessed = 0;
	if (charset == NULL || vcard_charset_utf8(charset)) {
		if (import_utf8_valid(s, len))
			return 0;
		memset(&scratch, 0, sizeof scratch);
		text = import_text(s, len, &tlen, &scratch, &cause);
		import_file_free(&scratch);
		free(cause);
		if (text == NULL)
			return -1;
		free(*sp);
		*sp = text;
		*guessed = 1;
		return 0;
	}
	if ((cd = iconv_open("UTF-8", charset)) == (iconv_t)-1)
		return -1;
	outleft = len * 4 + 1;
	o = out = import_alloc(outleft);
	in = s;
	inleft = len;
	while (inleft > 0 && iconv(cd, &in, &inleft, &o, &outleft) ==
	    (size_t)-1) {
		/* A byte the charset lacks: U+FFFD, and go on. */
		if ((errno != EILSEQ && errno != EINVAL) || outleft < 4)
			break;
		memcpy(o, "\xef\xbf\xbd", 3);
		o += 3;
		outleft -= 3;
		in++;
		inleft--;
	}
	iconv_close(cd);
	*o = '\0';
	free(*sp);
	*sp = out;
	return 0;
}

/* How much a TEL or EMAIL is preferred: pref, then work, then any. */
static int
vcard_score(const struct vcard_prop *prop)
{
	if (vcard_param(prop->params, "TYPE", "pref") ||
	    vcard_param(prop->params, "PREF", "1"))
		return 0;
	if (vcard_param(prop->params, "TYPE", "work"))
		return 1;
	return 2;
}

/* Is s a zone name (Europe/Berlin, UTC), not an offset such as -05:00? */
static int
vcard_zone_name(const char *s)
{
	const char	*p;

	if (*s == '\0' || !isalpha((unsigned char)*s))
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("/_-+", *p) == NULL)
			return 0;
	}
	return strchr(s, '/') != NULL || strcmp(s, "UTC") == 0;
}

/* Use one property of the card being read, its value decoded. */
static void
vcard_prop_use(struct import_file *f, struct vcard *card,
    struct vcard_prop *prop)
{
	struct import_record	*r = card->rec;
	const char		*p;
	char			*v, *joined;
	int			 score;

	p = prop->value;
	if (strcasecmp(prop->name, "FN") == 0) {
		free(r->name);
		r->name = vcard_text(&p, 0);
	} else if (strcasecmp(prop->name, "N") == 0) {
		free(card->n);
		card->n = import_strdup(prop->value);
	} else if (strcasecmp(prop->name, "ORG") == 0) {
		if (r->company == NULL)
			r->company = vcard_text(&p, 1);
	} else if (strcasecmp(prop->name, "TEL") == 0) {
		score = vcard_score(prop);
		if (r->phone != NULL && score >= card->tel_score)
			return;
		if (strncasecmp(p, "tel:", 4) == 0)
			p += 4;
		if ((v = vcard_text(&p, 0)) == NULL)
			return;
		free(r->phone);
		r->phone = v;
		card->tel_score = score;
	} else if (strcasecmp(prop->name, "EMAIL") == 0) {
		score = vcard_score(prop);
		if (r->email != NULL && score >= card->email_score)
			return;
		if (strncasecmp(p, "mailto:", 7) == 0)
			p += 7;
		if ((v = vcard_text(&p, 0)) == NULL)
			return;
		free(r->email);
		r->email = v;
		card->email_score = score;
	} else if (strcasecmp(prop->name, "NOTE") == 0) {
		if ((v = vcard_text(&p, 0)) == NULL)
			return;
		if (r->notes == NULL)
			r->notes = v;
		else {
			joined = import_printf("%s\n%s", r->notes, v);
			free(r->notes);
			free(v);
			r->notes = joined;
		}
	} else if (strcasecmp(prop->name, "TZ") == 0) {
		if ((v = vcard_text(&p, 0)) == NULL)
			return;
		if (vcard_zone_name(v) && r->tz == NULL)
			r->tz = v;
		else {
			import_note(f, "line %ld: TZ %s is not a zone name "
			    "(such as Europe/Berlin); ignored", prop->line, v);
			free(v);
		}
	}
}

/*
 * Use one property of the card being read: decode a quoted-printable
 * value from its charset first; pass over photos and sounds.
 */
static void
vcard_prop(struct import_file *f, struct vcard *card, struct vcard_prop *prop)
{
	char	*value, *charset;
	int	 guessed;

	if (vcard_param(prop->params, "ENCODING", "b") ||
	    vcard_param(prop->params, "ENCODING", "BASE64"))
		return;
	if (!vcard_param(prop->params, "ENCODING", "QUOTED-PRINTABLE")) {
		vcard_prop_use(f, card, prop);
		return;
	}
	value = import_strdup(prop->value);
	vcard_unqp(value);
	charset = vcard_param_value(prop->params, "CHARSET");
	if (vcard_charset(&value, charset, &guessed) != 0)
		import_note(f, "line %ld: %s is in charset %s, which is not "
		    "known here; skipped", prop->line, prop->name, charset);
	else {
		if (guessed)
			import_note(f, "line %ld: a quoted-printable %s that "
			    "is not UTF-8 was read as Windows-1252", prop->line,
			    prop->name);
		prop->value = value;
		vcard_prop_use(f, card, prop);
	}
	free(charset);
	free(value);
}

/* The name from N (family;given;additional;prefix;suffix). Caller frees. */
static char *
vcard_n_name(const char *n)
{
	char		*parts[5] = { NULL, NULL, NULL, NULL, NULL }, *out;
	static const int order[5] = { 3, 1, 2, 0, 4 };
	const char	*p = n;
	size_t		 len = 1;
	int		 i;

	for (i = 0; i < 5 && *p != '\0'; i++)
		parts[i] = vcard_text(&p, 1);
	for (i = 0; i < 5; i++)
		len += parts[i] != NULL ? strlen(parts[i]) + 1 : 0;
	out = import_alloc(len);
	for (i = 0; i < 5; i++) {
		if (parts[order[i]] == NULL)
			continue;
		if (*out != '\0')
			strcat(out, " ");
		strcat(out, parts[order[i]]);
	}
	for (i = 0; i < 5; i++)
		free(parts[i]);
	if (*out == '\0') {
		free(out);
		return NULL;
	}
	return out;
}

/* The card is complete: name it or say why it is skipped. */
static void
vcard_end(struct vcard *card, const char *why)
{
	struct import_record	*r = card->rec;

	if (r->name == NULL && card->n != NULL)
		r->name = vcard_n_name(card->n);
	import_record_done(r);
	if (why != NULL)
		r->skip = import_strdup(why);
	else if (r->name == NULL)
		r->skip = import_strdup("no name (FN or N)");
	free(card->n);
	memset(card, 0, sizeof *card);
}

/* Handle one unfolded line that started on physical line lineno. */
static void
vcard_line(struct import_file *f, struct vcard *card, char *line,
    long lineno)
{
	struct vcard_prop	prop;
	int			begin, end;

	if (vcard_split(line, &prop) != 0)
		return;
	prop.line = lineno;
	begin = strcasecmp(prop.name, "BEGIN") == 0 &&
	    strcasecmp(prop.value, "VCARD") == 0;
	end = strcasecmp(prop.name, "END") == 0 &&
	    strcasecmp(prop.value, "VCARD") == 0;
	if (begin) {
		if (card->rec != NULL)
			vcard_end(card, "not closed (no END:VCARD before the "
			    "next BEGIN:VCARD)");
		card->rec = import_record_new(f, lineno);
		return;
	}
	if (card->rec == NULL)
		return;
	if (end) {
		vcard_end(card, NULL);
		return;
	}
	vcard_prop(f, card, &prop);
}

/*
 * Read the vCards in buf, one record each (a card without FN or N, or
 * never closed, is a skipped record with the reason and the line of its
 * BEGIN).  Text outside cards is passed over.  Fill f (the caller frees
 * it with import_file_free) and return 0, or -1 with *cause set (caller
 * frees) if the file is not text or holds no card.
 */
int
import_vcard(const char *buf, size_t len, struct import_file *f,
    char **cause)
{
	struct vcard	 card;
	const char	*p, *end, *eol;
	char		*text, *cur = NULL;
	size_t		 tlen, n, curlen = 0;
	long		 line = 0, curline = 0;
	int		 qp = 0;

	memset(f, 0, sizeof *f);
	memset(&card, 0, sizeof card);
	if ((text = import_text(buf, len, &tlen, f, cause)) == NULL)
		return -1;
	for (p = text, end = text + tlen; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		line++;
		if (cur != NULL && n > 0 && (*p == ' ' || *p == '\t')) {
			/* A folded line goes on: drop the fold. */
			p++;
			n--;
		} else if (cur != NULL && qp && curlen > 0 &&
		    cur[curlen - 1] == '=') {
			/* A quoted-printable soft line break. */
			curlen--;
		} else {
			if (cur != NULL) {
				cur[curlen] = '\0';
				vcard_line(f, &card, cur, curline);
			}
			free(cur);
			cur = NULL;
			curlen = 0;
			if (n == 0)
				continue;
			curline = line;
		}
		cur = import_grow(cur, curlen + n + 1, 1);
		memcpy(cur + curlen, p, n);
		curlen += n;
		cur[curlen] = '\0';
		qp = strcasestr(cur, "QUOTED-PRINTABLE") != NULL &&
		    strchr(cur, ':') != NULL &&
		    strcasestr(cur, "QUOTED-PRINTABLE") < strchr(cur, ':');
		if (eol == end)
			break;
	}
	if (cur != NULL)
		vcard_line(f, &card, cur, curline);
	free(cur);
	if (card.rec != NULL)
		vcard_end(&card, "not closed (no END:VCARD)");
	free(text);
	if (f->nrecords == 0) {
		*cause = import_strdup("no vCard in the file (no "
		    "BEGIN:VCARD)");
		import_file_free(f);
		return -1;
	}
	return 0;
}
