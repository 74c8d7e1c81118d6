/* store_backend.h - what store_sql.c and its drivers (store_sqlite.c,
 * store_pg.c) share beyond store.h: the rules of folders and imports that do
 * not depend on the database, and the statements of backup and restore,
 * implemented once in store.c.  Not for the server: it talks to store.h only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/names.h"

/* The prefix of the paths below path: "/" for the root, else path + "/".
 * -EINVAL unless path is absolute and at most NAME_PATH_MAX long. */
int store_subtree_prefix(const char *path, char out[NAME_PATH_MAX + 2]);

/* Inserts the row of one folder unless it exists: > 0 if it did, 0 if the
 * row was there, or a negative errno. */
typedef int (*store_folder_insert_fn)(void *ctx, const char *path);

/* Calls insert for path and each of its ancestors, "/" last ("/a/b", "/a",
 * "/"): every folder that holds something has a row, and so have all its
 * ancestors.  1 if the row of path itself was new, else 0; or the first
 * failure (-EINVAL for a path that is not absolute or too long). */
int store_folders_ensure(const char *path, store_folder_insert_fn insert, void *ctx);

/* identity_rekey's arguments on their own: each membership complete and named
 * once (with the count checked against the database, that makes the sets
 * equal).  0 or -EINVAL. */
struct store_rekey_membership;
int store_identity_rekey_check(const char *identity_id, const uint8_t *public_key,
                               size_t public_key_len, const struct store_rekey_membership *m,
                               size_t n);

/* Sets the position of the import id. */
typedef int (*store_import_place_fn)(void *ctx, const char *id, int64_t position);

/* Numbers a folder's n imports (ids BORROWED, in their order) 1..n through
 * place, with moved (NULL: none; else one of ids) taken out and put at
 * position (clamped to 1..n).  0 or place's first failure. */
int store_imports_renumber(const char *const *ids, size_t n, const char *moved, int64_t position,
                           store_import_place_fn place, void *ctx);

/* Appends the SQL text of a backup or restore statement on table t to out: its rows in key order,
 * one INSERT of a row with '?' (SQLite) or '$n' (PostgreSQL) parameters, or a query with a row when
 * the table is not empty.  Names come from store_tables only. */
enum store_table_sql {
    STORE_SQL_SELECT,
    STORE_SQL_INSERT,
    STORE_SQL_INSERT_PG,
    STORE_SQL_ANY,
};
struct store_table;
struct buf;
int store_table_sql(const struct store_table *t, enum store_table_sql kind, struct buf *out);
