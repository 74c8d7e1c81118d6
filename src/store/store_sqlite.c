/* store_sqlite.c - the embedded SQLite backend of store.h.
 *
 * One database file, <dir>/arca.db, in WAL mode with synchronous=FULL: a call
 * that returned 0 is on disk, and readers never wait for the writer.
 *
 * Threads: one write connection behind a mutex; every mutating call holds it
 * for exactly one BEGIN IMMEDIATE ... COMMIT.  Reads take a connection from a
 * pool of at most SQ_MAX_READERS (opened lazily, kept on a free list, marked
 * query_only) and wait only when all of them are busy.  A connection is used
 * by one thread at a time, so it is opened without SQLite's own mutex.
 *
 * Every statement is in sq_stmts[] below and is prepared once per connection,
 * on first use; values are always bound, never formatted into SQL.
 *
 * A connection is borrowed into a cleanup variable (_cleanup_conn_); returning
 * it rolls back a transaction that was not committed, so every early return of
 * a write undoes what it did.
 *
 * At open, the migrations of migrations.h newer than the newest version in
 * schema_migrations are applied in order, each in its own transaction; a
 * database written by a newer binary is refused.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/names.h"
#include "base/util.h"
#include "store/migrations.h"

#define SQ_MAX_READERS 8
#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_ERR_MAX 256 /* longest message kept in store->err, NUL included */

#ifndef _cleanup_
#define _cleanup_(f) __attribute__((cleanup(f)))
#endif

/* Moves a struct out of a cleanup variable, leaving zeros behind. */
#define TAKE_STRUCT(x)                                                                             \
    ({                                                                                             \
        __typeof__(x) _x_ = (x);                                                                   \
        memset(&(x), 0, sizeof(x));                                                                \
        _x_;                                                                                       \
    })

#define SECRET_COLS "id, key, path, version, value, comment, updated_at, updated_by"
#define SHARED "type = 'shared' AND owner_id = ''"

enum sq_stmt {
    ST_BEGIN,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_USER_COUNT,
    ST_USER_INSERT,
    ST_USER_BY_ID,
    ST_USER_BY_EMAIL,
    ST_USER_ORGS,
    ST_ORG_INSERT,
    ST_ORG_MEMBER_INSERT,
    ST_SESSION_INSERT,
    ST_SESSION_GET,
    ST_SESSION_DELETE,
    ST_PROJECT_INSERT,
    ST_PROJECT_GET,
    ST_PROJECT_LIST,
    ST_ENV_INSERT,
    ST_ENV_LIST,
    ST_MEMBER_INSERT,
    ST_MEMBER_GET,
    ST_SECRETS_LIST,
    ST_SECRET_GET,
    ST_SECRET_HISTORY,
    ST_SECRET_LOOKUP,
    ST_SECRET_INSERT,
    ST_SECRET_UPDATE,
    ST_VERSION_INSERT,
    ST__MAX
};

#define USER_COLS                                                                                  \
    "id, email, auth_hash, kdf_salt, kdf_opslimit, kdf_memlimit, public_key, "                     \
    "encrypted_private_key, created_at"

