/* api_members.c - who is in a project and with which role; custom roles;
 * project key rotation.
 *
 * Adding a member needs the project key sealed to the new member's public key,
 * which only a client holding the project key can make: the server checks the
 * sealed key's size and stores it.  Rotation replaces the project key: the
 * client re-encrypts every stored version and reseals the new key to every
 * member, and the server swaps it all in one transaction. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "server.h"

static struct audit_event project_event(const struct project_ctx *ctx, const char *event,
                                        json_t *meta)
{
    return (struct audit_event){
        .event = event, .org_id = ctx->p.org_id, .project_id = ctx->p.id, .metadata = meta};
}

/* Audits e and replies body (TAKES body); on audit failure replies 503. */
static void reply_audited(struct req *r, struct audit_event e, json_t *body)
{
    if (audit_or_fail(r, &e) < 0)
        json_decref(body);
    else
        http_reply(r, 200, body);
}

static json_t *member_json(const struct store_member *m, const uint8_t *pk, size_t pk_len)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "principalType", m->principal_type,
                     "principalId", m->principal_id, "name",
                     m->principal_name ? m->principal_name : "", "role", m->role, "publicKey",
                     pk_len ? json_b64(pk, pk_len) : json_null(), "createdAt",
                     json_time(m->created_at));
}

int principal_public_key(struct req *r, const char *type, const char *id, struct store_blob *ret,
                         char org_id[STORE_ID_LEN + 1])
{
    struct store *s = r->srv->store;
    int ret_code;

    if (streq(type, "user")) {
        struct store_user u = {0};
        ret_code = s->ops->user_get(s, id, &u);
        if (ret_code == 0) {
            *ret = u.public_key;
            u.public_key = (struct store_blob){0};
        }
        store_user_release(&u);
        return ret_code;
    }
    struct store_identity ident = {0};
    ret_code = s->ops->identity_get(s, id, &ident);
    if (ret_code == 0) {
        *ret = ident.public_key;
        ident.public_key = (struct store_blob){0};
        if (org_id)
            memcpy(org_id, ident.org_id, STORE_ID_LEN + 1);
    }
    store_identity_release(&ident);
    return ret_code;
}

int members_json(struct req *r, const char *project_id,
                 json_t *(*one)(const struct store_member *m, const struct store_blob *pk),
                 json_t **ret)
{
    struct store_member *m = NULL;
    size_t n = 0;
    json_t *arr, *item;
    int err = r->srv->store->ops->member_list(r->srv->store, project_id, &m, &n);

    if (err < 0) {
        http_fail_store(r, err, "store failure listing members");
        return err;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        struct store_blob pk = {0};
        principal_public_key(r, m[i].principal_type, m[i].principal_id, &pk, NULL);
        if ((item = one(&m[i], &pk)))
            json_array_append_new(arr, item);
        store_blob_release(&pk);
    }
    store_members_free(m, n);
    *ret = arr;
    return 0;
}

static json_t *member_json_pk(const struct store_member *m, const struct store_blob *pk)
{
    return member_json(m, pk->ptr, pk->len);
}

void api_members_list(struct req *r)
{
    struct project_ctx ctx;
    json_t *arr;

    if (project_open_checked(r, AUTHZ_MEMBERS, AUTHZ_READ, &ctx) < 0)
        return;
    if (members_json(r, ctx.p.id, member_json_pk, &arr) == 0)
        http_reply(r, 200, json_pack("{s:o}", "members", arr));
    project_release(&ctx);
}

