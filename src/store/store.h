/* store.h - the persistence interface: one vtable (struct store_ops) whose
 * operations store_sql.c writes once, on two drivers (store_sql.h): SQLite
 * (store_sqlite.c, the embedded default) and PostgreSQL (store_pg.c, several
 * servers on one database).  The server talks only to this header.
 *
 * The store is deliberately dumb: it does not generate ids, check permissions or
 * look inside ciphertext.  It guarantees atomicity (each call is one
 * transaction) and durability (a call that returned 0 survives a crash).
 *
 * Conventions: every function returns 0 or a negative errno:
 *   -ENOENT  no such row            -EEXIST  unique constraint / already there
 *   -EINVAL  bad argument           -EIO     backend failure (store_error says which)
 * Records filled by the store are OWNED by the caller and released with the
 * matching *_release function; ids are UUID strings; times are ms since epoch.
 * All functions are safe to call from several threads at once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/buf.h"

#define STORE_ID_LEN 36
#define STORE_HASH_BYTES 32
#define STORE_SHARE_ID_LEN 22

struct store_blob {
    uint8_t *ptr; /* OWNED (malloc) */
    size_t len;
};

struct store_user {
    char id[STORE_ID_LEN + 1];
    char *email;                         /* OWNED */
    uint8_t auth_hash[STORE_HASH_BYTES]; /* hash of the client's authentication key */
    struct store_blob kdf_salt;          /* Argon2id salt */
    uint64_t kdf_opslimit;
    uint64_t kdf_memlimit;
    struct store_blob public_key;            /* X25519 public key */
    struct store_blob encrypted_private_key; /* sealed under the client's KEK; opaque here */
    int64_t created_at;
};

struct store_org {
    char id[STORE_ID_LEN + 1];
    char *name; /* OWNED */
    char *slug; /* OWNED */
    int64_t created_at;
};

struct store_org_membership {
    struct store_org org;
    char role[16]; /* "admin", "member" */
};

/* A user's membership of an organization, seen from the organization. */
struct store_org_member {
    char user_id[STORE_ID_LEN + 1];
    char *email;   /* OWNED */
    char role[16]; /* "admin", "member" */
    int64_t created_at;
};

struct store_session {
    uint8_t token_hash[STORE_HASH_BYTES];
    char user_id[STORE_ID_LEN + 1];
    int64_t created_at;
    int64_t expires_at;
};

struct store_env {
    char id[STORE_ID_LEN + 1];
    char project_id[STORE_ID_LEN + 1];
    char *slug; /* OWNED */
    char *name; /* OWNED */
    int position;
};

struct store_project {
    char id[STORE_ID_LEN + 1];
    char org_id[STORE_ID_LEN + 1];
    char *name; /* OWNED */
    char *slug; /* OWNED */
    int64_t created_at;
    struct store_env *envs;       /* OWNED, ordered by position */
    struct store_blob server_key; /* project key sealed under the root key; len 0: no
                                   * server access (end-to-end only) */
    size_t n_envs;
};

struct store_member {
    char project_id[STORE_ID_LEN + 1];
    char principal_type[16];             /* "user" or "identity" */
    char principal_id[STORE_ID_LEN + 1]; /* user or identity id */
    char role[32];                       /* "admin", "member", "viewer", "no-access", custom slug */
    struct store_blob wrapped_key;       /* project key sealed to the principal's public key */
    int64_t created_at;
    char *principal_name; /* OWNED, filled by member_list/member_get: e-mail or identity name */
};

/* The current state of one secret, or one entry of its history. */
struct store_secret {
    char id[STORE_ID_LEN + 1];
    char *key;                       /* OWNED */
    char *path;                      /* OWNED: canonical folder path */
    int64_t version;                 /* 1, 2, ... one per write, deletes included */
    struct store_blob value;         /* ciphertext record; len 0 = deleted (tombstone) */
    struct store_blob comment;       /* ciphertext record or len 0 */
    int64_t updated_at;              /* time of this version */
    char actor_id[STORE_ID_LEN + 1]; /* who wrote this version */
    char owner_id[STORE_ID_LEN + 1]; /* "" shared; else the user whose personal override */
};

/* What an environment holds: live secrets, secrets with a history (deleted
 * ones and personal overrides included), and the versions of them all. */
struct store_env_counts {
    int64_t live, total, versions;
};

/* --- people, roles, machines, tokens, audit (migration 0002) ------------ */

struct store_invite {
    char id[STORE_ID_LEN + 1];
    char org_id[STORE_ID_LEN + 1];
    char *email;                          /* OWNED, lowercase */
    char org_role[16];                    /* "admin" | "member" */
    uint8_t token_hash[STORE_HASH_BYTES]; /* hash of the invite token */
    char created_by[STORE_ID_LEN + 1];
    int64_t created_at;
    int64_t expires_at;
    int64_t accepted_at; /* 0 while pending */
};

/* A custom project role; rules are the authz JSON text (server/authz.h). */
struct store_role {
    char id[STORE_ID_LEN + 1];
    char project_id[STORE_ID_LEN + 1];
    char *slug;  /* OWNED */
    char *name;  /* OWNED */
    char *rules; /* OWNED: JSON array text */
    int64_t created_at;
};

/* A machine identity with universal auth. */
struct store_identity {
    char id[STORE_ID_LEN + 1];
    char org_id[STORE_ID_LEN + 1];
    char *name;                   /* OWNED */
    struct store_blob public_key; /* X25519 */
    char client_id[STORE_ID_LEN + 1];
    int64_t access_token_ttl;            /* seconds */
    int64_t access_token_max_ttl;        /* seconds */
    int64_t access_token_num_uses_limit; /* 0 = unlimited */
    char *trusted_ips;                   /* OWNED: comma-separated CIDRs, "" = any */
    char created_by[STORE_ID_LEN + 1];
    int64_t created_at;
};

