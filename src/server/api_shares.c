/* api_shares.c - share links: a value handed to someone once, through a link
 * the server cannot open (docs/api.md, "Share links").
 *
 * The sharer's client encrypts the value under a random key that travels only
 * in the link's fragment (/s/<id>#<key>, never sent to a server) and posts the
 * ciphertext here; this file holds the limits: expiry, views, size, who may
 * open.  A view is counted in the same transaction that reads the ciphertext
 * (store share_open), so two opens of a one-view share never both get it.  A
 * share that is gone answers 404 with one message whether it never existed,
 * expired or was used up.  With a password, the client derives an
 * authentication key from it (Argon2id, as for a user's password) and the
 * server keeps its hash: a wrong password is refused before a view is counted.
 * Failed look-ups are rate-limited per address (ids have 128 random bits
 * anyway; the limit is for passwords).
 * Every creation, view, refused view, revocation and expiry is audited; never
 * the value or the key, which this server never has. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "authz.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "ratelimit.h"
#include "server.h"

#define SHARE_TTL_MIN_S (5 * 60)
#define SHARE_TTL_MAX_S (30 * 24 * 3600)
#define SHARE_TTL_DEFAULT_S (24 * 3600)
#define SHARE_VIEWS_MAX 100
#define SHARE_PURGE_BATCH 100
#define _cleanup_share_ __attribute__((cleanup(store_share_release)))
#define SHARE_GONE "this share does not exist, has expired or has been viewed already"

/* An id as clients make them: 22 characters of base64url (128 bits). */
static bool share_id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n != STORE_SHARE_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)id[i]) || id[i] == '-' || id[i] == '_'))
            return false;
    return true;
}

static struct store_share_policy share_policy(struct req *r, const char *org_id)
{
    struct store_share_policy p = {.max_ttl = SHARE_TTL_MAX_S * 1000LL, .allow_anonymous = true};

    (void)r->srv->store->ops->share_policy_get(r->srv->store, org_id, &p);
    return p;
}

static json_t *share_json(const struct store_share *sh)
{
    return json_pack("{s:s, s:o, s:o, s:I, s:o, s:b, s:b}", "id", sh->id, "createdAt",
                     json_time(sh->created_at), "expiresAt", json_time(sh->expires_at), "maxViews",
                     (json_int_t)sh->max_views, "viewsLeft",
                     sh->max_views ? json_integer(sh->max_views - sh->views) : json_null(),
                     "orgOnly", sh->org_only, "passwordProtected", sh->has_password);
}

static void share_audit(struct req *r, const char *event, const char *outcome,
                        const struct store_share *sh)
{
    json_t *meta = json_pack("{s:s, s:s}", "shareId", sh->id, "createdBy", sh->created_by);

    audit_log(r, &(struct audit_event){
                     .event = event, .outcome = outcome, .org_id = sh->org_id, .metadata = meta});
    json_decref(meta);
}

/* Deletes the shares that expired by now, each with a "share.expire" record.
 * Best effort: a failure leaves them for the next call (they are refused as
 * gone meanwhile, store share_get). */
