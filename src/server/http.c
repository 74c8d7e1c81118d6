/* http.c - libmicrohttpd glue: the only file that includes microhttpd.h.
 *
 * The daemon runs with an internal epoll thread pool.  For every request the
 * access handler is called several times: the first call allocates a struct
 * req, the following ones stream the body into it (bounded by max_body: past
 * it the rest is read and dropped, up to drain_max, and answered 413; a body
 * longer than that, chunked or not, has its connection closed), and the last
 * call (no more upload data) routes, authenticates and runs the handler, then
 * queues its reply.  The completion callback logs the request and frees it.
 *
 * A NUL byte (%00) anywhere in the URL's path or query is refused with 400:
 * C strings would silently cut a name or path at it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authz.h"
#include "base/log.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "metrics.h"
#include "server.h"
#include "web.h"

/* A form body's field names, at most, and its fields (values: the body's own
 * limit).  Forms carry logins: a few short fields. */
#define FORM_KEY_MAX 128
#define FORM_FIELDS_MAX 64

/* A body over the limit is read and dropped (so that the client, still
 * sending, reads the 413) up to the limit again, at most this much more. */
#define DRAIN_MAX (64ull * 1024 * 1024)

/* How many bytes of a body over max_body the server reads in all: past it the
 * connection is closed (libmicrohttpd cannot answer before the body ends). */
static unsigned long long drain_max(size_t max_body)
{
    return max_body + (max_body < DRAIN_MAX ? max_body : DRAIN_MAX);
}

const char *req_query(struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct buf *out = cls;

    (void)kind;
    value = value ? value : "";
    /* length-prefixed: decoded parts may hold '&' or '=' themselves */
    return buf_printf(out, "%c%zu:%s=%zu:%s", out->len ? '&' : '?', strlen(key), key, strlen(value),
                      value) < 0
               ? MHD_NO
               : MHD_YES;
}

