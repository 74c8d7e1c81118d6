/* history.c - what happened to secrets: their versions (decrypted here),
 * rolling back one secret or a whole folder, and the audit log.
 *
 * A rollback needs no cryptography on the client: the server writes an old
 * record again, and since a record's associated data names its project,
 * environment, folder, key and field (not its version), the old record opens
 * as the new version.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca.h"
#include "base/buf.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "client/client.h"
#include "client/transport.h"

#define AUDIT_LIMIT_MAX 1000u

/* --- versions ------------------------------------------------------------ */

void arca_secret_versions_free(struct arca_secret_version *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        client_string_free(v[i].value);
        client_string_free(v[i].comment);
        free(v[i].updated_at);
        free(v[i].actor_id);
    }
    free(v);
}

/* "created" when the version is the first or follows a deletion (versions are
 * newest first, so the one before version i is at i + 1). */
static void versions_classify(struct arca_secret_version *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!v[i].value)
            v[i].action = ARCA_DELETED;
        else if (i + 1 == n || !v[i + 1].value)
            v[i].action = ARCA_CREATED;
        else
            v[i].action = ARCA_UPDATED;
    }
}

static int version_parse(struct arca *a, const struct client_scope *s, const uint8_t *pkey,
                         const char *key, const json_t *o, struct arca_secret_version *v)
{
    const char *value = NULL, *comment = NULL;
    long long version;
    int r;

    if (!json_is_object(o))
        return client_error(a, -EPROTO, "the arca server sent a malformed version");
    r = client_answer_int(a, o, "version", &version);
    if (r < 0)
        return r;
    v->version = version;
    if ((r = client_dup_optional(a, o, "updatedAt", CLIENT_STRING_MAX, &v->updated_at)) < 0 ||
        (r = client_dup_optional(a, o, "actorId", CLIENT_STRING_MAX, &v->actor_id)) < 0)
        return r;
    if ((!v->updated_at && !(v->updated_at = strdup(""))) ||
        (!v->actor_id && !(v->actor_id = strdup(""))))
        return client_error(a, -ENOMEM, "out of memory");
    r = wire_get_str(o, "value", CLIENT_B64_MAX, &value);
    if (r == -ENOENT)
        return 0; /* a deletion */
    if (r < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed 'value'");
    r = wire_get_str(o, "comment", CLIENT_B64_MAX, &comment);
    if (r < 0 && r != -ENOENT)
        return client_error(a, -EPROTO, "the arca server sent a malformed 'comment'");
    r = client_record_open(a, s, pkey, key, "value", value, &v->value);
    if (r >= 0 && comment)
        r = client_record_open(a, s, pkey, key, "comment", comment, &v->comment);
    else if (r >= 0 && !(v->comment = strdup("")))
        r = client_error(a, -ENOMEM, "out of memory");
    return r;
}

int arca_secret_versions(struct arca *a, const struct arca_scope *scope, const char *key,
                         struct arca_secret_version **ret, size_t *ret_n)
{
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    const uint8_t *pkey;
    json_t *arr;
    int r;

    r = client_secret_begin(a, scope, key, "/versions", &s, &pkey, &path);
    if (r < 0)
        return r;
    r = transport_call(a, "GET", path.ptr, NULL, &answer, NULL);
    if (r == -ENOENT)
        return client_error(a, r, "secret '%s' not found in %s:%s", key, s.environment, s.path);
    if (r < 0)
        return r;
    r = client_answer_arr(a, answer, "versions", &arr);
    if (r < 0)
        return r;

    size_t n = json_array_size(arr);
    struct arca_secret_version *v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return client_error(a, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        r = version_parse(a, &s, pkey, key, json_array_get(arr, i), &v[i]);
        if (r < 0) {
            arca_secret_versions_free(v, n);
            return r;
        }
    }
    for (size_t i = 1; i < n; i++)
        if (v[i].version >= v[i - 1].version) {
            arca_secret_versions_free(v, n);
            return client_error(a, -EPROTO, "the arca server sent versions out of order");
        }
    versions_classify(v, n);
    *ret = v;
    *ret_n = n;
    return 0;
}

static int action_of(struct arca *a, const char *s, enum arca_change *ret)
{
    if (streq(s, "created") || streq(s, "restored"))
        *ret = ARCA_CREATED;
    else if (streq(s, "updated"))
        *ret = ARCA_UPDATED;
    else if (streq(s, "deleted"))
        *ret = ARCA_DELETED;
    else if (streq(s, "unchanged"))
        *ret = ARCA_UNCHANGED;
    else
        return client_error(a, -EPROTO, "the arca server sent an unknown action '%.32s'", s);
    return 0;
}

int arca_secret_rollback(struct arca *a, const struct arca_scope *scope, const char *key,
                         int64_t version, enum arca_change *ret_action, int64_t *ret_version)
{
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    const char *action;
    long long new_version;
    enum arca_change change;
    json_t *o;
    int r;

    r = client_scope_begin(a, scope, key, &s);
    if (r < 0)
        return r;
    if (*s.owner)
        return client_error(a, -EINVAL, "personal overrides cannot be rolled back: set the value");
    if (version < 1)
        return client_error(a, -EINVAL, "versions start at 1");
    body = client_scope_body(&s);
    if (!body || json_object_set_new(body, "version", json_integer(version)) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = client_project_path(a, s.project_id, "/secrets/", &path);
    if (r >= 0)
        r = transport_escape(a, key, &path);
    if (r >= 0)
        r = buf_adds(&path, "/rollback");
    if (r < 0)
        return client_error(a, r, "out of memory");
    r = transport_call(a, "POST", path.ptr, body, &answer, NULL);
    if (r == -ENOENT)
        return client_error(a, r, "secret '%s' has no version %lld in %s:%s", key,
                            (long long)version, s.environment, s.path);
    if (r < 0)
        return r;
    /* docs/api.md answers {secret: {...}}; accept {secrets: [{...}]} as the batch routes send */
    json_t *arr;
    if (wire_get_obj(answer, "secret", &o) < 0 && (wire_get_arr(answer, "secrets", 1, &arr) < 0 ||
                                                   !json_is_object(o = json_array_get(arr, 0))))
        return client_error(a, -EPROTO, "the arca server sent a missing or malformed 'secret'");
    r = client_answer_int(a, o, "version", &new_version);
    if (r >= 0)
        r = client_answer_str(a, o, "action", 16, &action);
    if (r >= 0)
        r = action_of(a, action, &change);
    if (r < 0)
        return r;
    if (ret_action)
        *ret_action = change;
    if (ret_version)
        *ret_version = new_version;
    return 0;
}

static int rollback_action(struct arca *a, const json_t *o, void *ret)
{
    struct arca_rollback *v = ret;
    const char *action;
    int r = client_answer_str(a, o, "action", 16, &action);

    return r < 0 ? r : action_of(a, action, &v->action);
}

static const struct client_field rollback_fields[] = {
    CLIENT_FIELD(struct arca_rollback, key, CF_STR, "key", NAME_KEY_MAX),
    CLIENT_FIELD(struct arca_rollback, version, CF_INT, "version", 0),
};
static const struct client_record rec_rollback =
    CLIENT_RECORD(struct arca_rollback, "result", rollback_fields, .finish = rollback_action);

CLIENT_FREE_ARRAY(arca_rollbacks_free, struct arca_rollback, rec_rollback)

/* Normalises an ISO-8601 time or a duration ago ("24h") to ISO-8601 UTC. */
static int time_arg(struct arca *a, const char *what, const char *in, char out[static 25])
{
    int64_t ms, seconds;

    if (time_parse_iso(in, &ms) == 0) {
        time_format_iso(ms, out);
        return 0;
    }
    if (arca_duration_parse(in, &seconds) == 0) {
        time_format_iso(now_ms() - seconds * 1000, out);
        return 0;
    }
    return client_error(a, -EINVAL,
                        "%s '%.64s' is not an ISO-8601 time (2026-11-29T10:00:00Z) or a duration "
                        "ago (24h)",
                        what, in);
}

static int secrets_rollback(struct arca *a, const struct arca_scope *scope, const char *to,
                            bool dry_run, struct arca_rollback **ret, size_t *ret_n)
{
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    struct client_scope s;
    char when[25];
    json_t *arr;
    int r;

    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    if (*s.owner)
        return client_error(a, -EINVAL,
                            "a folder rollback restores shared secrets only: drop --personal");
    if (!to)
        return client_error(a, -EINVAL, "no time given");
    r = time_arg(a, "time", to, when);
    if (r < 0)
        return r;
    body = client_scope_body(&s);
    if (!body || client_set_str(body, "to", when) < 0 ||
        (dry_run && json_object_set_new(body, "dryRun", json_true()) < 0))
        return client_error(a, -ENOMEM, "out of memory");
    r = client_project_path(a, s.project_id, "/secrets/rollback", &path);
    if (r < 0)
        return r;
    r = transport_call(a, "POST", path.ptr, body, &answer, NULL);
    if (r < 0)
        return r;
    r = client_answer_arr(a, answer, "secrets", &arr);
    if (r < 0)
        return r;

    struct arca_rollback *v;
    size_t n;
    r = client_parse_items(a, arr, &rec_rollback, (void **)&v, &n);
    if (r < 0)
        return r;
    if (ret) {
        *ret = v;
        *ret_n = n;
    } else {
        arca_rollbacks_free(v, n);
    }
    return 0;
}

int arca_secrets_rollback(struct arca *a, const struct arca_scope *scope, const char *to,
                          struct arca_rollback **ret, size_t *ret_n)
{
    return secrets_rollback(a, scope, to, false, ret, ret_n);
}

int arca_secrets_rollback_plan(struct arca *a, const struct arca_scope *scope, const char *to,
                               struct arca_rollback **ret, size_t *ret_n)
{
    return secrets_rollback(a, scope, to, true, ret, ret_n);
}

/* --- audit log ----------------------------------------------------------- */

/* *ret = strdup(o[key]), "" when absent, null or not a string. */
static int dup_or_empty(const json_t *o, const char *key, char **ret)
{
    const char *s;
    if (wire_get_str(o, key, CLIENT_STRING_MAX, &s) < 0)
        s = "";
    *ret = strdup(s);
    return *ret ? 0 : -ENOMEM;
}

/* the whole record as the server sent it */
static int audit_json(struct arca *a, const json_t *o, void *ret)
{
    _cleanup_buf_ struct buf text = BUF_INIT;
    struct arca_audit_record *rec = ret;

    if (wire_dump(&text, o) < 0 || !(rec->json = buf_detach(&text)))
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

/* The strings read as "" when absent, null or not a string. */
#define F(field, key)                                                                              \
    CLIENT_FIELD(struct arca_audit_record, field, CF_STR_LENIENT, key, CLIENT_STRING_MAX)
#define ACTOR(field, k)                                                                            \
    {                                                                                              \
        .key = k, .in = "actor", .kind = CF_STR_LENIENT,                                           \
        .off = offsetof(struct arca_audit_record, field), .max = CLIENT_STRING_MAX                 \
    }
static const struct client_field audit_fields[] = {
    CLIENT_FIELD(struct arca_audit_record, seq, CF_INT, "seq", 0),
    F(time, "time"),
    F(event, "event"),
    F(outcome, "outcome"),
    F(project_id, "projectId"),
    F(environment, "environment"),
    F(path, "path"),
    F(key, "key"),
    F(ip, "ip"),
    F(user_agent, "userAgent"),
    F(hash, "hash"),
    ACTOR(actor_type, "type"),
    ACTOR(actor_id, "id"),
    ACTOR(actor_name, "name"),
    CLIENT_FIELD(struct arca_audit_record, json, CF_OWNED, "", 0),
};
#undef F
#undef ACTOR
static const struct client_record rec_audit =
    CLIENT_RECORD(struct arca_audit_record, "audit record", audit_fields, .finish = audit_json);

CLIENT_FREE_ARRAY(arca_audit_records_free, struct arca_audit_record, rec_audit)

static int query_add(struct arca *a, struct buf *q, const char *name, const char *value)
{
    int r = buf_printf(q, "%c%s=", strchr(q->ptr, '?') ? '&' : '?', name);
    if (r >= 0)
        r = transport_escape(a, value, q);
    return r;
}

int arca_audit_logs_list(struct arca *a, const struct arca_audit_query *q,
                         struct arca_audit_record **ret, size_t *ret_n, int64_t *ret_next)
{
    static const struct arca_audit_query all = {0};
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    char since[25], until[25], num[32];
    long long next = -1;
    json_t *arr;
    int r;

    if (!q)
        q = &all;
    r = client_require_login(a);
    if (r < 0)
        return r;
    if (q->project_id && (r = client_check_project_id(a, q->project_id)) < 0)
        return r;
    if (q->since && (r = time_arg(a, "--since", q->since, since)) < 0)
        return r;
    if (q->until && (r = time_arg(a, "--until", q->until, until)) < 0)
        return r;
    if (q->limit > AUDIT_LIMIT_MAX)
        return client_error(a, -EINVAL, "at most %u records per page", AUDIT_LIMIT_MAX);
    if (q->event && (strlen(q->event) > CLIENT_STRING_MAX || !*q->event))
        return client_error(a, -EINVAL, "invalid event filter");
    if (q->actor && (strlen(q->actor) > CLIENT_STRING_MAX || !*q->actor))
        return client_error(a, -EINVAL, "invalid actor filter");

    r = buf_adds(&path, CLIENT_API "/audit-logs");
    if (r >= 0 && q->project_id)
        r = query_add(a, &path, "projectId", q->project_id);
    if (r >= 0 && q->event)
        r = query_add(a, &path, "event", q->event);
    if (r >= 0 && q->actor)
        r = query_add(a, &path, "actor", q->actor);
    if (r >= 0 && q->since)
        r = query_add(a, &path, "since", since);
    if (r >= 0 && q->until)
        r = query_add(a, &path, "until", until);
    if (r >= 0 && q->after > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)q->after);
        r = query_add(a, &path, "after", num);
    }
    if (r >= 0 && q->newest_first)
        r = query_add(a, &path, "order", "desc");
    if (r >= 0 && q->limit) {
        snprintf(num, sizeof(num), "%u", q->limit);
        r = query_add(a, &path, "limit", num);
    }
    if (r < 0)
        return client_error(a, r, "out of memory");

    r = client_get_array(a, path.ptr, "auditLogs", &answer, &arr);
    if (r < 0)
        return r;
    r = wire_get_int(answer, "next", &next);
    if (r == -ENOENT)
        next = -1;
    else if (r < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed 'next'");

    struct arca_audit_record *v;
    size_t n;
    r = client_parse_items(a, arr, &rec_audit, (void **)&v, &n);
    if (r < 0)
        return r;
    if (next >= 0 && next <= q->after) {
        arca_audit_records_free(v, n);
        return client_error(a, -EPROTO, "the arca server sent a 'next' that does not advance");
    }
    *ret = v;
    *ret_n = n;
    if (ret_next)
        *ret_next = next;
    return 0;
}

void arca_audit_verify_free(struct arca_audit_verify *v)
{
    if (!v)
        return;
    free(v->head_hash);
    free(v->reason);
    free(v);
}

int arca_audit_logs_verify(struct arca *a, struct arca_audit_verify **ret)
{
    _cleanup_json_ json_t *answer = NULL;
    long long n = 0, seq = 0;
    bool ok;
    int r;

    r = client_require_login(a);
    if (r < 0)
        return r;
    r = transport_call(a, "GET", CLIENT_API "/audit-logs/verify", NULL, &answer, NULL);
    if (r < 0)
        return r;
    if (wire_get_bool(answer, "ok", &ok) < 0)
        return client_error(a, -EPROTO, "the arca server sent a missing or malformed 'ok'");
    (void)wire_get_int(answer, "records", &n);

    struct arca_audit_verify *v = calloc(1, sizeof(*v));
    if (!v)
        return client_error(a, -ENOMEM, "out of memory");
    v->ok = ok;
    v->records = n;
    if (wire_get_int(answer, "anchorSeq", &seq) == 0)
        v->anchor_seq = seq;
    if (ok) {
        if (wire_get_int(answer, "headSeq", &seq) == 0)
            v->head_seq = seq;
        r = dup_or_empty(answer, "headHash", &v->head_hash);
    } else {
        if (wire_get_int(answer, "firstBadSeq", &seq) == 0)
            v->first_bad_seq = seq;
        r = dup_or_empty(answer, "reason", &v->reason);
        const char *cause = json_string_value(json_object_get(answer, "cause"));
        v->wrong_key = cause && streq(cause, "wrong-key");
    }
    if (r < 0) {
        arca_audit_verify_free(v);
        return client_error(a, -ENOMEM, "out of memory");
    }
    *ret = v;
    return 0;
}
