/* fuzz_expand.c - the reference expander (src/base/expand.c, expand_value),
 * the one the client and the server both run, with a lookup that reads the
 * folders from the input instead of a server or a store.
 *
 * Input, one item a line: "[env:/path]" starts a folder (the first folder is
 * dev:/ until one is named; its secrets are the ones expanded), "KEY=value"
 * adds a secret to the current folder; a folder named "[deny:/path]" ... is
 * an unreadable one: its lookups answer -EACCES.  Properties: expansion ends
 * (the fuzzer's timeout catches blow-ups) within the output bound, makes at
 * most EXPAND_RESOLVED_MAX lookups per value, and fails only with a reference
 * failure that says which secret. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/expand.h"
#include "base/names.h"
#include "fuzz.h"

#define FOLDERS_MAX 16
#define SECRETS_MAX 64

struct secret {
    const char *key, *value;
};

struct folder {
    char env[NAME_SLUG_MAX + 1];
    char path[NAME_PATH_MAX + 1];
    struct secret v[SECRETS_MAX];
    size_t n;
};

static struct folder folders[FOLDERS_MAX];
static size_t n_folders;
static unsigned n_lookups;

static int lookup(void *ctx, const char *env, const char *path, const char *key, struct buf *value)
{
    const struct secret *sec = NULL;
    bool env_known = false;

    (void)ctx;
    n_lookups++;
    for (size_t i = 0; i < n_folders; i++) {
        struct folder *f = &folders[i];
        env_known = env_known || !strcmp(f->env, env);
        if (strcmp(f->env, env) || strcmp(f->path, path))
            continue;
        if (!strcmp(env, "deny"))
            return -EACCES;
        for (size_t k = 0; k < f->n; k++)
            if (!strcmp(f->v[k].key, key))
                sec = &f->v[k];
    }
    if (!sec)
        return env_known ? -ENOENT : -ENXIO;
    return buf_add(value, sec->value, strlen(sec->value));
}

static struct folder *folder_new(const char *env, const char *path)
{
    struct folder *f;

    if (n_folders == FOLDERS_MAX)
        return NULL;
    f = &folders[n_folders++];
    memset(f, 0, sizeof(*f));
    snprintf(f->env, sizeof(f->env), "%s", env);
    if (name_path_normalize(path, f->path, sizeof(f->path)) < 0)
        snprintf(f->path, sizeof(f->path), "/");
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size), *line = text, *next;
    struct folder *cur;
    int r;

    n_folders = 0;
    cur = folder_new("dev", "/");
    for (; *line; line = next) {
        next = fuzz_split(line);
        size_t n = strlen(line);
        char *colon = strchr(line, ':'), *eq;
        if (n >= 4 && line[0] == '[' && line[n - 1] == ']' && colon) {
            line[n - 1] = 0;
            *colon = 0;
            if (strlen(line + 1) <= NAME_SLUG_MAX && name_slug_valid(line + 1))
                cur = folder_new(line + 1, colon + 1) ?: cur;
        } else if ((eq = strchr(line, '=')) && cur->n < SECRETS_MAX) {
            *eq = 0;
            if (name_key_valid(line))
                cur->v[cur->n++] = (struct secret){.key = line, .value = eq + 1};
        }
    }

    for (size_t i = 0; i < folders[0].n; i++) {
        _cleanup_buf_ struct buf out = BUF_INIT;
        struct expander x = {.lookup = lookup};
        const struct secret *sec = &folders[0].v[i];

        buf_init_secret(&out, EXPAND_VALUE_MAX);
        n_lookups = 0;
        r = expand_value(&x, folders[0].env, folders[0].path, sec->key, sec->value,
                         strlen(sec->value), &out);
        FUZZ_CHECK(out.len <= EXPAND_VALUE_MAX);
        FUZZ_CHECK(n_lookups <= EXPAND_RESOLVED_MAX);
        if (r < 0) /* only the references' own failures, each saying which secret */
            FUZZ_CHECK(expand_ref_failure(r) && strstr(x.msg, sec->key));
        else if (!strstr(sec->value, "${"))
            FUZZ_CHECK(out.len == strlen(sec->value) &&
                       !memcmp(out.ptr ? out.ptr : "", sec->value, out.len));
    }
    free(text);
    return 0;
}
