/* api_batch.c - Infisical's batch secret routes: POST, PATCH and DELETE of
 * /api/v3/secrets/batch/raw (workspaceId) and /api/v4/secrets/batch
 * (projectId), for projects with server access.
 *
 * One request is one environment and one store transaction: every item is
 * checked first (its name, its folder's permission for what it does, its
 * value), then secrets_write applies them all or none.  PATCH items may name
 * their own secretPath, so one batch may span folders; the permission check
 * is then that folder's.  An item's "type" may be "personal" (the caller's
 * override, users only), as on the single routes.  Audit: one record per
 * secret written, as the single routes write them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "raw.h"
#include "server.h"

#define BATCH_MAX 500 /* items per request (the body limit holds them) */

enum batch_kind { BATCH_CREATE, BATCH_UPDATE, BATCH_DELETE };

struct item {
    char path[NAME_PATH_MAX + 1];
    const char *key, *owner; /* BORROWED from the body; owner "" shared */
    const char *target;      /* the key after a rename (== key otherwise) */
    struct store_secret cur; /* the current secret, if exists */
    bool exists;
    struct buf value, comment; /* sealed records */
};

static void items_free(struct item *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        store_secret_release(&v[i].cur);
        buf_release(&v[i].value);
        buf_release(&v[i].comment);
    }
    free(v);
}

/* Seals the new value and comment of it (w->path is its folder): the given
 * ones, else (an update) the current ones.  Replies on failure. */
static int item_seal(struct req *r, struct raw *w, const json_t *o, struct item *it)
{
    _cleanup_buf_ struct buf plain = BUF_INIT, old = BUF_INIT;
    const char *v = NULL, *c = NULL;
    int ret = 0;

    if (wire_get_str_or(o, "secretValue", SERVER_VALUE_MAX, NULL, &v) < 0 ||
        wire_get_str_or(o, "secretComment", SERVER_VALUE_MAX, NULL, &c) < 0 ||
        (!v && !it->exists)) {
        http_fail(r, 400,
                  "'%s': 'secretValue' (at most %u bytes) is required for a new secret; "
                  "'secretComment' must be a string",
                  it->key, SERVER_VALUE_MAX);
        return -EINVAL;
    }
    buf_init_secret(&plain, 0);
    buf_init_secret(&old, 0);
    if (v)
        ret = raw_normalize_value(v, &plain);
    else
        ret = raw_open_field(w, &it->cur, "value", &it->cur.value, &plain);
    if (ret == 0 && !c && it->exists &&
        (ret = raw_open_field(w, &it->cur, "comment", &it->cur.comment, &old)) == 0)
        c = buf_str(&old);
    buf_init(&it->value, 0);
    buf_init(&it->comment, 0);
    if (ret < 0 ||
        raw_seal(w, it->target, it->owner, "value", plain.ptr ? plain.ptr : "", plain.len,
                 &it->value) < 0 ||
        (c && *c &&
         raw_seal(w, it->target, it->owner, "comment", c, strlen(c), &it->comment) < 0)) {
        http_fail(r, 500, "cannot seal the value of '%s'", it->key);
        return -EIO;
    }
    return 0;
}

/* Reads item i of the body into it and checks it; adds its writes to ws.
 * Replies on failure. */
