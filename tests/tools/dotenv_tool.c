/* dotenv_tool.c - drives src/base/dotenv.c from the Node tests. */
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

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "parse") == 0)
        return cmd_parse(argv[2]);
    if (argc == 2 && strcmp(argv[1], "write") == 0)
        return cmd_write(false);
    if (argc == 3 && strcmp(argv[1], "write") == 0 && strcmp(argv[2], "--export") == 0)
        return cmd_write(true);
    fprintf(stderr, "usage: dotenv_tool parse FILE\n"
                    "       dotenv_tool write [--export] < JSON\n");
    return 64;
}
