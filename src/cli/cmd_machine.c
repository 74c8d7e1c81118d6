/* cmd_machine.c - identities create / list / delete, identities client-secret
 * create / list / revoke and service-token create / list / revoke.  Client
 * secrets and service tokens are printed once, on stdout, and never again: they
 * cannot be recovered. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "base/wire.h"
#include "cli.h"

/* Parses a duration flag into *ret (unchanged when the flag is absent). */
/* A service token's lifetime unless --expires-in says otherwise: 30 days. */
#define TOKEN_EXPIRY_DEFAULT (30 * 24 * 3600)

static bool duration_flag(const char *flag, const char *value, int64_t *ret)
{
    if (!value)
        return true;
    if (arca_duration_parse(value, ret) == 0)
        return true;
    cli_error("use a number and a unit: 30d, 12h, 45m, 3600s (0 = never)",
              "--%s '%s' is not a duration", flag, value);
    return false;
}

/* Parses a count flag (a whole number, 0 = no limit) into *ret (unchanged when
 * the flag is absent). */
static bool count_flag(const char *flag, const char *value, int64_t *ret)
{
    int64_t n = 0;

    if (!value)
        return true;
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9' || n > (INT64_C(1) << 40)) {
            n = -1;
            break;
        }
        n = n * 10 + (*p - '0');
    }
    if (*value && n >= 0 && n <= (INT64_C(1) << 40)) {
        *ret = n;
        return true;
    }
    cli_error("give a whole number, 0 for no limit", "--%s '%s' is not a number of uses", flag,
              value);
    return false;
}

/* --- identities ---------------------------------------------------------- */

int cmd_identities_create(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_identity *id = NULL;
    struct arca_identity_options opts = {0};
    char *secret = NULL;
    bool json;
    int r;

    if (c->n_args != 1) {
        cli_error("arca identities create NAME [--project-id ID --role ROLE]",
                  "give one identity name");
        return EXIT_USAGE;
    }
    if (c->project_id && !c->role) {
        cli_error("add --role ROLE", "--role is required with --project-id");
        return EXIT_USAGE;
    }
    if (c->role && !c->project_id) {
        cli_error("add --project-id ID", "--role needs --project-id");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    if (!duration_flag("access-token-ttl", c->access_token_ttl, &opts.access_token_ttl) ||
        !duration_flag("access-token-max-ttl", c->access_token_max_ttl,
                       &opts.access_token_max_ttl) ||
        !count_flag("access-token-num-uses-limit", c->access_token_num_uses_limit,
                    &opts.access_token_num_uses_limit))
        return EXIT_USAGE;
    opts.project_id = c->project_id;
    opts.role = c->role;
    opts.organization_id = c->organization_id;
    opts.trusted_ips = c->trusted_ips;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_identity_create(a, c->args[0], &opts, &id, &secret);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "identityId", id->id, "clientId",
                              id->client_id, "clientSecret", secret, "name", id->name,
                              "organizationId", id->organization_id);
        if (o && c->project_id) {
            json_object_set_new(o, "projectId", json_string(c->project_id));
            json_object_set_new(o, "role", json_string(c->role));
        }
        cli_print_json(o, true);
    } else {
        printf("identity ID:   %s\nclient ID:     %s\nclient secret: %s\n", id->id, id->client_id,
               secret);
    }
    fprintf(stderr, "created machine identity '%s'", id->name);
    if (c->project_id)
        fprintf(stderr, " and added it to project %s as %s", c->project_id, c->role);
    fprintf(stderr, "\nthe client secret is shown once: store it now (it logs in with 'arca login "
                    "--method=universal-auth' or ARCA_CLIENT_ID / ARCA_CLIENT_SECRET)\n");
    arca_secret_string_free(secret);
    arca_identity_free(id);
    arca_free(a);
    return EXIT_OK;
}

