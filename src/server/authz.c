/* authz.c - roles as lists of allow/deny rules.
 *
 * A policy is a flat array of rules; a check walks all of them (at most
 * AUTHZ_MAX_RULES), remembering whether an allow rule matched and returning
 * false at the first deny rule that matches.  "read" implies "describe" for
 * allow rules only: denying read does not hide names, so "allow describe, deny
 * read" is a describe-only role.
 *
 * A rule restricted to environments or a folder glob needs the object's
 * environment and path to match.  When the caller has none to give (NULL), a
 * restricted allow rule does not match and a restricted deny rule does: the
 * unknown case fails closed.  A glob made only of "**" segments is
 * unrestricted.
 *
 * The JSON form is validated strictly: every refusal says which rule and why,
 * quoting at most a short printable name from the input.
 *
 * Grants (authz_policy_covers) are decided by trying both policies on every
 * request that tells them apart: rules only compare environment names for
 * equality, and folder globs of the forms FOLDER, FOLDER/ * and FOLDER/ **
 * only ask whether a path is a named folder, its child or a deeper descendant,
 * so the named environments, one unnamed one, each named folder with a child
 * and a grandchild of an unnamed name, and "none given" cover every case.
 * Other globs are first rounded to those forms on the safe side. */
#include "authz.h"

#include <errno.h>
#include <string.h>

#include "base/glob.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"

static const char *const subject_names[AUTHZ_N_SUBJECTS] = {
    [AUTHZ_SECRETS] = "secrets",       [AUTHZ_FOLDERS] = "folders",
    [AUTHZ_MEMBERS] = "members",       [AUTHZ_ROLES] = "roles",
    [AUTHZ_IDENTITIES] = "identities", [AUTHZ_SERVICE_TOKENS] = "service-tokens",
    [AUTHZ_AUDIT_LOGS] = "audit-logs", [AUTHZ_SETTINGS] = "settings",
};

static const struct {
    unsigned bit;
    const char *name;
} action_names[] = {
    {AUTHZ_READ, "read"},     {AUTHZ_CREATE, "create"},     {AUTHZ_EDIT, "edit"},
    {AUTHZ_DELETE, "delete"}, {AUTHZ_DESCRIBE, "describe"},
};

/* What each built-in role grants on each subject (allow rules only). */
static const struct {
    const char *role;
    unsigned grants[AUTHZ_N_SUBJECTS];
} builtin_roles[] = {
    {"admin",
     {
         [AUTHZ_SECRETS] = AUTHZ_ALL,
         [AUTHZ_FOLDERS] = AUTHZ_ALL,
         [AUTHZ_MEMBERS] = AUTHZ_ALL,
         [AUTHZ_ROLES] = AUTHZ_ALL,
         [AUTHZ_IDENTITIES] = AUTHZ_ALL,
         [AUTHZ_SERVICE_TOKENS] = AUTHZ_ALL,
         [AUTHZ_AUDIT_LOGS] = AUTHZ_ALL,
         [AUTHZ_SETTINGS] = AUTHZ_ALL,
     }},
    {"member",
     {
         [AUTHZ_SECRETS] = AUTHZ_ALL,
         [AUTHZ_FOLDERS] = AUTHZ_ALL,
         [AUTHZ_MEMBERS] = AUTHZ_READ,
         [AUTHZ_ROLES] = AUTHZ_READ,
         [AUTHZ_IDENTITIES] = AUTHZ_READ,
         [AUTHZ_SERVICE_TOKENS] = AUTHZ_ALL,
         [AUTHZ_AUDIT_LOGS] = AUTHZ_READ,
         [AUTHZ_SETTINGS] = AUTHZ_READ,
     }},
    {"viewer",
     {
         [AUTHZ_SECRETS] = AUTHZ_READ,
         [AUTHZ_FOLDERS] = AUTHZ_READ,
         [AUTHZ_MEMBERS] = AUTHZ_READ,
         [AUTHZ_ROLES] = AUTHZ_READ,
         [AUTHZ_IDENTITIES] = AUTHZ_READ,
         [AUTHZ_AUDIT_LOGS] = AUTHZ_READ,
     }},
    {"no-access", {0}},
};

