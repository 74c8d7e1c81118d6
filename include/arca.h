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
 *       -EAGAIN  rate limited: the message says when to try again (arca_retry_after)
 *       -ECONNREFUSED / -EHOSTUNREACH / -ETIMEDOUT  the server could not be reached
 *       -ENOTCONN the server answered 503: its database is unavailable (try again)
 *       -EPROTO  the server answered something unexpected
 *       -EIO     any other failure
 *     and leave a one-line, human-readable message in arca_errmsg(), which never
 *     contains a secret value, a token or a key.
 *   - Out-parameters (ret_*) are written only on success; what they return is
 *     OWNED by the caller and freed with the matching *_free function.
 *   - Strings marked SECRET live in wipe-on-free memory and are wiped by the
 *     *_free functions; do not copy them into ordinary memory needlessly.
 *   - A struct arca is not thread-safe; use one per thread.
 *   - Three kinds of principal log in: users (e-mail and password), machine
 *     identities (client ID and client secret) and service tokens.  Users and
 *     identities hold an X25519 key pair and open each project's key with it;
 *     a service token carries its project's key itself.
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
 * INFISICAL_API_URL, then http://127.0.0.1:8200.  An https server's certificate
 * is always verified, against the system's CA store or, when ARCA_CA_CERT names
 * a file, against the CA certificates in it (as arca_set_ca_cert).  -ENOMEM,
 * -EINVAL, and arca_set_ca_cert's errors for ARCA_CA_CERT. */
int arca_new(const char *api_url, struct arca **ret);
void arca_free(struct arca *a);

/* Trusts the PEM CA certificate(s) in ca_file, instead of the system's store,
 * to verify an https server: a private CA, or a self-signed server certificate.
 * There is no way to turn verification off.  -ENOENT when the file cannot be
 * read.  A TLS failure of a later call (untrusted certificate, failed
 * handshake) is -ECONNABORTED, with the reason in arca_errmsg(). */
int arca_set_ca_cert(struct arca *a, const char *ca_file);

/* 1 when the API URL is plain http:// to a host that is not this machine
 * (localhost, 127.0.0.0/8, ::1): tokens and keys would cross the network
 * unencrypted, so an application should warn.  0 otherwise. */
int arca_url_cleartext_remote(const struct arca *a);

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
/* Changes the logged-in user's password: proves the current one, checks the
 * new one against the server's policy, and sends the same private key sealed
 * under the new password's key-encryption key (Argon2id, new salt).  Memberships
 * and project keys do not change.  -EACCES the current password is wrong. */
int arca_password_change(struct arca *a, const char *current, size_t current_len,
                         const char *password, size_t password_len);
int arca_login_password(struct arca *a, const char *email, const char *password,
                        size_t password_len);

/* Creates an account from an invite (arca_invite_create) and logs in as it,
 * like arca_login_password.  The e-mail must be the invited one.  -EACCES for
 * an unknown, used or expired invite. */
int arca_signup(struct arca *a, const char *invite_token, const char *email, const char *password,
                size_t password_len);

/* Logs in as a machine identity (universal auth).  The client secret never
 * leaves this machine: an authentication key and a key-encryption key are
 * derived from it, the first is sent, the second opens the identity's private
 * key.  -EINVAL when client_secret is not 64 hexadecimal characters, -EACCES
 * on wrong or revoked credentials. */
int arca_login_identity(struct arca *a, const char *client_id, const char *client_secret);

/* Logs in with a service token "st.<id>.<secret>.<key>": only "st.<id>.<secret>"
 * is sent; <key> opens the project key the server keeps for the token.  The
 * session can read (and with read-write access, write) the secrets of the
 * token's scopes in its project, nothing else.  -EINVAL for a token that is not
 * of that form (the message never repeats the token), -EACCES for a revoked or
 * expired one. */
int arca_login_service_token(struct arca *a, const char *token);

/* Logs in from the environment, in memory (nothing is saved):
 *   ARCA_TOKEN (else INFISICAL_TOKEN)                     a service token;
 *   ARCA_CLIENT_ID and ARCA_CLIENT_SECRET (else
 *   INFISICAL_UNIVERSAL_AUTH_CLIENT_ID / _CLIENT_SECRET)  a machine identity.
 * A service token wins when both are set.  -ENOENT when none is set (a is
 * untouched); otherwise as the login functions. */
int arca_login_environment(struct arca *a);

/* Renews a machine identity's access token (POST /auth/token/renew): it then
 * expires one TTL from now, never past its max TTL.  -EACCES once past the max
 * TTL (log in again), -EINVAL when the session is not an identity's. */
int arca_token_renew(struct arca *a);

/* Revokes the session on the server and forgets it here (a service token is
 * only forgotten: arca_service_token_revoke revokes it). */
int arca_logout(struct arca *a);

/* Saves the session (API URL, kind, token, the principal's id and name, its
 * private key; for an identity the token's expiry and max expiry, never the
 * client secret) to <config_dir>/credentials.json, mode 0600, written
 * atomically.  config_dir NULL means $ARCA_CONFIG_DIR, then ~/.config/arca
 * (created 0700).  -EINVAL for a service-token session: those are never saved. */
