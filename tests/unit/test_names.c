/* test_names.c - the rules for names from outside, including the refusals. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/names.h"

static char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = 0;
    return buf;
}

Test(names, keys)
{
    char long_key[NAME_KEY_MAX + 2];

    cr_assert(name_key_valid("A"));
    cr_assert(name_key_valid("_"));
    cr_assert(name_key_valid("DATABASE_URL"));
    cr_assert(name_key_valid("lower_case9"));
    cr_assert(name_key_valid(repeat(long_key, 'K', NAME_KEY_MAX)));
    cr_assert_not(name_key_valid(repeat(long_key, 'K', NAME_KEY_MAX + 1)));
    cr_assert_not(name_key_valid(""));
    cr_assert_not(name_key_valid(NULL));
    cr_assert_not(name_key_valid("9LIVES"));
    cr_assert_not(name_key_valid("A-B"));
    cr_assert_not(name_key_valid("A.B"));
    cr_assert_not(name_key_valid("A B"));
    cr_assert_not(name_key_valid("A=B"));
    cr_assert_not(name_key_valid("\xc3\x84KEY"));
    cr_assert_not(name_key_valid("KEY\n"));
}

static void path_ok(const char *in, const char *want)
{
    char out[NAME_PATH_MAX + 1];

    cr_assert_eq(name_path_normalize(in, out, sizeof(out)), 0, "refused '%s'", in);
    cr_assert_str_eq(out, want);
}

static void path_bad(const char *in, int err)
{
    char out[NAME_PATH_MAX + 1];

    cr_assert_eq(name_path_normalize(in, out, sizeof(out)), err, "'%s'", in);
}

Test(names, paths_normalise)
{
    path_ok("/", "/");
    path_ok("/a", "/a");
    path_ok("/a/", "/a");
    path_ok("/api/v1/db", "/api/v1/db");
    path_ok("/with.dots/and-dash/under_score/MiXeD9", "/with.dots/and-dash/under_score/MiXeD9");
    path_ok("/.hidden/...", "/.hidden/...");
}

Test(names, paths_refused)
{
    path_bad(NULL, -EINVAL);
    path_bad("", -EINVAL);
    path_bad("a/b", -EINVAL);     /* not absolute */
    path_bad("/a/../b", -EINVAL); /* traversal */
    path_bad("/..", -EINVAL);
    path_bad("/../etc", -EINVAL);
    path_bad("/a/..", -EINVAL);
    path_bad("/a/./b", -EINVAL);
    path_bad("/.", -EINVAL);
    path_bad("//", -EINVAL); /* empty segment */
    path_bad("/a//b", -EINVAL);
    path_bad("/a b", -EINVAL);
    path_bad("/a\\b", -EINVAL);
    path_bad("/%2e%2e", -EINVAL);
    path_bad("/a\nb", -EINVAL);
    path_bad("/caf\xc3\xa9", -EINVAL);
}

Test(names, path_limits)
{
    char in[2 * NAME_PATH_MAX], out[NAME_PATH_MAX + 1];
    size_t o = 0;

    /* 32 segments fine, 33 too deep */
    for (int i = 0; i < NAME_PATH_DEPTH; i++) {
        in[o++] = '/';
        in[o++] = 'a';
    }
    in[o] = 0;
    cr_assert_eq(name_path_normalize(in, out, sizeof(out)), 0);
    strcat(in, "/a");
    cr_assert_eq(name_path_normalize(in, out, sizeof(out)), -E2BIG);

    /* exactly NAME_PATH_MAX bytes fine (also with a trailing '/'), one more too long */
    in[0] = '/';
    repeat(in + 1, 'x', NAME_PATH_MAX - 1);
    cr_assert_eq(name_path_normalize(in, out, sizeof(out)), 0);
    cr_assert_eq(strlen(out), NAME_PATH_MAX);
    strcat(in, "/");
    cr_assert_eq(name_path_normalize(in, out, sizeof(out)), 0);
    in[NAME_PATH_MAX] = 'x';
    in[NAME_PATH_MAX + 1] = 0;
    cr_assert_eq(name_path_normalize(in, out, sizeof(out)), -E2BIG);

    /* a small output buffer is -E2BIG, never an overflow */
    cr_assert_eq(name_path_normalize("/abcdef", out, 4), -E2BIG);
    cr_assert_eq(name_path_normalize("/abc", out, 5), 0);
    cr_assert_str_eq(out, "/abc");
}

