/* cmd_auth.c - bootstrap, login, logout, whoami. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/names.h"
#include "base/util.h"
#include "cli.h"

/* The e-mail + password part shared by bootstrap and login; then saves the session. */
static int password_session(struct cli *c, bool bootstrap)
{
    struct arca *a = NULL;
    char *pw = NULL;
    size_t pw_len;
    int r;

    if (!c->email) {
        cli_error(bootstrap ? "arca bootstrap --email EMAIL --password-stdin --organization NAME"
                            : "arca login --email EMAIL --password-stdin",
                  "--email is required");
        return EXIT_USAGE;
    }
    if (bootstrap && !c->organization) {
        cli_error("add --organization NAME", "--organization is required");
        return EXIT_USAGE;
    }
    if (c->n_args) {
        cli_error(NULL, "unexpected argument '%s'", c->args[0]);
        return EXIT_USAGE;
    }
    r = cli_client(c, false, &a);
    if (r)
        return r;
    if (cli_read_password(c, &pw, &pw_len) < 0) {
        arca_free(a);
        return EXIT_INVALID;
    }
    if (bootstrap)
        r = arca_bootstrap(a, c->email, pw, pw_len, c->organization);
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
    if (bootstrap)
        fprintf(stderr,
                "bootstrapped organization '%s'; logged in as %s\n"
                "next: arca projects create NAME\n",
                c->organization, arca_session_email(a));
    else
        fprintf(stderr, "logged in as %s\n", arca_session_email(a));
    arca_free(a);
    return EXIT_OK;
}

int cmd_bootstrap(struct cli *c)
{
    return password_session(c, true);
}

int cmd_login(struct cli *c)
{
    if (c->method && !streq(c->method, "user")) {
        cli_error("use 'arca login --email EMAIL --password-stdin'",
                  "login method '%s' is not supported yet", c->method);
        return EXIT_USAGE;
    }
    return password_session(c, false);
}

int cmd_logout(struct cli *c)
{
    struct arca *a = NULL;
    int r = cli_client(c, true, &a);

    if (r)
        return r;
    r = arca_logout(a);
    if (r < 0 && r != -EACCES) {
        r = cli_fail(a, r);
        arca_free(a);
        return r;
    }
    arca_session_forget(c->config_dir);
    fprintf(stderr, "logged out\n");
    arca_free(a);
    return EXIT_OK;
}

int cmd_whoami(struct cli *c)
{
    struct arca *a = NULL;
    int r = cli_client(c, true, &a);

    if (r)
        return r;
    printf("%s on %s\n", arca_session_email(a), arca_api_url(a));
    arca_free(a);
    return EXIT_OK;
}
