/* test_authz.c - roles and rules: the built-in role table, custom roles with
 * environment and folder conditions, deny wins, describe-only access,
 * service-token scopes, the JSON form and every refusal of it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "server/authz.h"

static const unsigned actions[] = {AUTHZ_READ, AUTHZ_CREATE, AUTHZ_EDIT, AUTHZ_DELETE,
                                   AUTHZ_DESCRIBE};

static struct authz_policy *builtin(const char *role)
{
    struct authz_policy *p = NULL;

    cr_assert_eq(authz_policy_builtin(role, &p), 0, "%s", role);
    cr_assert_not_null(p);
    return p;
}

static struct authz_policy *from_json(const char *json)
{
    struct authz_policy *p = NULL;
    _cleanup_buf_ struct buf err = BUF_INIT;

    cr_assert_eq(authz_policy_from_json(json, strlen(json), &p, &err), 0, "%s: %s", json,
                 buf_str(&err));
    cr_assert_not_null(p);
    return p;
}

static bool scoped(enum authz_subject s)
{
    return s == AUTHZ_SECRETS || s == AUTHZ_FOLDERS;
}

/* The built-in roles as the product describes them, written out again here. */
static unsigned expected_grant(const char *role, enum authz_subject s)
{
    if (strcmp(role, "admin") == 0)
        return AUTHZ_ALL;
    if (strcmp(role, "member") == 0) {
        if (s == AUTHZ_SECRETS || s == AUTHZ_FOLDERS || s == AUTHZ_SERVICE_TOKENS)
            return AUTHZ_ALL;
        return AUTHZ_READ | AUTHZ_DESCRIBE;
    }
    if (strcmp(role, "viewer") == 0) {
        if (s == AUTHZ_SERVICE_TOKENS || s == AUTHZ_SETTINGS)
            return 0;
        return AUTHZ_READ | AUTHZ_DESCRIBE;
    }
    return 0;
}

Test(authz, builtin_role_table)
{
    static const char *roles[] = {"admin", "member", "viewer", "no-access"};

    for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
        struct authz_policy *p = builtin(roles[r]);

        cr_assert(authz_role_is_builtin(roles[r]));
        for (unsigned s = 0; s < AUTHZ_N_SUBJECTS; s++) {
            for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++) {
                bool want = (expected_grant(roles[r], s) & actions[a]) != 0;
                const char *env = scoped(s) ? "prod" : NULL;
                const char *path = scoped(s) ? "/app/api" : NULL;

                cr_assert_eq(authz_allows(p, s, actions[a], env, path), want, "%s %s:%s", roles[r],
                             authz_subject_name(s), authz_action_name(actions[a]));
                /* built-in roles are not restricted: no env or path needed */
                cr_assert_eq(authz_allows(p, s, actions[a], NULL, NULL), want);
            }
        }
        authz_policy_free(p);
    }
}

Test(authz, unknown_roles)
{
    struct authz_policy *p = NULL;

    cr_assert_eq(authz_policy_builtin("owner", &p), -ENOENT);
    cr_assert_eq(authz_policy_builtin("Admin", &p), -ENOENT);
    cr_assert_eq(authz_policy_builtin("", &p), -ENOENT);
    cr_assert_eq(authz_policy_builtin(NULL, &p), -ENOENT);
    cr_assert_null(p);
    cr_assert_not(authz_role_is_builtin("developer"));
    cr_assert_not(authz_role_is_builtin("admin "));
    cr_assert_not(authz_role_is_builtin(NULL));
}

Test(authz, names)
{
    static const char *subjects[] = {"secrets",    "folders",        "members",    "roles",
                                     "identities", "service-tokens", "audit-logs", "settings"};
    static const char *action_names[] = {"read", "create", "edit", "delete", "describe"};

    for (unsigned s = 0; s < AUTHZ_N_SUBJECTS; s++)
        cr_assert_str_eq(authz_subject_name(s), subjects[s]);
    for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++)
        cr_assert_str_eq(authz_action_name(actions[a]), action_names[a]);
    cr_assert_str_eq(authz_action_name(AUTHZ_ALL), "*");
    cr_assert_str_eq(authz_action_name(AUTHZ_READ | AUTHZ_EDIT), "unknown");
    cr_assert_str_eq(authz_subject_name(AUTHZ_N_SUBJECTS), "unknown");
}

Test(authz, odd_requests_are_refused)
{
    struct authz_policy *p = builtin("admin");

    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, 0, "dev", "/"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ | AUTHZ_EDIT, "dev", "/"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, 1u << 5, "dev", "/"));
    cr_assert_not(authz_allows(p, AUTHZ_N_SUBJECTS, AUTHZ_READ, NULL, NULL));
    cr_assert_not(authz_allows(NULL, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/"));
    authz_policy_free(p);
}

#define DEVELOPER                                                                                  \
    "[{\"subject\": \"secrets\", \"actions\": [\"read\", \"create\", \"edit\", \"delete\"],"       \
    "  \"environments\": [\"dev\", \"staging\"], \"secretPath\": \"/**\"},"                        \
    " {\"subject\": \"secrets\", \"actions\": [\"*\"], \"environments\": [\"prod\"],"              \
    "  \"secretPath\": \"/**\", \"deny\": true}]"

Test(authz, developer_role)
{
    struct authz_policy *p = from_json(DEVELOPER);
    static const char *paths[] = {"/", "/app", "/app/api/v1"};

    for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++) {
        for (size_t k = 0; k < 3; k++) {
            cr_assert(authz_allows(p, AUTHZ_SECRETS, actions[a], "dev", paths[k]));
            cr_assert(authz_allows(p, AUTHZ_SECRETS, actions[a], "staging", paths[k]));
            cr_assert_not(authz_allows(p, AUTHZ_SECRETS, actions[a], "prod", paths[k]), "prod %s",
                          authz_action_name(actions[a]));
            cr_assert_not(authz_allows(p, AUTHZ_SECRETS, actions[a], "qa", paths[k]));
        }
        /* nothing else was granted */
        for (unsigned s = 0; s < AUTHZ_N_SUBJECTS; s++)
            if (s != AUTHZ_SECRETS)
                cr_assert_not(authz_allows(p, s, actions[a], scoped(s) ? "dev" : NULL,
                                           scoped(s) ? "/" : NULL));
    }
    cr_assert_not(authz_allows(p, AUTHZ_MEMBERS, AUTHZ_READ, NULL, NULL));
    cr_assert_not(authz_allows(p, AUTHZ_MEMBERS, AUTHZ_CREATE, NULL, NULL));
    /* no environment given: a restricted allow does not match */
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, NULL, "/app"));
    /* an all-"**" glob is unrestricted, so a missing path is fine */
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", NULL));
    authz_policy_free(p);
}