void api_members_add(struct req *r)
{
    json_t *body = req_body_json(r), *meta;
    struct project_ctx ctx;
    struct store_member m = {0};
    struct store_blob pk = {0};
    _cleanup_buf_ struct buf wrapped = BUF_INIT;
    char org_of_identity[STORE_ID_LEN + 1] = "", role[16];
    const char *type, *id, *role_name;
    int ret;

    if (!body)
        return;
    if (wire_get_str(body, "principalType", 16, &type) < 0 ||
        (!streq(type, "user") && !streq(type, "identity")) ||
        wire_get_str(body, "principalId", STORE_ID_LEN, &id) < 0 || !name_uuid_valid(id) ||
        wire_get_str(body, "role", NAME_SLUG_MAX, &role_name) < 0) {
        http_fail(r, 400,
                  "'principalType' ('user' or 'identity'), 'principalId' and 'role' "
                  "are required");
        return;
    }
    if (req_b64_field(r, body, "encryptedProjectKey", SEAL_WRAPPED_BYTES, SEAL_WRAPPED_BYTES,
                      &wrapped) < 0 ||
        project_open_checked(r, AUTHZ_MEMBERS, AUTHZ_CREATE, &ctx) < 0)
        return;
    if (!role_exists(r, ctx.p.id, role_name)) {
        http_fail(r, 400, "role '%s' does not exist in this project", role_name);
        goto out;
    }
    if (project_may_grant_role(r, &ctx, role_name, "give role") < 0)
        goto out;
    ret = principal_public_key(r, type, id, &pk, org_of_identity);
    if (ret == 0 && streq(type, "user"))
        ret = r->srv->store->ops->org_role(r->srv->store, ctx.p.org_id, id, role);
    else if (ret == 0 && !streq(org_of_identity, ctx.p.org_id))
        ret = -ENOENT;
    if (ret < 0) {
        http_fail(r, 404, "no %s '%s' in this project's organization", type, id);
        goto out;
    }
    memcpy(m.project_id, ctx.p.id, sizeof(m.project_id));
    snprintf(m.principal_type, sizeof(m.principal_type), "%s", type);
    snprintf(m.principal_id, sizeof(m.principal_id), "%s", id);
    snprintf(m.role, sizeof(m.role), "%s", role_name);
    m.wrapped_key = (struct store_blob){(uint8_t *)wrapped.ptr, wrapped.len};
    m.created_at = now_ms();
    ret = r->srv->store->ops->member_add(r->srv->store, &m);
    if (ret == -EEXIST) {
        http_fail(r, 409, "already a member of this project");
        goto out;
    }
    if (ret < 0) {
        http_fail_store(r, ret, "store failure adding a member");
        goto out;
    }
    meta =
        json_pack("{s:s, s:s, s:s}", "principalType", type, "principalId", id, "role", role_name);
    reply_audited(r, project_event(&ctx, "member.add", meta),
                  json_pack("{s:o}", "member", member_json(&m, pk.ptr, pk.len)));
    json_decref(meta);
out:
    store_blob_release(&pk);
    project_release(&ctx);
}

/* Would the project be left without an admin if principal_id stopped being one? */
static bool last_admin(struct req *r, const char *project_id, const char *principal_id)
{
    struct store_member *m = NULL;
    size_t n = 0, admins = 0;
    bool is_admin = false;

    if (r->srv->store->ops->member_list(r->srv->store, project_id, &m, &n) < 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (streq(m[i].role, "admin")) {
            admins++;
            is_admin |= streq(m[i].principal_id, principal_id);
        }
    store_members_free(m, n);
    return is_admin && admins == 1;
}

void api_members_update(struct req *r)
{
    json_t *body = req_body_json(r), *meta;
    struct project_ctx ctx;
    struct store_member target = {0};
    const char *id = req_param(r, 1), *role_name;
    int ret;

    if (!body)
        return;
    if (wire_get_str(body, "role", NAME_SLUG_MAX, &role_name) < 0) {
        http_fail(r, 400, "'role' is required");
        return;
    }
    if (project_open_checked(r, AUTHZ_MEMBERS, AUTHZ_EDIT, &ctx) < 0)
        return;
    if (streq(id, r->who.id)) {
        http_fail(r, 403,
                  "you cannot change your own role: ask another member who may edit members "
                  "(and holds the role's rights) to do it");
        goto out;
    }
    if (!role_exists(r, ctx.p.id, role_name)) {
        http_fail(r, 400, "role '%s' does not exist in this project", role_name);
        goto out;
    }
    ret = r->srv->store->ops->member_get(r->srv->store, ctx.p.id, id, &target);
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "member '%.64s' not found", id);
        goto out;
    }
    if (project_may_grant_role(r, &ctx, target.role, "change the role of a member whose role is") <
            0 ||
        project_may_grant_role(r, &ctx, role_name, "give role") < 0)
        goto out;
    if (!streq(role_name, "admin") && last_admin(r, ctx.p.id, id)) {
        http_fail(r, 409, "the project's last admin cannot be demoted");
        goto out;
    }
    ret = r->srv->store->ops->member_set_role(r->srv->store, ctx.p.id, id, role_name);
    if (ret == -EBUSY) { /* another admin was demoted meanwhile */
        http_fail(r, 409, "the project's last admin cannot be demoted");
        goto out;
    }
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "member '%.64s' not found", id);
        goto out;
    }
    meta = json_pack("{s:s, s:s}", "principalId", id, "role", role_name);
    reply_audited(r, project_event(&ctx, "member.update", meta),
                  json_pack("{s:{s:s, s:s}}", "member", "principalId", id, "role", role_name));
    json_decref(meta);
