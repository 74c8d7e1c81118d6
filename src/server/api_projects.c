/* api_projects.c - projects and their environments.  The membership check
 * every project route goes through (project_open) is in authz_project.c.
 *
 * A project is created by a client that made its project key and sealed it to
 * its own public key: the server stores that sealed copy on the membership and
 * hands it back to the member, and never sees the key itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "server.h"

static const struct {
    const char *slug, *name;
} default_envs[] = {
    {"dev", "Development"},
    {"staging", "Staging"},
    {"prod", "Production"},
};

int project_id_of_slug(struct req *r, const char *slug, char ret[STORE_ID_LEN + 1])
{
    struct store *s = r->srv->store;
    struct store_project *ps = NULL, one = {0};
    size_t n = 0, found = 0;
    int rc;

    if (r->who.kind == PRINCIPAL_SERVICE) {
        rc = s->ops->project_get(s, r->who.project_id, &one);
        ps = rc == 0 ? &one : NULL;
        n = rc == 0 ? 1 : 0;
    } else {
        rc = s->ops->project_list(s, r->who.id, &ps, &n);
    }
    if (rc < 0 && rc != -ENOENT) {
        http_fail_store(r, rc, "cannot list projects");
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        if (streq(ps[i].slug, slug)) {
            memcpy(ret, ps[i].id, STORE_ID_LEN + 1);
            found++;
        }
    if (ps == &one)
        store_project_release(&one);
    else
        store_projects_free(ps, n);
    if (found == 0) {
        /* not a member looks the same as no project */
        http_fail(r, 404, "project with slug '%.64s' not found", slug);
        return -ENOENT;
    }
    if (found > 1) {
        http_fail(r, 400,
                  "project slug '%.64s' names projects in several of your organizations: "
                  "use the project ID instead",
                  slug);
        return -EINVAL;
    }
    return 0;
}

json_t *project_json(const struct store_project *p)
{
    json_t *envs = json_array();

    for (size_t i = 0; i < p->n_envs; i++)
        json_array_append_new(envs, json_pack("{s:s, s:s, s:i}", "slug", p->envs[i].slug, "name",
                                              p->envs[i].name, "position", p->envs[i].position));
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b}", "id", p->id, "name", p->name, "slug",
                     p->slug, "organizationId", p->org_id, "createdAt", json_time(p->created_at),
                     "environments", envs, "serverAccess", p->server_key.len > 0);
}

void project_create_reply(struct req *r, struct store_project *p, const struct buf *wrapped,
                          unsigned dup_status, json_t *(*to_json)(const struct store_project *))
{
    struct store_env envs[ELEMENTSOF(default_envs)];
    struct store_member m = {0};
    json_t *meta;
    int ret;

    p->created_at = now_ms();
    for (size_t i = 0; i < ELEMENTSOF(default_envs); i++) {
        envs[i] = (struct store_env){.slug = (char *)default_envs[i].slug,
                                     .name = (char *)default_envs[i].name,
                                     .position = (int)i + 1};
        name_uuid(envs[i].id);
        memcpy(envs[i].project_id, p->id, sizeof(p->id));
    }
    p->envs = envs;
    p->n_envs = ELEMENTSOF(envs);
    memcpy(m.project_id, p->id, sizeof(p->id));
    memcpy(m.principal_id, r->who.id, sizeof(m.principal_id));
    strcpy(m.role, "admin");
    strcpy(m.principal_type, r->who.kind == PRINCIPAL_IDENTITY ? "identity" : "user");
    m.wrapped_key = (struct store_blob){(uint8_t *)wrapped->ptr, wrapped->len};
    m.created_at = p->created_at;

    ret = r->srv->store->ops->project_create(r->srv->store, p, &m);
    if (ret == -EEXIST)
        http_fail(r, dup_status, "a project with the slug '%s' already exists in this organization",
                  p->slug);
    else if (ret < 0)
        http_fail_store(r, ret, "store failure creating a project");
    if (ret < 0)
        goto out;
    meta = json_pack("{s:s, s:b}", "slug", p->slug, "serverAccess", p->server_key.len > 0);
    ret = audit_or_fail(r, &(struct audit_event){.event = "project.create",
                                                 .org_id = p->org_id,
                                                 .project_id = p->id,
                                                 .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200, json_pack("{s:o}", "project", to_json(p)));
out:
    p->envs = NULL;
    p->n_envs = 0;
}

void api_projects_create(struct req *r)
{
    json_t *body = req_body_json(r);
    _cleanup_buf_ struct buf wrapped = BUF_INIT;
    struct store_project p = {0};
    char slug[NAME_SLUG_MAX + 1];
    const char *name;

    if (!body)
        return;
    if (wire_get_str(body, "name", NAME_TITLE_MAX, &name) < 0 || !name_title_valid(name) ||
        name_slugify(name, slug, sizeof(slug)) < 0) {
        http_fail(r, 400,
                  "'name' must be a project name of 1 to %d characters with a letter "
                  "or digit",
                  NAME_TITLE_MAX);
        return;
    }
    if (req_b64_field(r, body, "encryptedProjectKey", SEAL_WRAPPED_BYTES, SEAL_WRAPPED_BYTES,
                      &wrapped) < 0 ||
        request_org_member(r, body, p.org_id) < 0)
        return;
    if (r->who.kind != PRINCIPAL_USER) {
        audit_denied(r, &(struct audit_event){.event = "permission.denied"});
        http_fail(r, 403, "only users can create projects");
        return;
    }
    name_uuid(p.id);
    p.name = (char *)name;
    p.slug = slug;
    project_create_reply(r, &p, &wrapped, 409, project_json);
}

void project_list_reply(struct req *r, const char *field,
                        json_t *(*to_json)(const struct store_project *))
{
    struct store_project *ps = NULL;
    size_t n = 0;
    json_t *arr;
    int ret = r->srv->store->ops->project_list(r->srv->store, r->who.id, &ps, &n);

    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing projects");
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, to_json(&ps[i]));
    store_projects_free(ps, n);
    http_reply(r, 200, json_pack("{s:o}", field, arr));
}

