/* expand.c - secret references in values (see expand.h). */
#include "base/expand.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/names.h"
#include "base/util.h"

#define REF_SHOWN_MAX 200 /* characters of a reference shown in a message */

struct ref_frame {
    const char *env, *path, *key;
    const struct ref_frame *up;
};

static int expand(struct expander *x, const char *value, size_t len, const struct ref_frame *at,
                  int depth, struct buf *out);

/* Fails with r, naming the top secret and the reference <ref, len>. */
static int ref_fail(struct expander *x, int r, const char *ref, size_t len, const char *why)
{
    snprintf(x->msg, sizeof(x->msg), "secret '%s' refers to ${%.*s}, which %s", x->top,
             (int)(len < REF_SHOWN_MAX ? len : REF_SHOWN_MAX), ref, why);
    return r;
}

static int malformed(struct expander *x)
{
    snprintf(x->msg, sizeof(x->msg), "secret '%s' holds a malformed secret reference", x->top);
    return -EINVAL;
}

static int too_large(struct expander *x)
{
    snprintf(x->msg, sizeof(x->msg), "secret '%s' expands to more than %u KiB", x->top,
             EXPAND_VALUE_MAX / 1024);
    return -E2BIG;
}

/* Resolves one reference <ref, len> (the text between "${" and "}") seen in
 * the secret at `at`, appending the referenced value, itself expanded. */
static int resolve(struct expander *x, const char *ref, size_t len, const struct ref_frame *at,
                   int depth, struct buf *out)
{
    char text[NAME_PATH_MAX + NAME_SLUG_MAX + NAME_KEY_MAX + 8], path[NAME_PATH_MAX + 1];
    char raw_path[NAME_PATH_MAX + 2] = "";
    const char *env = at->env, *key;
    char *dot;
    _cleanup_buf_ struct buf value = BUF_INIT;
    struct ref_frame me;
    int r;

    if (len == 0 || len >= sizeof(text))
        return malformed(x);
    memcpy(text, ref, len);
    text[len] = 0;
    dot = strrchr(text, '.');
    if (dot) { /* env[.folder...].KEY */
        *dot = 0;
        key = dot + 1;
        env = text;
        dot = strchr(text, '.');
        if (dot) {
            *dot = 0;
            snprintf(raw_path, sizeof(raw_path), "/%s", dot + 1);
            for (char *p = raw_path; *p; p++)
                if (*p == '.')
                    *p = '/';
        } else {
            strcpy(raw_path, "/");
        }
    } else {
        key = text;
        snprintf(raw_path, sizeof(raw_path), "%s", at->path);
    }
    if (!name_key_valid(key) || !name_slug_valid(env) ||
        name_path_normalize(raw_path, path, sizeof(path)) < 0)
        return malformed(x);
    for (const struct ref_frame *f = at; f; f = f->up)
        if (streq(f->env, env) && streq(f->path, path) && streq(f->key, key))
            return ref_fail(x, -EINVAL, ref, len, "forms a cycle");
    if (depth >= EXPAND_DEPTH_MAX)
        return ref_fail(x, -EINVAL, ref, len, "nests references too deeply");
    if (++x->n_resolved > EXPAND_RESOLVED_MAX)
        return ref_fail(x, -E2BIG, ref, len, "makes more than 256 references to expand in all");
    buf_init_secret(&value, EXPAND_VALUE_MAX);
    r = x->lookup(x->ctx, env, path, key, &value);
    if (r == -ENXIO)
        return ref_fail(x, -ENOENT, ref, len, "does not resolve (no such environment)");
    if (r == -ENOENT)
        return ref_fail(x, -ENOENT, ref, len, "does not resolve");
    if (r == -EACCES)
        return ref_fail(x, -EACCES, ref, len, "you are not allowed to read");
    if (r == -E2BIG)
        return too_large(x);
    if (r < 0)
        return r;
    me = (struct ref_frame){env, path, key, at};
    return expand(x, buf_str(&value), value.len, &me, depth + 1, out);
}

/* Appends value to out with every ${...} replaced by what it refers to, and
 * every escaped \${ by a literal ${. */
static int expand(struct expander *x, const char *value, size_t len, const struct ref_frame *at,
                  int depth, struct buf *out)
{
    size_t i = 0;

    while (i < len) {
        const char *open = memmem(value + i, len - i, "${", 2);
        const char *close = open ? memchr(open + 2, '}', (size_t)(value + len - (open + 2))) : NULL;
        bool escaped = open && open > value + i && open[-1] == '\\'; /* "\${": a literal "${" */
        size_t plain = close || escaped ? (size_t)(open - (value + i)) - escaped
                                        : len - i; /* "${" unclosed: text */
        int r;

        if (buf_add(out, value + i, plain) < 0 || (escaped && buf_add(out, "${", 2) < 0))
            return too_large(x);
        if (escaped) {
            i = (size_t)(open + 2 - value);
            continue;
        }
        if (!close)
            return 0;
        r = resolve(x, open + 2, (size_t)(close - open - 2), at, depth, out);
        if (r < 0)
            return r;
        i = (size_t)(close + 1 - value);
    }
    return 0;
}

int expand_value(struct expander *x, const char *env, const char *path, const char *key,
                 const char *value, size_t len, struct buf *out)
{
    struct ref_frame me = {env, path, key, NULL};

    x->top = key;
    x->n_resolved = 0;
    x->msg[0] = 0;
    return expand(x, value, len, &me, 0, out);
}

bool expand_ref_failure(int r)
{
    return r == -ENOENT || r == -EINVAL || r == -E2BIG || r == -EACCES;
}
