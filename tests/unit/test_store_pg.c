/* test_store_pg.c - what is particular to the PostgreSQL store: its
 * migrations mirror SQLite's, URLs are checked and described without their
 * password, a database that cannot be reached is -EIO with a message that
 * names the host, never the password; and, with a cluster (ARCA_TEST_PG_URL,
 * see pg_fixture.h; skipped otherwise), a database migrated by a newer arca
 * is refused; readers of the epoch at once share reads, yet none returns
 * counters read before its call.  The store's contract is test_store.c, run on PostgreSQL as
 * test_store_on_pg; several servers on one database, tests/e2e/postgres.test.mjs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "base/buf.h"
#include "base/names.h"
#include "pg_fixture.h"
#include "store/migrations.h"
#include "store/store.h"

/* Each SQLite migration has its PostgreSQL twin: same version, same name. */
Test(store_pg, migrations_mirror_sqlite)
{
    cr_assert_eq(store_pg_n_migrations, store_n_migrations,
                 "migrations_pg/ must hold one file per migrations/ file");
    for (size_t i = 0; i < store_n_migrations; i++) {
        cr_assert_eq(store_pg_migrations[i].version, store_migrations[i].version);
        cr_assert_str_eq(store_pg_migrations[i].name, store_migrations[i].name);
    }
}

Test(store_pg, describe_hides_user_and_password)
{
    struct buf b = BUF_INIT;

    cr_assert_eq(store_pg_describe("postgres://arca:hunter2@db.example.com:6543/secrets", &b), 0);
    cr_assert_str_eq(buf_str(&b), "db.example.com:6543/secrets");
    buf_clear(&b);
    cr_assert_eq(store_pg_describe("postgresql://db/arca?sslmode=require&password=hunter2", &b), 0);
    cr_assert_str_eq(buf_str(&b), "db/arca");
    buf_release(&b);
}

Test(store_pg, refuses_what_is_not_a_postgres_url)
{
    static const char *const bad[] = {"", "arca.db", "mysql://db/arca", "host=db dbname=arca",
                                      "postgres://[::1/arca"};
    struct buf b = BUF_INIT;
    struct store *s = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(store_pg_describe(bad[i], &b), -EINVAL, "%s", bad[i]);
        cr_assert_eq(store_pg_open(bad[i], &s, &b), -EINVAL, "%s", bad[i]);
        cr_assert_null(s);
    }
    buf_release(&b);
}

Test(store_pg, unreachable_database_is_econnrefused_without_password)
{
    struct buf err = BUF_INIT;
    struct store *s = NULL;

    /* port 1 on loopback: nothing listens there */
    cr_assert_eq(
        store_pg_open("postgres://arca:hunter2@127.0.0.1:1/arca?connect_timeout=2", &s, &err),
        -ECONNREFUSED, "worth trying again (arca server --db-wait)");
    cr_assert_null(s);
    cr_assert(strstr(buf_str(&err), "127.0.0.1:1/arca"), "%s", buf_str(&err));
    cr_assert_null(strstr(buf_str(&err), "hunter2"), "%s", buf_str(&err));
    buf_release(&err);
}

Test(store_pg, refuses_a_newer_schema, .fini = pg_fixture_drop)
{
    struct buf err = BUF_INIT;
    struct store *s = NULL;

    pg_fixture_create();
    cr_assert_eq(store_pg_open(pg_url, &s, &err), 0, "%s", buf_str(&err));
    store_close(s);
    s = NULL;
    cr_assert_eq(pg_fixture_int("SELECT count(*) FROM schema_migrations"),
                 (int64_t)store_pg_n_migrations);
    cr_assert_eq(pg_fixture_exec("INSERT INTO schema_migrations VALUES (999, 'future', 1)"), 0);
    cr_assert_eq(store_pg_open(pg_url, &s, &err), -EIO);
    cr_assert_null(s);
    cr_assert(strstr(buf_str(&err), "does not know"), "%s", buf_str(&err));
    buf_release(&err);
}

/* Migration 0005 on a database that already holds secrets (0001-0004): every
 * folder that holds one gets a row, and so do its ancestors, with an id of
 * name_uuid()'s form. */
