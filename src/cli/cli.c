/* cli.c - flag parsing, errors and exit codes, the client handle, the project
 * scope and password input, shared by every command.
 *
 * Flags are looked up in one table (name -> field of struct cli) and take
 * "--flag value" or "--flag=value"; booleans take no value.  Everything after
 * "--" is the child command of `arca run`. */
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

static const struct {
    const char *name;
    size_t offset; /* of a const char * field */
} value_flags[] = {
    {"api-url", offsetof(struct cli, api_url)},
    {"config-dir", offsetof(struct cli, config_dir)},
    {"env", offsetof(struct cli, env)},
    {"path", offsetof(struct cli, path)},
    {"project-id", offsetof(struct cli, project_id)},
    {"projectId", offsetof(struct cli, project_id)},
    {"format", offsetof(struct cli, format)},
    {"output-file", offsetof(struct cli, output_file)},
    {"email", offsetof(struct cli, email)},
    {"organization", offsetof(struct cli, organization)},
    {"listen", offsetof(struct cli, listen)},
    {"metrics-listen", offsetof(struct cli, metrics_listen)},
    {"site-url", offsetof(struct cli, site_url)},
    {"data-dir", offsetof(struct cli, data_dir)},
    {"database-url", offsetof(struct cli, database_url)},
    {"max-body", offsetof(struct cli, max_body)},
    {"threads", offsetof(struct cli, threads)},
    {"log-level", offsetof(struct cli, log_level)},
    {"method", offsetof(struct cli, method)},
    {"role", offsetof(struct cli, role)},
    {"org-role", offsetof(struct cli, org_role)},
    {"organization-id", offsetof(struct cli, organization_id)},
    {"invite", offsetof(struct cli, invite)},
    {"identity", offsetof(struct cli, identity)},
    {"client-id", offsetof(struct cli, client_id)},
    {"client-secret", offsetof(struct cli, client_secret)},
    {"name", offsetof(struct cli, name)},
    {"access", offsetof(struct cli, access)},
    {"expires-in", offsetof(struct cli, expires_in)},
    {"version", offsetof(struct cli, version)},
    {"to", offsetof(struct cli, to)},
    {"event", offsetof(struct cli, event)},
    {"actor", offsetof(struct cli, actor)},
    {"since", offsetof(struct cli, since)},
    {"until", offsetof(struct cli, until)},
    {"limit", offsetof(struct cli, limit)},
    {"access-token-ttl", offsetof(struct cli, access_token_ttl)},
    {"access-token-max-ttl", offsetof(struct cli, access_token_max_ttl)},
    {"trusted-ips", offsetof(struct cli, trusted_ips)},
    {"access-token-num-uses-limit", offsetof(struct cli, access_token_num_uses_limit)},
    {"description", offsetof(struct cli, description)},
    {"ttl", offsetof(struct cli, ttl)},
    {"num-uses-limit", offsetof(struct cli, num_uses_limit)},
    {"position", offsetof(struct cli, position)},
    {"from", offsetof(struct cli, from)},
    {"tls-cert", offsetof(struct cli, tls_cert)},
    {"tls-key", offsetof(struct cli, tls_key)},
    {"login-limit-ip", offsetof(struct cli, login_limit_ip)},
    {"login-limit-account", offsetof(struct cli, login_limit_account)},
    {"ca-cert", offsetof(struct cli, ca_cert)},
    {"output", offsetof(struct cli, output)},
    {"input", offsetof(struct cli, input)},
    {"verify", offsetof(struct cli, verify)},
    {"db-wait", offsetof(struct cli, db_wait)},
    {"secret", offsetof(struct cli, secret)},
    {"max-views", offsetof(struct cli, max_views)},
    {"max-lifetime", offsetof(struct cli, max_lifetime)},
    {"anonymous", offsetof(struct cli, anonymous)},
    {"config", offsetof(struct cli, config)},
    {"agent-socket", offsetof(struct cli, agent_socket)},
    {"grace", offsetof(struct cli, grace)},
};

static const struct {
    const char *name;
    size_t offset;   /* of a const char *[CLI_MAX_REPEAT] field */
    size_t n_offset; /* of its size_t count */
} repeat_flags[] = {
    {"allow", offsetof(struct cli, allow), offsetof(struct cli, n_allow)},
    {"deny", offsetof(struct cli, deny), offsetof(struct cli, n_deny)},
    {"scope", offsetof(struct cli, scope), offsetof(struct cli, n_scope)},
};

static const struct {
    const char *name;
    size_t offset; /* of a bool field */
    bool invert;   /* the field holds the flag's negation (a flag that defaults to true) */
} bool_flags[] = {
    {"plain", offsetof(struct cli, plain)},
    {"show-values", offsetof(struct cli, show_values)},
    {"password-stdin", offsetof(struct cli, password_stdin)},
    {"help", offsetof(struct cli, help)},
    {"audit-async", offsetof(struct cli, audit_async)},
    {"server-access", offsetof(struct cli, server_access)},
    {"expand", offsetof(struct cli, no_expand), true},
    {"personal", offsetof(struct cli, personal)},
    {"no-overrides", offsetof(struct cli, no_overrides)},
    {"imports", offsetof(struct cli, no_imports), true},
    {"no-imports", offsetof(struct cli, no_imports)},
    {"recursive", offsetof(struct cli, recursive)},
    {"no-cache", offsetof(struct cli, no_cache)},
    {"cache", offsetof(struct cli, no_cache), true},
    {"value-stdin", offsetof(struct cli, value_stdin)},
    {"org-only", offsetof(struct cli, org_only)},
    {"once", offsetof(struct cli, once)},
    {"watch", offsetof(struct cli, watch)},
};