const char *authz_subject_name(enum authz_subject s)
{
    if ((unsigned)s >= AUTHZ_N_SUBJECTS)
        return "unknown";
    return subject_names[s];
}

const char *authz_action_name(unsigned action)
{
    if (action == AUTHZ_ALL)
        return "*";
    for (size_t i = 0; i < ELEMENTSOF(action_names); i++)
        if (action_names[i].bit == action)
            return action_names[i].name;
    return "unknown";
}

static void rule_release(struct authz_rule *r)
{
    for (size_t i = 0; i < r->n_envs; i++)
        free(r->envs[i]);
    free(r->envs);
    free(r->path_glob);
    *r = (struct authz_rule){0};
}

void authz_policy_free(struct authz_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        rule_release(&p->rules[i]);
    free(p->rules);
    authz_policy_free(p->within);
    free(p);
}

void authz_policy_limit(struct authz_policy *p, struct authz_policy *within)
{
    authz_policy_free(p->within);
    p->within = within;
}

static void authz_policy_freep(struct authz_policy **p)
{
    authz_policy_free(*p);
}
#define _cleanup_policy_ __attribute__((cleanup(authz_policy_freep)))

/* A policy with room for n rules, all zero (n counts the rules filled in). */
static struct authz_policy *policy_new(size_t n)
{
    struct authz_policy *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    if (n > 0) {
        p->rules = calloc(n, sizeof(*p->rules));
        if (!p->rules) {
            free(p);
            return NULL;
        }
    }
    return p;
}

bool authz_role_is_builtin(const char *role)
{
    if (!role)
        return false;
    for (size_t i = 0; i < ELEMENTSOF(builtin_roles); i++)
        if (streq(role, builtin_roles[i].role))
            return true;
    return false;
}

int authz_policy_builtin(const char *role, struct authz_policy **ret)
{
    for (size_t i = 0; role && i < ELEMENTSOF(builtin_roles); i++) {
        struct authz_policy *p;

        if (!streq(role, builtin_roles[i].role))
            continue;
        p = policy_new(AUTHZ_N_SUBJECTS);
        if (!p)
            return -ENOMEM;
        for (unsigned s = 0; s < AUTHZ_N_SUBJECTS; s++) {
            if (!builtin_roles[i].grants[s])
                continue;
            p->rules[p->n++] = (struct authz_rule){
                .subject = (enum authz_subject)s,
                .actions = builtin_roles[i].grants[s],
            };
        }
        *ret = p;
        return 0;
    }
    return -ENOENT;
}

static bool has_scope(enum authz_subject s)
{
    return s == AUTHZ_SECRETS || s == AUTHZ_FOLDERS;
}

/* Sets r's environments to the one slug env ("*" or NULL: any). */
static int rule_set_env(struct authz_rule *r, const char *env)
{
    if (!env || streq(env, "*"))
        return 0;
    if (!r->envs) {
        r->envs = calloc(AUTHZ_MAX_ENVS, sizeof(*r->envs));
        if (!r->envs)
            return -ENOMEM;
    }
    if (r->n_envs >= AUTHZ_MAX_ENVS)
        return -E2BIG;
    r->envs[r->n_envs] = strdup(env);
    if (!r->envs[r->n_envs])
        return -ENOMEM;
    r->n_envs++;
    return 0;
}

int authz_policy_for_scopes(const char *const *envs, const char *const *globs, size_t n, bool write,
                            struct authz_policy **ret)
{
    _cleanup_policy_ struct authz_policy *p = NULL;
    unsigned actions = AUTHZ_READ | AUTHZ_DESCRIBE;
    int r;

    if (n > AUTHZ_MAX_RULES)
        return -E2BIG;
    if (write)
        actions |= AUTHZ_CREATE | AUTHZ_EDIT | AUTHZ_DELETE;
    p = policy_new(n);
    if (!p)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *env = envs ? envs[i] : NULL;
        const char *glob = globs ? globs[i] : NULL;
        struct authz_rule *rule = &p->rules[p->n++];

