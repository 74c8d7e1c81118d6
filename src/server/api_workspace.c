/* api_workspace.c - Infisical's project administration routes (workspaces,
 * environments, memberships, the service-token self lookup), and arca's own
 * environment routes, which share the environment handlers.
 *
 * A project created here gets its key from the server: a random key, sealed to
 * the creator's public key (so arca's end-to-end clients work for the creator
 * too) and under the root key (server access, which the raw routes need).
 * Adding members by e-mail works only with server access: the server opens the
 * project key and seals it to each new member's public key.
 *
 * Environments are addressed by id (Infisical) or slug (arca).  Their slug is
 * part of every secret ciphertext's associated data, so a slug changes only
 * while no secret was ever written in the environment, and an environment
 * that holds secrets or their history is never deleted. */
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

#define WORKSPACE_SLUG_MIN 5 /* Infisical's limits for a given project slug */
#define WORKSPACE_SLUG_MAX 36
#define ENV_MAX 64 /* environments per project */
#define ENV_POSITION_MAX 1000
#define INVITE_MAX 100 /* users added by one memberships call */
#define ROLE_MAX 32    /* struct store_member's role */

static json_t *workspace_json(const struct store_project *p)
{
    json_t *envs = json_array();

    for (size_t i = 0; i < p->n_envs; i++)
        json_array_append_new(envs, json_pack("{s:s, s:s, s:s}", "id", p->envs[i].id, "name",
                                              p->envs[i].name, "slug", p->envs[i].slug));
    return json_pack("{s:s, s:s, s:s, s:s, s:n, s:s, s:s, s:b, s:i, s:n, s:o, s:o, s:o, s:b}", "id",
                     p->id, "_id", p->id, "name", p->name, "slug", p->slug, "description", "type",
                     "secret-manager", "orgId", p->org_id, "autoCapitalization", 0, "version", 3,
                     "upgradeStatus", "createdAt", json_time(p->created_at), "updatedAt",
                     json_time(p->created_at), "environments", envs, "serverAccess",
                     p->server_key.len > 0);
}

/* The project slug of the body, or one made from name.  Replies 400. */
static int workspace_slug(struct req *r, const json_t *body, const char *name,
                          char out[NAME_SLUG_MAX + 1])
{
    const char *slug;
    int ret = wire_get_str(body, "slug", WORKSPACE_SLUG_MAX, &slug);

    if (ret == -ENOENT) {
        if (name_slugify(name, out, NAME_SLUG_MAX + 1) == 0)
            return 0;
        http_fail(r, 400, "'projectName' needs a letter or digit");
        return -EINVAL;
    }
    if (ret < 0 || strlen(slug) < WORKSPACE_SLUG_MIN || !name_slug_valid(slug)) {
        http_fail(r, 400,
                  "'slug' must be %d to %d characters: lowercase letters, digits and '-', "
                  "starting with a letter or digit",
                  WORKSPACE_SLUG_MIN, WORKSPACE_SLUG_MAX);
        return -EINVAL;
    }
    snprintf(out, NAME_SLUG_MAX + 1, "%s", slug);
    return 0;
}

