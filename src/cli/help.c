/* help.c - everything made from the command table (main.c's cli_commands)
 * and the flag table (cli.c's cli_options): the top-level help, each
 * command's --help, the man page (arca man), the shell completion scripts
 * (arca completion bash|zsh|fish) and "did you mean" for a mistyped command.
 * One source: a flag a command takes is in its help, its man page section and
 * its completion, or nowhere. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "cli.h"

static const char *const exit_codes[][2] = {
    {"0", "success"},
    {"1", "other failure (server error, I/O)"},
    {"2", "usage error (unknown command or flag, missing argument, not confirmed)"},
    {"3", "not logged in, wrong credentials, not allowed"},
    {"4", "not found (project, environment, secret, .arca.json, store)"},
    {"5", "invalid input (name, path, value, .env file)"},
    {"6", "the server could not be reached, or TLS failed"},
    {"7", "conflict (duplicate, already a member, last admin, role in use)"},
    {"8", "tampered: audit log hash chain broken, or a damaged backup"},
    {"9", "rate limited (429)"},
};

/* Calls fn for each flag cmd takes, the global ones last when globals. */
static void each_flag(const struct cli_command *cmd, bool globals,
                      void (*fn)(const struct cli_option *o, void *ud), void *ud)
{
    for (size_t i = 0; i < cli_n_options; i++)
        if (!cli_option_global(&cli_options[i]) && cli_command_takes(cmd->flags, &cli_options[i]))
            fn(&cli_options[i], ud);
    for (size_t i = 0; globals && i < cli_n_options; i++)
        if (cli_option_global(&cli_options[i]))
            fn(&cli_options[i], ud);
}

/* "-e, --env ENV", "--[no-]imports", "--allow SPEC" into out. */
static void flag_label(const struct cli_option *o, char *out, size_t size)
{
    char s[8] = "    ";

    if (o->short_name)
        snprintf(s, sizeof(s), "-%c, ", o->short_name);
    snprintf(out, size, "%s--%s%s%s%s", s, o->kind == CLI_OPT_NEG ? "[no-]" : "", o->name,
             o->arg ? " " : "", o->arg ? o->arg : "");
}

static void help_flag(const struct cli_option *o, void *ud)
{
    char label[64];

    flag_label(o, label, sizeof(label));
    fprintf(ud, "  %-34s %s%s\n", label, o->help, o->kind == CLI_OPT_NEG ? " (default on)" : "");
}

/* Calls fn(form) for each synopsis line of cmd ("" when it takes no argument). */
static void each_form(const struct cli_command *cmd,
                      void (*fn)(const char *form, size_t len, void *ud), void *ud)
{
    const char *p = cmd->args;
    do {
        size_t n = strcspn(p, "\n");
        fn(p, n, ud);
        p += n + (p[n] == '\n');
    } while (*p);
}

struct synopsis {
    FILE *f;
    const struct cli_command *cmd;
    const char *first, *next; /* prefix of the first line, of the others */
    bool done;
};

static void synopsis_form(const char *form, size_t len, void *ud)
{
    struct synopsis *s = ud;
    bool flags = s->cmd->flags && *s->cmd->flags;

    fprintf(s->f, "%sarca %s%s%s%.*s\n", s->done ? s->next : s->first, s->cmd->name,
            flags ? " [flags]" : "", len ? " " : "", (int)len, form);
    s->done = true;
}

void cli_command_help(FILE *f, const struct cli_command *cmd)
{
    struct synopsis s = {f, cmd, "usage: ", "       ", false};

    each_form(cmd, synopsis_form, &s);
    if (cmd->text && *cmd->text)
        fprintf(f, "\n%s", cmd->text);
    else
        fprintf(f, "\n%c%s.\n",
                cmd->summary[0] - ('a' <= cmd->summary[0] && cmd->summary[0] <= 'z' ? 32 : 0),
                cmd->summary + 1);
    if (cmd->flags && *cmd->flags) {
        fputs("\nflags:\n", f);
        each_flag(cmd, false, help_flag, f);
    }
    fputs("\nglobal flags (anywhere on the line):\n", f);
    for (size_t i = 0; i < cli_n_options; i++)
        if (cli_option_global(&cli_options[i]))
            help_flag(&cli_options[i], f);
}

