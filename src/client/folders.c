/* folders.c - folders and secret imports of a project (arca folders ...,
 * arca imports ...): thin calls to /projects/<id>/folders and /imports.
 * Nothing here is secret: folder paths and import sources are names. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/wire.h"
#include "client.h"
#include "transport.h"

/* Appends /projects/<id><suffix>[/<segment>]?environment=<env>&path=<path>. */
static int scope_route(struct arca *a, const struct client_scope *s, const char *suffix,
                       const char *segment, struct buf *out)
{
    int r = client_project_path(a, s->project_id, suffix, out);

    if (r >= 0 && segment && (r = buf_addch(out, '/')) >= 0)
        r = transport_escape(a, segment, out);
    if (r >= 0)
        r = buf_adds(out, "?environment=");
    if (r >= 0)
        r = transport_escape(a, s->environment, out);
    if (r >= 0)
        r = buf_adds(out, "&path=");
    if (r >= 0)
        r = transport_escape(a, s->path, out);
    return r < 0 ? client_error(a, r, "out of memory") : 0;
}

/* POSTs body (TAKES it; NULL: out of memory) to path and parses answer[key]
 * into a new record (*ret optional: NULL to drop it). */
static int post_item(struct arca *a, const char *path, json_t *body, const char *key,
                     const struct client_record *rec, void **ret)
{
    _cleanup_json_ json_t *answer = NULL, *b = body;
    json_t *o;
    void *item = NULL;
    int r;

    if (!b)
        return client_error(a, -ENOMEM, "out of memory");
    if ((r = transport_call(a, "POST", path, b, &answer, NULL)) < 0 ||
        (r = client_answer_obj(a, answer, key, &o)) < 0 ||
        (r = client_record_new(a, rec, o, &item)) < 0)
        return r;
    if (ret)
        *ret = item;
    else
        client_record_free(rec, item);
    return 0;
}

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_folder, field, kind, key, max)
static const struct client_field folder_fields[] = {
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    F(name, CF_STR, "name", CLIENT_STRING_MAX),
    F(path, CF_STR, "path", CLIENT_STRING_MAX),
    F(created_at, CF_STR, "createdAt", CLIENT_STRING_MAX),
};
#undef F
static const struct client_record rec_folder =
    CLIENT_RECORD(struct arca_folder, "folder", folder_fields);

CLIENT_FREE_ARRAY(arca_folders_free, struct arca_folder, rec_folder)

int arca_folders_list(struct arca *a, const struct arca_scope *scope, int recursive,
                      struct arca_folder **ret, size_t *ret_n)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    int r;

    if ((r = client_scope_begin(a, scope, NULL, &s)) < 0 ||
        (r = scope_route(a, &s, "/folders", NULL, &path)) < 0)
        return r;
    if (recursive && buf_adds(&path, "&recursive=true") < 0)
        return client_error(a, -ENOMEM, "out of memory");
    return client_get_items(a, path.ptr, "folders", &rec_folder, (void **)ret, ret_n);
}

int arca_folder_create(struct arca *a, const struct arca_scope *parent, const char *name,
                       struct arca_folder **ret)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    int r;

    if ((r = client_scope_begin(a, parent, NULL, &s)) < 0 ||
        (r = client_project_path(a, s.project_id, "/folders", &path)) < 0)
        return r;
    return post_item(a, path.ptr,
                     json_pack("{s:s, s:s, s:s}", "environment", s.environment, "path", s.path,
                               "name", name ? name : ""),
                     "folder", &rec_folder, (void **)ret);
}

int arca_folder_delete(struct arca *a, const struct arca_scope *folder)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    char *slash;
    int r;

    if ((r = client_scope_begin(a, folder, NULL, &s)) < 0)
        return r;
    if (streq(s.path, "/"))
        return client_error(a, -EINVAL, "the root folder '/' cannot be deleted");
    /* the server deletes a folder by name within its parent */
    slash = strrchr(s.path, '/');
    *slash = 0;
    {
        struct client_scope parent = s;
        snprintf(parent.path, sizeof(parent.path), "%s", *s.path ? s.path : "/");
        r = scope_route(a, &parent, "/folders", slash + 1, &path);
    }
    if (r < 0)
        return r;
    return transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
}

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_import, field, kind, key, max)
static const struct client_field import_fields[] = {
    {.key = "importEnv", .kind = CF_OBJ},
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    {.key = "slug",
     .in = "importEnv",
     .kind = CF_STR,
     .off = offsetof(struct arca_import, environment),
     .max = CLIENT_STRING_MAX},
    F(path, CF_STR, "importPath", CLIENT_STRING_MAX),
    F(position, CF_INT, "position", 0),
};
#undef F
static const struct client_record rec_import =
    CLIENT_RECORD(struct arca_import, "import", import_fields);

CLIENT_FREE_ARRAY(arca_imports_free, struct arca_import, rec_import)

int arca_imports_list(struct arca *a, const struct arca_scope *scope, struct arca_import **ret,
                      size_t *ret_n)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    int r;

    if ((r = client_scope_begin(a, scope, NULL, &s)) < 0 ||
        (r = scope_route(a, &s, "/imports", NULL, &path)) < 0)
        return r;
    return client_get_items(a, path.ptr, "secretImports", &rec_import, (void **)ret, ret_n);
}

int arca_import_add(struct arca *a, const struct arca_scope *scope, const char *from_env,
                    const char *from_path, struct arca_import **ret)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    int r;

    if ((r = client_scope_begin(a, scope, NULL, &s)) < 0 ||
        (r = client_project_path(a, s.project_id, "/imports", &path)) < 0)
        return r;
    return post_item(a, path.ptr,
                     json_pack("{s:s, s:s, s:{s:s, s:s}}", "environment", s.environment, "path",
                               s.path, "import", "environment", from_env ? from_env : "", "path",
                               from_path ? from_path : "/"),
                     "secretImport", &rec_import, (void **)ret);
}

int arca_import_remove(struct arca *a, const char *project_id, const char *import_id)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r;

    if ((r = client_require_project(a, project_id)) < 0)
        return r;
    if (!import_id || !*import_id)
        return client_error(a, -EINVAL, "no import id given (see 'arca imports list')");
    if ((r = client_project_path(a, project_id, "/imports/", &path)) < 0)
        return r;
    if (transport_escape(a, import_id, &path) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    return transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
}
