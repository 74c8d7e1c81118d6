/* cmd_projects.c - projects create / list / rotate-key, and init (.arca.json). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "cli.h"

json_t *cli_environments_json(const struct arca_project *p)
{
    json_t *envs = json_array();

    for (size_t i = 0; i < p->n_environments; i++)
        json_array_append_new(envs, json_pack("{s:s, s:s, s:i}", "slug", p->environments[i].slug,
                                              "name", p->environments[i].name, "position",
                                              p->environments[i].position));
    return envs;
}

static json_t *project_json(const struct arca_project *p)
{
    json_t *envs = cli_environments_json(p);

    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:b}", "id", p->id, "name", p->name, "slug",
                     p->slug, "organizationId", p->organization_id, "createdAt", p->created_at,
                     "environments", envs, "serverAccess", p->server_access);
}

int cmd_projects_create(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_project *p = NULL;
    bool json;
    int r;

    if (c->n_args != 1) {
        cli_error("arca projects create NAME", "give exactly one project name");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_project_create(a, c->args[0], &p);
    if (r < 0)
        return cli_fail_free(a, r);
    if (c->server_access) {
        r = arca_project_set_server_access(a, p->id, 1);
        if (r < 0) {
            arca_project_free(p);
            return cli_fail_free(a, r);
        }
        p->server_access = 1;
    }
    if (json)
        cli_print_json(project_json(p), false);
    else
        printf("created project '%s' (id %s) with environments dev, staging, prod\n"
               "next: arca init --project-id %s\n",
               p->name, p->id, p->id);
    arca_project_free(p);
    arca_free(a);
    return EXIT_OK;
}

int cmd_projects_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_project *ps = NULL;
    size_t n = 0;
    bool json;
    int r;

    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_projects_list(a, &ps, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, project_json(&ps[i]));
        cli_print_json(arr, false);
    } else {
        printf("%-36s  %s\n", "ID", "NAME");
        for (size_t i = 0; i < n; i++)
            printf("%-36s  %s\n", ps[i].id, ps[i].name);
    }
    arca_projects_free(ps, n);
    arca_free(a);
    return EXIT_OK;
}

/* On a terminal: lists the caller's projects and reads the number of one.
 * Returns an exit code; *ret OWNED (arca_project_free). */
static int pick_project(struct arca *a, struct arca_project **ret)
{
    struct arca_project *v = NULL;
    size_t n = 0;
    char line[32], *end;
    unsigned long k;
    int r = arca_projects_list(a, &v, &n);

    if (r < 0)
        return cli_fail(a, r);
    if (n == 0) {
        arca_projects_free(v, n);
        cli_error("create one with 'arca projects create NAME'", "you have no project yet");
        return EXIT_NOTFOUND;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %zu) %s (%s)\n", i + 1, v[i].name, v[i].slug);
    fprintf(stderr, "Project [1-%zu]: ", n);
    fflush(stderr);
    k = fgets(line, sizeof(line), stdin) ? strtoul(line, &end, 10) : 0;
    if (k < 1 || k > n) {
        arca_projects_free(v, n);
        cli_error("run it again, or pass --project-id ID|SLUG", "no project picked");
        return EXIT_USAGE;
    }
    r = arca_project_get(a, v[k - 1].id, ret);
    arca_projects_free(v, n);
    return r < 0 ? cli_fail(a, r) : EXIT_OK;
}

int cmd_init(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_project *p = NULL;
    _cleanup_buf_ struct buf text = BUF_INIT;
    json_t *j;
    int r;

    const char *pid = c->project_id;
    bool tty = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);

    if ((!pid && !tty) || c->n_args) {
        cli_error("arca init --project-id ID|SLUG (see 'arca projects list')",
                  "--project-id is required (or run it on a terminal to pick one)");
        return EXIT_USAGE;
    }
    if (c->env && !name_slug_valid(c->env)) {
        cli_error(NULL, "'%s' is not an environment slug", c->env);
        return EXIT_USAGE;
    }
    r = cli_client(c, true, &a);
    if (r)
        return r;
    if (!pid && (r = pick_project(a, &p)) != EXIT_OK) {
        arca_free(a);
        return r;
    }
    if (!p && (r = cli_project_resolve(c, a, &pid)) != EXIT_OK) {
        arca_free(a);
        return r;
    }
    if (!p && (r = arca_project_get(a, pid, &p)) < 0)
        return cli_fail_free(a, r);
    j = c->env ? json_pack("{s:s, s:s}", "projectId", p->id, "defaultEnvironment", c->env)
               : json_pack("{s:s}", "projectId", p->id);
    if (!j || wire_dump(&text, j) < 0 || buf_addch(&text, '\n') < 0) {
        json_decref(j);
        r = EXIT_FAIL;
        goto out;
    }
    json_decref(j);
    if (cli_write_file(".arca.json", text.ptr, text.len, 0644) < 0) {
        r = EXIT_FAIL;
        goto out;
    }
    printf("wrote .arca.json for project '%s'\n", p->name);
    r = EXIT_OK;
out:
    arca_project_free(p);
    arca_free(a);
    return r;
}

