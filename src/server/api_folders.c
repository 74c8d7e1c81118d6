/* api_folders.c - folders and secret imports: Infisical's /api/v1|v2/folders
 * and /api/v1/secret-imports, and arca's own /projects/:id/folders|imports
 * (same handlers, same JSON; only where the project id comes from differs).
 *
 * A folder is an (environment, path) row of the store; writing a secret
 * creates the rows of its path, deleting a folder tombstones the secrets below
 * it.  Folders cannot be renamed: the values of end-to-end encrypted records
 * are bound to their path (associated data), so a rename would break them.
 *
 * An import makes a folder see the shared secrets of another (environment,
 * path) below its own.  imports_resolve turns a folder's imports into the
 * blocks the list routes return: one per import the caller may read, each the
 * source's secrets followed by those of its own imports (nested up to
 * IMPORT_DEPTH_MAX, each folder once per block, last import first; the first
 * occurrence of a key wins inside a block).  Permissions: folders need the
 * "folders" subject; creating an import also needs "secrets read" on the
 * source, and a block is only served to a caller who may read its source,
 * whoever the caller is (service tokens included). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "server.h"

#define IMPORTS_PER_FOLDER_MAX 20
#define IMPORT_DEPTH_MAX 10
#define IMPORT_LAYERS_MAX 200 /* folders merged into one block */
#define FOLDER_NAME_MAX 64

/* The project, environment and folder path a request is about. */
struct fscope {
    struct project_ctx ctx;
    const struct store_env *env; /* BORROWED from ctx.p */
    char path[NAME_PATH_MAX + 1];
};

static bool is_native(struct req *r)
{
    return startswith(r->path, "/api/arca/");
}

/* The request's JSON body, or NULL (replied 400) when the method has one and it
 * is malformed; *ok tells the two apart. */
static json_t *body_of(struct req *r, bool *ok)
{
    *ok = true;
    if (streq(r->method, "GET") || (streq(r->method, "DELETE") && r->body.len == 0))
        return NULL;
    json_t *b = req_body_json(r);
    *ok = b != NULL;
    return b;
}

const struct store_env *env_by_slug(const struct store_project *p, const char *slug)
{
    for (size_t i = 0; slug && i < p->n_envs; i++)
        if (streq(p->envs[i].slug, slug))
            return &p->envs[i];
    return NULL;
}

static const struct store_env *env_by_id(const struct store_project *p, const char *id)
{
    for (size_t i = 0; i < p->n_envs; i++)
        if (streq(p->envs[i].id, id))
            return &p->envs[i];
    return NULL;
}

/* Opens the project of the request (project_id, or the route's), its
 * environment and the folder path (path, else directory, else "/").
 * Replies and returns < 0 on failure. */
static int fscope_open(struct req *r, const json_t *body, const char *project_id, struct fscope *s)
{
    const char *env, *path, *dir;
    const char *pid_name = startswith(r->path, "/api/v2/") ? "projectId" : "workspaceId";

    if (req_arg(r, body, "environment", NAME_PATH_MAX, &env) < 0 ||
        req_arg(r, body, "path", NAME_PATH_MAX, &path) < 0 ||
        req_arg(r, body, "directory", NAME_PATH_MAX, &dir) < 0)
        return -EINVAL;
    if (!project_id && is_native(r))
        project_id = req_param(r, 0);
    else if (!project_id && req_arg(r, body, pid_name, NAME_PATH_MAX, &project_id) < 0)
        return -EINVAL;
    if (!project_id && r->who.kind == PRINCIPAL_SERVICE)
        project_id = r->who.project_id;
    if (!path || !*path)
        path = dir;
    if (!project_id || !env) {
        http_fail(r, 400, "Missing project id or environment");
        return -EINVAL;
    }
    if (name_path_normalize(path && *path ? path : "/", s->path, sizeof(s->path)) < 0) {
        http_fail(r, 400,
                  "'path' must be an absolute folder path such as /app/api (at most %d "
                  "segments of letters, digits, '.', '_' and '-')",
                  NAME_PATH_DEPTH);
        return -EINVAL;
    }
    if (project_open(r, project_id, &s->ctx) < 0)
        return -ENOENT;
    s->env = env_by_slug(&s->ctx.p, env);
    if (!s->env) {
        http_fail(r, 404, "Environment with slug '%.64s' in project with ID %s not found", env,
                  s->ctx.p.id);
        project_release(&s->ctx);
        return -ENOENT;
    }
    return 0;
}

