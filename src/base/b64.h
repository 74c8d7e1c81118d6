/* b64.h - base64 (RFC 4648) encoding and decoding, standard and URL-safe
 * alphabets.  Decoding is strict: wrong characters, wrong padding or trailing
 * garbage is -EINVAL.  Implemented over libsodium's sodium_bin2base64 /
 * sodium_base642bin (constant-time), so no secret-dependent branches. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum b64_variant {
    B64_STD,       /* '+', '/', with '=' padding */
    B64_URL_NOPAD, /* '-', '_', no padding (tokens, ids) */
};

/* Appends the encoding of <data, len> to out.  -E2BIG, -ENOMEM. */
int b64_encode(struct buf *out, const void *data, size_t len, enum b64_variant v);

/* Appends the decoded bytes of the NUL-free string <s, slen> to out.
 * -EINVAL on malformed input, -E2BIG. */
int b64_decode(struct buf *out, const char *s, size_t slen, enum b64_variant v);

/* Decodes into a fixed-size array; the decoded length must be exactly n. -EINVAL. */
int b64_decode_exact(const char *s, enum b64_variant v, uint8_t *out, size_t n);
