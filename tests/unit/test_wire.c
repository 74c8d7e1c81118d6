/* test_wire.c - JSON parsing limits, errors that never echo input, typed getters. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/wire.h"

static json_t *parse_ok(const char *s)
{
    json_t *v = NULL;

    cr_assert_eq(wire_parse(s, strlen(s), &v, NULL), 0, "%s", s);
    return v;
}

Test(wire, parses_objects_arrays_and_scalars)
{
    json_t *v = parse_ok("{\"a\":1,\"b\":[true,null],\"c\":\"x\"}");
    cr_assert(json_is_object(v));
    json_decref(v);
    v = parse_ok("[1,2]");
    cr_assert(json_is_array(v));
    json_decref(v);
    v = parse_ok("\"just a string\"");
    cr_assert(json_is_string(v));
    json_decref(v);
    v = parse_ok("  {}  \n");
    json_decref(v);
}

Test(wire, refuses_bad_input)
{
    static const char *bad[] = {
        "",        "{",        "{\"a\":1,\"a\":2}",   /* duplicate key */
        "{} {}",                                      /* trailing garbage */
        "{}x",     "[1,]",     "{\"a\":\"\\u0000\"}", /* NUL inside a string */
        "{'a':1}", "\"\xff\"",                        /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        _cleanup_buf_ struct buf err = BUF_INIT;
        json_t *v = (json_t *)0x1;
        cr_assert_eq(wire_parse(bad[i], strlen(bad[i]), &v, &err), -EINVAL, "accepted %s", bad[i]);
        cr_assert_eq(v, (json_t *)0x1, "ret written on failure");
        cr_assert_gt(err.len, 0);
    }
}

Test(wire, error_never_echoes_the_input)
{
    _cleanup_buf_ struct buf err = BUF_INIT;
    const char *secret = "{\"token\": sk_live_SUPERSECRET}";
    json_t *v = NULL;

    cr_assert_eq(wire_parse(secret, strlen(secret), &v, &err), -EINVAL);
    cr_assert_null(strstr(buf_str(&err), "SUPERSECRET"), "%s", buf_str(&err));
    cr_assert_null(strstr(buf_str(&err), "sk_live"), "%s", buf_str(&err));
    cr_assert_not_null(strstr(buf_str(&err), "line 1"), "%s", buf_str(&err));
}

Test(wire, embedded_nul_in_the_buffer_is_refused)
{
    json_t *v = NULL;

    cr_assert_eq(wire_parse("{}\0{}", 5, &v, NULL), -EINVAL);
}

Test(wire, dump_is_compact_and_appends)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    json_t *v = parse_ok("{ \"a\" : [ 1 , 2 ] , \"b\" : \"\\n\" }");

    cr_assert_eq(buf_adds(&out, ">"), 0);
    cr_assert_eq(wire_dump(&out, v), 0);
    cr_assert_str_eq(buf_str(&out), ">{\"a\":[1,2],\"b\":\"\\n\"}");
    json_decref(v);
}

Test(wire, dump_respects_max)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    json_t *v = parse_ok("{\"a\":\"0123456789\"}");

    buf_init(&out, 10);
    cr_assert_eq(wire_dump(&out, v), -E2BIG);
    cr_assert_str_eq(buf_str(&out), "");
    json_decref(v);
}

Test(wire, getters)
{
    json_t *o = parse_ok("{\"s\":\"hello\",\"b\":true,\"i\":-42,\"o\":{},\"a\":[1,2,3],"
                         "\"n\":null,\"f\":1.5}");
    const char *s;
    bool b;
    long long i;
    json_t *j;

    cr_assert_eq(wire_get_str(o, "s", 0, &s), 0);
    cr_assert_str_eq(s, "hello");
    cr_assert_eq(wire_get_str(o, "s", 5, &s), 0);
    cr_assert_eq(wire_get_str(o, "s", 4, &s), -E2BIG);
    cr_assert_eq(wire_get_str(o, "missing", 0, &s), -ENOENT);
    cr_assert_eq(wire_get_str(o, "n", 0, &s), -ENOENT);
    cr_assert_eq(wire_get_str(o, "i", 0, &s), -EINVAL);

    cr_assert_eq(wire_get_bool(o, "b", &b), 0);
    cr_assert(b);
    cr_assert_eq(wire_get_bool(o, "s", &b), -EINVAL);
    cr_assert_eq(wire_get_bool(o, "missing", &b), -ENOENT);

    cr_assert_eq(wire_get_int(o, "i", &i), 0);
    cr_assert_eq(i, -42);
    cr_assert_eq(wire_get_int(o, "f", &i), -EINVAL);
    cr_assert_eq(wire_get_int(o, "s", &i), -EINVAL);

    cr_assert_eq(wire_get_obj(o, "o", &j), 0);
    cr_assert(json_is_object(j));
    cr_assert_eq(wire_get_obj(o, "a", &j), -EINVAL);

    cr_assert_eq(wire_get_arr(o, "a", 0, &j), 0);
    cr_assert_eq(json_array_size(j), 3);
    cr_assert_eq(wire_get_arr(o, "a", 3, &j), 0);
    cr_assert_eq(wire_get_arr(o, "a", 2, &j), -E2BIG);
    cr_assert_eq(wire_get_arr(o, "o", 0, &j), -EINVAL);
    cr_assert_eq(wire_get_arr(o, "n", 0, &j), -ENOENT);

    /* not an object at all */
    cr_assert_eq(wire_get_str(json_object_get(o, "a"), "s", 0, &s), -ENOENT);
    json_decref(o);
}

Test(wire, get_str_or_default)
{
    json_t *o = parse_ok("{\"s\":\"v\",\"n\":null,\"i\":1}");
    const char *s;

    cr_assert_eq(wire_get_str_or(o, "s", 0, "def", &s), 0);
    cr_assert_str_eq(s, "v");
    cr_assert_eq(wire_get_str_or(o, "missing", 0, "def", &s), 0);
    cr_assert_str_eq(s, "def");
    cr_assert_eq(wire_get_str_or(o, "n", 0, "def", &s), 0);
    cr_assert_str_eq(s, "def");
    cr_assert_eq(wire_get_str_or(o, "i", 0, "def", &s), -EINVAL);
    cr_assert_eq(wire_get_str_or(o, "s", 0, NULL, &s), 0);
    json_decref(o);
}

Test(wire, set_str)
{
    json_t *o = json_object();
    const char *s;

    cr_assert_eq(wire_set_str(o, "k", "v"), 0);
    cr_assert_eq(wire_get_str(o, "k", 0, &s), 0);
    cr_assert_str_eq(s, "v");
    cr_assert_eq(wire_set_str(o, "k", NULL), 0);
    cr_assert(json_is_null(json_object_get(o, "k")));
    cr_assert_eq(wire_set_str(o, "bad", "\xff"), -EINVAL);
    cr_assert_null(json_object_get(o, "bad"));
    json_decref(o);
}
