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
 * si_code SI_KERNEL. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

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

int cmd_run(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_secret_list *l = NULL;
    char **env = NULL;
    size_t n_owned = 0;
    sigset_t block, old;
    struct sigaction sa = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART};
    posix_spawnattr_t attr;
    pid_t pid;
    int r, e;

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
    r = cli_fetch_folder_cached(c, ARCA_OVERRIDES, &a, &l);
    arca_free(a);
    if (r)
        return r;
    env = child_env(c, l, &n_owned);
    arca_secret_list_free(l);
    if (!env) {
        cli_error(NULL, "out of memory");
        return EXIT_FAIL;
    }

    sigemptyset(&block);
    for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
        sigaddset(&block, forwarded[i]);
    sigprocmask(SIG_BLOCK, &block, &old);
    fflush(NULL);
    /* posix_spawnp (a vfork and exec) copies no page tables: fork of a process
     * with ~40 libraries mapped is a measurable part of a run */
    e = posix_spawnattr_init(&attr);
    if (e == 0)
        e = posix_spawnattr_setsigmask(&attr, &old);
    if (e == 0)
        e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    if (e == 0)
        e = posix_spawnp(&pid, c->child_argv[0], NULL, &attr, c->child_argv, env);
    posix_spawnattr_destroy(&attr);
    for (size_t i = 0; i < n_owned; i++)
        arca_secret_string_free(env[i]);
    free(env);
    if (e != 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        cli_error(NULL, "cannot run '%s': %s", c->child_argv[0], strerror(e));
        return e == ENOENT ? 127 : 126;
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
