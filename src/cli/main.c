/* main.c - the arca binary: finds the command in a table (one or two words),
 * parses its flags and runs it.  Each command's --help text lives here, next to
 * its name, so that the table is the reference of the command line. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "cli.h"

struct command {
    const char *name; /* one or two words */
    int (*run)(struct cli *c);
    const char *usage;
};

#define SCOPE_FLAGS                                                                                \
    "  --env ENV           environment slug (default dev)\n"                                       \
    "  --path PATH         folder path (default /)\n"                                              \
    "  --project-id ID     project (default: ARCA_PROJECT_ID, then .arca.json)\n"

static const struct command commands[] = {
    {"server", cmd_server,
     "arca server [--listen 127.0.0.1:8200] [--data-dir ./arca-data] [--max-body BYTES]\n"
     "            [--log-level debug|info|warn|error]\n"
     "Runs the arca server on the embedded SQLite store in --data-dir.  The root key comes\n"
     "from ARCA_ENCRYPTION_KEY (base64 of 32 bytes) or, if unset, from root.key in the data\n"
     "directory (generated on first start).  Stops cleanly on SIGINT or SIGTERM.\n"},
    {"bootstrap", cmd_bootstrap,
     "echo \"$PW\" | arca bootstrap --email EMAIL --password-stdin --organization NAME\n"
     "Creates the first administrator and their organization on a new server, then logs in.\n"
     "Without --password-stdin the password is asked for on the terminal.\n"},
    {"login", cmd_login,
     "echo \"$PW\" | arca login --email EMAIL --password-stdin\n"
     "Logs in; the session is kept in $ARCA_CONFIG_DIR (default ~/.config/arca), mode 0600.\n"
     "The password never leaves this machine: it is stretched with Argon2id here.\n"},
    {"logout", cmd_logout, "arca logout\nRevokes the session on the server and forgets it here.\n"},
    {"whoami", cmd_whoami, "arca whoami\nPrints the logged-in user and the server.\n"},
    {"projects create", cmd_projects_create,
     "arca projects create NAME [--format json]\n"
     "Creates an end-to-end encrypted project with environments dev, staging and prod.\n"},
    {"projects list", cmd_projects_list, "arca projects list [--format json]\n"},
    {"init", cmd_init,
     "arca init --project-id ID\n"
     "Writes .arca.json in the current directory so later commands use this project.\n"},
    {"secrets set", cmd_secrets_set,
     "arca secrets set KEY=VALUE [KEY=VALUE ...] [flags]\n"
     "arca secrets set KEY VALUE [flags]\n"
     "Creates or updates secrets (each write is a new version), all at once.\n"
     "KEY=@FILE reads the value from FILE.\n" SCOPE_FLAGS "  --format json\n"},
    {"secrets get", cmd_secrets_get,
     "arca secrets get KEY [KEY ...] [--plain] [--format json] [flags]\n"
     "--plain prints only the values, one per line.\n" SCOPE_FLAGS},
    {"secrets list", cmd_secrets_list,
     "arca secrets list [--format table|json|dotenv] [--show-values] [flags]\n" SCOPE_FLAGS},
    {"secrets delete", cmd_secrets_delete,
     "arca secrets delete KEY [KEY ...] [flags]\n"
     "Deletes secrets (a new, deleted version: history is kept).\n" SCOPE_FLAGS},
    {"run", cmd_run,
     "arca run [flags] -- COMMAND [ARGS ...]\n"
     "Runs COMMAND with the folder's secrets added to its environment.  Signals are\n"
     "forwarded to it and its exit status is passed through; nothing is written to "
     "disk.\n" SCOPE_FLAGS},
    {"export", cmd_export,
     "arca export [--format dotenv|dotenv-export|json|yaml|csv] [--output-file FILE] [flags]\n"
     "dotenv output reads back identically with the dotenv package and with sh\n"
     "(set -a; . ./file).  --output-file is written atomically with mode 0600.\n" SCOPE_FLAGS},
    {"import", cmd_import,
     "arca import FILE [flags]\n"
     "Reads a .env file (as the dotenv package does) and stores every key, all at "
     "once.\n" SCOPE_FLAGS},
};

static void usage(FILE *f)
{
    fprintf(f, "arca %s - secrets manager\n\nusage: arca COMMAND [flags]\n\ncommands:\n",
            ARCA_VERSION);
    for (size_t i = 0; i < ELEMENTSOF(commands); i++)
        fprintf(f, "  %s\n", commands[i].name);
    fprintf(f, "  version\n\nglobal flags: --api-url URL (ARCA_API_URL), --config-dir DIR "
               "(ARCA_CONFIG_DIR)\n"
               "Run 'arca COMMAND --help' for a command's flags.\n");
}

/* Matches argv[1] (and argv[2]) against a command name; returns the number of
 * words used, 0 if none. */
static int command_words(const char *name, int argc, char **argv)
{
    const char *sp = strchr(name, ' ');

    if (!sp)
        return streq(name, argv[1]) ? 1 : 0;
    if (argc < 3 || strncmp(name, argv[1], (size_t)(sp - name)) != 0 || argv[1][sp - name] != 0 ||
        !streq(sp + 1, argv[2]))
        return 0;
    return 2;
}

int main(int argc, char **argv)
{
    struct cli c = {.prog = "arca"};
    bool group = false;

    if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (streq(argv[1], "version") || streq(argv[1], "--version")) {
        printf("arca %s\n", ARCA_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
        int words = command_words(commands[i].name, argc, argv);

        if (words == 0) {
            const char *sp = strchr(commands[i].name, ' ');
            if (sp && strncmp(commands[i].name, argv[1], (size_t)(sp - commands[i].name)) == 0 &&
                argv[1][sp - commands[i].name] == 0)
                group = true;
            continue;
        }
        c.command = commands[i].name;
        if (cli_parse(&c, argc, argv, 1 + words) < 0)
            return EXIT_USAGE;
        if (c.help) {
            fputs(commands[i].usage, stdout);
            return EXIT_OK;
        }
        return commands[i].run(&c);
    }
    if (group) {
        bool help = argc > 2 && (streq(argv[2], "--help") || streq(argv[2], "-h"));
        FILE *f = help ? stdout : stderr;
        const char *sep = "";

        fprintf(f, help ? "subcommands of 'arca %s': " : "arca: error: 'arca %s' needs one of: ",
                argv[1]);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
            if (startswith(commands[i].name, argv[1]) && commands[i].name[strlen(argv[1])] == ' ') {
                fprintf(f, "%s%s", sep, commands[i].name + strlen(argv[1]) + 1);
                sep = ", ";
            }
        fputc('\n', f);
        if (!help)
            fprintf(f, "arca: hint: run 'arca %s SUBCOMMAND --help'\n", argv[1]);
        return help ? EXIT_OK : EXIT_USAGE;
    }
    fprintf(stderr, "arca: error: unknown command '%s'\narca: hint: run 'arca --help'\n", argv[1]);
    return EXIT_USAGE;
}
