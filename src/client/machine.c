/* machine.c - principals that are not people: machine identities (universal
 * auth) and service tokens, and logging in as them.
 *
 * An identity's client secret is 32 random bytes written as 64 hex characters.
 * seal_secret_derive splits its text into an authentication key (sent, the
 * server keeps its hash) and a key-encryption key that seals the identity's
 * X25519 private key, so the server can hand the sealed key back at login but
 * never open it.  A service token "st.<id>.<secret>.<key>" works the same way
 * for one project: the server authenticates "st.<id>.<secret>" and keeps the
 * project key sealed under <key>, which never leaves the client.
 *
 * Hex is encoded and decoded in constant time (hex_encode, hex_decode). */
#include <errno.h>
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

#define IDENTITY_PRIVATE_KEY_LABEL "identity-private-key"
#define SERVICE_TOKEN_LABEL "service-token"
#define CLIENT_SECRET_PREFIX 6 /* characters of a client secret the server may show */
#define DURATION_MAX (100LL * 365 * 86400)
#define SCOPES_MAX 64

/* --- client secrets and service tokens ----------------------------------- */

void client_secret_new(char out[CLIENT_SECRET_HEX + 1])
{
    uint8_t raw[CLIENT_SECRET_HEX / 2];
    seal_random(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), out);
    seal_wipe(raw, sizeof(raw));
}

int client_secret_derive(const char *secret, uint8_t auth_key[SEAL_KEY_BYTES],
                         uint8_t kek[SEAL_KEY_BYTES])
{
    uint8_t raw[CLIENT_SECRET_HEX / 2];
    char lower[CLIENT_SECRET_HEX + 1];
    size_t len = secret ? strnlen(secret, CLIENT_SECRET_HEX + 1) : 0;

    if (hex_decode(secret ? secret : "", len, raw, sizeof(raw)) < 0) {
        seal_wipe(raw, sizeof(raw));
        return -EINVAL;
    }
    hex_encode(raw, sizeof(raw), lower); /* the canonical text: lowercase */
    seal_secret_derive(lower, CLIENT_SECRET_HEX, auth_key, kek);
    seal_wipe(raw, sizeof(raw));
    seal_wipe(lower, sizeof(lower));
    return 0;
}

