/* api_auth.c - bootstrap, login, logout, the current user.
 *
 * The password never reaches the server.  The client stretches it with
 * Argon2id (salt and parameters kept here, handed out by /auth/params) into an
 * authentication key, which is all the server sees, and a key-encryption key,
 * which opens the user's private key on the client.  The server stores the
 * hash of the authentication key and compares hashes in constant time.
 *
 * /auth/params answers for unknown addresses too, with a decoy salt derived
 * from the root key and the address, so it cannot be used to find accounts;
 * a failed login says the same for an unknown address and a wrong key. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "metrics.h"
#include "ratelimit.h"
#include "server.h"

#define PASSWORD_MIN_LENGTH 12 /* characters, unless ARCA_PASSWORD_MIN_LENGTH says */

#define USER_KEY_BOX_BYTES (SEAL_RECORD_OVERHEAD + SEAL_SK_BYTES)

/* Lowercases a valid e-mail address into out (NAME_EMAIL_MAX + 1 bytes);
 * replies 400 and returns -EINVAL if it is not one. */
static int email_field(struct req *r, const json_t *body, char *out)
{
    const char *email;

    if (wire_get_str(body, "email", NAME_EMAIL_MAX, &email) < 0 || !name_email_valid(email)) {
        http_fail(r, 400, "'email' must be a valid e-mail address");
        return -EINVAL;
    }
    for (size_t i = 0; out && email[i]; i++)
        out[i] = (char)tolower((unsigned char)email[i]);
    if (out)
        out[strlen(email)] = 0;
    return 0;
}

/* The body's (valid) e-mail, lowercased.  OWNED (free). */
static char *lower_email(const json_t *body)
{
    char *e = strdup(json_string_value(json_object_get(body, "email")));

    for (size_t i = 0; e && e[i]; i++)
        e[i] = (char)tolower((unsigned char)e[i]);
    return e;
}

/* Creates a session for user_id and adds {token, expiresIn} to reply. */
static int session_issue(struct req *r, const char *user_id, json_t *reply)
{
    _cleanup_buf_ struct buf token = BUF_INIT;
    struct store_session sess = {0};
    int64_t now = now_ms();
    int ret;

    buf_init_secret(&token, 0);
    ret = seal_token_new("arca_s_", &token, sess.token_hash);
    if (ret < 0)
        return ret;
    memcpy(sess.user_id, user_id, sizeof(sess.user_id));
    sess.created_at = now;
    sess.expires_at = now + (int64_t)SERVER_SESSION_TTL_S * 1000;
    ret = r->srv->store->ops->session_create(r->srv->store, &sess);
    if (ret < 0)
        return ret;
    json_object_set_new(reply, "token", json_stringn(token.ptr, token.len));
    json_object_set_new(reply, "expiresIn", json_integer(SERVER_SESSION_TTL_S));
    return 0;
}

static json_t *user_json(const struct store_user *u, bool keys)
{
    json_t *j = json_pack("{s:s, s:s}", "id", u->id, "email", u->email);

    if (j && keys) {
        json_object_set_new(j, "publicKey", json_b64(u->public_key.ptr, u->public_key.len));
        json_object_set_new(j, "encryptedPrivateKey",
                            json_b64(u->encrypted_private_key.ptr, u->encrypted_private_key.len));
    }
    return j;
}

static json_t *kdf_json(const uint8_t *salt, uint64_t ops, uint64_t mem)
{
    return json_pack("{s:o, s:I, s:I}", "salt", json_b64(salt, SEAL_SALT_BYTES), "opslimit",
                     (json_int_t)ops, "memlimit", (json_int_t)mem);
}

/* The key material of a new account (bootstrap, signup), decoded into u with
 * its blobs pointing into k's buffers.  Replies 400 and returns < 0 on bad input. */
struct new_user {
    struct buf auth, salt, pk, esk;
    char email[NAME_EMAIL_MAX + 1];
};

static void new_user_release(struct new_user *k)
{
    buf_release(&k->auth);
    buf_release(&k->salt);
    buf_release(&k->pk);
    buf_release(&k->esk);
}