out:
    store_member_release(&target);
    project_release(&ctx);
}

void api_members_remove(struct req *r)
{
    struct project_ctx ctx;
    struct store_member target = {0};
    const char *id = req_param(r, 1);
    json_t *meta;
    int ret;

    if (project_open_checked(r, AUTHZ_MEMBERS, AUTHZ_DELETE, &ctx) < 0)
        return;
    ret = r->srv->store->ops->member_get(r->srv->store, ctx.p.id, id, &target);
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "member '%.64s' not found", id);
        goto out;
    }
    if (project_may_grant_role(r, &ctx, target.role, "remove a member whose role is") < 0)
        goto out;
    if (last_admin(r, ctx.p.id, id)) {
        http_fail(r, 409, "the project's last admin cannot be removed");
        goto out;
    }
    ret = r->srv->store->ops->member_remove(r->srv->store, ctx.p.id, id);
    if (ret == -EBUSY) { /* another admin was demoted meanwhile */
        http_fail(r, 409, "the project's last admin cannot be removed");
        goto out;
    }
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "member '%.64s' not found", id);
        goto out;
    }
    meta = json_pack("{s:s}", "principalId", id);
    reply_audited(r, project_event(&ctx, "member.remove", meta), json_object());
    json_decref(meta);
out:
    store_member_release(&target);
    project_release(&ctx);
}

void api_roles_list(struct req *r)
{
    static const char *const builtin[] = {"admin", "member", "viewer", "no-access"};
    struct project_ctx ctx;
    struct store_role *v = NULL;
    size_t n = 0;
    json_t *arr;
    int ret;

    if (project_open_checked(r, AUTHZ_ROLES, AUTHZ_READ, &ctx) < 0)
        return;
    ret = r->srv->store->ops->role_list(r->srv->store, ctx.p.id, &v, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing roles");
        goto out;
    }
    arr = json_array();
    for (size_t i = 0; i < ELEMENTSOF(builtin); i++) {
        struct authz_policy *p = NULL;
        _cleanup_buf_ struct buf text = BUF_INIT;
        json_t *rules = NULL;
        if (authz_policy_builtin(builtin[i], &p) == 0 && authz_policy_to_json(p, &text) == 0)
            wire_parse(text.ptr, text.len, &rules, NULL);
        authz_policy_free(p);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:o}", "slug", builtin[i], "name",
                                             builtin[i], "builtin", 1, "rules",
                                             rules ? rules : json_array()));
    }
    for (size_t i = 0; i < n; i++) {
        json_t *rules = NULL;
        wire_parse(v[i].rules, strlen(v[i].rules), &rules, NULL);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:o}", "slug", v[i].slug, "name",
                                             v[i].name, "builtin", 0, "rules",
                                             rules ? rules : json_array()));
    }
    http_reply(r, 200, json_pack("{s:o}", "roles", arr));
out:
    store_roles_free(v, n);
    project_release(&ctx);
}

/* body's "rules": *ret compiled, canon its canonical text (replies 400). */
static int role_rules(struct req *r, const json_t *body, struct authz_policy **ret,
                      struct buf *canon)
{
    _cleanup_buf_ struct buf err = BUF_INIT, text = BUF_INIT;
    json_t *rules;

    *ret = NULL;
    if (wire_get_arr(body, "rules", AUTHZ_MAX_RULES, &rules) < 0) {
        http_fail(r, 400, "'rules' must be an array of at most %d rules", AUTHZ_MAX_RULES);
        return -EINVAL;
    }
    if (wire_dump(&text, rules) < 0 || authz_policy_from_json(text.ptr, text.len, ret, &err) < 0 ||
        authz_policy_to_json(*ret, canon) < 0) {
        authz_policy_free(*ret);
        *ret = NULL;
        http_fail(r, 400, "invalid rules: %s", buf_str(&err));
        return -EINVAL;
    }
    return 0;
}

static json_t *role_json(const char *slug, const char *name, const char *rules_text)
{
    json_t *rules = NULL;

    wire_parse(rules_text, strlen(rules_text), &rules, NULL);
    return json_pack("{s:s, s:s, s:b, s:o}", "slug", slug, "name", name, "builtin", 0, "rules",
                     rules ? rules : json_array());
}

