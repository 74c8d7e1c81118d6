/* store_sqlite.c - the embedded SQLite driver of store_sql.h.
 *
 * One database file, <dir>/arca.db, in WAL mode with synchronous=FULL: a call
 * that returned 0 is on disk, and readers never wait for the writer.
 *
 * Threads: one write connection behind a mutex (write_lock), with group
 * commit: concurrent mutating calls share one transaction and one fsync.  A
 * call takes write_lock, opens the transaction (BEGIN IMMEDIATE) unless one is
 * open, and does its work inside its own SAVEPOINT, so that its failure rolls
 * back its own changes only.  When it is done, if another call is waiting for
 * write_lock and the batch has room, it hands the open transaction on and waits
 * until someone commits it; else it COMMITs and gives every waiting call of the
 * batch the COMMIT's result (sq_write_end).  A call still returns only once its
 * changes are on disk, and fails if they are not; if SQLite rolls the whole
 * transaction back on its own (a full disk, an I/O error), every call of the
 * batch fails.  Every write call ends in sq_conn_releasep, with write_lock held.
 * As a call may wait for the calls after it, a callback of a write call
 * (audit_append's chain, restore's next) must not take a lock that a caller
 * of the store may hold across a write call.
 * Reads take a connection from a pool of at most SQ_MAX_READERS (opened
 * lazily, kept on a free list, marked query_only) and wait only when all of
 * them are busy.  A connection is used by one thread at a time (a writer call
 * waiting for its batch has reset its statements), so it is opened without
 * SQLite's own mutex.
 *
 * Statements (store_sql.c's, their $n parameters read as ?n) are prepared
 * once per connection, on first use, in the slot store_sql.c gives them.
 *
 * A connection is borrowed into a cleanup variable (_cleanup_conn_); returning
 * it rolls back a transaction that was not committed, so every early return of
 * a write undoes what it did.
 *
 * At open, the migrations of migrations.h newer than the newest version in
 * schema_migrations are applied in order, all in one transaction; a database
 * written by a newer binary is refused.
 */
#include "store/store_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "store/migrations.h"
#include "store/store_backend.h"
#include "store/store_sql.h"

#define SQ_MAX_READERS 8
#define SQ_BATCH_MAX 64       /* write calls at most in one transaction */
#define SQ_EPOCH_STRIPES 4096 /* project stamps (a power of two) */
#define SQ_BUSY_TIMEOUT_MS 5000

#ifndef _cleanup_
#define _cleanup_(f) __attribute__((cleanup(f)))
#endif

/* Transaction control, the driver's own statements. */
enum sq_ctl {
    ST_BEGIN,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST__CTL,
};
static const char *const sq_ctl_sql[ST__CTL] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT op",
    [ST_RELEASE] = "RELEASE op",
    [ST_ROLLBACK_TO] = "ROLLBACK TO op",
};

struct sq_store;

/* Where the write call holding write_lock is (writer connection only). */
enum sq_op {
    SQ_OP_NONE,  /* no savepoint of its own (yet) */
    SQ_OP_OPEN,  /* working inside its savepoint "op" */
    SQ_OP_ENDED, /* committed, or handed on with nothing left to do */
};

/* A write call waiting for the COMMIT of its batch (on its stack). */
struct sq_waiter {
    struct sq_waiter *next;
    int r;                 /* the COMMIT's result */
    char err[SQL_ERR_MAX]; /* its error text (store_error is per thread) */
    bool done;
};

struct sq_conn {
    struct sql_conn base; /* must be first; base.dirty: the writer moves the epoch */
    sqlite3 *db;
    sqlite3_stmt *stmts[SQL_N_SLOTS]; /* prepared on first use, finalized at close */
    sqlite3_stmt *ctl[ST__CTL];       /* likewise */
    struct sq_store *owner;
    bool writer;   /* the write connection (else a pooled reader) */
    enum sq_op op; /* writer: the call holding write_lock */
};