/* The keys of a new account, or of a password change (with_pk false: no
 * publicKey, the account keeps its own). */
static int new_user_parse_keys(struct req *r, const json_t *body, struct new_user *k,
                               struct store_user *u, bool with_pk)
{
    json_t *kdf;
    long long ops, mem;
    struct seal_kdf_params params;

    if (wire_get_obj(body, "kdf", &kdf) < 0 || wire_get_int(kdf, "opslimit", &ops) < 0 ||
        wire_get_int(kdf, "memlimit", &mem) < 0 || ops <= 0 || mem <= 0) {
        http_fail(r, 400, "'kdf' must be {salt, opslimit, memlimit}");
        return -EINVAL;
    }
    params = (struct seal_kdf_params){(uint64_t)ops, (uint64_t)mem};
    if (!seal_kdf_params_ok(&params)) {
        http_fail(r, 400, "'kdf' parameters are out of the accepted range");
        return -EINVAL;
    }
    if (req_b64_field(r, kdf, "salt", SEAL_SALT_BYTES, SEAL_SALT_BYTES, &k->salt) < 0 ||
        req_b64_field(r, body, "authKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &k->auth) < 0 ||
        (with_pk &&
         req_b64_field(r, body, "publicKey", SEAL_PK_BYTES, SEAL_PK_BYTES, &k->pk) < 0) ||
        req_b64_field(r, body, "encryptedPrivateKey", USER_KEY_BOX_BYTES, USER_KEY_BOX_BYTES,
                      &k->esk) < 0)
        return -EINVAL;
    name_uuid(u->id);
    u->email = k->email;
    seal_hash_token(k->auth.ptr, k->auth.len, u->auth_hash);
    u->kdf_salt = (struct store_blob){(uint8_t *)k->salt.ptr, k->salt.len};
    u->kdf_opslimit = params.opslimit;
    u->kdf_memlimit = params.memlimit;
    u->public_key = (struct store_blob){(uint8_t *)k->pk.ptr, k->pk.len};
    u->encrypted_private_key = (struct store_blob){(uint8_t *)k->esk.ptr, k->esk.len};
    u->created_at = now_ms();
    return 0;
}

static int new_user_parse(struct req *r, const json_t *body, struct new_user *k,
                          struct store_user *u)
{
    if (email_field(r, body, k->email) < 0)
        return -EINVAL;
    return new_user_parse_keys(r, body, k, u, true);
}

/* Replies {token, expiresIn, user, organization} for a new account, audited. */
static void new_user_reply(struct req *r, const struct store_user *u, const char *org_id,
                           const char *event)
{
    struct store_org_membership *orgs = NULL;
    size_t n = 0;
    json_t *reply;
    int ret;

    r->who.kind = PRINCIPAL_USER;
    memcpy(r->who.id, u->id, sizeof(r->who.id));
    snprintf(r->who.name, sizeof(r->who.name), "%s", u->email);
    snprintf(r->who.org_id, sizeof(r->who.org_id), "%s", org_id);
    if (audit_or_fail(r, &(struct audit_event){.event = event}) < 0)
        return;
    r->srv->store->ops->user_orgs(r->srv->store, u->id, &orgs, &n);
    reply = json_pack("{s:o}", "user", user_json(u, false));
    for (size_t i = 0; i < n; i++)
        if (streq(orgs[i].org.id, org_id))
            json_object_set_new(reply, "organization",
                                json_pack("{s:s, s:s, s:s}", "id", orgs[i].org.id, "name",
                                          orgs[i].org.name, "slug", orgs[i].org.slug));
    store_org_memberships_free(orgs, n);
    ret = session_issue(r, u->id, reply);
    if (ret < 0) {
        json_decref(reply);
        http_fail(r, 500, "cannot create a session (%d)", ret);
        return;
    }
    http_reply(r, 200, reply);
}

void api_bootstrap(struct req *r)
{
    json_t *body = req_body_json(r);
    struct new_user k = {0};
    struct store_user u = {0};
    struct store_org o = {0};
    char slug[NAME_SLUG_MAX + 1];
    const char *org_name;
    int64_t n_users;
    int ret;

    if (!body)
        return;
    if (wire_get_str(body, "organization", NAME_TITLE_MAX, &org_name) < 0 ||
        !name_title_valid(org_name) || name_slugify(org_name, slug, sizeof(slug)) < 0) {
        http_fail(r, 400, "'organization' must be a name of 1 to %d characters", NAME_TITLE_MAX);
        return;
    }
    if (new_user_parse(r, body, &k, &u) < 0)
        goto out;
    ret = r->srv->store->ops->user_count(r->srv->store, &n_users);
    if (ret == 0 && n_users > 0) {
        http_fail(r, 409, "this server is already bootstrapped: log in instead");
        goto out;
    }
    name_uuid(o.id);
    o.name = (char *)org_name;
    o.slug = slug;
    o.created_at = u.created_at;
    ret = r->srv->store->ops->bootstrap(r->srv->store, &u, &o);
    if (ret == -EEXIST)
        http_fail(r, 409, "this server is already bootstrapped: log in instead");
    else if (ret < 0)
        http_fail_store(r, ret, "bootstrap failed");
    else
        new_user_reply(r, &u, o.id, "auth.bootstrap");
out:
    new_user_release(&k);
}

void api_signup(struct req *r)
{
    json_t *body = req_body_json(r);
    struct new_user k = {0};
    struct store_user u = {0};
    struct store_invite inv = {0};
    uint8_t hash[SEAL_HASH_BYTES];
    const char *token;
    int ret;

    if (!body)
        return;
    if (wire_get_str(body, "inviteToken", 256, &token) < 0) {
        http_fail(r, 400, "'inviteToken' is required");
        return;
    }
    if (login_rate_check(r, "signup") < 0 || new_user_parse(r, body, &k, &u) < 0)
        goto out;
    seal_hash_token(token, strlen(token), hash);
    ret = r->srv->store->ops->invite_get(r->srv->store, hash, &inv);
    if (ret < 0 || inv.accepted_at || inv.expires_at <= now_ms() || !streq(inv.email, k.email)) {
        audit_log(r, &(struct audit_event){
                         .event = "auth.signup", .outcome = "failure", .actor_name = k.email});
        http_fail(r, 401,
                  "invalid, used or expired invite (it must be used with the invited "
                  "e-mail address)");
        goto out;
    }
    ret = r->srv->store->ops->invite_accept(r->srv->store, inv.id, &u, now_ms());
    if (ret == -EEXIST)
        http_fail(r, 409, "this invite was used, or the address already has an account");
    else if (ret < 0)
        http_fail_store(r, ret, "store failure accepting an invite");
    else
        new_user_reply(r, &u, inv.org_id, "auth.signup");
out:
    store_invite_release(&inv);
    new_user_release(&k);
}

/* The organization of a request: organizationId from body if given (the caller
 * must be a member), else the caller's first.  Replies and returns < 0. */
static int request_org(struct req *r, const json_t *body, char out[STORE_ID_LEN + 1], char role[16])
{
    struct store_org_membership *orgs = NULL;
    size_t n = 0;
    const char *want = NULL;
    int ret;

    if (body && wire_get_str_or(body, "organizationId", STORE_ID_LEN, NULL, &want) < 0) {
        http_fail(r, 400, "'organizationId' must be a string (an organization id)");
        return -EINVAL;
    }
    if (r->who.kind != PRINCIPAL_USER) {
        audit_denied(r, &(struct audit_event){.event = "permission.denied"});
        http_fail(r, 403, "only users can do this");
        return -EACCES;
    }
    ret = r->srv->store->ops->user_orgs(r->srv->store, r->who.id, &orgs, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure reading organizations");
        return ret;
    }
    ret = -ENOENT;
    for (size_t i = 0; i < n && ret < 0; i++) {
        if (want && !streq(want, orgs[i].org.id))
            continue;
        memcpy(out, orgs[i].org.id, STORE_ID_LEN + 1);
        snprintf(role, 16, "%s", orgs[i].role);
        ret = 0;
    }
    store_org_memberships_free(orgs, n);
    if (ret < 0)
        http_fail(r, 404, "organization not found");
    return ret;
}

int request_org_admin(struct req *r, const json_t *body, char org_id[STORE_ID_LEN + 1])
{
    char role[16];
    int ret = request_org(r, body, org_id, role);

    if (ret < 0)
        return ret;
    if (!streq(role, "admin")) {
        audit_denied(r, &(struct audit_event){.event = "permission.denied", .org_id = org_id});
        http_fail(r, 403, "only organization admins can do this");
        return -EACCES;
    }
    return 0;
}

int request_org_member(struct req *r, const json_t *body, char org_id[STORE_ID_LEN + 1])
{
    char role[16];

    if (r->who.kind == PRINCIPAL_IDENTITY) {
        memcpy(org_id, r->who.org_id, STORE_ID_LEN + 1);
        return 0;
    }
    return request_org(r, body, org_id, role);
}

void api_invites_create(struct req *r)
{
    json_t *body = req_body_json(r), *meta;
    struct store_invite inv = {0};
    struct store_user u = {0};
    _cleanup_buf_ struct buf token = BUF_INIT;
    const char *role;
    int ret;

    if (!body || email_field(r, body, NULL) < 0)
        return;
    if (wire_get_str_or(body, "orgRole", 16, "member", &role) < 0 ||
        (!streq(role, "admin") && !streq(role, "member"))) {
        http_fail(r, 400, "'orgRole' must be 'admin' or 'member'");
        return;
    }
    if (request_org_admin(r, body, inv.org_id) < 0)
        return;
    inv.email = lower_email(body);
    if (!inv.email) {
        http_fail(r, 500, "out of memory");
        return;
    }
    ret = r->srv->store->ops->user_get_by_email(r->srv->store, inv.email, &u);
    store_user_release(&u);
    if (ret == 0) {
        http_fail(r, 409, "'%s' already has an account", inv.email);
        goto out;
    }
    buf_init_secret(&token, 0);
    name_uuid(inv.id);
    snprintf(inv.org_role, sizeof(inv.org_role), "%s", role);
    memcpy(inv.created_by, r->who.id, sizeof(inv.created_by));
    inv.created_at = now_ms();
    inv.expires_at = inv.created_at + 7LL * 24 * 3600 * 1000;
    ret = seal_token_new("arca_inv_", &token, inv.token_hash);
    if (ret == 0)
        ret = r->srv->store->ops->invite_create(r->srv->store, &inv);
    if (ret < 0) {
        http_fail_store(r, ret, "cannot create the invite");
        goto out;
    }
    meta = json_pack("{s:s, s:s}", "email", inv.email, "orgRole", role);
    ret = audit_or_fail(
        r, &(struct audit_event){.event = "invite.create", .org_id = inv.org_id, .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200,
                   json_pack("{s:{s:s, s:s, s:s, s:o}, s:s%}", "invite", "id", inv.id, "email",
                             inv.email, "orgRole", inv.org_role, "expiresAt",
                             json_time(inv.expires_at), "token", token.ptr, token.len));
out:
    store_invite_release(&inv);
}

/* GET /users (organization admins): the people of the organization. */
void api_users_list(struct req *r)
{
    struct store_org_member *v = NULL;
    size_t n = 0;
    char org[STORE_ID_LEN + 1];
    json_t *arr;
    int ret;

    if (request_org_admin(r, NULL, org) < 0)
        return;
    ret = r->srv->store->ops->org_members(r->srv->store, org, &v, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing users");
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "id", v[i].user_id, "email",
                                             v[i].email, "orgRole", v[i].role, "createdAt",
                                             json_time(v[i].created_at)));
    store_org_members_free(v, n);
    http_reply(r, 200, json_pack("{s:s, s:o}", "organizationId", org, "users", arr));
}

/* The projects of org that user_id is a member of, with their role there. */
static json_t *user_projects_json(struct req *r, const char *org, const char *user_id)
{
    struct store_project *v = NULL;
    size_t n = 0;
    json_t *arr = json_array();

    if (r->srv->store->ops->project_list(r->srv->store, user_id, &v, &n) < 0) {
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        struct store_member m = {0};
        if (!streq(v[i].org_id, org) ||
            r->srv->store->ops->member_get(r->srv->store, v[i].id, user_id, &m) < 0)
            continue;
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", v[i].id, "name",
                                             v[i].name, "slug", v[i].slug, "role", m.role));
        store_member_release(&m);
    }
    store_projects_free(v, n);
    return arr;
}

