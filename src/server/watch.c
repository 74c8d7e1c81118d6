/* watch.c - the change feed: a long poll that answers when something changed.
 *
 *   GET /api/arca/v1/projects/:projectId/watch?environment=E&secretPath=P
 *       &cursor=C&timeout=S
 *   -> 200 {"cursor": "<new cursor>", "changed": true|false}
 *
 * The cursor is the store's epoch (store.h: epoch.all), the change counter
 * every write moves and that every cache already trusts, in this process or,
 * on PostgreSQL, in any server on the database.  Without a cursor, or with one
 * that the project's secrets or anything global changed since (a write
 * stamped later than the cursor; a cursor from another run or database), the
 * answer is immediate; otherwise the connection is suspended (its thread is
 * free meanwhile) until such a change or the timeout (1..25 s, default 25:
 * under libmicrohttpd's 30 s idle limit).  A client reads the cursor first,
 * then fetches, then watches with it: a write between the two is never
 * missed.  A write to another project wakes nobody; one to the project, in
 * any of its folders, wakes its every wait: a wake-up is a hint to ask again
 * with If-None-Match (a 304 when the caller's folder did not change), never
 * data.  What it tells the caller is only that the project changed, and
 * when.
 *
 * The caller must be allowed to list the folder's secrets (describe, a
 * metadata read) and the start of each watch is audited ("secret.watch") like
 * such a read, before it waits.  At most WATCH_MAX waits at once and
 * WATCH_MAX_PER_PRINCIPAL per principal (429 beyond, decided before the audit
 * record: a wait takes its place in the hub first, so that once its record is
 * written it counts).  One thread (started on
 * the first watch) reads the epoch every WATCH_TICK_MS, and the stamps of
 * the waits' projects once it moved, and resumes the waits it answers; http_stop resumes every wait
 * (watch_drain) before the daemon stops.  A server has one hub: one struct server runs per process.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authz.h"
#include "base/names.h"
#include "base/util.h"
#include "server.h"

#define WATCH_MAX 256
#define WATCH_MAX_PER_PRINCIPAL 16
#define WATCH_TIMEOUT_MAX_S 25
#define WATCH_TICK_MS 100

struct watch {
    struct req *r;  /* BORROWED: suspended until resumed by the hub */
    uint64_t since; /* the epoch the caller has seen */
    uint64_t seen;  /* the epoch at which the project's stamp was last read */
    char project_id[STORE_ID_LEN + 1];
    int64_t until;   /* ms (monotonic): answer "unchanged" then */
    bool waiting;    /* suspended (else in the hub, its audit record pending) */
    bool done;       /* resumed: changed and cursor hold the answer */
    bool changed;    /* the epoch moved */
    uint64_t cursor; /* the answer's epoch */
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool started, stopping, stopped;
    struct server *srv;
    struct watch *v[WATCH_MAX]; /* the waits, unordered */
    size_t n;
} hub = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static int64_t mono_ms(void)
{
    return mono_us() / 1000;
}

/* Answers wait i (under the lock), removing it; resumes it if suspended. */
static void finish(size_t i, bool changed, uint64_t cursor)
{
    struct watch *w = hub.v[i];

    hub.v[i] = hub.v[--hub.n];
    w->done = true;
    w->changed = changed;
    w->cursor = cursor;
    if (w->waiting) {
        w->waiting = false;
        http_resume(w->r);
    }
}

/* Removes w from the hub if it is there (under the lock). */
static void forget(const struct watch *w)
{
    for (size_t i = 0; i < hub.n; i++)
        if (hub.v[i] == w) {
            hub.v[i] = hub.v[--hub.n];
            return;
        }
}

/* Whether the project (stamped at stamp), or anything global, changed after
 * cursor since: at epoch e, a cursor newer than e is another run's. */
static bool changed_since(const struct store_epoch *e, uint64_t stamp, uint64_t since)
{
    return since > e->all || e->global > since || stamp > since;
}

