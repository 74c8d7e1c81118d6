/* api_identities.c - machine identities (universal auth) and service tokens.
 *
 * An identity's client secret is made on the client and never sent: the client
 * derives from it an authentication key (sent; the server keeps its hash) and
 * a key-encryption key that seals the identity's private key (stored, opaque).
 * Login with client ID + auth key gives an access token (TTL, max TTL, number
 * of uses, trusted addresses) and the sealed private key, so the identity
 * opens the project keys sealed to it exactly as a user does.
 *
 * Service tokens are "st.<id>.<secret>.<key>": the server keeps the hash of
 * <secret> and the project key sealed under <key>; the client never sends
 * <key>. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "base/b64.h"
#include "base/glob.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "server.h"

#define IDENTITY_TTL_DEFAULT 7200
#define IDENTITY_MAX_TTL_DEFAULT 2592000
#define IDENTITY_KEY_BOX_BYTES (SEAL_RECORD_OVERHEAD + SEAL_SK_BYTES)
#define SERVICE_SCOPES_MAX 32
#define IDENTITY_PROJECTS_MAX 1000

static json_t *identity_json(const struct store_identity *id)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:o}", "id", id->id, "name", id->name,
        "clientId", id->client_id, "organizationId", id->org_id, "publicKey",
        json_b64(id->public_key.ptr, id->public_key.len), "accessTokenTTL",
        (json_int_t)id->access_token_ttl, "accessTokenMaxTTL", (json_int_t)id->access_token_max_ttl,
        "accessTokenNumUsesLimit", (json_int_t)id->access_token_num_uses_limit, "trustedIps",
        id->trusted_ips ? id->trusted_ips : "", "createdAt", json_time(id->created_at));
}

static json_t *client_secret_json(const struct store_client_secret *cs)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:b, s:o}", "id", cs->id, "prefix", cs->prefix,
                     "description", cs->description ? cs->description : "", "expiresAt",
                     cs->expires_at ? json_time(cs->expires_at) : json_null(), "numUses",
                     (json_int_t)cs->num_uses, "numUsesLimit", (json_int_t)cs->num_uses_limit,
                     "revoked", cs->revoked, "createdAt", json_time(cs->created_at));
}

static int get_nonneg(struct req *r, const json_t *o, const char *key, long long def, long long max,
                      int64_t *ret)
{
    long long v = def;
    int rc = wire_get_int(o, key, &v);

    if ((rc < 0 && rc != -ENOENT) || v < 0 || v > max) {
        http_fail(r, 400, "'%s' must be a number from 0 to %lld", key, max);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

/* Parses a client secret description (auth key, sealed private key ...). */
static int client_secret_parse(struct req *r, const json_t *o, const char *identity_id,
                               struct store_client_secret *cs, struct buf *esk)
{
    _cleanup_buf_ struct buf auth = BUF_INIT;
    const char *prefix, *desc;
    int64_t ttl;