static bool token_part_valid(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

int client_service_token_split(const char *token, struct client_service_token *out)
{
    if (!token || strnlen(token, CLIENT_TOKEN_MAX + 1) > CLIENT_TOKEN_MAX ||
        !startswith(token, "st."))
        return -EINVAL;
    const char *id = token + 3;
    const char *dot1 = strchr(id, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strchr(dot2 + 1, '.'))
        return -EINVAL;
    const char *secret = dot1 + 1, *key = dot2 + 1;
    if (!token_part_valid(id, (size_t)(dot1 - id)) ||
        !token_part_valid(secret, (size_t)(dot2 - secret)))
        return -EINVAL;

    uint8_t *k = seal_malloc(SEAL_KEY_BYTES);
    if (!k)
        return -ENOMEM;
    if (hex_decode(key, strlen(key), k, SEAL_KEY_BYTES) < 0) {
        seal_free(k);
        return -EINVAL;
    }
    char *bearer = strndup(token, (size_t)(dot2 - token));
    char *i = strndup(id, (size_t)(dot1 - id));
    if (!bearer || !i) {
        client_string_free(bearer);
        free(i);
        seal_free(k);
        return -ENOMEM;
    }
    *out = (struct client_service_token){.bearer = bearer, .id = i, .key = k};
    return 0;
}

void client_service_token_release(struct client_service_token *t)
{
    client_string_free(t->bearer);
    free(t->id);
    seal_free(t->key);
    *t = (struct client_service_token){0};
}

int arca_duration_parse(const char *s, int64_t *ret_seconds)
{
    static const struct {
        char unit;
        int64_t seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    int64_t n = 0;
    size_t i = 0;

    if (!s || !ret_seconds)
        return -EINVAL;
    if (streq(s, "0")) {
        *ret_seconds = 0;
        return 0;
    }
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (n > DURATION_MAX)
            return -EINVAL;
        n = n * 10 + (s[i] - '0');
    }
    if (i == 0 || s[i] == 0 || s[i + 1] != 0)
        return -EINVAL;
    for (size_t u = 0; u < ELEMENTSOF(units); u++)
        if (units[u].unit == s[i]) {
            if (n > DURATION_MAX / units[u].seconds)
                return -EINVAL;
            *ret_seconds = n * units[u].seconds;
            return 0;
        }
    return -EINVAL;
}

/* --- logging in ---------------------------------------------------------- */

/* The expiry, in ms since the epoch, of something valid for seconds from now;
 * 0 when the server gave no (or a nonsensical) number. */
static int64_t expiry_of(const json_t *o, const char *key)
{
    long long s;
    if (wire_get_int(o, key, &s) < 0 || s <= 0 || s > DURATION_MAX)
        return 0;
    return now_ms() + s * 1000;
}

int arca_login_identity(struct arca *a, const char *client_id, const char *client_secret)
{
    _cleanup_seal_ uint8_t *keys = NULL; /* auth_key, then kek */
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf sealed_sk = BUF_INIT;
    _cleanup_buf_ struct buf sk = BUF_INIT;
    uint8_t pk[SEAL_PK_BYTES];
    int r;

    buf_init_secret(&sk, 4 * SEAL_SK_BYTES);
    if (!client_id || !*client_id || strlen(client_id) > CLIENT_ID_MAX)
        return client_error(a, -EINVAL, "no valid client ID given");
    keys = seal_malloc(2 * SEAL_KEY_BYTES);
    if (!keys)
        return client_error(a, -ENOMEM, "out of memory");
    if (client_secret_derive(client_secret, keys, keys + SEAL_KEY_BYTES) < 0)
        return client_error(a, -EINVAL, "the client secret is not 64 hexadecimal characters");

    body = json_object();
    if (!body || client_set_str(body, "clientId", client_id) < 0 ||
        client_set_b64(body, "authKey", keys, SEAL_KEY_BYTES, true) < 0) {
        client_json_wipe(body, "authKey");
        return client_error(a, -ENOMEM, "out of memory");
    }
    client_session_clear(a); /* no old token goes along with the login */
    r = transport_call(a, "POST", CLIENT_API "/auth/identity/login", body, &answer, NULL);
    client_json_wipe(body, "authKey");
    if (r < 0)
        return r;

    const char *token, *id, *name, *pk_b64;
    json_t *identity;
    r = client_answer_str(a, answer, "accessToken", CLIENT_TOKEN_MAX, &token);
    if (r >= 0)
        r = client_answer_obj(a, answer, "identity", &identity);
    if (r >= 0)
        r = client_answer_str(a, identity, "id", CLIENT_ID_MAX, &id);
    if (r >= 0)
        r = client_answer_str(a, identity, "name", CLIENT_STRING_MAX, &name);
    if (r >= 0)
        r = client_answer_str(a, identity, "publicKey", 128, &pk_b64);
    if (r >= 0)
        r = client_get_b64(a, identity, "encryptedPrivateKey", &sealed_sk);
    if (r >= 0 && b64_decode_exact(pk_b64, B64_STD, pk, sizeof(pk)) < 0)
        r = client_error(a, -EPROTO, "the arca server sent a malformed 'publicKey'");
    if (r >= 0) {
        r = seal_unbox(keys + SEAL_KEY_BYTES, IDENTITY_PRIVATE_KEY_LABEL, sealed_sk.ptr,
                       sealed_sk.len, &sk);
        if (r == -ENOMEM)
            r = client_error(a, r, "out of memory");
        else if (r < 0 || sk.len != SEAL_SK_BYTES)
            r = client_error(a, -EBADMSG,
                             "cannot open the identity's private key: the server sent a damaged "
                             "or foreign key");
    }
    if (r >= 0 && client_keypair_check(pk, (const uint8_t *)sk.ptr) < 0)
        r = client_error(a, -EBADMSG,
                         "the server sent a public key that does not match the identity's "
                         "private key");
    if (r >= 0) {
        r = client_session_set_identity(a, token, id, name, client_id, pk, (const uint8_t *)sk.ptr,
                                        expiry_of(answer, "expiresIn"),
                                        expiry_of(answer, "accessTokenMaxTTL"));
        if (r < 0)
            client_error(a, r, "out of memory");
    }
    client_json_wipe(answer, "accessToken");
    return r;
}

int arca_token_renew(struct arca *a)
{
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    const char *token;
    int r;

    if (a->kind != ARCA_SESSION_IDENTITY)
        return client_error(a, -EINVAL,
                            "only a machine identity's session can be renewed (log in with "
                            "--method=universal-auth)");
    body = json_object();
    if (!body || client_set_str(body, "accessToken", a->token) < 0) {
        client_json_wipe(body, "accessToken");
        return client_error(a, -ENOMEM, "out of memory");
    }
    r = transport_call(a, "POST", CLIENT_API "/auth/token/renew", body, &answer, NULL);
    client_json_wipe(body, "accessToken");
    if (r == -EACCES)
        return client_error(a, r,
                            "the identity's token cannot be renewed (expired, revoked or past its "
                            "maximum lifetime): log in again");
    if (r < 0)
        return r;
    r = client_answer_str(a, answer, "accessToken", CLIENT_TOKEN_MAX, &token);
    if (r >= 0 && !streq(token, a->token)) {
        char *t = strdup(token);
        if (!t)
            r = client_error(a, -ENOMEM, "out of memory");
        else {
            client_string_free(a->token);
            a->token = t;
        }
    }
    if (r >= 0) {
        int64_t e = expiry_of(answer, "expiresIn");
        if (e)
            a->expires_at = a->max_expires_at && e > a->max_expires_at ? a->max_expires_at : e;
    }
    client_json_wipe(answer, "accessToken");
    return r;
}

int arca_login_service_token(struct arca *a, const char *token)
{
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf wrapped = BUF_INIT;
    _cleanup_buf_ struct buf key = BUF_INIT;
    struct client_service_token st;
    const char *id, *project_id, *name;
    json_t *data;
    int r;

    r = client_service_token_split(token, &st);
    if (r == -ENOMEM)
        return client_error(a, r, "out of memory");
    if (r < 0)
        return client_error(a, -EACCES,
                            "the service token is malformed: it has the form "
                            "st.<id>.<secret>.<key>");

    buf_init_secret(&key, 4 * SEAL_KEY_BYTES);
    client_session_clear(a);
    client_cache_set_key(a, st.key);
    a->token = strdup(st.bearer); /* for this one request */
    if (!a->token) {
        client_service_token_release(&st);
        return client_error(a, -ENOMEM, "out of memory");
    }
    r = transport_call(a, "GET", CLIENT_API "/service-token", NULL, &answer, NULL);
    if (r >= 0)
        r = client_answer_obj(a, answer, "serviceTokenData", &data);
    if (r >= 0)
        r = client_answer_str(a, data, "id", CLIENT_ID_MAX, &id);
    if (r >= 0)
        r = client_answer_str(a, data, "projectId", CLIENT_ID_MAX, &project_id);
    if (r >= 0 && wire_get_str(data, "name", CLIENT_STRING_MAX, &name) < 0)
        name = "";
    if (r >= 0 && !streq(id, st.id))
        r = client_error(a, -EPROTO, "the arca server answered for another service token");
    if (r >= 0)
        r = client_get_b64(a, answer, "encryptedProjectKey", &wrapped);
    if (r >= 0) {
        r = seal_unbox(st.key, SERVICE_TOKEN_LABEL, wrapped.ptr, wrapped.len, &key);
        if (r == -ENOMEM)
            r = client_error(a, r, "out of memory");
        else if (r < 0 || key.len != SEAL_KEY_BYTES) /* a wrong <key> is a wrong credential */
            r = client_error(a, -EACCES,
                             "cannot open the project key of the service token: the token's key "
                             "part is wrong or the server sent a damaged key");
    }
    if (r >= 0) {
        r = client_session_set_service(a, st.bearer, id, name, project_id,
                                       (const uint8_t *)key.ptr);
        if (r < 0)
            client_error(a, r, "out of memory");
    }
    if (r >= 0) { /* the one environment all its scopes name, if they name one */
        json_t *scopes = json_object_get(data, "scopes"), *sc;
        const char *env = NULL, *e;
        size_t i;
        bool one = json_array_size(scopes) > 0;
        json_array_foreach(scopes, i, sc)
        {
            if (wire_get_str(sc, "environment", NAME_SLUG_MAX, &e) < 0 || (env && !streq(env, e)))
                one = false;
            else
                env = e;
        }
        if (one && env)
            snprintf(a->token_env, sizeof(a->token_env), "%s", env);
    }
    if (r < 0 && a->kind == ARCA_SESSION_NONE) {
        client_string_free(a->token);
        a->token = NULL;
    }
    client_service_token_release(&st);
    return r;
}

static const char *env_first(const char *name, const char *fallback)
{
    const char *v = secure_getenv(name);
    if (!v || !*v)
        v = secure_getenv(fallback);
    return v && *v ? v : NULL;
}

int arca_login_environment(struct arca *a)
{
    const char *token = env_first("ARCA_TOKEN", "INFISICAL_TOKEN");
    const char *id = env_first("ARCA_CLIENT_ID", "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID");
    const char *secret = env_first("ARCA_CLIENT_SECRET", "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET");
    int r;

    if (token) {
        const char *var = secure_getenv("ARCA_TOKEN") && *secure_getenv("ARCA_TOKEN")
                              ? "ARCA_TOKEN"
                              : "INFISICAL_TOKEN";
        r = arca_login_service_token(a, token);
        if (r == -EACCES && !a->token && !startswith(token, "st."))
            return client_error(a, r,
                                "%s is not a service token: it has the form "
                                "st.<id>.<secret>.<key>",
                                var);
        if (r == -EACCES && strstr(a->err, "malformed"))
            return client_error(a, r,
                                "%s is malformed: a service token has the form "
                                "st.<id>.<secret>.<key>",
                                var);
        return r;
    }
    if (id && secret)
        return arca_login_identity(a, id, secret);
    if (id || secret)
        return client_error(a, -EINVAL, "%s is set but %s is not",
                            id ? "ARCA_CLIENT_ID" : "ARCA_CLIENT_SECRET",
                            id ? "ARCA_CLIENT_SECRET" : "ARCA_CLIENT_ID");
    return client_error(a, -ENOENT, "no credentials in the environment");
}

/* --- identities ---------------------------------------------------------- */

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_identity, field, kind, key, max)
static const struct client_field identity_fields[] = {
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    F(name, CF_STR, "name", CLIENT_STRING_MAX),
    F(client_id, CF_STR, "clientId", CLIENT_ID_MAX),
    F(organization_id, CF_STR_OR_EMPTY, "organizationId", CLIENT_ID_MAX),
    F(created_at, CF_STR_OR_EMPTY, "createdAt", CLIENT_STRING_MAX),
    F(access_token_ttl, CF_INT_OPT, "accessTokenTTL", 0),
    F(access_token_max_ttl, CF_INT_OPT, "accessTokenMaxTTL", 0),
    F(access_token_num_uses_limit, CF_INT_OPT, "accessTokenNumUsesLimit", 0),
};
#undef F
static const struct client_record rec_identity =
    CLIENT_RECORD(struct arca_identity, "identity", identity_fields);