static void *hub_main(void *arg)
{
    /* the projects whose stamps a tick reads, and the stamps (this thread's) */
    static char ids[WATCH_MAX][STORE_ID_LEN + 1];
    static uint64_t stamps[WATCH_MAX];

    (void)arg;
    pthread_mutex_lock(&hub.lock);
    while (!hub.stopping) {
        struct store_epoch epoch = {0};
        size_t n_ids = 0;
        bool ok;
        struct timespec ts;

        if (hub.n == 0) {
            pthread_cond_wait(&hub.wake, &hub.lock);
            continue;
        }
        pthread_mutex_unlock(&hub.lock);
        ok = hub.srv->store->ops->epoch(hub.srv->store, &epoch) == 0;
        pthread_mutex_lock(&hub.lock);
        /* a wait older than the epoch, with no global change since: its
         * project's stamp says, read once per project and epoch */
        for (size_t i = 0; ok && i < hub.n; i++) {
            struct watch *w = hub.v[i];
            size_t k = 0;

            if (!w->waiting || w->seen == epoch.all || w->since >= epoch.all ||
                epoch.global > w->since)
                continue;
            while (k < n_ids && !streq(ids[k], w->project_id))
                k++;
            if (k == n_ids)
                snprintf(ids[n_ids++], sizeof(ids[0]), "%s", w->project_id);
        }
        pthread_mutex_unlock(&hub.lock);
        for (size_t k = 0; k < n_ids && ok; k++)
            ok = hub.srv->store->ops->project_epoch(hub.srv->store, ids[k], &stamps[k]) == 0;
        pthread_mutex_lock(&hub.lock);
        for (size_t i = hub.n; i-- > 0;) {
            struct watch *w = hub.v[i];
            uint64_t stamp = 0;
            size_t k = 0;

            if (!w->waiting)
                continue;
            while (k < n_ids && !streq(ids[k], w->project_id))
                k++;
            if (k < n_ids)
                stamp = stamps[k];
            if (ok && changed_since(&epoch, stamp, w->since))
                finish(i, true, epoch.all);
            else if (mono_ms() >= w->until)
                finish(i, false, w->since);
            else if (ok && k < n_ids)
                w->seen = epoch.all;
        }
        ts = realtime_after_ms(WATCH_TICK_MS);
        pthread_cond_timedwait(&hub.wake, &hub.lock, &ts);
    }
    pthread_mutex_unlock(&hub.lock);
    return NULL;
}

static void reply(struct req *r, bool changed, uint64_t cursor)
{
    char text[24];

    snprintf(text, sizeof(text), "%llu", (unsigned long long)cursor);
    r->status = 0; /* a wait's answer replaces the provisional one */
    http_reply(r, 200, json_pack("{s:s, s:b}", "cursor", text, "changed", changed));
}

static void watch_freep(struct watch **w)
{
    free(*w);
}

/* Counts the principal's waits (under the lock). */
static size_t waits_of(const struct req *r)
{
    size_t n = 0;

    for (size_t i = 0; i < hub.n; i++)
        n += hub.v[i]->r->who.kind == r->who.kind && streq(hub.v[i]->r->who.id, r->who.id);
    return n;
}

/* Takes w's place in the hub (done at once, "unchanged", when the feed is
 * stopped), or answers 429 over the limits. */
static bool reserve(struct watch *w)
{
    struct req *r = w->r;
    bool ok = false;

    pthread_mutex_lock(&hub.lock);
    if (!hub.stopped && !hub.started) {
        hub.srv = r->srv;
        hub.started = pthread_create(&hub.thread, NULL, hub_main, NULL) == 0;
    }
    if (hub.stopped || !hub.started) { /* answered "unchanged" after the audit */
        w->done = true;
        w->cursor = w->since;
        ok = true;
    } else if (hub.n == WATCH_MAX || waits_of(r) >= WATCH_MAX_PER_PRINCIPAL) {
        r->retry_after = 1;
        http_fail(r, 429,
                  "too many watches at once (at most %d for one principal, %d in all): "
                  "try again later",
                  WATCH_MAX_PER_PRINCIPAL, WATCH_MAX);
    } else {
        hub.v[hub.n++] = w;
        ok = true;
    }
    pthread_mutex_unlock(&hub.lock);
    return ok;
}

