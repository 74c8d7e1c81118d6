/* api_raw.c - Infisical's "raw" secret routes (/api/v3/secrets/raw and
 * /api/v4/secrets), for projects with server access.
 *
 * Infisical's SDKs send and receive plaintext.  For a project whose admin
 * turned server access on, the server holds a copy of the project key sealed
 * under its root key: it opens and seals the very same records arca's own
 * clients do (seal.h, same associated data), so both kinds of client work on
 * one project and read each other's writes.  Permissions and audit records are
 * those of arca's own routes.  Shapes follow infisical-api.md section 2.4.
 *
 * Personal overrides (type=personal) belong to one user: only a user makes,
 * reads or deletes them, and only their own.  Their records are sealed with
 * the owner in the associated data (seal_ad_field).  For a user, references
 * resolve to the user's override where one exists (raw.owner).  An override
 * written by arca's own client is sealed to its owner (seal_owner_key): the
 * server cannot open it, so these routes pass it over (lists and references
 * show the shared value, a get of it answers 404, an update 400; a delete
 * works). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "base/expand.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "raw.h"
#include "server.h"

#define HIDDEN_VALUE "<hidden-by-infisical>"

void raw_release(struct raw *w)
{
    seal_wipe(w->key, sizeof(w->key));
    project_release(&w->ctx);
}

static bool is_v4(struct req *r)
{
    return startswith(r->path, "/api/v4/");
}

/* The boolean query flags of these routes: "true" or "false" (checked once by
 * raw_open, then read with flag()). */
static const char *const flag_names[] = {
    "viewSecretValue", "expandSecretReferences",   "recursive",        "includeImports",
    "include_imports", "includePersonalOverrides", "strictReferences",
};

/* Opens project (workspaceId / projectId; on v3 also the project's slug, as
 * workspaceSlug in a query and projectSlug in a body), environment and
 * secretPath, and the project key.  Replies and returns < 0 on failure. */
int raw_open(struct req *r, const json_t *body, struct raw *w)
{
    const char *pid, *env, *path, *slug = NULL;
    char by_slug[STORE_ID_LEN + 1];
    bool b;

    if (req_arg(r, body, is_v4(r) ? "projectId" : "workspaceId", NAME_PATH_MAX, &pid) < 0 ||
        req_arg(r, body, "environment", NAME_PATH_MAX, &env) < 0 ||
        req_arg(r, body, "secretPath", NAME_PATH_MAX, &path) < 0 ||
        (!is_v4(r) &&
         req_arg(r, body, body ? "projectSlug" : "workspaceSlug", NAME_PATH_MAX, &slug) < 0))
        return -EINVAL;
    for (size_t i = 0; i < ELEMENTSOF(flag_names); i++)
        if (req_query_bool(r, flag_names[i], false, &b) < 0)
            return -EINVAL;
    if (!pid && slug && env) {
        if (project_id_of_slug(r, slug, by_slug) < 0)
            return -ENOENT;
        pid = by_slug;
    }
    if (!pid && r->who.kind == PRINCIPAL_SERVICE)
        pid = r->who.project_id;
    if (!pid || !env) {
        http_fail(r, 400, "Missing project id or environment");
        return -EINVAL;
    }
    if (name_path_normalize(path && *path ? path : "/", w->path, sizeof(w->path)) < 0) {
        http_fail(r, 400, "'secretPath' must be an absolute folder path such as /app/api");
        return -EINVAL;
    }
    if (project_open(r, pid, &w->ctx) < 0)
        return -ENOENT;
    for (size_t i = 0; i < w->ctx.p.n_envs; i++)
        if (streq(w->ctx.p.envs[i].slug, env))
            w->env = &w->ctx.p.envs[i];
    if (!w->env) {
        http_fail(r, 404, "Environment with slug '%.64s' in project with ID %s not found", env,
                  w->ctx.p.id);
        raw_release(w);
        return -ENOENT;
    }
    if (project_server_key(r, &w->ctx, w->key) < 0) {
        raw_release(w);
        return -EACCES;
    }
    w->owner = r->who.kind == PRINCIPAL_USER ? r->who.id : NULL;
    return 0;
}

int raw_allows(struct req *r, struct raw *w, unsigned action)
{
    return project_allows(r, &w->ctx, AUTHZ_SECRETS, action, w->env->slug, w->path);
}

struct audit_event raw_event(const struct raw *w, const char *event, const char *key)
{
    return (struct audit_event){.event = event,
                                .org_id = w->ctx.p.org_id,
                                .project_id = w->ctx.p.id,
                                .environment = w->env->slug,
                                .path = w->path,
                                .key = key};
}

/* Opens one field of the secret at (env, path, key, owner: "" shared) into
 * out (empty for no record). */
static int open_at(const struct raw *w, const char *env, const char *path, const char *key,
                   const char *owner, const char *field, const struct store_blob *rec,
                   struct buf *out)
{
    char f[SEAL_FIELD_MAX];
    struct seal_ad ad = {w->ctx.p.id, env, path, key, f};