CLIENT_FREE_ONE(arca_identity_free, struct arca_identity, rec_identity)
CLIENT_FREE_ARRAY(arca_identities_free, struct arca_identity, rec_identity)

static int check_name(struct arca *a, const char *what, const char *name)
{
    if (!name || !name_title_valid(name))
        return client_error(a, -EINVAL,
                            "'%s' is not a valid %s name: 1 to %d characters, no control "
                            "characters",
                            name ? name : "", what, NAME_TITLE_MAX);
    return 0;
}

/* The body of a new client secret: authKey, encryptedPrivateKey, prefix, and
 * opts' description, ttl and numUsesLimit (opts may be NULL). */
static int client_secret_body(struct arca *a, const char *secret, const uint8_t *sk,
                              const struct arca_client_secret_options *opts, json_t **ret)
{
    _cleanup_seal_ uint8_t *keys = seal_malloc(2 * SEAL_KEY_BYTES);
    _cleanup_buf_ struct buf sealed = BUF_INIT;
    char prefix[CLIENT_SECRET_PREFIX + 1];

    if (!keys)
        return client_error(a, -ENOMEM, "out of memory");
    if (client_secret_derive(secret, keys, keys + SEAL_KEY_BYTES) < 0)
        return client_error(a, -EINVAL, "the client secret is not 64 hexadecimal characters");
    int r = seal_box(keys + SEAL_KEY_BYTES, IDENTITY_PRIVATE_KEY_LABEL, sk, SEAL_SK_BYTES, &sealed);
    if (r < 0)
        return client_error(a, r, "cannot seal the identity's private key");
    snprintf(prefix, sizeof(prefix), "%.*s", CLIENT_SECRET_PREFIX, secret);

    json_t *o = json_object();
    if (!o || client_set_b64(o, "authKey", keys, SEAL_KEY_BYTES, true) < 0 ||
        client_set_b64(o, "encryptedPrivateKey", sealed.ptr, sealed.len, false) < 0 ||
        client_set_str(o, "prefix", prefix) < 0 ||
        (opts && opts->description && client_set_str(o, "description", opts->description) < 0) ||
        (opts && opts->ttl && json_object_set_new(o, "ttl", json_integer(opts->ttl)) < 0) ||
        (opts && opts->num_uses_limit &&
         json_object_set_new(o, "numUsesLimit", json_integer(opts->num_uses_limit)) < 0)) {
        client_json_wipe(o, "authKey");
        json_decref(o);
        return client_error(a, -ENOMEM, "out of memory");
    }
    *ret = o;
    return 0;
}

