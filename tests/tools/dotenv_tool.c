/* dotenv_tool.c - drives src/base/dotenv.c from the Node tests (the
 * comparison with the npm dotenv package, tests/e2e/dotenv.test.mjs).  The
 * -each forms take a JSON array and answer one, so that a test of many
 * inputs starts the tool once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/dotenv.h"
#include "base/wire.h"

static int read_all(FILE *f, struct buf *b)
{
    char chunk[65536];
    size_t n;
    int r;

    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        r = buf_add(b, chunk, n);
        if (r < 0)
            return r;
    }
    return ferror(f) ? -EIO : 0;
}

static int cmd_parse(const char *path)
{
    _cleanup_buf_ struct buf src = BUF_INIT, out = BUF_INIT;
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;
    _cleanup_json_ json_t *obj = NULL;
    FILE *f;
    int r;

    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dotenv_tool: cannot open '%s': %s\n", path, strerror(errno));
        return 1;
    }
    r = read_all(f, &src);
    fclose(f);
    if (r < 0) {
        fprintf(stderr, "dotenv_tool: cannot read '%s': %s\n", path, strerror(-r));
        return 1;
    }
    r = dotenv_parse(src.ptr ? src.ptr : "", src.len, &d);
    if (r < 0) {
        fprintf(stderr, "dotenv_tool: cannot parse '%s': %s\n", path, strerror(-r));
        return 2;
    }
    obj = json_object();
    if (!obj)
        return 1;
    for (size_t i = 0; i < d.n; i++)
        if (wire_set_str(obj, d.v[i].key, d.v[i].value) < 0)
            return 1;
    r = wire_dump(&out, obj);
    if (r < 0)
        return 1;
    printf("%s\n", buf_str(&out));
    return 0;
}

static int cmd_write(bool export)
{
    _cleanup_buf_ struct buf in = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
    _cleanup_json_ json_t *obj = NULL;
    const char *key;
    json_t *v;
    int r;

    r = read_all(stdin, &in);
    if (r < 0)
        return 1;
    r = wire_parse(buf_str(&in), in.len, &obj, &err);
    if (r < 0) {
        fprintf(stderr, "dotenv_tool: %s\n", buf_str(&err));
        return 1;
    }
    if (!json_is_object(obj)) {
        fprintf(stderr, "dotenv_tool: expected a JSON object\n");
        return 1;
    }
    json_object_foreach(obj, key, v)
    {
        const char *reason = NULL;
        if (!json_is_string(v)) {
            fprintf(stderr, "dotenv_tool: value of '%s' is not a string\n", key);
            return 1;
        }
        r = dotenv_write(&out, key, json_string_value(v), export ? DOTENV_EXPORT : DOTENV_PLAIN,
                         &reason);
        if (r < 0) {
            fprintf(stderr, "dotenv_tool: cannot write '%s': %s\n", key,
                    reason ? reason : strerror(-r));
            return 3;
        }
    }
    fwrite(buf_str(&out), 1, out.len, stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* One object of entries for <src, len>, or JSON null when it does not parse. */
static json_t *parsed(const char *src, size_t len)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;
    json_t *obj;

    if (dotenv_parse(src, len, &d) < 0)
        return json_null();
    obj = json_object();
    for (size_t i = 0; obj && i < d.n; i++)
        if (wire_set_str(obj, d.v[i].key, d.v[i].value) < 0) {
            json_decref(obj);
            return NULL;
        }
    return obj;
}

/* The text of K=value, or JSON null when the writer refuses the value. */
static json_t *written(const char *value, bool export)
{
    _cleanup_buf_ struct buf out = BUF_INIT;

    if (dotenv_write(&out, "K", value, export ? DOTENV_EXPORT : DOTENV_PLAIN, NULL) < 0)
        return json_null();
    return json_stringn(buf_str(&out), out.len);
}

/* parse-each: an array of texts -> an array of objects (null: refused);
 * write-each: an array of values -> an array of K=value texts (null: refused). */
static int cmd_each(bool parse, bool export)
{
    _cleanup_buf_ struct buf in = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
    _cleanup_json_ json_t *arr = NULL, *res = json_array();
    size_t i;
    json_t *v;

    if (!res || read_all(stdin, &in) < 0)
        return 1;
    if (wire_parse(buf_str(&in), in.len, &arr, &err) < 0 || !json_is_array(arr)) {
        fprintf(stderr, "dotenv_tool: expected a JSON array %s\n", buf_str(&err));
        return 1;
    }
    json_array_foreach(arr, i, v)
    {
        json_t *one;
        if (!json_is_string(v)) {
            fprintf(stderr, "dotenv_tool: element %zu is not a string\n", i);
            return 1;
        }
        one = parse ? parsed(json_string_value(v), json_string_length(v))
                    : written(json_string_value(v), export);
        if (!one || json_array_append_new(res, one) < 0)
            return 1;
    }
    if (wire_dump(&out, res) < 0)
        return 1;
    printf("%s\n", buf_str(&out));
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    bool export = argc == 3 && strcmp(argv[2], "--export") == 0;

    if (argc == 3 && strcmp(argv[1], "parse") == 0)
        return cmd_parse(argv[2]);
    if ((argc == 2 || export) && strcmp(argv[1], "write") == 0)
        return cmd_write(export);
    if (argc == 2 && strcmp(argv[1], "parse-each") == 0)
        return cmd_each(true, false);
    if ((argc == 2 || export) && strcmp(argv[1], "write-each") == 0)
        return cmd_each(false, export);
    fprintf(stderr, "usage: dotenv_tool parse FILE\n"
                    "       dotenv_tool write [--export] < JSON object\n"
                    "       dotenv_tool parse-each < JSON array of texts\n"
                    "       dotenv_tool write-each [--export] < JSON array of values\n");
    return 64;
}
