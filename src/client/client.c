/* client.c - the libarca API: handles, sign-up and log-in, projects, secrets.
 *
 * Every secret crosses the network encrypted.  A call that touches secrets first
 * gets the project key: from the handle's cache, or by fetching the caller's
 * membership (the project key sealed to the caller's X25519 public key) and
 * opening it with the private key.  Values and comments are then sealed with
 * seal_record_encrypt under an associated data that names the project,
 * environment, canonical folder path, key and field, so a record the server
 * moved or altered fails to open.
 *
 * Names are checked here with the rules the server enforces (names.h), to fail
 * early with a better message.  Decrypted values are returned in malloc'd
 * strings that the *_free functions wipe; keys live in seal_malloc memory.
 */
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

#define DEFAULT_API_URL "http://127.0.0.1:8200"
#define PASSWORD_MAX 4096
#define USER_PRIVATE_KEY_LABEL "user-private-key"

int client_error(struct arca *a, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(a->err, sizeof(a->err), fmt, ap);
    va_end(ap);
    return r;
}

void client_json_wipe(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_string(v))
        explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

void client_string_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s) + 1);
    free(s);
}

void arca_secret_string_free(char *s)
{
    client_string_free(s);
}

/* --- handles ------------------------------------------------------------- */

int client_url_normalize(const char *in, char **ret)
{
    size_t len = strlen(in);

    if (len == 0 || len > CLIENT_URL_MAX)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)in[i] <= 0x20 || in[i] == 0x7f)
            return -EINVAL;

    size_t scheme;
    if (strncasecmp(in, "http://", 7) == 0)
        scheme = 7;
    else if (strncasecmp(in, "https://", 8) == 0)
        scheme = 8;
    else
        return -EINVAL;

    while (len > scheme && in[len - 1] == '/')
        len--;
    if (len >= scheme + 4 && strncmp(in + len - 4, "/api", 4) == 0)
        len -= 4;
    while (len > scheme && in[len - 1] == '/')
        len--;
    if (len == scheme || in[scheme] == '/')
        return -EINVAL; /* no host */

    char *url = strndup(in, len);
    if (!url)
        return -ENOMEM;
    *ret = url;
    return 0;
}

int arca_new(const char *api_url, struct arca **ret)
{
    _cleanup_free_ char *url = NULL;
    bool defaulted = false;
    int r;

    if (!ret)
        return -EINVAL;
    if (seal_init() < 0)
        return -EIO;
    if (!api_url) {
        api_url = secure_getenv("ARCA_API_URL");
        if (!api_url || !*api_url) /* Infisical's CLI variable, for existing setups */
            api_url = secure_getenv("INFISICAL_API_URL");
        if (!api_url || !*api_url) {
            api_url = DEFAULT_API_URL;
            defaulted = true;
        }
    }
    r = client_url_normalize(api_url, &url);
    if (r < 0)
        return r;

    struct arca *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    r = transport_new(&a->transport);
    if (r < 0) {
        free(a);
        return r;
    }
    a->api_url = TAKE_PTR(url);
    a->url_defaulted = defaulted;
    const char *ca = secure_getenv("ARCA_CA_CERT");
    if (ca && *ca && (r = transport_set_ca(a, ca)) < 0) {
        arca_free(a);
        return r;
    }
    *ret = a;
    return 0;
}

int arca_set_ca_cert(struct arca *a, const char *ca_file)
{
    if (!a || !ca_file || !*ca_file)
        return -EINVAL;
    return transport_set_ca(a, ca_file);
}

int arca_url_cleartext_remote(const struct arca *a)
{
    return transport_cleartext_remote(a->api_url) ? 1 : 0;
}

static void key_cache_clear(struct arca *a)
{
    for (size_t i = 0; i < a->n_keys; i++) {
        free(a->keys[i].project_id);
        seal_free(a->keys[i].key);
    }
    a->n_keys = 0;
}

void client_session_clear(struct arca *a)
{
    client_string_free(a->token);
    a->token = NULL;
    free(a->email);
    a->email = NULL;
    free(a->user_id);
    a->user_id = NULL;
    free(a->name);
    a->name = NULL;
    free(a->client_id);
    a->client_id = NULL;
    free(a->project_id);
    a->project_id = NULL;
    a->token_env[0] = 0;
    a->expires_at = a->max_expires_at = 0;
    seal_free(a->sk);
    a->sk = NULL;
    seal_wipe(a->pk, sizeof(a->pk));
    a->has_keypair = false;
    a->kind = ARCA_SESSION_NONE;
    key_cache_clear(a);
}

/* The parts every session has: the token and the principal's id, plus an
 * optional key pair. */
static int session_set_common(struct arca *a, enum arca_session_kind kind, const char *token,
                              const char *principal_id, const uint8_t *pk, const uint8_t *sk)
{
    char *t = strdup(token);
    char *u = strdup(principal_id);
    uint8_t *s = sk ? seal_malloc(SEAL_SK_BYTES) : NULL;

    if (!t || !u || (sk && !s)) {
        client_string_free(t);
        free(u);
        seal_free(s);
        return -ENOMEM;
    }
    client_session_clear(a);
    a->kind = kind;
    a->token = t;
    a->user_id = u;
    if (sk) {
        memcpy(s, sk, SEAL_SK_BYTES);
        a->sk = s;
        memcpy(a->pk, pk, SEAL_PK_BYTES);
        a->has_keypair = true;
    }
    return 0;
}

int client_session_set(struct arca *a, const char *token, const char *email, const char *user_id,
                       const uint8_t pk[SEAL_PK_BYTES], const uint8_t sk[SEAL_SK_BYTES])
{
    char *e = strdup(email);
    if (!e)
        return -ENOMEM;
    int r = session_set_common(a, ARCA_SESSION_USER, token, user_id, pk, sk);
    if (r < 0) {
        free(e);
        return r;
    }
    a->email = e;
    return 0;
}

int client_session_set_identity(struct arca *a, const char *token, const char *identity_id,
                                const char *name, const char *client_id,
                                const uint8_t pk[SEAL_PK_BYTES], const uint8_t sk[SEAL_SK_BYTES],
                                int64_t expires_at, int64_t max_expires_at)
{
    char *n = strdup(name);
    char *c = strdup_or_null(client_id);
    if (!n || (client_id && !c)) {
        free(n);
        free(c);
        return -ENOMEM;
    }
    int r = session_set_common(a, ARCA_SESSION_IDENTITY, token, identity_id, pk, sk);
    if (r < 0) {
        free(n);
        free(c);
        return r;
    }
    a->name = n;
    a->client_id = c;
    a->expires_at = expires_at;
    a->max_expires_at = max_expires_at;
    return 0;
}

