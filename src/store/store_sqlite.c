/* store_sqlite.c - the embedded SQLite backend of store.h.
 *
 * One database file, <dir>/arca.db, in WAL mode with synchronous=FULL: a call
 * that returned 0 is on disk, and readers never wait for the writer.
 *
 * Threads: one write connection behind a mutex (write_lock), with group
 * commit: concurrent mutating calls share one transaction and one fsync.  A
 * call takes write_lock, opens the transaction (BEGIN IMMEDIATE) unless one is
 * open, and does its work inside its own SAVEPOINT, so that its failure rolls
 * back its own changes only.  When it is done, if another call is waiting for
 * write_lock and the batch has room, it hands the open transaction on and waits
 * until someone commits it; else it COMMITs and gives every waiting call of the
 * batch the COMMIT's result (sq_write_end).  A call still returns only once its
 * changes are on disk, and fails if they are not; if SQLite rolls the whole
 * transaction back on its own (a full disk, an I/O error), every call of the
 * batch fails.  Every write call ends in sq_conn_releasep, with write_lock held.
 * As a call may wait for the calls after it, a callback of a write call
 * (audit_append's chain, restore's next) must not take a lock that a caller
 * of the store may hold across a write call.
 * Reads take a connection from a pool of at most SQ_MAX_READERS (opened
 * lazily, kept on a free list, marked query_only) and wait only when all of
 * them are busy.  A connection is used by one thread at a time (a writer call
 * waiting for its batch has reset its statements), so it is opened without
 * SQLite's own mutex.
 *
 * Every statement is in sq_stmts[] below and is prepared once per connection,
 * on first use; values are always bound, never formatted into SQL.  The one
 * exception to "one fixed text" is audit_query: one statement per combination
 * of its filters (so each can use its index), assembled from fixed fragments
 * and likewise prepared once per connection.
 *
 * A connection is borrowed into a cleanup variable (_cleanup_conn_); returning
 * it rolls back a transaction that was not committed, so every early return of
 * a write undoes what it did.
 *
 * At open, the migrations of migrations.h newer than the newest version in
 * schema_migrations are applied in order, all in one transaction; a database
 * written by a newer binary is refused.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/names.h"
#include "base/util.h"
#include "store/migrations.h"
#include "store/store_backend.h"
#include "store/store_sqlite.h"

#define SQ_MAX_READERS 8
#define SQ_BATCH_MAX 64 /* write calls at most in one transaction */
#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_ERR_MAX 256 /* longest message kept in store->err, NUL included */
#define SQ_ROLE_SIZE sizeof(((struct store_member *)0)->role) /* a role name, NUL included */

#ifndef _cleanup_
#define _cleanup_(f) __attribute__((cleanup(f)))
#endif

/* Moves a struct out of a cleanup variable, leaving zeros behind. */
#define TAKE_STRUCT(x)                                                                             \
    ({                                                                                             \
        __typeof__(x) _x_ = (x);                                                                   \
        memset(&(x), 0, sizeof(x));                                                                \
        _x_;                                                                                       \
    })

#define SECRET_COLS "id, key, path, version, value, comment, updated_at, updated_by, owner_id"
/* sq_read_share reads either: a list leaves the ciphertext out (NULL). */
#define SHARE_COLS                                                                                 \
    "id, org_id, created_by, ciphertext, auth_hash, kdf_salt, kdf_opslimit, kdf_memlimit, "        \
    "org_only, max_views, views, created_at, expires_at, access_hash"
#define SHARE_LIST_COLS                                                                            \
    "id, org_id, created_by, NULL, auth_hash, kdf_salt, kdf_opslimit, kdf_memlimit, "              \
    "org_only, max_views, views, created_at, expires_at, access_hash"
#define SHARED "type = 'shared' AND owner_id = ''"

enum sq_stmt {
    ST_BEGIN,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_USER_COUNT,
    ST_USER_INSERT,
    ST_USER_BY_ID,
    ST_USER_BY_EMAIL,
    ST_USER_ORGS,
    ST_ORG_INSERT,
    ST_ORG_MEMBER_INSERT,
    ST_SESSION_INSERT,
    ST_SESSION_GET,
    ST_SESSION_DELETE,
    ST_PROJECT_INSERT,
    ST_PROJECT_GET,
    ST_PROJECT_LIST,
    ST_ENV_INSERT,
    ST_ENV_LIST,
    ST_ENV_COUNT,
    ST_ENV_SECRET_COUNTS,
    ST_ENV_RESLUG_BLOCKED,
    ST_ENV_UPDATE,
    ST_ENV_SHIFT,
    ST_ENV_DELETE,
    ST_MEMBER_INSERT,
    ST_MEMBER_GET,
    ST_SECRETS_LIST,
    ST_SECRET_GET,
    ST_SECRET_HISTORY,
    ST_SECRET_LOOKUP,
    ST_SECRET_INSERT,
    ST_SECRET_UPDATE,
    ST_VERSION_INSERT,
    ST_PERSONAL_TOMBSTONE_VERSIONS,
    ST_PERSONAL_TOMBSTONE,
    /* migration 0002 */
    ST_INVITE_INSERT,
    ST_INVITE_GET,
    ST_INVITE_STATE,
    ST_INVITE_ACCEPT,
    ST_ORG_ROLE,
    ST_LOGIN_FAILED,
    ST_LOGIN_OK,
    ST_LOCKED_UNTIL,
    ST_USER_EXISTS,
    ST_IDENTITY_EXISTS,
    ST_MEMBER_LIST,
    ST_MEMBER_DELETE,
    ST_MEMBER_SET_ROLE,
    ST_ROLE_INSERT,
    ST_ROLE_GET,
    ST_ROLE_LIST,
    ST_ROLE_IN_USE,
    ST_ROLE_DELETE,
    ST_IDENTITY_INSERT,
    ST_IDENTITY_GET,
    ST_IDENTITY_BY_CLIENT_ID,
    ST_IDENTITY_LIST,
    ST_IDENTITY_MEMBERS_DELETE,
    ST_IDENTITY_DELETE,
    ST_CSECRET_INSERT,
    ST_CSECRET_LIST,
    ST_CSECRET_USE,
    ST_CSECRET_EXISTS,
    ST_CSECRET_REVOKE,
    ST_PROJECT_SET_SERVER_KEY,
    ST_ATOKEN_INSERT,
    ST_ATOKEN_GET,
    ST_ATOKEN_USE,
    ST_ATOKEN_RENEW,
    ST_ATOKEN_REVOKE,
    ST_STOKEN_INSERT,
    ST_STOKEN_GET,
    ST_STOKEN_LIST,
    ST_STOKEN_REVOKE,
    ST_STOKEN_REVOKE_PROJECT,
    ST_PROJECT_EXISTS,
    ST_PROJECT_VERSIONS,
    ST_MEMBER_COUNT,
    ST_MEMBER_REKEY,
    ST_VERSION_COUNT,
    ST_VERSION_REKEY,
    ST_SECRETS_REKEY_CURRENT,
    ST_SECRETS_AT,
    ST_AUDIT_LAST,
    ST_AUDIT_NEXT_SEQ,
    /* migration 0005 */
    ST_FOLDER_INSERT,
    ST_FOLDER_GET,
    ST_FOLDER_FIND,
    ST_FOLDER_LIST,
    ST_SUBTREE_LIVE_SECRETS,
    ST_SECRET_TOMBSTONE,
    ST_SUBTREE_IMPORTS_DELETE,
    ST_SUBTREE_FOLDERS_DELETE,
    ST_IMPORT_INSERT,
    ST_IMPORT_COUNT,
    ST_IMPORT_LAST_POSITION,
    ST_IMPORT_LIST,
    ST_IMPORT_GET,
    ST_IMPORT_SET_POSITION,
    ST_IMPORT_DELETE,
    ST_SHARE_INSERT,
    ST_SHARE_GET,
    ST_SHARE_VIEW,
    ST_SHARE_LIST,
    ST_SHARE_DELETE,
    ST_SHARE_EXPIRED,
    ST_SHARE_POLICY_GET,
    ST_SHARE_POLICY_SET,
    ST_AUDIT_INSERT,
    /* migration 0008 */
    ST_ROOT_KEYS_LIST,
    ST_ROOT_KEY_NEWEST,
    ST_ROOT_KEY_INSERT,
    ST_ROOT_KEY_SET_AUDIT,
    ST_SERVER_KEYS_LIST,
    ST__MAX
};

#define USER_COLS                                                                                  \
    "id, email, auth_hash, kdf_salt, kdf_opslimit, kdf_memlimit, public_key, "                     \
    "encrypted_private_key, created_at"
/* A member with the e-mail or name of its principal. */
#define MEMBER_SELECT                                                                              \
    "SELECT m.project_id, m.principal_type, m.principal_id, m.role, m.wrapped_key, m.created_at, " \
    "coalesce(u.email, i.name, '') AS principal_name FROM project_members m "                      \
    "LEFT JOIN users u ON m.principal_type = 'user' AND u.id = m.principal_id "                    \
    "LEFT JOIN identities i ON m.principal_type = 'identity' AND i.id = m.principal_id "
#define INVITE_COLS                                                                                \
    "id, org_id, email, org_role, token_hash, created_by, created_at, expires_at, accepted_at"
#define ROLE_COLS "id, project_id, slug, name, rules, created_at"
#define IDENTITY_COLS                                                                              \
    "id, org_id, name, public_key, client_id, access_token_ttl, access_token_max_ttl, "            \
    "access_token_num_uses_limit, trusted_ips, created_by, created_at"
#define CSECRET_COLS                                                                               \
    "id, identity_id, auth_hash, encrypted_private_key, prefix, description, created_at, "         \
    "expires_at, num_uses, num_uses_limit, revoked"
#define ATOKEN_COLS                                                                                \
    "token_hash, identity_id, client_secret_id, created_at, expires_at, max_expires_at, "          \
    "num_uses, num_uses_limit, revoked"
#define STOKEN_COLS                                                                                \
    "id, project_id, name, secret_hash, scopes, read_write, wrapped_key, created_by, created_at, " \
    "expires_at, revoked"
#define AUDIT_COLS                                                                                 \
    "seq, time, actor_type, actor_id, actor_name, event, org_id, project_id, environment, path, "  \
    "key, ip, user_agent, outcome, metadata, prev_hash, hash"
#define ROOT_KEY_COLS "generation, key_check, audit_key, first_seq, created_at"
/* A credential that may still be used at ?2 (now). */
#define FOLDER_COLS "id, project_id, env_id, path, created_at"
#define IMPORT_COLS                                                                                \
    "id, project_id, env_id, path, import_env_id, import_path, position, created_at, created_by"
/* The folder ?2 of environment ?1 and its descendants; ?3 is ?2 with a
 * trailing '/' (the prefix of every descendant's path). */
#define SUBTREE "env_id = ?1 AND (path = ?2 OR substr(path, 1, length(?3)) = ?3)"

#define USABLE "revoked = 0 AND (num_uses_limit = 0 OR num_uses < num_uses_limit) AND "

