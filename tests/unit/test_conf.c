/* test_conf.c - the agent's config reader: YAML (and JSON) into jansson, with
 * its refusals (src/cli/conf.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "cli/conf.h"

static json_t *parse_ok(const char *text)
{
    json_t *v = NULL;
    _cleanup_buf_ struct buf err = BUF_INIT;

    cr_assert_eq(conf_parse(text, strlen(text), &v, &err), 0, "%s: %s", text, buf_str(&err));
    return v;
}

static void parse_bad(const char *text, const char *why)
{
    json_t *v = NULL;
    _cleanup_buf_ struct buf err = BUF_INIT;

    cr_assert_eq(conf_parse(text, strlen(text), &v, &err), -EINVAL, "%s", text);
    cr_assert_null(v);
    cr_assert(strstr(buf_str(&err), why), "'%s' for %s", buf_str(&err), text);
}

Test(conf, yaml_and_json_give_the_same_tree)
{
    json_t *y = parse_ok("server: http://x:8200\n"
                         "interval: 30s\n"
                         "watch: true\n"
                         "auth:\n"
                         "  client-id: abc\n"
                         "templates:\n"
                         "  - environment: prod\n"
                         "    destination: /run/app.env\n"
                         "  - {environment: dev, destination: /run/dev.env}\n");
    json_t *j = parse_ok("{\"server\": \"http://x:8200\", \"interval\": \"30s\", \"watch\": true,"
                         " \"auth\": {\"client-id\": \"abc\"}, \"templates\": ["
                         "{\"environment\": \"prod\", \"destination\": \"/run/app.env\"},"
                         "{\"environment\": \"dev\", \"destination\": \"/run/dev.env\"}]}");

    cr_assert(json_equal(y, j));
    cr_assert_str_eq(json_string_value(json_object_get(y, "watch")), "true", "scalars are text");
    json_decref(y);
    json_decref(j);
}

Test(conf, refusals)
{
    parse_bad("a: 1\na: 2\n", "line 2: 'a' is given twice");
    parse_bad("a: &x 1\nb: *x\n", "anchors");
    parse_bad("a: *x\n", "");
    parse_bad("- 1\n- 2\n", "must be a mapping");
    parse_bad("a: 1\n---\nb: 2\n", "only one document");
    parse_bad("a: [1, 2\n", "line");
    parse_bad("? [a]\n: 1\n", "a key must be a plain name");
    parse_bad("", "must be a mapping");
}

Test(conf, depth_is_bounded)
{
    char text[256] = "a: ";
    for (int i = 0; i < 40; i++)
        strcat(text, "[");
    parse_bad(text, "nested too deep");
}