int arca_session_save(struct arca *a, const char *config_dir);
/* Loads a saved session.  -ENOENT when there is none ("not logged in").  If the
 * saved session is for another API URL than a's, -ENOENT as well, unless a was
 * created with no URL at all (api_url NULL, ARCA_API_URL and INFISICAL_API_URL
 * unset): then the saved session's URL is used.  A machine identity's token that
 * expires within five minutes is renewed and the file rewritten (when the
 * server cannot be reached, it is loaded as it is); past its max TTL, -EACCES
 * (log in again). */
int arca_session_load(struct arca *a, const char *config_dir);
/* Deletes the saved session file. */
int arca_session_forget(const char *config_dir);

enum arca_session_kind {
    ARCA_SESSION_NONE,          /* logged out */
    ARCA_SESSION_USER,          /* e-mail and password */
    ARCA_SESSION_IDENTITY,      /* machine identity, universal auth */
    ARCA_SESSION_SERVICE_TOKEN, /* service token */
};
enum arca_session_kind arca_session_kind(const struct arca *a);
/* The logged-in user's e-mail, or NULL (also for identities and tokens).  BORROWED. */
const char *arca_session_email(const struct arca *a);
/* Who is logged in: a user's e-mail, an identity's or a service token's name;
 * NULL when logged out.  BORROWED. */
const char *arca_session_name(const struct arca *a);
/* The id of the logged-in user, identity or service token, or NULL.  BORROWED. */
const char *arca_session_id(const struct arca *a);
/* A service token's project id, NULL for other sessions.  BORROWED. */
const char *arca_session_project_id(const struct arca *a);
/* A service token's environment when all its scopes are in one, else NULL. */
const char *arca_session_environment(const struct arca *a);
/* An identity session's token expiry and max expiry (ms since the epoch; 0
 * when unknown or for other sessions).  Either pointer may be NULL. */
void arca_session_expiry(const struct arca *a, int64_t *ret_expires_at, int64_t *ret_max);

/* After -EAGAIN: the seconds the server asked to wait (Retry-After), 0 if it did
 * not say. */
unsigned arca_retry_after(const struct arca *a);

/* Is the server up?  0 when GET /api/status answered. */
int arca_status(struct arca *a);

/* --- offline cache ------------------------------------------------------- */

/* Keeps a local copy of what the server answers, for when it cannot be reached
 * (arca run, arca export).  Call before logging in (arca_session_load,
 * arca_login_environment).  for_what names what the calls read: the server
 * URL, project, environment, folder and every option that changes the answer;
 * one entry is kept per principal and for_what.  dir NULL means
 * $XDG_CACHE_HOME/arca, else ~/.cache/arca (created 0700).
 *
 * With the cache on, every GET answered 200 is kept as the server sent it
 * (encrypted records and wrapped keys, never a decrypted value) and
 * arca_cache_commit writes them, sealed with XChaCha20-Poly1305 under a key
 * derived from the session's private key or the service token's key part,
 * which the server never sees.  When a later GET finds the server down
 * (connection refused, unknown host, time-out, or 502/503/504), the entry is
 * opened and that call and every later one are answered from it; a call the
 * entry cannot answer fails as it would have without a cache.  An entry that
 * fails authentication is refused (-EBADMSG).  A 401, 403 or 404 deletes the
 * entry.  Only a session saved on disk (user, machine identity) or a service
 * token can use it: a machine identity logging in from ARCA_CLIENT_ID needs
 * the server to log in. */
int arca_cache_enable(struct arca *a, const char *dir, const char *for_what);
/* Writes the answers kept since arca_cache_enable as the entry (atomically, mode
 * 0600; the oldest entries beyond 64 are deleted), unless they came from the
 * cache, a call was refused, or the entry holds the same answers and is less
 * than an hour old.  0 when there is nothing to write. */
int arca_cache_commit(struct arca *a);
/* 0 when the calls were answered by the server; else the failure that made them
 * come from the entry (-ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -ENOTCONN for
 * the server's own 503: its database is unavailable, -EIO for a 502/503/504
 * of a proxy), and *ret_saved_at (optional) is when it was written (ms since
 * the epoch). */
int arca_cache_used(const struct arca *a, int64_t *ret_saved_at);

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
    int server_access; /* 1: the server holds a copy of the project key */
};

/* Creates a project (end-to-end encrypted: the project key is made here and
 * sealed to the caller's public key) with environments dev, staging, prod. */
int arca_project_create(struct arca *a, const char *name, struct arca_project **ret);
int arca_project_get(struct arca *a, const char *project_id, struct arca_project **ret);
/* Turns server access on (the project key is handed to the server, which keeps
 * it sealed under its root key and can then serve Infisical's plaintext
 * routes) or off (the server's copy is deleted).  Needs a project admin. */
int arca_project_set_server_access(struct arca *a, const char *project_id, int on);
int arca_projects_list(struct arca *a, struct arca_project **ret, size_t *ret_n);
/* Deletes a project and everything in it: environments, secrets and their
 * history, members, roles, service tokens (project admins).  The audit log
 * keeps its records.  Nothing brings it back. */
