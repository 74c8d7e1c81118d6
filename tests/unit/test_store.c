/* test_store.c - the SQLite store against a real database file in a fresh
 * temporary directory per test (Criterion runs each test in its own process).
 * Where a test must look under the interface (schema_migrations, a database
 * from the future, query plans) it opens the file with SQLite directly. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/names.h"
#include "base/util.h"
#include "store/migrations.h"
#include "store/store.h"
#include "store/store_sqlite.h"

#ifdef STORE_TEST_PG
#include "pg_fixture.h" /* the same tests on PostgreSQL: see there */
#define SQLITE_ONLY .disabled = true
#else
#define SQLITE_ONLY .disabled = false
#endif

#define USER_ID "11111111-1111-4111-8111-111111111111"
#define USER2_ID "22222222-2222-4222-8222-222222222222"
#define ORG_ID "33333333-3333-4333-8333-333333333333"
#define PROJ_ID "44444444-4444-4444-8444-444444444444"
#define ENV_DEV "55555555-5555-4555-8555-555555555501"
#define ENV_STG "55555555-5555-4555-8555-555555555502"
#define ENV_PROD "55555555-5555-4555-8555-555555555503"
#define PROJ2_ID "66666666-6666-4666-8666-666666666666"
#define ENV2_DEV "77777777-7777-4777-8777-777777777701"

static char tmp[64];      /* mkdtemp directory, removed after each test */
static char data_dir[96]; /* tmp/data: created by the store */
static char db_path[128];
static struct store *st;

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void open_store(void)
{
    _cleanup_buf_ struct buf err = BUF_INIT;
#ifdef STORE_TEST_PG
    int r = store_pg_open(pg_url, &st, &err);
    cr_assert_eq(r, 0, "store_pg_open: %d %s", r, buf_str(&err));
    cr_assert_str_eq(st->ops->name, "postgres");
#else
    int r = store_sqlite_open(data_dir, &st, &err);
    cr_assert_eq(r, 0, "store_sqlite_open: %d %s", r, buf_str(&err));
    cr_assert_str_eq(st->ops->name, "sqlite");
#endif
}

static void reopen_store(void)
{
    store_close(st);
    st = NULL;
    open_store();
}

static void setup(void)
{
    strcpy(tmp, "/tmp/arca-test-store-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(data_dir, sizeof(data_dir), "%s/data", tmp);
    snprintf(db_path, sizeof(db_path), "%s/arca.db", data_dir);
#ifdef STORE_TEST_PG
    pg_fixture_create();
#endif
    open_store();
}

static void teardown(void)
{
    store_close(st);
    st = NULL;
#ifdef STORE_TEST_PG
    pg_fixture_drop();
#endif
    nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = setup, .fini = teardown);

/* ---- fixtures ---- */

static uint8_t salt[16] = "0123456789abcdef";
static uint8_t pubkey[32] = "public-key-public-key-public-key";
static uint8_t privkey[48] = "sealed-private-key-sealed-private-key-sealed-pk";
static uint8_t wrapped[40] = "wrapped-project-key-wrapped-project-key";

static struct store_user make_user(const char *id, const char *email)
{
    struct store_user u = {
        .email = (char *)email,
        .kdf_salt = {salt, sizeof(salt)},
        .kdf_opslimit = 3,
        .kdf_memlimit = 64u << 20,
        .public_key = {pubkey, sizeof(pubkey)},
        .encrypted_private_key = {privkey, sizeof(privkey)},
        .created_at = 1700000000000,
    };
    strcpy(u.id, id);
    memset(u.auth_hash, email[0], sizeof(u.auth_hash));
    return u;
}

static void bootstrap(void)
{
    struct store_user u = make_user(USER_ID, "ada@example.com");
    struct store_org o = {.name = "Ada's org", .slug = "ada", .created_at = 1700000000000};
    strcpy(o.id, ORG_ID);
    cr_assert_eq(st->ops->bootstrap(st, &u, &o), 0);
}

/* A project with dev/staging/prod given out of position order. */
static int create_project(const char *id, const char *slug, const char *const env_ids[3],
                          const char *principal)
{
    struct store_env envs[3] = {
        {.slug = "prod", .name = "Production", .position = 3},
        {.slug = "dev", .name = "Development", .position = 1},
        {.slug = "staging", .name = "Staging", .position = 2},
    };
    struct store_project p = {.name = "Web",
                              .slug = (char *)slug,
                              .created_at = 1700000001000,
                              .envs = envs,
                              .n_envs = 3};
    struct store_member m = {
        .role = "admin", .wrapped_key = {wrapped, sizeof(wrapped)}, .created_at = 1700000001000};

    strcpy(p.id, id);
    strcpy(p.org_id, ORG_ID);
    for (int i = 0; i < 3; i++)
        strcpy(envs[i].id, env_ids[i]);
    strcpy(m.project_id, id);
    strcpy(m.principal_id, principal);
    return st->ops->project_create(st, &p, &m);
}

static const char *const main_envs[3] = {ENV_PROD, ENV_DEV, ENV_STG};

static void setup_project(void)
{
    bootstrap();
    cr_assert_eq(create_project(PROJ_ID, "web", main_envs, USER_ID), 0);
}

static int64_t clock_ms = 1700000100000;

static int write1(const char *env, const char *path, enum store_write_op op, const char *key,
                  const char *value, struct store_write *ret)
{
    struct store_write w = {.op = op,
                            .key = key,
                            .value = (const uint8_t *)value,
                            .value_len = value ? strlen(value) : 0};
    int r = st->ops->secrets_write(st, PROJ_ID, env, path, &w, 1, USER_ID, clock_ms++);
    if (ret)
        *ret = w;
    return r;
}

static int put(const char *key, const char *value)
{
    return write1(ENV_DEV, "/", STORE_PUT, key, value, NULL);
}

static bool blob_is(const struct store_blob *b, const char *s)
{
    return b->len == strlen(s) && (b->len == 0 || memcmp(b->ptr, s, b->len) == 0);
}

/* Runs a query on the database file directly; returns the first column of the
 * first row as an integer. */
static int64_t sql_int(const char *sql)
{
#ifdef STORE_TEST_PG
    return pg_fixture_int(sql);
#endif
    sqlite3 *db;
    sqlite3_stmt *q;
    int64_t v = -1;

    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

/* ---- users, orgs, sessions ---- */

Test(store, creates_private_directory_and_file, SQLITE_ONLY)
{
    struct stat sb;
    cr_assert_eq(stat(data_dir, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0700);
    cr_assert_eq(stat(db_path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);
    cr_assert_eq(sql_int("SELECT count(*) FROM schema_migrations"), (int64_t)store_n_migrations);
}

Test(store, bootstrap_once)
{
    int64_t n = -1;
    cr_assert_eq(st->ops->user_count(st, &n), 0);
    cr_assert_eq(n, 0);

    bootstrap();
    cr_assert_eq(st->ops->user_count(st, &n), 0);
    cr_assert_eq(n, 1);

    struct store_user u2 = make_user(USER2_ID, "bob@example.com");
    struct store_org o2 = {.name = "Bob's org", .slug = "bob", .created_at = 1};
    strcpy(o2.id, "99999999-9999-4999-8999-999999999999");
    cr_assert_eq(st->ops->bootstrap(st, &u2, &o2), -EEXIST);
    cr_assert_eq(st->ops->user_count(st, &n), 0);
    cr_assert_eq(n, 1, "a refused bootstrap writes nothing");

    struct store_org_membership *m = NULL;
    size_t n_m = 0;
    cr_assert_eq(st->ops->user_orgs(st, USER_ID, &m, &n_m), 0);
    cr_assert_eq(n_m, 1);
    cr_assert_str_eq(m[0].org.id, ORG_ID);
    cr_assert_str_eq(m[0].org.name, "Ada's org");
    cr_assert_str_eq(m[0].org.slug, "ada");
    cr_assert_str_eq(m[0].role, "admin");
    store_org_memberships_free(m, n_m);

    m = NULL;
    cr_assert_eq(st->ops->user_orgs(st, USER2_ID, &m, &n_m), 0);
    cr_assert_eq(n_m, 0);
    cr_assert_null(m);
}

Test(store, users_by_id_and_email)
{
    struct store_user u = {0};
    struct store_user want = make_user(USER_ID, "ada@example.com");

    cr_assert_eq(st->ops->user_get(st, USER_ID, &u), -ENOENT);
    bootstrap();

    cr_assert_eq(st->ops->user_get(st, USER_ID, &u), 0);
    cr_assert_str_eq(u.id, USER_ID);
    cr_assert_str_eq(u.email, "ada@example.com");
    cr_assert_arr_eq(u.auth_hash, want.auth_hash, STORE_HASH_BYTES);
    cr_assert_eq(u.kdf_salt.len, sizeof(salt));
    cr_assert_arr_eq(u.kdf_salt.ptr, salt, sizeof(salt));
    cr_assert_eq(u.kdf_opslimit, 3);
    cr_assert_eq(u.kdf_memlimit, 64u << 20);
    cr_assert_arr_eq(u.public_key.ptr, pubkey, sizeof(pubkey));
    cr_assert_eq(u.encrypted_private_key.len, sizeof(privkey));
    cr_assert_arr_eq(u.encrypted_private_key.ptr, privkey, sizeof(privkey));
    cr_assert_eq(u.created_at, 1700000000000);
    store_user_release(&u);
    cr_assert_null(u.email, "release zeroes the record");
    store_user_release(&u);
    store_user_release(NULL);

    cr_assert_eq(st->ops->user_get_by_email(st, "ada@example.com", &u), 0);
    cr_assert_str_eq(u.id, USER_ID);
    store_user_release(&u);
    cr_assert_eq(st->ops->user_get_by_email(st, "ADA@Example.com", &u), 0,
                 "e-mail lookup ignores ASCII case");
    store_user_release(&u);

    cr_assert_eq(st->ops->user_get_by_email(st, "nobody@example.com", &u), -ENOENT);
    cr_assert_eq(st->ops->user_get(st, USER2_ID, &u), -ENOENT);
    cr_assert_eq(st->ops->user_get(st, NULL, &u), -EINVAL);
}

Test(store, sessions)
{
    struct store_session s = {.user_id = USER_ID, .created_at = 10, .expires_at = 20}, got = {0};
    memset(s.token_hash, 0xab, sizeof(s.token_hash));

    bootstrap();
    cr_assert_eq(st->ops->session_get(st, s.token_hash, &got), -ENOENT);
    cr_assert_eq(st->ops->session_create(st, &s), 0);
    cr_assert_eq(st->ops->session_create(st, &s), -EEXIST);

    cr_assert_eq(st->ops->session_get(st, s.token_hash, &got), 0);
    cr_assert_arr_eq(got.token_hash, s.token_hash, STORE_HASH_BYTES);
    cr_assert_str_eq(got.user_id, USER_ID);
    cr_assert_eq(got.created_at, 10);
    cr_assert_eq(got.expires_at, 20);

    cr_assert_eq(st->ops->session_delete(st, s.token_hash), 0);
    cr_assert_eq(st->ops->session_get(st, s.token_hash, &got), -ENOENT);
    cr_assert_eq(st->ops->session_delete(st, s.token_hash), -ENOENT);

    struct store_session orphan = {.user_id = USER2_ID, .created_at = 1, .expires_at = 2};
    cr_assert_eq(st->ops->session_create(st, &orphan), -ENOENT, "session of an unknown user");
}

/* ---- projects ---- */

Test(store, project_create_with_envs_and_creator)
{
    struct store_project p = {0};
    struct store_member m = {0};

    setup_project();
    cr_assert_eq(st->ops->project_get(st, PROJ_ID, &p), 0);
    cr_assert_str_eq(p.id, PROJ_ID);
    cr_assert_str_eq(p.org_id, ORG_ID);
    cr_assert_str_eq(p.name, "Web");
    cr_assert_str_eq(p.slug, "web");
    cr_assert_eq(p.created_at, 1700000001000);
    cr_assert_eq(p.n_envs, 3);
    cr_assert_str_eq(p.envs[0].slug, "dev");
    cr_assert_str_eq(p.envs[0].id, ENV_DEV);
    cr_assert_str_eq(p.envs[0].name, "Development");
    cr_assert_str_eq(p.envs[0].project_id, PROJ_ID);
    cr_assert_eq(p.envs[0].position, 1);
    cr_assert_str_eq(p.envs[1].slug, "staging");
    cr_assert_str_eq(p.envs[2].slug, "prod");
    cr_assert_eq(p.envs[2].position, 3);
    store_project_release(&p);

    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER_ID, &m), 0);
    cr_assert_str_eq(m.role, "admin");
    cr_assert_str_eq(m.project_id, PROJ_ID);
    cr_assert_str_eq(m.principal_id, USER_ID);
    cr_assert_eq(m.wrapped_key.len, sizeof(wrapped));
    cr_assert_arr_eq(m.wrapped_key.ptr, wrapped, sizeof(wrapped));
    store_member_release(&m);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER2_ID, &m), -ENOENT);
    cr_assert_eq(st->ops->project_get(st, PROJ2_ID, &p), -ENOENT);
}

Test(store, project_duplicate_slug_writes_nothing)
{
    static const char *const other_envs[3] = {
        "88888888-8888-4888-8888-888888888801",
        "88888888-8888-4888-8888-888888888802",
        "88888888-8888-4888-8888-888888888803",
    };
    struct store_project p = {0};

    setup_project();
    cr_assert_eq(create_project(PROJ2_ID, "web", other_envs, USER_ID), -EEXIST);
    cr_assert_eq(st->ops->project_get(st, PROJ2_ID, &p), -ENOENT);
    cr_assert_eq(sql_int("SELECT count(*) FROM environments"), 3);
    cr_assert_eq(create_project(PROJ2_ID, "api", other_envs, USER_ID), 0);
    /* The same environment ids again: conflict, whole project refused. */
    cr_assert_eq(create_project("99999999-9999-4999-8999-999999999999", "cli", other_envs, USER_ID),
                 -EEXIST);
    cr_assert_eq(sql_int("SELECT count(*) FROM projects"), 2);
}

Test(store, project_in_unknown_org)
{
    bootstrap();
    struct store_project p = {.name = "X", .slug = "x"};
    strcpy(p.id, PROJ_ID);
    strcpy(p.org_id, "00000000-0000-4000-8000-000000000000");
    cr_assert_eq(st->ops->project_create(st, &p, NULL), -ENOENT);
}

Test(store, project_list_for_member_and_non_member)
{
    static const char *const env2[3] = {
        ENV2_DEV,
        "77777777-7777-4777-8777-777777777702",
        "77777777-7777-4777-8777-777777777703",
    };
    struct store_project *list = NULL;
    size_t n = 99;

    setup_project();
    cr_assert_eq(create_project(PROJ2_ID, "api", env2, USER2_ID), 0);

    cr_assert_eq(st->ops->project_list(st, USER_ID, &list, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(list[0].id, PROJ_ID);
    cr_assert_eq(list[0].n_envs, 3);
    cr_assert_str_eq(list[0].envs[0].slug, "dev");
    store_projects_free(list, n);

    cr_assert_eq(st->ops->project_list(st, USER2_ID, &list, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(list[0].id, PROJ2_ID);
    store_projects_free(list, n);

    list = NULL;
    cr_assert_eq(st->ops->project_list(st, "00000000-0000-4000-8000-00000000000f", &list, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_null(list);
    store_projects_free(NULL, 0);
}

/* ---- secrets ---- */

Test(store, write_semantics_and_versions)
{
    struct store_write w;
    struct store_secret s = {0};
    char id[STORE_ID_LEN + 1];

    setup_project();

    cr_assert_eq(write1(ENV_DEV, "/", STORE_PUT, "DB_URL", "c1", &w), 0);
    cr_assert_eq(w.ret_version, 1);
    cr_assert(w.ret_created);
    cr_assert(name_uuid_valid(w.ret_id), "store-made id '%s'", w.ret_id);
    strcpy(id, w.ret_id);

    cr_assert_eq(write1(ENV_DEV, "/", STORE_PUT, "DB_URL", "c2", &w), 0);
    cr_assert_eq(w.ret_version, 2);
    cr_assert_not(w.ret_created);
    cr_assert_str_eq(w.ret_id, id);

    cr_assert_eq(write1(ENV_DEV, "/", STORE_CREATE, "DB_URL", "x", NULL), -EEXIST);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_UPDATE, "DB_URL", "c3", &w), 0);
    cr_assert_eq(w.ret_version, 3);
    cr_assert_not(w.ret_created);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_UPDATE, "NOPE", "x", NULL), -ENOENT);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_DELETE, "NOPE", NULL, NULL), -ENOENT);

    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "DB_URL", &s), 0);
    cr_assert_eq(s.version, 3);
    cr_assert(blob_is(&s.value, "c3"));
    cr_assert_str_eq(s.key, "DB_URL");
    cr_assert_str_eq(s.path, "/");
    cr_assert_str_eq(s.id, id);
    cr_assert_str_eq(s.actor_id, USER_ID);
    cr_assert_eq(s.comment.len, 0);
    store_secret_release(&s);

    /* delete: a tombstone version; the secret is gone for get and update */
    cr_assert_eq(write1(ENV_DEV, "/", STORE_DELETE, "DB_URL", NULL, &w), 0);
    cr_assert_eq(w.ret_version, 4);
    cr_assert_not(w.ret_created);
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "DB_URL", &s), -ENOENT);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_DELETE, "DB_URL", NULL, NULL), -ENOENT);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_UPDATE, "DB_URL", "x", NULL), -ENOENT);

    /* re-create continues the numbering, same id, reported as created */
    cr_assert_eq(write1(ENV_DEV, "/", STORE_CREATE, "DB_URL", "c5", &w), 0);
    cr_assert_eq(w.ret_version, 5);
    cr_assert(w.ret_created);
    cr_assert_str_eq(w.ret_id, id);
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "DB_URL", &s), 0);
    cr_assert(blob_is(&s.value, "c5"));
    store_secret_release(&s);

    /* PUT over a deleted secret also counts as created */
    cr_assert_eq(write1(ENV_DEV, "/", STORE_DELETE, "DB_URL", NULL, NULL), 0);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_PUT, "DB_URL", "c7", &w), 0);
    cr_assert_eq(w.ret_version, 7);
    cr_assert(w.ret_created);

    /* the same key in another folder or environment is another secret */
    cr_assert_eq(write1(ENV_DEV, "/app", STORE_CREATE, "DB_URL", "f1", &w), 0);
    cr_assert_eq(w.ret_version, 1);
    cr_assert_str_neq(w.ret_id, id);
    cr_assert_eq(write1(ENV_STG, "/", STORE_CREATE, "DB_URL", "s1", &w), 0);
    cr_assert_eq(w.ret_version, 1);
}

Test(store, history_newest_first_with_tombstones)
{
    struct store_secret *h = NULL;
    size_t n = 0;

    setup_project();
    cr_assert_eq(st->ops->secret_history(st, ENV_DEV, "/", "K", &h, &n), -ENOENT);
    cr_assert_eq(put("K", "v1"), 0);
    cr_assert_eq(put("K", "v2"), 0);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_DELETE, "K", NULL, NULL), 0);
    cr_assert_eq(put("K", "v4"), 0);

    cr_assert_eq(st->ops->secret_history(st, ENV_DEV, "/", "K", &h, &n), 0);
    cr_assert_eq(n, 4);
    const char *want[] = {"v4", NULL, "v2", "v1"};
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(h[i].version, (int64_t)(4 - i));
        cr_assert_str_eq(h[i].key, "K");
        cr_assert_str_eq(h[i].path, "/");
        cr_assert_str_eq(h[i].actor_id, USER_ID);
        cr_assert_str_eq(h[i].id, h[0].id);
        if (want[i])
            cr_assert(blob_is(&h[i].value, want[i]), "version %zu", 4 - i);
        else
            cr_assert_eq(h[i].value.len, 0, "tombstone");
        if (i > 0)
            cr_assert_gt(h[i - 1].updated_at, h[i].updated_at);
    }
    store_secrets_free(h, n);
    store_secrets_free(NULL, 0);
}

Test(store, comments_keep_replace_clear)
{
    struct store_secret s = {0};
    struct store_write w = {.op = STORE_PUT,
                            .key = "K",
                            .value = (const uint8_t *)"v1",
                            .value_len = 2,
                            .comment = (const uint8_t *)"note",
                            .comment_len = 4};

    setup_project();
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", &w, 1, USER_ID, 1), 0);
    cr_assert_eq(put("K", "v2"), 0); /* no comment given: kept */
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "K", &s), 0);
    cr_assert(blob_is(&s.comment, "note"));
    store_secret_release(&s);

    w.comment = (const uint8_t *)"";
    w.comment_len = 0; /* empty: cleared */
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", &w, 1, USER_ID, 2), 0);
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "K", &s), 0);
    cr_assert_eq(s.comment.len, 0);
    cr_assert_eq(s.version, 3);
    store_secret_release(&s);

    struct store_secret *h = NULL;
    size_t n = 0;
    cr_assert_eq(st->ops->secret_history(st, ENV_DEV, "/", "K", &h, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(h[0].comment.len, 0);
    cr_assert(blob_is(&h[1].comment, "note"), "history keeps each version's comment");
    cr_assert(blob_is(&h[2].comment, "note"));
    store_secrets_free(h, n);
}

Test(store, batch_is_all_or_nothing)
{
    struct store_write ok[3] = {
        {.op = STORE_CREATE, .key = "A", .value = (const uint8_t *)"a", .value_len = 1},
        {.op = STORE_CREATE, .key = "B", .value = (const uint8_t *)"b", .value_len = 1},
        {.op = STORE_PUT, .key = "C", .value = (const uint8_t *)"c", .value_len = 1},
    };
    struct store_write bad[3] = {
        {.op = STORE_UPDATE, .key = "A", .value = (const uint8_t *)"a2", .value_len = 2},
        {.op = STORE_CREATE, .key = "D", .value = (const uint8_t *)"d", .value_len = 1},
        {.op = STORE_CREATE, .key = "B", .value = (const uint8_t *)"b2", .value_len = 2},
    };
    struct store_secret *list = NULL;
    size_t n = 0;

    setup_project();
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", ok, 3, USER_ID, 1), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ok[i].ret_version, 1);
        cr_assert(ok[i].ret_created);
    }
    cr_assert_str_neq(ok[0].ret_id, ok[1].ret_id);

    for (int i = 0; i < 3; i++)
        bad[i].ret_version = -7;
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", bad, 3, USER_ID, 2), -EEXIST);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(bad[i].ret_version, -7, "ret_ fields untouched on failure");

    cr_assert_eq(st->ops->secrets_list(st, ENV_DEV, "/", &list, &n), 0);
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(list[i].version, 1, "%s untouched", list[i].key);
    store_secrets_free(list, n);
    cr_assert_eq(sql_int("SELECT count(*) FROM secret_versions"), 3);

    /* the writes of a batch see each other */
    struct store_write seq[2] = {
        {.op = STORE_PUT, .key = "E", .value = (const uint8_t *)"e", .value_len = 1},
        {.op = STORE_CREATE, .key = "E", .value = (const uint8_t *)"e", .value_len = 1},
    };
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", seq, 2, USER_ID, 3), -EEXIST);
    seq[1].op = STORE_DELETE;
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", seq, 2, USER_ID, 3), 0);
    cr_assert_eq(seq[0].ret_version, 1);
    cr_assert_eq(seq[1].ret_version, 2);
}

