/* audit_gen.c - synthetic audit records for bench/audit_scale.mjs: appends
 * --records records to the SQLite store in --dir until --seconds have passed.
 * The first --via-store of them go through the store's own audit_append, in
 * batches of --batch (so the table, its indexes and its columns are whatever
 * the migrations made); that is slow at scale (every record goes into each of
 * the audit log's indexes at a page of its own), so the rest are copies of
 * those, made on a connection of this program's own: the table's indexes
 * dropped (their CREATE statements kept from sqlite_master), INSERT ... SELECT
 * of every column the table has but seq, each copy's times shifted past the
 * previous one's, then the indexes created again (sorted: minutes, not
 * hours; not bounded by --seconds).  The hash chain is a dummy one (audit-logs
 * verify fails on such a log); the server must be stopped while this runs.
 *
 *   audit_gen --dir DIR --org ORG_ID --projects ID,ID,... [--records 50000000]
 *             [--seconds 900] [--actors 1000] [--days 365] [--batch 10000]
 *             [--via-store 1000000]
 *
 * The records: times evenly spread over --days days from now on, in order
 * (the store keeps time non-decreasing along seq, and the records already in
 * it are older); actors <h>-0000-4000-8000-<n> (identities "bot-<n>", n <
 * --actors, uniform; h = 8 hex digits of n * 2654435761 mod 2^32, so that ids
 * differ from their first characters on, as random ids do); projects the given ones (uniform);
 * events secret.read (85%), secret.update (8%), secret.create (3%), auth.universal-auth.login (3%),
 * permission.denied (1%).  Progress goes to stderr; the last line on stdout is
 * {"records":N,"viaStore":M,"seconds":S,"indexSeconds":I,"startMs":T,"spanMs":D}
 * (the records' times run from T to T + D; N < --records
 * when the time bound hit first; I of S spent creating the indexes). */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "store/store.h"
#include "store/store_sqlite.h"

#define MAX_PROJECTS 64
#define MAX_BATCH 100000

static void fake_chain(void *ctx, const uint8_t prev[STORE_HASH_BYTES], struct store_audit *rec)
{
    memcpy(rec->hash, prev, STORE_HASH_BYTES);
    memcpy(rec->hash, &rec->seq, sizeof(rec->seq));
}

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* xorshift64*: the same records on every run */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static const char *event_for(unsigned pct)
{
    return pct < 85   ? "secret.read"
           : pct < 93 ? "secret.update"
           : pct < 96 ? "secret.create"
           : pct < 99 ? "auth.universal-auth.login"
                      : "permission.denied";
}

/* One record's strings: they live as long as the batch that points at them. */
struct slot {
    char actor_name[24], key[24], ip[24];
};

static int sql_fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "audit_gen: %s: %s\n", what, sqlite3_errmsg(db));
    sqlite3_close(db);
    return -1;
}

/* The copies: the n records from seq first on, again and again, each time
 * shifted by shift ms more, in transactions of up to CHUNK records, until
 * *done reaches records or the clock end; *index_s: the time the indexes took. */
