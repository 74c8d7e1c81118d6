/* server.h - the arca server: configuration, shared state, routes.
 *
 * One struct server lives for the whole process; request handlers reach it
 * through req->srv.  It owns the store and the root key.  The root key is held
 * in secure memory; it seals the project keys of projects with server access,
 * keys the audit hash chain (its audit key is derived from it) and the decoy
 * login salts, and the store keeps a check of it (rootkey.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/names.h"
#include "http.h"
#include "store/store.h"

#define SERVER_SESSION_TTL_S (7 * 24 * 3600)
#define SERVER_MAX_BODY_DEFAULT (2u * 1024 * 1024)
#define SERVER_VALUE_MAX (64u * 1024) /* plaintext bytes of one secret value */
#define SERVER_BATCH_MAX 1000
#define SERVER_THREADS_PER_CORE 8
#define SERVER_THREADS_MAX 256
/* Request log lines are buffered (log_buffer_start): written when this much
 * is waiting, and at least every second. */
#define SERVER_ACCESS_LOG_BUFFER (64u * 1024)
#define SERVER_DB_WAIT_DEFAULT 60 /* seconds: --db-wait */

/* A token bucket's setting: burst attempts at once, refilled at per_minute. */
struct server_rate {
    unsigned burst;      /* 0: the default */
    unsigned per_minute; /* 0: the default */
};

#define SERVER_RATE_MAX 1000000000u

#define SERVER_DENIED_BURST 300 /* audit_denied: records per address at once */
#define SERVER_DENIED_PER_MINUTE                                                                   \
    300 /* and refilled at */ /* either number of a server_rate, at most */

struct server_config {
    const char *listen;       /* "127.0.0.1:8200", "[::1]:8200" */
    const char *data_dir;     /* SQLite directory (and root.key) */
    const char *database_url; /* postgres://...: PostgreSQL instead of SQLite; NULL: SQLite */
    size_t max_body;          /* request body limit in bytes */
    unsigned threads;         /* request threads; 0: SERVER_THREADS_PER_CORE per core */
    bool audit_async;         /* answer before audit records are durable (measurements only) */
    const char *tls_cert;     /* PEM certificate (chain) file; NULL: plain HTTP */
    const char *tls_key;      /* PEM private key file; set exactly when tls_cert is */
    unsigned db_wait_s;       /* PostgreSQL unreachable at start: retry for this long */
    const char *metrics_addr; /* "127.0.0.1:9200": serve GET /metrics there; NULL: off */
    const char *site_url;     /* how users reach the server ("https://arca.example.com"), for
                                 the links it prints; NULL: unknown */

    /* Audit retention: keep this many days of records in the store, archive
     * older ones to audit_archive_dir (archive.h), when audit_retention. */
    bool audit_retention;
    int audit_retention_days;
    const char *audit_archive_dir;

    /* Login attempts per client address (default 20, 20 a minute) and per
     * account until one succeeds (default 10, 5 a minute). */
    struct server_rate login_ip, login_account;
};

#define SERVER_TLS_PEM_MAX (1u << 20) /* bytes of a certificate or key file */

struct server {
    struct server_config cfg;
    struct store *store;
    uint8_t *root_key;       /* SECRET, seal_malloc'd, SEAL_KEY_BYTES */
    void *daemon;            /* struct MHD_Daemon * */
    void *metrics_daemon;    /* struct MHD_Daemon * of --metrics-listen, NULL if off */
    struct buf tls_cert;     /* PEM certificate chain, empty without TLS */
    struct buf tls_key;      /* SECRET: PEM private key; libmicrohttpd borrows it until http_stop */
    char http_error[256];    /* libmicrohttpd's last message while starting, "" if none */
    uint8_t *audit_key;      /* SECRET: keys the audit hash chain (derived from root_key) */
    int64_t root_generation; /* of root_key in the store (rootkey.c) */
    struct audit_gen {
        int64_t first_seq; /* the first record it chains */
        uint8_t *key;      /* SECRET, seal_malloc'd */
    } * audit_gens;        /* every root key generation's audit key, oldest first */
    size_t n_audit_gens;
    struct audit *audit;
    struct ratelimit *rl_ip;      /* login attempts per client address */
    struct ratelimit *rl_account; /* login attempts per account */
    struct ratelimit *rl_token;   /* invalid tokens per client address */
    struct ratelimit *rl_denied;  /* audit records of refusals per client address */
    struct ratelimit *rl_share;   /* share link look-ups per client address */
    struct cache *cache;          /* principals and replies (cache.h) */
    struct retention *retention;  /* the audit retention thread (archive.h), NULL if off */
};

