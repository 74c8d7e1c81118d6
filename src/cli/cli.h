/* cli.h - what every command shares: flag parsing, the client handle, the
 * project scope, errors and exit codes.  Commands use libarca (arca.h) for all
 * server work; they may use base/ helpers (buffers, JSON, dotenv). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "arca.h"
#include "base/buf.h"

enum cli_exit {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
    EXIT_AUTH = 3,
    EXIT_NOTFOUND = 4,
    EXIT_INVALID = 5,
    EXIT_UNREACHABLE = 6,
    EXIT_CONFLICT = 7,
};

#define CLI_MAX_ARGS 4096

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
    const char *data_dir;
    const char *max_body;
    const char *log_level;
    const char *method;
    bool plain, show_values, password_stdin, help;
    const char *args[CLI_MAX_ARGS]; /* positional arguments after the command words */
    size_t n_args;
    char **child_argv; /* after "--" (arca run), NULL-terminated, or NULL */
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

/* A client for the configured server.  With need_login, loads the saved
 * session (exit code EXIT_AUTH with a hint when there is none).  Returns an
 * exit code; *ret OWNED (arca_free). */
int cli_client(const struct cli *c, bool need_login, struct arca **ret);

/* Fills scope from --project-id / ARCA_PROJECT_ID / .arca.json, --env (dev) and
 * --path (/).  project_buf holds a project id read from .arca.json.  Returns an
 * exit code (EXIT_NOTFOUND with a hint if no project is configured). */
int cli_scope(const struct cli *c, struct arca_scope *scope, char *project_buf, size_t size);

/* Reads a password: one line from stdin with --password-stdin, else prompts on
 * the terminal without echo.  OWNED, wipe with arca_secret_string_free. */
int cli_read_password(const struct cli *c, char **ret, size_t *ret_len);

/* True when --format json was given; false for the default.  Prints a usage
 * error and returns -EINVAL for a format not in allowed (NULL-terminated). */
int cli_format(const struct cli *c, const char *const *allowed, const char **ret);

/* Reads a whole file into out (make it a secret buffer; its max bounds the
 * size).  Prints the error and returns a negative errno on failure. */
int cli_read_file(const char *path, size_t max, struct buf *out);
/* Writes <data, len> to path atomically (temporary file in the same directory,
 * fsync, rename) with mode.  Prints the error and returns a negative errno. */
int cli_write_file(const char *path, const void *data, size_t len, unsigned mode);

/* Commands: each returns an exit code. */
int cmd_server(struct cli *c);
int cmd_bootstrap(struct cli *c);
int cmd_login(struct cli *c);
int cmd_logout(struct cli *c);
int cmd_whoami(struct cli *c);
int cmd_projects_create(struct cli *c);
int cmd_projects_list(struct cli *c);
int cmd_init(struct cli *c);
int cmd_secrets_set(struct cli *c);
int cmd_secrets_get(struct cli *c);
int cmd_secrets_list(struct cli *c);
int cmd_secrets_delete(struct cli *c);
int cmd_run(struct cli *c);
int cmd_export(struct cli *c);
int cmd_import(struct cli *c);
