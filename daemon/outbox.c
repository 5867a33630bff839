/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The outbox: a notice that comes due is written to the outbox in the same
 * transaction that advances its follow-up, then delivered to every
 * channel: the journal (which also feeds the watching connections) and
 * each configured hook.  A hook that fails is retried with back-off until
 * it succeeds or the give-up time passes (then logged as an error);
 * nothing is lost across a restart, and the ledger never records one
 * notice twice.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

#include "followupd.h"

/*
 * A notice is late when it came due before the daemon started (it was
 * down), or goes out more than this after its time.
 */
#define OUTBOX_LATE_SLACK	60
/* Most follow-ups claimed, and deliveries handled, in one pass. */
#define OUTBOX_CLAIM_MAX	1000
#define OUTBOX_DISPATCH_MAX	1000
/* Retry delays double from hook_retry up to an hour. */
#define OUTBOX_RETRY_CAP	3600
/* Most interactions a notice carries. */
#define OUTBOX_HISTORY		3
/* Most missed days that get a late digest each. */
#define OUTBOX_DIGEST_DAYS	7

#define OUTBOX_JOURNAL		"journal"
/* A hook run's lease lasts its time limit and this much (seconds). */
#define OUTBOX_LEASE_SLACK	5
#define OUTBOX_HOOK_PREFIX	"hook:"

/* One delivery copied out of the store. */
struct outbox_item {
	int64_t		 outbox_id;
	char		*channel;
	int		 attempts;
	char		*owner;
	char		*kind;
	time_t		 fire_at;
	char		*payload;
	time_t		 claimed_at;
};

/* A hook run carrying a group of deliveries. */
struct outbox_run {
	char			*channel;
	struct outbox_item	*items;
	size_t			 n;
	struct outbox_run	*next;
};

/* Notices folded into one summary per rep. */
struct outbox_fold {
	char			*owner;
	json_t			*notices;
	int64_t			*ids;
	size_t			 n;
	struct outbox_fold	*next;
};

struct outbox_claim_ctx {
	time_t			 now;
	struct outbox_fold	*folds;
	int			 created;
	int			 failed;
};

static struct store		*outbox_store;
static const struct fu_config	**outbox_cfp;
static struct outbox_run	*outbox_runs;
static time_t			 outbox_started;

/* Set up the outbox on the store and the (reloadable) configuration. */
void
outbox_init(struct store *st, const struct fu_config **cfp)
{
	outbox_store = st;
	outbox_cfp = cfp;
	outbox_started = time(NULL);
}

/* Is a notice that fell at fire and goes out at now late? */
static int
outbox_is_late(time_t fire, time_t now)
{
	return fire < outbox_started || now - fire > OUTBOX_LATE_SLACK;
}

/* The rep as notices show them: name, email and effective zone. */
static json_t *
outbox_rep_json(const char *owner)
{
	struct fu_user	 u;
	json_t		*rep;

	store_user_get(outbox_store, owner, &u);
	rep = json_pack("{s:s s:o s:s}", "name", owner,
	    "email", u.email != NULL ? json_string(u.email) : json_null(),
	    "tz", u.tz != NULL && when_zone_valid(u.tz) ? u.tz :
	    when_local_zone());
	fu_user_clear(&u);
	return rep;
}

/* What a missed callback asks the rep to do now, with its command. */
static json_t *
outbox_missed_advice(int64_t id)
{
	json_t	*advice;
	char	*s;

	xasprintf(&s, FU_MISSED_ADVICE "; " FU_MISSED_REAGREE, (long long)id);
	advice = json_string(s);
	free(s);
	return advice;
}

static int
outbox_history_cb(const struct fu_interaction *in, void *arg)
{
	json_array_append_new(arg, interaction_json(in));
	return 0;
}

/*
 * The notice of kind stage for a follow-up, as channels receive it, or
 * NULL if the follow-up is gone.  Caller owns the reference.
 */
static json_t *
outbox_followup_notice(const struct store_notice_row *r, int stage,
    time_t fire, int late, time_t now)
{
	const struct fu_config	*cf = *outbox_cfp;
	struct fu_followup	 f;
	struct fu_contact	 c;
	json_t			*notice, *history;

	if (store_followup_get(outbox_store, r->owner, r->followup_id, &f) !=
	    STORE_OK)
		return NULL;
	if (store_contact_get(outbox_store, r->owner, f.contact_id, &c) !=
	    STORE_OK) {
		fu_followup_clear(&f);
		return NULL;
	}
	history = json_array();
	store_interaction_list(outbox_store, r->owner, c.id, 0,
	    OUTBOX_HISTORY, outbox_history_cb, history);
	notice = json_pack("{s:s s:b s:o s:o s:o s:o s:o}",
	    "kind", rules_notice_name(stage),
	    "late", late,
	    "fire_at", when_json(fire),
	    "rep", outbox_rep_json(r->owner),
	    "followup", followup_json(&f, now),
	    "contact", contact_json(&c),
	    "interactions", history);
	if (stage == NOTICE_MISSED) {
		json_object_set_new(notice, "late_by",
		    json_integer(now - f.due_at));
		json_object_set_new(notice, "advice",
		    outbox_missed_advice(f.id));
		if (cf->manager != NULL)
			json_object_set_new(notice, "manager",
			    json_string(cf->manager));
	}
	fu_followup_clear(&f);
	fu_contact_clear(&c);
	return notice;
}

