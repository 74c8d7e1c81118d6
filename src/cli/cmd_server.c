/* cmd_server.c - the commands that work on the store itself, not through a
 * server: `arca server` (flags to struct server_config), `arca backup` and
 * `arca restore` (server/backup.h).  All choose the store the same way. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "cli.h"
#include "crypto/seal.h"
#include "server/backup.h"
#include "server/server.h"

/* The store of --data-dir, or of --database-url / ARCA_DATABASE_URL (the flag
 * wins): as `arca server` chooses it.  -EINVAL (reported) on a bad flag. */
static int store_config(struct cli *c, struct server_config *cfg)
{
    if (c->n_args) {
        cli_error(NULL, "unexpected argument '%s' (see 'arca %s --help')", c->args[0], c->command);
        return -EINVAL;
    }
    cfg->data_dir = c->data_dir ? c->data_dir : "./arca-data";
    cfg->database_url = c->database_url ? c->database_url : getenv("ARCA_DATABASE_URL");
    if (cfg->database_url && !*cfg->database_url)
        cfg->database_url = NULL;
    if (cfg->database_url && !startswith(cfg->database_url, "postgres://") &&
        !startswith(cfg->database_url, "postgresql://")) {
        cli_error("e.g. --database-url postgres://arca@db.example.com:5432/arca",
                  "the database URL must start with postgres:// or postgresql://");
        return -EINVAL;
    }
    return 0;
}

/* Whether the file NAME is in the data directory. */
static bool in_data_dir(const struct server_config *cfg, const char *name)
{
    _cleanup_free_ char *file = NULL;

    return asprintf(&file, "%s/%s", cfg->data_dir, name) >= 0 && access(file, F_OK) == 0;
}

/* `arca backup` and `arca server rotate-root-key` work on an existing store:
 * opening a SQLite one creates it, so a mistyped --data-dir (or the default
 * ./arca-data run from the wrong directory) would back up, or "rotate", a new
 * empty store and succeed.  EXIT_NOTFOUND (reported) when there is no arca.db. */
static int store_exists(const struct server_config *cfg)
{
    if (cfg->database_url || in_data_dir(cfg, "arca.db"))
        return EXIT_OK;
    cli_error("give the data directory of the server (--data-dir DIR, default ./arca-data), or "
              "--database-url",
              "no arca store in '%s' (it has no arca.db)", cfg->data_dir);
    return EXIT_NOTFOUND;
}

/* rotate-root-key needs the current key: a server would make a root.key when
 * there is none, which here only left a stray file and a confusing refusal. */
static bool current_key_given(const struct server_config *cfg)
{
    const char *env = getenv("ARCA_ENCRYPTION_KEY");

    if ((env && *env) || in_data_dir(cfg, "root.key"))
        return true;
    cli_error("set ARCA_ENCRYPTION_KEY to the key the servers run with (and "
              "ARCA_NEW_ENCRYPTION_KEY to the new one); see docs/deploy.md",
              "no current root key: ARCA_ENCRYPTION_KEY is not set and there is no '%s/root.key'",
              cfg->data_dir);
    return false;
}

/* A login rate limit from flag (wins) or the environment variable env:
 * "BURST,PER_MINUTE", each from 1 to SERVER_RATE_MAX.  -EINVAL (reported). */
static int rate_config(const char *flag, const char *value, const char *env, const char *dflt,
                       struct server_rate *ret)
{
    unsigned long long burst = 0, per_minute = 0;
    char *end;

    if (!value)
        value = getenv(env);
    if (!value || !*value)
        return 0;
    burst = strtoull(value, &end, 10);
    if (*end == ',' && end[1] >= '0' && end[1] <= '9')
        per_minute = strtoull(end + 1, &end, 10);
    if (*end || !(value[0] >= '0' && value[0] <= '9') || burst < 1 || burst > SERVER_RATE_MAX ||
        per_minute < 1 || per_minute > SERVER_RATE_MAX) {
        cli_error(NULL,
                  "--%s (or %s) must be BURST,PER_MINUTE: attempts at once, then attempts a "
                  "minute, each from 1 to %u (default %s)",
                  flag, env, SERVER_RATE_MAX, dflt);
        return -EINVAL;
    }
    ret->burst = (unsigned)burst;
    ret->per_minute = (unsigned)per_minute;
    return 0;
}