/* Personal overrides: keyed by owner, need a live shared secret, listed to
 * their owner only, and deleted (tombstoned) with the shared secret. */
Test(store, personal_overrides)
{
    struct store_write pw = {.op = STORE_CREATE,
                             .key = "A",
                             .value = (const uint8_t *)"mine",
                             .value_len = 4,
                             .owner = USER_ID};
    struct store_write del = {.op = STORE_DELETE, .key = "A"};
    struct store_secret *list = NULL, *hist = NULL;
    struct store_secret one = {0};
    size_t n = 0;

    setup_project();
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", &pw, 1, USER_ID, 1), -ENOENT,
                 "no shared secret: refused");
    cr_assert_eq(put("A", "shared"), 0);
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", &pw, 1, USER_ID, 2), 0);
    cr_assert_eq(pw.ret_version, 1);

    cr_assert_eq(st->ops->secrets_list_with(st, ENV_DEV, "/", USER_ID, &list, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_empty(list[0].owner_id, "the shared secret first");
    cr_assert_str_eq(list[1].owner_id, USER_ID);
    cr_assert(blob_is(&list[1].value, "mine"));
    store_secrets_free(list, n);
    cr_assert_eq(st->ops->secrets_list_with(st, ENV_DEV, "/", "someone-else", &list, &n), 0);
    cr_assert_eq(n, 1, "another user sees the shared secret only");
    store_secrets_free(list, n);
    cr_assert_eq(st->ops->secrets_list(st, ENV_DEV, "/", &list, &n), 0);
    cr_assert_eq(n, 1);
    store_secrets_free(list, n);
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "A", &one), 0);
    cr_assert(blob_is(&one.value, "shared"));
    store_secret_release(&one);

    /* one transaction: the shared tombstone and the override's */
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", &del, 1, USER_ID, 3), 0);
    cr_assert_eq(st->ops->secret_get_of(st, ENV_DEV, "/", "A", USER_ID, &one), -ENOENT);
    cr_assert_eq(st->ops->secret_history_of(st, ENV_DEV, "/", "A", USER_ID, &hist, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(hist[0].version, 2);
    cr_assert_eq(hist[0].value.len, 0, "a tombstone");
    cr_assert(blob_is(&hist[1].value, "mine"), "history kept");
    store_secrets_free(hist, n);
}

Test(store, bad_writes)
{
    struct store_write w = {
        .op = STORE_PUT, .key = "K", .value = (const uint8_t *)"v", .value_len = 1};

    setup_project();
    cr_assert_eq(write1(ENV_DEV, "/", STORE_PUT, "K", "", NULL), -EINVAL, "empty value");
    cr_assert_eq(write1(ENV_DEV, "/", STORE_PUT, NULL, "v", NULL), -EINVAL);
    cr_assert_eq(write1("00000000-0000-4000-8000-000000000000", "/", STORE_PUT, "K", "v", NULL),
                 -ENOENT, "unknown environment");
    /* an environment of another project */
    static const char *const env2[3] = {
        ENV2_DEV,
        "77777777-7777-4777-8777-777777777702",
        "77777777-7777-4777-8777-777777777703",
    };
    cr_assert_eq(create_project(PROJ2_ID, "api", env2, USER_ID), 0);
    cr_assert_eq(write1(ENV2_DEV, "/", STORE_PUT, "K", "v", NULL), -ENOENT);
    cr_assert_eq(st->ops->secrets_write(st, PROJ2_ID, ENV2_DEV, "/", &w, 1, USER_ID, 1), 0);
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV2_DEV, "/", &w, 1, USER_ID, 1), -ENOENT,
                 "existing secret, wrong project");
    cr_assert_eq(st->ops->secrets_write(st, "00000000-0000-4000-8000-000000000000", ENV_DEV, "/",
                                        &w, 1, USER_ID, 1),
                 -ENOENT, "unknown project");
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", NULL, 0, USER_ID, 1), 0);
}

Test(store, list_ordered_by_key_without_deleted)
{
    struct store_secret *list = NULL;
    size_t n = 0;

    setup_project();
    cr_assert_eq(put("b", "1"), 0);
    cr_assert_eq(put("B", "2"), 0);
    cr_assert_eq(put("a_", "3"), 0);
    cr_assert_eq(put("A", "4"), 0);
    cr_assert_eq(put("GONE", "5"), 0);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_DELETE, "GONE", NULL, NULL), 0);
    cr_assert_eq(write1(ENV_DEV, "/sub", STORE_PUT, "SUB", "6", NULL), 0);
    cr_assert_eq(write1(ENV_PROD, "/", STORE_PUT, "PROD", "7", NULL), 0);

    cr_assert_eq(st->ops->secrets_list(st, ENV_DEV, "/", &list, &n), 0);
    const char *want[] = {"A", "B", "a_", "b"};
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(list[i].key, want[i]);
    cr_assert(blob_is(&list[0].value, "4"));
    store_secrets_free(list, n);

    cr_assert_eq(st->ops->secrets_list(st, ENV_DEV, "/sub", &list, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(list[0].key, "SUB");
    cr_assert_str_eq(list[0].path, "/sub");
    store_secrets_free(list, n);

    list = NULL;
    cr_assert_eq(st->ops->secrets_list(st, ENV_STG, "/", &list, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_null(list);
}

Test(store, folder_listing_uses_the_index, SQLITE_ONLY)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    _cleanup_buf_ struct buf plan = BUF_INIT;

    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "EXPLAIN QUERY PLAN SELECT id FROM secrets WHERE env_id = ? "
                                    "AND path = ? AND type = 'shared' AND owner_id = '' "
                                    "AND value IS NOT NULL ORDER BY key",
                                    -1, &q, NULL),
                 SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW)
        buf_printf(&plan, "%s\n", (const char *)sqlite3_column_text(q, 3));
    sqlite3_finalize(q);
    sqlite3_close(db);
    cr_assert(strstr(buf_str(&plan), "USING INDEX"), "%s", buf_str(&plan));
    cr_assert_null(strstr(buf_str(&plan), "TEMP B-TREE"), "%s", buf_str(&plan));
}

/* ---- durability, migrations ---- */

Test(store, reopen_keeps_everything_and_does_not_migrate_again)
{
    struct store_secret s = {0};
    struct store_write w;
    struct store_user u = {0};

    setup_project();
    cr_assert_eq(put("K", "v1"), 0);
    cr_assert_eq(put("K", "v2"), 0);
    int64_t applied = sql_int("SELECT applied_at FROM schema_migrations WHERE version = 1");
    cr_assert_gt(applied, 0);

    reopen_store();
    reopen_store();
    cr_assert_eq(sql_int("SELECT count(*) FROM schema_migrations"), (int64_t)store_n_migrations);
    cr_assert_eq(sql_int("SELECT applied_at FROM schema_migrations WHERE version = 1"), applied);

    cr_assert_eq(st->ops->user_get(st, USER_ID, &u), 0);
    store_user_release(&u);
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "K", &s), 0);
    cr_assert_eq(s.version, 2);
    cr_assert(blob_is(&s.value, "v2"));
    store_secret_release(&s);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_PUT, "K", "v3", &w), 0);
    cr_assert_eq(w.ret_version, 3);
}

Test(store, refuses_a_newer_schema, SQLITE_ONLY)
{
    sqlite3 *db;
    _cleanup_buf_ struct buf err = BUF_INIT;
    struct store *s2 = NULL;
    char sql[128];

    store_close(st);
    st = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations VALUES (%d, 'from_the_future', 0)",
             store_migrations[store_n_migrations - 1].version + 1);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    cr_assert_eq(store_sqlite_open(data_dir, &s2, &err), -EIO);
    cr_assert_null(s2);
    cr_assert(strstr(buf_str(&err), "does not know"), "message: %s", buf_str(&err));
}

/* Migration numbers are handed out to changes developed at once: one merged
 * later than a higher one is still applied, and a version this binary does
 * not know is refused even below its newest. */
Test(store, applies_a_migration_missing_below_the_newest, SQLITE_ONLY)
{
    sqlite3 *db;

    store_close(st);
    st = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db,
                              "DROP TABLE secret_imports; DROP TABLE folders; "
                              "DELETE FROM schema_migrations WHERE version = 5",
                              NULL, NULL, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
    open_store();
    cr_assert_eq(sql_int("SELECT count(*) FROM schema_migrations"), (int64_t)store_n_migrations);
    cr_assert_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE name = 'folders'"), 1);
}

Test(store, refuses_an_unknown_version_below_the_newest, SQLITE_ONLY)
{
    _cleanup_buf_ struct buf err = BUF_INIT;
    struct store *s2 = NULL;
    sqlite3 *db;
    char sql[128];
    int unknown = 1;

    for (size_t i = 0; i < store_n_migrations && store_migrations[i].version == unknown; i++)
        unknown++; /* the first number without a migration (a gap, or the next one) */
    store_close(st);
    st = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations VALUES (%d, 'from_a_branch', 0)",
             unknown);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(store_sqlite_open(data_dir, &s2, &err), -EIO);
    cr_assert_null(s2);
    cr_assert(strstr(buf_str(&err), "does not know"), "message: %s", buf_str(&err));
}

Test(store, refuses_a_file_that_is_not_a_database, SQLITE_ONLY)
{
    _cleanup_buf_ struct buf err = BUF_INIT;
    struct store *s2 = NULL;
    FILE *f;

    store_close(st);
    st = NULL;
    unlink(db_path);
    f = fopen(db_path, "w");
    cr_assert_not_null(f);
    fputs("this is not an sqlite database, not even close; it is a text file\n", f);
    fclose(f);
    cr_assert_eq(store_sqlite_open(data_dir, &s2, &err), -EIO);
    cr_assert_gt(err.len, 0);
}

/* ---- threads ---- */

#define N_WRITERS 4
#define N_READERS 12 /* more than the reader pool, so some wait for a connection */
#define N_WRITES 50

struct worker {
    pthread_t thread;
    int id;
    int errors;            /* calls that failed */
    int order_errors;      /* versions seen going backwards */
    int64_t got[N_WRITES]; /* writers: versions returned for the shared key */
};

static volatile int writers_done;

static void *writer_main(void *arg)
{
    struct worker *wk = arg;
    char key[16], value[32];

    snprintf(key, sizeof(key), "OWN_%d", wk->id);
    for (int i = 0; i < N_WRITES; i++) {
        struct store_write w[2] = {
            {.op = STORE_PUT, .key = "SHARED"},
            {.op = STORE_PUT, .key = key},
        };
        snprintf(value, sizeof(value), "w%d-%d", wk->id, i);
        for (int j = 0; j < 2; j++) {
            w[j].value = (const uint8_t *)value;
            w[j].value_len = strlen(value);
        }
        if (st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", w, 2, USER_ID, 1000 + i) < 0) {
            wk->errors++;
            continue;
        }
        wk->got[i] = w[0].ret_version;
        if (w[1].ret_version != i + 1)
            wk->order_errors++;
        if (i > 0 && wk->got[i] <= wk->got[i - 1])
            wk->order_errors++;
    }
    return NULL;
}

static void *reader_main(void *arg)
{
    struct worker *wk = arg;
    int64_t last = 0;

    while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE)) {
        struct store_secret s = {0}, *list = NULL;
        size_t n = 0;
        int r = st->ops->secret_get(st, ENV_DEV, "/", "SHARED", &s);
        if (r == 0) {
            if (s.version < last)
                wk->order_errors++;
            last = s.version;
            store_secret_release(&s);
        } else if (r != -ENOENT) {
            wk->errors++;
        }
        if (st->ops->secrets_list(st, ENV_DEV, "/", &list, &n) < 0)
            wk->errors++;
        store_secrets_free(list, n);
        if (wk->id % 3 == 0) {
            r = st->ops->secret_history(st, ENV_DEV, "/", "SHARED", &list, &n);
            if (r == 0)
                store_secrets_free(list, n);
            else if (r != -ENOENT)
                wk->errors++;
        }
    }
    return NULL;
}

Test(store, concurrent_writers_and_readers, .timeout = 60)
{
    static struct worker writers[N_WRITERS], readers[N_READERS];
    struct store_secret *h = NULL;
    size_t n = 0;
    bool seen[N_WRITERS * N_WRITES + 1] = {false};

    setup_project();
    for (int i = 0; i < N_READERS; i++) {
        readers[i].id = i;
        cr_assert_eq(pthread_create(&readers[i].thread, NULL, reader_main, &readers[i]), 0);
    }
    for (int i = 0; i < N_WRITERS; i++) {
        writers[i].id = i;
        cr_assert_eq(pthread_create(&writers[i].thread, NULL, writer_main, &writers[i]), 0);
    }
    for (int i = 0; i < N_WRITERS; i++)
        pthread_join(writers[i].thread, NULL);
    __atomic_store_n(&writers_done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < N_READERS; i++)
        pthread_join(readers[i].thread, NULL);

    for (int i = 0; i < N_READERS; i++) {
        cr_assert_eq(readers[i].errors, 0, "reader %d", i);
        cr_assert_eq(readers[i].order_errors, 0, "reader %d saw a version go back", i);
    }
    for (int i = 0; i < N_WRITERS; i++) {
        cr_assert_eq(writers[i].errors, 0, "writer %d", i);
        cr_assert_eq(writers[i].order_errors, 0, "writer %d", i);
        for (int j = 0; j < N_WRITES; j++) {
            int64_t v = writers[i].got[j];
            cr_assert(v >= 1 && v <= N_WRITERS * N_WRITES && !seen[v], "version %lld",
                      (long long)v);
            seen[v] = true;
        }
    }

    /* every version exactly once, newest first, no gaps */
    cr_assert_eq(st->ops->secret_history(st, ENV_DEV, "/", "SHARED", &h, &n), 0);
    cr_assert_eq(n, N_WRITERS * N_WRITES);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(h[i].version, (int64_t)(n - i));
    store_secrets_free(h, n);
}

/* ---- error text: each thread its own call's ---- */

#define N_ERR_CALLS 2000
#define DUPE_SLUG "dupe-slug-bound-value" /* PostgreSQL's DETAIL would quote it */

struct err_worker {
    pthread_t thread;
    int kind;      /* 0: a duplicate session, 1: a duplicate role slug, 2: reads that work */
    int wrong;     /* failures whose text was not this thread's call's */
    char bad[256]; /* the first wrong text */
};

static pthread_barrier_t err_start;

static int err_call(int kind, int i)
{
    struct store_role *list = NULL;
    size_t n = 0;
    char id[STORE_ID_LEN + 1];
    int r;

    if (kind == 0) {
        struct store_session s = {.user_id = USER_ID, .created_at = 1, .expires_at = 2};
        memset(s.token_hash, 0x5e, sizeof(s.token_hash));
        return st->ops->session_create(st, &s);
    }
    if (kind == 1) {
        struct store_role x = {.slug = DUPE_SLUG, .name = "Dupe", .rules = "[]", .created_at = 1};
        snprintf(id, sizeof(id), "dededede-dede-4ede-8ede-%012d", i + 1);
        strcpy(x.id, id);
        strcpy(x.project_id, PROJ_ID);
        return st->ops->role_create(st, &x);
    }
    r = st->ops->role_list(st, PROJ_ID, &list, &n);
    store_roles_free(list, n);
    return r;
}

static void *err_main(void *arg)
{
    static const char *const mine[] = {"sessions", "project_roles", NULL};
    static const char *const theirs[] = {"role", "session", NULL};
    struct err_worker *w = arg;

    pthread_barrier_wait(&err_start);
    for (int i = 0; i < N_ERR_CALLS; i++) {
        int r = err_call(w->kind, i);
        const char *text = store_error();
        bool ok = w->kind == 2 ? r == 0 && !*text
                               : r == -EEXIST && strstr(text, mine[w->kind]) &&
                                     !strstr(text, theirs[w->kind]) && !strstr(text, DUPE_SLUG);
        if (!ok && w->wrong++ == 0)
            snprintf(w->bad, sizeof(w->bad), "%d: %s", r, text);
    }
    return NULL;
}

Test(store, each_thread_reads_its_own_calls_error_text, .timeout = 60)
{
    static struct err_worker w[6];
    struct store_session s = {.user_id = USER_ID, .created_at = 1, .expires_at = 2};

    setup_project();
    memset(s.token_hash, 0x5e, sizeof(s.token_hash));
    cr_assert_eq(st->ops->session_create(st, &s), 0);
    cr_assert_eq(err_call(1, 999999), 0);
    cr_assert_eq(err_call(1, 0), -EEXIST);
    cr_assert(strstr(store_error(), "project_roles"), "%s", store_error());
    cr_assert_eq(err_call(2, 0), 0);
    cr_assert_str_eq(store_error(), "", "a call that works clears it");

    cr_assert_eq(pthread_barrier_init(&err_start, NULL, ELEMENTSOF(w)), 0);
    for (size_t i = 0; i < ELEMENTSOF(w); i++) {
        w[i].kind = (int)i % 3;
        cr_assert_eq(pthread_create(&w[i].thread, NULL, err_main, &w[i]), 0);
    }
    for (size_t i = 0; i < ELEMENTSOF(w); i++)
        pthread_join(w[i].thread, NULL);
    pthread_barrier_destroy(&err_start);
    for (size_t i = 0; i < ELEMENTSOF(w); i++)
        cr_expect_eq(w[i].wrong, 0, "thread %zu (kind %d): %d wrong, first %s", i, w[i].kind,
                     w[i].wrong, w[i].bad);
}

/* ==== migration 0002: people, roles, machines, tokens, history, audit ==== */

#define USER3_ID "12121212-1212-4212-8212-121212121212"
#define IDENT_ID "abababab-abab-4bab-8bab-abababababab"
#define IDENT2_ID "acacacac-acac-4cac-8cac-acacacacacac"
#define CLIENT_ID "cdcdcdcd-cdcd-4dcd-8dcd-cdcdcdcdcdcd"
#define CLIENT2_ID "cececece-cece-4ece-8ece-cececececece"
#define CS_ID "efefefef-efef-4fef-8fef-efefefefefef"
#define CS2_ID "edededed-eded-4ded-8ded-edededededed"
#define INVITE_ID "bcbcbcbc-bcbc-4cbc-8cbc-bcbcbcbcbcbc"
#define ROLE_ID "dededede-dede-4ede-8ede-dededededede"
#define STOKEN_ID "fafafafa-fafa-4afa-8afa-fafafafafafa"

