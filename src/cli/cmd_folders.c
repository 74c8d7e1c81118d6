/* cmd_folders.c - arca folders list|create|delete and arca imports
 * list|add|remove: the folders of an environment and what a folder imports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "cli.h"

int cmd_folders_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    struct arca_folder *v = NULL;
    size_t n = 0;
    char project[128];
    bool json;
    int r;

    if (cli_no_args(c, "arca folders list --env ENV [--path PATH] [--recursive]") ||
        cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_scope(c, &a, &scope, project, sizeof(project));
    if (r)
        return r;
    r = arca_folders_list(a, &scope, c->recursive, &v, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", v[i].id, "name",
                                                 v[i].name, "path", v[i].path, "createdAt",
                                                 v[i].created_at));
        cli_print_json(arr, false);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", v[i].path);
    }
    arca_folders_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

int cmd_folders_create(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    struct arca_folder *f = NULL;
    char project[128];
    int r;

    if (c->n_args != 1) {
        cli_error("arca folders create NAME --env ENV [--path PARENT]",
                  "give one folder name (letters, digits, '-' and '_')");
        return EXIT_USAGE;
    }
    r = cli_client_scope(c, &a, &scope, project, sizeof(project));
    if (r)
        return r;
    r = arca_folder_create(a, &scope, c->args[0], &f);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("%s\n", f->path);
    arca_folders_free(f, 1);
    arca_free(a);
    return EXIT_OK;
}

/* Shows what deleting the folder of scope takes (its secrets, sub-folders
 * included) and asks.  Returns an exit code; EXIT_OK with --dry-run too. */
static int folder_delete_confirm(struct cli *c, struct arca *a, struct arca_scope *scope)
{
    struct arca_secret_list *list = NULL;
    struct arca_scope all = *scope;
    bool go;
    int r;

    all.flags = ARCA_RECURSIVE | ARCA_SHARED_ONLY;
    r = arca_secrets_list(a, &all, &list);
    if (r == -ENOENT)
        return cli_fail(a, r);
    if (r < 0) {
        cli_plan(c,
                 "deleting %s:%s deletes the folder, every folder below it and their secrets "
                 "(you may not list them here)\n",
                 scope->environment, scope->path);
    } else {
        for (size_t i = 0; i < list->n; i++)
            cli_plan(c, "  delete %s%s%s\n", list->v[i].path,
                     streq(list->v[i].path, "/") ? "" : "/", list->v[i].key);
        cli_plan(c,
                 "deleting %s:%s deletes %zu secrets (each gets a deleted version; history "
                 "is kept)\n",
                 scope->environment, scope->path, list->n);
        arca_secret_list_free(list);
    }
    r = cli_confirm(c, "Delete the folder?", &go);
    return r ? r : go || c->dry_run ? EXIT_OK : EXIT_FAIL;
}

int cmd_folders_delete(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    char project[128];
    int r;

    if (c->n_args != 1) {
        cli_error("arca folders delete PATH --env ENV", "give the folder's path, e.g. /app/api");
        return EXIT_USAGE;
    }
    r = cli_client_scope(c, &a, &scope, project, sizeof(project));
    if (r)
        return r;
    scope.path = c->args[0];
    r = folder_delete_confirm(c, a, &scope);
    if (r || c->dry_run) {
        arca_free(a);
        return r;
    }
    r = arca_folder_delete(a, &scope);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("%s: deleted\n", c->args[0]);
    arca_free(a);
    return EXIT_OK;
}

static json_t *import_json(const struct arca_import *imp)
{
    return json_pack("{s:s, s:s, s:s, s:I}", "id", imp->id, "environment", imp->environment, "path",
                     imp->path, "position", (json_int_t)imp->position);
}

int cmd_imports_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    struct arca_import *v = NULL;
    size_t n = 0;
    char project[128];
    bool json;
    int r;

    if (cli_no_args(c, "arca imports list --env ENV [--path PATH]") ||
        cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_scope(c, &a, &scope, project, sizeof(project));
    if (r)
        return r;
    r = arca_imports_list(a, &scope, &v, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, import_json(&v[i]));
        cli_print_json(arr, false);
    } else {
        printf("%-8s  %-36s  %s\n", "POSITION", "ID", "FROM");
        for (size_t i = 0; i < n; i++)
            printf("%-8lld  %-36s  %s:%s\n", (long long)v[i].position, v[i].id, v[i].environment,
                   v[i].path);
    }
    arca_imports_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

int cmd_imports_add(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    struct arca_import *imp = NULL;
    char project[128], env[NAME_SLUG_MAX + 1];
    const char *colon = c->from ? strchr(c->from, ':') : NULL;
    bool json;
    int r;

    if (cli_no_args(c, "arca imports add --from ENV:PATH --env ENV [--path PATH]") ||
        cli_format_json(c, "plain", &json) < 0)
        return EXIT_USAGE;
    if (!c->from || (colon && (size_t)(colon - c->from) > NAME_SLUG_MAX)) {
        cli_error("arca imports add --from staging:/shared --env prod",
                  "--from ENV:PATH names the folder to import");
        return EXIT_USAGE;
    }
    snprintf(env, sizeof(env), "%.*s", colon ? (int)(colon - c->from) : NAME_SLUG_MAX, c->from);
    r = cli_client_scope(c, &a, &scope, project, sizeof(project));
    if (r)
        return r;
    r = arca_import_add(a, &scope, env, colon ? colon + 1 : "/", &imp);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json)
        cli_print_json(import_json(imp), false);
    else
        printf("%s\n", imp->id);
    arca_imports_free(imp, 1);
    arca_free(a);
    return EXIT_OK;
}

int cmd_imports_remove(struct cli *c)
{
    struct arca *a = NULL;
    const char *pid;
    char project[128];
    int r;

    if (c->n_args != 1) {
        cli_error("arca imports remove ID", "give the import's id (see 'arca imports list')");
        return EXIT_USAGE;
    }
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = arca_import_remove(a, pid, c->args[0]);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("%s: removed\n", c->args[0]);
    arca_free(a);
    return EXIT_OK;
}
