/* account.c - accounts: sign-up, bootstrap, log-in with a password, password
 * change, log-out (the user's key pair, derived and sealed keys). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "client/client.h"
#include "client/transport.h"
#include "crypto/seal.h"

#define PASSWORD_MAX 4096
#define USER_PRIVATE_KEY_LABEL "user-private-key"

int client_check_email(struct arca *a, const char *email)
{
    if (!email || !name_email_valid(email))
        return client_error(a, -EINVAL, "'%s' is not a valid e-mail address", email ? email : "");
    return 0;
}

int client_check_password(struct arca *a, const char *password, size_t len)
{
    if (!password || len == 0)
        return client_error(a, -EINVAL, "the password is empty");
    if (len > PASSWORD_MAX)
        return client_error(a, -E2BIG, "the password is longer than %d bytes", PASSWORD_MAX);
    return 0;
}

/* --- sessions ------------------------------------------------------------ */

/* Checks that pk belongs to sk by sealing a random key to pk and opening it with
 * <pk, sk>: a server that swapped the public key would otherwise receive every
 * new project key sealed to a key of its choosing. */
int client_keypair_check(const uint8_t pk[SEAL_PK_BYTES], const uint8_t *sk)
{
    uint8_t probe[SEAL_KEY_BYTES], opened[SEAL_KEY_BYTES];
    _cleanup_buf_ struct buf wrapped = BUF_INIT;

    seal_random(probe, sizeof(probe));
    int r = seal_wrap(pk, probe, sizeof(probe), &wrapped);
    if (r >= 0)
        r = seal_unwrap(pk, sk, wrapped.ptr, wrapped.len, opened, sizeof(opened));
    if (r >= 0 && !seal_equal(probe, opened, sizeof(probe)))
        r = -EBADMSG;
    seal_wipe(probe, sizeof(probe));
    seal_wipe(opened, sizeof(opened));
    return r;
}

int client_kdf_to_json(json_t *obj, const uint8_t salt[SEAL_SALT_BYTES],
                       const struct seal_kdf_params *p)
{
    json_t *kdf = json_object();
    if (!kdf || json_object_set_new(obj, "kdf", kdf) < 0)
        return -ENOMEM;
    if (client_set_b64(kdf, "salt", salt, SEAL_SALT_BYTES, false) < 0 ||
        json_object_set_new(kdf, "opslimit", json_integer((json_int_t)p->opslimit)) < 0 ||
        json_object_set_new(kdf, "memlimit", json_integer((json_int_t)p->memlimit)) < 0)
        return -ENOMEM;
    return 0;
}

/* Makes a new account's keys from the password and POSTs them to route with
 * extra_key: extra_value (the organization of a bootstrap, the invite token of a
 * signup); logs in as the new user. */
/* POST /auth/params for email: the account's key-derivation parameters and the
 * server's password policy.  *ret OWNED. */
