/* expand.c - client-side expansion of secret references (arca_secrets_expand).
 *
 * The rules are base/expand.h's, the very code the server's raw routes run
 * (src/server/api_raw.c), so that a project read through either gives the
 * same values; this file supplies the lookup: folders other than the
 * caller's are fetched with arca_secrets_list, once per call.  A reference
 * resolves to the caller's personal override of the key where there is one
 * (as the server's does for a user), unless the scope says ARCA_SHARED_ONLY.
 * A failing reference is an error, or, lenient, that one value is kept as
 * written, or left out when the referenced folder may not be read, with a
 * warning. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/expand.h"
#include "base/util.h"
#include "client.h"

struct folder {
    char env[NAME_SLUG_MAX + 1];
    char path[NAME_PATH_MAX + 1];
    struct arca_secret_list *l; /* OWNED unless borrowed */
    bool borrowed;
};

struct expansion {
    struct arca *a;
    const char *project_id;
    unsigned flags; /* the scope's ARCA_SHARED_ONLY */
    struct folder *folders;
    size_t n_folders;
};

/* The folder (env, path), from the cache or fetched.  -ENOENT for an unknown
 * environment, -EACCES when the server refuses. */
static int folder_get(struct expansion *x, const char *env, const char *path,
                      const struct arca_secret_list **ret)
{
    struct arca_scope scope = {x->project_id, env, path, x->flags};
    struct arca_secret_list *l = NULL;
    struct folder *f;
    int r;

    for (size_t i = 0; i < x->n_folders; i++)
        if (streq(x->folders[i].env, env) && streq(x->folders[i].path, path)) {
            *ret = x->folders[i].l;
            return 0;
        }
    r = arca_secrets_list(x->a, &scope, &l);
    if (r < 0)
        return r;
    f = realloc(x->folders, (x->n_folders + 1) * sizeof(*f));
    if (!f) {
        arca_secret_list_free(l);
        return client_error(x->a, -ENOMEM, "out of memory");
    }
    x->folders = f;
    f = &x->folders[x->n_folders++];
    *f = (struct folder){.l = l};
    snprintf(f->env, sizeof(f->env), "%.*s", NAME_SLUG_MAX, env);
    snprintf(f->path, sizeof(f->path), "%.*s", NAME_PATH_MAX, path);
    *ret = l;
    return 0;
}

/* Does sec live in (env, path)? */
static bool located(const struct arca_secret *sec, const char *env, const char *path)
{
    return (!sec->environment || streq(sec->environment, env)) &&
           (!sec->path || streq(sec->path, path));
}

/* expand_lookup_fn: the value of key in (env, path), the caller's override
 * of it where the folder lists one. */
static int lookup(void *ctx, const char *env, const char *path, const char *key, struct buf *value)
{
    struct expansion *x = ctx;
    const struct arca_secret_list *l = NULL;
    const struct arca_secret *sec = NULL;
    int r = folder_get(x, env, path, &l);

    if (r < 0)
        return r;
    for (size_t i = 0; i < l->n; i++) /* the folder's own; an override comes last */
        if (streq(l->v[i].key, key) && located(&l->v[i], env, path))
            sec = &l->v[i];
    if (!sec)
        return -ENOENT;
    return buf_add(value, sec->value, strlen(sec->value));
}

/* Adds "secret 'K' refers to ..., which ...: <what>" to the warnings. */
static int warn(struct arca *a, char ***warnings, size_t *n, const char *what)
{
    char **w = realloc(*warnings, (*n + 1) * sizeof(*w));

    if (!w)
        return client_error(a, -ENOMEM, "out of memory");
    *warnings = w;
    if (asprintf(&w[*n], "%s: %s", arca_errmsg(a), what) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    (*n)++;
    return 0;
}

static int expand_all(struct arca *a, const struct arca_scope *scope, struct arca_secret_list *l,
                      char ***warnings, size_t *n_warnings)
{
    struct client_scope s;
    struct expansion x = {.a = a};
    struct expander ex = {.lookup = lookup, .ctx = &x};
    char **values = NULL;
    bool *drop = NULL;
    int r;

    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    if (!l)
        return client_error(a, -EINVAL, "no secrets given");
    x.project_id = s.project_id;
    x.flags = s.flags & ARCA_SHARED_ONLY;
    x.folders = calloc(1, sizeof(*x.folders));
    values = calloc(l->n ? l->n : 1, sizeof(*values));
    drop = calloc(l->n ? l->n : 1, sizeof(*drop));
    if (!x.folders || !values || !drop) {
        r = client_error(a, -ENOMEM, "out of memory");
        goto out;
    }
    /* the caller's folder, as given: references resolve against its values */
    x.folders[0] = (struct folder){.l = l, .borrowed = true};
    snprintf(x.folders[0].env, sizeof(x.folders[0].env), "%.*s", NAME_SLUG_MAX, s.environment);
    snprintf(x.folders[0].path, sizeof(x.folders[0].path), "%.*s", NAME_PATH_MAX, s.path);
    x.n_folders = 1;

    for (size_t i = 0; i < l->n; i++) {
        _cleanup_buf_ struct buf out = BUF_INIT;

        if (!strstr(l->v[i].value, "${"))
            continue;
        buf_init_secret(&out, EXPAND_VALUE_MAX);
        /* in the context of its own folder (an import, a sub-folder) */
        r = expand_value(&ex, l->v[i].environment ? l->v[i].environment : s.environment,
                         l->v[i].path ? l->v[i].path : s.path, l->v[i].key, l->v[i].value,
                         strlen(l->v[i].value), &out);
        if (r < 0 && ex.msg[0]) /* else the lookup's own error stands */
            r = client_error(a, r, "%s", ex.msg);
        if (r < 0 && warnings && expand_ref_failure(r)) {
            /* lenient: this one key only; a folder that may not be read hides it */
            drop[i] = r == -EACCES;
            r = warn(a, warnings, n_warnings, drop[i] ? "left out" : "kept as written");
            if (r < 0)
                goto out;
            continue;
        }
        if (r < 0)
            goto out;
        if (!(values[i] = buf_detach(&out))) {
            r = client_error(a, -ENOMEM, "out of memory");
            goto out;
        }
    }
    /* all expanded: only now replace (and wipe) the old values */
    for (size_t i = 0; i < l->n; i++)
        if (values[i]) {
            client_string_free(l->v[i].value);
            l->v[i].value = values[i];
            values[i] = NULL;
        }
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (drop[i])
            client_secret_free_fields(&l->v[i]);
        else
            l->v[kept++] = l->v[i];
    }
    l->n = kept;
    r = 0;
out:
    for (size_t i = 0; values && i < l->n; i++)
        client_string_free(values[i]);
    free(values);
    free(drop);
    for (size_t i = 0; i < x.n_folders; i++)
        if (!x.folders[i].borrowed)
            arca_secret_list_free(x.folders[i].l);
    free(x.folders);
    return r;
}

int arca_secrets_expand(struct arca *a, const struct arca_scope *scope, struct arca_secret_list *l)
{
    return expand_all(a, scope, l, NULL, NULL);
}

int arca_secrets_expand_lenient(struct arca *a, const struct arca_scope *scope,
                                struct arca_secret_list *l, char ***ret_warnings, size_t *ret_n)
{
    char **w = NULL;
    size_t n = 0;
    int r = expand_all(a, scope, l, &w, &n);

    if (r < 0) {
        arca_strings_free(w, n);
        return r;
    }
    *ret_warnings = w;
    *ret_n = n;
    return 0;
}

void arca_strings_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}