static const struct {
    const char *name; /* for error messages */
    const char *sql;
} sq_stmts[ST__MAX] = {
    [ST_BEGIN] = {"begin", "BEGIN"},
    [ST_BEGIN_IMMEDIATE] = {"begin immediate", "BEGIN IMMEDIATE"},
    [ST_COMMIT] = {"commit", "COMMIT"},
    [ST_ROLLBACK] = {"rollback", "ROLLBACK"},
    [ST_SAVEPOINT] = {"savepoint", "SAVEPOINT op"},
    [ST_RELEASE] = {"release savepoint", "RELEASE op"},
    [ST_ROLLBACK_TO] = {"rollback to savepoint", "ROLLBACK TO op"},
    [ST_USER_COUNT] = {"count users", "SELECT count(*) FROM users"},
    [ST_USER_INSERT] = {"insert user", "INSERT INTO users (" USER_COLS ") "
                                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_USER_BY_ID] = {"get user", "SELECT " USER_COLS " FROM users WHERE id = ?"},
    [ST_USER_BY_EMAIL] = {"get user by email", "SELECT " USER_COLS " FROM users WHERE email = ?"},
    [ST_USER_ORGS] = {"list user orgs", "SELECT o.id, o.name, o.slug, o.created_at, m.role "
                                        "FROM org_members m JOIN orgs o ON o.id = m.org_id "
                                        "WHERE m.user_id = ? ORDER BY o.created_at, o.id"},
    [ST_ORG_INSERT] = {"insert org",
                       "INSERT INTO orgs (id, name, slug, created_at) VALUES (?, ?, ?, ?)"},
    [ST_ORG_MEMBER_INSERT] = {"insert org member", "INSERT INTO org_members "
                                                   "(org_id, user_id, role, created_at) "
                                                   "VALUES (?, ?, ?, ?)"},
    [ST_SESSION_INSERT] = {"insert session", "INSERT INTO sessions "
                                             "(token_hash, user_id, created_at, expires_at) "
                                             "VALUES (?, ?, ?, ?)"},
    [ST_SESSION_GET] = {"get session", "SELECT token_hash, user_id, created_at, expires_at "
                                       "FROM sessions WHERE token_hash = ?"},
    [ST_SESSION_DELETE] = {"delete session", "DELETE FROM sessions WHERE token_hash = ?"},
    [ST_PROJECT_INSERT] = {"insert project", "INSERT INTO projects "
                                             "(id, org_id, name, slug, created_at) "
                                             "VALUES (?, ?, ?, ?, ?)"},
    [ST_PROJECT_GET] = {"get project", "SELECT id, org_id, name, slug, created_at, server_key "
                                       "FROM projects WHERE id = ?"},
    [ST_PROJECT_SET_SERVER_KEY] = {"set server key",
                                   "UPDATE projects SET server_key = ? WHERE id = ?"},
    [ST_PROJECT_LIST] = {"list projects",
                         "SELECT p.id, p.org_id, p.name, p.slug, p.created_at, p.server_key "
                         "FROM project_members m JOIN projects p ON p.id = m.project_id "
                         "WHERE m.principal_id = ? ORDER BY p.name, p.id"},
    [ST_ENV_INSERT] = {"insert environment", "INSERT INTO environments "
                                             "(id, project_id, slug, name, position) "
                                             "VALUES (?, ?, ?, ?, ?)"},
    [ST_ENV_LIST] = {"list environments", "SELECT id, project_id, slug, name, position "
                                          "FROM environments WHERE project_id = ? "
                                          "ORDER BY position, slug"},
    [ST_ENV_COUNT] = {"count environments",
                      "SELECT count(*) FROM environments WHERE project_id = ?"},
    /* Live secrets, then secrets with a history (deleted ones included). */
    [ST_ENV_SECRET_COUNTS] = {"count environment secrets",
                              "SELECT count(s.value), count(s.id) FROM environments e "
                              "LEFT JOIN secrets s ON s.env_id = e.id "
                              "WHERE e.project_id = ? AND e.id = ?"},
    /* Secrets whose ciphertext is bound to the environment's slug, if ?3 is
     * another slug. */
    [ST_ENV_RESLUG_BLOCKED] = {"check environment slug change",
                               "SELECT count(*) FROM environments e JOIN secrets s "
                               "ON s.env_id = e.id WHERE e.project_id = ?1 AND e.id = ?2 "
                               "AND e.slug <> ?3"},
    [ST_ENV_UPDATE] = {"update environment",
                       "UPDATE environments SET slug = coalesce(?3, slug), "
                       "name = coalesce(?4, name), "
                       "position = CASE WHEN ?5 > 0 THEN ?5 ELSE position END "
                       "WHERE project_id = ?1 AND id = ?2"},
    /* Makes room at position ?2 for environment ?3. */
    [ST_ENV_SHIFT] = {"shift environments",
                      "UPDATE environments SET position = position + 1 "
                      "WHERE project_id = ?1 AND position >= ?2 AND id <> ?3"},
    [ST_ENV_DELETE] = {"delete environment",
                       "DELETE FROM environments WHERE project_id = ? AND id = ?"},
    [ST_MEMBER_INSERT] =
        {"insert member",
         "INSERT INTO project_members "
         "(project_id, principal_type, principal_id, role, wrapped_key, created_at) "
         "VALUES (?, ?, ?, ?, ?, ?)"},
    [ST_MEMBER_GET] = {"get member", MEMBER_SELECT "WHERE m.project_id = ? AND m.principal_id = ?"},
    /* owner_id '' is the shared secret (0001's CHECK): shared rows sort first. */
    [ST_SECRETS_LIST] = {"list secrets", "SELECT " SECRET_COLS " FROM secrets "
                                         "WHERE env_id = ?1 AND path = ?2 "
                                         "AND (owner_id = '' OR owner_id = ?3) "
                                         "AND value IS NOT NULL ORDER BY key, owner_id"},
    [ST_SECRET_GET] = {"get secret", "SELECT " SECRET_COLS " FROM secrets "
                                     "WHERE env_id = ? AND path = ? AND key = ? AND owner_id = ?"},
    [ST_SECRET_HISTORY] = {"secret history",
                           "SELECT s.id, s.key, s.path, v.version, v.value, v.comment, "
                           "v.created_at, v.actor_id, s.owner_id "
                           "FROM secrets s JOIN secret_versions v ON v.secret_id = s.id "
                           "WHERE s.env_id = ? AND s.path = ? AND s.key = ? AND s.owner_id = ?"
                           " ORDER BY v.version DESC"},
    [ST_SECRET_LOOKUP] = {"look up secret",
                          "SELECT id, project_id, version, value IS NOT NULL FROM secrets "
                          "WHERE env_id = ? AND path = ? AND key = ? AND owner_id = ?"},
    /* A comment bound as NULL keeps the current one; an empty blob clears it;
     * a tombstone (value NULL) has none. */
    [ST_SECRET_INSERT] = {"insert secret",
                          "INSERT INTO secrets (id, project_id, env_id, path, key, version, "
                          "value, comment, updated_at, updated_by, type, owner_id) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, nullif(?8, x''), ?9, ?10, "
                          "CASE WHEN ?11 = '' THEN 'shared' ELSE 'personal' END, ?11)"},
    [ST_SECRET_UPDATE] = {"update secret", "UPDATE secrets SET version = ?1, value = ?2, "
                                           "comment = CASE WHEN ?2 IS NULL THEN NULL "
                                           "WHEN ?3 IS NULL THEN comment ELSE nullif(?3, x'') END, "
                                           "updated_at = ?4, updated_by = ?5 WHERE id = ?6"},
    /* The history row is a copy of the current row, so the two cannot disagree. */
    [ST_VERSION_INSERT] = {"insert secret version",
                           "INSERT INTO secret_versions "
                           "(secret_id, version, value, comment, created_at, actor_id) "
                           "SELECT id, version, value, comment, updated_at, updated_by "
                           "FROM secrets WHERE id = ?"},
    /* Deleting a shared secret deletes every personal override of it: a
     * tombstone version for each live one (?1 env, ?2 path, ?3 key), then
     * the current rows follow. */
    [ST_PERSONAL_TOMBSTONE_VERSIONS] =
        {"tombstone personal versions",
         "INSERT INTO secret_versions "
         "(secret_id, version, value, comment, created_at, actor_id) "
         "SELECT id, version + 1, NULL, NULL, ?4, ?5 FROM secrets "
         "WHERE env_id = ?1 AND path = ?2 AND key = ?3 AND owner_id <> '' "
         "AND value IS NOT NULL"},
    [ST_PERSONAL_TOMBSTONE] = {"tombstone personal secrets",
                               "UPDATE secrets SET version = version + 1, value = NULL, "
                               "comment = NULL, updated_at = ?4, updated_by = ?5 "
                               "WHERE env_id = ?1 AND path = ?2 AND key = ?3 "
                               "AND owner_id <> '' AND value IS NOT NULL"},

    /* ---- migration 0002 ---- */
    [ST_INVITE_INSERT] = {"insert invite", "INSERT INTO org_invites (" INVITE_COLS ") "
                                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_INVITE_GET] = {"get invite",
                       "SELECT " INVITE_COLS " FROM org_invites WHERE token_hash = ?"},
    /* Also says whether the user's e-mail is the invited one (NOCASE column). */
    [ST_INVITE_STATE] = {"read invite", "SELECT org_id, org_role, accepted_at, email = ?2 "
                                        "FROM org_invites WHERE id = ?1"},
    [ST_INVITE_ACCEPT] = {"accept invite", "UPDATE org_invites SET accepted_at = ?2 "
                                           "WHERE id = ?1 AND accepted_at = 0"},
    [ST_ORG_ROLE] = {"get org role",
                     "SELECT role FROM org_members WHERE org_id = ? AND user_id = ?"},
    /* ?2 lock_after (0: never lock), ?3 the end of a new lock. */
    [ST_LOGIN_FAILED] = {"count failed login",
                         "UPDATE users SET failed_logins = failed_logins + 1, "
                         "locked_until = CASE WHEN ?2 > 0 AND failed_logins + 1 >= ?2 "
                         "THEN ?3 ELSE locked_until END "
                         "WHERE id = ?1 RETURNING failed_logins, locked_until"},
    [ST_LOGIN_OK] = {"reset failed logins",
                     "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = ?"},
    [ST_LOCKED_UNTIL] = {"get lock", "SELECT locked_until FROM users WHERE id = ?"},
    [ST_USER_EXISTS] = {"find user", "SELECT 1 FROM users WHERE id = ?"},
    [ST_IDENTITY_EXISTS] = {"find identity", "SELECT 1 FROM identities WHERE id = ?"},
    [ST_MEMBER_LIST] = {"list members",
                        MEMBER_SELECT "WHERE m.project_id = ? "
                                      "ORDER BY m.principal_type, principal_name COLLATE NOCASE, "
                                      "m.principal_id"},
    [ST_MEMBER_DELETE] = {"delete member", "DELETE FROM project_members "
                                           "WHERE project_id = ? AND principal_id = ?"},
    [ST_MEMBER_SET_ROLE] = {"set member role", "UPDATE project_members SET role = ?3 "
                                               "WHERE project_id = ?1 AND principal_id = ?2"},
    [ST_ROLE_INSERT] = {"insert role",
                        "INSERT INTO project_roles (" ROLE_COLS ") VALUES (?, ?, ?, ?, ?, ?)"},
    [ST_ROLE_GET] = {"get role", "SELECT " ROLE_COLS " FROM project_roles "
                                 "WHERE project_id = ? AND slug = ?"},
    [ST_ROLE_LIST] = {"list roles", "SELECT " ROLE_COLS " FROM project_roles "
                                    "WHERE project_id = ? ORDER BY slug"},
    [ST_ROLE_IN_USE] = {"find role holders", "SELECT 1 FROM project_members "
                                             "WHERE project_id = ? AND role = ? LIMIT 1"},
    [ST_ROLE_DELETE] = {"delete role",
                        "DELETE FROM project_roles WHERE project_id = ? AND slug = ?"},
    [ST_IDENTITY_INSERT] = {"insert identity", "INSERT INTO identities (" IDENTITY_COLS ") "
                                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_IDENTITY_GET] = {"get identity", "SELECT " IDENTITY_COLS " FROM identities WHERE id = ?"},
    [ST_IDENTITY_BY_CLIENT_ID] = {"get identity by client id",
                                  "SELECT " IDENTITY_COLS " FROM identities WHERE client_id = ?"},
    [ST_IDENTITY_LIST] = {"list identities", "SELECT " IDENTITY_COLS " FROM identities "
                                             "WHERE org_id = ? ORDER BY name, id"},
    [ST_IDENTITY_MEMBERS_DELETE] = {"delete identity memberships",
                                    "DELETE FROM project_members "
                                    "WHERE principal_type = 'identity' AND principal_id = ?"},
    /* Client secrets and access tokens go with it (ON DELETE CASCADE). */
    [ST_IDENTITY_DELETE] = {"delete identity", "DELETE FROM identities WHERE id = ?"},
    [ST_CSECRET_INSERT] = {"insert client secret",
                           "INSERT INTO identity_client_secrets (" CSECRET_COLS ") "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_CSECRET_LIST] = {"list client secrets",
                         "SELECT " CSECRET_COLS " FROM identity_client_secrets "
                         "WHERE identity_id = ? ORDER BY created_at, id"},
    /* Check and count in one statement: a limit of N allows exactly N uses. */
    [ST_CSECRET_USE] = {"use client secret",
                        "UPDATE identity_client_secrets SET num_uses = num_uses + 1 "
                        "WHERE id = ?1 AND " USABLE "(expires_at = 0 OR expires_at > ?2)"},
    [ST_CSECRET_EXISTS] = {"find client secret",
                           "SELECT 1 FROM identity_client_secrets WHERE id = ?"},
    [ST_CSECRET_REVOKE] = {"revoke client secret", "UPDATE identity_client_secrets SET revoked = 1 "
                                                   "WHERE identity_id = ? AND id = ?"},
    [ST_ATOKEN_INSERT] = {"insert access token",
                          "INSERT INTO identity_access_tokens (" ATOKEN_COLS ") "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_ATOKEN_GET] = {"get access token", "SELECT " ATOKEN_COLS " FROM identity_access_tokens "
                                           "WHERE token_hash = ?"},
    [ST_ATOKEN_USE] = {"use access token",
                       "UPDATE identity_access_tokens SET num_uses = num_uses + 1 "
                       "WHERE token_hash = ?1 AND " USABLE "expires_at > ?2"},
    /* Never past max_expires_at, whatever the caller asks. */
    [ST_ATOKEN_RENEW] = {"renew access token",
                         "UPDATE identity_access_tokens SET expires_at = min(?2, max_expires_at) "
                         "WHERE token_hash = ?1 AND revoked = 0"},
    [ST_ATOKEN_REVOKE] = {"revoke access token",
                          "UPDATE identity_access_tokens SET revoked = 1 WHERE token_hash = ?"},
    [ST_STOKEN_INSERT] = {"insert service token", "INSERT INTO service_tokens (" STOKEN_COLS ") "
                                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_STOKEN_GET] = {"get service token",
                       "SELECT " STOKEN_COLS " FROM service_tokens WHERE id = ?"},
    [ST_STOKEN_LIST] = {"list service tokens", "SELECT " STOKEN_COLS " FROM service_tokens "
                                               "WHERE project_id = ? ORDER BY created_at, id"},
    [ST_STOKEN_REVOKE] = {"revoke service token", "UPDATE service_tokens SET revoked = 1 "
                                                  "WHERE project_id = ? AND id = ?"},
    [ST_STOKEN_REVOKE_PROJECT] = {"revoke project service tokens",
                                  "UPDATE service_tokens SET revoked = 1 WHERE project_id = ?"},
    [ST_PROJECT_EXISTS] = {"find project", "SELECT 1 FROM projects WHERE id = ?"},
    [ST_PROJECT_VERSIONS] = {"list project versions",
                             "SELECT v.secret_id, e.slug, s.path, s.key, v.version, v.value, "
                             "v.comment, s.owner_id FROM secrets s "
                             "JOIN environments e ON e.id = s.env_id "
                             "JOIN secret_versions v ON v.secret_id = s.id "
                             "WHERE s.project_id = ? ORDER BY e.position, e.slug, s.path, "
                             "s.key, s.type, s.owner_id, v.version"},
    [ST_MEMBER_COUNT] = {"count members",
                         "SELECT count(*) FROM project_members WHERE project_id = ?"},
    [ST_MEMBER_REKEY] = {"rekey member", "UPDATE project_members SET wrapped_key = ?3 "
                                         "WHERE project_id = ?1 AND principal_id = ?2"},
    [ST_VERSION_COUNT] = {"count versions", "SELECT count(*) FROM secret_versions v JOIN secrets s "
                                            "ON s.id = v.secret_id WHERE s.project_id = ?"},
    /* Matches only a version of the project that keeps its shape: a
     * tombstone stays one, a comment stays present or absent. */
    [ST_VERSION_REKEY] = {"rekey version",
                          "UPDATE secret_versions SET value = ?3, comment = ?4 "
                          "WHERE secret_id = ?1 AND version = ?2 "
                          "AND EXISTS (SELECT 1 FROM secrets WHERE id = ?1 AND project_id = ?5) "
                          "AND (value IS NULL) = (?3 IS NULL) "
                          "AND (comment IS NULL) = (?4 IS NULL)"},
    [ST_SECRETS_REKEY_CURRENT] =
        {"rekey current secrets",
         "UPDATE secrets SET "
         "value = (SELECT v.value FROM secret_versions v "
         "WHERE v.secret_id = secrets.id AND v.version = secrets.version), "
         "comment = (SELECT v.comment FROM secret_versions v "
         "WHERE v.secret_id = secrets.id AND v.version = secrets.version) "
         "WHERE project_id = ?"},
    /* Each secret of the folder, deleted ones too, with its newest version
     * written at or before ?3 (NULLs if none). */
    [ST_SECRETS_AT] = {"secrets at",
                       "SELECT s.id, s.key, s.path, s.version, s.value, s.comment, s.updated_at, "
                       "s.updated_by, s.owner_id, v.version, v.value, v.comment, v.created_at, "
                       "v.actor_id "
                       "FROM secrets s LEFT JOIN secret_versions v ON v.secret_id = s.id "
                       "AND v.version = (SELECT max(x.version) FROM secret_versions x "
                       "WHERE x.secret_id = s.id AND x.created_at <= ?3) "
                       "WHERE s.env_id = ?1 AND s.path = ?2 AND s." SHARED " ORDER BY s.key"},
    [ST_AUDIT_LAST] = {"read audit head", "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1"},
    /* What AUTOINCREMENT will assign next (the caller holds the write lock). */
    [ST_AUDIT_NEXT_SEQ] = {"read audit seq", "SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
                                             "WHERE name = 'audit_log'), 0), "
                                             "coalesce((SELECT max(seq) FROM audit_log), 0)) + 1"},
    [ST_FOLDER_INSERT] = {"insert folder", "INSERT OR IGNORE INTO folders (" FOLDER_COLS ") "
                                           "VALUES (?, ?, ?, ?, ?)"},
    [ST_FOLDER_GET] = {"get folder", "SELECT " FOLDER_COLS " FROM folders WHERE id = ?"},
    [ST_FOLDER_FIND] = {"find folder",
                        "SELECT " FOLDER_COLS " FROM folders WHERE env_id = ? AND path = ?"},
    /* ?3 the descendants' prefix, ?4 1: all of them, 0: direct children only. */
    [ST_FOLDER_LIST] = {"list folders", "SELECT " FOLDER_COLS " FROM folders "
                                        "WHERE env_id = ?1 AND path != ?2 "
                                        "AND substr(path, 1, length(?3)) = ?3 "
                                        "AND (?4 OR instr(substr(path, length(?3) + 1), '/') = 0) "
                                        "ORDER BY path"},
    [ST_SUBTREE_LIVE_SECRETS] = {"list live secrets of folders",
                                 "SELECT id FROM secrets WHERE " SUBTREE " AND value IS NOT NULL"},
    [ST_SECRET_TOMBSTONE] = {"delete secret", "UPDATE secrets SET version = version + 1, "
                                              "value = NULL, comment = NULL, updated_at = ?2, "
                                              "updated_by = ?3 WHERE id = ?1"},
    [ST_SUBTREE_IMPORTS_DELETE] = {"delete imports of folders",
                                   "DELETE FROM secret_imports WHERE " SUBTREE},
    [ST_SUBTREE_FOLDERS_DELETE] = {"delete folders", "DELETE FROM folders WHERE " SUBTREE},
    [ST_IMPORT_INSERT] = {"insert import", "INSERT INTO secret_imports (" IMPORT_COLS ") "
                                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_IMPORT_COUNT] = {"count imports",
                         "SELECT count(*) FROM secret_imports WHERE env_id = ? AND path = ?"},
    /* not count(*): deleting a source environment leaves a gap (see 0005) */
    [ST_IMPORT_LAST_POSITION] = {"find last import",
                                 "SELECT coalesce(max(position), 0) "
                                 "FROM secret_imports WHERE env_id = ? AND path = ?"},
    [ST_IMPORT_LIST] = {"list imports", "SELECT " IMPORT_COLS " FROM secret_imports "
                                        "WHERE env_id = ? AND path = ? ORDER BY position, id"},
    [ST_IMPORT_GET] = {"get import", "SELECT " IMPORT_COLS " FROM secret_imports WHERE id = ?"},
    [ST_IMPORT_SET_POSITION] = {"move import",
                                "UPDATE secret_imports SET position = ?2 WHERE id = ?1"},
    [ST_IMPORT_DELETE] = {"delete import", "DELETE FROM secret_imports WHERE id = ?"},
    [ST_SHARE_INSERT] = {"insert share", "INSERT INTO shares (" SHARE_COLS ") "
                                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_SHARE_GET] = {"get share",
                      "SELECT " SHARE_COLS " FROM shares WHERE id = ?1 AND expires_at > ?2"},
    /* Counts a view of a live share; the caller deletes it at max_views. */
    [ST_SHARE_VIEW] = {"view share", "UPDATE shares SET views = views + 1 WHERE id = ?1 AND "
                                     "expires_at > ?2 AND (max_views = 0 OR views < max_views)"},
    [ST_SHARE_LIST] = {"list shares",
                       "SELECT " SHARE_LIST_COLS " FROM shares WHERE "
                       "created_by = ?1 AND expires_at > ?2 ORDER BY created_at, id"},
    [ST_SHARE_DELETE] = {"delete share", "DELETE FROM shares WHERE id = ?"},
    [ST_SHARE_EXPIRED] = {"list expired shares",
                          "SELECT " SHARE_LIST_COLS " FROM shares WHERE expires_at <= ?1 "
                          "ORDER BY expires_at, id LIMIT ?2"},
    [ST_SHARE_POLICY_GET] = {"get share policy", "SELECT max_ttl, allow_anonymous FROM "
                                                 "org_share_policy WHERE org_id = ?"},
    [ST_SHARE_POLICY_SET] =
        {"set share policy",
         "INSERT INTO org_share_policy (org_id, max_ttl, allow_anonymous) "
         "VALUES (?1, ?2, ?3) ON CONFLICT (org_id) DO UPDATE SET "
         "max_ttl = excluded.max_ttl, allow_anonymous = excluded.allow_anonymous"},
    [ST_AUDIT_INSERT] = {"insert audit record",
                         "INSERT INTO audit_log (" AUDIT_COLS ") "
                         "VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_ROOT_KEYS_LIST] = {"list root keys", "SELECT " ROOT_KEY_COLS " FROM root_keys "
                                             "ORDER BY generation"},
    [ST_ROOT_KEY_NEWEST] = {"read root key generation",
                            "SELECT coalesce(max(generation), 0) FROM root_keys"},
    [ST_ROOT_KEY_INSERT] = {"insert root key",
                            "INSERT INTO root_keys (" ROOT_KEY_COLS ") VALUES (?, ?, ?, ?, ?)"},
    [ST_ROOT_KEY_SET_AUDIT] = {"rewrap audit key",
                               "UPDATE root_keys SET audit_key = ?2 WHERE generation = ?1"},
    [ST_SERVER_KEYS_LIST] = {"list server-access keys", "SELECT id, server_key FROM projects "
                                                        "WHERE server_key IS NOT NULL ORDER BY id"},
};

/* audit_query has one statement per combination of filters (so that each
 * can use its index), prepared on first use like the others. */
enum audit_filter {
    AQ_ORG = 1 << 0,
    AQ_PROJECT = 1 << 1,
    AQ_ACTOR = 1 << 2,
    AQ_EVENT = 1 << 3,        /* exact */
    AQ_EVENT_PREFIX = 1 << 4, /* "secret." */
    AQ_SINCE = 1 << 5,
    AQ_UNTIL = 1 << 6,
    AQ__SHAPES = 1 << 7,
};

struct sq_store;

/* Where the write call holding write_lock is (writer connection only). */
enum sq_op {
    SQ_OP_NONE,  /* no savepoint of its own (yet) */
    SQ_OP_OPEN,  /* working inside its savepoint "op" */
    SQ_OP_ENDED, /* committed, or handed on with nothing left to do */
};

/* A write call waiting for the COMMIT of its batch (on its stack). */
struct sq_waiter {
    struct sq_waiter *next;
    int r; /* the COMMIT's result */
    bool done;
};

struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[ST__MAX];       /* prepared on first use, finalized at close */
    sqlite3_stmt *audit_qs[AQ__SHAPES]; /* likewise, by enum audit_filter bits */
    struct sq_store *owner;
    bool writer;          /* the write connection (else a pooled reader) */
    bool dirty;           /* the writer ran a statement that moves the epoch */
    enum sq_op op;        /* writer: the call holding write_lock */
    struct sq_conn *next; /* free list link (readers) */
};

struct sq_store {
    struct store base; /* must be first */
    char *db_path;     /* OWNED */
    pthread_mutex_t err_lock;
    pthread_mutex_t write_lock; /* held while a write call uses the writer */
    pthread_cond_t batch_cond;  /* broadcast when a batch is committed (or failed) */
    struct sq_conn *writer;
    unsigned wanting;                /* calls waiting to take write_lock (atomic) */
    struct sq_waiter *waiters;       /* calls waiting for the open transaction's COMMIT */
    size_t batch_n;                  /* calls done in the open transaction */
    size_t batch_max;                /* at most, SQ_BATCH_MAX unless set */
    struct store_sqlite_stats stats; /* under write_lock */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;     /* signalled when a reader is returned */
    struct sq_conn *free_readers; /* idle readers */
    size_t n_readers;             /* readers opened (idle or busy) */
    _Atomic uint64_t epoch;       /* store.h epoch: one process owns the file */
};

static struct sq_store *sq(struct store *s)
{
    return (struct sq_store *)s;
}

/* Records the last error.  store->err was given its full capacity at open and
 * messages are capped below it, so its memory never moves and a thread that
 * logs it while another fails reads a message, not freed memory. */
static void sq_set_err(struct sq_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sq_set_err(struct sq_store *s, const char *fmt, ...)
{
    char msg[SQ_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&s->err_lock);
    buf_clear(&s->base.err);
    (void)buf_adds(&s->base.err, msg);
    pthread_mutex_unlock(&s->err_lock);
}

static int sq_errno(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY: /* the row referred to does not exist */
        return -ENOENT;
    case SQLITE_CONSTRAINT_CHECK: /* a value the schema does not allow */
    case SQLITE_CONSTRAINT_NOTNULL:
        return -EINVAL;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_TOOBIG:
        return -E2BIG;
    default:
        return -EIO;
    }
}

