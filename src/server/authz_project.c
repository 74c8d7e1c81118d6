/* authz_project.c - the questions "may this principal do this?" that need
 * the request and the store: membership of a project (project_open), the
 * member's compiled role (built-in or custom) and the checks against it
 * (project_can, project_allows, project_may_grant), an organization role.
 * The rules themselves are authz.c's, which needs base/ only.  Every handler
 * asks here; a denial is audited as "permission.denied". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "server.h"

int org_role_of(struct req *r, const char *org_id, char role[16])
{
    if (r->who.kind != PRINCIPAL_USER)
        return -EACCES;
    return r->srv->store->ops->org_role(r->srv->store, org_id, r->who.id, role);
}

void project_release(struct project_ctx *ctx)
{
    store_project_release(&ctx->p);
    store_member_release(&ctx->m);
    if (!ctx->policy_borrowed)
        authz_policy_free(ctx->policy);
    ctx->policy = NULL;
}

int project_role_policy(struct req *r, const char *project_id, const char *role_name,
                        struct authz_policy **ret)
{
    struct store_role role = {0};
    _cleanup_buf_ struct buf err = BUF_INIT;
    int rc;

    if (authz_role_is_builtin(role_name))
        return authz_policy_builtin(role_name, ret);
    rc = r->srv->store->ops->role_get(r->srv->store, project_id, role_name, &role);
    if (rc == 0)
        rc = authz_policy_from_json(role.rules, strlen(role.rules), ret, &err);
    store_role_release(&role);
    if (rc == -ENOENT) /* the role was deleted: nothing is allowed */
        rc = authz_policy_builtin("no-access", ret);
    return rc;
}

/* Compiles the member's role: built-in, or a custom role of the project. */
static int load_policy(struct req *r, struct project_ctx *ctx)
{
    if (ctx->policy)
        return 0;
    return project_role_policy(r, ctx->p.id, ctx->m.role, &ctx->policy);
}

/* Records a request for a project the caller is not in (or that does not
 * exist: the same record, no oracle), under that project's id if it is one. */
static void project_denied(struct req *r, const char *project_id)
{
    json_t *meta = json_pack("{s:s, s:s, s:s%}", "reason", "not a member of the project", "method",
                             r->method, "request", r->path, strnlen(r->path, 256));

    audit_denied(
        r, &(struct audit_event){.event = "permission.denied",
                                 .project_id = name_uuid_valid(project_id) ? project_id : NULL,
                                 .metadata = meta});
    json_decref(meta);
}

int project_open(struct req *r, const char *project_id, struct project_ctx *ctx)
{
    struct store *s = r->srv->store;
    int ret;

    memset(ctx, 0, sizeof(*ctx));
    if (!name_uuid_valid(project_id) ||
        (r->who.kind == PRINCIPAL_SERVICE && !streq(project_id, r->who.project_id))) {
        project_denied(r, project_id);
        http_fail(r, 404, "project '%.64s' not found", project_id);
        return -ENOENT;
    }
    if (r->who.kind == PRINCIPAL_SERVICE) {
        memcpy(ctx->m.project_id, project_id, sizeof(ctx->m.project_id));
        memcpy(ctx->m.principal_id, r->who.id, sizeof(ctx->m.principal_id));
        strcpy(ctx->m.principal_type, "service");
        strcpy(ctx->m.role, "service-token");
        ctx->policy = r->who.policy;
        ctx->policy_borrowed = true;
        ret = 0;
    } else {
        ret = s->ops->member_get(s, project_id, r->who.id, &ctx->m);
    }
    if (ret == -ENOENT) {
        /* not a member looks the same as no project */
        project_denied(r, project_id);
        http_fail(r, 404, "project '%s' not found", project_id);
        return ret;
    }
    if (ret == 0)
        ret = s->ops->project_get(s, project_id, &ctx->p);
    if (ret == 0)
        ret = load_policy(r, ctx);
    if (ret < 0) {
        project_release(ctx);
        http_fail_store(r, ret, "cannot open project '%s'", project_id);
        return ret;
    }
    return 0;
}

