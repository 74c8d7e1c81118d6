/* store_sql.c - every operation of store.h, written once over the driver
 * interface of store_sql.h: SQLite (store_sqlite.c) and PostgreSQL
 * (store_pg.c) run the same statements, bodies and checks.
 *
 * Statements: every one is in sql_stmts[] (or assembled from fixed
 * fragments, audit_query), written with $1, $2, ... parameters; where the
 * dialects differ, an entry carries the text for one of them (.sqlite, .pg).
 * The driver prepares each once per connection.  Values are always bound,
 * never formatted into SQL.
 *
 * Transactions: each call is one sql_tx() of a kind: a body that runs the
 * statements.  Writes take explicit locks where PostgreSQL needs them to make
 * a read-modify-write atomic (SQLite's single writer does it anyway, and its
 * overrides of those statements lock nothing): a project row lock serialises
 * the writers of a project's secrets, environments, folders and imports (and
 * a key rotation), an advisory lock the audit chain and the first user;
 * counters are single UPDATEs; folder rows are inserted ON CONFLICT DO
 * NOTHING.  A body may run again (PostgreSQL's retries): it writes its
 * outputs only once it succeeded.
 *
 * Rows are read by tables (struct sql_record): column i of a query goes to
 * the field named by entry i, so a record type is one table, and its release
 * is generic.  Arguments are checked here, once, before any driver sees them.
 */
#include "store/store_sql.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/names.h"
#include "base/util.h"
#include "store/store_backend.h"

#define SQL_AUDIT_MAX_ROWS 10000
#define SQL_ROLE_SIZE sizeof(((struct store_member *)0)->role)

#ifndef _cleanup_
#define _cleanup_(f) __attribute__((cleanup(f)))
#endif

#define SECRET_COLS "id, key, path, version, value, comment, updated_at, updated_by, owner_id"
#define SHARE_COLS                                                                                 \
    "id, org_id, created_by, ciphertext, auth_hash, kdf_salt, kdf_opslimit, kdf_memlimit, "        \
    "org_only, max_views, views, created_at, expires_at, access_hash"
/* rec_share's columns; a list leaves the ciphertext out (NULL). */
#define SHARE_READ_FROM(ct)                                                                        \
    "id, org_id, created_by, " ct ", auth_hash IS NOT NULL, auth_hash, kdf_salt, kdf_opslimit, "   \
    "kdf_memlimit, org_only <> 0, max_views, views, created_at, expires_at, access_hash"
#define SHARE_READ_COLS SHARE_READ_FROM("ciphertext")
#define SHARE_LIST_COLS SHARE_READ_FROM("NULL")
#define SHARED "type = 'shared' AND owner_id = ''"
#define USER_COLS                                                                                  \
    "id, email, auth_hash, kdf_salt, kdf_opslimit, kdf_memlimit, public_key, "                     \
    "encrypted_private_key, created_at"
#define MEMBER_NAME "coalesce(u.email, i.name, '')"
#define MEMBER_SELECT                                                                              \
    "SELECT m.project_id, m.principal_type, m.principal_id, m.role, m.wrapped_key, "               \
    "m.created_at, " MEMBER_NAME " FROM project_members m "                                        \
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
#define AUDIT_ARCHIVE_COLS "seq, hash, first_seq, records, file_hash, archived_by, archived_at"
#define FOLDER_COLS "id, project_id, env_id, path, created_at"
#define ROOT_KEY_COLS "generation, key_check, audit_key, first_seq, created_at"
#define IMPORT_COLS                                                                                \
    "id, project_id, env_id, path, import_env_id, import_path, position, created_at, created_by"
/* The folder $2 of environment $1 and its descendants; $3 is $2 with a
 * trailing '/' (the prefix of every descendant's path). */
#define SUBTREE "env_id = $1 AND (path = $2 OR substr(path, 1, length($3)) = $3)"
/* A credential that may still be used at $2 (now). */
#define USABLE "revoked = 0 AND (num_uses_limit = 0 OR num_uses < num_uses_limit) AND "

enum sql_stmt_id {
    ST_LOCK = SQL_ST_LOCK,
    ST_EPOCH = SQL_ST_EPOCH,
    ST_SCHEMA_VERSION = SQL_ST_SCHEMA_VERSION,
    ST_MIGRATION_COUNT = SQL_ST_MIGRATION_COUNT,
    ST_MIGRATION_DONE = SQL_ST_MIGRATION_DONE,
    ST_MIGRATION_RECORD = SQL_ST_MIGRATION_RECORD,
    ST_EPOCH_STAMP,
    ST_PROJECT_EPOCH,
    ST_USER_COUNT,
    ST_USER_INSERT,
    ST_USER_BY_ID,
    ST_USER_BY_EMAIL,
    ST_USER_ORGS,
    ST_ORG_MEMBERS,
    ST_ORG_INSERT,
    ST_ORG_MEMBER_INSERT,
    ST_SESSION_INSERT,
    ST_SESSION_GET,
    ST_SESSION_DELETE,
    ST_PROJECT_INSERT,
    ST_PROJECT_GET,
    ST_PROJECT_LIST,
    ST_PROJECT_LOCK_WRITERS,
    ST_PROJECT_LOCK_ALL,
    ST_ENV_INSERT,
    ST_ENV_LIST,
    ST_MEMBER_INSERT,
    ST_MEMBER_GET,
    ST_SECRETS_LIST,
    ST_SECRET_GET,
    ST_SECRET_HISTORY,
    ST_SECRET_LOOKUP,
    ST_SECRET_INSERT,
    ST_SECRET_UPDATE,
    ST_VERSION_INSERT,
    ST_INVITE_INSERT,
    ST_INVITE_GET,
    ST_INVITE_LIST,
    ST_INVITE_REVOKE,
    ST_INVITE_STATE,
    ST_INVITE_ACCEPT,
    ST_ORG_ROLE,
    ST_LOGIN_FAILED,
    ST_LOGIN_OK,
    ST_USER_CREDENTIALS,
    ST_LOCKED_UNTIL,
    ST_USER_EXISTS,
    ST_IDENTITY_EXISTS,
    ST_MEMBER_LIST,
    ST_MEMBER_DELETE,
    ST_MEMBER_SET_ROLE,
    ST_MEMBER_LAST_ADMIN,
    ST_IDENTITY_LAST_ADMIN,
    ST_IDENTITY_LOCK_PROJECTS,
    ST_ROLE_INSERT,
    ST_ROLE_GET,
    ST_ROLE_LIST,
    ST_ROLE_IN_USE,
    ST_ROLE_UPDATE,
    ST_ORG_LOCK,
    ST_ORG_LAST_ADMIN,
    ST_USER_LOCK_ORG_PROJECTS,
    ST_USER_LAST_PROJECT_ADMIN,
    ST_USER_ORG_MEMBERSHIPS_DELETE,
    ST_ORG_MEMBER_DELETE,
    ST_USER_SESSIONS_DELETE,
    ST_USER_DELETE_ORPHAN,
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
    ST_CSECRET_REVOKE_ALL,
    ST_IDENTITY_SET_KEY,
    ST_IDENTITY_MEMBER_COUNT,
    ST_PROJECT_SET_SERVER_KEY,
    ST_PROJECT_RENAME,
    ST_PROJECT_DELETE,
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
    ST_AUDIT_HEAD,
    ST_AUDIT_SEQS,
    ST_AUDIT_TIME_AT,
    ST_PERSONAL_TOMBSTONE_VERSIONS,
    ST_PERSONAL_TOMBSTONE,
    ST_ENV_COUNT,
    ST_ENV_SECRET_COUNTS,
    ST_ENV_RESLUG_BLOCKED,
    ST_ENV_UPDATE,
    ST_ENV_SHIFT,
    ST_ENV_DELETE,
    ST_ENV_LOCK_PROJECT,
    ST_FOLDER_INSERT,
    ST_FOLDER_GET,
    ST_FOLDER_FIND,
    ST_FOLDER_LIST,
    ST_SUBTREE_TOMBSTONE_VERSIONS,
    ST_SUBTREE_TOMBSTONE,
    ST_SUBTREE_IMPORTS_DELETE,
    ST_SUBTREE_FOLDERS_DELETE,
    ST_IMPORT_LOCK_PROJECT,
    ST_IMPORT_INSERT,
    ST_IMPORT_COUNT,
    ST_IMPORT_LAST_POSITION,
    ST_IMPORT_LIST,
    ST_IMPORT_GET,
    ST_IMPORT_SET_POSITION,
    ST_IMPORT_DELETE,
    /* migration 0008 */
    ST_ROOT_KEYS_LIST,
    ST_ROOT_KEY_NEWEST,
    ST_ROOT_KEY_INSERT,
    ST_ROOT_KEY_SET_AUDIT,
    ST_SERVER_KEYS_LIST,
    ST_SHARE_INSERT,
    ST_SHARE_GET,
    ST_SHARE_VIEW,
    ST_SHARE_LIST,
    ST_SHARE_DELETE,
    ST_SHARE_PURGE,
    ST_SHARE_POLICY_GET,
    ST_SHARE_POLICY_SET,
    /* migration 0011 */
    ST_AUDIT_ANCHOR,
    ST_AUDIT_CUT_MATCHES,
    ST_AUDIT_COUNT_TO,
    ST_AUDIT_ARCHIVE_INSERT,
    ST_AUDIT_ARCHIVE_DELETE,
    ST__MAX
};

