/* cmd_people.c - users invite, members add / list / update / remove, roles
 * create / list / delete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/util.h"
#include "base/wire.h"
#include "cli.h"

/* --- users invite -------------------------------------------------------- */

int cmd_users_invite(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_invite *inv = NULL;
    char *token = NULL;
    bool json;
    int r;

    if (c->n_args != 1) {
        cli_error("arca users invite EMAIL [--org-role admin|member]", "give one e-mail address");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_invite_create(a, c->args[0], c->org_role ? c->org_role : "member", c->organization_id,
                           &inv, &token);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json)
        cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s}", "token", token, "id", inv->id,
                                 "email", inv->email, "orgRole", inv->org_role, "expiresAt",
                                 inv->expires_at),
                       true);
    else
        printf("%s\n", token);
    fprintf(stderr,
            "invited %s as organization %s (the invite expires at %s)\n"
            "they sign up with: arca signup --invite TOKEN --email %s --password-stdin\n",
            inv->email, inv->org_role, inv->expires_at, inv->email);
    arca_secret_string_free(token);
    arca_invite_free(inv);
    arca_free(a);
    return EXIT_OK;
}

/* --- members ------------------------------------------------------------- */

static const char *principal_name(enum arca_principal_type t)
{
    return t == ARCA_PRINCIPAL_IDENTITY ? "identity" : "user";
}

int cmd_members_add(struct cli *c)
{
    struct arca *a = NULL;
    const char *pid, *who;
    bool json;
    char project[128];
    enum arca_principal_type type;
    int r;

    if ((c->identity && c->n_args) || (!c->identity && c->n_args != 1)) {
        cli_error("arca members add EMAIL --role ROLE, or arca members add --identity NAME "
                  "--role ROLE",
                  "give one e-mail address or --identity NAME");
        return EXIT_USAGE;
    }
    if (!c->role) {
        cli_error("add --role admin|member|viewer|no-access|CUSTOM-ROLE", "--role is required");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    type = c->identity ? ARCA_PRINCIPAL_IDENTITY : ARCA_PRINCIPAL_USER;
    who = c->identity ? c->identity : c->args[0];
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = arca_member_add(a, pid, type, who, c->role);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json)
        cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "principalType", principal_name(type),
                                 "name", who, "role", c->role, "projectId", pid),
                       false);
    else
        printf("added %s%s to project %s as %s\n",
               type == ARCA_PRINCIPAL_IDENTITY ? "machine identity " : "", who, pid, c->role);
    arca_free(a);
    return EXIT_OK;
}

int cmd_members_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_member *m = NULL;
    size_t n = 0;
    const char *pid;
    bool json;
    char project[128];
    int r;

    if (cli_no_args(c, "arca members list --project-id ID"))
        return EXIT_USAGE;
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = arca_members_list(a, pid, &m, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "principalType",
                                                 principal_name(m[i].type), "principalId",
                                                 m[i].principal_id, "name", m[i].name, "role",
                                                 m[i].role, "createdAt", m[i].created_at));
        cli_print_json(arr, false);
    } else {
        printf("%-8s  %-32s  %-12s  %-36s  %s\n", "TYPE", "NAME", "ROLE", "ID", "ADDED");
        for (size_t i = 0; i < n; i++)
            printf("%-8s  %-32s  %-12s  %-36s  %s\n", principal_name(m[i].type), m[i].name,
                   m[i].role, m[i].principal_id, m[i].created_at);
    }
    arca_members_free(m, n);
    arca_free(a);
    return EXIT_OK;
}

