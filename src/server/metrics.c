/* metrics.c - counters and their Prometheus text (metrics.h).
 *
 * Every counter is a uint64_t bumped with a relaxed atomic add: no lock on the
 * request path, and a scrape reads each one atomically (a scrape racing a
 * request may see a histogram whose _count is one ahead of a bucket, which
 * Prometheus tolerates).  The per-route table has one row per route of the
 * route table plus one for paths no route matched; rows never seen are not
 * printed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arca.h"
#include "base/util.h"
#include "metrics.h"
#include "server.h"
#include "store/store_sqlite.h"

#define INC(p, n) __atomic_fetch_add((p), (n), __ATOMIC_RELAXED)
#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

/* The statuses arca answers with; anything else counts as "other". */
static const unsigned statuses[] = {200, 201, 204, 304, 400, 401, 403, 404,
                                    405, 409, 413, 415, 422, 429, 500, 503};
#define N_STATUS (ELEMENTSOF(statuses) + 1)

/* Request duration bucket bounds, microseconds (printed in seconds). */
static const int64_t lat_us[] = {100,   250,   500,    1000,   2500,   5000,    10000,
                                 25000, 50000, 100000, 250000, 500000, 1000000, 5000000};
#define N_LAT (ELEMENTSOF(lat_us) + 1) /* the last: +Inf */