int cmd_server(struct cli *c)
{
    struct server_config cfg = {
        .listen = c->listen ? c->listen : "127.0.0.1:8200",
        .audit_async = c->audit_async,
        .tls_cert = c->tls_cert ? c->tls_cert : getenv("ARCA_TLS_CERT"),
        .tls_key = c->tls_key ? c->tls_key : getenv("ARCA_TLS_KEY"),
        .metrics_addr = c->metrics_listen ? c->metrics_listen : getenv("ARCA_METRICS_LISTEN"),
        .site_url = c->site_url ? c->site_url : getenv("ARCA_SITE_URL"),
    };
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    const char *value;
    char *end;

    if (store_config(c, &cfg) < 0)
        return EXIT_USAGE;
    if (cfg.tls_cert && !*cfg.tls_cert)
        cfg.tls_cert = NULL;
    if (cfg.tls_key && !*cfg.tls_key)
        cfg.tls_key = NULL;
    if (cfg.metrics_addr && !*cfg.metrics_addr)
        cfg.metrics_addr = NULL;
    if (cfg.site_url && !*cfg.site_url)
        cfg.site_url = NULL;
    if (cfg.site_url &&
        ((!startswith(cfg.site_url, "http://") && !startswith(cfg.site_url, "https://")) ||
         strlen(cfg.site_url) > 512 || strpbrk(cfg.site_url, " \t\r\n\"<>"))) {
        cli_error("e.g. --site-url https://arca.example.com",
                  "--site-url (or ARCA_SITE_URL) must be an http:// or https:// URL of at most 512 "
                  "characters");
        return EXIT_USAGE;
    }
    if (!cfg.tls_cert != !cfg.tls_key) {
        cli_error("run 'arca server --help'",
                  "TLS needs both --tls-cert and --tls-key (or ARCA_TLS_CERT and ARCA_TLS_KEY)");
        return EXIT_USAGE;
    }
    if (rate_config("login-limit-ip", c->login_limit_ip, "ARCA_LOGIN_LIMIT_IP", "20,20",
                    &cfg.login_ip) < 0 ||
        rate_config("login-limit-account", c->login_limit_account, "ARCA_LOGIN_LIMIT_ACCOUNT",
                    "10,5", &cfg.login_account) < 0)
        return EXIT_USAGE;
    if (c->max_body) {
        unsigned long long v = strtoull(c->max_body, &end, 10);
        if (*end || v < 1024 || v > (1ull << 30)) {
            cli_error(NULL, "--max-body must be a number of bytes between 1024 and 1073741824");
            return EXIT_USAGE;
        }
        cfg.max_body = (size_t)v;
    }
    value = c->db_wait ? c->db_wait : getenv("ARCA_DB_WAIT");
    cfg.db_wait_s = SERVER_DB_WAIT_DEFAULT;
    if (value && *value) {
        unsigned long v = strtoul(value, &end, 10);
        if (*end || !(*value >= '0' && *value <= '9') || v > 3600) {
            cli_error(NULL,
                      "--db-wait (or ARCA_DB_WAIT) must be a number of seconds from 0 to "
                      "3600 (default %u)",
                      SERVER_DB_WAIT_DEFAULT);
            return EXIT_USAGE;
        }
        cfg.db_wait_s = (unsigned)v;
    }
    if (c->threads) {
        unsigned long v = strtoul(c->threads, &end, 10);
        if (*end || v < 1 || v > SERVER_THREADS_MAX) {
            cli_error(NULL, "--threads must be a number between 1 and %u", SERVER_THREADS_MAX);
            return EXIT_USAGE;
        }
        cfg.threads = (unsigned)v;
    }
    if (c->log_level) {
        size_t i;
        for (i = 0; i < ELEMENTSOF(levels) && !streq(levels[i], c->log_level); i++)
            ;
        if (i == ELEMENTSOF(levels)) {
            cli_error(NULL, "--log-level must be one of debug, info, warn, error");
            return EXIT_USAGE;
        }
        log_set_level((enum log_level)i);
    }
    return server_run(&cfg) < 0 ? EXIT_FAIL : EXIT_OK;
}

