/* cmd_share.c - arca share create / open / list / revoke / policy: share links
 * whose key only the link holds (arca.h "share links"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/util.h"
#include "cli.h"

#define SHARE_VALUE_MAX (64u * 1024)

static const char *const CREATE_USAGE =
    "arca share create (--value-stdin | --secret KEY --env ENV) [--expires-in 1d] "
    "[--max-views 1|N|unlimited] [--password-stdin] [--org-only]";

/* The rest of stdin, without one trailing newline (as echo and heredocs add). */
static int read_value_stdin(struct buf *out)
{
    char chunk[4096];
    size_t n;

    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        if (out->len + n > SHARE_VALUE_MAX) {
            cli_error("share a smaller value (a file's contents up to 64 KiB)",
                      "the value on stdin is longer than %u bytes", SHARE_VALUE_MAX);
            return -E2BIG;
        }
        if (buf_add(out, chunk, n) < 0)
            return -ENOMEM;
    }
    if (ferror(stdin)) {
        cli_error(NULL, "cannot read the value from stdin");
        return -EIO;
    }
    if (out->len && out->ptr[out->len - 1] == '\n')
        out->ptr[--out->len] = 0;
    if (out->len && out->ptr[out->len - 1] == '\r')
        out->ptr[--out->len] = 0;
    return 0;
}

static json_t *share_to_json(const struct arca_share *s)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:o, s:b, s:b}", "id", s->id, "createdAt", s->created_at,
                     "expiresAt", s->expires_at, "maxViews", (json_int_t)s->max_views, "viewsLeft",
                     s->views_left < 0 ? json_null() : json_integer(s->views_left), "orgOnly",
                     s->org_only, "passwordProtected", s->password_protected);
}

static void views_text(const struct arca_share *s, char *out, size_t size)
{
    if (s->views_left < 0)
        snprintf(out, size, "unlimited");
    else
        snprintf(out, size, "%lld", (long long)s->views_left);
}

int cmd_share_create(struct cli *c)
{
    struct arca_share_options o = {0};
    struct arca *a = NULL;
    struct arca_share *sh = NULL;
    struct arca_secret *secret = NULL;
    _cleanup_buf_ struct buf value = BUF_INIT;
    char *pw = NULL, *link = NULL, project[128];
    size_t pw_len = 0;
    bool json;
    int r;

    buf_init_secret(&value, SHARE_VALUE_MAX + 1);
    if ((r = cli_no_args(c, CREATE_USAGE)) != EXIT_OK)
        return r;
    if (c->value_stdin == !!c->secret) {
        cli_error(CREATE_USAGE, "give the value with either --value-stdin or --secret KEY");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    if (c->expires_in && (arca_duration_parse(c->expires_in, &o.expires_in) < 0 ||
                          o.expires_in < 300 || o.expires_in > 30 * 24 * 3600)) {
        cli_error("e.g. --expires-in 1h; from 5m to 30d", "'%s' is not a share lifetime",
                  c->expires_in);
        return EXIT_USAGE;
    }
    if (c->max_views) {
        char *end;
        long v = strtol(c->max_views, &end, 10);
        if (streq(c->max_views, "unlimited"))
            o.max_views = -1;
        else if (*c->max_views && !*end && v >= 1 && v <= 100)
            o.max_views = v;
        else {
            cli_error("e.g. --max-views 1 (1 to 100) or --max-views unlimited",
                      "'%s' is not a number of views", c->max_views);
            return EXIT_USAGE;
        }
    }
    o.org_only = c->org_only;
    if (c->password_stdin) {
        if (cli_read_password(c, &pw, &pw_len) < 0)
            return EXIT_USAGE;
        o.password = pw;
        o.password_len = pw_len;
    }
    if (c->value_stdin && (r = read_value_stdin(&value)) < 0) {
        arca_secret_string_free(pw);
        return r == -E2BIG ? EXIT_INVALID : EXIT_FAIL;
    }
    if (c->secret) {
        struct arca_scope scope;
        r = cli_client_scope(c, &a, &scope, project, sizeof(project));
        if (r) {
            arca_secret_string_free(pw);
            return r;
        }
        r = arca_secret_get(a, &scope, c->secret, &secret);
        if (r == 0 && buf_add(&value, secret->value, strlen(secret->value)) < 0)
            r = -ENOMEM;
        arca_secret_free(secret);
    } else {
        r = cli_client(c, true, &a);
        if (r) {
            arca_secret_string_free(pw);
            return r;
        }
    }
    if (r == 0 && !value.len) { /* nothing to hand over (and the server refuses an empty box) */
        cli_error(c->secret ? NULL : "e.g. echo -n \"$PW\" | arca share create --value-stdin",
                  "the value to share is empty");
        arca_secret_string_free(pw);
        arca_free(a);
        return EXIT_INVALID;
    }
    if (r == 0)
        r = arca_share_create(a, value.ptr ? value.ptr : "", value.len, &o, &sh, &link);
    arca_secret_string_free(pw);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *j = share_to_json(sh);
        json_object_set_new(j, "link", json_string(link));
        cli_print_json(j, true);
    } else {
        char views[24];
        views_text(sh, views, sizeof(views));
        printf("%s\n", link);
        fprintf(stderr,
                "arca: share %s: expires %s, views %s%s%s; the key is only in this link (after "
                "'#')\n",
                sh->id, sh->expires_at, views, sh->org_only ? ", organization members only" : "",
                sh->password_protected ? ", password needed" : "");
    }
    arca_secret_string_free(link);
    arca_share_free(sh);
    arca_free(a);
    return EXIT_OK;
}

