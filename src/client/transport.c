/* transport.c - libarca's HTTP client over one libcurl easy handle.
 *
 * The handle lives as long as the struct arca, so consecutive calls reuse the
 * connection (keep-alive).  Options that never change (timeouts, user agent,
 * protocols, the write callback) are set once; each call sets the URL, the
 * method, the body and the headers.  Request and response bodies are kept in
 * secret buffers (they carry tokens, authentication keys and wrapped keys) and
 * never appear in a message: only the server's own error message does.
 *
 * With conditional GETs on (transport_conditional), the answers to GETs are
 * kept in memory with their ETag: the next GET of the same path sends
 * If-None-Match, and a bodiless 304 is answered with a copy of the kept one.
 */
#include "client/transport.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/util.h"
#include "base/wire.h"
#include "client/client.h"

#define TRANSPORT_CONNECT_TIMEOUT_MS 5000L
#define TRANSPORT_TIMEOUT_MS 60000L
#define TRANSPORT_RESPONSE_MAX (64u * 1024 * 1024) /* 64 MiB */
#define TRANSPORT_SERVER_MSG_MAX 512               /* bytes of the server's message we repeat */

#define TRANSPORT_MEMO_MAX 64 /* paths whose answer conditional GETs keep */
#define TRANSPORT_ETAG_MAX 128

struct memo {
    char *path;                        /* OWNED; NULL: a free slot */
    char etag[TRANSPORT_ETAG_MAX + 1]; /* as the server sent it, quotes included */
    json_t *answer;                    /* OWNED: the 200 answer */
};

struct transport {
    CURL *curl;       /* OWNED */
    bool conditional; /* keep GET answers by ETag (memo) */
    bool fresh;       /* this call: no If-None-Match, nothing kept */
    struct memo memo[TRANSPORT_MEMO_MAX];
    size_t memo_next;                  /* the slot replaced next when all are used */
    char etag[TRANSPORT_ETAG_MAX + 1]; /* the ETag header of the answer being received */
    uint64_t n_fresh, n_not_modified;  /* conditional GETs answered 200 / 304 */
    struct buf response;               /* secret; the body being received */
    int write_error;                   /* why the body could not be kept (-E2BIG, -ENOMEM) */
    char errbuf[CURL_ERROR_SIZE];      /* libcurl's detail for the last failure */
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transport *t = userdata;
    size_t n = size * nmemb;

    int r = buf_add(&t->response, data, n);
    if (r < 0) {
        t->write_error = r;
        return 0; /* makes libcurl fail with CURLE_WRITE_ERROR */
    }
    return n;
}

/* Keeps the ETag header (only that one: nothing else of the headers is read). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transport *t = userdata;
    size_t n = size * nmemb, len;

    if (n > 5 && strncasecmp(data, "ETag:", 5) == 0) {
        const char *v = data + 5;
        while (*v == ' ' && v < data + n)
            v++;
        len = (size_t)(data + n - v);
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        if (len <= TRANSPORT_ETAG_MAX) {
            memcpy(t->etag, v, len);
            t->etag[len] = 0;
        }
    }
    return n;
}

static void memo_clear(struct memo *m)
{
    free(m->path);
    json_decref(m->answer);
    *m = (struct memo){0};
}

static struct memo *memo_find(struct transport *t, const char *path)
{
    for (size_t i = 0; i < TRANSPORT_MEMO_MAX; i++)
        if (t->memo[i].path && streq(t->memo[i].path, path))
            return &t->memo[i];
    return NULL;
}

/* Keeps answer (a copy) for path under t->etag; forgets path without an ETag. */
static void memo_keep(struct transport *t, const char *path, const json_t *answer)
{
    struct memo *m = memo_find(t, path);

    if (!m) {
        for (size_t i = 0; i < TRANSPORT_MEMO_MAX && !m; i++)
            if (!t->memo[i].path)
                m = &t->memo[i];
        if (!m) {
            m = &t->memo[t->memo_next];
            t->memo_next = (t->memo_next + 1) % TRANSPORT_MEMO_MAX;
        }
    }
    memo_clear(m);
    if (!t->etag[0] || !(m->path = strdup(path)))
        return;
    m->answer = json_deep_copy(answer);
    if (!m->answer) {
        memo_clear(m);
        return;
    }
    memcpy(m->etag, t->etag, sizeof(m->etag));
}

