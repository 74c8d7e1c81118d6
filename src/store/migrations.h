/* migrations.h - the schema migrations embedded in the binary.
 *
 * migrations.c and migrations_pg.c are generated at build time by
 * gen_migrations.py from migrations/NNNN_name.sql (SQLite) and
 * migrations_pg/NNNN_name.sql (PostgreSQL: the same versions, names and
 * schema in PostgreSQL's dialect); each array is sorted by version, versions
 * are unique and start at 1.  Each migration's SQL runs inside one transaction and
 * must not contain BEGIN/COMMIT. */
#pragma once

#include <stddef.h>

struct store_migration {
    int version;      /* the number prefix of the file name */
    const char *name; /* the rest of the file name, without ".sql" */
    const char *sql;  /* the whole file */
};

extern const struct store_migration store_migrations[];
extern const size_t store_n_migrations;

extern const struct store_migration store_pg_migrations[];
extern const size_t store_pg_n_migrations;
