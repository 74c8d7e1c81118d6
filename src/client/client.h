/* client.h - libarca's internal state: the definition of struct arca and the
 * helpers shared by client.c (handles, accounts, projects, secrets), access.c
 * (invites, members, roles, key rotation), machine.c (identities, service
 * tokens), history.c (versions, rollback, audit log), session.c (credentials on
 * disk) and transport.c (HTTP).  Nothing here is installed; applications see
 * only include/arca.h. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arca.h"
#include "base/buf.h"
#include "base/names.h"
#include "crypto/seal.h"

#define CLIENT_URL_MAX 2048                   /* length of an API URL */
#define CLIENT_ERRMSG_MAX 4096                /* length of arca_errmsg() */
#define CLIENT_KEY_CACHE 16                   /* opened project keys kept per handle */
#define CLIENT_VALUE_MAX (64u * 1024)         /* plaintext of a value or comment */
#define CLIENT_BATCH_MAX 1000                 /* secrets per batch request */
#define CLIENT_TOKEN_MAX 4096                 /* length of a session token */
#define CLIENT_ID_MAX 128                     /* ids the server hands out (UUIDs) */
#define CLIENT_STRING_MAX 1024                /* other strings in answers (names, dates) */
#define CLIENT_B64_MAX (1u << 20)             /* base64 of keys and records */
#define CLIENT_LIST_MAX 100000                /* items in one answer */
#define CLIENT_SECRET_HEX 64                  /* a client secret: 32 random bytes as hex */
#define CLIENT_RENEW_BEFORE_MS (300 * 1000LL) /* renew an identity token this near expiry */

#define CLIENT_API "/api/arca/v1"

struct transport;
struct client_cache;

struct client_project_key {
    char *project_id; /* OWNED */
    uint8_t *key;     /* SECRET: seal_malloc'd, SEAL_KEY_BYTES */
};

struct arca {
    char *api_url;               /* OWNED: normalised, no trailing "/" or "/api" */
    bool url_defaulted;          /* no URL was given: a saved session's URL is adopted */
    char err[CLIENT_ERRMSG_MAX]; /* message of the last failure, "" before any */
    struct transport *transport; /* OWNED: the HTTP connection (transport.c) */
    enum arca_session_kind kind; /* who is logged in; ARCA_SESSION_NONE when logged out */
    char *token;                 /* OWNED, wiped on free: the Bearer token; NULL when logged out */
    char *email;                 /* OWNED; users only, else NULL */
    char *user_id;               /* OWNED: the principal's id (user, identity, service token) */
    char *name;                  /* OWNED: identity or service-token name; NULL for users */
    char *client_id;             /* OWNED: an identity's client ID; NULL otherwise */
    char *project_id;            /* OWNED: a service token's project; NULL otherwise */
    char token_env[65];          /* a service token's only environment, "" if several */
    int64_t expires_at;          /* ms: an identity token's expiry, 0 if unknown */
    int64_t max_expires_at;      /* ms: past it the identity token cannot be renewed, 0 unknown */
    bool has_keypair;            /* pk and sk are set (users and identities) */
    unsigned retry_after;        /* seconds of the last 429's Retry-After, 0 if none */
    uint8_t pk[SEAL_PK_BYTES];   /* the user's X25519 public key */
    uint8_t *sk;                 /* SECRET: seal_malloc'd, SEAL_SK_BYTES */
    struct client_project_key keys[CLIENT_KEY_CACHE]; /* opened project keys */
    size_t n_keys;                                    /* entries used in keys */
    struct client_cache *cache; /* OWNED: arca_cache_enable's local copy, NULL when off */
};

/* Sets arca_errmsg() and returns r (a negative errno), so that failures read
 * `return client_error(a, -EINVAL, "...", ...);`. */
