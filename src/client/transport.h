/* transport.h - libarca's HTTP layer: one keep-alive connection per struct arca,
 * JSON in and out, and the mapping of network failures and the server's error
 * answers to negative errnos and arca_errmsg() messages.  The only user of
 * libcurl, so swapping the HTTP library touches transport.c alone. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

struct arca;
struct transport;

/* Creates the connection state (no connection is made yet).  -ENOMEM. */
int transport_new(struct transport **ret);
/* Closes the connection.  Accepts NULL. */
void transport_free(struct transport *t);

/* Sends method (GET, POST, PATCH, DELETE) to a's API URL + path_and_query (which starts
 * with "/api/" and whose query values were escaped with transport_escape), with
 * body (BORROWED, may be NULL) as JSON, and the Bearer token when a has one.
 *
 * On 200: 0, and *ret_body (optional; OWNED, json_decref) is the answer, always
 * a JSON object.  Otherwise a negative errno with arca_errmsg() set: the
 * server's error mapped as 400 -EINVAL, 401/403 -EACCES, 404 -ENOENT,
 * 409 -EEXIST, 413 -E2BIG, 429 -EAGAIN (with a->retry_after from Retry-After),
 * 5xx -EIO, anything else -EPROTO (with the server's message); -ECONNREFUSED, -EHOSTUNREACH,
 * -ETIMEDOUT when the server cannot be reached; -ECONNABORTED when TLS fails (an untrusted
 * certificate, a failed handshake); -E2BIG for an answer over 64 MiB; -EPROTO for an
 * answer that is not a JSON object.
 *
 * *ret_status (optional) is the HTTP status whenever the server answered, even
 * on failure, so that callers can tell the server's refusals apart. */
int transport_call(struct arca *a, const char *method, const char *path_and_query, json_t *body,
                   json_t **ret_body, long *ret_status);

/* Conditional GETs on or off (arca_conditional_enable): GET answers kept by
 * path with their ETag, asked again with If-None-Match, a 304 answered with a
 * copy of the kept answer. */
void transport_conditional(struct arca *a, bool on);
/* The next call neither sends If-None-Match nor keeps its answer (a long poll). */
void transport_fresh(struct arca *a);
/* Conditional GETs answered 200 and 304 so far.  Either pointer may be NULL. */
void transport_conditional_stats(const struct arca *a, uint64_t *ret_fresh,
                                 uint64_t *ret_not_modified);

/* Verifies https servers against the CA certificates in the PEM file ca_file
 * instead of the system's store.  -ENOENT (unreadable), -ENOMEM. */
int transport_set_ca(struct arca *a, const char *ca_file);
/* Whether url is http:// to a host other than a loopback address. */
bool transport_cleartext_remote(const char *url);

/* Appends s URL-escaped (for a query value or a path segment) to out.  -ENOMEM, -E2BIG. */
int transport_escape(struct arca *a, const char *s, struct buf *out);