    buf_clear(out);
    if (rec->len == 0)
        return 0;
    if (seal_ad_field(owner, field, f, sizeof(f)) < 0)
        return -EINVAL;
    return seal_record_decrypt(w->key, &ad, rec->ptr, rec->len, out);
}

bool raw_sealed_to_owner(const struct store_secret *sec)
{
    return *sec->owner_id && seal_record_kind(sec->value.ptr, sec->value.len) == SEAL_RECORD_OWNER;
}

bool raw_refuse_sealed(struct req *r, const struct store_secret *sec)
{
    if (!raw_sealed_to_owner(sec))
        return false;
    http_fail(r, 400,
              "'%s' is a personal override sealed to its owner by arca's own client: the "
              "server cannot read or change it (use 'arca secrets set --personal', or delete it)",
              sec->key);
    return true;
}

int raw_open_field(const struct raw *w, const struct store_secret *sec, const char *field,
                   const struct store_blob *rec, struct buf *out)
{
    return open_at(w, w->env->slug, w->path, sec->key, sec->owner_id, field, rec, out);
}

/* The secret a reference names, for the caller: their personal override if
 * overrides are in play and they have one, else the shared secret. */
static int ref_get(struct req *r, const struct raw *w, const char *env_id, const char *path,
                   const char *key, struct store_secret *ret)
{
    struct store *st = r->srv->store;
    int rc = -ENOENT;

    if (w->owner)
        rc = st->ops->secret_get_of(st, env_id, path, key, w->owner, ret);
    if (rc == 0 && raw_sealed_to_owner(ret)) { /* the server cannot open it */
        store_secret_release(ret);
        rc = -ENOENT;
    }
    if (rc == -ENOENT)
        rc = st->ops->secret_get(st, env_id, path, key, ret);
    return rc;
}

struct ref_lookup {
    struct req *r;
    struct raw *w;
};

/* expand_lookup_fn: the value of key in (env, path) of w's project, for the
 * caller (every hop is a read, checked like one).  A failure of the store or
 * of decryption sets w->status and w->msg. */
static int ref_lookup(void *ctx, const char *env, const char *path, const char *key,
                      struct buf *value)
{
    struct ref_lookup *l = ctx;
    struct raw *w = l->w;
    const struct store_env *e = NULL;
    struct store_secret sec = {0};
    int ret;

    for (size_t i = 0; i < w->ctx.p.n_envs; i++)
        if (streq(w->ctx.p.envs[i].slug, env))
            e = &w->ctx.p.envs[i];
    if (!e)
        return -ENXIO;
    if (!project_can(l->r, &w->ctx, AUTHZ_SECRETS, AUTHZ_READ, e->slug, path))
        return -EACCES;
    ret = ref_get(l->r, w, e->id, path, key, &sec);
    if (ret < 0) {
        store_secret_release(&sec);
        if (ret == -ENOENT)
            return ret;
        w->status = 503;
        snprintf(w->msg, sizeof(w->msg), "store failure reading a referenced secret (%d)", ret);
        return -EIO;
    }
    ret = open_at(w, e->slug, path, key, sec.owner_id, "value", &sec.value, value);
    store_secret_release(&sec);
    if (ret < 0) {
        w->status = 500;
        snprintf(w->msg, sizeof(w->msg), "a referenced secret failed to decrypt");
        return -EBADMSG;
    }
    return 0;
}

/* The reply status of expand_value's failure r. */
static unsigned ref_status(int r)
{
    return r == -ENOENT ? 404 : r == -EACCES ? 403 : 400;
}

/* sec's value and comment, decrypted (show) and expanded into value and
 * comment (secret buffers, cleared first).  On failure w->status and w->msg
 * say why (or w->skip: left out of a list); -EINVAL. */
static int raw_value(struct req *r, struct raw *w, const struct store_secret *sec, bool show,
                     struct buf *value, struct buf *comment)
{
    buf_clear(value);
    buf_clear(comment);
    if (show && (raw_open_field(w, sec, "value", &sec->value, value) < 0 ||
                 raw_open_field(w, sec, "comment", &sec->comment, comment) < 0)) {
        w->status = 500;
        snprintf(w->msg, sizeof(w->msg), "secret '%s' failed to decrypt", sec->key);
        return -EINVAL;
    }
    if (show && w->expand && memmem(buf_str(value), value->len, "${", 2)) {
        _cleanup_buf_ struct buf out = BUF_INIT;
        struct ref_lookup l = {r, w};
        struct expander x = {.lookup = ref_lookup, .ctx = &l};

        buf_init_secret(&out, EXPAND_VALUE_MAX);
        int ret =
            expand_value(&x, w->env->slug, w->path, sec->key, buf_str(value), value->len, &out);
        bool lenient = !w->strict && expand_ref_failure(ret);
        if (ret < 0 && (!lenient || ret == -EACCES)) {
            if (expand_ref_failure(ret)) {
                w->status = ref_status(ret);
                snprintf(w->msg, sizeof(w->msg), "%s", x.msg);
            } else { /* the store's or decryption's: w->status and w->msg say */
                char why[sizeof(w->msg) + NAME_KEY_MAX + 16];
                snprintf(why, sizeof(why), "secret '%s': %s", sec->key, w->msg);
                snprintf(w->msg, sizeof(w->msg), "%.*s", (int)sizeof(w->msg) - 1, why);
            }
            w->skip = lenient; /* a list leaves it out */
            return -EINVAL;
        }
        if (ret < 0) /* lenient: this value as written */
            w->status = 0;
        else if (buf_clear(value), buf_add(value, buf_str(&out), out.len) < 0)
            return -EINVAL;
    }
    return 0;
}