Test(authz, deny_wins)
{
    struct authz_policy *p = from_json(
        "[{\"subject\": \"secrets\", \"actions\": [\"delete\"], \"environments\": [\"prod\"],"
        "  \"deny\": true},"
        " {\"subject\": \"secrets\", \"actions\": [\"*\"]},"
        " {\"subject\": \"folders\", \"actions\": [\"*\"], \"secretPath\": \"/locked/**\","
        "  \"deny\": true},"
        " {\"subject\": \"folders\", \"actions\": [\"*\"]}]");

    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_DELETE, "dev", "/"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_DELETE, "prod", "/"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/"));
    /* an unknown environment or path fails closed against a restricted deny */
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_DELETE, NULL, "/"));
    cr_assert_not(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_CREATE, "dev", NULL));
    cr_assert_not(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_CREATE, "dev", "/locked"));
    cr_assert_not(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_DESCRIBE, "dev", "/locked/a/b"));
    cr_assert(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_CREATE, "dev", "/lockedout"));
    cr_assert(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_CREATE, "dev", "/open"));
    authz_policy_free(p);
}

Test(authz, describe_only)
{
    struct authz_policy *p = from_json("[{\"subject\": \"secrets\", \"actions\": [\"describe\"]}]");

    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_DESCRIBE, "prod", "/app"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/app"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_EDIT, "prod", "/app"));
    cr_assert_not(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_DESCRIBE, "prod", "/app"));
    authz_policy_free(p);

    /* read everywhere but prod, where names stay visible: a deny of read does
     * not hide them, a deny of "*" does */
    p = from_json("[{\"subject\": \"secrets\", \"actions\": [\"read\"]},"
                  " {\"subject\": \"secrets\", \"actions\": [\"read\"], \"environments\": "
                  "[\"prod\"], \"deny\": true},"
                  " {\"subject\": \"secrets\", \"actions\": [\"*\"], \"environments\": "
                  "[\"vault\"], \"deny\": true}]");
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_DESCRIBE, "dev", "/"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_DESCRIBE, "prod", "/"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "vault", "/"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_DESCRIBE, "vault", "/"));
    authz_policy_free(p);
}

Test(authz, glob_conditions)
{
    struct authz_policy *p = from_json(
        "[{\"subject\": \"secrets\", \"actions\": [\"read\"], \"secretPath\": \"/app/*\"}]");

    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/app/api"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_DESCRIBE, "dev", "/app/web"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/app/api/v1"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/other"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/app"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", NULL));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_EDIT, "dev", "/app/api"));
    authz_policy_free(p);

    p = from_json("[{\"subject\": \"folders\", \"actions\": [\"create\", \"delete\"],"
                  "  \"environments\": [\"dev\"], \"secretPath\": \"/app/**\"}]");
    cr_assert(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_CREATE, "dev", "/app"));
    cr_assert(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_DELETE, "dev", "/app/api/v1"));
    cr_assert_not(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_CREATE, "staging", "/app"));
    cr_assert_not(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_CREATE, NULL, "/app")); /* env unknown */
    cr_assert_not(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_CREATE, "dev", "/apps"));
    cr_assert_not(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_READ, "dev", "/app"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_CREATE, "dev", "/app"));
    authz_policy_free(p);
}

Test(authz, service_token_scopes)
{
    const char *envs[] = {"dev", "prod", NULL};
    const char *globs[] = {"/**", "/app/*", "/shared"};
    struct authz_policy *p = NULL;

    cr_assert_eq(authz_policy_for_scopes(envs, globs, 3, false, &p), 0);
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/x/y"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_DESCRIBE, "dev", "/"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/app/api"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/app/api/v1"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/other"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "staging", "/app/api"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "staging", "/shared")); /* any env */
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, NULL, "/shared"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, NULL, "/x"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", NULL));
    for (size_t a = 1; a <= 3; a++) /* create, edit, delete */
        cr_assert_not(authz_allows(p, AUTHZ_SECRETS, actions[a], "dev", "/x"));
    for (unsigned s = 1; s < AUTHZ_N_SUBJECTS; s++)
        cr_assert_not(authz_allows(p, s, AUTHZ_READ, "dev", "/x"));
    authz_policy_free(p);

    p = NULL;
    cr_assert_eq(authz_policy_for_scopes(envs, globs, 2, true, &p), 0);
    for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++) {
        cr_assert(authz_allows(p, AUTHZ_SECRETS, actions[a], "dev", "/x"));
        cr_assert(authz_allows(p, AUTHZ_SECRETS, actions[a], "prod", "/app/db"));
        cr_assert_not(authz_allows(p, AUTHZ_SECRETS, actions[a], "prod", "/db"));
    }
    cr_assert_not(authz_allows(p, AUTHZ_FOLDERS, AUTHZ_CREATE, "dev", "/x"));
    authz_policy_free(p);

    /* no scope, no access */
    p = NULL;
    cr_assert_eq(authz_policy_for_scopes(NULL, NULL, 0, true, &p), 0);
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/"));
    authz_policy_free(p);
}