void api_projects_list(struct req *r)
{
    project_list_reply(r, "projects", project_json);
}

void api_projects_get(struct req *r)
{
    struct project_ctx ctx;

    if (project_open(r, req_param(r, 0), &ctx) < 0)
        return;
    if (r->who.kind == PRINCIPAL_SERVICE)
        http_reply(r, 200, json_pack("{s:o}", "project", project_json(&ctx.p)));
    else if (!ctx.m.wrapped_key.len ||
             audit_defer(r, &(struct audit_event){.event = "project.key.read",
                                                  .org_id = ctx.p.org_id,
                                                  .project_id = ctx.p.id}) == 0)
        /* the project key sealed to the caller: key material, audited */
        http_reply(r, 200,
                   json_pack("{s:o, s:{s:s, s:o}}", "project", project_json(&ctx.p), "membership",
                             "role", ctx.m.role, "encryptedProjectKey",
                             ctx.m.wrapped_key.len
                                 ? json_b64(ctx.m.wrapped_key.ptr, ctx.m.wrapped_key.len)
                                 : json_null()));
    project_release(&ctx);
}

void project_server_key_label(const char *project_id, char *out, size_t size)
{
    snprintf(out, size, "server-access:%s", project_id);
}

int project_seal_server_key(struct req *r, const char *project_id, const uint8_t *key,
                            struct buf *out)
{
    char label[64];

    project_server_key_label(project_id, label, sizeof(label));
    if (seal_box(r->srv->root_key, label, key, SEAL_KEY_BYTES, out) < 0) {
        http_fail(r, 500, "cannot seal the project key");
        return -EIO;
    }
    return 0;
}

int project_server_key(struct req *r, const struct project_ctx *ctx, uint8_t *ret)
{
    _cleanup_buf_ struct buf key = BUF_INIT;
    char label[64];

    if (ctx->p.server_key.len == 0) {
        http_fail(r, 400,
                  "project '%s' is end-to-end encrypted: these routes need server access "
                  "(a project admin can run 'arca projects update %s --server-access on')",
                  ctx->p.slug, ctx->p.id);
        return -EACCES;
    }
    buf_init_secret(&key, 0);
    project_server_key_label(ctx->p.id, label, sizeof(label));
    if (seal_unbox(r->srv->root_key, label, ctx->p.server_key.ptr, ctx->p.server_key.len, &key) <
            0 ||
        key.len != SEAL_KEY_BYTES) {
        http_fail(r, 500,
                  "the server-access key of project %s does not open with this "
                  "server's root key",
                  ctx->p.id);
        return -EBADMSG;
    }
    memcpy(ret, key.ptr, SEAL_KEY_BYTES);
    return 0;
}

/* Does key open the project's first stored record?  (true when there is none) */
static bool key_matches(struct req *r, const struct project_ctx *ctx, const uint8_t *key)
{
    struct store_version_ref *v = NULL;
    _cleanup_buf_ struct buf plain = BUF_INIT;
    size_t n = 0;
    bool ok = true;

    buf_init_secret(&plain, 0);
    if (r->srv->store->ops->project_versions(r->srv->store, ctx->p.id, &v, &n) < 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (v[i].value.len == 0 ||
            seal_record_kind(v[i].value.ptr, v[i].value.len) == SEAL_RECORD_OWNER)
            continue; /* a tombstone, or a personal override not under the project key */
        char field[SEAL_FIELD_MAX];
        struct seal_ad ad = {ctx->p.id, v[i].environment, v[i].path, v[i].key, field};
        ok = seal_ad_field(v[i].owner_id, "value", field, sizeof(field)) == 0 &&
             seal_record_decrypt(key, &ad, v[i].value.ptr, v[i].value.len, &plain) == 0;
        break;
    }
    store_version_refs_free(v, n);
    return ok;
}

