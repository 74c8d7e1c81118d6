/* api_secrets.c - secrets of an environment folder: list, get, history,
 * batch write, delete.
 *
 * These are arca's end-to-end encrypted routes: values and comments arrive and
 * leave as ciphertext records (seal.h) that the server cannot open.  It checks
 * only what it can: the record's size and format version, the key name, the
 * folder path, the caller's role.  Every write is a new version; a delete is a
 * version without a value. */
#include <errno.h>
#include <string.h>

#include "base/b64.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "server.h"

#define RECORD_MAX (SERVER_VALUE_MAX + SEAL_RECORD_OVERHEAD)

/* The project, environment and folder a secrets request is about. */
struct scope {
    struct store_project p;
    struct store_member m;
    const struct store_env *env; /* BORROWED from p */
    char path[NAME_PATH_MAX + 1];
};

static void scope_release(struct scope *s)
{
    store_project_release(&s->p);
    store_member_release(&s->m);
}

/* Resolves project (path parameter 0), environment and secretPath (from the JSON
 * body if given, else from the query).  Replies and returns < 0 on failure. */
static int scope_open(struct req *r, const json_t *body, enum project_action action,
                      struct scope *s)
{
    const char *env = NULL, *path = NULL;
    int ret;

    if (body) {
        if (wire_get_str(body, "environment", NAME_SLUG_MAX, &env) == -EINVAL ||
            wire_get_str_or(body, "secretPath", NAME_PATH_MAX, "/", &path) < 0) {
            http_fail(r, 400, "'environment' and 'secretPath' must be strings");
            return -EINVAL;
        }
    } else {
        env = req_query(r, "environment");
        path = req_query(r, "secretPath");
    }
    if (!env || !*env) {
        http_fail(r, 400, "'environment' is required (an environment slug such as 'prod')");
        return -EINVAL;
    }
    ret = name_path_normalize(path ? path : "/", s->path, sizeof(s->path));
    if (ret < 0) {
        http_fail(r, 400,
                  "'secretPath' must be an absolute folder path such as /app/api (at most %d "
                  "segments of letters, digits, '.', '_' and '-', no '..')",
                  NAME_PATH_DEPTH);
        return ret;
    }
    ret = project_open(r, req_param(r, 0), action, &s->p, &s->m);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < s->p.n_envs; i++)
        if (streq(s->p.envs[i].slug, env))
            s->env = &s->p.envs[i];
    if (!s->env) {
        http_fail(r, 404, "environment '%.64s' not found in project '%s'", env, s->p.slug);
        scope_release(s);
        return -ENOENT;
    }
    return 0;
}

static json_t *blob_or_null(const struct store_blob *b)
{
    return b->len ? json_b64(b->ptr, b->len) : json_null();
}

static json_t *secret_json(const struct store_secret *sec)
{
    return json_pack("{s:s, s:s, s:I, s:o, s:o, s:o}", "id", sec->id, "key", sec->key, "version",
                     (json_int_t)sec->version, "value", blob_or_null(&sec->value), "comment",
                     blob_or_null(&sec->comment), "updatedAt", json_time(sec->updated_at));
}

static bool key_param_ok(struct req *r, const char *key)
{
    if (name_key_valid(key))
        return true;
    http_fail(r, 400,
              "'%.64s' is not a valid secret name: use letters, digits and '_', not starting "
              "with a digit, at most %d characters",
              key, NAME_KEY_MAX);
    return false;
}

void api_secrets_list(struct req *r)
{
    struct scope s = {0};
    struct store_secret *v = NULL;
    size_t n = 0;
    json_t *arr;
    int ret;

    if (scope_open(r, NULL, PROJECT_READ, &s) < 0)
        return;
    ret = r->srv->store->ops->secrets_list(r->srv->store, s.env->id, s.path, &v, &n);
    if (ret < 0) {
        http_fail(r, 503, "store failure listing secrets (%d)", ret);
    } else {
        arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, secret_json(&v[i]));
        http_reply(r, 200, json_pack("{s:o}", "secrets", arr));
    }
    store_secrets_free(v, n);
    scope_release(&s);
}

void api_secrets_get(struct req *r)
{
    struct scope s = {0};
    struct store_secret sec = {0};
    const char *key = req_param(r, 1);
    int ret;

    if (!key_param_ok(r, key) || scope_open(r, NULL, PROJECT_READ, &s) < 0)
        return;
    ret = r->srv->store->ops->secret_get(r->srv->store, s.env->id, s.path, key, &sec);
    if (ret == -ENOENT)
        http_fail(r, 404, "secret '%s' not found in %s:%s", key, s.env->slug, s.path);
    else if (ret < 0)
        http_fail(r, 503, "store failure reading a secret (%d)", ret);
    else
        http_reply(r, 200, json_pack("{s:o}", "secret", secret_json(&sec)));
    store_secret_release(&sec);
    scope_release(&s);
}

void api_secrets_versions(struct req *r)
{
    struct scope s = {0};
    struct store_secret *v = NULL;
    size_t n = 0;
    const char *key = req_param(r, 1);
    json_t *arr;
    int ret;

    if (!key_param_ok(r, key) || scope_open(r, NULL, PROJECT_READ, &s) < 0)
        return;
    ret = r->srv->store->ops->secret_history(r->srv->store, s.env->id, s.path, key, &v, &n);
    if (ret == -ENOENT) {
        http_fail(r, 404, "secret '%s' not found in %s:%s", key, s.env->slug, s.path);
    } else if (ret < 0) {
        http_fail(r, 503, "store failure reading history (%d)", ret);
    } else {
        arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr,
                json_pack("{s:I, s:o, s:o, s:o, s:s}", "version", (json_int_t)v[i].version, "value",
                          blob_or_null(&v[i].value), "comment", blob_or_null(&v[i].comment),
                          "updatedAt", json_time(v[i].updated_at), "actorId", v[i].actor_id));
        http_reply(r, 200, json_pack("{s:o}", "versions", arr));
    }
    store_secrets_free(v, n);
    scope_release(&s);
}

