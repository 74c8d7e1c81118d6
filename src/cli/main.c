/* main.c - the arca binary: finds the command in a table (one to three words),
 * parses its flags and runs it.  Each command's entry names its arguments, the
 * flags it takes (cli.c's cli_options says what each means) and its help text:
 * --help, the man page and the completion scripts are made from this table
 * (help.c), so that it is the reference of the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli.h"
#include "cli/build_info.h"
#include "store/store.h"

/* the flags of commands that work on a folder */
#define SCOPE "env path project-id"

const struct cli_command cli_commands[] = {
    /* before "server": the longer name matches first */
    {"server rotate-root-key", cmd_rotate_root_key, "", "data-dir database-url",
     "replace the root key (every server stopped)",
     "Replaces the root key, with EVERY server on the store stopped.  The current key comes\n"
     "from ARCA_ENCRYPTION_KEY or root.key, as for 'arca server' (a wrong one is refused);\n"
     "the new one from ARCA_NEW_ENCRYPTION_KEY (base64 of 32 bytes), or, when the current one\n"
     "is root.key, a new random key written over root.key.  In one transaction: every\n"
     "server-access project key is re-sealed under the new key, the audit chain continues\n"
     "under a new key with a link record 'server.root_key.rotate' (audit-logs verify checks\n"
     "the whole chain), and the store's root key check changes: servers with the old key\n"
     "refuse to start.  Then start every server with the new key.  Nothing changes on a\n"
     "failure.  See docs/deploy.md, 'Rotating the root key'.\n"},
    {"server", cmd_server, "",
     "listen data-dir database-url max-body threads log-level audit-async login-limit-ip "
     "login-limit-account tls-cert tls-key db-wait metrics-listen site-url "
     "audit-retention-days audit-archive-dir",
     "run the arca server",
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
     "See docs/tls.md.\n"
     "--audit-retention-days N (ARCA_AUDIT_RETENTION_DAYS) keeps N days of audit records in\n"
     "the store: at start and then daily the older ones are archived, as by 'arca\n"
     "audit-logs archive', to a new file in --audit-archive-dir (ARCA_AUDIT_ARCHIVE_DIR,\n"
     "required with it), and removed; each run is logged.  Off by default (docs/deploy.md,\n"
     "'Audit log retention').\n"},
    {"backup", cmd_backup, "--output FILE\n--verify FILE", "output verify data-dir database-url",
     "copy the whole store to a file, online; or check a backup",
     "Writes a consistent copy of the whole store (the SQLite store in --data-dir, or the\n"
     "PostgreSQL database of --database-url / ARCA_DATABASE_URL, chosen as by 'arca server')\n"
     "to FILE, mode 0600, atomically.  Safe while servers run on the store: the copy is one\n"
     "snapshot, writes go on.  It holds ciphertext, token hashes, names and e-mails, never\n"
     "the root key: keep ARCA_ENCRYPTION_KEY (or root.key) apart, you need it to restore\n"
     "server access and to verify the audit log.  Still sensitive: store it like a secret.\n"
     "--verify FILE checks a backup as a restore would (hash, row counts, line limit, schema\n"
     "version) without any store: exit 0 if this arca can restore it, 8 if it is damaged or\n"
     "edited, 5 if it is of another schema version.\n"},
    {"restore", cmd_restore, "--input FILE", "input data-dir database-url",
     "load a backup into an empty store",
     "Loads a backup made by 'arca backup' into an EMPTY store (a new data directory or a\n"
     "new database; a store with any row is refused, exit 7), in one transaction.  The file\n"
     "is checked whole first (its BLAKE2b, row counts, line limit of 4 MiB): a truncated or\n"
     "edited file is refused (exit 8) and nothing is written, not even a new database file or\n"
     "schema.  Use the arca version that\n"
     "made the backup (same schema), then upgrade.  Either store restores into the other:\n"
     "this is how to move from SQLite to PostgreSQL.  No server may run on the store yet.\n"},
    {"bootstrap", cmd_bootstrap, "--email EMAIL --password-stdin --organization NAME",
     "email password-stdin organization format", "create the first administrator and organization",
     "Creates the first administrator and their organization on a new server, then logs in.\n"
     "Without --password-stdin the password is asked for on the terminal.\n"},
    {"signup", cmd_signup, "--invite TOKEN --email EMAIL --password-stdin",
     "invite email password-stdin format", "create your account from an invite",
     "Creates your account from an invite (see 'arca users invite') and logs in, like login.\n"},
    {"login", cmd_login,
     "--email EMAIL --password-stdin\n--method=universal-auth --client-id ID --client-secret "
     "SECRET",
     "method email password-stdin client-id client-secret format",
     "log in (user, or machine identity)",
     "Logs in; on a terminal, without --email, it asks for the e-mail address (and always\n"
     "for the password, unless --password-stdin).  The session is kept in $ARCA_CONFIG_DIR\n"
     "(default ~/.config/arca), mode 0600.\n"
     "The password never leaves this machine: it is stretched with Argon2id here.\n"
     "--method=universal-auth logs in as a machine identity (client ID and secret also from\n"
     "ARCA_CLIENT_ID / ARCA_CLIENT_SECRET); the secret is not saved, so the session lasts\n"
     "until the token's max TTL (it is renewed on use when near expiry).\n"},
    {"logout", cmd_logout, "", "", "revoke and forget the saved session",
     "Revokes the saved session on the server and forgets it here.\n"},
    {"status", cmd_status, "", "", "ask the server whether it is up (no login)",
     "Asks the server whether it is up (GET /api/status, no login); exit 0 if it answers 200.\n"
     "The container image's HEALTHCHECK runs it.\n"},
    {"whoami", cmd_whoami, "", "format", "who is logged in, on which server",
     "Prints who is logged in (user, machine identity or service token) and the server.\n"},
    {"password change", cmd_password_change, "", "password-stdin", "change your password",
     "Asks for the current password and the new one (twice) on the terminal, or reads\n"
     "them from stdin, one line each, with --password-stdin.  The new one must meet the\n"
     "server's policy (at least 12 characters unless it says otherwise).  Your private key\n"
     "is sealed again under the new password here; nothing else changes, and the server\n"
     "never sees either password.  A forgotten password cannot be reset: see\n"
     "docs/security.md, \"Passwords: policy and recovery\".\n"},
    {"token renew", cmd_token_renew, "", "format", "renew a machine identity's access token",
     "Renews the saved machine identity session's access token (up to its max TTL).\n"},
    {"users invite", cmd_users_invite, "EMAIL", "org-role organization-id format",
     "invite a person into your organization",
     "Invites a person into your organization (organization admins).  Prints only the invite\n"
     "token on stdout; the person signs up with 'arca signup --invite TOKEN'.\n"},
    {"users list", cmd_users_list, "", "format", "list the people of your organization",
     "Lists EMAIL, ROLE (admin, member), JOINED, ID (organization admins).\n"},
    {"users remove", cmd_users_remove, "EMAIL", "yes dry-run",
     "remove a person from your organization and its projects",
     "Removes a person from your organization and from every project of it, and ends their\n"
     "sessions (organization admins).  It shows their projects and asks you to type the\n"
     "e-mail (on a terminal; elsewhere it needs --yes; --dry-run shows it only).  Not\n"
     "yourself, not the organization's last admin, nor a project's last admin (exit 7).\n"
     "The project keys they had stay known to them: rotate them ('arca projects\n"
     "rotate-key').  Without another organization their account goes, so that the\n"
     "e-mail can be invited again.\n"},
    {"invites list", cmd_invites_list, "", "format", "list your organization's invites",
     "Lists ID, EMAIL, ROLE, STATUS (pending, accepted, expired), EXPIRES (organization\n"
     "admins); never a token.\n"},
    {"invites revoke", cmd_invites_revoke, "ID", "", "revoke a pending invite",
     "Its token no longer signs anyone up (organization admins).  Exit 4 if there is no\n"
     "pending invite with that id.\n"},
    {"projects create", cmd_projects_create, "NAME", "server-access format", "create a project",
     "Creates an end-to-end encrypted project with environments dev, staging and prod.\n"
     "--server-access also hands the server a copy of the project key (see\n"
     "'arca projects update').\n"},
    {"projects update", cmd_projects_update, "ID --server-access|--no-server-access",
     "server-access format", "turn the server's copy of the project key on or off",
     "Server access (project admins): 'on' hands the server a copy of the project key,\n"
     "kept sealed under its root key, so that Infisical's SDKs and plaintext API routes\n"
     "work for this project; 'off' deletes the server's copy.  See docs/security.md.\n"},
    {"projects rename", cmd_projects_rename, "ID|SLUG NEW-NAME", "", "rename a project",
     "Changes a project's name (project admins); its id and slug stay.\n"},
    {"projects delete", cmd_projects_delete, "ID|SLUG", "yes dry-run", "delete a project for good",
     "Deletes the project and everything in it: its environments, every secret and its\n"
     "history, its members' access, roles, service tokens and imports (project admins).\n"
     "The audit log keeps its records.  It shows what goes and, on a terminal, asks you to\n"
     "type the project's slug; elsewhere it needs --yes.  --dry-run shows it only.\n"},
    {"projects list", cmd_projects_list, "", "format", "list your projects", ""},
    {"projects rotate-key", cmd_projects_rotate_key, "", "project-id yes dry-run format",
     "replace the project key (revokes its service tokens)",
     "Replaces the project key (project admins): every version of every secret is decrypted\n"
     "and re-encrypted here, and the new key is sealed to every member.  The project's service\n"
     "tokens are revoked: it lists them and asks first (on a terminal; elsewhere it needs "
     "--yes).\n"},
    {"environments list", cmd_environments_list, "", "project-id format",
     "list a project's environments", "Lists the project's environments: SLUG, NAME, POSITION.\n"},
    {"environments add", cmd_environments_add, "SLUG", "name position project-id",
     "add an environment",
     "Adds an environment (project admins).  SLUG: lowercase letters, digits and '-'; NAME\n"
     "defaults to the slug; --position N (1-1000) puts it there and moves the ones at or\n"
     "after it down (default: last).  At most 64 environments a project.\n"},
    {"environments rename", cmd_environments_rename, "SLUG --name NAME", "name position project-id",
     "change an environment's name or position",
     "Changes an environment's display name (and position).  The slug stays: stored\n"
     "secrets are encrypted bound to it.\n"},
    {"environments remove", cmd_environments_remove, "SLUG", "purge project-id yes dry-run",
     "remove an environment (--purge: with its history)",
     "Deletes an environment in which no secret was ever written.  One that holds secrets,\n"
     "or the history of deleted ones, is refused (exit 7) unless --purge: then its secrets,\n"
     "every version of them, its folders and imports are deleted for good (project admins;\n"
     "the audit log keeps its records).  It shows how many secrets and versions go and asks\n"
     "first (on a terminal, --purge: type the slug; elsewhere it needs --yes).\n"},
    {"members add", cmd_members_add, "EMAIL --role ROLE\n--identity NAME --role ROLE",
     "role identity project-id format", "add a user or machine identity to a project",
     "Adds a user of your organization or a machine identity to the project; the project key\n"
     "is sealed to their public key here.  ROLE: admin, member, viewer, no-access or a custom\n"
     "role's slug.\n"},
    {"members list", cmd_members_list, "", "project-id format", "list a project's members", ""},
    {"members update", cmd_members_update, "EMAIL|IDENTITY-NAME --role ROLE",
     "role identity project-id", "change a member's role",
     "Nobody changes their own role, nor gives, changes or removes a role with a right their\n"
     "own role lacks (exit 3); the last admin stays (exit 7).\n"},
    {"members remove", cmd_members_remove, "EMAIL|IDENTITY-NAME", "identity project-id",
     "remove a member from a project",
     "The member loses access to new versions; rotate the key ('arca projects rotate-key') so\n"
     "that what they could read before is re-encrypted under a key they never had.\n"},
    {"roles create", cmd_roles_create, "SLUG --allow SPEC [--allow SPEC ...]",
     "allow deny name project-id format", "create a custom role",
     "SPEC is SUBJECT:ACTIONS:ENVS[:PATHGLOB] for secrets and folders, SUBJECT:ACTIONS for\n"
     "members, roles, identities, service-tokens, audit-logs and settings.  ACTIONS: a comma\n"
     "list of read, create, edit, delete, describe, or *; ENVS: a comma list of slugs, or *;\n"
     "PATHGLOB default /**.  A deny rule wins over allow rules.\n"
     "e.g. --allow 'secrets:read,create,edit,delete:dev,staging:/**' --deny 'secrets:*:prod'\n"},
    {"roles update", cmd_roles_update, "SLUG [--allow SPEC ...] [--deny SPEC ...] [--name NAME]",
     "allow deny name project-id format", "change a custom role's rules or name",
     "New --allow/--deny rules replace all of the role's rules (SPEC as for 'roles create');\n"
     "its members have the new rights at their next request.  You must hold every right of\n"
     "the role as it is and as it becomes (exit 3 otherwise: nobody grants, or takes from\n"
     "others, a right they do not hold).  --name alone renames it.\n"},
    {"roles list", cmd_roles_list, "", "project-id format", "list a project's roles", ""},
    {"roles delete", cmd_roles_delete, "SLUG", "project-id", "delete a custom role", ""},
    {"identities create", cmd_identities_create, "NAME",
     "project-id role organization-id access-token-ttl access-token-max-ttl "
     "access-token-num-uses-limit trusted-ips format",
     "create a machine identity",
     "Creates a machine identity with a client secret (shown once) and, with --project-id,\n"
     "adds it to the project.  JSON: {\"identityId\", \"clientId\", \"clientSecret\", ...}.\n"
     "--access-token-num-uses-limit: requests each access token may make (0: unlimited);\n"
     "--trusted-ips: the only addresses it may log in and make requests from.\n"},
    {"identities list", cmd_identities_list, "", "format", "list machine identities", ""},
    {"identities delete", cmd_identities_delete, "NAME|ID", "", "delete a machine identity", ""},
    {"identities client-secret create", cmd_client_secret_create, "--identity NAME|ID",
     "identity description ttl num-uses-limit format",
     "make a further client secret for an identity",
     "Makes a new client secret for a machine identity and prints it once.  Organization\n"
     "admins who hold the identity's role in each of its projects (else exit 3); never the\n"
     "identity itself.  The secret comes with a new key pair (the project keys are sealed to\n"
     "it here), so the identity's other client secrets and their tokens are revoked.\n"
     "--ttl: it expires after that long (default never); --num-uses-limit: logins it allows\n"
     "(default 0: unlimited).  JSON:\n"
     "{\"clientSecretId\", \"clientSecret\", \"prefix\", \"expiresAt\", \"numUsesLimit\"}.\n"},
    {"identities client-secret list", cmd_client_secret_list, "--identity NAME|ID",
     "identity format", "list an identity's client secrets",
     "Lists the identity's client secrets (never a secret): ID, PREFIX, STATUS, USES, EXPIRES,\n"
     "DESCRIPTION.  Organization admins or the identity itself.\n"},
    {"identities client-secret revoke", cmd_client_secret_revoke, "SECRET-ID --identity NAME|ID",
     "identity", "revoke a client secret",
     "Revokes one client secret: it no longer logs in.  Organization admins; never the\n"
     "identity itself.\n"},
    {"service-token create", cmd_service_token_create, "--name NAME --env ENV",
     "name env path scope access expires-in project-id format", "create a service token",
     "Creates a service token and prints it once: st.<id>.<secret>.<key>.  The <key> part\n"
     "never reaches the server.  Use it as ARCA_TOKEN=... arca run --env ENV -- COMMAND.\n"
     "It expires in 30 days unless --expires-in says otherwise (never: --expires-in never).\n"
     "Your own role must allow each scope for every folder its PATH can match (else exit 3).\n"},
    {"service-token list", cmd_service_token_list, "", "project-id all format",
     "list a project's service tokens",
     "Lists ID, NAME, ACCESS, STATUS (active, expired, revoked), EXPIRES, SCOPES; revoked\n"
     "tokens only with --all.\n"},
    {"service-token revoke", cmd_service_token_revoke, "ID", "project-id", "revoke a service token",
     "Revokes a token (its id, or the whole token); one already revoked says so.\n"},
    {"share create", cmd_share_create, "--value-stdin\n--secret KEY --env ENV",
     SCOPE " value-stdin secret expires-in max-views password-stdin org-only format",
     "make a link that shows a value once",
     "Prints a link <site>/s/<id>#<key> that shows the value once (or N times) until it\n"
     "expires (5m to 30d, default 1d).  The value is encrypted here under a random key that\n"
     "only the link holds, after '#': the server cannot read it.  --password-stdin: the\n"
     "viewer also needs that password (read as the first line; with --value-stdin, the value\n"
     "is the rest).  --org-only: only members of your organization may open it.\n"},
    {"share open", cmd_share_open, "LINK", "password-stdin format", "open a share link",
     "Opens a share link (counts a view) and prints the value.\n"},
    {"share list", cmd_share_list, "", "format", "list your active shares",
     "Your active shares: id, created, expires, views left (never the value).\n"},
    {"share revoke", cmd_share_revoke, "ID", "", "delete a share now",
     "Deletes a share now (yours, or any of your organization's as its admin).\n"},
    {"share policy", cmd_share_policy, "", "max-lifetime anonymous format",
     "show or change your organization's rules for shares",
     "Shows the organization's rules for shares; its admins change them: the longest lifetime\n"
     "(--max-lifetime 30d) and whether shares may be opened without an account (--anonymous;\n"
     "--no-anonymous: members only).\n"},
    {"init", cmd_init, "", "project-id env", "write .arca.json: this directory uses a project",
     "Writes .arca.json in the current directory so later commands use this project (and\n"
     "--env as their default environment, \"defaultEnvironment\").  --project-id takes a\n"
     "project's id or slug; without it, on a terminal, pick one from a numbered list.\n"},
    {"secrets set", cmd_secrets_set, "KEY=VALUE [KEY=VALUE ...]\nKEY VALUE",
     SCOPE " personal type comment token format", "create or update secrets",
     "Creates or updates secrets (each write is a new version), all at once.\n"
     "KEY=@FILE reads the value from FILE.\n"
     "--personal sets your personal override of a shared secret: your own value, used for\n"
     "you only (users only; the shared secret must exist).\n"},
    {"secrets update", cmd_secrets_update, "KEY=VALUE [KEY=VALUE ...]\nKEY VALUE",
     SCOPE " personal type comment token format", "change existing secrets",
     "As 'arca secrets set', but every KEY must exist already (else exit 4, naming the\n"
     "missing ones, and nothing is written).\n"},
    {"secrets get", cmd_secrets_get, "KEY [KEY ...]",
     SCOPE " personal plain expand strict token format", "print secrets",
     "--plain prints only the values, one per line.\n"
     "--personal gets your personal override instead of the shared secret.\n"
     "--expand=false keeps ${...} references unexpanded.\n"},
    {"secrets list", cmd_secrets_list, "",
     SCOPE " show-values expand strict recursive imports include-imports token format",
     "list the secrets of a folder",
     "Your personal overrides are listed after the shared secret they override, TYPE\n"
     "personal (json: \"type\": \"personal\").\n"
     "--expand=false keeps ${...} references unexpanded.\n"
     "--recursive adds the secrets of every sub-folder (JSON says each one's path).\n"
     "--no-imports leaves out the secrets the folder imports (arca imports add).\n"},
    {"secrets delete", cmd_secrets_delete, "KEY [KEY ...]", SCOPE " personal type token",
     "delete secrets",
     "Deletes secrets (a new, deleted version: history is kept).  Deleting a shared secret\n"
     "deletes everyone's personal overrides of it; --personal deletes only your override.\n"},
    {"secrets rename", cmd_secrets_rename, "OLD NEW", SCOPE, "rename a secret",
     "Gives secret OLD the name NEW, in one transaction: NEW is created with OLD's value\n"
     "and comment (version 1), OLD gets a deleted version (its history stays, as do\n"
     "NEW's from now on); personal overrides of OLD are not carried over.  NEW must not\n"
     "exist (exit 7).\n"},
    {"secrets history", cmd_secrets_history, "KEY", SCOPE " personal show-values format",
     "list every version of a secret",
     "Lists every version of a secret, newest first: VERSION, ACTION, TIME, BY.\n"
     "--personal: the versions of your personal override.\n"},
    {"secrets rollback", cmd_secrets_rollback, "KEY --version N\n--to TIME",
     SCOPE " version to personal yes dry-run format",
     "roll a secret back to a version, or a folder to a time",
     "Writes version N of KEY again as a new version, or puts every secret of the folder back\n"
     "as it was at TIME (ISO-8601, e.g. 2026-11-29T10:00:00Z, or a duration ago: 30m, 2h).\n"
     "History is kept.  --to shows what it changes and asks first (on a terminal; elsewhere it "
     "needs --yes).\n"},
    {"run", cmd_run, "-- COMMAND [ARGS ...]\n--command 'SHELL COMMAND'",
     SCOPE " expand strict imports include-imports overrides cache token command watch grace "
           "agent-socket",
     "run a command with the secrets in its environment",
     "Runs COMMAND with the folder's secrets added to its environment.  Signals are\n"
     "forwarded to it and its exit status is passed through; no value is written to disk in "
     "clear.\n"
     "Your personal overrides replace the shared values (also in references);\n"
     "--no-overrides uses the shared values only.\n"
     "--expand=false keeps ${...} references unexpanded.\n"
     "Secrets named PATH, HOME, LD_PRELOAD, ... (see docs/cli.md) are left out, with a\n"
     "warning: they would change how COMMAND itself runs.\n"
     "When the server cannot be reached, the copy of this scope's secrets kept (encrypted) in\n"
     "~/.cache/arca from an earlier run is used, with a notice on stderr; a 401/403/404\n"
     "deletes it.  --no-cache (or ARCA_NO_CACHE=1) neither reads nor writes it.\n"
     "--no-imports leaves out the secrets the folder imports (arca imports add).\n"
     "--watch restarts COMMAND when the folder's secrets change (the server's change feed,\n"
     "then a conditional fetch; every 30 s at the latest): SIGTERM, then SIGKILL after\n"
     "--grace (default 10s).  arca exits when COMMAND exits on its own, with its status.\n"
     "--agent-socket PATH (or ARCA_AGENT_SOCKET) takes the secrets from 'arca agent' on\n"
     "this host (its 'socket'): no login, no TLS, no fetch (docs/agent.md).\n"},
    {"agent", cmd_agent, "--config FILE", "config once", "run the agent (templates, socket)",
     "Runs the agent: logs in as a machine identity, renders the config's templates to\n"
     "files (mode 0600, atomically), re-renders them when a secret changes and then runs\n"
     "their command, and serves 'arca run --agent-socket' on a Unix socket (mode 0600).\n"
     "--once (or 'once: true'): render once and exit (a Kubernetes init container).\n"
     "Exit codes: 3 the credentials were refused (revoked), 5 a bad config.  The config\n"
     "(YAML or JSON) is described in docs/agent.md.\n"},
    {"export", cmd_export, "",
     SCOPE " format output-file expand strict imports include-imports overrides cache token",
     "write the secrets as dotenv, json, yaml or csv",
     "--format dotenv, dotenv-export, dotenv-eval, json, yaml or csv.\n"
     "dotenv output reads back identically with the dotenv package and with sh\n"
     "(set -a; . ./file); dotenv-eval is for eval \"$(arca export --format dotenv-eval)\".  "
     "--output-file is written atomically with mode 0600.\n"
     "Your personal overrides replace the shared values; --no-overrides: shared only.\n"
     "--expand=false keeps ${...} references unexpanded.\n"
     "When the server cannot be reached, the copy of this scope's secrets kept (encrypted) in\n"
     "~/.cache/arca from an earlier run is used, with a notice on stderr; a 401/403/404\n"
     "deletes it.  --no-cache (or ARCA_NO_CACHE=1) neither reads nor writes it.\n"
     "--no-imports leaves out the secrets the folder imports (arca imports add).\n"},
    {"folders list", cmd_folders_list, "", SCOPE " recursive format", "list folders",
     "Lists the sub-folders of --path (every descendant with --recursive).  A folder exists\n"
     "once a secret is written in it or below it, or once it is created.\n"},
    {"folders create", cmd_folders_create, "NAME", SCOPE, "create a folder",
     "Creates folder NAME (letters, digits, '-', '_') in --path, and missing parents.\n"
     "Folders cannot be renamed: values are sealed to their path.\n"},
    {"folders delete", cmd_folders_delete, "PATH", "env project-id yes dry-run",
     "delete a folder and everything below it",
     "Deletes folder PATH and everything below it: each secret gets a deleted version\n"
     "(history is kept, 'arca secrets history' shows it) and the folders' imports go.\n"
     "It lists the secrets it deletes and asks first (on a terminal; elsewhere it needs --yes).\n"},
    {"imports list", cmd_imports_list, "", SCOPE " format", "list what a folder imports",
     "Lists what the folder imports, by position (a higher position wins).\n"},
    {"imports add", cmd_imports_add, "--from ENV:PATH", SCOPE " from format",
     "make a folder see another folder's secrets",
     "Makes the folder see the secrets of ENV:PATH below its own: its own secrets win, and\n"
     "the import added last wins over earlier ones.  Needs 'folders edit' here and\n"
     "'secrets read' on ENV:PATH.  Prints the import's id.\n"},
    {"imports remove", cmd_imports_remove, "ID", "project-id", "remove an import",
     "Removes an import (see 'arca imports list').\n"},
    {"audit-logs list", cmd_audit_logs_list, "", "project-id event actor since until limit format",
     "list audit log records",
     "Without --project-id: the whole organization's log (organization admins).  --event is\n"
     "exact or a prefix ending in '.' (secret.); T is ISO-8601 or a duration ago (24h).\n"},
    {"audit-logs export", cmd_audit_logs_export, "", "project-id event actor since until",
     "print audit log records as JSON lines", "Prints every matching record as one JSON line.\n"},
    {"audit-logs verify", cmd_audit_logs_verify, "\n--archive FILE",
     "format archive data-dir database-url", "check the audit log's hash chain, or an archive",
     "Checks the audit log's hash chain (organization admins), across root key rotations;\n"
     "exit 8 if it was tampered with, or written by a server with another root key (told\n"
     "apart: 'cause' is \"tampered\" or \"wrong-key\").  After an archive the log starts at\n"
     "the archive's anchor: the first record must link to it, and an 'audit.archive' record\n"
     "must name it (else records were removed without an archive: exit 8).\n"
     "--archive FILE checks a file of 'arca audit-logs archive' instead, on the store (as\n"
     "'arca backup': --data-dir or --database-url, and the root key, whose chain keys it\n"
     "recomputes the records' hashes with): exit 0 if intact, 8 if edited or truncated.\n"},
    {"audit-logs archive", cmd_audit_logs_archive, "--before TIME --output FILE",
     "before output data-dir database-url yes dry-run",
     "move the audit records before a time to a file",
     "Writes the audit records before TIME (ISO-8601, or a duration ago: 90d) to FILE\n"
     "(gzip of JSON lines, mode 0600, with the chain's anchor hash), checks the file read\n"
     "back from disk, then removes the records from the store, 10,000 a transaction, each\n"
     "appending an 'audit.archive' record and its anchor: 'audit-logs verify'\n"
     "checks the rest from there, 'audit-logs verify --archive FILE' the file.  Nothing is\n"
     "removed unless the file was written, synced and verified.  A log that does not verify\n"
     "is not archived (exit 8).  At most 1,000,000 records a file: it says when more are\n"
     "older (run it again).  Runs on the store, as 'arca backup' (--data-dir or\n"
     "--database-url, servers may run), with the root key (ARCA_ENCRYPTION_KEY or root.key):\n"
     "removing audit records takes the operator, not an account.  Shows what it will do and\n"
     "asks (--yes, --dry-run).  Keep the file like the database.  Servers can do this by\n"
     "themselves: 'arca server --audit-retention-days N' (docs/deploy.md).\n"},
    {"completion", cmd_completion, "bash|zsh|fish", "", "print a shell completion script",
     "Prints the completion script for the shell, made from the same table as --help:\n"
     "  bash: source <(arca completion bash)    (or into /etc/bash_completion.d/arca)\n"
     "  zsh:  arca completion zsh > \"${fpath[1]}/_arca\"\n"
     "  fish: arca completion fish > ~/.config/fish/completions/arca.fish\n"},
    {"man", cmd_man, "", "", "print the arca(1) man page (roff)",
     "Prints the man page, made from the same table as --help (the build installs it as\n"
     "arca.1): arca man | man -l -\n"},
    {"help", cmd_help, "[COMMAND ...]", "", "print the help of arca or of a command",
     "arca help COMMAND is arca COMMAND --help.\n"},
    {"import", cmd_import, "FILE", SCOPE " yes dry-run", "store the keys of a .env file",
     "Reads a .env file (as the dotenv package does) and stores every key, all at once.\n"
     "When it replaces the value of more than one existing secret it lists them and asks\n"
     "first (on a terminal; elsewhere it needs --yes).\n"},
};
const size_t cli_n_commands = ELEMENTSOF(cli_commands);

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

