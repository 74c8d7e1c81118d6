/* access.c - who may use a project: invites, project members, custom roles
 * and their rule specs, and rotating a project's key.
 *
 * Adding a member is end-to-end: the adding client opens the project key with
 * its own private key and seals it to the new member's public key, which it
 * gets from the server (users/lookup, the identity list).  Rotation re-seals a
 * new key to every member and re-encrypts every version of every secret here,
 * then hands the server one all-or-nothing request.
 *
 * Rule specs ("secrets:read,edit:dev,staging:/app") are parsed here into
 * the JSON rules of docs/api.md, with messages that name the part at fault;
 * the server validates the JSON again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arca.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/glob.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "client/client.h"
#include "client/transport.h"
#include "crypto/seal.h"

#define SPEC_MAX 2048 /* length of one rule spec */
#define RULES_MAX 64  /* rules in a role, as the server allows */
#define ENVS_MAX 32   /* environments in one rule */

/* --- invites ------------------------------------------------------------- */

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_invite, field, kind, key, max)
static const struct client_field invite_fields[] = {
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    F(email, CF_STR, "email", NAME_EMAIL_MAX),
    F(org_role, CF_STR, "orgRole", 16),
    F(created_at, CF_STR, "createdAt", CLIENT_STRING_MAX),
    F(expires_at, CF_STR, "expiresAt", CLIENT_STRING_MAX),
    F(status, CF_STR, "status", 16),
};
#undef F
static const struct client_record rec_invite =
    CLIENT_RECORD(struct arca_invite, "invite", invite_fields);

/* the answer to a new invite: no createdAt, no status */
#define F(field, kind, key, max) CLIENT_FIELD(struct arca_invite, field, kind, key, max)
static const struct client_field invite_new_fields[] = {
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    F(email, CF_STR, "email", NAME_EMAIL_MAX),
    F(org_role, CF_STR, "orgRole", 16),
    F(expires_at, CF_STR, "expiresAt", CLIENT_STRING_MAX),
};
#undef F
static const struct client_record rec_invite_new =
    CLIENT_RECORD(struct arca_invite, "invite", invite_new_fields);

CLIENT_FREE_ONE(arca_invite_free, struct arca_invite, rec_invite)
CLIENT_FREE_ARRAY(arca_invites_free, struct arca_invite, rec_invite)

int arca_invites_list(struct arca *a, struct arca_invite **ret, size_t *ret_n)
{
    return client_list_items(a, NULL, "/invites", "invites", &rec_invite, (void **)ret, ret_n);
}

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_org_user, field, kind, key, max)
static const struct client_field org_user_fields[] = {
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    F(email, CF_STR, "email", NAME_EMAIL_MAX),
    F(org_role, CF_STR, "orgRole", 16),
    F(created_at, CF_STR, "createdAt", CLIENT_STRING_MAX),
};
#undef F
static const struct client_record rec_org_user =
    CLIENT_RECORD(struct arca_org_user, "user", org_user_fields);

CLIENT_FREE_ARRAY(arca_org_users_free, struct arca_org_user, rec_org_user)

int arca_org_users_list(struct arca *a, struct arca_org_user **ret, size_t *ret_n)
{
    return client_list_items(a, NULL, "/users", "users", &rec_org_user, (void **)ret, ret_n);
}

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_user_project, field, kind, key, max)
static const struct client_field user_project_fields[] = {
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    F(name, CF_STR, "name", CLIENT_STRING_MAX),
    F(role, CF_STR, "role", CLIENT_STRING_MAX),
};
#undef F
static const struct client_record rec_user_project =
    CLIENT_RECORD(struct arca_user_project, "project", user_project_fields);

CLIENT_FREE_ARRAY(arca_user_projects_free, struct arca_user_project, rec_user_project)

int arca_org_user_remove(struct arca *a, const char *user_id, int dry_run,
                         struct arca_user_project **ret, size_t *ret_n)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_json_ json_t *answer = NULL;
    int r = client_require_login(a);

    if (r < 0)
        return r;
    if (!user_id || !*user_id || strlen(user_id) > CLIENT_ID_MAX ||
        strspn(user_id, "0123456789abcdefABCDEF-") != strlen(user_id))
        return client_error(a, -EINVAL, "'%s' is not a user id (see 'arca users list')",
                            user_id ? user_id : "");
    if (buf_printf(&path, CLIENT_API "/users/%s%s", user_id, dry_run ? "?dryRun=true" : "") < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = transport_call(a, "DELETE", path.ptr, NULL, &answer, NULL);
    if (r < 0)
        return r;
    return client_parse_items(a, json_object_get(answer, "projects"), &rec_user_project,
                              (void **)ret, ret_n);
}

