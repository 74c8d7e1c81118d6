/* cmd_secrets.c - secrets set / get / list / delete. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/dotenv.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "cli.h"

#define VALUE_FILE_MAX (64u * 1024)

/* Reads a whole file into a secret buffer, at most max bytes. */
int cli_read_file(const char *path, size_t max, struct buf *out)
{
    char chunk[8192];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

    if (fd < 0) {
        cli_error(NULL, "cannot read '%s': %s", path, strerror(errno));
        return -ENOENT;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if ((ret = buf_add(out, chunk, (size_t)n)) < 0)
            break;
    explicit_bzero(chunk, sizeof(chunk));
    close(fd);
    if (ret == -E2BIG)
        cli_error(NULL, "'%s' is larger than %zu bytes", path, max);
    else if (n < 0)
        cli_error(NULL, "cannot read '%s': %s", path, strerror(errno)), ret = -EIO;
    else if (memchr(buf_str(out), 0, out->len))
        cli_error(NULL, "'%s' contains a NUL byte, which a secret value cannot hold", path),
            ret = -EINVAL;
    return ret;
}

/* The keys (n) that the folder of scope does not hold (shared secrets, or with
 * --personal the caller's overrides), as "'A', 'B'" in out.  Returns the number
 * missing, or a negative errno (reported). */
static int missing_keys(struct arca *a, const struct arca_scope *scope, const char *const *keys,
                        size_t n, struct buf *out)
{
    struct arca_secret_list *l = NULL;
    struct arca_scope own = *scope;
    bool personal = scope->flags & ARCA_PERSONAL;
    int missing = 0, r;

    own.flags = 0;
    r = arca_secrets_list(a, &own, &l);
    if (r < 0)
        return cli_fail(a, r), r;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < l->n && !found; j++)
            found = streq(l->v[j].key, keys[i]) && !l->v[j].personal == !personal;
        if (!found && buf_printf(out, "%s'%s'", missing++ ? ", " : "", keys[i]) < 0)
            missing = -ENOMEM;
    }
    arca_secret_list_free(l);
    return missing;
}

/* --type shared|personal (Infisical's) sets --personal; EXIT_USAGE otherwise. */
static int type_flag(struct cli *c)
{
    if (!c->type)
        return EXIT_OK;
    if (!streq(c->type, "shared") && !streq(c->type, "personal")) {
        cli_error(NULL, "--type is shared or personal, not '%s'", c->type);
        return EXIT_USAGE;
    }
    c->personal = streq(c->type, "personal");
    return EXIT_OK;
}

