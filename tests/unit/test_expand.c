/* test_expand.c - the reference expander (base/expand.h) that the client
 * (arca_secrets_expand) and the server's raw routes share: the rules both
 * relied on, with a lookup over a small in-memory project. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/expand.h"

struct entry {
    const char *env, *path, *key, *value;
};

static const struct entry *entries;
static unsigned n_lookups;
static int fail_with; /* a lookup failure of its own, 0 none */

/* Environments dev and prod exist; prod:/locked may not be read. */
static int lookup(void *ctx, const char *env, const char *path, const char *key, struct buf *value)
{
    (void)ctx;
    n_lookups++;
    if (fail_with)
        return fail_with;
    if (strcmp(env, "dev") && strcmp(env, "prod"))
        return -ENXIO;
    if (!strcmp(env, "prod") && !strcmp(path, "/locked"))
        return -EACCES;
    for (const struct entry *e = entries; e && e->key; e++)
        if (!strcmp(e->env, env) && !strcmp(e->path, path) && !strcmp(e->key, key))
            return buf_add(value, e->value, strlen(e->value));
    return -ENOENT;
}

static const struct entry project[] = {
    {"dev", "/", "HOST", "db.dev"},     {"dev", "/", "URL", "postgres://${HOST}:${PORT}"},
    {"dev", "/", "PORT", "5432"},       {"dev", "/", "A", "${B}"},
    {"dev", "/", "B", "${A}"},          {"dev", "/", "SELF", "x${SELF}"},
    {"dev", "/app", "NAME", "api"},     {"dev", "/app", "LOCAL", "${NAME}-local"},
    {"prod", "/", "HOST", "db.prod"},   {"prod", "/a/b", "DEEP", "deep-${prod.HOST}"},
    {"prod", "/locked", "K", "hidden"}, {0},
};

static int run(const char *env, const char *path, const char *key, const char *value,
               struct expander *x, struct buf *out)
{
    *x = (struct expander){.lookup = lookup};
    entries = project;
    n_lookups = 0;
    fail_with = 0;
    buf_init_secret(out, EXPAND_VALUE_MAX);
    return expand_value(x, env, path, key, value, strlen(value), out);
}

static void expect(const char *value, const char *want)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    struct expander x;

    cr_assert_eq(run("dev", "/", "TOP", value, &x, &out), 0, "%s: %s", value, x.msg);
    cr_expect_str_eq(buf_str(&out), want, "%s", value);
}

static void expect_fail(const char *value, int want, const char *msg)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    struct expander x;
    int r = run("dev", "/", "TOP", value, &x, &out);

    cr_assert_eq(r, want, "%s: %d %s", value, r, x.msg);
    cr_expect(expand_ref_failure(r));
    cr_expect(strstr(x.msg, msg), "%s: '%s' lacks '%s'", value, x.msg, msg);
}

Test(expand, plain_text_and_same_folder_references)
{
    expect("no references", "no references");
    expect("", "");
    expect("${HOST}", "db.dev");
    expect("${URL}/app", "postgres://db.dev:5432/app"); /* nested */
}

Test(expand, other_environments_and_folders)
{
    expect("${prod.HOST}", "db.prod");
    expect("${prod.a.b.DEEP}", "deep-db.prod");
    expect("${dev.app.NAME}", "api");
}

Test(expand, a_reference_resolves_in_the_folder_of_the_value_that_holds_it)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    struct expander x;

    cr_assert_eq(run("dev", "/app", "LOCAL", "${NAME}-local", &x, &out), 0, "%s", x.msg);
    cr_expect_str_eq(buf_str(&out), "api-local");
    buf_clear(&out);
    /* and a referenced value's own ${KEY} in the folder of that value */
    cr_assert_eq(expand_value(&x, "prod", "/", "T", "${dev.app.LOCAL}", 16, &out), 0);
    cr_expect_str_eq(buf_str(&out), "api-local");
}

Test(expand, escaped_and_unclosed_are_literal)
{
    expect("\\${HOST}", "${HOST}");
    expect("a\\${HOST} ${HOST}", "a${HOST} db.dev");
    expect("${HOST", "${HOST");
    expect("price: $5 {x}", "price: $5 {x}");
    expect("x ${HOST} ${", "x db.dev ${");
}

Test(expand, a_cycle_fails_naming_the_secret_and_the_reference)
{
    expect_fail("${A}", -EINVAL, "forms a cycle");
    expect_fail("${SELF}", -EINVAL, "secret 'TOP' refers to ${SELF}, which forms a cycle");
}

Test(expand, unresolved_and_unknown_environment)
{
    expect_fail("${NOPE}", -ENOENT, "secret 'TOP' refers to ${NOPE}, which does not resolve");
    expect_fail("${staging.HOST}", -ENOENT, "does not resolve (no such environment)");
}

Test(expand, an_unreadable_folder_is_eacces)
{
    expect_fail("${prod.locked.K}", -EACCES, "which you are not allowed to read");
}