static const char *sq_stmt_name(struct sq_conn *c, sqlite3_stmt *st)
{
    for (size_t i = 0; i < ST__MAX; i++)
        if (c->stmts[i] == st)
            return sq_stmts[i].name;
    for (size_t i = 0; i < AQ__SHAPES; i++)
        if (c->audit_qs[i] == st)
            return "query audit log";
    return "statement";
}

/* SQLite's messages name tables, columns and constraints, never bound values. */
static int sq_fail(struct sq_conn *c, int rc, const char *what)
{
    sq_set_err(c->owner, "sqlite: %s: %s", what,
               c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    return sq_errno(rc);
}

/* Transaction control, and writes that only add what no cache holds yet
 * (store.h epoch): shares are never cached. */
static bool sq_quiet(enum sq_stmt id)
{
    return id == ST_BEGIN_IMMEDIATE || id == ST_COMMIT || id == ST_ROLLBACK || id == ST_SAVEPOINT ||
           id == ST_RELEASE || id == ST_ROLLBACK_TO || id == ST_SESSION_INSERT ||
           id == ST_ATOKEN_INSERT || id == ST_ATOKEN_USE || id == ST_CSECRET_USE ||
           id == ST_AUDIT_INSERT || (id >= ST_SHARE_INSERT && id <= ST_SHARE_POLICY_SET);
}

static int sq_stmt(struct sq_conn *c, enum sq_stmt id, sqlite3_stmt **ret)
{
    if (!c->stmts[id]) {
        int rc = sqlite3_prepare_v3(c->db, sq_stmts[id].sql, -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return sq_fail(c, rc, sq_stmts[id].name);
    }
    if (c->writer && !sq_quiet(id) && !sqlite3_stmt_readonly(c->stmts[id]))
        c->dirty = true;
    *ret = c->stmts[id];
    return 0;
}

static void sq_reset(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

static void sq_resetp(sqlite3_stmt **st)
{
    sq_reset(*st);
}
#define _cleanup_stmt_ _cleanup_(sq_resetp)

/* Binds parameters 1, 2, ... from fmt, one letter each:
 *   't' const char *         text (NULL binds NULL)
 *   'b' const void *, size_t blob (NULL binds NULL; non-NULL with 0 an empty blob)
 *   'i' int64_t              integer (pass int64_t, not int)
 * Bound memory is BORROWED until the statement is reset. */
static int sq_bindv(struct sq_conn *c, sqlite3_stmt *st, const char *fmt, va_list ap)
{
    int idx = 1;

    for (const char *f = fmt; *f; f++, idx++) {
        int rc;
        switch (*f) {
        case 't': {
            const char *t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(st, idx, t, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
            break;
        }
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = p ? sqlite3_bind_blob64(st, idx, p, n, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(st, idx, va_arg(ap, int64_t));
            break;
        default:
            return -EINVAL;
        }
        if (rc != SQLITE_OK)
            return sq_fail(c, rc, sq_stmt_name(c, st));
    }
    return 0;
}

/* Prepares (once) and binds a query; *ret is BORROWED and must be reset by
 * the caller (_cleanup_stmt_). */
static int sq_query(struct sq_conn *c, enum sq_stmt id, sqlite3_stmt **ret, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int r;

    r = sq_stmt(c, id, &st);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    r = sq_bindv(c, st, fmt, ap);
    va_end(ap);
    if (r < 0) {
        sq_reset(st);
        return r;
    }
    *ret = st;
    return 0;
}

/* 1: a row is there, 0: no more rows, or a negative errno. */
static int sq_step(struct sq_conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return sq_fail(c, rc, sq_stmt_name(c, st));
}

/* Runs a statement that returns no rows. */
static int sq_runv(struct sq_conn *c, enum sq_stmt id, const char *fmt, va_list ap)
{
    sqlite3_stmt *st = NULL;
    int r;

    r = sq_stmt(c, id, &st);
    if (r < 0)
        return r;
    r = sq_bindv(c, st, fmt, ap);
    if (r >= 0)
        r = sq_step(c, st);
    sq_reset(st);
    return r < 0 ? r : 0;
}

static int sq_run(struct sq_conn *c, enum sq_stmt id, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = sq_runv(c, id, fmt, ap);
    va_end(ap);
    return r;
}

/* Runs a statement whose failure the caller handles (rollbacks): the error
 * of what failed before stays in store->err. */
static int sq_run_quiet(struct sq_conn *c, enum sq_stmt id)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_ERROR;

    if (sq_stmt(c, id, &st) == 0) {
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Gives every call waiting for the open transaction's COMMIT its result r. */
static void sq_batch_done(struct sq_store *s, int r)
{
    /* after the COMMIT (or the rollback), before any call of the batch
     * returns: readers loading from now on are current for the new epoch */
    if (s->writer->dirty)
        atomic_fetch_add(&s->epoch, 1);
    s->writer->dirty = false;
    for (struct sq_waiter *w = s->waiters; w; w = w->next) {
        w->r = r;
        w->done = true;
    }
    if (r == 0) {
        s->stats.commits++;
        s->stats.calls += s->batch_n;
    }
    s->waiters = NULL;
    s->batch_n = 0;
    pthread_cond_broadcast(&s->batch_cond);
}

/* The end of a write call's work (write_lock held): ok if its savepoint was
 * released into the open transaction, else its changes were rolled back.
 * Commits the transaction unless another call is waiting for write_lock and
 * the batch has room: then an ok call waits for someone to commit it, and a
 * failed one leaves it to the next.  Returns, for an ok call, whether its
 * changes are on disk (the COMMIT's result), else 0. */
static int sq_write_end(struct sq_conn *c, bool ok)
{
    struct sq_store *s = c->owner;
    struct sq_waiter w = {0};

    c->op = SQ_OP_ENDED;
    if (sqlite3_get_autocommit(c->db)) {
        /* None was begun, or SQLite rolled the batch back on its own. */
        if (s->batch_n)
            sq_batch_done(s, -EIO);
        return ok ? -EIO : 0;
    }
    if (ok)
        s->batch_n++;
    else if (s->batch_n)
        s->stats.failed_amid++;
    else {
        (void)sq_run_quiet(c, ST_ROLLBACK); /* nothing of anyone's in it */
        return 0;
    }
    if (!__atomic_load_n(&s->wanting, __ATOMIC_RELAXED) || s->batch_n >= s->batch_max) {
        int r = sq_run(c, ST_COMMIT, "");
        if (r < 0 && !sqlite3_get_autocommit(c->db))
            (void)sq_run_quiet(c, ST_ROLLBACK);
        sq_batch_done(s, r);
        return ok ? r : 0;
    }
    if (!ok)
        return 0;
    /* The next call uses the connection meanwhile: leave no statement busy. */
    for (sqlite3_stmt *st = sqlite3_next_stmt(c->db, NULL); st; st = sqlite3_next_stmt(c->db, st))
        if (sqlite3_stmt_busy(st))
            sqlite3_reset(st);
    w.next = s->waiters;
    s->waiters = &w;
    while (!w.done)
        pthread_cond_wait(&s->batch_cond, &s->write_lock);
    c->op = SQ_OP_ENDED; /* write_lock is ours again, the connection's state too */
    return w.r;
}

/* A reader's BEGIN takes its snapshot; the writer's opens the transaction of
 * a batch unless one is open, and the call's own savepoint in it. */
static int sq_begin(struct sq_conn *c)
{
    int r;

    if (!c->writer)
        return sq_run(c, ST_BEGIN, "");
    if (sqlite3_get_autocommit(c->db) && (r = sq_run(c, ST_BEGIN_IMMEDIATE, "")) < 0)
        return r;
    if ((r = sq_run(c, ST_SAVEPOINT, "")) < 0)
        return r;
    c->op = SQ_OP_OPEN;
    return 0;
}

/* 0 once the call's changes are on disk, or a negative errno (and then none
 * of them is).  The writer is not to be used after it. */
static int sq_commit(struct sq_conn *c)
{
    int r;

    if (!c->writer)
        return sq_run(c, ST_COMMIT, "");
    if ((r = sq_run(c, ST_RELEASE, "")) < 0)
        return r; /* still SQ_OP_OPEN: sq_conn_releasep rolls it back */
    return sq_write_end(c, true);
}

/* ---- connections ---- */

static void sq_conn_close(struct sq_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < ST__MAX; i++)
        sqlite3_finalize(c->stmts[i]);
    for (size_t i = 0; i < AQ__SHAPES; i++)
        sqlite3_finalize(c->audit_qs[i]);
    sqlite3_close(c->db);
    free(c);
}

static int sq_conn_exec(struct sq_conn *c, const char *sql, const char *what)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        sq_set_err(c->owner, "sqlite: %s: %s", what, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return sq_errno(rc);
    }
    return 0;
}

static int sq_conn_open(struct sq_store *s, bool writer, struct sq_conn **ret)
{
    struct sq_conn *c;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
    int rc, r;

    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->owner = s;
    c->writer = writer;

    rc = sqlite3_open_v2(s->db_path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        sq_set_err(s, "cannot open '%s': %s", s->db_path,
                   c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sq_conn_close(c);
        return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);

    if (writer) {
        /* Persistent in the file; answered with the mode actually in effect. */
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            r = sq_fail(c, rc, "journal_mode");
            sqlite3_finalize(st);
            sq_conn_close(c);
            return r;
        }
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        bool wal = mode && strcmp(mode, "wal") == 0;
        sqlite3_finalize(st);
        if (!wal) {
            sq_set_err(s, "cannot switch '%s' to WAL mode", s->db_path);
            sq_conn_close(c);
            return -EIO;
        }
    }

    r = sq_conn_exec(c,
                     writer ? "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; "
                              "PRAGMA trusted_schema = OFF;"
                            : "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; "
                              "PRAGMA trusted_schema = OFF; PRAGMA query_only = ON;",
                     "pragmas");
    if (r < 0) {
        sq_conn_close(c);
        return r;
    }
    *ret = c;
    return 0;
}

static struct sq_conn *sq_writer(struct sq_store *s)
{
    __atomic_add_fetch(&s->wanting, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&s->write_lock);
    __atomic_sub_fetch(&s->wanting, 1, __ATOMIC_RELAXED);
    return s->writer;
}

static int sq_reader(struct sq_store *s, struct sq_conn **ret)
{
    struct sq_conn *c;
    int r;

    pthread_mutex_lock(&s->pool_lock);
    while (!s->free_readers && s->n_readers >= SQ_MAX_READERS)
        pthread_cond_wait(&s->pool_cond, &s->pool_lock);
    c = s->free_readers;
    if (c) {
        s->free_readers = c->next;
        pthread_mutex_unlock(&s->pool_lock);
        c->next = NULL;
        *ret = c;
        return 0;
    }
    s->n_readers++; /* reserve the slot, open outside the lock */
    pthread_mutex_unlock(&s->pool_lock);

    r = sq_conn_open(s, false, &c);
    if (r < 0) {
        pthread_mutex_lock(&s->pool_lock);
        s->n_readers--;
        pthread_cond_signal(&s->pool_cond);
        pthread_mutex_unlock(&s->pool_lock);
        return r;
    }
    *ret = c;
    return 0;
}

static void sq_conn_releasep(struct sq_conn **cp)
{
    struct sq_conn *c = *cp;
    struct sq_store *s;

    if (!c)
        return;
    s = c->owner;
    /* Statements are reset by their own cleanup, which runs first. */
    if (c->writer) {
        /* The end of every write call.  Undo the call's own changes if it
         * returned early; if that fails, the whole batch. */
        if (c->op == SQ_OP_OPEN &&
            (sq_run_quiet(c, ST_ROLLBACK_TO) < 0 || sq_run_quiet(c, ST_RELEASE) < 0) &&
            !sqlite3_get_autocommit(c->db))
            (void)sq_run_quiet(c, ST_ROLLBACK);
        if (c->op != SQ_OP_ENDED)
            (void)sq_write_end(c, false);
        c->op = SQ_OP_NONE;
        pthread_mutex_unlock(&s->write_lock);
        return;
    }
    if (!sqlite3_get_autocommit(c->db))
        (void)sq_run_quiet(c, ST_ROLLBACK);
    pthread_mutex_lock(&s->pool_lock);
    c->next = s->free_readers;
    s->free_readers = c;
    pthread_cond_signal(&s->pool_cond);
    pthread_mutex_unlock(&s->pool_lock);
}
#define _cleanup_conn_ _cleanup_(sq_conn_releasep)

/* ---- reading columns ---- */

static int sq_corrupt(struct sq_conn *c, sqlite3_stmt *st, int col)
{
    sq_set_err(c->owner, "sqlite: %s: unexpected value in column '%s'", sq_stmt_name(c, st),
               sqlite3_column_name(st, col));
    return -EIO;
}

/* Copies a text column into a fixed buffer; -EIO if it does not fit. */
static int col_fixed_text(struct sq_conn *c, sqlite3_stmt *st, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);

    if (n >= size)
        return sq_corrupt(c, st, col);
    if (n)
        memcpy(out, t, n);
    out[n] = 0;
    return 0;
}

static int col_id(struct sq_conn *c, sqlite3_stmt *st, int col, char out[STORE_ID_LEN + 1])
{
    return col_fixed_text(c, st, col, out, STORE_ID_LEN + 1);
}

static int col_str(sqlite3_stmt *st, int col, char **ret)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    char *p = malloc(n + 1);

    if (!p)
        return -ENOMEM;
    if (n)
        memcpy(p, t, n);
    p[n] = 0;
    *ret = p;
    return 0;
}

/* NULL reads as {NULL, 0}. */
static int col_blob(sqlite3_stmt *st, int col, struct store_blob *ret)
{
    const void *p = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);

    if (!p || n == 0) {
        *ret = (struct store_blob){0};
        return 0;
    }
    ret->ptr = malloc(n);
    if (!ret->ptr)
        return -ENOMEM;
    memcpy(ret->ptr, p, n);
    ret->len = n;
    return 0;
}

static int col_hash(struct sq_conn *c, sqlite3_stmt *st, int col, uint8_t out[STORE_HASH_BYTES])
{
    const void *p = sqlite3_column_blob(st, col);

    if (!p || sqlite3_column_bytes(st, col) != STORE_HASH_BYTES)
        return sq_corrupt(c, st, col);
    memcpy(out, p, STORE_HASH_BYTES);
    return 0;
}

/* Grows an array of elements of size `size` to hold at least n + 1, zeroing
 * the new part.  NULL (and *p untouched) when out of memory. */
static void *sq_grow(void *p, size_t *cap, size_t n, size_t size)
{
    size_t new_cap;
    char *q;

    if (n < *cap)
        return p;
    new_cap = *cap ? *cap * 2 : 8;
    if (new_cap > SIZE_MAX / size)
        return NULL;
    q = realloc(p, new_cap * size);
    if (!q)
        return NULL;
    memset(q + *cap * size, 0, (new_cap - *cap) * size);
    *cap = new_cap;
    return q;
}

static int sq_read_user(struct sq_conn *c, sqlite3_stmt *st, struct store_user *ret)
{
    _cleanup_(store_user_release) struct store_user u = {0};
    int r;

    if ((r = col_id(c, st, 0, u.id)) < 0 || (r = col_str(st, 1, &u.email)) < 0 ||
        (r = col_hash(c, st, 2, u.auth_hash)) < 0 || (r = col_blob(st, 3, &u.kdf_salt)) < 0 ||
        (r = col_blob(st, 6, &u.public_key)) < 0 ||
        (r = col_blob(st, 7, &u.encrypted_private_key)) < 0)
        return r;
    u.kdf_opslimit = (uint64_t)sqlite3_column_int64(st, 4);
    u.kdf_memlimit = (uint64_t)sqlite3_column_int64(st, 5);
    u.created_at = sqlite3_column_int64(st, 8);
    *ret = TAKE_STRUCT(u);
    return 0;
}

/* Columns: id, key, path, version, value, comment, time, actor, owner ('' shared). */
static int sq_read_secret(struct sq_conn *c, sqlite3_stmt *st, struct store_secret *ret)
{
    _cleanup_(store_secret_release) struct store_secret x = {0};
    int r;

    if ((r = col_id(c, st, 0, x.id)) < 0 || (r = col_str(st, 1, &x.key)) < 0 ||
        (r = col_str(st, 2, &x.path)) < 0 || (r = col_blob(st, 4, &x.value)) < 0 ||
        (r = col_blob(st, 5, &x.comment)) < 0 || (r = col_id(c, st, 7, x.actor_id)) < 0 ||
        (r = col_fixed_text(c, st, 8, x.owner_id, sizeof(x.owner_id))) < 0)
        return r;
    x.version = sqlite3_column_int64(st, 3);
    x.updated_at = sqlite3_column_int64(st, 6);
    *ret = TAKE_STRUCT(x);
    return 0;
}

struct secret_vec {
    struct store_secret *v;
    size_t n, cap;
};

static void secret_vec_release(struct secret_vec *x)
{
    store_secrets_free(x->v, x->n);
}

/* Reads every remaining row of st. */
static int sq_read_secrets(struct sq_conn *c, sqlite3_stmt *st, struct secret_vec *out)
{
    int r;

    while ((r = sq_step(c, st)) > 0) {
        struct store_secret *v = sq_grow(out->v, &out->cap, out->n, sizeof(*v));
        if (!v)
            return -ENOMEM;
        out->v = v;
        r = sq_read_secret(c, st, &v[out->n]);
        if (r < 0)
            return r;
        out->n++;
    }
    return r;
}

/* Fills p's envs (ordered by position). */
static int sq_read_envs(struct sq_conn *c, struct store_project *p)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    r = sq_query(c, ST_ENV_LIST, &st, "t", p->id);
    if (r < 0)
        return r;
    size_t cap = 0;
    while ((r = sq_step(c, st)) > 0) {
        struct store_env *v = sq_grow(p->envs, &cap, p->n_envs, sizeof(*v));
        if (!v)
            return -ENOMEM;
        p->envs = v;
        struct store_env *e = &v[p->n_envs];
        if ((r = col_id(c, st, 0, e->id)) < 0 || (r = col_id(c, st, 1, e->project_id)) < 0 ||
            (r = col_str(st, 2, &e->slug)) < 0 || (r = col_str(st, 3, &e->name)) < 0) {
            store_env_release(e);
            return r;
        }
        e->position = sqlite3_column_int(st, 4);
        p->n_envs++;
    }
    return r;
}

/* Columns: id, org_id, name, slug, created_at, server_key; then loads the envs. */
static int sq_read_project(struct sq_conn *c, sqlite3_stmt *st, struct store_project *ret)
{
    _cleanup_(store_project_release) struct store_project p = {0};
    int r;

    if ((r = col_id(c, st, 0, p.id)) < 0 || (r = col_id(c, st, 1, p.org_id)) < 0 ||
        (r = col_str(st, 2, &p.name)) < 0 || (r = col_str(st, 3, &p.slug)) < 0)
        return r;
    p.created_at = sqlite3_column_int64(st, 4);
    if (sqlite3_column_type(st, 5) != SQLITE_NULL && (r = col_blob(st, 5, &p.server_key)) < 0)
        return r;
    r = sq_read_envs(c, &p);
    if (r < 0)
        return r;
    *ret = TAKE_STRUCT(p);
    return 0;
}

/* ---- records of migration 0002 ---- */

/* Reads the current row of st into *ret, a record of the caller's type; on
 * failure *ret is untouched and nothing is leaked. */
typedef int (*sq_row_fn)(struct sq_conn *c, sqlite3_stmt *st, void *ret);