    if (!json_is_object(o)) {
        http_fail(r, 400, "'clientSecret' must be an object");
        return -EINVAL;
    }
    if (req_b64_field(r, o, "authKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &auth) < 0 ||
        req_b64_field(r, o, "encryptedPrivateKey", IDENTITY_KEY_BOX_BYTES, IDENTITY_KEY_BOX_BYTES,
                      esk) < 0)
        return -EINVAL;
    if (wire_get_str_or(o, "prefix", sizeof(cs->prefix) - 1, "", &prefix) < 0 ||
        wire_get_str_or(o, "description", NAME_TITLE_MAX, "", &desc) < 0) {
        http_fail(r, 400, "'prefix' (at most %zu characters) and 'description' must be strings",
                  sizeof(cs->prefix) - 1);
        return -EINVAL;
    }
    if (get_nonneg(r, o, "ttl", 0, 10LL * 365 * 86400, &ttl) < 0 ||
        get_nonneg(r, o, "numUsesLimit", 0, 1LL << 40, &cs->num_uses_limit) < 0)
        return -EINVAL;
    name_uuid(cs->id);
    snprintf(cs->identity_id, sizeof(cs->identity_id), "%s", identity_id);
    seal_hash_token(auth.ptr, auth.len, cs->auth_hash);
    cs->encrypted_private_key = (struct store_blob){(uint8_t *)esk->ptr, esk->len};
    snprintf(cs->prefix, sizeof(cs->prefix), "%s", prefix);
    cs->description = (char *)desc;
    cs->created_at = now_ms();
    cs->expires_at = ttl ? cs->created_at + ttl * 1000 : 0;
    return 0;
}

static bool cidrs_valid(const char *list)
{
    return strlen(list) < 4096 && strspn(list, "0123456789abcdefABCDEF.:/,") == strlen(list);
}

void api_identities_create(struct req *r)
{
    json_t *body = req_body_json(r), *cso, *meta;
    _cleanup_buf_ struct buf pk = BUF_INIT, esk = BUF_INIT;
    struct store_identity id = {0};
    struct store_client_secret cs = {0};
    const char *name, *ips;
    int ret;

    if (!body)
        return;
    if (wire_get_str(body, "name", NAME_TITLE_MAX, &name) < 0 || !name_title_valid(name)) {
        http_fail(r, 400, "'name' must be a name of 1 to %d characters", NAME_TITLE_MAX);
        return;
    }
    if (wire_get_str_or(body, "trustedIps", 4096, "", &ips) < 0 || !cidrs_valid(ips)) {
        http_fail(r, 400, "'trustedIps' must be comma-separated addresses or CIDRs");
        return;
    }
    if (get_nonneg(r, body, "accessTokenTTL", IDENTITY_TTL_DEFAULT, 10LL * 365 * 86400,
                   &id.access_token_ttl) < 0 ||
        get_nonneg(r, body, "accessTokenMaxTTL", IDENTITY_MAX_TTL_DEFAULT, 10LL * 365 * 86400,
                   &id.access_token_max_ttl) < 0 ||
        get_nonneg(r, body, "accessTokenNumUsesLimit", 0, 1LL << 40,
                   &id.access_token_num_uses_limit) < 0)
        return;
    if (id.access_token_ttl == 0 || id.access_token_max_ttl < id.access_token_ttl) {
        http_fail(r, 400, "'accessTokenTTL' must be positive and at most 'accessTokenMaxTTL'");
        return;
    }
    if (req_b64_field(r, body, "publicKey", SEAL_PK_BYTES, SEAL_PK_BYTES, &pk) < 0 ||
        request_org_admin(r, body, id.org_id) < 0)
        return;
    name_uuid(id.id);
    name_uuid(id.client_id);
    if (wire_get_obj(body, "clientSecret", &cso) < 0) {
        http_fail(r, 400, "'clientSecret' is required");
        return;
    }
    if (client_secret_parse(r, cso, id.id, &cs, &esk) < 0)
        return;
    id.name = (char *)name;
    id.public_key = (struct store_blob){(uint8_t *)pk.ptr, pk.len};
    id.trusted_ips = (char *)ips;
    memcpy(id.created_by, r->who.id, sizeof(id.created_by));
    id.created_at = now_ms();
    ret = r->srv->store->ops->identity_create(r->srv->store, &id, &cs);
    if (ret < 0) {
        http_fail(r, ret == -EEXIST ? 409 : 503, "cannot create identity '%s'%s", name,
                  ret == -EEXIST ? ": the name is taken" : "");
        return;
    }
    meta = json_pack("{s:s, s:s}", "identityId", id.id, "name", name);
    ret = audit_or_fail(r, &(struct audit_event){
                               .event = "identity.create", .org_id = id.org_id, .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(
            r, 200,
            json_pack("{s:o, s:s}", "identity", identity_json(&id), "clientSecretId", cs.id));
}

void api_identities_list(struct req *r)
{
    char org[STORE_ID_LEN + 1];
    struct store_identity *v = NULL;
    size_t n = 0;
    json_t *arr;

    if (request_org_member(r, NULL, org) < 0)
        return;
    int ret = r->srv->store->ops->identity_list(r->srv->store, org, &v, &n);

    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing identities");
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, identity_json(&v[i]));
    store_identities_free(v, n);
    http_reply(r, 200, json_pack("{s:o}", "identities", arr));
}

/* The identity of path parameter 0, if the caller is an admin of its
 * organization (or, with self_ok, the identity itself).  404 otherwise. */
static int identity_open(struct req *r, bool self_ok, struct store_identity *ret)
{
    const char *id = req_param(r, 0);
    char role[16];
    int rc =
        name_uuid_valid(id) ? r->srv->store->ops->identity_get(r->srv->store, id, ret) : -ENOENT;

    if (rc == 0 && self_ok && r->who.kind == PRINCIPAL_IDENTITY && streq(r->who.id, id))
        return 0;
    if (rc == 0 && org_role_of(r, ret->org_id, role) == 0) {
        if (streq(role, "admin"))
            return 0;
        audit_denied(r, &(struct audit_event){.event = "permission.denied", .org_id = ret->org_id});
        http_fail(r, 403, "only organization admins can do this");
        store_identity_release(ret);
        return -EACCES;
    }
    store_identity_release(ret);
    if (rc < 0 && rc != -ENOENT) {
        http_fail_store(r, rc, "store failure reading identity '%.64s'", id);
    } else {
        audit_denied(r, &(struct audit_event){.event = "permission.denied"});
        http_fail(r, 404, "identity '%.64s' not found", id);
    }
    return -ENOENT;
}

void api_identities_delete(struct req *r)
{
    struct store_identity id = {0};
    json_t *meta;
    int ret;

    if (identity_open(r, false, &id) < 0)
        return;
    ret = r->srv->store->ops->identity_delete(r->srv->store, id.id);
    if (ret == -EBUSY) {
        http_fail(r, 409,
                  "machine identity '%s' is the last admin of a project: make someone else "
                  "admin there first",
                  id.name);
    } else if (ret < 0) {
        http_fail_store(r, ret, "store failure deleting an identity");
    } else {
        meta = json_pack("{s:s, s:s}", "identityId", id.id, "name", id.name);
        if (audit_or_fail(r, &(struct audit_event){.event = "identity.delete",
                                                   .org_id = id.org_id,
                                                   .metadata = meta}) == 0)
            http_reply(r, 200, json_object());
        json_decref(meta);
    }
    store_identity_release(&id);
}

/* An identity never makes or revokes its own client secrets (it may list
 * them): a leaked access token must not turn into a lasting login.  Replies
 * 403 and returns true for the identity itself. */
static bool self_refused(struct req *r)
{
    if (r->who.kind != PRINCIPAL_IDENTITY || !streq(r->who.id, req_param(r, 0)))
        return false;
    audit_log(r, &(struct audit_event){.event = "permission.denied", .outcome = "denied"});
    http_fail(r, 403,
              "an identity cannot make or revoke its own client secrets: an organization admin "
              "who holds its project roles does ('arca identities client-secret')");
    return true;
}

/* A new client secret gives whoever holds it everything the identity may do,
 * so the caller must hold that too: be a member of each of the identity's
 * projects with a role that covers the identity's role there. */
static int may_mint_for(struct req *r, const struct store_identity *id)
{
    struct store *s = r->srv->store;
    struct store_project *v = NULL;
    size_t n = 0;
    int ret = s->ops->project_list(s, id->id, &v, &n);

    if (ret < 0)
        http_fail_store(r, ret, "store failure listing the identity's projects");
    for (size_t i = 0; ret == 0 && i < n; i++) {
        struct store_member theirs = {0}, mine = {0};
        struct project_ctx ctx;
        char what[NAME_TITLE_MAX + NAME_SLUG_MAX + 96];

        ret = s->ops->member_get(s, v[i].id, id->id, &theirs);
        if (ret == -ENOENT) { /* it left the project meanwhile */
            ret = 0;
            continue;
        }
        if (ret == 0)
            ret = s->ops->member_get(s, v[i].id, r->who.id, &mine);
        store_member_release(&mine);
        if (ret == -ENOENT) {
            audit_log(r, &(struct audit_event){.event = "permission.denied",
                                               .outcome = "denied",
                                               .org_id = id->org_id,
                                               .project_id = v[i].id});
            http_fail(r, 403,
                      "identity '%s' is a member of project '%s', which you are not: only a "
                      "member who holds at least its role '%s' there can give it a client secret",
                      id->name, v[i].slug, theirs.role);
            ret = -EACCES;
        } else if (ret < 0) {
            http_fail_store(r, ret, "store failure reading a membership");
        } else if ((ret = project_open(r, v[i].id, &ctx)) == 0) {
            snprintf(what, sizeof(what),
                     "give identity '%s' a client secret: in project '%s' it has role", id->name,
                     v[i].slug);
            ret = project_may_grant_role(r, &ctx, theirs.role, what);
            project_release(&ctx);
        }
        store_member_release(&theirs);
    }
    store_projects_free(v, n);
    return ret;
}

/* A new key pair for the identity: publicKey and, for each of its projects,
 * the project key sealed to it (memberships: [{projectId,
 * encryptedProjectKey}]).  The caller's client makes it: it does not hold the
 * identity's private key, but holds every project key the identity has (the
 * caller holds the identity's role in each project: may_mint_for).  The
 * wrapped keys land in bufs (n of them, released by the caller). */
static int rekey_parse(struct req *r, const json_t *body, struct buf *pk,
                       struct store_rekey_membership **ret, struct buf **bufs, size_t *ret_n)
{
    json_t *arr, *it;
    size_t i;

    if (req_b64_field(r, body, "publicKey", SEAL_PK_BYTES, SEAL_PK_BYTES, pk) < 0)
        return -EINVAL;
    if (wire_get_arr(body, "memberships", IDENTITY_PROJECTS_MAX, &arr) < 0) {
        http_fail(r, 400,
                  "'memberships' must be an array of at most %d {projectId, "
                  "encryptedProjectKey}, one for each project of the identity",
                  IDENTITY_PROJECTS_MAX);
        return -EINVAL;
    }
    *ret_n = json_array_size(arr);
    *ret = calloc(*ret_n ? *ret_n : 1, sizeof(**ret));
    *bufs = calloc(*ret_n ? *ret_n : 1, sizeof(**bufs));
    if (!*ret || !*bufs) {
        http_fail(r, 500, "out of memory");
        return -ENOMEM;
    }
    json_array_foreach(arr, i, it)
    {
        if (wire_get_str(it, "projectId", STORE_ID_LEN, &(*ret)[i].project_id) < 0 ||
            !name_uuid_valid((*ret)[i].project_id)) {
            http_fail(r, 400, "each of 'memberships' needs a 'projectId'");
            return -EINVAL;
        }
        if (req_b64_field(r, it, "encryptedProjectKey", SEAL_WRAPPED_BYTES, SEAL_WRAPPED_BYTES,
                          &(*bufs)[i]) < 0)
            return -EINVAL;
        (*ret)[i].wrapped_key = (const uint8_t *)(*bufs)[i].ptr;
        (*ret)[i].wrapped_key_len = (*bufs)[i].len;
    }
    return 0;
}

void api_client_secrets_create(struct req *r)
{
    json_t *body = req_body_json(r), *meta;
    struct store *s = r->srv->store;
    struct store_identity id = {0};
    struct store_client_secret cs = {0};
    struct store_rekey_membership *m = NULL;
    struct buf *bufs = NULL;
    _cleanup_buf_ struct buf esk = BUF_INIT, pk = BUF_INIT;
    bool rekey = body && json_object_get(body, "publicKey");
    size_t n = 0;
    int ret;

    if (!body || self_refused(r) || identity_open(r, false, &id) < 0)
        return;
    if (client_secret_parse(r, body, id.id, &cs, &esk) < 0 ||
        (rekey && rekey_parse(r, body, &pk, &m, &bufs, &n) < 0) || may_mint_for(r, &id) < 0)
        goto out;
    if (rekey)
        ret = s->ops->identity_rekey(s, id.id, (const uint8_t *)pk.ptr, pk.len, m, n, &cs);
    else
        ret = s->ops->client_secret_create(s, &cs);
    if (ret == -EINVAL && rekey) {
        http_fail(r, 400,
                  "'memberships' must name each project of identity '%s' exactly once (did "
                  "they change meanwhile? try again)",
                  id.name);
        goto out;
    }
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "cannot create a client secret (%d)", ret);
        goto out;
    }
    meta = json_pack("{s:s, s:s, s:b}", "identityId", id.id, "clientSecretId", cs.id, "newKeyPair",
                     rekey);
    if (audit_or_fail(r, &(struct audit_event){.event = "identity.client-secret.create",
                                               .org_id = id.org_id,
                                               .metadata = meta}) == 0)
        http_reply(r, 200,
                   json_pack("{s:o, s:b}", "clientSecret", client_secret_json(&cs),
                             "otherSecretsRevoked", rekey));
    json_decref(meta);
out:
    for (size_t i = 0; bufs && i < n; i++)
        buf_release(&bufs[i]);
    free(bufs);
    free(m);
    store_identity_release(&id);
}