Test(authz, service_token_scopes_refused)
{
    const char *bad_env[] = {"Prod"}, *good_env[] = {"dev"};
    const char *bad_glob[] = {"app/*"}, *good_glob[] = {"/**"};
    const char *many[AUTHZ_MAX_RULES + 1];
    struct authz_policy *p = NULL;

    cr_assert_eq(authz_policy_for_scopes(bad_env, good_glob, 1, false, &p), -EINVAL);
    cr_assert_eq(authz_policy_for_scopes(good_env, bad_glob, 1, false, &p), -EINVAL);
    for (size_t i = 0; i < AUTHZ_MAX_RULES + 1; i++)
        many[i] = "dev";
    cr_assert_eq(authz_policy_for_scopes(many, NULL, AUTHZ_MAX_RULES + 1, false, &p), -E2BIG);
    cr_assert_null(p);
    cr_assert_eq(authz_policy_for_scopes(many, NULL, AUTHZ_MAX_RULES, false, &p), 0);
    authz_policy_free(p);
}

/* Same decision from a and b over a grid of requests. */
static void same_decisions(const struct authz_policy *a, const struct authz_policy *b)
{
    static const char *envs[] = {"dev", "staging", "prod", "qa", NULL};
    static const char *paths[] = {"/", "/app", "/app/api", "/app/api/v1", "/other", NULL};

    for (unsigned s = 0; s < AUTHZ_N_SUBJECTS; s++)
        for (size_t k = 0; k < sizeof(actions) / sizeof(actions[0]); k++)
            for (size_t e = 0; e < sizeof(envs) / sizeof(envs[0]); e++)
                for (size_t q = 0; q < sizeof(paths) / sizeof(paths[0]); q++)
                    cr_assert_eq(authz_allows(a, s, actions[k], envs[e], paths[q]),
                                 authz_allows(b, s, actions[k], envs[e], paths[q]),
                                 "%s:%s env %s path %s", authz_subject_name(s),
                                 authz_action_name(actions[k]), envs[e] ? envs[e] : "-",
                                 paths[q] ? paths[q] : "-");
}

static void round_trip(struct authz_policy *p)
{
    _cleanup_buf_ struct buf json = BUF_INIT, again = BUF_INIT;
    struct authz_policy *q;

    cr_assert_eq(authz_policy_to_json(p, &json), 0);
    q = from_json(buf_str(&json));
    same_decisions(p, q);
    cr_assert_eq(authz_policy_to_json(q, &again), 0);
    cr_assert_str_eq(buf_str(&json), buf_str(&again)); /* canonical */
    authz_policy_free(q);
    authz_policy_free(p);
}

Test(authz, json_round_trip)
{
    const char *envs[] = {"dev", NULL};
    const char *globs[] = {"/app/*", NULL};
    struct authz_policy *p = NULL;

    round_trip(builtin("admin"));
    round_trip(builtin("member"));
    round_trip(builtin("viewer"));
    round_trip(builtin("no-access"));
    round_trip(from_json(DEVELOPER));
    round_trip(from_json("[{\"subject\": \"secrets\", \"actions\": [\"describe\"],"
                         "  \"environments\": [\"*\"], \"secretPath\": null, \"deny\": null},"
                         " {\"subject\": \"folders\", \"actions\": [\"read\", \"read\"],"
                         "  \"secretPath\": \"/app/\"}]"));
    cr_assert_eq(authz_policy_for_scopes(envs, globs, 2, true, &p), 0);
    round_trip(p);
}

Test(authz, json_canonical_form)
{
    struct authz_policy *p = from_json(DEVELOPER);
    _cleanup_buf_ struct buf json = BUF_INIT;

    cr_assert_eq(authz_policy_to_json(p, &json), 0);
    cr_assert_str_eq(buf_str(&json),
                     "[{\"subject\":\"secrets\",\"actions\":[\"read\",\"create\",\"edit\","
                     "\"delete\"],\"environments\":[\"dev\",\"staging\"],\"secretPath\":\"/**\","
                     "\"deny\":false},{\"subject\":\"secrets\",\"actions\":[\"*\"],"
                     "\"environments\":[\"prod\"],\"secretPath\":\"/**\",\"deny\":true}]");
    authz_policy_free(p);

    p = from_json("[]");
    buf_clear(&json);
    cr_assert_eq(authz_policy_to_json(p, &json), 0);
    cr_assert_str_eq(buf_str(&json), "[]");
    authz_policy_free(p);
}

static void refused(const char *json, const char *want)
{
    struct authz_policy *p = NULL;
    _cleanup_buf_ struct buf err = BUF_INIT;

    cr_assert_eq(authz_policy_from_json(json, strlen(json), &p, &err), -EINVAL, "%s", json);
    cr_assert_null(p);
    cr_assert(strstr(buf_str(&err), want), "%s: got '%s', want '%s'", json, buf_str(&err), want);
}

#define RULE(body) "[{\"subject\": \"secrets\", \"actions\": [\"read\"]" body "}]"