/* DELETE /users/:userId (organization admins): the person leaves the
 * organization and each of its projects, their sessions end.  ?dryRun=true
 * answers what it would take, changing nothing. */
void api_users_remove(struct req *r)
{
    const char *uid = req_param(r, 0);
    struct store_user u = {0};
    char org[STORE_ID_LEN + 1], role[16], last[STORE_ID_LEN + 1] = "";
    json_t *projects = NULL, *meta;
    bool dry_run;
    int ret;

    if (req_query_bool(r, "dryRun", false, &dry_run) < 0 || request_org_admin(r, NULL, org) < 0)
        return;
    if (!name_uuid_valid(uid) || r->srv->store->ops->org_role(r->srv->store, org, uid, role) < 0 ||
        r->srv->store->ops->user_get(r->srv->store, uid, &u) < 0) {
        http_fail(r, 404, "user '%.64s' is not in your organization", uid);
        goto out;
    }
    if (streq(uid, r->who.id)) {
        http_fail(r, 409, "you cannot remove yourself: another organization admin can");
        goto out;
    }
    if (!(projects = user_projects_json(r, org, uid))) {
        http_fail(r, 503, "cannot list the projects of '%s'", u.email);
        goto out;
    }
    if (dry_run) {
        http_reply(r, 200,
                   json_pack("{s:b, s:{s:s, s:s, s:s}, s:O}", "dryRun", 1, "user", "id", uid,
                             "email", u.email, "orgRole", role, "projects", projects));
        goto out;
    }
    ret = r->srv->store->ops->org_member_remove(r->srv->store, org, uid, last);
    if (ret == -EBUSY)
        http_fail(r, 409, "'%s' is the organization's last admin and stays", u.email);
    else if (ret == -EMLINK)
        http_fail(r, 409,
                  "'%s' is the last admin of project %s: make another member its admin first "
                  "('arca members update'), then remove them",
                  u.email, last);
    else if (ret < 0)
        http_fail(r, ret == -ENOENT ? 404 : 503, "cannot remove '%s' (%d)", u.email, ret);
    if (ret < 0)
        goto out;
    meta = json_pack("{s:s, s:s, s:s, s:I}", "userId", uid, "email", u.email, "orgRole", role,
                     "projects", (json_int_t)json_array_size(projects));
    ret = audit_or_fail(
        r, &(struct audit_event){.event = "user.remove", .org_id = org, .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200,
                   json_pack("{s:{s:s, s:s, s:s}, s:O}", "user", "id", uid, "email", u.email,
                             "orgRole", role, "projects", projects));
out:
    json_decref(projects);
    store_user_release(&u);
}

/* GET /invites (organization admins): the organization's invites, never a token. */
void api_invites_list(struct req *r)
{
    struct store_invite *v = NULL;
    size_t n = 0;
    char org[STORE_ID_LEN + 1];
    json_t *arr;
    int ret;

    if (request_org_admin(r, NULL, org) < 0)
        return;
    ret = r->srv->store->ops->invite_list(r->srv->store, org, &v, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing invites");
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "id", v[i].id,
                                             "email", v[i].email, "orgRole", v[i].org_role,
                                             "createdAt", json_time(v[i].created_at), "expiresAt",
                                             json_time(v[i].expires_at), "status",
                                             v[i].accepted_at              ? "accepted"
                                             : v[i].expires_at <= now_ms() ? "expired"
                                                                           : "pending"));
    store_invites_free(v, n);
    http_reply(r, 200, json_pack("{s:o}", "invites", arr));
}