/* Runs SQL on the database file directly; the SQLite result code. */
static int sql_exec(const char *sql)
{
#ifdef STORE_TEST_PG
    return pg_fixture_exec(sql);
#endif
    sqlite3 *db;
    int rc;

    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static struct store_invite make_invite(const char *id, const char *email, const char *role,
                                       uint8_t token)
{
    struct store_invite inv = {.email = (char *)email, .created_at = 10, .expires_at = 1000};
    strcpy(inv.id, id);
    strcpy(inv.org_id, ORG_ID);
    strcpy(inv.org_role, role);
    strcpy(inv.created_by, USER_ID);
    memset(inv.token_hash, token, sizeof(inv.token_hash));
    return inv;
}

/* A second (or third) user of ORG_ID, through an invite. */
static void add_user(const char *id, const char *invite_id, const char *email, uint8_t token)
{
    struct store_invite inv = make_invite(invite_id, email, "member", token);
    struct store_user u = make_user(id, email);
    cr_assert_eq(st->ops->invite_create(st, &inv), 0);
    cr_assert_eq(st->ops->invite_accept(st, invite_id, &u, 20), 0);
}

static struct store_client_secret make_client_secret(const char *id, const char *identity_id,
                                                     int64_t expires_at, int64_t limit)
{
    struct store_client_secret cs = {
        .encrypted_private_key = {privkey, sizeof(privkey)},
        .prefix = "abc1234",
        .description = "ci",
        .created_at = 5,
        .expires_at = expires_at,
        .num_uses_limit = limit,
    };
    strcpy(cs.id, id);
    strcpy(cs.identity_id, identity_id);
    memset(cs.auth_hash, 0x5a, sizeof(cs.auth_hash));
    return cs;
}

static int create_identity(const char *id, const char *client_id, const char *name,
                           const struct store_client_secret *first)
{
    struct store_identity x = {
        .name = (char *)name,
        .public_key = {pubkey, sizeof(pubkey)},
        .access_token_ttl = 3600,
        .access_token_max_ttl = 86400,
        .access_token_num_uses_limit = 0,
        .trusted_ips = "10.0.0.0/8",
        .created_at = 7,
    };
    strcpy(x.id, id);
    strcpy(x.org_id, ORG_ID);
    strcpy(x.client_id, client_id);
    strcpy(x.created_by, USER_ID);
    return st->ops->identity_create(st, &x, first);
}

static int add_member(const char *type, const char *principal, const char *role)
{
    struct store_member m = {.wrapped_key = {wrapped, sizeof(wrapped)}, .created_at = 9};
    strcpy(m.project_id, PROJ_ID);
    strcpy(m.principal_type, type);
    strcpy(m.principal_id, principal);
    strcpy(m.role, role);
    return st->ops->member_add(st, &m);
}

/* ---- invites, org roles, lockout ---- */

Test(store, invite_create_get_accept)
{
    struct store_invite inv = make_invite(INVITE_ID, "bob@example.com", "admin", 0x11), got = {0};
    struct store_user u = make_user(USER2_ID, "bob@example.com"), gu = {0};
    uint8_t other[STORE_HASH_BYTES];
    char role[16] = "";

    bootstrap();
    cr_assert_eq(st->ops->invite_create(st, &inv), 0);
    cr_assert_eq(st->ops->invite_create(st, &inv), -EEXIST, "same id and token");
    struct store_invite bad = make_invite(USER3_ID, "x@example.com", "owner", 0x12);
    cr_assert_eq(st->ops->invite_create(st, &bad), -EINVAL, "unknown org role");
    bad = make_invite(USER3_ID, "x@example.com", "member", 0x12);
    strcpy(bad.org_id, "00000000-0000-4000-8000-000000000000");
    cr_assert_eq(st->ops->invite_create(st, &bad), -ENOENT, "unknown org");

    cr_assert_eq(st->ops->invite_get(st, inv.token_hash, &got), 0);
    cr_assert_str_eq(got.id, INVITE_ID);
    cr_assert_str_eq(got.org_id, ORG_ID);
    cr_assert_str_eq(got.email, "bob@example.com");
    cr_assert_str_eq(got.org_role, "admin");
    cr_assert_str_eq(got.created_by, USER_ID);
    cr_assert_eq(got.expires_at, 1000);
    cr_assert_eq(got.accepted_at, 0);
    store_invite_release(&got);
    store_invite_release(&got);
    store_invite_release(NULL);
    memset(other, 0x99, sizeof(other));
    cr_assert_eq(st->ops->invite_get(st, other, &got), -ENOENT);

    /* an invite is for one address */
    struct store_user mallory = make_user(USER3_ID, "mallory@example.com");
    cr_assert_eq(st->ops->invite_accept(st, INVITE_ID, &mallory, 50), -EINVAL);
    cr_assert_eq(st->ops->user_get(st, USER3_ID, &gu), -ENOENT);
    cr_assert_eq(st->ops->invite_accept(st, USER3_ID, &u, 50), -ENOENT, "unknown invite");

    cr_assert_eq(st->ops->org_role(st, ORG_ID, USER2_ID, role), -ENOENT);
    u.email = "BOB@example.com"; /* e-mails compare without ASCII case */
    cr_assert_eq(st->ops->invite_accept(st, INVITE_ID, &u, 50), 0);
    cr_assert_eq(st->ops->user_get(st, USER2_ID, &gu), 0);
    store_user_release(&gu);
    cr_assert_eq(st->ops->org_role(st, ORG_ID, USER2_ID, role), 0);
    cr_assert_str_eq(role, "admin");
    cr_assert_eq(st->ops->invite_get(st, inv.token_hash, &got), 0);
    cr_assert_eq(got.accepted_at, 50);
    store_invite_release(&got);

    /* twice: refused, nothing written */
    struct store_user u2 = make_user(USER3_ID, "bob@example.com");
    cr_assert_eq(st->ops->invite_accept(st, INVITE_ID, &u2, 60), -EEXIST);

    /* a second invite for a taken address */
    struct store_invite inv2 = make_invite(USER3_ID, "ada@example.com", "member", 0x13);
    struct store_user dup = make_user("99999999-9999-4999-8999-999999999999", "ada@example.com");
    cr_assert_eq(st->ops->invite_create(st, &inv2), 0);
    cr_assert_eq(st->ops->invite_accept(st, USER3_ID, &dup, 70), -EEXIST);
    cr_assert_eq(st->ops->invite_get(st, inv2.token_hash, &got), 0);
    cr_assert_eq(got.accepted_at, 0, "a refused accept writes nothing");
    store_invite_release(&got);
    int64_t n = 0;
    cr_assert_eq(st->ops->user_count(st, &n), 0);
    cr_assert_eq(n, 2);
}

Test(store, org_role)
{
    char role[16] = "unchanged";

    bootstrap();
    cr_assert_eq(st->ops->org_role(st, ORG_ID, USER_ID, role), 0);
    cr_assert_str_eq(role, "admin");
    add_user(USER2_ID, INVITE_ID, "bob@example.com", 0x21);
    cr_assert_eq(st->ops->org_role(st, ORG_ID, USER2_ID, role), 0);
    cr_assert_str_eq(role, "member");
    strcpy(role, "unchanged");
    cr_assert_eq(st->ops->org_role(st, ORG_ID, USER3_ID, role), -ENOENT);
    cr_assert_eq(st->ops->org_role(st, PROJ_ID, USER_ID, role), -ENOENT);
    cr_assert_str_eq(role, "unchanged", "not written on failure");
    cr_assert_eq(st->ops->org_role(st, NULL, USER_ID, role), -EINVAL);
}

Test(store, login_lockout_counts_and_resets)
{
    int64_t until = -1;

    bootstrap();
    cr_assert_eq(st->ops->user_locked_until(st, USER_ID, &until), 0);
    cr_assert_eq(until, 0);
    cr_assert_eq(st->ops->user_login_failed(st, USER_ID, 1000, 3, 500, &until), 1);
    cr_assert_eq(until, 0);
    cr_assert_eq(st->ops->user_login_failed(st, USER_ID, 1001, 3, 500, &until), 2);
    cr_assert_eq(until, 0);
    cr_assert_eq(st->ops->user_login_failed(st, USER_ID, 1002, 3, 500, &until), 3);
    cr_assert_eq(until, 1502, "locked at the third failure");
    cr_assert_eq(st->ops->user_locked_until(st, USER_ID, &until), 0);
    cr_assert_eq(until, 1502);

    /* a failure while locked extends the lock; so does one after it ends */
    cr_assert_eq(st->ops->user_login_failed(st, USER_ID, 1100, 3, 500, &until), 4);
    cr_assert_eq(until, 1600);
    cr_assert_eq(st->ops->user_login_failed(st, USER_ID, 3000, 3, 500, NULL), 5);
    cr_assert_eq(st->ops->user_locked_until(st, USER_ID, &until), 0);
    cr_assert_eq(until, 3500);

    /* reopening keeps the count (it is in the database, not in memory) */
    reopen_store();
    cr_assert_eq(st->ops->user_login_failed(st, USER_ID, 4000, 0, 500, &until), 6);
    cr_assert_eq(until, 0, "lock_after 0 never locks, and the old lock has ended");

    cr_assert_eq(st->ops->user_login_ok(st, USER_ID), 0);
    cr_assert_eq(st->ops->user_locked_until(st, USER_ID, &until), 0);
    cr_assert_eq(until, 0);
    cr_assert_eq(st->ops->user_login_failed(st, USER_ID, 5000, 3, 500, &until), 1,
                 "counting starts again");

    cr_assert_eq(st->ops->user_login_failed(st, USER2_ID, 1, 3, 500, &until), -ENOENT);
    cr_assert_eq(st->ops->user_login_ok(st, USER2_ID), -ENOENT);
    cr_assert_eq(st->ops->user_locked_until(st, USER2_ID, &until), -ENOENT);
    cr_assert_eq(st->ops->user_login_failed(st, USER_ID, 1, -1, 500, &until), -EINVAL);
}

/* ---- members and roles ---- */

Test(store, members_add_list_set_role_remove)
{
    struct store_member *list = NULL, m = {0};
    size_t n = 0;

    setup_project();
    add_user(USER2_ID, INVITE_ID, "Zed@example.com", 0x31);
    add_user(USER3_ID, "13131313-1313-4313-8313-131313131313", "bob@example.com", 0x32);
    cr_assert_eq(create_identity(IDENT_ID, CLIENT_ID, "deploy-bot", NULL), 0);
    cr_assert_eq(create_identity(IDENT2_ID, CLIENT2_ID, "ci", NULL), 0);

    cr_assert_eq(add_member("user", USER2_ID, "viewer"), 0);
    cr_assert_eq(add_member("", USER3_ID, "member"), 0, "\"\" means user");
    cr_assert_eq(add_member("identity", IDENT_ID, "member"), 0);
    cr_assert_eq(add_member("identity", IDENT2_ID, "viewer"), 0);
    cr_assert_eq(add_member("user", USER2_ID, "admin"), -EEXIST);
    cr_assert_eq(add_member("identity", USER2_ID, "admin"), -ENOENT, "not an identity");
    cr_assert_eq(add_member("user", IDENT_ID, "admin"), -ENOENT, "not a user");
    cr_assert_eq(add_member("identity", "00000000-0000-4000-8000-000000000000", "admin"), -ENOENT);
    cr_assert_eq(add_member("robot", IDENT_ID, "admin"), -EINVAL);
    cr_assert_eq(add_member("user", USER2_ID, ""), -EINVAL);

    cr_assert_eq(st->ops->member_list(st, PROJ_ID, &list, &n), 0);
    cr_assert_eq(n, 5);
    /* identities first, then users, each by name */
    const char *names[] = {"ci", "deploy-bot", "ada@example.com", "bob@example.com",
                           "Zed@example.com"};
    const char *types[] = {"identity", "identity", "user", "user", "user"};
    const char *roles[] = {"viewer", "member", "admin", "member", "viewer"};
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(list[i].principal_name, names[i], "member %zu", i);
        cr_assert_str_eq(list[i].principal_type, types[i]);
        cr_assert_str_eq(list[i].role, roles[i]);
        cr_assert_str_eq(list[i].project_id, PROJ_ID);
        cr_assert_eq(list[i].wrapped_key.len, sizeof(wrapped));
    }
    cr_assert_str_eq(list[0].principal_id, IDENT2_ID);
    cr_assert_eq(list[4].created_at, 9);
    store_members_free(list, n);
    store_members_free(NULL, 0);

    cr_assert_eq(st->ops->member_get(st, PROJ_ID, IDENT_ID, &m), 0);
    cr_assert_str_eq(m.principal_type, "identity");
    cr_assert_str_eq(m.principal_name, "deploy-bot");
    store_member_release(&m);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER_ID, &m), 0);
    cr_assert_str_eq(m.principal_type, "user", "the creator");
    cr_assert_str_eq(m.principal_name, "ada@example.com");
    store_member_release(&m);

    cr_assert_eq(st->ops->member_set_role(st, PROJ_ID, USER2_ID, "member"), 0);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER2_ID, &m), 0);
    cr_assert_str_eq(m.role, "member");
    store_member_release(&m);
    cr_assert_eq(
        st->ops->member_set_role(st, PROJ_ID, "00000000-0000-4000-8000-000000000000", "member"),
        -ENOENT);
    cr_assert_eq(st->ops->member_set_role(st, PROJ_ID, USER2_ID, ""), -EINVAL);

    cr_assert_eq(st->ops->member_remove(st, PROJ_ID, USER2_ID), 0);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER2_ID, &m), -ENOENT);
    cr_assert_eq(st->ops->member_remove(st, PROJ_ID, USER2_ID), -ENOENT);
    cr_assert_eq(st->ops->member_list(st, PROJ_ID, &list, &n), 0);
    cr_assert_eq(n, 4);
    store_members_free(list, n);

    list = NULL;
    cr_assert_eq(st->ops->member_list(st, PROJ2_ID, &list, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_null(list);
}

struct demote_worker {
    pthread_t thread;
    const char *who;
    bool remove;
    int ret;
};

static void *demote_main(void *arg)
{
    struct demote_worker *w = arg;

    w->ret = w->remove ? st->ops->member_remove(st, PROJ_ID, w->who)
                       : st->ops->member_set_role(st, PROJ_ID, w->who, "member");
    return NULL;
}

/* The last admin stays, also when two admins demote (or remove) each other at
 * once: exactly one of them succeeds. */
Test(store, last_admin_stays, .timeout = 60)
{
    setup_project(); /* USER_ID is its admin */
    add_user(USER2_ID, INVITE_ID, "Zed@example.com", 0x31);
    cr_assert_eq(st->ops->member_set_role(st, PROJ_ID, USER_ID, "viewer"), -EBUSY);
    cr_assert_eq(st->ops->member_remove(st, PROJ_ID, USER_ID), -EBUSY);
    cr_assert_eq(st->ops->member_set_role(st, PROJ_ID, USER_ID, "admin"), 0, "stays admin");
    cr_assert_eq(add_member("user", USER2_ID, "admin"), 0);

    for (int round = 0; round < 20; round++) {
        struct demote_worker w[2] = {{.who = USER_ID, .remove = round % 2},
                                     {.who = USER2_ID, .remove = round % 3 == 0}};
        struct store_member *list = NULL;
        size_t n = 0, admins = 0;

        for (int i = 0; i < 2; i++)
            cr_assert_eq(pthread_create(&w[i].thread, NULL, demote_main, &w[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(w[i].thread, NULL);
        cr_assert((w[0].ret == 0 && w[1].ret == -EBUSY) || (w[0].ret == -EBUSY && w[1].ret == 0),
                  "round %d: %d %d", round, w[0].ret, w[1].ret);
        cr_assert_eq(st->ops->member_list(st, PROJ_ID, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
            admins += strcmp(list[i].role, "admin") == 0;
        store_members_free(list, n);
        cr_assert_eq(admins, 1, "round %d", round);
        /* back to two admins */
        for (int i = 0; i < 2; i++)
            if (w[i].ret == 0 && w[i].remove)
                cr_assert_eq(add_member("user", w[i].who, "admin"), 0);
            else if (w[i].ret == 0)
                cr_assert_eq(st->ops->member_set_role(st, PROJ_ID, w[i].who, "admin"), 0);
    }
}

/* Deleting an identity that is a project's only admin would leave it without one. */
Test(store, identity_delete_keeps_the_last_admin)
{
    struct store_member m = {0};

    setup_project(); /* USER_ID is its admin */
    cr_assert_eq(create_identity(IDENT_ID, CLIENT_ID, "admin-bot", NULL), 0);
    cr_assert_eq(add_member("identity", IDENT_ID, "admin"), 0);
    cr_assert_eq(st->ops->member_set_role(st, PROJ_ID, USER_ID, "member"), 0);
    cr_assert_eq(st->ops->identity_delete(st, IDENT_ID), -EBUSY);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, IDENT_ID, &m), 0, "nothing deleted");
    store_member_release(&m);
    cr_assert_eq(st->ops->member_set_role(st, PROJ_ID, USER_ID, "admin"), 0);
    cr_assert_eq(st->ops->identity_delete(st, IDENT_ID), 0);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, IDENT_ID, &m), -ENOENT);
}

static int create_role(const char *id, const char *slug, const char *name)
{
    struct store_role r = {.slug = (char *)slug,
                           .name = (char *)name,
                           .rules = "[{\"subject\":\"secrets\",\"actions\":[\"read\"]}]",
                           .created_at = 11};
    strcpy(r.id, id);
    strcpy(r.project_id, PROJ_ID);
    return st->ops->role_create(st, &r);
}

Test(store, roles_create_get_list_delete)
{
    struct store_role r = {0}, *list = NULL;
    size_t n = 0;

    setup_project();
    cr_assert_eq(create_role(ROLE_ID, "reader", "Reader"), 0);
    cr_assert_eq(create_role("dfdfdfdf-dfdf-4fdf-8fdf-dfdfdfdfdfdf", "auditor", "Auditor"), 0);
    cr_assert_eq(create_role("d0d0d0d0-d0d0-4d0d-8d0d-d0d0d0d0d0d0", "reader", "Again"), -EEXIST);
    cr_assert_eq(create_role("d1d1d1d1-d1d1-4d1d-8d1d-d1d1d1d1d1d1", "", "Empty"), -EINVAL);

    cr_assert_eq(st->ops->role_get(st, PROJ_ID, "reader", &r), 0);
    cr_assert_str_eq(r.id, ROLE_ID);
    cr_assert_str_eq(r.project_id, PROJ_ID);
    cr_assert_str_eq(r.name, "Reader");
    cr_assert_str_eq(r.rules, "[{\"subject\":\"secrets\",\"actions\":[\"read\"]}]");
    cr_assert_eq(r.created_at, 11);
    store_role_release(&r);
    store_role_release(&r);
    cr_assert_eq(st->ops->role_get(st, PROJ_ID, "writer", &r), -ENOENT);
    cr_assert_eq(st->ops->role_get(st, PROJ2_ID, "reader", &r), -ENOENT);

    cr_assert_eq(st->ops->role_list(st, PROJ_ID, &list, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(list[0].slug, "auditor");
    cr_assert_str_eq(list[1].slug, "reader");
    store_roles_free(list, n);

    /* in use by a member: refused until nobody has it */
    add_user(USER2_ID, INVITE_ID, "bob@example.com", 0x41);
    cr_assert_eq(add_member("user", USER2_ID, "reader"), 0);
    cr_assert_eq(st->ops->role_delete(st, PROJ_ID, "reader"), -EBUSY);
    cr_assert_eq(st->ops->role_get(st, PROJ_ID, "reader", &r), 0);
    store_role_release(&r);
    cr_assert_eq(st->ops->member_set_role(st, PROJ_ID, USER2_ID, "viewer"), 0);
    cr_assert_eq(st->ops->role_delete(st, PROJ_ID, "reader"), 0);
    cr_assert_eq(st->ops->role_get(st, PROJ_ID, "reader", &r), -ENOENT);
    cr_assert_eq(st->ops->role_delete(st, PROJ_ID, "reader"), -ENOENT);
    cr_assert_eq(st->ops->role_delete(st, PROJ_ID, "admin"), -ENOENT, "built-ins are not stored");
}

Test(store, role_update_only_from_the_rules_checked)
{
    static const char *const old = "[{\"subject\":\"secrets\",\"actions\":[\"read\"]}]";
    static const char *const neu = "[{\"subject\":\"secrets\",\"actions\":[\"edit\"]}]";
    struct store_role r = {0};

    setup_project();
    cr_assert_eq(create_role(ROLE_ID, "reader", "Reader"), 0);
    cr_assert_eq(st->ops->role_update(st, PROJ_ID, "reader", NULL, neu, neu), -ESTALE,
                 "the rules changed since they were checked");
    cr_assert_eq(st->ops->role_update(st, PROJ_ID, "reader", NULL, neu, old), 0);
    cr_assert_eq(st->ops->role_get(st, PROJ_ID, "reader", &r), 0);
    cr_assert_str_eq(r.rules, neu);
    cr_assert_str_eq(r.name, "Reader", "a NULL name is kept");
    store_role_release(&r);
    cr_assert_eq(st->ops->role_update(st, PROJ_ID, "reader", "Editor", NULL, neu), 0);
    cr_assert_eq(st->ops->role_get(st, PROJ_ID, "reader", &r), 0);
    cr_assert_str_eq(r.rules, neu, "NULL rules are kept");
    cr_assert_str_eq(r.name, "Editor");
    store_role_release(&r);
    cr_assert_eq(st->ops->role_update(st, PROJ_ID, "writer", "W", NULL, neu), -ENOENT);
    cr_assert_eq(st->ops->role_update(st, PROJ2_ID, "reader", "W", NULL, neu), -ENOENT);
    cr_assert_eq(st->ops->role_update(st, PROJ_ID, "reader", NULL, NULL, neu), -EINVAL);
}

/* ---- machine identities ---- */

Test(store, identities_create_get_list)
{
    struct store_client_secret cs = make_client_secret(CS_ID, "", 0, 0), *sl = NULL;
    struct store_identity x = {0}, *list = NULL;
    size_t n = 0;

    bootstrap();
    cr_assert_eq(create_identity(IDENT_ID, CLIENT_ID, "deploy-bot", &cs), 0);
    cr_assert_eq(create_identity(IDENT2_ID, CLIENT2_ID, "deploy-bot", NULL), -EEXIST,
                 "name taken in the org");
    cr_assert_eq(create_identity(IDENT2_ID, CLIENT_ID, "other", NULL), -EEXIST, "client id taken");
    cr_assert_eq(create_identity(IDENT2_ID, CLIENT2_ID, "ci", NULL), 0);

    cr_assert_eq(st->ops->identity_get(st, IDENT_ID, &x), 0);
    cr_assert_str_eq(x.id, IDENT_ID);
    cr_assert_str_eq(x.org_id, ORG_ID);
    cr_assert_str_eq(x.name, "deploy-bot");
    cr_assert_str_eq(x.client_id, CLIENT_ID);
    cr_assert_arr_eq(x.public_key.ptr, pubkey, sizeof(pubkey));
    cr_assert_eq(x.access_token_ttl, 3600);
    cr_assert_eq(x.access_token_max_ttl, 86400);
    cr_assert_str_eq(x.trusted_ips, "10.0.0.0/8");
    cr_assert_str_eq(x.created_by, USER_ID);
    cr_assert_eq(x.created_at, 7);
    store_identity_release(&x);
    store_identity_release(&x);

    cr_assert_eq(st->ops->identity_get_by_client_id(st, CLIENT2_ID, &x), 0);
    cr_assert_str_eq(x.id, IDENT2_ID);
    store_identity_release(&x);
    cr_assert_eq(st->ops->identity_get_by_client_id(st, IDENT_ID, &x), -ENOENT);
    cr_assert_eq(st->ops->identity_get(st, CLIENT_ID, &x), -ENOENT);

    cr_assert_eq(st->ops->identity_list(st, ORG_ID, &list, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(list[0].name, "ci");
    cr_assert_str_eq(list[1].name, "deploy-bot");
    store_identities_free(list, n);

    /* the first client secret belongs to the identity */
    cr_assert_eq(st->ops->client_secret_list(st, IDENT_ID, &sl, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(sl[0].id, CS_ID);
    cr_assert_str_eq(sl[0].identity_id, IDENT_ID);
    cr_assert_str_eq(sl[0].prefix, "abc1234");
    cr_assert_str_eq(sl[0].description, "ci");
    cr_assert_eq(sl[0].encrypted_private_key.len, sizeof(privkey));
    cr_assert_eq(sl[0].auth_hash[0], 0x5a);
    cr_assert_eq(sl[0].num_uses, 0);
    cr_assert_not(sl[0].revoked);
    store_client_secrets_free(sl, n);
    sl = NULL;
    cr_assert_eq(st->ops->client_secret_list(st, IDENT2_ID, &sl, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_null(sl);
}

static struct store_access_token make_token(uint8_t b, const char *identity, const char *cs,
                                            int64_t expires, int64_t max, int64_t limit)
{
    struct store_access_token t = {
        .created_at = 1, .expires_at = expires, .max_expires_at = max, .num_uses_limit = limit};
    memset(t.token_hash, b, sizeof(t.token_hash));
    strcpy(t.identity_id, identity);
    strcpy(t.client_secret_id, cs);
    return t;
}

Test(store, identity_delete_cascades)
{
    struct store_client_secret cs = make_client_secret(CS_ID, IDENT_ID, 0, 0), *sl = NULL;
    struct store_access_token t = make_token(0x77, IDENT_ID, CS_ID, 100, 200, 0), got;
    struct store_identity x = {0};
    struct store_member m = {0};
    size_t n = 0;

    setup_project();
    cr_assert_eq(create_identity(IDENT_ID, CLIENT_ID, "deploy-bot", &cs), 0);
    cr_assert_eq(create_identity(IDENT2_ID, CLIENT2_ID, "ci", NULL), 0);
    cr_assert_eq(st->ops->access_token_create(st, &t), 0);
    cr_assert_eq(add_member("identity", IDENT_ID, "member"), 0);
    cr_assert_eq(add_member("identity", IDENT2_ID, "member"), 0);

    cr_assert_eq(st->ops->identity_delete(st, IDENT_ID), 0);
    cr_assert_eq(st->ops->identity_get(st, IDENT_ID, &x), -ENOENT);
    cr_assert_eq(st->ops->client_secret_list(st, IDENT_ID, &sl, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(st->ops->access_token_get(st, t.token_hash, &got), -ENOENT);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, IDENT_ID, &m), -ENOENT);
    cr_assert_eq(sql_int("SELECT count(*) FROM identity_client_secrets"), 0);
    cr_assert_eq(st->ops->identity_delete(st, IDENT_ID), -ENOENT);

    /* the other identity is untouched */
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, IDENT2_ID, &m), 0);
    store_member_release(&m);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER_ID, &m), 0);
    store_member_release(&m);
}

Test(store, client_secret_use_limits)
{
    struct store_client_secret first = make_client_secret(CS_ID, IDENT_ID, 0, 2), *sl = NULL;
    size_t n = 0;

    bootstrap();
    cr_assert_eq(create_identity(IDENT_ID, CLIENT_ID, "deploy-bot", &first), 0);
    /* a limit of 2 allows exactly 2 */
    cr_assert_eq(st->ops->client_secret_use(st, CS_ID, 100), 0);
    cr_assert_eq(st->ops->client_secret_use(st, CS_ID, 101), 0);
    cr_assert_eq(st->ops->client_secret_use(st, CS_ID, 102), -EACCES);
    cr_assert_eq(st->ops->client_secret_list(st, IDENT_ID, &sl, &n), 0);
    cr_assert_eq(sl[0].num_uses, 2, "a refused use is not counted");
    cr_assert_eq(sl[0].num_uses_limit, 2);
    store_client_secrets_free(sl, n);

    /* expiring at 500: usable before, refused at and after */
    struct store_client_secret exp = make_client_secret(CS2_ID, IDENT_ID, 500, 0);
    exp.created_at = 6;
    cr_assert_eq(st->ops->client_secret_create(st, &exp), 0);
    cr_assert_eq(st->ops->client_secret_create(st, &exp), -EEXIST);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(st->ops->client_secret_use(st, CS2_ID, 499), 0, "unlimited uses");
    cr_assert_eq(st->ops->client_secret_use(st, CS2_ID, 500), -EACCES);
    cr_assert_eq(st->ops->client_secret_use(st, CS2_ID, 10000), -EACCES);

    /* revoked */
    struct store_client_secret third =
        make_client_secret("e0e0e0e0-e0e0-4e0e-8e0e-e0e0e0e0e0e0", IDENT_ID, 0, 0);
    third.created_at = 8;
    cr_assert_eq(st->ops->client_secret_create(st, &third), 0);
    cr_assert_eq(st->ops->client_secret_use(st, third.id, 1), 0);
    cr_assert_eq(st->ops->client_secret_revoke(st, IDENT_ID, third.id), 0);
    cr_assert_eq(st->ops->client_secret_use(st, third.id, 1), -EACCES);
    cr_assert_eq(st->ops->client_secret_revoke(st, IDENT2_ID, third.id), -ENOENT,
                 "another identity's secret");
    cr_assert_eq(st->ops->client_secret_revoke(st, IDENT_ID, USER2_ID), -ENOENT);

    cr_assert_eq(st->ops->client_secret_use(st, USER2_ID, 1), -ENOENT, "unknown");
    struct store_client_secret orphan = make_client_secret(USER3_ID, IDENT2_ID, 0, 0);
    cr_assert_eq(st->ops->client_secret_create(st, &orphan), -ENOENT, "unknown identity");

    cr_assert_eq(st->ops->client_secret_list(st, IDENT_ID, &sl, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(sl[0].id, CS_ID, "ordered by creation");
    cr_assert_str_eq(sl[1].id, CS2_ID);
    cr_assert_eq(sl[1].num_uses, 5);
    cr_assert_eq(sl[1].expires_at, 500);
    cr_assert(sl[2].revoked);
    store_client_secrets_free(sl, n);
}

/* A new key pair for an identity: its key, its memberships' wrapped keys and
 * its client secrets change together, or nothing does. */
Test(store, identity_rekey_all_or_nothing)
{
    static uint8_t pk2[32] = "another-public-key-another-pub!";
    static uint8_t wrapped2[40] = "rewrapped-project-key-rewrapped-project";
    struct store_client_secret first = make_client_secret(CS_ID, IDENT_ID, 0, 0), *sl = NULL;
    struct store_client_secret next = make_client_secret(CS2_ID, IDENT_ID, 0, 0);
    struct store_access_token t = make_token(0x73, IDENT_ID, CS_ID, 1000, 5000, 0), got = {0};
    struct store_rekey_membership ok = {PROJ_ID, wrapped2, sizeof(wrapped2)};
    struct store_rekey_membership twice[] = {ok, ok};
    struct store_rekey_membership elsewhere = {PROJ2_ID, wrapped2, sizeof(wrapped2)};
    struct store_identity x = {0};
    struct store_member m = {0};
    size_t n = 0;

    setup_project();
    cr_assert_eq(create_identity(IDENT_ID, CLIENT_ID, "deploy-bot", &first), 0);
    cr_assert_eq(st->ops->access_token_create(st, &t), 0);
    cr_assert_eq(add_member("identity", IDENT_ID, "member"), 0);
    next.created_at = 6;

    /* not exactly its memberships: refused, nothing written */
    cr_assert_eq(st->ops->identity_rekey(st, IDENT_ID, pk2, sizeof(pk2), NULL, 0, &next), -EINVAL);
    cr_assert_eq(st->ops->identity_rekey(st, IDENT_ID, pk2, sizeof(pk2), twice, 2, &next), -EINVAL);
    cr_assert_eq(st->ops->identity_rekey(st, IDENT_ID, pk2, sizeof(pk2), &elsewhere, 1, &next),
                 -EINVAL);
    cr_assert_eq(st->ops->identity_rekey(st, IDENT2_ID, pk2, sizeof(pk2), &ok, 1, &next), -EINVAL,
                 "a client secret of another identity");
    cr_assert_eq(st->ops->identity_get(st, IDENT_ID, &x), 0);
    cr_assert_arr_eq(x.public_key.ptr, pubkey, sizeof(pubkey));
    store_identity_release(&x);
    cr_assert_eq(st->ops->client_secret_list(st, IDENT_ID, &sl, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_not(sl[0].revoked);
    store_client_secrets_free(sl, n);

    cr_assert_eq(st->ops->identity_rekey(st, IDENT_ID, pk2, sizeof(pk2), &ok, 1, &next), 0);
    cr_assert_eq(st->ops->identity_get(st, IDENT_ID, &x), 0);
    cr_assert_arr_eq(x.public_key.ptr, pk2, sizeof(pk2));
    store_identity_release(&x);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, IDENT_ID, &m), 0);
    cr_assert_eq(m.wrapped_key.len, sizeof(wrapped2));
    cr_assert_arr_eq(m.wrapped_key.ptr, wrapped2, sizeof(wrapped2));
    store_member_release(&m);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER_ID, &m), 0);
    cr_assert_arr_eq(m.wrapped_key.ptr, wrapped, sizeof(wrapped), "other members untouched");
    store_member_release(&m);
    cr_assert_eq(st->ops->client_secret_list(st, IDENT_ID, &sl, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert(sl[0].revoked, "the old secret seals the old private key");
    cr_assert_not(sl[1].revoked);
    cr_assert_str_eq(sl[1].id, CS2_ID);
    store_client_secrets_free(sl, n);
    cr_assert_eq(st->ops->access_token_get(st, t.token_hash, &got), 0);
    cr_assert(got.revoked, "its tokens go with it");

    struct store_client_secret lost =
        make_client_secret(USER3_ID, "00000000-0000-4000-8000-000000000000", 0, 0);
    cr_assert_eq(st->ops->identity_rekey(st, lost.identity_id, pk2, sizeof(pk2), NULL, 0, &lost),
                 -ENOENT, "unknown identity");
}

struct use_worker {
    pthread_t thread;
    int ok, refused, other;
};

static void *use_main(void *arg)
{
    struct use_worker *w = arg;
    for (int i = 0; i < 20; i++) {
        int r = st->ops->client_secret_use(st, CS_ID, 100);
        if (r == 0)
            w->ok++;
        else if (r == -EACCES)
            w->refused++;
        else
            w->other++;
    }
    return NULL;
}

Test(store, client_secret_limit_holds_under_concurrency, .timeout = 60)
{
    struct store_client_secret first = make_client_secret(CS_ID, IDENT_ID, 0, 25);
    struct use_worker w[6] = {0};
    int ok = 0, refused = 0;

    bootstrap();
    cr_assert_eq(create_identity(IDENT_ID, CLIENT_ID, "deploy-bot", &first), 0);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(pthread_create(&w[i].thread, NULL, use_main, &w[i]), 0);
    for (int i = 0; i < 6; i++) {
        pthread_join(w[i].thread, NULL);
        cr_assert_eq(w[i].other, 0);
        ok += w[i].ok;
        refused += w[i].refused;
    }
    cr_assert_eq(ok, 25);
    cr_assert_eq(refused, 6 * 20 - 25);
}

Test(store, access_tokens_use_renew_revoke_expiry)
{
    struct store_client_secret first = make_client_secret(CS_ID, IDENT_ID, 0, 0);
    struct store_access_token t = make_token(0x71, IDENT_ID, CS_ID, 1000, 5000, 2), got = {0};
    uint8_t unknown[STORE_HASH_BYTES];

    memset(unknown, 0x70, sizeof(unknown));
    bootstrap();
    cr_assert_eq(create_identity(IDENT_ID, CLIENT_ID, "deploy-bot", &first), 0);
    cr_assert_eq(st->ops->access_token_create(st, &t), 0);
    cr_assert_eq(st->ops->access_token_create(st, &t), -EEXIST);
    struct store_access_token orphan = make_token(0x72, IDENT_ID, CS2_ID, 1, 1, 0);
    cr_assert_eq(st->ops->access_token_create(st, &orphan), -ENOENT, "unknown client secret");

    cr_assert_eq(st->ops->access_token_get(st, t.token_hash, &got), 0);
    cr_assert_arr_eq(got.token_hash, t.token_hash, STORE_HASH_BYTES);
    cr_assert_str_eq(got.identity_id, IDENT_ID);
    cr_assert_str_eq(got.client_secret_id, CS_ID);
    cr_assert_eq(got.created_at, 1);
    cr_assert_eq(got.expires_at, 1000);
    cr_assert_eq(got.max_expires_at, 5000);
    cr_assert_eq(got.num_uses_limit, 2);
    cr_assert_not(got.revoked);
    cr_assert_eq(st->ops->access_token_get(st, unknown, &got), -ENOENT);

    /* expiry: expires_at <= now is expired */
    cr_assert_eq(st->ops->access_token_use(st, t.token_hash, 999), 0);
    cr_assert_eq(st->ops->access_token_use(st, t.token_hash, 1000), -EACCES);
    /* renewing moves expiry, capped at max_expires_at */
    cr_assert_eq(st->ops->access_token_renew(st, t.token_hash, 3000), 0);
    cr_assert_eq(st->ops->access_token_use(st, t.token_hash, 1000), 0);
    /* use limit 2 reached */
    cr_assert_eq(st->ops->access_token_use(st, t.token_hash, 1001), -EACCES);
    cr_assert_eq(st->ops->access_token_renew(st, t.token_hash, 9999), 0);
    cr_assert_eq(st->ops->access_token_get(st, t.token_hash, &got), 0);
    cr_assert_eq(got.expires_at, 5000, "never past max_expires_at");
    cr_assert_eq(got.num_uses, 2);

    /* unlimited token, then revoked */
    struct store_access_token u = make_token(0x73, IDENT_ID, CS_ID, 1000, 1000, 0);
    cr_assert_eq(st->ops->access_token_create(st, &u), 0);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(st->ops->access_token_use(st, u.token_hash, 10), 0);
    cr_assert_eq(st->ops->access_token_revoke(st, u.token_hash), 0);
    cr_assert_eq(st->ops->access_token_use(st, u.token_hash, 10), -EACCES);
    cr_assert_eq(st->ops->access_token_renew(st, u.token_hash, 900), -EACCES);
    cr_assert_eq(st->ops->access_token_get(st, u.token_hash, &got), 0);
    cr_assert(got.revoked);
    cr_assert_eq(got.num_uses, 10);

    cr_assert_eq(st->ops->access_token_use(st, unknown, 1), -ENOENT);
    cr_assert_eq(st->ops->access_token_renew(st, unknown, 1), -ENOENT);
    cr_assert_eq(st->ops->access_token_revoke(st, unknown), -ENOENT);
}

/* ---- service tokens ---- */

static struct store_service_token make_service_token(const char *id, const char *name,
                                                     int64_t created_at)
{
    struct store_service_token t = {
        .name = (char *)name,
        .scopes = "[{\"environment\":\"dev\",\"secretPath\":\"/**\"}]",
        .write = true,
        .wrapped_key = {wrapped, sizeof(wrapped)},
        .created_at = created_at,
        .expires_at = 99999,
    };
    strcpy(t.id, id);
    strcpy(t.project_id, PROJ_ID);
    strcpy(t.created_by, USER_ID);
    memset(t.secret_hash, 0x3c, sizeof(t.secret_hash));
    return t;
}

Test(store, service_tokens_create_get_list_revoke)
{
    struct store_service_token t = make_service_token(STOKEN_ID, "ci", 20), got = {0}, *list = NULL;
    struct store_service_token t2 = make_service_token(USER3_ID, "deploy", 10);
    size_t n = 0;

    setup_project();
    cr_assert_eq(st->ops->service_token_create(st, &t), 0);
    cr_assert_eq(st->ops->service_token_create(st, &t), -EEXIST);
    t2.write = false;
    cr_assert_eq(st->ops->service_token_create(st, &t2), 0);
    struct store_service_token bad = make_service_token(USER2_ID, "x", 1);
    strcpy(bad.project_id, PROJ2_ID);
    cr_assert_eq(st->ops->service_token_create(st, &bad), -ENOENT, "unknown project");

    cr_assert_eq(st->ops->service_token_get(st, STOKEN_ID, &got), 0);
    cr_assert_str_eq(got.id, STOKEN_ID);
    cr_assert_str_eq(got.project_id, PROJ_ID);
    cr_assert_str_eq(got.name, "ci");
    cr_assert_str_eq(got.scopes, "[{\"environment\":\"dev\",\"secretPath\":\"/**\"}]");
    cr_assert(got.write);
    cr_assert_eq(got.secret_hash[31], 0x3c);
    cr_assert_arr_eq(got.wrapped_key.ptr, wrapped, sizeof(wrapped));
    cr_assert_str_eq(got.created_by, USER_ID);
    cr_assert_eq(got.expires_at, 99999);
    cr_assert_not(got.revoked);
    store_service_token_release(&got);
    store_service_token_release(&got);
    cr_assert_eq(st->ops->service_token_get(st, USER2_ID, &got), -ENOENT);

    cr_assert_eq(st->ops->service_token_list(st, PROJ_ID, &list, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(list[0].name, "deploy", "ordered by creation");
    cr_assert_not(list[0].write);
    cr_assert_str_eq(list[1].name, "ci");
    store_service_tokens_free(list, n);

    cr_assert_eq(st->ops->service_token_revoke(st, PROJ2_ID, STOKEN_ID), -ENOENT,
                 "another project's token");
    cr_assert_eq(st->ops->service_token_revoke(st, PROJ_ID, STOKEN_ID), 0);
    cr_assert_eq(st->ops->service_token_get(st, STOKEN_ID, &got), 0);
    cr_assert(got.revoked);
    store_service_token_release(&got);
    cr_assert_eq(st->ops->service_token_revoke(st, PROJ_ID, USER2_ID), -ENOENT);
}

/* ---- secrets_at ---- */

static void write_at(const char *key, enum store_write_op op, const char *value, int64_t t)
{
    struct store_write w = {.op = op,
                            .key = key,
                            .value = (const uint8_t *)value,
                            .value_len = value ? strlen(value) : 0};
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", &w, 1, USER_ID, t), 0,
                 "%s at %lld", key, (long long)t);
}

/* The state of key at a time: NULL if it did not exist, "" if deleted. */
static const char *state_of(const struct store_secret_at *v, size_t n, const char *key,
                            int64_t *ret_version)
{
    static char buf[64];
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].current.key, key) != 0)
            continue;
        if (!v[i].existed)
            return NULL;
        cr_assert_str_eq(v[i].then.id, v[i].current.id);
        cr_assert_str_eq(v[i].then.key, key);
        *ret_version = v[i].then.version;
        snprintf(buf, sizeof(buf), "%.*s", (int)v[i].then.value.len,
                 (const char *)v[i].then.value.ptr);
        return buf;
    }
    cr_assert_fail("no row for %s", key);
    return NULL;
}

Test(store, secrets_at_with_deletions_and_recreations)
{
    struct store_secret_at *v = NULL;
    size_t n = 0;
    int64_t ver = 0;

    setup_project();
    write_at("A", STORE_PUT, "a1", 100);
    write_at("A", STORE_PUT, "a2", 200);
    write_at("B", STORE_CREATE, "b1", 250);
    write_at("A", STORE_DELETE, NULL, 300);
    write_at("B", STORE_DELETE, NULL, 350);
    write_at("A", STORE_CREATE, "a4", 400);
    write_at("C", STORE_PUT, "c1", 500);
    cr_assert_eq(write1(ENV_DEV, "/other", STORE_PUT, "A", "x", NULL), 0);
    cr_assert_eq(write1(ENV_PROD, "/", STORE_PUT, "A", "x", NULL), 0);

    static const struct {
        int64_t t;
        const char *a, *b, *c; /* NULL: not yet; "": deleted */
        int64_t va, vb;
    } want[] = {
        {50, NULL, NULL, NULL, 0, 0},  {100, "a1", NULL, NULL, 1, 0}, {199, "a1", NULL, NULL, 1, 0},
        {250, "a2", "b1", NULL, 2, 1}, {300, "", "b1", NULL, 3, 1},   {360, "", "", NULL, 3, 2},
        {450, "a4", "", NULL, 4, 2},   {600, "a4", "", "c1", 4, 2},
    };
    for (size_t i = 0; i < ELEMENTSOF(want); i++) {
        const char *got;
        cr_assert_eq(st->ops->secrets_at(st, ENV_DEV, "/", want[i].t, &v, &n), 0);
        cr_assert_eq(n, 3, "every secret of the folder, deleted or not yet born");
        cr_assert_str_eq(v[0].current.key, "A");
        cr_assert_str_eq(v[1].current.key, "B");
        cr_assert_str_eq(v[2].current.key, "C");
        /* the current rows whatever the time */
        cr_assert_eq(v[0].current.version, 4);
        cr_assert(blob_is(&v[0].current.value, "a4"));
        cr_assert_eq(v[1].current.version, 2);
        cr_assert_eq(v[1].current.value.len, 0, "B is deleted now");

        got = state_of(v, n, "A", &ver);
        if (!want[i].a) {
            cr_assert_null(got, "A at %lld", (long long)want[i].t);
        } else {
            cr_assert_str_eq(got, want[i].a, "A at %lld", (long long)want[i].t);
            cr_assert_eq(ver, want[i].va);
        }
        got = state_of(v, n, "B", &ver);
        if (!want[i].b) {
            cr_assert_null(got, "B at %lld", (long long)want[i].t);
        } else {
            cr_assert_str_eq(got, want[i].b, "B at %lld", (long long)want[i].t);
            cr_assert_eq(ver, want[i].vb);
        }
        got = state_of(v, n, "C", &ver);
        if (!want[i].c)
            cr_assert_null(got);
        else
            cr_assert_str_eq(got, want[i].c);
        store_secrets_at_free(v, n);
    }
    cr_assert_eq(st->ops->secrets_at(st, ENV_DEV, "/", 300, &v, &n), 0);
    cr_assert_eq(v[0].then.updated_at, 300);
    cr_assert_str_eq(v[0].then.actor_id, USER_ID);
    store_secrets_at_free(v, n);
    store_secrets_at_free(NULL, 0);

    v = NULL;
    cr_assert_eq(st->ops->secrets_at(st, ENV_STG, "/", 600, &v, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_null(v);
}

/* ---- project key rotation ---- */

struct rekey_fixture {
    struct store_version_ref *refs;
    size_t n_refs;
    struct store_rekey_version *v;
    char (*values)[64];
    char (*comments)[64];
    struct store_rekey_member m[2];
};

/* The versions of the project re-"encrypted" as "new:" + old value. */
static void rekey_prepare(struct rekey_fixture *f)
{
    cr_assert_eq(st->ops->project_versions(st, PROJ_ID, &f->refs, &f->n_refs), 0);
    f->v = calloc(f->n_refs, sizeof(*f->v));
    f->values = calloc(f->n_refs, sizeof(*f->values));
    f->comments = calloc(f->n_refs, sizeof(*f->comments));
    for (size_t i = 0; i < f->n_refs; i++) {
        const struct store_version_ref *r = &f->refs[i];
        f->v[i].secret_id = r->secret_id;
        f->v[i].version = r->version;
        if (r->value.len) {
            snprintf(f->values[i], 64, "new:%.*s", (int)r->value.len, (const char *)r->value.ptr);
            f->v[i].value = (const uint8_t *)f->values[i];
            f->v[i].value_len = strlen(f->values[i]);
        }
        if (r->comment.len) {
            snprintf(f->comments[i], 64, "new:%.*s", (int)r->comment.len,
                     (const char *)r->comment.ptr);
            f->v[i].comment = (const uint8_t *)f->comments[i];
            f->v[i].comment_len = strlen(f->comments[i]);
        }
    }
    f->m[0] = (struct store_rekey_member){USER_ID, (const uint8_t *)"new-key-ada", 11};
    f->m[1] = (struct store_rekey_member){USER2_ID, (const uint8_t *)"new-key-bob", 11};
}

static void rekey_release(struct rekey_fixture *f)
{
    store_version_refs_free(f->refs, f->n_refs);
    free(f->v);
    free(f->values);
    free(f->comments);
}

/* Nothing of the rotation was written. */
static void assert_not_rekeyed(void)
{
    struct store_secret s = {0};
    struct store_member m = {0};
    struct store_service_token t = {0};

    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "A", &s), 0);
    cr_assert(blob_is(&s.value, "a2"));
    store_secret_release(&s);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER_ID, &m), 0);
    cr_assert_arr_eq(m.wrapped_key.ptr, wrapped, sizeof(wrapped));
    store_member_release(&m);
    cr_assert_eq(st->ops->service_token_get(st, STOKEN_ID, &t), 0);
    cr_assert_not(t.revoked);
    store_service_token_release(&t);
    cr_assert_eq(sql_int("SELECT count(*) FROM secret_versions WHERE value LIKE 'new:%'"), 0);
}

Test(store, project_versions_and_rekey)
{
    struct rekey_fixture f = {0};
    struct store_service_token tok = make_service_token(STOKEN_ID, "ci", 1);
    struct store_write wc = {.op = STORE_PUT,
                             .key = "C",
                             .value = (const uint8_t *)"c1",
                             .value_len = 2,
                             .comment = (const uint8_t *)"note",
                             .comment_len = 4};
    struct store_version_ref *refs = NULL;
    size_t n = 0;

    setup_project();
    add_user(USER2_ID, INVITE_ID, "bob@example.com", 0x51);
    cr_assert_eq(add_member("user", USER2_ID, "member"), 0);
    cr_assert_eq(st->ops->service_token_create(st, &tok), 0);
    cr_assert_eq(put("A", "a1"), 0);
    cr_assert_eq(put("A", "a2"), 0);
    cr_assert_eq(put("B", "b1"), 0);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_DELETE, "B", NULL, NULL), 0);
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_PROD, "/app", &wc, 1, USER_ID, 5), 0);
    /* another project's secret is not part of it */
    static const char *const env2[3] = {ENV2_DEV, "77777777-7777-4777-8777-777777777702",
                                        "77777777-7777-4777-8777-777777777703"};
    cr_assert_eq(create_project(PROJ2_ID, "api", env2, USER_ID), 0);
    struct store_write wo = {
        .op = STORE_PUT, .key = "O", .value = (const uint8_t *)"o1", .value_len = 2};
    cr_assert_eq(st->ops->secrets_write(st, PROJ2_ID, ENV2_DEV, "/", &wo, 1, USER_ID, 5), 0);

    cr_assert_eq(st->ops->project_versions(st, PROJ_ID, &refs, &n), 0);
    cr_assert_eq(n, 5);
    /* dev before prod (position), then path, key, version */
    const char *want[][4] = {{"dev", "/", "A", "a1"},
                             {"dev", "/", "A", "a2"},
                             {"dev", "/", "B", "b1"},
                             {"dev", "/", "B", ""},
                             {"prod", "/app", "C", "c1"}};
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(refs[i].environment, want[i][0]);
        cr_assert_str_eq(refs[i].path, want[i][1]);
        cr_assert_str_eq(refs[i].key, want[i][2]);
        cr_assert(blob_is(&refs[i].value, want[i][3]), "version %zu", i);
    }
    cr_assert_eq(refs[1].version, 2);
    cr_assert_str_eq(refs[0].secret_id, refs[1].secret_id);
    cr_assert(blob_is(&refs[4].comment, "note"));
    store_version_refs_free(refs, n);
    store_version_refs_free(NULL, 0);
    cr_assert_eq(st->ops->project_versions(st, "00000000-0000-4000-8000-000000000000", &refs, &n),
                 -ENOENT);

    rekey_prepare(&f);
    cr_assert_eq(f.n_refs, 5);

    /* mismatches: refused, nothing written */
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 1, f.v, 5), -EINVAL, "member missing");
    struct store_rekey_member extra[3] = {f.m[0], f.m[1], {USER3_ID, (const uint8_t *)"k", 1}};
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, extra, 3, f.v, 5), -EINVAL, "extra member");
    struct store_rekey_member dupm[2] = {f.m[0], f.m[0]};
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, dupm, 2, f.v, 5), -EINVAL, "member twice");
    struct store_rekey_member wrongm[2] = {f.m[0], {USER3_ID, (const uint8_t *)"k", 1}};
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, wrongm, 2, f.v, 5), -EINVAL, "not a member");
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, f.v, 4), -EINVAL, "version missing");
    assert_not_rekeyed();

    struct store_rekey_version vv[6];
    memcpy(vv, f.v, 5 * sizeof(*vv));
    vv[5] = vv[0];
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, vv, 6), -EINVAL, "extra version");
    vv[4] = vv[0];
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, vv, 5), -EINVAL, "version twice");
    memcpy(vv, f.v, 5 * sizeof(*vv));
    vv[3].value = (const uint8_t *)"revived";
    vv[3].value_len = 7;
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, vv, 5), -EINVAL,
                 "a tombstone given a value");
    memcpy(vv, f.v, 5 * sizeof(*vv));
    vv[2].value = NULL;
    vv[2].value_len = 0;
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, vv, 5), -EINVAL,
                 "a value made a tombstone");
    memcpy(vv, f.v, 5 * sizeof(*vv));
    vv[4].comment = NULL;
    vv[4].comment_len = 0;
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, vv, 5), -EINVAL, "comment dropped");
    memcpy(vv, f.v, 5 * sizeof(*vv));
    vv[0].version = 9;
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, vv, 5), -EINVAL, "unknown version");
    memcpy(vv, f.v, 5 * sizeof(*vv));
    vv[0].secret_id = "00000000-0000-4000-8000-000000000000";
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, vv, 5), -EINVAL, "unknown secret");
    assert_not_rekeyed();
    cr_assert_eq(st->ops->project_rekey(st, PROJ2_ID, f.m, 2, f.v, 5), -EINVAL,
                 "another project's versions");
    cr_assert_eq(st->ops->project_rekey(st, "00000000-0000-4000-8000-000000000000", f.m, 2, f.v, 5),
                 -ENOENT);
    assert_not_rekeyed();

    /* the exact sets: everything rewritten in one go */
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, f.v, 5), 0);
    rekey_release(&f);

    struct store_secret s = {0};
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "A", &s), 0);
    cr_assert(blob_is(&s.value, "new:a2"), "the current row follows its version");
    cr_assert_eq(s.version, 2, "no new version");
    store_secret_release(&s);
    cr_assert_eq(st->ops->secret_get(st, ENV_PROD, "/app", "C", &s), 0);
    cr_assert(blob_is(&s.value, "new:c1"));
    cr_assert(blob_is(&s.comment, "new:note"));
    store_secret_release(&s);
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "B", &s), -ENOENT, "still deleted");

    cr_assert_eq(st->ops->project_versions(st, PROJ_ID, &refs, &n), 0);
    cr_assert_eq(n, 5);
    cr_assert(blob_is(&refs[0].value, "new:a1"));
    cr_assert(blob_is(&refs[2].value, "new:b1"));
    cr_assert_eq(refs[3].value.len, 0);
    store_version_refs_free(refs, n);

    struct store_member m = {0};
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER2_ID, &m), 0);
    cr_assert(blob_is(&m.wrapped_key, "new-key-bob"));
    store_member_release(&m);
    struct store_service_token t = {0};
    cr_assert_eq(st->ops->service_token_get(st, STOKEN_ID, &t), 0);
    cr_assert(t.revoked, "service tokens hold the old key");
    store_service_token_release(&t);

    /* the other project is untouched */
    struct store_secret o = {0};
    cr_assert_eq(st->ops->secret_get(st, ENV2_DEV, "/", "O", &o), 0);
    cr_assert(blob_is(&o.value, "o1"));
    store_secret_release(&o);
}