Test(authz, json_refusals)
{
    refused("", "invalid JSON");
    refused("[{\"subject\": \"secrets\", \"actions\": [\"read\"], \"actions\": []}]",
            "invalid JSON");
    refused("{}", "must be a JSON array");
    refused("\"secrets\"", "must be a JSON array");
    refused("[1]", "rules[0]: a rule must be an object");
    refused("[[]]", "rules[0]: a rule must be an object");
    refused("[{\"actions\": [\"read\"]}]", "rules[0]: missing subject");
    refused("[{\"subject\": 3, \"actions\": [\"read\"]}]", "subject must be a string");
    refused("[{\"subject\": \"bogus\", \"actions\": [\"read\"]}]", "unknown subject 'bogus'");
    refused("[{\"subject\": \"Secrets\", \"actions\": [\"read\"]}]", "unknown subject 'Secrets'");
    refused("[{\"subject\": \"secrets\"}]", "missing actions");
    refused("[{\"subject\": \"secrets\", \"actions\": \"read\"}]", "actions must be an array");
    refused("[{\"subject\": \"secrets\", \"actions\": [1]}]", "actions must be an array");
    refused("[{\"subject\": \"secrets\", \"actions\": []}]", "actions must not be empty");
    refused("[{\"subject\": \"secrets\", \"actions\": [\"fly\"]}]", "unknown action 'fly'");
    refused("[{\"subject\": \"secrets\", \"actions\": [\"READ\"]}]", "unknown action 'READ'");
    refused("[{\"subject\": \"secrets\", \"actions\": [\"read\", \"*\"]}]",
            "'*' must be the only action");
    refused(RULE(", \"environments\": [\"Prod\"]"), "environment 'Prod' is not a slug");
    refused(RULE(", \"environments\": [\"-dev\"]"), "environment '-dev' is not a slug");
    refused(RULE(", \"environments\": [\"\"]"), "environment (not shown) is not a slug");
    refused(RULE(", \"environments\": [\"dev\", \"*\"]"), "'*' must be the only environment");
    refused(RULE(", \"environments\": []"), "environments must not be empty");
    refused(RULE(", \"environments\": \"dev\""), "environments must be an array");
    refused(RULE(", \"environments\": [7]"), "environments must be an array");
    refused(RULE(", \"secretPath\": \"app/*\""), "secretPath 'app/*' is not a valid folder glob");
    refused(RULE(", \"secretPath\": \"/a/../b\""), "is not a valid folder glob");
    refused(RULE(", \"secretPath\": \"/a**\""), "is not a valid folder glob");
    refused(RULE(", \"secretPath\": \"\""), "is not a valid folder glob");
    refused(RULE(", \"secretPath\": 5"), "secretPath must be a string");
    refused(RULE(", \"deny\": \"yes\""), "deny must be true or false");
    refused(RULE(", \"deny\": 1"), "deny must be true or false");
    refused(RULE(", \"actoins\": [\"read\"]"), "rules[0]: unknown key 'actoins'");
    refused(RULE(", \"path\": \"/\""), "unknown key 'path'");
    refused("[{\"subject\": \"members\", \"actions\": [\"read\"], \"environments\": [\"dev\"]}]",
            "environments only apply to secrets and folders");
    refused("[{\"subject\": \"audit-logs\", \"actions\": [\"read\"], \"secretPath\": \"/**\"}]",
            "secretPath only applies to secrets and folders");
    refused("[{\"subject\": \"secrets\", \"actions\": [\"read\"]},"
            " {\"subject\": \"secrets\", \"actions\": [\"fly\"]}]",
            "rules[1]: unknown action 'fly'");
}

Test(authz, json_limits)
{
    _cleanup_buf_ struct buf json = BUF_INIT;
    struct authz_policy *p = NULL;

    /* AUTHZ_MAX_RULES rules are fine, one more is not */
    buf_adds(&json, "[");
    for (int i = 0; i < AUTHZ_MAX_RULES; i++)
        buf_printf(&json, "%s{\"subject\": \"secrets\", \"actions\": [\"read\"]}", i ? "," : "");
    buf_adds(&json, "]");
    p = from_json(buf_str(&json));
    cr_assert_eq(p->n, AUTHZ_MAX_RULES);
    authz_policy_free(p);
    buf_truncate(&json, json.len - 1);
    buf_adds(&json, ",{\"subject\": \"secrets\", \"actions\": [\"read\"]}]");
    refused(buf_str(&json), "at most 64 rules");

    /* AUTHZ_MAX_ENVS environments are fine, one more is not */
    buf_clear(&json);
    buf_adds(&json, "[{\"subject\": \"secrets\", \"actions\": [\"read\"], \"environments\": [");
    for (int i = 0; i < AUTHZ_MAX_ENVS; i++)
        buf_printf(&json, "%s\"env%d\"", i ? "," : "", i);
    buf_adds(&json, "]}]");
    p = from_json(buf_str(&json));
    cr_assert_eq(p->rules[0].n_envs, AUTHZ_MAX_ENVS);
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "env31", "/"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "env32", "/"));
    authz_policy_free(p);
    buf_truncate(&json, json.len - 3);
    buf_adds(&json, ",\"env32\"]}]");
    refused(buf_str(&json), "more than 32 environments");
}

Test(authz, refusals_never_echo_long_input)
{
    char key[200], json[400];

    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = 0;
    snprintf(json, sizeof(json), RULE(", \"%s\": 1"), key);
    refused(json, "unknown key (not shown)");
    snprintf(json, sizeof(json), "[{\"subject\": \"%s\", \"actions\": [\"read\"]}]", key);
    refused(json, "unknown subject (not shown)");
    refused("[{\"subject\": \"sec rets\", \"actions\": [\"read\"]}]",
            "unknown subject (not shown)");
}