/* DELETE /invites/:inviteId (organization admins): a pending invite no longer
 * signs anyone up. */
void api_invites_revoke(struct req *r)
{
    const char *id = req_param(r, 0);
    char org[STORE_ID_LEN + 1];
    json_t *meta;
    int ret;

    if (request_org_admin(r, NULL, org) < 0)
        return;
    ret = r->srv->store->ops->invite_revoke(r->srv->store, org, id);
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "no pending invite '%.64s'", id);
        return;
    }
    meta = json_pack("{s:s}", "inviteId", id);
    ret = audit_or_fail(
        r, &(struct audit_event){.event = "invite.revoke", .org_id = org, .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200, json_object());
}

void api_users_lookup(struct req *r)
{
    const char *email = req_query(r, "email");
    struct store_user u = {0};
    struct store_org_membership *mine = NULL, *theirs = NULL;
    size_t n_mine = 0, n_theirs = 0;
    bool shared = false;
    int ret;

    if (!email || !name_email_valid(email)) {
        http_fail(r, 400, "'email' must be a valid e-mail address");
        return;
    }
    ret = r->srv->store->ops->user_get_by_email(r->srv->store, email, &u);
    if (ret == 0 && r->who.kind == PRINCIPAL_USER)
        ret = r->srv->store->ops->user_orgs(r->srv->store, r->who.id, &mine, &n_mine);
    if (ret == 0 && r->who.kind == PRINCIPAL_USER)
        ret = r->srv->store->ops->user_orgs(r->srv->store, u.id, &theirs, &n_theirs);
    for (size_t i = 0; ret == 0 && i < n_mine; i++)
        for (size_t j = 0; j < n_theirs; j++)
            shared |= streq(mine[i].org.id, theirs[j].org.id);
    if (ret == 0 && shared)
        http_reply(r, 200,
                   json_pack("{s:{s:s, s:s, s:o}}", "user", "id", u.id, "email", u.email,
                             "publicKey", json_b64(u.public_key.ptr, u.public_key.len)));
    else if (ret < 0 && ret != -ENOENT)
        http_fail_store(r, ret, "store failure looking up a user");
    else
        http_fail(r, 404, "no user '%s' in your organizations", email);
    store_user_release(&u);
    store_org_memberships_free(mine, n_mine);
    store_org_memberships_free(theirs, n_theirs);
}