/* secrets set, or secrets update (update: every key must exist already). */
static int secrets_write(struct cli *c, bool update)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    char project[128];
    struct arca_secret_input *in = NULL;
    struct buf *files = NULL;
    enum arca_change *changes = NULL;
    int64_t *versions = NULL;
    size_t n = 0;
    bool json;
    bool pair = c->n_args == 2 && !strchr(c->args[0], '=');
    int r;

    if (c->n_args == 0) {
        cli_error("arca secrets set KEY=VALUE [KEY=VALUE ...] --env ENV", "no secrets given");
        return EXIT_USAGE;
    }
    if (cli_format_json(c, "table", &json) < 0)
        return EXIT_USAGE;
    if ((r = type_flag(c)) || (r = cli_scope(c, &scope, project, sizeof(project))))
        return r;
    n = pair ? 1 : c->n_args;
    in = calloc(n, sizeof(*in));
    files = calloc(n, sizeof(*files));
    changes = calloc(n, sizeof(*changes));
    versions = calloc(n, sizeof(*versions));
    if (!in || !files || !changes || !versions) {
        r = EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *eq = pair ? NULL : strchr(c->args[i], '=');
        char *key;

        if (!pair && (!eq || eq == c->args[i])) {
            cli_error("write KEY=VALUE, or KEY VALUE for a single secret",
                      "'%s' is not of the form KEY=VALUE", eq ? "=..." : c->args[i]);
            r = EXIT_USAGE;
            goto out;
        }
        key = pair ? strdup(c->args[0]) : strndup(c->args[i], (size_t)(eq - c->args[i]));
        if (!key) {
            r = EXIT_FAIL;
            goto out;
        }
        in[i].key = key;
        in[i].value = pair ? c->args[1] : eq + 1;
        in[i].comment = c->comment;
        if (in[i].value[0] == '@') {
            buf_init_secret(&files[i], VALUE_FILE_MAX);
            if (cli_read_file(in[i].value + 1, VALUE_FILE_MAX, &files[i]) < 0) {
                r = EXIT_INVALID;
                goto out;
            }
            in[i].value = buf_str(&files[i]);
        } else if (startswith(in[i].value, "\\@")) {
            in[i].value++; /* "\@x" is the literal "@x" */
        }
    }
    r = cli_client_scoped(c, &a, &scope);
    if (r)
        goto out;
    if (update) {
        _cleanup_buf_ struct buf missing = BUF_INIT;
        const char **keys = calloc(n, sizeof(*keys));
        for (size_t i = 0; keys && i < n; i++)
            keys[i] = in[i].key;
        r = keys ? missing_keys(a, &scope, keys, n, &missing) : -ENOMEM;
        free(keys);
        if (r != 0) {
            if (r > 0)
                cli_error("create them with 'arca secrets set'", "%s:%s has no secret %s",
                          scope.environment, scope.path, buf_str(&missing));
            r = r > 0 ? EXIT_NOTFOUND : cli_exit_of(r);
            goto out;
        }
    }
    r = arca_secrets_set(a, &scope, in, n, changes, versions);
    if (r < 0) {
        r = cli_fail(a, r);
        goto out;
    }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "key", in[i].key, "action",
                                                 cli_change_name(changes[i]), "version",
                                                 (json_int_t)versions[i]));
        cli_print_json(arr, false);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s: %s (version %lld)\n", in[i].key, cli_change_name(changes[i]),
                   (long long)versions[i]);
    }
    r = EXIT_OK;
out:
    for (size_t i = 0; in && i < n; i++) {
        free((char *)in[i].key);
        buf_release(&files[i]);
    }
    free(in);
    free(files);
    free(changes);
    free(versions);
    arca_free(a);
    return r;
}

int cmd_secrets_set(struct cli *c)
{
    return secrets_write(c, false);
}

int cmd_secrets_update(struct cli *c)
{
    return secrets_write(c, true);
}

static json_t *secret_json(const struct arca_secret *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s?, s:s?}", "key", s->key, "type",
                     s->personal ? "personal" : "shared", "value", s->value, "comment",
                     s->comment ? s->comment : "", "version", (json_int_t)s->version, "updatedAt",
                     s->updated_at, "environment", s->environment, "path", s->path);
}

/* Prints KEY=value lines as dotenv writes them; returns an exit code. */
static int print_dotenv(const struct arca_secret *const *v, size_t n)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    const char *reason = NULL;

    buf_init_secret(&out, 0);
    for (size_t i = 0; i < n; i++)
        if (dotenv_write(&out, v[i]->key, v[i]->value, DOTENV_PLAIN, &reason) < 0) {
            cli_error("use --format json", "cannot print '%s' as dotenv: %s", v[i]->key,
                      reason ? reason : "invalid");
            return EXIT_INVALID;
        }
    fwrite(out.ptr ? out.ptr : "", 1, out.len, stdout);
    return EXIT_OK;
}

/* Each key is fetched on its own (GET .../secrets/KEY): only the values asked
 * for cross the network, and the audit log records a read of each. */
/* Unless --expand=false, replaces the values of got that hold references by
 * their expansion in the folder.  Returns an exit code. */
/* Is key one of those asked for (the arguments of c)? */
static bool got_wanted(const char *key, const void *ud)
{
    const struct cli *c = ud;
    for (size_t i = 0; i < c->n_args; i++)
        if (streq(c->args[i], key))
            return true;
    return false;
}

