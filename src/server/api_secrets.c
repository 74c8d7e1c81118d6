/* api_secrets.c - secrets of an environment folder: list, get, history,
 * batch write, delete, rollback.
 *
 * These are arca's end-to-end encrypted routes: values and comments arrive and
 * leave as ciphertext records (seal.h) that the server cannot open.  It checks
 * what it can: the record's size and format version, the key name, the folder
 * path, and the caller's role for the environment and path.  Every write is a
 * new version; a delete is a version without a value; a rollback writes an old
 * record again.  Reads are audited before anything is served (fail closed),
 * writes right after they commit.
 *
 * A user's personal overrides (type "personal", raw.h's raw_owner) are listed
 * to their owner only, next to the shared secret of the same key; get,
 * versions, batch items and delete take a type to act on the caller's own. */
#include <errno.h>
#include <string.h>

#include "authz.h"
#include "base/b64.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "raw.h"
#include "server.h"

#define RECORD_MAX (SERVER_VALUE_MAX + SEAL_RECORD_OVERHEAD)
/* how far in the future a rollback's time may be (clock skew); later is refused */
#define ROLLBACK_SKEW_MS (60 * 1000)

/* The project, environment and folder a secrets request is about. */
struct scope {
    struct project_ctx ctx;
    const struct store_env *env; /* BORROWED from ctx.p */
    char path[NAME_PATH_MAX + 1];
};

/* Resolves project (path parameter 0), environment and secretPath (from the JSON
 * body if given, else from the query).  Replies and returns < 0 on failure. */
static int scope_open(struct req *r, const json_t *body, struct scope *s)
{
    const char *env, *path;
    int ret;

    if (req_arg(r, body, "environment", NAME_SLUG_MAX, &env) < 0 ||
        req_arg(r, body, "secretPath", NAME_PATH_MAX, &path) < 0)
        return -EINVAL;
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
    ret = project_open(r, req_param(r, 0), &s->ctx);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < s->ctx.p.n_envs; i++)
        if (streq(s->ctx.p.envs[i].slug, env))
            s->env = &s->ctx.p.envs[i];
    if (!s->env) {
        http_fail(r, 404, "environment '%.64s' not found in project '%s'", env, s->ctx.p.slug);
        project_release(&s->ctx);
        return -ENOENT;
    }
    return 0;
}

/* Checks action on secrets of the scope's folder (replies 403 and audits). */
static int scope_allows(struct req *r, struct scope *s, unsigned action)
{
    return project_allows(r, &s->ctx, AUTHZ_SECRETS, action, s->env->slug, s->path);
}

/* An audit event about the scope. */
static struct audit_event scope_event(const struct scope *s, const char *event, const char *key)
{
    return (struct audit_event){.event = event,
                                .org_id = s->ctx.p.org_id,
                                .project_id = s->ctx.p.id,
                                .environment = s->env->slug,
                                .path = s->path,
                                .key = key};
}

static json_t *blob_or_null(const struct store_blob *b)
{
    return b->len ? json_b64(b->ptr, b->len) : json_null();
}

static json_t *secret_json(const struct store_secret *sec, bool values)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:o}", "id", sec->id, "key", sec->key, "type",
                     *sec->owner_id ? "personal" : "shared", "version", (json_int_t)sec->version,
                     "value", values ? blob_or_null(&sec->value) : json_null(), "comment",
                     values ? blob_or_null(&sec->comment) : json_null(), "updatedAt",
                     json_time(sec->updated_at));
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

/* A secret of another folder than the request's (a sub-folder, an import):
 * with where it lives, the associated data its records are sealed with. */
static json_t *located_json(const struct store_secret *sec, const char *env, bool values)
{
    json_t *o = secret_json(sec, values);

    json_object_set_new(o, "environment", json_string(env));
    json_object_set_new(o, "path", json_string(sec->path));
    return o;
}

/* A user's list holds their own personal overrides; machines have none. */
static const char *list_owner(struct req *r)
{
    return r->who.kind == PRINCIPAL_USER ? r->who.id : NULL;
}

/* ?recursive=true: the secrets of every sub-folder the caller may list
 * (others are left out), values where it may read them. */