/* Deletes an identity just created whose second step failed, keeping the
 * first failure's message and saying what became of the identity. */
static void identity_undo(struct arca *a, const char *id, const char *name)
{
    char first[CLIENT_ERRMSG_MAX];
    _cleanup_buf_ struct buf path = BUF_INIT;

    snprintf(first, sizeof(first), "%s", a->err);
    int r = buf_adds(&path, CLIENT_API "/identities/");
    if (r >= 0)
        r = transport_escape(a, id, &path);
    if (r >= 0)
        r = transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
    if (r >= 0)
        client_error(a, 0,
                     "cannot add machine identity '%s' to the project (%s): it was deleted "
                     "again",
                     name, first);
    else
        client_error(a, 0,
                     "cannot add machine identity '%s' to the project (%s), and deleting it "
                     "failed: delete it with 'arca identities delete %s'",
                     name, first, id);
}

int arca_identity_create(struct arca *a, const char *name, const struct arca_identity_options *opts,
                         struct arca_identity **ret, char **ret_client_secret)
{
    static const struct arca_identity_options none = {0};
    _cleanup_seal_ uint8_t *sk = NULL;
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_json_ json_t *project = NULL;
    uint8_t pk[SEAL_PK_BYTES];
    char *secret = NULL;
    const char *org;
    json_t *cs = NULL, *o;
    int r;

    if (!opts)
        opts = &none;
    org = opts->organization_id;
    r = client_require_login(a);
    if (r < 0)
        return r;
    r = check_name(a, "identity", name);
    if (r < 0)
        return r;
    if (opts->project_id) {
        const uint8_t *pkey;
        if (!opts->role || !name_slug_valid(opts->role))
            return client_error(a, -EINVAL, "'%s' is not a valid role",
                                opts->role ? opts->role : "");
        r = client_check_project_id(a, opts->project_id);
        if (r >= 0) /* fails now, not after the identity exists, if the key cannot be opened */
            r = client_project_key(a, opts->project_id, &pkey);
        if (r < 0)
            return r;
    }
    if (opts->project_id && !opts->organization_id) {
        r = client_project_fetch(a, opts->project_id, &project);
        if (r >= 0)
            r = client_answer_obj(a, project, "project", &o);
        if (r >= 0)
            r = client_answer_str(a, o, "organizationId", CLIENT_ID_MAX, &org);
        if (r < 0)
            return r;
    }
    if (opts->access_token_num_uses_limit < 0)
        return client_error(a, -EINVAL, "the access token's number of uses must be 0 or more");
    if (opts->access_token_ttl < 0 || opts->access_token_max_ttl < 0 ||
        (opts->access_token_ttl && opts->access_token_max_ttl &&
         opts->access_token_ttl > opts->access_token_max_ttl))
        return client_error(a, -EINVAL,
                            "the access token TTL must be positive and at most the max TTL");

