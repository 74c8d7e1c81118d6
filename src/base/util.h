/* util.h - small helpers used everywhere: cleanup attributes, TAKE_PTR, limits,
 * string helpers, time.  Header-only where trivial. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
    free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))

/* Takes ownership of a pointer out of a cleanup variable. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _p_ = (p);                                                                   \
        (p) = NULL;                                                                                \
        _p_;                                                                                       \
    })

#define streq(a, b) (strcmp((a), (b)) == 0)

/* Wall clock in milliseconds since the epoch. */
int64_t now_ms(void);
/* Monotonic clock in microseconds. */
int64_t mono_us(void);
/* The wall-clock time ms milliseconds from now: a deadline for
 * pthread_cond_timedwait. */
struct timespec realtime_after_ms(int64_t ms);

/* Formats ms-since-epoch as ISO-8601 UTC with milliseconds, e.g.
 * "2026-11-29T10:00:00.000Z" into out (at least 25 bytes). */
void time_format_iso(int64_t ms, char out[static 25]);
/* Parses "2026-11-29T10:00:00Z" / "...T10:00:00.123Z" / "...+02:00". -EINVAL. */
int time_parse_iso(const char *s, int64_t *ret_ms);

/* strdup that aborts never: returns NULL on ENOMEM. Accepts NULL (returns NULL). */
char *strdup_or_null(const char *s);

/* free() that first wipes the whole allocation (malloc_usable_size): for
 * memory that may have held a secret.  Accepts NULL. */
void free_wiped(void *p);
/* Lower-case hex of n bytes into out (2n characters and a NUL), in constant
 * time (fit for keys). */
void hex_encode(const uint8_t *p, size_t n, char *out);
/* Decodes exactly 2n hex characters (either case) of <in, len> into out, in
 * constant time (sodium_hex2bin's arithmetic).  -EINVAL. */
int hex_decode(const char *in, size_t len, uint8_t *out, size_t n);

/* True if s starts with prefix. */
bool startswith(const char *s, const char *prefix);

/* Length (1..4) of the well-formed UTF-8 sequence at the start of <s, n>, or 0
 * (overlong forms, surrogates and code points over U+10FFFF are not well-formed). */
size_t utf8_seq_len(const char *s, size_t n);
/* True if <s, len> is well-formed UTF-8. */
bool utf8_valid(const char *s, size_t len);
/* A copy of s (malloc'd; NULL on ENOMEM) in which every byte that does not
 * start a well-formed sequence is replaced by U+FFFD: text from outside (a
 * header, a path) made fit for JSON. */
char *utf8_repaired(const char *s);
