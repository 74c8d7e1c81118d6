/* secrets.c - secrets: scopes, records sealed and opened, list, get, set,
 * delete, rename. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "client/client.h"
#include "client/transport.h"
#include "crypto/seal.h"

/* --- secrets ------------------------------------------------------------- */

int client_scope_check(struct arca *a, const struct arca_scope *in, struct client_scope *out)
{
    int r;

    if (!in)
        return client_error(a, -EINVAL, "no project given");
    r = client_check_project_id(a, in->project_id);
    if (r < 0)
        return r;
    if (!in->environment || !*in->environment)
        return client_error(a, -EINVAL, "no environment given");
    if (!name_slug_valid(in->environment))
        return client_error(a, -EINVAL, "'%s' is not a valid environment slug", in->environment);
    const char *path = in->path ? in->path : "/";
    r = name_path_normalize(path, out->path, sizeof(out->path));
    if (r == -E2BIG)
        return client_error(a, r, "folder path '%.64s...' is too long or too deep", path);
    if (r < 0)
        return client_error(a, -EINVAL,
                            "'%s' is not a valid folder path: it starts with '/' and its parts "
                            "use letters, digits, '_', '-' and '.'",
                            path);
    out->project_id = in->project_id;
    out->environment = in->environment;
    out->flags = in->flags;
    out->project_key = false;
    out->owner = "";
    if (in->flags & ARCA_PERSONAL) {
        if (a->kind != ARCA_SESSION_USER || !a->user_id)
            return client_error(a, -EINVAL,
                                "only users have personal overrides (machine identities and "
                                "service tokens use the shared values)");
        out->owner = a->user_id;
    }
    return 0;
}

int client_scope_begin(struct arca *a, const struct arca_scope *scope, const char *key,
                       struct client_scope *out)
{
    int r = client_require_login(a);
    if (r < 0)
        return r;
    r = client_scope_check(a, scope, out);
    if (r < 0 || !key)
        return r;
    return client_check_key(a, key);
}