void api_workspace_create(struct req *r)
{
    json_t *body = req_body_json(r);
    _cleanup_buf_ struct buf wrapped = BUF_INIT, sealed = BUF_INIT;
    struct store_project p = {0};
    struct store_blob pk = {0};
    char slug[NAME_SLUG_MAX + 1];
    const char *name, *type, *desc;
    uint8_t *key = NULL;
    int ret;

    if (!body)
        return;
    if (wire_get_str(body, "projectName", NAME_TITLE_MAX, &name) < 0 || !name_title_valid(name)) {
        http_fail(r, 400, "'projectName' must be a project name of 1 to %d characters",
                  NAME_TITLE_MAX);
        return;
    }
    if (wire_get_str_or(body, "type", 32, "secret-manager", &type) < 0 ||
        !streq(type, "secret-manager")) {
        http_fail(r, 400, "'type' must be 'secret-manager' (the only kind of project arca has)");
        return;
    }
    if (wire_get_str_or(body, "projectDescription", 1024, "", &desc) < 0) {
        http_fail(r, 400, "'projectDescription' must be a string of at most 1024 bytes");
        return;
    }
    if (json_object_get(body, "kmsKeyId") && !json_is_null(json_object_get(body, "kmsKeyId"))) {
        http_fail(r, 400, "'kmsKeyId' is not supported: arca keeps project keys itself");
        return;
    }
    if (workspace_slug(r, body, name, slug) < 0 || request_org_member(r, body, p.org_id) < 0)
        return;

    ret = principal_public_key(r, r->who.kind == PRINCIPAL_IDENTITY ? "identity" : "user",
                               r->who.id, &pk, NULL);
    if (ret < 0 || pk.len != SEAL_PK_BYTES) {
        http_fail_store(r, ret, "cannot read the public key of the caller");
        goto out;
    }
    key = seal_malloc(SEAL_KEY_BYTES);
    if (!key) {
        http_fail(r, 500, "out of secure memory");
        goto out;
    }
    seal_random(key, SEAL_KEY_BYTES);
    name_uuid(p.id);
    if (seal_wrap(pk.ptr, key, SEAL_KEY_BYTES, &wrapped) < 0) {
        http_fail(r, 500, "cannot seal the project key");
        goto out;
    }
    if (project_seal_server_key(r, p.id, key, &sealed) < 0)
        goto out;
    p.name = (char *)name;
    p.slug = slug;
    p.server_key = (struct store_blob){(uint8_t *)sealed.ptr, sealed.len};
    project_create_reply(r, &p, &wrapped, 400, workspace_json);
out:
    seal_free(key);
    store_blob_release(&pk);
}

void api_workspace_list(struct req *r)
{
    if (r->who.kind == PRINCIPAL_SERVICE) {
        audit_denied(r, &(struct audit_event){.event = "permission.denied"});
        http_fail(r, 403, "a service token is bound to one project: use GET /api/v2/service-token");
    } else {
        project_list_reply(r, "workspaces", workspace_json);
    }
}

void api_workspace_get(struct req *r)
{
    struct project_ctx ctx;

    if (project_open(r, req_param(r, 0), &ctx) < 0)
        return;
    http_reply(r, 200, json_pack("{s:o}", "workspace", workspace_json(&ctx.p)));
    project_release(&ctx);
}

/* ---- environments ------------------------------------------------------ */

/* The environment of ctx's project with that id or slug, or NULL (replied 404). */
static const struct store_env *env_find(struct req *r, const struct project_ctx *ctx,
                                        const char *ref)
{
    for (size_t i = 0; i < ctx->p.n_envs; i++)
        if (streq(ctx->p.envs[i].id, ref) || streq(ctx->p.envs[i].slug, ref))
            return &ctx->p.envs[i];
    http_fail(r, 404, "environment '%.64s' not found in project %s", ref, ctx->p.id);
    return NULL;
}

static json_t *env_json(const struct store_env *e)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:n, s:n}", "id", e->id, "_id", e->id, "name",
                     e->name, "slug", e->slug, "position", e->position, "projectId", e->project_id,
                     "createdAt", "updatedAt");
}

/* Audits event on e and replies {message, workspace, environment}. */
static void env_reply(struct req *r, const struct project_ctx *ctx, const struct store_env *e,
                      const char *event, const char *message, json_t *meta)
{
    int ret = audit_or_fail(r, &(struct audit_event){.event = event,
                                                     .org_id = ctx->p.org_id,
                                                     .project_id = ctx->p.id,
                                                     .environment = e->slug,
                                                     .metadata = meta});
    if (ret == 0)
        http_reply(r, 200,
                   json_pack("{s:s, s:s, s:o}", "message", message, "workspace", ctx->p.id,
                             "environment", env_json(e)));
}

/* Reads the optional fields slug, name and position of body (replies 400). */
static int env_fields(struct req *r, const json_t *body, const char **slug, const char **name,
                      int *position)
{
    long long pos = 0;
    int ret;

    ret = wire_get_str(body, "slug", NAME_SLUG_MAX, slug);
    if (ret == -ENOENT)
        *slug = NULL;
    else if (ret < 0 || !name_slug_valid(*slug)) {
        http_fail(r, 400,
                  "'slug' must be 1 to %d characters: lowercase letters, digits and '-', "
                  "starting with a letter or digit",
                  NAME_SLUG_MAX);
        return -EINVAL;
    }
    ret = wire_get_str(body, "name", NAME_TITLE_MAX, name);
    if (ret == -ENOENT)
        *name = NULL;
    else if (ret < 0 || !name_title_valid(*name)) {
        http_fail(r, 400, "'name' must be an environment name of 1 to %d characters",
                  NAME_TITLE_MAX);
        return -EINVAL;
    }
    ret = wire_get_int(body, "position", &pos);
    if ((ret < 0 && ret != -ENOENT) || (ret == 0 && (pos < 1 || pos > ENV_POSITION_MAX))) {
        http_fail(r, 400, "'position' must be a number from 1 to %d", ENV_POSITION_MAX);
        return -EINVAL;
    }
    *position = (int)pos;
    return 0;
}