Test(store, secret_versions_stay_append_only)
{
    setup_project();
    cr_assert_eq(put("A", "a1"), 0);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_DELETE, "A", NULL, NULL), 0);
    cr_assert_neq(sql_exec("UPDATE secret_versions SET version = 7 WHERE version = 1"), SQLITE_OK);
    cr_assert_neq(sql_exec("UPDATE secret_versions SET created_at = 1"), SQLITE_OK);
    cr_assert_neq(sql_exec("UPDATE secret_versions SET actor_id = 'x'"), SQLITE_OK);
    cr_assert_neq(sql_exec("UPDATE secret_versions SET value = x'01' WHERE version = 2"), SQLITE_OK,
                  "a tombstone stays one");
    cr_assert_neq(sql_exec("UPDATE secret_versions SET value = NULL WHERE version = 1"), SQLITE_OK);
    cr_assert_eq(sql_exec("UPDATE secret_versions SET value = x'02' WHERE version = 1"), SQLITE_OK,
                 "re-encryption in place is allowed");
}

/* ---- audit log ---- */

/* A toy chain (the server's is a keyed hash): mixes prev, seq, time and event. */
struct chain_log {
    int calls;
    int64_t seqs[64];
    uint8_t prevs[64][STORE_HASH_BYTES];
    int prev_matches_rec; /* calls where rec->prev_hash == prev */
};