/* A group's words with no (or an unknown) subcommand: lists its subcommands. */
static int group_help(int argc, char **argv, int group)
{
    bool help =
        argc > group + 1 && (streq(argv[group + 1], "--help") || streq(argv[group + 1], "-h"));
    FILE *f = help ? stdout : stderr;
    const char *rest, *sep = "";
    char words[256] = "";

    for (int w = 1; w <= group; w++)
        snprintf(words + strlen(words), sizeof(words) - strlen(words), "%s%s", w > 1 ? " " : "",
                 argv[w]);
    if (!help && argc > group + 1) {
        char typed[256];
        const char *guess;
        snprintf(typed, sizeof(typed), "%s %s", words, argv[group + 1]);
        guess = cli_did_you_mean(typed);
        fprintf(f, "arca: error: unknown command 'arca %s'\n", typed);
        if (guess)
            fprintf(f, "arca: hint: did you mean 'arca %s'?\n", guess);
        else
            fprintf(f, "arca: hint: run 'arca %s --help'\n", words);
        return EXIT_USAGE;
    }
    fprintf(f,
            help ? "subcommands of 'arca %s': " : "arca: error: 'arca %s' needs one of: ", words);
    for (size_t i = 0; i < cli_n_commands; i++)
        if (group_words(cli_commands[i].name, argc, argv, &rest) == group) {
            fprintf(f, "%s%s", sep, rest);
            sep = ", ";
        }
    fputc('\n', f);
    if (!help)
        fprintf(f, "arca: hint: run 'arca %s SUBCOMMAND --help'\n", words);
    return help ? EXIT_OK : EXIT_USAGE;
}