struct sq_store {
    struct sql_store base;      /* must be first */
    char *db_path;              /* OWNED */
    pthread_mutex_t write_lock; /* held while a write call uses the writer */
    pthread_cond_t batch_cond;  /* broadcast when a batch is committed (or failed) */
    struct sq_conn *writer;
    unsigned wanting;                /* calls waiting to take write_lock (atomic) */
    struct sq_waiter *waiters;       /* calls waiting for the open transaction's COMMIT */
    size_t batch_n;                  /* calls done in the open transaction */
    size_t batch_max;                /* at most, SQ_BATCH_MAX unless set */
    struct store_sqlite_stats stats; /* under write_lock */
    struct sql_pool readers;
    /* store.h epoch: one process owns the file.  all starts at the wall
     * clock in microseconds, so that a cursor of an earlier run (watch.c) is
     * older than this run's global stamp; a project's stamp is its stripe's,
     * by a hash of its id (projects sharing a stripe only stamp more). */
    _Atomic uint64_t epoch_all, epoch_global;
    _Atomic uint64_t epoch_stripes[SQ_EPOCH_STRIPES];
};

static struct sq_store *sq(struct store *s)
{
    return (struct sq_store *)s;
}

/* ---- the epoch (store.h) ---- */

static _Atomic uint64_t *sq_stripe(struct sq_store *s, const char *project_id)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */

    for (const char *p = project_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return &s->epoch_stripes[h & (SQ_EPOCH_STRIPES - 1)];
}

/* *stamp = max(*stamp, e): stamps never move back. */
static void sq_stamp(_Atomic uint64_t *stamp, uint64_t e)
{
    uint64_t old = atomic_load(stamp);

    while (old < e && !atomic_compare_exchange_weak(stamp, &old, e))
        ;
}

/* After the COMMIT of what w changed: all moves, then what changed is
 * stamped with the new value. */
static void sq_epoch_move(struct sq_store *s, struct sql_conn *w)
{
    uint64_t e;

    if (!w->dirty)
        return;
    e = atomic_fetch_add(&s->epoch_all, 1) + 1;
    if (w->wide || w->n_touched == 0)
        sq_stamp(&s->epoch_global, e);
    else
        for (size_t i = 0; i < w->n_touched; i++)
            sq_stamp(sq_stripe(s, w->touched[i]), e);
}

static int sq_epoch(struct store *s, struct store_epoch *ret)
{
    ret->all = atomic_load(&sq(s)->epoch_all);
    ret->global = atomic_load(&sq(s)->epoch_global);
    return 0;
}

static int sq_project_epoch(struct store *s, const char *project_id, uint64_t *ret)
{
    *ret = atomic_load(sq_stripe(sq(s), project_id));
    return 0;
}

static int sq_errno(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY: /* the row referred to does not exist */
        return -ENOENT;
    case SQLITE_CONSTRAINT_CHECK: /* a value the schema does not allow */
    case SQLITE_CONSTRAINT_NOTNULL:
        return -EINVAL;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_TOOBIG:
        return -E2BIG;
    default:
        return -EIO;
    }
}