void api_environments_create(struct req *r)
{
    json_t *body = req_body_json(r), *meta;
    struct project_ctx ctx;
    struct store_env e = {0};
    const char *slug, *name;
    int position, ret;

    if (!body || env_fields(r, body, &slug, &name, &position) < 0)
        return;
    if (!slug || !name) {
        http_fail(r, 400, "'name' and 'slug' are required");
        return;
    }
    if (project_open_checked(r, AUTHZ_SETTINGS, AUTHZ_CREATE, &ctx) < 0)
        return;
    name_uuid(e.id);
    memcpy(e.project_id, ctx.p.id, sizeof(e.project_id));
    e.slug = (char *)slug;
    e.name = (char *)name;
    e.position = position ? position : ctx.p.n_envs ? ctx.p.envs[ctx.p.n_envs - 1].position + 1 : 1;
    ret = r->srv->store->ops->env_create(r->srv->store, &e, ENV_MAX);
    if (ret == -EEXIST)
        http_fail(r, 400, "an environment with the slug '%s' already exists in this project", slug);
    else if (ret == -E2BIG)
        http_fail(r, 400, "a project has at most %d environments", ENV_MAX);
    else if (ret < 0)
        http_fail_store(r, ret, "store failure creating an environment");
    if (ret == 0) {
        meta = json_pack("{s:s, s:s, s:i}", "slug", slug, "name", name, "position", e.position);
        env_reply(r, &ctx, &e, "environment.create", "Successfully created new environment", meta);
        json_decref(meta);
    }
    project_release(&ctx);
}

void api_environments_get(struct req *r)
{
    struct project_ctx ctx;
    const struct store_env *e;

    if (project_open(r, req_param(r, 0), &ctx) < 0)
        return;
    if ((e = env_find(r, &ctx, req_param(r, 1))))
        http_reply(r, 200, json_pack("{s:o}", "environment", env_json(e)));
    project_release(&ctx);
}

void api_environments_update(struct req *r)
{
    json_t *body = req_body_json(r), *meta;
    struct project_ctx ctx;
    const struct store_env *e;
    struct store_env after;
    const char *slug, *name;
    int position, ret;

    if (!body || env_fields(r, body, &slug, &name, &position) < 0)
        return;
    if (!slug && !name && !position) {
        http_fail(r, 400, "nothing to change: give 'name', 'slug' or 'position'");
        return;
    }
    if (project_open_checked(r, AUTHZ_SETTINGS, AUTHZ_EDIT, &ctx) < 0)
        return;
    if (!(e = env_find(r, &ctx, req_param(r, 1))))
        goto out;
    ret = r->srv->store->ops->env_update(r->srv->store, ctx.p.id, e->id, slug, name, position);
    if (ret == -EBUSY)
        http_fail(r, 409,
                  "environment '%s' holds secrets (or their history), whose encryption is bound "
                  "to its slug: its slug cannot change (its name and position can)",
                  e->slug);
    else if (ret == -EEXIST)
        http_fail(r, 400, "an environment with the slug '%s' already exists in this project", slug);
    else if (ret < 0)
        http_fail(r, ret == -ENOENT ? 404 : 503, "cannot update environment '%s' (%d)", e->slug,
                  ret);
    if (ret < 0)
        goto out;
    after = *e;
    after.slug = slug ? (char *)slug : e->slug;
    after.name = name ? (char *)name : e->name;
    after.position = position ? position : e->position;
    meta = json_pack("{s:s, s:s, s:s, s:i}", "oldSlug", e->slug, "slug", after.slug, "name",
                     after.name, "position", after.position);
    env_reply(r, &ctx, &after, "environment.update", "Successfully updated environment", meta);
    json_decref(meta);
out:
    project_release(&ctx);
}

static json_t *env_counts_json(const struct store_env_counts *n)
{
    return json_pack("{s:I, s:I, s:I}", "liveSecrets", (json_int_t)n->live, "secrets",
                     (json_int_t)n->total, "versions", (json_int_t)n->versions);
}

