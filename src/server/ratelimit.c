/* ratelimit.c - token buckets per key, in a bounded hash table.
 *
 * Tokens are counted in units of 1/60000 token, so refilling per_minute tokens
 * a minute adds exactly per_minute units a millisecond: no floating point.  A
 * bucket is only refilled when its key is seen again, from the time stamp it
 * carries.
 *
 * Buckets live in an array that grows by doubling up to max_keys and are found
 * through chained hash slots (indices, not pointers, so the array can move).
 * A slot holds the complement of its first index, so that the zeroed memory
 * of calloc reads as "none": the slot array (256 KiB for 65536 keys) costs no
 * start-up time and no resident memory until keys arrive.
 * Keys are hashed with keyed BLAKE2b under a random per-table key, so clients
 * that choose their keys (account names) cannot pile them into one chain.  A
 * list in order of last use gives the oldest bucket in O(1).
 *
 * When the table is full, one sweep drops every bucket that is full again (it
 * holds nothing a fresh bucket would not); if that frees fewer than a
 * sixteenth of the table, the oldest buckets go too.  Each sweep thus makes
 * room for many insertions, so a flood of new keys costs O(1) amortised per
 * request, not a scan of the table each time. */
#include "ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "base/util.h"
#include "crypto/seal.h"

#define KEY_MAX 256               /* bytes of a key kept; longer keys also keep their length */
#define UNITS_PER_TOKEN 60000u    /* milliseconds in a minute */
#define MAX_KEYS_LIMIT (1u << 22) /* 4 Mi buckets, about 1.3 GiB: more is a configuration error */
#define NONE UINT32_MAX

struct bucket {
    char key[KEY_MAX]; /* the first min(key_len, KEY_MAX) bytes of the key */
    size_t key_len;    /* length of the whole key */
    uint64_t hash;     /* key_hash of the key */
    uint64_t units;    /* tokens held, in 1/UNITS_PER_TOKEN */
    int64_t stamp_ms;  /* when units was last brought up to date */
    uint32_t chain;    /* next bucket in the same slot, or NONE */
    uint32_t newer;    /* next bucket towards the newest in the use list, or NONE */
    uint32_t older;    /* next bucket towards the oldest, or NONE */
};

struct ratelimit {
    pthread_mutex_t lock;
    uint64_t full_units;              /* burst * UNITS_PER_TOKEN */
    unsigned per_minute;              /* units added per millisecond */
    size_t max_keys;                  /* buckets held at most */
    uint8_t hash_key[SEAL_KEY_BYTES]; /* random, keys the bucket hash */
    uint32_t *slots;                  /* OWNED; n_slots chain heads, complemented */
    size_t n_slots;                   /* a power of two */
    struct bucket *buckets;           /* OWNED; n_alloc of them, n_used ever handed out */
    size_t n_alloc;                   /* buckets allocated (doubling up to max_keys) */
    size_t n_used;                    /* buckets[0..n_used) have been handed out */
    size_t count;                     /* buckets in the table */
    uint32_t free_list;               /* released buckets, linked through chain */
    uint32_t newest, oldest;          /* ends of the use list */
};

int ratelimit_new(unsigned burst, unsigned per_minute, size_t max_keys, struct ratelimit **ret)
{
    struct ratelimit *rl;
    size_t n_slots = 16;
    int r;

    if (burst == 0 || per_minute == 0 || max_keys == 0)
        return -EINVAL;
    if (max_keys > MAX_KEYS_LIMIT)
        return -E2BIG;
    r = seal_init();
    if (r < 0)
        return r;
    while (n_slots < max_keys)
        n_slots *= 2;

    rl = calloc(1, sizeof(*rl));
    if (!rl)
        return -ENOMEM;
    rl->slots = calloc(n_slots, sizeof(*rl->slots)); /* all NONE */
    if (!rl->slots) {
        free(rl);
        return -ENOMEM;
    }
    pthread_mutex_init(&rl->lock, NULL);
    rl->full_units = (uint64_t)burst * UNITS_PER_TOKEN;
    rl->per_minute = per_minute;
    rl->max_keys = max_keys;
    rl->n_slots = n_slots;
    rl->free_list = rl->newest = rl->oldest = NONE;
    seal_random(rl->hash_key, sizeof(rl->hash_key));
    *ret = rl;
    return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->buckets);
    free(rl->slots);
    free(rl);
}