json_t *client_scope_body(const struct client_scope *s)
{
    json_t *body = json_object();
    if (!body || client_set_str(body, "environment", s->environment) < 0 ||
        client_set_str(body, "secretPath", s->path) < 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* Builds /projects/<id>/secrets[/<key>[<suffix>]]?environment=<env>&secretPath=<path>. */
int client_secrets_path(struct arca *a, const struct client_scope *s, const char *key,
                        const char *suffix, struct buf *out)
{
    int r = client_project_path(a, s->project_id, "/secrets", out);
    if (r < 0)
        return r;
    if (key) {
        r = buf_addch(out, '/');
        if (r >= 0)
            r = transport_escape(a, key, out);
        if (r >= 0 && suffix)
            r = buf_adds(out, suffix);
    }
    if (r >= 0)
        r = buf_adds(out, "?environment=");
    if (r >= 0)
        r = transport_escape(a, s->environment, out);
    if (r >= 0)
        r = buf_adds(out, "&secretPath=");
    if (r >= 0)
        r = transport_escape(a, s->path, out);
    if (r >= 0 && key && *s->owner)
        r = buf_adds(out, "&type=personal");
    if (r < 0)
        return client_error(a, r, "out of memory");
    return 0;
}

int client_check_key(struct arca *a, const char *key)
{
    char why[96];

    if (!key || !name_key_valid(key))
        return client_error(a, -EINVAL,
                            "'%.64s%s' is not a valid secret name: %s (names are 1 to %d letters, "
                            "digits and _, not starting with a digit)",
                            key ? key : "", key && strlen(key) > 64 ? "..." : "",
                            name_key_problem(key, why, sizeof(why)), NAME_KEY_MAX);
    return 0;
}

/* Whether s's records are the caller's own personal overrides, which the
 * caller seals under its owner key (seal_owner_key): a user with a key pair. */
static bool scope_mine(const struct arca *a, const struct client_scope *s)
{
    return *s->owner && !s->project_key && a->user_id && a->sk && streq(s->owner, a->user_id);
}

int client_record_kind(const char *b64)
{
    _cleanup_buf_ struct buf rec = BUF_INIT;
    int r = b64_decode(&rec, b64, strlen(b64), B64_STD);

    return r < 0 ? r : seal_record_kind(rec.ptr, rec.len);
}

/* Opens the base64 record b64 of field ("value" or "comment") of secret key into
 * a NUL-terminated string.  OWNED, SECRET (string_wipe_free).  An owner-sealed
 * record opens only with the caller's owner key, in the caller's own scope. */
int client_record_open(struct arca *a, const struct client_scope *s, const uint8_t *pkey,
                       const char *key, const char *field, const char *b64, char **ret)
{
    _cleanup_buf_ struct buf rec = BUF_INIT;
    _cleanup_buf_ struct buf plain = BUF_INIT;
    char f[SEAL_FIELD_MAX];
    const struct seal_ad ad = {
        .project_id = s->project_id,
        .environment = s->environment,
        .path = s->path,
        .key = key,
        .field = f,
    };
    int r;

    if (seal_ad_field(s->owner, field, f, sizeof(f)) < 0)
        return client_error(a, -EPROTO, "the arca server sent an invalid secret owner");
    buf_init(&rec, 2 * CLIENT_VALUE_MAX + SEAL_RECORD_OVERHEAD);
    buf_init_secret(&plain, 2 * CLIENT_VALUE_MAX);
    r = b64_decode(&rec, b64, strlen(b64), B64_STD);
    if (r == -ENOMEM)
        return client_error(a, r, "out of memory");
    if (r >= 0 && seal_record_kind(rec.ptr, rec.len) == SEAL_RECORD_OWNER) {
        uint8_t okey[SEAL_KEY_BYTES];
        if (!scope_mine(a, s))
            return client_error(a, -EBADMSG,
                                "'%s' is another user's personal override, sealed to them", key);
        seal_owner_key(a->sk, s->project_id, okey);
        r = seal_owner_record_decrypt(okey, &ad, rec.ptr, rec.len, &plain);
        seal_wipe(okey, sizeof(okey));
    } else if (r >= 0) {
        r = seal_record_decrypt(pkey, &ad, rec.ptr, rec.len, &plain);
    }
    if (r == -ENOMEM)
        return client_error(a, r, "out of memory");
    if (r < 0)
        return client_error(a, -EBADMSG, "secret '%s' failed to decrypt (tampered with, or moved)",
                            key);
    if (plain.len > 0 && memchr(plain.ptr, 0, plain.len))
        return client_error(a, -EBADMSG, "secret '%s' holds a NUL byte, which is not allowed", key);
    char *v = buf_detach(&plain);
    if (!v)
        return client_error(a, -ENOMEM, "out of memory");
    *ret = v;
    return 0;
}

void client_secret_free_fields(struct arca_secret *s)
{
    free(s->key);
    client_string_free(s->value);
    client_string_free(s->comment);
    free(s->updated_at);
    free(s->environment);
    free(s->path);
    memset(s, 0, sizeof(*s));
}

void arca_secret_free(struct arca_secret *s)
{
    if (!s)
        return;
    client_secret_free_fields(s);
    free(s);
}

void arca_secret_list_free(struct arca_secret_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        client_secret_free_fields(&l->v[i]);
    free(l->v);
    free(l);
}

/* Fills ret from a secret object of an answer, decrypting value and comment; on
 * failure ret holds what was filled (release it). */
static int secret_open(struct arca *a, const struct client_scope *scope, const uint8_t *pkey,
                       const json_t *o, struct arca_secret *ret)
{
    const char *key, *value, *comment, *updated_at, *type = "shared";
    struct client_scope mine = *scope, *s = &mine;
    long long version;
    int r;

    if (!json_is_object(o))
        return client_error(a, -EPROTO, "the arca server sent a malformed secret");
    if (wire_get_str(o, "type", 16, &type) == -EINVAL ||
        !(streq(type, "shared") || streq(type, "personal")))
        return client_error(a, -EPROTO, "the arca server sent a malformed 'type'");
    /* only the caller's own overrides are ever sent: their records name the caller */
    ret->personal = streq(type, "personal");
    mine.owner = ret->personal && a->user_id ? a->user_id : "";
    r = client_answer_str(a, o, "key", NAME_KEY_MAX, &key);
    if (r < 0)
        return r;
    if (!name_key_valid(key))
        return client_error(a, -EPROTO, "the arca server sent an invalid secret name");
    r = client_answer_int(a, o, "version", &version);
    if (r < 0)
        return r;
    r = wire_get_str(o, "value", CLIENT_B64_MAX, &value);
    if (r == -ENOENT) /* a role with "describe" but not "read" sees names, not values */
        return client_error(a, -EACCES,
                            "you may list the secrets of %s:%s but not read their values (your "
                            "role has describe, not read)",
                            s->environment, s->path);
    if (r < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed 'value'");
    r = wire_get_str(o, "comment", CLIENT_B64_MAX, &comment);
    if (r == -ENOENT)
        comment = NULL;
    else if (r < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed 'comment'");
    if (wire_get_str(o, "updatedAt", CLIENT_STRING_MAX, &updated_at) < 0)
        updated_at = "";

    ret->key = strdup(key);
    ret->updated_at = strdup(updated_at);
    ret->environment = strdup(s->environment);
    ret->path = strdup(s->path);
    if (!ret->key || !ret->updated_at || !ret->environment || !ret->path)
        return client_error(a, -ENOMEM, "out of memory");
    ret->version = version;
    r = client_record_open(a, s, pkey, key, "value", value, &ret->value);
    if (r < 0)
        return r;
    if (comment)
        return client_record_open(a, s, pkey, key, "comment", comment, &ret->comment);
    ret->comment = strdup("");
    if (!ret->comment)
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

/* By key, then folder, the shared secret before the override of the same key. */
static int secret_cmp(const void *x, const void *y)
{
    const struct arca_secret *p = x, *q = y;
    int d = strcmp(p->key, q->key);
    if (!d)
        d = strcmp(p->path, q->path);
    return d ? d : (int)p->personal - (int)q->personal;
}

/* ARCA_OVERRIDES and ARCA_SHARED_ONLY on a sorted list: drops the entries
 * that give way. */
static void secrets_overlay(struct arca_secret_list *l, unsigned flags)
{
    size_t k = 0;

    for (size_t i = 0; i < l->n; i++) {
        bool drop = l->v[i].personal
                        ? (flags & ARCA_SHARED_ONLY) != 0
                        : (flags & ARCA_OVERRIDES) && !(flags & ARCA_SHARED_ONLY) && i + 1 < l->n &&
                              l->v[i + 1].personal && streq(l->v[i + 1].key, l->v[i].key) &&
                              streq(l->v[i + 1].path, l->v[i].path);
        if (drop)
            client_secret_free_fields(&l->v[i]);
        else
            l->v[k++] = l->v[i];
    }
    l->n = k;
}

/* GET the folder's secrets (and what flags, ARCA_IMPORTS and ARCA_RECURSIVE,
 * ask for): the answer. */
static int folder_fetch(struct arca *a, const struct client_scope *s, unsigned flags,
                        json_t **ret_answer, json_t **ret_secrets)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r;

    r = client_secrets_path(a, s, NULL, NULL, &path);
    if (r >= 0 && (flags & ARCA_IMPORTS))
        r = buf_adds(&path, "&imports=true");
    if (r >= 0 && (flags & ARCA_RECURSIVE))
        r = buf_adds(&path, "&recursive=true");
    if (r < 0)
        return client_error(a, r, "out of memory");
    return client_get_array(a, path.ptr, "secrets", ret_answer, ret_secrets);
}

/* The scope a secret object of a list answer says it lives in (a sub-folder,
 * an imported folder), else def.  Decryption then proves it: the records are
 * sealed to their environment and path. */
static int located_scope(struct arca *a, const json_t *o, const struct client_scope *def,
                         struct client_scope *ret)
{
    const char *env = NULL, *path = NULL;
    struct arca_scope in = {def->project_id, def->environment, def->path};

    if (wire_get_str(o, "environment", NAME_SLUG_MAX, &env) == 0)
        in.environment = env;
    if (wire_get_str(o, "path", NAME_PATH_MAX, &path) == 0)
        in.path = path;
    if (client_scope_check(a, &in, ret) < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed secret location");
    return 0;
}

/* Is path the folder base or below it? */
static bool path_within(const char *path, const char *base)
{
    size_t n = strlen(base);

    return streq(base, "/") || (strncmp(path, base, n) == 0 && (!path[n] || path[n] == '/'));
}

/* Opens the secret o of a list answer into the next entry of l.  The listed
 * folder's own secrets (and sub-folders') come first, as l->v[0..n_own); an
 * imported one (imported true) is left out when the listed folder or an
 * import already put its key there. */
static int list_add(struct arca *a, const struct client_scope *s, const uint8_t *pkey,
                    const json_t *o, bool imported, size_t n_own, struct arca_secret_list *l)
{
    const char *key = json_string_value(json_object_get(o, "key"));
    struct client_scope at;
    int r;

    for (size_t i = 0; imported && key && i < l->n; i++)
        if (streq(l->v[i].key, key) && (i >= n_own || streq(l->v[i].path, s->path)))
            return 0;
    r = located_scope(a, o, s, &at);
    if (r < 0)
        return r;
    if (!imported && (!streq(at.environment, s->environment) || !path_within(at.path, s->path)))
        return client_error(a, -EPROTO, "the arca server sent a secret of another folder");
    l->n++;
    return secret_open(a, &at, pkey, o, &l->v[l->n - 1]);
}

static int secrets_list(struct arca *a, const struct arca_scope *scope,
                        struct arca_secret_list **ret)
{
    _cleanup_json_ json_t *answer = NULL;
    struct client_scope s;
    struct arca_secret_list *l;
    const uint8_t *pkey;
    json_t *arr, *blocks = NULL, *b, *o;
    size_t n, i, k, n_own;
    int r;

    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    r = client_project_key(a, s.project_id, &pkey);
    if (r < 0)
        return r;
    r = folder_fetch(a, &s, s.flags, &answer, &arr);
    if (r < 0)
        return r;
    n = json_array_size(arr);
    if ((s.flags & ARCA_IMPORTS) && (r = client_answer_arr(a, answer, "imports", &blocks)) < 0)
        return r;
    json_array_foreach(blocks, i, b)
    {
        json_t *v = json_object_get(b, "secrets");
        if (!json_is_array(v) || json_array_size(v) > CLIENT_LIST_MAX)
            return client_error(a, -EPROTO, "the arca server sent a malformed import");
        n += json_array_size(v);
    }
    l = calloc(1, sizeof(*l));
    if (!l || !(l->v = calloc(n ? n : 1, sizeof(*l->v)))) {
        free(l);
        return client_error(a, -ENOMEM, "out of memory");
    }
    json_array_foreach(arr, i, o)
    {
        if ((r = list_add(a, &s, pkey, o, false, 0, l)) < 0)
            goto fail;
    }
    n_own = l->n;
    /* the folder's own secrets first, then imports from the last: first one kept */
    for (i = json_array_size(blocks); i-- > 0;) {
        json_array_foreach(json_object_get(json_array_get(blocks, i), "secrets"), k, o)
        {
            if ((r = list_add(a, &s, pkey, o, true, n_own, l)) < 0)
                goto fail;
        }
    }
    qsort(l->v, l->n, sizeof(*l->v), secret_cmp);
    secrets_overlay(l, s.flags);
    *ret = l;
    return 0;
fail:
    arca_secret_list_free(l);
    return r;
}

int arca_secrets_list(struct arca *a, const struct arca_scope *scope, struct arca_secret_list **ret)
{
    int r = secrets_list(a, scope, ret);

    if (r == -EBADMSG && client_cache_recalled(a)) {
        /* the project key the offline cache held predates a key rotation */
        client_key_cache_drop(a, scope->project_id);
        r = secrets_list(a, scope, ret);
    }
    return r;
}

int client_secret_begin(struct arca *a, const struct arca_scope *scope, const char *key,
                        const char *suffix, struct client_scope *s, const uint8_t **ret_pkey,
                        struct buf *path)
{
    int r = client_scope_begin(a, scope, key, s);

    if (r >= 0)
        r = client_project_key(a, s->project_id, ret_pkey);
    return r < 0 ? r : client_secrets_path(a, s, key, suffix, path);
}

int arca_secret_get(struct arca *a, const struct arca_scope *scope, const char *key,
                    struct arca_secret **ret)
{
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    const uint8_t *pkey;
    json_t *o;
    int r;

    r = client_secret_begin(a, scope, key, NULL, &s, &pkey, &path);
    if (r < 0)
        return r;
    r = transport_call(a, "GET", path.ptr, NULL, &answer, NULL);
    if (r < 0)
        return r;
    r = client_answer_obj(a, answer, "secret", &o);
    if (r < 0)
        return r;

    struct arca_secret *sec = calloc(1, sizeof(*sec));
    if (!sec)
        return client_error(a, -ENOMEM, "out of memory");
    r = secret_open(a, &s, pkey, o, sec);
    if (r >= 0 && !streq(sec->key, key))
        r = client_error(a, -EPROTO, "the arca server sent another secret than '%s'", key);
    if (r < 0) {
        arca_secret_free(sec);
        return r;
    }
    *ret = sec;
    return 0;
}

/* Checks the keys of a batch: given, valid and distinct. */
static int check_keys(struct arca *a, size_t n, const char *(*key_at)(const void *, size_t),
                      const void *v)
{
    if (!v)
        return client_error(a, -EINVAL, "no secrets given");
    if (n > CLIENT_BATCH_MAX)
        return client_error(a, -E2BIG, "at most %d secrets can be changed at once",
                            CLIENT_BATCH_MAX);
    for (size_t i = 0; i < n; i++) {
        int r = client_check_key(a, key_at(v, i));
        if (r < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (streq(key_at(v, i), key_at(v, j)))
                return client_error(a, -EINVAL, "secret '%s' is given more than once",
                                    key_at(v, i));
    }
    return 0;
}

static const char *input_key_at(const void *v, size_t i)
{
    return ((const struct arca_secret_input *)v)[i].key;
}

static const char *name_key_at(const void *v, size_t i)
{
    return ((const char *const *)v)[i];
}

/* An existing secret of the folder, found by key. */
struct existing {
    const char *key; /* BORROWED from the answer */
    const json_t *o; /* BORROWED from the answer */
};

static int existing_cmp(const void *x, const void *y)
{
    const struct existing *p = x, *q = y;
    return strcmp(p->key, q->key);
}

/* Is the stored secret o (of key) equal to value and comment?  A record that does
 * not open counts as different: writing replaces it.  -ENOMEM only. */
static int secret_unchanged(struct arca *a, const struct client_scope *s, const uint8_t *pkey,
                            const struct arca_secret_input *in, const json_t *o, bool *ret)
{
    struct arca_secret old = {0};
    int r = secret_open(a, s, pkey, o, &old);
    if (r == -ENOMEM) {
        client_secret_free_fields(&old);
        return r;
    }
    bool same = false;
    const char *b64 = NULL;
    /* an override of the caller's still under the project key is rewritten sealed to them */
    if (r >= 0 && scope_mine(a, s) && wire_get_str(o, "value", CLIENT_B64_MAX, &b64) == 0 &&
        client_record_kind(b64) != SEAL_RECORD_OWNER)
        r = -EAGAIN;
    if (r >= 0) {
        const char *comment = in->comment ? in->comment : "";
        size_t vlen = strlen(in->value), clen = strlen(comment);
        same = strlen(old.value) == vlen && seal_equal(old.value, in->value, vlen) &&
               strlen(old.comment) == clen && seal_equal(old.comment, comment, clen);
    }
    client_secret_free_fields(&old);
    *ret = same;
    return 0;
}

int client_record_to_json(struct arca *a, json_t *obj, const struct client_scope *s,
                          const uint8_t *pkey, const char *key, const char *field,
                          const char *plain)
{
    _cleanup_buf_ struct buf rec = BUF_INIT;
    char f[SEAL_FIELD_MAX];
    const struct seal_ad ad = {
        .project_id = s->project_id,
        .environment = s->environment,
        .path = s->path,
        .key = key,
        .field = f,
    };
    int r = seal_ad_field(s->owner, field, f, sizeof(f));
    if (r >= 0 && scope_mine(a, s)) { /* an override of the caller's: for their eyes only */
        uint8_t okey[SEAL_KEY_BYTES];
        seal_owner_key(a->sk, s->project_id, okey);
        r = seal_owner_record_encrypt(okey, &ad, plain, strlen(plain), &rec);
        seal_wipe(okey, sizeof(okey));
    } else if (r >= 0) {
        r = seal_record_encrypt(pkey, &ad, plain, strlen(plain), &rec);
    }
    if (r >= 0)
        r = client_set_b64(obj, field, rec.ptr, rec.len, false);
    if (r < 0)
        return client_error(a, r, r == -E2BIG ? "the %s of '%s' is too large" : "out of memory",
                            field, key);
    return 0;
}

/* A new item {key[, type: "personal"]} appended to items.  BORROWED; NULL
 * when out of memory. */
static json_t *batch_item(const struct client_scope *s, json_t *items, const char *key)
{
    json_t *item = json_object();
    if (!item || json_array_append_new(items, item) < 0)
        return NULL;
    if (client_set_str(item, "key", key) < 0 ||
        (*s->owner && client_set_str(item, "type", "personal") < 0))
        return NULL;
    return item;
}

static json_t *batch_body(const struct client_scope *s)
{
    json_t *body = client_scope_body(s);
    if (body && json_object_set_new(body, "secrets", json_array()) < 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* arca_secrets_set's checks of its input: names, a value each, sizes. */
static int inputs_check(struct arca *a, const struct arca_secret_input *in, size_t n)
{
    int r = check_keys(a, n, input_key_at, in);

    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        if (!in[i].value)
            return client_error(a, -EINVAL, "no value given for '%s'", in[i].key);
        if (strlen(in[i].value) > CLIENT_VALUE_MAX)
            return client_error(a, -E2BIG, "value of '%s' is larger than 64 KiB", in[i].key);
        if (in[i].comment && strlen(in[i].comment) > CLIENT_VALUE_MAX)
            return client_error(a, -E2BIG, "comment of '%s' is larger than 64 KiB", in[i].key);
    }
    return 0;
}

/* The secrets of the folder arr of the kind s writes (shared, or the caller's
 * personal overrides), sorted by key for bsearch: *ret OWNED. */
static int existing_index(struct arca *a, const struct client_scope *s, const json_t *arr,
                          struct existing **ret, size_t *ret_n)
{
    size_t n_existing = json_array_size(arr);
    struct existing *index = calloc(n_existing ? n_existing : 1, sizeof(*index));

    if (!index)
        return client_error(a, -ENOMEM, "out of memory");
    *ret = index; /* freed by the caller, also on failure */
    for (size_t i = 0, k = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const char *type = "shared";
        if (!json_is_object(o) || wire_get_str(o, "key", NAME_KEY_MAX, &index[k].key) < 0)
            return client_error(a, -EPROTO, "the arca server sent a malformed secret");
        wire_get_str(o, "type", 16, &type);
        if (streq(type, "personal") != (*s->owner != 0))
            n_existing--; /* the other kind: not what this call writes */
        else
            index[k++].o = o;
    }
    qsort(index, n_existing, sizeof(*index), existing_cmp);
    *ret_n = n_existing;
    return 0;
}

/* Records the server's results of a batch write: each of the n_sent keys
 * sent (sent[i]) confirmed once as created or updated, with its version. */
static int batch_results(struct arca *a, const json_t *results, const struct arca_secret_input *in,
                         size_t n, bool *sent, size_t n_sent, enum arca_change *changes,
                         int64_t *versions)
{
    for (size_t j = 0; j < json_array_size(results); j++) {
        const json_t *o = json_array_get(results, j);
        const char *key, *action;
        long long version;
        size_t i;

        if (!json_is_object(o) || wire_get_str(o, "key", NAME_KEY_MAX, &key) < 0 ||
            wire_get_str(o, "action", 16, &action) < 0 || wire_get_int(o, "version", &version) < 0)
            return client_error(a, -EPROTO, "the arca server sent a malformed result");
        for (i = 0; i < n; i++)
            if (sent[i] && streq(in[i].key, key))
                break;
        if (i == n)
            return client_error(a, -EPROTO, "the arca server sent a result for '%s'", key);
        if (streq(action, "created"))
            changes[i] = ARCA_CREATED;
        else if (streq(action, "updated"))
            changes[i] = ARCA_UPDATED;
        else
            return client_error(a, -EPROTO, "the arca server %s '%s' instead of writing it", action,
                                key);
        versions[i] = version;
        sent[i] = false;
        n_sent--;
    }
    if (n_sent > 0)
        return client_error(a, -EPROTO, "the arca server did not confirm every write");
    return 0;
}

int arca_secrets_set(struct arca *a, const struct arca_scope *scope,
                     const struct arca_secret_input *in, size_t n, enum arca_change *ret_changes,
                     int64_t *ret_versions)
{
    _cleanup_json_ json_t *folder = NULL;
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_free_ struct existing *index = NULL;
    _cleanup_free_ enum arca_change *changes = NULL;
    _cleanup_free_ int64_t *versions = NULL;
    _cleanup_free_ bool *sent = NULL;
    struct client_scope s;
    const uint8_t *pkey;
    json_t *arr, *items;
    size_t n_sent = 0;
    int r;

    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    if (n == 0)
        return 0;
    r = inputs_check(a, in, n);
    if (r < 0)
        return r;

    changes = calloc(n, sizeof(*changes));
    versions = calloc(n, sizeof(*versions));
    sent = calloc(n, sizeof(*sent));
    if (!changes || !versions || !sent)
        return client_error(a, -ENOMEM, "out of memory");

    r = client_project_key(a, s.project_id, &pkey);
    if (r < 0)
        return r;
    r = folder_fetch(a, &s, 0, &folder, &arr);
    if (r < 0)
        return r;

    size_t n_existing = 0;
    r = existing_index(a, &s, arr, &index, &n_existing);
    if (r < 0)
        return r;

    body = batch_body(&s);
    if (!body)
        return client_error(a, -ENOMEM, "out of memory");
    items = json_object_get(body, "secrets");

    for (size_t i = 0; i < n; i++) {
        struct existing probe = {.key = in[i].key};
        const struct existing *e =
            n_existing ? bsearch(&probe, index, n_existing, sizeof(*index), existing_cmp) : NULL;
        if (e) {
            bool same;
            long long version;
            r = secret_unchanged(a, &s, pkey, &in[i], e->o, &same);
            if (r < 0)
                return client_error(a, r, "out of memory");
            if (same && wire_get_int(e->o, "version", &version) == 0) {
                changes[i] = ARCA_UNCHANGED;
                versions[i] = version;
                continue;
            }
        }

        json_t *item = batch_item(&s, items, in[i].key);
        if (!item)
            return client_error(a, -ENOMEM, "out of memory");
        r = client_record_to_json(a, item, &s, pkey, in[i].key, "value", in[i].value);
        if (r >= 0 && in[i].comment && *in[i].comment)
            r = client_record_to_json(a, item, &s, pkey, in[i].key, "comment", in[i].comment);
        if (r < 0)
            return r;
        sent[i] = true;
        n_sent++;
    }

    if (n_sent > 0) {
        _cleanup_buf_ struct buf path = BUF_INIT;
        json_t *results;

        r = client_project_path(a, s.project_id, "/secrets/batch", &path);
        if (r < 0)
            return r;
        r = transport_call(a, "POST", path.ptr, body, &answer, NULL);
        if (r < 0)
            return r;
        r = client_answer_arr(a, answer, "secrets", &results);
        if (r < 0)
            return r;
        r = batch_results(a, results, in, n, sent, n_sent, changes, versions);
        if (r < 0)
            return r;
    }

    if (ret_changes)
        memcpy(ret_changes, changes, n * sizeof(*changes));
    if (ret_versions)
        memcpy(ret_versions, versions, n * sizeof(*versions));
    return 0;
}

int arca_secrets_delete(struct arca *a, const struct arca_scope *scope, const char *const *keys,
                        size_t n)
{
    _cleanup_json_ json_t *body = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    int r;

    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    if (n == 0)
        return 0;
    r = check_keys(a, n, name_key_at, keys);
    if (r < 0)
        return r;

    body = batch_body(&s);
    if (!body)
        return client_error(a, -ENOMEM, "out of memory");
    json_t *items = json_object_get(body, "secrets");
    for (size_t i = 0; i < n; i++) {
        json_t *item = batch_item(&s, items, keys[i]);
        if (!item || json_object_set_new(item, "delete", json_true()) < 0)
            return client_error(a, -ENOMEM, "out of memory");
    }
    r = client_project_path(a, s.project_id, "/secrets/batch", &path);
    if (r < 0)
        return r;
    return transport_call(a, "POST", path.ptr, body, NULL, NULL);
}

int arca_secret_rename(struct arca *a, const struct arca_scope *scope, const char *from,
                       const char *to, int64_t *ret_version)
{
    _cleanup_json_ json_t *folder = NULL;
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct arca_secret old = {0};
    struct client_scope s;
    const uint8_t *pkey;
    const json_t *found = NULL;
    json_t *arr, *items, *item, *results;
    int r;

    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    if ((r = client_check_key(a, from)) < 0 || (r = client_check_key(a, to)) < 0)
        return r;
    if (streq(from, to))
        return client_error(a, -EINVAL, "'%s' already has that name", from);
    if (*s.owner)
        return client_error(a, -EINVAL, "personal overrides cannot be renamed: drop --personal");
    r = client_project_key(a, s.project_id, &pkey);
    if (r >= 0)
        r = folder_fetch(a, &s, 0, &folder, &arr);
    if (r < 0)
        return r;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const char *key, *type = "shared";
        if (!json_is_object(o) || wire_get_str(o, "key", NAME_KEY_MAX, &key) < 0)
            return client_error(a, -EPROTO, "the arca server sent a malformed secret");
        wire_get_str(o, "type", 16, &type);
        if (streq(type, "personal"))
            continue;
        if (streq(key, to))
            return client_error(a, -EEXIST, "secret '%s' already exists in %s:%s", to,
                                s.environment, s.path);
        if (streq(key, from))
            found = o;
    }
    if (!found)
        return client_error(a, -ENOENT, "secret '%s' not found in %s:%s", from, s.environment,
                            s.path);
    /* the value and comment, sealed again to the new name, and the old one
     * deleted: one batch, one transaction */
    r = secret_open(a, &s, pkey, found, &old);
    body = r < 0 ? NULL : batch_body(&s);
    if (r >= 0 && !body)
        r = client_error(a, -ENOMEM, "out of memory");
    items = body ? json_object_get(body, "secrets") : NULL;
    item = items ? batch_item(&s, items, to) : NULL;
    if (r >= 0 && !item)
        r = client_error(a, -ENOMEM, "out of memory");
    if (r >= 0)
        r = client_record_to_json(a, item, &s, pkey, to, "value", old.value);
    if (r >= 0 && *old.comment)
        r = client_record_to_json(a, item, &s, pkey, to, "comment", old.comment);
    client_secret_free_fields(&old);
    if (r < 0)
        return r;
    item = batch_item(&s, items, from);
    if (!item || json_object_set_new(item, "delete", json_true()) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = client_project_path(a, s.project_id, "/secrets/batch", &path);
    if (r >= 0)
        r = transport_call(a, "POST", path.ptr, body, &answer, NULL);
    if (r >= 0)
        r = client_answer_arr(a, answer, "secrets", &results);
    if (r < 0)
        return r;
    for (size_t j = 0; j < json_array_size(results); j++) {
        const json_t *o = json_array_get(results, j);
        const char *key;
        long long version;
        if (wire_get_str(o, "key", NAME_KEY_MAX, &key) == 0 && streq(key, to) &&
            wire_get_int(o, "version", &version) == 0 && ret_version)
            *ret_version = version;
    }
    return 0;
}