        if (env && !streq(env, "*") && !name_slug_valid(env))
            return -EINVAL;
        if (glob && !glob_valid(glob))
            return -EINVAL;
        rule->subject = AUTHZ_SECRETS;
        rule->actions = actions;
        r = rule_set_env(rule, env);
        if (r < 0)
            return r;
        if (glob) {
            rule->path_glob = strdup(glob);
            if (!rule->path_glob)
                return -ENOMEM;
        }
    }
    *ret = TAKE_PTR(p);
    return 0;
}

/* ---- checking ---- */

/* True when glob matches every path: one or more "**" segments. */
static bool glob_is_universal(const char *glob)
{
    const char *p = glob;

    if (!*p || streq(p, "/"))
        return false;
    while (*p) {
        if (!startswith(p, "/**"))
            return p[0] == '/' && p[1] == 0; /* a trailing '/' is ignored */
        p += 3;
    }
    return true;
}

static bool env_matches(const struct authz_rule *r, const char *env)
{
    if (!r->envs)
        return true;
    if (!env)
        return r->deny; /* unknown environment: fail closed */
    for (size_t i = 0; i < r->n_envs; i++)
        if (streq(r->envs[i], env))
            return true;
    return false;
}

static bool path_matches(const struct authz_rule *r, const char *path)
{
    if (!r->path_glob)
        return true;
    if (!path)
        return r->deny || glob_is_universal(r->path_glob); /* unknown path: fail closed */
    return glob_match(r->path_glob, path);
}

bool authz_allows(const struct authz_policy *p, enum authz_subject subject, unsigned action,
                  const char *env, const char *path)
{
    bool allowed = false;

    if (!p || (unsigned)subject >= AUTHZ_N_SUBJECTS)
        return false;
    if (action == 0 || (action & (action - 1)) != 0 || (action & ~(unsigned)AUTHZ_ALL) != 0)
        return false; /* not exactly one known action */
    if (p->within && !authz_allows(p->within, subject, action, env, path))
        return false;

    for (size_t i = 0; i < p->n; i++) {
        const struct authz_rule *r = &p->rules[i];
        unsigned actions = r->actions;

        if (r->subject != subject)
            continue;
        if (!r->deny && (actions & AUTHZ_READ))
            actions |= AUTHZ_DESCRIBE;
        if (!(actions & action) || !env_matches(r, env) || !path_matches(r, path))
            continue;
        if (r->deny)
            return false;
        allowed = true;
    }
    return allowed;
}

/* ---- JSON ---- */

/* Appends s quoted when it is a short printable name, else a placeholder:
 * refusals never echo arbitrary input. */
static void err_name(struct buf *err, const char *s)
{
    size_t n = strnlen(s, 65);
    bool printable = n > 0 && n <= 64;

    for (size_t i = 0; printable && i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '\'' || s[i] == '\\')
            printable = false;
    if (printable)
        buf_printf(err, "'%s'", s);
    else
        buf_adds(err, "(not shown)");
}

static int refuse(struct buf *err, size_t i, const char *what, const char *name, const char *rest)
{
    if (err) {
        buf_printf(err, "rules[%zu]: %s", i, what);
        if (name) {
            buf_addch(err, ' ');
            err_name(err, name);
        }
        if (rest)
            buf_adds(err, rest);
    }
    return -EINVAL;
}

static int subject_from_name(const char *name, enum authz_subject *ret)
{
    for (unsigned s = 0; s < AUTHZ_N_SUBJECTS; s++)
        if (streq(name, subject_names[s])) {
            *ret = (enum authz_subject)s;
            return 0;
        }
    return -ENOENT;
}

static unsigned action_from_name(const char *name)
{
    for (size_t i = 0; i < ELEMENTSOF(action_names); i++)
        if (streq(name, action_names[i].name))
            return action_names[i].bit;
    return 0;
}

static int parse_actions(const json_t *arr, size_t i, unsigned *ret, struct buf *err)
{
    unsigned actions = 0;
    size_t k;
    json_t *a;

    if (!json_is_array(arr))
        return refuse(err, i, "actions must be an array of strings", NULL, NULL);
    if (json_array_size(arr) == 0)
        return refuse(err, i, "actions must not be empty", NULL, NULL);
    json_array_foreach(arr, k, a)
    {
        const char *name = json_string_value(a);
        unsigned bit;

        if (!name)
            return refuse(err, i, "actions must be an array of strings", NULL, NULL);
        if (streq(name, "*")) {
            if (json_array_size(arr) != 1)
                return refuse(err, i, "'*' must be the only action", NULL, NULL);
            bit = AUTHZ_ALL;
        } else {
            bit = action_from_name(name);
            if (!bit)
                return refuse(err, i, "unknown action", name, NULL);
        }
        actions |= bit;
    }
    *ret = actions;
    return 0;
}