/* The channels every new notice goes to. Caller frees the array only. */
static const char **
outbox_channels(int *n)
{
	const struct fu_config	*cf = *outbox_cfp;
	static char		*names[CONFIG_MAX_HOOKS];
	static const char	*list[CONFIG_MAX_HOOKS + 1];
	int			 i;

	list[0] = OUTBOX_JOURNAL;
	for (i = 0; i < cf->nhooks; i++) {
		free(names[i]);
		xasprintf(&names[i], "%s%s", OUTBOX_HOOK_PREFIX, cf->hooks[i]);
		list[i + 1] = names[i];
	}
	*n = cf->nhooks + 1;
	return list;
}

/* Record one notice in the outbox; fold it if it is very late. */
static int
outbox_record(struct outbox_claim_ctx *ctx, const char *owner,
    const char *kind, int64_t followup_id, time_t due_at, time_t fire,
    int late, json_t *notice, int may_fold)
{
	const struct fu_config	*cf = *outbox_cfp;
	struct store_outbox	 o;
	struct outbox_fold	*fold;
	const char		**channels;
	char			*payload;
	int			 n, created, folding;
	enum store_result	 r;

	folding = may_fold && late && ctx->now - fire > cf->late_horizon;
	channels = outbox_channels(&n);
	payload = json_dumps(notice, JSON_COMPACT);
	memset(&o, 0, sizeof o);
	o.owner = owner;
	o.kind = kind;
	o.followup_id = followup_id;
	o.due_at = due_at;
	o.fire_at = fire;
	o.late = late;
	o.payload = payload;
	r = store_outbox_add(outbox_store, &o, channels, folding ? 0 : n,
	    ctx->now, &created);
	free(payload);
	if (r != STORE_OK) {
		ctx->failed = 1;
		return -1;
	}
	if (!created)
		return 0;
	ctx->created++;
	if (folding) {
		for (fold = ctx->folds; fold != NULL; fold = fold->next) {
			if (strcmp(fold->owner, owner) == 0)
				break;
		}
		if (fold == NULL) {
			fold = xcalloc(1, sizeof *fold);
			fold->owner = xstrdup(owner);
			fold->notices = json_array();
			fold->next = ctx->folds;
			ctx->folds = fold;
		}
		json_array_append(fold->notices, notice);
		fold->ids = xreallocarray(fold->ids, fold->n + 1,
		    sizeof *fold->ids);
		fold->ids[fold->n++] = o.id;
	}
	return 0;
}

/* Turn each rep's folded late notices into one summary notice. */
static void
outbox_summaries(struct outbox_claim_ctx *ctx)
{
	struct outbox_fold	*fold, *next;
	struct store_outbox	 o;
	const char		**channels;
	json_t			*summary;
	char			*payload;
	size_t			 i;
	int			 n, created;

	for (fold = ctx->folds; fold != NULL; fold = next) {
		next = fold->next;
		summary = json_pack("{s:s s:b s:o s:o s:I s:O}",
		    "kind", rules_notice_name(NOTICE_SUMMARY),
		    "late", 1,
		    "fire_at", when_json(ctx->now),
		    "rep", outbox_rep_json(fold->owner),
		    "count", (json_int_t)fold->n,
		    "notices", fold->notices);
		payload = json_dumps(summary, JSON_COMPACT);
		channels = outbox_channels(&n);
		memset(&o, 0, sizeof o);
		o.owner = fold->owner;
		o.kind = rules_notice_name(NOTICE_SUMMARY);
		o.due_at = ctx->now;
		o.fire_at = ctx->now;
		o.late = 1;
		o.payload = payload;
		if (store_outbox_add(outbox_store, &o, channels, n, ctx->now,
		    &created) != STORE_OK)
			ctx->failed = 1;
		else if (created) {
			for (i = 0; i < fold->n; i++)
				store_outbox_fold(outbox_store, fold->ids[i],
				    o.id);
			log_warnx("outbox: %zu notices for %s are more than "
			    "%ld s late; folded into one summary", fold->n,
			    fold->owner, (*outbox_cfp)->late_horizon);
		}
		free(payload);
		json_decref(summary);
		json_decref(fold->notices);
		free(fold->ids);
		free(fold->owner);
		free(fold);
	}
	ctx->folds = NULL;
}