static int list_subfolders(struct req *r, struct scope *s, json_t *arr)
{
    struct store_folder *f = NULL;
    size_t n_f = 0;
    int ret = r->srv->store->ops->folder_list(r->srv->store, s->env->id, s->path, true, &f, &n_f);

    for (size_t i = 0; i < n_f && ret == 0; i++) {
        struct store_secret *v = NULL;
        size_t n = 0;
        bool values = project_can(r, &s->ctx, AUTHZ_SECRETS, AUTHZ_READ, s->env->slug, f[i].path);

        if (!project_can(r, &s->ctx, AUTHZ_SECRETS, AUTHZ_DESCRIBE, s->env->slug, f[i].path))
            continue;
        ret = r->srv->store->ops->secrets_list_with(r->srv->store, s->env->id, f[i].path,
                                                    list_owner(r), &v, &n);
        for (size_t k = 0; k < n && ret == 0; k++)
            json_array_append_new(arr, located_json(&v[k], s->env->slug, values));
        store_secrets_free(v, n);
    }
    store_folders_free(f, n_f);
    return ret;
}

/* ?imports=true: the folder's import blocks (api_folders.c), ciphertext. */
static int list_imports(struct req *r, struct scope *s, json_t *arr)
{
    struct import_block *b = NULL;
    size_t n = 0;
    int ret = imports_resolve(r, &s->ctx, s->env, s->path, &b, &n);

    for (size_t i = 0; i < n && ret == 0; i++) {
        json_t *secrets = json_array();
        for (size_t k = 0; k < b[i].n; k++)
            json_array_append_new(secrets,
                                  located_json(&b[i].secrets[k], b[i].envs[k]->slug, true));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "environment", b[i].env->slug,
                                             "path", b[i].path, "folderId", b[i].folder_id,
                                             "secrets", secrets));
    }
    import_blocks_free(b, n);
    return ret;
}

void api_secrets_list(struct req *r)
{
    struct scope s = {0};
    struct store_secret *v = NULL;
    size_t n = 0;
    struct audit_event e;
    json_t *arr = NULL, *imports = NULL, *meta;
    bool values, recursive, with_imports;
    int ret;

    if (req_query_bool(r, "recursive", false, &recursive) < 0 ||
        req_query_bool(r, "imports", false, &with_imports) < 0 || scope_open(r, NULL, &s) < 0)
        return;
    if (scope_allows(r, &s, AUTHZ_DESCRIBE) < 0)
        goto out;
    values = project_can(r, &s.ctx, AUTHZ_SECRETS, AUTHZ_READ, s.env->slug, s.path);
    ret = r->srv->store->ops->secrets_list_with(r->srv->store, s.env->id, s.path, list_owner(r), &v,
                                                &n);
    arr = json_array();
    imports = json_array();
    for (size_t i = 0; i < n && ret == 0; i++)
        json_array_append_new(arr, secret_json(&v[i], values));
    if (ret == 0 && recursive)
        ret = list_subfolders(r, &s, arr);
    if (ret == 0 && with_imports)
        ret = list_imports(r, &s, imports);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing secrets");
        goto out;
    }
    e = scope_event(&s, "secret.list", NULL);
    meta = json_pack("{s:I, s:b, s:I}", "count", (json_int_t)json_array_size(arr), "values", values,
                     "imports", (json_int_t)json_array_size(imports));
    e.metadata = meta;
    ret = audit_defer(r, &e);
    json_decref(meta);
    if (ret == 0) {
        http_reply(r, 200, json_pack("{s:O, s:O}", "secrets", arr, "imports", imports));
    }
out:
    json_decref(arr);
    json_decref(imports);
    store_secrets_free(v, n);
    project_release(&s.ctx);
}

