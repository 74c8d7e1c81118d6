/* cache.c - see cache.h.  One mutex over a chained hash table: a get is a
 * lookup under it, and a copy outside it (a reply of megabytes takes a
 * millisecond to copy): the entry counts its readers, and one taken out of
 * the table meanwhile is freed by its last reader. */
#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "crypto/seal.h"
#include "metrics.h"
#include "server.h"

#define CACHE_BUCKETS 4096 /* a power of two */

struct entry {
    struct entry *next;
    uint64_t hash;
    uint64_t epoch; /* loaded at */
    int64_t born_ms;
    size_t len, size; /* value bytes; bytes charged (key and value) */
    char *key;
    uint8_t *value;   /* may be SECRET: wiped when dropped */
    unsigned readers; /* copying the value out */
    bool dropped;     /* out of the table: the last reader frees it */
};

struct cache {
    pthread_mutex_t lock;
    size_t bytes;
    uint8_t hash_key[SEAL_SHORTHASH_KEY_BYTES];
    struct entry *buckets[CACHE_BUCKETS];
};

int cache_new(struct cache **ret)
{
    struct cache *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    seal_random(c->hash_key, sizeof(c->hash_key));
    *ret = c;
    return 0;
}

static void entry_free(struct entry *e)
{
    explicit_bzero(e->value, e->len);
    free(e->value);
    free(e->key);
    free(e);
}

/* Takes e, out of the table, away; under the lock. */
static void drop(struct entry *e)
{
    if (e->readers)
        e->dropped = true;
    else
        entry_free(e);
}

/* Drops every entry; under the lock. */
static void clear(struct cache *c)
{
    for (size_t i = 0; i < CACHE_BUCKETS; i++)
        while (c->buckets[i]) {
            struct entry *e = c->buckets[i];
            c->buckets[i] = e->next;
            drop(e);
        }
    c->bytes = 0;
}

