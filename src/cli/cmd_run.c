/* cmd_run.c - `arca run -- COMMAND`: the folder's secrets as environment
 * variables of a child process.
 *
 * The secrets go from the decrypted list straight into the child's environment
 * block: nothing is written to disk, and the parent wipes its copies once the
 * child has been started (the offline cache, cli.c and libarca's cache.c, keeps
 * only what the server sent, encrypted).  The parent stays to forward signals and to pass the
 * child's exit status through (128+N when the child died of signal N).
 *
 * Signals a user sends to arca (kill, a supervisor) are forwarded.  Signals
 * the terminal sends (Ctrl-C) already reach the child, which is in the same
 * process group, so they are not sent twice: the kernel marks those with
 * si_code SI_KERNEL.
 *
 * With --agent-socket (ARCA_AGENT_SOCKET) the secrets come from `arca agent`
 * on this host (agent_proto.h): no login, no TLS, no fetch.
 *
 * --watch: a thread long-polls the server's change feed (arca_watch) and
 * fetches again with If-None-Match on each wake-up and every WATCH_INTERVAL_S;
 * when the decrypted folder differs from the child's, it hands the new list to
 * the main thread (a real-time signal).  The main thread waits for signals
 * only (sigwaitinfo): it forwards the user's, restarts the child on a change
 * (SIGTERM, then SIGKILL after --grace) and, when the child exits on its own,
 * exits with its status. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_proto.h"
#include "base/util.h"
#include "cli.h"

extern char **environ;

static volatile sig_atomic_t child_pid;

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static void forward(int sig, siginfo_t *info, void *uctx)
{
    if (child_pid > 0 && (!info || info->si_code != SI_KERNEL || sig == SIGHUP))
        kill(child_pid, sig);
}

/* Variables a secret may not replace in the child (as Infisical's CLI, plus
 * the dynamic loader's and the shells' start-up files): a secret of that name
 * from an imported .env would break or hijack the command.  Prefixes end in _. */
static const char *const reserved[] = {
    "HOME",     "PATH",  "PS1",  "PS2", "PWD", "EDITOR",   "XAUTHORITY", "USER", "LOGNAME", "TERM",
    "TERMINFO", "SHELL", "MAIL", "IFS", "ENV", "BASH_ENV", "XDG_",       "LC_",  "LD_",     "DYLD_",
};

static bool reserved_name(const char *key)
{
    for (size_t i = 0; i < ELEMENTSOF(reserved); i++) {
        size_t len = strlen(reserved[i]);
        if (reserved[i][len - 1] == '_' ? strncmp(key, reserved[i], len) == 0
                                        : streq(key, reserved[i]))
            return true;
    }
    return false;
}

/* The environment for the child: ours, with each secret set (replacing a
 * variable of the same name) but those of a reserved name, which are left out
 * with a warning.  Entries for secrets are OWNED and SECRET. */
static char **child_env(const struct cli *c, const struct arca_secret_list *l, size_t *ret_n_owned)
{
    size_t n_env = 0, n = 0;
    char **env;

    while (environ[n_env])
        n_env++;
    env = calloc(n_env + l->n + 1, sizeof(*env));
    if (!env)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        if (reserved_name(l->v[i].key)) {
            cli_warning(c, "secret '%s' left out: it would replace the command's %s", l->v[i].key,
                        l->v[i].key);
            continue;
        }
        if (asprintf(&env[n], "%s=%s", l->v[i].key, l->v[i].value) < 0) {
            while (n > 0)
                arca_secret_string_free(env[--n]);
            free(env);
            return NULL;
        }
        n++;
    }
    *ret_n_owned = n;
    for (size_t i = 0; i < n_env; i++) {
        size_t kl = strcspn(environ[i], "=");
        bool replaced = false;
        for (size_t j = 0; j < l->n && !replaced; j++)
            replaced = strlen(l->v[j].key) == kl && memcmp(l->v[j].key, environ[i], kl) == 0 &&
                       !reserved_name(l->v[j].key);
        if (!replaced)
            env[n++] = environ[i];
    }
    env[n] = NULL;
    return env;
}

static int wait_child(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return EXIT_FAIL;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return EXIT_FAIL;
}