/* .sql is the text of both dialects unless .sqlite or .pg gives one's own. */
static const struct {
    const char *name; /* for error messages */
    const char *sql;
    const char *sqlite, *pg;
} sql_stmts[ST__MAX] = {
    /* SQLite's writer is alone: its locks lock nothing. */
    [ST_LOCK] = {"lock", "SELECT $1", .pg = "SELECT pg_advisory_xact_lock($1)"},
    [ST_USER_COUNT] = {"count users", "SELECT count(*) FROM users"},
    [ST_USER_INSERT] = {"insert user", "INSERT INTO users (" USER_COLS ") "
                                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"},
    [ST_USER_BY_ID] = {"get user", "SELECT " USER_COLS " FROM users WHERE id = $1"},
    /* lower() of a "C" column folds ASCII only, as SQLite's NOCASE column
     * does (whose index the plain comparison uses). */
    [ST_USER_BY_EMAIL] = {"get user by email",
                          "SELECT " USER_COLS " FROM users WHERE lower(email) = lower($1)",
                          .sqlite = "SELECT " USER_COLS " FROM users WHERE email = $1"},
    [ST_ORG_MEMBERS] = {"list org members", "SELECT u.id, u.email, m.role, m.created_at "
                                            "FROM org_members m JOIN users u ON u.id = m.user_id "
                                            "WHERE m.org_id = $1 ORDER BY m.created_at, u.id"},
    [ST_USER_ORGS] = {"list user orgs", "SELECT o.id, o.name, o.slug, o.created_at, m.role "
                                        "FROM org_members m JOIN orgs o ON o.id = m.org_id "
                                        "WHERE m.user_id = $1 ORDER BY o.created_at, o.id"},
    [ST_ORG_INSERT] = {"insert org",
                       "INSERT INTO orgs (id, name, slug, created_at) VALUES ($1, $2, $3, $4)"},
    [ST_ORG_MEMBER_INSERT] = {"insert org member", "INSERT INTO org_members "
                                                   "(org_id, user_id, role, created_at) "
                                                   "VALUES ($1, $2, $3, $4)"},
    [ST_SESSION_INSERT] = {"insert session", "INSERT INTO sessions "
                                             "(token_hash, user_id, created_at, expires_at) "
                                             "VALUES ($1, $2, $3, $4)"},
    [ST_SESSION_GET] = {"get session", "SELECT token_hash, user_id, created_at, expires_at "
                                       "FROM sessions WHERE token_hash = $1"},
    [ST_SESSION_DELETE] = {"delete session", "DELETE FROM sessions WHERE token_hash = $1"},
    [ST_PROJECT_INSERT] = {"insert project", "INSERT INTO projects "
                                             "(id, org_id, name, slug, created_at) "
                                             "VALUES ($1, $2, $3, $4, $5)"},
    [ST_PROJECT_GET] = {"get project", "SELECT id, org_id, name, slug, created_at, server_key "
                                       "FROM projects WHERE id = $1"},
    [ST_PROJECT_SET_SERVER_KEY] = {"set server key",
                                   "UPDATE projects SET server_key = $1 WHERE id = $2"},
    [ST_PROJECT_DELETE] = {"delete project", "DELETE FROM projects WHERE id = $1"},
    [ST_PROJECT_RENAME] = {"rename project", "UPDATE projects SET name = $1 WHERE id = $2"},
    [ST_PROJECT_LIST] = {"list projects",
                         "SELECT p.id, p.org_id, p.name, p.slug, p.created_at, p.server_key "
                         "FROM project_members m JOIN projects p ON p.id = m.project_id "
                         "WHERE m.principal_id = $1 ORDER BY p.name, p.id"},
    /* Secret writers of a project take turns; the lock does not stop new
     * members or tokens (their foreign keys take KEY SHARE). */
    [ST_PROJECT_LOCK_WRITERS] = {"lock project for writing", "SELECT 1 FROM projects WHERE id = $1",
                                 .pg = "SELECT 1 FROM projects WHERE id = $1 FOR NO KEY UPDATE"},
    /* A key rotation waits for them and stops new members, tokens and secrets. */
    [ST_PROJECT_LOCK_ALL] = {"lock project", "SELECT 1 FROM projects WHERE id = $1",
                             .pg = "SELECT 1 FROM projects WHERE id = $1 FOR UPDATE"},
    [ST_ENV_INSERT] = {"insert environment", "INSERT INTO environments "
                                             "(id, project_id, slug, name, position) "
                                             "VALUES ($1, $2, $3, $4, $5)"},
    [ST_ENV_LIST] = {"list environments", "SELECT id, project_id, slug, name, position "
                                          "FROM environments WHERE project_id = $1 "
                                          "ORDER BY position, slug"},
    [ST_MEMBER_INSERT] =
        {"insert member",
         "INSERT INTO project_members "
         "(project_id, principal_type, principal_id, role, wrapped_key, created_at) "
         "VALUES ($1, $2, $3, $4, $5, $6)"},
    [ST_MEMBER_GET] = {"get member",
                       MEMBER_SELECT "WHERE m.project_id = $1 AND m.principal_id = $2"},
    /* owner_id '' is the shared secret (0001's CHECK): shared rows sort first. */
    [ST_SECRETS_LIST] = {"list secrets", "SELECT " SECRET_COLS " FROM secrets "
                                         "WHERE env_id = $1 AND path = $2 "
                                         "AND (owner_id = '' OR owner_id = $3) "
                                         "AND value IS NOT NULL ORDER BY key, owner_id"},
    [ST_SECRET_GET] = {"get secret", "SELECT " SECRET_COLS " FROM secrets "
                                     "WHERE env_id = $1 AND path = $2 AND key = $3 "
                                     "AND owner_id = $4"},
    [ST_SECRET_HISTORY] = {"secret history",
                           "SELECT s.id, s.key, s.path, v.version, v.value, v.comment, "
                           "v.created_at, v.actor_id, s.owner_id "
                           "FROM secrets s JOIN secret_versions v ON v.secret_id = s.id "
                           "WHERE s.env_id = $1 AND s.path = $2 AND s.key = $3 "
                           "AND s.owner_id = $4 ORDER BY v.version DESC"},
    [ST_SECRET_LOOKUP] = {"look up secret",
                          "SELECT id, project_id, version, value IS NOT NULL FROM secrets "
                          "WHERE env_id = $1 AND path = $2 AND key = $3 AND owner_id = $4"},
    /* A comment bound as NULL keeps the current one; an empty one clears it;
     * a tombstone (value NULL) has none. */
    [ST_SECRET_INSERT] =
        {"insert secret",
         "INSERT INTO secrets (id, project_id, env_id, path, key, version, "
         "value, comment, updated_at, updated_by, type, owner_id) "
         "VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN length($8) = 0 THEN NULL ELSE $8 END, "
         "$9, $10, "
         "CASE WHEN $11 = '' THEN 'shared' ELSE 'personal' END, $11)"},
    [ST_SECRET_UPDATE] = {"update secret",
                          "UPDATE secrets SET version = $1, value = $2, "
                          "comment = CASE WHEN $2 IS NULL THEN NULL "
                          "WHEN $3 IS NULL THEN comment WHEN length($3) = 0 THEN NULL ELSE $3 END, "
                          "updated_at = $4, updated_by = $5 WHERE id = $6"},
    /* The history row is a copy of the current row, so the two cannot disagree. */
    [ST_VERSION_INSERT] = {"insert secret version",
                           "INSERT INTO secret_versions "
                           "(secret_id, version, value, comment, created_at, actor_id) "
                           "SELECT id, version, value, comment, updated_at, updated_by "
                           "FROM secrets WHERE id = $1"},
    [ST_INVITE_INSERT] = {"insert invite", "INSERT INTO org_invites (" INVITE_COLS ") "
                                           "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"},
    [ST_INVITE_LIST] = {"list invites", "SELECT " INVITE_COLS " FROM org_invites "
                                        "WHERE org_id = $1 ORDER BY created_at, id"},
    [ST_INVITE_REVOKE] = {"revoke invite", "DELETE FROM org_invites WHERE org_id = $1 "
                                           "AND id = $2 AND accepted_at = 0"},
    [ST_INVITE_GET] = {"get invite",
                       "SELECT " INVITE_COLS " FROM org_invites WHERE token_hash = $1"},
    /* Locked: a second acceptance waits, then sees accepted_at. */
    [ST_INVITE_STATE] = {"read invite",
                         "SELECT org_id, org_role, accepted_at, lower(email) = lower($2) "
                         "FROM org_invites WHERE id = $1",
                         .pg = "SELECT org_id, org_role, accepted_at, lower(email) = lower($2) "
                               "FROM org_invites WHERE id = $1 FOR UPDATE"},
    [ST_INVITE_ACCEPT] = {"accept invite", "UPDATE org_invites SET accepted_at = $2 "
                                           "WHERE id = $1 AND accepted_at = 0"},
    [ST_ORG_ROLE] = {"get org role",
                     "SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2"},
    /* $2 lock_after (0: never lock), $3 the end of a new lock; one UPDATE,
     * so concurrent failures all count. */
    [ST_LOGIN_FAILED] = {"count failed login",
                         "UPDATE users SET failed_logins = failed_logins + 1, "
                         "locked_until = CASE WHEN $2 > 0 AND failed_logins + 1 >= $2 "
                         "THEN $3 ELSE locked_until END "
                         "WHERE id = $1 RETURNING failed_logins, locked_until"},
    [ST_USER_CREDENTIALS] = {"change credentials",
                             "UPDATE users SET auth_hash = $1, kdf_salt = $2, kdf_opslimit = $3, "
                             "kdf_memlimit = $4, encrypted_private_key = $5 WHERE id = $6"},
    [ST_LOGIN_OK] = {"reset failed logins",
                     "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1"},
    [ST_LOCKED_UNTIL] = {"get lock", "SELECT locked_until FROM users WHERE id = $1"},
    [ST_USER_EXISTS] = {"find user", "SELECT 1 FROM users WHERE id = $1"},
    [ST_IDENTITY_EXISTS] = {"find identity", "SELECT 1 FROM identities WHERE id = $1"},
    [ST_MEMBER_LIST] = {"list members",
                        MEMBER_SELECT "WHERE m.project_id = $1 ORDER BY m.principal_type, "
                                      "lower(" MEMBER_NAME "), m.principal_id"},
    [ST_MEMBER_DELETE] = {"delete member", "DELETE FROM project_members "
                                           "WHERE project_id = $1 AND principal_id = $2"},
    [ST_MEMBER_SET_ROLE] = {"set member role", "UPDATE project_members SET role = $3 "
                                               "WHERE project_id = $1 AND principal_id = $2"},
    [ST_MEMBER_LAST_ADMIN] = {"find last admin",
                              "SELECT 1 FROM project_members WHERE project_id = $1 "
                              "AND principal_id = $2 AND role = 'admin' AND NOT EXISTS "
                              "(SELECT 1 FROM project_members WHERE project_id = $1 "
                              "AND principal_id <> $2 AND role = 'admin')"},
    /* the projects the identity is an admin of, locked as member_change does */
    [ST_IDENTITY_LOCK_PROJECTS] = {"lock identity admin projects",
                                   "SELECT 1 FROM projects WHERE id IN (SELECT project_id "
                                   "FROM project_members WHERE principal_id = $1 "
                                   "AND role = 'admin') ORDER BY id",
                                   .pg = "SELECT 1 FROM projects WHERE id IN (SELECT project_id "
                                         "FROM project_members WHERE principal_id = $1 "
                                         "AND role = 'admin') ORDER BY id FOR UPDATE"},
    /* a project where the identity is the only admin */
    [ST_IDENTITY_LAST_ADMIN] =
        {"find identity as last admin",
         "SELECT 1 FROM projects p WHERE p.id IN (SELECT project_id "
         "FROM project_members WHERE principal_id = $1 AND role = 'admin') "
         "AND NOT EXISTS (SELECT 1 FROM project_members o WHERE "
         "o.project_id = p.id AND o.principal_id <> $1 AND o.role = 'admin') "
         "LIMIT 1"},
    [ST_ROLE_INSERT] = {"insert role", "INSERT INTO project_roles (" ROLE_COLS ") "
                                       "VALUES ($1, $2, $3, $4, $5, $6)"},
    [ST_ROLE_GET] = {"get role", "SELECT " ROLE_COLS " FROM project_roles "
                                 "WHERE project_id = $1 AND slug = $2"},
    [ST_ROLE_LIST] = {"list roles", "SELECT " ROLE_COLS " FROM project_roles "
                                    "WHERE project_id = $1 ORDER BY slug"},
    [ST_ROLE_IN_USE] = {"find role holders", "SELECT 1 FROM project_members "
                                             "WHERE project_id = $1 AND role = $2 LIMIT 1"},
    [ST_ROLE_UPDATE] = {"update role", "UPDATE project_roles SET name = coalesce($3, name), "
                                       "rules = coalesce($4, rules) "
                                       "WHERE project_id = $1 AND slug = $2 AND rules = $5"},
    /* org_member_remove: the organization's row orders its admins' changes */
    [ST_ORG_LOCK] = {"lock org", "SELECT 1 FROM orgs WHERE id = $1",
                     .pg = "SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE"},
    [ST_ORG_LAST_ADMIN] = {"find last org admin",
                           "SELECT 1 FROM org_members WHERE org_id = $1 AND user_id = $2 "
                           "AND role = 'admin' AND NOT EXISTS (SELECT 1 FROM org_members "
                           "WHERE org_id = $1 AND user_id <> $2 AND role = 'admin')"},
#define USER_ADMIN_PROJECTS                                                                        \
    "FROM projects p WHERE p.org_id = $1 AND p.id IN (SELECT project_id FROM project_members "     \
    "WHERE principal_type = 'user' AND principal_id = $2 AND role = 'admin') "
    /* locked as member_change does */
    [ST_USER_LOCK_ORG_PROJECTS] = {"lock user admin projects",
                                   "SELECT 1 " USER_ADMIN_PROJECTS "ORDER BY p.id",
                                   .pg =
                                       "SELECT 1 " USER_ADMIN_PROJECTS "ORDER BY p.id FOR UPDATE"},
    [ST_USER_LAST_PROJECT_ADMIN] = {"find user as last project admin",
                                    "SELECT p.id " USER_ADMIN_PROJECTS
                                    "AND NOT EXISTS (SELECT 1 FROM project_members o WHERE "
                                    "o.project_id = p.id AND o.principal_id <> $2 AND "
                                    "o.role = 'admin') ORDER BY p.id LIMIT 1"},
    [ST_USER_ORG_MEMBERSHIPS_DELETE] = {"delete user memberships in org",
                                        "DELETE FROM project_members WHERE principal_type = 'user' "
                                        "AND principal_id = $2 AND project_id IN "
                                        "(SELECT id FROM projects WHERE org_id = $1)"},
    [ST_ORG_MEMBER_DELETE] = {"delete org member",
                              "DELETE FROM org_members WHERE org_id = $1 AND user_id = $2"},
    [ST_USER_SESSIONS_DELETE] = {"delete user sessions", "DELETE FROM sessions WHERE user_id = $1"},
    [ST_USER_DELETE_ORPHAN] = {"delete user without org",
                               "DELETE FROM users WHERE id = $1 AND NOT EXISTS "
                               "(SELECT 1 FROM org_members WHERE user_id = $1)"},
    [ST_ROLE_DELETE] = {"delete role",
                        "DELETE FROM project_roles WHERE project_id = $1 AND slug = $2"},
    [ST_IDENTITY_INSERT] = {"insert identity",
                            "INSERT INTO identities (" IDENTITY_COLS ") "
                            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
    [ST_IDENTITY_GET] = {"get identity", "SELECT " IDENTITY_COLS " FROM identities WHERE id = $1"},
    [ST_IDENTITY_BY_CLIENT_ID] = {"get identity by client id",
                                  "SELECT " IDENTITY_COLS " FROM identities WHERE client_id = $1"},
    [ST_IDENTITY_LIST] = {"list identities", "SELECT " IDENTITY_COLS " FROM identities "
                                             "WHERE org_id = $1 ORDER BY name, id"},
    [ST_IDENTITY_MEMBERS_DELETE] = {"delete identity memberships",
                                    "DELETE FROM project_members "
                                    "WHERE principal_type = 'identity' AND principal_id = $1"},
    /* Client secrets and access tokens go with it (ON DELETE CASCADE). */
    [ST_IDENTITY_DELETE] = {"delete identity", "DELETE FROM identities WHERE id = $1"},
    [ST_CSECRET_INSERT] = {"insert client secret",
                           "INSERT INTO identity_client_secrets (" CSECRET_COLS ") "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
    [ST_CSECRET_LIST] = {"list client secrets",
                         "SELECT " CSECRET_COLS " FROM identity_client_secrets "
                         "WHERE identity_id = $1 ORDER BY created_at, id"},
    /* Check and count in one statement (the row lock re-checks the condition
     * after a concurrent use): a limit of N allows exactly N uses. */
    [ST_CSECRET_USE] = {"use client secret",
                        "UPDATE identity_client_secrets SET num_uses = num_uses + 1 "
                        "WHERE id = $1 AND " USABLE "(expires_at = 0 OR expires_at > $2)"},
    [ST_CSECRET_EXISTS] = {"find client secret",
                           "SELECT 1 FROM identity_client_secrets WHERE id = $1"},
    [ST_CSECRET_REVOKE] = {"revoke client secret", "UPDATE identity_client_secrets SET revoked = 1 "
                                                   "WHERE identity_id = $1 AND id = $2"},
    [ST_CSECRET_REVOKE_ALL] = {"revoke client secrets", "UPDATE identity_client_secrets "
                                                        "SET revoked = 1 WHERE identity_id = $1"},
    [ST_IDENTITY_SET_KEY] = {"set identity key",
                             "UPDATE identities SET public_key = $2 WHERE id = $1"},
    [ST_IDENTITY_MEMBER_COUNT] = {"count identity memberships",
                                  "SELECT count(*) FROM project_members "
                                  "WHERE principal_type = 'identity' AND principal_id = $1"},
    [ST_ATOKEN_INSERT] = {"insert access token",
                          "INSERT INTO identity_access_tokens (" ATOKEN_COLS ") "
                          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"},
    [ST_ATOKEN_GET] = {"get access token", "SELECT " ATOKEN_COLS " FROM identity_access_tokens "
                                           "WHERE token_hash = $1"},
    [ST_ATOKEN_USE] = {"use access token",
                       "UPDATE identity_access_tokens SET num_uses = num_uses + 1 "
                       "WHERE token_hash = $1 AND " USABLE "expires_at > $2"},
    /* Never past max_expires_at, whatever the caller asks. */
    [ST_ATOKEN_RENEW] = {"renew access token",
                         "UPDATE identity_access_tokens SET expires_at = "
                         "CASE WHEN $2 < max_expires_at THEN $2 ELSE max_expires_at END "
                         "WHERE token_hash = $1 AND revoked = 0"},
    [ST_ATOKEN_REVOKE] = {"revoke access token",
                          "UPDATE identity_access_tokens SET revoked = 1 WHERE token_hash = $1"},
    [ST_STOKEN_INSERT] = {"insert service token",
                          "INSERT INTO service_tokens (" STOKEN_COLS ") "
                          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
    [ST_STOKEN_GET] = {"get service token",
                       "SELECT " STOKEN_COLS " FROM service_tokens WHERE id = $1"},
    [ST_STOKEN_LIST] = {"list service tokens", "SELECT " STOKEN_COLS " FROM service_tokens "
                                               "WHERE project_id = $1 ORDER BY created_at, id"},
    [ST_STOKEN_REVOKE] = {"revoke service token", "UPDATE service_tokens SET revoked = 1 "
                                                  "WHERE project_id = $1 AND id = $2"},
    [ST_STOKEN_REVOKE_PROJECT] = {"revoke project service tokens",
                                  "UPDATE service_tokens SET revoked = 1 WHERE project_id = $1"},
    [ST_PROJECT_EXISTS] = {"find project", "SELECT 1 FROM projects WHERE id = $1"},
    [ST_PROJECT_VERSIONS] = {"list project versions",
                             "SELECT v.secret_id, e.slug, s.path, s.key, v.version, v.value, "
                             "v.comment, s.owner_id FROM secrets s "
                             "JOIN environments e ON e.id = s.env_id "
                             "JOIN secret_versions v ON v.secret_id = s.id "
                             "WHERE s.project_id = $1 ORDER BY e.position, e.slug, s.path, "
                             "s.key, s.type, s.owner_id, v.version"},
    [ST_MEMBER_COUNT] = {"count members",
                         "SELECT count(*) FROM project_members WHERE project_id = $1"},
    [ST_MEMBER_REKEY] = {"rekey member", "UPDATE project_members SET wrapped_key = $3 "
                                         "WHERE project_id = $1 AND principal_id = $2"},
    [ST_VERSION_COUNT] = {"count versions", "SELECT count(*) FROM secret_versions v JOIN secrets s "
                                            "ON s.id = v.secret_id WHERE s.project_id = $1"},
    /* Matches only a version of the project that keeps its shape: a
     * tombstone stays one, a comment stays present or absent. */
    [ST_VERSION_REKEY] = {"rekey version",
                          "UPDATE secret_versions SET value = $3, comment = $4 "
                          "WHERE secret_id = $1 AND version = $2 "
                          "AND EXISTS (SELECT 1 FROM secrets WHERE id = $1 AND project_id = $5) "
                          "AND (value IS NULL) = ($3 IS NULL) "
                          "AND (comment IS NULL) = ($4 IS NULL)"},
    [ST_SECRETS_REKEY_CURRENT] =
        {"rekey current secrets",
         "UPDATE secrets SET "
         "value = (SELECT v.value FROM secret_versions v "
         "WHERE v.secret_id = secrets.id AND v.version = secrets.version), "
         "comment = (SELECT v.comment FROM secret_versions v "
         "WHERE v.secret_id = secrets.id AND v.version = secrets.version) "
         "WHERE project_id = $1"},
    /* Each secret of the folder, deleted ones too, with its newest version
     * written at or before $3 (NULLs if none): the columns of rec_secret_at. */
    [ST_SECRETS_AT] = {"secrets at",
                       "SELECT s.id, s.key, s.path, s.version, s.value, s.comment, s.updated_at, "
                       "s.updated_by, s.owner_id, v.version IS NOT NULL, v.secret_id, "
                       "CASE WHEN v.version IS NULL THEN NULL ELSE s.key END, "
                       "CASE WHEN v.version IS NULL THEN NULL ELSE s.path END, "
                       "v.version, v.value, v.comment, v.created_at, v.actor_id, "
                       "CASE WHEN v.version IS NULL THEN NULL ELSE s.owner_id END "
                       "FROM secrets s LEFT JOIN secret_versions v ON v.secret_id = s.id "
                       "AND v.version = (SELECT max(x.version) FROM secret_versions x "
                       "WHERE x.secret_id = s.id AND x.created_at <= $3) "
                       "WHERE s.env_id = $1 AND s.path = $2 AND s." SHARED " ORDER BY s.key"},
    /* The newest record and the newest root key generation (one round trip
     * an append); SQLite's AUTOINCREMENT never hands out a seq twice. */
    [ST_AUDIT_HEAD] = {"read audit head",
                       "SELECT coalesce(h.seq, 0), h.hash, coalesce(h.time, 0), "
                       "(SELECT coalesce(max(generation), 0) FROM root_keys) FROM (SELECT 1) o "
                       "LEFT JOIN (SELECT seq, hash, time FROM audit_log ORDER BY seq DESC "
                       "LIMIT 1) h ON true",
                       .sqlite = "SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
                                 "WHERE name = 'audit_log'), 0), "
                                 "coalesce((SELECT max(seq) FROM audit_log), 0)), "
                                 "(SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), "
                                 "coalesce((SELECT time FROM audit_log ORDER BY seq DESC LIMIT 1), "
                                 "0), (SELECT coalesce(max(generation), 0) FROM root_keys)"},
    /* two subqueries: SQLite reads min() or max() alone from the primary key,
     * but scans the whole log for both in one SELECT */
    [ST_AUDIT_SEQS] = {"read audit seqs", "SELECT coalesce((SELECT min(seq) FROM audit_log), 0), "
                                          "coalesce((SELECT max(seq) FROM audit_log), 0)"},
    [ST_AUDIT_TIME_AT] = {"read audit time",
                          "SELECT seq, time FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 1"},
    [ST_SCHEMA_VERSION] = {"read schema version",
                           "SELECT coalesce(max(version), 0) FROM schema_migrations"},
    /* PostgreSQL only: SQLite's epoch lives in the process (store_sqlite.c).
     * A stamp is nextval + 1, what the epoch reads once nextval returned. */
    [ST_EPOCH] = {"read epoch", "SELECT last_value + is_called::int, coalesce((SELECT epoch FROM "
                                "arca_epochs WHERE scope = ''), 0) FROM arca_epoch"},
    [ST_EPOCH_STAMP] = {"stamp epoch",
                        "INSERT INTO arca_epochs (scope, epoch) VALUES ($1, nextval('arca_epoch') "
                        "+ 1) ON CONFLICT (scope) DO UPDATE SET epoch = "
                        "greatest(arca_epochs.epoch, excluded.epoch)"},
    [ST_PROJECT_EPOCH] = {"read project epoch",
                          "SELECT coalesce((SELECT epoch FROM arca_epochs WHERE scope = $1), 0)"},
    [ST_MIGRATION_COUNT] = {"count migrations", "SELECT count(*) FROM schema_migrations"},
    [ST_MIGRATION_DONE] = {"find migration",
                           "SELECT count(*) FROM schema_migrations WHERE version = $1"},
    [ST_MIGRATION_RECORD] = {"record migration", "INSERT INTO schema_migrations "
                                                 "(version, name, applied_at) VALUES ($1, $2, $3)"},
/* Deleting a shared secret deletes every personal override of it ($1 env,
 * $2 path, $3 key): a tombstone version for each live one, a copy of its
 * new current row. */
#define PERSONAL_LIVE                                                                              \
    "env_id = $1 AND path = $2 AND key = $3 AND owner_id <> '' AND value IS NOT NULL"
    [ST_PERSONAL_TOMBSTONE_VERSIONS] =
        {"tombstone personal versions",
         "INSERT INTO secret_versions "
         "(secret_id, version, value, comment, created_at, actor_id) "
         "SELECT id, version + 1, NULL, NULL, $4, $5 FROM secrets "
         "WHERE " PERSONAL_LIVE},
    [ST_PERSONAL_TOMBSTONE] = {"tombstone personal secrets",
                               "UPDATE secrets SET version = version + 1, value = NULL, "
                               "comment = NULL, updated_at = $4, updated_by = $5 "
                               "WHERE " PERSONAL_LIVE},
    [ST_ENV_COUNT] = {"count environments",
                      "SELECT count(*) FROM environments WHERE project_id = $1"},
    /* store_env_counts; no row for no such environment. */
    [ST_ENV_SECRET_COUNTS] = {"count environment secrets",
                              "SELECT count(s.value), count(s.id), "
                              "(SELECT count(*) FROM secret_versions v JOIN secrets x "
                              "ON x.id = v.secret_id WHERE x.env_id = $2) "
                              "FROM environments e LEFT JOIN secrets s ON s.env_id = e.id "
                              "WHERE e.project_id = $1 AND e.id = $2 GROUP BY e.id"},
    /* Secrets whose ciphertext is bound to the environment's slug, if $3 is
     * another slug. */
    [ST_ENV_RESLUG_BLOCKED] = {"check environment slug change",
                               "SELECT count(*) FROM environments e JOIN secrets s "
                               "ON s.env_id = e.id WHERE e.project_id = $1 AND e.id = $2 "
                               "AND e.slug <> $3"},
    [ST_ENV_UPDATE] = {"update environment",
                       "UPDATE environments SET slug = coalesce($3, slug), "
                       "name = coalesce($4, name), "
                       "position = CASE WHEN $5 > 0 THEN $5 ELSE position END "
                       "WHERE project_id = $1 AND id = $2"},
    /* Makes room at position $2 for environment $3. */
    [ST_ENV_SHIFT] = {"shift environments",
                      "UPDATE environments SET position = position + 1 "
                      "WHERE project_id = $1 AND position >= $2 AND id <> $3"},
    [ST_ENV_DELETE] = {"delete environment",
                       "DELETE FROM environments WHERE project_id = $1 AND id = $2"},
    /* ST_PROJECT_LOCK_WRITERS by an environment of the project. */
    [ST_ENV_LOCK_PROJECT] = {"lock project of environment",
                             "SELECT 1 FROM projects WHERE id = "
                             "(SELECT project_id FROM environments WHERE id = $1)",
                             .pg = "SELECT 1 FROM projects WHERE id = "
                                   "(SELECT project_id FROM environments WHERE id = $1) "
                                   "FOR NO KEY UPDATE"},
    /* Servers creating the same folder at once: one row, no error. */
    [ST_FOLDER_INSERT] = {"insert folder", "INSERT INTO folders (" FOLDER_COLS ") "
                                           "VALUES ($1, $2, $3, $4, $5) "
                                           "ON CONFLICT (env_id, path) DO NOTHING"},
    [ST_FOLDER_GET] = {"get folder", "SELECT " FOLDER_COLS " FROM folders WHERE id = $1"},
    [ST_FOLDER_FIND] = {"find folder",
                        "SELECT " FOLDER_COLS " FROM folders WHERE env_id = $1 AND path = $2"},
    /* $3 the descendants' prefix, $4 1: all of them, 0: direct children only. */
    [ST_FOLDER_LIST] = {"list folders", "SELECT " FOLDER_COLS " FROM folders "
                                        "WHERE env_id = $1 AND path <> $2 "
                                        "AND substr(path, 1, length($3)) = $3 "
                                        "AND ($4 <> 0 OR substr(path, length($3) + 1) "
                                        "NOT LIKE '%/%') ORDER BY path"},
    /* A tombstone version for each live secret of the folders (overrides
     * included), then the current rows: the number of rows the second
     * changes is the number of secrets deleted. */
    [ST_SUBTREE_TOMBSTONE_VERSIONS] = {"delete secret versions of folders",
                                       "INSERT INTO secret_versions "
                                       "(secret_id, version, value, comment, created_at, actor_id) "
                                       "SELECT id, version + 1, NULL, NULL, $4, $5 FROM secrets "
                                       "WHERE " SUBTREE " AND value IS NOT NULL"},
    [ST_SUBTREE_TOMBSTONE] = {"delete secrets of folders",
                              "UPDATE secrets SET version = version + 1, value = NULL, "
                              "comment = NULL, updated_at = $4, updated_by = $5 "
                              "WHERE " SUBTREE " AND value IS NOT NULL"},
    [ST_SUBTREE_IMPORTS_DELETE] = {"delete imports of folders",
                                   "DELETE FROM secret_imports WHERE " SUBTREE},
    [ST_SUBTREE_FOLDERS_DELETE] = {"delete folders", "DELETE FROM folders WHERE " SUBTREE},
    /* ST_PROJECT_LOCK_WRITERS by an import of the project. */
    [ST_IMPORT_LOCK_PROJECT] = {"lock project of import",
                                "SELECT 1 FROM projects WHERE id = "
                                "(SELECT project_id FROM secret_imports WHERE id = $1)",
                                .pg = "SELECT 1 FROM projects WHERE id = "
                                      "(SELECT project_id FROM secret_imports WHERE id = $1) "
                                      "FOR NO KEY UPDATE"},
    [ST_IMPORT_INSERT] = {"insert import", "INSERT INTO secret_imports (" IMPORT_COLS ") "
                                           "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"},
    [ST_IMPORT_COUNT] = {"count imports",
                         "SELECT count(*) FROM secret_imports WHERE env_id = $1 AND path = $2"},
    /* not count(*): deleting a source environment leaves a gap (see 0005) */
    [ST_IMPORT_LAST_POSITION] = {"find last import",
                                 "SELECT coalesce(max(position), 0) "
                                 "FROM secret_imports WHERE env_id = $1 AND path = $2"},
    [ST_IMPORT_LIST] = {"list imports", "SELECT " IMPORT_COLS " FROM secret_imports "
                                        "WHERE env_id = $1 AND path = $2 ORDER BY position, id"},
    [ST_IMPORT_GET] = {"get import", "SELECT " IMPORT_COLS " FROM secret_imports WHERE id = $1"},
    [ST_IMPORT_SET_POSITION] = {"move import",
                                "UPDATE secret_imports SET position = $2 WHERE id = $1"},
    [ST_IMPORT_DELETE] = {"delete import", "DELETE FROM secret_imports WHERE id = $1"},
    [ST_ROOT_KEYS_LIST] = {"list root keys",
                           "SELECT " ROOT_KEY_COLS " FROM root_keys ORDER BY generation"},
    [ST_ROOT_KEY_NEWEST] = {"read root key generation",
                            "SELECT coalesce(max(generation), 0) FROM root_keys"},
    [ST_ROOT_KEY_INSERT] = {"insert root key", "INSERT INTO root_keys (" ROOT_KEY_COLS ") "
                                               "VALUES ($1, $2, $3, $4, $5)"},
    [ST_ROOT_KEY_SET_AUDIT] = {"rewrap audit key",
                               "UPDATE root_keys SET audit_key = $2 WHERE generation = $1"},
    [ST_SERVER_KEYS_LIST] = {"list server-access keys",
                             "SELECT id, server_key FROM projects WHERE server_key IS NOT NULL "
                             "ORDER BY id"},
    [ST_SHARE_INSERT] = {"insert share",
                         "INSERT INTO shares (" SHARE_COLS ") "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"},
    [ST_SHARE_GET] = {"get share", "SELECT " SHARE_READ_COLS " FROM shares "
                                   "WHERE id = $1 AND expires_at > $2"},
    /* Counts a view of a live share; the caller deletes it at max_views. */
    [ST_SHARE_VIEW] = {"view share", "UPDATE shares SET views = views + 1 WHERE id = $1 AND "
                                     "expires_at > $2 AND (max_views = 0 OR views < max_views) "
                                     "RETURNING " SHARE_READ_COLS},
    [ST_SHARE_LIST] = {"list shares",
                       "SELECT " SHARE_LIST_COLS " FROM shares WHERE "
                       "created_by = $1 AND expires_at > $2 ORDER BY created_at, id"},
    [ST_SHARE_DELETE] = {"delete share", "DELETE FROM shares WHERE id = $1"},
    [ST_SHARE_PURGE] = {"purge shares",
                        "DELETE FROM shares WHERE id IN (SELECT id FROM shares WHERE "
                        "expires_at <= $1 ORDER BY expires_at, id LIMIT $2) "
                        "RETURNING " SHARE_LIST_COLS},
    [ST_SHARE_POLICY_GET] = {"get share policy", "SELECT max_ttl, allow_anonymous FROM "
                                                 "org_share_policy WHERE org_id = $1"},
    [ST_SHARE_POLICY_SET] =
        {"set share policy",
         "INSERT INTO org_share_policy (org_id, max_ttl, allow_anonymous) "
         "VALUES ($1, $2, $3) ON CONFLICT (org_id) DO UPDATE SET "
         "max_ttl = excluded.max_ttl, allow_anonymous = excluded.allow_anonymous"},
    [ST_AUDIT_ANCHOR] = {"read audit anchor", "SELECT " AUDIT_ARCHIVE_COLS " FROM audit_archives "
                                              "ORDER BY seq DESC LIMIT 1"},
    [ST_AUDIT_CUT_MATCHES] = {"check audit record hash",
                              "SELECT count(*) FROM audit_log WHERE seq = $1 AND hash = $2"},
    [ST_AUDIT_COUNT_TO] = {"count audit records", "SELECT count(*) FROM audit_log WHERE seq <= $1"},
    [ST_AUDIT_ARCHIVE_INSERT] = {"insert audit anchor",
                                 "INSERT INTO audit_archives (" AUDIT_ARCHIVE_COLS
                                 ") VALUES ($1, $2, $3, $4, $5, $6, $7)"},
    [ST_AUDIT_ARCHIVE_DELETE] = {"remove archived audit records",
                                 "DELETE FROM audit_log WHERE seq <= $1"},
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
    AQ_DESC = 1 << 7, /* newest first */
    AQ__SHAPES = 1 << 8,
};
/* audit_append inserts up to this many records per statement (one slot each
 * count, after audit_query's shapes): a PostgreSQL round trip per 16 records,
 * not per record. */
#define SQL_AUDIT_ROWS 16
#define SQL_AUDIT_NCOLS 17
_Static_assert(ST__MAX + AQ__SHAPES + SQL_AUDIT_ROWS <= SQL_N_SLOTS, "statement slots");
_Static_assert(SQL_AUDIT_ROWS *SQL_AUDIT_NCOLS <= SQL_MAX_PARAMS, "parameters");

/* ---- the store, errors, parameters ---- */

/* The text of this thread's last store call that failed in the database:
 * one per thread, so no reader races a writer (store.h store_error). */
static _Thread_local char sql_err[SQL_ERR_MAX];

const char *store_error(void)
{
    return sql_err;
}

int sql_store_init(struct sql_store *s, const struct sql_driver *drv, const struct store_ops *ops)
{
    s->base.ops = ops;
    s->drv = drv;
    return 0;
}

void sql_set_err(struct sql_store *s, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    (void)s;
    va_start(ap, fmt);
    vsnprintf(sql_err, sizeof(sql_err), fmt, ap);
    va_end(ap);
    n = strcspn(sql_err, "\r\n"); /* libpq's details and hints follow on other lines */
    while (n && sql_err[n - 1] == ' ')
        n--;
    sql_err[n] = 0;
    for (char *p = sql_err; *p; p++)
        if ((unsigned char)*p < ' ')
            *p = ' ';
}

void sql_pool_init(struct sql_pool *p, size_t max,
                   int (*open)(struct sql_store *s, struct sql_conn **ret))
{
    *p = (struct sql_pool){.max = max, .open = open};
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
}

static void sql_pool_close_list(struct sql_conn *c, void (*close)(struct sql_conn *c))
{
    while (c) {
        struct sql_conn *next = c->next;
        close(c);
        c = next;
    }
}

void sql_pool_destroy(struct sql_pool *p, void (*close)(struct sql_conn *c))
{
    sql_pool_close_list(p->free, close);
    p->free = NULL;
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
}

int sql_pool_get(struct sql_pool *p, struct sql_store *s, struct sql_conn **ret)
{
    struct sql_conn *c;
    int r;

    pthread_mutex_lock(&p->lock);
    while (!p->free && p->n >= p->max)
        pthread_cond_wait(&p->cond, &p->lock);
    c = p->free;
    if (c)
        p->free = c->next;
    else
        p->n++; /* reserve the slot, open outside the lock */
    pthread_mutex_unlock(&p->lock);
    if (!c && (r = p->open(s, &c)) < 0) {
        pthread_mutex_lock(&p->lock);
        p->n--;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        return r;
    }
    c->next = NULL;
    *ret = c;
    return 0;
}

void sql_pool_put(struct sql_pool *p, struct sql_conn *c)
{
    pthread_mutex_lock(&p->lock);
    c->next = p->free;
    p->free = c;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

void sql_pool_drop(struct sql_pool *p, struct sql_conn *c, void (*close)(struct sql_conn *c))
{
    struct sql_conn *idle;

    pthread_mutex_lock(&p->lock);
    idle = p->free;
    p->free = NULL;
    p->n--;
    for (struct sql_conn *i = idle; i; i = i->next)
        p->n--;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    sql_pool_close_list(idle, close);
    close(c);
}

static const struct sql_driver *sql_drv(struct store *s)
{
    return ((struct sql_store *)s)->drv;
}

int sql_bind_one(struct sql_params *p, char kind, const void *ptr, size_t len, int64_t v)
{
    struct store_value *x;

    if (p->n == SQL_MAX_PARAMS || len > INT_MAX || (kind != 't' && kind != 'b' && kind != 'i'))
        return -EINVAL;
    x = &p->v[p->n++];
    *x = (struct store_value){.null = kind != 'i' && !ptr, .i = v, .ptr = ptr, .len = len};
    return 0;
}

/* Binds parameters $1, $2, ... from fmt, one letter each:
 *   't' const char *         text (NULL binds NULL)
 *   'b' const void *, size_t blob (NULL binds NULL; non-NULL with 0 an empty one)
 *   'i' int64_t              integer (pass int64_t, not int)
 * Bound memory is BORROWED until the call is done. */
static int sql_bindv(struct sql_params *p, const char *fmt, va_list ap)
{
    int r = 0;

    p->fmt = fmt;
    p->n = 0;
    for (const char *f = fmt; *f && r >= 0; f++) {
        if (*f == 't') {
            const char *t = va_arg(ap, const char *);
            r = sql_bind_one(p, 't', t, t ? strlen(t) : 0, 0);
        } else if (*f == 'b') {
            const void *b = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            r = sql_bind_one(p, 'b', b, len, 0);
        } else {
            r = sql_bind_one(p, *f, NULL, 0, va_arg(ap, int64_t));
        }
    }
    return r;
}

/* Binds the variadic arguments of the function it is in from fmt (sql_bindv). */
#define SQL_BIND(p, fmt)                                                                           \
    ({                                                                                             \
        va_list ap_;                                                                               \
        int r_;                                                                                    \
        va_start(ap_, fmt);                                                                        \
        r_ = sql_bindv(p, fmt, ap_);                                                               \
        va_end(ap_);                                                                               \
        r_;                                                                                        \
    })

/* ---- running statements ---- */

/* Writes that only add what no cache holds yet (store.h epoch). */
static bool sql_quiet(enum sql_stmt_id id)
{
    return id == ST_SESSION_INSERT || id == ST_ATOKEN_INSERT || id == ST_ATOKEN_USE ||
           id == ST_CSECRET_USE || id == ST_EPOCH_STAMP ||
           (id >= ST_SHARE_INSERT && id <= ST_SHARE_POLICY_SET) || /* shares are never cached */
           startswith(sql_stmts[id].sql, "SELECT ");
}

/* What a dirty statement changed: c->scope's project alone, or anything. */
static void sql_touch(struct sql_conn *c)
{
    size_t i = 0;

    if (c->wide)
        return;
    while (c->scope && i < c->n_touched && strcmp(c->touched[i], c->scope) != 0)
        i++;
    if (!c->scope || (i == c->n_touched && i == SQL_TOUCHED_MAX)) {
        c->wide = true;
    } else if (i == c->n_touched) {
        snprintf(c->touched[i], sizeof(c->touched[i]), "%s", c->scope);
        c->n_touched++;
    }
}

static int sql_execp(struct sql_conn *c, unsigned id, const struct sql_params *p, sql_row_fn row,
                     void *ctx)
{
    const struct sql_driver *drv = c->store->drv;
    const char *own;
    struct sql_stmt st;

    if (id >= ST__MAX)
        return -EINVAL;
    own = drv->dialect == SQL_PG ? sql_stmts[id].pg : sql_stmts[id].sqlite;
    st = (struct sql_stmt){id, sql_stmts[id].name, own ? own : sql_stmts[id].sql};
    if (!sql_quiet(id)) {
        c->dirty = true;
        sql_touch(c);
    }
    return drv->exec(c, &st, p, row, ctx);
}

/* Runs a statement; returns the number of rows it changed (or returned). */
int sql_run(struct sql_conn *c, unsigned id, const char *fmt, ...)
{
    struct sql_params p;
    int r;

    r = SQL_BIND(&p, fmt);
    return r < 0 ? r : sql_execp(c, id, &p, NULL, NULL);
}

/* sql_execp whose answer may wait (sql_defer): its rows, if any, go to row
 * once a later statement of the transaction has had its answer. */
static int sql_deferp(struct sql_conn *c, unsigned id, const struct sql_params *p, sql_row_fn row,
                      void *ctx)
{
    int r;

    c->defer = true;
    r = sql_execp(c, id, p, row, ctx);
    c->defer = false;
    return r < 0 ? r : 0;
}

int sql_defer(struct sql_conn *c, unsigned id, const char *fmt, ...)
{
    struct sql_params p;
    int r;

    r = SQL_BIND(&p, fmt);
    return r < 0 ? r : sql_deferp(c, id, &p, NULL, NULL);
}

static int sql_first_int(struct sql_conn *c, void *ctx, const struct store_value *cols, size_t n)
{
    int64_t *ret = ctx;

    if (ret && n)
        *ret = cols[0].null ? 0 : cols[0].i;
    return 0;
}

/* sql_int sent as sql_defer sends: *ret is set once a later statement of the
 * transaction has had its answer (and left alone without a row). */
static int sql_defer_int(struct sql_conn *c, int64_t *ret, unsigned id, const char *fmt, ...)
{
    struct sql_params p;
    int r;

    r = SQL_BIND(&p, fmt);
    return r < 0 ? r : sql_deferp(c, id, &p, sql_first_int, ret);
}

/* Runs a query of at most one row; *ret (if not NULL) gets its first column,
 * 0 without a row.  1 if there was a row, 0 if not, or a negative errno. */
int sql_int(struct sql_conn *c, int64_t *ret, unsigned id, const char *fmt, ...)
{
    struct sql_params p;
    int r;

    if (ret)
        *ret = 0;
    r = SQL_BIND(&p, fmt);
    if (r >= 0)
        r = sql_execp(c, id, &p, sql_first_int, ret);
    return r < 0 ? r : r > 0;
}

/* Held until the transaction ends; the statements after it run under it. */
static int sql_lock(struct sql_conn *c, int64_t key)
{
    return sql_defer(c, ST_LOCK, "i", key);
}

/* ---- reading rows into records ---- */

enum sql_kind {
    PK_TEXT,     /* char[size]: -EIO if it does not fit; NULL reads as "" */
    PK_STR,      /* char * OWNED; NULL reads as "" */
    PK_STR_NULL, /* char * OWNED; NULL reads as NULL */
    PK_BLOB,     /* struct store_blob; NULL and empty read as {NULL, 0} */
    PK_HASH,     /* uint8_t[STORE_HASH_BYTES]: -EIO unless exactly that long */
    PK_HASH0,    /* the same, but NULL reads as zeros */
    PK_I64,      /* int64_t (or uint64_t) */
    PK_INT,      /* int */
    PK_BOOL,     /* bool: the integer is not 0 */
};

struct sql_col {
    enum sql_kind kind;
    size_t off, size; /* of the field in the record */
};
#define COL(kind, type, field)                                                                     \
    {                                                                                              \
        kind, offsetof(type, field), sizeof(((type *)0)->field)                                    \
    }

/* Column i of a query is cols[i]. */
struct sql_record {
    const struct sql_col *cols;
    size_t n_cols;
    size_t size;                                  /* of the record */
    int (*finish)(struct sql_conn *c, void *rec); /* NULL, or after the rows (reads more) */
    void (*release)(void *rec);                   /* NULL: frees the PK_STR* and PK_BLOB fields */
};
#define RECORD(type, cols_, ...)                                                                   \
    {                                                                                              \
        .cols = cols_, .n_cols = ELEMENTSOF(cols_), .size = sizeof(type), __VA_ARGS__              \
    }

static void sql_record_release(const struct sql_record *rec, void *p)
{
    if (rec->release) {
        rec->release(p);
        return;
    }
    for (size_t i = 0; i < rec->n_cols; i++) {
        char *f = (char *)p + rec->cols[i].off;
        if (rec->cols[i].kind == PK_STR || rec->cols[i].kind == PK_STR_NULL)
            free(*(char **)f);
        else if (rec->cols[i].kind == PK_BLOB)
            store_blob_release((struct store_blob *)f);
    }
    memset(p, 0, rec->size);
}

static int sql_corrupt(struct sql_conn *c, size_t col)
{
    sql_set_err(c->store, "%s: unexpected value in column %zu", c->store->drv->name, col + 1);
    return -EIO;
}

static int sql_read_col(struct sql_conn *c, const struct store_value *v, size_t col,
                        const struct sql_col *k, char *f)
{
    size_t len = v->null ? 0 : v->len;

    switch (k->kind) {
    case PK_TEXT:
        if (len >= k->size)
            return sql_corrupt(c, col);
        if (len)
            memcpy(f, v->ptr, len);
        f[len] = 0;
        return 0;
    case PK_STR:
    case PK_STR_NULL: {
        char *p;
        if (v->null && k->kind == PK_STR_NULL)
            return 0;
        p = malloc(len + 1);
        if (!p)
            return -ENOMEM;
        if (len)
            memcpy(p, v->ptr, len);
        p[len] = 0;
        *(char **)f = p;
        return 0;
    }
    case PK_BLOB: {
        struct store_blob *b = (struct store_blob *)f;
        if (len == 0)
            return 0;
        b->ptr = malloc(len);
        if (!b->ptr)
            return -ENOMEM;
        memcpy(b->ptr, v->ptr, len);
        b->len = len;
        return 0;
    }
    case PK_HASH:
    case PK_HASH0:
        if (v->null && k->kind == PK_HASH0) {
            memset(f, 0, k->size);
            return 0;
        }
        if (v->null || len != STORE_HASH_BYTES || k->size != STORE_HASH_BYTES)
            return sql_corrupt(c, col);
        memcpy(f, v->ptr, STORE_HASH_BYTES);
        return 0;
    case PK_I64: {
        int64_t x = v->null ? 0 : v->i;
        memcpy(f, &x, sizeof(x));
        return 0;
    }
    case PK_INT:
        if (!v->null && (v->i < INT_MIN || v->i > INT_MAX))
            return sql_corrupt(c, col);
        *(int *)(void *)f = v->null ? 0 : (int)v->i;
        return 0;
    case PK_BOOL:
        *(bool *)f = !v->null && v->i != 0;
        return 0;
    }
    return -EINVAL;
}

/* Reads one row into out (rec->size zeroed bytes); on failure out is
 * released (zeros again). */
static int sql_read_record(struct sql_conn *c, const struct sql_record *rec,
                           const struct store_value *cols, size_t n, void *out)
{
    int r = 0;

    if (n != rec->n_cols) {
        sql_set_err(c->store, "%s: %zu columns where %zu were expected", c->store->drv->name, n,
                    rec->n_cols);
        return -EIO;
    }
    for (size_t i = 0; i < rec->n_cols && r >= 0; i++)
        r = sql_read_col(c, &cols[i], i, &rec->cols[i], (char *)out + rec->cols[i].off);
    if (r < 0)
        sql_record_release(rec, out);
    return r;
}

/* Rows collected into an array of records. */
struct sql_rows {
    const struct sql_record *rec;
    char *v; /* OWNED */
    size_t n, cap;
    size_t max; /* 1: the first row only (then more are ignored) */
};

static void sql_rows_release(struct sql_rows *x)
{
    for (size_t i = 0; i < x->n; i++)
        sql_record_release(x->rec, x->v + i * x->rec->size);
    free(x->v);
    x->v = NULL;
    x->n = x->cap = 0;
}

static int sql_collect_row(struct sql_conn *c, void *ctx, const struct store_value *cols, size_t n)
{
    struct sql_rows *x = ctx;
    int r;

    if (x->max && x->n == x->max)
        return 0;
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 4;
        char *v = reallocarray(x->v, cap, x->rec->size);
        if (!v)
            return -ENOMEM;
        x->v = v;
        x->cap = cap;
    }
    memset(x->v + x->n * x->rec->size, 0, x->rec->size);
    r = sql_read_record(c, x->rec, cols, n, x->v + x->n * x->rec->size);
    if (r >= 0)
        x->n++;
    return r;
}

/* Runs a query into x, then each record's finish. */
static int sql_collect(struct sql_conn *c, struct sql_rows *x, enum sql_stmt_id id,
                       const struct sql_params *p)
{
    int r = sql_execp(c, id, p, sql_collect_row, x);

    for (size_t i = 0; i < x->n && r >= 0 && x->rec->finish; i++)
        r = x->rec->finish(c, x->v + i * x->rec->size);
    if (r < 0)
        sql_rows_release(x);
    return r;
}

/* The first row of a query into *ret (a record of rec's type, written only on
 * success): 1, 0 without a row, or a negative errno. */
static int sql_rowp(struct sql_conn *c, const struct sql_record *rec, void *ret,
                    enum sql_stmt_id id, const struct sql_params *p)
{
    struct sql_rows x = {.rec = rec, .max = 1};
    int r = sql_collect(c, &x, id, p);

    if (r < 0 || x.n == 0)
        return r < 0 ? r : 0;
    memcpy(ret, x.v, rec->size);
    free(x.v);
    return 1;
}

static int sql_row(struct sql_conn *c, const struct sql_record *rec, void *ret, enum sql_stmt_id id,
                   const char *fmt, ...)
{
    struct sql_params p;
    int r;

    r = SQL_BIND(&p, fmt);
    return r < 0 ? r : sql_rowp(c, rec, ret, id, &p);
}

/* Every row into a new array *ret (NULL when there is none). */
static int sql_rowsp(struct sql_conn *c, const struct sql_record *rec, void **ret, size_t *ret_n,
                     enum sql_stmt_id id, const struct sql_params *p)
{
    struct sql_rows x = {.rec = rec};
    int r = sql_collect(c, &x, id, p);

    if (r < 0)
        return r;
    *ret = x.v;
    *ret_n = x.n;
    return 0;
}

static int sql_rows(struct sql_conn *c, const struct sql_record *rec, void **ret, size_t *ret_n,
                    enum sql_stmt_id id, const char *fmt, ...)
{
    struct sql_params p;
    int r;

    r = SQL_BIND(&p, fmt);
    return r < 0 ? r : sql_rowsp(c, rec, ret, ret_n, id, &p);
}

/* ---- transactions ---- */

/* Every call that reaches a driver starts here (or in sql_epoch, sql_backup,
 * sql_restore): with no error text. */
static const struct sql_driver *sql_call(struct store *s)
{
    sql_err[0] = 0;
    return sql_drv(s);
}

static int sql_tx(struct store *s, enum sql_tx kind, sql_body_fn body, void *arg)
{
    return sql_call(s)->tx(s, kind, body, arg);
}

/* ---- per-project epochs (store.h epoch) ---- */

void sql_touched_reset(struct sql_conn *c)
{
    c->dirty = c->wide = false;
    c->n_touched = 0;
}

struct sql_scoped {
    const char *project_id;
    sql_body_fn body;
    void *arg;
};

static int sql_scoped_body(struct sql_conn *c, void *arg)
{
    const struct sql_scoped *a = arg;
    int r;

    c->scope = a->project_id;
    r = a->body(c, a->arg);
    c->scope = NULL;
    return r;
}

/* A write transaction whose changes are confined to project_id's secrets and
 * folders: it stamps that project's epoch, not everything's. */
static int sql_tx_project(struct store *s, const char *project_id, sql_body_fn body, void *arg)
{
    struct sql_scoped a = {project_id, body, arg};

    return sql_tx(s, SQL_TX_WRITE, sql_scoped_body, &a);
}

int sql_epoch_stamp(struct sql_conn *c)
{
    int r = 0;

    if (c->wide || c->n_touched == 0)
        r = sql_defer(c, ST_EPOCH_STAMP, "t", "");
    else
        for (size_t i = 0; i < c->n_touched && r >= 0; i++)
            r = sql_defer(c, ST_EPOCH_STAMP, "t", c->touched[i]);
    return r < 0 ? r : 0;
}

static int sql_epoch_row(struct sql_conn *c, void *ctx, const struct store_value *cols, size_t n)
{
    struct store_epoch *e = ctx;

    (void)c;
    if (n != 2)
        return -EIO;
    e->all = (uint64_t)cols[0].i;
    e->global = (uint64_t)cols[1].i;
    return 0;
}

int sql_epoch_read(struct sql_conn *c, struct store_epoch *ret)
{
    struct sql_params p = {.fmt = ""};
    int r = sql_execp(c, ST_EPOCH, &p, sql_epoch_row, ret);

    return r < 0 ? r : r == 1 ? 0 : -EIO;
}

int sql_project_epoch_read(struct sql_conn *c, const char *project_id, uint64_t *ret)
{
    int64_t v = 0;
    int r = sql_int(c, &v, ST_PROJECT_EPOCH, "t", project_id);

    *ret = (uint64_t)v;
    return r < 0 ? r : 0;
}

/* One statement and its parameters, bound before the transaction so that
 * the body can run again. */
struct sql_call {
    enum sql_stmt_id id;
    struct sql_params p;
    const struct sql_record *rec;
    void *ret;     /* a record (get), a void * (list) */
    size_t *ret_n; /* list */
    bool must_hit; /* write1: -ENOENT if no row changed */
};

static int sql_get_body(struct sql_conn *c, void *arg)
{
    struct sql_call *a = arg;
    int r = sql_rowp(c, a->rec, a->ret, a->id, &a->p);

    return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sql_list_body(struct sql_conn *c, void *arg)
{
    struct sql_call *a = arg;

    return sql_rowsp(c, a->rec, a->ret, a->ret_n, a->id, &a->p);
}

static int sql_write1_body(struct sql_conn *c, void *arg)
{
    struct sql_call *a = arg;
    int r = sql_execp(c, a->id, &a->p, NULL, NULL);

    if (r < 0)
        return r;
    return a->must_hit && r == 0 ? -ENOENT : 0;
}

/* One row into *ret; -ENOENT without one. */
static int sql_get(struct store *s, enum sql_tx kind, const struct sql_record *rec, void *ret,
                   enum sql_stmt_id id, const char *fmt, ...)
{
    struct sql_call a = {.id = id, .rec = rec, .ret = ret};
    int r;

    r = SQL_BIND(&a.p, fmt);
    return r < 0 ? r : sql_tx(s, kind, sql_get_body, &a);
}

/* Every row into a new array *ret (OWNED, store_*_free). */
static int sql_list(struct store *s, enum sql_tx kind, const struct sql_record *rec, void **ret,
                    size_t *ret_n, enum sql_stmt_id id, const char *fmt, ...)
{
    struct sql_call a = {.id = id, .rec = rec, .ret = ret, .ret_n = ret_n};
    int r;

    if (!ret || !ret_n)
        return -EINVAL;
    r = SQL_BIND(&a.p, fmt);
    return r < 0 ? r : sql_tx(s, kind, sql_list_body, &a);
}

/* One statement in its own write transaction.  -ENOENT if it changed no row
 * and must_hit is set. */
static int sql_write1(struct store *s, bool must_hit, enum sql_stmt_id id, const char *fmt, ...)
{
    struct sql_call a = {.id = id, .must_hit = must_hit};
    int r;

    r = SQL_BIND(&a.p, fmt);
    return r < 0 ? r : sql_tx(s, SQL_TX_WRITE, sql_write1_body, &a);
}
/* ---- records ---- */

static const struct sql_col user_cols[] = {
    COL(PK_TEXT, struct store_user, id),
    COL(PK_STR, struct store_user, email),
    COL(PK_HASH, struct store_user, auth_hash),
    COL(PK_BLOB, struct store_user, kdf_salt),
    COL(PK_I64, struct store_user, kdf_opslimit),
    COL(PK_I64, struct store_user, kdf_memlimit),
    COL(PK_BLOB, struct store_user, public_key),
    COL(PK_BLOB, struct store_user, encrypted_private_key),
    COL(PK_I64, struct store_user, created_at),
};
static const struct sql_record rec_user = RECORD(struct store_user, user_cols);

static const struct sql_col org_membership_cols[] = {
    COL(PK_TEXT, struct store_org_membership, org.id),
    COL(PK_STR, struct store_org_membership, org.name),
    COL(PK_STR, struct store_org_membership, org.slug),
    COL(PK_I64, struct store_org_membership, org.created_at),
    COL(PK_TEXT, struct store_org_membership, role),
};
static const struct sql_record rec_org_membership =
    RECORD(struct store_org_membership, org_membership_cols);

static const struct sql_col org_member_cols[] = {
    COL(PK_TEXT, struct store_org_member, user_id),
    COL(PK_STR, struct store_org_member, email),
    COL(PK_TEXT, struct store_org_member, role),
    COL(PK_I64, struct store_org_member, created_at),
};
static const struct sql_record rec_org_member = RECORD(struct store_org_member, org_member_cols);

static const struct sql_col session_cols[] = {
    COL(PK_HASH, struct store_session, token_hash),
    COL(PK_TEXT, struct store_session, user_id),
    COL(PK_I64, struct store_session, created_at),
    COL(PK_I64, struct store_session, expires_at),
};
static const struct sql_record rec_session = RECORD(struct store_session, session_cols);

static const struct sql_col env_cols[] = {
    COL(PK_TEXT, struct store_env, id),      COL(PK_TEXT, struct store_env, project_id),
    COL(PK_STR, struct store_env, slug),     COL(PK_STR, struct store_env, name),
    COL(PK_INT, struct store_env, position),
};
static const struct sql_record rec_env = RECORD(struct store_env, env_cols);

/* A project's environments, read in the same transaction. */
static int sql_project_finish(struct sql_conn *c, void *rec)
{
    struct store_project *p = rec;
    void *v = NULL;
    int r = sql_rows(c, &rec_env, &v, &p->n_envs, ST_ENV_LIST, "t", p->id);

    if (r >= 0)
        p->envs = v;
    return r;
}

static void sql_project_release(void *rec)
{
    store_project_release(rec);
}

static const struct sql_col project_cols[] = {
    COL(PK_TEXT, struct store_project, id),        COL(PK_TEXT, struct store_project, org_id),
    COL(PK_STR, struct store_project, name),       COL(PK_STR, struct store_project, slug),
    COL(PK_I64, struct store_project, created_at), COL(PK_BLOB, struct store_project, server_key),
};
static const struct sql_record rec_project =
    RECORD(struct store_project, project_cols, .finish = sql_project_finish,
           .release = sql_project_release);

/* MEMBER_SELECT */
static const struct sql_col member_cols[] = {
    COL(PK_TEXT, struct store_member, project_id),
    COL(PK_TEXT, struct store_member, principal_type),
    COL(PK_TEXT, struct store_member, principal_id),
    COL(PK_TEXT, struct store_member, role),
    COL(PK_BLOB, struct store_member, wrapped_key),
    COL(PK_I64, struct store_member, created_at),
    COL(PK_STR, struct store_member, principal_name),
};
static const struct sql_record rec_member = RECORD(struct store_member, member_cols);

/* SECRET_COLS (and the history's equivalents); prefix: the struct's member
 * path to them ("" or "current.") */
#define SECRET_FIELDS(type, prefix)                                                                \
    COL(PK_TEXT, type, prefix id), COL(PK_STR, type, prefix key), COL(PK_STR, type, prefix path),  \
        COL(PK_I64, type, prefix version), COL(PK_BLOB, type, prefix value),                       \
        COL(PK_BLOB, type, prefix comment), COL(PK_I64, type, prefix updated_at),                  \
        COL(PK_TEXT, type, prefix actor_id), COL(PK_TEXT, type, prefix owner_id)
static const struct sql_col secret_cols[] = {SECRET_FIELDS(struct store_secret, )};
static const struct sql_record rec_secret = RECORD(struct store_secret, secret_cols);

/* ST_SECRETS_AT: the current row, whether a version existed then, that version. */
static const struct sql_col secret_at_cols[] = {
    SECRET_FIELDS(struct store_secret_at, current.),
    COL(PK_BOOL, struct store_secret_at, existed),
    SECRET_FIELDS(struct store_secret_at, then.),
};
static const struct sql_record rec_secret_at = RECORD(struct store_secret_at, secret_at_cols);

static const struct sql_col invite_cols[] = {
    COL(PK_TEXT, struct store_invite, id),         COL(PK_TEXT, struct store_invite, org_id),
    COL(PK_STR, struct store_invite, email),       COL(PK_TEXT, struct store_invite, org_role),
    COL(PK_HASH, struct store_invite, token_hash), COL(PK_TEXT, struct store_invite, created_by),
    COL(PK_I64, struct store_invite, created_at),  COL(PK_I64, struct store_invite, expires_at),
    COL(PK_I64, struct store_invite, accepted_at),
};
static const struct sql_record rec_invite = RECORD(struct store_invite, invite_cols);

static const struct sql_col role_cols[] = {
    COL(PK_TEXT, struct store_role, id),   COL(PK_TEXT, struct store_role, project_id),
    COL(PK_STR, struct store_role, slug),  COL(PK_STR, struct store_role, name),
    COL(PK_STR, struct store_role, rules), COL(PK_I64, struct store_role, created_at),
};
static const struct sql_record rec_role = RECORD(struct store_role, role_cols);

static const struct sql_col identity_cols[] = {
    COL(PK_TEXT, struct store_identity, id),
    COL(PK_TEXT, struct store_identity, org_id),
    COL(PK_STR, struct store_identity, name),
    COL(PK_BLOB, struct store_identity, public_key),
    COL(PK_TEXT, struct store_identity, client_id),
    COL(PK_I64, struct store_identity, access_token_ttl),
    COL(PK_I64, struct store_identity, access_token_max_ttl),
    COL(PK_I64, struct store_identity, access_token_num_uses_limit),
    COL(PK_STR, struct store_identity, trusted_ips),
    COL(PK_TEXT, struct store_identity, created_by),
    COL(PK_I64, struct store_identity, created_at),
};
static const struct sql_record rec_identity = RECORD(struct store_identity, identity_cols);

static const struct sql_col client_secret_cols[] = {
    COL(PK_TEXT, struct store_client_secret, id),
    COL(PK_TEXT, struct store_client_secret, identity_id),
    COL(PK_HASH, struct store_client_secret, auth_hash),
    COL(PK_BLOB, struct store_client_secret, encrypted_private_key),
    COL(PK_TEXT, struct store_client_secret, prefix),
    COL(PK_STR, struct store_client_secret, description),
    COL(PK_I64, struct store_client_secret, created_at),
    COL(PK_I64, struct store_client_secret, expires_at),
    COL(PK_I64, struct store_client_secret, num_uses),
    COL(PK_I64, struct store_client_secret, num_uses_limit),
    COL(PK_BOOL, struct store_client_secret, revoked),
};
static const struct sql_record rec_client_secret =
    RECORD(struct store_client_secret, client_secret_cols);

static const struct sql_col access_token_cols[] = {
    COL(PK_HASH, struct store_access_token, token_hash),
    COL(PK_TEXT, struct store_access_token, identity_id),
    COL(PK_TEXT, struct store_access_token, client_secret_id),
    COL(PK_I64, struct store_access_token, created_at),
    COL(PK_I64, struct store_access_token, expires_at),
    COL(PK_I64, struct store_access_token, max_expires_at),
    COL(PK_I64, struct store_access_token, num_uses),
    COL(PK_I64, struct store_access_token, num_uses_limit),
    COL(PK_BOOL, struct store_access_token, revoked),
};
static const struct sql_record rec_access_token =
    RECORD(struct store_access_token, access_token_cols);

static const struct sql_col service_token_cols[] = {
    COL(PK_TEXT, struct store_service_token, id),
    COL(PK_TEXT, struct store_service_token, project_id),
    COL(PK_STR, struct store_service_token, name),
    COL(PK_HASH, struct store_service_token, secret_hash),
    COL(PK_STR, struct store_service_token, scopes),
    COL(PK_BOOL, struct store_service_token, write),
    COL(PK_BLOB, struct store_service_token, wrapped_key),
    COL(PK_TEXT, struct store_service_token, created_by),
    COL(PK_I64, struct store_service_token, created_at),
    COL(PK_I64, struct store_service_token, expires_at),
    COL(PK_BOOL, struct store_service_token, revoked),
};
static const struct sql_record rec_service_token =
    RECORD(struct store_service_token, service_token_cols);

/* ST_PROJECT_VERSIONS */
static const struct sql_col version_ref_cols[] = {
    COL(PK_TEXT, struct store_version_ref, secret_id),
    COL(PK_STR, struct store_version_ref, environment),
    COL(PK_STR, struct store_version_ref, path),
    COL(PK_STR, struct store_version_ref, key),
    COL(PK_I64, struct store_version_ref, version),
    COL(PK_BLOB, struct store_version_ref, value),
    COL(PK_BLOB, struct store_version_ref, comment),
    COL(PK_TEXT, struct store_version_ref, owner_id),
};
static const struct sql_record rec_version_ref = RECORD(struct store_version_ref, version_ref_cols);

/* AUDIT_COLS: optional text reads back NULL, as it was hashed. */
static const struct sql_col audit_cols[] = {
    COL(PK_I64, struct store_audit, seq),
    COL(PK_I64, struct store_audit, time),
    COL(PK_TEXT, struct store_audit, actor_type),
    COL(PK_TEXT, struct store_audit, actor_id),
    COL(PK_STR_NULL, struct store_audit, actor_name),
    COL(PK_STR, struct store_audit, event),
    COL(PK_TEXT, struct store_audit, org_id),
    COL(PK_TEXT, struct store_audit, project_id),
    COL(PK_STR_NULL, struct store_audit, environment),
    COL(PK_STR_NULL, struct store_audit, path),
    COL(PK_STR_NULL, struct store_audit, key),
    COL(PK_STR_NULL, struct store_audit, ip),
    COL(PK_STR_NULL, struct store_audit, user_agent),
    COL(PK_STR_NULL, struct store_audit, outcome),
    COL(PK_STR_NULL, struct store_audit, metadata),
    COL(PK_HASH, struct store_audit, prev_hash),
    COL(PK_HASH, struct store_audit, hash),
};
static const struct sql_record rec_audit = RECORD(struct store_audit, audit_cols);

/* ---- checks shared with the SQLite store's contract ---- */

/* True if the fixed-size text field s is NUL-terminated and not empty. */
static bool sql_fits(const char *s, size_t size)
{
    return s && s[0] && strnlen(s, size) < size;
}

/* The principal_type to store: "" means "user"; NULL for anything else. */
static const char *sql_principal_type(const char type[16])
{
    if (!type[0] || strncmp(type, "user", 16) == 0)
        return "user";
    if (strncmp(type, "identity", 16) == 0)
        return "identity";
    return NULL;
}

static bool sql_org_role_valid(const char role[16])
{
    return strncmp(role, "admin", 16) == 0 || strncmp(role, "member", 16) == 0;
}

/* ---- users, sessions, projects ---- */

static int sql_user_count(struct store *s, int64_t *ret)
{
    static const struct sql_col cols[] = {{PK_I64, 0, sizeof(int64_t)}};
    static const struct sql_record rec = RECORD(int64_t, cols);

    if (!ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec, ret, ST_USER_COUNT, "");
}

static int sql_insert_user(struct sql_conn *c, const struct store_user *u)
{
    return sql_run(c, ST_USER_INSERT, "ttbbiibbi", u->id, u->email, u->auth_hash,
                   (size_t)STORE_HASH_BYTES, u->kdf_salt.ptr, u->kdf_salt.len,
                   (int64_t)u->kdf_opslimit, (int64_t)u->kdf_memlimit, u->public_key.ptr,
                   u->public_key.len, u->encrypted_private_key.ptr, u->encrypted_private_key.len,
                   u->created_at);
}

struct bootstrap_tx {
    const struct store_user *u;
    const struct store_org *o;
};

static int sql_bootstrap_body(struct sql_conn *c, void *arg)
{
    const struct bootstrap_tx *a = arg;
    int64_t n_users;
    int r;

    /* Servers bootstrapping at once: one first user. */
    if ((r = sql_lock(c, SQL_LOCK_BOOTSTRAP)) < 0 ||
        (r = sql_int(c, &n_users, ST_USER_COUNT, "")) < 0)
        return r;
    if (n_users > 0)
        return -EEXIST;
    if ((r = sql_run(c, ST_ORG_INSERT, "ttti", a->o->id, a->o->name, a->o->slug,
                     a->o->created_at)) < 0 ||
        (r = sql_insert_user(c, a->u)) < 0 ||
        (r = sql_run(c, ST_ORG_MEMBER_INSERT, "ttti", a->o->id, a->u->id, "admin",
                     a->u->created_at)) < 0)
        return r;
    return 0;
}

static int sql_bootstrap(struct store *s, const struct store_user *u, const struct store_org *o)
{
    struct bootstrap_tx a = {u, o};

    if (!u || !o || !u->email || !o->name || !o->slug || u->kdf_opslimit > INT64_MAX ||
        u->kdf_memlimit > INT64_MAX)
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_bootstrap_body, &a);
}

static int sql_user_get(struct store *s, const char *id, struct store_user *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_user, ret, ST_USER_BY_ID, "t", id);
}

static int sql_user_get_by_email(struct store *s, const char *email, struct store_user *ret)
{
    if (!email || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_user, ret, ST_USER_BY_EMAIL, "t", email);
}

static int sql_user_orgs(struct store *s, const char *user_id, struct store_org_membership **ret,
                         size_t *ret_n)
{
    if (!user_id)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_org_membership, (void **)ret, ret_n, ST_USER_ORGS, "t",
                    user_id);
}

static int sql_org_members(struct store *s, const char *org_id, struct store_org_member **ret,
                           size_t *ret_n)
{
    if (!org_id)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_org_member, (void **)ret, ret_n, ST_ORG_MEMBERS, "t",
                    org_id);
}

static int sql_session_create(struct store *s, const struct store_session *sess)
{
    if (!sess)
        return -EINVAL;
    return sql_write1(s, false, ST_SESSION_INSERT, "btii", sess->token_hash,
                      (size_t)STORE_HASH_BYTES, sess->user_id, sess->created_at, sess->expires_at);
}

static int sql_session_get(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
                           struct store_session *ret)
{
    if (!hash || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_session, ret, ST_SESSION_GET, "b", hash,
                   (size_t)STORE_HASH_BYTES);
}

static int sql_session_delete(struct store *s, const uint8_t hash[STORE_HASH_BYTES])
{
    if (!hash)
        return -EINVAL;
    return sql_write1(s, true, ST_SESSION_DELETE, "b", hash, (size_t)STORE_HASH_BYTES);
}

struct project_tx {
    const struct store_project *p;
    const struct store_member *creator;
};

static int sql_project_create_body(struct sql_conn *c, void *arg)
{
    const struct project_tx *a = arg;
    const struct store_project *p = a->p;
    const struct store_member *m = a->creator;
    int r;

    r = sql_run(c, ST_PROJECT_INSERT, "tttti", p->id, p->org_id, p->name, p->slug, p->created_at);
    if (r >= 0 && p->server_key.len)
        r = sql_run(c, ST_PROJECT_SET_SERVER_KEY, "bt", p->server_key.ptr, p->server_key.len,
                    p->id);
    for (size_t i = 0; i < p->n_envs && r >= 0; i++) {
        const struct store_env *e = &p->envs[i];
        r = sql_run(c, ST_ENV_INSERT, "tttti", e->id, p->id, e->slug, e->name,
                    (int64_t)e->position);
    }
    if (r >= 0 && m)
        r = sql_run(c, ST_MEMBER_INSERT, "ttttbi", p->id, sql_principal_type(m->principal_type),
                    m->principal_id, m->role, m->wrapped_key.ptr, m->wrapped_key.len,
                    m->created_at);
    return r < 0 ? r : 0;
}

static int sql_project_create(struct store *s, const struct store_project *p,
                              const struct store_member *creator)
{
    struct project_tx a = {p, creator};

    if (!p || !p->name || !p->slug || (p->n_envs && !p->envs) ||
        (creator && !sql_principal_type(creator->principal_type)))
        return -EINVAL;
    for (size_t i = 0; i < p->n_envs; i++)
        if (!p->envs[i].slug || !p->envs[i].name)
            return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_project_create_body, &a);
}

static int sql_project_get(struct store *s, const char *id, struct store_project *ret)
{
    if (!id || !ret)
        return -EINVAL;
    /* One snapshot: the project and its environments. */
    return sql_get(s, SQL_TX_READ, &rec_project, ret, ST_PROJECT_GET, "t", id);
}

static int sql_project_list(struct store *s, const char *principal_id, struct store_project **ret,
                            size_t *ret_n)
{
    if (!principal_id)
        return -EINVAL;
    return sql_list(s, SQL_TX_READ, &rec_project, (void **)ret, ret_n, ST_PROJECT_LIST, "t",
                    principal_id);
}

static int sql_member_get(struct store *s, const char *project_id, const char *principal_id,
                          struct store_member *ret)
{
    if (!project_id || !principal_id || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_member, ret, ST_MEMBER_GET, "tt", project_id, principal_id);
}

/* ---- secrets ---- */

/* owner_id NULL or "": the shared secrets (store.h's personal overrides). */
static const char *sql_owner(const char *owner_id)
{
    return owner_id ? owner_id : "";
}

static int sql_secrets_list_with(struct store *s, const char *env_id, const char *path,
                                 const char *owner_id, struct store_secret **ret, size_t *ret_n)
{
    if (!env_id || !path)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_secret, (void **)ret, ret_n, ST_SECRETS_LIST, "ttt",
                    env_id, path, sql_owner(owner_id));
}

static int sql_secrets_list(struct store *s, const char *env_id, const char *path,
                            struct store_secret **ret, size_t *ret_n)
{
    return sql_secrets_list_with(s, env_id, path, NULL, ret, ret_n);
}

static int sql_secret_get_of(struct store *s, const char *env_id, const char *path, const char *key,
                             const char *owner_id, struct store_secret *ret)
{
    struct store_secret x = {0};
    int r;

    if (!env_id || !path || !key || !ret)
        return -EINVAL;
    r = sql_get(s, SQL_TX_NONE, &rec_secret, &x, ST_SECRET_GET, "tttt", env_id, path, key,
                sql_owner(owner_id));
    if (r < 0)
        return r;
    if (!x.value.ptr) { /* deleted */
        store_secret_release(&x);
        return -ENOENT;
    }
    *ret = x;
    return 0;
}

static int sql_secret_get(struct store *s, const char *env_id, const char *path, const char *key,
                          struct store_secret *ret)
{
    return sql_secret_get_of(s, env_id, path, key, NULL, ret);
}

static int sql_secret_history_of(struct store *s, const char *env_id, const char *path,
                                 const char *key, const char *owner_id, struct store_secret **ret,
                                 size_t *ret_n)
{
    struct store_secret *v = NULL;
    size_t n = 0;
    int r;

    if (!env_id || !path || !key || !ret || !ret_n)
        return -EINVAL;
    r = sql_list(s, SQL_TX_NONE, &rec_secret, (void **)&v, &n, ST_SECRET_HISTORY, "tttt", env_id,
                 path, key, sql_owner(owner_id));
    if (r < 0)
        return r;
    if (n == 0)
        return -ENOENT;
    *ret = v;
    *ret_n = n;
    return 0;
}

static int sql_secret_history(struct store *s, const char *env_id, const char *path,
                              const char *key, struct store_secret **ret, size_t *ret_n)
{
    return sql_secret_history_of(s, env_id, path, key, NULL, ret, ret_n);
}

static int sql_folder_ensure(struct sql_conn *c, const char *project_id, const char *env_id,
                             const char *path, int64_t now, bool tell_new);

struct secret_lookup {
    char id[STORE_ID_LEN + 1];
    char project_id[STORE_ID_LEN + 1];
    int64_t version;
    bool live;
};
static const struct sql_col secret_lookup_cols[] = {
    COL(PK_TEXT, struct secret_lookup, id),
    COL(PK_TEXT, struct secret_lookup, project_id),
    COL(PK_I64, struct secret_lookup, version),
    COL(PK_BOOL, struct secret_lookup, live),
};
static const struct sql_record rec_secret_lookup = RECORD(struct secret_lookup, secret_lookup_cols);

struct write_result {
    int64_t version;
    bool created;
    char id[STORE_ID_LEN + 1];
};

struct secrets_tx {
    const char *project_id, *env_id, *path, *actor_id;
    struct store_write *w;
    size_t n;
    int64_t now;
    struct write_result *res;              /* n */
    const struct store_audit_batch *audit; /* NULL: none */
};

/* The audit chain's head (sql_audit_lock_head). */
struct audit_head {
    int64_t seq;
    uint8_t hash[STORE_HASH_BYTES]; /* zeros before the first record */
    int64_t time;
    int64_t generation; /* the newest root key generation */
};
static const struct sql_col audit_head_cols[] = {
    COL(PK_I64, struct audit_head, seq),
    COL(PK_HASH0, struct audit_head, hash),
    COL(PK_I64, struct audit_head, time),
    COL(PK_I64, struct audit_head, generation),
};
static const struct sql_record rec_audit_head = RECORD(struct audit_head, audit_head_cols);
static int sql_audit_lock_head(struct sql_conn *c, struct audit_head *head, bool defer);
static int sql_audit_append_in(struct sql_conn *c, const struct store_audit_batch *b,
                               const struct audit_head *head);

/* One write of a batch, inside the caller's transaction; *project_found is
 * the answer of the project's lock, which comes with the first lookup. */
static int sql_write_one(struct sql_conn *c, const struct secrets_tx *a,
                         const struct store_write *w, struct write_result *res,
                         const int64_t *project_found)
{
    struct secret_lookup x = {0};
    const char *owner = sql_owner(w->owner), *path = w->path ? w->path : a->path;
    bool exists;
    int r;

    r = sql_row(c, &rec_secret_lookup, &x, ST_SECRET_LOOKUP, "tttt", a->env_id, path, w->key,
                owner);
    if (r < 0)
        return r;
    if (!*project_found)
        return -ENOENT;
    exists = r > 0;
    if (exists && strcmp(x.project_id, a->project_id) != 0)
        return -ENOENT; /* env_id is not an environment of project_id */
    /* a personal override needs a live shared secret of its key */
    if (*owner && w->op != STORE_DELETE) {
        struct secret_lookup shared = {0};
        r = sql_row(c, &rec_secret_lookup, &shared, ST_SECRET_LOOKUP, "tttt", a->env_id, path,
                    w->key, "");
        if (r < 0)
            return r;
        if (!shared.live)
            return -ENOENT;
    }

    switch (w->op) {
    case STORE_CREATE:
        if (x.live)
            return -EEXIST;
        break;
    case STORE_UPDATE:
    case STORE_DELETE:
        if (!x.live)
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
        x.version++;
        r = sql_defer(c, ST_SECRET_UPDATE, "ibbitt", x.version, value, value_len, comment,
                      comment_len, a->now, a->actor_id, x.id);
    } else {
        name_uuid(x.id);
        x.version = 1;
        r = sql_defer(c, ST_SECRET_INSERT, "tttttibbitt", x.id, a->project_id, a->env_id, path,
                      w->key, x.version, value, value_len, comment, comment_len, a->now,
                      a->actor_id, owner);
    }
    if (r < 0 || (r = sql_defer(c, ST_VERSION_INSERT, "t", x.id)) < 0)
        return r;
    if (w->op == STORE_DELETE && !*owner &&
        ((r = sql_run(c, ST_PERSONAL_TOMBSTONE_VERSIONS, "tttit", a->env_id, path, w->key, a->now,
                      a->actor_id)) < 0 ||
         (r = sql_run(c, ST_PERSONAL_TOMBSTONE, "tttit", a->env_id, path, w->key, a->now,
                      a->actor_id)) < 0))
        return r;

    res->version = x.version;
    res->created = !x.live;
    memcpy(res->id, x.id, sizeof(res->id));
    return 0;
}

static int sql_secrets_write_body(struct sql_conn *c, void *arg)
{
    const struct secrets_tx *a = arg;
    bool audited = a->audit && a->audit->n;
    struct audit_head head = {0};
    int64_t found = 0;
    int r;

    /* Writers of the project take turns: each reads a version and writes the
     * next, and a new key is created once.  With records, the chain's lock and
     * head too: the answers come with the first lookup, one round trip on
     * PostgreSQL instead of one before and one after the writes (the chain's
     * lock is held for the whole write rather than from its end, but a write
     * waits for one round trip less with its project's lock held). */
    r = sql_defer_int(c, &found, ST_PROJECT_LOCK_WRITERS, "t", a->project_id);
    if (r >= 0 && audited)
        r = sql_audit_lock_head(c, &head, true);
    if (r < 0)
        return r;
    for (size_t i = 0; i < a->n; i++) {
        r = sql_write_one(c, a, &a->w[i], &a->res[i], &found);
        /* the folder of each write (w->path: a batch spans folders) exists */
        if (r >= 0)
            r = sql_folder_ensure(c, a->project_id, a->env_id,
                                  a->w[i].path ? a->w[i].path : a->path, a->now, false);
        if (r < 0)
            return r;
    }
    if (!a->audit)
        return 0;
    /* the records say what happened: their fill reads the ret_ fields */
    for (size_t i = 0; i < a->n; i++) {
        a->w[i].ret_version = a->res[i].version;
        a->w[i].ret_created = a->res[i].created;
        memcpy(a->w[i].ret_id, a->res[i].id, sizeof(a->w[i].ret_id));
    }
    return sql_audit_append_in(c, a->audit, audited ? &head : NULL);
}

static bool sql_audit_valid(const struct store_audit *recs, size_t n);

static int sql_secrets_write_audited(struct store *s, const char *project_id, const char *env_id,
                                     const char *path, struct store_write *w, size_t n,
                                     const char *actor_id, int64_t now,
                                     const struct store_audit_batch *audit)
{
    _cleanup_free_ struct write_result *res = NULL;
    struct secrets_tx a = {project_id, env_id, path, actor_id, w, n, now, NULL, audit};
    int r;

    if (!project_id || !env_id || !path || !actor_id || (n && !w))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!w[i].key || (unsigned)w[i].op > STORE_DELETE)
            return -EINVAL;
        if (w[i].op != STORE_DELETE && (!w[i].value || w[i].value_len == 0))
            return -EINVAL; /* an empty value would read back as a tombstone */
    }
    if (audit && (!audit->chain || !sql_audit_valid(audit->recs, audit->n)))
        return -EINVAL;
    if (n == 0)
        return 0;
    res = a.res = calloc(n, sizeof(*res));
    if (!res)
        return -ENOMEM;

    r = sql_tx_project(s, project_id, sql_secrets_write_body, &a);
    if (r < 0) {
        for (size_t i = 0; audit && i < audit->n; i++)
            audit->recs[i].seq = 0; /* nothing was appended */
        return r;
    }
    for (size_t i = 0; i < n; i++) {
        w[i].ret_version = res[i].version;
        w[i].ret_created = res[i].created;
        memcpy(w[i].ret_id, res[i].id, sizeof(w[i].ret_id));
    }
    return 0;
}

