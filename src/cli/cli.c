/* cli.c - flag parsing, errors and exit codes, the client handle, the project
 * scope and password input, shared by every command.
 *
 * Flags are looked up in one table, cli_options (name, kind, help -> field of
 * struct cli); a command takes only those its entry in cli_commands names.
 * Values: "--flag value", "--flag=value" or "-f value"; booleans: "--flag",
 * "--no-flag", "--flag=true|false".  After "--" come the child command of
 * `arca run`, or positional arguments that start with '-'. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "cli.h"

#define PASSWORD_MAX 1024
#define ARCA_JSON_MAX (64u * 1024)

/* Every flag of every command, and what it means: a command takes those named
 * in its entry of cli_commands (main.c), plus the global ones (CLI_OPT_GLOBAL).
 * --help, the man page and the completion scripts are made from this table.
 * To add a flag: a field in struct cli, a line here, its name in the flags of
 * each command that takes it. */
#define VALUE(n, s, field, arg, help)                                                              \
    {                                                                                              \
        n, s, CLI_OPT_VALUE, offsetof(struct cli, field), 0, arg, help                             \
    }
#define REPEAT(n, field, arg, help)                                                                \
    {                                                                                              \
        n, 0, CLI_OPT_REPEAT, offsetof(struct cli, field), offsetof(struct cli, n_##field), arg,   \
            help                                                                                   \
    }
#define BOOL(n, s, field, help)                                                                    \
    {                                                                                              \
        n, s, CLI_OPT_BOOL, offsetof(struct cli, field), 0, NULL, help                             \
    }
/* on by default: the field holds its negation, --no-NAME sets it */
#define NEG(n, field, help)                                                                        \
    {                                                                                              \
        n, 0, CLI_OPT_NEG, offsetof(struct cli, field), 0, NULL, help                              \
    }

const struct cli_option cli_options[] = {
    VALUE("api-url", 0, api_url, "URL",
          "the arca server (ARCA_API_URL, default http://127.0.0.1:8200)"),
    VALUE("config-dir", 0, config_dir, "DIR",
          "where the session is kept (ARCA_CONFIG_DIR, ~/.config/arca)"),
    VALUE("ca-cert", 0, ca_cert, "FILE", "trust this PEM CA for https:// (ARCA_CA_CERT)"),
    BOOL("help", 'h', help, "print this help"),
    VALUE("env", 'e', env, "ENV", "environment slug (default: .arca.json's, else dev)"),
    VALUE("path", 'p', path, "PATH", "folder path (default /)"),
    VALUE("project-id", 0, project_id, "ID",
          "project id or slug (default: ARCA_PROJECT_ID, then .arca.json)"),
    VALUE("format", 'f', format, "FORMAT", "output format (see above; json for programs)"),
    VALUE("output-file", 'o', output_file, "FILE",
          "write there (mode 0600, atomically), not stdout"),
    VALUE("email", 0, email, "EMAIL", "your e-mail address"),
    VALUE("organization", 0, organization, "NAME", "the organization's name"),
    VALUE("listen", 0, listen, "ADDR:PORT", "where to listen (default 127.0.0.1:8200)"),
    VALUE("data-dir", 0, data_dir, "DIR", "the SQLite store's directory (default ./arca-data)"),
    VALUE("database-url", 0, database_url, "URL",
          "PostgreSQL instead of SQLite (ARCA_DATABASE_URL)"),
    VALUE("max-body", 0, max_body, "BYTES", "largest request body accepted"),
    VALUE("threads", 0, threads, "N", "request threads (default 8 per core)"),
    VALUE("log-level", 0, log_level, "LEVEL", "debug, info, warn or error"),
    VALUE("method", 0, method, "METHOD", "user (default) or universal-auth"),
    VALUE("role", 0, role, "ROLE", "admin, member, viewer, no-access or a custom role's slug"),
    VALUE("org-role", 0, org_role, "ROLE", "admin or member (default member)"),
    VALUE("organization-id", 0, organization_id, "ID", "the organization (default: your first)"),
    VALUE("invite", 0, invite, "TOKEN", "the invite token"),
    VALUE("identity", 0, identity, "NAME|ID", "a machine identity"),
    VALUE("client-id", 0, client_id, "ID", "machine identity client ID (ARCA_CLIENT_ID)"),
    VALUE("client-secret", 0, client_secret, "SECRET", "its client secret (ARCA_CLIENT_SECRET)"),
    VALUE("name", 'n', name, "NAME", "a display name"),
    VALUE("access", 0, access, "ACCESS", "read or read-write"),
    VALUE("expires-in", 0, expires_in, "DURATION", "30d (default), 12h, 45m, 3600s, or never"),
    VALUE("version", 0, version, "N", "a version number (see 'arca secrets history')"),
    VALUE("to", 0, to, "TIME", "ISO-8601 time or a duration ago (30m, 2h, 1d)"),
    VALUE("event", 0, event, "EVENT", "an event, or a prefix ending in '.' (secret.)"),
    VALUE("actor", 0, actor, "ACTOR", "an actor's id or name"),
    VALUE("since", 0, since, "TIME", "ISO-8601 time or a duration ago (24h)"),
    VALUE("until", 0, until, "TIME", "ISO-8601 time or a duration ago"),
    VALUE("limit", 0, limit, "N", "at most N records (1 to 1000, default 100)"),
    VALUE("access-token-ttl", 0, access_token_ttl, "DURATION", "access token lifetime (2h)"),
    VALUE("access-token-max-ttl", 0, access_token_max_ttl, "DURATION",
          "renewed at most until (30d)"),
    VALUE("trusted-ips", 0, trusted_ips, "CIDR,...", "the only addresses it may come from"),
    VALUE("access-token-num-uses-limit", 0, access_token_num_uses_limit, "N",
          "requests each access token may make (0: unlimited)"),
    VALUE("description", 0, description, "TEXT", "a description"),
    VALUE("ttl", 0, ttl, "DURATION", "expires after that long (default never)"),
    VALUE("num-uses-limit", 0, num_uses_limit, "N", "logins it allows (0: unlimited)"),
    VALUE("position", 0, position, "N", "1 to 1000 (default: last)"),
    VALUE("from", 0, from, "ENV:PATH", "the folder to import"),
    VALUE("tls-cert", 0, tls_cert, "FILE", "PEM certificate chain: serve HTTPS (ARCA_TLS_CERT)"),
    VALUE("tls-key", 0, tls_key, "FILE", "its PEM private key (ARCA_TLS_KEY)"),
    VALUE("login-limit-ip", 0, login_limit_ip, "BURST,PER_MINUTE", "logins per address (20,20)"),
    VALUE("login-limit-account", 0, login_limit_account, "BURST,PER_MINUTE",
          "failed logins per account (10,5)"),
    VALUE("output", 0, output, "FILE", "the file to write (backup, audit archive)"),
    VALUE("input", 0, input, "FILE", "the backup file to read"),
    VALUE("type", 0, type, "TYPE", "shared or personal (= --personal)"),
    VALUE("domain", 0, api_url, "URL", "= --api-url (Infisical's name)"),
    BOOL("silent", 0, silent, "no warnings or notices on stderr (errors still)"),
    VALUE("token", 0, token, "TOKEN", "a service token st.... for this command (= ARCA_TOKEN)"),
    VALUE("command", 'c', run_command, "'SHELL COMMAND'", "run this with sh -c, not COMMAND"),
    NEG("include-imports", no_imports, "= --[no-]imports (Infisical's name)"),
    BOOL("all", 'a', all, "revoked ones too"),
    VALUE("comment", 0, comment, "TEXT", "the secrets' comment (encrypted like the value)"),
    REPEAT("allow", allow, "SPEC", "a rule the role grants (repeatable)"),
    REPEAT("deny", deny, "SPEC", "a rule the role denies, winning over allow (repeatable)"),
    REPEAT("scope", scope, "ENV:PATH", "a further folder the token reads (repeatable)"),
    BOOL("plain", 0, plain, "print only the values, one per line"),
    BOOL("show-values", 0, show_values, "show the values too"),
    BOOL("password-stdin", 0, password_stdin, "read the password from stdin (else asked)"),
    BOOL("audit-async", 0, audit_async,
         "answer before audit records are durable (never in production)"),
    BOOL("server-access", 0, server_access, "the server keeps a copy of the project key"),
    NEG("expand", no_expand, "expand ${...} references (--no-expand: as written)"),
    BOOL("personal", 0, personal, "your personal override, not the shared secret"),
    NEG("overrides", no_overrides, "your personal overrides replace shared values"),
    NEG("imports", no_imports, "include what the folder imports"),
    BOOL("recursive", 0, recursive, "sub-folders too"),
    NEG("cache", no_cache, "use the offline cache when the server is unreachable"),
    BOOL("yes", 'y', yes, "go ahead without asking"),
    BOOL("dry-run", 0, dry_run, "print the plan and change nothing"),
    BOOL("purge", 0, purge, "delete its secrets and their history too"),
    BOOL("strict", 0, strict, "fail when a reference does not resolve (else: a warning)"),
    VALUE("verify", 0, verify, "FILE", "check this backup file as a restore would, no store"),
    VALUE("db-wait", 0, db_wait, "SECONDS", "retry a store that is not up yet (ARCA_DB_WAIT)"),
    VALUE("secret", 0, secret, "KEY", "share this secret's value"),
    VALUE("max-views", 0, max_views, "N", "views allowed: 1 (default), N or unlimited"),
    VALUE("max-lifetime", 0, max_lifetime, "DURATION", "the longest a share may live (30d)"),
    BOOL("anonymous", 0, anonymous, "shares open without an account (--no-anonymous: members)"),
    BOOL("value-stdin", 0, value_stdin, "read the value to share from stdin"),
    BOOL("org-only", 0, org_only, "only members of your organization may open it"),
    VALUE("metrics-listen", 0, metrics_listen, "ADDR:PORT", "serve GET /metrics there"),
    VALUE("site-url", 0, site_url, "URL", "the URL users reach the server at"),
    VALUE("config", 0, config, "FILE", "the agent's configuration file"),
    VALUE("agent-socket", 0, agent_socket, "PATH", "fetch through this agent (ARCA_AGENT_SOCKET)"),
    VALUE("grace", 0, grace, "DURATION", "--watch: how long the child gets to stop (10s)"),
    BOOL("watch", 0, watch, "restart the command when its secrets change"),
    BOOL("once", 0, once, "render the templates once and exit"),
    VALUE("before", 0, before, "TIME", "the records older than this (ISO-8601, or 90d ago)"),
    VALUE("archive", 0, archive, "FILE", "check this audit archive instead of the log"),
    VALUE("audit-retention-days", 0, audit_retention_days, "N",
          "archive audit records older than N days (ARCA_AUDIT_RETENTION_DAYS)"),
    VALUE("audit-archive-dir", 0, audit_archive_dir, "DIR",
          "where retention writes archives (ARCA_AUDIT_ARCHIVE_DIR)"),
};
const size_t cli_n_options = ELEMENTSOF(cli_options);

bool cli_option_global(const struct cli_option *o)
{
    static const char *const globals[] = {"api-url", "config-dir", "ca-cert",
                                          "help",    "domain",     "silent"};
    for (size_t i = 0; i < ELEMENTSOF(globals); i++)
        if (streq(o->name, globals[i]))
            return true;
    return false;
}

const struct cli_option *cli_option_find(const char *name, size_t len)
{
    for (size_t i = 0; i < ELEMENTSOF(cli_options); i++)
        if (strlen(cli_options[i].name) == len && strncmp(cli_options[i].name, name, len) == 0)
            return &cli_options[i];
    if (len == 9 && strncmp(name, "projectId", 9) == 0) /* Infisical's CLI spelling */
        return cli_option_find("project-id", 10);
    return NULL;
}

bool cli_command_takes(const char *flags, const struct cli_option *o)
{
    size_t len = strlen(o->name);

    if (cli_option_global(o))
        return true;
    for (const char *p = flags; p && *p;) {
        size_t n = strcspn(p, " ");
        if (n == len && strncmp(p, o->name, n) == 0)
            return true;
        p += n + (p[n] == ' ');
    }
    return false;
}

/* true/false and their usual spellings; -1 for anything else. */
static int bool_value(const char *v)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
                                                                                "off", "0"};
    for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
        if (streq(v, yes[i]))
            return 1;
        if (streq(v, no[i]))
            return 0;
    }
    return -1;
}