struct outbox_digest_rows {
	json_t	*callbacks;
	json_t	*others;
	time_t	 now;
};

static int
outbox_digest_cb(const struct fu_followup *f, void *arg)
{
	struct outbox_digest_rows	*rows = arg;

	json_array_append_new(strcmp(f->kind, "callback") == 0 ?
	    rows->callbacks : rows->others, followup_json(f, rows->now));
	return 0;
}

static int
outbox_stale_cb(const struct fu_contact *c, void *arg)
{
	json_array_append_new(arg, contact_json(c));
	return 0;
}

/*
 * Record u's digest for the day whose digest time is at: the follow-ups
 * that were overdue that morning and those due that day, still pending,
 * and (with_stale) the contacts stale now.  Nothing is recorded when all
 * are empty.
 */
static void
outbox_digest_day(struct outbox_claim_ctx *ctx, const struct fu_user *u,
    const char *zone, time_t at, int with_stale)
{
	const struct fu_config		*cf = *outbox_cfp;
	struct store_followup_filter	 flt;
	struct outbox_digest_rows	 overdue, today;
	struct store_stale		 ss;
	json_t				*stale, *notice;
	char				 date[16];
	time_t				 day;
	int				 late = outbox_is_late(at, ctx->now);

	memset(&flt, 0, sizeof flt);
	flt.owner = u->name;
	flt.status = "pending";
	flt.limit = FU_LIST_MAX;
	overdue.now = today.now = ctx->now;
	overdue.callbacks = json_array();
	overdue.others = json_array();
	today.callbacks = json_array();
	today.others = json_array();
	stale = json_array();
	flt.to = at;
	store_followup_list(outbox_store, &flt, outbox_digest_cb, &overdue);
	if (when_day_start(at, zone, 0, &day) == 0 &&
	    when_day_start(at, zone, 1, &flt.to) == 0) {
		flt.from = at;
		store_followup_list(outbox_store, &flt, outbox_digest_cb,
		    &today);
	}
	config_stale(cf, &ss);
	if (with_stale)
		store_contact_stale(outbox_store, u->name, &ss, ctx->now, 100,
		    outbox_stale_cb, stale);
	json_array_extend(overdue.callbacks, overdue.others);
	json_array_extend(today.callbacks, today.others);
	if (json_array_size(overdue.callbacks) +
	    json_array_size(today.callbacks) + json_array_size(stale) > 0) {
		when_local_date(at, zone, date, sizeof date);
		notice = json_pack("{s:s s:b s:o s:o s:s s:s s:O s:O s:O}",
		    "kind", rules_notice_name(NOTICE_DIGEST),
		    "late", late,
		    "fire_at", when_json(at),
		    "rep", outbox_rep_json(u->name),
		    "date", date,
		    "tz", zone,
		    "overdue", overdue.callbacks,
		    "today", today.callbacks,
		    "stale", stale);
		outbox_record(ctx, u->name, rules_notice_name(NOTICE_DIGEST),
		    0, at, at, late, notice, 0);
		json_decref(notice);
	}
	json_decref(overdue.callbacks);
	json_decref(overdue.others);
	json_decref(today.callbacks);
	json_decref(today.others);
	json_decref(stale);
}

/*
 * A rep's digest is due (or not planned yet): send it, plan the next.
 * After downtime or a clock jump over several days, each missed day gets
 * its own late digest, dated that day and listing what was due that day
 * (one digest covering them all would list later days' follow-ups as
 * overdue on the first), at most OUTBOX_DIGEST_DAYS of them, the latest;
 * what an older day listed is still pending and so overdue in those.
 */
static void
outbox_digest_user_cb(const struct fu_user *u, time_t at, void *arg)
{
	struct outbox_claim_ctx		*ctx = arg;
	const struct fu_config		*cf = *outbox_cfp;
	const char			*zone;
	time_t				 next;
	int				 minute;

	zone = u->tz != NULL && when_zone_valid(u->tz) ? u->tz :
	    when_local_zone();
	if (u->digest == NULL || config_parse_hhmm(u->digest, &minute) != 0)
		minute = cf->digest;
	if (at != 0 && ctx->now - at > OUTBOX_DIGEST_DAYS * 86400L &&
	    (next = rules_next_digest(ctx->now - OUTBOX_DIGEST_DAYS * 86400L,
	    zone, minute)) != 0)
		at = next;
	while (at != 0 && at <= ctx->now) {
		next = rules_next_digest(at, zone, minute);
		outbox_digest_day(ctx, u, zone, at, next == 0 ||
		    next > ctx->now);
		if (next <= at)
			break;
		at = next;
	}
	if (store_digest_set(outbox_store, u->name,
	    rules_next_digest(ctx->now, zone, minute)) != STORE_OK)
		ctx->failed = 1;
}