void api_secrets_get(struct req *r)
{
    struct scope s = {0};
    struct store_secret sec = {0};
    const char *key = req_param(r, 1), *owner;
    struct audit_event e;
    int ret;

    if (!key_param_ok(r, key) || raw_owner(r, NULL, "read", &owner) < 0 ||
        scope_open(r, NULL, &s) < 0)
        return;
    if (scope_allows(r, &s, AUTHZ_READ) < 0)
        goto out;
    ret = r->srv->store->ops->secret_get_of(r->srv->store, s.env->id, s.path, key, owner, &sec);
    e = scope_event(&s, "secret.read", key);
    if (ret == -ENOENT) {
        e.outcome = "failure";
        audit_defer(r, &e);
        http_fail(r, 404, "secret '%s' not found in %s:%s", key, s.env->slug, s.path);
    } else if (ret < 0) {
        http_fail_store(r, ret, "store failure reading a secret");
    } else if (audit_defer(r, &e) == 0) {
        http_reply(r, 200, json_pack("{s:o}", "secret", secret_json(&sec, true)));
    }
out:
    store_secret_release(&sec);
    project_release(&s.ctx);
}

void api_secrets_versions(struct req *r)
{
    struct scope s = {0};
    struct store_secret *v = NULL;
    size_t n = 0;
    const char *key = req_param(r, 1), *owner;
    struct audit_event e;
    json_t *arr;
    int ret;

    if (!key_param_ok(r, key) || raw_owner(r, NULL, "read", &owner) < 0 ||
        scope_open(r, NULL, &s) < 0)
        return;
    if (scope_allows(r, &s, AUTHZ_READ) < 0)
        goto out;
    ret =
        r->srv->store->ops->secret_history_of(r->srv->store, s.env->id, s.path, key, owner, &v, &n);
    e = scope_event(&s, "secret.versions", key);
    if (ret == -ENOENT) {
        http_fail(r, 404, "secret '%s' not found in %s:%s", key, s.env->slug, s.path);
    } else if (ret < 0) {
        http_fail_store(r, ret, "store failure reading history");
    } else if (audit_defer(r, &e) == 0) {
        arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr,
                json_pack("{s:I, s:o, s:o, s:o, s:s}", "version", (json_int_t)v[i].version, "value",
                          blob_or_null(&v[i].value), "comment", blob_or_null(&v[i].comment),
                          "updatedAt", json_time(v[i].updated_at), "actorId", v[i].actor_id));
        http_reply(r, 200, json_pack("{s:o}", "versions", arr));
    }
out:
    store_secrets_free(v, n);
    project_release(&s.ctx);
}

/* Decodes a ciphertext record field; it must be of a known format version:
 * under the project key, or (a personal override: owner not "") sealed to its
 * owner. */
static int record_field(struct req *r, const json_t *item, const char *name, const char *owner,
                        bool required, struct buf *out)
{
    int kind;

    if (!required && !json_object_get(item, name))
        return 0;
    if (req_b64_field(r, item, name, SEAL_RECORD_OVERHEAD, RECORD_MAX, out) < 0)
        return -EINVAL;
    kind = seal_record_kind(out->ptr, out->len);
    if (kind != SEAL_RECORD_VERSION && !(kind == SEAL_RECORD_OWNER && *owner)) {
        http_fail(r, 400, "'%s' is not an arca ciphertext record", name);
        return -EINVAL;
    }
    return 0;
}

static const char *write_action(const struct store_write *w)
{
    return w->op == STORE_DELETE ? "deleted" : w->ret_created ? "created" : "updated";
}

/* Commits writes with one audit record per secret (event_override, or by
 * what happened) in the same transaction, replies {secrets: [...]}. */
static void commit_writes(struct req *r, struct scope *s, struct store_write *w, size_t n,
                          const char *event_override)
{
    struct audit_event *ev;
    json_t *arr;
    int ret;

    if (n == 0) {
        http_reply(r, 200, json_pack("{s:[]}", "secrets"));
        return;
    }
    ev = calloc(n, sizeof(*ev));
    if (!ev) {
        http_fail(r, 503, "out of memory recording the audit log");
        return;
    }
    for (size_t i = 0; i < n; i++) /* a NULL event: by what the write did */
        ev[i] = scope_event(s, event_override, w[i].key);
    ret = audit_secrets_write(r, s->ctx.p.id, s->env->id, s->path, w, n, now_ms(), ev, n);
    free(ev);
    if (ret == -ENOENT && raw_write_failed(r, ret, w, n))
        return;
    if (ret == -ENOENT) {
        http_fail(r, 404, "a secret to delete does not exist in %s:%s; nothing was written",
                  s->env->slug, s->path);
        return;
    }
    if (ret < 0) {
        http_fail(r, ret == -EEXIST ? 409 : 503, "writing secrets failed (%d)", ret);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:I, s:s}", "id", w[i].ret_id, "key", w[i].key, "type",
                           w[i].owner && *w[i].owner ? "personal" : "shared", "version",
                           (json_int_t)w[i].ret_version, "action", write_action(&w[i])));
    http_reply(r, 200, json_pack("{s:o}", "secrets", arr));
}