static int flag_unknown(const struct cli *c, const char *flags, const char *arg, size_t len)
{
    const char *best = NULL;
    unsigned best_d = 3;

    for (size_t i = 0; i < ELEMENTSOF(cli_options); i++) {
        if (!cli_command_takes(flags, &cli_options[i]))
            continue;
        unsigned d = cli_distance(arg, len, cli_options[i].name);
        if (d < best_d) {
            best_d = d;
            best = cli_options[i].name;
        }
    }
    if (best)
        fprintf(stderr,
                "arca: error: unknown flag --%.*s for 'arca %s'\narca: hint: did you mean --%s?\n",
                (int)len, arg, c->command, best);
    else
        cli_error(NULL, "unknown flag --%.*s for 'arca %s' (see 'arca %s --help')", (int)len, arg,
                  c->command, c->command);
    return -EINVAL;
}

/* Sets option o from value (NULL: none given; for a boolean, negate: --no-NAME). */
static int option_set(struct cli *c, const struct cli_option *o, const char *value, bool negate)
{
    char *field = (char *)c + o->offset;
    int kind = o->kind, b = 1;

    c->given[o - cli_options] = 1;
    if (kind == CLI_OPT_VALUE) {
        *(const char **)field = value;
        return 0;
    }
    if (kind == CLI_OPT_REPEAT) {
        size_t *n = (size_t *)((char *)c + o->n_offset);
        if (*n == CLI_MAX_REPEAT) {
            cli_error(NULL, "--%s is given more than %d times", o->name, CLI_MAX_REPEAT);
            return -E2BIG;
        }
        ((const char **)field)[(*n)++] = value;
        return 0;
    }
    if (value && (b = bool_value(value)) < 0) {
        cli_error("a flag that is on or off takes --NAME, --no-NAME or --NAME=true|false",
                  "--%s takes true or false, not '%s'", o->name, value);
        return -EINVAL;
    }
    *(bool *)field = (b != negate) != (kind == CLI_OPT_NEG);
    return 0;
}