static const struct {
    const char *name; /* for error messages */
    const char *sql;
} sq_stmts[ST__MAX] = {
    [ST_BEGIN] = {"begin", "BEGIN"},
    [ST_BEGIN_IMMEDIATE] = {"begin immediate", "BEGIN IMMEDIATE"},
    [ST_COMMIT] = {"commit", "COMMIT"},
    [ST_ROLLBACK] = {"rollback", "ROLLBACK"},
    [ST_USER_COUNT] = {"count users", "SELECT count(*) FROM users"},
    [ST_USER_INSERT] = {"insert user", "INSERT INTO users (" USER_COLS ") "
                                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_USER_BY_ID] = {"get user", "SELECT " USER_COLS " FROM users WHERE id = ?"},
    [ST_USER_BY_EMAIL] = {"get user by email", "SELECT " USER_COLS " FROM users WHERE email = ?"},
    [ST_USER_ORGS] = {"list user orgs", "SELECT o.id, o.name, o.slug, o.created_at, m.role "
                                        "FROM org_members m JOIN orgs o ON o.id = m.org_id "
                                        "WHERE m.user_id = ? ORDER BY o.created_at, o.id"},
    [ST_ORG_INSERT] = {"insert org",
                       "INSERT INTO orgs (id, name, slug, created_at) VALUES (?, ?, ?, ?)"},
    [ST_ORG_MEMBER_INSERT] = {"insert org member", "INSERT INTO org_members "
                                                   "(org_id, user_id, role, created_at) "
                                                   "VALUES (?, ?, ?, ?)"},
    [ST_SESSION_INSERT] = {"insert session", "INSERT INTO sessions "
                                             "(token_hash, user_id, created_at, expires_at) "
                                             "VALUES (?, ?, ?, ?)"},
    [ST_SESSION_GET] = {"get session", "SELECT token_hash, user_id, created_at, expires_at "
                                       "FROM sessions WHERE token_hash = ?"},
    [ST_SESSION_DELETE] = {"delete session", "DELETE FROM sessions WHERE token_hash = ?"},
    [ST_PROJECT_INSERT] = {"insert project", "INSERT INTO projects "
                                             "(id, org_id, name, slug, created_at) "
                                             "VALUES (?, ?, ?, ?, ?)"},
    [ST_PROJECT_GET] = {"get project", "SELECT id, org_id, name, slug, created_at "
                                       "FROM projects WHERE id = ?"},
    [ST_PROJECT_LIST] = {"list projects",
                         "SELECT p.id, p.org_id, p.name, p.slug, p.created_at "
                         "FROM project_members m JOIN projects p ON p.id = m.project_id "
                         "WHERE m.principal_id = ? ORDER BY p.name, p.id"},
    [ST_ENV_INSERT] = {"insert environment", "INSERT INTO environments "
                                             "(id, project_id, slug, name, position) "
                                             "VALUES (?, ?, ?, ?, ?)"},
    [ST_ENV_LIST] = {"list environments", "SELECT id, project_id, slug, name, position "
                                          "FROM environments WHERE project_id = ? "
                                          "ORDER BY position, slug"},
    [ST_MEMBER_INSERT] = {"insert member",
                          "INSERT INTO project_members "
                          "(project_id, principal_id, role, wrapped_key, created_at) "
                          "VALUES (?, ?, ?, ?, ?)"},
    [ST_MEMBER_GET] = {"get member",
                       "SELECT project_id, principal_id, role, wrapped_key, created_at "
                       "FROM project_members WHERE project_id = ? AND principal_id = ?"},
    [ST_SECRETS_LIST] = {"list secrets", "SELECT " SECRET_COLS " FROM secrets "
                                         "WHERE env_id = ? AND path = ? AND " SHARED
                                         " AND value IS NOT NULL ORDER BY key"},
    [ST_SECRET_GET] = {"get secret", "SELECT " SECRET_COLS " FROM secrets "
                                     "WHERE env_id = ? AND path = ? AND key = ? AND " SHARED},
    [ST_SECRET_HISTORY] = {"secret history",
                           "SELECT s.id, s.key, s.path, v.version, v.value, v.comment, "
                           "v.created_at, v.actor_id "
                           "FROM secrets s JOIN secret_versions v ON v.secret_id = s.id "
                           "WHERE s.env_id = ? AND s.path = ? AND s.key = ? AND s." SHARED
                           " ORDER BY v.version DESC"},
    [ST_SECRET_LOOKUP] = {"look up secret",
                          "SELECT id, project_id, version, value IS NOT NULL FROM secrets "
                          "WHERE env_id = ? AND path = ? AND key = ? AND " SHARED},
    /* A comment bound as NULL keeps the current one; an empty blob clears it;
     * a tombstone (value NULL) has none. */
    [ST_SECRET_INSERT] = {"insert secret",
                          "INSERT INTO secrets (id, project_id, env_id, path, key, version, "
                          "value, comment, updated_at, updated_by) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, nullif(?8, x''), ?9, ?10)"},
    [ST_SECRET_UPDATE] = {"update secret", "UPDATE secrets SET version = ?1, value = ?2, "
                                           "comment = CASE WHEN ?2 IS NULL THEN NULL "
                                           "WHEN ?3 IS NULL THEN comment ELSE nullif(?3, x'') END, "
                                           "updated_at = ?4, updated_by = ?5 WHERE id = ?6"},
    /* The history row is a copy of the current row, so the two cannot disagree. */
    [ST_VERSION_INSERT] = {"insert secret version",
                           "INSERT INTO secret_versions "
                           "(secret_id, version, value, comment, created_at, actor_id) "
                           "SELECT id, version, value, comment, updated_at, updated_by "
                           "FROM secrets WHERE id = ?"},
};

struct sq_store;

struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[ST__MAX]; /* prepared on first use, finalized at close */
    struct sq_store *owner;
    bool writer;          /* the write connection (else a pooled reader) */
    struct sq_conn *next; /* free list link (readers) */
};

struct sq_store {
    struct store base; /* must be first */
    char *db_path;     /* OWNED */
    pthread_mutex_t err_lock;
    pthread_mutex_t write_lock; /* held for the whole of a write call */
    struct sq_conn *writer;
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;     /* signalled when a reader is returned */
    struct sq_conn *free_readers; /* idle readers */
    size_t n_readers;             /* readers opened (idle or busy) */
};

static struct sq_store *sq(struct store *s)
{
    return (struct sq_store *)s;
}

/* Records the last error.  store->err was given its full capacity at open and
 * messages are capped below it, so its memory never moves and a thread that
 * logs it while another fails reads a message, not freed memory. */
static void sq_set_err(struct sq_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sq_set_err(struct sq_store *s, const char *fmt, ...)
{
    char msg[SQ_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&s->err_lock);
    buf_clear(&s->base.err);
    (void)buf_adds(&s->base.err, msg);
    pthread_mutex_unlock(&s->err_lock);
}

static int sq_errno(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY: /* the row referred to does not exist */
        return -ENOENT;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_TOOBIG:
        return -E2BIG;
    default:
        return -EIO;
    }
}