static int item_prepare(struct req *r, struct raw *w, enum batch_kind kind, bool upsert,
                        const char *root, const json_t *o, struct item *it, struct store_write *ws,
                        size_t *n_ws)
{
    const char *path = NULL, *rename = NULL;
    struct store *st = r->srv->store;
    unsigned action;
    int ret;

    if (!json_is_object(o) || wire_get_str(o, "secretKey", NAME_KEY_MAX, &it->key) < 0 ||
        !name_key_valid(it->key)) {
        http_fail(r, 400, "each item of 'secrets' needs a valid 'secretKey'");
        return -EINVAL;
    }
    if (raw_owner(r, o,
                  kind == BATCH_DELETE   ? "delete"
                  : kind == BATCH_UPDATE ? "update"
                                         : "create",
                  &it->owner) < 0)
        return -EINVAL;
    if ((kind == BATCH_UPDATE &&
         (wire_get_str_or(o, "secretPath", NAME_PATH_MAX, NULL, &path) < 0 ||
          wire_get_str_or(o, "newSecretName", NAME_KEY_MAX, NULL, &rename) < 0)) ||
        name_path_normalize(path && *path ? path : root, it->path, sizeof(it->path)) < 0 ||
        (rename && !name_key_valid(rename))) {
        http_fail(r, 400,
                  "'%s': 'secretPath' must be an absolute folder path and 'newSecretName' a "
                  "valid name",
                  it->key);
        return -EINVAL;
    }
    it->target = rename && !streq(rename, it->key) ? rename : it->key;
    if (*it->owner && it->target != it->key) {
        http_fail(r, 400, "Personal secrets cannot be renamed");
        return -EINVAL;
    }
    snprintf(w->path, sizeof(w->path), "%s", it->path);
    ret = st->ops->secret_get_of(st, w->env->id, it->path, it->key, it->owner, &it->cur);
    if (ret < 0 && ret != -ENOENT) {
        http_fail_store(r, ret, "store failure reading a secret");
        return ret;
    }
    it->exists = ret == 0;
    if (it->exists && kind == BATCH_CREATE) {
        http_fail(r, 400, "Secret already exist");
        return -EEXIST;
    }
    if (it->exists && kind != BATCH_DELETE && raw_refuse_sealed(r, &it->cur))
        return -EINVAL;
    if (!it->exists && (kind == BATCH_DELETE || (kind == BATCH_UPDATE && !upsert))) {
        http_fail(r, 404, "Secret '%s' not found in %s:%s; nothing was written", it->key,
                  w->env->slug, it->path);
        return -ENOENT;
    }
    action = kind == BATCH_DELETE ? AUTHZ_DELETE : it->exists ? AUTHZ_EDIT : AUTHZ_CREATE;
    if (raw_allows(r, w, action) < 0 ||
        (it->target != it->key &&
         (raw_allows(r, w, AUTHZ_CREATE) < 0 || raw_allows(r, w, AUTHZ_DELETE) < 0)))
        return -EACCES;
    if (kind != BATCH_DELETE && item_seal(r, w, o, it) < 0)
        return -EINVAL;
    if (kind == BATCH_DELETE || it->target != it->key)
        ws[(*n_ws)++] = (struct store_write){
            .op = STORE_DELETE, .key = it->key, .owner = it->owner, .path = it->path};
    if (kind == BATCH_DELETE)
        return 0;
    ws[(*n_ws)++] = (struct store_write){
        .op = !it->exists || it->target != it->key ? STORE_CREATE : STORE_UPDATE,
        .key = it->target,
        .owner = it->owner,
        .path = it->path,
        .value = (const uint8_t *)it->value.ptr,
        .value_len = it->value.len,
        .comment = (const uint8_t *)(it->comment.len ? it->comment.ptr : ""),
        .comment_len = it->comment.len};
    return 0;
}

/* The reply entry of an item once written: what this request wrote (last,
 * its create or update), or the secret a delete removed; its value only if
 * show. */
static json_t *item_json(struct req *r, struct raw *w, enum batch_kind kind, struct item *it,
                         const struct store_write *last, int64_t at, bool show)
{
    snprintf(w->path, sizeof(w->path), "%s", it->path);
    if (kind == BATCH_DELETE) {
        it->cur.version = last->ret_version;
        return raw_json(r, w, &it->cur, show);
    }
    return raw_written_json(r, w, last, at, show);
}

