/* api_status.c - the probes, no authentication.
 *
 * GET /api/status: liveness.  200 while the process serves HTTP, whatever the
 * store does (restarting the server would not bring the database back).
 *
 * GET /api/ready: readiness, for load balancers and Kubernetes.  503 while
 * the store cannot be reached (PostgreSQL: the epoch read is a round trip) or
 * the audit log cannot be written: every request would fail closed then.
 * The audit writer knows whether its last group of records failed; after a
 * failure, each probe writes one "server.ready" record to find out whether it
 * works again, so that nothing is written while all is well. */
#include "arca.h"
#include "base/util.h"
#include "server.h"

void api_status(struct req *r)
{
    http_reply(r, 200,
               json_pack("{s:o, s:s, s:s}", "date", json_time(now_ms()), "message", "Ok", "version",
                         ARCA_VERSION));
}

void api_ready(struct req *r)
{
    struct store_epoch epoch;
    bool store = r->srv->store->ops->epoch(r->srv->store, &epoch) == 0;
    bool audit = store && (!audit_failing(r->srv) ||
                           audit_log(r, &(struct audit_event){.event = "server.ready"}) == 0);

    http_reply(r, store && audit ? 200 : 503,
               json_pack("{s:i, s:s, s:s, s:s, s:s}", "statusCode", store && audit ? 200 : 503,
                         "message",
                         store && audit ? "Ready"
                         : store        ? "not ready: the audit log cannot be written"
                                        : "not ready: " HTTP_STORE_DOWN,
                         "store", store ? "ok" : "unavailable", "auditLog",
                         !store  ? "unknown"
                         : audit ? "ok"
                                 : "failing",
                         "reqId", r->req_id));
}