int cmd_identities_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_identity *v = NULL;
    size_t n = 0;
    bool json;
    int r;

    if (cli_no_args(c, "arca identities list"))
        return EXIT_USAGE;
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_identities_list(a, &v, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id", v[i].id, "name",
                               v[i].name, "clientId", v[i].client_id, "organizationId",
                               v[i].organization_id, "createdAt", v[i].created_at, "accessTokenTTL",
                               (json_int_t)v[i].access_token_ttl, "accessTokenMaxTTL",
                               (json_int_t)v[i].access_token_max_ttl, "accessTokenNumUsesLimit",
                               (json_int_t)v[i].access_token_num_uses_limit));
        cli_print_json(arr, false);
    } else {
        printf("%-24s  %-36s  %-36s  %s\n", "NAME", "ID", "CLIENT ID", "CREATED");
        for (size_t i = 0; i < n; i++)
            printf("%-24s  %-36s  %-36s  %s\n", v[i].name, v[i].id, v[i].client_id,
                   v[i].created_at);
    }
    arca_identities_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

int cmd_identities_delete(struct cli *c)
{
    struct arca *a = NULL;
    int r;

    if (c->n_args != 1) {
        cli_error("arca identities delete NAME|ID", "give one identity");
        return EXIT_USAGE;
    }
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_identity_delete(a, c->args[0]);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("deleted machine identity '%s'\n", c->args[0]);
    arca_free(a);
    return EXIT_OK;
}

/* --- client secrets ------------------------------------------------------ */

/* --identity, required by the client-secret commands. */
static bool identity_flag(const struct cli *c, const char *usage)
{
    if (c->identity && *c->identity)
        return true;
    cli_error(usage, "give the machine identity with --identity NAME|ID");
    return false;
}

int cmd_client_secret_create(struct cli *c)
{
    static const char usage[] = "arca identities client-secret create --identity NAME|ID "
                                "[--description D] [--ttl 30d] [--num-uses-limit N]";
    struct arca *a = NULL;
    struct arca_client_secret *cs = NULL;
    struct arca_client_secret_options opts = {.description = c->description};
    char *secret = NULL;
    bool json;
    int r;

    if (cli_no_args(c, usage) || !identity_flag(c, usage))
        return EXIT_USAGE;
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    if (!duration_flag("ttl", c->ttl, &opts.ttl) ||
        !count_flag("num-uses-limit", c->num_uses_limit, &opts.num_uses_limit))
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_client_secret_create(a, c->identity, &opts, &cs, &secret);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json)
        cli_print_json(json_pack("{s:s, s:s, s:s, s:s?, s:I}", "clientSecretId", cs->id,
                                 "clientSecret", secret, "prefix", cs->prefix, "expiresAt",
                                 cs->expires_at, "numUsesLimit", (json_int_t)cs->num_uses_limit),
                       true);
    else
        printf("client secret ID: %s\nclient secret:    %s\n", cs->id, secret);
    fprintf(stderr,
            "created a client secret for machine identity '%s'; it is shown once: store it now\n"
            "the identity has a new key pair: its other client secrets and their access tokens "
            "are revoked\n",
            c->identity);
    arca_secret_string_free(secret);
    arca_client_secret_free(cs);
    arca_free(a);
    return EXIT_OK;
}

int cmd_client_secret_list(struct cli *c)
{
    static const char usage[] = "arca identities client-secret list --identity NAME|ID";
    struct arca *a = NULL;
    struct arca_client_secret *v = NULL;
    size_t n = 0;
    bool json;
    int r;

    if (cli_no_args(c, usage) || !identity_flag(c, usage))
        return EXIT_USAGE;
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_client_secrets_list(a, c->identity, &v, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s, s:s?, s:I, s:I, s:b, s:s}", "id", v[i].id, "prefix",
                               v[i].prefix, "description", v[i].description, "expiresAt",
                               v[i].expires_at, "numUses", (json_int_t)v[i].num_uses,
                               "numUsesLimit", (json_int_t)v[i].num_uses_limit, "revoked",
                               v[i].revoked, "createdAt", v[i].created_at));
        cli_print_json(arr, false);
    } else {
        printf("%-36s  %-8s  %-8s  %-10s  %-24s  %s\n", "ID", "PREFIX", "STATUS", "USES", "EXPIRES",
               "DESCRIPTION");
        for (size_t i = 0; i < n; i++) {
            char uses[48];
            if (v[i].num_uses_limit)
                snprintf(uses, sizeof(uses), "%lld/%lld", (long long)v[i].num_uses,
                         (long long)v[i].num_uses_limit);
            else
                snprintf(uses, sizeof(uses), "%lld", (long long)v[i].num_uses);
            printf("%-36s  %-8s  %-8s  %-10s  %-24s  %s\n", v[i].id, v[i].prefix,
                   v[i].revoked                                                  ? "revoked"
                   : v[i].num_uses_limit && v[i].num_uses >= v[i].num_uses_limit ? "used-up"
                                                                                 : "active",
                   uses, v[i].expires_at ? v[i].expires_at : "never", v[i].description);
        }
    }
    arca_client_secrets_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