static int sql_secrets_write(struct store *s, const char *project_id, const char *env_id,
                             const char *path, struct store_write *w, size_t n,
                             const char *actor_id, int64_t now)
{
    return sql_secrets_write_audited(s, project_id, env_id, path, w, n, actor_id, now, NULL);
}

/* ---- people ---- */

static int sql_invite_create(struct store *s, const struct store_invite *inv)
{
    if (!inv || !inv->email || !sql_org_role_valid(inv->org_role))
        return -EINVAL;
    return sql_write1(s, false, ST_INVITE_INSERT, "ttttbtiii", inv->id, inv->org_id, inv->email,
                      inv->org_role, inv->token_hash, (size_t)STORE_HASH_BYTES, inv->created_by,
                      inv->created_at, inv->expires_at, inv->accepted_at);
}

static int sql_invite_list(struct store *s, const char *org_id, struct store_invite **ret,
                           size_t *ret_n)
{
    if (!org_id)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_invite, (void **)ret, ret_n, ST_INVITE_LIST, "t", org_id);
}

static int sql_invite_revoke(struct store *s, const char *org_id, const char *id)
{
    if (!org_id || !id)
        return -EINVAL;
    return sql_write1(s, true, ST_INVITE_REVOKE, "tt", org_id, id);
}

