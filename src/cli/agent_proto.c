/* agent_proto.c - both sides of the agent's socket protocol (agent_proto.h). */
#include "agent_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/util.h"
#include "base/wire.h"
#include "cli.h"

int agent_proto_answer(struct buf *out, const struct arca_secret_list *l)
{
    json_t *arr = json_array(), *o;
    int r = arr ? 0 : -ENOMEM;

    for (size_t i = 0; i < l->n && r == 0; i++) {
        json_t *item = json_pack("{s:s, s:s}", "key", l->v[i].key, "value", l->v[i].value);
        r = item ? json_array_append_new(arr, item) : -ENOMEM;
    }
    o = r == 0 ? json_pack("{s:i, s:O}", "v", 1, "secrets", arr) : NULL;
    json_decref(arr);
    if (!o)
        return -ENOMEM;
    r = wire_dump(out, o);
    json_decref(o);
    return r < 0 ? r : buf_addch(out, '\n');
}

int agent_proto_fetch(const char *socket_path, const char *project_id, const char *environment,
                      const char *path, struct arca_secret_list **ret)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_buf_ struct buf req = BUF_INIT, ans = BUF_INIT;
    _cleanup_json_ json_t *q = NULL, *a = NULL;
    struct arca_secret_list *l;
    const char *err;
    json_t *arr, *item;
    char chunk[16384];
    size_t i;
    ssize_t n;
    int fd;

    if (strlen(socket_path) >= sizeof(sa.sun_path)) {
        cli_error(NULL, "the agent socket path '%s' is too long", socket_path);
        return EXIT_USAGE;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
    q = json_pack("{s:s, s:s}", "environment", environment, "path", path ? path : "/");
    if (!q || (project_id && json_object_set_new(q, "projectId", json_string(project_id)) < 0) ||
        wire_dump(&req, q) < 0 || buf_addch(&req, '\n') < 0) {
        cli_error(NULL, "out of memory");
        return EXIT_FAIL;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        cli_error("is 'arca agent' running with this 'socket'? (unset ARCA_AGENT_SOCKET to ask "
                  "the server)",
                  "cannot reach the arca agent at '%s': %s", socket_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return EXIT_UNREACHABLE;
    }
    if (write(fd, req.ptr, req.len) != (ssize_t)req.len) {
        cli_error(NULL, "cannot talk to the arca agent at '%s': %s", socket_path, strerror(errno));
        close(fd);
        return EXIT_UNREACHABLE;
    }
    buf_init_secret(&ans, AGENT_PROTO_ANSWER_MAX);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if (buf_add(&ans, chunk, (size_t)n) < 0)
            break;
    explicit_bzero(chunk, sizeof(chunk));
    close(fd);
    if (n != 0 || wire_parse(ans.ptr ? ans.ptr : "", ans.len, &a, NULL) < 0 || !json_is_object(a)) {
        cli_error(NULL, "the arca agent at '%s' answered something unexpected", socket_path);
        return EXIT_FAIL;
    }
    if (wire_get_str(a, "error", 512, &err) == 0) {
        cli_error(NULL, "the arca agent at '%s' refused: %s", socket_path, err);
        return EXIT_NOTFOUND;
    }
    arr = json_object_get(a, "secrets");
    l = calloc(1, sizeof(*l));
    if (!l || !json_is_array(arr) || !(l->v = calloc(json_array_size(arr) + 1, sizeof(*l->v)))) {
        free(l);
        cli_error(NULL, "the arca agent at '%s' answered something unexpected", socket_path);
        return EXIT_FAIL;
    }
    json_array_foreach(arr, i, item)
    {
        const char *k, *v;
        if (wire_get_str(item, "key", 1024, &k) < 0 ||
            wire_get_str(item, "value", AGENT_PROTO_ANSWER_MAX, &v) < 0 ||
            !(l->v[l->n].key = strdup(k)) || !(l->v[l->n].value = strdup(v))) {
            l->n += l->v[l->n].key != NULL;
            arca_secret_list_free(l);
            cli_error(NULL, "the arca agent at '%s' answered something unexpected", socket_path);
            return EXIT_FAIL;
        }
        l->n++;
    }
    *ret = l;
    return EXIT_OK;
}
