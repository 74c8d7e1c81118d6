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
#include <string.h>

#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"
#include "server.h"

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
    for (size_t i = 0; email[i]; i++)
        out[i] = (char)tolower((unsigned char)email[i]);
    out[strlen(email)] = 0;
    return 0;
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

void api_bootstrap(struct req *r)
{
    json_t *body = req_body_json(r), *kdf, *reply;
    _cleanup_buf_ struct buf auth = BUF_INIT, salt = BUF_INIT, pk = BUF_INIT, esk = BUF_INIT;
    struct store_user u = {0};
    struct store_org o = {0};
    char email[NAME_EMAIL_MAX + 1], slug[NAME_SLUG_MAX + 1];
    const char *org_name;
    long long ops, mem;
    struct seal_kdf_params params;
    int64_t n_users;
    int ret;

    if (!body || email_field(r, body, email) < 0)
        return;
    if (wire_get_str(body, "organization", NAME_TITLE_MAX, &org_name) < 0 ||
        !name_title_valid(org_name) || name_slugify(org_name, slug, sizeof(slug)) < 0) {
        http_fail(r, 400, "'organization' must be a name of 1 to %d characters", NAME_TITLE_MAX);
        return;
    }
    if (wire_get_obj(body, "kdf", &kdf) < 0 || wire_get_int(kdf, "opslimit", &ops) < 0 ||
        wire_get_int(kdf, "memlimit", &mem) < 0 || ops <= 0 || mem <= 0) {
        http_fail(r, 400, "'kdf' must be {salt, opslimit, memlimit}");
        return;
    }
    params = (struct seal_kdf_params){(uint64_t)ops, (uint64_t)mem};
    if (!seal_kdf_params_ok(&params)) {
        http_fail(r, 400, "'kdf' parameters are out of the accepted range");
        return;
    }
    if (req_b64_field(r, kdf, "salt", SEAL_SALT_BYTES, SEAL_SALT_BYTES, &salt) < 0 ||
        req_b64_field(r, body, "authKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &auth) < 0 ||
        req_b64_field(r, body, "publicKey", SEAL_PK_BYTES, SEAL_PK_BYTES, &pk) < 0 ||
        req_b64_field(r, body, "encryptedPrivateKey", USER_KEY_BOX_BYTES, USER_KEY_BOX_BYTES,
                      &esk) < 0)
        return;

    ret = r->srv->store->ops->user_count(r->srv->store, &n_users);
    if (ret == 0 && n_users > 0) {
        http_fail(r, 409, "this server is already bootstrapped: log in instead");
        return;
    }
    name_uuid(u.id);
    u.email = email;
    seal_hash_token(auth.ptr, auth.len, u.auth_hash);
    u.kdf_salt = (struct store_blob){(uint8_t *)salt.ptr, salt.len};
    u.kdf_opslimit = params.opslimit;
    u.kdf_memlimit = params.memlimit;
    u.public_key = (struct store_blob){(uint8_t *)pk.ptr, pk.len};
    u.encrypted_private_key = (struct store_blob){(uint8_t *)esk.ptr, esk.len};
    u.created_at = now_ms();
    name_uuid(o.id);
    o.name = (char *)org_name;
    o.slug = slug;
    o.created_at = u.created_at;
    ret = r->srv->store->ops->bootstrap(r->srv->store, &u, &o);
    if (ret == -EEXIST) {
        http_fail(r, 409, "this server is already bootstrapped: log in instead");
        return;
    }
    if (ret < 0) {
        http_fail(r, 500, "bootstrap failed (%d)", ret);
        return;
    }
    reply = json_pack("{s:o, s:{s:s, s:s, s:s}}", "user", user_json(&u, false), "organization",
                      "id", o.id, "name", o.name, "slug", o.slug);
    ret = session_issue(r, u.id, reply);
    if (ret < 0) {
        json_decref(reply);
        http_fail(r, 500, "cannot create a session (%d)", ret);
        return;
    }
    http_reply(r, 200, reply);
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
        http_reply(
            r, 200,
            json_pack("{s:o}", "kdf", kdf_json(u.kdf_salt.ptr, u.kdf_opslimit, u.kdf_memlimit)));
        store_user_release(&u);
        return;
    }
    store_user_release(&u);
    if (ret < 0 && ret != -ENOENT) {
        http_fail(r, 503, "store failure reading a user (%d)", ret);
        return;
    }
    seal_hash_keyed(r->srv->root_key, email, strlen(email), decoy);
    http_reply(r, 200,
               json_pack("{s:o}", "kdf", kdf_json(decoy, SEAL_KDF_OPSLIMIT, SEAL_KDF_MEMLIMIT)));
}

void api_auth_login(struct req *r)
{
    static const uint8_t nobody[SEAL_HASH_BYTES];
    json_t *body = req_body_json(r), *reply;
    _cleanup_buf_ struct buf auth = BUF_INIT;
    char email[NAME_EMAIL_MAX + 1];
    struct store_user u = {0};
    uint8_t hash[SEAL_HASH_BYTES];
    bool ok;
    int ret;

    if (!body || email_field(r, body, email) < 0 ||
        req_b64_field(r, body, "authKey", SEAL_KEY_BYTES, SEAL_KEY_BYTES, &auth) < 0)
        return;
    ret = r->srv->store->ops->user_get_by_email(r->srv->store, email, &u);
    if (ret < 0 && ret != -ENOENT) {
        http_fail(r, 503, "store failure reading a user (%d)", ret);
        return;
    }
    seal_hash_token(auth.ptr, auth.len, hash);
    /* same work whether or not the account exists */
    ok = seal_equal(hash, ret == 0 ? u.auth_hash : nobody, SEAL_HASH_BYTES) && ret == 0;
    if (!ok) {
        store_user_release(&u);
        http_fail(r, 401, "invalid email or password");
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

void api_auth_logout(struct req *r)
{
    int ret = r->srv->store->ops->session_delete(r->srv->store, r->who.token_hash);

    if (ret < 0 && ret != -ENOENT) {
        http_fail(r, 503, "store failure deleting a session (%d)", ret);
        return;
    }
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
    http_reply(r, 200, json_pack("{s:o, s:o}", "user", user_json(&u, true), "organizations", arr));
    store_user_release(&u);
    store_org_memberships_free(orgs, n_orgs);
}