int cmd_share_open(struct cli *c)
{
    struct cli site_cli = *c;
    struct arca *a = NULL;
    struct arca_share *sh = NULL;
    char *site = NULL, *pw = NULL, *value = NULL;
    size_t pw_len = 0, len = 0;
    bool json;
    int r;

    if (c->n_args != 1) {
        cli_error("arca share open LINK [--password-stdin]", "give the share link");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    if (arca_share_link_site(c->args[0], &site) < 0) {
        cli_error("copy the whole link, with the part after '#'",
                  "'%.80s' is not a share link (<site>/s/<id>#<key>)", c->args[0]);
        return EXIT_USAGE;
    }
    /* The link's server; a saved login to it is used for organization-only shares. */
    site_cli.api_url = site;
    r = cli_client(&site_cli, false, &a);
    if (r == EXIT_OK && arca_session_load(a, c->config_dir) < 0)
        (void)arca_logout(a); /* none, or another server's: open without an account */
    if (r == EXIT_OK && c->password_stdin && cli_read_password(c, &pw, &pw_len) < 0)
        r = EXIT_USAGE;
    if (r != EXIT_OK) {
        arca_free(a);
        free(site);
        return r;
    }
    r = arca_share_open(a, c->args[0], pw, pw_len, &value, &len, &sh);
    arca_secret_string_free(pw);
    free(site);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *j = share_to_json(sh);
        json_object_set_new(j, "value", json_stringn(value, len));
        cli_print_json(j, true);
    } else {
        fwrite(value, 1, len, stdout);
        if (isatty(STDOUT_FILENO))
            fputc('\n', stdout);
        if (sh->views_left == 0)
            fprintf(stderr, "arca: that was the last view: the share is deleted\n");
    }
    arca_secret_string_free(value);
    arca_share_free(sh);
    arca_free(a);
    return EXIT_OK;
}

int cmd_share_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_share *v = NULL;
    size_t n = 0;
    bool json;
    int r;

    if ((r = cli_no_args(c, "arca share list [--format json]")) != EXIT_OK)
        return r;
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    if ((r = cli_client(c, true, &a)) != EXIT_OK)
        return r;
    r = arca_shares_list(a, &v, &n);
    if (r < 0)
        return cli_fail_free(a, r);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, share_to_json(&v[i]));
        cli_print_json(arr, false);
    } else if (n == 0) {
        fprintf(stderr, "arca: no active shares (make one with 'arca share create')\n");
    } else {
        printf("%-22s  %-24s  %-24s  %-10s  %s\n", "ID", "CREATED", "EXPIRES", "VIEWS LEFT",
               "LIMITS");
        for (size_t i = 0; i < n; i++) {
            char views[24];
            views_text(&v[i], views, sizeof(views));
            printf("%-22s  %-24s  %-24s  %-10s  %s%s%s\n", v[i].id, v[i].created_at,
                   v[i].expires_at, views, v[i].org_only ? "org-only" : "",
                   v[i].org_only && v[i].password_protected ? "," : "",
                   v[i].password_protected ? "password" : "");
        }
    }
    arca_shares_free(v, n);
    arca_free(a);
    return EXIT_OK;
}

int cmd_share_revoke(struct cli *c)
{
    struct arca *a = NULL;
    int r;

    if (c->n_args != 1) {
        cli_error("arca share revoke ID (see 'arca share list')", "give one share id");
        return EXIT_USAGE;
    }
    if ((r = cli_client(c, true, &a)) != EXIT_OK)
        return r;
    r = arca_share_revoke(a, c->args[0]);
    if (r < 0)
        return cli_fail_free(a, r);
    fprintf(stderr, "arca: share %s revoked: its link no longer opens\n", c->args[0]);
    arca_free(a);
    return EXIT_OK;
}

int cmd_share_policy(struct cli *c)
{
    struct arca *a = NULL;
    int64_t ttl = 0;
    int anon = -1;
    bool json;
    int r;

    if ((r = cli_no_args(
             c, "arca share policy [--max-lifetime 30d] [--anonymous | --no-anonymous]")) !=
        EXIT_OK)
        return r;
    if (cli_format_json(c, "text", &json) < 0)
        return EXIT_USAGE;
    if (c->max_lifetime &&
        (arca_duration_parse(c->max_lifetime, &ttl) < 0 || ttl < 300 || ttl > 30 * 24 * 3600)) {
        cli_error("e.g. --max-lifetime 7d; from 5m to 30d", "'%s' is not a share lifetime",
                  c->max_lifetime);
        return EXIT_USAGE;
    }
    if (cli_given(c, "anonymous"))
        anon = c->anonymous;
    if ((r = cli_client(c, true, &a)) != EXIT_OK)
        return r;
    if ((ttl || anon >= 0) && (r = arca_share_policy_set(a, ttl, anon)) < 0)
        return cli_fail_free(a, r);
    if ((r = arca_share_policy_get(a, &ttl, &anon)) < 0)
        return cli_fail_free(a, r);
    if (json)
        cli_print_json(
            json_pack("{s:I, s:b}", "maxExpiresIn", (json_int_t)ttl, "allowAnonymous", anon),
            false);
    else
        printf("longest lifetime: %lld seconds\nopened without an account: %s\n", (long long)ttl,
               anon ? "yes" : "no (organization members only)");
    arca_free(a);
    return EXIT_OK;
}