void cli_usage(FILE *f)
{
    fprintf(f, "arca %s - secrets manager\n\nusage: arca COMMAND [flags]\n\n%scommands:%s\n",
            ARCA_VERSION, cli_paint(f, CLI_PAINT_HEADER), cli_paint(f, CLI_PAINT_OFF));
    for (size_t i = 0; i < cli_n_commands; i++)
        fprintf(f, "  %-34s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fprintf(f, "  %-34s %s\n", "version", "print arca's version");
    fputs("\nglobal flags (anywhere on the line):\n", f);
    for (size_t i = 0; i < cli_n_options; i++)
        if (cli_option_global(&cli_options[i]))
            help_flag(&cli_options[i], f);
    fputs("\nRun 'arca help COMMAND' (or 'arca COMMAND --help') for a command's flags.\n", f);
}

int cmd_help(struct cli *c)
{
    cli_usage(stdout);
    return EXIT_OK;
}

/* The length of the first n words of s. */
static size_t words_len(const char *s, size_t n)
{
    size_t len = 0;
    for (; n > 0 && s[len]; n--) {
        len += strcspn(s + len, " ");
        if (n > 1 && s[len] == ' ')
            len++;
    }
    return len;
}

const char *cli_did_you_mean(const char *words)
{
    const char *best = NULL;
    unsigned best_d = 3;

    for (size_t i = 0; i < cli_n_commands; i++) {
        const char *name = cli_commands[i].name;
        size_t n_words = 1;
        for (const char *p = name; (p = strchr(p, ' ')); p++)
            n_words++;
        size_t len = words_len(words, n_words);
        unsigned d = cli_distance(words, len, name);
        /* "secret set" for "secrets set"; "rollback" for "secrets rollback" */
        const char *last = strrchr(name, ' ');
        if (last && streq(last + 1, words))
            d = 1;
        if (d < best_d || (d == best_d && best && strlen(name) < strlen(best))) {
            best_d = d;
            best = name;
        }
    }
    return best;
}

/* --- man page ------------------------------------------------------------ */

/* Writes s as roff text: backslashes escaped, '-' as \-, a line starting with
 * '.' or '\'' protected. */
static void roff(FILE *f, const char *s)
{
    bool bol = true;

    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", f);
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
        bol = *s == '\n';
    }
}

static void man_flag(const struct cli_option *o, void *ud)
{
    char label[64];

    flag_label(o, label, sizeof(label));
    fputs(".TP\n.B ", ud);
    roff(ud, label + 4 * (label[0] == ' '));
    fputc('\n', ud);
    roff(ud, o->help);
    fputs(o->kind == CLI_OPT_NEG ? " (default on)\n" : "\n", ud);
}

static void man_form(const char *form, size_t len, void *ud)
{
    struct synopsis *s = ud;
    char line[512];

    snprintf(line, sizeof(line), "arca %s%s%s%.*s", s->cmd->name,
             s->cmd->flags && *s->cmd->flags ? " [flags]" : "", len ? " " : "", (int)len, form);
    fputs(s->done ? ".br\n.B " : ".SS ", s->f);
    if (!s->done)
        fputc('"', s->f);
    roff(s->f, line);
    fputs(s->done ? "\n" : "\"\n", s->f);
    s->done = true;
}

int cmd_man(struct cli *c)
{
    FILE *f = stdout;

    if (cli_no_args(c, "arca man | man -l -"))
        return EXIT_USAGE;
    fprintf(f, ".TH ARCA 1 \"\" \"arca %s\" \"User Commands\"\n", ARCA_VERSION);
    fputs(".SH NAME\narca \\- secrets manager: server, command line and library\n"
          ".SH SYNOPSIS\n.B arca\n.I COMMAND\n[flags]\n"
          ".SH DESCRIPTION\narca keeps secrets end-to-end encrypted: values are encrypted and "
          "decrypted on the client.  Each command below takes the flags listed with it, and the "
          "global flags anywhere on the line.  Flags take \\fB\\-\\-flag value\\fR or "
          "\\fB\\-\\-flag=value\\fR; flags that are on or off take \\fB\\-\\-flag\\fR, "
          "\\fB\\-\\-no\\-flag\\fR or \\fB\\-\\-flag=true|false\\fR.\n"
          ".SH COMMANDS\n",
          f);
    for (size_t i = 0; i < cli_n_commands; i++) {
        const struct cli_command *cmd = &cli_commands[i];
        struct synopsis s = {f, cmd, "", "", false};

        each_form(cmd, man_form, &s);
        fputs(".PP\n", f);
        roff(f, cmd->summary);
        fputs(".\n", f);
        if (cmd->text && *cmd->text) {
            fputs(".PP\n.nf\n", f);
            roff(f, cmd->text);
            fputs(".fi\n", f);
        }
        if (cmd->flags && *cmd->flags) {
            fputs(".PP\nFlags:\n.RS\n", f);
            each_flag(cmd, false, man_flag, f);
            fputs(".RE\n", f);
        }
    }
    fputs(".SH GLOBAL FLAGS\n", f);
    for (size_t i = 0; i < cli_n_options; i++)
        if (cli_option_global(&cli_options[i]))
            man_flag(&cli_options[i], f);
    fputs(".SH EXIT STATUS\n", f);
    for (size_t i = 0; i < ELEMENTSOF(exit_codes); i++) {
        fprintf(f, ".TP\n.B %s\n", exit_codes[i][0]);
        roff(f, exit_codes[i][1]);
        fputc('\n', f);
    }
    fputs(".TP\n.B arca run\nthe child's exit status; 128+N if it was killed by signal N\n"
          ".SH ENVIRONMENT\nARCA_API_URL, ARCA_CONFIG_DIR, ARCA_CA_CERT, ARCA_PROJECT_ID, "
          "ARCA_TOKEN, ARCA_CLIENT_ID, ARCA_CLIENT_SECRET, ARCA_NO_CACHE, NO_COLOR; Infisical's "
          "INFISICAL_API_URL, INFISICAL_TOKEN, INFISICAL_PROJECT_ID.\n"
          ".SH SEE ALSO\nThe documentation in docs/cli.md of the arca sources.\n",
          f);
    return EXIT_OK;
}

