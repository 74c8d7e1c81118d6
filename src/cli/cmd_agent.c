/* cmd_agent.c - `arca agent --config FILE`: a long-running client for servers
 * and sidecars.
 *
 * It logs in as a machine identity, fetches the folders its templates and its
 * `serve` list name, renders each template to its file (atomically, mode
 * 0600) and runs the template's command when a file changed.  It keeps the
 * data fresh with conditional GETs (If-None-Match: a 304 costs the server no
 * serialisation and the agent no decryption of a new body) every interval,
 * and, unless `watch: false`, with the server's change feed (a long poll that
 * answers when the server changed something: then it asks again at once).
 * With `socket:` it serves `arca run` on a Unix socket (agent_proto.h).
 *
 * Threads: the main thread waits for SIGTERM/SIGINT and removes the socket;
 * one thread refreshes; one serves the socket from the last data, under a
 * lock.  Decrypted values live in libarca's secure strings and the rendered
 * text in secret buffers; logs name folders, files and counts, never a value.
 *
 * Errors: a server that cannot be reached, or answers 5xx, is retried with a
 * growing delay (1 s .. interval) while the files and the socket keep the last
 * data; refused credentials (a revoked client secret, a deleted identity) end
 * the agent with exit code 3 and a message saying so. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_proto.h"
#include "base/log.h"
#include "base/names.h"
#include "base/util.h"
#include "cli.h"
#include "conf.h"
#include "template.h"

#define AGENT_CONFIG_MAX (256u * 1024)
#define AGENT_TEMPLATES_MAX 64
#define AGENT_SCOPES_MAX 64
#define AGENT_INTERVAL_DEFAULT 30
#define AGENT_COMMAND_TIMEOUT_DEFAULT 30

struct agent_scope {
    char *environment;             /* OWNED */
    char *path;                    /* OWNED */
    struct arca_secret_list *list; /* OWNED, under agent.lock; NULL until fetched */
};

struct agent_template {
    size_t scope;                /* index in agent.scopes */
    char *format;                /* OWNED: an export format, or "template" */
    char *text;                  /* OWNED: format template: the template */
    enum template_escape escape; /* format template: how values are escaped */
    char *destination;           /* OWNED */
    char *command;               /* OWNED, NULL: none; run with /bin/sh -c */
    int64_t timeout_s;           /* of the command */
    bool rendered_once;          /* the first render runs no command */
};

static struct {
    const char *api_url, *ca_cert, *socket_path; /* BORROWED from cfg */
    const char *project_id;
    char *client_id;          /* OWNED */
    struct buf client_secret; /* SECRET */
    int64_t interval_s;
    bool watch, once;
    struct agent_scope scopes[AGENT_SCOPES_MAX];
    size_t n_scopes;
    struct agent_template templates[AGENT_TEMPLATES_MAX];
    size_t n_templates;
    pthread_mutex_t lock;
    json_t *cfg; /* OWNED: the parsed file */
    int listen_fd;
} agent = {.lock = PTHREAD_MUTEX_INITIALIZER, .listen_fd = -1};

/* --- configuration ------------------------------------------------------- */

static int conf_str(const json_t *o, const char *name, const char **ret)
{
    json_t *v = json_object_get(o, name);

    if (!v)
        return 0;
    if (!json_is_string(v) || !*json_string_value(v)) {
        cli_error("see docs/agent.md", "agent config: '%s' must be a non-empty text value", name);
        return -EINVAL;
    }
    *ret = json_string_value(v);
    return 0;
}

static int conf_bool(const json_t *o, const char *name, bool *ret)
{
    const char *s = NULL;

    if (conf_str(o, name, &s) < 0)
        return -EINVAL;
    if (!s)
        return 0;
    if (streq(s, "true") || streq(s, "false")) {
        *ret = streq(s, "true");
        return 0;
    }
    cli_error("see docs/agent.md", "agent config: '%s' must be true or false", name);
    return -EINVAL;
}