/* Seeing a folder's contents (sub-folders, imports) takes "folders read" or
 * "secrets describe" there; replies 403 (and audits) without either. */
static int fscope_can_see(struct req *r, struct fscope *s, const char *path)
{
    if (project_can(r, &s->ctx, AUTHZ_SECRETS, AUTHZ_DESCRIBE, s->env->slug, path))
        return 0;
    return project_allows(r, &s->ctx, AUTHZ_FOLDERS, AUTHZ_READ, s->env->slug, path);
}

static struct audit_event fscope_event(const struct fscope *s, const char *event, const char *path)
{
    return (struct audit_event){.event = event,
                                .org_id = s->ctx.p.org_id,
                                .project_id = s->ctx.p.id,
                                .environment = s->env->slug,
                                .path = path};
}

/* The last segment of a canonical path ("" for the root). */
static const char *path_name(const char *path)
{
    return strrchr(path, '/') + 1;
}

static json_t *folder_json(struct req *r, const struct fscope *s, const struct store_folder *f,
                           bool detail)
{
    struct store_folder parent = {0};
    char ppath[NAME_PATH_MAX + 1];
    const char *name = path_name(f->path);
    json_t *o;

    snprintf(ppath, sizeof(ppath), "%.*s", (int)(name - f->path > 1 ? name - f->path - 1 : 1),
             f->path);
    if (!streq(f->path, "/"))
        r->srv->store->ops->folder_find(r->srv->store, f->env_id, ppath, &parent);
    o = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:s?, s:b, s:n, s:s}", "id", f->id, "name",
                  *name ? name : "root", "envId", f->env_id, "version", 1, "createdAt",
                  json_time(f->created_at), "updatedAt", json_time(f->created_at), "parentId",
                  parent.id[0] ? parent.id : NULL, "isReserved", 0, "description", "path", f->path);
    store_folder_release(&parent);
    if (o && detail)
        json_object_update_new(o, json_pack("{s:{s:s, s:s, s:s}, s:s}", "environment", "envId",
                                            s->env->id, "envName", s->env->name, "envSlug",
                                            s->env->slug, "projectId", s->ctx.p.id));
    return o;
}