static const char *sq_stmt_name(struct sq_conn *c, sqlite3_stmt *st)
{
    for (size_t i = 0; i < ST__MAX; i++)
        if (c->stmts[i] == st)
            return sq_stmts[i].name;
    return "statement";
}

/* SQLite's messages name tables, columns and constraints, never bound values. */
static int sq_fail(struct sq_conn *c, int rc, const char *what)
{
    sq_set_err(c->owner, "sqlite: %s: %s", what,
               c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    return sq_errno(rc);
}

static int sq_stmt(struct sq_conn *c, enum sq_stmt id, sqlite3_stmt **ret)
{
    if (!c->stmts[id]) {
        int rc = sqlite3_prepare_v3(c->db, sq_stmts[id].sql, -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return sq_fail(c, rc, sq_stmts[id].name);
    }
    *ret = c->stmts[id];
    return 0;
}

static void sq_reset(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

static void sq_resetp(sqlite3_stmt **st)
{
    sq_reset(*st);
}
#define _cleanup_stmt_ _cleanup_(sq_resetp)

/* Binds parameters 1, 2, ... from fmt, one letter each:
 *   't' const char *         text (NULL binds NULL)
 *   'b' const void *, size_t blob (NULL binds NULL; non-NULL with 0 an empty blob)
 *   'i' int64_t              integer (pass int64_t, not int)
 * Bound memory is BORROWED until the statement is reset. */
static int sq_bindv(struct sq_conn *c, sqlite3_stmt *st, const char *fmt, va_list ap)
{
    int idx = 1;

    for (const char *f = fmt; *f; f++, idx++) {
        int rc;
        switch (*f) {
        case 't': {
            const char *t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(st, idx, t, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
            break;
        }
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = p ? sqlite3_bind_blob64(st, idx, p, n, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(st, idx, va_arg(ap, int64_t));
            break;
        default:
            return -EINVAL;
        }
        if (rc != SQLITE_OK)
            return sq_fail(c, rc, sq_stmt_name(c, st));
    }
    return 0;
}

/* Prepares (once) and binds a query; *ret is BORROWED and must be reset by
 * the caller (_cleanup_stmt_). */
static int sq_query(struct sq_conn *c, enum sq_stmt id, sqlite3_stmt **ret, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int r;

    r = sq_stmt(c, id, &st);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    r = sq_bindv(c, st, fmt, ap);
    va_end(ap);
    if (r < 0) {
        sq_reset(st);
        return r;
    }
    *ret = st;
    return 0;
}

/* 1: a row is there, 0: no more rows, or a negative errno. */
static int sq_step(struct sq_conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return sq_fail(c, rc, sq_stmt_name(c, st));
}

/* Runs a statement that returns no rows. */
static int sq_runv(struct sq_conn *c, enum sq_stmt id, const char *fmt, va_list ap)
{
    sqlite3_stmt *st = NULL;
    int r;

    r = sq_stmt(c, id, &st);
    if (r < 0)
        return r;
    r = sq_bindv(c, st, fmt, ap);
    if (r >= 0)
        r = sq_step(c, st);
    sq_reset(st);
    return r < 0 ? r : 0;
}

static int sq_run(struct sq_conn *c, enum sq_stmt id, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = sq_runv(c, id, fmt, ap);
    va_end(ap);
    return r;
}

static int sq_begin(struct sq_conn *c)
{
    return sq_run(c, c->writer ? ST_BEGIN_IMMEDIATE : ST_BEGIN, "");
}

static int sq_commit(struct sq_conn *c)
{
    return sq_run(c, ST_COMMIT, "");
}

/* ---- connections ---- */

static void sq_conn_close(struct sq_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < ST__MAX; i++)
        sqlite3_finalize(c->stmts[i]);
    sqlite3_close(c->db);
    free(c);
}

static int sq_conn_exec(struct sq_conn *c, const char *sql, const char *what)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        sq_set_err(c->owner, "sqlite: %s: %s", what, msg ? msg : sqlite3_errstr(rc));
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
    c->writer = writer;

    rc = sqlite3_open_v2(s->db_path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        sq_set_err(s, "cannot open '%s': %s", s->db_path,
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
            sq_set_err(s, "cannot switch '%s' to WAL mode", s->db_path);
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
    pthread_mutex_lock(&s->write_lock);
    return s->writer;
}

static int sq_reader(struct sq_store *s, struct sq_conn **ret)
{
    struct sq_conn *c;
    int r;

    pthread_mutex_lock(&s->pool_lock);
    while (!s->free_readers && s->n_readers >= SQ_MAX_READERS)
        pthread_cond_wait(&s->pool_cond, &s->pool_lock);
    c = s->free_readers;
    if (c) {
        s->free_readers = c->next;
        pthread_mutex_unlock(&s->pool_lock);
        c->next = NULL;
        *ret = c;
        return 0;
    }
    s->n_readers++; /* reserve the slot, open outside the lock */
    pthread_mutex_unlock(&s->pool_lock);

    r = sq_conn_open(s, false, &c);
    if (r < 0) {
        pthread_mutex_lock(&s->pool_lock);
        s->n_readers--;
        pthread_cond_signal(&s->pool_cond);
        pthread_mutex_unlock(&s->pool_lock);
        return r;
    }
    *ret = c;
    return 0;
}

static void sq_conn_releasep(struct sq_conn **cp)
{
    struct sq_conn *c = *cp;
    struct sq_store *s;

    if (!c)
        return;
    s = c->owner;
    if (!sqlite3_get_autocommit(c->db)) {
        /* Statements are reset by their own cleanup, which runs first. */
        sqlite3_stmt *st = NULL;
        if (sq_stmt(c, ST_ROLLBACK, &st) == 0) {
            sqlite3_step(st);
            sqlite3_reset(st);
        }
    }
    if (c->writer) {
        pthread_mutex_unlock(&s->write_lock);
        return;
    }
    pthread_mutex_lock(&s->pool_lock);
    c->next = s->free_readers;
    s->free_readers = c;
    pthread_cond_signal(&s->pool_cond);
    pthread_mutex_unlock(&s->pool_lock);
}
#define _cleanup_conn_ _cleanup_(sq_conn_releasep)

/* ---- reading columns ---- */

static int sq_corrupt(struct sq_conn *c, sqlite3_stmt *st, int col)
{
    sq_set_err(c->owner, "sqlite: %s: unexpected value in column '%s'", sq_stmt_name(c, st),
               sqlite3_column_name(st, col));
    return -EIO;
}

/* Copies a text column into a fixed buffer; -EIO if it does not fit. */
static int col_fixed_text(struct sq_conn *c, sqlite3_stmt *st, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);

    if (n >= size)
        return sq_corrupt(c, st, col);
    if (n)
        memcpy(out, t, n);
    out[n] = 0;
    return 0;
}

static int col_id(struct sq_conn *c, sqlite3_stmt *st, int col, char out[STORE_ID_LEN + 1])
{
    return col_fixed_text(c, st, col, out, STORE_ID_LEN + 1);
}

static int col_str(sqlite3_stmt *st, int col, char **ret)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    char *p = malloc(n + 1);

    if (!p)
        return -ENOMEM;
    if (n)
        memcpy(p, t, n);
    p[n] = 0;
    *ret = p;
    return 0;
}

/* NULL reads as {NULL, 0}. */
static int col_blob(sqlite3_stmt *st, int col, struct store_blob *ret)
{
    const void *p = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);

    if (!p || n == 0) {
        *ret = (struct store_blob){0};
        return 0;
    }
    ret->ptr = malloc(n);
    if (!ret->ptr)
        return -ENOMEM;
    memcpy(ret->ptr, p, n);
    ret->len = n;
    return 0;
}

static int col_hash(struct sq_conn *c, sqlite3_stmt *st, int col, uint8_t out[STORE_HASH_BYTES])
{
    const void *p = sqlite3_column_blob(st, col);

    if (!p || sqlite3_column_bytes(st, col) != STORE_HASH_BYTES)
        return sq_corrupt(c, st, col);
    memcpy(out, p, STORE_HASH_BYTES);
    return 0;
}

/* Grows an array of elements of size `size` to hold at least n + 1, zeroing
 * the new part.  NULL (and *p untouched) when out of memory. */
static void *sq_grow(void *p, size_t *cap, size_t n, size_t size)
{
    size_t new_cap;
    char *q;

    if (n < *cap)
        return p;
    new_cap = *cap ? *cap * 2 : 8;
    if (new_cap > SIZE_MAX / size)
        return NULL;
    q = realloc(p, new_cap * size);
    if (!q)
        return NULL;
    memset(q + *cap * size, 0, (new_cap - *cap) * size);
    *cap = new_cap;
    return q;
}

static int sq_read_user(struct sq_conn *c, sqlite3_stmt *st, struct store_user *ret)
{
    _cleanup_(store_user_release) struct store_user u = {0};
    int r;

    if ((r = col_id(c, st, 0, u.id)) < 0 || (r = col_str(st, 1, &u.email)) < 0 ||
        (r = col_hash(c, st, 2, u.auth_hash)) < 0 || (r = col_blob(st, 3, &u.kdf_salt)) < 0 ||
        (r = col_blob(st, 6, &u.public_key)) < 0 ||
        (r = col_blob(st, 7, &u.encrypted_private_key)) < 0)
        return r;
    u.kdf_opslimit = (uint64_t)sqlite3_column_int64(st, 4);
    u.kdf_memlimit = (uint64_t)sqlite3_column_int64(st, 5);
    u.created_at = sqlite3_column_int64(st, 8);
    *ret = TAKE_STRUCT(u);
    return 0;
}

/* Columns: id, key, path, version, value, comment, time, actor. */
static int sq_read_secret(struct sq_conn *c, sqlite3_stmt *st, struct store_secret *ret)
{
    _cleanup_(store_secret_release) struct store_secret x = {0};
    int r;

    if ((r = col_id(c, st, 0, x.id)) < 0 || (r = col_str(st, 1, &x.key)) < 0 ||
        (r = col_str(st, 2, &x.path)) < 0 || (r = col_blob(st, 4, &x.value)) < 0 ||
        (r = col_blob(st, 5, &x.comment)) < 0 || (r = col_id(c, st, 7, x.actor_id)) < 0)
        return r;
    x.version = sqlite3_column_int64(st, 3);
    x.updated_at = sqlite3_column_int64(st, 6);
    *ret = TAKE_STRUCT(x);
    return 0;
}

struct secret_vec {
    struct store_secret *v;
    size_t n, cap;
};

static void secret_vec_release(struct secret_vec *x)
{
    store_secrets_free(x->v, x->n);
}

/* Reads every remaining row of st. */
static int sq_read_secrets(struct sq_conn *c, sqlite3_stmt *st, struct secret_vec *out)
{
    int r;

    while ((r = sq_step(c, st)) > 0) {
        struct store_secret *v = sq_grow(out->v, &out->cap, out->n, sizeof(*v));
        if (!v)
            return -ENOMEM;
        out->v = v;
        r = sq_read_secret(c, st, &v[out->n]);
        if (r < 0)
            return r;
        out->n++;
    }
    return r;
}

/* Fills p's envs (ordered by position). */
static int sq_read_envs(struct sq_conn *c, struct store_project *p)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = sq_query(c, ST_ENV_LIST, &st, "t", p->id);
    if (r < 0)
        return r;
    size_t cap = 0;
    while ((r = sq_step(c, st)) > 0) {
        struct store_env *v = sq_grow(p->envs, &cap, p->n_envs, sizeof(*v));
        if (!v)
            return -ENOMEM;
        p->envs = v;
        struct store_env *e = &v[p->n_envs];
        if ((r = col_id(c, st, 0, e->id)) < 0 || (r = col_id(c, st, 1, e->project_id)) < 0 ||
            (r = col_str(st, 2, &e->slug)) < 0 || (r = col_str(st, 3, &e->name)) < 0) {
            store_env_release(e);
            return r;
        }
        e->position = sqlite3_column_int(st, 4);
        p->n_envs++;
    }
    return r;
}

/* Columns: id, org_id, name, slug, created_at; then loads the envs. */
static int sq_read_project(struct sq_conn *c, sqlite3_stmt *st, struct store_project *ret)
{
    _cleanup_(store_project_release) struct store_project p = {0};
    int r;

    if ((r = col_id(c, st, 0, p.id)) < 0 || (r = col_id(c, st, 1, p.org_id)) < 0 ||
        (r = col_str(st, 2, &p.name)) < 0 || (r = col_str(st, 3, &p.slug)) < 0)
        return r;
    p.created_at = sqlite3_column_int64(st, 4);
    r = sq_read_envs(c, &p);
    if (r < 0)
        return r;
    *ret = TAKE_STRUCT(p);
    return 0;
}

/* ---- store_ops ---- */

static int sq_user_count(struct store *s, int64_t *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_query(c, ST_USER_COUNT, &st, "")) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    *ret = r ? sqlite3_column_int64(st, 0) : 0;
    return 0;
}