static int conf_duration(const json_t *o, const char *name, int64_t *ret)
{
    const char *s = NULL;
    int64_t v;

    if (conf_str(o, name, &s) < 0)
        return -EINVAL;
    if (!s)
        return 0;
    if (arca_duration_parse(s, &v) < 0 || v < 1 || v > 86400) {
        cli_error("see docs/agent.md",
                  "agent config: '%s' must be a duration from 1s to 24h, such as 30s or 5m", name);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

/* Refuses names the reader does not know (a typo must not silently mean the default). */
static int conf_known(const json_t *o, const char *where, const char *const *known)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = streq(known[i], k);
        if (!ok) {
            cli_error("see docs/agent.md", "agent config: unknown setting '%.64s'%s", k, where);
            return -EINVAL;
        }
    }
    return 0;
}

/* Reads a credential: the setting itself (client-id only), else NAME-file, else env. */
static int conf_credential(const json_t *auth, const char *name, bool inline_ok, const char *env,
                           struct buf *out)
{
    char file_key[64];
    const char *v = NULL, *file = NULL;

    snprintf(file_key, sizeof(file_key), "%s-file", name);
    if (conf_str(auth, name, &v) < 0 || conf_str(auth, file_key, &file) < 0)
        return -EINVAL;
    if (v && !inline_ok) {
        cli_error("put it in a file (auth: client-secret-file: PATH, mode 0600) or in "
                  "ARCA_CLIENT_SECRET",
                  "agent config: the client secret must not be written in the config file");
        return -EINVAL;
    }
    if (v)
        return buf_adds(out, v);
    if (file) {
        if (cli_read_file(file, out->max ? out->max : 4096, out) < 0)
            return -EINVAL;
        while (out->len && (out->ptr[out->len - 1] == '\n' || out->ptr[out->len - 1] == '\r' ||
                            out->ptr[out->len - 1] == ' '))
            out->ptr[--out->len] = 0;
        return 0;
    }
    v = getenv(env);
    if (v && *v)
        return buf_adds(out, v);
    cli_error("see docs/agent.md", "agent config: no %s (auth: %s-file: PATH, or %s)", name, name,
              env);
    return -ENOENT;
}

static int scope_add(const char *env, const char *path, size_t *ret)
{
    char canon[512];

    snprintf(canon, sizeof(canon), "%s", path ? path : "/");
    for (size_t i = 0; i < agent.n_scopes; i++)
        if (streq(agent.scopes[i].environment, env) && streq(agent.scopes[i].path, canon)) {
            *ret = i;
            return 0;
        }
    if (agent.n_scopes == AGENT_SCOPES_MAX) {
        cli_error(NULL, "agent config: at most %d folders", AGENT_SCOPES_MAX);
        return -E2BIG;
    }
    agent.scopes[agent.n_scopes].environment = strdup(env);
    agent.scopes[agent.n_scopes].path = strdup(canon);
    if (!agent.scopes[agent.n_scopes].environment || !agent.scopes[agent.n_scopes].path)
        return -ENOMEM;
    *ret = agent.n_scopes++;
    return 0;
}

/* A template's text (format template) from 'template' or 'template-file'. */
static int template_load(struct agent_template *tp, size_t i, const char *format, const char *text,
                         const char *text_file, const char *escape)
{
    _cleanup_buf_ struct buf file = BUF_INIT;
    size_t off;

    if (!streq(format, "template")) {
        if (!text && !text_file)
            return 0;
        cli_error("add 'format: template'",
                  "agent config: template %zu: 'template' needs format template", i + 1);
        return -EINVAL;
    }
    if (!text == !text_file) {
        cli_error("see docs/agent.md",
                  "agent config: template %zu: give either 'template' or 'template-file'", i + 1);
        return -EINVAL;
    }
    if (template_escape_parse(escape, &tp->escape) < 0) {
        cli_error(NULL, "agent config: template %zu: escape must be none, json or shell", i + 1);
        return -EINVAL;
    }
    if (text_file) {
        buf_init(&file, AGENT_CONFIG_MAX);
        if (cli_read_file(text_file, AGENT_CONFIG_MAX, &file) < 0)
            return -EINVAL;
        text = buf_str(&file);
    }
    if (template_check(text, &off) < 0) {
        cli_error("a placeholder is {{ KEY }}",
                  "agent config: template %zu: malformed placeholder at character %zu", i + 1,
                  off + 1);
        return -EINVAL;
    }
    tp->text = strdup(text);
    return tp->text ? 0 : -ENOMEM;
}