static int sql_invite_get(struct store *s, const uint8_t token_hash[STORE_HASH_BYTES],
                          struct store_invite *ret)
{
    if (!token_hash || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_invite, ret, ST_INVITE_GET, "b", token_hash,
                   (size_t)STORE_HASH_BYTES);
}

struct invite_state {
    char org_id[STORE_ID_LEN + 1];
    char role[16];
    int64_t accepted_at;
    bool invited_email;
};
static const struct sql_col invite_state_cols[] = {
    COL(PK_TEXT, struct invite_state, org_id),
    COL(PK_TEXT, struct invite_state, role),
    COL(PK_I64, struct invite_state, accepted_at),
    COL(PK_BOOL, struct invite_state, invited_email),
};
static const struct sql_record rec_invite_state = RECORD(struct invite_state, invite_state_cols);

struct invite_tx {
    const char *invite_id;
    const struct store_user *u;
    int64_t now;
};

static int sql_invite_accept_body(struct sql_conn *c, void *arg)
{
    const struct invite_tx *a = arg;
    struct invite_state x;
    int r;

    r = sql_row(c, &rec_invite_state, &x, ST_INVITE_STATE, "tt", a->invite_id, a->u->email);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    if (x.accepted_at != 0)
        return -EEXIST;
    if (!x.invited_email)
        return -EINVAL;
    if ((r = sql_insert_user(c, a->u)) < 0 ||
        (r = sql_run(c, ST_ORG_MEMBER_INSERT, "ttti", x.org_id, a->u->id, x.role, a->now)) < 0 ||
        (r = sql_run(c, ST_INVITE_ACCEPT, "ti", a->invite_id, a->now)) < 0)
        return r;
    return 0;
}