void api_folders_list(struct req *r)
{
    struct fscope s = {0};
    struct store_folder *v = NULL;
    size_t n = 0;
    bool ok, recursive;
    json_t *body = body_of(r, &ok), *arr;
    int ret;

    if (!ok || req_query_bool(r, "recursive", false, &recursive) < 0 ||
        fscope_open(r, body, NULL, &s) < 0)
        return;
    if (fscope_can_see(r, &s, s.path) < 0)
        goto out;
    ret = r->srv->store->ops->folder_list(r->srv->store, s.env->id, s.path, recursive, &v, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing folders");
        goto out;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        if (project_can(r, &s.ctx, AUTHZ_FOLDERS, AUTHZ_READ, s.env->slug, v[i].path) ||
            project_can(r, &s.ctx, AUTHZ_SECRETS, AUTHZ_DESCRIBE, s.env->slug, v[i].path))
            json_array_append_new(arr, folder_json(r, &s, &v[i], false));
    http_reply(r, 200, json_pack("{s:o}", "folders", arr));
out:
    store_folders_free(v, n);
    project_release(&s.ctx);
}

void api_folders_create(struct req *r)
{
    json_t *body = req_body_json(r);
    struct fscope s = {0};
    struct store_folder f = {0};
    char path[NAME_PATH_MAX + FOLDER_NAME_MAX + 2];
    const char *name = NULL;
    struct audit_event e;
    bool created = false;
    int ret;

    if (!body)
        return;
    if (wire_get_str(body, "name", FOLDER_NAME_MAX, &name) < 0 || !*name ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
            strlen(name)) {
        http_fail(r, 400,
                  "'name' must be 1 to %d letters, digits, '-' and '_' (a folder name, not a "
                  "path)",
                  FOLDER_NAME_MAX);
        return;
    }
    if (fscope_open(r, body, NULL, &s) < 0)
        return;
    snprintf(path, sizeof(path), "%s/%s", streq(s.path, "/") ? "" : s.path, name);
    if (name_path_normalize(path, s.path, sizeof(s.path)) < 0) {
        http_fail(r, 400, "the folder path would be too long or too deep (at most %d segments)",
                  NAME_PATH_DEPTH);
        goto out;
    }
    if (project_allows(r, &s.ctx, AUTHZ_FOLDERS, AUTHZ_CREATE, s.env->slug, s.path) < 0)
        goto out;
    ret = r->srv->store->ops->folder_create(r->srv->store, s.ctx.p.id, s.env->id, s.path, now_ms(),
                                            &f, &created);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure creating a folder");
        goto out;
    }
    e = fscope_event(&s, "folder.create", s.path);
    if (!created || audit_or_fail(r, &e) == 0)
        http_reply(r, 200, json_pack("{s:o}", "folder", folder_json(r, &s, &f, false)));
out:
    store_folder_release(&f);
    project_release(&s.ctx);
}

/* Opens the folder named by the route's last parameter (an id, or a name in the
 * request's folder) with its project.  Replies and returns < 0 on failure (f
 * and s then hold nothing). */
static int folder_open(struct req *r, const json_t *body, struct fscope *s, struct store_folder *f)
{
    const char *idn = req_param(r, r->n_params - 1);
    int ret;

    if (name_uuid_valid(idn) && r->srv->store->ops->folder_get(r->srv->store, idn, f) == 0) {
        if (project_open(r, f->project_id, &s->ctx) < 0) {
            store_folder_release(f);
            return -ENOENT;
        }
        s->env = env_by_id(&s->ctx.p, f->env_id);
        snprintf(s->path, sizeof(s->path), "%s", f->path);
        if (s->env)
            return 0;
        project_release(&s->ctx);
    } else if (body || !name_uuid_valid(idn)) {
        char path[NAME_PATH_MAX + FOLDER_NAME_MAX + 2];

        if (fscope_open(r, body, NULL, s) < 0)
            return -ENOENT;
        snprintf(path, sizeof(path), "%s/%s", streq(s->path, "/") ? "" : s->path, idn);
        ret = name_path_normalize(path, s->path, sizeof(s->path));
        if (ret == 0)
            ret = r->srv->store->ops->folder_find(r->srv->store, s->env->id, s->path, f);
        if (ret == 0 && !streq(f->path, "/"))
            return 0;
        project_release(&s->ctx);
    }
    store_folder_release(f);
    http_fail(r, 404, "Folder with id or name '%.64s' not found", idn);
    return -ENOENT;
}

void api_folders_get(struct req *r)
{
    struct fscope s = {0};
    struct store_folder f = {0};

    if (folder_open(r, NULL, &s, &f) < 0)
        return;
    if (fscope_can_see(r, &s, s.path) == 0)
        http_reply(r, 200, json_pack("{s:o}", "folder", folder_json(r, &s, &f, true)));
    store_folder_release(&f);
    project_release(&s.ctx);
}

void api_folders_rename(struct req *r)
{
    http_fail(r, 400,
              "folders cannot be renamed or moved on this server: end-to-end encrypted values "
              "are bound to their path; create a new folder and copy the secrets");
}