bool project_can(struct req *r, struct project_ctx *ctx, int subject, unsigned action,
                 const char *env, const char *path)
{
    return authz_allows(ctx->policy, (enum authz_subject)subject, action, env, path);
}

int project_allows(struct req *r, struct project_ctx *ctx, int subject, unsigned action,
                   const char *env, const char *path)
{
    const char *sname = authz_subject_name((enum authz_subject)subject);
    const char *aname = authz_action_name(action);
    json_t *meta;

    if (project_can(r, ctx, subject, action, env, path))
        return 0;
    meta = json_pack("{s:s, s:s, s:s}", "subject", sname, "action", aname, "role", ctx->m.role);
    audit_denied(r, &(struct audit_event){.event = "permission.denied",
                                          .org_id = ctx->p.org_id,
                                          .project_id = ctx->p.id,
                                          .environment = env,
                                          .path = path,
                                          .metadata = meta});
    json_decref(meta);
    if (env)
        http_fail(r, 403, "you are not allowed to %s %s in %.64s:%.200s (role '%s')", aname, sname,
                  env, path ? path : "/", ctx->m.role);
    else
        http_fail(r, 403, "you are not allowed to %s %s in this project (role '%s')", aname, sname,
                  ctx->m.role);
    return -EACCES;
}

int project_may_grant(struct req *r, struct project_ctx *ctx, const struct authz_policy *granted,
                      const char *what)
{
    _cleanup_buf_ struct buf why = BUF_INIT;
    bool approximate = false;
    json_t *meta;
    int ret = authz_policy_covers(ctx->policy, granted, &why, &approximate);

    if (ret == 0)
        return 0;
    if (ret != -EACCES && ret != -E2BIG) {
        http_fail(r, 500, "cannot compare %s with your role (%d)", what, ret);
        return ret;
    }
    meta =
        json_pack("{s:s, s:s, s:s}", "grant", what, "missing", buf_str(&why), "role", ctx->m.role);
    audit_log(r, &(struct audit_event){.event = "permission.denied",
                                       .outcome = "denied",
                                       .org_id = ctx->p.org_id,
                                       .project_id = ctx->p.id,
                                       .metadata = meta});
    json_decref(meta);
    if (ret == -E2BIG)
        http_fail(r, 400, "cannot check %s against your role '%s': %s", what, ctx->m.role,
                  buf_str(&why));
    else
        http_fail(r, 403,
                  "you cannot %s: it would give %s, which your role '%s' does not allow (nobody "
                  "grants a right they do not hold)%s",
                  what, buf_str(&why), ctx->m.role,
                  approximate ? "; folder patterns with a wildcard inside a name, or '**' "
                                "before their end, are compared on the safe side only: write "
                                "FOLDER, FOLDER/* or FOLDER/** instead"
                              : "");
    return -EACCES;
}

int project_may_grant_role(struct req *r, struct project_ctx *ctx, const char *role_name,
                           const char *what)
{
    struct authz_policy *p = NULL;
    char text[NAME_TITLE_MAX + 4 * NAME_SLUG_MAX];
    int ret = project_role_policy(r, ctx->p.id, role_name, &p);

    if (ret < 0) {
        http_fail_store(r, ret, "cannot read role '%.64s'", role_name);
        return ret;
    }
    snprintf(text, sizeof(text), "%s '%.64s'", what, role_name);
    ret = project_may_grant(r, ctx, p, text);
    authz_policy_free(p);
    return ret;
}

int project_open_checked(struct req *r, int subject, unsigned action, struct project_ctx *ctx)
{
    if (project_open(r, req_param(r, 0), ctx) < 0)
        return -ENOENT;
    if (project_allows(r, ctx, subject, action, NULL, NULL) < 0) {
        project_release(ctx);
        return -EACCES;
    }
    return 0;
}

bool role_exists(struct req *r, const char *project_id, const char *role)
{
    struct store_role sr = {0};
    bool ok;

    if (authz_role_is_builtin(role))
        return true;
    ok = r->srv->store->ops->role_get(r->srv->store, project_id, role, &sr) == 0;
    store_role_release(&sr);
    return ok;
}