void api_client_secrets_list(struct req *r)
{
    struct store_identity id = {0};
    struct store_client_secret *v = NULL;
    size_t n = 0;
    json_t *arr;

    if (identity_open(r, true, &id) < 0)
        return;
    int ret = r->srv->store->ops->client_secret_list(r->srv->store, id.id, &v, &n);

    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing client secrets");
    } else {
        arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, client_secret_json(&v[i]));
        http_reply(r, 200, json_pack("{s:o}", "clientSecrets", arr));
    }
    store_client_secrets_free(v, n);
    store_identity_release(&id);
}

void api_client_secrets_revoke(struct req *r)
{
    struct store_identity id = {0};
    const char *sid = req_param(r, 1);
    json_t *meta;
    int ret;

    if (self_refused(r) || identity_open(r, false, &id) < 0)
        return;
    ret = r->srv->store->ops->client_secret_revoke(r->srv->store, id.id, sid);
    if (ret < 0) {
        http_fail(r, ret == -ENOENT ? 404 : 503, "client secret '%.64s' not found", sid);
    } else {
        meta = json_pack("{s:s, s:s}", "identityId", id.id, "clientSecretId", sid);
        if (audit_or_fail(r, &(struct audit_event){.event = "identity.client-secret.revoke",
                                                   .org_id = id.org_id,
                                                   .metadata = meta}) == 0)
            http_reply(r, 200, json_object());
        json_decref(meta);
    }
    store_identity_release(&id);
}