int arca_project_delete(struct arca *a, const char *project_id);
/* Changes a project's name (settings:edit); its slug and id stay. */
int arca_project_rename(struct arca *a, const char *project_id, const char *name);
void arca_project_free(struct arca_project *p);
void arca_projects_free(struct arca_project *p, size_t n);

/* Rotates a project's key (project admins): fetches every version of every
 * secret, opens each with the current key, makes a new random key, seals it to
 * every member's public key, re-encrypts every version (same associated data)
 * and sends it all in one request, which the server applies all or nothing.
 * The project's service tokens are revoked by the server (they hold the old
 * key).  ret_n_versions / ret_n_members (optional) count what was re-encrypted
 * and re-sealed.  -EBADMSG (and nothing changed) when a version does not open. */
int arca_project_rotate_key(struct arca *a, const char *project_id, size_t *ret_n_versions,
                            size_t *ret_n_members);

/* --- environments -------------------------------------------------------- */

/* A project's environments are listed by arca_project_get.  These need the
 * settings permission (project admins).  Slugs: lowercase letters, digits and
 * '-', 1..64; names 1..128 characters; position 0 means "after the last" on
 * create and "unchanged" on update; at most 64 environments a project.
 *
 * arca_environment_create: name NULL is the slug.  -EINVAL for a bad or
 * duplicate slug (the message says which), -EACCES, -ENOENT. */
int arca_environment_create(struct arca *a, const char *project_id, const char *slug,
                            const char *name, int position);
/* Changes the environment slug's name, position and/or slug (NULL / 0: keep).
 * Stored ciphertext is bound to the slug, so -EEXIST when the slug would change
 * in an environment where secrets were ever written; -EINVAL for a slug taken. */
int arca_environment_update(struct arca *a, const char *project_id, const char *slug,
                            const char *new_slug, const char *name, int position);
/* Deletes an environment in which no secret was ever written.  -EEXIST
 * otherwise (the message says how many secrets it holds): history is kept. */
int arca_environment_delete(struct arca *a, const char *project_id, const char *slug);
/* Deletes an environment with its secrets and their whole history (dry_run:
 * deletes nothing).  ret_secrets, ret_versions: what goes (went). */
int arca_environment_purge(struct arca *a, const char *project_id, const char *slug, int dry_run,
                           long long *ret_secrets, long long *ret_versions);

/* --- people -------------------------------------------------------------- */

struct arca_invite {
    char *id;
    char *email;
    char *org_role;   /* "admin" or "member" */
    char *expires_at; /* ISO-8601 */
    char *created_at; /* ISO-8601; lists only, else NULL */
    char *status;     /* "pending", "accepted" or "expired"; lists only, else NULL */
};

/* Invites email into an organization (organization_id NULL: the caller's
 * first) with org_role "admin" or "member" (organization admins only).
 * *ret_token is the invite token to hand to the person (OWNED, SECRET:
 * arca_secret_string_free); ret optional.  -EEXIST if the address already has
 * an account. */
int arca_invite_create(struct arca *a, const char *email, const char *org_role,
                       const char *organization_id, struct arca_invite **ret, char **ret_token);
void arca_invite_free(struct arca_invite *i);
/* The invites of the caller's organization (organization admins), oldest
 * first; never a token.  *ret OWNED: arca_invites_free. */
int arca_invites_list(struct arca *a, struct arca_invite **ret, size_t *ret_n);
void arca_invites_free(struct arca_invite *v, size_t n);
struct arca_org_user {
    char *id;
    char *email;
    char *org_role;   /* "admin" or "member" */
    char *created_at; /* ISO-8601: when they joined */
};
/* The people of the caller's organization (organization admins), oldest
 * first.  *ret OWNED: arca_org_users_free. */
int arca_org_users_list(struct arca *a, struct arca_org_user **ret, size_t *ret_n);
void arca_org_users_free(struct arca_org_user *v, size_t n);

/* A project a person is a member of (arca_org_user_remove). */
struct arca_user_project {
    char *id;
    char *name;
    char *role;
};
/* Removes a person from the caller's organization (organization admins): from
 * every project of it, their sessions end.  dry_run: changes nothing.  *ret:
 * their projects (they had).  -EEXIST for the organization's last admin, the
 * last admin of one of its projects or yourself; -ENOENT.  *ret OWNED:
 * arca_user_projects_free. */
int arca_org_user_remove(struct arca *a, const char *user_id, int dry_run,
                         struct arca_user_project **ret, size_t *ret_n);
void arca_user_projects_free(struct arca_user_project *v, size_t n);

/* Revokes a pending invite: its token no longer signs up.  -ENOENT: none. */
int arca_invite_revoke(struct arca *a, const char *invite_id);

/* --- project members ----------------------------------------------------- */

enum arca_principal_type {
    ARCA_PRINCIPAL_USER,
    ARCA_PRINCIPAL_IDENTITY,
};

struct arca_member {
    enum arca_principal_type type;
    char *principal_id;
    char *name;       /* a user's e-mail or an identity's name */
    char *role;       /* a built-in role or a custom role's slug */
    char *created_at; /* ISO-8601 */
};