/* NULL reads as NULL (col_str reads it as ""), so that optional fields read
 * back exactly as they were written. */
static int col_str_or_null(sqlite3_stmt *st, int col, char **ret)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        *ret = NULL;
        return 0;
    }
    return col_str(st, col, ret);
}

/* True if the fixed-size text field s is NUL-terminated and not empty. */
static bool sq_fits(const char *s, size_t size)
{
    return s && s[0] && strnlen(s, size) < size;
}

/* The principal_type to store: "" means "user" (callers written before
 * identities existed); NULL for anything else. */
static const char *sq_principal_type(const char type[16])
{
    if (!type[0] || strncmp(type, "user", 16) == 0)
        return "user";
    if (strncmp(type, "identity", 16) == 0)
        return "identity";
    return NULL;
}

static bool sq_org_role_valid(const char role[16])
{
    return strncmp(role, "admin", 16) == 0 || strncmp(role, "member", 16) == 0;
}

/* Runs a query of at most one row; *ret (if not NULL) gets its first column,
 * 0 without a row.  1 if there was a row, 0 if not, or a negative errno. */
static int sq_int(struct sq_conn *c, int64_t *ret, enum sq_stmt id, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int r;

    r = sq_stmt(c, id, &st);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    r = sq_bindv(c, st, fmt, ap);
    va_end(ap);
    if (r >= 0)
        r = sq_step(c, st);
    if (r >= 0 && ret)
        *ret = r ? sqlite3_column_int64(st, 0) : 0;
    sq_reset(st);
    return r;
}

/* Reads every remaining row of st into a new array of `size`-byte records
 * (*ret NULL when there is none).  On failure the rows read are released. */
static int sq_collect(struct sq_conn *c, sqlite3_stmt *st, size_t size, sq_row_fn read,
                      void (*release)(void *), void **ret, size_t *ret_n)
{
    char *v = NULL;
    size_t n = 0, cap = 0;
    int r;

    while ((r = sq_step(c, st)) > 0) {
        char *p = sq_grow(v, &cap, n, size);
        if (!p) {
            r = -ENOMEM;
            break;
        }
        v = p;
        r = read(c, st, v + n * size);
        if (r < 0)
            break;
        n++;
    }
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            release(v + i * size);
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

/* One row by key, on a reader; -ENOENT without one. */
static int sq_get(struct store *s, sq_row_fn read, void *ret, enum sq_stmt id, const char *fmt, ...)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    va_list ap;
    int r;

    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_stmt(c, id, &st)) < 0)
        return r;
    va_start(ap, fmt);
    r = sq_bindv(c, st, fmt, ap);
    va_end(ap);
    if (r < 0 || (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    return read(c, st, ret);
}

/* Every row of a query with one text parameter, on a reader. */
static int sq_list(struct store *s, enum sq_stmt id, const char *arg, size_t size, sq_row_fn read,
                   void (*release)(void *), void **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!arg || !ret_n)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_query(c, id, &st, "t", arg)) < 0)
        return r;
    return sq_collect(c, st, size, read, release, ret, ret_n);
}

static int sq_insert_user(struct sq_conn *c, const struct store_user *u)
{
    return sq_run(c, ST_USER_INSERT, "ttbbiibbi", u->id, u->email, u->auth_hash,
                  (size_t)STORE_HASH_BYTES, u->kdf_salt.ptr, u->kdf_salt.len,
                  (int64_t)u->kdf_opslimit, (int64_t)u->kdf_memlimit, u->public_key.ptr,
                  u->public_key.len, u->encrypted_private_key.ptr, u->encrypted_private_key.len,
                  u->created_at);
}

/* Columns of MEMBER_SELECT. */
static int sq_read_member(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_member_release) struct store_member m = {0};
    int r;

    if ((r = col_id(c, st, 0, m.project_id)) < 0 ||
        (r = col_fixed_text(c, st, 1, m.principal_type, sizeof(m.principal_type))) < 0 ||
        (r = col_id(c, st, 2, m.principal_id)) < 0 ||
        (r = col_fixed_text(c, st, 3, m.role, sizeof(m.role))) < 0 ||
        (r = col_blob(st, 4, &m.wrapped_key)) < 0 || (r = col_str(st, 6, &m.principal_name)) < 0)
        return r;
    m.created_at = sqlite3_column_int64(st, 5);
    *(struct store_member *)ret = TAKE_STRUCT(m);
    return 0;
}

static void sq_release_member(void *p)
{
    store_member_release(p);
}

/* INVITE_COLS */
static int sq_read_invite(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_invite_release) struct store_invite x = {0};
    int r;

    if ((r = col_id(c, st, 0, x.id)) < 0 || (r = col_id(c, st, 1, x.org_id)) < 0 ||
        (r = col_str(st, 2, &x.email)) < 0 ||
        (r = col_fixed_text(c, st, 3, x.org_role, sizeof(x.org_role))) < 0 ||
        (r = col_hash(c, st, 4, x.token_hash)) < 0 || (r = col_id(c, st, 5, x.created_by)) < 0)
        return r;
    x.created_at = sqlite3_column_int64(st, 6);
    x.expires_at = sqlite3_column_int64(st, 7);
    x.accepted_at = sqlite3_column_int64(st, 8);
    *(struct store_invite *)ret = TAKE_STRUCT(x);
    return 0;
}

/* ROLE_COLS */
static int sq_read_role(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_role_release) struct store_role x = {0};
    int r;

    if ((r = col_id(c, st, 0, x.id)) < 0 || (r = col_id(c, st, 1, x.project_id)) < 0 ||
        (r = col_str(st, 2, &x.slug)) < 0 || (r = col_str(st, 3, &x.name)) < 0 ||
        (r = col_str(st, 4, &x.rules)) < 0)
        return r;
    x.created_at = sqlite3_column_int64(st, 5);
    *(struct store_role *)ret = TAKE_STRUCT(x);
    return 0;
}

static void sq_release_role(void *p)
{
    store_role_release(p);
}

/* IDENTITY_COLS */
static int sq_read_identity(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_identity_release) struct store_identity x = {0};
    int r;

    if ((r = col_id(c, st, 0, x.id)) < 0 || (r = col_id(c, st, 1, x.org_id)) < 0 ||
        (r = col_str(st, 2, &x.name)) < 0 || (r = col_blob(st, 3, &x.public_key)) < 0 ||
        (r = col_id(c, st, 4, x.client_id)) < 0 || (r = col_str(st, 8, &x.trusted_ips)) < 0 ||
        (r = col_id(c, st, 9, x.created_by)) < 0)
        return r;
    x.access_token_ttl = sqlite3_column_int64(st, 5);
    x.access_token_max_ttl = sqlite3_column_int64(st, 6);
    x.access_token_num_uses_limit = sqlite3_column_int64(st, 7);
    x.created_at = sqlite3_column_int64(st, 10);
    *(struct store_identity *)ret = TAKE_STRUCT(x);
    return 0;
}

static void sq_release_identity(void *p)
{
    store_identity_release(p);
}

/* CSECRET_COLS */
static int sq_read_client_secret(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_client_secret_release) struct store_client_secret x = {0};
    int r;

    if ((r = col_id(c, st, 0, x.id)) < 0 || (r = col_id(c, st, 1, x.identity_id)) < 0 ||
        (r = col_hash(c, st, 2, x.auth_hash)) < 0 ||
        (r = col_blob(st, 3, &x.encrypted_private_key)) < 0 ||
        (r = col_fixed_text(c, st, 4, x.prefix, sizeof(x.prefix))) < 0 ||
        (r = col_str(st, 5, &x.description)) < 0)
        return r;
    x.created_at = sqlite3_column_int64(st, 6);
    x.expires_at = sqlite3_column_int64(st, 7);
    x.num_uses = sqlite3_column_int64(st, 8);
    x.num_uses_limit = sqlite3_column_int64(st, 9);
    x.revoked = sqlite3_column_int(st, 10) != 0;
    *(struct store_client_secret *)ret = TAKE_STRUCT(x);
    return 0;
}

static void sq_release_client_secret(void *p)
{
    store_client_secret_release(p);
}

/* ATOKEN_COLS */
static int sq_read_access_token(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    struct store_access_token x = {0};
    int r;

    if ((r = col_hash(c, st, 0, x.token_hash)) < 0 || (r = col_id(c, st, 1, x.identity_id)) < 0 ||
        (r = col_id(c, st, 2, x.client_secret_id)) < 0)
        return r;
    x.created_at = sqlite3_column_int64(st, 3);
    x.expires_at = sqlite3_column_int64(st, 4);
    x.max_expires_at = sqlite3_column_int64(st, 5);
    x.num_uses = sqlite3_column_int64(st, 6);
    x.num_uses_limit = sqlite3_column_int64(st, 7);
    x.revoked = sqlite3_column_int(st, 8) != 0;
    *(struct store_access_token *)ret = x;
    return 0;
}

/* STOKEN_COLS */
static int sq_read_service_token(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_service_token_release) struct store_service_token x = {0};
    int r;

    if ((r = col_id(c, st, 0, x.id)) < 0 || (r = col_id(c, st, 1, x.project_id)) < 0 ||
        (r = col_str(st, 2, &x.name)) < 0 || (r = col_hash(c, st, 3, x.secret_hash)) < 0 ||
        (r = col_str(st, 4, &x.scopes)) < 0 || (r = col_blob(st, 6, &x.wrapped_key)) < 0 ||
        (r = col_id(c, st, 7, x.created_by)) < 0)
        return r;
    x.write = sqlite3_column_int(st, 5) != 0;
    x.created_at = sqlite3_column_int64(st, 8);
    x.expires_at = sqlite3_column_int64(st, 9);
    x.revoked = sqlite3_column_int(st, 10) != 0;
    *(struct store_service_token *)ret = TAKE_STRUCT(x);
    return 0;
}

static void sq_release_service_token(void *p)
{
    store_service_token_release(p);
}

/* store.h frees version refs only by the array. */
static void sq_release_version_ref(void *p)
{
    struct store_version_ref *x = p;

    free(x->environment);
    free(x->path);
    free(x->key);
    store_blob_release(&x->value);
    store_blob_release(&x->comment);
    memset(x, 0, sizeof(*x));
}

/* Columns: secret id, environment slug, path, key, version, value, comment, owner. */
static int sq_read_version_ref(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(sq_release_version_ref) struct store_version_ref x = {0};
    int r;

    if ((r = col_id(c, st, 0, x.secret_id)) < 0 || (r = col_str(st, 1, &x.environment)) < 0 ||
        (r = col_str(st, 2, &x.path)) < 0 || (r = col_str(st, 3, &x.key)) < 0 ||
        (r = col_blob(st, 5, &x.value)) < 0 || (r = col_blob(st, 6, &x.comment)) < 0 ||
        (r = col_fixed_text(c, st, 7, x.owner_id, sizeof(x.owner_id))) < 0)
        return r;
    x.version = sqlite3_column_int64(st, 4);
    *(struct store_version_ref *)ret = TAKE_STRUCT(x);
    return 0;
}

/* ST_SECRETS_AT: the current row (sq_read_secret's columns), then version,
 * value, comment, time and actor of the version at the time, NULL if none. */
static int sq_read_secret_at(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_secret_release) struct store_secret cur = {0};
    _cleanup_(store_secret_release) struct store_secret then = {0};
    bool existed = sqlite3_column_type(st, 9) != SQLITE_NULL;
    struct store_secret_at *x = ret;
    int r;

    r = sq_read_secret(c, st, &cur);
    if (r < 0)
        return r;
    if (existed) {
        memcpy(then.id, cur.id, sizeof(then.id));
        if ((r = col_str(st, 1, &then.key)) < 0 || (r = col_str(st, 2, &then.path)) < 0 ||
            (r = col_blob(st, 10, &then.value)) < 0 || (r = col_blob(st, 11, &then.comment)) < 0 ||
            (r = col_id(c, st, 13, then.actor_id)) < 0)
            return r;
        memcpy(then.owner_id, cur.owner_id, sizeof(then.owner_id));
        then.version = sqlite3_column_int64(st, 9);
        then.updated_at = sqlite3_column_int64(st, 12);
    }
    x->current = TAKE_STRUCT(cur);
    x->existed = existed;
    x->then = TAKE_STRUCT(then);
    return 0;
}

static void sq_release_secret_at(void *p)
{
    struct store_secret_at *x = p;

    store_secret_release(&x->current);
    store_secret_release(&x->then);
}

/* AUDIT_COLS */
static int sq_read_audit(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_audit_release) struct store_audit x = {0};
    int r;

    if ((r = col_fixed_text(c, st, 2, x.actor_type, sizeof(x.actor_type))) < 0 ||
        (r = col_id(c, st, 3, x.actor_id)) < 0 || (r = col_str_or_null(st, 4, &x.actor_name)) < 0 ||
        (r = col_str(st, 5, &x.event)) < 0 || (r = col_id(c, st, 6, x.org_id)) < 0 ||
        (r = col_id(c, st, 7, x.project_id)) < 0 ||
        (r = col_str_or_null(st, 8, &x.environment)) < 0 ||
        (r = col_str_or_null(st, 9, &x.path)) < 0 || (r = col_str_or_null(st, 10, &x.key)) < 0 ||
        (r = col_str_or_null(st, 11, &x.ip)) < 0 ||
        (r = col_str_or_null(st, 12, &x.user_agent)) < 0 ||
        (r = col_str_or_null(st, 13, &x.outcome)) < 0 ||
        (r = col_str_or_null(st, 14, &x.metadata)) < 0 ||
        (r = col_hash(c, st, 15, x.prev_hash)) < 0 || (r = col_hash(c, st, 16, x.hash)) < 0)
        return r;
    x.seq = sqlite3_column_int64(st, 0);
    x.time = sqlite3_column_int64(st, 1);
    *(struct store_audit *)ret = TAKE_STRUCT(x);
    return 0;
}

static void sq_release_audit(void *p)
{
    store_audit_release(p);
}

/* ---- store_ops ---- */

static int sq_user_count(struct store *s, int64_t *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_query(c, ST_USER_COUNT, &st, "")) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    *ret = r ? sqlite3_column_int64(st, 0) : 0;
    return 0;
}

static int sq_bootstrap(struct store *s, const struct store_user *u, const struct store_org *o)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int64_t n_users;
    int r;

    if (!u || !o || !u->email || !o->name || !o->slug || u->kdf_opslimit > INT64_MAX ||
        u->kdf_memlimit > INT64_MAX)
        return -EINVAL;

    c = sq_writer(sq(s));
    r = sq_begin(c);
    if (r < 0)
        return r;
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_USER_COUNT, &st, "")) < 0 || (r = sq_step(c, st)) < 0)
            return r;
        n_users = r ? sqlite3_column_int64(st, 0) : 0;
    }
    if (n_users > 0)
        return -EEXIST;

    if ((r = sq_run(c, ST_ORG_INSERT, "ttti", o->id, o->name, o->slug, o->created_at)) < 0 ||
        (r = sq_insert_user(c, u)) < 0 ||
        (r = sq_run(c, ST_ORG_MEMBER_INSERT, "ttti", o->id, u->id, "admin", u->created_at)) < 0)
        return r;
    return sq_commit(c);
}

static int sq_user_get_by(struct store *s, enum sq_stmt id, const char *arg, struct store_user *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!arg || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_query(c, id, &st, "t", arg)) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    return sq_read_user(c, st, ret);
}

static int sq_user_get(struct store *s, const char *id, struct store_user *ret)
{
    return sq_user_get_by(s, ST_USER_BY_ID, id, ret);
}

static int sq_user_get_by_email(struct store *s, const char *email, struct store_user *ret)
{
    return sq_user_get_by(s, ST_USER_BY_EMAIL, email, ret);
}

struct org_vec {
    struct store_org_membership *v;
    size_t n, cap;
};

static void org_vec_release(struct org_vec *x)
{
    store_org_memberships_free(x->v, x->n);
}

static int sq_user_orgs(struct store *s, const char *user_id, struct store_org_membership **ret,
                        size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(org_vec_release) struct org_vec out = {0};
    int r;

    if (!user_id || !ret || !ret_n)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_query(c, ST_USER_ORGS, &st, "t", user_id)) < 0)
        return r;
    while ((r = sq_step(c, st)) > 0) {
        struct store_org_membership *v = sq_grow(out.v, &out.cap, out.n, sizeof(*v));
        if (!v)
            return -ENOMEM;
        out.v = v;
        struct store_org_membership *m = &v[out.n];
        if ((r = col_id(c, st, 0, m->org.id)) < 0 || (r = col_str(st, 1, &m->org.name)) < 0 ||
            (r = col_str(st, 2, &m->org.slug)) < 0 ||
            (r = col_fixed_text(c, st, 4, m->role, sizeof(m->role))) < 0) {
            store_org_release(&m->org);
            return r;
        }
        m->org.created_at = sqlite3_column_int64(st, 3);
        out.n++;
    }
    if (r < 0)
        return r;
    *ret_n = out.n;
    *ret = TAKE_PTR(out.v);
    out.n = 0;
    return 0;
}

/* One statement in its own write transaction.  -ENOENT if it changed no row
 * and must_change is set. */
static int sq_write1(struct store *s, bool must_change, enum sq_stmt id, const char *fmt, ...)
{
    _cleanup_conn_ struct sq_conn *c = sq_writer(sq(s));
    va_list ap;
    int r;

    r = sq_begin(c);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    r = sq_runv(c, id, fmt, ap);
    va_end(ap);
    if (r < 0)
        return r;
    if (must_change && sqlite3_changes(c->db) == 0)
        return -ENOENT;
    return sq_commit(c);
}

static int sq_session_create(struct store *s, const struct store_session *sess)
{
    if (!sess)
        return -EINVAL;
    return sq_write1(s, false, ST_SESSION_INSERT, "btii", sess->token_hash,
                     (size_t)STORE_HASH_BYTES, sess->user_id, sess->created_at, sess->expires_at);
}

static int sq_session_get(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
                          struct store_session *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    struct store_session x = {0};
    int r;

    if (!hash || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SESSION_GET, &st, "b", hash, (size_t)STORE_HASH_BYTES)) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    if ((r = col_hash(c, st, 0, x.token_hash)) < 0 || (r = col_id(c, st, 1, x.user_id)) < 0)
        return r;
    x.created_at = sqlite3_column_int64(st, 2);
    x.expires_at = sqlite3_column_int64(st, 3);
    *ret = x;
    return 0;
}

static int sq_session_delete(struct store *s, const uint8_t hash[STORE_HASH_BYTES])
{
    if (!hash)
        return -EINVAL;
    return sq_write1(s, true, ST_SESSION_DELETE, "b", hash, (size_t)STORE_HASH_BYTES);
}