struct store_client_secret {
    char id[STORE_ID_LEN + 1];
    char identity_id[STORE_ID_LEN + 1];
    uint8_t auth_hash[STORE_HASH_BYTES];     /* hash of the auth key derived from the secret */
    struct store_blob encrypted_private_key; /* identity private key sealed under its KEK */
    char prefix[8];                          /* first characters, to tell secrets apart */
    char *description;                       /* OWNED */
    int64_t created_at;
    int64_t expires_at; /* 0 = never */
    int64_t num_uses;
    int64_t num_uses_limit; /* 0 = unlimited */
    bool revoked;
};

/* An identity's access token. */
struct store_access_token {
    uint8_t token_hash[STORE_HASH_BYTES];
    char identity_id[STORE_ID_LEN + 1];
    char client_secret_id[STORE_ID_LEN + 1];
    int64_t created_at;
    int64_t expires_at; /* renewable up to max_expires_at */
    int64_t max_expires_at;
    int64_t num_uses;
    int64_t num_uses_limit; /* 0 = unlimited */
    bool revoked;
};

struct store_service_token {
    char id[STORE_ID_LEN + 1];
    char project_id[STORE_ID_LEN + 1];
    char *name;                            /* OWNED */
    uint8_t secret_hash[STORE_HASH_BYTES]; /* hash of the <secret> part */
    char *scopes;                          /* OWNED: JSON [{"environment","secretPath"}] */
    bool write;                            /* read-write, else read */
    struct store_blob wrapped_key;         /* project key under the <key> part (seal_box) */
    char created_by[STORE_ID_LEN + 1];
    int64_t created_at;
    int64_t expires_at; /* 0 = never */
    bool revoked;
};

/* One audit record.  Never a value, a token or a key. */
struct store_audit {
    int64_t seq;         /* assigned by the store, strictly increasing */
    int64_t time;        /* ms */
    char actor_type[16]; /* "user", "identity", "service", "anonymous" */
    char actor_id[STORE_ID_LEN + 1];
    char *actor_name; /* OWNED: e-mail, identity or token name */
    char *event;      /* OWNED: e.g. "secret.read" */
    char org_id[STORE_ID_LEN + 1];
    char project_id[STORE_ID_LEN + 1];
    char *environment; /* OWNED */
    char *path;        /* OWNED */
    char *key;         /* OWNED */
    char *ip;          /* OWNED */
    char *user_agent;  /* OWNED */
    char *outcome;     /* OWNED: "success", "denied", "failure" */
    char *metadata;    /* OWNED: JSON object text */
    uint8_t prev_hash[STORE_HASH_BYTES];
    uint8_t hash[STORE_HASH_BYTES];
};

/* Computes rec->hash from prev (the previous record's hash, zeros for the
 * first) and the record's fields; called by audit_append under the store's
 * write lock, in seq order. */
typedef void (*store_audit_chain_fn)(void *ctx, const uint8_t prev[STORE_HASH_BYTES],
                                     struct store_audit *rec);

/* The audit records of a write call, appended in the call's own transaction
 * (as audit_append appends them, chained, under the same lock): the change
 * and its records commit together or not at all.  fill (may be NULL) is
 * called inside the transaction once the call's changes are made and before
 * the records are chained, so that they can say what happened (secrets_write
 * has set each write's ret_ fields by then); it may run more than once (a
 * PostgreSQL body may run again).  On success every record's seq and hash
 * are set; on failure nothing of the call is written. */
struct store_audit_batch {
    struct store_audit *recs; /* BORROWED */
    size_t n;
    store_audit_chain_fn chain;
    void *ctx;
    void (*fill)(void *fill_ctx, struct store_audit *recs, size_t n);
    void *fill_ctx;
};

/* A share link (api_shares.c): ciphertext the server cannot open, with the
 * limits it holds. */
struct store_share {
    char id[STORE_SHARE_ID_LEN + 1]; /* base64url, made by the sharer's client */
    char org_id[STORE_ID_LEN + 1];
    char created_by[STORE_ID_LEN + 1];     /* user or identity */
    struct store_blob ciphertext;          /* empty in lists and purge results */
    uint8_t access_hash[STORE_HASH_BYTES]; /* hash of the access key the link's key gives */
    bool has_password;
    uint8_t auth_hash[STORE_HASH_BYTES]; /* hash of the password's authentication key */
    struct store_blob kdf_salt;          /* Argon2id salt (password only) */
    uint64_t kdf_opslimit;
    uint64_t kdf_memlimit;
    bool org_only;     /* only members of org_id may open it */
    int64_t max_views; /* 0: unlimited */
    int64_t views;     /* so far (share_open: including this one) */
    int64_t created_at;
    int64_t expires_at;
};

/* An organization's rules for shares; without a row, the defaults. */
struct store_share_policy {
    int64_t max_ttl;      /* ms */
    bool allow_anonymous; /* shares may be opened without an account */
};