/* Infisical's secret object for sec (value and comment decrypted). */
json_t *raw_json(struct req *r, struct raw *w, const struct store_secret *sec, bool show)
{
    _cleanup_buf_ struct buf value = BUF_INIT, comment = BUF_INIT;

    buf_init_secret(&value, 0);
    buf_init_secret(&comment, 0);
    show = show && !raw_sealed_to_owner(sec); /* e.g. the reply to its delete */
    if (raw_value(r, w, sec, show, &value, &comment) < 0)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s%, s:s%, s:s, s:b, s:[], s:[], s:b, "
                     "s:n, s:n, s:o, s:o, s:b, s:n, s:n}",
                     "id", sec->id, "_id", sec->id, "workspace", w->ctx.p.id, "environment",
                     w->env->slug, "version", (json_int_t)sec->version, "type",
                     *sec->owner_id ? "personal" : "shared", "secretKey", sec->key, "secretValue",
                     show ? buf_str(&value) : HIDDEN_VALUE, show ? value.len : strlen(HIDDEN_VALUE),
                     "secretComment", buf_str(&comment), comment.len, "secretPath", w->path,
                     "secretValueHidden", !show, "tags", "secretMetadata", "skipMultilineEncoding",
                     0, "secretReminderNote", "secretReminderRepeatDays", "createdAt",
                     json_time(sec->updated_at), "updatedAt", json_time(sec->updated_at),
                     "isRotatedSecret", 0, "rotationId", "actor");
}

/* Appends s (len bytes) to out as a JSON string, byte for byte what jansson
 * writes: as it is between quotes when every byte is printable ASCII but '"'
 * and '\\' (nothing to escape), else through jansson.  -EINVAL for text
 * that is not UTF-8. */
static int text_str(struct buf *out, const char *s, size_t len)
{
    size_t i = 0;
    json_t *j;
    int ret;

    while (i < len && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f && s[i] != '"' &&
           s[i] != '\\')
        i++;
    if (i == len)
        return buf_addch(out, '"') < 0 || buf_add(out, s, len) < 0 ? -ENOMEM : buf_addch(out, '"');
    j = json_stringn(s, len);
    if (!j)
        return -EINVAL;
    ret = wire_dump(out, j);
    json_decref(j);
    return ret;
}

/* Appends "key": and s as JSON text. */
static int text_field(struct buf *out, const char *key, const char *s, size_t len)
{
    int ret = buf_printf(out, ",\"%s\":", key);

    return ret < 0 ? ret : text_str(out, s, len);
}

/* raw_json's object, written as text into out, the value decrypted into
 * value and comment (reused from secret to secret): no JSON tree per secret.
 * The same bytes as wire_dump of raw_json's (fields in its order). */
static int raw_text(struct req *r, struct raw *w, const struct store_secret *sec, bool show,
                    struct buf *value, struct buf *comment, struct buf *out)
{
    char created[25];
    const char *type = *sec->owner_id ? "personal" : "shared";
    int ret;

    show = show && !raw_sealed_to_owner(sec);
    if (raw_value(r, w, sec, show, value, comment) < 0)
        return -EINVAL;
    time_format_iso(sec->updated_at, created);
    ret = buf_adds(out, "{\"id\":");
    if (ret == 0)
        ret = text_str(out, sec->id, strlen(sec->id));
    if (ret == 0)
        ret = text_field(out, "_id", sec->id, strlen(sec->id));
    if (ret == 0)
        ret = text_field(out, "workspace", w->ctx.p.id, strlen(w->ctx.p.id));
    if (ret == 0)
        ret = text_field(out, "environment", w->env->slug, strlen(w->env->slug));
    if (ret == 0)
        ret = buf_printf(out, ",\"version\":%lld", (long long)sec->version) < 0 ? -ENOMEM : 0;
    if (ret == 0)
        ret = text_field(out, "type", type, strlen(type));
    if (ret == 0)
        ret = text_field(out, "secretKey", sec->key, strlen(sec->key));
    if (ret == 0)
        ret = show ? text_field(out, "secretValue", buf_str(value), value->len)
                   : text_field(out, "secretValue", HIDDEN_VALUE, strlen(HIDDEN_VALUE));
    if (ret == 0)
        ret = text_field(out, "secretComment", buf_str(comment), comment->len);
    if (ret == 0)
        ret = text_field(out, "secretPath", w->path, strlen(w->path));
    if (ret == 0)
        ret = buf_printf(out,
                         ",\"secretValueHidden\":%s,\"tags\":[],\"secretMetadata\":[],"
                         "\"skipMultilineEncoding\":false,\"secretReminderNote\":null,"
                         "\"secretReminderRepeatDays\":null",
                         show ? "false" : "true") < 0
                  ? -ENOMEM
                  : 0;
    if (ret == 0)
        ret = text_field(out, "createdAt", created, strlen(created));
    if (ret == 0)
        ret = text_field(out, "updatedAt", created, strlen(created));
    if (ret == 0)
        ret = buf_adds(out, ",\"isRotatedSecret\":false,\"rotationId\":null,\"actor\":null}");
    return ret;
}

