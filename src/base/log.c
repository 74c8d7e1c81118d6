/* log.c - JSON-lines logging.
 *
 * Each line is built as a jansson object (so escaping is jansson's), dumped
 * compact — the access log's line directly, its strings dumped by jansson —
 * and written whole on the log fd under one lock, which keeps lines
 * from concurrent threads whole and in order.  Strings that are not valid
 * UTF-8 (jansson refuses them) have their bad bytes replaced by U+FFFD first.
 * The level and fd are atomics: set them at start-up, read them from any
 * thread.
 *
 * Access-log buffering (log_buffer_start), as nginx's `access_log ...
 * buffer=`: request lines collect in one buffer that is written when it is
 * full, when any other line is logged (before it: the order stays), every
 * second (a flusher thread), and by log_buffer_stop.  A crash loses at most
 * the last second of request lines; the audit log is the record of truth. */
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"
#include "wire.h"

static atomic_int log_min = LOG_INFO;
static atomic_int log_fd = 2;

/* The access-log buffer and its flusher: all under out_lock. */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flush_cond = PTHREAD_COND_INITIALIZER;
static char *pending; /* request lines not yet written, NULL: not buffering */
static size_t pending_len, pending_size;
static pthread_t flusher;
static bool flusher_stop;

void log_set_level(enum log_level min)
{
    atomic_store(&log_min, (int)min);
}

void log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

static const char *level_name(enum log_level l)
{
    switch (l) {
    case LOG_DEBUG:
        return "debug";
    case LOG_INFO:
        return "info";
    case LOG_WARN:
        return "warn";
    case LOG_ERROR:
        return "error";
    }
    return "info";
}

static void set_str(json_t *o, const char *key, const char *value)
{
    json_t *v;

    if (!key)
        return;
    v = wire_text(value);
    if (v)
        json_object_set_new(o, key, v);
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        p += w;
        len -= (size_t)w;
    }
}

/* Writes the buffered lines; under out_lock. */
static void flush_locked(void)
{
    if (pending_len)
        write_all(atomic_load(&log_fd), pending, pending_len);
    pending_len = 0;
}

/* text (len bytes, its newline included): a request line (buffered) goes to
 * the buffer while it fits; anything else is written after what is buffered. */
static void write_text(const char *text, size_t len, bool buffered)
{
    pthread_mutex_lock(&out_lock);
    if (pending && buffered && pending_len + len > pending_size)
        flush_locked();
    if (pending && buffered && len <= pending_size) {
        memcpy(pending + pending_len, text, len);
        pending_len += len;
    } else {
        flush_locked();
        write_all(atomic_load(&log_fd), text, len);
    }
    pthread_mutex_unlock(&out_lock);
}

static void write_line(json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    size_t len;

    if (!text)
        return;
    len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: json_dumps' result is freed, not printed */
    write_text(text, len + 1, false);
    free(text);
}

static void *flush_every_second(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&out_lock);
    while (!flusher_stop) {
        struct timespec t = realtime_after_ms(1000);

        pthread_cond_timedwait(&flush_cond, &out_lock, &t);
        flush_locked();
    }
    pthread_mutex_unlock(&out_lock);
    return NULL;
}

int log_buffer_start(size_t size)
{
    char *b = size ? malloc(size) : NULL;
    int ret = 0;

    if (!b)
        return size ? -ENOMEM : 0;
    pthread_mutex_lock(&out_lock);
    if (pending) { /* started already */
        pthread_mutex_unlock(&out_lock);
        free(b);
        return 0;
    }
    pending = b;
    pending_size = size;
    pending_len = 0;
    flusher_stop = false;
    if (pthread_create(&flusher, NULL, flush_every_second, NULL) != 0) {
        pending = NULL;
        ret = -EAGAIN;
    }
    pthread_mutex_unlock(&out_lock);
    if (ret < 0)
        free(b);
    return ret;
}

void log_buffer_stop(void)
{
    char *b;

    pthread_mutex_lock(&out_lock);
    if (!pending) {
        pthread_mutex_unlock(&out_lock);
        return;
    }
    flusher_stop = true;
    pthread_cond_signal(&flush_cond);
    pthread_mutex_unlock(&out_lock);
    pthread_join(flusher, NULL);
    pthread_mutex_lock(&out_lock);
    flush_locked();
    b = pending;
    pending = NULL;
    pthread_mutex_unlock(&out_lock);
    free(b);
}

static json_t *line_new(enum log_level level, const char *msg)
{
    char ts[25];
    json_t *o = json_object();

    if (!o)
        return NULL;
    time_format_iso(now_ms(), ts);
    json_object_set_new(o, "time", json_string(ts));
    json_object_set_new(o, "level", json_string(level_name(level)));
    set_str(o, "msg", msg ? msg : "");
    return o;
}

void log_emit(enum log_level level, const char *msg, ...)
{
    json_t *o;
    va_list ap;

    if ((int)level < atomic_load(&log_min))
        return;
    o = line_new(level, msg);
    if (!o)
        return;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *), *v;
        if (!k)
            break;
        v = va_arg(ap, const char *);
        if (streq(k, "time") || streq(k, "level") || streq(k, "msg"))
            continue; /* the fixed fields cannot be overridden */
        set_str(o, k, v);
    }
    va_end(ap);
    write_line(o);
    json_decref(o);
}

/* Appends s to b as a JSON string, escaped by jansson (wire_text). */
static int add_json_str(struct buf *b, const char *s)
{
    json_t *j = wire_text(s);
    size_t n = j ? json_dumpb(j, NULL, 0, JSON_ENCODE_ANY) : 0;
    int r = n ? buf_grow(b, n) : -ENOMEM;

    if (r >= 0) {
        json_dumpb(j, b->ptr + b->len, n, JSON_ENCODE_ANY);
        b->len += n;
        b->ptr[b->len] = 0;
    }
    json_decref(j);
    return r;
}

/* The line of every request, so built directly rather than as an object of
 * ten values dumped (which cost 5% of a cached read's CPU); the same fields
 * in the same order, the strings still escaped by jansson. */
void log_request(enum log_level level, const char *req_id, const char *method, const char *path,
                 unsigned status, int64_t duration_us, const char *remote)
{
    _cleanup_buf_ struct buf b = BUF_INIT;
    char ts[25];
    int r;

    if ((int)level < atomic_load(&log_min))
        return;
    time_format_iso(now_ms(), ts);
    r = buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"request\",\"reqId\":", ts,
                   level_name(level));
    if (r >= 0)
        r = add_json_str(&b, req_id);
    if (r >= 0)
        r = buf_adds(&b, ",\"method\":");
    if (r >= 0)
        r = add_json_str(&b, method);
    if (r >= 0)
        r = buf_adds(&b, ",\"path\":");
    if (r >= 0)
        r = add_json_str(&b, path);
    if (r >= 0)
        r = buf_printf(&b, ",\"status\":%u,\"durationUs\":%lld,\"remote\":", status,
                       (long long)duration_us);
    if (r >= 0)
        r = add_json_str(&b, remote);
    if (r >= 0)
        r = buf_adds(&b, "}\n");
    if (r >= 0)
        write_text(b.ptr, b.len, true);
}
