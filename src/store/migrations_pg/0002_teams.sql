-- 0002_teams.sql (PostgreSQL) - teams and machines: invitations, login
-- lockout, custom project roles, machine identities (client secrets, access
-- tokens), service tokens, project key rotation and the hash-chained audit
-- log.  The same schema as migrations/0002_teams.sql; conventions of 0001.

-- Login lockout: failures in a row, and the end of the current lock (0 = none).
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;

-- Members are users or machine identities; the rows of 0001 are users.
-- principal_id still has no foreign key (it points into one of two tables):
-- deleting an identity deletes its memberships explicitly (store_pg.c).
ALTER TABLE project_members ADD COLUMN principal_type TEXT COLLATE "C" NOT NULL DEFAULT 'user'
    CHECK (principal_type IN ('user', 'identity'));
CREATE INDEX project_members_by_role ON project_members (project_id, role);

-- Invitations to an organization; accepting creates the user.
CREATE TABLE org_invites (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email TEXT COLLATE "C" NOT NULL,        -- compared ignoring ASCII case
    org_role TEXT COLLATE "C" NOT NULL CHECK (org_role IN ('admin', 'member')),
    token_hash BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_by TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT NOT NULL DEFAULT 0   -- 0 while pending
);
CREATE INDEX org_invites_by_org ON org_invites (org_id);

-- Custom project roles; built-in roles (admin, member, viewer, no-access)
-- are not stored.  rules is the authz JSON array text.
CREATE TABLE project_roles (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    slug TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    rules TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, slug)
);

-- Machine identities (universal auth).
CREATE TABLE identities (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    public_key BYTEA NOT NULL,              -- X25519
    client_id TEXT COLLATE "C" NOT NULL UNIQUE,
    access_token_ttl BIGINT NOT NULL,       -- seconds
    access_token_max_ttl BIGINT NOT NULL,   -- seconds
    access_token_num_uses_limit BIGINT NOT NULL DEFAULT 0, -- 0 = unlimited
    trusted_ips TEXT COLLATE "C" NOT NULL DEFAULT '', -- comma-separated CIDRs, '' = any
    created_by TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE identity_client_secrets (
    id TEXT COLLATE "C" PRIMARY KEY,
    identity_id TEXT COLLATE "C" NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    auth_hash BYTEA NOT NULL CHECK (length(auth_hash) = 32),
    encrypted_private_key BYTEA NOT NULL,   -- identity private key under the secret's KEK
    prefix TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL DEFAULT 0,   -- 0 = never
    num_uses BIGINT NOT NULL DEFAULT 0,
    num_uses_limit BIGINT NOT NULL DEFAULT 0, -- 0 = unlimited
    revoked BIGINT NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE INDEX identity_client_secrets_by_identity ON identity_client_secrets (identity_id);

CREATE TABLE identity_access_tokens (
    token_hash BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    identity_id TEXT COLLATE "C" NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    client_secret_id TEXT COLLATE "C" NOT NULL
        REFERENCES identity_client_secrets (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,             -- expired when <= now
    max_expires_at BIGINT NOT NULL,         -- renewals never go past it
    num_uses BIGINT NOT NULL DEFAULT 0,
    num_uses_limit BIGINT NOT NULL DEFAULT 0, -- 0 = unlimited
    revoked BIGINT NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE INDEX identity_access_tokens_by_identity ON identity_access_tokens (identity_id);
CREATE INDEX identity_access_tokens_by_secret ON identity_access_tokens (client_secret_id);

-- Project service tokens: the hash of the <secret> part, and the project key
-- sealed under the <key> part.  Rotating the project key revokes them all.
CREATE TABLE service_tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    secret_hash BYTEA NOT NULL CHECK (length(secret_hash) = 32),
    scopes TEXT COLLATE "C" NOT NULL,       -- JSON [{"environment", "secretPath"}]
    read_write BIGINT NOT NULL DEFAULT 0 CHECK (read_write IN (0, 1)),
    wrapped_key BYTEA NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL DEFAULT 0,   -- 0 = never
    revoked BIGINT NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE INDEX service_tokens_by_project ON service_tokens (project_id);

-- The audit log: append-only, each row carries the hash of the one before
-- (zeros for the first) and its own hash, both computed by the server.  seq
-- is assigned by store_pg.c under a transaction-scoped advisory lock (one
-- chain across every server on the database); rows are never deleted, so a
-- seq is never reused.  Optional text fields are NULL when absent, so records
-- read back exactly as they were hashed.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY CHECK (seq >= 1),
    time BIGINT NOT NULL,
    actor_type TEXT COLLATE "C" NOT NULL,   -- 'user', 'identity', 'service', 'anonymous'
    actor_id TEXT COLLATE "C" NOT NULL,
    actor_name TEXT COLLATE "C",
    event TEXT COLLATE "C" NOT NULL,        -- e.g. 'secret.read'
    org_id TEXT COLLATE "C" NOT NULL,
    project_id TEXT COLLATE "C" NOT NULL,
    environment TEXT COLLATE "C",
    path TEXT COLLATE "C",
    key TEXT COLLATE "C",
    ip TEXT COLLATE "C",
    user_agent TEXT COLLATE "C",
    outcome TEXT COLLATE "C",               -- 'success', 'denied', 'failure'
    metadata TEXT COLLATE "C",              -- JSON object text
    prev_hash BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash BYTEA NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_log_by_org ON audit_log (org_id, seq);
CREATE INDEX audit_log_by_project ON audit_log (project_id, seq);
CREATE INDEX audit_log_by_actor_id ON audit_log (actor_id, seq);
CREATE INDEX audit_log_by_actor_name ON audit_log (actor_name, seq);
CREATE INDEX audit_log_by_event ON audit_log (event, seq);
CREATE INDEX audit_log_by_time ON audit_log (time);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION arca_refuse('audit_log is append-only');
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION arca_refuse('audit_log is append-only');
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION arca_refuse('audit_log is append-only');

-- secret_versions stays append-only except for project key rotation, which
-- re-encrypts value and comment in place.  Every other column stays frozen,
-- and a rotation can neither revive a tombstone nor turn a version into one.
DROP TRIGGER secret_versions_append_only ON secret_versions;
CREATE TRIGGER secret_versions_append_only
BEFORE UPDATE OF secret_id, version, created_at, actor_id ON secret_versions
FOR EACH ROW EXECUTE FUNCTION arca_refuse('secret_versions is append-only');
CREATE TRIGGER secret_versions_rekey_keeps_tombstones
BEFORE UPDATE OF value ON secret_versions
FOR EACH ROW WHEN ((OLD.value IS NULL) <> (NEW.value IS NULL))
EXECUTE FUNCTION arca_refuse('secret_versions: a rekey keeps tombstones');
