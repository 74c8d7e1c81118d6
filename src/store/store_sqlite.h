/* store_sqlite.h - what the SQLite backend tells beyond store.h: how its
 * group commit went (for tests and measurements). */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct store;

struct store_sqlite_stats {
    uint64_t commits;     /* transactions committed by write calls */
    uint64_t calls;       /* write calls whose changes those commits made durable */
    uint64_t failed_amid; /* failed calls that undid their own changes amid other
                           * calls' in the same transaction */
};

/* The counts since the store was opened; zeros for a store of another backend. */
void store_sqlite_stats(struct store *s, struct store_sqlite_stats *ret);

/* At most n (1..64; default 64) write calls per transaction: 1 commits each
 * call on its own, as without group commit (for measuring what it brings). */
void store_sqlite_set_batch_max(struct store *s, size_t n);