int cli_parse(struct cli *c, int argc, char **argv, int first)
{
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i], *eq;
        size_t nl;
        bool found = false;

        if (streq(arg, "--")) {
            c->child_argv = &argv[i + 1];
            return 0;
        }
        if (streq(arg, "-h"))
            arg = "--help";
        if (!startswith(arg, "--") || arg[2] == 0) {
            if (c->n_args == CLI_MAX_ARGS) {
                cli_error(NULL, "too many arguments");
                return -E2BIG;
            }
            c->args[c->n_args++] = arg;
            continue;
        }
        arg += 2;
        eq = strchr(arg, '=');
        nl = eq ? (size_t)(eq - arg) : strlen(arg);
        for (size_t f = 0; f < ELEMENTSOF(value_flags) && !found; f++) {
            if (strlen(value_flags[f].name) != nl || strncmp(value_flags[f].name, arg, nl) != 0)
                continue;
            found = true;
            if (!eq && i + 1 >= argc) {
                cli_error("run 'arca %s --help'", "flag --%s needs a value", value_flags[f].name);
                return -EINVAL;
            }
            *(const char **)((char *)c + value_flags[f].offset) = eq ? eq + 1 : argv[++i];
        }
        for (size_t f = 0; f < ELEMENTSOF(repeat_flags) && !found; f++) {
            if (strlen(repeat_flags[f].name) != nl || strncmp(repeat_flags[f].name, arg, nl) != 0)
                continue;
            found = true;
            if (!eq && i + 1 >= argc) {
                cli_error("run 'arca %s --help'", "flag --%s needs a value", repeat_flags[f].name);
                return -EINVAL;
            }
            size_t *n = (size_t *)((char *)c + repeat_flags[f].n_offset);
            if (*n == CLI_MAX_REPEAT) {
                cli_error(NULL, "--%s is given more than %d times", repeat_flags[f].name,
                          CLI_MAX_REPEAT);
                return -E2BIG;
            }
            ((const char **)((char *)c + repeat_flags[f].offset))[(*n)++] = eq ? eq + 1 : argv[++i];
        }
        for (size_t f = 0; f < ELEMENTSOF(bool_flags) && !found; f++) {
            if (strlen(bool_flags[f].name) != nl || strncmp(bool_flags[f].name, arg, nl) != 0)
                continue;
            found = true;
            *(bool *)((char *)c + bool_flags[f].offset) =
                (!eq || streq(eq + 1, "true")) != bool_flags[f].invert;
        }
        if (!found) {
            cli_error(NULL, "unknown flag --%.*s for 'arca %s' (see 'arca %s --help')", (int)nl,
                      arg, c->command, c->command);
            return -EINVAL;
        }
    }
    return 0;
}

void cli_error(const char *hint, const char *fmt, ...)
{
    va_list ap;

    fputs("arca: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (hint)
        fprintf(stderr, "arca: hint: %s\n", hint);
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
        r = use_env ? arca_login_environment(a) : -ENOENT;
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
        fprintf(stderr,
                "arca: warning: %s is plain http to another machine: tokens and keys cross the "
                "network unencrypted (use https://, see docs/tls.md)\n",
                arca_api_url(a));
    *ret = a;
    return EXIT_OK;
}

/* Reads the project id from one project file: 0, -ENOENT (no such file),
 * -EINVAL (printed). */
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

int cli_scope(const struct cli *c, struct arca_scope *scope, char *project_buf, size_t size)
{
    const char *pid = c->project_id ? c->project_id : getenv("ARCA_PROJECT_ID");
    int r;

    if ((!pid || !*pid) && cli_env_token()) {
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
    scope->environment = c->env ? c->env : "dev";
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

static int client_scoped(const struct cli *c, const char *cache_for, struct arca **ret,
                         struct arca_scope *scope)
{
    int r = client_open(c, true, true, cache_for, ret);
    if (r)
        return r;
    if (!scope->project_id)
        scope->project_id = arca_session_project_id(*ret);
    if (!scope->project_id) {
        cli_error("pass --project-id", "no project selected");
        arca_free(*ret);
        *ret = NULL;
        return EXIT_NOTFOUND;
    }
    return EXIT_OK;
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
            fprintf(stderr, "arca: warning: the offline cache was not updated: %s\n",
                    arca_errmsg(a));
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
    if (cache && buf_printf(&cache_for, "folder\n%s\n%s\n%s\n%u\n%d",
                            scope.project_id ? scope.project_id : "", scope.environment, scope.path,
                            scope.flags, !c->no_expand) < 0)
        cache = false;
    r = client_scoped(c, cache ? cache_for.ptr : NULL, a, &scope);
    if (r)
        return r;
    r = arca_secrets_list(*a, &scope, ret);
    if (r >= 0 && !c->no_expand) {
        r = arca_secrets_expand(*a, &scope, *ret);
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
    const char *pid = c->project_id ? c->project_id : getenv("ARCA_PROJECT_ID");

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
    if (r) {
        arca_free(*a);
        *a = NULL;
    }
    return r;
}

int cli_read_password(const struct cli *c, char **ret, size_t *ret_len)
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
        fputs("Password: ", stderr);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
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