/* A boolean query flag: "true" / "false" (default def). */
static bool flag(struct req *r, const char *name, bool def)
{
    const char *v = req_query(r, name);

    return v ? streq(v, "true") : def;
}

/* Whose overrides a list shows: a user's, on v3 always (both entries are
 * listed), on v4 with includePersonalOverrides=true (the override replaces
 * the shared entry); NULL: shared secrets only. */
static const char *list_owner(struct req *r)
{
    if (r->who.kind != PRINCIPAL_USER)
        return NULL;
    return !is_v4(r) || flag(r, "includePersonalOverrides", false) ? r->who.id : NULL;
}

/* v4: a shared entry followed by the caller's override of its key gives way
 * (to one the server can open). */
static bool shadowed(struct req *r, const struct store_secret *v, size_t n, size_t i)
{
    return is_v4(r) && !*v[i].owner_id && i + 1 < n && streq(v[i + 1].key, v[i].key) &&
           !raw_sealed_to_owner(&v[i + 1]);
}

/* include_imports (v3's spelling) or includeImports (v4's): both accepted on
 * both versions; imports are included by default on v4 only. */
static bool want_imports(struct req *r)
{
    return flag(r, "includeImports", flag(r, "include_imports", is_v4(r)));
}

/* Where secret objects go: a JSON array, or the text of one written object by
 * object (a list of 10,000 secrets as one jansson tree would take 30 MB per
 * request; as text it takes its size, and no tree is made per secret: the
 * values are decrypted into value and comment, and written from there). */
struct sink {
    json_t *arr;
    struct buf *text;
    size_t n;
    struct buf value, comment; /* SECRET: text only, set up by sink_text */
};

static void sink_text(struct sink *s, struct buf *text)
{
    *s = (struct sink){.text = text};
    buf_init_secret(&s->value, 0);
    buf_init_secret(&s->comment, 0);
}

static void sink_release(struct sink *s)
{
    buf_release(&s->value);
    buf_release(&s->comment);
}

/* Adds sec's object; NULL and w->skip set when it is left out. */
static int sink_add(struct req *r, struct raw *w, struct sink *s, const struct store_secret *sec,
                    bool show)
{
    size_t len = s->text ? s->text->len : 0;
    json_t *o;
    int ret;

    if (s->arr) {
        o = raw_json(r, w, sec, show);
        return !o ? -EINVAL : json_array_append_new(s->arr, o) == 0 ? 0 : -ENOMEM;
    }
    ret = s->n > 0 ? buf_addch(s->text, ',') : 0;
    if (ret == 0)
        ret = raw_text(r, w, sec, show, &s->value, &s->comment, s->text);
    if (ret < 0)
        buf_truncate(s->text, len); /* nothing of a secret left out, nor half an object */
    else
        s->n++;
    return ret;
}

/* Appends the secrets v to out, each as if the request were about its own
 * folder (envs[i], or the request's environment if envs is NULL, and the
 * secret's path): references expand in that context.  On failure w->status
 * and w->msg say why. */
static int append_secrets(struct req *r, struct raw *w, const struct store_env *const *envs,
                          const struct store_secret *v, size_t n, bool show, struct sink *out)
{
    const struct store_env *env0 = w->env;
    char path0[sizeof(w->path)];
    int ret = 0;

    memcpy(path0, w->path, sizeof(path0));
    for (size_t i = 0; i < n && ret == 0; i++) {
        if (shadowed(r, v, n, i) || raw_sealed_to_owner(&v[i]))
            continue;
        w->env = envs ? envs[i] : env0;
        snprintf(w->path, sizeof(w->path), "%s", v[i].path);
        ret = sink_add(r, w, out, &v[i], show);
        if (ret < 0 && w->skip) { /* refers to what the caller may not read: left out */
            w->skip = false;
            w->status = 0;
            ret = 0;
        }
    }
    w->env = env0;
    memcpy(w->path, path0, sizeof(path0));
    return ret;
}

/* recursive=true: the secrets of every sub-folder the caller may list (others
 * are left out silently, as Infisical filters them), values where it may read. */
