/* server.c - start-up, the root key, signals, shutdown.
 *
 * All signals the server cares about are blocked before any thread starts, so
 * the libmicrohttpd threads inherit the mask and the main thread alone takes
 * SIGINT/SIGTERM with sigwait(): then it stops accepting, lets the requests in
 * flight finish, closes the store and returns 0.
 *
 * Core dumps are disabled (RLIMIT_CORE 0, not dumpable) so that key material in
 * memory never lands in a core file. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arca.h"
#include "archive.h"
#include "base/b64.h"
#include "base/log.h"
#include "base/util.h"
#include "base/wire.h"
#include "cache.h"
#include "crypto/seal.h"
#include "metrics.h"
#include "ratelimit.h"
#include "server.h"
#include "web.h"

json_t *json_time(int64_t ms)
{
    char s[25];

    time_format_iso(ms, s);
    return json_string(s);
}

json_t *json_b64(const void *data, size_t len)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    if (b64_encode(&b, data, len, B64_STD) < 0)
        return NULL;
    return json_stringn(b.ptr ? b.ptr : "", b.len);
}

int req_b64_field(struct req *r, const json_t *obj, const char *key, size_t min, size_t max,
                  struct buf *out)
{
    const char *s;
    int ret = wire_get_str(obj, key, max / 3 * 4 + 8, &s);

    if (ret == -ENOENT) {
        http_fail(r, 400, "'%s' is required", key);
        return ret;
    }
    if (ret < 0 || b64_decode(out, s, strlen(s), B64_STD) < 0 || out->len < min || out->len > max) {
        http_fail(r, 400, "'%s' must be base64 of %zu to %zu bytes", key, min, max);
        return -EINVAL;
    }
    return 0;
}

static void harden_process(void)
{
    struct rlimit rl = {0, 0};

    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* Reads the PEM file path (what: "certificate" or "private key") into out,
 * whose max bounds its size.  A private key must not be accessible to other
 * users (group access is allowed: Debian's ssl-cert group convention). */
