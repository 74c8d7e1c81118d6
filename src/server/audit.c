/* audit.c - the audit log: one record per security-relevant request, chained,
 * durable before the request is answered.
 *
 * Group commit: a request thread appends its record to a queue and waits; one
 * writer thread takes everything queued, appends it in one store transaction
 * (one fsync for many records) and wakes the waiters with the result.  A
 * request whose record could not be made durable fails (fail closed): the
 * handler answers 503 and serves nothing.  With --audit-durable off the
 * request does not wait (measurements of what failing closed costs).
 *
 * Chain: hash = BLAKE2b-256 keyed with a key derived from the root key, over
 * every stored field, each length-prefixed, so that a changed, inserted or
 * removed record breaks the chain and, without the root key, the chain cannot
 * be recomputed.  The same function verifies.
 *
 * Chain formats (the first bytes hashed name the format):
 *   "arca.audit.v1"  prev_hash, time, then the text fields; seq and the NULL /
 *                    empty distinction of optional text are not covered.
 *                    Written by servers before v2; verify still accepts them,
 *                    but only before the first v2 record.
 *   "arca.audit.v2"  prev_hash, seq (8 bytes big-endian), time, then each text
 *                    field as a presence byte (0 NULL, 1 present) followed by
 *                    its length-prefixed bytes: every column of the row.
 * No schema change marks the switch: verify tries v2 first, and from the first
 * record that verifies as v2 on, every record must be v2 (a v2 record cannot
 * be passed off as v1: the two formats hash different bytes).  A new format
 * is a new name and a new case of audit_hash, accepted only after the last
 * one. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "metrics.h"
#include "ratelimit.h"
#include "server.h"

#define AUDIT_BATCH_MAX 1024

struct audit_item {
    struct store_audit rec; /* strings OWNED by the item */
    struct audit_item *next;
    int result;
    bool done;
    bool detached;   /* nobody waits: the writer frees it */
    struct req *req; /* audit_defer: the request whose reply waits for it */
};

struct audit {
    pthread_mutex_t lock;
    pthread_cond_t work;
    pthread_cond_t done;
    struct audit_item *head, *tail;
    bool stopping;
    unsigned held; /* requests suspended until their records are durable */
    bool draining; /* no more suspensions: libmicrohttpd is stopping */
    bool failing;  /* the last batch could not be written */
    pthread_t thread;
    struct server *srv;
};