int cli_parse(struct cli *c, int argc, char **argv, int first)
{
    bool children = c->args_spec && strstr(c->args_spec, "--");

    for (int i = first; i < argc; i++) {
        const char *arg = argv[i], *eq, *name, *value = NULL;
        const struct cli_option *o = NULL;
        size_t nl;
        bool negate = false;

        if (streq(arg, "--")) {
            if (children) {
                c->child_argv = &argv[i + 1];
                return 0;
            }
            for (i++; i < argc; i++) {
                if (c->n_args == CLI_MAX_ARGS) {
                    cli_error(NULL, "too many arguments");
                    return -E2BIG;
                }
                c->args[c->n_args++] = argv[i];
            }
            return 0;
        }
        if (arg[0] != '-' || arg[1] == 0 || (arg[1] >= '0' && arg[1] <= '9')) {
            if (c->n_args == CLI_MAX_ARGS) {
                cli_error(NULL, "too many arguments");
                return -E2BIG;
            }
            c->args[c->n_args++] = arg;
            continue;
        }
        if (arg[1] != '-') { /* -e prod, -eprod */
            for (size_t k = 0; k < ELEMENTSOF(cli_options) && !o; k++)
                if (cli_options[k].short_name == arg[1] &&
                    cli_command_takes(c->flags, &cli_options[k]))
                    o = &cli_options[k];
            if (!o) {
                cli_error(NULL, "unknown flag %s for 'arca %s' (see 'arca %s --help')", arg,
                          c->command, c->command);
                return -EINVAL;
            }
            if (o->kind == CLI_OPT_VALUE || o->kind == CLI_OPT_REPEAT) {
                if (!arg[2] && i + 1 >= argc) {
                    cli_error("run 'arca %s --help'", "flag -%c needs a value", arg[1]);
                    return -EINVAL;
                }
                value = arg[2] ? arg + 2 : argv[++i];
            } else if (arg[2]) {
                cli_error(NULL, "unknown flag %s for 'arca %s' (see 'arca %s --help')", arg,
                          c->command, c->command);
                return -EINVAL;
            }
            if (option_set(c, o, value, false) < 0)
                return -EINVAL;
            continue;
        }
        name = arg + 2;
        eq = strchr(name, '=');
        nl = eq ? (size_t)(eq - name) : strlen(name);
        o = cli_option_find(name, nl);
        if (!o && nl > 3 && strncmp(name, "no-", 3) == 0) {
            o = cli_option_find(name + 3, nl - 3);
            negate = true;
            if (o && o->kind != CLI_OPT_BOOL && o->kind != CLI_OPT_NEG)
                o = NULL;
        }
        if (!o)
            return flag_unknown(c, c->flags, name, nl);
        if (!cli_command_takes(c->flags, o)) {
            cli_error(NULL, "'arca %s' does not take --%s (see 'arca %s --help')", c->command,
                      o->name, c->command);
            return -EINVAL;
        }
        if (o->kind == CLI_OPT_VALUE || o->kind == CLI_OPT_REPEAT) {
            if (!eq && i + 1 >= argc) {
                cli_error("run 'arca %s --help'", "flag --%s needs a value", o->name);
                return -EINVAL;
            }
            value = eq ? eq + 1 : argv[++i];
        } else if (eq) {
            if (negate) {
                cli_error(NULL, "--no-%s takes no value", o->name);
                return -EINVAL;
            }
            value = eq + 1;
        }
        if (option_set(c, o, value, negate) < 0)
            return -EINVAL;
    }
    return 0;
}