static void batch(struct req *r, enum batch_kind kind)
{
    json_t *body = req_body_json(r), *arr, *o, *out = NULL;
    struct raw w = {0};
    struct item *v = NULL;
    struct store_write *ws = NULL;
    struct audit_event *ev = NULL;
    char root[NAME_PATH_MAX + 1];
    const char *mode = "failOnNotFound";
    size_t n = 0, n_ws = 0, n_writes, n_ev, i;
    int64_t at = now_ms();
    int ret;

    if (!body || raw_open(r, body, &w) < 0)
        return;
    memcpy(root, w.path, sizeof(root));
    ret = wire_get_arr(body, "secrets", BATCH_MAX, &arr);
    if (ret < 0 || json_array_size(arr) == 0) {
        http_fail(r, ret == -E2BIG ? 413 : 400, "'secrets' must be an array of 1 to %d items",
                  BATCH_MAX);
        goto out;
    }
    if (kind == BATCH_UPDATE && (wire_get_str_or(body, "mode", 32, mode, &mode) < 0 ||
                                 !(streq(mode, "failOnNotFound") || streq(mode, "upsert")))) {
        http_fail(r, 400, "'mode' must be 'failOnNotFound' or 'upsert'");
        goto out;
    }
    n = json_array_size(arr);
    v = calloc(n, sizeof(*v));
    ws = calloc(2 * n, sizeof(*ws));
    ev = calloc(3 * n, sizeof(*ev));
    if (!v || !ws || !ev) {
        http_fail(r, 500, "out of memory");
        goto out;
    }
    json_array_foreach(arr, i, o)
    {
        if (item_prepare(r, &w, kind, streq(mode, "upsert"), root, o, &v[i], ws, &n_ws) < 0)
            goto out;
        for (size_t j = 0; j < i; j++)
            if (streq(v[j].path, v[i].path) && streq(v[j].owner, v[i].owner) &&
                (streq(v[j].key, v[i].key) || streq(v[j].target, v[i].target))) {
                http_fail(r, 400, "'%s' appears twice in one batch", v[i].key);
                goto out;
            }
    }
    for (i = 0; i < n_ws; i++) { /* a NULL event: by what the write did */
        ev[i] = raw_event(&w, NULL, ws[i].key);
        ev[i].path = ws[i].path;
    }
    /* values go back only where the caller may read them: each such reply
     * entry is a read, recorded with the writes */
    n_ev = n_writes = n_ws;
    for (i = 0; i < n; i++) {
        snprintf(w.path, sizeof(w.path), "%s", v[i].path);
        if (raw_may_read(r, &w)) {
            ev[n_ev] = raw_event(&w, "secret.read", v[i].target);
            ev[n_ev++].path = v[i].path;
        }
    }
    ret = audit_secrets_write(r, w.ctx.p.id, w.env->id, root, ws, n_writes, at, ev, n_ev);
    if (raw_write_failed(r, ret, ws, n_ws))
        goto out;
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503,
                  ret == -ENOENT ? "Secret not found; nothing was written"
                                 : "store failure writing secrets (%d)",
                  ret);
        goto out;
    }
    out = json_array();
    for (i = 0, n_ws = 0; i < n; i++) {
        bool show;

        n_ws += kind == BATCH_DELETE || v[i].target == v[i].key ? 1 : 2;
        snprintf(w.path, sizeof(w.path), "%s", v[i].path);
        show = raw_may_read(r, &w);
        o = item_json(r, &w, kind, &v[i], &ws[n_ws - 1], at, show);
        if (!o) { /* stored and recorded all the same; nothing was shown */
            if (!r->status)
                http_fail(r, 500, "cannot show secret '%s'", v[i].target);
            goto out;
        }
        json_array_append_new(out, o);
    }
    http_reply(r, 200, json_pack("{s:O}", "secrets", out));
out:
    json_decref(out);
    free(ev);
    free(ws);
    items_free(v, n);
    raw_release(&w);
}

void api_batch_create(struct req *r)
{
    batch(r, BATCH_CREATE);
}

void api_batch_update(struct req *r)
{
    batch(r, BATCH_UPDATE);
}

void api_batch_delete(struct req *r)
{
    batch(r, BATCH_DELETE);
}