/* ?purge=true deletes the environment with its secrets and their history;
 * ?dryRun=true only says what a purge would delete. */
void api_environments_delete(struct req *r)
{
    json_t *meta;
    struct project_ctx ctx;
    const struct store_env *e;
    struct store_env_counts n = {0};
    bool purge, dry_run;
    int ret;

    if (req_query_bool(r, "purge", false, &purge) < 0 ||
        req_query_bool(r, "dryRun", false, &dry_run) < 0)
        return;
    if (project_open_checked(r, AUTHZ_SETTINGS, AUTHZ_DELETE, &ctx) < 0)
        return;
    if (!(e = env_find(r, &ctx, req_param(r, 1))))
        goto out;
    if (dry_run) {
        ret = r->srv->store->ops->env_counts(r->srv->store, ctx.p.id, e->id, &n);
        if (ret < 0)
            http_fail(r, ret == -ENOENT ? 404 : 503, "cannot count environment '%s' (%d)", e->slug,
                      ret);
        else
            http_reply(r, 200,
                       json_pack("{s:b, s:o, s:o}", "dryRun", 1, "environment", env_json(e),
                                 "deleted", env_counts_json(&n)));
        goto out;
    }
    ret = r->srv->store->ops->env_delete(r->srv->store, ctx.p.id, e->id, purge, &n);
    if (ret == -EBUSY)
        http_fail(r, 409,
                  "environment '%s' holds %lld secret%s (%lld with their history, %lld "
                  "version%s): delete it with its history with purge=true (arca environments "
                  "remove --purge), or keep it",
                  e->slug, (long long)n.live, n.live == 1 ? "" : "s", (long long)n.total,
                  (long long)n.versions, n.versions == 1 ? "" : "s");
    else if (ret < 0)
        http_fail(r, ret == -ENOENT ? 404 : 503, "cannot delete environment '%s' (%d)", e->slug,
                  ret);
    if (ret < 0)
        goto out;
    meta = json_pack("{s:s, s:s, s:b, s:I, s:I}", "slug", e->slug, "name", e->name, "purge", purge,
                     "secrets", (json_int_t)n.total, "versions", (json_int_t)n.versions);
    ret = audit_or_fail(r, &(struct audit_event){.event = "environment.delete",
                                                 .org_id = ctx.p.org_id,
                                                 .project_id = ctx.p.id,
                                                 .environment = e->slug,
                                                 .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200,
                   json_pack("{s:s, s:s, s:o, s:o}", "message", "Successfully deleted environment",
                             "workspace", ctx.p.id, "environment", env_json(e), "deleted",
                             env_counts_json(&n)));
out:
    project_release(&ctx);
}

/* ---- memberships ------------------------------------------------------- */

static json_t *membership_json(const struct store_member *m)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", m->principal_id, "userId",
                     m->principal_id, "projectId", m->project_id, "role", m->role, "createdAt",
                     json_time(m->created_at), "updatedAt", json_time(m->created_at));
}

/* The one role of roleSlugs (default "member"), which must exist.  Replies 400. */
static int invite_role(struct req *r, const json_t *body, const char *project_id, const char **ret)
{
    json_t *roles = NULL;
    int n = wire_get_arr(body, "roleSlugs", 1, &roles);

    *ret = "member";
    if (n == -ENOENT || (n == 0 && json_array_size(roles) == 0))
        return 0;
    if (n < 0 || !json_is_string(json_array_get(roles, 0)) ||
        strlen(json_string_value(json_array_get(roles, 0))) >= ROLE_MAX) {
        http_fail(r, 400, "'roleSlugs' must hold one role slug");
        return -EINVAL;
    }
    *ret = json_string_value(json_array_get(roles, 0));
    if (!role_exists(r, project_id, *ret)) {
        http_fail(r, 400, "role '%.64s' does not exist in this project", *ret);
        return -EINVAL;
    }
    return 0;
}

struct invitee {
    struct store_user u;
    struct store_member m;
    json_t *meta;
};

static void invitees_free(struct invitee *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        store_user_release(&v[i].u);
        json_decref(v[i].meta);
    }
    free(v);
}

/* Looks up every e-mail of emails and usernames: users of the project's
 * organization that are not yet members.  Replies 400/404 on the first that is not. */