static int sql_invite_accept(struct store *s, const char *invite_id, const struct store_user *u,
                             int64_t now)
{
    struct invite_tx a = {invite_id, u, now};

    if (!invite_id || !u || !u->email || u->kdf_opslimit > INT64_MAX || u->kdf_memlimit > INT64_MAX)
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_invite_accept_body, &a);
}

static int sql_org_role(struct store *s, const char *org_id, const char *user_id, char role[16])
{
    static const struct sql_col cols[] = {{PK_TEXT, 0, 16}};
    static const struct sql_record rec = RECORD(char[16], cols);

    if (!org_id || !user_id || !role)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec, role, ST_ORG_ROLE, "tt", org_id, user_id);
}

struct login_state {
    int64_t failures;
    int64_t locked_until;
};
static const struct sql_col login_state_cols[] = {
    COL(PK_I64, struct login_state, failures),
    COL(PK_I64, struct login_state, locked_until),
};
static const struct sql_record rec_login_state = RECORD(struct login_state, login_state_cols);

/* The count goes on until user_login_ok: each failure from the lock_after-th
 * on (re)locks the account, so guessing while locked only extends the lock. */
static int sql_user_login_failed(struct store *s, const char *user_id, int64_t now, int lock_after,
                                 int64_t lock_ms, int64_t *ret_locked_until)
{
    struct login_state x;
    int r;

    if (!user_id || lock_after < 0 || lock_ms < 0 || now > INT64_MAX - lock_ms)
        return -EINVAL;
    /* An UPDATE ... RETURNING: a write, so in a write transaction. */
    r = sql_get(s, SQL_TX_WRITE, &rec_login_state, &x, ST_LOGIN_FAILED, "tii", user_id,
                (int64_t)lock_after, now + lock_ms);
    if (r < 0)
        return r;
    if (ret_locked_until)
        *ret_locked_until = x.locked_until > now ? x.locked_until : 0;
    return x.failures > INT_MAX ? INT_MAX : (int)x.failures;
}

static int sql_user_set_credentials(struct store *s, const struct store_user *u)
{
    if (!u || !u->kdf_salt.len || !u->encrypted_private_key.len)
        return -EINVAL;
    return sql_write1(s, true, ST_USER_CREDENTIALS, "bbiibt", u->auth_hash,
                      (size_t)STORE_HASH_BYTES, u->kdf_salt.ptr, u->kdf_salt.len,
                      (int64_t)u->kdf_opslimit, (int64_t)u->kdf_memlimit,
                      u->encrypted_private_key.ptr, u->encrypted_private_key.len, u->id);
}

static int sql_user_login_ok(struct store *s, const char *user_id)
{
    if (!user_id)
        return -EINVAL;
    return sql_write1(s, true, ST_LOGIN_OK, "t", user_id);
}

static int sql_user_locked_until(struct store *s, const char *user_id, int64_t *ret)
{
    static const struct sql_col cols[] = {{PK_I64, 0, sizeof(int64_t)}};
    static const struct sql_record rec = RECORD(int64_t, cols);

    if (!user_id || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec, ret, ST_LOCKED_UNTIL, "t", user_id);
}

/* ---- project members and roles ---- */

static int sql_member_add_body(struct sql_conn *c, void *arg)
{
    const struct store_member *m = arg;
    const char *type = sql_principal_type(m->principal_type);
    int r;

    /* No foreign key can say "a user or an identity": look. */
    r = sql_int(c, NULL, streq(type, "user") ? ST_USER_EXISTS : ST_IDENTITY_EXISTS, "t",
                m->principal_id);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    r = sql_run(c, ST_MEMBER_INSERT, "ttttbi", m->project_id, type, m->principal_id, m->role,
                m->wrapped_key.ptr, m->wrapped_key.len, m->created_at);
    return r < 0 ? r : 0;
}

static int sql_member_add(struct store *s, const struct store_member *m)
{
    if (!m || !sql_principal_type(m->principal_type) || !sql_fits(m->role, sizeof(m->role)))
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_member_add_body, (void *)m);
}

static int sql_member_list(struct store *s, const char *project_id, struct store_member **ret,
                           size_t *ret_n)
{
    if (!project_id)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_member, (void **)ret, ret_n, ST_MEMBER_LIST, "t",
                    project_id);
}

struct member_change_tx {
    const char *project_id, *principal_id, *role; /* role NULL: remove */
};

/* The project's row lock orders concurrent changes of its members, so that
 * two admins demoting each other cannot both see the other one stay. */
static int sql_member_change_body(struct sql_conn *c, void *arg)
{
    const struct member_change_tx *a = arg;
    int r = sql_int(c, NULL, ST_PROJECT_LOCK_ALL, "t", a->project_id);

    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    if (!a->role || !streq(a->role, "admin")) {
        r = sql_int(c, NULL, ST_MEMBER_LAST_ADMIN, "tt", a->project_id, a->principal_id);
        if (r != 0)
            return r < 0 ? r : -EBUSY;
    }
    r = a->role ? sql_run(c, ST_MEMBER_SET_ROLE, "ttt", a->project_id, a->principal_id, a->role)
                : sql_run(c, ST_MEMBER_DELETE, "tt", a->project_id, a->principal_id);
    return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sql_member_remove(struct store *s, const char *project_id, const char *principal_id)
{
    struct member_change_tx a = {project_id, principal_id, NULL};

    if (!project_id || !principal_id)
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_member_change_body, &a);
}

static int sql_member_set_role(struct store *s, const char *project_id, const char *principal_id,
                               const char *role)
{
    struct member_change_tx a = {project_id, principal_id, role};

    if (!project_id || !principal_id || !sql_fits(role, SQL_ROLE_SIZE))
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_member_change_body, &a);
}

static int sql_role_create(struct store *s, const struct store_role *x)
{
    /* A custom slug is a member's role: it must fit store_member.role. */
    if (!x || !x->slug || !x->slug[0] || !x->name || !x->rules || strlen(x->slug) >= SQL_ROLE_SIZE)
        return -EINVAL;
    return sql_write1(s, false, ST_ROLE_INSERT, "ttttti", x->id, x->project_id, x->slug, x->name,
                      x->rules, x->created_at);
}

static int sql_role_get(struct store *s, const char *project_id, const char *slug,
                        struct store_role *ret)
{
    if (!project_id || !slug || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_role, ret, ST_ROLE_GET, "tt", project_id, slug);
}

static int sql_role_list(struct store *s, const char *project_id, struct store_role **ret,
                         size_t *ret_n)
{
    if (!project_id)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_role, (void **)ret, ret_n, ST_ROLE_LIST, "t", project_id);
}

struct role_update_tx {
    const char *project_id, *slug, *name, *rules, *old_rules;
};

static int sql_role_update_body(struct sql_conn *c, void *arg)
{
    const struct role_update_tx *a = arg;
    int r = sql_run(c, ST_ROLE_UPDATE, "ttttt", a->project_id, a->slug, a->name, a->rules,
                    a->old_rules);

    if (r != 0)
        return r < 0 ? r : 0;
    r = sql_int(c, NULL, ST_ROLE_GET, "tt", a->project_id, a->slug);
    return r < 0 ? r : r == 0 ? -ENOENT : -ESTALE;
}

static int sql_role_update(struct store *s, const char *project_id, const char *slug,
                           const char *name, const char *rules, const char *old_rules)
{
    struct role_update_tx a = {project_id, slug, name, rules, old_rules};

    if (!project_id || !slug || !old_rules || (!name && !rules))
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_role_update_body, &a);
}

struct key_pair {
    const char *a, *b;
};

static int sql_role_delete_body(struct sql_conn *c, void *arg)
{
    const struct key_pair *k = arg;
    int r;

    r = sql_int(c, NULL, ST_ROLE_GET, "tt", k->a, k->b);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    r = sql_int(c, NULL, ST_ROLE_IN_USE, "tt", k->a, k->b);
    if (r != 0)
        return r < 0 ? r : -EBUSY;
    r = sql_run(c, ST_ROLE_DELETE, "tt", k->a, k->b);
    return r < 0 ? r : 0;
}

static int sql_role_delete(struct store *s, const char *project_id, const char *slug)
{
    struct key_pair k = {project_id, slug};

    if (!project_id || !slug)
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_role_delete_body, &k);
}

struct project_id_row {
    char id[STORE_ID_LEN + 1];
};
static const struct sql_col project_id_cols[] = {
    COL(PK_TEXT, struct project_id_row, id),
};
static const struct sql_record rec_project_id = RECORD(struct project_id_row, project_id_cols);

struct org_member_remove_tx {
    const char *org_id, *user_id;
    struct project_id_row project; /* the one they are the last admin of */
};

static int sql_org_member_remove_body(struct sql_conn *c, void *arg)
{
    struct org_member_remove_tx *a = arg;
    int r;

    if ((r = sql_int(c, NULL, ST_ORG_LOCK, "t", a->org_id)) <= 0 ||
        (r = sql_int(c, NULL, ST_ORG_ROLE, "tt", a->org_id, a->user_id)) <= 0)
        return r < 0 ? r : -ENOENT;
    if ((r = sql_int(c, NULL, ST_ORG_LAST_ADMIN, "tt", a->org_id, a->user_id)) != 0)
        return r < 0 ? r : -EBUSY;
    if ((r = sql_run(c, ST_USER_LOCK_ORG_PROJECTS, "tt", a->org_id, a->user_id)) < 0 ||
        (r = sql_row(c, &rec_project_id, &a->project, ST_USER_LAST_PROJECT_ADMIN, "tt", a->org_id,
                     a->user_id)) != 0)
        return r < 0 ? r : -EMLINK;
    if ((r = sql_run(c, ST_USER_ORG_MEMBERSHIPS_DELETE, "tt", a->org_id, a->user_id)) < 0 ||
        (r = sql_run(c, ST_ORG_MEMBER_DELETE, "tt", a->org_id, a->user_id)) < 0 ||
        (r = sql_run(c, ST_USER_SESSIONS_DELETE, "t", a->user_id)) < 0 ||
        (r = sql_run(c, ST_USER_DELETE_ORPHAN, "t", a->user_id)) < 0)
        return r;
    return 0;
}

static int sql_org_member_remove(struct store *s, const char *org_id, const char *user_id,
                                 char ret_project[STORE_ID_LEN + 1])
{
    struct org_member_remove_tx a = {org_id, user_id, {""}};
    int r;

    if (!org_id || !user_id)
        return -EINVAL;
    r = sql_tx(s, SQL_TX_WRITE, sql_org_member_remove_body, &a);
    if (ret_project)
        memcpy(ret_project, r == -EMLINK ? a.project.id : "",
               r == -EMLINK ? sizeof(a.project.id) : 1);
    return r;
}

/* ---- machine identities ---- */

static bool sql_client_secret_valid(const struct store_client_secret *cs)
{
    return cs->encrypted_private_key.ptr && cs->encrypted_private_key.len &&
           strnlen(cs->prefix, sizeof(cs->prefix)) < sizeof(cs->prefix) && cs->num_uses >= 0 &&
           cs->num_uses_limit >= 0;
}

static int sql_insert_client_secret(struct sql_conn *c, const struct store_client_secret *cs,
                                    const char *identity_id)
{
    return sql_run(c, ST_CSECRET_INSERT, "ttbbttiiiii", cs->id, identity_id, cs->auth_hash,
                   (size_t)STORE_HASH_BYTES, cs->encrypted_private_key.ptr,
                   cs->encrypted_private_key.len, cs->prefix,
                   cs->description ? cs->description : "", cs->created_at, cs->expires_at,
                   cs->num_uses, cs->num_uses_limit, (int64_t)cs->revoked);
}

struct identity_tx {
    const struct store_identity *id;
    const struct store_client_secret *first;
};

static int sql_identity_create_body(struct sql_conn *c, void *arg)
{
    const struct identity_tx *a = arg;
    const struct store_identity *id = a->id;
    int r;

    r = sql_run(c, ST_IDENTITY_INSERT, "tttbtiiitti", id->id, id->org_id, id->name,
                id->public_key.ptr, id->public_key.len, id->client_id, id->access_token_ttl,
                id->access_token_max_ttl, id->access_token_num_uses_limit,
                id->trusted_ips ? id->trusted_ips : "", id->created_by, id->created_at);
    if (r >= 0 && a->first)
        r = sql_insert_client_secret(c, a->first, id->id);
    return r < 0 ? r : 0;
}

static int sql_identity_create(struct store *s, const struct store_identity *id,
                               const struct store_client_secret *first)
{
    struct identity_tx a = {id, first};

    if (!id || !id->name || !id->public_key.ptr || !id->public_key.len || !id->client_id[0] ||
        id->access_token_num_uses_limit < 0 || (first && !sql_client_secret_valid(first)))
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_identity_create_body, &a);
}

static int sql_identity_get(struct store *s, const char *id, struct store_identity *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_identity, ret, ST_IDENTITY_GET, "t", id);
}

static int sql_identity_get_by_client_id(struct store *s, const char *client_id,
                                         struct store_identity *ret)
{
    if (!client_id || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_identity, ret, ST_IDENTITY_BY_CLIENT_ID, "t", client_id);
}

static int sql_identity_list(struct store *s, const char *org_id, struct store_identity **ret,
                             size_t *ret_n)
{
    if (!org_id)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_identity, (void **)ret, ret_n, ST_IDENTITY_LIST, "t",
                    org_id);
}

static int sql_identity_delete_body(struct sql_conn *c, void *arg)
{
    const char *id = arg;
    int r = sql_run(c, ST_IDENTITY_LOCK_PROJECTS, "t", id);

    if (r >= 0)
        r = sql_int(c, NULL, ST_IDENTITY_LAST_ADMIN, "t", id);
    if (r != 0)
        return r < 0 ? r : -EBUSY;
    r = sql_run(c, ST_IDENTITY_DELETE, "t", id);

    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    r = sql_run(c, ST_IDENTITY_MEMBERS_DELETE, "t", id);
    return r < 0 ? r : 0;
}

static int sql_identity_delete(struct store *s, const char *id)
{
    if (!id)
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_identity_delete_body, (void *)id);
}

static int sql_client_secret_create_body(struct sql_conn *c, void *arg)
{
    const struct store_client_secret *cs = arg;
    int r = sql_insert_client_secret(c, cs, cs->identity_id);

    return r < 0 ? r : 0;
}

static int sql_client_secret_create(struct store *s, const struct store_client_secret *cs)
{
    if (!cs || !sql_client_secret_valid(cs))
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_client_secret_create_body, (void *)cs);
}

static int sql_client_secret_list(struct store *s, const char *identity_id,
                                  struct store_client_secret **ret, size_t *ret_n)
{
    if (!identity_id)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_client_secret, (void **)ret, ret_n, ST_CSECRET_LIST, "t",
                    identity_id);
}