static int sq_bootstrap(struct store *s, const struct store_user *u, const struct store_org *o)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int64_t n_users;
    int r;

    if (!u || !o || !u->email || !o->name || !o->slug || u->kdf_opslimit > INT64_MAX ||
        u->kdf_memlimit > INT64_MAX)
        return -EINVAL;

    c = sq_writer(sq(s));
    r = sq_begin(c);
    if (r < 0)
        return r;
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_USER_COUNT, &st, "")) < 0 || (r = sq_step(c, st)) < 0)
            return r;
        n_users = r ? sqlite3_column_int64(st, 0) : 0;
    }
    if (n_users > 0)
        return -EEXIST;

    if ((r = sq_run(c, ST_ORG_INSERT, "ttti", o->id, o->name, o->slug, o->created_at)) < 0 ||
        (r = sq_run(c, ST_USER_INSERT, "ttbbiibbi", u->id, u->email, u->auth_hash,
                    (size_t)STORE_HASH_BYTES, u->kdf_salt.ptr, u->kdf_salt.len,
                    (int64_t)u->kdf_opslimit, (int64_t)u->kdf_memlimit, u->public_key.ptr,
                    u->public_key.len, u->encrypted_private_key.ptr, u->encrypted_private_key.len,
                    u->created_at)) < 0 ||
        (r = sq_run(c, ST_ORG_MEMBER_INSERT, "ttti", o->id, u->id, "admin", u->created_at)) < 0)
        return r;
    return sq_commit(c);
}