/* The folder's secrets: from the agent when a socket is given, else as every
 * command fetches them (with the offline cache).  Returns an exit code. */
static int fetch(const struct cli *c, struct arca_secret_list **ret)
{
    const char *sock = c->agent_socket ? c->agent_socket : getenv("ARCA_AGENT_SOCKET");
    const char *pid = c->project_id ? c->project_id : getenv("ARCA_PROJECT_ID");
    char project[128];
    struct arca *a = NULL;
    int r;

    if (!sock || !*sock) {
        r = cli_fetch_folder_cached(c, ARCA_OVERRIDES, &a, ret);
        arca_free(a);
        return r;
    }
    if (c->no_imports || c->no_expand || c->recursive) {
        cli_error("leave them out, or unset ARCA_AGENT_SOCKET to ask the server",
                  "the agent serves folders with imports merged and references expanded: "
                  "--no-imports, --expand=false and --recursive are not available with it");
        return EXIT_USAGE;
    }
    if ((!pid || !*pid) && cli_project_file(project, sizeof(project)) == 0)
        pid = project;
    return agent_proto_fetch(sock, pid && *pid ? pid : NULL, c->env ? c->env : "dev",
                             c->path ? c->path : "/", ret);
}

/* Starts the child with l's secrets in its environment, signals unblocked
 * (mask old).  Returns 0 or an exit code (the failure printed). */
static int spawn(const struct cli *c, const struct arca_secret_list *l, const sigset_t *old,
                 pid_t *ret)
{
    char **env;
    size_t n_owned = 0;
    posix_spawnattr_t attr;
    int e;

    env = child_env(c, l, &n_owned);
    if (!env) {
        cli_error(NULL, "out of memory");
        return EXIT_FAIL;
    }
    fflush(NULL);
    /* posix_spawnp (a vfork and exec) copies no page tables: fork of a process
     * with ~40 libraries mapped is a measurable part of a run */
    e = posix_spawnattr_init(&attr);
    if (e == 0)
        e = posix_spawnattr_setsigmask(&attr, old);
    if (e == 0)
        e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    if (e == 0)
        e = posix_spawnp(ret, c->child_argv[0], NULL, &attr, c->child_argv, env);
    posix_spawnattr_destroy(&attr);
    for (size_t i = 0; i < n_owned; i++)
        arca_secret_string_free(env[i]);
    free(env);
    if (e != 0) {
        cli_error(NULL, "cannot run '%s': %s", c->child_argv[0], strerror(e));
        return e == ENOENT ? 127 : 126;
    }
    return 0;
}

/* --- run --watch ---------------------------------------------------------- */

#define WATCH_INTERVAL_S 30
#define WATCH_SIGNAL (SIGRTMIN + 1) /* the watcher's "the secrets changed" */

static struct {
    struct arca *a;                   /* OWNED by the watcher thread */
    const struct cli *cli;            /* BORROWED: the command line */
    char project[128];                /* scope.project_id (not the handle's: it is replaced) */
    struct arca_scope scope;          /* the folder watched */
    struct arca_secret_list *current; /* what the child has; watcher thread only */
    struct arca_secret_list *next;    /* OWNED, under lock: the new list, NULL if none */
    pthread_mutex_t lock;
    pthread_t main;
    bool expand;
} watch = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Replaces watch.a with a new client (same login, same scope): one holds no
 * opened project key.  Keeps the old one when that fails. */
static void renew_handle(void)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    char project[128];

    if (cli_client_scope(watch.cli, &a, &scope, project, sizeof(project)) != 0)
        return;
    arca_conditional_enable(a);
    arca_free(watch.a);
    watch.a = a;
}

static bool lists_equal(const struct arca_secret_list *x, const struct arca_secret_list *y)
{
    if (x->n != y->n)
        return false;
    for (size_t i = 0; i < x->n; i++)
        if (!streq(x->v[i].key, y->v[i].key) || !streq(x->v[i].value, y->v[i].value))
            return false;
    return true;
}

