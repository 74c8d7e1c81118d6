/* log.c - JSON-lines logging.
 *
 * Each line is built as a jansson object (so escaping is jansson's), dumped
 * compact, and written with a single write(2) on the log fd, which keeps lines
 * from concurrent threads whole.  Strings that are not valid UTF-8 (jansson
 * refuses them) have their bad bytes replaced by U+FFFD first.  The level and
 * fd are atomics: set them at start-up, read them from any thread. */
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

static atomic_int log_min = LOG_INFO;
static atomic_int log_fd = 2;

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

/* A JSON string for s, NULL -> null, invalid UTF-8 repaired. */
static json_t *str_value(const char *s)
{
    _cleanup_buf_ struct buf fixed = BUF_INIT;
    size_t n, i;
    json_t *j;

    if (!s)
        return json_null();
    j = json_string(s);
    if (j)
        return j;
    n = strlen(s);
    for (i = 0; i < n;) {
        size_t k = utf8_seq_len(s + i, n - i);
        if (k == 0) {
            if (buf_adds(&fixed, "\xef\xbf\xbd") < 0)
                return NULL;
            i++;
        } else {
            if (buf_add(&fixed, s + i, k) < 0)
                return NULL;
            i += k;
        }
    }
    return json_string(buf_str(&fixed));
}

static void set_str(json_t *o, const char *key, const char *value)
{
    json_t *v;

    if (!key)
        return;
    v = str_value(value);
    if (v)
        json_object_set_new(o, key, v);
}

static void write_line(json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    size_t len, off = 0;
    int fd = atomic_load(&log_fd);

    if (!text)
        return;
    len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: json_dumps' result is freed, not printed */
    len++;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        off += (size_t)w;
    }
    free(text);
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

void log_request(enum log_level level, const char *req_id, const char *method, const char *path,
                 unsigned status, int64_t duration_us, const char *remote)
{
    json_t *o;

    if ((int)level < atomic_load(&log_min))
        return;
    o = line_new(level, "request");
    if (!o)
        return;
    set_str(o, "reqId", req_id);
    set_str(o, "method", method);
    set_str(o, "path", path);
    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "durationUs", json_integer(duration_us));
    set_str(o, "remote", remote);
    write_line(o);
    json_decref(o);
}
