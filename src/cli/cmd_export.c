/* cmd_export.c - moving secrets in and out as files: export (dotenv,
 * dotenv-export, json, yaml, csv) and import (.env).
 *
 * Exported text is built in a secret buffer (wiped when done) and written to
 * stdout or atomically to --output-file with mode 0600.  YAML values are JSON
 * strings, which are valid YAML double-quoted scalars, so no YAML writer is
 * needed; CSV follows RFC 4180 (every field quoted, '"' doubled). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/dotenv.h"
#include "base/names.h"
#include "base/util.h"
#include "base/wire.h"
#include "cli.h"

#define IMPORT_MAX (4u * 1024 * 1024)

static int add_json_string(struct buf *out, const char *s)
{
    json_t *j = json_string(s);
    char *text;
    int ret;

    if (!j)
        return -EINVAL; /* not valid UTF-8 */
    text = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    if (!text)
        return -ENOMEM;
    ret = buf_adds(out, text);
    arca_secret_string_free(text);
    return ret;
}

static int add_csv_field(struct buf *out, const char *s)
{
    int ret = buf_addch(out, '"');

    for (; ret == 0 && *s; s++)
        ret = *s == '"' ? buf_adds(out, "\"\"") : buf_addch(out, *s);
    return ret < 0 ? ret : buf_addch(out, '"');
}

int cli_format_secrets(struct buf *out, const struct arca_secret_list *l, const char *format,
                       const char **bad_key, const char **reason)
{
    int ret = 0;

    if (streq(format, "json"))
        ret = buf_addch(out, '{');
    else if (streq(format, "csv"))
        ret = buf_adds(out, "key,value\r\n");
    for (size_t i = 0; i < l->n && ret == 0; i++) {
        const struct arca_secret *s = &l->v[i];

        *bad_key = s->key;
        if (streq(format, "dotenv-eval")) { /* for sh's eval only: POSIX single quotes */
            ret = buf_printf(out, "export %s='", s->key);
            for (const char *p = s->value; ret == 0 && *p; p++)
                ret = *p == '\'' ? buf_adds(out, "'\\''") : buf_addch(out, *p);
            if (ret == 0)
                ret = buf_adds(out, "'\n");
        } else if (streq(format, "dotenv") || streq(format, "dotenv-export")) {
            ret = dotenv_write(out, s->key, s->value,
                               streq(format, "dotenv") ? DOTENV_PLAIN : DOTENV_EXPORT, reason);
        } else if (streq(format, "json")) {
            ret = buf_adds(out, i ? ",\n  " : "\n  ");
            if (ret == 0)
                ret = add_json_string(out, s->key);
            if (ret == 0)
                ret = buf_adds(out, ": ");
            if (ret == 0)
                ret = add_json_string(out, s->value);
        } else if (streq(format, "yaml")) {
            ret = buf_printf(out, "%s: ", s->key);
            if (ret == 0)
                ret = add_json_string(out, s->value);
            if (ret == 0)
                ret = buf_addch(out, '\n');
        } else {
            ret = add_csv_field(out, s->key);
            if (ret == 0)
                ret = buf_addch(out, ',');
            if (ret == 0)
                ret = add_csv_field(out, s->value);
            if (ret == 0)
                ret = buf_adds(out, "\r\n");
        }
    }
    if (ret == 0 && streq(format, "json"))
        ret = buf_adds(out, l->n ? "\n}\n" : "}\n");
    return ret;
}

int cmd_export(struct cli *c)
{
    static const char *const formats[] = {"dotenv", "dotenv-export", "dotenv-eval", "json",
                                          "yaml",   "csv",           NULL};
    struct arca *a = NULL;
    struct arca_secret_list *l = NULL;
    _cleanup_buf_ struct buf out = BUF_INIT;
    const char *format, *bad_key = NULL, *reason = NULL;
    int r;

    if (cli_no_args(c, "arca export --env ENV --format FORMAT"))
        return EXIT_USAGE;
    if (cli_format(c, formats, &format) < 0)
        return EXIT_USAGE;
    r = cli_fetch_folder_cached(c, ARCA_OVERRIDES, &a, &l);
    if (r)
        goto out;
    buf_init_secret(&out, 0);
    if (cli_format_secrets(&out, l, format, &bad_key, &reason) < 0) {
        cli_error("export it with --format json", "cannot export '%s' as %s: %s", bad_key, format,
                  reason ? reason : "the value is not valid UTF-8 text");
        r = EXIT_INVALID;
        goto out;
    }
    if (c->output_file) {
        r = cli_write_file(c->output_file, buf_str(&out), out.len, 0600) < 0 ? EXIT_FAIL : EXIT_OK;
        if (r == EXIT_OK)
            fprintf(stderr, "exported %zu secrets to %s\n", l->n, c->output_file);
    } else {
        r = fwrite(buf_str(&out), 1, out.len, stdout) == out.len ? EXIT_OK : EXIT_FAIL;
    }
out:
    arca_secret_list_free(l);
    arca_free(a);
    return r;
}

