/* store_pg.c - the PostgreSQL driver of store_sql.h, for several arca
 * servers on one database.
 *
 * Nothing lives in the process but connections: every call reads and writes
 * the database, so a write on one server is seen by the next read on any
 * other.  Durability is PostgreSQL's (synchronous_commit on, the default): a
 * call that returned 0 was committed.
 *
 * Connections: a pool of at most PG_MAX_CONNS, opened lazily and used by one
 * thread at a time.  A connection found broken is closed together with every
 * idle one (after a database restart they are all dead), and the next call
 * connects again: a server outlives a database restart, answering 503 (-EIO)
 * meanwhile.
 *
 * Statements (store_sql.c's) are prepared once per connection on first use,
 * with the parameter types of the first call's format.  Parameters and
 * results are sent in binary: values are never formatted into SQL, bytea
 * needs no escaping.
 *
 * Transactions: each call is one pg_tx(): BEGIN, the body, COMMIT, in libpq's
 * pipeline mode: BEGIN and the statements the body defers (sql_defer) go out
 * with the next statement that needs an answer, or with COMMIT, in one round
 * trip; their failures come back with it.  Writes
 * run READ COMMITTED and take the locks store_sql.c's statements ask for.  A
 * body that failed on a serialization failure, a deadlock or a connection
 * that broke before COMMIT was sent runs again, at most PG_MAX_ATTEMPTS
 * times; a COMMIT whose outcome is unknown is never repeated: -EIO.  After a
 * committed change the epoch sequence moves (store.h epoch), in the round trip
 * of the COMMIT; one read of the epoch serves the callers waiting at once
 * (pg_epoch).
 *
 * At open, the migrations of migrations_pg/ are applied under a session
 * advisory lock, each in its own transaction, so that servers starting
 * together apply each one once.
 */
#include "store/store_sql.h"

#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/migrations.h"
#include "store/store_backend.h"

#define PG_MAX_CONNS 8
#define PG_MAX_ATTEMPTS 4 /* a body runs at most this often (see pg_tx) */
#define PG_MAX_COLS 32
#define PG_MAX_QUEUED 64 /* statements sent ahead of their answers (pipeline) */

/* PostgreSQL's type oids (pg_type.h). */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_TEXT 25

#ifndef _cleanup_
#define _cleanup_(f) __attribute__((cleanup(f)))
#endif

struct pg_store;

struct pg_conn {
    struct sql_conn base; /* must be first */
    PGconn *db;
    char *fmts[SQL_N_SLOTS]; /* OWNED: the parameter format each slot was prepared with */
    struct pg_store *owner;
    bool retry;       /* the last failure may succeed if the body runs again */
    bool commit_sent; /* COMMIT went out: its outcome may be unknown */
    bool best_effort; /* what is queued now may fail unnoticed (the epoch stamp) */
    /* In a transaction the connection is in libpq's pipeline mode: BEGIN and
     * the statements sql_defer runs are sent at once and their answers read
     * with those of the next statement that needs one (one round trip). */
    unsigned n_queued;
    struct pg_queued {
        const char *what;
        int slot; /* >= 0: PQsendPrepare of this slot (forgotten if it fails) */
        bool best_effort;
        PGresult **keep; /* NULL, or where its answer goes (OWNED by the caller) */
        sql_row_fn row;  /* or, if not NULL, what its rows go to */
        void *ctx;
    } queued[PG_MAX_QUEUED];
};

/* Epoch reads shared by the requests waiting at once (pg_epoch). */
struct pg_epochs {
    pthread_mutex_t lock;
    pthread_cond_t cond;   /* a read finished */
    uint64_t begun, ended; /* reads begun; the newest one finished */
    bool busy;             /* a read is on its way */
    int r;                 /* the newest read's result, */
    struct store_epoch e;  /* its counters, */
    char err[SQL_ERR_MAX]; /* and its error text */
};

struct pg_store {
    struct sql_store base; /* must be first */
    char *url;             /* OWNED, SECRET (may hold a password) */
    struct sql_pool pool;
    struct pg_epochs epochs;
};

static struct pg_store *pg(struct store *s)
{
    return (struct pg_store *)s;
}

static int pg_errno(const char *state)
{
    if (streq(state, "23505"))
        return -EEXIST; /* unique_violation */
    if (streq(state, "23503"))
        return -ENOENT; /* foreign_key_violation: the row referred to is not there */
    if (streq(state, "23514") || streq(state, "23502") || startswith(state, "22"))
        return -EINVAL; /* check or not-null violation, data exception */
    if (streq(state, "54000"))
        return -E2BIG;
    return -EIO;
}

