/* cli.h - what every command shares: flag parsing, the client handle, the
 * project scope, errors and exit codes.  Commands use libarca (arca.h) for all
 * server work; they may use base/ helpers (buffers, JSON, dotenv). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

struct cli;

/* A flag (cli.c's cli_options): --NAME VALUE, --NAME=VALUE, -S VALUE;
 * booleans --NAME, --no-NAME, --NAME=true|false. */
enum cli_opt_kind {
    CLI_OPT_VALUE,  /* a const char * field */
    CLI_OPT_REPEAT, /* a const char *[CLI_MAX_REPEAT] field with its n_ count */
    CLI_OPT_BOOL,   /* a bool field, off by default */
    CLI_OPT_NEG,    /* on by default: the bool field holds its negation (--no-NAME sets it) */
};
struct cli_option {
    const char *name; /* "env" */
    char short_name;  /* 'e', or 0 */
    enum cli_opt_kind kind;
    size_t offset, n_offset; /* of the field in struct cli (n_offset: REPEAT's count) */
    const char *arg;         /* VALUE, REPEAT: "ENV" */
    const char *help;        /* one line */
};
extern const struct cli_option cli_options[];
extern const size_t cli_n_options;

/* A command (main.c's cli_commands): its words, what runs it, what it takes. */
struct cli_command {
    const char *name; /* one to three words: "secrets set" */
    int (*run)(struct cli *c);
    const char *args;    /* its positional arguments, one synopsis a line: "KEY=VALUE ..." */
    const char *flags;   /* the flags it takes (names in cli_options), space separated */
    const char *summary; /* one line, for 'arca help' */
    const char *text;    /* the rest of its --help */
};
extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;

/* Parsed command line.  Strings are BORROWED from argv. */
struct cli {
    const char *prog;         /* "arca" */
    const char *command;      /* "secrets set" */
    const char *flags;        /* the command's flags (struct cli_command) */
    const char *args_spec;    /* the command's positional arguments */
    unsigned char given[128]; /* by index in cli_options: the flag was on the line */
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
    bool audit_async;         /* arca server: answer before audit records are durable */
    bool server_access;       /* projects create/update --server-access */
    bool no_expand;           /* --expand=false: keep ${...} references as written */
    bool personal;            /* secrets set/get/delete/history --personal */
    bool no_overrides;        /* run/export --no-overrides: shared values only */
    bool no_imports;          /* --no-imports: leave the folder's imports out */
    bool recursive;           /* --recursive: sub-folders too (secrets list, folders list) */
    bool no_cache;            /* run/export --no-cache: no offline copy, read or written */
    bool yes;                 /* --yes: a destructive command goes ahead unasked */
    bool dry_run;             /* --dry-run: print the plan, change nothing */
    bool strict;              /* --strict: a reference that fails fails the command */
    const char *type;         /* --type shared|personal (Infisical's --personal) */
    bool silent;              /* --silent: no warnings or notices */
    const char *token;        /* --token: a service token, instead of ARCA_TOKEN */
    const char *run_command;  /* run --command 'SHELL COMMAND' */
    bool all;                 /* --all: revoked ones too */
    const char *comment;      /* secrets set --comment TEXT */
    const char *from;         /* imports add --from ENV:PATH */
    const char *tls_cert;     /* arca server --tls-cert FILE */
    const char *tls_key;      /* arca server --tls-key FILE */
    const char *ca_cert;      /* --ca-cert FILE: trust this CA (ARCA_CA_CERT) */
    const char *output;       /* backup --output FILE */
    const char *input;        /* restore --input FILE */
    const char *verify;       /* backup --verify FILE */
    const char *db_wait;      /* arca server --db-wait SECONDS */
    const char *config;       /* agent --config FILE */
    const char *agent_socket; /* run --agent-socket PATH (ARCA_AGENT_SOCKET) */
    const char *grace;        /* run --watch --grace DURATION */
    bool once;                /* agent --once: render, then exit */
    bool watch;               /* run --watch: restart the child on a change */
    const char *before;       /* audit-logs archive --before TIME */
    const char *archive;      /* audit-logs verify --archive FILE */
    const char *audit_retention_days; /* server --audit-retention-days N */
    const char *audit_archive_dir;    /* server --audit-archive-dir DIR */
    const char *args[CLI_MAX_ARGS];   /* positional arguments after the command words */
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
    bool anonymous;           /* share policy --anonymous | --no-anonymous */

    bool purge; /* environments remove --purge: with its history */
};

/* Parses argv from index first (after the command words), taking the flags of
 * c->flags and the global ones.  Prints a usage error and returns -EINVAL on an
 * unknown flag, one the command does not take, a missing or wrong value. */
int cli_parse(struct cli *c, int argc, char **argv, int first);
/* The flag called name (len bytes), or NULL. */
const struct cli_option *cli_option_find(const char *name, size_t len);
/* Does every command take o (--api-url, --config-dir, --ca-cert, --help)? */
bool cli_option_global(const struct cli_option *o);
/* Does a command with these flags take o? */
bool cli_command_takes(const char *flags, const struct cli_option *o);
/* Was flag name on the command line? */
bool cli_given(const struct cli *c, const char *name);
/* Edit distance of <a, la> and b (for "did you mean"); large if either is long. */
unsigned cli_distance(const char *a, size_t la, const char *b);