static int add_field(struct buf *b, const void *p, size_t len)
{
    uint8_t l[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    int ret = buf_add(b, l, 4);

    return ret < 0 ? ret : buf_add(b, p ? p : "", len);
}

static int add_str(struct buf *b, const char *s)
{
    return add_field(b, s, s ? strlen(s) : 0);
}

/* v2's optional text: NULL and "" hash differently. */
static int add_opt(struct buf *b, const char *s)
{
    int ret = buf_addch(b, s ? 1 : 0);

    return ret < 0 || !s ? ret : add_str(b, s);
}

static void add_i64(struct buf *b, int64_t v)
{
    uint8_t t[8];

    for (int i = 0; i < 8; i++)
        t[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    add_field(b, t, sizeof(t));
}

enum audit_format { AUDIT_V1 = 1, AUDIT_V2 = 2 };
#define AUDIT_FORMAT_CURRENT AUDIT_V2

/* a's hash in format fmt, chained to prev, into out. */
static void audit_hash(const struct server *srv, enum audit_format fmt,
                       const uint8_t prev[STORE_HASH_BYTES], const struct store_audit *a,
                       uint8_t out[STORE_HASH_BYTES])
{
    _cleanup_buf_ struct buf b = BUF_INIT;
    int (*text)(struct buf *, const char *) = fmt == AUDIT_V1 ? add_str : add_opt;

    buf_add(&b, fmt == AUDIT_V1 ? "arca.audit.v1" : "arca.audit.v2", 14);
    add_field(&b, prev, STORE_HASH_BYTES);
    if (fmt != AUDIT_V1)
        add_i64(&b, a->seq);
    add_i64(&b, a->time);
    text(&b, a->actor_type);
    text(&b, a->actor_id);
    text(&b, a->actor_name);
    text(&b, a->event);
    text(&b, a->org_id);
    text(&b, a->project_id);
    text(&b, a->environment);
    text(&b, a->path);
    text(&b, a->key);
    text(&b, a->ip);
    text(&b, a->user_agent);
    text(&b, a->outcome);
    text(&b, a->metadata);
    seal_hash_keyed(srv->audit_key, b.ptr, b.len, out);
}

/* store_audit_chain_fn: a new record is always in the current format. */
static void audit_chain(void *ctx, const uint8_t prev[STORE_HASH_BYTES], struct store_audit *a)
{
    audit_hash(ctx, AUDIT_FORMAT_CURRENT, prev, a, a->hash);
}

static void item_free(struct audit_item *it)
{
    store_audit_release(&it->rec);
    free(it);
}

static void *writer(void *arg)
{
    struct audit *q = arg;
    struct store_audit *recs = calloc(AUDIT_BATCH_MAX, sizeof(*recs));
    struct audit_item *batch[AUDIT_BATCH_MAX];

    if (!recs)
        abort();
    pthread_mutex_lock(&q->lock);
    for (;;) {
        size_t n = 0;
        int ret;

        while (!q->head && !q->stopping)
            pthread_cond_wait(&q->work, &q->lock);
        if (!q->head && q->stopping)
            break;
        while (q->head && n < AUDIT_BATCH_MAX) {
            batch[n] = q->head;
            q->head = q->head->next;
            recs[n] = batch[n]->rec;
            n++;
        }
        if (!q->head)
            q->tail = NULL;
        pthread_mutex_unlock(&q->lock);

        ret = q->srv->store->ops->audit_append(q->srv->store, recs, n, audit_chain, q->srv);
        metrics_audit_commit(n, ret == 0);
        if (ret < 0)
            metrics_store_error(METRICS_STORE_AUDIT);
        if (ret < 0)
            log_error(ret == -EKEYREJECTED
                          ? "the root key was rotated: restart this server with the new key "
                            "(requests are refused)"
                          : "cannot write audit records: requests are refused until it works",
                      "error", strerror(-ret), NULL);

        pthread_mutex_lock(&q->lock);
        q->failing = ret < 0;
        for (size_t i = 0; i < n; i++) {
            struct req *r = batch[i]->req;

            if (r) {
                if (ret < 0)
                    r->audit_failed = ret;
                if (--r->audit_pending == 0 && r->audit_held) {
                    r->audit_held = false;
                    q->held--;
                    http_resume(r);
                }
            }
            if (batch[i]->detached) {
                /* the record's strings are shared with recs[i]: free once */
                item_free(batch[i]);
                continue;
            }
            batch[i]->rec.seq = recs[i].seq;
            batch[i]->result = ret;
            batch[i]->done = true;
        }
        pthread_cond_broadcast(&q->done);
    }
    pthread_mutex_unlock(&q->lock);
    free(recs);
    return NULL;
}

void audit_key_derive(const uint8_t *root_key, uint8_t *ret)
{
    seal_hash_keyed(root_key, "arca audit chain v1", 19, ret);
}

store_audit_chain_fn audit_chain_fn(void)
{
    return audit_chain;
}

int audit_start(struct server *srv)
{
    struct audit *q = calloc(1, sizeof(*q));

    if (!q)
        return -ENOMEM;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->done, NULL);
    q->srv = srv;
    srv->audit_key = seal_malloc(SEAL_KEY_BYTES);
    if (!srv->audit_key) {
        free(q);
        return -ENOMEM;
    }
    audit_key_derive(srv->root_key, srv->audit_key);
    if (pthread_create(&q->thread, NULL, writer, q) != 0) {
        free(q);
        return -EAGAIN;
    }
    srv->audit = q;
    return 0;
}

void audit_stop(struct server *srv)
{
    struct audit *q = srv->audit;

    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    free(q);
    srv->audit = NULL;
    seal_free(srv->audit_key);
    srv->audit_key = NULL;
}

/* Records hold text from outside (a User-Agent, a path): bytes that are not
 * UTF-8 are replaced (U+FFFD) before the record is hashed, or no JSON could
 * show it (the list, the export and the archive would refuse the record). */
static char *dup_or_empty(const char *s)
{
    return utf8_repaired(s ? s : "");
}

static const char *actor_type(enum principal_kind k)
{
    switch (k) {
    case PRINCIPAL_USER:
        return "user";
    case PRINCIPAL_IDENTITY:
        return "identity";
    case PRINCIPAL_SERVICE:
        return "service";
    default:
        return "anonymous";
    }
}

/* Fills a (zeroed) with r's record of e: -ENOMEM (a released). */
static int rec_init(struct req *r, const struct audit_event *e, struct store_audit *a)
{
    a->time = now_ms();
    snprintf(a->actor_type, sizeof(a->actor_type), "%s", actor_type(r->who.kind));
    snprintf(a->actor_id, sizeof(a->actor_id), "%s", r->who.id);
    snprintf(a->org_id, sizeof(a->org_id), "%s", e->org_id ? e->org_id : r->who.org_id);
    snprintf(a->project_id, sizeof(a->project_id), "%s", e->project_id ? e->project_id : "");
    a->actor_name = dup_or_empty(e->actor_name ? e->actor_name : r->who.name);
    a->event = dup_or_empty(e->event);
    a->environment = dup_or_empty(e->environment);
    a->path = dup_or_empty(e->path);
    a->key = dup_or_empty(e->key);
    a->ip = dup_or_empty(r->remote);
    a->user_agent = dup_or_empty(r->user_agent);
    a->outcome = dup_or_empty(e->outcome ? e->outcome : "success");
    a->metadata = e->metadata_text ? strdup(e->metadata_text)
                  : e->metadata    ? json_dumps(e->metadata, JSON_COMPACT | JSON_SORT_KEYS)
                                   : strdup("{}");
    if (!a->actor_name || !a->event || !a->environment || !a->path || !a->key || !a->ip ||
        !a->user_agent || !a->outcome || !a->metadata) {
        store_audit_release(a);
        return -ENOMEM;
    }
    return 0;
}

/* A queue item for e; NULL on ENOMEM. */
static struct audit_item *item_new(struct req *r, const struct audit_event *e)
{
    struct audit_item *it = calloc(1, sizeof(*it));

    if (!it)
        return NULL;
    if (rec_init(r, e, &it->rec) < 0) {
        free(it);
        return NULL;
    }
    it->detached = r->srv->cfg.audit_async;
    return it;
}

/* Logins are counted where they are audited: one place for every login route. */
static void count_login(const char *event)
{
    if (streq(event, "auth.login") || streq(event, "auth.login.failed"))
        metrics_login(METRICS_LOGIN_USER, streq(event, "auth.login"));
    else if (streq(event, "auth.identity.login") || streq(event, "auth.identity.login.failed"))
        metrics_login(METRICS_LOGIN_IDENTITY, streq(event, "auth.identity.login"));
}

/* Queues n records for r; waits for them unless defer (or --audit-async). */
static int enqueue(struct req *r, const struct audit_event *e, size_t n, bool defer)
{
    struct audit *q = r->srv->audit;
    struct audit_item *first = NULL, *last = NULL, **items;
    int ret = 0;

    if (n == 0)
        return 0;
    items = calloc(n, sizeof(*items));
    if (!items)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        items[i] = item_new(r, &e[i]);
        if (!items[i]) {
            while (i > 0)
                item_free(items[--i]);
            free(items);
            return -ENOMEM;
        }
        if (last)
            last->next = items[i];
        else
            first = items[i];
        last = items[i];
    }

    for (size_t i = 0; i < n; i++)
        count_login(e[i].event);
    pthread_mutex_lock(&q->lock);
    metrics_audit_queued(n);
    if (q->tail)
        q->tail->next = first;
    else
        q->head = first;
    q->tail = last;
    pthread_cond_signal(&q->work);
    if (defer && !r->srv->cfg.audit_async) {
        for (size_t i = 0; i < n; i++) {
            items[i]->req = r;
            items[i]->detached = true;
        }
        r->audit_pending += n;
    }
    if (!defer && !r->srv->cfg.audit_async) {
        for (size_t i = 0; i < n; i++) {
            while (!items[i]->done)
                pthread_cond_wait(&q->done, &q->lock);
            if (items[i]->result < 0)
                ret = items[i]->result;
        }
    }
    pthread_mutex_unlock(&q->lock);
    if (!defer && !r->srv->cfg.audit_async)
        for (size_t i = 0; i < n; i++)
            item_free(items[i]);
    free(items);
    return ret;
}