static int append_subfolders(struct req *r, struct raw *w, bool view, struct sink *out,
                             size_t *count)
{
    struct store_folder *f = NULL;
    size_t n_f = 0;
    int ret;

    ret = r->srv->store->ops->folder_list(r->srv->store, w->env->id, w->path, true, &f, &n_f);
    for (size_t i = 0; i < n_f && ret == 0; i++) {
        struct store_secret *v = NULL;
        size_t n = 0;

        if (!project_can(r, &w->ctx, AUTHZ_SECRETS, AUTHZ_DESCRIBE, w->env->slug, f[i].path))
            continue;
        ret = r->srv->store->ops->secrets_list_with(r->srv->store, w->env->id, f[i].path, w->owner,
                                                    &v, &n);
        if (ret == 0)
            ret = append_secrets(
                r, w, NULL, v, n,
                view && project_can(r, &w->ctx, AUTHZ_SECRETS, AUTHZ_READ, w->env->slug, f[i].path),
                out);
        *count += n;
        store_secrets_free(v, n);
    }
    store_folders_free(f, n_f);
    if (ret < 0 && !w->status) {
        w->status = 503;
        snprintf(w->msg, sizeof(w->msg), "store failure listing sub-folders (%d)", ret);
    }
    return ret;
}

/* The "imports" array of the request's folder (empty unless asked for). */
static json_t *imports_json(struct req *r, struct raw *w, bool want, bool view)
{
    struct import_block *b = NULL;
    size_t n = 0;
    json_t *arr = json_array(), *secrets;
    int ret = want ? imports_resolve(r, &w->ctx, w->env, w->path, &b, &n) : 0;

    for (size_t i = 0; i < n && ret == 0; i++) {
        struct sink out = {.arr = secrets = json_array()};

        ret = append_secrets(r, w, b[i].envs, b[i].secrets, b[i].n, view, &out);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "secretPath", b[i].path,
                                             "environment", b[i].env->slug, "folderId",
                                             b[i].folder_id, "secrets", secrets));
    }
    import_blocks_free(b, n);
    if (ret < 0) {
        if (!w->status) {
            w->status = 503;
            snprintf(w->msg, sizeof(w->msg), "store failure reading imports (%d)", ret);
        }
        json_decref(arr);
        return NULL;
    }
    return arr;
}

void api_raw_list(struct req *r)
{
    struct raw w = {0};
    struct store_secret *v = NULL;
    size_t n = 0, n_sub = 0;
    json_t *meta, *imports = NULL;
    _cleanup_buf_ struct buf text = BUF_INIT; /* {"secrets":[...],"imports":[...]} */
    struct sink out;
    struct audit_event e;
    bool show, view = flag(r, "viewSecretValue", true);
    int ret;

    buf_init_secret(&text, 0);
    if (raw_open(r, NULL, &w) < 0)
        return;
    sink_text(&out, &text);
    w.expand = flag(r, "expandSecretReferences", is_v4(r));
    w.strict = flag(r, "strictReferences", false);
    w.owner = list_owner(r);
    if (raw_allows(r, &w, AUTHZ_DESCRIBE) < 0)
        goto out;
    show = view && project_can(r, &w.ctx, AUTHZ_SECRETS, AUTHZ_READ, w.env->slug, w.path);
    ret = r->srv->store->ops->secrets_list_with(r->srv->store, w.env->id, w.path, w.owner, &v, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing secrets");
        goto out;
    }
    ret = buf_adds(&text, "{\"secrets\":[");
    if (ret == 0)
        ret = append_secrets(r, &w, NULL, v, n, show, &out);
    if (ret == 0 && flag(r, "recursive", false))
        ret = append_subfolders(r, &w, view, &out, &n_sub);
    if (ret == 0)
        imports = imports_json(r, &w, want_imports(r), view);
    if (ret < 0 || !imports || buf_adds(&text, "],\"imports\":") < 0 ||
        wire_dump(&text, imports) < 0 || buf_addch(&text, '}') < 0) {
        json_decref(imports);
        http_fail(r, w.status ? w.status : 500, "%s", w.status ? w.msg : "out of memory");
        goto out;
    }
    e = raw_event(&w, "secret.list", NULL);
    meta = json_pack("{s:I, s:b, s:I}", "count", (json_int_t)(n + n_sub), "values", show, "imports",
                     (json_int_t)json_array_size(imports));
    e.metadata = meta;
    ret = audit_defer(r, &e);
    json_decref(meta);
    json_decref(imports);
    if (ret == 0)
        http_reply_text(r, 200, &text);
out:
    sink_release(&out);
    store_secrets_free(v, n);
    raw_release(&w);
}

/* The secret name of the path, validated (replies 400). */
static const char *raw_name(struct req *r)
{
    const char *name = req_param(r, 0);

    if (!name_key_valid(name)) {
        http_fail(r, 400,
                  "'%.64s' is not a valid secret name: use letters, digits and '_', "
                  "not starting with a digit",
                  name);
        return NULL;
    }
    return name;
}

int raw_owner(struct req *r, const json_t *body, const char *verb, const char **ret)
{
    const char *type;

    if (req_arg(r, body, "type", NAME_SLUG_MAX, &type) < 0)
        return -EINVAL;
    if (!type || streq(type, "shared")) {
        *ret = "";
        return 0;
    }
    if (!streq(type, "personal")) {
        http_fail(r, 400, "'type' must be 'shared' or 'personal'");
        return -EINVAL;
    }
    if (r->who.kind != PRINCIPAL_USER) {
        http_fail(r, 400, "Must be user to %s personal secret", verb);
        return -EACCES;
    }
    *ret = r->who.id;
    return 0;
}

