/* log.h - structured logs: one JSON object per line on stderr.
 *
 *     log_info("server started", "listen", addr, "dataDir", dir, NULL);
 *
 * emits {"time":"2026-11-29T10:00:00.000Z","level":"info","msg":"server started",
 *        "listen":"127.0.0.1:8200","dataDir":"/srv/arca"}
 *
 * Fields are pairs of const char * (name, value) ended by NULL; values are
 * strings (use log_int for numbers).  Only the top layer (server handlers, CLI)
 * logs.  NEVER pass a secret value, a token or a key: log its name, path and version.
 * The writer is thread-safe (lines are written whole, in order). */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level min);
/* Redirects output to fd (default 2). */
void log_set_fd(int fd);

void log_emit(enum log_level level, const char *msg, ...) __attribute__((sentinel));

/* Buffers request lines (log_request) in size bytes, as nginx's `access_log
 * ... buffer=`: written when the buffer is full, before any other line, at
 * least every second, and by log_buffer_stop (call it before exiting: what
 * is buffered is lost otherwise).  0 or -errno. */
int log_buffer_start(size_t size);
void log_buffer_stop(void);

/* A request log line at level: numeric fields are written as JSON numbers. */
void log_request(enum log_level level, const char *req_id, const char *method, const char *path,
                 unsigned status, int64_t duration_us, const char *remote);

#define log_debug(...) log_emit(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_emit(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_emit(LOG_ERROR, __VA_ARGS__)