    sk = seal_malloc(SEAL_SK_BYTES);
    secret = calloc(1, CLIENT_SECRET_HEX + 1);
    if (!sk || !secret) {
        free(secret);
        return client_error(a, -ENOMEM, "out of memory");
    }
    seal_keypair_new(pk, sk);
    client_secret_new(secret);
    r = client_secret_body(a, secret, sk, NULL, &cs);
    if (r < 0) {
        client_string_free(secret);
        return r;
    }

    body = json_object();
    if (!body || json_object_set_new(body, "clientSecret", cs) < 0 ||
        client_set_str(body, "name", name) < 0 ||
        client_set_b64(body, "publicKey", pk, sizeof(pk), false) < 0 ||
        (org && client_set_str(body, "organizationId", org) < 0) ||
        (opts->access_token_ttl &&
         json_object_set_new(body, "accessTokenTTL", json_integer(opts->access_token_ttl)) < 0) ||
        (opts->access_token_max_ttl &&
         json_object_set_new(body, "accessTokenMaxTTL", json_integer(opts->access_token_max_ttl)) <
             0) ||
        (opts->access_token_num_uses_limit &&
         json_object_set_new(body, "accessTokenNumUsesLimit",
                             json_integer(opts->access_token_num_uses_limit)) < 0) ||
        (opts->trusted_ips && client_set_str(body, "trustedIps", opts->trusted_ips) < 0)) {
        client_json_wipe(json_object_get(body, "clientSecret"), "authKey");
        client_string_free(secret);
        return client_error(a, -ENOMEM, "out of memory");
    }
    r = transport_call(a, "POST", CLIENT_API "/identities", body, &answer, NULL);
    client_json_wipe(json_object_get(body, "clientSecret"), "authKey");
    if (r >= 0)
        r = client_answer_obj(a, answer, "identity", &o);
    struct arca_identity *i = NULL;
    if (r >= 0)
        r = client_record_new(a, &rec_identity, o, (void **)&i);
    if (r >= 0 && opts->project_id) {
        r = client_member_post(a, opts->project_id, ARCA_PRINCIPAL_IDENTITY, i->id, pk, opts->role);
        if (r < 0)
            identity_undo(a, i->id, name);
    }
    if (r < 0) {
        arca_identity_free(i);
        client_string_free(secret);
        return r;
    }
    if (ret)
        *ret = i;
    else
        arca_identity_free(i);
    if (ret_client_secret)
        *ret_client_secret = secret;
    else
        client_string_free(secret);
    return 0;
}

int arca_identities_list(struct arca *a, struct arca_identity **ret, size_t *ret_n)
{
    return client_list_items(a, NULL, "/identities", "identities", &rec_identity, (void **)ret,
                             ret_n);
}

/* Finds an identity by id or name in GET /identities.  *ret BORROWED from
 * *ret_answer (OWNED).  -ENOENT, -EINVAL when the name is ambiguous. */
int client_identity_find(struct arca *a, const char *who, json_t **ret_answer, const json_t **ret)
{
    json_t *answer = NULL, *arr;
    const json_t *found = NULL;
    size_t n_found = 0;

    int r = client_get_array(a, CLIENT_API "/identities", "identities", &answer, &arr);
    if (r < 0)
        return r;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const char *id, *name;
        if (wire_get_str(o, "id", CLIENT_ID_MAX, &id) == 0 && streq(id, who)) {
            found = o;
            n_found = 1;
            break;
        }
        if (wire_get_str(o, "name", CLIENT_STRING_MAX, &name) == 0 && streq(name, who)) {
            found = o;
            n_found++;
        }
    }
    if (n_found == 0) {
        json_decref(answer);
        return client_error(a, -ENOENT, "machine identity '%s' not found", who);
    }
    if (n_found > 1) {
        json_decref(answer);
        return client_error(a, -EINVAL, "more than one machine identity is named '%s': give its id",
                            who);
    }
    *ret_answer = answer;
    *ret = found;
    return 0;
}

int arca_identity_delete(struct arca *a, const char *who)
{
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    const json_t *o;
    const char *id;
    int r;

    r = client_require_login(a);
    if (r < 0)
        return r;
    if (!who || !*who)
        return client_error(a, -EINVAL, "no machine identity given");
    r = client_identity_find(a, who, &answer, &o);
    if (r < 0)
        return r;
    r = client_answer_str(a, o, "id", CLIENT_ID_MAX, &id);
    if (r < 0)
        return r;
    r = buf_adds(&path, CLIENT_API "/identities/");
    if (r >= 0)
        r = transport_escape(a, id, &path);
    if (r < 0)
        return client_error(a, r, "out of memory");
    return transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
}

/* --- client secrets ------------------------------------------------------ */

