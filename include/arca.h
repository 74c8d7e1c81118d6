/* arca.h - the arca client library (libarca), the C SDK.
 *
 * libarca talks to an arca server over HTTP(S) and does all the cryptography on
 * the client: passwords are stretched with Argon2id here and never sent, key
 * pairs and project keys are made here, and secret values are encrypted before
 * they are sent and decrypted after they are received.  The arca command-line
 * tool is built on this header alone.
 *
 * Conventions
 *   - Functions return 0 on success or a negative errno:
 *       -ENOENT  not found (project, environment, secret)
 *       -EEXIST  conflict (already bootstrapped, duplicate)
 *       -EACCES  authentication failed or not allowed
 *       -EINVAL  bad input (an invalid key name, path, e-mail ...)
 *       -EBADMSG a ciphertext or key failed to open (tampering, wrong key)
 *       -E2BIG   over a limit
 *       -ECONNREFUSED / -EHOSTUNREACH / -ETIMEDOUT  the server could not be reached
 *       -EPROTO  the server answered something unexpected
 *       -EIO     any other failure
 *     and leave a one-line, human-readable message in arca_errmsg(), which never
 *     contains a secret value, a token or a key.
 *   - Out-parameters (ret_*) are written only on success; what they return is
 *     OWNED by the caller and freed with the matching *_free function.
 *   - Strings marked SECRET live in wipe-on-free memory and are wiped by the
 *     *_free functions; do not copy them into ordinary memory needlessly.
 *   - A struct arca is not thread-safe; use one per thread.
 */
#ifndef ARCA_H
#define ARCA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ARCA_VERSION "0.1.0"

struct arca;

/* Creates a client for the server at api_url (e.g. "http://127.0.0.1:8200";
 * a trailing "/api" or "/" is accepted).  NULL api_url means ARCA_API_URL, then
 * http://127.0.0.1:8200.  -ENOMEM, -EINVAL. */
int arca_new(const char *api_url, struct arca **ret);
void arca_free(struct arca *a);

/* The message of the last failure.  BORROWED until the next call on a. */
const char *arca_errmsg(const struct arca *a);
/* The API URL in use.  BORROWED. */
const char *arca_api_url(const struct arca *a);

/* --- sessions ------------------------------------------------------------ */

/* Creates the first administrator and their organization on a new server, and
 * logs in as them.  -EEXIST when the server already has users. */
int arca_bootstrap(struct arca *a, const char *email, const char *password, size_t password_len,
                   const char *organization);

/* Logs in with e-mail and password.  -EACCES on wrong credentials. */
int arca_login_password(struct arca *a, const char *email, const char *password,
                        size_t password_len);

/* Revokes the session on the server and forgets it here. */
int arca_logout(struct arca *a);

/* Saves the session (API URL, token, e-mail, user id and the user's private
 * key) to <config_dir>/credentials.json, mode 0600, written atomically.
 * config_dir NULL means $ARCA_CONFIG_DIR, then ~/.config/arca (created 0700). */
int arca_session_save(struct arca *a, const char *config_dir);
/* Loads a saved session.  -ENOENT when there is none ("not logged in").  If the
 * saved session is for another API URL than a's, -ENOENT as well, unless a was
 * created with no URL at all (api_url NULL and ARCA_API_URL unset): then the
 * saved session's URL is used. */
int arca_session_load(struct arca *a, const char *config_dir);
/* Deletes the saved session file. */
int arca_session_forget(const char *config_dir);
/* The logged-in user's e-mail, or NULL.  BORROWED. */
const char *arca_session_email(const struct arca *a);

/* Is the server up?  0 when GET /api/status answered. */
int arca_status(struct arca *a);

/* --- projects ------------------------------------------------------------ */

struct arca_environment {
    char *slug;
    char *name;
    int position;
};

struct arca_project {
    char *id;
    char *name;
    char *slug;
    char *organization_id;
    char *created_at; /* ISO-8601 */
    struct arca_environment *environments;
    size_t n_environments;
};

/* Creates a project (end-to-end encrypted: the project key is made here and
 * sealed to the caller's public key) with environments dev, staging, prod. */
int arca_project_create(struct arca *a, const char *name, struct arca_project **ret);
int arca_project_get(struct arca *a, const char *project_id, struct arca_project **ret);
int arca_projects_list(struct arca *a, struct arca_project **ret, size_t *ret_n);
void arca_project_free(struct arca_project *p);
void arca_projects_free(struct arca_project *p, size_t n);

/* --- secrets ------------------------------------------------------------- */

/* Where secrets live: project, environment slug, folder path ("/" if NULL). */
struct arca_scope {
    const char *project_id;
    const char *environment;
    const char *path;
};

struct arca_secret {
    char *key;
    char *value;   /* SECRET, NUL-terminated */
    char *comment; /* SECRET, NUL-terminated, "" if none */
    int64_t version;
    char *updated_at; /* ISO-8601 */
};

struct arca_secret_list {
    struct arca_secret *v; /* ordered by key */
    size_t n;
};

/* Fetches and decrypts every secret of a folder. */
int arca_secrets_list(struct arca *a, const struct arca_scope *scope,
                      struct arca_secret_list **ret);
/* Fetches and decrypts one secret.  -ENOENT when absent. */
int arca_secret_get(struct arca *a, const struct arca_scope *scope, const char *key,
                    struct arca_secret **ret);
void arca_secret_free(struct arca_secret *s);
void arca_secret_list_free(struct arca_secret_list *l);

struct arca_secret_input {
    const char *key;
    const char *value;   /* NUL-terminated */
    const char *comment; /* NULL or "": none */
};

enum arca_change {
    ARCA_CREATED,
    ARCA_UPDATED,
    ARCA_UNCHANGED,
    ARCA_DELETED,
};

/* Encrypts and writes n secrets to one folder in one atomic request; a secret
 * whose value and comment are unchanged is not written (no new version).
 * ret_changes (optional, n entries) tells what happened to each; ret_versions
 * (optional, n entries) the version now current.  Keys must be distinct. */
int arca_secrets_set(struct arca *a, const struct arca_scope *scope,
                     const struct arca_secret_input *in, size_t n, enum arca_change *ret_changes,
                     int64_t *ret_versions);

/* Deletes n secrets (each a new, deleted version) atomically.  -ENOENT (and
 * nothing deleted) when one does not exist. */
int arca_secrets_delete(struct arca *a, const struct arca_scope *scope, const char *const *keys,
                        size_t n);

/* Frees memory that holds a secret (wiping it).  Accepts NULL. */
void arca_secret_string_free(char *s);

#ifdef __cplusplus
}
#endif
#endif
