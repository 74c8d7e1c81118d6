/* keys.c - the project key: the handle's cache of opened keys and fetching
 * the caller's membership to open one with the private key. */
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

void client_key_cache_clear(struct arca *a)
{
    for (size_t i = 0; i < a->n_keys; i++) {
        free(a->keys[i].project_id);
        seal_free(a->keys[i].key);
    }
    a->n_keys = 0;
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

void client_key_cache_drop(struct arca *a, const char *project_id)
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