int arca_invite_revoke(struct arca *a, const char *invite_id)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r = client_require_login(a);

    if (r < 0)
        return r;
    if (!invite_id || !*invite_id || strlen(invite_id) > CLIENT_ID_MAX ||
        strspn(invite_id, "0123456789abcdefABCDEF-") != strlen(invite_id))
        return client_error(a, -EINVAL, "'%s' is not an invite id (see 'arca invites list')",
                            invite_id ? invite_id : "");
    if (buf_printf(&path, CLIENT_API "/invites/%s", invite_id) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
    if (r == -ENOENT)
        return client_error(a, r, "no pending invite '%s' (see 'arca invites list')", invite_id);
    return r;
}

int arca_invite_create(struct arca *a, const char *email, const char *org_role,
                       const char *organization_id, struct arca_invite **ret, char **ret_token)
{
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    const char *token;
    json_t *o;
    int r;

    r = client_require_login(a);
    if (r < 0)
        return r;
    r = client_check_email(a, email);
    if (r < 0)
        return r;
    if (!org_role)
        org_role = "member";
    if (!streq(org_role, "admin") && !streq(org_role, "member"))
        return client_error(a, -EINVAL, "'%s' is not an organization role: use admin or member",
                            org_role);
    body = json_object();
    if (!body || client_set_str(body, "email", email) < 0 ||
        client_set_str(body, "orgRole", org_role) < 0 ||
        (organization_id && client_set_str(body, "organizationId", organization_id) < 0))
        return client_error(a, -ENOMEM, "out of memory");
    r = transport_call(a, "POST", CLIENT_API "/invites", body, &answer, NULL);
    if (r == -EEXIST)
        return client_error(a, r, "'%s' already has an account", email);
    if (r < 0)
        return r;

    struct arca_invite *i = NULL;
    char *t = NULL;
    r = client_answer_str(a, answer, "token", CLIENT_TOKEN_MAX, &token);
    if (r >= 0)
        r = client_answer_obj(a, answer, "invite", &o);
    if (r >= 0)
        r = client_record_new(a, &rec_invite_new, o, (void **)&i);
    if (r >= 0 && !(t = strdup(token)))
        r = client_error(a, -ENOMEM, "out of memory");
    client_json_wipe(answer, "token");
    if (r < 0) {
        arca_invite_free(i);
        return r;
    }
    if (ret)
        *ret = i;
    else
        arca_invite_free(i);
    if (ret_token)
        *ret_token = t;
    else
        client_string_free(t);
    return 0;
}

/* --- members ------------------------------------------------------------- */

static int check_role(struct arca *a, const char *role)
{
    if (!role || !name_slug_valid(role))
        return client_error(a, -EINVAL,
                            "'%s' is not a valid role: admin, member, viewer, no-access or a "
                            "custom role's slug",
                            role ? role : "");
    return 0;
}

static int member_type(struct arca *a, const json_t *o, void *ret)
{
    struct arca_member *m = ret;
    const char *type;

    if (wire_get_str(o, "principalType", 16, &type) < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed member");
    m->type = streq(type, "identity") ? ARCA_PRINCIPAL_IDENTITY : ARCA_PRINCIPAL_USER;
    return 0;
}

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_member, field, kind, key, max)
static const struct client_field member_fields[] = {
    F(principal_id, CF_STR, "principalId", CLIENT_ID_MAX),
    F(role, CF_STR, "role", CLIENT_STRING_MAX),
    F(name, CF_STR_OR_EMPTY, "name", CLIENT_STRING_MAX),
    F(created_at, CF_STR_OR_EMPTY, "createdAt", CLIENT_STRING_MAX),
};
#undef F
static const struct client_record rec_member =
    CLIENT_RECORD(struct arca_member, "member", member_fields, .first = member_type);

CLIENT_FREE_ARRAY(arca_members_free, struct arca_member, rec_member)

static int members_fetch(struct arca *a, const char *project_id, json_t **ret_answer,
                         json_t **ret_list)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r;

    r = client_project_path(a, project_id, "/members", &path);
    if (r < 0)
        return r;
    r = client_get_array(a, path.ptr, "members", ret_answer, ret_list);
    if (r == -ENOENT)
        return client_error(a, r, "project '%s' not found (or you are not a member)", project_id);
    return r;
}