static void toy_hash(const uint8_t prev[STORE_HASH_BYTES], const struct store_audit *a,
                     uint8_t out[STORE_HASH_BYTES])
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < STORE_HASH_BYTES; i++)
        h = (h ^ prev[i]) * 1099511628211ull;
    h = (h ^ (uint64_t)a->time) * 1099511628211ull;
    for (const char *p = a->event; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (int i = 0; i < STORE_HASH_BYTES; i++) {
        h = (h ^ (uint64_t)i) * 1099511628211ull;
        out[i] = (uint8_t)(h >> 56);
    }
}

static void test_chain(void *ctx, const uint8_t prev[STORE_HASH_BYTES], struct store_audit *rec)
{
    struct chain_log *log = ctx;
    if (log && log->calls < 64) {
        log->seqs[log->calls] = rec->seq;
        memcpy(log->prevs[log->calls], prev, STORE_HASH_BYTES);
        if (memcmp(rec->prev_hash, prev, STORE_HASH_BYTES) == 0)
            log->prev_matches_rec++;
        log->calls++;
    }
    toy_hash(prev, rec, rec->hash);
}

static struct store_audit make_audit(int64_t time, const char *event, const char *actor_id,
                                     const char *actor_name, const char *project_id)
{
    struct store_audit a = {.time = time,
                            .actor_type = "user",
                            .actor_name = (char *)actor_name,
                            .event = (char *)event};
    if (actor_id)
        strcpy(a.actor_id, actor_id);
    strcpy(a.org_id, ORG_ID);
    if (project_id)
        strcpy(a.project_id, project_id);
    return a;
}

/* The whole log, checked link by link. */
static void assert_chain_intact(size_t want_n)
{
    struct store_audit_query q = {0};
    struct store_audit *v = NULL;
    size_t n = 0;
    uint8_t prev[STORE_HASH_BYTES] = {0}, h[STORE_HASH_BYTES];

    cr_assert_eq(st->ops->audit_query(st, &q, &v, &n), 0);
    cr_assert_eq(n, want_n);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            cr_assert_gt(v[i].seq, v[i - 1].seq);
        cr_assert_arr_eq(v[i].prev_hash, prev, STORE_HASH_BYTES, "seq %lld", (long long)v[i].seq);
        toy_hash(prev, &v[i], h);
        cr_assert_arr_eq(v[i].hash, h, STORE_HASH_BYTES);
        memcpy(prev, v[i].hash, STORE_HASH_BYTES);
    }
    store_audits_free(v, n);
}