/* Takes res (may be NULL).  The message is the primary one and the SQLSTATE:
 * PostgreSQL's details may quote row values, data exceptions the value. */
static int pg_fail(struct pg_conn *c, PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    bool broken = PQstatus(c->db) != CONNECTION_OK;
    int r;

    state = state ? state : "";
    if (broken)
        c->retry = !c->commit_sent; /* nothing was committed before COMMIT went out */
    else
        c->retry = streq(state, "40001") || streq(state, "40P01");
    if (!msg || startswith(state, "22"))
        msg = broken ? PQerrorMessage(c->db) : "failed";
    sql_set_err(&c->owner->base, "postgres: %s: %s%s%s%s", what, msg, *state ? " (SQLSTATE " : "",
                state, *state ? ")" : "");
    r = broken ? -EIO : pg_errno(state);
    PQclear(res);
    return r;
}

/* Checks a result: 0 with *ret OWNED (or cleared when ret is NULL), or the
 * failure (res taken). */
static int pg_result(struct pg_conn *c, PGresult *res, const char *what, PGresult **ret)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return pg_fail(c, res, what);
    if (ret)
        *ret = res;
    else
        PQclear(res);
    return 0;
}

static void pg_clearp(PGresult **res)
{
    PQclear(*res);
}
#define _cleanup_res_ _cleanup_(pg_clearp)

/* A statement without parameters, in the simple protocol (BEGIN, a migration). */
static int pg_simple(struct pg_conn *c, const char *sql, const char *what)
{
    return pg_result(c, PQexec(c->db, sql), what, NULL);
}

/* ---- running statements ---- */

struct pg_args {
    Oid types[SQL_MAX_PARAMS];
    const char *values[SQL_MAX_PARAMS]; /* BORROWED, NULL for NULL */
    int lengths[SQL_MAX_PARAMS];
    int formats[SQL_MAX_PARAMS]; /* all 1: binary */
    char ints[SQL_MAX_PARAMS][8];
};

/* store_sql.h's parameters in libpq's binary shape. */
static void pg_args(const struct sql_params *p, struct pg_args *a)
{
    for (int i = 0; i < p->n; i++) {
        const struct store_value *v = &p->v[i];
        a->formats[i] = 1;
        a->lengths[i] = (int)v->len;
        switch (p->fmt[i]) {
        case 'i':
            for (int k = 0; k < 8; k++)
                a->ints[i][k] = (char)((uint64_t)v->i >> (56 - 8 * k));
            a->types[i] = PG_OID_INT8;
            a->values[i] = v->null ? NULL : a->ints[i];
            a->lengths[i] = 8;
            break;
        case 'b':
            a->types[i] = PG_OID_BYTEA;
            a->values[i] = v->null ? NULL : v->len ? v->ptr : "";
            break;
        default:
            a->types[i] = PG_OID_TEXT;
            a->values[i] = v->null ? NULL : v->ptr;
            break;
        }
    }
}

/* A binary integer column (bool, smallint, integer, bigint); NULL reads as 0. */
static int64_t pg_col_int(const PGresult *res, int row, int col)
{
    const unsigned char *v = (const unsigned char *)PQgetvalue(res, row, col);
    int len = PQgetlength(res, row, col);
    uint64_t x = 0;

    if (PQgetisnull(res, row, col) || (len != 1 && len != 2 && len != 4 && len != 8))
        return 0;
    for (int i = 0; i < len; i++)
        x = x << 8 | v[i];
    if (len < 8 && (v[0] & 0x80) && len > 1)
        x |= ~(uint64_t)0 << (8 * len); /* sign-extend */
    return (int64_t)x;
}

/* Hands each row of res to fn as store_value columns. */
static int pg_rows(struct pg_conn *c, const PGresult *res, sql_row_fn fn, void *ctx)
{
    struct store_value v[PG_MAX_COLS];
    int nf = PQnfields(res), r = 0;

    if (nf > PG_MAX_COLS)
        return -E2BIG;
    for (int row = 0; row < PQntuples(res) && r >= 0; row++) {
        for (int col = 0; col < nf; col++) {
            Oid t = PQftype(res, col);
            v[col] = (struct store_value){.null = PQgetisnull(res, row, col)};
            if (t == PG_OID_INT8 || t == PG_OID_INT4 || t == PG_OID_INT2 || t == PG_OID_BOOL)
                v[col].i = pg_col_int(res, row, col);
            else if (!v[col].null) {
                v[col].ptr = PQgetvalue(res, row, col);
                v[col].len = (size_t)PQgetlength(res, row, col);
            }
        }
        r = fn(&c->base, ctx, v, (size_t)nf);
    }
    return r;
}