static int member_change(struct cli *c, bool remove)
{
    struct arca *a = NULL;
    const char *pid, *who;
    char project[128];
    int r;

    who = c->identity ? c->identity : (c->n_args == 1 ? c->args[0] : NULL);
    if (!who || (c->identity && c->n_args)) {
        cli_error(remove ? "arca members remove EMAIL|IDENTITY-NAME --project-id ID"
                         : "arca members update EMAIL|IDENTITY-NAME --role ROLE --project-id ID",
                  "give one member");
        return EXIT_USAGE;
    }
    if (!remove && !c->role) {
        cli_error("add --role ROLE", "--role is required");
        return EXIT_USAGE;
    }
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = remove ? arca_member_remove(a, pid, who) : arca_member_update(a, pid, who, c->role);
    if (r < 0)
        return cli_fail_free(a, r);
    if (remove)
        printf("removed %s from project %s\n", who, pid);
    else
        printf("%s is now %s in project %s\n", who, c->role, pid);
    arca_free(a);
    return EXIT_OK;
}

int cmd_members_update(struct cli *c)
{
    return member_change(c, false);
}

int cmd_members_remove(struct cli *c)
{
    return member_change(c, true);
}

/* --- roles --------------------------------------------------------------- */

/* Appends a rule of a role's JSON as a spec: "[deny ]subject:actions[:envs:path]". */
static int rule_spec(const json_t *rule, struct buf *out)
{
    const char *subject = "?", *path = NULL;
    json_t *acts = NULL, *envs = NULL;
    bool deny = false;
    int r = 0;

    (void)wire_get_str(rule, "subject", 64, &subject);
    (void)wire_get_bool(rule, "deny", &deny);
    (void)wire_get_arr(rule, "actions", 64, &acts);
    (void)wire_get_arr(rule, "environments", 64, &envs);
    (void)wire_get_str(rule, "secretPath", 2048, &path);
    bool scoped = streq(subject, "secrets") || streq(subject, "folders");

    r = buf_printf(out, "%s%s:", deny ? "deny " : "", subject);
    for (size_t i = 0; r >= 0 && i < json_array_size(acts); i++)
        r = buf_printf(out, "%s%s", i ? "," : "", json_string_value(json_array_get(acts, i)));
    if (r >= 0 && scoped) {
        r = buf_addch(out, ':');
        for (size_t i = 0; r >= 0 && i < json_array_size(envs); i++)
            r = buf_printf(out, "%s%s", i ? "," : "", json_string_value(json_array_get(envs, i)));
        if (r >= 0 && json_array_size(envs) == 0)
            r = buf_addch(out, '*');
        if (r >= 0)
            r = buf_printf(out, ":%s", path ? path : "/**");
    }
    return r;
}

/* roles create (update false) or update: SLUG, --allow/--deny rules (update:
 * none keeps them), --name. */