/* The argv arrays main makes (flags_after_command, `arca help CMD`): the
 * command's strings are read through them until the process exits, when
 * free_argvs releases them. */
static char **made_argv[2];

static void free_argvs(void)
{
    free(made_argv[0]);
    free(made_argv[1]);
}

/* Moves the flags before the command words ("arca --format json secrets list")
 * after them, so that global flags work anywhere on the line.  Returns the
 * new argv (argc entries, NULL-terminated; kept in made_argv), NULL on a
 * flag that needs a value and has none. */
static char **flags_after_command(int argc, char **argv)
{
    char **out = calloc((size_t)argc + 1, sizeof(*out));
    int lead = 1, n = 1;

    if (!out)
        return NULL;
    while (lead < argc && argv[lead][0] == '-' && argv[lead][1] && !streq(argv[lead], "--")) {
        const char *name = argv[lead] + (argv[lead][1] == '-' ? 2 : 1);
        const struct cli_option *o = NULL;

        if (argv[lead][1] == '-')
            o = cli_option_find(name, strcspn(name, "="));
        else
            for (size_t k = 0; k < cli_n_options && !o; k++)
                if (cli_options[k].short_name == name[0] && !name[1])
                    o = &cli_options[k];
        lead++;
        if (o && (o->kind == CLI_OPT_VALUE || o->kind == CLI_OPT_REPEAT) && !strchr(name, '=') &&
            argv[lead - 1][1] == '-')
            lead++;
        else if (o && (o->kind == CLI_OPT_VALUE || o->kind == CLI_OPT_REPEAT) && !name[1])
            lead++;
    }
    if (lead > argc) {
        free(out);
        return NULL;
    }
    out[0] = argv[0];
    /* the command words, then the leading flags, then the rest */
    int words = lead;
    while (words < argc && argv[words][0] != '-')
        words++;
    for (int i = lead; i < words; i++)
        out[n++] = argv[i];
    for (int i = 1; i < lead; i++)
        out[n++] = argv[i];
    for (int i = words; i < argc; i++)
        out[n++] = argv[i];
    out[n] = NULL;
    made_argv[0] = out;
    return out;
}