int req_arg(struct req *r, const json_t *body, const char *name, size_t max, const char **ret)
{
    const char *v = NULL;

    if (body ? wire_get_str_or(body, name, max, NULL, &v) < 0
             : (v = req_query(r, name)) && strlen(v) > max) {
        http_fail(r, 400, "'%s' must be a string of at most %zu bytes", name, max);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

int req_query_bool(struct req *r, const char *name, bool def, bool *ret)
{
    const char *v = req_query(r, name);

    if (v && !streq(v, "true") && !streq(v, "false")) {
        http_fail(r, 400, "'%s' must be true or false", name);
        return -EINVAL;
    }
    *ret = v ? streq(v, "true") : def;
    return 0;
}

int req_query_int(struct req *r, const char *name, long long min, long long max, long long def,
                  long long *ret)
{
    const char *v = req_query(r, name);
    char *end = NULL;
    long long n = def;

    if (v) {
        errno = 0;
        n = strtoll(v, &end, 10);
        if (!(isdigit((unsigned char)*v) || *v == '-') || *end || errno || n < min || n > max) {
            http_fail(r, 400, "'%s' must be a number from %lld to %lld", name, min, max);
            return -EINVAL;
        }
    }
    *ret = n;
    return 0;
}

int req_query_text(struct req *r, struct buf *out)
{
    _cleanup_buf_ struct buf q = BUF_INIT; /* add_arg tells '?' from '&' by its length */

    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
    return buf_add(out, q.ptr ? q.ptr : "", q.len);
}

const char *req_header(struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_param(struct req *r, size_t i)
{
    return i < r->n_params ? r->params[i] : "";
}

/* A form body being decoded by libmicrohttpd's post processor into a JSON
 * object of strings: the field whose value is arriving (in pieces) is key. */
struct form {
    json_t *obj;
    char key[FORM_KEY_MAX + 1];
    struct buf value; /* SECRET: a client secret arrives as a form field */
    const char *why;  /* NULL, or why the body is refused */
};

static void form_flush(struct form *f)
{
    json_t *v;

    if (!f->key[0] || f->why)
        return;
    /* json_stringn refuses text that is not UTF-8 */
    v = json_stringn(f->value.ptr ? (const char *)f->value.ptr : "", f->value.len);
    if (!v || memchr(f->value.ptr ? (const char *)f->value.ptr : "", 0, f->value.len))
        f->why = "a form field's value is not UTF-8 text";
    else if (json_object_get(f->obj, f->key))
        f->why = "a form field is given twice";
    else if (json_object_size(f->obj) >= FORM_FIELDS_MAX)
        f->why = "more than 64 form fields";
    else if (json_object_set(f->obj, f->key, v) < 0)
        f->why = "cannot decode the form body";
    json_decref(v);
    f->key[0] = 0;
    buf_clear(&f->value);
}

static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *filename, const char *content_type,
                                  const char *transfer_encoding, const char *data, uint64_t off,
                                  size_t size)
{
    struct form *f = cls;

    (void)kind;
    if (filename || strlen(key) > FORM_KEY_MAX || !*key) {
        f->why = "a form field's name is empty, too long or a file";
        return MHD_NO;
    }
    if (off == 0 || !streq(key, f->key)) {
        form_flush(f);
        snprintf(f->key, sizeof(f->key), "%s", key);
    }
    if (f->why || buf_add(&f->value, data, size) < 0) {
        f->why = f->why ? f->why : "a form field is too long";
        return MHD_NO;
    }
    return MHD_YES;
}

/* Infisical's server takes application/x-www-form-urlencoded wherever it takes
 * JSON, and its clients use it (the GitHub action's universal-auth login, the
 * Rust SDK's cloud logins): decoded by libmicrohttpd into an object of strings. */
static json_t *body_form(struct req *r)
{
    struct form f = {.obj = json_object()};
    struct MHD_PostProcessor *pp;
    bool ok;

    buf_init_secret(&f.value, r->srv->cfg.max_body);
    pp = f.obj ? MHD_create_post_processor(r->conn, 1024, form_field, &f) : NULL;
    ok = pp && MHD_post_process(pp, (const char *)r->body.ptr, r->body.len) == MHD_YES;
    if (pp && MHD_destroy_post_processor(pp) != MHD_YES)
        ok = false;
    form_flush(&f);
    buf_release(&f.value);
    if (!ok || f.why) {
        http_fail(r, 400, "malformed form body: %s",
                  f.why ? f.why : "not application/x-www-form-urlencoded");
        json_decref(f.obj);
        return NULL;
    }
    return f.obj;
}

json_t *req_body_json(struct req *r)
{
    _cleanup_buf_ struct buf err = BUF_INIT;
    const char *type = req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);

    if (r->json)
        return r->json;
    if (r->body.len == 0) {
        http_fail(r, 400, "request body must be a JSON object");
        return NULL;
    }
    if (type && strncasecmp(type, MHD_HTTP_POST_ENCODING_FORM_URLENCODED,
                            strlen(MHD_HTTP_POST_ENCODING_FORM_URLENCODED)) == 0)
        return r->json = body_form(r);
    if (wire_parse(r->body.ptr, r->body.len, &r->json, &err) < 0) {
        http_fail(r, 400, "malformed JSON body: %s", buf_str(&err));
        return NULL;
    }
    if (!json_is_object(r->json)) {
        http_fail(r, 400, "request body must be a JSON object");
        return NULL;
    }
    return r->json;
}

static const struct {
    unsigned status;
    const char *name;
} error_names[] = {
    {400, "BadRequest"},         {401, "UnauthorizedError"},
    {403, "PermissionDenied"},   {404, "NotFound"},
    {405, "MethodNotAllowed"},   {409, "Conflict"},
    {413, "PayloadTooLarge"},    {422, "ValidationFailure"},
    {429, "RateLimitError"},     {500, "InternalServerError"},
    {503, "ServiceUnavailable"},
};

static const char *error_name(unsigned status)
{
    for (size_t i = 0; i < ELEMENTSOF(error_names); i++)
        if (error_names[i].status == status)
            return error_names[i].name;
    return status >= 500 ? "InternalServerError" : "BadRequest";
}

unsigned http_status_of_errno(int err)
{
    switch (err) {
    case -ENOENT:
        return 404;
    case -EEXIST:
        return 409;
    case -EACCES:
        return 403;
    case -EINVAL:
    case -EBADMSG:
        return 400;
    case -E2BIG:
        return 413;
    case -EAGAIN:
    case -EBUSY:
    case -EIO: /* the store failed */
        return 503;
    default:
        return 500;
    }
}

void http_reply(struct req *r, unsigned status, json_t *body)
{
    if (r->status) { /* replied already: a bug, keep the first answer */
        json_decref(body);
        return;
    }
    buf_clear(&r->reply);
    if (!body || wire_dump(&r->reply, body) < 0) {
        buf_clear(&r->reply);
        buf_adds(&r->reply, "{}");
    }
    json_decref(body);
    r->status = status;
}

void http_reply_text(struct req *r, unsigned status, struct buf *body)
{
    struct buf old = r->reply;

    if (r->status)
        return;
    r->reply = *body;
    *body = old; /* empty: released by the caller */
    buf_clear(body);
    r->status = status;
}

static void fail_v(struct req *r, unsigned status, const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (status >= 500) {
        /* the details go to the log, the client gets a generic message: a 503
         * is always the store (or the audit log in it) failing */
        log_error("request failed", "reqId", r->req_id, "path", r->path, "error", msg, NULL);
        snprintf(msg, sizeof(msg), status == 503 ? HTTP_STORE_DOWN : "Something went wrong");
    }
    http_reply(r, status,
               json_pack("{s:i, s:s, s:s, s:s}", "statusCode", (int)status, "error",
                         error_name(status), "message", msg, "reqId", r->req_id));
}

void http_fail(struct req *r, unsigned status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fail_v(r, status, fmt, ap);
    va_end(ap);
}

void http_fail_errno(struct req *r, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fail_v(r, http_status_of_errno(err), fmt, ap);
    va_end(ap);
}

/* What a store errno the table makes a client's error means, for its reply. */
static const char *store_errno_text(int err)
{
    switch (err) {
    case -ENOENT:
        return "not found";
    case -EEXIST:
        return "already exists";
    case -EACCES:
        return "not allowed";
    case -E2BIG:
        return "too large";
    default:
        return "a value the store does not accept";
    }
}

void http_fail_store(struct req *r, int ret, const char *fmt, ...)
{
    unsigned status = http_status_of_errno(ret);
    char what[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* The store's text is this thread's last call's: the one that failed. */
    if (status >= 500)
        http_fail(r, 503, "%s (%d)%s%s", what, ret, *store_error() ? ": " : "", store_error());
    else
        http_fail(r, status, "%s: %s", what, store_errno_text(ret));
}

/* Request ids, "req-" + 14 characters of [A-Za-z0-9]: 6 drawn once per
 * process (http_start), then 8 of a number from a block of 4096 that each
 * thread takes in turn: no getrandom per request.  Unique within the process
 * (62^8 numbers), and across processes (several servers on one database) but
 * for a chance of 1 in 62^6.  They name a request in logs and replies and
 * guard nothing. */
static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static char req_prefix[6];
static atomic_uint_fast64_t req_blocks;

static void req_prefix_draw(void)
{
    uint8_t rnd[sizeof(req_prefix)];

    seal_random(rnd, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++)
        req_prefix[i] = alnum[rnd[i] % (sizeof(alnum) - 1)];
}

static void req_id_new(char out[REQ_ID_LEN + 1])
{
    static _Thread_local uint64_t next, end;
    uint64_t n;

    if (next == end) {
        next = atomic_fetch_add(&req_blocks, 1) * 4096;
        end = next + 4096;
    }
    n = next++;
    memcpy(out, "req-", 4);
    memcpy(out + 4, req_prefix, sizeof(req_prefix));
    for (size_t i = REQ_ID_LEN; i > 4 + sizeof(req_prefix); i--, n /= sizeof(alnum) - 1)
        out[i - 1] = alnum[n % (sizeof(alnum) - 1)];
    out[REQ_ID_LEN] = 0;
}

/* Canonical request path: one leading '/', no trailing '/', no empty segments
 * ("//api/status/" -> "/api/status"); clients send all of these. */
static char *path_canonical(const char *url)
{
    size_t n = strlen(url);
    char *p = malloc(n + 2), *w = p;

    if (!p)
        return NULL;
    *w++ = '/';
    for (const char *s = url; *s; s++)
        if (*s != '/' || w[-1] != '/')
            *w++ = *s;
    if (w > p + 1 && w[-1] == '/')
        w--;
    *w = 0;
    return p;
}

static void remote_addr(struct MHD_Connection *c, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    out[0] = 0;
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out, size);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out, size);
}

