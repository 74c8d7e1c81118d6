/* store.h - the persistence interface.  One vtable (struct store_ops) per
 * backend: SQLite (store_sqlite.c, the embedded default) now, PostgreSQL later.
 * The server talks only to this header.
 *
 * The store is deliberately dumb: it does not generate ids, check permissions or
 * look inside ciphertext.  It guarantees atomicity (each call is one
 * transaction) and durability (a call that returned 0 survives a crash).
 *
 * Conventions: every function returns 0 or a negative errno:
 *   -ENOENT  no such row            -EEXIST  unique constraint / already there
 *   -EINVAL  bad argument           -EIO     backend failure (err says which)
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
    struct store_env *envs; /* OWNED, ordered by position */
    size_t n_envs;
};

struct store_member {
    char project_id[STORE_ID_LEN + 1];
    char principal_id[STORE_ID_LEN + 1]; /* user id (identities later) */
    char role[32];                       /* "admin", "member", "viewer", "no-access", custom slug */
    struct store_blob wrapped_key;       /* project key sealed to the principal's public key */
    int64_t created_at;
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
    /* filled in by secrets_write: */
    int64_t ret_version;           /* the version written */
    bool ret_created;              /* true if the secret did not exist (or was deleted) */
    char ret_id[STORE_ID_LEN + 1]; /* the secret's id */
};

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
     * and the creator's membership, in one transaction.  -EEXIST on a duplicate
     * slug within the organization. */
    int (*project_create)(struct store *s, const struct store_project *p,
                          const struct store_member *creator);
    int (*project_get)(struct store *s, const char *id, struct store_project *ret);
    /* Projects the principal is a member of.  ret OWNED: store_projects_free. */
    int (*project_list)(struct store *s, const char *principal_id, struct store_project **ret,
                        size_t *ret_n);
    int (*member_get)(struct store *s, const char *project_id, const char *principal_id,
                      struct store_member *ret);

    /* Current, non-deleted secrets of a folder, ordered by key.  ret OWNED:
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
    /* Applies all writes to one folder in one transaction, each a new version;
     * if one fails (-EEXIST, -ENOENT) nothing is written.  Ids of new secrets are
     * generated by the store.  On success the ret_ fields of each write are set. */
    int (*secrets_write)(struct store *s, const char *project_id, const char *env_id,
                         const char *path, struct store_write *w, size_t n, const char *actor_id,
                         int64_t now);
};

struct store {
    const struct store_ops *ops;
    struct buf err; /* last backend error message, for logs (never data) */
};

/* Opens the SQLite store in dir (created 0700 if missing), applying
 * migrations.  err receives a message on failure. */
int store_sqlite_open(const char *dir, struct store **ret, struct buf *err);

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
