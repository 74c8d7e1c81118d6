/* test_ratelimit.c - token buckets: burst then refusal with Retry-After,
 * refill over (explicit) time, reset, independent keys, bounded table,
 * several threads at once. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "server/ratelimit.h"

static struct ratelimit *new_rl(unsigned burst, unsigned per_minute, size_t max_keys)
{
    struct ratelimit *rl = NULL;

    cr_assert_eq(ratelimit_new(burst, per_minute, max_keys, &rl), 0);
    cr_assert_not_null(rl);
    return rl;
}

#define T0 1700000000000LL /* some wall-clock time in ms */

Test(ratelimit, refuses_bad_parameters)
{
    struct ratelimit *rl = NULL;

    cr_assert_eq(ratelimit_new(0, 10, 10, &rl), -EINVAL);
    cr_assert_eq(ratelimit_new(5, 0, 10, &rl), -EINVAL);
    cr_assert_eq(ratelimit_new(5, 10, 0, &rl), -EINVAL);
    cr_assert_eq(ratelimit_new(5, 10, (size_t)1 << 40, &rl), -E2BIG);
    cr_assert_null(rl);
    ratelimit_free(NULL);
}

Test(ratelimit, burst_then_retry_after)
{
    struct ratelimit *rl = new_rl(5, 6, 100); /* one token every 10 s */

    for (int i = 0; i < 5; i++)
        cr_assert_eq(ratelimit_take(rl, "10.0.0.1", T0), 0, "take %d", i);
    cr_assert_eq(ratelimit_take(rl, "10.0.0.1", T0), 10);
    cr_assert_eq(ratelimit_take(rl, "10.0.0.1", T0 + 1), 10); /* 9.999 s rounds up */
    cr_assert_eq(ratelimit_take(rl, "10.0.0.1", T0 + 2500), 8);
    cr_assert_eq(ratelimit_take(rl, "10.0.0.1", T0 + 9000), 1);
    cr_assert_eq(ratelimit_take(rl, "10.0.0.1", T0 + 9999), 1); /* never 0 when refused */
    cr_assert_eq(ratelimit_take(rl, "10.0.0.1", T0 + 10000), 0);
    cr_assert_eq(ratelimit_take(rl, "10.0.0.1", T0 + 10000), 10);
    ratelimit_free(rl);

    /* fast refill: the wait is still at least one second */
    rl = new_rl(1, 6000, 10); /* one token every 10 ms */
    cr_assert_eq(ratelimit_take(rl, "k", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "k", T0), 1);
    cr_assert_eq(ratelimit_take(rl, "k", T0 + 10), 0);
    ratelimit_free(rl);

    /* slow refill: one a minute */
    rl = new_rl(1, 1, 10);
    cr_assert_eq(ratelimit_take(rl, "k", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "k", T0), 60);
    cr_assert_eq(ratelimit_take(rl, "k", T0 + 30000), 30);
    cr_assert_eq(ratelimit_take(rl, "k", T0 + 60000), 0);
    ratelimit_free(rl);
}

Test(ratelimit, refill_is_capped_at_burst)
{
    struct ratelimit *rl = new_rl(3, 60, 100); /* one token a second */
    int allowed = 0;

    for (int i = 0; i < 3; i++)
        cr_assert_eq(ratelimit_take(rl, "k", T0), 0);
    cr_assert_neq(ratelimit_take(rl, "k", T0), 0);
    /* partial refill: two seconds give two tokens */
    cr_assert_eq(ratelimit_take(rl, "k", T0 + 2000), 0);
    cr_assert_eq(ratelimit_take(rl, "k", T0 + 2000), 0);
    cr_assert_eq(ratelimit_take(rl, "k", T0 + 2000), 1);
    /* a day later: full again, but only burst tokens */
    for (int i = 0; i < 10; i++)
        allowed += ratelimit_take(rl, "k", T0 + 86400000LL) == 0;
    cr_assert_eq(allowed, 3);
    /* a clock going backwards neither refills nor breaks the bucket */
    cr_assert_neq(ratelimit_take(rl, "k", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "k", T0 + 86400000LL + 1000), 0);
    /* a huge jump does not overflow */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ratelimit_take(rl, "k", INT64_MAX), 0);
    cr_assert_neq(ratelimit_take(rl, "k", INT64_MAX), 0);
    ratelimit_free(rl);
}

Test(ratelimit, reset_forgets_a_key)
{
    struct ratelimit *rl = new_rl(2, 1, 100);

    cr_assert_eq(ratelimit_take(rl, "alice@example.com", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "alice@example.com", T0), 0);
    cr_assert_neq(ratelimit_take(rl, "alice@example.com", T0), 0);
    cr_assert_eq(ratelimit_size(rl), 1);
    ratelimit_reset(rl, "alice@example.com");
    cr_assert_eq(ratelimit_size(rl), 0);
    cr_assert_eq(ratelimit_take(rl, "alice@example.com", T0), 0);
    ratelimit_reset(rl, "nobody"); /* unknown: nothing happens */
    cr_assert_eq(ratelimit_size(rl), 1);
    ratelimit_free(rl);
}