void api_roles_create(struct req *r)
{
    json_t *body = req_body_json(r), *meta;
    struct project_ctx ctx;
    struct store_role role = {0};
    struct authz_policy *p = NULL;
    _cleanup_buf_ struct buf canon = BUF_INIT;
    const char *slug, *name;
    char what[NAME_SLUG_MAX + 32];
    int ret;

    if (!body)
        return;
    if (wire_get_str(body, "slug", NAME_SLUG_MAX, &slug) < 0 || !name_slug_valid(slug) ||
        authz_role_is_builtin(slug)) {
        http_fail(r, 400, "'slug' must be a slug (a-z, 0-9, '-') that is not a built-in role");
        return;
    }
    if (wire_get_str_or(body, "name", NAME_TITLE_MAX, slug, &name) < 0 || !name_title_valid(name)) {
        http_fail(r, 400, "'name' must be 1 to %d printable characters", NAME_TITLE_MAX);
        return;
    }
    if (role_rules(r, body, &p, &canon) < 0)
        return;
    if (project_open_checked(r, AUTHZ_ROLES, AUTHZ_CREATE, &ctx) < 0) {
        authz_policy_free(p);
        return;
    }
    snprintf(what, sizeof(what), "create role '%s'", slug);
    ret = project_may_grant(r, &ctx, p, what);
    authz_policy_free(p);
    if (ret < 0)
        goto out;
    name_uuid(role.id);
    memcpy(role.project_id, ctx.p.id, sizeof(role.project_id));
    role.slug = (char *)slug;
    role.name = (char *)name;
    role.rules = canon.ptr;
    role.created_at = now_ms();
    ret = r->srv->store->ops->role_create(r->srv->store, &role);
    if (ret < 0) {
        http_fail(r, ret == -EEXIST ? 409 : 503, "cannot create role '%s'%s", slug,
                  ret == -EEXIST ? ": it exists" : "");
        goto out;
    }
    meta = json_pack("{s:s}", "slug", slug);
    reply_audited(r, project_event(&ctx, "role.create", meta),
                  json_pack("{s:o}", "role", role_json(slug, name, canon.ptr)));
    json_decref(meta);
out:
    project_release(&ctx);
}

/* PATCH {name?, rules?}: the caller must hold every right of the role as it
 * is (else editing it would take from its holders, or hand out, rights they
 * lack) and of its new rules.  Holders have the new rights at their next
 * request: policies are compiled per request, and the write stamps the
 * global epoch. */
void api_roles_update(struct req *r)
{
    json_t *body = req_body_json(r), *meta;
    struct project_ctx ctx;
    struct store_role old = {0};
    struct authz_policy *p = NULL, *oldp = NULL;
    _cleanup_buf_ struct buf canon = BUF_INIT, err = BUF_INIT;
    const char *slug = req_param(r, 1), *name = NULL;
    char what[NAME_SLUG_MAX + 64];
    int ret;

    if (!body)
        return;
    ret = wire_get_str(body, "name", NAME_TITLE_MAX, &name);
    if (ret == -ENOENT)
        name = NULL;
    else if (ret < 0 || !name_title_valid(name)) {
        http_fail(r, 400, "'name' must be 1 to %d printable characters", NAME_TITLE_MAX);
        return;
    }
    if (!name && !json_object_get(body, "rules")) {
        http_fail(r, 400, "nothing to change: give 'name' and/or 'rules'");
        return;
    }
    if (json_object_get(body, "rules") && role_rules(r, body, &p, &canon) < 0)
        return;
    if (project_open_checked(r, AUTHZ_ROLES, AUTHZ_EDIT, &ctx) < 0) {
        authz_policy_free(p);
        return;
    }
    if (authz_role_is_builtin(slug)) {
        http_fail(r, 400, "'%.64s' is a built-in role: it does not change", slug);
        goto out;
    }
    ret = r->srv->store->ops->role_get(r->srv->store, ctx.p.id, slug, &old);
    if (ret == 0 && authz_policy_from_json(old.rules, strlen(old.rules), &oldp, &err) < 0)
        ret = -EIO;
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "cannot read role '%.64s'%s", slug,
                  ret == -ENOENT ? ": no such custom role in this project" : "");
        goto out;
    }
    snprintf(what, sizeof(what), "change role '%s' (as it is)", slug);
    if (project_may_grant(r, &ctx, oldp, what) < 0)
        goto out;
    snprintf(what, sizeof(what), "give role '%s' these rules", slug);
    if (p && project_may_grant(r, &ctx, p, what) < 0)
        goto out;
    ret = r->srv->store->ops->role_update(r->srv->store, ctx.p.id, slug, name, p ? canon.ptr : NULL,
                                          old.rules);
    if (ret < 0) {
        http_fail(r,
                  ret == -ENOENT   ? 404
                  : ret == -ESTALE ? 409
                                   : 503,
                  "cannot change role '%.64s'%s", slug,
                  ret == -ESTALE ? ": it changed meanwhile, try again" : "");
        goto out;
    }
    meta = json_pack("{s:s, s:s?, s:b}", "slug", slug, "name", name, "rulesChanged", p != NULL);
    reply_audited(r, project_event(&ctx, "role.update", meta),
                  json_pack("{s:o}", "role",
                            role_json(slug, name ? name : old.name, p ? canon.ptr : old.rules)));
    json_decref(meta);