/* ---- the pipeline (pg_tx) ---- */

static bool pg_piped(const struct pg_conn *c)
{
    return PQpipelineStatus(c->db) != PQ_PIPELINE_OFF;
}

static int pg_queue(struct pg_conn *c, int sent, const char *what, int slot, PGresult **keep)
{
    if (!sent)
        return pg_fail(c, NULL, what);
    c->queued[c->n_queued++] = (struct pg_queued){what, slot, c->best_effort, keep, NULL, NULL};
    return 0;
}

/* Reads the answers of everything queued (a Sync marks their end): 0, or the
 * first failure (what came after it in the transaction was not run).  quiet:
 * a cleanup, which leaves the error text alone. */
static int pg_drain(struct pg_conn *c, bool quiet)
{
    unsigned n = c->n_queued;
    int r = 0;

    if (n == 0)
        return 0;
    c->n_queued = 0;
    if (!PQpipelineSync(c->db)) /* the connection is gone: nothing comes back */
        return quiet ? -EIO : pg_fail(c, NULL, c->queued[0].what);
    for (unsigned i = 0; i < n; i++) {
        const struct pg_queued *q = &c->queued[i];
        bool ok = false;
        PGresult *res;

        while ((res = PQgetResult(c->db))) {
            ExecStatusType st = PQresultStatus(res);
            if ((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) && !ok) {
                ok = true;
                if (q->keep) {
                    *q->keep = res;
                    continue;
                }
                if (q->row && st == PGRES_TUPLES_OK && r == 0)
                    r = pg_rows(c, res, q->row, q->ctx);
            } else if (st != PGRES_PIPELINE_ABORTED && !q->best_effort && !quiet && r == 0) {
                r = pg_fail(c, res, q->what);
                continue;
            }
            PQclear(res);
        }
        if (!ok && q->slot >= 0) { /* not prepared after all */
            free(c->fmts[q->slot]);
            c->fmts[q->slot] = NULL;
        }
        if (!ok && !q->best_effort && r == 0)
            r = quiet ? -EIO : pg_fail(c, NULL, q->what); /* skipped: the connection broke */
    }
    if (PQstatus(c->db) == CONNECTION_OK) {
        PGresult *res = PQgetResult(c->db);
        if (PQresultStatus(res) != PGRES_PIPELINE_SYNC && r == 0)
            r = quiet ? -EIO : pg_fail(c, res, "pipeline");
        else
            PQclear(res);
    }
    return r;
}

/* Prepares st in its slot on first use, with the parameter types of this
 * call's format (on a pipeline: sent, answered with the statement). */
static int pg_prepare(struct pg_conn *c, const struct sql_stmt *st, const struct sql_params *p,
                      const struct pg_args *a, const char *name)
{
    char *fmt;
    int r;

    if (c->fmts[st->slot]) {
        if (streq(c->fmts[st->slot], p->fmt))
            return 0;
        /* Prepared with other parameter types: a bug in store_sql.c. */
        sql_set_err(&c->owner->base, "postgres: %s: bound as '%s', prepared as '%s'", st->name,
                    p->fmt, c->fmts[st->slot]);
        return -EINVAL;
    }
    fmt = strdup(p->fmt);
    if (!fmt)
        return -ENOMEM;
    if (pg_piped(c))
        r = pg_queue(c, PQsendPrepare(c->db, name, st->sql, p->n, a->types), st->name,
                     (int)st->slot, NULL);
    else
        r = pg_result(c, PQprepare(c->db, name, st->sql, p->n, a->types), st->name, NULL);
    if (r < 0) {
        free(fmt);
        return r;
    }
    c->fmts[st->slot] = fmt;
    return 0;
}

/* Sends a statement in pipeline mode; its answer goes to *keep (if not NULL)
 * when pg_drain reads it. */
static int pg_send(struct pg_conn *c, const struct sql_stmt *st, const struct sql_params *p,
                   PGresult **keep)
{
    struct pg_args a;
    char name[16];
    int r;

    if (c->n_queued + 2 > PG_MAX_QUEUED && (r = pg_drain(c, false)) < 0)
        return r;
    pg_args(p, &a);
    snprintf(name, sizeof(name), "arca_%u", st->slot);
    if ((r = pg_prepare(c, st, p, &a, name)) < 0)
        return r;
    return pg_queue(c, PQsendQueryPrepared(c->db, name, p->n, a.values, a.lengths, a.formats, 1),
                    st->name, -1, keep);
}