static int parse_envs(const json_t *arr, size_t i, struct authz_rule *rule, struct buf *err)
{
    size_t k;
    json_t *e;
    int r;

    if (!json_is_array(arr))
        return refuse(err, i, "environments must be an array of strings", NULL, NULL);
    if (json_array_size(arr) == 0)
        return refuse(err, i, "environments must not be empty (omit it for any)", NULL, NULL);
    if (json_array_size(arr) > AUTHZ_MAX_ENVS) {
        if (err)
            buf_printf(err, "rules[%zu]: more than %d environments", i, AUTHZ_MAX_ENVS);
        return -EINVAL;
    }
    json_array_foreach(arr, k, e)
    {
        const char *env = json_string_value(e);

        if (!env)
            return refuse(err, i, "environments must be an array of strings", NULL, NULL);
        if (streq(env, "*")) {
            if (json_array_size(arr) != 1)
                return refuse(err, i, "'*' must be the only environment", NULL, NULL);
            continue;
        }
        if (!name_slug_valid(env))
            return refuse(err, i, "environment", env, " is not a slug");
        r = rule_set_env(rule, env);
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_rule(const json_t *obj, size_t i, struct authz_rule *rule, struct buf *err)
{
    static const char *const known[] = {"subject", "actions", "environments", "secretPath", "deny"};
    const char *key, *name;
    json_t *v;
    int r;

    if (!json_is_object(obj))
        return refuse(err, i, "a rule must be an object", NULL, NULL);
    json_object_foreach((json_t *)obj, key, v)
    {
        bool ok = false;

        for (size_t k = 0; k < ELEMENTSOF(known); k++)
            ok = ok || streq(key, known[k]);
        if (!ok)
            return refuse(err, i, "unknown key", key, NULL);
    }

    v = json_object_get(obj, "subject");
    if (!v)
        return refuse(err, i, "missing subject", NULL, NULL);
    name = json_string_value(v);
    if (!name)
        return refuse(err, i, "subject must be a string", NULL, NULL);
    if (subject_from_name(name, &rule->subject) < 0)
        return refuse(err, i, "unknown subject", name, NULL);

    v = json_object_get(obj, "actions");
    if (!v)
        return refuse(err, i, "missing actions", NULL, NULL);
    r = parse_actions(v, i, &rule->actions, err);
    if (r < 0)
        return r;

    v = json_object_get(obj, "environments");
    if (v && !json_is_null(v)) {
        if (!has_scope(rule->subject))
            return refuse(err, i, "environments only apply to secrets and folders", NULL, NULL);
        r = parse_envs(v, i, rule, err);
        if (r < 0)
            return r;
    }

    v = json_object_get(obj, "secretPath");
    if (v && !json_is_null(v)) {
        const char *glob = json_string_value(v);

        if (!has_scope(rule->subject))
            return refuse(err, i, "secretPath only applies to secrets and folders", NULL, NULL);
        if (!glob)
            return refuse(err, i, "secretPath must be a string", NULL, NULL);
        if (!glob_valid(glob))
            return refuse(err, i, "secretPath", glob, " is not a valid folder glob");
        rule->path_glob = strdup(glob);
        if (!rule->path_glob)
            return -ENOMEM;
    }

    v = json_object_get(obj, "deny");
    if (v && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return refuse(err, i, "deny must be true or false", NULL, NULL);
        rule->deny = json_is_true(v);
    }
    return 0;
}

int authz_policy_from_json(const char *json, size_t len, struct authz_policy **ret, struct buf *err)
{
    _cleanup_policy_ struct authz_policy *p = NULL;
    _cleanup_json_ json_t *v = NULL;
    size_t i;
    json_t *item;
    int r;

    r = wire_parse(json, len, &v, err);
    if (r < 0)
        return r;
    if (!json_is_array(v)) {
        if (err)
            buf_adds(err, "a policy must be a JSON array of rules");
        return -EINVAL;
    }
    if (json_array_size(v) > AUTHZ_MAX_RULES) {
        if (err)
            buf_printf(err, "a policy has at most %d rules", AUTHZ_MAX_RULES);
        return -EINVAL;
    }
    p = policy_new(json_array_size(v));
    if (!p)
        return -ENOMEM;
    json_array_foreach(v, i, item)
    {
        r = parse_rule(item, i, &p->rules[p->n++], err);
        if (r < 0)
            return r;
    }
    *ret = TAKE_PTR(p);
    return 0;
}

/* Each array is filled before being attached: a failed json_object_set_new
 * releases the value it was given. */
static json_t *rule_to_json(const struct authz_rule *r)
{
    _cleanup_json_ json_t *obj = json_object();
    json_t *actions = json_array(), *envs = NULL;
    int fails = 0;

    if (r->actions == AUTHZ_ALL) {
        fails |= json_array_append_new(actions, json_string("*"));
    } else {
        for (size_t k = 0; k < ELEMENTSOF(action_names); k++)
            if (r->actions & action_names[k].bit)
                fails |= json_array_append_new(actions, json_string(action_names[k].name));
    }
    if (r->envs) {
        envs = json_array();
        for (size_t k = 0; k < r->n_envs; k++)
            fails |= json_array_append_new(envs, json_string(r->envs[k]));
    }
    if (!obj) {
        json_decref(actions);
        json_decref(envs);
        return NULL;
    }
    fails |= json_object_set_new(obj, "subject", json_string(authz_subject_name(r->subject)));
    fails |= json_object_set_new(obj, "actions", actions);
    if (r->envs)
        fails |= json_object_set_new(obj, "environments", envs);
    if (r->path_glob)
        fails |= json_object_set_new(obj, "secretPath", json_string(r->path_glob));
    fails |= json_object_set_new(obj, "deny", json_boolean(r->deny));
    if (fails)
        return NULL;
    return TAKE_PTR(obj);
}

int authz_policy_to_json(const struct authz_policy *p, struct buf *out)
{
    _cleanup_json_ json_t *arr = json_array();

    if (!arr)
        return -ENOMEM;
    for (size_t i = 0; i < p->n; i++)
        if (json_array_append_new(arr, rule_to_json(&p->rules[i])) < 0)
            return -ENOMEM;
    return wire_dump(out, arr);
}

/* ---- grants ---- */

/* A name no environment slug or folder name can have: stands for "any name
 * the rules do not mention". */
#define FRESH "~"

/* Work allowed for one comparison of one subject (visits of its rules): well
 * above real pairs of roles, and a fraction of a second at worst. */
#define COVER_BUDGET 4000000ull

/* Is glob one of the forms compared exactly: literal segments, then at most
 * one last segment that is "*" or "**"?  *base_len receives the length of the
 * literal start (the whole glob when literal; without a trailing '/'). */
static bool glob_decidable(const char *glob, size_t *base_len)
{
    const char *p = glob;
    size_t base = 0;

    while (*p == '/' && p[1]) {
        const char *seg = p + 1;
        size_t n = strcspn(seg, "/");
        bool wild = strcspn(seg, "*?") < n;

        if (wild) {
            bool last = !seg[n] || (seg[n] == '/' && !seg[n + 1]);
            *base_len = base;
            return last && ((n == 1 && seg[0] == '*') || (n == 2 && startswith(seg, "**")));
        }
        base = (size_t)(seg + n - glob);
        p = seg + n;
    }
    *base_len = base;
    return true;
}

static int rule_copy(const struct authz_rule *from, struct authz_rule *to)
{
    int r;

    *to =
        (struct authz_rule){.subject = from->subject, .actions = from->actions, .deny = from->deny};
    for (size_t i = 0; i < from->n_envs; i++) {
        r = rule_set_env(to, from->envs[i]);
        if (r < 0)
            return r;
    }
    if (from->path_glob && !(to->path_glob = strdup(from->path_glob)))
        return -ENOMEM;
    return 0;
}

/* A copy of p whose folder globs all have a decidable form.  A glob that has
 * none is rounded up to "BASE/ **" in the rules where up is what is safe
 * (allow rules when grow_allows, else deny rules), and in the others the rule
 * is dropped (it then matches nothing: actions 0). */
static int policy_round(const struct authz_policy *p, bool grow_allows, struct authz_policy **ret,
                        bool *rounded)
{
    _cleanup_policy_ struct authz_policy *q = policy_new(p->n);
    int r;

    if (!q)
        return -ENOMEM;
    for (size_t i = 0; i < p->n; i++) {
        struct authz_rule *rule = &q->rules[q->n++];
        size_t base;

        r = rule_copy(&p->rules[i], rule);
        if (r < 0)
            return r;
        if (!rule->path_glob || glob_decidable(rule->path_glob, &base))
            continue;
        *rounded = true;
        if (rule->deny != grow_allows) {
            _cleanup_free_ char *up = NULL;

            if (asprintf(&up, "%.*s/**", (int)base, rule->path_glob) < 0)
                return -ENOMEM;
            free(rule->path_glob);
            rule->path_glob = TAKE_PTR(up);
        } else {
            rule->actions = 0;
        }
    }
    *ret = TAKE_PTR(q);
    return 0;
}

/* A growing list of distinct strings (NULL is a member too). */
struct strset {
    char **v;
    size_t n, cap;
};

static void strset_release(struct strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    *s = (struct strset){0};
}

static int strset_add(struct strset *s, const char *str)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == str || (s->v[i] && str && streq(s->v[i], str)))
            return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, cap * sizeof(*v));

        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    if (str && !(str = strdup(str)))
        return -ENOMEM;
    s->v[s->n++] = (char *)str;
    return 0;
}