static uint64_t key_hash(const struct ratelimit *rl, const char *key, size_t len)
{
    uint8_t data[KEY_MAX + 8], out[SEAL_HASH_BYTES];
    size_t n = len < KEY_MAX ? len : KEY_MAX;
    uint64_t h = 0;

    memcpy(data, key, n);
    for (size_t i = 0; i < 8; i++)
        data[n + i] = (uint8_t)((uint64_t)len >> (8 * i));
    seal_hash_keyed(rl->hash_key, data, n + 8, out);
    for (size_t i = 0; i < 8; i++)
        h = h << 8 | out[i];
    return h;
}

/* Units b holds at now (never moving its clock backwards). */
static uint64_t units_at(const struct ratelimit *rl, const struct bucket *b, int64_t now)
{
    uint64_t missing = rl->full_units - b->units, elapsed;

    if (now <= b->stamp_ms || missing == 0)
        return b->units;
    elapsed = (uint64_t)now - (uint64_t)b->stamp_ms;
    if (elapsed >= (missing + rl->per_minute - 1) / rl->per_minute)
        return rl->full_units;
    return b->units + elapsed * rl->per_minute;
}

static void refill(const struct ratelimit *rl, struct bucket *b, int64_t now)
{
    b->units = units_at(rl, b, now);
    if (now > b->stamp_ms)
        b->stamp_ms = now;
}

static void list_unlink(struct ratelimit *rl, uint32_t i)
{
    struct bucket *b = &rl->buckets[i];

    if (b->newer != NONE)
        rl->buckets[b->newer].older = b->older;
    else
        rl->newest = b->older;
    if (b->older != NONE)
        rl->buckets[b->older].newer = b->newer;
    else
        rl->oldest = b->newer;
    b->newer = b->older = NONE;
}

static void list_push_newest(struct ratelimit *rl, uint32_t i)
{
    struct bucket *b = &rl->buckets[i];

    b->newer = NONE;
    b->older = rl->newest;
    if (rl->newest != NONE)
        rl->buckets[rl->newest].newer = i;
    rl->newest = i;
    if (rl->oldest == NONE)
        rl->oldest = i;
}

static uint32_t *slot_of(struct ratelimit *rl, uint64_t hash)
{
    return &rl->slots[hash & (rl->n_slots - 1)];
}

/* The first bucket of hash's chain, or NONE. */
static uint32_t chain_head(struct ratelimit *rl, uint64_t hash)
{
    return ~*slot_of(rl, hash);
}

static uint32_t find(struct ratelimit *rl, const char *key, size_t len, uint64_t hash)
{
    size_t n = len < KEY_MAX ? len : KEY_MAX;

    for (uint32_t i = chain_head(rl, hash); i != NONE; i = rl->buckets[i].chain) {
        const struct bucket *b = &rl->buckets[i];

        if (b->hash == hash && b->key_len == len && memcmp(b->key, key, n) == 0)
            return i;
    }
    return NONE;
}

static void drop(struct ratelimit *rl, uint32_t i)
{
    uint32_t j = chain_head(rl, rl->buckets[i].hash);

    if (j == i) {
        *slot_of(rl, rl->buckets[i].hash) = ~rl->buckets[i].chain;
    } else {
        while (rl->buckets[j].chain != i)
            j = rl->buckets[j].chain;
        rl->buckets[j].chain = rl->buckets[i].chain;
    }
    list_unlink(rl, i);
    rl->buckets[i].chain = rl->free_list;
    rl->free_list = i;
    rl->count--;
}

