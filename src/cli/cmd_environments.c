/* cmd_environments.c - environments list / add / rename / remove. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "base/wire.h"
#include "cli.h"

#define POSITION_MAX 1000

/* --position N (0 when absent); EXIT_USAGE with a message when it is not 1..1000. */
static int position_of(const struct cli *c, int *ret)
{
    char *end = NULL;
    long v;

    *ret = 0;
    if (!c->position)
        return EXIT_OK;
    errno = 0;
    v = strtol(c->position, &end, 10);
    if (errno || end == c->position || *end || v < 1 || v > POSITION_MAX) {
        cli_error("run 'arca environments --help'", "--position must be a number from 1 to %d",
                  POSITION_MAX);
        return EXIT_USAGE;
    }
    *ret = (int)v;
    return EXIT_OK;
}

enum env_op { ENV_ADD, ENV_RENAME, ENV_REMOVE };

static const char *const env_hints[] = {
    [ENV_ADD] = "arca environments add SLUG [--name NAME] [--position N]",
    [ENV_RENAME] = "arca environments rename SLUG --name NAME [--position N]",
    [ENV_REMOVE] = "arca environments remove SLUG [--purge]",
};

/* environments remove --purge: counts what goes, shows it, asks (the slug,
 * on a terminal), deletes.  TAKES a. */
static int env_purge(struct cli *c, struct arca *a, const char *pid, const char *slug)
{
    long long secrets = 0, versions = 0;
    bool go;
    int r;

    if ((r = arca_environment_purge(a, pid, slug, 1, &secrets, &versions)) < 0)
        return cli_fail_free(a, r);
    cli_plan(c,
             "removing environment '%s' from project %s with its history: %lld secret%s and "
             "%lld version%s deleted for good (the audit log keeps its records)\n",
             slug, pid, secrets, secrets == 1 ? "" : "s", versions, versions == 1 ? "" : "s");
    r = cli_confirm_typed(c, "Delete the environment and its history for good?", slug, &go);
    if (r || !go) {
        arca_free(a);
        return r;
    }
    if ((r = arca_environment_purge(a, pid, slug, 0, &secrets, &versions)) < 0)
        return cli_fail_free(a, r);
    printf("removed environment '%s' from project %s: %lld secret%s and %lld version%s deleted\n",
           slug, pid, secrets, secrets == 1 ? "" : "s", versions, versions == 1 ? "" : "s");
    arca_free(a);
    return EXIT_OK;
}

/* One SLUG argument, then the change op on it. */
static int env_change(struct cli *c, enum env_op op)
{
    struct arca *a = NULL;
    const char *pid, *slug;
    char project[128];
    int position, r;

    if (c->n_args != 1) {
        cli_error(env_hints[op], "give one environment slug");
        return EXIT_USAGE;
    }
    if (op == ENV_RENAME && !c->name) {
        cli_error(env_hints[op], "--name is required");
        return EXIT_USAGE;
    }
    if ((r = position_of(c, &position)) ||
        (r = cli_client_project(c, &a, &pid, project, sizeof(project))))
        return r;
    slug = c->args[0];
    if (op == ENV_REMOVE && c->purge)
        return env_purge(c, a, pid, slug);
    if (op == ENV_REMOVE) {
        bool go;
        cli_plan(c,
                 "removing environment '%s' from project %s (refused if it ever held a secret)\n",
                 slug, pid);
        r = cli_confirm(c, "Remove the environment?", &go);
        if (r || !go) {
            arca_free(a);
            return r;
        }
    }
    r = op == ENV_ADD      ? arca_environment_create(a, pid, slug, c->name, position)
        : op == ENV_RENAME ? arca_environment_update(a, pid, slug, NULL, c->name, position)
                           : arca_environment_delete(a, pid, slug);
    if (r < 0)
        return cli_fail_free(a, r);
    if (op == ENV_ADD)
        printf("added environment '%s' to project %s\n", slug, pid);
    else if (op == ENV_RENAME)
        printf("renamed environment '%s' to '%s'\n", slug, c->name);
    else
        printf("removed environment '%s' from project %s\n", slug, pid);
    arca_free(a);
    return EXIT_OK;
}

int cmd_environments_add(struct cli *c)
{
    return env_change(c, ENV_ADD);
}

int cmd_environments_rename(struct cli *c)
{
    return env_change(c, ENV_RENAME);
}

int cmd_environments_remove(struct cli *c)
{
    return env_change(c, ENV_REMOVE);
}

int cmd_environments_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_project *p = NULL;
    const char *pid;
    char project[128];
    bool json;
    int r;

    if (cli_no_args(c, "arca environments list [--project-id ID]"))
        return EXIT_USAGE;
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = arca_project_get(a, pid, &p);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        cli_print_json(cli_environments_json(p), false);
    } else {
        printf("%-24s  %-32s  %s\n", "SLUG", "NAME", "POSITION");
        for (size_t i = 0; i < p->n_environments; i++)
            printf("%-24s  %-32s  %d\n", p->environments[i].slug, p->environments[i].name,
                   p->environments[i].position);
    }
    arca_project_free(p);
    arca_free(a);
    return EXIT_OK;
}