out:
    authz_policy_free(p);
    authz_policy_free(oldp);
    store_role_release(&old);
    project_release(&ctx);
}

void api_roles_delete(struct req *r)
{
    struct project_ctx ctx;
    const char *slug = req_param(r, 1);
    json_t *meta;
    int ret;

    if (project_open_checked(r, AUTHZ_ROLES, AUTHZ_DELETE, &ctx) < 0)
        return;
    ret = r->srv->store->ops->role_delete(r->srv->store, ctx.p.id, slug);
    if (ret < 0) {
        http_fail(r,
                  ret == -ENOENT  ? 404
                  : ret == -EBUSY ? 409
                                  : 503,
                  "cannot delete role '%.64s'%s", slug,
                  ret == -EBUSY ? ": a member still has it" : "");
        goto out;
    }
    meta = json_pack("{s:s}", "slug", slug);
    reply_audited(r, project_event(&ctx, "role.delete", meta), json_object());
    json_decref(meta);
out:
    project_release(&ctx);
}

/* Rotation needs admin on everything: settings edit stands for it. */
static int open_admin(struct req *r, struct project_ctx *ctx)
{
    int ret = project_open_checked(r, AUTHZ_SETTINGS, AUTHZ_EDIT, ctx);

    if (ret == 0 && r->who.kind == PRINCIPAL_SERVICE) {
        project_release(ctx);
        http_fail(r, 403, "service tokens cannot rotate project keys");
        return -EACCES;
    }
    return ret;
}

static json_t *blob_json(const struct store_blob *b)
{
    return b->len ? json_b64(b->ptr, b->len) : json_null();
}

void api_project_versions(struct req *r)
{
    struct project_ctx ctx;
    struct store_version_ref *v = NULL;
    struct store_member *m = NULL;
    size_t n = 0, n_m = 0;
    json_t *versions, *members, *meta;
    int ret;

    if (open_admin(r, &ctx) < 0)
        return;
    ret = r->srv->store->ops->project_versions(r->srv->store, ctx.p.id, &v, &n);
    if (ret == 0)
        ret = r->srv->store->ops->member_list(r->srv->store, ctx.p.id, &m, &n_m);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure reading the project");
        goto out;
    }
    versions = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            versions,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o}", "secretId", v[i].secret_id,
                      "environment", v[i].environment, "path", v[i].path, "key", v[i].key, "owner",
                      v[i].owner_id, "version", (json_int_t)v[i].version, "value",
                      blob_json(&v[i].value), "comment", blob_json(&v[i].comment)));
    members = json_array();
    for (size_t i = 0; i < n_m; i++) {
        struct store_blob pk = {0};
        principal_public_key(r, m[i].principal_type, m[i].principal_id, &pk, NULL);
        json_array_append_new(members, json_pack("{s:s, s:s, s:o}", "principalId",
                                                 m[i].principal_id, "principalType",
                                                 m[i].principal_type, "publicKey", blob_json(&pk)));
        store_blob_release(&pk);
    }
    /* every stored record of the project, ciphertext: audited as a read,
     * served only once the record is durable */
    meta = json_pack("{s:I}", "versions", (json_int_t)n);
    ret = audit_defer(r, &(struct audit_event){.event = "project.versions",
                                               .org_id = ctx.p.org_id,
                                               .project_id = ctx.p.id,
                                               .metadata = meta});
    json_decref(meta);
    if (ret == 0) {
        http_reply(r, 200, json_pack("{s:o, s:o}", "versions", versions, "members", members));
    } else {
        json_decref(versions);
        json_decref(members);
    }
