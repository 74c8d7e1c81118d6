/* cli.h - what every command shares: flag parsing, the client handle, the
 * project scope, errors and exit codes.  Commands use libarca (arca.h) for all
 * server work; they may use base/ helpers (buffers, JSON, dotenv). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "arca.h"
#include "base/buf.h"
#include "base/wire.h"

enum cli_exit {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
    EXIT_AUTH = 3,
    EXIT_NOTFOUND = 4,
    EXIT_INVALID = 5,
    EXIT_UNREACHABLE = 6,
    EXIT_CONFLICT = 7,
    EXIT_TAMPERED = 8,
    EXIT_RATE_LIMITED = 9,
};

#define CLI_MAX_ARGS 4096
#define CLI_MAX_REPEAT 64 /* values of a repeatable flag (--allow, --deny, --scope) */

/* Parsed command line.  Strings are BORROWED from argv. */
struct cli {
    const char *prog;    /* "arca" */
    const char *command; /* "secrets set" */
    const char *api_url;
    const char *config_dir;
    const char *env;
    const char *path;
    const char *project_id;
    const char *format;
    const char *output_file;
    const char *email;
    const char *organization;
    const char *listen;
    const char *metrics_listen; /* server: GET /metrics on this address */
    const char *site_url;       /* server: the URL users reach it at */
    const char *data_dir;
    const char *database_url; /* arca server: PostgreSQL instead of SQLite */
    const char *max_body;
    const char *threads; /* arca server */
    const char *log_level;
    const char *method;
    const char *role;
    const char *org_role;
    const char *organization_id;
    const char *invite;
    const char *identity;
    const char *client_id;
    const char *client_secret;
    const char *name;
    const char *access;
    const char *expires_in;
    const char *version;
    const char *to;
    const char *event;
    const char *actor;
    const char *since;
    const char *until;
    const char *limit;
    const char *access_token_ttl;
    const char *access_token_max_ttl;
    const char *trusted_ips;
    const char *access_token_num_uses_limit;
    const char *description;
    const char *ttl;
    const char *num_uses_limit;
    const char *position;              /* environments add/rename --position N */
    const char *allow[CLI_MAX_REPEAT]; /* --allow SPEC, repeatable */
    size_t n_allow;
    const char *deny[CLI_MAX_REPEAT]; /* --deny SPEC, repeatable */
    size_t n_deny;
    const char *scope[CLI_MAX_REPEAT]; /* --scope ENV:PATH, repeatable */
    size_t n_scope;
    bool plain, show_values, password_stdin, help;
    bool audit_async;               /* arca server: answer before audit records are durable */
    bool server_access;             /* projects create/update --server-access */
    bool no_expand;                 /* --expand=false: keep ${...} references as written */
    bool personal;                  /* secrets set/get/delete/history --personal */
    bool no_overrides;              /* run/export --no-overrides: shared values only */
    bool no_imports;                /* --no-imports: leave the folder's imports out */
    bool recursive;                 /* --recursive: sub-folders too (secrets list, folders list) */
    bool no_cache;                  /* run/export --no-cache: no offline copy, read or written */
    const char *from;               /* imports add --from ENV:PATH */
    const char *tls_cert;           /* arca server --tls-cert FILE */
    const char *tls_key;            /* arca server --tls-key FILE */
    const char *ca_cert;            /* --ca-cert FILE: trust this CA (ARCA_CA_CERT) */
    const char *output;             /* backup --output FILE */
    const char *input;              /* restore --input FILE */
    const char *verify;             /* backup --verify FILE */
    const char *db_wait;            /* arca server --db-wait SECONDS */
    const char *config;             /* agent --config FILE */
    const char *agent_socket;       /* run --agent-socket PATH (ARCA_AGENT_SOCKET) */
    const char *grace;              /* run --watch --grace DURATION */
    bool once;                      /* agent --once: render, then exit */
    bool watch;                     /* run --watch: restart the child on a change */
    const char *args[CLI_MAX_ARGS]; /* positional arguments after the command words */
    size_t n_args;
    char **child_argv; /* after "--" (arca run), NULL-terminated, or NULL */

    /* arca server --login-limit-ip / --login-limit-account BURST,PER_MINUTE */
    const char *login_limit_ip, *login_limit_account;

