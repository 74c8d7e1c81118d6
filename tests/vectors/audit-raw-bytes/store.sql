PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
INSERT INTO schema_migrations VALUES(1,'init',1796564207614);
INSERT INTO schema_migrations VALUES(2,'teams',1796564207616);
INSERT INTO schema_migrations VALUES(3,'revoke_tokens',1796564207616);
INSERT INTO schema_migrations VALUES(4,'server_access',1796564207616);
INSERT INTO schema_migrations VALUES(5,'folders_imports',1796564207616);
INSERT INTO schema_migrations VALUES(8,'root_keys',1796564207616);
INSERT INTO schema_migrations VALUES(9,'shares',1796564207616);
INSERT INTO schema_migrations VALUES(10,'audit_hot_path',1796564207616);
INSERT INTO schema_migrations VALUES(11,'audit_archives',1796564207617);
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
, failed_logins INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0);
INSERT INTO users VALUES('1b37b15c-733f-48bd-b913-6a30e78d0575','raw@example.com',X'b4e4172b3b45b6271523dfd443113d82badbebc0a4710b0ba4a7f130a47fff01',X'f247de53a192940a560f380b89c5ff33',3,67108864,X'235f07cb54479a13cbf88c1b1b77957ba469cd20ae4f14408e08e7475b0fc827',X'014b3b7f6d7b6ec533cdb57c83acb3ba7f3b6fcce719cbb86dcc658246b96817227f4001e6368790ede12c5b32fe805ecfa2731a0514206feeb915b2812a662226602f1692b9f02bfc',1796564207752,0,0);
CREATE TABLE orgs (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
INSERT INTO orgs VALUES('167a82fd-d5d5-4a95-8866-fe42e258e78b','acme','acme',1796564207752);
CREATE TABLE org_members (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,                     -- 'admin', 'member'
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
INSERT INTO org_members VALUES('167a82fd-d5d5-4a95-8866-fe42e258e78b','1b37b15c-733f-48bd-b913-6a30e78d0575','admin',1796564207752);
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
INSERT INTO sessions VALUES(X'e75793955371f6ba83257c6370279048a9f40bc1f8ead54811f0f4a7efbfdf3c','1b37b15c-733f-48bd-b913-6a30e78d0575',1796564207754,1797169007754);
INSERT INTO sessions VALUES(X'31d239b777ff0cf4745525d262c3c0e76aaf9751682e4c32862428fae922d1f7','1b37b15c-733f-48bd-b913-6a30e78d0575',1796564207887,1797169007887);
CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    created_at INTEGER NOT NULL, server_key BLOB,
    UNIQUE (org_id, slug)
);
INSERT INTO projects VALUES('c22a1aec-26cc-4ef2-ab0c-16f800453201','167a82fd-d5d5-4a95-8866-fe42e258e78b','raw-bytes','raw-bytes',1796564207900,NULL);
CREATE TABLE environments (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    UNIQUE (project_id, slug),
    UNIQUE (project_id, id)                 -- target of secrets' (project_id, env_id) key
);
INSERT INTO environments VALUES('53028307-1f19-422b-8d56-8017327912e6','c22a1aec-26cc-4ef2-ab0c-16f800453201','dev','Development',1);
INSERT INTO environments VALUES('a71a515e-ac26-48ca-9c91-aff9ffc1b495','c22a1aec-26cc-4ef2-ab0c-16f800453201','staging','Staging',2);
INSERT INTO environments VALUES('13d1e0d5-a730-43f9-a157-126b6f7024a7','c22a1aec-26cc-4ef2-ab0c-16f800453201','prod','Production',3);
CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL,
    role TEXT NOT NULL,                     -- built-in role name or custom role slug
    wrapped_key BLOB,                       -- project key sealed to the principal; NULL = not yet shared
    created_at INTEGER NOT NULL, principal_type TEXT NOT NULL DEFAULT 'user'
    CHECK (principal_type IN ('user', 'identity')),
    PRIMARY KEY (project_id, principal_id)
);
INSERT INTO project_members VALUES('c22a1aec-26cc-4ef2-ab0c-16f800453201','1b37b15c-733f-48bd-b913-6a30e78d0575','admin',X'436f842179f3b810cdb330d918c8f7852633fcbd1ebc76cdb6de61c27a6396676707ba43d2a236fe63c2cafbc7101efa55111f356968a326c560165429b9311247d5929b4583e0b37ae873d4ab93c58a',1796564207900,'user');
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
CREATE TABLE secret_versions (
    secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    value BLOB,                             -- NULL = tombstone
    comment BLOB,
    created_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    PRIMARY KEY (secret_id, version)
);
CREATE TABLE org_invites (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email TEXT NOT NULL COLLATE NOCASE,
    org_role TEXT NOT NULL CHECK (org_role IN ('admin', 'member')),
    token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_at INTEGER NOT NULL DEFAULT 0  -- 0 while pending
);
CREATE TABLE project_roles (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    rules TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, slug)
);
CREATE TABLE identities (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    public_key BLOB NOT NULL,               -- X25519
    client_id TEXT NOT NULL UNIQUE,
    access_token_ttl INTEGER NOT NULL,      -- seconds
    access_token_max_ttl INTEGER NOT NULL,  -- seconds
    access_token_num_uses_limit INTEGER NOT NULL DEFAULT 0, -- 0 = unlimited
    trusted_ips TEXT NOT NULL DEFAULT '',   -- comma-separated CIDRs, '' = any
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (org_id, name)
);
CREATE TABLE identity_client_secrets (
    id TEXT PRIMARY KEY NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    auth_hash BLOB NOT NULL CHECK (length(auth_hash) = 32),
    encrypted_private_key BLOB NOT NULL,    -- identity private key under the secret's KEK
    prefix TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL DEFAULT 0,  -- 0 = never
    num_uses INTEGER NOT NULL DEFAULT 0,
    num_uses_limit INTEGER NOT NULL DEFAULT 0, -- 0 = unlimited
    revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE TABLE identity_access_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    client_secret_id TEXT NOT NULL REFERENCES identity_client_secrets (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,            -- expired when <= now
    max_expires_at INTEGER NOT NULL,        -- renewals never go past it
    num_uses INTEGER NOT NULL DEFAULT 0,
    num_uses_limit INTEGER NOT NULL DEFAULT 0, -- 0 = unlimited
    revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE TABLE service_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),
    scopes TEXT NOT NULL,                   -- JSON [{"environment", "secretPath"}]
    read_write INTEGER NOT NULL DEFAULT 0 CHECK (read_write IN (0, 1)),
    wrapped_key BLOB NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL DEFAULT 0,  -- 0 = never
    revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    actor_type TEXT NOT NULL,               -- 'user', 'identity', 'service', 'anonymous'
    actor_id TEXT NOT NULL,
    actor_name TEXT,
    event TEXT NOT NULL,                    -- e.g. 'secret.read'
    org_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    environment TEXT,
    path TEXT,
    key TEXT,
    ip TEXT,
    user_agent TEXT,
    outcome TEXT,                           -- 'success', 'denied', 'failure'
    metadata TEXT,                          -- JSON object text
    prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash BLOB NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_log VALUES(1,1796564207753,'user','1b37b15c-733f-48bd-b913-6a30e78d0575','raw@example.com','auth.bootstrap','167a82fd-d5d5-4a95-8866-fe42e258e78b','','','','','127.0.0.1','arca/0.1.0','success','{}',X'0000000000000000000000000000000000000000000000000000000000000000',X'3204d73b53d1ca57ddb1a89605c797c4c0fe93528f327ed2d37243425843e20b');
INSERT INTO audit_log VALUES(2,1796564207887,'user','1b37b15c-733f-48bd-b913-6a30e78d0575','raw@example.com','auth.login','167a82fd-d5d5-4a95-8866-fe42e258e78b','','','','','127.0.0.1','arca/0.1.0','success','{}',X'3204d73b53d1ca57ddb1a89605c797c4c0fe93528f327ed2d37243425843e20b',X'aca3a401c304f254c34b3e71f75ea0998dff8b10a6af275967fbc32b11eba73f');
INSERT INTO audit_log VALUES(3,1796564207901,'user','1b37b15c-733f-48bd-b913-6a30e78d0575','raw@example.com','project.create','167a82fd-d5d5-4a95-8866-fe42e258e78b','c22a1aec-26cc-4ef2-ab0c-16f800453201','','','','127.0.0.1','arca/0.1.0','success','{"serverAccess":false,"slug":"raw-bytes"}',X'aca3a401c304f254c34b3e71f75ea0998dff8b10a6af275967fbc32b11eba73f',X'2a033eafc8b1694e0733779da68f0bd2c9edc487feb35160a4df97b7adec0510');
INSERT INTO audit_log VALUES(4,1796564207907,'user','1b37b15c-733f-48bd-b913-6a30e78d0575','raw@example.com','user.key.read','','','','','','127.0.0.1','badÿþ-Ã©','success','{}',X'2a033eafc8b1694e0733779da68f0bd2c9edc487feb35160a4df97b7adec0510',X'85777ed391d701dbdb0f76340ae74a8d78094549e8ef7610bd5ec804b98102b4');
CREATE TABLE folders (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    env_id TEXT NOT NULL,
    path TEXT NOT NULL,                     -- canonical, '/' is the root
    created_at INTEGER NOT NULL,
    UNIQUE (env_id, path),
    FOREIGN KEY (project_id, env_id) REFERENCES environments (project_id, id) ON DELETE CASCADE
);
CREATE TABLE secret_imports (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    env_id TEXT NOT NULL,
    path TEXT NOT NULL,
    import_env_id TEXT NOT NULL,
    import_path TEXT NOT NULL,
    position INTEGER NOT NULL CHECK (position >= 1),
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (env_id, path, import_env_id, import_path),
    FOREIGN KEY (project_id, env_id) REFERENCES environments (project_id, id) ON DELETE CASCADE,
    FOREIGN KEY (project_id, import_env_id) REFERENCES environments (project_id, id)
        ON DELETE CASCADE
);
CREATE TABLE root_keys (
    generation INTEGER PRIMARY KEY NOT NULL,
    key_check BLOB NOT NULL,
    audit_key BLOB NOT NULL,
    first_seq INTEGER NOT NULL,                 -- the first audit record chained with it
    created_at INTEGER NOT NULL
);
INSERT INTO root_keys VALUES(1,X'9a5191e23c969c6b39a21b06a035aea63491f59e8d8f77466bcbfc0e07d7b5f4',X'01b0ca29fc16e2aadd3049e8acbb5616c70dea46e6ee2c20205b0743d833f1acff05eb2cd29205325c7ac3ebc928d1d714d2fb5a8d39759e2ec7a8665ca2a578a5253942196c12ecaf',1,1796564207619);
CREATE TABLE shares (
    id TEXT PRIMARY KEY NOT NULL,          -- 22 characters of base64url, made by the client
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,              -- user or identity id
    ciphertext BLOB NOT NULL,
    access_hash BLOB NOT NULL,             -- hash of the access key, derived from the link's key
    auth_hash BLOB,                        -- NULL: no password
    kdf_salt BLOB,
    kdf_opslimit INTEGER NOT NULL DEFAULT 0,
    kdf_memlimit INTEGER NOT NULL DEFAULT 0,
    org_only INTEGER NOT NULL DEFAULT 0,
    max_views INTEGER NOT NULL,            -- 0: unlimited
    views INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE org_share_policy (
    org_id TEXT PRIMARY KEY NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    max_ttl INTEGER NOT NULL,
    allow_anonymous INTEGER NOT NULL
);
CREATE TABLE audit_archives (
    seq INTEGER PRIMARY KEY NOT NULL,       -- the last record archived: the anchor
    hash BLOB NOT NULL,                     -- its hash
    first_seq INTEGER NOT NULL,             -- the first record of the archive
    records INTEGER NOT NULL,
    file_hash BLOB NOT NULL,
    archived_by TEXT NOT NULL,              -- 'arca audit-logs archive' or 'retention'
    archived_at INTEGER NOT NULL
);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('audit_log',4);
CREATE INDEX org_members_by_user ON org_members (user_id);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX project_members_by_principal ON project_members (principal_id);
CREATE INDEX secrets_by_project ON secrets (project_id);
CREATE INDEX project_members_by_role ON project_members (project_id, role);
CREATE INDEX org_invites_by_org ON org_invites (org_id);
CREATE INDEX identity_client_secrets_by_identity ON identity_client_secrets (identity_id);
CREATE INDEX identity_access_tokens_by_identity ON identity_access_tokens (identity_id);
CREATE INDEX identity_access_tokens_by_secret ON identity_access_tokens (client_secret_id);
CREATE INDEX service_tokens_by_project ON service_tokens (project_id);
CREATE INDEX audit_log_by_actor_id ON audit_log (actor_id, seq);
CREATE INDEX audit_log_by_actor_name ON audit_log (actor_name, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER secret_versions_append_only
BEFORE UPDATE OF secret_id, version, created_at, actor_id ON secret_versions
BEGIN
    SELECT RAISE(ABORT, 'secret_versions is append-only');
END;
CREATE TRIGGER secret_versions_rekey_keeps_tombstones
BEFORE UPDATE OF value ON secret_versions
WHEN (OLD.value IS NULL) <> (NEW.value IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'secret_versions: a rekey keeps tombstones');
END;
CREATE TRIGGER identity_client_secrets_revoke_tokens
AFTER UPDATE OF revoked ON identity_client_secrets
WHEN NEW.revoked = 1 AND OLD.revoked = 0
BEGIN
    UPDATE identity_access_tokens SET revoked = 1 WHERE client_secret_id = NEW.id;
END;
CREATE INDEX secret_imports_by_project ON secret_imports (project_id);
CREATE INDEX shares_by_creator ON shares (created_by, created_at);
CREATE INDEX shares_by_expiry ON shares (expires_at);
CREATE INDEX audit_log_by_project ON audit_log (substr(project_id, 1, 8), seq);
CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
BEGIN
    SELECT RAISE(ABORT, 'audit_archives is append-only');
END;
CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
BEGIN
    SELECT RAISE(ABORT, 'audit_archives is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.seq > coalesce((SELECT max(seq) FROM audit_archives), 0)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: only archived records may be removed');
END;
COMMIT;
