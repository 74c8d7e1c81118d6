/* watch.c - for long-running clients: conditional GETs and the server's change
 * feed (GET /projects/<id>/watch, a long poll; server/watch.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "base/wire.h"
#include "client/client.h"
#include "client/transport.h"

void arca_conditional_enable(struct arca *a)
{
    transport_conditional(a, true);
}

void arca_conditional_stats(const struct arca *a, uint64_t *ret_fresh, uint64_t *ret_not_modified)
{
    transport_conditional_stats(a, ret_fresh, ret_not_modified);
}

int arca_watch(struct arca *a, const struct arca_scope *scope, char cursor[ARCA_CURSOR_MAX],
               unsigned timeout_s, int *ret_changed)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_json_ json_t *answer = NULL;
    struct client_scope s;
    const char *next;
    json_t *changed;
    int r;

    buf_init(&path, CLIENT_URL_MAX + 8192);
    r = client_scope_begin(a, scope, NULL, &s);
    if (r < 0)
        return r;
    if (timeout_s < 1 || timeout_s > 25)
        return client_error(a, -EINVAL, "the watch timeout must be 1 to 25 seconds");
    r = client_project_path(a, s.project_id, "/watch?environment=", &path);
    if (r >= 0)
        r = transport_escape(a, s.environment, &path);
    if (r >= 0)
        r = buf_adds(&path, "&secretPath=");
    if (r >= 0)
        r = transport_escape(a, s.path, &path);
    if (r >= 0)
        r = buf_printf(&path, "&timeout=%u", timeout_s);
    if (r >= 0 && cursor[0]) {
        r = buf_adds(&path, "&cursor=");
        if (r >= 0)
            r = transport_escape(a, cursor, &path);
    }
    if (r < 0)
        return client_error(a, r, "out of memory");
    transport_fresh(a);
    r = transport_call(a, "GET", path.ptr, NULL, &answer, NULL);
    if (r < 0)
        return r;
    r = client_answer_str(a, answer, "cursor", ARCA_CURSOR_MAX - 1, &next);
    if (r < 0)
        return r;
    changed = json_object_get(answer, "changed");
    if (!json_is_boolean(changed))
        return client_error(a, -EPROTO, "the arca server sent a missing or malformed 'changed'");
    snprintf(cursor, ARCA_CURSOR_MAX, "%s", next);
    if (ret_changed)
        *ret_changed = json_is_true(changed);
    return 0;
}