/* Makes room when the table is full: see the comment at the top. */
static void evict(struct ratelimit *rl, int64_t now)
{
    size_t want = rl->max_keys / 16 ? rl->max_keys / 16 : 1;
    size_t freed = 0;

    for (uint32_t i = rl->oldest; i != NONE;) {
        uint32_t newer = rl->buckets[i].newer;

        if (units_at(rl, &rl->buckets[i], now) == rl->full_units) {
            drop(rl, i);
            freed++;
        }
        i = newer;
    }
    for (; freed < want && rl->oldest != NONE; freed++)
        drop(rl, rl->oldest);
}

/* A free bucket, or NONE when memory is short and nothing can be freed. */
static uint32_t bucket_alloc(struct ratelimit *rl, int64_t now)
{
    uint32_t i;

    if (rl->count >= rl->max_keys)
        evict(rl, now);
    if (rl->free_list != NONE) {
        i = rl->free_list;
        rl->free_list = rl->buckets[i].chain;
        return i;
    }
    if (rl->n_used == rl->n_alloc) {
        size_t n = rl->n_alloc ? rl->n_alloc * 2 : 64;
        struct bucket *grown;

        if (n > rl->max_keys)
            n = rl->max_keys;
        grown = n > rl->n_alloc ? realloc(rl->buckets, n * sizeof(*grown)) : NULL;
        if (!grown) {
            /* out of memory: make do with the buckets already allocated */
            if (rl->oldest == NONE)
                return NONE;
            drop(rl, rl->oldest);
            i = rl->free_list;
            rl->free_list = rl->buckets[i].chain;
            return i;
        }
        rl->buckets = grown;
        rl->n_alloc = n;
    }
    return (uint32_t)rl->n_used++;
}

/* ratelimit_take, or with !consume ratelimit_wait: a key without a bucket
 * gets none then (it has all its tokens). */
static unsigned bucket_take(struct ratelimit *rl, const char *key, int64_t now_ms, bool consume)
{
    size_t len;
    uint64_t hash, wait_ms;
    struct bucket *b;
    uint32_t i;
    unsigned ret = 0;

    if (!rl)
        return 0;
    if (!key)
        key = "";
    len = strlen(key);
    hash = key_hash(rl, key, len);

    pthread_mutex_lock(&rl->lock);
    i = find(rl, key, len, hash);
    if (i != NONE) {
        list_unlink(rl, i);
        refill(rl, &rl->buckets[i], now_ms);
    } else if (!consume) {
        goto out;
    } else {
        i = bucket_alloc(rl, now_ms);
        if (i == NONE)
            goto out; /* no memory for even one bucket: fail open */
        b = &rl->buckets[i];
        memcpy(b->key, key, len < KEY_MAX ? len : KEY_MAX);
        b->key_len = len;
        b->hash = hash;
        b->units = rl->full_units;
        b->stamp_ms = now_ms;
        b->chain = chain_head(rl, hash);
        *slot_of(rl, hash) = ~i;
        rl->count++;
    }
    list_push_newest(rl, i);

    b = &rl->buckets[i];
    if (b->units >= UNITS_PER_TOKEN) {
        if (consume)
            b->units -= UNITS_PER_TOKEN;
    } else {
        wait_ms = (UNITS_PER_TOKEN - b->units + rl->per_minute - 1) / rl->per_minute;
        ret = (unsigned)((wait_ms + 999) / 1000);
        if (ret < 1)
            ret = 1;
    }
out:
    pthread_mutex_unlock(&rl->lock);
    return ret;
}

unsigned ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    return bucket_take(rl, key, now_ms, true);
}

unsigned ratelimit_wait(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    return bucket_take(rl, key, now_ms, false);
}

void ratelimit_reset(struct ratelimit *rl, const char *key)
{
    size_t len;
    uint64_t hash;
    uint32_t i;

    if (!rl)
        return;
    if (!key)
        key = "";
    len = strlen(key);
    hash = key_hash(rl, key, len);

    pthread_mutex_lock(&rl->lock);
    i = find(rl, key, len, hash);
    if (i != NONE)
        drop(rl, i);
    pthread_mutex_unlock(&rl->lock);
}

size_t ratelimit_size(struct ratelimit *rl)
{
    size_t n;

    pthread_mutex_lock(&rl->lock);
    n = rl->count;
    pthread_mutex_unlock(&rl->lock);
    return n;
}