static void *watch_main(void *arg)
{
    char cursor[ARCA_CURSOR_MAX] = "";
    bool feed = true;
    int64_t last = now_ms();
    unsigned backoff = 0;

    (void)arg;
    for (;;) {
        int r = 0, changed = 0;
        bool had_cursor = cursor[0];
        struct arca_secret_list *l = NULL;

        int64_t exp = 0;
        arca_session_expiry(watch.a, &exp, NULL); /* an identity's token: renew it in time */
        if (exp && exp - now_ms() < 120 * 1000 && arca_token_renew(watch.a) < 0)
            arca_login_environment(watch.a); /* past its max TTL: ARCA_CLIENT_ID again, if set */
        if (feed) {
            int64_t left = WATCH_INTERVAL_S * 1000 - (now_ms() - last);
            unsigned t = left <= 1000 ? 1 : left >= 25000 ? 25 : (unsigned)(left / 1000);
            r = arca_watch(watch.a, &watch.scope, cursor, t, &changed);
            if (r == -ENOENT && !had_cursor) {
                feed = false; /* a server without the change feed: poll */
                r = 0;
            }
            changed = changed || (r == 0 && !had_cursor);
        } else {
            sleep(1);
        }
        if (r == 0 && !changed && now_ms() - last < WATCH_INTERVAL_S * 1000)
            continue;
        if (r == 0)
            r = arca_secrets_list(watch.a, &watch.scope, &l);
        if (r == 0 && watch.expand)
            r = arca_secrets_expand(watch.a, &watch.scope, l);
        if (r < 0) {
            arca_secret_list_free(l);
            fprintf(stderr, "arca: warning: cannot watch the secrets: %s (retrying)\n",
                    arca_errmsg(watch.a));
            if (r == -EBADMSG) /* the project key was rotated: a new handle opens the new one */
                renew_handle();
            cursor[0] = 0;
            backoff =
                backoff ? (backoff * 2 > WATCH_INTERVAL_S ? WATCH_INTERVAL_S : backoff * 2) : 1;
            sleep(backoff);
            continue;
        }
        backoff = 0;
        last = now_ms();
        if (lists_equal(l, watch.current)) {
            arca_secret_list_free(l);
            continue;
        }
        arca_secret_list_free(watch.current);
        watch.current = l;
        /* a copy for the main thread: keys and values */
        struct arca_secret_list *copy = calloc(1, sizeof(*copy));
        if (copy && (copy->v = calloc(l->n + 1, sizeof(*copy->v))))
            for (size_t i = 0; i < l->n; i++) {
                copy->v[i].key = strdup(l->v[i].key);
                copy->v[i].value = strdup(l->v[i].value);
                copy->n++;
                if (!copy->v[i].key || !copy->v[i].value)
                    break;
            }
        if (!copy || !copy->v || copy->n != l->n) {
            arca_secret_list_free(copy);
            continue;
        }
        pthread_mutex_lock(&watch.lock);
        arca_secret_list_free(watch.next);
        watch.next = copy;
        pthread_mutex_unlock(&watch.lock);
        pthread_kill(watch.main, WATCH_SIGNAL);
    }
    return NULL;
}

/* Waits for the child to end within ms (-1: forever).  Its exit code, or -1
 * when it is still running. */
static int reap(pid_t pid, int64_t ms)
{
    int status;
    pid_t w;
    int64_t until = ms < 0 ? -1 : now_ms() + ms;

    for (;;) {
        w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (w < 0 && errno != EINTR)
            return EXIT_FAIL;
        if (until >= 0 && now_ms() >= until)
            return -1;
        usleep(10 * 1000);
    }
}

