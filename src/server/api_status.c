/* api_status.c - GET /api/status: liveness, no authentication. */
#include "arca.h"
#include "base/util.h"
#include "server.h"

void api_status(struct req *r)
{
    http_reply(r, 200,
               json_pack("{s:o, s:s, s:s}", "date", json_time(now_ms()), "message", "Ok", "version",
                         ARCA_VERSION));
}