/* A single-quoted .env value is literal (dotenv and the shell expand nothing
 * in it): each "${" in *value becomes "\${", which expansion turns back into
 * "${" and never into a reference.  Replaces *value (wiped).  -ENOMEM. */
static int literal_escape(char **value)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    const char *v = *value;

    if (!strstr(v, "${"))
        return 0;
    buf_init_secret(&out, 0);
    for (; *v; v++)
        if ((v[0] == '$' && v[1] == '{' ? buf_addch(&out, '\\') : 0) < 0 || buf_addch(&out, *v) < 0)
            return -ENOMEM;
    arca_secret_string_free(*value);
    *value = buf_detach(&out);
    return *value ? 0 : -ENOMEM;
}

/* Shows what importing in (n keys) changes and, when it replaces the value of
 * more than one existing secret, asks.  Returns an exit code. */
static int import_confirm(struct cli *c, struct arca *a, const struct arca_scope *scope,
                          const struct arca_secret_input *in, size_t n)
{
    struct arca_secret_list *list = NULL;
    struct arca_scope own = *scope;
    size_t replaced = 0, created = 0;
    bool go;
    int r;

    own.flags = ARCA_SHARED_ONLY;
    r = arca_secrets_list(a, &own, &list);
    if (r < 0)
        return cli_fail(a, r);
    for (size_t i = 0; i < n; i++) {
        const char *what = "create";
        for (size_t k = 0; k < list->n; k++)
            if (streq(list->v[k].key, in[i].key))
                what = streq(list->v[k].value, in[i].value) ? NULL : "replace";
        if (what && (c->dry_run || streq(what, "replace")))
            cli_plan(c, "  %s %s\n", what, in[i].key);
        replaced += what && streq(what, "replace");
        created += what && streq(what, "create");
    }
    arca_secret_list_free(list);
    if (replaced <= 1 && !c->dry_run)
        return EXIT_OK;
    cli_plan(c, "importing into %s:%s creates %zu secrets and replaces the value of %zu\n",
             scope->environment, scope->path, created, replaced);
    r = cli_confirm(c, "Import?", &go);
    return r ? r : go || c->dry_run ? EXIT_OK : EXIT_FAIL;
}

int cmd_import(struct cli *c)
{
    struct arca *a = NULL;
    struct arca_scope scope;
    _cleanup_buf_ struct buf text = BUF_INIT;
    _cleanup_dotenv_ struct dotenv env = DOTENV_INIT;
    struct arca_secret_input *in = NULL;
    enum arca_change *changes = NULL;
    size_t counts[4] = {0};
    char project[128];
    int r;

    if (c->n_args != 1) {
        cli_error("arca import FILE --env ENV", "give exactly one .env file");
        return EXIT_USAGE;
    }
    r = cli_scope(c, &scope, project, sizeof(project));
    if (r)
        return r;
    buf_init_secret(&text, IMPORT_MAX);
    if (cli_read_file(c->args[0], IMPORT_MAX, &text) < 0)
        return EXIT_INVALID;
    r = dotenv_parse(buf_str(&text), text.len, &env);
    if (r < 0) {
        cli_error(NULL, "cannot read '%s' as a .env file", c->args[0]);
        return EXIT_INVALID;
    }
    if (env.n == 0) {
        cli_error("a .env file has lines like KEY=value", "no secrets found in '%s'", c->args[0]);
        return EXIT_INVALID;
    }
    for (size_t i = 0; i < env.n; i++)
        if (!name_key_valid(env.v[i].key)) {
            char why[96];
            cli_error("names are 1 to 255 letters, digits and _, not starting with a digit; "
                      "nothing was imported",
                      "'%.64s' in '%s' is not a valid secret name: %s", env.v[i].key, c->args[0],
                      name_key_problem(env.v[i].key, why, sizeof(why)));
            return EXIT_INVALID;
        }
    in = calloc(env.n, sizeof(*in));
    changes = calloc(env.n, sizeof(*changes));
    if (!in || !changes) {
        r = EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < env.n; i++) {
        if (env.v[i].literal && literal_escape(&env.v[i].value) < 0) {
            r = EXIT_FAIL;
            goto out;
        }
        in[i] = (struct arca_secret_input){.key = env.v[i].key, .value = env.v[i].value};
    }
    r = cli_client_scoped(c, &a, &scope);
    if (r)
        goto out;
    r = import_confirm(c, a, &scope, in, env.n);
    if (r || c->dry_run)
        goto out;
    r = arca_secrets_set(a, &scope, in, env.n, changes, NULL);
    if (r < 0) {
        r = cli_fail(a, r);
        goto out;
    }
    for (size_t i = 0; i < env.n; i++)
        counts[changes[i]]++;
    printf("imported %zu secrets (%zu created, %zu updated, %zu unchanged)\n", env.n,
           counts[ARCA_CREATED], counts[ARCA_UPDATED], counts[ARCA_UNCHANGED]);
    r = EXIT_OK;
out:
    free(in);
    free(changes);
    arca_free(a);
    return r;
}