static int sq_user_get_by(struct store *s, enum sq_stmt id, const char *arg, struct store_user *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!arg || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_query(c, id, &st, "t", arg)) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    return sq_read_user(c, st, ret);
}

static int sq_user_get(struct store *s, const char *id, struct store_user *ret)
{
    return sq_user_get_by(s, ST_USER_BY_ID, id, ret);
}

static int sq_user_get_by_email(struct store *s, const char *email, struct store_user *ret)
{
    return sq_user_get_by(s, ST_USER_BY_EMAIL, email, ret);
}

struct org_vec {
    struct store_org_membership *v;
    size_t n, cap;
};

static void org_vec_release(struct org_vec *x)
{
    store_org_memberships_free(x->v, x->n);
}

static int sq_user_orgs(struct store *s, const char *user_id, struct store_org_membership **ret,
                        size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(org_vec_release) struct org_vec out = {0};
    int r;

    if (!user_id || !ret || !ret_n)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_query(c, ST_USER_ORGS, &st, "t", user_id)) < 0)
        return r;
    while ((r = sq_step(c, st)) > 0) {
        struct store_org_membership *v = sq_grow(out.v, &out.cap, out.n, sizeof(*v));
        if (!v)
            return -ENOMEM;
        out.v = v;
        struct store_org_membership *m = &v[out.n];
        if ((r = col_id(c, st, 0, m->org.id)) < 0 || (r = col_str(st, 1, &m->org.name)) < 0 ||
            (r = col_str(st, 2, &m->org.slug)) < 0 ||
            (r = col_fixed_text(c, st, 4, m->role, sizeof(m->role))) < 0) {
            store_org_release(&m->org);
            return r;
        }
        m->org.created_at = sqlite3_column_int64(st, 3);
        out.n++;
    }
    if (r < 0)
        return r;
    *ret_n = out.n;
    *ret = TAKE_PTR(out.v);
    out.n = 0;
    return 0;
}