int arca_members_list(struct arca *a, const char *project_id, struct arca_member **ret,
                      size_t *ret_n);
void arca_members_free(struct arca_member *m, size_t n);

/* Adds a user (who: their e-mail, looked up in the caller's organizations) or a
 * machine identity (who: its name or id) to a project with role.  The project
 * key (opened here) is sealed to the new member's public key; the server never
 * sees it.  -ENOENT for an unknown person or identity, -EEXIST if already a
 * member. */
int arca_member_add(struct arca *a, const char *project_id, enum arca_principal_type type,
                    const char *who, const char *role);
/* Changes a member's role / removes a member.  who: an e-mail, an identity name
 * or a principal id, as arca_members_list shows them.  -ENOENT when no member
 * matches, -EINVAL when several do, -EEXIST for the last admin. */
int arca_member_update(struct arca *a, const char *project_id, const char *who, const char *role);
int arca_member_remove(struct arca *a, const char *project_id, const char *who);

/* --- roles --------------------------------------------------------------- */

struct arca_role {
    char *slug;
    char *name;
    int builtin; /* 1 for admin, member, viewer, no-access */
    char *rules; /* the rules as a JSON array text (docs/api.md) */
};

/* Turns rule specs into the JSON rules of a role.  A spec is
 *     SUBJECT:ACTIONS:ENVS[:PATHGLOB]   for secrets and folders
 *     SUBJECT:ACTIONS                   for members, roles, identities,
 *                                       service-tokens, audit-logs, settings
 * ACTIONS is a comma list of read, create, edit, delete, describe, or "*";
 * ENVS a comma list of environment slugs, or "*"; PATHGLOB a folder glob
 * where "**" is any number of folders (default: every folder).  allow and deny
 * hold n_allow and n_deny specs; at least one allow.  *ret_json OWNED (free).
 * -EINVAL with a message naming the spec and the part that is wrong. */
int arca_rules_from_specs(struct arca *a, const char *const *allow, size_t n_allow,
                          const char *const *deny, size_t n_deny, char **ret_json);

/* Creates a custom role in a project; rules_json as arca_rules_from_specs makes
 * it.  name NULL: the slug.  -EEXIST for a slug in use or a built-in one. */
int arca_role_create(struct arca *a, const char *project_id, const char *slug, const char *name,
                     const char *rules_json);
/* Changes a custom role's name and/or rules (NULL: keep); its holders have
 * the new rules at once.  You must hold every right of its rules as they are
 * and as they become (-EACCES).  -ENOENT. */
int arca_role_update(struct arca *a, const char *project_id, const char *slug, const char *name,
                     const char *rules_json);
/* The project's roles, built-in ones included. */
int arca_roles_list(struct arca *a, const char *project_id, struct arca_role **ret, size_t *ret_n);
/* -EEXIST while a member still has the role. */
int arca_role_delete(struct arca *a, const char *project_id, const char *slug);
void arca_roles_free(struct arca_role *r, size_t n);

/* --- machine identities -------------------------------------------------- */

struct arca_identity {
    char *id;
    char *name;
    char *client_id;
    char *organization_id;
    char *created_at;                    /* ISO-8601 */
    int64_t access_token_ttl;            /* seconds */
    int64_t access_token_max_ttl;        /* seconds */
    int64_t access_token_num_uses_limit; /* requests per access token, 0: unlimited */
};

/* Optional settings of a new identity; 0 / NULL fields take the server's default. */
struct arca_identity_options {
    const char *project_id;       /* also add the identity to this project ... */
    const char *role;             /* ... with this role (required with project_id) */
    const char *organization_id;  /* NULL: the project's, else the caller's first organization */
    int64_t access_token_ttl;     /* seconds (server default 7200) */
    int64_t access_token_max_ttl; /* seconds (server default 2592000) */
    int64_t access_token_num_uses_limit; /* requests per access token (default 0: unlimited) */
    const char *trusted_ips;             /* comma-separated CIDRs; NULL or "": any */
};

/* Creates a machine identity (organization admins).  Its key pair and its
 * client secret (32 random bytes as 64 hex characters) are made here; the
 * server receives only the public key, the authentication key derived from the
 * secret, and the private key sealed under the secret's key-encryption key.
 * *ret_client_secret is shown once and cannot be recovered (OWNED, SECRET:
 * arca_secret_string_free).  ret optional; opts may be NULL.  With
 * opts->project_id the identity is then added to the project (as
 * arca_member_add); if that fails it is deleted again, so either both happen or
 * neither.  -EEXIST for a name in use in the organization. */
int arca_identity_create(struct arca *a, const char *name, const struct arca_identity_options *opts,
                         struct arca_identity **ret, char **ret_client_secret);
int arca_identities_list(struct arca *a, struct arca_identity **ret, size_t *ret_n);
/* who: the identity's name or id.  Also ends its memberships and tokens. */
int arca_identity_delete(struct arca *a, const char *who);
void arca_identity_free(struct arca_identity *i);
void arca_identities_free(struct arca_identity *i, size_t n);

/* One of an identity's client secrets, as the server describes it (never the
 * secret itself). */