Test(ratelimit, keys_are_independent)
{
    struct ratelimit *rl = new_rl(1, 1, 100);
    char long_a[600], long_b[600];

    cr_assert_eq(ratelimit_take(rl, "10.0.0.1", T0), 0);
    cr_assert_neq(ratelimit_take(rl, "10.0.0.1", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "10.0.0.2", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "10.0.0.10", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "", T0), 0);
    cr_assert_neq(ratelimit_take(rl, "", T0), 0);
    cr_assert_neq(ratelimit_take(rl, "10.0.0.2", T0), 0);

    /* keys longer than 256 bytes: the first 256 bytes and the length count */
    memset(long_a, 'a', sizeof(long_a));
    long_a[sizeof(long_a) - 1] = 0;
    memcpy(long_b, long_a, sizeof(long_b));
    long_b[500] = 'b'; /* differs after byte 256, same length: same bucket */
    cr_assert_eq(ratelimit_take(rl, long_a, T0), 0);
    cr_assert_neq(ratelimit_take(rl, long_b, T0), 0);
    long_b[500] = 0; /* shorter: another bucket */
    cr_assert_eq(ratelimit_take(rl, long_b, T0), 0);
    long_b[500] = 'a';
    long_b[100] = 'b'; /* differs within the first 256 bytes: another bucket */
    cr_assert_eq(ratelimit_take(rl, long_b, T0), 0);
    ratelimit_free(rl);
}

Test(ratelimit, table_stays_bounded)
{
    struct ratelimit *rl = new_rl(1, 1, 64);
    char key[32];

    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "192.0.2.%d", i);
        cr_assert_eq(ratelimit_take(rl, key, T0 + i), 0);
        cr_assert_leq(ratelimit_size(rl), 64);
    }
    /* the newest keys are still limited */
    cr_assert_neq(ratelimit_take(rl, "192.0.2.9999", T0 + 10000), 0);
    /* an old one was dropped: it starts afresh */
    cr_assert_eq(ratelimit_take(rl, "192.0.2.0", T0 + 10000), 0);
    ratelimit_free(rl);
}

Test(ratelimit, full_buckets_are_dropped_before_the_oldest)
{
    struct ratelimit *rl = new_rl(2, 60, 2); /* one token a second */

    /* "a" is the oldest but still short of tokens; "b" is full again */
    cr_assert_eq(ratelimit_take(rl, "a", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "a", T0), 0);       /* empty, full at T0 + 2000 */
    cr_assert_eq(ratelimit_take(rl, "b", T0 + 100), 0); /* full again at T0 + 1100 */
    cr_assert_eq(ratelimit_take(rl, "c", T0 + 1500), 0);
    cr_assert_eq(ratelimit_size(rl), 2);
    /* "a" was kept: 1.5 tokens, so one more take only */
    cr_assert_eq(ratelimit_take(rl, "a", T0 + 1500), 0);
    cr_assert_neq(ratelimit_take(rl, "a", T0 + 1500), 0);
    ratelimit_free(rl);

    /* nothing full: the least recently used goes */
    rl = new_rl(2, 60, 2);
    cr_assert_eq(ratelimit_take(rl, "a", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "a", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "b", T0 + 100), 0);
    cr_assert_eq(ratelimit_take(rl, "b", T0 + 100), 0);
    cr_assert_eq(ratelimit_take(rl, "c", T0 + 500), 0);  /* drops "a" */
    cr_assert_neq(ratelimit_take(rl, "b", T0 + 500), 0); /* kept, still limited */
    /* "c" is now the least recently used: "a" comes back fresh and "c" goes */
    cr_assert_eq(ratelimit_take(rl, "a", T0 + 500), 0);
    cr_assert_eq(ratelimit_take(rl, "a", T0 + 500), 0);
    cr_assert_neq(ratelimit_take(rl, "b", T0 + 500), 0);
    cr_assert_eq(ratelimit_size(rl), 2);
    ratelimit_free(rl);

    /* every full bucket goes in the same sweep */
    rl = new_rl(1, 60, 2);
    cr_assert_eq(ratelimit_take(rl, "a", T0), 0);
    cr_assert_eq(ratelimit_take(rl, "b", T0 + 5000), 0); /* full again at T0 + 6000 */
    cr_assert_eq(ratelimit_take(rl, "a", T0 + 5500), 0); /* full again at T0 + 6500 */
    cr_assert_eq(ratelimit_take(rl, "c", T0 + 6500), 0);
    cr_assert_eq(ratelimit_size(rl), 1);
    ratelimit_free(rl);
}

struct worker {
    struct ratelimit *rl;
    int id;
    int shared_allowed; /* tokens taken from the shared key */
    int own_allowed;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    char key[32];

    for (int i = 0; i < 2000; i++) {
        w->shared_allowed += ratelimit_take(w->rl, "shared", T0) == 0;
        snprintf(key, sizeof(key), "t%d-%d", w->id, i % 50);
        w->own_allowed += ratelimit_take(w->rl, key, T0) == 0;
        if (i % 100 == 0)
            ratelimit_reset(w->rl, key);
    }
    return NULL;
}

Test(ratelimit, threads)
{
    enum { N = 8 };
    struct ratelimit *rl = new_rl(100, 1, 100000);
    struct worker w[N];
    pthread_t t[N];
    int shared = 0;

    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){.rl = rl, .id = i};
        cr_assert_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        shared += w[i].shared_allowed;
        cr_assert_eq(w[i].own_allowed, 2000); /* 40 uses per key, burst 100 */
    }
    cr_assert_eq(shared, 100); /* exactly the burst, whatever the interleaving */
    cr_assert_eq(ratelimit_size(rl), 1 + N * 50);
    ratelimit_free(rl);

    /* a small table under contention stays bounded and consistent */
    rl = new_rl(100, 1, 16);
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){.rl = rl, .id = i};
        cr_assert_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    cr_assert_leq(ratelimit_size(rl), 16);
    ratelimit_free(rl);
}