void transport_conditional(struct arca *a, bool on)
{
    a->transport->conditional = on;
}

void transport_fresh(struct arca *a)
{
    a->transport->fresh = true;
}

void transport_conditional_stats(const struct arca *a, uint64_t *ret_fresh,
                                 uint64_t *ret_not_modified)
{
    if (ret_fresh)
        *ret_fresh = a->transport->n_fresh;
    if (ret_not_modified)
        *ret_not_modified = a->transport->n_not_modified;
}

int transport_new(struct transport **ret)
{
    struct transport *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    buf_init_secret(&t->response, TRANSPORT_RESPONSE_MAX);
    t->curl = curl_easy_init();
    if (!t->curl) {
        free(t);
        return -ENOMEM;
    }

    CURL *c = t->curl;
    if (curl_easy_setopt(c, CURLOPT_USERAGENT, "arca/" ARCA_VERSION) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, TRANSPORT_CONNECT_TIMEOUT_MS) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TRANSPORT_TIMEOUT_MS) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)TRANSPORT_RESPONSE_MAX) !=
            CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, t) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HEADERDATA, t) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf) != CURLE_OK) {
        transport_free(t);
        return -ENOMEM;
    }
    *ret = t;
    return 0;
}

void transport_free(struct transport *t)
{
    if (!t)
        return;
    curl_easy_cleanup(t->curl);
    for (size_t i = 0; i < TRANSPORT_MEMO_MAX; i++)
        memo_clear(&t->memo[i]);
    buf_release(&t->response);
    free(t);
}