/* change ($1 the key: id if not NULL, else hash; $2 arg).  If it matched no
 * row: -ENOENT when `exists` finds no row for the key either, else -EACCES
 * (the row is there but may not be used). */
struct refuse_tx {
    enum sql_stmt_id change, exists;
    const char *id;
    const uint8_t *hash;
    int64_t arg;
};

static int sql_change_or_refuse_body(struct sql_conn *c, void *arg)
{
    const struct refuse_tx *a = arg;
    int r;

    r = a->id ? sql_run(c, a->change, "ti", a->id, a->arg)
              : sql_run(c, a->change, "bi", a->hash, (size_t)STORE_HASH_BYTES, a->arg);
    if (r != 0)
        return r < 0 ? r : 0;
    r = a->id ? sql_int(c, NULL, a->exists, "t", a->id)
              : sql_int(c, NULL, a->exists, "b", a->hash, (size_t)STORE_HASH_BYTES);
    return r < 0 ? r : r > 0 ? -EACCES : -ENOENT;
}

static int sql_change_or_refuse(struct store *s, enum sql_stmt_id change, enum sql_stmt_id exists,
                                const char *id, const uint8_t *hash, int64_t arg)
{
    struct refuse_tx a = {change, exists, id, hash, arg};

    return sql_tx(s, SQL_TX_WRITE, sql_change_or_refuse_body, &a);
}

static int sql_client_secret_use(struct store *s, const char *id, int64_t now)
{
    if (!id)
        return -EINVAL;
    return sql_change_or_refuse(s, ST_CSECRET_USE, ST_CSECRET_EXISTS, id, NULL, now);
}

struct login_tx {
    struct refuse_tx use;
    const struct store_access_token *t;
    const struct store_audit_batch *audit;
};

static int sql_identity_login_body(struct sql_conn *c, void *arg)
{
    const struct login_tx *a = arg;
    const struct store_access_token *t = a->t;
    /* the token first: the use locks the client secret's row, which every
     * login with it waits for, until the commit */
    int r = sql_run(c, ST_ATOKEN_INSERT, "bttiiiiii", t->token_hash, (size_t)STORE_HASH_BYTES,
                    t->identity_id, t->client_secret_id, t->created_at, t->expires_at,
                    t->max_expires_at, t->num_uses, t->num_uses_limit, (int64_t)t->revoked);

    if (r >= 0)
        r = sql_change_or_refuse_body(c, (void *)&a->use);
    if (r >= 0 && a->audit)
        r = sql_audit_append_in(c, a->audit, NULL);
    return r < 0 ? r : 0;
}

static int sql_identity_login(struct store *s, const char *client_secret_id, int64_t now,
                              const struct store_access_token *t,
                              const struct store_audit_batch *audit)
{
    struct login_tx a = {
        {ST_CSECRET_USE, ST_CSECRET_EXISTS, client_secret_id, NULL, now}, t, audit};
    int r;

    if (!client_secret_id || !t || t->num_uses < 0 || t->num_uses_limit < 0 ||
        (audit && (!audit->chain || !sql_audit_valid(audit->recs, audit->n))))
        return -EINVAL;
    r = sql_tx(s, SQL_TX_WRITE, sql_identity_login_body, &a);
    for (size_t i = 0; r < 0 && audit && i < audit->n; i++)
        audit->recs[i].seq = 0; /* nothing was appended */
    return r;
}

static int sql_client_secret_revoke(struct store *s, const char *identity_id, const char *id)
{
    if (!identity_id || !id)
        return -EINVAL;
    return sql_write1(s, true, ST_CSECRET_REVOKE, "tt", identity_id, id);
}

static int sql_project_delete(struct store *s, const char *project_id)
{
    if (!project_id)
        return -EINVAL;
    return sql_write1(s, true, ST_PROJECT_DELETE, "t", project_id);
}

static int sql_project_rename(struct store *s, const char *project_id, const char *name)
{
    if (!project_id || !name || !*name)
        return -EINVAL;
    return sql_write1(s, true, ST_PROJECT_RENAME, "tt", name, project_id);
}

static int sql_project_set_server_key(struct store *s, const char *project_id, const uint8_t *key,
                                      size_t len)
{
    if (!project_id || (key && !len))
        return -EINVAL;
    return sql_write1(s, true, ST_PROJECT_SET_SERVER_KEY, "bt", key, len, project_id);
}

static int sql_access_token_create(struct store *s, const struct store_access_token *t)
{
    if (!t || t->num_uses < 0 || t->num_uses_limit < 0)
        return -EINVAL;
    return sql_write1(s, false, ST_ATOKEN_INSERT, "bttiiiiii", t->token_hash,
                      (size_t)STORE_HASH_BYTES, t->identity_id, t->client_secret_id, t->created_at,
                      t->expires_at, t->max_expires_at, t->num_uses, t->num_uses_limit,
                      (int64_t)t->revoked);
}

static int sql_access_token_get(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
                                struct store_access_token *ret)
{
    if (!hash || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_access_token, ret, ST_ATOKEN_GET, "b", hash,
                   (size_t)STORE_HASH_BYTES);
}

static int sql_access_token_use(struct store *s, const uint8_t hash[STORE_HASH_BYTES], int64_t now)
{
    if (!hash)
        return -EINVAL;
    return sql_change_or_refuse(s, ST_ATOKEN_USE, ST_ATOKEN_GET, NULL, hash, now);
}

static int sql_access_token_renew(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
                                  int64_t expires_at)
{
    if (!hash)
        return -EINVAL;
    return sql_change_or_refuse(s, ST_ATOKEN_RENEW, ST_ATOKEN_GET, NULL, hash, expires_at);
}

static int sql_access_token_revoke(struct store *s, const uint8_t hash[STORE_HASH_BYTES])
{
    if (!hash)
        return -EINVAL;
    return sql_write1(s, true, ST_ATOKEN_REVOKE, "b", hash, (size_t)STORE_HASH_BYTES);
}

/* ---- service tokens ---- */

static int sql_service_token_create(struct store *s, const struct store_service_token *t)
{
    if (!t || !t->name || !t->scopes || !t->wrapped_key.ptr || !t->wrapped_key.len)
        return -EINVAL;
    return sql_write1(s, false, ST_STOKEN_INSERT, "tttbtibtiii", t->id, t->project_id, t->name,
                      t->secret_hash, (size_t)STORE_HASH_BYTES, t->scopes, (int64_t)t->write,
                      t->wrapped_key.ptr, t->wrapped_key.len, t->created_by, t->created_at,
                      t->expires_at, (int64_t)t->revoked);
}

static int sql_service_token_get(struct store *s, const char *id, struct store_service_token *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_service_token, ret, ST_STOKEN_GET, "t", id);
}

static int sql_service_token_list(struct store *s, const char *project_id,
                                  struct store_service_token **ret, size_t *ret_n)
{
    if (!project_id)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_service_token, (void **)ret, ret_n, ST_STOKEN_LIST, "t",
                    project_id);
}

static int sql_service_token_revoke(struct store *s, const char *project_id, const char *id)
{
    if (!project_id || !id)
        return -EINVAL;
    return sql_write1(s, true, ST_STOKEN_REVOKE, "tt", project_id, id);
}

/* ---- share links ---- */

static const struct sql_col share_cols[] = {
    COL(PK_TEXT, struct store_share, id),           COL(PK_TEXT, struct store_share, org_id),
    COL(PK_TEXT, struct store_share, created_by),   COL(PK_BLOB, struct store_share, ciphertext),
    COL(PK_BOOL, struct store_share, has_password), COL(PK_HASH0, struct store_share, auth_hash),
    COL(PK_BLOB, struct store_share, kdf_salt),     COL(PK_I64, struct store_share, kdf_opslimit),
    COL(PK_I64, struct store_share, kdf_memlimit),  COL(PK_BOOL, struct store_share, org_only),
    COL(PK_I64, struct store_share, max_views),     COL(PK_I64, struct store_share, views),
    COL(PK_I64, struct store_share, created_at),    COL(PK_I64, struct store_share, expires_at),
    COL(PK_HASH, struct store_share, access_hash),
};
static const struct sql_record rec_share = RECORD(struct store_share, share_cols);

static const struct sql_col share_policy_cols[] = {
    COL(PK_I64, struct store_share_policy, max_ttl),
    COL(PK_BOOL, struct store_share_policy, allow_anonymous),
};
static const struct sql_record rec_share_policy =
    RECORD(struct store_share_policy, share_policy_cols);

static int sql_share_create(struct store *s, const struct store_share *sh)
{
    if (!sh || !sh->ciphertext.ptr || !sh->ciphertext.len || sh->max_views < 0 ||
        sh->kdf_opslimit > INT64_MAX || sh->kdf_memlimit > INT64_MAX ||
        (sh->has_password && !sh->kdf_salt.len))
        return -EINVAL;
    return sql_write1(
        s, false, ST_SHARE_INSERT, "tttbbbiiiiiiib", sh->id, sh->org_id, sh->created_by,
        sh->ciphertext.ptr, sh->ciphertext.len, sh->has_password ? sh->auth_hash : NULL,
        (size_t)STORE_HASH_BYTES, sh->has_password ? sh->kdf_salt.ptr : NULL, sh->kdf_salt.len,
        (int64_t)sh->kdf_opslimit, (int64_t)sh->kdf_memlimit, (int64_t)sh->org_only, sh->max_views,
        sh->views, sh->created_at, sh->expires_at, sh->access_hash, (size_t)STORE_HASH_BYTES);
}

static int sql_share_get(struct store *s, const char *id, int64_t now, struct store_share *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_share, ret, ST_SHARE_GET, "ti", id, now);
}

struct share_open_tx {
    const char *id;
    int64_t now;
    struct store_share *ret;
};

static int sql_share_open_body(struct sql_conn *c, void *arg)
{
    const struct share_open_tx *a = arg;
    _cleanup_(store_share_release) struct store_share x = {0};
    int r;

    /* The row lock of the UPDATE orders concurrent opens of one share. */
    r = sql_row(c, &rec_share, &x, ST_SHARE_VIEW, "ti", a->id, a->now);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    if (x.max_views && x.views >= x.max_views && (r = sql_run(c, ST_SHARE_DELETE, "t", a->id)) < 0)
        return r;
    store_share_release(a->ret);
    *a->ret = x;
    x = (struct store_share){0};
    return 0;
}

static int sql_share_open(struct store *s, const char *id, int64_t now, struct store_share *ret)
{
    _cleanup_(store_share_release) struct store_share x = {0};
    struct share_open_tx a = {id, now, &x};
    int r;

    if (!id || !ret)
        return -EINVAL;
    r = sql_tx(s, SQL_TX_WRITE, sql_share_open_body, &a);
    if (r < 0)
        return r;
    *ret = x;
    x = (struct store_share){0};
    return 0;
}

static int sql_share_list(struct store *s, const char *created_by, int64_t now,
                          struct store_share **ret, size_t *ret_n)
{
    if (!created_by)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_share, (void **)ret, ret_n, ST_SHARE_LIST, "ti",
                    created_by, now);
}

static int sql_share_delete(struct store *s, const char *id)
{
    if (!id)
        return -EINVAL;
    return sql_write1(s, true, ST_SHARE_DELETE, "t", id);
}

static int sql_share_purge(struct store *s, int64_t now, size_t max, struct store_share **ret,
                           size_t *ret_n)
{
    if (max > INT64_MAX)
        return -EINVAL;
    return sql_list(s, SQL_TX_WRITE, &rec_share, (void **)ret, ret_n, ST_SHARE_PURGE, "ii", now,
                    (int64_t)max);
}

static int sql_share_policy_get(struct store *s, const char *org_id, struct store_share_policy *ret)
{
    if (!org_id || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_share_policy, ret, ST_SHARE_POLICY_GET, "t", org_id);
}

static int sql_share_policy_set(struct store *s, const char *org_id,
                                const struct store_share_policy *p)
{
    if (!org_id || !p || p->max_ttl <= 0)
        return -EINVAL;
    return sql_write1(s, false, ST_SHARE_POLICY_SET, "tii", org_id, p->max_ttl,
                      (int64_t)p->allow_anonymous);
}

/* ---- project key rotation ---- */

struct versions_tx {
    const char *project_id;
    void **ret;
    size_t *ret_n;
};

static int sql_project_versions_body(struct sql_conn *c, void *arg)
{
    const struct versions_tx *a = arg;
    int r = sql_int(c, NULL, ST_PROJECT_EXISTS, "t", a->project_id);

    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    return sql_rows(c, &rec_version_ref, a->ret, a->ret_n, ST_PROJECT_VERSIONS, "t", a->project_id);
}

static int sql_project_versions(struct store *s, const char *project_id,
                                struct store_version_ref **ret, size_t *ret_n)
{
    struct versions_tx a = {project_id, (void **)ret, ret_n};

    if (!project_id || !ret || !ret_n)
        return -EINVAL;
    /* One snapshot: "no such project" and the list. */
    return sql_tx(s, SQL_TX_READ, sql_project_versions_body, &a);
}

static int sql_cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int sql_cmp_rekey_version_ptr(const void *a, const void *b)
{
    const struct store_rekey_version *x = *(const struct store_rekey_version *const *)a;
    const struct store_rekey_version *y = *(const struct store_rekey_version *const *)b;
    int d = strcmp(x->secret_id, y->secret_id);

    return d ? d : (x->version > y->version) - (x->version < y->version);
}

/* Sorts n pointers and says whether two are equal by cmp. */
static bool sql_has_twins(const void **v, size_t n, int (*cmp)(const void *, const void *))
{
    qsort(v, n, sizeof(*v), cmp);
    for (size_t i = 1; i < n; i++)
        if (cmp(&v[i - 1], &v[i]) == 0)
            return true;
    return false;
}

/* The arguments of project_rekey on their own: complete, and nothing twice
 * (with the counts checked against the database, that makes the sets equal). */
static int sql_rekey_check(const struct store_rekey_member *m, size_t n_m,
                           const struct store_rekey_version *v, size_t n_v)
{
    _cleanup_free_ const void **ids = NULL;
    _cleanup_free_ const void **vs = NULL;

    if ((n_m && !m) || (n_v && !v))
        return -EINVAL;
    ids = calloc(n_m ? n_m : 1, sizeof(*ids));
    vs = calloc(n_v ? n_v : 1, sizeof(*vs));
    if (!ids || !vs)
        return -ENOMEM;
    for (size_t i = 0; i < n_m; i++) {
        if (!m[i].principal_id || !m[i].wrapped_key || !m[i].wrapped_key_len)
            return -EINVAL;
        ids[i] = m[i].principal_id;
    }
    for (size_t i = 0; i < n_v; i++) {
        if (!v[i].secret_id || (v[i].value_len && !v[i].value) ||
            (v[i].comment_len && !v[i].comment))
            return -EINVAL;
        vs[i] = &v[i];
    }
    if (sql_has_twins(ids, n_m, sql_cmp_str_ptr) ||
        sql_has_twins(vs, n_v, sql_cmp_rekey_version_ptr))
        return -EINVAL;
    return 0;
}

struct rekey_tx {
    const char *project_id;
    const struct store_rekey_member *m;
    size_t n_m;
    const struct store_rekey_version *v;
    size_t n_v;
};

static int sql_project_rekey_body(struct sql_conn *c, void *arg)
{
    const struct rekey_tx *a = arg;
    int64_t count;
    int r;

    /* Waits for the project's writers and keeps out new members, tokens and
     * secrets until the new key is in. */
    r = sql_int(c, NULL, ST_PROJECT_LOCK_ALL, "t", a->project_id);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    if ((r = sql_int(c, &count, ST_MEMBER_COUNT, "t", a->project_id)) < 0)
        return r;
    if ((uint64_t)count != (uint64_t)a->n_m)
        return -EINVAL;
    if ((r = sql_int(c, &count, ST_VERSION_COUNT, "t", a->project_id)) < 0)
        return r;
    if ((uint64_t)count != (uint64_t)a->n_v)
        return -EINVAL;

    /* Each update must hit exactly one row of this project, else the sets
     * differ; returning rolls back what was already rewritten. */
    for (size_t i = 0; i < a->n_m; i++) {
        r = sql_run(c, ST_MEMBER_REKEY, "ttb", a->project_id, a->m[i].principal_id,
                    a->m[i].wrapped_key, a->m[i].wrapped_key_len);
        if (r != 1)
            return r < 0 ? r : -EINVAL;
    }
    for (size_t i = 0; i < a->n_v; i++) {
        const struct store_rekey_version *v = &a->v[i];
        r = sql_run(c, ST_VERSION_REKEY, "tibbt", v->secret_id, v->version,
                    v->value_len ? v->value : NULL, v->value_len,
                    v->comment_len ? v->comment : NULL, v->comment_len, a->project_id);
        if (r != 1)
            return r < 0 ? r : -EINVAL;
    }
    if ((r = sql_run(c, ST_SECRETS_REKEY_CURRENT, "t", a->project_id)) < 0 ||
        (r = sql_run(c, ST_STOKEN_REVOKE_PROJECT, "t", a->project_id)) < 0 ||
        (r = sql_run(c, ST_PROJECT_SET_SERVER_KEY, "bt", NULL, (size_t)0, a->project_id)) < 0)
        return r;
    return 0;
}

static int sql_project_rekey(struct store *s, const char *project_id,
                             const struct store_rekey_member *m, size_t n_m,
                             const struct store_rekey_version *v, size_t n_v)
{
    struct rekey_tx a = {project_id, m, n_m, v, n_v};
    int r;

    if (!project_id)
        return -EINVAL;
    r = sql_rekey_check(m, n_m, v, n_v);
    if (r < 0)
        return r;
    return sql_tx(s, SQL_TX_WRITE, sql_project_rekey_body, &a);
}

struct identity_rekey_tx {
    const char *identity_id;
    const uint8_t *public_key;
    size_t public_key_len;
    const struct store_rekey_membership *m;
    size_t n;
    const struct store_client_secret *cs;
};

static int sql_identity_rekey_body(struct sql_conn *c, void *arg)
{
    const struct identity_rekey_tx *a = arg;
    int64_t count;
    int r;

    r = sql_run(c, ST_IDENTITY_SET_KEY, "tb", a->identity_id, a->public_key, a->public_key_len);
    if (r != 1)
        return r < 0 ? r : -ENOENT;
    if ((r = sql_int(c, &count, ST_IDENTITY_MEMBER_COUNT, "t", a->identity_id)) < 0)
        return r;
    if ((uint64_t)count != (uint64_t)a->n)
        return -EINVAL;
    /* each update must hit one row, else the sets differ (returning rolls back) */
    for (size_t i = 0; i < a->n; i++) {
        r = sql_run(c, ST_MEMBER_REKEY, "ttb", a->m[i].project_id, a->identity_id,
                    a->m[i].wrapped_key, a->m[i].wrapped_key_len);
        if (r != 1)
            return r < 0 ? r : -EINVAL;
    }
    if ((r = sql_run(c, ST_CSECRET_REVOKE_ALL, "t", a->identity_id)) < 0 ||
        (r = sql_insert_client_secret(c, a->cs, a->identity_id)) < 0)
        return r;
    return 0;
}

static int sql_identity_rekey(struct store *s, const char *identity_id, const uint8_t *public_key,
                              size_t public_key_len, const struct store_rekey_membership *m,
                              size_t n, const struct store_client_secret *cs)
{
    struct identity_rekey_tx a = {identity_id, public_key, public_key_len, m, n, cs};
    int r = store_identity_rekey_check(identity_id, public_key, public_key_len, m, n);

    if (r < 0 || !cs || !sql_client_secret_valid(cs) || !streq(cs->identity_id, identity_id))
        return r < 0 ? r : -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_identity_rekey_body, &a);
}

/* ---- history ---- */

static int sql_secrets_at(struct store *s, const char *env_id, const char *path, int64_t t,
                          struct store_secret_at **ret, size_t *ret_n)
{
    if (!env_id || !path)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_secret_at, (void **)ret, ret_n, ST_SECRETS_AT, "tti",
                    env_id, path, t);
}

/* ---- audit log ---- */

struct audit_tx {
    struct store_audit *recs;
    size_t n;
    store_audit_chain_fn chain;
    void *ctx;
    bool check_generation; /* audit_append: refuse after a rotation (store.h) */
};

/* The insert of n rows, for every n <= SQL_AUDIT_ROWS, made once: printing
 * its placeholders per batch was 3% of a durable read's CPU. */
static char *audit_insert_sql[SQL_AUDIT_ROWS];
static pthread_once_t audit_insert_once = PTHREAD_ONCE_INIT;

static void audit_insert_sql_init(void)
{
    _cleanup_buf_ struct buf sql = BUF_INIT;
    int r = buf_adds(&sql, "INSERT INTO audit_log (" AUDIT_COLS ") VALUES ");

    for (int i = 0; i < SQL_AUDIT_ROWS && r >= 0; i++) {
        for (int k = 0; k < SQL_AUDIT_NCOLS && r >= 0; k++)
            r = buf_printf(&sql, "%s$%d%s", k == 0 ? (i ? ", (" : "(") : "",
                           i * SQL_AUDIT_NCOLS + k + 1, k == SQL_AUDIT_NCOLS - 1 ? ")" : ", ");
        if (r >= 0)
            audit_insert_sql[i] = strdup(buf_str(&sql)); /* NULL: -ENOMEM below */
    }
}

/* Inserts n <= SQL_AUDIT_ROWS chained records with one statement. */
static int sql_audit_insert(struct sql_conn *c, const struct store_audit *recs, size_t n)
{
    static const char row_fmt[] = "iitttttttttttttbb";
    char fmt[SQL_AUDIT_ROWS * SQL_AUDIT_NCOLS + 1] = "";
    struct sql_params p = {.fmt = fmt};
    int r = 0;

    _Static_assert(sizeof(row_fmt) - 1 == SQL_AUDIT_NCOLS, "one letter per column");
    for (size_t i = 0; i < n && r >= 0; i++) {
        const struct store_audit *x = &recs[i];
        const char *t[] = {x->actor_type, x->actor_id,    x->actor_name, x->event, x->org_id,
                           x->project_id, x->environment, x->path,       x->key,   x->ip,
                           x->user_agent, x->outcome,     x->metadata};

        strcat(fmt, row_fmt);
        r = sql_bind_one(&p, 'i', NULL, 0, x->seq);
        if (r >= 0)
            r = sql_bind_one(&p, 'i', NULL, 0, x->time);
        for (size_t k = 0; k < ELEMENTSOF(t) && r >= 0; k++)
            r = sql_bind_one(&p, 't', t[k], t[k] ? strlen(t[k]) : 0, 0);
        if (r >= 0)
            r = sql_bind_one(&p, 'b', x->prev_hash, STORE_HASH_BYTES, 0);
        if (r >= 0)
            r = sql_bind_one(&p, 'b', x->hash, STORE_HASH_BYTES, 0);
    }
    if (r < 0)
        return r;
    pthread_once(&audit_insert_once, audit_insert_sql_init);
    if (!audit_insert_sql[n - 1])
        return -ENOMEM;
    struct sql_stmt st = {ST__MAX + AQ__SHAPES + (unsigned)n - 1, "insert audit records",
                          audit_insert_sql[n - 1]};
    c->defer = true; /* answered with COMMIT (sql_defer) */
    r = c->store->drv->exec(c, &st, &p, NULL, NULL);
    c->defer = false;
    return r < 0 ? r : 0;
}