int client_session_set_service(struct arca *a, const char *bearer, const char *token_id,
                               const char *name, const char *project_id,
                               const uint8_t key[SEAL_KEY_BYTES])
{
    char *n = strdup(name);
    char *p = strdup(project_id);
    uint8_t *k = seal_malloc(SEAL_KEY_BYTES);
    if (!n || !p || !k) {
        free(n);
        free(p);
        seal_free(k);
        return -ENOMEM;
    }
    int r = session_set_common(a, ARCA_SESSION_SERVICE_TOKEN, bearer, token_id, NULL, NULL);
    if (r < 0) {
        free(n);
        free(p);
        seal_free(k);
        return r;
    }
    a->name = n;
    a->project_id = p;
    memcpy(k, key, SEAL_KEY_BYTES);
    client_key_cache_put(a, project_id, k);
    if (!client_key_cache_get(a, project_id)) {
        client_session_clear(a);
        return -ENOMEM;
    }
    return 0;
}

void arca_free(struct arca *a)
{
    if (!a)
        return;
    client_session_clear(a);
    client_cache_free(a->cache);
    transport_free(a->transport);
    free(a->api_url);
    explicit_bzero(a->err, sizeof(a->err));
    free(a);
}

const char *arca_errmsg(const struct arca *a)
{
    return a ? a->err : "no arca handle";
}

const char *arca_api_url(const struct arca *a)
{
    return a->api_url;
}

const char *arca_session_email(const struct arca *a)
{
    return a->email;
}

enum arca_session_kind arca_session_kind(const struct arca *a)
{
    return a->kind;
}

const char *arca_session_name(const struct arca *a)
{
    return a->kind == ARCA_SESSION_USER ? a->email : a->name;
}

const char *arca_session_id(const struct arca *a)
{
    return a->user_id;
}

const char *arca_session_project_id(const struct arca *a)
{
    return a->project_id;
}

const char *arca_session_environment(const struct arca *a)
{
    return a->kind == ARCA_SESSION_SERVICE_TOKEN && a->token_env[0] ? a->token_env : NULL;
}

void arca_session_expiry(const struct arca *a, int64_t *ret_expires_at, int64_t *ret_max)
{
    if (ret_expires_at)
        *ret_expires_at = a->expires_at;
    if (ret_max)
        *ret_max = a->max_expires_at;
}

unsigned arca_retry_after(const struct arca *a)
{
    return a->retry_after;
}

int arca_status(struct arca *a)
{
    return transport_call(a, "GET", "/api/status", NULL, NULL, NULL);
}

int client_get_array(struct arca *a, const char *path, const char *key, json_t **ret_answer,
                     json_t **ret_arr)
{
    json_t *answer = NULL;
    int r = transport_call(a, "GET", path, NULL, &answer, NULL);
    if (r < 0)
        return r;
    r = client_answer_arr(a, answer, key, ret_arr);
    if (r < 0) {
        json_decref(answer);
        return r;
    }
    *ret_answer = answer;
    return 0;
}