static int role_write(struct cli *c, bool update)
{
    struct arca *a = NULL;
    const char *pid,
        *usage = update
                     ? "arca roles update SLUG [--allow SPEC ...] [--deny SPEC ...] [--name NAME]"
                     : "arca roles create SLUG --allow SPEC [--allow SPEC ...] [--deny SPEC ...]";
    bool json;
    char project[128];
    char *rules = NULL;
    int r;

    if (c->n_args != 1) {
        cli_error(usage, "give one role slug");
        return EXIT_USAGE;
    }
    if (c->n_allow == 0 && (!update || c->n_deny > 0 || !c->name)) {
        cli_error("e.g. --allow 'secrets:read,create,edit,delete:dev,staging:/**'",
                  update ? "give the new rules (at least one --allow; they replace the old ones) "
                           "and/or --name"
                         : "at least one --allow rule is required");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = c->n_allow ? arca_rules_from_specs(a, c->allow, c->n_allow, c->deny, c->n_deny, &rules) : 0;
    if (r < 0) {
        cli_error("a rule is SUBJECT:ACTIONS:ENVS[:PATHGLOB] for secrets and folders, "
                  "SUBJECT:ACTIONS for the rest",
                  "%s", arca_errmsg(a));
        arca_free(a);
        return cli_exit_of(r);
    }
    r = update ? arca_role_update(a, pid, c->args[0], c->name, rules)
               : arca_role_create(a, pid, c->args[0], c->name, rules);
    if (r < 0) {
        free(rules);
        return cli_fail_free(a, r);
    }
    if (json) {
        json_t *rj = NULL;
        if (rules)
            (void)wire_parse(rules, strlen(rules), &rj, NULL);
        cli_print_json(json_pack("{s:s, s:s?, s:o?}", "slug", c->args[0], "name",
                                 c->name  ? c->name
                                 : update ? NULL
                                          : c->args[0],
                                 "rules", rj),
                       false);
    } else if (update) {
        printf("updated role '%s' in project %s", c->args[0], pid);
        if (rules)
            printf(": %zu rules, in force for its members now", c->n_allow + c->n_deny);
        printf("\n");
    } else {
        printf("created role '%s' in project %s with %zu rules\n", c->args[0], pid,
               c->n_allow + c->n_deny);
    }
    free(rules);
    arca_free(a);
    return EXIT_OK;
}

int cmd_roles_create(struct cli *c)
{
    return role_write(c, false);
}

int cmd_roles_update(struct cli *c)
{
    return role_write(c, true);
}

int cmd_roles_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_role *v = NULL;
    size_t n = 0;
    const char *pid;
    bool json;
    char project[128];
    int r;

    if (cli_no_args(c, "arca roles list --project-id ID"))
        return EXIT_USAGE;
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = arca_roles_list(a, pid, &v, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *rj = NULL;
            (void)wire_parse(v[i].rules, strlen(v[i].rules), &rj, NULL);
            json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:o}", "slug", v[i].slug, "name",
                                                 v[i].name, "builtin", v[i].builtin, "rules",
                                                 rj ? rj : json_array()));
        }
        cli_print_json(arr, false);
    } else {
        printf("%-20s  %-24s  %-8s  %s\n", "SLUG", "NAME", "TYPE", "RULES");
        for (size_t i = 0; i < n; i++) {
            _cleanup_buf_ struct buf specs = BUF_INIT;
            _cleanup_json_ json_t *rj = NULL;
            if (wire_parse(v[i].rules, strlen(v[i].rules), &rj, NULL) == 0)
                for (size_t k = 0; k < json_array_size(rj); k++) {
                    if (k)
                        buf_adds(&specs, " ");
                    rule_spec(json_array_get(rj, k), &specs);
                }
            printf("%-20s  %-24s  %-8s  %s\n", v[i].slug, v[i].name,
                   v[i].builtin ? "built-in" : "custom", buf_str(&specs));
        }
    }
    arca_roles_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

int cmd_roles_delete(struct cli *c)
{
    struct arca *a = NULL;
    const char *pid;
    char project[128];
    int r;

    if (c->n_args != 1) {
        cli_error("arca roles delete SLUG --project-id ID", "give one role slug");
        return EXIT_USAGE;
    }
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = arca_role_delete(a, pid, c->args[0]);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("deleted role '%s' from project %s\n", c->args[0], pid);
    arca_free(a);
    return EXIT_OK;
}

int cmd_invites_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_invite *v = NULL;
    size_t n = 0;
    bool json;
    int r;

    if (cli_no_args(c, "arca invites list [--format json]") ||
        cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_invites_list(a, &v, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", v[i].id,
                                                 "email", v[i].email, "orgRole", v[i].org_role,
                                                 "status", v[i].status, "createdAt",
                                                 v[i].created_at, "expiresAt", v[i].expires_at));
        cli_print_json(arr, false);
    } else {
        printf("%-36s  %-32s  %-6s  %-8s  %s\n", "ID", "EMAIL", "ROLE", "STATUS", "EXPIRES");
        for (size_t i = 0; i < n; i++)
            printf("%-36s  %-32s  %-6s  %-8s  %s\n", v[i].id, v[i].email, v[i].org_role,
                   v[i].status, v[i].expires_at);
    }
    arca_invites_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

