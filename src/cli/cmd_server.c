/* cmd_server.c - `arca server`: flags to struct server_config. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "cli.h"
#include "server/server.h"

int cmd_server(struct cli *c)
{
    struct server_config cfg = {
        .listen = c->listen ? c->listen : "127.0.0.1:8200",
        .data_dir = c->data_dir ? c->data_dir : "./arca-data",
        .audit_async = c->audit_async,
        .tls_cert = c->tls_cert ? c->tls_cert : getenv("ARCA_TLS_CERT"),
        .tls_key = c->tls_key ? c->tls_key : getenv("ARCA_TLS_KEY"),
    };
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    char *end;

    if (c->n_args) {
        cli_error("run 'arca server --help'", "unexpected argument '%s'", c->args[0]);
        return EXIT_USAGE;
    }
    cfg.database_url = c->database_url ? c->database_url : getenv("ARCA_DATABASE_URL");
    if (cfg.database_url && !*cfg.database_url)
        cfg.database_url = NULL;
    if (cfg.database_url && !startswith(cfg.database_url, "postgres://") &&
        !startswith(cfg.database_url, "postgresql://")) {
        cli_error("e.g. --database-url postgres://arca@db.example.com:5432/arca",
                  "the database URL must start with postgres:// or postgresql://");
        return EXIT_USAGE;
    }
    if (cfg.tls_cert && !*cfg.tls_cert)
        cfg.tls_cert = NULL;
    if (cfg.tls_key && !*cfg.tls_key)
        cfg.tls_key = NULL;
    if (!cfg.tls_cert != !cfg.tls_key) {
        cli_error("run 'arca server --help'",
                  "TLS needs both --tls-cert and --tls-key (or ARCA_TLS_CERT and ARCA_TLS_KEY)");
        return EXIT_USAGE;
    }
    if (c->max_body) {
        unsigned long long v = strtoull(c->max_body, &end, 10);
        if (*end || v < 1024 || v > (1ull << 30)) {
            cli_error(NULL, "--max-body must be a number of bytes between 1024 and 1073741824");
            return EXIT_USAGE;
        }
        cfg.max_body = (size_t)v;
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