/* Audit group commit sizes, records. */
static const unsigned commit_sizes[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
#define N_COMMIT (ELEMENTSOF(commit_sizes) + 1)

struct route_row {
    uint64_t status[N_STATUS];
    uint64_t lat[N_LAT]; /* not cumulative: made so when printed */
    uint64_t sum_us;
};

static struct {
    struct route_row *routes; /* n_routes + 1: the last for unmatched paths */
    size_t n_routes;
    int64_t started; /* seconds since the epoch */
    uint64_t audit_queued, audit_committed, audit_failed_commits;
    uint64_t commit[N_COMMIT];
    uint64_t commit_sum;
    uint64_t cache_hit, cache_miss;
    uint64_t login[2][2]; /* [kind][ok] */
    uint64_t limited[2];
    uint64_t store_err[2];
} m;

int metrics_init(void)
{
    size_t n;

    if (m.routes)
        return 0;
    router_table(&n);
    m.routes = calloc(n + 1, sizeof(*m.routes));
    if (!m.routes)
        return -ENOMEM;
    m.n_routes = n;
    m.started = (int64_t)time(NULL);
    return 0;
}

void metrics_request(int route, unsigned status, int64_t us)
{
    struct route_row *row;
    size_t s = 0, l = 0;

    if (!m.routes)
        return;
    row = &m.routes[route >= 0 && (size_t)route < m.n_routes ? (size_t)route : m.n_routes];
    while (s < ELEMENTSOF(statuses) && statuses[s] != status)
        s++;
    while (l < ELEMENTSOF(lat_us) && us > lat_us[l])
        l++;
    INC(&row->status[s], 1);
    INC(&row->lat[l], 1);
    INC(&row->sum_us, (uint64_t)(us > 0 ? us : 0));
}

void metrics_audit_queued(size_t n)
{
    INC(&m.audit_queued, n);
}

void metrics_audit_commit(size_t n, bool ok)
{
    size_t b = 0;

    while (b < ELEMENTSOF(commit_sizes) && n > commit_sizes[b])
        b++;
    INC(&m.commit[b], 1);
    INC(&m.commit_sum, n);
    INC(&m.audit_committed, n); /* taken off the queue, whatever the outcome */
    if (!ok)
        INC(&m.audit_failed_commits, 1);
}

void metrics_cache(bool hit)
{
    INC(hit ? &m.cache_hit : &m.cache_miss, 1);
}

void metrics_login(enum metrics_login kind, bool ok)
{
    INC(&m.login[kind == METRICS_LOGIN_IDENTITY][ok], 1);
}

void metrics_rate_limited(enum metrics_limit which)
{
    INC(&m.limited[which == METRICS_LIMIT_TOKEN], 1);
}

void metrics_store_error(enum metrics_store_op op)
{
    INC(&m.store_err[op == METRICS_STORE_AUDIT], 1);
}

static int head(struct buf *out, const char *name, const char *type, const char *help)
{
    return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int route_labels(struct buf *out, const struct route *routes, size_t i)
{
    /* patterns and methods come from the route table: never from the request */
    if (i == m.n_routes)
        return buf_adds(out, "method=\"\",route=\"unmatched\"");
    return buf_printf(out, "method=\"%s\",route=\"%s\"", routes[i].method, routes[i].pattern);
}

static bool row_used(const struct route_row *row)
{
    for (size_t s = 0; s < N_STATUS; s++)
        if (LOAD(&row->status[s]))
            return true;
    return false;
}

static int render_requests(struct buf *out)
{
    size_t n;
    const struct route *routes = router_table(&n);
    int r = head(out, "arca_http_requests_total", "counter",
                 "HTTP requests answered, by route pattern and status.");

    for (size_t i = 0; r == 0 && i <= m.n_routes; i++)
        for (size_t s = 0; r == 0 && s < N_STATUS; s++) {
            uint64_t v = LOAD(&m.routes[i].status[s]);
            if (!v)
                continue;
            r = buf_adds(out, "arca_http_requests_total{");
            if (r == 0)
                r = route_labels(out, routes, i);
            if (r == 0 && s < ELEMENTSOF(statuses))
                r = buf_printf(out, ",status=\"%u\"} %llu\n", statuses[s], (unsigned long long)v);
            else if (r == 0)
                r = buf_printf(out, ",status=\"other\"} %llu\n", (unsigned long long)v);
        }
    if (r == 0)
        r = head(out, "arca_http_request_duration_seconds", "histogram",
                 "Time from a request's arrival to its reply (its audit record durable), by "
                 "route pattern.");
    for (size_t i = 0; r == 0 && i <= m.n_routes; i++) {
        const struct route_row *row = &m.routes[i];
        uint64_t cum = 0;

        if (!row_used(row))
            continue;
        for (size_t l = 0; r == 0 && l < N_LAT; l++) {
            cum += LOAD(&row->lat[l]);
            r = buf_adds(out, "arca_http_request_duration_seconds_bucket{");
            if (r == 0)
                r = route_labels(out, routes, i);
            if (r == 0 && l < ELEMENTSOF(lat_us))
                r = buf_printf(out, ",le=\"%g\"} %llu\n", (double)lat_us[l] / 1e6,
                               (unsigned long long)cum);
            else if (r == 0)
                r = buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        for (int k = 0; r == 0 && k < 2; k++) {
            r = buf_adds(out, k ? "arca_http_request_duration_seconds_count{"
                                : "arca_http_request_duration_seconds_sum{");
            if (r == 0)
                r = route_labels(out, routes, i);
            if (r == 0 && k)
                r = buf_printf(out, "} %llu\n", (unsigned long long)cum);
            else if (r == 0)
                r = buf_printf(out, "} %.6f\n", (double)LOAD(&row->sum_us) / 1e6);
        }
    }
    return r;
}

static int render_audit(struct buf *out)
{
    uint64_t queued = LOAD(&m.audit_queued), done = LOAD(&m.audit_committed), cum = 0;
    int r = head(out, "arca_audit_queue_depth", "gauge",
                 "Audit records queued or being written: not yet durable.");

    if (r == 0)
        r = buf_printf(out, "arca_audit_queue_depth %llu\n",
                       (unsigned long long)(queued > done ? queued - done : 0));
    if (r == 0)
        r = head(out, "arca_audit_commit_records", "histogram",
                 "Audit records per group commit (one transaction and one fsync each).");
    for (size_t b = 0; r == 0 && b < N_COMMIT; b++) {
        cum += LOAD(&m.commit[b]);
        if (b < ELEMENTSOF(commit_sizes))
            r = buf_printf(out, "arca_audit_commit_records_bucket{le=\"%u\"} %llu\n",
                           commit_sizes[b], (unsigned long long)cum);
        else
            r = buf_printf(out,
                           "arca_audit_commit_records_bucket{le=\"+Inf\"} %llu\n"
                           "arca_audit_commit_records_sum %llu\n"
                           "arca_audit_commit_records_count %llu\n",
                           (unsigned long long)cum, (unsigned long long)LOAD(&m.commit_sum),
                           (unsigned long long)cum);
    }
    if (r == 0)
        r = head(out, "arca_audit_commit_failures_total", "counter",
                 "Audit group commits that failed (their requests were refused).");
    if (r == 0)
        r = buf_printf(out, "arca_audit_commit_failures_total %llu\n",
                       (unsigned long long)LOAD(&m.audit_failed_commits));
    return r;
}

/* The SQLite store's group commit: concurrent writes share a transaction (the
 * store's own counts, read under its write lock). */
static int render_sqlite(const struct server *srv, struct buf *out)
{
    struct store_sqlite_stats st;
    int r;

    store_sqlite_stats(srv->store, &st);
    r = head(out, "arca_store_write_commits_total", "counter",
             "SQLite transactions committed by write calls (group commit: one fsync each).");
    if (r == 0)
        r = buf_printf(out, "arca_store_write_commits_total %llu\n",
                       (unsigned long long)st.commits);
    if (r == 0)
        r = head(out, "arca_store_write_calls_total", "counter",
                 "SQLite write calls made durable by those commits (calls / commits: the mean "
                 "group size).");
    if (r == 0)
        r = buf_printf(out, "arca_store_write_calls_total %llu\n", (unsigned long long)st.calls);
    return r;
}

/* A counter with one label of two values. */
static int counter2(struct buf *out, const char *name, const char *help, const char *label,
                    const char *a, const uint64_t *va, const char *b, const uint64_t *vb)
{
    int r = head(out, name, "counter", help);

    if (r == 0)
        r = buf_printf(out, "%s{%s=\"%s\"} %llu\n%s{%s=\"%s\"} %llu\n", name, label, a,
                       (unsigned long long)LOAD(va), name, label, b, (unsigned long long)LOAD(vb));
    return r;
}

int metrics_render(const struct server *srv, struct buf *out)
{
    int r = head(out, "arca_build_info", "gauge", "The arca version and store of this server.");

    if (r == 0)
        r = buf_printf(out, "arca_build_info{version=\"%s\",store=\"%s\"} 1\n", ARCA_VERSION,
                       srv->store->ops->name);
    if (r == 0)
        r = head(out, "arca_process_start_time_seconds", "gauge",
                 "When the server started, seconds since the Unix epoch.");
    if (r == 0)
        r = buf_printf(out, "arca_process_start_time_seconds %lld\n", (long long)m.started);
    if (r == 0 && m.routes)
        r = render_requests(out);
    if (r == 0)
        r = render_audit(out);
    if (r == 0)
        r = counter2(out, "arca_cache_requests_total",
                     "Reads of cached routes served from the reply cache (hit) or not (miss).",
                     "result", "hit", &m.cache_hit, "miss", &m.cache_miss);
    if (r == 0)
        r = head(out, "arca_logins_total", "counter",
                 "Login attempts that reached a verdict, by kind and outcome (rate-limited ones "
                 "are in arca_rate_limited_total).");
    for (int k = 0; r == 0 && k < 2; k++)
        for (int ok = 1; r == 0 && ok >= 0; ok--)
            r = buf_printf(out, "arca_logins_total{kind=\"%s\",outcome=\"%s\"} %llu\n",
                           k ? "identity" : "user", ok ? "success" : "failure",
                           (unsigned long long)LOAD(&m.login[k][ok]));
    if (r == 0)
        r = counter2(out, "arca_rate_limited_total", "Requests refused with 429 by a rate limit.",
                     "limit", "login", &m.limited[0], "token", &m.limited[1]);
    if (r == 0 && streq(srv->store->ops->name, "sqlite"))
        r = render_sqlite(srv, out);
    if (r == 0)
        r = counter2(out, "arca_store_errors_total",
                     "Store calls that failed (database unreachable, I/O error, full disk).", "op",
                     "epoch", &m.store_err[0], "audit_append", &m.store_err[1]);
    return r;
}
