/* test_template.c - the agent's template language (src/cli/template.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "cli/template.h"

static struct arca_secret v[] = {
    {.key = "DB_PASSWORD", .value = "p'w\"d\\\n$x"},
    {.key = "HOST", .value = "db.internal"},
};
static const struct arca_secret_list list = {v, 2};

static void render(const char *text, enum template_escape esc, const char *want)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    char key[64];

    cr_assert_eq(template_render(&out, text, &list, esc, key, sizeof(key)), 0, "%s", text);
    cr_assert_str_eq(buf_str(&out), want);
}

Test(template, placeholders_and_escapes)
{
    render("url=postgres://app:{{ DB_PASSWORD }}@{{HOST}}/app\n", TEMPLATE_RAW,
           "url=postgres://app:p'w\"d\\\n$x@db.internal/app\n");
    render("{\"pw\": \"{{ .DB_PASSWORD }}\"}", TEMPLATE_JSON, "{\"pw\": \"p'w\\\"d\\\\\\n$x\"}");
    render("PW={{ DB_PASSWORD }}", TEMPLATE_SHELL, "PW='p'\\''w\"d\\\n$x'");
    render("no placeholders { } {x}", TEMPLATE_RAW, "no placeholders { } {x}");
}

Test(template, refusals)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    char key[64];
    size_t off;
    enum template_escape e;

    cr_assert_eq(template_render(&out, "a {{ MISSING }} b", &list, TEMPLATE_RAW, key, sizeof(key)),
                 -ENOENT);
    cr_assert_str_eq(key, "MISSING");
    cr_assert_eq(template_check("ok {{ A }} then {{ bad key }}", &off), -EINVAL);
    cr_assert_eq(off, 16);
    cr_assert_eq(template_check("{{ A }", &off), -EINVAL);
    cr_assert_eq(template_check("{{}}", &off), -EINVAL);
    cr_assert_eq(template_check("{{ A }}{{B}}", &off), 0);
    cr_assert_eq(template_escape_parse("shell", &e), 0);
    cr_assert_eq(e, TEMPLATE_SHELL);
    cr_assert_eq(template_escape_parse("sql", &e), -EINVAL);
}