int cmd_client_secret_revoke(struct cli *c)
{
    static const char usage[] = "arca identities client-secret revoke SECRET-ID --identity NAME|ID";
    struct arca *a = NULL;
    int r;

    if (c->n_args != 1) {
        cli_error(usage, "give one client secret id (see 'arca identities client-secret list')");
        return EXIT_USAGE;
    }
    if (!identity_flag(c, usage))
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    r = arca_client_secret_revoke(a, c->identity, c->args[0]);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("revoked client secret %s of machine identity '%s'\n", c->args[0], c->identity);
    arca_free(a);
    return EXIT_OK;
}

/* --- service tokens ------------------------------------------------------ */

static json_t *scopes_json(const struct arca_token_scope *s, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:s}", "environment", s[i].environment, "secretPath", s[i].path));
    return arr;
}

/* "active", "revoked" or "expired". */
static const char *token_status(const struct arca_service_token *t)
{
    int64_t at;

    if (t->revoked)
        return "revoked";
    if (t->expires_at && time_parse_iso(t->expires_at, &at) == 0 && at <= now_ms())
        return "expired";
    return "active";
}

static json_t *token_json(const struct arca_service_token *t)
{
    return json_pack("{s:s, s:s, s:o, s:s, s:s?, s:s, s:s}", "id", t->id, "name", t->name, "scopes",
                     scopes_json(t->scopes, t->n_scopes), "access",
                     t->write ? "read-write" : "read", "expiresAt", t->expires_at, "createdAt",
                     t->created_at, "status", token_status(t));
}

int cmd_service_token_create(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_service_token *t = NULL;
    struct arca_token_scope scopes[CLI_MAX_REPEAT + 1];
    char envs[CLI_MAX_REPEAT][65];
    char *token = NULL;
    const char *pid, *name;
    bool json;
    char project[128];
    int64_t expires_in = 0;
    size_t n = 0;
    bool write;
    int r;

    name = c->name ? c->name : (c->n_args == 1 ? c->args[0] : NULL);
    if (!name || (c->name && c->n_args)) {
        cli_error("arca service-token create --name NAME --env ENV [--path PATH]",
                  "give the token a --name");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < c->n_scope; i++) {
        const char *colon = strchr(c->scope[i], ':');
        size_t len = colon ? (size_t)(colon - c->scope[i]) : strlen(c->scope[i]);
        if (len == 0 || len >= sizeof(envs[0])) {
            cli_error("write --scope ENV:PATH, e.g. --scope prod:/", "invalid --scope '%s'",
                      c->scope[i]);
            return EXIT_USAGE;
        }
        snprintf(envs[i], sizeof(envs[i]), "%.*s", (int)len, c->scope[i]);
        scopes[n++] = (struct arca_token_scope){envs[i], colon && colon[1] ? colon + 1 : "/"};
    }
    if (c->env)
        scopes[n++] = (struct arca_token_scope){c->env, c->path ? c->path : "/"};
    else if (c->path) {
        cli_error("add --env ENV", "--path needs --env");
        return EXIT_USAGE;
    }
    if (n == 0) {
        cli_error("add --env ENV [--path PATH], or --scope ENV:PATH", "the token needs a scope");
        return EXIT_USAGE;
    }
    if (c->access && !streq(c->access, "read") && !streq(c->access, "read-write")) {
        cli_error("use --access read or --access read-write", "unknown access '%s'", c->access);
        return EXIT_USAGE;
    }
    write = c->access && streq(c->access, "read-write");
    expires_in = TOKEN_EXPIRY_DEFAULT;
    if (c->expires_in && (streq(c->expires_in, "never") || streq(c->expires_in, "0")))
        expires_in = 0;
    else if (!duration_flag("expires-in", c->expires_in, &expires_in))
        return EXIT_USAGE;
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = arca_service_token_create(a, pid, name, scopes, n, write, expires_in, &t, &token);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *o = token_json(t);
        if (o)
            json_object_set_new(o, "token", json_string(token));
        cli_print_json(o, true);
    } else {
        printf("%s\n", token);
    }
    fprintf(stderr,
            "created service token '%s' (id %s): %s access, %s%s; it is shown once: store it "
            "now\n",
            t->name, t->id, write ? "read-write" : "read",
            t->expires_at ? "expires at " : "never expires", t->expires_at ? t->expires_at : "");
    arca_secret_string_free(token);
    arca_service_token_free(t);
    arca_free(a);
    return EXIT_OK;
}