/* One statement in its own write transaction.  -ENOENT if it changed no row
 * and must_change is set. */
static int sq_write1(struct store *s, bool must_change, enum sq_stmt id, const char *fmt, ...)
{
    _cleanup_conn_ struct sq_conn *c = sq_writer(sq(s));
    va_list ap;
    int r;

    r = sq_begin(c);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    r = sq_runv(c, id, fmt, ap);
    va_end(ap);
    if (r < 0)
        return r;
    if (must_change && sqlite3_changes(c->db) == 0)
        return -ENOENT;
    return sq_commit(c);
}

static int sq_session_create(struct store *s, const struct store_session *sess)
{
    if (!sess)
        return -EINVAL;
    return sq_write1(s, false, ST_SESSION_INSERT, "btii", sess->token_hash,
                     (size_t)STORE_HASH_BYTES, sess->user_id, sess->created_at, sess->expires_at);
}

static int sq_session_get(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
                          struct store_session *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    struct store_session x = {0};
    int r;

    if (!hash || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SESSION_GET, &st, "b", hash, (size_t)STORE_HASH_BYTES)) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    if ((r = col_hash(c, st, 0, x.token_hash)) < 0 || (r = col_id(c, st, 1, x.user_id)) < 0)
        return r;
    x.created_at = sqlite3_column_int64(st, 2);
    x.expires_at = sqlite3_column_int64(st, 3);
    *ret = x;
    return 0;
}

static int sq_session_delete(struct store *s, const uint8_t hash[STORE_HASH_BYTES])
{
    if (!hash)
        return -EINVAL;
    return sq_write1(s, true, ST_SESSION_DELETE, "b", hash, (size_t)STORE_HASH_BYTES);
}

static int sq_project_create(struct store *s, const struct store_project *p,
                             const struct store_member *creator)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    if (!p || !p->name || !p->slug || (p->n_envs && !p->envs))
        return -EINVAL;
    for (size_t i = 0; i < p->n_envs; i++)
        if (!p->envs[i].slug || !p->envs[i].name)
            return -EINVAL;

    c = sq_writer(sq(s));
    r = sq_begin(c);
    if (r < 0)
        return r;
    r = sq_run(c, ST_PROJECT_INSERT, "tttti", p->id, p->org_id, p->name, p->slug, p->created_at);
    if (r < 0)
        return r;
    for (size_t i = 0; i < p->n_envs; i++) {
        const struct store_env *e = &p->envs[i];
        r = sq_run(c, ST_ENV_INSERT, "tttti", e->id, p->id, e->slug, e->name, (int64_t)e->position);
        if (r < 0)
            return r;
    }
    if (creator) {
        r = sq_run(c, ST_MEMBER_INSERT, "tttbi", p->id, creator->principal_id, creator->role,
                   creator->wrapped_key.ptr, creator->wrapped_key.len, creator->created_at);
        if (r < 0)
            return r;
    }
    return sq_commit(c);
}

static int sq_project_get(struct store *s, const char *id, struct store_project *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    struct store_project p;
    int r;

    if (!id || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_begin(c)) < 0 ||
        (r = sq_query(c, ST_PROJECT_GET, &st, "t", id)) < 0 || (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    r = sq_read_project(c, st, &p);
    if (r < 0)
        return r;
    *ret = p;
    return 0;
}

struct project_vec {
    struct store_project *v;
    size_t n, cap;
};

static void project_vec_release(struct project_vec *x)
{
    store_projects_free(x->v, x->n);
}

static int sq_project_list(struct store *s, const char *principal_id, struct store_project **ret,
                           size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(project_vec_release) struct project_vec out = {0};
    int r;

    if (!principal_id || !ret || !ret_n)
        return -EINVAL;
    /* One read transaction: the projects and their envs are one snapshot. */
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_begin(c)) < 0 ||
        (r = sq_query(c, ST_PROJECT_LIST, &st, "t", principal_id)) < 0)
        return r;
    while ((r = sq_step(c, st)) > 0) {
        struct store_project *v = sq_grow(out.v, &out.cap, out.n, sizeof(*v));
        if (!v)
            return -ENOMEM;
        out.v = v;
        r = sq_read_project(c, st, &v[out.n]);
        if (r < 0)
            return r;
        out.n++;
    }
    if (r < 0)
        return r;
    *ret_n = out.n;
    *ret = TAKE_PTR(out.v);
    out.n = 0;
    return 0;
}

