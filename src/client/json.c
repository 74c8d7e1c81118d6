/* json.c - the JSON helpers of libarca: fields of bodies set, fields of the
 * server's answers read and checked (a missing or malformed one is -EPROTO),
 * and records read from answers through their field tables (client.h). */
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

/* --- records ------------------------------------------------------------- */

static int client_read_field(struct arca *a, const struct client_record *rec,
                             const struct client_field *f, const json_t *o, char *p)
{
    const json_t *in = f->in ? json_object_get(o, f->in) : o;
    char **str = (char **)(void *)p;
    const char *s;
    long long v;
    bool b;
    int r;

    in = json_is_object(in) ? in : NULL;
    switch (f->kind) {
    case CF_STR:
        return client_dup_field(a, in, f->key, f->max, str);
    case CF_STR_OR_EMPTY:
    case CF_STR_OR_NULL:
        r = client_dup_optional(a, in, f->key, f->max, str);
        if (r >= 0 && !*str && f->kind == CF_STR_OR_EMPTY && !(*str = strdup("")))
            r = client_error(a, -ENOMEM, "out of memory");
        return r;
    case CF_STR_LENIENT:
        if (wire_get_str(in, f->key, f->max, &s) < 0)
            s = "";
        *str = strdup(s);
        return *str ? 0 : client_error(a, -ENOMEM, "out of memory");
    case CF_INT:
        r = client_answer_int(a, in, f->key, &v);
        if (r >= 0)
            *(int64_t *)(void *)p = v;
        return r;
    case CF_INT_OPT:
        if (wire_get_int(in, f->key, &v) == 0)
            *(int64_t *)(void *)p = v;
        return 0;
    case CF_BOOL_OPT:
        if (wire_get_bool(in, f->key, &b) == 0)
            *(int *)(void *)p = b;
        return 0;
    case CF_TRUE:
        *(int *)(void *)p = json_is_true(json_object_get(in, f->key));
        return 0;
    case CF_OBJ:
        if (!json_is_object(json_object_get(in, f->key)))
            return client_error(a, -EPROTO, "the arca server sent a malformed %s", rec->what);
        return 0;
    case CF_OWNED:
        return 0;
    }
    return -EINVAL;
}

int client_record_parse(struct arca *a, const struct client_record *rec, const json_t *o, void *ret)
{
    int r = 0;

    if (rec->what && !json_is_object(o))
        return client_error(a, -EPROTO, "the arca server sent a malformed %s", rec->what);
    if (rec->first)
        r = rec->first(a, o, ret);
    for (size_t i = 0; i < rec->n_fields && r >= 0; i++)
        r = client_read_field(a, rec, &rec->fields[i], o, (char *)ret + rec->fields[i].off);
    if (r >= 0 && rec->finish)
        r = rec->finish(a, o, ret);
    return r;
}

void client_record_release(const struct client_record *rec, void *item)
{
    if (!item)
        return;
    for (size_t i = 0; i < rec->n_fields; i++) {
        enum client_field_kind k = rec->fields[i].kind;
        if (k == CF_STR || k == CF_STR_OR_EMPTY || k == CF_STR_OR_NULL || k == CF_STR_LENIENT ||
            k == CF_OWNED)
            free(*(char **)(void *)((char *)item + rec->fields[i].off));
    }
    if (rec->release)
        rec->release(item);
    memset(item, 0, rec->size);
}

int client_record_new(struct arca *a, const struct client_record *rec, const json_t *o, void **ret)
{
    void *item = calloc(1, rec->size);
    int r;

    if (!item)
        return client_error(a, -ENOMEM, "out of memory");
    r = client_record_parse(a, rec, o, item);
    if (r < 0) {
        client_record_free(rec, item);
        return r;
    }
    *ret = item;
    return 0;
}

void client_record_free(const struct client_record *rec, void *item)
{
    client_record_release(rec, item);
    free(item);
}