static int sq_project_create(struct store *s, const struct store_project *p,
                             const struct store_member *creator)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    if (!p || !p->name || !p->slug || (p->n_envs && !p->envs) ||
        (creator && !sq_principal_type(creator->principal_type)))
        return -EINVAL;
    for (size_t i = 0; i < p->n_envs; i++)
        if (!p->envs[i].slug || !p->envs[i].name)
            return -EINVAL;

    c = sq_writer(sq(s));
    r = sq_begin(c);
    if (r < 0)
        return r;
    r = sq_run(c, ST_PROJECT_INSERT, "tttti", p->id, p->org_id, p->name, p->slug, p->created_at);
    if (r < 0)
        return r;
    if (p->server_key.len && (r = sq_run(c, ST_PROJECT_SET_SERVER_KEY, "bt", p->server_key.ptr,
                                         p->server_key.len, p->id)) < 0)
        return r;
    for (size_t i = 0; i < p->n_envs; i++) {
        const struct store_env *e = &p->envs[i];
        r = sq_run(c, ST_ENV_INSERT, "tttti", e->id, p->id, e->slug, e->name, (int64_t)e->position);
        if (r < 0)
            return r;
    }
    if (creator) {
        r = sq_run(c, ST_MEMBER_INSERT, "ttttbi", p->id, sq_principal_type(creator->principal_type),
                   creator->principal_id, creator->role, creator->wrapped_key.ptr,
                   creator->wrapped_key.len, creator->created_at);
        if (r < 0)
            return r;
    }
    return sq_commit(c);
}

static int sq_project_get(struct store *s, const char *id, struct store_project *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    struct store_project p;
    int r;

    if (!id || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_begin(c)) < 0 ||
        (r = sq_query(c, ST_PROJECT_GET, &st, "t", id)) < 0 || (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    r = sq_read_project(c, st, &p);
    if (r < 0)
        return r;
    *ret = p;
    return 0;
}

struct project_vec {
    struct store_project *v;
    size_t n, cap;
};

static void project_vec_release(struct project_vec *x)
{
    store_projects_free(x->v, x->n);
}

static int sq_project_list(struct store *s, const char *principal_id, struct store_project **ret,
                           size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(project_vec_release) struct project_vec out = {0};
    int r;

    if (!principal_id || !ret || !ret_n)
        return -EINVAL;
    /* One read transaction: the projects and their envs are one snapshot. */
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_begin(c)) < 0 ||
        (r = sq_query(c, ST_PROJECT_LIST, &st, "t", principal_id)) < 0)
        return r;
    while ((r = sq_step(c, st)) > 0) {
        struct store_project *v = sq_grow(out.v, &out.cap, out.n, sizeof(*v));
        if (!v)
            return -ENOMEM;
        out.v = v;
        r = sq_read_project(c, st, &v[out.n]);
        if (r < 0)
            return r;
        out.n++;
    }
    if (r < 0)
        return r;
    *ret_n = out.n;
    *ret = TAKE_PTR(out.v);
    out.n = 0;
    return 0;
}

static int sq_env_create(struct store *s, const struct store_env *e, size_t max)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int64_t n = 0;
    int r;

    if (!e || !e->slug || !e->name)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (r = sq_int(c, NULL, ST_PROJECT_EXISTS, "t", e->project_id)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    if ((r = sq_int(c, &n, ST_ENV_COUNT, "t", e->project_id)) < 0)
        return r;
    if ((size_t)n >= max)
        return -E2BIG;
    if ((r = sq_run(c, ST_ENV_SHIFT, "tit", e->project_id, (int64_t)e->position, e->id)) < 0)
        return r;
    r = sq_run(c, ST_ENV_INSERT, "tttti", e->id, e->project_id, e->slug, e->name,
               (int64_t)e->position);
    if (r < 0)
        return r;
    return sq_commit(c);
}

static int sq_env_update(struct store *s, const char *project_id, const char *env_id,
                         const char *slug, const char *name, int position)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int64_t bound = 0;
    int r;

    if (!project_id || !env_id)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0)
        return r;
    if (slug && (r = sq_int(c, &bound, ST_ENV_RESLUG_BLOCKED, "ttt", project_id, env_id, slug)) < 0)
        return r;
    if (bound > 0)
        return -EBUSY;
    if (position > 0 &&
        (r = sq_run(c, ST_ENV_SHIFT, "tit", project_id, (int64_t)position, env_id)) < 0)
        return r;
    r = sq_run(c, ST_ENV_UPDATE, "tttti", project_id, env_id, slug, name, (int64_t)position);
    if (r < 0)
        return r;
    if (sqlite3_changes(c->db) == 0)
        return -ENOENT;
    return sq_commit(c);
}

static int sq_env_delete(struct store *s, const char *project_id, const char *env_id,
                         int64_t *ret_live, int64_t *ret_total)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int64_t live, total;
    int r;

    if (!project_id || !env_id || !ret_live || !ret_total)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 ||
        (r = sq_query(c, ST_ENV_SECRET_COUNTS, &st, "tt", project_id, env_id)) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    live = sqlite3_column_int64(st, 0);
    total = sqlite3_column_int64(st, 1);
    sq_reset(TAKE_PTR(st));
    if (total > 0) {
        *ret_live = live;
        *ret_total = total;
        return -EBUSY;
    }
    r = sq_run(c, ST_ENV_DELETE, "tt", project_id, env_id);
    if (r < 0)
        return r;
    if (sqlite3_changes(c->db) == 0)
        return -ENOENT;
    return sq_commit(c);
}

static int sq_member_get(struct store *s, const char *project_id, const char *principal_id,
                         struct store_member *ret)
{
    if (!project_id || !principal_id || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_member, ret, ST_MEMBER_GET, "tt", project_id, principal_id);
}

static int sq_secrets_list_with(struct store *s, const char *env_id, const char *path,
                                const char *owner_id, struct store_secret **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(secret_vec_release) struct secret_vec out = {0};
    int r;

    if (!env_id || !path || !ret || !ret_n)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SECRETS_LIST, &st, "ttt", env_id, path, owner_id ? owner_id : "")) <
            0 ||
        (r = sq_read_secrets(c, st, &out)) < 0)
        return r;
    *ret_n = out.n;
    *ret = TAKE_PTR(out.v);
    out.n = 0;
    return 0;
}

static int sq_secrets_list(struct store *s, const char *env_id, const char *path,
                           struct store_secret **ret, size_t *ret_n)
{
    return sq_secrets_list_with(s, env_id, path, NULL, ret, ret_n);
}

static int sq_secret_get_of(struct store *s, const char *env_id, const char *path, const char *key,
                            const char *owner_id, struct store_secret *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!env_id || !path || !key || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SECRET_GET, &st, "tttt", env_id, path, key, owner_id ? owner_id : "")) <
            0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0 || sqlite3_column_type(st, 4) == SQLITE_NULL)
        return -ENOENT;
    return sq_read_secret(c, st, ret);
}

static int sq_secret_get(struct store *s, const char *env_id, const char *path, const char *key,
                         struct store_secret *ret)
{
    return sq_secret_get_of(s, env_id, path, key, NULL, ret);
}

static int sq_secret_history_of(struct store *s, const char *env_id, const char *path,
                                const char *key, const char *owner_id, struct store_secret **ret,
                                size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(secret_vec_release) struct secret_vec out = {0};
    int r;

    if (!env_id || !path || !key || !ret || !ret_n)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SECRET_HISTORY, &st, "tttt", env_id, path, key,
                      owner_id ? owner_id : "")) < 0 ||
        (r = sq_read_secrets(c, st, &out)) < 0)
        return r;
    if (out.n == 0)
        return -ENOENT;
    *ret_n = out.n;
    *ret = TAKE_PTR(out.v);
    out.n = 0;
    return 0;
}

static int sq_secret_history(struct store *s, const char *env_id, const char *path, const char *key,
                             struct store_secret **ret, size_t *ret_n)
{
    return sq_secret_history_of(s, env_id, path, key, NULL, ret, ret_n);
}

/* The secret (env_id, path, key, owner) of a write: id, version, whether it
 * holds a value now; *ret_exists false if it never existed.  -ENOENT when it
 * belongs to another project (env_id is not an environment of project_id). */
static int sq_lookup(struct sq_conn *c, const char *project_id, const char *env_id,
                     const char *path, const char *key, const char *owner,
                     char id[STORE_ID_LEN + 1], int64_t *ret_version, bool *ret_exists,
                     bool *ret_live)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    char owner_project[STORE_ID_LEN + 1] = "";
    int r;

    if ((r = sq_query(c, ST_SECRET_LOOKUP, &st, "tttt", env_id, path, key, owner)) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    *ret_exists = r > 0;
    *ret_live = false;
    if (r == 0)
        return 0;
    if ((r = col_id(c, st, 0, id)) < 0 || (r = col_id(c, st, 1, owner_project)) < 0)
        return r;
    *ret_version = sqlite3_column_int64(st, 2);
    *ret_live = sqlite3_column_int(st, 3) != 0;
    return strcmp(owner_project, project_id) == 0 ? 0 : -ENOENT;
}

struct write_result {
    int64_t version;
    bool created;
    char id[STORE_ID_LEN + 1];
};

/* One write of a batch, inside the caller's transaction. */
static int sq_write_one(struct sq_conn *c, const char *project_id, const char *env_id,
                        const char *path, const struct store_write *w, const char *actor_id,
                        int64_t now, struct write_result *res)
{
    char id[STORE_ID_LEN + 1] = "", shared_id[STORE_ID_LEN + 1];
    const char *owner = w->owner ? w->owner : "";
    int64_t version = 0, shared_version;
    bool exists, live = false, shared_exists, shared_live;
    int r;

    if (w->path)
        path = w->path;
    r = sq_lookup(c, project_id, env_id, path, w->key, owner, id, &version, &exists, &live);
    if (r < 0)
        return r;
    /* a personal override needs a live shared secret of its key */
    if (*owner && w->op != STORE_DELETE) {
        r = sq_lookup(c, project_id, env_id, path, w->key, "", shared_id, &shared_version,
                      &shared_exists, &shared_live);
        if (r < 0)
            return r;
        if (!shared_live)
            return -ENOENT;
    }

    switch (w->op) {
    case STORE_CREATE:
        if (live)
            return -EEXIST;
        break;
    case STORE_UPDATE:
    case STORE_DELETE:
        if (!live)
            return -ENOENT;
        break;
    case STORE_PUT:
        break;
    }

    const void *value = w->op == STORE_DELETE ? NULL : w->value;
    size_t value_len = value ? w->value_len : 0;
    /* NULL keeps the current comment; non-NULL with length 0 clears it. */
    const void *comment = w->op == STORE_DELETE ? NULL : w->comment;
    size_t comment_len = comment ? w->comment_len : 0;

    if (exists) {
        version++;
        r = sq_run(c, ST_SECRET_UPDATE, "ibbitt", version, value, value_len, comment, comment_len,
                   now, actor_id, id);
    } else {
        name_uuid(id);
        version = 1;
        r = sq_run(c, ST_SECRET_INSERT, "tttttibbitt", id, project_id, env_id, path, w->key,
                   version, value, value_len, comment, comment_len, now, actor_id, owner);
    }
    if (r < 0)
        return r;
    r = sq_run(c, ST_VERSION_INSERT, "t", id);
    if (r < 0)
        return r;
    if (w->op == STORE_DELETE && !*owner &&
        ((r = sq_run(c, ST_PERSONAL_TOMBSTONE_VERSIONS, "tttit", env_id, path, w->key, now,
                     actor_id)) < 0 ||
         (r = sq_run(c, ST_PERSONAL_TOMBSTONE, "tttit", env_id, path, w->key, now, actor_id)) < 0))
        return r;

    res->version = version;
    res->created = !live;
    memcpy(res->id, id, sizeof(res->id));
    return 0;
}

struct folder_insert {
    struct sq_conn *c;
    const char *project_id, *env_id;
    int64_t now;
};

/* store_folder_insert_fn */
static int sq_folder_insert(void *ctx, const char *path)
{
    const struct folder_insert *a = ctx;
    char id[STORE_ID_LEN + 1];
    int r;

    name_uuid(id);
    r = sq_run(a->c, ST_FOLDER_INSERT, "tttti", id, a->project_id, a->env_id, path, a->now);
    return r < 0 ? r : sqlite3_changes(a->c->db) > 0;
}

/* Inserts the rows of path and its ancestors that are missing, inside the
 * caller's transaction.  1 if the row of path itself was new, else 0. */
static int sq_folder_ensure(struct sq_conn *c, const char *project_id, const char *env_id,
                            const char *path, int64_t now)
{
    struct folder_insert a = {c, project_id, env_id, now};

    return store_folders_ensure(path, sq_folder_insert, &a);
}

static int sq_secrets_write(struct store *s, const char *project_id, const char *env_id,
                            const char *path, struct store_write *w, size_t n, const char *actor_id,
                            int64_t now)
{
    _cleanup_free_ struct write_result *res = NULL;
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    if (!project_id || !env_id || !path || !actor_id || (n && !w))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!w[i].key || (unsigned)w[i].op > STORE_DELETE)
            return -EINVAL;
        if (w[i].op != STORE_DELETE && (!w[i].value || w[i].value_len == 0))
            return -EINVAL; /* an empty value would read back as a tombstone */
    }
    if (n == 0)
        return 0;
    res = calloc(n, sizeof(*res));
    if (!res)
        return -ENOMEM;

    c = sq_writer(sq(s));
    r = sq_begin(c);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        r = sq_write_one(c, project_id, env_id, path, &w[i], actor_id, now, &res[i]);
        if (r < 0)
            return r;
        /* the folder of each write (w->path: a batch spans folders) exists */
        r = sq_folder_ensure(c, project_id, env_id, w[i].path ? w[i].path : path, now);
        if (r < 0)
            return r;
    }
    r = sq_commit(c);
    if (r < 0)
        return r;

    for (size_t i = 0; i < n; i++) {
        w[i].ret_version = res[i].version;
        w[i].ret_created = res[i].created;
        memcpy(w[i].ret_id, res[i].id, sizeof(w[i].ret_id));
    }
    return 0;
}

/* ---- people ---- */

static int sq_invite_create(struct store *s, const struct store_invite *inv)
{
    if (!inv || !inv->email || !sq_org_role_valid(inv->org_role))
        return -EINVAL;
    return sq_write1(s, false, ST_INVITE_INSERT, "ttttbtiii", inv->id, inv->org_id, inv->email,
                     inv->org_role, inv->token_hash, (size_t)STORE_HASH_BYTES, inv->created_by,
                     inv->created_at, inv->expires_at, inv->accepted_at);
}

static int sq_invite_get(struct store *s, const uint8_t token_hash[STORE_HASH_BYTES],
                         struct store_invite *ret)
{
    if (!token_hash || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_invite, ret, ST_INVITE_GET, "b", token_hash, (size_t)STORE_HASH_BYTES);
}

static int sq_invite_accept(struct store *s, const char *invite_id, const struct store_user *u,
                            int64_t now)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    char org_id[STORE_ID_LEN + 1], role[16];
    bool accepted, invited_email;
    int r;

    if (!invite_id || !u || !u->email || u->kdf_opslimit > INT64_MAX || u->kdf_memlimit > INT64_MAX)
        return -EINVAL;

    c = sq_writer(sq(s));
    r = sq_begin(c);
    if (r < 0)
        return r;
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_INVITE_STATE, &st, "tt", invite_id, u->email)) < 0 ||
            (r = sq_step(c, st)) < 0)
            return r;
        if (r == 0)
            return -ENOENT;
        if ((r = col_id(c, st, 0, org_id)) < 0 ||
            (r = col_fixed_text(c, st, 1, role, sizeof(role))) < 0)
            return r;
        accepted = sqlite3_column_int64(st, 2) != 0;
        invited_email = sqlite3_column_int(st, 3) != 0;
    }
    if (accepted)
        return -EEXIST;
    if (!invited_email)
        return -EINVAL;
    if ((r = sq_insert_user(c, u)) < 0 ||
        (r = sq_run(c, ST_ORG_MEMBER_INSERT, "ttti", org_id, u->id, role, now)) < 0 ||
        (r = sq_run(c, ST_INVITE_ACCEPT, "ti", invite_id, now)) < 0)
        return r;
    return sq_commit(c);
}

static int sq_org_role(struct store *s, const char *org_id, const char *user_id, char role[16])
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    char x[16];
    int r;

    if (!org_id || !user_id || !role)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_ORG_ROLE, &st, "tt", org_id, user_id)) < 0 || (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    r = col_fixed_text(c, st, 0, x, sizeof(x));
    if (r < 0)
        return r;
    memcpy(role, x, sizeof(x));
    return 0;
}

/* The count goes on until user_login_ok: each failure from the lock_after-th
 * on (re)locks the account, so guessing while locked only extends the lock. */
static int sq_user_login_failed(struct store *s, const char *user_id, int64_t now, int lock_after,
                                int64_t lock_ms, int64_t *ret_locked_until)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int64_t failures, until;
    int r;

    if (!user_id || lock_after < 0 || lock_ms < 0 || now > INT64_MAX - lock_ms)
        return -EINVAL;

    c = sq_writer(sq(s));
    r = sq_begin(c);
    if (r < 0)
        return r;
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_LOGIN_FAILED, &st, "tii", user_id, (int64_t)lock_after,
                          now + lock_ms)) < 0 ||
            (r = sq_step(c, st)) < 0)
            return r;
        if (r == 0)
            return -ENOENT;
        failures = sqlite3_column_int64(st, 0);
        until = sqlite3_column_int64(st, 1);
    }
    r = sq_commit(c);
    if (r < 0)
        return r;
    if (ret_locked_until)
        *ret_locked_until = until > now ? until : 0;
    return failures > INT_MAX ? INT_MAX : (int)failures;
}

static int sq_user_login_ok(struct store *s, const char *user_id)
{
    if (!user_id)
        return -EINVAL;
    return sq_write1(s, true, ST_LOGIN_OK, "t", user_id);
}