/* --- shell completion ---------------------------------------------------- */

/* The words that may follow the command words prefix ("" or "secrets") in
 * some command name, space separated, each once. */
static void next_words(FILE *f, const char *prefix)
{
    size_t plen = strlen(prefix);
    const char *seen[128];
    size_t n_seen = 0;

    for (size_t i = 0; i < cli_n_commands; i++) {
        const char *name = cli_commands[i].name, *w;
        if (plen && (strncmp(name, prefix, plen) != 0 || name[plen] != ' '))
            continue;
        w = plen ? name + plen + 1 : name;
        size_t wl = strcspn(w, " ");
        bool dup = false;
        for (size_t k = 0; k < n_seen && !dup; k++)
            dup = strlen(seen[k]) >= wl && strncmp(seen[k], w, wl) == 0 &&
                  (seen[k][wl] == ' ' || !seen[k][wl]);
        if (dup || n_seen == ELEMENTSOF(seen))
            continue;
        seen[n_seen++] = w;
        fprintf(f, "%s%.*s", n_seen > 1 ? " " : "", (int)wl, w);
    }
}

static void bash_flag(const struct cli_option *o, void *ud)
{
    fprintf(ud, " --%s", o->name);
    if (o->kind == CLI_OPT_NEG || o->kind == CLI_OPT_BOOL)
        fprintf(ud, " --no-%s", o->name);
}

static void completion_bash(FILE *f)
{
    fputs("# bash completion for arca (made by 'arca completion bash')\n"
          "_arca() {\n"
          "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
          "    local cmd=\"\" w i skip=0 flags=\"\" next=\"\"\n"
          "    local values=\"",
          f);
    for (size_t i = 0; i < cli_n_options; i++)
        if (cli_options[i].kind == CLI_OPT_VALUE || cli_options[i].kind == CLI_OPT_REPEAT) {
            fprintf(f, " --%s", cli_options[i].name);
            if (cli_options[i].short_name)
                fprintf(f, " -%c", cli_options[i].short_name);
        }
    fputs(" \"\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        w=\"${COMP_WORDS[i]}\"\n"
          "        if ((skip)); then skip=0; continue; fi\n"
          "        [[ $w == -* && $w != *=* && $values == *\" $w \"* ]] && { skip=1; continue; }\n"
          "        [[ $w == -* ]] && continue\n"
          "        cmd=\"${cmd:+$cmd }$w\"\n"
          "    done\n"
          "    [[ $values == *\" $prev \"* ]] && return 0\n"
          "    case \"$cmd\" in\n",
          f);
    for (size_t i = 0; i < cli_n_commands; i++) {
        fprintf(f, "    \"%s\"*) flags=\"", cli_commands[i].name);
        each_flag(&cli_commands[i], true, bash_flag, f);
        fputs("\" ;;\n", f);
    }
    fputs("    esac\n    case \"$cmd\" in\n    \"\") next=\"", f);
    next_words(f, "");
    fputs(" version\" ;;\n", f);
    /* groups: every proper prefix of a command name */
    for (size_t i = 0; i < cli_n_commands; i++) {
        const char *name = cli_commands[i].name;
        for (const char *sp = strchr(name, ' '); sp; sp = strchr(sp + 1, ' ')) {
            char prefix[128];
            bool first = true;
            snprintf(prefix, sizeof(prefix), "%.*s", (int)(sp - name), name);
            for (size_t k = 0; k < i && first; k++)
                first = !(strncmp(cli_commands[k].name, prefix, strlen(prefix)) == 0 &&
                          cli_commands[k].name[strlen(prefix)] == ' ');
            if (!first)
                continue;
            fprintf(f, "    \"%s\") next=\"", prefix);
            next_words(f, prefix);
            fputs("\" ;;\n", f);
        }
    }
    fputs("    \"completion\") next=\"bash zsh fish\" ;;\n"
          "    esac\n"
          "    if [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
          "    else\n"
          "        COMPREPLY=($(compgen -W \"$next\" -- \"$cur\"))\n"
          "    fi\n"
          "}\n"
          "complete -F _arca arca\n",
          f);
}

