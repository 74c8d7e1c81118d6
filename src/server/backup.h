/* backup.h - `arca backup` / `arca restore`: a logical copy of a store in a
 * file, the same for every backend (a SQLite backup restores into PostgreSQL
 * and back).
 *
 * The file is JSON lines:
 *
 *   LINE      DESCRIPTION
 *   1         header {"format": "arca-backup", "version": 1, "schema": N,
 *             "store": "sqlite" | "postgres", "createdAt": ISO 8601}
 *   ...       per table of store_tables, in order: {"t": table, "c": [columns]},
 *             then one {"t": table, "r": [values]} per row, in key order;
 *             integers as JSON integers, text as strings, blobs as base64
 *             strings, NULL as null
 *   last      trailer {"end": true, "rows": {table: count, ...},
 *             "blake2b": base64 of the BLAKE2b-256 of every byte before it}
 *
 * It holds what the store holds: ciphertext, hashes of tokens, names and
 * e-mails; never the root key.  A line is at most BACKUP_LINE_MAX bytes.
 */
#pragma once

#include "base/buf.h"
#include "store/store.h"

#define BACKUP_FORMAT_VERSION 1
#define BACKUP_LINE_MAX (4u * 1024 * 1024) /* bytes of one line, newline included */

/* Writes a backup of s to path: 0600, through a temporary file in the same
 * directory that is synced and renamed over path, so path is either the
 * complete backup or untouched.  ret_rows (may be NULL): rows written.  err
 * receives a message on failure (never a value). */
int backup_write(struct store *s, const char *path, size_t *ret_rows, struct buf *err);

/* Checks the whole file, without a store: structure, limits, schema version,
 * row counts and hash.  -EINVAL for a malformed, truncated or edited file,
 * -ENOTSUP for a backup of another schema version.  ret_rows (may be NULL):
 * the rows it holds.  `arca restore` calls it before it opens (creates) the
 * store, `arca backup --verify` alone. */
int backup_check(const char *path, size_t *ret_rows, struct buf *err);

/* Inserts the file into s in one transaction, checking it again as it reads
 * (the file could change after backup_check): -ENOTEMPTY if s has any row,
 * and backup_check's errors; nothing is written then. */
int backup_restore(struct store *s, const char *path, size_t *ret_rows, struct buf *err);