static int sq_member_get(struct store *s, const char *project_id, const char *principal_id,
                         struct store_member *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(store_member_release) struct store_member m = {0};
    int r;

    if (!project_id || !principal_id || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_MEMBER_GET, &st, "tt", project_id, principal_id)) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    if ((r = col_id(c, st, 0, m.project_id)) < 0 || (r = col_id(c, st, 1, m.principal_id)) < 0 ||
        (r = col_fixed_text(c, st, 2, m.role, sizeof(m.role))) < 0 ||
        (r = col_blob(st, 3, &m.wrapped_key)) < 0)
        return r;
    m.created_at = sqlite3_column_int64(st, 4);
    *ret = TAKE_STRUCT(m);
    return 0;
}

static int sq_secrets_list(struct store *s, const char *env_id, const char *path,
                           struct store_secret **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(secret_vec_release) struct secret_vec out = {0};
    int r;

    if (!env_id || !path || !ret || !ret_n)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SECRETS_LIST, &st, "tt", env_id, path)) < 0 ||
        (r = sq_read_secrets(c, st, &out)) < 0)
        return r;
    *ret_n = out.n;
    *ret = TAKE_PTR(out.v);
    out.n = 0;
    return 0;
}

static int sq_secret_get(struct store *s, const char *env_id, const char *path, const char *key,
                         struct store_secret *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!env_id || !path || !key || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SECRET_GET, &st, "ttt", env_id, path, key)) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0 || sqlite3_column_type(st, 4) == SQLITE_NULL)
        return -ENOENT;
    return sq_read_secret(c, st, ret);
}

static int sq_secret_history(struct store *s, const char *env_id, const char *path, const char *key,
                             struct store_secret **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(secret_vec_release) struct secret_vec out = {0};
    int r;

    if (!env_id || !path || !key || !ret || !ret_n)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SECRET_HISTORY, &st, "ttt", env_id, path, key)) < 0 ||
        (r = sq_read_secrets(c, st, &out)) < 0)
        return r;
    if (out.n == 0)
        return -ENOENT;
    *ret_n = out.n;
    *ret = TAKE_PTR(out.v);
    out.n = 0;
    return 0;
}

struct write_result {
    int64_t version;
    bool created;
    char id[STORE_ID_LEN + 1];
};

/* One write of a batch, inside the caller's transaction. */
static int sq_write_one(struct sq_conn *c, const char *project_id, const char *env_id,
                        const char *path, const struct store_write *w, const char *actor_id,
                        int64_t now, struct write_result *res)
{
    char id[STORE_ID_LEN + 1] = "";
    char owner_project[STORE_ID_LEN + 1] = "";
    int64_t version = 0;
    bool exists, live = false;
    int r;

    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_SECRET_LOOKUP, &st, "ttt", env_id, path, w->key)) < 0 ||
            (r = sq_step(c, st)) < 0)
            return r;
        exists = r > 0;
        if (exists) {
            if ((r = col_id(c, st, 0, id)) < 0 || (r = col_id(c, st, 1, owner_project)) < 0)
                return r;
            version = sqlite3_column_int64(st, 2);
            live = sqlite3_column_int(st, 3) != 0;
        }
    }
    if (exists && strcmp(owner_project, project_id) != 0)
        return -ENOENT; /* env_id is not an environment of project_id */

    switch (w->op) {
    case STORE_CREATE:
        if (live)
            return -EEXIST;
        break;
    case STORE_UPDATE:
    case STORE_DELETE:
        if (!live)
            return -ENOENT;
        break;
    case STORE_PUT:
        break;
    }

    const void *value = w->op == STORE_DELETE ? NULL : w->value;
    size_t value_len = value ? w->value_len : 0;
    /* NULL keeps the current comment; non-NULL with length 0 clears it. */
    const void *comment = w->op == STORE_DELETE ? NULL : w->comment;
    size_t comment_len = comment ? w->comment_len : 0;

    if (exists) {
        version++;
        r = sq_run(c, ST_SECRET_UPDATE, "ibbitt", version, value, value_len, comment, comment_len,
                   now, actor_id, id);
    } else {
        name_uuid(id);
        version = 1;
        r = sq_run(c, ST_SECRET_INSERT, "tttttibbit", id, project_id, env_id, path, w->key, version,
                   value, value_len, comment, comment_len, now, actor_id);
    }
    if (r < 0)
        return r;
    r = sq_run(c, ST_VERSION_INSERT, "t", id);
    if (r < 0)
        return r;

    res->version = version;
    res->created = !live;
    memcpy(res->id, id, sizeof(res->id));
    return 0;
}