void api_folders_delete(struct req *r)
{
    struct fscope s = {0};
    struct store_folder f = {0}, *v = NULL;
    size_t n = 0, n_secrets = 0;
    bool ok;
    json_t *body = body_of(r, &ok), *meta;
    struct audit_event e;
    int ret;

    if (!ok || folder_open(r, body, &s, &f) < 0)
        return;
    /* everything below goes: each folder's secrets must be deletable */
    ret = r->srv->store->ops->folder_list(r->srv->store, s.env->id, s.path, true, &v, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing folders");
        goto out;
    }
    if (project_allows(r, &s.ctx, AUTHZ_FOLDERS, AUTHZ_DELETE, s.env->slug, s.path) < 0 ||
        project_allows(r, &s.ctx, AUTHZ_SECRETS, AUTHZ_DELETE, s.env->slug, s.path) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (project_allows(r, &s.ctx, AUTHZ_SECRETS, AUTHZ_DELETE, s.env->slug, v[i].path) < 0)
            goto out;
    ret = r->srv->store->ops->folder_delete(r->srv->store, s.env->id, s.path, r->who.id, now_ms(),
                                            &n_secrets);
    if (ret < 0) {
        http_fail_store(r, ret, "cannot delete folder '%s'", s.path);
        goto out;
    }
    e = fscope_event(&s, "folder.delete", s.path);
    meta = json_pack("{s:I, s:I}", "folders", (json_int_t)n + 1, "secrets", (json_int_t)n_secrets);
    e.metadata = meta;
    ret = audit_or_fail(r, &e);
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200, json_pack("{s:o}", "folder", folder_json(r, &s, &f, false)));
out:
    store_folders_free(v, n);
    store_folder_release(&f);
    project_release(&s.ctx);
}

/* ---- imports ---- */

static json_t *import_json(struct req *r, const struct fscope *s, const struct store_import *imp)
{
    const struct store_env *src = env_by_id(&s->ctx.p, imp->import_env_id);
    struct store_folder f = {0};
    json_t *o;

    r->srv->store->ops->folder_find(r->srv->store, imp->env_id, imp->path, &f);
    o = json_pack("{s:s, s:i, s:s, s:{s:s, s:s, s:s}, s:I, s:s, s:b, s:n, s:n, s:n, s:b, s:o, "
                  "s:o, s:s, s:s}",
                  "id", imp->id, "version", 1, "importPath", imp->import_path, "importEnv", "id",
                  imp->import_env_id, "name", src ? src->name : "", "slug", src ? src->slug : "",
                  "position", (json_int_t)imp->position, "folderId", f.id, "isReplication", 0,
                  "isReplicationSuccess", "replicationStatus", "lastReplicated", "isReserved", 0,
                  "createdAt", json_time(imp->created_at), "updatedAt", json_time(imp->created_at),
                  "environment", s->env->slug, "path", imp->path);
    store_folder_release(&f);
    return o;
}

static void import_reply(struct req *r, const struct fscope *s, const struct store_import *imp,
                         const char *message)
{
    http_reply(r, 200,
               json_pack("{s:s, s:o}", "message", message, "secretImport", import_json(r, s, imp)));
}

static struct audit_event import_event(const struct fscope *s, const char *event,
                                       const struct store_import *imp, json_t **meta)
{
    const struct store_env *src = env_by_id(&s->ctx.p, imp->import_env_id);
    struct audit_event e = fscope_event(s, event, imp->path);

    *meta = json_pack("{s:s, s:s, s:s}", "id", imp->id, "importEnvironment", src ? src->slug : "",
                      "importPath", imp->import_path);
    e.metadata = *meta;
    return e;
}