/* Decodes a ciphertext record field; it must be of a known format version. */
static int record_field(struct req *r, const json_t *item, const char *name, bool required,
                        struct buf *out)
{
    if (!required && !json_object_get(item, name))
        return 0;
    if (req_b64_field(r, item, name, SEAL_RECORD_OVERHEAD, RECORD_MAX, out) < 0)
        return -EINVAL;
    if ((uint8_t)out->ptr[0] != SEAL_RECORD_VERSION) {
        http_fail(r, 400, "'%s' is not an arca ciphertext record", name);
        return -EINVAL;
    }
    return 0;
}

static void reply_writes(struct req *r, const struct store_write *w, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:I, s:s}", "id", w[i].ret_id, "key", w[i].key,
                                        "version", (json_int_t)w[i].ret_version, "action",
                                        w[i].op == STORE_DELETE ? "deleted"
                                        : w[i].ret_created      ? "created"
                                                                : "updated"));
    http_reply(r, 200, json_pack("{s:o}", "secrets", arr));
}

static int write_error(struct req *r, int ret, const struct scope *s)
{
    if (ret == -ENOENT)
        http_fail(r, 404, "a secret to delete does not exist in %s:%s; nothing was written",
                  s->env->slug, s->path);
    else if (ret == -EEXIST)
        http_fail(r, 409, "a secret already exists; nothing was written");
    else
        http_fail(r, 503, "store failure writing secrets (%d)", ret);
    return ret;
}

void api_secrets_batch(struct req *r)
{
    json_t *body = req_body_json(r), *items, *item;
    struct scope s = {0};
    struct store_write *w = NULL;
    struct buf *bufs = NULL;
    size_t n = 0, i;
    bool del;
    int ret;

    if (!body || scope_open(r, body, PROJECT_WRITE, &s) < 0)
        return;
    ret = wire_get_arr(body, "secrets", SERVER_BATCH_MAX, &items);
    if (ret < 0 || json_array_size(items) == 0) {
        http_fail(r, ret == -E2BIG ? 413 : 400, "'secrets' must be an array of 1 to %d items",
                  SERVER_BATCH_MAX);
        goto out;
    }
    n = json_array_size(items);
    w = calloc(n, sizeof(*w));
    bufs = calloc(2 * n, sizeof(*bufs));
    if (!w || !bufs) {
        http_fail(r, 500, "out of memory");
        goto out;
    }
    json_array_foreach(items, i, item)
    {
        const char *key;

        if (!json_is_object(item) || wire_get_str(item, "key", NAME_KEY_MAX + 1, &key) < 0) {
            http_fail(r, 400, "each item of 'secrets' needs a 'key'");
            goto out;
        }
        if (!key_param_ok(r, key))
            goto out;
        for (size_t j = 0; j < i; j++)
            if (streq(w[j].key, key)) {
                http_fail(r, 400, "'%s' appears twice in one batch", key);
                goto out;
            }
        w[i].key = key;
        del = false;
        if (wire_get_bool(item, "delete", &del) == -EINVAL) {
            http_fail(r, 400, "'delete' must be a boolean");
            goto out;
        }
        if (del) {
            w[i].op = STORE_DELETE;
            continue;
        }
        buf_init(&bufs[2 * i], 0);
        buf_init(&bufs[2 * i + 1], 0);
        if (record_field(r, item, "value", true, &bufs[2 * i]) < 0 ||
            record_field(r, item, "comment", false, &bufs[2 * i + 1]) < 0)
            goto out;
        w[i].op = STORE_PUT;
        w[i].value = (const uint8_t *)bufs[2 * i].ptr;
        w[i].value_len = bufs[2 * i].len;
        w[i].comment = bufs[2 * i + 1].len ? (const uint8_t *)bufs[2 * i + 1].ptr : NULL;
        w[i].comment_len = bufs[2 * i + 1].len;
    }
    ret = r->srv->store->ops->secrets_write(r->srv->store, s.p.id, s.env->id, s.path, w, n,
                                            r->who.id, now_ms());
    if (ret < 0)
        write_error(r, ret, &s);
    else
        reply_writes(r, w, n);
out:
    for (i = 0; bufs && i < 2 * n; i++)
        buf_release(&bufs[i]);
    free(bufs);
    free(w);
    scope_release(&s);
}

void api_secrets_delete(struct req *r)
{
    struct scope s = {0};
    struct store_write w = {.op = STORE_DELETE};
    int ret;

    w.key = req_param(r, 1);
    if (!key_param_ok(r, w.key) || scope_open(r, NULL, PROJECT_WRITE, &s) < 0)
        return;
    ret = r->srv->store->ops->secrets_write(r->srv->store, s.p.id, s.env->id, s.path, &w, 1,
                                            r->who.id, now_ms());
    if (ret == -ENOENT)
        http_fail(r, 404, "secret '%s' not found in %s:%s", w.key, s.env->slug, s.path);
    else if (ret < 0)
        write_error(r, ret, &s);
    else
        http_reply(r, 200,
                   json_pack("{s:{s:s, s:s, s:I}}", "secret", "id", w.ret_id, "key", w.key,
                             "version", (json_int_t)w.ret_version));
    scope_release(&s);
}