static int sq_user_locked_until(struct store *s, const char *user_id, int64_t *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int64_t until;
    int r;

    if (!user_id || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_int(c, &until, ST_LOCKED_UNTIL, "t", user_id)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    *ret = until;
    return 0;
}

/* ---- project members and roles ---- */

static int sq_member_add(struct store *s, const struct store_member *m)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    const char *type;
    int r;

    if (!m || !(type = sq_principal_type(m->principal_type)) || !sq_fits(m->role, sizeof(m->role)))
        return -EINVAL;

    c = sq_writer(sq(s));
    r = sq_begin(c);
    if (r < 0)
        return r;
    /* No foreign key can say "a user or an identity": look. */
    r = sq_int(c, NULL, streq(type, "user") ? ST_USER_EXISTS : ST_IDENTITY_EXISTS, "t",
               m->principal_id);
    if (r < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    r = sq_run(c, ST_MEMBER_INSERT, "ttttbi", m->project_id, type, m->principal_id, m->role,
               m->wrapped_key.ptr, m->wrapped_key.len, m->created_at);
    if (r < 0)
        return r;
    return sq_commit(c);
}

static int sq_member_list(struct store *s, const char *project_id, struct store_member **ret,
                          size_t *ret_n)
{
    void *v = NULL;
    int r;

    if (!ret)
        return -EINVAL;
    r = sq_list(s, ST_MEMBER_LIST, project_id, sizeof(**ret), sq_read_member, sq_release_member, &v,
                ret_n);
    if (r >= 0)
        *ret = v;
    return r;
}

static int sq_member_remove(struct store *s, const char *project_id, const char *principal_id)
{
    if (!project_id || !principal_id)
        return -EINVAL;
    return sq_write1(s, true, ST_MEMBER_DELETE, "tt", project_id, principal_id);
}

static int sq_member_set_role(struct store *s, const char *project_id, const char *principal_id,
                              const char *role)
{
    if (!project_id || !principal_id || !sq_fits(role, SQ_ROLE_SIZE))
        return -EINVAL;
    return sq_write1(s, true, ST_MEMBER_SET_ROLE, "ttt", project_id, principal_id, role);
}

static int sq_role_create(struct store *s, const struct store_role *x)
{
    /* A custom slug is a member's role: it must fit store_member.role. */
    if (!x || !x->slug || !x->slug[0] || !x->name || !x->rules || strlen(x->slug) >= SQ_ROLE_SIZE)
        return -EINVAL;
    return sq_write1(s, false, ST_ROLE_INSERT, "ttttti", x->id, x->project_id, x->slug, x->name,
                     x->rules, x->created_at);
}

static int sq_role_get(struct store *s, const char *project_id, const char *slug,
                       struct store_role *ret)
{
    if (!project_id || !slug || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_role, ret, ST_ROLE_GET, "tt", project_id, slug);
}

static int sq_role_list(struct store *s, const char *project_id, struct store_role **ret,
                        size_t *ret_n)
{
    void *v = NULL;
    int r;

    if (!ret)
        return -EINVAL;
    r = sq_list(s, ST_ROLE_LIST, project_id, sizeof(**ret), sq_read_role, sq_release_role, &v,
                ret_n);
    if (r >= 0)
        *ret = v;
    return r;
}

static int sq_role_delete(struct store *s, const char *project_id, const char *slug)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    if (!project_id || !slug)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (r = sq_int(c, NULL, ST_ROLE_GET, "tt", project_id, slug)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    r = sq_int(c, NULL, ST_ROLE_IN_USE, "tt", project_id, slug);
    if (r != 0)
        return r < 0 ? r : -EBUSY;
    r = sq_run(c, ST_ROLE_DELETE, "tt", project_id, slug);
    if (r < 0)
        return r;
    return sq_commit(c);
}

/* ---- machine identities ---- */

static bool sq_client_secret_valid(const struct store_client_secret *cs)
{
    return cs->encrypted_private_key.ptr && cs->encrypted_private_key.len &&
           strnlen(cs->prefix, sizeof(cs->prefix)) < sizeof(cs->prefix) && cs->num_uses >= 0 &&
           cs->num_uses_limit >= 0;
}

static int sq_insert_client_secret(struct sq_conn *c, const struct store_client_secret *cs,
                                   const char *identity_id)
{
    return sq_run(c, ST_CSECRET_INSERT, "ttbbttiiiii", cs->id, identity_id, cs->auth_hash,
                  (size_t)STORE_HASH_BYTES, cs->encrypted_private_key.ptr,
                  cs->encrypted_private_key.len, cs->prefix, cs->description ? cs->description : "",
                  cs->created_at, cs->expires_at, cs->num_uses, cs->num_uses_limit,
                  (int64_t)cs->revoked);
}

static int sq_identity_create(struct store *s, const struct store_identity *id,
                              const struct store_client_secret *first)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    if (!id || !id->name || !id->public_key.ptr || !id->public_key.len || !id->client_id[0] ||
        id->access_token_num_uses_limit < 0 || (first && !sq_client_secret_valid(first)))
        return -EINVAL;

    c = sq_writer(sq(s));
    r = sq_begin(c);
    if (r < 0)
        return r;
    r = sq_run(c, ST_IDENTITY_INSERT, "tttbtiiitti", id->id, id->org_id, id->name,
               id->public_key.ptr, id->public_key.len, id->client_id, id->access_token_ttl,
               id->access_token_max_ttl, id->access_token_num_uses_limit,
               id->trusted_ips ? id->trusted_ips : "", id->created_by, id->created_at);
    if (r < 0)
        return r;
    if (first) {
        r = sq_insert_client_secret(c, first, id->id);
        if (r < 0)
            return r;
    }
    return sq_commit(c);
}

static int sq_identity_get(struct store *s, const char *id, struct store_identity *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_identity, ret, ST_IDENTITY_GET, "t", id);
}

static int sq_identity_get_by_client_id(struct store *s, const char *client_id,
                                        struct store_identity *ret)
{
    if (!client_id || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_identity, ret, ST_IDENTITY_BY_CLIENT_ID, "t", client_id);
}

static int sq_identity_list(struct store *s, const char *org_id, struct store_identity **ret,
                            size_t *ret_n)
{
    void *v = NULL;
    int r;

    if (!ret)
        return -EINVAL;
    r = sq_list(s, ST_IDENTITY_LIST, org_id, sizeof(**ret), sq_read_identity, sq_release_identity,
                &v, ret_n);
    if (r >= 0)
        *ret = v;
    return r;
}

static int sq_identity_delete(struct store *s, const char *id)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    if (!id)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (r = sq_run(c, ST_IDENTITY_DELETE, "t", id)) < 0)
        return r;
    if (sqlite3_changes(c->db) == 0)
        return -ENOENT;
    r = sq_run(c, ST_IDENTITY_MEMBERS_DELETE, "t", id);
    if (r < 0)
        return r;
    return sq_commit(c);
}

static int sq_client_secret_create(struct store *s, const struct store_client_secret *cs)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    if (!cs || !sq_client_secret_valid(cs))
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (r = sq_insert_client_secret(c, cs, cs->identity_id)) < 0)
        return r;
    return sq_commit(c);
}

static int sq_client_secret_list(struct store *s, const char *identity_id,
                                 struct store_client_secret **ret, size_t *ret_n)
{
    void *v = NULL;
    int r;

    if (!ret)
        return -EINVAL;
    r = sq_list(s, ST_CSECRET_LIST, identity_id, sizeof(**ret), sq_read_client_secret,
                sq_release_client_secret, &v, ret_n);
    if (r >= 0)
        *ret = v;
    return r;
}

/* Runs `change` (?1 the key: id if not NULL, else hash; ?2 arg) in its own
 * transaction.  If it matched no row: -ENOENT when `exists` finds no row for
 * the key either, else -EACCES (the row is there but may not be used). */
static int sq_change_or_refuse(struct store *s, enum sq_stmt change, enum sq_stmt exists,
                               const char *id, const uint8_t *hash, int64_t arg)
{
    _cleanup_conn_ struct sq_conn *c = sq_writer(sq(s));
    int r;

    r = sq_begin(c);
    if (r < 0)
        return r;
    r = id ? sq_run(c, change, "ti", id, arg)
           : sq_run(c, change, "bi", hash, (size_t)STORE_HASH_BYTES, arg);
    if (r < 0)
        return r;
    if (sqlite3_changes(c->db) == 0) {
        r = id ? sq_int(c, NULL, exists, "t", id)
               : sq_int(c, NULL, exists, "b", hash, (size_t)STORE_HASH_BYTES);
        return r < 0 ? r : r > 0 ? -EACCES : -ENOENT;
    }
    return sq_commit(c);
}

static int sq_client_secret_use(struct store *s, const char *id, int64_t now)
{
    if (!id)
        return -EINVAL;
    return sq_change_or_refuse(s, ST_CSECRET_USE, ST_CSECRET_EXISTS, id, NULL, now);
}

static int sq_client_secret_revoke(struct store *s, const char *identity_id, const char *id)
{
    if (!identity_id || !id)
        return -EINVAL;
    return sq_write1(s, true, ST_CSECRET_REVOKE, "tt", identity_id, id);
}

static int sq_project_set_server_key(struct store *s, const char *project_id, const uint8_t *key,
                                     size_t len)
{
    if (!project_id || (key && !len))
        return -EINVAL;
    return sq_write1(s, true, ST_PROJECT_SET_SERVER_KEY, "bt", key, len, project_id);
}

static int sq_access_token_create(struct store *s, const struct store_access_token *t)
{
    if (!t || t->num_uses < 0 || t->num_uses_limit < 0)
        return -EINVAL;
    return sq_write1(s, false, ST_ATOKEN_INSERT, "bttiiiiii", t->token_hash,
                     (size_t)STORE_HASH_BYTES, t->identity_id, t->client_secret_id, t->created_at,
                     t->expires_at, t->max_expires_at, t->num_uses, t->num_uses_limit,
                     (int64_t)t->revoked);
}

static int sq_access_token_get(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
                               struct store_access_token *ret)
{
    if (!hash || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_access_token, ret, ST_ATOKEN_GET, "b", hash, (size_t)STORE_HASH_BYTES);
}

static int sq_access_token_use(struct store *s, const uint8_t hash[STORE_HASH_BYTES], int64_t now)
{
    if (!hash)
        return -EINVAL;
    return sq_change_or_refuse(s, ST_ATOKEN_USE, ST_ATOKEN_GET, NULL, hash, now);
}

static int sq_access_token_renew(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
                                 int64_t expires_at)
{
    if (!hash)
        return -EINVAL;
    return sq_change_or_refuse(s, ST_ATOKEN_RENEW, ST_ATOKEN_GET, NULL, hash, expires_at);
}

static int sq_access_token_revoke(struct store *s, const uint8_t hash[STORE_HASH_BYTES])
{
    if (!hash)
        return -EINVAL;
    return sq_write1(s, true, ST_ATOKEN_REVOKE, "b", hash, (size_t)STORE_HASH_BYTES);
}

/* ---- service tokens ---- */

static int sq_service_token_create(struct store *s, const struct store_service_token *t)
{
    if (!t || !t->name || !t->scopes || !t->wrapped_key.ptr || !t->wrapped_key.len)
        return -EINVAL;
    return sq_write1(s, false, ST_STOKEN_INSERT, "tttbtibtiii", t->id, t->project_id, t->name,
                     t->secret_hash, (size_t)STORE_HASH_BYTES, t->scopes, (int64_t)t->write,
                     t->wrapped_key.ptr, t->wrapped_key.len, t->created_by, t->created_at,
                     t->expires_at, (int64_t)t->revoked);
}

static int sq_service_token_get(struct store *s, const char *id, struct store_service_token *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_service_token, ret, ST_STOKEN_GET, "t", id);
}

static int sq_service_token_list(struct store *s, const char *project_id,
                                 struct store_service_token **ret, size_t *ret_n)
{
    void *v = NULL;
    int r;

    if (!ret)
        return -EINVAL;
    r = sq_list(s, ST_STOKEN_LIST, project_id, sizeof(**ret), sq_read_service_token,
                sq_release_service_token, &v, ret_n);
    if (r >= 0)
        *ret = v;
    return r;
}

static int sq_service_token_revoke(struct store *s, const char *project_id, const char *id)
{
    if (!project_id || !id)
        return -EINVAL;
    return sq_write1(s, true, ST_STOKEN_REVOKE, "tt", project_id, id);
}

/* ---- share links ---- */

/* SHARE_COLS or SHARE_LIST_COLS */
static int sq_read_share(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_share_release) struct store_share x = {0};
    int r;

    if ((r = col_fixed_text(c, st, 0, x.id, sizeof(x.id))) < 0 ||
        (r = col_id(c, st, 1, x.org_id)) < 0 || (r = col_id(c, st, 2, x.created_by)) < 0 ||
        (r = col_blob(st, 3, &x.ciphertext)) < 0 || (r = col_blob(st, 5, &x.kdf_salt)) < 0)
        return r;
    x.has_password = sqlite3_column_type(st, 4) != SQLITE_NULL;
    if (x.has_password && (r = col_hash(c, st, 4, x.auth_hash)) < 0)
        return r;
    x.kdf_opslimit = (uint64_t)sqlite3_column_int64(st, 6);
    x.kdf_memlimit = (uint64_t)sqlite3_column_int64(st, 7);
    x.org_only = sqlite3_column_int(st, 8) != 0;
    x.max_views = sqlite3_column_int64(st, 9);
    x.views = sqlite3_column_int64(st, 10);
    x.created_at = sqlite3_column_int64(st, 11);
    x.expires_at = sqlite3_column_int64(st, 12);
    if ((r = col_hash(c, st, 13, x.access_hash)) < 0)
        return r;
    *(struct store_share *)ret = TAKE_STRUCT(x);
    return 0;
}

static void sq_release_share(void *p)
{
    store_share_release(p);
}

static int sq_share_create(struct store *s, const struct store_share *sh)
{
    if (!sh || !sh->ciphertext.ptr || !sh->ciphertext.len || sh->max_views < 0 ||
        sh->kdf_opslimit > INT64_MAX || sh->kdf_memlimit > INT64_MAX ||
        (sh->has_password && !sh->kdf_salt.len))
        return -EINVAL;
    return sq_write1(
        s, false, ST_SHARE_INSERT, "tttbbbiiiiiiib", sh->id, sh->org_id, sh->created_by,
        sh->ciphertext.ptr, sh->ciphertext.len, sh->has_password ? sh->auth_hash : NULL,
        (size_t)STORE_HASH_BYTES, sh->has_password ? sh->kdf_salt.ptr : NULL, sh->kdf_salt.len,
        (int64_t)sh->kdf_opslimit, (int64_t)sh->kdf_memlimit, (int64_t)sh->org_only, sh->max_views,
        sh->views, sh->created_at, sh->expires_at, sh->access_hash, (size_t)STORE_HASH_BYTES);
}

static int sq_share_get(struct store *s, const char *id, int64_t now, struct store_share *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_share, ret, ST_SHARE_GET, "ti", id, now);
}

static int sq_share_open(struct store *s, const char *id, int64_t now, struct store_share *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_(store_share_release) struct store_share x = {0};
    int r;

    if (!id || !ret)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (r = sq_run(c, ST_SHARE_VIEW, "ti", id, now)) < 0)
        return r;
    if (sqlite3_changes(c->db) == 0)
        return -ENOENT;
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_SHARE_GET, &st, "ti", id, now)) < 0 || (r = sq_step(c, st)) < 0)
            return r;
        if (r == 0)
            return -ENOENT;
        if ((r = sq_read_share(c, st, &x)) < 0)
            return r;
    }
    if (x.max_views && x.views >= x.max_views && (r = sq_run(c, ST_SHARE_DELETE, "t", id)) < 0)
        return r;
    if ((r = sq_commit(c)) < 0)
        return r;
    *ret = TAKE_STRUCT(x);
    return 0;
}

static int sq_share_list(struct store *s, const char *created_by, int64_t now,
                         struct store_share **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    void *v = NULL;
    int r;

    if (!created_by || !ret || !ret_n)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SHARE_LIST, &st, "ti", created_by, now)) < 0 ||
        (r = sq_collect(c, st, sizeof(**ret), sq_read_share, sq_release_share, &v, ret_n)) < 0)
        return r;
    *ret = v;
    return 0;
}

static int sq_share_delete(struct store *s, const char *id)
{
    if (!id)
        return -EINVAL;
    return sq_write1(s, true, ST_SHARE_DELETE, "t", id);
}

static int sq_share_purge(struct store *s, int64_t now, size_t max, struct store_share **ret,
                          size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    struct store_share *v = NULL;
    size_t n = 0;
    int r;

    if (!ret || !ret_n || max > INT64_MAX)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0)
        return r;
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_SHARE_EXPIRED, &st, "ii", now, (int64_t)max)) < 0 ||
            (r = sq_collect(c, st, sizeof(*v), sq_read_share, sq_release_share, (void **)&v, &n)) <
                0)
            return r;
    }
    for (size_t i = 0; i < n && r >= 0; i++)
        r = sq_run(c, ST_SHARE_DELETE, "t", v[i].id);
    if (r >= 0)
        r = n ? sq_commit(c) : 0;
    if (r < 0) {
        store_shares_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int sq_share_policy_get(struct store *s, const char *org_id, struct store_share_policy *ret)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if (!org_id || !ret)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SHARE_POLICY_GET, &st, "t", org_id)) < 0 || (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    ret->max_ttl = sqlite3_column_int64(st, 0);
    ret->allow_anonymous = sqlite3_column_int(st, 1) != 0;
    return 0;
}

static int sq_share_policy_set(struct store *s, const char *org_id,
                               const struct store_share_policy *p)
{
    if (!org_id || !p || p->max_ttl <= 0)
        return -EINVAL;
    return sq_write1(s, false, ST_SHARE_POLICY_SET, "tii", org_id, p->max_ttl,
                     (int64_t)p->allow_anonymous);
}

/* ---- project key rotation ---- */

static int sq_project_versions(struct store *s, const char *project_id,
                               struct store_version_ref **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    void *v = NULL;
    int r;

    if (!project_id || !ret || !ret_n)
        return -EINVAL;
    /* One read transaction: "no such project" and the list are one snapshot. */
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_begin(c)) < 0 ||
        (r = sq_int(c, NULL, ST_PROJECT_EXISTS, "t", project_id)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    if ((r = sq_query(c, ST_PROJECT_VERSIONS, &st, "t", project_id)) < 0 ||
        (r = sq_collect(c, st, sizeof(**ret), sq_read_version_ref, sq_release_version_ref, &v,
                        ret_n)) < 0)
        return r;
    *ret = v;
    return 0;
}

static int sq_cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int sq_cmp_rekey_version_ptr(const void *a, const void *b)
{
    const struct store_rekey_version *x = *(const struct store_rekey_version *const *)a;
    const struct store_rekey_version *y = *(const struct store_rekey_version *const *)b;
    int d = strcmp(x->secret_id, y->secret_id);

    return d ? d : (x->version > y->version) - (x->version < y->version);
}

/* The arguments of project_rekey on their own: complete, and nothing twice
 * (with the counts checked against the database, that makes the sets equal). */
static int sq_rekey_check(const struct store_rekey_member *m, size_t n_m,
                          const struct store_rekey_version *v, size_t n_v)
{
    _cleanup_free_ const char **ids = NULL;
    _cleanup_free_ const struct store_rekey_version **vs = NULL;

    if ((n_m && !m) || (n_v && !v))
        return -EINVAL;
    for (size_t i = 0; i < n_m; i++)
        if (!m[i].principal_id || !m[i].wrapped_key || !m[i].wrapped_key_len)
            return -EINVAL;
    for (size_t i = 0; i < n_v; i++)
        if (!v[i].secret_id || (v[i].value_len && !v[i].value) ||
            (v[i].comment_len && !v[i].comment))
            return -EINVAL;

    ids = calloc(n_m ? n_m : 1, sizeof(*ids));
    vs = calloc(n_v ? n_v : 1, sizeof(*vs));
    if (!ids || !vs)
        return -ENOMEM;
    for (size_t i = 0; i < n_m; i++)
        ids[i] = m[i].principal_id;
    for (size_t i = 0; i < n_v; i++)
        vs[i] = &v[i];
    qsort(ids, n_m, sizeof(*ids), sq_cmp_str_ptr);
    qsort(vs, n_v, sizeof(*vs), sq_cmp_rekey_version_ptr);
    for (size_t i = 1; i < n_m; i++)
        if (sq_cmp_str_ptr(&ids[i - 1], &ids[i]) == 0)
            return -EINVAL;
    for (size_t i = 1; i < n_v; i++)
        if (sq_cmp_rekey_version_ptr(&vs[i - 1], &vs[i]) == 0)
            return -EINVAL;
    return 0;
}

