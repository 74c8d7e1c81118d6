/* agent_proto.h - the protocol of `arca agent`'s Unix socket, which serves
 * `arca run` on the agent's host.
 *
 * One request a connection, both sides one line of JSON ending in '\n':
 *   request  {"environment": "prod", "path": "/", "projectId": "<id>"}
 *            (path defaults to "/", projectId to the agent's project; at most
 *            AGENT_PROTO_REQUEST_MAX bytes, sent within 2 s)
 *   answer   {"v": 1, "secrets": [{"key": "K", "value": "V"}, ...]}
 *   or       {"v": 1, "error": "why"}
 * then the agent closes the connection.  The agent answers only from what it
 * fetched (the folders of its config, as its identity may read them, imports
 * merged and references expanded), only to a peer of its own user
 * (SO_PEERCRED), on a socket of mode 0600. */
#pragma once

#include "arca.h"
#include "base/buf.h"

#define AGENT_PROTO_REQUEST_MAX 4096
#define AGENT_PROTO_ANSWER_MAX (64u * 1024 * 1024)

/* Appends the answer line for l to out (a secret buffer).  -ENOMEM, -E2BIG. */
int agent_proto_answer(struct buf *out, const struct arca_secret_list *l);

/* Asks the agent at socket_path for environment:path of project_id (NULL:
 * the agent's).  *ret OWNED (arca_secret_list_free): keys and values only.
 * Prints the error and returns an exit code on failure. */
int agent_proto_fetch(const char *socket_path, const char *project_id, const char *environment,
                      const char *path, struct arca_secret_list **ret);