/* ETag of the reply: 128 bits of its hash, quoted. */
void http_etag(struct req *r)
{
    uint8_t h[SEAL_HASH_BYTES];

    if (r->etag[0])
        return;
    seal_hash_token(r->reply.ptr, r->reply.len, h);
    r->etag[0] = '"';
    hex_encode(h, 16, r->etag + 1);
    r->etag[33] = '"';
    r->etag[34] = 0;
}

/* Whether an Accept-Encoding value takes gzip: a "gzip" or "*" coding whose
 * q is not 0. */
static bool accepts_gzip(const char *ae)
{
    while (ae && *ae) {
        const char *end = strchr(ae, ',');
        size_t n = end ? (size_t)(end - ae) : strlen(ae);
        char tok[64];

        while (n > 0 && (*ae == ' ' || *ae == '\t'))
            ae++, n--;
        if (n < sizeof(tok)) {
            memcpy(tok, ae, n);
            tok[n] = 0;
            const char *q = strstr(tok, ";q=");
            size_t name = strcspn(tok, "; \t");
            if (((name == 4 && strncasecmp(tok, "gzip", 4) == 0) || (name == 1 && tok[0] == '*')) &&
                (!q || strtod(q + 3, NULL) > 0))
                return true;
        }
        ae = end ? end + 1 : NULL;
    }
    return false;
}