struct arca_client_secret {
    char *id;
    char *prefix;           /* the secret's first characters, to tell them apart */
    char *description;      /* "" if none */
    char *expires_at;       /* ISO-8601, NULL: never */
    int64_t num_uses;       /* logins made with it */
    int64_t num_uses_limit; /* logins allowed, 0: unlimited */
    int revoked;            /* 1 once revoked */
    char *created_at;       /* ISO-8601, "" if unknown */
};

/* Optional settings of a new client secret; 0 / NULL fields: none. */
struct arca_client_secret_options {
    const char *description; /* 1 to 128 bytes of UTF-8, no control characters */
    int64_t ttl;             /* seconds until it expires; 0: never */
    int64_t num_uses_limit;  /* logins allowed; 0: unlimited */
};

/* Makes a new client secret for the identity who (its name or id), as an
 * organization admin who holds the identity's role in each of its projects;
 * an identity never makes its own.  This client cannot open the identity's
 * private key, so the secret comes with a new key pair: the project key of each
 * of the identity's projects (opened here) is sealed to the new public key, and
 * the server revokes the identity's other client secrets and their access
 * tokens in the same transaction.  *ret_client_secret is shown once (OWNED,
 * SECRET: arca_secret_string_free); ret optional; opts may be NULL.  -EACCES
 * when a is an identity's session or the server refuses (not an organization
 * admin, or a role of the identity's that the caller does not hold), -ENOENT
 * for an unknown identity. */
int arca_client_secret_create(struct arca *a, const char *who,
                              const struct arca_client_secret_options *opts,
                              struct arca_client_secret **ret, char **ret_client_secret);
/* The identity's client secrets, revoked ones included (organization admins
 * or the identity itself). */
int arca_client_secrets_list(struct arca *a, const char *who, struct arca_client_secret **ret,
                             size_t *ret_n);
/* Revokes one client secret of the identity: it no longer logs in, and the
 * access tokens it gave are revoked too.  -ENOENT for an unknown id. */
int arca_client_secret_revoke(struct arca *a, const char *who, const char *secret_id);
void arca_client_secret_free(struct arca_client_secret *s);
void arca_client_secrets_free(struct arca_client_secret *s, size_t n);

/* --- service tokens ------------------------------------------------------ */

/* Where a service token may read (or write): an environment and a folder path
 * or a glob with "*" and "**" segments, as in role rules. */
struct arca_token_scope {
    const char *environment;
    const char *path;
};

struct arca_service_token {
    char *id;
    char *name;
    struct arca_token_scope *scopes; /* the strings are OWNED by the token */
    size_t n_scopes;
    int write;        /* 1: read-write, 0: read */
    char *expires_at; /* ISO-8601, NULL: never */
    char *created_at; /* ISO-8601, "" if unknown */
    int revoked;      /* 1: revoked (lists keep revoked tokens) */
};

/* Creates a service token for n scopes of a project, read-only or read-write
 * (write), expiring in expires_in seconds (0: never).  The caller's role must
 * allow what the scopes grant.  A random <key> made here seals the project key
 * for the token, so *ret_token "st.<id>.<secret>.<key>" is shown once and
 * cannot be recovered (OWNED, SECRET: arca_secret_string_free).  ret optional. */
int arca_service_token_create(struct arca *a, const char *project_id, const char *name,
                              const struct arca_token_scope *scopes, size_t n, int write,
                              int64_t expires_in, struct arca_service_token **ret,
                              char **ret_token);
int arca_service_tokens_list(struct arca *a, const char *project_id,
                             struct arca_service_token **ret, size_t *ret_n);
int arca_service_token_revoke(struct arca *a, const char *project_id, const char *token_id);
void arca_service_token_free(struct arca_service_token *t);
void arca_service_tokens_free(struct arca_service_token *t, size_t n);

/* Parses a duration: a whole number with a unit, "30d", "12h", "45m", "3600s"
 * ("0" alone is 0), into seconds.  At most 100 years.  -EINVAL otherwise.
 * Needs no handle. */
int arca_duration_parse(const char *s, int64_t *ret_seconds);

/* --- share links ----------------------------------------------------------- */

/* A value handed to someone through a link "<site>/s/<id>#<key>" that shows it
 * a limited number of times until it expires.  The value is encrypted here
 * under a random key that only the link holds (in its fragment, which browsers
 * never send); the server stores ciphertext it cannot open.  With a password,
 * the opener also needs it (Argon2id, as for accounts). */
struct arca_share_options {
    int64_t expires_in;   /* seconds, 300 to 30 days; 0: the server's default (1 day) */
    int64_t max_views;    /* 1 to 100; 0: the default (1); -1: unlimited */
    const char *password; /* NULL: none */
    size_t password_len;
    int org_only; /* only members of the organization may open it */
};

struct arca_share {
    char *id;
    char *created_at;
    char *expires_at;
    int64_t max_views;  /* 0: unlimited */
    int64_t views_left; /* -1: unlimited */
    int org_only;
    int password_protected;
};

/* Shares <value, len> (at most 64 KiB); *ret_link OWNED, SECRET
 * (arca_secret_string_free): the only copy of the key.  ret optional. */