#define CHUNK 1000000
static int copy(const char *dir, long long first, long long n, long long records, int64_t shift,
                double end, long long *done, double *index_s)
{
    _cleanup_buf_ struct buf cols = BUF_INIT, sel = BUF_INIT, sql = BUF_INIT, idx = BUF_INIT;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    double t0 = now_s(), last = t0;
    long long copies = 0, base = *done;

    buf_printf(&sql, "%s/arca.db", dir);
    if (sqlite3_open_v2(buf_str(&sql), &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return sql_fail(db, "open");
    if (sqlite3_exec(db,
                     "PRAGMA cache_size = -1000000; PRAGMA synchronous = NORMAL; "
                     "PRAGMA threads = 2",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                           "tbl_name = 'audit_log' AND sql IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, "the audit_log indexes");
    /* sql: the CREATE INDEX statements, idx: the DROP INDEX ones */
    buf_clear(&sql);
    while (sqlite3_step(st) == SQLITE_ROW) {
        buf_printf(&sql, "%s;\n", (const char *)sqlite3_column_text(st, 1));
        buf_printf(&idx, "DROP INDEX \"%s\";\n", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, buf_str(&idx), NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(db, "dropping the indexes");
    buf_clear(&idx);
    buf_adds(&idx, buf_str(&sql));
    buf_clear(&sql);
    if (sqlite3_prepare_v2(db,
                           "SELECT name FROM pragma_table_info('audit_log') WHERE name <> 'seq'",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, "the audit_log columns");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        bool time = strcmp(c, "time") == 0;

        buf_printf(&cols, "%s\"%s\"", cols.len ? ", " : "", c);
        buf_printf(&sel, "%s%s\"%s\"%s", sel.len ? ", " : "", time ? "(" : "", c,
                   time ? " + ?1)" : "");
    }
    sqlite3_finalize(st);
    buf_clear(&sql);
    buf_printf(&sql,
               "INSERT INTO audit_log (%s) SELECT %s FROM audit_log WHERE seq >= ?2 AND seq < ?3",
               buf_str(&cols), buf_str(&sel));
    if (sqlite3_prepare_v2(db, buf_str(&sql), -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, "the copy statement");
    while (*done < records && now_s() < end) {
        copies++;
        for (long long off = 0; off < n && *done < records && now_s() < end; off += CHUNK) {
            long long k = n - off < CHUNK ? n - off : CHUNK;

            if (k > records - *done)
                k = records - *done;
            sqlite3_bind_int64(st, 1, (sqlite3_int64)(shift * copies));
            sqlite3_bind_int64(st, 2, first + off);
            sqlite3_bind_int64(st, 3, first + off + k);
            if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
                sqlite3_step(st) != SQLITE_DONE || sqlite3_reset(st) != SQLITE_OK ||
                sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                return sql_fail(db, "a copy");
            *done += k;
            if (now_s() - last >= 10) {
                last = now_s();
                fprintf(stderr, "audit_gen: %lld records (copies: %.0f/s)\n", *done,
                        (double)(*done - base) / (last - t0));
            }
        }
    }
    sqlite3_finalize(st);
    fprintf(stderr, "audit_gen: %lld records; creating the indexes again\n", *done);
    *index_s = now_s();
    if (sqlite3_exec(db, buf_str(&idx), NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(db, "creating the indexes");
    *index_s = now_s() - *index_s;
    if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(db, "the checkpoint");
    sqlite3_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    _cleanup_buf_ struct buf err = BUF_INIT;
    const char *dir = NULL, *org = NULL;
    char *projects_arg = NULL, *projects[MAX_PROJECTS];
    long long records = 50000000, actors = 1000, days = 365, batch = 10000, seconds = 900;
    long long via_store = 1000000, first_seq = 0;
    double index_s = 0;
    size_t n_projects = 0;
    struct store *st = NULL;
    struct store_audit *recs;
    struct slot *slots;
    uint64_t rnd = 0x9e3779b97f4a7c15ULL;
    long long done = 0;
    double t0, last;
    int64_t start_ms, span_ms;

    const struct {
        const char *name;
        long long *v;
    } nums[] = {{"--records", &records}, {"--seconds", &seconds}, {"--actors", &actors},
                {"--days", &days},       {"--batch", &batch},     {"--via-store", &via_store}};
    int argi = 1;

    for (; argi + 1 < argc; argi += 2) {
        const char *k = argv[argi], *v = argv[argi + 1];
        size_t j = 0;

        if (strcmp(k, "--dir") == 0)
            dir = v;
        else if (strcmp(k, "--org") == 0)
            org = v;
        else if (strcmp(k, "--projects") == 0)
            projects_arg = strdup(v);
        else {
            while (j < sizeof(nums) / sizeof(nums[0]) && strcmp(k, nums[j].name) != 0)
                j++;
            if (j == sizeof(nums) / sizeof(nums[0]))
                break;
            *nums[j].v = atoll(v);
        }
    }
    for (char *save = NULL, *p = projects_arg ? strtok_r(projects_arg, ",", &save) : NULL;
         p && n_projects < MAX_PROJECTS; p = strtok_r(NULL, ",", &save))
        if (strlen(p) == STORE_ID_LEN)
            projects[n_projects++] = p;
    if (argi < argc || !dir || !org || strlen(org) != STORE_ID_LEN || !n_projects || records < 1 ||
        seconds < 1 || actors < 1 || days < 1 || batch < 1 || batch > MAX_BATCH || via_store < 1) {
        fprintf(stderr,
                "usage: audit_gen --dir DIR --org ORG_ID --projects ID,ID,... "
                "[--records N] [--seconds N] [--actors N] [--days N] [--batch 1..%d] "
                "[--via-store N]\n",
                MAX_BATCH);
        return 2;
    }
    if (store_sqlite_open(dir, &st, &err) < 0) {
        fprintf(stderr, "audit_gen: cannot open the store in %s: %s\n", dir, buf_str(&err));
        return 1;
    }
    recs = calloc((size_t)batch, sizeof(*recs));
    slots = calloc((size_t)batch, sizeof(*slots));
    if (!recs || !slots)
        return 1;
    span_ms = days * 86400000LL;
    start_ms = ((int64_t)time(NULL) + 1) * 1000;
    t0 = last = now_s();
    if (via_store > records)
        via_store = records;
    while (done < via_store && now_s() - t0 < (double)seconds) {
        size_t n = (size_t)(via_store - done < batch ? via_store - done : batch);

        for (size_t i = 0; i < n; i++) {
            struct store_audit *a = &recs[i];
            struct slot *s = &slots[i];
            uint64_t r = next_rand(&rnd);
            long long actor = (long long)(r % (uint64_t)actors);
            unsigned pct = (unsigned)((r >> 20) % 100);
            long long id = done + (long long)i;

            memset(a, 0, sizeof(*a));
            a->time = start_ms + (int64_t)((double)span_ms * (double)id / (double)records);
            strcpy(a->actor_type, "identity");
            snprintf(a->actor_id, sizeof(a->actor_id), "%08llx-0000-4000-8000-%012llx",
                     ((unsigned long long)actor * 2654435761ULL) & 0xffffffffULL,
                     actor & 0xffffffffffffLL);
            snprintf(s->actor_name, sizeof(s->actor_name), "bot-%lld", actor);
            a->actor_name = s->actor_name;
            a->event = (char *)event_for(pct);
            strcpy(a->org_id, org);
            strcpy(a->project_id, projects[(r >> 40) % n_projects]);
            a->environment = "prod";
            a->path = "/";
            snprintf(s->key, sizeof(s->key), "KEY_%u", (unsigned)((r >> 8) % 50));
            a->key = s->key;
            snprintf(s->ip, sizeof(s->ip), "10.0.%u.%u", (unsigned)(actor >> 8) & 255,
                     (unsigned)actor & 255);
            a->ip = s->ip;
            a->user_agent = "arca-bench";
            a->outcome = strcmp(a->event, "permission.denied") == 0 ? "denied" : "success";
        }
        if (st->ops->audit_append(st, recs, n, fake_chain, NULL) < 0) {
            fprintf(stderr, "audit_gen: audit_append failed after %lld records: %s\n", done,
                    store_error());
            return 1;
        }
        if (!first_seq)
            first_seq = recs[0].seq;
        done += (long long)n;
        if (now_s() - last >= 10) {
            last = now_s();
            fprintf(stderr, "audit_gen: %lld records, %.0f s, %.0f/s\n", done, last - t0,
                    (double)done / (last - t0));
        }
    }
    store_close(st);
    via_store = done;
    if (done < records && now_s() - t0 < (double)seconds &&
        copy(dir, first_seq, done, records,
             (int64_t)((double)span_ms * (double)done / (double)records), t0 + (double)seconds,
             &done, &index_s) < 0)
        return 1;
    printf("{\"records\":%lld,\"viaStore\":%lld,\"seconds\":%.1f,\"indexSeconds\":%.1f,"
           "\"startMs\":%lld,\"spanMs\":%lld}\n",
           done, via_store, now_s() - t0, index_s, (long long)start_ms, (long long)span_ms);
    free(recs);
    free(slots);
    free(projects_arg);
    return 0;
}