/* Adds folder base (len bytes; 0 is "/"), a child and a grandchild of it with
 * a name no rule mentions. */
static int add_folder_points(struct strset *paths, const char *base, size_t len)
{
    char buf[NAME_PATH_MAX + 2 * sizeof("/" FRESH) + 1];
    int r;

    snprintf(buf, sizeof(buf), "%.*s", len ? (int)len : 1, len ? base : "/");
    r = strset_add(paths, buf);
    snprintf(buf, sizeof(buf), "%.*s/" FRESH, (int)len, base);
    if (r == 0)
        r = strset_add(paths, buf);
    snprintf(buf, sizeof(buf), "%.*s/" FRESH "/" FRESH, (int)len, base);
    if (r == 0)
        r = strset_add(paths, buf);
    return r;
}

/* The environments and folders worth trying for subject s: every name the
 * rules mention, fresh ones, and NULL (none given). */
static int universe(const struct authz_policy *const pols[2], enum authz_subject s,
                    struct strset *envs, struct strset *paths)
{
    int r = add_folder_points(paths, "/", 0);

    if (r == 0)
        r = strset_add(envs, FRESH);
    for (size_t k = 0; k < 2 && r == 0; k++)
        for (size_t i = 0; i < pols[k]->n && r == 0; i++) {
            const struct authz_rule *rule = &pols[k]->rules[i];
            size_t base;

            if (rule->subject != s)
                continue;
            for (size_t e = 0; e < rule->n_envs && r == 0; e++)
                r = strset_add(envs, rule->envs[e]);
            if (r == 0 && rule->path_glob) {
                glob_decidable(rule->path_glob, &base);
                r = add_folder_points(paths, rule->path_glob, base);
            }
        }
    if (r == 0)
        r = strset_add(envs, NULL);
    if (r == 0)
        r = strset_add(paths, NULL);
    return r;
}