int client_parse_items(struct arca *a, const json_t *arr, size_t size, client_item_parse_fn parse,
                       client_item_release_fn release, void **ret, size_t *ret_n)
{
    size_t n = json_array_size(arr);
    char *v = calloc(n ? n : 1, size);
    int r;

    if (!v)
        return client_error(a, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if ((r = parse(a, json_array_get(arr, i), v + i * size)) < 0) {
            client_items_free(v, i + 1, size, release);
            return r;
        }
    *ret = v;
    *ret_n = n;
    return 0;
}

int client_get_items(struct arca *a, const char *path, const char *key, size_t size,
                     client_item_parse_fn parse, client_item_release_fn release, void **ret,
                     size_t *ret_n)
{
    _cleanup_json_ json_t *answer = NULL;
    json_t *arr;
    int r = client_get_array(a, path, key, &answer, &arr);

    return r < 0 ? r : client_parse_items(a, arr, size, parse, release, ret, ret_n);
}

void client_items_free(void *v, size_t n, size_t size, client_item_release_fn release)
{
    for (size_t i = 0; v && i < n; i++)
        release((char *)v + i * size);
    free(v);
}

int client_require_login(struct arca *a)
{
    if (!a->token)
        return client_error(a, -EACCES, "not logged in");
    return 0;
}

int client_require_keys(struct arca *a)
{
    if (!a->token)
        return client_error(a, -EACCES, "not logged in");
    if (!a->has_keypair)
        return client_error(a, -EACCES,
                            "a service token cannot do this: log in as a user or a machine "
                            "identity");
    return 0;
}

int client_require_project(struct arca *a, const char *project_id)
{
    int r = client_require_login(a);
    if (r < 0)
        return r;
    return client_check_project_id(a, project_id);
}

/* --- JSON helpers -------------------------------------------------------- */

int client_set_b64(json_t *obj, const char *key, const void *data, size_t len, bool secret)
{
    _cleanup_buf_ struct buf b = BUF_INIT;
    if (secret)
        buf_init_secret(&b, 0);
    int r = b64_encode(&b, data, len, B64_STD);
    if (r < 0)
        return r;
    return json_object_set_new(obj, key, json_string(buf_str(&b))) < 0 ? -ENOMEM : 0;
}

int client_set_str(json_t *obj, const char *key, const char *s)
{
    return json_object_set_new(obj, key, json_string(s)) < 0 ? -ENOMEM : 0;
}

/* Decodes the base64 string obj[key] into out.  -EPROTO when absent or malformed. */
int client_get_b64(struct arca *a, const json_t *obj, const char *key, struct buf *out)
{
    const char *s;
    if (wire_get_str(obj, key, CLIENT_B64_MAX, &s) < 0 ||
        b64_decode(out, s, strlen(s), B64_STD) < 0)
        return client_error(a, -EPROTO, "the arca server sent a missing or malformed '%s'", key);
    return 0;
}

int client_answer_str(struct arca *a, const json_t *obj, const char *key, size_t max,
                      const char **ret)
{
    if (wire_get_str(obj, key, max, ret) < 0)
        return client_error(a, -EPROTO, "the arca server sent a missing or malformed '%s'", key);
    return 0;
}

int client_answer_obj(struct arca *a, const json_t *obj, const char *key, json_t **ret)
{
    if (wire_get_obj(obj, key, ret) < 0)
        return client_error(a, -EPROTO, "the arca server sent a missing or malformed '%s'", key);
    return 0;
}

int client_answer_arr(struct arca *a, const json_t *obj, const char *key, json_t **ret)
{
    if (wire_get_arr(obj, key, CLIENT_LIST_MAX, ret) < 0)
        return client_error(a, -EPROTO, "the arca server sent a missing or malformed '%s'", key);
    return 0;
}

int client_answer_int(struct arca *a, const json_t *obj, const char *key, long long *ret)
{
    if (wire_get_int(obj, key, ret) < 0)
        return client_error(a, -EPROTO, "the arca server sent a missing or malformed '%s'", key);
    return 0;
}

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

/* --- projects ------------------------------------------------------------ */

int client_project_path(struct arca *a, const char *project_id, const char *suffix, struct buf *out)
{
    int r = buf_adds(out, CLIENT_API "/projects/");
    if (r >= 0)
        r = transport_escape(a, project_id, out);
    if (r >= 0 && suffix)
        r = buf_adds(out, suffix);
    if (r < 0)
        return client_error(a, r, "out of memory");
    return 0;
}

int client_check_project_id(struct arca *a, const char *project_id)
{
    if (!project_id || !*project_id)
        return client_error(a, -EINVAL, "no project given");
    if (!name_uuid_valid(project_id)) /* as the server answers: it has ids, not names */
        return client_error(a, -ENOENT, "project '%.64s' not found (or you are not a member)",
                            project_id);
    return 0;
}

static void project_release(void *item)
{
    struct arca_project *p = item;

    free(p->id);
    free(p->name);
    free(p->slug);
    free(p->organization_id);
    free(p->created_at);
    for (size_t i = 0; i < p->n_environments; i++) {
        free(p->environments[i].slug);
        free(p->environments[i].name);
    }
    free(p->environments);
    memset(p, 0, sizeof(*p));
}

void arca_project_free(struct arca_project *p)
{
    if (!p)
        return;
    project_release(p);
    free(p);
}

void arca_projects_free(struct arca_project *p, size_t n)
{
    client_items_free(p, n, sizeof(*p), project_release);
}

int client_dup_field(struct arca *a, const json_t *o, const char *key, size_t max, char **ret)
{
    const char *s;
    int r = client_answer_str(a, o, key, max, &s);
    if (r < 0)
        return r;
    *ret = strdup(s);
    if (!*ret)
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

int client_dup_optional(struct arca *a, const json_t *o, const char *key, size_t max, char **ret)
{
    const char *v;
    int r = wire_get_str(o, key, max, &v);
    if (r == -ENOENT) {
        *ret = NULL;
        return 0;
    }
    if (r < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed '%s'", key);
    *ret = strdup(v);
    if (!*ret)
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

/* Fills p from a project object; on failure p holds what was parsed (release it). */
static int project_parse(struct arca *a, const json_t *o, void *ret)
{
    struct arca_project *p = ret;
    json_t *envs;
    int r;

    if (!json_is_object(o))
        return client_error(a, -EPROTO, "the arca server sent a malformed project");
    if ((r = client_dup_field(a, o, "id", CLIENT_ID_MAX, &p->id)) < 0 ||
        (r = client_dup_field(a, o, "name", CLIENT_STRING_MAX, &p->name)) < 0 ||
        (r = client_dup_field(a, o, "slug", CLIENT_STRING_MAX, &p->slug)) < 0 ||
        (r = client_dup_field(a, o, "organizationId", CLIENT_ID_MAX, &p->organization_id)) < 0 ||
        (r = client_dup_field(a, o, "createdAt", CLIENT_STRING_MAX, &p->created_at)) < 0)
        return r;

    bool server_access = false;
    wire_get_bool(o, "serverAccess", &server_access);
    p->server_access = server_access;
    if (wire_get_arr(o, "environments", CLIENT_LIST_MAX, &envs) == -ENOENT)
        return 0;
    r = client_answer_arr(a, o, "environments", &envs);
    if (r < 0)
        return r;
    size_t n = json_array_size(envs);
    if (n == 0)
        return 0;
    p->environments = calloc(n, sizeof(*p->environments));
    if (!p->environments)
        return client_error(a, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(envs, i);
        struct arca_environment *env = &p->environments[i];
        long long pos = 0;

        if (!json_is_object(e))
            return client_error(a, -EPROTO, "the arca server sent a malformed environment");
        p->n_environments = i + 1;
        if ((r = client_dup_field(a, e, "slug", CLIENT_STRING_MAX, &env->slug)) < 0 ||
            (r = client_dup_field(a, e, "name", CLIENT_STRING_MAX, &env->name)) < 0)
            return r;
        if (wire_get_int(e, "position", &pos) == 0)
            env->position = pos < 0 || pos > 1000000 ? 0 : (int)pos;
    }
    return 0;
}

static int project_from_answer(struct arca *a, const json_t *answer, struct arca_project **ret)
{
    json_t *o;
    int r = client_answer_obj(a, answer, "project", &o);
    if (r < 0)
        return r;
    struct arca_project *p = calloc(1, sizeof(*p));
    if (!p)
        return client_error(a, -ENOMEM, "out of memory");
    r = project_parse(a, o, p);
    if (r < 0) {
        arca_project_free(p);
        return r;
    }
    *ret = p;
    return 0;
}

/* Evicts the oldest entry when the cache is full. */
void client_key_cache_put(struct arca *a, const char *project_id, uint8_t *key)
{
    for (size_t i = 0; i < a->n_keys; i++)
        if (streq(a->keys[i].project_id, project_id)) {
            seal_free(a->keys[i].key);
            a->keys[i].key = key;
            return;
        }
    char *id = strdup(project_id);
    if (!id) {
        seal_free(key);
        return;
    }
    if (a->n_keys == CLIENT_KEY_CACHE) {
        free(a->keys[0].project_id);
        seal_free(a->keys[0].key);
        memmove(&a->keys[0], &a->keys[1], (CLIENT_KEY_CACHE - 1) * sizeof(a->keys[0]));
        a->n_keys--;
    }
    a->keys[a->n_keys++] = (struct client_project_key){.project_id = id, .key = key};
}

static void key_cache_drop(struct arca *a, const char *project_id)
{
    for (size_t i = 0; i < a->n_keys; i++)
        if (streq(a->keys[i].project_id, project_id)) {
            free(a->keys[i].project_id);
            seal_free(a->keys[i].key);
            memmove(&a->keys[i], &a->keys[i + 1], (a->n_keys - i - 1) * sizeof(a->keys[0]));
            a->n_keys--;
            return;
        }
}

const uint8_t *client_key_cache_get(struct arca *a, const char *project_id)
{
    for (size_t i = 0; i < a->n_keys; i++)
        if (streq(a->keys[i].project_id, project_id))
            return a->keys[i].key;
    return NULL;
}

int client_project_fetch(struct arca *a, const char *project_id, json_t **ret)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r = client_project_path(a, project_id, NULL, &path);
    if (r < 0)
        return r;
    r = transport_call(a, "GET", path.ptr, NULL, ret, NULL);
    if (r == -ENOENT)
        return client_error(a, r, "project '%s' not found (or you are not a member)", project_id);
    return r;
}

int client_project_key(struct arca *a, const char *project_id, const uint8_t **ret)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf wrapped = BUF_INIT;
    _cleanup_seal_ uint8_t *key = NULL;
    json_t *membership;
    int r;

    const uint8_t *cached = client_key_cache_get(a, project_id);
    if (cached) {
        *ret = cached;
        return 0;
    }
    if (!a->has_keypair) /* a service token holds the key of its own project only */
        return client_error(a, -EACCES, "this service token is not for project '%s'", project_id);
    /* the membership the offline cache kept spares a round trip: the key it
     * opens must open the records, else arca_secrets_list asks the server */
    r = client_project_path(a, project_id, NULL, &path);
    if (r < 0 || !client_cache_recall(a, path.ptr, &answer))
        r = client_project_fetch(a, project_id, &answer);
    if (r < 0)
        return r;
    r = client_answer_obj(a, answer, "membership", &membership);
    if (r < 0)
        return r;
    r = client_get_b64(a, membership, "encryptedProjectKey", &wrapped);
    if (r < 0)
        return r;
    key = seal_malloc(SEAL_KEY_BYTES);
    if (!key)
        return client_error(a, -ENOMEM, "out of memory");
    r = seal_unwrap(a->pk, a->sk, wrapped.ptr, wrapped.len, key, SEAL_KEY_BYTES);
    if (r < 0)
        return client_error(a, -EBADMSG,
                            "cannot open the key of project '%s': it is damaged or was not "
                            "sealed to your key pair",
                            project_id);
    uint8_t *k = TAKE_PTR(key);
    client_key_cache_put(a, project_id, k);
    *ret = client_key_cache_get(a, project_id);
    if (!*ret)
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

int arca_project_create(struct arca *a, const char *name, struct arca_project **ret)
{
    _cleanup_seal_ uint8_t *key = NULL;
    _cleanup_buf_ struct buf wrapped = BUF_INIT;
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    struct arca_project *p = NULL;
    int r;

    r = client_require_keys(a);
    if (r < 0)
        return r;
    if (!name || !name_title_valid(name))
        return client_error(a, -EINVAL,
                            "'%s' is not a valid project name: 1 to %d characters, no control "
                            "characters",
                            name ? name : "", NAME_TITLE_MAX);

    key = seal_malloc(SEAL_KEY_BYTES);
    if (!key)
        return client_error(a, -ENOMEM, "out of memory");
    seal_random(key, SEAL_KEY_BYTES);
    r = seal_wrap(a->pk, key, SEAL_KEY_BYTES, &wrapped);
    if (r < 0)
        return client_error(a, r, "cannot seal the project key");

    body = json_object();
    if (!body || client_set_str(body, "name", name) < 0 ||
        client_set_b64(body, "encryptedProjectKey", wrapped.ptr, wrapped.len, false) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = transport_call(a, "POST", CLIENT_API "/projects", body, &answer, NULL);
    if (r < 0)
        return r;
    r = project_from_answer(a, answer, &p);
    if (r < 0)
        return r;
    uint8_t *k = TAKE_PTR(key);
    client_key_cache_put(a, p->id, k);
    if (ret)
        *ret = p;
    else
        arca_project_free(p);
    return 0;
}

int arca_project_get(struct arca *a, const char *project_id, struct arca_project **ret)
{
    _cleanup_json_ json_t *answer = NULL;
    int r;

    r = client_require_project(a, project_id);
    if (r < 0)
        return r;
    r = client_project_fetch(a, project_id, &answer);
    if (r < 0)
        return r;
    return project_from_answer(a, answer, ret);
}

int arca_project_set_server_access(struct arca *a, const char *project_id, int on)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_json_ json_t *body = NULL;
    const uint8_t *key;
    int r;

    r = client_require_project(a, project_id);
    if (r == 0 && on)
        r = client_project_key(a, project_id, &key);
    if (r == 0)
        r = client_project_path(a, project_id, NULL, &path);
    if (r < 0)
        return r;
    body = json_pack("{s:b}", "serverAccess", on ? 1 : 0);
    if (!body || (on && client_set_b64(body, "projectKey", key, SEAL_KEY_BYTES, true) < 0))
        return client_error(a, -ENOMEM, "out of memory");
    r = transport_call(a, "PATCH", path.ptr, body, NULL, NULL);
    client_json_wipe(body, "projectKey");
    return r;
}

int arca_project_delete(struct arca *a, const char *project_id)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r = client_require_project(a, project_id);

    if (r == 0)
        r = client_project_path(a, project_id, NULL, &path);
    if (r < 0)
        return r;
    r = transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
    if (r == 0)
        key_cache_clear(a);
    return r;
}

int arca_project_rename(struct arca *a, const char *project_id, const char *name)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_json_ json_t *body = NULL;
    int r = client_require_project(a, project_id);

    if (r == 0 && (!name || !name_title_valid(name)))
        return client_error(a, -EINVAL,
                            "'%s' is not a valid project name: 1 to %d characters, no control "
                            "characters",
                            name ? name : "", NAME_TITLE_MAX);
    if (r == 0)
        r = client_project_path(a, project_id, NULL, &path);
    if (r < 0)
        return r;
    body = json_pack("{s:s}", "name", name);
    if (!body)
        return client_error(a, -ENOMEM, "out of memory");
    return transport_call(a, "PATCH", path.ptr, body, NULL, NULL);
}

int arca_projects_list(struct arca *a, struct arca_project **ret, size_t *ret_n)
{
    int r = client_require_login(a);

    if (r < 0)
        return r;
    return client_get_items(a, CLIENT_API "/projects", "projects", sizeof(**ret), project_parse,
                            project_release, (void **)ret, ret_n);
}

/* --- secrets ------------------------------------------------------------- */

int client_scope_check(struct arca *a, const struct arca_scope *in, struct client_scope *out)
{
    int r;

    if (!in)
        return client_error(a, -EINVAL, "no project given");
    r = client_check_project_id(a, in->project_id);
    if (r < 0)
        return r;
    if (!in->environment || !*in->environment)
        return client_error(a, -EINVAL, "no environment given");
    if (!name_slug_valid(in->environment))
        return client_error(a, -EINVAL, "'%s' is not a valid environment slug", in->environment);
    const char *path = in->path ? in->path : "/";
    r = name_path_normalize(path, out->path, sizeof(out->path));
    if (r == -E2BIG)
        return client_error(a, r, "folder path '%.64s...' is too long or too deep", path);
    if (r < 0)
        return client_error(a, -EINVAL,
                            "'%s' is not a valid folder path: it starts with '/' and its parts "
                            "use letters, digits, '_', '-' and '.'",
                            path);
    out->project_id = in->project_id;
    out->environment = in->environment;
    out->flags = in->flags;
    out->project_key = false;
    out->owner = "";
    if (in->flags & ARCA_PERSONAL) {
        if (a->kind != ARCA_SESSION_USER || !a->user_id)
            return client_error(a, -EINVAL,
                                "only users have personal overrides (machine identities and "
                                "service tokens use the shared values)");
        out->owner = a->user_id;
    }
    return 0;
}

int client_scope_begin(struct arca *a, const struct arca_scope *scope, const char *key,
                       struct client_scope *out)
{
    int r = client_require_login(a);
    if (r < 0)
        return r;
    r = client_scope_check(a, scope, out);
    if (r < 0 || !key)
        return r;
    return client_check_key(a, key);
}

json_t *client_scope_body(const struct client_scope *s)
{
    json_t *body = json_object();
    if (!body || client_set_str(body, "environment", s->environment) < 0 ||
        client_set_str(body, "secretPath", s->path) < 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* Builds /projects/<id>/secrets[/<key>]?environment=<env>&secretPath=<path>. */
int client_secrets_path(struct arca *a, const struct client_scope *s, const char *key,
                        struct buf *out)
{
    int r = client_project_path(a, s->project_id, "/secrets", out);
    if (r < 0)
        return r;
    if (key) {
        r = buf_addch(out, '/');
        if (r >= 0)
            r = transport_escape(a, key, out);
    }
    if (r >= 0)
        r = buf_adds(out, "?environment=");
    if (r >= 0)
        r = transport_escape(a, s->environment, out);
    if (r >= 0)
        r = buf_adds(out, "&secretPath=");
    if (r >= 0)
        r = transport_escape(a, s->path, out);
    if (r >= 0 && key && *s->owner)
        r = buf_adds(out, "&type=personal");
    if (r < 0)
        return client_error(a, r, "out of memory");
    return 0;
}

int client_check_key(struct arca *a, const char *key)
{
    char why[96];

    if (!key || !name_key_valid(key))
        return client_error(a, -EINVAL,
                            "'%.64s%s' is not a valid secret name: %s (names are 1 to %d letters, "
                            "digits and _, not starting with a digit)",
                            key ? key : "", key && strlen(key) > 64 ? "..." : "",
                            name_key_problem(key, why, sizeof(why)), NAME_KEY_MAX);
    return 0;
}

/* Whether s's records are the caller's own personal overrides, which the
 * caller seals under its owner key (seal_owner_key): a user with a key pair. */
static bool scope_mine(const struct arca *a, const struct client_scope *s)
{
    return *s->owner && !s->project_key && a->user_id && a->sk && streq(s->owner, a->user_id);
}

int client_record_kind(const char *b64)
{
    _cleanup_buf_ struct buf rec = BUF_INIT;
    int r = b64_decode(&rec, b64, strlen(b64), B64_STD);

    return r < 0 ? r : seal_record_kind(rec.ptr, rec.len);
}

/* Opens the base64 record b64 of field ("value" or "comment") of secret key into
 * a NUL-terminated string.  OWNED, SECRET (string_wipe_free).  An owner-sealed
 * record opens only with the caller's owner key, in the caller's own scope. */
int client_record_open(struct arca *a, const struct client_scope *s, const uint8_t *pkey,
                       const char *key, const char *field, const char *b64, char **ret)
{
    _cleanup_buf_ struct buf rec = BUF_INIT;
    _cleanup_buf_ struct buf plain = BUF_INIT;
    char f[SEAL_FIELD_MAX];
    const struct seal_ad ad = {
        .project_id = s->project_id,
        .environment = s->environment,
        .path = s->path,
        .key = key,
        .field = f,
    };
    int r;

    if (seal_ad_field(s->owner, field, f, sizeof(f)) < 0)
        return client_error(a, -EPROTO, "the arca server sent an invalid secret owner");
    buf_init(&rec, 2 * CLIENT_VALUE_MAX + SEAL_RECORD_OVERHEAD);
    buf_init_secret(&plain, 2 * CLIENT_VALUE_MAX);
    r = b64_decode(&rec, b64, strlen(b64), B64_STD);
    if (r == -ENOMEM)
        return client_error(a, r, "out of memory");
    if (r >= 0 && seal_record_kind(rec.ptr, rec.len) == SEAL_RECORD_OWNER) {
        uint8_t okey[SEAL_KEY_BYTES];
        if (!scope_mine(a, s))
            return client_error(a, -EBADMSG,
                                "'%s' is another user's personal override, sealed to them", key);
        seal_owner_key(a->sk, s->project_id, okey);
        r = seal_owner_record_decrypt(okey, &ad, rec.ptr, rec.len, &plain);
        seal_wipe(okey, sizeof(okey));
    } else if (r >= 0) {
        r = seal_record_decrypt(pkey, &ad, rec.ptr, rec.len, &plain);
    }
    if (r == -ENOMEM)
        return client_error(a, r, "out of memory");
    if (r < 0)
        return client_error(a, -EBADMSG, "secret '%s' failed to decrypt (tampered with, or moved)",
                            key);
    if (plain.len > 0 && memchr(plain.ptr, 0, plain.len))
        return client_error(a, -EBADMSG, "secret '%s' holds a NUL byte, which is not allowed", key);
    char *v = buf_detach(&plain);
    if (!v)
        return client_error(a, -ENOMEM, "out of memory");
    *ret = v;
    return 0;
}

void client_secret_free_fields(struct arca_secret *s)
{
    free(s->key);
    client_string_free(s->value);
    client_string_free(s->comment);
    free(s->updated_at);
    free(s->environment);
    free(s->path);
    memset(s, 0, sizeof(*s));
}

void arca_secret_free(struct arca_secret *s)
{
    if (!s)
        return;
    client_secret_free_fields(s);
    free(s);
}

void arca_secret_list_free(struct arca_secret_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        client_secret_free_fields(&l->v[i]);
    free(l->v);
    free(l);
}

/* Fills ret from a secret object of an answer, decrypting value and comment; on
 * failure ret holds what was filled (release it). */
static int secret_open(struct arca *a, const struct client_scope *scope, const uint8_t *pkey,
                       const json_t *o, struct arca_secret *ret)
{
    const char *key, *value, *comment, *updated_at, *type = "shared";
    struct client_scope mine = *scope, *s = &mine;
    long long version;
    int r;

    if (!json_is_object(o))
        return client_error(a, -EPROTO, "the arca server sent a malformed secret");
    if (wire_get_str(o, "type", 16, &type) == -EINVAL ||
        !(streq(type, "shared") || streq(type, "personal")))
        return client_error(a, -EPROTO, "the arca server sent a malformed 'type'");
    /* only the caller's own overrides are ever sent: their records name the caller */
    ret->personal = streq(type, "personal");
    mine.owner = ret->personal && a->user_id ? a->user_id : "";
    r = client_answer_str(a, o, "key", NAME_KEY_MAX, &key);
    if (r < 0)
        return r;
    if (!name_key_valid(key))
        return client_error(a, -EPROTO, "the arca server sent an invalid secret name");
    r = client_answer_int(a, o, "version", &version);
    if (r < 0)
        return r;
    r = wire_get_str(o, "value", CLIENT_B64_MAX, &value);
    if (r == -ENOENT) /* a role with "describe" but not "read" sees names, not values */
        return client_error(a, -EACCES,
                            "you may list the secrets of %s:%s but not read their values (your "
                            "role has describe, not read)",
                            s->environment, s->path);
    if (r < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed 'value'");
    r = wire_get_str(o, "comment", CLIENT_B64_MAX, &comment);
    if (r == -ENOENT)
        comment = NULL;
    else if (r < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed 'comment'");
    if (wire_get_str(o, "updatedAt", CLIENT_STRING_MAX, &updated_at) < 0)
        updated_at = "";

    ret->key = strdup(key);
    ret->updated_at = strdup(updated_at);
    ret->environment = strdup(s->environment);
    ret->path = strdup(s->path);
    if (!ret->key || !ret->updated_at || !ret->environment || !ret->path)
        return client_error(a, -ENOMEM, "out of memory");
    ret->version = version;
    r = client_record_open(a, s, pkey, key, "value", value, &ret->value);
    if (r < 0)
        return r;
    if (comment)
        return client_record_open(a, s, pkey, key, "comment", comment, &ret->comment);
    ret->comment = strdup("");
    if (!ret->comment)
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

/* By key, then folder, the shared secret before the override of the same key. */
static int secret_cmp(const void *x, const void *y)
{
    const struct arca_secret *p = x, *q = y;
    int d = strcmp(p->key, q->key);
    if (!d)
        d = strcmp(p->path, q->path);
    return d ? d : (int)p->personal - (int)q->personal;
}

/* ARCA_OVERRIDES and ARCA_SHARED_ONLY on a sorted list: drops the entries
 * that give way. */
static void secrets_overlay(struct arca_secret_list *l, unsigned flags)
{
    size_t k = 0;

    for (size_t i = 0; i < l->n; i++) {
        bool drop = l->v[i].personal
                        ? (flags & ARCA_SHARED_ONLY) != 0
                        : (flags & ARCA_OVERRIDES) && !(flags & ARCA_SHARED_ONLY) && i + 1 < l->n &&
                              l->v[i + 1].personal && streq(l->v[i + 1].key, l->v[i].key) &&
                              streq(l->v[i + 1].path, l->v[i].path);
        if (drop)
            client_secret_free_fields(&l->v[i]);
        else
            l->v[k++] = l->v[i];
    }
    l->n = k;
}

/* GET the folder's secrets (and what flags, ARCA_IMPORTS and ARCA_RECURSIVE,
 * ask for): the answer. */
static int folder_fetch(struct arca *a, const struct client_scope *s, unsigned flags,
                        json_t **ret_answer, json_t **ret_secrets)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r;

    r = client_secrets_path(a, s, NULL, &path);
    if (r >= 0 && (flags & ARCA_IMPORTS))
        r = buf_adds(&path, "&imports=true");
    if (r >= 0 && (flags & ARCA_RECURSIVE))
        r = buf_adds(&path, "&recursive=true");
    if (r < 0)
        return client_error(a, r, "out of memory");
    return client_get_array(a, path.ptr, "secrets", ret_answer, ret_secrets);
}

/* The scope a secret object of a list answer says it lives in (a sub-folder,
 * an imported folder), else def.  Decryption then proves it: the records are
 * sealed to their environment and path. */
static int located_scope(struct arca *a, const json_t *o, const struct client_scope *def,
                         struct client_scope *ret)
{
    const char *env = NULL, *path = NULL;
    struct arca_scope in = {def->project_id, def->environment, def->path};

    if (wire_get_str(o, "environment", NAME_SLUG_MAX, &env) == 0)
        in.environment = env;
    if (wire_get_str(o, "path", NAME_PATH_MAX, &path) == 0)
        in.path = path;
    if (client_scope_check(a, &in, ret) < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed secret location");
    return 0;
}

/* Is path the folder base or below it? */
static bool path_within(const char *path, const char *base)
{
    size_t n = strlen(base);

    return streq(base, "/") || (strncmp(path, base, n) == 0 && (!path[n] || path[n] == '/'));
}

/* Opens the secret o of a list answer into the next entry of l.  The listed
 * folder's own secrets (and sub-folders') come first, as l->v[0..n_own); an
 * imported one (imported true) is left out when the listed folder or an
 * import already put its key there. */
static int list_add(struct arca *a, const struct client_scope *s, const uint8_t *pkey,
                    const json_t *o, bool imported, size_t n_own, struct arca_secret_list *l)
{
    const char *key = json_string_value(json_object_get(o, "key"));
    struct client_scope at;
    int r;

    for (size_t i = 0; imported && key && i < l->n; i++)
        if (streq(l->v[i].key, key) && (i >= n_own || streq(l->v[i].path, s->path)))
            return 0;
    r = located_scope(a, o, s, &at);
    if (r < 0)
        return r;
    if (!imported && (!streq(at.environment, s->environment) || !path_within(at.path, s->path)))
        return client_error(a, -EPROTO, "the arca server sent a secret of another folder");
    l->n++;
    return secret_open(a, &at, pkey, o, &l->v[l->n - 1]);
}

static int secrets_list(struct arca *a, const struct arca_scope *scope,
                        struct arca_secret_list **ret)
{
    _cleanup_json_ json_t *answer = NULL;
    struct client_scope s;
    struct arca_secret_list *l;
    const uint8_t *pkey;
    json_t *arr, *blocks = NULL, *b, *o;
    size_t n, i, k, n_own;
    int r;

    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    r = client_project_key(a, s.project_id, &pkey);
    if (r < 0)
        return r;
    r = folder_fetch(a, &s, s.flags, &answer, &arr);
    if (r < 0)
        return r;
    n = json_array_size(arr);
    if ((s.flags & ARCA_IMPORTS) && (r = client_answer_arr(a, answer, "imports", &blocks)) < 0)
        return r;
    json_array_foreach(blocks, i, b)
    {
        json_t *v = json_object_get(b, "secrets");
        if (!json_is_array(v) || json_array_size(v) > CLIENT_LIST_MAX)
            return client_error(a, -EPROTO, "the arca server sent a malformed import");
        n += json_array_size(v);
    }
    l = calloc(1, sizeof(*l));
    if (!l || !(l->v = calloc(n ? n : 1, sizeof(*l->v)))) {
        free(l);
        return client_error(a, -ENOMEM, "out of memory");
    }
    json_array_foreach(arr, i, o)
    {
        if ((r = list_add(a, &s, pkey, o, false, 0, l)) < 0)
            goto fail;
    }
    n_own = l->n;
    /* the folder's own secrets first, then imports from the last: first one kept */
    for (i = json_array_size(blocks); i-- > 0;) {
        json_array_foreach(json_object_get(json_array_get(blocks, i), "secrets"), k, o)
        {
            if ((r = list_add(a, &s, pkey, o, true, n_own, l)) < 0)
                goto fail;
        }
    }
    qsort(l->v, l->n, sizeof(*l->v), secret_cmp);
    secrets_overlay(l, s.flags);
    *ret = l;
    return 0;
fail:
    arca_secret_list_free(l);
    return r;
}

int arca_secrets_list(struct arca *a, const struct arca_scope *scope, struct arca_secret_list **ret)
{
    int r = secrets_list(a, scope, ret);

    if (r == -EBADMSG && client_cache_recalled(a)) {
        /* the project key the offline cache held predates a key rotation */
        key_cache_drop(a, scope->project_id);
        r = secrets_list(a, scope, ret);
    }
    return r;
}

int arca_secret_get(struct arca *a, const struct arca_scope *scope, const char *key,
                    struct arca_secret **ret)
{
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    const uint8_t *pkey;
    json_t *o;
    int r;

    r = client_scope_begin(a, scope, key, &s);
    if (r < 0)
        return r;
    r = client_project_key(a, s.project_id, &pkey);
    if (r < 0)
        return r;
    r = client_secrets_path(a, &s, key, &path);
    if (r < 0)
        return r;
    r = transport_call(a, "GET", path.ptr, NULL, &answer, NULL);
    if (r < 0)
        return r;
    r = client_answer_obj(a, answer, "secret", &o);
    if (r < 0)
        return r;

    struct arca_secret *sec = calloc(1, sizeof(*sec));
    if (!sec)
        return client_error(a, -ENOMEM, "out of memory");
    r = secret_open(a, &s, pkey, o, sec);
    if (r >= 0 && !streq(sec->key, key))
        r = client_error(a, -EPROTO, "the arca server sent another secret than '%s'", key);
    if (r < 0) {
        arca_secret_free(sec);
        return r;
    }
    *ret = sec;
    return 0;
}

/* Checks the keys of a batch: given, valid and distinct. */
static int check_keys(struct arca *a, size_t n, const char *(*key_at)(const void *, size_t),
                      const void *v)
{
    if (!v)
        return client_error(a, -EINVAL, "no secrets given");
    if (n > CLIENT_BATCH_MAX)
        return client_error(a, -E2BIG, "at most %d secrets can be changed at once",
                            CLIENT_BATCH_MAX);
    for (size_t i = 0; i < n; i++) {
        int r = client_check_key(a, key_at(v, i));
        if (r < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (streq(key_at(v, i), key_at(v, j)))
                return client_error(a, -EINVAL, "secret '%s' is given more than once",
                                    key_at(v, i));
    }
    return 0;
}

static const char *input_key_at(const void *v, size_t i)
{
    return ((const struct arca_secret_input *)v)[i].key;
}

static const char *name_key_at(const void *v, size_t i)
{
    return ((const char *const *)v)[i];
}

/* An existing secret of the folder, found by key. */
struct existing {
    const char *key; /* BORROWED from the answer */
    const json_t *o; /* BORROWED from the answer */
};

static int existing_cmp(const void *x, const void *y)
{
    const struct existing *p = x, *q = y;
    return strcmp(p->key, q->key);
}

/* Is the stored secret o (of key) equal to value and comment?  A record that does
 * not open counts as different: writing replaces it.  -ENOMEM only. */
static int secret_unchanged(struct arca *a, const struct client_scope *s, const uint8_t *pkey,
                            const struct arca_secret_input *in, const json_t *o, bool *ret)
{
    struct arca_secret old = {0};
    int r = secret_open(a, s, pkey, o, &old);
    if (r == -ENOMEM) {
        client_secret_free_fields(&old);
        return r;
    }
    bool same = false;
    const char *b64 = NULL;
    /* an override of the caller's still under the project key is rewritten sealed to them */
    if (r >= 0 && scope_mine(a, s) && wire_get_str(o, "value", CLIENT_B64_MAX, &b64) == 0 &&
        client_record_kind(b64) != SEAL_RECORD_OWNER)
        r = -EAGAIN;
    if (r >= 0) {
        const char *comment = in->comment ? in->comment : "";
        size_t vlen = strlen(in->value), clen = strlen(comment);
        same = strlen(old.value) == vlen && seal_equal(old.value, in->value, vlen) &&
               strlen(old.comment) == clen && seal_equal(old.comment, comment, clen);
    }
    client_secret_free_fields(&old);
    *ret = same;
    return 0;
}

int client_record_to_json(struct arca *a, json_t *obj, const struct client_scope *s,
                          const uint8_t *pkey, const char *key, const char *field,
                          const char *plain)
{
    _cleanup_buf_ struct buf rec = BUF_INIT;
    char f[SEAL_FIELD_MAX];
    const struct seal_ad ad = {
        .project_id = s->project_id,
        .environment = s->environment,
        .path = s->path,
        .key = key,
        .field = f,
    };
    int r = seal_ad_field(s->owner, field, f, sizeof(f));
    if (r >= 0 && scope_mine(a, s)) { /* an override of the caller's: for their eyes only */
        uint8_t okey[SEAL_KEY_BYTES];
        seal_owner_key(a->sk, s->project_id, okey);
        r = seal_owner_record_encrypt(okey, &ad, plain, strlen(plain), &rec);
        seal_wipe(okey, sizeof(okey));
    } else if (r >= 0) {
        r = seal_record_encrypt(pkey, &ad, plain, strlen(plain), &rec);
    }
    if (r >= 0)
        r = client_set_b64(obj, field, rec.ptr, rec.len, false);
    if (r < 0)
        return client_error(a, r, r == -E2BIG ? "the %s of '%s' is too large" : "out of memory",
                            field, key);
    return 0;
}

/* A new item {key[, type: "personal"]} appended to items.  BORROWED; NULL
 * when out of memory. */
static json_t *batch_item(const struct client_scope *s, json_t *items, const char *key)
{
    json_t *item = json_object();
    if (!item || json_array_append_new(items, item) < 0)
        return NULL;
    if (client_set_str(item, "key", key) < 0 ||
        (*s->owner && client_set_str(item, "type", "personal") < 0))
        return NULL;
    return item;
}

static json_t *batch_body(const struct client_scope *s)
{
    json_t *body = client_scope_body(s);
    if (body && json_object_set_new(body, "secrets", json_array()) < 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

int arca_secrets_set(struct arca *a, const struct arca_scope *scope,
                     const struct arca_secret_input *in, size_t n, enum arca_change *ret_changes,
                     int64_t *ret_versions)
{
    _cleanup_json_ json_t *folder = NULL;
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_free_ struct existing *index = NULL;
    _cleanup_free_ enum arca_change *changes = NULL;
    _cleanup_free_ int64_t *versions = NULL;
    _cleanup_free_ bool *sent = NULL;
    struct client_scope s;
    const uint8_t *pkey;
    json_t *arr, *items;
    size_t n_sent = 0;
    int r;

    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    if (n == 0)
        return 0;
    r = check_keys(a, n, input_key_at, in);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        if (!in[i].value)
            return client_error(a, -EINVAL, "no value given for '%s'", in[i].key);
        if (strlen(in[i].value) > CLIENT_VALUE_MAX)
            return client_error(a, -E2BIG, "value of '%s' is larger than 64 KiB", in[i].key);
        if (in[i].comment && strlen(in[i].comment) > CLIENT_VALUE_MAX)
            return client_error(a, -E2BIG, "comment of '%s' is larger than 64 KiB", in[i].key);
    }

    changes = calloc(n, sizeof(*changes));
    versions = calloc(n, sizeof(*versions));
    sent = calloc(n, sizeof(*sent));
    if (!changes || !versions || !sent)
        return client_error(a, -ENOMEM, "out of memory");

    r = client_project_key(a, s.project_id, &pkey);
    if (r < 0)
        return r;
    r = folder_fetch(a, &s, 0, &folder, &arr);
    if (r < 0)
        return r;

    size_t n_existing = json_array_size(arr);
    index = calloc(n_existing ? n_existing : 1, sizeof(*index));
    if (!index)
        return client_error(a, -ENOMEM, "out of memory");
    for (size_t i = 0, k = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const char *type = "shared";
        if (!json_is_object(o) || wire_get_str(o, "key", NAME_KEY_MAX, &index[k].key) < 0)
            return client_error(a, -EPROTO, "the arca server sent a malformed secret");
        wire_get_str(o, "type", 16, &type);
        if (streq(type, "personal") != (*s.owner != 0))
            n_existing--; /* the other kind: not what this call writes */
        else
            index[k++].o = o;
    }
    qsort(index, n_existing, sizeof(*index), existing_cmp);

    body = batch_body(&s);
    if (!body)
        return client_error(a, -ENOMEM, "out of memory");
    items = json_object_get(body, "secrets");

    for (size_t i = 0; i < n; i++) {
        struct existing probe = {.key = in[i].key};
        const struct existing *e =
            n_existing ? bsearch(&probe, index, n_existing, sizeof(*index), existing_cmp) : NULL;
        if (e) {
            bool same;
            long long version;
            r = secret_unchanged(a, &s, pkey, &in[i], e->o, &same);
            if (r < 0)
                return client_error(a, r, "out of memory");
            if (same && wire_get_int(e->o, "version", &version) == 0) {
                changes[i] = ARCA_UNCHANGED;
                versions[i] = version;
                continue;
            }
        }

        json_t *item = batch_item(&s, items, in[i].key);
        if (!item)
            return client_error(a, -ENOMEM, "out of memory");
        r = client_record_to_json(a, item, &s, pkey, in[i].key, "value", in[i].value);
        if (r >= 0 && in[i].comment && *in[i].comment)
            r = client_record_to_json(a, item, &s, pkey, in[i].key, "comment", in[i].comment);
        if (r < 0)
            return r;
        sent[i] = true;
        n_sent++;
    }

    if (n_sent > 0) {
        _cleanup_buf_ struct buf path = BUF_INIT;
        json_t *results;

        r = client_project_path(a, s.project_id, "/secrets/batch", &path);
        if (r < 0)
            return r;
        r = transport_call(a, "POST", path.ptr, body, &answer, NULL);
        if (r < 0)
            return r;
        r = client_answer_arr(a, answer, "secrets", &results);
        if (r < 0)
            return r;
        for (size_t j = 0; j < json_array_size(results); j++) {
            const json_t *o = json_array_get(results, j);
            const char *key, *action;
            long long version;
            size_t i;

            if (!json_is_object(o) || wire_get_str(o, "key", NAME_KEY_MAX, &key) < 0 ||
                wire_get_str(o, "action", 16, &action) < 0 ||
                wire_get_int(o, "version", &version) < 0)
                return client_error(a, -EPROTO, "the arca server sent a malformed result");
            for (i = 0; i < n; i++)
                if (sent[i] && streq(in[i].key, key))
                    break;
            if (i == n)
                return client_error(a, -EPROTO, "the arca server sent a result for '%s'", key);
            if (streq(action, "created"))
                changes[i] = ARCA_CREATED;
            else if (streq(action, "updated"))
                changes[i] = ARCA_UPDATED;
            else
                return client_error(a, -EPROTO, "the arca server %s '%s' instead of writing it",
                                    action, key);
            versions[i] = version;
            sent[i] = false;
            n_sent--;
        }
        if (n_sent > 0)
            return client_error(a, -EPROTO, "the arca server did not confirm every write");
    }

    if (ret_changes)
        memcpy(ret_changes, changes, n * sizeof(*changes));
    if (ret_versions)
        memcpy(ret_versions, versions, n * sizeof(*versions));
    return 0;
}

int arca_secrets_delete(struct arca *a, const struct arca_scope *scope, const char *const *keys,
                        size_t n)
{
    _cleanup_json_ json_t *body = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    int r;

    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    if (n == 0)
        return 0;
    r = check_keys(a, n, name_key_at, keys);
    if (r < 0)
        return r;

    body = batch_body(&s);
    if (!body)
        return client_error(a, -ENOMEM, "out of memory");
    json_t *items = json_object_get(body, "secrets");
    for (size_t i = 0; i < n; i++) {
        json_t *item = batch_item(&s, items, keys[i]);
        if (!item || json_object_set_new(item, "delete", json_true()) < 0)
            return client_error(a, -ENOMEM, "out of memory");
    }
    r = client_project_path(a, s.project_id, "/secrets/batch", &path);
    if (r < 0)
        return r;
    return transport_call(a, "POST", path.ptr, body, NULL, NULL);
}

int arca_secret_rename(struct arca *a, const struct arca_scope *scope, const char *from,
                       const char *to, int64_t *ret_version)
{
    _cleanup_json_ json_t *folder = NULL;
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct arca_secret old = {0};
    struct client_scope s;
    const uint8_t *pkey;
    const json_t *found = NULL;
    json_t *arr, *items, *item, *results;
    int r;

    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    if ((r = client_check_key(a, from)) < 0 || (r = client_check_key(a, to)) < 0)
        return r;
    if (streq(from, to))
        return client_error(a, -EINVAL, "'%s' already has that name", from);
    if (*s.owner)
        return client_error(a, -EINVAL, "personal overrides cannot be renamed: drop --personal");
    r = client_project_key(a, s.project_id, &pkey);
    if (r >= 0)
        r = folder_fetch(a, &s, 0, &folder, &arr);
    if (r < 0)
        return r;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const char *key, *type = "shared";
        if (!json_is_object(o) || wire_get_str(o, "key", NAME_KEY_MAX, &key) < 0)
            return client_error(a, -EPROTO, "the arca server sent a malformed secret");
        wire_get_str(o, "type", 16, &type);
        if (streq(type, "personal"))
            continue;
        if (streq(key, to))
            return client_error(a, -EEXIST, "secret '%s' already exists in %s:%s", to,
                                s.environment, s.path);
        if (streq(key, from))
            found = o;
    }
    if (!found)
        return client_error(a, -ENOENT, "secret '%s' not found in %s:%s", from, s.environment,
                            s.path);
    /* the value and comment, sealed again to the new name, and the old one
     * deleted: one batch, one transaction */
    r = secret_open(a, &s, pkey, found, &old);
    body = r < 0 ? NULL : batch_body(&s);
    if (r >= 0 && !body)
        r = client_error(a, -ENOMEM, "out of memory");
    items = body ? json_object_get(body, "secrets") : NULL;
    item = items ? batch_item(&s, items, to) : NULL;
    if (r >= 0 && !item)
        r = client_error(a, -ENOMEM, "out of memory");
    if (r >= 0)
        r = client_record_to_json(a, item, &s, pkey, to, "value", old.value);
    if (r >= 0 && *old.comment)
        r = client_record_to_json(a, item, &s, pkey, to, "comment", old.comment);
    client_secret_free_fields(&old);
    if (r < 0)
        return r;
    item = batch_item(&s, items, from);
    if (!item || json_object_set_new(item, "delete", json_true()) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = client_project_path(a, s.project_id, "/secrets/batch", &path);
    if (r >= 0)
        r = transport_call(a, "POST", path.ptr, body, &answer, NULL);
    if (r >= 0)
        r = client_answer_arr(a, answer, "secrets", &results);
    if (r < 0)
        return r;
    for (size_t j = 0; j < json_array_size(results); j++) {
        const json_t *o = json_array_get(results, j);
        const char *key;
        long long version;
        if (wire_get_str(o, "key", NAME_KEY_MAX, &key) == 0 && streq(key, to) &&
            wire_get_int(o, "version", &version) == 0 && ret_version)
            *ret_version = version;
    }
    return 0;
}
