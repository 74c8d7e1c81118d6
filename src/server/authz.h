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