/* Names that share a prefix with a rule's are other names: an environment
 * "prod" is not "production" (nor the other way round), a folder "/a" is not
 * "/ab", for allows, denies and service-token scopes alike. */
Test(authz, near_miss_names)
{
    static const char *other_envs[] = {"production", "pro", "prod2", "preprod", "PROD", "prodx"};
    struct authz_policy *p =
        from_json("[{\"subject\": \"secrets\", \"actions\": [\"*\"],"
                  "  \"environments\": [\"prod\"], \"secretPath\": \"/a/**\"}]");
    const char *envs[] = {"prod"};
    const char *globs[] = {"/a"};

    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/a"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/a/b"));
    for (size_t i = 0; i < sizeof(other_envs) / sizeof(other_envs[0]); i++)
        cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, other_envs[i], "/a"), "%s",
                      other_envs[i]);
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/ab"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/ab/c"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/"));
    authz_policy_free(p);

    p = from_json("[{\"subject\": \"secrets\", \"actions\": [\"read\"],"
                  "  \"environments\": [\"production\"], \"secretPath\": \"/ab/**\"}]");
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "production", "/ab"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/ab"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "production", "/a"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "production", "/a/b"));
    authz_policy_free(p);

    /* denies: the near miss stays allowed, the name itself is denied */
    p = from_json("[{\"subject\": \"secrets\", \"actions\": [\"*\"]},"
                  " {\"subject\": \"secrets\", \"actions\": [\"*\"], \"environments\": [\"prod\"],"
                  "  \"deny\": true},"
                  " {\"subject\": \"secrets\", \"actions\": [\"*\"], \"secretPath\": \"/a/**\","
                  "  \"deny\": true}]");
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/x"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "production", "/x"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "pro", "/x"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/a"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/a/b"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/ab"));
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/ab/c"));
    authz_policy_free(p);

    p = NULL;
    cr_assert_eq(authz_policy_for_scopes(envs, globs, 1, false, &p), 0);
    cr_assert(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/a"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "production", "/a"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/ab"));
    cr_assert_not(authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/a/b"));
    authz_policy_free(p);
}