/* Audits event about imp, then replies with it. */
static void import_done(struct req *r, const struct fscope *s, const char *event,
                        const struct store_import *imp, const char *message)
{
    json_t *meta = NULL;
    struct audit_event e = import_event(s, event, imp, &meta);
    int ret = audit_or_fail(r, &e);

    json_decref(meta);
    if (ret == 0)
        import_reply(r, s, imp, message);
}

void api_imports_create(struct req *r)
{
    json_t *body = req_body_json(r), *src = NULL;
    struct fscope s = {0};
    struct store_import imp = {0};
    const struct store_env *from;
    const char *fenv = NULL, *fpath = NULL;
    char path[NAME_PATH_MAX + 1];
    bool repl = false;
    int ret;

    if (!body)
        return;
    if (wire_get_bool(body, "isReplication", &repl) == -EINVAL || repl) {
        http_fail(r, 400,
                  "replication imports are not supported by this server; 'isReplication' "
                  "must be false");
        return;
    }
    if (wire_get_obj(body, "import", &src) < 0 ||
        wire_get_str(src, "environment", NAME_SLUG_MAX, &fenv) < 0 ||
        wire_get_str_or(src, "path", NAME_PATH_MAX, "/", &fpath) < 0 ||
        name_path_normalize(fpath, path, sizeof(path)) < 0) {
        http_fail(r, 400, "'import' must be {environment, path} with an absolute folder path");
        return;
    }
    if (fscope_open(r, body, NULL, &s) < 0)
        return;
    from = env_by_slug(&s.ctx.p, fenv);
    if (!from) {
        http_fail(r, 404, "Environment with slug '%.64s' in project with ID %s not found", fenv,
                  s.ctx.p.id);
        goto out;
    }
    if (from == s.env && streq(path, s.path)) {
        http_fail(r, 400, "a folder cannot import itself");
        goto out;
    }
    /* an import must not let anyone see what they cannot read */
    if (project_allows(r, &s.ctx, AUTHZ_FOLDERS, AUTHZ_EDIT, s.env->slug, s.path) < 0 ||
        project_allows(r, &s.ctx, AUTHZ_SECRETS, AUTHZ_READ, from->slug, path) < 0)
        goto out;
    name_uuid(imp.id);
    memcpy(imp.project_id, s.ctx.p.id, sizeof(imp.project_id));
    memcpy(imp.env_id, s.env->id, sizeof(imp.env_id));
    memcpy(imp.import_env_id, from->id, sizeof(imp.import_env_id));
    memcpy(imp.created_by, r->who.id, sizeof(imp.created_by));
    imp.path = s.path;
    imp.import_path = path;
    imp.created_at = now_ms();
    ret = r->srv->store->ops->import_create(r->srv->store, &imp, IMPORTS_PER_FOLDER_MAX);
    if (ret == -EEXIST)
        http_fail(r, 400, "Secret import already exists: %s:%s imports %s:%s", s.env->slug, s.path,
                  from->slug, path);
    else if (ret == -E2BIG)
        http_fail(r, 400, "a folder has at most %d imports", IMPORTS_PER_FOLDER_MAX);
    else if (ret < 0)
        http_fail_store(r, ret, "store failure creating an import");
    else
        import_done(r, &s, "import.create", &imp, "Successfully created secret import");
out:
    project_release(&s.ctx);
}

void api_imports_list(struct req *r)
{
    struct fscope s = {0};
    struct store_import *v = NULL;
    size_t n = 0;
    json_t *arr;
    int ret;

    if (fscope_open(r, NULL, NULL, &s) < 0)
        return;
    if (fscope_can_see(r, &s, s.path) < 0)
        goto out;
    ret = r->srv->store->ops->import_list(r->srv->store, s.env->id, s.path, &v, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing imports");
        goto out;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, import_json(r, &s, &v[i]));
    http_reply(r, 200,
               json_pack("{s:s, s:o}", "message", "Successfully fetched secret imports",
                         "secretImports", arr));
out:
    store_imports_free(v, n);
    project_release(&s.ctx);
}