/*
 * Claim what has come due by now: for each follow-up whose next notice
 * has fallen, record the most advanced notice it reached (a daemon that
 * was down sends one late notice, not a backlog) and plan the next; then
 * the digests.  All in one write of the group commit, so a notice is in
 * the outbox exactly when its follow-up has moved past it.  Return how
 * much was done (follow-ups advanced and notices recorded; 0 when nothing
 * was due, and then nothing was written), or -1 if the store failed.
 */
int
outbox_claim(time_t now)
{
	const struct fu_config	*cf = *outbox_cfp;
	struct outbox_claim_ctx	 ctx;
	struct store_notice_row	*rows;
	struct rules_followup	 rf;
	json_t			*notice;
	size_t			 n, i;
	time_t			 fire, at, digest;
	int64_t			 unplanned;
	int			 passed, next, late;
	enum store_result	 r;

	memset(&ctx, 0, sizeof ctx);
	ctx.now = now;
	/* Write only when something is due: a pass must not commit for
	 * nothing (each commit wakes the schedule again). */
	if (store_schedule_next(outbox_store, &fire, &at, &digest,
	    &unplanned) != STORE_OK)
		return -1;
	if ((fire == 0 || fire > now) && (digest == 0 || digest > now) &&
	    unplanned == 0)
		return 0;
	if ((r = store_write_begin(outbox_store)) != STORE_OK) {
		log_warnx_limited("outbox: cannot claim", NULL, "outbox: "
		    "cannot claim due notices (store result %d); retrying", r);
		return -1;
	}
	if (store_notice_due(outbox_store, now, OUTBOX_CLAIM_MAX, &rows,
	    &n) != STORE_OK) {
		store_write_end(outbox_store, 0);
		return -1;
	}
	for (i = 0; i < n && !ctx.failed; i++) {
		rf.callback = rows[i].callback;
		rf.due_at = rows[i].due_at;
		rf.remind_at = rows[i].remind_at;
		rf.grace = cf->missed_grace;
		passed = rules_notice_passed(rows[i].stage, &rf, now);
		if (passed != NOTICE_NONE) {
			fire = rules_notice_time(passed, &rf);
			late = outbox_is_late(fire, now);
			notice = outbox_followup_notice(&rows[i], passed, fire,
			    late, now);
			if (notice != NULL) {
				outbox_record(&ctx, rows[i].owner,
				    rules_notice_name(passed),
				    rows[i].followup_id, rows[i].due_at, fire,
				    late, notice, 1);
				json_decref(notice);
			}
			next = rules_notice_next(passed + 1, &rf, now + 1, &at);
		} else
			next = rules_notice_next(rows[i].stage, &rf, now + 1,
			    &at);
		if (store_notice_advance(outbox_store, rows[i].followup_id,
		    next, at) != STORE_OK)
			ctx.failed = 1;
	}
	store_notice_rows_free(rows, n);
	ctx.created += (int)n;
	if (!ctx.failed)
		outbox_summaries(&ctx);
	if (!ctx.failed && store_digest_due(outbox_store, now,
	    outbox_digest_user_cb, &ctx) != STORE_OK)
		ctx.failed = 1;
	store_write_end(outbox_store, !ctx.failed);
	if (ctx.failed) {
		log_warnx_limited("outbox: claiming failed", NULL,
		    "outbox: claiming due notices failed; retrying");
		return -1;
	}
	return ctx.created;
}

static void
outbox_items_free(struct outbox_item *items, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(items[i].channel);
		free(items[i].owner);
		free(items[i].kind);
		free(items[i].payload);
	}
	free(items);
}

struct outbox_collect {
	struct outbox_item	*items;
	size_t			 n;
};

static int
outbox_collect_cb(const struct store_delivery *d, void *arg)
{
	struct outbox_collect	*c = arg;
	struct outbox_item	*it;
	struct outbox_run	*run;
	size_t			 i;

	/* Skip what a running hook is delivering right now. */
	for (run = outbox_runs; run != NULL; run = run->next) {
		if (strcmp(run->channel, d->channel) != 0)
			continue;
		for (i = 0; i < run->n; i++) {
			if (run->items[i].outbox_id == d->outbox_id)
				return 0;
		}
	}
	c->items = xreallocarray(c->items, c->n + 1, sizeof *c->items);
	it = &c->items[c->n++];
	it->outbox_id = d->outbox_id;
	it->channel = xstrdup(d->channel);
	it->attempts = d->attempts;
	it->owner = xstrdup(d->owner);
	it->kind = xstrdup(d->kind);
	it->fire_at = d->fire_at;
	it->payload = xstrdup(d->payload);
	it->claimed_at = d->claimed_at;
	return 0;
}