out:
    store_version_refs_free(v, n);
    store_members_free(m, n_m);
    project_release(&ctx);
}

void api_project_rotate_key(struct req *r)
{
    json_t *body = req_body_json(r), *jm, *jv, *it, *meta;
    struct project_ctx ctx;
    struct store_rekey_member *m = NULL;
    struct store_rekey_version *v = NULL;
    struct buf *bufs = NULL;
    size_t n_m = 0, n_v = 0, i, nb = 0;
    int ret;

    if (!body)
        return;
    if (wire_get_arr(body, "members", 100000, &jm) < 0 ||
        wire_get_arr(body, "versions", 10000000, &jv) < 0) {
        http_fail(r, 400, "'members' and 'versions' arrays are required");
        return;
    }
    if (open_admin(r, &ctx) < 0)
        return;
    n_m = json_array_size(jm);
    n_v = json_array_size(jv);
    m = calloc(n_m ? n_m : 1, sizeof(*m));
    v = calloc(n_v ? n_v : 1, sizeof(*v));
    bufs = calloc(n_m + 2 * n_v + 1, sizeof(*bufs));
    if (!m || !v || !bufs) {
        http_fail(r, 500, "out of memory");
        goto out;
    }
    json_array_foreach(jm, i, it)
    {
        struct buf *b = &bufs[nb++];
        if (wire_get_str(it, "principalId", STORE_ID_LEN, &m[i].principal_id) < 0 ||
            req_b64_field(r, it, "encryptedProjectKey", SEAL_WRAPPED_BYTES, SEAL_WRAPPED_BYTES, b) <
                0) {
            if (!r->status)
                http_fail(r, 400, "each member needs 'principalId' and 'encryptedProjectKey'");
            goto out;
        }
        m[i].wrapped_key = (const uint8_t *)b->ptr;
        m[i].wrapped_key_len = b->len;
    }
    json_array_foreach(jv, i, it)
    {
        long long version;
        struct buf *bv = &bufs[nb++], *bc = &bufs[nb++];
        if (wire_get_str(it, "secretId", STORE_ID_LEN, &v[i].secret_id) < 0 ||
            wire_get_int(it, "version", &version) < 0) {
            http_fail(r, 400, "each version needs 'secretId' and 'version'");
            goto out;
        }
        v[i].version = version;
        /* null (a deletion) or a record: another type is refused, not taken for null */
        if (json_object_get(it, "value") && !json_is_null(json_object_get(it, "value")) &&
            req_b64_field(r, it, "value", SEAL_RECORD_OVERHEAD,
                          SERVER_VALUE_MAX + SEAL_RECORD_OVERHEAD, bv) < 0)
            goto out;
        if (json_object_get(it, "comment") && !json_is_null(json_object_get(it, "comment")) &&
            req_b64_field(r, it, "comment", SEAL_RECORD_OVERHEAD,
                          SERVER_VALUE_MAX + SEAL_RECORD_OVERHEAD, bc) < 0)
            goto out;
        v[i].value = bv->len ? (const uint8_t *)bv->ptr : NULL;
        v[i].value_len = bv->len;
        v[i].comment = bc->len ? (const uint8_t *)bc->ptr : NULL;
        v[i].comment_len = bc->len;
    }
    ret = r->srv->store->ops->project_rekey(r->srv->store, ctx.p.id, m, n_m, v, n_v);
    if (ret == -EINVAL) {
        http_fail(r, 400,
                  "the rotation must cover exactly the current members and every "
                  "stored version (did something change meanwhile? try again)");
        goto out;
    }
    if (ret < 0) {
        http_fail_store(r, ret, "store failure rotating the key");
        goto out;
    }
    meta = json_pack("{s:I, s:I}", "members", (json_int_t)n_m, "versions", (json_int_t)n_v);
    reply_audited(r, project_event(&ctx, "project.rotate-key", meta),
                  json_pack("{s:I, s:I, s:b}", "members", (json_int_t)n_m, "versions",
                            (json_int_t)n_v, "serviceTokensRevoked", 1));
    json_decref(meta);
out:
    for (i = 0; bufs && i < nb; i++)
        buf_release(&bufs[i]);
    free(bufs);
    free(m);
    free(v);
    project_release(&ctx);
}