/* Create if new, edit if it exists: the action a PUT of key (of owner) needs. */
static unsigned put_action(struct req *r, struct scope *s, const char *key, const char *owner)
{
    struct store_secret cur = {0};
    int ret =
        r->srv->store->ops->secret_get_of(r->srv->store, s->env->id, s->path, key, owner, &cur);

    store_secret_release(&cur);
    return ret == 0 ? AUTHZ_EDIT : AUTHZ_CREATE;
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

    if (!body || scope_open(r, body, &s) < 0)
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
        const char *key, *owner;

        if (!json_is_object(item) || wire_get_str(item, "key", NAME_KEY_MAX + 1, &key) < 0) {
            http_fail(r, 400, "each item of 'secrets' needs a 'key'");
            goto out;
        }
        if (!key_param_ok(r, key) || raw_owner(r, item, "write", &owner) < 0)
            goto out;
        for (size_t j = 0; j < i; j++)
            if (streq(w[j].key, key) && streq(w[j].owner, owner)) {
                http_fail(r, 400, "'%s' appears twice in one batch", key);
                goto out;
            }
        w[i].key = key;
        w[i].owner = owner;
        del = false;
        if (wire_get_bool(item, "delete", &del) == -EINVAL) {
            http_fail(r, 400, "'delete' must be a boolean");
            goto out;
        }
        if (del) {
            w[i].op = STORE_DELETE;
            if (scope_allows(r, &s, AUTHZ_DELETE) < 0)
                goto out;
            continue;
        }
        buf_init(&bufs[2 * i], 0);
        buf_init(&bufs[2 * i + 1], 0);
        if (record_field(r, item, "value", owner, true, &bufs[2 * i]) < 0 ||
            record_field(r, item, "comment", owner, false, &bufs[2 * i + 1]) < 0)
            goto out;
        if (scope_allows(r, &s, put_action(r, &s, key, owner)) < 0)
            goto out;
        w[i].op = STORE_PUT;
        w[i].value = (const uint8_t *)bufs[2 * i].ptr;
        w[i].value_len = bufs[2 * i].len;
        w[i].comment = bufs[2 * i + 1].len ? (const uint8_t *)bufs[2 * i + 1].ptr : NULL;
        w[i].comment_len = bufs[2 * i + 1].len;
    }
    commit_writes(r, &s, w, n, NULL);
out:
    for (i = 0; bufs && i < 2 * n; i++)
        buf_release(&bufs[i]);
    free(bufs);
    free(w);
    project_release(&s.ctx);
}

void api_secrets_delete(struct req *r)
{
    struct scope s = {0};
    struct store_write w = {.op = STORE_DELETE};

    w.key = req_param(r, 1);
    if (!key_param_ok(r, w.key) || raw_owner(r, NULL, "delete", &w.owner) < 0 ||
        scope_open(r, NULL, &s) < 0)
        return;
    if (scope_allows(r, &s, AUTHZ_DELETE) == 0)
        commit_writes(r, &s, &w, 1, NULL);
    project_release(&s.ctx);
}

/* The write that makes the current state (cur, may be a tombstone or absent)
 * equal to version then (a tombstone when then->value.len == 0).  Returns
 * false when nothing needs writing. */
static bool restore_write(const struct store_secret *cur, bool cur_exists,
                          const struct store_secret *then, struct store_write *w)
{
    bool cur_live = cur_exists && cur->value.len > 0;

    if (then->value.len == 0) {
        if (!cur_live)
            return false;
        w->op = STORE_DELETE;
        return true;
    }
    if (cur_live && cur->version == then->version)
        return false;
    w->op = STORE_PUT;
    w->value = then->value.ptr;
    w->value_len = then->value.len;
    w->comment = then->comment.len ? then->comment.ptr : (const uint8_t *)"";
    w->comment_len = then->comment.len;
    return true;
}