struct store_audit_query {
    const char *org_id;     /* NULL = any; else that organization's records and the
                             * server-level ones (org_id "": e.g. failed logins of
                             * unknown accounts) */
    const char *project_id; /* NULL = any */
    const char *actor_id;   /* NULL = any; matches actor_id or actor_name */
    const char *event;      /* NULL = any; exact, or a prefix ending in '.' ("secret.") */
    int64_t since, until;   /* ms, 0 = unbounded; since <= time < until */
    int64_t after_seq;      /* only seq > after_seq */
    size_t limit;           /* at most this many, ordered by seq ascending */
    bool newest_first;      /* ordered by seq descending: the last `limit` records */
};

/* Project key rotation: every stored version, re-encrypted by the client. */
struct store_version_ref {
    char secret_id[STORE_ID_LEN + 1];
    char *environment; /* OWNED: environment slug */
    char *path;        /* OWNED */
    char *key;         /* OWNED */
    int64_t version;
    struct store_blob value;         /* len 0 for a tombstone */
    struct store_blob comment;       /* len 0 if none */
    char owner_id[STORE_ID_LEN + 1]; /* "" shared; else the owner of a personal override */
};

struct store_rekey_member {
    const char *principal_id;   /* BORROWED */
    const uint8_t *wrapped_key; /* BORROWED: new project key sealed to the principal */
    size_t wrapped_key_len;
};

/* One of an identity's memberships, its project key sealed to the identity's
 * new public key. */
struct store_rekey_membership {
    const char *project_id;     /* BORROWED */
    const uint8_t *wrapped_key; /* BORROWED */
    size_t wrapped_key_len;
};

struct store_rekey_version {
    const char *secret_id; /* BORROWED */
    int64_t version;
    const uint8_t *value; /* BORROWED, NULL/0 for a tombstone */
    size_t value_len;
    const uint8_t *comment; /* BORROWED, NULL/0 if none */
    size_t comment_len;
};

/* A secret's state at a point in time (secrets_at). */
struct store_secret_at {
    struct store_secret current; /* the current row (may be a tombstone) */
    bool existed;                /* had a version at or before the time */
    struct store_secret then;    /* that version (value len 0 = deleted then); zeros if !existed */
};

/* A folder (migration 0005): every (environment, path) that holds secrets, or
 * was created empty, has one, and so have all its ancestors ("/" included). */
struct store_folder {
    char id[STORE_ID_LEN + 1];
    char project_id[STORE_ID_LEN + 1];
    char env_id[STORE_ID_LEN + 1];
    char *path; /* OWNED: canonical */
    int64_t created_at;
};

/* A secret import: the folder (env_id, path) sees the shared secrets of
 * (import_env_id, import_path) below its own.  Positions are 1..n per folder
 * (a deleted source environment may leave a gap until the next move or
 * delete); a higher position wins over a lower one. */
struct store_import {
    char id[STORE_ID_LEN + 1];
    char project_id[STORE_ID_LEN + 1];
    char env_id[STORE_ID_LEN + 1];
    char *path; /* OWNED */
    char import_env_id[STORE_ID_LEN + 1];
    char *import_path; /* OWNED */
    int64_t position;
    int64_t created_at;
    char created_by[STORE_ID_LEN + 1];
};

/* store_ops.epoch's counters. */
struct store_epoch {
    uint64_t all;    /* moves with every change */
    uint64_t global; /* the stamp of the newest change not confined to one project */
};

enum store_write_op {
    STORE_PUT,    /* create, or update if it exists */
    STORE_CREATE, /* -EEXIST if it exists */
    STORE_UPDATE, /* -ENOENT if it does not exist */
    STORE_DELETE, /* -ENOENT if it does not exist; writes a tombstone version */
};

struct store_write {
    enum store_write_op op;
    const char *key;      /* BORROWED */
    const uint8_t *value; /* BORROWED ciphertext (PUT/CREATE/UPDATE) */
    size_t value_len;
    const uint8_t *comment; /* BORROWED; NULL keeps the current comment, */
    size_t comment_len;     /* a non-NULL comment of length 0 clears it */
    const char *owner;      /* BORROWED; NULL or "": the shared secret, else that user's
                             * personal override (needs a live shared secret of the key:
                             * -ENOENT otherwise) */
    const char *path;       /* BORROWED; NULL: the folder given to secrets_write */
    /* filled in by secrets_write: */
    int64_t ret_version;           /* the version written */
    bool ret_created;              /* true if the secret did not exist (or was deleted) */
    char ret_id[STORE_ID_LEN + 1]; /* the secret's id */
};

/* --- the root key (migration 0008) ---------------------------------------
 * One row per root key the store has had: the first written by the first
 * server that starts on the store, one more by each rotation. */
struct store_root_key {
    int64_t generation;              /* 1, 2, ...: the newest is the root key in use */
    uint8_t check[STORE_HASH_BYTES]; /* keyed hash of a constant under that root key: never
                                      * the key, only a way to tell it is the right one */
    struct store_blob audit_key;     /* that generation's audit chain key, sealed under the
                                      * newest root key */
    int64_t first_seq;               /* the first audit record chained with it (1 for the
                                      * first generation) */
    int64_t created_at;
};

/* --- archiving the audit log (migration 0011) ----------------------------
 * One archive: the records first_seq..seq, written to a file and removed. */
struct store_audit_archive {
    int64_t seq;                    /* the last record archived: the remaining log's anchor */
    uint8_t hash[STORE_HASH_BYTES]; /* its hash: the next record's prev_hash */
    int64_t first_seq;              /* the first record archived */
    int64_t records;
    uint8_t file_hash[STORE_HASH_BYTES]; /* BLAKE2b-256 of the archive file */
    char archived_by[32];                /* "arca audit-logs archive", "retention" */
    int64_t archived_at;
};