static int run_watch(struct cli *c)
{
    char project[128];
    struct arca_secret_list *l = NULL;
    int64_t grace_s = 10;
    sigset_t set, old;
    pthread_t t;
    pid_t pid;
    int r;
    const char *sock = c->agent_socket ? c->agent_socket : getenv("ARCA_AGENT_SOCKET");

    if (sock && *sock) {
        cli_error("unset ARCA_AGENT_SOCKET for --watch",
                  "--watch asks the server's change feed: it does not use the agent's socket");
        return EXIT_USAGE;
    }
    if (c->grace && (arca_duration_parse(c->grace, &grace_s) < 0 || grace_s > 3600)) {
        cli_error("e.g. --grace 10s", "--grace must be a duration of at most 1h");
        return EXIT_USAGE;
    }
    r = cli_client_scope(c, &watch.a, &watch.scope, project, sizeof(project));
    if (r)
        return r;
    watch.scope.flags = (c->no_overrides ? ARCA_SHARED_ONLY : ARCA_OVERRIDES) |
                        (c->no_imports ? 0 : ARCA_IMPORTS) | (c->recursive ? ARCA_RECURSIVE : 0);
    watch.expand = !c->no_expand;
    watch.cli = c;
    snprintf(watch.project, sizeof(watch.project), "%s", watch.scope.project_id);
    watch.scope.project_id = watch.project;
    arca_conditional_enable(watch.a);
    r = arca_secrets_list(watch.a, &watch.scope, &l);
    if (r == 0 && watch.expand)
        r = arca_secrets_expand(watch.a, &watch.scope, l);
    if (r < 0) {
        arca_secret_list_free(l);
        return cli_fail_free(watch.a, r);
    }
    watch.current = l;
    watch.main = pthread_self();

    sigemptyset(&set);
    for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
        sigaddset(&set, forwarded[i]);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, WATCH_SIGNAL);
    sigprocmask(SIG_BLOCK, &set, &old); /* before the thread: it inherits the mask */
    r = spawn(c, l, &old, &pid);
    if (r)
        return r;
    if (pthread_create(&t, NULL, watch_main, NULL) != 0) {
        cli_error(NULL, "cannot start watching");
        kill(pid, SIGTERM);
        return reap(pid, -1);
    }
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&set, &info), code;
        struct arca_secret_list *next;

        if (sig == SIGCHLD) {
            code = reap(pid, 0);
            if (code >= 0) {
                fflush(NULL);
                _exit(code);
            }
        } else if (sig == WATCH_SIGNAL) {
            pthread_mutex_lock(&watch.lock);
            next = watch.next;
            watch.next = NULL;
            pthread_mutex_unlock(&watch.lock);
            if (!next)
                continue;
            fprintf(stderr, "arca: the secrets changed: restarting %s\n", c->child_argv[0]);
            kill(pid, SIGTERM);
            if (reap(pid, grace_s * 1000) < 0) {
                fprintf(stderr, "arca: %s did not stop within %llds: killing it\n",
                        c->child_argv[0], (long long)grace_s);
                kill(pid, SIGKILL);
                reap(pid, -1);
            }
            r = spawn(c, next, &old, &pid);
            arca_secret_list_free(next);
            if (r) {
                fflush(NULL);
                _exit(r);
            }
        } else if (sig > 0 && (info.si_code != SI_KERNEL || sig == SIGHUP)) {
            kill(pid, sig);
        }
    }
}

int cmd_run(struct cli *c)
{
    struct arca_secret_list *l = NULL;
    sigset_t block, old;
    struct sigaction sa = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART};
    pid_t pid;
    int r;

    char *shell_argv[] = {"sh", "-c", (char *)c->run_command, NULL};
    if (c->run_command && c->child_argv && c->child_argv[0]) {
        cli_error("arca run --command 'SHELL COMMAND', or arca run -- COMMAND [ARGS ...]",
                  "give --command or a command after '--', not both");
        return EXIT_USAGE;
    }
    if (c->run_command)
        c->child_argv = shell_argv;
    if (!c->child_argv || !c->child_argv[0]) {
        cli_error("arca run --env ENV -- COMMAND [ARGS ...]", "no command given after '--'");
        return EXIT_USAGE;
    }
    if (cli_no_args(c, "put the command after '--': arca run --env ENV -- COMMAND"))
        return EXIT_USAGE;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* decrypted values must not land in a core file */
    if (c->watch)
        return run_watch(c);
    r = fetch(c, &l);
    if (r)
        return r;

    sigemptyset(&block);
    for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
        sigaddset(&block, forwarded[i]);
    sigprocmask(SIG_BLOCK, &block, &old);
    r = spawn(c, l, &old, &pid);
    arca_secret_list_free(l);
    if (r) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
    }
    child_pid = pid;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
        sigaction(forwarded[i], &sa, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    r = wait_child(pid);
    /* nothing is left to clean up: skip the exit handlers of ~40 libraries */
    fflush(NULL);
    _exit(r);
}