int main(int argc, char **argv)
{
    struct cli c = {.prog = "arca"};
    int group = 0;
    const char *rest;

    atexit(free_argvs);
    if (argc >= 2 && argv[1][0] == '-' && !streq(argv[1], "--help") && !streq(argv[1], "-h") &&
        !streq(argv[1], "--version")) {
        argv = flags_after_command(argc, argv);
        if (!argv) {
            cli_error("run 'arca --help'", "a flag before the command needs a value");
            return EXIT_USAGE;
        }
    }
    if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") ||
        (streq(argv[1], "help") &&
         (argc == 2 || streq(argv[2], "--help") || streq(argv[2], "-h")))) {
        cli_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (streq(argv[1], "version") || streq(argv[1], "--version")) {
        printf("arca %s\nschema version %d (the store's; 'arca server' migrates an older one)\n"
               "build %s\n",
               ARCA_VERSION, store_schema_version(), ARCA_BUILD);
        return EXIT_OK;
    }
    if (streq(argv[1], "help") && argv[2][0] == '-') {
        cli_error("arca help [COMMAND ...]", "'arca help' takes no flag but --help");
        return EXIT_USAGE;
    }
    if (streq(argv[1], "help")) { /* arca help CMD ...: arca CMD ... --help */
        char **h = calloc((size_t)argc + 1, sizeof(*h));
        if (!h)
            return EXIT_FAIL;
        memcpy(h, argv + 1, sizeof(*h) * (size_t)(argc - 1));
        h[0] = argv[0];
        h[argc - 1] = (char *)"--help";
        argv = made_argv[1] = h;
    }
    for (size_t i = 0; i < cli_n_commands; i++) {
        int words = command_words(cli_commands[i].name, argc, argv);

        if (words == 0) {
            int g = group_words(cli_commands[i].name, argc, argv, &rest);
            if (g > group)
                group = g;
            continue;
        }
        c.command = cli_commands[i].name;
        c.flags = cli_commands[i].flags;
        c.args_spec = cli_commands[i].args;
        if (cli_parse(&c, argc, argv, 1 + words) < 0)
            return EXIT_USAGE;
        if (c.help) {
            cli_command_help(stdout, &cli_commands[i]);
            return EXIT_OK;
        }
        return cli_commands[i].run(&c);
    }
    if (group)
        return group_help(argc, argv, group);
    char typed[256] = "";
    for (int i = 1; i < argc && i <= 3 && argv[i][0] != '-'; i++)
        snprintf(typed + strlen(typed), sizeof(typed) - strlen(typed), "%s%s", i > 1 ? " " : "",
                 argv[i]);
    const char *guess = cli_did_you_mean(typed);
    if (guess)
        fprintf(stderr, "arca: error: unknown command '%s'\narca: hint: did you mean 'arca %s'?\n",
                argv[1], guess);
    else
        fprintf(stderr, "arca: error: unknown command '%s'\narca: hint: run 'arca --help'\n",
                argv[1]);
    return EXIT_USAGE;
}
