/* cache.h - what the hot path reads without the store.
 *
 * A map from a key (text) to a value (bytes), each entry tagged with the
 * store epoch (store.h: epoch.all) read BEFORE its value was loaded from the
 * store.  The caller judges whether an entry is still current with
 * epoch_current (server.h): an entry is served only while nothing it was
 * read from changed since (its project's stamp and the global one, in this
 * process or, on PostgreSQL, in any server on the database), and while it is
 * younger than CACHE_MAX_AGE_MS, so a change made through any server is seen
 * by the next request that starts after the change was acknowledged.  A
 * write to one project leaves the other projects' entries current.  Values
 * may be secret (reply bodies hold plaintext values): they are wiped when
 * dropped and copied out, never lent.  Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define CACHE_MAX_AGE_MS 60000
#define CACHE_MAX_BYTES (32u << 20) /* all entries, keys included */
/* Larger values are not kept: a list of 10,000 secrets (about 6 MB) is. */
#define CACHE_MAX_ENTRY (8u << 20)

struct cache;

int cache_new(struct cache **ret);
void cache_free(struct cache *c);
/* Copies the value of key, if it is younger than CACHE_MAX_AGE_MS, into out
 * (cleared first), and the epoch it was loaded at into *epoch.  Returns
 * whether it was there. */
bool cache_get(struct cache *c, const char *key, int64_t now_ms, struct buf *out, uint64_t *epoch);
/* Keeps a copy of value for key, loaded at epoch (not over a copy loaded at
 * a later one). */
void cache_put(struct cache *c, const char *key, uint64_t epoch, int64_t now_ms, const void *value,
               size_t len);