/* DELETE /projects/:projectId (project admins: settings:delete): the project and
 * everything in it.  The audit log keeps its records. */
void api_projects_delete(struct req *r)
{
    struct project_ctx ctx;
    json_t *meta;
    int ret;

    if (project_open(r, req_param(r, 0), &ctx) < 0)
        return;
    if (project_allows(r, &ctx, AUTHZ_SETTINGS, AUTHZ_DELETE, NULL, NULL) < 0)
        goto out;
    ret = r->srv->store->ops->project_delete(r->srv->store, ctx.p.id);
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "cannot delete the project (%d)", ret);
        goto out;
    }
    meta = json_pack("{s:s, s:s}", "name", ctx.p.name, "slug", ctx.p.slug);
    ret = audit_or_fail(r, &(struct audit_event){.event = "project.delete",
                                                 .org_id = ctx.p.org_id,
                                                 .project_id = ctx.p.id,
                                                 .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200, json_object());
out:
    project_release(&ctx);
}

/* PATCH {name}: renames the project (settings:edit); its slug stays. */
static void project_rename(struct req *r, json_t *body)
{
    struct project_ctx ctx;
    const char *name;
    json_t *meta;
    int ret;

    if (wire_get_str(body, "name", NAME_TITLE_MAX, &name) < 0 || !name_title_valid(name)) {
        http_fail(r, 400, "'name' must be 1 to %d characters, no control characters",
                  NAME_TITLE_MAX);
        return;
    }
    if (project_open(r, req_param(r, 0), &ctx) < 0)
        return;
    if (project_allows(r, &ctx, AUTHZ_SETTINGS, AUTHZ_EDIT, NULL, NULL) < 0)
        goto out;
    ret = r->srv->store->ops->project_rename(r->srv->store, ctx.p.id, name);
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "cannot rename the project (%d)", ret);
        goto out;
    }
    free(ctx.p.name);
    ctx.p.name = strdup(name);
    meta = json_pack("{s:s}", "name", name);
    ret = audit_or_fail(r, &(struct audit_event){.event = "project.rename",
                                                 .org_id = ctx.p.org_id,
                                                 .project_id = ctx.p.id,
                                                 .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200, json_pack("{s:o}", "project", project_json(&ctx.p)));
out:
    project_release(&ctx);
}

void api_projects_update(struct req *r)
{
    json_t *body = req_body_json(r), *meta;
    struct project_ctx ctx;
    _cleanup_buf_ struct buf key = BUF_INIT, sealed = BUF_INIT;
    bool on;
    int ret;

    if (!body)
        return;
    if (json_object_get(body, "name") && !json_object_get(body, "serverAccess")) {
        project_rename(r, body);
        return;
    }
    if (wire_get_bool(body, "serverAccess", &on) < 0) {
        http_fail(r, 400, "'serverAccess' (true or false) or 'name' is required");
        return;
    }
    buf_init_secret(&key, 0);
    if (on && req_b64_field(r, body, "projectKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &key) < 0)
        return;
    if (project_open(r, req_param(r, 0), &ctx) < 0)
        return;
    if (project_allows(r, &ctx, AUTHZ_SETTINGS, AUTHZ_EDIT, NULL, NULL) < 0)
        goto out;
    if (on && !key_matches(r, &ctx, (const uint8_t *)key.ptr)) {
        http_fail(r, 400, "'projectKey' is not this project's key");
        goto out;
    }
    if (on && project_seal_server_key(r, ctx.p.id, (const uint8_t *)key.ptr, &sealed) < 0)
        goto out;
    ret = r->srv->store->ops->project_set_server_key(
        r->srv->store, ctx.p.id, on ? (const uint8_t *)sealed.ptr : NULL, on ? sealed.len : 0);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure updating the project");
        goto out;
    }
    store_blob_release(&ctx.p.server_key);
    if (on) {
        ctx.p.server_key.ptr = malloc(sealed.len);
        if (ctx.p.server_key.ptr) {
            memcpy(ctx.p.server_key.ptr, sealed.ptr, sealed.len);
            ctx.p.server_key.len = sealed.len;
        }
    }
    meta = json_pack("{s:b}", "serverAccess", on);
    ret = audit_or_fail(r, &(struct audit_event){.event = "project.server-access",
                                                 .org_id = ctx.p.org_id,
                                                 .project_id = ctx.p.id,
                                                 .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200, json_pack("{s:o}", "project", project_json(&ctx.p)));
out:
    project_release(&ctx);
}