/* Re-seals one blob sealed under the old root key: what is "audit" (old is
 * the audit key of generation id) or "project" (old is the server-access
 * key of project id).  Writes the new blob to out (empty on entry). */
typedef int (*store_rewrap_fn)(void *ctx, const char *what, const char *id,
                               const struct store_blob *old, struct buf *out);

/* --- backup and restore --------------------------------------------------
 * A logical copy of every table of the current schema, the same for every
 * backend, so that a backup of one restores into the other.  The tables are
 * store_tables[], in foreign-key order (a table refers only to earlier ones). */

struct store_table {
    const char *name;
    const char *const *cols; /* column names, n_cols of them */
    const char *types;       /* one letter per column: 't' text, 'i' integer, 'b' blob */
    size_t n_cols;
    const char *key; /* ORDER BY: the primary key */
};

extern const struct store_table store_tables[];
extern const size_t store_n_tables;
/* The schema version store_tables describes (the newest migration). */
int store_schema_version(void);

/* One column value of a row. */
struct store_value {
    bool null;
    int64_t i;       /* 'i' */
    const void *ptr; /* BORROWED: 't' (NUL-terminated) and 'b' */
    size_t len;      /* bytes at ptr */
};

/* Receives a backup: once per table with row NULL (before its rows, also for
 * an empty table), then once per row with t->n_cols values (BORROWED until it
 * returns).  A negative return stops the backup with that error. */
typedef int (*store_backup_fn)(void *ctx, const struct store_table *t,
                               const struct store_value *row);

/* Feeds a restore: sets *ret_t and *ret_row (t->n_cols values, BORROWED
 * until the next call) and returns 1, or 0 when the rows are done and may be
 * committed, or a negative errno to roll back.  Tables come in store_tables
 * order (the caller checks it). */
typedef int (*store_restore_fn)(void *ctx, const struct store_table **ret_t,
                                const struct store_value **ret_row);

struct store;

struct store_ops {
    const char *name;
    void (*close)(struct store *s);

    int (*user_count)(struct store *s, int64_t *ret);
    /* Creates the first user, their organization and the admin membership, in one
     * transaction.  -EEXIST if any user already exists. */
    int (*bootstrap)(struct store *s, const struct store_user *u, const struct store_org *o);
    int (*user_get)(struct store *s, const char *id, struct store_user *ret);
    int (*user_get_by_email)(struct store *s, const char *email, struct store_user *ret);
    /* The organizations a user belongs to. ret OWNED: store_org_memberships_free. */
    int (*user_orgs)(struct store *s, const char *user_id, struct store_org_membership **ret,
                     size_t *ret_n);

    int (*session_create)(struct store *s, const struct store_session *sess);
    int (*session_get)(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
                       struct store_session *ret);
    int (*session_delete)(struct store *s, const uint8_t hash[STORE_HASH_BYTES]);

    /* Creates the project, its environments (p->envs, ids filled by the caller)
     * and the creator's membership, in one transaction; also the server-access
     * key copy when p->server_key is set.  -EEXIST on a duplicate slug within
     * the organization. */
    int (*project_create)(struct store *s, const struct store_project *p,
                          const struct store_member *creator);
    int (*project_get)(struct store *s, const char *id, struct store_project *ret);
    /* Projects the principal is a member of.  ret OWNED: store_projects_free. */
    int (*project_list)(struct store *s, const char *principal_id, struct store_project **ret,
                        size_t *ret_n);
    int (*member_get)(struct store *s, const char *project_id, const char *principal_id,
                      struct store_member *ret);

    /* Environments (project_get lists them).  env_create adds e (id made by the
     * caller) at e->position, moving the environments at or after it one down:
     * -EEXIST on a duplicate slug in the project, -E2BIG when the project
     * already has max environments, -ENOENT for an unknown project. */
    int (*env_create)(struct store *s, const struct store_env *e, size_t max);
    /* Sets slug and name (NULL: keep) and position (0: keep; else the others
     * at or after it move one down).  -ENOENT,
     * -EEXIST (slug taken), -EBUSY when the slug would change while secrets
     * (live or deleted) are stored in the environment: their ciphertexts are
     * bound to the slug. */
    int (*env_update)(struct store *s, const char *project_id, const char *env_id, const char *slug,
                      const char *name, int position);
    /* Deletes an environment.  Without purge, only one in which no secret was
     * ever written: -EBUSY otherwise (history is not dropped by accident).
     * With purge, its secrets, their history, folders and imports go too.
     * ret (may be NULL): what it held, read in the same transaction (what
     * refused, or what went).  -ENOENT. */
    int (*env_delete)(struct store *s, const char *project_id, const char *env_id, bool purge,
                      struct store_env_counts *ret);
    /* What the environment holds (env_delete's preview).  -ENOENT. */
    int (*env_counts)(struct store *s, const char *project_id, const char *env_id,
                      struct store_env_counts *ret);

    /* Current, non-deleted shared secrets of a folder, ordered by key.  ret OWNED:
     * store_secrets_free. */
    int (*secrets_list)(struct store *s, const char *env_id, const char *path,
                        struct store_secret **ret, size_t *ret_n);
    /* Current state of one secret.  -ENOENT if it never existed or is deleted. */
    int (*secret_get)(struct store *s, const char *env_id, const char *path, const char *key,
                      struct store_secret *ret);
    /* Every version of one secret, newest first (tombstones included).  -ENOENT
     * if it never existed. */
    int (*secret_history)(struct store *s, const char *env_id, const char *path, const char *key,
                          struct store_secret **ret, size_t *ret_n);
    /* Applies all writes to one folder (or each to its own w->path) of one
     * environment in one transaction, each a new version; if one fails
     * (-EEXIST, -ENOENT) nothing is written.  Deleting a shared secret also
     * deletes (a tombstone version each) every personal override of it.  Ids of
     * new secrets are generated by the store.  On success the ret_ fields of
     * each write are set. */
    int (*secrets_write)(struct store *s, const char *project_id, const char *env_id,
                         const char *path, struct store_write *w, size_t n, const char *actor_id,
                         int64_t now);