Test(store, audit_append_chains_in_order)
{
    struct chain_log log = {0};
    struct store_audit recs[3] = {
        make_audit(100, "auth.login", USER_ID, "ada@example.com", NULL),
        make_audit(101, "secret.read", USER_ID, "ada@example.com", PROJ_ID),
        make_audit(102, "secret.write", USER_ID, "ada@example.com", PROJ_ID),
    };
    uint8_t zeros[STORE_HASH_BYTES] = {0};

    recs[1].environment = "dev";
    recs[1].path = "/";
    recs[1].key = "DB_URL";
    recs[1].ip = "127.0.0.1";
    recs[1].user_agent = "arca-cli/0.1";
    recs[1].outcome = "success";
    recs[1].metadata = "{\"version\":3}";

    cr_assert_eq(st->ops->audit_append(st, recs, 3, test_chain, &log), 0);
    cr_assert_eq(log.calls, 3);
    cr_assert_eq(log.prev_matches_rec, 3, "prev_hash is set before chain is called");
    cr_assert_arr_eq(log.prevs[0], zeros, STORE_HASH_BYTES, "the first record follows zeros");
    cr_assert_arr_eq(log.prevs[1], recs[0].hash, STORE_HASH_BYTES);
    cr_assert_arr_eq(log.prevs[2], recs[1].hash, STORE_HASH_BYTES);
    cr_assert_eq(recs[0].seq, 1);
    cr_assert_eq(recs[1].seq, 2);
    cr_assert_eq(recs[2].seq, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(log.seqs[i], recs[i].seq, "seq is known to chain");

    /* a later append continues the chain from the stored head, also after reopening */
    reopen_store();
    struct store_audit more[2] = {make_audit(200, "project.create", USER_ID, NULL, PROJ_ID),
                                  make_audit(201, "auth.logout", USER_ID, NULL, NULL)};
    log = (struct chain_log){0};
    cr_assert_eq(st->ops->audit_append(st, more, 2, test_chain, &log), 0);
    cr_assert_arr_eq(log.prevs[0], recs[2].hash, STORE_HASH_BYTES);
    cr_assert_arr_eq(more[0].prev_hash, recs[2].hash, STORE_HASH_BYTES);
    cr_assert_eq(more[0].seq, 4);
    cr_assert_eq(more[1].seq, 5);
    assert_chain_intact(5);

    /* fields read back exactly, NULL as NULL */
    struct store_audit_query q = {.after_seq = 1, .limit = 1};
    struct store_audit *v = NULL;
    size_t n = 0;
    cr_assert_eq(st->ops->audit_query(st, &q, &v, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(v[0].seq, 2);
    cr_assert_eq(v[0].time, 101);
    cr_assert_str_eq(v[0].actor_type, "user");
    cr_assert_str_eq(v[0].actor_id, USER_ID);
    cr_assert_str_eq(v[0].actor_name, "ada@example.com");
    cr_assert_str_eq(v[0].event, "secret.read");
    cr_assert_str_eq(v[0].org_id, ORG_ID);
    cr_assert_str_eq(v[0].project_id, PROJ_ID);
    cr_assert_str_eq(v[0].environment, "dev");
    cr_assert_str_eq(v[0].path, "/");
    cr_assert_str_eq(v[0].key, "DB_URL");
    cr_assert_str_eq(v[0].ip, "127.0.0.1");
    cr_assert_str_eq(v[0].user_agent, "arca-cli/0.1");
    cr_assert_str_eq(v[0].outcome, "success");
    cr_assert_str_eq(v[0].metadata, "{\"version\":3}");
    store_audits_free(v, n);
    q.after_seq = 3;
    cr_assert_eq(st->ops->audit_query(st, &q, &v, &n), 0);
    cr_assert_null(v[0].actor_name);
    cr_assert_null(v[0].environment);
    cr_assert_null(v[0].metadata);
    cr_assert_str_eq(v[0].project_id, PROJ_ID);
    store_audit_release(&v[0]);
    store_audit_release(&v[0]);
    free(v);
    store_audit_release(NULL);

    /* refusals */
    struct store_audit bad = make_audit(1, "", USER_ID, NULL, NULL);
    cr_assert_eq(st->ops->audit_append(st, &bad, 1, test_chain, NULL), -EINVAL);
    bad.event = "x";
    cr_assert_eq(st->ops->audit_append(st, &bad, 1, NULL, NULL), -EINVAL);
    cr_assert_eq(st->ops->audit_append(st, NULL, 0, test_chain, NULL), 0);
    assert_chain_intact(5);

    /* the table itself refuses changes */
    cr_assert_neq(sql_exec("UPDATE audit_log SET event = 'x'"), SQLITE_OK);
    cr_assert_neq(sql_exec("DELETE FROM audit_log WHERE seq = 5"), SQLITE_OK);
    assert_chain_intact(5);
}

#define N_AUDITORS 8
#define N_AUDIT_BATCHES 25

struct auditor {
    pthread_t thread;
    int id;
    int errors;
    int order_errors;
};

static void *auditor_main(void *arg)
{
    struct auditor *a = arg;
    int64_t last = 0;
    char name[32];

    snprintf(name, sizeof(name), "thread-%d", a->id);
    for (int i = 0; i < N_AUDIT_BATCHES; i++) {
        struct store_audit recs[2] = {make_audit(i, "secret.read", NULL, name, NULL),
                                      make_audit(i, "secret.write", NULL, name, NULL)};
        if (st->ops->audit_append(st, recs, 2, test_chain, NULL) < 0) {
            a->errors++;
            continue;
        }
        if (recs[0].seq <= last || recs[1].seq != recs[0].seq + 1)
            a->order_errors++;
        last = recs[1].seq;
    }
    return NULL;
}

/* batch's fill: each record says whether its write created the secret. */
static void fill_created(void *ctx, struct store_audit *recs, size_t n)
{
    const struct store_write *w = ctx;
    for (size_t i = 0; i < n; i++) {
        free(recs[i].event);
        recs[i].event = strdup(w[i].ret_created ? "secret.create" : "secret.update");
    }
}

Test(store, a_write_and_its_audit_records_commit_together)
{
    struct store_audit rec[2] = {make_audit(10, "", USER_ID, NULL, PROJ_ID),
                                 make_audit(11, "", USER_ID, NULL, PROJ_ID)};
    struct store_write w[2] = {
        {.op = STORE_PUT, .key = "A", .value = (const uint8_t *)"1", .value_len = 1},
        {.op = STORE_PUT, .key = "B", .value = (const uint8_t *)"2", .value_len = 1}};
    struct store_audit_batch b = {rec, 2, test_chain, NULL, fill_created, w};
    struct store_audit head = make_audit(9, "auth.login", USER_ID, NULL, NULL);
    struct store_audit_query q = {.project_id = PROJ_ID};
    struct store_audit *v = NULL;
    size_t n = 0;

    setup_project();
    cr_assert_eq(put("B", "0"), 0);
    cr_assert_eq(st->ops->audit_append(st, &head, 1, test_chain, NULL), 0);
    rec[0].event = strdup("");
    rec[1].event = strdup("");
    cr_assert_eq(st->ops->secrets_write_audited(st, PROJ_ID, ENV_DEV, "/", w, 2, USER_ID, 20, &b),
                 0);
    cr_assert_eq(rec[0].seq, 2, "chained after the head");
    cr_assert_eq(rec[1].seq, 3);
    cr_assert_arr_eq(rec[0].prev_hash, head.hash, STORE_HASH_BYTES);
    cr_assert_eq(st->ops->audit_query(st, &q, &v, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(v[0].event, "secret.create", "fill saw the write's result");
    cr_assert_str_eq(v[1].event, "secret.update");
    store_audits_free(v, n);

    /* a write that fails appends nothing; one whose records are refused writes nothing */
    w[0].op = STORE_CREATE;
    cr_assert_eq(st->ops->secrets_write_audited(st, PROJ_ID, ENV_DEV, "/", w, 1, USER_ID, 21, &b),
                 -EEXIST);
    cr_assert_eq(rec[0].seq, 0);
    free(rec[0].event);
    free(rec[1].event);
    b.fill = NULL;
    rec[0].event = rec[1].event = NULL;
    w[0].op = STORE_PUT;
    w[0].key = "C";
    cr_assert_eq(st->ops->secrets_write_audited(st, PROJ_ID, ENV_DEV, "/", w, 1, USER_ID, 22, &b),
                 -EINVAL, "a record without an event");
    cr_assert_eq(sql_int("SELECT count(*) FROM secrets WHERE key = 'C'"), 0);
    assert_chain_intact(3);
}

/* A statement that fails after others were sent ahead of their answers
 * (PostgreSQL's pipeline) fails its call, which leaves nothing behind; the
 * store goes on serving.  The failure: a trigger refusing one event. */
#ifdef STORE_TEST_PG
#define REFUSE_BOOM                                                                                \
    "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "         \
    "'boom'; END $$; CREATE TRIGGER boom BEFORE INSERT ON audit_log FOR EACH ROW WHEN "            \
    "(NEW.event = 'boom') EXECUTE FUNCTION boom()"
#else
#define REFUSE_BOOM                                                                                \
    "CREATE TRIGGER boom BEFORE INSERT ON audit_log WHEN NEW.event = 'boom' BEGIN SELECT "         \
    "RAISE(ABORT, 'boom'); END"
#endif

Test(store, a_refused_audit_record_fails_its_call_and_the_store_goes_on)
{
    struct store_audit rec = make_audit(10, "boom", USER_ID, NULL, PROJ_ID);
    struct store_audit recs[3] = {make_audit(11, "auth.login", USER_ID, NULL, NULL),
                                  make_audit(12, "boom", USER_ID, NULL, NULL),
                                  make_audit(13, "auth.login", USER_ID, NULL, NULL)};
    struct store_write w = {
        .op = STORE_PUT, .key = "C", .value = (const uint8_t *)"1", .value_len = 1};
    struct store_audit_batch b = {&rec, 1, test_chain, NULL, NULL, NULL};

    setup_project();
    cr_assert_eq(sql_exec(REFUSE_BOOM), 0);
    for (int i = 0; i < 3; i++) { /* the same connections again and again */
        cr_assert_lt(
            st->ops->secrets_write_audited(st, PROJ_ID, ENV_DEV, "/", &w, 1, USER_ID, 20, &b), 0);
        cr_assert_eq(rec.seq, 0);
        cr_assert_lt(st->ops->audit_append(st, recs, 3, test_chain, NULL), 0);
        cr_assert_eq(recs[0].seq, 0, "none of the batch");
        cr_assert_eq(put("D", "1"), 0, "the next call works");
    }
    cr_assert_eq(sql_int("SELECT count(*) FROM secrets WHERE key = 'C'"), 0);
    recs[1].event = "auth.logout";
    cr_assert_eq(st->ops->audit_append(st, recs, 3, test_chain, NULL), 0);
    cr_assert_eq(recs[0].seq, 1, "no seq was used up");
    assert_chain_intact(3);
}

Test(store, an_identity_login_is_one_transaction)
{
    struct store_client_secret cs = make_client_secret(CS_ID, IDENT_ID, 0, 1), *sl = NULL;
    struct store_access_token t = make_token(0x51, IDENT_ID, CS_ID, 100, 200, 0), got;
    struct store_audit rec = make_audit(30, "auth.identity.login", IDENT_ID, NULL, NULL);
    struct store_audit_batch b = {&rec, 1, test_chain, NULL, NULL, NULL};
    size_t n = 0;

    bootstrap();
    cr_assert_eq(create_identity(IDENT_ID, CLIENT_ID, "deploy-bot", &cs), 0);
    cr_assert_eq(st->ops->identity_login(st, CS_ID, 100, &t, &b), 0);
    cr_assert_eq(rec.seq, 1);
    cr_assert_eq(st->ops->access_token_get(st, t.token_hash, &got), 0);
    cr_assert_eq(st->ops->client_secret_list(st, IDENT_ID, &sl, &n), 0);
    cr_assert_eq(sl[0].num_uses, 1);
    store_client_secrets_free(sl, n);

    /* out of uses: no token, no record */
    struct store_access_token t2 = make_token(0x52, IDENT_ID, CS_ID, 100, 200, 0);
    cr_assert_eq(st->ops->identity_login(st, CS_ID, 101, &t2, &b), -EACCES);
    cr_assert_eq(rec.seq, 0);
    cr_assert_eq(st->ops->access_token_get(st, t2.token_hash, &got), -ENOENT);
    cr_assert_eq(st->ops->identity_login(st, USER2_ID, 101, &t2, NULL), -ENOENT, "unknown");
    assert_chain_intact(1);
}

Test(store, audit_seq_strictly_increasing_across_threads, .timeout = 60)
{
    static struct auditor a[N_AUDITORS];

    for (int i = 0; i < N_AUDITORS; i++) {
        a[i].id = i;
        cr_assert_eq(pthread_create(&a[i].thread, NULL, auditor_main, &a[i]), 0);
    }
    for (int i = 0; i < N_AUDITORS; i++) {
        pthread_join(a[i].thread, NULL);
        cr_assert_eq(a[i].errors, 0, "thread %d", i);
        cr_assert_eq(a[i].order_errors, 0, "thread %d", i);
    }
    assert_chain_intact(N_AUDITORS * N_AUDIT_BATCHES * 2);
    cr_assert_eq(sql_int("SELECT max(seq) FROM audit_log"), N_AUDITORS * N_AUDIT_BATCHES * 2,
                 "no gaps");
}

static size_t audit_count(struct store_audit_query q, int64_t *first_seq)
{
    struct store_audit *v = NULL;
    size_t n = 0;
    cr_assert_eq(st->ops->audit_query(st, &q, &v, &n), 0);
    if (first_seq)
        *first_seq = n ? v[0].seq : 0;
    store_audits_free(v, n);
    return n;
}

Test(store, audit_query_filters)
{
    struct store_audit recs[8] = {
        make_audit(1000, "auth.login", USER_ID, "ada@example.com", NULL),       /* 1 */
        make_audit(1100, "secret.read", USER_ID, "ada@example.com", PROJ_ID),   /* 2 */
        make_audit(1200, "secret.write", USER2_ID, "bob@example.com", PROJ_ID), /* 3 */
        make_audit(1300, "secrets.list", USER2_ID, "bob@example.com", PROJ_ID), /* 4 */
        make_audit(1400, "secret", NULL, "deploy-token", PROJ2_ID),             /* 5 */
        make_audit(1500, "secret.read", IDENT_ID, "deploy-bot", PROJ2_ID),      /* 6 */
        make_audit(1600, "member.add", USER_ID, "ada@example.com", PROJ_ID),    /* 7 */
        make_audit(1700, "secret.read", USER_ID, "ada@example.com", PROJ_ID),   /* 8 */
    };
    int64_t first = 0;

    strcpy(recs[5].org_id, "99999999-9999-4999-8999-999999999999");
    strcpy(recs[4].actor_type, "service");
    cr_assert_eq(st->ops->audit_append(st, recs, 8, test_chain, NULL), 0);

    cr_assert_eq(audit_count((struct store_audit_query){0}, &first), 8);
    cr_assert_eq(first, 1);
    cr_assert_eq(audit_count((struct store_audit_query){.org_id = ORG_ID}, NULL), 7);
    cr_assert_eq(audit_count((struct store_audit_query){.project_id = PROJ_ID}, NULL), 5);
    cr_assert_eq(audit_count((struct store_audit_query){.project_id = PROJ2_ID}, &first), 2);
    cr_assert_eq(first, 5);
    /* actor: by id or by name */
    cr_assert_eq(audit_count((struct store_audit_query){.actor_id = USER_ID}, NULL), 4);
    cr_assert_eq(audit_count((struct store_audit_query){.actor_id = "bob@example.com"}, NULL), 2);
    cr_assert_eq(audit_count((struct store_audit_query){.actor_id = "deploy-token"}, &first), 1);
    cr_assert_eq(first, 5);
    /* event: exact, or a prefix ending in '.' */
    cr_assert_eq(audit_count((struct store_audit_query){.event = "secret.read"}, NULL), 3);
    cr_assert_eq(audit_count((struct store_audit_query){.event = "secret."}, NULL), 4,
                 "not 'secrets.list', not 'secret'");
    cr_assert_eq(audit_count((struct store_audit_query){.event = "secret"}, &first), 1);
    cr_assert_eq(first, 5);
    cr_assert_eq(audit_count((struct store_audit_query){.event = "auth."}, NULL), 1);
    cr_assert_eq(audit_count((struct store_audit_query){.event = "nothing."}, NULL), 0);
    /* time: since <= time < until */
    cr_assert_eq(audit_count((struct store_audit_query){.since = 1200}, &first), 6);
    cr_assert_eq(first, 3);
    cr_assert_eq(audit_count((struct store_audit_query){.until = 1200}, NULL), 2);
    cr_assert_eq(audit_count((struct store_audit_query){.since = 1100, .until = 1500}, NULL), 4);
    /* paging */
    cr_assert_eq(audit_count((struct store_audit_query){.after_seq = 6}, &first), 2);
    cr_assert_eq(first, 7);
    cr_assert_eq(audit_count((struct store_audit_query){.after_seq = 1, .limit = 3}, &first), 3);
    cr_assert_eq(first, 2);
    /* combined */
    cr_assert_eq(audit_count((struct store_audit_query){.project_id = PROJ_ID,
                                                        .actor_id = USER_ID,
                                                        .event = "secret.",
                                                        .since = 1000,
                                                        .until = 2000,
                                                        .after_seq = 2},
                             &first),
                 1);
    cr_assert_eq(first, 8);
    cr_assert_eq(
        audit_count((struct store_audit_query){.org_id = ORG_ID, .event = "secret.read"}, NULL), 2);

    struct store_audit *v = (void *)1;
    size_t n = 7;
    cr_assert_eq(st->ops->audit_query(st, NULL, &v, &n), -EINVAL);
}

/* An actor filter matches the id or the name: two walks merged, in seq order,
 * each bound (page, time, limit) applied to both. */
Test(store, audit_query_actor_by_id_and_by_name_merged)
{
    struct store_audit recs[7] = {
        make_audit(1000, "secret.read", "x-actor", "ada@example.com", PROJ_ID), /* 1: by id */
        make_audit(1100, "secret.read", USER_ID, "x-actor", PROJ_ID),           /* 2: by name */
        make_audit(1200, "secret.read", "x-actor", "ada@example.com", PROJ_ID), /* 3 */
        make_audit(1300, "secret.read", USER2_ID, "x-actor", PROJ_ID),          /* 4 */
        make_audit(1400, "secret.read", "x-actor", "x-actor", PROJ_ID),         /* 5: both, once */
        make_audit(1500, "secret.read", USER_ID, "x-actor", PROJ_ID),           /* 6 */
        make_audit(1600, "secret.read", USER_ID, "someone", PROJ_ID),           /* 7: neither */
    };
    static const struct {
        struct store_audit_query q;
        int64_t want[7];
    } cases[] = {
        {{.actor_id = "x-actor"}, {1, 2, 3, 4, 5, 6}},
        {{.actor_id = "x-actor", .newest_first = true, .limit = 4}, {6, 5, 4, 3}},
        {{.actor_id = "x-actor", .after_seq = 1, .limit = 3}, {2, 3, 4}},
        {{.actor_id = "x-actor", .since = 1200, .until = 1500}, {3, 4, 5}},
        {{.actor_id = "x-actor", .since = 1100, .newest_first = true, .limit = 2}, {6, 5}},
    };

    cr_assert_eq(st->ops->audit_append(st, recs, 7, test_chain, NULL), 0);
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        struct store_audit *v = NULL;
        size_t n = 0, want_n = 0;

        while (want_n < 7 && cases[i].want[want_n])
            want_n++;
        cr_assert_eq(st->ops->audit_query(st, &cases[i].q, &v, &n), 0);
        cr_assert_eq(n, want_n, "case %zu: %zu records", i, n);
        for (size_t k = 0; k < n; k++)
            cr_assert_eq(v[k].seq, cases[i].want[k], "case %zu, record %zu", i, k);
        store_audits_free(v, n);
    }
}

Test(store, audit_query_caps_the_limit, .timeout = 60)
{
    enum { N = 10005 };
    struct store_audit *recs = calloc(N, sizeof(*recs));

    for (int i = 0; i < N; i++)
        recs[i] = make_audit(i, "secret.read", USER_ID, NULL, PROJ_ID);
    cr_assert_eq(st->ops->audit_append(st, recs, N, test_chain, NULL), 0);
    cr_assert_eq(recs[N - 1].seq, N);
    free(recs);
    cr_assert_eq(audit_count((struct store_audit_query){0}, NULL), 10000);
    cr_assert_eq(audit_count((struct store_audit_query){.limit = 20000}, NULL), 10000);
    cr_assert_eq(audit_count((struct store_audit_query){.limit = 10}, NULL), 10);
    cr_assert_eq(audit_count((struct store_audit_query){.after_seq = 10000}, NULL), 5);
}

Test(store, audit_time_follows_seq_and_ranges_bisect, .timeout = 60)
{
    struct store_audit recs[300], late = make_audit(5, "auth.login", USER_ID, NULL, NULL);
    struct store_audit_query q = {0};
    struct store_audit *v = NULL;
    size_t n = 0;

    for (int i = 0; i < 300; i++) /* times 10, 10, 20, 20, ...: runs of equal times */
        recs[i] = make_audit(10 * (i / 2 + 1), "secret.read", USER_ID, NULL, PROJ_ID);
    cr_assert_eq(st->ops->audit_append(st, recs, 300, test_chain, NULL), 0);
    /* a record stamped before the head (another thread, another server's clock) */
    cr_assert_eq(st->ops->audit_append(st, &late, 1, test_chain, NULL), 0);
    cr_assert_eq(late.time, 1500, "time never goes back along seq");
    cr_assert_eq(st->ops->audit_query(st, &q, &v, &n), 0);
    cr_assert_eq(v[300].time, 1500, "stored (and hashed) as clamped");
    store_audits_free(v, n);
    assert_chain_intact(301);
    for (int64_t t = 5; t <= 1520; t += 5) { /* 0: unbounded */
        int want_since = late.time >= t, want_until = late.time < t, want_range = 0;
        for (int i = 0; i < 300; i++) {
            want_since += recs[i].time >= t;
            want_until += recs[i].time < t;
            want_range += recs[i].time >= t && recs[i].time < t + 30; /* PROJ_ID's */
        }
        cr_assert_eq(audit_count((struct store_audit_query){.since = t}, NULL), want_since,
                     "since %lld", (long long)t);
        cr_assert_eq(audit_count((struct store_audit_query){.until = t}, NULL), want_until,
                     "until %lld", (long long)t);
        cr_assert_eq(
            audit_count(
                (struct store_audit_query){.project_id = PROJ_ID, .since = t, .until = t + 30},
                NULL),
            want_range, "since %lld, 30 ms", (long long)t);
    }
}

Test(store, audit_queries_use_their_index, SQLITE_ONLY)
{
    static const char *const cases[][2] = {
        {"(substr(project_id, 1, 8) = substr('p', 1, 8) AND project_id || '' = 'p')",
         "audit_log_by_project"},
        {"((actor_id = 'a') OR (actor_name = 'a'))", "audit_log_by_actor_id"},
        {"((actor_id = 'a') OR (actor_name = 'a'))", "audit_log_by_actor_name"},
        /* migration 0010: along seq, no index of their own to pay on every append */
        {"org_id = 'o'", "INTEGER PRIMARY KEY"},
        {"event = 'secret.read'", "INTEGER PRIMARY KEY"},
    };
    sqlite3 *db;

    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        _cleanup_buf_ struct buf plan = BUF_INIT, sql = BUF_INIT;
        sqlite3_stmt *q;
        buf_printf(&sql,
                   "EXPLAIN QUERY PLAN SELECT * FROM audit_log WHERE seq > 0 AND %s "
                   "ORDER BY seq LIMIT 100",
                   cases[i][0]);
        cr_assert_eq(sqlite3_prepare_v2(db, buf_str(&sql), -1, &q, NULL), SQLITE_OK);
        while (sqlite3_step(q) == SQLITE_ROW)
            buf_printf(&plan, "%s\n", (const char *)sqlite3_column_text(q, 3));
        sqlite3_finalize(q);
        cr_assert(strstr(buf_str(&plan), cases[i][1]), "%s: %s", cases[i][0], buf_str(&plan));
    }
    sqlite3_close(db);
}

/* ---- group commit: concurrent write calls share transactions ---- */

#define GC_THREADS 16
#define GC_ROUNDS 40
#define GC_CALLS (GC_THREADS * GC_ROUNDS) /* of each kind that succeeds */

struct gc_worker {
    pthread_t thread;
    int id;
    int errors;                  /* calls that did not answer as they should */
    int conflicts;               /* -EEXIST answers to a CREATE of an existing key */
    int early;                   /* calls that returned before a reader could see them */
    int64_t versions[GC_ROUNDS]; /* of SHARED, as returned */
    int64_t seqs[GC_ROUNDS];     /* of the audit records, as returned */
};

/* Whether a reader sees version of key (written by the calling thread). */
static bool gc_committed_secret(const char *key, int64_t version)
{
    struct store_secret sec = {0};
    bool ok = st->ops->secret_get(st, ENV_DEV, "/", key, &sec) == 0 && sec.version == version;

    store_secret_release(&sec);
    return ok;
}

/* Whether a reader sees the audit record seq. */
static bool gc_committed_audit(int64_t seq)
{
    struct store_audit_query q = {.after_seq = seq - 1, .limit = 1};
    struct store_audit *v = NULL;
    size_t n = 0;
    bool ok = st->ops->audit_query(st, &q, &v, &n) == 0 && n == 1 && v[0].seq == seq;

    store_audits_free(v, n);
    return ok;
}

static void *gc_main(void *arg)
{
    struct gc_worker *wk = arg;
    char own[16], lost[16], value[32];

    snprintf(own, sizeof(own), "OWN_%d", wk->id);
    snprintf(lost, sizeof(lost), "LOST_%d", wk->id);
    for (int i = 0; i < GC_ROUNDS; i++) {
        struct store_write w[2] = {{.op = STORE_PUT, .key = "SHARED"},
                                   {.op = STORE_PUT, .key = own}};
        /* fails as a whole: LOST_n must never appear */
        struct store_write bad[2] = {{.op = STORE_PUT, .key = lost},
                                     {.op = STORE_CREATE, .key = "TAKEN"}};
        struct store_audit a = make_audit(1000 + i, "secret.write", USER_ID, NULL, PROJ_ID);

        snprintf(value, sizeof(value), "w%d-%d", wk->id, i);
        for (int j = 0; j < 2; j++) {
            w[j].value = bad[j].value = (const uint8_t *)value;
            w[j].value_len = bad[j].value_len = strlen(value);
        }
        if (st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", w, 2, USER_ID, 1000 + i) == 0 &&
            w[1].ret_version == i + 1)
            wk->versions[i] = w[0].ret_version;
        else
            wk->errors++;
        /* returned, so committed: another connection (a reader) sees it now */
        if (!gc_committed_secret(own, i + 1))
            wk->early++;
        if (st->ops->audit_append(st, &a, 1, test_chain, NULL) == 0)
            wk->seqs[i] = a.seq;
        else
            wk->errors++;
        if (wk->seqs[i] && !gc_committed_audit(a.seq))
            wk->early++;
        if (i % 4 == wk->id % 4) {
            if (st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", bad, 2, USER_ID, 1000 + i) ==
                -EEXIST)
                wk->conflicts++;
            else
                wk->errors++;
        }
    }
    return NULL;
}

/* Every write call that returned 0 is there after reopening, with the
 * version or seq it was told, none twice and none missing; no call returned
 * before its batch was committed (a reader sees each write as soon as its
 * call returns); the calls that failed left nothing and undid nobody else's;
 * and (SQLite) calls did share commits. */
Test(store, concurrent_write_calls_durable_and_isolated)
{
    static struct gc_worker wk[GC_THREADS];
    static bool seen_version[GC_CALLS + 1], seen_seq[GC_CALLS + 1];
    struct store_secret *h = NULL, sec = {0};
    size_t n = 0;
    char key[16];

    setup_project();
    cr_assert_eq(put("TAKEN", "first"), 0);
#ifndef STORE_TEST_PG
    struct store_sqlite_stats before, after;
    store_sqlite_stats(st, &before);
#endif
    for (int i = 0; i < GC_THREADS; i++) {
        wk[i].id = i;
        cr_assert_eq(pthread_create(&wk[i].thread, NULL, gc_main, &wk[i]), 0);
    }
    for (int i = 0; i < GC_THREADS; i++)
        pthread_join(wk[i].thread, NULL);
#ifndef STORE_TEST_PG
    store_sqlite_stats(st, &after);
    cr_assert_eq(after.calls - before.calls, 2 * GC_CALLS, "each successful call committed once");
    cr_assert_lt(after.commits - before.commits, after.calls - before.calls,
                 "no commit was shared by several calls");
    cr_assert_gt(after.failed_amid, before.failed_amid, "no call failed amid others");
#endif

    for (int i = 0; i < GC_THREADS; i++) {
        cr_assert_eq(wk[i].errors, 0, "thread %d", i);
        cr_assert_eq(wk[i].early, 0, "thread %d: %d calls returned before their commit", i,
                     wk[i].early);
        cr_assert_eq(wk[i].conflicts, GC_ROUNDS / 4, "thread %d", i);
        for (int j = 0; j < GC_ROUNDS; j++) {
            int64_t v = wk[i].versions[j], q = wk[i].seqs[j];
            cr_assert(v >= 1 && v <= GC_CALLS && !seen_version[v], "version %lld", (long long)v);
            cr_assert(q >= 1 && q <= GC_CALLS && !seen_seq[q], "seq %lld", (long long)q);
            seen_version[v] = seen_seq[q] = true;
        }
    }

    reopen_store();
    cr_assert_eq(st->ops->secret_history(st, ENV_DEV, "/", "SHARED", &h, &n), 0);
    cr_assert_eq(n, GC_CALLS);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(h[i].version, (int64_t)(n - i));
    store_secrets_free(h, n);
    for (int i = 0; i < GC_THREADS; i++) {
        snprintf(key, sizeof(key), "OWN_%d", i);
        cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", key, &sec), 0, "%s", key);
        cr_assert_eq(sec.version, GC_ROUNDS, "%s", key);
        store_secret_release(&sec);
        snprintf(key, sizeof(key), "LOST_%d", i);
        cr_assert_eq(st->ops->secret_history(st, ENV_DEV, "/", key, &h, &n), -ENOENT, "%s", key);
    }
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "TAKEN", &sec), 0);
    cr_assert_eq(sec.version, 1);
    store_secret_release(&sec);
    assert_chain_intact(GC_CALLS);
}

/* ---- upgrading a 0001 database ---- */

Test(store, upgrades_a_0001_database_in_place, SQLITE_ONLY)
{
    sqlite3 *db;
    struct store_member m = {0};
    struct store_secret s = {0};
    struct store_user u = {0};
    int64_t until = -1;

    /* a database as the first release left it */
    store_close(st);
    st = NULL;
    unlink(db_path);
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cr_assert_eq(store_migrations[0].version, 1);
    cr_assert_eq(sqlite3_exec(db,
                              "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                              "name TEXT NOT NULL, applied_at INTEGER NOT NULL);",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, store_migrations[0].sql, NULL, NULL, NULL), SQLITE_OK);
    cr_assert_eq(
        sqlite3_exec(
            db,
            "INSERT INTO schema_migrations VALUES (1, 'init', 42);"
            "INSERT INTO users VALUES ('" USER_ID "', 'ada@example.com', zeroblob(32), x'00', 3, "
            "65536, x'01', x'02', 1);"
            "INSERT INTO orgs VALUES ('" ORG_ID "', 'Ada''s org', 'ada', 1);"
            "INSERT INTO org_members VALUES ('" ORG_ID "', '" USER_ID "', 'admin', 1);"
            "INSERT INTO projects VALUES ('" PROJ_ID "', '" ORG_ID "', 'Web', 'web', 1);"
            "INSERT INTO environments VALUES ('" ENV_DEV "', '" PROJ_ID "', 'dev', 'Dev', 1);"
            "INSERT INTO project_members VALUES ('" PROJ_ID "', '" USER_ID "', 'admin', "
            "x'aa', 1);"
            "INSERT INTO secrets (id, project_id, env_id, path, key, version, value, "
            "updated_at, updated_by) VALUES ('s1', '" PROJ_ID "', '" ENV_DEV
            "', '/', 'K', 1, x'76', 5, '" USER_ID "');"
            "INSERT INTO secret_versions VALUES ('s1', 1, x'76', NULL, 5, '" USER_ID "');"
            "INSERT INTO secrets (id, project_id, env_id, path, key, version, value, "
            "updated_at, updated_by) VALUES ('s2', '" PROJ_ID "', '" ENV_DEV
            "', '/a/b', 'K', 1, x'76', 5, '" USER_ID "');",
            NULL, NULL, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);

    open_store();
    cr_assert_eq(sql_int("SELECT count(*) FROM schema_migrations"), (int64_t)store_n_migrations);
    cr_assert_eq(sql_int("SELECT applied_at FROM schema_migrations WHERE version = 1"), 42);
    cr_assert_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE name = 'audit_log'"), 1);
    /* migration 0005 made the folders of the stored secrets, ancestors included */
    cr_assert_eq(sql_int("SELECT count(*) FROM folders"), 3);
    {
        struct store_folder f = {0};
        cr_assert_eq(st->ops->folder_find(st, ENV_DEV, "/a", &f), 0);
        cr_assert(name_uuid_valid(f.id), "%s", f.id);
        cr_assert_str_eq(f.project_id, PROJ_ID);
        store_folder_release(&f);
    }

    cr_assert_eq(st->ops->user_get(st, USER_ID, &u), 0);
    cr_assert_str_eq(u.email, "ada@example.com");
    store_user_release(&u);
    cr_assert_eq(st->ops->user_locked_until(st, USER_ID, &until), 0);
    cr_assert_eq(until, 0);
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER_ID, &m), 0);
    cr_assert_str_eq(m.principal_type, "user", "existing members are users");
    cr_assert_str_eq(m.principal_name, "ada@example.com");
    cr_assert(blob_is(&m.wrapped_key, "\xaa"));
    store_member_release(&m);
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "K", &s), 0);
    cr_assert(blob_is(&s.value, "v"));
    store_secret_release(&s);
    /* and the old data keeps working with the new operations */
    struct store_write w = {
        .op = STORE_PUT, .key = "K", .value = (const uint8_t *)"v2", .value_len = 2};
    cr_assert_eq(st->ops->secrets_write(st, PROJ_ID, ENV_DEV, "/", &w, 1, USER_ID, 10), 0);
    cr_assert_eq(w.ret_version, 2);
    struct store_audit a = make_audit(1, "secret.write", USER_ID, NULL, PROJ_ID);
    cr_assert_eq(st->ops->audit_append(st, &a, 1, test_chain, NULL), 0);
    cr_assert_eq(a.seq, 1);

    /* reopening applies nothing twice */
    int64_t applied = sql_int("SELECT applied_at FROM schema_migrations WHERE version = 2");
    reopen_store();
    cr_assert_eq(sql_int("SELECT count(*) FROM schema_migrations"), (int64_t)store_n_migrations);
    cr_assert_eq(sql_int("SELECT applied_at FROM schema_migrations WHERE version = 2"), applied);
}

/* ---- environments ---- */

#define ENV_QA "55555555-5555-4555-8555-5555555555aa"

static int add_env(const char *id, const char *slug, int position, size_t max)
{
    struct store_env e = {.slug = (char *)slug, .name = "Env", .position = position};
    strcpy(e.id, id);
    strcpy(e.project_id, PROJ_ID);
    return st->ops->env_create(st, &e, max);
}

static void env_slugs(char *out, size_t size)
{
    struct store_project p = {0};

    cr_assert_eq(st->ops->project_get(st, PROJ_ID, &p), 0);
    out[0] = 0;
    for (size_t i = 0; i < p.n_envs; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s:%d", i ? " " : "", p.envs[i].slug,
                 p.envs[i].position);
    store_project_release(&p);
}

Test(store, env_create_shifts_positions_and_checks_limits)
{
    char slugs[256];

    setup_project();
    cr_assert_eq(add_env(ENV_QA, "qa", 2, 64), 0);
    env_slugs(slugs, sizeof(slugs));
    cr_assert_str_eq(slugs, "dev:1 qa:2 staging:3 prod:4");
    cr_assert_eq(add_env(PROJ2_ID, "qa", 9, 64), -EEXIST);
    cr_assert_eq(add_env(PROJ2_ID, "more", 9, 4), -E2BIG);
    env_slugs(slugs, sizeof(slugs));
    cr_assert_str_eq(slugs, "dev:1 qa:2 staging:3 prod:4", "a refused create changes nothing");
    struct store_env e = {.slug = "x", .name = "X", .position = 1};
    strcpy(e.id, PROJ2_ID);
    strcpy(e.project_id, ENV2_DEV); /* no such project */
    cr_assert_eq(st->ops->env_create(st, &e, 64), -ENOENT);
}

Test(store, env_update_keeps_a_slug_bound_to_secrets)
{
    char slugs[256];

    setup_project();
    cr_assert_eq(add_env(ENV_QA, "qa", 4, 64), 0);
    cr_assert_eq(st->ops->env_update(st, PROJ_ID, ENV_QA, "quality", "Quality", 1), 0);
    env_slugs(slugs, sizeof(slugs));
    cr_assert_str_eq(slugs, "quality:1 dev:2 staging:3 prod:4");
    cr_assert_eq(st->ops->env_update(st, PROJ_ID, ENV_QA, "dev", NULL, 0), -EEXIST);

    /* a secret written, then deleted: the slug is bound to its history */
    cr_assert_eq(write1(ENV_QA, "/", STORE_PUT, "K", "v", NULL), 0);
    cr_assert_eq(write1(ENV_QA, "/", STORE_DELETE, "K", NULL, NULL), 0);
    cr_assert_eq(st->ops->env_update(st, PROJ_ID, ENV_QA, "qa", NULL, 0), -EBUSY);
    cr_assert_eq(st->ops->env_update(st, PROJ_ID, ENV_QA, "quality", "Q", 0), 0, "same slug");
    cr_assert_eq(st->ops->env_update(st, PROJ_ID, ENV_QA, NULL, "QA", 0), 0);
    cr_assert_eq(st->ops->env_update(st, PROJ_ID, PROJ2_ID, NULL, "QA", 0), -ENOENT);
}