Test(store_pg, folders_migration_backfills_stored_secrets, .fini = pg_fixture_drop)
{
    static const char *const setup[] = {
        "DROP TABLE secret_imports",
        "DROP TABLE folders",
        "DELETE FROM schema_migrations WHERE version = 5", /* 8 stays: a gap is filled */
        "INSERT INTO orgs VALUES ('o', 'o', 'o', 1)",
        "INSERT INTO projects (id, org_id, name, slug, created_at) VALUES ('p', 'o', 'p', 'p', 1)",
        "INSERT INTO environments VALUES ('e', 'p', 'dev', 'Dev', 1), ('f', 'p', 'prod', 'P', 2)",
        "INSERT INTO secrets (id, project_id, env_id, path, key, version, value, updated_at, "
        "updated_by) VALUES ('s1', 'p', 'e', '/a/b/c', 'K', 1, x'01', 1, 'u'), "
        "('s2', 'p', 'e', '/a/d', 'K', 1, x'01', 1, 'u'), ('s3', 'p', 'f', '/', 'K', 1, NULL, 1, "
        "'u')",
    };
    static const char *const dev[] = {"/a", "/a/b", "/a/b/c", "/a/d"};
    struct store_folder *f = NULL, root = {0};
    struct buf err = BUF_INIT;
    struct store *s = NULL;
    size_t n = 0;

    pg_fixture_create();
    cr_assert_eq(store_pg_open(pg_url, &s, &err), 0, "%s", buf_str(&err));
    store_close(s);
    for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
        cr_assert_eq(pg_fixture_exec(setup[i]), 0, "%s", setup[i]);

    cr_assert_eq(store_pg_open(pg_url, &s, &err), 0, "%s", buf_str(&err));
    cr_assert_eq(s->ops->folder_list(s, "e", "/", true, &f, &n), 0);
    cr_assert_eq(n, sizeof(dev) / sizeof(dev[0]));
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(f[i].path, dev[i]);
        cr_assert(name_uuid_valid(f[i].id), "%s", f[i].id);
        cr_assert_str_eq(f[i].project_id, "p");
    }
    cr_assert_eq(s->ops->folder_find(s, "e", "/", &root), 0);
    store_folder_release(&root);
    cr_assert_eq(s->ops->folder_find(s, "f", "/", &root), 0, "a deleted secret's folder too");
    store_folder_release(&root);
    cr_assert_eq(pg_fixture_int("SELECT count(*) FROM folders"), 6);
    store_folders_free(f, n);
    store_close(s);
    buf_release(&err);
}

/* Eight threads read the epoch all the time (one read at a time goes out,
 * shared by the callers that arrived before it was sent); the test moves the
 * epoch from another connection, as another server would, and reads it at
 * once: a read already on its way may predate the change, so it must not be
 * handed to this call. */
struct epoch_reader {
    pthread_t thread;
    struct store *s;
    volatile bool *stop;
    int failures;
};

static void *epoch_reader_main(void *arg)
{
    struct epoch_reader *r = arg;
    struct store_epoch e;

    while (!*r->stop)
        r->failures += r->s->ops->epoch(r->s, &e) < 0;
    return NULL;
}

Test(store_pg, an_epoch_read_is_never_older_than_its_call, .fini = pg_fixture_drop)
{
    struct epoch_reader readers[8];
    volatile bool stop = false;
    struct buf err = BUF_INIT;
    struct store *s = NULL;
    PGconn *other;

    pg_fixture_create();
    cr_assert_eq(store_pg_open(pg_url, &s, &err), 0, "%s", buf_str(&err));
    other = pg_fixture_connect(pg_db);
    for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
        readers[i] = (struct epoch_reader){.s = s, .stop = &stop};
        cr_assert_eq(pthread_create(&readers[i].thread, NULL, epoch_reader_main, &readers[i]), 0);
    }
    for (int i = 0; i < 2000; i++) {
        struct store_epoch e = {0};
        PGresult *res = PQexec(other, "SELECT nextval('arca_epoch')");
        long long moved;

        cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(other));
        moved = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
        cr_assert_eq(s->ops->epoch(s, &e), 0);
        cr_assert_gt(e.all, (uint64_t)moved, "change %d, made before the read, is seen", i);
    }
    stop = true;
    for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
        pthread_join(readers[i].thread, NULL);
        cr_assert_eq(readers[i].failures, 0);
    }
    PQfinish(other);
    store_close(s);
    buf_release(&err);
}