/* A file of the web app (web.h): gzip when the client takes it, the
 * security headers, its ETag and caching.  The bytes are static. */
static enum MHD_Result queue_asset(struct req *r)
{
    const struct web_asset *a = r->asset;
    bool gz = a->gz && accepts_gzip(req_header(r, "Accept-Encoding"));
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (r->status == 304)
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    else
        resp = MHD_create_response_from_buffer(
            gz ? a->gz_len : a->len, (void *)(gz ? a->gz : a->body), MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    if (r->status != 304)
        MHD_add_response_header(resp, "Content-Type", a->type);
    if (gz && r->status != 304)
        MHD_add_response_header(resp, "Content-Encoding", "gzip");
    MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    MHD_add_response_header(resp, "ETag", a->etag);
    MHD_add_response_header(resp, "Cache-Control",
                            a->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    for (const struct web_header *h = web_headers; h->name; h++)
        MHD_add_response_header(resp, h->name, h->value);
    ret = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    r->queued = true;
    return ret;
}

static enum MHD_Result queue(struct req *r)
{
    struct MHD_Response *resp;
    size_t len = r->reply.len;
    const char *inm;
    bool get200 = r->status == 200 && streq(r->method, "GET");
    char *body;
    enum MHD_Result ret;

    if (r->asset)
        return queue_asset(r);

    if (get200)
        http_etag(r);
    body = buf_detach(&r->reply);
    if (!body)
        return MHD_NO;
    if (get200) {
        /* clients poll with If-None-Match; an unchanged answer is a bodiless 304 */
        inm = req_header(r, "If-None-Match");
        if (inm && (streq(inm, r->etag) || (startswith(inm, "W/") && streq(inm + 2, r->etag)))) {
            r->status = 304;
            explicit_bzero(body, len);
            len = 0;
        }
    }
    /* bodies may hold secret values (plaintext routes): wiped when released */
    resp = MHD_create_response_from_buffer_with_free_callback(len, body, free_wiped);
    if (!resp) {
        free_wiped(body);
        return MHD_NO;
    }
    if (r->status != 304)
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Request-Id", r->req_id);
    if (get200)
        MHD_add_response_header(resp, "ETag", r->etag);
    if (r->status == 429 && r->retry_after) {
        char retry[16];
        snprintf(retry, sizeof(retry), "%u", r->retry_after);
        MHD_add_response_header(resp, "Retry-After", retry);
    }
    ret = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    r->queued = true;
    return ret;
}

/* Whether to answer 413 before the body is sent.  Only when the client waits
 * for "100 Continue" (it has not sent the body yet) or the body is absurdly
 * large: a client that is already sending would see its connection reset
 * before it reads the reply, so a moderately oversized body is read and
 * dropped, then answered. */
static bool refuse_early(struct MHD_Connection *conn, size_t max_body)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");
    unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;

    if (len <= max_body)
        return false;
    return (expect && strcasecmp(expect, "100-continue") == 0) || len > drain_max(max_body);
}

/* Whether a URL decoded to a NUL byte: unescape() turns such a part into a
 * leading NUL (the path then reads "", a query argument's size stays whole). */
static enum MHD_Result arg_has_nul(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    bool *nul = cls;

    (void)kind;
    if (memchr(key, 0, key_size) || (value && memchr(value, 0, value_size)))
        *nul = true;
    return MHD_YES;
}

static bool url_has_nul(struct MHD_Connection *conn, const char *url)
{
    bool nul = !*url; /* a request target is never empty: unescape() emptied it */

    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, arg_has_nul, &nul);
    return nul;
}

