/* cache.h - what the hot path reads without the store.
 *
 * A map from a key (text) to a value (bytes), each entry tagged with the
 * store epoch (store.h) read BEFORE its value was loaded from the store.  An
 * entry is served only while the store's epoch is still the same and it is
 * younger than CACHE_MAX_AGE_MS, so a change made through any server on the
 * database is seen by the next request that starts after the change was
 * acknowledged.  The cache holds only the entries of the newest epoch it has
 * seen: a newer epoch empties it.  Values may be secret (reply bodies hold
 * plaintext values): they are wiped when dropped and copied out, never lent.
 * Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define CACHE_MAX_AGE_MS 60000
#define CACHE_MAX_BYTES (32u << 20) /* all entries, keys included */
#define CACHE_MAX_ENTRY (4u << 20)  /* larger values are not kept */

struct cache;

int cache_new(struct cache **ret);
void cache_free(struct cache *c);
/* Copies the value of key, if it is current at epoch, into out (cleared
 * first).  Returns whether it was. */
bool cache_get(struct cache *c, const char *key, uint64_t epoch, int64_t now_ms, struct buf *out);
/* Keeps a copy of value for key, loaded at epoch (dropped if a newer epoch was
 * seen meanwhile). */
void cache_put(struct cache *c, const char *key, uint64_t epoch, int64_t now_ms, const void *value,
               size_t len);
