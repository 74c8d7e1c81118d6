/* wire.c - JSON helpers over jansson.
 *
 * wire_parse is json_loadb with duplicate keys rejected and jansson's default
 * strictness kept (trailing garbage and NUL in strings are errors).  jansson's
 * own error text quotes the offending token, which could be part of a secret,
 * so only the line, column and byte offset are reported.  The getters map
 * "absent or null" to -ENOENT and every type mismatch to -EINVAL, so handlers
 * can turn any result into the right 4xx without more checks. */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int wire_parse(const char *s, size_t len, json_t **ret, struct buf *err)
{
    json_error_t e;
    json_t *v;

    v = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!v) {
        if (err) {
            if (e.line > 0)
                buf_printf(err, "invalid JSON at line %d, column %d", e.line, e.column);
            else
                buf_printf(err, "invalid JSON at byte %d", e.position);
        }
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

/* Bytes wire_dump makes room for before it dumps. */
#define WIRE_DUMP_ROOM 512

int wire_dump(struct buf *out, const json_t *v)
{
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    size_t room = 0, n;
    int r;

    /* One pass into the room the buffer has (it grows by doubling: a list
     * dumped item by item mostly fits); a second, sized one only when the
     * text is longer.  What a first pass left past len is not counted (and
     * a secret buffer wipes it with the rest). */
    if (buf_grow(out, WIRE_DUMP_ROOM) == 0)
        room = out->cap - out->len - 1;
    n = json_dumpb(v, room ? out->ptr + out->len : NULL, room, flags);
    if (n == 0)
        return -ENOMEM;
    if (n > room) {
        r = buf_grow(out, n);
        if (r < 0)
            return r;
        if (json_dumpb(v, out->ptr + out->len, n, flags) != n)
            return -ENOMEM;
    }
    out->len += n;
    out->ptr[out->len] = 0;
    return 0;
}

/* obj[key], or NULL when obj is not an object or the key is absent or null. */
static json_t *field(const json_t *obj, const char *key)
{
    json_t *v;

    if (!json_is_object(obj))
        return NULL;
    v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

int wire_get_str(const json_t *obj, const char *key, size_t max, const char **ret)
{
    json_t *v = field(obj, key);

    if (!v)
        return -ENOENT;
    if (!json_is_string(v))
        return -EINVAL;
    if (max && json_string_length(v) > max)
        return -E2BIG;
    *ret = json_string_value(v);
    return 0;
}

int wire_get_str_or(const json_t *obj, const char *key, size_t max, const char *def,
                    const char **ret)
{
    int r = wire_get_str(obj, key, max, ret);

    if (r == -ENOENT) {
        *ret = def;
        return 0;
    }
    return r;
}

int wire_get_bool(const json_t *obj, const char *key, bool *ret)
{
    json_t *v = field(obj, key);

    if (!v)
        return -ENOENT;
    if (!json_is_boolean(v))
        return -EINVAL;
    *ret = json_is_true(v);
    return 0;
}

int wire_get_int(const json_t *obj, const char *key, long long *ret)
{
    json_t *v = field(obj, key);

    if (!v)
        return -ENOENT;
    if (!json_is_integer(v))
        return -EINVAL;
    *ret = json_integer_value(v);
    return 0;
}

int wire_get_obj(const json_t *obj, const char *key, json_t **ret)
{
    json_t *v = field(obj, key);

    if (!v)
        return -ENOENT;
    if (!json_is_object(v))
        return -EINVAL;
    *ret = v;
    return 0;
}

int wire_get_arr(const json_t *obj, const char *key, size_t max_items, json_t **ret)
{
    json_t *v = field(obj, key);

    if (!v)
        return -ENOENT;
    if (!json_is_array(v))
        return -EINVAL;
    if (max_items && json_array_size(v) > max_items)
        return -E2BIG;
    *ret = v;
    return 0;
}

json_t *wire_text(const char *s)
{
    char *fixed;
    json_t *j;

    if (!s)
        return json_null();
    j = json_string(s);
    if (j || !(fixed = utf8_repaired(s)))
        return j;
    j = json_string(fixed);
    free(fixed);
    return j;
}

int wire_set_str(json_t *obj, const char *key, const char *value)
{
    json_t *v;

    if (!json_is_object(obj))
        return -EINVAL;
    if (value && !utf8_valid(value, strlen(value)))
        return -EINVAL;
    v = value ? json_string(value) : json_null();
    if (!v)
        return -ENOMEM;
    return json_object_set_new(obj, key, v) < 0 ? -ENOMEM : 0;
}