/* SQLite's messages name tables, columns and constraints, never bound values. */
static int sq_fail(struct sq_conn *c, int rc, const char *what)
{
    sql_set_err(&c->owner->base, "sqlite: %s: %s", what,
                c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    return sq_errno(rc);
}

/* 1: a row is there, 0: no more rows, or a negative errno. */
static int sq_step(struct sq_conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return sq_fail(c, rc, "backup");
}

static int sq_corrupt(struct sq_conn *c, sqlite3_stmt *st, int col)
{
    sql_set_err(&c->owner->base, "sqlite: unexpected value in column '%s'",
                sqlite3_column_name(st, col));
    return -EIO;
}

/* Runs a transaction control statement; sq_run_quiet leaves the error text
 * of what failed before (rollbacks). */
static int sq_ctl(struct sq_conn *c, enum sq_ctl id, bool quiet)
{
    int rc = SQLITE_OK;

    if (!c->ctl[id])
        rc = sqlite3_prepare_v3(c->db, sq_ctl_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->ctl[id],
                                NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(c->ctl[id]);
        sqlite3_reset(c->ctl[id]);
    }
    if (rc == SQLITE_DONE)
        return 0;
    return quiet ? -EIO : sq_fail(c, rc, sq_ctl_sql[id]);
}
#define sq_run(c, id, fmt) sq_ctl(c, id, false)
#define sq_run_quiet(c, id) sq_ctl(c, id, true)

/* ---- running statements ---- */

/* store_sql.c's text with its $n read as ?n (SQLite would number "$1"-style
 * names by first appearance, not by n). */
static int sq_prepare(struct sq_conn *c, const struct sql_stmt *st, sqlite3_stmt **ret)
{
    _cleanup_free_ char *sql = strdup(st->sql);
    int rc;

    if (!sql)
        return -ENOMEM;
    for (char *p = sql; *p; p++)
        if (*p == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, ret, NULL);
    return rc == SQLITE_OK ? 0 : sq_fail(c, rc, st->name);
}

static int sq_bind(struct sq_conn *c, sqlite3_stmt *st, const char *what,
                   const struct sql_params *p)
{
    for (int i = 0; i < p->n; i++) {
        const struct store_value *v = &p->v[i];
        int rc;
        if (v->null)
            rc = sqlite3_bind_null(st, i + 1);
        else if (p->fmt[i] == 'i')
            rc = sqlite3_bind_int64(st, i + 1, v->i);
        else if (p->fmt[i] == 't')
            rc = sqlite3_bind_text64(st, i + 1, v->ptr, v->len, SQLITE_STATIC, SQLITE_UTF8);
        else
            rc = sqlite3_bind_blob64(st, i + 1, v->len ? v->ptr : "", v->len, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return sq_fail(c, rc, what);
    }
    return 0;
}

/* Column values of the current row (BORROWED until the next step). */
static int sq_row(sqlite3_stmt *st, struct store_value *v, int n)
{
    for (int i = 0; i < n; i++) {
        int type = sqlite3_column_type(st, i);
        v[i] = (struct store_value){.null = type == SQLITE_NULL};
        if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
            v[i].i = sqlite3_column_int64(st, i);
        } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
            v[i].ptr = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, i)
                                           : sqlite3_column_blob(st, i);
            v[i].len = (size_t)sqlite3_column_bytes(st, i);
            if (!v[i].ptr && v[i].len)
                return -ENOMEM;
        }
    }
    return 0;
}

static int sq_exec(struct sql_conn *sc, const struct sql_stmt *stmt, const struct sql_params *p,
                   sql_row_fn row, void *ctx)
{
    struct sq_conn *c = (struct sq_conn *)sc;
    struct store_value v[32];
    sqlite3_stmt *st;
    int n, rc, r = 0, rows = 0;

    if (!c->stmts[stmt->slot] && (r = sq_prepare(c, stmt, &c->stmts[stmt->slot])) < 0)
        return r;
    st = c->stmts[stmt->slot];
    n = sqlite3_column_count(st);
    if (n > 32)
        return -E2BIG;
    r = sq_bind(c, st, stmt->name, p);
    while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        if (row && (r = sq_row(st, v, n)) >= 0)
            r = row(&c->base, ctx, v, (size_t)n);
    }
    if (r >= 0 && rc != SQLITE_DONE)
        r = sq_fail(c, rc, stmt->name);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (r < 0)
        return r;
    return n ? rows : sqlite3_changes(c->db);
}