/* A statement without parameters (BEGIN, COMMIT), queued. */
static int pg_send_simple(struct pg_conn *c, const char *sql, const char *what, PGresult **keep)
{
    if (c->n_queued + 1 > PG_MAX_QUEUED) {
        int r = pg_drain(c, false);
        if (r < 0)
            return r;
    }
    return pg_queue(c, PQsendQueryParams(c->db, sql, 0, NULL, NULL, NULL, NULL, 1), what, -1, keep);
}

/* A statement's answer: the rows to row, the number of rows changed or returned. */
static int pg_answer(struct pg_conn *c, PGresult *res, sql_row_fn row, void *ctx)
{
    int r;

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return atoi(PQcmdTuples(res));
    if (row && (r = pg_rows(c, res, row, ctx)) < 0)
        return r;
    return PQntuples(res);
}

/* Runs a statement (prepared on first use in its slot); the results come
 * back in binary.  In a transaction it goes down the pipeline, after what
 * sql_defer queued; a deferred one is only queued. */
static int pg_exec(struct sql_conn *sc, const struct sql_stmt *st, const struct sql_params *p,
                   sql_row_fn row, void *ctx)
{
    struct pg_conn *c = (struct pg_conn *)sc;
    _cleanup_res_ PGresult *res = NULL;
    struct pg_args a;
    char name[16];
    int r;

    if (pg_piped(c)) {
        if (sc->defer) {
            if ((r = pg_send(c, st, p, NULL)) >= 0 && row) {
                c->queued[c->n_queued - 1].row = row; /* read at the next pg_drain */
                c->queued[c->n_queued - 1].ctx = ctx;
            }
            return r;
        }
        if ((r = pg_send(c, st, p, &res)) < 0 || (r = pg_drain(c, false)) < 0)
            return r;
        return pg_answer(c, res, row, ctx);
    }
    pg_args(p, &a);
    snprintf(name, sizeof(name), "arca_%u", st->slot);
    if ((r = pg_prepare(c, st, p, &a, name)) < 0)
        return r;
    r = pg_result(c, PQexecPrepared(c->db, name, p->n, a.values, a.lengths, a.formats, 1), st->name,
                  &res);
    return r < 0 ? r : pg_answer(c, res, row, ctx);
}

/* ---- connections ---- */

static void pg_conn_close(struct sql_conn *sc)
{
    struct pg_conn *c = (struct pg_conn *)sc;

    if (!c)
        return;
    for (size_t i = 0; i < SQL_N_SLOTS; i++)
        free(c->fmts[i]);
    PQfinish(c->db);
    free(c);
}

/* Notices (warnings the server sends along) would go to stderr: library
 * code does not log, and they may quote data. */
static void pg_notice_ignore(void *arg, const char *message) {}

static int pg_conn_open(struct sql_store *store, struct sql_conn **ret)
{
    struct pg_store *s = (struct pg_store *)store;
    /* Later entries win: the URL may change the timeouts, never the encoding.
     * Keepalives and the TCP user timeout turn a database that vanished from
     * the network into an error (-EIO, 503) instead of a request that hangs. */
    static const char *const keys[] = {
        "connect_timeout",  "keepalives_idle",  "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "application_name",
        "dbname",           "client_encoding",  NULL};
    const char *values[] = {"10", "30", "10", "3", "30000", "arca", s->url, "UTF8", NULL};
    struct pg_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->owner = s;
    c->base.store = &s->base;
    c->db = PQconnectdbParams(keys, values, 1);
    if (!c->db || PQstatus(c->db) != CONNECTION_OK) {
        sql_set_err(&s->base, "postgres: cannot connect: %s",
                    c->db ? PQerrorMessage(c->db) : "out of memory");
        pg_conn_close(&c->base);
        return -EIO;
    }
    PQsetNoticeProcessor(c->db, pg_notice_ignore, NULL);
    if (PQserverVersion(c->db) < 110000) {
        sql_set_err(&s->base, "postgres: server version %d is too old (arca needs 11 or newer)",
                    PQserverVersion(c->db));
        pg_conn_close(&c->base);
        return -EIO;
    }
    *ret = &c->base;
    return 0;
}

static int pg_conn_get(struct pg_store *s, struct pg_conn **ret)
{
    return sql_pool_get(&s->pool, &s->base, (struct sql_conn **)ret);
}