int arca_share_create(struct arca *a, const char *value, size_t len,
                      const struct arca_share_options *o, struct arca_share **ret, char **ret_link);
/* The site a link belongs to ("https://host[:port]", for arca_new): OWNED
 * (free).  -EINVAL when link is not of the form above.  Needs no handle. */
int arca_share_link_site(const char *link, char **ret_site);
/* What the server says of a share before it is opened (no view counted).
 * -ENOENT when it does not exist, expired or was used up (one answer). */
int arca_share_info(struct arca *a, const char *link, struct arca_share **ret);
/* Opens a share: counts a view and decrypts the value into *ret_value
 * (OWNED, SECRET: arca_secret_string_free; *ret_len its length).  password
 * NULL for a share without one (-EACCES when it needs one, or is wrong: no view
 * is counted then).  -ENOENT as arca_share_info; -EBADMSG when the link's key
 * does not open it.  ret (optional) gets the share as it is after this view. */
int arca_share_open(struct arca *a, const char *link, const char *password, size_t password_len,
                    char **ret_value, size_t *ret_len, struct arca_share **ret);
/* The caller's active shares, oldest first (never values). */
int arca_shares_list(struct arca *a, struct arca_share **ret, size_t *ret_n);
/* Deletes a share now (its creator, or an admin of its organization). */
int arca_share_revoke(struct arca *a, const char *id);
/* Organization rules for shares (admins set them): the longest lifetime, in
 * seconds, and whether shares may be opened without an account.  set: a
 * max_expires_in of 0 or allow_anonymous of -1 keeps the current one. */
int arca_share_policy_get(struct arca *a, int64_t *ret_max_expires_in, int *ret_allow_anonymous);
int arca_share_policy_set(struct arca *a, int64_t max_expires_in, int allow_anonymous);
void arca_share_free(struct arca_share *s);
void arca_shares_free(struct arca_share *s, size_t n);

/* --- secrets ------------------------------------------------------------- */

/* Personal overrides: a user's own value for a shared secret, seen by that
 * user only (machine identities and service tokens have none).  Flags of an
 * arca_scope: */
enum arca_scope_flags {
    ARCA_PERSONAL = 1 << 0,    /* get, set, delete, versions: the caller's personal override
                                * of the key, not the shared secret (users only: -EINVAL
                                * otherwise); setting one needs the shared secret (-EINVAL) */
    ARCA_OVERRIDES = 1 << 1,   /* list: the caller's override replaces the shared entry */
    ARCA_SHARED_ONLY = 1 << 2, /* list, expand: shared secrets only, overrides ignored */
    ARCA_IMPORTS = 1 << 3,     /* list: merge in what the folder imports (see below) */
    ARCA_RECURSIVE = 1 << 4,   /* list: add the secrets of every sub-folder */
};

/* Where secrets live: project, environment slug, folder path ("/" if NULL). */
struct arca_scope {
    const char *project_id;
    const char *environment;
    const char *path;
    unsigned flags; /* enum arca_scope_flags, 0: none */
};

struct arca_secret {
    char *key;
    char *value;   /* SECRET, NUL-terminated */
    char *comment; /* SECRET, NUL-terminated, "" if none */
    int64_t version;
    char *updated_at;  /* ISO-8601 */
    char *environment; /* where the secret lives: the listed folder's, or an */
    char *path;        /* imported folder's, or a sub-folder's (recursive) */
    int personal;      /* 1: the caller's personal override of the shared secret key */
};

struct arca_secret_list {
    struct arca_secret *v; /* ordered by key (then path) */
    size_t n;
};

/* Fetches and decrypts every secret of a folder: the shared ones and the
 * caller's personal overrides (personal set), each override after the
 * shared secret of its key; with ARCA_OVERRIDES an override replaces the
 * shared entry, with ARCA_SHARED_ONLY overrides are left out.
 * With ARCA_IMPORTS, also the secrets of the folders it imports (arca imports
 * add): the folder's own secrets win over imported ones, and among imports
 * the last one (highest position) wins, as on the server's get-by-name and
 * Infisical's CLI; an imported folder's own imports count too (nested, each
 * folder once).  The server leaves out what the caller may not read.  With
 * ARCA_RECURSIVE the secrets of every sub-folder the caller may read are
 * added (a key may then appear once per folder).  Each secret's environment
 * and path say where it lives. */
int arca_secrets_list(struct arca *a, const struct arca_scope *scope,
                      struct arca_secret_list **ret);
/* Fetches and decrypts one secret.  -ENOENT when absent. */
int arca_secret_get(struct arca *a, const struct arca_scope *scope, const char *key,
                    struct arca_secret **ret);
void arca_secret_free(struct arca_secret *s);
void arca_secret_list_free(struct arca_secret_list *l);

