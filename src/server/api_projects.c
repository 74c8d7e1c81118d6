/* api_projects.c - projects and their environments, and the membership check
 * every project route goes through (project_open).
 *
 * A project is created by a client that made its project key and sealed it to
 * its own public key: the server stores that sealed copy on the membership and
 * hands it back to the member, and never sees the key itself. */
#include <errno.h>
#include <string.h>

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

/* What each built-in role may do with secrets. */
bool role_allows(const char *role, enum project_action action)
{
    if (streq(role, "admin") || streq(role, "member"))
        return true;
    if (streq(role, "viewer"))
        return action == PROJECT_READ;
    return false;
}

int project_open(struct req *r, const char *project_id, enum project_action action,
                 struct store_project *ret_p, struct store_member *ret_m)
{
    struct store *s = r->srv->store;
    int ret;

    if (!name_uuid_valid(project_id)) {
        http_fail(r, 404, "project '%s' not found", project_id);
        return -ENOENT;
    }
    ret = s->ops->member_get(s, project_id, r->who.id, ret_m);
    if (ret == -ENOENT) {
        /* not a member looks the same as no project: no existence oracle */
        http_fail(r, 404, "project '%s' not found", project_id);
        return ret;
    }
    if (ret < 0) {
        http_fail(r, 503, "store failure reading a membership (%d)", ret);
        return ret;
    }
    if (!role_allows(ret_m->role, action)) {
        http_fail(r, 403, "your role '%s' does not allow %s in this project", ret_m->role,
                  action == PROJECT_READ ? "reading" : "writing");
        store_member_release(ret_m);
        return -EACCES;
    }
    ret = s->ops->project_get(s, project_id, ret_p);
    if (ret < 0) {
        store_member_release(ret_m);
        http_fail(r, ret == -ENOENT ? 404 : 503, "project '%s' not found", project_id);
        return ret;
    }
    return 0;
}

json_t *project_json(const struct store_project *p)
{
    json_t *envs = json_array();

    for (size_t i = 0; i < p->n_envs; i++)
        json_array_append_new(envs, json_pack("{s:s, s:s, s:i}", "slug", p->envs[i].slug, "name",
                                              p->envs[i].name, "position", p->envs[i].position));
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", p->id, "name", p->name, "slug",
                     p->slug, "organizationId", p->org_id, "createdAt", json_time(p->created_at),
                     "environments", envs);
}

/* The caller's organization: organizationId if given (and a member), else the first. */
static int pick_org(struct req *r, const json_t *body, char out[STORE_ID_LEN + 1])
{
    struct store_org_membership *orgs = NULL;
    size_t n = 0;
    const char *want = NULL;
    int ret;

    if (wire_get_str(body, "organizationId", STORE_ID_LEN, &want) == -EINVAL) {
        http_fail(r, 400, "'organizationId' must be a string");
        return -EINVAL;
    }
    ret = r->srv->store->ops->user_orgs(r->srv->store, r->who.id, &orgs, &n);
    if (ret < 0) {
        http_fail(r, 503, "store failure reading organizations (%d)", ret);
        return ret;
    }
    ret = -ENOENT;
    for (size_t i = 0; i < n && ret < 0; i++) {
        if (want && !streq(want, orgs[i].org.id))
            continue;
        memcpy(out, orgs[i].org.id, STORE_ID_LEN + 1);
        ret = 0;
    }
    store_org_memberships_free(orgs, n);
    if (ret < 0)
        http_fail(r, 404, "organization not found");
    return ret;
}

void api_projects_create(struct req *r)
{
    json_t *body = req_body_json(r);
    _cleanup_buf_ struct buf wrapped = BUF_INIT;
    struct store_env envs[ELEMENTSOF(default_envs)];
    struct store_project p = {0};
    struct store_member m = {0};
    char slug[NAME_SLUG_MAX + 1];
    const char *name;
    int ret;

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
        pick_org(r, body, p.org_id) < 0)
        return;

    name_uuid(p.id);
    p.name = (char *)name;
    p.slug = slug;
    p.created_at = now_ms();
    for (size_t i = 0; i < ELEMENTSOF(default_envs); i++) {
        envs[i] = (struct store_env){.slug = (char *)default_envs[i].slug,
                                     .name = (char *)default_envs[i].name,
                                     .position = (int)i + 1};
        name_uuid(envs[i].id);
        memcpy(envs[i].project_id, p.id, sizeof(p.id));
    }
    p.envs = envs;
    p.n_envs = ELEMENTSOF(envs);
    memcpy(m.project_id, p.id, sizeof(p.id));
    memcpy(m.principal_id, r->who.id, sizeof(m.principal_id));
    strcpy(m.role, "admin");
    m.wrapped_key = (struct store_blob){(uint8_t *)wrapped.ptr, wrapped.len};
    m.created_at = p.created_at;

    ret = r->srv->store->ops->project_create(r->srv->store, &p, &m);
    if (ret == -EEXIST) {
        http_fail(r, 409, "a project named '%s' already exists in this organization", slug);
        return;
    }
    if (ret < 0) {
        http_fail(r, 503, "store failure creating a project (%d)", ret);
        return;
    }
    http_reply(r, 200, json_pack("{s:o}", "project", project_json(&p)));
}

void api_projects_list(struct req *r)
{
    struct store_project *ps = NULL;
    size_t n = 0;
    json_t *arr;
    int ret = r->srv->store->ops->project_list(r->srv->store, r->who.id, &ps, &n);

    if (ret < 0) {
        http_fail(r, 503, "store failure listing projects (%d)", ret);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, project_json(&ps[i]));
    store_projects_free(ps, n);
    http_reply(r, 200, json_pack("{s:o}", "projects", arr));
}

void api_projects_get(struct req *r)
{
    struct store_project p = {0};
    struct store_member m = {0};

    if (project_open(r, req_param(r, 0), PROJECT_READ, &p, &m) < 0)
        return;
    http_reply(r, 200,
               json_pack("{s:o, s:{s:s, s:o}}", "project", project_json(&p), "membership", "role",
                         m.role, "encryptedProjectKey",
                         json_b64(m.wrapped_key.ptr, m.wrapped_key.len)));
    store_project_release(&p);
    store_member_release(&m);
}