/* Opens the import of the route's last parameter, its project and folder, and
 * checks "folders edit" there.  Replies and returns < 0 on failure. */
static int import_open(struct req *r, struct fscope *s, struct store_import *imp)
{
    const char *id = req_param(r, r->n_params - 1);

    if (!name_uuid_valid(id) || r->srv->store->ops->import_get(r->srv->store, id, imp) < 0 ||
        (is_native(r) && !streq(req_param(r, 0), imp->project_id))) {
        http_fail(r, 404, "Secret import with id '%.64s' not found", id);
        return -ENOENT;
    }
    if (project_open(r, imp->project_id, &s->ctx) < 0)
        return -ENOENT;
    s->env = env_by_id(&s->ctx.p, imp->env_id);
    snprintf(s->path, sizeof(s->path), "%s", imp->path);
    if (!s->env) {
        http_fail(r, 404, "Secret import with id '%.64s' not found", id);
        return -ENOENT;
    }
    return project_allows(r, &s->ctx, AUTHZ_FOLDERS, AUTHZ_EDIT, s->env->slug, s->path);
}

void api_imports_update(struct req *r)
{
    json_t *body = req_body_json(r), *src = NULL;
    struct fscope s = {0};
    struct store_import imp = {0}, now = {0};
    long long pos;
    int ret;

    if (!body)
        return;
    if (wire_get_obj(body, "import", &src) < 0 || wire_get_int(src, "position", &pos) < 0 ||
        pos < 1 || json_object_get(src, "environment") || json_object_get(src, "path")) {
        http_fail(r, 400,
                  "'import' must be {position} (1, 2, ...): an import's source cannot "
                  "change; delete it and create another");
        return;
    }
    if (import_open(r, &s, &imp) < 0)
        goto out;
    ret = r->srv->store->ops->import_move(r->srv->store, imp.id, pos);
    if (ret == 0)
        ret = r->srv->store->ops->import_get(r->srv->store, imp.id, &now);
    if (ret < 0)
        http_fail_store(r, ret, "cannot move the import");
    else
        import_done(r, &s, "import.update", &now, "Successfully updated secret import");
out:
    store_import_release(&now);
    store_import_release(&imp);
    project_release(&s.ctx);
}

void api_imports_delete(struct req *r)
{
    struct fscope s = {0};
    struct store_import imp = {0};
    int ret;

    if (import_open(r, &s, &imp) < 0)
        goto out;
    ret = r->srv->store->ops->import_delete(r->srv->store, imp.id);
    if (ret < 0)
        http_fail_store(r, ret, "cannot delete the import");
    else
        import_done(r, &s, "import.delete", &imp, "Successfully deleted secret import");
out:
    store_import_release(&imp);
    project_release(&s.ctx);
}

/* ---- resolving imports for the list routes ---- */

struct layer {
    const struct store_env *env;
    char *path; /* OWNED */
};

/* Appends the folder (env, path), if the caller may read it, then its imports
 * from the last to the first, depth first; each folder once per block. */
static int add_layers(struct req *r, struct project_ctx *ctx, const struct store_env *env,
                      const char *path, int depth, struct layer *v, size_t *n)
{
    struct store_import *imp = NULL;
    size_t n_imp = 0;
    int ret;

    if (depth > IMPORT_DEPTH_MAX || *n == IMPORT_LAYERS_MAX ||
        !project_can(r, ctx, AUTHZ_SECRETS, AUTHZ_READ, env->slug, path))
        return 0;
    for (size_t i = 0; i < *n; i++)
        if (v[i].env == env && streq(v[i].path, path))
            return 0; /* a cycle, or a folder already in the block */
    v[*n].env = env;
    v[*n].path = strdup(path);
    if (!v[*n].path)
        return -ENOMEM;
    (*n)++;
    ret = r->srv->store->ops->import_list(r->srv->store, env->id, path, &imp, &n_imp);
    for (size_t i = n_imp; ret == 0 && i-- > 0;) {
        const struct store_env *e = env_by_id(&ctx->p, imp[i].import_env_id);
        if (e)
            ret = add_layers(r, ctx, e, imp[i].import_path, depth + 1, v, n);
    }
    store_imports_free(imp, n_imp);
    return ret;
}

