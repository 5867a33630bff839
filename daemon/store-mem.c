/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * SQLite's small blocks, kept for reuse by the thread that freed them.
 *
 * A write copies each page it touches into the statement journal, which
 * SQLite keeps in memory as a chain of 1,024-byte blocks, freed when the
 * write's savepoint ends: about fifty blocks taken and given back per
 * follow-up added.  SQLite's own cache of small blocks (lookaside) is left
 * out of the library Debian ships, and glibc's per-thread cache holds
 * seven blocks of a size, so most of them went through malloc's slow path:
 * about a sixth of the loop's time per add.
 *
 * Here each thread keeps up to MEM_KEEP freed blocks of each size class
 * (multiples of MEM_STEP bytes up to MEM_SMALL) and hands them out again
 * before asking malloc.  A block carries its class's size in a header,
 * so SQLite can ask how large it is.  Larger blocks (pages of the cache,
 * whole statements) go to malloc and free directly.  A thread's blocks
 * are given back when it ends.  Under AddressSanitizer the cache is left
 * out, so that a block used after it is freed is still caught.
 */

#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store-internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define MEM_CACHE	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_CACHE	0
#endif
#endif
#ifndef MEM_CACHE
#define MEM_CACHE	1
#endif

#define MEM_STEP	64	/* class sizes: multiples of this */
#define MEM_SMALL	1088	/* the largest class: a journal block */
#define MEM_CLASSES	(MEM_SMALL / MEM_STEP)
#define MEM_KEEP	128	/* freed blocks kept per class and thread */

/*
 * Before each block: its usable size, and while it is kept the next kept
 * block of its class (16 bytes keep the alignment).  The links point at
 * the heads, where malloc's blocks start, so that valgrind sees the kept
 * blocks as reachable.
 */
struct mem_head {
	uint64_t	 size;
	struct mem_head	*next;
};

struct mem_cache {
	struct mem_head	*head[MEM_CLASSES];
	unsigned	 n[MEM_CLASSES];
};

static __thread struct mem_cache	*mem_cache;
static pthread_key_t			 mem_key;

/* A thread ends: give its kept blocks back. */
static void
mem_cache_free(void *arg)
{
	struct mem_cache	*c = arg;
	struct mem_head		*h;
	int			 i;

	for (i = 0; i < MEM_CLASSES; i++) {
		while ((h = c->head[i]) != NULL) {
			c->head[i] = h->next;
			free(h);
		}
	}
	free(c);
	mem_cache = NULL;
}

/* This thread's cache, made on first use; NULL if none can be. */
static struct mem_cache *
mem_cache_get(void)
{
	struct mem_cache	*c;

	if (mem_cache != NULL)
		return mem_cache;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if (pthread_setspecific(mem_key, c) != 0) {
		free(c);
		return NULL;
	}
	return mem_cache = c;
}

/* The usable size a request of n bytes gets. */
static int
mem_roundup(int n)
{
	if (n <= 0)
		return MEM_STEP;
	if (n <= MEM_SMALL)
		return (n + MEM_STEP - 1) / MEM_STEP * MEM_STEP;
	return (n + 15) & ~15;
}

static void *
mem_malloc(int n)
{
	struct mem_head		*h;
	struct mem_cache	*c;
	int			 size = mem_roundup(n), i;

	if (size <= MEM_SMALL && (c = mem_cache_get()) != NULL) {
		i = size / MEM_STEP - 1;
		if ((h = c->head[i]) != NULL) {
			c->head[i] = h->next;
			c->n[i]--;
			return h + 1;
		}
	}
	if ((h = malloc(sizeof *h + (size_t)size)) == NULL)
		return NULL;
	h->size = (uint64_t)size;
	h->next = NULL;
	return h + 1;
}

static void
mem_release(void *p)
{
	struct mem_head		*h;
	struct mem_cache	*c;
	int			 i;

	if (p == NULL)
		return;
	h = (struct mem_head *)p - 1;
	if (h->size <= MEM_SMALL && (c = mem_cache_get()) != NULL) {
		i = (int)h->size / MEM_STEP - 1;
		if (c->n[i] < MEM_KEEP) {
			h->next = c->head[i];
			c->head[i] = h;
			c->n[i]++;
			return;
		}
	}
	free(h);
}

static int
mem_size(void *p)
{
	if (p == NULL)
		return 0;
	return (int)((struct mem_head *)p - 1)->size;
}

static void *
mem_realloc(void *p, int n)
{
	struct mem_head	*h;
	void		*q;
	int		 old = mem_size(p), size = mem_roundup(n);

	if (p == NULL)
		return mem_malloc(n);
	if (size == old)
		return p;
	if (old > MEM_SMALL && size > MEM_SMALL) {
		/* Large to large: malloc's own, which may grow in place. */
		if ((h = realloc((struct mem_head *)p - 1, sizeof *h +
		    (size_t)size)) == NULL)
			return NULL;
		h->size = (uint64_t)size;
		return h + 1;
	}
	if ((q = mem_malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, (size_t)(old < n ? old : n));
	mem_release(p);
	return q;
}

static int
mem_init(void *arg)
{
	(void)arg;
	return SQLITE_OK;
}

static void
mem_shutdown(void *arg)
{
	(void)arg;
}

static pthread_once_t	mem_once = PTHREAD_ONCE_INIT;
static int		mem_active;

static void
mem_setup(void)
{
	static const sqlite3_mem_methods methods = {
		mem_malloc, mem_release, mem_realloc, mem_size, mem_roundup,
		mem_init, mem_shutdown, NULL
	};

	if (pthread_key_create(&mem_key, mem_cache_free) != 0)
		return;
	/* Settable only before SQLite starts: a later call changes nothing. */
	mem_active = sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) ==
	    SQLITE_OK;
}

/*
 * Give SQLite the allocator above, once per process and before SQLite
 * starts; later calls do nothing.  Returns whether SQLite uses it.
 */
int
store_sqlite_mem_setup(void)
{
	if (MEM_CACHE)
		(void)pthread_once(&mem_once, mem_setup);
	return mem_active;
}
