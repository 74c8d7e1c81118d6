/* b64.c - base64 over libsodium's constant-time codec.
 *
 * sodium_bin2base64 / sodium_base642bin do the work (the one sanctioned use of
 * libsodium outside src/crypto: they need no sodium_init()).  Decoding is
 * strict because we pass no "ignore" set (whitespace is an error) and no end
 * pointer (anything after the last quantum is an error); sodium itself checks
 * the padding for B64_STD and refuses '=' and non-zero trailing bits. */
#include "b64.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static int sodium_variant(enum b64_variant v)
{
    return v == B64_URL_NOPAD ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                              : sodium_base64_VARIANT_ORIGINAL;
}

int b64_encode(struct buf *out, const void *data, size_t len, enum b64_variant v)
{
    int var = sodium_variant(v);
    size_t enc;
    int r;

    if (len > SIZE_MAX / 2)
        return -E2BIG;
    enc = sodium_base64_ENCODED_LEN(len, var); /* includes the NUL */
    r = buf_grow(out, enc - 1);
    if (r < 0)
        return r;
    sodium_bin2base64(out->ptr + out->len, enc, data, len, var);
    out->len += enc - 1;
    out->ptr[out->len] = 0;
    return 0;
}

/* The decoded size of well-formed input; for malformed input any value will
 * do, the decoder refuses it anyway. */
static size_t decoded_len(const char *s, size_t slen, enum b64_variant v)
{
    size_t n = slen / 4 * 3;

    if (v == B64_URL_NOPAD)
        return n + (slen % 4 > 1 ? slen % 4 - 1 : 0);
    if (slen >= 4 && s[slen - 1] == '=')
        n -= s[slen - 2] == '=' ? 2 : 1;
    return n;
}

int b64_decode(struct buf *out, const char *s, size_t slen, enum b64_variant v)
{
    size_t room = decoded_len(s, slen, v), bin_len = 0;
    int r;

    if (memchr(s, 0, slen))
        return -EINVAL;
    r = buf_grow(out, room);
    if (r < 0)
        return r;
    if (sodium_base642bin((unsigned char *)out->ptr + out->len, room, s, slen, NULL, &bin_len, NULL,
                          sodium_variant(v)) != 0) {
        sodium_memzero(out->ptr + out->len, room);
        out->ptr[out->len] = 0;
        return -EINVAL;
    }
    out->len += bin_len;
    out->ptr[out->len] = 0;
    return 0;
}

int b64_decode_exact(const char *s, enum b64_variant v, uint8_t *out, size_t n)
{
    size_t bin_len = 0;

    if (sodium_base642bin(out, n, s, strlen(s), NULL, &bin_len, NULL, sodium_variant(v)) != 0 ||
        bin_len != n) {
        sodium_memzero(out, n);
        return -EINVAL;
    }
    return 0;
}
