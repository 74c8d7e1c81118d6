/* store_sql.h - the driver interface under store_sql.c, in the shape of
 * SQLite's sqlite3_io_methods or Dovecot's lib-sql: store_sql.c writes every
 * operation of store.h once, as statements of one table run in transactions;
 * a driver (store_sqlite.c, store_pg.c) runs them on its database.  Not for
 * the server: it talks to store.h only.
 *
 * A driver gives: transactions of a kind (sql_driver.tx: connection, BEGIN,
 * the body, COMMIT, with whatever it does around them: SQLite's group commit,
 * PostgreSQL's pool and retries), one statement run with bound parameters
 * whose rows come back as store_value columns (sql_driver.exec), the number of
 * rows changed, errno mapping, and what is its own (migrations, the epoch,
 * backup and restore).  Statements are written once with $1, $2, ...
 * parameters; a statement whose text differs between the two (a lock, an
 * index-friendly comparison) carries a per-dialect override. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SQL_MAX_PARAMS 272 /* audit_append's INSERT of 16 records */
#define SQL_ERR_MAX 256    /* longest text store_error keeps, NUL included */

/* Advisory lock keys (PostgreSQL; SQLite's writer is alone): 'arca' in the
 * high half, what in the low one. */
#define SQL_LOCK(n) ((int64_t)0x61726361 << 32 | (n))
#define SQL_LOCK_MIGRATE SQL_LOCK(1)
#define SQL_LOCK_AUDIT SQL_LOCK(2)
#define SQL_LOCK_BOOTSTRAP SQL_LOCK(3)

enum sql_dialect {
    SQL_SQLITE,
    SQL_PG,
};

enum sql_tx {
    SQL_TX_NONE,  /* one read statement, no transaction */
    SQL_TX_READ,  /* several reads from one snapshot */
    SQL_TX_WRITE, /* a write: SQLite's single writer, PostgreSQL READ COMMITTED with the
                   * locks the body takes (SELECT ... FOR UPDATE, advisory locks) */
};

struct sql_store;

/* Projects a transaction (SQLite: a batch) changed alone, at most. */
#define SQL_TOUCHED_MAX 8

/* The part of a driver's connection store_sql.c sees: its first member. */
struct sql_conn {
    struct sql_store *store;
    bool dirty;            /* ran a statement that moves the epoch (store.h) */
    bool defer;            /* sql_defer: the running statement's answer may wait */
    struct sql_conn *next; /* a pool's free list */
    /* What the dirty statements changed (store.h epoch): the projects in
     * touched, and everything if wide.  scope: the project the running
     * call's writes are confined to, NULL if not (store_sql.c). */
    const char *scope;
    bool wide;
    size_t n_touched;
    char touched[SQL_TOUCHED_MAX][STORE_ID_LEN + 1];
};
/* Forgets what c changed (with dirty): a new transaction. */
void sql_touched_reset(struct sql_conn *c);

/* A pool of at most max connections (SQLite's readers, PostgreSQL's), opened
 * lazily by open and used by one thread at a time: sql_pool_get waits only
 * when all of them are busy. */
struct sql_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;   /* signalled when a connection is returned or dropped */
    struct sql_conn *free; /* idle connections */
    size_t n, max;         /* connections open or being opened (idle or busy) */
    int (*open)(struct sql_store *s, struct sql_conn **ret);
};
void sql_pool_init(struct sql_pool *p, size_t max,
                   int (*open)(struct sql_store *s, struct sql_conn **ret));
/* Closes the idle connections with close (every one, when no call is
 * running). */
void sql_pool_destroy(struct sql_pool *p, void (*close)(struct sql_conn *c));
int sql_pool_get(struct sql_pool *p, struct sql_store *s, struct sql_conn **ret);
void sql_pool_put(struct sql_pool *p, struct sql_conn *c);
/* Closes c (broken) and every idle connection with close: after a database
 * restart they all are dead. */
void sql_pool_drop(struct sql_pool *p, struct sql_conn *c, void (*close)(struct sql_conn *c));

/* Parameters $1.. of a statement: fmt has one letter per value, 't' text,
 * 'b' blob, 'i' integer; a NULL ptr of 't' or 'b' is NULL. */
struct sql_params {
    const char *fmt; /* BORROWED */
    int n;
    struct store_value v[SQL_MAX_PARAMS]; /* BORROWED memory */
};

/* A statement to run: slot identifies it (prepared once per connection). */
struct sql_stmt {
    unsigned slot;
    const char *name; /* for error messages */
    const char *sql;  /* in the driver's dialect, $n parameters */
};
#define SQL_N_SLOTS 512 /* statements and audit_query's shapes */