/* ST_AUDIT_HEAD's row into a struct audit_head (zeroed). */
static int sql_audit_head_row(struct sql_conn *c, void *ctx, const struct store_value *cols,
                              size_t n)
{
    return sql_read_record(c, &rec_audit_head, cols, n, ctx);
}

/* One chain for every server on the database: appenders take turns, each
 * extending the head the previous one committed.  Takes the chain's lock
 * (until the transaction ends) and reads its head into *head; deferred
 * (sql_defer), *head is filled once a later statement has had its answer. */
static int sql_audit_lock_head(struct sql_conn *c, struct audit_head *head, bool defer)
{
    struct sql_params p = {.fmt = ""};
    int r;

    if ((r = sql_lock(c, SQL_LOCK_AUDIT)) < 0)
        return r;
    if (defer)
        return sql_deferp(c, ST_AUDIT_HEAD, &p, sql_audit_head_row, head);
    r = sql_execp(c, ST_AUDIT_HEAD, &p, sql_audit_head_row, head);
    return r < 0 ? r : r == 1 ? 0 : -EIO;
}

/* Chains a's records after head (read under the chain's lock, with the key of
 * the root key generation that is the newest: rotations take the lock) and
 * inserts them. */
static int sql_audit_extend(struct sql_conn *c, const struct audit_tx *a, struct audit_head head)
{
    int64_t want = c->store->base.root_generation;
    int r;

    if (want && a->check_generation && head.generation != want) {
        sql_set_err(c->store,
                    "the root key was rotated (generation %lld): restart with the new key",
                    (long long)head.generation);
        return -EKEYREJECTED;
    }
    for (size_t i = 0; i < a->n; i++) {
        struct store_audit *x = &a->recs[i];

        x->seq = ++head.seq;
        /* time never goes back along seq: a time range is a seq range (audit_query) */
        if (x->time < head.time)
            x->time = head.time;
        head.time = x->time;
        memcpy(x->prev_hash, head.hash, sizeof(head.hash));
        a->chain(a->ctx, head.hash, x);
        memcpy(head.hash, x->hash, sizeof(head.hash));
    }
    for (size_t i = 0; i < a->n; i += SQL_AUDIT_ROWS)
        if ((r = sql_audit_insert(c, &a->recs[i],
                                  a->n - i < SQL_AUDIT_ROWS ? a->n - i : SQL_AUDIT_ROWS)) < 0)
            return r;
    return 0;
}

static int sql_audit_append_body(struct sql_conn *c, void *arg)
{
    struct audit_head head = {0};
    int r = sql_audit_lock_head(c, &head, false);

    return r < 0 ? r : sql_audit_extend(c, arg, head);
}

/* A write call's records (store_audit_batch), in its transaction: after head
 * when the caller took the chain's lock and read it, else after the head read
 * now. */
static int sql_audit_append_in(struct sql_conn *c, const struct store_audit_batch *b,
                               const struct audit_head *head)
{
    struct audit_tx a = {b->recs, b->n, b->chain, b->ctx, true};

    if (b->n == 0)
        return 0;
    if (b->fill)
        b->fill(b->fill_ctx, b->recs, b->n);
    for (size_t i = 0; i < b->n; i++) /* fill may have set them */
        if (!b->recs[i].event || !b->recs[i].event[0])
            return -EINVAL;
    return head ? sql_audit_extend(c, &a, *head) : sql_audit_append_body(c, &a);
}

/* The event may be left to a batch's fill: checked again then. */
static bool sql_audit_valid(const struct store_audit *recs, size_t n)
{
    if (n && !recs)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!sql_fits(recs[i].actor_type, sizeof(recs[i].actor_type)))
            return false;
    return true;
}

static int sql_audit_append(struct store *s, struct store_audit *recs, size_t n,
                            store_audit_chain_fn chain, void *ctx)
{
    struct audit_tx a = {recs, n, chain, ctx, true};
    int r;

    if (!chain || !sql_audit_valid(recs, n))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!recs[i].event || !recs[i].event[0])
            return -EINVAL;
    if (n == 0)
        return 0;
    r = sql_tx(s, SQL_TX_WRITE, sql_audit_append_body, &a);
    if (r < 0)
        for (size_t i = 0; i < n; i++)
            recs[i].seq = 0; /* nothing was appended */
    return r;
}

/* ---- the root key (migration 0008) ---- */

static const struct sql_col root_key_cols[] = {
    COL(PK_I64, struct store_root_key, generation), COL(PK_HASH, struct store_root_key, check),
    COL(PK_BLOB, struct store_root_key, audit_key), COL(PK_I64, struct store_root_key, first_seq),
    COL(PK_I64, struct store_root_key, created_at),
};
static const struct sql_record rec_root_key = RECORD(struct store_root_key, root_key_cols);

struct server_key {
    char id[STORE_ID_LEN + 1];
    struct store_blob key;
};
static const struct sql_col server_key_cols[] = {
    COL(PK_TEXT, struct server_key, id),
    COL(PK_BLOB, struct server_key, key),
};
static const struct sql_record rec_server_key = RECORD(struct server_key, server_key_cols);

static int sql_root_keys(struct store *s, struct store_root_key **ret, size_t *ret_n)
{
    return sql_list(s, SQL_TX_NONE, &rec_root_key, (void **)ret, ret_n, ST_ROOT_KEYS_LIST, "");
}

static int sql_root_key_insert(struct sql_conn *c, const struct store_root_key *k)
{
    return sql_run(c, ST_ROOT_KEY_INSERT, "ibbii", k->generation, k->check,
                   (size_t)STORE_HASH_BYTES, k->audit_key.ptr, k->audit_key.len, k->first_seq,
                   k->created_at);
}

/* Under the audit lock: the generation changes only between two appends. */
static int sql_root_key_init_body(struct sql_conn *c, void *arg)
{
    int64_t newest;
    int r;

    if ((r = sql_lock(c, SQL_LOCK_AUDIT)) < 0 ||
        (r = sql_int(c, &newest, ST_ROOT_KEY_NEWEST, "")) < 0)
        return r;
    if (newest)
        return -EEXIST;
    r = sql_root_key_insert(c, arg);
    return r < 0 ? r : 0;
}

static int sql_root_key_init(struct store *s, const struct store_root_key *k)
{
    if (!k || k->generation != 1 || !k->audit_key.len)
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_root_key_init_body, (void *)k);
}

struct rotate_tx {
    struct store_root_key *k;
    struct audit_tx link;
    store_rewrap_fn rewrap;
    void *ctx;
};

static int sql_rewrap(struct sql_conn *c, struct rotate_tx *a, const char *what, const char *id,
                      const struct store_blob *old, enum sql_stmt_id set, const char *fmt,
                      int64_t gen)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    int r = a->rewrap(a->ctx, what, id, old, &out);

    if (r < 0)
        return r;
    r = *fmt == 'i' ? sql_run(c, set, fmt, gen, out.ptr, out.len)
                    : sql_run(c, set, fmt, out.ptr, out.len, id);
    return r < 0 ? r : 0;
}

static int sql_root_key_rotate_body(struct sql_conn *c, void *arg)
{
    struct rotate_tx *a = arg;
    struct store_root_key *keys = NULL;
    struct server_key *projects = NULL;
    size_t n_keys = 0, n_projects = 0;
    int64_t newest;
    char gen[24];
    int r;

    /* the audit lock first: sql_audit_append_body takes it again (a no-op) */
    if ((r = sql_lock(c, SQL_LOCK_AUDIT)) < 0 ||
        (r = sql_int(c, &newest, ST_ROOT_KEY_NEWEST, "")) < 0)
        return r;
    if (newest == 0 || a->k->generation != newest + 1)
        return -ESTALE;
    if ((r = sql_rows(c, &rec_root_key, (void **)&keys, &n_keys, ST_ROOT_KEYS_LIST, "")) < 0)
        return r;
    r = sql_rows(c, &rec_server_key, (void **)&projects, &n_projects, ST_SERVER_KEYS_LIST, "");
    if (r >= 0)
        r = sql_audit_append_body(c, &a->link);
    for (size_t i = 0; i < n_keys && r >= 0; i++) {
        snprintf(gen, sizeof(gen), "%lld", (long long)keys[i].generation);
        r = sql_rewrap(c, a, "audit", gen, &keys[i].audit_key, ST_ROOT_KEY_SET_AUDIT, "ib",
                       keys[i].generation);
    }
    for (size_t i = 0; i < n_projects && r >= 0; i++)
        r = sql_rewrap(c, a, "project", projects[i].id, &projects[i].key, ST_PROJECT_SET_SERVER_KEY,
                       "bt", 0);
    a->k->first_seq = a->link.recs[0].seq + 1;
    if (r >= 0)
        r = sql_root_key_insert(c, a->k);
    store_root_keys_free(keys, n_keys);
    for (size_t i = 0; i < n_projects; i++)
        store_blob_release(&projects[i].key);
    free(projects);
    return r < 0 ? r : 0;
}

static int sql_root_key_rotate(struct store *s, struct store_root_key *k, struct store_audit *link,
                               store_audit_chain_fn chain, void *ctx, store_rewrap_fn rewrap,
                               void *rewrap_ctx)
{
    struct rotate_tx a = {k, {link, 1, chain, ctx, false}, rewrap, rewrap_ctx};
    int r;

    if (!k || !link || !chain || !rewrap || !k->audit_key.len || !link->event || !link->event[0])
        return -EINVAL;
    r = sql_tx(s, SQL_TX_WRITE, sql_root_key_rotate_body, &a);
    if (r < 0)
        link->seq = 0;
    return r;
}

struct audit_query_tx {
    unsigned shape;
    bool pg;
    const char *sql;
    struct sql_params p;
    int since_at[2], until_at[2]; /* the parameters of the seq bounds of since and until
                                   * (one per branch of an actor query), or -1 */
    int64_t since, until;
    void **ret;
    size_t *ret_n;
};

struct audit_at {
    int64_t seq, time;
};
static const struct sql_col audit_at_cols[] = {
    COL(PK_I64, struct audit_at, seq),
    COL(PK_I64, struct audit_at, time),
};
static const struct sql_record rec_audit_at = RECORD(struct audit_at, audit_at_cols);

/* The first seq in [lo, hi) whose record's time is t or later (hi if none):
 * time never goes back along seq (sql_audit_append_body), so a bisection on
 * the primary key finds it, and a time range needs no index of its own. */
static int sql_audit_seq_at(struct sql_conn *c, int64_t lo, int64_t hi, int64_t t, int64_t *ret)
{
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        struct audit_at x = {0};
        int r = sql_row(c, &rec_audit_at, &x, ST_AUDIT_TIME_AT, "i", mid);

        if (r < 0)
            return r;
        if (r > 0 && x.time < t)
            lo = x.seq + 1;
        else
            hi = mid;
    }
    *ret = lo;
    return 0;
}

static int sql_audit_query_body(struct sql_conn *c, void *arg)
{
    struct audit_query_tx *a = arg;
    struct sql_stmt st = {ST__MAX + a->shape, "query audit log", a->sql};
    struct sql_rows x = {.rec = &rec_audit};
    struct audit_at seqs = {0}; /* min and max */
    int r = 0;

    if (a->since_at[0] >= 0 || a->until_at[0] >= 0)
        r = sql_row(c, &rec_audit_at, &seqs, ST_AUDIT_SEQS, "");
    if (r >= 0 && a->since_at[0] >= 0)
        r = sql_audit_seq_at(c, seqs.seq, seqs.time + 1, a->since, &a->p.v[a->since_at[0]].i);
    if (r >= 0 && a->until_at[0] >= 0)
        r = sql_audit_seq_at(c, seqs.seq, seqs.time + 1, a->until, &a->p.v[a->until_at[0]].i);
    if (r < 0)
        return r;
    if (a->since_at[1] >= 0) /* the actor's second branch: the same bounds */
        a->p.v[a->since_at[1]].i = a->p.v[a->since_at[0]].i;
    if (a->until_at[1] >= 0)
        a->p.v[a->until_at[1]].i = a->p.v[a->until_at[0]].i;
    r = c->store->drv->exec(c, &st, &a->p, sql_collect_row, &x);

    if (r < 0) {
        sql_rows_release(&x);
        return r;
    }
    *a->ret = x.v;
    *a->ret_n = x.n;
    return 0;
}
/* Appends a fragment, its '?' numbered as the next parameters, and binds
 * them: text t (kind 't') or the bigint v ('i'). */
static int sql_audit_filter(struct buf *sql, struct sql_params *p, char *fmt, const char *frag,
                            char kind, const char *t, int64_t v)
{
    int r = 0;

    for (const char *f = frag; *f && r >= 0; f++) {
        if (*f != '?') {
            r = buf_addch(sql, *f);
            continue;
        }
        fmt[p->n] = kind;
        fmt[p->n + 1] = 0;
        r = sql_bind_one(p, kind, t, t ? strlen(t) : 0, v);
        if (r >= 0)
            r = buf_printf(sql, "$%d", p->n);
    }
    return r;
}

/* An indexed column of audit_log equal to ?.  SQLite's project index holds
 * the value's first 8 characters (migration 0010), compared first, then the
 * whole value (as an expression: SQLite's planner would take a plain column =
 * ? for a selective term of its own and scan the primary key instead);
 * PostgreSQL's, and the actor indexes on both, hold the whole value
 * (AUDIT_BY_WHOLE). */
#define AUDIT_BY(pg, col)                                                                          \
    ((pg) ? "(" col " = ?)" : "(substr(" col ", 1, 8) = substr(?, 1, 8) AND " col " || '' = ?)")
#define AUDIT_BY_WHOLE(col) "(" col " = ?)"

/* One SELECT of audit_query: q's filters, the actor's one column (branch 1:
 * actor_id; 2: actor_name, of another actor_id; 0: no actor filter), in seq
 * order, limited. */
static int sql_audit_branch(struct buf *sql, struct audit_query_tx *a, char *fmt,
                            const struct store_audit_query *q, const char *event_end, int branch,
                            int64_t limit)
{
    bool pg = a->pg;
    const struct {
        bool on;
        unsigned bit;
        const char *frag;
        char kind;
        const char *t;
        int64_t v;
    } filters[] = {
        {true, 0, "SELECT " AUDIT_COLS " FROM audit_log WHERE seq > ?", 'i', NULL, q->after_seq},
        {q->org_id, AQ_ORG, " AND org_id IN (?, '')", 't', q->org_id, 0}, /* and server-level */
        {q->project_id, AQ_PROJECT, " AND ", 0, NULL, 0},
        {q->project_id, 0, AUDIT_BY(pg, "project_id"), 't', q->project_id, 0},
        {branch == 1, AQ_ACTOR, " AND " AUDIT_BY_WHOLE("actor_id"), 't', q->actor_id, 0},
        {branch == 2, 0, " AND " AUDIT_BY_WHOLE("actor_name") " AND actor_id <> ?", 't',
         q->actor_id, 0},
        {q->event && !event_end, AQ_EVENT, " AND event = ?", 't', q->event, 0},
        {event_end, AQ_EVENT_PREFIX, " AND event >= ?", 't', q->event, 0},
        {event_end, 0, " AND event < ?", 't', event_end, 0},
        {q->since, AQ_SINCE, " AND seq >= ?", 'i', NULL, 0}, /* set in the body */
        {q->since, 0, " AND time >= ?", 'i', NULL, q->since},
        {q->until, AQ_UNTIL, " AND seq < ?", 'i', NULL, 0},
        {q->until, 0, " AND time < ?", 'i', NULL, q->until},
        {q->newest_first, AQ_DESC, " ORDER BY seq DESC", 0, NULL, 0},
        {!q->newest_first, 0, " ORDER BY seq", 0, NULL, 0},
        {true, 0, " LIMIT ?", 'i', NULL, limit},
    };
    int slot = branch == 2 ? 1 : 0;

    for (size_t i = 0; i < ELEMENTSOF(filters); i++) {
        int r;

        if (!filters[i].on)
            continue;
        a->shape |= filters[i].bit;
        r = sql_audit_filter(sql, &a->p, fmt, filters[i].frag, filters[i].kind, filters[i].t,
                             filters[i].v);
        if (r < 0)
            return r;
        if (filters[i].bit == AQ_SINCE)
            a->since_at[slot] = a->p.n - 1;
        if (filters[i].bit == AQ_UNTIL)
            a->until_at[slot] = a->p.n - 1;
    }
    return 0;
}

static int sql_audit_query(struct store *s, const struct store_audit_query *q,
                           struct store_audit **ret, size_t *ret_n)
{
    _cleanup_buf_ struct buf sql = BUF_INIT;
    _cleanup_free_ char *event_end = NULL;
    struct audit_query_tx a = {.since_at = {-1, -1},
                               .until_at = {-1, -1},
                               .ret = (void **)ret,
                               .ret_n = ret_n,
                               .pg = sql_drv(s)->dialect == SQL_PG};
    char fmt[SQL_MAX_PARAMS + 1] = "";
    int64_t limit;
    int r;

    if (!q || !ret || !ret_n)
        return -EINVAL;
    limit = q->limit == 0 || q->limit > SQL_AUDIT_MAX_ROWS ? SQL_AUDIT_MAX_ROWS : (int64_t)q->limit;
    if (q->event) {
        size_t len = strlen(q->event);
        if (len > 0 && q->event[len - 1] == '.') {
            /* "secret." matches [ "secret.", "secret/" ): '/' follows '.' */
            event_end = strdup(q->event);
            if (!event_end)
                return -ENOMEM;
            event_end[len - 1] = '/';
        }
    }
    a.p.fmt = fmt;
    a.p.n = 0;
    if (!q->actor_id)
        r = sql_audit_branch(&sql, &a, fmt, q, event_end, 0, limit);
    else {
        /* An actor is its id or its name: one index each.  As an OR of the
         * two the databases collect every record of the actor and sort them
         * (482 ms for 50,000 of 50 million); as two walks down the indexes,
         * each stopping at the limit, merged, the newest page takes a few. */
        r = buf_adds(&sql, "SELECT * FROM (SELECT * FROM (");
        if (r >= 0)
            r = sql_audit_branch(&sql, &a, fmt, q, event_end, 1, limit);
        if (r >= 0)
            r = buf_adds(&sql, ") AS by_id UNION ALL SELECT * FROM (");
        if (r >= 0)
            r = sql_audit_branch(&sql, &a, fmt, q, event_end, 2, limit);
        if (r >= 0)
            r = buf_adds(&sql, q->newest_first ? ") AS by_name) AS merged ORDER BY seq DESC"
                                               : ") AS by_name) AS merged ORDER BY seq");
        if (r >= 0)
            r = sql_audit_filter(&sql, &a.p, fmt, " LIMIT ?", 'i', NULL, limit);
    }
    if (r < 0)
        return r;
    a.since = q->since;
    a.until = q->until;
    a.sql = buf_str(&sql);
    /* the seq bounds and the rows from one snapshot */
    return sql_tx(s, q->since || q->until ? SQL_TX_READ : SQL_TX_NONE, sql_audit_query_body, &a);
}

/* ---- environments ---- */

struct env_tx {
    const struct store_env *e;
    size_t max;
    const char *project_id, *env_id, *slug, *name;
    int position;
    bool purge;                /* env_delete */
    struct store_env_counts n; /* env_delete: what it held */
};

/* Environment changes take the project's writer lock: they wait for its
 * secret writers (a slug or a delete depends on what secrets exist) and for
 * each other (counts and positions). */
static int sql_lock_project(struct sql_conn *c, const char *project_id)
{
    int r = sql_int(c, NULL, ST_PROJECT_LOCK_WRITERS, "t", project_id);

    return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sql_env_create_body(struct sql_conn *c, void *arg)
{
    const struct env_tx *a = arg;
    const struct store_env *e = a->e;
    int64_t n = 0;
    int r;

    if ((r = sql_lock_project(c, e->project_id)) < 0 ||
        (r = sql_int(c, &n, ST_ENV_COUNT, "t", e->project_id)) < 0)
        return r;
    if ((size_t)n >= a->max)
        return -E2BIG;
    if ((r = sql_run(c, ST_ENV_SHIFT, "tit", e->project_id, (int64_t)e->position, e->id)) < 0 ||
        (r = sql_run(c, ST_ENV_INSERT, "tttti", e->id, e->project_id, e->slug, e->name,
                     (int64_t)e->position)) < 0)
        return r;
    return 0;
}

static int sql_env_create(struct store *s, const struct store_env *e, size_t max)
{
    struct env_tx a = {.e = e, .max = max};

    if (!e || !e->slug || !e->name)
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_env_create_body, &a);
}

static int sql_env_update_body(struct sql_conn *c, void *arg)
{
    const struct env_tx *a = arg;
    int64_t bound = 0;
    int r;

    if ((r = sql_lock_project(c, a->project_id)) < 0)
        return r;
    if (a->slug && (r = sql_int(c, &bound, ST_ENV_RESLUG_BLOCKED, "ttt", a->project_id, a->env_id,
                                a->slug)) < 0)
        return r;
    if (bound > 0)
        return -EBUSY;
    if (a->position > 0 &&
        (r = sql_run(c, ST_ENV_SHIFT, "tit", a->project_id, (int64_t)a->position, a->env_id)) < 0)
        return r;
    r = sql_run(c, ST_ENV_UPDATE, "tttti", a->project_id, a->env_id, a->slug, a->name,
                (int64_t)a->position);
    return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sql_env_update(struct store *s, const char *project_id, const char *env_id,
                          const char *slug, const char *name, int position)
{
    struct env_tx a = {.project_id = project_id,
                       .env_id = env_id,
                       .slug = slug,
                       .name = name,
                       .position = position};

    if (!project_id || !env_id)
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_env_update_body, &a);
}

static const struct sql_col env_counts_cols[] = {
    COL(PK_I64, struct store_env_counts, live),
    COL(PK_I64, struct store_env_counts, total),
    COL(PK_I64, struct store_env_counts, versions),
};
static const struct sql_record rec_env_counts = RECORD(struct store_env_counts, env_counts_cols);