static int expand_got(const struct cli *c, struct arca *a, const struct arca_scope *scope,
                      struct arca_secret **got, size_t n)
{
    struct arca_secret_list *l = NULL;
    bool any = false;
    int r;

    for (size_t i = 0; i < n; i++)
        any = any || strstr(got[i]->value, "${");
    if (c->no_expand || !any)
        return EXIT_OK;
    r = arca_secrets_list(a, scope, &l);
    if (r >= 0)
        r = cli_expand(c, a, scope, l, got_wanted, c);
    if (r < 0) {
        arca_secret_list_free(l);
        return cli_fail(a, r);
    }
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < l->n && !found; j++)
            found = streq(got[i]->key, l->v[j].key);
        if (!found) { /* left out: it refers to a folder the caller may not read */
            arca_secret_list_free(l);
            cli_error("ask for 'secrets read' there, or use --expand=false",
                      "secret '%s' refers to a secret you may not read", got[i]->key);
            return EXIT_AUTH;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < l->n; j++)
            if (streq(got[i]->key, l->v[j].key) && got[i]->personal == l->v[j].personal) {
                char *v = l->v[j].value;
                l->v[j].value = got[i]->value; /* wiped with l */
                got[i]->value = v;
                break;
            }
    arca_secret_list_free(l);
    return EXIT_OK;
}

int cmd_secrets_get(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    struct arca_secret **got = NULL;
    char project[128];
    static const char *const formats[] = {"dotenv", "json", NULL};
    const char *format;
    int r;

    if (c->n_args == 0) {
        cli_error("arca secrets get KEY [KEY ...] --env ENV", "no secret name given");
        return EXIT_USAGE;
    }
    if (cli_format(c, formats, &format) < 0)
        return EXIT_USAGE;
    for (size_t i = 0; i < c->n_args; i++)
        if (!name_key_valid(c->args[i])) {
            cli_error("names use letters, digits and _, not starting with a digit",
                      "'%s' is not a valid secret name", c->args[i]);
            return EXIT_INVALID;
        }
    r = cli_client_scope(c, &a, &scope, project, sizeof(project));
    if (r)
        return r;
    got = calloc(c->n_args, sizeof(*got));
    if (!got) {
        r = EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < c->n_args; i++) { /* all of them before printing any */
        r = arca_secret_get(a, &scope, c->args[i], &got[i]);
        if (r == -ENOENT && strstr(arca_errmsg(a), "secret '")) {
            cli_error("see 'arca secrets list'", "%s", arca_errmsg(a));
            r = EXIT_NOTFOUND;
            goto out;
        }
        if (r < 0) {
            r = cli_fail(a, r);
            goto out;
        }
    }
    r = expand_got(c, a, &scope, got, c->n_args);
    if (r)
        goto out;
    if (c->plain) {
        for (size_t i = 0; i < c->n_args; i++)
            printf("%s\n", got[i]->value);
    } else if (streq(format, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < c->n_args; i++)
            json_array_append_new(arr, secret_json(got[i]));
        cli_print_json(arr, true);
    } else {
        r = print_dotenv((const struct arca_secret *const *)got, c->n_args);
        goto out;
    }
    r = EXIT_OK;
out:
    for (size_t i = 0; got && i < c->n_args; i++)
        arca_secret_free(got[i]);
    free(got);
    arca_free(a);
    return r;
}