/* Priority of a notice kind in the journal. */
static int
outbox_priority(const char *kind)
{
	if (strcmp(kind, "missed") == 0)
		return LOG_WARNING;
	if (strcmp(kind, "due") == 0 || strcmp(kind, "summary") == 0)
		return LOG_NOTICE;
	return LOG_INFO;
}

/* Log one notice to the journal and hand it to the watchers. */
static void
outbox_journal(const struct outbox_item *it, time_t now)
{
	json_t		*notice, *f, *c;
	json_error_t	 jerr;
	const char	*late, *advice;

	if ((notice = json_loads(it->payload, 0, &jerr)) == NULL) {
		log_err("outbox: notice %lld is not valid JSON: %s",
		    (long long)it->outbox_id, jerr.text);
		return;
	}
	late = json_is_true(json_object_get(notice, "late")) ? " (late)" : "";
	f = json_object_get(notice, "followup");
	c = json_object_get(notice, "contact");
	advice = json_string_value(json_object_get(notice, "advice"));
	if (f != NULL)
		log_event(outbox_priority(it->kind), it->kind,
		    json_integer_value(json_object_get(f, "id")),
		    json_integer_value(json_object_get(f, "contact_id")),
		    it->owner, "%s%s: %s %lld with %s for %s, due %s%s%s",
		    it->kind, late, json_string_value(json_object_get(f,
		    "kind")),
		    (long long)json_integer_value(json_object_get(f, "id")),
		    json_string_value(json_object_get(c, "name")), it->owner,
		    json_string_value(json_object_get(f, "due_at")),
		    advice != NULL ? ": " : "", advice != NULL ? advice : "");
	else if (strcmp(it->kind, "digest") == 0)
		log_event(outbox_priority(it->kind), it->kind, 0, 0, it->owner,
		    "digest%s for %s: %zu overdue, %zu today, %zu stale", late,
		    it->owner,
		    json_array_size(json_object_get(notice, "overdue")),
		    json_array_size(json_object_get(notice, "today")),
		    json_array_size(json_object_get(notice, "stale")));
	else
		log_event(outbox_priority(it->kind), it->kind, 0, 0, it->owner,
		    "summary for %s: %lld notices came due while followupd "
		    "was down", it->owner, (long long)json_integer_value(
		    json_object_get(notice, "count")));
	events_publish(it->owner, it->kind, notice);
	json_decref(notice);
}

/* A message id stable for this group of notices. Caller frees. */
static char *
outbox_message_id(const struct outbox_item *items, size_t n)
{
	char		 host[256], *id;
	uint32_t	 h = 2166136261u;
	size_t		 i;
	int64_t		 v;
	int		 b;

	if (gethostname(host, sizeof host) != 0)
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	for (i = 0; i < n; i++) {
		v = items[i].outbox_id;
		for (b = 0; b < 8; b++) {
			h ^= (uint32_t)(v & 0xff);
			h *= 16777619u;
			v >>= 8;
		}
	}
	xasprintf(&id, "<followup.%lld.%zu.%08x@%s>",
	    (long long)items[0].outbox_id, n, h, host);
	return id;
}

static void
outbox_env_add(char ***env, size_t *n, const char *name, const char *value)
{
	*env = xreallocarray(*env, *n + 2, sizeof **env);
	xasprintf(&(*env)[(*n)++], "%s=%s", name, value != NULL ? value : "");
	(*env)[*n] = NULL;
}