int arca_members_list(struct arca *a, const char *project_id, struct arca_member **ret,
                      size_t *ret_n)
{
    _cleanup_json_ json_t *answer = NULL;
    json_t *arr;
    int r;

    r = client_require_project(a, project_id);
    if (r < 0)
        return r;
    r = members_fetch(a, project_id, &answer, &arr);
    if (r < 0)
        return r;
    return client_parse_items(a, arr, &rec_member, (void **)ret, ret_n);
}

int client_member_post(struct arca *a, const char *project_id, enum arca_principal_type type,
                       const char *principal_id, const uint8_t pk[SEAL_PK_BYTES], const char *role)
{
    _cleanup_json_ json_t *body = NULL;
    _cleanup_buf_ struct buf wrapped = BUF_INIT;
    _cleanup_buf_ struct buf path = BUF_INIT;
    const uint8_t *pkey;
    int r;

    r = client_project_key(a, project_id, &pkey);
    if (r < 0)
        return r;
    r = seal_wrap(pk, pkey, SEAL_KEY_BYTES, &wrapped);
    if (r < 0)
        return client_error(a, r, "cannot seal the project key");
    body = json_object();
    if (!body ||
        client_set_str(body, "principalType",
                       type == ARCA_PRINCIPAL_IDENTITY ? "identity" : "user") < 0 ||
        client_set_str(body, "principalId", principal_id) < 0 ||
        client_set_str(body, "role", role) < 0 ||
        client_set_b64(body, "encryptedProjectKey", wrapped.ptr, wrapped.len, false) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = client_project_path(a, project_id, "/members", &path);
    if (r < 0)
        return r;
    r = transport_call(a, "POST", path.ptr, body, NULL, NULL);
    if (r == -EEXIST)
        return client_error(a, r, "already a member of the project");
    return r;
}

/* Decodes the base64 public key obj[key]. */
static int public_key_of(struct arca *a, const json_t *o, uint8_t pk[SEAL_PK_BYTES])
{
    const char *b64;
    int r = client_answer_str(a, o, "publicKey", 128, &b64);
    if (r < 0)
        return r;
    if (b64_decode_exact(b64, B64_STD, pk, SEAL_PK_BYTES) < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed 'publicKey'");
    return 0;
}

static int add_user(struct arca *a, const char *project_id, const char *email, const char *role)
{
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    uint8_t pk[SEAL_PK_BYTES];
    const char *id;
    json_t *user;
    int r;

    r = client_check_email(a, email);
    if (r < 0)
        return r;
    r = buf_adds(&path, CLIENT_API "/users/lookup?email=");
    if (r >= 0)
        r = transport_escape(a, email, &path);
    if (r < 0)
        return client_error(a, r, "out of memory");
    r = transport_call(a, "GET", path.ptr, NULL, &answer, NULL);
    if (r == -ENOENT)
        return client_error(a, r,
                            "no user '%s' in your organizations (invite them with 'arca users "
                            "invite')",
                            email);
    if (r < 0)
        return r;
    r = client_answer_obj(a, answer, "user", &user);
    if (r >= 0)
        r = client_answer_str(a, user, "id", CLIENT_ID_MAX, &id);
    if (r >= 0)
        r = public_key_of(a, user, pk);
    if (r < 0)
        return r;
    r = client_member_post(a, project_id, ARCA_PRINCIPAL_USER, id, pk, role);
    if (r == -EEXIST)
        return client_error(a, r, "'%s' is already a member of the project", email);
    return r;
}

static int add_identity(struct arca *a, const char *project_id, const char *who, const char *role)
{
    _cleanup_json_ json_t *answer = NULL;
    uint8_t pk[SEAL_PK_BYTES];
    const json_t *o;
    const char *id;
    int r;

    r = client_identity_find(a, who, &answer, &o);
    if (r < 0)
        return r;
    r = client_answer_str(a, o, "id", CLIENT_ID_MAX, &id);
    if (r < 0)
        return r;
    if (!json_object_get(o, "publicKey"))
        return client_error(a, -EPROTO,
                            "the arca server did not send the public key of machine identity "
                            "'%s', so the project key cannot be sealed to it",
                            who);
    r = public_key_of(a, o, pk);
    if (r < 0)
        return r;
    r = client_member_post(a, project_id, ARCA_PRINCIPAL_IDENTITY, id, pk, role);
    if (r == -EEXIST)
        return client_error(a, r, "machine identity '%s' is already a member of the project", who);
    return r;
}

int arca_member_add(struct arca *a, const char *project_id, enum arca_principal_type type,
                    const char *who, const char *role)
{
    int r = client_require_keys(a);
    if (r < 0)
        return r;
    r = client_check_project_id(a, project_id);
    if (r < 0)
        return r;
    r = check_role(a, role);
    if (r < 0)
        return r;
    if (!who || !*who)
        return client_error(a, -EINVAL, "no member given");
    return type == ARCA_PRINCIPAL_IDENTITY ? add_identity(a, project_id, who, role)
                                           : add_user(a, project_id, who, role);
}

/* The principal id of the member who is (an id, an e-mail, an identity name). */
static int member_find(struct arca *a, const char *project_id, const char *who, char **ret_id)
{
    _cleanup_json_ json_t *answer = NULL;
    const char *found = NULL;
    size_t n_found = 0;
    json_t *arr;
    int r;

    r = members_fetch(a, project_id, &answer, &arr);
    if (r < 0)
        return r;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const char *id, *name;
        if (wire_get_str(o, "principalId", CLIENT_ID_MAX, &id) < 0)
            continue;
        if (streq(id, who)) {
            found = id;
            n_found = 1;
            break;
        }
        if (wire_get_str(o, "name", CLIENT_STRING_MAX, &name) == 0 &&
            (strchr(who, '@') ? strcasecmp(name, who) == 0 : streq(name, who))) {
            found = id;
            n_found++;
        }
    }
    if (n_found == 0)
        return client_error(a, -ENOENT, "'%s' is not a member of the project", who);
    if (n_found > 1)
        return client_error(a, -EINVAL,
                            "more than one member is named '%s': give the principal id (see "
                            "'arca members list')",
                            who);
    *ret_id = strdup(found);
    if (!*ret_id)
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

static int member_change(struct arca *a, const char *project_id, const char *who, const char *role)
{
    _cleanup_free_ char *id = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_json_ json_t *body = NULL;
    int r;

    r = client_require_project(a, project_id);
    if (r < 0)
        return r;
    if (role && (r = check_role(a, role)) < 0)
        return r;
    if (!who || !*who)
        return client_error(a, -EINVAL, "no member given");
    r = member_find(a, project_id, who, &id);
    if (r < 0)
        return r;
    r = client_project_path(a, project_id, "/members/", &path);
    if (r >= 0)
        r = transport_escape(a, id, &path);
    if (r < 0)
        return client_error(a, r, "out of memory");
    if (role) {
        body = json_object();
        if (!body || client_set_str(body, "role", role) < 0)
            return client_error(a, -ENOMEM, "out of memory");
    }
    r = transport_call(a, role ? "PATCH" : "DELETE", path.ptr, body, NULL, NULL);
    if (r == -EEXIST)
        return client_error(a, r,
                            "'%s' is the project's last admin: make another member admin "
                            "first",
                            who);
    return r;
}

int arca_member_update(struct arca *a, const char *project_id, const char *who, const char *role)
{
    if (!role)
        return client_error(a, -EINVAL, "no role given");
    return member_change(a, project_id, who, role);
}

int arca_member_remove(struct arca *a, const char *project_id, const char *who)
{
    return member_change(a, project_id, who, NULL);
}

/* --- rule specs ---------------------------------------------------------- */

static const char *const subjects[] = {
    "secrets",    "folders",        "members",    "roles",
    "identities", "service-tokens", "audit-logs", "settings",
};
static const char *const actions[] = {"read", "create", "edit", "delete", "describe"};

/* Splits s at sep into a JSON array of strings, each checked by valid; "*"
 * alone gives ["*"] when star_ok.  -EINVAL with *bad set to the item. */
static int list_to_json(const char *s, bool (*valid)(const char *), json_t *out, size_t max,
                        char *bad, size_t bad_size)
{
    const char *p = s;

    if (!*s) {
        snprintf(bad, bad_size, "%s", "");
        return -EINVAL;
    }
    for (;;) {
        size_t n = strcspn(p, ",");
        char item[NAME_SLUG_MAX + 2];
        if (n == 0 || n >= sizeof(item)) {
            snprintf(bad, bad_size, "%.*s", (int)(n > 64 ? 64 : n), p);
            return -EINVAL;
        }
        memcpy(item, p, n);
        item[n] = 0;
        if (!valid(item) || json_array_size(out) >= max) {
            snprintf(bad, bad_size, "%s", item);
            return -EINVAL;
        }
        bool dup = false;
        for (size_t i = 0; i < json_array_size(out); i++)
            dup = dup || streq(json_string_value(json_array_get(out, i)), item);
        if (!dup && json_array_append_new(out, json_string(item)) < 0)
            return -ENOMEM;
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

static bool action_valid(const char *s)
{
    for (size_t i = 0; i < ELEMENTSOF(actions); i++)
        if (streq(s, actions[i]))
            return true;
    return false;
}

static bool env_valid(const char *s)
{
    return name_slug_valid(s);
}

/* Appends the JSON rule of one spec to rules. */
static int spec_to_rule(struct arca *a, const char *spec, bool deny, json_t *rules)
{
    char copy[SPEC_MAX + 1], bad[80];
    char *parts[5] = {0};
    size_t n_parts = 0;
    int r;

    if (!spec || strlen(spec) > SPEC_MAX)
        return client_error(a, -EINVAL, "rule spec is missing or longer than %d bytes", SPEC_MAX);
    snprintf(copy, sizeof(copy), "%s", spec);
    for (char *p = copy, *colon;; p = colon + 1) {
        if (n_parts == ELEMENTSOF(parts))
            return client_error(a, -EINVAL,
                                "rule '%s': too many ':' parts (SUBJECT:ACTIONS:ENVS:PATH)", spec);
        parts[n_parts++] = p;
        colon = strchr(p, ':');
        if (!colon)
            break;
        *colon = 0;
    }

    size_t subject = ELEMENTSOF(subjects);
    for (size_t i = 0; i < ELEMENTSOF(subjects); i++)
        if (streq(parts[0], subjects[i]))
            subject = i;
    if (subject == ELEMENTSOF(subjects))
        return client_error(a, -EINVAL,
                            "rule '%s': unknown subject '%s' (use secrets, folders, members, "
                            "roles, identities, service-tokens, audit-logs or settings)",
                            spec, parts[0]);
    bool scoped = subject <= 1; /* secrets, folders */
    if (scoped && n_parts < 3)
        return client_error(a, -EINVAL,
                            "rule '%s': %s rules need environments: %s:ACTIONS:ENVS[:PATH]", spec,
                            parts[0], parts[0]);
    if (scoped && n_parts > 4)
        return client_error(a, -EINVAL, "rule '%s': too many ':' parts (SUBJECT:ACTIONS:ENVS:PATH)",
                            spec);
    if (!scoped && n_parts != 2)
        return client_error(a, -EINVAL,
                            "rule '%s': %s rules have no environments or path: %s:ACTIONS", spec,
                            parts[0], parts[0]);

    json_t *rule = json_object();
    json_t *acts = json_array();
    if (!rule || !acts || json_array_append_new(rules, rule) < 0 ||
        json_object_set_new(rule, "subject", json_string(parts[0])) < 0 ||
        json_object_set_new(rule, "actions", acts) < 0) {
        json_decref(acts);
        return client_error(a, -ENOMEM, "out of memory");
    }
    if (streq(parts[1], "*"))
        r = json_array_append_new(acts, json_string("*")) < 0 ? -ENOMEM : 0;
    else
        r = list_to_json(parts[1], action_valid, acts, ELEMENTSOF(actions), bad, sizeof(bad));
    if (r == -EINVAL)
        return client_error(a, r,
                            "rule '%s': unknown action '%s' (use read, create, edit, delete, "
                            "describe, a comma list of them, or *)",
                            spec, bad);
    if (r < 0)
        return client_error(a, r, "out of memory");

    if (scoped) {
        if (!streq(parts[2], "*")) {
            json_t *envs = json_array();
            if (!envs || json_object_set_new(rule, "environments", envs) < 0)
                return client_error(a, -ENOMEM, "out of memory");
            r = list_to_json(parts[2], env_valid, envs, ENVS_MAX, bad, sizeof(bad));
            if (r == -EINVAL)
                return client_error(a, r,
                                    "rule '%s': '%s' is not an environment slug (use a comma "
                                    "list of slugs, or *)",
                                    spec, bad);
            if (r < 0)
                return client_error(a, r, "out of memory");
        }
        const char *glob = n_parts == 4 ? parts[3] : "/**";
        if (!glob_valid(glob))
            return client_error(a, -EINVAL,
                                "rule '%s': '%s' is not a folder glob (it starts with '/'; "
                                "segments use letters, digits, '_', '-', '.', '*' and '?'; '**' "
                                "as a whole segment)",
                                spec, glob);
        if (json_object_set_new(rule, "secretPath", json_string(glob)) < 0)
            return client_error(a, -ENOMEM, "out of memory");
    }
    if (json_object_set_new(rule, "deny", json_boolean(deny)) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

int arca_rules_from_specs(struct arca *a, const char *const *allow, size_t n_allow,
                          const char *const *deny, size_t n_deny, char **ret_json)
{
    _cleanup_json_ json_t *rules = json_array();
    _cleanup_buf_ struct buf out = BUF_INIT;
    int r;

    if (!rules)
        return client_error(a, -ENOMEM, "out of memory");
    if (n_allow == 0)
        return client_error(a, -EINVAL, "a role needs at least one allow rule");
    if (n_allow + n_deny > RULES_MAX)
        return client_error(a, -E2BIG, "a role has at most %d rules", RULES_MAX);
    for (size_t i = 0; i < n_allow; i++)
        if ((r = spec_to_rule(a, allow[i], false, rules)) < 0)
            return r;
    for (size_t i = 0; i < n_deny; i++)
        if ((r = spec_to_rule(a, deny[i], true, rules)) < 0)
            return r;
    r = wire_dump(&out, rules);
    if (r < 0)
        return client_error(a, r, "out of memory");
    char *s = buf_detach(&out);
    if (!s)
        return client_error(a, -ENOMEM, "out of memory");
    *ret_json = s;
    return 0;
}

/* --- roles --------------------------------------------------------------- */

/* the name (absent: the slug) and the rules as JSON text (absent: none) */
static int role_finish(struct arca *a, const json_t *o, void *ret)
{
    _cleanup_buf_ struct buf rules = BUF_INIT;
    struct arca_role *v = ret;
    json_t *rj = json_object_get(o, "rules");

    if ((!v->name && !(v->name = strdup(v->slug))) ||
        (rj ? wire_dump(&rules, rj) : buf_adds(&rules, "[]")) < 0 ||
        !(v->rules = buf_detach(&rules)))
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_role, field, kind, key, max)
static const struct client_field role_fields[] = {
    F(slug, CF_STR, "slug", CLIENT_STRING_MAX),
    F(name, CF_STR_OR_NULL, "name", CLIENT_STRING_MAX),
    F(builtin, CF_BOOL_OPT, "builtin", 0),
    F(rules, CF_OWNED, "rules", 0),
};
#undef F
static const struct client_record rec_role =
    CLIENT_RECORD(struct arca_role, "role", role_fields, .finish = role_finish);

CLIENT_FREE_ARRAY(arca_roles_free, struct arca_role, rec_role)

int arca_role_create(struct arca *a, const char *project_id, const char *slug, const char *name,
                     const char *rules_json)
{
    _cleanup_json_ json_t *body = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    json_t *rules = NULL;
    int r;

    r = client_require_project(a, project_id);
    if (r < 0)
        return r;
    if (!slug || !name_slug_valid(slug))
        return client_error(a, -EINVAL,
                            "'%s' is not a valid role slug: lowercase letters, digits and '-'",
                            slug ? slug : "");
    static const char *const builtin[] = {"admin", "member", "viewer", "no-access"};
    for (size_t i = 0; i < ELEMENTSOF(builtin); i++)
        if (streq(slug, builtin[i]))
            return client_error(a, -EEXIST, "'%s' is a built-in role: choose another slug", slug);
    if (!name)
        name = slug;
    if (!name_title_valid(name))
        return client_error(a, -EINVAL, "'%s' is not a valid role name", name);
    if (!rules_json || wire_parse(rules_json, strlen(rules_json), &rules, NULL) < 0 ||
        !json_is_array(rules)) {
        json_decref(rules);
        return client_error(a, -EINVAL, "the rules are not a JSON array");
    }
    body = json_object();
    if (!body || json_object_set_new(body, "rules", rules) < 0 ||
        client_set_str(body, "slug", slug) < 0 || client_set_str(body, "name", name) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = client_project_path(a, project_id, "/roles", &path);
    if (r < 0)
        return r;
    r = transport_call(a, "POST", path.ptr, body, NULL, NULL);
    if (r == -EEXIST)
        return client_error(a, r, "role '%s' already exists (or is a built-in role)", slug);
    return r;
}

int arca_role_update(struct arca *a, const char *project_id, const char *slug, const char *name,
                     const char *rules_json)
{
    _cleanup_json_ json_t *body = json_object();
    _cleanup_buf_ struct buf path = BUF_INIT;
    json_t *rules = NULL;
    int r;

    if ((r = client_require_project(a, project_id)) < 0)
        return r;
    if (!slug || !name_slug_valid(slug))
        return client_error(a, -EINVAL, "'%s' is not a valid role slug", slug ? slug : "");
    if (!name && !rules_json)
        return client_error(a, -EINVAL, "nothing to change: give a name or rules");
    if (name && !name_title_valid(name))
        return client_error(a, -EINVAL, "'%s' is not a valid role name", name);
    if (rules_json &&
        (wire_parse(rules_json, strlen(rules_json), &rules, NULL) < 0 || !json_is_array(rules))) {
        json_decref(rules);
        return client_error(a, -EINVAL, "the rules are not a JSON array");
    }
    if (!body || (rules && json_object_set_new(body, "rules", rules) < 0) ||
        (name && client_set_str(body, "name", name) < 0))
        return client_error(a, -ENOMEM, "out of memory");
    r = client_project_path(a, project_id, "/roles/", &path);
    if (r >= 0)
        r = transport_escape(a, slug, &path);
    if (r < 0)
        return client_error(a, r, "out of memory");
    return transport_call(a, "PATCH", path.ptr, body, NULL, NULL);
}

int arca_roles_list(struct arca *a, const char *project_id, struct arca_role **ret, size_t *ret_n)
{
    return client_list_items(a, project_id, "/roles", "roles", &rec_role, (void **)ret, ret_n);
}

int arca_role_delete(struct arca *a, const char *project_id, const char *slug)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r;

    r = client_require_project(a, project_id);
    if (r < 0)
        return r;
    if (!slug || !name_slug_valid(slug))
        return client_error(a, -EINVAL, "'%s' is not a valid role slug", slug ? slug : "");
    r = client_project_path(a, project_id, "/roles/", &path);
    if (r >= 0)
        r = transport_escape(a, slug, &path);
    if (r < 0)
        return client_error(a, r, "out of memory");
    r = transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
    if (r == -EEXIST)
        return client_error(a, r,
                            "role '%s' is still assigned to a member: change their role "
                            "first",
                            slug);
    if (r == -ENOENT)
        return client_error(a, r, "role '%s' not found in the project", slug);
    return r;
}

/* --- key rotation -------------------------------------------------------- */

/* Re-encrypts the record o[field] (base64, or null) of one version under
 * new_key into out[field].  A personal override sealed to its owner is not
 * under the project key: it goes back as it came (the rotating admin cannot
 * open another user's, and needs not); one under the project key (written
 * through the raw routes, or before overrides were sealed to their owners)
 * stays under it, readable by the server as before. */
static int reseal_field(struct arca *a, const struct client_scope *s, const uint8_t *old_key,
                        const uint8_t *new_key, const char *key, const char *field, const json_t *o,
                        json_t *out)
{
    const char *b64;
    char *plain = NULL;
    int r = wire_get_str(o, field, CLIENT_B64_MAX, &b64);

    if (r == -ENOENT)
        return json_object_set_new(out, field, json_null()) < 0
                   ? client_error(a, -ENOMEM, "out of memory")
                   : 0;
    if (r < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed '%s'", field);
    if (*s->owner && client_record_kind(b64) == SEAL_RECORD_OWNER)
        return client_set_str(out, field, b64) < 0 ? client_error(a, -ENOMEM, "out of memory") : 0;
    r = client_record_open(a, s, old_key, key, field, b64, &plain);
    if (r < 0)
        return r;
    r = client_record_to_json(a, out, s, new_key, key, field, plain);
    client_string_free(plain);
    return r;
}

int arca_project_rotate_key(struct arca *a, const char *project_id, size_t *ret_n_versions,
                            size_t *ret_n_members)
{
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_json_ json_t *body = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_seal_ uint8_t *new_key = NULL;
    const uint8_t *old_key;
    json_t *versions, *members, *out_versions, *out_members;
    bool me = false, server_access;
    struct arca_project *proj = NULL;
    int r;

    r = client_require_keys(a);
    if (r < 0)
        return r;
    r = client_check_project_id(a, project_id);
    if (r < 0)
        return r;
    r = arca_project_get(a, project_id, &proj);
    if (r < 0)
        return r;
    server_access = proj->server_access;
    arca_project_free(proj);
    r = client_project_key(a, project_id, &old_key);
    if (r < 0)
        return r;
    r = client_project_path(a, project_id, "/versions", &path);
    if (r < 0)
        return r;
    r = client_get_array(a, path.ptr, "versions", &answer, &versions);
    if (r >= 0)
        r = client_answer_arr(a, answer, "members", &members);
    if (r < 0)
        return r;

    new_key = seal_malloc(SEAL_KEY_BYTES);
    body = json_object();
    out_versions = json_array();
    out_members = json_array();
    if (!new_key || !body || !out_versions || !out_members ||
        json_object_set_new(body, "versions", out_versions) < 0 ||
        json_object_set_new(body, "members", out_members) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    seal_random(new_key, SEAL_KEY_BYTES);

    for (size_t i = 0; i < json_array_size(members); i++) {
        const json_t *m = json_array_get(members, i);
        _cleanup_buf_ struct buf wrapped = BUF_INIT;
        uint8_t pk[SEAL_PK_BYTES];
        const char *id;

        if (!json_is_object(m))
            return client_error(a, -EPROTO, "the arca server sent a malformed member");
        r = client_answer_str(a, m, "principalId", CLIENT_ID_MAX, &id);
        if (r >= 0)
            r = public_key_of(a, m, pk);
        if (r < 0)
            return r;
        if (a->user_id && streq(id, a->user_id)) {
            if (!seal_equal(pk, a->pk, SEAL_PK_BYTES))
                return client_error(a, -EPROTO,
                                    "the arca server listed another public key for you: "
                                    "not rotating");
            me = true;
        }
        r = seal_wrap(pk, new_key, SEAL_KEY_BYTES, &wrapped);
        if (r < 0)
            return client_error(a, r, "cannot seal the new project key");
        json_t *o = json_object();
        if (!o || json_array_append_new(out_members, o) < 0 ||
            client_set_str(o, "principalId", id) < 0 ||
            client_set_b64(o, "encryptedProjectKey", wrapped.ptr, wrapped.len, false) < 0)
            return client_error(a, -ENOMEM, "out of memory");
    }
    if (!me)
        return client_error(a, -EPROTO,
                            "the arca server did not list you among the project's members: not "
                            "rotating");

    for (size_t i = 0; i < json_array_size(versions); i++) {
        const json_t *v = json_array_get(versions, i);
        const char *secret_id, *env, *vpath, *key, *owner = "";
        long long version;
        struct client_scope s;

        if (!json_is_object(v))
            return client_error(a, -EPROTO, "the arca server sent a malformed version");
        if ((r = client_answer_str(a, v, "secretId", CLIENT_ID_MAX, &secret_id)) < 0 ||
            (r = client_answer_str(a, v, "environment", NAME_SLUG_MAX, &env)) < 0 ||
            (r = client_answer_str(a, v, "path", NAME_PATH_MAX, &vpath)) < 0 ||
            (r = client_answer_str(a, v, "key", NAME_KEY_MAX, &key)) < 0 ||
            (r = client_answer_int(a, v, "version", &version)) < 0)
            return r;
        const struct arca_scope in = {project_id, env, vpath, 0};
        if (client_scope_check(a, &in, &s) < 0 || !name_key_valid(key) ||
            wire_get_str(v, "owner", CLIENT_ID_MAX, &owner) == -EINVAL)
            return client_error(a, -EPROTO, "the arca server sent an invalid secret location");
        s.owner = owner;      /* a personal override: its owner is in its records' AD */
        s.project_key = true; /* one under the project key stays so (reseal_field) */

        json_t *o = json_object();
        if (!o || json_array_append_new(out_versions, o) < 0 ||
            client_set_str(o, "secretId", secret_id) < 0 ||
            json_object_set_new(o, "version", json_integer(version)) < 0)
            return client_error(a, -ENOMEM, "out of memory");
        r = reseal_field(a, &s, old_key, new_key, key, "value", v, o);
        if (r >= 0)
            r = reseal_field(a, &s, old_key, new_key, key, "comment", v, o);
        if (r < 0)
            return r == -EBADMSG ? client_error(a, r,
                                                "version %lld of '%s' in %s:%s does not open "
                                                "with the current key: nothing was changed",
                                                version, key, env, s.path)
                                 : r;
    }

    buf_clear(&path);
    r = client_project_path(a, project_id, "/rotate-key", &path);
    if (r < 0)
        return r;
    r = transport_call(a, "POST", path.ptr, body, NULL, NULL);
    if (r < 0)
        return r;
    size_t n_versions = json_array_size(versions), n_members = json_array_size(members);
    client_key_cache_put(a, project_id, TAKE_PTR(new_key));
    /* the server dropped its copy of the old key: hand it the new one */
    if (server_access) {
        r = arca_project_set_server_access(a, project_id, 1);
        if (r < 0)
            return client_error(a, r,
                                "the key was rotated, but turning server access on again "
                                "failed: run 'arca projects update %s --server-access on'",
                                project_id);
    }
    if (ret_n_versions)
        *ret_n_versions = n_versions;
    if (ret_n_members)
        *ret_n_members = n_members;
    return 0;
}