/* The secrets, folders and imports of the environment go with it (ON DELETE
 * CASCADE), versions with their secrets. */
static int sql_env_delete_body(struct sql_conn *c, void *arg)
{
    struct env_tx *a = arg;
    struct store_env_counts n = {0};
    int r;

    if ((r = sql_lock_project(c, a->project_id)) < 0 ||
        (r = sql_row(c, &rec_env_counts, &n, ST_ENV_SECRET_COUNTS, "tt", a->project_id,
                     a->env_id)) < 0)
        return r;
    a->n = n;
    if (n.total > 0 && !a->purge)
        return -EBUSY;
    r = sql_run(c, ST_ENV_DELETE, "tt", a->project_id, a->env_id);
    return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sql_env_delete(struct store *s, const char *project_id, const char *env_id, bool purge,
                          struct store_env_counts *ret)
{
    struct env_tx a = {.project_id = project_id, .env_id = env_id, .purge = purge};
    int r;

    if (!project_id || !env_id)
        return -EINVAL;
    r = sql_tx(s, SQL_TX_WRITE, sql_env_delete_body, &a);
    if (ret && (r == 0 || r == -EBUSY))
        *ret = a.n;
    return r;
}

static int sql_env_counts(struct store *s, const char *project_id, const char *env_id,
                          struct store_env_counts *ret)
{
    if (!project_id || !env_id || !ret)
        return -EINVAL;
    *ret = (struct store_env_counts){0};
    return sql_get(s, SQL_TX_NONE, &rec_env_counts, ret, ST_ENV_SECRET_COUNTS, "tt", project_id,
                   env_id);
}

/* ---- folders and imports (migration 0005) ---- */

static const struct sql_col folder_cols[] = {
    COL(PK_TEXT, struct store_folder, id),        COL(PK_TEXT, struct store_folder, project_id),
    COL(PK_TEXT, struct store_folder, env_id),    COL(PK_STR, struct store_folder, path),
    COL(PK_I64, struct store_folder, created_at),
};
static const struct sql_record rec_folder = RECORD(struct store_folder, folder_cols);

static const struct sql_col import_cols[] = {
    COL(PK_TEXT, struct store_import, id),
    COL(PK_TEXT, struct store_import, project_id),
    COL(PK_TEXT, struct store_import, env_id),
    COL(PK_STR, struct store_import, path),
    COL(PK_TEXT, struct store_import, import_env_id),
    COL(PK_STR, struct store_import, import_path),
    COL(PK_I64, struct store_import, position),
    COL(PK_I64, struct store_import, created_at),
    COL(PK_TEXT, struct store_import, created_by),
};
static const struct sql_record rec_import = RECORD(struct store_import, import_cols);

/* ---- the records' destructors (store.h) ----
 * A record owns what its table reads into it (PK_STR*, PK_BLOB), so the table
 * is its destructor too: a column added to a table is freed without a word
 * more.  store.c has the others (a project's environments, the audit record,
 * the array destructors). */
#define SQL_RELEASE(fn, type, rec)                                                                 \
    void fn(type *x)                                                                               \
    {                                                                                              \
        if (x)                                                                                     \
            sql_record_release(&rec, x);                                                           \
    }
SQL_RELEASE(store_user_release, struct store_user, rec_user)
SQL_RELEASE(store_env_release, struct store_env, rec_env)
SQL_RELEASE(store_member_release, struct store_member, rec_member)
SQL_RELEASE(store_secret_release, struct store_secret, rec_secret)
SQL_RELEASE(store_invite_release, struct store_invite, rec_invite)
SQL_RELEASE(store_org_member_release, struct store_org_member, rec_org_member)
SQL_RELEASE(store_role_release, struct store_role, rec_role)
SQL_RELEASE(store_identity_release, struct store_identity, rec_identity)
SQL_RELEASE(store_client_secret_release, struct store_client_secret, rec_client_secret)
SQL_RELEASE(store_service_token_release, struct store_service_token, rec_service_token)
SQL_RELEASE(store_folder_release, struct store_folder, rec_folder)
SQL_RELEASE(store_import_release, struct store_import, rec_import)
SQL_RELEASE(store_share_release, struct store_share, rec_share)

struct folder_insert {
    struct sql_conn *c;
    const char *project_id, *env_id;
    int64_t now;
    bool tell_new; /* else sql_defer: the answer may wait */
};

/* store_folder_insert_fn: ON CONFLICT, another server may insert the same
 * row at the same time. */
static int sql_folder_insert(void *ctx, const char *path)
{
    const struct folder_insert *a = ctx;
    char id[STORE_ID_LEN + 1];

    name_uuid(id);
    return (a->tell_new ? sql_run : sql_defer)(a->c, ST_FOLDER_INSERT, "tttti", id, a->project_id,
                                               a->env_id, path, a->now);
}

/* Inserts the rows of path and its ancestors that are missing, inside the
 * caller's transaction.  With tell_new, 1 if the row of path itself was new,
 * else 0. */
static int sql_folder_ensure(struct sql_conn *c, const char *project_id, const char *env_id,
                             const char *path, int64_t now, bool tell_new)
{
    struct folder_insert a = {c, project_id, env_id, now, tell_new};

    return store_folders_ensure(path, sql_folder_insert, &a);
}

struct folder_tx {
    const char *project_id, *env_id, *path, *actor_id;
    const char *prefix;
    int64_t now;
    struct store_folder folder; /* folder_create's, OWNED */
    bool created;
    size_t n_secrets; /* folder_delete's */
};

static int sql_folder_create_body(struct sql_conn *c, void *arg)
{
    struct folder_tx *a = arg;
    int r, created;

    store_folder_release(&a->folder); /* from an attempt that did not commit */
    if ((r = sql_lock_project(c, a->project_id)) < 0 ||
        (created = sql_folder_ensure(c, a->project_id, a->env_id, a->path, a->now, true)) < 0)
        return r < 0 ? r : created;
    r = sql_row(c, &rec_folder, &a->folder, ST_FOLDER_FIND, "tt", a->env_id, a->path);
    if (r <= 0)
        return r < 0 ? r : -EIO;
    a->created = created > 0;
    return 0;
}

static int sql_folder_create(struct store *s, const char *project_id, const char *env_id,
                             const char *path, int64_t now, struct store_folder *ret,
                             bool *ret_created)
{
    struct folder_tx a = {.project_id = project_id, .env_id = env_id, .path = path, .now = now};
    int r;

    if (!project_id || !env_id || !path)
        return -EINVAL;
    r = sql_tx(s, SQL_TX_WRITE, sql_folder_create_body, &a);
    if (r < 0) {
        store_folder_release(&a.folder);
        return r;
    }
    if (ret_created)
        *ret_created = a.created;
    if (ret)
        *ret = a.folder;
    else
        store_folder_release(&a.folder);
    return 0;
}

static int sql_folder_list(struct store *s, const char *env_id, const char *path, bool recursive,
                           struct store_folder **ret, size_t *ret_n)
{
    char prefix[NAME_PATH_MAX + 2];

    if (!env_id || store_subtree_prefix(path, prefix) < 0)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_folder, (void **)ret, ret_n, ST_FOLDER_LIST, "ttti",
                    env_id, path, prefix, (int64_t)recursive);
}

static int sql_folder_get(struct store *s, const char *id, struct store_folder *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_folder, ret, ST_FOLDER_GET, "t", id);
}

static int sql_folder_find(struct store *s, const char *env_id, const char *path,
                           struct store_folder *ret)
{
    if (!env_id || !path || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_folder, ret, ST_FOLDER_FIND, "tt", env_id, path);
}

static int sql_folder_delete_body(struct sql_conn *c, void *arg)
{
    struct folder_tx *a = arg;
    int r;

    /* The project's secret writers wait: none writes below the folder while
     * it goes, and a folder made meanwhile is made after. */
    r = sql_int(c, NULL, ST_ENV_LOCK_PROJECT, "t", a->env_id);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    r = sql_int(c, NULL, ST_FOLDER_FIND, "tt", a->env_id, a->path);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    r = sql_run(c, ST_SUBTREE_TOMBSTONE_VERSIONS, "tttit", a->env_id, a->path, a->prefix, a->now,
                a->actor_id);
    if (r >= 0)
        r = sql_run(c, ST_SUBTREE_TOMBSTONE, "tttit", a->env_id, a->path, a->prefix, a->now,
                    a->actor_id);
    if (r < 0)
        return r;
    a->n_secrets = (size_t)r;
    if ((r = sql_run(c, ST_SUBTREE_IMPORTS_DELETE, "ttt", a->env_id, a->path, a->prefix)) < 0 ||
        (r = sql_run(c, ST_SUBTREE_FOLDERS_DELETE, "ttt", a->env_id, a->path, a->prefix)) < 0)
        return r;
    return 0;
}

static int sql_folder_delete(struct store *s, const char *env_id, const char *path,
                             const char *actor_id, int64_t now, size_t *ret_n_secrets)
{
    char prefix[NAME_PATH_MAX + 2];
    struct folder_tx a = {
        .env_id = env_id, .path = path, .actor_id = actor_id, .prefix = prefix, .now = now};
    int r;

    if (!env_id || !actor_id || store_subtree_prefix(path, prefix) < 0 || streq(path, "/"))
        return -EINVAL;
    r = sql_tx(s, SQL_TX_WRITE, sql_folder_delete_body, &a);
    if (r < 0)
        return r;
    if (ret_n_secrets)
        *ret_n_secrets = a.n_secrets;
    return 0;
}

struct import_tx {
    struct store_import *imp; /* import_create */
    size_t max;
    int64_t position;
    const char *id; /* import_move, import_delete */
    enum sql_stmt_id op;
};

static int sql_import_create_body(struct sql_conn *c, void *arg)
{
    struct import_tx *a = arg;
    const struct store_import *imp = a->imp;
    int64_t count, last;
    int r;

    /* Imports of the project's folders take turns: positions are n + 1. */
    if ((r = sql_lock_project(c, imp->project_id)) < 0 ||
        (r = sql_int(c, &count, ST_IMPORT_COUNT, "tt", imp->env_id, imp->path)) < 0 ||
        (r = sql_int(c, &last, ST_IMPORT_LAST_POSITION, "tt", imp->env_id, imp->path)) < 0)
        return r;
    if ((size_t)count >= a->max)
        return -E2BIG;
    if ((r = sql_folder_ensure(c, imp->project_id, imp->env_id, imp->path, imp->created_at,
                               false)) < 0 ||
        (r = sql_run(c, ST_IMPORT_INSERT, "ttttttiit", imp->id, imp->project_id, imp->env_id,
                     imp->path, imp->import_env_id, imp->import_path, last + 1, imp->created_at,
                     imp->created_by)) < 0)
        return r;
    a->position = last + 1;
    return 0;
}

static int sql_import_create(struct store *s, struct store_import *imp, size_t max)
{
    struct import_tx a = {.imp = imp, .max = max};
    int r;

    if (!imp || !imp->path || !imp->import_path || !name_uuid_valid(imp->id))
        return -EINVAL;
    r = sql_tx(s, SQL_TX_WRITE, sql_import_create_body, &a);
    if (r < 0)
        return r;
    imp->position = a.position;
    return 0;
}

static int sql_import_list(struct store *s, const char *env_id, const char *path,
                           struct store_import **ret, size_t *ret_n)
{
    if (!env_id || !path)
        return -EINVAL;
    return sql_list(s, SQL_TX_NONE, &rec_import, (void **)ret, ret_n, ST_IMPORT_LIST, "tt", env_id,
                    path);
}

static int sql_import_get(struct store *s, const char *id, struct store_import *ret)
{
    if (!id || !ret)
        return -EINVAL;
    return sql_get(s, SQL_TX_NONE, &rec_import, ret, ST_IMPORT_GET, "t", id);
}

/* store_import_place_fn */
static int sql_import_place(void *ctx, const char *id, int64_t position)
{
    return sql_run(ctx, ST_IMPORT_SET_POSITION, "ti", id, position);
}

/* Numbers the imports of the folder 1..n in their order, with `moved` (if
 * not NULL) taken out and put at `position`; inside the caller's transaction. */
static int sql_import_renumber(struct sql_conn *c, const char *env_id, const char *path,
                               const char *moved, int64_t position)
{
    struct store_import *v = NULL;
    const char **order = NULL;
    size_t n = 0;
    int r;

    if ((r = sql_rows(c, &rec_import, (void **)&v, &n, ST_IMPORT_LIST, "tt", env_id, path)) < 0)
        return r;
    order = calloc(n ? n : 1, sizeof(*order));
    if (!order)
        r = -ENOMEM;
    for (size_t i = 0; order && i < n; i++)
        order[i] = v[i].id;
    if (r >= 0)
        r = store_imports_renumber(order, n, moved, position, sql_import_place, c);
    free(order);
    store_imports_free(v, n);
    return r;
}

static int sql_import_change_body(struct sql_conn *c, void *arg)
{
    const struct import_tx *a = arg;
    _cleanup_(store_import_release) struct store_import imp = {0};
    int r;

    /* Changes of the project's imports take turns (positions). */
    r = sql_int(c, NULL, ST_IMPORT_LOCK_PROJECT, "t", a->id);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    r = sql_row(c, &rec_import, &imp, ST_IMPORT_GET, "t", a->id);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    if (a->op != ST__MAX && (r = sql_run(c, a->op, "t", a->id)) < 0)
        return r;
    return sql_import_renumber(c, imp.env_id, imp.path, a->op == ST__MAX ? a->id : NULL,
                               a->position < 1 ? 1 : a->position);
}

/* Runs op (ST__MAX: none, a move) on the import id and renumbers its folder,
 * in one transaction. */
static int sql_import_change(struct store *s, const char *id, enum sql_stmt_id op, int64_t position)
{
    struct import_tx a = {.id = id, .op = op, .position = position};

    if (!id)
        return -EINVAL;
    return sql_tx(s, SQL_TX_WRITE, sql_import_change_body, &a);
}

static int sql_import_move(struct store *s, const char *id, int64_t position)
{
    return sql_import_change(s, id, ST__MAX, position);
}

static int sql_import_delete(struct store *s, const char *id)
{
    return sql_import_change(s, id, ST_IMPORT_DELETE, 0);
}

/* ---- archiving the audit log (migration 0011) ---- */

static const struct sql_col audit_archive_cols[] = {
    COL(PK_I64, struct store_audit_archive, seq),
    COL(PK_HASH, struct store_audit_archive, hash),
    COL(PK_I64, struct store_audit_archive, first_seq),
    COL(PK_I64, struct store_audit_archive, records),
    COL(PK_HASH, struct store_audit_archive, file_hash),
    COL(PK_TEXT, struct store_audit_archive, archived_by),
    COL(PK_I64, struct store_audit_archive, archived_at),
};
static const struct sql_record rec_audit_archive =
    RECORD(struct store_audit_archive, audit_archive_cols);

static int sql_audit_anchor(struct store *s, struct store_audit_archive *ret)
{
    return ret ? sql_get(s, SQL_TX_NONE, &rec_audit_archive, ret, ST_AUDIT_ANCHOR, "") : -EINVAL;
}

struct archive_tx {
    const struct store_audit_archive *a;
    struct audit_tx rec;
};

static int sql_audit_archive_body(struct sql_conn *c, void *arg)
{
    struct archive_tx *x = arg;
    const struct store_audit_archive *a = x->a;
    struct store_audit_archive anchor = {0};
    int64_t same = 0, n = 0;
    int r;

    /* the audit lock first: sql_audit_append_body takes it again (a no-op) */
    if ((r = sql_lock(c, SQL_LOCK_AUDIT)) < 0 ||
        (r = sql_row(c, &rec_audit_archive, &anchor, ST_AUDIT_ANCHOR, "")) < 0 ||
        (r = sql_int(c, &same, ST_AUDIT_CUT_MATCHES, "ib", a->seq, a->hash,
                     (size_t)STORE_HASH_BYTES)) < 0 ||
        (r = sql_int(c, &n, ST_AUDIT_COUNT_TO, "i", a->seq)) < 0)
        return r;
    if (anchor.seq != a->first_seq - 1 || same != 1 || n != a->records)
        return -ESTALE;
    if ((r = sql_audit_append_body(c, &x->rec)) < 0 ||
        (r = sql_run(c, ST_AUDIT_ARCHIVE_INSERT, "ibiibti", a->seq, a->hash,
                     (size_t)STORE_HASH_BYTES, a->first_seq, a->records, a->file_hash,
                     (size_t)STORE_HASH_BYTES, a->archived_by, a->archived_at)) < 0 ||
        (r = sql_run(c, ST_AUDIT_ARCHIVE_DELETE, "i", a->seq)) < 0)
        return r;
    return r == a->records ? 0 : -ESTALE;
}

static int sql_audit_archive(struct store *s, const struct store_audit_archive *a,
                             struct store_audit *rec, store_audit_chain_fn chain, void *ctx)
{
    struct archive_tx x = {a, {rec, 1, chain, ctx, true}};
    int r;

    if (!a || !rec || !chain || a->first_seq < 1 || a->seq < a->first_seq ||
        a->records != a->seq - a->first_seq + 1 || !rec->event || !rec->event[0] ||
        !sql_fits(a->archived_by, sizeof(a->archived_by)))
        return -EINVAL;
    r = sql_tx(s, SQL_TX_WRITE, sql_audit_archive_body, &x);
    if (r < 0)
        rec->seq = 0;
    return r;
}

/* ---- what the drivers do their own way ---- */

static void sql_close(struct store *s)
{
    sql_drv(s)->close(s);
}

static int sql_epoch(struct store *s, struct store_epoch *ret)
{
    return ret ? sql_call(s)->epoch(s, ret) : -EINVAL;
}

static int sql_project_epoch(struct store *s, const char *project_id, uint64_t *ret)
{
    return ret && project_id ? sql_drv(s)->project_epoch(s, project_id, ret) : -EINVAL;
}

static int sql_backup(struct store *s, store_backup_fn fn, void *ctx)
{
    return fn ? sql_call(s)->backup(s, fn, ctx) : -EINVAL;
}

static int sql_restore(struct store *s, store_restore_fn next, void *ctx)
{
    return next ? sql_call(s)->restore(s, next, ctx) : -EINVAL;
}

/* The operations, the same for both drivers: only the name differs. */
#define SQL_OPS(name_)                                                                             \
    {                                                                                              \
        .project_epoch = sql_project_epoch, .name = name_, .close = sql_close,                     \
        .user_count = sql_user_count, .bootstrap = sql_bootstrap, .user_get = sql_user_get,        \
        .user_get_by_email = sql_user_get_by_email, .user_orgs = sql_user_orgs,                    \
        .session_create = sql_session_create, .session_get = sql_session_get,                      \
        .session_delete = sql_session_delete, .project_create = sql_project_create,                \
        .project_get = sql_project_get, .project_list = sql_project_list,                          \
        .env_create = sql_env_create, .env_update = sql_env_update, .env_delete = sql_env_delete,  \
        .env_counts = sql_env_counts, .member_get = sql_member_get,                                \
        .secrets_list = sql_secrets_list, .secret_get = sql_secret_get,                            \
        .secret_history = sql_secret_history, .secrets_write = sql_secrets_write,                  \
        .invite_create = sql_invite_create, .invite_get = sql_invite_get,                          \
        .invite_accept = sql_invite_accept, .org_role = sql_org_role,                              \
        .user_login_failed = sql_user_login_failed, .user_login_ok = sql_user_login_ok,            \
        .user_locked_until = sql_user_locked_until, .member_add = sql_member_add,                  \
        .member_list = sql_member_list, .member_remove = sql_member_remove,                        \
        .member_set_role = sql_member_set_role, .role_create = sql_role_create,                    \
        .role_get = sql_role_get, .role_list = sql_role_list, .role_update = sql_role_update,      \
        .org_member_remove = sql_org_member_remove, .role_delete = sql_role_delete,                \
        .identity_create = sql_identity_create, .identity_get = sql_identity_get,                  \
        .identity_get_by_client_id = sql_identity_get_by_client_id,                                \
        .identity_list = sql_identity_list, .identity_delete = sql_identity_delete,                \
        .client_secret_create = sql_client_secret_create,                                          \
        .client_secret_list = sql_client_secret_list, .client_secret_use = sql_client_secret_use,  \
        .client_secret_revoke = sql_client_secret_revoke,                                          \
        .project_set_server_key = sql_project_set_server_key,                                      \
        .access_token_create = sql_access_token_create, .access_token_get = sql_access_token_get,  \
        .access_token_use = sql_access_token_use, .access_token_renew = sql_access_token_renew,    \
        .access_token_revoke = sql_access_token_revoke,                                            \
        .service_token_create = sql_service_token_create,                                          \
        .service_token_get = sql_service_token_get, .service_token_list = sql_service_token_list,  \
        .service_token_revoke = sql_service_token_revoke, .share_create = sql_share_create,        \
        .share_get = sql_share_get, .share_open = sql_share_open, .share_list = sql_share_list,    \
        .share_delete = sql_share_delete, .share_purge = sql_share_purge,                          \
        .share_policy_get = sql_share_policy_get, .share_policy_set = sql_share_policy_set,        \
        .secrets_list_with = sql_secrets_list_with, .secret_get_of = sql_secret_get_of,            \
        .secret_history_of = sql_secret_history_of, .project_versions = sql_project_versions,      \
        .project_rekey = sql_project_rekey, .secrets_at = sql_secrets_at,                          \
        .folder_create = sql_folder_create, .folder_list = sql_folder_list,                        \
        .folder_get = sql_folder_get, .folder_find = sql_folder_find,                              \
        .folder_delete = sql_folder_delete, .import_create = sql_import_create,                    \
        .import_list = sql_import_list, .import_get = sql_import_get,                              \
        .import_move = sql_import_move, .import_delete = sql_import_delete,                        \
        .audit_append = sql_audit_append, .epoch = sql_epoch, .audit_query = sql_audit_query,      \
        .secrets_write_audited = sql_secrets_write_audited, .identity_login = sql_identity_login,  \
        .backup = sql_backup, .restore = sql_restore, .root_keys = sql_root_keys,                  \
        .root_key_init = sql_root_key_init, .root_key_rotate = sql_root_key_rotate,                \
        .identity_rekey = sql_identity_rekey, .org_members = sql_org_members,                      \
        .invite_list = sql_invite_list, .invite_revoke = sql_invite_revoke,                        \
        .user_set_credentials = sql_user_set_credentials, .project_rename = sql_project_rename,    \
        .project_delete = sql_project_delete, .audit_anchor = sql_audit_anchor,                    \
        .audit_archive = sql_audit_archive,                                                        \
    }

const struct store_ops store_sqlite_ops = SQL_OPS("sqlite");
const struct store_ops store_pg_ops = SQL_OPS("postgres");