/* The current secret of owner ("" shared), or a historic version with ?version=N. */
static int find_secret(struct req *r, struct raw *w, const char *name, const char *owner,
                       const char *version, struct store_secret *ret)
{
    struct store *st = r->srv->store;
    struct store_secret *v = NULL;
    size_t n = 0;
    long long want = version ? strtoll(version, NULL, 10) : 0;
    int rc;

    if (!version)
        return st->ops->secret_get_of(st, w->env->id, w->path, name, owner, ret);
    rc = st->ops->secret_history_of(st, w->env->id, w->path, name, owner, &v, &n);
    if (rc < 0)
        return rc;
    rc = -ENOENT;
    for (size_t i = 0; i < n && rc < 0; i++)
        if (v[i].version == want && v[i].value.len) {
            *ret = v[i];
            memset(&v[i], 0, sizeof(v[i]));
            rc = 0;
        }
    store_secrets_free(v, n);
    return rc;
}

/* Get-by-name of a secret the folder does not hold: the import blocks are
 * searched from the last to the first (the last import wins).  Replies unless
 * -ENOENT (no import has it). */
static int reply_imported(struct req *r, struct raw *w, const char *name, struct audit_event *e)
{
    struct import_block *b = NULL;
    size_t n = 0;
    json_t *arr = NULL;
    int ret = imports_resolve(r, &w->ctx, w->env, w->path, &b, &n);

    if (ret < 0) {
        http_fail_store(r, ret, "store failure reading imports");
        return ret;
    }
    ret = -ENOENT;
    for (size_t i = n; i-- > 0 && ret == -ENOENT;)
        for (size_t k = 0; k < b[i].n && ret == -ENOENT; k++)
            if (streq(b[i].secrets[k].key, name)) {
                struct sink out = {.arr = arr = json_array()};

                ret = append_secrets(r, w, &b[i].envs[k], &b[i].secrets[k], 1,
                                     flag(r, "viewSecretValue", true), &out);
                e->environment = b[i].envs[k]->slug;
                e->path = b[i].secrets[k].path;
                if (ret < 0)
                    http_fail(r, w->status ? w->status : 500, "%s", w->msg);
                else if ((ret = audit_defer(r, e)) == 0)
                    http_reply(r, 200, json_pack("{s:O}", "secret", json_array_get(arr, 0)));
            }
    json_decref(arr);
    import_blocks_free(b, n);
    return ret;
}

void api_raw_get(struct req *r)
{
    struct raw w = {0};
    struct store_secret sec = {0};
    const char *name = raw_name(r), *owner;
    struct audit_event e;
    json_t *o;
    int ret;

    long long version;

    if (!name || raw_owner(r, NULL, "read", &owner) < 0 ||
        req_query_int(r, "version", 1, INT64_MAX, 0, &version) < 0 || raw_open(r, NULL, &w) < 0)
        return;
    w.expand = flag(r, "expandSecretReferences", is_v4(r));
    w.strict = flag(r, "strictReferences", false);
    if (raw_allows(r, &w, AUTHZ_READ) < 0)
        goto out;
    ret = find_secret(r, &w, name, owner, req_query(r, "version"), &sec);
    e = raw_event(&w, "secret.read", name);
    if (ret == -ENOENT && !req_query(r, "version") && want_imports(r) &&
        reply_imported(r, &w, name, &e) != -ENOENT)
        goto out;
    if (ret == 0 && raw_sealed_to_owner(&sec)) {
        e.outcome = "failure";
        audit_defer(r, &e);
        http_fail(r, 404,
                  "Secret with name '%s' not found: your personal override of it is sealed to "
                  "you by arca's own client, and the server cannot read it",
                  name);
        goto out;
    }
    if (ret == -ENOENT) {
        e.outcome = "failure";
        audit_defer(r, &e);
        http_fail(r, 404, "Secret with name '%s' not found", name);
        goto out;
    }
    if (ret < 0) {
        http_fail_store(r, ret, "store failure reading a secret");
        goto out;
    }
    o = raw_json(r, &w, &sec, flag(r, "viewSecretValue", true));
    if (!o)
        http_fail(r, w.status ? w.status : 500, "%s", w.msg);
    else if (audit_defer(r, &e) < 0)
        json_decref(o);
    else
        http_reply(r, 200, json_pack("{s:o}", "secret", o));
out:
    store_secret_release(&sec);
    raw_release(&w);
}

int raw_normalize_value(const char *in, struct buf *out)
{
    size_t len = strlen(in), a = 0, b = len;
    int ret;

    while (a < b && isspace((unsigned char)in[a]))
        a++;
    while (b > a && isspace((unsigned char)in[b - 1]))
        b--;
    ret = buf_add(out, in + a, b - a);
    if (ret == 0 && len && in[len - 1] == '\n')
        ret = buf_addch(out, '\n');
    return ret;
}