Test(names, slugs)
{
    char s[NAME_SLUG_MAX + 2];

    cr_assert(name_slug_valid("dev"));
    cr_assert(name_slug_valid("prod-eu-1"));
    cr_assert(name_slug_valid("9"));
    cr_assert(name_slug_valid(repeat(s, 'a', NAME_SLUG_MAX)));
    cr_assert_not(name_slug_valid(repeat(s, 'a', NAME_SLUG_MAX + 1)));
    cr_assert_not(name_slug_valid(""));
    cr_assert_not(name_slug_valid(NULL));
    cr_assert_not(name_slug_valid("-dev"));
    cr_assert_not(name_slug_valid("Dev"));
    cr_assert_not(name_slug_valid("dev_1"));
    cr_assert_not(name_slug_valid("dev 1"));
    cr_assert_not(name_slug_valid("d\xc3\xa9v"));
}

Test(names, slugify)
{
    char out[NAME_SLUG_MAX + 1];
    char title[200];

    cr_assert_eq(name_slugify("My Project!", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "my-project");
    cr_assert_eq(name_slugify("  --Hello__World--  ", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "hello-world");
    cr_assert_eq(name_slugify("Caf\xc3\xa9 Paris", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "caf-paris");
    cr_assert_eq(name_slugify("prod", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "prod");
    cr_assert_eq(name_slugify("!!!", out, sizeof(out)), -EINVAL);
    cr_assert_eq(name_slugify("", out, sizeof(out)), -EINVAL);

    /* long titles are cut to NAME_SLUG_MAX without a trailing dash */
    for (int i = 0; i < 150; i++)
        title[i] = i % 2 ? ' ' : 'a';
    title[150] = 0;
    cr_assert_eq(name_slugify(title, out, sizeof(out)), 0);
    cr_assert_leq(strlen(out), NAME_SLUG_MAX);
    cr_assert(name_slug_valid(out));
    cr_assert_neq(out[strlen(out) - 1], '-');
}

Test(names, titles)
{
    char t[NAME_TITLE_MAX + 2];

    cr_assert(name_title_valid("Production"));
    cr_assert(name_title_valid("Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"));
    cr_assert(name_title_valid(repeat(t, 'x', NAME_TITLE_MAX)));
    cr_assert_not(name_title_valid(repeat(t, 'x', NAME_TITLE_MAX + 1)));
    cr_assert_not(name_title_valid(""));
    cr_assert_not(name_title_valid(NULL));
    cr_assert_not(name_title_valid("a\nb"));
    cr_assert_not(name_title_valid("tab\there"));
    cr_assert_not(name_title_valid("del\x7f"));
    cr_assert_not(name_title_valid("c1\xc2\x85"));
    cr_assert_not(name_title_valid("bad \xff utf8"));
}

Test(names, emails)
{
    char e[NAME_EMAIL_MAX + 2];

    cr_assert(name_email_valid("a@b"));
    cr_assert(name_email_valid("first.last+tag@example.co.uk"));
    memset(e, 'a', NAME_EMAIL_MAX);
    e[1] = '@';
    e[NAME_EMAIL_MAX] = 0;
    cr_assert(name_email_valid(e));
    e[NAME_EMAIL_MAX] = 'a';
    e[NAME_EMAIL_MAX + 1] = 0;
    cr_assert_not(name_email_valid(e));
    cr_assert_not(name_email_valid("ab"));
    cr_assert_not(name_email_valid("no-at-sign"));
    cr_assert_not(name_email_valid("@example.com"));
    cr_assert_not(name_email_valid("user@"));
    cr_assert_not(name_email_valid("a b@example.com"));
    cr_assert_not(name_email_valid("a@b@c"));
    cr_assert_not(name_email_valid("a@b\n"));
    cr_assert_not(name_email_valid(NULL));
}

Test(names, uuid_v4)
{
    char a[37], b[37];

    name_uuid(a);
    name_uuid(b);
    cr_assert_eq(strlen(a), 36);
    cr_assert(name_uuid_valid(a), "%s", a);
    cr_assert_str_neq(a, b);
    cr_assert_eq(a[14], '4');                  /* version */
    cr_assert_not_null(strchr("89ab", a[19])); /* variant */
    for (int i = 0; i < 36; i++)
        cr_assert(a[i] == '-' || (a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
}

Test(names, uuid_valid)
{
    cr_assert(name_uuid_valid("123e4567-e89b-42d3-a456-426614174000"));
    cr_assert_not(name_uuid_valid("123E4567-E89B-42D3-A456-426614174000"));
    cr_assert_not(name_uuid_valid("123e4567e89b42d3a456426614174000"));
    cr_assert_not(name_uuid_valid("123e4567-e89b-42d3-a456-42661417400"));
    cr_assert_not(name_uuid_valid("123e4567-e89b-42d3-a456-4266141740000"));
    cr_assert_not(name_uuid_valid("123e4567-e89b-42d3-a456_426614174000"));
    cr_assert_not(name_uuid_valid("g23e4567-e89b-42d3-a456-426614174000"));
    cr_assert_not(name_uuid_valid(""));
    cr_assert_not(name_uuid_valid(NULL));
}