/* A service token's policy limited by its creator's current role. */
Test(authz, limit_by_a_second_policy)
{
    const char *env = "dev", *glob = "/**";
    struct authz_policy *t = NULL;
    struct authz_policy *creator =
        from_json("[{\"subject\":\"secrets\",\"actions\":[\"read\"],\"environments\":[\"dev\"],"
                  "\"secretPath\":\"/app/**\"}]");
    _cleanup_buf_ struct buf why = BUF_INIT;

    cr_assert_eq(authz_policy_for_scopes(&env, &glob, 1, true, &t), 0);
    cr_assert(authz_allows(t, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/db"));
    authz_policy_limit(t, creator);
    cr_assert_not(authz_allows(t, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/db"));
    cr_assert(authz_allows(t, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/app/x"));
    cr_assert_not(authz_allows(t, AUTHZ_SECRETS, AUTHZ_CREATE, "dev", "/app/x"));
    cr_assert_not(authz_allows(t, AUTHZ_SECRETS, AUTHZ_READ, "prod", "/app/x"));
    /* a limited policy grants nothing */
    cr_assert_eq(authz_policy_covers(t, t, &why, NULL), -EINVAL);
    authz_policy_limit(t, builtin("admin")); /* replaces (and frees) the first */
    cr_assert(authz_allows(t, AUTHZ_SECRETS, AUTHZ_CREATE, "dev", "/db"));
    authz_policy_free(t);
}

/* ---- grants: authz_policy_covers ---- */

/* covers(granter, granted): 0, or -EACCES with why matching the substring want
 * (NULL: any) and approximate as expected. */
static void expect_covers(const struct authz_policy *granter, const struct authz_policy *granted,
                          int want_ret, const char *want_why, bool want_approx)
{
    _cleanup_buf_ struct buf why = BUF_INIT;
    bool approx = true;
    int r = authz_policy_covers(granter, granted, &why, &approx);

    cr_assert_eq(r, want_ret, "covers: %d (want %d): %s", r, want_ret, buf_str(&why));
    if (want_why)
        cr_assert(strstr(buf_str(&why), want_why), "why '%s' lacks '%s'", buf_str(&why), want_why);
    cr_assert_eq(approx, want_approx, "approximate %d: %s", approx, buf_str(&why));
}

static struct authz_policy *token(const char *env, const char *glob, bool write)
{
    struct authz_policy *p = NULL;

    cr_assert_eq(authz_policy_for_scopes(&env, &glob, 1, write, &p), 0, "%s:%s", env, glob);
    return p;
}

Test(authz, covers_builtin_roles)
{
    static const char *roles[] = {"admin", "member", "viewer", "no-access"};

    /* each role covers exactly the roles at or below it */
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 4; j++) {
            struct authz_policy *a = builtin(roles[i]), *b = builtin(roles[j]);

            expect_covers(a, b, i <= j ? 0 : -EACCES, NULL, false);
            authz_policy_free(a);
            authz_policy_free(b);
        }
    struct authz_policy *member = builtin("member"), *admin = builtin("admin");
    expect_covers(member, admin, -EACCES, "members:create", false);
    authz_policy_free(member);
    authz_policy_free(admin);
}

/* The finding of issue 11: allowed on dev:/ only, a token for dev:/ ** read
 * every folder below. */
Test(authz, covers_token_beyond_its_folder)
{
    struct authz_policy *root_only =
        from_json("[{\"subject\":\"secrets\",\"actions\":[\"read\"],\"environments\":[\"dev\"],"
                  "\"secretPath\":\"/\"}]");
    struct authz_policy *t;

    t = token("dev", "/", false);
    expect_covers(root_only, t, 0, NULL, false);
    authz_policy_free(t);
    t = token("dev", "/**", false);
    expect_covers(root_only, t, -EACCES, "secrets:read in dev:/<other>", false);
    authz_policy_free(t);
    t = token("dev", "/*", false);
    expect_covers(root_only, t, -EACCES, "secrets:read in dev:/<other>", false);
    authz_policy_free(t);
    t = token("dev", "/", true); /* write was never held */
    expect_covers(root_only, t, -EACCES, "secrets:create in dev:/", false);
    authz_policy_free(t);
    t = token("prod", "/", false);
    expect_covers(root_only, t, -EACCES, "secrets:read in prod:/", false);
    authz_policy_free(t);
    authz_policy_free(root_only);
}

Test(authz, covers_deny_rules_and_near_misses)
{
    struct authz_policy *dev = from_json(
        "[{\"subject\":\"secrets\",\"actions\":[\"*\"],\"environments\":[\"dev\",\"prod\"]},"
        " {\"subject\":\"secrets\",\"actions\":[\"read\"],\"secretPath\":\"/secret/**\","
        "  \"deny\":true}]");
    struct {
        const char *env, *glob;
        bool write;
        int ret;
        const char *why;
    } cases[] = {
        {"dev", "/app/**", true, 0, NULL},
        {"dev", "/secretive/**", false, 0, NULL}, /* near-miss folder */
        {"dev", "/secrets", false, 0, NULL},
        {"dev", "/**", false, -EACCES, "secrets:read in dev:/secret"},
        {"dev", "/secret", false, -EACCES, "secrets:read in dev:/secret"},
        {"dev", "/secret/*", false, -EACCES, "secrets:read in dev:/secret/<other>"},
        {"dev", "/*", false, -EACCES, "secrets:read in dev:/secret"},
        {"prod", "/app", false, 0, NULL},
        {"production", "/app", false, -EACCES, "in production:/app"}, /* near-miss env */
        {"pro", "/app", false, -EACCES, "in pro:/app"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct authz_policy *t = token(cases[i].env, cases[i].glob, cases[i].write);

        expect_covers(dev, t, cases[i].ret, cases[i].why, false);
        authz_policy_free(t);
    }
    authz_policy_free(dev);
}

Test(authz, covers_children_and_trees)
{
    struct authz_policy *kids =
        from_json("[{\"subject\":\"secrets\",\"actions\":[\"read\"],\"secretPath\":\"/a/*\"}]");
    struct authz_policy *tree =
        from_json("[{\"subject\":\"secrets\",\"actions\":[\"read\"],\"secretPath\":\"/a/**\"}]");
    struct authz_policy *t;

    t = token("dev", "/a/*", false);
    expect_covers(kids, t, 0, NULL, false);
    expect_covers(tree, t, 0, NULL, false);
    authz_policy_free(t);
    t = token("dev", "/a/b", false);
    expect_covers(kids, t, 0, NULL, false);
    authz_policy_free(t);
    t = token("dev", "/a/**", false);
    expect_covers(kids, t, -EACCES, "dev:/a", false); /* /a itself and /a/x/y */
    expect_covers(tree, t, 0, NULL, false);
    authz_policy_free(t);
    t = token("dev", "/a/b/**", false);
    expect_covers(kids, t, -EACCES, "dev:/a/b/<other>", false);
    expect_covers(tree, t, 0, NULL, false);
    authz_policy_free(t);
    /* the folder and its children, but not deeper */
    struct authz_policy *two =
        from_json("[{\"subject\":\"secrets\",\"actions\":[\"read\"],\"secretPath\":\"/a\"},"
                  " {\"subject\":\"secrets\",\"actions\":[\"read\"],\"secretPath\":\"/a/*\"}]");
    t = token("dev", "/a/**", false);
    expect_covers(two, t, -EACCES, "dev:/a/<other>/<other>", false);
    authz_policy_free(t);
    authz_policy_free(two);
    t = token("dev", "/ab/**", false);
    expect_covers(tree, t, -EACCES, "dev:/ab", false);
    authz_policy_free(t);
    authz_policy_free(kids);
    authz_policy_free(tree);
}

/* Globs with a wildcard inside a name are rounded on the safe side. */
Test(authz, covers_wildcards_inside_names)
{
    struct authz_policy *apps = from_json(
        "[{\"subject\":\"secrets\",\"actions\":[\"read\"],\"secretPath\":\"/app-*/**\"}]");
    struct authz_policy *admin = builtin("admin");
    struct authz_policy *deny_mid =
        from_json("[{\"subject\":\"secrets\",\"actions\":[\"read\"]},"
                  " {\"subject\":\"secrets\",\"actions\":[\"read\"],\"secretPath\":\"/a/*/key?\","
                  "  \"deny\":true}]");
    struct authz_policy *t;

    /* held, but not provably: refused, and said to be approximate */
    t = token("dev", "/app-1/x", false);
    expect_covers(apps, t, -EACCES, "dev:/app-1/x", true);
    authz_policy_free(t);
    /* an admin holds everything: any pattern */
    t = token("dev", "/app-*/**", false);
    expect_covers(admin, t, 0, NULL, false);
    expect_covers(apps, t, -EACCES, NULL, true);
    authz_policy_free(t);
    /* a granter's deny with a wildcard counts as its whole starting folder */
    t = token("dev", "/a/b/c", false);
    expect_covers(deny_mid, t, -EACCES, "dev:/a/b/c", true);
    authz_policy_free(t);
    t = token("dev", "/b/**", false);
    expect_covers(deny_mid, t, 0, NULL, false);
    authz_policy_free(t);
    /* a granted role's deny with a wildcard is ignored (it may match less) */
    expect_covers(deny_mid, deny_mid, -EACCES, ":/a", true);
    authz_policy_free(apps);
    authz_policy_free(admin);
    authz_policy_free(deny_mid);
}

Test(authz, covers_roles_with_denies_and_requests_without_scope)
{
    struct authz_policy *all_but_prod =
        from_json("[{\"subject\":\"secrets\",\"actions\":[\"*\"]},"
                  " {\"subject\":\"members\",\"actions\":[\"read\",\"edit\"]},"
                  " {\"subject\":\"secrets\",\"actions\":[\"*\"],\"environments\":[\"prod\"],"
                  "  \"deny\":true}]");
    struct authz_policy *listed = from_json("[{\"subject\":\"secrets\",\"actions\":[\"*\"],"
                                            "  \"environments\":[\"dev\",\"staging\",\"prod\"]}]");
    struct authz_policy *viewer = builtin("viewer"), *member = builtin("member");

    expect_covers(all_but_prod, all_but_prod, 0, NULL, false); /* its own denies count */
    expect_covers(member, all_but_prod, -EACCES, "members:edit", false);
    expect_covers(all_but_prod, viewer, -EACCES, "in prod:", false);
    /* environments listed one by one are not "any environment" */
    expect_covers(listed, member, -EACCES, "in <other>:", false);
    expect_covers(member, listed, 0, NULL, false);
    authz_policy_free(all_but_prod);
    authz_policy_free(listed);
    authz_policy_free(viewer);
    authz_policy_free(member);
}

Test(authz, covers_refuses_what_it_cannot_compare)
{
    _cleanup_buf_ struct buf a = BUF_INIT, b = BUF_INIT, why = BUF_INIT;
    struct authz_policy *pa, *pb;

    /* 64 rules of 32 environments and a folder each, on both sides */
    for (struct buf *x = &a; x; x = x == &a ? &b : NULL) {
        buf_addch(x, '[');
        for (int i = 0; i < AUTHZ_MAX_RULES; i++) {
            buf_printf(x, "%s{\"subject\":\"secrets\",\"actions\":[\"read\"],\"environments\":[",
                       i ? "," : "");
            for (int e = 0; e < AUTHZ_MAX_ENVS; e++)
                buf_printf(x, "%s\"%c%d-%d\"", e ? "," : "", x == &a ? 'a' : 'b', i, e);
            buf_printf(x, "],\"secretPath\":\"/%c%d/**\"}", x == &a ? 'a' : 'b', i);
        }
        buf_addch(x, ']');
    }
    pa = from_json(buf_str(&a));
    pb = from_json(buf_str(&b));
    cr_assert_eq(authz_policy_covers(pa, pb, &why, NULL), -E2BIG);
    cr_assert(strstr(buf_str(&why), "split"), "%s", buf_str(&why));
    authz_policy_free(pa);
    authz_policy_free(pb);
}

/* ---- the grant property test ----
 *
 * Random custom roles grant random roles, member roles and service tokens.
 * authz_policy_covers must never say yes when, by brute force over a small
 * universe of environments and folders (near-miss names included), the grant
 * allows something the granter may not do.  When every glob has a form it
 * compares exactly, its answer must also be the brute-force answer. */

static unsigned long long rng_state;

static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((rng_state >> 33) % n);
}

static const char *const u_envs[] = {"dev", "prod", "production", "prod-eu", "staging", "qa"};
static const char *const exact_globs[] = {"/",
                                          "/**",
                                          "/*",
                                          "/app",
                                          "/app/**",
                                          "/app/*",
                                          "/app/api",
                                          "/app/api/**",
                                          "/app/api/*",
                                          "/secret",
                                          "/secret/**",
                                          "/secret/*",
                                          "/a/**",
                                          "/a",
                                          "/a/*",
                                          "/a/b",
                                          "/a/b/*",
                                          "/a/b/**",
                                          "/application/**",
                                          "/secretive"};
static const char *const fuzzy_globs[] = {"/app*/**", "/a/*/c",  "/secret?",
                                          "/**/api",  "/a/**/c", "/app-*"};

/* Every folder of the universe, plus names no rule mentions. */
static const char *const u_paths[] = {"/",
                                      "/app",
                                      "/app/api",
                                      "/app/api/v1",
                                      "/app/api/v1/x",
                                      "/app-old",
                                      "/application",
                                      "/application/x",
                                      "/application/x/y",
                                      "/secretive/x",
                                      "/secretive/x/y",
                                      "/secret",
                                      "/secret/db",
                                      "/secret/db/x",
                                      "/secretive",
                                      "/a",
                                      "/a/b",
                                      "/a/b/c",
                                      "/a/b/c/d",
                                      "/a/x",
                                      "/a/x/c",
                                      "/zz",
                                      "/zz/zz",
                                      "/app/zz",
                                      "/app/zz/zz",
                                      "/app/api/zz",
                                      NULL};
static const char *const u_env_points[] = {"dev",     "prod", "production", "prod-eu",
                                           "staging", "qa",   "zz",         NULL};

/* Globs around one folder, drawn often so that rules overlap. */
static const char *const hot_globs[] = {"/a", "/a/*", "/a/**", "/a/b", "/a/b/*", "/a/b/**"};

static const char *random_glob(bool fuzzy)
{
    if (fuzzy && rnd(4) == 0)
        return fuzzy_globs[rnd(sizeof(fuzzy_globs) / sizeof(fuzzy_globs[0]))];
    if (rnd(2))
        return hot_globs[rnd(sizeof(hot_globs) / sizeof(hot_globs[0]))];
    return exact_globs[rnd(sizeof(exact_globs) / sizeof(exact_globs[0]))];
}

static void random_rule(struct buf *j, bool fuzzy, bool token_like)
{
    static const char *const subjects[] = {"secrets",    "folders",    "members",
                                           "roles",      "identities", "service-tokens",
                                           "audit-logs", "settings"};
    static const char *const acts[] = {"read", "create", "edit", "delete", "describe"};
    const char *subject = token_like || rnd(3) ? subjects[rnd(2)] : subjects[rnd(8)];
    bool scoped = strcmp(subject, "secrets") == 0 || strcmp(subject, "folders") == 0;

    buf_printf(j, "{\"subject\":\"%s\",\"actions\":[", subject);
    if (rnd(4) == 0) {
        buf_adds(j, "\"*\"");
    } else {
        unsigned mask = 1 + rnd(31);
        bool first = true;

        for (unsigned a = 0; a < 5; a++)
            if (mask & (1u << a)) {
                buf_printf(j, "%s\"%s\"", first ? "" : ",", acts[a]);
                first = false;
            }
    }
    buf_addch(j, ']');
    if (scoped && rnd(3)) {
        unsigned n = 1 + rnd(3);

        buf_adds(j, ",\"environments\":[");
        for (unsigned e = 0; e < n; e++)
            buf_printf(j, "%s\"%s\"", e ? "," : "", u_envs[rnd(6)]);
        buf_addch(j, ']');
    }
    if (scoped && rnd(3)) {
        const char *g = random_glob(fuzzy);

        buf_printf(j, ",\"secretPath\":\"%s\"", g);
    }
    if (!token_like && rnd(4) == 0)
        buf_adds(j, ",\"deny\":true");
    buf_addch(j, '}');
}

static struct authz_policy *random_role(bool fuzzy)
{
    _cleanup_buf_ struct buf j = BUF_INIT;
    unsigned n = 1 + rnd(5);

    if (rnd(8) == 0) { /* sometimes a built-in role */
        static const char *const roles[] = {"admin", "member", "viewer", "no-access"};
        return builtin(roles[rnd(4)]);
    }
    buf_addch(&j, '[');
    for (unsigned i = 0; i < n; i++) {
        if (i)
            buf_addch(&j, ',');
        random_rule(&j, fuzzy, false);
    }
    buf_addch(&j, ']');
    return from_json(buf_str(&j));
}

static struct authz_policy *random_token(bool fuzzy)
{
    const char *envs[3], *globs[3];
    unsigned n = 1 + rnd(3);
    struct authz_policy *p = NULL;

    for (unsigned i = 0; i < n; i++) {
        envs[i] = u_envs[rnd(6)];
        globs[i] = random_glob(fuzzy);
    }
    cr_assert_eq(authz_policy_for_scopes(envs, globs, n, rnd(2), &p), 0);
    return p;
}

/* By brute force: does granted allow anything granter does not? */
static bool brute_exceeds(const struct authz_policy *granter, const struct authz_policy *granted)
{
    for (unsigned s = 0; s < AUTHZ_N_SUBJECTS; s++)
        for (size_t k = 0; k < sizeof(actions) / sizeof(actions[0]); k++)
            for (size_t e = 0; e < sizeof(u_env_points) / sizeof(u_env_points[0]); e++)
                for (size_t q = 0; q < sizeof(u_paths) / sizeof(u_paths[0]); q++)
                    if (authz_allows(granted, s, actions[k], u_env_points[e], u_paths[q]) &&
                        !authz_allows(granter, s, actions[k], u_env_points[e], u_paths[q]))
                        return true;
    return false;
}

static void grant_property(bool fuzzy, unsigned rounds)
{
    unsigned yes = 0, no = 0;

    rng_state = fuzzy ? 0x5eed2 : 0x5eed1; /* deterministic */
    for (unsigned i = 0; i < rounds; i++) {
        _cleanup_buf_ struct buf why = BUF_INIT, json = BUF_INIT;
        struct authz_policy *granter = random_role(fuzzy);
        struct authz_policy *granted = rnd(3) == 0 ? random_token(fuzzy) : random_role(fuzzy);
        bool approx = false, exceeds = brute_exceeds(granter, granted);
        int r = authz_policy_covers(granter, granted, &why, &approx);

        authz_policy_to_json(granted, &json);
        cr_assert(r == 0 || r == -EACCES, "round %u: %d", i, r);
        /* sound: never yes when the grant exceeds the granter */
        cr_assert(!(r == 0 && exceeds), "round %u: covered, but exceeds: %s", i, buf_str(&json));
        /* exact without wildcards inside names: never no when it does not */
        if (!fuzzy)
            cr_assert(!(r < 0 && !exceeds), "round %u: refused (%s) though within: %s", i,
                      buf_str(&why), buf_str(&json));
        cr_assert(fuzzy || !approx);
        /* a grant within one's own role is always possible: the role itself */
        cr_assert_eq(authz_policy_covers(granter, granter, NULL, NULL) == 0 || fuzzy, true,
                     "round %u: a role does not cover itself", i);
        r == 0 ? yes++ : no++;
        authz_policy_free(granter);
        authz_policy_free(granted);
    }
    /* the generator exercises both answers */
    cr_assert(yes > rounds / 20 && no > rounds / 20, "yes %u no %u", yes, no);
}

Test(authz, grant_property_exact_globs)
{
    grant_property(false, 5000);
}

Test(authz, grant_property_any_globs)
{
    grant_property(true, 5000);
}