/* expiresAt: a string, or NULL for anything else (never) */
static int client_secret_finish(struct arca *a, const json_t *o, void *ret)
{
    struct arca_client_secret *s = ret;

    if (!json_is_string(json_object_get(o, "expiresAt")))
        return 0;
    return client_dup_field(a, o, "expiresAt", CLIENT_STRING_MAX, &s->expires_at);
}

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_client_secret, field, kind, key, max)
static const struct client_field client_secret_fields[] = {
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    F(prefix, CF_STR_OR_EMPTY, "prefix", CLIENT_STRING_MAX),
    F(description, CF_STR_OR_EMPTY, "description", CLIENT_STRING_MAX),
    F(created_at, CF_STR_OR_EMPTY, "createdAt", CLIENT_STRING_MAX),
    F(expires_at, CF_OWNED, "expiresAt", 0),
    F(num_uses, CF_INT_OPT, "numUses", 0),
    F(num_uses_limit, CF_INT_OPT, "numUsesLimit", 0),
    F(revoked, CF_TRUE, "revoked", 0),
};
#undef F
static const struct client_record rec_client_secret =
    CLIENT_RECORD(struct arca_client_secret, "client secret", client_secret_fields,
                  .finish = client_secret_finish);

CLIENT_FREE_ONE(arca_client_secret_free, struct arca_client_secret, rec_client_secret)
CLIENT_FREE_ARRAY(arca_client_secrets_free, struct arca_client_secret, rec_client_secret)

/* The id of identity who (name or id): the session's own without a request
 * when who names it, else from GET /identities.  Then appends
 * /identities/<id>/client-secrets to path. */
static int identity_secrets_path(struct arca *a, const char *who, char ret_id[CLIENT_ID_MAX + 1],
                                 struct buf *path)
{
    _cleanup_json_ json_t *answer = NULL;
    const json_t *o;
    const char *id;
    int r;

    if (!who || !*who)
        return client_error(a, -EINVAL, "no machine identity given");
    if (a->kind == ARCA_SESSION_IDENTITY && a->user_id &&
        (streq(who, a->user_id) || (a->name && streq(who, a->name))))
        id = a->user_id;
    else {
        r = client_identity_find(a, who, &answer, &o);
        if (r < 0)
            return r;
        r = client_answer_str(a, o, "id", CLIENT_ID_MAX, &id);
        if (r < 0)
            return r;
    }
    snprintf(ret_id, CLIENT_ID_MAX + 1, "%s", id);
    r = buf_adds(path, CLIENT_API "/identities/");
    if (r >= 0)
        r = transport_escape(a, ret_id, path);
    if (r >= 0)
        r = buf_adds(path, "/client-secrets");
    return r < 0 ? client_error(a, r, "out of memory") : 0;
}

/* For each project of the caller's that identity_id is a member of, the
 * project key (opened here) sealed to pk: [{projectId, encryptedProjectKey}].
 * A project whose members the caller may not list is left out (the server then
 * says which membership is missing). */
static int identity_memberships(struct arca *a, const char *identity_id,
                                const uint8_t pk[SEAL_PK_BYTES], json_t **ret)
{
    struct arca_project *p = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    int r = arr ? arca_projects_list(a, &p, &n) : client_error(a, -ENOMEM, "out of memory");

    for (size_t i = 0; r >= 0 && i < n; i++) {
        struct arca_member *m = NULL;
        size_t n_m = 0;
        bool member = false;

        if (arca_members_list(a, p[i].id, &m, &n_m) < 0)
            continue;
        for (size_t k = 0; k < n_m; k++)
            member |= m[k].type == ARCA_PRINCIPAL_IDENTITY && streq(m[k].principal_id, identity_id);
        arca_members_free(m, n_m);
        if (!member)
            continue;

        _cleanup_buf_ struct buf wrapped = BUF_INIT;
        const uint8_t *pkey;
        json_t *o = json_object();
        r = client_project_key(a, p[i].id, &pkey);
        if (r >= 0 && seal_wrap(pk, pkey, SEAL_KEY_BYTES, &wrapped) < 0)
            r = client_error(a, -EIO, "cannot seal the project key of '%s'", p[i].slug);
        if (r >= 0 &&
            (!o || client_set_str(o, "projectId", p[i].id) < 0 ||
             client_set_b64(o, "encryptedProjectKey", wrapped.ptr, wrapped.len, false) < 0 ||
             json_array_append(arr, o) < 0))
            r = client_error(a, -ENOMEM, "out of memory");
        json_decref(o);
    }
    arca_projects_free(p, n);
    if (r < 0) {
        json_decref(arr);
        return r;
    }
    *ret = arr;
    return 0;
}

int arca_client_secret_create(struct arca *a, const char *who,
                              const struct arca_client_secret_options *opts,
                              struct arca_client_secret **ret, char **ret_client_secret)
{
    static const struct arca_client_secret_options none = {0};
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_seal_ uint8_t *sk = NULL;
    uint8_t pk[SEAL_PK_BYTES];
    char id[CLIENT_ID_MAX + 1];
    char *secret;
    json_t *o, *memberships = NULL;
    int r;

    if (!opts)
        opts = &none;
    r = client_require_login(a);
    if (r < 0)
        return r;
    if (opts->description && (!*opts->description || !name_title_valid(opts->description)))
        return client_error(a, -EINVAL,
                            "'%s' is not a valid description: 1 to %d characters, no control "
                            "characters",
                            opts->description, NAME_TITLE_MAX);
    if (opts->ttl < 0 || opts->ttl > DURATION_MAX || opts->num_uses_limit < 0)
        return client_error(a, -EINVAL,
                            "the TTL and the number of uses must be 0 (no limit) or positive");
    if (a->kind == ARCA_SESSION_IDENTITY)
        return client_error(a, -EACCES,
                            "an identity cannot make or revoke its own client secrets: an "
                            "organization admin who holds its project roles does");
    r = identity_secrets_path(a, who, id, &path);
    if (r < 0)
        return r;
    /* a new key pair: this client cannot open the identity's private key */
    sk = seal_malloc(SEAL_SK_BYTES);
    if (!sk)
        return client_error(a, -ENOMEM, "out of memory");
    seal_keypair_new(pk, sk);
    r = identity_memberships(a, id, pk, &memberships);
    if (r < 0)
        return r;