/* Opens the store cfg names (database_url, else data_dir), logging why not;
 * where gets "host:port/database" or the data directory, for logs.  A
 * PostgreSQL database that cannot be reached is tried again, with backoff (0.5
 * s doubling up to 5 s), for cfg->db_wait_s seconds, each attempt logged; a
 * SIGINT or SIGTERM meanwhile stops waiting (-EINTR). */
int server_store_open(const struct server_config *cfg, struct store **ret, struct buf *where);

/* Runs the server until SIGINT or SIGTERM.  Returns 0 on a clean stop. */
int server_run(const struct server_config *cfg);

/* The root key (rootkey.c).  root_key_load reads it into srv->root_key from
 * ARCA_ENCRYPTION_KEY, else <data-dir>/root.key, generated (mode 0600) on
 * first start with a warning, except on PostgreSQL: every server on the
 * database needs the same key.  ret_file (may be NULL): the key file's path
 * (OWNED) when the key came from it.  root_key_check compares it with the
 * store's check value (written first with this key if the store has none)
 * and loads srv->audit_gens; -EKEYREJECTED (logged) for another key.
 * server_rotate_root_key: `arca server rotate-root-key` (docs/deploy.md). */
int root_key_load(struct server *srv, char **ret_file);
int root_key_check(struct server *srv);
void audit_gens_free(struct server *srv);
int server_rotate_root_key(const struct server_config *cfg);
/* The label project keys are sealed under for server access. */
void project_server_key_label(const char *project_id, char *out, size_t size);