/* Returns a connection to the pool, rolling back what was not committed.  A
 * broken one is closed with every idle one: they most likely share its fate
 * (a database restart), and the next calls connect afresh. */
static void pg_conn_releasep(struct pg_conn **cp)
{
    struct pg_conn *c = *cp;
    struct pg_store *s;
    bool broken;

    if (!c)
        return;
    s = c->owner;
    if (PQstatus(c->db) == CONNECTION_OK && pg_piped(c)) {
        (void)pg_drain(c, true); /* after a failure: what is left of the pipeline */
        (void)PQexitPipelineMode(c->db);
    }
    c->n_queued = 0;
    if (PQstatus(c->db) == CONNECTION_OK && PQtransactionStatus(c->db) != PQTRANS_IDLE &&
        !pg_piped(c))
        PQclear(PQexec(c->db, "ROLLBACK"));
    broken = PQstatus(c->db) != CONNECTION_OK || PQtransactionStatus(c->db) != PQTRANS_IDLE ||
             pg_piped(c);

    if (!broken) {
        sql_pool_put(&s->pool, &c->base);
        return;
    }
    sql_pool_drop(&s->pool, &c->base, pg_conn_close);
}
#define _cleanup_conn_ _cleanup_(pg_conn_releasep)

/* ---- transactions ---- */

static void pg_epoch_bump(struct pg_conn *c);

/* COMMIT, after what is queued; on a pipeline with the epoch stamp of what
 * changed right behind it (the same round trip: PostgreSQL runs it once the
 * commit is done). */
static int pg_commit(struct pg_conn *c)
{
    _cleanup_res_ PGresult *res = NULL;
    int r;

    c->commit_sent = true;
    if (pg_piped(c)) {
        if ((r = pg_send_simple(c, "COMMIT", "commit", &res)) < 0)
            return r;
        if (c->base.dirty)
            pg_epoch_bump(c);
        r = pg_drain(c, false);
    } else
        r = pg_result(c, PQexec(c->db, "COMMIT"), "commit", &res);
    if (r < 0)
        return r;
    if (!streq(PQcmdStatus(res), "COMMIT")) { /* the transaction had failed */
        sql_set_err(&c->owner->base, "postgres: commit: rolled back");
        return -EIO;
    }
    return 0;
}

/* After a committed change: what it changed goes stale in every server's
 * caches (store.h epoch).  The change is durable whatever happens here; if
 * the database went away meanwhile, the caches' age limit covers the gap. */
static void pg_epoch_bump(struct pg_conn *c)
{
    c->best_effort = true;
    (void)sql_epoch_stamp(&c->base);
    c->best_effort = false;
}

/* Runs body in one transaction on a pooled connection, again (on a fresh
 * connection if the old one broke) while the failure says it may succeed. */
