/* fuzz_json_body.c - what the server does to a request body before a handler
 * acts on it: wire_parse (req_body_json: one JSON value, no NUL in strings,
 * no duplicate keys, an object), then the validators the handlers apply to
 * its fields (names, paths, globs, base64 records, times, role rules,
 * service-token scopes, batch items).  The table below says which validator
 * a handler applies to which field name; every validator is the server's own.
 * Properties: no sanitizer report, a string the parser accepts holds no NUL,
 * and role rules that validate serialise to a canonical form that validates
 * again to the same form. */
#include <errno.h>
#include <stdbool.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/glob.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "fuzz.h"
#include "server/authz.h"

#define DEPTH_MAX 4

static void check_path(const char *s)
{
    char out[NAME_PATH_MAX + 1];

    (void)name_path_normalize(s, out, sizeof(out));
}

static void check_b64(const char *s)
{
    struct buf out = BUF_INIT;

    buf_init(&out, 1u << 20);
    (void)b64_decode(&out, s, strlen(s), B64_STD);
    buf_release(&out);
}

static void check_time(const char *s)
{
    int64_t ms;

    (void)time_parse_iso(s, &ms);
}

static void check_slug(const char *s)
{
    char out[NAME_SLUG_MAX + 1];

    (void)name_slug_valid(s);
    (void)name_slugify(s, out, sizeof(out));
}

static void check_key(const char *s)
{
    (void)name_key_valid(s);
}

static void check_title(const char *s)
{
    (void)name_title_valid(s);
}

static void check_email(const char *s)
{
    (void)name_email_valid(s);
}

static void check_uuid(const char *s)
{
    (void)name_uuid_valid(s);
}

static void check_glob(const char *s)
{
    if (glob_valid(s))
        (void)glob_match(s, "/app/api");
}

static const struct {
    const char *field;
    void (*check)(const char *);
} string_fields[] = {
    {"environment", check_slug},
    {"slug", check_slug},
    {"role", check_slug},
    {"secretPath", check_path},
    {"path", check_path},
    {"directory", check_path},
    {"key", check_key},
    {"secretKey", check_key},
    {"newSecretName", check_key},
    {"name", check_title},
    {"projectName", check_title},
    {"organization", check_title},
    {"email", check_email},
    {"principalId", check_uuid},
    {"projectId", check_uuid},
    {"workspaceId", check_uuid},
    {"value", check_b64},
    {"comment", check_b64},
    {"encryptedProjectKey", check_b64},
    {"authKey", check_b64},
    {"publicKey", check_b64},
    {"projectKey", check_b64},
    {"to", check_time},
};

/* Role rules (POST .../roles): the array is validated from its text, as
 * api_members.c does; a valid policy round-trips through its canonical form. */
static void check_rules(const json_t *rules)
{
    struct buf text = BUF_INIT, err = BUF_INIT, canon = BUF_INIT, again = BUF_INIT;
    struct authz_policy *p = NULL, *q = NULL;

    if (wire_dump(&text, rules) == 0 && authz_policy_from_json(text.ptr, text.len, &p, &err) == 0) {
        FUZZ_CHECK(authz_policy_to_json(p, &canon) == 0);
        FUZZ_CHECK(authz_policy_from_json(canon.ptr, canon.len, &q, &err) == 0);
        FUZZ_CHECK(authz_policy_to_json(q, &again) == 0);
        FUZZ_CHECK(canon.len == again.len && memcmp(canon.ptr, again.ptr, canon.len) == 0);
        (void)authz_allows(p, AUTHZ_SECRETS, AUTHZ_READ, "dev", "/app");
    }
    authz_policy_free(p);
    authz_policy_free(q);
    buf_release(&text);
    buf_release(&err);
    buf_release(&canon);
    buf_release(&again);
}

/* Service-token scopes: [{environment, secretPath (a glob)}]. */
static void check_scopes(const json_t *scopes)
{
    size_t i;
    json_t *sc;
    const char *env, *glob;

    json_array_foreach(scopes, i, sc)
    {
        if (wire_get_str(sc, "environment", NAME_SLUG_MAX, &env) == 0)
            check_slug(env);
        if (wire_get_str(sc, "secretPath", NAME_PATH_MAX, &glob) == 0)
            check_glob(glob);
    }
}

static void check_object(const json_t *o, int depth)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)o, k, v)
    {
        if (json_is_string(v)) {
            FUZZ_CHECK(strlen(json_string_value(v)) == json_string_length(v));
            for (size_t i = 0; i < sizeof(string_fields) / sizeof(string_fields[0]); i++)
                if (strcmp(k, string_fields[i].field) == 0)
                    string_fields[i].check(json_string_value(v));
        } else if (json_is_array(v) && strcmp(k, "rules") == 0) {
            check_rules(v);
        } else if (json_is_array(v) && strcmp(k, "scopes") == 0) {
            check_scopes(v);
        } else if (json_is_array(v) && depth < DEPTH_MAX) { /* batch items, members, versions */
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item)
            {
                if (json_is_object(item))
                    check_object(item, depth + 1);
            }
        } else if (json_is_object(v) && depth < DEPTH_MAX) { /* kdf, import, clientSecret */
            check_object(v, depth + 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = NULL;
    struct buf err = BUF_INIT;

    if (wire_parse((const char *)data, size, &body, &err) == 0) {
        FUZZ_CHECK(body != NULL);
        if (json_is_object(body))
            check_object(body, 0);
        json_decref(body);
    }
    buf_release(&err);
    return 0;
}
