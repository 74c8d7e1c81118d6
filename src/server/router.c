/* router.c - the route table and its matcher.
 *
 * Patterns are literal segments and ":name" parameters.  The path has already
 * been made canonical by http.c (no empty segments, no trailing '/').  A path
 * that matches a pattern under another method is a 405, otherwise a 404.
 * Parameters point into a copy of the path owned by the request. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "server.h"

#define A "/api/arca/v1"

static const struct route routes[] = {
    {"GET", "/api/status", api_status, ROUTE_PUBLIC | ROUTE_QUIET},
    {"GET", "/api/ready", api_ready, ROUTE_PUBLIC | ROUTE_QUIET},
    {"POST", A "/bootstrap", api_bootstrap, ROUTE_PUBLIC},
    {"POST", A "/auth/params", api_auth_params, ROUTE_PUBLIC},
    {"POST", A "/auth/login", api_auth_login, ROUTE_PUBLIC},
    {"POST", A "/auth/logout", api_auth_logout, 0},
    {"POST", A "/auth/password", api_auth_password, 0},
    {"GET", A "/users/me", api_users_me, 0},
    {"POST", A "/projects", api_projects_create, 0},
    {"GET", A "/projects", api_projects_list, 0},
    {"GET", A "/projects/:projectId", api_projects_get, 0},
    {"PATCH", A "/projects/:projectId", api_projects_update, 0},
    {"DELETE", A "/projects/:projectId", api_projects_delete, 0},
    {"GET", A "/projects/:projectId/secrets", api_secrets_list, ROUTE_CACHED},
    {"POST", A "/projects/:projectId/secrets/batch", api_secrets_batch, 0},
    {"GET", A "/projects/:projectId/secrets/:key", api_secrets_get, ROUTE_CACHED},
    {"DELETE", A "/projects/:projectId/secrets/:key", api_secrets_delete, 0},
    {"GET", A "/projects/:projectId/secrets/:key/versions", api_secrets_versions, ROUTE_CACHED},
    {"POST", A "/projects/:projectId/secrets/:key/rollback", api_secrets_rollback_one, 0},
    {"POST", A "/projects/:projectId/secrets/rollback", api_secrets_rollback_folder, 0},
    {"POST", A "/invites", api_invites_create, 0},
    {"GET", A "/invites", api_invites_list, 0},
    {"DELETE", A "/invites/:inviteId", api_invites_revoke, 0},
    {"POST", A "/signup", api_signup, ROUTE_PUBLIC},
    {"GET", A "/users/lookup", api_users_lookup, 0},
    {"GET", A "/users", api_users_list, 0},
    {"DELETE", A "/users/:userId", api_users_remove, 0},
    {"GET", A "/projects/:projectId/members", api_members_list, 0},
    {"POST", A "/projects/:projectId/members", api_members_add, 0},
    {"PATCH", A "/projects/:projectId/members/:principalId", api_members_update, 0},
    {"DELETE", A "/projects/:projectId/members/:principalId", api_members_remove, 0},
    {"GET", A "/projects/:projectId/roles", api_roles_list, 0},
    {"POST", A "/projects/:projectId/roles", api_roles_create, 0},
    {"PATCH", A "/projects/:projectId/roles/:slug", api_roles_update, 0},
    {"DELETE", A "/projects/:projectId/roles/:slug", api_roles_delete, 0},
    {"GET", A "/projects/:projectId/versions", api_project_versions, 0},
    {"POST", A "/projects/:projectId/rotate-key", api_project_rotate_key, 0},
    {"POST", A "/identities", api_identities_create, 0},
    {"GET", A "/identities", api_identities_list, 0},
    {"DELETE", A "/identities/:identityId", api_identities_delete, 0},
    {"POST", A "/identities/:identityId/client-secrets", api_client_secrets_create, 0},
    {"GET", A "/identities/:identityId/client-secrets", api_client_secrets_list, 0},
    {"DELETE", A "/identities/:identityId/client-secrets/:secretId", api_client_secrets_revoke, 0},
    {"POST", A "/auth/identity/login", api_identity_login, ROUTE_PUBLIC},
    {"POST", A "/auth/token/renew", api_token_renew, ROUTE_PUBLIC},
    {"POST", A "/auth/token/revoke", api_token_revoke, ROUTE_PUBLIC},
    {"POST", A "/projects/:projectId/service-tokens", api_service_tokens_create, 0},
    {"GET", A "/projects/:projectId/service-tokens", api_service_tokens_list, 0},
    {"DELETE", A "/projects/:projectId/service-tokens/:tokenId", api_service_tokens_revoke, 0},
    {"GET", A "/projects/:projectId/watch", api_watch, 0},
    {"GET", A "/projects/:projectId/folders", api_folders_list, 0},
    {"POST", A "/projects/:projectId/folders", api_folders_create, 0},
    {"DELETE", A "/projects/:projectId/folders/:folderIdOrName", api_folders_delete, 0},
    {"GET", A "/projects/:projectId/imports", api_imports_list, 0},
    {"POST", A "/projects/:projectId/imports", api_imports_create, 0},
    {"PATCH", A "/projects/:projectId/imports/:importId", api_imports_update, 0},
    {"DELETE", A "/projects/:projectId/imports/:importId", api_imports_delete, 0},
    {"GET", A "/service-token", api_service_token_self, 0},
    {"GET", A "/audit-logs", api_audit_list, 0},
    {"GET", A "/audit-logs/verify", api_audit_verify, 0},
    {"POST", A "/shares", api_shares_create, 0},
    {"GET", A "/shares", api_shares_list, 0},
    {"DELETE", A "/shares/:shareId", api_shares_revoke, 0},
    {"POST", A "/shares/:shareId/info", api_shares_get, ROUTE_PUBLIC},
    {"POST", A "/shares/:shareId/open", api_shares_open, ROUTE_PUBLIC},
    {"GET", A "/share-policy", api_share_policy_get, 0},
    {"PUT", A "/share-policy", api_share_policy_set, 0},
    /* Infisical-compatible routes (infisical-api.md) */
    {"POST", "/api/v1/auth/universal-auth/login", api_ua_login, ROUTE_PUBLIC},
    {"POST", "/api/v1/auth/token/renew", api_token_renew, ROUTE_PUBLIC},
    {"POST", "/api/v1/auth/token/revoke", api_token_revoke, ROUTE_PUBLIC},
    {"GET", "/api/v3/secrets/raw", api_raw_list, ROUTE_CACHED},
    {"GET", "/api/v3/secrets/raw/:secretName", api_raw_get, ROUTE_CACHED},
    {"POST", "/api/v3/secrets/raw/:secretName", api_raw_create, 0},
    {"PATCH", "/api/v3/secrets/raw/:secretName", api_raw_update, 0},
    {"DELETE", "/api/v3/secrets/raw/:secretName", api_raw_delete, 0},
    {"GET", "/api/v4/secrets", api_raw_list, ROUTE_CACHED},
    {"POST", "/api/v3/secrets/batch/raw", api_batch_create, 0},
    {"PATCH", "/api/v3/secrets/batch/raw", api_batch_update, 0},
    {"DELETE", "/api/v3/secrets/batch/raw", api_batch_delete, 0},
    {"POST", "/api/v4/secrets/batch", api_batch_create, 0},
    {"PATCH", "/api/v4/secrets/batch", api_batch_update, 0},
    {"DELETE", "/api/v4/secrets/batch", api_batch_delete, 0},
    {"GET", "/api/v4/secrets/:secretName", api_raw_get, ROUTE_CACHED},
    {"POST", "/api/v4/secrets/:secretName", api_raw_create, 0},
    {"PATCH", "/api/v4/secrets/:secretName", api_raw_update, 0},
    {"DELETE", "/api/v4/secrets/:secretName", api_raw_delete, 0},
    /* Infisical project administration, and arca's environment routes that
     * share its handlers (api_workspace.c) */
    {"POST", "/api/v2/workspace", api_workspace_create, 0},
    {"GET", "/api/v1/workspace", api_workspace_list, 0},
    {"GET", "/api/v1/workspace/:workspaceId", api_workspace_get, 0},
    {"POST", "/api/v1/workspace/:workspaceId/environments", api_environments_create, 0},
    {"GET", "/api/v1/workspace/:workspaceId/environments/:envId", api_environments_get, 0},
    {"PATCH", "/api/v1/workspace/:workspaceId/environments/:envId", api_environments_update, 0},
    {"DELETE", "/api/v1/workspace/:workspaceId/environments/:envId", api_environments_delete, 0},
    {"GET", "/api/v1/workspace/:workspaceId/memberships", api_workspace_members_list, 0},
    {"POST", "/api/v2/workspace/:projectId/memberships", api_workspace_members_add, 0},
    {"GET", "/api/v2/service-token", api_service_token_v2, 0},
    {"POST", A "/projects/:projectId/environments", api_environments_create, 0},
    {"PATCH", A "/projects/:projectId/environments/:slug", api_environments_update, 0},
    {"DELETE", A "/projects/:projectId/environments/:slug", api_environments_delete, 0},
    {"GET", "/api/v1/folders", api_folders_list, 0},
    {"POST", "/api/v1/folders", api_folders_create, 0},
    {"GET", "/api/v1/folders/:folderId", api_folders_get, 0},
    {"PATCH", "/api/v1/folders/:folderId", api_folders_rename, 0},
    {"DELETE", "/api/v1/folders/:folderIdOrName", api_folders_delete, 0},
    {"GET", "/api/v2/folders", api_folders_list, 0},
    {"POST", "/api/v2/folders", api_folders_create, 0},
    {"GET", "/api/v2/folders/:folderId", api_folders_get, 0},
    {"PATCH", "/api/v2/folders/:folderId", api_folders_rename, 0},
    {"DELETE", "/api/v2/folders/:folderIdOrName", api_folders_delete, 0},
    {"GET", "/api/v1/secret-imports", api_imports_list, 0},
    {"POST", "/api/v1/secret-imports", api_imports_create, 0},
    {"PATCH", "/api/v1/secret-imports/:secretImportId", api_imports_update, 0},
    {"DELETE", "/api/v1/secret-imports/:secretImportId", api_imports_delete, 0},
    {"GET", "/api/v2/secret-imports", api_imports_list, 0},
    {"POST", "/api/v2/secret-imports", api_imports_create, 0},
    {"PATCH", "/api/v2/secret-imports/:secretImportId", api_imports_update, 0},
    {"DELETE", "/api/v2/secret-imports/:secretImportId", api_imports_delete, 0},
};