struct fish {
    FILE *f;
    const struct cli_command *cmd;
};

static void fish_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* "__fish_seen_subcommand_from secrets; and __fish_seen_subcommand_from set" */
static void fish_condition(FILE *f, const char *name)
{
    const char *sep = "";
    fputc('\'', f);
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, " ");
        fprintf(f, "%s__fish_seen_subcommand_from %.*s", sep, (int)n, p);
        sep = "; and ";
        p += n + (p[n] == ' ');
    }
    fputc('\'', f);
}

static void fish_flag(const struct cli_option *o, void *ud)
{
    struct fish *x = ud;

    fputs("complete -c arca -n ", x->f);
    fish_condition(x->f, x->cmd->name);
    fprintf(x->f, " -l %s", o->name);
    if (o->short_name)
        fprintf(x->f, " -s %c", o->short_name);
    if (o->kind == CLI_OPT_VALUE || o->kind == CLI_OPT_REPEAT)
        fputs(" -r", x->f);
    fputs(" -d ", x->f);
    fish_quote(x->f, o->help);
    fputc('\n', x->f);
    if (o->kind == CLI_OPT_NEG || o->kind == CLI_OPT_BOOL) {
        fputs("complete -c arca -n ", x->f);
        fish_condition(x->f, x->cmd->name);
        fprintf(x->f, " -l no-%s\n", o->name);
    }
}

static void completion_fish(FILE *f)
{
    fputs("# fish completion for arca (made by 'arca completion fish')\n"
          "complete -c arca -f\n",
          f);
    for (size_t i = 0; i < cli_n_commands; i++) {
        const struct cli_command *cmd = &cli_commands[i];
        const char *sp = strrchr(cmd->name, ' ');
        struct fish x = {f, cmd};

        /* the word itself, offered after its group (or first) */
        fputs("complete -c arca -n ", f);
        if (sp) {
            char group[128];
            snprintf(group, sizeof(group), "%.*s", (int)(sp - cmd->name), cmd->name);
            fish_condition(f, group);
        } else {
            fputs("__fish_use_subcommand", f);
        }
        fprintf(f, " -a %s -d ", sp ? sp + 1 : cmd->name);
        fish_quote(f, cmd->summary);
        fputc('\n', f);
        each_flag(cmd, false, fish_flag, &x);
    }
    /* the groups' own words ("secrets", "identities client-secret") */
    fputs("complete -c arca -n __fish_use_subcommand -a '", f);
    next_words(f, "");
    fputs("'\n", f);
    for (size_t i = 0; i < cli_n_options; i++)
        if (cli_option_global(&cli_options[i])) {
            fprintf(f, "complete -c arca -l %s", cli_options[i].name);
            if (cli_options[i].short_name)
                fprintf(f, " -s %c", cli_options[i].short_name);
            fputs(cli_options[i].arg ? " -r -d " : " -d ", f);
            fish_quote(f, cli_options[i].help);
            fputc('\n', f);
        }
}

int cmd_completion(struct cli *c)
{
    const char *shell = c->n_args == 1 ? c->args[0] : "";

    if (streq(shell, "bash")) {
        completion_bash(stdout);
    } else if (streq(shell, "zsh")) {
        fputs("#compdef arca\n# zsh completion for arca (made by 'arca completion zsh'): the bash "
              "one, through bashcompinit\nautoload -U +X bashcompinit && bashcompinit\n",
              stdout);
        completion_bash(stdout);
    } else if (streq(shell, "fish")) {
        completion_fish(stdout);
    } else {
        cli_error("arca completion bash|zsh|fish", "give one shell: bash, zsh or fish");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}
