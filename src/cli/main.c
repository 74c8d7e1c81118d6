/* main.c - the arca binary: finds the command in a table (one to three words),
 * parses its flags and runs it.  Each command's --help text lives here, next to
 * its name, so that the table is the reference of the command line. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "cli.h"
#include "cli/build_info.h"
#include "store/store.h"

struct command {
    const char *name; /* one to three words */
    int (*run)(struct cli *c);
    const char *usage;
};

#define SCOPE_FLAGS                                                                                \
    "  --env ENV           environment slug (default dev)\n"                                       \
    "  --path PATH         folder path (default /)\n"                                              \
    "  --project-id ID     project (default: ARCA_PROJECT_ID, then .arca.json)\n"

#define IMPORTS_FLAG "--no-imports leaves out the secrets the folder imports (arca imports add).\n"
#define CACHE_FLAG                                                                                 \
    "When the server cannot be reached, the copy of this scope's secrets kept (encrypted) in\n"    \
    "~/.cache/arca from an earlier run is used, with a notice on stderr; a 401/403/404\n"          \
    "deletes it.  --no-cache (or ARCA_NO_CACHE=1) neither reads nor writes it.\n"

static const struct command commands[] = {
    /* before "server": the longer name matches first */
    {"server rotate-root-key", cmd_rotate_root_key,
     "arca server rotate-root-key [--data-dir ./arca-data | --database-url postgres://...]\n"
     "Replaces the root key, with EVERY server on the store stopped.  The current key comes\n"
     "from ARCA_ENCRYPTION_KEY or root.key, as for 'arca server' (a wrong one is refused);\n"
     "the new one from ARCA_NEW_ENCRYPTION_KEY (base64 of 32 bytes), or, when the current one\n"
     "is root.key, a new random key written over root.key.  In one transaction: every\n"
     "server-access project key is re-sealed under the new key, the audit chain continues\n"
     "under a new key with a link record 'server.root_key.rotate' (audit-logs verify checks\n"
     "the whole chain), and the store's root key check changes: servers with the old key\n"
     "refuse to start.  Then start every server with the new key.  Nothing changes on a\n"
     "failure.  See docs/deploy.md, 'Rotating the root key'.\n"},
    {"server", cmd_server,
     "arca server [--listen 127.0.0.1:8200] [--data-dir ./arca-data] [--max-body BYTES]\n"
     "            [--database-url postgres://USER@HOST:PORT/DB] [--tls-cert FILE --tls-key FILE]\n"
     "            [--log-level debug|info|warn|error] [--threads N]\n"
     "            [--audit-async] [--login-limit-ip 20,20] [--login-limit-account 10,5]\n"
     "            [--db-wait SECONDS] [--metrics-listen 127.0.0.1:9200]\n"
     "            [--site-url https://arca.example.com]\n"
     "Runs the arca server on the embedded SQLite store in --data-dir.  The root key comes\n"
     "from ARCA_ENCRYPTION_KEY (base64 of 32 bytes) or, if unset, from root.key in the data\n"
     "directory (generated on first start).  Stops cleanly on SIGINT or SIGTERM.\n"
     "--database-url (or ARCA_DATABASE_URL; the flag wins) uses PostgreSQL instead: several\n"
     "servers may share one database.  They need the same root key, so it is never generated\n"
     "then: set ARCA_ENCRYPTION_KEY.  Prefer the variable (or ~/.pgpass) for a password: a\n"
     "flag is visible to other users in the process list.  A database that cannot be reached\n"
     "at start is tried again, with backoff, for --db-wait seconds (ARCA_DB_WAIT, default\n"
     "60; 0: fail at once), each attempt logged.\n"
     "The root key must be the one the store was made with (the store keeps a check value,\n"
     "never the key): a server with another key refuses to start.\n"
     "Probes: GET /api/status (liveness: 200 while the process serves) and GET /api/ready\n"
     "(readiness: 503 while the database or the audit log cannot be written).\n"
     "--threads: request threads (default 8 per core: a write waits for its commit in its\n"
     "thread, and concurrent writes share one commit).  Reads wait for their audit record\n"
     "without holding a thread.\n"
     "Every request is answered only once its audit record is on disk; --audit-async\n"
     "answers first (for measuring what that costs; never in production).\n"
     "Logins are rate limited per client address (--login-limit-ip, ARCA_LOGIN_LIMIT_IP)\n"
     "and per account until one succeeds (--login-limit-account, ARCA_LOGIN_LIMIT_ACCOUNT):\n"
     "BURST,PER_MINUTE attempts, default 20,20 and 10,5; over it the answer is 429.\n"
     "--tls-cert and --tls-key (or ARCA_TLS_CERT and ARCA_TLS_KEY; both or neither) serve\n"
     "HTTPS (TLS 1.2 and 1.3 only) with a PEM certificate chain and its PEM private key;\n"
     "the key file must not be readable by other users.  Restart to load new ones.\n"
     "--metrics-listen HOST:PORT (or ARCA_METRICS_LISTEN) serves GET /metrics (Prometheus\n"
     "text) on that second address, without authentication: off by default; bind it where\n"
     "only the scraper reaches it (docs/metrics.md).\n"
     "--site-url (or ARCA_SITE_URL): the URL users reach this server at (behind a proxy or a\n"
     "container's port mapping), logged at start in place of guessing it from --listen.\n"
     "See docs/tls.md.\n"},
    {"backup", cmd_backup,
     "arca backup --output FILE [--data-dir ./arca-data | --database-url postgres://...]\n"
     "arca backup --verify FILE\n"
     "Writes a consistent copy of the whole store (the SQLite store in --data-dir, or the\n"
     "PostgreSQL database of --database-url / ARCA_DATABASE_URL, chosen as by 'arca server')\n"
     "to FILE, mode 0600, atomically.  Safe while servers run on the store: the copy is one\n"
     "snapshot, writes go on.  It holds ciphertext, token hashes, names and e-mails, never\n"
     "the root key: keep ARCA_ENCRYPTION_KEY (or root.key) apart, you need it to restore\n"
     "server access and to verify the audit log.  Still sensitive: store it like a secret.\n"
     "--verify FILE checks a backup as a restore would (hash, row counts, line limit, schema\n"
     "version) without any store: exit 0 if this arca can restore it, 8 if it is damaged or\n"
     "edited, 5 if it is of another schema version.\n"},
    {"restore", cmd_restore,
     "arca restore --input FILE [--data-dir DIR | --database-url postgres://...]\n"
     "Loads a backup made by 'arca backup' into an EMPTY store (a new data directory or a\n"
     "new database; a store with any row is refused, exit 7), in one transaction.  The file\n"
     "is checked whole first (its BLAKE2b, row counts, line limit of 4 MiB): a truncated or\n"
     "edited file is refused (exit 8) and nothing is written, not even a new database file or\n"
     "schema.  Use the arca version that\n"
     "made the backup (same schema), then upgrade.  Either store restores into the other:\n"
     "this is how to move from SQLite to PostgreSQL.  No server may run on the store yet.\n"},
    {"bootstrap", cmd_bootstrap,
     "echo \"$PW\" | arca bootstrap --email EMAIL --password-stdin --organization NAME\n"
     "Creates the first administrator and their organization on a new server, then logs in.\n"
     "Without --password-stdin the password is asked for on the terminal.\n"},
    {"signup", cmd_signup,
     "echo \"$PW\" | arca signup --invite TOKEN --email EMAIL --password-stdin [--format json]\n"
     "Creates your account from an invite (see 'arca users invite') and logs in, like login.\n"},
    {"login", cmd_login,
     "echo \"$PW\" | arca login --email EMAIL --password-stdin [--format json]\n"
     "arca login --method=universal-auth --client-id ID --client-secret SECRET\n"
     "Logs in; the session is kept in $ARCA_CONFIG_DIR (default ~/.config/arca), mode 0600.\n"
     "The password never leaves this machine: it is stretched with Argon2id here.\n"
     "--method=universal-auth logs in as a machine identity (client ID and secret also from\n"
     "ARCA_CLIENT_ID / ARCA_CLIENT_SECRET); the secret is not saved, so the session lasts\n"
     "until the token's max TTL (it is renewed on use when near expiry).\n"},
    {"logout", cmd_logout,
     "arca logout\nRevokes the saved session on the server and forgets it here.\n"},
    {"status", cmd_status,
     "arca status [--api-url URL]\n"
     "Asks the server whether it is up (GET /api/status, no login); exit 0 if it answers 200.\n"
     "The container image's HEALTHCHECK runs it.\n"},
    {"whoami", cmd_whoami,
     "arca whoami [--format json]\nPrints who is logged in (user, machine identity or "
     "service token) and the server.\n"},
    {"token renew", cmd_token_renew,
     "arca token renew [--format json]\n"
     "Renews the saved machine identity session's access token (up to its max TTL).\n"},
    {"users invite", cmd_users_invite,
     "arca users invite EMAIL [--org-role admin|member] [--organization-id ID] [--format json]\n"
     "Invites a person into your organization (organization admins).  Prints only the invite\n"
     "token on stdout; the person signs up with 'arca signup --invite TOKEN'.\n"},
    {"projects create", cmd_projects_create,
     "arca projects create NAME [--server-access] [--format json]\n"
     "Creates an end-to-end encrypted project with environments dev, staging and prod.\n"
     "--server-access also hands the server a copy of the project key (see\n"
     "'arca projects update').\n"},
    {"projects update", cmd_projects_update,
     "arca projects update ID --server-access on|off [--format json]\n"
     "Server access (project admins): 'on' hands the server a copy of the project key,\n"
     "kept sealed under its root key, so that Infisical's SDKs and plaintext API routes\n"
     "work for this project; 'off' deletes the server's copy.  See docs/security.md.\n"},
    {"projects list", cmd_projects_list, "arca projects list [--format json]\n"},
    {"projects rotate-key", cmd_projects_rotate_key,
     "arca projects rotate-key --project-id ID [--format json]\n"
     "Replaces the project key (project admins): every version of every secret is decrypted\n"
     "and re-encrypted here, and the new key is sealed to every member.  The project's service\n"
     "tokens are revoked.\n"},
    {"environments list", cmd_environments_list,
     "arca environments list [--project-id ID] [--format table|json]\n"
     "Lists the project's environments: SLUG, NAME, POSITION.\n"},
    {"environments add", cmd_environments_add,
     "arca environments add SLUG [--name NAME] [--position N] [--project-id ID]\n"
     "Adds an environment (project admins).  SLUG: lowercase letters, digits and '-'; NAME\n"
     "defaults to the slug; --position N (1-1000) puts it there and moves the ones at or\n"
     "after it down (default: last).  At most 64 environments a project.\n"},
    {"environments rename", cmd_environments_rename,
     "arca environments rename SLUG --name NAME [--position N] [--project-id ID]\n"
     "Changes an environment's display name (and position).  The slug stays: stored\n"
     "secrets are encrypted bound to it.\n"},
    {"environments remove", cmd_environments_remove,
     "arca environments remove SLUG [--project-id ID]\n"
     "Deletes an environment in which no secret was ever written.  One that holds secrets,\n"
     "or the history of deleted ones, is refused (exit 7): history is never dropped.\n"},
    {"members add", cmd_members_add,
     "arca members add EMAIL --role ROLE [--project-id ID] [--format json]\n"
     "arca members add --identity NAME --role ROLE [--project-id ID]\n"
     "Adds a user of your organization or a machine identity to the project; the project key\n"
     "is sealed to their public key here.  ROLE: admin, member, viewer, no-access or a custom\n"
     "role's slug.\n"},
    {"members list", cmd_members_list, "arca members list [--project-id ID] [--format json]\n"},
    {"members update", cmd_members_update,
     "arca members update EMAIL|IDENTITY-NAME --role ROLE [--project-id ID]\n"
     "Nobody changes their own role, nor gives, changes or removes a role with a right their\n"
     "own role lacks (exit 3); the last admin stays (exit 7).\n"},
    {"members remove", cmd_members_remove,
     "arca members remove EMAIL|IDENTITY-NAME [--project-id ID]\n"
     "The member loses access to new versions; rotate the key ('arca projects rotate-key') so\n"
     "that what they could read before is re-encrypted under a key they never had.\n"},
    {"roles create", cmd_roles_create,
     "arca roles create SLUG --allow SPEC [--allow SPEC ...] [--deny SPEC ...] [--name NAME]\n"
     "                  [--project-id ID] [--format json]\n"
     "SPEC is SUBJECT:ACTIONS:ENVS[:PATHGLOB] for secrets and folders, SUBJECT:ACTIONS for\n"
     "members, roles, identities, service-tokens, audit-logs and settings.  ACTIONS: a comma\n"
     "list of read, create, edit, delete, describe, or *; ENVS: a comma list of slugs, or *;\n"
     "PATHGLOB default /**.  A deny rule wins over allow rules.\n"
     "e.g. --allow 'secrets:read,create,edit,delete:dev,staging:/**' --deny 'secrets:*:prod'\n"},
    {"roles list", cmd_roles_list, "arca roles list [--project-id ID] [--format json]\n"},
    {"roles delete", cmd_roles_delete, "arca roles delete SLUG [--project-id ID]\n"},
    {"identities create", cmd_identities_create,
     "arca identities create NAME [--project-id ID --role ROLE] [--organization-id ID]\n"
     "                       [--access-token-ttl 2h] [--access-token-max-ttl 30d]\n"
     "                       [--access-token-num-uses-limit N] [--trusted-ips CIDR,...]\n"
     "                       [--format json]\n"
     "Creates a machine identity with a client secret (shown once) and, with --project-id,\n"
     "adds it to the project.  JSON: {\"identityId\", \"clientId\", \"clientSecret\", ...}.\n"
     "--access-token-num-uses-limit: requests each access token may make (0: unlimited);\n"
     "--trusted-ips: the only addresses it may log in and make requests from.\n"},
    {"identities list", cmd_identities_list, "arca identities list [--format json]\n"},
    {"identities delete", cmd_identities_delete, "arca identities delete NAME|ID\n"},
    {"identities client-secret create", cmd_client_secret_create,
     "arca identities client-secret create --identity NAME|ID [--description D] [--ttl 30d]\n"
     "                                     [--num-uses-limit N] [--format json]\n"
     "Makes a new client secret for a machine identity and prints it once.  Organization\n"
     "admins who hold the identity's role in each of its projects (else exit 3); never the\n"
     "identity itself.  The secret comes with a new key pair (the project keys are sealed to\n"
     "it here), so the identity's other client secrets and their tokens are revoked.\n"
     "--ttl: it expires after that long (default never); --num-uses-limit: logins it allows\n"
     "(default 0: unlimited).  JSON:\n"
     "{\"clientSecretId\", \"clientSecret\", \"prefix\", \"expiresAt\", \"numUsesLimit\"}.\n"},
    {"identities client-secret list", cmd_client_secret_list,
     "arca identities client-secret list --identity NAME|ID [--format json]\n"
     "Lists the identity's client secrets (never a secret): ID, PREFIX, STATUS, USES, EXPIRES,\n"
     "DESCRIPTION.  Organization admins or the identity itself.\n"},
    {"identities client-secret revoke", cmd_client_secret_revoke,
     "arca identities client-secret revoke SECRET-ID --identity NAME|ID\n"
     "Revokes one client secret: it no longer logs in.  Organization admins; never the\n"
     "identity itself.\n"},
    {"service-token create", cmd_service_token_create,
     "arca service-token create --name NAME --env ENV [--path PATH] [--scope ENV:PATH ...]\n"
     "                          [--access read|read-write] [--expires-in 30d|12h|45m|3600s|0]\n"
     "                          [--project-id ID] [--format json]\n"
     "Creates a service token and prints it once: st.<id>.<secret>.<key>.  The <key> part\n"
     "never reaches the server.  Use it as ARCA_TOKEN=... arca run --env ENV -- COMMAND.\n"
     "Your own role must allow each scope for every folder its PATH can match (else exit 3).\n"},
    {"service-token list", cmd_service_token_list,
     "arca service-token list [--project-id ID] [--format json]\n"},
    {"service-token revoke", cmd_service_token_revoke,
     "arca service-token revoke ID [--project-id ID]\n"},
    {"share create", cmd_share_create,
     "arca share create (--value-stdin | --secret KEY --env ENV [--path PATH]) [--expires-in 1d]\n"
     "                  [--max-views 1|N|unlimited] [--password-stdin] [--org-only]\n"
     "                  [--format json]\n"
     "Prints a link <site>/s/<id>#<key> that shows the value once (or N times) until it\n"
     "expires (5m to 30d, default 1d).  The value is encrypted here under a random key that\n"
     "only the link holds, after '#': the server cannot read it.  --password-stdin: the\n"
     "viewer also needs that password (read as the first line; with --value-stdin, the value\n"
     "is the rest).  --org-only: only members of your organization may open it.\n"},
    {"share open", cmd_share_open,
     "arca share open LINK [--password-stdin] [--format json]\n"
     "Opens a share link (counts a view) and prints the value.\n"},
    {"share list", cmd_share_list,
     "arca share list [--format json]\n"
     "Your active shares: id, created, expires, views left (never the value).\n"},
    {"share revoke", cmd_share_revoke,
     "arca share revoke ID\n"
     "Deletes a share now (yours, or any of your organization's as its admin).\n"},
    {"share policy", cmd_share_policy,
     "arca share policy [--max-lifetime 30d] [--anonymous on|off] [--format json]\n"
     "Shows the organization's rules for shares; its admins change them: the longest lifetime\n"
     "and whether shares may be opened without an account (off: members only).\n"},
    {"init", cmd_init,
     "arca init --project-id ID\n"
     "Writes .arca.json in the current directory so later commands use this project.\n"},
    {"secrets set", cmd_secrets_set,
     "arca secrets set KEY=VALUE [KEY=VALUE ...] [flags]\n"
     "arca secrets set KEY VALUE [flags]\n"
     "Creates or updates secrets (each write is a new version), all at once.\n"
     "KEY=@FILE reads the value from FILE.\n"
     "--personal sets your personal override of a shared secret: your own value, used for\n"
     "you only (users only; the shared secret must exist).\n" SCOPE_FLAGS "  --format json\n"},
    {"secrets get", cmd_secrets_get,
     "arca secrets get KEY [KEY ...] [--plain] [--format json] [flags]\n"
     "--plain prints only the values, one per line.\n"
     "--personal gets your personal override instead of the shared secret.\n"
     "--expand=false keeps ${...} references unexpanded.\n" SCOPE_FLAGS},
    {"secrets list", cmd_secrets_list,
     "arca secrets list [--format table|json|dotenv] [--show-values] [--recursive]\n"
     "                  [--no-imports] [flags]\n"
     "Your personal overrides are listed after the shared secret they override, TYPE\n"
     "personal (json: \"type\": \"personal\").\n"
     "--expand=false keeps ${...} references unexpanded.\n"
     "--recursive adds the secrets of every sub-folder (JSON says each one's path).\n" IMPORTS_FLAG
         SCOPE_FLAGS},
    {"secrets delete", cmd_secrets_delete,
     "arca secrets delete KEY [KEY ...] [flags]\n"
     "Deletes secrets (a new, deleted version: history is kept).  Deleting a shared secret\n"
     "deletes everyone's personal overrides of it; --personal deletes only your "
     "override.\n" SCOPE_FLAGS},
    {"secrets history", cmd_secrets_history,
     "arca secrets history KEY [--show-values] [--format table|json] [flags]\n"
     "Lists every version of a secret, newest first: VERSION, ACTION, TIME, BY.\n"
     "--personal: the versions of your personal override.\n" SCOPE_FLAGS},
    {"secrets rollback", cmd_secrets_rollback,
     "arca secrets rollback KEY --version N [flags]\n"
     "arca secrets rollback --to TIME [flags]\n"
     "Writes version N of KEY again as a new version, or puts every secret of the folder back\n"
     "as it was at TIME (ISO-8601, e.g. 2026-11-29T10:00:00Z).  History is kept.\n" SCOPE_FLAGS},
    {"run", cmd_run,
     "arca run [flags] -- COMMAND [ARGS ...]\n"
     "Runs COMMAND with the folder's secrets added to its environment.  Signals are\n"
     "forwarded to it and its exit status is passed through; no value is written to "
     "disk in clear.\n"
     "Your personal overrides replace the shared values (also in references);\n"
     "--no-overrides uses the shared values only.\n"
     "--expand=false keeps ${...} references unexpanded.\n"
     "--watch restarts COMMAND when the folder's secrets change (the server's change feed,\n"
     "then a conditional fetch; every 30 s at the latest): SIGTERM, then SIGKILL after\n"
     "--grace (default 10s).  arca exits when COMMAND exits on its own, with its status.\n"
     "--agent-socket PATH (or ARCA_AGENT_SOCKET) takes the secrets from 'arca agent' on\n"
     "this host (its 'socket'): no login, no TLS, no fetch (docs/agent.md).\n" CACHE_FLAG
         IMPORTS_FLAG SCOPE_FLAGS},
    {"agent", cmd_agent,
     "arca agent --config agent.yaml [--once]\n"
     "Runs the agent: logs in as a machine identity, renders the config's templates to\n"
     "files (mode 0600, atomically), re-renders them when a secret changes and then runs\n"
     "their command, and serves 'arca run --agent-socket' on a Unix socket (mode 0600).\n"
     "--once (or 'once: true'): render once and exit (a Kubernetes init container).\n"
     "Exit codes: 3 the credentials were refused (revoked), 5 a bad config.  The config\n"
     "(YAML or JSON) is described in docs/agent.md.\n"},
    {"export", cmd_export,
     "arca export [--format dotenv|dotenv-export|json|yaml|csv] [--output-file FILE] [flags]\n"
     "dotenv output reads back identically with the dotenv package and with sh\n"
     "(set -a; . ./file).  --output-file is written atomically with mode 0600.\n"
     "Your personal overrides replace the shared values; --no-overrides: shared only.\n"
     "--expand=false keeps ${...} references unexpanded.\n" CACHE_FLAG IMPORTS_FLAG SCOPE_FLAGS},
    {"folders list", cmd_folders_list,
     "arca folders list [--recursive] [--format json] [flags]\n"
     "Lists the sub-folders of --path (every descendant with --recursive).  A folder exists\n"
     "once a secret is written in it or below it, or once it is created.\n" SCOPE_FLAGS},
    {"folders create", cmd_folders_create,
     "arca folders create NAME [flags]\n"
     "Creates folder NAME (letters, digits, '-', '_') in --path, and missing parents.\n"
     "Folders cannot be renamed: values are sealed to their path.\n" SCOPE_FLAGS},
    {"folders delete", cmd_folders_delete,
     "arca folders delete PATH [--env ENV] [--project-id ID]\n"
     "Deletes folder PATH and everything below it: each secret gets a deleted version\n"
     "(history is kept, 'arca secrets history' shows it) and the folders' imports go.\n"},
    {"imports list", cmd_imports_list,
     "arca imports list [--format json] [flags]\n"
     "Lists what the folder imports, by position (a higher position wins).\n" SCOPE_FLAGS},
    {"imports add", cmd_imports_add,
     "arca imports add --from ENV:PATH [--format json] [flags]\n"
     "Makes the folder see the secrets of ENV:PATH below its own: its own secrets win, and\n"
     "the import added last wins over earlier ones.  Needs 'folders edit' here and\n"
     "'secrets read' on ENV:PATH.  Prints the import's id.\n" SCOPE_FLAGS},
    {"imports remove", cmd_imports_remove,
     "arca imports remove ID [--project-id ID]\nRemoves an import (see 'arca imports list').\n"},
    {"audit-logs list", cmd_audit_logs_list,
     "arca audit-logs list [--project-id ID] [--event E] [--actor A] [--since T] [--until T]\n"
     "                     [--limit N] [--format table|json]\n"
     "Without --project-id: the whole organization's log (organization admins).  --event is\n"
     "exact or a prefix ending in '.' (secret.); T is ISO-8601 or a duration ago (24h).\n"},
    {"audit-logs export", cmd_audit_logs_export,
     "arca audit-logs export [same filters as list] > audit.jsonl\n"
     "Prints every matching record as one JSON line.\n"},
    {"audit-logs verify", cmd_audit_logs_verify,
     "arca audit-logs verify [--format json]\n"
     "Checks the audit log's hash chain (organization admins), across root key rotations;\n"
     "exit 8 if it was tampered with, or written by a server with another root key (told\n"
     "apart: 'cause' is \"tampered\" or \"wrong-key\").\n"},
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
               "(ARCA_CONFIG_DIR),\n"
               "  --ca-cert FILE (ARCA_CA_CERT): trust this PEM CA for https:// (docs/tls.md)\n"
               "Run 'arca COMMAND --help' for a command's flags.\n");
}

