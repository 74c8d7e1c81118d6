/* server.h - the arca server: configuration, shared state, routes.
 *
 * One struct server lives for the whole process; request handlers reach it
 * through req->srv.  It owns the store and the root key.  The root key is held
 * in secure memory and used only for keyed hashes now (decoy login salts); it
 * will wrap project keys for projects with server access. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "store/store.h"

#define SERVER_SESSION_TTL_S (7 * 24 * 3600)
#define SERVER_MAX_BODY_DEFAULT (2u * 1024 * 1024)
#define SERVER_VALUE_MAX (64u * 1024) /* plaintext bytes of one secret value */
#define SERVER_BATCH_MAX 1000

struct server_config {
    const char *listen;   /* "127.0.0.1:8200", "[::1]:8200" */
    const char *data_dir; /* SQLite directory */
    size_t max_body;      /* request body limit in bytes */
    unsigned threads;     /* 0: one per core */
};

struct server {
    struct server_config cfg;
    struct store *store;
    uint8_t *root_key; /* SECRET, seal_malloc'd, SEAL_KEY_BYTES */
    void *daemon;      /* struct MHD_Daemon * */
};

/* Runs the server until SIGINT or SIGTERM.  Returns 0 on a clean stop. */
int server_run(const struct server_config *cfg);

/* Routing: method + pattern with ":name" segments. */
enum route_flags {
    ROUTE_PUBLIC = 1 << 0, /* no authentication */
};

struct route {
    const char *method;
    const char *pattern;
    void (*handler)(struct req *r);
    unsigned flags;
};

/* Finds the route for r->method and r->path, filling r's path parameters.
 * Returns the route, or NULL with *ret_status 404 or 405. */
const struct route *router_match(struct req *r, unsigned *ret_status);

/* Authenticates r from its Authorization header; on failure replies 401 and
 * returns a negative errno. */
int auth_request(struct req *r);

/* Handlers, one file per resource. */
void api_status(struct req *r);
void api_bootstrap(struct req *r);
void api_auth_params(struct req *r);
void api_auth_login(struct req *r);
void api_auth_logout(struct req *r);
void api_users_me(struct req *r);
void api_projects_create(struct req *r);
void api_projects_list(struct req *r);
void api_projects_get(struct req *r);
void api_secrets_list(struct req *r);
void api_secrets_get(struct req *r);
void api_secrets_versions(struct req *r);
void api_secrets_batch(struct req *r);
void api_secrets_delete(struct req *r);

/* Projects: what a request wants to do, and the membership check every
 * project route goes through.  project_open replies (404 for a project that
 * does not exist or the caller is not a member of, 403 when the role does not
 * allow the action) and returns a negative errno on failure; on success ret_p
 * and ret_m are OWNED (store_project_release, store_member_release). */
enum project_action {
    PROJECT_READ,
    PROJECT_WRITE,
};
bool role_allows(const char *role, enum project_action action);
int project_open(struct req *r, const char *project_id, enum project_action action,
                 struct store_project *ret_p, struct store_member *ret_m);
json_t *project_json(const struct store_project *p);

/* Shared by the handlers. */
json_t *json_time(int64_t ms);
json_t *json_b64(const void *data, size_t len);
/* Decodes the base64 string field key of obj into out; replies 400 on failure
 * (missing, not base64, length outside [min, max]) and returns a negative errno. */
int req_b64_field(struct req *r, const json_t *obj, const char *key, size_t min, size_t max,
                  struct buf *out);
