/* cmd_auth.c - bootstrap, signup, login (password or universal auth), logout,
 * whoami, token renew. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/names.h"
#include "base/util.h"
#include "cli.h"

static const char *kind_name(enum arca_session_kind k)
{
    switch (k) {
    case ARCA_SESSION_USER:
        return "user";
    case ARCA_SESSION_IDENTITY:
        return "identity";
    case ARCA_SESSION_SERVICE_TOKEN:
        return "service-token";
    default:
        return "none";
    }
}

/* JSON string of an expiry in ms, or null. */
static json_t *time_json(int64_t ms)
{
    char iso[25];
    if (ms <= 0)
        return json_null();
    time_format_iso(ms, iso);
    return json_string(iso);
}

/* {"kind", "id", "name", "email"?, "projectId"?, "apiUrl", "expiresAt"?, "maxExpiresAt"?} */
static json_t *session_json(const struct arca *a)
{
    enum arca_session_kind k = arca_session_kind(a);
    int64_t exp, max;
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:s}", "kind", kind_name(k), "id", arca_session_id(a),
                          "name", arca_session_name(a), "apiUrl", arca_api_url(a));

    if (!o)
        return NULL;
    if (k == ARCA_SESSION_USER)
        json_object_set_new(o, "email", json_string(arca_session_email(a)));
    if (k == ARCA_SESSION_SERVICE_TOKEN)
        json_object_set_new(o, "projectId", json_string(arca_session_project_id(a)));
    if (k == ARCA_SESSION_IDENTITY) {
        arca_session_expiry(a, &exp, &max);
        json_object_set_new(o, "expiresAt", time_json(exp));
        json_object_set_new(o, "maxExpiresAt", time_json(max));
    }
    return o;
}

/* The e-mail + password part shared by bootstrap, signup and login; then saves the session. */
static int password_session(struct cli *c, const char *what)
{
    struct arca *a = NULL;
    char *pw = NULL;
    size_t pw_len;
    bool json;
    bool bootstrap = streq(what, "bootstrap"), signup = streq(what, "signup");
    int r;

    char email[256];
    if (!c->email && !c->password_stdin && isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
        /* on a terminal, ask (the password is asked for next, without echo) */
        fputs("E-mail: ", stderr);
        fflush(stderr);
        if (fgets(email, sizeof(email), stdin) && (email[strcspn(email, "\r\n")] = 0, *email))
            c->email = email;
    }
    if (!c->email) {
        cli_error(bootstrap ? "arca bootstrap --email EMAIL --password-stdin --organization NAME"
                  : signup  ? "arca signup --invite TOKEN --email EMAIL --password-stdin"
                            : "arca login --email EMAIL --password-stdin",
                  "--email is required");
        return EXIT_USAGE;
    }
    if (bootstrap && !c->organization) {
        cli_error("add --organization NAME", "--organization is required");
        return EXIT_USAGE;
    }
    if (signup && !c->invite) {
        cli_error("add --invite TOKEN (from 'arca users invite')", "--invite is required");
        return EXIT_USAGE;
    }
    if (cli_no_args(c, NULL))
        return EXIT_USAGE;
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, false, &a);
    if (r)
        return r;
    if (cli_read_password(c, &pw, &pw_len) < 0) {
        arca_free(a);
        return EXIT_INVALID;
    }
    if (bootstrap)
        r = arca_bootstrap(a, c->email, pw, pw_len, c->organization);
    else if (signup)
        r = arca_signup(a, c->invite, c->email, pw, pw_len);
    else
        r = arca_login_password(a, c->email, pw, pw_len);
    arca_secret_string_free(pw);
    if (r == 0)
        r = arca_session_save(a, c->config_dir);
    if (r < 0) {
        if (r == -EEXIST && bootstrap) {
            cli_error("log in with 'arca login --email EMAIL --password-stdin'", "%s",
                      arca_errmsg(a));
            r = EXIT_CONFLICT;
        } else {
            r = cli_fail(a, r);
        }
        arca_free(a);
        return r;
    }
    if (json)
        cli_print_json(session_json(a), false);
    if (bootstrap)
        fprintf(stderr,
                "bootstrapped organization '%s'; logged in as %s\n"
                "next: arca projects create NAME\n",
                c->organization, arca_session_email(a));
    else if (signup)
        fprintf(stderr, "signed up and logged in as %s\n", arca_session_email(a));
    else
        fprintf(stderr, "logged in as %s\n", arca_session_email(a));
    arca_free(a);
    return EXIT_OK;
}

int cmd_bootstrap(struct cli *c)
{
    return password_session(c, "bootstrap");
}

int cmd_signup(struct cli *c)
{
    return password_session(c, "signup");
}

static const char *env_first(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        v = getenv(fallback);
    return v && *v ? v : NULL;
}

