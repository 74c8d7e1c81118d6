PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
INSERT INTO schema_migrations VALUES(1,'init',1796541102960);
INSERT INTO schema_migrations VALUES(2,'teams',1796541102962);
INSERT INTO schema_migrations VALUES(3,'revoke_tokens',1796541102962);
INSERT INTO schema_migrations VALUES(4,'server_access',1796541102962);
INSERT INTO schema_migrations VALUES(5,'folders_imports',1796541102962);
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
INSERT INTO users VALUES('78c2c0c1-3a04-4d1f-a748-1a4e9228de08','legacy@example.com',X'85128cf9ab63c4e89cc3dcddde0d15d1800bfaae4d2618f4571c182d8c30d322',X'803043188a6dc3fc1f42d94d0e791551',3,67108864,X'0653b5479a43f55270c268db272299758ef3c542514b02e98cb9730ce690c859',X'01b96f4bd1a7fdf370fcd88d1281a6f69993f04b833172510882554e8c1697928695f1ce8700027decca154479eab51f0271cafc892d30554667cce876a37e5d53353935f126947b86',1796541103453,0,0);
CREATE TABLE orgs (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
INSERT INTO orgs VALUES('931f61f6-37f4-45b3-be15-22ecee6f288b','acme','acme',1796541103453);
CREATE TABLE org_members (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,                     -- 'admin', 'member'
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
INSERT INTO org_members VALUES('931f61f6-37f4-45b3-be15-22ecee6f288b','78c2c0c1-3a04-4d1f-a748-1a4e9228de08','admin',1796541103453);
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
INSERT INTO sessions VALUES(X'60315789e9d9be40f702243eff787b28a8fd868b3d692bd914714ae122ec1705','78c2c0c1-3a04-4d1f-a748-1a4e9228de08',1796541103454,1797145903454);
INSERT INTO sessions VALUES(X'e6b418c7239bf2fc3b5452b3864c29c1cf07e1afd945c9da86ba87571472779e','78c2c0c1-3a04-4d1f-a748-1a4e9228de08',1796541104061,1797145904061);
CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    created_at INTEGER NOT NULL, server_key BLOB,
    UNIQUE (org_id, slug)
);
INSERT INTO projects VALUES('ea8073ed-b8bb-48f4-80fb-1b0ec488a838','931f61f6-37f4-45b3-be15-22ecee6f288b','legacy','legacy',1796541104132,NULL);
CREATE TABLE environments (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    UNIQUE (project_id, slug),
    UNIQUE (project_id, id)                 -- target of secrets' (project_id, env_id) key
);
INSERT INTO environments VALUES('3ceadd29-256b-414e-9a02-cfad920ec6ae','ea8073ed-b8bb-48f4-80fb-1b0ec488a838','dev','Development',1);
INSERT INTO environments VALUES('17396811-3b28-4af2-907f-9a5d482ce693','ea8073ed-b8bb-48f4-80fb-1b0ec488a838','staging','Staging',2);
INSERT INTO environments VALUES('e7ac4e62-6690-40c6-9ff5-28124f76b982','ea8073ed-b8bb-48f4-80fb-1b0ec488a838','prod','Production',3);
CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL,
    role TEXT NOT NULL,                     -- built-in role name or custom role slug
    wrapped_key BLOB,                       -- project key sealed to the principal; NULL = not yet shared
    created_at INTEGER NOT NULL, principal_type TEXT NOT NULL DEFAULT 'user'
    CHECK (principal_type IN ('user', 'identity')),
    PRIMARY KEY (project_id, principal_id)
);
INSERT INTO project_members VALUES('ea8073ed-b8bb-48f4-80fb-1b0ec488a838','78c2c0c1-3a04-4d1f-a748-1a4e9228de08','admin',X'db9ddbd74e5fb75ac01803a680378bc30f76832e0be9035fab9f5a610de8ec53d2fe819672b7d0cf6ffc3fa9b8f22655dbcf4d65c5c54e614579b36926364935984145ef53287fc77b6c07b1c220d9eb',1796541104132,'user');
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
INSERT INTO secrets VALUES('f3e1ab3e-b940-4482-8160-9ff9a97593da','ea8073ed-b8bb-48f4-80fb-1b0ec488a838','e7ac4e62-6690-40c6-9ff5-28124f76b982','/','OLD_KEY','shared','',1,X'01e4fec1068ea5e0bd55a3ca137e37babd49ce69b408a507d3e38edb97a460e64ca452d3ced356a61d89f25ed05aa3479da1',NULL,1796541104185,'78c2c0c1-3a04-4d1f-a748-1a4e9228de08');
CREATE TABLE secret_versions (
    secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    value BLOB,                             -- NULL = tombstone
    comment BLOB,
    created_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    PRIMARY KEY (secret_id, version)
);
INSERT INTO secret_versions VALUES('f3e1ab3e-b940-4482-8160-9ff9a97593da',1,X'01e4fec1068ea5e0bd55a3ca137e37babd49ce69b408a507d3e38edb97a460e64ca452d3ced356a61d89f25ed05aa3479da1',NULL,1796541104185,'78c2c0c1-3a04-4d1f-a748-1a4e9228de08');
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
INSERT INTO audit_log VALUES(1,1796541103454,'user','78c2c0c1-3a04-4d1f-a748-1a4e9228de08','legacy@example.com','auth.bootstrap','931f61f6-37f4-45b3-be15-22ecee6f288b','','','','','127.0.0.1','arca/0.1.0','success','{}',X'0000000000000000000000000000000000000000000000000000000000000000',X'a9c2f09c53e942ff9644761b54b6c4f4a26e725d83260ea0121a19941cdd4453');
INSERT INTO audit_log VALUES(2,1796541104023,'user','78c2c0c1-3a04-4d1f-a748-1a4e9228de08','legacy@example.com','auth.login','931f61f6-37f4-45b3-be15-22ecee6f288b','','','','','127.0.0.1','arca/0.1.0','success','{}',X'a9c2f09c53e942ff9644761b54b6c4f4a26e725d83260ea0121a19941cdd4453',X'ce5db9e2783a89a66468c811d0d9c6175930d95e4ae7e3f99914a3ea4d1ee787');
INSERT INTO audit_log VALUES(3,1796541104133,'user','78c2c0c1-3a04-4d1f-a748-1a4e9228de08','legacy@example.com','project.create','931f61f6-37f4-45b3-be15-22ecee6f288b','ea8073ed-b8bb-48f4-80fb-1b0ec488a838','','','','127.0.0.1','arca/0.1.0','success','{"serverAccess":false,"slug":"legacy"}',X'ce5db9e2783a89a66468c811d0d9c6175930d95e4ae7e3f99914a3ea4d1ee787',X'88239e9de9a61e34eb6028d9a7eef190821729d07fe81ce96fa2e8867a0f0cf5');
INSERT INTO audit_log VALUES(4,1796541104184,'user','78c2c0c1-3a04-4d1f-a748-1a4e9228de08','legacy@example.com','secret.list','931f61f6-37f4-45b3-be15-22ecee6f288b','ea8073ed-b8bb-48f4-80fb-1b0ec488a838','prod','/','','127.0.0.1','arca/0.1.0','success','{"count":0,"imports":0,"values":true}',X'88239e9de9a61e34eb6028d9a7eef190821729d07fe81ce96fa2e8867a0f0cf5',X'2f9f7666e5e1bebabc84decd7a1e8baf9811519722225f7d49d7f22139c4c7ba');
INSERT INTO audit_log VALUES(5,1796541104187,'user','78c2c0c1-3a04-4d1f-a748-1a4e9228de08','legacy@example.com','secret.create','931f61f6-37f4-45b3-be15-22ecee6f288b','ea8073ed-b8bb-48f4-80fb-1b0ec488a838','prod','/','OLD_KEY','127.0.0.1','arca/0.1.0','success','{}',X'2f9f7666e5e1bebabc84decd7a1e8baf9811519722225f7d49d7f22139c4c7ba',X'e36c5c776a24e36f87932a02073ae2ef5b79c8d1a7c340e6df3536d0589e36f4');
INSERT INTO audit_log VALUES(6,1796541104312,'user','78c2c0c1-3a04-4d1f-a748-1a4e9228de08','legacy@example.com','secret.read','931f61f6-37f4-45b3-be15-22ecee6f288b','ea8073ed-b8bb-48f4-80fb-1b0ec488a838','prod','/','OLD_KEY','127.0.0.1','arca/0.1.0','success','{}',X'e36c5c776a24e36f87932a02073ae2ef5b79c8d1a7c340e6df3536d0589e36f4',X'34fb4dcc55793ca79c04093f40ce1086cb09c3dca284789b3326a072089e95fb');
INSERT INTO audit_log VALUES(7,1796541104408,'user','78c2c0c1-3a04-4d1f-a748-1a4e9228de08','legacy@example.com','secret.list','931f61f6-37f4-45b3-be15-22ecee6f288b','ea8073ed-b8bb-48f4-80fb-1b0ec488a838','prod','/','','127.0.0.1','arca/0.1.0','success','{"count":1,"imports":0,"values":true}',X'34fb4dcc55793ca79c04093f40ce1086cb09c3dca284789b3326a072089e95fb',X'61ff8c9db015ce0e3ee4316eecb6e60190edef005fa2c7e43c55950fc042c9a8');
CREATE TABLE folders (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    env_id TEXT NOT NULL,
    path TEXT NOT NULL,                     -- canonical, '/' is the root
    created_at INTEGER NOT NULL,
    UNIQUE (env_id, path),
    FOREIGN KEY (project_id, env_id) REFERENCES environments (project_id, id) ON DELETE CASCADE
);
INSERT INTO folders VALUES('d2bd050e-875a-43d8-a56b-6a9780727a28','ea8073ed-b8bb-48f4-80fb-1b0ec488a838','e7ac4e62-6690-40c6-9ff5-28124f76b982','/',1796541104185);
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
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('audit_log',7);
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
CREATE INDEX audit_log_by_org ON audit_log (org_id, seq);
CREATE INDEX audit_log_by_project ON audit_log (project_id, seq);
CREATE INDEX audit_log_by_actor_id ON audit_log (actor_id, seq);
CREATE INDEX audit_log_by_actor_name ON audit_log (actor_name, seq);
CREATE INDEX audit_log_by_event ON audit_log (event, seq);
CREATE INDEX audit_log_by_time ON audit_log (time);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
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
COMMIT;