int cmd_invites_revoke(struct cli *c)
{
    struct arca *a = NULL;
    int r;

    if (c->n_args != 1) {
        cli_error("arca invites revoke ID (see 'arca invites list')", "give one invite id");
        return EXIT_USAGE;
    }
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_invite_revoke(a, c->args[0]);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("revoked invite %s: its token no longer signs up\n", c->args[0]);
    arca_free(a);
    return EXIT_OK;
}

int cmd_users_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_org_user *v = NULL;
    size_t n = 0;
    bool json;
    int r;

    if (cli_no_args(c, "arca users list [--format json]") || cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_org_users_list(a, &v, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", v[i].id, "email",
                                                 v[i].email, "orgRole", v[i].org_role, "createdAt",
                                                 v[i].created_at));
        cli_print_json(arr, false);
    } else {
        printf("%-32s  %-6s  %-24s  %s\n", "EMAIL", "ROLE", "JOINED", "ID");
        for (size_t i = 0; i < n; i++)
            printf("%-32s  %-6s  %-24s  %s\n", v[i].email, v[i].org_role, v[i].created_at, v[i].id);
    }
    arca_org_users_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

/* "P1 (role), P2 (role)" of v into b. */
static int user_projects_text(struct buf *b, const struct arca_user_project *v, size_t n)
{
    buf_clear(b);
    for (size_t i = 0; i < n; i++)
        if (buf_printf(b, "%s%s (%s)", i ? ", " : "", v[i].name, v[i].role) < 0)
            return -ENOMEM;
    return buf_addch(b, 0) < 0 ? -ENOMEM : 0;
}

int cmd_users_remove(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_org_user *u = NULL;
    struct arca_user_project *p = NULL;
    size_t n = 0, np = 0, i;
    bool go = false;
    char *id = NULL;
    _cleanup_buf_ struct buf text = BUF_INIT;
    int r;

    if (c->n_args != 1) {
        cli_error("arca users remove EMAIL [--yes | --dry-run]", "give one e-mail address");
        return EXIT_USAGE;
    }
    if ((r = cli_client(c, true, &a)) != EXIT_OK)
        return r;
    if ((r = arca_org_users_list(a, &u, &n)) < 0)
        return cli_fail_free(a, r);
    for (i = 0; i < n && strcasecmp(u[i].email, c->args[0]) != 0; i++)
        ;
    if (i == n) {
        arca_org_users_free(u, n);
        arca_free(a);
        cli_error("see 'arca users list'", "'%s' is not in your organization", c->args[0]);
        return EXIT_NOTFOUND;
    }
    id = u[i].id;
    if ((r = arca_org_user_remove(a, id, 1, &p, &np)) < 0)
        goto fail;
    if ((r = user_projects_text(&text, p, np)) < 0)
        goto fail;
    cli_plan(c,
             "removing %s (organization %s) from the organization and %zu project%s%s%s; their "
             "sessions end; keys they saw stay known to them until 'arca projects rotate-key'\n",
             c->args[0], u[i].org_role, np, np == 1 ? "" : "s", np ? ": " : "", text.ptr);
    arca_user_projects_free(p, np);
    p = NULL;
    if ((r = cli_confirm_typed(c, "Remove them from the organization?", c->args[0], &go)) !=
            EXIT_OK ||
        !go)
        goto out;
    if ((r = arca_org_user_remove(a, id, 0, &p, &np)) < 0)
        goto fail;
    printf("removed %s from the organization and %zu project%s\n", c->args[0], np,
           np == 1 ? "" : "s");
    if (np && user_projects_text(&text, p, np) == 0)
        fprintf(stderr,
                "arca: hint: the project keys of %s stay known to them, and what they could "
                "read: rotate each with 'arca projects rotate-key --project-id ID'\n",
                text.ptr);
    r = EXIT_OK;
    goto out;
fail:
    r = cli_fail(a, r);
out:
    arca_user_projects_free(p, np);
    arca_org_users_free(u, n);
    arca_free(a);
    return r;
}