/* Colour: only when f is a terminal, NO_COLOR is unset (or empty) and TERM is
 * not "dumb".  cli_paint gives the escape sequence for what, or "". */
enum cli_paint {
    CLI_PAINT_OFF,
    CLI_PAINT_ERROR,
    CLI_PAINT_WARNING,
    CLI_PAINT_HINT,
    CLI_PAINT_HEADER
};
bool cli_color(FILE *f);
const char *cli_paint(FILE *f, enum cli_paint what);
/* Prints "arca: warning: <msg>" on stderr, unless --silent (c may be NULL). */
void cli_warning(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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
/* Expands the references of l unless --expand=false: with --strict as
 * arca_secrets_expand (the first failing reference fails all), else leniently
 * (arca_secrets_expand_lenient), printing a warning on stderr for each secret
 * kept as written or left out (only those whose key wanted says, if given).
 * Returns 0 or a negative errno (not reported). */
int cli_expand(const struct cli *c, struct arca *a, const struct arca_scope *scope,
               struct arca_secret_list *l, bool (*wanted)(const char *key, const void *ud),
               const void *ud);
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
/* When *pid is not a project id (a UUID), looks it up as a project's slug among
 * the caller's projects and points *pid at its id.  Returns an exit code
 * (EXIT_NOTFOUND, reported, when no project has that slug). */
int cli_project_resolve(const struct cli *c, struct arca *a, const char **pid);
/* cli_client (logged in), then cli_project (and cli_project_resolve).  Returns an exit code; *a
 * OWNED, NULL on failure. */
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
/* cli_read_password with another prompt ("New password: "). */
int cli_read_password_prompt(const struct cli *c, const char *prompt, char **ret, size_t *ret_len);

/* The --format of the command, allowed[0] by default.  Prints a usage error and
 * returns -EINVAL for a format not in allowed (NULL-terminated). */
int cli_format(const struct cli *c, const char *const *allowed, const char **ret);
/* cli_format for the two formats plain (the default: "table" or "text") and
 * "json"; *ret is true for json. */
int cli_format_json(const struct cli *c, const char *plain, bool *ret);

/* For a command about to delete or replace several things, once it has shown
 * its plan (cli_plan): with --dry-run says nothing was changed and sets
 * *go false (exit code EXIT_OK); with --yes sets *go; on a terminal asks
 * "question [y/N]" and sets *go on "y"/"yes" (else EXIT_FAIL, nothing done);
 * otherwise refuses with EXIT_USAGE and a hint to pass --yes or --dry-run. */
int cli_confirm(const struct cli *c, const char *question, bool *go);
/* cli_confirm for what cannot be undone: on a terminal the user types word
 * (a project's slug), not just "y". */
int cli_confirm_typed(const struct cli *c, const char *what, const char *word, bool *go);
/* Prints a line of a plan: on stdout with --dry-run (it is the output), not at
 * all with --yes (the command's output says what it did), else on stderr. */
void cli_plan(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A time given as ISO-8601 or as a duration ago ("1m", "24h") as ISO-8601
 * UTC in out; *ret_ago the seconds ago it is (negative: in the future).
 * Prints the error (naming flag) and returns -EINVAL if it is neither. */
int cli_time_arg(const char *flag, const char *in, char out[static 25], int64_t *ret_ago);
/* "1 minute ago", "3 hours ago", "2 days ago" (rounded down) into out. */
void cli_ago(int64_t seconds, char *out, size_t size);
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
int cmd_password_change(struct cli *c);
int cmd_status(struct cli *c);
int cmd_projects_create(struct cli *c);
int cmd_projects_update(struct cli *c);
int cmd_projects_rename(struct cli *c);
int cmd_projects_delete(struct cli *c);
int cmd_projects_list(struct cli *c);
int cmd_init(struct cli *c);
int cmd_secrets_set(struct cli *c);
int cmd_secrets_update(struct cli *c);
int cmd_secrets_rename(struct cli *c);
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
int cmd_invites_list(struct cli *c);
int cmd_users_list(struct cli *c);
int cmd_invites_revoke(struct cli *c);
int cmd_members_add(struct cli *c);
int cmd_members_list(struct cli *c);
int cmd_members_update(struct cli *c);
int cmd_members_remove(struct cli *c);
int cmd_roles_create(struct cli *c);
int cmd_roles_list(struct cli *c);
int cmd_roles_update(struct cli *c);
int cmd_users_remove(struct cli *c);
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
/* cmd_server.c: on the store itself, as `arca backup` */
int cmd_audit_logs_archive(struct cli *c);
int cmd_audit_logs_verify_archive(struct cli *c);
/* help.c: help, man page, completion, "did you mean" */
int cmd_help(struct cli *c);
int cmd_completion(struct cli *c);
int cmd_man(struct cli *c);
/* Prints the --help of command cmd on f. */
void cli_command_help(FILE *f, const struct cli_command *cmd);
/* Prints the top-level help (one line per command) on f. */
void cli_usage(FILE *f);
/* The command whose name is closest to words (a typo), or NULL. */
const char *cli_did_you_mean(const char *words);