/* Routing: method + pattern with ":name" segments. */
enum route_flags {
    ROUTE_PUBLIC = 1 << 0, /* no authentication */
    /* A read whose 200 reply depends only on the caller and the URL, and
     * whose handler audits with exactly one audit_defer: the reply and its
     * audit event are kept in the cache (cache.h) and served from there while
     * the store's epoch says nothing changed. */
    ROUTE_CACHED = 1 << 1,
    /* Probes (liveness, readiness): asked every few seconds, logged at debug. */
    ROUTE_QUIET = 1 << 2,
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
/* The route table (its n_routes entries), for metrics. BORROWED, static. */
const struct route *router_table(size_t *ret_n);

/* Authenticates r from its Authorization header; on failure replies 401 and
 * returns a negative errno. */
int auth_request(struct req *r);

/* Handlers, one file per resource. */
void api_status(struct req *r);
void api_ready(struct req *r);
void api_bootstrap(struct req *r);
void api_auth_params(struct req *r);
void api_auth_login(struct req *r);
void api_auth_logout(struct req *r);
void api_auth_password(struct req *r);
void api_users_me(struct req *r);
void api_projects_create(struct req *r);
void api_projects_list(struct req *r);
void api_projects_get(struct req *r);
void api_projects_update(struct req *r);
void api_projects_delete(struct req *r);
void api_ua_login(struct req *r);
void api_raw_list(struct req *r);
void api_raw_get(struct req *r);
void api_raw_create(struct req *r);
void api_raw_update(struct req *r);
void api_raw_delete(struct req *r);
void api_batch_create(struct req *r);
void api_batch_update(struct req *r);
void api_batch_delete(struct req *r);
void api_secrets_list(struct req *r);
void api_secrets_get(struct req *r);
void api_secrets_versions(struct req *r);
void api_secrets_batch(struct req *r);
void api_secrets_delete(struct req *r);
void api_secrets_rollback_one(struct req *r);
void api_secrets_rollback_folder(struct req *r);
void api_invites_create(struct req *r);
void api_invites_list(struct req *r);
void api_users_list(struct req *r);
void api_invites_revoke(struct req *r);
void api_signup(struct req *r);
void api_users_lookup(struct req *r);
void api_members_list(struct req *r);
void api_members_add(struct req *r);
void api_members_update(struct req *r);
void api_members_remove(struct req *r);
void api_roles_list(struct req *r);
void api_roles_create(struct req *r);
void api_roles_update(struct req *r);
void api_users_remove(struct req *r);
void api_roles_delete(struct req *r);
void api_project_versions(struct req *r);
void api_project_rotate_key(struct req *r);
void api_identities_create(struct req *r);
void api_identities_list(struct req *r);
void api_identities_delete(struct req *r);
void api_client_secrets_create(struct req *r);
void api_client_secrets_list(struct req *r);
void api_client_secrets_revoke(struct req *r);
void api_identity_login(struct req *r);
void api_token_renew(struct req *r);
void api_token_revoke(struct req *r);
void api_service_tokens_create(struct req *r);
void api_service_tokens_list(struct req *r);
void api_service_tokens_revoke(struct req *r);
void api_service_token_self(struct req *r);
void api_audit_list(struct req *r);
void api_watch(struct req *r);
void api_folders_list(struct req *r);
void api_folders_create(struct req *r);
void api_folders_get(struct req *r);
void api_folders_rename(struct req *r);
void api_folders_delete(struct req *r);
void api_imports_list(struct req *r);
void api_imports_create(struct req *r);
void api_imports_update(struct req *r);
void api_imports_delete(struct req *r);
void api_audit_verify(struct req *r);
void api_workspace_create(struct req *r);
void api_workspace_list(struct req *r);
void api_workspace_get(struct req *r);
void api_workspace_members_add(struct req *r);
void api_workspace_members_list(struct req *r);
void api_environments_create(struct req *r);
void api_environments_get(struct req *r);
void api_environments_update(struct req *r);
void api_environments_delete(struct req *r);
void api_service_token_v2(struct req *r);
void api_shares_create(struct req *r);
void api_shares_list(struct req *r);
void api_shares_revoke(struct req *r);
void api_shares_get(struct req *r);
void api_shares_open(struct req *r);
void api_share_policy_get(struct req *r);
void api_share_policy_set(struct req *r);

/* Projects: a project opened for a request by project_open (authz.h,
 * authz_project.c), with the caller's membership and compiled role. */
struct project_ctx {
    struct store_project p;
    struct store_member m;
    struct authz_policy *policy; /* the member's compiled role */
    bool policy_borrowed;        /* a service token's policy, owned by the request */
};

/* The ID of the caller's project whose slug is slug (Infisical's workspaceSlug
 * and projectSlug) into ret: among the projects the caller is a member of (a
 * service token: its own).  Replies 404 for none (as project_open does), 400
 * when the slug is in several of the caller's organizations, 503. */
int project_id_of_slug(struct req *r, const char *slug, char ret[STORE_ID_LEN + 1]);
json_t *project_json(const struct store_project *p);
/* The project key from the project's server-access copy, into ret
 * (SEAL_KEY_BYTES, wiped by the caller with seal_wipe: a buffer of the
 * request's, as seal_malloc's mmap and guard pages would cost every core a
 * TLB shootdown per request).  Replies 400 for an end-to-end encrypted
 * project. */
int project_server_key(struct req *r, const struct project_ctx *ctx, uint8_t *ret);
/* Creates p (id, org_id, name, slug and optionally server_key set by the
 * caller) with the default environments and the caller as its admin holding
 * wrapped (the project key sealed to the caller), audits "project.create" and
 * replies {project: to_json(p)}; a duplicate slug is a dup_status. */
void project_create_reply(struct req *r, struct store_project *p, const struct buf *wrapped,
                          unsigned dup_status, json_t *(*to_json)(const struct store_project *));
/* Replies {field: [to_json(p) for each project the caller is a member of]}. */
void project_list_reply(struct req *r, const char *field,
                        json_t *(*to_json)(const struct store_project *));
/* The project's members as a JSON array of one(member, its public key) (NULL:
 * left out); ret OWNED.  Replies 503 and returns < 0 on failure. */
int members_json(struct req *r, const char *project_id,
                 json_t *(*one)(const struct store_member *m, const struct store_blob *pk),
                 json_t **ret);
/* Appends the server-access copy of key (SEAL_KEY_BYTES) for project_id,
 * sealed under the root key.  Replies 500 and returns < 0 on failure. */
int project_seal_server_key(struct req *r, const char *project_id, const uint8_t *key,
                            struct buf *out);
/* The public key of a principal ("user" or "identity"): ret OWNED; org_id (may
 * be NULL) receives an identity's organization.  -ENOENT. */
int principal_public_key(struct req *r, const char *type, const char *id, struct store_blob *ret,
                         char org_id[STORE_ID_LEN + 1]);
/* The row of the service token r authenticated with (r->who.kind must be
 * PRINCIPAL_SERVICE); ret OWNED.  Replies 503 and returns < 0 on failure. */
int service_token_self(struct req *r, struct store_service_token *ret);
/* The environment of p with that slug, or NULL.  BORROWED from p. */
const struct store_env *env_by_slug(const struct store_project *p, const char *slug);

/* What a folder imports (api_folders.c): one block per import whose source the
 * caller may read ("secrets read"), in position order; its secrets are the
 * source's own, then those of the source's imports (nested, last import first,
 * each folder once, unreadable ones left out), the first of each key kept. */
struct import_block {
    const struct store_env *env;      /* BORROWED from the project: the source */
    char path[NAME_PATH_MAX + 1];     /* the source's path */
    char folder_id[STORE_ID_LEN + 1]; /* "" if the source folder does not exist */
    struct store_secret *secrets;     /* OWNED; each secret's path is its own folder */
    const struct store_env **envs;    /* OWNED array: the environment of each secret */
    size_t n;
};
int imports_resolve(struct req *r, struct project_ctx *ctx, const struct store_env *env,
                    const char *path, struct import_block **ret, size_t *ret_n);
void import_blocks_free(struct import_block *b, size_t n);

/* Audit. */
struct audit_event {
    const char *event;   /* "secret.read" ... */
    const char *outcome; /* NULL: "success" */
    const char *org_id;  /* NULL: the principal's */
    const char *project_id;
    const char *environment;
    const char *path;
    const char *key;
    const char *actor_name;    /* NULL: the principal's */
    json_t *metadata;          /* BORROWED, may be NULL; never a value or token */
    const char *metadata_text; /* the same, serialised already (wins over metadata) */
};
int audit_start(struct server *srv);
void audit_stop(struct server *srv);
/* Records e for r and waits until it is durable.  On failure the caller must
 * fail the request (503) and serve nothing. */
int audit_log(struct req *r, const struct audit_event *e);
/* Records n events at once (one wait). */
int audit_log_n(struct req *r, const struct audit_event *e, size_t n);
/* audit_log, replying 503 on failure; returns < 0 then. */
int audit_or_fail(struct req *r, const struct audit_event *e);
/* For reads: queues e without waiting.  The reply the handler then gives is
 * held back (the connection suspended, its thread free for others) until the
 * record is durable, and replaced by a 503 if it cannot be made so: nothing
 * is served unaudited, and one commit covers every request in flight.  Replies
 * 503 itself and returns < 0 if the record cannot even be queued. */
int audit_defer(struct req *r, const struct audit_event *e);
/* The same for n events. */
int audit_defer_n(struct req *r, const struct audit_event *e, size_t n);
/* Writes with their audit records in the same store transaction
 * (store_audit_batch): the change and its records commit together or not at
 * all, and once it returns 0 they are durable (no wait on the queue).
 * audit_secrets_write is secrets_write with the n_e >= n records e: w[i]'s is
 * e[i], whose event, if NULL, says what the write did ("secret.delete",
 * "secret.create", "secret.update"); the others (reads of the values the
 * reply will show) follow them.  audit_identity_login is the store's
 * identity_login with the record e.  Both return the store's result
 * (-ENOMEM). */
int audit_secrets_write(struct req *r, const char *project_id, const char *env_id, const char *path,
                        struct store_write *w, size_t n, int64_t now, const struct audit_event *e,
                        size_t n_e);
int audit_identity_login(struct req *r, const char *client_secret_id, int64_t now,
                         const struct store_access_token *t, const struct audit_event *e);
/* http.c's side of audit_defer: after the handler, whether r waits for
 * records (then suspend(r) was called under the queue's lock and http_resume
 * will be); after the resume, the first failure or 0; at shutdown, waits until
 * no request is held, and from then on audit_hold waits in the thread.  When
 * r's thread serves no other connection (alone), it first waits in the thread
 * for up to AUDIT_WAIT_IN_THREAD_MS: a group commit is shorter than that, and
 * a suspension costs two epoll_ctl calls and a wake-up of the thread. */
#define AUDIT_WAIT_IN_THREAD_MS 10
bool audit_hold(struct req *r, void (*suspend)(struct req *r), bool alone);
/* ROUTE_CACHED: serves r from the cache if its reply is there (deferring its
 * audit record like the handler would); else, after the handler, keeps a 200
 * reply.  Both need r->epoch_ok. */
bool reply_from_cache(struct req *r);
void reply_to_cache(struct req *r);
/* Whether what was loaded at epoch at (store.h) is current for r (read at
 * r->epoch): nothing global changed since, nor project_id's secrets when it
 * depends on them (NULL: it depends on nothing of a project; "": on anything,
 * current only if nothing changed at all).  Reads project_id's stamp from the
 * store only when something changed since at. */
bool epoch_current(struct req *r, uint64_t at, const char *project_id);
int audit_held_result(struct req *r);
/* Whether the last group of records could not be written. */
bool audit_failing(struct server *srv);

/* The change feed (watch.c).  http.c's side: after the handler (and its audit
 * record), whether r waits for a change (then suspend(r) was called and
 * http_resume will be, and the reply is rewritten on the next call); at
 * shutdown, watch_drain answers every wait and stops the feed. */
bool watch_hold(struct req *r, void (*suspend)(struct req *r));
/* Frees r's wait, taking it out of the hub if it is there. */
void watch_release(struct req *r);
void watch_drain(void);
void audit_drain_held(struct server *srv);

/* Records a refused request (outcome "denied" unless e says otherwise); the
 * caller replies its 401, 403 or 404.  At most SERVER_DENIED_BURST records
 * per client address at once, refilled at SERVER_DENIED_PER_MINUTE: past
 * that, refusals are not recorded (they are refused all the same), so that
 * no address can flood the log. */
void audit_denied(struct req *r, const struct audit_event *e);

struct audit_report {
    bool ok;
    int64_t records;
    int64_t records_v1; /* of them, in chain format v1 (seq not covered: audit.c) */
    int64_t head_seq;
    uint8_t head_hash[32];
    int64_t anchor_seq; /* the log starts after this record (archived); 0: at the first */
    int64_t first_bad_seq;
    const char *reason; /* static */
    /* !ok: the records from first_bad_seq on are linked to each other but do
     * not verify with any key of this store: written by a server with another
     * root key, rather than changed after they were written. */
    bool wrong_key;
};
int audit_verify(struct server *srv, struct audit_report *ret);
/* The chain's state while records are checked in seq order (audit_verify, and
 * archive.c on an archive's records). */
struct audit_chain {
    uint8_t prev[32]; /* the hash the next record links to: zeros, or an anchor's */
    bool v2;          /* a record in chain format v2 was seen: no v1 after it */
    int64_t records, records_v1;
};
/* Checks that a follows st and verifies with its generation's key, and moves
 * st on to it; -EBADMSG with *ret_reason (static) if not. */
int audit_chain_next(struct server *srv, struct audit_chain *st, const struct store_audit *a,
                     const char **ret_reason);
/* Whether an "audit.archive" record after the anchor names it and verifies
 * (keyed, so that only a holder of the root key makes one): an anchor without
 * one is a removal nobody archived. */
int audit_anchor_confirmed(struct server *srv, const struct store_audit_archive *anchor, bool *ret);
/* The audit chain key of a root key; SEAL_KEY_BYTES each. */
void audit_key_derive(const uint8_t *root_key, uint8_t *ret);
/* The chain function audit_append is given (ctx: the server), for a record
 * appended outside the writer (the link record of a root key rotation). */
store_audit_chain_fn audit_chain_fn(void);
/* A server-level record (actor type "server": a command or a thread, not a
 * request), time now, outcome success, metadata TAKEN (JSON text; NULL is
 * -ENOMEM).  a is released with store_audit_release, also on failure. */
int audit_server_record(struct store_audit *a, const char *actor_name, const char *event,
                        char *metadata);

bool ip_allowed(const char *cidr_list, const char *addr);

/* The caller's organization (organizationId of body, else their first) where
 * they are an admin / any member; identities use their own.  Reply and return
 * < 0 on failure. */
int request_org_admin(struct req *r, const json_t *body, char org_id[STORE_ID_LEN + 1]);
int request_org_member(struct req *r, const json_t *body, char org_id[STORE_ID_LEN + 1]);

/* Rate limits of login routes: replies 429 with Retry-After and returns
 * -EAGAIN when the address or the account is over its limit. */
int login_rate_check(struct req *r, const char *account);
void login_rate_reset(struct req *r, const char *account);

/* Shared by the handlers. */
json_t *json_time(int64_t ms);
json_t *json_b64(const void *data, size_t len);
/* Decodes the base64 string field key of obj into out; replies 400 on failure
 * (missing, not base64, length outside [min, max]) and returns a negative errno. */
int req_b64_field(struct req *r, const json_t *obj, const char *key, size_t min, size_t max,
                  struct buf *out);
