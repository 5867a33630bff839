/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * The store's backend interface.  The public store_* functions are the
 * domain API every caller uses; each dispatches to the backend the store
 * was opened with, a table of function pointers like OpenSMTPD's queue
 * backends.  A backend fills in one table per area (contacts, ...) and
 * sees only plain records and callbacks: no JSON, no configuration, no
 * event loop.  A second backend is a new set of files filling the same
 * tables.
 */

#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#include "followupd.h"

struct store_contact_backend {
	enum store_result (*insert)(struct store *, struct fu_contact *);
	enum store_result (*get)(struct store *, const char *, int64_t,
			      struct fu_contact *);
	enum store_result (*update)(struct store *, const struct fu_contact *);
	enum store_result (*cancel_pending)(struct store *, int64_t, time_t,
			      const char *, int *);
	enum store_result (*set_archived)(struct store *, const char *,
			      int64_t, int, time_t, int *);
	enum store_result (*reassign)(struct store *, int64_t, const char *,
			      time_t, int *);
	enum store_result (*list)(struct store *,
			      const struct store_contact_filter *,
			      store_contact_cb, void *);
	enum store_result (*dump)(struct store *, const char *,
			      store_contact_cb, void *);
	enum store_result (*find_email)(struct store *, const char *,
			      const char *, int64_t *, size_t, size_t *);
	enum store_result (*stale)(struct store *, const char *,
			      const struct store_stale *, time_t, int,
			      store_contact_cb, void *);
	enum store_result (*counts)(struct store *, const char *, time_t,
			      struct store_contact_counts *);
	enum store_result (*team_counts)(struct store *, int64_t *,
			      int64_t *, int64_t *);
};

struct store_backend {
	const char				*name;
	const struct store_contact_backend	*contact;
};

/*
 * Every backend's store begins with this, so the dispatchers find the
 * table without knowing the rest of the backend's struct.
 */
struct store_base {
	const struct store_backend	*backend;
};
#define STORE_BACKEND(st)	(((struct store_base *)(void *)(st))->backend)

const struct store_backend *store_backend_find(const char *);

/* The SQLite backend (store.c and store-*.c). */
extern const struct store_contact_backend store_sqlite_contact;
extern const struct store_backend store_sqlite;

#endif