/* The small, clean environment a hook gets. Caller frees each string. */
static char **
outbox_hook_env(json_t *message, const char *message_id)
{
	json_t		*first, *f, *rep;
	char		**env = NULL, buf[32];
	const char	*home = getenv("HOME");
	size_t		 n = 0;

	first = json_array_get(json_object_get(message, "notices"), 0);
	f = json_object_get(first, "followup");
	rep = json_object_get(message, "rep");
	outbox_env_add(&env, &n, "PATH",
	    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	outbox_env_add(&env, &n, "HOME", home != NULL ? home : "/");
	outbox_env_add(&env, &n, "LANG", "C.UTF-8");
	outbox_env_add(&env, &n, "FOLLOWUP_MESSAGE_ID", message_id);
	outbox_env_add(&env, &n, "FOLLOWUP_REP",
	    json_string_value(json_object_get(rep, "name")));
	outbox_env_add(&env, &n, "FOLLOWUP_REP_EMAIL",
	    json_string_value(json_object_get(rep, "email")));
	outbox_env_add(&env, &n, "FOLLOWUP_KIND",
	    json_string_value(json_object_get(first, "kind")));
	snprintf(buf, sizeof buf, "%zu",
	    json_array_size(json_object_get(message, "notices")));
	outbox_env_add(&env, &n, "FOLLOWUP_COUNT", buf);
	outbox_env_add(&env, &n, "FOLLOWUP_LATE",
	    json_is_true(json_object_get(first, "late")) ? "1" : "0");
	if (f != NULL) {
		snprintf(buf, sizeof buf, "%lld", (long long)
		    json_integer_value(json_object_get(f, "id")));
		outbox_env_add(&env, &n, "FOLLOWUP_ID", buf);
		snprintf(buf, sizeof buf, "%lld", (long long)
		    json_integer_value(json_object_get(f, "contact_id")));
		outbox_env_add(&env, &n, "FOLLOWUP_CONTACT_ID", buf);
		outbox_env_add(&env, &n, "FOLLOWUP_DUE_AT",
		    json_string_value(json_object_get(f, "due_at")));
		outbox_env_add(&env, &n, "FOLLOWUP_FOLLOWUP_KIND",
		    json_string_value(json_object_get(f, "kind")));
	}
	return env;
}

static void
outbox_env_free(char **env)
{
	char	**p;

	for (p = env; p != NULL && *p != NULL; p++)
		free(*p);
	free(env);
}

/* Retry delay after a number of failed attempts. */
static long
outbox_backoff(int attempts)
{
	long	delay = (*outbox_cfp)->hook_retry;

	while (--attempts > 0 && delay < OUTBOX_RETRY_CAP)
		delay *= 2;
	return delay < OUTBOX_RETRY_CAP ? delay : OUTBOX_RETRY_CAP;
}

/*
 * Does a hook's failure say its notices can never be delivered?  The
 * sysexits codes of a bad request do (64 usage to 68 no such host: the
 * mail hook's 65 for an address it will not send to): every retry hands
 * the same notices to the same command, so retrying only puts off the
 * loud failure until hook_give_up.
 */
static int
outbox_hook_permanent(const struct hook_result *result)
{
	return result->exit_code >= EX_USAGE && result->exit_code <= EX_NOHOST;
}

/*
 * Have a group's failing deliveries been retried long enough?  The group
 * is judged as one, by its newest notice, so it is never split: a retry
 * carries the same notices, and so the same Message-ID, as the first
 * attempt.
 */
static int
outbox_give_up(const struct outbox_item *items, size_t n, time_t now)
{
	time_t	newest = items[0].fire_at;
	size_t	i;

	for (i = 1; i < n; i++) {
		if (items[i].fire_at > newest)
			newest = items[i].fire_at;
	}
	return now - newest >= (*outbox_cfp)->hook_give_up;
}

/* A hook run is over: mark its deliveries sent, or plan their retry. */
static void
outbox_hook_done_cb(const struct hook_result *result, void *arg)
{
	const char		*error = result->error;
	int			 ok = result->ok;
	struct outbox_run	*run = arg, **pp;
	struct outbox_item	*it;
	time_t			 now = time(NULL);
	long			 delay;
	size_t			 i;
	int			 attempts, give_up;

	for (pp = &outbox_runs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == run) {
			*pp = run->next;
			break;
		}
	}
	if (store_write_begin(outbox_store) != STORE_OK) {
		/* Left pending: its lease runs out and it is tried again. */
		log_warnx_limited("outbox: cannot record a hook result", NULL,
		    "outbox: cannot record a hook result; it will be "
		    "retried");
		goto out;
	}
	give_up = outbox_give_up(run->items, run->n, now) ||
	    outbox_hook_permanent(result);
	for (i = 0; i < run->n; i++) {
		it = &run->items[i];
		attempts = it->attempts + 1;
		if (ok) {
			store_delivery_set(outbox_store, it->outbox_id,
			    it->channel, "sent", attempts, now, NULL, now);
			continue;
		}
		if (give_up) {
			store_delivery_set(outbox_store, it->outbox_id,
			    it->channel, "failed", attempts, now, error, now);
			log_err("outbox: giving up on %s notice %lld for %s "
			    "after %d attempts over %lld s%s: %s", it->kind,
			    (long long)it->outbox_id, it->owner, attempts,
			    (long long)(now - it->fire_at),
			    outbox_hook_permanent(result) ? " (a permanent "
			    "failure, not retried)" : "", error);
			continue;
		}
		delay = outbox_backoff(attempts);
		store_delivery_set(outbox_store, it->outbox_id, it->channel,
		    "pending", attempts, now + delay, error, now);
		if (i == 0)
			log_warnx_limited("hooks: delivery failed",
			    it->owner, "hooks: %s; retry %d in %ld s", error,
			    attempts, delay);
	}
	store_write_end(outbox_store, 1);
	if (ok)
		log_info("outbox: %s delivered %zu notice%s for %s",
		    run->channel + strlen(OUTBOX_HOOK_PREFIX), run->n,
		    run->n == 1 ? "" : "s", run->items[0].owner);
out:
	outbox_items_free(run->items, run->n);
	free(run->channel);
	free(run);
	sched_changed();
}

