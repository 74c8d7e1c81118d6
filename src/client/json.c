/* json.c - the JSON helpers of libarca: fields of bodies set, fields of the
 * server's answers read and checked (a missing or malformed one is -EPROTO). */
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
