/* cmd_history.c - secrets history / rollback and audit-logs list / export /
 * verify. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "base/wire.h"
#include "cli.h"

#define AUDIT_PAGE 1000u

static const char *dash(const char *s)
{
    return s && *s ? s : "-";
}

/* --- secrets history / rollback ------------------------------------------ */

int cmd_secrets_history(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    struct arca_secret_version *v = NULL;
    size_t n = 0;
    char project[128];
    bool json;
    int r;

    if (c->n_args != 1) {
        cli_error("arca secrets history KEY --env ENV [--show-values]", "give one secret name");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_scope(c, &a, &scope, project, sizeof(project));
    if (r)
        return r;
    r = arca_secret_versions(a, &scope, c->args[0], &v, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr, json_pack("{s:I, s:s, s:s?, s:s, s:s}", "version", (json_int_t)v[i].version,
                               "action", cli_change_name(v[i].action), "value", v[i].value,
                               "updatedAt", v[i].updated_at, "actorId", v[i].actor_id));
        cli_print_json(arr, true);
    } else {
        /* BY: a member's name where the caller may list members, else the actor's id */
        struct arca_member *m = NULL;
        size_t n_m = 0;
        if (arca_members_list(a, scope.project_id, &m, &n_m) < 0)
            m = NULL, n_m = 0;
        printf("%-7s  %-7s  %-24s  %s%s\n", "VERSION", "ACTION", "TIME",
               c->show_values ? "BY                                  " : "BY",
               c->show_values ? "  VALUE" : "");
        for (size_t i = 0; i < n; i++) {
            const char *by = v[i].actor_id;
            for (size_t k = 0; k < n_m; k++)
                if (streq(m[k].principal_id, by) && *m[k].name)
                    by = m[k].name;
            printf("%-7" PRId64 "  %-7s  %-24s  %-*s", v[i].version, cli_change_name(v[i].action),
                   v[i].updated_at, c->show_values ? 36 : 0, dash(by));
            if (c->show_values && v[i].value)
                printf("  %s", v[i].value);
            putchar('\n');
        }
        arca_members_free(m, n_m);
    }
    arca_secret_versions_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

static int rollback_one(struct cli *c, struct arca *a, const struct arca_scope *scope, bool json)
{
    char *end;
    long long version;
    enum arca_change action;
    int64_t now;
    int r;

    errno = 0;
    version = strtoll(c->version, &end, 10);
    if (errno || *end || end == c->version || version < 1) {
        cli_error("versions are whole numbers from 1 (see 'arca secrets history KEY')",
                  "'%s' is not a version", c->version);
        return EXIT_USAGE;
    }
    r = arca_secret_rollback(a, scope, c->args[0], version, &action, &now);
    if (r < 0)
        return cli_fail(a, r);
    if (json)
        cli_print_json(json_pack("{s:s, s:I, s:I, s:s}", "key", c->args[0], "from",
                                 (json_int_t)version, "version", (json_int_t)now, "action",
                                 cli_change_name(action)),
                       false);
    else
        printf("%s: rolled back to version %lld: %s (version %" PRId64 ")\n", c->args[0], version,
               cli_change_name(action), now);
    return EXIT_OK;
}

static const char *const rollback_names[] = {
    [ARCA_CREATED] = "restored",
    [ARCA_UPDATED] = "updated",
    [ARCA_UNCHANGED] = "unchanged",
    [ARCA_DELETED] = "deleted",
};

static json_t *rollbacks_json(const struct arca_rollback *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:I, s:s}", "key", v[i].key, "version",
                                             (json_int_t)v[i].version, "action",
                                             cli_change_name(v[i].action)));
    return arr;
}

/* Shows what a rollback to when would do (plan: versions now current) and
 * asks; returns an exit code, *go whether to go ahead. */
static int rollback_confirm(struct cli *c, const struct arca_scope *scope, const char *when,
                            const struct arca_rollback *v, size_t n, bool json, bool *go)
{
    size_t counts[4] = {0};

    *go = false;
    for (size_t i = 0; i < n; i++)
        counts[v[i].action]++;
    if (json && c->dry_run) {
        cli_print_json(rollbacks_json(v, n), false);
    } else {
        for (size_t i = 0; i < n; i++)
            cli_plan(c, "  %-9s %s (now version %" PRId64 ")\n", rollback_names[v[i].action],
                     v[i].key, v[i].version);
        cli_plan(c,
                 "rolling back %s:%s to %s would restore %zu, update %zu and delete %zu "
                 "secrets\n",
                 scope->environment, scope->path, when, counts[ARCA_CREATED], counts[ARCA_UPDATED],
                 counts[ARCA_DELETED]);
    }
    if (n == 0) {
        fprintf(stderr, "nothing to roll back: %s:%s is as it was at %s\n", scope->environment,
                scope->path, when);
        return EXIT_OK;
    }
    if (counts[ARCA_DELETED] > 0 && counts[ARCA_CREATED] + counts[ARCA_UPDATED] == 0)
        cli_warning(NULL, "every change is a deletion: was the folder empty at %s?", when);
    return cli_confirm(c, "Roll back?", go);
}