int transport_set_ca(struct arca *a, const char *ca_file)
{
    CURL *c = a->transport->curl;
    int fd = open(ca_file, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return client_error(a, -ENOENT, "cannot read the CA certificate file '%s': %s", ca_file,
                            strerror(errno));
    close(fd);
    /* only this file: no system store directory either */
    if (curl_easy_setopt(c, CURLOPT_CAINFO, ca_file) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK)
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

bool transport_cleartext_remote(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    struct in6_addr a6;
    unsigned char a4[sizeof(struct in_addr)];
    size_t len;
    bool remote = true; /* when it cannot tell: assume the worst */

    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        ;
    else if (strcasecmp(scheme, "http") != 0 || strcasecmp(host, "localhost") == 0)
        remote = false;
    else if (inet_pton(AF_INET, host, a4) == 1)
        remote = a4[0] != 127;
    else if (host[0] == '[' && (len = strlen(host)) > 2 && host[len - 1] == ']') {
        host[len - 1] = 0; /* "[::1]": the brackets are not part of the address */
        if (inet_pton(AF_INET6, host + 1, &a6) == 1)
            remote =
                !IN6_IS_ADDR_LOOPBACK(&a6) && !(IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return remote;
}

int transport_escape(struct arca *a, const char *s, struct buf *out)
{
    char *e = curl_easy_escape(a->transport->curl, s, (int)strlen(s));
    if (!e)
        return -ENOMEM;
    int r = buf_adds(out, e);
    curl_free(e);
    return r;
}

static void slist_freep(struct curl_slist **l)
{
    curl_slist_free_all(*l);
}
#define _cleanup_slist_ __attribute__((cleanup(slist_freep)))

static int map_curl_error(struct arca *a, CURLcode code)
{
    struct transport *t = a->transport;

    switch (code) {
    case CURLE_COULDNT_CONNECT:
        return client_error(a, -ECONNREFUSED,
                            "cannot reach the arca server at %s: is it running? "
                            "(set ARCA_API_URL or --api-url)",
                            a->api_url);
    case CURLE_COULDNT_RESOLVE_HOST:
        return client_error(a, -EHOSTUNREACH, "cannot resolve the host of the arca server at %s",
                            a->api_url);
    case CURLE_OPERATION_TIMEDOUT:
        return client_error(a, -ETIMEDOUT, "the arca server at %s did not answer in time",
                            a->api_url);
    case CURLE_FILESIZE_EXCEEDED:
        return client_error(a, -E2BIG, "the answer of the arca server is larger than 64 MiB");
    case CURLE_WRITE_ERROR:
        if (t->write_error == -E2BIG)
            return client_error(a, -E2BIG, "the answer of the arca server is larger than 64 MiB");
        if (t->write_error == -ENOMEM)
            return client_error(a, -ENOMEM, "out of memory");
        break;
    case CURLE_OUT_OF_MEMORY:
        return client_error(a, -ENOMEM, "out of memory");
    case CURLE_GOT_NOTHING:
        return client_error(a, -EIO,
                            "the arca server at %s closed the connection without answering (if it "
                            "serves https, use an https:// URL)",
                            a->api_url);
    case CURLE_PEER_FAILED_VERIFICATION:
        return client_error(
            a, -ECONNABORTED,
            "the certificate of the arca server at %s is not trusted: %s (for a "
            "private CA or a self-signed certificate set ARCA_CA_CERT or --ca-cert)",
            a->api_url, t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
        return client_error(a, -ECONNABORTED,
                            "cannot set up TLS with the arca server at %s: %s (is it an https "
                            "server? is the CA file (ARCA_CA_CERT, --ca-cert) PEM?)",
                            a->api_url, t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
    default:
        break;
    }
    return client_error(a, -EIO, "cannot talk to the arca server at %s: %s", a->api_url,
                        t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
}

/* Copies the server's message into out, dropping control characters (it is
 * shown on a terminal) and cutting it at TRANSPORT_SERVER_MSG_MAX bytes. */
static void copy_server_message(const char *msg, char *out, size_t out_size)
{
    size_t j = 0;
    for (size_t i = 0; msg[i] && j + 1 < out_size; i++) {
        unsigned char c = (unsigned char)msg[i];
        out[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[j] = 0;
}

static int map_http_error(struct arca *a, long status)
{
    struct transport *t = a->transport;
    _cleanup_json_ json_t *err = NULL;
    char msg[TRANSPORT_SERVER_MSG_MAX + 1] = "";
    char req_id[65] = "";
    bool unavailable = false; /* arca's own 503, not a proxy's */

    if (wire_parse(t->response.ptr ? t->response.ptr : "", t->response.len, &err, NULL) >= 0 &&
        json_is_object(err)) {
        const char *s;
        if (wire_get_str(err, "message", 0, &s) >= 0)
            copy_server_message(s, msg, sizeof(msg));
        if (wire_get_str(err, "reqId", 0, &s) >= 0)
            copy_server_message(s, req_id, sizeof(req_id));
        unavailable = status == 503 && wire_get_str(err, "error", 0, &s) >= 0 &&
                      streq(s, "ServiceUnavailable");
    }
    if (!msg[0])
        snprintf(msg, sizeof(msg), "the arca server answered HTTP %ld", status);

    int r;
    switch (status) {
    case 400:
        r = -EINVAL;
        break;
    case 401:
    case 403:
        r = -EACCES;
        break;
    case 404:
        r = -ENOENT;
        break;
    case 409:
        r = -EEXIST;
        break;
    case 413:
        r = -E2BIG;
        break;
    case 429: {
        curl_off_t wait = -1;
        if (curl_easy_getinfo(t->curl, CURLINFO_RETRY_AFTER, &wait) != CURLE_OK || wait < 0)
            wait = 0;
        a->retry_after = wait > 86400 ? 86400 : (unsigned)wait;
        if (a->retry_after) /* the server's message says the same, less precisely */
            return client_error(a, -EAGAIN, "rate limited by the server: try again in %u second%s",
                                a->retry_after, a->retry_after == 1 ? "" : "s");
        return client_error(a, -EAGAIN, "rate limited: %s", msg);
    }
    default:
        r = unavailable ? -ENOTCONN : status >= 500 && status <= 599 ? -EIO : -EPROTO;
        break;
    }
    if (r == -ENOTCONN)
        return client_error(a, r,
                            "the arca server answered 503: %s (request %s); try again shortly", msg,
                            req_id[0] ? req_id : "unknown");
    if (r == -EIO && req_id[0])
        return client_error(a, r, "%s (request %s)", msg, req_id);
    return client_error(a, r, "%s", msg);
}

int transport_call(struct arca *a, const char *method, const char *path_and_query, json_t *body,
                   json_t **ret_body, long *ret_status)
{
    struct transport *t = a->transport;
    CURL *c = t->curl;
    _cleanup_buf_ struct buf url = BUF_INIT;
    _cleanup_buf_ struct buf request = BUF_INIT;
    _cleanup_buf_ struct buf auth = BUF_INIT;
    _cleanup_slist_ struct curl_slist *headers = NULL;
    char inm[TRANSPORT_ETAG_MAX + 32];
    bool conditional = t->conditional && !t->fresh && streq(method, "GET");
    struct memo *memo = conditional ? memo_find(t, path_and_query) : NULL;
    int r;

    t->fresh = false;
    if (client_cache_offline(a)) /* the server was found down: no second wait */
        return client_cache_answer(a, method, path_and_query, ret_body);
    buf_init(&url, CLIENT_URL_MAX + 8192);
    buf_init_secret(&request, 0);
    buf_init_secret(&auth, CLIENT_TOKEN_MAX + 64);

    r = buf_printf(&url, "%s%s", a->api_url, path_and_query);
    if (r < 0)
        return client_error(a, r, "the request URL is too long");

    bool is_post = streq(method, "POST");
    if (body) {
        r = wire_dump(&request, body);
        if (r < 0)
            return client_error(a, r, r == -E2BIG ? "the request is too large" : "out of memory");
    } else if (is_post) {
        r = buf_adds(&request, "{}");
        if (r < 0)
            return client_error(a, r, "out of memory");
    }

    struct curl_slist *l = curl_slist_append(NULL, "Accept: application/json");
    if (!l)
        return client_error(a, -ENOMEM, "out of memory");
    headers = l;
    snprintf(inm, sizeof(inm), "If-None-Match: %s", memo ? memo->etag : "");
    const char *more[] = {
        request.len > 0 ? "Content-Type: application/json" : NULL,
        "Expect:", /* no 100-continue round trip for large bodies */
        memo ? inm : NULL,
    };
    for (size_t i = 0; i < ELEMENTSOF(more); i++) {
        if (!more[i])
            continue;
        l = curl_slist_append(headers, more[i]);
        if (!l)
            return client_error(a, -ENOMEM, "out of memory");
        headers = l;
    }
    if (a->token) {
        r = buf_printf(&auth, "Authorization: Bearer %s", a->token);
        if (r < 0)
            return client_error(a, r, "the session token is too long");
        l = curl_slist_append(headers, auth.ptr);
        if (!l)
            return client_error(a, -ENOMEM, "out of memory");
        headers = l;
    }

    bool ok = curl_easy_setopt(c, CURLOPT_URL, url.ptr) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    if (ok && is_post)
        ok =
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request.len) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.ptr) == CURLE_OK;
    else if (ok && streq(method, "GET"))
        ok = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    else if (ok && body == NULL) /* DELETE */
        ok = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    else if (ok)
        ok =
            curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request.len) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.ptr) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    if (!ok)
        return client_error(a, -EIO, "cannot prepare the request to %s", a->api_url);

    buf_clear(&t->response);
    t->etag[0] = 0;
    a->retry_after = 0;
    t->write_error = 0;
    t->errbuf[0] = 0;
    CURLcode code = curl_easy_perform(c);

    /* The handle must not keep pointers to buffers released on return. */
    (void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    (void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);

    if (code != CURLE_OK) {
        buf_release(&t->response);
        return client_cache_fallback(a, map_curl_error(a, code), 0, method, path_and_query,
                                     ret_body);
    }

    long status = 0;
    (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (ret_status)
        *ret_status = status;

    if (status == 304 && memo) {
        json_t *copy = json_deep_copy(memo->answer);
        buf_release(&t->response);
        if (!copy)
            return client_error(a, -ENOMEM, "out of memory");
        t->n_not_modified++;
        client_cache_keep(a, method, path_and_query, copy);
        if (ret_body)
            *ret_body = copy;
        else
            json_decref(copy);
        return 0;
    }
    if (status != 200) {
        if (memo)
            memo_clear(memo);
        r = map_http_error(a, status);
        buf_release(&t->response);
        if (status == 401 || status == 403 || status == 404)
            client_cache_refuse(a);
        return client_cache_fallback(a, r, status, method, path_and_query, ret_body);
    }

    json_t *answer = NULL;
    r = wire_parse(t->response.ptr ? t->response.ptr : "", t->response.len, &answer, NULL);
    buf_release(&t->response);
    if (r < 0 || !json_is_object(answer)) {
        json_decref(answer);
        return client_error(a, -EPROTO,
                            "the arca server at %s answered something that is not "
                            "a JSON object",
                            a->api_url);
    }
    client_cache_keep(a, method, path_and_query, answer);
    if (conditional) {
        t->n_fresh++;
        memo_keep(t, path_and_query, answer);
    }
    if (ret_body)
        *ret_body = answer;
    else
        json_decref(answer);
    return 0;
}
