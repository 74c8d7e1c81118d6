/* authz.h - who may do what: roles made of rules, compiled once, checked on
 * every route.
 *
 * A rule is (subject, actions, environments, folder glob, allow|deny).  A
 * request is allowed when at least one allow rule matches it and no deny rule
 * does (deny wins).  For secrets, "describe" lets a principal list names (and
 * versions) without values; "read" implies "describe".
 *
 * JSON form of a policy (custom roles are stored and exchanged like this):
 *   [{"subject": "secrets", "actions": ["read", "create"],
 *     "environments": ["dev", "staging"],      (absent or ["*"]: any)
 *     "secretPath": "/app",                     (absent: any; a glob, see glob.h)
 *     "deny": false}]
 * Subjects: secrets, folders, members, roles, identities, service-tokens,
 * audit-logs, settings.  Actions: read, create, edit, delete, describe, or "*"
 * for all.  Environments and paths only restrict secrets and folders; on other
 * subjects they must be absent. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

enum authz_subject {
    AUTHZ_SECRETS,
    AUTHZ_FOLDERS,
    AUTHZ_MEMBERS,
    AUTHZ_ROLES,
    AUTHZ_IDENTITIES,
    AUTHZ_SERVICE_TOKENS,
    AUTHZ_AUDIT_LOGS,
    AUTHZ_SETTINGS,
    AUTHZ_N_SUBJECTS,
};

enum authz_action {
    AUTHZ_READ = 1 << 0,
    AUTHZ_CREATE = 1 << 1,
    AUTHZ_EDIT = 1 << 2,
    AUTHZ_DELETE = 1 << 3,
    AUTHZ_DESCRIBE = 1 << 4, /* list names, not values */
    AUTHZ_ALL = (1 << 5) - 1,
};

#define AUTHZ_MAX_RULES 64
#define AUTHZ_MAX_ENVS 32

struct authz_rule {
    enum authz_subject subject;
    unsigned actions; /* enum authz_action bits; READ implies DESCRIBE when checking */
    char **envs;      /* OWNED; NULL = any environment */
    size_t n_envs;
    char *path_glob; /* OWNED; NULL = any folder */
    bool deny;
};

struct authz_policy {
    struct authz_rule *rules; /* OWNED */
    size_t n;
    /* OWNED; NULL, or a policy that must allow each request as well: a
     * service token's is its creator's current role (authz_policy_limit) */
    struct authz_policy *within;
};

/* The built-in project roles:
 *   admin     everything
 *   member    secrets and folders: everything; service tokens: everything;
 *             members, roles, identities, audit logs, settings: read
 *   viewer    secrets, folders, members, roles, identities, audit logs: read
 *   no-access nothing
 * -ENOENT for another name. */
int authz_policy_builtin(const char *role, struct authz_policy **ret);
bool authz_role_is_builtin(const char *role);

/* Parses and validates the JSON form (a json array text).  -EINVAL with a
 * message in err (never echoing more than a name). */
int authz_policy_from_json(const char *json, size_t len, struct authz_policy **ret,
                           struct buf *err);
/* Appends the canonical JSON form. */
int authz_policy_to_json(const struct authz_policy *p, struct buf *out);

/* The policy of a service token: for each scope (environment, path glob) allow
 * secrets read+describe (and create, edit, delete when write is true). */
int authz_policy_for_scopes(const char *const *envs, const char *const *globs, size_t n, bool write,
                            struct authz_policy **ret);

void authz_policy_free(struct authz_policy *p);

/* Limits p to what within allows too (TAKES within; replaces an earlier one). */
void authz_policy_limit(struct authz_policy *p, struct authz_policy *within);

/* Is action (one bit) on subject allowed?  env and path are the environment
 * slug and canonical folder path of the object for secrets and folders, NULL
 * otherwise. */
bool authz_allows(const struct authz_policy *p, enum authz_subject subject, unsigned action,
                  const char *env, const char *path);