static unsigned rule_allows_bits(const struct authz_rule *r)
{
    return (r->actions & AUTHZ_READ) ? r->actions | AUTHZ_DESCRIBE : r->actions;
}

/* Does p have an allow rule for (s, action) at all? */
static bool may_allow(const struct authz_policy *p, enum authz_subject s, unsigned action)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->rules[i].subject == s && !p->rules[i].deny &&
            (rule_allows_bits(&p->rules[i]) & action))
            return true;
    return false;
}

/* Does p allow (s, action) everywhere: an unrestricted allow rule and no deny
 * rule for it? */
static bool allows_everywhere(const struct authz_policy *p, enum authz_subject s, unsigned action)
{
    bool allow = false;

    for (size_t i = 0; i < p->n; i++) {
        const struct authz_rule *r = &p->rules[i];

        if (r->subject != s)
            continue;
        if (r->deny && (r->actions & action))
            return false;
        if (!r->deny && (rule_allows_bits(r) & action) && !r->envs &&
            (!r->path_glob || glob_is_universal(r->path_glob)))
            allow = true;
    }
    return allow;
}

/* Appends s with each FRESH name written as <other>. */
static void add_point_name(struct buf *why, const char *s)
{
    for (; *s; s++)
        if (*s == FRESH[0])
            buf_adds(why, "<other>");
        else
            buf_addch(why, *s);
}

