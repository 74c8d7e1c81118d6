/* client.c - the libarca API: handles, sessions set and read, shared helpers.
 * Its siblings: json.c (answers and bodies), account.c (sign-up, log-in),
 * projects.c, keys.c (the project key and its cache), secrets.c.
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
    client_key_cache_clear(a);
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

int client_parse_items(struct arca *a, const json_t *arr, const struct client_record *rec,
                       void **ret, size_t *ret_n)
{
    size_t n = json_array_size(arr);
    char *v = calloc(n ? n : 1, rec->size);
    int r;

    if (!v)
        return client_error(a, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if ((r = client_record_parse(a, rec, json_array_get(arr, i), v + i * rec->size)) < 0) {
            client_items_free(rec, v, i + 1);
            return r;
        }
    *ret = v;
    *ret_n = n;
    return 0;
}

int client_get_items(struct arca *a, const char *path, const char *key,
                     const struct client_record *rec, void **ret, size_t *ret_n)
{
    _cleanup_json_ json_t *answer = NULL;
    json_t *arr;
    int r = client_get_array(a, path, key, &answer, &arr);

    return r < 0 ? r : client_parse_items(a, arr, rec, ret, ret_n);
}

int client_list_items(struct arca *a, const char *project_id, const char *route, const char *key,
                      const struct client_record *rec, void **ret, size_t *ret_n)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r = project_id ? client_require_project(a, project_id) : client_require_login(a);

    if (r >= 0 && project_id)
        r = client_project_path(a, project_id, route, &path);
    else if (r >= 0 && buf_printf(&path, CLIENT_API "%s", route) < 0)
        r = client_error(a, -ENOMEM, "out of memory");
    return r < 0 ? r : client_get_items(a, path.ptr, key, rec, ret, ret_n);
}

void client_items_free(const struct client_record *rec, void *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        client_record_release(rec, (char *)v + i * rec->size);
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