bool cli_given(const struct cli *c, const char *name)
{
    const struct cli_option *o = cli_option_find(name, strlen(name));
    return o && c->given[o - cli_options];
}

unsigned cli_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b);
    unsigned row[64];

    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

bool cli_color(FILE *f)
{
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

    return (!no || !*no) && (!term || !streq(term, "dumb")) && isatty(fileno(f));
}

const char *cli_paint(FILE *f, enum cli_paint what)
{
    static const char *const codes[] = {
        [CLI_PAINT_OFF] = "\033[0m",        [CLI_PAINT_ERROR] = "\033[1;31m",
        [CLI_PAINT_WARNING] = "\033[1;33m", [CLI_PAINT_HINT] = "\033[36m",
        [CLI_PAINT_HEADER] = "\033[1m",
    };
    return cli_color(f) ? codes[what] : "";
}

void cli_error(const char *hint, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%sarca: error:%s ", cli_paint(stderr, CLI_PAINT_ERROR),
            cli_paint(stderr, CLI_PAINT_OFF));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (hint)
        fprintf(stderr, "%sarca: hint:%s %s\n", cli_paint(stderr, CLI_PAINT_HINT),
                cli_paint(stderr, CLI_PAINT_OFF), hint);
}

void cli_warning(const struct cli *c, const char *fmt, ...)
{
    va_list ap;

    if (c && c->silent)
        return;
    fprintf(stderr, "%sarca: warning:%s ", cli_paint(stderr, CLI_PAINT_WARNING),
            cli_paint(stderr, CLI_PAINT_OFF));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_exit_of(int err)
{
    switch (err) {
    case 0:
        return EXIT_OK;
    case -EACCES:
    case -EPERM:
        return EXIT_AUTH;
    case -ENOENT:
        return EXIT_NOTFOUND;
    case -EINVAL:
    case -E2BIG:
    case -EBADMSG:
        return EXIT_INVALID;
    case -ECONNREFUSED:
    case -EHOSTUNREACH:
    case -ETIMEDOUT:
    case -ECONNABORTED: /* TLS: untrusted certificate, failed handshake */
    case -ENOTCONN:     /* the server's database is unavailable (503) */
        return EXIT_UNREACHABLE;
    case -EEXIST:
        return EXIT_CONFLICT;
    case -EAGAIN:
        return EXIT_RATE_LIMITED;
    default:
        return EXIT_FAIL;
    }
}

int cli_fail(struct arca *a, int err)
{
    const char *msg = a ? arca_errmsg(a) : NULL;

    if (!msg || !*msg)
        msg = strerror(-err);
    const char *hint = NULL;
    if (err == -EACCES && a && arca_session_kind(a) == ARCA_SESSION_SERVICE_TOKEN)
        hint = "check ARCA_TOKEN: the service token may be revoked, expired or out of scope";
    else if (err == -EACCES && strstr(msg, "token"))
        hint = "log in again with 'arca login'";
    cli_error(hint, "%s", msg);
    return cli_exit_of(err);
}

int cli_fail_free(struct arca *a, int err)
{
    int r = cli_fail(a, err);
    arca_free(a);
    return r;
}

int cli_no_args(const struct cli *c, const char *hint)
{
    if (!c->n_args)
        return EXIT_OK;
    cli_error(hint, "unexpected argument '%s'", c->args[0]);
    return EXIT_USAGE;
}

bool cli_env_token(void)
{
    const char *t = getenv("ARCA_TOKEN");
    if (!t || !*t)
        t = getenv("INFISICAL_TOKEN");
    return t && *t;
}

const char *cli_change_name(enum arca_change change)
{
    static const char *const names[] = {
        [ARCA_CREATED] = "created",
        [ARCA_UPDATED] = "updated",
        [ARCA_UNCHANGED] = "unchanged",
        [ARCA_DELETED] = "deleted",
    };
    return names[change];
}

void cli_print_json(json_t *v, bool secret)
{
    char *text = v ? json_dumps(v, JSON_INDENT(2)) : NULL;

    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        if (secret)
            arca_secret_string_free(text);
        else
            free(text);
    }
    json_decref(v);
}