/* Matches argv[1...] against the words of a command name; returns the number
 * of words used, 0 if they do not all match. */
static int command_words(const char *name, int argc, char **argv)
{
    for (int i = 1;; i++) {
        size_t len = strcspn(name, " ");
        if (i >= argc || strlen(argv[i]) != len || strncmp(name, argv[i], len) != 0)
            return 0;
        if (!name[len])
            return i;
        name += len + 1;
    }
}

/* The number of leading words of argv[1...] that begin a longer command name
 * (a group such as "identities client-secret"), 0 if none; *ret_rest points
 * into name after them. */
static int group_words(const char *name, int argc, char **argv, const char **ret_rest)
{
    int i = 1;
    for (; i < argc; i++) {
        size_t len = strcspn(name, " ");
        if (!name[len] || strlen(argv[i]) != len || strncmp(name, argv[i], len) != 0)
            break;
        name += len + 1;
    }
    *ret_rest = name;
    return i - 1;
}

int main(int argc, char **argv)
{
    struct cli c = {.prog = "arca"};
    int group = 0;
    const char *rest;

    if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (streq(argv[1], "version") || streq(argv[1], "--version")) {
        printf("arca %s\nschema version %d (the store's; 'arca server' migrates an older one)\n"
               "build %s\n",
               ARCA_VERSION, store_schema_version(), ARCA_BUILD);
        return EXIT_OK;
    }
    for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
        int words = command_words(commands[i].name, argc, argv);

        if (words == 0) {
            int g = group_words(commands[i].name, argc, argv, &rest);
            if (g > group)
                group = g;
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
        bool help =
            argc > group + 1 && (streq(argv[group + 1], "--help") || streq(argv[group + 1], "-h"));
        FILE *f = help ? stdout : stderr;
        const char *sep = "";
        char words[256] = "";

        for (int w = 1; w <= group; w++)
            snprintf(words + strlen(words), sizeof(words) - strlen(words), "%s%s", w > 1 ? " " : "",
                     argv[w]);
        fprintf(f, help ? "subcommands of 'arca %s': " : "arca: error: 'arca %s' needs one of: ",
                words);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
            if (group_words(commands[i].name, argc, argv, &rest) == group) {
                fprintf(f, "%s%s", sep, rest);
                sep = ", ";
            }
        fputc('\n', f);
        if (!help)
            fprintf(f, "arca: hint: run 'arca %s SUBCOMMAND --help'\n", words);
        return help ? EXIT_OK : EXIT_USAGE;
    }
    fprintf(stderr, "arca: error: unknown command '%s'\narca: hint: run 'arca --help'\n", argv[1]);
    return EXIT_USAGE;
}
