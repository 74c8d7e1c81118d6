/* names.c - validation of names that come from outside.
 *
 * Each rule is a byte-by-byte scan against an explicit ASCII set (never the
 * locale-dependent <ctype.h>), with the length limit checked first so no scan
 * runs away on hostile input.  Paths are normalised segment by segment into the
 * caller's buffer.  UUIDs come from getrandom(2) with the v4 version and
 * variant bits set. */
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || is_digit(c);
}

bool name_key_valid(const char *key)
{
    size_t n;

    if (!key || !(is_alpha(key[0]) || key[0] == '_'))
        return false;
    n = strnlen(key, NAME_KEY_MAX + 1);
    if (n > NAME_KEY_MAX)
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_alpha(key[i]) || is_digit(key[i]) || key[i] == '_'))
            return false;
    return true;
}

const char *name_key_problem(const char *key, char *buf, size_t size)
{
    size_t n = key ? strnlen(key, NAME_KEY_MAX + 1) : 0;

    if (n == 0)
        return "it is empty";
    if (n > NAME_KEY_MAX) {
        snprintf(buf, size, "it is longer than %d characters", NAME_KEY_MAX);
        return buf;
    }
    if (is_digit(key[0]))
        return "it starts with a digit";
    for (size_t i = 0; i < n; i++)
        if (!(is_alpha(key[i]) || is_digit(key[i]) || key[i] == '_')) {
            if ((unsigned char)key[i] > 0x20 && (unsigned char)key[i] < 0x7f)
                snprintf(buf, size, "'%c' is not a letter (a-z, A-Z), a digit or _", key[i]);
            else
                snprintf(buf, size, "byte 0x%02x is not a letter (a-z, A-Z), a digit or _",
                         (unsigned char)key[i]);
            return buf;
        }
    return "it is valid";
}

static bool is_path_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-';
}

int name_path_normalize(const char *path, char *out, size_t out_size)
{
    size_t len, o = 0, depth = 0;
    const char *p;

    if (!path || path[0] != '/')
        return -EINVAL;
    len = strnlen(path, NAME_PATH_MAX + 2);
    if (len > NAME_PATH_MAX + 1) /* the canonical form is at most one '/' shorter */
        return -E2BIG;
    if (out_size < 2)
        return -E2BIG;

    for (p = path + 1; *p;) {
        const char *seg = p;
        size_t n;

        while (*p && *p != '/') {
            if (!is_path_char(*p))
                return -EINVAL;
            p++;
        }
        n = (size_t)(p - seg);
        if (n == 0)
            return -EINVAL; /* "//" */
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return -EINVAL;
        if (++depth > NAME_PATH_DEPTH)
            return -E2BIG;
        if (o + 1 + n > NAME_PATH_MAX || o + 1 + n + 1 > out_size)
            return -E2BIG;
        out[o++] = '/';
        memcpy(out + o, seg, n);
        o += n;
        if (*p == '/')
            p++; /* a final '/' just ends the loop: it is dropped */
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = 0;
    return 0;
}

bool name_slug_valid(const char *slug)
{
    size_t n;

    if (!slug || !is_lower_alnum(slug[0]))
        return false;
    n = strnlen(slug, NAME_SLUG_MAX + 1);
    if (n > NAME_SLUG_MAX)
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_lower_alnum(slug[i]) || slug[i] == '-'))
            return false;
    return true;
}

int name_slugify(const char *title, char *out, size_t out_size)
{
    size_t o = 0, cap;
    bool dash = false;

    if (!title || out_size == 0)
        return -EINVAL;
    cap = out_size - 1 < NAME_SLUG_MAX ? out_size - 1 : NAME_SLUG_MAX;
    for (const char *p = title; *p && o < cap; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (is_lower_alnum(c)) {
            if (dash && o > 0 && o + 1 < cap)
                out[o++] = '-';
            else if (dash && o > 0)
                break; /* no room for the dash and a character after it */
            dash = false;
            out[o++] = c;
        } else {
            dash = true;
        }
    }
    out[o] = 0;
    if (o == 0)
        return -EINVAL;
    return 0;
}

bool name_title_valid(const char *title)
{
    size_t n;

    if (!title)
        return false;
    n = strnlen(title, NAME_TITLE_MAX + 1);
    if (n == 0 || n > NAME_TITLE_MAX || !utf8_valid(title, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)title[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        /* C1 controls U+0080..U+009F are encoded as C2 80..C2 9F */
        if (c == 0xc2 && i + 1 < n && (unsigned char)title[i + 1] < 0xa0)
            return false;
    }
    return true;
}

bool name_email_valid(const char *email)
{
    const char *at;
    size_t n;

    if (!email)
        return false;
    n = strnlen(email, NAME_EMAIL_MAX + 1);
    if (n < 3 || n > NAME_EMAIL_MAX || !utf8_valid(email, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)email[i];
        if (c <= 0x20 || c == 0x7f)
            return false;
        if (c == 0xc2 && i + 1 < n && (unsigned char)email[i + 1] < 0xa0)
            return false;
    }
    at = strchr(email, '@');
    return at && at != email && at[1] && !strchr(at + 1, '@');
}

void name_uuid(char out[static 37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t got = 0, o = 0;

    while (got < sizeof(b)) {
        ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            abort(); /* no entropy source: nothing safe to fall back to */
        }
        got += (size_t)r;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = 0;
}

bool name_uuid_valid(const char *s)
{
    if (!s || strnlen(s, 37) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f')) {
            return false;
        }
    }
    return true;
}