/* cache_for: arca_cache_enable's for_what, or NULL for no offline cache. */
static int client_open(const struct cli *c, bool need_login, bool use_env, const char *cache_for,
                       struct arca **ret)
{
    struct arca *a = NULL;
    int r;

    r = arca_new(c->api_url, &a);
    if (r == -ENOENT) {
        cli_error("set ARCA_CA_CERT to a readable PEM file, or unset it",
                  "cannot read the CA certificate file '%s' (ARCA_CA_CERT)",
                  getenv("ARCA_CA_CERT"));
        return EXIT_NOTFOUND;
    }
    if (r < 0) {
        cli_error("pass --api-url http://HOST:PORT or set ARCA_API_URL", "invalid API URL");
        return EXIT_USAGE;
    }
    if (c->ca_cert && (r = arca_set_ca_cert(a, c->ca_cert)) < 0)
        return cli_fail_free(a, r);
    if (cache_for)
        (void)arca_cache_enable(a, NULL, cache_for); /* without one, it works online only */
    if (need_login) {
        /* credentials in the environment log in in memory, before any saved session */
        r = c->token  ? arca_login_service_token(a, c->token)
            : use_env ? arca_login_environment(a)
                      : -ENOENT;
        if (c->token && r == -EACCES && !strstr(arca_errmsg(a), "revoked"))
            cli_error(NULL, "--token is not a valid service token (st.<id>.<secret>.<key>)");
        if (r == 0) {
            *ret = a;
            return EXIT_OK;
        }
        if (r != -ENOENT) {
            cli_error("check ARCA_TOKEN, or ARCA_CLIENT_ID and ARCA_CLIENT_SECRET", "%s",
                      arca_errmsg(a));
            arca_free(a);
            return cli_exit_of(r);
        }
        r = arca_session_load(a, c->config_dir);
        if (r == -ENOENT && startswith(arca_errmsg(a), "not logged in to ")) {
            /* a session for another URL: libarca's message names both */
            cli_error("log in to this server ('arca login --email EMAIL' replaces the saved "
                      "session), or give the saved one's --api-url",
                      "%s", arca_errmsg(a));
            arca_free(a);
            return EXIT_AUTH;
        }
        if (r == -ENOENT) {
            cli_error("run 'arca login --email EMAIL' first (or set ARCA_CONFIG_DIR)",
                      "not logged in to %s", arca_api_url(a));
            arca_free(a);
            return EXIT_AUTH;
        }
        if (r < 0)
            return cli_fail_free(a, r);
    }
    if (arca_url_cleartext_remote(a))
        cli_warning(NULL,
                    "%s is plain http to another machine: tokens and keys cross the network "
                    "unencrypted (use https://, see docs/tls.md)",
                    arca_api_url(a));
    *ret = a;
    return EXIT_OK;
}

/* The defaultEnvironment of the project file read last (.arca.json or
 * .infisical.json), "" if none. */
static char file_env[NAME_SLUG_MAX + 1];

/* Reads the project id (and defaultEnvironment) from one project file: 0,
 * -ENOENT (no such file), -EINVAL (printed). */
static int project_file_read(const char *path, const char *field, char *out, size_t size)
{
    _cleanup_buf_ struct buf content = BUF_INIT;
    _cleanup_json_ json_t *j = NULL;
    char chunk[4096];
    const char *id;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -ENOENT;
    buf_init(&content, ARCA_JSON_MAX);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if (buf_add(&content, chunk, (size_t)n) < 0)
            break;
    close(fd);
    if (wire_parse(content.ptr ? content.ptr : "", content.len, &j, NULL) < 0 ||
        wire_get_str(j, field, size - 1, &id) < 0) {
        cli_error("run 'arca init --project-id <id>' to write .arca.json",
                  "%s is not valid: it needs {\"%s\": \"...\"}", path, field);
        return -EINVAL;
    }
    snprintf(out, size, "%s", id);
    const char *env;
    if (wire_get_str(j, "defaultEnvironment", NAME_SLUG_MAX, &env) == 0 && name_slug_valid(env))
        snprintf(file_env, sizeof(file_env), "%s", env);
    return 0;
}

/* Looks for .arca.json in the current directory and its parents; where a
 * directory has none, Infisical's .infisical.json ("workspaceId") serves, so
 * existing setups keep working. */
