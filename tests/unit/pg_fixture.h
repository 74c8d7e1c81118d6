/* pg_fixture.h - test_store.c's tests on PostgreSQL: built a second time as
 * test_store_on_pg with -DSTORE_TEST_PG, the same contract tests run against
 * store_pg.c, each in a fresh database of the cluster that ARCA_TEST_PG_URL
 * names (postgres://USER@HOST:PORT, no database; tools/test's pg-unit stage
 * starts a throwaway cluster with tests/e2e/with_postgres.mjs and sets it).
 * Without it every test is skipped.  The few tests that look under the
 * interface run their SQL through libpq; SQLite's x'..' blob literals are
 * rewritten as bytea.  Tests about SQLite's files are disabled (SQLITE_ONLY). */
#pragma once

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char pg_base[256]; /* ARCA_TEST_PG_URL */
static char pg_db[64];    /* this test's database */
static char pg_url[384];  /* pg_base/pg_db: what the store opens */

static PGconn *pg_fixture_connect(const char *db)
{
    char url[384];
    PGconn *c;

    snprintf(url, sizeof(url), "%s/%s", pg_base, db);
    c = PQconnectdb(url);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

/* Runs sql in db; 0 if it succeeded, 1 if not. */
static int pg_fixture_run(const char *db, const char *sql, long long *ret)
{
    PGconn *c = pg_fixture_connect(db);
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    int r = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : 1;

    if (ret)
        *ret = r == 0 && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
                   ? atoll(PQgetvalue(res, 0, 0))
                   : -1;
    PQclear(res);
    PQfinish(c);
    return r;
}

static void pg_fixture_create(void)
{
    const char *base = getenv("ARCA_TEST_PG_URL");
    char sql[128];

    if (!base || !*base)
        cr_skip_test("ARCA_TEST_PG_URL is not set (tools/test's pg-unit stage sets it)");
    snprintf(pg_base, sizeof(pg_base), "%s", base);
    snprintf(pg_db, sizeof(pg_db), "arca_unit_%ld_%ld", (long)getpid(), (long)random());
    snprintf(pg_url, sizeof(pg_url), "%s/%s", pg_base, pg_db);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8'", pg_db);
    cr_assert_eq(pg_fixture_run("postgres", sql, NULL), 0, "%s", sql);
}

static void pg_fixture_drop(void)
{
    char sql[128];

    if (!pg_db[0])
        return;
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_db);
    pg_fixture_run("postgres", sql, NULL);
}

/* The first column of the first row as an integer, -1 without one. */
static int64_t pg_fixture_int(const char *sql)
{
    long long v;

    cr_assert_eq(pg_fixture_run(pg_db, sql, &v), 0, "%s", sql);
    return v;
}

/* 0 (SQLITE_OK) if sql ran; x'0102' literals become '\x0102'::bytea. */
static int pg_fixture_exec(const char *sql)
{
    char out[1024];
    size_t o = 0;

    for (const char *p = sql; *p && o + 16 < sizeof(out); p++) {
        if (p[0] == 'x' && p[1] == '\'' && (p == sql || p[-1] == ' ')) {
            const char *end = strchr(p + 2, '\'');
            cr_assert_not_null(end);
            o += (size_t)snprintf(out + o, sizeof(out) - o, "'\\x%.*s'::bytea", (int)(end - p - 2),
                                  p + 2);
            p = end;
            continue;
        }
        out[o++] = *p;
    }
    out[o] = 0;
    return pg_fixture_run(pg_db, out, NULL);
}