    secret = calloc(1, CLIENT_SECRET_HEX + 1);
    if (!secret) {
        json_decref(memberships);
        return client_error(a, -ENOMEM, "out of memory");
    }
    client_secret_new(secret);
    r = client_secret_body(a, secret, sk, opts, &body);
    if (r >= 0 && (client_set_b64(body, "publicKey", pk, sizeof(pk), false) < 0 ||
                   json_object_set(body, "memberships", memberships) < 0)) {
        client_json_wipe(body, "authKey");
        r = client_error(a, -ENOMEM, "out of memory");
    }
    json_decref(memberships);
    if (r >= 0) {
        r = transport_call(a, "POST", path.ptr, body, &answer, NULL);
        client_json_wipe(body, "authKey");
    }
    if (r >= 0)
        r = client_answer_obj(a, answer, "clientSecret", &o);
    struct arca_client_secret *s = NULL;
    if (r >= 0 && ret)
        r = client_record_new(a, &rec_client_secret, o, (void **)&s);
    if (r < 0) {
        arca_client_secret_free(s);
        client_string_free(secret);
        return r;
    }
    if (ret)
        *ret = s;
    if (ret_client_secret)
        *ret_client_secret = secret;
    else
        client_string_free(secret);
    return 0;
}

int arca_client_secrets_list(struct arca *a, const char *who, struct arca_client_secret **ret,
                             size_t *ret_n)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    char id[CLIENT_ID_MAX + 1];
    int r;

    r = client_require_login(a);
    if (r >= 0)
        r = identity_secrets_path(a, who, id, &path);
    if (r < 0)
        return r;
    return client_get_items(a, path.ptr, "clientSecrets", &rec_client_secret, (void **)ret, ret_n);
}

int arca_client_secret_revoke(struct arca *a, const char *who, const char *secret_id)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    char id[CLIENT_ID_MAX + 1];
    int r;

    r = client_require_login(a);
    if (r < 0)
        return r;
    if (!secret_id || !*secret_id || strlen(secret_id) > CLIENT_ID_MAX)
        return client_error(a, -EINVAL, "no valid client secret id given");
    r = identity_secrets_path(a, who, id, &path);
    if (r < 0)
        return r;
    if (buf_adds(&path, "/") < 0 || transport_escape(a, secret_id, &path) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
    if (r == -ENOENT)
        return client_error(a, r, "client secret '%s' not found for machine identity '%s'",
                            secret_id, who);
    return r;
}

/* --- service tokens ------------------------------------------------------ */

/* no object check: an element that is not one fails on its environment */
static const struct client_field scope_fields[] = {
    CLIENT_FIELD(struct arca_token_scope, environment, CF_STR, "environment", NAME_SLUG_MAX),
    CLIENT_FIELD(struct arca_token_scope, path, CF_STR, "secretPath", NAME_PATH_MAX),
};
static const struct client_record rec_scope =
    CLIENT_RECORD(struct arca_token_scope, NULL, scope_fields);

static void service_token_release(void *item)
{
    struct arca_service_token *t = item;

    client_items_free(&rec_scope, (void *)t->scopes, t->n_scopes);
}

/* access, and the scopes (absent or malformed: none) */
static int service_token_finish(struct arca *a, const json_t *o, void *ret)
{
    struct arca_service_token *t = ret;
    const char *access;
    json_t *scopes;

    if (wire_get_str(o, "access", 16, &access) == 0)
        t->write = streq(access, "read-write");
    if (wire_get_arr(o, "scopes", SCOPES_MAX, &scopes) < 0)
        return 0;
    return client_parse_items(a, scopes, &rec_scope, (void **)&t->scopes, &t->n_scopes);
}

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_service_token, field, kind, key, max)
static const struct client_field service_token_fields[] = {
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    F(name, CF_STR, "name", CLIENT_STRING_MAX),
    F(expires_at, CF_STR_OR_NULL, "expiresAt", CLIENT_STRING_MAX),
    F(created_at, CF_STR_OR_EMPTY, "createdAt", CLIENT_STRING_MAX),
    F(revoked, CF_TRUE, "revoked", 0),
};
#undef F
static const struct client_record rec_service_token =
    CLIENT_RECORD(struct arca_service_token, "service token", service_token_fields,
                  .finish = service_token_finish, .release = service_token_release);

CLIENT_FREE_ONE(arca_service_token_free, struct arca_service_token, rec_service_token)
CLIENT_FREE_ARRAY(arca_service_tokens_free, struct arca_service_token, rec_service_token)

