/* store_writes.c - what group commit brings to durable writes on SQLite, below
 * HTTP: N threads each updating a secret (a new version) and appending its
 * audit record, in a loop, on a fresh store, against the same with one
 * transaction per call (store_sqlite_set_batch_max(1), as before group
 * commit), in alternating rounds.  Prints a Markdown table and the ratio of
 * the medians; the figures are noisy on a shared machine.
 *
 *   build/tests/unit/store_writes [--threads 16] [--seconds 3] [--rounds 3] [--dir DIR]
 *
 * DIR (default /var/tmp) must be on the disk being measured: a store is
 * created in a fresh directory under it for each run and removed after. */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "store/store.h"
#include "store/store_sqlite.h"

#define MAX_THREADS 256
#define MAX_ROUNDS 99
#define KEYS 50
#define ORG "0b000000-0000-4000-8000-000000000001"
#define USER "0b000000-0000-4000-8000-000000000002"
#define PROJECT "0b000000-0000-4000-8000-000000000003"
#define ENV "0b000000-0000-4000-8000-000000000004"

static struct store *st;
static int stop;

static void fake_chain(void *ctx, const uint8_t prev[STORE_HASH_BYTES], struct store_audit *rec)
{
    memcpy(rec->hash, prev, STORE_HASH_BYTES);
    rec->hash[0] ^= (uint8_t)rec->seq;
}

static void *writer(void *arg)
{
    long *done = arg, id = *done;
    char key[16], value[48];

    *done = 0;
    for (long i = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++) {
        struct store_write w = {.op = STORE_PUT, .key = key, .value = (const uint8_t *)value};
        struct store_audit a = {.time = i, .actor_type = "user", .event = "secret.update"};

        snprintf(key, sizeof(key), "KEY_%ld", (id * 7 + i) % KEYS);
        w.value_len = (size_t)snprintf(value, sizeof(value), "value-%ld-%ld", id, i);
        strcpy(a.org_id, ORG);
        strcpy(a.project_id, PROJECT);
        if (st->ops->secrets_write(st, PROJECT, ENV, "/", &w, 1, USER, i) < 0 ||
            st->ops->audit_append(st, &a, 1, fake_chain, NULL) < 0) {
            fprintf(stderr, "store_writes: a write failed: %s\n", store_error());
            exit(1);
        }
        (*done)++;
    }
    return NULL;
}

static int setup(void)
{
    static uint8_t zeros[64];
    struct store_user u = {.email = "bench@example.com",
                           .kdf_salt = {zeros, 16},
                           .kdf_opslimit = 1,
                           .kdf_memlimit = 8192,
                           .public_key = {zeros, 32},
                           .encrypted_private_key = {zeros, 48}};
    struct store_org o = {.name = "bench", .slug = "bench"};
    struct store_env e = {.slug = "dev", .name = "Development", .position = 1};
    struct store_project p = {.name = "bench", .slug = "bench", .envs = &e, .n_envs = 1};
    struct store_member m = {.role = "admin", .wrapped_key = {zeros, 40}};

    strcpy(u.id, USER);
    strcpy(o.id, ORG);
    strcpy(e.id, ENV);
    strcpy(p.id, PROJECT);
    strcpy(p.org_id, ORG);
    strcpy(m.project_id, PROJECT);
    strcpy(m.principal_id, USER);
    return st->ops->bootstrap(st, &u, &o) < 0 ? -1 : st->ops->project_create(st, &p, &m);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* One run: updates/s, and the calls each commit made durable. */
static int run(const char *base, size_t batch_max, int threads, int seconds, double *ret_rate,
               double *ret_per_commit)
{
    _cleanup_buf_ struct buf err = BUF_INIT;
    static long done[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    struct store_sqlite_stats a, b;
    struct timespec t0, t1;
    char dir[4096];
    long n = 0;

    snprintf(dir, sizeof(dir), "%s/arca-store-writes-XXXXXX", base);
    if (!mkdtemp(dir) || store_sqlite_open(dir, &st, &err) < 0 || setup() < 0) {
        fprintf(stderr, "store_writes: cannot set up a store in %s: %s %s\n", base, buf_str(&err),
                store_error());
        return -1;
    }
    store_sqlite_set_batch_max(st, batch_max);
    store_sqlite_stats(st, &a);
    __atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < threads; i++) {
        done[i] = i;
        if (pthread_create(&th[i], NULL, writer, &done[i]) != 0)
            return -1;
    }
    sleep((unsigned)seconds);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        n += done[i];
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    store_sqlite_stats(st, &b);
    store_close(st);
    st = NULL;
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    *ret_rate = (double)n / ((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    *ret_per_commit =
        b.commits > a.commits ? (double)(b.calls - a.calls) / (double)(b.commits - a.commits) : 0;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    const char *dir = "/var/tmp";
    int threads = 16, seconds = 3, rounds = 3;
    double rate[2][MAX_ROUNDS], per[2][MAX_ROUNDS];
    const size_t modes[2] = {1, 64};

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else
            break;
    }
    if (argc % 2 == 0 || threads < 1 || threads > MAX_THREADS || seconds < 1 || rounds < 1 ||
        rounds > MAX_ROUNDS) {
        fprintf(stderr,
                "usage: store_writes [--threads 1..%d] [--seconds N] [--rounds 1..%d] "
                "[--dir DIR]\n",
                MAX_THREADS, MAX_ROUNDS);
        return 2;
    }
    for (int r = 0; r < rounds; r++)
        for (int m = 0; m < 2; m++)
            if (run(dir, modes[m], threads, seconds, &rate[m][r], &per[m][r]) < 0)
                return 1;

    printf("| %d writers, update + audit record each | updates/s | calls per commit |\n"
           "|---|---|---|\n",
           threads);
    for (int m = 0; m < 2; m++)
        printf("| %s | %.0f | %.1f |\n", m ? "group commit (64)" : "one commit per call",
               median(rate[m], rounds), median(per[m], rounds));
    printf("\nratio group/one (medians of %d rounds): %.2f\n", rounds,
           median(rate[1], rounds) / median(rate[0], rounds));
    return 0;
}
