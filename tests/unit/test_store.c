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
#include "store/migrations.h"
#include "store/store.h"

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
    int r = store_sqlite_open(data_dir, &st, &err);
    cr_assert_eq(r, 0, "store_sqlite_open: %d %s", r, buf_str(&err));
    cr_assert_str_eq(st->ops->name, "sqlite");
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
    open_store();
}

static void teardown(void)
{
    store_close(st);
    st = NULL;
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
    return b->len == strlen(s) && memcmp(b->ptr, s, b->len) == 0;
}

/* Runs a query on the database file directly; returns the first column of the
 * first row as an integer. */
static int64_t sql_int(const char *sql)
{
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

Test(store, creates_private_directory_and_file)
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

Test(store, folder_listing_uses_the_index)
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

Test(store, refuses_a_newer_schema)
{
    sqlite3 *db;
    _cleanup_buf_ struct buf err = BUF_INIT;
    struct store *s2 = NULL;
    char sql[128];

    store_close(st);
    st = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations VALUES (%zu, 'from_the_future', 0)",
             store_n_migrations + 1);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    cr_assert_eq(store_sqlite_open(data_dir, &s2, &err), -EIO);
    cr_assert_null(s2);
    cr_assert(strstr(buf_str(&err), "newer"), "message: %s", buf_str(&err));
}

Test(store, refuses_a_file_that_is_not_a_database)
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