    /* --- people --- */
    int (*invite_create)(struct store *s, const struct store_invite *inv);
    /* An organization's invites, pending or accepted, oldest first.  ret OWNED:
     * store_invites_free. */
    int (*invite_list)(struct store *s, const char *org_id, struct store_invite **ret,
                       size_t *ret_n);
    /* Deletes a pending invite (its token no longer signs up).  -ENOENT: no such
     * pending invite in the organization. */
    int (*invite_revoke)(struct store *s, const char *org_id, const char *id);
    int (*invite_get)(struct store *s, const uint8_t token_hash[STORE_HASH_BYTES],
                      struct store_invite *ret);
    /* Creates the user, their organization membership (inv->org_role) and marks
     * the invite accepted, in one transaction.  -EEXIST if the e-mail is taken or
     * the invite was already accepted, -EINVAL if u->email is not the invited one. */
    int (*invite_accept)(struct store *s, const char *invite_id, const struct store_user *u,
                         int64_t now);
    /* The role of user_id in org_id.  -ENOENT if not a member. */
    int (*org_role)(struct store *s, const char *org_id, const char *user_id, char role[16]);
    /* Removes user_id from org_id in one transaction: their memberships of its
     * projects, their sessions, and the user (key pair and login) when no
     * other organization has them.  -ENOENT if not a member; -EBUSY when they
     * are its last admin; -EMLINK when they are the last admin of one of its
     * projects (ret_project, may be NULL: its id).  Nothing changes then. */
    int (*org_member_remove)(struct store *s, const char *org_id, const char *user_id,
                             char ret_project[STORE_ID_LEN + 1]);
    /* The users of an organization, oldest first.  ret OWNED: store_org_members_free. */
    int (*org_members)(struct store *s, const char *org_id, struct store_org_member **ret,
                       size_t *ret_n);
    /* Records a failed login for a user and returns the failures in a row (> 0);
     * each failure from the lock_after-th on (re)locks the account until now +
     * lock_ms (lock_after 0: never).  Only user_login_ok resets the count.
     * ret_locked_until (may be NULL): the lock's end, 0 if not locked.  -ENOENT. */
    int (*user_login_failed)(struct store *s, const char *user_id, int64_t now, int lock_after,
                             int64_t lock_ms, int64_t *ret_locked_until);
    int (*user_login_ok)(struct store *s, const char *user_id);
    /* A password change: u->id's auth_hash, kdf_* and encrypted_private_key (the
     * same private key, sealed under the new password's KEK).  -ENOENT. */
    int (*user_set_credentials)(struct store *s, const struct store_user *u);
    /* locked_until (0 if never locked or reset; may be in the past). */
    int (*user_locked_until)(struct store *s, const char *user_id, int64_t *ret);

    /* --- project members and roles --- */
    /* -EEXIST if already a member, -ENOENT if the project or the principal
     * (a user or an identity, by principal_type; "" means "user") does not exist. */
    int (*member_add)(struct store *s, const struct store_member *m);
    /* Ordered by principal_type ("identity" before "user"), then name.  ret
     * OWNED: store_members_free. */
    int (*member_list)(struct store *s, const char *project_id, struct store_member **ret,
                       size_t *ret_n);
    /* Both refuse with -EBUSY, in the same transaction as the change, when the
     * project's last admin would stop being one; -ENOENT for no such member. */
    int (*member_remove)(struct store *s, const char *project_id, const char *principal_id);
    int (*member_set_role)(struct store *s, const char *project_id, const char *principal_id,
                           const char *role);
    /* -EEXIST on a duplicate slug in the project. */
    int (*role_create)(struct store *s, const struct store_role *r);
    int (*role_get)(struct store *s, const char *project_id, const char *slug,
                    struct store_role *ret);
    int (*role_list)(struct store *s, const char *project_id, struct store_role **ret,
                     size_t *ret_n);
    /* Sets the role's name and/or rules (NULL: keep), if its rules are still
     * old_rules (what the caller checked): -ESTALE otherwise.  -ENOENT. */
    int (*role_update)(struct store *s, const char *project_id, const char *slug, const char *name,
                       const char *rules, const char *old_rules);
    /* -EBUSY if a member still has the role. */
    int (*role_delete)(struct store *s, const char *project_id, const char *slug);