static int auth_params(struct arca *a, const char *email, json_t **ret)
{
    _cleanup_json_ json_t *body = json_object();

    if (!body || client_set_str(body, "email", email) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    return transport_call(a, "POST", CLIENT_API "/auth/params", body, ret, NULL);
}

#define PASSWORD_MIN_DEFAULT 12 /* characters: the policy of a server that publishes none */

/* The server's password policy (POST /auth/params, "passwordPolicy"): a new
 * password must have at least minLength characters (PASSWORD_MIN_DEFAULT from
 * a server that says nothing).  The server never sees the password: every
 * client checks it, here.  -EINVAL naming the lengths, never the password. */
static int password_policy_check(struct arca *a, const char *email, const char *password,
                                 size_t password_len)
{
    _cleanup_json_ json_t *answer = NULL;
    long long min = PASSWORD_MIN_DEFAULT;
    size_t chars = 0;
    json_t *policy;
    int r = auth_params(a, email, &answer);

    if (r < 0)
        return r;
    policy = json_object_get(answer, "passwordPolicy");
    if (policy && client_answer_int(a, policy, "minLength", &min) < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed password policy");
    for (size_t i = 0; i < password_len; i++) /* UTF-8 characters, not bytes */
        chars += ((unsigned char)password[i] & 0xc0) != 0x80;
    if ((long long)chars < min)
        return client_error(a, -EINVAL,
                            "the password has %zu characters: this server asks for at least %lld",
                            chars, min);
    return 0;
}

static int account_create(struct arca *a, const char *route, const char *extra_key,
                          const char *extra_value, bool extra_secret, const char *email,
                          const char *password, size_t password_len)
{
    _cleanup_seal_ uint8_t *keys = NULL; /* auth_key, then kek */
    _cleanup_seal_ uint8_t *sk = NULL;
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf sealed_sk = BUF_INIT;
    uint8_t salt[SEAL_SALT_BYTES], pk[SEAL_PK_BYTES];
    struct seal_kdf_params params = {SEAL_KDF_OPSLIMIT, SEAL_KDF_MEMLIMIT};
    int r;

    r = password_policy_check(a, email, password, password_len);
    if (r < 0)
        return r;
    keys = seal_malloc(2 * SEAL_KEY_BYTES);
    sk = seal_malloc(SEAL_SK_BYTES);
    if (!keys || !sk)
        return client_error(a, -ENOMEM, "out of memory");
    seal_random(salt, sizeof(salt));
    r = seal_password_derive(password, password_len, salt, &params, keys, keys + SEAL_KEY_BYTES);
    if (r < 0)
        return client_error(a, r, "cannot derive keys from the password");
    seal_keypair_new(pk, sk);
    r = seal_box(keys + SEAL_KEY_BYTES, USER_PRIVATE_KEY_LABEL, sk, SEAL_SK_BYTES, &sealed_sk);
    if (r < 0)
        return client_error(a, r, "cannot seal the private key");

    body = json_object();
    if (!body || client_set_str(body, "email", email) < 0 ||
        client_set_str(body, extra_key, extra_value) < 0 ||
        client_set_b64(body, "authKey", keys, SEAL_KEY_BYTES, true) < 0 ||
        client_kdf_to_json(body, salt, &params) < 0 ||
        client_set_b64(body, "publicKey", pk, sizeof(pk), false) < 0 ||
        client_set_b64(body, "encryptedPrivateKey", sealed_sk.ptr, sealed_sk.len, false) < 0) {
        client_json_wipe(body, "authKey");
        client_json_wipe(body, extra_key);
        return client_error(a, -ENOMEM, "out of memory");
    }
    r = transport_call(a, "POST", route, body, &answer, NULL);
    client_json_wipe(body, "authKey");
    if (extra_secret)
        client_json_wipe(body, extra_key);
    if (r < 0)
        return r;

    const char *token, *user_id, *user_email;
    json_t *user;
    r = client_answer_str(a, answer, "token", CLIENT_TOKEN_MAX, &token);
    if (r >= 0)
        r = client_answer_obj(a, answer, "user", &user);
    if (r >= 0)
        r = client_answer_str(a, user, "id", CLIENT_ID_MAX, &user_id);
    if (r >= 0 && wire_get_str(user, "email", NAME_EMAIL_MAX, &user_email) < 0)
        user_email = email;
    if (r >= 0) {
        r = client_session_set(a, token, user_email, user_id, pk, sk);
        if (r < 0)
            client_error(a, r, "out of memory");
    }
    client_json_wipe(answer, "token");
    return r;
}

int arca_bootstrap(struct arca *a, const char *email, const char *password, size_t password_len,
                   const char *organization)
{
    int r = client_check_email(a, email);
    if (r < 0)
        return r;
    r = client_check_password(a, password, password_len);
    if (r < 0)
        return r;
    if (!organization || !name_title_valid(organization))
        return client_error(a, -EINVAL,
                            "'%s' is not a valid organization name: 1 to %d characters, no "
                            "control characters",
                            organization ? organization : "", NAME_TITLE_MAX);
    return account_create(a, CLIENT_API "/bootstrap", "organization", organization, false, email,
                          password, password_len);
}

int arca_signup(struct arca *a, const char *invite_token, const char *email, const char *password,
                size_t password_len)
{
    int r = client_check_email(a, email);
    if (r < 0)
        return r;
    r = client_check_password(a, password, password_len);
    if (r < 0)
        return r;
    if (!invite_token || !*invite_token || strlen(invite_token) > CLIENT_TOKEN_MAX)
        return client_error(a, -EINVAL, "no valid invite token given");
    r = account_create(a, CLIENT_API "/signup", "inviteToken", invite_token, true, email, password,
                       password_len);
    if (r == -EACCES)
        return client_error(a, r,
                            "this invite is unknown, already used or expired, or was sent to "
                            "another e-mail address: sign up with the invited address, or ask an "
                            "organization admin for a new invite");
    return r;
}

/* POST /auth/params: the salt and cost the account's keys are derived with. */
static int login_params(struct arca *a, const char *email, uint8_t salt[SEAL_SALT_BYTES],
                        struct seal_kdf_params *ret)
{
    _cleanup_json_ json_t *answer = NULL;
    json_t *kdf;
    const char *salt_b64;
    long long ops, mem;
    int r = auth_params(a, email, &answer);

    if (r < 0)
        return r;
    r = client_answer_obj(a, answer, "kdf", &kdf);
    if (r >= 0)
        r = client_answer_str(a, kdf, "salt", 64, &salt_b64);
    if (r >= 0)
        r = client_answer_int(a, kdf, "opslimit", &ops);
    if (r >= 0)
        r = client_answer_int(a, kdf, "memlimit", &mem);
    if (r < 0)
        return r;
    if (b64_decode_exact(salt_b64, B64_STD, salt, SEAL_SALT_BYTES) < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed 'salt'");

    struct seal_kdf_params p = {
        .opslimit = ops < 0 ? 0 : (uint64_t)ops,
        .memlimit = mem < 0 ? 0 : (uint64_t)mem,
    };
    if (!seal_kdf_params_ok(&p))
        return client_error(a, -EPROTO, "the server asked for unsafe key-derivation parameters");
    *ret = p;
    return 0;
}

int arca_password_change(struct arca *a, const char *current, size_t current_len,
                         const char *password, size_t password_len)
{
    _cleanup_seal_ uint8_t *old_keys = NULL; /* auth_key, then kek: of the current password */
    _cleanup_seal_ uint8_t *keys = NULL;     /* of the new one */
    _cleanup_json_ json_t *body = NULL;
    _cleanup_buf_ struct buf sealed_sk = BUF_INIT;
    uint8_t old_salt[SEAL_SALT_BYTES], salt[SEAL_SALT_BYTES];
    struct seal_kdf_params old_params, params = {SEAL_KDF_OPSLIMIT, SEAL_KDF_MEMLIMIT};
    int r;

    if (a->kind != ARCA_SESSION_USER || !a->email || !a->has_keypair)
        return client_error(a, -EINVAL, "only a logged-in user has a password: log in first");
    if ((r = client_check_password(a, current, current_len)) < 0 ||
        (r = client_check_password(a, password, password_len)) < 0 ||
        (r = password_policy_check(a, a->email, password, password_len)) < 0 ||
        (r = login_params(a, a->email, old_salt, &old_params)) < 0)
        return r;
    old_keys = seal_malloc(2 * SEAL_KEY_BYTES);
    keys = seal_malloc(2 * SEAL_KEY_BYTES);
    if (!old_keys || !keys)
        return client_error(a, -ENOMEM, "out of memory");
    r = seal_password_derive(current, current_len, old_salt, &old_params, old_keys,
                             old_keys + SEAL_KEY_BYTES);
    if (r >= 0) {
        seal_random(salt, sizeof(salt));
        r = seal_password_derive(password, password_len, salt, &params, keys,
                                 keys + SEAL_KEY_BYTES);
    }
    if (r < 0)
        return client_error(a, r, "cannot derive keys from the password");
    /* the same private key, sealed under the new password's KEK */
    r = seal_box(keys + SEAL_KEY_BYTES, USER_PRIVATE_KEY_LABEL, a->sk, SEAL_SK_BYTES, &sealed_sk);
    if (r < 0)
        return client_error(a, r, "cannot seal the private key");
    body = json_object();
    if (!body || client_set_b64(body, "currentAuthKey", old_keys, SEAL_KEY_BYTES, true) < 0 ||
        client_set_b64(body, "authKey", keys, SEAL_KEY_BYTES, true) < 0 ||
        client_kdf_to_json(body, salt, &params) < 0 ||
        client_set_b64(body, "encryptedPrivateKey", sealed_sk.ptr, sealed_sk.len, false) < 0) {
        client_json_wipe(body, "currentAuthKey");
        client_json_wipe(body, "authKey");
        return client_error(a, -ENOMEM, "out of memory");
    }
    r = transport_call(a, "POST", CLIENT_API "/auth/password", body, NULL, NULL);
    client_json_wipe(body, "currentAuthKey");
    client_json_wipe(body, "authKey");
    return r;
}

int arca_login_password(struct arca *a, const char *email, const char *password,
                        size_t password_len)
{
    _cleanup_seal_ uint8_t *keys = NULL; /* auth_key, then kek */
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf sealed_sk = BUF_INIT;
    _cleanup_buf_ struct buf sk = BUF_INIT;
    uint8_t salt[SEAL_SALT_BYTES], pk[SEAL_PK_BYTES];
    struct seal_kdf_params params;
    int r;

    buf_init_secret(&sk, 4 * SEAL_SK_BYTES);
    r = client_check_email(a, email);
    if (r < 0)
        return r;
    r = client_check_password(a, password, password_len);
    if (r < 0)
        return r;

    r = login_params(a, email, salt, &params);
    if (r < 0)
        return r;
    keys = seal_malloc(2 * SEAL_KEY_BYTES);
    if (!keys)
        return client_error(a, -ENOMEM, "out of memory");
    r = seal_password_derive(password, password_len, salt, &params, keys, keys + SEAL_KEY_BYTES);
    if (r < 0)
        return client_error(a, r, "cannot derive keys from the password");

    body = json_object();
    if (!body || client_set_str(body, "email", email) < 0 ||
        client_set_b64(body, "authKey", keys, SEAL_KEY_BYTES, true) < 0) {
        client_json_wipe(body, "authKey");
        return client_error(a, -ENOMEM, "out of memory");
    }
    r = transport_call(a, "POST", CLIENT_API "/auth/login", body, &answer, NULL);
    client_json_wipe(body, "authKey");
    if (r <
        0) /* the server's message: "invalid email or password", or that the account is locked */
        return r;

    const char *token, *user_id, *user_email, *pk_b64;
    json_t *user;
    r = client_answer_str(a, answer, "token", CLIENT_TOKEN_MAX, &token);
    if (r >= 0)
        r = client_answer_obj(a, answer, "user", &user);
    if (r >= 0)
        r = client_answer_str(a, user, "id", CLIENT_ID_MAX, &user_id);
    if (r >= 0)
        r = client_answer_str(a, user, "publicKey", 128, &pk_b64);
    if (r >= 0)
        r = client_get_b64(a, user, "encryptedPrivateKey", &sealed_sk);
    if (r >= 0 && b64_decode_exact(pk_b64, B64_STD, pk, sizeof(pk)) < 0)
        r = client_error(a, -EPROTO, "the arca server sent a malformed 'publicKey'");
    if (r >= 0 && wire_get_str(user, "email", NAME_EMAIL_MAX, &user_email) < 0)
        user_email = email;
    if (r >= 0) {
        r = seal_unbox(keys + SEAL_KEY_BYTES, USER_PRIVATE_KEY_LABEL, sealed_sk.ptr, sealed_sk.len,
                       &sk);
        if (r == -ENOMEM)
            r = client_error(a, r, "out of memory");
        else if (r < 0 || sk.len != SEAL_SK_BYTES)
            r = client_error(a, -EBADMSG,
                             "cannot open your private key: the server sent a damaged or "
                             "foreign key");
    }
    if (r >= 0 && client_keypair_check(pk, (const uint8_t *)sk.ptr) < 0)
        r = client_error(a, -EBADMSG,
                         "the server sent a public key that does not match your private key");
    if (r >= 0) {
        r = client_session_set(a, token, user_email, user_id, pk, (const uint8_t *)sk.ptr);
        if (r < 0)
            client_error(a, r, "out of memory");
    }
    client_json_wipe(answer, "token");
    return r;
}

int arca_logout(struct arca *a)
{
    int r = 0;

    if (!a->token)
        return 0;
    if (a->kind == ARCA_SESSION_IDENTITY) {
        _cleanup_json_ json_t *body = json_object();
        if (!body || client_set_str(body, "accessToken", a->token) < 0)
            r = client_error(a, -ENOMEM, "out of memory");
        else
            r = transport_call(a, "POST", CLIENT_API "/auth/token/revoke", body, NULL, NULL);
        client_json_wipe(body, "accessToken");
    } else if (a->kind == ARCA_SESSION_USER) {
        r = transport_call(a, "POST", CLIENT_API "/auth/logout", NULL, NULL, NULL);
    } /* a service token is revoked with arca_service_token_revoke, not by its holder */
    client_session_clear(a);
    if (r == -EACCES)
        return 0; /* the token was no longer valid: nothing to revoke */
    return r;
}