int cli_project_file(char *out, size_t size)
{
    static const struct {
        const char *name, *field;
    } files[] = {{".arca.json", "projectId"}, {".infisical.json", "workspaceId"}};
    char dir[4096];
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r;

    if (!getcwd(dir, sizeof(dir)))
        return -ENOENT;
    for (;;) {
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
            buf_clear(&path);
            if (buf_printf(&path, "%s/%s", streq(dir, "/") ? "" : dir, files[i].name) < 0)
                return -ENOMEM;
            r = project_file_read(path.ptr, files[i].field, out, size);
            if (r != -ENOENT)
                return r;
        }
        if (streq(dir, "/"))
            return -ENOENT;
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            dir[1] = 0;
        else
            *slash = 0;
    }
}

/* --project-id, else ARCA_PROJECT_ID, else INFISICAL_PROJECT_ID; NULL if none. */
static const char *project_given(const struct cli *c)
{
    const char *pid = c->project_id;

    if (!pid || !*pid)
        pid = getenv("ARCA_PROJECT_ID");
    if (!pid || !*pid)
        pid = getenv("INFISICAL_PROJECT_ID");
    return pid && *pid ? pid : NULL;
}

int cli_scope(const struct cli *c, struct arca_scope *scope, char *project_buf, size_t size)
{
    const char *pid = project_given(c);
    int r;

    if ((!pid || !*pid) && (cli_env_token() || c->token)) {
        pid = NULL; /* the service token's project, once logged in */
    } else if (!pid || !*pid) {
        r = cli_project_file(project_buf, size);
        if (r == -ENOENT) {
            cli_error("run 'arca init --project-id <id>' in your project's directory, or pass "
                      "--project-id",
                      "no project selected: no .arca.json here or in a parent directory");
            return EXIT_NOTFOUND;
        }
        if (r < 0)
            return EXIT_INVALID;
        pid = project_buf;
    }
    scope->project_id = pid;
    scope->environment = c->env ? c->env : *file_env ? file_env : "dev";
    scope->path = c->path ? c->path : "/";
    scope->flags = c->personal ? ARCA_PERSONAL : 0;
    return EXIT_OK;
}

int cli_client(const struct cli *c, bool need_login, struct arca **ret)
{
    return client_open(c, need_login, true, NULL, ret);
}

int cli_client_saved(const struct cli *c, struct arca **ret)
{
    return client_open(c, true, false, NULL, ret);
}