static int invitees_find(struct req *r, const struct project_ctx *ctx, const json_t *body,
                         struct invitee **ret_v, size_t *ret_n)
{
    static const char *const fields[] = {"emails", "usernames"};
    struct store *s = r->srv->store;
    struct invitee *v = calloc(2 * INVITE_MAX, sizeof(*v));
    struct store_member m = {0};
    size_t n = 0, idx;
    json_t *arr, *item;
    char role[16];
    int ret;

    if (!v) {
        http_fail(r, 500, "out of memory");
        return -ENOMEM;
    }
    for (size_t f = 0; f < ELEMENTSOF(fields); f++) {
        ret = wire_get_arr(body, fields[f], INVITE_MAX, &arr);
        if (ret == -ENOENT)
            continue;
        if (ret < 0) {
            http_fail(r, 400, "'%s' must be a list of at most %d e-mail addresses", fields[f],
                      INVITE_MAX);
            goto fail;
        }
        json_array_foreach(arr, idx, item)
        {
            const char *email = json_string_value(item);
            if (!email || !name_email_valid(email)) {
                http_fail(r, 400, "'%s' must hold e-mail addresses", fields[f]);
                ret = -EINVAL;
                goto fail;
            }
            struct invitee *x = &v[n];
            ret = s->ops->user_get_by_email(s, email, &x->u);
            if (ret == 0 && ++n && s->ops->org_role(s, ctx->p.org_id, x->u.id, role) < 0)
                ret = -ENOENT;
            if (ret < 0) {
                http_fail(r, ret == -ENOENT ? 404 : 503,
                          "no user '%s' in this project's organization (invite them with "
                          "'arca users invite' first)",
                          email);
                goto fail;
            }
            for (size_t j = 0; j + 1 < n; j++)
                if (streq(v[j].u.id, x->u.id)) {
                    http_fail(r, 400, "'%s' is listed twice", email);
                    ret = -EINVAL;
                    goto fail;
                }
            ret = s->ops->member_get(s, ctx->p.id, x->u.id, &m);
            store_member_release(&m);
            if (ret == 0) {
                http_fail(r, 400, "'%s' is already a member of this project", email);
                ret = -EEXIST;
                goto fail;
            }
        }
    }
    if (n == 0) {
        http_fail(r, 400, "give at least one e-mail in 'emails' or 'usernames'");
        ret = -EINVAL;
        goto fail;
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
fail:
    invitees_free(v, n);
    return ret < 0 ? ret : -EINVAL;
}

void api_workspace_members_add(struct req *r)
{
    json_t *body = req_body_json(r), *arr = NULL;
    struct project_ctx ctx;
    struct invitee *v = NULL;
    struct audit_event *events = NULL;
    _cleanup_buf_ struct buf wrapped = BUF_INIT;
    const char *role;
    uint8_t key[SEAL_KEY_BYTES];
    size_t n = 0, added = 0;
    int ret;

    if (!body)
        return;
    if (project_open_checked(r, AUTHZ_MEMBERS, AUTHZ_CREATE, &ctx) < 0)
        return;
    if (invite_role(r, body, ctx.p.id, &role) < 0 ||
        project_may_grant_role(r, &ctx, role, "give role") < 0)
        goto out;
    if (ctx.p.server_key.len == 0) {
        http_fail(r, 400,
                  "project '%s' is end-to-end encrypted (no server access): the server cannot "
                  "share its key; add members with 'arca members add', or turn server access "
                  "on with 'arca projects update %s --server-access on'",
                  ctx.p.slug, ctx.p.id);
        goto out;
    }
    if (invitees_find(r, &ctx, body, &v, &n) < 0 || project_server_key(r, &ctx, key) < 0)
        goto out;
    events = calloc(n, sizeof(*events));
    if (!events) {
        http_fail(r, 500, "out of memory");
        goto out;
    }
    arr = json_array();
    for (; added < n; added++) {
        struct invitee *x = &v[added];
        buf_clear(&wrapped);
        if (x->u.public_key.len != SEAL_PK_BYTES ||
            seal_wrap(x->u.public_key.ptr, key, SEAL_KEY_BYTES, &wrapped) < 0) {
            http_fail(r, 500, "cannot seal the project key to '%s'", x->u.email);
            break;
        }
        memcpy(x->m.project_id, ctx.p.id, sizeof(x->m.project_id));
        strcpy(x->m.principal_type, "user");
        memcpy(x->m.principal_id, x->u.id, sizeof(x->m.principal_id));
        snprintf(x->m.role, sizeof(x->m.role), "%s", role);
        x->m.wrapped_key = (struct store_blob){(uint8_t *)wrapped.ptr, wrapped.len};
        x->m.created_at = now_ms();
        ret = r->srv->store->ops->member_add(r->srv->store, &x->m);
        x->m.wrapped_key = (struct store_blob){0};
        if (ret < 0) {
            http_fail(r, ret == -EEXIST ? 400 : 503, "cannot add '%s' to the project (%d)",
                      x->u.email, ret);
            break;
        }
        x->meta = json_pack("{s:s, s:s, s:s}", "principalType", "user", "principalId", x->u.id,
                            "role", role);
        events[added] = (struct audit_event){.event = "member.add",
                                             .org_id = ctx.p.org_id,
                                             .project_id = ctx.p.id,
                                             .metadata = x->meta};
        json_array_append_new(arr, membership_json(&x->m));
    }
    /* the members added are recorded even when a later one failed */
    if (added && audit_log_n(r, events, added) < 0)
        http_fail(r, 503, "the audit log is unavailable");
    else if (added == n)
        http_reply(r, 200, json_pack("{s:O}", "memberships", arr));
out:
    json_decref(arr);
    free(events);
    seal_wipe(key, sizeof(key));
    invitees_free(v, n);
    project_release(&ctx);
}

static json_t *membership_list_json(const struct store_member *m, const struct store_blob *pk)
{
    bool builtin = authz_role_is_builtin(m->role);
    json_t *member;

    if (!streq(m->principal_type, "user"))
        return NULL; /* identities have their own memberships in Infisical */
    member = membership_json(m);
    json_object_del(member, "role");
    json_object_set_new(member, "user",
                        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", m->principal_id, "email",
                                  m->principal_name, "username", m->principal_name, "firstName", "",
                                  "lastName", "", "publicKey",
                                  pk->len ? json_b64(pk->ptr, pk->len) : json_null()));
    json_object_set_new(member, "roles",
                        json_pack("[{s:s, s:s, s:n, s:n, s:o, s:b, s:n, s:n, s:n, s:n}]", "id",
                                  m->principal_id, "role", builtin ? m->role : "custom",
                                  "customRoleId", "customRoleName", "customRoleSlug",
                                  builtin ? json_null() : json_string(m->role), "isTemporary", 0,
                                  "temporaryMode", "temporaryRange", "temporaryAccessStartTime",
                                  "temporaryAccessEndTime"));
    return member;
}