/* Gives every call waiting for the open transaction's COMMIT its result r. */
static void sq_batch_done(struct sq_store *s, int r)
{
    /* after the COMMIT (or the rollback), before any call of the batch
     * returns: readers loading from now on are current for the new epoch */
    sq_epoch_move(s, &s->writer->base);
    sql_touched_reset(&s->writer->base);
    for (struct sq_waiter *w = s->waiters; w; w = w->next) {
        w->r = r;
        if (r < 0)
            snprintf(w->err, sizeof(w->err), "%s", store_error());
        w->done = true;
    }
    if (r == 0) {
        s->stats.commits++;
        s->stats.calls += s->batch_n;
    }
    s->waiters = NULL;
    s->batch_n = 0;
    pthread_cond_broadcast(&s->batch_cond);
}

/* The end of a write call's work (write_lock held): ok if its savepoint was
 * released into the open transaction, else its changes were rolled back.
 * Commits the transaction unless another call is waiting for write_lock and
 * the batch has room: then an ok call waits for someone to commit it, and a
 * failed one leaves it to the next.  Returns, for an ok call, whether its
 * changes are on disk (the COMMIT's result), else 0. */
static int sq_write_end(struct sq_conn *c, bool ok)
{
    struct sq_store *s = c->owner;
    struct sq_waiter w = {0};

    c->op = SQ_OP_ENDED;
    if (sqlite3_get_autocommit(c->db)) {
        /* None was begun, or SQLite rolled the batch back on its own. */
        if (s->batch_n)
            sq_batch_done(s, -EIO);
        return ok ? -EIO : 0;
    }
    if (ok)
        s->batch_n++;
    else if (s->batch_n)
        s->stats.failed_amid++;
    else {
        (void)sq_run_quiet(c, ST_ROLLBACK); /* nothing of anyone's in it */
        return 0;
    }
    if (!__atomic_load_n(&s->wanting, __ATOMIC_RELAXED) || s->batch_n >= s->batch_max) {
        int r = sq_run(c, ST_COMMIT, "");
        if (r < 0 && !sqlite3_get_autocommit(c->db))
            (void)sq_run_quiet(c, ST_ROLLBACK);
        sq_batch_done(s, r);
        return ok ? r : 0;
    }
    if (!ok)
        return 0;
    /* The next call uses the connection meanwhile: leave no statement busy. */
    for (sqlite3_stmt *st = sqlite3_next_stmt(c->db, NULL); st; st = sqlite3_next_stmt(c->db, st))
        if (sqlite3_stmt_busy(st))
            sqlite3_reset(st);
    w.next = s->waiters;
    s->waiters = &w;
    while (!w.done)
        pthread_cond_wait(&s->batch_cond, &s->write_lock);
    c->op = SQ_OP_ENDED; /* write_lock is ours again, the connection's state too */
    if (w.r < 0)
        sql_set_err(&s->base, "%s", w.err);
    return w.r;
}

/* A reader's BEGIN takes its snapshot; the writer's opens the transaction of
 * a batch unless one is open, and the call's own savepoint in it. */
static int sq_begin(struct sq_conn *c)
{
    int r;

    if (!c->writer)
        return sq_run(c, ST_BEGIN, "");
    if (sqlite3_get_autocommit(c->db) && (r = sq_run(c, ST_BEGIN_IMMEDIATE, "")) < 0)
        return r;
    if ((r = sq_run(c, ST_SAVEPOINT, "")) < 0)
        return r;
    c->op = SQ_OP_OPEN;
    return 0;
}

/* 0 once the call's changes are on disk, or a negative errno (and then none
 * of them is).  The writer is not to be used after it. */
static int sq_commit(struct sq_conn *c)
{
    int r;

    if (!c->writer)
        return sq_run(c, ST_COMMIT, "");
    if ((r = sq_run(c, ST_RELEASE, "")) < 0)
        return r; /* still SQ_OP_OPEN: sq_conn_releasep rolls it back */
    return sq_write_end(c, true);
}

/* ---- connections ---- */

static void sq_conn_close(struct sq_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SQL_N_SLOTS; i++)
        sqlite3_finalize(c->stmts[i]);
    for (size_t i = 0; i < ST__CTL; i++)
        sqlite3_finalize(c->ctl[i]);
    sqlite3_close(c->db);
    free(c);
}

