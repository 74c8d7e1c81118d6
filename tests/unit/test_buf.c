/* test_buf.c - growable buffers: content, limits, secret wiping, ownership. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

Test(buf, empty_buffer_reads_as_empty_string)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    cr_assert_null(b.ptr);
    cr_assert_str_eq(buf_str(&b), "");
    cr_assert_eq(b.len, 0);
}

Test(buf, appends_are_nul_terminated)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    cr_assert_eq(buf_adds(&b, "abc"), 0);
    cr_assert_eq(buf_addch(&b, '-'), 0);
    cr_assert_eq(buf_add(&b, "xyz", 2), 0);
    cr_assert_eq(buf_printf(&b, "[%d:%s]", 42, "q"), 0);
    cr_assert_str_eq(buf_str(&b), "abc-xy[42:q]");
    cr_assert_eq(b.len, strlen("abc-xy[42:q]"));
    cr_assert_eq(b.ptr[b.len], 0);
}

Test(buf, binary_data_with_nul_bytes)
{
    _cleanup_buf_ struct buf b = BUF_INIT;
    const char data[] = {'a', 0, 'b', 0};

    cr_assert_eq(buf_add(&b, data, sizeof(data)), 0);
    cr_assert_eq(b.len, 4);
    cr_assert_eq(memcmp(b.ptr, data, 4), 0);
    cr_assert_eq(b.ptr[4], 0);
}

Test(buf, printf_longer_than_the_free_space)
{
    _cleanup_buf_ struct buf b = BUF_INIT;
    char big[5000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    cr_assert_eq(buf_adds(&b, "<"), 0);
    cr_assert_eq(buf_printf(&b, "%s>", big), 0);
    cr_assert_eq(b.len, 1 + 4999 + 1);
    cr_assert_eq(b.ptr[0], '<');
    cr_assert_eq(b.ptr[5000], '>');
    cr_assert_eq(b.ptr[5001], 0);
}

Test(buf, refuses_past_max_and_stays_unchanged)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    buf_init(&b, 8);
    cr_assert_eq(buf_adds(&b, "12345678"), 0); /* exactly max is fine */
    cr_assert_eq(buf_addch(&b, '9'), -E2BIG);
    cr_assert_eq(buf_adds(&b, "overflow"), -E2BIG);
    cr_assert_eq(buf_printf(&b, "%d", 1), -E2BIG);
    cr_assert_str_eq(buf_str(&b), "12345678");
    cr_assert_eq(b.len, 8);
}

Test(buf, printf_over_max_leaves_content)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    buf_init(&b, 10);
    cr_assert_eq(buf_adds(&b, "abc"), 0);
    cr_assert_eq(buf_printf(&b, "%s", "12345678"), -E2BIG);
    cr_assert_str_eq(buf_str(&b), "abc");
    cr_assert_eq(buf_printf(&b, "%s", "1234567"), 0);
    cr_assert_str_eq(buf_str(&b), "abc1234567");
}

Test(buf, max_zero_means_default)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    cr_assert_eq(buf_grow(&b, BUF_MAX_DEFAULT + 1), -E2BIG);
    cr_assert_null(b.ptr); /* refused before allocating */
    cr_assert_eq(buf_grow(&b, 1 << 20), 0);
    cr_assert_eq(b.max, 0);
}

Test(buf, huge_requests_do_not_overflow)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    cr_assert_eq(buf_adds(&b, "x"), 0);
    cr_assert_eq(buf_grow(&b, SIZE_MAX), -E2BIG);
    cr_assert_eq(buf_grow(&b, SIZE_MAX - 1), -E2BIG);
    buf_release(&b);
    buf_init(&b, SIZE_MAX);
    cr_assert_eq(buf_grow(&b, SIZE_MAX), -E2BIG);
    cr_assert_eq(buf_grow(&b, SIZE_MAX - 1), -E2BIG);
}

Test(buf, capacity_doubles)
{
    _cleanup_buf_ struct buf b = BUF_INIT;
    size_t changes = 0, cap = 0;

    for (int i = 0; i < 100000; i++) {
        cr_assert_eq(buf_addch(&b, 'a'), 0);
        if (b.cap != cap) {
            cr_assert(cap == 0 || b.cap >= 2 * cap);
            cap = b.cap;
            changes++;
        }
    }
    cr_assert_leq(changes, 20);
    cr_assert_geq(b.cap, b.len + 1);
}

Test(buf, capacity_never_exceeds_max_plus_nul)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    buf_init(&b, 100);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(buf_addch(&b, 'a'), 0);
    cr_assert_leq(b.cap, 101);
}

Test(buf, truncate_and_clear)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    cr_assert_eq(buf_adds(&b, "hello world"), 0);
    buf_truncate(&b, 5);
    cr_assert_str_eq(buf_str(&b), "hello");
    buf_truncate(&b, 9); /* longer than len: no-op */
    cr_assert_str_eq(buf_str(&b), "hello");
    buf_clear(&b);
    cr_assert_str_eq(buf_str(&b), "");
    cr_assert_not_null(b.ptr); /* memory kept */
}

Test(buf, secret_clear_and_truncate_wipe_the_bytes)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    buf_init_secret(&b, 0);
    cr_assert_eq(buf_adds(&b, "s3cr3t-value"), 0);
    buf_truncate(&b, 2);
    for (size_t i = 2; i < 12; i++)
        cr_assert_eq(b.ptr[i], 0);
    cr_assert_eq(buf_adds(&b, "cr3t"), 0);
    buf_clear(&b);
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(b.ptr[i], 0);
}

Test(buf, secret_buffer_keeps_content_across_growth)
{
    _cleanup_buf_ struct buf b = BUF_INIT;
    char expect[3000];

    buf_init_secret(&b, 0);
    for (int i = 0; i < 3000; i++) {
        expect[i] = (char)('a' + i % 26);
        cr_assert_eq(buf_addch(&b, expect[i]), 0);
    }
    cr_assert_eq(memcmp(b.ptr, expect, 3000), 0);
    cr_assert(b.secret);
}

Test(buf, release_keeps_max_and_secret)
{
    struct buf b;

    buf_init_secret(&b, 16);
    cr_assert_eq(buf_adds(&b, "abc"), 0);
    buf_release(&b);
    cr_assert_null(b.ptr);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.max, 16);
    cr_assert(b.secret);
    buf_release(&b); /* twice is fine */
    buf_release(NULL);
}

Test(buf, detach_hands_over_the_string)
{
    struct buf b = BUF_INIT;
    char *s;

    cr_assert_eq(buf_adds(&b, "owned"), 0);
    s = buf_detach(&b);
    cr_assert_str_eq(s, "owned");
    cr_assert_null(b.ptr);
    cr_assert_eq(b.len, 0);
    free(s);

    s = buf_detach(&b); /* empty buffer: "" not NULL */
    cr_assert_not_null(s);
    cr_assert_str_eq(s, "");
    free(s);
}