static void describe_missing(struct buf *why, enum authz_subject s, unsigned action,
                             const char *env, const char *path)
{
    if (!why)
        return;
    buf_printf(why, "%s:%s", authz_subject_name(s), authz_action_name(action));
    if (!has_scope(s))
        return;
    buf_adds(why, " in ");
    if (env)
        add_point_name(why, env);
    else
        buf_adds(why, "(any environment)");
    buf_addch(why, ':');
    if (path)
        add_point_name(why, path);
    else
        buf_adds(why, "(any folder)");
}

static size_t rules_of(const struct authz_policy *p, enum authz_subject s)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n; i++)
        n += p->rules[i].subject == s;
    return n;
}

/* One subject: 0, -EACCES (why filled) or -E2BIG. */
static int covers_subject(const struct authz_policy *granter, const struct authz_policy *granted,
                          enum authz_subject s, struct buf *why)
{
    const struct authz_policy *const pols[2] = {granter, granted};
    struct strset envs = {0}, paths = {0};
    int r = 0;

    for (size_t a = 0; a < ELEMENTSOF(action_names) && r == 0; a++) {
        unsigned action = action_names[a].bit;

        if (!may_allow(granted, s, action) || allows_everywhere(granter, s, action))
            continue;
        if (!has_scope(s)) {
            if (authz_allows(granted, s, action, NULL, NULL) &&
                !authz_allows(granter, s, action, NULL, NULL)) {
                describe_missing(why, s, action, NULL, NULL);
                r = -EACCES;
            }
            continue;
        }
        if (!envs.n) {
            r = universe(pols, s, &envs, &paths);
            if (r == 0 && (unsigned long long)envs.n * paths.n *
                                  (rules_of(granter, s) + rules_of(granted, s)) *
                                  ELEMENTSOF(action_names) >
                              COVER_BUDGET) {
                if (why)
                    buf_printf(why,
                               "the rules name too many environments and folders to compare "
                               "(%zu x %zu): split the grant into smaller ones",
                               envs.n, paths.n);
                r = -E2BIG;
            }
        }
        for (size_t e = 0; e < envs.n && r == 0; e++)
            for (size_t p = 0; p < paths.n && r == 0; p++)
                if (authz_allows(granted, s, action, envs.v[e], paths.v[p]) &&
                    !authz_allows(granter, s, action, envs.v[e], paths.v[p])) {
                    describe_missing(why, s, action, envs.v[e], paths.v[p]);
                    r = -EACCES;
                }
    }
    strset_release(&envs);
    strset_release(&paths);
    return r;
}

int authz_policy_covers(const struct authz_policy *granter, const struct authz_policy *granted,
                        struct buf *why, bool *approximate)
{
    _cleanup_policy_ struct authz_policy *have = NULL, *give = NULL;
    bool rounded = false;
    int r;

    if (approximate)
        *approximate = false;
    if (!granter || !granted || granter->within)
        return -EINVAL;
    r = policy_round(granter, false, &have, &rounded);
    if (r == 0)
        r = policy_round(granted, true, &give, &rounded);
    for (unsigned s = 0; s < AUTHZ_N_SUBJECTS && r == 0; s++)
        r = covers_subject(have, give, (enum authz_subject)s, why);
    if (approximate)
        *approximate = r == -EACCES && rounded;
    return r;
}
