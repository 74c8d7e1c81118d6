/* fuzz_expand.c - the client's reference expander (src/client/expand.c,
 * arca_secrets_expand), compiled as it is, with the few libarca functions it
 * calls replaced by the stubs below: the folders it fetches come from the
 * input instead of a server.
 *
 * Input, one item a line: "[env:/path]" starts a folder (the first folder is
 * dev:/ until one is named; it is the one expanded), "KEY=value" adds a secret
 * to the current folder.  Properties: expansion ends (the fuzzer's timeout
 * catches blow-ups) within the output bound, and on failure leaves the values
 * as they were. */
#include <errno.h>
#include <stdarg.h>

#include "base/names.h"
#include "client/client.h"
#include "fuzz.h"

#define FOLDERS_MAX 16
#define SECRETS_MAX 64

struct folder {
    char env[NAME_SLUG_MAX + 1];
    char path[NAME_PATH_MAX + 1];
    struct arca_secret v[SECRETS_MAX];
    size_t n;
};

static struct folder folders[FOLDERS_MAX];
static size_t n_folders;

int client_error(struct arca *a, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(a->err, sizeof(a->err), fmt, ap);
    va_end(ap);
    return r;
}

void client_string_free(char *s)
{
    free(s);
}

int client_scope_begin(struct arca *a, const struct arca_scope *scope, const char *key,
                       struct client_scope *out)
{
    (void)key;
    memset(out, 0, sizeof(*out));
    out->project_id = scope->project_id;
    out->environment = scope->environment;
    out->owner = "";
    out->flags = scope->flags;
    if (name_path_normalize(scope->path, out->path, sizeof(out->path)) < 0)
        return client_error(a, -EINVAL, "bad path");
    return 0;
}

void arca_secret_list_free(struct arca_secret_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].value);
    free(l->v);
    free(l);
}

/* A copy of the input's folder (env, path); -ENOENT when there is none. */
int arca_secrets_list(struct arca *a, const struct arca_scope *scope, struct arca_secret_list **ret)
{
    for (size_t i = 0; i < n_folders; i++) {
        struct folder *f = &folders[i];
        if (strcmp(f->env, scope->environment) || strcmp(f->path, scope->path))
            continue;
        struct arca_secret_list *l = calloc(1, sizeof(*l));
        if (!l || !(l->v = calloc(f->n + 1, sizeof(*l->v))))
            abort();
        for (size_t k = 0; k < f->n; k++) {
            l->v[k] = f->v[k];
            if (!(l->v[k].value = strdup(f->v[k].value)))
                abort();
        }
        l->n = f->n;
        *ret = l;
        return 0;
    }
    return client_error(a, -ENOENT, "no such folder");
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
    static struct arca a;
    char *text = fuzz_cstr(data, size), *line = text, *next;
    struct folder *cur;
    struct arca_secret_list l = {0};
    char **before;
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
                cur->v[cur->n++] = (struct arca_secret){.key = line, .value = eq + 1};
        }
    }

    /* the folder being expanded, in the caller's own (heap) strings */
    l.n = folders[0].n;
    l.v = calloc(l.n + 1, sizeof(*l.v));
    before = calloc(l.n + 1, sizeof(*before));
    if (!l.v || !before)
        abort();
    for (size_t i = 0; i < l.n; i++) {
        l.v[i] = folders[0].v[i];
        if (!(l.v[i].value = strdup(folders[0].v[i].value)))
            abort();
        before[i] = l.v[i].value;
    }
    const struct arca_scope scope = {"7f3c2a9e-5b1d-4c8e-a0f2-6d4b3e1c9a75", "dev", "/", 0};
    r = arca_secrets_expand(&a, &scope, &l);
    for (size_t i = 0; i < l.n; i++) {
        if (r < 0) /* all or nothing */
            FUZZ_CHECK(l.v[i].value == before[i]);
        FUZZ_CHECK(strlen(l.v[i].value) <= 256u * 1024);
        free(l.v[i].value);
    }
    free(l.v);
    free(before);
    free(text);
    return 0;
}