/* Expands the secret references in the values of l, the folder scope as
 * arca_secrets_list(_ex) returned it, with the rules of the server's raw
 * routes (each secret in the context of the folder it lives in, so that an
 * imported secret's ${KEY} is KEY of its own folder):
 * ${KEY} is KEY in the same environment and folder, ${env.KEY} KEY at the
 * root "/" of environment env, ${env.a.b.KEY} KEY in folder /a/b of env (the
 * caller's personal override of KEY where it has one, unless ARCA_SHARED_ONLY); a
 * referenced value is itself expanded, at most 8 references deep; "${" with
 * no closing "}" is kept as is; an expanded value holds at most 256 KiB and
 * takes at most 256 references to expand, nested ones included.  Other folders are fetched with
 * arca_secrets_list (each once per call).  On success every value holding a reference is replaced
 * by its expansion (the old value wiped); on failure l is unchanged.  -ENOENT a reference names an
 * unknown environment or a missing secret; -EINVAL a cycle, too deep a
 * nesting or a malformed reference; -EACCES the server refused reading a
 * referenced folder; -E2BIG an expansion over 256 KiB or 256 references.  The message names the
 * secret and the reference, never a value. */
int arca_secrets_expand(struct arca *a, const struct arca_scope *scope, struct arca_secret_list *l);
/* arca_secrets_expand, where one secret's failing reference affects only that
 * secret: a reference that does not resolve (missing secret or environment, a
 * cycle, too deep, malformed, too large) leaves its value as written, one into
 * a folder the caller may not read leaves the secret out of l; each gives a
 * line in *ret_warnings (naming the secret and the reference, never a value;
 * OWNED, arca_strings_free).  Fails only for what is not about one secret
 * (network, server, memory).  In both, "\${" stands for a literal "${". */
int arca_secrets_expand_lenient(struct arca *a, const struct arca_scope *scope,
                                struct arca_secret_list *l, char ***ret_warnings, size_t *ret_n);
void arca_strings_free(char **v, size_t n);

/* --- folders and imports -------------------------------------------------- */

struct arca_folder {
    char *id;
    char *name;       /* the last part of path */
    char *path;       /* canonical, e.g. /app/api */
    char *created_at; /* ISO-8601 */
};
/* The sub-folders of scope's folder (every descendant when recursive), ordered
 * by path.  A folder exists once a secret was written in it or below it, or
 * it was created. */
int arca_folders_list(struct arca *a, const struct arca_scope *scope, int recursive,
                      struct arca_folder **ret, size_t *ret_n);
/* Creates the folder name (letters, digits, '-', '_') in scope's folder, and
 * any missing parent; an existing folder is returned as it is.  ret optional. */
int arca_folder_create(struct arca *a, const struct arca_scope *parent, const char *name,
                       struct arca_folder **ret);
/* Deletes scope's folder and everything below it: each secret gets a deleted
 * version (history is kept), the folders' imports go.  Folders cannot be
 * renamed: values are sealed to their path. */
int arca_folder_delete(struct arca *a, const struct arca_scope *folder);
void arca_folders_free(struct arca_folder *f, size_t n);

/* A secret import: the folder sees the secrets of environment:path below its
 * own (see ARCA_IMPORTS, arca_secrets_list). */
struct arca_import {
    char *id;
    char *environment; /* the source's environment slug */
    char *path;        /* the source's folder */
    int64_t position;  /* 1, 2, ...: a higher position wins */
};
/* The imports of scope's folder, by position. */
int arca_imports_list(struct arca *a, const struct arca_scope *scope, struct arca_import **ret,
                      size_t *ret_n);
/* Makes scope's folder import from_env:from_path, last in order.  The server
 * requires "folders edit" on the folder and "secrets read" on the source.
 * -EINVAL for an import that exists, or a folder's twenty-first.  ret optional. */
int arca_import_add(struct arca *a, const struct arca_scope *scope, const char *from_env,
                    const char *from_path, struct arca_import **ret);
int arca_import_remove(struct arca *a, const char *project_id, const char *import_id);
void arca_imports_free(struct arca_import *v, size_t n);

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

/* Renames secret from to to in the scope's folder, in one transaction: to is
 * created with from's value and comment (sealed again to its name), from gets
 * a deleted version (and so loses its personal overrides).  -ENOENT no from,
 * -EEXIST to exists, -EINVAL a bad name or a personal scope.  *ret_version
 * (optional): to's version. */
int arca_secret_rename(struct arca *a, const struct arca_scope *scope, const char *from,
                       const char *to, int64_t *ret_version);

/* Frees memory that holds a secret (wiping it).  Accepts NULL. */
void arca_secret_string_free(char *s);

/* --- history ------------------------------------------------------------- */

struct arca_secret_version {
    int64_t version;
    enum arca_change action; /* ARCA_CREATED, ARCA_UPDATED or ARCA_DELETED */
    char *value;             /* SECRET, NUL-terminated; NULL for a deletion */
    char *comment;           /* SECRET, NUL-terminated, "" if none; NULL for a deletion */
    char *updated_at;        /* ISO-8601 */
    char *actor_id;          /* who wrote it, "" if unknown */
};

/* Every version of a secret, newest first, decrypted.  A version is "created"
 * when it is the first or follows a deletion.  -ENOENT for a secret that never
 * existed. */
int arca_secret_versions(struct arca *a, const struct arca_scope *scope, const char *key,
                         struct arca_secret_version **ret, size_t *ret_n);