static int identity_login(struct cli *c)
{
    struct arca *a = NULL;
    bool json;
    const char *id = c->client_id
                         ? c->client_id
                         : env_first("ARCA_CLIENT_ID", "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID");
    const char *secret = c->client_secret ? c->client_secret
                                          : env_first("ARCA_CLIENT_SECRET",
                                                      "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET");
    int64_t exp;
    int r;

    if (!id || !secret) {
        cli_error("arca login --method=universal-auth --client-id ID --client-secret SECRET "
                  "(or set ARCA_CLIENT_ID and ARCA_CLIENT_SECRET)",
                  "%s is required", id ? "--client-secret" : "--client-id");
        return EXIT_USAGE;
    }
    if (cli_no_args(c, NULL))
        return EXIT_USAGE;
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, false, &a);
    if (r)
        return r;
    r = arca_login_identity(a, id, secret);
    if (r == 0)
        r = arca_session_save(a, c->config_dir);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json)
        cli_print_json(session_json(a), false);
    arca_session_expiry(a, NULL, &exp);
    if (exp > 0) {
        char iso[25];
        time_format_iso(exp, iso);
        fprintf(stderr, "logged in as machine identity '%s' (renewable until %s)\n",
                arca_session_name(a), iso);
    } else {
        fprintf(stderr, "logged in as machine identity '%s'\n", arca_session_name(a));
    }
    arca_free(a);
    return EXIT_OK;
}

int cmd_login(struct cli *c)
{
    if (c->method && streq(c->method, "universal-auth"))
        return identity_login(c);
    if (c->method && !streq(c->method, "user")) {
        cli_error("use --method=user (e-mail and password) or --method=universal-auth",
                  "unknown login method '%s'", c->method);
        return EXIT_USAGE;
    }
    if (c->client_id || c->client_secret) {
        cli_error("add --method=universal-auth", "--client-id and --client-secret are for "
                                                 "machine identities");
        return EXIT_USAGE;
    }
    return password_session(c, "login");
}

int cmd_logout(struct cli *c)
{
    struct arca *a = NULL;
    int r = cli_client_saved(c, &a);

    if (r)
        return r;
    r = arca_logout(a);
    if (r < 0 && r != -EACCES)
        return cli_fail_free(a, r);
    arca_session_forget(c->config_dir);
    fprintf(stderr, "logged out\n");
    arca_free(a);
    return EXIT_OK;
}

int cmd_status(struct cli *c)
{
    struct arca *a = NULL;
    int r = cli_client(c, false, &a);

    if (r)
        return r;
    r = arca_status(a);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("arca server at %s is up\n", arca_api_url(a));
    arca_free(a);
    return EXIT_OK;
}

int cmd_whoami(struct cli *c)
{
    struct arca *a = NULL;
    bool json;
    int r;

    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    r = cli_client(c, true, &a);
    if (r)
        return r;
    if (json) {
        cli_print_json(session_json(a), false);
    } else {
        switch (arca_session_kind(a)) {
        case ARCA_SESSION_IDENTITY:
            printf("machine identity %s (%s) on %s\n", arca_session_name(a), arca_session_id(a),
                   arca_api_url(a));
            break;
        case ARCA_SESSION_SERVICE_TOKEN:
            printf("service token %s (%s) for project %s on %s\n", arca_session_name(a),
                   arca_session_id(a), arca_session_project_id(a), arca_api_url(a));
            break;
        default:
            printf("%s on %s\n", arca_session_email(a), arca_api_url(a));
            break;
        }
    }
    arca_free(a);
    return EXIT_OK;
}

int cmd_token_renew(struct cli *c)
{
    struct arca *a = NULL;
    bool json;
    int64_t exp, max;
    char e[25] = "", m[25] = "";
    int r;

    if (cli_no_args(c, "arca token renew"))
        return EXIT_USAGE;
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    r = cli_client_saved(c, &a);
    if (r)
        return r;
    r = arca_token_renew(a);
    if (r == 0)
        r = arca_session_save(a, c->config_dir);
    if (r < 0)
        return cli_fail_free(a, r);
    arca_session_expiry(a, &exp, &max);
    if (json) {
        cli_print_json(json_pack("{s:s?, s:o, s:o}", "name", arca_session_name(a), "expiresAt",
                                 time_json(exp), "maxExpiresAt", time_json(max)),
                       false);
    } else {
        if (exp > 0)
            time_format_iso(exp, e);
        if (max > 0)
            time_format_iso(max, m);
        printf("renewed the token of machine identity '%s': valid until %s%s%s\n",
               arca_session_name(a), e[0] ? e : "(unknown)", m[0] ? ", renewable until " : "", m);
    }
    arca_free(a);
    return EXIT_OK;
}

int cmd_password_change(struct cli *c)
{
    struct arca *a = NULL;
    char *current = NULL, *pw = NULL, *again = NULL;
    size_t current_len, pw_len, again_len;
    int r;

    if (cli_no_args(c, "arca password change [--password-stdin]"))
        return EXIT_USAGE;
    r = cli_client_saved(c, &a);
    if (r)
        return r;
    if (cli_read_password_prompt(c, "Current password: ", &current, &current_len) < 0 ||
        cli_read_password_prompt(c, "New password: ", &pw, &pw_len) < 0 ||
        (!c->password_stdin &&
         cli_read_password_prompt(c, "New password again: ", &again, &again_len) < 0)) {
        r = EXIT_INVALID;
        goto out;
    }
    if (again && (again_len != pw_len || memcmp(again, pw, pw_len) != 0)) {
        cli_error("nothing was changed", "the new passwords differ");
        r = EXIT_INVALID;
        goto out;
    }
    r = arca_password_change(a, current, current_len, pw, pw_len);
    if (r < 0) {
        r = cli_fail(a, r);
        goto out;
    }
    printf("password changed for %s: your private key is sealed under the new one\n",
           arca_session_email(a));
    r = EXIT_OK;
out:
    arca_secret_string_free(current);
    arca_secret_string_free(pw);
    arca_secret_string_free(again);
    arca_free(a);
    return r;
}