/* `arca backup --verify FILE`: the checks of a restore, without a store. */
static int backup_verify(struct cli *c)
{
    _cleanup_buf_ struct buf err = BUF_INIT;
    size_t rows = 0;
    int r;

    if (c->n_args || c->output || c->data_dir || c->database_url) {
        cli_error("arca backup --verify FILE", "--verify takes only the backup file");
        return EXIT_USAGE;
    }
    if (seal_init() < 0)
        return EXIT_FAIL;
    r = backup_check(c->verify, &rows, &err);
    if (r < 0) {
        cli_error(NULL, "'%s' cannot be restored: %s", c->verify, buf_str(&err));
        return r == -ENOTSUP                 ? EXIT_INVALID
               : r == -EINVAL || r == -E2BIG ? EXIT_TAMPERED
                                             : EXIT_FAIL;
    }
    printf("backup '%s' is intact: %zu rows of schema version %d, restorable by this arca\n",
           c->verify, rows, store_schema_version());
    return EXIT_OK;
}

/* `arca backup` (restore false) or `arca restore`: the store as `arca server`
 * would open it, the file of --output or --input.  A restore checks the whole
 * file before it opens (and so creates, or migrates) the store. */
static int backup_run(struct cli *c, bool restore)
{
    struct server_config cfg = {0};
    _cleanup_buf_ struct buf where = BUF_INIT, err = BUF_INIT;
    const char *path = restore ? c->input : c->output;
    struct store *s = NULL;
    size_t rows = 0;
    int r;

    if (!restore && c->verify)
        return backup_verify(c);
    if (store_config(c, &cfg) < 0)
        return EXIT_USAGE;
    if (!path || !*path) {
        cli_error(NULL, "%s FILE is required (see 'arca %s --help')",
                  restore ? "--input" : "--output", c->command);
        return EXIT_USAGE;
    }
    if (!restore && (r = store_exists(&cfg)) != EXIT_OK)
        return r;
    if (seal_init() < 0)
        return EXIT_FAIL;
    r = restore ? backup_check(path, NULL, &err) : 0;
    if (r >= 0 && server_store_open(&cfg, &s, &where) < 0)
        return EXIT_FAIL;
    if (r >= 0)
        r = restore ? backup_restore(s, path, &rows, &err) : backup_write(s, path, &rows, &err);
    store_close(s);
    if (r < 0) {
        cli_error(NULL, "%s failed: %s%s", c->command, buf_str(&err),
                  restore ? " (nothing was written)" : "");
        if (!restore)
            return EXIT_FAIL;
        return r == -ENOTEMPTY               ? EXIT_CONFLICT
               : r == -ENOTSUP               ? EXIT_INVALID
               : r == -EINVAL || r == -E2BIG ? EXIT_TAMPERED
                                             : EXIT_FAIL;
    }
    fprintf(stderr, restore ? "restored %zu rows from '%s'\n" : "wrote %zu rows to '%s'\n", rows,
            path);
    return EXIT_OK;
}

int cmd_backup(struct cli *c)
{
    return backup_run(c, false);
}

int cmd_restore(struct cli *c)
{
    return backup_run(c, true);
}

int cmd_rotate_root_key(struct cli *c)
{
    struct server_config cfg = {0};

    int r;

    if (store_config(c, &cfg) < 0)
        return EXIT_USAGE;
    if ((r = store_exists(&cfg)) != EXIT_OK)
        return r;
    if (!current_key_given(&cfg))
        return EXIT_FAIL;
    return server_rotate_root_key(&cfg) < 0 ? EXIT_FAIL : EXIT_OK;
}