/* Says what a key rotation takes (the service tokens it revokes) and asks. */
static int rotate_confirm(struct cli *c, struct arca *a, const char *pid)
{
    struct arca_service_token *t = NULL;
    size_t n = 0;
    bool go;
    int r;

    cli_plan(c, "rotating the key of project %s re-encrypts every version of every secret\n", pid);
    if (arca_service_tokens_list(a, pid, &t, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            cli_plan(c, "  revoke service token %s (%s)\n", t[i].id, t[i].name);
        cli_plan(c,
                 "and revokes the project's %zu service tokens: whatever uses them stops "
                 "working until given new ones\n",
                 n);
        arca_service_tokens_free(t, n);
    } else {
        cli_plan(c, "and revokes every service token of the project\n");
    }
    r = cli_confirm(c, "Rotate the key?", &go);
    return r ? r : go || c->dry_run ? EXIT_OK : EXIT_FAIL;
}

int cmd_projects_rotate_key(struct cli *c)
{
    struct arca *a = NULL;
    const char *pid;
    bool json;
    char project[128];
    size_t n_versions = 0, n_members = 0;
    int r;

    if (cli_no_args(c, "arca projects rotate-key --project-id ID"))
        return EXIT_USAGE;
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = rotate_confirm(c, a, pid);
    if (r || c->dry_run) {
        arca_free(a);
        return r;
    }
    r = arca_project_rotate_key(a, pid, &n_versions, &n_members);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json)
        cli_print_json(json_pack("{s:s, s:I, s:I, s:b}", "projectId", pid, "versions",
                                 (json_int_t)n_versions, "members", (json_int_t)n_members,
                                 "serviceTokensRevoked", 1),
                       false);
    else
        printf("rotated the key of project %s: re-encrypted %zu versions, sealed the new key to "
               "%zu members\n"
               "the project's service tokens were revoked (they held the old key): create new "
               "ones with 'arca service-token create'\n",
               pid, n_versions, n_members);
    arca_free(a);
    return EXIT_OK;
}

int cmd_projects_update(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_project *p = NULL;
    bool json;
    int on, r;

    /* --server-access, --no-server-access, --server-access=on|off; and the
     * older "--server-access on|off" */
    bool legacy =
        c->n_args == 2 && c->server_access && (streq(c->args[1], "on") || streq(c->args[1], "off"));
    if (!cli_given(c, "server-access") || (c->n_args != 1 && !legacy)) {
        cli_error("arca projects update ID --server-access | --no-server-access",
                  c->n_args == 1 ? "nothing to update" : "give one project id");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    on = legacy ? streq(c->args[1], "on") : c->server_access;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_project_set_server_access(a, c->args[0], on);
    if (r == 0)
        r = arca_project_get(a, c->args[0], &p);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json)
        cli_print_json(project_json(p), false);
    else
        printf("server access is %s for project '%s'\n", on ? "on" : "off", p->name);
    arca_project_free(p);
    arca_free(a);
    return EXIT_OK;
}

/* A command on the project of its first argument (an id or a slug) that takes
 * n arguments: the client and the project's id.  Returns an exit code; *a
 * OWNED on success. */
static int project_arg(struct cli *c, size_t n, const char *usage, struct arca **a,
                       const char **pid)
{
    int r;

    if (c->n_args != n) {
        cli_error(usage, "give the project (its id or slug)%s", n > 1 ? " and its new name" : "");
        return EXIT_USAGE;
    }
    r = cli_client(c, true, a);
    if (r)
        return r;
    *pid = c->args[0];
    r = cli_project_resolve(c, *a, pid);
    if (r) {
        arca_free(*a);
        *a = NULL;
    }
    return r;
}

int cmd_projects_rename(struct cli *c)
{
    struct arca *a = NULL;
    const char *pid;
    char project[128];
    int r;

    r = project_arg(c, 2, "arca projects rename ID|SLUG NEW-NAME", &a, &pid);
    if (r)
        return r;
    snprintf(project, sizeof(project), "%s", pid);
    r = arca_project_rename(a, project, c->args[1]);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("renamed project %s to '%s' (its slug stays)\n", project, c->args[1]);
    arca_free(a);
    return EXIT_OK;
}

int cmd_projects_delete(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_project *p = NULL;
    struct arca_member *m = NULL;
    struct arca_service_token *t = NULL;
    size_t n_m = 0, n_t = 0;
    const char *pid;
    bool go;
    int r;

    r = project_arg(c, 1, "arca projects delete ID|SLUG [--yes | --dry-run]", &a, &pid);
    if (r)
        return r;
    if ((r = arca_project_get(a, pid, &p)) < 0)
        return cli_fail_free(a, r);
    if (arca_members_list(a, p->id, &m, &n_m) < 0)
        m = NULL, n_m = 0;
    if (arca_service_tokens_list(a, p->id, &t, &n_t) < 0)
        t = NULL, n_t = 0;
    cli_plan(c, "deleting project '%s' (%s, id %s) deletes, for good:\n", p->name, p->slug, p->id);
    for (size_t i = 0; i < p->n_environments; i++)
        cli_plan(c, "  environment %s with every secret and its history\n",
                 p->environments[i].slug);
    cli_plan(c, "  its %zu members' access, its roles, its %zu service tokens and its imports\n",
             n_m, n_t);
    cli_plan(c, "the audit log keeps its records; nothing brings the secrets back\n");
    arca_members_free(m, n_m);
    arca_service_tokens_free(t, n_t);
    r = cli_confirm_typed(c, "Delete the project?", p->slug, &go);
    if (r == EXIT_OK && go) {
        r = arca_project_delete(a, p->id);
        if (r < 0)
            r = cli_fail(a, r);
        else
            printf("deleted project '%s' (%s)\n", p->name, p->id);
    }
    arca_project_free(p);
    arca_free(a);
    return r;
}