/* {accessToken, expiresIn, accessTokenMaxTTL, tokenType} */
static json_t *token_json(const char *token, size_t len, int64_t expires_in, int64_t max_ttl)
{
    return json_pack("{s:s%, s:I, s:I, s:s}", "accessToken", token, len, "expiresIn",
                     (json_int_t)expires_in, "accessTokenMaxTTL", (json_int_t)max_ttl, "tokenType",
                     "Bearer");
}

/* Universal-auth login with client_id and the auth key derived from a client
 * secret.  compat: Infisical's reply (the four token fields only). */
static void identity_login(struct req *r, const char *client_id, const uint8_t *auth_key,
                           bool compat)
{
    json_t *reply;
    _cleanup_buf_ struct buf token = BUF_INIT;
    struct store *s = r->srv->store;
    struct store_identity id = {0};
    struct store_client_secret *v = NULL, *match = NULL;
    struct store_access_token t = {0};
    size_t n = 0;
    uint8_t hash[SEAL_HASH_BYTES];
    int64_t now = now_ms();
    int ret;

    if (login_rate_check(r, client_id) < 0)
        return;
    seal_hash_token(auth_key, SEAL_KEY_BYTES, hash);
    ret = s->ops->identity_get_by_client_id(s, client_id, &id);
    if (ret == 0)
        ret = s->ops->client_secret_list(s, id.id, &v, &n);
    for (size_t i = 0; ret == 0 && i < n; i++)
        if (seal_equal(hash, v[i].auth_hash, SEAL_HASH_BYTES))
            match = &v[i];
    r->who.kind = PRINCIPAL_IDENTITY;
    snprintf(r->who.name, sizeof(r->who.name), "%s", ret == 0 ? id.name : client_id);
    if (ret == 0) {
        memcpy(r->who.id, id.id, sizeof(r->who.id));
        memcpy(r->who.org_id, id.org_id, sizeof(r->who.org_id));
    }
    if (ret < 0 && ret != -ENOENT) {
        http_fail_store(r, ret, "store failure reading an identity");
        goto out;
    }
    if (match && !ip_allowed(id.trusted_ips, r->remote)) {
        if (audit_or_fail(r, &(struct audit_event){.event = "auth.identity.login.failed",
                                                   .outcome = "denied"}) == 0)
            http_fail(r, 403, "this identity may not log in from %s", r->remote);
        goto out;
    }
    if (!match) {
        if (audit_or_fail(r, &(struct audit_event){.event = "auth.identity.login.failed",
                                                   .outcome = "failure"}) == 0)
            http_fail(r, 401, "invalid client credentials");
        goto out;
    }
    buf_init_secret(&token, 0);
    ret = seal_token_new("arca_i_", &token, t.token_hash);
    memcpy(t.identity_id, id.id, sizeof(t.identity_id));
    memcpy(t.client_secret_id, match->id, sizeof(t.client_secret_id));
    t.created_at = now;
    t.expires_at = now + id.access_token_ttl * 1000;
    t.max_expires_at = now + id.access_token_max_ttl * 1000;
    t.num_uses_limit = id.access_token_num_uses_limit;
    /* the use, the token and the record: one transaction */
    if (ret == 0)
        ret = audit_identity_login(r, match->id, now, &t,
                                   &(struct audit_event){.event = "auth.identity.login"});
    if (ret == -EACCES || ret == -ENOENT) { /* revoked, expired, out of uses, gone */
        if (audit_or_fail(r, &(struct audit_event){.event = "auth.identity.login.failed",
                                                   .outcome = "failure"}) == 0)
            http_fail(r, 401, "invalid client credentials");
        goto out;
    }
    if (ret < 0) {
        http_fail_store(r, ret, "cannot create an access token");
        goto out;
    }
    login_rate_reset(r, client_id);
    reply = token_json(token.ptr, token.len, id.access_token_ttl, id.access_token_max_ttl);
    if (!compat)
        json_object_set_new(reply, "identity",
                            json_pack("{s:s, s:s, s:o, s:o}", "id", id.id, "name", id.name,
                                      "publicKey", json_b64(id.public_key.ptr, id.public_key.len),
                                      "encryptedPrivateKey",
                                      json_b64(match->encrypted_private_key.ptr,
                                               match->encrypted_private_key.len)));
    http_reply(r, 200, reply);
out:
    store_client_secrets_free(v, n);
    store_identity_release(&id);
}