/* The password policy every client enforces (the server never sees a
 * password): {"minLength": ARCA_PASSWORD_MIN_LENGTH, default 12}. */
static json_t *password_policy_json(void)
{
    const char *v = getenv("ARCA_PASSWORD_MIN_LENGTH");
    char *end = NULL;
    long n = v && *v ? strtol(v, &end, 10) : PASSWORD_MIN_LENGTH;

    if (v && *v && (*end || n < 1 || n > 1024))
        n = PASSWORD_MIN_LENGTH;
    return json_pack("{s:i}", "minLength", (int)n);
}

void api_auth_params(struct req *r)
{
    json_t *body = req_body_json(r);
    char email[NAME_EMAIL_MAX + 1];
    struct store_user u = {0};
    uint8_t decoy[SEAL_HASH_BYTES];
    int ret;

    if (!body || email_field(r, body, email) < 0)
        return;
    ret = r->srv->store->ops->user_get_by_email(r->srv->store, email, &u);
    if (ret == 0 && u.kdf_salt.len == SEAL_SALT_BYTES) {
        http_reply(r, 200,
                   json_pack("{s:o, s:o}", "kdf",
                             kdf_json(u.kdf_salt.ptr, u.kdf_opslimit, u.kdf_memlimit),
                             "passwordPolicy", password_policy_json()));
        store_user_release(&u);
        return;
    }
    store_user_release(&u);
    if (ret < 0 && ret != -ENOENT) {
        http_fail_store(r, ret, "store failure reading a user");
        return;
    }
    seal_hash_keyed(r->srv->root_key, email, strlen(email), decoy);
    http_reply(r, 200,
               json_pack("{s:o, s:o}", "kdf", kdf_json(decoy, SEAL_KDF_OPSLIMIT, SEAL_KDF_MEMLIMIT),
                         "passwordPolicy", password_policy_json()));
}