Test(store, env_delete_only_without_secrets_or_history)
{
    struct store_env_counts n = {-1, -1, -1};

    setup_project();
    cr_assert_eq(add_env(ENV_QA, "qa", 4, 64), 0);
    cr_assert_eq(write1(ENV_QA, "/", STORE_PUT, "A", "1", NULL), 0);
    cr_assert_eq(write1(ENV_QA, "/app", STORE_PUT, "B", "2", NULL), 0);
    cr_assert_eq(st->ops->env_delete(st, PROJ_ID, ENV_QA, false, &n), -EBUSY);
    cr_assert_eq(n.live, 2);
    cr_assert_eq(n.total, 2);
    cr_assert_eq(n.versions, 2);
    cr_assert_eq(write1(ENV_QA, "/", STORE_DELETE, "A", NULL, NULL), 0);
    cr_assert_eq(write1(ENV_QA, "/app", STORE_DELETE, "B", NULL, NULL), 0);
    cr_assert_eq(st->ops->env_delete(st, PROJ_ID, ENV_QA, false, &n), -EBUSY);
    cr_assert_eq(n.live, 0);
    cr_assert_eq(n.total, 2);
    cr_assert_eq(n.versions, 4);
    cr_assert_eq(sql_int("SELECT count(*) FROM secret_versions"), 4, "history kept");

    cr_assert_eq(st->ops->env_delete(st, PROJ_ID, ENV_STG, false, &n), 0);
    cr_assert_eq(st->ops->env_delete(st, PROJ_ID, ENV_STG, false, &n), -ENOENT);
    cr_assert_eq(sql_int("SELECT count(*) FROM environments"), 3);

    /* purge: the history goes with the environment, counted first */
    cr_assert_eq(st->ops->env_counts(st, PROJ_ID, ENV_QA, &n), 0);
    cr_assert_eq(n.versions, 4);
    cr_assert_eq(st->ops->env_delete(st, PROJ_ID, ENV_QA, true, &n), 0);
    cr_assert_eq(n.total, 2);
    cr_assert_eq(n.versions, 4);
    cr_assert_eq(sql_int("SELECT count(*) FROM secret_versions"), 0, "history purged");
    cr_assert_eq(sql_int("SELECT count(*) FROM secrets"), 0);
    cr_assert_eq(st->ops->env_counts(st, PROJ_ID, ENV_QA, &n), -ENOENT);
}

Test(store, project_create_with_server_key)
{
    struct store_project p = {0};
    static uint8_t sk[72] = "server-key-copy";
    struct store_env env = {.slug = "dev", .name = "Development", .position = 1};
    struct store_project np = {
        .name = "S", .slug = "s", .envs = &env, .n_envs = 1, .server_key = {sk, sizeof(sk)}};

    bootstrap();
    strcpy(np.id, PROJ2_ID);
    strcpy(np.org_id, ORG_ID);
    strcpy(env.id, ENV2_DEV);
    cr_assert_eq(st->ops->project_create(st, &np, NULL), 0);
    cr_assert_eq(st->ops->project_get(st, PROJ2_ID, &p), 0);
    cr_assert_eq(p.server_key.len, sizeof(sk));
    cr_assert_arr_eq(p.server_key.ptr, sk, sizeof(sk));
    store_project_release(&p);
}

/* ---- folders and imports (migration 0005) ---- */

static char **folder_paths(const char *env, const char *path, bool recursive, size_t *ret_n)
{
    struct store_folder *v = NULL;
    char **out;

    cr_assert_eq(st->ops->folder_list(st, env, path, recursive, &v, ret_n), 0);
    out = calloc(*ret_n + 1, sizeof(*out));
    for (size_t i = 0; i < *ret_n; i++)
        out[i] = strdup(v[i].path);
    store_folders_free(v, *ret_n);
    return out;
}

static void assert_paths(const char *env, const char *path, bool recursive, const char *const *want,
                         size_t n_want)
{
    size_t n = 0;
    char **got = folder_paths(env, path, recursive, &n);

    cr_assert_eq(n, n_want, "%zu folders under %s", n, path);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(got[i], want[i]);
        free(got[i]);
    }
    free(got);
}

Test(store, folders_follow_secret_writes)
{
    struct store_folder f = {0};

    setup_project();
    cr_assert_eq(write1(ENV_DEV, "/a/b", STORE_PUT, "K", "v", NULL), 0);
    cr_assert_eq(write1(ENV_DEV, "/ab", STORE_PUT, "K", "v", NULL), 0);
    assert_paths(ENV_DEV, "/", false, (const char *[]){"/a", "/ab"}, 2);
    assert_paths(ENV_DEV, "/", true, (const char *[]){"/a", "/a/b", "/ab"}, 3);
    assert_paths(ENV_DEV, "/a", true, (const char *[]){"/a/b"}, 1);
    assert_paths(ENV_PROD, "/", true, NULL, 0);
    cr_assert_eq(st->ops->folder_find(st, ENV_DEV, "/", &f), 0, "the root has a row too");
    store_folder_release(&f);
}

Test(store, folder_create_and_delete_keeps_history)
{
    struct store_folder f = {0}, g = {0};
    struct store_secret *h = NULL, s = {0};
    size_t n = 0, n_deleted = 0;
    bool created = false;

    setup_project();
    cr_assert_eq(st->ops->folder_create(st, PROJ_ID, ENV_DEV, "/x/y/z", 1, &f, &created), 0);
    cr_assert(created);
    cr_assert_str_eq(f.path, "/x/y/z");
    cr_assert_eq(st->ops->folder_create(st, PROJ_ID, ENV_DEV, "/x/y/z", 2, &g, &created), 0);
    cr_assert_not(created);
    cr_assert_str_eq(g.id, f.id, "an existing folder is returned");
    cr_assert_eq(write1(ENV_DEV, "/x/y", STORE_PUT, "K", "v", NULL), 0);
    cr_assert_eq(write1(ENV_DEV, "/xy", STORE_PUT, "K", "v", NULL), 0);

    cr_assert_eq(st->ops->folder_delete(st, ENV_DEV, "/", USER_ID, 3, NULL), -EINVAL);
    cr_assert_eq(st->ops->folder_delete(st, ENV_DEV, "/nope", USER_ID, 3, NULL), -ENOENT);
    cr_assert_eq(st->ops->folder_delete(st, ENV_DEV, "/x", USER_ID, 3, &n_deleted), 0);
    cr_assert_eq(n_deleted, 1);
    assert_paths(ENV_DEV, "/", true, (const char *[]){"/xy"}, 1);
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/x/y", "K", &s), -ENOENT);
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/xy", "K", &s), 0, "a sibling is untouched");
    store_secret_release(&s);
    cr_assert_eq(st->ops->secret_history(st, ENV_DEV, "/x/y", "K", &h, &n), 0);
    cr_assert_eq(n, 2, "the value and its tombstone");
    cr_assert_eq(h[0].value.len, 0);
    cr_assert(blob_is(&h[1].value, "v"));
    store_secrets_free(h, n);
    store_folder_release(&f);
    store_folder_release(&g);
}

static void add_import(const char *id, const char *env, const char *path, const char *from_env,
                       const char *from_path, size_t max, int want)
{
    struct store_import imp = {.path = (char *)path, .import_path = (char *)from_path};

    strcpy(imp.id, id);
    strcpy(imp.project_id, PROJ_ID);
    strcpy(imp.env_id, env);
    strcpy(imp.import_env_id, from_env);
    strcpy(imp.created_by, USER_ID);
    imp.created_at = clock_ms++;
    cr_assert_eq(st->ops->import_create(st, &imp, max), want, "import %s", id);
}

static void assert_import_order(const char *const *ids, size_t n_ids)
{
    struct store_import *v = NULL;
    size_t n = 0;

    cr_assert_eq(st->ops->import_list(st, ENV_PROD, "/", &v, &n), 0);
    cr_assert_eq(n, n_ids);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(v[i].id, ids[i]);
        cr_assert_eq(v[i].position, (int64_t)i + 1);
    }
    store_imports_free(v, n);
}

#define IMP1 "66666666-6666-4666-8666-666666666601"
#define IMP2 "66666666-6666-4666-8666-666666666602"
#define IMP3 "66666666-6666-4666-8666-666666666603"
#define IMP4 "66666666-6666-4666-8666-666666666604"

Test(store, imports_are_ordered_moved_and_removed)
{
    setup_project();
    add_import(IMP1, ENV_PROD, "/", ENV_DEV, "/", 3, 0);
    add_import(IMP2, ENV_PROD, "/", ENV_STG, "/", 3, 0);
    add_import(IMP3, ENV_PROD, "/", ENV_DEV, "/shared", 3, 0);
    add_import(IMP4, ENV_PROD, "/", ENV_DEV, "/", 9, -EEXIST);
    add_import(IMP4, ENV_PROD, "/", ENV_STG, "/x", 3, -E2BIG);
    assert_import_order((const char *[]){IMP1, IMP2, IMP3}, 3);

    cr_assert_eq(st->ops->import_move(st, IMP3, 1), 0);
    assert_import_order((const char *[]){IMP3, IMP1, IMP2}, 3);
    cr_assert_eq(st->ops->import_move(st, IMP3, 99), 0, "clamped to the end");
    assert_import_order((const char *[]){IMP1, IMP2, IMP3}, 3);
    cr_assert_eq(st->ops->import_delete(st, IMP1), 0);
    assert_import_order((const char *[]){IMP2, IMP3}, 2);
    cr_assert_eq(st->ops->import_delete(st, IMP1), -ENOENT);
    cr_assert_eq(st->ops->import_move(st, IMP1, 1), -ENOENT);
}

/* ---- backup and restore ---- */

#define DUMP_MAX_ROWS 256

/* A backup kept in memory: a canonical text of every row (to compare two
 * backups) and the rows themselves (to feed a restore), their bytes in arena
 * at the offsets kept in ptr. */
struct dump {
    struct buf text, arena;
    const struct store_table *t[DUMP_MAX_ROWS];
    struct store_value v[DUMP_MAX_ROWS][32];
    size_t n, next, fail_at; /* fail_at: the feed fails at that row (0: never) */
    struct store_value cur[32];
};

static int dump_row(void *ctx, const struct store_table *t, const struct store_value *row)
{
    struct dump *d = ctx;

    if (!row)
        return buf_printf(&d->text, "table %s\n", t->name);
    cr_assert_lt(d->n, DUMP_MAX_ROWS);
    d->t[d->n] = t;
    for (size_t i = 0; i < t->n_cols; i++) {
        struct store_value v = row[i];
        if (v.null)
            cr_assert_eq(buf_adds(&d->text, " null"), 0);
        else if (t->types[i] == 'i')
            cr_assert_eq(buf_printf(&d->text, " %lld", (long long)v.i), 0);
        else
            cr_assert_eq(buf_printf(&d->text, " %c%zu:%.*s", t->types[i], v.len, (int)v.len,
                                    (const char *)v.ptr),
                         0);
        if (!v.null && t->types[i] != 'i') {
            v.ptr = (const void *)(uintptr_t)d->arena.len;
            cr_assert_eq(buf_add(&d->arena, row[i].ptr, v.len), 0);
        }
        d->v[d->n][i] = v;
    }
    d->n++;
    return buf_addch(&d->text, '\n');
}

static int dump_next(void *ctx, const struct store_table **ret_t,
                     const struct store_value **ret_row)
{
    struct dump *d = ctx;
    size_t k = d->next++;

    if (k == d->n)
        return 0;
    if (d->fail_at && k == d->fail_at)
        return -EINVAL;
    for (size_t i = 0; i < d->t[k]->n_cols; i++) {
        d->cur[i] = d->v[k][i];
        if (!d->cur[i].null && d->t[k]->types[i] != 'i')
            d->cur[i].ptr = d->arena.ptr + (uintptr_t)d->v[k][i].ptr;
    }
    *ret_t = d->t[k];
    *ret_row = d->cur;
    return 1;
}

static void dump_release(struct dump *d)
{
    buf_release(&d->text);
    buf_release(&d->arena);
}

Test(store, backup_tables_are_the_newest_schema)
{
    cr_assert_eq(store_schema_version(), store_migrations[store_n_migrations - 1].version,
                 "a new migration needs store_tables (store.c) brought up to date");
}

/* Backs up this test's store and restores it into a SQLite store (on the
 * PostgreSQL run: across stores), whose own backup is then the same. */
Test(store, backup_restores_into_an_empty_store_only)
{
    struct dump a = {.text = BUF_INIT, .arena = BUF_INIT}, b = a;
    _cleanup_buf_ struct buf err = BUF_INIT;
    struct store *other = NULL;
    char other_dir[128];

    setup_project();
    cr_assert_eq(put("API_KEY", "one"), 0);
    cr_assert_eq(put("API_KEY", "two"), 0);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_DELETE, "API_KEY", NULL, NULL), 0);
    cr_assert_eq(write1(ENV_PROD, "/a/b", STORE_PUT, "DB", "x", NULL), 0);
    cr_assert_eq(st->ops->backup(st, dump_row, &a), 0);
    cr_assert_gt(a.n, 10);

    cr_assert_eq(st->ops->restore(st, dump_next, &a), -ENOTEMPTY, "this store has rows");
    cr_assert_eq(a.next, 0, "refused before reading a row");

    snprintf(other_dir, sizeof(other_dir), "%s/other", tmp);
    cr_assert_eq(store_sqlite_open(other_dir, &other, &err), 0, "%s", buf_str(&err));
    a.fail_at = a.n - 1;
    cr_assert_eq(other->ops->restore(other, dump_next, &a), -EINVAL);
    a.fail_at = a.next = 0;
    cr_assert_eq(other->ops->restore(other, dump_next, &a), 0, "the failed one wrote nothing: %s",
                 store_error());
    cr_assert_eq(other->ops->backup(other, dump_row, &b), 0);
    cr_assert_str_eq(buf_str(&b.text), buf_str(&a.text));
    store_close(other);
    dump_release(&a);
    dump_release(&b);
}

/* ---- the change counter (caches) ---- */

static uint64_t epoch(void)
{
    struct store_epoch e = {0};

    cr_assert_eq(st->ops->epoch(st, &e), 0);
    cr_assert_leq(e.global, e.all);
    return e.all;
}

static uint64_t global_stamp(void)
{
    struct store_epoch e = {0};

    cr_assert_eq(st->ops->epoch(st, &e), 0);
    return e.global;
}

static uint64_t project_stamp(const char *project_id)
{
    uint64_t v = 0;

    cr_assert_eq(st->ops->project_epoch(st, project_id, &v), 0);
    return v;
}

Test(store, epoch_moves_with_changes_only)
{
    struct store_session s = {.user_id = USER_ID, .created_at = 10, .expires_at = 20};
    struct store_audit rec = make_audit(100, "secret.read", USER_ID, "ada@example.com", PROJ_ID);
    struct chain_log log = {0};
    struct store_secret *v = NULL;
    size_t n = 0;
    uint64_t e;

    setup_project();
    memset(s.token_hash, 0xcd, sizeof(s.token_hash));
    e = epoch();
    cr_assert_eq(put("A", "1"), 0);
    cr_assert_gt(epoch(), e, "a secret write moves the epoch");
    e = epoch();
    cr_assert_eq(st->ops->secrets_list_with(st, ENV_DEV, "/", NULL, &v, &n), 0);
    store_secrets_free(v, n);
    cr_assert_eq(st->ops->session_create(st, &s), 0);
    cr_assert_eq(st->ops->audit_append(st, &rec, 1, test_chain, &log), 0);
    cr_assert_eq(epoch(), e, "reads, a new session and an audit record do not");
    cr_assert_eq(st->ops->session_delete(st, s.token_hash), 0);
    cr_assert_gt(epoch(), e, "ending a session does");
    e = epoch();
    cr_assert_eq(put("A", "1"), 0);
    cr_assert_eq(write1(ENV_DEV, "/", STORE_DELETE, "A", NULL, NULL), 0);
    cr_assert_geq(epoch(), e + 2, "every change moves it");
}

/* A write of one project's secrets stamps that project, not everything: what
 * another project's readers loaded stays current (store.h epoch). */
Test(store, epoch_stamps_the_project_a_secret_write_changed)
{
    static const char other[] = "0c0c0c0c-0000-4000-8000-00000000abcd";
    struct store_session s = {.user_id = USER_ID, .created_at = 10, .expires_at = 20};
    uint64_t e, g;

    setup_project();
    memset(s.token_hash, 0xce, sizeof(s.token_hash));
    e = epoch();
    g = global_stamp();
    cr_assert_leq(project_stamp(PROJ_ID), e);
    cr_assert_eq(put("A", "1"), 0);
    cr_assert_gt(project_stamp(PROJ_ID), e, "the write is stamped on its project");
    cr_assert_leq(project_stamp(PROJ_ID), epoch(), "with the epoch it moved to");
    cr_assert_eq(global_stamp(), g, "not on everything");
    cr_assert_leq(project_stamp(other), e, "nor on another project");
    e = epoch();
    cr_assert_eq(st->ops->session_create(st, &s), 0);
    cr_assert_eq(st->ops->session_delete(st, s.token_hash), 0);
    cr_assert_gt(global_stamp(), e, "a change outside the projects' secrets is stamped global");
    cr_assert_leq(global_stamp(), epoch());
}

/* ---- the root key (migration 0008) ---- */

static struct store_root_key root_key_row(int64_t generation, uint8_t fill)
{
    static uint8_t sealed[48];
    struct store_root_key k = {.generation = generation, .created_at = 1700000200000};

    memset(k.check, fill, sizeof(k.check));
    memset(sealed, fill, sizeof(sealed));
    k.audit_key = (struct store_blob){sealed, sizeof(sealed)};
    k.first_seq = 1;
    return k;
}

/* A rewrap that prefixes what it re-seals with "new:", and fails on "fail". */
struct rewrap_log {
    int audit, project;
    const char *fail_on; /* what: fail when asked for it */
};

static int test_rewrap(void *ctx, const char *what, const char *id, const struct store_blob *old,
                       struct buf *out)
{
    struct rewrap_log *log = ctx;

    if (log->fail_on && streq(log->fail_on, what))
        return -EBADMSG;
    *(streq(what, "audit") ? &log->audit : &log->project) += 1;
    cr_assert(streq(what, "audit") || streq(id, PROJ_ID), "only projects with a key: %s", id);
    return buf_adds(out, "new:") < 0 ? -ENOMEM : buf_add(out, old->ptr, old->len);
}