static int sq_conn_exec(struct sq_conn *c, const char *sql, const char *what)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        sql_set_err(&c->owner->base, "sqlite: %s: %s", what, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return sq_errno(rc);
    }
    return 0;
}

static int sq_conn_open(struct sq_store *s, bool writer, struct sq_conn **ret)
{
    struct sq_conn *c;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
    int rc, r;

    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->owner = s;
    c->base.store = &s->base;
    c->writer = writer;

    rc = sqlite3_open_v2(s->db_path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        sql_set_err(&s->base, "cannot open '%s': %s", s->db_path,
                    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sq_conn_close(c);
        return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);

    if (writer) {
        /* Persistent in the file; answered with the mode actually in effect. */
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            r = sq_fail(c, rc, "journal_mode");
            sqlite3_finalize(st);
            sq_conn_close(c);
            return r;
        }
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        bool wal = mode && strcmp(mode, "wal") == 0;
        sqlite3_finalize(st);
        if (!wal) {
            sql_set_err(&s->base, "cannot switch '%s' to WAL mode", s->db_path);
            sq_conn_close(c);
            return -EIO;
        }
    }

    r = sq_conn_exec(c,
                     writer ? "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; "
                              "PRAGMA trusted_schema = OFF;"
                            : "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; "
                              "PRAGMA trusted_schema = OFF; PRAGMA query_only = ON;",
                     "pragmas");
    if (r < 0) {
        sq_conn_close(c);
        return r;
    }
    *ret = c;
    return 0;
}

static struct sq_conn *sq_writer(struct sq_store *s)
{
    __atomic_add_fetch(&s->wanting, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&s->write_lock);
    __atomic_sub_fetch(&s->wanting, 1, __ATOMIC_RELAXED);
    return s->writer;
}

static int sq_reader_open(struct sql_store *s, struct sql_conn **ret)
{
    return sq_conn_open((struct sq_store *)s, false, (struct sq_conn **)ret);
}

static void sq_reader_close(struct sql_conn *c)
{
    sq_conn_close((struct sq_conn *)c);
}

static int sq_reader(struct sq_store *s, struct sq_conn **ret)
{
    return sql_pool_get(&s->readers, &s->base, (struct sql_conn **)ret);
}

static void sq_conn_releasep(struct sq_conn **cp)
{
    struct sq_conn *c = *cp;
    struct sq_store *s;

    if (!c)
        return;
    s = c->owner;
    /* Statements are reset by their own cleanup, which runs first. */
    if (c->writer) {
        /* The end of every write call.  Undo the call's own changes if it
         * returned early; if that fails, the whole batch. */
        if (c->op == SQ_OP_OPEN &&
            (sq_run_quiet(c, ST_ROLLBACK_TO) < 0 || sq_run_quiet(c, ST_RELEASE) < 0) &&
            !sqlite3_get_autocommit(c->db))
            (void)sq_run_quiet(c, ST_ROLLBACK);
        if (c->op != SQ_OP_ENDED)
            (void)sq_write_end(c, false);
        c->op = SQ_OP_NONE;
        pthread_mutex_unlock(&s->write_lock);
        return;
    }
    if (!sqlite3_get_autocommit(c->db))
        (void)sq_run_quiet(c, ST_ROLLBACK);
    sql_pool_put(&s->readers, &c->base);
}
#define _cleanup_conn_ _cleanup_(sq_conn_releasep)

/* Runs body in one transaction: a read on a pooled reader (one statement in
 * autocommit, or several in one snapshot), a write on the writer, in its own
 * savepoint of the batch's transaction (group commit). */
static int sq_tx(struct store *s, enum sql_tx kind, sql_body_fn body, void *arg)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    if (kind == SQL_TX_WRITE)
        c = sq_writer(sq(s));
    else if ((r = sq_reader(sq(s), &c)) < 0)
        return r;
    if (kind != SQL_TX_NONE && (r = sq_begin(c)) < 0)
        return r;
    r = body(&c->base, arg);
    if (r < 0 || kind == SQL_TX_NONE)
        return r;
    return sq_commit(c);
}