    /* --- machine identities --- */
    /* Creates the identity with its first client secret.  -EEXIST on a duplicate
     * name in the organization. */
    int (*identity_create)(struct store *s, const struct store_identity *id,
                           const struct store_client_secret *first);
    int (*identity_get)(struct store *s, const char *id, struct store_identity *ret);
    int (*identity_get_by_client_id)(struct store *s, const char *client_id,
                                     struct store_identity *ret);
    int (*identity_list)(struct store *s, const char *org_id, struct store_identity **ret,
                         size_t *ret_n);
    /* Deletes the identity, its secrets, tokens and memberships; -EBUSY when
     * it is the last admin of a project. */
    int (*identity_delete)(struct store *s, const char *id);
    int (*client_secret_create)(struct store *s, const struct store_client_secret *cs);
    int (*client_secret_list)(struct store *s, const char *identity_id,
                              struct store_client_secret **ret, size_t *ret_n);
    /* Counts one use of a client secret: -EACCES if revoked, expired or out of
     * uses (atomically, so a limit of N allows exactly N logins). */
    int (*client_secret_use)(struct store *s, const char *id, int64_t now);
    /* Revokes the secret and (migration 0003's trigger) every access token it issued. */
    int (*client_secret_revoke)(struct store *s, const char *identity_id, const char *id);
    /* Gives identity_id a new key pair in one transaction: its public key, the
     * project key of each of its memberships sealed to it (m: exactly its
     * memberships, each once, else -EINVAL and nothing is written), every
     * client secret it had revoked (with their access tokens: they seal the old
     * private key), and cs (sealing the new one) added.  -ENOENT. */
    int (*identity_rekey)(struct store *s, const char *identity_id, const uint8_t *public_key,
                          size_t public_key_len, const struct store_rekey_membership *m, size_t n,
                          const struct store_client_secret *cs);

    int (*access_token_create)(struct store *s, const struct store_access_token *t);
    int (*access_token_get)(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
                            struct store_access_token *ret);
    /* Counts one use: -EACCES if revoked, expired (expires_at <= now) or out of uses. */
    int (*access_token_use)(struct store *s, const uint8_t hash[STORE_HASH_BYTES], int64_t now);
    /* Sets expires_at (the caller caps it at max_expires_at; the store does too).
     * -ENOENT, -EACCES if revoked. */
    int (*access_token_renew)(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
                              int64_t expires_at);
    int (*access_token_revoke)(struct store *s, const uint8_t hash[STORE_HASH_BYTES]);

    /* --- service tokens --- */
    int (*service_token_create)(struct store *s, const struct store_service_token *t);
    int (*service_token_get)(struct store *s, const char *id, struct store_service_token *ret);
    int (*service_token_list)(struct store *s, const char *project_id,
                              struct store_service_token **ret, size_t *ret_n);
    int (*service_token_revoke)(struct store *s, const char *project_id, const char *id);

    /* Sets (key non-NULL) or removes (NULL) the server-access copy of the project
     * key.  -ENOENT for an unknown project. */
    int (*project_set_server_key)(struct store *s, const char *project_id, const uint8_t *key,
                                  size_t len);
    /* Changes a project's name (the slug stays).  -ENOENT for an unknown project. */
    int (*project_rename)(struct store *s, const char *project_id, const char *name);
    /* Deletes a project and everything that is its (environments, folders,
     * secrets and their history, imports, members, roles, service tokens): the
     * foreign keys cascade.  The audit log keeps its records.  -ENOENT. */
    int (*project_delete)(struct store *s, const char *project_id);

    /* --- personal overrides (owner_id NULL or "": the shared secret) --- */
    /* Like secrets_list, plus owner_id's personal overrides: ordered by key,
     * the shared secret before the override of the same key. */
    int (*secrets_list_with)(struct store *s, const char *env_id, const char *path,
                             const char *owner_id, struct store_secret **ret, size_t *ret_n);
    /* Like secret_get and secret_history, for owner_id's override. */
    int (*secret_get_of)(struct store *s, const char *env_id, const char *path, const char *key,
                         const char *owner_id, struct store_secret *ret);
    int (*secret_history_of)(struct store *s, const char *env_id, const char *path, const char *key,
                             const char *owner_id, struct store_secret **ret, size_t *ret_n);

    /* --- project key rotation --- */
    /* Every version of every secret of the project (tombstones included). */
    int (*project_versions)(struct store *s, const char *project_id, struct store_version_ref **ret,
                            size_t *ret_n);
    /* Replaces the project key in one transaction: each member's wrapped key,
     * every version's value and comment (the current rows follow), and revokes
     * the project's service tokens (their wrapped keys hold the old key).
     * -EINVAL unless m covers exactly the current members and v exactly the
     * stored versions (tombstones with NULL value, a comment exactly where the
     * version has one); nothing is written then.  The server-access copy of
     * the old key is dropped: a client turns server access on again. */
    int (*project_rekey)(struct store *s, const char *project_id,
                         const struct store_rekey_member *m, size_t n_m,
                         const struct store_rekey_version *v, size_t n_v);

    /* --- history --- */
    /* Every secret that ever existed in the folder, with its state at time t. */
    int (*secrets_at)(struct store *s, const char *env_id, const char *path, int64_t t,
                      struct store_secret_at **ret, size_t *ret_n);

    /* --- folders and imports (migration 0005) --- */
    /* Creates the folder and its missing ancestors; an existing folder is
     * returned as it is (ret may be NULL).  ret_created (may be NULL): whether
     * the folder itself was new. */
    int (*folder_create)(struct store *s, const char *project_id, const char *env_id,
                         const char *path, int64_t now, struct store_folder *ret,
                         bool *ret_created);
    /* The direct sub-folders of path (every descendant when recursive), ordered
     * by path; path itself is not listed.  ret OWNED: store_folders_free. */
    int (*folder_list)(struct store *s, const char *env_id, const char *path, bool recursive,
                       struct store_folder **ret, size_t *ret_n);
    int (*folder_get)(struct store *s, const char *id, struct store_folder *ret);
    int (*folder_find)(struct store *s, const char *env_id, const char *path,
                       struct store_folder *ret);
    /* Deletes the folder and every sub-folder in one transaction: each of their
     * live secrets gets a tombstone version (history is kept), the folders'
     * import rows go.  -ENOENT if the folder does not exist, -EINVAL for "/".
     * ret_n_secrets (may be NULL): how many secrets were deleted. */
    int (*folder_delete)(struct store *s, const char *env_id, const char *path,
                         const char *actor_id, int64_t now, size_t *ret_n_secrets);
    /* Adds an import at the end of the folder's list (imp->position is set),
     * creating the destination folder if needed.  -EEXIST if the folder already
     * imports that source, -E2BIG if it has max imports already. */
    int (*import_create)(struct store *s, struct store_import *imp, size_t max);
    /* The imports of a folder, ordered by position.  ret OWNED: store_imports_free. */
    int (*import_list)(struct store *s, const char *env_id, const char *path,
                       struct store_import **ret, size_t *ret_n);
    int (*import_get)(struct store *s, const char *id, struct store_import *ret);
    /* Moves an import to position (clamped to 1..n), shifting the others. */
    int (*import_move)(struct store *s, const char *id, int64_t position);
    /* Removes an import; the later ones move up. */
    int (*import_delete)(struct store *s, const char *id);

