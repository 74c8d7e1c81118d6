/* projects.c - projects: create, get, list, rename, delete, server access. */
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

/* --- projects ------------------------------------------------------------ */

int client_project_path(struct arca *a, const char *project_id, const char *suffix, struct buf *out)
{
    int r = buf_adds(out, CLIENT_API "/projects/");
    if (r >= 0)
        r = transport_escape(a, project_id, out);
    if (r >= 0 && suffix)
        r = buf_adds(out, suffix);
    if (r < 0)
        return client_error(a, r, "out of memory");
    return 0;
}

int client_check_project_id(struct arca *a, const char *project_id)
{
    if (!project_id || !*project_id)
        return client_error(a, -EINVAL, "no project given");
    if (!name_uuid_valid(project_id)) /* as the server answers: it has ids, not names */
        return client_error(a, -ENOENT, "project '%.64s' not found (or you are not a member)",
                            project_id);
    return 0;
}

/* a position out of range reads as 0 */
static int environment_position(struct arca *a, const json_t *o, void *ret)
{
    struct arca_environment *env = ret;
    long long pos = 0;

    if (wire_get_int(o, "position", &pos) == 0)
        env->position = pos < 0 || pos > 1000000 ? 0 : (int)pos;
    return 0;
}

static const struct client_field environment_fields[] = {
    CLIENT_FIELD(struct arca_environment, slug, CF_STR, "slug", CLIENT_STRING_MAX),
    CLIENT_FIELD(struct arca_environment, name, CF_STR, "name", CLIENT_STRING_MAX),
};
static const struct client_record rec_environment = CLIENT_RECORD(
    struct arca_environment, "environment", environment_fields, .finish = environment_position);

static void project_release(void *item)
{
    struct arca_project *p = item;

    client_items_free(&rec_environment, p->environments, p->n_environments);
}

/* The environments (absent: none). */
static int project_finish(struct arca *a, const json_t *o, void *ret)
{
    struct arca_project *p = ret;
    json_t *envs;
    int r;

    if (wire_get_arr(o, "environments", CLIENT_LIST_MAX, &envs) == -ENOENT)
        return 0;
    r = client_answer_arr(a, o, "environments", &envs);
    if (r < 0)
        return r;
    if (json_array_size(envs) == 0)
        return 0;
    return client_parse_items(a, envs, &rec_environment, (void **)&p->environments,
                              &p->n_environments);
}

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_project, field, kind, key, max)
static const struct client_field project_fields[] = {
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    F(name, CF_STR, "name", CLIENT_STRING_MAX),
    F(slug, CF_STR, "slug", CLIENT_STRING_MAX),
    F(organization_id, CF_STR, "organizationId", CLIENT_ID_MAX),
    F(created_at, CF_STR, "createdAt", CLIENT_STRING_MAX),
    F(server_access, CF_BOOL_OPT, "serverAccess", 0),
};
#undef F
static const struct client_record rec_project =
    CLIENT_RECORD(struct arca_project, "project", project_fields, .finish = project_finish,
                  .release = project_release);

CLIENT_FREE_ONE(arca_project_free, struct arca_project, rec_project)
CLIENT_FREE_ARRAY(arca_projects_free, struct arca_project, rec_project)

static int project_from_answer(struct arca *a, const json_t *answer, struct arca_project **ret)
{
    json_t *o;
    int r = client_answer_obj(a, answer, "project", &o);

    return r < 0 ? r : client_record_new(a, &rec_project, o, (void **)ret);
}

int arca_project_create(struct arca *a, const char *name, struct arca_project **ret)
{
    _cleanup_seal_ uint8_t *key = NULL;
    _cleanup_buf_ struct buf wrapped = BUF_INIT;
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    struct arca_project *p = NULL;
    int r;

    r = client_require_keys(a);
    if (r < 0)
        return r;
    if (!name || !name_title_valid(name))
        return client_error(a, -EINVAL,
                            "'%s' is not a valid project name: 1 to %d characters, no control "
                            "characters",
                            name ? name : "", NAME_TITLE_MAX);

    key = seal_malloc(SEAL_KEY_BYTES);
    if (!key)
        return client_error(a, -ENOMEM, "out of memory");
    seal_random(key, SEAL_KEY_BYTES);
    r = seal_wrap(a->pk, key, SEAL_KEY_BYTES, &wrapped);
    if (r < 0)
        return client_error(a, r, "cannot seal the project key");

    body = json_object();
    if (!body || client_set_str(body, "name", name) < 0 ||
        client_set_b64(body, "encryptedProjectKey", wrapped.ptr, wrapped.len, false) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = transport_call(a, "POST", CLIENT_API "/projects", body, &answer, NULL);
    if (r < 0)
        return r;
    r = project_from_answer(a, answer, &p);
    if (r < 0)
        return r;
    uint8_t *k = TAKE_PTR(key);
    client_key_cache_put(a, p->id, k);
    if (ret)
        *ret = p;
    else
        arca_project_free(p);
    return 0;
}

int arca_project_get(struct arca *a, const char *project_id, struct arca_project **ret)
{
    _cleanup_json_ json_t *answer = NULL;
    int r;

    r = client_require_project(a, project_id);
    if (r < 0)
        return r;
    r = client_project_fetch(a, project_id, &answer);
    if (r < 0)
        return r;
    return project_from_answer(a, answer, ret);
}

int arca_project_set_server_access(struct arca *a, const char *project_id, int on)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_json_ json_t *body = NULL;
    const uint8_t *key;
    int r;

    r = client_require_project(a, project_id);
    if (r == 0 && on)
        r = client_project_key(a, project_id, &key);
    if (r == 0)
        r = client_project_path(a, project_id, NULL, &path);
    if (r < 0)
        return r;
    body = json_pack("{s:b}", "serverAccess", on ? 1 : 0);
    if (!body || (on && client_set_b64(body, "projectKey", key, SEAL_KEY_BYTES, true) < 0))
        return client_error(a, -ENOMEM, "out of memory");
    r = transport_call(a, "PATCH", path.ptr, body, NULL, NULL);
    client_json_wipe(body, "projectKey");
    return r;
}

int arca_project_delete(struct arca *a, const char *project_id)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r = client_require_project(a, project_id);

    if (r == 0)
        r = client_project_path(a, project_id, NULL, &path);
    if (r < 0)
        return r;
    r = transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
    if (r == 0)
        client_key_cache_clear(a);
    return r;
}

int arca_project_rename(struct arca *a, const char *project_id, const char *name)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_json_ json_t *body = NULL;
    int r = client_require_project(a, project_id);

    if (r == 0 && (!name || !name_title_valid(name)))
        return client_error(a, -EINVAL,
                            "'%s' is not a valid project name: 1 to %d characters, no control "
                            "characters",
                            name ? name : "", NAME_TITLE_MAX);
    if (r == 0)
        r = client_project_path(a, project_id, NULL, &path);
    if (r < 0)
        return r;
    body = json_pack("{s:s}", "name", name);
    if (!body)
        return client_error(a, -ENOMEM, "out of memory");
    return transport_call(a, "PATCH", path.ptr, body, NULL, NULL);
}

int arca_projects_list(struct arca *a, struct arca_project **ret, size_t *ret_n)
{
    return client_list_items(a, NULL, "/projects", "projects", &rec_project, (void **)ret, ret_n);
}