#define LOCK_AFTER 10              /* failed logins in a row */
#define LOCK_MS (15LL * 60 * 1000) /* for 15 minutes */

int login_rate_check(struct req *r, const char *account)
{
    char key[NAME_EMAIL_MAX + 16];
    unsigned wait_ip, wait_acct = 0;
    char retry[16];

    wait_ip = ratelimit_take(r->srv->rl_ip, r->remote, now_ms());
    if (!wait_ip && account) {
        snprintf(key, sizeof(key), "%s", account);
        wait_acct = ratelimit_take(r->srv->rl_account, key, now_ms());
    }
    if (!wait_ip && !wait_acct)
        return 0;
    snprintf(retry, sizeof(retry), "%u", wait_ip > wait_acct ? wait_ip : wait_acct);
    r->retry_after = wait_ip > wait_acct ? wait_ip : wait_acct;
    /* not audited: the limit is what bounds how many failures get audited (and
     * fsynced) per address; the request log and the metrics show the 429 */
    metrics_rate_limited(METRICS_LIMIT_LOGIN);
    http_fail(r, 429, "too many attempts: retry in %s seconds", retry);
    return -EAGAIN;
}

void login_rate_reset(struct req *r, const char *account)
{
    if (account)
        ratelimit_reset(r->srv->rl_account, account);
}

