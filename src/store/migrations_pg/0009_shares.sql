-- 0009_shares.sql (PostgreSQL) - share links, as migrations/0014_shares.sql.
CREATE TABLE shares (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_by TEXT COLLATE "C" NOT NULL,
    ciphertext BYTEA NOT NULL,
    access_hash BYTEA NOT NULL,
    auth_hash BYTEA,
    kdf_salt BYTEA,
    kdf_opslimit BIGINT NOT NULL DEFAULT 0,
    kdf_memlimit BIGINT NOT NULL DEFAULT 0,
    org_only BIGINT NOT NULL DEFAULT 0,
    max_views BIGINT NOT NULL,
    views BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX shares_by_creator ON shares (created_by, created_at);
CREATE INDEX shares_by_expiry ON shares (expires_at);

CREATE TABLE org_share_policy (
    org_id TEXT COLLATE "C" PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    max_ttl BIGINT NOT NULL,
    allow_anonymous BIGINT NOT NULL
);