void api_workspace_members_list(struct req *r)
{
    struct project_ctx ctx;
    json_t *arr;

    if (project_open_checked(r, AUTHZ_MEMBERS, AUTHZ_READ, &ctx) < 0)
        return;
    if (members_json(r, ctx.p.id, membership_list_json, &arr) == 0)
        http_reply(r, 200, json_pack("{s:o}", "memberships", arr));
    project_release(&ctx);
}

/* ---- service tokens ---------------------------------------------------- */

void api_service_token_v2(struct req *r)
{
    struct store_service_token t = {0};
    json_t *scopes = NULL;

    if (r->who.kind != PRINCIPAL_SERVICE) {
        audit_denied(r, &(struct audit_event){.event = "permission.denied"});
        http_fail(r, 403, "this route is for service tokens (st.<id>.<secret>)");
        return;
    }
    if (service_token_self(r, &t) < 0)
        return;
    if (wire_parse(t.scopes, strlen(t.scopes), &scopes, NULL) < 0)
        scopes = json_array();
    http_reply(
        r, 200,
        json_pack("{s:s, s:s, s:i, s:s, s:o, s:o, s:n, s:o, s:o, s:o, s:s, s:s, s:s}", "id", t.id,
                  "_id", t.id, "__v", 0, "name", t.name, "scopes", scopes, "permissions",
                  t.write ? json_pack("[s, s]", "read", "write") : json_pack("[s]", "read"),
                  "lastUsed", "expiresAt", t.expires_at ? json_time(t.expires_at) : json_null(),
                  "createdAt", json_time(t.created_at), "updatedAt", json_time(t.created_at),
                  "createdBy", t.created_by, "projectId", t.project_id, "workspace", t.project_id));
    store_service_token_release(&t);
}