static int tls_file_load(const char *path, const char *what, bool private, struct buf *out)
{
    char label[64];
    struct stat st;
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

    snprintf(label, sizeof(label), "cannot read the TLS %s file", what);
    if (fd < 0 || fstat(fd, &st) < 0) {
        ret = -errno;
        log_error(label, "file", path, "error", strerror(errno), NULL);
        if (fd >= 0)
            close(fd);
        return ret;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SERVER_TLS_PEM_MAX) {
        close(fd);
        log_error(label, "file", path, "error",
                  S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file", NULL);
        return -EINVAL;
    }
    if (private && (st.st_mode & 007)) {
        close(fd);
        log_error("the TLS private key file is accessible by other users: chmod 600 it "
                  "(or 640 with a dedicated group)",
                  "file", path, NULL);
        return -EACCES;
    }
    if (buf_grow(out, (size_t)st.st_size) == 0)
        while (out->len < (size_t)st.st_size &&
               (n = read(fd, out->ptr + out->len, (size_t)st.st_size - out->len)) > 0)
            out->len += (size_t)n;
    close(fd);
    if (out->ptr)
        out->ptr[out->len] = 0;
    if (n < 0 || out->len != (size_t)st.st_size) {
        log_error(label, "file", path, "error", n < 0 ? strerror(errno) : "short read", NULL);
        return -EIO;
    }
    snprintf(label, sizeof(label), private ? "PRIVATE KEY-----" : "CERTIFICATE-----");
    if (!strstr(buf_str(out), "-----BEGIN ") || !strstr(buf_str(out), label)) {
        snprintf(label, sizeof(label), "the TLS %s file is not in PEM format", what);
        log_error(label, "file", path, "expected",
                  private ? "-----BEGIN ... PRIVATE KEY-----" : "-----BEGIN CERTIFICATE-----",
                  NULL);
        return -EINVAL;
    }
    return 0;
}

/* The TLS certificate and key named by the configuration, if any. */
static int tls_load(struct server *srv)
{
    buf_init(&srv->tls_cert, SERVER_TLS_PEM_MAX);
    buf_init_secret(&srv->tls_key, SERVER_TLS_PEM_MAX);
    if (!srv->cfg.tls_cert && !srv->cfg.tls_key)
        return 0;
    if (!srv->cfg.tls_cert || !srv->cfg.tls_key) {
        log_error("TLS needs both a certificate and a private key file", NULL);
        return -EINVAL;
    }
    int ret = tls_file_load(srv->cfg.tls_cert, "certificate", false, &srv->tls_cert);
    return ret < 0 ? ret : tls_file_load(srv->cfg.tls_key, "private key", true, &srv->tls_key);
}

/* server_store_open's retries while PostgreSQL cannot be reached (r). */
static int pg_wait(const struct server_config *cfg, int r, struct store **ret, struct buf *err,
                   const struct buf *where)
{
    int64_t deadline = mono_us() + (int64_t)cfg->db_wait_s * 1000000, wait_ms = 500;
    sigset_t stop;

    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    for (unsigned attempt = 2; r == -ECONNREFUSED && mono_us() < deadline; attempt++) {
        int64_t left_ms = (deadline - mono_us()) / 1000;
        struct timespec ts;
        char n[16], in[24];

        wait_ms = wait_ms < left_ms ? wait_ms : left_ms > 0 ? left_ms : 0;
        snprintf(n, sizeof(n), "%u", attempt);
        snprintf(in, sizeof(in), "%lld", (long long)wait_ms);
        log_warn("cannot reach the database yet: trying again", "database", buf_str(where), "error",
                 buf_str(err), "attempt", n, "inMs", in, NULL);
        ts = (struct timespec){wait_ms / 1000, (long)(wait_ms % 1000) * 1000000};
        if (sigtimedwait(&stop, NULL, &ts) >= 0) /* blocked by server_run: a stop request */
            return -EINTR;
        buf_clear(err);
        r = store_pg_open(cfg->database_url, ret, err);
        wait_ms = wait_ms * 2 > 5000 ? 5000 : wait_ms * 2;
    }
    return r;
}

int server_store_open(const struct server_config *cfg, struct store **ret, struct buf *where)
{
    _cleanup_buf_ struct buf err = BUF_INIT;
    int r;

    if (cfg->database_url) {
        /* Logged as host:port/database: the URL may hold a password. */
        if (store_pg_describe(cfg->database_url, where) < 0) {
            log_error("the database URL must be postgres://[USER@]HOST[:PORT]/DATABASE", NULL);
            return -EINVAL;
        }
        r = store_pg_open(cfg->database_url, ret, &err);
        r = pg_wait(cfg, r, ret, &err, where);
    } else {
        r = buf_adds(where, cfg->data_dir);
        if (r >= 0)
            r = store_sqlite_open(cfg->data_dir, ret, &err);
    }
    if (r < 0)
        log_error("cannot open the store", "store", cfg->database_url ? "postgres" : "sqlite",
                  "database", buf_str(where), "error", buf_str(&err), NULL);
    return r;
}

/* A login rate limiter of setting rate, whose zero fields take the defaults. */
/* On a server with no user yet, says where the first account is made: the
 * web app's setup page (at --site-url when set, else an address to open, not
 * the wildcard it listens on), or `arca bootstrap` when the app is not built
 * in. */
static void log_first_run(struct server *srv, const char *bound)
{
    char url[160];
    const char *port = strrchr(bound, ':');
    int64_t n_users = 0;

    if (srv->store->ops->user_count(srv->store, &n_users) < 0 || n_users > 0 || !port)
        return;
    if (!web_built_in()) {
        log_info("no account yet: create the first one with 'arca bootstrap'", NULL);
        return;
    }
    bool any = startswith(bound, "0.0.0.0:") || startswith(bound, "[::]:");
    if (srv->cfg.site_url)
        snprintf(url, sizeof(url), "%.140s/setup", srv->cfg.site_url);
    else
        snprintf(url, sizeof(url), "%s://%.*s%s/setup", srv->tls_key.len ? "https" : "http",
                 any ? 9 : (int)(port - bound), any ? "localhost" : bound, port);
    log_info("no account yet: open the web app to create the first one (or run 'arca "
             "bootstrap')",
             "url", url, NULL);
}

static int rate_new(const struct server_rate *rate, unsigned burst, unsigned per_minute,
                    struct ratelimit **ret)
{
    return ratelimit_new(rate->burst ? rate->burst : burst,
                         rate->per_minute ? rate->per_minute : per_minute, 65536, ret);
}

int server_run(const struct server_config *cfg)
{
    struct server srv = {.cfg = *cfg};
    _cleanup_buf_ struct buf err = BUF_INIT;
    _cleanup_buf_ struct buf where = BUF_INIT; /* the database, for logs */
    char bound[96];
    sigset_t set;
    int sig = 0, ret;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    harden_process();
    /* Requests allocate and free tens of KB each: without this, glibc hands the
     * top of each thread's heap back to the kernel on every free (madvise,
     * then page faults and TLB shootdowns on every core to take it again).
     * And one heap per two cores, not one per thread: 16 request threads with
     * a heap each held 200 MB after listing 10,000 secrets (measured: 1 heap,
     * 42 MB, no loss on the small reads). */
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    mallopt(M_ARENA_MAX, cores > 3 ? (int)(cores / 2) : 1);
    /* jansson's strings may hold secret values (plaintext routes): wipe them */
    json_set_alloc_funcs(malloc, free_wiped);
    if (seal_init() < 0) {
        log_error("cannot initialise libsodium", NULL);
        return -EIO;
    }
    if (srv.cfg.max_body == 0)
        srv.cfg.max_body = SERVER_MAX_BODY_DEFAULT;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    ret = tls_load(&srv);
    if (ret < 0)
        goto out;
    ret = server_store_open(&srv.cfg, &srv.store, &where);
    if (ret < 0)
        goto out;
    ret = root_key_load(&srv, NULL);
    if (ret < 0)
        goto out;
    ret = root_key_check(&srv);
    if (ret < 0)
        goto out;
    ret = rate_new(&srv.cfg.login_ip, 20, 20, &srv.rl_ip);
    if (ret == 0)
        ret = rate_new(&srv.cfg.login_account, 10, 5, &srv.rl_account);
    if (ret == 0)
        ret = ratelimit_new(300, 300, 65536, &srv.rl_token);
    if (ret == 0)
        ret = ratelimit_new(SERVER_DENIED_BURST, SERVER_DENIED_PER_MINUTE, 65536, &srv.rl_denied);
    if (ret == 0)
        ret = ratelimit_new(60, 30, 65536, &srv.rl_share);
    if (ret == 0)
        ret = cache_new(&srv.cache);
    if (ret == 0)
        ret = metrics_init();
    if (ret == 0)
        ret = audit_start(&srv);
    if (ret < 0) {
        log_error("cannot start the audit writer", NULL);
        goto out;
    }
    ret = log_buffer_start(SERVER_ACCESS_LOG_BUFFER);
    if (ret < 0) {
        log_error("cannot start the access log's flusher", NULL);
        goto out;
    }
    if (archive_retention_start(&srv) < 0) {
        log_error("cannot start the audit retention thread", NULL);
        ret = -EAGAIN;
        goto out;
    }
    if (srv.cfg.audit_async)
        log_warn("audit records are not made durable before answering (--audit-async): "
                 "for measurements only",
                 NULL);
    if (srv.cfg.metrics_addr) {
        ret = http_start_metrics(&srv, srv.cfg.metrics_addr, bound, sizeof(bound));
        if (ret < 0) {
            log_error(ret == -EINVAL ? "invalid metrics address (use HOST:PORT, e.g. "
                                       "127.0.0.1:9200)"
                                     : "cannot listen for metrics (address in use?)",
                      "metricsListen", srv.cfg.metrics_addr, "error", srv.http_error, NULL);
            goto out;
        }
        log_info("metrics listening", "listen", bound, NULL);
    }
    ret = http_start(&srv, srv.cfg.listen, bound, sizeof(bound));
    if (ret < 0) {
        log_error(ret == -EINVAL    ? "invalid listen address (use HOST:PORT, e.g. 127.0.0.1:8200)"
                  : srv.tls_key.len ? "cannot start the HTTPS server (a key that does not match "
                                      "the certificate? the address in use?)"
                                    : "cannot listen (address in use?)",
                  "listen", srv.cfg.listen, "error", srv.http_error, NULL);
        goto out;
    }
    log_info("listening", "listen", bound, "dataDir", srv.cfg.data_dir, "store",
             srv.store->ops->name, "database", buf_str(&where), "version", ARCA_VERSION, "tls",
             srv.tls_key.len ? "true" : "false", "siteUrl",
             srv.cfg.site_url ? srv.cfg.site_url : "", NULL);
    log_first_run(&srv, bound);

    sigdelset(&set, SIGPIPE);
    while (sigwait(&set, &sig) != 0)
        ;
    log_info("stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    http_stop(&srv);
    ret = 0;
out:
    http_stop(&srv);
    archive_retention_stop(&srv);
    audit_stop(&srv);
    log_buffer_stop(); /* the last request lines: nothing is lost on a clean stop */
    ratelimit_free(srv.rl_ip);
    ratelimit_free(srv.rl_account);
    ratelimit_free(srv.rl_token);
    ratelimit_free(srv.rl_denied);
    ratelimit_free(srv.rl_share);
    cache_free(srv.cache);
    store_close(srv.store);
    seal_free(srv.root_key);
    audit_gens_free(&srv);
    buf_release(&srv.tls_cert);
    buf_release(&srv.tls_key);
    if (ret == 0)
        log_info("stopped", NULL);
    return ret;
}