static int rollback_folder(struct cli *c, struct arca *a, const struct arca_scope *scope, bool json)
{
    struct arca_rollback *v = NULL;
    size_t n = 0;
    char when[25], ago[64];
    int64_t seconds;
    bool go;
    int r;

    if (cli_time_arg("--to", c->to, when, &seconds) < 0)
        return EXIT_USAGE;
    if (seconds < 0) {
        cli_error("give a past time, or a duration ago such as --to 30m",
                  "--to %s is in the future", c->to);
        return EXIT_USAGE;
    }
    cli_ago(seconds, ago, sizeof(ago));
    if (time_parse_iso(c->to, &(int64_t){0}) < 0)
        fprintf(stderr, "--to %s: %s (%s)\n", c->to, when, ago);
    r = arca_secrets_rollback_plan(a, scope, when, &v, &n);
    if (r < 0)
        return cli_fail(a, r);
    r = rollback_confirm(c, scope, when, v, n, json, &go);
    arca_rollbacks_free(v, n);
    if (r || !go)
        return r;
    v = NULL;
    n = 0;
    r = arca_secrets_rollback(a, scope, when, &v, &n);
    if (r < 0)
        return cli_fail(a, r);
    if (json) {
        cli_print_json(rollbacks_json(v, n), false);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s: %s (version %" PRId64 ")\n", v[i].key, rollback_names[v[i].action],
                   v[i].version);
        fprintf(stderr, "%s:%s is as it was at %s, %s (%zu secrets changed)\n", scope->environment,
                scope->path, when, ago, n);
    }
    arca_rollbacks_free(v, n);
    return EXIT_OK;
}

int cmd_secrets_rollback(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    char project[128];
    bool json;
    int r;

    if (c->n_args == 1 && !c->version) {
        cli_error("arca secrets rollback KEY --version N --env ENV", "--version is required");
        return EXIT_USAGE;
    }
    if (c->n_args == 0 && !c->to) {
        cli_error("arca secrets rollback --to TIME --env ENV [--path PATH]",
                  "give KEY --version N, or --to TIME for the whole folder");
        return EXIT_USAGE;
    }
    if (c->n_args > 1 || (c->n_args == 1 && c->to) || (c->n_args == 0 && c->version)) {
        cli_error("arca secrets rollback KEY --version N, or arca secrets rollback --to TIME",
                  "roll back one secret to a version, or the folder to a time");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_scope(c, &a, &scope, project, sizeof(project));
    if (r)
        return r;
    r = c->n_args ? rollback_one(c, a, &scope, json) : rollback_folder(c, a, &scope, json);
    arca_free(a);
    return r;
}

/* --- audit logs ---------------------------------------------------------- */

/* The query of --project-id, --event, --actor, --since, --until; returns an
 * exit code. */
static int audit_query(const struct cli *c, struct arca_audit_query *q)
{
    *q = (struct arca_audit_query){
        .project_id = c->project_id,
        .event = c->event,
        .actor = c->actor,
        .since = c->since,
        .until = c->until,
    };
    if (cli_no_args(c, "arca audit-logs list [--project-id ID] [--event E] [--actor A] [--since T] "
                       "[--until T]"))
        return EXIT_USAGE;
    return EXIT_OK;
}

int cmd_audit_logs_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_audit_record *v = NULL;
    struct arca_audit_query q;
    size_t n = 0;
    int64_t next = -1;
    unsigned long limit = 100;
    bool json;
    int r;

    r = audit_query(c, &q);
    if (r)
        return r;
    if (c->limit) {
        char *end;
        errno = 0;
        limit = strtoul(c->limit, &end, 10);
        if (errno || *end || end == c->limit || limit < 1 || limit > AUDIT_PAGE) {
            cli_error("use 'arca audit-logs export' for everything", "--limit is 1 to %u",
                      AUDIT_PAGE);
            return EXIT_USAGE;
        }
    }
    q.limit = (unsigned)limit;
    q.newest_first = 1; /* like tail: the last --limit records, newest first */
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_audit_logs_list(a, &q, &v, &n, &next);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *o = NULL;
            if (wire_parse(v[i].json, strlen(v[i].json), &o, NULL) == 0)
                json_array_append_new(arr, o);
        }
        cli_print_json(arr, false);
    } else {
        printf("%-24s  %-24s  %-24s  %-36s  %-8s  %-12s  %-20s  %s\n", "TIME", "EVENT", "ACTOR",
               "PROJECT", "ENV", "PATH", "KEY", "OUTCOME");
        for (size_t i = 0; i < n; i++)
            printf("%-24s  %-24s  %-24s  %-36s  %-8s  %-12s  %-20s  %s\n", v[i].time, v[i].event,
                   dash(*v[i].actor_name ? v[i].actor_name : v[i].actor_id), dash(v[i].project_id),
                   dash(v[i].environment), dash(v[i].path), dash(v[i].key), v[i].outcome);
    }
    if (next >= 0 && !c->silent)
        fprintf(stderr,
                "showing the newest %zu records: older ones with --until/--event, a higher "
                "--limit, or 'arca audit-logs export'\n",
                n);
    arca_audit_records_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