void api_identity_login(struct req *r)
{
    json_t *body = req_body_json(r);
    _cleanup_buf_ struct buf auth = BUF_INIT;
    const char *client_id;

    if (!body)
        return;
    if (wire_get_str(body, "clientId", 64, &client_id) < 0) {
        http_fail(r, 400, "'clientId' is required");
        return;
    }
    if (req_b64_field(r, body, "authKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &auth) < 0)
        return;
    identity_login(r, client_id, (const uint8_t *)auth.ptr, false);
}

/* Infisical's POST /api/v1/auth/universal-auth/login: the client secret itself
 * arrives (Infisical's SDKs send it), and the server derives the auth key as
 * arca's own clients do.  The server then sees the secret: see security.md. */
void api_ua_login(struct req *r)
{
    json_t *body = req_body_json(r);
    const char *client_id, *secret;
    uint8_t auth[SEAL_KEY_BYTES], kek[SEAL_KEY_BYTES];

    if (!body)
        return;
    if (wire_get_str(body, "clientId", 64, &client_id) < 0 ||
        wire_get_str(body, "clientSecret", 256, &secret) < 0) {
        http_fail(r, 400, "'clientId' and 'clientSecret' are required");
        return;
    }
    seal_secret_derive(secret, strlen(secret), auth, kek);
    seal_wipe(kek, sizeof(kek));
    identity_login(r, client_id, auth, true);
    seal_wipe(auth, sizeof(auth));
}

/* The access token of the body; replies 401 when it is unusable. */
static int body_token(struct req *r, const char **tok, struct store_access_token *t)
{
    json_t *body = req_body_json(r);
    int ret;

    if (!body)
        return -EINVAL;
    if (wire_get_str(body, "accessToken", 512, tok) < 0 || !startswith(*tok, "arca_i_")) {
        http_fail(r, 400, "'accessToken' must be a machine identity access token");
        return -EINVAL;
    }
    seal_hash_token(*tok, strlen(*tok), r->who.token_hash);
    ret = r->srv->store->ops->access_token_get(r->srv->store, r->who.token_hash, t);
    if (ret < 0 || t->revoked || t->expires_at <= now_ms()) {
        http_fail(r, 401, "invalid, revoked or expired access token: log in again");
        return -EACCES;
    }
    r->who.kind = PRINCIPAL_IDENTITY;
    memcpy(r->who.id, t->identity_id, sizeof(r->who.id));
    return 0;
}

void api_token_renew(struct req *r)
{
    struct store_access_token t;
    struct store_identity id = {0};
    const char *tok;
    int64_t now = now_ms(), expires;

    if (body_token(r, &tok, &t) < 0)
        return;
    if (r->srv->store->ops->identity_get(r->srv->store, t.identity_id, &id) < 0) {
        http_fail(r, 401, "the identity of this token was deleted");
        return;
    }
    snprintf(r->who.name, sizeof(r->who.name), "%s", id.name);
    memcpy(r->who.org_id, id.org_id, sizeof(r->who.org_id));
    expires = now + id.access_token_ttl * 1000;
    if (expires > t.max_expires_at)
        expires = t.max_expires_at;
    if (expires <= now ||
        r->srv->store->ops->access_token_renew(r->srv->store, r->who.token_hash, expires) < 0) {
        http_fail(r, 401, "this access token reached its maximum lifetime: log in again");
    } else if (audit_or_fail(r, &(struct audit_event){.event = "auth.token.renew"}) == 0) {
        http_reply(r, 200,
                   token_json(tok, strlen(tok), (expires - now) / 1000, id.access_token_max_ttl));
    }
    store_identity_release(&id);
}

void api_token_revoke(struct req *r)
{
    struct store_access_token t;
    const char *tok;

    if (body_token(r, &tok, &t) < 0)
        return;
    int ret = r->srv->store->ops->access_token_revoke(r->srv->store, r->who.token_hash);

    if (ret < 0)
        http_fail_store(r, ret, "store failure revoking a token");
    else if (audit_or_fail(r, &(struct audit_event){.event = "auth.token.revoke"}) == 0)
        http_reply(r, 200, json_object());
}

/* --- service tokens ----------------------------------------------------- */

static json_t *service_token_json(const struct store_service_token *t)
{
    json_t *scopes = NULL;

    wire_parse(t->scopes, strlen(t->scopes), &scopes, NULL);
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:b}", "id", t->id, "projectId",
                     t->project_id, "name", t->name, "scopes", scopes ? scopes : json_array(),
                     "access", t->write ? "read-write" : "read", "expiresAt",
                     t->expires_at ? json_time(t->expires_at) : json_null(), "createdAt",
                     json_time(t->created_at), "revoked", t->revoked);
}