/* %HH-decodes s as libmicrohttpd does by default; a part holding a NUL byte
 * once decoded starts with one, so that url_has_nul sees it whatever the rest. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    size_t n = MHD_http_unescape(s);

    (void)cls;
    (void)c;
    if (memchr(s, 0, n))
        s[0] = 0;
    return n;
}

static void dispatch(struct req *r)
{
    const struct route *route;
    unsigned status;

    route = router_match(r, &status);
    if (!route && status == 404 && web_route(r))
        return;
    if (!route) {
        if (status == 405)
            http_fail(r, 405, "method %s is not allowed on %s", r->method, r->path);
        else
            http_fail(r, 404, "no route for %s %s", r->method, r->path);
        return;
    }
    size_t n_routes;
    r->route = (int)(route - router_table(&n_routes));
    r->quiet = route->flags & ROUTE_QUIET;
    if (!(route->flags & ROUTE_PUBLIC)) {
        /* before anything is loaded: what is loaded now is current for it */
        r->epoch_ok = r->srv->store->ops->epoch(r->srv->store, &r->epoch) == 0;
        if (!r->epoch_ok)
            metrics_store_error(METRICS_STORE_EPOCH);
        if (auth_request(r) < 0)
            return;
        r->cache_reply = (route->flags & ROUTE_CACHED) && r->epoch_ok;
    }
    bool cached = r->cache_reply; /* reply_from_cache clears it on a hit */
    bool hit = cached && reply_from_cache(r);
    if (cached)
        metrics_cache(hit);
    if (!hit) {
        route->handler(r);
        if (r->cache_reply)
            reply_to_cache(r);
    }
    if (!r->status)
        http_fail(r, 500, "handler for %s %s gave no reply", r->method, r->path);
}

static void suspend(struct req *r)
{
    MHD_suspend_connection(r->conn);
}