void api_watch(struct req *r)
{
    const char *env = req_query(r, "environment"), *path = req_query(r, "secretPath");
    const char *cursor = req_query(r, "cursor"), *timeout = req_query(r, "timeout");
    char canon[NAME_PATH_MAX + 1], *end;
    struct project_ctx ctx = {0};
    const struct store_env *e;
    struct audit_event ev;
    __attribute__((cleanup(watch_freep))) struct watch *w = NULL;
    unsigned long long since = 0;
    uint64_t stamp = 0;
    long secs = WATCH_TIMEOUT_MAX_S;
    bool have_cursor = cursor && *cursor;

    if (!env || !*env) {
        http_fail(r, 400, "'environment' is required (an environment slug such as 'prod')");
        return;
    }
    if (name_path_normalize(path ? path : "/", canon, sizeof(canon)) < 0) {
        http_fail(r, 400, "'secretPath' must be an absolute folder path such as /app/api");
        return;
    }
    if (have_cursor) {
        errno = 0;
        since = strtoull(cursor, &end, 10);
        if (errno || *end || cursor[0] < '0' || cursor[0] > '9' || strlen(cursor) > 20) {
            http_fail(r, 400, "'cursor' must be the cursor a previous watch answered");
            return;
        }
    }
    if (timeout) {
        errno = 0;
        secs = strtol(timeout, &end, 10);
        if (errno || *end || !*timeout || secs < 1 || secs > WATCH_TIMEOUT_MAX_S) {
            http_fail(r, 400, "'timeout' must be a number of seconds from 1 to %d",
                      WATCH_TIMEOUT_MAX_S);
            return;
        }
    }
    if (!r->epoch_ok) {
        http_fail(r, 503, "cannot read the store's change counter");
        return;
    }
    if (project_open(r, req_param(r, 0), &ctx) < 0)
        return;
    e = env_by_slug(&ctx.p, env);
    if (!e) {
        http_fail(r, 404, "environment '%.64s' not found in project '%s'", env, ctx.p.slug);
        goto out;
    }
    if (project_allows(r, &ctx, AUTHZ_SECRETS, AUTHZ_DESCRIBE, e->slug, canon) < 0)
        goto out;
    ev = (struct audit_event){.event = "secret.watch",
                              .org_id = ctx.p.org_id,
                              .project_id = ctx.p.id,
                              .environment = e->slug,
                              .path = canon};
    if (have_cursor && since < r->epoch.all && r->epoch.global <= since &&
        r->srv->store->ops->project_epoch(r->srv->store, ctx.p.id, &stamp) < 0) {
        http_fail(r, 503, "cannot read the store's change counter");
        goto out;
    }
    if (!have_cursor || changed_since(&r->epoch, stamp, since)) {
        if (audit_defer(r, &ev) == 0)
            reply(r, have_cursor, r->epoch.all);
        goto out;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        http_fail(r, 503, "out of memory");
        goto out;
    }
    w->r = r;
    w->since = since;
    snprintf(w->project_id, sizeof(w->project_id), "%s", ctx.p.id);
    w->until = mono_ms() + secs * 1000;
    if (!reserve(w))
        goto out;
    r->watch = TAKE_PTR(w); /* watch_hold releases it if the audit fails */
    if (audit_defer(r, &ev) < 0)
        goto out;
    /* the reply until the wait ends (replaced then), and what a stopping
     * server answers */
    reply(r, false, since);
out:
    project_release(&ctx);
}

bool watch_hold(struct req *r, void (*suspend)(struct req *r))
{
    struct watch *w = r->watch;
    bool held = false;

    if (!w)
        return false;
    pthread_mutex_lock(&hub.lock);
    if (!w->done && r->status == 200) {
        w->waiting = true;
        suspend(r); /* under the lock: the hub resumes only what is suspended */
        pthread_cond_signal(&hub.wake);
        held = true;
    } else {
        forget(w); /* the audit failed meanwhile, or the feed stopped */
    }
    pthread_mutex_unlock(&hub.lock);
    if (held)
        return true;
    if (w->done && r->status == 200)
        reply(r, w->changed, w->cursor);
    watch_release(r);
    return false;
}

void watch_release(struct req *r)
{
    if (!r->watch)
        return;
    pthread_mutex_lock(&hub.lock);
    forget(r->watch);
    pthread_mutex_unlock(&hub.lock);
    free(r->watch);
    r->watch = NULL;
}

void watch_drain(void)
{
    bool join;

    pthread_mutex_lock(&hub.lock);
    hub.stopped = true;
    hub.stopping = true;
    while (hub.n)
        finish(hub.n - 1, false, hub.v[hub.n - 1]->since);
    join = hub.started;
    hub.started = false;
    pthread_cond_signal(&hub.wake);
    pthread_mutex_unlock(&hub.lock);
    if (join)
        pthread_join(hub.thread, NULL);
}
