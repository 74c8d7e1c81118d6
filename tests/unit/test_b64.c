/* test_b64.c - base64: RFC 4648 section 10 vectors, both alphabets, strict decoding. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/b64.h"

static const struct {
    const char *plain, *std, *url;
} rfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

Test(b64, rfc4648_encode)
{
    for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        _cleanup_buf_ struct buf s = BUF_INIT, u = BUF_INIT;
        const char *p = rfc4648[i].plain;

        cr_assert_eq(b64_encode(&s, p, strlen(p), B64_STD), 0);
        cr_assert_str_eq(buf_str(&s), rfc4648[i].std);
        cr_assert_eq(b64_encode(&u, p, strlen(p), B64_URL_NOPAD), 0);
        cr_assert_str_eq(buf_str(&u), rfc4648[i].url);
    }
}

Test(b64, rfc4648_decode)
{
    for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        _cleanup_buf_ struct buf s = BUF_INIT, u = BUF_INIT;
        const char *e = rfc4648[i].std, *eu = rfc4648[i].url;

        cr_assert_eq(b64_decode(&s, e, strlen(e), B64_STD), 0, "%s", e);
        cr_assert_str_eq(buf_str(&s), rfc4648[i].plain);
        cr_assert_eq(b64_decode(&u, eu, strlen(eu), B64_URL_NOPAD), 0, "%s", eu);
        cr_assert_str_eq(buf_str(&u), rfc4648[i].plain);
    }
}

Test(b64, alphabets_differ_in_62_and_63)
{
    _cleanup_buf_ struct buf s = BUF_INIT, u = BUF_INIT, d = BUF_INIT;
    const unsigned char bin[] = {0xfb, 0xff, 0xbf};

    cr_assert_eq(b64_encode(&s, bin, 3, B64_STD), 0);
    cr_assert_str_eq(buf_str(&s), "+/+/");
    cr_assert_eq(b64_encode(&u, bin, 3, B64_URL_NOPAD), 0);
    cr_assert_str_eq(buf_str(&u), "-_-_");
    cr_assert_eq(b64_decode(&d, "-_-_", 4, B64_STD), -EINVAL);
    cr_assert_eq(b64_decode(&d, "+/+/", 4, B64_URL_NOPAD), -EINVAL);
    cr_assert_eq(b64_decode(&d, "-_-_", 4, B64_URL_NOPAD), 0);
    cr_assert_eq(memcmp(d.ptr, bin, 3), 0);
}

Test(b64, binary_round_trip)
{
    unsigned char bin[256];

    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)i;
    for (size_t n = 0; n <= 256; n += 1) {
        for (int v = 0; v < 2; v++) {
            _cleanup_buf_ struct buf e = BUF_INIT, d = BUF_INIT;
            cr_assert_eq(b64_encode(&e, bin, n, (enum b64_variant)v), 0);
            cr_assert_eq(b64_decode(&d, e.ptr, e.len, (enum b64_variant)v), 0);
            cr_assert_eq(d.len, n);
            cr_assert(n == 0 || memcmp(d.ptr, bin, n) == 0);
        }
    }
}

Test(b64, strict_decoding_refuses)
{
    static const char *bad_std[] = {
        "Zg",           /* missing padding */
        "Zg=",          /* short padding */
        "Zg===",        /* too much padding */
        "Zm9v\n",       /* whitespace */
        " Zm9v",        /* leading space */
        "Zm9v ",        /* trailing space */
        "Zm 9v",        /* inner space */
        "Zm9v!",        /* bad character */
        "Zh==",         /* non-zero trailing bits */
        "Zm9=",         /* non-zero trailing bits */
        "Zm9vYg==Zg==", /* padding in the middle */
        "Zm9vYg==x",    /* trailing garbage */
        "Z",            /* impossible length */
        "Zm9vY",        /* impossible length */
        "=",
        "====",
        "Zm-_", /* url alphabet */
    };
    static const char *bad_url[] = {
        "Zg==", /* padding */
        "Zg=",  "Z", "Zm9vY", "Zh", "Zm9", "Zm+/", "Zm9v\n", "Zm9v ",
    };
    _cleanup_buf_ struct buf out = BUF_INIT;

    cr_assert_eq(buf_adds(&out, "keep"), 0);
    for (size_t i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++)
        cr_assert_eq(b64_decode(&out, bad_std[i], strlen(bad_std[i]), B64_STD), -EINVAL,
                     "accepted '%s'", bad_std[i]);
    for (size_t i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++)
        cr_assert_eq(b64_decode(&out, bad_url[i], strlen(bad_url[i]), B64_URL_NOPAD), -EINVAL,
                     "accepted '%s'", bad_url[i]);
    cr_assert_eq(b64_decode(&out, "Zm9v\0Zg==", 9, B64_STD), -EINVAL);
    cr_assert_str_eq(buf_str(&out), "keep"); /* nothing appended on failure */
}

Test(b64, appends_to_existing_content)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    cr_assert_eq(buf_adds(&b, "x="), 0);
    cr_assert_eq(b64_encode(&b, "foo", 3, B64_STD), 0);
    cr_assert_str_eq(buf_str(&b), "x=Zm9v");
    cr_assert_eq(b64_decode(&b, "YmFy", 4, B64_STD), 0);
    cr_assert_str_eq(buf_str(&b), "x=Zm9vbar");
}

Test(b64, respects_buffer_max)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    buf_init(&b, 4);
    cr_assert_eq(b64_encode(&b, "foo", 3, B64_STD), 0); /* exactly 4 */
    cr_assert_eq(b64_encode(&b, "f", 1, B64_STD), -E2BIG);
    cr_assert_str_eq(buf_str(&b), "Zm9v");
    buf_release(&b);
    buf_init(&b, 3);
    cr_assert_eq(b64_decode(&b, "Zm9v", 4, B64_STD), 0); /* 3 bytes fit exactly */
    cr_assert_eq(b64_decode(&b, "Zg==", 4, B64_STD), -E2BIG);
}

Test(b64, decode_exact)
{
    uint8_t key[6];

    cr_assert_eq(b64_decode_exact("Zm9vYmFy", B64_STD, key, 6), 0);
    cr_assert_eq(memcmp(key, "foobar", 6), 0);
    cr_assert_eq(b64_decode_exact("Zm9vYmFy", B64_URL_NOPAD, key, 6), 0);
    cr_assert_eq(b64_decode_exact("Zm9vYg==", B64_STD, key, 6), -EINVAL);     /* too short */
    cr_assert_eq(b64_decode_exact("Zm9vYmFyYg==", B64_STD, key, 6), -EINVAL); /* too long */
    cr_assert_eq(b64_decode_exact("Zm9vYmF!", B64_STD, key, 6), -EINVAL);
}