/* Is this hook command still configured? */
static int
outbox_hook_configured(const char *command)
{
	const struct fu_config	*cf = *outbox_cfp;
	int			 i;

	for (i = 0; i < cf->nhooks; i++) {
		if (strcmp(cf->hooks[i], command) == 0)
			return 1;
	}
	return 0;
}

/*
 * Start the hook of channel for items[0..n) (one rep, one claim): the
 * notices travel as one message.  Return 0 if it started (the run owns
 * the items then), 1 if the hook cap is reached, -1 if it could not start
 * (*cause says why; caller frees).
 */
static int
outbox_hook_start(struct outbox_item *items, size_t n, time_t now,
    char **cause)
{
	const struct fu_config	*cf = *outbox_cfp;
	const char		*command = items[0].channel +
				    strlen(OUTBOX_HOOK_PREFIX);
	struct outbox_run	*run;
	json_t			*message, *notices, *notice;
	char			*id, *input, **env;
	size_t			 i;
	int			 rc;

	if (hooks_running() >= cf->hook_max)
		return 1;
	notices = json_array();
	for (i = 0; i < n; i++) {
		if ((notice = json_loads(items[i].payload, 0, NULL)) != NULL)
			json_array_append_new(notices, notice);
	}
	id = outbox_message_id(items, n);
	message = json_pack("{s:s s:O s:o}", "message_id", id, "rep",
	    json_object_get(json_array_get(notices, 0), "rep"), "notices",
	    notices);
	input = json_dumps(message, JSON_COMPACT);
	env = outbox_hook_env(message, id);
	run = xcalloc(1, sizeof *run);
	run->channel = xstrdup(items[0].channel);
	run->items = items;
	run->n = n;
	rc = hooks_spawn(command, env, input, strlen(input),
	    cf->hook_timeout * 1000, 0, outbox_hook_done_cb, run, cause);
	outbox_env_free(env);
	free(input);
	free(id);
	json_decref(message);
	if (rc != 0) {
		free(run->channel);
		free(run);
		log_warnx_limited("hooks: cannot start", NULL, "hooks: %s",
		    *cause);
		return -1;
	}
	run->next = outbox_runs;
	outbox_runs = run;
	/*
	 * A lease: should the daemon die now, the retry comes after the run
	 * would have been stopped (its time limit and a little), so a hook
	 * that outlives us is not raced, and a reminder is not held up
	 * longer than that.
	 */
	for (i = 0; i < n; i++)
		store_delivery_set(outbox_store, items[i].outbox_id,
		    items[i].channel, "pending", items[i].attempts,
		    now + cf->hook_timeout + OUTBOX_LEASE_SLACK, NULL, now);
	return 0;
}

/*
 * Do items a and b go out in one message?  Both for one rep on one
 * channel, claimed in the same pass: what fell due in the same second, or
 * what a clock jump or a restart found due at once (late notices and the
 * digest alike).  Nothing is held back for it: only what is due now is
 * grouped.  The claim alone decides, never the time a notice fell due, so
 * a group is the same at every retry and after a restart (and so is its
 * Message-ID): a failed notice retried while a later claim of the same
 * minute waits is not merged with it.
 */
static int
outbox_same_message(const struct outbox_item *a, const struct outbox_item *b)
{
	return strcmp(a->channel, b->channel) == 0 &&
	    strcmp(a->owner, b->owner) == 0 && a->claimed_at == b->claimed_at;
}

/*
 * Deliver what is due by now: journal deliveries at once (they feed the
 * watchers too), hook deliveries grouped per rep into one run each for
 * what one pass claimed, as many runs as the cap allows.  Return how
 * many deliveries were handled, or -1 if the store failed.
 */