void api_service_tokens_create(struct req *r)
{
    json_t *body = req_body_json(r), *scopes, *sc, *canon, *meta;
    struct project_ctx ctx;
    struct store_service_token t = {0};
    const char *envs[SERVICE_SCOPES_MAX], *globs[SERVICE_SCOPES_MAX];
    struct authz_policy *granted = NULL;
    _cleanup_buf_ struct buf wrapped = BUF_INIT, secret = BUF_INIT, text = BUF_INIT;
    const char *name, *access;
    int64_t expires_in;
    size_t i;
    int ret;

    if (!body)
        return;
    if (wire_get_str(body, "name", NAME_TITLE_MAX, &name) < 0 || !name_title_valid(name) ||
        wire_get_str_or(body, "access", 16, "read", &access) < 0 ||
        (!streq(access, "read") && !streq(access, "read-write")) ||
        wire_get_arr(body, "scopes", SERVICE_SCOPES_MAX, &scopes) < 0 ||
        json_array_size(scopes) == 0) {
        http_fail(r, 400,
                  "'name', 'access' (read or read-write) and 1 to %d 'scopes' "
                  "[{environment, secretPath}] are required",
                  SERVICE_SCOPES_MAX);
        return;
    }
    if (get_nonneg(r, body, "expiresIn", 0, 10LL * 365 * 86400, &expires_in) < 0 ||
        req_b64_field(r, body, "encryptedProjectKey", SEAL_RECORD_OVERHEAD + SEAL_KEY_BYTES,
                      SEAL_RECORD_OVERHEAD + SEAL_KEY_BYTES, &wrapped) < 0)
        return;
    if (project_open(r, req_param(r, 0), &ctx) < 0)
        return;
    if (r->who.kind == PRINCIPAL_SERVICE) {
        audit_denied(r, &(struct audit_event){.event = "permission.denied",
                                              .org_id = ctx.p.org_id,
                                              .project_id = ctx.p.id});
        http_fail(r, 403, "a service token cannot create service tokens");
        goto out;
    }
    if (project_allows(r, &ctx, AUTHZ_SERVICE_TOKENS, AUTHZ_CREATE, NULL, NULL) < 0)
        goto out;
    t.write = streq(access, "read-write");
    canon = json_array();
    json_array_foreach(scopes, i, sc)
    {
        const char *env, *path;
        bool env_ok = false;

        if (wire_get_str(sc, "environment", NAME_SLUG_MAX, &env) < 0 ||
            wire_get_str(sc, "secretPath", NAME_PATH_MAX, &path) < 0 || !glob_valid(path)) {
            json_decref(canon);
            http_fail(r, 400,
                      "each scope needs an 'environment' and a 'secretPath' (a folder "
                      "or a glob such as /**)");
            goto out;
        }
        for (size_t e = 0; e < ctx.p.n_envs; e++)
            env_ok |= streq(ctx.p.envs[e].slug, env);
        if (!env_ok) {
            json_decref(canon);
            http_fail(r, 404, "environment '%.64s' not found in project '%s'", env, ctx.p.slug);
            goto out;
        }
        envs[i] = env;
        globs[i] = path;
        json_array_append_new(canon,
                              json_pack("{s:s, s:s}", "environment", env, "secretPath", path));
    }
    wire_dump(&text, canon);
    json_decref(canon);
    /* least privilege: nobody makes a token stronger than themselves, for
     * every environment and folder its scopes can match */
    ret = authz_policy_for_scopes(envs, globs, json_array_size(scopes), t.write, &granted);
    if (ret < 0) {
        http_fail(r, 500, "cannot compile the token's scopes (%d)", ret);
        goto out;
    }
    if (project_may_grant(r, &ctx, granted, "create this service token") < 0)
        goto out;

    name_uuid(t.id);
    memcpy(t.project_id, ctx.p.id, sizeof(t.project_id));
    t.name = (char *)name;
    t.scopes = text.ptr;
    t.wrapped_key = (struct store_blob){(uint8_t *)wrapped.ptr, wrapped.len};
    memcpy(t.created_by, r->who.id, sizeof(t.created_by));
    t.created_at = now_ms();
    t.expires_at = expires_in ? t.created_at + expires_in * 1000 : 0;
    buf_init_secret(&secret, 0);
    ret = seal_token_new("", &secret, t.secret_hash);
    if (ret == 0)
        ret = r->srv->store->ops->service_token_create(r->srv->store, &t);
    if (ret < 0) {
        http_fail_store(r, ret, "cannot create a service token");
        goto out;
    }
    meta = json_pack("{s:s, s:s, s:s, s:s}", "serviceTokenId", t.id, "name", name, "access", access,
                     "scopes", t.scopes);
    ret = audit_or_fail(r, &(struct audit_event){.event = "service-token.create",
                                                 .org_id = ctx.p.org_id,
                                                 .project_id = ctx.p.id,
                                                 .metadata = meta});
    json_decref(meta);
    if (ret == 0) {
        _cleanup_buf_ struct buf full = BUF_INIT;
        buf_init_secret(&full, 0);
        buf_printf(&full, "st.%s.%s", t.id, secret.ptr);
        http_reply(r, 200,
                   json_pack("{s:s%, s:o}", "serviceToken", full.ptr, full.len, "serviceTokenData",
                             service_token_json(&t)));
    }
out:
    authz_policy_free(granted);
    project_release(&ctx);
}