int client_error(struct arca *a, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The canonical form of an API URL: scheme http or https, a host, no trailing
 * "/" and no trailing "/api", no spaces or control characters.  *ret OWNED
 * (free).  -EINVAL, -ENOMEM. */
int client_url_normalize(const char *in, char **ret);

/* Forgets the logged-in principal: token, identity, key pair and opened project keys. */
void client_session_clear(struct arca *a);

/* Installs a user session (the strings are copied; sk is copied into secure
 * memory).  -ENOMEM. */
int client_session_set(struct arca *a, const char *token, const char *email, const char *user_id,
                       const uint8_t pk[SEAL_PK_BYTES], const uint8_t sk[SEAL_SK_BYTES]);
/* Installs a machine-identity session: as client_session_set, plus the
 * identity's name, client ID (may be NULL) and token expiries (ms, 0 unknown). */
int client_session_set_identity(struct arca *a, const char *token, const char *identity_id,
                                const char *name, const char *client_id,
                                const uint8_t pk[SEAL_PK_BYTES], const uint8_t sk[SEAL_SK_BYTES],
                                int64_t expires_at, int64_t max_expires_at);
/* Installs a service-token session: the Bearer part of the token, the token's
 * id, name and project, and the opened project key (copied; the only key the
 * session holds).  -ENOMEM. */
int client_session_set_service(struct arca *a, const char *bearer, const char *token_id,
                               const char *name, const char *project_id,
                               const uint8_t key[SEAL_KEY_BYTES]);

/* Frees a string that held a secret, wiping it.  Accepts NULL. */
void client_string_free(char *s);
/* Frees what a secret holds (wiping value and comment) and zeroes it. */
void client_secret_free_fields(struct arca_secret *s);

static inline void client_seal_freep(uint8_t **p)
{
    seal_free(*p);
}
#define _cleanup_seal_ __attribute__((cleanup(client_seal_freep)))

/* -EACCES "not logged in" without a token; client_require_keys also needs a key
 * pair (a user or an identity, not a service token). */
int client_require_login(struct arca *a);
int client_require_keys(struct arca *a);
/* client_require_login, then client_check_project_id. */
int client_require_project(struct arca *a, const char *project_id);

/* GETs path and finds the array answer[key].  *ret_answer OWNED (json_decref),
 * *ret_arr BORROWED from it; neither is written on failure. */
int client_get_array(struct arca *a, const char *path, const char *key, json_t **ret_answer,
                     json_t **ret_arr);

/* Records of the server's answers (struct arca_identity, ...), read from a
 * JSON object through one field table each, as the store reads rows
 * (store_sql.c's struct sql_record): field i reads obj[key] into the member at
 * off, in the table's order (the first failure is the one reported), and the
 * record's release frees what the table says it owns. */
enum client_field_kind {
    CF_STR,          /* char * OWNED: a string of at most max bytes, required */
    CF_STR_OR_EMPTY, /* the same; absent or null reads as "" */
    CF_STR_OR_NULL,  /* the same; absent or null reads as NULL */
    CF_STR_LENIENT,  /* the same; anything but such a string reads as "" */
    CF_INT,          /* int64_t, required */
    CF_INT_OPT,      /* int64_t, left 0 unless an integer */
    CF_BOOL_OPT,     /* int, left 0 unless a boolean */
    CF_TRUE,         /* int: 1 if true, else 0 */
    CF_OBJ,          /* nothing read: obj[key] must be an object ("malformed <what>") */
    CF_OWNED,        /* char * OWNED, filled by the record's finish: only freed */
};

struct client_field {
    const char *key;
    const char *in; /* NULL, or the key of the object that holds key (absent: an empty one) */
    enum client_field_kind kind;
    size_t off;
    size_t max; /* strings */
};
#define CLIENT_FIELD(type, field, kind_, key_, max_)                                               \
    {                                                                                              \
        .key = key_, .kind = kind_, .off = offsetof(type, field), .max = max_                      \
    }

struct client_record {
    const char *what; /* a non-object is "the arca server sent a malformed <what>"; NULL:
                       * not checked (the fields fail) */
    const struct client_field *fields;
    size_t n_fields;
    size_t size;                                               /* of the record */
    int (*first)(struct arca *a, const json_t *o, void *rec);  /* NULL, or before the fields */
    int (*finish)(struct arca *a, const json_t *o, void *rec); /* NULL, or after them */
    void (*release)(void *rec); /* NULL, or frees what the fields do not say */
};
#define CLIENT_RECORD(type, what_, fields_, ...)                                                   \
    {                                                                                              \
        .what = what_, .fields = fields_, .n_fields = sizeof(fields_) / sizeof(*(fields_)),        \
        .size = sizeof(type), __VA_ARGS__                                                          \
    }

/* Fills ret (rec->size zeroed bytes) from o; on failure ret holds what was
 * filled (client_record_release it). */
int client_record_parse(struct arca *a, const struct client_record *rec, const json_t *o,
                        void *ret);
/* Frees what the record holds and zeroes it; NULL is fine. */
void client_record_release(const struct client_record *rec, void *item);
/* A new record parsed from o: *ret OWNED (client_record_free), written only
 * on success. */
int client_record_new(struct arca *a, const struct client_record *rec, const json_t *o, void **ret);
void client_record_free(const struct client_record *rec, void *item);
/* Parses every element of arr into a new array of records: *ret OWNED
 * (client_items_free); nothing is returned on failure. */
int client_parse_items(struct arca *a, const json_t *arr, const struct client_record *rec,
                       void **ret, size_t *ret_n);
/* client_get_array, then client_parse_items of answer[key]. */
int client_get_items(struct arca *a, const char *path, const char *key,
                     const struct client_record *rec, void **ret, size_t *ret_n);
/* A list route: client_require_login and GET CLIENT_API route (project_id
 * NULL), or client_require_project and GET the project's route; then
 * client_parse_items of answer[key]. */
int client_list_items(struct arca *a, const char *project_id, const char *route, const char *key,
                      const struct client_record *rec, void **ret, size_t *ret_n);
/* Releases n records of v, then v (NULL is fine). */
void client_items_free(const struct client_record *rec, void *v, size_t n);
/* Define a record type's public destructors (arca.h): of one record
 * (client_record_free) and of an array of n (client_items_free). */
#define CLIENT_FREE_ONE(fn, type, rec)                                                             \
    void fn(type *x)                                                                               \
    {                                                                                              \
        client_record_free(&(rec), x);                                                             \
    }
#define CLIENT_FREE_ARRAY(fn, type, rec)                                                           \
    void fn(type *v, size_t n)                                                                     \
    {                                                                                              \
        client_items_free(&(rec), v, n);                                                           \
    }

/* Building requests: obj[key] = base64 of <data, len> (a secret buffer when
 * secret) or the string s.  -ENOMEM. */
int client_set_b64(json_t *obj, const char *key, const void *data, size_t len, bool secret);
int client_set_str(json_t *obj, const char *key, const char *s);
/* obj.kdf = {salt, opslimit, memlimit}.  -ENOMEM. */
int client_kdf_to_json(json_t *obj, const uint8_t salt[SEAL_SALT_BYTES],
                       const struct seal_kdf_params *p);

/* Reading answers: each fails with -EPROTO "the arca server sent a missing or
 * malformed '<key>'".  Returned values are BORROWED from obj. */
int client_get_b64(struct arca *a, const json_t *obj, const char *key, struct buf *out);
int client_answer_str(struct arca *a, const json_t *obj, const char *key, size_t max,
                      const char **ret);
int client_answer_obj(struct arca *a, const json_t *obj, const char *key, json_t **ret);
int client_answer_arr(struct arca *a, const json_t *obj, const char *key, json_t **ret);
int client_answer_int(struct arca *a, const json_t *obj, const char *key, long long *ret);
/* strdup of obj[key].  OWNED (free). */
int client_dup_field(struct arca *a, const json_t *o, const char *key, size_t max, char **ret);
/* Like client_dup_field, but an absent or null key gives NULL. */
int client_dup_optional(struct arca *a, const json_t *o, const char *key, size_t max, char **ret);

/* Input checks, with the message the user sees.  -EINVAL (or -ENOENT for a
 * project id that cannot exist). */
int client_check_email(struct arca *a, const char *email);
int client_check_password(struct arca *a, const char *password, size_t len);
int client_check_project_id(struct arca *a, const char *project_id);
int client_check_key(struct arca *a, const char *key);

/* Checks that pk belongs to sk.  -EBADMSG when it does not. */
int client_keypair_check(const uint8_t pk[SEAL_PK_BYTES], const uint8_t *sk);

/* Appends CLIENT_API "/projects/<id>" and suffix (may be NULL) to out. */
int client_project_path(struct arca *a, const char *project_id, const char *suffix,
                        struct buf *out);
/* GET /projects/<id>: {project, membership}.  *ret OWNED (json_decref). */
int client_project_fetch(struct arca *a, const char *project_id, json_t **ret);
/* The opened key of a project: from the cache, else fetched and opened with the
 * session's private key.  BORROWED until the handle logs out, is freed, or the
 * key is replaced. */
int client_project_key(struct arca *a, const char *project_id, const uint8_t **ret);
/* Keeps an opened project key, replacing one of the same project (TAKES key,
 * even on failure). */
void client_key_cache_put(struct arca *a, const char *project_id, uint8_t *key);
const uint8_t *client_key_cache_get(struct arca *a, const char *project_id);
/* Forgets every cached key (wiped), or project_id's. */
void client_key_cache_clear(struct arca *a);
void client_key_cache_drop(struct arca *a, const char *project_id);

/* A checked arca_scope, with the folder path in canonical form. */
struct client_scope {
    const char *project_id;       /* BORROWED */
    const char *environment;      /* BORROWED */
    char path[NAME_PATH_MAX + 1]; /* canonical */
    const char *owner;            /* BORROWED: "" shared; else the user whose personal
                                   * override the records are (their AD field) */
    unsigned flags;               /* enum arca_scope_flags */
    bool project_key;             /* seal the caller's overrides under the project key too
                                   * (a rotation keeps each record's kind) */
};
int client_scope_check(struct arca *a, const struct arca_scope *in, struct client_scope *out);
/* The start of a call on secrets: client_require_login, client_scope_check and,
 * unless key is NULL, client_check_key. */
int client_scope_begin(struct arca *a, const struct arca_scope *scope, const char *key,
                       struct client_scope *out);
/* A new request body {environment, secretPath} of s.  OWNED; NULL when out of memory. */
json_t *client_scope_body(const struct client_scope *s);
/* Appends /projects/<id>/secrets[/<key>[<suffix>]]?environment=<env>&secretPath=<path>
 * (suffix e.g. "/versions", or NULL). */
int client_secrets_path(struct arca *a, const struct client_scope *s, const char *key,
                        const char *suffix, struct buf *out);
/* The start of a call on one secret: client_scope_begin, the project key
 * (*ret_pkey BORROWED from the key cache) and client_secrets_path. */
int client_secret_begin(struct arca *a, const struct arca_scope *scope, const char *key,
                        const char *suffix, struct client_scope *s, const uint8_t **ret_pkey,
                        struct buf *path);
/* The kind of the base64 record b64 (seal_record_kind): SEAL_RECORD_VERSION
 * under the project key, SEAL_RECORD_OWNER sealed to its owner; < 0 malformed. */
int client_record_kind(const char *b64);
/* Opens the base64 record b64 of field ("value" or "comment") of secret key.
 * *ret OWNED, SECRET (client_string_free). */
int client_record_open(struct arca *a, const struct client_scope *s, const uint8_t *pkey,
                       const char *key, const char *field, const char *b64, char **ret);
/* obj[field] = the sealed record of plain. */
int client_record_to_json(struct arca *a, json_t *obj, const struct client_scope *s,
                          const uint8_t *pkey, const char *key, const char *field,
                          const char *plain);

/* Seals the project key to pk and POSTs the membership of principal_id.
 * (access.c) */
int client_member_post(struct arca *a, const char *project_id, enum arca_principal_type type,
                       const char *principal_id, const uint8_t pk[SEAL_PK_BYTES], const char *role);

/* Finds a machine identity by id or name in GET /identities.  *ret BORROWED
 * from *ret_answer (OWNED, json_decref).  -ENOENT; -EINVAL for an ambiguous
 * name.  (machine.c) */
int client_identity_find(struct arca *a, const char *who, json_t **ret_answer, const json_t **ret);

/* --- machine.c: the pure parts, exposed for the unit tests --- */

/* Makes a client secret: 32 random bytes as 64 lowercase hex characters. */
void client_secret_new(char out[CLIENT_SECRET_HEX + 1]);
/* Derives the auth key and KEK of a client secret (64 hex characters, either
 * case; derived over the lowercase text).  -EINVAL for anything else. */
int client_secret_derive(const char *secret, uint8_t auth_key[SEAL_KEY_BYTES],
                         uint8_t kek[SEAL_KEY_BYTES]);

/* A service token "st.<id>.<secret>.<key>" taken apart. */
struct client_service_token {
    char *bearer; /* OWNED, SECRET: "st.<id>.<secret>", the part sent to the server */
    char *id;     /* OWNED: <id> */
    uint8_t *key; /* SECRET: seal_malloc'd, SEAL_KEY_BYTES: <key> decoded from hex */
};
/* Splits token.  -EINVAL when it is not of that form (4 non-empty parts, <key>
 * 64 hex characters); -ENOMEM.  out is filled only on success. */
int client_service_token_split(const char *token, struct client_service_token *out);
void client_service_token_release(struct client_service_token *t);

/* Overwrites the characters of the JSON string obj[key], if there is one, before
 * the object is released: for tokens and keys that jansson holds in ordinary memory. */
void client_json_wipe(json_t *obj, const char *key);

/* --- session.c: private files ------------------------------------------- */

/* Appends $HOME/sub (else the passwd entry's home) to out.  -ENOENT, -E2BIG. */
int client_home_path(const char *sub, struct buf *out);
/* mkdir -p with mode for the directories it creates.  -ENOTDIR, -errno. */
int client_mkdir_p(const char *path, mode_t mode);
/* Writes <data, len> to file (in dir) through a temporary file in dir: mode
 * 0600, fsync, rename, fsync of dir.  -errno. */
int client_write_atomic(const char *dir, const char *file, const void *data, size_t len);
/* Reads file into out (a secret buffer of at most max bytes), refusing a
 * symbolic link, anything but a regular file, another user's file and a file
 * others could read, each with its message.  -ENOENT when there is none. */
int client_read_private(struct arca *a, const char *file, size_t max, struct buf *out);

/* --- cache.c: the offline copy (arca_cache_enable) ---------------------- */

void client_cache_free(struct client_cache *c);
/* Derives the cache's key from secret, a key the server never sees (the
 * session's private key, a service token's key part).  No-op with the cache off. */
void client_cache_set_key(struct arca *a, const uint8_t secret[SEAL_KEY_BYTES]);
/* True once the server was found down and the entry loaded: every call is
 * answered by client_cache_answer. */
bool client_cache_offline(const struct arca *a);
/* The loaded entry's answer to method path (a copy, OWNED), or the failure
 * that started the replay. */
int client_cache_answer(struct arca *a, const char *method, const char *path, json_t **ret_body);
/* After a failed call (r, and the HTTP status or 0 when none came): when the
 * server cannot be reached and an entry exists, loads it and answers from it;
 * else r.  -EBADMSG when the entry fails authentication. */
int client_cache_fallback(struct arca *a, int r, long status, const char *method, const char *path,
                          json_t **ret_body);
/* Keeps a copy of a 200 answer to a GET for arca_cache_commit. */
void client_cache_keep(struct arca *a, const char *method, const char *path, const json_t *answer);
/* Online, the answer to GET path from the entry on disk (a copy, OWNED; kept
 * as if the server had sent it), to spare a round trip: only for an answer a
 * later check proves (the project's membership: its key must open the
 * records).  False when there is none. */
bool client_cache_recall(struct arca *a, const char *path, json_t **ret);
/* True once if an answer was recalled: the caller found it wrong (a rotated
 * project key) and asks the server again; nothing is recalled after that. */
bool client_cache_recalled(struct arca *a);
/* A 401, 403 or 404: deletes the entry; nothing is written this time. */
void client_cache_refuse(struct arca *a);
