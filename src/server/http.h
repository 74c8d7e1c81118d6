/* http.h - what request handlers see of HTTP: the request (method, path
 * parameters, query, headers, body), the authenticated principal, and the reply
 * functions.  http.c is the only file that includes microhttpd.h.
 *
 * Handlers are void: they end by calling exactly one of http_reply / http_fail.
 * Helpers that can fail on bad input (req_body_json, req_query_path, ...) send
 * the error reply themselves and return NULL / a negative errno, so a handler
 * just returns when they fail. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/names.h"
#include "store/store.h"

struct server;
struct MHD_Connection;

#define REQ_ID_LEN 18 /* "req-" + 14 */
#define REQ_MAX_PARAMS 4

/* Who made the request, once authenticated. */
enum principal_kind {
    PRINCIPAL_NONE,
    PRINCIPAL_USER,     /* session token */
    PRINCIPAL_IDENTITY, /* machine identity access token */
    PRINCIPAL_SERVICE,  /* service token, bound to one project */
};

struct authz_policy;
struct watch;
struct web_asset;

struct principal {
    enum principal_kind kind;
    char id[STORE_ID_LEN + 1];         /* user, identity or service token id */
    char name[NAME_EMAIL_MAX + 1];     /* e-mail, identity or token name (for audit) */
    char org_id[STORE_ID_LEN + 1];     /* identities: their organization */
    char project_id[STORE_ID_LEN + 1]; /* service tokens: their project */
    uint8_t token_hash[32];            /* the session or access token the request came with */
    struct authz_policy *policy;       /* OWNED: service tokens' scope policy */
    bool token_write;                  /* service tokens: read-write */
};

/* The message of every 503: no detail of the failure reaches the client. */
#define HTTP_STORE_DOWN "the database is unavailable"

struct req {
    struct server *srv;          /* BORROWED */
    struct MHD_Connection *conn; /* BORROWED */
    const char *method;          /* BORROWED from libmicrohttpd */
    char *path;                  /* OWNED, canonical: no trailing '/', single leading '/' */
    char req_id[REQ_ID_LEN + 1];
    char remote[64]; /* client address, for logs */
    int64_t start_us;
    struct buf body; /* request body, bounded by the server's max_body */
    bool body_too_large;
    unsigned long long body_read;       /* bytes of body received, kept or not */
    json_t *json;                       /* OWNED: parsed body, once asked for */
    const char *params[REQ_MAX_PARAMS]; /* path parameters, BORROWED from path copy */
    char *param_buf;                    /* OWNED storage for params */
    size_t n_params;
    struct principal who;
    const char *user_agent; /* BORROWED header, for audit */
    unsigned status;        /* reply status, 0 until replied */
    int route;              /* index in the route table (router_table), -1: none matched */
    unsigned retry_after;   /* seconds, for a 429 */
    struct buf reply;       /* reply body */
    bool queued;
    bool dispatched;
    /* audit_defer's records of this request; under the audit queue's lock */
    unsigned audit_pending;
    int audit_failed;
    bool audit_held;
    /* caches: the store epoch read before anything was loaded for r, and
     * the one audit event of a ROUTE_CACHED reply, serialised (cache.c) */
    struct store_epoch epoch;
    bool epoch_ok;
    bool cache_reply; /* a ROUTE_CACHED route: audit_defer keeps cache_event */
    int cache_events;
    struct buf cache_event;
    char etag[35];                 /* a 200 GET's ETag, "" until computed (http_etag) */
    bool quiet;                    /* a ROUTE_QUIET route: logged at debug */
    struct watch *watch;           /* OWNED: a change-feed wait (watch.c), NULL if none */
    const struct web_asset *asset; /* the web app's file to send instead (web.h) */
};

/* Query-string parameter or NULL.  BORROWED for the request's lifetime. */
const char *req_query(struct req *r, const char *name);
/* A string argument of at most max bytes: body[name] when there is a body (the
 * JSON object of a write, or one item of it), else the query's.  *ret is NULL
 * when absent (or JSON null), BORROWED otherwise.  Any other JSON type or a
 * longer string replies 400 and returns -EINVAL: a wrong type is never taken
 * for an absent argument. */
int req_arg(struct req *r, const json_t *body, const char *name, size_t max, const char **ret);
/* A query flag: "true" or "false", def when absent; anything else replies 400
 * and returns -EINVAL. */
int req_query_bool(struct req *r, const char *name, bool def, bool *ret);
/* A query integer from min to max, def when absent; anything else (not all
 * digits, out of range) replies 400 and returns -EINVAL. */
int req_query_int(struct req *r, const char *name, long long min, long long max, long long def,
                  long long *ret);
/* The query string, decoded, as a cache key: "?<len>:k=<len>:v&..." in the
 * order sent (unambiguous).  Appends to out. */
int req_query_text(struct req *r, struct buf *out);
/* Request header or NULL.  BORROWED. */
const char *req_header(struct req *r, const char *name);
/* The parsed JSON object body; on failure replies 400 (or 413) and returns NULL. */
json_t *req_body_json(struct req *r);
/* Path parameter i (0-based, in pattern order). */
const char *req_param(struct req *r, size_t i);

/* Replies with status and body (TAKES body, may be NULL for "{}"). */
void http_reply(struct req *r, unsigned status, json_t *body);
/* Replies with a JSON text built already (TAKES its content: body is left
 * empty; init it with buf_init_secret when it may hold values). */
void http_reply_text(struct req *r, unsigned status, struct buf *body);
/* Fills r->etag from r->reply (once). */
void http_etag(struct req *r);
/* Replies with a JSON error {statusCode, error, message, reqId}.  The message
 * must never contain a secret value, token or key. */
void http_fail(struct req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Replies with the status that errno err maps to (one table for the project). */
void http_fail_errno(struct req *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
unsigned http_status_of_errno(int err);
/* Replies for a store call that failed with ret (a negative errno); fmt says
 * what failed ("store failure reading a user").  The status is ret's in the
 * table above; an errno the table does not make a client's error is the store
 * failing: 503 with HTTP_STORE_DOWN as the whole message, fmt, ret and the
 * store's text of the call (store_error: this thread's) in the log.  A 4xx says fmt and what ret
 * means ("...: not found"). */
void http_fail_store(struct req *r, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Starts/stops the HTTP daemon for srv; the bound address is written to
 * bound (e.g. "127.0.0.1:8200").  -EINVAL bad address, -EADDRINUSE, -EIO. */
int http_start(struct server *srv, const char *listen, char *bound, size_t bound_size);
void http_stop(struct server *srv);
/* Starts the metrics listener (GET /metrics only) on listen; http_stop stops
 * it.  Errors as http_start. */
int http_start_metrics(struct server *srv, const char *listen, char *bound, size_t bound_size);
/* Resumes a connection suspended by audit_hold (any thread). */
void http_resume(struct req *r);