/* Is s shaped like a project id (a UUID)? */
static bool uuid_like(const char *s)
{
    size_t n = strlen(s);

    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

int cli_project_resolve(const struct cli *c, struct arca *a, const char **pid)
{
    static char id[128];
    struct arca_project *v = NULL;
    size_t n = 0;
    int r;

    if (uuid_like(*pid) || arca_session_kind(a) == ARCA_SESSION_SERVICE_TOKEN)
        return EXIT_OK;
    r = arca_projects_list(a, &v, &n);
    if (r < 0)
        return EXIT_OK; /* let the command say what is wrong with it */
    r = EXIT_NOTFOUND;
    for (size_t i = 0; i < n && r; i++)
        if (streq(v[i].slug, *pid) || streq(v[i].id, *pid)) {
            snprintf(id, sizeof(id), "%s", v[i].id);
            *pid = id;
            r = EXIT_OK;
        }
    if (r)
        cli_error("see 'arca projects list'", "no project with the id or slug '%s'", *pid);
    arca_projects_free(v, n);
    return r;
}

static int client_scoped(const struct cli *c, const char *cache_for, struct arca **ret,
                         struct arca_scope *scope)
{
    int r = client_open(c, true, true, cache_for, ret);
    if (r)
        return r;
    bool from_token = !scope->project_id;
    if (!scope->project_id)
        scope->project_id = arca_session_project_id(*ret);
    /* the service token's project, and no --env: its only environment */
    if (from_token && !c->env && !*file_env && arca_session_environment(*ret))
        scope->environment = arca_session_environment(*ret);
    if (!scope->project_id) {
        cli_error("pass --project-id", "no project selected");
        arca_free(*ret);
        *ret = NULL;
        return EXIT_NOTFOUND;
    }
    r = cli_project_resolve(c, *ret, &scope->project_id);
    if (r) {
        arca_free(*ret);
        *ret = NULL;
    }
    return r;
}

int cli_client_scoped(const struct cli *c, struct arca **ret, struct arca_scope *scope)
{
    return client_scoped(c, NULL, ret, scope);
}

int cli_client_scope(const struct cli *c, struct arca **ret, struct arca_scope *scope,
                     char *project_buf, size_t size)
{
    int r = cli_scope(c, scope, project_buf, size);
    return r ? r : cli_client_scoped(c, ret, scope);
}

/* Is the offline cache on: not with --no-cache, nor with ARCA_NO_CACHE set
 * (to anything but "", "0" or "false"). */
static bool cache_wanted(const struct cli *c)
{
    const char *env = getenv("ARCA_NO_CACHE");

    return !c->no_cache && (!env || !*env || streq(env, "0") || streq(env, "false"));
}

/* "3h12m": the age of what the cache held. */
static void age_format(int64_t ms, char *out, size_t size)
{
    long long s = ms > 0 ? ms / 1000 : 0;

    if (s < 60)
        snprintf(out, size, "%llds", s);
    else if (s < 3600)
        snprintf(out, size, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, size, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(out, size, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

/* After a fetch with the cache on: says on stderr that the secrets came from
 * it, or writes what the server answered into it. */
static void cache_finish(struct arca *a)
{
    int64_t saved_at = 0;
    int why = arca_cache_used(a, &saved_at);
    char when[64] = "an unknown time", age[32];
    time_t t = (time_t)(saved_at / 1000);
    struct tm tm;

    if (!why) {
        if (arca_cache_commit(a) < 0)
            cli_warning(NULL, "the offline cache was not updated: %s", arca_errmsg(a));
        return;
    }
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    age_format(now_ms() - saved_at, age, sizeof(age));
    fprintf(stderr, "arca: server unreachable (%s); using secrets cached at %s (age %s)\n",
            why == -ECONNREFUSED   ? "connection refused"
            : why == -EHOSTUNREACH ? "host not found"
            : why == -ETIMEDOUT    ? "no answer in time"
            : why == -ENOTCONN     ? "it answered 503: the database is unavailable"
                                   : "the proxy in front of it answered 502/503/504",
            when, age);
}

int cli_expand(const struct cli *c, struct arca *a, const struct arca_scope *scope,
               struct arca_secret_list *l, bool (*wanted)(const char *key, const void *ud),
               const void *ud)
{
    char **warnings = NULL;
    size_t n = 0;
    int r;

    if (c->no_expand)
        return 0;
    if (c->strict)
        return arca_secrets_expand(a, scope, l);
    r = arca_secrets_expand_lenient(a, scope, l, &warnings, &n);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        /* "secret 'KEY' refers to ...": only about the keys asked for */
        const char *k = warnings[i] + strlen("secret '");
        _cleanup_free_ char *key = strndup(k, strcspn(k, "'"));
        if (!wanted || (key && wanted(key, ud)))
            cli_warning(c, "%s (--strict: fail instead)", warnings[i]);
    }
    arca_strings_free(warnings, n);
    return r;
}

static int fetch_folder(const struct cli *c, unsigned flags, bool cache, struct arca **a,
                        struct arca_secret_list **ret)
{
    struct arca_scope scope;
    char project[128];
    _cleanup_buf_ struct buf cache_for = BUF_INIT;
    int r = cli_scope(c, &scope, project, sizeof(project));

    if (r)
        return r;
    scope.flags = (c->no_overrides ? ARCA_SHARED_ONLY : flags) |
                  (c->no_imports ? 0 : ARCA_IMPORTS) | (c->recursive ? ARCA_RECURSIVE : 0);
    cache = cache && cache_wanted(c);
    /* the server's URL is added by libarca; a service token's project is its own */
    /* a service token's project and (implicit) environment are the token's own,
     * the same on every run: the entry says "the token's" rather than a guess */
    bool token_env = !c->env && !*file_env && !scope.project_id;
    if (cache &&
        buf_printf(&cache_for, "folder\n%s\n%s\n%s\n%u\n%d",
                   scope.project_id ? scope.project_id : "", token_env ? "" : scope.environment,
                   scope.path, scope.flags, !c->no_expand) < 0)
        cache = false;
    r = client_scoped(c, cache ? cache_for.ptr : NULL, a, &scope);
    if (r)
        return r;
    r = arca_secrets_list(*a, &scope, ret);
    if (r >= 0) {
        r = cli_expand(c, *a, &scope, *ret, NULL, NULL);
        if (r < 0) {
            arca_secret_list_free(*ret);
            *ret = NULL;
        }
    }
    if (r < 0)
        return cli_fail(*a, r);
    if (cache)
        cache_finish(*a);
    return EXIT_OK;
}

int cli_fetch_folder(const struct cli *c, unsigned flags, struct arca **a,
                     struct arca_secret_list **ret)
{
    return fetch_folder(c, flags, false, a, ret);
}

int cli_fetch_folder_cached(const struct cli *c, unsigned flags, struct arca **a,
                            struct arca_secret_list **ret)
{
    return fetch_folder(c, flags, true, a, ret);
}

int cli_project(const struct cli *c, struct arca *a, const char **ret, char *project_buf,
                size_t size)
{
    const char *pid = project_given(c);

    if (!pid || !*pid)
        pid = a ? arca_session_project_id(a) : NULL;
    if (!pid || !*pid) {
        int r = cli_project_file(project_buf, size);
        if (r == -ENOENT) {
            cli_error("pass --project-id ID (see 'arca projects list')", "no project selected");
            return EXIT_NOTFOUND;
        }
        if (r < 0)
            return EXIT_INVALID;
        pid = project_buf;
    }
    *ret = pid;
    return EXIT_OK;
}

int cli_client_project(const struct cli *c, struct arca **a, const char **ret, char *project_buf,
                       size_t size)
{
    int r = cli_client(c, true, a);
    if (r)
        return r;
    r = cli_project(c, *a, ret, project_buf, size);
    if (r == 0)
        r = cli_project_resolve(c, *a, ret);
    if (r) {
        arca_free(*a);
        *a = NULL;
    }
    return r;
}

int cli_read_password(const struct cli *c, char **ret, size_t *ret_len)
{
    return cli_read_password_prompt(c, "Password: ", ret, ret_len);
}

int cli_read_password_prompt(const struct cli *c, const char *prompt, char **ret, size_t *ret_len)
{
    struct termios old, quiet;
    bool tty = !c->password_stdin && isatty(STDIN_FILENO);
    char *pw = calloc(1, PASSWORD_MAX + 2);
    size_t len;

    if (!pw)
        return -ENOMEM;
    if (!c->password_stdin && !tty) {
        free(pw);
        cli_error("pipe it in: echo \"$PW\" | arca ... --password-stdin", "no password given");
        return -EINVAL;
    }
    if (tty) {
        /* echo off (and what was typed before dropped) first, then the prompt:
         * an answer typed once the prompt shows is never flushed */
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        fputs(prompt, stderr);
        fflush(stderr);
    }
    if (!fgets(pw, PASSWORD_MAX + 2, stdin))
        pw[0] = 0;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    len = strlen(pw);
    if (len > 0 && pw[len - 1] == '\n')
        pw[--len] = 0;
    if (len > 0 && pw[len - 1] == '\r')
        pw[--len] = 0;
    if (len == 0 || len > PASSWORD_MAX) {
        arca_secret_string_free(pw);
        if (len)
            cli_error(NULL, "password is longer than %d bytes", PASSWORD_MAX);
        else
            cli_error(NULL, "empty password");
        return -EINVAL;
    }
    *ret = pw;
    *ret_len = len;
    return 0;
}

int cli_format(const struct cli *c, const char *const *allowed, const char **ret)
{
    if (!c->format) {
        *ret = allowed[0];
        return 0;
    }
    for (size_t i = 0; allowed[i]; i++)
        if (streq(allowed[i], c->format)) {
            *ret = allowed[i];
            return 0;
        }
    cli_error(NULL, "unknown --format '%s' for 'arca %s'", c->format, c->command);
    return -EINVAL;
}

int cli_format_json(const struct cli *c, const char *plain, bool *ret)
{
    const char *const allowed[] = {plain, "json", NULL};
    const char *format;

    if (cli_format(c, allowed, &format) < 0)
        return -EINVAL;
    *ret = streq(format, "json");
    return 0;
}

int cli_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
    _cleanup_free_ char *tmp = NULL;
    int fd, ret = 0;

    if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
        return -ENOMEM;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        cli_error(NULL, "cannot write '%s': %s", path, strerror(errno));
        return -errno;
    }
    if (fchmod(fd, mode) < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
        ret = -errno;
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    if (ret == 0 && rename(tmp, path) < 0)
        ret = -errno;
    if (ret < 0) {
        cli_error(NULL, "cannot write '%s': %s", path, strerror(-ret));
        unlink(tmp);
    }
    return ret;
}

void cli_plan(const struct cli *c, const char *fmt, ...)
{
    va_list ap;

    if (c->yes && !c->dry_run)
        return;
    va_start(ap, fmt);
    vfprintf(c->dry_run ? stdout : stderr, fmt, ap);
    va_end(ap);
}

int cli_confirm(const struct cli *c, const char *question, bool *go)
{
    char line[16];

    *go = false;
    if (c->dry_run) {
        fprintf(stderr, "dry run: nothing was changed\n");
        return EXIT_OK;
    }
    if (c->yes) {
        *go = true;
        return EXIT_OK;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
        cli_error("pass --yes to go ahead, or --dry-run to see the plan only",
                  "'arca %s' deletes or replaces data and there is no terminal to confirm on",
                  c->command);
        return EXIT_USAGE;
    }
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    if (fgets(line, sizeof(line), stdin) &&
        (streq(line, "y\n") || streq(line, "Y\n") || streq(line, "yes\n"))) {
        *go = true;
        return EXIT_OK;
    }
    cli_error(NULL, "cancelled: nothing was changed");
    return EXIT_FAIL;
}

int cli_confirm_typed(const struct cli *c, const char *what, const char *word, bool *go)
{
    char line[256];

    *go = false;
    if (c->dry_run || c->yes || !isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
        return cli_confirm(c, what, go);
    fprintf(stderr, "%s Type '%s' to go ahead: ", what, word);
    fflush(stderr);
    if (fgets(line, sizeof(line), stdin) && (line[strcspn(line, "\r\n")] = 0, streq(line, word))) {
        *go = true;
        return EXIT_OK;
    }
    cli_error(NULL, "cancelled: nothing was changed");
    return EXIT_FAIL;
}

void cli_ago(int64_t s, char *out, size_t size)
{
    static const struct {
        int64_t seconds;
        const char *unit;
    } units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};

    for (size_t i = 0; i < ELEMENTSOF(units); i++)
        if (s >= units[i].seconds || i + 1 == ELEMENTSOF(units)) {
            long long n = s / units[i].seconds;
            snprintf(out, size, "%lld %s%s ago", n, units[i].unit, n == 1 ? "" : "s");
            return;
        }
}

int cli_time_arg(const char *flag, const char *in, char out[static 25], int64_t *ret_ago)
{
    int64_t ms, seconds, now = now_ms();

    if (time_parse_iso(in, &ms) == 0 || arca_duration_parse(in, &seconds) == 0) {
        if (time_parse_iso(in, &ms) < 0)
            ms = now - seconds * 1000;
        time_format_iso(ms, out);
        strcpy(out + 19, "Z"); /* whole seconds: 2026-11-29T10:00:00Z */
        *ret_ago = (now - ms) / 1000;
        return 0;
    }
    cli_error("give an ISO-8601 time (2026-11-29T10:00:00Z) or a duration ago (30m, 2h, 1d)",
              "%s '%s' is not a time", flag, in);
    return -EINVAL;
}
