/* metrics.h - the server's counters for Prometheus (GET /metrics on the metrics
 * listener, --metrics-listen; docs/metrics.md).
 *
 * Counting is a relaxed atomic add into fixed tables, so the request path pays
 * a few uncontended instructions and takes no lock.  Labels are only ever
 * names from fixed sets: route patterns of the route table (never the path a
 * client sent), methods of the table, status codes, event kinds.  Never a
 * secret, token, key name or user-supplied string. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct server;

/* Sizes the per-route tables for the route table (router_table); at start,
 * before any request.  -ENOMEM. */
int metrics_init(void);

/* A request answered: route is its index in the route table, or -1 for a path
 * no route matched; took us microseconds from its first byte to its reply. */
void metrics_request(int route, unsigned status, int64_t us);

/* The audit queue: n records queued; a group commit of n records (ok or not). */
void metrics_audit_queued(size_t n);
/* (after the group commit of n records, whether it worked or not) */
void metrics_audit_commit(size_t n, bool ok);

/* The reply cache of ROUTE_CACHED routes. */
void metrics_cache(bool hit);

enum metrics_login {
    METRICS_LOGIN_USER,     /* a person: e-mail and password */
    METRICS_LOGIN_IDENTITY, /* machine identity: universal auth, arca's own */
};
void metrics_login(enum metrics_login kind, bool ok);

enum metrics_limit {
    METRICS_LIMIT_LOGIN, /* login attempts per address or account */
    METRICS_LIMIT_TOKEN, /* invalid tokens per address */
};
void metrics_rate_limited(enum metrics_limit which);

/* A store call failed for a reason other than the data (not found, conflict):
 * the per-request change counter (epoch) read, or an audit group commit. */
enum metrics_store_op {
    METRICS_STORE_EPOCH,
    METRICS_STORE_AUDIT,
};
void metrics_store_error(enum metrics_store_op op);

/* The text exposition format (version 0.0.4) of every metric, into out. */
int metrics_render(const struct server *srv, struct buf *out);