int cmd_secrets_list(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_secret_list *l = NULL;
    static const char *const formats[] = {"table", "json", "dotenv", NULL};
    const char *format;
    int r;

    if (cli_no_args(c, "arca secrets list --env ENV [--path PATH]"))
        return EXIT_USAGE;
    if (cli_format(c, formats, &format) < 0)
        return EXIT_USAGE;
    r = cli_fetch_folder(c, 0, &a, &l);
    if (r)
        goto out;
    if (streq(format, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l->n; i++)
            json_array_append_new(arr, secret_json(&l->v[i]));
        cli_print_json(arr, true);
    } else if (streq(format, "dotenv")) {
        const struct arca_secret **all = calloc(l->n ? l->n : 1, sizeof(*all));
        if (!all) {
            r = EXIT_FAIL;
            goto out;
        }
        for (size_t i = 0; i < l->n; i++)
            all[i] = &l->v[i];
        r = print_dotenv(all, l->n);
        free(all);
        goto out;
    } else {
        struct arca_scope scope;
        char project[128];
        cli_scope(c, &scope, project, sizeof(project));
        printf("%s%-32s  %-8s  %-7s  %-24s  %-24s%s%s\n", cli_paint(stdout, CLI_PAINT_HEADER),
               "KEY", "TYPE", "VERSION", "UPDATED", "FROM", c->show_values ? "  VALUE" : "",
               cli_paint(stdout, CLI_PAINT_OFF));
        for (size_t i = 0; i < l->n; i++) {
            /* FROM: "-" for the folder listed, else where the secret lives (an
             * import: ENV:PATH, a sub-folder: its path) */
            const struct arca_secret *v = &l->v[i];
            bool here = (!v->environment || streq(v->environment, scope.environment)) &&
                        (!v->path || streq(v->path, scope.path));
            char from[NAME_SLUG_MAX + NAME_PATH_MAX + 2] = "-";
            if (!here)
                snprintf(from, sizeof(from), "%s:%s", v->environment ? v->environment : "",
                         v->path ? v->path : "/");
            printf("%-32s  %-8s  %-7lld  %-24s  %-24s", v->key, v->personal ? "personal" : "shared",
                   (long long)v->version, v->updated_at, from);
            if (c->show_values) { /* one line each: line breaks and controls escaped */
                fputs("  ", stdout);
                for (const char *p = v->value; *p; p++)
                    if (*p == '\n')
                        fputs("\\n", stdout);
                    else if (*p == '\r' || *p == '\t' || (unsigned char)*p < 0x20)
                        printf("\\x%02x", (unsigned char)*p);
                    else
                        putchar(*p);
            }
            putchar('\n');
        }
    }
    r = EXIT_OK;
out:
    arca_secret_list_free(l);
    arca_free(a);
    return r;
}

int cmd_secrets_delete(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    char project[128];
    int r;

    if (c->n_args == 0) {
        cli_error("arca secrets delete KEY [KEY ...] --env ENV", "no secret name given");
        return EXIT_USAGE;
    }
    if ((r = type_flag(c)) || (r = cli_client_scope(c, &a, &scope, project, sizeof(project))))
        return r;
    r = arca_secrets_delete(a, &scope, c->args, c->n_args);
    if (r == -ENOENT) { /* say which */
        _cleanup_buf_ struct buf missing = BUF_INIT;
        r = missing_keys(a, &scope, c->args, c->n_args, &missing);
        if (r > 0)
            cli_error("nothing was deleted; run again without them", "%s:%s has no secret %s",
                      scope.environment, scope.path, buf_str(&missing));
        else if (r == 0)
            cli_fail(a, -ENOENT);
        r = r < 0 ? cli_exit_of(r) : EXIT_NOTFOUND;
    } else if (r < 0) {
        r = cli_fail(a, r);
    } else {
        for (size_t i = 0; i < c->n_args; i++)
            printf("%s: deleted\n", c->args[i]);
        r = EXIT_OK;
    }
    arca_free(a);
    return r;
}

int cmd_secrets_rename(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    char project[128];
    int64_t version = 0;
    int r;

    if (c->n_args != 2) {
        cli_error("arca secrets rename OLD NEW --env ENV",
                  "give the secret's name and its new name");
        return EXIT_USAGE;
    }
    r = cli_client_scope(c, &a, &scope, project, sizeof(project));
    if (r)
        return r;
    r = arca_secret_rename(a, &scope, c->args[0], c->args[1], &version);
    if (r < 0)
        return cli_fail_free(a, r);
    printf("%s: renamed to %s (version %lld)\n", c->args[0], c->args[1], (long long)version);
    arca_free(a);
    return EXIT_OK;
}
