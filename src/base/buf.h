/* buf.h - growable byte buffers with a hard maximum.
 *
 * A struct buf always holds a NUL-terminated string (buf->ptr[buf->len] == 0),
 * so it can be used for text and for binary data alike.  Every buffer has a
 * maximum size (default BUF_MAX_DEFAULT); growing past it fails with -E2BIG and
 * leaves the buffer unchanged.
 *
 * A buffer marked secret (buf_init_secret) is wiped with zeros before its memory
 * is released or moved by a reallocation, so decrypted values and keys never
 * linger on the heap.
 *
 * Usage:
 *     _cleanup_buf_ struct buf b = BUF_INIT;
 *     r = buf_printf(&b, "%s=%d", name, n);
 *     if (r < 0) return r;
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define BUF_MAX_DEFAULT (64u * 1024 * 1024) /* 64 MiB */

struct buf {
    char *ptr;   /* OWNED; NUL-terminated; NULL until the first write */
    size_t len;  /* bytes used, not counting the terminating NUL */
    size_t cap;  /* bytes allocated */
    size_t max;  /* hard limit for len; 0 means BUF_MAX_DEFAULT */
    bool secret; /* wipe on free and on reallocation */
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0, false                                                                       \
    }

void buf_init(struct buf *b, size_t max);
void buf_init_secret(struct buf *b, size_t max);

/* Releases the memory (wiping it if secret) and resets to empty; keeps max/secret. */
void buf_release(struct buf *b);
/* Keeps the memory, sets len to 0 (wiping the old content if secret). */
void buf_clear(struct buf *b);

/* Makes room for at least n more bytes. -E2BIG over max, -ENOMEM. */
int buf_grow(struct buf *b, size_t n);

int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The trailing `err` of a failing call: formats into err unless err is NULL
 * or already says something (the first, most precise, message wins), and
 * returns r, so that `return buf_fail(err, -EINVAL, "...")` reports and fails. */
int buf_fail(struct buf *err, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Shortens to len (which must be <= b->len). */
void buf_truncate(struct buf *b, size_t len);

/* Returns the content as a malloc'd string and resets b to empty.  OWNED by the
 * caller (free(), or a secret free function if the buffer was secret).  Never NULL
 * on success: an empty buffer yields "".  -ENOMEM is reported as NULL. */
char *buf_detach(struct buf *b);

/* Content, or "" when nothing was written yet.  BORROWED until the next write. */
const char *buf_str(const struct buf *b);

static inline void buf_releasep(struct buf *b)
{
    buf_release(b);
}
#define _cleanup_buf_ __attribute__((cleanup(buf_releasep)))