static int config_load(const char *file)
{
    static const char *const top[] = {"server",    "ca-cert", "project-id", "interval",
                                      "watch",     "socket",  "once",       "auth",
                                      "templates", "serve",   NULL};
    static const char *const auth_keys[] = {"type",          "client-id",          "client-id-file",
                                            "client-secret", "client-secret-file", NULL};
    static const char *const tmpl_keys[] = {
        "environment",     "path",     "format",        "destination", "command",
        "command-timeout", "template", "template-file", "escape",      NULL};
    static const char *const serve_keys[] = {"environment", "path", NULL};
    static const char *const formats[] = {"dotenv", "dotenv-export", "json", "yaml",
                                          "csv",    "template",      NULL};
    _cleanup_buf_ struct buf text = BUF_INIT, err = BUF_INIT, id = BUF_INIT;
    json_t *auth, *templates, *serve, *t;
    const char *type = NULL;
    size_t i;

    buf_init_secret(&text, AGENT_CONFIG_MAX);
    if (cli_read_file(file, AGENT_CONFIG_MAX, &text) < 0)
        return -EINVAL;
    if (conf_parse(text.ptr ? text.ptr : "", text.len, &agent.cfg, &err) < 0) {
        cli_error("see docs/agent.md for the format", "cannot read the agent config '%s': %s", file,
                  buf_str(&err));
        return -EINVAL;
    }
    if (conf_known(agent.cfg, "", top) < 0 || conf_str(agent.cfg, "server", &agent.api_url) < 0 ||
        conf_str(agent.cfg, "ca-cert", &agent.ca_cert) < 0 ||
        conf_str(agent.cfg, "project-id", &agent.project_id) < 0 ||
        conf_str(agent.cfg, "socket", &agent.socket_path) < 0 ||
        conf_duration(agent.cfg, "interval", &agent.interval_s) < 0 ||
        conf_bool(agent.cfg, "watch", &agent.watch) < 0 ||
        conf_bool(agent.cfg, "once", &agent.once) < 0)
        return -EINVAL;
    if (!agent.project_id && !(agent.project_id = getenv("ARCA_PROJECT_ID"))) {
        cli_error("see docs/agent.md", "agent config: no 'project-id' (or ARCA_PROJECT_ID)");
        return -EINVAL;
    }
    if (agent.socket_path &&
        strlen(agent.socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        cli_error(NULL, "agent config: the socket path is too long");
        return -EINVAL;
    }
    auth = json_object_get(agent.cfg, "auth");
    if (auth && !json_is_object(auth)) {
        cli_error("see docs/agent.md", "agent config: 'auth' must be a mapping");
        return -EINVAL;
    }
    auth = auth ? auth : json_object_get(agent.cfg, "no-auth"); /* NULL: from the environment */
    if (auth &&
        (conf_known(auth, " in 'auth'", auth_keys) < 0 || conf_str(auth, "type", &type) < 0))
        return -EINVAL;
    if (type && !streq(type, "universal-auth")) {
        cli_error(NULL, "agent config: auth type '%.64s' is not supported (universal-auth is)",
                  type);
        return -EINVAL;
    }
    buf_init(&id, 1024);
    buf_init_secret(&agent.client_secret, 4096);
    if (conf_credential(auth, "client-id", true, "ARCA_CLIENT_ID", &id) < 0 ||
        conf_credential(auth, "client-secret", false, "ARCA_CLIENT_SECRET", &agent.client_secret) <
            0)
        return -EINVAL;
    agent.client_id = strdup(buf_str(&id));
    /* the templates' commands must not inherit the client secret */
    unsetenv("ARCA_CLIENT_SECRET");
    unsetenv("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET");
    /* the templates' commands must not inherit the client secret */
    unsetenv("ARCA_CLIENT_SECRET");
    unsetenv("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET");

    templates = json_object_get(agent.cfg, "templates");
    serve = json_object_get(agent.cfg, "serve");
    if ((templates && !json_is_array(templates)) || (serve && !json_is_array(serve))) {
        cli_error("see docs/agent.md", "agent config: 'templates' and 'serve' must be lists");
        return -EINVAL;
    }
    if (json_array_size(templates) > AGENT_TEMPLATES_MAX) {
        cli_error(NULL, "agent config: at most %d templates", AGENT_TEMPLATES_MAX);
        return -E2BIG;
    }
    json_array_foreach(templates, i, t)
    {
        struct agent_template *tp = &agent.templates[agent.n_templates];
        const char *env = NULL, *path = NULL, *format = "dotenv", *dest = NULL, *cmd = NULL;
        const char *inline_text = NULL, *text_file = NULL, *escape = "none";
        bool ok = false;

        tp->timeout_s = AGENT_COMMAND_TIMEOUT_DEFAULT;
        if (!json_is_object(t) || conf_known(t, " in a template", tmpl_keys) < 0 ||
            conf_str(t, "environment", &env) < 0 || conf_str(t, "path", &path) < 0 ||
            conf_str(t, "format", &format) < 0 || conf_str(t, "destination", &dest) < 0 ||
            conf_str(t, "command", &cmd) < 0 || conf_str(t, "template", &inline_text) < 0 ||
            conf_str(t, "template-file", &text_file) < 0 || conf_str(t, "escape", &escape) < 0 ||
            conf_duration(t, "command-timeout", &tp->timeout_s) < 0)
            return -EINVAL;
        if (!env || !dest) {
            cli_error("see docs/agent.md",
                      "agent config: template %zu needs 'environment' and 'destination'", i + 1);
            return -EINVAL;
        }
        for (size_t f = 0; formats[f]; f++)
            ok = ok || streq(formats[f], format);
        if (!ok) {
            cli_error(NULL,
                      "agent config: template %zu: format '%.32s' is not one of dotenv, "
                      "dotenv-export, json, yaml, csv, template",
                      i + 1, format);
            return -EINVAL;
        }
        if (template_load(tp, i, format, inline_text, text_file, escape) < 0)
            return -EINVAL;
        for (size_t k = 0; k < agent.n_templates; k++)
            if (streq(agent.templates[k].destination, dest)) {
                cli_error(NULL, "agent config: templates %zu and %zu write the same file '%s'",
                          k + 1, i + 1, dest);
                return -EINVAL;
            }
        if (scope_add(env, path, &tp->scope) < 0)
            return -EINVAL;
        tp->format = strdup(format);
        tp->destination = strdup(dest);
        tp->command = cmd ? strdup(cmd) : NULL;
        agent.n_templates++;
    }
    json_array_foreach(serve, i, t)
    {
        const char *env = NULL, *path = NULL;
        size_t ignored;

        if (!json_is_object(t) || conf_known(t, " in 'serve'", serve_keys) < 0 ||
            conf_str(t, "environment", &env) < 0 || conf_str(t, "path", &path) < 0 || !env) {
            cli_error("see docs/agent.md",
                      "agent config: each 'serve' entry needs an 'environment' (and a 'path')");
            return -EINVAL;
        }
        if (scope_add(env, path, &ignored) < 0)
            return -EINVAL;
    }
    if (agent.n_scopes == 0) {
        cli_error("see docs/agent.md", "agent config: no 'templates' and nothing to 'serve'");
        return -EINVAL;
    }
    if (agent.n_templates == 0 && !agent.socket_path) {
        cli_error("add 'socket: PATH' to serve arca run", "agent config: 'serve' needs 'socket'");
        return -EINVAL;
    }
    return 0;
}

/* --- the server ---------------------------------------------------------- */

/* A new logged-in handle.  Returns 0, or -EACCES (refused: fatal) or another
 * negative errno (retry). */
static int agent_login(struct arca **ret)
{
    struct arca *a = NULL;
    int r = arca_new(agent.api_url, &a);

    if (r == 0 && agent.ca_cert)
        r = arca_set_ca_cert(a, agent.ca_cert);
    if (r == 0)
        r = arca_login_identity(a, agent.client_id, buf_str(&agent.client_secret));
    if (r < 0) {
        log_error(r == -EACCES || r == -EINVAL
                      ? "the agent's credentials were refused (a revoked client secret or a "
                        "deleted identity?): stopping"
                      : "cannot log in",
                  "error", a ? arca_errmsg(a) : "out of memory", NULL);
        arca_free(a);
        return r == -EINVAL ? -EACCES : r;
    }
    arca_conditional_enable(a);
    log_info("logged in", "identity", arca_session_name(a), "server", arca_api_url(a), NULL);
    *ret = a;
    return 0;
}

/* Fetches every scope; the lists replace the served ones. */
static int fetch_all(struct arca *a)
{
    for (size_t i = 0; i < agent.n_scopes; i++) {
        struct agent_scope *s = &agent.scopes[i];
        struct arca_scope scope = {agent.project_id, s->environment, s->path, ARCA_IMPORTS};
        struct arca_secret_list *l = NULL, *old;
        int r = arca_secrets_list(a, &scope, &l);

        if (r == 0)
            r = arca_secrets_expand(a, &scope, l);
        if (r < 0) {
            arca_secret_list_free(l);
            log_warn("cannot read a folder", "environment", s->environment, "path", s->path,
                     "error", arca_errmsg(a), NULL);
            return r;
        }
        pthread_mutex_lock(&agent.lock);
        old = s->list;
        s->list = l;
        pthread_mutex_unlock(&agent.lock);
        arca_secret_list_free(old);
    }
    return 0;
}

/* Runs command with /bin/sh -c, killing it after timeout_s.  Its exit status. */
static int run_command(const char *command, int64_t timeout_s)
{
    pid_t pid = fork();
    int status = 0;
    int64_t until = now_ms() + timeout_s * 1000;

    if (pid < 0)
        return -errno;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return -errno;
        if (now_ms() >= until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            log_warn("the command took too long and was killed", "command", command, NULL);
            return -ETIMEDOUT;
        }
        usleep(20 * 1000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Whether file holds exactly <data, len>. */
static bool file_holds(const char *file, const struct buf *data)
{
    _cleanup_buf_ struct buf cur = BUF_INIT;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    char chunk[4096];
    ssize_t n;

    if (fd < 0)
        return false;
    buf_init_secret(&cur, data->len + 1);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if (buf_add(&cur, chunk, (size_t)n) < 0)
            break;
    explicit_bzero(chunk, sizeof(chunk));
    close(fd);
    return n == 0 && cur.len == data->len && (!cur.len || memcmp(cur.ptr, data->ptr, cur.len) == 0);
}

/* Renders every template whose text changed; runs the commands. */
static int render_all(void)
{
    int failed = 0;

    for (size_t i = 0; i < agent.n_templates; i++) {
        struct agent_template *t = &agent.templates[i];
        _cleanup_buf_ struct buf out = BUF_INIT;
        const char *bad_key = NULL, *reason = NULL;
        char count[24], missing[NAME_KEY_MAX + 1];
        bool same;
        int r;

        buf_init_secret(&out, 0);
        pthread_mutex_lock(&agent.lock);
        if (!agent.scopes[t->scope].list) {
            pthread_mutex_unlock(&agent.lock);
            continue;
        }
        if (t->text) {
            r = template_render(&out, t->text, agent.scopes[t->scope].list, t->escape, missing,
                                sizeof(missing));
            bad_key = missing;
            reason = r == -ENOENT ? "the template names a secret the folder does not hold"
                                  : "a value is not valid UTF-8 text (escape json)";
        } else {
            r = cli_format_secrets(&out, agent.scopes[t->scope].list, t->format, &bad_key, &reason);
        }
        snprintf(count, sizeof(count), "%zu", agent.scopes[t->scope].list->n);
        pthread_mutex_unlock(&agent.lock);
        if (r < 0) {
            log_error("cannot render a template", "destination", t->destination, "key",
                      bad_key ? bad_key : "", "error",
                      reason ? reason : "the value is not valid UTF-8 text", NULL);
            failed = -EINVAL;
            continue;
        }
        same = file_holds(t->destination, &out);
        if (!same) {
            if (cli_write_file(t->destination, out.ptr ? out.ptr : "", out.len, 0600) < 0) {
                failed = -EIO;
                continue;
            }
            log_info("rendered", "destination", t->destination, "secrets", count, NULL);
        }
        if (!same && t->rendered_once && t->command) {
            char code[16];
            r = run_command(t->command, t->timeout_s);
            snprintf(code, sizeof(code), "%d", r);
            if (r == 0)
                log_info("ran the command", "command", t->command, NULL);
            else
                log_warn("the command failed", "command", t->command, "exitCode", code, NULL);
        }
        t->rendered_once = true;
    }
    return failed;
}

/* --- the socket ---------------------------------------------------------- */

static void serve_one(int fd)
{
    char req[AGENT_PROTO_REQUEST_MAX + 1];
    size_t len = 0;
    _cleanup_json_ json_t *q = NULL;
    _cleanup_buf_ struct buf out = BUF_INIT;
    const char *env = NULL, *path = "/", *project = NULL, *err = NULL;
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    struct timeval tv = {.tv_sec = 2};

    buf_init_secret(&out, 0);
    /* the socket is 0600 already; this also stops a root-owned agent serving others */
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != geteuid())
        return;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    while (len < sizeof(req) - 1) {
        ssize_t n = read(fd, req + len, sizeof(req) - 1 - len);
        if (n <= 0)
            return;
        len += (size_t)n;
        if (memchr(req, '\n', len))
            break;
    }
    req[len] = 0;
    if (!memchr(req, '\n', len))
        err = "the request is longer than 4096 bytes or has no newline";
    else if (wire_parse(req, strcspn(req, "\n"), &q, NULL) < 0 || !json_is_object(q) ||
             wire_get_str(q, "environment", 64, &env) < 0 ||
             wire_get_str_or(q, "path", 512, "/", &path) < 0 ||
             wire_get_str_or(q, "projectId", 128, agent.project_id, &project) < 0)
        err = "the request must be {\"environment\": ENV, \"path\": PATH}";
    else if (!streq(project, agent.project_id))
        err = "this agent serves another project";
    if (!err) {
        bool found = false;
        pthread_mutex_lock(&agent.lock);
        for (size_t i = 0; i < agent.n_scopes && !found; i++) {
            const struct arca_secret_list *l = agent.scopes[i].list;
            if (!streq(agent.scopes[i].environment, env) || !streq(agent.scopes[i].path, path))
                continue;
            found = true;
            if (!l) {
                err = "the agent has not fetched this folder yet";
                break;
            }
            if (agent_proto_answer(&out, l) < 0)
                err = "out of memory";
        }
        pthread_mutex_unlock(&agent.lock);
        if (!found)
            err = "this agent does not serve that environment and path (add it to 'serve' in "
                  "its config)";
    }
    if (err) {
        json_t *e = json_pack("{s:i, s:s}", "v", 1, "error", err);
        buf_clear(&out);
        wire_dump(&out, e);
        buf_addch(&out, '\n');
        json_decref(e);
    }
    for (size_t off = 0; off < out.len;) {
        ssize_t n = write(fd, out.ptr + off, out.len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
}

static void *serve_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept4(agent.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
                continue;
            return NULL;
        }
        serve_one(fd);
        close(fd);
    }
}

static int socket_open(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    mode_t old;
    int fd, r;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", agent.socket_path);
    if (lstat(agent.socket_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            cli_error("choose another 'socket' path", "'%s' exists and is not a socket",
                      agent.socket_path);
            return -EEXIST;
        }
        unlink(agent.socket_path); /* a previous agent's */
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    old = umask(0177); /* born 0600: no window in which others may connect */
    r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (r < 0 || chmod(agent.socket_path, 0600) < 0 || listen(fd, 64) < 0) {
        r = -errno;
        cli_error(NULL, "cannot serve on '%s': %s", agent.socket_path, strerror(-r));
        close(fd);
        return r;
    }
    agent.listen_fd = fd;
    return 0;
}

/* --- the loop ------------------------------------------------------------ */

/* Renews a's token when it nears its expiry; when it nears its max TTL (no
 * renewal goes past it) or the renewal fails, frees a (the caller logs in
 * again) and returns true.  "Near": 2 minutes, or a quarter of the time since
 * the last login or renewal (*authed_at) for short TTLs. */
static bool session_stale(struct arca *a, int64_t *authed_at)
{
    int64_t exp = 0, max = 0, now = now_ms(), margin_max, margin_exp;

    arca_session_expiry(a, &exp, &max);
    margin_max = (max - *authed_at) / 4;
    margin_exp = (exp - *authed_at) / 4;
    margin_max = margin_max < 120000 ? margin_max : 120000;
    margin_exp = margin_exp < 120000 ? margin_exp : 120000;
    if (max && max - now < margin_max)
        ;
    else if (exp && exp - now < margin_exp && arca_token_renew(a) < 0)
        ;
    else {
        if (exp && exp - now < margin_exp)
            *authed_at = now;
        return false;
    }
    arca_free(a);
    *authed_at = now;
    return true;
}

/* Ends the process (from any thread). */
static void agent_exit(int code)
{
    if (agent.listen_fd >= 0 && agent.socket_path)
        unlink(agent.socket_path);
    fflush(NULL);
    _exit(code);
}

/* The refresh loop; ends the process on refused credentials. */
static void *refresh_main(void *arg)
{
    struct arca *a = arg;
    struct arca_scope first = {agent.project_id, agent.scopes[0].environment, agent.scopes[0].path,
                               0};
    char cursor[ARCA_CURSOR_MAX] = "";
    int64_t backoff = 0, last_fetch = now_ms(), authed_at = now_ms();
    bool watch = agent.watch;

    for (;;) {
        int r = 0, changed = 0;

        if (a && session_stale(a, &authed_at))
            a = NULL; /* freed: log in again */
        if (!a) {
            if ((r = agent_login(&a)) == -EACCES)
                agent_exit(EXIT_AUTH);
            authed_at = now_ms();
        }
        if (a && watch) {
            int64_t left = agent.interval_s * 1000 - (now_ms() - last_fetch);
            int64_t exp = 0;
            unsigned t;
            bool had_cursor = cursor[0];

            arca_session_expiry(a, &exp, NULL);
            if (exp && (exp - now_ms()) / 2 < left) /* back before the token needs renewing */
                left = (exp - now_ms()) / 2;
            t = left <= 1000 ? 1 : left >= 25000 ? 25 : (unsigned)(left / 1000);
            r = arca_watch(a, &first, cursor, t, &changed);
            if (r == 0 && !had_cursor)
                changed = 1; /* what changed before the cursor was read is fetched now */
            if (r == -ENOENT && !cursor[0]) { /* a server without the feed */
                log_warn("the server has no change feed: polling only", NULL);
                watch = false;
                r = 0;
            }
        } else if (a) {
            int64_t left = agent.interval_s * 1000 - (now_ms() - last_fetch);
            if (left > 0 && backoff == 0)
                usleep((useconds_t)(left > 1000 ? 1000 : left) * 1000);
            if (now_ms() - last_fetch < agent.interval_s * 1000 && backoff == 0)
                continue;
        }
        if (a && r == 0 && (changed || !watch || now_ms() - last_fetch >= agent.interval_s * 1000))
            r = fetch_all(a);
        if (r == 0 && a) {
            if (backoff)
                log_info("the server answers again", NULL);
            backoff = 0;
            if (changed || !watch || now_ms() - last_fetch >= agent.interval_s * 1000) {
                last_fetch = now_ms();
                render_all();
            }
            continue;
        }
        if (r == -EACCES || r == -ENOENT || r == -EBADMSG) {
            /* the token may have been revoked on its own: one new login says
             * whether the identity still may; a record that does not open
             * with the project key the handle holds: a rotated key, which a
             * new handle fetches */
            arca_free(a);
            a = NULL;
            if ((r = agent_login(&a)) == -EACCES)
                agent_exit(EXIT_AUTH);
            if (r == 0 && (r = fetch_all(a)) < 0 && (r == -EACCES || r == -ENOENT)) {
                log_error("the agent's identity may no longer read its folders: stopping", "error",
                          arca_errmsg(a), NULL);
                agent_exit(r == -EACCES ? EXIT_AUTH : EXIT_NOTFOUND);
            }
            if (r == 0) {
                last_fetch = now_ms();
                render_all();
                cursor[0] = 0;
                continue;
            }
        }
        backoff = backoff ? backoff * 2 : 1000;
        if (backoff > agent.interval_s * 1000)
            backoff = agent.interval_s * 1000;
        {
            char wait[24];
            snprintf(wait, sizeof(wait), "%lld", (long long)backoff);
            bool down = r == -ECONNREFUSED || r == -EHOSTUNREACH || r == -ETIMEDOUT || r == -EIO;
            log_warn(down ? "the server cannot be reached: serving the last data"
                          : "cannot refresh the secrets: serving the last data",
                     "error", a ? arca_errmsg(a) : "no session", "retryInMs", wait, NULL);
        }
        cursor[0] = 0;
        usleep((useconds_t)backoff * 1000);
    }
    return NULL;
}

int cmd_agent(struct cli *c)
{
    struct arca *a = NULL;
    pthread_t refresher, server;
    sigset_t set;
    int sig, r;

    if (!c->config) {
        cli_error("arca agent --config agent.yaml (see docs/agent.md)", "no --config given");
        return EXIT_USAGE;
    }
    if (cli_no_args(c, "arca agent --config FILE [--once]"))
        return EXIT_USAGE;
    agent.interval_s = AGENT_INTERVAL_DEFAULT;
    agent.watch = true;
    if (config_load(c->config) < 0)
        return EXIT_INVALID;
    agent.once = agent.once || c->once;
    json_set_alloc_funcs(malloc, free_wiped); /* values pass through jansson on the socket */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);       /* decrypted values must not land in a core file */

    /* the first render: the files exist before the agent says it runs; a
     * server that cannot be reached yet is waited for, except with --once */
    r = agent_login(&a);
    if (r == 0)
        r = fetch_all(a);
    if (r == 0)
        r = render_all();
    if (r == -EACCES || (r < 0 && agent.once)) {
        arca_free(a);
        return r == -EACCES ? EXIT_AUTH : cli_exit_of(r);
    }
    if (r < 0) {
        arca_free(a);
        a = NULL;
    }
    if (agent.once) {
        arca_free(a);
        log_info("rendered once: exiting", NULL);
        return EXIT_OK;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (agent.socket_path &&
        (socket_open() < 0 || pthread_create(&server, NULL, serve_main, NULL) != 0))
        return EXIT_FAIL;
    if (pthread_create(&refresher, NULL, refresh_main, a) != 0)
        return EXIT_FAIL;
    log_info("agent running", "project", agent.project_id, "socket",
             agent.socket_path ? agent.socket_path : "", NULL);
    sigdelset(&set, SIGPIPE);
    while (sigwait(&set, &sig) != 0)
        ;
    if (agent.socket_path)
        unlink(agent.socket_path);
    log_info("stopping", NULL);
    fflush(NULL);
    _exit(EXIT_OK);
}
