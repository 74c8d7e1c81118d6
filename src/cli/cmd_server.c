/* cmd_server.c - the commands that work on the store itself, not through a
 * server: `arca server` (flags to struct server_config), `arca backup` and
 * `arca restore` (server/backup.h), `arca audit-logs archive` and `audit-logs
 * verify --archive` (server/archive.h).  All choose the store the same way. */
#include <errno.h>
#include <inttypes.h>
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
#include "server/archive.h"
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
    value = c->audit_retention_days ? c->audit_retention_days : getenv("ARCA_AUDIT_RETENTION_DAYS");
    cfg.audit_archive_dir =
        c->audit_archive_dir ? c->audit_archive_dir : getenv("ARCA_AUDIT_ARCHIVE_DIR");
    if (value && *value) {
        unsigned long v = strtoul(value, &end, 10);
        if (*end || !(*value >= '0' && *value <= '9') || v > 100000) {
            cli_error(NULL, "--audit-retention-days (or ARCA_AUDIT_RETENTION_DAYS) must be a "
                            "number of days from 0 to 100000");
            return EXIT_USAGE;
        }
        cfg.audit_retention = true;
        cfg.audit_retention_days = (int)v;
        if (!cfg.audit_archive_dir || !*cfg.audit_archive_dir) {
            cli_error("e.g. --audit-archive-dir /var/lib/arca/audit-archives",
                      "--audit-retention-days needs --audit-archive-dir (or "
                      "ARCA_AUDIT_ARCHIVE_DIR): where the archives go");
            return EXIT_USAGE;
        }
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

/* ---- audit-logs archive and verify --archive: on the store, with the root key ---- */

struct archive_plan {
    struct cli *c;
    const char *before; /* ISO 8601 */
    struct archive_info info;
    int exit; /* cli_confirm's */
};

static bool archive_confirm(void *ctx, const struct archive_info *p)
{
    struct archive_plan *x = ctx;
    bool go = false;

    x->info = *p;
    cli_plan(x->c,
             "archiving the audit log before %s writes records %" PRId64 " to %" PRId64 " (%" PRId64
             " records) to '%s',\n",
             x->before, p->first_seq, p->last_seq, p->records, x->c->output);
    cli_plan(x->c,
             "checks the file read back from disk, then removes them from the store: the\n"
             "log then starts after record %" PRId64 " ('arca audit-logs verify --archive "
             "FILE' checks the file)\n",
             p->last_seq);
    x->exit = cli_confirm(x->c, "Archive and remove them?", &go);
    return x->exit == EXIT_OK && go;
}

/* The store and the root key, as rotate-root-key needs them.  An exit code. */
static int archive_store(struct cli *c, struct server_config *cfg)
{
    int r;

    if (store_config(c, cfg) < 0)
        return EXIT_USAGE;
    if ((r = store_exists(cfg)) != EXIT_OK)
        return r;
    return current_key_given(cfg) ? EXIT_OK : EXIT_FAIL;
}

int cmd_audit_logs_archive(struct cli *c)
{
    struct server_config cfg = {0};
    struct archive_plan x = {.c = c};
    _cleanup_buf_ struct buf err = BUF_INIT;
    char before[25];
    int64_t ago, ms;
    int r;

    if (!c->before || !c->output || !*c->output) {
        cli_error("e.g. arca audit-logs archive --before 90d --output audit-2026-q1.jsonl.gz",
                  "--before TIME and --output FILE are required");
        return EXIT_USAGE;
    }
    if (cli_time_arg("--before", c->before, before, &ago) < 0 || time_parse_iso(before, &ms) < 0)
        return EXIT_USAGE;
    if ((r = archive_store(c, &cfg)) != EXIT_OK)
        return r;
    if (access(c->output, F_OK) == 0) {
        cli_error("give a new file: an archive is never written over another file", "'%s' exists",
                  c->output);
        return EXIT_CONFLICT;
    }
    x.before = before;
    r = server_audit_archive(&cfg, ms, c->output, archive_confirm, &x, &err);
    if (r == -ENODATA) {
        printf("nothing to archive: no audit record before %s after the last archive\n", before);
        return EXIT_OK;
    }
    if (r == -ECANCELED)
        return x.exit;
    if (r < 0) {
        if (err.len)
            cli_error(NULL, "cannot archive the audit log: %s%s", buf_str(&err),
                      r == -EINPROGRESS ? "" : " (nothing was removed)");
        return r == -EBADMSG                  ? EXIT_TAMPERED
               : r == -EEXIST || r == -ESTALE ? EXIT_CONFLICT
                                              : EXIT_FAIL;
    }
    printf("archived %" PRId64 " audit records (%" PRId64 " to %" PRId64
           ") to '%s' and removed them from the store\n",
           x.info.records, x.info.first_seq, x.info.last_seq, c->output);
    if (x.info.more)
        printf("more records are older than %s (at most %d go in one archive): run it again "
               "with another --output\n",
               before, ARCHIVE_MAX_RECORDS);
    return EXIT_OK;
}

int cmd_audit_logs_verify_archive(struct cli *c)
{
    struct server_config cfg = {0};
    _cleanup_buf_ struct buf err = BUF_INIT;
    struct archive_info info;
    char hash[2 * STORE_HASH_BYTES + 1];
    bool json;
    int r;

    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    if ((r = archive_store(c, &cfg)) != EXIT_OK)
        return r;
    r = server_audit_archive_verify(&cfg, c->archive, &info, &err);
    if (r < 0) {
        if (err.len && json)
            cli_print_json(json_pack("{s:b, s:s}", "ok", 0, "reason", buf_str(&err)), false);
        else if (err.len)
            printf("archive '%s' does NOT verify: %s\n", c->archive, buf_str(&err));
        return err.len && (r == -EBADMSG || r == -EINVAL) ? EXIT_TAMPERED : EXIT_FAIL;
    }
    hex_encode(info.last_hash, STORE_HASH_BYTES, hash);
    if (json)
        cli_print_json(json_pack("{s:b, s:I, s:I, s:I, s:I, s:s}", "ok", 1, "records",
                                 (json_int_t)info.records, "anchorSeq", (json_int_t)info.anchor_seq,
                                 "firstSeq", (json_int_t)info.first_seq, "lastSeq",
                                 (json_int_t)info.last_seq, "lastHash", hash),
                       false);
    else
        printf("archive '%s' intact: %" PRId64 " records, %" PRId64 " to %" PRId64 ", last %s\n",
               c->archive, info.records, info.first_seq, info.last_seq, hash);
    return EXIT_OK;
}