void arca_secret_versions_free(struct arca_secret_version *v, size_t n);

/* Writes version N of a secret again, as a new version (a deletion if version N
 * was one).  ret_action / ret_version (optional): what the new version is. */
int arca_secret_rollback(struct arca *a, const struct arca_scope *scope, const char *key,
                         int64_t version, enum arca_change *ret_action, int64_t *ret_version);

struct arca_rollback {
    char *key;
    int64_t version;         /* the new version */
    enum arca_change action; /* ARCA_CREATED (restored), ARCA_UPDATED, ARCA_DELETED */
};

/* Puts every secret of a folder back as it was at time to (ISO-8601), as new
 * versions, in one transaction: secrets created since are deleted, deleted
 * ones restored, changed ones given their old record.  *ret (n entries) lists
 * what changed; ret may be NULL. */
int arca_secrets_rollback(struct arca *a, const struct arca_scope *scope, const char *to,
                          struct arca_rollback **ret, size_t *ret_n);
/* What arca_secrets_rollback would do, changing nothing: each item's version
 * is the one now current, its action what the rollback would write. */
int arca_secrets_rollback_plan(struct arca *a, const struct arca_scope *scope, const char *to,
                               struct arca_rollback **ret, size_t *ret_n);
void arca_rollbacks_free(struct arca_rollback *v, size_t n);

/* --- audit log ----------------------------------------------------------- */

/* Which records: every field is optional (NULL / 0). */
struct arca_audit_query {
    const char *project_id; /* a project's records (audit-logs:read); NULL: the
                               organization's (organization admins) */
    const char *event;      /* exact, or a prefix ending in '.': "secret." */
    const char *actor;      /* an actor's id or name */
    const char *since;      /* ISO-8601, or a duration ago ("24h") */
    const char *until;      /* ISO-8601, or a duration ago */
    int64_t after;          /* only records with seq > after (paging) */
    unsigned limit;         /* 1..1000, 0: the server's default (100) */
    int newest_first;       /* 1: the last `limit` records, newest first (no paging) */
};

struct arca_audit_record {
    int64_t seq;
    char *time; /* ISO-8601 */
    char *actor_type;
    char *actor_id;
    char *actor_name;
    char *event;
    char *outcome;    /* "success", "denied", "failure" */
    char *project_id; /* "" when none, as the strings below */
    char *environment;
    char *path;
    char *key;
    char *ip;
    char *user_agent;
    char *hash;
    char *json; /* the whole record as the server sent it, compact JSON */
};

/* One page of records in seq order; *ret_next (optional) is the seq to pass as
 * after for the next page, -1 when this was the last. */
int arca_audit_logs_list(struct arca *a, const struct arca_audit_query *q,
                         struct arca_audit_record **ret, size_t *ret_n, int64_t *ret_next);
void arca_audit_records_free(struct arca_audit_record *r, size_t n);

struct arca_audit_verify {
    int ok;                /* 1: the chain is intact */
    int64_t records;       /* records checked */
    int64_t head_seq;      /* ok: the last record */
    char *head_hash;       /* ok: its hash */
    int64_t first_bad_seq; /* !ok: the first record that breaks the chain */
    char *reason;          /* !ok: why */
    int wrong_key;         /* !ok: 1 when the records from first_bad_seq on were written by a
                            * server with another root key, 0 when one was changed */
    int64_t anchor_seq;    /* the log starts after this record (archived); 0: at the first */
};

/* Asks the server to check the audit chain (organization admins).  A broken
 * chain is not an error: ret->ok is 0. */
int arca_audit_logs_verify(struct arca *a, struct arca_audit_verify **ret);
void arca_audit_verify_free(struct arca_audit_verify *v);

/* --- long-running clients (arca agent, arca run --watch) ----------------- */

/* Makes a's GETs conditional: each answer is kept in memory (at most 64
 * paths) with its ETag, the next GET of the same path sends If-None-Match,
 * and the server's bodiless 304 is answered with a copy of the kept answer.
 * For a process that reads the same folders again and again. */
void arca_conditional_enable(struct arca *a);
/* Conditional GETs answered 200 (a new answer) and 304 (unchanged) so far.
 * Either pointer may be NULL. */
void arca_conditional_stats(const struct arca *a, uint64_t *ret_fresh, uint64_t *ret_not_modified);

#define ARCA_CURSOR_MAX 32 /* bytes of a change-feed cursor, with its NUL */

/* The server's change feed, a long poll.  cursor "" answers at once with the
 * current cursor (*ret_changed 0): read it before fetching what you watch.
 * With the cursor of the last answer, waits until the server changes
 * something or timeout_s (1..25) passes; *ret_changed (optional) is 1 then,
 * and cursor is updated.  A change anywhere on the server may wake it: fetch
 * again (conditionally) to know whether the folder changed.  The caller must
 * be allowed to list scope's folder; each call is audited. */
int arca_watch(struct arca *a, const struct arca_scope *scope, char cursor[ARCA_CURSOR_MAX],
               unsigned timeout_s, int *ret_changed);

#ifdef __cplusplus
}
#endif
#endif