static int sq_secrets_write(struct store *s, const char *project_id, const char *env_id,
                            const char *path, struct store_write *w, size_t n, const char *actor_id,
                            int64_t now)
{
    _cleanup_free_ struct write_result *res = NULL;
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    if (!project_id || !env_id || !path || !actor_id || (n && !w))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!w[i].key || (unsigned)w[i].op > STORE_DELETE)
            return -EINVAL;
        if (w[i].op != STORE_DELETE && (!w[i].value || w[i].value_len == 0))
            return -EINVAL; /* an empty value would read back as a tombstone */
    }
    if (n == 0)
        return 0;
    res = calloc(n, sizeof(*res));
    if (!res)
        return -ENOMEM;

    c = sq_writer(sq(s));
    r = sq_begin(c);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        r = sq_write_one(c, project_id, env_id, path, &w[i], actor_id, now, &res[i]);
        if (r < 0)
            return r;
    }
    r = sq_commit(c);
    if (r < 0)
        return r;

    for (size_t i = 0; i < n; i++) {
        w[i].ret_version = res[i].version;
        w[i].ret_created = res[i].created;
        memcpy(w[i].ret_id, res[i].id, sizeof(w[i].ret_id));
    }
    return 0;
}

static void sq_free(struct sq_store *s)
{
    if (!s)
        return;
    /* Readers first: closing the writer last checkpoints and removes the WAL. */
    while (s->free_readers) {
        struct sq_conn *c = s->free_readers;
        s->free_readers = c->next;
        sq_conn_close(c);
    }
    sq_conn_close(s->writer);
    pthread_cond_destroy(&s->pool_cond);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_mutex_destroy(&s->write_lock);
    pthread_mutex_destroy(&s->err_lock);
    buf_release(&s->base.err);
    free(s->db_path);
    free(s);
}

static void sq_close(struct store *s)
{
    sq_free(sq(s));
}

static const struct store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .user_count = sq_user_count,
    .bootstrap = sq_bootstrap,
    .user_get = sq_user_get,
    .user_get_by_email = sq_user_get_by_email,
    .user_orgs = sq_user_orgs,
    .session_create = sq_session_create,
    .session_get = sq_session_get,
    .session_delete = sq_session_delete,
    .project_create = sq_project_create,
    .project_get = sq_project_get,
    .project_list = sq_project_list,
    .member_get = sq_member_get,
    .secrets_list = sq_secrets_list,
    .secret_get = sq_secret_get,
    .secret_history = sq_secret_history,
    .secrets_write = sq_secrets_write,
};

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

static int sq_schema_version(struct sq_conn *c, int64_t *ret)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                                -1, &st, NULL);
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

/* Applies the next pending migration in one transaction; *ret_done when there
 * was none. */
static int sq_migrate_one(struct sq_store *s, struct sq_conn *c, bool *ret_done)
{
    int64_t known = store_n_migrations ? store_migrations[store_n_migrations - 1].version : 0;
    const struct store_migration *m = NULL;
    int64_t current = 0;
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
    r = sq_schema_version(c, &current);
    if (r < 0)
        goto out;
    if (current > known) {
        sq_set_err(s,
                   "database '%s' has schema version %lld, newer than this arca knows (%lld): "
                   "upgrade arca",
                   s->db_path, (long long)current, (long long)known);
        r = -EIO;
        goto out;
    }
    for (size_t i = 0; i < store_n_migrations && !m; i++)
        if (store_migrations[i].version > current)
            m = &store_migrations[i];
    if (m) {
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
    *ret_done = !m;
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
    s->base.ops = &sq_ops;
    s->base.err = (struct buf)BUF_INIT;
    pthread_mutex_init(&s->err_lock, NULL);
    pthread_mutex_init(&s->write_lock, NULL);
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_cond, NULL);

    /* Full capacity now, so that sq_set_err never reallocates (see there). */
    r = buf_grow(&s->base.err, SQ_ERR_MAX);
    if (r < 0) {
        sq_free(s);
        return r;
    }
    if (asprintf(&s->db_path, "%s/arca.db", dir) < 0) {
        s->db_path = NULL;
        sq_free(s);
        return -ENOMEM;
    }

    r = mkdir_parents(dir, 0700);
    if (r < 0) {
        if (err)
            buf_printf(err, "cannot create directory '%s': %s", dir, strerror(-r));
        sq_free(s);
        return -EIO;
    }
    /* The database, and the -wal/-shm files SQLite derives from it, are 0600. */
    fd = open(s->db_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (err)
            buf_printf(err, "cannot open '%s': %s", s->db_path, strerror(errno));
        sq_free(s);
        return -EIO;
    }
    close(fd);

    r = sq_conn_open(s, true, &s->writer);
    if (r >= 0) {
        bool done = false;
        while (r >= 0 && !done)
            r = sq_migrate_one(s, s->writer, &done);
    }
    if (r < 0) {
        if (err)
            buf_adds(err, buf_str(&s->base.err));
        sq_free(s);
        return r;
    }
    *ret = &s->base;
    return 0;
}