/* ---- backup and restore ----
 * Statements assembled by store_table_sql from store_tables' names, prepared
 * once per table and finalized at its end: they run once per backup. */

static void sq_finalizep(sqlite3_stmt **st)
{
    sqlite3_finalize(*st);
}
#define _cleanup_final_ _cleanup_(sq_finalizep)

static int sq_prepare_table(struct sq_conn *c, const struct store_table *t,
                            enum store_table_sql kind, sqlite3_stmt **ret)
{
    _cleanup_(buf_release) struct buf sql = BUF_INIT;
    int rc, r;

    r = store_table_sql(t, kind, &sql);
    if (r < 0)
        return r;
    rc = sqlite3_prepare_v2(c->db, buf_str(&sql), -1, ret, NULL);
    return rc == SQLITE_OK ? 0 : sq_fail(c, rc, t->name);
}

static int sq_backup_table(struct sq_conn *c, const struct store_table *t, store_backup_fn fn,
                           void *ctx)
{
    _cleanup_final_ sqlite3_stmt *st = NULL;
    struct store_value v[32];
    int r;

    if (t->n_cols > ELEMENTSOF(v))
        return -E2BIG;
    if ((r = sq_prepare_table(c, t, STORE_SQL_SELECT, &st)) < 0 || (r = fn(ctx, t, NULL)) < 0)
        return r;
    while ((r = sq_step(c, st)) > 0) {
        for (size_t i = 0; i < t->n_cols; i++) {
            int type = sqlite3_column_type(st, (int)i);
            v[i] = (struct store_value){.null = type == SQLITE_NULL};
            if (v[i].null)
                continue;
            if (t->types[i] == 'i') {
                if (type != SQLITE_INTEGER)
                    return sq_corrupt(c, st, (int)i);
                v[i].i = sqlite3_column_int64(st, (int)i);
                continue;
            }
            v[i].ptr = t->types[i] == 't' ? (const void *)sqlite3_column_text(st, (int)i)
                                          : sqlite3_column_blob(st, (int)i);
            v[i].len = (size_t)sqlite3_column_bytes(st, (int)i);
            if (!v[i].ptr && v[i].len)
                return -ENOMEM;
            v[i].ptr = v[i].ptr ? v[i].ptr : "";
        }
        r = fn(ctx, t, v);
        if (r < 0)
            return r;
    }
    return r;
}

static int sq_backup(struct store *s, store_backup_fn fn, void *ctx)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    /* A deferred BEGIN: the first SELECT takes the snapshot every later one
     * reads, and the writer goes on in the WAL meanwhile. */
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_begin(c)) < 0)
        return r;
    for (size_t i = 0; i < store_n_tables && r >= 0; i++)
        r = sq_backup_table(c, &store_tables[i], fn, ctx);
    return r < 0 ? r : sq_commit(c);
}

static int sq_restore_row(struct sq_conn *c, sqlite3_stmt *st, const struct store_table *t,
                          const struct store_value *v)
{
    int rc = SQLITE_OK;

    for (size_t i = 0; i < t->n_cols && rc == SQLITE_OK; i++) {
        int idx = (int)i + 1;
        if (v[i].null)
            rc = sqlite3_bind_null(st, idx);
        else if (t->types[i] == 'i')
            rc = sqlite3_bind_int64(st, idx, v[i].i);
        else if (t->types[i] == 't')
            rc = sqlite3_bind_text64(st, idx, v[i].ptr, v[i].len, SQLITE_STATIC, SQLITE_UTF8);
        else
            rc = sqlite3_bind_blob64(st, idx, v[i].ptr, v[i].len, SQLITE_STATIC);
    }
    if (rc != SQLITE_OK)
        return sq_fail(c, rc, t->name);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(c, rc, t->name);
}