/* Fills b with the merged secrets of its layers v[0..n). */
static int block_fill(struct req *r, struct import_block *b, struct layer *v, size_t n)
{
    for (size_t l = 0; l < n; l++) {
        struct store_secret *s = NULL;
        size_t n_s = 0;
        int ret =
            r->srv->store->ops->secrets_list(r->srv->store, v[l].env->id, v[l].path, &s, &n_s);
        if (ret < 0)
            return ret;
        for (size_t i = 0; i < n_s; i++) {
            bool seen = false;
            for (size_t k = 0; k < b->n && !seen; k++)
                seen = streq(b->secrets[k].key, s[i].key);
            if (seen)
                continue;
            void *p = realloc(b->secrets, (b->n + 1) * sizeof(*b->secrets));
            void *q = p ? realloc(b->envs, (b->n + 1) * sizeof(*b->envs)) : NULL;
            if (p)
                b->secrets = p;
            if (q)
                b->envs = q;
            if (!p || !q) {
                store_secrets_free(s, n_s);
                return -ENOMEM;
            }
            b->envs[b->n] = v[l].env;
            b->secrets[b->n++] = s[i];
            memset(&s[i], 0, sizeof(s[i]));
        }
        store_secrets_free(s, n_s);
    }
    return 0;
}

int imports_resolve(struct req *r, struct project_ctx *ctx, const struct store_env *env,
                    const char *path, struct import_block **ret, size_t *ret_n)
{
    struct store_import *imp = NULL;
    struct import_block *b = NULL;
    struct layer *v = NULL;
    size_t n_imp = 0, n = 0;
    int ret_code;

    ret_code = r->srv->store->ops->import_list(r->srv->store, env->id, path, &imp, &n_imp);
    if (ret_code == 0 && n_imp) {
        b = calloc(n_imp, sizeof(*b));
        v = calloc(IMPORT_LAYERS_MAX, sizeof(*v));
        if (!b || !v)
            ret_code = -ENOMEM;
    }
    for (size_t i = 0; ret_code == 0 && i < n_imp; i++) {
        const struct store_env *e = env_by_id(&ctx->p, imp[i].import_env_id);
        struct store_folder f = {0};
        size_t n_v = 1;

        if (!e)
            continue;
        /* the destination is the first layer, so that a cycle back to it stops */
        v[0] = (struct layer){env, (char *)path};
        ret_code = add_layers(r, ctx, e, imp[i].import_path, 1, v, &n_v);
        if (ret_code == 0 && n_v > 1) {
            b[n].env = e;
            snprintf(b[n].path, sizeof(b[n].path), "%s", imp[i].import_path);
            r->srv->store->ops->folder_find(r->srv->store, e->id, b[n].path, &f);
            memcpy(b[n].folder_id, f.id, sizeof(b[n].folder_id));
            store_folder_release(&f);
            ret_code = block_fill(r, &b[n++], v + 1, n_v - 1);
        }
        for (size_t k = 1; k < n_v; k++)
            free(v[k].path);
    }
    free(v);
    store_imports_free(imp, n_imp);
    if (ret_code < 0) {
        import_blocks_free(b, n);
        return ret_code;
    }
    *ret = b;
    *ret_n = n;
    return 0;
}

void import_blocks_free(struct import_block *b, size_t n)
{
    if (!b)
        return;
    for (size_t i = 0; i < n; i++) {
        store_secrets_free(b[i].secrets, b[i].n);
        free(b[i].envs);
    }
    free(b);
}