static int pg_tx(struct store *s, enum sql_tx kind, sql_body_fn body, void *arg)
{
    static const char *const begin[] = {
        [SQL_TX_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        [SQL_TX_WRITE] = "BEGIN ISOLATION LEVEL READ COMMITTED",
    };
    int r = -EIO;

    for (int attempt = 0; attempt < PG_MAX_ATTEMPTS; attempt++) {
        _cleanup_conn_ struct pg_conn *c = NULL;

        r = pg_conn_get(pg(s), &c);
        if (r < 0)
            return r;
        c->retry = c->commit_sent = false;
        sql_touched_reset(&c->base);
        r = 0;
        if (kind != SQL_TX_NONE)
            r = PQenterPipelineMode(c->db) ? pg_send_simple(c, begin[kind], "begin", NULL)
                                           : pg_fail(c, NULL, "begin");
        if (r >= 0)
            r = body(&c->base, arg);
        if (r >= 0 && kind != SQL_TX_NONE)
            r = pg_commit(c); /* stamps what changed */
        else if (c->base.dirty && (r >= 0 || c->commit_sent))
            pg_epoch_bump(c);
        if (r >= 0 || !c->retry)
            return r;
    }
    return r;
}

/* ---- backup and restore ----
 * Statements assembled by store_table_sql from store_tables' names.  Each
 * call is one transaction run once, not pg_tx's retried body: the rows stream
 * through the caller's callback, which cannot be replayed. */

#define PG_BACKUP_FETCH "FETCH 1000 FROM arca_backup"

struct pg_stream {
    store_backup_fn fn;
    store_restore_fn next;
    void *ctx;
};

static int pg_tx_once(struct store *s, const char *begin, sql_body_fn body, void *arg)
{
    _cleanup_conn_ struct pg_conn *c = NULL;
    int r;

    if ((r = pg_conn_get(pg(s), &c)) < 0)
        return r;
    c->retry = c->commit_sent = false;
    if ((r = pg_simple(c, begin, "begin")) < 0 || (r = body(&c->base, arg)) < 0)
        return r;
    return pg_commit(c);
}

/* Emits the rows of one fetched batch; 1 if there were any. */
static int pg_backup_rows(struct pg_conn *c, const struct store_table *t, const PGresult *res,
                          const struct pg_stream *a)
{
    struct store_value v[PG_MAX_COLS];
    int r;

    for (int row = 0; row < PQntuples(res); row++) {
        for (size_t i = 0; i < t->n_cols; i++) {
            int col = (int)i;
            v[i] = (struct store_value){.null = PQgetisnull(res, row, col)};
            if (v[i].null)
                continue;
            if (t->types[i] == 'i' && PQgetlength(res, row, col) != 8)
                return pg_fail(c, NULL, t->name);
            v[i].i = t->types[i] == 'i' ? pg_col_int(res, row, col) : 0;
            v[i].ptr = PQgetvalue(res, row, col); /* NUL-terminated by libpq */
            v[i].len = (size_t)PQgetlength(res, row, col);
        }
        if ((r = a->fn(a->ctx, t, v)) < 0)
            return r;
    }
    return PQntuples(res) > 0;
}

static int pg_backup_body(struct sql_conn *sc, void *arg)
{
    struct pg_conn *c = (struct pg_conn *)sc;
    const struct pg_stream *a = arg;
    _cleanup_(buf_release) struct buf sql = BUF_INIT;
    int r = 0;

    for (size_t i = 0; i < store_n_tables && r >= 0; i++) {
        const struct store_table *t = &store_tables[i];
        if (t->n_cols > PG_MAX_COLS || t->n_cols > SQL_MAX_PARAMS)
            return -E2BIG;
        buf_clear(&sql);
        if ((r = buf_adds(&sql, "DECLARE arca_backup NO SCROLL CURSOR FOR ")) < 0 ||
            (r = store_table_sql(t, STORE_SQL_SELECT, &sql)) < 0)
            return r;
        if ((r = pg_simple(c, buf_str(&sql), t->name)) < 0 || (r = a->fn(a->ctx, t, NULL)) < 0)
            return r;
        do {
            _cleanup_res_ PGresult *res = NULL;
            r = pg_result(c, PQexecParams(c->db, PG_BACKUP_FETCH, 0, NULL, NULL, NULL, NULL, 1),
                          t->name, &res);
            if (r >= 0)
                r = pg_backup_rows(c, t, res, a);
        } while (r > 0);
        if (r >= 0)
            r = pg_simple(c, "CLOSE arca_backup", t->name);
    }
    return r;
}

static int pg_backup(struct store *s, store_backup_fn fn, void *ctx)
{
    struct pg_stream a = {.fn = fn, .ctx = ctx};

    return pg_tx_once(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", pg_backup_body, &a);
}

static int pg_restore_row(struct pg_conn *c, const struct store_table *t,
                          const struct store_value *v)
{
    struct sql_params p = {.fmt = t->types, .n = (int)t->n_cols};
    struct pg_args a;

    memcpy(p.v, v, t->n_cols * sizeof(*v));
    pg_args(&p, &a);
    return pg_result(c, PQexecPrepared(c->db, "", p.n, a.values, a.lengths, a.formats, 0), t->name,
                     NULL);
}

static int pg_restore_body(struct sql_conn *sc, void *arg)
{
    struct pg_conn *c = (struct pg_conn *)sc;
    const struct pg_stream *a = arg;
    _cleanup_(buf_release) struct buf sql = BUF_INIT;
    const struct store_table *cur = NULL, *t;
    const struct store_value *row;
    int r;

    /* The bootstrap lock: no first user can appear while this checks and fills. */
    if ((r = sql_run(&c->base, SQL_ST_LOCK, "i", SQL_LOCK_BOOTSTRAP)) < 0)
        return r;
    for (size_t i = 0; i < store_n_tables; i++) {
        _cleanup_res_ PGresult *res = NULL;
        buf_clear(&sql);
        if ((r = store_table_sql(&store_tables[i], STORE_SQL_ANY, &sql)) < 0 ||
            (r = pg_result(c, PQexec(c->db, buf_str(&sql)), store_tables[i].name, &res)) < 0)
            return r;
        if (PQntuples(res) > 0) {
            sql_set_err(&c->owner->base, "the store is not empty (table '%s' has rows)",
                        store_tables[i].name);
            return -ENOTEMPTY;
        }
    }
    while ((r = a->next(a->ctx, &t, &row)) > 0) {
        if (t != cur) {
            Oid types[SQL_MAX_PARAMS];
            if (t->n_cols > SQL_MAX_PARAMS)
                return -E2BIG;
            for (size_t i = 0; i < t->n_cols; i++)
                types[i] = t->types[i] == 'i'   ? PG_OID_INT8
                           : t->types[i] == 'b' ? PG_OID_BYTEA
                                                : PG_OID_TEXT;
            buf_clear(&sql);
            if ((r = store_table_sql(t, STORE_SQL_INSERT_PG, &sql)) < 0 ||
                (r = pg_result(c, PQprepare(c->db, "", buf_str(&sql), (int)t->n_cols, types),
                               t->name, NULL)) < 0)
                return r;
            cur = t;
        }
        if ((r = pg_restore_row(c, t, row)) < 0)
            return r;
    }
    return r;
}

static int pg_restore(struct store *s, store_restore_fn next, void *ctx)
{
    struct pg_stream a = {.next = next, .ctx = ctx};

    return pg_tx_once(s, "BEGIN ISOLATION LEVEL READ COMMITTED", pg_restore_body, &a);
}

static int pg_epoch_body(struct sql_conn *c, void *arg)
{
    return sql_epoch_read(c, arg);
}

/* One read of the epoch serves every caller that arrived before it was
 * sent (as group commit does for writes): at most one read is on its way, and
 * a caller arriving meanwhile waits for the next one, which it or another
 * waiter sends once the first has ended.  Each caller still gets counters read
 * after it called, so a change acknowledged before that is seen (store.h),
 * at one round trip per read instead of per request. */
static int pg_epoch(struct store *s, struct store_epoch *ret)
{
    struct pg_epochs *q = &pg(s)->epochs;
    struct store_epoch e = {0};
    uint64_t need, mine;
    int r;

    pthread_mutex_lock(&q->lock);
    need = q->begun + 1; /* a read begun after this call */
    while (q->ended < need && q->busy)
        pthread_cond_wait(&q->cond, &q->lock);
    if (q->ended >= need) {
        *ret = q->e;
        r = q->r;
        if (r < 0)
            sql_set_err(&pg(s)->base, "%s", q->err);
        pthread_mutex_unlock(&q->lock);
        return r;
    }
    q->busy = true;
    mine = ++q->begun;
    pthread_mutex_unlock(&q->lock);

    r = pg_tx(s, SQL_TX_NONE, pg_epoch_body, &e);

    pthread_mutex_lock(&q->lock);
    q->busy = false;
    q->ended = mine;
    q->r = r;
    q->e = e;
    snprintf(q->err, sizeof(q->err), "%s", r < 0 ? store_error() : "");
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    *ret = e;
    return r;
}

struct pg_project_epoch {
    const char *project_id;
    uint64_t v;
};

static int pg_project_epoch_body(struct sql_conn *c, void *arg)
{
    struct pg_project_epoch *a = arg;

    return sql_project_epoch_read(c, a->project_id, &a->v);
}

static int pg_project_epoch(struct store *s, const char *project_id, uint64_t *ret)
{
    struct pg_project_epoch a = {project_id, 0};
    int r = pg_tx(s, SQL_TX_NONE, pg_project_epoch_body, &a);

    *ret = a.v;
    return r;
}

/* ---- open, migrate, close ---- */

static void pg_close(struct store *store)
{
    struct pg_store *s = pg(store);

    sql_pool_destroy(&s->pool, pg_conn_close);
    pthread_mutex_destroy(&s->epochs.lock);
    pthread_cond_destroy(&s->epochs.cond);
    free_wiped(s->url);
    free(s);
}

static const struct sql_driver pg_driver = SQL_DRIVER("postgres", SQL_PG, pg);

/* Applies the next pending migration (not recorded, whatever the newest
 * recorded one: numbers are handed out to changes developed at once) in one
 * transaction; *ret_done when there was none.  A recorded version this binary
 * does not know is refused. */
static int pg_migrate_one(struct pg_conn *c, bool *ret_done)
{
    const struct store_migration *all = store_pg_migrations, *m = NULL;
    size_t n = store_pg_n_migrations;
    int64_t known = n ? all[n - 1].version : 0, current = 0, recorded = 0, found = 0, done = 0;
    int r;

    if ((r = pg_simple(c, "BEGIN", "begin migration")) < 0 ||
        (r = sql_int(&c->base, &current, SQL_ST_SCHEMA_VERSION, "")) < 0 ||
        (r = sql_int(&c->base, &recorded, SQL_ST_MIGRATION_COUNT, "")) < 0)
        return r;
    for (size_t i = 0; i < n; i++, found += done) {
        if ((r = sql_int(&c->base, &done, SQL_ST_MIGRATION_DONE, "i", (int64_t)all[i].version)) < 0)
            return r;
        if (!done && !m)
            m = &all[i];
    }
    if (current > known || recorded > found) {
        sql_set_err(&c->owner->base,
                    "database has schema version %lld, which this arca does not know (its "
                    "newest is %lld): upgrade arca",
                    (long long)current, (long long)known);
        return -EIO;
    }
    if (m && ((r = pg_simple(c, m->sql, m->name)) < 0 ||
              (r = sql_run(&c->base, SQL_ST_MIGRATION_RECORD, "iti", (int64_t)m->version, m->name,
                           now_ms())) < 0))
        return r;
    if ((r = pg_commit(c)) < 0)
        return r;
    *ret_done = !m;
    return 0;
}

/* Servers starting together take turns (a session lock, released when the
 * connection goes back to the pool or closes), so each migration runs once. */
static int pg_migrate(struct pg_store *s)
{
    _cleanup_conn_ struct pg_conn *c = NULL;
    char lock[96];
    bool done = false;
    int r;

    snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%lld)", (long long)SQL_LOCK_MIGRATE);
    if ((r = pg_conn_get(s, &c)) < 0)
        return r == -EIO ? -ECONNREFUSED : r;
    if ((r = pg_simple(c, lock, "lock for migrations")) < 0)
        return r;
    r = pg_simple(c,
                  "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
                  "name TEXT NOT NULL, applied_at BIGINT NOT NULL); "
                  /* not data: never backed up (store_sql.h) */
                  "CREATE SEQUENCE IF NOT EXISTS arca_epoch; "
                  "CREATE TABLE IF NOT EXISTS arca_epochs (scope TEXT PRIMARY KEY, "
                  "epoch BIGINT NOT NULL)",
                  "create schema_migrations");
    while (r >= 0 && !done)
        r = pg_migrate_one(c, &done);
    if (PQstatus(c->db) == CONNECTION_OK && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        PQclear(PQexec(c->db, "ROLLBACK")); /* after a failure */
    if (PQstatus(c->db) == CONNECTION_OK)
        PQclear(PQexec(c->db, "SELECT pg_advisory_unlock_all()"));
    return r;
}

int store_pg_describe(const char *url, struct buf *out)
{
    _cleanup_free_ char *msg = NULL;
    PQconninfoOption *opts;
    const char *host = "", *port = "", *db = "";
    int r;

    if (!url || !(startswith(url, "postgres://") || startswith(url, "postgresql://")))
        return -EINVAL;
    opts = PQconninfoParse(url, &msg);
    if (!opts)
        return -EINVAL; /* msg may quote the URL: not passed on */
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (streq(o->keyword, "host") || streq(o->keyword, "hostaddr"))
            host = *host ? host : o->val;
        else if (streq(o->keyword, "port"))
            port = o->val;
        else if (streq(o->keyword, "dbname"))
            db = o->val;
    }
    r = buf_printf(out, "%s%s%s/%s", *host ? host : "localhost", *port ? ":" : "", port, db);
    PQconninfoFree(opts);
    return r;
}

int store_pg_open(const char *url, struct store **ret, struct buf *err)
{
    _cleanup_buf_ struct buf where = BUF_INIT;
    struct pg_store *s;
    int r;

    if (!url || !ret)
        return -EINVAL;
    if (store_pg_describe(url, &where) < 0) {
        if (err)
            buf_adds(err, "the database URL must be postgres://[user[:password]@]host[:port]/"
                          "database[?options] (or postgresql://...)");
        return -EINVAL;
    }

    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    r = sql_store_init(&s->base, &pg_driver, &store_pg_ops);
    sql_pool_init(&s->pool, PG_MAX_CONNS, pg_conn_open);
    pthread_mutex_init(&s->epochs.lock, NULL);
    pthread_cond_init(&s->epochs.cond, NULL);
    s->url = strdup(url);
    if (r >= 0 && !s->url)
        r = -ENOMEM;
    if (r >= 0)
        r = pg_migrate(s);
    if (r < 0) {
        if (err)
            buf_printf(err, "%s: %s", buf_str(&where), store_error());
        pg_close(&s->base.base);
        return r;
    }
    *ret = &s->base.base;
    return 0;
}