int raw_seal(const struct raw *w, const char *key, const char *owner, const char *field,
             const char *plain, size_t len, struct buf *out)
{
    char f[SEAL_FIELD_MAX];
    struct seal_ad ad = {w->ctx.p.id, w->env->slug, w->path, key, f};

    if (seal_ad_field(owner, field, f, sizeof(f)) < 0)
        return -EINVAL;
    return seal_record_encrypt(w->key, &ad, plain, len, out);
}

bool raw_write_failed(struct req *r, int ret, const struct store_write *ws, size_t n)
{
    if (ret == -EEXIST) {
        http_fail(r, 400, "Secret already exist");
        return true;
    }
    for (size_t i = 0; ret == -ENOENT && i < n; i++)
        if (ws[i].owner && *ws[i].owner && ws[i].op != STORE_DELETE) {
            http_fail(r, 400,
                      "Failed to create personal secret override for no corresponding shared "
                      "secret");
            return true;
        }
    return false;
}

json_t *raw_written_json(struct req *r, struct raw *w, const struct store_write *ws, int64_t at,
                         bool show)
{
    struct store_secret sec = {
        .key = (char *)ws->key,
        .path = w->path,
        .version = ws->ret_version,
        .value = {(uint8_t *)ws->value, ws->value_len},
        .comment = {(uint8_t *)ws->comment, ws->comment ? ws->comment_len : 0},
        .updated_at = at};

    snprintf(sec.id, sizeof(sec.id), "%s", ws->ret_id);
    snprintf(sec.owner_id, sizeof(sec.owner_id), "%s", ws->owner ? ws->owner : "");
    return raw_json(r, w, &sec, show); /* borrows: nothing of sec to release */
}

bool raw_may_read(struct req *r, struct raw *w)
{
    return project_can(r, &w->ctx, AUTHZ_SECRETS, AUTHZ_READ, w->env->slug, w->path);
}

/* Writes the batch and replies {secret}: the last write (or gone, the secret a
 * delete removed), with its value only if the caller may read it, which is
 * then audited as a read too, in the write's transaction.  One event per
 * write. */
static void raw_commit(struct req *r, struct raw *w, struct store_write *ws, size_t n,
                       const char *event, const struct store_secret *gone)
{
    struct store_secret now = {0};
    struct audit_event ev[3];
    size_t n_ev = 0;
    int64_t at = now_ms();
    bool show = raw_may_read(r, w);
    json_t *o;
    int ret;

    for (size_t i = 0; i < n; i++) /* n <= 2: a rename is two writes */
        ev[n_ev++] = raw_event(w, ws[i].op == STORE_DELETE ? "secret.delete" : event, ws[i].key);
    if (show)
        ev[n_ev++] = raw_event(w, "secret.read", ws[n - 1].key);
    ret = audit_secrets_write(r, w->ctx.p.id, w->env->id, w->path, ws, n, at, ev, n_ev);
    if (raw_write_failed(r, ret, ws, n))
        return;
    if (ret == -ENOENT) {
        http_fail(r, 404, "Secret not found");
        return;
    }
    if (ret < 0) {
        http_fail_store(r, ret, "store failure writing a secret");
        return;
    }
    if (gone) {
        now = *gone;
        now.version = ws[0].ret_version;
        o = raw_json(r, w, &now, show);
        memset(&now, 0, sizeof(now));
    } else {
        o = raw_written_json(r, w, &ws[n - 1], at, show);
    }
    if (!o) {
        /* written and recorded all the same: the reply says what failed */
        if (!r->status)
            http_fail(r, 500, "cannot show secret '%s'", ws[n - 1].key);
    } else {
        http_reply(r, 200, json_pack("{s:o}", "secret", o));
    }
}

void api_raw_create(struct req *r)
{
    json_t *body = req_body_json(r);
    struct raw w = {0};
    _cleanup_buf_ struct buf plain = BUF_INIT, value = BUF_INIT, comment = BUF_INIT;
    struct store_write ws = {.op = STORE_CREATE};
    const char *name = raw_name(r), *v, *c = NULL, *owner;

    if (!body || !name || raw_owner(r, body, "create", &owner) < 0)
        return;
    if (wire_get_str(body, "secretValue", SERVER_VALUE_MAX, &v) < 0 ||
        wire_get_str_or(body, "secretComment", SERVER_VALUE_MAX, "", &c) < 0) {
        http_fail(r, 400,
                  "'secretValue' (at most %u bytes) is required; 'secretComment' must "
                  "be a string",
                  SERVER_VALUE_MAX);
        return;
    }
    if (raw_open(r, body, &w) < 0)
        return;
    if (raw_allows(r, &w, AUTHZ_CREATE) < 0)
        goto out;
    buf_init_secret(&plain, 0);
    if (raw_normalize_value(v, &plain) < 0 ||
        raw_seal(&w, name, owner, "value", plain.ptr ? plain.ptr : "", plain.len, &value) < 0 ||
        (*c && raw_seal(&w, name, owner, "comment", c, strlen(c), &comment) < 0)) {
        http_fail(r, 500, "cannot seal the value");
        goto out;
    }
    ws.key = name;
    ws.owner = owner;
    ws.value = (const uint8_t *)value.ptr;
    ws.value_len = value.len;
    ws.comment = comment.len ? (const uint8_t *)comment.ptr : NULL;
    ws.comment_len = comment.len;
    raw_commit(r, &w, &ws, 1, "secret.create", NULL);
out:
    raw_release(&w);
}