void api_auth_login(struct req *r)
{
    static const uint8_t nobody[SEAL_HASH_BYTES];
    json_t *body = req_body_json(r), *reply;
    _cleanup_buf_ struct buf auth = BUF_INIT;
    char email[NAME_EMAIL_MAX + 1];
    struct store_user u = {0};
    struct store *s = r->srv->store;
    uint8_t hash[SEAL_HASH_BYTES];
    int64_t locked_until = 0, now = now_ms();
    bool ok;
    int ret;

    if (!body || email_field(r, body, email) < 0 ||
        req_b64_field(r, body, "authKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &auth) < 0 ||
        login_rate_check(r, email) < 0)
        return;
    ret = s->ops->user_get_by_email(s, email, &u);
    if (ret < 0 && ret != -ENOENT) {
        http_fail_store(r, ret, "store failure reading a user");
        return;
    }
    seal_hash_token(auth.ptr, auth.len, hash);
    /* same work whether or not the account exists */
    ok = seal_equal(hash, ret == 0 ? u.auth_hash : nobody, SEAL_HASH_BYTES) && ret == 0;
    if (ret == 0)
        s->ops->user_locked_until(s, u.id, &locked_until);
    r->who.kind = PRINCIPAL_USER;
    snprintf(r->who.name, sizeof(r->who.name), "%s", email);
    if (ret == 0) {
        /* the records of this login belong to the account's organization */
        struct store_org_membership *orgs = NULL;
        size_t n_orgs = 0;
        memcpy(r->who.id, u.id, sizeof(r->who.id));
        if (s->ops->user_orgs(s, u.id, &orgs, &n_orgs) == 0 && n_orgs)
            memcpy(r->who.org_id, orgs[0].org.id, sizeof(r->who.org_id));
        store_org_memberships_free(orgs, n_orgs);
    }
    if (locked_until > now) {
        json_t *meta = json_pack("{s:s}", "reason", "locked");
        audit_log(r, &(struct audit_event){
                         .event = "auth.login.failed", .outcome = "denied", .metadata = meta});
        json_decref(meta);
        store_user_release(&u);
        http_fail(r, 401,
                  "this account is locked after repeated failed logins: try again in "
                  "%lld minutes",
                  (long long)((locked_until - now) / 60000 + 1));
        return;
    }
    if (!ok) {
        if (ret == 0)
            s->ops->user_login_failed(s, u.id, now, LOCK_AFTER, LOCK_MS, &locked_until);
        store_user_release(&u);
        if (audit_or_fail(
                r, &(struct audit_event){.event = "auth.login.failed", .outcome = "failure"}) == 0)
            http_fail(r, 401, "invalid email or password");
        return;
    }
    s->ops->user_login_ok(s, u.id);
    login_rate_reset(r, email);
    if (audit_or_fail(r, &(struct audit_event){.event = "auth.login"}) < 0) {
        store_user_release(&u);
        return;
    }
    reply = json_pack("{s:o}", "user", user_json(&u, true));
    ret = session_issue(r, u.id, reply);
    store_user_release(&u);
    if (ret < 0) {
        json_decref(reply);
        http_fail(r, 500, "cannot create a session (%d)", ret);
        return;
    }
    http_reply(r, 200, reply);
}

/* POST /auth/password (a user): {currentAuthKey, authKey, kdf, encryptedPrivateKey}.
 * The client proved the current password (its authentication key, rate limited
 * and counted like a login) and sends the same private key sealed under the new
 * password's KEK; the public key, memberships and sealed project keys stay. */
void api_auth_password(struct req *r)
{
    json_t *body = req_body_json(r);
    _cleanup_buf_ struct buf current = BUF_INIT;
    struct new_user k = {0};
    struct store_user u = {0}, now_u = {0};
    struct store *s = r->srv->store;
    uint8_t hash[SEAL_HASH_BYTES];
    int64_t locked_until = 0;
    int ret;

    if (!body)
        return;
    if (r->who.kind != PRINCIPAL_USER) {
        http_fail(r, 400, "only a user has a password");
        return;
    }
    ret = s->ops->user_get(s, r->who.id, &u);
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "cannot read the user (%d)", ret);
        return;
    }
    if (req_b64_field(r, body, "currentAuthKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &current) < 0 ||
        login_rate_check(r, u.email) < 0)
        goto out;
    if (new_user_parse_keys(r, body, &k, &now_u, false) < 0)
        goto out;
    seal_hash_token(current.ptr, current.len, hash);
    s->ops->user_locked_until(s, u.id, &locked_until);
    if (locked_until > now_ms() || !seal_equal(hash, u.auth_hash, SEAL_HASH_BYTES)) {
        if (locked_until <= now_ms())
            s->ops->user_login_failed(s, u.id, now_ms(), LOCK_AFTER, LOCK_MS, &locked_until);
        if (audit_or_fail(r, &(struct audit_event){.event = "auth.password.change",
                                                   .outcome = "failure"}) == 0)
            http_fail(r, 401, "the current password is wrong");
        goto out;
    }
    memcpy(now_u.id, u.id, sizeof(now_u.id));
    ret = s->ops->user_set_credentials(s, &now_u);
    if (ret < 0) {
        http_fail_store(r, ret, "cannot change the password");
        goto out;
    }
    if (audit_or_fail(r, &(struct audit_event){.event = "auth.password.change"}) == 0)
        http_reply(r, 200, json_object());
out:
    new_user_release(&k);
    store_user_release(&u);
}