    /* --- share links --- */
    /* -EEXIST when the id is taken. */
    int (*share_create)(struct store *s, const struct store_share *sh);
    /* The share, ciphertext included, without counting a view.  -ENOENT if
     * there is none or it expired by now (it is then left for share_purge). */
    int (*share_get)(struct store *s, const char *id, int64_t now, struct store_share *ret);
    /* Counts a view and returns the share as it is after it, in one
     * transaction: the view that reaches max_views deletes the share, so two
     * opens of a one-view share never both succeed.  -ENOENT as share_get. */
    int (*share_open)(struct store *s, const char *id, int64_t now, struct store_share *ret);
    /* Active shares made by created_by, oldest first, without ciphertext.
     * ret OWNED: store_shares_free. */
    int (*share_list)(struct store *s, const char *created_by, int64_t now,
                      struct store_share **ret, size_t *ret_n);
    /* Deletes a share now.  -ENOENT. */
    int (*share_delete)(struct store *s, const char *id);
    /* Deletes every share expired by now and returns them (without
     * ciphertext), at most max; ret OWNED: store_shares_free. */
    int (*share_purge)(struct store *s, int64_t now, size_t max, struct store_share **ret,
                       size_t *ret_n);
    /* -ENOENT when the organization has no policy of its own. */
    int (*share_policy_get)(struct store *s, const char *org_id, struct store_share_policy *ret);
    int (*share_policy_set)(struct store *s, const char *org_id,
                            const struct store_share_policy *p);

    /* --- audit log --- */
    /* Appends records in one transaction (one fsync), filling seq and, through
     * chain, prev_hash and hash: rec->seq and rec->prev_hash are set before
     * chain(ctx, prev, rec) is called, and rec->time is raised to the previous
     * record's if it was earlier (time never goes back along seq: audit_query
     * finds since and until by seq).  Returns only once they are durable; on
     * failure nothing is appended and every seq is 0.  event must be set. */
    int (*audit_append)(struct store *s, struct store_audit *recs, size_t n,
                        store_audit_chain_fn chain, void *ctx);
    /* Records read back exactly as appended (a NULL field stays NULL), so that
     * the chain can be verified.  ret OWNED: store_audits_free. */
    int (*audit_query)(struct store *s, const struct store_audit_query *q, struct store_audit **ret,
                       size_t *ret_n);
    /* secrets_write with its audit records in the same transaction (audit
     * NULL: none). */
    int (*secrets_write_audited)(struct store *s, const char *project_id, const char *env_id,
                                 const char *path, struct store_write *w, size_t n,
                                 const char *actor_id, int64_t now,
                                 const struct store_audit_batch *audit);
    /* A universal-auth login in one transaction: counts a use of the client
     * secret (-EACCES as client_secret_use: then nothing is written), creates
     * the access token t and appends audit (may be NULL). */
    int (*identity_login)(struct store *s, const char *client_secret_id, int64_t now,
                          const struct store_access_token *t,
                          const struct store_audit_batch *audit);

    /* --- caches --- */
    /* The change counters (struct store_epoch): all grows (after the commit,
     * before the call returns) with every call that changes what any read
     * returns, in this process or, for PostgreSQL, in any server on the
     * database.  Calls that only add what no reader has cached yet do not
     * move it: new sessions and access tokens, token and client-secret use
     * counts, audit records.  Each change is also stamped, before its call
     * returns, with the value of all it moved to: on its project when it
     * changed one project's secrets and folders only (project_epoch), else
     * on everything (global).  Something loaded from the store after reading
     * all = E (the epoch it is current for) is still current while every
     * stamp of what it was read from is <= E: global for anything; global and
     * project_epoch(P) for what depends on project P's secrets and on nothing
     * of another project.  all is read before global (a change between the
     * two then looks newer, never older). */
    int (*epoch)(struct store *s, struct store_epoch *ret);
    /* The stamp of the newest change confined to project_id (0: none seen
     * yet; never lower than the truth, possibly higher). */
    int (*project_epoch)(struct store *s, const char *project_id, uint64_t *ret);

