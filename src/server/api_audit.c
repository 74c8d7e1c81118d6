/* api_audit.c - reading and verifying the audit log.
 *
 * Reading the log is itself audited.  A project's records need audit-logs:read
 * in that project; the whole organization's need an organization admin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "base/util.h"
#include "base/wire.h"
#include "server.h"

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX 1000

static json_t *hex(const uint8_t *p, size_t n)
{
    char s[2 * 32 + 1];

    n = n < 32 ? n : 32;
    hex_encode(p, n, s);
    return json_stringn(s, 2 * n);
}

static json_t *audit_json(const struct store_audit *a)
{
    json_t *meta = NULL;

    if (!a->metadata || wire_parse(a->metadata, strlen(a->metadata), &meta, NULL) < 0)
        meta = json_object();
        /* the text fields as wire_text: a record stored before text from outside
         * was repaired on the way in must still be listed, not dropped */
#define S(x) wire_text((x) ? (x) : "")
    return json_pack("{s:I, s:o, s:{s:s, s:s, s:o}, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, "
                     "s:o, s:o, s:o}",
                     "seq", (json_int_t)a->seq, "time", json_time(a->time), "actor", "type",
                     a->actor_type, "id", a->actor_id, "name", S(a->actor_name), "event",
                     S(a->event), "organizationId", a->org_id, "projectId", a->project_id,
                     "environment", S(a->environment), "path", S(a->path), "key", S(a->key), "ip",
                     S(a->ip), "userAgent", S(a->user_agent), "outcome", S(a->outcome), "metadata",
                     meta, "hash", hex(a->hash, sizeof(a->hash)));
#undef S
}

static int time_param(struct req *r, const char *name, int64_t *ret)
{
    const char *v = req_query(r, name);

    *ret = 0;
    if (!v)
        return 0;
    if (time_parse_iso(v, ret) < 0) {
        http_fail(r, 400, "'%s' must be an ISO-8601 time such as 2026-11-29T10:00:00Z", name);
        return -EINVAL;
    }
    return 0;
}

void api_audit_list(struct req *r)
{
    struct store_audit_query q = {0};
    struct project_ctx ctx = {0};
    struct store_audit *v = NULL;
    size_t n = 0;
    char org[STORE_ID_LEN + 1];
    const char *project = req_query(r, "projectId");
    long long limit, after;
    bool opened = false;
    json_t *arr;
    int ret;

    q.event = req_query(r, "event");
    q.actor_id = req_query(r, "actor");
    if (req_query_int(r, "limit", 1, AUDIT_PAGE_MAX, AUDIT_PAGE_DEFAULT, &limit) < 0 ||
        req_query_int(r, "after", 0, INT64_MAX, 0, &after) < 0)
        return;
    q.limit = (size_t)limit;
    q.after_seq = after;
    const char *order = req_query(r, "order");
    if (order && !streq(order, "asc") && !streq(order, "desc")) {
        http_fail(r, 400, "'order' must be asc or desc");
        return;
    }
    q.newest_first = order && streq(order, "desc");
    if (time_param(r, "since", &q.since) < 0 || time_param(r, "until", &q.until) < 0)
        return;
    if (project) {
        if (project_open(r, project, &ctx) < 0)
            return;
        opened = true;
        if (project_allows(r, &ctx, AUTHZ_AUDIT_LOGS, AUTHZ_READ, NULL, NULL) < 0)
            goto out;
        q.project_id = ctx.p.id;
    } else {
        if (request_org_admin(r, NULL, org) < 0)
            return;
        q.org_id = org;
    }
    ret = r->srv->store->ops->audit_query(r->srv->store, &q, &v, &n);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure reading the audit log");
        goto out;
    }
    if (audit_or_fail(r, &(struct audit_event){.event = "audit.read",
                                               .org_id = opened ? ctx.p.org_id : org,
                                               .project_id = q.project_id}) < 0)
        goto out;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, audit_json(&v[i]));
    http_reply(r, 200,
               json_pack("{s:o, s:o}", "auditLogs", arr, "next",
                         n == q.limit ? json_integer(v[n - 1].seq) : json_null()));
out:
    store_audits_free(v, n);
    if (opened)
        project_release(&ctx);
}

void api_audit_verify(struct req *r)
{
    struct audit_report rep;
    char org[STORE_ID_LEN + 1];
    int ret;

    if (request_org_admin(r, NULL, org) < 0)
        return;
    ret = audit_verify(r->srv, &rep);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure reading the audit log");
        return;
    }
    if (rep.ok)
        http_reply(r, 200,
                   json_pack("{s:b, s:I, s:I, s:I, s:o, s:I}", "ok", 1, "records",
                             (json_int_t)rep.records, "legacyRecords", (json_int_t)rep.records_v1,
                             "headSeq", (json_int_t)rep.head_seq, "headHash",
                             hex(rep.head_hash, sizeof(rep.head_hash)), "anchorSeq",
                             (json_int_t)rep.anchor_seq));
    else
        http_reply(r, 200,
                   json_pack("{s:b, s:I, s:I, s:s, s:s, s:I}", "ok", 0, "records",
                             (json_int_t)rep.records, "firstBadSeq", (json_int_t)rep.first_bad_seq,
                             "reason", rep.reason, "cause",
                             rep.wrong_key ? "wrong-key" : "tampered", "anchorSeq",
                             (json_int_t)rep.anchor_seq));
}