static int sq_restore(struct store *s, store_restore_fn next, void *ctx)
{
    _cleanup_conn_ struct sq_conn *c = sq_writer(sq(s));
    _cleanup_final_ sqlite3_stmt *ins = NULL;
    const struct store_table *cur = NULL, *t;
    const struct store_value *row;
    int r;

    if ((r = sq_begin(c)) < 0)
        return r;
    for (size_t i = 0; i < store_n_tables; i++) {
        _cleanup_final_ sqlite3_stmt *any = NULL;
        if ((r = sq_prepare_table(c, &store_tables[i], STORE_SQL_ANY, &any)) < 0 ||
            (r = sq_step(c, any)) < 0)
            return r;
        if (r > 0) {
            sql_set_err(&sq(s)->base, "the store is not empty (table '%s' has rows)",
                        store_tables[i].name);
            return -ENOTEMPTY;
        }
    }
    while ((r = next(ctx, &t, &row)) > 0) {
        if (t != cur) {
            sqlite3_finalize(ins);
            ins = NULL;
            cur = t;
            if ((r = sq_prepare_table(c, t, STORE_SQL_INSERT, &ins)) < 0)
                return r;
        }
        if ((r = sq_restore_row(c, ins, t, row)) < 0)
            return r;
    }
    return r < 0 ? r : sq_commit(c);
}

static void sq_close(struct store *store)
{
    struct sq_store *s = sq(store);

    /* Readers first: closing the writer last checkpoints and removes the WAL. */
    sql_pool_destroy(&s->readers, sq_reader_close);
    sq_conn_close(s->writer);
    pthread_cond_destroy(&s->batch_cond);
    pthread_mutex_destroy(&s->write_lock);
    free(s->db_path);
    free(s);
}

static const struct sql_driver sq_driver = SQL_DRIVER("sqlite", SQL_SQLITE, sq);

/* ---- open and migrate ---- */

/* mkdir -p; directories it creates get `mode`. */
static int mkdir_parents(const char *dir, mode_t mode)
{
    _cleanup_free_ char *p = strdup(dir);
    struct stat st;

    if (!p)
        return -ENOMEM;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return -errno;
        *q = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return -errno;
    if (stat(p, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* One integer of a migration query, arg bound to its parameter if it has one. */
static int sq_migration_int(struct sq_conn *c, const char *sql, int64_t arg, int64_t *ret)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) == 1)
        rc = sqlite3_bind_int64(st, 1, arg);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        int r = sq_fail(c, rc, "read schema version");
        sqlite3_finalize(st);
        return r;
    }
    *ret = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

#define MIGRATION_DONE "SELECT count(*) FROM schema_migrations WHERE version = ?"

static int sq_record_migration(struct sq_conn *c, const struct store_migration *m)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db,
                                "INSERT INTO schema_migrations (version, name, applied_at) "
                                "VALUES (?, ?, ?)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 1, m->version);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 3, now_ms());
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(c, rc, "record migration");
}

/* Applies every pending migration, all in one transaction: a fresh database
 * costs one commit (one fsync) rather than one per migration, and an upgrade
 * that fails half-way leaves the database as the old binary knew it.
 * Pending: not recorded, whatever the newest recorded one (numbers are handed
 * out to changes developed at once and may be merged out of order).  A
 * recorded version this binary does not know is refused. */