int
outbox_dispatch(time_t now)
{
	struct outbox_collect	 c;
	struct outbox_item	*group;
	char			*cause;
	size_t			 i, j, k;
	int			 handled = 0, rc, attempts, give_up;
	time_t			 retry;

	memset(&c, 0, sizeof c);
	if (store_delivery_due(outbox_store, now, OUTBOX_DISPATCH_MAX,
	    outbox_collect_cb, &c) != STORE_OK)
		return -1;
	if (c.n == 0)
		return 0;
	if (store_write_begin(outbox_store) != STORE_OK) {
		outbox_items_free(c.items, c.n);
		return -1;
	}
	for (i = 0; i < c.n; i = j) {
		for (j = i + 1; j < c.n; j++) {
			if (!outbox_same_message(&c.items[i], &c.items[j]))
				break;
		}
		if (strcmp(c.items[i].channel, OUTBOX_JOURNAL) == 0) {
			for (k = i; k < j; k++) {
				outbox_journal(&c.items[k], now);
				store_delivery_set(outbox_store,
				    c.items[k].outbox_id, c.items[k].channel,
				    "sent", c.items[k].attempts + 1, now, NULL,
				    now);
				handled++;
			}
			continue;
		}
		if (!outbox_hook_configured(c.items[i].channel +
		    strlen(OUTBOX_HOOK_PREFIX))) {
			for (k = i; k < j; k++) {
				store_delivery_set(outbox_store,
				    c.items[k].outbox_id, c.items[k].channel,
				    "failed", c.items[k].attempts, now,
				    "the hook is no longer configured", now);
				log_err("outbox: notice %lld for %s not "
				    "delivered: %s is no longer configured",
				    (long long)c.items[k].outbox_id,
				    c.items[k].owner, c.items[k].channel);
			}
			continue;
		}
		/* The run takes its own copy of the group. */
		group = xcalloc(j - i, sizeof *group);
		memcpy(group, &c.items[i], (j - i) * sizeof *group);
		cause = NULL;
		rc = outbox_hook_start(group, j - i, now, &cause);
		if (rc == 0) {
			for (k = i; k < j; k++)
				memset(&c.items[k], 0, sizeof c.items[k]);
			handled += j - i;
			continue;
		}
		free(group);
		if (rc == 1)
			continue;	/* at the cap: a finishing run wakes us */
		give_up = outbox_give_up(&c.items[i], j - i, now);
		for (k = i; k < j; k++) {
			attempts = c.items[k].attempts + 1;
			retry = now + outbox_backoff(attempts);
			store_delivery_set(outbox_store, c.items[k].outbox_id,
			    c.items[k].channel, give_up ? "failed" : "pending",
			    attempts, retry, cause, now);
		}
		free(cause);
	}
	store_write_end(outbox_store, 1);
	outbox_items_free(c.items, c.n);
	return handled;
}

/* How many hook runs are delivering owner's notices (NULL: anyone's). */
static int
outbox_runs_of(const char *owner)
{
	struct outbox_run	*run;
	int			 n = 0;

	if (owner == NULL)
		return hooks_running();
	for (run = outbox_runs; run != NULL; run = run->next) {
		if (strcmp(run->items[0].owner, owner) == 0)
			n++;
	}
	return n;
}

/*
 * Add to a status reply the state of owner's deliveries, or with owner
 * NULL the team's (and each rep's with deliveries waiting or given up):
 * a rep never reads another rep's errors, which name their addresses.
 */
void
outbox_status(struct store *st, const char *owner, json_t *obj)
{
	struct store_outbox_stats	os;
	struct store_outbox_last	ol;

	if (store_outbox_stats(st, owner, &os) == STORE_OK)
		outbox_stats_json(obj, &os);
	if (store_outbox_last(st, owner, &ol) == STORE_OK)
		outbox_last_json(obj, &ol);
	store_outbox_last_clear(&ol);
	json_object_set_new(obj, "hooks_running",
	    json_integer(outbox_runs_of(owner)));
	if (owner == NULL)
		outbox_reps_json(st, obj);
}

static int
outbox_rep_cb(const struct store_outbox_rep *r, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s s:I s:I s:I}", "rep",
	    r->rep, "backlog", (json_int_t)r->backlog, "failing",
	    (json_int_t)r->failing, "failed", (json_int_t)r->failed));
	return 0;
}

/*
 * Set delivery_by_rep in obj: for each rep with deliveries waiting or
 * given up, {"rep", "backlog", "failing", "failed"}, by name.  For admins.
 */
int
outbox_reps_json(struct store *st, json_t *obj)
{
	json_t	*reps = json_array();

	if (store_outbox_reps(st, outbox_rep_cb, reps) != STORE_OK) {
		json_decref(reps);
		return -1;
	}
	json_object_set_new(obj, "delivery_by_rep", reps);
	return 0;
}
