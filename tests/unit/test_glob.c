/* test_glob.c - folder globs: well-formedness, segment wildcards, "**", and
 * hostile patterns that must stay fast. */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "base/glob.h"
#include "base/names.h"

static void yes(const char *glob, const char *path)
{
    cr_assert(glob_match(glob, path), "'%s' should match '%s'", glob, path);
}

static void no(const char *glob, const char *path)
{
    cr_assert_not(glob_match(glob, path), "'%s' should not match '%s'", glob, path);
}

Test(glob, valid_globs)
{
    static const char *ok[] = {
        "/",       "/**",    "/app",         "/app/",     "/app/*",   "/app/**",
        "/a/**/b", "/**/db", "/api-?/v1.*",  "/*.*",      "/.hidden", "/...",
        "/a*b*c",  "/**/**", "/under_score", "/MiXeD09/", "/?",       "/*",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        cr_assert(glob_valid(ok[i]), "'%s' refused", ok[i]);
}

Test(glob, invalid_globs)
{
    static const char *bad[] = {
        "",     "app",     "*",     "**",    "/a//b",        "//",       "/a/./b",
        "/..",  "/a/../b", "/.",    "/a**",  "/**b",         "/a/***",   "/a/b**c",
        "/a b", "/a\\b",   "/[ab]", "/a\nb", "/caf\xc3\xa9", "/a/{b,c}",
    };
    char long_glob[NAME_PATH_MAX + 2];
    char deep[4 * (NAME_PATH_DEPTH + 1) + 1];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(glob_valid(bad[i]), "'%s' accepted", bad[i]);
    cr_assert_not(glob_valid(NULL));

    /* length: exactly NAME_PATH_MAX is fine, one more is not */
    long_glob[0] = '/';
    memset(long_glob + 1, 'a', NAME_PATH_MAX);
    long_glob[NAME_PATH_MAX] = 0;
    cr_assert(glob_valid(long_glob));
    long_glob[NAME_PATH_MAX] = 'a';
    long_glob[NAME_PATH_MAX + 1] = 0;
    cr_assert_not(glob_valid(long_glob));

    /* depth: NAME_PATH_DEPTH segments are fine, one more is not */
    deep[0] = 0;
    for (int i = 0; i < NAME_PATH_DEPTH; i++)
        strcat(deep, "/**");
    cr_assert(glob_valid(deep));
    strcat(deep, "/**");
    cr_assert_not(glob_valid(deep));
}

Test(glob, literal_and_root)
{
    yes("/", "/");
    no("/", "/app");
    yes("/app", "/app");
    yes("/app/", "/app");
    no("/app", "/app/api");
    no("/app", "/ap");
    no("/app", "/apps");
    no("/app/api", "/app");
    yes("/app/api", "/app/api");
    no("/App", "/app"); /* case-sensitive */
}

Test(glob, star_is_one_segment)
{
    yes("/app/*", "/app/api");
    yes("/app/*", "/app/x");
    no("/app/*", "/app/api/v1");
    no("/app/*", "/other");
    no("/app/*", "/app");
    no("/*", "/");
    yes("/*", "/anything");
    no("/*", "/a/b");
    yes("/*/db", "/app/db");
    no("/*/db", "/app/x/db");
    yes("/api-*", "/api-");
    yes("/api-*", "/api-v2");
    no("/api-*", "/api");
    yes("/*-svc", "/auth-svc");
    yes("/a*b*c", "/abc");
    yes("/a*b*c", "/axxbyyc");
    yes("/a*b*c", "/abbbcbc");
    no("/a*b*c", "/axxbyy");
    no("/a*b*c", "/acb");
    yes("/*.*", "/v1.2");
    no("/*.*", "/v12");
}

Test(glob, question_mark_is_one_character)
{
    yes("/v?", "/v1");
    no("/v?", "/v");
    no("/v?", "/v10");
    yes("/??", "/ab");
    no("/?", "/");
    yes("/v?/*", "/v2/x");
}

Test(glob, globstar)
{
    yes("/**", "/");
    yes("/**", "/a");
    yes("/**", "/a/b/c/d");
    yes("/app/**", "/app"); /* the folder itself */
    yes("/app/**", "/app/api");
    yes("/app/**", "/app/api/v1");
    no("/app/**", "/apps");
    no("/app/**", "/other/app");
    no("/app/**", "/");
    yes("/a/**/b", "/a/b");
    yes("/a/**/b", "/a/x/b");
    yes("/a/**/b", "/a/x/y/z/b");
    no("/a/**/b", "/a/x/y/z/c");
    no("/a/**/b", "/a/b/c");
    yes("/**/db", "/db");
    yes("/**/db", "/x/y/db");
    no("/**/db", "/x/y/dbs");
    yes("/**/*", "/x");
    no("/**/*", "/");
    yes("/**/**", "/");
    yes("/**/a/**", "/x/a");
    yes("/**/a/**", "/a/x/y");
    no("/**/a/**", "/x/b/y");
}

Test(glob, bad_input_never_matches)
{
    no("/a//b", "/a/b");
    no("app", "app");
    no(NULL, "/");
    no("/**", NULL);
    no("/**", "relative");
    no("/**", "/a//b");
}

/* Patterns that make naive recursive matchers exponential. */
Test(glob, hostile_patterns_are_fast)
{
    char glob[NAME_PATH_MAX + 1], path[NAME_PATH_MAX + 1], seg[40];
    clock_t start = clock();

    /* 31 "**" segments then "b", against 32 segments "a" */
    glob[0] = path[0] = 0;
    for (int i = 0; i < NAME_PATH_DEPTH - 1; i++)
        strcat(glob, "/**");
    strcat(glob, "/b");
    for (int i = 0; i < NAME_PATH_DEPTH; i++)
        strcat(path, "/a");
    cr_assert(glob_valid(glob));
    for (int k = 0; k < 1000; k++)
        no(glob, path);

    /* "*a*a*a...*b" within long segments */
    glob[0] = path[0] = 0;
    for (int i = 0; i < 2; i++) {
        strcat(glob, "/");
        for (int j = 0; j < 15; j++)
            strcat(glob, "*a");
        strcat(glob, "*b");
    }
    memset(seg, 'a', 39);
    seg[39] = 0;
    for (int i = 0; i < 2; i++) {
        strcat(path, "/");
        strcat(path, seg);
    }
    cr_assert(glob_valid(glob));
    for (int k = 0; k < 1000; k++)
        no(glob, path);
    cr_assert_lt((double)(clock() - start) / CLOCKS_PER_SEC, 2.0);
}