void api_secrets_rollback_one(struct req *r)
{
    json_t *body = req_body_json(r);
    struct scope s = {0};
    struct store_secret *v = NULL;
    size_t n = 0;
    const char *key = req_param(r, 1);
    struct store_write w = {.key = key};
    long long version;
    int ret;

    if (!body || !key_param_ok(r, key))
        return;
    if (wire_get_int(body, "version", &version) < 0 || version < 1) {
        http_fail(r, 400, "'version' must be a version number (1, 2, ...)");
        return;
    }
    if (scope_open(r, body, &s) < 0)
        return;
    if (scope_allows(r, &s, AUTHZ_EDIT) < 0)
        goto out;
    ret = r->srv->store->ops->secret_history(r->srv->store, s.env->id, s.path, key, &v, &n);
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "secret '%s' not found in %s:%s", key, s.env->slug,
                  s.path);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].version != version)
            continue;
        if (!restore_write(&v[0], true, &v[i], &w)) {
            http_reply(r, 200,
                       json_pack("{s:[{s:s, s:s, s:I, s:s}]}", "secrets", "id", v[0].id, "key", key,
                                 "version", (json_int_t)v[0].version, "action", "unchanged"));
            goto out;
        }
        if (w.op == STORE_DELETE && scope_allows(r, &s, AUTHZ_DELETE) < 0)
            goto out;
        commit_writes(r, &s, &w, 1, "secret.rollback");
        goto out;
    }
    http_fail(r, 404, "secret '%s' has no version %lld", key, version);
out:
    store_secrets_free(v, n);
    project_release(&s.ctx);
}

void api_secrets_rollback_folder(struct req *r)
{
    json_t *body = req_body_json(r);
    struct scope s = {0};
    struct store_secret_at *v = NULL;
    struct store_write *w = NULL;
    size_t n = 0, k = 0;
    const char *to;
    int64_t t;
    bool dry_run = false;
    json_t *plan = NULL;
    int ret;

    if (!body)
        return;
    if (wire_get_str(body, "to", 64, &to) < 0 || time_parse_iso(to, &t) < 0) {
        http_fail(r, 400, "'to' must be an ISO-8601 time such as 2026-11-29T10:00:00Z");
        return;
    }
    if (t > now_ms() + ROLLBACK_SKEW_MS) {
        http_fail(r, 400, "'to' (%s) is in the future: give a past time", to);
        return;
    }
    if (wire_get_bool(body, "dryRun", &dry_run) == -EINVAL) {
        http_fail(r, 400, "'dryRun' must be a boolean");
        return;
    }
    if (scope_open(r, body, &s) < 0)
        return;
    if (dry_run)
        plan = json_array();
    if (scope_allows(r, &s, AUTHZ_CREATE) < 0 || scope_allows(r, &s, AUTHZ_EDIT) < 0 ||
        scope_allows(r, &s, AUTHZ_DELETE) < 0)
        goto out;
    ret = r->srv->store->ops->secrets_at(r->srv->store, s.env->id, s.path, t, &v, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure reading history");
        goto out;
    }
    w = calloc(n ? n : 1, sizeof(*w));
    if (!w) {
        http_fail(r, 500, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct store_secret gone = {0}; /* did not exist then: as if deleted */

        w[k].key = v[i].current.key;
        if (!restore_write(&v[i].current, true, v[i].existed ? &v[i].then : &gone, &w[k]))
            continue;
        if (plan) /* what would be written, with the version now current */
            json_array_append_new(plan, json_pack("{s:s, s:I, s:s}", "key", w[k].key, "version",
                                                  (json_int_t)v[i].current.version, "action",
                                                  w[k].op == STORE_DELETE  ? "deleted"
                                                  : v[i].current.value.len ? "updated"
                                                                           : "created"));
        k++;
    }
    if (plan) {
        http_reply(r, 200, json_pack("{s:O, s:b}", "secrets", plan, "dryRun", 1));
        goto out;
    }
    commit_writes(r, &s, w, k, "secret.rollback");
out:
    json_decref(plan);
    free(w);
    store_secrets_at_free(v, n);
    project_release(&s.ctx);
}