static int sq_migrate(struct sq_store *s, struct sq_conn *c)
{
    int64_t known = store_n_migrations ? store_migrations[store_n_migrations - 1].version : 0;
    int64_t current = 0, recorded = 0, found = 0, done = 0;
    int r;

    r = sq_conn_exec(c, "BEGIN IMMEDIATE", "begin migration");
    if (r < 0)
        return r;
    r = sq_conn_exec(c,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                     "applied_at INTEGER NOT NULL)",
                     "create schema_migrations");
    if (r < 0)
        goto out;
    r = sq_migration_int(c, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, &current);
    if (r >= 0)
        r = sq_migration_int(c, "SELECT count(*) FROM schema_migrations", 0, &recorded);
    for (size_t i = 0; i < store_n_migrations && r >= 0; i++, found += done)
        r = sq_migration_int(c, MIGRATION_DONE, store_migrations[i].version, &done);
    if (r < 0)
        goto out;
    if (current > known || recorded > found) {
        sql_set_err(&s->base,
                    "database '%s' has schema version %lld, which this arca does not know (its "
                    "newest is %lld): upgrade arca",
                    s->db_path, (long long)current, (long long)known);
        r = -EIO;
        goto out;
    }
    for (size_t i = 0; i < store_n_migrations; i++) {
        const struct store_migration *m = &store_migrations[i];

        if ((r = sq_migration_int(c, MIGRATION_DONE, m->version, &done)) < 0)
            goto out;
        if (done)
            continue;
        r = sq_conn_exec(c, m->sql, m->name);
        if (r < 0)
            goto out;
        r = sq_record_migration(c, m);
        if (r < 0)
            goto out;
    }
    r = sq_conn_exec(c, "COMMIT", "commit migration");
    if (r < 0)
        goto out;
    return 0;
out:
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

int store_sqlite_open(const char *dir, struct store **ret, struct buf *err)
{
    struct sq_store *s;
    int r, fd;

    if (!dir || !*dir || !ret)
        return -EINVAL;
    if (!sqlite3_threadsafe()) {
        if (err)
            buf_adds(err, "sqlite was built without thread support");
        return -EIO;
    }

    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->write_lock, NULL);
    pthread_cond_init(&s->batch_cond, NULL);
    s->batch_max = SQ_BATCH_MAX;
    s->epoch_all = s->epoch_global = (uint64_t)now_ms() * 1000;
    sql_pool_init(&s->readers, SQ_MAX_READERS, sq_reader_open);

    r = sql_store_init(&s->base, &sq_driver, &store_sqlite_ops);
    if (r < 0) {
        sq_close(&s->base.base);
        return r;
    }
    if (asprintf(&s->db_path, "%s/arca.db", dir) < 0) {
        s->db_path = NULL;
        sq_close(&s->base.base);
        return -ENOMEM;
    }

    r = mkdir_parents(dir, 0700);
    if (r < 0) {
        if (err)
            buf_printf(err, "cannot create directory '%s': %s", dir, strerror(-r));
        sq_close(&s->base.base);
        return -EIO;
    }
    /* The database, and the -wal/-shm files SQLite derives from it, are 0600. */
    fd = open(s->db_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (err)
            buf_printf(err, "cannot open '%s': %s", s->db_path, strerror(errno));
        sq_close(&s->base.base);
        return -EIO;
    }
    close(fd);

    r = sq_conn_open(s, true, &s->writer);
    if (r >= 0)
        r = sq_migrate(s, s->writer);
    if (r < 0) {
        if (err)
            buf_adds(err, store_error());
        sq_close(&s->base.base);
        return r;
    }
    *ret = &s->base.base;
    return 0;
}

void store_sqlite_stats(struct store *s, struct store_sqlite_stats *ret)
{
    *ret = (struct store_sqlite_stats){0};
    if (!s || s->ops != &store_sqlite_ops)
        return;
    pthread_mutex_lock(&sq(s)->write_lock);
    *ret = sq(s)->stats;
    pthread_mutex_unlock(&sq(s)->write_lock);
}

void store_sqlite_set_batch_max(struct store *s, size_t n)
{
    if (!s || s->ops != &store_sqlite_ops)
        return;
    pthread_mutex_lock(&sq(s)->write_lock);
    sq(s)->batch_max = n < 1 ? 1 : n > SQ_BATCH_MAX ? SQ_BATCH_MAX : n;
    pthread_mutex_unlock(&sq(s)->write_lock);
}