void api_service_tokens_list(struct req *r)
{
    struct project_ctx ctx;
    struct store_service_token *v = NULL;
    size_t n = 0;
    json_t *arr;

    if (project_open(r, req_param(r, 0), &ctx) < 0)
        return;
    if (project_allows(r, &ctx, AUTHZ_SERVICE_TOKENS, AUTHZ_READ, NULL, NULL) == 0) {
        int ret = r->srv->store->ops->service_token_list(r->srv->store, ctx.p.id, &v, &n);

        if (ret < 0) {
            http_fail_store(r, ret, "store failure listing service tokens");
        } else {
            arr = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, service_token_json(&v[i]));
            http_reply(r, 200, json_pack("{s:o}", "serviceTokens", arr));
        }
    }
    store_service_tokens_free(v, n);
    project_release(&ctx);
}

void api_service_tokens_revoke(struct req *r)
{
    struct project_ctx ctx;
    const char *id = req_param(r, 1);
    json_t *meta;
    int ret;

    if (project_open(r, req_param(r, 0), &ctx) < 0)
        return;
    if (project_allows(r, &ctx, AUTHZ_SERVICE_TOKENS, AUTHZ_DELETE, NULL, NULL) == 0) {
        ret = r->srv->store->ops->service_token_revoke(r->srv->store, ctx.p.id, id);
        if (ret < 0) {
            http_fail(r, ret == -ENOENT ? 404 : 503, "service token '%.64s' not found", id);
        } else {
            meta = json_pack("{s:s}", "serviceTokenId", id);
            if (audit_or_fail(r, &(struct audit_event){.event = "service-token.revoke",
                                                       .org_id = ctx.p.org_id,
                                                       .project_id = ctx.p.id,
                                                       .metadata = meta}) == 0)
                http_reply(r, 200, json_object());
            json_decref(meta);
        }
    }
    project_release(&ctx);
}

int service_token_self(struct req *r, struct store_service_token *ret)
{
    int rc = r->srv->store->ops->service_token_get(r->srv->store, r->who.id, ret);

    if (rc < 0) {
        http_fail_store(r, rc, "store failure reading a service token");
        return -EIO;
    }
    return 0;
}

void api_service_token_self(struct req *r)
{
    struct store_service_token t = {0};

    if (r->who.kind != PRINCIPAL_SERVICE) {
        http_fail(r, 400, "this route is for service tokens");
        return;
    }
    if (service_token_self(r, &t) < 0)
        return;
    /* the project key sealed to the token's key part: key material, audited */
    if (audit_defer(r, &(struct audit_event){.event = "service-token.key.read",
                                             .project_id = t.project_id}) == 0)
        http_reply(r, 200,
                   json_pack("{s:o, s:o}", "serviceTokenData", service_token_json(&t),
                             "encryptedProjectKey",
                             json_b64(t.wrapped_key.ptr, t.wrapped_key.len)));
    store_service_token_release(&t);
}