int cmd_service_token_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_service_token *v = NULL;
    size_t n = 0;
    const char *pid;
    bool json;
    char project[128];
    int r;

    if (cli_no_args(c, "arca service-token list [--project-id ID]"))
        return EXIT_USAGE;
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    r = arca_service_tokens_list(a, pid, &v, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    size_t hidden = 0;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            if (c->all || !v[i].revoked)
                json_array_append_new(arr, token_json(&v[i]));
        cli_print_json(arr, false);
    } else {
        printf("%-36s  %-24s  %-10s  %-8s  %-24s  %s\n", "ID", "NAME", "ACCESS", "STATUS",
               "EXPIRES", "SCOPES");
        for (size_t i = 0; i < n; i++) {
            if (!c->all && v[i].revoked) {
                hidden++;
                continue;
            }
            printf("%-36s  %-24s  %-10s  %-8s  %-24s  ", v[i].id, v[i].name,
                   v[i].write ? "read-write" : "read", token_status(&v[i]),
                   v[i].expires_at ? v[i].expires_at : "never");
            for (size_t k = 0; k < v[i].n_scopes; k++)
                printf("%s%s:%s", k ? " " : "", v[i].scopes[k].environment, v[i].scopes[k].path);
            putchar('\n');
        }
        if (hidden && !c->silent)
            fprintf(stderr, "%zu revoked service tokens not shown (--all shows them)\n", hidden);
    }
    arca_service_tokens_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

int cmd_service_token_revoke(struct cli *c)
{
    struct arca *a = NULL;
    const char *pid, *id;
    char project[128], from_token[129];
    int r;

    if (c->n_args != 1) {
        cli_error("arca service-token revoke ID [--project-id ID]", "give one token id");
        return EXIT_USAGE;
    }
    id = c->args[0];
    if (startswith(id, "st.")) { /* the whole token: use its id, never print the rest */
        size_t len = strcspn(id + 3, ".");
        if (len == 0 || len >= sizeof(from_token)) {
            cli_error("give the token's id (see 'arca service-token list')",
                      "that is not a service token id");
            return EXIT_USAGE;
        }
        snprintf(from_token, sizeof(from_token), "%.*s", (int)len, id + 3);
        id = from_token;
    }
    r = cli_client_project(c, &a, &pid, project, sizeof(project));
    if (r)
        return r;
    struct arca_service_token *v = NULL;
    size_t n = 0;
    bool already = false;
    if (arca_service_tokens_list(a, pid, &v, &n) == 0) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            if (streq(v[i].id, id)) {
                found = true;
                already = v[i].revoked;
            }
        arca_service_tokens_free(v, n);
        if (!found) {
            cli_error("see 'arca service-token list --all'", "no service token '%s' in project %s",
                      id, pid);
            arca_free(a);
            return EXIT_NOTFOUND;
        }
    }
    if (already) {
        printf("service token %s was already revoked\n", id);
        arca_free(a);
        return EXIT_OK;
    }
    r = arca_service_token_revoke(a, pid, id);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("revoked service token %s\n", id);
    arca_free(a);
    return EXIT_OK;
}
