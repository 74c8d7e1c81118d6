/* test_util.c - clocks, ISO-8601 time, string and UTF-8 helpers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/util.h"

Test(util, clocks)
{
    int64_t a = mono_us(), b;

    cr_assert_gt(now_ms(), 1700000000000LL); /* after 2023 */
    b = mono_us();
    cr_assert_geq(b, a);
}

Test(util, format_iso_known_values)
{
    char out[25];

    time_format_iso(0, out);
    cr_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
    time_format_iso(1795946400123LL, out);
    cr_assert_str_eq(out, "2026-11-29T10:00:00.123Z");
    time_format_iso(-1, out);
    cr_assert_str_eq(out, "1969-12-31T23:59:59.999Z");
    time_format_iso(951782400000LL, out); /* leap day 2000 */
    cr_assert_str_eq(out, "2000-02-29T00:00:00.000Z");
}

Test(util, parse_iso_forms)
{
    int64_t ms = 0;

    cr_assert_eq(time_parse_iso("2026-11-29T10:00:00Z", &ms), 0);
    cr_assert_eq(ms, 1795946400000LL);
    cr_assert_eq(time_parse_iso("2026-11-29T10:00:00.123Z", &ms), 0);
    cr_assert_eq(ms, 1795946400123LL);
    cr_assert_eq(time_parse_iso("2026-11-29T10:00:00.1Z", &ms), 0);
    cr_assert_eq(ms, 1795946400100LL);
    cr_assert_eq(time_parse_iso("2026-11-29T10:00:00.123456789Z", &ms), 0);
    cr_assert_eq(ms, 1795946400123LL);
    cr_assert_eq(time_parse_iso("2026-11-29T12:00:00+02:00", &ms), 0);
    cr_assert_eq(ms, 1795946400000LL);
    cr_assert_eq(time_parse_iso("2026-11-29T04:30:00.500-05:30", &ms), 0);
    cr_assert_eq(ms, 1795946400500LL);
    cr_assert_eq(time_parse_iso("2024-02-29T00:00:00Z", &ms), 0);
    cr_assert_eq(time_parse_iso("1970-01-01T00:00:00Z", &ms), 0);
    cr_assert_eq(ms, 0);
}

Test(util, parse_iso_round_trips_format)
{
    int64_t vals[] = {0, 1, 999, 1795946400123LL, 253402300799999LL, -86400000LL};
    char out[25];
    int64_t ms;

    for (size_t i = 0; i < ELEMENTSOF(vals); i++) {
        time_format_iso(vals[i], out);
        cr_assert_eq(time_parse_iso(out, &ms), 0, "%s", out);
        cr_assert_eq(ms, vals[i], "%s", out);
    }
}

Test(util, parse_iso_rejects_garbage)
{
    static const char *bad[] = {
        "",
        "2026",
        "2026-11-29",
        "2026-11-29T10:00:00",       /* no zone */
        "2026-11-29T10:00Z",         /* no seconds */
        "2026-11-29 10:00:00Z",      /* space instead of T */
        " 2026-11-29T10:00:00Z",     /* leading space */
        "2026-11-29T10:00:00Z ",     /* trailing space */
        "2026-11-29T10:00:00Zjunk",  /* trailing garbage */
        "2026-11-29T10:00:00.Z",     /* empty fraction */
        "2026-13-01T00:00:00Z",      /* month 13 */
        "2026-00-01T00:00:00Z",      /* month 0 */
        "2026-02-29T00:00:00Z",      /* not a leap year */
        "2026-04-31T00:00:00Z",      /* April has 30 days */
        "2026-11-29T24:00:00Z",      /* hour 24 */
        "2026-11-29T10:60:00Z",      /* minute 60 */
        "2026-11-29T10:00:00+0200",  /* offset without colon */
        "2026-11-29T10:00:00+24:00", /* offset out of range */
        "2026-11-29T10:00:00+02",    /* short offset */
        "+2026-11-29T10:00:00Z",
        "2026-1-29T10:00:00Z",
        "2026-11-29T1:00:00Z",
        "2026/11/29T10:00:00Z",
        "abcd-ef-ghTij:kl:mnZ",
    };
    int64_t ms = 77;

    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        cr_assert_eq(time_parse_iso(bad[i], &ms), -EINVAL, "accepted '%s'", bad[i]);
    cr_assert_eq(ms, 77); /* never written on failure */
    cr_assert_eq(time_parse_iso(NULL, &ms), -EINVAL);
}

Test(util, strings)
{
    char *s;

    cr_assert(startswith("export KEY", "export "));
    cr_assert(startswith("abc", ""));
    cr_assert_not(startswith("ab", "abc"));
    cr_assert_not(startswith("xabc", "abc"));
    cr_assert_null(strdup_or_null(NULL));
    s = strdup_or_null("copy");
    cr_assert_str_eq(s, "copy");
    free(s);
    cr_assert(streq("a", "a"));
}

Test(util, take_ptr_and_cleanup)
{
    char *kept;
    {
        _cleanup_free_ char *p = strdup("x");
        kept = TAKE_PTR(p);
        cr_assert_null(p);
    }
    cr_assert_str_eq(kept, "x");
    free(kept);
}

Test(util, utf8)
{
    cr_assert(utf8_valid("", 0));
    cr_assert(utf8_valid("plain ascii", 11));
    cr_assert(utf8_valid("caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80", 14));
    cr_assert_not(utf8_valid("\xc3", 1));             /* truncated */
    cr_assert_not(utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    cr_assert_not(utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    cr_assert_not(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    cr_assert_not(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    cr_assert_not(utf8_valid("\xff", 1));
    cr_assert_not(utf8_valid("a\x80", 2));
    cr_assert_eq(utf8_seq_len("\xe2\x80\xa8", 3), 3);
    cr_assert_eq(utf8_seq_len("\xe2\x80", 2), 0);
    cr_assert_eq(utf8_seq_len("", 0), 0);
}

Test(util, utf8_repaired)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"a\xff", "a\xef\xbf\xbd"},
        {"\xc0\xaf/", "\xef\xbf\xbd\xef\xbf\xbd/"},               /* overlong: each byte */
        {"x\xe2\x82", "x\xef\xbf\xbd\xef\xbf\xbd"},               /* truncated at the end */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        _cleanup_free_ char *r = utf8_repaired(cases[i].in);

        cr_assert_str_eq(r, cases[i].out, "case %zu", i);
        cr_assert(utf8_valid(r, strlen(r)));
    }
}

Test(util, hex_round_trip_and_refusals)
{
    const uint8_t bytes[] = {0x00, 0x9f, 0xa0, 0xff};
    uint8_t back[4];
    char hex[9];

    hex_encode(bytes, sizeof(bytes), hex);
    cr_assert_str_eq(hex, "009fa0ff");
    cr_assert_eq(hex_decode(hex, 8, back, 4), 0);
    cr_assert_eq(memcmp(back, bytes, 4), 0);
    cr_assert_eq(hex_decode("009FA0FF", 8, back, 4), 0, "either case");
    cr_assert_eq(memcmp(back, bytes, 4), 0);
    cr_assert_eq(hex_decode("009fa0f", 7, back, 4), -EINVAL, "odd length");
    cr_assert_eq(hex_decode("009fa0fg", 8, back, 4), -EINVAL, "not hex");
    cr_assert_eq(hex_decode("009fa0ff", 8, back, 3), -EINVAL, "not 2n characters");
}
