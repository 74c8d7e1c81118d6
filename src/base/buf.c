/* buf.c - growable byte buffers with a hard maximum.
 *
 * The capacity doubles (at least len + n + 1, never more than max + 1 bytes, the
 * +1 for the NUL that always follows the content).  Ordinary buffers grow with
 * realloc; a secret buffer grows by malloc of the new block, copy, explicit_bzero
 * of the old block and free, so no stale copy of the content is left behind by
 * the allocator.  Every path that drops bytes of a secret buffer wipes them. */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The effective limit; one byte below SIZE_MAX so that len + NUL never overflows. */
static size_t buf_max(const struct buf *b)
{
    if (!b->max)
        return BUF_MAX_DEFAULT;
    return b->max < SIZE_MAX - 1 ? b->max : SIZE_MAX - 2;
}

void buf_init(struct buf *b, size_t max)
{
    *b = (struct buf){.max = max};
}

void buf_init_secret(struct buf *b, size_t max)
{
    *b = (struct buf){.max = max, .secret = true};
}

void buf_release(struct buf *b)
{
    if (!b)
        return;
    if (b->ptr && b->secret)
        explicit_bzero(b->ptr, b->cap);
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_clear(struct buf *b)
{
    if (!b->ptr)
        return;
    if (b->secret)
        explicit_bzero(b->ptr, b->len);
    b->len = 0;
    b->ptr[0] = 0;
}

int buf_grow(struct buf *b, size_t n)
{
    size_t max = buf_max(b), need, cap;
    char *p;

    if (n > max || b->len > max - n)
        return -E2BIG;
    need = b->len + n + 1;
    if (b->ptr && need <= b->cap)
        return 0;

    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > max + 1)
        cap = max + 1;

    if (b->secret) {
        p = malloc(cap);
        if (!p)
            return -ENOMEM;
        if (b->ptr) {
            memcpy(p, b->ptr, b->len + 1);
            explicit_bzero(b->ptr, b->cap);
            free(b->ptr);
        } else {
            p[0] = 0;
        }
    } else {
        p = realloc(b->ptr, cap);
        if (!p)
            return -ENOMEM;
        if (!b->ptr)
            p[0] = 0;
    }
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
    int r = buf_grow(b, len);
    if (r < 0)
        return r;
    if (len)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = 0;
    return 0;
}

int buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list aq;
    int n, r;

    /* Try in the room we have; when it does not fit, grow and format again. */
    r = buf_grow(b, 0);
    if (r < 0)
        return r;
    va_copy(aq, ap);
    n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, aq);
    va_end(aq);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= b->cap - b->len) {
        /* Wipe the partial output: it may be part of a secret. */
        if (b->secret)
            explicit_bzero(b->ptr + b->len, b->cap - b->len);
        b->ptr[b->len] = 0;
        r = buf_grow(b, (size_t)n);
        if (r < 0)
            return r;
        va_copy(aq, ap);
        n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, aq);
        va_end(aq);
        if (n < 0)
            return -EINVAL;
    }
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void buf_truncate(struct buf *b, size_t len)
{
    if (!b->ptr || len >= b->len)
        return;
    if (b->secret)
        explicit_bzero(b->ptr + len, b->len - len);
    b->len = len;
    b->ptr[len] = 0;
}

char *buf_detach(struct buf *b)
{
    char *p;

    if (!b->ptr && buf_grow(b, 0) < 0)
        return NULL;
    p = b->ptr;
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

const char *buf_str(const struct buf *b)
{
    return b->ptr ? b->ptr : "";
}

int buf_fail(struct buf *err, int r, const char *fmt, ...)
{
    va_list ap;

    if (err && err->len == 0) {
        va_start(ap, fmt);
        (void)buf_vprintf(err, fmt, ap);
        va_end(ap);
    }
    return r;
}