void api_auth_logout(struct req *r)
{
    int ret;

    if (r->who.kind != PRINCIPAL_USER) {
        http_fail(r, 400,
                  "log out ends a user session; revoke access tokens with "
                  "/auth/token/revoke");
        return;
    }
    ret = r->srv->store->ops->session_delete(r->srv->store, r->who.token_hash);
    if (ret < 0 && ret != -ENOENT) {
        http_fail_store(r, ret, "store failure deleting a session");
        return;
    }
    if (audit_or_fail(r, &(struct audit_event){.event = "auth.logout"}) == 0)
        http_reply(r, 200, json_object());
}

void api_users_me(struct req *r)
{
    struct store_user u = {0};
    struct store_org_membership *orgs = NULL;
    size_t n_orgs = 0;
    json_t *arr;
    int ret;

    ret = r->srv->store->ops->user_get(r->srv->store, r->who.id, &u);
    if (ret == 0)
        ret = r->srv->store->ops->user_orgs(r->srv->store, r->who.id, &orgs, &n_orgs);
    if (ret < 0) {
        store_user_release(&u);
        http_fail(r, ret == -ENOENT ? 401 : 503, "cannot read the current user (%d)", ret);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n_orgs; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", orgs[i].org.id, "name",
                                             orgs[i].org.name, "slug", orgs[i].org.slug, "role",
                                             orgs[i].role));
    /* the reply carries the caller's sealed private key: key material, audited */
    if (audit_defer(r, &(struct audit_event){.event = "user.key.read"}) == 0)
        http_reply(r, 200,
                   json_pack("{s:o, s:o}", "user", user_json(&u, true), "organizations", arr));
    else
        json_decref(arr);
    store_user_release(&u);
    store_org_memberships_free(orgs, n_orgs);
}
