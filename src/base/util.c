/* util.c - clocks, ISO-8601 timestamps and small string helpers.
 *
 * Timestamps are converted with timegm/gmtime_r (UTC, no time zone database);
 * the parser is a strict hand-written scanner of
 *     YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
 * that checks every field's range, so "2026-02-30T..." and trailing text are
 * refused rather than normalised. */
#include "util.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec realtime_after_ms(int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Writes v (>= 0) as exactly n decimal digits. */
static void put_digits(char *out, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void time_format_iso(int64_t ms, char out[static 25])
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    struct tm tm;
    time_t t;

    if (frac < 0) {
        frac += 1000;
        secs -= 1;
    }
    t = (time_t)secs;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        /* Out of the four-digit-year range: clamp rather than overflow out. */
        strcpy(out, ms < 0 ? "0000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z");
        return;
    }
    put_digits(out, tm.tm_year + 1900, 4);
    out[4] = '-';
    put_digits(out + 5, tm.tm_mon + 1, 2);
    out[7] = '-';
    put_digits(out + 8, tm.tm_mday, 2);
    out[10] = 'T';
    put_digits(out + 11, tm.tm_hour, 2);
    out[13] = ':';
    put_digits(out + 14, tm.tm_min, 2);
    out[16] = ':';
    put_digits(out + 17, tm.tm_sec, 2);
    out[19] = '.';
    put_digits(out + 20, (int)frac, 3);
    out[23] = 'Z';
    out[24] = 0;
}

/* Reads exactly n decimal digits. */
static int scan_digits(const char **p, int n, int *ret)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -EINVAL;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *ret = v;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return -EINVAL;
    (*p)++;
    return 0;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int time_parse_iso(const char *s, int64_t *ret_ms)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year, mon, day, hour, min, sec, ms = 0, oh = 0, om = 0, sign = 0;
    const char *p = s;
    struct tm tm = {0};
    time_t t;

    if (!s)
        return -EINVAL;
    if (scan_digits(&p, 4, &year) < 0 || expect(&p, '-') < 0 || scan_digits(&p, 2, &mon) < 0 ||
        expect(&p, '-') < 0 || scan_digits(&p, 2, &day) < 0)
        return -EINVAL;
    if (*p != 'T' && *p != 't')
        return -EINVAL;
    p++;
    if (scan_digits(&p, 2, &hour) < 0 || expect(&p, ':') < 0 || scan_digits(&p, 2, &min) < 0 ||
        expect(&p, ':') < 0 || scan_digits(&p, 2, &sec) < 0)
        return -EINVAL;
    if (*p == '.') {
        /* One or more digits; milliseconds kept, further digits truncated. */
        int n = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (n < 3)
                ms = ms * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0)
            return -EINVAL;
        for (; n < 3; n++)
            ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        p++;
        if (scan_digits(&p, 2, &oh) < 0 || expect(&p, ':') < 0 || scan_digits(&p, 2, &om) < 0)
            return -EINVAL;
        if (oh > 23 || om > 59)
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    if (*p)
        return -EINVAL;

    if (mon < 1 || mon > 12 || day < 1 ||
        day > mdays[mon - 1] + (mon == 2 && is_leap(year) ? 1 : 0) || hour > 23 || min > 59 ||
        sec > 60)
        return -EINVAL;
    if (sec == 60) /* a leap second reads as the last ms of :59 */
        sec = 59, ms = 999;

    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    t = timegm(&tm);
    *ret_ms = ((int64_t)t - (int64_t)sign * (oh * 3600 + om * 60)) * 1000 + ms;
    return 0;
}

char *strdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool startswith(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

size_t utf8_seq_len(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c;

    if (n == 0)
        return 0;
    c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

bool utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq_len(s + i, len - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

char *utf8_repaired(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(3 * n + 1); /* each byte at most one U+FFFD, 3 bytes */

    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq_len(s + i, n - i);

        if (k == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        }
    }
    out[o] = 0;
    return out;
}

void hex_encode(const uint8_t *p, size_t n, char *out)
{
    /* no table lookup, no branch: keys are encoded too (sodium_bin2hex's arithmetic) */
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i] & 0xfu, b = p[i] >> 4;
        out[2 * i] = (char)(unsigned char)(87u + b + (((b - 10u) >> 8) & ~38u));
        out[2 * i + 1] = (char)(unsigned char)(87u + c + (((c - 10u) >> 8) & ~38u));
    }
    out[2 * n] = 0;
}

int hex_decode(const char *in, size_t len, uint8_t *out, size_t n)
{
    unsigned bad = 0;

    if (len != 2 * n)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned c = (unsigned char)in[i];
        unsigned num = c ^ 48u, num0 = ((num - 10u) >> 8) & 0xffu;
        unsigned alpha = (c & ~32u) - 55u;
        unsigned alpha0 = (((alpha - 10u) ^ (alpha - 16u)) >> 8) & 0xffu;
        unsigned v = ((num0 & num) | (alpha0 & alpha)) & 0xfu;
        bad |= ((num0 | alpha0) == 0);
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return bad ? -EINVAL : 0;
}

void free_wiped(void *p)
{
    if (p) {
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
    }
}