int cmd_audit_logs_export(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_audit_query q;
    int r;

    r = audit_query(c, &q);
    if (r)
        return r;
    q.limit = AUDIT_PAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    for (;;) {
        struct arca_audit_record *v = NULL;
        size_t n = 0;
        int64_t next = -1;

        r = arca_audit_logs_list(a, &q, &v, &n, &next);
        if (r < 0)
            return cli_fail_free(a, r);
        for (size_t i = 0; i < n; i++)
            printf("%s\n", v[i].json);
        /* the next page starts after the last record seen: right whether 'next' is
         * that record's seq or the following one's */
        bool stuck = n > 0 && v[n - 1].seq <= q.after;
        if (n > 0)
            q.after = v[n - 1].seq;
        arca_audit_records_free(v, n);
        if (stuck) {
            cli_error(NULL, "the arca server sent a page that does not advance");
            arca_free(a);
            return EXIT_FAIL;
        }
        if (next < 0 || n == 0)
            break;
    }
    if (fflush(stdout) != 0) {
        cli_error(NULL, "cannot write the audit log: %s", strerror(errno));
        arca_free(a);
        return EXIT_FAIL;
    }
    arca_free(a);
    return EXIT_OK;
}

int cmd_audit_logs_verify(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_audit_verify *v = NULL;
    bool json;
    int r;

    if (c->archive)
        return cmd_audit_logs_verify_archive(c);
    if (c->data_dir || c->database_url) {
        cli_error("arca audit-logs verify --archive FILE --data-dir DIR",
                  "--data-dir and --database-url go with --archive FILE");
        return EXIT_USAGE;
    }
    if (cli_no_args(c, "arca audit-logs verify"))
        return EXIT_USAGE;
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_audit_logs_verify(a, &v);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        if (v->ok)
            cli_print_json(json_pack("{s:b, s:I, s:I, s:s, s:I}", "ok", 1, "records",
                                     (json_int_t)v->records, "headSeq", (json_int_t)v->head_seq,
                                     "headHash", v->head_hash, "anchorSeq",
                                     (json_int_t)v->anchor_seq),
                           false);
        else
            cli_print_json(json_pack("{s:b, s:I, s:I, s:s, s:s}", "ok", 0, "records",
                                     (json_int_t)v->records, "firstBadSeq",
                                     (json_int_t)v->first_bad_seq, "reason", v->reason, "cause",
                                     v->wrong_key ? "wrong-key" : "tampered"),
                           false);
    } else if (v->ok) {
        printf("audit log intact: %" PRId64 " records, head %" PRId64 " %s\n", v->records,
               v->head_seq, v->head_hash);
        if (v->anchor_seq)
            printf("(records up to %" PRId64 " were archived: the log starts after them)\n",
                   v->anchor_seq);
    } else if (v->wrong_key) {
        printf("audit log written with ANOTHER ROOT KEY from record %" PRId64 ": %s\n",
               v->first_bad_seq, v->reason);
    } else {
        printf("audit log TAMPERED at record %" PRId64 ": %s\n", v->first_bad_seq, v->reason);
    }
    r = v->ok ? EXIT_OK : EXIT_TAMPERED;
    arca_audit_verify_free(v);
    arca_free(a);
    return r;
}