void api_raw_update(struct req *r)
{
    json_t *body = req_body_json(r);
    struct raw w = {0};
    struct store_secret cur = {0};
    _cleanup_buf_ struct buf plain = BUF_INIT, value = BUF_INIT, comment = BUF_INIT,
                             old_comment = BUF_INIT;
    struct store_write ws[2] = {{.op = STORE_UPDATE}, {.op = STORE_CREATE}};
    const char *name = raw_name(r), *v = NULL, *c = NULL, *rename = NULL, *target, *owner;
    int ret;

    if (!body || !name || raw_owner(r, body, "update", &owner) < 0)
        return;
    if (wire_get_str_or(body, "secretValue", SERVER_VALUE_MAX, NULL, &v) < 0 ||
        wire_get_str_or(body, "secretComment", SERVER_VALUE_MAX, NULL, &c) < 0 ||
        wire_get_str_or(body, "newSecretName", NAME_KEY_MAX, NULL, &rename) < 0 ||
        (rename && !name_key_valid(rename))) {
        http_fail(r, 400,
                  "'secretValue', 'secretComment' and 'newSecretName' must be strings "
                  "(a valid name)");
        return;
    }
    if (*owner && rename && !streq(rename, name)) {
        http_fail(r, 400, "Personal secrets cannot be renamed");
        return;
    }
    if (raw_open(r, body, &w) < 0)
        return;
    if (raw_allows(r, &w, AUTHZ_EDIT) < 0 ||
        (rename && (raw_allows(r, &w, AUTHZ_CREATE) < 0 || raw_allows(r, &w, AUTHZ_DELETE) < 0)))
        goto out;
    ret = r->srv->store->ops->secret_get_of(r->srv->store, w.env->id, w.path, name, owner, &cur);
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "Secret not found");
        goto out;
    }
    if (raw_refuse_sealed(r, &cur))
        goto out;
    target = rename && !streq(rename, name) ? rename : name;
    buf_init_secret(&plain, 0);
    buf_init_secret(&old_comment, 0);
    /* what is not given stays; a rename seals the old value under the new name */
    if (v)
        ret = raw_normalize_value(v, &plain);
    else
        ret = raw_open_field(&w, &cur, "value", &cur.value, &plain);
    if (ret == 0 && !c &&
        (ret = raw_open_field(&w, &cur, "comment", &cur.comment, &old_comment)) == 0)
        c = buf_str(&old_comment);
    if (ret < 0 ||
        raw_seal(&w, target, owner, "value", plain.ptr ? plain.ptr : "", plain.len, &value) < 0 ||
        (*c && raw_seal(&w, target, owner, "comment", c, strlen(c), &comment) < 0)) {
        http_fail(r, 500, "cannot seal the value of '%s'", name);
        goto out;
    }
    if (target == name) {
        ws[0].key = name;
        ws[0].owner = owner;
        ws[0].value = (const uint8_t *)value.ptr;
        ws[0].value_len = value.len;
        ws[0].comment = (const uint8_t *)(comment.len ? comment.ptr : "");
        ws[0].comment_len = comment.len;
        raw_commit(r, &w, ws, 1, "secret.update", NULL);
    } else {
        ws[0] = (struct store_write){.op = STORE_DELETE, .key = name};
        ws[1].key = target;
        ws[1].value = (const uint8_t *)value.ptr;
        ws[1].value_len = value.len;
        ws[1].comment = comment.len ? (const uint8_t *)comment.ptr : NULL;
        ws[1].comment_len = comment.len;
        raw_commit(r, &w, ws, 2, "secret.create", NULL);
    }
out:
    store_secret_release(&cur);
    raw_release(&w);
}

void api_raw_delete(struct req *r)
{
    json_t *body = r->body.len ? req_body_json(r) : NULL;
    struct raw w = {0};
    struct store_secret cur = {0};
    struct store_write ws = {.op = STORE_DELETE};
    const char *name = raw_name(r), *owner;
    int ret;

    if ((r->body.len && !body) || !name || raw_owner(r, body, "delete", &owner) < 0)
        return;
    if (raw_open(r, body, &w) < 0)
        return;
    if (raw_allows(r, &w, AUTHZ_DELETE) < 0)
        goto out;
    ret = r->srv->store->ops->secret_get_of(r->srv->store, w.env->id, w.path, name, owner, &cur);
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "Secret not found");
        goto out;
    }
    ws.key = name;
    ws.owner = owner;
    raw_commit(r, &w, &ws, 1, "secret.delete", &cur);
out:
    store_secret_release(&cur);
    raw_release(&w);
}