/* Receives one result row: n columns, BORROWED until it returns.  Integers
 * (and booleans) in .i, text and blobs at .ptr/.len. */
typedef int (*sql_row_fn)(struct sql_conn *c, void *ctx, const struct store_value *cols, size_t n);

/* The body of a transaction: >= 0 on success (tx's result).  It writes its
 * outputs only then: a PostgreSQL body may run again. */
typedef int (*sql_body_fn)(struct sql_conn *c, void *arg);

struct sql_driver {
    const char *name; /* "sqlite", "postgres": prefixes error messages */
    enum sql_dialect dialect;
    int (*tx)(struct store *s, enum sql_tx kind, sql_body_fn body, void *arg);
    /* Runs st with p, calling row (if not NULL) for each result row.  The
     * number of rows changed (or returned), or a negative errno with
     * the thread's error text set (sql_set_err). */
    int (*exec)(struct sql_conn *c, const struct sql_stmt *st, const struct sql_params *p,
                sql_row_fn row, void *ctx);
    int (*epoch)(struct store *s, struct store_epoch *ret);
    int (*project_epoch)(struct store *s, const char *project_id, uint64_t *ret);
    int (*backup)(struct store *s, store_backup_fn fn, void *ctx);
    int (*restore)(struct store *s, store_restore_fn next, void *ctx);
    void (*close)(struct store *s);
};

/* A driver's table, from its functions prefix_tx, prefix_exec, prefix_epoch,
 * prefix_backup, prefix_restore and prefix_close. */
#define SQL_DRIVER(name_, dialect_, prefix)                                                        \
    {                                                                                              \
        .name = name_, .dialect = dialect_, .tx = prefix##_tx, .exec = prefix##_exec,              \
        .epoch = prefix##_epoch, .project_epoch = prefix##_project_epoch,                          \
        .backup = prefix##_backup, .restore = prefix##_restore, .close = prefix##_close,           \
    }

/* The first member of a driver's store. */
struct sql_store {
    struct store base;
    const struct sql_driver *drv;
};

extern const struct store_ops store_sqlite_ops, store_pg_ops;

/* Sets up s (zeroed) for drv: 0 (nothing of it can fail now that the error
 * text is per thread). */
int sql_store_init(struct sql_store *s, const struct sql_driver *drv, const struct store_ops *ops);

/* Sets the calling thread's error text (store_error): its first line only
 * (libpq's later lines are details, which may quote values), at most
 * SQL_ERR_MAX.  s is the store failing (its driver's calls are this thread's). */
void sql_set_err(struct sql_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Binds one more parameter: kind 't' (ptr NULL: NULL), 'b' (len bytes at
 * ptr, NULL: NULL) or 'i' (v). */
int sql_bind_one(struct sql_params *p, char kind, const void *ptr, size_t len, int64_t v);

/* Statements of store_sql.c's table the drivers use too. */
enum sql_common_stmt {
    SQL_ST_LOCK,
    SQL_ST_EPOCH,
    SQL_ST_SCHEMA_VERSION,
    SQL_ST_MIGRATION_COUNT,
    SQL_ST_MIGRATION_DONE,
    SQL_ST_MIGRATION_RECORD,
};
/* PostgreSQL's epoch (store.h), shared by the servers on a database: the
 * sequence arca_epoch and, per project ('' for the global stamp), the table
 * arca_epochs (created with the sequence, not data: never backed up).
 * sql_epoch_stamp runs after c's transaction committed, on c, and stamps
 * what it changed; the readers run anywhere. */
int sql_epoch_stamp(struct sql_conn *c);
int sql_epoch_read(struct sql_conn *c, struct store_epoch *ret);
int sql_project_epoch_read(struct sql_conn *c, const char *project_id, uint64_t *ret);

/* Runs statement id of store_sql.c's table (the drivers name theirs by enum
 * sql_common_stmt), bound from fmt as above: the rows it changed (or
 * returned). */
int sql_run(struct sql_conn *c, unsigned id, const char *fmt, ...);
/* Runs a statement whose answer matters only if it failed: 0, or a failure of
 * it or of a statement sent before it.  A driver may send it together with
 * the next statement that needs an answer, or with COMMIT (PostgreSQL's
 * pipeline: one round trip for all of them), so its failure may come from
 * that call instead; the transaction fails either way. */
int sql_defer(struct sql_conn *c, unsigned id, const char *fmt, ...);
/* A query of at most one row: *ret its first column (0 without a row); 1 if
 * there was a row, 0 if not, or a negative errno. */
int sql_int(struct sql_conn *c, int64_t *ret, unsigned id, const char *fmt, ...);