int arca_service_token_create(struct arca *a, const char *project_id, const char *name,
                              const struct arca_token_scope *scopes, size_t n, int write,
                              int64_t expires_in, struct arca_service_token **ret, char **ret_token)
{
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_buf_ struct buf sealed = BUF_INIT;
    _cleanup_buf_ struct buf token = BUF_INIT;
    _cleanup_seal_ uint8_t *key = NULL;
    const uint8_t *pkey;
    const char *bearer;
    json_t *arr, *data;
    char hex[2 * SEAL_KEY_BYTES + 1];
    int r;

    r = client_require_keys(a);
    if (r < 0)
        return r;
    r = client_check_project_id(a, project_id);
    if (r < 0)
        return r;
    r = check_name(a, "service token", name);
    if (r < 0)
        return r;
    if (n == 0 || !scopes)
        return client_error(a, -EINVAL, "a service token needs at least one scope");
    if (n > SCOPES_MAX)
        return client_error(a, -E2BIG, "a service token has at most %d scopes", SCOPES_MAX);
    if (expires_in < 0 || expires_in > DURATION_MAX)
        return client_error(a, -EINVAL, "the expiry must be 0 (never) or a positive duration");

    arr = json_array();
    body = json_object();
    if (!arr || !body || json_object_set_new(body, "scopes", arr) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *env = scopes[i].environment, *p = scopes[i].path ? scopes[i].path : "/";
        if (!env || !name_slug_valid(env))
            return client_error(a, -EINVAL, "'%s' is not a valid environment slug", env ? env : "");
        if (*p != '/' || strlen(p) > NAME_PATH_MAX)
            return client_error(a, -EINVAL,
                                "'%s' is not a valid scope path: a folder path or glob "
                                "starting with '/'",
                                p);
        json_t *s = json_object();
        if (!s || json_array_append_new(arr, s) < 0 || client_set_str(s, "environment", env) < 0 ||
            client_set_str(s, "secretPath", p) < 0)
            return client_error(a, -ENOMEM, "out of memory");
    }

    r = client_project_key(a, project_id, &pkey);
    if (r < 0)
        return r;
    key = seal_malloc(SEAL_KEY_BYTES);
    if (!key)
        return client_error(a, -ENOMEM, "out of memory");
    seal_random(key, SEAL_KEY_BYTES);
    r = seal_box(key, SERVICE_TOKEN_LABEL, pkey, SEAL_KEY_BYTES, &sealed);
    if (r < 0)
        return client_error(a, r, "cannot seal the project key for the token");
    if (client_set_str(body, "name", name) < 0 ||
        client_set_str(body, "access", write ? "read-write" : "read") < 0 ||
        json_object_set_new(body, "expiresIn", json_integer(expires_in)) < 0 ||
        client_set_b64(body, "encryptedProjectKey", sealed.ptr, sealed.len, false) < 0)
        return client_error(a, -ENOMEM, "out of memory");

    r = client_project_path(a, project_id, "/service-tokens", &path);
    if (r < 0)
        return r;
    r = transport_call(a, "POST", path.ptr, body, &answer, NULL);
    if (r < 0)
        return r;
    r = client_answer_str(a, answer, "serviceToken", CLIENT_TOKEN_MAX, &bearer);
    if (r >= 0)
        r = client_answer_obj(a, answer, "serviceTokenData", &data);
    if (r < 0) {
        client_json_wipe(answer, "serviceToken");
        return r;
    }

    buf_init_secret(&token, CLIENT_TOKEN_MAX + sizeof(hex) + 1);
    hex_encode(key, SEAL_KEY_BYTES, hex);
    r = buf_printf(&token, "%s.%s", bearer, hex);
    seal_wipe(hex, sizeof(hex));
    client_json_wipe(answer, "serviceToken");
    struct client_service_token check;
    if (r >= 0 && client_service_token_split(token.ptr, &check) == 0)
        client_service_token_release(&check);
    else if (r >= 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed service token");
    if (r < 0)
        return client_error(a, r, "out of memory");

    struct arca_service_token *t = NULL;
    if (ret) {
        r = client_record_new(a, &rec_service_token, data, (void **)&t);
        if (r < 0)
            return r;
    }
    char *out = buf_detach(&token);
    if (!out) {
        arca_service_token_free(t);
        return client_error(a, -ENOMEM, "out of memory");
    }
    if (ret)
        *ret = t;
    if (ret_token)
        *ret_token = out;
    else
        client_string_free(out);
    return 0;
}

int arca_service_tokens_list(struct arca *a, const char *project_id,
                             struct arca_service_token **ret, size_t *ret_n)
{
    return client_list_items(a, project_id, "/service-tokens", "serviceTokens", &rec_service_token,
                             (void **)ret, ret_n);
}

int arca_service_token_revoke(struct arca *a, const char *project_id, const char *token_id)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r;

    r = client_require_project(a, project_id);
    if (r < 0)
        return r;
    if (!token_id || !*token_id || strlen(token_id) > CLIENT_ID_MAX)
        return client_error(a, -EINVAL, "no valid service token id given");
    r = client_project_path(a, project_id, "/service-tokens/", &path);
    if (r >= 0)
        r = transport_escape(a, token_id, &path);
    if (r < 0)
        return client_error(a, r, "out of memory");
    r = transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
    if (r == -ENOENT)
        return client_error(a, r, "service token '%s' not found in the project", token_id);
    return r;
}
