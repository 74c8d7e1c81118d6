-- 0001_init.sql (PostgreSQL) - the first schema: users, organizations,
-- sessions, projects, environments, project members, secrets and their
-- version history.  The same schema as migrations/0001_init.sql, in
-- PostgreSQL's dialect:
--
--   TEXT ids and names are COLLATE "C", so that comparisons and ORDER BY are
--   byte order, as SQLite's BINARY is (and lower() folds ASCII only, as
--   SQLite's NOCASE does); INTEGER is BIGINT (times in ms); BLOB is BYTEA.
--
-- Applied inside one transaction by store_pg.c, which records it in
-- schema_migrations.  Do not put BEGIN/COMMIT here.

CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY,
    email TEXT COLLATE "C" NOT NULL,        -- unique ignoring ASCII case (index below)
    auth_hash BYTEA NOT NULL CHECK (length(auth_hash) = 32), -- hash of the authentication key
    kdf_salt BYTEA NOT NULL,                -- Argon2id salt
    kdf_opslimit BIGINT NOT NULL,
    kdf_memlimit BIGINT NOT NULL,
    public_key BYTEA NOT NULL,              -- X25519
    encrypted_private_key BYTEA NOT NULL,   -- sealed under the client's KEK
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email_nocase ON users (lower(email));

CREATE TABLE orgs (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    slug TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Users of an organization.  Machine identities get their own table later.
CREATE TABLE org_members (
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT COLLATE "C" NOT NULL,         -- 'admin', 'member'
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_by_user ON org_members (user_id);

-- Login sessions; only the hash of the token is kept.
CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE projects (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    slug TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE environments (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    slug TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    position BIGINT NOT NULL,
    UNIQUE (project_id, slug),
    UNIQUE (project_id, id)                 -- target of secrets' (project_id, env_id) key
);

-- principal_id is a user id today, a machine identity id later: no foreign
-- key to users on purpose.
CREATE TABLE project_members (
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    principal_id TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL,         -- built-in role name or custom role slug
    wrapped_key BYTEA,                      -- project key sealed to the principal; NULL = not yet shared
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, principal_id)
);
CREATE INDEX project_members_by_principal ON project_members (principal_id);

-- The current state of every secret ever written.  A deleted secret keeps its
-- row with value NULL, so that writing it again continues its version numbers.
-- type 'personal' (an override owned by owner_id) is reserved for later.
CREATE TABLE secrets (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    env_id TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL,         -- canonical folder path, '/' is the root
    key TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL DEFAULT 'shared' CHECK (type IN ('shared', 'personal')),
    owner_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    version BIGINT NOT NULL CHECK (version >= 1),
    value BYTEA,                            -- ciphertext record; NULL = deleted
    comment BYTEA,                          -- ciphertext record or NULL
    updated_at BIGINT NOT NULL,
    updated_by TEXT COLLATE "C" NOT NULL,
    CHECK ((type = 'shared') = (owner_id = '')),
    UNIQUE (env_id, path, key, type, owner_id),
    FOREIGN KEY (project_id, env_id) REFERENCES environments (project_id, id) ON DELETE CASCADE
);
CREATE INDEX secrets_by_project ON secrets (project_id);

-- Append-only history: one row per write, deletes included (value NULL).
CREATE TABLE secret_versions (
    secret_id TEXT COLLATE "C" NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    value BYTEA,                            -- NULL = tombstone
    comment BYTEA,
    created_at BIGINT NOT NULL,
    actor_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (secret_id, version)
);

-- Raises the trigger's first argument: the append-only guards below.
CREATE FUNCTION arca_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER secret_versions_append_only BEFORE UPDATE ON secret_versions
FOR EACH ROW EXECUTE FUNCTION arca_refuse('secret_versions is append-only');
