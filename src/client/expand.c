/* expand.c - client-side expansion of secret references (arca_secrets_expand).
 *
 * The rules are those of the server's raw routes (src/server/api_raw.c,
 * resolve and expand), so that a project read through either gives the same
 * values: ${KEY} is KEY in the same environment and folder, ${env.KEY} KEY at
 * the root of environment env, ${env.a.b.KEY} KEY in folder /a/b of env; a
 * referenced value is itself expanded, at most REF_DEPTH_MAX references deep;
 * a cycle, an unknown environment or a missing secret is an error (or, lenient,
 * that one value is kept as written, or left out when the referenced folder
 * may not be read, with a warning); "${" with no closing "}" is kept as is,
 * "\${" is a literal "${" (how a single-quoted .env value is stored); an
 * expanded value holds at most REF_EXPANDED_MAX bytes and resolves at most
 * REF_RESOLVED_MAX references in all (eight levels of eight references each
 * would otherwise be 16 million lookups for a few hundred bytes of values).
 * Folders other than the caller's are fetched with arca_secrets_list, once per
 * call.  A reference resolves to the caller's personal override of the key
 * where there is one (as the server's does for a user), unless the scope says
 * ARCA_SHARED_ONLY. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "client.h"

#define REF_DEPTH_MAX 8 /* references within references */
#define REF_EXPANDED_MAX (256u * 1024)
#define REF_SHOWN_MAX 200    /* characters of a reference shown in a message */
#define REF_RESOLVED_MAX 256 /* references resolved for one value, nested ones included */

struct folder {
    char env[NAME_SLUG_MAX + 1];
    char path[NAME_PATH_MAX + 1];
    struct arca_secret_list *l; /* OWNED unless borrowed */
    bool borrowed;
};

struct expansion {
    struct arca *a;
    const char *project_id;
    unsigned flags;      /* the scope's ARCA_SHARED_ONLY */
    const char *top;     /* the key whose value is being expanded, for messages */
    unsigned n_resolved; /* references resolved for top so far */
    struct folder *folders;
    size_t n_folders;
};

struct ref_frame {
    const char *env, *path, *key;
    const struct ref_frame *up;
};

static int expand(struct expansion *x, const char *value, size_t len, const struct ref_frame *at,
                  int depth, struct buf *out);

/* Fails with r, naming the top secret and the reference <ref, len>. */
static int ref_fail(struct expansion *x, int r, const char *ref, size_t len, const char *why)
{
    return client_error(x->a, r, "secret '%s' refers to ${%.*s}, which %s", x->top,
                        (int)(len < REF_SHOWN_MAX ? len : REF_SHOWN_MAX), ref, why);
}

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

/* Resolves one reference <ref, len> (the text between "${" and "}") seen in
 * the secret at `at`, appending the referenced value, itself expanded. */
static int resolve(struct expansion *x, const char *ref, size_t len, const struct ref_frame *at,
                   int depth, struct buf *out)
{
    char text[NAME_PATH_MAX + NAME_SLUG_MAX + NAME_KEY_MAX + 8], path[NAME_PATH_MAX + 1];
    char raw_path[NAME_PATH_MAX + 2] = "";
    const char *env = at->env, *key;
    char *dot;
    const struct arca_secret_list *l = NULL;
    const struct arca_secret *sec = NULL;
    struct ref_frame me;
    int r;

    if (len == 0 || len >= sizeof(text))
        return client_error(x->a, -EINVAL, "secret '%s' holds a malformed secret reference",
                            x->top);
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
    if (!name_key_valid(key) || name_path_normalize(raw_path, path, sizeof(path)) < 0)
        return client_error(x->a, -EINVAL, "secret '%s' holds a malformed secret reference",
                            x->top);
    if (!name_slug_valid(env)) /* the server knows no such environment */
        return ref_fail(x, -ENOENT, ref, len, "does not resolve (no such environment)");
    r = folder_get(x, env, path, &l);
    if (r == -ENOENT)
        return ref_fail(x, -ENOENT, ref, len, "does not resolve");
    if (r == -EACCES)
        return ref_fail(x, -EACCES, ref, len, "you are not allowed to read");
    if (r < 0)
        return r;
    for (const struct ref_frame *f = at; f; f = f->up)
        if (streq(f->env, env) && streq(f->path, path) && streq(f->key, key))
            return ref_fail(x, -EINVAL, ref, len, "forms a cycle");
    if (depth >= REF_DEPTH_MAX)
        return ref_fail(x, -EINVAL, ref, len, "nests references too deeply");
    if (++x->n_resolved > REF_RESOLVED_MAX)
        return ref_fail(x, -E2BIG, ref, len, "makes more than 256 references to expand in all");
    for (size_t i = 0; i < l->n; i++) /* the folder's own; an override comes last */
        if (streq(l->v[i].key, key) && located(&l->v[i], env, path))
            sec = &l->v[i];
    if (!sec)
        return ref_fail(x, -ENOENT, ref, len, "does not resolve");
    me = (struct ref_frame){env, path, key, at};
    return expand(x, sec->value, strlen(sec->value), &me, depth + 1, out);
}

/* Appends value to out with every ${...} replaced by what it refers to, and
 * every escaped \${ by a literal ${. */
static int expand(struct expansion *x, const char *value, size_t len, const struct ref_frame *at,
                  int depth, struct buf *out)
{
    size_t i = 0;

    while (i < len) {
        const char *open = memmem(value + i, len - i, "${", 2), *close;
        bool escaped = open && open > value + i && open[-1] == '\\';
        int r;

        close = open ? memchr(open + 2, '}', (size_t)(value + len - (open + 2))) : NULL;
        if (!close && !escaped) /* no (complete) reference: the rest as is */
            return buf_add(out, value + i, len - i) < 0
                       ? client_error(x->a, -E2BIG, "secret '%s' expands to more than %u KiB",
                                      x->top, REF_EXPANDED_MAX / 1024)
                       : 0;
        if (buf_add(out, value + i, (size_t)(open - (value + i)) - escaped) < 0)
            return client_error(x->a, -E2BIG, "secret '%s' expands to more than %u KiB", x->top,
                                REF_EXPANDED_MAX / 1024);
        if (escaped) { /* a literal "${" */
            if (buf_add(out, "${", 2) < 0)
                return client_error(x->a, -E2BIG, "secret '%s' expands to more than %u KiB", x->top,
                                    REF_EXPANDED_MAX / 1024);
            i = (size_t)(open + 2 - value);
            continue;
        }
        r = resolve(x, open + 2, (size_t)(close - open - 2), at, depth, out);
        if (r < 0)
            return r;
        i = (size_t)(close + 1 - value);
    }
    return 0;
}

/* Is r a failure of one secret's references (not of the server, the network
 * or memory)?  Then a lenient expansion goes on without that one value. */
static bool ref_failure(int r)
{
    return r == -ENOENT || r == -EINVAL || r == -E2BIG || r == -EACCES;
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
        /* in the context of its own folder (an import, a sub-folder) */
        struct ref_frame me = {l->v[i].environment ? l->v[i].environment : s.environment,
                               l->v[i].path ? l->v[i].path : s.path, l->v[i].key, NULL};

        if (!strstr(l->v[i].value, "${"))
            continue;
        buf_init_secret(&out, REF_EXPANDED_MAX);
        x.top = l->v[i].key;
        x.n_resolved = 0;
        r = expand(&x, l->v[i].value, strlen(l->v[i].value), &me, 0, &out);
        if (r < 0 && warnings && ref_failure(r)) {
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