static void share_purge(struct req *r)
{
    struct store_share *v = NULL;
    size_t n = 0;

    if (r->srv->store->ops->share_purge(r->srv->store, now_ms(), SHARE_PURGE_BATCH, &v, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        share_audit(r, "share.expire", NULL, &v[i]);
    store_shares_free(v, n);
}

/* Failed look-ups (an unknown id, a wrong key or password) are limited per
 * address: share_rate_check refuses with 429 once the address used up its
 * failures, share_failed counts one. */
static int share_rate_check(struct req *r)
{
    unsigned wait = ratelimit_wait(r->srv->rl_share, r->remote, now_ms());

    if (!wait)
        return 0;
    r->retry_after = wait;
    http_fail(r, 429, "too many failed share look-ups from this address: retry in %u seconds",
              wait);
    return -EAGAIN;
}

static void share_failed(struct req *r)
{
    (void)ratelimit_take(r->srv->rl_share, r->remote, now_ms());
}

/* The share of path parameter 0 for the public routes, once the caller
 * showed its access key (body {accessKey}, *ret_body BORROWED) and may open
 * it: members only when it is org-only or its organization allows no
 * anonymous viewers.  Replies and returns < 0 otherwise. */
static int share_load(struct req *r, struct store_share *sh, json_t **ret_body)
{
    _cleanup_buf_ struct buf access = BUF_INIT;
    const char *id = req_param(r, 0);
    uint8_t hash[SEAL_HASH_BYTES];
    json_t *body;
    char role[16];
    int ret;

    if (share_rate_check(r) < 0 || !(body = req_body_json(r)) ||
        req_b64_field(r, body, "accessKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &access) < 0)
        return -EINVAL;
    ret = share_id_valid(id) ? r->srv->store->ops->share_get(r->srv->store, id, now_ms(), sh)
                             : -ENOENT;
    if (ret == 0) {
        seal_hash_token(access.ptr, access.len, hash);
        if (!seal_equal(hash, sh->access_hash, SEAL_HASH_BYTES)) {
            /* the same answer as for a share that is gone: an id alone tells nothing */
            share_audit(r, "share.view", "failure", sh);
            ret = -ENOENT;
        }
    }
    if (ret == -ENOENT) {
        share_failed(r);
        share_purge(r);
        http_fail(r, 404, SHARE_GONE);
        return ret;
    }
    if (ret < 0) {
        http_fail_store(r, ret, "store failure reading a share");
        return ret;
    }
    *ret_body = body;
    if (!sh->org_only && share_policy(r, sh->org_id).allow_anonymous)
        return 0;
    if (!req_header(r, "Authorization")) {
        http_fail(r, 401,
                  "this share can be opened only by members of its organization: "
                  "sign in first");
        return -EACCES;
    }
    if ((ret = auth_request(r)) < 0)
        return ret;
    if (r->who.kind == PRINCIPAL_IDENTITY ? streq(r->who.org_id, sh->org_id)
                                          : org_role_of(r, sh->org_id, role) == 0)
        return 0;
    share_audit(r, "share.view", "denied", sh);
    http_fail(r, 403, "this share can be opened only by members of its organization");
    return -EACCES;
}

/* Shares are made, listed and revoked by people and machine identities, not
 * by a project's service token.  Replies 403 and returns < 0 otherwise. */
static int share_principal(struct req *r)
{
    if (r->who.kind == PRINCIPAL_USER || r->who.kind == PRINCIPAL_IDENTITY)
        return 0;
    audit_denied(r, &(struct audit_event){.event = "permission.denied"});
    http_fail(r, 403, "only users and machine identities have shares");
    return -EACCES;
}

void api_shares_create(struct req *r)
{
    json_t *body, *pw = NULL, *meta;
    _cleanup_share_ struct store_share sh = {0};
    _cleanup_buf_ struct buf ct = BUF_INIT, access = BUF_INIT, auth = BUF_INIT, salt = BUF_INIT;
    struct store_share_policy policy;
    long long ttl = SHARE_TTL_DEFAULT_S, views = 1, ops = 0, mem = 0;
    bool org_only = false;
    const char *id;
    int ret;

    if (share_principal(r) < 0 || !(body = req_body_json(r)))
        return;
    if (wire_get_str(body, "id", STORE_SHARE_ID_LEN, &id) < 0 || !share_id_valid(id)) {
        http_fail(r, 400, "'id' must be 22 characters of base64url (128 random bits)");
        return;
    }
    if ((ret = wire_get_int(body, "expiresIn", &ttl)) < 0 && ret != -ENOENT) {
        http_fail(r, 400, "'expiresIn' must be a number of seconds");
        return;
    }
    if (ttl < SHARE_TTL_MIN_S || ttl > SHARE_TTL_MAX_S) {
        http_fail(r, 400, "'expiresIn' must be 5 minutes to 30 days (%d to %d seconds)",
                  SHARE_TTL_MIN_S, SHARE_TTL_MAX_S);
        return;
    }
    if (((ret = wire_get_int(body, "maxViews", &views)) < 0 && ret != -ENOENT) || views < 0 ||
        views > SHARE_VIEWS_MAX) {
        http_fail(r, 400, "'maxViews' must be 1 to %d, or 0 for unlimited", SHARE_VIEWS_MAX);
        return;
    }
    if ((ret = wire_get_bool(body, "orgOnly", &org_only)) < 0 && ret != -ENOENT) {
        http_fail(r, 400, "'orgOnly' must be true or false");
        return;
    }
    if (req_b64_field(r, body, "ciphertext", SEAL_RECORD_OVERHEAD + 1,
                      SERVER_VALUE_MAX + SEAL_RECORD_OVERHEAD, &ct) < 0 ||
        req_b64_field(r, body, "accessKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &access) < 0)
        return;
    if ((ret = wire_get_obj(body, "password", &pw)) < 0 && ret != -ENOENT) {
        http_fail(r, 400, "'password' must be an object {authKey, salt, opslimit, memlimit}");
        return;
    }
    if (pw) {
        struct seal_kdf_params p = {0};
        if (req_b64_field(r, pw, "authKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &auth) < 0 ||
            req_b64_field(r, pw, "salt", SEAL_SALT_BYTES, SEAL_SALT_BYTES, &salt) < 0)
            return;
        if (wire_get_int(pw, "opslimit", &ops) == 0 && wire_get_int(pw, "memlimit", &mem) == 0 &&
            ops > 0 && mem > 0)
            p = (struct seal_kdf_params){(uint64_t)ops, (uint64_t)mem};
        if (!seal_kdf_params_ok(&p)) {
            http_fail(r, 400,
                      "'password.opslimit' and 'password.memlimit' must be Argon2id "
                      "parameters a client accepts (opslimit 1 to 10, memlimit 8 MiB "
                      "to 1 GiB)");
            return;
        }
    }
    if (request_org_member(r, body, sh.org_id) < 0)
        return;
    policy = share_policy(r, sh.org_id);
    if (ttl * 1000 > policy.max_ttl) {
        http_fail(r, 400, "this organization allows shares of at most %lld seconds",
                  (long long)(policy.max_ttl / 1000));
        return;
    }
    share_purge(r);
    memcpy(sh.id, id, STORE_SHARE_ID_LEN + 1);
    memcpy(sh.created_by, r->who.id, STORE_ID_LEN + 1);
    sh.ciphertext = (struct store_blob){(uint8_t *)ct.ptr, ct.len};
    seal_hash_token(access.ptr, access.len, sh.access_hash);
    sh.org_only = org_only || !policy.allow_anonymous;
    sh.max_views = views;
    sh.created_at = now_ms();
    sh.expires_at = sh.created_at + ttl * 1000;
    if (pw) {
        sh.has_password = true;
        seal_hash_token(auth.ptr, auth.len, sh.auth_hash);
        sh.kdf_salt = (struct store_blob){(uint8_t *)salt.ptr, salt.len};
        sh.kdf_opslimit = (uint64_t)ops;
        sh.kdf_memlimit = (uint64_t)mem;
    }
    ret = r->srv->store->ops->share_create(r->srv->store, &sh);
    /* the buffers keep their memory: sh only borrowed it */
    sh.ciphertext = sh.kdf_salt = (struct store_blob){0};
    if (ret == -EEXIST) {
        http_fail(r, 409, "a share with id '%s' exists: make a new random id", id);
        return;
    }
    if (ret < 0) {
        http_fail_store(r, ret, "store failure creating a share");
        return;
    }
    meta = json_pack("{s:s, s:o, s:I, s:b, s:b}", "shareId", sh.id, "expiresAt",
                     json_time(sh.expires_at), "maxViews", (json_int_t)sh.max_views, "orgOnly",
                     sh.org_only, "passwordProtected", sh.has_password);
    ret = audit_or_fail(
        r, &(struct audit_event){.event = "share.create", .org_id = sh.org_id, .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200, json_pack("{s:o}", "share", share_json(&sh)));
}

void api_shares_list(struct req *r)
{
    struct store_share *v = NULL;
    size_t n = 0;
    json_t *arr;
    int ret;

    if (share_principal(r) < 0)
        return;
    share_purge(r);
    ret = r->srv->store->ops->share_list(r->srv->store, r->who.id, now_ms(), &v, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure listing shares");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, share_json(&v[i])) < 0)
            json_decref(TAKE_PTR(arr));
    store_shares_free(v, n);
    if (!arr) {
        http_fail(r, 500, "out of memory");
        return;
    }
    http_reply(r, 200, json_pack("{s:o}", "shares", arr));
}

/* The creator revokes a share, and so does an admin of its organization. */
void api_shares_revoke(struct req *r)
{
    _cleanup_share_ struct store_share sh = {0};
    const char *id = req_param(r, 0);
    char role[16] = "";
    int ret;

    if (share_principal(r) < 0)
        return;
    ret = share_id_valid(id) ? r->srv->store->ops->share_get(r->srv->store, id, now_ms(), &sh)
                             : -ENOENT;
    if (ret == 0 && !streq(sh.created_by, r->who.id) &&
        (org_role_of(r, sh.org_id, role) < 0 || !streq(role, "admin")))
        ret = -ENOENT; /* no oracle for other people's shares */
    if (ret == -ENOENT) {
        http_fail(r, 404, "you have no active share '%s' (see 'arca share list')", id);
        return;
    }
    if (ret == 0)
        ret = r->srv->store->ops->share_delete(r->srv->store, id);
    if (ret < 0 && ret != -ENOENT) {
        http_fail_store(r, ret, "store failure revoking a share");
        return;
    }
    json_t *meta = json_pack("{s:s, s:s}", "shareId", sh.id, "createdBy", sh.created_by);
    ret = audit_or_fail(
        r, &(struct audit_event){.event = "share.revoke", .org_id = sh.org_id, .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200, json_pack("{s:{s:s, s:b}}", "share", "id", sh.id, "revoked", 1));
}

/* What the page shows before "Reveal" (does it need a password?): no
 * ciphertext, no view counted. */
void api_shares_get(struct req *r)
{
    _cleanup_share_ struct store_share sh = {0};
    json_t *body, *o;

    if (share_load(r, &sh, &body) < 0)
        return;
    o = share_json(&sh);
    if (o && sh.has_password)
        json_object_set_new(o, "kdf",
                            json_pack("{s:o, s:I, s:I}", "salt",
                                      json_b64(sh.kdf_salt.ptr, sh.kdf_salt.len), "opslimit",
                                      (json_int_t)sh.kdf_opslimit, "memlimit",
                                      (json_int_t)sh.kdf_memlimit));
    http_reply(r, 200, json_pack("{s:o}", "share", o));
}

/* Counts a view and serves the ciphertext, audited before it is sent. */
void api_shares_open(struct req *r)
{
    _cleanup_share_ struct store_share sh = {0}, seen = {0};
    _cleanup_buf_ struct buf auth = BUF_INIT;
    json_t *body;
    uint8_t hash[SEAL_HASH_BYTES];
    int ret;

    if (share_load(r, &sh, &body) < 0)
        return;
    if (sh.has_password) {
        if (wire_get_str(body, "authKey", 0, &(const char *){NULL}) == -ENOENT) {
            http_fail(r, 400, "this share is protected by a password: send 'authKey'");
            return;
        }
        if (req_b64_field(r, body, "authKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &auth) < 0)
            return;
        seal_hash_token(auth.ptr, auth.len, hash);
        if (!seal_equal(hash, sh.auth_hash, SEAL_HASH_BYTES)) {
            share_failed(r);
            share_audit(r, "share.view", "failure", &sh);
            http_fail(r, 403, "wrong password for this share (no view was counted)");
            return;
        }
    }
    ret = r->srv->store->ops->share_open(r->srv->store, sh.id, now_ms(), &seen);
    if (ret == -ENOENT) {
        http_fail(r, 404, SHARE_GONE);
        return;
    }
    if (ret < 0) {
        http_fail_store(r, ret, "store failure opening a share");
        return;
    }
    json_t *meta = json_pack("{s:s, s:s, s:I}", "shareId", seen.id, "createdBy", seen.created_by,
                             "view", (json_int_t)seen.views);
    ret = audit_or_fail(
        r, &(struct audit_event){.event = "share.view", .org_id = seen.org_id, .metadata = meta});
    json_decref(meta);
    if (ret < 0)
        return;
    json_t *o = share_json(&seen);
    if (o)
        json_object_set_new(o, "ciphertext", json_b64(seen.ciphertext.ptr, seen.ciphertext.len));
    http_reply(r, 200, json_pack("{s:o}", "share", o));
}

void api_share_policy_get(struct req *r)
{
    char org_id[STORE_ID_LEN + 1];
    struct store_share_policy p;

    if (request_org_member(r, NULL, org_id) < 0)
        return;
    p = share_policy(r, org_id);
    http_reply(r, 200,
               json_pack("{s:{s:s, s:I, s:b}}", "policy", "organizationId", org_id, "maxExpiresIn",
                         (json_int_t)(p.max_ttl / 1000), "allowAnonymous", p.allow_anonymous));
}

void api_share_policy_set(struct req *r)
{
    json_t *body = req_body_json(r), *meta;
    char org_id[STORE_ID_LEN + 1];
    struct store_share_policy p;
    long long ttl;
    int ret;

    if (!body || request_org_admin(r, body, org_id) < 0)
        return;
    p = share_policy(r, org_id);
    ttl = p.max_ttl / 1000;
    if (((ret = wire_get_int(body, "maxExpiresIn", &ttl)) < 0 && ret != -ENOENT) ||
        ttl < SHARE_TTL_MIN_S || ttl > SHARE_TTL_MAX_S) {
        http_fail(r, 400, "'maxExpiresIn' must be 5 minutes to 30 days (%d to %d seconds)",
                  SHARE_TTL_MIN_S, SHARE_TTL_MAX_S);
        return;
    }
    if ((ret = wire_get_bool(body, "allowAnonymous", &p.allow_anonymous)) < 0 && ret != -ENOENT) {
        http_fail(r, 400, "'allowAnonymous' must be true or false");
        return;
    }
    p.max_ttl = ttl * 1000;
    ret = r->srv->store->ops->share_policy_set(r->srv->store, org_id, &p);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure saving the share policy");
        return;
    }
    meta = json_pack("{s:I, s:b}", "maxExpiresIn", (json_int_t)ttl, "allowAnonymous",
                     p.allow_anonymous);
    ret = audit_or_fail(r, &(struct audit_event){
                               .event = "share.policy.update", .org_id = org_id, .metadata = meta});
    json_decref(meta);
    if (ret == 0)
        http_reply(r, 200,
                   json_pack("{s:{s:s, s:I, s:b}}", "policy", "organizationId", org_id,
                             "maxExpiresIn", (json_int_t)ttl, "allowAnonymous", p.allow_anonymous));
}
