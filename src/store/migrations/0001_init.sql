-- 0001_init.sql - the first schema: users, organizations, sessions, projects,
-- environments, project members, secrets and their version history.
--
-- Conventions: ids are TEXT UUID strings (made by the server, or by the store
-- for secrets), declared NOT NULL because SQLite lets a non-integer PRIMARY KEY
-- be NULL otherwise; times are INTEGER milliseconds since the epoch; hashes,
-- keys and ciphertext are BLOB.  The store never sees a plaintext value.
--
-- Applied inside one transaction by store_sqlite.c, which records it in
-- schema_migrations.  Do not put BEGIN/COMMIT or PRAGMAs here.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL COLLATE NOCASE UNIQUE,
    auth_hash BLOB NOT NULL CHECK (length(auth_hash) = 32), -- hash of the authentication key
    kdf_salt BLOB NOT NULL,                 -- Argon2id salt
    kdf_opslimit INTEGER NOT NULL,
    kdf_memlimit INTEGER NOT NULL,
    public_key BLOB NOT NULL,               -- X25519
    encrypted_private_key BLOB NOT NULL,    -- sealed under the client's KEK
    created_at INTEGER NOT NULL
);

CREATE TABLE orgs (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Users of an organization.  Machine identities get their own table later.
CREATE TABLE org_members (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,                     -- 'admin', 'member'
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_by_user ON org_members (user_id);

-- Login sessions; only the hash of the token is kept.
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE environments (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    UNIQUE (project_id, slug),
    UNIQUE (project_id, id)                 -- target of secrets' (project_id, env_id) key
);

-- principal_id is a user id today, a machine identity id later: no foreign
-- key to users on purpose.
CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL,
    role TEXT NOT NULL,                     -- built-in role name or custom role slug
    wrapped_key BLOB,                       -- project key sealed to the principal; NULL = not yet shared
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, principal_id)
);
CREATE INDEX project_members_by_principal ON project_members (principal_id);

-- The current state of every secret ever written.  A deleted secret keeps its
-- row with value NULL, so that writing it again continues its version numbers.
-- type 'personal' (an override owned by owner_id) is reserved for later.
-- The unique key's index also serves "secrets of (env_id, path) ordered by key".
CREATE TABLE secrets (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    env_id TEXT NOT NULL,
    path TEXT NOT NULL,                     -- canonical folder path, '/' is the root
    key TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'shared' CHECK (type IN ('shared', 'personal')),
    owner_id TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL CHECK (version >= 1),
    value BLOB,                             -- ciphertext record; NULL = deleted
    comment BLOB,                           -- ciphertext record or NULL
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    CHECK ((type = 'shared') = (owner_id = '')),
    UNIQUE (env_id, path, key, type, owner_id),
    FOREIGN KEY (project_id, env_id) REFERENCES environments (project_id, id) ON DELETE CASCADE
);
CREATE INDEX secrets_by_project ON secrets (project_id);

-- Append-only history: one row per write, deletes included (value NULL).
CREATE TABLE secret_versions (
    secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    value BLOB,                             -- NULL = tombstone
    comment BLOB,
    created_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    PRIMARY KEY (secret_id, version)
);

CREATE TRIGGER secret_versions_append_only BEFORE UPDATE ON secret_versions
BEGIN
    SELECT RAISE(ABORT, 'secret_versions is append-only');
END;