Test(store, root_key_first_generation_once)
{
    struct store_root_key a = root_key_row(1, 0xa1), b = root_key_row(1, 0xb2);
    struct store_root_key *v = NULL;
    size_t n = 7;

    cr_assert_eq(st->ops->root_keys(st, &v, &n), 0);
    cr_assert_eq(n, 0, "a new store has no root key check");
    store_root_keys_free(v, n);
    a.generation = 2;
    cr_assert_eq(st->ops->root_key_init(st, &a), -EINVAL, "only generation 1 starts");
    a.generation = 1;
    cr_assert_eq(st->ops->root_key_init(st, &a), 0);
    cr_assert_eq(st->ops->root_key_init(st, &b), -EEXIST, "the first server's key stays");
    reopen_store();
    cr_assert_eq(st->ops->root_keys(st, &v, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(v[0].generation, 1);
    cr_assert_eq(v[0].check[0], 0xa1);
    cr_assert_eq(v[0].audit_key.len, 48);
    cr_assert_eq(v[0].first_seq, 1);
    store_root_keys_free(v, n);
}

Test(store, root_key_rotation_rewraps_and_links)
{
    struct store_root_key g1 = root_key_row(1, 0x11), g2 = root_key_row(2, 0x22);
    struct store_audit before = make_audit(100, "secret.read", USER_ID, NULL, PROJ_ID);
    struct store_audit link = make_audit(101, "server.root_key.rotate", USER_ID, NULL, NULL);
    struct rewrap_log log = {0};
    struct store_root_key *v = NULL;
    struct store_project p = {0};
    uint8_t sk[8] = "oldkey!";
    size_t n = 0;

    setup_project();
    cr_assert_eq(
        create_project(PROJ2_ID, "e2e-only",
                       (const char *const[]){ENV2_DEV, "77777777-7777-4777-8777-777777777702",
                                             "77777777-7777-4777-8777-777777777703"},
                       USER_ID),
        0);
    cr_assert_eq(st->ops->project_set_server_key(st, PROJ_ID, sk, sizeof(sk)), 0);
    cr_assert_eq(st->ops->root_key_rotate(st, &g2, &link, test_chain, NULL, test_rewrap, &log),
                 -ESTALE, "a store without generation 1 is not rotated");
    cr_assert_eq(st->ops->root_key_init(st, &g1), 0);
    cr_assert_eq(st->ops->audit_append(st, &before, 1, test_chain, NULL), 0);

    /* a failing rewrap changes nothing: no link record, same keys */
    log.fail_on = "project";
    cr_assert_lt(st->ops->root_key_rotate(st, &g2, &link, test_chain, NULL, test_rewrap, &log), 0);
    cr_assert_eq(link.seq, 0);
    assert_chain_intact(1);
    cr_assert_eq(st->ops->root_keys(st, &v, &n), 0);
    cr_assert_eq(n, 1);
    store_root_keys_free(v, n);
    cr_assert_eq(st->ops->project_get(st, PROJ_ID, &p), 0);
    cr_assert_arr_eq(p.server_key.ptr, sk, sizeof(sk));
    store_project_release(&p);

    g2.generation = 3;
    log = (struct rewrap_log){0};
    cr_assert_eq(st->ops->root_key_rotate(st, &g2, &link, test_chain, NULL, test_rewrap, &log),
                 -ESTALE, "generations follow each other");
    g2.generation = 2;
    st->root_generation = 1; /* a server checked generation 1 */
    cr_assert_eq(st->ops->root_key_rotate(st, &g2, &link, test_chain, NULL, test_rewrap, &log), 0);
    {
        struct store_audit late = make_audit(102, "secret.read", USER_ID, NULL, PROJ_ID);
        cr_assert_eq(st->ops->audit_append(st, &late, 1, test_chain, NULL), -EKEYREJECTED,
                     "a server with the old key cannot extend the chain");
        cr_assert_eq(late.seq, 0);
        st->root_generation = 0;
    }
    cr_assert_eq(log.audit, 1, "generation 1's audit key is re-sealed");
    cr_assert_eq(log.project, 1, "only the project with server access");
    cr_assert_eq(link.seq, before.seq + 1, "the link record follows the chain");
    cr_assert_eq(g2.first_seq, link.seq + 1);
    assert_chain_intact(2);

    reopen_store();
    cr_assert_eq(st->ops->root_keys(st, &v, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(v[1].generation, 2);
    cr_assert_eq(v[1].check[0], 0x22);
    cr_assert_eq(v[1].first_seq, link.seq + 1);
    cr_assert_eq(v[0].audit_key.len, 4 + 48);
    cr_assert(memcmp(v[0].audit_key.ptr, "new:", 4) == 0);
    cr_assert_eq(v[1].audit_key.len, 48, "the new generation is stored as given");
    store_root_keys_free(v, n);
    cr_assert_eq(st->ops->project_get(st, PROJ_ID, &p), 0);
    cr_assert_eq(p.server_key.len, 4 + sizeof(sk));
    cr_assert(memcmp(p.server_key.ptr, "new:oldkey!", 4 + sizeof(sk) - 1) == 0);
    store_project_release(&p);
}

/* ---- share links ---- */

static uint8_t share_ct[64] = "share-ciphertext-share-ciphertext-share-ciphertext-share-ciphe";

static struct store_share make_share(const char *id, int64_t max_views, int64_t expires_at)
{
    struct store_share sh = {.ciphertext = {share_ct, sizeof(share_ct)},
                             .max_views = max_views,
                             .created_at = 1700000000000,
                             .expires_at = expires_at};
    snprintf(sh.id, sizeof(sh.id), "%s", id);
    strcpy(sh.org_id, ORG_ID);
    strcpy(sh.created_by, USER_ID);
    memset(sh.access_hash, 0xac, sizeof(sh.access_hash));
    return sh;
}

Test(store, shares_count_views_and_expire)
{
    struct store_share a = make_share("AAAAAAAAAAAAAAAAAAAAAA", 2, 2000),
                       b = make_share("BBBBBBBBBBBBBBBBBBBBBB", 0, 3000), got = {0}, *v = NULL;
    size_t n = 0;

    bootstrap();
    b.has_password = true;
    memset(b.auth_hash, 0x5a, sizeof(b.auth_hash));
    b.kdf_salt = (struct store_blob){salt, sizeof(salt)};
    b.kdf_opslimit = 3;
    b.kdf_memlimit = 64u << 20;
    b.org_only = true;
    cr_assert_eq(st->ops->share_create(st, &a), 0);
    cr_assert_eq(st->ops->share_create(st, &a), -EEXIST);
    cr_assert_eq(st->ops->share_create(st, &b), 0);

    cr_assert_eq(st->ops->share_get(st, a.id, 1000, &got), 0);
    cr_assert_arr_eq(got.ciphertext.ptr, share_ct, sizeof(share_ct));
    cr_assert_eq(got.access_hash[31], 0xac);
    cr_assert_not(got.has_password);
    cr_assert_eq(got.views, 0, "a get counts no view");
    store_share_release(&got);
    cr_assert_eq(st->ops->share_get(st, b.id, 1000, &got), 0);
    cr_assert(got.has_password);
    cr_assert(got.org_only);
    cr_assert_eq(got.auth_hash[0], 0x5a);
    cr_assert_arr_eq(got.kdf_salt.ptr, salt, sizeof(salt));
    cr_assert_eq(got.kdf_memlimit, 64u << 20);
    store_share_release(&got);

    /* two views of a two-view share, then it is deleted */
    cr_assert_eq(st->ops->share_open(st, a.id, 1000, &got), 0);
    cr_assert_eq(got.views, 1);
    cr_assert_arr_eq(got.ciphertext.ptr, share_ct, sizeof(share_ct));
    store_share_release(&got);
    cr_assert_eq(st->ops->share_open(st, a.id, 1000, &got), 0);
    cr_assert_eq(got.views, 2);
    store_share_release(&got);
    cr_assert_eq(st->ops->share_open(st, a.id, 1000, &got), -ENOENT);
    cr_assert_eq(st->ops->share_get(st, a.id, 1000, &got), -ENOENT, "used up: deleted");
    cr_assert_eq(st->ops->share_create(st, &a), 0, "its row is gone: the id is free");

    /* unlimited views until it expires; expired is gone for get and open */
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(st->ops->share_open(st, b.id, 2999, &got), 0);
        store_share_release(&got);
    }
    cr_assert_eq(st->ops->share_open(st, b.id, 3000, &got), -ENOENT, "expired at expires_at");
    cr_assert_eq(st->ops->share_get(st, b.id, 3000, &got), -ENOENT);

    /* list: the creator's live shares, without ciphertext */
    cr_assert_eq(st->ops->share_list(st, USER_ID, 1000, &v, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(v[0].ciphertext.len, 0, "lists hold no ciphertext");
    store_shares_free(v, n);
    cr_assert_eq(st->ops->share_list(st, USER_ID, 2500, &v, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0].id, b.id);
    cr_assert_eq(v[0].views, 5);
    store_shares_free(v, n);

    /* purge deletes what expired, and says which */
    cr_assert_eq(st->ops->share_purge(st, 2500, 100, &v, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0].id, a.id);
    store_shares_free(v, n);
    cr_assert_eq(st->ops->share_purge(st, 2500, 100, &v, &n), 0);
    cr_assert_eq(n, 0);
    store_shares_free(v, n);
    cr_assert_eq(st->ops->share_delete(st, b.id), 0);
    cr_assert_eq(st->ops->share_delete(st, b.id), -ENOENT);
}

Test(store, share_policy_per_organization)
{
    struct store_share_policy p = {0};

    bootstrap();
    cr_assert_eq(st->ops->share_policy_get(st, ORG_ID, &p), -ENOENT, "defaults: no row");
    cr_assert_eq(
        st->ops->share_policy_set(st, ORG_ID, &(struct store_share_policy){.max_ttl = 7200000}), 0);
    cr_assert_eq(st->ops->share_policy_get(st, ORG_ID, &p), 0);
    cr_assert_eq(p.max_ttl, 7200000);
    cr_assert_not(p.allow_anonymous);
    cr_assert_eq(
        st->ops->share_policy_set(
            st, ORG_ID, &(struct store_share_policy){.max_ttl = 3600000, .allow_anonymous = true}),
        0);
    cr_assert_eq(st->ops->share_policy_get(st, ORG_ID, &p), 0);
    cr_assert_eq(p.max_ttl, 3600000);
    cr_assert(p.allow_anonymous);
}

/* Concurrent opens of a one-view share: exactly one gets it. */
struct share_opener {
    pthread_t thread;
    int r;
};

static void *share_opener_main(void *arg)
{
    struct share_opener *o = arg;
    struct store_share got = {0};

    o->r = st->ops->share_open(st, "CCCCCCCCCCCCCCCCCCCCCC", 1000, &got);
    store_share_release(&got);
    return NULL;
}

Test(store, share_open_once_among_concurrent_openers)
{
    struct store_share s = make_share("CCCCCCCCCCCCCCCCCCCCCC", 1, 5000);
    struct share_opener o[8];
    int ok = 0;

    bootstrap();
    cr_assert_eq(st->ops->share_create(st, &s), 0);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(pthread_create(&o[i].thread, NULL, share_opener_main, &o[i]), 0);
    for (int i = 0; i < 8; i++) {
        pthread_join(o[i].thread, NULL);
        cr_assert(o[i].r == 0 || o[i].r == -ENOENT, "open: %d", o[i].r);
        ok += o[i].r == 0;
    }
    cr_assert_eq(ok, 1);
}

/* ---- arguments, checked once for both stores (issue 13: the two backends
 * had drifted apart in these checks) ---- */

/* Fixed-size text fields must be NUL-terminated and not empty (*_fits). */
Test(store, fixed_size_fields_must_fit)
{
    struct store_audit a = make_audit(1, "secret.read", USER_ID, "ada", NULL);
    struct store_member m = {.wrapped_key = {wrapped, sizeof(wrapped)}, .created_at = 9};
    struct store_audit *v = NULL;
    size_t n = 0;

    setup_project();
    memset(a.actor_type, 'u', sizeof(a.actor_type)); /* no NUL */
    cr_assert_eq(st->ops->audit_append(st, &a, 1, test_chain, NULL), -EINVAL);
    a.actor_type[0] = 0;
    cr_assert_eq(st->ops->audit_append(st, &a, 1, test_chain, NULL), -EINVAL, "empty actor type");
    cr_assert_eq(a.seq, 0);
    cr_assert_eq(st->ops->audit_query(st, &(struct store_audit_query){0}, &v, &n), 0);
    cr_assert_eq(n, 0, "nothing appended");
    store_audits_free(v, n);

    strcpy(m.project_id, PROJ_ID);
    strcpy(m.principal_id, USER2_ID);
    strcpy(m.principal_type, "user");
    memset(m.role, 'r', sizeof(m.role)); /* no NUL */
    cr_assert_eq(st->ops->member_add(st, &m), -EINVAL);
    cr_assert_eq(st->ops->member_set_role(st, PROJ_ID, USER_ID, ""), -EINVAL);
}

/* principal_type: "" means "user"; "user" and "identity" only, terminated. */
Test(store, principal_type_user_identity_or_empty)
{
    struct store_member m = {0};

    setup_project();
    add_user(USER2_ID, "abcdabcd-abcd-4bcd-8bcd-abcdabcdabcd", "bob@example.com", 0x51);
    cr_assert_eq(add_member("identity ", USER2_ID, "member"), -EINVAL, "not exactly identity");
    cr_assert_eq(add_member("User", USER2_ID, "member"), -EINVAL, "case matters");
    cr_assert_eq(add_member("", USER2_ID, "member"), 0, "empty: a user");
    cr_assert_eq(st->ops->member_get(st, PROJ_ID, USER2_ID, &m), 0);
    cr_assert_str_eq(m.principal_type, "user");
    store_member_release(&m);

    struct store_member full = {.wrapped_key = {wrapped, sizeof(wrapped)}, .created_at = 9};
    strcpy(full.project_id, PROJ_ID);
    strcpy(full.principal_id, USER2_ID);
    strcpy(full.role, "member");
    memset(full.principal_type, 'x', sizeof(full.principal_type)); /* no NUL */
    cr_assert_eq(st->ops->member_add(st, &full), -EINVAL);
}

/* A client secret needs its sealed key, a terminated prefix and counts >= 0. */
Test(store, client_secret_valid_or_refused)
{
    struct store_client_secret cs = make_client_secret(CS_ID, IDENT_ID, 0, 0), *v = NULL;
    size_t n = 0;

    bootstrap();
    cr_assert_eq(create_identity(IDENT_ID, CLIENT_ID, "deploy-bot", NULL), 0);
    cs.encrypted_private_key = (struct store_blob){0};
    cr_assert_eq(st->ops->client_secret_create(st, &cs), -EINVAL, "no sealed key");
    cs = make_client_secret(CS_ID, IDENT_ID, 0, 0);
    memset(cs.prefix, 'p', sizeof(cs.prefix)); /* no NUL */
    cr_assert_eq(st->ops->client_secret_create(st, &cs), -EINVAL, "prefix too long");
    cs = make_client_secret(CS_ID, IDENT_ID, 0, -1);
    cr_assert_eq(st->ops->client_secret_create(st, &cs), -EINVAL, "negative limit");
    cs = make_client_secret(CS_ID, IDENT_ID, 0, 0);
    cs.num_uses = -1;
    cr_assert_eq(st->ops->client_secret_create(st, &cs), -EINVAL, "negative uses");
    cr_assert_eq(
        create_identity("cdcdcdcd-cdcd-4dcd-8dcd-cdcdcdcdcdcd", "client-two", "other", &cs),
        -EINVAL, "nor with a new identity");
    cr_assert_eq(st->ops->client_secret_list(st, IDENT_ID, &v, &n), 0);
    cr_assert_eq(n, 0, "nothing written");
    store_client_secrets_free(v, n);
}

/* A rotation's members and versions: no NULL where data must be. */
Test(store, rekey_refuses_missing_pieces)
{
    struct rekey_fixture f = {0};
    struct store_rekey_member m[2];
    struct store_rekey_version *vv;

    setup_project();
    add_user(USER2_ID, INVITE_ID, "bob@example.com", 0x51);
    cr_assert_eq(add_member("user", USER2_ID, "member"), 0);
    cr_assert_eq(put("A", "a1"), 0);
    cr_assert_eq(put("A", "a2"), 0);
    rekey_prepare(&f);
    vv = calloc(f.n_refs, sizeof(*vv));

    memcpy(m, f.m, sizeof(m));
    m[1].principal_id = NULL;
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, m, 2, f.v, f.n_refs), -EINVAL);
    memcpy(m, f.m, sizeof(m));
    m[1].wrapped_key_len = 0;
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, m, 2, f.v, f.n_refs), -EINVAL, "empty key");
    memcpy(vv, f.v, f.n_refs * sizeof(*vv));
    vv[0].value = NULL; /* with a length */
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, vv, f.n_refs), -EINVAL);
    memcpy(vv, f.v, f.n_refs * sizeof(*vv));
    vv[0].secret_id = NULL;
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, vv, f.n_refs), -EINVAL);
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, NULL, 2, f.v, f.n_refs), -EINVAL);
    cr_assert_eq(st->ops->project_rekey(st, NULL, f.m, 2, f.v, f.n_refs), -EINVAL);

    struct store_secret s = {0};
    cr_assert_eq(st->ops->secret_get(st, ENV_DEV, "/", "A", &s), 0);
    cr_assert(blob_is(&s.value, "a2"), "nothing rotated");
    store_secret_release(&s);
    cr_assert_eq(st->ops->project_rekey(st, PROJ_ID, f.m, 2, f.v, f.n_refs), 0, "the whole one");
    free(vv);
    rekey_release(&f);
}

/* A rotation's link record needs its event, as every audit record does. */
Test(store, root_key_rotation_needs_a_link_event)
{
    struct store_root_key k1 = root_key_row(1, 0x11), k2 = root_key_row(2, 0x22), *keys = NULL;
    struct store_audit link = make_audit(5, NULL, USER_ID, "ada", NULL);
    struct rewrap_log log = {0};
    size_t n = 0;

    cr_assert_eq(st->ops->root_key_init(st, &k1), 0);
    cr_assert_eq(st->ops->root_key_rotate(st, &k2, &link, test_chain, NULL, test_rewrap, &log),
                 -EINVAL);
    link.event = "";
    cr_assert_eq(st->ops->root_key_rotate(st, &k2, &link, test_chain, NULL, test_rewrap, &log),
                 -EINVAL);
    cr_assert_eq(log.audit + log.project, 0, "nothing rewrapped");
    cr_assert_eq(st->ops->root_keys(st, &keys, &n), 0);
    cr_assert_eq(n, 1);
    store_root_keys_free(keys, n);
}

/* Every list call refuses a NULL result or key, before the database. */
Test(store, lists_refuse_null_arguments)
{
    void *v = NULL;
    size_t n = 0;

    cr_assert_eq(st->ops->user_orgs(st, USER_ID, NULL, &n), -EINVAL);
    cr_assert_eq(st->ops->user_orgs(st, NULL, (struct store_org_membership **)&v, &n), -EINVAL);
    cr_assert_eq(st->ops->project_list(st, USER_ID, (struct store_project **)&v, NULL), -EINVAL);
    cr_assert_eq(st->ops->member_list(st, NULL, (struct store_member **)&v, &n), -EINVAL);
    cr_assert_eq(st->ops->member_list(st, PROJ_ID, NULL, &n), -EINVAL);
    cr_assert_eq(st->ops->role_list(st, NULL, (struct store_role **)&v, &n), -EINVAL);
    cr_assert_eq(st->ops->identity_list(st, NULL, (struct store_identity **)&v, &n), -EINVAL);
    cr_assert_eq(st->ops->identity_list(st, ORG_ID, NULL, &n), -EINVAL);
    cr_assert_eq(st->ops->client_secret_list(st, NULL, (struct store_client_secret **)&v, &n),
                 -EINVAL);
    cr_assert_eq(st->ops->client_secret_list(st, IDENT_ID, NULL, &n), -EINVAL);
    cr_assert_eq(st->ops->service_token_list(st, NULL, (struct store_service_token **)&v, &n),
                 -EINVAL);
    cr_assert_eq(st->ops->secrets_list(st, ENV_DEV, "/", NULL, &n), -EINVAL);
    cr_assert_eq(st->ops->secrets_at(st, ENV_DEV, "/", 1, NULL, &n), -EINVAL);
    cr_assert_eq(st->ops->folder_list(st, ENV_DEV, "/", false, NULL, &n), -EINVAL);
    cr_assert_eq(st->ops->import_list(st, ENV_DEV, "/", NULL, &n), -EINVAL);
    cr_assert_eq(st->ops->share_list(st, USER_ID, 1, NULL, &n), -EINVAL);
    cr_assert_eq(st->ops->share_purge(st, 1, 10, NULL, &n), -EINVAL);
    cr_assert_eq(st->ops->user_get_by_email(st, NULL, v), -EINVAL);
    cr_assert_null(v);
}

/* store_tables (store.c), the one column list of every table that both
 * stores back up and restore, names every column of the schema the
 * migrations made, and no other; every table but shares (never backed up)
 * and schema_migrations is in it. */
#ifdef STORE_TEST_PG
#define COLUMNS_OF                                                                                 \
    "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "       \
    "AND table_name = '%s'%s"
#define COLUMN_NAME "column_name"
/* arca_epochs: the epoch's stamps, not data (store_sql.h) */
#define TABLES                                                                                     \
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "        \
    "AND table_type = 'BASE TABLE' AND table_name <> 'arca_epochs'"
#else
#define COLUMNS_OF "SELECT count(*) FROM pragma_table_info('%s') AS c WHERE 1 = 1%s"
#define COLUMN_NAME "c.name"
#define TABLES                                                                                     \
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
#endif

Test(store, store_tables_match_the_migrated_schema)
{
    char sql[2048], named[1536];

    for (size_t i = 0; i < store_n_tables; i++) {
        const struct store_table *t = &store_tables[i];
        size_t len = (size_t)snprintf(named, sizeof(named), " AND " COLUMN_NAME " IN (");

        for (size_t k = 0; k < t->n_cols; k++)
            len += (size_t)snprintf(named + len, sizeof(named) - len, "%s'%s'", k ? ", " : "",
                                    t->cols[k]);
        cr_assert_lt(len, sizeof(named) - 2);
        snprintf(named + len, sizeof(named) - len, ")");
        snprintf(sql, sizeof(sql), COLUMNS_OF, t->name, "");
        cr_assert_eq(sql_int(sql), (int64_t)t->n_cols, "columns of %s", t->name);
        snprintf(sql, sizeof(sql), COLUMNS_OF, t->name, named);
        cr_assert_eq(sql_int(sql), (int64_t)t->n_cols, "store_tables' columns of %s", t->name);
        cr_assert_eq(strlen(t->types), t->n_cols, "one type per column of %s", t->name);
    }
    /* + shares and schema_migrations */
    cr_assert_eq(sql_int(TABLES), (int64_t)store_n_tables + 2);
}

/* ==== migration 0011: archiving the audit log ==== */

static void audit_hash_at(int64_t seq, uint8_t out[STORE_HASH_BYTES])
{
    struct store_audit_query q = {.after_seq = seq - 1, .limit = 1};
    struct store_audit *v = NULL;
    size_t n = 0;

    cr_assert_eq(st->ops->audit_query(st, &q, &v, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(v[0].seq, seq);
    memcpy(out, v[0].hash, STORE_HASH_BYTES);
    store_audits_free(v, n);
}

/* Removes first..seq (records of them), appending an audit.archive record. */
static int archive_cut(int64_t first, int64_t seq, const uint8_t *hash, int64_t records)
{
    struct store_audit_archive a = {.seq = seq,
                                    .first_seq = first,
                                    .records = records,
                                    .archived_by = "test",
                                    .archived_at = 7};
    struct store_audit mark = make_audit(999, "audit.archive", NULL, "test", NULL);

    memcpy(a.hash, hash, STORE_HASH_BYTES);
    return st->ops->audit_archive(st, &a, &mark, test_chain, NULL);
}

Test(store, audit_archive_removes_a_prefix_once)
{
    struct store_audit recs[5] = {
        make_audit(1, "a", USER_ID, NULL, NULL), make_audit(2, "b", USER_ID, NULL, NULL),
        make_audit(3, "c", USER_ID, NULL, NULL), make_audit(4, "d", USER_ID, NULL, NULL),
        make_audit(5, "e", USER_ID, NULL, NULL)};
    uint8_t h3[STORE_HASH_BYTES], h5[STORE_HASH_BYTES], zeros[STORE_HASH_BYTES] = {0};
    struct store_audit_archive anchor = {0};
    struct store_audit_query q = {0};
    struct store_audit *v = NULL;
    size_t n = 0;

    cr_assert_eq(st->ops->audit_anchor(st, &anchor), -ENOENT);
    cr_assert_eq(st->ops->audit_append(st, recs, 5, test_chain, NULL), 0);
    audit_hash_at(3, h3);

    /* refused, nothing removed: another hash, another count, not from the anchor */
    cr_assert_eq(archive_cut(1, 3, zeros, 3), -ESTALE);
    cr_assert_eq(archive_cut(2, 3, h3, 2), -ESTALE);
    cr_assert_eq(archive_cut(1, 3, h3, 4), -EINVAL);
    assert_chain_intact(5);
    cr_assert_neq(sql_exec("DELETE FROM audit_log WHERE seq = 1"), SQLITE_OK);

    cr_assert_eq(archive_cut(1, 3, h3, 3), 0);
    cr_assert_eq(st->ops->audit_anchor(st, &anchor), 0);
    cr_assert_eq(anchor.seq, 3);
    cr_assert_eq(anchor.first_seq, 1);
    cr_assert_eq(anchor.records, 3);
    cr_assert_arr_eq(anchor.hash, h3, STORE_HASH_BYTES);
    cr_assert_str_eq(anchor.archived_by, "test");
    cr_assert_eq(st->ops->audit_query(st, &q, &v, &n), 0);
    cr_assert_eq(n, 3, "4, 5 and the audit.archive record stay");
    cr_assert_eq(v[0].seq, 4);
    cr_assert_arr_eq(v[0].prev_hash, h3, STORE_HASH_BYTES, "the rest links to the anchor");
    cr_assert_eq(v[2].seq, 6);
    cr_assert_str_eq(v[2].event, "audit.archive");
    store_audits_free(v, n);

    /* the same cut again (another server's): stale */
    cr_assert_eq(archive_cut(1, 3, h3, 3), -ESTALE);
    /* nothing past the anchor can be deleted; anchors cannot change */
    cr_assert_neq(sql_exec("DELETE FROM audit_log WHERE seq = 4"), SQLITE_OK);
    cr_assert_neq(sql_exec("DELETE FROM audit_archives"), SQLITE_OK);
    cr_assert_neq(sql_exec("UPDATE audit_archives SET seq = 9"), SQLITE_OK);

    /* the next cut goes on from the anchor */
    audit_hash_at(5, h5);
    cr_assert_eq(archive_cut(4, 5, h5, 2), 0);
    cr_assert_eq(st->ops->audit_anchor(st, &anchor), 0);
    cr_assert_eq(anchor.seq, 5);
    cr_assert_eq(st->ops->audit_query(st, &q, &v, &n), 0);
    cr_assert_eq(n, 2, "the first audit.archive record and the second");
    cr_assert_eq(v[0].seq, 6);
    store_audits_free(v, n);
}