Test(expand, malformed_references_are_not_quoted)
{
    static const char *bad[] = {"${}", "${1BAD}", "${Bad Env.KEY}", "${a b}", "${dev.KEY-1}"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        _cleanup_buf_ struct buf out = BUF_INIT;
        struct expander x;

        cr_expect_eq(run("dev", "/", "TOP", bad[i], &x, &out), -EINVAL, "%s", bad[i]);
        cr_expect_str_eq(x.msg, "secret 'TOP' holds a malformed secret reference", "%s", bad[i]);
    }
}

Test(expand, depth_is_bounded)
{
    static const struct entry chain[] = {
        {"dev", "/", "K0", "${K1}"},
        {"dev", "/", "K1", "${K2}"},
        {"dev", "/", "K2", "${K3}"},
        {"dev", "/", "K3", "${K4}"},
        {"dev", "/", "K4", "${K5}"},
        {"dev", "/", "K5", "${K6}"},
        {"dev", "/", "K6", "${K7}"},
        {"dev", "/", "K7", "${K8}"},
        {"dev", "/", "K8", "${K9}"},
        {"dev", "/", "K9", "end"},
        {0},
    };
    _cleanup_buf_ struct buf out = BUF_INIT;
    struct expander x;

    run("dev", "/", "TOP", "", &x, &out);
    entries = chain;
    cr_expect_eq(expand_value(&x, "dev", "/", "TOP", "${K2}", 5, &out), 0, "%s", x.msg);
    cr_expect_str_eq(buf_str(&out), "end"); /* eight deep */
    buf_clear(&out);
    cr_expect_eq(expand_value(&x, "dev", "/", "TOP", "${K1}", 5, &out), -EINVAL);
    cr_expect(strstr(x.msg, "nests references too deeply"), "%s", x.msg);
}

Test(expand, fan_out_is_bounded_at_256_lookups_per_value)
{
    /* F0 = ${F1} eight times, F1 = ${F2} eight times...: 8^4 lookups without the bound */
    static struct entry fan[10];
    static char values[8][64];
    _cleanup_buf_ struct buf out = BUF_INIT;
    struct expander x;
    static const char *keys[] = {"F0", "F1", "F2", "F3", "F4"};

    for (int i = 0; i < 4; i++) {
        values[i][0] = 0;
        for (int k = 0; k < 8; k++)
            snprintf(values[i] + strlen(values[i]), sizeof(values[i]) - strlen(values[i]), "${%s}",
                     keys[i + 1]);
        fan[i] = (struct entry){"dev", "/", keys[i], values[i]};
    }
    fan[4] = (struct entry){"dev", "/", "F4", "x"};
    run("dev", "/", "TOP", "", &x, &out);
    entries = fan;
    cr_expect_eq(expand_value(&x, "dev", "/", "TOP", "${F0}", 5, &out), -E2BIG);
    cr_expect(strstr(x.msg, "more than 256 references"), "%s", x.msg);
    cr_expect_leq(n_lookups, EXPAND_RESOLVED_MAX);
    /* the count is per value: the next one starts afresh */
    buf_clear(&out);
    cr_expect_eq(expand_value(&x, "dev", "/", "TOP", "${F3}", 5, &out), 0, "%s", x.msg);
    cr_expect_str_eq(buf_str(&out), "xxxxxxxx");
}

Test(expand, the_expanded_value_is_bounded)
{
    static char big[200 * 1024];
    static const struct entry e[] = {{"dev", "/", "BIG", big}, {0}};
    _cleanup_buf_ struct buf out = BUF_INIT;
    struct expander x;

    memset(big, 'v', sizeof(big) - 1);
    run("dev", "/", "TOP", "", &x, &out);
    entries = e;
    cr_expect_eq(expand_value(&x, "dev", "/", "TOP", "${BIG}", 6, &out), 0, "%s", x.msg);
    buf_clear(&out);
    cr_expect_eq(expand_value(&x, "dev", "/", "TOP", "${BIG}${BIG}", 12, &out), -E2BIG);
    cr_expect(strstr(x.msg, "expands to more than 256 KiB"), "%s", x.msg);
    cr_expect_leq(out.len, EXPAND_VALUE_MAX);
}

Test(expand, a_lookup_failure_of_its_own_is_returned_as_is_without_a_message)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    struct expander x;

    run("dev", "/", "TOP", "", &x, &out);
    fail_with = -EIO;
    cr_expect_eq(expand_value(&x, "dev", "/", "TOP", "a ${HOST}", 9, &out), -EIO);
    cr_expect_str_eq(x.msg, "");
    cr_expect_not(expand_ref_failure(-EIO));
}

Test(expand, a_cycle_is_found_before_any_lookup_of_it)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    struct expander x;

    /* SELF's own reference to itself is never looked up a second time */
    cr_expect_eq(run("dev", "/", "SELF", "x${SELF}", &x, &out), -EINVAL);
    cr_expect_eq(n_lookups, 0);
}