    /* arca share */
    bool value_stdin;         /* share create --value-stdin */
    bool org_only;            /* share create --org-only */
    const char *secret;       /* share create --secret KEY */
    const char *max_views;    /* share create --max-views N|unlimited */
    const char *max_lifetime; /* share policy --max-lifetime DURATION */
    const char *anonymous;    /* share policy --anonymous on|off */
};

/* Parses argv from index first (after the command words).  Prints a usage
 * error and returns -EINVAL on an unknown flag or a missing value. */
int cli_parse(struct cli *c, int argc, char **argv, int first);

/* Prints "arca: error: <msg>" (and a hint line if hint is non-NULL). */
void cli_error(const char *hint, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit code for a negative errno from libarca. */
int cli_exit_of(int err);
/* Reports a libarca failure (its arca_errmsg, plus a hint where one helps) and
 * returns the exit code. */
int cli_fail(struct arca *a, int err);
/* cli_fail, then arca_free(a) (TAKES a).  Returns the exit code. */
int cli_fail_free(struct arca *a, int err);
/* For a command that takes no positional argument: prints "unexpected
 * argument" with hint and returns EXIT_USAGE if one was given, else EXIT_OK. */
int cli_no_args(const struct cli *c, const char *hint);

/* A client for the configured server.  With need_login, loads the saved
 * session (exit code EXIT_AUTH with a hint when there is none).  Returns an
 * exit code; *ret OWNED (arca_free). */
int cli_client(const struct cli *c, bool need_login, struct arca **ret);
/* A client logged in with the saved session only, never from ARCA_TOKEN or
 * ARCA_CLIENT_ID (logout and token renew are about the saved session). */
int cli_client_saved(const struct cli *c, struct arca **ret);

/* A client for commands that work on a scope: cli_client (logged in), then,
 * when cli_scope left the project to the service token, the token's project. */
int cli_client_scoped(const struct cli *c, struct arca **ret, struct arca_scope *scope);
/* cli_scope, then cli_client_scoped.  Returns an exit code; *ret OWNED. */
int cli_client_scope(const struct cli *c, struct arca **ret, struct arca_scope *scope,
                     char *project_buf, size_t size);
/* The folder of the command's scope (cli_client_scope, then arca_secrets_list
 * and, unless --expand=false, arca_secrets_expand; a failure reported), with
 * the caller's personal overrides as flags says (enum arca_scope_flags;
 * --no-overrides makes it ARCA_SHARED_ONLY).  Returns an exit code; *a OWNED
 * (also on a failed list), *ret OWNED (arca_secret_list_free). */
int cli_fetch_folder(const struct cli *c, unsigned flags, struct arca **a,
                     struct arca_secret_list **ret);
/* cli_fetch_folder with the offline cache (arca run, arca export): unless
 * --no-cache or ARCA_NO_CACHE, what the server answers is kept, and when it
 * cannot be reached the kept copy answers, with a notice on stderr. */
int cli_fetch_folder_cached(const struct cli *c, unsigned flags, struct arca **a,
                            struct arca_secret_list **ret);

/* True when ARCA_TOKEN or INFISICAL_TOKEN is set (a service token logs in). */
bool cli_env_token(void);

/* Fills scope from --project-id / ARCA_PROJECT_ID / the service token in
 * ARCA_TOKEN (then project_id is left NULL for cli_client_scoped to fill) /
 * .arca.json, --env (dev) and --path (/).  project_buf holds a project id read
 * from .arca.json.  Returns an exit code (EXIT_NOTFOUND with a hint if no
 * project is configured). */
int cli_scope(const struct cli *c, struct arca_scope *scope, char *project_buf, size_t size);

/* The project id of .arca.json (or .infisical.json) here or in a parent
 * directory, into out.  -ENOENT when there is none; other failures printed. */
int cli_project_file(char *out, size_t size);

/* The project of a command that needs only a project: as cli_scope, with the
 * client already made (a service token's project counts).  Returns an exit code. */
int cli_project(const struct cli *c, struct arca *a, const char **ret, char *project_buf,
                size_t size);
/* cli_client (logged in), then cli_project.  Returns an exit code; *a OWNED,
 * NULL on failure. */
int cli_client_project(const struct cli *c, struct arca **a, const char **ret, char *project_buf,
                       size_t size);

/* "created", "updated", "unchanged" or "deleted". */
const char *cli_change_name(enum arca_change change);

/* Prints v as indented JSON on stdout (TAKES v).  secret: the text held values
 * and is wiped. */
void cli_print_json(json_t *v, bool secret);

/* Reads a password: one line from stdin with --password-stdin, else prompts on
 * the terminal without echo.  OWNED, wipe with arca_secret_string_free. */
int cli_read_password(const struct cli *c, char **ret, size_t *ret_len);

/* The --format of the command, allowed[0] by default.  Prints a usage error and
 * returns -EINVAL for a format not in allowed (NULL-terminated). */
int cli_format(const struct cli *c, const char *const *allowed, const char **ret);
/* cli_format for the two formats plain (the default: "table" or "text") and
 * "json"; *ret is true for json. */
int cli_format_json(const struct cli *c, const char *plain, bool *ret);

/* Appends the whole list l in an export format (dotenv, dotenv-export, json,
 * yaml, csv) to out (a secret buffer).  On a value the format cannot hold,
 * -EINVAL with *bad_key (BORROWED from l) and *reason (static, or NULL for
 * text that is not UTF-8) set. */
int cli_format_secrets(struct buf *out, const struct arca_secret_list *l, const char *format,
                       const char **bad_key, const char **reason);

/* Reads a whole file into out (make it a secret buffer; its max bounds the
 * size).  Prints the error and returns a negative errno on failure. */
int cli_read_file(const char *path, size_t max, struct buf *out);
/* Writes <data, len> to path atomically (temporary file in the same directory,
 * fsync, rename) with mode.  Prints the error and returns a negative errno. */
int cli_write_file(const char *path, const void *data, size_t len, unsigned mode);

/* Commands: each returns an exit code. */
int cmd_server(struct cli *c);
int cmd_share_create(struct cli *c);
int cmd_share_open(struct cli *c);
int cmd_share_list(struct cli *c);
int cmd_share_revoke(struct cli *c);
int cmd_share_policy(struct cli *c);
int cmd_backup(struct cli *c);
int cmd_restore(struct cli *c);
int cmd_rotate_root_key(struct cli *c);
int cmd_bootstrap(struct cli *c);
int cmd_login(struct cli *c);
int cmd_logout(struct cli *c);
int cmd_whoami(struct cli *c);
int cmd_status(struct cli *c);
int cmd_projects_create(struct cli *c);
int cmd_projects_update(struct cli *c);
int cmd_projects_list(struct cli *c);
int cmd_init(struct cli *c);
int cmd_secrets_set(struct cli *c);
int cmd_secrets_get(struct cli *c);
int cmd_secrets_list(struct cli *c);
int cmd_secrets_delete(struct cli *c);
int cmd_folders_list(struct cli *c);
int cmd_folders_create(struct cli *c);
int cmd_folders_delete(struct cli *c);
int cmd_imports_list(struct cli *c);
int cmd_imports_add(struct cli *c);
int cmd_imports_remove(struct cli *c);
int cmd_run(struct cli *c);
int cmd_agent(struct cli *c);
int cmd_export(struct cli *c);
int cmd_import(struct cli *c);
int cmd_signup(struct cli *c);
int cmd_token_renew(struct cli *c);
int cmd_users_invite(struct cli *c);
int cmd_members_add(struct cli *c);
int cmd_members_list(struct cli *c);
int cmd_members_update(struct cli *c);
int cmd_members_remove(struct cli *c);
int cmd_roles_create(struct cli *c);
int cmd_roles_list(struct cli *c);
int cmd_roles_delete(struct cli *c);
int cmd_projects_rotate_key(struct cli *c);
/* [{slug, name, position}] of p's environments (as projects list --format json). */
json_t *cli_environments_json(const struct arca_project *p);
int cmd_environments_add(struct cli *c);
int cmd_environments_rename(struct cli *c);
int cmd_environments_remove(struct cli *c);
int cmd_environments_list(struct cli *c);
int cmd_identities_create(struct cli *c);
int cmd_identities_list(struct cli *c);
int cmd_identities_delete(struct cli *c);
int cmd_client_secret_create(struct cli *c);
int cmd_client_secret_list(struct cli *c);
int cmd_client_secret_revoke(struct cli *c);
int cmd_service_token_create(struct cli *c);
int cmd_service_token_list(struct cli *c);
int cmd_service_token_revoke(struct cli *c);
int cmd_secrets_history(struct cli *c);
int cmd_secrets_rollback(struct cli *c);
int cmd_audit_logs_list(struct cli *c);
int cmd_audit_logs_export(struct cli *c);
int cmd_audit_logs_verify(struct cli *c);