/* Matches path against pattern; on success stores the parameters (pointers
 * into scratch, a writable copy of path) in r. */
static bool match(const char *pattern, char *scratch, struct req *r)
{
    const char *p = pattern;
    char *s = scratch;

    r->n_params = 0;
    while (*p && *s) {
        const char *pe = strchr(p + 1, '/');
        char *se = strchr(s + 1, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t sl = se ? (size_t)(se - s) : strlen(s);

        if (p[1] == ':') {
            if (r->n_params == REQ_MAX_PARAMS || sl < 2)
                return false;
            r->params[r->n_params++] = s + 1;
        } else if (pl != sl || memcmp(p, s, pl) != 0) {
            return false;
        }
        p += pl;
        s += sl;
    }
    if (*p || *s)
        return false;
    /* terminate the parameters in place */
    for (size_t i = 0; i < r->n_params; i++) {
        char *end = strchr(r->params[i], '/');
        if (end)
            *end = 0;
    }
    return true;
}

const struct route *router_table(size_t *ret_n)
{
    *ret_n = ELEMENTSOF(routes);
    return routes;
}

const struct route *router_match(struct req *r, unsigned *ret_status)
{
    size_t n = strlen(r->path) + 1;
    bool other_method = false;

    free(r->param_buf);
    r->param_buf = malloc(n);
    if (!r->param_buf) {
        *ret_status = 500;
        return NULL;
    }
    for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
        memcpy(r->param_buf, r->path, n);
        if (!match(routes[i].pattern, r->param_buf, r))
            continue;
        if (streq(routes[i].method, r->method))
            return &routes[i];
        other_method = true;
    }
    r->n_params = 0;
    *ret_status = other_method ? 405 : 404;
    return NULL;
}