void cache_free(struct cache *c)
{
    if (!c)
        return;
    clear(c);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The link that points at key's entry (or at NULL). */
static struct entry **find(struct cache *c, const char *key, uint64_t hash)
{
    struct entry **p = &c->buckets[hash & (CACHE_BUCKETS - 1)];

    while (*p && ((*p)->hash != hash || !streq((*p)->key, key)))
        p = &(*p)->next;
    return p;
}

bool cache_get(struct cache *c, const char *key, int64_t now_ms, struct buf *out, uint64_t *epoch)
{
    uint64_t hash = seal_shorthash(c->hash_key, key, strlen(key));
    struct entry **p, *e;
    bool hit = false;

    buf_clear(out);
    pthread_mutex_lock(&c->lock);
    p = find(c, key, hash);
    e = *p;
    if (e && now_ms - e->born_ms > CACHE_MAX_AGE_MS) {
        *p = e->next;
        c->bytes -= e->size;
        drop(e);
        e = NULL;
    } else if (e) {
        e->readers++;
        *epoch = e->epoch;
    }
    pthread_mutex_unlock(&c->lock);
    if (!e)
        return false;
    hit = buf_add(out, e->value, e->len) == 0;
    pthread_mutex_lock(&c->lock);
    if (--e->readers == 0 && e->dropped)
        entry_free(e);
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void cache_put(struct cache *c, const char *key, uint64_t epoch, int64_t now_ms, const void *value,
               size_t len)
{
    uint64_t hash = seal_shorthash(c->hash_key, key, strlen(key));
    struct entry *e, **p;

    if (len > CACHE_MAX_ENTRY)
        return;
    e = calloc(1, sizeof(*e));
    if (!e)
        return;
    e->hash = hash;
    e->epoch = epoch;
    e->born_ms = now_ms;
    e->len = len;
    e->key = strdup(key);
    e->value = malloc(len ? len : 1);
    e->size = sizeof(*e) + strlen(key) + 1 + len;
    if (!e->key || !e->value) {
        entry_free(e);
        return;
    }
    memcpy(e->value, value, len);
    pthread_mutex_lock(&c->lock);
    p = find(c, key, hash);
    if (*p && (*p)->epoch > epoch) { /* loaded twice at once: keep the newer copy */
        pthread_mutex_unlock(&c->lock);
        entry_free(e);
        return;
    }
    if (*p) {
        struct entry *old = *p;
        *p = old->next;
        c->bytes -= old->size;
        drop(old);
    }
    if (c->bytes + e->size > CACHE_MAX_BYTES)
        clear(c); /* full: start over rather than track recency */
    e->next = c->buckets[hash & (CACHE_BUCKETS - 1)];
    c->buckets[hash & (CACHE_BUCKETS - 1)] = e;
    c->bytes += e->size;
    pthread_mutex_unlock(&c->lock);
}

bool epoch_current(struct req *r, uint64_t at, const char *project_id)
{
    uint64_t p;

    if (!r->epoch_ok)
        return false;
    if (at >= r->epoch.all)
        return true; /* nothing changed since it was loaded */
    if (r->epoch.global > at)
        return false;
    if (!project_id)
        return true;
    if (!*project_id) /* depends on what it does not say: anything */
        return false;
    if (r->srv->store->ops->project_epoch(r->srv->store, project_id, &p) < 0) {
        metrics_store_error(METRICS_STORE_EPOCH);
        return false;
    }
    return p <= at;
}

/* ---- replies (ROUTE_CACHED) ---- */

/* An entry: the body, then its ETag (35 bytes with the NUL), the audit event's
 * fields (event org project environment path key metadata, each NUL-ended),
 * and the length of all but the body (4 bytes): the body is read in place. */
#define EVENT_FIELDS 7
#define ETAG_BYTES 35

/* "r:<kind><id> <path>?<query>": replies depend on the caller and the URL. */
static int reply_key(struct req *r, struct buf *key)
{
    int ret = buf_printf(key, "r:%d%s %s", (int)r->who.kind, r->who.id, r->path);

    return ret < 0 ? ret : req_query_text(r, key);
}

bool reply_from_cache(struct req *r)
{
    _cleanup_buf_ struct buf key = BUF_INIT, tail = BUF_INIT;
    const char *f[EVENT_FIELDS], *p, *end;
    struct audit_event e;
    uint64_t at = 0;
    uint32_t n;

    if (reply_key(r, &key) < 0 ||
        !cache_get(r->srv->cache, buf_str(&key), now_ms(), &r->reply, &at))
        return false;
    if (r->reply.len < 4)
        goto bad;
    memcpy(&n, r->reply.ptr + r->reply.len - 4, 4);
    if (n < ETAG_BYTES || n > r->reply.len - 4 ||
        buf_add(&tail, r->reply.ptr + r->reply.len - 4 - n, n) < 0)
        goto bad;
    buf_truncate(&r->reply, r->reply.len - 4 - n);
    p = (const char *)tail.ptr + ETAG_BYTES;
    end = (const char *)tail.ptr + tail.len;
    for (size_t i = 0; i < EVENT_FIELDS; i++) {
        const char *nul = memchr(p, 0, (size_t)(end - p));
        if (!nul)
            goto bad;
        f[i] = p;
        p = nul + 1;
    }
    /* the reply of one project's secrets (its audit event names it) */
    if (!epoch_current(r, at, f[2])) {
        buf_clear(&r->reply);
        return false;
    }
    memcpy(r->etag, tail.ptr, ETAG_BYTES);
    r->etag[ETAG_BYTES - 1] = 0;
    e = (struct audit_event){.event = f[0],
                             .org_id = f[1],
                             .project_id = f[2],
                             .environment = f[3],
                             .path = f[4],
                             .key = f[5],
                             .metadata_text = f[6]};
    r->cache_reply = false; /* served, not kept again */
    if (audit_defer(r, &e) == 0)
        r->status = 200;
    return true;
bad: /* not what reply_to_cache wrote: a bug, answer from the store */
    buf_clear(&r->reply);
    r->etag[0] = 0;
    return false;
}

void reply_to_cache(struct req *r)
{
    _cleanup_buf_ struct buf key = BUF_INIT, v = BUF_INIT;
    uint32_t n;

    if (r->status != 200 || r->cache_events != 1)
        return;
    http_etag(r);
    n = (uint32_t)(ETAG_BYTES + r->cache_event.len);
    buf_init_secret(&v, 0);
    if (reply_key(r, &key) < 0 || buf_add(&v, r->reply.ptr, r->reply.len) < 0 ||
        buf_add(&v, r->etag, ETAG_BYTES) < 0 ||
        buf_add(&v, r->cache_event.ptr, r->cache_event.len) < 0 || buf_add(&v, &n, 4) < 0)
        return;
    cache_put(r->srv->cache, buf_str(&key), r->epoch.all, now_ms(), v.ptr, v.len);
}