/* Connections open on this request thread (libmicrohttpd's pool: a thread
 * accepts a connection and serves it to the end). */
static _Thread_local int thread_conns;

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)conn;
    (void)socket_context;
    thread_conns += code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1;
}

void http_resume(struct req *r)
{
    MHD_resume_connection(r->conn);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct server *srv = cls;
    struct req *r = *con_cls;

    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->srv = srv;
        r->conn = conn;
        r->method = method;
        r->start_us = mono_us();
        r->route = -1;
        r->path = path_canonical(url);
        buf_init(&r->body, srv->cfg.max_body);
        buf_init_secret(&r->reply, 0);
        req_id_new(r->req_id);
        remote_addr(conn, r->remote, sizeof(r->remote));
        r->user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
        *con_cls = r;
        if (!r->path)
            return MHD_NO;
        if (url_has_nul(conn, url)) {
            http_fail(r, 400,
                      "the URL holds a NUL byte (%%00), which no path, name or "
                      "parameter may contain");
            return queue(r);
        }
        if (refuse_early(conn, srv->cfg.max_body)) {
            /* libmicrohttpd closes the connection after this reply and never
             * reads the body */
            http_fail(r, 413, "request body is larger than %zu bytes", srv->cfg.max_body);
            return queue(r);
        }
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        /* over the limit: keep reading (and dropping) the body, answer 413 at the
         * end; past drain_max (a chunked body has no length to refuse early) close */
        r->body_read += *upload_data_size;
        if (!r->body_too_large && buf_add(&r->body, upload_data, *upload_data_size) < 0) {
            r->body_too_large = true;
            buf_release(&r->body);
        }
        *upload_data_size = 0;
        if (r->body_read > drain_max(srv->cfg.max_body)) {
            /* the status is for the log line: the client gets no answer */
            http_fail(r, 413, "request body is larger than %zu bytes", srv->cfg.max_body);
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (r->body_too_large) {
        http_fail(r, 413, "request body is larger than %zu bytes", srv->cfg.max_body);
        return queue(r);
    }
    if (r->queued)
        return MHD_YES;
    if (!r->dispatched) {
        r->dispatched = true;
        dispatch(r);
        if (audit_hold(r, suspend, thread_conns <= 1))
            return MHD_YES; /* called again once resumed */
    }
    int failed = audit_held_result(r);
    if (failed < 0) {
        r->status = 0; /* the held reply is not served */
        http_fail(r, 503,
                  "the audit log cannot be written (%d): request refused (any change it made "
                  "is stored)",
                  failed);
    }
    if (watch_hold(r, suspend))
        return MHD_YES; /* called again once the change feed answers */
    return queue(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;

    if (!r)
        return;
    int64_t us = mono_us() - r->start_us;
    log_request(r->quiet ? LOG_DEBUG : LOG_INFO, r->req_id, r->method, r->path ? r->path : "",
                r->status, us, r->remote);
    metrics_request(r->route, r->status, us);
    json_decref(r->json);
    watch_release(r);
    authz_policy_free(r->who.policy);
    buf_release(&r->body);
    buf_release(&r->reply);
    buf_release(&r->cache_event);
    free(r->param_buf);
    free(r->path);
    free(r);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct server *srv = cls;
    char msg[256];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    log_warn("libmicrohttpd", "detail", msg, NULL);
    if (!srv->daemon && !srv->http_error[0]) /* starting: why http_start fails, for its caller */
        snprintf(srv->http_error, sizeof(srv->http_error), "%s", msg);
}

/* Parses "host:port" / "[v6]:port" into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
    char host[128];
    const char *colon = strrchr(listen, ':'), *h = listen;
    size_t hl;
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;

    if (!colon || colon == listen)
        return -EINVAL;
    hl = (size_t)(colon - listen);
    if (listen[0] == '[') {
        if (colon[-1] != ']')
            return -EINVAL;
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(host))
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = 0;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
        return -EINVAL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

/* "host:port" / "[v6]:port" that daemon d listens on (the port the kernel
 * chose for port 0), into bound. */
static void bound_address(struct MHD_Daemon *d, const struct sockaddr_storage *ss, bool v6,
                          char *bound, size_t bound_size)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET6_ADDRSTRLEN];

    if (v6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
    snprintf(bound, bound_size, v6 ? "[%s]:%u" : "%s:%u", host, info ? (unsigned)info->port : 0u);
}

int http_start(struct server *srv, const char *listen, char *bound, size_t bound_size)
{
    struct sockaddr_storage ss = {0};
    bool v6 = false;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    unsigned threads = srv->cfg.threads;
    struct MHD_Daemon *d;
    /* TLS 1.2 and 1.3 only; libmicrohttpd keeps the key pointer (wiped at exit) */
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert.ptr},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key.ptr},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
        {MHD_OPTION_END, 0, NULL},
    };

    if (parse_listen(listen, &ss, &v6) < 0)
        return -EINVAL;
    req_prefix_draw();
    if (v6)
        flags |= MHD_USE_IPv6;
    if (srv->tls_key.len)
        flags |= MHD_USE_TLS;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = SERVER_THREADS_PER_CORE * (n > 0 ? (unsigned)n : 1);
        threads = threads < SERVER_THREADS_MAX ? threads : SERVER_THREADS_MAX;
    }
    d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
                         on_mhd_log, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 1024u,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                         MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_NOTIFY_CONNECTION,
                         on_connection, NULL, MHD_OPTION_ARRAY, srv->tls_key.len ? tls : tls + 3,
                         MHD_OPTION_END);
    if (!d)
        return -EADDRINUSE;
    srv->daemon = d;
    bound_address(d, &ss, v6, bound, bound_size);
    return 0;
}