static int sq_project_rekey(struct store *s, const char *project_id,
                            const struct store_rekey_member *m, size_t n_m,
                            const struct store_rekey_version *v, size_t n_v)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int64_t count;
    int r;

    if (!project_id)
        return -EINVAL;
    r = sq_rekey_check(m, n_m, v, n_v);
    if (r < 0)
        return r;

    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (r = sq_int(c, NULL, ST_PROJECT_EXISTS, "t", project_id)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    if ((r = sq_int(c, &count, ST_MEMBER_COUNT, "t", project_id)) < 0)
        return r;
    if ((uint64_t)count != (uint64_t)n_m)
        return -EINVAL;
    if ((r = sq_int(c, &count, ST_VERSION_COUNT, "t", project_id)) < 0)
        return r;
    if ((uint64_t)count != (uint64_t)n_v)
        return -EINVAL;

    /* Each update must hit exactly one row of this project, else the sets
     * differ; returning rolls back what was already rewritten. */
    for (size_t i = 0; i < n_m; i++) {
        r = sq_run(c, ST_MEMBER_REKEY, "ttb", project_id, m[i].principal_id, m[i].wrapped_key,
                   m[i].wrapped_key_len);
        if (r < 0)
            return r;
        if (sqlite3_changes(c->db) != 1)
            return -EINVAL;
    }
    for (size_t i = 0; i < n_v; i++) {
        const void *value = v[i].value_len ? v[i].value : NULL;
        const void *comment = v[i].comment_len ? v[i].comment : NULL;
        r = sq_run(c, ST_VERSION_REKEY, "tibbt", v[i].secret_id, v[i].version, value,
                   v[i].value_len, comment, v[i].comment_len, project_id);
        if (r < 0)
            return r;
        if (sqlite3_changes(c->db) != 1)
            return -EINVAL;
    }
    if ((r = sq_run(c, ST_SECRETS_REKEY_CURRENT, "t", project_id)) < 0 ||
        (r = sq_run(c, ST_STOKEN_REVOKE_PROJECT, "t", project_id)) < 0 ||
        (r = sq_run(c, ST_PROJECT_SET_SERVER_KEY, "bt", NULL, (size_t)0, project_id)) < 0)
        return r;
    return sq_commit(c);
}

/* ---- history ---- */

static int sq_secrets_at(struct store *s, const char *env_id, const char *path, int64_t t,
                         struct store_secret_at **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    void *v = NULL;
    int r;

    if (!env_id || !path || !ret || !ret_n)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_SECRETS_AT, &st, "tti", env_id, path, t)) < 0 ||
        (r = sq_collect(c, st, sizeof(**ret), sq_read_secret_at, sq_release_secret_at, &v, ret_n)) <
            0)
        return r;
    *ret = v;
    return 0;
}

/* ---- audit log ---- */

#define SQ_AUDIT_MAX_ROWS 10000 /* audit_query's cap on limit */

/* Inserts recs after the head of the chain, in the open transaction. */
static int sq_audit_insert(struct sq_conn *c, struct store_audit *recs, size_t n,
                           store_audit_chain_fn chain, void *ctx)
{
    uint8_t prev[STORE_HASH_BYTES] = {0};
    int64_t seq;
    int r;

    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_AUDIT_LAST, &st, "")) < 0 || (r = sq_step(c, st)) < 0)
            return r;
        if (r > 0 && (r = col_hash(c, st, 0, prev)) < 0)
            return r;
    }
    r = sq_int(c, &seq, ST_AUDIT_NEXT_SEQ, "");
    if (r < 0)
        return r;
    /* seq is known before the insert (the write lock is held), so that chain
     * may hash it too. */
    for (size_t i = 0; i < n; i++, seq++) {
        struct store_audit *a = &recs[i];

        a->seq = seq;
        memcpy(a->prev_hash, prev, sizeof(prev));
        chain(ctx, prev, a);
        r = sq_run(c, ST_AUDIT_INSERT, "itttttttttttttbb", a->time, a->actor_type, a->actor_id,
                   a->actor_name, a->event, a->org_id, a->project_id, a->environment, a->path,
                   a->key, a->ip, a->user_agent, a->outcome, a->metadata, a->prev_hash,
                   (size_t)STORE_HASH_BYTES, a->hash, (size_t)STORE_HASH_BYTES);
        if (r < 0)
            return r;
        if (sqlite3_last_insert_rowid(c->db) != seq) {
            sq_set_err(c->owner, "sqlite: insert audit record: seq out of order");
            return -EIO;
        }
        memcpy(prev, a->hash, sizeof(prev));
    }
    return 0;
}

static int sq_audit_append_tx(struct sq_conn *c, struct store_audit *recs, size_t n,
                              store_audit_chain_fn chain, void *ctx)
{
    int64_t want = c->owner->base.root_generation, newest = 0;
    int r = sq_begin(c);

    if (r >= 0 && want && (r = sq_int(c, &newest, ST_ROOT_KEY_NEWEST, "")) >= 0 && newest != want) {
        sq_set_err(c->owner, "the root key was rotated (generation %lld): restart with the new key",
                   (long long)newest);
        return -EKEYREJECTED;
    }
    if (r < 0 || (r = sq_audit_insert(c, recs, n, chain, ctx)) < 0)
        return r;
    return sq_commit(c);
}

static int sq_audit_append(struct store *s, struct store_audit *recs, size_t n,
                           store_audit_chain_fn chain, void *ctx)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    if ((n && !recs) || !chain)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!recs[i].event || !recs[i].event[0] ||
            !sq_fits(recs[i].actor_type, sizeof(recs[i].actor_type)))
            return -EINVAL;
    if (n == 0)
        return 0;

    c = sq_writer(sq(s));
    r = sq_audit_append_tx(c, recs, n, chain, ctx);
    if (r < 0)
        for (size_t i = 0; i < n; i++)
            recs[i].seq = 0; /* nothing was appended */
    return r;
}

static int sq_audit_stmt(struct sq_conn *c, unsigned shape, sqlite3_stmt **ret)
{
    static const struct {
        unsigned bit;
        const char *sql;
    } filters[] = {
        {AQ_ORG, " AND org_id IN (:org, '')"}, /* and server-level records */
        {AQ_PROJECT, " AND project_id = :project"},
        {AQ_ACTOR, " AND (actor_id = :actor OR actor_name = :actor)"},
        {AQ_EVENT, " AND event = :event"},
        {AQ_EVENT_PREFIX, " AND event >= :event AND event < :event_end"},
        {AQ_SINCE, " AND time >= :since"},
        {AQ_UNTIL, " AND time < :until"},
    };

    if (!c->audit_qs[shape]) {
        _cleanup_buf_ struct buf sql = BUF_INIT;
        int r = buf_adds(&sql, "SELECT " AUDIT_COLS " FROM audit_log WHERE seq > :after");
        for (size_t i = 0; i < ELEMENTSOF(filters) && r >= 0; i++)
            if (shape & filters[i].bit)
                r = buf_adds(&sql, filters[i].sql);
        if (r >= 0)
            r = buf_adds(&sql, " ORDER BY seq LIMIT :limit");
        if (r < 0)
            return r;
        int rc = sqlite3_prepare_v3(c->db, buf_str(&sql), -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->audit_qs[shape], NULL);
        if (rc != SQLITE_OK)
            return sq_fail(c, rc, "query audit log");
    }
    *ret = c->audit_qs[shape];
    return 0;
}

/* Binds a named parameter if the statement has it. */
static int sq_bind_named(struct sq_conn *c, sqlite3_stmt *st, const char *name, const char *text,
                         int64_t value)
{
    int idx = sqlite3_bind_parameter_index(st, name);
    int rc;

    if (idx == 0)
        return 0;
    rc = text ? sqlite3_bind_text(st, idx, text, -1, SQLITE_STATIC)
              : sqlite3_bind_int64(st, idx, value);
    return rc == SQLITE_OK ? 0 : sq_fail(c, rc, "query audit log");
}

static int sq_audit_query(struct store *s, const struct store_audit_query *q,
                          struct store_audit **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_free_ char *event_end = NULL;
    unsigned shape = 0;
    size_t limit;
    void *v = NULL;
    int r;

    if (!q || !ret || !ret_n)
        return -EINVAL;
    if (q->org_id)
        shape |= AQ_ORG;
    if (q->project_id)
        shape |= AQ_PROJECT;
    if (q->actor_id)
        shape |= AQ_ACTOR;
    if (q->event) {
        size_t len = strlen(q->event);
        if (len > 0 && q->event[len - 1] == '.') {
            /* "secret." matches [ "secret.", "secret/" ): '/' follows '.' */
            event_end = strdup(q->event);
            if (!event_end)
                return -ENOMEM;
            event_end[len - 1] = '/';
            shape |= AQ_EVENT_PREFIX;
        } else {
            shape |= AQ_EVENT;
        }
    }
    if (q->since)
        shape |= AQ_SINCE;
    if (q->until)
        shape |= AQ_UNTIL;
    limit = q->limit == 0 || q->limit > SQ_AUDIT_MAX_ROWS ? SQ_AUDIT_MAX_ROWS : q->limit;

    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_audit_stmt(c, shape, &st)) < 0)
        return r;
    if ((r = sq_bind_named(c, st, ":after", NULL, q->after_seq)) < 0 ||
        (r = sq_bind_named(c, st, ":org", q->org_id, 0)) < 0 ||
        (r = sq_bind_named(c, st, ":project", q->project_id, 0)) < 0 ||
        (r = sq_bind_named(c, st, ":actor", q->actor_id, 0)) < 0 ||
        (r = sq_bind_named(c, st, ":event", q->event, 0)) < 0 ||
        (r = sq_bind_named(c, st, ":event_end", event_end, 0)) < 0 ||
        (r = sq_bind_named(c, st, ":since", NULL, q->since)) < 0 ||
        (r = sq_bind_named(c, st, ":until", NULL, q->until)) < 0 ||
        (r = sq_bind_named(c, st, ":limit", NULL, (int64_t)limit)) < 0)
        return r;
    r = sq_collect(c, st, sizeof(**ret), sq_read_audit, sq_release_audit, &v, ret_n);
    if (r < 0)
        return r;
    *ret = v;
    return 0;
}

static void sq_free(struct sq_store *s)
{
    if (!s)
        return;
    /* Readers first: closing the writer last checkpoints and removes the WAL. */
    while (s->free_readers) {
        struct sq_conn *c = s->free_readers;
        s->free_readers = c->next;
        sq_conn_close(c);
    }
    sq_conn_close(s->writer);
    pthread_cond_destroy(&s->pool_cond);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_cond_destroy(&s->batch_cond);
    pthread_mutex_destroy(&s->write_lock);
    pthread_mutex_destroy(&s->err_lock);
    buf_release(&s->base.err);
    free(s->db_path);
    free(s);
}

static void sq_close(struct store *s)
{
    sq_free(sq(s));
}

/* ---- folders and imports (migration 0005) ---- */

static int sq_read_folder(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_folder_release) struct store_folder f = {0};
    int r;

    if ((r = col_id(c, st, 0, f.id)) < 0 || (r = col_id(c, st, 1, f.project_id)) < 0 ||
        (r = col_id(c, st, 2, f.env_id)) < 0 || (r = col_str(st, 3, &f.path)) < 0)
        return r;
    f.created_at = sqlite3_column_int64(st, 4);
    *(struct store_folder *)ret = TAKE_STRUCT(f);
    return 0;
}

static void sq_release_folder(void *p)
{
    store_folder_release(p);
}

static int sq_read_import(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    _cleanup_(store_import_release) struct store_import x = {0};
    int r;

    if ((r = col_id(c, st, 0, x.id)) < 0 || (r = col_id(c, st, 1, x.project_id)) < 0 ||
        (r = col_id(c, st, 2, x.env_id)) < 0 || (r = col_str(st, 3, &x.path)) < 0 ||
        (r = col_id(c, st, 4, x.import_env_id)) < 0 || (r = col_str(st, 5, &x.import_path)) < 0 ||
        (r = col_id(c, st, 8, x.created_by)) < 0)
        return r;
    x.position = sqlite3_column_int64(st, 6);
    x.created_at = sqlite3_column_int64(st, 7);
    *(struct store_import *)ret = TAKE_STRUCT(x);
    return 0;
}

static void sq_release_import(void *p)
{
    store_import_release(p);
}

static int sq_folder_create(struct store *s, const char *project_id, const char *env_id,
                            const char *path, int64_t now, struct store_folder *ret,
                            bool *ret_created)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r, created;

    if (!project_id || !env_id || !path)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (created = sq_folder_ensure(c, project_id, env_id, path, now)) < 0)
        return r < 0 ? r : created;
    if (ret) {
        /* read inside the transaction: the writer is not ours after the commit */
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_FOLDER_FIND, &st, "tt", env_id, path)) < 0 ||
            (r = sq_step(c, st)) < 0)
            return r;
        if ((r = r ? sq_read_folder(c, st, ret) : -EIO) < 0)
            return r;
    }
    if ((r = sq_commit(c)) < 0) {
        if (ret)
            store_folder_release(ret);
        return r;
    }
    if (ret_created)
        *ret_created = created > 0;
    return 0;
}

static int sq_folder_list(struct store *s, const char *env_id, const char *path, bool recursive,
                          struct store_folder **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    char prefix[NAME_PATH_MAX + 2];
    void *v = NULL;
    int r;

    if (!env_id || !ret || !ret_n || store_subtree_prefix(path, prefix) < 0)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_FOLDER_LIST, &st, "ttti", env_id, path, prefix, (int64_t)recursive)) <
            0 ||
        (r = sq_collect(c, st, sizeof(**ret), sq_read_folder, sq_release_folder, &v, ret_n)) < 0)
        return r;
    *ret = v;
    return 0;
}

static int sq_folder_get(struct store *s, const char *id, struct store_folder *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_folder, ret, ST_FOLDER_GET, "t", id);
}

static int sq_folder_find(struct store *s, const char *env_id, const char *path,
                          struct store_folder *ret)
{
    if (!env_id || !path || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_folder, ret, ST_FOLDER_FIND, "tt", env_id, path);
}

/* The ids of the rows st returns (its first column). */
static int sq_read_ids(struct sq_conn *c, sqlite3_stmt *st, char (**ret)[STORE_ID_LEN + 1],
                       size_t *ret_n)
{
    char(*v)[STORE_ID_LEN + 1] = NULL;
    size_t n = 0, cap = 0;
    int r;

    while ((r = sq_step(c, st)) > 0) {
        void *p = sq_grow(v, &cap, n, sizeof(*v));
        if (!p) {
            r = -ENOMEM;
            break;
        }
        v = p;
        if ((r = col_id(c, st, 0, v[n])) < 0)
            break;
        n++;
    }
    if (r < 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int sq_folder_delete(struct store *s, const char *env_id, const char *path,
                            const char *actor_id, int64_t now, size_t *ret_n_secrets)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_free_ char(*ids)[STORE_ID_LEN + 1] = NULL;
    char prefix[NAME_PATH_MAX + 2];
    size_t n = 0;
    int r;

    if (!env_id || !actor_id || store_subtree_prefix(path, prefix) < 0 || streq(path, "/"))
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (r = sq_int(c, NULL, ST_FOLDER_FIND, "tt", env_id, path)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_SUBTREE_LIVE_SECRETS, &st, "ttt", env_id, path, prefix)) < 0 ||
            (r = sq_read_ids(c, st, &ids, &n)) < 0)
            return r;
    }
    for (size_t i = 0; i < n; i++)
        if ((r = sq_run(c, ST_SECRET_TOMBSTONE, "tit", ids[i], now, actor_id)) < 0 ||
            (r = sq_run(c, ST_VERSION_INSERT, "t", ids[i])) < 0)
            return r;
    if ((r = sq_run(c, ST_SUBTREE_IMPORTS_DELETE, "ttt", env_id, path, prefix)) < 0 ||
        (r = sq_run(c, ST_SUBTREE_FOLDERS_DELETE, "ttt", env_id, path, prefix)) < 0 ||
        (r = sq_commit(c)) < 0)
        return r;
    if (ret_n_secrets)
        *ret_n_secrets = n;
    return 0;
}

static int sq_import_create(struct store *s, struct store_import *imp, size_t max)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int64_t count, last;
    int r;

    if (!imp || !imp->path || !imp->import_path || !name_uuid_valid(imp->id))
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 ||
        (r = sq_int(c, &count, ST_IMPORT_COUNT, "tt", imp->env_id, imp->path)) < 0 ||
        (r = sq_int(c, &last, ST_IMPORT_LAST_POSITION, "tt", imp->env_id, imp->path)) < 0)
        return r;
    if ((size_t)count >= max)
        return -E2BIG;
    if ((r = sq_folder_ensure(c, imp->project_id, imp->env_id, imp->path, imp->created_at)) < 0 ||
        (r = sq_run(c, ST_IMPORT_INSERT, "ttttttiit", imp->id, imp->project_id, imp->env_id,
                    imp->path, imp->import_env_id, imp->import_path, last + 1, imp->created_at,
                    imp->created_by)) < 0 ||
        (r = sq_commit(c)) < 0)
        return r;
    imp->position = last + 1;
    return 0;
}

static int sq_import_list(struct store *s, const char *env_id, const char *path,
                          struct store_import **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    void *v = NULL;
    int r;

    if (!env_id || !path || !ret || !ret_n)
        return -EINVAL;
    if ((r = sq_reader(sq(s), &c)) < 0 ||
        (r = sq_query(c, ST_IMPORT_LIST, &st, "tt", env_id, path)) < 0 ||
        (r = sq_collect(c, st, sizeof(**ret), sq_read_import, sq_release_import, &v, ret_n)) < 0)
        return r;
    *ret = v;
    return 0;
}

static int sq_import_get(struct store *s, const char *id, struct store_import *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sq_get(s, sq_read_import, ret, ST_IMPORT_GET, "t", id);
}

/* store_import_place_fn */
static int sq_import_place(void *ctx, const char *id, int64_t position)
{
    return sq_run(ctx, ST_IMPORT_SET_POSITION, "ti", id, position);
}

/* Numbers the imports of the folder 1..n in their order, with `moved` (if
 * not NULL) taken out and put at `position`; inside the caller's transaction. */
static int sq_import_renumber(struct sq_conn *c, const char *env_id, const char *path,
                              const char *moved, int64_t position)
{
    _cleanup_free_ char(*ids)[STORE_ID_LEN + 1] = NULL;
    _cleanup_free_ const char **order = NULL;
    size_t n = 0;
    int r;

    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_IMPORT_LIST, &st, "tt", env_id, path)) < 0 ||
            (r = sq_read_ids(c, st, &ids, &n)) < 0)
            return r;
    }
    order = calloc(n ? n : 1, sizeof(*order));
    if (!order)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        order[i] = ids[i];
    return store_imports_renumber(order, n, moved, position, sq_import_place, c);
}

/* Runs op on the import id (NULL: none) and renumbers its folder, in one
 * transaction. */
static int sq_import_change(struct store *s, const char *id, enum sq_stmt op, int64_t position)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(store_import_release) struct store_import imp = {0};
    int r;

    if (!id)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (r = sq_query(c, ST_IMPORT_GET, &st, "t", id)) < 0 ||
        (r = sq_step(c, st)) < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    r = sq_read_import(c, st, &imp);
    sq_reset(st);
    st = NULL;
    if (r < 0 || (op != ST__MAX && (r = sq_run(c, op, "t", id)) < 0) ||
        (r = sq_import_renumber(c, imp.env_id, imp.path, op == ST__MAX ? id : NULL,
                                position < 1 ? 1 : position)) < 0)
        return r;
    return sq_commit(c);
}

static int sq_import_move(struct store *s, const char *id, int64_t position)
{
    return sq_import_change(s, id, ST__MAX, position);
}

static int sq_import_delete(struct store *s, const char *id)
{
    return sq_import_change(s, id, ST_IMPORT_DELETE, 0);
}