/* Grants.  Does granter hold every right that granted gives: for every
 * subject, action, environment and folder path (including "none given"),
 * granted allows => granter allows?  Returns 0 when it does; -EACCES when it
 * does not, with one missing right in why ("secrets:read in prod:/db/<other>",
 * where <other> stands for any name the rules do not mention); -E2BIG when the
 * two policies are too large to compare (why says so); -ENOMEM.
 *
 * Environments are compared exactly (every slug a rule names, plus one that no
 * rule names).  Folder globs are compared exactly when each is a literal
 * folder, "FOLDER/ *" or "FOLDER/ **" (spaces only for this comment): the check
 * then tries every folder a glob names, one child and one grandchild of each
 * with a name no rule mentions, and "/".  Any other glob is approximated on the
 * safe side: it counts as FOLDER/ ** (FOLDER being its literal start) where
 * that gives more (granted allows, granter denies), and as matching nothing
 * where that gives less (granted denies, granter allows).  The answer never
 * says yes wrongly; *approximate (may be NULL) tells whether a refusal may be
 * due to that rounding.  A granted policy's `within` is left out (it only
 * narrows); a granter with one is -EINVAL (service tokens grant nothing). */
int authz_policy_covers(const struct authz_policy *granter, const struct authz_policy *granted,
                        struct buf *why, bool *approximate);

/* Names, for messages and JSON. */
const char *authz_subject_name(enum authz_subject s);
const char *authz_action_name(unsigned action);

/* The request-level checks (authz_project.c: they need the request and the
 * store; struct project_ctx is in server.h).  Every "may this principal do
 * this?" of a handler is one of these.
 *
 * project_open checks that the caller is a member (or, for a service token,
 * that it is the token's project): 404 for a project that does not exist or
 * the caller is not in (no existence oracle).  project_allows checks the
 * member's role (built-in or custom) against (subject, action, environment,
 * path); on a denial it records a "permission.denied" audit record and
 * replies 403.  Both reply and return a negative errno on failure; on success
 * ctx is OWNED (project_release). */
struct req;
struct project_ctx;

int project_open(struct req *r, const char *project_id, struct project_ctx *ctx);
int project_allows(struct req *r, struct project_ctx *ctx, int subject, unsigned action,
                   const char *env, const char *path);
/* Same check without replying or auditing. */
bool project_can(struct req *r, struct project_ctx *ctx, int subject, unsigned action,
                 const char *env, const char *path);
void project_release(struct project_ctx *ctx);
/* The compiled policy of role_name in project_id (built-in or custom; a
 * deleted custom role is no-access); ret OWNED. */
int project_role_policy(struct req *r, const char *project_id, const char *role_name,
                        struct authz_policy **ret);
/* May the caller grant what `granted` allows (authz_policy_covers against the
 * caller's own policy)?  0, or replies 403 naming a missing right (audited as
 * permission.denied), 400 when too large to compare, and returns < 0.  what
 * completes "you cannot ...", e.g. "give role 'admin'". */
int project_may_grant(struct req *r, struct project_ctx *ctx, const struct authz_policy *granted,
                      const char *what);
/* project_may_grant for the rights of role_name; what is followed by the
 * role's name ("give role" -> "you cannot give role 'admin': ..."). */
int project_may_grant_role(struct req *r, struct project_ctx *ctx, const char *role_name,
                           const char *what);
/* project_open of path parameter 0, then project_allows(subject, action)
 * without environment or path; on failure replied, nothing to release. */
int project_open_checked(struct req *r, int subject, unsigned action, struct project_ctx *ctx);
/* A role name is usable in a project: built-in, or one of its custom roles. */
bool role_exists(struct req *r, const char *project_id, const char *role);
/* Role of user_id in org_id ("admin", "member") or NULL if not a member. */
int org_role_of(struct req *r, const char *org_id, char role[16]);
