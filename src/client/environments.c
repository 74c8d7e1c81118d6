/* environments.c - adding, renaming and removing a project's environments
 * (project admins).  Listing them needs nothing new: arca_project_get returns
 * them.  The server enforces the rules (slug format, unique slugs, a slug
 * bound into stored ciphertext does not change, an environment that holds
 * secrets or their history stays); slugs are checked here too for an early,
 * clear message. */
#include <errno.h>
#include <stdio.h>

#include "arca.h"
#include "base/names.h"
#include "base/wire.h"
#include "client.h"
#include "transport.h"

static int check_slug(struct arca *a, const char *slug)
{
    if (!slug || !name_slug_valid(slug))
        return client_error(a, -EINVAL,
                            "'%s' is not a valid environment slug: lowercase letters, digits and "
                            "'-', starting with a letter or digit, at most %d",
                            slug ? slug : "", NAME_SLUG_MAX);
    return 0;
}

/* {slug?, name?, position?} for a create or update. */
static int env_body(struct arca *a, const char *slug, const char *name, int position, json_t **ret)
{
    json_t *body = json_object();

    if (name && !name_title_valid(name)) {
        json_decref(body);
        return client_error(a, -EINVAL, "'%s' is not a valid environment name", name);
    }
    if (!body || (slug && client_set_str(body, "slug", slug) < 0) ||
        (name && client_set_str(body, "name", name) < 0) ||
        (position > 0 && json_object_set_new(body, "position", json_integer(position)) < 0)) {
        json_decref(body);
        return client_error(a, -ENOMEM, "out of memory");
    }
    *ret = body;
    return 0;
}

/* POST/PATCH/DELETE /projects/<id>/environments[/<slug>][query] with body
 * (may be NULL); ret (may be NULL): the reply. */
static int env_call_q(struct arca *a, const char *method, const char *project_id, const char *slug,
                      const char *query, json_t *body, json_t **ret)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r;

    r = client_project_path(a, project_id, "/environments", &path);
    if (r >= 0 && slug && (r = buf_addch(&path, '/')) >= 0)
        r = transport_escape(a, slug, &path);
    if (r >= 0 && query)
        r = buf_adds(&path, query);
    if (r < 0)
        return client_error(a, r, "out of memory");
    return transport_call(a, method, path.ptr, body, ret, NULL);
}

static int env_call(struct arca *a, const char *method, const char *project_id, const char *slug,
                    json_t *body)
{
    return env_call_q(a, method, project_id, slug, NULL, body, NULL);
}

int arca_environment_create(struct arca *a, const char *project_id, const char *slug,
                            const char *name, int position)
{
    _cleanup_json_ json_t *body = NULL;
    int r;

    if ((r = client_require_project(a, project_id)) < 0 || (r = check_slug(a, slug)) < 0 ||
        (r = env_body(a, slug, name ? name : slug, position, &body)) < 0)
        return r;
    return env_call(a, "POST", project_id, NULL, body);
}

int arca_environment_update(struct arca *a, const char *project_id, const char *slug,
                            const char *new_slug, const char *name, int position)
{
    _cleanup_json_ json_t *body = NULL;
    int r;

    if ((r = client_require_project(a, project_id)) < 0 || (r = check_slug(a, slug)) < 0 ||
        (new_slug && (r = check_slug(a, new_slug)) < 0))
        return r;
    if (!new_slug && !name && position <= 0)
        return client_error(a, -EINVAL, "nothing to change: give a name, a slug or a position");
    if ((r = env_body(a, new_slug, name, position, &body)) < 0)
        return r;
    return env_call(a, "PATCH", project_id, slug, body);
}

int arca_environment_delete(struct arca *a, const char *project_id, const char *slug)
{
    int r;

    if ((r = client_require_project(a, project_id)) < 0 || (r = check_slug(a, slug)) < 0)
        return r;
    return env_call(a, "DELETE", project_id, slug, NULL);
}

int arca_environment_purge(struct arca *a, const char *project_id, const char *slug, int dry_run,
                           long long *ret_secrets, long long *ret_versions)
{
    _cleanup_json_ json_t *reply = NULL;
    json_t *n = NULL;
    int r;

    if ((r = client_require_project(a, project_id)) < 0 || (r = check_slug(a, slug)) < 0 ||
        (r = env_call_q(a, "DELETE", project_id, slug,
                        dry_run ? "?purge=true&dryRun=true" : "?purge=true", NULL, &reply)) < 0)
        return r;
    if (wire_get_obj(reply, "deleted", &n) < 0 || wire_get_int(n, "secrets", ret_secrets) < 0 ||
        wire_get_int(n, "versions", ret_versions) < 0)
        return client_error(a, -EPROTO, "the server's reply does not say what it deleted");
    return 0;
}