    /* --- the root key (migration 0008) --- */
    /* Every generation, oldest first; ret_n 0 before the first server started.
     * ret OWNED: store_root_keys_free. */
    int (*root_keys)(struct store *s, struct store_root_key **ret, size_t *ret_n);
    /* Adds k as generation 1 of a store that has none: -EEXIST otherwise. */
    int (*root_key_init)(struct store *s, const struct store_root_key *k);
    /* A root key rotation, in one transaction: appends link (chained by
     * chain, ctx, as audit_append does: with the old key), calls rewrap for the
     * audit key of every generation and the server-access key of every project
     * and stores what it gives, then adds k (its first_seq is set to link's
     * seq + 1).  -ESTALE unless k->generation is the newest one + 1; nothing is
     * written on any failure. */
    int (*root_key_rotate)(struct store *s, struct store_root_key *k, struct store_audit *link,
                           store_audit_chain_fn chain, void *ctx, store_rewrap_fn rewrap,
                           void *rewrap_ctx);

    /* --- backup and restore --- */
    /* Calls fn with every row of every table of store_tables, in order, rows
     * ordered by the table's key, all from one consistent snapshot: writers go
     * on meanwhile (SQLite WAL, PostgreSQL MVCC) and are not in it. */
    int (*backup)(struct store *s, store_backup_fn fn, void *ctx);
    /* Inserts the rows next gives, in one transaction, into a store whose
     * tables are all empty: -ENOTEMPTY otherwise (nothing is written).  Any
     * failure (next's included) rolls everything back. */
    int (*restore)(struct store *s, store_restore_fn next, void *ctx);

    /* --- archiving the audit log (migration 0011) --- */
    /* The newest archive, whose seq and hash anchor the remaining log.
     * -ENOENT when none was ever made (the log starts at seq 1, prev zeros). */
    int (*audit_anchor)(struct store *s, struct store_audit_archive *ret);
    /* Removes the archived records, in one transaction under the audit lock:
     * -ESTALE (nothing changes) unless the newest anchor is still the record
     * before a->first_seq (another archive ran meanwhile) and record a->seq
     * still has a->hash and exactly a->records records are at or before it;
     * then appends rec (chained by chain, ctx, as audit_append does), adds a
     * as the newest anchor and deletes every record up to a->seq.  The newest
     * record is never removed: rec follows it. */
    int (*audit_archive)(struct store *s, const struct store_audit_archive *a,
                         struct store_audit *rec, store_audit_chain_fn chain, void *ctx);
};

struct store {
    const struct store_ops *ops;
    /* Set by the server once it checked its root key: from then on
     * audit_append fails (-EKEYREJECTED, nothing appended) when the store's
     * newest root key generation is another one (a rotation by another
     * process), so a server left running with the old key cannot extend the
     * chain with it.  0: not checked. */
    int64_t root_generation;
};

/* Why the calling thread's last store call failed in the database, for logs:
 * read it after a call failed (-EIO mostly).  Each call that reaches the
 * database clears it first and a thread makes one store call at a time, so
 * the text is that call's and no other thread's (a call refused before it
 * reached the database, -EINVAL, leaves it as it was).  It names statements,
 * tables, columns and constraints, never a bound value: of PostgreSQL's
 * messages only the primary one and the SQLSTATE.  "" when the backend gave
 * none.  BORROWED until the thread's next store call. */
const char *store_error(void);

/* Opens the SQLite store in dir (created 0700 if missing), applying
 * migrations.  err receives a message on failure. */
int store_sqlite_open(const char *dir, struct store **ret, struct buf *err);

/* Opens the PostgreSQL store at url (postgres://... or postgresql://...; a
 * libpq connection URI), applying migrations (once, when several servers
 * start together).  Connections are opened lazily and again after a failure.
 * -EINVAL for a malformed URL, -ECONNREFUSED when the database cannot be
 * reached (worth trying again: it may be starting); err receives a message on
 * failure (the URL's host and database, never its password). */
int store_pg_open(const char *url, struct store **ret, struct buf *err);
/* Appends "host[:port]/database" of a PostgreSQL URL to out, for logs: never
 * the user or password.  -EINVAL if url is not a postgres:// URL. */
int store_pg_describe(const char *url, struct buf *out);

static inline void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

void store_blob_release(struct store_blob *b);
void store_user_release(struct store_user *u);
void store_org_release(struct store_org *o);
void store_org_memberships_free(struct store_org_membership *m, size_t n);
void store_env_release(struct store_env *e);
void store_project_release(struct store_project *p);
void store_projects_free(struct store_project *p, size_t n);
void store_member_release(struct store_member *m);
void store_secret_release(struct store_secret *s);
void store_secrets_free(struct store_secret *s, size_t n);
void store_members_free(struct store_member *m, size_t n);
void store_invite_release(struct store_invite *i);
void store_invites_free(struct store_invite *v, size_t n);
void store_org_member_release(struct store_org_member *m);
void store_org_members_free(struct store_org_member *v, size_t n);
void store_role_release(struct store_role *r);
void store_roles_free(struct store_role *r, size_t n);
void store_identity_release(struct store_identity *i);
void store_identities_free(struct store_identity *i, size_t n);
void store_client_secret_release(struct store_client_secret *c);
void store_client_secrets_free(struct store_client_secret *c, size_t n);
void store_service_token_release(struct store_service_token *t);
void store_service_tokens_free(struct store_service_token *t, size_t n);
void store_secrets_at_free(struct store_secret_at *v, size_t n);
void store_version_refs_free(struct store_version_ref *v, size_t n);
void store_folder_release(struct store_folder *f);
void store_folders_free(struct store_folder *f, size_t n);
void store_import_release(struct store_import *i);
void store_imports_free(struct store_import *i, size_t n);
void store_share_release(struct store_share *sh);
void store_shares_free(struct store_share *sh, size_t n);
void store_audit_release(struct store_audit *a);
void store_audits_free(struct store_audit *a, size_t n);
void store_root_keys_free(struct store_root_key *k, size_t n);