/* A write's records, for the store to append in the write's transaction;
 * ret->recs OWNED: batch_done. */
static int batch_init(struct req *r, const struct audit_event *e, size_t n,
                      struct store_audit_batch *ret)
{
    struct store_audit *recs = calloc(n ? n : 1, sizeof(*recs));

    if (!recs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (rec_init(r, &e[i], &recs[i]) < 0) {
            store_audits_free(recs, i);
            return -ENOMEM;
        }
    *ret = (struct store_audit_batch){.recs = recs, .n = n, .chain = audit_chain, .ctx = r->srv};
    return 0;
}

/* After the store call that appended b (its result ret). */
static void batch_done(struct store_audit_batch *b, int ret)
{
    if (ret >= 0) { /* else the write failed, and with it its records: none was due */
        metrics_audit_queued(b->n);
        metrics_audit_commit(b->n, true);
    }
    for (size_t i = 0; i < b->n && ret >= 0; i++)
        count_login(b->recs[i].event ? b->recs[i].event : "");
    store_audits_free(b->recs, b->n);
    b->recs = NULL;
}

struct write_events {
    const struct store_write *w;
    const struct audit_event *e;
    size_t n_w;
};

/* store_audit_batch's fill: the event of each write whose e says none. */
static void write_events(void *ctx, struct store_audit *recs, size_t n)
{
    const struct write_events *x = ctx;

    for (size_t i = 0; i < n && i < x->n_w; i++) {
        const struct store_write *w = &x->w[i];
        const char *ev = x->e[i].event           ? x->e[i].event
                         : w->op == STORE_DELETE ? "secret.delete"
                         : w->ret_created        ? "secret.create"
                                                 : "secret.update";

        free(recs[i].event);
        recs[i].event = strdup(ev); /* NULL: the store refuses the batch */
    }
}

int audit_secrets_write(struct req *r, const char *project_id, const char *env_id, const char *path,
                        struct store_write *w, size_t n, int64_t now, const struct audit_event *e,
                        size_t n_e)
{
    struct store *s = r->srv->store;
    struct write_events x = {w, e, n};
    struct store_audit_batch b;
    int ret = n_e >= n ? batch_init(r, e, n_e, &b) : -EINVAL;

    if (ret < 0)
        return ret;
    b.fill = write_events;
    b.fill_ctx = &x;
    ret = s->ops->secrets_write_audited(s, project_id, env_id, path, w, n, r->who.id, now, &b);
    batch_done(&b, ret);
    return ret;
}

int audit_identity_login(struct req *r, const char *client_secret_id, int64_t now,
                         const struct store_access_token *t, const struct audit_event *e)
{
    struct store *s = r->srv->store;
    struct store_audit_batch b;
    int ret = batch_init(r, e, 1, &b);

    if (ret < 0)
        return ret;
    ret = s->ops->identity_login(s, client_secret_id, now, t, &b);
    batch_done(&b, ret);
    return ret;
}

int audit_log_n(struct req *r, const struct audit_event *e, size_t n)
{
    return enqueue(r, e, n, false);
}

int audit_log(struct req *r, const struct audit_event *e)
{
    return enqueue(r, e, 1, false);
}

/* ROUTE_CACHED: the handler's one event, kept with the reply (cache.c). */
static void keep_event(struct req *r, const struct audit_event *e)
{
    _cleanup_free_ char *meta =
        e->metadata ? json_dumps(e->metadata, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *f[] = {e->event,          e->org_id ? e->org_id : r->who.org_id,
                       e->project_id,     e->environment,
                       e->path,           e->key,
                       meta ? meta : "{}"};

    buf_clear(&r->cache_event);
    if (r->cache_events++ > 0 || e->outcome || e->actor_name || (e->metadata && !meta)) {
        r->cache_events = 2; /* not one plain success by the caller: nothing is kept */
        return;
    }
    for (size_t i = 0; i < ELEMENTSOF(f); i++)
        if (buf_add(&r->cache_event, f[i] ? f[i] : "", strlen(f[i] ? f[i] : "") + 1) < 0)
            r->cache_events = 2;
}

int audit_defer_n(struct req *r, const struct audit_event *e, size_t n)
{
    int ret;

    for (size_t i = 0; i < n && r->cache_reply; i++)
        keep_event(r, &e[i]);
    ret = enqueue(r, e, n, true);

    if (ret < 0)
        http_fail(r, 503, "the audit log cannot be written (%d): request refused", ret);
    return ret;
}

int audit_defer(struct req *r, const struct audit_event *e)
{
    return audit_defer_n(r, e, 1);
}

bool audit_hold(struct req *r, void (*suspend)(struct req *r), bool alone)
{
    struct audit *q = r->srv->audit;
    struct timespec until;
    bool held;

    pthread_mutex_lock(&q->lock);
    while (q->draining && r->audit_pending > 0) /* wait here, as audit_log does */
        pthread_cond_wait(&q->done, &q->lock);
    if (alone && r->audit_pending > 0) { /* the clock only when there is a wait */
        until = realtime_after_ms(AUDIT_WAIT_IN_THREAD_MS);
        while (r->audit_pending > 0 &&
               pthread_cond_timedwait(&q->done, &q->lock, &until) != ETIMEDOUT)
            ;
    }
    held = r->audit_pending > 0;
    if (held) {
        r->audit_held = true;
        q->held++;
        suspend(r); /* under the lock: the writer resumes only what is suspended */
    }
    pthread_mutex_unlock(&q->lock);
    return held;
}

bool audit_failing(struct server *srv)
{
    struct audit *q = srv->audit;
    bool ret;

    pthread_mutex_lock(&q->lock);
    ret = q->failing;
    pthread_mutex_unlock(&q->lock);
    return ret;
}

int audit_held_result(struct req *r)
{
    struct audit *q = r->srv->audit;
    int ret;

    pthread_mutex_lock(&q->lock);
    ret = r->audit_failed;
    pthread_mutex_unlock(&q->lock);
    return ret;
}

void audit_drain_held(struct server *srv)
{
    struct audit *q = srv->audit;

    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->draining = true;
    while (q->held) /* the writer resumes them as their batches commit */
        pthread_cond_wait(&q->done, &q->lock);
    pthread_mutex_unlock(&q->lock);
}

int audit_or_fail(struct req *r, const struct audit_event *e)
{
    int ret = audit_log(r, e);

    if (ret < 0)
        http_fail(r, 503, "the audit log cannot be written (%d): request refused", ret);
    return ret;
}

void audit_denied(struct req *r, const struct audit_event *e)
{
    struct audit_event d = *e;

    if (ratelimit_take(r->srv->rl_denied, r->remote, now_ms()))
        return; /* over the address's budget: refused all the same, not recorded */
    d.outcome = d.outcome ? d.outcome : "denied";
    audit_log(r, &d); /* best effort: the request is refused either way */
}

int audit_server_record(struct store_audit *a, const char *actor_name, const char *event,
                        char *metadata)
{
    memset(a, 0, sizeof(*a));
    a->time = now_ms();
    snprintf(a->actor_type, sizeof(a->actor_type), "server");
    a->metadata = metadata;
    a->actor_name = strdup(actor_name);
    a->event = strdup(event);
    a->environment = strdup("");
    a->path = strdup("");
    a->key = strdup("");
    a->ip = strdup("");
    a->user_agent = strdup("");
    a->outcome = strdup("success");
    return a->actor_name && a->event && a->environment && a->path && a->key && a->ip &&
                   a->user_agent && a->outcome && a->metadata
               ? 0
               : -ENOMEM;
}

/* The audit key of the root key generation that chained record seq, as a
 * server whose audit_hash can use it: the records of each generation are
 * chained with its own key (rootkey.c). */
static void key_for(struct server *srv, int64_t seq, struct server *ret)
{
    ret->audit_key = srv->audit_key;
    for (size_t i = 0; i < srv->n_audit_gens; i++)
        if (srv->audit_gens[i].first_seq <= seq)
            ret->audit_key = srv->audit_gens[i].key;
}

/* v[i] does not verify: the next records tell a server with another root key
 * (they link to it and to each other, and fail too, in either format) from a
 * changed record (the next one verifies). */
static bool written_with_other_key(struct server *srv, const struct store_audit *v, size_t i,
                                   size_t n)
{
    uint8_t h[STORE_HASH_BYTES];
    struct server k = {0};

    if (i + 1 >= n || memcmp(v[i + 1].prev_hash, v[i].hash, STORE_HASH_BYTES) != 0)
        return false;
    key_for(srv, v[i + 1].seq, &k);
    audit_hash(&k, AUDIT_FORMAT_CURRENT, v[i + 1].prev_hash, &v[i + 1], h);
    if (memcmp(h, v[i + 1].hash, sizeof(h)) == 0)
        return false;
    audit_hash(&k, AUDIT_V1, v[i + 1].prev_hash, &v[i + 1], h);
    return memcmp(h, v[i + 1].hash, sizeof(h)) != 0;
}

int audit_chain_next(struct server *srv, struct audit_chain *st, const struct store_audit *a,
                     const char **ret_reason)
{
    uint8_t h[STORE_HASH_BYTES];
    struct server k = {0};

    if (memcmp(a->prev_hash, st->prev, sizeof(st->prev)) != 0) {
        *ret_reason = "the record does not follow the one before it (a record was removed or "
                      "inserted)";
        return -EBADMSG;
    }
    key_for(srv, a->seq, &k);
    audit_hash(&k, AUDIT_FORMAT_CURRENT, st->prev, a, h);
    if (memcmp(h, a->hash, sizeof(h)) == 0) {
        st->v2 = true;
    } else if (!st->v2) { /* the oldest format still allowed, until the first v2 */
        audit_hash(&k, AUDIT_V1, st->prev, a, h);
        if (memcmp(h, a->hash, sizeof(h)) == 0)
            st->records_v1++;
    }
    if (memcmp(h, a->hash, sizeof(h)) != 0) {
        *ret_reason = "the record was changed after it was written";
        return -EBADMSG;
    }
    for (size_t g = 1; g < srv->n_audit_gens; g++)
        if (a->seq + 1 == srv->audit_gens[g].first_seq &&
            !streq(a->event ? a->event : "", "server.root_key.rotate")) {
            *ret_reason = "the link record of a root key rotation is missing";
            return -EBADMSG;
        }
    memcpy(st->prev, a->hash, sizeof(st->prev));
    st->records++;
    return 0;
}

/* Whether a is the "audit.archive" record of the archive that anchors the
 * log at seq, hash (archive.c writes its metadata). */
static bool archive_record_of(const struct store_audit *a, int64_t seq, const uint8_t *hash)
{
    _cleanup_json_ json_t *m = NULL;
    char want[2 * STORE_HASH_BYTES + 1];
    json_int_t last = 0;
    const char *h = NULL;

    if (!streq(a->event ? a->event : "", "audit.archive") || !a->metadata ||
        wire_parse(a->metadata, strlen(a->metadata), &m, NULL) < 0 ||
        json_unpack(m, "{s:I, s:s}", "lastSeq", &last, "lastHash", &h) < 0)
        return false;
    hex_encode(hash, STORE_HASH_BYTES, want);
    return last == seq && streq(h, want);
}

int audit_anchor_confirmed(struct server *srv, const struct store_audit_archive *anchor, bool *ret)
{
    struct store_audit_query qy = {
        .event = "audit.archive", .after_seq = anchor->seq, .limit = 100};
    uint8_t h[STORE_HASH_BYTES];
    struct store_audit *v;
    size_t n;
    int r;

    *ret = false;
    do {
        r = srv->store->ops->audit_query(srv->store, &qy, &v, &n);
        if (r < 0)
            return r;
        for (size_t i = 0; i < n && !*ret; i++) {
            struct server k = {0};

            key_for(srv, v[i].seq, &k); /* a record of this format: never v1 */
            audit_hash(&k, AUDIT_FORMAT_CURRENT, v[i].prev_hash, &v[i], h);
            *ret = memcmp(h, v[i].hash, sizeof(h)) == 0 &&
                   archive_record_of(&v[i], anchor->seq, anchor->hash);
        }
        qy.after_seq = n ? v[n - 1].seq : qy.after_seq;
        store_audits_free(v, n);
    } while (!*ret && n == qy.limit);
    return 0;
}

int audit_verify(struct server *srv, struct audit_report *ret)
{
    struct store_audit_query qy = {.limit = 5000};
    struct store_audit_archive anchor = {0};
    struct audit_chain st = {0};
    bool confirmed = true;
    struct store_audit *v;
    size_t n;
    int r;

    memset(ret, 0, sizeof(*ret));
    ret->ok = true;
    r = srv->store->ops->audit_anchor(srv->store, &anchor);
    if (r < 0 && r != -ENOENT)
        return r;
    if (r == 0) { /* the records up to the anchor were archived: start after it */
        memcpy(st.prev, anchor.hash, sizeof(st.prev));
        qy.after_seq = ret->anchor_seq = anchor.seq;
        confirmed = false;
    }
    for (;;) {
        r = srv->store->ops->audit_query(srv->store, &qy, &v, &n);
        if (r < 0)
            return r;
        for (size_t i = 0; i < n && ret->ok; i++) {
            if (audit_chain_next(srv, &st, &v[i], &ret->reason) < 0) {
                ret->ok = false;
                ret->first_bad_seq = v[i].seq;
                ret->wrong_key = memcmp(v[i].prev_hash, st.prev, sizeof(st.prev)) == 0 &&
                                 written_with_other_key(srv, v, i, n);
                if (ret->wrong_key)
                    ret->reason = "the records from here on were written by a server with "
                                  "another root key (ARCA_ENCRYPTION_KEY)";
                break;
            }
            ret->head_seq = v[i].seq;
            memcpy(ret->head_hash, v[i].hash, sizeof(ret->head_hash));
        }
        qy.after_seq = n ? v[n - 1].seq : qy.after_seq;
        store_audits_free(v, n);
        if (!ret->ok || n < qy.limit)
            break;
    }
    ret->records = st.records;
    ret->records_v1 = st.records_v1;
    if (ret->ok && !confirmed && (r = audit_anchor_confirmed(srv, &anchor, &confirmed)) < 0)
        return r;
    if (ret->ok && !confirmed) {
        ret->ok = false;
        ret->first_bad_seq = anchor.seq;
        ret->reason = "the records up to the archive anchor were removed, but no archive "
                      "record (audit.archive) in the log names it";
    }
    return 0;
}