/* ---- backup and restore ----
 * Statements assembled by store_table_sql from store_tables' names, prepared
 * once per table and finalized at its end: they run once per backup. */

static void sq_finalizep(sqlite3_stmt **st)
{
    sqlite3_finalize(*st);
}
#define _cleanup_final_ _cleanup_(sq_finalizep)

static int sq_prepare_table(struct sq_conn *c, const struct store_table *t,
                            enum store_table_sql kind, sqlite3_stmt **ret)
{
    _cleanup_(buf_release) struct buf sql = BUF_INIT;
    int rc, r;

    r = store_table_sql(t, kind, &sql);
    if (r < 0)
        return r;
    rc = sqlite3_prepare_v2(c->db, buf_str(&sql), -1, ret, NULL);
    return rc == SQLITE_OK ? 0 : sq_fail(c, rc, t->name);
}

static int sq_backup_table(struct sq_conn *c, const struct store_table *t, store_backup_fn fn,
                           void *ctx)
{
    _cleanup_final_ sqlite3_stmt *st = NULL;
    struct store_value v[32];
    int r;

    if (t->n_cols > ELEMENTSOF(v))
        return -E2BIG;
    if ((r = sq_prepare_table(c, t, STORE_SQL_SELECT, &st)) < 0 || (r = fn(ctx, t, NULL)) < 0)
        return r;
    while ((r = sq_step(c, st)) > 0) {
        for (size_t i = 0; i < t->n_cols; i++) {
            int type = sqlite3_column_type(st, (int)i);
            v[i] = (struct store_value){.null = type == SQLITE_NULL};
            if (v[i].null)
                continue;
            if (t->types[i] == 'i') {
                if (type != SQLITE_INTEGER)
                    return sq_corrupt(c, st, (int)i);
                v[i].i = sqlite3_column_int64(st, (int)i);
                continue;
            }
            v[i].ptr = t->types[i] == 't' ? (const void *)sqlite3_column_text(st, (int)i)
                                          : sqlite3_column_blob(st, (int)i);
            v[i].len = (size_t)sqlite3_column_bytes(st, (int)i);
            if (!v[i].ptr && v[i].len)
                return -ENOMEM;
            v[i].ptr = v[i].ptr ? v[i].ptr : "";
        }
        r = fn(ctx, t, v);
        if (r < 0)
            return r;
    }
    return r;
}

static int sq_backup(struct store *s, store_backup_fn fn, void *ctx)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int r;

    /* A deferred BEGIN: the first SELECT takes the snapshot every later one
     * reads, and the writer goes on in the WAL meanwhile. */
    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_begin(c)) < 0)
        return r;
    for (size_t i = 0; i < store_n_tables && r >= 0; i++)
        r = sq_backup_table(c, &store_tables[i], fn, ctx);
    return r < 0 ? r : sq_commit(c);
}

static int sq_restore_row(struct sq_conn *c, sqlite3_stmt *st, const struct store_table *t,
                          const struct store_value *v)
{
    int rc = SQLITE_OK;

    for (size_t i = 0; i < t->n_cols && rc == SQLITE_OK; i++) {
        int idx = (int)i + 1;
        if (v[i].null)
            rc = sqlite3_bind_null(st, idx);
        else if (t->types[i] == 'i')
            rc = sqlite3_bind_int64(st, idx, v[i].i);
        else if (t->types[i] == 't')
            rc = sqlite3_bind_text64(st, idx, v[i].ptr, v[i].len, SQLITE_STATIC, SQLITE_UTF8);
        else
            rc = sqlite3_bind_blob64(st, idx, v[i].ptr, v[i].len, SQLITE_STATIC);
    }
    if (rc != SQLITE_OK)
        return sq_fail(c, rc, t->name);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(c, rc, t->name);
}

static int sq_restore(struct store *s, store_restore_fn next, void *ctx)
{
    _cleanup_conn_ struct sq_conn *c = sq_writer(sq(s));
    _cleanup_final_ sqlite3_stmt *ins = NULL;
    const struct store_table *cur = NULL, *t;
    const struct store_value *row;
    int r;

    if ((r = sq_begin(c)) < 0)
        return r;
    for (size_t i = 0; i < store_n_tables; i++) {
        _cleanup_final_ sqlite3_stmt *any = NULL;
        if ((r = sq_prepare_table(c, &store_tables[i], STORE_SQL_ANY, &any)) < 0 ||
            (r = sq_step(c, any)) < 0)
            return r;
        if (r > 0) {
            sq_set_err(sq(s), "the store is not empty (table '%s' has rows)", store_tables[i].name);
            return -ENOTEMPTY;
        }
    }
    while ((r = next(ctx, &t, &row)) > 0) {
        if (t != cur) {
            sqlite3_finalize(ins);
            ins = NULL;
            cur = t;
            if ((r = sq_prepare_table(c, t, STORE_SQL_INSERT, &ins)) < 0)
                return r;
        }
        if ((r = sq_restore_row(c, ins, t, row)) < 0)
            return r;
    }
    return r < 0 ? r : sq_commit(c);
}

/* ---- the root key (migration 0008) ---- */

static int sq_read_root_key(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    struct store_root_key *k = ret;
    int r;

    *k = (struct store_root_key){.generation = sqlite3_column_int64(st, 0),
                                 .first_seq = sqlite3_column_int64(st, 3),
                                 .created_at = sqlite3_column_int64(st, 4)};
    if ((r = col_hash(c, st, 1, k->check)) < 0 || (r = col_blob(st, 2, &k->audit_key)) < 0)
        return r;
    return 0;
}

static void sq_release_root_key(void *p)
{
    store_blob_release(&((struct store_root_key *)p)->audit_key);
}

static int sq_root_keys(struct store *s, struct store_root_key **ret, size_t *ret_n)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r;

    if ((r = sq_reader(sq(s), &c)) < 0 || (r = sq_query(c, ST_ROOT_KEYS_LIST, &st, "")) < 0)
        return r;
    return sq_collect(c, st, sizeof(**ret), sq_read_root_key, sq_release_root_key, (void **)ret,
                      ret_n);
}

static int sq_root_key_insert(struct sq_conn *c, const struct store_root_key *k)
{
    return sq_run(c, ST_ROOT_KEY_INSERT, "ibbii", k->generation, k->check, (size_t)STORE_HASH_BYTES,
                  k->audit_key.ptr, k->audit_key.len, k->first_seq, k->created_at);
}

static int sq_root_key_init(struct store *s, const struct store_root_key *k)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    int64_t newest;
    int r;

    if (!k || k->generation != 1 || !k->audit_key.len)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (r = sq_int(c, &newest, ST_ROOT_KEY_NEWEST, "")) < 0)
        return r;
    if (newest)
        return -EEXIST;
    if ((r = sq_root_key_insert(c, k)) < 0)
        return r;
    return sq_commit(c);
}

/* The server-access keys, read whole before any is rewritten. */
struct sq_server_key {
    char id[STORE_ID_LEN + 1];
    struct store_blob key;
};

static int sq_read_server_key(struct sq_conn *c, sqlite3_stmt *st, void *ret)
{
    struct sq_server_key *k = ret;
    int r = col_id(c, st, 0, k->id);

    return r < 0 ? r : col_blob(st, 1, &k->key);
}

static void sq_release_server_key(void *p)
{
    store_blob_release(&((struct sq_server_key *)p)->key);
}

static int sq_root_key_rotate(struct store *s, struct store_root_key *k, struct store_audit *link,
                              store_audit_chain_fn chain, void *ctx, store_rewrap_fn rewrap,
                              void *rewrap_ctx)
{
    _cleanup_conn_ struct sq_conn *c = NULL;
    _cleanup_buf_ struct buf out = BUF_INIT;
    struct store_root_key *keys = NULL;
    struct sq_server_key *projects = NULL;
    size_t n_keys = 0, n_projects = 0;
    int64_t newest;
    char gen[24];
    int r;

    if (!k || !link || !chain || !rewrap || !k->audit_key.len)
        return -EINVAL;
    c = sq_writer(sq(s));
    if ((r = sq_begin(c)) < 0 || (r = sq_int(c, &newest, ST_ROOT_KEY_NEWEST, "")) < 0)
        return r;
    if (newest == 0 || k->generation != newest + 1)
        return -ESTALE;
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_ROOT_KEYS_LIST, &st, "")) < 0 ||
            (r = sq_collect(c, st, sizeof(*keys), sq_read_root_key, sq_release_root_key,
                            (void **)&keys, &n_keys)) < 0)
            return r;
    }
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((r = sq_query(c, ST_SERVER_KEYS_LIST, &st, "")) < 0 ||
            (r = sq_collect(c, st, sizeof(*projects), sq_read_server_key, sq_release_server_key,
                            (void **)&projects, &n_projects)) < 0)
            goto out;
    }
    if ((r = sq_audit_insert(c, link, 1, chain, ctx)) < 0)
        goto out;
    for (size_t i = 0; i < n_keys && r >= 0; i++) {
        buf_clear(&out);
        snprintf(gen, sizeof(gen), "%lld", (long long)keys[i].generation);
        r = rewrap(rewrap_ctx, "audit", gen, &keys[i].audit_key, &out);
        if (r >= 0)
            r = sq_run(c, ST_ROOT_KEY_SET_AUDIT, "ib", keys[i].generation, out.ptr, out.len);
    }
    for (size_t i = 0; i < n_projects && r >= 0; i++) {
        buf_clear(&out);
        r = rewrap(rewrap_ctx, "project", projects[i].id, &projects[i].key, &out);
        if (r >= 0)
            r = sq_run(c, ST_PROJECT_SET_SERVER_KEY, "bt", out.ptr, out.len, projects[i].id);
    }
    k->first_seq = link->seq + 1;
    if (r >= 0 && (r = sq_root_key_insert(c, k)) >= 0)
        r = sq_commit(c);
out:
    store_root_keys_free(keys, n_keys);
    for (size_t i = 0; i < n_projects; i++)
        sq_release_server_key(&projects[i]);
    free(projects);
    if (r < 0)
        link->seq = 0;
    return r;
}

static int sq_epoch(struct store *s, uint64_t *ret)
{
    *ret = atomic_load(&sq(s)->epoch);
    return 0;
}

static const struct store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .user_count = sq_user_count,
    .bootstrap = sq_bootstrap,
    .user_get = sq_user_get,
    .user_get_by_email = sq_user_get_by_email,
    .user_orgs = sq_user_orgs,
    .session_create = sq_session_create,
    .session_get = sq_session_get,
    .session_delete = sq_session_delete,
    .project_create = sq_project_create,
    .project_get = sq_project_get,
    .project_list = sq_project_list,
    .env_create = sq_env_create,
    .env_update = sq_env_update,
    .env_delete = sq_env_delete,
    .member_get = sq_member_get,
    .secrets_list = sq_secrets_list,
    .secret_get = sq_secret_get,
    .secret_history = sq_secret_history,
    .secrets_write = sq_secrets_write,
    .invite_create = sq_invite_create,
    .invite_get = sq_invite_get,
    .invite_accept = sq_invite_accept,
    .org_role = sq_org_role,
    .user_login_failed = sq_user_login_failed,
    .user_login_ok = sq_user_login_ok,
    .user_locked_until = sq_user_locked_until,
    .member_add = sq_member_add,
    .member_list = sq_member_list,
    .member_remove = sq_member_remove,
    .member_set_role = sq_member_set_role,
    .role_create = sq_role_create,
    .role_get = sq_role_get,
    .role_list = sq_role_list,
    .role_delete = sq_role_delete,
    .identity_create = sq_identity_create,
    .identity_get = sq_identity_get,
    .identity_get_by_client_id = sq_identity_get_by_client_id,
    .identity_list = sq_identity_list,
    .identity_delete = sq_identity_delete,
    .client_secret_create = sq_client_secret_create,
    .client_secret_list = sq_client_secret_list,
    .client_secret_use = sq_client_secret_use,
    .client_secret_revoke = sq_client_secret_revoke,
    .project_set_server_key = sq_project_set_server_key,
    .access_token_create = sq_access_token_create,
    .access_token_get = sq_access_token_get,
    .access_token_use = sq_access_token_use,
    .access_token_renew = sq_access_token_renew,
    .access_token_revoke = sq_access_token_revoke,
    .service_token_create = sq_service_token_create,
    .service_token_get = sq_service_token_get,
    .service_token_list = sq_service_token_list,
    .service_token_revoke = sq_service_token_revoke,
    .share_create = sq_share_create,
    .share_get = sq_share_get,
    .share_open = sq_share_open,
    .share_list = sq_share_list,
    .share_delete = sq_share_delete,
    .share_purge = sq_share_purge,
    .share_policy_get = sq_share_policy_get,
    .share_policy_set = sq_share_policy_set,
    .secrets_list_with = sq_secrets_list_with,
    .secret_get_of = sq_secret_get_of,
    .secret_history_of = sq_secret_history_of,
    .project_versions = sq_project_versions,
    .project_rekey = sq_project_rekey,
    .secrets_at = sq_secrets_at,
    .folder_create = sq_folder_create,
    .folder_list = sq_folder_list,
    .folder_get = sq_folder_get,
    .folder_find = sq_folder_find,
    .folder_delete = sq_folder_delete,
    .import_create = sq_import_create,
    .import_list = sq_import_list,
    .import_get = sq_import_get,
    .import_move = sq_import_move,
    .import_delete = sq_import_delete,
    .audit_append = sq_audit_append,
    .epoch = sq_epoch,
    .audit_query = sq_audit_query,
    .backup = sq_backup,
    .restore = sq_restore,
    .root_keys = sq_root_keys,
    .root_key_init = sq_root_key_init,
    .root_key_rotate = sq_root_key_rotate,
};

/* ---- open and migrate ---- */

/* mkdir -p; directories it creates get `mode`. */
static int mkdir_parents(const char *dir, mode_t mode)
{
    _cleanup_free_ char *p = strdup(dir);
    struct stat st;

    if (!p)
        return -ENOMEM;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return -errno;
        *q = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return -errno;
    if (stat(p, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* One integer of a migration query, arg bound to its parameter if it has one. */
static int sq_migration_int(struct sq_conn *c, const char *sql, int64_t arg, int64_t *ret)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) == 1)
        rc = sqlite3_bind_int64(st, 1, arg);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        int r = sq_fail(c, rc, "read schema version");
        sqlite3_finalize(st);
        return r;
    }
    *ret = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

#define MIGRATION_DONE "SELECT count(*) FROM schema_migrations WHERE version = ?"

static int sq_record_migration(struct sq_conn *c, const struct store_migration *m)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db,
                                "INSERT INTO schema_migrations (version, name, applied_at) "
                                "VALUES (?, ?, ?)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 1, m->version);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 3, now_ms());
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(c, rc, "record migration");
}

/* Applies every pending migration, all in one transaction: a fresh database
 * costs one commit (one fsync) rather than one per migration, and an upgrade
 * that fails half-way leaves the database as the old binary knew it.
 * Pending: not recorded, whatever the newest recorded one (numbers are handed
 * out to changes developed at once and may be merged out of order).  A
 * recorded version this binary does not know is refused. */
static int sq_migrate(struct sq_store *s, struct sq_conn *c)
{
    int64_t known = store_n_migrations ? store_migrations[store_n_migrations - 1].version : 0;
    int64_t current = 0, recorded = 0, found = 0, done = 0;
    int r;

    r = sq_conn_exec(c, "BEGIN IMMEDIATE", "begin migration");
    if (r < 0)
        return r;
    r = sq_conn_exec(c,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                     "applied_at INTEGER NOT NULL)",
                     "create schema_migrations");
    if (r < 0)
        goto out;
    r = sq_migration_int(c, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, &current);
    if (r >= 0)
        r = sq_migration_int(c, "SELECT count(*) FROM schema_migrations", 0, &recorded);
    for (size_t i = 0; i < store_n_migrations && r >= 0; i++, found += done)
        r = sq_migration_int(c, MIGRATION_DONE, store_migrations[i].version, &done);
    if (r < 0)
        goto out;
    if (current > known || recorded > found) {
        sq_set_err(s,
                   "database '%s' has schema version %lld, which this arca does not know (its "
                   "newest is %lld): upgrade arca",
                   s->db_path, (long long)current, (long long)known);
        r = -EIO;
        goto out;
    }
    for (size_t i = 0; i < store_n_migrations; i++) {
        const struct store_migration *m = &store_migrations[i];

        if ((r = sq_migration_int(c, MIGRATION_DONE, m->version, &done)) < 0)
            goto out;
        if (done)
            continue;
        r = sq_conn_exec(c, m->sql, m->name);
        if (r < 0)
            goto out;
        r = sq_record_migration(c, m);
        if (r < 0)
            goto out;
    }
    r = sq_conn_exec(c, "COMMIT", "commit migration");
    if (r < 0)
        goto out;
    return 0;
out:
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

int store_sqlite_open(const char *dir, struct store **ret, struct buf *err)
{
    struct sq_store *s;
    int r, fd;

    if (!dir || !*dir || !ret)
        return -EINVAL;
    if (!sqlite3_threadsafe()) {
        if (err)
            buf_adds(err, "sqlite was built without thread support");
        return -EIO;
    }

    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base.ops = &sq_ops;
    s->base.err = (struct buf)BUF_INIT;
    pthread_mutex_init(&s->err_lock, NULL);
    pthread_mutex_init(&s->write_lock, NULL);
    pthread_cond_init(&s->batch_cond, NULL);
    s->batch_max = SQ_BATCH_MAX;
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_cond, NULL);

    /* Full capacity now, so that sq_set_err never reallocates (see there). */
    r = buf_grow(&s->base.err, SQ_ERR_MAX);
    if (r < 0) {
        sq_free(s);
        return r;
    }
    if (asprintf(&s->db_path, "%s/arca.db", dir) < 0) {
        s->db_path = NULL;
        sq_free(s);
        return -ENOMEM;
    }

    r = mkdir_parents(dir, 0700);
    if (r < 0) {
        if (err)
            buf_printf(err, "cannot create directory '%s': %s", dir, strerror(-r));
        sq_free(s);
        return -EIO;
    }
    /* The database, and the -wal/-shm files SQLite derives from it, are 0600. */
    fd = open(s->db_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (err)
            buf_printf(err, "cannot open '%s': %s", s->db_path, strerror(errno));
        sq_free(s);
        return -EIO;
    }
    close(fd);

    r = sq_conn_open(s, true, &s->writer);
    if (r >= 0)
        r = sq_migrate(s, s->writer);
    if (r < 0) {
        if (err)
            buf_adds(err, buf_str(&s->base.err));
        sq_free(s);
        return r;
    }
    *ret = &s->base;
    return 0;
}

void store_sqlite_stats(struct store *s, struct store_sqlite_stats *ret)
{
    *ret = (struct store_sqlite_stats){0};
    if (!s || s->ops != &sq_ops)
        return;
    pthread_mutex_lock(&sq(s)->write_lock);
    *ret = sq(s)->stats;
    pthread_mutex_unlock(&sq(s)->write_lock);
}

void store_sqlite_set_batch_max(struct store *s, size_t n)
{
    if (!s || s->ops != &sq_ops)
        return;
    pthread_mutex_lock(&sq(s)->write_lock);
    sq(s)->batch_max = n < 1 ? 1 : n > SQ_BATCH_MAX ? SQ_BATCH_MAX : n;
    pthread_mutex_unlock(&sq(s)->write_lock);
}