/* The metrics listener: GET /metrics and nothing else, one thread, no
 * authentication (its address is the protection: docs/metrics.md). */
static enum MHD_Result on_metrics(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    static int seen;
    struct server *srv = cls;
    _cleanup_buf_ struct buf text = BUF_INIT;
    struct MHD_Response *resp;
    unsigned status = 200;
    enum MHD_Result ret;

    if (!*con_cls) { /* answer on the second call, as the main listener does */
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size) { /* no body is wanted: drop it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!streq(url, "/metrics")) {
        status = 404;
        buf_adds(&text, "only /metrics is served here\n");
    } else if (!streq(method, "GET") && !streq(method, "HEAD")) {
        status = 405;
        buf_adds(&text, "use GET\n");
    } else if (metrics_render(srv, &text) < 0) {
        status = 500;
        buf_clear(&text);
        buf_adds(&text, "cannot render the metrics\n");
    }
    resp = MHD_create_response_from_buffer(text.len, text.ptr ? text.ptr : (void *)"",
                                           MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

int http_start_metrics(struct server *srv, const char *listen, char *bound, size_t bound_size)
{
    struct sockaddr_storage ss = {0};
    bool v6 = false;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d;

    if (parse_listen(listen, &ss, &v6) < 0)
        return -EINVAL;
    if (v6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(flags, 0, NULL, NULL, on_metrics, srv, MHD_OPTION_EXTERNAL_LOGGER,
                         on_mhd_log, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024, MHD_OPTION_END);
    if (!d)
        return -EADDRINUSE;
    srv->metrics_daemon = d;
    bound_address(d, &ss, v6, bound, bound_size);
    return 0;
}

void http_stop(struct server *srv)
{
    if (srv->metrics_daemon) {
        MHD_stop_daemon(srv->metrics_daemon);
        srv->metrics_daemon = NULL;
    }
    if (!srv->daemon)
        return;
    MHD_quiesce_daemon(srv->daemon);
    watch_drain();
    audit_drain_held(srv); /* stopping with suspended connections is not allowed */
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}
